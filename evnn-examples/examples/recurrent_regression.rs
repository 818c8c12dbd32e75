//! eventax's regression notebook with evnn: a recurrent layer of 20 QIF
//! neurons (all-to-all, no self-connections) and one QIF output neuron
//! learn to fire their first output spike at `y = 5·sin(2πx/10) + x + 30`
//! ms for an input of two spikes, at 0 and at `x ~ U(0, 30)`. Loss: the
//! mean-squared error of `min(t, 80)/80` against `y/80` (`SpikeTimeMse`),
//! `T = 80` ms, Adam at learning rate 0.1 with batches of 64. The same
//! network without its recurrent connections is trained beside it.
//!
//! `cargo run --release -p evnn-examples --example recurrent_regression`
//! (`-- EPOCHS` to change the default of 100 epochs).

use evnn_net::{
    BatchRunner, Distribution, FeedForward, InitConfig, NetworkParams, RecurrentInit, Regression,
    SpikeTimeMse, SpikeTrains,
};
use evnn_neurons::Qif;
use evnn_optim::{AdamConfig, Trainer};
use evnn_solver::{QifSeries, SolverOptions};

const T_MAX: f64 = 80.0;

fn target(x: f64) -> f64 {
    5.0 * (2.0 * std::f64::consts::PI * x / 10.0).sin() + x + 30.0
}

/// A uniform draw in `[0, 1)` from a SplitMix64 state.
fn uniform(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / 2f64.powi(64)
}

/// `n` samples: inputs (spikes at 0 and x) and targets.
fn samples(n: usize, seed: u64) -> Result<(Vec<SpikeTrains>, Vec<Vec<f64>>), evnn_net::NetError> {
    let mut state = seed;
    let xs: Vec<f64> = (0..n).map(|_| 30.0 * uniform(&mut state)).collect();
    let inputs = xs
        .iter()
        .map(|&x| SpikeTrains::from_times(&[0.0, x]))
        .collect::<Result<_, _>>()?;
    Ok((inputs, xs.iter().map(|&x| vec![target(x)]).collect()))
}

/// Root-mean-squared error (ms) of the first output spikes, a silent
/// output counting as `T_MAX`.
fn rmse(
    runner: &BatchRunner<Qif, QifSeries>,
    params: &NetworkParams,
    inputs: &[SpikeTrains],
    targets: &[Vec<f64>],
    mse: &SpikeTimeMse,
) -> Result<f64, evnn_net::NetError> {
    let first = runner.loss(params, inputs, targets, mse)?.first_spikes;
    let sum: f64 = first
        .iter()
        .zip(targets)
        .map(|(t, y)| (t[0].min(T_MAX) - y[0]).powi(2))
        .sum();
    Ok((sum / inputs.len() as f64).sqrt())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args().nth(1).map_or(Ok(100), |a| a.parse())?;
    let (train_x, train_y) = samples(1024, 1)?;
    let (test_x, test_y) = samples(512, 2)?;
    let sizes = [2, 20, 1];
    let net = FeedForward::new(
        Qif::default(),
        &sizes,
        QifSeries,
        SolverOptions::default(),
        T_MAX,
    )?;
    let runner = BatchRunner::new(net);
    let mse = SpikeTimeMse::new(T_MAX, 1.0)?;
    let init = InitConfig {
        wmean: 4.0,
        wlim: 8.0,
        bmean: 0.0,
        blim: 0.2,
        ..InitConfig::default()
    };
    let feed_forward = runner.net().init_params(&init, 0)?;
    let recurrent = RecurrentInit::new(Distribution::Normal {
        mean: 0.0,
        std: 1.0,
    });
    let with_recurrence = feed_forward.clone().with_recurrent(&[0], &recurrent, 0)?;
    for (name, params) in [
        ("recurrent", with_recurrence),
        ("feed-forward", feed_forward),
    ] {
        let before = rmse(&runner, &params, &test_x, &test_y, &mse)?;
        let mut task = Regression::new(&runner, &train_x, &train_y, mse)?;
        let adam = AdamConfig::default()
            .with_learning_rate(0.1)
            .build(params.len())?;
        let start = std::time::Instant::now();
        let state = Trainer::new(epochs, 64, 0)?.fit(&mut task, params, adam, &mut ())?;
        let after = rmse(&runner, &state.params, &test_x, &test_y, &mse)?;
        println!(
            "{name:>12}: test RMSE {before:.2} ms before, {after:.2} ms after {epochs} epochs ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
