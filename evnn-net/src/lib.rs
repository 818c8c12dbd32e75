//! Layered spiking networks with exact EventProp gradients.
//!
//! A [`FeedForward`] network is a stack of layers of one
//! [`NeuronModel`](evnn_neurons::NeuronModel); every neuron is simulated on
//! its own by an `evnn_solver` backend, given the previous layer's spikes.
//! A layer may also connect its neurons to one another
//! ([`LayerParams::recurrent_weights`],
//! [`NetworkParams::with_recurrent`]); its neurons are then simulated
//! together, event by event, and their adjoints interleaved.
//! The forward pass records an event log per neuron ([`ForwardTrace`]); the
//! backward pass runs the EventProp adjoint of each neuron from the output
//! layer to the input, sending each spike's sensitivity `dL/dt_k` upstream,
//! and yields `dL/dW`, `dL/d(neuron parameters)` and `dL/d(input times)`.
//! Gradients are the continuous adjoint, exact to solver tolerance (to
//! round-off with the closed-form LIF backend), and [`gradcheck`] compares
//! them with finite differences for any model.
//!
//! Parameters ([`NetworkParams`]) are plain serializable data, apart from the
//! machinery. Losses of the first output spikes live in
//! [`loss`](crate::TtfsLoss); a [`LiReadout`] instead reads every spike of
//! the last layer with leaky integrators, scoring each class by a readout
//! neuron's largest or mean voltage ([`ReadoutScore`],
//! [`ReadoutClassification`]). A [`BatchRunner`]
//! runs batches in parallel with rayon, bit-identically for any thread count;
//! where only the predicted class matters (inference, accuracy),
//! [`BatchRunner::predict`] ends each sample's simulation as soon as the
//! first output spike is known. [`Classification`] is a network's task for
//! `evnn_optim`'s [`Trainer`](evnn_optim::Trainer).
//!
//! # Quick start: the Yin–Yang experiment
//!
//! ```
//! use evnn_data::{EncodingConfig, YinYang};
//! use evnn_net::{BatchRunner, Classification, FeedForward, InitConfig, SpikeTrains, TtfsLoss};
//! use evnn_neurons::Qif;
//! use evnn_optim::{AdamConfig, Trainer};
//! use evnn_solver::{QifSeries, SolverOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let epochs = 2; // the full experiment: 100 epochs
//! let encoder = EncodingConfig::default().build()?;
//! let (train, test) = (YinYang::train()?, YinYang::test()?);
//! let x_train = SpikeTrains::from_rows(&encoder.encode_all(&train)?)?;
//! let x_test = SpikeTrains::from_rows(&encoder.encode_all(&test)?)?;
//! let (qif, series) = (Qif::default(), QifSeries);
//! let net = FeedForward::new(qif, &[5, 20, 3], series, SolverOptions::default(), 30.0)?;
//! let params = net.init_params(&InitConfig::default(), 0)?;
//! let runner = BatchRunner::new(net);
//! let mut task = Classification::new(&runner, &x_train, train.labels(), TtfsLoss::default())?;
//! let adam = AdamConfig::default().with_learning_rate(0.05);
//! let adam = adam.build(params.len())?;
//! let state = Trainer::new(epochs, 256, 0)?.fit(&mut task, params, adam, &mut ())?;
//! let accuracy = runner.accuracy(&state.params, &x_test, test.labels())?;
//! println!("test accuracy {:.1} %", 100.0 * accuracy);
//! # assert!(state.epochs[1].train_loss < state.epochs[0].train_loss, "{accuracy}");
//! # Ok(())
//! # }
//! ```
//!
//! The `evnn` program's `train` command runs this training with a
//! validation split that picks the kept model
//! ([`Classification::with_validation`]) and writes checkpoints from an
//! [`Observer`](evnn_optim::Observer).
//!
//! # One sample at a time
//!
//! ```
//! use evnn_net::{FeedForward, InitConfig, SpikeTrains, TtfsLoss};
//! use evnn_neurons::Qif;
//! use evnn_solver::{DiffsolBackend, SolverOptions};
//!
//! let net = FeedForward::new(Qif::default(), &[5, 20, 3], DiffsolBackend::default(), SolverOptions::default(), 30.0)?;
//! let params = net.init_params(&InitConfig::default(), 0)?;
//! let x = SpikeTrains::from_times(&[20.4, 13.5, 9.6, 16.5, 0.0])?;
//! let (mut ws, mut trace, mut grad) = (net.workspace(), Default::default(), params.zeros_like());
//! let r = net.sample_loss(&params, &x, &2, &TtfsLoss::default(), &mut ws, &mut trace, Some(&mut grad))?;
//! println!("loss {} prediction {:?}", r.loss, r.prediction);
//! assert_eq!(grad.len(), params.len());
//! # Ok::<(), evnn_net::NetError>(())
//! ```
//!
//! # Modules
//!
//! The files import one way: `trace` (what a forward pass records) →
//! `stack` (checked layers and run plans) → `on_demand` → `recurrent`
//! (a recurrent layer's passes) → `forward`
//! (with the per-thread [`Workspace`]) → `backward` → `sample` (one
//! sample's loss and prediction) → `network` ([`FeedForward`], checking its
//! arguments once) → `batch` ([`BatchRunner`]) → `objective`
//! ([`Classification`]); `gradcheck` uses the network. Parameters, spike
//! trains, losses, the readout's closed form and errors are leaves.

mod backward;
mod batch;
mod error;
mod forward;
mod gradcheck;
mod layer_wide;
mod loss;
mod network;
mod objective;
mod on_demand;
mod params;
mod readout;
mod recurrent;
mod sample;
mod spikes;
mod stack;
mod trace;

pub use batch::{BatchResult, BatchRunner, ReadoutBatch};
pub use error::NetError;
pub use forward::Workspace;
pub use gradcheck::{
    gradcheck, EntryStatus, GradCheckEntry, GradCheckOptions, GradCheckReport, ParamRef,
};
pub use loss::{predict, FirstSpikeLoss, LossKind, SpikeTimeMse, TtfsLoss};
pub use network::FeedForward;
pub use objective::{Classification, ReadoutClassification, Regression};
pub use on_demand::LossPass;
pub use params::{
    DelayInit, Distribution, FanInScaling, InitConfig, LayerInit, LayerParams, NetworkParams,
    RecurrentInit,
};
pub use readout::{predict_scores, LiReadout, ReadoutParams, ReadoutScore, VoltageMax};
pub use sample::{ReadoutResult, SampleResult};
pub use spikes::SpikeTrains;
pub use trace::{
    ForwardTrace, InputSource, LayerTrace, MergedSpike, RecurrentInput, RecurrentRecord,
};
