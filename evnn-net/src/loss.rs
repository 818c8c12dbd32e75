//! Spike-time losses on the output layer's first spikes, and accuracy.

use crate::NetError;
use serde::{Deserialize, Serialize};

/// Which form of the time-to-first-spike cross-entropy to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// EventProp's form (Wunderlich & Pehle 2021):
    /// `L = −log softmax(−t/τ₀)_l + α (e^{t_l/τ₁} − 1)`. The regulariser pulls
    /// the label neuron's spike earlier.
    #[default]
    EventProp,
    /// eventax's example: `L = −log(softmax(−t/τ₀)_l + α (e^{t_l/τ₁} − 1))`.
    Eventax,
}

/// Time-to-first-spike cross-entropy over the output neurons' first spike
/// times `t_k`, with label `l`.
///
/// A silent output neuron has `t = ∞`; as in eventax it enters the loss as
/// `t_max` and receives zero gradient (it has no spike to move).
///
/// # Examples
///
/// ```
/// use evnn_net::{LossKind, TtfsLoss};
///
/// let loss = TtfsLoss::default();
/// let mut dl_dt = [0.0; 3];
/// let l = loss.evaluate(&[3.0, 5.0, f64::INFINITY], 0, &mut dl_dt).unwrap();
/// assert!(l > 0.0);
/// assert!(dl_dt[0] > 0.0 && dl_dt[1] < 0.0 && dl_dt[2] == 0.0);
/// assert_eq!(TtfsLoss::default().kind, LossKind::EventProp);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TtfsLoss {
    /// Which form.
    pub kind: LossKind,
    /// Softmax temperature `τ₀` (time units).
    pub tau0: f64,
    /// Regulariser time constant `τ₁`.
    pub tau1: f64,
    /// Regulariser weight `α`.
    pub alpha: f64,
    /// Time substituted for silent neurons.
    pub t_max: f64,
}

impl Default for TtfsLoss {
    /// `τ₀ = 0.5`, `τ₁ = 6.4`, `α = 3e-3`, `t_max = 30` (docs/design.md §5).
    fn default() -> Self {
        TtfsLoss {
            kind: LossKind::EventProp,
            tau0: 0.5,
            tau1: 6.4,
            alpha: 3e-3,
            t_max: 30.0,
        }
    }
}

impl TtfsLoss {
    /// Checks the constants.
    pub fn validate(&self) -> Result<(), NetError> {
        for (name, value, positive) in [
            ("tau0", self.tau0, true),
            ("tau1", self.tau1, true),
            ("alpha", self.alpha, false),
            ("t_max", self.t_max, true),
        ] {
            let ok = value.is_finite() && if positive { value > 0.0 } else { value >= 0.0 };
            if !ok {
                return Err(NetError::InvalidConfig {
                    name,
                    value,
                    reason: if positive {
                        "must be finite and > 0"
                    } else {
                        "must be finite and >= 0"
                    },
                });
            }
        }
        Ok(())
    }

    /// The loss for first spike times `t` and `label`; writes `dL/dt_k` into
    /// `dl_dt` (zero for silent neurons).
    pub fn evaluate(&self, t: &[f64], label: usize, dl_dt: &mut [f64]) -> Result<f64, NetError> {
        self.validate()?;
        self.evaluate_valid(t, label, dl_dt)
    }

    /// [`evaluate`](Self::evaluate) for constants already checked
    /// ([`validate`](Self::validate)), as the batch passes do once per
    /// batch.
    pub(crate) fn evaluate_valid(
        &self,
        t: &[f64],
        label: usize,
        dl_dt: &mut [f64],
    ) -> Result<f64, NetError> {
        debug_assert_eq!(self.validate(), Ok(()));
        let n = t.len();
        if label >= n {
            return Err(NetError::InvalidLabel {
                label,
                n_classes: n,
            });
        }
        if dl_dt.len() != n {
            return Err(NetError::Shape {
                what: "dL/dt buffer (one entry per output neuron)",
                expected: n,
                got: dl_dt.len(),
            });
        }
        if let Some((index, &value)) = t.iter().enumerate().find(|(_, v)| v.is_nan()) {
            return Err(NetError::NonFinite {
                what: "first spike time",
                index,
                value,
            });
        }
        let eff = |v: f64| if v.is_finite() { v } else { self.t_max };
        // log-softmax of −t/τ₀ with the max subtracted.
        let m = t
            .iter()
            .map(|&v| -eff(v) / self.tau0)
            .fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = t.iter().map(|&v| (-eff(v) / self.tau0 - m).exp()).sum();
        let log_z = m + z.ln();
        let tl = eff(t[label]);
        let reg = self.alpha * (tl / self.tau1).exp_m1();
        let dreg = self.alpha * (tl / self.tau1).exp() / self.tau1;
        let p = |k: usize| (-eff(t[k]) / self.tau0 - log_z).exp();
        let loss = match self.kind {
            LossKind::EventProp => {
                // L = t_l/τ₀ + log Z + α(e^{t_l/τ₁} − 1)
                for (k, d) in dl_dt.iter_mut().enumerate() {
                    let delta = if k == label { 1.0 } else { 0.0 };
                    *d = (delta - p(k)) / self.tau0 + delta * dreg;
                }
                tl / self.tau0 + log_z + reg
            }
            LossKind::Eventax => {
                let pl = p(label);
                let q = pl + reg;
                for (k, d) in dl_dt.iter_mut().enumerate() {
                    let delta = if k == label { 1.0 } else { 0.0 };
                    let dq = pl * (p(k) - delta) / self.tau0 + delta * dreg;
                    *d = -dq / q;
                }
                -q.ln()
            }
        };
        for (d, &v) in dl_dt.iter_mut().zip(t) {
            if !v.is_finite() {
                *d = 0.0;
            }
        }
        Ok(loss)
    }
}

/// Predicted class: the output neuron that spikes first (lowest index on a
/// tie); `None` when every output neuron is silent.
///
/// # Examples
///
/// ```
/// assert_eq!(evnn_net::predict(&[4.0, 2.0, f64::INFINITY]), Some(1));
/// assert_eq!(evnn_net::predict(&[f64::INFINITY; 3]), None);
/// ```
pub fn predict(first_spikes: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (k, &t) in first_spikes.iter().enumerate() {
        if t.is_finite() && best.is_none_or(|(_, b)| t < b) {
            best = Some((k, t));
        }
    }
    best.map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd_check(loss: &TtfsLoss, t: &[f64], label: usize) {
        let mut g = vec![0.0; t.len()];
        loss.evaluate(t, label, &mut g).unwrap();
        let h = 1e-6;
        let mut scratch = vec![0.0; t.len()];
        for k in 0..t.len() {
            if !t[k].is_finite() {
                assert_eq!(g[k], 0.0);
                continue;
            }
            let mut tp = t.to_vec();
            tp[k] += h;
            let mut tm = t.to_vec();
            tm[k] -= h;
            let fd = (loss.evaluate(&tp, label, &mut scratch).unwrap()
                - loss.evaluate(&tm, label, &mut scratch).unwrap())
                / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-7 * (1.0 + fd.abs()),
                "k {k}: {fd} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        for kind in [LossKind::EventProp, LossKind::Eventax] {
            let loss = TtfsLoss {
                kind,
                ..TtfsLoss::default()
            };
            fd_check(&loss, &[3.0, 4.5, 7.0], 1);
            fd_check(&loss, &[12.0, 4.5, f64::INFINITY], 0);
            fd_check(&loss, &[29.0, 1.0, 2.0], 2);
        }
    }

    /// Hand-computed value: t = (1, 2), label 0, EventProp form:
    /// L = 1/0.5 + log(e^{−2} + e^{−4}) + 3e-3 (e^{1/6.4} − 1).
    #[test]
    fn value_matches_hand_computation() {
        let mut g = [0.0; 2];
        let l = TtfsLoss::default()
            .evaluate(&[1.0, 2.0], 0, &mut g)
            .unwrap();
        let expected =
            2.0 + ((-2.0f64).exp() + (-4.0f64).exp()).ln() + 3e-3 * ((1.0f64 / 6.4).exp() - 1.0);
        assert!((l - expected).abs() < 1e-14, "{l} vs {expected}");
        let l = TtfsLoss {
            kind: LossKind::Eventax,
            ..TtfsLoss::default()
        }
        .evaluate(&[1.0, 2.0], 0, &mut g)
        .unwrap();
        let p0 = (-2.0f64).exp() / ((-2.0f64).exp() + (-4.0f64).exp());
        let expected = -(p0 + 3e-3 * ((1.0f64 / 6.4).exp() - 1.0)).ln();
        assert!((l - expected).abs() < 1e-14);
    }

    #[test]
    fn silent_neurons_enter_as_t_max() {
        let mut g = [0.0; 2];
        let a = TtfsLoss::default()
            .evaluate(&[5.0, f64::INFINITY], 0, &mut g)
            .unwrap();
        let b = TtfsLoss::default()
            .evaluate(&[5.0, 30.0], 0, &mut g)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_arguments_are_errors() {
        let mut g = [0.0; 2];
        assert!(matches!(
            TtfsLoss::default().evaluate(&[1.0, 2.0], 2, &mut g),
            Err(NetError::InvalidLabel {
                label: 2,
                n_classes: 2
            })
        ));
        assert!(matches!(
            TtfsLoss::default().evaluate(&[f64::NAN, 2.0], 0, &mut g),
            Err(NetError::NonFinite { index: 0, .. })
        ));
        let bad = TtfsLoss {
            tau0: 0.0,
            ..TtfsLoss::default()
        };
        assert!(matches!(
            bad.evaluate(&[1.0, 2.0], 0, &mut g),
            Err(NetError::InvalidConfig { name: "tau0", .. })
        ));
    }
}
