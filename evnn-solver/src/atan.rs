//! `atan2(y, x)/π` for the QIF series stepper's phase, which takes one per
//! integration step: a table and a short series, in place of libm's
//! general-purpose `atan2`.

/// `atan(k/8)/π` for `k = 0..=8` (rounded from 200-bit values).
const PIVOTS: [f64; 9] = [
    0.0,
    0.03958342416056554,
    0.07797913037736932,
    0.11420025121990814,
    0.14758361765043326,
    0.17780768448935275,
    0.20483276469913345,
    0.22881069536505358,
    0.25,
];

/// `(−1)^j / ((2j+1)π)`, `j = 0..=6`: the Taylor series of `atan(z)/π`
/// in odd powers of `z`.
const SERIES: [f64; 7] = [
    std::f64::consts::FRAC_1_PI,
    -0.1061032953945969,
    0.06366197723675814,
    -0.04547284088339867,
    0.035367765131532294,
    -0.028937262380344605,
    0.02448537586029159,
];

/// `atan2(y, x)/π ∈ [−1, 1]`, the angle of `(x, y)` in half turns.
///
/// With `z = min(|x|, |y|)/max(|x|, |y|) ∈ [0, 1]`, the nearest pivot
/// `c = k/8` and `z' = (z − c)/(1 + zc)` (`z − c` is exact), `atan z =
/// atan c + atan z'` with `|z'| ≤ 1/16`, where seven Taylor terms leave a
/// truncation error below `10⁻¹⁹`; the octant and quadrant then follow by
/// exact reflections (`½ − r`, `1 − r`, `−r`). The error is a few units in
/// the last place of the result. Where `z` is not a number in `[0, 1]`
/// (`x = y = 0`, both infinite, or a NaN) it is libm's `atan2(y, x)/π`, so
/// signed zeros, infinities and NaN follow IEEE 754.
///
/// The octant and the signs are chosen by bit masks, not branches: they
/// depend on the data and mispredicted.
#[inline]
pub(crate) fn atan2_pi(y: f64, x: f64) -> f64 {
    let (a, b) = (y.abs(), x.abs());
    let swap = a > b;
    let z = select(swap, b, a) / select(swap, a, b);
    if !(z <= 1.0) {
        return y.atan2(x) * std::f64::consts::FRAC_1_PI;
    }
    // `z ≤ 1`, so the index is at most 8.
    let k = (z * 8.0 + 0.5) as usize;
    let c = k as f64 * 0.125;
    let zr = (z - c) / (1.0 + z * c);
    let s = zr * zr;
    let mut p = SERIES[6];
    for &coeff in SERIES[..6].iter().rev() {
        p = p * s + coeff;
    }
    let r = PIVOTS[k] + zr * p;
    let r = select(swap, 0.5 - r, r);
    let r = select(x.is_sign_negative(), 1.0 - r, r);
    // `−r` where `y` is negative: its sign bit flips `r`'s.
    f64::from_bits(r.to_bits() ^ (y.to_bits() & SIGN))
}

/// The sign bit of an `f64`.
const SIGN: u64 = 1 << 63;

/// `if c { a } else { b }` by a bit mask, without a branch (for choices
/// that the data decide, where a branch mispredicts).
#[inline(always)]
pub(crate) fn select(c: bool, a: f64, b: f64) -> f64 {
    let mask = (c as u64).wrapping_neg();
    f64::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::FRAC_1_PI;

    fn libm(y: f64, x: f64) -> f64 {
        y.atan2(x) * FRAC_1_PI
    }

    /// Values of `atan2(y, x)/π` computed to 200 bits (mpmath), within two
    /// units in the last place.
    #[test]
    fn matches_high_precision_values() {
        let cases = [
            (1.0, 3.0, 0.10241638234956672),
            (3.0, 1.0, 0.39758361765043326),
            (-2.5, -0.1, -0.5127256113479919),
            (1e-300, 1.0, 3.183098861837907e-301),
            (0.4, -0.7, 0.8347506594614321),
            (123.0, -1e-5, 0.5000000258788525),
            (-0.06, 0.49, -0.03878365226016552),
        ];
        for (y, x, exact) in cases {
            let got = atan2_pi(y, x);
            assert!(
                (got - exact).abs() <= 2.0 * f64::EPSILON * exact.abs(),
                "atan2({y}, {x})/π = {got}, exact {exact}"
            );
        }
    }

    /// Zeros, infinities and NaN as libm's `atan2`, signs included.
    #[test]
    fn special_values_follow_ieee() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for y in specials {
            for x in specials {
                let (got, want) = (atan2_pi(y, x), libm(y, x));
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "atan2({y}, {x}): {got} vs {want}"
                );
            }
        }
    }

    proptest! {
        /// Within four units in the last place of libm's value, over every
        /// quadrant and widely different magnitudes, and at the pivots'
        /// boundaries (`z = (2k+1)/16`).
        #[test]
        fn agrees_with_libm(
            y in -1e3..1e3f64,
            x in -1e3..1e3f64,
            scale in -200i32..200,
            k in 0u32..8,
        ) {
            let s = 2f64.powi(scale);
            for (y, x) in [(y, x), (y * s, x), (x, y * s)] {
                let (got, want) = (atan2_pi(y, x), libm(y, x));
                prop_assert!((got - want).abs() <= 4.0 * f64::EPSILON * want.abs(),
                    "atan2({}, {})/π: {} vs {}", y, x, got, want);
            }
            let edge = (2 * k + 1) as f64 / 16.0;
            for z in [edge, edge.next_up(), edge.next_down()] {
                let (got, want) = (atan2_pi(z * x, x), libm(z * x, x));
                prop_assert!((got - want).abs() <= 4.0 * f64::EPSILON * want.abs());
            }
        }
    }
}
