//! Backend on diffsol's explicit Runge–Kutta method `tsit45`, for any model.

use crate::dopri5::REJECT_NON_FINITE;
use crate::RkAdjoint;
use crate::{
    run_event_loop, Backend, InputSpike, NeuronTrace, NoStepper, SolverError, SolverOptions,
    Stepper,
};
use diffsol::error::{DiffsolError, OdeSolverError};
use diffsol::{
    NalgebraMat, NalgebraVec, OdeBuilder, OdeEquations, OdeSolverMethod, OdeSolverStopReason,
};
use evnn_neurons::{NeuronModel, StateVector};
use std::marker::PhantomData;

/// Adaptive integration with diffsol's Tsitouras 5(4) method (`tsit45`) and
/// dense output, for any [`NeuronModel`].
///
/// Event detection and spike-time refinement are the solver crate's own (on
/// diffsol's dense output), not diffsol's root finder, which only sees sign
/// changes at step ends. After every jump the state's derivative is
/// recomputed, since the method reuses it as its first stage.
///
/// Its [`Adjoint`](crate::Adjoint) is the numerical [`RkAdjoint`] (checkpointed
/// Dormand–Prince re-integration), which works for every model.
#[derive(Clone, Debug, Default)]
pub struct DiffsolBackend {
    adjoint: RkAdjoint,
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

/// A [`Stepper`] over a diffsol solver.
struct DiffsolStepper<'a, 'm, N: NeuronModel, Eqn, S> {
    solver: S,
    eqn: PhantomData<&'a Eqn>,
    model: &'m N,
    params: N::Params,
    t_prev: f64,
    t: f64,
    x: N::State,
    dx: N::State,
    stop: Option<f64>,
    scratch_y: NalgebraVec<f64>,
    scratch_dy: NalgebraVec<f64>,
}

impl<'a, 'm, N, S, Eqn> Stepper<N> for DiffsolStepper<'a, 'm, N, Eqn, S>
where
    N: NeuronModel,
    Eqn: OdeEquations<T = f64, V = NalgebraVec<f64>> + 'a,
    S: OdeSolverMethod<'a, Eqn>,
{
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
        let h = self.solver.state().h;
        // diffsol treats stop times within ~100 ε of `t` as already reached:
        // land on them without a step.
        if t_stop - self.t <= 200.0 * f64::EPSILON * (self.t.abs() + h.abs()) {
            let x = self.x;
            return self.restart(t_stop, &x);
        }
        let (t0, x0) = (self.t, self.x);
        loop {
            if self.stop != Some(t_stop) {
                self.solver
                    .set_stop_time(t_stop)
                    .map_err(|e| backend_error(self.t, e))?;
                self.stop = Some(t_stop);
            }
            let reason = self.solver.step().map_err(|e| backend_error(self.t, e))?;
            let state = self.solver.state();
            let (t, h_next) = (state.t, state.h);
            let mut x = N::State::zeros();
            x.as_mut_slice().copy_from_slice(state.y.batch_as_slice(0));
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
                *self.solver.state_mut().h = h;
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
        // The solver's own clock may differ from `t_stop` by round-off.
        let solver_t = self.solver.state().t;
        let t = t.min(solver_t);
        self.solver
            .interpolate_inplace(t, &mut self.scratch_y)
            .map_err(|e| backend_error(t, e))?;
        x.as_mut_slice()
            .copy_from_slice(self.scratch_y.batch_as_slice(0));
        self.solver
            .interpolate_dy_inplace(t, &mut self.scratch_dy)
            .map_err(|e| backend_error(t, e))?;
        dx.as_mut_slice()
            .copy_from_slice(self.scratch_dy.batch_as_slice(0));
        Ok(())
    }

    fn restart(&mut self, t: f64, x: &N::State) -> Result<(), SolverError> {
        self.model
            .dynamics(self.params.as_slice(), x.as_slice(), self.dx.as_mut_slice());
        let state = self.solver.state_mut();
        state.y.batch_as_mut_slice(0).copy_from_slice(x.as_slice());
        state
            .dy
            .batch_as_mut_slice(0)
            .copy_from_slice(self.dx.as_slice());
        *state.t = t;
        self.t = t;
        self.t_prev = t;
        self.x = *x;
        Ok(())
    }
}

/// diffsol's solver borrows its problem, so this backend hands out no
/// stepper of its own ([`Backend::stepper`] says `None`).
impl<N: NeuronModel> Backend<N> for DiffsolBackend {
    type Stepper = NoStepper;

    fn simulate(
        &mut self,
        model: &N,
        params: &N::Params,
        inputs: &[InputSpike],
        t_end: f64,
        options: &SolverOptions,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<(), SolverError> {
        options.validate()?;
        let x0 = model.initial_state();
        let rhs_model = model.clone();
        let p = *params;
        let mut builder = OdeBuilder::<NalgebraMat<f64>>::new()
            .rtol(options.rtol)
            .atol(std::iter::repeat_n(options.atol, N::State::DIM));
        if options.h0 > 0.0 {
            builder = builder.h0(options.h0);
        }
        let problem = builder
            .rhs(move |y: &[f64], _p: &[f64], _t: f64, dy: &mut [f64]| {
                let mut x = N::State::zeros();
                x.as_mut_slice().copy_from_slice(y);
                let mut f = N::State::zeros();
                rhs_model.dynamics(p.as_slice(), x.as_slice(), f.as_mut_slice());
                dy.copy_from_slice(f.as_slice());
            })
            .init(
                move |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(x0.as_slice()),
                N::State::DIM,
            )
            .build()
            .map_err(|e| backend_error(0.0, e))?;
        let solver = problem.tsit45().map_err(|e| backend_error(0.0, e))?;
        let scratch_y = solver.state().y.clone();
        let scratch_dy = solver.state().dy.clone();
        let mut dx = N::State::zeros();
        model.dynamics(params.as_slice(), x0.as_slice(), dx.as_mut_slice());
        let mut stepper = DiffsolStepper {
            solver,
            eqn: PhantomData,
            model,
            params: *params,
            t_prev: 0.0,
            t: 0.0,
            x: x0,
            dx,
            stop: None,
            scratch_y,
            scratch_dy,
        };
        run_event_loop(&mut stepper, model, params, inputs, t_end, options, trace)
    }
}
