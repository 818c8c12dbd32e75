//! Training as a library call: a [`Trainer`] runs mini-batch epochs of any
//! [`Objective`] with any [`Optimizer`], keeps the best model by a validation
//! score, and reports to [`Observer`]s (progress, metrics, checkpoints).
//!
//! The trainer knows nothing about what it trains: an objective hands it the
//! loss and mean gradient of a batch of example indices, and optionally a
//! validation score (higher is better). Parameters are whatever the objective
//! uses, seen by the optimizer as one flat buffer ([`Parameters`]).
//!
//! Everything the loop carries from one epoch to the next is a
//! [`TrainState`]: saved after an epoch and given back to
//! [`Trainer::resume`], it continues the run with bit-for-bit the result of an
//! uninterrupted one (epoch `e` visits the examples in
//! [`epoch_order`]`(n, seed, e)`, which needs no state of its own).
//!
//! # Examples
//!
//! Least squares `½(a·x − y)²` over eight examples, as an objective:
//!
//! ```
//! use evnn_optim::{AdamConfig, BatchStats, Objective, OptimError, Trainer};
//!
//! struct Line { x: Vec<f64>, y: Vec<f64> }
//!
//! impl Objective for Line {
//!     type Params = Vec<f64>;
//!     type Error = OptimError;
//!     fn len(&self) -> usize { self.x.len() }
//!     fn loss_and_grad(&mut self, a: &Vec<f64>, batch: &[usize], grad: &mut [f64]) -> Result<BatchStats, OptimError> {
//!         let (mut loss, mut g) = (0.0, 0.0);
//!         for &i in batch {
//!             let r = a[0] * self.x[i] - self.y[i];
//!             loss += 0.5 * r * r;
//!             g += r * self.x[i];
//!         }
//!         grad[0] = g / batch.len() as f64;
//!         Ok(BatchStats { n: batch.len(), loss_sum: loss, score_sum: 0.0 })
//!     }
//! }
//!
//! let x: Vec<f64> = (1..=8).map(f64::from).collect();
//! let mut line = Line { y: x.iter().map(|x| 3.0 * x).collect(), x };
//! let adam = AdamConfig::default().with_learning_rate(0.1).build(1)?;
//! let state = Trainer::new(200, 4, 0)?.fit(&mut line, vec![0.0], adam, &mut ())?;
//! assert!((state.params[0] - 3.0).abs() < 1e-3);
//! assert_eq!(state.epochs.len(), 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::order::{batches, epoch_order};
use crate::{OptimError, Optimizer};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Parameters a [`Trainer`] can train: a value the objective reads, seen by
/// the optimizer as one flat `f64` buffer.
///
/// # Examples
///
/// `Vec<f64>` is its own flat buffer:
///
/// ```
/// use evnn_optim::Parameters;
///
/// let mut p = vec![1.0, 2.0];
/// assert_eq!(p.to_flat(), [1.0, 2.0]);
/// p.set_flat(&[3.0, 4.0])?;
/// assert_eq!(p, [3.0, 4.0]);
/// assert!(p.set_flat(&[1.0]).is_err());
/// # Ok::<(), evnn_optim::OptimError>(())
/// ```
pub trait Parameters: Clone {
    /// The values as one flat buffer, in a fixed order.
    fn to_flat(&self) -> Vec<f64>;
    /// Overwrites the values from a flat buffer in the order of
    /// [`to_flat`](Self::to_flat); a buffer of another length is an
    /// [`OptimError::ShapeMismatch`] and changes nothing.
    fn set_flat(&mut self, flat: &[f64]) -> Result<(), OptimError>;
    /// Moves a flat buffer (in the order of [`to_flat`](Self::to_flat))
    /// onto the parameters' domain, after every optimizer step and before
    /// [`set_flat`](Self::set_flat): projected gradient descent for
    /// constrained parameters (transmission delays `>= 0`). By default
    /// every value is allowed and nothing changes.
    fn project(&self, flat: &mut [f64]) {
        let _ = flat;
    }
}

impl Parameters for Vec<f64> {
    fn to_flat(&self) -> Vec<f64> {
        self.clone()
    }

    fn set_flat(&mut self, flat: &[f64]) -> Result<(), OptimError> {
        if flat.len() != self.len() {
            return Err(OptimError::ShapeMismatch {
                what: "params",
                expected: self.len(),
                got: flat.len(),
            });
        }
        self.copy_from_slice(flat);
        Ok(())
    }
}

/// What one batch gave: its size, summed loss and summed score.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchStats {
    /// Examples in the batch.
    pub n: usize,
    /// Sum of the examples' losses.
    pub loss_sum: f64,
    /// Sum of a per-example score, higher is better (for a classifier the
    /// number of correct predictions); the epoch reports its mean.
    pub score_sum: f64,
}

/// What a [`Trainer`] minimises: a loss over examples `0..len()` with its
/// gradient, and optionally a validation score.
///
/// # Examples
///
/// See the [module docs](crate::trainer) for a complete objective and its
/// training; the optional validation score picks the model the run keeps:
///
/// ```
/// use evnn_optim::{BatchStats, Objective, OptimError};
///
/// /// `½(p − 1)²` per example, validated by `−|p − 1|`.
/// struct Bowl(usize);
/// impl Objective for Bowl {
///     type Params = Vec<f64>;
///     type Error = OptimError;
///     fn len(&self) -> usize { self.0 }
///     fn loss_and_grad(&mut self, p: &Vec<f64>, batch: &[usize], g: &mut [f64]) -> Result<BatchStats, OptimError> {
///         g[0] = p[0] - 1.0;
///         let loss = 0.5 * (p[0] - 1.0).powi(2) * batch.len() as f64;
///         Ok(BatchStats { n: batch.len(), loss_sum: loss, score_sum: 0.0 })
///     }
///     fn validate(&mut self, p: &Vec<f64>) -> Result<Option<f64>, OptimError> {
///         Ok(Some(-(p[0] - 1.0).abs()))
///     }
/// }
/// let mut bowl = Bowl(3);
/// let mut g = [0.0];
/// let s = bowl.loss_and_grad(&vec![3.0], &[0, 1, 2], &mut g)?;
/// assert_eq!((s.loss_sum, g[0]), (6.0, 2.0));
/// assert_eq!(bowl.validate(&vec![3.0])?, Some(-2.0));
/// # Ok::<(), OptimError>(())
/// ```
pub trait Objective {
    /// The parameters the objective reads.
    type Params: Parameters;
    /// Why a batch or a validation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of training examples; batches hold indices below it.
    fn len(&self) -> usize;

    /// Whether there are no training examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The loss of the examples `batch` at `params`, writing the **mean**
    /// gradient over the batch to `grad` (in the order of
    /// [`Parameters::to_flat`]; every entry written).
    fn loss_and_grad(
        &mut self,
        params: &Self::Params,
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<BatchStats, Self::Error>;

    /// A validation score of `params`, higher is better (for a classifier
    /// its accuracy on held-out data); `None` (the default) when there is
    /// none, and the run keeps its last parameters.
    fn validate(&mut self, _params: &Self::Params) -> Result<Option<f64>, Self::Error> {
        Ok(None)
    }
}

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch (each batch evaluated before its
    /// update).
    pub train_loss: f64,
    /// Mean training score over the epoch, same convention (a classifier's
    /// accuracy).
    #[serde(rename = "train_acc")]
    pub train_score: f64,
    /// Validation score after the epoch (`None` without validation).
    #[serde(rename = "val_acc")]
    pub val_score: Option<f64>,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Everything a training run carries from one epoch to the next; with the
/// same [`Trainer`] and objective, [`Trainer::resume`] continues it exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState<P, O> {
    /// Current parameters.
    pub params: P,
    /// The optimizer with its state (moments, step count).
    pub optimizer: O,
    /// Parameters with the best validation score so far (the last ones
    /// without validation).
    pub best_params: P,
    /// Their validation score (`None` without validation).
    #[serde(rename = "best_val_acc")]
    pub best_score: Option<f64>,
    /// Their epoch (0 = the initial parameters).
    pub best_epoch: usize,
    /// Metrics of the finished epochs, `epochs[k].epoch == k + 1`.
    pub epochs: Vec<EpochMetrics>,
    /// Wall-clock seconds spent so far (summed over every resumed part of
    /// the run).
    pub train_seconds: f64,
}

impl<P, O> TrainState<P, O> {
    /// Finished epochs.
    pub fn epochs_done(&self) -> usize {
        self.epochs.len()
    }
}

/// Why a training run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError<E: std::error::Error + 'static> {
    /// The objective failed (a batch or the validation).
    #[error("epoch {epoch}: {source}")]
    Objective {
        /// The epoch (0 = before training).
        epoch: usize,
        /// The objective's error.
        #[source]
        source: E,
    },
    /// The optimizer refused a step or the parameters (a non-finite
    /// gradient, a size that does not fit), or a setting is invalid.
    #[error("epoch {epoch}: {source}")]
    Optimizer {
        /// The epoch (0 = before training).
        epoch: usize,
        /// The optimizer's error.
        #[source]
        source: OptimError,
    },
    /// An observer stopped the run (e.g. a checkpoint could not be written).
    #[error("epoch {epoch}: {source}")]
    Observer {
        /// The epoch after which the observer failed.
        epoch: usize,
        /// The observer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The state has finished more epochs than the trainer runs.
    #[error("the state has {done} finished epochs, more than the {epochs} configured")]
    StateAhead {
        /// Epochs the state has finished.
        done: usize,
        /// Epochs the trainer runs.
        epochs: usize,
    },
    /// The objective has no training examples.
    #[error("the objective has no training examples")]
    NoExamples,
}

/// Callbacks of a training run. Every method has a default that does
/// nothing; `()` is the observer that observes nothing.
///
/// # Examples
///
/// ```
/// use evnn_optim::{EpochMetrics, Observer};
///
/// /// Remembers the training loss of every epoch.
/// struct History(Vec<f64>);
/// impl<P, O> Observer<P, O> for History {
///     fn epoch(&mut self, m: &EpochMetrics) {
///         self.0.push(m.train_loss);
///     }
/// }
/// let mut h = History(Vec::new());
/// let m = EpochMetrics { epoch: 1, train_loss: 0.7, train_score: 0.5, val_score: None, seconds: 2.0 };
/// Observer::<Vec<f64>, ()>::epoch(&mut h, &m);
/// assert_eq!(h.0, [0.7]);
/// ```
pub trait Observer<P, O> {
    /// A batch finished: `done` of `total` batches of `epoch`, with the
    /// running mean loss of the epoch.
    fn batch(&mut self, _epoch: usize, _done: usize, _total: usize, _running_loss: f64) {}
    /// An epoch finished.
    fn epoch(&mut self, _metrics: &EpochMetrics) {}
    /// The state after an epoch, to be saved; an error stops the run
    /// ([`TrainError::Observer`]).
    fn checkpoint(
        &mut self,
        _state: &TrainState<P, O>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Ok(())
    }
}

impl<P, O> Observer<P, O> for () {}

/// Two observers, each told everything in turn; the first checkpoint error
/// stops the run.
impl<P, O, A: Observer<P, O>, B: Observer<P, O>> Observer<P, O> for (A, B) {
    fn batch(&mut self, epoch: usize, done: usize, total: usize, running_loss: f64) {
        self.0.batch(epoch, done, total, running_loss);
        self.1.batch(epoch, done, total, running_loss);
    }
    fn epoch(&mut self, metrics: &EpochMetrics) {
        self.0.epoch(metrics);
        self.1.epoch(metrics);
    }
    fn checkpoint(
        &mut self,
        state: &TrainState<P, O>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.checkpoint(state)?;
        self.1.checkpoint(state)
    }
}

/// An observer that prints one line per epoch to standard error:
/// `epoch 3/100  train loss 0.4213  train score 0.8125  val score 0.8340  1.52 s`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PrintEpochs {
    /// Epochs of the run, shown after the epoch number (0: not shown).
    pub epochs: usize,
}

impl PrintEpochs {
    /// The line printed for `m`.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_optim::{EpochMetrics, PrintEpochs};
    ///
    /// let m = EpochMetrics { epoch: 3, train_loss: 0.5, train_score: 0.75, val_score: Some(0.8), seconds: 1.5 };
    /// assert_eq!(
    ///     PrintEpochs { epochs: 10 }.line(&m),
    ///     "epoch 3/10  train loss 0.5000  train score 0.7500  val score 0.8000  1.50 s"
    /// );
    /// ```
    pub fn line(&self, m: &EpochMetrics) -> String {
        let of = if self.epochs > 0 {
            format!("/{}", self.epochs)
        } else {
            String::new()
        };
        let val = match m.val_score {
            Some(v) => format!("  val score {v:.4}"),
            None => String::new(),
        };
        format!(
            "epoch {}{of}  train loss {:.4}  train score {:.4}{val}  {:.2} s",
            m.epoch, m.train_loss, m.train_score, m.seconds
        )
    }
}

impl<P, O> Observer<P, O> for PrintEpochs {
    fn epoch(&mut self, m: &EpochMetrics) {
        eprintln!("{}", self.line(m));
    }
}

/// Mini-batch training for a number of epochs: each epoch visits the
/// examples in a seeded shuffle ([`epoch_order`]), steps the optimizer on
/// each batch's mean gradient, then validates and keeps the best parameters
/// (strictly better scores only, so the earliest best wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trainer {
    epochs: usize,
    batch_size: usize,
    seed: u64,
}

impl Trainer {
    /// A trainer of `epochs` epochs of batches of `batch_size` examples (the
    /// last batch of an epoch holds the rest), shuffled from `seed`.
    ///
    /// # Errors
    ///
    /// [`OptimError::InvalidHyperparameter`] if `batch_size` is 0.
    pub fn new(epochs: usize, batch_size: usize, seed: u64) -> Result<Self, OptimError> {
        if batch_size == 0 {
            return Err(OptimError::InvalidHyperparameter {
                name: "batch_size",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        Ok(Trainer {
            epochs,
            batch_size,
            seed,
        })
    }

    /// Epochs to run.
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Examples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Seed of the shuffles.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Batches per epoch for `n` examples.
    pub fn batches_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_size)
    }

    /// The state before epoch 1: `params`, `optimizer` (built for
    /// `params`' size) and the initial parameters' validation score.
    pub fn start<Obj, O>(
        &self,
        objective: &mut Obj,
        params: Obj::Params,
        optimizer: O,
    ) -> Result<TrainState<Obj::Params, O>, TrainError<Obj::Error>>
    where
        Obj: Objective,
        O: Optimizer<f64>,
    {
        let t0 = Instant::now();
        let n = params.to_flat().len();
        if optimizer.num_params() != n {
            return Err(TrainError::Optimizer {
                epoch: 0,
                source: OptimError::ShapeMismatch {
                    what: "params (the optimizer's size)",
                    expected: optimizer.num_params(),
                    got: n,
                },
            });
        }
        let best_score = objective
            .validate(&params)
            .map_err(|source| TrainError::Objective { epoch: 0, source })?;
        Ok(TrainState {
            best_params: params.clone(),
            params,
            optimizer,
            best_score,
            best_epoch: 0,
            epochs: Vec::new(),
            train_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// The whole run: [`start`](Self::start), then [`resume`](Self::resume).
    pub fn fit<Obj, O>(
        &self,
        objective: &mut Obj,
        params: Obj::Params,
        optimizer: O,
        observer: &mut dyn Observer<Obj::Params, O>,
    ) -> Result<TrainState<Obj::Params, O>, TrainError<Obj::Error>>
    where
        Obj: Objective,
        O: Optimizer<f64>,
    {
        let state = self.start(objective, params, optimizer)?;
        self.resume(objective, state, observer)
    }

    /// Runs the epochs from `state.epochs_done() + 1` to
    /// [`epochs`](Self::epochs), reporting to `observer`; the state after
    /// the last one is returned (and was given to
    /// [`Observer::checkpoint`] after every epoch).
    pub fn resume<Obj, O>(
        &self,
        objective: &mut Obj,
        mut state: TrainState<Obj::Params, O>,
        observer: &mut dyn Observer<Obj::Params, O>,
    ) -> Result<TrainState<Obj::Params, O>, TrainError<Obj::Error>>
    where
        Obj: Objective,
        O: Optimizer<f64>,
    {
        if state.epochs_done() > self.epochs {
            return Err(TrainError::StateAhead {
                done: state.epochs_done(),
                epochs: self.epochs,
            });
        }
        let n = objective.len();
        if n == 0 && state.epochs_done() < self.epochs {
            return Err(TrainError::NoExamples);
        }
        let mut flat = state.params.to_flat();
        let mut grad = vec![0.0; flat.len()];
        for epoch in state.epochs_done() + 1..=self.epochs {
            let optim = |source| TrainError::Optimizer { epoch, source };
            let t0 = Instant::now();
            let order = epoch_order(n, self.seed, epoch as u64);
            let n_batches = self.batches_per_epoch(n);
            let (mut loss_sum, mut score_sum, mut seen) = (0.0, 0.0, 0usize);
            for (b, batch) in batches(&order, self.batch_size).map_err(optim)?.enumerate() {
                let stats = objective
                    .loss_and_grad(&state.params, batch, &mut grad)
                    .map_err(|source| TrainError::Objective { epoch, source })?;
                loss_sum += stats.loss_sum;
                score_sum += stats.score_sum;
                seen += stats.n;
                state.optimizer.step(&mut flat, &grad).map_err(optim)?;
                state.params.project(&mut flat);
                state.params.set_flat(&flat).map_err(optim)?;
                observer.batch(epoch, b + 1, n_batches, loss_sum / seen.max(1) as f64);
            }
            let val_score = objective
                .validate(&state.params)
                .map_err(|source| TrainError::Objective { epoch, source })?;
            let better = match (val_score, state.best_score) {
                (Some(v), Some(best)) => v > best,
                (Some(_), None) => true,
                // Without validation the run keeps its latest parameters.
                (None, _) => true,
            };
            if better {
                state.best_score = val_score;
                state.best_epoch = epoch;
                state.best_params = state.params.clone();
            }
            let m = EpochMetrics {
                epoch,
                train_loss: loss_sum / seen.max(1) as f64,
                train_score: score_sum / seen.max(1) as f64,
                val_score,
                seconds: t0.elapsed().as_secs_f64(),
            };
            state.train_seconds += m.seconds;
            observer.epoch(&m);
            state.epochs.push(m);
            observer
                .checkpoint(&state)
                .map_err(|source| TrainError::Observer { epoch, source })?;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adam, AdamConfig, SgdConfig};

    /// `½(p − c_i)²` per example; validation `−|p − mean(c)|`.
    struct Mean {
        c: Vec<f64>,
        validate: bool,
        fail_at_batch: Option<usize>,
        batches: usize,
        seen: Vec<usize>,
    }

    impl Mean {
        fn new(c: Vec<f64>) -> Self {
            Mean {
                c,
                validate: true,
                fail_at_batch: None,
                batches: 0,
                seen: Vec::new(),
            }
        }
        fn target(&self) -> f64 {
            self.c.iter().sum::<f64>() / self.c.len() as f64
        }
    }

    impl Objective for Mean {
        type Params = Vec<f64>;
        type Error = OptimError;
        fn len(&self) -> usize {
            self.c.len()
        }
        fn loss_and_grad(
            &mut self,
            p: &Vec<f64>,
            batch: &[usize],
            grad: &mut [f64],
        ) -> Result<BatchStats, OptimError> {
            self.batches += 1;
            if self.fail_at_batch == Some(self.batches) {
                return Err(OptimError::NonFiniteGradient {
                    index: 0,
                    value: f64::NAN,
                });
            }
            self.seen.extend_from_slice(batch);
            let (mut loss, mut g) = (0.0, 0.0);
            for &i in batch {
                let r = p[0] - self.c[i];
                loss += 0.5 * r * r;
                g += r;
            }
            grad[0] = g / batch.len() as f64;
            Ok(BatchStats {
                n: batch.len(),
                loss_sum: loss,
                score_sum: batch.len() as f64,
            })
        }
        fn validate(&mut self, p: &Vec<f64>) -> Result<Option<f64>, OptimError> {
            Ok(self.validate.then(|| -(p[0] - self.target()).abs()))
        }
    }

    fn adam(lr: f64) -> Adam<f64> {
        AdamConfig::default()
            .with_learning_rate(lr)
            .build(1)
            .unwrap()
    }

    #[test]
    fn converges_and_visits_every_example_once_per_epoch() {
        let mut obj = Mean::new((0..10).map(f64::from).collect());
        let t = Trainer::new(150, 3, 5).unwrap();
        let state = t.fit(&mut obj, vec![-3.0], adam(0.1), &mut ()).unwrap();
        assert!((state.best_params[0] - 4.5).abs() < 0.05, "{state:?}");
        assert_eq!(state.epochs.len(), 150);
        assert_eq!(obj.batches, 150 * 4);
        for (e, chunk) in obj.seen.chunks(10).enumerate() {
            assert_eq!(chunk, epoch_order(10, 5, e as u64 + 1), "epoch {}", e + 1);
        }
        let m = &state.epochs[0];
        assert_eq!((m.epoch, m.train_score), (1, 1.0));
        assert!(state.epochs[149].train_loss < state.epochs[0].train_loss);
    }

    #[test]
    fn keeps_the_earliest_best_validated_parameters() {
        // A learning rate that overshoots: the score is not monotone.
        let mut obj = Mean::new(vec![1.0, 1.0]);
        let t = Trainer::new(30, 2, 0).unwrap();
        let sgd = SgdConfig::default()
            .with_learning_rate(1.9)
            .build(1)
            .unwrap();
        let state = t.fit(&mut obj, vec![0.0], sgd, &mut ()).unwrap();
        let scores: Vec<f64> = state.epochs.iter().map(|m| m.val_score.unwrap()).collect();
        let initial = -1.0;
        let best = scores.iter().copied().fold(initial, f64::max);
        assert_eq!(state.best_score, Some(best));
        let first = scores.iter().position(|&s| s == best).map_or(0, |k| k + 1);
        assert_eq!(state.best_epoch, first);
        assert!(state.best_epoch > 0);
    }

    #[test]
    fn without_validation_the_last_parameters_are_kept() {
        let mut obj = Mean::new(vec![2.0, 4.0]);
        obj.validate = false;
        let state = Trainer::new(3, 1, 0)
            .unwrap()
            .fit(&mut obj, vec![0.0], adam(0.5), &mut ())
            .unwrap();
        assert_eq!(state.best_epoch, 3);
        assert_eq!(state.best_params, state.params);
        assert_eq!(state.best_score, None);
    }

    /// Stopping after any epoch and resuming from the saved state gives the
    /// uninterrupted run's parameters, optimizer and best model, bit for bit.
    #[test]
    fn resume_is_bit_identical() {
        let c: Vec<f64> = (0..7).map(|k| f64::from(k) * 0.37).collect();
        let t = Trainer::new(9, 2, 11).unwrap();
        let full = t
            .fit(&mut Mean::new(c.clone()), vec![1.0], adam(0.3), &mut ())
            .unwrap();
        for stop in 0..=9 {
            let first = Trainer::new(stop, 2, 11).unwrap();
            let part = first
                .fit(&mut Mean::new(c.clone()), vec![1.0], adam(0.3), &mut ())
                .unwrap();
            let json = serde_json::to_string(&part).unwrap();
            let back: TrainState<Vec<f64>, Adam<f64>> = serde_json::from_str(&json).unwrap();
            let rest = t.resume(&mut Mean::new(c.clone()), back, &mut ()).unwrap();
            assert_eq!(rest.params, full.params, "stop {stop}");
            assert_eq!(rest.optimizer, full.optimizer, "stop {stop}");
            assert_eq!(rest.best_params, full.best_params, "stop {stop}");
            assert_eq!(rest.best_epoch, full.best_epoch, "stop {stop}");
        }
    }

    #[test]
    fn observers_see_every_batch_epoch_and_checkpoint() {
        #[derive(Default)]
        struct Log {
            batches: Vec<(usize, usize, usize)>,
            epochs: Vec<usize>,
            checkpoints: Vec<usize>,
        }
        impl<P, O> Observer<P, O> for Log {
            fn batch(&mut self, epoch: usize, done: usize, total: usize, loss: f64) {
                assert!(loss.is_finite());
                self.batches.push((epoch, done, total));
            }
            fn epoch(&mut self, m: &EpochMetrics) {
                self.epochs.push(m.epoch);
            }
            fn checkpoint(
                &mut self,
                s: &TrainState<P, O>,
            ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                self.checkpoints.push(s.epochs_done());
                if s.epochs_done() == 2 {
                    return Err("disk full".into());
                }
                Ok(())
            }
        }
        let mut log = Log::default();
        let t = Trainer::new(4, 2, 0).unwrap();
        let err = t
            .fit(&mut Mean::new(vec![1.0; 3]), vec![0.0], adam(0.1), &mut log)
            .unwrap_err();
        assert!(
            matches!(err, TrainError::Observer { epoch: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(log.batches, [(1, 1, 2), (1, 2, 2), (2, 1, 2), (2, 2, 2)]);
        assert_eq!(log.epochs, [1, 2]);
        assert_eq!(log.checkpoints, [1, 2]);
    }

    /// A pair of observers tells both, in order; the first checkpoint error
    /// stops the run before the second observer sees it.
    #[test]
    fn observer_pairs_tell_both() {
        #[derive(Default)]
        struct Count(usize, usize, usize);
        impl<P, O> Observer<P, O> for Count {
            fn batch(&mut self, _: usize, _: usize, _: usize, _: f64) {
                self.0 += 1;
            }
            fn epoch(&mut self, _: &EpochMetrics) {
                self.1 += 1;
            }
            fn checkpoint(
                &mut self,
                _: &TrainState<P, O>,
            ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                self.2 += 1;
                Ok(())
            }
        }
        let mut pair = (Count::default(), Count::default());
        let t = Trainer::new(3, 2, 0).unwrap();
        t.fit(
            &mut Mean::new(vec![1.0; 5]),
            vec![0.0],
            adam(0.1),
            &mut pair,
        )
        .unwrap();
        assert_eq!((pair.0 .0, pair.0 .1, pair.0 .2), (9, 3, 3));
        assert_eq!((pair.1 .0, pair.1 .1, pair.1 .2), (9, 3, 3));
    }

    #[test]
    fn bad_settings_and_failures_are_typed_errors() {
        assert!(matches!(
            Trainer::new(1, 0, 0),
            Err(OptimError::InvalidHyperparameter {
                name: "batch_size",
                ..
            })
        ));
        let t = Trainer::new(2, 2, 0).unwrap();
        // Optimizer built for another size.
        let big = AdamConfig::default().build(3).unwrap();
        let err = t.fit(&mut Mean::new(vec![1.0]), vec![0.0], big, &mut ());
        assert!(matches!(
            err,
            Err(TrainError::Optimizer {
                epoch: 0,
                source: OptimError::ShapeMismatch { .. }
            })
        ));
        // No examples.
        let err = t.fit(&mut Mean::new(vec![]), vec![0.0], adam(0.1), &mut ());
        assert!(matches!(err, Err(TrainError::NoExamples)));
        // A failing batch names its epoch; the state is not advanced.
        let mut obj = Mean::new(vec![1.0, 2.0, 3.0]);
        obj.fail_at_batch = Some(3);
        let err = t.fit(&mut obj, vec![0.0], adam(0.1), &mut ()).unwrap_err();
        assert!(
            matches!(err, TrainError::Objective { epoch: 2, .. }),
            "{err}"
        );
        // A state from a longer run.
        let long = Trainer::new(3, 2, 0)
            .unwrap()
            .fit(&mut Mean::new(vec![1.0]), vec![0.0], adam(0.1), &mut ())
            .unwrap();
        let err = t
            .resume(&mut Mean::new(vec![1.0]), long, &mut ())
            .unwrap_err();
        assert!(
            matches!(err, TrainError::StateAhead { done: 3, epochs: 2 }),
            "{err}"
        );
    }
}
