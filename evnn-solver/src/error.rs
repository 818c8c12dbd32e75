//! Errors of the solver crate.

use evnn_neurons::NeuronError;

/// Everything that can go wrong when simulating one neuron.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SolverError {
    /// An input spike time is NaN, infinite or negative.
    #[error("input spike {index} has invalid time {time}: must be finite and >= 0")]
    InvalidInputTime {
        /// Position in the input list.
        index: usize,
        /// The offending time.
        time: f64,
    },
    /// Input spikes are not sorted by time.
    #[error("input spikes are not sorted: spike {index} at t = {time} comes after t = {previous}")]
    UnsortedInputs {
        /// Position of the first out-of-order spike.
        index: usize,
        /// Its time.
        time: f64,
        /// The time of the spike before it.
        previous: f64,
    },
    /// An input weight is NaN or infinite.
    #[error("input spike {index} has invalid weight {weight}: must be finite")]
    InvalidWeight {
        /// Position in the input list.
        index: usize,
        /// The offending weight.
        weight: f64,
    },
    /// The end time is not finite and positive.
    #[error("invalid end time t_end = {t_end}: must be finite and > 0")]
    InvalidEndTime {
        /// The offending end time.
        t_end: f64,
    },
    /// A solver option is out of range.
    #[error("invalid solver option `{name}` = {value}: {reason}")]
    InvalidOption {
        /// Option name.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What it must satisfy.
        reason: &'static str,
    },
    /// The model or its parameters are invalid.
    #[error(transparent)]
    Model(#[from] NeuronError),
    /// The initial state already lies on or above the event surface.
    #[error("the initial state {state:?} has event function g = {g} >= 0")]
    InitialStateAboveThreshold {
        /// The initial state.
        state: Vec<f64>,
        /// Its event function value.
        g: f64,
    },
    /// A reset left the state on or above the event surface (`g(h(x)) >= 0`)
    /// after a spike found between inputs, which would make the neuron
    /// spike again at the same instant; or, after a spike that an input's
    /// jump caused, left it there without lowering the event function, so
    /// that the spikes at that instant would never end.
    #[error("the reset at t = {t} leaves g = {g} >= 0 (state {state:?})")]
    ResetAboveThreshold {
        /// Time of the spike.
        t: f64,
        /// Event function after the reset.
        g: f64,
        /// State after the reset.
        state: Vec<f64>,
    },
    /// The state became NaN or infinite.
    #[error("the state became non-finite at t = {t}: {state:?}")]
    NonFiniteState {
        /// Time of the step that produced it.
        t: f64,
        /// The state.
        state: Vec<f64>,
    },
    /// The neuron spiked more often than allowed.
    #[error("spike limit reached: more than {limit} spikes by t = {t}")]
    SpikeLimit {
        /// The configured limit.
        limit: usize,
        /// Time of the spike that exceeded it.
        t: f64,
    },
    /// The integrator took more steps than allowed.
    #[error("step limit reached: more than {limit} steps by t = {t}")]
    StepLimit {
        /// The configured limit.
        limit: usize,
        /// Time reached.
        t: f64,
    },
    /// The step size fell below the smallest representable increment of `t`.
    #[error("step size underflow at t = {t}: h = {h}")]
    StepSizeUnderflow {
        /// Time reached.
        t: f64,
        /// The step size.
        h: f64,
    },
    /// An error reported by the integrator backend (diffsol).
    #[error("integrator backend failed at t = {t}: {message}")]
    Backend {
        /// Time reached.
        t: f64,
        /// The backend's message.
        message: String,
    },
    /// An input that became known lies before the horizon promised earlier
    /// ([`NeuronRun::advance`](crate::NeuronRun::advance)'s `known_until`).
    #[error("input spike {index} at t = {time} became known after every input before t = {known_until} was said to be known")]
    InputBeforeHorizon {
        /// Position in the input list.
        index: usize,
        /// Its time.
        time: f64,
        /// The horizon promised before it was known.
        known_until: f64,
    },
    /// The entries of one synapse of a model with several weights per
    /// synapse (`NeuronModel::WEIGHTS_PER_SYNAPSE` consecutive input
    /// spikes) have different times.
    #[error(
        "input spike {index} at t = {time} belongs to a synapse at t = {expected}: \
         the weights of one synapse must share its time"
    )]
    SplitSynapse {
        /// Position of the entry in the input list.
        index: usize,
        /// Its time.
        time: f64,
        /// The time of the synapse's first entry.
        expected: f64,
    },
    /// A buffer handed to the solver has the wrong length.
    #[error("shape mismatch for {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Which buffer.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A loss sensitivity handed to the adjoint is NaN or infinite.
    #[error("non-finite sensitivity {what}[{index}] = {value}")]
    NonFiniteSensitivity {
        /// Which sensitivity.
        what: &'static str,
        /// Its index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A search on the event function did not converge within its
    /// iteration limit (possible only when the event function and its
    /// gradient `g_x` disagree, as in a user model whose `event_grad` is
    /// not the derivative of its `event`, or for an event function that is
    /// not smooth).
    #[error(
        "the search for the {what} in [{t_lo}, {t_hi}] did not converge in {iterations} iterations"
    )]
    RootNotConverged {
        /// What was searched: the spike time, or the maximum of the event
        /// function within a step.
        what: &'static str,
        /// Start of the bracket when the search stopped.
        t_lo: f64,
        /// End of the bracket when the search stopped.
        t_hi: f64,
        /// The iteration limit.
        iterations: usize,
    },
    /// A spike's crossing is not transversal (`g_x · f⁻ <= 0`, a graze), so
    /// its time has no derivative.
    #[error("spike at t = {t} is not a transversal crossing (slope g_x·f = {slope}): its gradient is undefined")]
    DegenerateSpike {
        /// Spike time.
        t: f64,
        /// `g_x · f⁻`.
        slope: f64,
    },
    /// A time at which a run's state was asked for lies outside its
    /// simulated interval `[0, t_end]` (or is not a number).
    #[error("state asked for at t = {t}, outside the run's interval [0, {t_end}]")]
    QueryTimeOutOfRange {
        /// The time asked for.
        t: f64,
        /// End of the run's simulated interval.
        t_end: f64,
    },
}
