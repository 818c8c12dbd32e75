//! Integrator backends: the [`Stepper`] the event loop drives, and the
//! [`Backend`] that builds one per neuron run.

use crate::{InputSpike, NeuronTrace, RunPlan, SolverError};
use evnn_neurons::{Lif, NeuronModel};

/// One adaptive integration of a neuron's ODE with dense output, driven step
/// by step by the event loop.
///
/// After [`step`](Self::step) the dense output covers `[t_prev(), t()]`;
/// [`restart`](Self::restart) places the integrator at a new `(t, x)` (after a
/// jump, or back at a spike time) and discards the dense output.
///
/// # Examples
///
/// Backends build steppers internally; a user rarely calls one directly. The
/// closed-form LIF stepper reaches any stop time in one exact step:
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel};
/// use evnn_solver::{closed_form::LifStepper, Stepper};
///
/// let lif = Lif::default();
/// let mut s = LifStepper::new(lif, [0.0], 0.0, [0.0, 2.0]);
/// s.step(5.0).unwrap();
/// assert_eq!(s.t(), 5.0);
/// let (mut x, mut f) = ([0.0; 2], [0.0; 2]);
/// s.interpolate(2.5, &mut x, &mut f).unwrap();
/// assert_eq!(x, lif.evolve(&[0.0], &[0.0, 2.0], 2.5));
/// ```
pub trait Stepper<N: NeuronModel> {
    /// Current time (end of the last step).
    fn t(&self) -> f64;
    /// Start of the last step.
    fn t_prev(&self) -> f64;
    /// State at [`t`](Self::t).
    fn x(&self) -> &N::State;
    /// `f(x)` at [`t`](Self::t).
    fn dx(&self) -> &N::State;
    /// Takes one step, never past `t_stop` (which is `> t()`); it lands on
    /// `t_stop` exactly when it reaches it.
    fn step(&mut self, t_stop: f64) -> Result<(), SolverError>;
    /// Dense output: state and derivative at `t ∈ [t_prev(), t()]`.
    fn interpolate(
        &mut self,
        t: f64,
        x: &mut N::State,
        dx: &mut N::State,
    ) -> Result<(), SolverError>;
    /// Restarts the integration at `(t, x)` with `t_prev() <= t`.
    fn restart(&mut self, t: f64, x: &N::State) -> Result<(), SolverError>;
    /// `true` when the last step holds an event crossing only if the event
    /// function changes sign over it (a crossing that touches the threshold
    /// and turns back inside the step is impossible), so the event loop may
    /// skip its search for a local maximum. Only a stepper that can prove
    /// this may return `true`; the default is `false`.
    fn sign_change_suffices(&self) -> bool {
        false
    }
    /// Refines the first event crossing in `(t_lo, t_hi]` within the last
    /// step (`t_hi` is its end, or a point at or past a maximum that the
    /// event loop found inside it), where
    /// the event function is `< 0` at `t_lo` and `> 0` at `t_hi`, to
    /// round-off on this stepper's own dense output. `None` (the default)
    /// lets the event loop refine it generically: safeguarded Newton on the
    /// event function through [`interpolate`](Self::interpolate). A stepper
    /// overrides this when its dense output holds a cheaper equation with the
    /// same root; it may also answer `None` case by case.
    fn refine_crossing(&mut self, t_lo: f64, t_hi: f64) -> Option<f64> {
        let _ = (t_lo, t_hi);
        None
    }
    /// What this stepper knows in closed form of the event function's
    /// maximum inside the last step. Asked only when the event function
    /// rises at the step's start and falls at its end (so that one maximum
    /// lies inside). [`Peak::At`] its time; [`Peak::BelowEvent`] when the
    /// maximum is provably below zero, so the step holds no crossing (only
    /// with a margin well above round-off: a maximum within it must be left
    /// to the search). `None` (the default) lets the event loop search for
    /// the maximum on the dense output, which to rule a crossing out must
    /// converge to it (typically ten or more evaluations).
    fn event_peak(&mut self) -> Option<Peak> {
        None
    }
    /// Appends the sensitivities of the current segment, from the last
    /// [`restart`](Self::restart) (or the start) to `t` (the end of the
    /// last step, or a time inside it), to `log` in the layout of
    /// [`NeuronTrace::sensitivities`], when the stepper integrates them
    /// ([`Backend::log_sensitivities`]). The event loop calls it before
    /// each restart and at the end of the run. The default appends
    /// nothing.
    fn log_segment(&self, t: f64, log: &mut Vec<f64>) {
        let _ = (t, log);
    }
}

/// A stepper's answer about the event function's maximum inside its last
/// step ([`Stepper::event_peak`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Peak {
    /// The maximum is at this time.
    At(f64),
    /// The maximum is below zero (the threshold): no crossing in the step.
    BelowEvent,
}

/// A stepper with its own answers to the event search hidden
/// ([`Stepper::refine_crossing`] and [`Stepper::event_peak`] say `None`), so
/// the event loop finds and refines every crossing by its generic search on
/// the dense output. Everything else is `S`'s. For testing a stepper's own
/// answers against that search.
///
/// # Examples
///
/// The LIF closed form gives each segment's maximum in closed form; the
/// generic search finds the same spikes:
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel};
/// use evnn_solver::{closed_form::LifStepper, GenericSearch};
/// use evnn_solver::{InputSpike, NeuronTrace, RunPlan, SolverOptions};
///
/// let lif = Lif::default();
/// let inputs = [InputSpike::new(1.0, 4.0), InputSpike::new(3.0, 4.0)];
/// let plan = RunPlan::new(30.0, &SolverOptions::default())?;
/// let (mut own, mut generic) = (NeuronTrace::new([0.0; 2]), NeuronTrace::new([0.0; 2]));
/// let mut s = LifStepper::new(lif, [0.2], 0.0, lif.initial_state());
/// plan.run(&mut s, &lif, &[0.2], &inputs, &mut own)?;
/// let mut g = GenericSearch(LifStepper::new(lif, [0.2], 0.0, lif.initial_state()));
/// plan.run(&mut g, &lif, &[0.2], &inputs, &mut generic)?;
/// assert!(!own.spikes.is_empty());
/// assert_eq!(own.spikes.len(), generic.spikes.len());
/// for (a, b) in own.spikes.iter().zip(&generic.spikes) {
///     assert!((a - b).abs() <= 1e-13 * b);
/// }
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Debug)]
pub struct GenericSearch<S>(pub S);

impl<N: NeuronModel, S: Stepper<N>> Stepper<N> for GenericSearch<S> {
    fn t(&self) -> f64 {
        self.0.t()
    }
    fn t_prev(&self) -> f64 {
        self.0.t_prev()
    }
    fn x(&self) -> &N::State {
        self.0.x()
    }
    fn dx(&self) -> &N::State {
        self.0.dx()
    }
    fn step(&mut self, t_stop: f64) -> Result<(), SolverError> {
        self.0.step(t_stop)
    }
    fn interpolate(
        &mut self,
        t: f64,
        x: &mut N::State,
        dx: &mut N::State,
    ) -> Result<(), SolverError> {
        self.0.interpolate(t, x, dx)
    }
    fn restart(&mut self, t: f64, x: &N::State) -> Result<(), SolverError> {
        self.0.restart(t, x)
    }
    fn sign_change_suffices(&self) -> bool {
        self.0.sign_change_suffices()
    }
    fn log_segment(&self, t: f64, log: &mut Vec<f64>) {
        self.0.log_segment(t, log)
    }
}

/// An integrator backend for model `N`: simulates one neuron from its input
/// spikes by building a [`Stepper`] and running the shared event loop
/// ([`RunPlan::run`]) on it.
///
/// Backends are chosen by the caller (`EventSolver<N, B>`) and dispatched
/// statically; they may keep scratch memory between runs, so keep one per
/// worker thread.
///
/// # Examples
///
/// ```
/// use evnn_neurons::Qif;
/// use evnn_solver::{Backend, DiffsolBackend, InputSpike, NeuronTrace, RunPlan, SolverOptions};
///
/// let qif = Qif::default();
/// let mut backend = DiffsolBackend::default();
/// let mut trace = NeuronTrace::new([0.5, 0.0]);
/// let inputs = [InputSpike::new(1.0, 5.0)];
/// let plan = RunPlan::new(30.0, &SolverOptions::default()).unwrap();
/// backend.simulate(&qif, &[0.0], &inputs, &plan, &mut trace).unwrap();
/// assert_eq!(trace.events.len(), inputs.len() + trace.spikes.len());
/// ```
pub trait Backend<N: NeuronModel> {
    /// The stepper this backend hands out for runs that the caller drives
    /// itself ([`stepper`](Self::stepper)); [`NoStepper`] for a backend that
    /// hands out none.
    type Stepper: Stepper<N> + Clone + std::fmt::Debug + Send;

    /// A stepper at `t = 0` in the model's initial state for the options of
    /// `plan`, for a run that the caller drives ([`RunPlan::run`], or a
    /// [`NeuronRun`](crate::NeuronRun) as a network's on-demand simulation
    /// does); the run must give the same trace as
    /// [`simulate`](Self::simulate). `None` (the default) when the backend
    /// cannot hand out a stepper that owns its data; callers then use
    /// [`simulate`](Self::simulate).
    fn stepper(&self, model: &N, params: &N::Params, plan: &RunPlan) -> Option<Self::Stepper> {
        let _ = (model, params, plan);
        None
    }
    /// Puts `stepper`, which this backend handed out
    /// ([`stepper`](Self::stepper)), back at `t = 0` in the model's initial
    /// state for `model`, `params` and `plan`, exactly as
    /// [`stepper`](Self::stepper) would build it: for a caller that runs
    /// the same neurons on sample after sample and keeps their steppers. The
    /// default builds a fresh one; a backend whose steppers carry costly
    /// set-up that depends only on part of the arguments keeps it.
    fn reset_stepper(
        &self,
        stepper: &mut Self::Stepper,
        model: &N,
        params: &N::Params,
        plan: &RunPlan,
    ) {
        if let Some(fresh) = self.stepper(model, params, plan) {
            *stepper = fresh;
        }
    }

    /// Asks the steppers this backend hands out from now on to integrate
    /// each event-free segment's sensitivities with the state and log them
    /// in the trace ([`NeuronTrace::sensitivities`]), for the adjoint to
    /// use instead of integrating them again (`on = false` stops it): for a
    /// forward pass that a backward pass follows, whose steps then cost
    /// more and the backward pass much less. A run that logs takes the
    /// same steps and gives the same trace otherwise, where the model's
    /// dual-number values are its `f64` ones (see
    /// [`Dopri5Backend`](crate::Dopri5Backend)). Returns whether the backend
    /// can log them (and heeds `on`); the default cannot and returns
    /// `false`.
    fn log_sensitivities(&mut self, on: bool) -> bool {
        let _ = on;
        false
    }

    /// The LIF neuron as which this backend can simulate a whole layer of
    /// `model` at once ([`LifLayer`](crate::lif_layer::LifLayer)): for a
    /// network that lets a dense layer's neurons (feed-forward or
    /// recurrent) share the work of their common inputs. `None` (the default) for every backend
    /// and model but [`ClosedForm`](crate::ClosedForm)'s LIF.
    fn lif_layer(&self, model: &N) -> Option<Lif> {
        let _ = model;
        None
    }

    /// Simulates the neuron on `[0, plan.t_end()]` ([`RunPlan::run`]).
    /// Overwrites `trace`.
    ///
    /// The default runs the plan on a fresh [`stepper`](Self::stepper); a
    /// backend that hands out no stepper ([`NoStepper`]), or keeps one
    /// between runs, implements it itself (without, the default reports a
    /// [`SolverError::Backend`]).
    fn simulate(
        &mut self,
        model: &N,
        params: &N::Params,
        inputs: &[InputSpike],
        plan: &RunPlan,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<(), SolverError> {
        let Some(mut stepper) = self.stepper(model, params, plan) else {
            return Err(SolverError::Backend {
                t: 0.0,
                message: "the backend hands out no stepper and does not implement `simulate`"
                    .into(),
            });
        };
        plan.run(&mut stepper, model, params, inputs, trace)
    }
}

/// The [`Backend::Stepper`] of a backend that hands out no stepper: a type
/// without values, so a stepper of it can never exist.
#[derive(Clone, Copy, Debug)]
pub enum NoStepper {}

impl<N: NeuronModel> Stepper<N> for NoStepper {
    fn t(&self) -> f64 {
        match *self {}
    }
    fn t_prev(&self) -> f64 {
        match *self {}
    }
    fn x(&self) -> &N::State {
        match *self {}
    }
    fn dx(&self) -> &N::State {
        match *self {}
    }
    fn step(&mut self, _t_stop: f64) -> Result<(), SolverError> {
        match *self {}
    }
    fn interpolate(
        &mut self,
        _t: f64,
        _x: &mut N::State,
        _dx: &mut N::State,
    ) -> Result<(), SolverError> {
        match *self {}
    }
    fn restart(&mut self, _t: f64, _x: &N::State) -> Result<(), SolverError> {
        match *self {}
    }
}
