//! Leaky integrate-and-fire neuron with learnable time constants.

use crate::error::check_log_params;
use crate::lif::LifConstants;
use crate::{Lif, NeuronError, NeuronModel, Scalar};
use serde::{Deserialize, Serialize};

/// The [`Lif`] neuron with its two time constants learned per neuron, in
/// log form (parametric LIF).
///
/// State `x = (v, i)`, learnable parameters
/// `p = (b, log τ_mem, log τ_syn)` ([`PARAM_NAMES`](NeuronModel::PARAM_NAMES)
/// `bias`, `log_tau_mem`, `log_tau_syn`), `τ = e^{log τ}`:
///
/// - `τ_mem v' = −v + i + b`, `τ_syn i' = −i`
/// - input spike of weight `w`: `i ← i + w`
/// - event `g = v − θ` crossing zero upward; reset `v ← v_r`
/// - initial state `(0, 0)`
///
/// The log form keeps the time constants positive under any gradient step;
/// the gradient of a loss with respect to `log τ` comes from the adjoint's
/// `∂f/∂p`, derived from the equations like every other derivative. The
/// constants `θ` and `v_r` are shared by a layer; the time constants given
/// to [`Plif::new`] are only where training starts
/// ([`default_params`](NeuronModel::default_params) gives their logarithms).
/// Logarithms beyond ±700 are rejected
/// ([`NeuronError::ParameterOutOfRange`]). Defaults as [`Lif::default`]:
/// `τ_mem = 20`, `τ_syn = 5`, `θ = 1`, `v_r = 0`. Units as [`Lif`].
/// Reference: Fang, Yu, Chen, Masquelier, Huang & Tian, "Incorporating
/// learnable membrane time constant to enhance learning of spiking neural
/// networks", ICCV 2021.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel, Plif};
///
/// let plif = Plif::new(20.0, 5.0, 1.0, 0.0)?;
/// let p = plif.default_params(); // [0, ln 20, ln 5]
/// assert_eq!(p, [0.0, 20f64.ln(), 5f64.ln()]);
/// // With those parameters it is the LIF neuron.
/// let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
/// plif.dynamics(&[0.3, p[1], p[2]], &[0.2, 1.5], &mut f);
/// Lif::default().dynamics(&[0.3], &[0.2, 1.5], &mut g);
/// assert!((f[0] - g[0]).abs() < 1e-15 && (f[1] - g[1]).abs() < 1e-15);
/// // ∂v'/∂log τ_mem = −v'.
/// let (mut lx, mut lp) = ([0.0; 2], [0.0; 3]);
/// plif.dynamics_vjp(&[0.3, p[1], p[2]], &[0.2, 1.5], &[1.0, 0.0], &mut lx, &mut lp);
/// assert!((lp[1] + f[0]).abs() < 1e-15);
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "LifConstants", into = "LifConstants")]
pub struct Plif {
    start: Lif,
}

impl TryFrom<LifConstants> for Plif {
    type Error = NeuronError;
    fn try_from(c: LifConstants) -> Result<Self, NeuronError> {
        Lif::try_from(c).map(Plif::from)
    }
}

impl From<Plif> for LifConstants {
    fn from(p: Plif) -> Self {
        p.start.into()
    }
}

impl From<Lif> for Plif {
    /// The LIF neuron's threshold and reset, its time constants as the start
    /// of training.
    fn from(start: Lif) -> Self {
        Plif { start }
    }
}

impl Plif {
    /// A PLIF neuron starting from time constants `tau_mem`, `tau_syn`;
    /// errors as [`Lif::new`] (a time constant not finite and positive, `θ`
    /// or `v_r` not finite, `v_r ≥ θ`), with the model named `LIF`.
    pub fn new(tau_mem: f64, tau_syn: f64, theta: f64, v_reset: f64) -> Result<Self, NeuronError> {
        Lif::new(tau_mem, tau_syn, theta, v_reset).map(Plif::from)
    }

    /// The LIF neuron with the start time constants.
    pub fn start(&self) -> &Lif {
        &self.start
    }

    /// Threshold `θ`.
    pub fn theta(&self) -> f64 {
        self.start.theta()
    }
    /// Reset potential `v_r`.
    pub fn v_reset(&self) -> f64 {
        self.start.v_reset()
    }
}

impl NeuronModel for Plif {
    type State = [f64; 2];
    type Params = [f64; 3];
    const NAME: &'static str = "PLIF";
    const PARAM_NAMES: &'static [&'static str] = &["bias", "log_tau_mem", "log_tau_syn"];

    fn initial_state(&self) -> [f64; 2] {
        [0.0, 0.0]
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = (-x[0] + x[1] + p[0]) * (-p[1]).exp();
        dx[1] = -x[1] * (-p[2]).exp();
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.start.theta()
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(self.start.v_reset());
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[1] += w;
    }

    /// As [`Lif`]'s, which does not depend on the time constants.
    fn silent_for(&self, p: &[f64; 3], x: &[f64; 2], horizon: f64) -> bool {
        self.start.silent_for(&[p[0]], x, horizon)
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
        for (tm, ts, th, vr, name) in [
            (0.0, 5.0, 1.0, 0.0, "tau_mem"),
            (f64::NAN, 5.0, 1.0, 0.0, "tau_mem"),
            (20.0, -5.0, 1.0, 0.0, "tau_syn"),
            (20.0, 5.0, f64::INFINITY, 0.0, "theta"),
            (20.0, 5.0, 1.0, 1.5, "v_reset"),
        ] {
            match Plif::new(tm, ts, th, vr) {
                Err(NeuronError::InvalidConstant { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
        assert!(
            serde_json::from_str::<Plif>(r#"{"tau_mem":0,"tau_syn":1,"theta":1,"v_reset":0}"#)
                .is_err()
        );
    }

    /// Non-finite parameters and logarithms beyond ±700 are named.
    #[test]
    fn parameters_are_validated() {
        let plif = Plif::default();
        assert_eq!(plif.validate_params(&plif.default_params()), Ok(()));
        for (p, name, value) in [
            ([f64::NAN, 3.0, 1.6], "bias", f64::NAN),
            ([0.0, f64::INFINITY, 1.6], "log_tau_mem", f64::INFINITY),
            ([0.0, 3.0, -701.0], "log_tau_syn", -701.0),
            ([0.0, 800.0, 1.6], "log_tau_mem", 800.0),
        ] {
            match plif.validate_params(&p) {
                Err(NeuronError::InvalidParameter {
                    name: n, value: v, ..
                })
                | Err(NeuronError::ParameterOutOfRange {
                    name: n, value: v, ..
                }) => {
                    assert_eq!(n, name);
                    assert!(v == value || (v.is_nan() && value.is_nan()));
                }
                other => panic!("expected an error naming {name}, got {other:?}"),
            }
        }
    }

    #[test]
    fn serde_round_trip() {
        let plif = Plif::new(10.0, 3.0, 1.0, -0.5).unwrap();
        let back: Plif = serde_json::from_str(&serde_json::to_string(&plif).unwrap()).unwrap();
        assert_eq!(back, plif);
        assert_eq!(back.default_params()[1], 10f64.ln());
    }

    proptest! {
        /// Derived derivatives (among them `∂f/∂ log τ`) against finite
        /// differences; and with `τ = e^{log τ}` the equations are
        /// [`Lif`]'s.
        #[test]
        fn derivatives_match_finite_differences(
            v in -3.0..3.0f64, i in -5.0..5.0f64, b in -2.0..2.0f64, w in -5.0..5.0f64,
            ltm in -2.0..3.5f64, lts in -2.0..3.5f64,
        ) {
            let plif = Plif::default();
            let p = [b, ltm, lts];
            let r = check_derivatives(&plif, &p, &[v, i], w, &CheckOptions::default());
            prop_assert!(r.is_ok(), "{:?}", r);
            let lif = Lif::new(ltm.exp(), lts.exp(), 1.0, 0.0).unwrap();
            let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
            plif.dynamics(&p, &[v, i], &mut f);
            lif.dynamics(&[b], &[v, i], &mut g);
            for k in 0..2 {
                prop_assert!((f[k] - g[k]).abs() <= 1e-14 * (1.0 + g[k].abs()), "{f:?} {g:?}");
            }
        }
    }
}
