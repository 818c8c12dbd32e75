//! `evnn`: train and evaluate event-based spiking networks with exact
//! gradients; reproduce the Yin–Yang experiment with `evnn train`.

use clap::Parser;
use evnn_examples::commands::{run, Command};
use std::io::Write;

#[derive(Parser, Debug)]
#[command(
    name = "evnn",
    version,
    about = "Event-based spiking networks with exact gradients"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() {
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
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cli.command) {
        // A closed output pipe (`evnn data | head`) ends the program
        // quietly and successfully, as other command-line tools do: the
        // reader has what it wanted.
        let broken_pipe = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if broken_pipe {
            std::process::exit(0);
        }
        // One line, no backtrace: the chain of causes joined (and nothing,
        // rather than a panic, where standard error is closed too).
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        let _ = writeln!(std::io::stderr(), "error: {}", msg.join(": "));
        std::process::exit(2);
    }
}
