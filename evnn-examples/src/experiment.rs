//! The Yin–Yang experiment: configuration, data, training loop, evaluation.

use anyhow::{bail, Context, Result};
use evnn_data::{Dataset, EncodingConfig, IntervalTask, SpikeData, SpikeSplit, YinYang};
use evnn_net::{
    BatchRunner, Classification, DelayInit, Distribution, FanInScaling, InitConfig, LayerInit,
    LossKind, NetworkParams, RecurrentInit, SpikeTrains, TtfsLoss,
};
use evnn_neurons::NeuronModel;
use evnn_optim::{Adam, AdamConfig, Schedule, Trainer};
use evnn_solver::{Adjoint, Backend, SolverOptions};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which neuron model the network uses: a built-in one, or one registered
/// by the program by name ([`crate::models`]). Written as its name
/// (`"qif"`, `"lif"`, `"adex"`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Quadratic integrate-and-fire (phase form); Taylor-series backend by default.
    Qif,
    /// Leaky integrate-and-fire; closed-form backend by default.
    Lif,
    /// A model registered by the program ([`crate::models::FileModel`]),
    /// by its [`KIND`](crate::models::FileModel::KIND).
    #[serde(untagged)]
    Custom(String),
}

impl ModelKind {
    /// The name in files and on the command line.
    pub fn name(&self) -> &str {
        match self {
            ModelKind::Qif => "qif",
            ModelKind::Lif => "lif",
            ModelKind::Custom(name) => name,
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    /// `qif`, `lif`, or any other non-empty name (a registered model; the
    /// registry rejects names it does not know).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "qif" => Ok(ModelKind::Qif),
            "lif" => Ok(ModelKind::Lif),
            "" => Err("the model name is empty".into()),
            other => Ok(ModelKind::Custom(other.to_string())),
        }
    }
}

/// The integrator backend of the neurons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Integrator {
    /// The model's best: Taylor series for QIF, closed form for LIF.
    #[default]
    Auto,
    /// QIF by Taylor series in homogeneous coordinates (`QifSeries`).
    Series,
    /// LIF in closed form.
    ClosedForm,
    /// Adaptive Dormand–Prince 5(4) (any model).
    Dopri5,
    /// diffsol's `tsit45` (any model).
    Diffsol,
}

impl Integrator {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Integrator::Auto => "auto",
            Integrator::Series => "series",
            Integrator::ClosedForm => "closed-form",
            Integrator::Dopri5 => "dopri5",
            Integrator::Diffsol => "diffsol",
        }
    }
}

/// Which trainable transmission delays the network has
/// ([`evnn_net::LayerParams`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Delays {
    /// No delays (the default).
    #[default]
    None,
    /// One delay per connection, `d_ij`.
    Synaptic,
    /// One delay per input of each layer (input channel or neuron), `a_i`.
    Axonal,
    /// Both.
    Both,
}

impl Delays {
    /// `true` for [`Delays::None`] (left out of files).
    pub fn is_none(&self) -> bool {
        *self == Delays::None
    }
}

/// The upper end of the initial delays `U(0, delay_max)` when the
/// configuration gives none (ms): a starting point, not a tuned value.
pub const DEFAULT_DELAY_MAX: f64 = 2.0;

/// Every setting of a training run. Defaults are eventax's Yin–Yang
/// experiment (docs/design.md §7). Times in ms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Neuron model.
    pub model: ModelKind,
    /// Constants of a registered model (its serde fields); empty for the
    /// built-in models, whose constants are the fields below.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub constants: serde_json::Map<String, serde_json::Value>,
    /// A labelled spike data file to train on instead of Yin–Yang (JSON or
    /// `.npz`, the format of `evnn_data::SpikeData`); absent (the default)
    /// trains on Yin–Yang.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// A generated task to train on instead of Yin–Yang (`evnn train
    /// --dataset NAME`); absent (the default) trains on Yin–Yang.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Input channels: 5 for Yin–Yang, the data file's channel count.
    pub n_inputs: usize,
    /// Output neurons, one per class: 3 for Yin–Yang, the data file's class
    /// count.
    pub n_outputs: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Membrane time constant.
    pub tau_mem: f64,
    /// Synaptic time constant.
    pub tau_syn: f64,
    /// LIF threshold.
    pub theta: f64,
    /// LIF reset potential.
    pub v_reset: f64,
    /// Input window and simulated interval `[0, t_max]`.
    pub t_max: f64,
    /// Weight and bias initialisation; `null` (the default) picks the
    /// model's own ([`TrainConfig::init_config`]).
    pub init: Option<InitConfig>,
    /// A distribution per layer (first hidden layer first) for weights and
    /// biases, in place of `init`; absent (the default) uses `init`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_layers: Option<Vec<LayerInit>>,
    /// Adam learning rate (of the first epoch).
    pub lr: f64,
    /// Factor on the learning rate after each epoch, in `(0, 1]`: epoch `e`
    /// (from 1) trains with `lr · lr_decay^(e−1)`. 1 (the default) keeps it
    /// constant.
    #[serde(skip_serializing_if = "is_one")]
    pub lr_decay: f64,
    /// Trainable transmission delays (`none`, `synaptic`, `axonal`,
    /// `both`); absent in files without.
    #[serde(skip_serializing_if = "Delays::is_none")]
    pub delays: Delays,
    /// Initial delays are drawn from `U(0, delay_max)` (ms); absent:
    /// [`DEFAULT_DELAY_MAX`]. Only with `delays`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_max: Option<f64>,
    /// Recurrent connections in every hidden layer (in the output layer of
    /// a network without hidden layers), drawn as this says; absent: a
    /// feed-forward network (and nothing in files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrent: Option<RecurrentInit>,
    /// Samples per batch.
    pub batch_size: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Loss form.
    pub loss: LossKind,
    /// The TTFS loss's softmax temperature `τ₀` (ms; default 0.5). Scale it,
    /// `loss_tau1` and the inputs' window together for tasks slower than
    /// Yin–Yang's 30 ms.
    #[serde(skip_serializing_if = "is_default_tau0")]
    pub loss_tau0: f64,
    /// The TTFS loss's regulariser time constant `τ₁` (ms; default 6.4): the
    /// label neuron's spike at `t` costs `α·(e^{t/τ₁} − 1)`.
    #[serde(skip_serializing_if = "is_default_tau1")]
    pub loss_tau1: f64,
    /// The TTFS loss's regulariser weight `α` (default 3e-3).
    #[serde(skip_serializing_if = "is_default_alpha")]
    pub loss_alpha: f64,
    /// Weight `γ` of the silent-label term: for every sample whose label's
    /// output neuron does not spike, the loss gains `γ·(θ − b_l)`, a push on
    /// that neuron's bias `b_l` (the first neuron parameter) towards firing,
    /// where the spike-time loss has no gradient (docs/training.md).
    /// 0 (the default) leaves it out.
    #[serde(skip_serializing_if = "is_zero")]
    pub silent_label_push: f64,
    /// Weight `γ_h` of the silent-hidden-neuron term: every hidden neuron
    /// that spikes on no sample of a batch (before the sample's last first
    /// output spike) gets a push on its bias towards firing, `−γ_h` on the
    /// mean gradient. Such a neuron has no other gradient and would stay
    /// silent for good (docs/training.md). 0 (the default) leaves it out.
    #[serde(skip_serializing_if = "is_zero")]
    pub silent_hidden_push: f64,
    /// Seed of initialisation and shuffling (the data splits are the
    /// standard Kriener et al. splits, independent of it).
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Relative and absolute solver tolerance.
    pub tol: f64,
    /// Integrator backend.
    pub integrator: Integrator,
    /// Simulate each dense layer's neurons together, feed-forward or
    /// recurrent (`evnn_net::FeedForward::with_layer_wide`): LIF on the
    /// closed form only; layers with synaptic delays still run neuron by
    /// neuron. The same training to round-off, much faster on wide layers
    /// with many inputs. Off by default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub layer_wide: bool,
    /// Training samples used: the first `n` of the split (Yin–Yang: ≤ 5000;
    /// a data file: at most its training samples, by default all of them).
    pub train_size: usize,
    /// Validation samples used (Yin–Yang: ≤ 1000).
    pub val_size: usize,
    /// Test samples used (Yin–Yang: ≤ 1000).
    pub test_size: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: ModelKind::Qif,
            constants: serde_json::Map::new(),
            data: None,
            task: None,
            n_inputs: 5,
            n_outputs: 3,
            hidden: vec![20],
            tau_mem: 20.0,
            tau_syn: 5.0,
            theta: 1.0,
            v_reset: 0.0,
            t_max: 30.0,
            init: None,
            init_layers: None,
            lr: 0.05,
            lr_decay: 1.0,
            delays: Delays::None,
            delay_max: None,
            recurrent: None,
            batch_size: 256,
            epochs: 100,
            loss: LossKind::EventProp,
            loss_tau0: TtfsLoss::default().tau0,
            loss_tau1: TtfsLoss::default().tau1,
            loss_alpha: TtfsLoss::default().alpha,
            silent_label_push: 0.0,
            silent_hidden_push: 0.0,
            seed: 0,
            threads: 0,
            tol: 1e-6,
            integrator: Integrator::Auto,
            layer_wide: false,
            train_size: 5000,
            val_size: 1000,
            test_size: 1000,
        }
    }
}

/// A generated task (`evnn train --dataset NAME`), with its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// Classify the interval between two cue spikes (`evnn_data::intervals`):
    /// a task that needs delays or recurrence.
    Intervals(IntervalTask),
}

impl Task {
    /// The task's three splits.
    pub fn generate(&self) -> Result<SpikeData> {
        Ok(match self {
            Task::Intervals(t) => t.generate()?,
        })
    }

    /// The latest input spike any sample can have.
    pub fn t_last(&self) -> f64 {
        match self {
            Task::Intervals(t) => t.t_last(),
        }
    }

    /// The task's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Intervals(_) => "intervals",
        }
    }
}

impl TrainConfig {
    /// The initialisation: the configured one, else eventax's QIF values
    /// (`w ~ U(0, 40)`, `b ~ U(−0.5, 0.5)`) for QIF and, for LIF (threshold
    /// 1, where one input of weight `w` lifts `v` by at most about
    /// `0.16·w` with τ_mem 20, τ_syn 5) and registered models,
    /// `w ~ U(0, 6)`, `b ~ U(−0.5, 0.5)`.
    pub fn init_config(&self) -> InitConfig {
        self.init.unwrap_or(match self.model {
            ModelKind::Qif => InitConfig {
                wmean: 20.0,
                wlim: 40.0,
                bmean: 0.0,
                blim: 1.0,
                fan_in: FanInScaling::None,
            },
            ModelKind::Lif | ModelKind::Custom(_) => InitConfig {
                wmean: 3.0,
                wlim: 6.0,
                bmean: 0.0,
                blim: 1.0,
                fan_in: FanInScaling::None,
            },
        })
    }

    /// Adam with the configured learning rate: constant, or with
    /// `lr_decay < 1` decayed by that factor once per epoch (a staircase
    /// exponential schedule whose steps are the batches of an epoch).
    pub fn adam_config(&self) -> AdamConfig {
        let adam = AdamConfig::default();
        if self.lr_decay == 1.0 {
            return adam.with_learning_rate(self.lr);
        }
        let per_epoch = self.train_size.div_ceil(self.batch_size.max(1)).max(1);
        adam.with_schedule(Schedule::Exponential {
            init_value: self.lr,
            transition_steps: per_epoch as u64,
            decay_rate: self.lr_decay,
            staircase: true,
        })
    }

    /// Initial parameters for `model`'s network: `init_layers` when set,
    /// else [`init_config`](Self::init_config); with `delays`, delays from
    /// [`delay_init`](Self::delay_init) (their own random stream, so the
    /// weights and biases are those of the run without delays).
    pub fn init_params_for<N: NeuronModel>(&self, model: &N) -> Result<NetworkParams> {
        let sizes = self.sizes();
        let params = match &self.init_layers {
            Some(layers) => NetworkParams::init_layers_for(model, &sizes, layers, self.seed)?,
            None => NetworkParams::init_for(model, &sizes, &self.init_config(), self.seed)?,
        };
        let params = match self.delay_init() {
            Some(init) => params.with_delays(&init, self.seed)?,
            None => params,
        };
        Ok(match &self.recurrent {
            Some(init) => params.with_recurrent(&self.recurrent_layers(), init, self.seed)?,
            None => params,
        })
    }

    /// The layers that `recurrent` makes recurrent: every hidden layer, or
    /// the output layer where there is none.
    pub fn recurrent_layers(&self) -> Vec<usize> {
        match self.hidden.len() {
            0 => vec![0],
            n => (0..n).collect(),
        }
    }

    /// The delays' initialisation, `U(0, delay_max)` for the kinds
    /// `delays` names; `None` without delays.
    pub fn delay_init(&self) -> Option<DelayInit> {
        let max = self.delay_max.unwrap_or(DEFAULT_DELAY_MAX);
        let d = Distribution::Uniform {
            mean: 0.5 * max,
            width: max,
        };
        let (synaptic, axonal) = match self.delays {
            Delays::None => return None,
            Delays::Synaptic => (Some(d), None),
            Delays::Axonal => (None, Some(d)),
            Delays::Both => (Some(d), Some(d)),
        };
        Some(DelayInit { synaptic, axonal })
    }

    /// Layer sizes `[n_inputs, hidden..., n_outputs]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.n_inputs];
        s.extend(&self.hidden);
        s.push(self.n_outputs);
        s
    }

    /// The loss.
    pub fn ttfs_loss(&self) -> TtfsLoss {
        TtfsLoss {
            kind: self.loss,
            tau0: self.loss_tau0,
            tau1: self.loss_tau1,
            alpha: self.loss_alpha,
            t_max: self.t_max,
        }
    }

    /// Solver options.
    pub fn solver_options(&self) -> SolverOptions {
        SolverOptions::default().with_tolerances(self.tol, self.tol)
    }

    /// Checks that the integrator suits the model: the series integrator is
    /// QIF's, the closed form LIF's; a registered model takes the generic
    /// ones.
    pub fn check_integrator(&self) -> Result<()> {
        match (&self.model, self.integrator) {
            (ModelKind::Lif, Integrator::Series) => bail!("the series integrator is for QIF only"),
            (ModelKind::Qif, Integrator::ClosedForm) => {
                bail!("the closed-form integrator is for LIF only")
            }
            (ModelKind::Custom(name), Integrator::Series | Integrator::ClosedForm) => bail!(
                "the {} integrator is not for the `{name}` model (use auto, dopri5 or diffsol)",
                self.integrator.name()
            ),
            _ => Ok(()),
        }
    }

    /// Checks that `layer_wide` is asked for only where it applies: LIF on
    /// the closed form (auto).
    pub fn check_layer_wide(&self) -> Result<()> {
        let closed_form = matches!(self.integrator, Integrator::Auto | Integrator::ClosedForm);
        if self.layer_wide && !(self.model == ModelKind::Lif && closed_form) {
            bail!(
                "layer_wide (--layer-wide) is for the LIF model on the closed-form integrator, not the {} model on {}",
                self.model,
                self.integrator.name()
            );
        }
        Ok(())
    }

    /// Checks what the libraries do not check themselves.
    pub fn validate(&self) -> Result<()> {
        if self.hidden.contains(&0) {
            bail!("hidden layer widths must be > 0, got {:?}", self.hidden);
        }
        if self.batch_size == 0 {
            bail!("batch_size must be > 0");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("lr must be finite and > 0, got {}", self.lr);
        }
        if !(self.lr_decay.is_finite() && self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            bail!("lr_decay must be in (0, 1], got {}", self.lr_decay);
        }
        for (name, push) in [
            ("silent_label_push", self.silent_label_push),
            ("silent_hidden_push", self.silent_hidden_push),
        ] {
            if !(push.is_finite() && push >= 0.0) {
                bail!("{name} must be finite and >= 0, got {push}");
            }
        }
        if let Some(layers) = &self.init_layers {
            if layers.len() != self.hidden.len() + 1 {
                bail!(
                    "init_layers needs one entry per layer ({}), got {}",
                    self.hidden.len() + 1,
                    layers.len()
                );
            }
            for l in layers {
                l.validate()?;
            }
        }
        if !(self.t_max.is_finite() && self.t_max > 0.0) {
            bail!("t_max must be finite and > 0, got {}", self.t_max);
        }
        if let Some(max) = self.delay_max {
            if !(max.is_finite() && max >= 0.0) {
                bail!("delay_max must be finite and >= 0, got {max}");
            }
            if self.delays.is_none() {
                bail!("delay_max {max} is given without delays (set delays: synaptic, axonal or both)");
            }
        }
        if let Some(r) = &self.recurrent {
            r.validate()?;
            if self.model.name() == "egru" {
                bail!("recurrent layers need one weight per synapse; egru has three");
            }
        }
        if self.n_inputs == 0 || self.n_outputs == 0 {
            bail!(
                "n_inputs and n_outputs must be > 0, got {} and {}",
                self.n_inputs,
                self.n_outputs
            );
        }
        if self.data.is_some() && self.task.is_some() {
            bail!("give either a data file or a generated task (--dataset), not both");
        }
        if let Some(task) = &self.task {
            match task {
                Task::Intervals(t) => t.validate()?,
            }
            if !(task.t_last() < self.t_max) {
                bail!(
                    "t_max {} must exceed the {} task's latest input spike, {}",
                    self.t_max,
                    task.name(),
                    task.t_last()
                );
            }
        }
        // A data file or task bounds the sizes when it is read (`Splits::load`).
        let yin_yang = self.data.is_none() && self.task.is_none();
        for (name, n, max) in [
            ("train_size", self.train_size, 5000),
            ("val_size", self.val_size, 1000),
            ("test_size", self.test_size, 1000),
        ] {
            if n == 0 || (yin_yang && n > max) {
                bail!("{name} must be in 1..={max}, got {n}");
            }
        }
        self.check_integrator()?;
        if matches!(self.model, ModelKind::Qif | ModelKind::Lif) && !self.constants.is_empty() {
            bail!(
                "`constants` are for registered models; the {} model's constants are tau_mem, tau_syn, theta and v_reset",
                self.model
            );
        }
        self.check_layer_wide()?;
        self.init_config().validate()?;
        self.ttfs_loss().validate()?;
        self.solver_options().validate()?;
        Ok(())
    }
}

/// `true` for exactly 0 (the default of terms that are left out of files).
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The TTFS loss's defaults, left out of files.
fn is_default_tau0(x: &f64) -> bool {
    *x == TtfsLoss::default().tau0
}
fn is_default_tau1(x: &f64) -> bool {
    *x == TtfsLoss::default().tau1
}
fn is_default_alpha(x: &f64) -> bool {
    *x == TtfsLoss::default().alpha
}

/// `true` for exactly 1 (the default of factors that are left out of files).
fn is_one(x: &f64) -> bool {
    *x == 1.0
}

/// One split, encoded as input spike trains.
#[derive(Clone, Debug)]
pub struct EncodedSplit {
    /// The samples' features `(x, y, 1−x, 1−y)` (Yin–Yang; `None` for spike
    /// data read from a file).
    pub data: Option<Dataset>,
    /// Input spikes of every sample.
    pub inputs: Vec<SpikeTrains>,
    /// Labels.
    pub labels: Vec<usize>,
}

/// Encodes the first `n` samples of `data` with eventax's latency code.
pub fn encode(data: Dataset, n: usize, t_max: f64) -> Result<EncodedSplit> {
    let n = n.min(data.len());
    let encoder = EncodingConfig::default().with_window(0.0, t_max).build()?;
    let mut inputs = Vec::with_capacity(n);
    let mut times = vec![0.0; encoder.n_channels(data.n_features())];
    let mut features = Vec::with_capacity(n * data.n_features());
    for i in 0..n {
        let f = data.features(i).context("sample index")?;
        features.extend_from_slice(f);
        encoder.encode_into(f, &mut times)?;
        inputs.push(SpikeTrains::from_times(&times)?);
    }
    let labels = data.labels()[..n].to_vec();
    let data = Dataset::new(
        features,
        data.n_features(),
        labels.clone(),
        data.n_classes(),
    )?;
    Ok(EncodedSplit {
        data: Some(data),
        inputs,
        labels,
    })
}

/// The first `n` samples of a split of a spike data file; more than it has
/// is an error naming both counts.
fn spike_split(split: &SpikeSplit, name: &str, n: usize, source: &str) -> Result<EncodedSplit> {
    if n > split.len() {
        bail!(
            "{name} {n}, but {} has {} samples in that split",
            source,
            split.len()
        );
    }
    let inputs = split.inputs[..n]
        .iter()
        .enumerate()
        .map(|(i, trains)| {
            SpikeTrains::from_trains(trains).with_context(|| format!("{name}: sample {i}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EncodedSplit {
        data: None,
        inputs,
        labels: split.labels[..n].to_vec(),
    })
}

/// The three standard splits.
pub struct Splits {
    /// Training split (seed 42).
    pub train: EncodedSplit,
    /// Validation split (seed 41).
    pub validation: EncodedSplit,
    /// Test split (seed 40).
    pub test: EncodedSplit,
}

impl Splits {
    /// Generates and encodes the standard Kriener et al. splits, or reads
    /// `config.data`, or generates `config.task`; the file's or task's
    /// channels and classes must be `n_inputs` and `n_outputs`.
    pub fn load(config: &TrainConfig) -> Result<Self> {
        let source = match (&config.data, &config.task) {
            (Some(path), _) => Some((SpikeData::load(path)?, path.display().to_string())),
            (None, Some(task)) => Some((task.generate()?, format!("the {} task", task.name()))),
            (None, None) => None,
        };
        if let Some((data, path)) = source {
            if (data.n_channels(), data.n_classes()) != (config.n_inputs, config.n_outputs) {
                bail!(
                    "{} has {} channels and {} classes, the configuration n_inputs {} and n_outputs {}",
                    path,
                    data.n_channels(),
                    data.n_classes(),
                    config.n_inputs,
                    config.n_outputs
                );
            }
            return Ok(Splits {
                train: spike_split(&data.train, "train_size", config.train_size, &path)?,
                validation: spike_split(&data.validation, "val_size", config.val_size, &path)?,
                test: spike_split(&data.test, "test_size", config.test_size, &path)?,
            });
        }
        if (config.n_inputs, config.n_outputs) != (5, 3) {
            bail!(
                "Yin–Yang has 5 input channels and 3 classes, the configuration n_inputs {} and n_outputs {} (give a data file for other shapes)",
                config.n_inputs,
                config.n_outputs
            );
        }
        Ok(Splits {
            train: encode(YinYang::train()?, config.train_size, config.t_max)?,
            validation: encode(YinYang::validation()?, config.val_size, config.t_max)?,
            test: encode(YinYang::test()?, config.test_size, config.t_max)?,
        })
    }
}

pub use evnn_optim::EpochMetrics;

/// Everything the training loop carries from one epoch to the next: with
/// the configuration it continues a run exactly (see
/// [`checkpoint`](crate::checkpoint)). Epoch `e` shuffles with
/// `epoch_rng(seed, e)`, so the shuffling's state is the seed and the number
/// of finished epochs.
pub type TrainState = evnn_optim::TrainState<NetworkParams, Adam<f64>>;

/// Result of a training run.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// Per-epoch metrics.
    pub epochs: Vec<EpochMetrics>,
    /// Best validation accuracy (the chosen model's).
    pub best_val_acc: f64,
    /// Epoch of the chosen model (0 = the initial parameters).
    pub best_epoch: usize,
    /// Test accuracy of the chosen model.
    pub test_acc: f64,
    /// Wall-clock seconds of the whole training loop.
    pub train_seconds: f64,
    /// The chosen parameters.
    pub params: NetworkParams,
}

/// Callbacks of the training loop (per batch, per epoch, checkpoints): the
/// library trainer's ([`evnn_optim::Observer`]) for this program's state.
pub trait Observer: evnn_optim::Observer<NetworkParams, Adam<f64>> {}
impl<T: evnn_optim::Observer<NetworkParams, Adam<f64>>> Observer for T {}

pub use crate::models::WithNet;

/// Runs `w` on the network of `config` with the built-in models
/// ([`Builtin`](crate::models::Builtin)`.with_net`).
pub fn with_net<W: WithNet>(config: &TrainConfig, w: W) -> Result<W::Output> {
    use crate::models::Models;
    crate::models::Builtin.with_net(config, w)
}

/// Initial parameters of `config`'s network, for the built-in models
/// ([`with_net`]); a registered model's come from
/// [`TrainConfig::init_params_for`] with its network's model.
pub fn init_params(config: &TrainConfig) -> Result<NetworkParams> {
    struct Init<'a>(&'a TrainConfig);
    impl WithNet for Init<'_> {
        type Output = NetworkParams;
        fn run<N, B>(self, net: evnn_net::FeedForward<N, B>) -> Result<NetworkParams>
        where
            N: NeuronModel,
            B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
        {
            let model = net.models().first().context("a network has layers")?;
            self.0.init_params_for(model)
        }
    }
    with_net(config, Init(config))
}

/// Accuracy of `params` on a split: the share of samples whose first
/// output spike comes from the label's neuron
/// ([`BatchRunner::predict`], which ends each sample's simulation once
/// that is decided).
pub fn accuracy<N, B>(
    runner: &BatchRunner<N, B>,
    params: &NetworkParams,
    split: &EncodedSplit,
) -> Result<f64>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    Ok(runner.accuracy(params, &split.inputs, &split.labels)?)
}

/// The library pieces of a run of `config`: the trainer, and the
/// classification task on the training split, validated on the validation
/// split.
fn task<'a, N, B>(
    runner: &'a BatchRunner<N, B>,
    config: &TrainConfig,
    splits: &'a Splits,
) -> Result<(Trainer, Classification<'a, N, B>)>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    config.validate()?;
    let trainer = Trainer::new(config.epochs, config.batch_size, config.seed)?;
    let task = Classification::new(
        runner,
        &splits.train.inputs,
        &splits.train.labels,
        config.ttfs_loss(),
    )?
    .with_validation(&splits.validation.inputs, &splits.validation.labels)?
    .with_silent_label_push(config.silent_label_push)?
    .with_silent_hidden_push(config.silent_hidden_push)?;
    Ok((trainer, task))
}

/// The state before epoch 1: initial parameters (from the config's seed),
/// a fresh Adam, and the initial parameters' validation accuracy.
pub fn start<N, B>(
    runner: &BatchRunner<N, B>,
    config: &TrainConfig,
    splits: &Splits,
) -> Result<TrainState>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let (trainer, mut task) = task(runner, config, splits)?;
    // The model's own start values for neuron parameters beyond the bias
    // (learnable time constants); LIF and QIF have none.
    let model = runner
        .net()
        .models()
        .first()
        .context("a network has layers")?;
    let params = config.init_params_for(model)?;
    let optimizer = config.adam_config().build(params.len())?;
    Ok(trainer.start(&mut task, params, optimizer)?)
}

/// The training loop from the start: [`start`], then [`train_from`].
pub fn train<N, B>(
    runner: &BatchRunner<N, B>,
    config: &TrainConfig,
    splits: &Splits,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let state = start(runner, config, splits)?;
    train_from(runner, config, splits, state, observer)
}

/// The training loop from `state` to `config.epochs`
/// ([`Trainer::resume`] on the [`Classification`] of the training split):
/// Adam on the mean batch gradient, shuffled batches per epoch, validation
/// after each epoch and [`evnn_optim::Observer::checkpoint`], then the
/// best-validation model evaluated once on the test split. Continuing a
/// saved state gives bit-for-bit the result of an uninterrupted run.
pub fn train_from<N, B>(
    runner: &BatchRunner<N, B>,
    config: &TrainConfig,
    splits: &Splits,
    state: TrainState,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let (trainer, mut task) = task(runner, config, splits)?;
    let state = trainer.resume(&mut task, state, observer)?;
    let test_acc = accuracy(runner, &state.best_params, &splits.test)?;
    Ok(TrainOutcome {
        epochs: state.epochs,
        best_val_acc: state.best_score.context("the run validates")?,
        best_epoch: state.best_epoch,
        test_acc,
        train_seconds: state.train_seconds,
        params: state.best_params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_push_is_off_by_default_and_validated() {
        let lif = TrainConfig {
            model: ModelKind::Lif,
            ..TrainConfig::default()
        };
        assert_eq!(lif.silent_label_push, 0.0);
        lif.validate().unwrap();
        let bad = TrainConfig {
            silent_label_push: -1.0,
            ..lif.clone()
        };
        assert!(bad.validate().is_err());
        let bad = TrainConfig {
            silent_label_push: f64::NAN,
            ..lif.clone()
        };
        assert!(bad.validate().is_err());
        assert_eq!(lif.silent_hidden_push, 0.0);
        for push in [-1.0, f64::NAN, f64::INFINITY] {
            let bad = TrainConfig {
                silent_hidden_push: push,
                ..lif.clone()
            };
            let e = bad.validate().unwrap_err().to_string();
            assert!(
                e.contains("silent_hidden_push") && e.contains(&push.to_string()),
                "{e}"
            );
        }
        for decay in [1.5, 0.0, f64::NAN] {
            let bad = TrainConfig {
                lr_decay: decay,
                ..lif.clone()
            };
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains("lr_decay"), "{err}");
        }
    }
}
