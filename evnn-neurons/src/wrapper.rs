//! Wrappers that change when any model may spike, not its equations: a
//! refractory period ([`Refractory`]) and at most one spike
//! ([`AtMostOneSpike`]).
//!
//! A wrapper implements [`NeuronModel`] by delegating every equation and
//! derivative to the wrapped model (hand-written derivatives included), and
//! sets one of the two methods a solver reads besides them:
//! [`NeuronModel::refractory_period`] or [`NeuronModel::spike_limit`]. The
//! solver (`evnn-solver`'s event loop, shared by every backend, and its
//! EventProp adjoint) does the rest: a wrapped model runs on the backends
//! of the model it wraps, the closed-form LIF and the QIF series included.
//! Wrappers nest: `Refractory<AtMostOneSpike<Lif>>` is a LIF neuron that
//! spikes once and is refractory after it (which matters for a trace that
//! goes on after the spike, not for its spike).

use crate::error::positive;
use crate::{NeuronError, NeuronModel};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Implements every [`NeuronModel`](crate::NeuronModel) item except the
/// refractory period and the spike limit by delegating to the field
/// `model` of type `M`: the body of `impl<M: NeuronModel> NeuronModel for
/// Wrapper<M>` for a wrapper that changes only when its model may spike
/// ([`Refractory`](crate::Refractory), [`AtMostOneSpike`](crate::AtMostOneSpike),
/// or a program's own), which then writes those two methods if it changes
/// them. Hand-written derivatives of the wrapped model stay in use.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{delegate_model, Lif, NeuronModel};
///
/// /// A model that spikes at most three times.
/// #[derive(Clone, Debug)]
/// struct Three<M> {
///     model: M,
/// }
///
/// impl<M: NeuronModel> NeuronModel for Three<M> {
///     delegate_model!();
///     fn refractory_period(&self) -> f64 {
///         self.model.refractory_period()
///     }
///     fn spike_limit(&self) -> Option<usize> {
///         Some(3)
///     }
/// }
///
/// let three = Three { model: Lif::default() };
/// assert_eq!(three.spike_limit(), Some(3));
/// assert_eq!(three.event(&[0.25, 0.0]), Lif::default().event(&[0.25, 0.0]));
/// ```
#[macro_export]
macro_rules! delegate_model {
    () => {
        type State = M::State;
        type Params = M::Params;
        const NAME: &'static str = M::NAME;
        const PARAM_NAMES: &'static [&'static str] = M::PARAM_NAMES;
        const WEIGHTS_PER_SYNAPSE: usize = M::WEIGHTS_PER_SYNAPSE;
        const RESET_USES_PARAMS: bool = M::RESET_USES_PARAMS;

        fn initial_state(&self) -> M::State {
            self.model.initial_state()
        }
        #[inline]
        fn dynamics<T: $crate::Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
            self.model.dynamics(p, x, dx)
        }
        #[inline]
        fn event<T: $crate::Scalar>(&self, x: &[T]) -> T {
            self.model.event(x)
        }
        #[inline]
        fn reset<T: $crate::Scalar>(&self, x: &mut [T]) {
            self.model.reset(x)
        }
        #[inline]
        fn reset_with_params<T: $crate::Scalar>(&self, p: &[T], x: &mut [T]) {
            self.model.reset_with_params(p, x)
        }
        #[inline]
        fn input_jump<T: $crate::Scalar>(&self, x: &mut [T], w: T) {
            self.model.input_jump(x, w)
        }
        #[inline]
        fn input_jump_weights<T: $crate::Scalar>(&self, x: &mut [T], w: &[T]) {
            self.model.input_jump_weights(x, w)
        }
        #[inline]
        fn input_jump_weights_vjp(
            &self,
            x_minus: &M::State,
            w: &[f64],
            lambda_plus: &M::State,
            out: &mut M::State,
            lw: &mut [f64],
        ) {
            self.model
                .input_jump_weights_vjp(x_minus, w, lambda_plus, out, lw)
        }
        #[inline]
        fn dynamics_vjp(
            &self,
            p: &M::Params,
            x: &M::State,
            lambda: &M::State,
            lx: &mut M::State,
            lp: &mut M::Params,
        ) {
            self.model.dynamics_vjp(p, x, lambda, lx, lp)
        }
        #[inline]
        fn dynamics_jvp(&self, p: &M::Params, x: &M::State, v: &M::State, out: &mut M::State) {
            self.model.dynamics_jvp(p, x, v, out)
        }
        #[inline]
        fn event_grad(&self, x: &M::State, gx: &mut M::State) {
            self.model.event_grad(x, gx)
        }
        #[inline]
        fn reset_vjp(&self, x_minus: &M::State, lambda_plus: &M::State, out: &mut M::State) {
            self.model.reset_vjp(x_minus, lambda_plus, out)
        }
        #[inline]
        fn reset_vjp_with_params(
            &self,
            p: &M::Params,
            x_minus: &M::State,
            lambda_plus: &M::State,
            out: &mut M::State,
            lp: &mut M::Params,
        ) {
            self.model
                .reset_vjp_with_params(p, x_minus, lambda_plus, out, lp)
        }
        #[inline]
        fn input_jump_vjp(
            &self,
            x_minus: &M::State,
            w: f64,
            lambda_plus: &M::State,
            out: &mut M::State,
        ) -> f64 {
            self.model.input_jump_vjp(x_minus, w, lambda_plus, out)
        }
        /// The wrapped model's proof: the solver asks only while the
        /// dynamics run freely, where the flow is the wrapped model's.
        fn silent_for(&self, p: &M::Params, x: &M::State, horizon: f64) -> bool {
            self.model.silent_for(p, x, horizon)
        }
        fn default_params(&self) -> M::Params {
            self.model.default_params()
        }
        fn validate_params(&self, p: &M::Params) -> Result<(), $crate::NeuronError> {
            self.model.validate_params(p)
        }
    };
}

/// Any model with an absolute refractory period `t_ref`: after each own
/// spike at `t_k` the neuron's state stays at the reset `h(x⁻)` and its
/// input spikes are blocked (they change nothing) until `t_k + t_ref`;
/// then its dynamics go on from there.
///
/// The end of the period is an exact event of the solver, at `t_k +
/// t_ref` to round-off, whatever the backend (eventax's `Refractory`
/// resolves it only to the step size). An input that arrives exactly at
/// the end is applied: the period is `[t_k, t_k + t_ref)`. Spikes that one
/// input's jump causes at one instant (a burst, `EventKind::JumpSpike` in
/// `evnn-solver`) all count, and the period starts after the last of them.
/// The EventProp gradient of a blocked input's weight and time is zero;
/// the adjoint is constant over the period (see `docs/design.md`, §4).
///
/// Every equation and derivative is the wrapped model's
/// ([`refractory_period`](NeuronModel::refractory_period) is `t_ref`, and
/// replaces a wrapped model's own); serialized as
/// `{"model": {…the wrapped model…}, "t_ref": …}`, validated on load.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, NeuronError, NeuronModel, Refractory};
///
/// let lif = Lif::default();
/// let refractory = Refractory::new(lif, 2.0)?;
/// assert_eq!(refractory.refractory_period(), 2.0);
/// assert_eq!(lif.refractory_period(), 0.0);
/// // The equations are the LIF's.
/// let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
/// refractory.dynamics(&[0.5], &[0.2, 1.0], &mut a);
/// lif.dynamics(&[0.5], &[0.2, 1.0], &mut b);
/// assert_eq!(a, b);
/// match Refractory::new(lif, -1.0) {
///     Err(NeuronError::InvalidConstant { name: "t_ref", value, .. }) => assert_eq!(value, -1.0),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), NeuronError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refractory<M> {
    model: M,
    t_ref: f64,
}

impl<M> Refractory<M> {
    /// `model` with the refractory period `t_ref` (time units); an
    /// [`InvalidConstant`](NeuronError::InvalidConstant) error names
    /// `t_ref` unless it is finite and `> 0`.
    pub fn new(model: M, t_ref: f64) -> Result<Self, NeuronError> {
        positive("Refractory", "t_ref", t_ref)?;
        Ok(Refractory { model, t_ref })
    }

    /// The wrapped model.
    pub fn inner(&self) -> &M {
        &self.model
    }

    /// The refractory period.
    pub fn t_ref(&self) -> f64 {
        self.t_ref
    }
}

impl<M: NeuronModel> NeuronModel for Refractory<M> {
    delegate_model!();

    fn refractory_period(&self) -> f64 {
        self.t_ref
    }

    fn spike_limit(&self) -> Option<usize> {
        self.model.spike_limit()
    }
}

/// [`Refractory`] as it appears in files.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefractoryFile<M> {
    model: M,
    t_ref: f64,
}

impl<M: Serialize> Serialize for Refractory<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RefractoryFile {
            model: &self.model,
            t_ref: self.t_ref,
        }
        .serialize(serializer)
    }
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for Refractory<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = RefractoryFile::<M>::deserialize(deserializer)?;
        Refractory::new(file.model, file.t_ref).map_err(D::Error::custom)
    }
}

/// Any model that spikes at most once: its run ends at its first spike
/// (eventax's `AMOS`), so it never spikes again, and the state after the
/// spike is the reset's.
///
/// [`spike_limit`](NeuronModel::spike_limit) is 1; everything else is the
/// wrapped model's. The run's end at the spike is the solver's
/// `SolverOptions::stop_after_spikes` (the smaller of the two limits
/// applies), so the trace ends at the spike, and the EventProp gradient
/// needs nothing new: nothing after the spike is simulated, and the
/// adjoint there is the loss's sensitivity to the final state. Serialized
/// as `{"model": {…the wrapped model…}}`.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{AtMostOneSpike, NeuronModel, Qif};
///
/// let amos = AtMostOneSpike::new(Qif::default());
/// assert_eq!(amos.spike_limit(), Some(1));
/// assert_eq!(Qif::default().spike_limit(), None);
/// assert_eq!(amos.event(&[0.25, 0.0]), Qif::default().event(&[0.25, 0.0]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AtMostOneSpike<M> {
    model: M,
}

impl<M> AtMostOneSpike<M> {
    /// `model`, spiking at most once.
    pub fn new(model: M) -> Self {
        AtMostOneSpike { model }
    }

    /// The wrapped model.
    pub fn inner(&self) -> &M {
        &self.model
    }
}

impl<M: NeuronModel> NeuronModel for AtMostOneSpike<M> {
    delegate_model!();

    fn refractory_period(&self) -> f64 {
        self.model.refractory_period()
    }

    fn spike_limit(&self) -> Option<usize> {
        Some(1)
    }
}

/// [`AtMostOneSpike`] as it appears in files.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AtMostOneSpikeFile<M> {
    model: M,
}

impl<M: Serialize> Serialize for AtMostOneSpike<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        AtMostOneSpikeFile { model: &self.model }.serialize(serializer)
    }
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for AtMostOneSpike<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = AtMostOneSpikeFile::<M>::deserialize(deserializer)?;
        Ok(AtMostOneSpike::new(file.model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_derivatives, CheckOptions, Derived, Eif, EifConstants, Lif, Qif};

    /// Every equation and derivative of a wrapper is the wrapped model's,
    /// bit for bit (LIF's hand-written derivatives and EIF's derived ones).
    fn delegates<M: NeuronModel, W: NeuronModel<State = M::State, Params = M::Params>>(
        model: &M,
        wrapped: &W,
        p: M::Params,
        x: M::State,
    ) {
        use crate::StateVector;
        let l = x;
        let (mut a, mut b) = (M::State::zeros(), M::State::zeros());
        let (mut pa, mut pb) = (M::Params::zeros(), M::Params::zeros());
        model.dynamics(p.as_slice(), x.as_slice(), a.as_mut_slice());
        wrapped.dynamics(p.as_slice(), x.as_slice(), b.as_mut_slice());
        assert_eq!(a, b);
        assert_eq!(
            model.event(x.as_slice()).to_bits(),
            wrapped.event(x.as_slice()).to_bits()
        );
        let (mut ra, mut rb) = (x, x);
        model.reset(ra.as_mut_slice());
        wrapped.reset(rb.as_mut_slice());
        assert_eq!(ra, rb);
        model.input_jump(ra.as_mut_slice(), 0.7);
        wrapped.input_jump(rb.as_mut_slice(), 0.7);
        assert_eq!(ra, rb);
        model.dynamics_vjp(&p, &x, &l, &mut a, &mut pa);
        wrapped.dynamics_vjp(&p, &x, &l, &mut b, &mut pb);
        assert_eq!((a, pa), (b, pb));
        model.dynamics_jvp(&p, &x, &l, &mut a);
        wrapped.dynamics_jvp(&p, &x, &l, &mut b);
        assert_eq!(a, b);
        model.event_grad(&x, &mut a);
        wrapped.event_grad(&x, &mut b);
        assert_eq!(a, b);
        model.reset_vjp(&x, &l, &mut a);
        wrapped.reset_vjp(&x, &l, &mut b);
        assert_eq!(a, b);
        let wa = model.input_jump_vjp(&x, 0.7, &l, &mut a);
        let wb = wrapped.input_jump_vjp(&x, 0.7, &l, &mut b);
        assert_eq!((a, wa.to_bits()), (b, wb.to_bits()));
        assert_eq!(model.initial_state(), wrapped.initial_state());
        assert_eq!(model.default_params(), wrapped.default_params());
        assert_eq!(M::NAME, W::NAME);
        assert_eq!(M::PARAM_NAMES, W::PARAM_NAMES);
        assert_eq!(
            model.silent_for(&p, &x, 10.0),
            wrapped.silent_for(&p, &x, 10.0)
        );
    }

    #[test]
    fn wrappers_delegate_every_equation_and_derivative() {
        let lif = Lif::default();
        let eif = Eif::new(EifConstants::default()).unwrap();
        for x in [[0.2, 1.0], [-0.4, 3.0]] {
            delegates(&lif, &Refractory::new(lif, 1.5).unwrap(), [0.3], x);
            delegates(&lif, &AtMostOneSpike::new(lif), [0.3], x);
            delegates(&eif, &Refractory::new(eif, 1.5).unwrap(), [0.3], x);
            delegates(&eif, &AtMostOneSpike::new(eif), [0.3], x);
        }
        let r = Refractory::new(AtMostOneSpike::new(Qif::default()), 2.0).unwrap();
        check_derivatives(&r, &[0.2], &[0.4, 1.0], 2.0, &CheckOptions::default()).unwrap();
    }

    /// What the solver reads: the period and the limit, through nesting,
    /// and through [`Derived`].
    #[test]
    fn period_and_limit() {
        let lif = Lif::default();
        let r = Refractory::new(lif, 2.5).unwrap();
        assert_eq!((r.refractory_period(), r.spike_limit()), (2.5, None));
        let a = AtMostOneSpike::new(r);
        assert_eq!((a.refractory_period(), a.spike_limit()), (2.5, Some(1)));
        let ra = Refractory::new(AtMostOneSpike::new(lif), 0.5).unwrap();
        assert_eq!((ra.refractory_period(), ra.spike_limit()), (0.5, Some(1)));
        let d = Derived(ra);
        assert_eq!((d.refractory_period(), d.spike_limit()), (0.5, Some(1)));
        assert_eq!((lif.refractory_period(), lif.spike_limit()), (0.0, None));
        assert_eq!(r.t_ref(), 2.5);
        assert_eq!(*a.inner(), r);
        assert_eq!(*r.inner(), lif);
    }

    #[test]
    fn bad_refractory_periods_are_named() {
        for t_ref in [0.0, -1.0, f64::NAN, f64::INFINITY, -0.0] {
            match Refractory::new(Lif::default(), t_ref) {
                Err(NeuronError::InvalidConstant {
                    model, name, value, ..
                }) => {
                    assert_eq!((model, name), ("Refractory", "t_ref"));
                    assert_eq!(value.to_bits(), t_ref.to_bits());
                }
                other => panic!("t_ref {t_ref}: expected InvalidConstant, got {other:?}"),
            }
        }
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let r = Refractory::new(Lif::new(10.0, 5.0, 1.0, 0.0).unwrap(), 2.0).unwrap();
        let json = serde_json::to_value(r).unwrap();
        assert_eq!(json["t_ref"], 2.0);
        assert_eq!(json["model"]["tau_mem"], 10.0);
        let back: Refractory<Lif> = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        let a = AtMostOneSpike::new(r);
        let back: AtMostOneSpike<Refractory<Lif>> =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        let lif = r#"{"tau_mem":10,"tau_syn":5,"theta":1,"v_reset":0}"#;
        for (t_ref, reason) in [("0", "t_ref"), ("-2", "t_ref"), ("1e999", "")] {
            let text = format!(r#"{{"model":{lif},"t_ref":{t_ref}}}"#);
            let err = serde_json::from_str::<Refractory<Lif>>(&text).unwrap_err();
            assert!(err.to_string().contains(reason), "{t_ref}: {err}");
        }
        let bad_model = r#"{"model":{"tau_mem":-1,"tau_syn":5,"theta":1,"v_reset":0},"t_ref":1}"#;
        assert!(serde_json::from_str::<Refractory<Lif>>(bad_model).is_err());
        let extra = format!(r#"{{"model":{lif},"t_ref":1,"t_ref2":1}}"#);
        assert!(serde_json::from_str::<Refractory<Lif>>(&extra).is_err());
    }
}
