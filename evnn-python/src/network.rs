//! `evnn.Network`: a network's description and parameters, and the passes
//! that run it (forward, prediction, loss and gradient).

use crate::convert;
use crate::{compute, library_error, value_error};
use anyhow::{Context, Result};
use evnn_examples::experiment::{ModelKind, TrainConfig, WithNet};
use evnn_examples::model_file::ModelFile;
use evnn_examples::models::{family, param_names, Models};
use evnn_net::{
    BatchRunner, FeedForward, ForwardTrace, LiReadout, LossKind, NetError, NetworkParams,
    ReadoutBatch, ReadoutParams, ReadoutScore, SpikeTrains,
};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};
use numpy::ndarray::{Array1, Array2};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A job on the concrete network that [`with_network`] builds.
trait NetJob {
    /// What it returns.
    type Output;
    /// Runs on `net`.
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<Self::Output>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync;
}

/// A [`NetJob`] run by the program's registry, on the network of the
/// configuration's layer sizes.
struct Registered<'a, J> {
    sizes: &'a [usize],
    job: J,
}

impl<J: NetJob> WithNet for Registered<'_, J> {
    type Output = J::Output;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<J::Output>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        // The configuration records the sizes (`n_inputs`, `hidden`,
        // `n_outputs`); a mismatch would be a bug here, not bad input.
        if net.sizes() != self.sizes {
            anyhow::bail!(
                "the registry built layer sizes {:?}, expected {:?}",
                net.sizes(),
                self.sizes
            );
        }
        self.job.run(net)
    }
}

/// Runs `job` on the network of `config` with layer sizes `sizes`, built
/// by the `evnn` program's registry of neuron models.
fn with_network<J: NetJob>(config: &TrainConfig, sizes: &[usize], job: J) -> Result<J::Output> {
    family().with_net(config, Registered { sizes, job })
}

/// The program's initialisation (`evnn train`'s initial parameters for
/// the same model, sizes and seed).
struct Init<'a> {
    config: &'a TrainConfig,
}

impl NetJob for Init<'_> {
    type Output = NetworkParams;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<NetworkParams>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        Ok(net.init_params(&self.config.init_config(), self.config.seed)?)
    }
}

/// Checks that parameters fit the network (shapes, finite values).
struct Check<'a> {
    params: &'a NetworkParams,
}

impl NetJob for Check<'_> {
    type Output = ();
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<()>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        Ok(net.check_params(self.params)?)
    }
}

/// What a forward pass keeps of each sample.
#[derive(Clone, Copy)]
enum Keep {
    /// The output layer's first spike times (`inf`: silent).
    FirstSpikes,
    /// Every layer's spike trains.
    AllSpikes,
}

/// A sample's result of [`Forward`].
enum Kept {
    FirstSpikes(Vec<f64>),
    AllSpikes(Vec<Vec<Vec<f64>>>),
}

/// Samples per work unit of [`Forward`].
const CHUNK: usize = 8;

/// The full forward pass of every sample, in parallel on rayon's pool in
/// chunks of [`CHUNK`] (each sample's result is independent of the
/// others and of the thread count).
struct Forward<'a> {
    params: &'a NetworkParams,
    inputs: &'a [SpikeTrains],
    keep: Keep,
}

impl NetJob for Forward<'_> {
    type Output = Vec<Kept>;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<Vec<Kept>>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        net.check_params(self.params)?;
        let keep = self.keep;
        let chunks = self
            .inputs
            .par_chunks(CHUNK)
            .enumerate()
            .map_init(
                || (net.workspace(), ForwardTrace::default()),
                |(ws, trace), (chunk, xs)| {
                    xs.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            net.forward(self.params, x, ws, trace).map_err(|e| {
                                NetError::Sample {
                                    sample: chunk * CHUNK + i,
                                    source: Box::new(e),
                                }
                            })?;
                            Ok(match keep {
                                Keep::FirstSpikes => Kept::FirstSpikes(trace.first_spikes()),
                                Keep::AllSpikes => Kept::AllSpikes(
                                    trace.layers.iter().map(|l| l.outputs.to_trains()).collect(),
                                ),
                            })
                        })
                        .collect::<Result<Vec<_>, NetError>>()
                },
            )
            .collect::<Result<Vec<_>, NetError>>()?;
        Ok(chunks.into_iter().flatten().collect())
    }
}

/// Predicted classes ([`BatchRunner::predict`], as `evnn eval`).
struct Predict<'a> {
    params: &'a NetworkParams,
    inputs: &'a [SpikeTrains],
}

impl NetJob for Predict<'_> {
    type Output = Vec<Option<usize>>;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<Vec<Option<usize>>>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        Ok(BatchRunner::new(net).predict(self.params, self.inputs)?)
    }
}

/// Mean loss and, when asked, the gradient of the mean loss
/// ([`BatchRunner::loss_and_grad`], as `evnn grad`).
struct Loss<'a> {
    config: &'a TrainConfig,
    params: &'a NetworkParams,
    inputs: &'a [SpikeTrains],
    labels: &'a [usize],
    kind: LossKind,
    with_grad: bool,
}

impl NetJob for Loss<'_> {
    type Output = (f64, Option<NetworkParams>);
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<(f64, Option<NetworkParams>)>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let loss = evnn_net::TtfsLoss {
            kind: self.kind,
            ..self.config.ttfs_loss()
        };
        let runner = BatchRunner::new(net);
        let r = if self.with_grad {
            runner.loss_and_grad(self.params, self.inputs, self.labels, &loss)?
        } else {
            runner.loss(self.params, self.inputs, self.labels, &loss)?
        };
        let grad = r.grad.clone().map(|mut g| {
            g.scale(1.0 / r.n.max(1) as f64);
            g
        });
        Ok((r.mean_loss(), grad))
    }
}

/// A leaky-integrator readout of the network's last layer: every sample's
/// scores, the summed cross-entropy and, when asked, the summed gradient
/// ([`BatchRunner::readout_loss_and_grad`]; the methods divide by the
/// number of samples).
struct Readout<'a> {
    params: &'a ReadoutParams,
    readout: LiReadout,
    inputs: &'a [SpikeTrains],
    labels: &'a [usize],
    with_grad: bool,
}

impl NetJob for Readout<'_> {
    type Output = ReadoutBatch;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<ReadoutBatch>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let runner = BatchRunner::new(net);
        let (p, r, x, y) = (self.params, &self.readout, self.inputs, self.labels);
        Ok(if self.with_grad {
            runner.readout_loss_and_grad(p, r, x, y)?
        } else {
            runner.readout_loss(p, r, x, y)?
        })
    }
}

/// The readout of the Python keywords: time constants (checked by the
/// library) and the score by name, `"max"` or `"mean"`.
fn li_readout(tau_mem: f64, tau_syn: f64, score: &str) -> PyResult<LiReadout> {
    let score = match score {
        "max" => ReadoutScore::Max,
        "mean" => ReadoutScore::Mean,
        other => {
            return Err(value_error(format!(
                "unknown readout score {other:?} (known: \"max\", \"mean\")"
            )))
        }
    };
    LiReadout::new(tau_mem, tau_syn)
        .map(|r| r.with_score(score))
        .map_err(|e| value_error(format!("readout: {e}")))
}

/// The loss form by name: `"eventprop"` (also `"event_prop"`, as
/// configurations write it) or `"eventax"`.
fn loss_kind(name: &str) -> PyResult<LossKind> {
    match name {
        "eventprop" | "event_prop" => Ok(LossKind::EventProp),
        "eventax" => Ok(LossKind::Eventax),
        other => Err(value_error(format!(
            "unknown loss {other:?} (known: \"eventprop\", \"eventax\")"
        ))),
    }
}

/// The constants that the built-in models take as keywords.
fn builtin_constants(model: &ModelKind) -> &'static [&'static str] {
    match model {
        ModelKind::Qif => &["tau_mem", "tau_syn"],
        ModelKind::Lif => &["tau_mem", "tau_syn", "theta", "v_reset"],
        ModelKind::Custom(_) => &[],
    }
}

/// A feed-forward spiking network: neuron model and constants, layer
/// sizes, and parameters.
///
/// Built by `Network(model="qif", sizes=[5, 20, 3], seed=0, **constants)`
/// with the initialisation of `evnn train`, or read by `evnn.load_model`.
/// Every pass releases the GIL and runs in parallel (rayon; the number of
/// threads is `RAYON_NUM_THREADS`, all cores by default); results do not
/// depend on it.
#[pyclass(module = "evnn", name = "Network", frozen)]
pub(crate) struct Network {
    /// The model, its constants, the interval, tolerance and integrator
    /// (checked, and for a registered model with its constants complete).
    config: TrainConfig,
    /// Layer sizes, inputs first.
    sizes: Vec<usize>,
    /// The parameters; replaced whole by `set_params`, so that a pass
    /// running in another thread keeps the ones it started with.
    params: Mutex<Arc<NetworkParams>>,
}

impl Network {
    /// A network of `config` with `sizes` and `params`, checked against
    /// each other by the network itself.
    fn checked(
        py: Python<'_>,
        config: TrainConfig,
        sizes: Vec<usize>,
        params: NetworkParams,
    ) -> PyResult<Self> {
        compute(py, || {
            with_network(&config, &sizes, Check { params: &params })
        })?;
        Ok(Network {
            config,
            sizes,
            params: Mutex::new(Arc::new(params)),
        })
    }

    /// The current parameters (shared; never changed in place).
    fn current(&self) -> Arc<NetworkParams> {
        self.params
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Runs `job` on this network without the GIL.
    fn run<J: NetJob + Send>(&self, py: Python<'_>, job: J) -> PyResult<J::Output>
    where
        J::Output: Send,
    {
        compute(py, || with_network(&self.config, &self.sizes, job))
    }

    /// The forward pass of Python `inputs` (converted and checked), keeping
    /// what `keep` says of every sample; with the number of samples.
    fn forward(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        keep: Keep,
    ) -> PyResult<(usize, Vec<Kept>)> {
        let inputs = convert::spike_inputs(inputs)?;
        let params = self.current();
        let job = Forward {
            params: &params,
            inputs: &inputs,
            keep,
        };
        Ok((inputs.len(), self.run(py, job)?))
    }

    /// A network trained by `evnn.train` (its configuration and best
    /// parameters).
    pub(crate) fn trained(
        py: Python<'_>,
        config: &TrainConfig,
        params: NetworkParams,
    ) -> PyResult<Self> {
        Self::checked(py, config.clone(), config.sizes(), params)
    }

    /// The readout's network parameters (the current ones) with readout
    /// `weights`, a float64 array `(n_classes, n_last)` (`n_last`: the
    /// last layer's size).
    fn readout_params(&self, weights: &Bound<'_, PyAny>) -> PyResult<ReadoutParams> {
        let (values, shape) = convert::f64_array(weights, "readout weights")?;
        let n_last = *self.sizes.last().unwrap_or(&0);
        let &[n_classes, n_in] = shape.as_slice() else {
            return Err(value_error(format!(
                "readout weights must be 2-D (n_classes, {n_last}), got shape {shape:?}"
            )));
        };
        if n_in != n_last {
            return Err(value_error(format!(
                "readout weights have shape {shape:?}: {n_in} columns, but the last layer has {n_last} neurons"
            )));
        }
        ReadoutParams::new((*self.current()).clone(), n_classes, values)
            .map_err(|e| value_error(format!("readout weights: {e}")))
    }

    /// The readout pass of Python arguments (converted and checked), and
    /// the number of classes; with `labels` `None` (scores only) every
    /// label is 0, which the scores do not depend on.
    #[allow(clippy::too_many_arguments)]
    fn readout_pass(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        labels: Option<&Bound<'_, PyAny>>,
        weights: &Bound<'_, PyAny>,
        readout: LiReadout,
        with_grad: bool,
    ) -> PyResult<(ReadoutBatch, usize)> {
        let inputs = convert::spike_inputs(inputs)?;
        let labels = match labels {
            Some(l) => convert::labels(l)?,
            None => vec![0; inputs.len()],
        };
        let params = self.readout_params(weights)?;
        let batch = self.run(
            py,
            Readout {
                params: &params,
                readout,
                inputs: &inputs,
                labels: &labels,
                with_grad,
            },
        )?;
        Ok((batch, params.n_out))
    }
}

#[pymethods]
impl Network {
    /// Network(model="qif", sizes=[5, 20, 3], seed=0, *, t_max=30.0, tol=1e-6, integrator="auto", init=None, layer_wide=False, **constants)
    /// --
    ///
    /// A network of `model` neurons ("qif", "lif", or a model of the
    /// program's registry: "eif", "izhikevich", "alif", "plif", "pqif",
    /// "pizhikevich", "egru") with layer sizes `sizes`
    /// (inputs first), initialised as `evnn train --seed SEED` initialises
    /// it. `constants` are the model's (qif: tau_mem, tau_syn; lif: also
    /// theta, v_reset; others: their fields), defaults as in the program;
    /// `init` a dict of the initial distribution (wmean, wlim, bmean, blim,
    /// fan_in) in place of the model's default; times in ms. `layer_wide`
    /// simulates each layer's LIF neurons together, recurrent layers and
    /// delays too (LIF on the closed form only): the same results to
    /// round-off, much faster on wide layers with many input spikes; model
    /// files do not record it.
    #[new]
    #[pyo3(signature = (model="qif", sizes=vec![5, 20, 3], seed=0, *, t_max=30.0, tol=1e-6, integrator="auto", init=None, layer_wide=false, **constants))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: &str,
        sizes: Vec<i64>,
        seed: i64,
        t_max: f64,
        tol: f64,
        integrator: &str,
        init: Option<&Bound<'_, PyAny>>,
        layer_wide: bool,
        constants: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let sizes: Vec<usize> = sizes
            .iter()
            .map(|&n| {
                usize::try_from(n).map_err(|_| value_error(format!("layer size {n} is negative")))
            })
            .collect::<PyResult<_>>()?;
        if sizes.len() < 2 {
            return Err(value_error(format!(
                "sizes {sizes:?}: a network needs at least an input and an output size"
            )));
        }
        let kind: ModelKind = model.parse().map_err(value_error)?;
        let mut c = serde_json::Map::new();
        c.insert("model".into(), model.into());
        c.insert("n_inputs".into(), sizes[0].into());
        c.insert("hidden".into(), sizes[1..sizes.len() - 1].into());
        c.insert("n_outputs".into(), sizes[sizes.len() - 1].into());
        c.insert("seed".into(), seed.into());
        for (name, value) in [("t_max", t_max), ("tol", tol)] {
            let number = serde_json::Number::from_f64(value)
                .ok_or_else(|| value_error(format!("{name} = {value} is not finite")))?;
            c.insert(name.into(), number.into());
        }
        c.insert("integrator".into(), integrator.into());
        c.insert("layer_wide".into(), layer_wide.into());
        if let Some(init) = init {
            c.insert("init".into(), convert::to_json(init, "init")?);
        }
        let constants = match constants {
            Some(d) => match convert::to_json(d.as_any(), "")? {
                serde_json::Value::Object(map) => map,
                other => {
                    return Err(value_error(format!(
                        "constants: expected a dict, got {other}"
                    )))
                }
            },
            None => serde_json::Map::new(),
        };
        match kind {
            ModelKind::Custom(_) => {
                c.insert("constants".into(), constants.into());
            }
            ref builtin => {
                let known = builtin_constants(builtin);
                for (name, value) in constants {
                    if !known.contains(&name.as_str()) {
                        return Err(value_error(format!(
                            "unknown constant {name:?} of the {model} model (its constants: {})",
                            known.join(", ")
                        )));
                    }
                    c.insert(name, value);
                }
            }
        }
        let config: TrainConfig = serde_json::from_value(serde_json::Value::Object(c))
            .map_err(|e| value_error(e.to_string()))?;
        let config = (|| -> Result<TrainConfig> {
            config.validate()?;
            family().resolve(&config)
        })()
        .map_err(library_error)?;
        let params = compute(py, || {
            with_network(&config, &sizes, Init { config: &config })
        })?;
        Self::checked(py, config, sizes, params)
    }

    /// Layer sizes, inputs first.
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.sizes.clone()
    }

    /// The neuron model's name.
    #[getter]
    fn model(&self) -> String {
        self.config.model.name().to_string()
    }

    /// The neuron model's constants, as a model file records them.
    #[getter]
    fn constants<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let file = ModelFile::new(&self.config, &self.current(), &["bias"]);
        let mut neuron =
            serde_json::to_value(&file.neuron).map_err(|e| value_error(e.to_string()))?;
        if let Some(map) = neuron.as_object_mut() {
            map.remove("kind");
        }
        convert::from_json(py, &neuron)
    }

    /// End of the simulated interval and of the input window (ms).
    #[getter]
    fn t_max(&self) -> f64 {
        self.config.t_max
    }

    /// Relative and absolute solver tolerance.
    #[getter]
    fn tol(&self) -> f64 {
        self.config.tol
    }

    /// The integrator backend's name.
    #[getter]
    fn integrator(&self) -> &'static str {
        self.config.integrator.name()
    }

    /// The parameters: a list of one dict per layer with float64 arrays
    /// `weights` (n_out, n_in) and `biases` (n_out,). A copy: change them
    /// with `set_params`.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        convert::params_to_py(py, &self.current())
    }

    /// Replaces the parameters (the shapes of `params`, finite values).
    fn set_params(&self, py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<()> {
        let new = convert::params_from_py(params, &self.current())?;
        self.run(py, Check { params: &new })?;
        *self
            .params
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(new);
        Ok(())
    }

    /// Number of parameters.
    #[getter]
    fn n_params(&self) -> usize {
        self.current().len()
    }

    /// A copy with its own parameters.
    fn copy(&self) -> Self {
        Network {
            config: self.config.clone(),
            sizes: self.sizes.clone(),
            params: Mutex::new(self.current()),
        }
    }

    fn __copy__(&self) -> Self {
        self.copy()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        self.copy()
    }

    fn __repr__(&self) -> String {
        format!(
            "Network(model='{}', sizes={:?}, t_max={:?}, integrator='{}')",
            self.config.model.name(),
            self.sizes,
            self.config.t_max,
            self.config.integrator.name()
        )
    }

    /// Writes the network as an evnn model file (the format `evnn eval`,
    /// `simulate` and `grad` read).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let params = self.current();
        compute(py, || {
            let names = param_names(&family(), &self.config)?;
            let file = ModelFile::new(&self.config, &params, names);
            // The file's own checks first, so that no file is written that
            // the program would refuse to read.
            let text = serde_json::to_string(&file)?;
            ModelFile::parse(&text, &path.display().to_string())?;
            Ok(file.save(&path)?)
        })
    }

    /// First spike time of every output neuron for every sample, a float64
    /// array (n, n_out); `inf` where a neuron stays silent.
    ///
    /// `inputs`: a float64 array (n, channels) of one spike time per
    /// channel (`inf`: no spike), or a list of samples, each a list of
    /// channels, each a number or a sorted sequence of spike times.
    fn first_spike_times<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (n, kept) = self.forward(py, inputs, Keep::FirstSpikes)?;
        let n_out = *self.sizes.last().unwrap_or(&0);
        let mut flat = Vec::with_capacity(kept.len() * n_out);
        for k in kept {
            if let Kept::FirstSpikes(t) = k {
                flat.extend(t);
            }
        }
        let arr =
            Array2::from_shape_vec((n, n_out), flat).map_err(|e| value_error(e.to_string()))?;
        Ok(arr.into_pyarray(py).into_any())
    }

    /// Every neuron's spike times: per sample, per layer (first hidden
    /// layer first), per neuron a float64 array (the output of
    /// `evnn simulate`). `inputs` as for `first_spike_times`.
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let (_, kept) = self.forward(py, inputs, Keep::AllSpikes)?;
        let samples = PyList::empty(py);
        for k in kept {
            if let Kept::AllSpikes(layers) = k {
                let layer_list = PyList::empty(py);
                for layer in layers {
                    let neurons = PyList::empty(py);
                    for times in layer {
                        neurons.append(Array1::from(times).into_pyarray(py))?;
                    }
                    layer_list.append(neurons)?;
                }
                samples.append(layer_list)?;
            }
        }
        Ok(samples)
    }

    /// The predicted class of every sample (the output neuron that spikes
    /// first), an int64 array; -1 where every output neuron stays silent.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let inputs = convert::spike_inputs(inputs)?;
        let params = self.current();
        let predicted = self.run(
            py,
            Predict {
                params: &params,
                inputs: &inputs,
            },
        )?;
        let classes: Vec<i64> = predicted
            .iter()
            .map(|p| p.map_or(-1, |c| c as i64))
            .collect();
        Ok(Array1::from(classes).into_pyarray(py).into_any())
    }

    /// The share of samples whose predicted class is the label (as
    /// `evnn eval`).
    fn accuracy(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
    ) -> PyResult<f64> {
        let inputs = convert::spike_inputs(inputs)?;
        let labels = convert::labels(labels)?;
        if labels.len() != inputs.len() {
            return Err(value_error(format!(
                "{} labels for {} input samples",
                labels.len(),
                inputs.len()
            )));
        }
        let n_out = *self.sizes.last().unwrap_or(&0);
        if let Some(&l) = labels.iter().find(|&&l| l >= n_out) {
            return Err(value_error(format!(
                "label {l} out of range for {n_out} classes"
            )));
        }
        let params = self.current();
        let predicted = self.run(
            py,
            Predict {
                params: &params,
                inputs: &inputs,
            },
        )?;
        let correct = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, &y)| **p == Some(y))
            .count();
        Ok(correct as f64 / labels.len().max(1) as f64)
    }

    /// The mean loss over the samples. `loss`: "eventprop" (EventProp's
    /// time-to-first-spike cross-entropy) or "eventax".
    #[pyo3(signature = (inputs, labels, loss="eventprop"))]
    fn loss(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        loss: &str,
    ) -> PyResult<f64> {
        let kind = loss_kind(loss)?;
        let inputs = convert::spike_inputs(inputs)?;
        let labels = convert::labels(labels)?;
        let params = self.current();
        let (loss, _) = self.run(
            py,
            Loss {
                config: &self.config,
                params: &params,
                inputs: &inputs,
                labels: &labels,
                kind,
                with_grad: false,
            },
        )?;
        Ok(loss)
    }

    /// The mean loss and its exact (EventProp) gradient, in the shapes of
    /// `params` (as `evnn grad`). `loss` as for `loss`.
    #[pyo3(signature = (inputs, labels, loss="eventprop"))]
    fn loss_and_grad<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        loss: &str,
    ) -> PyResult<(f64, Bound<'py, PyList>)> {
        let kind = loss_kind(loss)?;
        let inputs = convert::spike_inputs(inputs)?;
        let labels = convert::labels(labels)?;
        let params = self.current();
        let (loss, grad) = self.run(
            py,
            Loss {
                config: &self.config,
                params: &params,
                inputs: &inputs,
                labels: &labels,
                kind,
                with_grad: true,
            },
        )?;
        let grad = grad.ok_or_else(|| value_error("the gradient was not computed"))?;
        Ok((loss, convert::params_to_py(py, &grad)?))
    }

    /// readout_scores(inputs, weights, *, tau_mem=20.0, tau_syn=5.0, score="max")
    /// --
    ///
    /// The scores of a leaky-integrator readout of the last layer, a
    /// float64 array (n, n_classes): readout neuron `k` sums the last
    /// layer's spikes through `weights[k]` (float64, (n_classes,
    /// n_last)) and an exponential synapse (`tau_syn`) into a leaky
    /// membrane (`tau_mem`); its score is its largest voltage over the run
    /// (`score="max"`) or its mean (`"mean"`), in closed form. The class
    /// is the score's argmax.
    #[pyo3(signature = (inputs, weights, *, tau_mem=20.0, tau_syn=5.0, score="max"))]
    fn readout_scores<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        weights: &Bound<'py, PyAny>,
        tau_mem: f64,
        tau_syn: f64,
        score: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let readout = li_readout(tau_mem, tau_syn, score)?;
        let (r, n_classes) = self.readout_pass(py, inputs, None, weights, readout, false)?;
        let flat: Vec<f64> = r.scores.into_iter().flatten().collect();
        let arr = Array2::from_shape_vec((r.n, n_classes), flat)
            .map_err(|e| value_error(e.to_string()))?;
        Ok(arr.into_pyarray(py).into_any())
    }

    /// readout_loss(inputs, labels, weights, *, tau_mem=20.0, tau_syn=5.0, score="max")
    /// --
    ///
    /// The mean cross-entropy of the softmax of the readout's scores
    /// (`readout_scores`) against `labels`.
    #[pyo3(signature = (inputs, labels, weights, *, tau_mem=20.0, tau_syn=5.0, score="max"))]
    #[allow(clippy::too_many_arguments)]
    fn readout_loss(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        weights: &Bound<'_, PyAny>,
        tau_mem: f64,
        tau_syn: f64,
        score: &str,
    ) -> PyResult<f64> {
        let readout = li_readout(tau_mem, tau_syn, score)?;
        let (r, _) = self.readout_pass(py, inputs, Some(labels), weights, readout, false)?;
        Ok(r.mean_loss())
    }

    /// readout_loss_and_grad(inputs, labels, weights, *, tau_mem=20.0, tau_syn=5.0, score="max")
    /// --
    ///
    /// `readout_loss` and the exact gradient of that mean loss: `(loss,
    /// grads, weights_grad)`, `grads` in the shapes of `params` (through
    /// every spike of the network), `weights_grad` in the shape of
    /// `weights`.
    #[pyo3(signature = (inputs, labels, weights, *, tau_mem=20.0, tau_syn=5.0, score="max"))]
    #[allow(clippy::too_many_arguments)]
    fn readout_loss_and_grad<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        weights: &Bound<'py, PyAny>,
        tau_mem: f64,
        tau_syn: f64,
        score: &str,
    ) -> PyResult<(f64, Bound<'py, PyList>, Bound<'py, PyAny>)> {
        let readout = li_readout(tau_mem, tau_syn, score)?;
        let (r, _) = self.readout_pass(py, inputs, Some(labels), weights, readout, true)?;
        let loss = r.mean_loss();
        let mut grad = r
            .grad
            .ok_or_else(|| value_error("the gradient was not computed"))?;
        let scale = 1.0 / r.n.max(1) as f64;
        grad.network.scale(scale);
        grad.weights.iter_mut().for_each(|g| *g *= scale);
        let w = Array2::from_shape_vec((grad.n_out, grad.n_in), grad.weights)
            .map_err(|e| value_error(e.to_string()))?;
        Ok((
            loss,
            convert::params_to_py(py, &grad.network)?,
            w.into_pyarray(py).into_any(),
        ))
    }
}

/// load_model(path)
/// --
///
/// Reads an evnn model file (written by `evnn train` or `Network.save`).
#[pyfunction]
pub(crate) fn load_model(py: Python<'_>, path: PathBuf) -> PyResult<Network> {
    let (config, params) = compute(py, || {
        let file = ModelFile::load(&path)?;
        let config = family()
            .resolve(&file.config())
            .with_context(|| format!("model file {}", path.display()))?;
        file.check_param_names(param_names(&family(), &config)?)
            .with_context(|| format!("model file {}", path.display()))?;
        Ok((config, file.params()))
    })?;
    let sizes = params.sizes();
    if sizes != config.sizes() {
        return Err(library_error(anyhow::anyhow!(
            "model file {}: layer sizes {sizes:?} do not match the configuration",
            path.display()
        )));
    }
    Network::checked(py, config, sizes, params)
}
