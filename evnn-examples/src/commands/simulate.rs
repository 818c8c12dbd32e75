//! `evnn simulate` and `evnn grad`: input files, spike times, loss and gradient.

use super::{LossArg, RunOptions};
use crate::experiment::{TrainConfig, WithNet};
use crate::model_file::ModelFile;
use crate::models::Models;
use anyhow::{bail, Context, Result};
use clap::Args;
use evnn_net::{BatchRunner, FeedForward, ForwardTrace, NetworkParams, SpikeTrains};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    /// `simulate` only: also the state of these neurons, `LAYER:NEURON`,
    /// comma separated (layer 0 is the first hidden layer), on a grid of
    /// times from 0 to the model's t_max every `--dt`.
    #[arg(long, value_delimiter = ',')]
    pub states: Vec<String>,
    /// The step of the `--states` grid (default 0.1).
    #[arg(long)]
    pub dt: Option<f64>,
    /// How the model file's network is simulated.
    #[command(flatten)]
    pub run: RunOptions,
}

/// The neurons of `--states` and the grid of times.
struct StateQuery {
    neurons: Vec<(usize, usize)>,
    times: Vec<f64>,
}

impl StateQuery {
    /// Parses `LAYER:NEURON` items and checks the step; the network checks
    /// the indices.
    fn parse(items: &[String], dt: Option<f64>, t_max: f64) -> Result<Option<Self>> {
        if items.is_empty() {
            if let Some(dt) = dt {
                bail!("--dt {dt} is an option of --states");
            }
            return Ok(None);
        }
        let neurons = items
            .iter()
            .map(|item| {
                let parsed = item
                    .split_once(':')
                    .and_then(|(l, n)| Some((l.trim().parse().ok()?, n.trim().parse().ok()?)));
                parsed.with_context(|| {
                    format!("--states: `{item}` is not LAYER:NEURON (e.g. 0:3, layer 0 the first hidden layer)")
                })
            })
            .collect::<Result<Vec<(usize, usize)>>>()?;
        let dt = dt.unwrap_or(0.1);
        if !(dt.is_finite() && dt > 0.0) {
            bail!("--dt must be finite and > 0, got {dt}");
        }
        let n = (t_max / dt).floor() as usize + 1;
        if n > 1_000_000 {
            bail!("--dt {dt} gives {n} times on [0, {t_max}], more than 1000000");
        }
        let times = (0..n).map(|k| (k as f64 * dt).min(t_max)).collect();
        Ok(Some(StateQuery { neurons, times }))
    }
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
    /// With `--states`: the grid of times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<f64>>,
    /// With `--states`: per sample, per neuron asked for, its state at each
    /// time of the grid (after the events at that time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<Vec<NeuronStates>>,
}

/// One neuron's states on the grid of `evnn simulate --states`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NeuronStates {
    /// Layer (0 = first hidden layer).
    pub layer: usize,
    /// Neuron within the layer.
    pub neuron: usize,
    /// Per time of the grid, the state's components (the model's state,
    /// e.g. `[v, i]` for LIF).
    pub values: Vec<Vec<f64>>,
}

/// Output of `evnn grad`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GradOutput {
    /// Mean loss over the samples.
    pub loss: f64,
    /// Number of samples.
    pub n: usize,
    /// Gradient of the mean loss, in the model file's layout (`weights`
    /// row-major `n_out × n_in`, `biases`, or `neuron_params` row-major
    /// `n_out × P` for a model with `P > 1` parameters per neuron).
    pub gradient: Vec<crate::model_file::LayerSpec>,
}

struct SimJob<'a> {
    params: &'a NetworkParams,
    inputs: &'a [SpikeTrains],
    labels: Option<&'a [usize]>,
    config: &'a TrainConfig,
    states: Option<StateQuery>,
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
                let mut states = Vec::new();
                let mut buf = Vec::new();
                for (i, x) in self.inputs.iter().enumerate() {
                    net.forward(self.params, x, &mut ws, &mut trace)
                        .with_context(|| format!("sample {i}"))?;
                    samples.push(trace.layers.iter().map(|l| l.outputs.to_trains()).collect());
                    if let Some(q) = &self.states {
                        let mut per_neuron = Vec::with_capacity(q.neurons.len());
                        for &(layer, neuron) in &q.neurons {
                            net.states_at(self.params, &trace, layer, neuron, &q.times, &mut buf)
                                .with_context(|| format!("--states {layer}:{neuron}"))?;
                            per_neuron.push(NeuronStates {
                                layer,
                                neuron,
                                values: buf.iter().map(|x| x.as_ref().to_vec()).collect(),
                            });
                        }
                        states.push(per_neuron);
                    }
                }
                Ok(serde_json::to_value(SimulateOutput {
                    samples,
                    times: self.states.map(|q| q.times),
                    states,
                })?)
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
                    .map(|l| crate::model_file::LayerSpec::for_names(l, N::PARAM_NAMES))
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

pub(super) fn run_simulate<M: Models>(args: SimulateArgs, grad: bool, models: &M) -> Result<()> {
    let file = ModelFile::load(&args.model)?;
    let mut config = file.config();
    args.run.apply(&mut config)?;
    let params = crate::models::file_params(models, &config, &file)
        .with_context(|| format!("model file {}", args.model.display()))?;
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
    if grad && !args.states.is_empty() {
        bail!("--states is an option of `simulate`");
    }
    let states = StateQuery::parse(&args.states, args.dt, config.t_max)?;
    let value = models.with_net(
        &config,
        SimJob {
            params: &params,
            inputs: &samples.inputs,
            labels: samples.labels.as_deref(),
            config: &config,
            states,
        },
    )?;
    outln!("{}", serde_json::to_string(&value)?)?;
    Ok(())
}
