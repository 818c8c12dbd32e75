//! `evnn`: train and evaluate event-based spiking networks with exact
//! gradients; reproduce the Yin–Yang experiment with `evnn train`.

use clap::Parser;
use evnn_examples::commands::{run, Command};

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
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cli.command) {
        // One line, no backtrace: the chain of causes joined.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", msg.join(": "));
        std::process::exit(2);
    }
}
