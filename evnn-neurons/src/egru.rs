//! The event-based gated recurrent unit (EGRU), used as a spiking neuron
//! whose synapses carry three weights each.

use crate::error::positive;
use crate::{NeuronError, NeuronModel, Scalar};
use serde::{Deserialize, Serialize};

/// The event-based gated recurrent unit (EGRU) of Subramoney et al.,
/// in the continuous-time form of eventax: a gated cell `c` driven by
/// three synaptic gate currents, one per weight of a synapse.
///
/// State `x = (c, a_u, a_r, a_z)` (cell, update-gate, reset-gate and
/// candidate currents), learnable parameters `p = (b_u, b_r, b_z)` (the
/// gate currents' biases), `σ` the logistic sigmoid:
///
/// - `τ_s a_x' = −a_x + b_x` for `x ∈ {u, r, z}`,
///   `τ_m c' = σ(a_u) (tanh(a_z) − c)`
/// - input spike through a synapse of weights `(W_u, W_r, W_z)`
///   ([`NeuronModel::WEIGHTS_PER_SYNAPSE`] `= 3`):
///   `a_u ← a_u + W_u`, `a_z ← a_z + W_z σ(a_r⁻)`, `a_r ← a_r + W_r`, where
///   `a_r⁻` is the reset-gate current *before* this spike's jump (the
///   jump is one simultaneous vector jump, so every component of it reads
///   the state before it); `c` does not jump
/// - event `g = c − θ` crossing zero upward
/// - reset subtractive: `c ← c − θ`
/// - initial state `(0, 0, 0, 0)`
///
/// [`input_jump`](NeuronModel::input_jump) with one weight `w` is the jump
/// of a synapse whose three weights are all `w`; networks use
/// [`input_jump_weights`](NeuronModel::input_jump_weights).
///
/// The cell moves towards `tanh(a_z) ∈ (−1, 1)` at the rate `σ(a_u)/τ_m`,
/// so it reaches `θ` only while `tanh(a_z) > θ`; the neuron is used in
/// feed-forward layers (a recurrent layer needs one weight per synapse).
/// Times are in the network's time unit (ms for Yin–Yang).
///
/// Defaults ([`EgruConstants::default`]): `τ_s = 5`, `τ_m = 20`,
/// `θ = 0.5`; [`default_params`](NeuronModel::default_params)
/// `(b_u, b_r, b_z) = (−2, 1, 0)`, the means of eventax's initial biases
/// (`b ~ N(μ, 0.1)`, weights `~ N(0, 1)`). References: A. Subramoney,
/// K. K. Nazeer, M. Schöne, C. Mayr, D. Kappel, "Efficient recurrent
/// architectures through activity sparsity and sparse back-propagation
/// through time", ICLR 2023; the event-based form follows eventax.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{check_derivatives, CheckOptions, Egru, NeuronModel};
///
/// let egru = Egru::default();
/// let mut x = egru.initial_state();
/// egru.input_jump_weights(&mut x, &[1.0, 2.0, 3.0]); // W_u, W_r, W_z
/// assert_eq!(x, [0.0, 1.0, 2.0, 1.5]);              // a_z += 3 σ(0)
/// check_derivatives(&egru, &[-2.0, 1.0, 0.0], &[0.2, 0.5, -1.0, 2.0], 0.7, &CheckOptions::default())?;
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EgruConstants", into = "EgruConstants")]
pub struct Egru {
    c: EgruConstants,
    inv_tau_s: f64,
    inv_tau_m: f64,
}

/// The constants of an [`Egru`] neuron, as they appear in files (validated
/// by [`Egru::new`] and on load); missing fields take their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgruConstants {
    /// Time constant `τ_s` of the three gate currents (> 0).
    pub tau_s: f64,
    /// Time constant `τ_m` of the cell (> 0).
    pub tau_m: f64,
    /// Threshold `θ` of the cell (> 0), also the amount a spike subtracts.
    pub theta: f64,
}

impl Default for EgruConstants {
    /// `τ_s = 5`, `τ_m = 20`, `θ = 0.5`.
    fn default() -> Self {
        EgruConstants {
            tau_s: 5.0,
            tau_m: 20.0,
            theta: 0.5,
        }
    }
}

impl EgruConstants {
    /// With gate time constant `τ_s`.
    pub fn with_tau_s(self, tau_s: f64) -> Self {
        EgruConstants { tau_s, ..self }
    }
    /// With cell time constant `τ_m`.
    pub fn with_tau_m(self, tau_m: f64) -> Self {
        EgruConstants { tau_m, ..self }
    }
    /// With threshold `θ`.
    pub fn with_theta(self, theta: f64) -> Self {
        EgruConstants { theta, ..self }
    }

    /// Checks every constant, naming the first invalid one.
    pub(crate) fn validate(&self, model: &'static str) -> Result<(), NeuronError> {
        positive(model, "tau_s", self.tau_s)?;
        positive(model, "tau_m", self.tau_m)?;
        positive(model, "theta", self.theta)?;
        Ok(())
    }
}

impl TryFrom<EgruConstants> for Egru {
    type Error = NeuronError;
    fn try_from(c: EgruConstants) -> Result<Self, NeuronError> {
        Egru::new(c)
    }
}

impl From<Egru> for EgruConstants {
    fn from(e: Egru) -> Self {
        e.c
    }
}

impl Default for Egru {
    /// The neuron of [`EgruConstants::default`].
    fn default() -> Self {
        Egru::with_constants(EgruConstants::default())
    }
}

/// The logistic sigmoid `σ(a) = (1 + tanh(a/2))/2`: the same function as
/// `1/(1 + e^{−a})`, without its overflow (and the NaN derivative that
/// follows) for large `|a|`.
#[inline]
fn sigmoid<T: Scalar>(a: T) -> T {
    ((a * 0.5).tanh() + 1.0) * 0.5
}

impl Egru {
    /// An EGRU neuron; errors name the first constant that is not finite
    /// and positive: `τ_s`, `τ_m` or `θ`.
    pub fn new(c: EgruConstants) -> Result<Self, NeuronError> {
        c.validate("EGRU")?;
        Ok(Egru::with_constants(c))
    }

    /// The neuron with constants already validated.
    fn with_constants(c: EgruConstants) -> Self {
        Egru {
            c,
            inv_tau_s: 1.0 / c.tau_s,
            inv_tau_m: 1.0 / c.tau_m,
        }
    }

    /// The constants.
    pub fn constants(&self) -> EgruConstants {
        self.c
    }
}

impl NeuronModel for Egru {
    type State = [f64; 4];
    type Params = [f64; 3];
    const NAME: &'static str = "EGRU";
    const PARAM_NAMES: &'static [&'static str] = &["b_u", "b_r", "b_z"];
    const WEIGHTS_PER_SYNAPSE: usize = 3;

    fn initial_state(&self) -> [f64; 4] {
        [0.0; 4]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = sigmoid(x[1]) * (x[3].tanh() - x[0]) * self.inv_tau_m;
        for k in 1..4 {
            dx[k] = (p[k - 1] - x[k]) * self.inv_tau_s;
        }
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.c.theta
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] -= self.c.theta;
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        self.input_jump_weights(x, &[w, w, w]);
    }

    #[inline]
    fn input_jump_weights<T: Scalar>(&self, x: &mut [T], w: &[T]) {
        debug_assert_eq!(w.len(), 3);
        // σ(a_r) before this spike's own jump of a_r.
        let gate = sigmoid(x[2]);
        x[1] += w[0];
        x[2] += w[1];
        x[3] += w[2] * gate;
    }

    /// Silent when `c` and the largest `tanh(a_z)` to come both stay below
    /// `θ`: without input `a_z` moves monotonically from its value towards
    /// `b_z`, so `tanh(a_z(t)) <= m = tanh(max(a_z, b_z))`, and the cell,
    /// which moves towards `tanh(a_z)` (`σ > 0`), never exceeds
    /// `max(c, m)`.
    fn silent_for(&self, p: &[f64; 3], x: &[f64; 4], horizon: f64) -> bool {
        let _ = horizon;
        let m = x[3].max(p[2]).tanh();
        x[0] < self.c.theta && m < self.c.theta
    }

    fn default_params(&self) -> [f64; 3] {
        [-2.0, 1.0, 0.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, derived, CheckOptions};
    use proptest::prelude::*;

    /// One case per invalid constant: the error names it and its value.
    #[test]
    fn constructor_rejects_bad_constants() {
        let d = EgruConstants::default();
        for (c, name, value) in [
            (d.with_tau_s(0.0), "tau_s", 0.0),
            (d.with_tau_s(-5.0), "tau_s", -5.0),
            (d.with_tau_s(f64::NAN), "tau_s", f64::NAN),
            (d.with_tau_m(0.0), "tau_m", 0.0),
            (d.with_tau_m(f64::INFINITY), "tau_m", f64::INFINITY),
            (d.with_theta(0.0), "theta", 0.0),
            (d.with_theta(-0.5), "theta", -0.5),
            (d.with_theta(f64::NAN), "theta", f64::NAN),
        ] {
            match Egru::new(c) {
                Err(NeuronError::InvalidConstant {
                    name: n, value: v, ..
                }) => {
                    assert_eq!(n, name, "{c:?}");
                    assert!(v == value || (v.is_nan() && value.is_nan()), "{name}: {v}");
                }
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        let err = Egru::new(d.with_theta(-0.5)).unwrap_err().to_string();
        assert!(err.contains("`theta`") && err.contains("-0.5"), "{err}");
    }

    #[test]
    fn serde_round_trip_validates() {
        let egru = Egru::new(EgruConstants::default().with_tau_m(15.0)).unwrap();
        let back: Egru = serde_json::from_str(&serde_json::to_string(&egru).unwrap()).unwrap();
        assert_eq!(back, egru);
        let partial: Egru = serde_json::from_str(r#"{"theta": 0.3}"#).unwrap();
        assert_eq!(
            partial.constants(),
            EgruConstants::default().with_theta(0.3)
        );
        assert!(serde_json::from_str::<Egru>(r#"{"tau_s": -1}"#).is_err());
        assert!(serde_json::from_str::<Egru>(r#"{"tau": 1}"#).is_err());
    }

    /// The jump reads `σ(a_r)` before its own `W_r`, and leaves `c` alone.
    #[test]
    fn jump_gates_the_candidate_with_the_reset_gate_before_the_jump() {
        let egru = Egru::default();
        let a_r: f64 = 0.8;
        let mut x = [0.3, -1.0, a_r, 0.5];
        egru.input_jump_weights(&mut x, &[0.25, 2.0, -1.5]);
        let gate = 1.0 / (1.0 + (-a_r).exp());
        assert_eq!(x[0], 0.3);
        assert_eq!(x[1], -0.75);
        assert_eq!(x[2], a_r + 2.0);
        assert!((x[3] - (0.5 - 1.5 * gate)).abs() < 1e-15, "{}", x[3]);
        // One weight: all three gates get it.
        let mut y = [0.3, -1.0, a_r, 0.5];
        egru.input_jump(&mut y, 0.25);
        let mut z = [0.3, -1.0, a_r, 0.5];
        egru.input_jump_weights(&mut z, &[0.25, 0.25, 0.25]);
        assert_eq!(y, z);
    }

    /// The gate currents relax to their biases with `τ_s`; the cell moves
    /// towards `tanh(a_z)` at the rate `σ(a_u)/τ_m`.
    #[test]
    fn dynamics_are_the_equations() {
        let c = EgruConstants::default();
        let egru = Egru::new(c).unwrap();
        let (p, x) = ([-2.0, 1.0, 0.5], [0.1, 0.4, -0.3, 1.2]);
        let mut f = [0.0; 4];
        egru.dynamics(&p, &x, &mut f);
        let s = 1.0 / (1.0 + (-0.4f64).exp());
        let expected = [
            s * (1.2f64.tanh() - 0.1) / c.tau_m,
            (-2.0 - 0.4) / c.tau_s,
            (1.0 + 0.3) / c.tau_s,
            (0.5 - 1.2) / c.tau_s,
        ];
        for (k, (got, want)) in f.iter().zip(expected).enumerate() {
            assert!(
                (got - want).abs() < 1e-15,
                "component {k}: got {got}, expected {want}"
            );
        }
        let mut x = [0.5, 0.0, 0.0, 3.0];
        egru.reset(&mut x);
        assert_eq!(x, [0.0, 0.0, 0.0, 3.0]);
        assert!(egru.event(&x) < 0.0);
    }

    /// The silence proof: a trajectory integrated with small Euler steps
    /// from a state it calls silent stays below threshold, and a state
    /// whose candidate drive exceeds `θ` is not called silent.
    #[test]
    fn silence_is_a_proof() {
        let egru = Egru::default();
        let p = [0.5, 1.0, 0.4];
        let x0 = [0.3, 0.0, 0.0, 0.5];
        assert!(egru.silent_for(&p, &x0, f64::INFINITY));
        let (mut x, dt) = (x0, 1e-3);
        let mut c_max: f64 = x[0];
        for _ in 0..200_000 {
            let mut f = [0.0; 4];
            egru.dynamics(&p, &x, &mut f);
            for k in 0..4 {
                x[k] += dt * f[k];
            }
            c_max = c_max.max(x[0]);
        }
        assert!(c_max < 0.5, "c reached {c_max}");
        assert!(!egru.silent_for(&p, &[0.3, 0.0, 0.0, 0.6], f64::INFINITY));
        assert!(!egru.silent_for(&[0.5, 1.0, 0.6], &x0, f64::INFINITY));
    }

    /// The derived VJP of the three-weight jump against finite differences
    /// of the jump, per weight and per state component.
    #[test]
    fn weight_vjp_matches_finite_differences() {
        let egru = Egru::default();
        let x = [0.2, -0.7, 0.9, 1.1];
        let w = [0.6, -1.3, 0.8];
        let lambda = [0.3, -0.5, 1.7, 0.9];
        let (mut out, mut lw) = ([0.0; 4], [0.0; 3]);
        egru.input_jump_weights_vjp(&x, &w, &lambda, &mut out, &mut lw);
        let h = 1e-6;
        let jump = |x: [f64; 4], w: [f64; 3]| {
            let mut y = x;
            egru.input_jump_weights(&mut y, &w);
            y
        };
        let dot = |a: [f64; 4]| a.iter().zip(&lambda).map(|(a, l)| a * l).sum::<f64>();
        for k in 0..3 {
            let (mut wp, mut wm) = (w, w);
            wp[k] += h;
            wm[k] -= h;
            let numeric = (dot(jump(x, wp)) - dot(jump(x, wm))) / (2.0 * h);
            assert!(
                (lw[k] - numeric).abs() < 1e-8,
                "w_{k}: got {}, fd {numeric}",
                lw[k]
            );
        }
        for k in 0..4 {
            let (mut xp, mut xm) = (x, x);
            xp[k] += h;
            xm[k] -= h;
            let numeric = (dot(jump(xp, w)) - dot(jump(xm, w))) / (2.0 * h);
            assert!(
                (out[k] - numeric).abs() < 1e-8,
                "x_{k}: got {}, fd {numeric}",
                out[k]
            );
        }
        // ∂a_z/∂a_r = W_z σ'(a_r): the reset gate's gradient reaches a_r.
        assert!(out[2] != lambda[2]);
        let (mut o2, mut l2) = ([0.0; 4], [0.0; 3]);
        derived::input_jump_weights_vjp(&egru, &x, &w, &lambda, &mut o2, &mut l2);
        assert_eq!((out, lw), (o2, l2));
    }

    /// The wrappers and `Derived` carry the three weights per synapse and
    /// the three-weight jump and its derivatives.
    #[test]
    fn wrappers_keep_three_weights() {
        use crate::{AtMostOneSpike, Derived, Refractory};
        fn same<W: NeuronModel<State = [f64; 4]>>(wrapped: &W) {
            assert_eq!(W::WEIGHTS_PER_SYNAPSE, 3);
            let (x, w, l) = (
                [0.1, 0.2, -0.4, 0.9],
                [1.5, -0.5, 2.0],
                [0.2, 0.7, -0.3, 1.1],
            );
            let (mut a, mut b) = (x, x);
            Egru::default().input_jump_weights(&mut a, &w);
            wrapped.input_jump_weights(&mut b, &w);
            assert_eq!(a, b);
            let (mut oa, mut la, mut ob, mut lb) = ([0.0; 4], [0.0; 3], [0.0; 4], [0.0; 3]);
            Egru::default().input_jump_weights_vjp(&x, &w, &l, &mut oa, &mut la);
            wrapped.input_jump_weights_vjp(&x, &w, &l, &mut ob, &mut lb);
            assert_eq!((oa, la), (ob, lb));
        }
        same(&Refractory::new(Egru::default(), 1.0).unwrap());
        same(&AtMostOneSpike::new(Egru::default()));
        same(&Derived(Egru::default()));
    }

    proptest! {
        #[test]
        fn derivatives_match_finite_differences(
            c in -1.0..0.5f64, au in -4.0..4.0f64, ar in -4.0..4.0f64, az in -3.0..3.0f64,
            bu in -3.0..3.0f64, br in -3.0..3.0f64, bz in -3.0..3.0f64, w in -3.0..3.0f64,
            tau_s in 1.0..20.0f64, tau_m in 2.0..40.0f64, theta in 0.1..0.9f64,
        ) {
            let egru = Egru::new(EgruConstants { tau_s, tau_m, theta }).unwrap();
            let r = check_derivatives(&egru, &[bu, br, bz], &[c, au, ar, az], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
