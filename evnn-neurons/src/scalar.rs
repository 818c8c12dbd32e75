//! The scalar type a model's equations are written in.
//!
//! A model writes its dynamics, event function and jumps once, generic over
//! a [`Scalar`]. The solver evaluates them with `f64`; the derivatives the
//! solver and the EventProp adjoint need are derived by evaluating the same
//! code with forward-mode dual numbers ([`Dual64`]), which carry the exact
//! derivative along with the value (no finite differences).

use num_dual::Dual;
pub use num_dual::{Dual64, DualNum};
use std::f64::consts::PI;

/// A real number or a dual number over `f64`: what a model's equations
/// compute with.
///
/// Everything of num-dual's [`DualNum`] is available: `+ − × ÷` between
/// scalars and with `f64` on the right (`x * 2.0`, `x - theta`), `exp`,
/// `ln`, `powi`, `powf`, `sqrt`, `sin`, `tanh`, … (called as methods,
/// `x.exp()`). A constant becomes a scalar with `T::from(c)`; write
/// `T::from(c) - x` (or `-x + c`) for a constant on the left. Comparisons
/// (`x > T::from(c)`, `x.re()`) see the value only, so code that branches on
/// the state is differentiated piecewise, like any automatic
/// differentiation.
///
/// Implemented for `f64` and for [`Dual64`] (and duals of duals).
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Dual64, Scalar};
///
/// // f(v) = v² e^{v}, written once ...
/// fn f<T: Scalar>(v: T) -> T {
///     v * v * v.exp()
/// }
/// // ... evaluated with f64, and with a dual number for f'(v) = (2v + v²) e^{v}.
/// assert_eq!(f(1.5), 1.5 * 1.5 * 1.5f64.exp());
/// let d = f(Dual64::new(1.5, 1.0));
/// assert!((d.eps - (3.0 + 2.25) * 1.5f64.exp()).abs() < 1e-13);
/// ```
pub trait Scalar: DualNum<Primitive = f64> + Copy + Send + Sync {
    /// `(sin πx, cos πx)`, exact to round-off (for `f64`, the argument is
    /// reduced before the multiplication by π, so whole and half turns give
    /// exact zeros).
    fn sin_cos_pi(self) -> (Self, Self);
}

impl Scalar for f64 {
    #[inline]
    fn sin_cos_pi(self) -> (f64, f64) {
        crate::math::sin_cos_pi(self)
    }
}

impl<T: Scalar> Scalar for Dual<T> {
    #[inline]
    fn sin_cos_pi(self) -> (Self, Self) {
        let (s, c) = self.re.sin_cos_pi();
        let d = self.eps * PI;
        (Dual::new(s, c * d), Dual::new(c, -(s * d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_cos_pi_of_duals_carries_the_derivative() {
        for x in [-1.3, -0.5, 0.0, 0.25, 0.7, 1.0, 2.6] {
            let (s, c) = Dual64::new(x, 1.0).sin_cos_pi();
            let (s0, c0) = (PI * x).sin_cos();
            assert!((s.re - s0).abs() < 1e-15 && (c.re - c0).abs() < 1e-15);
            assert!((s.eps - PI * c0).abs() < 1e-14, "{x}: {}", s.eps);
            assert!((c.eps + PI * s0).abs() < 1e-14, "{x}: {}", c.eps);
        }
    }
}
