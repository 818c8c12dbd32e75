//! The series machinery shared by the stepper and the adjoint: the Taylor
//! recurrences of `(u, w)` and of its tangents, their evaluation, and the
//! step-size rules.

use crate::SolverOptions;
use evnn_neurons::math::powu_by_squaring;
use evnn_neurons::Qif;
use std::f64::consts::PI;

/// Highest order of the Taylor series (terms `0..=ORDER`); the order used
/// grows with the requested accuracy.
pub(super) const ORDER: usize = 24;

/// Runs `$body` once for each `$n` from 0 to `MAX_ORDER − 1`, with `$n` a
/// constant in each copy: inner loops over `0..$n` get fixed bounds and
/// unroll, with no branch per order (const-generic bounds do not give
/// that: LLVM keeps them a loop over the orders).
macro_rules! each_order {
    ($n:ident => $body:block) => {
        each_order!(@go $n, $body, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21])
    };
    (@go $n:ident, $body:block, [$($k:literal),*]) => {
        $({
            const $n: usize = $k;
            $body
        })*
    };
}
const _: () = assert!(MAX_ORDER == 22, "update the list in each_order!");

/// `1/n`, for the recurrences.
const INV: [f64; ORDER + 1] = {
    let mut t = [0.0; ORDER + 1];
    let mut n = 1;
    while n <= ORDER {
        t[n] = 1.0 / n as f64;
        n += 1;
    }
    t
};

/// `1.25^n`: the margin on the last term's step length in
/// [`Series::taylor_step`] and [`Series::expand_within`].
const MARGIN: [f64; ORDER + 1] = {
    let mut t = [1.0; ORDER + 1];
    let mut n = 1;
    while n <= ORDER {
        t[n] = t[n - 1] * 1.25;
        n += 1;
    }
    t
};

/// The lowest order [`Series::expand_within`] stops at.
const MIN_ADAPTIVE: usize = 6;

/// The series order for tolerance `tol`: `⌈−½ ln tol⌉ + 9`, between 12 and
/// 22 (16 at the default 1e-6). A lower order takes many more steps, a
/// higher one costs more per step (the recurrence costs grow with the
/// square of the order); the comparison is in BENCHMARKS.md.
///
/// `⌈−½ ln tol⌉` is the least integer `k` with `e^{−2k} ≤ tol`, so the order
/// comes from comparisons with a table instead of a logarithm and a
/// rounding call (every neuron run and every adjoint segment builds a
/// [`Series`]).
fn order_for(tol: f64) -> usize {
    // e^{−2k} for k = MIN_ORDER − 9 ..= MAX_ORDER − 9.
    const BOUNDS: [f64; MAX_ORDER - MIN_ORDER + 1] = [
        0.0024787521766663585,
        0.00033546262790251185,
        4.5399929762484854e-05,
        6.14421235332821e-06,
        8.315287191035679e-07,
        1.1253517471925912e-07,
        1.522997974471263e-08,
        2.061153622438558e-09,
        2.7894680928689246e-10,
        3.775134544279098e-11,
        5.109089028063325e-12,
    ];
    BOUNDS
        .iter()
        .position(|&b| b <= tol)
        .map_or(MAX_ORDER, |j| MIN_ORDER + j)
}

/// The orders [`order_for`] chooses from (`each_order!` unrolls up to the
/// highest).
const MIN_ORDER: usize = 12;
const MAX_ORDER: usize = 22;
const _: () = assert!(MIN_ORDER == 12 && MAX_ORDER == 22, "update each_order!");

/// The series machinery shared by the stepper and the adjoint: constants of
/// one neuron run and the recurrences.
#[derive(Clone, Debug)]
pub(super) struct Series {
    pub(super) bias: f64,
    tol: f64,
    /// Series order in use.
    pub(super) order: usize,
    /// `(−1/τ_syn)^k / k!` for `k ≤ order` (zero above), the series of
    /// `e^{−s/τ_syn}`, stored reversed (`decay_rev[ORDER − k]`), so that the
    /// convolution below runs over both arrays in the same direction.
    decay_rev: [f64; ORDER + 1],
    tau_mem: f64,
    tau_syn: f64,
    pub(super) inv_tau: f64,
    pub(super) inv_tau_syn: f64,
}

pub(super) type Coeffs = [f64; ORDER + 1];

/// The early-stop test of the recurrences ([`Series::expand_within`],
/// [`Series::expand_tangents`]) for a step of length `reach`.
struct EarlyStop {
    reach: f64,
    /// `reach^n` for the last order `n` tested.
    power: f64,
    /// Whether the last term tested passed.
    passed: bool,
}

impl EarlyStop {
    fn new(reach: f64) -> Self {
        EarlyStop {
            reach,
            power: 1.0,
            passed: false,
        }
    }

    /// Whether the series ends at order `n`, just computed, whose
    /// coefficients' magnitude is `last()`: at the series order, or when
    /// this and the previous term pass the step test. Called for every
    /// order in turn with `n` a constant (the recurrences are unrolled), so
    /// the tests that cannot apply to `n` fold away.
    #[inline(always)]
    fn after(&mut self, sr: &Series, n: usize, last: impl FnOnce() -> f64) -> bool {
        if n >= MIN_ORDER && n == sr.order {
            return true;
        }
        self.power *= self.reach;
        if n + 1 >= MIN_ADAPTIVE {
            let term = last() * self.power;
            if n >= MIN_ADAPTIVE && self.passed && term * MARGIN[n] <= sr.tol {
                return true;
            }
            self.passed = term <= sr.tol;
        }
        false
    }
}

/// The tolerance the series use for `options`.
fn series_tol(options: &SolverOptions) -> f64 {
    options.rtol.min(options.atol).max(1e-16)
}

impl Series {
    pub(super) fn new(qif: &Qif, bias: f64, options: &SolverOptions) -> Self {
        let tol = series_tol(options);
        let order = order_for(tol);
        // The recurrences read `d_k` for `k ≤ order` only.
        let mut decay_rev = [0.0; ORDER + 1];
        let mut d = 1.0;
        let c = -1.0 / qif.tau_syn();
        decay_rev[ORDER] = d;
        for k in 1..=order {
            d *= c * INV[k];
            decay_rev[ORDER - k] = d;
        }
        Series {
            bias,
            tol,
            order,
            decay_rev,
            tau_mem: qif.tau_mem(),
            tau_syn: qif.tau_syn(),
            inv_tau: 1.0 / qif.tau_mem(),
            inv_tau_syn: 1.0 / qif.tau_syn(),
        }
    }

    /// Whether these are the series of `qif` under `options` (for any bias).
    pub(super) fn fits(&self, qif: &Qif, options: &SolverOptions) -> bool {
        self.tau_mem == qif.tau_mem()
            && self.tau_syn == qif.tau_syn()
            && self.tol == series_tol(options)
    }

    /// `Σ_{m<n−1} c_m d_{n−m}` with `d_k` the series of `e^{−s/τ_syn}`: the
    /// convolution `(e^{−s/τ_syn}·c)_n` without its two newest terms
    /// `c_n·d_0 + c_{n−1}·d_1` (0 for `n < 2`). It does not depend on `c_n`
    /// or `c_{n−1}`, so it overlaps with the two previous orders'
    /// recurrences, which keeps it off the critical path of the
    /// latency-bound recurrence. Eight partial sums added as a tree keep its
    /// own latency short.
    #[inline(always)]
    fn oldest_terms(&self, c: &Coeffs, n: usize) -> f64 {
        const A: usize = 8;
        if n < 2 {
            return 0.0;
        }
        let k = n - 1;
        let d = &self.decay_rev[ORDER - n..];
        let mut acc = [0.0; A];
        for m in 0..k {
            acc[m % A] += c[m] * d[m];
        }
        // Only the first `min(A, k)` sums hold terms (`k` is a constant
        // where the recurrences unroll, so the tests fold away).
        let mut width = A;
        while width > 1 {
            width /= 2;
            for j in 0..width {
                if j + width < k {
                    acc[j] += acc[j + width];
                }
            }
        }
        acc[0]
    }

    /// Taylor coefficients of `y = (u, w)` with `u' = w/τ`,
    /// `w' = −(w + I(s)·u)/τ`, `I(s) = b + i·e^{−s/τ_syn}`, from `y(0) = y0`,
    /// up to the first order `n` (at least
    /// [`MIN_ADAPTIVE`], at most the series order) whose last two terms pass
    /// [`taylor_step`](Self::taylor_step)'s test for a step of length
    /// `reach`: `|c_{n−1}| reach^{n−1} ≤ tol` and `|c_n| (1.25·reach)^n ≤
    /// tol`, with `|c_k| = |u_k| + |w_k|` (a bound of the maximum that
    /// `taylor_step` takes, cheaper). Returns `n`; the terms above it that
    /// [`eval`](Self::eval) reads are zeroed. A short step needs fewer
    /// terms (many steps of the Yin–Yang networks stop well below the
    /// full order), and the recurrence costs grow with the square of the
    /// order.
    /// When it returns the series order, the test may have failed:
    /// [`taylor_step`](Self::taylor_step) then finds the step.
    pub(super) fn expand_within(
        &self,
        y0: [f64; 2],
        i: f64,
        reach: f64,
        cu: &mut Coeffs,
        cw: &mut Coeffs,
    ) -> usize {
        cu[0] = y0[0];
        cw[0] = y0[1];
        // `(I·u)_n = (b + i)·u_n + i·d_1·u_{n−1} + i·Σ_{m<n−1} u_m d_{n−m}`:
        // only the first term waits for `u_n`.
        let bi = self.bias + i;
        let id1 = i * self.decay_rev[ORDER - 1];
        let mut stop = EarlyStop::new(reach);
        'orders: {
            each_order!(N => {
                let early = if N == 0 {
                    0.0
                } else {
                    id1 * cu[N - 1] + i * self.oldest_terms(cu, N)
                };
                let iu = bi * cu[N] + early;
                let f = self.inv_tau * INV[N + 1];
                cu[N + 1] = cw[N] * f;
                cw[N + 1] = (cw[N] + iu) * -f;
                if stop.after(self, N + 1, || cu[N + 1].abs() + cw[N + 1].abs()) {
                    // The terms `eval` reads above the order, zeroed: a
                    // constant range in each copy (no loop whose length
                    // depends on the data, whose exit mispredicts).
                    zero_above(N + 1, [&mut *cu, &mut *cw]);
                    break 'orders N + 1;
                }
            });
            // Not reached: the series order is at most `MAX_ORDER`.
            zero_above(self.order, [cu, cw]);
            self.order
        }
    }

    /// The coefficients of `y` and of its tangents `∂y/∂i_a`, `∂y/∂b`
    /// together (three independent recurrences in one loop). The tangents
    /// solve the same linear ODE forced by `∂I/∂i_a·u = decay_a·e^{−s/τ_syn}u`
    /// and `∂I/∂b·u = u`, where `decay_a` is `e^{−s/τ_syn}` at the step start
    /// measured from the segment start.
    /// Without `with_i`, the `i_a`-tangent is left out (its coefficients
    /// are not touched).
    ///
    /// Stops early as [`expand_within`](Self::expand_within) does, when the
    /// last two terms of every series pass the test at `reach`, a tangent's
    /// relative to `max(1, |v(0)|)`; returns the order.
    pub(super) fn expand_tangents(
        &self,
        y0: [[f64; 2]; 3],
        i: f64,
        decay_a: f64,
        with_i: bool,
        reach: f64,
        c: &mut [Coeffs; 6],
    ) -> usize {
        if with_i {
            self.expand_tangents_n::<true>(y0, i, decay_a, reach, c)
        } else {
            self.expand_tangents_n::<false>(y0, i, decay_a, reach, c)
        }
    }

    #[inline(always)]
    fn expand_tangents_n<const WITH_I: bool>(
        &self,
        y0: [[f64; 2]; 3],
        i: f64,
        decay_a: f64,
        reach: f64,
        coeffs: &mut [Coeffs; 6],
    ) -> usize {
        let [cu, cw, iu, iw, bu, bw] = coeffs;
        [cu[0], cw[0]] = y0[0];
        [iu[0], iw[0]] = y0[1];
        [bu[0], bw[0]] = y0[2];
        let bi = self.bias + i;
        let d1 = self.decay_rev[ORDER - 1];
        let inv_scale = |v: [f64; 2]| 1.0 / v[0].abs().max(v[1].abs()).max(1.0);
        let (si, sb) = (inv_scale(y0[1]), inv_scale(y0[2]));
        let mut stop = EarlyStop::new(reach);
        'orders: {
            each_order!(N => {
                let (c, ci, cb) = (cu[N], iu[N], bu[N]);
                // As in `expand_within`, the terms that do not wait for order `N`
                // first: `(e^{−s/τ_syn}·v)_n = v_n + early(v)`.
                let (pu_early, pb_early) = if N == 0 {
                    (0.0, 0.0)
                } else {
                    (
                        d1 * cu[N - 1] + self.oldest_terms(cu, N),
                        d1 * bu[N - 1] + self.oldest_terms(bu, N),
                    )
                };
                let g_y = bi * c + i * pu_early;
                let g_b = bi * cb + i * pb_early + c;
                let f = self.inv_tau * INV[N + 1];
                cu[N + 1] = cw[N] * f;
                cw[N + 1] = (cw[N] + g_y) * -f;
                if WITH_I {
                    let pi_early = if N == 0 {
                        0.0
                    } else {
                        d1 * iu[N - 1] + self.oldest_terms(iu, N)
                    };
                    // `(e^{−s/τ_syn}·u)_n`, the i_a-tangent's forcing.
                    let pu = c + pu_early;
                    let g_i = bi * ci + i * pi_early + decay_a * pu;
                    iu[N + 1] = iw[N] * f;
                    iw[N + 1] = (iw[N] + g_i) * -f;
                }
                bu[N + 1] = bw[N] * f;
                bw[N + 1] = (bw[N] + g_b) * -f;
                let last = || {
                    // Sums of magnitudes: bounds of the maxima, cheaper.
                    let term = (cu[N + 1].abs() + cw[N + 1].abs())
                        + sb * (bu[N + 1].abs() + bw[N + 1].abs());
                    if WITH_I {
                        term + si * (iu[N + 1].abs() + iw[N + 1].abs())
                    } else {
                        term
                    }
                };
                if stop.after(self, N + 1, last) {
                    // As in `expand_within`: a constant range per copy.
                    if WITH_I {
                        zero_above(N + 1, [&mut *cu, &mut *cw, &mut *bu, &mut *bw, &mut *iu, &mut *iw]);
                    } else {
                        zero_above(N + 1, [&mut *cu, &mut *cw, &mut *bu, &mut *bw]);
                    }
                    break 'orders N + 1;
                }
            });
            // Not reached: the series order is at most `MAX_ORDER`.
            if WITH_I {
                zero_above(self.order, [cu, cw, bu, bw, iu, iw]);
            } else {
                zero_above(self.order, [cu, cw, bu, bw]);
            }
            self.order
        }
    }

    /// `(u, w)` of a series at `s`.
    ///
    /// Horner's rule in `s⁴` on the four residue classes of the exponents,
    /// combined at the end: four independent chains a quarter as long as
    /// one (the series' terms above the order are zero).
    /// `order` is the series' order (terms above it up to
    /// `4·⌊order/4⌋ + 3` are zero).
    #[inline]
    pub(super) fn eval(&self, cu: &Coeffs, cw: &Coeffs, s: f64, order: usize) -> [f64; 2] {
        debug_assert!(cu[order + 1..=4 * (order / 4) + 3]
            .iter()
            .chain(&cw[order + 1..=4 * (order / 4) + 3])
            .all(|&c| c == 0.0));
        let s2 = s * s;
        let s4 = s2 * s2;
        // Reads up to `cu[4·⌊order/4⌋ + 3]`, within the array for every order.
        const _: () = assert!(4 * (MAX_ORDER / 4) + 3 <= ORDER);
        let top = order / 4;
        let (mut u, mut w) = ([0.0; 4], [0.0; 4]);
        for j in (0..=top).rev() {
            for k in 0..4 {
                u[k] = u[k] * s4 + cu[4 * j + k];
                w[k] = w[k] * s4 + cw[4 * j + k];
            }
        }
        let combine = |p: [f64; 4]| (p[0] + s * p[1]) + s2 * (p[2] + s * p[3]);
        [combine(u), combine(w)]
    }

    /// The longest step, at most `remaining`, whose truncation error is
    /// below the tolerance (relative to `|y| = 1`).
    pub(super) fn taylor_step(&self, cu: &Coeffs, cw: &Coeffs, remaining: f64) -> f64 {
        let mut h = remaining;
        // The last term below the tolerance (one `powf`, skipped when the
        // whole remaining interval qualifies), then the one before it
        // checked at that step (rarely binding).
        let n = self.order;
        let c = cu[n].abs().max(cw[n].abs());
        if c > 0.0 && c * MARGIN[n] * powu_by_squaring(remaining, n) > self.tol {
            h = h.min(0.8 * root(self.tol / c, n));
        }
        let c = cu[n - 1].abs().max(cw[n - 1].abs());
        if c * powu_by_squaring(h, n - 1) > self.tol {
            h = 0.8 * (self.tol / c).powf(INV[n - 1]);
        }
        h
    }

    /// `(φ', i')` at the point `y` of phase `φ` and current `i`: with
    /// `sin πφ = u/ρ`, `cos πφ = w/(πρ)`, `ρ² = u² + w²/π²`, the phase form
    /// `τ_mem φ' = c(c + s/π) + (s²/π²)(i + b)` becomes
    /// `(w(w + u) + u²(i + b)) / (π²u² + w²)`: one division, no sine or
    /// cosine of the phase.
    #[inline]
    pub(super) fn rate(&self, y: [f64; 2], i: f64) -> [f64; 2] {
        let [u, w] = y;
        let num = w * (w + u) + u * u * (i + self.bias);
        let den = (PI * PI) * (u * u) + w * w;
        [num / den * self.inv_tau, -i * self.inv_tau_syn]
    }

    /// `h` shortened so that the step holds at most one zero of `u`, for a
    /// step starting with synaptic current `i`.
    pub(super) fn sturm_cap(&self, i: f64, h: f64) -> f64 {
        // i(t) = i·e^{−s/τ_syn} decays towards 0: on the step it is at most
        // `i` when `i ≥ 0` and below 0 otherwise.
        let m = self.bias + i.max(0.0) - 0.25;
        // Without a branch on `m`'s sign, which the data decide (it
        // mispredicted): for `m < 0` the cap is NaN and for `m = 0` it is
        // `+∞` (`m` is never `−0.0`: `x − 0.25` is `+0.0` at `x = 0.25`), and
        // `min` keeps `h` in both cases, as for NaN `m`.
        h.min(0.9 * PI * self.tau_mem / m.sqrt())
    }
}

/// Zeroes the terms above order `top` that [`Series::eval`] reads (up to
/// `4·⌊top/4⌋ + 3`). The recurrences call it with `top` a constant in each
/// unrolled copy, so the range is fixed: no loop whose length depends on
/// the data (its exit mispredicted).
#[inline(always)]
fn zero_above<const K: usize>(top: usize, mut coeffs: [&mut Coeffs; K]) {
    for k in top + 1..=4 * (top / 4) + 3 {
        for c in coeffs.iter_mut() {
            c[k] = 0.0;
        }
    }
}

/// `x^(1/n)`: four square roots for `n = 16` (the order at the default
/// tolerance, so the common case avoids `powf`'s general algorithm), `powf`
/// otherwise.
#[inline]
fn root(x: f64, n: usize) -> f64 {
    if n == 16 {
        x.sqrt().sqrt().sqrt().sqrt()
    } else {
        x.powf(INV[n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SolverOptions;

    /// The table of [`order_for`] gives `⌈−½ ln tol⌉ + 9` within 12..=22.
    /// A series that stops early agrees with the full one to the tolerance
    /// wherever the step may go, and a step of unbounded length takes the
    /// full order.
    #[test]
    fn early_stop_agrees_with_the_full_series() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let (mut stopped, mut total) = (0, 0);
        // Measured: 1.1e-8 at tolerance 1e-6, 8.3e-13 at 1e-10; 117 of 144
        // series stopped early at each.
        for (tol, bound) in [(1e-6, 1e-6), (1e-10, 1e-10)] {
            let opts = SolverOptions::default().with_tolerances(tol, tol);
            let mut worst: f64 = 0.0;
            for bias in [-0.3, 0.1, 0.5] {
                let sr = Series::new(&qif, bias, &opts);
                for i in [-3.0, 0.0, 2.0, 10.0] {
                    for y0 in [[1.0, 0.0], [0.0, 1.0], [0.6, -1.0]] {
                        let (mut fu, mut fw) = ([0.0; ORDER + 1], [0.0; ORDER + 1]);
                        let full = sr.expand_within(y0, i, f64::INFINITY, &mut fu, &mut fw);
                        assert_eq!(full, sr.order);
                        for reach in [0.05, 0.5, 2.0, 8.0] {
                            let (mut cu, mut cw) = ([0.0; ORDER + 1], [0.0; ORDER + 1]);
                            let top = sr.expand_within(y0, i, reach, &mut cu, &mut cw);
                            assert!((MIN_ADAPTIVE..=sr.order).contains(&top));
                            assert_eq!(cu[..=top], fu[..=top]);
                            total += 1;
                            if top == sr.order {
                                continue;
                            }
                            stopped += 1;
                            for s in [0.25 * reach, 0.5 * reach, reach] {
                                let a = sr.eval(&cu, &cw, s, top);
                                let b = sr.eval(&fu, &fw, s, full);
                                worst = worst.max((a[0] - b[0]).abs().max((a[1] - b[1]).abs()));
                            }
                        }
                    }
                }
            }
            assert!(worst <= bound, "tol {tol:e}: worst {worst:e}");
        }
        assert!(
            stopped >= total / 2,
            "{stopped} of {total} series stopped early"
        );
    }

    #[test]
    fn order_table_matches_the_formula() {
        for j in 0..=400 {
            let tol = 10f64.powf(-(j as f64) * 0.04);
            let formula = ((-0.5 * tol.ln()).ceil() + 9.0).clamp(12.0, 22.0) as usize;
            assert_eq!(order_for(tol), formula, "tol {tol:e}");
        }
        assert_eq!(order_for(1e-6), 16);
        assert_eq!(order_for(1e-16), 22);
        assert_eq!(order_for(0.5), 12);
    }
}
