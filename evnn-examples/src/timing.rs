//! When a configured model may spike: a refractory period and at most one
//! spike, for any model the program knows, set among its constants.
//!
//! A registered model's constants (`--constants`, a configuration's
//! `"constants"`, a `layers` entry) may carry two keys besides the
//! model's own: `"refractory": t_ref` (time units, finite and `> 0`) and
//! `"at_most_one_spike": true`. They mean what
//! [`Refractory`] and
//! [`AtMostOneSpike`](evnn_neurons::AtMostOneSpike) mean (the solver's
//! event loop and adjoint do the rest), and the program runs the model as
//! [`Timed`]: one type for every combination, with the period and the
//! limit as values, so that a registry builds one network type per model
//! and backend whatever the configuration sets. Model files record the
//! keys with the constants; `eval`, `simulate`, `grad` and `--resume` read
//! them back from there.

use crate::models::Constants;
use evnn_neurons::{NeuronError, NeuronModel, Refractory};

/// The key of the refractory period among a model's constants.
pub const REFRACTORY: &str = "refractory";
/// The key of the one-spike limit among a model's constants.
pub const AT_MOST_ONE_SPIKE: &str = "at_most_one_spike";

/// An invalid timing constant: the key and the value given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TimingError {
    /// `refractory` is a number but not a valid period.
    #[error("invalid `refractory` = {value}: a refractory period must be finite and > 0")]
    Refractory {
        /// The period given.
        value: f64,
        /// The check it failed.
        #[source]
        source: NeuronError,
    },
    /// A key whose value has the wrong type.
    #[error("invalid `{key}` = {value}: expected {expected}")]
    Type {
        /// The key.
        key: &'static str,
        /// The value given, as JSON.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
}

/// A refractory period and a spike limit (none by default).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Timing {
    /// The refractory period; `None` for none.
    pub refractory: Option<f64>,
    /// Whether each neuron spikes at most once.
    pub at_most_one_spike: bool,
}

impl Timing {
    /// Removes the timing keys from `constants` and checks them; the rest
    /// are the model's own.
    pub fn take(constants: &mut Constants) -> Result<Timing, TimingError> {
        let mut timing = Timing::default();
        if let Some(v) = constants.remove(REFRACTORY) {
            let value = v.as_f64().ok_or_else(|| TimingError::Type {
                key: REFRACTORY,
                value: v.to_string(),
                expected: "a number (time units)",
            })?;
            Refractory::new((), value)
                .map_err(|source| TimingError::Refractory { value, source })?;
            timing.refractory = Some(value);
        }
        if let Some(v) = constants.remove(AT_MOST_ONE_SPIKE) {
            timing.at_most_one_spike = v.as_bool().ok_or_else(|| TimingError::Type {
                key: AT_MOST_ONE_SPIKE,
                value: v.to_string(),
                expected: "true or false",
            })?;
        }
        Ok(timing)
    }

    /// Whether this sets nothing (the model as it is).
    pub fn is_plain(&self) -> bool {
        *self == Timing::default()
    }

    /// Writes the keys this sets into `constants` (what [`take`](Self::take)
    /// reads back).
    pub fn write(&self, constants: &mut Constants) {
        if let Some(t) = self.refractory {
            constants.insert(REFRACTORY.into(), t.into());
        }
        if self.at_most_one_spike {
            constants.insert(AT_MOST_ONE_SPIKE.into(), true.into());
        }
    }

    /// `model` with this timing.
    pub fn apply<M>(self, model: M) -> Timed<M> {
        Timed {
            model,
            timing: self,
        }
    }
}

/// A model with a [`Timing`]: every equation and derivative the wrapped
/// model's; [`refractory_period`](NeuronModel::refractory_period) the
/// timing's period (or the model's own), and
/// [`spike_limit`](NeuronModel::spike_limit) 1 when the timing says so (or
/// the model's own). With the default timing it computes exactly what the
/// model computes.
///
/// # Examples
///
/// ```
/// use evnn_examples::timing::Timing;
/// use evnn_neurons::{Lif, NeuronModel};
///
/// let timed = Timing { refractory: Some(2.0), at_most_one_spike: true }.apply(Lif::default());
/// assert_eq!((timed.refractory_period(), timed.spike_limit()), (2.0, Some(1)));
/// let plain = Timing::default().apply(Lif::default());
/// assert_eq!((plain.refractory_period(), plain.spike_limit()), (0.0, None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timed<M> {
    model: M,
    timing: Timing,
}

impl<M> Timed<M> {
    /// The wrapped model.
    pub fn inner(&self) -> &M {
        &self.model
    }

    /// The timing.
    pub fn timing(&self) -> Timing {
        self.timing
    }
}

impl<M: NeuronModel> NeuronModel for Timed<M> {
    evnn_neurons::delegate_model!();
    fn refractory_period(&self) -> f64 {
        self.timing
            .refractory
            .unwrap_or_else(|| self.model.refractory_period())
    }
    fn spike_limit(&self) -> Option<usize> {
        match (self.timing.at_most_one_spike, self.model.spike_limit()) {
            (true, _) => Some(1),
            (false, own) => own,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn constants(v: serde_json::Value) -> Constants {
        v.as_object().unwrap().clone()
    }

    /// The wrapper keeps the model's synapse shape and reset: EGRU's three
    /// weights per synapse apply as the model's own jump (`σ(a_r)` on
    /// the `z` gate), and its derivative is the model's.
    #[test]
    fn timed_models_keep_their_synapses() {
        use evnn_neurons::Egru;
        let egru = Egru::default();
        let timed = Timing {
            refractory: Some(1.0),
            at_most_one_spike: false,
        }
        .apply(egru);
        assert_eq!(<Timed<Egru> as NeuronModel>::WEIGHTS_PER_SYNAPSE, 3);
        assert_eq!(
            <Timed<Egru> as NeuronModel>::RESET_USES_PARAMS,
            <Egru as NeuronModel>::RESET_USES_PARAMS
        );
        let (mut a, mut b) = ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]);
        let w = [0.5, -0.7, 1.3];
        timed.input_jump_weights(&mut a, &w);
        egru.input_jump_weights(&mut b, &w);
        assert_eq!(a, b);
        let (mut la, mut lb) = ([0.0; 3], [0.0; 3]);
        let (mut oa, mut ob) = ([0.0; 4], [0.0; 4]);
        let lambda = [0.3, -0.2, 0.5, 0.7];
        timed.input_jump_weights_vjp(&[0.1, 0.2, 0.3, 0.4], &w, &lambda, &mut oa, &mut la);
        egru.input_jump_weights_vjp(&[0.1, 0.2, 0.3, 0.4], &w, &lambda, &mut ob, &mut lb);
        assert_eq!((oa, la), (ob, lb));
        assert_ne!(la, [0.0; 3]);
    }

    /// The keys are taken out of the constants and written back the same.
    #[test]
    fn keys_round_trip_and_leave_the_models_constants() {
        let mut c =
            constants(json!({"tau_mem": 20.0, "refractory": 2.5, "at_most_one_spike": true}));
        let t = Timing::take(&mut c).unwrap();
        assert_eq!(
            t,
            Timing {
                refractory: Some(2.5),
                at_most_one_spike: true
            }
        );
        assert_eq!(c, constants(json!({"tau_mem": 20.0})));
        t.write(&mut c);
        assert_eq!(Timing::take(&mut c).unwrap(), t);
        let mut plain = constants(json!({"at_most_one_spike": false}));
        assert!(Timing::take(&mut plain).unwrap().is_plain());
    }

    /// A negative, zero or non-finite period, and keys of the wrong type,
    /// are typed errors naming the value.
    #[test]
    fn bad_values_are_named() {
        for value in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
            let mut c = Constants::new();
            // Non-finite numbers have no JSON form: set the map directly.
            c.insert(
                REFRACTORY.into(),
                serde_json::Number::from_f64(value).map_or(json!(null), Into::into),
            );
            let err = Timing::take(&mut c).unwrap_err();
            if value.is_finite() {
                assert!(
                    matches!(err, TimingError::Refractory { value: v, .. } if v == value),
                    "{err:?}"
                );
                assert!(err.to_string().contains(&format!("= {value}")), "{err}");
            } else {
                assert!(
                    matches!(
                        err,
                        TimingError::Type {
                            key: REFRACTORY,
                            ..
                        }
                    ),
                    "{err:?}"
                );
            }
        }
        let mut c = constants(json!({"at_most_one_spike": 1}));
        assert_eq!(
            Timing::take(&mut c).unwrap_err(),
            TimingError::Type {
                key: AT_MOST_ONE_SPIKE,
                value: "1".into(),
                expected: "true or false"
            }
        );
    }

    /// With the default timing the model's own period and limit stand;
    /// the timing replaces them otherwise.
    #[test]
    fn the_timing_sets_period_and_limit() {
        let lif = evnn_neurons::Lif::default();
        let inner = evnn_neurons::Refractory::new(lif, 1.0).unwrap();
        let t = Timing::default().apply(inner);
        assert_eq!((t.refractory_period(), t.spike_limit()), (1.0, None));
        let t = Timing {
            refractory: Some(3.0),
            at_most_one_spike: true,
        }
        .apply(inner);
        assert_eq!((t.refractory_period(), t.spike_limit()), (3.0, Some(1)));
    }
}
