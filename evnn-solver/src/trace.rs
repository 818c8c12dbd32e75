//! The record of one neuron run: spike times and the event log.

use serde::{Deserialize, Serialize};

/// One input spike of a neuron: its arrival time and synaptic weight.
///
/// A model whose synapses carry `K > 1` weights
/// ([`NeuronModel::WEIGHTS_PER_SYNAPSE`](evnn_neurons::NeuronModel::WEIGHTS_PER_SYNAPSE))
/// takes one spike through a synapse as `K` consecutive entries of one
/// time, with the synapse's weights in order: the input list's length is
/// a multiple of `K`, events name a synapse's first entry, and its
/// [`NeuronGradient`](crate::NeuronGradient) has `dL/dw_k` in entry `k`
/// of the synapse and the time's gradient in its first entry (zero in
/// the others). Models with one weight per synapse, every built-in one
/// but EGRU, take one entry per spike.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpike {
    /// Arrival time (finite, `>= 0`).
    pub time: f64,
    /// Weight `w` of the input jump (finite).
    pub weight: f64,
}

impl InputSpike {
    /// An input spike at `time` with `weight`.
    pub fn new(time: f64, weight: f64) -> Self {
        InputSpike { time, weight }
    }
}

/// What happened at an [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// Input spike number `index` of the input list arrived.
    Input {
        /// Position in the input list handed to the solver.
        index: usize,
    },
    /// The neuron spiked (its `k`-th own spike, counting from 0): the
    /// event function crossed zero between inputs.
    Spike {
        /// Number of the spike.
        k: usize,
    },
    /// The neuron spiked at the instant of input `index`, whose jump left
    /// the event function at or above zero (its `k`-th own spike). It
    /// follows that input's [`Input`](Self::Input) event (or the jump
    /// spike before it, when one jump takes several resets to bring the
    /// state below the event surface); `x⁻` is the state after the jump
    /// (or the previous reset), `x⁺` after the reset. Its time is the
    /// input's: it moves with the input's time and with nothing else.
    JumpSpike {
        /// Number of the spike.
        k: usize,
        /// Position of the causing input in the input list.
        index: usize,
    },
    /// Input spike number `index` arrived during a refractory period
    /// ([`NeuronModel::refractory_period`](evnn_neurons::NeuronModel::refractory_period))
    /// and was blocked: no jump, `x⁻ = x⁺` (the state frozen at the
    /// reset), `f⁻ = f⁺ = 0`. Its EventProp gradient is zero.
    Blocked {
        /// Position in the input list handed to the solver.
        index: usize,
    },
    /// The refractory period after own spike `k` ended, at `t_k + t_ref`
    /// exactly: `x⁻ = x⁺` is the state the spike's reset left, `f⁻ = 0`
    /// (frozen) and `f⁺ = f(x⁺)` (the free dynamics resume). Logged only
    /// when it comes before `t_end`.
    RefractoryEnd {
        /// Number of the spike whose period ended.
        k: usize,
    },
}

/// One entry of the event log: the state `x` and its derivative `f` just
/// before (`⁻`) and just after (`⁺`) the jump at time `t`. This is all the
/// EventProp adjoint needs at an event.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event<S> {
    /// Event time.
    pub t: f64,
    /// Input or own spike.
    pub kind: EventKind,
    /// State just before the jump, `x⁻`.
    pub x_minus: S,
    /// State just after the jump, `x⁺`.
    pub x_plus: S,
    /// `f(x⁻)`.
    pub f_minus: S,
    /// `f(x⁺)`.
    pub f_plus: S,
}

/// The result of simulating one neuron from `t = 0` to `t_end`.
///
/// Buffers are reused when the same trace is passed to
/// [`EventSolver::simulate_into`](crate::EventSolver::simulate_into) again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronTrace<S> {
    /// Own spike times, non-decreasing (spikes caused by input jumps at one
    /// instant share its time).
    pub spikes: Vec<f64>,
    /// Every input and own spike in time order (an own spike found between
    /// inputs at the same time as an input comes first: it was reached
    /// before the input's jump; a spike that an input's jump causes comes
    /// right after that input), and for a model with a refractory period
    /// the inputs it blocked and the ends of the periods (the end of a
    /// period comes before an input at its instant, which is applied).
    pub events: Vec<Event<S>>,
    /// End of the simulated interval.
    pub t_end: f64,
    /// State at `t_end` (inputs at `t >= t_end` are not applied).
    pub x_end: S,
    /// Integrator steps taken (accepted steps; 1 per segment for exact backends).
    pub steps: usize,
    /// Each event-free segment's sensitivities, when the backend logged
    /// them ([`Backend::log_sensitivities`](crate::Backend::log_sensitivities));
    /// empty otherwise ([`sensitivities`](Self::sensitivities)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sensitivities: Vec<f64>,
}

/// How far a [`NeuronTrace`] had come ([`NeuronTrace::mark`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceMark<S> {
    spikes: usize,
    events: usize,
    t_end: f64,
    x_end: S,
    steps: usize,
    sensitivities: usize,
}

impl<S: Copy> NeuronTrace<S> {
    /// An empty trace whose state fields hold `x0`.
    pub fn new(x0: S) -> Self {
        NeuronTrace {
            spikes: Vec::new(),
            events: Vec::new(),
            t_end: 0.0,
            x_end: x0,
            steps: 0,
            sensitivities: Vec::new(),
        }
    }

    /// The sensitivities of the event-free segments that the backend
    /// logged with the run ([`Backend::log_sensitivities`](crate::Backend::log_sensitivities)),
    /// empty when it logged none: for each segment `[t_a, t_b]` from a
    /// restart of the integration (the start, an input, a spike's reset,
    /// the end of a refractory period) to the next or to the end, in time
    /// order, `2 + d² + d·p` numbers (`d` state variables, `p`
    /// parameters): `t_a`, `t_b`, then `Φ = ∂x(t_b⁻)/∂x(t_a⁺)` and
    /// `S = ∂x(t_b⁻)/∂p` column by column. Segments of zero length (several
    /// events at one instant) and refractory periods (`Φ = I`, `S = 0`)
    /// have entries too; a segment whose sensitivities overflowed has none.
    /// The adjoint ([`run_adjoint`](crate::run_adjoint)) takes a segment's
    /// `Φ` and `S` from here when it finds the segment with the same ends,
    /// and integrates them otherwise.
    pub fn sensitivities(&self) -> &[f64] {
        &self.sensitivities
    }

    /// A mark of how far the trace has come, to [`rewind`](Self::rewind)
    /// it to: for a caller that steps a run speculatively and may take the
    /// steps back (a recurrent layer's look-ahead in `evnn-net`).
    pub fn mark(&self) -> TraceMark<S> {
        TraceMark {
            spikes: self.spikes.len(),
            events: self.events.len(),
            t_end: self.t_end,
            x_end: self.x_end,
            steps: self.steps,
            sensitivities: self.sensitivities.len(),
        }
    }

    /// Puts the trace back where it was at `mark` (taken of this trace,
    /// which has only grown since): what was logged after it is dropped.
    pub fn rewind(&mut self, mark: &TraceMark<S>) {
        self.spikes.truncate(mark.spikes);
        self.events.truncate(mark.events);
        self.t_end = mark.t_end;
        self.x_end = mark.x_end;
        self.steps = mark.steps;
        self.sensitivities.truncate(mark.sensitivities);
    }

    pub(crate) fn clear(&mut self, x0: S) {
        self.spikes.clear();
        self.events.clear();
        self.t_end = 0.0;
        self.x_end = x0;
        self.steps = 0;
        self.sensitivities.clear();
    }
}
