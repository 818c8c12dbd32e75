//! Errors of the optimizer crate.

/// Errors raised by optimizer configs, schedules, clipping and steps.
///
/// Every variant names the offending value, so a bad config file or a
/// diverging gradient can be traced without a debugger.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A hyper-parameter is outside its valid range (for example a learning
    /// rate `≤ 0` or NaN, `b1 ∉ [0, 1)`, a negative `eps`).
    #[error("invalid hyper-parameter `{name}` = {value}: {reason}")]
    InvalidHyperparameter {
        /// Name of the hyper-parameter, as spelled in the config.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// A warm-up schedule whose warm-up is not shorter than the whole
    /// schedule (`warmup_steps ≥ decay_steps` leaves no steps to decay over).
    #[error(
        "warm-up of {warmup_steps} steps is not shorter than the schedule of {decay_steps} steps"
    )]
    WarmupTooLong {
        /// Length of the linear warm-up, in steps.
        warmup_steps: u64,
        /// Total length of the schedule (warm-up included), in steps.
        decay_steps: u64,
    },
    /// A buffer does not have the length the optimizer state was built for.
    #[error("{what} has length {got}, expected {expected}")]
    ShapeMismatch {
        /// Which buffer (`"params"`, `"grads"`, `"state.m"`, ...).
        what: &'static str,
        /// Length the optimizer was built for.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// A gradient entry is NaN or infinite; nothing was updated.
    #[error("gradient entry {index} is not finite: {value}")]
    NonFiniteGradient {
        /// Index of the first non-finite entry.
        index: usize,
        /// Its value (NaN or ±∞).
        value: f64,
    },
    /// A loaded optimizer state holds an impossible value (a non-finite
    /// moment or a negative second moment).
    #[error("invalid optimizer state: {what}[{index}] = {value}: {reason}")]
    InvalidState {
        /// Which buffer of the state (`"m"`, `"v"`, `"trace"`).
        what: &'static str,
        /// Index of the first bad entry.
        index: usize,
        /// Its value.
        value: f64,
        /// What the entry must satisfy.
        reason: &'static str,
    },
}
