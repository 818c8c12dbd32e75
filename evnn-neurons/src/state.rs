//! Fixed-size vectors for neuron states and per-neuron parameters.

use std::fmt::Debug;

/// A fixed-size vector of `f64` used as a neuron's state `x` or its learnable
/// per-neuron parameters `p`.
///
/// Implemented for `[f64; N]`, which is what every built-in model uses. The
/// solver only needs slice access and a zero value, so its per-step arithmetic
/// compiles to straight-line code once `N` is known.
///
/// # Examples
///
/// ```
/// use evnn_neurons::StateVector;
///
/// let mut x = <[f64; 2]>::zeros();
/// x.as_mut_slice()[1] = 3.0;
/// assert_eq!(x.as_slice(), &[0.0, 3.0]);
/// assert_eq!(<[f64; 2] as StateVector>::DIM, 2);
/// assert!(x.is_finite());
/// ```
pub trait StateVector:
    Copy + Debug + PartialEq + Send + Sync + AsRef<[f64]> + AsMut<[f64]> + 'static
{
    /// Number of components.
    const DIM: usize;
    /// A vector of the same length over another scalar type (for example
    /// dual numbers, when a model's derivatives are derived).
    type Of<T: Copy>: Copy + AsRef<[T]> + AsMut<[T]>;
    /// The vector of [`Self::Of`] with every component `value`.
    fn splat<T: Copy>(value: T) -> Self::Of<T>;
    /// The zero vector.
    fn zeros() -> Self;
    /// The components as a slice of length [`Self::DIM`].
    fn as_slice(&self) -> &[f64];
    /// The components as a mutable slice of length [`Self::DIM`].
    fn as_mut_slice(&mut self) -> &mut [f64];
    /// Builds a vector from a slice; `None` when the length is not [`Self::DIM`].
    fn from_slice(values: &[f64]) -> Option<Self> {
        if values.len() != Self::DIM {
            return None;
        }
        let mut out = Self::zeros();
        out.as_mut_slice().copy_from_slice(values);
        Some(out)
    }
    /// `true` when every component is finite.
    fn is_finite(&self) -> bool {
        self.as_slice().iter().all(|v| v.is_finite())
    }
    /// Dot product.
    fn dot(&self, other: &Self) -> f64 {
        self.as_slice()
            .iter()
            .zip(other.as_slice())
            .map(|(a, b)| a * b)
            .sum()
    }
}

impl<const N: usize> StateVector for [f64; N] {
    const DIM: usize = N;
    type Of<T: Copy> = [T; N];

    #[inline]
    fn splat<T: Copy>(value: T) -> [T; N] {
        [value; N]
    }

    #[inline]
    fn zeros() -> Self {
        [0.0; N]
    }

    #[inline]
    fn as_slice(&self) -> &[f64] {
        self
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [f64] {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_slice_checks_length() {
        assert_eq!(<[f64; 2]>::from_slice(&[1.0, 2.0]), Some([1.0, 2.0]));
        assert_eq!(<[f64; 2]>::from_slice(&[1.0]), None);
    }

    #[test]
    fn dot_and_finite() {
        let a = [1.0, 2.0, 3.0];
        assert_eq!(a.dot(&[4.0, 5.0, 6.0]), 32.0);
        assert!(!([1.0, f64::NAN]).is_finite());
    }
}
