//! Feed-forward spiking networks with exact EventProp gradients.
//!
//! A [`FeedForward`] network is a stack of layers of one
//! [`NeuronModel`](evnn_neurons::NeuronModel); every neuron is simulated on
//! its own by an `evnn_solver` backend, given the previous layer's spikes.
//! The forward pass records an event log per neuron ([`ForwardTrace`]); the
//! backward pass runs the EventProp adjoint of each neuron from the output
//! layer to the input, sending each spike's sensitivity `dL/dt_k` upstream,
//! and yields `dL/dW`, `dL/d(neuron parameters)` and `dL/d(input times)`.
//! Gradients are the continuous adjoint, exact to solver tolerance (to
//! round-off with the closed-form LIF backend), and [`gradcheck`] compares
//! them with finite differences for any model.
//!
//! Parameters ([`NetworkParams`]) are plain serializable data, apart from the
//! machinery. Losses live in [`loss`](crate::TtfsLoss); batches run in
//! parallel with rayon, bit-identically for any thread count. Where only
//! the predicted class matters (inference, accuracy),
//! [`FeedForward::batch_predict`] ends each sample's simulation as soon as
//! the first output spike is known.
//!
//! # Quick start
//!
//! ```
//! use evnn_net::{FeedForward, InitConfig, NetworkParams, SpikeTrains, TtfsLoss};
//! use evnn_neurons::Qif;
//! use evnn_solver::{DiffsolBackend, SolverOptions};
//!
//! let sizes = [5, 20, 3];
//! let net = FeedForward::new(Qif::default(), &sizes, DiffsolBackend::default(), SolverOptions::default(), 30.0)?;
//! let params = NetworkParams::init::<Qif>(&sizes, &InitConfig::default(), 0)?;
//! let inputs = vec![SpikeTrains::from_times(&[20.4, 13.5, 9.6, 16.5, 0.0])?];
//! let r = net.batch_loss(&params, &inputs, &[2], &TtfsLoss::default(), true)?;
//! let grad = r.grad.as_ref().unwrap();
//! assert_eq!(grad.len(), params.len());
//! println!("loss {} accuracy {}", r.mean_loss(), r.accuracy());
//! # Ok::<(), evnn_net::NetError>(())
//! ```

mod batch;
mod error;
mod gradcheck;
mod loss;
mod network;
mod on_demand;
mod params;
mod spikes;

pub use batch::{BatchResult, SampleResult, CHUNK};
pub use error::NetError;
pub use gradcheck::{
    gradcheck, EntryStatus, GradCheckEntry, GradCheckOptions, GradCheckReport, ParamRef,
};
pub use loss::{predict, LossKind, TtfsLoss};
pub use network::{FeedForward, ForwardTrace, LayerTrace, MergedSpike, Workspace};
pub use on_demand::LossPass;
pub use params::{Distribution, FanInScaling, InitConfig, LayerInit, LayerParams, NetworkParams};
pub use spikes::SpikeTrains;
