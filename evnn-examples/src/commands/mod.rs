//! The subcommands of the `evnn` program, one file each: `train`, `eval`
//! (with `data`, which shares its splits), `simulate` (with `grad`) and
//! `bench`.

mod bench;
mod eval;
mod simulate;
mod train;

pub use bench::BenchArgs;
pub use eval::{DataArgs, EvalArgs};
pub use simulate::{
    GradOutput, InputChannel, InputFile, InputSamples, NeuronStates, SimulateArgs, SimulateOutput,
};
pub use train::{LossArg, Metrics, TrainArgs};

use crate::experiment::{Integrator, TrainConfig};
use crate::models::Models;
use anyhow::{Context, Result};
use bench::run_bench;
use clap::{Subcommand, ValueEnum};
use eval::{run_data, run_eval};
use serde::{Deserialize, Serialize};
use simulate::run_simulate;
use train::run_train;

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train the Yin–Yang experiment (defaults: eventax's QIF 5-20-3 example).
    Train(Box<TrainArgs>),
    /// Accuracy of a saved model on a split: JSON {"accuracy", "n"}.
    Eval(EvalArgs),
    /// Spike times of every neuron of every layer for each input sample (JSON).
    Simulate(SimulateArgs),
    /// Loss and gradient (in the model file's layout) for labelled inputs (JSON).
    Grad(SimulateArgs),
    /// A Yin–Yang split: samples, labels and encoded spike times (JSON).
    Data(DataArgs),
    /// Throughput of the default experiment for 1 thread and all threads (JSON).
    Bench(BenchArgs),
    /// Simulate one LIF and one QIF neuron and print their spike times.
    SimulateNeuron(crate::neuron_demo::NeuronArgs),
}

/// Runs a subcommand with the `evnn` program's models
/// ([`family`](crate::models::family)).
pub fn run(command: Command) -> Result<()> {
    run_with(command, &crate::models::family())
}

/// Runs a subcommand with the neuron models of `models` (the built-in ones
/// and those a program registers; see [`crate::models`]).
pub fn run_with<M: Models>(command: Command, models: &M) -> Result<()> {
    match command {
        Command::Train(a) => run_train(*a, models),
        Command::Eval(a) => run_eval(a, models),
        Command::Simulate(a) => run_simulate(a, false, models),
        Command::Grad(a) => run_simulate(a, true, models),
        Command::Data(a) => run_data(a),
        Command::Bench(a) => run_bench(a, models),
        Command::SimulateNeuron(a) => crate::neuron_demo::run(a),
    }
}

/// A data split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitArg {
    /// 5000 samples, seed 42.
    Train,
    /// 1000 samples, seed 41.
    Validation,
    /// 1000 samples, seed 40.
    Test,
}

/// Runs `f` on a rayon pool of `threads` workers (0 = all cores).
pub(crate) fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    Ok(worker_pool(threads)?.install(f))
}

/// A pool of `threads` workers (0: one per core).
pub(crate) fn worker_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")
}

/// How `evnn eval`, `simulate` and `grad` simulate a model file's network,
/// where it is not the file's way.
#[derive(clap::Args, Debug, Default)]
pub struct RunOptions {
    /// The integrator (default: the model file's, which `evnn train
    /// --integrator` recorded).
    #[arg(long, value_enum)]
    pub integrator: Option<Integrator>,
    /// Simulate each dense layer's neurons together, feed-forward or
    /// recurrent (LIF on the closed form; layers with synaptic delays still
    /// run neuron by neuron), as `evnn train --layer-wide`: the same results
    /// to round-off, faster on wide layers with many input spikes.
    #[arg(long)]
    pub layer_wide: bool,
}

impl RunOptions {
    /// Sets these options in the model file's `config`; errors where they
    /// do not suit its model (errors of the file's own settings are the
    /// file's, reported where it is read).
    fn apply(&self, config: &mut TrainConfig) -> Result<()> {
        if let Some(i) = self.integrator {
            config.integrator = i;
            config.check_integrator()?;
        }
        config.layer_wide = self.layer_wide;
        config.check_layer_wide()
    }
}
