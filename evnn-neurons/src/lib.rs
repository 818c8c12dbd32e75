//! Neuron models for event-based spiking networks.
//!
//! A neuron is a small ODE `x' = f(x, p)` with a spike event (a function
//! `g(x)` crossing zero upward), a reset jump at its own spikes and an input
//! jump at each incoming spike. The [`NeuronModel`] trait states all of it,
//! plus the derivatives the EventProp adjoint needs; [`Lif`] and [`Qif`]
//! implement it in eventax's parameterisation, and [`check_derivatives`]
//! verifies any implementation against finite differences.
//!
//! This crate knows nothing about solvers or networks: `evnn-solver`
//! integrates a model from event to event, `evnn-net` composes layers.
//!
//! # Quick start
//!
//! ```
//! use evnn_neurons::{check_derivatives, CheckOptions, Lif, NeuronModel, Qif};
//!
//! let lif = Lif::new(20.0, 5.0, 1.0, 0.0)?;    // τ_mem, τ_syn, θ, v_r
//! let mut x = lif.initial_state();            // (v, i) = (0, 0)
//! lif.input_jump(&mut x, 3.0);                // a spike of weight 3
//! let x_later = lif.evolve(&[0.0], &x, 5.0);  // exact state 5 time units later
//! assert!(x_later[0] > 0.0);
//!
//! let qif = Qif::new(20.0, 5.0)?;
//! check_derivatives(&qif, &[0.2], &[0.4, 1.0], 2.0, &CheckOptions::default())?;
//! # Ok::<(), evnn_neurons::NeuronError>(())
//! ```

mod check;
pub mod derived;
mod error;
pub mod lif;
mod model;
pub mod qif;
mod scalar;
mod state;
mod trig;

pub use check::{check_derivatives, CheckOptions, DerivativeReport};
pub use derived::Derived;
pub use error::NeuronError;
pub use lif::{Lif, LifDecay, ThresholdPolynomial};
pub use model::NeuronModel;
pub use qif::Qif;
pub use scalar::{Dual64, DualNum, Scalar};
pub use state::StateVector;
