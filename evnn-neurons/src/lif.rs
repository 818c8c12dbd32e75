//! Leaky integrate-and-fire neuron with a current-based synapse.

use crate::error::positive;
use crate::math::powu_by_product;
use crate::{NeuronError, NeuronModel, Scalar};
use serde::{Deserialize, Serialize};

/// Leaky integrate-and-fire neuron with an exponentially decaying synaptic
/// current, in eventax's parameterisation.
///
/// State `x = (v, i)`, learnable parameter `p = (b)` (bias current):
///
/// - `τ_mem v' = −v + i + b`, `τ_syn i' = −i`
/// - input spike of weight `w`: `i ← i + w`
/// - event `g = v − θ` crossing zero upward; reset `v ← v_r`
/// - initial state `(0, 0)`
///
/// Between events the state has a closed form ([`Lif::evolve`]), which the
/// solver crate uses as an exact backend and the tests as an oracle.
/// Units of time are the caller's (Yin–Yang uses ms). Reference: Wunderlich &
/// Pehle, Sci. Rep. 11, 12829 (2021).
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel};
///
/// let lif = Lif::new(20.0, 5.0, 1.0, 0.0).unwrap();
/// let mut x = lif.initial_state();
/// lif.input_jump(&mut x, 2.0);
/// let x1 = lif.evolve(&[0.0], &x, 3.0);
/// assert!(x1[0] > 0.0 && x1[1] < 2.0);
/// assert!(Lif::new(-1.0, 5.0, 1.0, 0.0).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LifConstants", into = "LifConstants")]
pub struct Lif {
    tau_mem: f64,
    tau_syn: f64,
    theta: f64,
    v_reset: f64,
    /// Derived: `1/τ_m`, `1/τ_s`, `δ = 1/τ_m − 1/τ_s` and `1/δ` (0 when
    /// `δ = 0`); divisions cost several times a multiplication.
    inv_tau_mem: f64,
    inv_tau_syn: f64,
    delta: f64,
    inv_delta: f64,
    /// `k = τ_m/τ_s` when it is an integer from 2 to 8, else 0: then
    /// `e^{−t/τ_s} = (e^{−t/τ_m})^k` and [`Lif::decay`] needs one exponential.
    ratio: u32,
}

/// The factors of [`Lif`]'s closed form over a time `dt ≥ 0` without events
/// ([`Lif::decay`]): `v(dt) = b + (v₀ − b)·mem + i₀·kernel`, `i(dt) = i₀·syn`.
#[derive(Clone, Copy, Debug, PartialEq)]
// Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
// adjoint), public only for that crate; not part of the API.
#[doc(hidden)]
pub struct LifDecay {
    /// `e^{−dt/τ_m}`.
    pub mem: f64,
    /// `1 − e^{−dt/τ_m}`, without cancellation for small `dt`.
    pub one_minus_mem: f64,
    /// `e^{−dt/τ_s}`.
    pub syn: f64,
    /// `e^{−dt/τ_m}(e^{δ·dt} − 1)/(τ_m δ)` with `δ = 1/τ_m − 1/τ_s`
    /// (`dt·e^{−dt/τ}/τ` when `τ_m = τ_s`): the response of `v` to a unit
    /// current.
    pub kernel: f64,
}

/// The constants of a [`Lif`] as they appear in files (validated on load).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifConstants {
    /// Membrane time constant `τ_mem` (> 0).
    pub tau_mem: f64,
    /// Synaptic time constant `τ_syn` (> 0).
    pub tau_syn: f64,
    /// Threshold `θ` (finite).
    pub theta: f64,
    /// Reset potential `v_r` (finite, < θ).
    pub v_reset: f64,
}

impl TryFrom<LifConstants> for Lif {
    type Error = NeuronError;
    fn try_from(c: LifConstants) -> Result<Self, NeuronError> {
        Lif::new(c.tau_mem, c.tau_syn, c.theta, c.v_reset)
    }
}

impl From<Lif> for LifConstants {
    fn from(l: Lif) -> Self {
        LifConstants {
            tau_mem: l.tau_mem,
            tau_syn: l.tau_syn,
            theta: l.theta,
            v_reset: l.v_reset,
        }
    }
}

impl Default for Lif {
    /// `τ_mem = 20`, `τ_syn = 5`, `θ = 1`, `v_r = 0`.
    fn default() -> Self {
        Lif::with_constants(20.0, 5.0, 1.0, 0.0)
    }
}

impl Lif {
    /// A LIF neuron; errors when a time constant is not finite and positive,
    /// `θ` or `v_r` is not finite, or `v_r ≥ θ`.
    pub fn new(tau_mem: f64, tau_syn: f64, theta: f64, v_reset: f64) -> Result<Self, NeuronError> {
        positive("LIF", "tau_mem", tau_mem)?;
        positive("LIF", "tau_syn", tau_syn)?;
        if !theta.is_finite() {
            return Err(NeuronError::InvalidConstant {
                model: "LIF",
                name: "theta",
                value: theta,
                reason: "must be finite",
            });
        }
        if !v_reset.is_finite() || v_reset >= theta {
            return Err(NeuronError::InvalidConstant {
                model: "LIF",
                name: "v_reset",
                value: v_reset,
                reason: "must be finite and below the threshold theta",
            });
        }
        Ok(Lif::with_constants(tau_mem, tau_syn, theta, v_reset))
    }

    /// The neuron with valid constants and its derived values.
    fn with_constants(tau_mem: f64, tau_syn: f64, theta: f64, v_reset: f64) -> Self {
        let delta = 1.0 / tau_mem - 1.0 / tau_syn;
        Lif {
            tau_mem,
            tau_syn,
            theta,
            v_reset,
            inv_tau_mem: 1.0 / tau_mem,
            inv_tau_syn: 1.0 / tau_syn,
            delta,
            inv_delta: if delta == 0.0 { 0.0 } else { 1.0 / delta },
            ratio: (2..=8u32)
                .find(|&k| tau_mem == k as f64 * tau_syn)
                .unwrap_or(0),
        }
    }

    /// Membrane time constant `τ_mem`.
    pub fn tau_mem(&self) -> f64 {
        self.tau_mem
    }
    /// Synaptic time constant `τ_syn`.
    pub fn tau_syn(&self) -> f64 {
        self.tau_syn
    }
    /// Threshold `θ`.
    pub fn theta(&self) -> f64 {
        self.theta
    }
    /// Reset potential `v_r`.
    pub fn v_reset(&self) -> f64 {
        self.v_reset
    }

    /// The exact state a time `dt ≥ 0` after `x0`, with no event in between:
    /// `i(t) = i₀ e^{−t/τ_s}` and
    /// `v(t) = b + (v₀ − b) e^{−t/τ_m} + i₀ e^{−t/τ_m} (e^{δt} − 1) / (τ_m δ)`
    /// with `δ = 1/τ_m − 1/τ_s`.
    pub fn evolve(&self, p: &[f64; 1], x0: &[f64; 2], dt: f64) -> [f64; 2] {
        self.evolve_with_mem(p, x0, dt).0
    }

    /// [`evolve`](Self::evolve), and the factor `e^{−dt/τ_m}` it used (for a
    /// caller that goes on in `q = e^{−s/τ_m}`, as with
    /// [`threshold_polynomial`](Self::threshold_polynomial)).
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let lif = Lif::default();
    /// let (x, q) = lif.evolve_with_mem(&[0.1], &[0.2, 3.0], 2.0);
    /// assert_eq!(x, lif.evolve(&[0.1], &[0.2, 3.0], 2.0));
    /// assert!((q - (-2.0f64 / lif.tau_mem()).exp()).abs() < 1e-15);
    /// ```
    #[inline]
    // Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
    // adjoint), public only for that crate; not part of the API.
    #[doc(hidden)]
    pub fn evolve_with_mem(&self, p: &[f64; 1], x0: &[f64; 2], dt: f64) -> ([f64; 2], f64) {
        let d = self.decay_parts(dt, false);
        (Self::apply(p, x0, &d), d.mem)
    }

    /// The state a segment with factors `d` leads to from `x0`.
    #[inline(always)]
    fn apply(p: &[f64; 1], x0: &[f64; 2], d: &LifDecay) -> [f64; 2] {
        let b = p[0];
        let (v0, i0) = (x0[0], x0[1]);
        // `kernel` is at most about 1: multiplying it into `i₀` last keeps a
        // huge `i₀` from overflowing an intermediate product.
        [b + (v0 - b) * d.mem + i0 * d.kernel, i0 * d.syn]
    }

    /// The factors of the closed form over `dt ≥ 0` ([`LifDecay`]), each to a
    /// few ulps. The kernel's factor `(e^{δt} − 1)/δ` tends to `t` as
    /// `τ_s → τ_m`; for `|δt| < ¼` it comes from `expm1`, without
    /// cancellation, otherwise from the difference of the two exponentials
    /// (which differ by at least a factor `e^{¼}`). When `τ_m = k·τ_s` for an
    /// integer `k` from 2 to 8 (eventax's default is 4), `e^{−t/τ_s}` and
    /// `e^{δt}` are powers of `q = e^{−t/τ_m}`, and the factors cost one
    /// exponential (`expm1` while `t ≤ τ_m/2`, so that `1 − q` and
    /// `q^{k−1} − 1 = (q − 1)(1 + q + … + q^{k−2})` do not cancel) instead of
    /// three.
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let d = Lif::default().decay(3.0); // τ_m = 20, τ_s = 5
    /// assert!((d.mem - (-3.0f64 / 20.0).exp()).abs() < 1e-15);
    /// assert!((d.syn - (-3.0f64 / 5.0).exp()).abs() < 1e-15);
    /// assert!((d.one_minus_mem - (1.0 - d.mem)).abs() < 1e-15);
    /// ```
    // Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
    // adjoint), public only for that crate; not part of the API.
    #[doc(hidden)]
    pub fn decay(&self, dt: f64) -> LifDecay {
        self.decay_parts(dt, true)
    }

    /// [`decay`](Self::decay); without `complement`, `one_minus_mem` may be
    /// `1 − mem` with cancellation (it saves an `expm1` where `evolve`
    /// does not need it).
    #[inline(always)]
    fn decay_parts(&self, dt: f64, complement: bool) -> LifDecay {
        let x = dt * self.inv_tau_mem;
        if self.ratio > 0 {
            let k = self.ratio;
            let (q, one_minus_q, q_km1_minus_1) = if x <= 0.5 {
                let m = (-x).exp_m1();
                let q = 1.0 + m;
                (q, -m, m * ones_series(q, k - 1))
            } else {
                let q = (-x).exp();
                (q, 1.0 - q, powu_by_product(q, k - 1) - 1.0)
            };
            return self.ratio_decay(q, one_minus_q, q_km1_minus_1);
        }
        let em = (-x).exp();
        let es = (-dt * self.inv_tau_syn).exp();
        let kernel = if (self.delta * dt).abs() < 0.25 {
            em * self.syn_kernel(dt)
        } else {
            (es - em) * self.inv_delta
        };
        LifDecay {
            mem: em,
            one_minus_mem: if complement && x <= 0.5 {
                -(-x).exp_m1()
            } else {
                1.0 - em
            },
            syn: es,
            kernel: kernel * self.inv_tau_mem,
        }
    }

    /// The state after `x0` with no event in between, at the time where
    /// `e^{−s/τ_m} = q` (`0 < q ≤ 1`), when `τ_m = k·τ_s` for an integer k
    /// from 2 to 8: for a caller that solved for `q`
    /// ([`threshold_polynomial`](Self::threshold_polynomial)) and needs the
    /// state there without the exponential. `None` for other time constants.
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let lif = Lif::default(); // τ_m = 4 τ_s
    /// let (p, x0, s) = ([0.1], [0.2, 3.0], 2.0);
    /// let x = lif.evolve_to_mem(&p, &x0, (-s / lif.tau_mem()).exp()).unwrap();
    /// let exact = lif.evolve(&p, &x0, s);
    /// assert!((x[0] - exact[0]).abs() < 1e-15 && (x[1] - exact[1]).abs() < 1e-15);
    /// ```
    // Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
    // adjoint), public only for that crate; not part of the API.
    #[doc(hidden)]
    pub fn evolve_to_mem(&self, p: &[f64; 1], x0: &[f64; 2], q: f64) -> Option<[f64; 2]> {
        if self.ratio == 0 {
            return None;
        }
        let d = self.ratio_decay(q, 1.0 - q, powu_by_product(q, self.ratio - 1) - 1.0);
        Some(Self::apply(p, x0, &d))
    }

    /// The factors of [`decay`](Self::decay) from `q = e^{−dt/τ_m}` when
    /// `τ_m = k·τ_s`, with `1 − q` and `q^{k−1} − 1` given (the caller
    /// computes them without cancellation where it can).
    #[inline(always)]
    fn ratio_decay(&self, q: f64, one_minus_q: f64, q_km1_minus_1: f64) -> LifDecay {
        LifDecay {
            mem: q,
            one_minus_mem: one_minus_q,
            syn: powu_by_product(q, self.ratio),
            kernel: q * q_km1_minus_1 * self.inv_delta * self.inv_tau_mem,
        }
    }

    /// `(A, B)` of the closed form `v(s) = b + A e^{−s/τ_m} + B e^{−s/τ_s}`
    /// after `x0` with no event: `B = i₀/(δτ_m)`, `A = v₀ − b − B`.
    fn exponential_weights(&self, p: &[f64; 1], x0: &[f64; 2]) -> (f64, f64) {
        let big_b = x0[1] * self.inv_delta * self.inv_tau_mem;
        (x0[0] - p[0] - big_b, big_b)
    }

    /// The time `s ∈ (0, h)` after `x0`, with no event in between, at which
    /// `v' = 0`, from the closed form of [`evolve`](Self::evolve):
    /// `v(s) = b + A e^{−s/τ_m} + B e^{−s/τ_s}` with `B = i₀/(δτ_m)`,
    /// `A = v₀ − b − B`, so `v' = 0` only at `e^{δs} = −Aτ_s/(Bτ_m)`. It is
    /// `v`'s maximum on `[0, h]` when `v` rises at 0 (and a minimum when `v`
    /// falls there). `None` when `v` has no stationary point in `(0, h)`, and
    /// when `|δ|h < 10⁻²` (then `A` and `B` nearly cancel and the formula is
    /// ill-conditioned).
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let lif = Lif::default();
    /// let s = lif.membrane_extremum(&[0.0], &[0.0, 3.0], 30.0).unwrap();
    /// let v = |t| lif.evolve(&[0.0], &[0.0, 3.0], t)[0];
    /// assert!(v(s) > v(s - 1e-3) && v(s) > v(s + 1e-3));
    /// ```
    // Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
    // adjoint), public only for that crate; not part of the API.
    #[doc(hidden)]
    pub fn membrane_extremum(&self, p: &[f64; 1], x0: &[f64; 2], h: f64) -> Option<f64> {
        if !(self.delta.abs() * h >= 1e-2) {
            return None;
        }
        let (big_a, big_b) = self.exponential_weights(p, x0);
        let s = (-big_a * self.tau_syn / (big_b * self.tau_mem)).ln() * self.inv_delta;
        (s > 0.0 && s < h).then_some(s)
    }

    /// `v − θ` after `x0`, with no event in between, as a polynomial in
    /// `q = e^{−s/τ_m}` when `τ_m = k·τ_s` for an integer k from 2 to 8:
    /// the closed form of [`evolve`](Self::evolve) becomes
    /// `(b − θ) + A q + B q^k` (`A`, `B` as in
    /// [`membrane_extremum`](Self::membrane_extremum)), whose root a solver
    /// can refine without an exponential per iteration (the solver crate's
    /// `LifStepper` does). `None` for other time constants.
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let lif = Lif::default(); // τ_m = 4 τ_s
    /// let (p, x0) = ([0.0], [0.0, 8.0]);
    /// let poly = lif.threshold_polynomial(&p, &x0).unwrap();
    /// let s = 1.5;
    /// let (value, _slope) = poly.eval((-s / lif.tau_mem()).exp());
    /// assert!((value - (lif.evolve(&p, &x0, s)[0] - lif.theta())).abs() < 1e-14);
    /// ```
    // Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
    // adjoint), public only for that crate; not part of the API.
    #[doc(hidden)]
    pub fn threshold_polynomial(&self, p: &[f64; 1], x0: &[f64; 2]) -> Option<ThresholdPolynomial> {
        if self.ratio == 0 {
            return None;
        }
        let (a, b) = self.exponential_weights(p, x0);
        Some(ThresholdPolynomial {
            c0: p[0] - self.theta,
            a,
            b,
            k: self.ratio,
        })
    }

    /// `(e^{δt} − 1)/δ` with `δ = 1/τ_m − 1/τ_s` (equal to `t` when `δ = 0`).
    fn syn_kernel(&self, dt: f64) -> f64 {
        if self.delta == 0.0 {
            dt
        } else {
            (self.delta * dt).exp_m1() * self.inv_delta
        }
    }
}

/// `1 + q + … + q^{n−1}` by Horner's rule (`1` for `n ≤ 1`), unrolled as
/// [`powu_by_product`].
#[inline]
fn ones_series(q: f64, n: u32) -> f64 {
    match n {
        0 | 1 => 1.0,
        2 => 1.0 + q,
        3 => 1.0 + q * (1.0 + q),
        4 => 1.0 + q * (1.0 + q * (1.0 + q)),
        5 => 1.0 + q * (1.0 + q * (1.0 + q * (1.0 + q))),
        6 => 1.0 + q * (1.0 + q * (1.0 + q * (1.0 + q * (1.0 + q)))),
        _ => {
            let mut sum = 1.0;
            for _ in 1..n {
                sum = 1.0 + q * sum;
            }
            sum
        }
    }
}

/// `v − θ = c₀ + A q + B q^k` of a LIF segment in `q = e^{−s/τ_m}`
/// ([`Lif::threshold_polynomial`]).
#[derive(Clone, Copy, Debug, PartialEq)]
// Hidden: a kernel of evnn-solver's `ClosedForm` backend (its stepper and
// adjoint), public only for that crate; not part of the API.
#[doc(hidden)]
pub struct ThresholdPolynomial {
    c0: f64,
    a: f64,
    b: f64,
    k: u32,
}

impl ThresholdPolynomial {
    /// `(v − θ, d(v − θ)/dq)` at `q`.
    #[inline]
    pub fn eval(&self, q: f64) -> (f64, f64) {
        let qk1 = powu_by_product(q, self.k - 1);
        (
            self.c0 + q * (self.a + self.b * qk1),
            self.a + self.k as f64 * self.b * qk1,
        )
    }

    /// Whether the polynomial is concave in `q` on `q > 0` (its second
    /// derivative `k(k−1)B q^{k−2}` is not positive: `B ≤ 0`, which is the
    /// case when the synaptic current is not negative); convex otherwise.
    /// A root solver can pick the side from which Newton's iteration
    /// converges monotonically.
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let lif = Lif::default();
    /// let exciting = lif.threshold_polynomial(&[0.0], &[0.0, 8.0]).unwrap();
    /// let inhibiting = lif.threshold_polynomial(&[0.0], &[0.0, -8.0]).unwrap();
    /// assert!(exciting.concave() && !inhibiting.concave());
    /// ```
    pub fn concave(&self) -> bool {
        self.b <= 0.0
    }

    /// Whether the polynomial's value at its stationary point `q* > 0` is
    /// below zero by a margin far above round-off: for a segment whose
    /// potential has a maximum, that it stays below the threshold. From
    /// `q*^{k−1} = P = −A/(kB)` the value is `c₀ + (1 − 1/k) A q*`, and the
    /// test compares `P` with a power of the `q*` at which it would be zero,
    /// with no root, exponential or logarithm. `false` when no stationary
    /// point exists, and where the value is within a relative margin of
    /// `10⁻⁹` of zero (left to an exact search).
    ///
    /// ```
    /// use evnn_neurons::Lif;
    ///
    /// let lif = Lif::default();
    /// let v_max = |i0: f64| {
    ///     let v = |t: f64| lif.evolve(&[0.0], &[0.0, i0], t)[0];
    ///     (0..3000).map(|m| v(m as f64 * 0.01)).fold(f64::MIN, f64::max)
    /// };
    /// for i0 in [1.0, 3.0, 3.2, 5.0] {
    ///     let poly = lif.threshold_polynomial(&[0.0], &[0.0, i0]).unwrap();
    ///     assert_eq!(poly.stationary_value_below_zero(), v_max(i0) < lif.theta());
    /// }
    /// ```
    #[inline]
    pub fn stationary_value_below_zero(&self) -> bool {
        const MARGIN: f64 = 1.0 + 1e-9;
        let k = self.k as f64;
        let p = -self.a / (k * self.b);
        if !(p > 0.0 && p.is_finite()) {
            return false;
        }
        let d = (1.0 - 1.0 / k) * self.a;
        let c0 = self.c0;
        if d <= 0.0 && c0 < 0.0 {
            // Both terms negative.
            return true;
        }
        // The value is zero at `q_zero = −c₀/d`; below zero for
        // `q* < q_zero` when `d > 0`, for `q* > q_zero` when `d < 0`.
        let q_zero = -c0 / d;
        if !(q_zero > 0.0 && q_zero.is_finite()) {
            return false;
        }
        let p_zero = powu_by_product(q_zero, self.k - 1);
        if d > 0.0 {
            p * MARGIN < p_zero
        } else {
            p > p_zero * MARGIN
        }
    }
}

impl NeuronModel for Lif {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "LIF";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];

    fn initial_state(&self) -> [f64; 2] {
        [0.0, 0.0]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = (-x[0] + x[1] + p[0]) * self.inv_tau_mem;
        dx[1] = -x[1] * self.inv_tau_syn;
    }

    #[inline]
    fn dynamics_vjp(
        &self,
        _p: &[f64; 1],
        _x: &[f64; 2],
        l: &[f64; 2],
        lx: &mut [f64; 2],
        lp: &mut [f64; 1],
    ) {
        lx[0] = -l[0] * self.inv_tau_mem;
        lx[1] = l[0] * self.inv_tau_mem - l[1] * self.inv_tau_syn;
        lp[0] = l[0] * self.inv_tau_mem;
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.theta
    }

    #[inline]
    fn event_grad(&self, _x: &[f64; 2], gx: &mut [f64; 2]) {
        *gx = [1.0, 0.0];
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(self.v_reset);
    }

    #[inline]
    fn reset_vjp(&self, _x: &[f64; 2], l: &[f64; 2], out: &mut [f64; 2]) {
        *out = [0.0, l[1]];
    }

    /// With `I_max = b + max(i, 0) < θ` the drive `i + b` stays below `θ`
    /// (`i` decays towards 0), so at `v = θ`, `τ_mem v' = i + b − θ < 0`: a
    /// state with `v < θ` never reaches the threshold, for any horizon.
    fn silent_for(&self, p: &[f64; 1], x: &[f64; 2], _horizon: f64) -> bool {
        x[0] < self.theta && p[0] + x[1].max(0.0) < self.theta
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[1] += w;
    }

    #[inline]
    fn input_jump_vjp(&self, _x: &[f64; 2], _w: f64, l: &[f64; 2], out: &mut [f64; 2]) -> f64 {
        *out = *l;
        l[1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, CheckOptions};
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// The unrolled `ones_series` gives the loop's values bit for bit (same
    /// operations in the same order; `powu_by_product`'s test is in
    /// `math`).
    #[test]
    fn unrolled_ones_series_matches_the_loop() {
        for x in [0.3, 0.999_999, 1.0 - 1e-12, 0.5, 0.123_456_789] {
            let mut sum = 1.0f64;
            for n in 0..12u32 {
                assert_eq!(
                    ones_series(x, n.max(1)).to_bits(),
                    sum.to_bits(),
                    "{x}, {n}"
                );
                if n >= 1 {
                    sum = 1.0 + x * sum;
                }
            }
        }
    }

    /// Whenever `silent_for` says silent, the closed form stays below the
    /// threshold (sampled densely over 200 time units); and it says so for
    /// a good share of the states.
    #[test]
    fn silent_for_never_hides_a_spike() {
        let lif = Lif::new(20.0, 5.0, 1.0, 0.0).unwrap();
        let (mut silent, mut cases) = (0, 0);
        for v in [-2.0, 0.0, 0.5, 0.9, 0.999] {
            for i in [-5.0, -0.5, 0.0, 0.3, 0.8, 3.0] {
                for b in [-1.0, 0.0, 0.5, 0.95, 1.5] {
                    cases += 1;
                    let x = [v, i];
                    if lif.silent_for(&[b], &x, f64::INFINITY) {
                        silent += 1;
                        for k in 1..=4000 {
                            let y = lif.evolve(&[b], &x, 0.05 * k as f64);
                            assert!(
                                y[0] < 1.0,
                                "v {v}, i {i}, b {b}: v = {} at {}",
                                y[0],
                                0.05 * k as f64
                            );
                        }
                    }
                }
            }
        }
        assert!(silent * 3 >= cases, "{silent} of {cases} silent");
        assert!(!lif.silent_for(&[0.0], &[0.5, 2.0], 1.0));
        assert!(!lif.silent_for(&[f64::NAN], &[0.5, 0.0], 1.0));
    }

    /// Every state with a maximum ahead, for every integer ratio: the
    /// polynomial test says "below" only where the maximum (from the closed
    /// form at `membrane_extremum`) is below the threshold, and does say it
    /// wherever the maximum is below by more than 1e-6.
    #[test]
    fn stationary_value_test_agrees_with_the_maximum() {
        let (mut below, mut said, mut above) = (0, 0, 0);
        for k in 2..=8u32 {
            let lif = Lif::new(4.0 * k as f64, 4.0, 1.0, 0.0).unwrap();
            for m in 0..4000 {
                // A deterministic spread of states: v₀ ∈ [−1.5, 1), i₀ ∈
                // [−3, 12), b ∈ [−1, 1.5).
                let f = |a: u32| ((m as u64 * a as u64) % 1000) as f64 / 1000.0;
                let (v0, i0, b) = (
                    -1.5 + 2.5 * f(7919),
                    -3.0 + 15.0 * f(104_729),
                    -1.0 + 2.5 * f(1_299_709),
                );
                if v0 >= 1.0 {
                    continue;
                }
                let mut d = [0.0; 2];
                lif.dynamics(&[b], &[v0, i0], &mut d);
                let Some(s) = lif.membrane_extremum(&[b], &[v0, i0], 1e3) else {
                    continue;
                };
                if !(d[0] > 0.0) {
                    continue; // a minimum
                }
                let v_max = lif.evolve(&[b], &[v0, i0], s)[0];
                let poly = lif.threshold_polynomial(&[b], &[v0, i0]).unwrap();
                let says = poly.stationary_value_below_zero();
                if says {
                    said += 1;
                    assert!(v_max < 1.0, "k {k}, state {v0} {i0} {b}: max {v_max}");
                }
                if v_max < 1.0 - 1e-6 {
                    below += 1;
                    assert!(says, "k {k}, state {v0} {i0} {b}: max {v_max}");
                } else if v_max >= 1.0 {
                    above += 1;
                }
            }
        }
        assert!(below > 1000 && above > 1000, "{below} below, {above} above");
        assert!(said >= below);
    }

    /// `membrane_extremum` is where `v' = 0`, the segment's maximum when `v`
    /// rises at its start, and found whenever `v` rises and then falls.
    #[test]
    fn membrane_extremum_is_the_segment_maximum() {
        let (mut found, mut cases) = (0, 0);
        for (tm, ts) in [(20.0, 5.0), (5.0, 20.0), (10.0, 3.0)] {
            let lif = Lif::new(tm, ts, 1.0, 0.0).unwrap();
            for (v0, i0, b) in [
                (0.0, 3.0, 0.0),
                (0.5, 1.5, -0.5),
                (-1.0, 6.0, 0.2),
                (0.2, -2.0, 0.9),
            ] {
                let h = 30.0;
                cases += 1;
                let v = |t: f64| lif.evolve(&[b], &[v0, i0], t)[0];
                let dv = |t: f64| {
                    let mut d = [0.0; 2];
                    lif.dynamics(&[b], &lif.evolve(&[b], &[v0, i0], t), &mut d);
                    d[0]
                };
                let rise_and_fall = dv(0.0) > 0.0 && dv(h) < 0.0;
                match lif.membrane_extremum(&[b], &[v0, i0], h) {
                    Some(s) => {
                        found += 1;
                        assert!(dv(s).abs() <= 1e-12, "v'({s}) = {}", dv(s));
                        // A maximum when rising at 0, a minimum otherwise.
                        let sign = if dv(0.0) > 0.0 { 1.0 } else { -1.0 };
                        for k in 0..=3000 {
                            let t = h * k as f64 / 3000.0;
                            assert!(
                                sign * v(t) <= sign * v(s) + 1e-14,
                                "tm {tm} ts {ts} state {v0} {i0} {b}: v({t}) = {} vs v({s}) = {}",
                                v(t),
                                v(s)
                            );
                        }
                    }
                    None => assert!(!rise_and_fall, "tm {tm} ts {ts} state {v0} {i0} {b}"),
                }
            }
        }
        assert!(found * 2 >= cases, "{found} of {cases}");
        // Ill-conditioned (|δ|h < 1e-2): left to the caller.
        let near = Lif::new(10.0, 10.001, 1.0, 0.0).unwrap();
        assert_eq!(near.membrane_extremum(&[0.0], &[0.0, 3.0], 30.0), None);
    }

    /// The threshold polynomial is the closed form's `v − θ` at every
    /// time, its slope the derivative in `q`, for every integer ratio it
    /// serves; other ratios have none.
    #[test]
    fn threshold_polynomial_is_the_closed_form() {
        for k in 2..=8 {
            let lif = Lif::new(4.0 * k as f64, 4.0, 1.0, 0.0).unwrap();
            for (v0, i0, b) in [(0.0, 3.0, 0.0), (0.2, -2.0, 1.3), (-0.5, 20.0, 0.5)] {
                let poly = lif.threshold_polynomial(&[b], &[v0, i0]).unwrap();
                for s in [0.0, 0.3, 2.0, 11.0, 40.0] {
                    let q = (-s / lif.tau_mem()).exp();
                    let (value, slope) = poly.eval(q);
                    let v = lif.evolve(&[b], &[v0, i0], s)[0] - lif.theta();
                    assert!(
                        (value - v).abs() <= 1e-13 * (1.0 + i0.abs()),
                        "k {k}, s {s}"
                    );
                    let h = 1e-6 * q;
                    let fd = (poly.eval(q + h).0 - poly.eval(q - h).0) / (2.0 * h);
                    assert!(
                        (slope - fd).abs() <= 1e-7 * (1.0 + slope.abs()),
                        "k {k}, s {s}"
                    );
                }
            }
        }
        let other = Lif::new(20.0, 6.0, 1.0, 0.0).unwrap();
        assert_eq!(other.threshold_polynomial(&[0.0], &[0.0, 3.0]), None);
    }

    #[test]
    fn constructor_rejects_bad_constants() {
        for (tm, ts, th, vr, name) in [
            (0.0, 5.0, 1.0, 0.0, "tau_mem"),
            (-1.0, 5.0, 1.0, 0.0, "tau_mem"),
            (f64::NAN, 5.0, 1.0, 0.0, "tau_mem"),
            (20.0, f64::INFINITY, 1.0, 0.0, "tau_syn"),
            (20.0, 0.0, 1.0, 0.0, "tau_syn"),
            (20.0, 5.0, f64::NAN, 0.0, "theta"),
            (20.0, 5.0, 1.0, 1.0, "v_reset"),
            (20.0, 5.0, 1.0, f64::NAN, "v_reset"),
        ] {
            match Lif::new(tm, ts, th, vr) {
                Err(NeuronError::InvalidConstant { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
    }

    #[test]
    fn nan_bias_is_rejected() {
        let err = Lif::default().validate_params(&[f64::NAN]).unwrap_err();
        assert!(err.to_string().contains("bias"), "{err}");
    }

    #[test]
    fn serde_validates() {
        let ok: Lif =
            serde_json::from_str(r#"{"tau_mem":2,"tau_syn":1,"theta":1,"v_reset":0}"#).unwrap();
        assert_eq!(ok, Lif::new(2.0, 1.0, 1.0, 0.0).unwrap());
        assert!(
            serde_json::from_str::<Lif>(r#"{"tau_mem":-2,"tau_syn":1,"theta":1,"v_reset":0}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<Lif>(
            r#"{"tau_mem":2,"tau_syn":1,"theta":1,"v_reset":0,"x":1}"#
        )
        .is_err());
    }

    /// The closed form satisfies the ODE (checked by central differences) and
    /// its equal-time-constant limit is continuous.
    #[test]
    fn closed_form_solves_the_ode() {
        for (tm, ts) in [(20.0, 5.0), (0.2, 0.1), (5.0, 5.0), (1.0, 1.0 + 1e-12)] {
            let lif = Lif::new(tm, ts, 1.0, 0.0).unwrap();
            let p = [0.3];
            let x0 = [0.2, 1.7];
            for &t in &[0.01, 0.5, 3.0, 10.0] {
                let h = 1e-5 * tm;
                let xp = lif.evolve(&p, &x0, t + h);
                let xm = lif.evolve(&p, &x0, t - h);
                let x = lif.evolve(&p, &x0, t);
                let mut f = [0.0; 2];
                lif.dynamics(&p, &x, &mut f);
                for k in 0..2 {
                    let fd = (xp[k] - xm[k]) / (2.0 * h);
                    assert_relative_eq!(fd, f[k], epsilon = 1e-8, max_relative = 1e-6);
                }
            }
            assert_eq!(lif.evolve(&p, &x0, 0.0), x0);
        }
        // τ_s → τ_m: the kernel tends to the t·e^{−t/τ} form.
        let a = Lif::new(5.0, 5.0, 1.0, 0.0)
            .unwrap()
            .evolve(&[0.0], &[0.0, 1.0], 2.0);
        let b =
            Lif::new(5.0, 5.0 * (1.0 + 1e-9), 1.0, 0.0)
                .unwrap()
                .evolve(&[0.0], &[0.0, 1.0], 2.0);
        assert_relative_eq!(a[0], b[0], max_relative = 1e-8);
        assert_relative_eq!(
            a[0],
            2.0 / 5.0 * (-2.0f64 / 5.0).exp(),
            max_relative = 1e-15
        );
    }

    /// Both ways of evaluating the kernel (`expm1` for `|δt| < ¼`, the
    /// difference of the exponentials above) and the powers of one
    /// exponential for integer `τ_m/τ_s` (both sides of its switch at
    /// `t = τ_m/2`) agree with a Taylor-series reference to a few ulps, and
    /// so do the other factors of [`Lif::decay`].
    #[test]
    fn evolve_is_exact_on_both_sides_of_the_kernel_switch() {
        let pairs = [
            (20.0, 5.0),
            (5.0, 20.0),
            (10.0, 9.0),
            (0.3, 0.2),
            (2.0, 1.0),
            (6.0, 2.0),
            (16.0, 2.0),
            (21.0, 5.0),
        ];
        for (tm, ts) in pairs {
            let ratio = Lif::new(tm, ts, 1.0, 0.0).unwrap().ratio;
            let k: f64 = tm / ts;
            assert_eq!(ratio > 0, k == k.round() && (2.0..=8.0).contains(&k));
            let lif = Lif::new(tm, ts, 1.0, 0.0).unwrap();
            let delta: f64 = 1.0 / tm - 1.0 / ts;
            let (b, v0, i0) = (0.3, -0.7, 2.5);
            for n in 1..=400 {
                let dt = n as f64 / 100.0 / delta.abs();
                // (e^{δt} − 1)/δ = Σ_{k≥1} δ^{k−1} t^k / k!, |δt| ≤ 4.
                let (mut term, mut kernel) = (dt, dt);
                for k in 2..60 {
                    term *= delta * dt / k as f64;
                    kernel += term;
                }
                let em = (-dt / tm).exp();
                let v_ref = b + (v0 - b) * em + i0 * em * kernel / tm;
                let v = lif.evolve(&[b], &[v0, i0], dt)[0];
                let scale = b.abs() + (v0 - b).abs() + i0.abs();
                assert!(
                    (v - v_ref).abs() <= 8.0 * f64::EPSILON * scale,
                    "tm {tm} ts {ts} dt {dt}: {v} vs {v_ref}"
                );
                let d = lif.decay(dt);
                // A few ulps, plus those of rounding the argument `t/τ`.
                let close = |a: f64, e: f64, arg: f64| {
                    (a - e).abs() <= (8.0 + 2.0 * arg) * f64::EPSILON * e.abs()
                };
                assert!(close(d.mem, em, dt / tm), "tm {tm} ts {ts} dt {dt}");
                let es = (-dt / ts).exp();
                assert!(close(d.syn, es, 8.0 * dt / ts), "tm {tm} ts {ts} dt {dt}");
                let one_minus = -(-dt / tm).exp_m1();
                assert!(
                    close(d.one_minus_mem, one_minus, dt / tm),
                    "tm {tm} ts {ts} dt {dt}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn derivatives_match_finite_differences(
            v in -3.0..3.0f64, i in -5.0..5.0f64, b in -2.0..2.0f64, w in -5.0..5.0f64,
            tm in 0.1..30.0f64, ts in 0.1..30.0f64,
        ) {
            let lif = Lif::new(tm, ts, 1.0, 0.0).unwrap();
            let r = check_derivatives(&lif, &[b], &[v, i], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
