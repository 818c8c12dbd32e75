//! A small adaptive Dormand–Prince 5(4) integrator on slices, for autonomous
//! systems `y' = F(y)` of any (small) dimension, forward or backward in time.
//!
//! The adjoint uses it to re-integrate a neuron's state between events and to
//! integrate the augmented backward system `(x, λ, μ)`; scratch buffers are
//! sized once and reused, so no step allocates.

use crate::SolverError;

// Dormand & Prince, J. Comput. Appl. Math. 6 (1980); Hairer, Nørsett &
// Wanner, Solving ODEs I, table 5.2.
pub(crate) const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// `b − b̂`: fifth- minus fourth-order weights (error estimate).
pub(crate) const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

/// One Dormand–Prince attempt of step `h` from `y`, with `k[0] = f(y)`
/// given: fills the stages `k[1..7]` (`k[6] = f(y_new)`, first-same-as-last),
/// writes the fifth-order solution to `y_new` and returns the RMS error norm
/// `|err_i| / (atol + rtol·max(|y_i|, |y_new_i|))` over the first `n_err`
/// components (the others ride along uncontrolled). Shared by [`Dopri5`]
/// (slices) and the fixed-size [`Dopri5Stepper`](crate::Dopri5Stepper).
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
#[inline]
pub(crate) fn attempt<K, F>(
    y: &[f64],
    k: &mut [K; 7],
    y_new: &mut [f64],
    h: f64,
    rtol: f64,
    atol: f64,
    n_err: usize,
    mut f: F,
) -> f64
where
    K: AsRef<[f64]> + AsMut<[f64]>,
    F: FnMut(&[f64], &mut [f64]),
{
    let n = y.len();
    // Stage values go through `y_new`; the last (row 7 of A, the
    // fifth-order weights) is the solution itself. Written out stage by
    // stage, so that each is one pass over the components with its
    // coefficients known (the sum over `j` in order, from 0, as a loop
    // would do).
    macro_rules! stage {
        ($s:literal: $($j:tt)*) => {{
            let ks = ($(&k[$j].as_ref()[..n],)*);
            for i in 0..n {
                let mut acc = 0.0;
                $(acc += A[$s][$j] * ks.$j[i];)*
                y_new[i] = y[i] + h * acc;
            }
            f(y_new, k[$s].as_mut());
        }};
    }
    stage!(1: 0);
    stage!(2: 0 1);
    stage!(3: 0 1 2);
    stage!(4: 0 1 2 3);
    stage!(5: 0 1 2 3 4);
    stage!(6: 0 1 2 3 4 5);
    let mut norm = 0.0;
    for i in 0..n_err {
        let mut e = 0.0;
        for j in 0..7 {
            e += E[j] * k[j].as_ref()[i];
        }
        let sc = atol + rtol * y[i].abs().max(y_new[i].abs());
        let r = h * e / sc;
        norm += r * r;
    }
    (norm / n_err.max(1) as f64).sqrt()
}

/// The factor by which a trial step shrinks when its state or derivative
/// comes out non-finite (NaN or infinite): the step is rejected and retried,
/// as one with a large error, since the overflow typically means that the
/// step reached past a finite-time blow-up of the dynamics (an exponential
/// or quadratic integrate-and-fire voltage past its peak), which a smaller
/// step avoids. Smaller than the largest shrink of an ordinary rejection
/// (0.2), since nothing tells how far past the blow-up the step reached.
pub(crate) const REJECT_NON_FINITE: f64 = 0.1;

/// The next step size after an attempt of size `h` with error `norm`:
/// `h·clamp(0.9·norm^(−1/5), 0.2, 5)`, never growing after a rejection. An
/// infinite norm (an error scaled by a tiny atol) shrinks by the maximum.
#[inline]
pub(crate) fn next_step(h: f64, norm: f64) -> f64 {
    // Outside these bounds the clamp decides: (0.9/5)^5 and (0.9/0.2)^5.
    const GROW_MAX: f64 = 1.889568e-4;
    const SHRINK_MAX: f64 = 1845.28125;
    let factor = if norm <= GROW_MAX {
        5.0
    } else if norm >= SHRINK_MAX {
        0.2
    } else {
        (0.9 * inv_fifth_root(norm)).clamp(0.2, 5.0)
    };
    if norm <= 1.0 {
        h * factor
    } else {
        h * factor.min(1.0)
    }
}

/// `x^(−1/5)` for a positive normal `x`, within a few ulp (the step-size
/// control's `powf`, without its general algorithm: it is computed once per
/// step attempt). `x = m·2^e` with `m ∈ [1, 2)` and `e = 5q + r`:
/// `x^(−1/5) = m^(−1/5) · 2^(−r/5) · 2^(−q)`, `m^(−1/5)` by quadratic
/// interpolation (at 1, 1.5 and 2; relative error below 2e-3) and three
/// Newton steps on `y^(−5) = m` (each squares the error, times 3).
#[inline]
fn inv_fifth_root(x: f64) -> f64 {
    debug_assert!(x.is_normal() && x > 0.0, "{x}");
    // 2^(−r/5), r = 0..4, correctly rounded.
    const TWO_POW: [f64; 5] = [
        1.0,
        0.870_550_563_296_124_1,
        0.757_858_283_255_199,
        0.659_753_955_386_447_1,
        0.574_349_177_498_517_5,
    ];
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let (q, r) = (e.div_euclid(5), e.rem_euclid(5));
    let mut y =
        1.0 + (m - 1.0) * (-0.155_784_177_036_544_46 + 0.052_669_480_665_337_165 * (m - 1.5));
    for _ in 0..3 {
        let y2 = y * y;
        y *= 1.2 - 0.2 * m * (y2 * y2 * y);
    }
    // 2^(−q) is exact for the |q| ≤ 205 of a normal x.
    y * TWO_POW[r as usize] * f64::from_bits(((1023 - q) as u64) << 52)
}

/// The first step size for state `y` with derivative `f`, at most `span`:
/// the first-derivative part of Hairer's starting-step heuristic, a step
/// that moves the state by a tenth of its size in the tolerance's scaled
/// norm, `0.1 · |y| / |f|` (Hairer's general-purpose factor is 0.01). A
/// first step too large costs one rejection; one too small costs the steps
/// in which the controller grows it, at most fivefold each, at every neuron
/// start and every adjoint segment that starts afresh, which on a network
/// of short runs are many.
pub(crate) fn initial_step(y: &[f64], f: &[f64], rtol: f64, atol: f64, span: f64) -> f64 {
    let n = y.len().max(1) as f64;
    let (mut d0, mut d1) = (0.0, 0.0);
    for (yi, fi) in y.iter().zip(f) {
        let sc = atol + rtol * yi.abs();
        d0 += (yi / sc).powi(2);
        d1 += (fi / sc).powi(2);
    }
    let (d0, d1) = ((d0 / n).sqrt(), (d1 / n).sqrt());
    // Tiny tolerances can overflow the scaled norms: fall back to a small
    // first step rather than a zero or infinite one.
    let h = if !(d0.is_finite() && d1.is_finite()) || d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.1 * d0 / d1
    };
    let h = if h.is_finite() && h > 0.0 { h } else { 1e-6 };
    h.min(span)
}

/// Adaptive Dormand–Prince 5(4) with scratch buffers for one dimension.
///
/// # Examples
///
/// ```
/// use evnn_solver::Dopri5;
///
/// // y' = −y from y(0) = 1 to t = 2, then back to t = 0.
/// let mut rk = Dopri5::new(1);
/// let mut y = [1.0];
/// let mut h = 0.0;
/// rk.integrate(|y, dy| dy[0] = -y[0], 0.0, 2.0, &mut y, 1e-10, 1e-12, &mut h, 10_000, |_, _| {})
///     .unwrap();
/// assert!((y[0] - (-2.0f64).exp()).abs() < 1e-9);
/// rk.integrate(|y, dy| dy[0] = -y[0], 2.0, 0.0, &mut y, 1e-10, 1e-12, &mut h, 10_000, |_, _| {})
///     .unwrap();
/// assert!((y[0] - 1.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct Dopri5 {
    k: [Vec<f64>; 7],
    y_new: Vec<f64>,
    /// The error test covers the first `n_err` components.
    n_err: usize,
    /// Accepted steps since construction.
    pub steps: usize,
}

impl Dopri5 {
    /// Scratch for systems of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Dopri5 {
            k: std::array::from_fn(|_| vec![0.0; dim]),
            y_new: vec![0.0; dim],
            n_err: dim,
            steps: 0,
        }
    }

    /// Scratch for systems of dimension `dim` whose step-size control
    /// tests the error of the first `n_err` components only (at most
    /// `dim`): the others are carried along on the steps those choose, as
    /// the sensitivities of a state are.
    pub fn with_error_dims(dim: usize, n_err: usize) -> Self {
        Dopri5 {
            n_err: n_err.min(dim),
            ..Dopri5::new(dim)
        }
    }

    /// Dimension of the systems this scratch serves.
    pub fn dim(&self) -> usize {
        self.y_new.len()
    }

    /// Integrates `y' = f(y)` from `t0` to `t1` (either direction) in place,
    /// with the usual mixed error norm `|err_i| / (atol + rtol·max(|y_i|,
    /// |y_new_i|))` (RMS) and step-size control. `h` carries the step size
    /// magnitude in and out (`0` picks a starting step). `on_step(t, y)` is
    /// called after every accepted step, the last one at exactly `t1`. `y`
    /// must have this scratch's [`dim`](Self::dim)
    /// ([`SolverError::ShapeMismatch`] otherwise), `t0` and `t1` must be
    /// finite and the tolerances finite and `> 0`
    /// ([`SolverError::InvalidOption`]).
    ///
    /// A trial step whose state or end derivative comes out non-finite is
    /// rejected and retried smaller; a state that stays non-finite as the
    /// step shrinks to round-off is [`SolverError::NonFiniteState`].
    #[allow(clippy::too_many_arguments)]
    pub fn integrate<F, V>(
        &mut self,
        f: F,
        t0: f64,
        t1: f64,
        y: &mut [f64],
        rtol: f64,
        atol: f64,
        h: &mut f64,
        max_steps: usize,
        on_step: V,
    ) -> Result<(), SolverError>
    where
        F: FnMut(&[f64], &mut [f64]),
        V: FnMut(f64, &[f64]),
    {
        let no_event = None::<fn(&[f64]) -> f64>;
        self.integrate_until(f, t0, t1, y, rtol, atol, h, max_steps, on_step, no_event)
            .map(|_| ())
    }

    /// [`integrate`](Self::integrate) that, with an `event`, ends where
    /// `event(y)` reaches zero from below if that comes in a step before the
    /// last: that step is shortened, by regula falsi (Illinois) on its
    /// length, until it ends just below zero (to round-off in time). A
    /// crossing in the last step, the one that lands on `t1`, ends the
    /// integration at `t1` as usual. Returns the time where the integration
    /// ended (`t1`, or the crossing).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn integrate_until<F, V, E>(
        &mut self,
        mut f: F,
        t0: f64,
        t1: f64,
        y: &mut [f64],
        rtol: f64,
        atol: f64,
        h: &mut f64,
        max_steps: usize,
        mut on_step: V,
        mut event: Option<E>,
    ) -> Result<f64, SolverError>
    where
        F: FnMut(&[f64], &mut [f64]),
        V: FnMut(f64, &[f64]),
        E: FnMut(&[f64]) -> f64,
    {
        for (name, value) in [("t0", t0), ("t1", t1)] {
            if !value.is_finite() {
                return Err(SolverError::InvalidOption {
                    name,
                    value,
                    reason: "must be finite",
                });
            }
        }
        for (name, value) in [("rtol", rtol), ("atol", atol)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SolverError::InvalidOption {
                    name,
                    value,
                    reason: "must be finite and > 0",
                });
            }
        }
        if y.len() != self.dim() {
            return Err(SolverError::ShapeMismatch {
                what: "state (the integrator's dimension)",
                expected: self.dim(),
                got: y.len(),
            });
        }
        let span = t1 - t0;
        if span == 0.0 {
            return Ok(t1);
        }
        let dir = span.signum();
        f(y, &mut self.k[0]);
        if !(*h > 0.0) || !h.is_finite() {
            let m = self.n_err;
            *h = initial_step(&y[..m], &self.k[0][..m], rtol, atol, span.abs());
        }
        let mut g = event.as_mut().map_or(-1.0, |e| e(y));
        let mut t = t0;
        let mut taken = 0usize;
        loop {
            let remaining = (t1 - t) * dir;
            let last = *h >= remaining * (1.0 - 1e-12);
            let step = if last { remaining } else { *h };
            let hs = dir * step;
            let n_err = self.n_err;
            let norm = attempt(
                y,
                &mut self.k,
                &mut self.y_new,
                hs,
                rtol,
                atol,
                n_err,
                &mut f,
            );
            if norm.is_nan()
                || !self.y_new.iter().all(|v| v.is_finite())
                || !self.k[6].iter().all(|v| v.is_finite())
            {
                // Rejected like a step with a large error (see
                // `REJECT_NON_FINITE`); an error only once the step is
                // down to round-off.
                *h = step * REJECT_NON_FINITE;
                if *h <= 4.0 * f64::EPSILON * t.abs().max(1.0) {
                    return Err(SolverError::NonFiniteState {
                        t,
                        state: self.y_new.clone(),
                    });
                }
                continue;
            }
            if norm <= 1.0 {
                if let Some(e) = event.as_mut().filter(|_| g < 0.0 && !last) {
                    let g_new = e(&self.y_new);
                    if !(g_new < 0.0) {
                        // The crossing lies in this step: end there.
                        let s = self.crossing_step(y, step, dir, g, g_new, rtol, atol, &mut f, e);
                        t += dir * s;
                        y.copy_from_slice(&self.y_new);
                        self.steps += 1;
                        on_step(t, y);
                        *h = step;
                        return Ok(t);
                    }
                    g = g_new;
                }
                t = if last { t1 } else { t + hs };
                y.copy_from_slice(&self.y_new);
                let (first, rest) = self.k.split_at_mut(1);
                first[0].copy_from_slice(&rest[5]);
                self.steps += 1;
                taken += 1;
                on_step(t, y);
                if last {
                    *h = (*h).max(step);
                    return Ok(t1);
                }
            }
            *h = next_step(step, norm);
            if taken >= max_steps {
                return Err(SolverError::StepLimit {
                    limit: max_steps,
                    t,
                });
            }
            if *h <= 4.0 * f64::EPSILON * t.abs().max(1.0) {
                return Err(SolverError::StepSizeUnderflow { t, h: *h });
            }
        }
    }

    /// The length `s` of a step from `y` (with `k[0] = f(y)`) that ends
    /// just below the event's zero, given `event < 0` at `y` (`g_lo`) and
    /// `event >= 0` after a step of `step` (`g_hi`): regula falsi (Illinois)
    /// on the step length. Leaves that step's end state in `y_new`.
    #[allow(clippy::too_many_arguments)]
    fn crossing_step<F, E>(
        &mut self,
        y: &[f64],
        step: f64,
        dir: f64,
        g_lo: f64,
        g_hi: f64,
        rtol: f64,
        atol: f64,
        f: &mut F,
        event: &mut E,
    ) -> f64
    where
        F: FnMut(&[f64], &mut [f64]),
        E: FnMut(&[f64]) -> f64,
    {
        let g_hi = if g_hi.is_finite() { g_hi } else { f64::MAX };
        let (mut s_lo, mut g_lo, mut s_hi, mut g_hi) = (0.0, g_lo, step, g_hi);
        let mut side = 0;
        for _ in 0..100 {
            if s_hi - s_lo <= 4.0 * f64::EPSILON * s_hi {
                break;
            }
            let mut s = (s_lo * g_hi - s_hi * g_lo) / (g_hi - g_lo);
            if !(s > s_lo && s < s_hi) {
                s = 0.5 * (s_lo + s_hi);
            }
            attempt(
                y,
                &mut self.k,
                &mut self.y_new,
                dir * s,
                rtol,
                atol,
                0,
                &mut *f,
            );
            let g = event(&self.y_new);
            if g < 0.0 {
                (s_lo, g_lo) = (s, g);
                if side < 0 {
                    g_hi *= 0.5;
                }
                side = -1;
            } else {
                // Also a non-finite end: past the crossing.
                (s_hi, g_hi) = (s, if g.is_finite() { g } else { f64::MAX });
                if side > 0 {
                    g_lo *= 0.5;
                }
                side = 1;
            }
        }
        attempt(
            y,
            &mut self.k,
            &mut self.y_new,
            dir * s_lo,
            rtol,
            atol,
            0,
            f,
        );
        s_lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inv_fifth_root_is_powf_to_a_few_ulp() {
        // Where `powf(-0.2)` is within an ulp of `x^(−1/5)` (the f64 −0.2
        // is −1/5 − 1.1e-17, which shifts the power by 1.1e-17·|ln x|
        // relative), and beyond the range the step control uses.
        let mut x = 1e-8;
        while x < 1e8 {
            let (got, expected) = (inv_fifth_root(x), x.powf(-0.2));
            assert!(
                (got - expected).abs() <= 4.0 * f64::EPSILON * expected,
                "x = {x:e}: got {got:e}, expected {expected:e}"
            );
            x *= 1.013_7;
        }
    }

    #[test]
    fn next_step_is_the_clamped_formula() {
        let formula = |norm: f64| {
            let factor = (0.9 * norm.powf(-0.2)).clamp(0.2, 5.0);
            if norm <= 1.0 {
                factor
            } else {
                factor.min(1.0)
            }
        };
        let mut norm = 1e-12;
        while norm < 1e12 {
            let (got, expected) = (next_step(1.0, norm), formula(norm));
            assert!(
                (got - expected).abs() <= 1e-14 * expected,
                "norm = {norm:e}: got {got}, expected {expected}"
            );
            norm *= 1.07;
        }
        assert_eq!(next_step(2.0, 0.0), 10.0);
        assert_eq!(next_step(2.0, f64::INFINITY), 0.4);
    }
}
