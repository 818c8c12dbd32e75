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
    /// A learnable per-neuron parameter is finite but outside the range the
    /// model accepts (for example the logarithm of a time constant so large
    /// that the time constant overflows).
    #[error("invalid {model} parameter `{name}` = {value}: {reason}")]
    ParameterOutOfRange {
        /// Model name.
        model: &'static str,
        /// Name of the parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the parameter must satisfy.
        reason: &'static str,
    },
    /// A derivative derived from a model's equations disagrees with finite
    /// differences of the same equations (reported by
    /// [`check_derivatives`](crate::check_derivatives)): the equations are
    /// not smooth at the checked point.
    #[error(
        "{model}: {what} entry ({row}, {col}) is {analytic}, finite differences give {numeric}"
    )]
    DerivativeMismatch {
        /// Model name.
        model: &'static str,
        /// Which derivative (for example `"dynamics_vjp d f/d x"`).
        what: &'static str,
        /// Row of the Jacobian entry (output component).
        row: usize,
        /// Column of the Jacobian entry (input component).
        col: usize,
        /// The derived value.
        analytic: f64,
        /// The central-difference value.
        numeric: f64,
    },
    /// A model's hand-written derivative disagrees with the one derived from
    /// its equations (reported by
    /// [`check_derivatives`](crate::check_derivatives)).
    #[error(
        "{model}: the hand-written {what} entry ({row}, {col}) is {given}, \
         the derivative of the equations is {derived}"
    )]
    OverrideMismatch {
        /// Model name.
        model: &'static str,
        /// Which derivative method (for example `"reset_vjp d h/d x"`).
        what: &'static str,
        /// Row of the Jacobian entry (output component).
        row: usize,
        /// Column of the Jacobian entry (input component).
        col: usize,
        /// The model's (hand-written) value.
        given: f64,
        /// The value derived by dual numbers.
        derived: f64,
    },
    /// One of a model's equations gives NaN or ±∞ at the checked point
    /// (reported by [`check_derivatives`](crate::check_derivatives)).
    #[error("{model}: {what} is {value} at the checked point")]
    NonFiniteEquation {
        /// Model name.
        model: &'static str,
        /// Which equation or input (for example `"dynamics f(x, p)"`).
        what: &'static str,
        /// The non-finite value.
        value: f64,
    },
}

/// `value` when it is finite and `> 0`, else an
/// [`InvalidConstant`](NeuronError::InvalidConstant) error naming it.
pub(crate) fn positive(
    model: &'static str,
    name: &'static str,
    value: f64,
) -> Result<f64, NeuronError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(NeuronError::InvalidConstant {
            model,
            name,
            value,
            reason: "must be finite and > 0",
        })
    }
}

/// `value` when it is finite, else an
/// [`InvalidConstant`](NeuronError::InvalidConstant) error naming it.
pub(crate) fn finite(
    model: &'static str,
    name: &'static str,
    value: f64,
) -> Result<f64, NeuronError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(NeuronError::InvalidConstant {
            model,
            name,
            value,
            reason: "must be finite",
        })
    }
}

/// `Ok` when `holds`, else an [`InvalidConstant`](NeuronError::InvalidConstant)
/// error naming `value` and saying what it must satisfy.
pub(crate) fn require(
    holds: bool,
    model: &'static str,
    name: &'static str,
    value: f64,
    reason: &'static str,
) -> Result<(), NeuronError> {
    if holds {
        Ok(())
    } else {
        Err(NeuronError::InvalidConstant {
            model,
            name,
            value,
            reason,
        })
    }
}

/// The largest `|log τ|` a learnable logarithm may have: `e^{±700}` and its
/// inverse are finite and normal.
pub(crate) const MAX_LOG: f64 = 700.0;

/// Checks learnable parameters of which those from index `first_log` on are
/// logarithms: every value finite, the logarithms at most [`MAX_LOG`] in
/// magnitude.
pub(crate) fn check_log_params(
    model: &'static str,
    names: &[&'static str],
    p: &[f64],
    first_log: usize,
) -> Result<(), NeuronError> {
    for (k, &value) in p.iter().enumerate() {
        let name = names.get(k).copied().unwrap_or("p");
        if !value.is_finite() {
            return Err(NeuronError::InvalidParameter { model, name, value });
        }
        if k >= first_log && value.abs() > MAX_LOG {
            return Err(NeuronError::ParameterOutOfRange {
                model,
                name,
                value,
                reason: "a logarithm must be within [-700, 700]",
            });
        }
    }
    Ok(())
}
