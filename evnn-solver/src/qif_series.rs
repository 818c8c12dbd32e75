//! A QIF backend by Taylor series in homogeneous coordinates, where the QIF
//! is a linear ODE and spikes are the zeros of a smooth function.
//!
//! With `V = −w/u`, the QIF `τ V' = V² − V + I(t)` (τ = τ_mem, `I = i + b`)
//! becomes linear in `y = (u, w)`:
//!
//! ```text
//! u' = w / τ,    w' = −(w + I(t)·u) / τ,    I(t) = b + i(t_a)·e^{−(t − t_a)/τ_syn}
//! ```
//!
//! `V → +∞`, the spike, is `u` crossing zero (downward, `w < 0`), and the
//! reset to `V = −∞` is the same point of the projective line: the flow goes
//! straight through it. The phase of [`Qif`] is the angle of `y`:
//! `φ = ½ + θ/π` with `θ = atan2(−w/π, u)`, i.e. `u = cos π(φ − ½)`,
//! `w = −π sin π(φ − ½)`.
//!
//! Between inputs the coefficients are entire functions, so `y` is entire
//! and its Taylor series (order up to 12–22 by tolerance, fewer terms where a
//! short step needs fewer, coefficients by recurrence, no
//! trigonometry) converges for any step; the step size follows from the last
//! coefficients (truncation error below the tolerance, relative to `|y|`).
//!
//! Spikes cannot be missed: with `u = e^{−t/2τ} v`, `τ² v'' + (I(t) − ¼) v = 0`.
//! If `I − ¼ ≤ M` on a step, Sturm's comparison theorem puts consecutive
//! zeros of `v` (the zeros of `u`) at least `πτ/√M` apart (and at most one
//! zero when `M ≤ 0`); steps are shorter than that, so a step holds at most
//! one spike, and the lifted phase below is continuous. The shared event loop
//! then detects it by sign change and refines it on this dense output.

use crate::atan::{atan2_pi, select};
use crate::{
    run_event_loop, Adjoint, Backend, InputSpike, NeuronTrace, SolverError, SolverOptions, Stepper,
};
use evnn_neurons::{NeuronModel, Qif};
use std::f64::consts::PI;

/// Highest order of the Taylor series (terms `0..=ORDER`); the order used
/// grows with the requested accuracy.
const ORDER: usize = 24;

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

/// Exact-to-tolerance QIF integration by Taylor series in homogeneous
/// coordinates: `u' = w/τ_mem`, `w' = −(w + (i + b)·u)/τ_mem` with the
/// phase `φ = ½ + atan2(−w/π, u)/π`, a linear ODE whose zeros of `u` are the
/// spikes. One step (order up to 16 at the default tolerance) typically spans a
/// whole interval between input spikes and costs no trigonometric function;
/// a Sturm comparison bound caps steps to hold at most one spike, so none is
/// missed. Its [`Adjoint`] differentiates the
/// same series in forward mode over each segment between events.
///
/// # Examples
///
/// ```
/// use evnn_neurons::Qif;
/// use evnn_solver::{Dopri5Backend, EventSolver, InputSpike, QifSeries, SolverOptions};
///
/// let opts = SolverOptions::default().with_tolerances(1e-12, 1e-12);
/// let inputs = [InputSpike::new(0.0, 10.0), InputSpike::new(4.0, 3.0)];
/// let mut a = EventSolver::new(Qif::default(), QifSeries, opts)?;
/// let mut b = EventSolver::new(Qif::default(), Dopri5Backend::default(), opts)?;
/// let (ta, tb) = (a.simulate(&[0.0], &inputs, 30.0)?, b.simulate(&[0.0], &inputs, 30.0)?);
/// assert_eq!(ta.spikes.len(), tb.spikes.len());
/// for (x, y) in ta.spikes.iter().zip(&tb.spikes) {
///     assert!((x - y).abs() < 1e-9);
/// }
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct QifSeries;

/// The series machinery shared by the stepper and the adjoint: constants of
/// one neuron run and the recurrences.
#[derive(Clone, Debug)]
struct Series {
    bias: f64,
    tol: f64,
    /// Series order in use.
    order: usize,
    /// `(−1/τ_syn)^k / k!` for `k ≤ order` (zero above), the series of
    /// `e^{−s/τ_syn}`, stored reversed (`decay_rev[ORDER − k]`), so that the
    /// convolution below runs over both arrays in the same direction.
    decay_rev: [f64; ORDER + 1],
    tau_mem: f64,
    tau_syn: f64,
    inv_tau: f64,
    inv_tau_syn: f64,
}

type Coeffs = [f64; ORDER + 1];

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
    fn new(qif: &Qif, bias: f64, options: &SolverOptions) -> Self {
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
    fn fits(&self, qif: &Qif, options: &SolverOptions) -> bool {
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
    fn expand_within(
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
    fn expand_tangents(
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
    fn eval(&self, cu: &Coeffs, cw: &Coeffs, s: f64, order: usize) -> [f64; 2] {
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
    fn taylor_step(&self, cu: &Coeffs, cw: &Coeffs, remaining: f64) -> f64 {
        let mut h = remaining;
        // The last term below the tolerance (one `powf`, skipped when the
        // whole remaining interval qualifies), then the one before it
        // checked at that step (rarely binding).
        let n = self.order;
        let c = cu[n].abs().max(cw[n].abs());
        if c > 0.0 && c * MARGIN[n] * powu(remaining, n) > self.tol {
            h = h.min(0.8 * root(self.tol / c, n));
        }
        let c = cu[n - 1].abs().max(cw[n - 1].abs());
        if c * powu(h, n - 1) > self.tol {
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
    fn rate(&self, y: [f64; 2], i: f64) -> [f64; 2] {
        let [u, w] = y;
        let num = w * (w + u) + u * u * (i + self.bias);
        let den = (PI * PI) * (u * u) + w * w;
        [num / den * self.inv_tau, -i * self.inv_tau_syn]
    }

    /// `h` shortened so that the step holds at most one zero of `u`, for a
    /// step starting with synaptic current `i`.
    fn sturm_cap(&self, i: f64, h: f64) -> f64 {
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

/// `x^n` for `n < 32` by squaring, inline (`f64::powi` with a run-time
/// exponent is a library call): five rounds whatever `n`, each multiplying
/// by `x^(2^j)` or by 1 (exact) as bit `j` of `n` says, so there is no
/// loop or branch on the bits (they mispredicted); the products are those
/// of the loop that skips the zero bits.
#[inline]
fn powu(mut x: f64, n: usize) -> f64 {
    debug_assert!(n < 32);
    let mut r = 1.0;
    for j in 0..5 {
        r *= select((n >> j) & 1 == 1, x, 1.0);
        x *= x;
    }
    r
}

/// The [`Stepper`] of [`QifSeries`]: Taylor steps of `(u, w)` about each
/// step's start, with the phase `φ` as its state.
#[derive(Clone, Debug)]
pub struct SeriesStepper {
    series: Series,
    t_prev: f64,
    t: f64,
    /// `(u, w)` at `t`, scaled to `max(|u|, |w|) = 1`, `u ≥ 0`.
    y: [f64; 2],
    /// Synaptic current at `t`.
    i: f64,
    x: [f64; 2],
    dx: [f64; 2],
    /// Taylor coefficients of `u` and `w` about `t_prev` (the last step).
    cu: Coeffs,
    cw: Coeffs,
    /// `i` at `t_prev`.
    i_prev: f64,
    /// The order of `cu` and `cw` ([`Series::expand_within`]).
    top: usize,
    /// `(u, w)` at `t` as the series gives them (before `y`'s rescaling).
    uw_end: [f64; 2],
}

/// The lifted phase of `y` in a step that starts with `u ≥ 0` and holds at
/// most one (downward) zero of `u`: `φ ∈ [0, 1)` before it, `(1, 2)` after.
fn phase(u: f64, w: f64) -> f64 {
    // `θ/π` with `θ = atan2(−w/π, u) = atan2(−w, πu)`.
    let theta = atan2_pi(-w, PI * u);
    let theta = if u < 0.0 && theta < 0.0 {
        theta + 2.0
    } else {
        theta
    };
    0.5 + theta
}

/// `∂φ/∂(u, w)` of [`phase`] (which is 0-homogeneous in `y`).
fn phase_grad(u: f64, w: f64) -> [f64; 2] {
    let r = PI * (u * u + w * w / (PI * PI));
    [w / (PI * r), -u / (PI * r)]
}

/// `y` of a phase `φ ∈ [0, 1)` (the states the event loop restarts from)
/// and `dy/dφ`, both scaled by the same factor to `max(|u|, |w|) = 1`.
fn homogeneous(phi: f64) -> ([f64; 2], [f64; 2]) {
    if phi == 0.0 {
        // Just reset: exactly on `u = 0`, moving up.
        return ([0.0, 1.0], [1.0, 0.0]);
    }
    let (s, c) = (PI * (phi - 0.5)).sin_cos();
    let (u, w) = (c, -PI * s);
    let m = u.abs().max(w.abs());
    ([u / m, w / m], [-PI * s / m, -PI * PI * c / m])
}

impl SeriesStepper {
    /// A stepper at `x0` at time 0 for bias `bias`.
    pub fn new(qif: &Qif, bias: f64, options: &SolverOptions, x0: [f64; 2]) -> Self {
        let mut s = SeriesStepper {
            series: Series::new(qif, bias, options),
            t_prev: 0.0,
            t: 0.0,
            y: [1.0, 0.0],
            i: 0.0,
            x: x0,
            dx: [0.0; 2],
            cu: [0.0; ORDER + 1],
            cw: [0.0; ORDER + 1],
            i_prev: 0.0,
            top: 0,
            uw_end: [1.0, 0.0],
        };
        s.set_state(0.0, &x0);
        s
    }

    /// Back at time 0 in `x0` for `bias`, as [`new`](Self::new) builds it;
    /// the series constants (decay series, order) are kept when the time
    /// constants and tolerance are those they were built for.
    fn reset(&mut self, qif: &Qif, bias: f64, options: &SolverOptions, x0: [f64; 2]) {
        if self.series.fits(qif, options) {
            self.series.bias = bias;
        } else {
            self.series = Series::new(qif, bias, options);
        }
        // The expansion empty, as in `new`, then the state.
        self.cu = [0.0; ORDER + 1];
        self.cw = [0.0; ORDER + 1];
        self.top = 0;
        self.set_state(0.0, &x0);
    }

    fn set_state(&mut self, t: f64, x: &[f64; 2]) {
        self.set_state_y(t, x, homogeneous(x[0]).0);
    }

    /// [`set_state`](Self::set_state) with `y`, of phase `x[0]`, given.
    fn set_state_y(&mut self, t: f64, x: &[f64; 2], y: [f64; 2]) {
        self.t_prev = t;
        self.t = t;
        self.y = y;
        self.i = x[1];
        self.x = *x;
        self.dx = self.series.rate(y, x[1]);
        // A constant expansion, the dense output of an empty step: it is
        // evaluated only at `s = t − t_prev = 0`, which reads `cu[0]` and
        // `cw[0]` alone (the higher terms, zero or finite from the last
        // step, are multiplied by `s = 0`), so they are left as they are.
        self.cu[0] = self.y[0];
        self.cw[0] = self.y[1];
        self.uw_end = self.y;
        self.i_prev = self.i;
    }
}

impl Stepper<Qif> for SeriesStepper {
    fn t(&self) -> f64 {
        self.t
    }
    fn t_prev(&self) -> f64 {
        self.t_prev
    }
    fn x(&self) -> &[f64; 2] {
        &self.x
    }
    fn dx(&self) -> &[f64; 2] {
        &self.dx
    }

    fn step(&mut self, t_stop: f64) -> Result<(), SolverError> {
        let sr = &self.series;
        self.i_prev = self.i;
        let remaining = t_stop - self.t;
        let reach = sr.sturm_cap(self.i, remaining);
        let top = sr.expand_within(self.y, self.i, reach, &mut self.cu, &mut self.cw);
        self.top = top;
        let h = if top < sr.order {
            reach
        } else {
            sr.sturm_cap(self.i, sr.taylor_step(&self.cu, &self.cw, remaining))
        };
        // A non-finite coefficient makes every later one non-finite (each
        // order is a finite nonzero multiple of the one before plus finite
        // terms), so the last order tells.
        if !(h > 0.0 && self.cu[top].is_finite() && self.cw[top].is_finite()) {
            // Keep the coefficients finite for `set_state_y`'s empty step.
            self.cu = [0.0; ORDER + 1];
            self.cw = [0.0; ORDER + 1];
            return Err(SolverError::NonFiniteState {
                t: self.t,
                state: self.x.to_vec(),
            });
        }
        // The step reaches `t_stop` or not: chosen by masks, as the data
        // decide (a branch mispredicted).
        let last = h >= remaining;
        let (h, t_new) = (select(last, remaining, h), select(last, t_stop, self.t + h));
        if !(t_new > self.t) {
            return Err(SolverError::StepSizeUnderflow { t: self.t, h });
        }
        let [u, w] = sr.eval(&self.cu, &self.cw, h, top);
        let i = self.i * (-h * sr.inv_tau_syn).exp();
        let x = [phase(u, w), i];
        let m = u.abs().max(w.abs());
        if !(m.is_finite() && m > 0.0 && i.is_finite()) {
            return Err(SolverError::NonFiniteState {
                t: t_new,
                state: x.to_vec(),
            });
        }
        self.t_prev = self.t;
        self.t = t_new;
        self.uw_end = [u, w];
        self.y = [u / m, w / m];
        self.i = i;
        self.x = x;
        self.dx = sr.rate(self.y, i);
        Ok(())
    }

    fn interpolate(
        &mut self,
        t: f64,
        x: &mut [f64; 2],
        dx: &mut [f64; 2],
    ) -> Result<(), SolverError> {
        let sr = &self.series;
        let s = (t - self.t_prev).clamp(0.0, self.t - self.t_prev);
        let [u, w] = sr.eval(&self.cu, &self.cw, s, self.top);
        *x = [phase(u, w), self.i_prev * (-s * sr.inv_tau_syn).exp()];
        *dx = sr.rate([u, w], x[1]);
        Ok(())
    }

    fn restart(&mut self, t: f64, x: &[f64; 2]) -> Result<(), SolverError> {
        if t == self.t && x[0] == self.x[0] {
            // An input: only the current jumps, and `y` (whose phase is
            // `x[0]`, unrounded) stays; no sine and cosine of the phase.
            self.set_state_y(t, x, self.y);
        } else {
            self.set_state(t, x);
        }
        Ok(())
    }

    /// Steps hold at most one zero of `u` (Sturm), and the lifted phase is
    /// monotone through it: a spike always shows as a sign change of `φ − 1`.
    fn sign_change_suffices(&self) -> bool {
        true
    }

    /// The spike is the zero of `u`, a polynomial on the step: safeguarded
    /// Newton on it (with `u' = w/τ_mem`) needs no `atan2`, exponential or
    /// sine per iteration, unlike Newton on `φ − 1`. `None` when `u` does
    /// not change sign on `[t_lo, t_hi]` (the phase and `u` disagree about
    /// the side only within rounding at a bracket end); the generic
    /// refinement takes over then.
    fn refine_crossing(&mut self, t_lo: f64, t_hi: f64) -> Option<f64> {
        let sr = &self.series;
        let (t0, width) = (self.t_prev, self.t - self.t_prev);
        let (inv_tau, (cu, cw, top)) = (sr.inv_tau, (&self.cu, &self.cw, self.top));
        // `−u`, increasing through the spike, and its derivative `−w/τ`.
        let minus_u = |t: f64| {
            let [u, w] = sr.eval(cu, cw, (t - t0).clamp(0.0, width), top);
            Ok::<_, std::convert::Infallible>((-u, -w * inv_tau))
        };
        // The bracket is the step, whose ends the series has given already.
        let known = |[u, w]: [f64; 2]| Ok((-u, -w * inv_tau));
        let lo = if t_lo == t0 {
            known([cu[0], cw[0]])
        } else {
            minus_u(t_lo)
        };
        let hi = if t_hi == self.t {
            known(self.uw_end)
        } else {
            minus_u(t_hi)
        };
        let (Ok((g_lo, d_lo)), Ok((g_hi, d_hi))) = (lo, hi);
        if !(g_lo < 0.0 && g_hi >= 0.0) {
            return None;
        }
        // Not converged: the generic refinement takes over (an error if it
        // does not converge either).
        let Ok(t) = crate::root::bracketed_newton((t_lo, g_lo, d_lo), (t_hi, g_hi, d_hi), minus_u);
        t.ok()
    }
}

impl Backend<Qif> for QifSeries {
    type Stepper = SeriesStepper;

    fn stepper(
        &self,
        model: &Qif,
        params: &[f64; 1],
        options: &SolverOptions,
    ) -> Option<SeriesStepper> {
        Some(SeriesStepper::new(
            model,
            params[0],
            options,
            model.initial_state(),
        ))
    }

    /// Keeps the stepper's series constants (the decay series and the
    /// order) when the time constants and tolerance are those it was built
    /// for: only the bias and the state change.
    fn reset_stepper(
        &self,
        stepper: &mut SeriesStepper,
        model: &Qif,
        params: &[f64; 1],
        options: &SolverOptions,
    ) {
        stepper.reset(model, params[0], options, model.initial_state());
    }

    fn simulate(
        &mut self,
        model: &Qif,
        params: &[f64; 1],
        inputs: &[InputSpike],
        t_end: f64,
        options: &SolverOptions,
        trace: &mut NeuronTrace<[f64; 2]>,
    ) -> Result<(), SolverError> {
        let mut stepper = SeriesStepper::new(model, params[0], options, model.initial_state());
        run_event_loop(&mut stepper, model, params, inputs, t_end, options, trace)
    }
}

/// The adjoint over one segment between events, by the same series: the
/// segment's flow `x_a ↦ x_b` is differentiated in forward mode (tangents
/// `∂y/∂φ_a`, `∂y/∂i_a`, `∂y/∂b` obey the linear ODE of `y`, the last two
/// forced by `∂I/∂i_a · u` and `∂I/∂b · u`), then `λ_a = (∂x_b/∂x_a)ᵀ λ_b`
/// and `μ += (∂x_b/∂b)ᵀ λ_b`. Rescaling `y` and its tangents by one
/// constant changes nothing, since `φ(y)` is 0-homogeneous.
///
/// `∂φ_b/∂φ_a` needs no series of its own: `y` and `∂y/∂φ_a` solve the same
/// linear ODE, whose matrix has trace `−1/τ_mem`, so their Wronskian
/// `W = u₁w₂ − u₂w₁` is `W_a e^{−Δ/τ_mem}` (Abel), and
/// `∂φ_b/∂φ_a = ∇φ(y_b) · ∂y_b/∂φ_a = −W_b / (π r_b)` with
/// `r = π(u² + w²/π²)`.
///
/// `∂φ_b/∂i_a` mostly needs no series either. The flow is invariant under
/// shifting the segment in time, and shifting its start `t_a` moves the
/// current `i_a e^{−(t − t_a)/τ_syn}` as `i_a/τ_syn` times a change of `i_a`
/// would; so `∂y_b/∂i_a = (τ_syn/i_a)(Φ y'_a − y'_b)` with `Φ` the
/// segment's fundamental matrix. Projected by `∇φ(y_b)`, which is zero on
/// `y_b` and one on `∂y_b/∂φ_a`'s direction at the start:
/// `∂φ_b/∂i_a = (τ_syn/i_a)(φ'_a ∂φ_b/∂φ_a − φ'_b)`. The difference carries
/// the truncation error of `φ'_b` times `τ_syn/|i_a|`, so the identity is
/// used only while `τ_syn|φ'| ≤ |i_a|` for every possible phase velocity
/// (a bound from `|I| ≤ |b| + |i_a|`), keeping that error at the
/// tolerance; smaller currents get the tangent's series. Where it holds,
/// the identity replaces a whole tangent series.
impl Adjoint<Qif> for QifSeries {
    fn propagate(
        &mut self,
        model: &Qif,
        params: &[f64; 1],
        t_a: f64,
        x_a: &[f64; 2],
        t_b: f64,
        _x_b: &[f64; 2],
        lambda: &mut [f64; 2],
        mu: &mut [f64; 1],
        options: &SolverOptions,
    ) -> Result<(), SolverError> {
        segment_adjoint(model, params[0], t_a, x_a, t_b, lambda, mu, options, true)
    }
}

/// [`QifSeries`]'s adjoint over one segment; `allow_shift: false` takes
/// the `i_a`-tangent's series even where the time-shift identity applies
/// (for testing one against the other).
#[allow(clippy::too_many_arguments)]
fn segment_adjoint(
    model: &Qif,
    bias: f64,
    t_a: f64,
    x_a: &[f64; 2],
    t_b: f64,
    lambda: &mut [f64; 2],
    mu: &mut [f64; 1],
    options: &SolverOptions,
    allow_shift: bool,
) -> Result<(), SolverError> {
    if !(t_b > t_a) || (lambda[0] == 0.0 && lambda[1] == 0.0) {
        // Nothing flows back through a zero adjoint.
        return Ok(());
    }
    let di_di = (-(t_b - t_a) * model.tau_syn().recip()).exp();
    if lambda[0] == 0.0 {
        // Only the current's adjoint flows back, by its own decay.
        lambda[1] *= di_di;
        return Ok(());
    }
    let sr = Series::new(model, bias, options);
    let (mut y, d_phi) = homogeneous(x_a[0]);
    let (y_a, i_a) = (y, x_a[1]);
    // `|φ'| ≤ (1 + 1/(2π) + |I|/π²)/τ_mem` (see the `rate` formula).
    let max_rate = (1.0 + 0.5 / PI + (sr.bias.abs() + i_a.abs()) / (PI * PI)) * sr.inv_tau;
    let by_shift = allow_shift && i_a.abs() >= model.tau_syn() * max_rate;
    // Wronskian of `y` and `∂y/∂φ_a`, scaled along with `y`; its decay
    // `e^{−Δ/τ_mem}` is applied once at the end.
    let mut wronskian = y[0] * d_phi[1] - d_phi[0] * y[1];
    let (mut d_i, mut d_b) = ([0.0; 2], [0.0; 2]);
    let mut i = x_a[1];
    // e^{−(t − t_a)/τ_syn} at the step start: the weight of i_a in I.
    let mut decay_a = 1.0;
    let mut coeffs = [[0.0; ORDER + 1]; 6];
    let mut t = t_a;
    let mut steps = 0;
    while t < t_b {
        let remaining = t_b - t;
        let top = sr.expand_tangents([y, d_i, d_b], i, decay_a, !by_shift, remaining, &mut coeffs);
        let [cu, cw, iu, iw, bu, bw] = &coeffs;
        let h = if top < sr.order {
            remaining
        } else {
            sr.taylor_step(cu, cw, remaining)
        };
        // As in the stepper, the last order tells whether all are finite.
        if !(h > 0.0 && cu[top].is_finite() && cw[top].is_finite()) {
            return Err(SolverError::NonFiniteState {
                t,
                state: y.to_vec(),
            });
        }
        steps += 1;
        if steps > options.max_steps {
            return Err(SolverError::StepLimit {
                limit: options.max_steps,
                t,
            });
        }
        let last = h >= remaining;
        let h = if last { remaining } else { h };
        let yb = sr.eval(cu, cw, h, top);
        let m = yb[0].abs().max(yb[1].abs());
        if !(m.is_finite() && m > 0.0) {
            return Err(SolverError::NonFiniteState {
                t: t + h,
                state: yb.to_vec(),
            });
        }
        let scale = |v: [f64; 2]| [v[0] / m, v[1] / m];
        y = scale(yb);
        wronskian /= m * m;
        if !by_shift {
            d_i = scale(sr.eval(iu, iw, h, top));
        }
        d_b = scale(sr.eval(bu, bw, h, top));
        let e = (-h * sr.inv_tau_syn).exp();
        i *= e;
        decay_a *= e;
        t = if last { t_b } else { t + h };
    }
    let g = phase_grad(y[0], y[1]);
    let dot = |v: [f64; 2]| g[0] * v[0] + g[1] * v[1];
    let r = PI * (y[0] * y[0] + y[1] * y[1] / (PI * PI));
    let dphi_dphi = -wronskian * (-(t_b - t_a) * sr.inv_tau).exp() / (PI * r);
    let dphi_di = if by_shift {
        let (rate_a, rate_b) = (sr.rate(y_a, i_a)[0], sr.rate(y, i)[0]);
        model.tau_syn() / i_a * (rate_a * dphi_dphi - rate_b)
    } else {
        dot(d_i)
    };
    let dphi_db = dot(d_b);
    let l = *lambda;
    lambda[0] = l[0] * dphi_dphi;
    lambda[1] = l[0] * dphi_di + l[1] * di_di;
    mu[0] += l[0] * dphi_db;
    if !(lambda[0].is_finite() && lambda[1].is_finite() && mu[0].is_finite()) {
        return Err(SolverError::NonFiniteSensitivity {
            what: "adjoint",
            index: 0,
            value: lambda[0] + lambda[1] + mu[0],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spike times refined as zeros of `u` agree with the generic refinement
    /// of `φ − 1` to round-off, over many spikes with inputs of both signs.
    #[test]
    fn zero_of_u_refinement_matches_generic_refinement() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let mut compared = 0;
        for (bias, scale) in [(0.3, 1.0), (-0.2, 3.0), (0.05, 6.0)] {
            let inputs: Vec<InputSpike> = (0..40)
                .map(|m| InputSpike::new(2.5 * m as f64, scale * (6.0 - (m % 5) as f64 * 2.5)))
                .collect();
            for tol in [1e-6, 1e-12] {
                let opts = SolverOptions::default().with_tolerances(tol, tol);
                let run = |generic: bool| {
                    let x0 = qif.initial_state();
                    let mut trace = NeuronTrace::new(x0);
                    let stepper = SeriesStepper::new(&qif, bias, &opts, x0);
                    if generic {
                        let mut s = crate::GenericSearch(stepper);
                        run_event_loop(&mut s, &qif, &[bias], &inputs, 110.0, &opts, &mut trace)
                    } else {
                        let mut s = stepper;
                        run_event_loop(&mut s, &qif, &[bias], &inputs, 110.0, &opts, &mut trace)
                    }
                    .unwrap();
                    trace.spikes
                };
                let (own, generic) = (run(false), run(true));
                assert_eq!(own.len(), generic.len(), "bias {bias}, tol {tol}");
                for (a, b) in own.iter().zip(&generic) {
                    // Measured: within 1e-14 relative.
                    assert!((a - b).abs() <= 1e-13 * b.abs(), "{a} vs {b}");
                }
                compared += own.len();
            }
        }
        assert!(compared >= 20, "{compared} spikes compared");
    }

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

    /// The stepper's right-hand side from `y` agrees with the model's
    /// phase form at the same state, across the phase circle.
    #[test]
    fn rate_from_y_matches_model_dynamics() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        for bias in [-0.3, 0.0, 0.7] {
            let series = Series::new(&qif, bias, &SolverOptions::default());
            for k in 0..200 {
                let phi = k as f64 / 200.0;
                let i = 3.0 * (k as f64 * 0.37).sin();
                let (y, _) = homogeneous(phi);
                for scale in [1.0, 1e-3, 7.5] {
                    let got = series.rate([y[0] * scale, y[1] * scale], i);
                    let mut want = [0.0; 2];
                    qif.dynamics(&[bias], &[phi, i], &mut want);
                    for (a, b) in got.iter().zip(&want) {
                        assert!(
                            (a - b).abs() <= 1e-14 * (1.0 + b.abs()),
                            "φ {phi}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn phase_round_trip_and_lift() {
        for phi in [0.0, 1e-9, 0.1, 0.5, 0.9, 1.0 - 1e-12] {
            let ([u, w], _) = homogeneous(phi);
            assert!(u >= 0.0);
            assert!((phase(u, w) - phi).abs() < 1e-15, "φ {phi}");
        }
        // Past the spike (u < 0) the phase continues above 1.
        assert!((phase(-1e-3, -1.0) - 1.0).abs() < 1e-3);
        assert!(phase(-1e-3, -1.0) > 1.0);
        assert!((phase(-1.0, 0.0) - 1.5).abs() < 1e-15);
        assert!(phase(-1.0, 1e-3) > 1.5);
    }

    /// The series adjoint of a segment against the numerical adjoint, on
    /// segments with and without a spike at the end, positive and negative
    /// currents and biases.
    #[test]
    fn segment_adjoint_matches_numerical_adjoint() {
        use crate::RkAdjoint;
        let qif = Qif::new(20.0, 5.0).unwrap();
        let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
        let mut checked = 0;
        for (phi_a, i_a, b, dt) in [
            (0.5, 0.0, 0.3, 5.0),
            (0.0, 12.0, -0.2, 3.0),
            (0.2, 30.0, 0.0, 1.5),
            (0.9, -8.0, 0.6, 7.0),
            (0.4, 3.0, -1.0, 12.0),
            (0.0, 0.0, 2.0, 2.0),
        ] {
            let x_a = [phi_a, i_a];
            // The end state, which tells the numerical adjoint whether the
            // segment ends at a spike.
            let mut stepper = SeriesStepper::new(&qif, b, &opts, x_a);
            while stepper.t() < dt {
                stepper.step(dt).unwrap();
            }
            let x_b = *stepper.x();
            for lambda_b in [[1.0, 0.0], [0.0, 1.0], [0.7, -1.3]] {
                let (mut l1, mut m1) = (lambda_b, [0.25]);
                let (mut l2, mut m2) = (lambda_b, [0.25]);
                QifSeries
                    .propagate(&qif, &[b], 0.0, &x_a, dt, &x_b, &mut l1, &mut m1, &opts)
                    .unwrap();
                RkAdjoint::default()
                    .propagate(&qif, &[b], 0.0, &x_a, dt, &x_b, &mut l2, &mut m2, &opts)
                    .unwrap();
                for (a, e) in l1.iter().chain(&m1).zip(l2.iter().chain(&m2)) {
                    assert!(
                        (a - e).abs() <= 1e-8 * (1.0 + e.abs()),
                        "φ_a {phi_a}, i_a {i_a}, b {b}, dt {dt}, λ_b {lambda_b:?}: series {l1:?} {m1:?}, numerical {l2:?} {m2:?}"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 18);
    }

    /// The time-shift identity for `∂φ_b/∂i_a` agrees with the
    /// `i_a`-tangent's series, down to the smallest currents it is used
    /// for: to round-off at tolerance 1e-13 and to the tolerance at 1e-6.
    #[test]
    fn shift_identity_matches_tangent_series() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let mut by_shift = 0;
        // Measured: 5.2e-16 and 1.2e-8.
        for (tol, bound) in [(1e-13, 1e-14), (1e-6, 1e-7)] {
            let opts = SolverOptions::default().with_tolerances(tol, tol);
            let mut worst: f64 = 0.0;
            for phi_a in [0.0, 0.3, 0.5, 0.95] {
                for i_a in [-40.0, -3.0, -0.4, 0.3, 1.0, 8.0, 30.0] {
                    for b in [-0.5, 0.0, 0.4] {
                        for dt in [0.5, 4.0, 15.0] {
                            let x_a = [phi_a, i_a];
                            let (mut l, mut m) = ([[1.0, 0.5]; 2], [[0.0]; 2]);
                            for (k, shift) in [true, false].into_iter().enumerate() {
                                segment_adjoint(
                                    &qif, b, 0.0, &x_a, dt, &mut l[k], &mut m[k], &opts, shift,
                                )
                                .unwrap();
                            }
                            // `∂φ_b/∂φ_a` and `∂φ_b/∂b` agree to the
                            // tolerance: the series stop at an order that
                            // depends on which tangents they carry.
                            let rel = |a: f64, b: f64| (a - b).abs() / (1.0 + b.abs());
                            let other = rel(l[0][0], l[1][0]).max(rel(m[0][0], m[1][0]));
                            let err = rel(l[0][1], l[1][1]);
                            worst = worst.max(err).max(other);
                            let max_rate = (1.0 + 0.5 / PI + (b.abs() + i_a.abs()) / (PI * PI))
                                / qif.tau_mem();
                            if i_a.abs() >= qif.tau_syn() * max_rate {
                                by_shift += 1;
                            } else {
                                assert_eq!(l[0][1], l[1][1], "series on both sides");
                            }
                        }
                    }
                }
            }
            assert!(worst <= bound, "tol {tol:e}: worst {worst:e}");
        }
        assert!(by_shift >= 400, "{by_shift} segments by the identity");
    }

    /// Constant current `I = b > ¼` (`i = 0`): with `k = √(b − ¼)`,
    /// `V − ½ = k tan(k(t − c)/τ)`, so from `V = 0` the first spike is at
    /// `τ/k·(π/2 + atan(1/(2k)))` and the period is `πτ/k`.
    #[test]
    fn periodic_firing_matches_closed_form() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        for b in [0.3, 1.0, 7.5, 60.0] {
            let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
            let mut trace = NeuronTrace::new(qif.initial_state());
            QifSeries
                .simulate(&qif, &[b], &[], 400.0, &opts, &mut trace)
                .unwrap();
            let k = (b - 0.25_f64).sqrt();
            let tau = qif.tau_mem();
            let first = tau / k * (PI / 2.0 + (1.0 / (2.0 * k)).atan());
            let period = PI * tau / k;
            assert!(!trace.spikes.is_empty(), "b {b}");
            for (n, t) in trace.spikes.iter().enumerate() {
                let expected = first + n as f64 * period;
                assert!(
                    (t - expected).abs() <= 1e-9 * expected,
                    "b {b}, spike {n}: got {t}, expected {expected}"
                );
            }
            let n_expected = ((400.0 - first) / period).floor() as usize + 1;
            assert_eq!(trace.spikes.len(), n_expected, "b {b}");
        }
    }
}
