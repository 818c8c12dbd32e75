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

use crate::experiment::{ModelKind, TrainConfig};
use evnn_net::{LayerParams, NetworkParams};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The current format version.
pub const VERSION: u32 = 1;
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
    #[error("model file {path}: version {found} is not supported (this program reads version {VERSION})")]
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
    /// `n_out × n_in`, row-major.
    pub weights: Vec<f64>,
    /// One bias per neuron.
    pub biases: Vec<f64>,
}

/// A model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Always `"evnn-model"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Neuron kind and constants.
    pub neuron: NeuronSpec,
    /// Simulated interval and input window `[0, t_max]`.
    pub t_max: f64,
    /// Solver tolerance used.
    pub tol: f64,
    /// Layer sizes, inputs first.
    pub sizes: Vec<usize>,
    /// Layers, first hidden layer first.
    pub layers: Vec<LayerSpec>,
}

impl ModelFile {
    /// A file for `params` trained with `config`.
    pub fn new(config: &TrainConfig, params: &NetworkParams) -> Self {
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
        ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            neuron,
            t_max: config.t_max,
            tol: config.tol,
            sizes: params.sizes(),
            layers: params
                .layers
                .iter()
                .map(|l| LayerSpec {
                    n_in: l.n_in,
                    n_out: l.n_out,
                    weights: l.weights.clone(),
                    biases: l.neuron_params.clone(),
                })
                .collect(),
        }
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
                    neuron_params: l.biases.clone(),
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
        if self.version != VERSION {
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
        // Shapes and values, as the network checks them.
        let params = self.params();
        params
            .validate(1, &["bias"])
            .map_err(|e| invalid(e.to_string()))?;
        let config = self.config();
        config.validate().map_err(|e| invalid(e.to_string()))?;
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
        ModelFile::new(&config, &params).save(&path).unwrap();
        let back = ModelFile::load(&path).unwrap();
        assert_eq!(back.params(), params);
        assert_eq!(back.config().sizes(), config.sizes());
    }

    #[test]
    fn bad_files_are_typed_errors() {
        let config = TrainConfig::default();
        let params = init_params(&config).unwrap();
        let good = serde_json::to_string(&ModelFile::new(&config, &params)).unwrap();
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
        let v2 = good.replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            write("v2.json", &v2),
            Err(ModelFileError::Version { found: 2, .. })
        ));
        let fmt = good.replace("evnn-model", "other");
        assert!(matches!(
            write("fmt.json", &fmt),
            Err(ModelFileError::Format { .. })
        ));
        let mut f = ModelFile::new(&config, &params);
        f.layers[0].weights.pop();
        let shape = serde_json::to_string(&f).unwrap();
        assert!(matches!(
            write("shape.json", &shape),
            Err(ModelFileError::Invalid { .. })
        ));
        let mut f = ModelFile::new(&config, &params);
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
