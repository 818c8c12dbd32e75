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
    let cli = Cli::parse();
    if let Err(e) = run(cli.command) {
        // One line, no backtrace: the chain of causes joined.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", msg.join(": "));
        std::process::exit(2);
    }
}
