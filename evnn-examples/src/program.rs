//! The `evnn` program's entry point, for the `evnn` binary and for a user's
//! own program that registers its neuron models ([`crate::models`]).

use crate::commands::{run_with, Command};
use crate::models::Models;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "evnn",
    version,
    about = "Event-based spiking networks with exact gradients"
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Parses the process's arguments and runs the subcommand with `models`.
/// A bad argument or a failed command prints one line, `error: ...`, and
/// gives exit status 2; a closed output pipe ends it quietly (status 0).
pub fn main<M: Models>(models: M) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line: clap's first line (it already starts with "error: ").
            let text = e.render().to_string();
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    match run_with(cli.command, &models) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed output pipe (`evnn data | head`) ends the program
            // quietly and successfully, as other command-line tools do: the
            // reader has what it wanted.
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            // One line, no backtrace: the chain of causes joined (and nothing,
            // rather than a panic, where standard error is closed too).
            let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            let _ = writeln!(std::io::stderr(), "error: {}", msg.join(": "));
            ExitCode::from(2)
        }
    }
}
