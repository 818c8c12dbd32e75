//! Izhikevich neuron with learnable recovery constants.

use crate::error::{check_log_params, require};
use crate::izhikevich::{membrane, IzhikevichConstants};
use crate::{Izhikevich, NeuronError, NeuronModel, Scalar};
use serde::{Deserialize, Serialize};

/// The [`Izhikevich`] neuron with its recovery constants `a`, `b` and `d`
/// learned per neuron, in log form.
///
/// State `x = (V, U, I)`, learnable parameters
/// `p = (I_c, log a, log b, log d)`
/// ([`PARAM_NAMES`](NeuronModel::PARAM_NAMES) `bias`, `log_a`, `log_b`,
/// `log_d`):
///
/// - `V' = 0.04 V² + 5 V + 140 − U + I + I_c`,
///   `U' = e^{log a} (e^{log b} V − U)`, `τ_syn I' = −I`
/// - input spike of weight `w`: `I ← I + w`
/// - event `g = V − V_th`; reset as [`Izhikevich`] (`V` to `c` from the
///   peak) with the learned jump `U ← U + e^{log d}`
///   ([`reset_with_params`](NeuronModel::reset_with_params),
///   [`RESET_USES_PARAMS`](NeuronModel::RESET_USES_PARAMS); the EventProp
///   adjoint adds `λ_U⁺ e^{log d}` to `dL/d log d` at each spike)
/// - initial state `(c, b₀ c, 0)` with `b₀` the start value of `b`
///
/// `c`, `V_th` and `τ_syn` are constants shared by a layer. The `a`, `b`
/// and `d` of the [`IzhikevichConstants`] given to [`PIzhikevich::new`]
/// are where training starts ([`default_params`](NeuronModel::default_params)
/// gives their logarithms; [`reset`](NeuronModel::reset), without
/// parameters, jumps by this `d`); the log form keeps them positive, so
/// `b` and `d` must start positive. Logarithms beyond ±700 are rejected
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
/// assert_eq!(p, [0.0, 0.02f64.ln(), 0.2f64.ln(), 2.0f64.ln()]);
/// let (x, mut f, mut g) = ([-60.0, -11.0, 2.0], [0.0; 3], [0.0; 3]);
/// pizh.dynamics(&[4.0, p[1], p[2], p[3]], &x, &mut f);
/// Izhikevich::default().dynamics(&[4.0], &x, &mut g);
/// assert!(f.iter().zip(&g).all(|(a, b)| (a - b).abs() < 1e-15));
/// // The recovery jump is the learned d: here e^{ln 3} = 3.
/// let mut y = [30.0, -5.0, 1.0];
/// pizh.reset_with_params(&[4.0, p[1], p[2], 3.0f64.ln()], &mut y);
/// assert!((y[1] - -2.0).abs() < 1e-14);
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
    /// or `d` is not positive (they are learned as `log b`, `log d`).
    pub fn new(c: IzhikevichConstants) -> Result<Self, NeuronError> {
        c.validate(NAME)?;
        require(
            c.b > 0.0,
            NAME,
            "b",
            c.b,
            "must be > 0 (it is learned as log b)",
        )?;
        require(
            c.d > 0.0,
            NAME,
            "d",
            c.d,
            "must be > 0 (it is learned as log d)",
        )?;
        Ok(PIzhikevich {
            start: Izhikevich::with_constants(c),
        })
    }

    /// The Izhikevich neuron with the start values of `a`, `b` and `d`.
    pub fn start(&self) -> &Izhikevich {
        &self.start
    }
}

impl NeuronModel for PIzhikevich {
    type State = [f64; 3];
    type Params = [f64; 4];
    const NAME: &'static str = NAME;
    const PARAM_NAMES: &'static [&'static str] = &["bias", "log_a", "log_b", "log_d"];
    const RESET_USES_PARAMS: bool = true;

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

    /// The reset with the start value of `d`.
    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        self.start.reset_with(x)
    }

    /// `V` as [`Izhikevich`], `U ← U + e^{log d}`.
    #[inline]
    fn reset_with_params<T: Scalar>(&self, p: &[T], x: &mut [T]) {
        self.start.reset_v(x);
        x[1] += p[3].exp();
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }

    fn default_params(&self) -> [f64; 4] {
        let c = self.start.constants();
        [0.0, c.a.ln(), c.b.ln(), c.d.ln()]
    }

    /// Every parameter finite, the logarithms within ±700.
    fn validate_params(&self, p: &[f64; 4]) -> Result<(), NeuronError> {
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
            (d.with_d(0.0), "d", 0.0),
            (d.with_d(-2.0), "d", -2.0),
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
            ([f64::NAN, -3.9, -1.6, 0.7], "bias"),
            ([0.0, -1000.0, -1.6, 0.7], "log_a"),
            ([0.0, -3.9, f64::NEG_INFINITY, 0.7], "log_b"),
            ([0.0, -3.9, -1.6, 701.0], "log_d"),
        ] {
            let err = pizh.validate_params(&p).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    proptest! {
        /// Derived derivatives (the reset's `∂h/∂p` included) against
        /// finite differences; with `a = e^{log a}`, `b = e^{log b}`,
        /// `d = e^{log d}` the equations are [`Izhikevich`]'s.
        #[test]
        fn derivatives_match_finite_differences(
            v in -90.0..30.0f64, u in -20.0..10.0f64, i in -20.0..20.0f64,
            bias in -5.0..15.0f64, w in -10.0..10.0f64,
            la in -5.0..-1.0f64, lb in -3.0..-0.5f64, ld in -2.0..2.5f64,
        ) {
            let pizh = PIzhikevich::default();
            let p = [bias, la, lb, ld];
            let x = [v, u, i];
            let r = check_derivatives(&pizh, &p, &x, w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
            let izh = Izhikevich::new(
                IzhikevichConstants::default()
                    .with_a(la.exp())
                    .with_b(lb.exp())
                    .with_d(ld.exp()),
            ).unwrap();
            let (mut f, mut g) = ([0.0; 3], [0.0; 3]);
            pizh.dynamics(&p, &x, &mut f);
            izh.dynamics(&[bias], &x, &mut g);
            for k in 0..3 {
                prop_assert!((f[k] - g[k]).abs() <= 1e-13 * (1.0 + g[k].abs()), "{f:?} {g:?}");
            }
            let (mut hp, mut h) = (x, x);
            pizh.reset_with_params(&p, &mut hp);
            izh.reset(&mut h);
            for k in 0..3 {
                prop_assert!((hp[k] - h[k]).abs() <= 1e-13 * (1.0 + h[k].abs()), "{hp:?} {h:?}");
            }
            // The reset's parameter gradient: λ_U⁺ e^{log d} on log d only.
            let (mut out, mut lp) = ([0.0; 3], [0.5; 4]);
            pizh.reset_vjp_with_params(&p, &x, &[0.3, -0.7, 0.2], &mut out, &mut lp);
            prop_assert_eq!(&lp[..3], &[0.5; 3][..]);
            prop_assert!((lp[3] - (0.5 - 0.7 * ld.exp())).abs() <= 1e-14 * (1.0 + ld.exp()));
        }
    }
}
