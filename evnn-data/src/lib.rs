//! Datasets, spike encodings, shuffling and batching for event-based
//! spiking networks.
//!
//! - [`yin_yang`]: the Yin–Yang dataset (Kriener, Göltz & Petrovici 2021),
//!   bit-exact with the reference generator, built on
//!   [`mt19937`]'s numpy-compatible [`NumpyRandomState`];
//! - [`encoding`]: latency encoding of features as one input spike per
//!   channel, eventax's defaults (`t = 30·v`, bias spike at 0);
//! - [`spike_data`]: a user's own labelled spike data ([`SpikeData`]: any
//!   number of channels and of spikes per channel, train/validation/test
//!   splits) from JSON or numpy's `.npz`;
//! - [`intervals`]: a temporal task ([`IntervalTask`]: classify the
//!   interval between two cue spikes) that a network needs delays or
//!   recurrence to solve;
//! - [`poisson`]: independent Poisson spike trains ([`PoissonInput`]) for
//!   synthetic workloads;
//! - [`dataset`]: a labelled [`Dataset`] (the order in which training
//!   visits it, seeded shuffles and mini-batches, is the trainer's:
//!   `evnn_optim::epoch_order`).
//!
//! This crate knows nothing about neurons or solvers: it hands spike times
//! and labels to whoever simulates the network.
//!
//! # Quick start
//!
//! ```
//! use evnn_data::{EncodingConfig, YinYang};
//!
//! let train = YinYang::train()?;                 // 5000 samples, seed 42
//! assert_eq!(train.len(), 5000);
//! let encoder = EncodingConfig::default().build()?;
//! let n_inputs = encoder.n_channels(train.n_features()); // x, y, 1−x, 1−y, bias
//! assert_eq!(n_inputs, 5);
//!
//! let mut times = Vec::new();
//! let order: Vec<usize> = (0..train.len()).collect();
//! for batch in order.chunks(256) {
//!     encoder.encode_batch_into(&train, batch, &mut times)?;
//!     let labels: Vec<usize> = batch.iter().map(|&i| train.labels()[i]).collect();
//!     assert_eq!(times.len(), batch.len() * n_inputs);
//!     assert_eq!(labels.len(), batch.len());
//! }
//! # Ok::<(), evnn_data::DataError>(())
//! ```

pub mod dataset;
pub mod encoding;
mod error;
pub mod intervals;
pub mod mt19937;
pub mod poisson;
pub mod spike_data;
pub mod yin_yang;

pub use dataset::Dataset;
pub use encoding::{EncodingConfig, LatencyEncoder};
pub use error::DataError;
pub use intervals::{IntervalTask, INTERVAL_CHANNELS};
pub use mt19937::{MtState, NumpyRandomState};
pub use poisson::PoissonInput;
pub use spike_data::{SpikeData, SpikeSplit};
pub use yin_yang::{Split, YinYang, YinYangConfig};
