//! Errors of the neuron-model crate.

/// Errors raised when a neuron model or its parameters are invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NeuronError {
    /// A constant of a model is outside its valid range (for example a
    /// non-positive time constant, or a NaN).
    #[error("invalid {model} constant `{name}` = {value}: {reason}")]
    InvalidConstant {
        /// Model name (`"LIF"`, `"QIF"`, ...).
        model: &'static str,
        /// Name of the constant.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the constant must satisfy.
        reason: &'static str,
    },
    /// A learnable per-neuron parameter is not finite.
    #[error("invalid {model} parameter `{name}` = {value}: must be finite")]
    InvalidParameter {
        /// Model name.
        model: &'static str,
        /// Name of the parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// An analytic derivative of a model disagrees with finite differences
    /// (reported by [`check_derivatives`](crate::check_derivatives)).
    #[error(
        "{model}: {what} entry ({row}, {col}) is {analytic}, finite differences give {numeric}"
    )]
    DerivativeMismatch {
        /// Model name.
        model: &'static str,
        /// Which derivative (for example `"dynamics d f/d x"`).
        what: &'static str,
        /// Row of the Jacobian entry (output component).
        row: usize,
        /// Column of the Jacobian entry (input component).
        col: usize,
        /// The model's value.
        analytic: f64,
        /// The central-difference value.
        numeric: f64,
    },
}
