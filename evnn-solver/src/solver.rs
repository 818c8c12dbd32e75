//! [`EventSolver`]: a model, a backend and options, a convenience over
//! [`RunPlan`].

use crate::{
    run_adjoint, Adjoint, Backend, DiffsolBackend, InputSpike, NeuronGradient, NeuronTrace,
    RunPlan, SolverError, SolverOptions,
};
use evnn_neurons::NeuronModel;

/// Simulates single neurons of model `N` event by event with backend `B`.
///
/// Input: one neuron's input spikes (time, weight) sorted by time, its
/// learnable parameters and `t_end`. Output: a [`NeuronTrace`] with the
/// neuron's spike times, each exact to the solver tolerance (to round-off
/// with an exact backend), and the event log the EventProp adjoint needs.
///
/// A thin convenience over the crate's central type, [`RunPlan`]: it keeps
/// the model, the backend and the options (checked once, by
/// [`new`](Self::new)) together, and each [`simulate`](Self::simulate) makes
/// the plan for its `t_end` (checking only that) and hands it to
/// [`Backend::simulate`]. A caller that runs many neurons (a network) uses
/// [`RunPlan`] and the [`Backend`] directly, as `evnn-net` does.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, Qif};
/// use evnn_solver::{ClosedForm, EventSolver, InputSpike, SolverOptions};
///
/// let inputs = [InputSpike::new(1.0, 4.0), InputSpike::new(2.0, 4.0)];
/// // LIF, exact backend
/// let lif = Lif::new(20.0, 5.0, 1.0, 0.0)?;
/// let mut exact = EventSolver::new(lif, ClosedForm, SolverOptions::default())?;
/// let trace = exact.simulate(&[0.0], &inputs, 30.0)?;
/// // LIF, adaptive diffsol backend at tight tolerance: the same spike times
/// let opts = SolverOptions::default().with_tolerances(1e-12, 1e-12);
/// let mut rk = EventSolver::diffsol(lif, opts)?;
/// let trace_rk = rk.simulate(&[0.0], &inputs, 30.0)?;
/// assert_eq!(trace.spikes.len(), trace_rk.spikes.len());
/// for (a, b) in trace.spikes.iter().zip(&trace_rk.spikes) {
///     assert!((a - b).abs() < 1e-9);
/// }
/// // QIF: diffsol backend
/// let mut qif = EventSolver::diffsol(Qif::new(20.0, 5.0)?, SolverOptions::default())?;
/// let t = qif.simulate(&[0.0], &[InputSpike::new(0.0, 10.0)], 30.0)?;
/// assert!(!t.spikes.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct EventSolver<N: NeuronModel, B: Backend<N>> {
    model: N,
    backend: B,
    options: SolverOptions,
}

impl<N: NeuronModel + 'static> EventSolver<N, DiffsolBackend> {
    /// A solver on the diffsol backend (works for every model).
    pub fn diffsol(model: N, options: SolverOptions) -> Result<Self, SolverError> {
        EventSolver::new(model, DiffsolBackend::default(), options)
    }
}

impl<N: NeuronModel, B: Backend<N>> EventSolver<N, B> {
    /// A solver; errors when an option is out of range.
    pub fn new(model: N, backend: B, options: SolverOptions) -> Result<Self, SolverError> {
        options.validate()?;
        Ok(EventSolver {
            model,
            backend,
            options,
        })
    }

    /// The model.
    pub fn model(&self) -> &N {
        &self.model
    }

    /// The options.
    pub fn options(&self) -> &SolverOptions {
        &self.options
    }

    /// Simulates one neuron on `[0, t_end]`. Inputs at `t >= t_end` are
    /// ignored.
    pub fn simulate(
        &mut self,
        params: &N::Params,
        inputs: &[InputSpike],
        t_end: f64,
    ) -> Result<NeuronTrace<N::State>, SolverError> {
        let mut trace = NeuronTrace::new(self.model.initial_state());
        self.simulate_into(params, inputs, t_end, &mut trace)?;
        Ok(trace)
    }

    /// Like [`simulate`](Self::simulate), reusing the buffers of `trace`.
    pub fn simulate_into(
        &mut self,
        params: &N::Params,
        inputs: &[InputSpike],
        t_end: f64,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<(), SolverError> {
        let plan = RunPlan::with_valid_options(t_end, &self.options)?;
        self.backend
            .simulate(&self.model, params, inputs, &plan, trace)
    }
}

impl<N: NeuronModel, B: Backend<N> + Adjoint<N>> EventSolver<N, B> {
    /// The EventProp gradient of a loss for one neuron run: `trace` comes
    /// from [`simulate`](Self::simulate) with the same `params` and
    /// `inputs`; `dl_dspikes[k]` is `dL/dt_k` for each spike of the trace and
    /// `dl_dx_end` is `∂L/∂x(t_end)` (`None` for pure spike-time losses).
    pub fn gradient(
        &mut self,
        params: &N::Params,
        inputs: &[InputSpike],
        trace: &NeuronTrace<N::State>,
        dl_dspikes: &[f64],
        dl_dx_end: Option<&N::State>,
    ) -> Result<NeuronGradient<N::Params>, SolverError> {
        let mut grad = NeuronGradient::zeros(inputs.len());
        self.gradient_into(params, inputs, trace, dl_dspikes, dl_dx_end, &mut grad)?;
        Ok(grad)
    }

    /// Like [`gradient`](Self::gradient), reusing the buffers of `grad`.
    pub fn gradient_into(
        &mut self,
        params: &N::Params,
        inputs: &[InputSpike],
        trace: &NeuronTrace<N::State>,
        dl_dspikes: &[f64],
        dl_dx_end: Option<&N::State>,
        grad: &mut NeuronGradient<N::Params>,
    ) -> Result<(), SolverError> {
        use evnn_neurons::StateVector;
        let zero = N::State::zeros();
        run_adjoint(
            &mut self.backend,
            &self.model,
            params,
            inputs,
            trace,
            dl_dspikes,
            dl_dx_end.unwrap_or(&zero),
            &self.options,
            grad,
        )
    }
}
