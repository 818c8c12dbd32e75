//! `sin πx` and `cos πx` together, for the QIF phase form's right-hand side,
//! which a Runge–Kutta step evaluates at every stage: an exact reduction by
//! half turns and two short Taylor series sharing one argument, in place of
//! libm's general-purpose `sin_cos`.

use std::f64::consts::PI;

/// Taylor coefficients `(−1)^k / (2k+1)!`, k = 1..=8, of `sin y / y − 1`
/// in powers of `y²`.
const SIN: [f64; 8] = [
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5040.0,
    1.0 / 362_880.0,
    -1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
    -1.0 / 1_307_674_368_000.0,
    1.0 / 355_687_428_096_000.0,
];

/// Taylor coefficients `(−1)^k / (2k)!`, k = 1..=9, of `cos y − 1`.
const COS: [f64; 9] = [
    -1.0 / 2.0,
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
];

/// `(sin πx, cos πx)`.
///
/// `x = n/2 + r` with integer `n` and `|r| ≤ ¼` (the subtraction is exact),
/// then Taylor series of `sin` and `cos` at `y = πr`, `|y| ≤ π/4`, truncated
/// where the next term is below `1e-19` relative. Within a few ulp of the
/// exact values for every finite `x`; more accurate than `(π·x).sin_cos()`
/// for `|x| > ¼` because `π` multiplies the reduced `r`, not `x`. NaN or
/// infinite `x` gives NaN.
#[inline]
pub(crate) fn sin_cos_pi(x: f64) -> (f64, f64) {
    if !x.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    // Beyond 2^49 every f64 is a multiple of 1/8: reduce exactly first.
    let x = if x.abs() >= 1e15 { x % 2.0 } else { x };
    // Round 2x to the nearest integer by the 1.5·2^52 trick (`round` is a
    // library call without SSE4.1); the quadrant is in the low bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let shifted = 2.0 * x + MAGIC;
    let quadrant = shifted.to_bits() & 3;
    let n = shifted - MAGIC;
    let r = x - 0.5 * n;
    let y = PI * r;
    let z = y * y;
    // Estrin's scheme: the RK stages wait on this result, so depth
    // (latency) matters more than the operation count.
    let z2 = z * z;
    let z4 = z2 * z2;
    let ps = (SIN[0] + SIN[1] * z + (SIN[2] + SIN[3] * z) * z2)
        + (SIN[4] + SIN[5] * z + (SIN[6] + SIN[7] * z) * z2) * z4;
    let s = y * z * ps + y;
    let pc = (COS[0] + COS[1] * z + (COS[2] + COS[3] * z) * z2)
        + (COS[4] + COS[5] * z + (COS[6] + COS[7] * z) * z2) * z4
        + COS[8] * (z4 * z4);
    let c = z * pc + 1.0;
    // (No `mul_add`: without a target FMA it is a slow library call.)
    // πx = nπ/2 + y: rotate by the quadrant n mod 4.
    match quadrant {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Exact values at multiples of 1/6 and 1/4 (golden values: elementary
    /// trigonometry).
    #[test]
    fn exact_points() {
        let h = 0.5_f64.sqrt();
        let r3 = 0.75_f64.sqrt();
        for (x, s, c) in [
            (0.0, 0.0, 1.0),
            (0.5, 1.0, 0.0),
            (1.0, 0.0, -1.0),
            (1.5, -1.0, 0.0),
            (2.0, 0.0, 1.0),
            (-0.5, -1.0, 0.0),
            (0.25, h, h),
            (0.75, h, -h),
            (-0.25, -h, h),
            (1.0 / 6.0, 0.5, r3),
            (1.0 / 3.0, r3, 0.5),
            (1e6 + 0.5, 1.0, 0.0),
        ] {
            let (gs, gc) = sin_cos_pi(x);
            assert!((gs - s).abs() <= 2e-16, "sin π·{x}: got {gs}, expected {s}");
            assert!((gc - c).abs() <= 2e-16, "cos π·{x}: got {gc}, expected {c}");
        }
    }

    #[test]
    fn non_finite_gives_nan() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let (s, c) = sin_cos_pi(x);
            assert!(s.is_nan() && c.is_nan());
        }
    }

    /// Large arguments are integers or half-integers: exact results.
    #[test]
    fn huge_arguments() {
        assert_eq!(sin_cos_pi(1e300), (0.0, 1.0));
        assert_eq!(sin_cos_pi(2f64.powi(60) + 2f64.powi(8)), (0.0, 1.0));
        let (s, c) = sin_cos_pi(2f64.powi(51) + 0.5);
        assert_eq!((s, c.abs()), (1.0, 0.0));
    }

    proptest! {
        /// Against libm on the QIF range, where `π·x` rounds by at most
        /// `π·|x|·ε/2`.
        #[test]
        fn agrees_with_libm(x in -2.0..3.0f64) {
            let (s, c) = sin_cos_pi(x);
            let (ls, lc) = (PI * x).sin_cos();
            let tol = 3e-16 + 2.0 * PI * x.abs() * f64::EPSILON;
            prop_assert!((s - ls).abs() <= tol, "x {x}: sin {s} vs {ls}");
            prop_assert!((c - lc).abs() <= tol, "x {x}: cos {c} vs {lc}");
        }

        /// Small arguments: relative accuracy, where libm's is exact.
        #[test]
        fn relative_accuracy_near_zero(x in -1e-3..1e-3f64) {
            let (s, c) = sin_cos_pi(x);
            let (ls, lc) = (PI * x).sin_cos();
            prop_assert!((s - ls).abs() <= 2.0 * f64::EPSILON * ls.abs(), "x {x}");
            prop_assert!((c - lc).abs() <= f64::EPSILON, "x {x}");
        }

        #[test]
        fn pythagoras_and_periodicity(x in -1e6..1e6f64) {
            let (s, c) = sin_cos_pi(x);
            prop_assert!((s * s + c * c - 1.0).abs() <= 4.0 * f64::EPSILON);
            let (s2, c2) = sin_cos_pi(x + 2.0);
            let tol = 8.0 * f64::EPSILON * (1.0 + x.abs());
            prop_assert!((s - s2).abs() <= tol && (c - c2).abs() <= tol);
        }
    }
}
