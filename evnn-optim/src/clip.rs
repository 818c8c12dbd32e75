//! Gradient clipping by global norm, applied before the optimizer step.

use crate::optimizer::{check_finite, to_f64};
use crate::OptimError;
use num_traits::Float;

/// Euclidean norm `‖g‖ = √(Σ gᵢ²)` of a gradient buffer.
///
/// Summed left to right in the buffer's float type (XLA's reduction order,
/// and so optax's last bits, may differ). When the plain sum of squares
/// overflows although every entry is finite, the norm is recomputed with the
/// entries scaled by the largest magnitude, so it stays finite whenever it is
/// representable. NaN or infinite entries give a NaN or infinite norm.
///
/// # Examples
///
/// ```
/// assert_eq!(evnn_optim::global_norm(&[3.0_f64, -4.0]), 5.0);
/// assert_eq!(evnn_optim::global_norm(&[3e300_f64, 4e300]), 5e300);
/// ```
pub fn global_norm<F: Float>(grads: &[F]) -> F {
    let sum = grads.iter().fold(F::zero(), |acc, &g| acc + g * g);
    if sum.is_finite() || grads.iter().any(|g| !g.is_finite()) {
        return sum.sqrt();
    }
    let scale = grads.iter().fold(F::zero(), |m, &g| m.max(g.abs()));
    let scaled = grads.iter().fold(F::zero(), |acc, &g| {
        let s = g / scale;
        acc + s * s
    });
    scale * scaled.sqrt()
}

/// Rescales `grads` in place so that their global norm is at most
/// `max_norm`, and returns the norm before clipping.
///
/// optax's `clip_by_global_norm`: when `‖g‖ < max_norm` the gradients are
/// left untouched, otherwise each entry becomes `(gᵢ / ‖g‖) · max_norm`
/// (divide, then multiply, in that order). Apply it before
/// [`Optimizer::step`](crate::Optimizer::step), or use
/// [`Optimizer::clip_and_step`](crate::Optimizer::clip_and_step).
///
/// Errors, leaving `grads` unchanged, when `max_norm` is not finite and
/// `> 0` ([`OptimError::InvalidHyperparameter`] naming `max_norm`) or when
/// an entry is NaN or infinite ([`OptimError::NonFiniteGradient`]).
///
/// # Examples
///
/// ```
/// use evnn_optim::{clip_by_global_norm, global_norm};
///
/// let mut g = [3.0_f64, -4.0];
/// let before = clip_by_global_norm(&mut g, 1.0)?;
/// assert_eq!(before, 5.0);
/// assert_eq!(g, [0.6, -0.8]);
/// assert!((global_norm(&g) - 1.0).abs() < 1e-15);
///
/// let mut small = [0.1_f64, 0.2];
/// clip_by_global_norm(&mut small, 1.0)?;
/// assert_eq!(small, [0.1, 0.2]);
/// # Ok::<(), evnn_optim::OptimError>(())
/// ```
pub fn clip_by_global_norm<F: Float>(grads: &mut [F], max_norm: F) -> Result<F, OptimError> {
    if !(max_norm.is_finite() && max_norm > F::zero()) {
        return Err(OptimError::InvalidHyperparameter {
            name: "max_norm",
            value: to_f64(max_norm),
            reason: "must be finite and > 0",
        });
    }
    let norm = global_norm(grads);
    if !norm.is_finite() {
        // A finite buffer has a finite norm (see `global_norm`), so this
        // reports the culprit.
        check_finite(grads)?;
    }
    if norm >= max_norm {
        for g in grads.iter_mut() {
            *g = (*g / norm) * max_norm;
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn above_threshold_norm_becomes_max_norm() {
        let mut g = [1.0_f64, -2.0, 3.0, 0.5, -7.25];
        let norm = (1.0_f64 + 4.0 + 9.0 + 0.25 + 52.5625).sqrt();
        let before = clip_by_global_norm(&mut g, 2.5).unwrap();
        assert_eq!(before, norm);
        assert_relative_eq!(global_norm(&g), 2.5, max_relative = 1e-15);
        // Direction preserved.
        assert_relative_eq!(g[4] / g[0], -7.25, max_relative = 1e-15);
    }

    #[test]
    fn below_threshold_unchanged_bitwise() {
        let orig = [0.1_f64, -0.2, 0.3];
        let mut g = orig;
        let norm = clip_by_global_norm(&mut g, 1.0).unwrap();
        assert_relative_eq!(norm, 0.14_f64.sqrt(), max_relative = 1e-15);
        assert_eq!(g.map(f64::to_bits), orig.map(f64::to_bits));
    }

    #[test]
    fn works_in_f32() {
        let mut g = [30.0_f32, 40.0];
        assert_eq!(clip_by_global_norm(&mut g, 5.0).unwrap(), 50.0);
        assert_eq!(g, [3.0, 4.0]);
    }

    #[test]
    fn empty_and_zero_buffers_are_unchanged() {
        let mut e: [f64; 0] = [];
        assert_eq!(clip_by_global_norm(&mut e, 1.0).unwrap(), 0.0);
        let mut z = [0.0_f64; 4];
        assert_eq!(clip_by_global_norm(&mut z, 1.0).unwrap(), 0.0);
        assert_eq!(z, [0.0; 4]);
    }

    #[test]
    fn overflowing_sum_of_squares_still_clips() {
        let mut g = [3e200_f64, -4e200];
        assert_relative_eq!(
            clip_by_global_norm(&mut g, 1.0).unwrap(),
            5e200,
            max_relative = 1e-15
        );
        assert_relative_eq!(g[0], 0.6, max_relative = 1e-15);
        assert_relative_eq!(g[1], -0.8, max_relative = 1e-15);
    }

    #[test]
    fn bad_max_norm_is_an_error() {
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            let mut g = [1.0, 2.0];
            let err = clip_by_global_norm(&mut g, bad).unwrap_err();
            match err {
                OptimError::InvalidHyperparameter { name, value, .. } => {
                    assert_eq!(name, "max_norm");
                    assert!(value == bad || (value.is_nan() && bad.is_nan()));
                }
                other => panic!("max_norm = {bad}: got {other:?}"),
            }
            assert_eq!(g, [1.0, 2.0]);
        }
    }

    #[test]
    fn non_finite_gradient_is_an_error_and_untouched() {
        let mut g = [1e3, f64::NEG_INFINITY, f64::NAN];
        let err = clip_by_global_norm(&mut g, 1.0).unwrap_err();
        assert_eq!(
            err,
            OptimError::NonFiniteGradient {
                index: 1,
                value: f64::NEG_INFINITY
            }
        );
        assert_eq!(g[0], 1e3);
    }

    proptest! {
        #[test]
        fn clipped_norm_is_min_of_norm_and_max_norm(
            g in prop::collection::vec(-1e3_f64..1e3, 1..20),
            max_norm in 1e-3_f64..1e3,
        ) {
            let mut c = g.clone();
            let before = clip_by_global_norm(&mut c, max_norm).unwrap();
            prop_assert_eq!(before, global_norm(&g));
            let after = global_norm(&c);
            if before < max_norm {
                prop_assert_eq!(&c, &g);
            } else {
                prop_assert!((after - max_norm).abs() <= 1e-13 * max_norm, "{} vs {}", after, max_norm);
                for (c, g) in c.iter().zip(&g) {
                    prop_assert!(c * g >= 0.0, "sign flipped: {} from {}", c, g);
                }
            }
        }
    }
}
