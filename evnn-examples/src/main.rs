//! `evnn`: train and evaluate event-based spiking networks with exact
//! gradients; reproduce the Yin–Yang experiment with `evnn train`.

fn main() -> std::process::ExitCode {
    evnn_examples::program::main(evnn_examples::models::Builtin)
}
