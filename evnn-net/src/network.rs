//! The feed-forward network: forward pass and EventProp backward pass.

use crate::batch::ScratchPool;
use crate::on_demand::{LayerRuns, LossPass, OnDemand};
use crate::params::check_sizes;
use crate::{NetError, NetworkParams, SpikeTrains};
use evnn_neurons::{NeuronModel, StateVector};
use evnn_solver::{
    run_adjoint, Adjoint, Backend, InputSpike, NeuronGradient, NeuronTrace, RunPlan, SolverOptions,
};
use serde::{Deserialize, Serialize};

/// One spike arriving at a layer: its time, the input channel (or neuron of
/// the previous layer) it comes from, and its number `k` within that channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedSpike {
    /// Arrival time.
    pub time: f64,
    /// Source channel.
    pub channel: u32,
    /// Number of the spike within its channel.
    pub k: u32,
}

/// `source`'s spikes merged in time order, ties by channel, into `merged`.
pub(crate) fn merge_spikes(source: &SpikeTrains, merged: &mut Vec<MergedSpike>) {
    merged.clear();
    for c in 0..source.n_channels() {
        for (k, &time) in source.channel(c).iter().enumerate() {
            merged.push(MergedSpike {
                time,
                channel: c as u32,
                k: k as u32,
            });
        }
    }
    merged.sort_by(spike_order);
}

/// The order of merged spikes: by time, ties by channel.
pub(crate) fn spike_order(a: &MergedSpike, b: &MergedSpike) -> std::cmp::Ordering {
    a.time.total_cmp(&b.time).then(a.channel.cmp(&b.channel))
}

/// What one layer did in a forward pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerTrace<S> {
    /// The layer's input spikes merged in time order (ties by channel).
    pub inputs: Vec<MergedSpike>,
    /// Every neuron's trace (spike times and event log); an input event's
    /// index refers to [`inputs`](Self::inputs).
    pub neurons: Vec<NeuronTrace<S>>,
    /// The neurons' spike trains.
    pub outputs: SpikeTrains,
}

/// Everything a forward pass produced; the backward pass reads nothing else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardTrace<S> {
    /// One entry per layer.
    pub layers: Vec<LayerTrace<S>>,
}

impl<S> Default for LayerTrace<S> {
    fn default() -> Self {
        LayerTrace {
            inputs: Vec::new(),
            neurons: Vec::new(),
            outputs: SpikeTrains::new(),
        }
    }
}

impl<S> Default for ForwardTrace<S> {
    fn default() -> Self {
        ForwardTrace { layers: Vec::new() }
    }
}

impl<S> ForwardTrace<S> {
    /// Spike trains of the output layer (empty if nothing ran).
    pub fn output(&self) -> Option<&SpikeTrains> {
        self.layers.last().map(|l| &l.outputs)
    }

    /// First spike time of each output neuron (`∞` when silent).
    pub fn first_spikes(&self) -> Vec<f64> {
        self.output().map(|o| o.first_spikes()).unwrap_or_default()
    }
}

/// What a forward pass must deliver; passes that need less stop sooner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Every neuron's spikes and events up to `t_end`.
    Full,
    /// The first spike of every output neuron (`∞` when silent), and what
    /// the backward pass needs for them: a loss of first spikes.
    FirstSpikes,
    /// Only which output neuron spikes first ([`predict`](crate::predict)):
    /// the others need to be simulated only until that time.
    Prediction,
}

/// Per-thread scratch: a backend instance and reusable buffers.
#[derive(Clone, Debug)]
pub struct Workspace<N: NeuronModel, B: Backend<N>> {
    pub(crate) backend: B,
    inputs: Vec<InputSpike>,
    /// The loss pass's runs, one entry per layer ([`crate::on_demand`]).
    pub(crate) runs: Vec<LayerRuns<N, B::Stepper>>,
    /// The spikes being handed to the next layer in the loss pass.
    pub(crate) new_spikes: Vec<MergedSpike>,
    /// Whether the loss pass simulates on demand.
    pub(crate) on_demand: OnDemand,
    grad: NeuronGradient<N::Params>,
    upstream: Vec<f64>,
    current: Vec<f64>,
    /// Loss sensitivities of one sample: first spikes, every output spike,
    /// input spike times.
    pub(crate) dl_first: Vec<f64>,
    pub(crate) dl_dt: Vec<f64>,
    pub(crate) dl_dinput: Vec<f64>,
}

/// A feed-forward spiking network: layers of one neuron model, each neuron
/// simulated on its own given the previous layer's spikes, trained with
/// exact EventProp gradients.
///
/// The network holds the architecture and the machinery (neuron constants per
/// layer, backend, solver options, simulated interval `[0, t_end]`); the
/// learnable parameters live in a separate [`NetworkParams`].
///
/// # Examples
///
/// ```
/// use evnn_net::{FeedForward, InitConfig, NetworkParams, SpikeTrains};
/// use evnn_neurons::Lif;
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let net = FeedForward::new(Lif::default(), &[3, 4, 2], ClosedForm, SolverOptions::default(), 30.0)?;
/// let params = NetworkParams::init::<Lif>(&[3, 4, 2], &InitConfig::default(), 7)?;
/// let input = SpikeTrains::from_times(&[1.0, 5.0, 9.0])?;
/// let mut ws = net.workspace();
/// let mut trace = Default::default();
/// net.forward(&params, &input, &mut ws, &mut trace)?;
/// let t_first = trace.first_spikes();
/// assert_eq!(t_first.len(), 2);
///
/// // Gradient of L = Σ (first spike times) with respect to every parameter.
/// let out = trace.output().unwrap();
/// let mut dl_dt = vec![0.0; out.n_spikes()];
/// for j in 0..2 {
///     if !out.channel(j).is_empty() { dl_dt[out.offset(j)] = 1.0; }
/// }
/// let mut grad = params.zeros_like();
/// let mut dl_dinput = Vec::new();
/// net.backward(&params, &input, &trace, &dl_dt, &mut ws, &mut grad, &mut dl_dinput)?;
/// assert_eq!(dl_dinput.len(), 3);
/// # Ok::<(), evnn_net::NetError>(())
/// ```
#[derive(Clone, Debug)]
pub struct FeedForward<N: NeuronModel, B: Backend<N>> {
    pub(crate) models: Vec<N>,
    pub(crate) sizes: Vec<usize>,
    backend: B,
    pub(crate) options: SolverOptions,
    pub(crate) t_end: f64,
    loss_pass: LossPass,
    /// Scratch of the parallel batch passes, kept between their calls.
    pub(crate) scratch: ScratchPool<N, B>,
}

impl<N, B> FeedForward<N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    /// A network with layer sizes `[n_inputs, n_1, ..., n_L]`, every layer
    /// of neurons with the constants of `model`, simulated on `[0, t_end]`.
    pub fn new(
        model: N,
        sizes: &[usize],
        backend: B,
        options: SolverOptions,
        t_end: f64,
    ) -> Result<Self, NetError> {
        let models = vec![model; sizes.len().saturating_sub(1)];
        Self::with_layer_models(models, sizes, backend, options, t_end)
    }

    /// Like [`new`](Self::new) with one model (set of constants) per layer.
    pub fn with_layer_models(
        models: Vec<N>,
        sizes: &[usize],
        backend: B,
        options: SolverOptions,
        t_end: f64,
    ) -> Result<Self, NetError> {
        check_sizes(sizes)?;
        if models.len() != sizes.len() - 1 {
            return Err(NetError::Shape {
                what: "neuron models (one per layer)",
                expected: sizes.len() - 1,
                got: models.len(),
            });
        }
        if !(t_end.is_finite() && t_end > 0.0) {
            return Err(NetError::InvalidConfig {
                name: "t_end",
                value: t_end,
                reason: "must be finite and > 0",
            });
        }
        options.validate().map_err(|source| NetError::Solver {
            layer: 0,
            neuron: 0,
            source,
        })?;
        Ok(FeedForward {
            models,
            sizes: sizes.to_vec(),
            backend,
            options,
            t_end,
            loss_pass: LossPass::Auto,
            scratch: ScratchPool::default(),
        })
    }

    /// This network with the loss pass simulating its earlier layers as
    /// `pass` says (default [`LossPass::Auto`]); spikes, loss and gradient
    /// are bit-identical either way.
    pub fn with_loss_pass(mut self, pass: LossPass) -> Self {
        self.loss_pass = pass;
        self
    }

    /// How the loss pass simulates the earlier layers.
    pub fn loss_pass(&self) -> LossPass {
        self.loss_pass
    }

    /// Layer sizes `[n_inputs, n_1, ..., n_L]`.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Number of input channels.
    pub fn n_inputs(&self) -> usize {
        self.sizes[0]
    }

    /// Number of output neurons.
    pub fn n_outputs(&self) -> usize {
        *self.sizes.last().unwrap_or(&0)
    }

    /// End of the simulated interval.
    pub fn t_end(&self) -> f64 {
        self.t_end
    }

    /// Neuron models, one per layer.
    pub fn models(&self) -> &[N] {
        &self.models
    }

    /// Solver options.
    pub fn options(&self) -> &SolverOptions {
        &self.options
    }

    /// The integrator backend (with [`models`](Self::models),
    /// [`options`](Self::options) and [`t_end`](Self::t_end), what rebuilds
    /// this network with other layer sizes).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Fresh scratch for one thread.
    pub fn workspace(&self) -> Workspace<N, B> {
        Workspace {
            backend: self.backend.clone(),
            inputs: Vec::new(),
            runs: Vec::new(),
            new_spikes: Vec::new(),
            on_demand: OnDemand::default(),
            grad: NeuronGradient::zeros(0),
            upstream: Vec::new(),
            current: Vec::new(),
            dl_first: Vec::new(),
            dl_dt: Vec::new(),
            dl_dinput: Vec::new(),
        }
    }

    /// Checks that `params` fit this network and are finite.
    pub fn check_params(&self, params: &NetworkParams) -> Result<(), NetError> {
        if !params.has_sizes(&self.sizes) {
            return Err(NetError::Architecture {
                reason: "parameters do not match the network's layer sizes",
                sizes: params.sizes(),
            });
        }
        params.validate(N::Params::DIM, N::PARAM_NAMES)
    }

    pub(crate) fn neuron_params(params: &NetworkParams, layer: usize, j: usize) -> N::Params {
        let np = N::Params::DIM;
        let mut p = N::Params::zeros();
        p.as_mut_slice()
            .copy_from_slice(&params.layers[layer].neuron_params[j * np..(j + 1) * np]);
        p
    }

    /// Neuron `j`'s inputs: the merged input spikes with its weights.
    pub(crate) fn fill_inputs(
        inputs: &mut Vec<InputSpike>,
        merged: &[MergedSpike],
        params: &NetworkParams,
        layer: usize,
        j: usize,
    ) {
        inputs.clear();
        Self::push_inputs(inputs, merged, params, layer, j);
    }

    /// Appends `merged` with neuron `j`'s weights to its inputs.
    pub(crate) fn push_inputs(
        inputs: &mut Vec<InputSpike>,
        merged: &[MergedSpike],
        params: &NetworkParams,
        layer: usize,
        j: usize,
    ) {
        let l = &params.layers[layer];
        let row = &l.weights[j * l.n_in..(j + 1) * l.n_in];
        inputs.extend(
            merged
                .iter()
                .map(|m| InputSpike::new(m.time, row[m.channel as usize])),
        );
    }

    /// The end time and solver options of `layer`'s runs in `pass`,
    /// checked once for the layer (an error names its first neuron, the
    /// first run to meet it). Where only the output neurons' first spikes
    /// matter, every run may end once its neuron provably stays silent, and
    /// the output neurons' at their first spike.
    pub(crate) fn plan(&self, layer: usize, pass: Pass) -> Result<RunPlan, NetError> {
        let options = match pass {
            Pass::Full => self.options,
            Pass::FirstSpikes | Pass::Prediction => SolverOptions {
                stop_after_spikes: if layer + 1 == self.models.len() {
                    Some(self.options.stop_after_spikes.unwrap_or(1).min(1))
                } else {
                    self.options.stop_after_spikes
                },
                stop_when_silent: true,
                ..self.options
            },
        };
        RunPlan::new(self.t_end, &options).map_err(|source| NetError::Solver {
            layer,
            neuron: 0,
            source,
        })
    }

    /// Simulates one sample. `trace` is overwritten (its buffers reused).
    pub fn forward(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
    ) -> Result<(), NetError> {
        self.check_params(params)?;
        self.forward_checked(params, input, ws, trace, Pass::Full)
    }

    /// [`forward`](Self::forward) for parameters already checked
    /// ([`check_params`](Self::check_params)), delivering what `pass` asks
    /// for. In the passes of first spikes the output neurons' runs end at
    /// their first spike ([`SolverOptions::stop_after_spikes`]) and every run
    /// once its neuron provably stays silent
    /// ([`SolverOptions::stop_when_silent`]), and the earlier layers are
    /// simulated on demand (`on_demand.rs`) as [`LossPass`] says. Spikes,
    /// loss and gradient are those of the full pass; the traces end earlier.
    pub(crate) fn forward_checked(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
        pass: Pass,
    ) -> Result<(), NetError> {
        if input.n_channels() != self.n_inputs() {
            return Err(NetError::Shape {
                what: "input channels",
                expected: self.n_inputs(),
                got: input.n_channels(),
            });
        }
        input.validate()?;
        let n_layers = self.models.len();
        // The passes of first spikes simulate earlier layers only as far as
        // the output neurons need them, where the backend hands out its
        // steppers; the prediction's on-demand pass also ends the output
        // neurons once the first of them has spiked.
        let on_demand = match pass {
            Pass::Full => false,
            Pass::FirstSpikes => n_layers > 1 && ws.on_demand.wanted(self.loss_pass),
            Pass::Prediction => self.loss_pass != LossPass::LayerByLayer,
        };
        if on_demand && self.forward_on_demand(params, input, ws, trace, pass)? {
            return Ok(());
        }
        trace.layers.resize_with(n_layers, LayerTrace::default);
        ws.runs.resize_with(n_layers, LayerRuns::default);
        for layer in 0..n_layers {
            let (before, rest) = trace.layers.split_at_mut(layer);
            let lt = &mut rest[0];
            let source = if layer == 0 {
                input
            } else {
                &before[layer - 1].outputs
            };
            merge_spikes(source, &mut lt.inputs);
            let model = &self.models[layer];
            let plan = self.plan(layer, pass)?;
            let n_out = self.sizes[layer + 1];
            lt.neurons
                .resize_with(n_out, || NeuronTrace::new(model.initial_state()));
            lt.outputs.clear();
            let lr = &mut ws.runs[layer];
            for j in 0..n_out {
                Self::fill_inputs(&mut ws.inputs, &lt.inputs, params, layer, j);
                let p = Self::neuron_params(params, layer, j);
                let neuron = &mut lt.neurons[j];
                // The workspace's steppers, reset, where the backend hands
                // them out (its `simulate` would build a new one per run).
                match lr.stepper(&ws.backend, j, model, &p, plan.options()) {
                    Some(stepper) => plan.run(stepper, model, &p, &ws.inputs, neuron),
                    None => ws.backend.simulate(
                        model,
                        &p,
                        &ws.inputs,
                        plan.t_end(),
                        plan.options(),
                        neuron,
                    ),
                }
                .map_err(|source| NetError::Solver {
                    layer,
                    neuron: j,
                    source,
                })?;
                lt.outputs.push_channel(&lt.neurons[j].spikes);
            }
        }
        Ok(())
    }

    /// The EventProp backward pass of one sample.
    ///
    /// `dl_dt` holds `dL/dt` for every output spike, in the flat order of the
    /// output [`SpikeTrains`] (`dl_dt[out.offset(j) + k]` for neuron `j`'s
    /// `k`-th spike). Adds `dL/dθ` to `grad` (same shape as `params`; not
    /// zeroed, so per-sample gradients accumulate) and writes `dL/d(input
    /// spike times)` to `dl_dinput`, in the flat order of `input`.
    ///
    /// Every spike of every neuron counts. Neurons whose spikes carry no
    /// sensitivity are skipped: their adjoint is exactly zero.
    ///
    /// `params` are checked as [`forward`](Self::forward) checks them,
    /// `grad` for their shape, and `trace` against the network and `input`
    /// (one record per layer and neuron, each layer's output trains holding
    /// its neurons' spikes, every input spike it records an existing spike
    /// of `input` or of the layer before, with its time): a trace of
    /// another input or network is a [`NetError::TraceMismatch`], not a
    /// wrong gradient.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        trace: &ForwardTrace<N::State>,
        dl_dt: &[f64],
        ws: &mut Workspace<N, B>,
        grad: &mut NetworkParams,
        dl_dinput: &mut Vec<f64>,
    ) -> Result<(), NetError> {
        self.backward_with_state(params, input, trace, dl_dt, None, ws, grad, dl_dinput)
    }

    /// Like [`backward`](Self::backward), for a loss that also depends on
    /// the output neurons' final states: `dl_dx_end[j] = ∂L/∂x_j(t_end)` for
    /// output neuron `j`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_with_state(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        trace: &ForwardTrace<N::State>,
        dl_dt: &[f64],
        dl_dx_end: Option<&[N::State]>,
        ws: &mut Workspace<N, B>,
        grad: &mut NetworkParams,
        dl_dinput: &mut Vec<f64>,
    ) -> Result<(), NetError> {
        self.check_params(params)?;
        self.check_trace(input, trace)?;
        input.validate()?;
        self.backward_checked(params, input, trace, dl_dt, dl_dx_end, ws, grad, dl_dinput)
    }

    /// Checks `trace` against this network and `input` as
    /// [`backward`](Self::backward) needs it: every index the backward pass
    /// takes from the trace is in range, and every input spike recorded is
    /// the source's spike with its time.
    pub(crate) fn check_trace(
        &self,
        input: &SpikeTrains,
        trace: &ForwardTrace<N::State>,
    ) -> Result<(), NetError> {
        let n_layers = self.models.len();
        if trace.layers.len() != n_layers {
            return Err(NetError::Shape {
                what: "forward trace layers",
                expected: n_layers,
                got: trace.layers.len(),
            });
        }
        if input.n_channels() != self.n_inputs() {
            return Err(NetError::Shape {
                what: "input channels",
                expected: self.n_inputs(),
                got: input.n_channels(),
            });
        }
        for (layer, lt) in trace.layers.iter().enumerate() {
            let mismatch = |neuron, what, expected: f64, got: f64| {
                Err(NetError::TraceMismatch {
                    layer,
                    neuron,
                    what,
                    expected,
                    got,
                })
            };
            let n_out = self.sizes[layer + 1];
            if lt.neurons.len() != n_out {
                let what = "neuron records (one per neuron)";
                return mismatch(None, what, n_out as f64, lt.neurons.len() as f64);
            }
            if lt.outputs.n_channels() != n_out {
                let (what, got) = ("output trains (one per neuron)", lt.outputs.n_channels());
                return mismatch(None, what, n_out as f64, got as f64);
            }
            for (j, neuron) in lt.neurons.iter().enumerate() {
                let train = lt.outputs.channel(j);
                if train.len() != neuron.spikes.len() {
                    let what = "spikes in its output train (its record's count)";
                    return mismatch(
                        Some(j),
                        what,
                        neuron.spikes.len() as f64,
                        train.len() as f64,
                    );
                }
                if let Some((&t, &got)) = neuron
                    .spikes
                    .iter()
                    .zip(train)
                    .find(|(t, got)| t.to_bits() != got.to_bits())
                {
                    return mismatch(Some(j), "output spike time (its record's)", t, got);
                }
            }
            let source = if layer == 0 {
                input
            } else {
                &trace.layers[layer - 1].outputs
            };
            // The first layer receives every input spike (later layers in
            // the loss pass only those their neurons ran to).
            if layer == 0 && lt.inputs.len() != input.n_spikes() {
                let what = "input spikes (the input's count)";
                return mismatch(None, what, input.n_spikes() as f64, lt.inputs.len() as f64);
            }
            for m in &lt.inputs {
                let c = m.channel as usize;
                if c >= source.n_channels() {
                    let what = "input spike channel (below the number of channels)";
                    return mismatch(None, what, source.n_channels() as f64, c as f64);
                }
                let train = source.channel(c);
                match train.get(m.k as usize) {
                    None => {
                        let what = "input spike number (below its channel's spike count)";
                        return mismatch(None, what, train.len() as f64, m.k as f64);
                    }
                    Some(&t) if t.to_bits() != m.time.to_bits() => {
                        return mismatch(None, "input spike time (the input's)", t, m.time);
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// [`backward_with_state`](Self::backward_with_state) for parameters
    /// already checked and a trace that this network's forward pass just
    /// made of `input` (the loss pass's backward pass).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward_checked(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        trace: &ForwardTrace<N::State>,
        dl_dt: &[f64],
        dl_dx_end: Option<&[N::State]>,
        ws: &mut Workspace<N, B>,
        grad: &mut NetworkParams,
        dl_dinput: &mut Vec<f64>,
    ) -> Result<(), NetError> {
        debug_assert_eq!(self.check_trace(input, trace), Ok(()));
        let n_layers = self.models.len();
        grad.check_shape(
            &self.sizes,
            N::Params::DIM,
            "gradient buffer does not match the network's layer sizes",
        )?;
        let out = &trace.layers[n_layers - 1].outputs;
        if dl_dt.len() != out.n_spikes() {
            return Err(NetError::Shape {
                what: "dL/dt (one entry per output spike)",
                expected: out.n_spikes(),
                got: dl_dt.len(),
            });
        }
        if let Some((index, &value)) = dl_dt.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(NetError::NonFinite {
                what: "dL/dt",
                index,
                value,
            });
        }
        if let Some(d) = dl_dx_end {
            if d.len() != self.n_outputs() {
                return Err(NetError::Shape {
                    what: "dL/dx(T) (one state per output neuron)",
                    expected: self.n_outputs(),
                    got: d.len(),
                });
            }
            if let Some((index, value)) = d
                .iter()
                .flat_map(|x| x.as_slice().iter().copied())
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(NetError::NonFinite {
                    what: "dL/dx(T)",
                    index,
                    value,
                });
            }
        }
        let np = N::Params::DIM;
        let zero = N::State::zeros();
        ws.current.clear();
        ws.current.extend_from_slice(dl_dt);
        for layer in (0..n_layers).rev() {
            let lt = &trace.layers[layer];
            let source = if layer == 0 {
                input
            } else {
                &trace.layers[layer - 1].outputs
            };
            ws.upstream.clear();
            ws.upstream.resize(source.n_spikes(), 0.0);
            let model = &self.models[layer];
            for (j, neuron) in lt.neurons.iter().enumerate() {
                let start = lt.outputs.offset(j);
                let dl = &ws.current[start..start + neuron.spikes.len()];
                let dx_end = match dl_dx_end {
                    Some(d) if layer == n_layers - 1 => &d[j],
                    _ => &zero,
                };
                if dl.iter().all(|&v| v == 0.0) && dx_end.as_slice().iter().all(|&v| v == 0.0) {
                    continue;
                }
                Self::fill_inputs(&mut ws.inputs, &lt.inputs, params, layer, j);
                let p = Self::neuron_params(params, layer, j);
                run_adjoint(
                    &mut ws.backend,
                    model,
                    &p,
                    &ws.inputs,
                    neuron,
                    dl,
                    dx_end,
                    &self.options,
                    &mut ws.grad,
                )
                .map_err(|source| NetError::Solver {
                    layer,
                    neuron: j,
                    source,
                })?;
                let g = &mut grad.layers[layer];
                for (dst, src) in g.neuron_params[j * np..(j + 1) * np]
                    .iter_mut()
                    .zip(ws.grad.params.as_slice())
                {
                    *dst += src;
                }
                let n_in = g.n_in;
                for (m, spike) in lt.inputs.iter().enumerate() {
                    let c = spike.channel as usize;
                    g.weights[j * n_in + c] += ws.grad.weights[m];
                    ws.upstream[source.offset(c) + spike.k as usize] += ws.grad.input_times[m];
                }
            }
            std::mem::swap(&mut ws.current, &mut ws.upstream);
        }
        dl_dinput.clear();
        dl_dinput.extend_from_slice(&ws.current);
        Ok(())
    }
}
