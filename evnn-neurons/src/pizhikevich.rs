//! Izhikevich neuron with learnable recovery constants.

use crate::error::{check_log_params, require};
use crate::izhikevich::{membrane, IzhikevichConstants};
use crate::{Izhikevich, NeuronError, NeuronModel, Scalar};
use serde::{Deserialize, Serialize};

/// The [`Izhikevich`] neuron with its recovery constants `a` and `b`
/// learned per neuron, in log form.
///
/// State `x = (V, U, I)`, learnable parameters `p = (I_c, log a, log b)`
/// ([`PARAM_NAMES`](NeuronModel::PARAM_NAMES) `bias`, `log_a`, `log_b`):
///
/// - `V' = 0.04 V² + 5 V + 140 − U + I + I_c`,
///   `U' = e^{log a} (e^{log b} V − U)`, `τ_syn I' = −I`
/// - input spike of weight `w`: `I ← I + w`
/// - event `g = V − V_th`; reset as [`Izhikevich`] (`V` to `c` from the
///   peak, `U ← U + d`)
/// - initial state `(c, b₀ c, 0)` with `b₀` the start value of `b`
///
/// `c`, `d`, `V_th` and `τ_syn` are constants shared by a layer. The
/// recovery jump `d` cannot be learned per neuron: a model's reset does not
/// see the per-neuron parameters. The `a` and `b` of the
/// [`IzhikevichConstants`] given to [`PIzhikevich::new`] are where training
/// starts ([`default_params`](NeuronModel::default_params) gives their
/// logarithms); the log form keeps both positive, so `b` must start
/// positive. Logarithms beyond ±700 are rejected
/// ([`NeuronError::ParameterOutOfRange`]). Defaults, units and reference as
/// [`Izhikevich`].
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Izhikevich, NeuronModel, PIzhikevich};
///
/// let pizh = PIzhikevich::default();
/// let p = pizh.default_params();
/// assert_eq!(p, [0.0, 0.02f64.ln(), 0.2f64.ln()]);
/// let (x, mut f, mut g) = ([-60.0, -11.0, 2.0], [0.0; 3], [0.0; 3]);
/// pizh.dynamics(&[4.0, p[1], p[2]], &x, &mut f);
/// Izhikevich::default().dynamics(&[4.0], &x, &mut g);
/// assert!(f.iter().zip(&g).all(|(a, b)| (a - b).abs() < 1e-15));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "IzhikevichConstants", into = "IzhikevichConstants")]
pub struct PIzhikevich {
    start: Izhikevich,
}

impl TryFrom<IzhikevichConstants> for PIzhikevich {
    type Error = NeuronError;
    fn try_from(c: IzhikevichConstants) -> Result<Self, NeuronError> {
        PIzhikevich::new(c)
    }
}

impl From<PIzhikevich> for IzhikevichConstants {
    fn from(p: PIzhikevich) -> Self {
        p.start.constants()
    }
}

const NAME: &str = "PIzhikevich";

impl PIzhikevich {
    /// A PIzhikevich neuron; errors as [`Izhikevich::new`], and when `b`
    /// is not positive (it is learned as `log b`).
    pub fn new(c: IzhikevichConstants) -> Result<Self, NeuronError> {
        c.validate(NAME)?;
        require(
            c.b > 0.0,
            NAME,
            "b",
            c.b,
            "must be > 0 (it is learned as log b)",
        )?;
        Ok(PIzhikevich {
            start: Izhikevich::with_constants(c),
        })
    }

    /// The Izhikevich neuron with the start values of `a` and `b`.
    pub fn start(&self) -> &Izhikevich {
        &self.start
    }
}

impl NeuronModel for PIzhikevich {
    type State = [f64; 3];
    type Params = [f64; 3];
    const NAME: &'static str = NAME;
    const PARAM_NAMES: &'static [&'static str] = &["bias", "log_a", "log_b"];

    fn initial_state(&self) -> [f64; 3] {
        self.start.initial_state()
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = membrane(x[0], x[1], x[2], p[0]);
        dx[1] = (x[0] * p[2].exp() - x[1]) * p[1].exp();
        dx[2] = -x[2] * self.start.inv_tau_syn();
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        self.start.event(x)
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        self.start.reset_with(x)
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }

    fn default_params(&self) -> [f64; 3] {
        let c = self.start.constants();
        [0.0, c.a.ln(), c.b.ln()]
    }

    /// Every parameter finite, the logarithms within ±700.
    fn validate_params(&self, p: &[f64; 3]) -> Result<(), NeuronError> {
        check_log_params(Self::NAME, Self::PARAM_NAMES, p, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, CheckOptions};
    use proptest::prelude::*;

    /// One test per invalid constant: the error names it, with this model's
    /// name.
    #[test]
    fn constructor_rejects_bad_constants() {
        let d = IzhikevichConstants::default();
        for (c, name, value) in [
            (d.with_a(0.0), "a", 0.0),
            (d.with_b(0.0), "b", 0.0),
            (d.with_b(-0.1), "b", -0.1),
            (d.with_b(f64::NAN), "b", f64::NAN),
            (d.with_c(31.0), "c", 31.0),
            (d.with_tau_syn(f64::INFINITY), "tau_syn", f64::INFINITY),
        ] {
            match PIzhikevich::new(c) {
                Err(NeuronError::InvalidConstant {
                    model,
                    name: n,
                    value: v,
                    ..
                }) => {
                    assert_eq!((model, n), (NAME, name), "{c:?}");
                    assert!(v == value || (v.is_nan() && value.is_nan()), "{name}: {v}");
                }
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        assert!(serde_json::from_str::<PIzhikevich>(r#"{"b": -0.1}"#).is_err());
        let pizh = PIzhikevich::new(d.with_d(6.0)).unwrap();
        let back: PIzhikevich =
            serde_json::from_str(&serde_json::to_string(&pizh).unwrap()).unwrap();
        assert_eq!(back, pizh);
    }

    /// Non-finite parameters and logarithms beyond ±700 are named.
    #[test]
    fn parameters_are_validated() {
        let pizh = PIzhikevich::default();
        assert_eq!(pizh.validate_params(&pizh.default_params()), Ok(()));
        for (p, name) in [
            ([f64::NAN, -3.9, -1.6], "bias"),
            ([0.0, -1000.0, -1.6], "log_a"),
            ([0.0, -3.9, f64::NEG_INFINITY], "log_b"),
        ] {
            let err = pizh.validate_params(&p).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    proptest! {
        /// Derived derivatives against finite differences; with
        /// `a = e^{log a}`, `b = e^{log b}` the equations are
        /// [`Izhikevich`]'s.
        #[test]
        fn derivatives_match_finite_differences(
            v in -90.0..30.0f64, u in -20.0..10.0f64, i in -20.0..20.0f64,
            bias in -5.0..15.0f64, w in -10.0..10.0f64,
            la in -5.0..-1.0f64, lb in -3.0..-0.5f64,
        ) {
            let pizh = PIzhikevich::default();
            let p = [bias, la, lb];
            let x = [v, u, i];
            let r = check_derivatives(&pizh, &p, &x, w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
            let izh = Izhikevich::new(
                IzhikevichConstants::default().with_a(la.exp()).with_b(lb.exp()),
            ).unwrap();
            let (mut f, mut g) = ([0.0; 3], [0.0; 3]);
            pizh.dynamics(&p, &x, &mut f);
            izh.dynamics(&[bias], &x, &mut g);
            for k in 0..3 {
                prop_assert!((f[k] - g[k]).abs() <= 1e-13 * (1.0 + g[k].abs()), "{f:?} {g:?}");
            }
        }
    }
}
