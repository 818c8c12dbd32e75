//! `evnn bench`: throughput of the default experiment, 1 thread against all.

use super::worker_pool;
use crate::experiment::{Delays, Integrator, ModelKind, Splits, TrainConfig, WithNet};
use crate::models::Models;
use anyhow::{bail, Context, Result};
use clap::Args;
use clap::ValueEnum;
use evnn_data::PoissonInput;
use evnn_net::{BatchRunner, Classification, FeedForward, LiReadout, ReadoutParams};
use evnn_net::{
    Distribution, FanInScaling, ForwardTrace, InitConfig, NetworkParams, RecurrentInit, SpikeTrains,
};
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
    /// What to measure: the default experiment (`yinyang`) or a synthetic
    /// workload of the spoken-digit benchmarks' size (`shd`: 700 Poisson
    /// input channels over 1 s, a hidden layer of `--hidden` neurons, 20
    /// outputs; µs per sample of the loss pass and of loss + backward).
    #[arg(long, value_enum, default_value = "yinyang")]
    pub workload: Workload,
    /// Samples per measurement (default: 5000, the default epoch; 32 for
    /// `--workload shd`).
    #[arg(long)]
    pub samples: Option<usize>,
    /// `--workload shd`: hidden layer width.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// `--workload shd`: rate of every input channel, in Hz.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// `--workload shd`: the hidden layer is recurrent (dense, no
    /// self-connections, weights `N(0, 1/hidden)`).
    #[arg(long)]
    pub recurrent: bool,
    /// `--workload shd`: the 20 outputs are leaky-integrator readout
    /// neurons (`evnn_net::LiReadout`, τ_m 20 ms, τ_s 5 ms) scoring each
    /// class by its largest voltage over the run, instead of spiking
    /// neurons read by their first spike; the passes are then the full
    /// forward pass, the readout and (for loss + backward) the backward pass
    /// of every hidden spike.
    #[arg(long)]
    pub readout: bool,
    /// `--workload shd`: trainable transmission delays of every layer,
    /// drawn from `U(0, 2)` ms as `evnn train --delays` draws them.
    #[arg(long, value_enum)]
    pub delays: Option<Delays>,
    /// `--workload shd --recurrent`: the probability that a recurrent
    /// synapse exists, in (0, 1] (default 1).
    #[arg(long, value_name = "P")]
    pub recurrent_density: Option<f64>,
    /// Simulate the dense layers layer-wide, the recurrent hidden layer
    /// too (`evnn_net::FeedForward::with_layer_wide`; `--model lif` on the
    /// closed form), not neuron by neuron.
    #[arg(long)]
    pub layer_wide: bool,
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

/// What `evnn bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// The default experiment (Yin–Yang, 5-20-3): epochs and passes.
    Yinyang,
    /// 700 Poisson channels over 1 s, one hidden layer, 20 outputs.
    Shd,
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
    if args.repeats == 0 {
        bail!("--repeats must be at least 1 (got 0)");
    }
    if args.derived && args.layer_wide {
        bail!("--layer-wide is for the LIF model's closed form, which --derived replaces");
    }
    if args.workload == Workload::Shd {
        return run_shd(args, models);
    }
    for (given, flag) in [
        (args.readout, "--readout"),
        (args.recurrent, "--recurrent"),
        (args.recurrent_density.is_some(), "--recurrent-density"),
        (args.delays.is_some(), "--delays"),
    ] {
        if given {
            bail!("{flag} is an option of --workload shd");
        }
    }
    let config = TrainConfig {
        model: args.model,
        integrator: args.integrator,
        layer_wide: args.layer_wide,
        train_size: args.samples.unwrap_or(5000).clamp(1, 5000),
        ..TrainConfig::default()
    };
    config.check_layer_wide()?;
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
            "layer_wide": config.layer_wide,
            "samples": config.train_size,
            "repeats": args.repeats,
            "runs": runs,
            "speedup_all_threads_vs_1": speedup,
        }))?
    )?;
    Ok(())
}

/// The spoken-digit-sized workload's channels, outputs and window (ms).
const SHD_CHANNELS: usize = 700;
const SHD_OUTPUTS: usize = 20;
const SHD_DURATION: f64 = 1000.0;
const WMEAN: f64 = 0.7;

struct ShdJob<'a> {
    config: &'a TrainConfig,
    inputs: &'a [SpikeTrains],
    labels: &'a [usize],
    pool: &'a rayon::ThreadPool,
    /// The outputs are a leaky-integrator readout of the network's last
    /// layer (the hidden layer).
    readout: bool,
}

/// Readout weights `N(0.5, 1)·4/√hidden`: a positive mean, so that every
/// readout neuron's voltage rises above rest.
fn shd_readout(network: NetworkParams, hidden: usize) -> Result<ReadoutParams> {
    let scale = 4.0 / (hidden as f64).sqrt();
    let w = Distribution::Normal {
        mean: 0.5 * scale,
        std: scale,
    };
    Ok(ReadoutParams::init(network, SHD_OUTPUTS, &w, 0)?)
}

impl WithNet for ShdJob<'_> {
    type Output = serde_json::Value;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<serde_json::Value>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let config = self.config;
        let model = net.models().first().context("a network has layers")?;
        let params = config.init_params_for(model)?;
        let loss = config.ttfs_loss();
        // Spikes per sample of every layer, from full forward passes.
        let mut ws = net.workspace();
        let mut trace = ForwardTrace::default();
        let mut spikes = vec![0usize; config.hidden.len() + 1];
        let t = Instant::now();
        let cpu = thread_cpu_seconds();
        for x in self.inputs {
            net.forward(&params, x, &mut ws, &mut trace)?;
            for (s, layer) in spikes.iter_mut().zip(&trace.layers) {
                *s += layer.outputs.n_spikes();
            }
        }
        let n = self.inputs.len() as f64;
        let full_forward = t.elapsed().as_secs_f64() * 1e6 / n;
        let full_forward_cpu = cpu
            .zip(thread_cpu_seconds())
            .map(|(a, b)| (b - a) * 1e6 / n);
        let runner = BatchRunner::new(net);
        let readout = self
            .readout
            .then(|| shd_readout(params.clone(), *config.sizes().last().unwrap_or(&1)))
            .transpose()?;
        let li = LiReadout::default();
        let (inputs, labels) = (self.inputs, self.labels);
        // The loss pass, then loss + backward, each timed.
        let passes = |with_grad: bool| -> Result<f64> {
            let t = Instant::now();
            match (&readout, with_grad) {
                (Some(p), false) => drop(runner.readout_loss(p, &li, inputs, labels)?),
                (Some(p), true) => drop(runner.readout_loss_and_grad(p, &li, inputs, labels)?),
                (None, false) => drop(runner.loss(&params, inputs, labels, &loss)?),
                (None, true) => drop(runner.loss_and_grad(&params, inputs, labels, &loss)?),
            }
            Ok(t.elapsed().as_secs_f64() * 1e6 / n)
        };
        self.pool.install(|| -> Result<serde_json::Value> {
            passes(false)?;
            let forward = passes(false)?;
            let both = passes(true)?;
            Ok(serde_json::json!({
                "threads": rayon::current_num_threads(),
                "full_forward_us_per_sample": full_forward,
                "full_forward_cpu_us_per_sample": full_forward_cpu,
                "loss_us_per_sample": forward,
                "loss_backward_us_per_sample": both,
                "spikes_per_sample": spikes.iter().map(|&s| s as f64 / n).collect::<Vec<_>>(),
            }))
        })
    }
}

/// The CPU time this thread has run, in seconds, where the system tells it
/// (Linux's `/proc/thread-self/schedstat`); `None` elsewhere. Unlike wall
/// time it does not count the time other programs hold the cores.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// `evnn bench --workload shd`: loss pass and loss + backward of a network
/// of the spoken-digit benchmarks' size on Poisson inputs, at its initial
/// parameters (weights `U(−1, 1)·4/√fan_in`, no bias), 1 thread and all.
fn run_shd<M: Models>(args: BenchArgs, models: &M) -> Result<()> {
    let samples = args.samples.unwrap_or(32);
    if let (Some(p), false) = (args.recurrent_density, args.recurrent) {
        bail!("--recurrent-density {p} is given without --recurrent");
    }
    if samples == 0 || args.hidden == 0 {
        bail!(
            "--samples and --hidden must be at least 1 (got {samples} and {})",
            args.hidden
        );
    }
    let input = PoissonInput {
        channels: SHD_CHANNELS,
        rate_hz: args.rate,
        duration: SHD_DURATION,
    };
    let inputs = (0..samples as u64)
        .map(|i| Ok(SpikeTrains::from_trains(&input.sample(0, i)?)?))
        .collect::<Result<Vec<_>>>()?;
    let labels: Vec<usize> = (0..samples).map(|i| i % SHD_OUTPUTS).collect();
    // With a readout, the hidden layer is the network's last layer.
    let (n_outputs, hidden) = if args.readout {
        (args.hidden, vec![])
    } else {
        (SHD_OUTPUTS, vec![args.hidden])
    };
    let config = TrainConfig {
        model: args.model,
        integrator: args.integrator,
        n_inputs: SHD_CHANNELS,
        n_outputs,
        hidden,
        t_max: SHD_DURATION,
        init: Some(InitConfig {
            wmean: WMEAN,
            wlim: 8.0,
            bmean: 0.0,
            blim: 0.0,
            fan_in: FanInScaling::Sqrt,
        }),
        layer_wide: args.layer_wide,
        delays: args.delays.unwrap_or_default(),
        recurrent: args.recurrent.then(|| RecurrentInit {
            density: args.recurrent_density.unwrap_or(1.0),
            ..RecurrentInit::new(Distribution::Normal {
                mean: 0.0,
                std: 1.0 / (args.hidden as f64).sqrt(),
            })
        }),
        ..TrainConfig::default()
    };
    config.check_layer_wide()?;
    let pools = [worker_pool(1)?, worker_pool(0)?];
    let mut passes: [Vec<serde_json::Value>; 2] = Default::default();
    for _ in 0..args.repeats {
        for (k, pool) in pools.iter().enumerate() {
            let job = ShdJob {
                config: &config,
                inputs: &inputs,
                labels: &labels,
                pool,
                readout: args.readout,
            };
            passes[k].push(if args.derived {
                crate::models::derived_net(&config, job)?
            } else {
                models.with_net(&config, job)?
            });
        }
    }
    let runs: Vec<serde_json::Value> = passes
        .iter()
        .map(|p| {
            let field = |name: &str| -> Vec<f64> {
                p.iter()
                    .map(|r| r[name].as_f64().unwrap_or(f64::NAN))
                    .collect()
            };
            let mut run = serde_json::json!({ "threads": p[0]["threads"] });
            for name in [
                "full_forward_us_per_sample",
                "full_forward_cpu_us_per_sample",
                "loss_us_per_sample",
                "loss_backward_us_per_sample",
            ] {
                run[name] = serde_json::json!(median(field(name)));
                run["each"][name] = serde_json::json!(field(name));
            }
            run
        })
        .collect();
    let n_in: usize = inputs.iter().map(SpikeTrains::n_spikes).sum();
    outln!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "workload": "shd",
            "experiment": format!("{:?} {:?}, integrator {:?}, {} Hz Poisson inputs over {} ms", config.model, config.sizes(), config.integrator, args.rate, SHD_DURATION),
            "recurrent": args.recurrent,
            "delays": config.delays,
            "readout": args.readout.then_some("li_max"),
            "layer_wide": config.layer_wide,
            "recurrent_density": config.recurrent.map(|r| r.density),
            "derived_derivatives": args.derived,
            "samples": samples,
            "repeats": args.repeats,
            "input_spikes_per_sample": n_in as f64 / samples as f64,
            "spikes_per_sample": passes[0][0]["spikes_per_sample"],
            "runs": runs,
        }))?
    )?;
    Ok(())
}
