//! A task that needs memory: classify the interval between two cue spikes.
//!
//! Each sample has three input channels: a start cue `A` at `t_a`, an end
//! cue `B` at `t_b = t_a + Δ`, and a bias spike (at `bias_time`, 0 by
//! default). Its class `k` is drawn uniformly, then `Δ ~ U(lo_k, hi_k)`
//! from the class's interval range, and the onset `t_a ~ U(0, onset_max)`.
//!
//! Only the interval `Δ` tells the classes apart: the onset is random, so
//! the absolute time of `B` overlaps between classes (with the defaults
//! `t_b ∈ [40, 160]` for class 0 and `[90, 210]` for class 1: the best
//! threshold on `t_b` alone is right on about three samples in four). A neuron that
//! sees `A` and `B` through its synapses alone keeps `A`'s trace for a few
//! membrane time constants, `e^{−Δ/τ_mem}`: with intervals many time
//! constants long, a feed-forward network without delays has almost
//! nothing left of `A` when `B` arrives. Transmission delays (delaying
//! `A` by about `Δ` makes it coincide with `B`) or recurrent activity
//! bridge the gap.
//!
//! The samples are a pure function of the task and its seed
//! ([`IntervalTask::generate`]): ChaCha8 streams 0, 1 and 2 of the seed for
//! the training, validation and test splits.
//!
//! # Examples
//!
//! ```
//! use evnn_data::IntervalTask;
//!
//! let task = IntervalTask { train_size: 100, val_size: 20, test_size: 20, ..IntervalTask::default() };
//! let data = task.generate()?;
//! assert_eq!((data.n_channels(), data.n_classes()), (3, 2));
//! for (x, &label) in data.train.inputs.iter().zip(&data.train.labels) {
//!     let delta = x[1][0] - x[0][0];
//!     let [lo, hi] = task.intervals[label];
//!     assert!(delta >= lo && delta <= hi);
//! }
//! assert_eq!(data, task.generate()?); // a pure function of the task
//! # Ok::<(), evnn_data::DataError>(())
//! ```

use crate::{DataError, SpikeData, SpikeSplit};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The interval task's settings (module docs). Times in ms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntervalTask {
    /// Class `k`'s interval range `[lo, hi]` between the cues: finite,
    /// `0 <= lo < hi`, sorted and disjoint (`hi` of one class below `lo` of
    /// the next). At least one class.
    pub intervals: Vec<[f64; 2]>,
    /// The start cue's latest time: `t_a ~ U(0, onset_max)`, finite, `>= 0`.
    pub onset_max: f64,
    /// The bias channel's spike time (finite, `>= 0`).
    pub bias_time: f64,
    /// Seed of the three splits.
    pub seed: u64,
    /// Training samples (`>= 1`).
    pub train_size: usize,
    /// Validation samples (`>= 1`).
    pub val_size: usize,
    /// Test samples (`>= 1`).
    pub test_size: usize,
}

impl Default for IntervalTask {
    /// Two classes, `Δ ∈ [40, 60]` and `[90, 110]`, onsets in `[0, 100]`,
    /// bias at 0, seed 0, 2000 / 500 / 1000 samples.
    fn default() -> Self {
        IntervalTask {
            intervals: vec![[40.0, 60.0], [90.0, 110.0]],
            onset_max: 100.0,
            bias_time: 0.0,
            seed: 0,
            train_size: 2000,
            val_size: 500,
            test_size: 1000,
        }
    }
}

/// The task's input channels: start cue, end cue, bias.
pub const INTERVAL_CHANNELS: usize = 3;

fn invalid(name: &'static str, value: f64, rule: &'static str) -> DataError {
    DataError::InvalidTask { name, value, rule }
}

impl IntervalTask {
    /// Checks every setting; the error names the first bad one and its value.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.intervals.is_empty() {
            return Err(DataError::Zero {
                name: "intervals (classes)",
            });
        }
        let mut prev_hi = f64::NEG_INFINITY;
        for &[lo, hi] in &self.intervals {
            if !(lo.is_finite() && lo >= 0.0) {
                return Err(invalid("interval lo", lo, "must be finite and >= 0"));
            }
            if !(hi.is_finite() && hi > lo) {
                return Err(invalid("interval hi", hi, "must be finite and > its lo"));
            }
            if !(lo > prev_hi) {
                return Err(invalid(
                    "interval lo",
                    lo,
                    "must be above the previous class's hi (ranges sorted and disjoint)",
                ));
            }
            prev_hi = hi;
        }
        for (name, value) in [("onset_max", self.onset_max), ("bias_time", self.bias_time)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(name, value, "must be finite and >= 0"));
            }
        }
        for (name, n) in [
            ("train_size", self.train_size),
            ("val_size", self.val_size),
            ("test_size", self.test_size),
        ] {
            if n == 0 {
                return Err(DataError::Zero { name });
            }
        }
        Ok(())
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.intervals.len()
    }

    /// The latest spike any sample can have: `onset_max + hi` of the last
    /// class, or the bias time if later.
    pub fn t_last(&self) -> f64 {
        let hi = self.intervals.last().map_or(0.0, |r| r[1]);
        (self.onset_max + hi).max(self.bias_time)
    }

    /// The three splits (module docs); an error when a setting is invalid.
    pub fn generate(&self) -> Result<SpikeData, DataError> {
        self.validate()?;
        let split = |stream: u64, n: usize| {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            rng.set_stream(stream);
            let mut s = SpikeSplit::default();
            for _ in 0..n {
                let label = rng.random_range(0..self.n_classes());
                let [lo, hi] = self.intervals[label];
                let delta = lo + (hi - lo) * rng.random::<f64>();
                let t_a = self.onset_max * rng.random::<f64>();
                s.inputs
                    .push(vec![vec![t_a], vec![t_a + delta], vec![self.bias_time]]);
                s.labels.push(label);
            }
            s
        };
        SpikeData::new(
            split(0, self.train_size),
            split(1, self.val_size),
            split(2, self.test_size),
            Some(self.n_classes()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> IntervalTask {
        IntervalTask {
            train_size: 400,
            val_size: 50,
            test_size: 60,
            ..IntervalTask::default()
        }
    }

    #[test]
    fn samples_follow_the_definition() {
        let task = small();
        let data = task.generate().unwrap();
        assert_eq!(
            (data.train.len(), data.validation.len(), data.test.len()),
            (400, 50, 60)
        );
        let mut counts = [0usize; 2];
        for s in [&data.train, &data.validation, &data.test] {
            for (x, &label) in s.inputs.iter().zip(&s.labels) {
                assert_eq!(x.len(), INTERVAL_CHANNELS);
                let (t_a, t_b) = (x[0][0], x[1][0]);
                assert!((0.0..=task.onset_max).contains(&t_a), "{t_a}");
                let [lo, hi] = task.intervals[label];
                assert!(t_b - t_a >= lo - 1e-12 && t_b - t_a <= hi + 1e-12);
                assert_eq!(x[2], [task.bias_time]);
                assert!(t_b <= task.t_last());
                counts[label] += 1;
            }
        }
        // Both classes are drawn (uniformly: 510 samples, each class well
        // within 5 standard deviations of 255).
        for c in counts {
            assert!((255 - 57..=255 + 57).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn the_end_cue_alone_does_not_tell_the_class() {
        // The best threshold on t_b alone (either orientation) is wrong on a
        // sizeable share of the samples; the interval itself is never wrong.
        let task = IntervalTask {
            train_size: 4000,
            ..small()
        };
        let data = task.generate().unwrap();
        let s = &data.train;
        let n = s.len() as f64;
        let mut best: f64 = 0.0;
        for step in 0..=250 {
            let cut = step as f64;
            let right = s
                .inputs
                .iter()
                .zip(&s.labels)
                .filter(|(x, &l)| (x[1][0] >= cut) == (l == 1))
                .count() as f64;
            best = best.max(right / n).max(1.0 - right / n);
        }
        assert!(
            (0.65..0.85).contains(&best),
            "best threshold accuracy {best}"
        );
        let by_interval = s
            .inputs
            .iter()
            .zip(&s.labels)
            .filter(|(x, &l)| (x[1][0] - x[0][0] > 75.0) == (l == 1))
            .count();
        assert_eq!(by_interval, s.len());
    }

    #[test]
    fn seeds_and_splits_differ_and_repeat() {
        let a = small().generate().unwrap();
        assert_eq!(a, small().generate().unwrap());
        let b = IntervalTask { seed: 1, ..small() }.generate().unwrap();
        assert_ne!(a.train.inputs, b.train.inputs);
        assert_ne!(a.train.inputs[..50], a.validation.inputs[..]);
    }

    #[test]
    fn bad_settings_are_named() {
        let cases: Vec<(IntervalTask, &str)> = vec![
            (
                IntervalTask {
                    intervals: vec![],
                    ..small()
                },
                "intervals",
            ),
            (
                IntervalTask {
                    intervals: vec![[-1.0, 5.0]],
                    ..small()
                },
                "-1",
            ),
            (
                IntervalTask {
                    intervals: vec![[5.0, 5.0]],
                    ..small()
                },
                "interval hi",
            ),
            (
                IntervalTask {
                    intervals: vec![[5.0, f64::NAN]],
                    ..small()
                },
                "NaN",
            ),
            (
                IntervalTask {
                    intervals: vec![[10.0, 20.0], [15.0, 30.0]],
                    ..small()
                },
                "disjoint",
            ),
            (
                IntervalTask {
                    onset_max: f64::INFINITY,
                    ..small()
                },
                "onset_max",
            ),
            (
                IntervalTask {
                    bias_time: -2.0,
                    ..small()
                },
                "bias_time",
            ),
            (
                IntervalTask {
                    train_size: 0,
                    ..small()
                },
                "train_size",
            ),
        ];
        for (task, needle) in cases {
            let e = task.generate().unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should name {needle}");
        }
    }
}
