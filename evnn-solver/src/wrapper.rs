//! The exact backends for wrapped models: [`Refractory`] and
//! [`AtMostOneSpike`] of a model that [`ClosedForm`] or [`QifSeries`]
//! runs.
//!
//! A wrapper changes only when the model may spike, which the event loop
//! and [`run_adjoint`](crate::run_adjoint) handle for every backend; its
//! equations are the wrapped model's. So a backend runs a wrapped model on
//! the stepper and segment adjoint of the model it wraps
//! ([`WrappedStepper`]). The generic backends ([`Dopri5Backend`](crate::Dopri5Backend),
//! [`DiffsolBackend`](crate::DiffsolBackend)) take any model, wrapped ones
//! included, as they are.

use crate::Stepper;
use crate::{Adjoint, Backend, ClosedForm, Peak, QifSeries, RunPlan, SolverError, SolverOptions};
use evnn_neurons::{AtMostOneSpike, NeuronModel, Refractory};

/// The stepper of a wrapped model ([`Refractory`], [`AtMostOneSpike`]) on
/// [`ClosedForm`] or [`QifSeries`]: the wrapped model's stepper `S`, with
/// every method its own.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, Refractory};
/// use evnn_solver::{ClosedForm, EventSolver, InputSpike, SolverOptions};
///
/// let lif = Lif::default();
/// let mut plain = EventSolver::new(lif, ClosedForm, SolverOptions::default())?;
/// let mut refr = EventSolver::new(Refractory::new(lif, 3.0)?, ClosedForm, SolverOptions::default())?;
/// let (a, b) = (plain.simulate(&[1.5], &[], 60.0)?, refr.simulate(&[1.5], &[], 60.0)?);
/// // The first spike is the same; each period is 3 longer.
/// assert_eq!(a.spikes[0], b.spikes[0]);
/// let (pa, pb) = (a.spikes[1] - a.spikes[0], b.spikes[1] - b.spikes[0]);
/// assert!((pb - pa - 3.0).abs() < 1e-9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct WrappedStepper<S>(pub S);

/// Implements [`Stepper`] for [`WrappedStepper`], and [`Backend`] and
/// [`Adjoint`] for the exact backends, for one wrapper type.
macro_rules! wrapper_backends {
    ($wrapper:ident) => {
        impl<M: NeuronModel, S: Stepper<M>> Stepper<$wrapper<M>> for WrappedStepper<S> {
            fn t(&self) -> f64 {
                self.0.t()
            }
            fn t_prev(&self) -> f64 {
                self.0.t_prev()
            }
            fn x(&self) -> &M::State {
                self.0.x()
            }
            fn dx(&self) -> &M::State {
                self.0.dx()
            }
            fn step(&mut self, t_stop: f64) -> Result<(), SolverError> {
                self.0.step(t_stop)
            }
            fn interpolate(
                &mut self,
                t: f64,
                x: &mut M::State,
                dx: &mut M::State,
            ) -> Result<(), SolverError> {
                self.0.interpolate(t, x, dx)
            }
            fn restart(&mut self, t: f64, x: &M::State) -> Result<(), SolverError> {
                self.0.restart(t, x)
            }
            fn sign_change_suffices(&self) -> bool {
                self.0.sign_change_suffices()
            }
            fn refine_crossing(&mut self, t_lo: f64, t_hi: f64) -> Option<f64> {
                self.0.refine_crossing(t_lo, t_hi)
            }
            fn event_peak(&mut self) -> Option<Peak> {
                self.0.event_peak()
            }
            fn log_segment(&self, t: f64, log: &mut Vec<f64>) {
                self.0.log_segment(t, log)
            }
        }

        wrapper_backends!(@backend $wrapper, ClosedForm);
        wrapper_backends!(@backend $wrapper, QifSeries);
    };
    (@backend $wrapper:ident, $backend:ty) => {
        impl<M: NeuronModel> Backend<$wrapper<M>> for $backend
        where
            $backend: Backend<M>,
        {
            type Stepper = WrappedStepper<<$backend as Backend<M>>::Stepper>;

            fn stepper(
                &self,
                model: &$wrapper<M>,
                params: &M::Params,
                plan: &RunPlan,
            ) -> Option<Self::Stepper> {
                Backend::<M>::stepper(self, model.inner(), params, plan).map(WrappedStepper)
            }

            fn reset_stepper(
                &self,
                stepper: &mut Self::Stepper,
                model: &$wrapper<M>,
                params: &M::Params,
                plan: &RunPlan,
            ) {
                Backend::<M>::reset_stepper(self, &mut stepper.0, model.inner(), params, plan)
            }

            fn log_sensitivities(&mut self, on: bool) -> bool {
                Backend::<M>::log_sensitivities(self, on)
            }
        }

        impl<M: NeuronModel> Adjoint<$wrapper<M>> for $backend
        where
            $backend: Adjoint<M>,
        {
            fn propagate(
                &mut self,
                model: &$wrapper<M>,
                params: &M::Params,
                t_a: f64,
                x_a: &M::State,
                t_b: f64,
                x_b: &M::State,
                lambda: &mut M::State,
                mu: &mut M::Params,
                options: &SolverOptions,
            ) -> Result<(), SolverError> {
                Adjoint::<M>::propagate(
                    self,
                    model.inner(),
                    params,
                    t_a,
                    x_a,
                    t_b,
                    x_b,
                    lambda,
                    mu,
                    options,
                )
            }

            fn start_neuron(&mut self) {
                Adjoint::<M>::start_neuron(self)
            }
        }
    };
}

wrapper_backends!(Refractory);
wrapper_backends!(AtMostOneSpike);
