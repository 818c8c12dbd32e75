//! The Yin–Yang experiment as a library call: the README's "Training from
//! Rust" code (also `evnn-net`'s doc-tested quick start) with the full 100
//! epochs. `cargo run --release -p evnn-examples --example library_training`

use evnn_data::{EncodingConfig, YinYang};
use evnn_net::{BatchRunner, Classification, FeedForward, InitConfig, SpikeTrains, TtfsLoss};
use evnn_neurons::Qif;
use evnn_optim::{AdamConfig, Trainer};
use evnn_solver::{QifSeries, SolverOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = 100;
    let t0 = std::time::Instant::now();
    let encoder = EncodingConfig::default().build()?;
    let (train, test) = (YinYang::train()?, YinYang::test()?);
    let x_train = SpikeTrains::from_rows(&encoder.encode_all(&train)?)?;
    let x_test = SpikeTrains::from_rows(&encoder.encode_all(&test)?)?;
    let (qif, series) = (Qif::default(), QifSeries);
    let net = FeedForward::new(qif, &[5, 20, 3], series, SolverOptions::default(), 30.0)?;
    let params = net.init_params(&InitConfig::default(), 0)?;
    let runner = BatchRunner::new(net);
    let mut task = Classification::new(&runner, &x_train, train.labels(), TtfsLoss::default())?;
    let adam = AdamConfig::default().with_learning_rate(0.05);
    let adam = adam.build(params.len())?;
    let state = Trainer::new(epochs, 256, 0)?.fit(&mut task, params, adam, &mut ())?;
    let accuracy = runner.accuracy(&state.params, &x_test, test.labels())?;
    println!("test accuracy {:.1} %", 100.0 * accuracy);
    println!(
        "({epochs} epochs, final train loss {:.4}, {:.1} s)",
        state.epochs.last().map_or(f64::NAN, |m| m.train_loss),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
