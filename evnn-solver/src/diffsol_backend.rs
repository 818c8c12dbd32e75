//! Backend on diffsol, for any model: its explicit Runge–Kutta method
//! `tsit45`, or its implicit BDF for stiff models.
//!
//! diffsol's solver borrows its problem. A stepper that the event loop
//! drives, kept from neuron run to neuron run (a network keeps one per
//! neuron, and the backend one for its own runs), owns both: a
//! self-referential pair (`self_cell`). Such a pair cannot be generic, so
//! the problem sees the neuron through a type-erased [`NeuronFns`], whose
//! model and parameters a reset replaces; the problem and the solver are
//! built once per stepper.

use crate::dopri5::REJECT_NON_FINITE;
use crate::RkAdjoint;
use crate::{Backend, InputSpike, NeuronTrace, RunPlan, SolverError, SolverOptions, Stepper};
use diffsol::error::{DiffsolError, OdeSolverError};
use diffsol::{
    Bdf, ConstantOp, ExplicitRk, NalgebraContext, NalgebraLU, NalgebraMat, NalgebraVec,
    NonLinearOp, NonLinearOpJacobian, OdeBuilder, OdeEquations, OdeEquationsRef, OdeSolverMethod,
    OdeSolverProblem, OdeSolverStopReason, Op, Tableau, UnitCallable,
};
use evnn_neurons::{NeuronModel, StateVector};
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

/// Adaptive integration with diffsol and its dense output, for any
/// [`NeuronModel`]: the Tsitouras 5(4) method (`tsit45`, the default) or,
/// for a stiff model, BDF ([`DiffsolBackend::bdf`], [`DiffsolMethod`]).
///
/// Event detection and spike-time refinement are the solver crate's own (on
/// diffsol's dense output), not diffsol's root finder, which only sees sign
/// changes at step ends. After every jump the state's derivative is
/// recomputed, since the method reuses it as its first stage. A step that
/// diffsol accepts with a non-finite state (its error estimate is then NaN)
/// is put back and retried smaller.
///
/// The backend hands out steppers ([`Backend::stepper`], [`DiffsolStepper`]),
/// so a network simulates on demand with it; each stepper builds its diffsol
/// problem and solver once and is reset for every later run, and so is the
/// one that [`simulate`](Backend::simulate) keeps.
///
/// Its [`Adjoint`](crate::Adjoint) is the numerical [`RkAdjoint`]
/// (Dormand–Prince re-integration with forward sensitivities), which works
/// for every model.
#[derive(Default)]
pub struct DiffsolBackend {
    method: DiffsolMethod,
    adjoint: RkAdjoint,
    /// The stepper of [`simulate`](Backend::simulate), a
    /// `DiffsolStepper<N>` for the last model type `N` simulated; behind a
    /// mutex only so that the backend is `Sync` (`simulate` takes `&mut
    /// self` and never locks).
    kept: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Clone for DiffsolBackend {
    /// The adjoint's scratch; no kept stepper (the clone builds its own).
    fn clone(&self) -> Self {
        DiffsolBackend {
            method: self.method,
            adjoint: self.adjoint.clone(),
            kept: Mutex::new(None),
        }
    }
}

impl DiffsolBackend {
    /// The backend on diffsol's BDF method (see [`DiffsolMethod::Bdf`]).
    pub fn bdf() -> Self {
        DiffsolBackend::default().with_method(DiffsolMethod::Bdf)
    }

    /// This backend integrating with `method`.
    pub fn with_method(mut self, method: DiffsolMethod) -> Self {
        self.method = method;
        self
    }

    /// The method it integrates with.
    pub fn method(&self) -> DiffsolMethod {
        self.method
    }
}

/// The diffsol method a [`DiffsolBackend`] integrates with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffsolMethod {
    /// Tsitouras 5(4), explicit: for non-stiff models (every built-in one).
    #[default]
    Tsit45,
    /// Variable-order BDF (orders 1–5) with Newton iterations on the
    /// Jacobian of the dynamics, built from the model's Jacobian–vector
    /// product ([`NeuronModel::dynamics_jvp`], derived by dual numbers
    /// unless the model writes it): for stiff models, with time constants
    /// far apart, where an explicit method's step is held to the fastest
    /// one for stability. Each jump (input or reset) restarts it at order
    /// one.
    Bdf,
}

impl std::fmt::Debug for DiffsolBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiffsolBackend")
            .field("method", &self.method)
            .field("adjoint", &self.adjoint)
            .finish_non_exhaustive()
    }
}

crate::adjoint::delegate_rk_adjoint!(DiffsolBackend);

fn backend_error(t: f64, e: DiffsolError) -> SolverError {
    match e {
        DiffsolError::OdeSolverError(OdeSolverError::StepSizeTooSmall { time }) => {
            SolverError::StepSizeUnderflow { t: time, h: 0.0 }
        }
        other => SolverError::Backend {
            t,
            message: other.to_string(),
        },
    }
}

/// A neuron's equations as the diffsol problem sees them.
trait NeuronFns: Send + Sync {
    /// `f(x)`.
    fn rhs(&self, x: &[f64], dx: &mut [f64]);
    /// `(∂f/∂x) v`.
    fn jvp(&self, x: &[f64], v: &[f64], out: &mut [f64]);
    /// The initial state.
    fn init(&self, x0: &mut [f64]);
}

/// The model and parameters of the neuron that a stepper runs.
struct Neuron<N: NeuronModel> {
    model: N,
    params: N::Params,
}

impl<N: NeuronModel> NeuronFns for Mutex<Neuron<N>> {
    fn rhs(&self, x: &[f64], dx: &mut [f64]) {
        let n = self.lock().unwrap_or_else(PoisonError::into_inner);
        n.model.dynamics(n.params.as_slice(), x, dx);
    }
    fn jvp(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let n = self.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut xs, mut vs, mut o) = (N::State::zeros(), N::State::zeros(), N::State::zeros());
        xs.as_mut_slice().copy_from_slice(x);
        vs.as_mut_slice().copy_from_slice(v);
        n.model.dynamics_jvp(&n.params, &xs, &vs, &mut o);
        out.copy_from_slice(o.as_slice());
    }
    fn init(&self, x0: &mut [f64]) {
        let n = self.lock().unwrap_or_else(PoisonError::into_inner);
        x0.copy_from_slice(n.model.initial_state().as_slice());
    }
}

/// A neuron's ODE as diffsol equations: right-hand side, its Jacobian–vector
/// product and initial state, no parameters of diffsol's own.
struct NeuronOde {
    fns: Arc<dyn NeuronFns>,
    dim: usize,
    ctx: NalgebraContext,
}

/// The right-hand side of a [`NeuronOde`].
struct Rhs<'a>(&'a NeuronOde);
/// The initial state of a [`NeuronOde`].
struct Init<'a>(&'a NeuronOde);

macro_rules! neuron_op {
    ($($ty:ty),*) => {$(
        impl Op for $ty {
            type T = f64;
            type V = NalgebraVec<f64>;
            type M = NalgebraMat<f64>;
            type C = NalgebraContext;
            fn context(&self) -> &NalgebraContext {
                &self.ode().ctx
            }
            fn nstates(&self) -> usize {
                self.ode().dim
            }
            fn nout(&self) -> usize {
                self.ode().dim
            }
            fn nparams(&self) -> usize {
                0
            }
        }
    )*};
}

impl NeuronOde {
    fn ode(&self) -> &NeuronOde {
        self
    }
}
impl Rhs<'_> {
    fn ode(&self) -> &NeuronOde {
        self.0
    }
}
impl Init<'_> {
    fn ode(&self) -> &NeuronOde {
        self.0
    }
}
neuron_op!(NeuronOde, Rhs<'_>, Init<'_>);

impl NonLinearOp for Rhs<'_> {
    fn call_inplace(&self, x: &NalgebraVec<f64>, _t: f64, y: &mut NalgebraVec<f64>) {
        self.0.fns.rhs(x.batch_as_slice(0), y.batch_as_mut_slice(0));
    }
}

impl NonLinearOpJacobian for Rhs<'_> {
    fn jac_mul_inplace(
        &self,
        x: &NalgebraVec<f64>,
        _t: f64,
        v: &NalgebraVec<f64>,
        y: &mut NalgebraVec<f64>,
    ) {
        self.0.fns.jvp(
            x.batch_as_slice(0),
            v.batch_as_slice(0),
            y.batch_as_mut_slice(0),
        );
    }
}

impl ConstantOp for Init<'_> {
    fn call_inplace(&self, _t: f64, y: &mut NalgebraVec<f64>) {
        self.0.fns.init(y.batch_as_mut_slice(0));
    }
}

impl<'a> OdeEquationsRef<'a> for NeuronOde {
    type Mass = UnitCallable<NalgebraMat<f64>>;
    type Rhs = Rhs<'a>;
    type Root = UnitCallable<NalgebraMat<f64>>;
    type Init = Init<'a>;
    type Out = UnitCallable<NalgebraMat<f64>>;
    type Reset = UnitCallable<NalgebraMat<f64>>;
}

impl OdeEquations for NeuronOde {
    fn rhs(&self) -> Rhs<'_> {
        Rhs(self)
    }
    fn mass(&self) -> Option<UnitCallable<NalgebraMat<f64>>> {
        None
    }
    fn init(&self) -> Init<'_> {
        Init(self)
    }
    fn set_params(&mut self, _p: &NalgebraVec<f64>) {}
    fn get_params(&self, _p: &mut NalgebraVec<f64>) {}
}

/// A diffsol solver on a [`NeuronOde`], of the method a
/// [`DiffsolMethod`] names.
// Both variants are large; the cell keeps its dependent on the heap anyway.
#[allow(clippy::large_enum_variant)]
enum Solver<'a> {
    Tsit45(ExplicitRk<'a, NeuronOde>),
    Bdf(Bdf<'a, NeuronOde, NalgebraLU<f64>>),
}

/// `$call` with `$s` bound to whichever method `$solver` is.
macro_rules! on_solver {
    ($solver:expr, $s:ident => $call:expr) => {
        match $solver {
            Solver::Tsit45($s) => $call,
            Solver::Bdf($s) => $call,
        }
    };
}

impl<'a> Solver<'a> {
    /// A solver of `method` at the problem's initial state.
    fn new(
        problem: &'a OdeSolverProblem<NeuronOde>,
        method: DiffsolMethod,
    ) -> Result<Self, DiffsolError> {
        Ok(match method {
            DiffsolMethod::Tsit45 => Solver::Tsit45(problem.tsit45()?),
            DiffsolMethod::Bdf => Solver::Bdf(problem.bdf::<NalgebraLU<f64>>()?),
        })
    }

    /// Back at the problem's initial state, exactly as [`new`](Self::new)
    /// starts (the initial step size included). The explicit method takes
    /// a fresh state; BDF's Newton iteration keeps more than its state (the
    /// Jacobian and its factorisation, the step history), so it is built
    /// anew on the same problem.
    fn restart(&mut self, problem: &'a OdeSolverProblem<NeuronOde>) -> Result<(), DiffsolError> {
        match self {
            Solver::Tsit45(s) => s.set_state(problem.rk_state(&Tableau::<f64>::tsit45())?),
            Solver::Bdf(_) => *self = Solver::new(problem, DiffsolMethod::Bdf)?,
        }
        Ok(())
    }

    /// Takes over `other`'s state (a solver of the same method).
    fn copy_state(&mut self, other: &Solver<'_>) {
        match (self, other) {
            (Solver::Tsit45(s), Solver::Tsit45(o)) => s.set_state(o.state_clone()),
            (Solver::Bdf(s), Solver::Bdf(o)) => s.set_state(o.state_clone()),
            _ => debug_assert!(false, "steppers are cloned within one method"),
        }
    }

    /// Time and step size of the current state.
    fn t_h(&self) -> (f64, f64) {
        on_solver!(self, s => (s.state().t, s.state().h))
    }
}

self_cell::self_cell!(
    /// A diffsol problem and the solver that borrows it.
    struct SolverCell {
        owner: OdeSolverProblem<NeuronOde>,
        #[not_covariant]
        dependent: Solver,
    }
);

/// The [`Stepper`] of [`DiffsolBackend`]: a diffsol solver (`tsit45` or BDF)
/// on a problem of its own, built once; [`Backend::reset_stepper`] puts it
/// at `t = 0` for another neuron (model and parameters) on the same problem
/// (`tsit45` keeps its solver too, BDF builds a new one).
pub struct DiffsolStepper<N: NeuronModel> {
    /// The neuron the problem sees.
    neuron: Arc<Mutex<Neuron<N>>>,
    cell: SolverCell,
    method: DiffsolMethod,
    /// The options the problem was built with.
    options: SolverOptions,
    model: N,
    params: N::Params,
    t_prev: f64,
    t: f64,
    x: N::State,
    dx: N::State,
    /// The stop time diffsol was last given, until it reaches it.
    stop: Option<f64>,
    scratch_y: NalgebraVec<f64>,
    scratch_dy: NalgebraVec<f64>,
}

impl<N: NeuronModel + 'static> DiffsolStepper<N> {
    /// A stepper at `t = 0` in `model`'s initial state; `options` are
    /// valid (a [`RunPlan`]'s).
    fn new(
        model: &N,
        params: &N::Params,
        options: &SolverOptions,
        method: DiffsolMethod,
    ) -> Result<Self, SolverError> {
        debug_assert!(options.validate().is_ok());
        let neuron = Arc::new(Mutex::new(Neuron {
            model: model.clone(),
            params: *params,
        }));
        let mut builder = OdeBuilder::<NalgebraMat<f64>>::new()
            .rtol(options.rtol)
            .atol(std::iter::repeat_n(options.atol, N::State::DIM));
        if options.h0 > 0.0 {
            builder = builder.h0(options.h0);
        }
        let fns: Arc<dyn NeuronFns> = neuron.clone();
        let problem = builder
            .build_from_eqn(NeuronOde {
                fns,
                dim: N::State::DIM,
                ctx: NalgebraContext::default(),
            })
            .map_err(|e| backend_error(0.0, e))?;
        let cell = SolverCell::try_new(problem, |problem| Solver::new(problem, method))
            .map_err(|e| backend_error(0.0, e))?;
        let (scratch_y, scratch_dy) = cell.with_dependent(
            |_, solver| on_solver!(solver, s => (s.state().y.clone(), s.state().dy.clone())),
        );
        let x0 = model.initial_state();
        let mut dx = N::State::zeros();
        model.dynamics(params.as_slice(), x0.as_slice(), dx.as_mut_slice());
        Ok(DiffsolStepper {
            neuron,
            cell,
            method,
            options: *options,
            model: model.clone(),
            params: *params,
            t_prev: 0.0,
            t: 0.0,
            x: x0,
            dx,
            stop: None,
            scratch_y,
            scratch_dy,
        })
    }

    /// Puts the stepper at `t = 0` in the initial state of `model` with
    /// `params`, as [`new`](Self::new) builds it; the problem is kept
    /// (rebuilt only when the tolerances, the first step or the method
    /// differ).
    fn reset(
        &mut self,
        model: &N,
        params: &N::Params,
        options: &SolverOptions,
        method: DiffsolMethod,
    ) -> Result<(), SolverError> {
        let same_problem = (options.rtol, options.atol, options.h0)
            == (self.options.rtol, self.options.atol, self.options.h0);
        if !same_problem || method != self.method {
            *self = Self::new(model, params, options, method)?;
            return Ok(());
        }
        debug_assert!(options.validate().is_ok());
        self.options = *options;
        {
            let mut n = self.neuron.lock().unwrap_or_else(PoisonError::into_inner);
            n.model = model.clone();
            n.params = *params;
        }
        // The state a new solver starts from (the initial step size
        // included), so that a reset stepper runs exactly as a new one.
        self.cell
            .with_dependent_mut(|problem, solver| solver.restart(problem))
            .map_err(|e| backend_error(0.0, e))?;
        self.model = model.clone();
        self.params = *params;
        let x0 = model.initial_state();
        model.dynamics(params.as_slice(), x0.as_slice(), self.dx.as_mut_slice());
        self.x = x0;
        self.t = 0.0;
        self.t_prev = 0.0;
        self.stop = None;
        Ok(())
    }
}

impl<N: NeuronModel + 'static> Clone for DiffsolStepper<N> {
    /// A stepper in the same state, on a problem and solver of its own.
    fn clone(&self) -> Self {
        let mut new = Self::new(&self.model, &self.params, &self.options, self.method)
            .expect("the options and model built this stepper before");
        self.cell.with_dependent(|_, solver| {
            new.cell
                .with_dependent_mut(|_, copy| copy.copy_state(solver))
        });
        new.t_prev = self.t_prev;
        new.t = self.t;
        new.x = self.x;
        new.dx = self.dx;
        new.stop = None;
        new
    }
}

impl<N: NeuronModel> std::fmt::Debug for DiffsolStepper<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiffsolStepper")
            .field("model", &self.model)
            .field("t", &self.t)
            .field("x", &self.x)
            .finish_non_exhaustive()
    }
}

impl<N: NeuronModel> Stepper<N> for DiffsolStepper<N> {
    fn t(&self) -> f64 {
        self.t
    }
    fn t_prev(&self) -> f64 {
        self.t_prev
    }
    fn x(&self) -> &N::State {
        &self.x
    }
    fn dx(&self) -> &N::State {
        &self.dx
    }

    fn step(&mut self, t_stop: f64) -> Result<(), SolverError> {
        let (_, h) = self.cell.with_dependent(|_, solver| solver.t_h());
        // diffsol treats stop times within ~100 ε of `t` as already reached:
        // land on them without a step.
        if t_stop - self.t <= 200.0 * f64::EPSILON * (self.t.abs() + h.abs()) {
            let x = self.x;
            return self.restart(t_stop, &x);
        }
        let (t0, x0) = (self.t, self.x);
        loop {
            if self.stop != Some(t_stop) {
                self.cell
                    .with_dependent_mut(
                        |_, solver| on_solver!(solver, s => s.set_stop_time(t_stop)),
                    )
                    .map_err(|e| backend_error(t0, e))?;
                self.stop = Some(t_stop);
            }
            let mut x = N::State::zeros();
            let (reason, t, h_next) = self
                .cell
                .with_dependent_mut(|_, solver| {
                    on_solver!(solver, s => {
                        let reason = s.step()?;
                        let state = s.state();
                        x.as_mut_slice()
                            .copy_from_slice(state.y.batch_as_slice(0));
                        Ok((reason, state.t, state.h))
                    })
                })
                .map_err(|e| backend_error(t0, e))?;
            let mut dx = N::State::zeros();
            self.model
                .dynamics(self.params.as_slice(), x.as_slice(), dx.as_mut_slice());
            if !(x.is_finite() && dx.is_finite()) {
                // diffsol accepts a step whose error estimate is NaN: put
                // it back at the step's start and retry with a tenth of
                // the step, as the Dormand–Prince backend rejects it.
                let h = (t - t0) * REJECT_NON_FINITE;
                if !(h > 4.0 * f64::EPSILON * t0.abs().max(1.0)) {
                    return Err(SolverError::NonFiniteState {
                        t: t0,
                        state: x.as_slice().to_vec(),
                    });
                }
                self.restart(t0, &x0)?;
                self.cell
                    .with_dependent_mut(|_, solver| on_solver!(solver, s => *s.state_mut().h = h));
                // diffsol forgets a stop time it reached.
                self.stop = None;
                continue;
            }
            self.t_prev = t0;
            self.t = t;
            if let OdeSolverStopReason::TstopReached = reason {
                self.stop = None;
                self.t = t_stop;
            }
            self.x = x;
            self.dx = dx;
            if self.t <= self.t_prev {
                return Err(SolverError::StepSizeUnderflow {
                    t: self.t,
                    h: h_next,
                });
            }
            return Ok(());
        }
    }

    fn interpolate(
        &mut self,
        t: f64,
        x: &mut N::State,
        dx: &mut N::State,
    ) -> Result<(), SolverError> {
        let (y, dy) = (&mut self.scratch_y, &mut self.scratch_dy);
        let t = self
            .cell
            .with_dependent_mut(|_, solver| {
                on_solver!(solver, s => {
                    // The solver's own clock may differ from `t_stop` by
                    // round-off.
                    let t = t.min(s.state().t);
                    s.interpolate_inplace(t, y)?;
                    s.interpolate_dy_inplace(t, dy)?;
                    Ok(t)
                })
            })
            .map_err(|e| backend_error(t, e))?;
        debug_assert!(t.is_finite());
        x.as_mut_slice().copy_from_slice(y.batch_as_slice(0));
        dx.as_mut_slice().copy_from_slice(dy.batch_as_slice(0));
        Ok(())
    }

    fn restart(&mut self, t: f64, x: &N::State) -> Result<(), SolverError> {
        self.model
            .dynamics(self.params.as_slice(), x.as_slice(), self.dx.as_mut_slice());
        let dx = &self.dx;
        self.cell.with_dependent_mut(|_, solver| {
            on_solver!(solver, s => {
                let state = s.state_mut();
                state.y.batch_as_mut_slice(0).copy_from_slice(x.as_slice());
                state.dy.batch_as_mut_slice(0).copy_from_slice(dx.as_slice());
                *state.t = t;
            })
        });
        self.t = t;
        self.t_prev = t;
        self.x = *x;
        Ok(())
    }
}

impl<N: NeuronModel + 'static> Backend<N> for DiffsolBackend {
    type Stepper = DiffsolStepper<N>;

    fn stepper(&self, model: &N, params: &N::Params, plan: &RunPlan) -> Option<Self::Stepper> {
        // A build that fails (it does not for valid options) leaves the
        // caller to `simulate`, which reports the error.
        DiffsolStepper::new(model, params, plan.options(), self.method).ok()
    }

    fn reset_stepper(
        &self,
        stepper: &mut Self::Stepper,
        model: &N,
        params: &N::Params,
        plan: &RunPlan,
    ) {
        if stepper
            .reset(model, params, plan.options(), self.method)
            .is_err()
        {
            if let Some(fresh) = self.stepper(model, params, plan) {
                *stepper = fresh;
            }
        }
    }

    fn simulate(
        &mut self,
        model: &N,
        params: &N::Params,
        inputs: &[InputSpike],
        plan: &RunPlan,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<(), SolverError> {
        let options = plan.options();
        let kept = self.kept.get_mut().unwrap_or_else(PoisonError::into_inner);
        let mut stepper = match kept
            .take()
            .and_then(|k| k.downcast::<DiffsolStepper<N>>().ok())
        {
            Some(mut stepper) => {
                stepper.reset(model, params, options, self.method)?;
                stepper
            }
            None => Box::new(DiffsolStepper::new(model, params, options, self.method)?),
        };
        let result = plan.run(&mut *stepper, model, params, inputs, trace);
        *kept = Some(stepper);
        result
    }
}
