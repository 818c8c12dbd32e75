//! Training checkpoints: `checkpoint.json`, written atomically after every
//! epoch, from which `evnn train --resume DIR` continues a stopped or killed
//! run with bit-for-bit the result of an uninterrupted one.
//!
//! ```json
//! {
//!   "format": "evnn-checkpoint",
//!   "version": 1,
//!   "config": { ...the run's TrainConfig... },
//!   "rng": {"seed": 0, "next_epoch": 13},
//!   "state": {
//!     "params": {...}, "optimizer": {"config": {...}, "state": {"step": 240, "m": [...], "v": [...]}},
//!     "best_params": {...}, "best_val_acc": 0.981, "best_epoch": 11,
//!     "epochs": [...metrics of epochs 1..=12...], "train_seconds": 31.4
//!   }
//! }
//! ```
//!
//! Floats are written in shortest round-trip form and read back exactly, so
//! the parameters and Adam's moments continue unchanged. Epoch `e` shuffles
//! with `epoch_rng(seed, e)`: `rng` is the whole state of the shuffling.
//!
//! # Examples
//!
//! ```
//! use evnn_examples::checkpoint::Checkpoint;
//! use evnn_examples::experiment::{start, with_net, ModelKind, Splits, TrainConfig, TrainState, WithNet};
//! use evnn_net::{BatchRunner, FeedForward};
//! use evnn_neurons::NeuronModel;
//! use evnn_solver::{Adjoint, Backend};
//!
//! /// The state before epoch 1 of a small LIF run.
//! struct Fresh<'a>(&'a TrainConfig, &'a Splits);
//! impl WithNet for Fresh<'_> {
//!     type Output = TrainState;
//!     fn run<N, B>(self, net: FeedForward<N, B>) -> anyhow::Result<TrainState>
//!     where
//!         N: NeuronModel,
//!         B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
//!     {
//!         start(&BatchRunner::new(net), self.0, self.1)
//!     }
//! }
//! let config = TrainConfig {
//!     model: ModelKind::Lif,
//!     train_size: 8,
//!     val_size: 8,
//!     test_size: 8,
//!     ..TrainConfig::default()
//! };
//! let splits = Splits::load(&config)?;
//! let state = with_net(&config, Fresh(&config, &splits))?;
//! let path = std::env::temp_dir().join(format!("evnn-doc-ckpt-{}.json", std::process::id()));
//! Checkpoint::new(&config, &state).save(&path)?;
//! let back = Checkpoint::load(&path)?;
//! assert_eq!(back.state, state);
//! assert_eq!(back.rng.next_epoch, 1);
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

use crate::experiment::{EpochMetrics, TrainConfig, TrainState};
use crate::model_file::write_atomic;
use evnn_net::{LayerParams, NetworkParams};
use evnn_optim::Optimizer;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The current format version.
pub const VERSION: u32 = 1;
/// The `format` tag.
pub const FORMAT: &str = "evnn-checkpoint";
/// The file name inside a run directory.
pub const FILE_NAME: &str = "checkpoint.json";

/// Why a checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("cannot access checkpoint {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid JSON, truncated, or fields of the wrong type.
    #[error("checkpoint {path} is not a valid evnn checkpoint: {message}")]
    Parse {
        /// The path.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// Wrong `format` tag or a version this program cannot read.
    #[error("checkpoint {path}: format {format:?} version {version}, this program reads {FORMAT:?} version {VERSION}")]
    Version {
        /// The path.
        path: String,
        /// The `format` found.
        format: String,
        /// The version found.
        version: u32,
    },
    /// Values or shapes that do not fit together.
    #[error("checkpoint {path}: {message}")]
    Invalid {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The state of the shuffling generator: epoch `e` draws from
/// `epoch_rng(seed, e)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RngState {
    /// The run's seed.
    pub seed: u64,
    /// The next epoch to shuffle for.
    pub next_epoch: u64,
}

/// A checkpoint file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always `"evnn-checkpoint"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The shuffling generator's state.
    pub rng: RngState,
    /// Parameters, optimizer, best model and metrics so far.
    pub state: TrainState,
}

impl Checkpoint {
    /// A checkpoint of `state` in a run of `config`.
    pub fn new(config: &TrainConfig, state: &TrainState) -> Self {
        Checkpoint {
            format: FORMAT.into(),
            version: VERSION,
            config: config.clone(),
            rng: RngState {
                seed: config.seed,
                next_epoch: state.epochs_done() as u64 + 1,
            },
            state: state.clone(),
        }
    }

    /// Writes the file atomically (temporary file, flush to disk, rename):
    /// a kill at any moment leaves the previous checkpoint or the new one.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let text = serde_json::to_string(self).map_err(|e| CheckpointError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        write_atomic(path, text.as_bytes()).map_err(|source| CheckpointError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads and validates a checkpoint.
    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CheckpointError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parses and validates the text of a checkpoint; `path` names it in
    /// errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, CheckpointError> {
        let p = path.to_string();
        // The tag first, so that another file gets a clear message rather
        // than a missing-field error.
        #[derive(Deserialize)]
        struct Tag {
            format: Option<String>,
            version: Option<u32>,
        }
        let tag: Tag = serde_json::from_str(text).map_err(|e| CheckpointError::Parse {
            path: p.clone(),
            message: e.to_string(),
        })?;
        if tag.format.as_deref() != Some(FORMAT) || tag.version != Some(VERSION) {
            return Err(CheckpointError::Version {
                path: p,
                format: tag.format.unwrap_or_default(),
                version: tag.version.unwrap_or(0),
            });
        }
        let file: Checkpoint = serde_json::from_str(text).map_err(|e| CheckpointError::Parse {
            path: p.clone(),
            message: e.to_string(),
        })?;
        file.validate()
            .map_err(|message| CheckpointError::Invalid { path: p, message })?;
        Ok(file)
    }

    /// Checks that configuration, parameters, optimizer and metrics fit
    /// together.
    fn validate(&self) -> Result<(), String> {
        let c = &self.config;
        let s = &self.state;
        c.validate().map_err(|e| format!("config: {e}"))?;
        let sizes = c.sizes();
        for (name, params) in [("params", &s.params), ("best_params", &s.best_params)] {
            check_params(name, params, &sizes)?;
        }
        let n = s.optimizer.state().m.len();
        if n != s.params.len() {
            return Err(format!(
                "optimizer has {n} parameters, the network {}",
                s.params.len()
            ));
        }
        let done = s.epochs_done();
        if done > c.epochs {
            return Err(format!(
                "{done} finished epochs, more than the configured {}",
                c.epochs
            ));
        }
        if self.rng.seed != c.seed || self.rng.next_epoch != done as u64 + 1 {
            return Err(format!(
                "rng {{seed {}, next_epoch {}}} does not fit seed {} after {done} epochs",
                self.rng.seed, self.rng.next_epoch, c.seed
            ));
        }
        for (k, m) in s.epochs.iter().enumerate() {
            check_epoch(k + 1, m)?;
        }
        if s.best_epoch > done {
            return Err(format!(
                "best_epoch {} is after the last finished epoch {done}",
                s.best_epoch
            ));
        }
        check_fraction("best_val_acc", s.best_score)?;
        if !(s.train_seconds.is_finite() && s.train_seconds >= 0.0) {
            return Err(format!("train_seconds {} is not >= 0", s.train_seconds));
        }
        Ok(())
    }
}

fn check_params(name: &str, p: &NetworkParams, sizes: &[usize]) -> Result<(), String> {
    if p.sizes() != sizes {
        return Err(format!(
            "{name} have sizes {:?}, the config {sizes:?}",
            p.sizes()
        ));
    }
    // The number of parameters per neuron is the model's (1 for LIF and QIF,
    // 3 for PLIF and PQIF, 4 for PIzhikevich and `layers`): taken from the first
    // layer here, every layer must have it, and the resumed network checks
    // it against its model.
    let per_neuron = p
        .layers
        .first()
        .map_or(1, |l| l.neuron_params.len() / l.n_out.max(1))
        .max(1);
    // Likewise the weights per synapse (EGRU's 3).
    let k_w = p.layers.first().map_or(1, LayerParams::weights_per_synapse);
    p.validate_synapses(per_neuron, k_w, &["bias"])
        .map_err(|e| format!("{name}: {e}"))
}

/// An accuracy of the program's runs, which always validate: present and
/// in `[0, 1]`.
fn check_fraction(name: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(v) if (0.0..=1.0).contains(&v) => Ok(()),
        Some(v) => Err(format!("{name} {v} is not in [0, 1]")),
        None => Err(format!("{name} is missing")),
    }
}

fn check_epoch(expected: usize, m: &EpochMetrics) -> Result<(), String> {
    if m.epoch != expected {
        return Err(format!(
            "epoch metrics out of order: found epoch {} at position {expected}",
            m.epoch
        ));
    }
    check_fraction("train_acc", Some(m.train_score))?;
    check_fraction("val_acc", m.val_score)?;
    if !m.train_loss.is_finite() {
        return Err(format!(
            "epoch {expected}: train_loss {} is not finite",
            m.train_loss
        ));
    }
    if !(m.seconds.is_finite() && m.seconds >= 0.0) {
        return Err(format!(
            "epoch {expected}: seconds {} is not >= 0",
            m.seconds
        ));
    }
    Ok(())
}
