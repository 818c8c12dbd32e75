//! The interval task (`evnn_data::IntervalTask`: two cues 40–60 ms or
//! 90–110 ms apart at a random onset) read out by leaky integrators: a
//! feed-forward LIF network without delays or recurrence, its hidden
//! spikes scored by each readout neuron's largest voltage over the run
//! (`LiReadout`), trained with the exact gradient of the scores'
//! cross-entropy. A readout membrane of 20 ms forgets the start cue before
//! the end cue arrives; one of 100 ms holds it, and the two cues' summed
//! responses tell the intervals apart.
//!
//! `cargo run --release -p evnn-examples --example readout_intervals`
//! (`-- --recurrent` adds the 20 ms readout on a recurrent hidden layer,
//! recurrent weights `N(0, 0.5²)` without self-connections: slower, as the
//! hidden activity grows while it trains; `-- --score mean` scores each
//! class by its readout neuron's mean voltage instead, `ReadoutScore::Mean`).

use evnn_data::{IntervalTask, SpikeSplit};
use evnn_net::{
    BatchRunner, Distribution, FeedForward, InitConfig, LiReadout, NetError, ReadoutClassification,
    ReadoutParams, ReadoutScore, RecurrentInit, SpikeTrains,
};
use evnn_neurons::Lif;
use evnn_optim::{AdamConfig, Trainer};
use evnn_solver::{ClosedForm, SolverOptions};

fn trains(split: &SpikeSplit) -> Result<Vec<SpikeTrains>, NetError> {
    split
        .inputs
        .iter()
        .map(|x| SpikeTrains::from_trains(x))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (epochs, seeds) = (30, 3);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_recurrent = args.iter().any(|a| a == "--recurrent");
    let score = match args.iter().position(|a| a == "--score") {
        None => ReadoutScore::Max,
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some("max") => ReadoutScore::Max,
            Some("mean") => ReadoutScore::Mean,
            other => return Err(format!("--score takes max or mean, not {other:?}").into()),
        },
    };
    let data = IntervalTask::default().generate()?;
    let (x_train, x_val, x_test) = (
        trains(&data.train)?,
        trains(&data.validation)?,
        trains(&data.test)?,
    );
    // LIF 3-40 with the task's time constants; weights U(4, 12), strong
    // enough that every cue makes hidden spikes.
    let lif = Lif::new(10.0, 2.5, 1.0, 0.0)?;
    let net = FeedForward::new(lif, &[3, 40], ClosedForm, SolverOptions::default(), 250.0)?;
    let init = InitConfig {
        wmean: 8.0,
        wlim: 8.0,
        bmean: 0.0,
        blim: 0.0,
        ..InitConfig::default()
    };
    let runner = BatchRunner::new(net);
    let recurrent = RecurrentInit {
        weights: Distribution::Normal {
            mean: 0.0,
            std: 0.5,
        },
        self_connections: false,
        density: 1.0,
    };
    let mut runs = vec![(20.0, 5.0, false), (100.0, 25.0, false)];
    if with_recurrent {
        runs.push((20.0, 5.0, true));
    }
    println!("score: {score:?}");
    println!("hidden layer | readout tau_mem | tau_syn | seed | test accuracy | seconds");
    for (tau_mem, tau_syn, is_recurrent) in runs {
        let hidden = if is_recurrent {
            "recurrent"
        } else {
            "feed-forward"
        };
        let readout = LiReadout::new(tau_mem, tau_syn)?.with_score(score);
        let mut sum = 0.0;
        for seed in 0..seeds {
            let t0 = std::time::Instant::now();
            let mut network = runner.net().init_params(&init, seed)?;
            if is_recurrent {
                network = network.with_recurrent(&[0], &recurrent, seed)?;
            }
            let w = Distribution::Normal {
                mean: 0.5,
                std: 1.0,
            };
            let params = ReadoutParams::init(network, 2, &w, seed)?;
            let mut task =
                ReadoutClassification::new(&runner, &x_train, &data.train.labels, readout)?
                    .with_validation(&x_val, &data.validation.labels)?;
            let adam = AdamConfig::default().with_learning_rate(5e-3);
            let adam = adam.build(params.len())?;
            let state = Trainer::new(epochs, 32, seed)?.fit(&mut task, params, adam, &mut ())?;
            let test =
                runner.readout_loss(&state.best_params, &readout, &x_test, &data.test.labels)?;
            sum += test.accuracy();
            println!(
                "{hidden:>12} | {tau_mem:>15} | {tau_syn:>7} | {seed:>4} | {:>11.1} % | {:.1}",
                100.0 * test.accuracy(),
                t0.elapsed().as_secs_f64()
            );
        }
        println!(
            "{hidden}, readout tau_mem {tau_mem}: mean test accuracy {:.1} % over {seeds} seeds",
            100.0 * sum / seeds as f64
        );
    }
    Ok(())
}
