//! The EventProp adjoint of one neuron (Wunderlich & Pehle, Sci. Rep. 11,
//! 12829, 2021), computed from the forward pass's event log.
//!
//! With `λ(t) = ∂L/∂x(t)` (the loss's sensitivity to a perturbation of the
//! state at time `t`), integrated backward from `λ(T) = ∂L/∂x(T)`:
//!
//! - between events `λ' = −(∂f/∂x)ᵀ λ` and `dL/dp += ∫ λᵀ ∂f/∂p dt`;
//! - at an own spike `t_k` (reset `h`, `H = ∂h/∂x`, `g_x = ∂g/∂x`,
//!   `f∓ = f(x∓)`): `α = [λ⁺ᵀ(H f⁻ − f⁺) + dL/dt_k] / (g_x f⁻)` and
//!   `λ⁻ = Hᵀ λ⁺ − α g_xᵀ`; a reset that depends on the parameters
//!   ([`NeuronModel::RESET_USES_PARAMS`], `h(x, p)`) adds `λ⁺ᵀ ∂h/∂p` to
//!   `dL/dp` (the state after the spike moves with `p`; the spike time
//!   does not, `g` does not depend on `p`);
//! - at an input spike `s_m` of weight `w_m` (jump `j`, `J = ∂j/∂x`):
//!   `λ⁻ = Jᵀ λ⁺`, `dL/dw_m = λ⁺ᵀ ∂j/∂w` and
//!   `dL/ds_m = λ⁻ᵀ f⁻ − λ⁺ᵀ f⁺`;
//! - at a spike `t_k` that the jump of input `m` caused
//!   ([`EventKind::JumpSpike`]), `t_k = s_m` whatever the state: no `1/ġ`
//!   term, `λ⁻ = Hᵀ λ⁺`, and `dL/ds_m += λ⁻ᵀ f⁻ − λ⁺ᵀ f⁺ + dL/dt_k` (with
//!   the input's own term this is the input rule for the jump followed by
//!   the reset, plus the spike time moving with the input);
//! - a refractory period `[t_k, t_e)` after a spike
//!   ([`NeuronModel::refractory_period`], `t_e = t_k + t_ref`): the state
//!   is frozen, so `λ` is constant over it and it adds nothing to
//!   `dL/dp`; a blocked input gets `dL/dw_m = dL/ds_m = 0`; at the spike
//!   the jump condition above holds with `λ⁺ = λ(t_e⁺)` and `f⁺ = f(x⁺)`
//!   (the end of the period moves with `t_k`; `f⁺ = 0` when the period
//!   reaches the end of the run). In the log the spike has `f⁺ = 0`
//!   (frozen) and its [`EventKind::RefractoryEnd`] `f⁻ = 0`, `f⁺ = f(x⁺)`;
//!   that event's term `λ(t_e)ᵀ(f⁻ − f⁺)` is added to `dL/dt_k`.
//!
//! The segment propagation is backend specific ([`Adjoint`]): closed form for
//! the LIF neuron, numerical for any model; a segment whose sensitivities
//! the forward run logged ([`NeuronTrace::sensitivities`]) is taken from the
//! log instead.

use crate::engine::{check_synapses, synapse_weights};
use crate::{Dopri5, EventKind, InputSpike, NeuronTrace, SolverError, SolverOptions};
use evnn_neurons::{DualSVec64, NeuronModel, StateVector, MAX_WEIGHTS_PER_SYNAPSE};
use nalgebra::SVector;
use num_dual::Derivative;
use serde::{Deserialize, Serialize};

/// Gradient of a loss with respect to one neuron's parameters and inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronGradient<P> {
    /// `dL/dp` for the learnable per-neuron parameters.
    pub params: P,
    /// `dL/dw_m` for every input spike `m` (in the order of the input list);
    /// zero for inputs at `t >= t_end`. For a model with several weights
    /// per synapse, one entry per weight ([`InputSpike`]'s layout).
    pub weights: Vec<f64>,
    /// `dL/ds_m` for every input spike time `s_m`.
    pub input_times: Vec<f64>,
}

impl<P: StateVector> NeuronGradient<P> {
    /// A zero gradient for `n_inputs` input spikes.
    pub fn zeros(n_inputs: usize) -> Self {
        NeuronGradient {
            params: P::zeros(),
            weights: vec![0.0; n_inputs],
            input_times: vec![0.0; n_inputs],
        }
    }

    fn reset(&mut self, n_inputs: usize) {
        self.params = P::zeros();
        self.weights.clear();
        self.weights.resize(n_inputs, 0.0);
        self.input_times.clear();
        self.input_times.resize(n_inputs, 0.0);
    }
}

/// Backward propagation of the adjoint over an event-free segment.
///
/// # Examples
///
/// ```
/// use evnn_neurons::Lif;
/// use evnn_solver::{Adjoint, ClosedForm, DiffsolBackend, SolverOptions};
///
/// // λ(t_b) = (1, 0) for a LIF over [0, 2]: closed form and numerical agree.
/// let lif = Lif::new(2.0, 1.0, 1.0, 0.0).unwrap();
/// let opts = SolverOptions::default().with_tolerances(1e-12, 1e-12);
/// let (xa, xb) = ([0.0, 1.0], lif.evolve(&[0.5], &[0.0, 1.0], 2.0));
/// let (mut l1, mut m1) = ([1.0, 0.0], [0.0]);
/// ClosedForm.propagate(&lif, &[0.5], 0.0, &xa, 2.0, &xb, &mut l1, &mut m1, &opts).unwrap();
/// let (mut l2, mut m2) = ([1.0, 0.0], [0.0]);
/// DiffsolBackend::default().propagate(&lif, &[0.5], 0.0, &xa, 2.0, &xb, &mut l2, &mut m2, &opts).unwrap();
/// assert!((l1[0] - l2[0]).abs() < 1e-9 && (l1[1] - l2[1]).abs() < 1e-9);
/// assert!((m1[0] - m2[0]).abs() < 1e-9);
/// ```
pub trait Adjoint<N: NeuronModel> {
    /// On entry `lambda = λ(t_b)`, on exit `λ(t_a)`, and `∫ λᵀ ∂f/∂p dt` over
    /// `[t_a, t_b]` is added to `mu`. `x_a = x(t_a⁺)`, `x_b = x(t_b⁻)` are the
    /// logged states at the segment's ends.
    #[allow(clippy::too_many_arguments)]
    fn propagate(
        &mut self,
        model: &N,
        params: &N::Params,
        t_a: f64,
        x_a: &N::State,
        t_b: f64,
        x_b: &N::State,
        lambda: &mut N::State,
        mu: &mut N::Params,
        options: &SolverOptions,
    ) -> Result<(), SolverError>;

    /// Called by [`run_adjoint`] before the first segment of each neuron
    /// (its segments then come in reverse time order). An adjoint that
    /// carries something from segment to segment (a step size) starts it
    /// afresh here, so that a neuron's gradient does not depend on what
    /// the adjoint computed before (a batch gradient is then bit-identical
    /// for any number of threads). The default does nothing.
    fn start_neuron(&mut self) {}
}

/// Runs the EventProp adjoint of one neuron over its event log.
///
/// `inputs` is the input list the trace was simulated with;
/// `dl_dspikes[k]` is the total derivative of the loss with respect to the
/// neuron's `k`-th spike time (direct loss term plus what downstream neurons
/// send back); `dl_dx_end` is `∂L/∂x(T)`. Overwrites `grad`. An event log
/// that names an input or spike beyond `inputs` or `dl_dspikes` (a trace
/// of another run, or edited) is a [`SolverError::ShapeMismatch`].
#[allow(clippy::too_many_arguments)]
pub fn run_adjoint<N: NeuronModel, A: Adjoint<N>>(
    adjoint: &mut A,
    model: &N,
    params: &N::Params,
    inputs: &[InputSpike],
    trace: &NeuronTrace<N::State>,
    dl_dspikes: &[f64],
    dl_dx_end: &N::State,
    options: &SolverOptions,
    grad: &mut NeuronGradient<N::Params>,
) -> Result<(), SolverError> {
    if dl_dspikes.len() != trace.spikes.len() {
        return Err(SolverError::ShapeMismatch {
            what: "dL/dt (one entry per output spike)",
            expected: trace.spikes.len(),
            got: dl_dspikes.len(),
        });
    }
    if let Some((index, &value)) = dl_dspikes.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SolverError::NonFiniteSensitivity {
            what: "dL/dt",
            index,
            value,
        });
    }
    let mut run = AdjointRun::start(adjoint, model, params, inputs, trace, dl_dx_end, grad)?;
    while run.remaining() > 0 {
        run.event(
            adjoint, model, params, inputs, trace, dl_dspikes, options, grad,
        )?;
    }
    run.finish(adjoint, model, params, trace, options, grad)
}

/// The adjoint of one neuron ([`run_adjoint`]) as a state machine that the
/// caller drives event by event, from the last event of the log to the
/// first ([`event`](Self::event)), then [`finish`](Self::finish)es at
/// `t = 0`. Between calls the caller may compute what later events need:
/// `dL/dt_k` of a spike must be final only when its event is processed. A
/// recurrent layer interleaves its neurons' adjoints this way, in the
/// reverse of the order in which its forward pass met the events, since a
/// spike's `dL/dt_k` collects what the neurons it reaches send back from
/// the input events it caused (`evnn-net`). Driven without pause it is
/// [`run_adjoint`], which is built on it.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel};
/// use evnn_solver::{run_adjoint, AdjointRun, ClosedForm, EventSolver, InputSpike};
/// use evnn_solver::{NeuronGradient, SolverOptions};
///
/// let lif = Lif::default();
/// let opts = SolverOptions::default();
/// let mut solver = EventSolver::new(lif, ClosedForm, opts)?;
/// let inputs = [InputSpike::new(1.0, 4.0), InputSpike::new(2.0, 4.0)];
/// let trace = solver.simulate(&[0.3], &inputs, 30.0)?;
/// let dl = vec![1.0; trace.spikes.len()];
/// let (mut a, mut b) = (NeuronGradient::zeros(2), NeuronGradient::zeros(2));
/// let x_end = [0.0; 2];
/// run_adjoint(&mut ClosedForm, &lif, &[0.3], &inputs, &trace, &dl, &x_end, &opts, &mut a)?;
/// let mut run = AdjointRun::start(&mut ClosedForm, &lif, &[0.3], &inputs, &trace, &x_end, &mut b)?;
/// while run.remaining() > 0 {
///     run.event(&mut ClosedForm, &lif, &[0.3], &inputs, &trace, &dl, &opts, &mut b)?;
/// }
/// run.finish(&mut ClosedForm, &lif, &[0.3], &trace, &opts, &mut b)?;
/// assert_eq!(a, b);
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AdjointRun<N: NeuronModel> {
    /// `λ` at `t_b`, the time of the event processed last (`t_end` first).
    lambda: N::State,
    t_b: f64,
    x_b: N::State,
    /// Events not yet processed: `events[..remaining]`.
    remaining: usize,
    refractory: bool,
    /// The end of the refractory period after spike `k`, met before (in
    /// reverse time) the spike: `(k, λ(t_e)ᵀ(f⁻ − f⁺))`, its term of
    /// `dL/dt_k`.
    period_end: Option<(usize, f64)>,
    /// The segments of the trace's sensitivity log that may still match a
    /// segment: `sensitivities()[..logged · stride]`.
    logged: usize,
}

impl<N: NeuronModel> AdjointRun<N> {
    /// The adjoint at the end of `trace` with `λ(T) = dl_dx_end`: checks
    /// the parameters, `dl_dx_end` and the inputs' synapses, and clears
    /// `grad` for `inputs`.
    pub fn start<A: Adjoint<N>>(
        adjoint: &mut A,
        model: &N,
        params: &N::Params,
        inputs: &[InputSpike],
        trace: &NeuronTrace<N::State>,
        dl_dx_end: &N::State,
        grad: &mut NeuronGradient<N::Params>,
    ) -> Result<Self, SolverError> {
        model.validate_params(params)?;
        if let Some((index, &value)) = dl_dx_end
            .as_slice()
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite())
        {
            return Err(SolverError::NonFiniteSensitivity {
                what: "dL/dx(T)",
                index,
                value,
            });
        }
        check_synapses::<N>(inputs, 0)?;
        grad.reset(inputs.len());
        adjoint.start_neuron();
        Ok(AdjointRun {
            lambda: *dl_dx_end,
            t_b: trace.t_end,
            x_b: trace.x_end,
            remaining: trace.events.len(),
            refractory: model.refractory_period() > 0.0,
            period_end: None,
            logged: logged_segments::<N>(trace),
        })
    }

    /// Events of the log not yet processed (the first ones).
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Processes the last event not yet processed (`events[remaining() −
    /// 1]`): the segment after it, then its jump condition. `dl_dspikes[k]`
    /// is read for a spike's event, and must then be final and finite.
    #[allow(clippy::too_many_arguments)]
    pub fn event<A: Adjoint<N>>(
        &mut self,
        adjoint: &mut A,
        model: &N,
        params: &N::Params,
        inputs: &[InputSpike],
        trace: &NeuronTrace<N::State>,
        dl_dspikes: &[f64],
        options: &SolverOptions,
        grad: &mut NeuronGradient<N::Params>,
    ) -> Result<(), SolverError> {
        let Some(at) = self.remaining.checked_sub(1) else {
            return Err(SolverError::ShapeMismatch {
                what: "events left to the adjoint",
                expected: 1,
                got: 0,
            });
        };
        let Some(event) = trace.events.get(at) else {
            return Err(SolverError::ShapeMismatch {
                what: "events of the trace (the adjoint's count)",
                expected: at + 1,
                got: trace.events.len(),
            });
        };
        let n_inputs = inputs.len();
        // The event log names input entries up to `end` (exclusive).
        let inputs_reach = |end: usize| {
            if end > n_inputs {
                return Err(SolverError::ShapeMismatch {
                    what: "inputs (the event log names more)",
                    expected: end,
                    got: n_inputs,
                });
            }
            Ok(())
        };
        let spike_sensitivity = |k: usize| match dl_dspikes.get(k) {
            None => Err(SolverError::ShapeMismatch {
                what: "dL/dt (the event log names more spikes)",
                expected: k + 1,
                got: dl_dspikes.len(),
            }),
            Some(v) if !v.is_finite() => Err(SolverError::NonFiniteSensitivity {
                what: "dL/dt",
                index: k,
                value: *v,
            }),
            Some(&v) => Ok(v),
        };
        let lambda = &mut self.lambda;
        let mut tmp = N::State::zeros();
        let mut gx = N::State::zeros();
        // A refractory period follows every spike of a model that has one
        // (until its end or the end of the run); the state is frozen over
        // it, and so is λ.
        let frozen = self.refractory
            && matches!(
                event.kind,
                EventKind::Spike { .. } | EventKind::JumpSpike { .. } | EventKind::Blocked { .. }
            );
        // The adjoint equation is linear and homogeneous in λ and the
        // parameter integrand is λᵀ ∂f/∂p: a segment that ends with λ = 0
        // contributes nothing, exactly, so it is skipped (typically every
        // segment after a neuron's last spike that the loss depends on).
        if !frozen && lambda.as_slice().iter().any(|&v| v != 0.0) {
            let segment = (event.t, self.t_b);
            match logged_sensitivities::<N>(trace, &mut self.logged, segment) {
                Some(entry) => apply_sensitivities::<N>(entry, lambda, &mut grad.params),
                None => adjoint.propagate(
                    model,
                    params,
                    event.t,
                    &event.x_plus,
                    self.t_b,
                    &self.x_b,
                    lambda,
                    &mut grad.params,
                    options,
                )?,
            }
        }
        match event.kind {
            EventKind::Input { index } => {
                let k_w = N::WEIGHTS_PER_SYNAPSE;
                inputs_reach(index + k_w)?;
                let lambda_plus = *lambda;
                if k_w == 1 {
                    let w = inputs[index].weight;
                    grad.weights[index] +=
                        model.input_jump_vjp(&event.x_minus, w, &lambda_plus, lambda);
                } else {
                    // A synapse of K weights: K consecutive entries, the
                    // input time's gradient on the first.
                    let w = synapse_weights::<N>(inputs, index);
                    let mut lw = [0.0; MAX_WEIGHTS_PER_SYNAPSE];
                    model.input_jump_weights_vjp(
                        &event.x_minus,
                        &w[..k_w],
                        &lambda_plus,
                        lambda,
                        &mut lw[..k_w],
                    );
                    for (g, l) in grad.weights[index..index + k_w].iter_mut().zip(lw) {
                        *g += l;
                    }
                }
                grad.input_times[index] +=
                    lambda.dot(&event.f_minus) - lambda_plus.dot(&event.f_plus);
            }
            EventKind::Blocked { index } => {
                // No jump: λ passes unchanged, and the gradients of the
                // input's weight and time stay zero.
                inputs_reach(index + 1)?;
            }
            EventKind::RefractoryEnd { k } => {
                if k >= dl_dspikes.len() {
                    return Err(SolverError::ShapeMismatch {
                        what: "dL/dt (the event log names more spikes)",
                        expected: k + 1,
                        got: dl_dspikes.len(),
                    });
                }
                self.period_end = Some((k, lambda.dot(&event.f_minus) - lambda.dot(&event.f_plus)));
            }
            EventKind::JumpSpike { k, index } => {
                let dl_dspike = spike_sensitivity(k)?;
                inputs_reach(index + 1)?;
                // The spike time is the input's: `dL/dt_k` goes to the
                // input's time, and the state after the reset carries the
                // rest back through the reset alone.
                let dl_dspike = with_period_end(dl_dspike, k, &mut self.period_end);
                model.reset_vjp_with_params(
                    params,
                    &event.x_minus,
                    lambda,
                    &mut tmp,
                    &mut grad.params,
                );
                grad.input_times[index] +=
                    tmp.dot(&event.f_minus) - lambda.dot(&event.f_plus) + dl_dspike;
                *lambda = tmp;
            }
            EventKind::Spike { k } => {
                let dl_dspike = spike_sensitivity(k)?;
                let dl_dspike = with_period_end(dl_dspike, k, &mut self.period_end);
                model.reset_vjp_with_params(
                    params,
                    &event.x_minus,
                    lambda,
                    &mut tmp,
                    &mut grad.params,
                );
                model.event_grad(&event.x_minus, &mut gx);
                let slope = gx.dot(&event.f_minus);
                if !(slope > 0.0) {
                    return Err(SolverError::DegenerateSpike { t: event.t, slope });
                }
                let alpha =
                    (tmp.dot(&event.f_minus) - lambda.dot(&event.f_plus) + dl_dspike) / slope;
                for (l, (h, g)) in lambda
                    .as_mut_slice()
                    .iter_mut()
                    .zip(tmp.as_slice().iter().zip(gx.as_slice()))
                {
                    *l = h - alpha * g;
                }
            }
        }
        self.t_b = event.t;
        self.x_b = event.x_minus;
        self.remaining = at;
        Ok(())
    }

    /// `λ(t)` at the time of the event processed last (`λ(T)` before any).
    pub fn lambda(&self) -> &N::State {
        &self.lambda
    }

    /// Propagates the adjoint from the first event to `t = 0`, which adds
    /// the last segment's parameter integral to `grad`; every event of
    /// `trace` (the run's) must have been processed.
    pub fn finish<A: Adjoint<N>>(
        mut self,
        adjoint: &mut A,
        model: &N,
        params: &N::Params,
        trace: &NeuronTrace<N::State>,
        options: &SolverOptions,
        grad: &mut NeuronGradient<N::Params>,
    ) -> Result<(), SolverError> {
        if self.remaining != 0 {
            return Err(SolverError::ShapeMismatch {
                what: "events left to the adjoint at its end",
                expected: 0,
                got: self.remaining,
            });
        }
        let x0 = model.initial_state();
        if self.lambda.as_slice().iter().any(|&v| v != 0.0) {
            match logged_sensitivities::<N>(trace, &mut self.logged, (0.0, self.t_b)) {
                Some(entry) => apply_sensitivities::<N>(entry, &mut self.lambda, &mut grad.params),
                None => adjoint.propagate(
                    model,
                    params,
                    0.0,
                    &x0,
                    self.t_b,
                    &self.x_b,
                    &mut self.lambda,
                    &mut grad.params,
                    options,
                )?,
            }
        }
        Ok(())
    }
}

/// The number of segments in `trace`'s sensitivity log
/// ([`NeuronTrace::sensitivities`]); 0 when its length does not fit the
/// model (a log of another model's run).
fn logged_segments<N: NeuronModel>(trace: &NeuronTrace<N::State>) -> usize {
    let stride = 2 + sensitivity_dim::<N>() - N::State::DIM;
    let log = trace.sensitivities();
    if log.len() % stride == 0 {
        log.len() / stride
    } else {
        0
    }
}

/// The logged `(Φ, S)` of the segment `(t_a, t_b)`, `t_a < t_b`, when the
/// trace's sensitivity log has a segment with exactly these ends and finite
/// entries. The adjoint asks for segments in reverse time order, and the
/// log lists them in time order: `cursor` (the segments that may still
/// match, the first ones) only falls, so the search costs a few
/// comparisons a segment.
fn logged_sensitivities<'t, N: NeuronModel>(
    trace: &'t NeuronTrace<N::State>,
    cursor: &mut usize,
    (t_a, t_b): (f64, f64),
) -> Option<&'t [f64]> {
    // A cursor of another trace's log (the adjoint driven with a trace
    // other than the one it started with) reaches no further than this one.
    *cursor = (*cursor).min(logged_segments::<N>(trace));
    if !(t_a < t_b) || *cursor == 0 {
        return None;
    }
    let stride = 2 + sensitivity_dim::<N>() - N::State::DIM;
    let log = trace.sensitivities();
    let entry = |i: usize| &log[i * stride..(i + 1) * stride];
    while *cursor > 0 && entry(*cursor - 1)[0] > t_a {
        *cursor -= 1;
    }
    // Segments of zero length (several events at one instant) share a
    // start with the one after them.
    let mut i = *cursor;
    while i > 0 && entry(i - 1)[0] == t_a {
        i -= 1;
        let e = entry(i);
        if e[1] == t_b {
            *cursor = i;
            let values = &e[2..];
            return values.iter().all(|v| v.is_finite()).then_some(values);
        }
    }
    None
}

/// `λ(t_a) = Φᵀ λ(t_b)` and `dL/dp += Sᵀ λ(t_b)` for a segment's `(Φ, S)`
/// by columns (`lambda` holds `λ(t_b)` on entry).
fn apply_sensitivities<N: NeuronModel>(phi_s: &[f64], lambda: &mut N::State, mu: &mut N::Params) {
    let d = N::State::DIM;
    let lambda_b = *lambda;
    let dot = |c: usize| -> f64 {
        phi_s[c * d..(c + 1) * d]
            .iter()
            .zip(lambda_b.as_slice())
            .map(|(a, b)| a * b)
            .sum()
    };
    for (j, l) in lambda.as_mut_slice().iter_mut().enumerate() {
        *l = dot(j);
    }
    for (k, m) in mu.as_mut_slice().iter_mut().enumerate() {
        *m += dot(d + k);
    }
}

/// `dL/dt_k` with the term of the end of spike `k`'s refractory period,
/// when one was met (`period_end`, taken).
#[inline]
fn with_period_end(dl_dspike: f64, k: usize, period_end: &mut Option<(usize, f64)>) -> f64 {
    match period_end.take() {
        Some((j, term)) if j == k => dl_dspike + term,
        _ => dl_dspike,
    }
}

/// Numerical segment adjoint for any model, by forward sensitivities: the
/// state is re-integrated from `x(t_a⁺)` together with its sensitivities
/// `Φ = ∂x(t)/∂x(t_a)` and `S = ∂x(t)/∂p`, which follow the variational
/// equations `Φ' = (∂f/∂x) Φ`, `S' = (∂f/∂x) S + ∂f/∂p` (from `Φ = I`,
/// `S = 0`); then `λ(t_a) = Φᵀ λ(t_b)` and the segment adds `Sᵀ λ(t_b)` to
/// `dL/dp`. One forward integration, on the steps that the state's error
/// test chooses (the sensitivities ride along: Runge–Kutta steps commute
/// with differentiation, so `Φ` and `S` are the exact derivatives of the
/// computed state, which converge to the true ones with the tolerance);
/// no backward integration. The right-hand sides of `Φ` and `S` are
/// Jacobian–vector products of the model's dynamics by vector dual numbers
/// ([`DualSVec64`]): one evaluation of the dynamics gives the state's
/// derivative and the products with all columns (up to eight; more in
/// groups of eight).
#[derive(Clone, Debug, Default)]
pub struct RkAdjoint {
    rk: Option<Dopri5>,
    z: Vec<f64>,
    h: f64,
}

impl<N: NeuronModel> Adjoint<N> for RkAdjoint {
    fn propagate(
        &mut self,
        model: &N,
        params: &N::Params,
        t_a: f64,
        x_a: &N::State,
        t_b: f64,
        x_b: &N::State,
        lambda: &mut N::State,
        mu: &mut N::Params,
        options: &SolverOptions,
    ) -> Result<(), SolverError> {
        if t_b <= t_a {
            return Ok(());
        }
        let d = N::State::DIM;
        // z = (x, Φ by columns, S by columns).
        let dim = sensitivity_dim::<N>();
        // A neuron's first segment starts from the initial step heuristic
        // (`start_neuron`), each later one (earlier in time) from the step
        // size the one before ended with: the time scales of neighbouring
        // segments are alike, and a segment that starts from the heuristic
        // takes several steps to grow out of its small first step.
        let rk = match &mut self.rk {
            Some(rk) if rk.dim() == dim => rk,
            slot => slot.insert(Dopri5::with_error_dims(dim, d)),
        };
        self.z.clear();
        self.z.resize(dim, 0.0);
        self.z[..d].copy_from_slice(x_a.as_slice());
        for j in 0..d {
            self.z[d + j * d + j] = 1.0;
        }
        // A segment that ends at a spike ends on the event surface (to the
        // round-off of the spike time's refinement, `4 ε |t|`, times the
        // event function's rate), which the re-integrated path reaches
        // within the solver's tolerance of `t_b`, possibly before it; past
        // the surface the state of a model that blows up in finite time (an
        // exponential integrate-and-fire voltage) may overflow before `t_b`.
        // So such a segment's path ends where it reaches the surface.
        let mut gx = N::State::zeros();
        let mut fb = N::State::zeros();
        model.event_grad(x_b, &mut gx);
        model.dynamics(params.as_slice(), x_b.as_slice(), fb.as_mut_slice());
        let rate = gx.dot(&fb).abs();
        let on_surface =
            model.event(x_b.as_slice()).abs() <= 64.0 * f64::EPSILON * t_b.abs().max(1.0) * rate;
        let event = on_surface.then_some(|z: &[f64]| model.event(&z[..d]));
        let rhs = |z: &[f64], dz: &mut [f64]| sensitivity_rhs(model, params, z, dz);
        rk.integrate_until(
            rhs,
            t_a,
            t_b,
            &mut self.z[..dim],
            options.rtol,
            options.atol,
            &mut self.h,
            options.max_steps,
            |_, _| {},
            event,
        )?;
        let lambda_b = *lambda;
        for (j, l) in lambda.as_mut_slice().iter_mut().enumerate() {
            let col = &self.z[d + j * d..d + (j + 1) * d];
            *l = col
                .iter()
                .zip(lambda_b.as_slice())
                .map(|(a, b)| a * b)
                .sum();
        }
        for (k, m) in mu.as_mut_slice().iter_mut().enumerate() {
            let col = &self.z[d + (d + k) * d..d + (d + k + 1) * d];
            *m += col
                .iter()
                .zip(lambda_b.as_slice())
                .map(|(a, b)| a * b)
                .sum::<f64>();
        }
        Ok(())
    }

    fn start_neuron(&mut self) {
        self.h = 0.0;
    }
}

/// The length of the sensitivity system's state `z = (x, Φ, S)`: `d + d² +
/// d·p` for `d` state variables and `p` parameters.
pub(crate) fn sensitivity_dim<N: NeuronModel>() -> usize {
    let d = N::State::DIM;
    d + d * d + d * N::Params::DIM
}

/// The right-hand side of the sensitivity system ([`sensitivity_rhs_w`]),
/// with the dual numbers' width chosen for the model's column count.
#[inline]
pub(crate) fn sensitivity_rhs<N: NeuronModel>(
    model: &N,
    params: &N::Params,
    z: &[f64],
    dz: &mut [f64],
) {
    // The column count is a constant of the model: the match folds to one
    // width.
    match N::State::DIM + N::Params::DIM {
        1 => sensitivity_rhs_w::<N, 1>(model, params, z, dz),
        2 => sensitivity_rhs_w::<N, 2>(model, params, z, dz),
        3 => sensitivity_rhs_w::<N, 3>(model, params, z, dz),
        4 => sensitivity_rhs_w::<N, 4>(model, params, z, dz),
        5 | 6 => sensitivity_rhs_w::<N, 6>(model, params, z, dz),
        _ => sensitivity_rhs_w::<N, 8>(model, params, z, dz),
    }
}

/// The right-hand side of the sensitivity system at `z = (x, Φ, S)` (columns
/// of `d` entries after `x`): `x' = f(x)` and, for column `c`,
/// `(∂f/∂x) z_c + (∂f/∂p) e_(c − d)` (the second term for the columns of
/// `S` only). Each evaluation of the dynamics in [`DualSVec64<W>`] carries
/// `W` columns as the directions of its dual parts, so that the value
/// parts (the model's transcendental functions) are computed once for all
/// of them; a parameter with no column in the group gets no dual part.
#[inline]
fn sensitivity_rhs_w<N: NeuronModel, const W: usize>(
    model: &N,
    params: &N::Params,
    z: &[f64],
    dz: &mut [f64],
) {
    let d = N::State::DIM;
    let cols = d + N::Params::DIM;
    // Constant lengths: no bounds checks below.
    let (z, dz) = (&z[..d + cols * d], &mut dz[..d + cols * d]);
    let zero = DualSVec64::<W>::from_re(0.0);
    let mut xd = N::State::splat(zero);
    let mut pd = N::Params::splat(zero);
    let mut fd = N::State::splat(zero);
    let mut c0 = 0;
    while c0 < cols {
        let width = W.min(cols - c0);
        for (i, v) in xd.as_mut().iter_mut().enumerate() {
            let eps = SVector::<f64, W>::from_fn(|w, _| {
                if w < width {
                    z[d + (c0 + w) * d + i]
                } else {
                    0.0
                }
            });
            *v = DualSVec64::new(z[i], Derivative::some(eps));
        }
        for (k, v) in pd.as_mut().iter_mut().enumerate() {
            // Column d + k is S's k-th: its parameter direction is e_k.
            let col = d + k;
            let eps = if (c0..c0 + width).contains(&col) {
                Derivative::derivative_generic(nalgebra::Const::<W>, nalgebra::U1, col - c0)
            } else {
                Derivative::none()
            };
            *v = DualSVec64::new(params.as_slice()[k], eps);
        }
        model.dynamics(pd.as_ref(), xd.as_ref(), fd.as_mut());
        if c0 == 0 {
            for (o, f) in dz[..d].iter_mut().zip(fd.as_ref()) {
                *o = f.re;
            }
        }
        for (i, f) in fd.as_ref().iter().enumerate() {
            match &f.eps.0 {
                Some(e) => {
                    for w in 0..width {
                        dz[d + (c0 + w) * d + i] = e[w];
                    }
                }
                // No dual part: the component depends on no direction.
                None => {
                    for w in 0..width {
                        dz[d + (c0 + w) * d + i] = 0.0;
                    }
                }
            }
        }
        c0 += W;
    }
}

/// Implements [`Adjoint`] for a backend struct by delegating to its
/// `adjoint: RkAdjoint` field (the numerical adjoint works for every model).
macro_rules! delegate_rk_adjoint {
    ($backend:ty) => {
        impl<N: evnn_neurons::NeuronModel> $crate::Adjoint<N> for $backend {
            fn propagate(
                &mut self,
                model: &N,
                params: &N::Params,
                t_a: f64,
                x_a: &N::State,
                t_b: f64,
                x_b: &N::State,
                lambda: &mut N::State,
                mu: &mut N::Params,
                options: &$crate::SolverOptions,
            ) -> Result<(), $crate::SolverError> {
                $crate::Adjoint::<N>::propagate(
                    &mut self.adjoint,
                    model,
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
                $crate::Adjoint::<N>::start_neuron(&mut self.adjoint)
            }
        }
    };
}
pub(crate) use delegate_rk_adjoint;

#[cfg(test)]
mod tests {
    use super::*;
    use evnn_neurons::{IzhikevichConstants, PIzhikevich};

    /// The sensitivity right-hand side does not depend on how many columns
    /// one dual evaluation carries (groups of 1, 2 and 4 with a partial last
    /// group, or one padded group of 8), and its columns of `Φ` are the
    /// Jacobian–vector products of the dual-number `dynamics_jvp`.
    #[test]
    fn sensitivity_rhs_is_the_same_for_every_group_width() {
        let model = PIzhikevich::new(IzhikevichConstants::default()).unwrap();
        let p = [0.3, -3.5, -1.2, 0.6];
        let (d, cols) = (3, 7);
        let n = d + cols * d;
        let z: Vec<f64> = (0..n)
            .map(|i| ((i * 7 + 3) % 11) as f64 * 0.37 - 1.9)
            .collect();
        let mut reference = vec![0.0; n];
        sensitivity_rhs_w::<PIzhikevich, 1>(&model, &p, &z, &mut reference);
        let mut dz = vec![0.0; n];
        for width in [2, 4, 8] {
            dz.fill(f64::NAN);
            match width {
                2 => sensitivity_rhs_w::<PIzhikevich, 2>(&model, &p, &z, &mut dz),
                4 => sensitivity_rhs_w::<PIzhikevich, 4>(&model, &p, &z, &mut dz),
                _ => sensitivity_rhs_w::<PIzhikevich, 8>(&model, &p, &z, &mut dz),
            }
            for (i, (got, expected)) in dz.iter().zip(&reference).enumerate() {
                assert_eq!(got, expected, "width {width}, entry {i}");
            }
        }
        let x = [z[0], z[1], z[2]];
        let mut f = [0.0; 3];
        model.dynamics(&p, &x, &mut f);
        assert_eq!(&reference[..d], &f[..]);
        for c in 0..d {
            let col = [z[d + c * d], z[d + c * d + 1], z[d + c * d + 2]];
            let mut jv = [0.0; 3];
            evnn_neurons::derived::dynamics_jvp(&model, &p, &x, &col, &mut jv);
            for i in 0..d {
                let got = reference[d + c * d + i];
                assert!(
                    (got - jv[i]).abs() <= 1e-14 * jv[i].abs().max(1.0),
                    "column {c}, entry {i}: got {got}, expected {}",
                    jv[i]
                );
            }
        }
    }
}
