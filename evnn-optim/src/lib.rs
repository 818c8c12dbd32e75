//! First-order optimizers over flat parameter buffers: Adam (with optional
//! decoupled weight decay), SGD with momentum or Nesterov, gradient clipping
//! by global norm and learning-rate schedules; and the [`Trainer`] that runs
//! mini-batch epochs of any [`Objective`] with them ([`trainer`]).
//!
//! The crate knows nothing about neurons or spikes: a network flattens its
//! parameters into one `&mut [F]` and its gradients into one `&[F]`, and an
//! [`Optimizer`] updates the first from the second in place. Semantics
//! follow [optax](https://github.com/google-deepmind/optax) (`adam`,
//! `adamw`, `sgd`, `clip_by_global_norm`, `warmup_cosine_decay_schedule`),
//! including its order of floating-point operations where Rust allows, so
//! results can be checked against a JAX reference.
//!
//! - Configs ([`AdamConfig`], [`SgdConfig`]) are plain serde structs with
//!   `Default`; `build` validates them and sizes the state once.
//! - State ([`AdamState`], [`SgdState`]) is a separate serializable struct;
//!   save → load → step is bit-identical.
//! - A failed step (wrong length, NaN gradient) changes nothing and returns
//!   an [`OptimError`] naming the bad value.
//! - Floats are generic (`f32` or `f64`) through [`num_traits::Float`];
//!   hyper-parameters and schedules are `f64`.
//!
//! Symbols: `p` parameters, `g` gradients, `η` learning rate, `t` step
//! count, `m`/`v` first/second moments (optax's `mu`/`nu`), `β₁`/`β₂`
//! their decays, `μ` momentum, `λ` weight decay.
//!
//! # Quick start
//!
//! ```
//! use evnn_optim::{AdamConfig, Optimizer, Schedule};
//!
//! // f(x, y) = (x − 3)² + 10 (y + 1)²
//! let grad = |p: &[f64], g: &mut [f64]| {
//!     g[0] = 2.0 * (p[0] - 3.0);
//!     g[1] = 20.0 * (p[1] + 1.0);
//! };
//! let schedule = Schedule::WarmupCosine {
//!     init_value: 0.0,
//!     peak_value: 0.1,
//!     warmup_steps: 20,
//!     decay_steps: 1000,
//!     end_value: 1e-4,
//! };
//! let mut opt = AdamConfig::default().with_schedule(schedule).build(2)?;
//! let (mut p, mut g) = ([0.0, 0.0], [0.0; 2]);
//! for _ in 0..1000 {
//!     grad(&p, &mut g);
//!     opt.clip_and_step(&mut p, &mut g, 10.0)?; // clip ‖g‖ to 10, then Adam
//! }
//! assert!((p[0] - 3.0).abs() < 1e-3 && (p[1] + 1.0).abs() < 1e-3);
//!
//! // Checkpoint the optimizer state and resume elsewhere.
//! let saved = serde_json::to_string(opt.state())?;
//! let mut resumed = opt.config().build::<f64>(2)?;
//! resumed.set_state(serde_json::from_str(&saved)?)?;
//! assert_eq!(resumed.step_count(), 1000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adam;
mod clip;
mod error;
mod optimizer;
mod order;
mod schedule;
mod sgd;
pub mod trainer;

pub use adam::{Adam, AdamConfig, AdamState};
pub use clip::{clip_by_global_norm, global_norm};
pub use error::OptimError;
pub use optimizer::Optimizer;
pub use order::{batches, epoch_order, epoch_rng, shuffle};
pub use schedule::Schedule;
pub use sgd::{Sgd, SgdConfig, SgdState};
pub use trainer::{
    BatchStats, EpochMetrics, Objective, Observer, Parameters, PrintEpochs, TrainError, TrainState,
    Trainer,
};
