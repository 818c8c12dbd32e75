//! The optimizer interface and the checks every optimizer shares.

use crate::{clip_by_global_norm, OptimError, Schedule};
use num_traits::Float;
use serde::{de::DeserializeOwned, Serialize};

/// A first-order optimizer over one flat parameter buffer.
///
/// The optimizer owns its hyper-parameters, its learning-rate [`Schedule`]
/// and its state (moments and step count) for exactly
/// [`num_params`](Optimizer::num_params) parameters; the caller owns the
/// parameters and the gradients. [`step`](Optimizer::step) updates the
/// parameters in place and allocates nothing.
///
/// A step either succeeds or changes nothing: wrong buffer lengths
/// ([`OptimError::ShapeMismatch`]) and NaN or infinite gradients
/// ([`OptimError::NonFiniteGradient`]) are reported before any parameter or
/// state entry is written.
///
/// The state is a separate serializable struct ([`state`](Optimizer::state),
/// [`set_state`](Optimizer::set_state)); saving it, loading it into an
/// optimizer built from the same config and stepping gives bit-identical
/// parameters. The optimizers themselves also implement serde (config and
/// state together).
///
/// # Examples
///
/// Minimise `f(x) = ½‖x − c‖²`, whose gradient is `x − c`, with any
/// optimizer:
///
/// ```
/// use evnn_optim::{AdamConfig, OptimError, Optimizer, SgdConfig};
///
/// fn minimise(opt: &mut impl Optimizer<f64>, x: &mut [f64], c: &[f64], steps: usize) -> Result<(), OptimError> {
///     let mut g = vec![0.0; x.len()];
///     for _ in 0..steps {
///         for ((g, x), c) in g.iter_mut().zip(x.iter()).zip(c) {
///             *g = x - c;
///         }
///         opt.step(x, &g)?;
///     }
///     Ok(())
/// }
///
/// let c = [1.0, -2.0, 0.5];
/// let mut x = [0.0; 3];
/// let mut sgd = SgdConfig::default().with_learning_rate(0.1).with_momentum(0.5).build(3)?;
/// minimise(&mut sgd, &mut x, &c, 200)?;
/// assert!(x.iter().zip(&c).all(|(x, c)| (x - c).abs() < 1e-9));
/// assert_eq!(sgd.step_count(), 200);
///
/// let mut adam = AdamConfig::default().with_learning_rate(0.05).build(3)?;
/// let mut y = [0.0; 3];
/// minimise(&mut adam, &mut y, &c, 2000)?;
/// assert!(y.iter().zip(&c).all(|(y, c)| (y - c).abs() < 1e-2));
///
/// // A NaN gradient is refused and nothing moves.
/// let before = y;
/// let err = adam.step(&mut y, &[0.0, f64::NAN, 0.0]).unwrap_err();
/// assert!(matches!(err, OptimError::NonFiniteGradient { index: 1, .. }));
/// assert_eq!(y, before);
/// # Ok::<(), OptimError>(())
/// ```
pub trait Optimizer<F: Float> {
    /// The optimizer's mutable state (moments and step count), as saved and
    /// loaded.
    type State: Clone + Serialize + DeserializeOwned;

    /// Updates `params` in place from `grads` (`∂loss/∂params`, same length)
    /// and advances the step count.
    ///
    /// On error nothing is changed: neither `params` nor the state.
    fn step(&mut self, params: &mut [F], grads: &[F]) -> Result<(), OptimError>;

    /// Number of parameters the state was built for.
    fn num_params(&self) -> usize;

    /// Number of steps taken so far (optax's `count`).
    fn step_count(&self) -> u64;

    /// The learning-rate schedule.
    fn schedule(&self) -> &Schedule;

    /// The current state, for saving.
    fn state(&self) -> &Self::State;

    /// Replaces the state, for loading; errors if its buffers do not have
    /// [`num_params`](Optimizer::num_params) entries or hold impossible
    /// values, and then leaves the current state in place.
    fn set_state(&mut self, state: Self::State) -> Result<(), OptimError>;

    /// Learning rate the next step will use, `schedule().lr(step_count())`.
    fn learning_rate(&self) -> f64 {
        self.schedule().lr(self.step_count())
    }

    /// Clips `grads` to global norm `max_norm` in place (see
    /// [`clip_by_global_norm`]), then takes a step; returns the gradient norm
    /// before clipping.
    ///
    /// Shapes, `max_norm` and gradient finiteness are checked before anything
    /// is written, so on error `grads`, `params` and the state are unchanged.
    fn clip_and_step(
        &mut self,
        params: &mut [F],
        grads: &mut [F],
        max_norm: F,
    ) -> Result<F, OptimError> {
        check_shapes(self.num_params(), params.len(), grads.len())?;
        let norm = clip_by_global_norm(grads, max_norm)?;
        self.step(params, grads)?;
        Ok(norm)
    }
}

/// Errors unless both buffers have `expected` entries.
pub(crate) fn check_shapes(expected: usize, params: usize, grads: usize) -> Result<(), OptimError> {
    if params != expected {
        return Err(OptimError::ShapeMismatch {
            what: "params",
            expected,
            got: params,
        });
    }
    if grads != expected {
        return Err(OptimError::ShapeMismatch {
            what: "grads",
            expected,
            got: grads,
        });
    }
    Ok(())
}

/// Errors at the first non-finite gradient entry.
pub(crate) fn check_finite<F: Float>(grads: &[F]) -> Result<(), OptimError> {
    match grads.iter().position(|g| !g.is_finite()) {
        None => Ok(()),
        Some(index) => Err(OptimError::NonFiniteGradient {
            index,
            value: to_f64(grads[index]),
        }),
    }
}

/// Errors at the first entry of a loaded state buffer that is not finite (or,
/// with `non_negative`, is negative).
pub(crate) fn check_state<F: Float>(
    what: &'static str,
    buf: &[F],
    expected: usize,
    non_negative: bool,
) -> Result<(), OptimError> {
    if buf.len() != expected {
        return Err(OptimError::ShapeMismatch {
            what,
            expected,
            got: buf.len(),
        });
    }
    for (index, &x) in buf.iter().enumerate() {
        if !x.is_finite() {
            return Err(OptimError::InvalidState {
                what,
                index,
                value: to_f64(x),
                reason: "must be finite",
            });
        }
        if non_negative && x < F::zero() {
            return Err(OptimError::InvalidState {
                what,
                index,
                value: to_f64(x),
                reason: "must be >= 0",
            });
        }
    }
    Ok(())
}

/// Converts a hyper-parameter to the parameter float type.
pub(crate) fn to_float<F: Float>(name: &'static str, value: f64) -> Result<F, OptimError> {
    F::from(value).ok_or(OptimError::InvalidHyperparameter {
        name,
        value,
        reason: "not representable in the parameter float type",
    })
}

/// The step count as a float (exact below 2⁵³ for `f64`, 2²⁴ for `f32`).
pub(crate) fn count_to_float<F: Float>(count: u64) -> Result<F, OptimError> {
    F::from(count).ok_or(OptimError::InvalidHyperparameter {
        name: "step",
        value: count as f64,
        reason: "not representable in the parameter float type",
    })
}

pub(crate) fn to_f64<F: Float>(x: F) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

/// Errors unless `value ∈ [0, 1)`.
pub(crate) fn unit_interval(name: &'static str, value: f64) -> Result<(), OptimError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            name,
            value,
            reason: "must be in [0, 1)",
        })
    }
}

/// Errors unless `value` is finite and `≥ 0`.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<(), OptimError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            name,
            value,
            reason: "must be finite and >= 0",
        })
    }
}
