//! Adaptive leaky integrate-and-fire neuron with voltage-jump synapses.

use crate::error::{finite, positive, require};
use crate::{NeuronError, NeuronModel, Reset, Scalar};
use serde::{Deserialize, Serialize};

/// Adaptive leaky integrate-and-fire neuron (ALIF): a leaky membrane whose
/// threshold rises at each spike and relaxes back, with input spikes that
/// jump the voltage (no synaptic current).
///
/// State `x = (V, b)` with `b` the current threshold, learnable parameter
/// `p = (I_c)` (bias current):
///
/// - `τ_mem V' = −V + I_c`, `τ_adapt b' = b₀ − b`
/// - input spike of weight `w`: `V ← V + r_m w`
/// - event `g = V − b` crossing zero upward
/// - reset ([`Reset`]): subtractive `V ← V − b` (the default) or hard
///   `V ← 0`; both raise the threshold, `b ← b + β/τ_adapt`
/// - initial state `(0, b₀)`
///
/// With `b₀ > 0` and `β ≥ 0` the threshold stays positive, so after a
/// crossing both resets leave the neuron below it. An input jump that lifts
/// `V` to or above `b` is a spike at the input's instant in the solvers of
/// `evnn-solver` (`EventKind::JumpSpike`), followed by the reset; its time
/// is the input's, so its gradient flows to the input's time (and, in a
/// network, to the sender's spike). A jump more than `b + β/τ_adapt` over
/// the threshold leaves `V ≥ b` after a subtractive reset: the neuron then
/// spikes again at that instant, once per reset, until `V < b` (the hard
/// reset always ends it after one).
///
/// Units: time in the caller's unit (ms), `V`, `b`, `I_c` and `r_m w` in one
/// voltage unit. `τ_mem`, `τ_adapt`, `b₀` and `β` have no defaults
/// ([`AlifConstants::new`]); `r_m = 1` and the subtractive reset are the
/// defaults. Reference: Bellec, Salaj, Subramoney, Legenstein & Maass,
/// "Long short-term memory and learning-to-learn in networks of spiking
/// neurons", NeurIPS 2018 (there the threshold is `b₀ + β a` with an
/// adaptation variable `a`; here `b` is the threshold itself).
///
/// # Examples
///
/// ```
/// use evnn_neurons::{check_derivatives, Alif, AlifConstants, CheckOptions, NeuronModel};
///
/// let alif = Alif::new(AlifConstants::new(20.0, 200.0, 1.0, 3.0))?;
/// let mut x = alif.initial_state(); // (0, b₀)
/// alif.input_jump(&mut x, 0.4);
/// assert_eq!(x, [0.4, 1.0]);
/// alif.reset(&mut x);
/// assert!((x[1] - (1.0 + 3.0 / 200.0)).abs() < 1e-15); // b ← b + β/τ_adapt
/// check_derivatives(&alif, &[1.2], &[0.5, 1.1], 0.3, &CheckOptions::default())?;
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AlifConstants", into = "AlifConstants")]
pub struct Alif {
    tau_mem: f64,
    tau_adapt: f64,
    b0: f64,
    beta: f64,
    rm: f64,
    reset: Reset,
    inv_tau_mem: f64,
    inv_tau_adapt: f64,
    /// `β/τ_adapt`, the threshold's rise at a spike.
    rise: f64,
}

/// The constants of an [`Alif`], as they appear in files (validated by
/// [`Alif::new`] and on load).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlifConstants {
    /// Membrane time constant `τ_mem` (> 0).
    pub tau_mem: f64,
    /// Adaptation time constant `τ_adapt` (> 0).
    pub tau_adapt: f64,
    /// Threshold at rest `b₀` (> 0).
    pub b0: f64,
    /// Adaptation strength `β` (finite, ≥ 0): the threshold rises by
    /// `β/τ_adapt` at each spike.
    pub beta: f64,
    /// Membrane resistance `r_m` (> 0): an input of weight `w` raises `V`
    /// by `r_m w`. Default 1.
    #[serde(default = "one")]
    pub rm: f64,
    /// Reset at a spike. Default subtractive.
    #[serde(default = "subtractive")]
    pub reset: Reset,
}

fn one() -> f64 {
    1.0
}

fn subtractive() -> Reset {
    Reset::Subtractive
}

impl AlifConstants {
    /// The required constants, with `r_m = 1` and the subtractive reset.
    pub fn new(tau_mem: f64, tau_adapt: f64, b0: f64, beta: f64) -> Self {
        AlifConstants {
            tau_mem,
            tau_adapt,
            b0,
            beta,
            rm: 1.0,
            reset: Reset::Subtractive,
        }
    }
    /// With membrane resistance `r_m`.
    pub fn with_rm(self, rm: f64) -> Self {
        AlifConstants { rm, ..self }
    }
    /// With reset `reset`.
    pub fn with_reset(self, reset: Reset) -> Self {
        AlifConstants { reset, ..self }
    }
}

impl TryFrom<AlifConstants> for Alif {
    type Error = NeuronError;
    fn try_from(c: AlifConstants) -> Result<Self, NeuronError> {
        Alif::new(c)
    }
}

impl From<Alif> for AlifConstants {
    fn from(a: Alif) -> Self {
        a.constants()
    }
}

const NAME: &str = "ALIF";

impl Alif {
    /// An ALIF neuron; errors name the first invalid constant: a time
    /// constant, `b₀` or `r_m` not finite and positive, `β` not finite or
    /// negative.
    pub fn new(c: AlifConstants) -> Result<Self, NeuronError> {
        positive(NAME, "tau_mem", c.tau_mem)?;
        positive(NAME, "tau_adapt", c.tau_adapt)?;
        positive(NAME, "b0", c.b0)?;
        finite(NAME, "beta", c.beta)?;
        require(c.beta >= 0.0, NAME, "beta", c.beta, "must be >= 0")?;
        positive(NAME, "rm", c.rm)?;
        Ok(Alif {
            tau_mem: c.tau_mem,
            tau_adapt: c.tau_adapt,
            b0: c.b0,
            beta: c.beta,
            rm: c.rm,
            reset: c.reset,
            inv_tau_mem: 1.0 / c.tau_mem,
            inv_tau_adapt: 1.0 / c.tau_adapt,
            rise: c.beta / c.tau_adapt,
        })
    }

    /// The constants.
    pub fn constants(&self) -> AlifConstants {
        AlifConstants {
            tau_mem: self.tau_mem,
            tau_adapt: self.tau_adapt,
            b0: self.b0,
            beta: self.beta,
            rm: self.rm,
            reset: self.reset,
        }
    }

    /// Membrane time constant `τ_mem`.
    pub fn tau_mem(&self) -> f64 {
        self.tau_mem
    }
    /// Adaptation time constant `τ_adapt`.
    pub fn tau_adapt(&self) -> f64 {
        self.tau_adapt
    }
    /// Threshold at rest `b₀`.
    pub fn b0(&self) -> f64 {
        self.b0
    }
    /// Adaptation strength `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }
    /// Membrane resistance `r_m`.
    pub fn rm(&self) -> f64 {
        self.rm
    }
    /// The reset at a spike.
    pub fn reset_kind(&self) -> Reset {
        self.reset
    }
}

impl NeuronModel for Alif {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = NAME;
    const PARAM_NAMES: &'static [&'static str] = &["bias"];

    fn initial_state(&self) -> [f64; 2] {
        [0.0, self.b0]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = (-x[0] + p[0]) * self.inv_tau_mem;
        dx[1] = (-x[1] + self.b0) * self.inv_tau_adapt;
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - x[1]
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        match self.reset {
            Reset::Subtractive => {
                let b = x[1];
                x[0] -= b;
            }
            Reset::Hard => x[0] = T::from(0.0),
        }
        x[1] += self.rise;
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[0] += w * self.rm;
    }

    /// Without input `V` moves monotonically from its value towards `I_c`
    /// and `b` from its value towards `b₀`, so `V` stays at most
    /// `max(V, I_c)` and `b` at least `min(b, b₀)`: when the first is below
    /// the second (by a relative margin of 1e-9, so that a numerical run
    /// agrees with the proof at the boundary) the neuron never spikes.
    fn silent_for(&self, p: &[f64; 1], x: &[f64; 2], _horizon: f64) -> bool {
        if !(p[0].is_finite() && x[0].is_finite() && x[1].is_finite()) {
            return false;
        }
        let v_max = x[0].max(p[0]);
        let b_min = x[1].min(self.b0);
        v_max < b_min - 1e-9 * (1.0 + b_min.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, CheckOptions};
    use proptest::prelude::*;

    fn base() -> AlifConstants {
        AlifConstants::new(20.0, 200.0, 1.0, 3.0)
    }

    /// One test per invalid constant: the error names it and its value.
    #[test]
    fn constructor_rejects_bad_constants() {
        let d = base();
        for (c, name, value) in [
            (AlifConstants { tau_mem: 0.0, ..d }, "tau_mem", 0.0),
            (
                AlifConstants {
                    tau_mem: f64::NAN,
                    ..d
                },
                "tau_mem",
                f64::NAN,
            ),
            (
                AlifConstants {
                    tau_adapt: -3.0,
                    ..d
                },
                "tau_adapt",
                -3.0,
            ),
            (
                AlifConstants {
                    tau_adapt: f64::INFINITY,
                    ..d
                },
                "tau_adapt",
                f64::INFINITY,
            ),
            (AlifConstants { b0: 0.0, ..d }, "b0", 0.0),
            (AlifConstants { b0: -1.0, ..d }, "b0", -1.0),
            (AlifConstants { beta: -0.5, ..d }, "beta", -0.5),
            (
                AlifConstants {
                    beta: f64::NAN,
                    ..d
                },
                "beta",
                f64::NAN,
            ),
            (d.with_rm(0.0), "rm", 0.0),
            (d.with_rm(f64::NEG_INFINITY), "rm", f64::NEG_INFINITY),
        ] {
            match Alif::new(c) {
                Err(NeuronError::InvalidConstant {
                    name: n, value: v, ..
                }) => {
                    assert_eq!(n, name, "{c:?}");
                    assert!(v == value || (v.is_nan() && value.is_nan()), "{name}: {v}");
                }
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        let err = Alif::new(AlifConstants { beta: -0.5, ..d })
            .unwrap_err()
            .to_string();
        assert!(err.contains("beta") && err.contains("-0.5"), "{err}");
    }

    #[test]
    fn serde_round_trip_validates() {
        let alif = Alif::new(base().with_rm(0.5).with_reset(Reset::Hard)).unwrap();
        let back: Alif = serde_json::from_str(&serde_json::to_string(&alif).unwrap()).unwrap();
        assert_eq!(back, alif);
        let minimal: Alif =
            serde_json::from_str(r#"{"tau_mem":20,"tau_adapt":200,"b0":1,"beta":3}"#).unwrap();
        assert_eq!(minimal, Alif::new(base()).unwrap());
        assert!(
            serde_json::from_str::<Alif>(r#"{"tau_mem":20,"tau_adapt":200,"b0":0,"beta":3}"#)
                .is_err()
        );
    }

    /// Both resets leave the neuron below its raised threshold; the
    /// subtractive one keeps the overshoot above the threshold, the hard one
    /// forgets it.
    #[test]
    fn resets_raise_the_threshold() {
        for reset in [Reset::Subtractive, Reset::Hard] {
            let alif = Alif::new(base().with_reset(reset)).unwrap();
            let mut x = [1.3, 1.3];
            alif.reset(&mut x);
            assert_eq!(x[1], 1.3 + 3.0 / 200.0, "{reset:?}");
            assert_eq!(x[0], 0.0, "{reset:?}");
            assert!(alif.event(&x) < 0.0);
            let (mut l, mut out) = ([1.0, 0.0], [0.0; 2]);
            alif.reset_vjp(&[1.3, 1.3], &l, &mut out);
            let expect = match reset {
                Reset::Subtractive => [1.0, -1.0],
                Reset::Hard => [0.0, 0.0],
            };
            assert_eq!(out, expect, "{reset:?}");
            l = [0.0, 1.0];
            alif.reset_vjp(&[1.3, 1.3], &l, &mut out);
            assert_eq!(out, [0.0, 1.0], "{reset:?}");
        }
    }

    /// The closed form `V(t) = I_c + (V − I_c)e^{−t/τ_mem}`,
    /// `b(t) = b₀ + (b − b₀)e^{−t/τ_adapt}`, sampled densely, stays below
    /// the threshold wherever `silent_for` says so; it says so often.
    #[test]
    fn silent_for_never_hides_a_spike() {
        let alif = Alif::new(base()).unwrap();
        let (mut silent, mut cases) = (0, 0);
        for v in [-1.0, 0.0, 0.5, 0.9, 0.99] {
            for b in [0.95, 1.0, 1.5, 3.0] {
                for ic in [-1.0, 0.5, 0.99, 1.2, 2.0] {
                    cases += 1;
                    if !(v < b) || !alif.silent_for(&[ic], &[v, b], f64::INFINITY) {
                        continue;
                    }
                    silent += 1;
                    for k in 0..20_000 {
                        let t = 0.05 * k as f64;
                        let vt = ic + (v - ic) * (-t / 20.0f64).exp();
                        let bt = 1.0 + (b - 1.0) * (-t / 200.0f64).exp();
                        assert!(vt < bt, "v {v} b {b} ic {ic}: {vt} >= {bt} at {t}");
                    }
                }
            }
        }
        assert!(silent * 3 >= cases, "{silent} of {cases} silent");
        assert!(!alif.silent_for(&[f64::NAN], &[0.0, 1.0], 1.0));
    }

    proptest! {
        #[test]
        fn derivatives_match_finite_differences(
            v in -3.0..3.0f64, b in 0.1..4.0f64, ic in -2.0..2.0f64, w in -5.0..5.0f64,
            tm in 0.1..30.0f64, ta in 0.1..500.0f64, beta in 0.0..10.0f64,
            rm in 0.1..3.0f64, subtractive in proptest::bool::ANY,
        ) {
            let reset = if subtractive { Reset::Subtractive } else { Reset::Hard };
            let alif = Alif::new(
                AlifConstants::new(tm, ta, 1.0, beta).with_rm(rm).with_reset(reset),
            ).unwrap();
            let r = check_derivatives(&alif, &[ic], &[v, b], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
