//! Neuron models for event-based spiking networks.
//!
//! A neuron is a small ODE `x' = f(x, p)` with a spike event (a function
//! `g(x)` crossing zero upward), a reset jump at its own spikes and an input
//! jump at each incoming spike. The [`NeuronModel`] trait states all of it,
//! plus the derivatives the EventProp adjoint needs (derived from the
//! equations by dual numbers unless a model writes them by hand), and
//! [`check_derivatives`] verifies any implementation against finite
//! differences.
//!
//! # Models
//!
//! Each model's documentation gives its equations, event, reset, input
//! jump, units, defaults and source.
//!
//! | model | state | learnable per neuron | spike | input spike |
//! |---|---|---|---|---|
//! | [`Lif`] leaky integrate-and-fire | `v, i` | bias | `v = θ` | `i += w` |
//! | [`Qif`] quadratic integrate-and-fire (phase form) | `φ, i` | bias | `φ = 1` (`V = +∞`) | `i += w` |
//! | [`Eif`] exponential integrate-and-fire | `V, I` | bias | `V = V_peak` | `I += w` |
//! | [`Alif`] adaptive LIF | `V, b` | bias | `V = b` | `V += r_m w` |
//! | [`Izhikevich`] | `V, U, I` | bias | `V = V_th` | `I += w` |
//! | [`Plif`] LIF, learnable time constants | `v, i` | bias, `log τ_mem`, `log τ_syn` | as LIF | as LIF |
//! | [`Pqif`] QIF, learnable time constants | `φ, i` | bias, `log τ_mem`, `log τ_syn` | as QIF | as QIF |
//! | [`PIzhikevich`] Izhikevich, learnable `a`, `b`, `d` | `V, U, I` | bias, `log a`, `log b`, `log d` | as Izhikevich | as Izhikevich |
//! | [`Egru`] event-based gated recurrent unit | `c, a_u, a_r, a_z` | `b_u, b_r, b_z` | `c = θ` | `a_u += W_u`, `a_r += W_r`, `a_z += W_z σ(a_r)` |
//!
//! [`Lif`] and [`Qif`] carry hand-written derivatives and the closed forms
//! the fast solver backends use; the others are written as equations only.
//! Where a model offers both, [`Reset`] picks a hard or a subtractive reset.
//! [`Egru`] is the one model whose synapses carry several weights
//! ([`NeuronModel::WEIGHTS_PER_SYNAPSE`], three); it is not among
//! [`AnyNeuron`]'s models, whose synapses carry one.
//! [`AnyNeuron`] is any of them, chosen at run time: layers of different
//! models in one network. Two wrappers change when any model may spike,
//! not its equations: [`Refractory`] (an absolute refractory period after
//! each spike, whose end the solver finds exactly) and [`AtMostOneSpike`]
//! (the run ends at the first spike).
//! The constants of a model are validated once, by its constructor (an
//! [`NeuronError::InvalidConstant`] names the first bad one), and again when
//! a model is read from a file.
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

pub mod alif;
pub mod any;
mod check;
pub mod derived;
pub mod egru;
pub mod eif;
mod error;
pub mod izhikevich;
pub mod lif;
// Shared with evnn-solver's QIF series stepper; not part of the API
// (see the module's docs).
#[doc(hidden)]
pub mod math;
mod model;
pub mod pizhikevich;
pub mod plif;
pub mod pqif;
pub mod qif;
mod reset;
mod scalar;
mod state;
pub mod wrapper;

pub use alif::{Alif, AlifConstants};
pub use any::{AnyNeuron, ANY_PARAMS_DIM, ANY_STATE_DIM};
pub use check::{check_derivatives, CheckOptions, DerivativeReport};
pub use derived::{Derived, MAX_WEIGHTS_PER_SYNAPSE};
pub use egru::{Egru, EgruConstants};
pub use eif::{Eif, EifConstants, EIF_PEAK_TOLERANCE};
pub use error::NeuronError;
pub use izhikevich::{Izhikevich, IzhikevichConstants};
pub use lif::Lif;
// Kernels of evnn-solver's `ClosedForm` backend, public only for that crate.
#[doc(hidden)]
pub use lif::{LifDecay, ThresholdPolynomial};
pub use model::NeuronModel;
pub use pizhikevich::PIzhikevich;
pub use plif::Plif;
pub use pqif::Pqif;
pub use qif::Qif;
pub use reset::Reset;
pub use scalar::{Dual64, DualNum, DualSVec64, Scalar};
pub use state::StateVector;
pub use wrapper::{AtMostOneSpike, Refractory};
