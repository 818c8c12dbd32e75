//! Quadratic integrate-and-fire neuron with learnable time constants.

use crate::error::check_log_params;
use crate::qif::QifConstants;
use crate::{NeuronError, NeuronModel, Qif, Scalar};
use serde::{Deserialize, Serialize};
use std::f64::consts::FRAC_1_PI;

/// The [`Qif`] neuron (phase form) with its two time constants learned per
/// neuron, in log form.
///
/// State `x = (φ, i)` with `V = π tan(π(φ − ½))`, learnable parameters
/// `p = (b, log τ_mem, log τ_syn)` ([`PARAM_NAMES`](NeuronModel::PARAM_NAMES)
/// `bias`, `log_tau_mem`, `log_tau_syn`), `τ = e^{log τ}`; with
/// `c = cos πφ`, `s = sin πφ`:
///
/// - `τ_mem φ' = c (c + s/π) + (s²/π²)(i + b)`, `τ_syn i' = −i`
///   (`τ_mem V' = V² − V + i + b`)
/// - input spike of weight `w`: `i ← i + w`
/// - event `g = φ − 1` crossing zero upward; reset `φ ← 0` (`V = −∞`, the
///   ideal QIF's reset, so that the next spike comes after a full upswing)
/// - initial state `(½, 0)`, i.e. `V = 0`
///
/// The time constants given to [`Pqif::new`] are only where training starts
/// ([`default_params`](NeuronModel::default_params) gives their logarithms);
/// logarithms beyond ±700 are rejected
/// ([`NeuronError::ParameterOutOfRange`]). Defaults as [`Qif::default`]:
/// `τ_mem = 20`, `τ_syn = 5`. Units as [`Qif`]. References: as [`Qif`];
/// learnable time constants as Fang et al., ICCV 2021.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{NeuronModel, Pqif, Qif};
///
/// let pqif = Pqif::default();
/// let p = pqif.default_params();
/// assert_eq!(p, [0.0, 20f64.ln(), 5f64.ln()]);
/// let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
/// pqif.dynamics(&[0.3, p[1], p[2]], &[0.4, 1.5], &mut f);
/// Qif::default().dynamics(&[0.3], &[0.4, 1.5], &mut g);
/// assert!((f[0] - g[0]).abs() < 1e-15 && (f[1] - g[1]).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "QifConstants", into = "QifConstants")]
pub struct Pqif {
    start: Qif,
}

impl TryFrom<QifConstants> for Pqif {
    type Error = NeuronError;
    fn try_from(c: QifConstants) -> Result<Self, NeuronError> {
        Qif::try_from(c).map(Pqif::from)
    }
}

impl From<Pqif> for QifConstants {
    fn from(p: Pqif) -> Self {
        p.start.into()
    }
}

impl From<Qif> for Pqif {
    /// The QIF neuron's time constants as the start of training.
    fn from(start: Qif) -> Self {
        Pqif { start }
    }
}

impl Pqif {
    /// A PQIF neuron starting from time constants `tau_mem`, `tau_syn`;
    /// errors as [`Qif::new`] (a time constant not finite and positive),
    /// with the model named `QIF`.
    pub fn new(tau_mem: f64, tau_syn: f64) -> Result<Self, NeuronError> {
        Qif::new(tau_mem, tau_syn).map(Pqif::from)
    }

    /// The QIF neuron with the start time constants.
    pub fn start(&self) -> &Qif {
        &self.start
    }
}

impl NeuronModel for Pqif {
    type State = [f64; 2];
    type Params = [f64; 3];
    const NAME: &'static str = "PQIF";
    const PARAM_NAMES: &'static [&'static str] = &["bias", "log_tau_mem", "log_tau_syn"];

    fn initial_state(&self) -> [f64; 2] {
        [0.5, 0.0]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let (s, c) = x[0].sin_cos_pi();
        let s_pi = s * FRAC_1_PI;
        dx[0] = (c * (c + s_pi) + s_pi * s_pi * (x[1] + p[0])) * (-p[1]).exp();
        dx[1] = -x[1] * (-p[2]).exp();
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - 1.0
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(0.0);
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[1] += w;
    }

    /// [`Qif`]'s proof with the neuron's own `τ_mem = e^{log τ_mem}`.
    fn silent_for(&self, p: &[f64; 3], x: &[f64; 2], horizon: f64) -> bool {
        Qif::new(p[1].exp(), p[2].exp()).is_ok_and(|q| q.silent_for(&[p[0]], x, horizon))
    }

    fn default_params(&self) -> [f64; 3] {
        [0.0, self.start.tau_mem().ln(), self.start.tau_syn().ln()]
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

    #[test]
    fn constructor_rejects_bad_constants() {
        for (tm, ts, name) in [
            (0.0, 5.0, "tau_mem"),
            (f64::NAN, 5.0, "tau_mem"),
            (20.0, -5.0, "tau_syn"),
        ] {
            match Pqif::new(tm, ts) {
                Err(NeuronError::InvalidConstant { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        assert!(serde_json::from_str::<Pqif>(r#"{"tau_mem":1,"tau_syn":0}"#).is_err());
        let pqif = Pqif::new(7.0, 2.0).unwrap();
        let back: Pqif = serde_json::from_str(&serde_json::to_string(&pqif).unwrap()).unwrap();
        assert_eq!(back, pqif);
    }

    /// Non-finite parameters and logarithms beyond ±700 are named.
    #[test]
    fn parameters_are_validated() {
        let pqif = Pqif::default();
        assert_eq!(pqif.validate_params(&pqif.default_params()), Ok(()));
        for (p, name) in [
            ([f64::INFINITY, 3.0, 1.6], "bias"),
            ([0.0, f64::NAN, 1.6], "log_tau_mem"),
            ([0.0, 3.0, 750.0], "log_tau_syn"),
        ] {
            let err = pqif.validate_params(&p).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    /// The proof uses the neuron's own membrane time constant: it equals
    /// [`Qif`]'s for the same `τ_mem`.
    #[test]
    fn silent_for_follows_the_learned_time_constant() {
        let pqif = Pqif::default();
        for tm in [2.0, 20.0, 80.0] {
            let qif = Qif::new(tm, 5.0).unwrap();
            for (phi, i, b, h) in [
                (0.5, 0.0, 0.3, 10.0),
                (0.8, 1.0, 0.0, 30.0),
                (0.2, -1.0, 0.1, 5.0),
            ] {
                assert_eq!(
                    pqif.silent_for(&[b, f64::ln(tm), 5f64.ln()], &[phi, i], h),
                    qif.silent_for(&[b], &[phi, i], h),
                    "tm {tm}, state {phi} {i} {b}, horizon {h}"
                );
            }
        }
    }

    proptest! {
        /// Derived derivatives against finite differences; with
        /// `τ = e^{log τ}` the equations are [`Qif`]'s.
        #[test]
        fn derivatives_match_finite_differences(
            phi in 0.0..1.0f64, i in -5.0..5.0f64, b in -2.0..2.0f64, w in -5.0..5.0f64,
            ltm in -2.0..3.5f64, lts in -2.0..3.5f64,
        ) {
            let pqif = Pqif::default();
            let p = [b, ltm, lts];
            let r = check_derivatives(&pqif, &p, &[phi, i], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
            let qif = Qif::new(ltm.exp(), lts.exp()).unwrap();
            let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
            pqif.dynamics(&p, &[phi, i], &mut f);
            qif.dynamics(&[b], &[phi, i], &mut g);
            for k in 0..2 {
                prop_assert!((f[k] - g[k]).abs() <= 1e-14 * (1.0 + g[k].abs()), "{f:?} {g:?}");
            }
        }
    }
}
