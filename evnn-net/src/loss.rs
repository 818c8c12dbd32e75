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

/// A loss of the output neurons' first spike times against a per-sample
/// target: what the batch passes ([`BatchRunner`](crate::BatchRunner)) and
/// [`FeedForward::sample_loss`](crate::FeedForward::sample_loss) train
/// with. [`TtfsLoss`] compares with a class label, [`SpikeTimeMse`] with
/// target times.
///
/// # Examples
///
/// A loss that asks output neuron 0 to fire at the target time and no
/// other (the squared distance, silent as `t_max`):
///
/// ```
/// use evnn_net::{FirstSpikeLoss, NetError};
///
/// #[derive(Debug)]
/// struct FirstAt { t_max: f64 }
///
/// impl FirstSpikeLoss for FirstAt {
///     type Target = f64;
///     fn validate(&self) -> Result<(), NetError> { Ok(()) }
///     fn check_target(&self, target: &f64, _n_outputs: usize) -> Result<(), NetError> {
///         if target.is_finite() { Ok(()) } else {
///             Err(NetError::NonFinite { what: "target", index: 0, value: *target })
///         }
///     }
///     fn evaluate(&self, first: &[f64], target: &f64, dl: &mut [f64]) -> Result<f64, NetError> {
///         dl.fill(0.0);
///         let t = first[0].min(self.t_max);
///         if first[0].is_finite() { dl[0] = 2.0 * (t - target); }
///         Ok((t - target).powi(2))
///     }
///     fn is_correct(&self, first: &[f64], target: &f64) -> bool {
///         (first[0] - target).abs() < 1.0
///     }
/// }
///
/// let mut dl = [0.0; 2];
/// assert_eq!(FirstAt { t_max: 30.0 }.evaluate(&[12.0, 3.0], &10.0, &mut dl)?, 4.0);
/// assert_eq!(dl, [4.0, 0.0]);
/// # Ok::<(), NetError>(())
/// ```
pub trait FirstSpikeLoss: std::fmt::Debug + Sync {
    /// What one sample's first spikes are compared with.
    type Target: Sync;

    /// Checks the loss's constants (once per batch).
    fn validate(&self) -> Result<(), NetError>;

    /// Checks one sample's target against the network's output count.
    fn check_target(&self, target: &Self::Target, n_outputs: usize) -> Result<(), NetError>;

    /// The loss of first spike times `first` (one per output neuron, `∞`
    /// when silent) against `target`, with `dL/dt_k` written to `dl` (of
    /// `first`'s length; zero for a silent neuron, which has no spike to
    /// move). Called with validated constants and a checked target.
    fn evaluate(
        &self,
        first: &[f64],
        target: &Self::Target,
        dl: &mut [f64],
    ) -> Result<f64, NetError>;

    /// Whether the sample counts as correct (the accuracy of
    /// [`BatchResult`](crate::BatchResult)).
    fn is_correct(&self, first: &[f64], target: &Self::Target) -> bool;
}

impl FirstSpikeLoss for TtfsLoss {
    /// The class label: the output neuron that should spike first.
    type Target = usize;

    fn validate(&self) -> Result<(), NetError> {
        TtfsLoss::validate(self)
    }

    fn check_target(&self, label: &usize, n_outputs: usize) -> Result<(), NetError> {
        if *label >= n_outputs {
            return Err(NetError::InvalidLabel {
                label: *label,
                n_classes: n_outputs,
            });
        }
        Ok(())
    }

    fn evaluate(&self, first: &[f64], label: &usize, dl: &mut [f64]) -> Result<f64, NetError> {
        self.evaluate_valid(first, *label, dl)
    }

    /// The first output spike is the label's ([`predict`]).
    fn is_correct(&self, first: &[f64], label: &usize) -> bool {
        predict(first) == Some(*label)
    }
}

/// Mean squared error of the output neurons' first spike times against
/// target times, on the scale of `t_max`: for `K` output neurons,
///
/// `L = (1/K) Σ_k ((min(t_k, t_max) − y_k) / t_max)²`
///
/// A silent neuron (or one firing after `t_max`) enters as `t_max` with
/// zero gradient. This is the loss of eventax's regression example (target
/// first-spike times, `min(t, T)/T`). A sample counts as correct when every
/// `|min(t_k, t_max) − y_k| ≤ tolerance`.
///
/// # Examples
///
/// ```
/// use evnn_net::{FirstSpikeLoss, SpikeTimeMse};
///
/// let mse = SpikeTimeMse::new(80.0, 1.0)?;
/// let mut dl = [0.0; 2];
/// let l = mse.evaluate(&[40.0, f64::INFINITY], &vec![48.0, 80.0], &mut dl)?;
/// assert!((l - 0.5 * (8.0f64 / 80.0).powi(2)).abs() < 1e-15);
/// assert!((dl[0] - -8.0 / (80.0 * 80.0)).abs() < 1e-15 && dl[1] == 0.0);
/// assert!(!mse.is_correct(&[40.0, f64::INFINITY], &vec![48.0, 80.0]));
/// # Ok::<(), evnn_net::NetError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeTimeMse {
    /// Cap and scale of the spike times (finite, `> 0`).
    pub t_max: f64,
    /// Largest error of a correct sample (finite, `>= 0`).
    pub tolerance: f64,
}

impl SpikeTimeMse {
    /// The loss with cap and scale `t_max` and correctness `tolerance`.
    ///
    /// # Errors
    ///
    /// `t_max` not finite and `> 0`, or `tolerance` not finite and `>= 0`.
    pub fn new(t_max: f64, tolerance: f64) -> Result<Self, NetError> {
        let mse = SpikeTimeMse { t_max, tolerance };
        FirstSpikeLoss::validate(&mse)?;
        Ok(mse)
    }
}

impl FirstSpikeLoss for SpikeTimeMse {
    /// One target time per output neuron.
    type Target = Vec<f64>;

    fn validate(&self) -> Result<(), NetError> {
        if !(self.t_max.is_finite() && self.t_max > 0.0) {
            return Err(NetError::InvalidConfig {
                name: "t_max",
                value: self.t_max,
                reason: "must be finite and > 0",
            });
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(NetError::InvalidConfig {
                name: "tolerance",
                value: self.tolerance,
                reason: "must be finite and >= 0",
            });
        }
        Ok(())
    }

    fn check_target(&self, target: &Vec<f64>, n_outputs: usize) -> Result<(), NetError> {
        if target.len() != n_outputs {
            return Err(NetError::Shape {
                what: "target spike times (one per output neuron)",
                expected: n_outputs,
                got: target.len(),
            });
        }
        if let Some((index, &value)) = target.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(NetError::NonFinite {
                what: "target spike time",
                index,
                value,
            });
        }
        Ok(())
    }

    fn evaluate(&self, first: &[f64], target: &Vec<f64>, dl: &mut [f64]) -> Result<f64, NetError> {
        let k = first.len();
        if target.len() != k || dl.len() != k {
            return Err(NetError::Shape {
                what: "target and dL/dt buffer (one entry per output neuron)",
                expected: k,
                got: target.len().min(dl.len()),
            });
        }
        if let Some((index, &value)) = first.iter().enumerate().find(|(_, v)| v.is_nan()) {
            return Err(NetError::NonFinite {
                what: "first spike time",
                index,
                value,
            });
        }
        let (scale, n) = (self.t_max, k.max(1) as f64);
        let mut loss = 0.0;
        for ((&t, &y), d) in first.iter().zip(target).zip(dl.iter_mut()) {
            let capped = t.min(scale);
            let e = (capped - y) / scale;
            loss += e * e / n;
            *d = if t < scale {
                2.0 * e / (scale * n)
            } else {
                0.0
            };
        }
        Ok(loss)
    }

    fn is_correct(&self, first: &[f64], target: &Vec<f64>) -> bool {
        first
            .iter()
            .zip(target)
            .all(|(&t, &y)| (t.min(self.t_max) - y).abs() <= self.tolerance)
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

    /// The MSE's gradient against central differences, below and above
    /// the cap; silent and capped neurons get none.
    #[test]
    fn spike_time_mse_gradient_matches_finite_differences() {
        let mse = SpikeTimeMse::new(40.0, 1.0).unwrap();
        let t = [3.0, 17.5, 39.0, 45.0, f64::INFINITY];
        let y = vec![5.0, 12.0, 40.0, 30.0, 10.0];
        let mut g = [0.0; 5];
        let l = FirstSpikeLoss::evaluate(&mse, &t, &y, &mut g).unwrap();
        let expected: f64 = [(3.0 - 5.0f64), 5.5, -1.0, 10.0, 30.0]
            .iter()
            .map(|e| (e / 40.0).powi(2) / 5.0)
            .sum();
        assert!((l - expected).abs() < 1e-15, "{l} vs {expected}");
        let h = 1e-6;
        let mut scratch = [0.0; 5];
        for k in 0..3 {
            let (mut tp, mut tm) = (t, t);
            tp[k] += h;
            tm[k] -= h;
            let fd = (FirstSpikeLoss::evaluate(&mse, &tp, &y, &mut scratch).unwrap()
                - FirstSpikeLoss::evaluate(&mse, &tm, &y, &mut scratch).unwrap())
                / (2.0 * h);
            assert!((fd - g[k]).abs() < 1e-9, "k {k}: {fd} vs {}", g[k]);
        }
        assert_eq!((g[3], g[4]), (0.0, 0.0));
        assert!(!mse.is_correct(&t, &y));
        assert!(mse.is_correct(&[5.5, 40.0], &vec![5.0, 39.5]));
    }

    #[test]
    fn spike_time_mse_names_bad_constants_and_targets() {
        for (t_max, tol, name) in [
            (0.0, 1.0, "t_max"),
            (f64::NAN, 1.0, "t_max"),
            (40.0, -1.0, "tolerance"),
        ] {
            match SpikeTimeMse::new(t_max, tol) {
                Err(NetError::InvalidConfig { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{other:?}"),
            }
        }
        let mse = SpikeTimeMse::new(40.0, 1.0).unwrap();
        assert!(matches!(
            mse.check_target(&vec![1.0], 2),
            Err(NetError::Shape {
                expected: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            mse.check_target(&vec![1.0, f64::NAN], 2),
            Err(NetError::NonFinite { index: 1, .. })
        ));
        let mut g = [0.0; 2];
        assert!(FirstSpikeLoss::evaluate(&mse, &[1.0, f64::NAN], &vec![1.0, 2.0], &mut g).is_err());
    }
}
