//! Izhikevich's simple spiking neuron with a current-based synapse.

use crate::error::{finite, positive, require};
use crate::{NeuronError, NeuronModel, Reset, Scalar};
use serde::{Deserialize, Serialize};

/// Izhikevich's simple model with an exponentially decaying synaptic
/// current, in Izhikevich's units (ms, mV).
///
/// State `x = (V, U, I)` (membrane potential, recovery variable, synaptic
/// current), learnable parameter `p = (I_c)` (bias current):
///
/// - `V' = 0.04 V² + 5 V + 140 − U + I + I_c`, `U' = a (b V − U)`,
///   `τ_syn I' = −I`
/// - input spike of weight `w`: `I ← I + w`
/// - event `g = V − V_th` crossing zero upward
/// - reset ([`Reset`]): subtractive `V ← V − (V_th − c)` (the default) or
///   hard `V ← c`; both `U ← U + d`; `I` is kept
/// - initial state `(c, b c, 0)`
///
/// The quadratic term makes `V` blow up in finite time once it passes the
/// saddle; `V_th` cuts the upswing (Izhikevich's spike peak).
///
/// Defaults ([`IzhikevichConstants::default`]): `a = 0.02`, `b = 0.2`,
/// `c = −51`, `d = 2`, `V_th = 30`, `τ_syn = 5`, subtractive reset. With
/// `b = 0.2` the neuron rests at −70 mV and fires tonically for
/// `I + I_c > 4`. Reference: E. M. Izhikevich, "Simple model of spiking
/// neurons", IEEE Trans. Neural Netw. 14, 1569 (2003).
///
/// # Examples
///
/// ```
/// use evnn_neurons::{check_derivatives, CheckOptions, Izhikevich, NeuronModel};
///
/// let izh = Izhikevich::default();
/// let x = izh.initial_state();
/// assert_eq!(x, [-51.0, 0.2 * -51.0, 0.0]);
/// let mut f = [0.0; 3];
/// izh.dynamics(&[10.0], &[-70.0, -14.0, 0.0], &mut f);
/// assert!((f[0] - 10.0).abs() < 1e-12); // at rest, only the bias drives V
/// check_derivatives(&izh, &[5.0], &[-60.0, -12.0, 3.0], 2.0, &CheckOptions::default())?;
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "IzhikevichConstants", into = "IzhikevichConstants")]
pub struct Izhikevich {
    c: IzhikevichConstants,
    inv_tau_syn: f64,
}

/// The constants of an [`Izhikevich`] neuron, as they appear in files
/// (validated by [`Izhikevich::new`] and on load); missing fields take their
/// defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IzhikevichConstants {
    /// Recovery rate `a` (> 0, per ms).
    pub a: f64,
    /// Sensitivity `b` of the recovery variable to `V` (finite).
    pub b: f64,
    /// Reset potential `c` (finite, below `V_th`; mV).
    pub c: f64,
    /// Recovery jump `d` at a spike (finite).
    pub d: f64,
    /// Spike peak `V_th` (finite; mV).
    pub v_th: f64,
    /// Synaptic time constant `τ_syn` (> 0; ms).
    pub tau_syn: f64,
    /// Reset at a spike.
    pub reset: Reset,
}

impl Default for IzhikevichConstants {
    /// `a = 0.02`, `b = 0.2`, `c = −51`, `d = 2`, `V_th = 30`, `τ_syn = 5`,
    /// subtractive reset.
    fn default() -> Self {
        IzhikevichConstants {
            a: 0.02,
            b: 0.2,
            c: -51.0,
            d: 2.0,
            v_th: 30.0,
            tau_syn: 5.0,
            reset: Reset::Subtractive,
        }
    }
}

impl IzhikevichConstants {
    /// With recovery rate `a`.
    pub fn with_a(self, a: f64) -> Self {
        IzhikevichConstants { a, ..self }
    }
    /// With sensitivity `b`.
    pub fn with_b(self, b: f64) -> Self {
        IzhikevichConstants { b, ..self }
    }
    /// With reset potential `c`.
    pub fn with_c(self, c: f64) -> Self {
        IzhikevichConstants { c, ..self }
    }
    /// With recovery jump `d`.
    pub fn with_d(self, d: f64) -> Self {
        IzhikevichConstants { d, ..self }
    }
    /// With spike peak `V_th`.
    pub fn with_v_th(self, v_th: f64) -> Self {
        IzhikevichConstants { v_th, ..self }
    }
    /// With synaptic time constant `τ_syn`.
    pub fn with_tau_syn(self, tau_syn: f64) -> Self {
        IzhikevichConstants { tau_syn, ..self }
    }
    /// With reset `reset`.
    pub fn with_reset(self, reset: Reset) -> Self {
        IzhikevichConstants { reset, ..self }
    }

    /// Checks every constant, naming the first invalid one.
    pub(crate) fn validate(&self, model: &'static str) -> Result<(), NeuronError> {
        positive(model, "a", self.a)?;
        finite(model, "b", self.b)?;
        finite(model, "c", self.c)?;
        finite(model, "d", self.d)?;
        finite(model, "v_th", self.v_th)?;
        require(self.c < self.v_th, model, "c", self.c, "must be below v_th")?;
        positive(model, "tau_syn", self.tau_syn)?;
        Ok(())
    }
}

impl TryFrom<IzhikevichConstants> for Izhikevich {
    type Error = NeuronError;
    fn try_from(c: IzhikevichConstants) -> Result<Self, NeuronError> {
        Izhikevich::new(c)
    }
}

impl From<Izhikevich> for IzhikevichConstants {
    fn from(i: Izhikevich) -> Self {
        i.c
    }
}

impl Default for Izhikevich {
    /// The neuron of [`IzhikevichConstants::default`].
    fn default() -> Self {
        Izhikevich::with_constants(IzhikevichConstants::default())
    }
}

/// `V'` of the model without the recovery and input terms' constants:
/// `0.04 V² + 5 V + 140 − U + I + I_c`.
#[inline]
pub(crate) fn membrane<T: Scalar>(v: T, u: T, i: T, bias: T) -> T {
    v * v * 0.04 + v * 5.0 + 140.0 - u + i + bias
}

impl Izhikevich {
    /// An Izhikevich neuron; errors name the first invalid constant: `a`
    /// or `τ_syn` not finite and positive, `b`, `c`, `d` or `V_th` not
    /// finite, `c` not below `V_th`.
    pub fn new(c: IzhikevichConstants) -> Result<Self, NeuronError> {
        c.validate("Izhikevich")?;
        Ok(Izhikevich::with_constants(c))
    }

    /// The neuron with constants already validated.
    pub(crate) fn with_constants(c: IzhikevichConstants) -> Self {
        Izhikevich {
            c,
            inv_tau_syn: 1.0 / c.tau_syn,
        }
    }

    /// The constants.
    pub fn constants(&self) -> IzhikevichConstants {
        self.c
    }

    /// `1/τ_syn`.
    pub(crate) fn inv_tau_syn(&self) -> f64 {
        self.inv_tau_syn
    }

    /// The reset of `V` and the jump of `U` by `d`.
    #[inline]
    pub(crate) fn reset_with<T: Scalar>(&self, x: &mut [T]) {
        self.reset_v(x);
        x[1] += self.c.d;
    }

    /// The reset of `V` alone.
    #[inline]
    pub(crate) fn reset_v<T: Scalar>(&self, x: &mut [T]) {
        match self.c.reset {
            Reset::Subtractive => x[0] -= self.c.v_th - self.c.c,
            Reset::Hard => x[0] = T::from(self.c.c),
        }
    }
}

impl NeuronModel for Izhikevich {
    type State = [f64; 3];
    type Params = [f64; 1];
    const NAME: &'static str = "Izhikevich";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];

    fn initial_state(&self) -> [f64; 3] {
        [self.c.c, self.c.b * self.c.c, 0.0]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = membrane(x[0], x[1], x[2], p[0]);
        dx[1] = (x[0] * self.c.b - x[1]) * self.c.a;
        dx[2] = -x[2] * self.inv_tau_syn;
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.c.v_th
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        self.reset_with(x)
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, CheckOptions};
    use proptest::prelude::*;

    /// One test per invalid constant: the error names it and its value.
    #[test]
    fn constructor_rejects_bad_constants() {
        let d = IzhikevichConstants::default();
        for (c, name, value) in [
            (d.with_a(0.0), "a", 0.0),
            (d.with_a(-0.02), "a", -0.02),
            (d.with_a(f64::NAN), "a", f64::NAN),
            (d.with_b(f64::INFINITY), "b", f64::INFINITY),
            (d.with_c(f64::NAN), "c", f64::NAN),
            (d.with_c(30.0), "c", 30.0),
            (d.with_c(45.0), "c", 45.0),
            (d.with_d(f64::NAN), "d", f64::NAN),
            (d.with_v_th(f64::NEG_INFINITY), "v_th", f64::NEG_INFINITY),
            (d.with_tau_syn(0.0), "tau_syn", 0.0),
            (d.with_tau_syn(-5.0), "tau_syn", -5.0),
        ] {
            match Izhikevich::new(c) {
                Err(NeuronError::InvalidConstant {
                    name: n, value: v, ..
                }) => {
                    assert_eq!(n, name, "{c:?}");
                    assert!(v == value || (v.is_nan() && value.is_nan()), "{name}: {v}");
                }
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        let err = Izhikevich::new(d.with_c(45.0)).unwrap_err().to_string();
        assert!(err.contains("`c`") && err.contains("45"), "{err}");
    }

    #[test]
    fn serde_round_trip_validates() {
        let izh = Izhikevich::new(IzhikevichConstants::default().with_reset(Reset::Hard)).unwrap();
        let back: Izhikevich = serde_json::from_str(&serde_json::to_string(&izh).unwrap()).unwrap();
        assert_eq!(back, izh);
        let partial: Izhikevich = serde_json::from_str(r#"{"d": 8}"#).unwrap();
        assert_eq!(
            partial.constants(),
            IzhikevichConstants::default().with_d(8.0)
        );
        assert!(serde_json::from_str::<Izhikevich>(r#"{"a": 0}"#).is_err());
    }

    /// The fixed points of `V` with `U = bV` and no drive are the roots of
    /// `0.04V² + 4.8V + 140`: rest at −70 mV and the saddle at −50 mV;
    /// the drive at which they merge is 4.
    #[test]
    fn rest_and_saddle_are_izhikevichs() {
        let izh = Izhikevich::default();
        for v in [-70.0, -50.0] {
            let mut f = [0.0; 3];
            izh.dynamics(&[0.0], &[v, 0.2 * v, 0.0], &mut f);
            assert!(f[0].abs() < 1e-12 && f[1].abs() < 1e-15, "{v}: {f:?}");
        }
        let mut f = [0.0; 3];
        izh.dynamics(&[4.0], &[-60.0, -12.0, 0.0], &mut f);
        assert!(f[0].abs() < 1e-12, "{f:?}");
    }

    /// Both resets put `V` at `c` from the peak and raise `U` by `d`; they
    /// differ in the gradient through `V`.
    #[test]
    fn resets_go_to_c_from_the_peak() {
        for (reset, dv) in [(Reset::Subtractive, 1.0), (Reset::Hard, 0.0)] {
            let izh = Izhikevich::new(IzhikevichConstants::default().with_reset(reset)).unwrap();
            let mut x = [30.0, -5.0, 1.5];
            izh.reset(&mut x);
            assert_eq!(x, [-51.0, -3.0, 1.5], "{reset:?}");
            let mut out = [0.0; 3];
            izh.reset_vjp(&[30.0, -5.0, 1.5], &[1.0, 0.0, 0.0], &mut out);
            assert_eq!(out, [dv, 0.0, 0.0], "{reset:?}");
        }
    }

    proptest! {
        #[test]
        fn derivatives_match_finite_differences(
            v in -90.0..30.0f64, u in -20.0..10.0f64, i in -20.0..20.0f64,
            bias in -5.0..15.0f64, w in -10.0..10.0f64,
            a in 0.005..0.2f64, b in -0.3..0.3f64, ts in 0.5..30.0f64,
            subtractive in proptest::bool::ANY,
        ) {
            let reset = if subtractive { Reset::Subtractive } else { Reset::Hard };
            let izh = Izhikevich::new(
                IzhikevichConstants::default().with_a(a).with_b(b).with_tau_syn(ts).with_reset(reset),
            ).unwrap();
            let r = check_derivatives(&izh, &[bias], &[v, u, i], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
