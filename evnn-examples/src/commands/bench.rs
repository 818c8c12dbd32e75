//! `evnn bench`: throughput of the default experiment, 1 thread against all.

use super::worker_pool;
use crate::experiment::{Integrator, ModelKind, Splits, TrainConfig, WithNet};
use crate::models::Models;
use anyhow::{bail, Context, Result};
use clap::Args;
use evnn_net::{BatchRunner, Classification, FeedForward};
use evnn_neurons::NeuronModel;
use evnn_optim::Trainer;
use evnn_solver::{Adjoint, Backend};
use std::time::Instant;

/// Options of `evnn bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Neuron model: qif, lif, or a model registered by the program.
    #[arg(long, default_value = "qif")]
    pub model: ModelKind,
    /// Training samples per measurement (the default epoch has 5000).
    #[arg(long, default_value_t = 5000)]
    pub samples: usize,
    /// Integrator backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub integrator: Integrator,
    /// Measurements per thread count, alternating between one thread and
    /// all threads; each figure reported is the median (the machines are
    /// shared and noisy: a single pass may land in a fast or slow stretch).
    /// Each measurement starts with an untimed loss pass.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// The built-in model with every derivative derived by dual numbers
    /// instead of its hand-written ones, on a generic integrator (`auto`
    /// is dopri5).
    #[arg(long)]
    pub derived: bool,
}

/// The median of `v` (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

struct BenchJob<'a> {
    config: &'a TrainConfig,
    splits: &'a Splits,
    pool: &'a rayon::ThreadPool,
}

impl WithNet for BenchJob<'_> {
    type Output = serde_json::Value;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<serde_json::Value>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let config = self.config;
        let train = &self.splits.train;
        let model = net.models().first().context("a network has layers")?;
        let params = config.init_params_for(model)?;
        let loss = config.ttfs_loss();
        let runner = BatchRunner::new(net);
        self.pool.install(|| -> Result<serde_json::Value> {
            // An untimed pass first, which grows the workers' buffers and
            // settles the pool's threads, so that the timed passes measure
            // the steady state a real run sees (one pool for its whole
            // length), not a fresh pool's start-up (BENCHMARKS.md).
            runner.loss(&params, &train.inputs, &train.labels, &loss)?;
            let t = Instant::now();
            runner.loss(&params, &train.inputs, &train.labels, &loss)?;
            let forward = train.inputs.len() as f64 / t.elapsed().as_secs_f64();
            let t = Instant::now();
            runner.predict(&params, &train.inputs)?;
            let predict = train.inputs.len() as f64 / t.elapsed().as_secs_f64();
            // One epoch of the program's training (the library trainer, as
            // `evnn train` runs it, without validation).
            let mut task = Classification::new(&runner, &train.inputs, &train.labels, loss)?;
            let adam = config.adam_config().build::<f64>(params.len())?;
            let trainer = Trainer::new(1, config.batch_size, config.seed)?;
            let t = Instant::now();
            trainer.fit(&mut task, params, adam, &mut ())?;
            let secs = t.elapsed().as_secs_f64();
            Ok(serde_json::json!({
                "threads": rayon::current_num_threads(),
                "forward_samples_per_s": forward,
                "predict_samples_per_s": predict,
                "train_samples_per_s": train.inputs.len() as f64 / secs,
                "seconds_per_epoch": secs * 5000.0 / train.inputs.len() as f64,
            }))
        })
    }
}

pub(super) fn run_bench<M: Models>(args: BenchArgs, models: &M) -> Result<()> {
    let config = TrainConfig {
        model: args.model,
        integrator: args.integrator,
        train_size: args.samples.clamp(1, 5000),
        ..TrainConfig::default()
    };
    if args.repeats == 0 {
        bail!("--repeats must be at least 1 (got 0)");
    }
    let splits = Splits::load(&config)?;
    // Alternating, so that a fast or slow stretch of the machine falls on
    // both thread counts; each count's pool is built once, as in a real run.
    let pools = [worker_pool(1)?, worker_pool(0)?];
    let counts = pools.each_ref().map(rayon::ThreadPool::current_num_threads);
    let mut passes: [Vec<serde_json::Value>; 2] = Default::default();
    for _ in 0..args.repeats {
        for (k, pool) in pools.iter().enumerate() {
            let job = BenchJob {
                config: &config,
                splits: &splits,
                pool,
            };
            passes[k].push(if args.derived {
                crate::models::derived_net(&config, job)?
            } else {
                models.with_net(&config, job)?
            });
        }
    }
    let field = |k: usize, name: &str| -> Vec<f64> {
        passes[k]
            .iter()
            .map(|r| r[name].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let names = [
        "seconds_per_epoch",
        "forward_samples_per_s",
        "predict_samples_per_s",
        "train_samples_per_s",
    ];
    let runs: Vec<serde_json::Value> = counts
        .iter()
        .enumerate()
        .map(|(k, &threads)| {
            let mut run = serde_json::json!({ "threads": threads });
            for name in names {
                run[name] = serde_json::json!(median(field(k, name)));
                run["each"][name] = serde_json::json!(field(k, name));
            }
            run
        })
        .collect();
    let speedup = runs[0]["seconds_per_epoch"].as_f64().unwrap_or(f64::NAN)
        / runs[1]["seconds_per_epoch"].as_f64().unwrap_or(f64::NAN);
    outln!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "experiment": format!("{:?} {:?}, batch {}, integrator {:?}", config.model, config.sizes(), config.batch_size, config.integrator),
            "derived_derivatives": args.derived,
            "samples": config.train_size,
            "repeats": args.repeats,
            "runs": runs,
            "speedup_all_threads_vs_1": speedup,
        }))?
    )?;
    Ok(())
}
