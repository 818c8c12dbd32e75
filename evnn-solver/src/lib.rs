//! Event-driven simulation of single spiking neurons with exact spike times.
//!
//! An [`EventSolver`] integrates one neuron of any
//! [`NeuronModel`](evnn_neurons::NeuronModel) from input spike to input spike
//! with an integrator [`Backend`]: [`DiffsolBackend`] (diffsol's adaptive
//! `tsit45`, or its implicit BDF for stiff models, [`DiffsolMethod`]; any
//! model), [`Dopri5Backend`] (a lean Dormand–Prince 5(4), any model, the
//! fastest generic backend and the default for a custom model), [`ClosedForm`] (exact, LIF) or [`QifSeries`] (Taylor series of the
//! QIF in homogeneous coordinates, with its own adjoint). Spikes are detected on
//! the backend's dense output, including thresholds touched and left inside
//! one step, and refined by safeguarded Newton to `|Δt| <= 4 ε |t|`; a
//! [`Stepper`] that knows more about its dense output may answer those two
//! questions itself ([`Stepper::event_peak`]: the LIF closed form's segment
//! maximum, or that it stays below the threshold;
//! [`Stepper::refine_crossing`]: the QIF series' spike as a zero of a
//! polynomial). Every run yields a [`NeuronTrace`]: spike times plus an
//! event log with the state and its derivative on both sides of every jump,
//! which is what the EventProp adjoint needs. With
//! [`SolverOptions::stop_after_spikes`] a run ends at a given spike, exactly,
//! for losses that read only the first spikes; with
//! [`SolverOptions::stop_when_silent`] it ends once no input remains and the
//! model proves that no spike can come before `t_end`
//! ([`NeuronModel::silent_for`](evnn_neurons::NeuronModel::silent_for)).
//! A model's refractory period and spike limit
//! ([`NeuronModel::refractory_period`](evnn_neurons::NeuronModel::refractory_period),
//! [`spike_limit`](evnn_neurons::NeuronModel::spike_limit); the wrappers
//! `evnn_neurons::Refractory` and `AtMostOneSpike`) are the event loop's, so
//! every backend has them: the end of a period is an exact event. The exact
//! backends run a wrapped model on the wrapped model's stepper
//! ([`WrappedStepper`]).
//!
//! # One entry to the event loop: [`RunPlan`]
//!
//! Every neuron run reaches the one event loop through a [`RunPlan`], the
//! central type: the end time and options, checked once by
//! [`RunPlan::new`]. [`RunPlan::run`] runs a [`Stepper`] with every input
//! known; [`RunPlan::start`] gives a [`NeuronRun`] that the caller drives
//! step by step while inputs become known (a network's on-demand pass). The
//! [`Backend`] methods take a plan, so the options a backend sees are
//! checked; [`Backend::simulate`] builds the backend's stepper and runs the
//! plan on it. [`EventSolver`] is a thin convenience over a plan for one
//! neuron at a time (a model, a backend and options kept together);
//! `evnn-net` drives plans and backends directly. Each value is checked
//! once, where it enters: options and `t_end` by the plan, a run's inputs
//! and parameters when it starts (inputs that become known later, as they
//! arrive); the per-step path checks only what the integration produces.
//!
//! # Quick start
//!
//! ```
//! use evnn_neurons::Qif;
//! use evnn_solver::{EventSolver, InputSpike, SolverOptions};
//!
//! let mut solver = EventSolver::diffsol(Qif::new(20.0, 5.0)?, SolverOptions::default())?;
//! let inputs = [InputSpike::new(0.0, 12.0), InputSpike::new(4.0, -3.0)];
//! let trace = solver.simulate(&[0.0], &inputs, 30.0)?;
//! println!("spikes at {:?}", trace.spikes);
//! assert_eq!(trace.events.len(), 2 + trace.spikes.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A user-defined model
//!
//! Any [`NeuronModel`](evnn_neurons::NeuronModel) runs on the generic
//! backends ([`Dopri5Backend`], [`DiffsolBackend`]); a model writes its
//! equations only, and every derivative is derived from them. The
//! exponential integrate-and-fire neuron (EIF) with a current synapse,
//! `τ_m v' = −v + Δ_T e^{(v − v_T)/Δ_T} + i + b`, `τ_s i' = −i`, spiking at
//! `v_peak` and reset to `v_r`:
//!
//! ```
//! use evnn_neurons::{check_derivatives, CheckOptions, NeuronModel, Scalar};
//! use evnn_solver::{EventSolver, InputSpike, SolverOptions};
//!
//! #[derive(Clone, Debug)]
//! struct Eif { tau_mem: f64, tau_syn: f64, delta_t: f64, v_t: f64, v_peak: f64, v_reset: f64 }
//!
//! impl NeuronModel for Eif {
//!     type State = [f64; 2];
//!     type Params = [f64; 1];
//!     const NAME: &'static str = "EIF";
//!     const PARAM_NAMES: &'static [&'static str] = &["bias"];
//!     fn initial_state(&self) -> [f64; 2] { [0.0, 0.0] }
//!     fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
//!         let e = ((x[0] - self.v_t) / self.delta_t).exp() * self.delta_t;
//!         dx[0] = (-x[0] + e + x[1] + p[0]) / self.tau_mem;
//!         dx[1] = -x[1] / self.tau_syn;
//!     }
//!     fn event<T: Scalar>(&self, x: &[T]) -> T { x[0] - self.v_peak }
//!     fn reset<T: Scalar>(&self, x: &mut [T]) { x[0] = T::from(self.v_reset); }
//!     fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) { x[1] += w; }
//! }
//!
//! let eif = Eif { tau_mem: 10.0, tau_syn: 5.0, delta_t: 0.2, v_t: 1.0, v_peak: 3.0, v_reset: 0.0 };
//! check_derivatives(&eif, &[0.0], &[0.5, 1.0], 2.0, &CheckOptions::default())?;
//! let mut solver = EventSolver::diffsol(eif, SolverOptions::default())?;
//! let inputs = [InputSpike::new(1.0, 3.0), InputSpike::new(2.0, 3.0)];
//! let trace = solver.simulate(&[0.0], &inputs, 40.0)?;
//! assert!(!trace.spikes.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adjoint;
mod backend;
pub mod closed_form;
mod diffsol_backend;
mod dopri5;
mod dopri5_backend;
mod engine;
mod error;
pub mod lif_delayed;
pub mod lif_layer;
mod options;
mod qif_series;
mod root;
mod solver;
mod state_at;
mod trace;
mod wrapper;

pub use adjoint::{run_adjoint, Adjoint, AdjointRun, NeuronGradient, RkAdjoint};
pub use backend::{Backend, GenericSearch, NoStepper, Peak, Stepper};
pub use closed_form::ClosedForm;
pub use diffsol_backend::{DiffsolBackend, DiffsolMethod, DiffsolStepper};
pub use dopri5::Dopri5;
pub use dopri5_backend::{Dopri5Backend, Dopri5Stepper};
pub use engine::{validate_inputs, NeuronRun, Next, RunPlan};
pub use error::SolverError;
pub use options::SolverOptions;
pub use qif_series::{QifSeries, SeriesStepper};
pub use solver::EventSolver;
pub use state_at::states_at;
pub use trace::{Event, EventKind, InputSpike, NeuronTrace, TraceMark};
pub use wrapper::WrappedStepper;
