//! The subcommands of the `evnn` program.

use crate::checkpoint::{self, Checkpoint};
use crate::experiment::{
    accuracy, encode, start, train_from, EncodedSplit, EpochMetrics, Integrator, ModelKind, Splits,
    TrainConfig, TrainOutcome, TrainState, WithNet,
};
use crate::model_file::{write_atomic, ModelFile};
use crate::models::Models;
use crate::plots;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use evnn_data::YinYang;
use evnn_net::{
    BatchRunner, Classification, FeedForward, ForwardTrace, LossKind, NetworkParams, SpikeTrains,
};
use evnn_neurons::NeuronModel;
use evnn_optim::{Adam, Trainer};
use evnn_solver::{Adjoint, Backend};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train the Yin–Yang experiment (defaults: eventax's QIF 5-20-3 example).
    Train(Box<TrainArgs>),
    /// Accuracy of a saved model on a split: JSON {"accuracy", "n"}.
    Eval(EvalArgs),
    /// Spike times of every neuron of every layer for each input sample (JSON).
    Simulate(SimulateArgs),
    /// Loss and gradient (in the model file's layout) for labelled inputs (JSON).
    Grad(SimulateArgs),
    /// A Yin–Yang split: samples, labels and encoded spike times (JSON).
    Data(DataArgs),
    /// Throughput of the default experiment for 1 thread and all threads (JSON).
    Bench(BenchArgs),
    /// Simulate one LIF and one QIF neuron and print their spike times.
    SimulateNeuron(crate::neuron_demo::NeuronArgs),
}

/// Runs a subcommand with the `evnn` program's models
/// ([`family`](crate::models::family)).
pub fn run(command: Command) -> Result<()> {
    run_with(command, &crate::models::family())
}

/// Runs a subcommand with the neuron models of `models` (the built-in ones
/// and those a program registers; see [`crate::models`]).
pub fn run_with<M: Models>(command: Command, models: &M) -> Result<()> {
    match command {
        Command::Train(a) => run_train(*a, models),
        Command::Eval(a) => run_eval(a, models),
        Command::Simulate(a) => run_simulate(a, false, models),
        Command::Grad(a) => run_simulate(a, true, models),
        Command::Data(a) => run_data(a),
        Command::Bench(a) => run_bench(a, models),
        Command::SimulateNeuron(a) => crate::neuron_demo::run(a),
    }
}

/// A data split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitArg {
    /// 5000 samples, seed 42.
    Train,
    /// 1000 samples, seed 41.
    Validation,
    /// 1000 samples, seed 40.
    Test,
}

/// Options of `evnn train`; every flag overrides the config file.
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// JSON config file (the fields of `metrics.json`'s "config"); unknown fields are an error.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Neuron model: qif, lif, or a model registered by the program.
    #[arg(long)]
    pub model: Option<ModelKind>,
    /// Constants of a registered model, a JSON object of its fields
    /// (for example '{"tau_m": 20.0}'); missing ones take the model's defaults
    /// where it has them.
    #[arg(long, value_parser = parse_constants)]
    pub constants: Option<serde_json::Map<String, serde_json::Value>>,
    /// Hidden layer widths, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Training epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples per batch.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Loss form.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Seed of initialisation and shuffling.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Integrator backend (auto: series for QIF, closed form for LIF).
    #[arg(long, value_enum)]
    pub integrator: Option<Integrator>,
    /// Train on a labelled spike data file instead of Yin–Yang: JSON or
    /// numpy .npz with train/validation/test splits (README, "Your own
    /// data"); its channels and classes set the input and output widths, and
    /// all its samples are used unless the sizes are given.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Use only the first N training samples.
    #[arg(long)]
    pub train_size: Option<usize>,
    /// Use only the first N validation samples.
    #[arg(long)]
    pub val_size: Option<usize>,
    /// Use only the first N test samples.
    #[arg(long)]
    pub test_size: Option<usize>,
    /// Output directory (default `runs/yinyang-<seed>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the PNG plots.
    #[arg(long)]
    pub no_plots: bool,
    /// Continue the run in DIR from its `checkpoint.json` (written after
    /// every epoch), with the run's own configuration; only --epochs (to
    /// train longer), --threads and --no-plots may be given with it. The
    /// result is bit-identical to an uninterrupted run.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

/// Loss form on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LossArg {
    /// EventProp's TTFS cross-entropy (default).
    Eventprop,
    /// eventax's form (regulariser inside the log).
    Eventax,
}

impl LossArg {
    /// The library's loss form.
    pub fn kind(self) -> LossKind {
        match self {
            LossArg::Eventprop => LossKind::EventProp,
            LossArg::Eventax => LossKind::Eventax,
        }
    }
}

impl TrainArgs {
    /// The flags that set the configuration, by name, when given.
    fn config_flags(&self) -> Vec<&'static str> {
        let given = [
            ("--config", self.config.is_some()),
            ("--model", self.model.is_some()),
            ("--constants", self.constants.is_some()),
            ("--hidden", self.hidden.is_some()),
            ("--batch-size", self.batch_size.is_some()),
            ("--lr", self.lr.is_some()),
            ("--loss", self.loss.is_some()),
            ("--seed", self.seed.is_some()),
            ("--integrator", self.integrator.is_some()),
            ("--data", self.data.is_some()),
            ("--train-size", self.train_size.is_some()),
            ("--val-size", self.val_size.is_some()),
            ("--test-size", self.test_size.is_some()),
            ("--out", self.out.is_some()),
        ];
        given.iter().filter(|g| g.1).map(|g| g.0).collect()
    }

    /// The checkpoint to resume and its configuration, with --epochs and
    /// --threads applied.
    pub fn resume_from(&self, dir: &Path) -> Result<(TrainConfig, TrainState)> {
        if let Some(flag) = self.config_flags().first() {
            bail!(
                "{flag} cannot be combined with --resume: the run's configuration comes from {}",
                dir.join(checkpoint::FILE_NAME).display()
            );
        }
        let ckpt = Checkpoint::load(&dir.join(checkpoint::FILE_NAME))?;
        let mut config = ckpt.config;
        if let Some(e) = self.epochs {
            if e < ckpt.state.epochs_done() {
                bail!(
                    "--epochs {e} is less than the {} epochs the checkpoint has finished",
                    ckpt.state.epochs_done()
                );
            }
            config.epochs = e;
        }
        if let Some(t) = self.threads {
            config.threads = t;
        }
        config.validate()?;
        Ok((config, ckpt.state))
    }

    /// The effective configuration: defaults, then the file, then the flags.
    /// With a data file, its channels and classes set `n_inputs` and
    /// `n_outputs`, and its split sizes every size that neither the config
    /// file nor a flag sets.
    pub fn config(&self) -> Result<TrainConfig> {
        let mut in_file = serde_json::Map::new();
        let mut c = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) {
                    in_file = map;
                }
                serde_json::from_str(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => TrainConfig::default(),
        };
        if let Some(v) = &self.data {
            c.data = Some(v.clone());
        }
        if let Some(path) = &c.data {
            let data = evnn_data::SpikeData::load(path)?;
            c.n_inputs = data.n_channels();
            c.n_outputs = data.n_classes();
            for (key, size, n) in [
                ("train_size", &mut c.train_size, data.train.len()),
                ("val_size", &mut c.val_size, data.validation.len()),
                ("test_size", &mut c.test_size, data.test.len()),
            ] {
                if !in_file.contains_key(key) {
                    *size = n;
                }
            }
        }
        if let Some(v) = &self.model {
            c.model = v.clone();
        }
        if let Some(v) = &self.constants {
            c.constants = v.clone();
        }
        if let Some(v) = &self.hidden {
            c.hidden = v.clone();
        }
        if let Some(v) = self.epochs {
            c.epochs = v;
        }
        if let Some(v) = self.batch_size {
            c.batch_size = v;
        }
        if let Some(v) = self.lr {
            c.lr = v;
        }
        if let Some(v) = self.loss {
            c.loss = v.kind();
        }
        if let Some(v) = self.seed {
            c.seed = v;
        }
        if let Some(v) = self.threads {
            c.threads = v;
        }
        if let Some(v) = self.integrator {
            c.integrator = v;
        }
        if let Some(v) = self.train_size {
            c.train_size = v;
        }
        if let Some(v) = self.val_size {
            c.val_size = v;
        }
        if let Some(v) = self.test_size {
            c.test_size = v;
        }
        c.validate()?;
        Ok(c)
    }
}

/// A JSON object on the command line.
fn parse_constants(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("expected a JSON object, got {other}")),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// Runs `f` on a rayon pool of `threads` workers (0 = all cores).
fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T> {
    Ok(worker_pool(threads)?.install(f))
}

/// A pool of `threads` workers (0: one per core).
fn worker_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")
}

/// `metrics.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Metrics {
    /// The effective configuration.
    pub config: TrainConfig,
    /// Per-epoch metrics.
    pub epochs: Vec<EpochMetrics>,
    /// Best validation accuracy (the saved model's).
    pub best_val_acc: f64,
    /// Epoch of the saved model (0: initial parameters).
    pub best_epoch: usize,
    /// Test accuracy of the saved model, evaluated once at the end.
    pub test_acc: f64,
    /// Seconds of the training loop.
    pub train_seconds: f64,
}

struct Progress {
    /// The run's configuration, saved with every checkpoint.
    config: TrainConfig,
    bar: Option<indicatif::ProgressBar>,
    epochs: usize,
    checkpoint: PathBuf,
    /// Writing an epoch's line failed; reported by the next checkpoint.
    write_error: Option<std::io::Error>,
}

impl evnn_optim::Observer<NetworkParams, Adam<f64>> for Progress {
    fn batch(&mut self, epoch: usize, done: usize, total: usize, running_loss: f64) {
        if let Some(bar) = &self.bar {
            if done == 1 {
                bar.reset();
                bar.set_length(total as u64);
                bar.set_prefix(format!("epoch {epoch}/{}", self.epochs));
            }
            bar.set_position(done as u64);
            bar.set_message(format!("loss {running_loss:.4}"));
        }
    }
    fn epoch(&mut self, m: &EpochMetrics) {
        let line = format!(
            "epoch {:>3}  train loss {:.4}  train acc {:.2}%  val acc {:.2}%  {:.2} s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_score,
            100.0 * m.val_score.unwrap_or(f64::NAN),
            m.seconds
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                if let Err(e) = outln!("{line}") {
                    self.write_error.get_or_insert(e);
                }
            }
        }
    }
    fn checkpoint(
        &mut self,
        state: &TrainState,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Checkpoint::new(&self.config, state).save(&self.checkpoint)?;
        // The epoch's line could not be written (a closed pipe): training
        // stops here, with the checkpoint saved to resume from.
        match self.write_error.take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

struct TrainJob<'a> {
    config: &'a TrainConfig,
    splits: &'a Splits,
    resume: Option<TrainState>,
    observer: &'a mut Progress,
}

impl WithNet for TrainJob<'_> {
    type Output = (TrainOutcome, Vec<Option<usize>>, Vec<Vec<f64>>);
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<Self::Output>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let runner = BatchRunner::new(net);
        let state = match self.resume {
            Some(s) => s,
            None => start(&runner, self.config, self.splits)?,
        };
        let outcome = train_from(&runner, self.config, self.splits, state, self.observer)?;
        let test = &self.splits.test;
        let r = runner.loss(
            &outcome.params,
            &test.inputs,
            &test.labels,
            &self.config.ttfs_loss(),
        )?;
        let predicted = r
            .first_spikes
            .iter()
            .map(|t| evnn_net::predict(t))
            .collect();
        Ok((outcome, predicted, r.first_spikes))
    }
}

/// Checks early that `dir` can be created and written.
fn prepare_out_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory {}", dir.display()))?;
    let probe = dir.join(".evnn-write-test");
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("output directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn run_train<M: Models>(args: TrainArgs, models: &M) -> Result<()> {
    let (config, resume, out) = match &args.resume {
        Some(dir) => {
            let (config, state) = args.resume_from(dir)?;
            (config, Some(state), dir.clone())
        }
        None => {
            let config = args.config()?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("runs/yinyang-{}", config.seed)));
            (config, None, out)
        }
    };
    let config = models.resolve(&config)?;
    prepare_out_dir(&out)?;
    let splits = Splits::load(&config)?;
    let bar = std::io::stdout().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(1);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} batches {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let mut progress = Progress {
        config: config.clone(),
        bar,
        epochs: config.epochs,
        checkpoint: out.join(checkpoint::FILE_NAME),
        write_error: None,
    };
    if let Some(state) = &resume {
        outln!(
            "resuming {} after epoch {}",
            out.display(),
            state.epochs_done()
        )?;
    }
    outln!(
        "training {} {:?} for {} epochs (batch {}, lr {}, seed {}) on {} samples",
        config.model,
        config.sizes(),
        config.epochs,
        config.batch_size,
        config.lr,
        config.seed,
        splits.train.inputs.len()
    )?;
    let (outcome, predicted, first_spikes) = in_pool(config.threads, || {
        models.with_net(
            &config,
            TrainJob {
                config: &config,
                splits: &splits,
                resume,
                observer: &mut progress,
            },
        )
    })??;
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let metrics = Metrics {
        config: config.clone(),
        epochs: outcome.epochs.clone(),
        best_val_acc: outcome.best_val_acc,
        best_epoch: outcome.best_epoch,
        test_acc: outcome.test_acc,
        train_seconds: outcome.train_seconds,
    };
    write_atomic(
        &out.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?.as_bytes(),
    )
    .with_context(|| format!("cannot write {}", out.join("metrics.json").display()))?;
    ModelFile::new(&config, &outcome.params).save(&out.join("model.json"))?;
    if !args.no_plots {
        plots::curves(&out.join("curves.png"), &outcome.epochs)?;
        // The decision map needs the samples' (x, y): Yin–Yang's.
        if let Some(data) = &splits.test.data {
            let xy: Vec<(f64, f64)> = data.iter().map(|(f, _)| (f[0], f[1])).collect();
            plots::decision_map(
                &out.join("decision.png"),
                &xy,
                &splits.test.labels,
                &predicted,
            )?;
        }
        let k = first_spikes.len().min(12);
        plots::output_spikes(
            &out.join("spikes.png"),
            &first_spikes[..k],
            &splits.test.labels[..k],
            config.t_max,
        )?;
    }
    outln!(
        "best validation accuracy {:.2}% (epoch {}), test accuracy {:.2}%, {:.1} s; results in {}",
        100.0 * outcome.best_val_acc,
        outcome.best_epoch,
        100.0 * outcome.test_acc,
        outcome.train_seconds,
        out.display()
    )?;
    Ok(())
}

/// Options of `evnn eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model file written by `evnn train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Which split.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Evaluate on this labelled spike data file (JSON or .npz) instead of
    /// Yin–Yang.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// A whole split of a labelled spike data file for `config`'s network.
fn load_data_split(path: &Path, split: SplitArg, config: &TrainConfig) -> Result<EncodedSplit> {
    let data = evnn_data::SpikeData::load(path)?;
    let config = TrainConfig {
        data: Some(path.to_path_buf()),
        train_size: data.train.len(),
        val_size: data.validation.len(),
        test_size: data.test.len(),
        ..config.clone()
    };
    let splits = Splits::load(&config)?;
    Ok(match split {
        SplitArg::Train => splits.train,
        SplitArg::Validation => splits.validation,
        SplitArg::Test => splits.test,
    })
}

fn load_split(split: SplitArg, t_max: f64) -> Result<EncodedSplit> {
    let data = match split {
        SplitArg::Train => YinYang::train()?,
        SplitArg::Validation => YinYang::validation()?,
        SplitArg::Test => YinYang::test()?,
    };
    let n = data.len();
    encode(data, n, t_max)
}

struct EvalJob<'a> {
    params: &'a NetworkParams,
    split: &'a EncodedSplit,
}

impl WithNet for EvalJob<'_> {
    type Output = f64;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<f64>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        accuracy(&BatchRunner::new(net), self.params, self.split)
    }
}

fn run_eval<M: Models>(args: EvalArgs, models: &M) -> Result<()> {
    let file = ModelFile::load(&args.model)?;
    let config = file.config();
    let params = file.params();
    let split = match &args.data {
        Some(path) => load_data_split(path, args.split, &config)?,
        None if (config.n_inputs, config.n_outputs) != (5, 3) => bail!(
            "the model has {} inputs and {} outputs, Yin–Yang 5 and 3: give its data with --data FILE",
            config.n_inputs,
            config.n_outputs
        ),
        None => load_split(args.split, config.t_max)?,
    };
    let acc = in_pool(args.threads, || {
        models.with_net(
            &config,
            EvalJob {
                params: &params,
                split: &split,
            },
        )
    })??;
    outln!(
        "{}",
        serde_json::json!({"accuracy": acc, "n": split.labels.len()})
    )?;
    Ok(())
}

/// Options of `evnn simulate` and `evnn grad`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Model file written by `evnn train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Input file: {"inputs": [[t_0, ..., t_4], ...], "labels": [...]}; a
    /// channel may be a list of spike times (labels needed by `grad`).
    #[arg(long)]
    pub input: PathBuf,
    /// The loss of `grad` (default: eventprop).
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
}

/// The input file of `simulate` and `grad`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// Per sample, per input channel: one spike time, or a list of them
    /// (sorted; empty for a silent channel).
    pub inputs: Vec<Vec<InputChannel>>,
    /// Class labels (required by `grad`).
    #[serde(default)]
    pub labels: Option<Vec<usize>>,
}

/// One input channel of a sample in an input file: `7.5` or `[1.0, 7.5]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputChannel {
    /// One spike.
    One(f64),
    /// Any number of spikes, sorted.
    Many(Vec<f64>),
}

impl InputFile {
    /// Parses the JSON text of an input file into one input per sample
    /// and, when `labels_needed` (`grad`), one label per sample (checked
    /// against the model's outputs by the command). Every error is a message
    /// naming the bad value.
    pub fn parse(text: &str, labels_needed: bool) -> Result<InputSamples> {
        let file: InputFile = serde_json::from_str(text)?;
        let inputs = file
            .inputs
            .iter()
            .enumerate()
            .map(|(i, channels)| {
                let trains: Vec<Vec<f64>> = channels
                    .iter()
                    .map(|c| match c {
                        InputChannel::One(t) => vec![*t],
                        InputChannel::Many(ts) => ts.clone(),
                    })
                    .collect();
                SpikeTrains::from_trains(&trains).with_context(|| format!("input sample {i}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let labels = if labels_needed {
            let labels = file
                .labels
                .context("`grad` needs \"labels\" in the input file")?;
            if labels.len() != inputs.len() {
                bail!("{} labels for {} input samples", labels.len(), inputs.len());
            }
            Some(labels)
        } else {
            None
        };
        Ok(InputSamples { inputs, labels })
    }
}

/// The samples of an input file, checked ([`InputFile::parse`]).
#[derive(Clone, Debug, PartialEq)]
pub struct InputSamples {
    /// One input per sample.
    pub inputs: Vec<SpikeTrains>,
    /// One label per sample, where asked for.
    pub labels: Option<Vec<usize>>,
}

/// Output of `evnn simulate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimulateOutput {
    /// Per sample, per layer, per neuron: spike times.
    pub samples: Vec<Vec<Vec<Vec<f64>>>>,
}

/// Output of `evnn grad`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GradOutput {
    /// Mean loss over the samples.
    pub loss: f64,
    /// Number of samples.
    pub n: usize,
    /// Gradient of the mean loss, in the model file's layout (`weights`
    /// row-major `n_out × n_in`, `biases`).
    pub gradient: Vec<crate::model_file::LayerSpec>,
}

struct SimJob<'a> {
    params: &'a NetworkParams,
    inputs: &'a [SpikeTrains],
    labels: Option<&'a [usize]>,
    config: &'a TrainConfig,
}

impl WithNet for SimJob<'_> {
    type Output = serde_json::Value;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<serde_json::Value>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        match self.labels {
            None => {
                let mut ws = net.workspace();
                let mut trace = ForwardTrace::default();
                let mut samples = Vec::with_capacity(self.inputs.len());
                for (i, x) in self.inputs.iter().enumerate() {
                    net.forward(self.params, x, &mut ws, &mut trace)
                        .with_context(|| format!("sample {i}"))?;
                    samples.push(trace.layers.iter().map(|l| l.outputs.to_trains()).collect());
                }
                Ok(serde_json::to_value(SimulateOutput { samples })?)
            }
            Some(labels) => {
                let r = BatchRunner::new(net).loss_and_grad(
                    self.params,
                    self.inputs,
                    labels,
                    &self.config.ttfs_loss(),
                )?;
                let mut grad = r.grad.clone().context("gradient")?;
                grad.scale(1.0 / r.n.max(1) as f64);
                let gradient = grad
                    .layers
                    .iter()
                    .map(|l| crate::model_file::LayerSpec {
                        n_in: l.n_in,
                        n_out: l.n_out,
                        weights: l.weights.clone(),
                        biases: l.neuron_params.clone(),
                    })
                    .collect();
                Ok(serde_json::to_value(GradOutput {
                    loss: r.mean_loss(),
                    n: r.n,
                    gradient,
                })?)
            }
        }
    }
}

fn run_simulate<M: Models>(args: SimulateArgs, grad: bool, models: &M) -> Result<()> {
    let file = ModelFile::load(&args.model)?;
    let mut config = file.config();
    let params = file.params();
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read input file {}", args.input.display()))?;
    let samples = InputFile::parse(&text, grad)
        .with_context(|| format!("invalid input file {}", args.input.display()))?;
    if let Some(labels) = &samples.labels {
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l >= config.n_outputs)
        {
            bail!(
                "invalid input file {}: label {l} of sample {i} out of range for the model's {} classes",
                args.input.display(),
                config.n_outputs
            );
        }
    }
    if let Some(loss) = args.loss {
        if !grad {
            bail!("--loss is an option of `grad`");
        }
        config.loss = loss.kind();
    }
    let value = models.with_net(
        &config,
        SimJob {
            params: &params,
            inputs: &samples.inputs,
            labels: samples.labels.as_deref(),
            config: &config,
        },
    )?;
    outln!("{}", serde_json::to_string(&value)?)?;
    Ok(())
}

/// Options of `evnn data`.
#[derive(Args, Debug)]
pub struct DataArgs {
    /// Which split.
    #[arg(long, value_enum, default_value = "train")]
    pub split: SplitArg,
}

fn run_data(args: DataArgs) -> Result<()> {
    let split = load_split(args.split, TrainConfig::default().t_max)?;
    let data = split
        .data
        .as_ref()
        .context("Yin–Yang splits have features")?;
    let features: Vec<&[f64]> = data.iter().map(|(f, _)| f).collect();
    let inputs: Vec<Vec<f64>> = split.inputs.iter().map(|s| s.flat().to_vec()).collect();
    outln!(
        "{}",
        serde_json::json!({
            "split": args.split,
            "n": split.labels.len(),
            "features": features,
            "labels": split.labels,
            "inputs": inputs,
        })
    )?;
    Ok(())
}

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

fn run_bench<M: Models>(args: BenchArgs, models: &M) -> Result<()> {
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
            passes[k].push(models.with_net(
                &config,
                BenchJob {
                    config: &config,
                    splits: &splits,
                    pool,
                },
            )?);
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
            "samples": config.train_size,
            "repeats": args.repeats,
            "runs": runs,
            "speedup_all_threads_vs_1": speedup,
        }))?
    )?;
    Ok(())
}
