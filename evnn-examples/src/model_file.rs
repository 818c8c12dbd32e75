//! The `model.json` format: a trained network that numpy users can read.
//!
//! ```json
//! {
//!   "format": "evnn-model",
//!   "version": 1,
//!   "neuron": {"kind": "qif", "tau_mem": 20.0, "tau_syn": 5.0},
//!   "t_max": 30.0,
//!   "tol": 1e-6,
//!   "sizes": [5, 20, 3],
//!   "layers": [
//!     {"n_in": 5, "n_out": 20, "weights": [...], "biases": [...]},
//!     {"n_in": 20, "n_out": 3, "weights": [...], "biases": [...]}
//!   ]
//! }
//! ```
//!
//! `weights` is the `n_out × n_in` matrix in row-major order
//! (`np.array(w).reshape(n_out, n_in)`; row `j` holds neuron `j`'s input
//! weights), `biases` has `n_out` entries. A LIF neuron also has `theta` and
//! `v_reset`. Inputs are latency-coded: channel times `t_max·(x, y, 1−x,
//! 1−y)` and a bias spike at 0.
//!
//! A network trained with an integrator other than `auto` records it after
//! `tol` (`"integrator": "dopri5"`; also `series`, `closed-form`,
//! `diffsol`), and the program runs the file with it.
//!
//! A model with `P > 1` learnable parameters per neuron (PLIF and PQIF:
//! `bias`, `log_tau_mem`, `log_tau_syn`; PIzhikevich: `bias`, `log_a`,
//! `log_b`; the model's
//! [`PARAM_NAMES`](evnn_neurons::NeuronModel::PARAM_NAMES)) is written as
//! version 2: the file names them in `param_names`, and each layer has
//! `neuron_params`, `n_out × P` entries in row-major order
//! (`np.array(p).reshape(n_out, P)`; row `j` holds neuron `j`'s
//! parameters), in place of `biases`:
//!
//! ```json
//! {
//!   "format": "evnn-model",
//!   "version": 2,
//!   "neuron": {"kind": "pqif", "tau_mem": 20.0, "tau_syn": 5.0},
//!   "param_names": ["bias", "log_tau_mem", "log_tau_syn"],
//!   ...
//!   "layers": [{"n_in": 5, "n_out": 20, "weights": [...], "neuron_params": [...]}, ...]
//! }
//! ```
//!
//! Models with one parameter per neuron (the bias) are written as version 1,
//! as before; both versions are read.
//!
//! A network trained with transmission delays (`evnn train --delays`) has,
//! in either version, `synaptic_delays` (`n_out × n_in`, row-major as the
//! weights) and/or `axonal_delays` (`n_in`, one per input) in each layer,
//! in ms: a spike of input `i` at `t` reaches neuron `j` at
//! `t + axonal_delays[i] + synaptic_delays[j·n_in + i]`, and not at all at
//! or after `t_max`. Files without delays have neither field.
//!
//! A network with recurrent layers (`evnn train --recurrent`) has, in each
//! such layer, `recurrent_weights` (`n_out × n_out`, row-major:
//! `recurrent_weights[j·n_out + i]` connects neuron `i` to neuron `j` of
//! the same layer; a spike reaches its targets at its own time) and, where
//! some synapses are absent, `recurrent_mask` (booleans in the same
//! layout). Feed-forward layers have neither field.
//!
//! A model whose synapses carry `K > 1` weights (EGRU: `W_u`, `W_r`, `W_z`;
//! [`WEIGHTS_PER_SYNAPSE`](evnn_neurons::NeuronModel::WEIGHTS_PER_SYNAPSE))
//! records `"weights_per_synapse": K`, and each layer's `weights` has
//! `n_out × n_in × K` entries, a synapse's `K` side by side
//! (`np.array(w).reshape(n_out, n_in, K)`). Files without the field have
//! one weight per synapse.

use crate::experiment::{Integrator, ModelKind, Task, TrainConfig};
use evnn_net::{LayerParams, NetworkParams};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The newest format version (`neuron_params` and `param_names`); files
/// of one-parameter models are written as version [`VERSION_BIASES`].
pub const VERSION: u32 = 2;
/// The format version of files with one parameter per neuron, `biases`.
pub const VERSION_BIASES: u32 = 1;
/// The `format` tag.
pub const FORMAT: &str = "evnn-model";

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelFileError {
    /// The file could not be read or written.
    #[error("cannot access model file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid JSON, truncated, or fields of the wrong type.
    #[error("model file {path} is not a valid evnn model: {message}")]
    Parse {
        /// The path.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The `format` tag is not `evnn-model`.
    #[error("model file {path}: format is {found:?}, expected \"evnn-model\"")]
    Format {
        /// The path.
        path: String,
        /// What it says.
        found: String,
    },
    /// A version this program cannot read.
    #[error("model file {path}: version {found} is not supported (this program reads versions {VERSION_BIASES} and {VERSION})")]
    Version {
        /// The path.
        path: String,
        /// The version found.
        found: u32,
    },
    /// Shapes, constants or values are invalid.
    #[error("model file {path}: {message}")]
    Invalid {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Neuron kind and constants: `{"kind": "qif", ...}`, `{"kind": "lif",
/// ...}`, or a model registered by the program (`{"kind": "adex", ...}`,
/// its constants beside the kind; see [`crate::models`]).
#[derive(Clone, Debug, PartialEq)]
pub enum NeuronSpec {
    /// QIF neuron.
    Qif {
        /// Membrane time constant.
        tau_mem: f64,
        /// Synaptic time constant.
        tau_syn: f64,
    },
    /// LIF neuron.
    Lif {
        /// Membrane time constant.
        tau_mem: f64,
        /// Synaptic time constant.
        tau_syn: f64,
        /// Threshold.
        theta: f64,
        /// Reset potential.
        v_reset: f64,
    },
    /// A model registered by the program that reads the file.
    Custom {
        /// Its [`KIND`](crate::models::FileModel::KIND).
        kind: String,
        /// Its constants (its serde fields).
        constants: serde_json::Map<String, serde_json::Value>,
    },
}

/// The built-in kinds as serde sees them (the constants checked strictly).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum BuiltinSpec {
    Qif {
        tau_mem: f64,
        tau_syn: f64,
    },
    Lif {
        tau_mem: f64,
        tau_syn: f64,
        theta: f64,
        v_reset: f64,
    },
}

impl Serialize for NeuronSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            NeuronSpec::Qif { tau_mem, tau_syn } => {
                BuiltinSpec::Qif { tau_mem, tau_syn }.serialize(s)
            }
            NeuronSpec::Lif {
                tau_mem,
                tau_syn,
                theta,
                v_reset,
            } => BuiltinSpec::Lif {
                tau_mem,
                tau_syn,
                theta,
                v_reset,
            }
            .serialize(s),
            NeuronSpec::Custom {
                ref kind,
                ref constants,
            } => {
                let mut map = serde_json::Map::new();
                map.insert("kind".into(), kind.clone().into());
                map.extend(constants.clone());
                map.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for NeuronSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::deserialize(d)?;
        let kind = match map.get("kind") {
            Some(serde_json::Value::String(k)) => k.clone(),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "neuron kind {other} is not a string"
                )))
            }
            None => return Err(D::Error::missing_field("kind")),
        };
        if kind == "qif" || kind == "lif" {
            return Ok(
                match BuiltinSpec::deserialize(serde_json::Value::Object(map))
                    .map_err(D::Error::custom)?
                {
                    BuiltinSpec::Qif { tau_mem, tau_syn } => NeuronSpec::Qif { tau_mem, tau_syn },
                    BuiltinSpec::Lif {
                        tau_mem,
                        tau_syn,
                        theta,
                        v_reset,
                    } => NeuronSpec::Lif {
                        tau_mem,
                        tau_syn,
                        theta,
                        v_reset,
                    },
                },
            );
        }
        if kind.is_empty() {
            return Err(D::Error::custom("the neuron kind is empty"));
        }
        map.remove("kind");
        Ok(NeuronSpec::Custom {
            kind,
            constants: map,
        })
    }
}

/// One layer in the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Inputs.
    pub n_in: usize,
    /// Neurons.
    pub n_out: usize,
    /// `n_out × n_in`, row-major (`n_out × n_in × K` for the file's
    /// `weights_per_synapse` `K`).
    pub weights: Vec<f64>,
    /// One bias per neuron (version 1: models with one parameter per
    /// neuron); absent in version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biases: Option<Vec<f64>>,
    /// `n_out × P`, row-major, the parameters the file's `param_names`
    /// name (version 2); absent in version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neuron_params: Option<Vec<f64>>,
    /// Synaptic delays (ms), `n_out × n_in` row-major; absent without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synaptic_delays: Option<Vec<f64>>,
    /// Axonal delays (ms), one per input; absent without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axonal_delays: Option<Vec<f64>>,
    /// Recurrent weights, `n_out × n_out` row-major (`[j·n_out + i]`:
    /// neuron `i` to neuron `j`); absent in a feed-forward layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent_weights: Option<Vec<f64>>,
    /// Which recurrent synapses exist, in that layout; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent_mask: Option<Vec<bool>>,
}

impl LayerSpec {
    /// A layer of `params` in the layout of `version`: `biases` in version
    /// 1, `neuron_params` in version 2.
    fn of(l: &LayerParams, version: u32) -> Self {
        let values = Some(l.neuron_params.clone());
        let (biases, neuron_params) = if version == VERSION_BIASES {
            (values, None)
        } else {
            (None, values)
        };
        LayerSpec {
            n_in: l.n_in,
            n_out: l.n_out,
            weights: l.weights.clone(),
            biases,
            neuron_params,
            synaptic_delays: l.synaptic_delays.clone(),
            axonal_delays: l.axonal_delays.clone(),
            recurrent_weights: l.recurrent_weights.clone(),
            recurrent_mask: l.recurrent_mask.clone(),
        }
    }

    /// The per-neuron parameters, whichever field holds them (empty when
    /// neither does: [`ModelFile::parse`] rejects that).
    pub fn values(&self) -> &[f64] {
        self.neuron_params
            .as_deref()
            .or(self.biases.as_deref())
            .unwrap_or_default()
    }

    /// The layer of a gradient (or parameters) with `param_names.len()`
    /// entries per neuron, in the model file's layout for those names.
    pub fn for_names(l: &LayerParams, param_names: &[&str]) -> Self {
        Self::of(l, version_for(param_names))
    }
}

/// The format version for a model whose per-neuron parameters are
/// `param_names`: 1 for the bias alone, else 2.
fn version_for(param_names: &[&str]) -> u32 {
    if param_names == ["bias"] {
        VERSION_BIASES
    } else {
        VERSION
    }
}

/// Whether `i` is the default integrator, left out of files.
fn is_auto(i: &Integrator) -> bool {
    *i == Integrator::Auto
}

/// A model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Always `"evnn-model"`.
    pub format: String,
    /// Format version: 1 (`biases`) or 2 (`param_names`, `neuron_params`).
    pub version: u32,
    /// Neuron kind and constants.
    pub neuron: NeuronSpec,
    /// The names of a neuron's learnable parameters, in the order of each
    /// row of `neuron_params` (version 2; the model's
    /// [`PARAM_NAMES`](evnn_neurons::NeuronModel::PARAM_NAMES)); absent in
    /// version 1, where the one parameter is the bias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_names: Option<Vec<String>>,
    /// The number of weights per synapse, `K > 1` (EGRU's 3); absent for
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_per_synapse: Option<usize>,
    /// Simulated interval and input window `[0, t_max]`.
    pub t_max: f64,
    /// Solver tolerance used.
    pub tol: f64,
    /// The integrator the network was trained with (`evnn train
    /// --integrator`), which `eval`, `simulate` and `grad` use unless told
    /// otherwise; absent for `auto`, the model's best.
    #[serde(default, skip_serializing_if = "is_auto")]
    pub integrator: Integrator,
    /// Layer sizes, inputs first.
    pub sizes: Vec<usize>,
    /// Layers, first hidden layer first.
    pub layers: Vec<LayerSpec>,
    /// The generated task the network was trained on (`evnn train
    /// --dataset`), which `eval` regenerates; absent for Yin–Yang and data
    /// files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
}

impl ModelFile {
    /// A file for `params` trained with `config`, whose neurons have the
    /// learnable parameters `param_names` (the model's
    /// [`PARAM_NAMES`](evnn_neurons::NeuronModel::PARAM_NAMES);
    /// [`models::param_names`](crate::models::param_names) looks them up):
    /// version 1 with `biases` for `["bias"]`, else version 2.
    pub fn new(config: &TrainConfig, params: &NetworkParams, param_names: &[&str]) -> Self {
        let neuron = match &config.model {
            ModelKind::Qif => NeuronSpec::Qif {
                tau_mem: config.tau_mem,
                tau_syn: config.tau_syn,
            },
            ModelKind::Lif => NeuronSpec::Lif {
                tau_mem: config.tau_mem,
                tau_syn: config.tau_syn,
                theta: config.theta,
                v_reset: config.v_reset,
            },
            ModelKind::Custom(kind) => NeuronSpec::Custom {
                kind: kind.clone(),
                constants: config.constants.clone(),
            },
        };
        let version = version_for(param_names);
        let k_w = params
            .layers
            .first()
            .map_or(1, LayerParams::weights_per_synapse);
        ModelFile {
            format: FORMAT.into(),
            version,
            neuron,
            param_names: (version != VERSION_BIASES)
                .then(|| param_names.iter().map(|n| n.to_string()).collect()),
            weights_per_synapse: (k_w > 1).then_some(k_w),
            t_max: config.t_max,
            tol: config.tol,
            integrator: config.integrator,
            sizes: params.sizes(),
            layers: params
                .layers
                .iter()
                .map(|l| LayerSpec::of(l, version))
                .collect(),
            task: config.task.clone(),
        }
    }

    /// The names of a neuron's learnable parameters: `param_names`, or
    /// `["bias"]` in a version 1 file.
    pub fn param_names(&self) -> Vec<&str> {
        match &self.param_names {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => vec!["bias"],
        }
    }

    /// An error unless the file's per-neuron parameters are `expected`
    /// (the model's [`PARAM_NAMES`](evnn_neurons::NeuronModel::PARAM_NAMES)),
    /// naming both lists.
    pub fn check_param_names(&self, expected: &[&str]) -> anyhow::Result<()> {
        let found = self.param_names();
        if found != expected {
            anyhow::bail!(
                "the model file's neurons have the parameters [{}], the `{}` model's are [{}]",
                found.join(", "),
                self.config().model,
                expected.join(", ")
            );
        }
        Ok(())
    }

    /// The network parameters.
    pub fn params(&self) -> NetworkParams {
        NetworkParams {
            layers: self
                .layers
                .iter()
                .map(|l| LayerParams {
                    n_in: l.n_in,
                    n_out: l.n_out,
                    weights: l.weights.clone(),
                    neuron_params: l.values().to_vec(),
                    synaptic_delays: l.synaptic_delays.clone(),
                    axonal_delays: l.axonal_delays.clone(),
                    recurrent_weights: l.recurrent_weights.clone(),
                    recurrent_mask: l.recurrent_mask.clone(),
                })
                .collect(),
        }
    }

    /// A training configuration that rebuilds this network (for evaluation).
    pub fn config(&self) -> TrainConfig {
        let mut c = TrainConfig::default();
        match self.neuron {
            NeuronSpec::Custom {
                ref kind,
                ref constants,
            } => {
                c.model = ModelKind::Custom(kind.clone());
                c.constants = constants.clone();
            }
            NeuronSpec::Qif { tau_mem, tau_syn } => {
                c.model = ModelKind::Qif;
                c.tau_mem = tau_mem;
                c.tau_syn = tau_syn;
            }
            NeuronSpec::Lif {
                tau_mem,
                tau_syn,
                theta,
                v_reset,
            } => {
                c.model = ModelKind::Lif;
                c.tau_mem = tau_mem;
                c.tau_syn = tau_syn;
                c.theta = theta;
                c.v_reset = v_reset;
            }
        }
        if let (Some(&first), Some(&last)) = (self.sizes.first(), self.sizes.last()) {
            c.n_inputs = first;
            c.n_outputs = last;
        }
        // (Empty for sizes that a loaded file cannot have: fewer than 2.)
        c.hidden = self
            .sizes
            .get(1..self.sizes.len().saturating_sub(1))
            .unwrap_or_default()
            .to_vec();
        c.t_max = self.t_max;
        c.tol = self.tol;
        c.integrator = self.integrator;
        if let Some(Task::Intervals(t)) = &self.task {
            (c.train_size, c.val_size, c.test_size) = (t.train_size, t.val_size, t.test_size);
        }
        c.task = self.task.clone();
        c
    }

    fn validate(&self, path: &str) -> Result<(), ModelFileError> {
        let invalid = |message: String| ModelFileError::Invalid {
            path: path.into(),
            message,
        };
        if self.format != FORMAT {
            return Err(ModelFileError::Format {
                path: path.into(),
                found: self.format.clone(),
            });
        }
        if self.version != VERSION && self.version != VERSION_BIASES {
            return Err(ModelFileError::Version {
                path: path.into(),
                found: self.version,
            });
        }
        if self.sizes.len() < 2 || self.sizes.contains(&0) {
            return Err(invalid(format!(
                "sizes {:?}: inputs, at least one layer, and no empty layer",
                self.sizes
            )));
        }
        if self.layers.len() != self.sizes.len() - 1 {
            return Err(invalid(format!(
                "{} layers for sizes {:?}",
                self.layers.len(),
                self.sizes
            )));
        }
        for (k, l) in self.layers.iter().enumerate() {
            if l.n_in != self.sizes[k] || l.n_out != self.sizes[k + 1] {
                return Err(invalid(format!(
                    "layer {k} is {}×{}, sizes say {}×{}",
                    l.n_out,
                    l.n_in,
                    self.sizes[k + 1],
                    self.sizes[k]
                )));
            }
        }
        let names: Vec<&str> = match (self.version, &self.param_names) {
            (VERSION_BIASES, None) => vec!["bias"],
            (VERSION_BIASES, Some(_)) => {
                return Err(invalid(
                    "param_names is a field of version 2 (version 1 has biases)".into(),
                ))
            }
            (_, None) => return Err(invalid("version 2 needs param_names".into())),
            (_, Some(names)) => {
                if names.is_empty() || names.iter().any(String::is_empty) {
                    return Err(invalid(format!(
                        "param_names {names:?}: at least one name, none empty"
                    )));
                }
                names.iter().map(String::as_str).collect()
            }
        };
        let n_params = names.len();
        for (k, l) in self.layers.iter().enumerate() {
            let (field, other, values) = if self.version == VERSION_BIASES {
                ("biases", "neuron_params", &l.biases)
            } else {
                ("neuron_params", "biases", &l.neuron_params)
            };
            let present = if self.version == VERSION_BIASES {
                l.neuron_params.is_some()
            } else {
                l.biases.is_some()
            };
            if present {
                return Err(invalid(format!(
                    "layer {k} has {other}, a field of version {}",
                    if self.version == VERSION_BIASES {
                        VERSION
                    } else {
                        VERSION_BIASES
                    }
                )));
            }
            let Some(values) = values else {
                return Err(invalid(format!("layer {k} has no {field}")));
            };
            let expected = l.n_out.checked_mul(n_params);
            if expected != Some(values.len()) {
                return Err(invalid(format!(
                    "layer {k}: {field} has {} entries, expected n_out × P = {} × {n_params} = {} ({} per neuron)",
                    values.len(),
                    l.n_out,
                    expected.map_or("overflow".into(), |e| e.to_string()),
                    names.join(", ")
                )));
            }
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(invalid(format!(
                    "layer {k}: {field}[{i}] (neuron {}'s {}) is {v}, must be finite",
                    i / n_params,
                    names[i % n_params]
                )));
            }
        }
        // Shapes and weights, as the network checks them.
        let k_w = match self.weights_per_synapse {
            None => 1,
            Some(k) if (2..=evnn_neurons::MAX_WEIGHTS_PER_SYNAPSE).contains(&k) => k,
            Some(k) => {
                return Err(invalid(format!(
                    "weights_per_synapse {k}: must be between 2 and {} (leave it out for one)",
                    evnn_neurons::MAX_WEIGHTS_PER_SYNAPSE
                )))
            }
        };
        let params = self.params();
        params
            .validate_synapses(n_params, k_w, &["bias"])
            .map_err(|e| invalid(e.to_string()))?;
        let config = self.config();
        config.validate().map_err(|e| invalid(e.to_string()))?;
        if matches!(self.neuron, NeuronSpec::Qif { .. } | NeuronSpec::Lif { .. })
            && names != ["bias"]
        {
            return Err(invalid(format!(
                "param_names [{}]: a {} neuron has one parameter, the bias",
                names.join(", "),
                config.model
            )));
        }
        match &self.neuron {
            &NeuronSpec::Qif { tau_mem, tau_syn } => {
                evnn_neurons::Qif::new(tau_mem, tau_syn).map_err(|e| invalid(e.to_string()))?;
            }
            &NeuronSpec::Lif {
                tau_mem,
                tau_syn,
                theta,
                v_reset,
            } => {
                evnn_neurons::Lif::new(tau_mem, tau_syn, theta, v_reset)
                    .map_err(|e| invalid(e.to_string()))?;
            }
            // A registered model's constants are checked by the program
            // that knows the model, when it builds the network.
            NeuronSpec::Custom { .. } => {}
        }
        Ok(())
    }

    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<Self, ModelFileError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelFileError::Io {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)
    }

    /// Parses and validates the text of a model file; `path` names it in
    /// errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ModelFileError> {
        let file: ModelFile = serde_json::from_str(text).map_err(|e| ModelFileError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        file.validate(path)?;
        Ok(file)
    }

    /// Writes the file atomically (temporary file, then rename), so an
    /// existing model is never left half-written.
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        let text = serde_json::to_string_pretty(self).map_err(|e| ModelFileError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        write_atomic(path, text.as_bytes()).map_err(|source| ModelFileError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// flushed to disk, and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        // On disk before the rename: a crash never leaves an empty file
        // under the final name.
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::init_params;

    fn tmpdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("evnn-modelfile-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_is_identical() {
        let config = TrainConfig::default();
        let params = init_params(&config).unwrap();
        let d = tmpdir("rt");
        let path = d.join("model.json");
        ModelFile::new(&config, &params, &["bias"])
            .save(&path)
            .unwrap();
        let back = ModelFile::load(&path).unwrap();
        assert_eq!(back.params(), params);
        assert_eq!(back.config().sizes(), config.sizes());
    }

    /// A version 1 file (one bias per neuron) reads and writes back to the
    /// same text, byte for byte, as before version 2 existed.
    #[test]
    fn version_1_files_write_back_identically() {
        let config = TrainConfig::default();
        let params = init_params(&config).unwrap();
        let file = ModelFile::new(&config, &params, &["bias"]);
        assert_eq!(file.version, VERSION_BIASES);
        let text = serde_json::to_string_pretty(&file).unwrap();
        assert!(text.contains("\"biases\""), "{text}");
        assert!(!text.contains("neuron_params") && !text.contains("param_names"));
        let back = ModelFile::parse(&text, "model.json").unwrap();
        assert_eq!(back.params(), params);
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);
    }

    /// Three parameters per neuron: version 2, `n_out × 3` row-major
    /// entries named by `param_names`, read back exactly; a wrong count or
    /// a missing name list is named.
    #[test]
    fn several_parameters_per_neuron_are_version_2() {
        use evnn_neurons::{NeuronModel, Pqif};
        let config = TrainConfig {
            model: ModelKind::Custom("pqif".into()),
            hidden: vec![4],
            ..TrainConfig::default()
        };
        let pqif = Pqif::default();
        let params = config.init_params_for(&pqif).unwrap();
        let file = ModelFile::new(&config, &params, Pqif::PARAM_NAMES);
        assert_eq!(file.version, VERSION);
        assert_eq!(file.param_names(), Pqif::PARAM_NAMES);
        let layer = &file.layers[0];
        let values = layer.neuron_params.as_ref().unwrap();
        assert_eq!(values.len(), 4 * 3);
        // Row j is neuron j's (bias, log τ_mem, log τ_syn).
        assert_eq!(&values[3..6], &params.layers[0].neuron_params[3..6]);
        assert_eq!(values[4], 20f64.ln());
        let text = serde_json::to_string(&file).unwrap();
        let back = ModelFile::parse(&text, "m.json").unwrap();
        assert_eq!(back.params(), params);
        back.check_param_names(Pqif::PARAM_NAMES).unwrap();
        let err = back.check_param_names(&["bias"]).unwrap_err().to_string();
        assert!(err.contains("[bias, log_tau_mem, log_tau_syn]"), "{err}");

        let mut short = file.clone();
        short.layers[1].neuron_params.as_mut().unwrap().pop();
        let err = ModelFile::parse(&serde_json::to_string(&short).unwrap(), "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer 1: neuron_params has 8 entries, expected n_out × P = 3 × 3 = 9"),
            "{err}"
        );
        let mut unnamed = file.clone();
        unnamed.param_names = None;
        let err = ModelFile::parse(&serde_json::to_string(&unnamed).unwrap(), "m.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 2 needs param_names"), "{err}");
        let mut both = file.clone();
        both.layers[0].biases = Some(vec![0.0; 4]);
        let err = ModelFile::parse(&serde_json::to_string(&both).unwrap(), "m.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer 0 has biases, a field of version 1"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_are_typed_errors() {
        let config = TrainConfig::default();
        let params = init_params(&config).unwrap();
        let good = serde_json::to_string(&ModelFile::new(&config, &params, &["bias"])).unwrap();
        let d = tmpdir("bad");
        let write = |name: &str, text: &str| {
            let p = d.join(name);
            std::fs::write(&p, text).unwrap();
            ModelFile::load(&p)
        };
        assert!(matches!(
            write("trunc.json", &good[..good.len() / 2]),
            Err(ModelFileError::Parse { .. })
        ));
        assert!(matches!(
            write("garbage.json", "\u{0}\u{1}xyz"),
            Err(ModelFileError::Parse { .. })
        ));
        let v3 = good.replace("\"version\":1", "\"version\":3");
        assert!(matches!(
            write("v3.json", &v3),
            Err(ModelFileError::Version { found: 3, .. })
        ));
        // Version 2 keeps the parameters in `neuron_params`, named by
        // `param_names`.
        let v2 = good.replace("\"version\":1", "\"version\":2");
        let err = write("v2.json", &v2).unwrap_err().to_string();
        assert!(err.contains("param_names"), "{err}");
        let fmt = good.replace("evnn-model", "other");
        assert!(matches!(
            write("fmt.json", &fmt),
            Err(ModelFileError::Format { .. })
        ));
        let mut f = ModelFile::new(&config, &params, &["bias"]);
        f.layers[0].weights.pop();
        let shape = serde_json::to_string(&f).unwrap();
        assert!(matches!(
            write("shape.json", &shape),
            Err(ModelFileError::Invalid { .. })
        ));
        let mut f = ModelFile::new(&config, &params, &["bias"]);
        f.neuron = NeuronSpec::Qif {
            tau_mem: -1.0,
            tau_syn: 5.0,
        };
        let tau = serde_json::to_string(&f).unwrap();
        let err = write("tau.json", &tau).unwrap_err();
        assert!(err.to_string().contains("tau_mem"), "{err}");
        let extra = good.replacen('{', "{\"surprise\":1,", 1);
        assert!(matches!(
            write("extra.json", &extra),
            Err(ModelFileError::Parse { .. })
        ));
        assert!(matches!(
            ModelFile::load(&d.join("missing.json")),
            Err(ModelFileError::Io { .. })
        ));
    }
}
