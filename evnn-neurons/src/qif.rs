//! Quadratic integrate-and-fire neuron in eventax's phase form.

use crate::error::positive;
use crate::math::sin_cos_pi;
use crate::{NeuronError, NeuronModel, Scalar};
use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_1_PI, FRAC_PI_2, PI};

/// The ideal quadratic integrate-and-fire neuron (spike at `V = +∞`, reset to
/// `V = −∞`) in eventax's phase form, with a current-based synapse.
///
/// In the voltage `V` the model is `τ_mem V' = V² − V + i + b` (rest at 0,
/// saddle at 1 when `i + b = 0`), `τ_syn i' = −i`. The state is `x = (φ, i)`
/// with `V = π tan(π(φ − ½))`, so `φ ∈ (0, 1)` covers the whole real line of
/// `V`; with `c = cos πφ`, `s = sin πφ`:
///
/// - `τ_mem φ' = c (c + s/π) + (s²/π²)(i + b)`, `τ_syn i' = −i`
/// - input spike of weight `w`: `i ← i + w`
/// - event `g = φ − 1` crossing zero upward; reset `φ ← 0`
/// - initial state `(½, 0)`, i.e. `V = 0`
///
/// At `φ = 1`, `φ' = 1/τ_mem > 0`: every spike is a transversal crossing, so
/// the EventProp denominator `g_x · f` never vanishes. Learnable parameter
/// `p = (b)`. Reference: eventax (arXiv 2603.08146); Ermentrout & Kopell,
/// SIAM J. Appl. Math. 46 (1986) for the phase representation.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{NeuronModel, Qif};
///
/// let qif = Qif::new(20.0, 5.0).unwrap();
/// let x = qif.initial_state();
/// assert_eq!(Qif::voltage(x[0]), 0.0);
/// let mut f = [0.0; 2];
/// qif.dynamics(&[0.0], &[1.0, 0.0], &mut f);
/// assert!((f[0] - 1.0 / 20.0).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "QifConstants", into = "QifConstants")]
pub struct Qif {
    tau_mem: f64,
    tau_syn: f64,
    /// `1/τ_mem`, `1/τ_syn`: the right-hand side multiplies (a division
    /// costs as much as the rest of it).
    inv_tau_mem: f64,
    inv_tau_syn: f64,
}

/// The constants of a [`Qif`] as they appear in files (validated on load).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QifConstants {
    /// Membrane time constant `τ_mem` (> 0).
    pub tau_mem: f64,
    /// Synaptic time constant `τ_syn` (> 0).
    pub tau_syn: f64,
}

impl TryFrom<QifConstants> for Qif {
    type Error = NeuronError;
    fn try_from(c: QifConstants) -> Result<Self, NeuronError> {
        Qif::new(c.tau_mem, c.tau_syn)
    }
}

impl From<Qif> for QifConstants {
    fn from(q: Qif) -> Self {
        QifConstants {
            tau_mem: q.tau_mem,
            tau_syn: q.tau_syn,
        }
    }
}

impl Default for Qif {
    /// `τ_mem = 20`, `τ_syn = 5` (the Yin–Yang experiment's values).
    fn default() -> Self {
        Qif {
            tau_mem: 20.0,
            tau_syn: 5.0,
            inv_tau_mem: 1.0 / 20.0,
            inv_tau_syn: 1.0 / 5.0,
        }
    }
}

impl Qif {
    /// A QIF neuron; errors when a time constant is not finite and positive.
    pub fn new(tau_mem: f64, tau_syn: f64) -> Result<Self, NeuronError> {
        positive("QIF", "tau_mem", tau_mem)?;
        positive("QIF", "tau_syn", tau_syn)?;
        Ok(Qif {
            tau_mem,
            tau_syn,
            inv_tau_mem: 1.0 / tau_mem,
            inv_tau_syn: 1.0 / tau_syn,
        })
    }

    /// Membrane time constant `τ_mem`.
    pub fn tau_mem(&self) -> f64 {
        self.tau_mem
    }
    /// Synaptic time constant `τ_syn`.
    pub fn tau_syn(&self) -> f64 {
        self.tau_syn
    }

    /// The voltage `V = π tan(π(φ − ½))` of a phase `φ`.
    pub fn voltage(phi: f64) -> f64 {
        PI * (PI * (phi - 0.5)).tan()
    }

    /// The phase `φ ∈ (0, 1)` of a voltage `V` (inverse of [`Qif::voltage`]).
    pub fn phase(v: f64) -> f64 {
        0.5 + (v / PI).atan() / PI
    }
}

impl NeuronModel for Qif {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "QIF";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];

    fn initial_state(&self) -> [f64; 2] {
        [0.5, 0.0]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let (s, c) = x[0].sin_cos_pi();
        let s_pi = s * FRAC_1_PI;
        dx[0] = (c * (c + s_pi) + s_pi * s_pi * (x[1] + p[0])) * self.inv_tau_mem;
        dx[1] = -x[1] * self.inv_tau_syn;
    }

    #[inline]
    fn dynamics_vjp(
        &self,
        p: &[f64; 1],
        x: &[f64; 2],
        l: &[f64; 2],
        lx: &mut [f64; 2],
        lp: &mut [f64; 1],
    ) {
        // d/dφ [c(c + s/π)] = c² − s² − 2π c s ;  d/dφ [s²/π²] = 2 s c / π
        let (s, c) = sin_cos_pi(x[0]);
        let s_pi = s * FRAC_1_PI;
        let dphi = (c * c - s * s - 2.0 * PI * c * s + 2.0 * s * c * FRAC_1_PI * (x[1] + p[0]))
            * self.inv_tau_mem;
        let di = s_pi * s_pi * self.inv_tau_mem;
        lx[0] = l[0] * dphi;
        lx[1] = l[0] * di - l[1] * self.inv_tau_syn;
        lp[0] = l[0] * di;
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - 1.0
    }

    #[inline]
    fn event_grad(&self, _x: &[f64; 2], gx: &mut [f64; 2]) {
        *gx = [1.0, 0.0];
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(0.0);
    }

    #[inline]
    fn reset_vjp(&self, _x: &[f64; 2], l: &[f64; 2], out: &mut [f64; 2]) {
        *out = [0.0, l[1]];
    }

    /// Without input the current `i + b` stays at most `I_max = b + max(i, 0)`
    /// (`i` decays towards 0), so by comparison `V(t) ≤ W(t)`, the solution
    /// of `τ_mem W' = W² − W + I_max` from the same `V`: the neuron cannot
    /// spike before `W` reaches `+∞`.
    ///
    /// - `I_max ≤ ¼` and `V < V* = ½ + √(¼ − I_max)`: `W` never blows up
    ///   (`V*` is a fixed point of `W`); silent for any horizon.
    /// - Otherwise `W` blows up after `T = ∫_V^∞ τ_mem dW/(W² − W + I_max)`
    ///   (an `atan`, `ln` or `1/x` in closed form), and the neuron is silent
    ///   for horizons below `T` (with a relative margin of 1e-3, far above
    ///   the spike-time error of a run at solver tolerance, so that a
    ///   numerical run and the proof agree at the boundary).
    fn silent_for(&self, p: &[f64; 1], x: &[f64; 2], horizon: f64) -> bool {
        let i_max = p[0] + x[1].max(0.0);
        if !(i_max.is_finite() && x[0] >= 0.0 && x[0] < 1.0 && horizon >= 0.0) {
            return false;
        }
        let d = 0.25 - i_max;
        if d < 0.0 && PI * self.tau_mem <= horizon * (1.0 + 1e-3) * (-d).sqrt() {
            // Even from V = −∞, W blows up within `π τ_mem/√(I_max − ¼)`:
            // no proof for this horizon (a cheap early answer).
            return false;
        }
        let v = Self::voltage(x[0]);
        let blow_up = if d > 0.0 {
            // Roots ½ ± κ; from above the upper one, W blows up.
            let kappa = d.sqrt();
            if v < 0.5 + kappa {
                return true;
            }
            self.tau_mem / (2.0 * kappa) * ((v - 0.5 + kappa) / (v - 0.5 - kappa)).ln()
        } else if d < 0.0 {
            let k = (-d).sqrt();
            self.tau_mem / k * (FRAC_PI_2 - ((v - 0.5) / k).atan())
        } else if v < 0.5 {
            return true;
        } else {
            self.tau_mem / (v - 0.5)
        };
        blow_up > horizon * (1.0 + 1e-3)
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

    #[test]
    fn constructor_rejects_bad_constants() {
        for (tm, ts, name) in [
            (0.0, 5.0, "tau_mem"),
            (f64::NAN, 5.0, "tau_mem"),
            (20.0, -5.0, "tau_syn"),
            (20.0, f64::INFINITY, "tau_syn"),
        ] {
            match Qif::new(tm, ts) {
                Err(NeuronError::InvalidConstant { name: n, value, .. }) => {
                    assert_eq!(n, name);
                    assert!(value.is_nan() || value == tm || value == ts);
                }
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        assert!(serde_json::from_str::<Qif>(r#"{"tau_mem":0,"tau_syn":1}"#).is_err());
    }

    /// The phase form is the voltage form `τ V' = V² − V + I` under the chain
    /// rule `V' = π²/sin²(πφ) · φ'`.
    #[test]
    fn phase_form_matches_voltage_form() {
        let qif = Qif::new(3.0, 1.0).unwrap();
        for &phi in &[0.05, 0.3, 0.5, 0.77, 0.95] {
            for &i in &[-2.0, 0.0, 0.7] {
                let b = 0.2;
                let mut f = [0.0; 2];
                qif.dynamics(&[b], &[phi, i], &mut f);
                let v = Qif::voltage(phi);
                let dv = (PI * PI / (PI * phi).sin().powi(2)) * f[0];
                assert_relative_eq!(dv * 3.0, v * v - v + i + b, max_relative = 1e-12);
                assert_relative_eq!(Qif::phase(v), phi, max_relative = 1e-14);
            }
        }
        let mut f = [0.0; 2];
        qif.dynamics(&[0.0], &[0.0, 5.0], &mut f);
        assert_relative_eq!(f[0], 1.0 / 3.0, max_relative = 1e-15);
    }

    /// The first time `φ` reaches 1 within `horizon` from `x` without input
    /// (classical RK4 on the phase form with step `h`, the crossing
    /// interpolated linearly), or `None`.
    fn first_spike_rk4(qif: &Qif, b: f64, x: [f64; 2], horizon: f64, h: f64) -> Option<f64> {
        let f = |x: &[f64; 2]| {
            let mut d = [0.0; 2];
            qif.dynamics(&[b], x, &mut d);
            d
        };
        let (mut x, mut t) = (x, 0.0);
        while t < horizon {
            let k1 = f(&x);
            let k2 = f(&[x[0] + 0.5 * h * k1[0], x[1] + 0.5 * h * k1[1]]);
            let k3 = f(&[x[0] + 0.5 * h * k2[0], x[1] + 0.5 * h * k2[1]]);
            let k4 = f(&[x[0] + h * k3[0], x[1] + h * k3[1]]);
            let next: [f64; 2] = std::array::from_fn(|k| {
                x[k] + h / 6.0 * (k1[k] + 2.0 * k2[k] + 2.0 * k3[k] + k4[k])
            });
            if next[0] >= 1.0 {
                return Some(t + h * (1.0 - x[0]) / (next[0] - x[0]));
            }
            (x, t) = (next, t + h);
        }
        None
    }

    /// With `i = 0` the drive is constant, the comparison in
    /// `silent_for` is an equality and its bound is the first spike time
    /// itself: silent just below it, not just above it, and silent for
    /// ever exactly when no spike comes.
    #[test]
    fn silent_for_is_tight_for_constant_drive() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let mut spiking = 0;
        for b in [-1.0, 0.0, 0.1, 0.25, 0.26, 0.5, 3.0] {
            for phi in [0.0, 0.3, 0.5, 0.8, 0.95, 0.999] {
                let x = [phi, 0.0];
                match first_spike_rk4(&qif, b, x, 150.0, 2e-3) {
                    Some(t) => {
                        spiking += 1;
                        assert!(
                            qif.silent_for(&[b], &x, 0.99 * t),
                            "b {b}, φ {phi}, spike {t}"
                        );
                        assert!(
                            !qif.silent_for(&[b], &x, 1.01 * t),
                            "b {b}, φ {phi}, spike {t}"
                        );
                    }
                    None => {
                        // Below rheobase and under the unstable fixed point,
                        // or a first spike beyond 150.
                        let v = Qif::voltage(phi);
                        let forever = b <= 0.25 && v < 0.5 + (0.25 - b).sqrt();
                        assert_eq!(
                            qif.silent_for(&[b], &x, f64::INFINITY),
                            forever,
                            "b {b}, φ {phi}"
                        );
                        assert!(qif.silent_for(&[b], &x, 150.0), "b {b}, φ {phi}");
                    }
                }
            }
        }
        assert!(spiking >= 20, "{spiking} spiking cases");
    }

    /// Over a grid of states, biases, decaying currents of both signs and
    /// horizons: whenever `silent_for` says silent, an RK4 integration
    /// finds no spike within the horizon; and it says so often.
    #[test]
    fn silent_for_never_hides_a_spike() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let (mut silent, mut cases) = (0, 0);
        for phi in [0.0, 0.2, 0.45, 0.6, 0.75, 0.9, 0.97] {
            for i in [-8.0, -1.0, 0.0, 0.5, 2.0, 8.0, 25.0] {
                for b in [-0.5, 0.0, 0.2, 0.4, 1.0] {
                    for horizon in [2.0, 10.0, 40.0] {
                        cases += 1;
                        let x = [phi, i];
                        if qif.silent_for(&[b], &x, horizon) {
                            silent += 1;
                            let spike = first_spike_rk4(&qif, b, x, horizon, 5e-3);
                            assert_eq!(spike, None, "φ {phi}, i {i}, b {b}, horizon {horizon}");
                        }
                    }
                }
            }
        }
        assert!(silent * 4 >= cases, "{silent} of {cases} silent");
        // Out-of-range phases and non-finite values are never silent.
        assert!(!qif.silent_for(&[0.0], &[1.2, 0.0], 1.0));
        assert!(!qif.silent_for(&[f64::NAN], &[0.5, 0.0], 1.0));
        assert!(!qif.silent_for(&[0.0], &[0.5, f64::INFINITY], 1.0));
    }

    proptest! {
        #[test]
        fn derivatives_match_finite_differences(
            phi in 0.0..1.0f64, i in -5.0..5.0f64, b in -2.0..2.0f64, w in -5.0..5.0f64,
            tm in 0.1..30.0f64, ts in 0.1..30.0f64,
        ) {
            let qif = Qif::new(tm, ts).unwrap();
            let r = check_derivatives(&qif, &[b], &[phi, i], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
