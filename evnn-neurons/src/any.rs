//! One of the built-in models, chosen at run time: layers of different
//! models in one network.
//!
//! A network's layers share one model *type* (`evnn-net`'s `FeedForward<N,
//! B>`), each layer with its own value of it. [`AnyNeuron`] is the type
//! whose values are any built-in model, so that one layer may be EIF and
//! the next LIF. Its state and parameter vectors have the largest sizes of
//! the family, [`ANY_STATE_DIM`] and [`ANY_PARAMS_DIM`]; a model with fewer
//! components uses the leading ones, and the rest are inert: their dynamics
//! are zero, their jumps leave them alone, their initial values and
//! gradients are zero. Every equation and derivative is the chosen model's
//! own (hand-written where it has them), so a layer of `AnyNeuron::Lif(lif)`
//! computes what a layer of `lif` computes, on the generic backends.
//!
//! What the padding costs: the numerical adjoint integrates the sensitivity
//! system of the padded size, and the error norm of the adaptive steppers
//! averages over the padded components too, so the steps (and the spike
//! times, within the solver tolerance) may differ from those of the plain
//! model. The closed-form LIF and the QIF series backends take the plain
//! models only.
//!
//! [`Egru`](crate::Egru) is not among them: its synapses carry three
//! weights ([`NeuronModel::WEIGHTS_PER_SYNAPSE`]), a constant of the type,
//! which all of `AnyNeuron`'s layers share. Padding to three weights would
//! triple every other layer's weights and change their initial draws; a
//! model file or configuration naming `"egru"` as a layer is refused
//! (`unknown variant `egru``).

use crate::{
    Alif, Eif, Izhikevich, Lif, NeuronError, NeuronModel, PIzhikevich, Plif, Pqif, Qif, Scalar,
    StateVector,
};
use serde::{Deserialize, Serialize};

/// Components of [`AnyNeuron`]'s state: the largest state of the family
/// (Izhikevich's `V, U, I`).
pub const ANY_STATE_DIM: usize = 3;
/// Components of [`AnyNeuron`]'s parameters: the largest parameter vector
/// of the family (PIzhikevich's bias and three log-parameters).
pub const ANY_PARAMS_DIM: usize = 4;

/// Any built-in neuron model, with its constants.
///
/// Serialized with the model's name as `"kind"` and its constants beside
/// it, e.g. `{"kind": "lif", "tau_mem": 20.0, ...}`.
///
/// # Examples
///
/// An EIF hidden layer and a LIF output layer in one network:
///
/// ```
/// use evnn_neurons::{AnyNeuron, Eif, EifConstants, Lif, NeuronModel};
///
/// let layers = [
///     AnyNeuron::Eif(Eif::new(EifConstants::default())?),
///     AnyNeuron::Lif(Lif::default()),
/// ];
/// // Each is its model: the same dynamics on the leading components.
/// let (p, x) = ([0.3, 0.0, 0.0, 0.0], [0.5, 1.0, 0.0]);
/// let mut f = [0.0; 3];
/// layers[1].dynamics(&p, &x, &mut f);
/// let mut g = [0.0; 2];
/// Lif::default().dynamics(&p[..1], &x[..2], &mut g);
/// assert_eq!(f, [g[0], g[1], 0.0]);
/// assert_eq!(layers[0].name(), "EIF");
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnyNeuron {
    /// Leaky integrate-and-fire.
    Lif(Lif),
    /// Quadratic integrate-and-fire (phase form).
    Qif(Qif),
    /// Exponential integrate-and-fire.
    Eif(Eif),
    /// Adaptive LIF.
    Alif(Alif),
    /// Izhikevich.
    Izhikevich(Izhikevich),
    /// LIF with learnable time constants.
    Plif(Plif),
    /// QIF with learnable time constants.
    Pqif(Pqif),
    /// Izhikevich with learnable `a`, `b`, `d`.
    #[serde(rename = "pizhikevich")]
    PIzhikevich(PIzhikevich),
}

/// Calls `$body` with `$m` bound to the chosen model and `$M` to its type.
macro_rules! dispatch {
    ($self:expr, $m:ident, $M:ident => $body:expr) => {
        match $self {
            AnyNeuron::Lif($m) => {
                type $M = Lif;
                $body
            }
            AnyNeuron::Qif($m) => {
                type $M = Qif;
                $body
            }
            AnyNeuron::Eif($m) => {
                type $M = Eif;
                $body
            }
            AnyNeuron::Alif($m) => {
                type $M = Alif;
                $body
            }
            AnyNeuron::Izhikevich($m) => {
                type $M = Izhikevich;
                $body
            }
            AnyNeuron::Plif($m) => {
                type $M = Plif;
                $body
            }
            AnyNeuron::Pqif($m) => {
                type $M = Pqif;
                $body
            }
            AnyNeuron::PIzhikevich($m) => {
                type $M = PIzhikevich;
                $body
            }
        }
    };
}

type AnyState = [f64; ANY_STATE_DIM];
type AnyParams = [f64; ANY_PARAMS_DIM];

/// The leading components of a padded vector as the model's own vector.
#[inline]
fn lead<V: StateVector>(padded: &[f64]) -> V {
    let mut v = V::zeros();
    let n = V::DIM;
    v.as_mut_slice().copy_from_slice(&padded[..n]);
    v
}

/// A model's vector padded with zeros.
#[inline]
fn pad<V: StateVector, const N: usize>(v: &V) -> [f64; N] {
    let mut out = [0.0; N];
    out[..V::DIM].copy_from_slice(v.as_slice());
    out
}

impl AnyNeuron {
    /// The chosen model's name ([`NeuronModel::NAME`]).
    pub fn name(&self) -> &'static str {
        dispatch!(self, _m, M => <M as NeuronModel>::NAME)
    }

    /// The chosen model's parameter names ([`NeuronModel::PARAM_NAMES`]):
    /// the leading components of [`AnyNeuron`]'s parameters that it uses.
    pub fn param_names(&self) -> &'static [&'static str] {
        dispatch!(self, _m, M => <M as NeuronModel>::PARAM_NAMES)
    }

    /// The number of state components the chosen model uses.
    pub fn state_dim(&self) -> usize {
        dispatch!(self, _m, M => <<M as NeuronModel>::State as StateVector>::DIM)
    }
}

impl NeuronModel for AnyNeuron {
    type State = AnyState;
    type Params = AnyParams;
    const NAME: &'static str = "AnyNeuron";
    const PARAM_NAMES: &'static [&'static str] = &["bias", "param_1", "param_2", "param_3"];
    /// Some of the family's resets depend on their parameters
    /// (PIzhikevich's); each model's own reset and its derivatives are
    /// dispatched to.
    const RESET_USES_PARAMS: bool = true;

    fn initial_state(&self) -> AnyState {
        dispatch!(self, m, M => pad::<<M as NeuronModel>::State, ANY_STATE_DIM>(&m.initial_state()))
    }

    #[inline]
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dispatch!(self, m, M => {
            let (d, np) = (<M as NeuronModel>::State::DIM, <M as NeuronModel>::Params::DIM);
            m.dynamics(&p[..np], &x[..d], &mut dx[..d]);
            for v in &mut dx[d..] {
                *v = T::from(0.0);
            }
        })
    }

    #[inline]
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        dispatch!(self, m, M => m.event(&x[..<M as NeuronModel>::State::DIM]))
    }

    #[inline]
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        dispatch!(self, m, M => m.reset(&mut x[..<M as NeuronModel>::State::DIM]))
    }

    #[inline]
    fn reset_with_params<T: Scalar>(&self, p: &[T], x: &mut [T]) {
        dispatch!(self, m, M => m.reset_with_params(
            &p[..<M as NeuronModel>::Params::DIM],
            &mut x[..<M as NeuronModel>::State::DIM],
        ))
    }

    #[inline]
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        dispatch!(self, m, M => m.input_jump(&mut x[..<M as NeuronModel>::State::DIM], w))
    }

    #[inline]
    fn dynamics_vjp(
        &self,
        p: &AnyParams,
        x: &AnyState,
        lambda: &AnyState,
        lx: &mut AnyState,
        lp: &mut AnyParams,
    ) {
        dispatch!(self, m, M => {
            let (mut ox, mut op) = (
                <M as NeuronModel>::State::zeros(),
                <M as NeuronModel>::Params::zeros(),
            );
            m.dynamics_vjp(&lead(p), &lead(x), &lead(lambda), &mut ox, &mut op);
            *lx = pad(&ox);
            *lp = pad(&op);
        })
    }

    #[inline]
    fn dynamics_jvp(&self, p: &AnyParams, x: &AnyState, v: &AnyState, out: &mut AnyState) {
        dispatch!(self, m, M => {
            let mut o = <M as NeuronModel>::State::zeros();
            m.dynamics_jvp(&lead(p), &lead(x), &lead(v), &mut o);
            *out = pad(&o);
        })
    }

    #[inline]
    fn event_grad(&self, x: &AnyState, gx: &mut AnyState) {
        dispatch!(self, m, M => {
            let mut g = <M as NeuronModel>::State::zeros();
            m.event_grad(&lead(x), &mut g);
            *gx = pad(&g);
        })
    }

    /// The chosen model's reset Jacobian on the leading components; the
    /// inert ones keep their adjoint (the reset leaves them alone).
    #[inline]
    fn reset_vjp(&self, x_minus: &AnyState, lambda_plus: &AnyState, out: &mut AnyState) {
        dispatch!(self, m, M => {
            let mut o = <M as NeuronModel>::State::zeros();
            m.reset_vjp(&lead(x_minus), &lead(lambda_plus), &mut o);
            *out = *lambda_plus;
            out[..<M as NeuronModel>::State::DIM].copy_from_slice(o.as_slice());
        })
    }

    /// The chosen model's reset Jacobians on the leading components; the
    /// inert ones keep their adjoint and get no parameter gradient.
    #[inline]
    fn reset_vjp_with_params(
        &self,
        p: &AnyParams,
        x_minus: &AnyState,
        lambda_plus: &AnyState,
        out: &mut AnyState,
        lp: &mut AnyParams,
    ) {
        dispatch!(self, m, M => {
            let mut o = <M as NeuronModel>::State::zeros();
            let mut op: <M as NeuronModel>::Params = lead(lp);
            m.reset_vjp_with_params(&lead(p), &lead(x_minus), &lead(lambda_plus), &mut o, &mut op);
            *out = *lambda_plus;
            out[..<M as NeuronModel>::State::DIM].copy_from_slice(o.as_slice());
            lp[..<M as NeuronModel>::Params::DIM].copy_from_slice(op.as_slice());
        })
    }

    /// As [`reset_vjp`](Self::reset_vjp), for the input jump.
    #[inline]
    fn input_jump_vjp(
        &self,
        x_minus: &AnyState,
        w: f64,
        lambda_plus: &AnyState,
        out: &mut AnyState,
    ) -> f64 {
        dispatch!(self, m, M => {
            let mut o = <M as NeuronModel>::State::zeros();
            let dw = m.input_jump_vjp(&lead(x_minus), w, &lead(lambda_plus), &mut o);
            *out = *lambda_plus;
            out[..<M as NeuronModel>::State::DIM].copy_from_slice(o.as_slice());
            dw
        })
    }

    fn silent_for(&self, p: &AnyParams, x: &AnyState, horizon: f64) -> bool {
        dispatch!(self, m, _M => m.silent_for(&lead(p), &lead(x), horizon))
    }

    fn refractory_period(&self) -> f64 {
        dispatch!(self, m, _M => m.refractory_period())
    }

    fn spike_limit(&self) -> Option<usize> {
        dispatch!(self, m, _M => m.spike_limit())
    }

    fn default_params(&self) -> AnyParams {
        dispatch!(self, m, _M => pad(&m.default_params()))
    }

    /// The chosen model's check of its components; the inert ones must be
    /// finite.
    fn validate_params(&self, p: &AnyParams) -> Result<(), NeuronError> {
        dispatch!(self, m, M => {
            m.validate_params(&lead(p))?;
            let np = <M as NeuronModel>::Params::DIM;
            for (k, &value) in p.iter().enumerate().skip(np) {
                if !value.is_finite() {
                    return Err(NeuronError::InvalidParameter {
                        model: Self::NAME,
                        name: Self::PARAM_NAMES[k],
                        value,
                    });
                }
            }
            Ok(())
        })
    }
}

macro_rules! from_model {
    ($($M:ident),*) => {$(
        impl From<$M> for AnyNeuron {
            fn from(m: $M) -> Self {
                AnyNeuron::$M(m)
            }
        }
    )*};
}
from_model!(Lif, Qif, Eif, Alif, Izhikevich, Plif, Pqif, PIzhikevich);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, CheckOptions, EifConstants, IzhikevichConstants};

    /// EGRU (three weights per synapse) is not a layer model; naming it
    /// is an error that names it.
    #[test]
    fn egru_is_refused_by_name() {
        let err = serde_json::from_str::<AnyNeuron>(r#"{"kind": "egru"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("egru"), "{err}");
        assert_eq!(AnyNeuron::WEIGHTS_PER_SYNAPSE, 1);
    }

    fn family() -> Vec<AnyNeuron> {
        vec![
            Lif::default().into(),
            Qif::default().into(),
            Eif::new(EifConstants::default()).unwrap().into(),
            Alif::new(crate::AlifConstants::new(10.0, 50.0, 1.0, 10.0))
                .unwrap()
                .into(),
            Izhikevich::new(IzhikevichConstants::default())
                .unwrap()
                .into(),
            Plif::default().into(),
            Pqif::default().into(),
            PIzhikevich::default().into(),
        ]
    }

    /// Every function of the padded model is the chosen model's on the
    /// leading components, exactly, and leaves the inert ones inert.
    #[test]
    fn each_variant_is_its_model_on_the_leading_components() {
        for any in family() {
            dispatch!(&any, m, M => {
                let (d, np) = (<M as NeuronModel>::State::DIM, <M as NeuronModel>::Params::DIM);
                let mut p = any.default_params();
                p[0] = 0.4;
                let mut x = any.initial_state();
                assert!(x[d..].iter().all(|&v| v == 0.0), "{}", any.name());
                for (k, v) in x[..d].iter_mut().enumerate() {
                    *v += 0.1 * (k + 1) as f64;
                }
                let (mut f, mut g) = ([7.0; ANY_STATE_DIM], vec![0.0; d]);
                any.dynamics(&p, &x, &mut f);
                m.dynamics(&p[..np], &x[..d], &mut g);
                assert_eq!(&f[..d], &g[..], "{}", any.name());
                assert!(f[d..].iter().all(|&v| v == 0.0), "{}", any.name());
                assert_eq!(any.event(&x), m.event(&x[..d]));
                let (mut a, mut b) = (x, x[..d].to_vec());
                any.input_jump(&mut a, 0.7);
                m.input_jump(&mut b, 0.7);
                assert_eq!(&a[..d], &b[..]);
                any.reset(&mut a);
                m.reset(&mut b);
                assert_eq!(&a[..d], &b[..]);
                assert_eq!(a[d..], x[d..]);
                any.reset_with_params(&p, &mut a);
                m.reset_with_params(&p[..np], &mut b);
                assert_eq!(&a[..d], &b[..]);
                assert_eq!(a[d..], x[d..]);
                assert_eq!(any.state_dim(), d);
                assert_eq!(any.param_names(), <M as NeuronModel>::PARAM_NAMES);
            })
        }
    }

    /// The padded model's derivatives pass the finite-difference check,
    /// for every variant (the inert components included).
    #[test]
    fn derivatives_check_for_every_variant() {
        for any in family() {
            let mut p = any.default_params();
            p[0] = 0.3;
            let mut x = any.initial_state();
            x[0] += 0.2;
            check_derivatives(&any, &p, &x, 1.5, &CheckOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", any.name()));
        }
    }

    #[test]
    fn serde_names_the_kind_and_round_trips() {
        for any in family() {
            let json = serde_json::to_value(any).unwrap();
            let kind = json["kind"].as_str().unwrap().to_string();
            assert_eq!(kind, any.name().to_lowercase(), "{json}");
            let back: AnyNeuron = serde_json::from_value(json).unwrap();
            assert_eq!(back, any);
        }
        assert!(serde_json::from_str::<AnyNeuron>(r#"{"kind": "hh"}"#).is_err());
    }

    #[test]
    fn inert_parameters_must_be_finite() {
        let lif = AnyNeuron::from(Lif::default());
        assert!(lif.validate_params(&[0.5, 0.0, 0.0, 0.0]).is_ok());
        match lif.validate_params(&[0.5, f64::NAN, 0.0, 0.0]) {
            Err(NeuronError::InvalidParameter { name, .. }) => assert_eq!(name, "param_1"),
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }
}
