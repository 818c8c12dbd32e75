//! The `evnn` command-line program's library: the Yin–Yang experiment
//! (configuration, data, training loop), model files, checkpoints, plots,
//! the subcommands, and the registry of neuron models by name through which
//! a user's own program runs the whole `evnn` program with its own models
//! ([`models`], [`program::main`]).

/// `println!` that returns the write's `io::Result` instead of panicking:
/// a closed output pipe (`evnn data | head`) must end the program quietly,
/// which `main` does on the `BrokenPipe` error.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

pub mod checkpoint;
pub mod commands;
pub mod experiment;
pub mod model_file;
pub mod models;
pub mod neuron_demo;
pub mod plots;
pub mod program;
pub mod timing;
