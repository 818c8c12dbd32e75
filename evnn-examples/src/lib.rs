//! The `evnn` command-line program's library: the Yin–Yang experiment
//! (configuration, data, training loop), model files, checkpoints, plots and
//! the subcommands.

pub mod checkpoint;
pub mod commands;
pub mod experiment;
pub mod model_file;
pub mod neuron_demo;
pub mod plots;
