//! `evnn train`: configuration from defaults, file and flags, the training run, its files.

use super::in_pool;
use crate::checkpoint::{self, Checkpoint};
use crate::experiment::{
    start, train_from, Delays, EpochMetrics, Integrator, ModelKind, Splits, Task, TrainConfig,
    TrainOutcome, TrainState, WithNet,
};
use crate::model_file::{write_atomic, ModelFile};
use crate::models::Models;
use crate::plots;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use evnn_data::IntervalTask;
use evnn_net::{BatchRunner, Distribution, FeedForward, LossKind, NetworkParams, RecurrentInit};
use evnn_neurons::NeuronModel;
use evnn_optim::Adam;
use evnn_solver::{Adjoint, Backend};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// Trainable transmission delays: synaptic (one per connection), axonal
    /// (one per input of each layer), both, or none (the default).
    #[arg(long, value_enum)]
    pub delays: Option<Delays>,
    /// Initial delays drawn from U(0, D) ms (default 2).
    #[arg(long, value_name = "D")]
    pub delay_max: Option<f64>,
    /// Recurrent connections in every hidden layer (the output layer when
    /// there is none): dense, without self-connections, weights from
    /// N(0, 1) unless the config file's `recurrent` object says otherwise.
    #[arg(long)]
    pub recurrent: bool,
    /// With --recurrent: the probability that a recurrent synapse exists,
    /// in (0, 1] (default 1, dense).
    #[arg(long, value_name = "P")]
    pub recurrent_density: Option<f64>,
    /// Worker threads (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Integrator backend (auto: series for QIF, closed form for LIF).
    #[arg(long, value_enum)]
    pub integrator: Option<Integrator>,
    /// Simulate each dense layer's neurons together, feed-forward or
    /// recurrent, with delays or none (LIF on the closed form): the same
    /// training to round-off, much faster on wide layers with many input
    /// spikes.
    #[arg(long)]
    pub layer_wide: bool,
    /// Train on a labelled spike data file instead of Yin–Yang: JSON or
    /// numpy .npz with train/validation/test splits (README, "Your own
    /// data"); its channels and classes set the input and output widths, and
    /// all its samples are used unless the sizes are given.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Train on a generated task instead of Yin–Yang (`yinyang`, the
    /// default): `intervals` classifies the interval between two cue spikes,
    /// a task that needs delays or recurrence (docs/training.md). Its
    /// settings are the config file's `task` object; its channels and
    /// classes set the input and output widths.
    #[arg(long, value_enum, value_name = "NAME")]
    pub dataset: Option<DatasetArg>,
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

/// A data set by name on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DatasetArg {
    /// Yin–Yang (the default).
    Yinyang,
    /// The interval task (`evnn_data::IntervalTask`).
    Intervals,
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
            ("--delays", self.delays.is_some()),
            ("--delay-max", self.delay_max.is_some()),
            ("--recurrent", self.recurrent),
            ("--recurrent-density", self.recurrent_density.is_some()),
            ("--integrator", self.integrator.is_some()),
            ("--layer-wide", self.layer_wide),
            ("--data", self.data.is_some()),
            ("--dataset", self.dataset.is_some()),
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
        match self.dataset {
            Some(DatasetArg::Yinyang) => c.task = None,
            // A config file's own interval settings stay.
            Some(DatasetArg::Intervals) if !matches!(c.task, Some(Task::Intervals(_))) => {
                c.task = Some(Task::Intervals(IntervalTask::default()));
            }
            Some(DatasetArg::Intervals) | None => {}
        }
        let source = match (&c.data, &c.task) {
            (Some(path), _) => Some(evnn_data::SpikeData::load(path)?),
            (None, Some(task)) => Some(task.generate()?),
            (None, None) => None,
        };
        if let Some(data) = source {
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
        if let Some(v) = self.delays {
            c.delays = v;
        }
        if let Some(v) = self.delay_max {
            c.delay_max = Some(v);
        }
        if self.recurrent && c.recurrent.is_none() {
            c.recurrent = Some(RecurrentInit::new(Distribution::Normal {
                mean: 0.0,
                std: 1.0,
            }));
        }
        if let Some(density) = self.recurrent_density {
            match c.recurrent.as_mut() {
                Some(r) => r.density = density,
                None => bail!("--recurrent-density {density} is given without --recurrent"),
            }
        }
        if let Some(v) = self.threads {
            c.threads = v;
        }
        if let Some(v) = self.integrator {
            c.integrator = v;
        }
        if self.layer_wide {
            c.layer_wide = true;
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

pub(super) fn run_train<M: Models>(args: TrainArgs, models: &M) -> Result<()> {
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
    let param_names = crate::models::param_names(models, &config)?;
    ModelFile::new(&config, &outcome.params, param_names).save(&out.join("model.json"))?;
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
