//! The neuron models a program knows by name: the built-in `qif` and `lif`,
//! and models registered by a user's own program.
//!
//! Configurations, checkpoints and model files name their neuron model
//! (`"model": "qif"`, `"neuron": {"kind": "qif", ...}`). A program built on
//! this crate passes a [`Models`] registry to
//! [`commands::run_with`](crate::commands::run_with); the registry turns a
//! name and its constants into a concrete, statically dispatched network.
//! A user's model joins with [`Models::with`]:
//!
//! ```no_run
//! use evnn_examples::models::{Builtin, FileModel, Models};
//! use evnn_neurons::{NeuronModel, Scalar};
//! use serde::{Deserialize, Serialize};
//!
//! /// A leaky neuron with a voltage threshold, in its equations only.
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Leaky { tau: f64, theta: f64 }
//!
//! impl NeuronModel for Leaky {
//!     type State = [f64; 1];
//!     type Params = [f64; 1];
//!     const NAME: &'static str = "leaky";
//!     const PARAM_NAMES: &'static [&'static str] = &["bias"];
//!     fn initial_state(&self) -> [f64; 1] { [0.0] }
//!     fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) { dx[0] = (p[0] - x[0]) / self.tau; }
//!     fn event<T: Scalar>(&self, x: &[T]) -> T { x[0] - self.theta }
//!     fn reset<T: Scalar>(&self, x: &mut [T]) { x[0] = T::from(0.0); }
//!     fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) { x[0] += w; }
//! }
//!
//! impl FileModel for Leaky {
//!     const KIND: &'static str = "leaky";
//! }
//!
//! // The whole `evnn` program, with `--model leaky` and model files of kind "leaky".
//! fn main() -> std::process::ExitCode {
//!     evnn_examples::program::main(Builtin.with::<Leaky>())
//! }
//! ```

use crate::experiment::{Integrator, ModelKind, TrainConfig};
use crate::timing::{Timed, Timing};
use anyhow::{bail, Context, Result};
use evnn_net::FeedForward;
use evnn_neurons::{
    Alif, AnyNeuron, Derived, Egru, Eif, Izhikevich, Lif, NeuronModel, PIzhikevich, Plif, Pqif, Qif,
};
use evnn_solver::{Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, QifSeries};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// A job that needs the concrete network of a [`TrainConfig`]; a
/// [`Models`] registry builds it and calls [`run`](WithNet::run) (static
/// dispatch on the model and integrator).
///
/// # Examples
///
/// ```
/// use evnn_examples::experiment::{ModelKind, TrainConfig};
/// use evnn_examples::models::{Builtin, Models, WithNet};
/// use evnn_net::FeedForward;
/// use evnn_neurons::NeuronModel;
/// use evnn_solver::{Adjoint, Backend};
///
/// /// Counts the network's neurons.
/// struct Count;
/// impl WithNet for Count {
///     type Output = usize;
///     fn run<N, B>(self, net: FeedForward<N, B>) -> anyhow::Result<usize>
///     where
///         N: NeuronModel,
///         B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
///     {
///         Ok(net.sizes()[1..].iter().sum())
///     }
/// }
/// let config = TrainConfig { model: ModelKind::Lif, ..TrainConfig::default() };
/// assert_eq!(Builtin.with_net(&config, Count)?, 23);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub trait WithNet {
    /// What `run` returns.
    type Output;
    /// Called with the concrete network.
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<Self::Output>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync;
}

/// A neuron model that configurations and model files can name: its
/// constants are its serde fields, written beside `"kind"` in a model
/// file's `neuron` object and under `"constants"` in a configuration. It
/// runs on the generic backends: Dormand–Prince (`--integrator auto` or
/// `dopri5`) or diffsol (`diffsol`). It is `'static` (owns its constants),
/// as the diffsol backend needs.
///
/// See the [module documentation](self) for an example.
pub trait FileModel: NeuronModel + Serialize + DeserializeOwned + 'static {
    /// The name in files and on the command line (not `qif` or `lif`).
    const KIND: &'static str;

    /// Checks the constants after they are read; the default accepts all.
    /// Return a message naming the bad value. (A model whose serde reads
    /// go through its validating constructor, as evnn-neurons' models do,
    /// is already checked by then.)
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Values of the constants that a configuration may leave out, filled
    /// in before the constants are read; the default has none (serde's own
    /// defaults, if any, apply).
    fn default_constants() -> Constants {
        Constants::new()
    }
}

/// A registry of neuron models by name.
pub trait Models: Sync {
    /// Appends the names this registry knows.
    fn names(&self, out: &mut Vec<&'static str>);

    /// Builds the network of `config` and runs `job` on it; `None` when
    /// `config.model` is not one of this registry's models.
    fn try_with_net<W: WithNet>(&self, config: &TrainConfig, job: W) -> Option<Result<W::Output>>;

    /// Builds the network of `config` and runs `job` on it; an error names
    /// an unknown model and the known ones.
    fn with_net<W: WithNet>(&self, config: &TrainConfig, job: W) -> Result<W::Output> {
        match self.try_with_net(config, job) {
            Some(result) => result,
            None => {
                let mut known = Vec::new();
                self.names(&mut known);
                bail!(
                    "unknown neuron model `{}` (this program knows: {})",
                    config.model,
                    known.join(", ")
                )
            }
        }
    }

    /// A registered model's constants read, checked and written out in
    /// full (defaults filled in); `None` when `config.model` is not one of
    /// this registry's registered models.
    fn try_constants(&self, config: &TrainConfig) -> Option<Result<Constants>>;

    /// `config` with its model known to this registry and, for a registered
    /// model, its constants checked and complete (what a model file then
    /// records); an error names an unknown model or a bad constant.
    fn resolve(&self, config: &TrainConfig) -> Result<TrainConfig> {
        let mut config = config.clone();
        if let ModelKind::Custom(_) = config.model {
            match self.try_constants(&config) {
                Some(constants) => config.constants = constants?,
                None => {
                    let mut known = Vec::new();
                    self.names(&mut known);
                    bail!(
                        "unknown neuron model `{}` (this program knows: {})",
                        config.model,
                        known.join(", ")
                    )
                }
            }
        }
        Ok(config)
    }

    /// This registry and the model `M`.
    fn with<M: FileModel>(self) -> With<M, Self>
    where
        Self: Sized,
    {
        With(PhantomData, self)
    }
}

/// The built-in models: `qif` (Taylor-series backend by default) and `lif`
/// (closed form by default), both also on Dormand–Prince and diffsol.
#[derive(Clone, Copy, Debug, Default)]
pub struct Builtin;

impl Models for Builtin {
    fn names(&self, out: &mut Vec<&'static str>) {
        out.extend(["qif", "lif"]);
    }

    fn try_constants(&self, _config: &TrainConfig) -> Option<Result<Constants>> {
        None
    }

    fn try_with_net<W: WithNet>(&self, config: &TrainConfig, w: W) -> Option<Result<W::Output>> {
        match config.model {
            ModelKind::Qif => Some(qif_net(config, w)),
            ModelKind::Lif => Some(lif_net(config, w)),
            ModelKind::Custom(_) => None,
        }
    }
}

fn qif_net<W: WithNet>(config: &TrainConfig, w: W) -> Result<W::Output> {
    let qif = Qif::new(config.tau_mem, config.tau_syn)?;
    match config.integrator {
        Integrator::Auto | Integrator::Series => w.run(FeedForward::new(
            qif,
            &config.sizes(),
            QifSeries,
            config.solver_options(),
            config.t_max,
        )?),
        Integrator::ClosedForm => bail!("the closed-form integrator is for LIF only"),
        generic => generic_net(qif, generic, config, w),
    }
}

fn lif_net<W: WithNet>(config: &TrainConfig, w: W) -> Result<W::Output> {
    let lif = Lif::new(config.tau_mem, config.tau_syn, config.theta, config.v_reset)?;
    match config.integrator {
        Integrator::Auto | Integrator::ClosedForm => w.run(
            FeedForward::new(
                lif,
                &config.sizes(),
                ClosedForm,
                config.solver_options(),
                config.t_max,
            )?
            .with_layer_wide(config.layer_wide),
        ),
        Integrator::Series => bail!("the series integrator is for QIF only"),
        generic => generic_net(lif, generic, config, w),
    }
}

/// The network of `config`'s built-in model (`qif` or `lif`) with every
/// derivative derived from the model's equations by dual numbers
/// ([`Derived`]) instead of its hand-written ones, on a generic backend
/// (`auto` is Dormand–Prince): what a model written without derivative code
/// costs (`evnn bench --derived`). A registered model's derivatives are
/// already derived unless it overrides them, so it is an error here, as is
/// a closed-form or series integrator.
pub fn derived_net<W: WithNet>(config: &TrainConfig, w: W) -> Result<W::Output> {
    let integrator = match config.integrator {
        Integrator::Auto => Integrator::Dopri5,
        generic @ (Integrator::Dopri5 | Integrator::Diffsol) => generic,
        other => bail!(
            "derived derivatives run on a generic integrator (auto, dopri5 or diffsol), not on {}",
            other.name()
        ),
    };
    match config.model {
        ModelKind::Qif => {
            let qif = Qif::new(config.tau_mem, config.tau_syn)?;
            generic_net(Derived(qif), integrator, config, w)
        }
        ModelKind::Lif => {
            let lif = Lif::new(config.tau_mem, config.tau_syn, config.theta, config.v_reset)?;
            generic_net(Derived(lif), integrator, config, w)
        }
        ModelKind::Custom(_) => bail!(
            "derived derivatives are an option of the built-in models (qif, lif); `{}` uses them unless it overrides them",
            config.model
        ),
    }
}

/// `model`'s network on a generic backend: Dormand–Prince for `dopri5`,
/// diffsol for `diffsol`; an error names any other integrator.
fn generic_net<N, W>(
    model: N,
    integrator: Integrator,
    config: &TrainConfig,
    w: W,
) -> Result<W::Output>
where
    N: NeuronModel + 'static,
    W: WithNet,
{
    let (sizes, opts, t) = (config.sizes(), config.solver_options(), config.t_max);
    match integrator {
        Integrator::Dopri5 => w.run(FeedForward::new(
            model,
            &sizes,
            Dopri5Backend::default(),
            opts,
            t,
        )?),
        Integrator::Diffsol => w.run(FeedForward::new(
            model,
            &sizes,
            DiffsolBackend::default(),
            opts,
            t,
        )?),
        other => bail!(
            "the {} integrator is not for the `{}` model (use auto, dopri5 or diffsol)",
            other.name(),
            config.model
        ),
    }
}

/// The models of the `evnn` program: the [`Builtin`] ones and the neurons
/// of evnn-neurons by name: `eif` ([`Eif`]), `izhikevich` ([`Izhikevich`]),
/// `alif` ([`Alif`]), and the ones with learnable time constants, `plif`
/// ([`Plif`]), `pqif` ([`Pqif`]) and `pizhikevich` ([`PIzhikevich`]), and
/// `egru` ([`Egru`], three weights per synapse). Their
/// constants are those of [`EifConstants`](evnn_neurons::EifConstants),
/// [`IzhikevichConstants`](evnn_neurons::IzhikevichConstants),
/// [`AlifConstants`](evnn_neurons::AlifConstants) (no defaults for
/// `tau_mem`, `tau_adapt`, `b0`, `beta`), LIF's (`tau_mem`, `tau_syn`,
/// `theta`, `v_reset`: the start of training for PLIF) and QIF's
/// (`tau_mem`, `tau_syn`) and [`EgruConstants`](evnn_neurons::EgruConstants)
/// (`tau_s`, `tau_m`, `theta`), each read through the model's own
/// validating constructor.
/// And `layers`, a network whose layers are of different models
/// ([`Layered`]).
pub type Family = Layered<
    With<
        Egru,
        With<PIzhikevich, With<Pqif, With<Plif, With<Alif, With<Izhikevich, With<Eif, Builtin>>>>>>,
    >,
>;

/// The registry of the `evnn` program ([`Family`]).
pub fn family() -> Family {
    Layered(
        Builtin
            .with::<Eif>()
            .with::<Izhikevich>()
            .with::<Alif>()
            .with::<Plif>()
            .with::<Pqif>()
            .with::<PIzhikevich>()
            .with::<Egru>(),
    )
}

/// The registry `R` and the model kind `layers`: one built-in model per
/// layer ([`AnyNeuron`]), on a generic backend (`auto` is Dormand–Prince).
/// Its constants are `{"layers": [L1, ..., Ln]}`, one object per layer
/// (hidden layers first, the output layer last), each the model's `kind`
/// (`lif`, `qif`, `eif`, `alif`, `izhikevich`, `plif`, `pqif`,
/// `pizhikevich`) and any of its constants (the others take the model's
/// defaults where it has them; ALIF's four have none):
///
/// ```text
/// evnn train --model layers --constants '{"layers": [{"kind": "eif"}, {"kind": "lif"}]}'
/// ```
///
/// A layer's object may also set `"refractory": t_ref` and
/// `"at_most_one_spike": true` ([`crate::timing`]). Every neuron has
/// [`AnyNeuron`]'s four parameters (bias and three that a model may use); a
/// model file records the layers' models with every constant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layered<R>(pub R);

/// The kind name of [`Layered`] networks.
pub const LAYERS_KIND: &str = "layers";

impl<R: Models> Models for Layered<R> {
    fn names(&self, out: &mut Vec<&'static str>) {
        self.0.names(out);
        out.push(LAYERS_KIND);
    }

    fn try_constants(&self, config: &TrainConfig) -> Option<Result<Constants>> {
        match &config.model {
            ModelKind::Custom(kind) if kind == LAYERS_KIND => {
                Some(layer_models(&config.constants).map(|layers| {
                    let specs = layers
                        .iter()
                        .map(|l| {
                            let mut spec = constants_of(l.inner());
                            l.timing().write(&mut spec);
                            serde_json::Value::Object(spec)
                        })
                        .collect();
                    let mut out = Constants::new();
                    out.insert("layers".into(), serde_json::Value::Array(specs));
                    out
                }))
            }
            _ => self.0.try_constants(config),
        }
    }

    fn try_with_net<W: WithNet>(&self, config: &TrainConfig, w: W) -> Option<Result<W::Output>> {
        match &config.model {
            ModelKind::Custom(kind) if kind == LAYERS_KIND => Some(layered_net(config, w)),
            _ => self.0.try_with_net(config, w),
        }
    }
}

/// The network of a `layers` configuration.
fn layered_net<W: WithNet>(config: &TrainConfig, w: W) -> Result<W::Output> {
    let layers = layer_models(&config.constants)?;
    let (sizes, opts, t) = (config.sizes(), config.solver_options(), config.t_max);
    match config.integrator {
        Integrator::Auto | Integrator::Dopri5 => w.run(FeedForward::with_layer_models(
            layers,
            &sizes,
            Dopri5Backend::default(),
            opts,
            t,
        )?),
        Integrator::Diffsol => w.run(FeedForward::with_layer_models(
            layers,
            &sizes,
            DiffsolBackend::default(),
            opts,
            t,
        )?),
        other => bail!(
            "the {} integrator is not for a network of `layers` (use auto, dopri5 or diffsol)",
            other.name()
        ),
    }
}

/// The layers' models of a `layers` configuration's constants.
fn layer_models(constants: &Constants) -> Result<Vec<Timed<AnyNeuron>>> {
    let unknown: Vec<&String> = constants.keys().filter(|k| *k != "layers").collect();
    if !unknown.is_empty() {
        bail!("a `layers` model takes only the constant `layers`, not {unknown:?}");
    }
    let layers = constants
        .get("layers")
        .and_then(|v| v.as_array())
        .context("a `layers` model needs the constant `layers`: a list of one model per layer, e.g. [{\"kind\": \"eif\"}, {\"kind\": \"lif\"}]")?;
    layers
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            let spec = spec
                .as_object()
                .with_context(|| format!("layer {k} of `layers` is {spec}, not an object"))?;
            any_neuron(spec).with_context(|| format!("layer {k} of `layers`"))
        })
        .collect()
}

/// One built-in model from `{"kind": ..., constants...}`, with the
/// layer's timing.
fn any_neuron(spec: &Constants) -> Result<Timed<AnyNeuron>> {
    let kind = spec
        .get("kind")
        .and_then(|k| k.as_str())
        .context("a layer's model needs a \"kind\"")?;
    let mut constants = spec.clone();
    constants.remove("kind");
    let timing = Timing::take(&mut constants)?;
    let model: AnyNeuron = match kind {
        "lif" => AnyNeuron::Lif(with_defaults(&Lif::default(), &constants, kind)?),
        "qif" => AnyNeuron::Qif(with_defaults(&Qif::default(), &constants, kind)?),
        "eif" => model_from_constants::<Eif>(&constants)?.into(),
        "izhikevich" => model_from_constants::<Izhikevich>(&constants)?.into(),
        "alif" => model_from_constants::<Alif>(&constants)?.into(),
        "plif" => model_from_constants::<Plif>(&constants)?.into(),
        "pqif" => model_from_constants::<Pqif>(&constants)?.into(),
        "pizhikevich" => model_from_constants::<PIzhikevich>(&constants)?.into(),
        // AnyNeuron's layers share one weight per synapse; EGRU's synapses
        // carry three.
        "egru" => bail!(
            "the `egru` model cannot be a layer of `layers`: its synapses carry three weights, a `layers` network's one (use --model egru)"
        ),
        other => bail!(
            "unknown layer model `{other}` (a layer takes: lif, qif, eif, alif, izhikevich, plif, pqif, pizhikevich)"
        ),
    };
    Ok(timing.apply(model))
}

/// `M` from `constants`, those left out from `default`'s.
fn with_defaults<M: Serialize + DeserializeOwned>(
    default: &M,
    constants: &Constants,
    kind: &str,
) -> Result<M> {
    let mut full = constants_of(default);
    full.extend(constants.clone());
    serde_json::from_value(serde_json::Value::Object(full))
        .with_context(|| format!("invalid constants of the `{kind}` neuron model"))
}

impl FileModel for Eif {
    const KIND: &'static str = "eif";
}

impl FileModel for Izhikevich {
    const KIND: &'static str = "izhikevich";
}

impl FileModel for Alif {
    const KIND: &'static str = "alif";
}

impl FileModel for Plif {
    const KIND: &'static str = "plif";
    /// [`Plif::default`]'s: `τ_mem = 20`, `τ_syn = 5`, `θ = 1`, `v_r = 0`.
    fn default_constants() -> Constants {
        constants_of(&Plif::default())
    }
}

impl FileModel for Pqif {
    const KIND: &'static str = "pqif";
    /// [`Pqif::default`]'s: `τ_mem = 20`, `τ_syn = 5`.
    fn default_constants() -> Constants {
        constants_of(&Pqif::default())
    }
}

impl FileModel for PIzhikevich {
    const KIND: &'static str = "pizhikevich";
}

impl FileModel for Egru {
    const KIND: &'static str = "egru";
}

/// `model`'s serde fields (empty when it does not serialize to an object).
fn constants_of<M: Serialize>(model: &M) -> Constants {
    match serde_json::to_value(model) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => Constants::new(),
    }
}

/// A registry `R` and the model `M` ([`Models::with`]).
pub struct With<M, R>(PhantomData<fn() -> M>, R);

impl<M: FileModel, R: Models> Models for With<M, R> {
    fn names(&self, out: &mut Vec<&'static str>) {
        self.1.names(out);
        out.push(M::KIND);
    }

    fn try_constants(&self, config: &TrainConfig) -> Option<Result<Constants>> {
        match &config.model {
            ModelKind::Custom(kind) if kind == M::KIND => {
                Some((|| {
                    let mut constants = config.constants.clone();
                    let timing = Timing::take(&mut constants)?;
                    let m = model_from_constants::<M>(&constants)?;
                    match serde_json::to_value(m)? {
                    serde_json::Value::Object(mut map) => {
                        timing.write(&mut map);
                        Ok(map)
                    }
                    other => bail!("the `{}` model serializes to {other}, not to an object of its constants", M::KIND),
                }
                })())
            }
            _ => self.1.try_constants(config),
        }
    }

    fn try_with_net<W: WithNet>(&self, config: &TrainConfig, w: W) -> Option<Result<W::Output>> {
        match &config.model {
            ModelKind::Custom(kind) if kind == M::KIND => Some(build::<M, W>(config, w)),
            _ => self.1.try_with_net(config, w),
        }
    }
}

/// The model `M` from the configuration's constants, on its backend; as
/// [`Timed`] when the constants set a refractory period or a spike limit
/// ([`crate::timing`]).
fn build<M: FileModel, W: WithNet>(config: &TrainConfig, w: W) -> Result<W::Output> {
    let mut constants = config.constants.clone();
    let timing = Timing::take(&mut constants)?;
    let model = model_from_constants::<M>(&constants)?;
    let integrator = match config.integrator {
        Integrator::Auto => Integrator::Dopri5,
        other => other,
    };
    if timing.is_plain() {
        generic_net(model, integrator, config, w)
    } else {
        generic_net(timing.apply(model), integrator, config, w)
    }
}

/// A registered model's constants: its serde fields by name.
pub type Constants = serde_json::Map<String, serde_json::Value>;

/// Reads `M` from its constants (a JSON object of its serde fields; those
/// left out from [`FileModel::default_constants`]) and checks them.
pub fn model_from_constants<M: FileModel>(constants: &Constants) -> Result<M> {
    let mut full = M::default_constants();
    full.extend(constants.clone());
    let model: M = serde_json::from_value(serde_json::Value::Object(full))
        .with_context(|| format!("invalid constants of the `{}` neuron model", M::KIND))?;
    if let Err(message) = model.check() {
        bail!(
            "invalid constants of the `{}` neuron model: {message}",
            M::KIND
        );
    }
    Ok(model)
}

/// The names of the learnable parameters of one neuron of `config`'s model
/// ([`NeuronModel::PARAM_NAMES`]), from the registry `models`; an error
/// names an unknown model or a bad constant.
pub fn param_names<M: Models>(models: &M, config: &TrainConfig) -> Result<&'static [&'static str]> {
    struct Names;
    impl WithNet for Names {
        type Output = &'static [&'static str];
        fn run<N, B>(self, _net: FeedForward<N, B>) -> Result<Self::Output>
        where
            N: NeuronModel,
            B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
        {
            Ok(N::PARAM_NAMES)
        }
    }
    models.with_net(config, Names)
}

/// The network parameters of a model file for `config`'s model (the
/// file's `config()`): the file's, when its per-neuron parameters are the
/// model's [`NeuronModel::PARAM_NAMES`]. A file written before the model
/// learned further parameters (its names a prefix of the model's, for
/// example a PIzhikevich file without `log_d`) is read with each missing
/// parameter at its start value, the layer model's
/// [`default_params`](NeuronModel::default_params); any other difference
/// is an error naming both lists.
pub fn file_params<M: Models>(
    models: &M,
    config: &TrainConfig,
    file: &crate::model_file::ModelFile,
) -> Result<evnn_net::NetworkParams> {
    struct Defaults;
    impl WithNet for Defaults {
        type Output = (&'static [&'static str], Vec<Vec<f64>>);
        fn run<N, B>(self, net: FeedForward<N, B>) -> Result<Self::Output>
        where
            N: NeuronModel,
            B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
        {
            let defaults = net
                .models()
                .iter()
                .map(|m| evnn_neurons::StateVector::as_slice(&m.default_params()).to_vec())
                .collect();
            Ok((N::PARAM_NAMES, defaults))
        }
    }
    let (expected, defaults) = models.with_net(config, Defaults)?;
    let found = file.param_names();
    let mut params = file.params();
    if found.len() < expected.len() && expected[..found.len()] == found[..] {
        let (n, np) = (found.len(), expected.len());
        for (l, d) in params.layers.iter_mut().zip(&defaults) {
            l.neuron_params = l
                .neuron_params
                .chunks(n)
                .flat_map(|row| row.iter().chain(&d[n..np]).copied())
                .collect();
        }
        return Ok(params);
    }
    file.check_param_names(expected)?;
    Ok(params)
}
