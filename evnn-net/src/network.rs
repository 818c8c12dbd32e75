//! The feed-forward network: its description (layers, backend, how the loss
//! pass runs) and the passes of one sample, each checking its arguments once
//! before it runs.

use crate::backward::{backward, check_trace};
use crate::forward::{forward, Workspace};
use crate::on_demand::LossPass;
use crate::sample::{predict, readout_loss, sample_loss, ReadoutResult, SampleResult};
use crate::stack::{fill_neuron_inputs, Pass, Stack};
use crate::trace::ForwardTrace;
#[cfg(doc)]
use crate::TtfsLoss;
use crate::{
    FirstSpikeLoss, InitConfig, LayerInit, LiReadout, NetError, NetworkParams, ReadoutParams,
    SpikeTrains,
};
use evnn_neurons::{NeuronModel, StateVector};
use evnn_solver::{Adjoint, Backend, InputSpike, NeuronTrace, SolverOptions};

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
    stack: Stack<N>,
    backend: B,
    loss_pass: LossPass,
}

impl<N, B> FeedForward<N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    /// A network with layer sizes `[n_inputs, n_1, ..., n_L]`, every layer
    /// of neurons with the constants of `model`, simulated on `[0, t_end]`.
    ///
    /// Sizes, `t_end` and `options` are checked here, once: the passes take
    /// them as checked.
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
        Ok(FeedForward {
            stack: Stack::new(models, sizes, options, t_end)?,
            backend,
            loss_pass: LossPass::Auto,
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

    /// This network with its dense layers (feed-forward or recurrent, with
    /// delays or none) simulated layer-wide where the backend can
    /// ([`Backend::lif_layer`]: LIF on [`ClosedForm`](evnn_solver::ClosedForm)),
    /// or neuron by neuron (`false`, the default). A layer-wide layer
    /// computes the decay between two inputs once for all its neurons and
    /// updates them together ([`LifLayer`](evnn_solver::lif_layer::LifLayer);
    /// a recurrent layer runs to each of its spikes in turn and applies it
    /// to every neuron), which costs a fraction of the neuron-by-neuron runs
    /// on wide layers with many inputs. With synaptic delays each neuron
    /// has its own input times; such a layer runs on
    /// [`DelayedLifLayer`](evnn_solver::lif_delayed::DelayedLifLayer), in
    /// coordinates where an arrival costs no exponential, where it takes the
    /// LIF's constants (`t_end` at most 400 of the shorter time constant,
    /// time constants a tenth apart), and neuron by neuron otherwise. Its spikes, loss and gradient are the
    /// neuron-by-neuron ones to round-off, not bit for bit (a search for a
    /// crossing may start from other points, and some sums are taken in
    /// another order), and its traces log each
    /// neuron's spikes but not its inputs: a trace is for the backward
    /// pass of the network that made it.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{FeedForward, ForwardTrace, InitConfig, SpikeTrains};
    /// use evnn_neurons::Lif;
    /// use evnn_solver::{ClosedForm, SolverOptions};
    ///
    /// let opts = SolverOptions::default();
    /// let net = FeedForward::new(Lif::default(), &[3, 40, 2], ClosedForm, opts, 40.0)?;
    /// let params = net.init_params(&InitConfig::default(), 0)?;
    /// let input = SpikeTrains::from_times(&[1.0, 4.0, 2.0])?;
    /// let wide = net.clone().with_layer_wide(true);
    /// let (mut a, mut b) = (ForwardTrace::default(), ForwardTrace::default());
    /// net.forward(&params, &input, &mut net.workspace(), &mut a)?;
    /// wide.forward(&params, &input, &mut wide.workspace(), &mut b)?;
    /// let (a, b) = (a.output().unwrap(), b.output().unwrap());
    /// assert_eq!(a.n_spikes(), b.n_spikes());
    /// for j in 0..2 {
    ///     for (s, t) in a.channel(j).iter().zip(b.channel(j)) {
    ///         assert!((s - t).abs() < 1e-12);
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_layer_wide(mut self, on: bool) -> Self {
        self.stack.layer_wide = on;
        self
    }

    /// Whether dense layers run layer-wide
    /// ([`with_layer_wide`](Self::with_layer_wide)).
    pub fn layer_wide(&self) -> bool {
        self.stack.layer_wide
    }

    /// Layer sizes `[n_inputs, n_1, ..., n_L]`.
    pub fn sizes(&self) -> &[usize] {
        &self.stack.sizes
    }

    /// Number of input channels.
    pub fn n_inputs(&self) -> usize {
        self.stack.n_inputs()
    }

    /// Number of output neurons.
    pub fn n_outputs(&self) -> usize {
        self.stack.n_outputs()
    }

    /// End of the simulated interval.
    pub fn t_end(&self) -> f64 {
        self.stack.t_end
    }

    /// Neuron models, one per layer.
    pub fn models(&self) -> &[N] {
        &self.stack.models
    }

    /// Solver options.
    pub fn options(&self) -> &SolverOptions {
        &self.stack.options
    }

    /// Fresh scratch for one thread.
    pub fn workspace(&self) -> Workspace<N, B> {
        Workspace::new(self.backend.clone())
    }

    /// Initial parameters for this network: weights and biases drawn as
    /// `init` says from `seed`, every further neuron parameter (a learnable
    /// time constant) at the first layer's model's start value
    /// ([`NetworkParams::init_for`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{FeedForward, InitConfig};
    /// use evnn_neurons::Lif;
    /// use evnn_solver::{ClosedForm, SolverOptions};
    ///
    /// let net = FeedForward::new(Lif::default(), &[5, 20, 3], ClosedForm, SolverOptions::default(), 30.0)?;
    /// let params = net.init_params(&InitConfig::default(), 0)?;
    /// assert_eq!(params.sizes(), [5, 20, 3]);
    /// net.check_params(&params)?;
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    ///
    /// Every neuron parameter beyond the bias starts at its layer's model's
    /// [`default_params`](NeuronModel::default_params), so layers of
    /// different models ([`with_layer_models`](Self::with_layer_models))
    /// each start from their own.
    pub fn init_params(&self, init: &InitConfig, seed: u64) -> Result<NetworkParams, NetError> {
        let params = NetworkParams::init_for(&self.stack.models[0], &self.stack.sizes, init, seed)?;
        Ok(self.with_layer_defaults(params))
    }

    /// Like [`init_params`](Self::init_params) with a distribution per
    /// layer ([`NetworkParams::init_layers_for`]).
    pub fn init_params_layers(
        &self,
        layers: &[LayerInit],
        seed: u64,
    ) -> Result<NetworkParams, NetError> {
        let params =
            NetworkParams::init_layers_for(&self.stack.models[0], &self.stack.sizes, layers, seed)?;
        Ok(self.with_layer_defaults(params))
    }

    /// `params` with every neuron parameter beyond the bias set to its
    /// layer's model's default (the initialisation draws the biases only,
    /// so this changes no random number; for one model it changes nothing).
    fn with_layer_defaults(&self, mut params: NetworkParams) -> NetworkParams {
        let np = <N::Params as StateVector>::DIM;
        if np < 2 {
            return params;
        }
        for (layer, model) in params.layers.iter_mut().zip(&self.stack.models) {
            let defaults = model.default_params();
            for neuron in layer.neuron_params.chunks_mut(np) {
                neuron[1..].copy_from_slice(&defaults.as_slice()[1..]);
            }
        }
        params
    }

    /// Checks that `params` fit this network and are finite.
    pub fn check_params(&self, params: &NetworkParams) -> Result<(), NetError> {
        self.stack.check_params(params)
    }

    /// Checks that `input` has one channel per input of this network (its
    /// times are valid by construction, [`SpikeTrains`]).
    pub(crate) fn check_input(&self, input: &SpikeTrains) -> Result<(), NetError> {
        if input.n_channels() != self.n_inputs() {
            return Err(NetError::Shape {
                what: "input channels",
                expected: self.n_inputs(),
                got: input.n_channels(),
            });
        }
        Ok(())
    }

    /// Checks that a gradient buffer has the shape of this network's
    /// parameters.
    fn check_grad(&self, params: &NetworkParams, grad: &NetworkParams) -> Result<(), NetError> {
        grad.check_shape(
            self.sizes(),
            <N::Params as StateVector>::DIM,
            N::WEIGHTS_PER_SYNAPSE,
            "gradient buffer does not match the network's layer sizes",
        )?;
        params.check_delays_like(grad)
    }

    /// The checked layers, for the batch passes.
    pub(crate) fn stack(&self) -> &Stack<N> {
        &self.stack
    }

    /// Simulates one sample. `trace` is overwritten (its buffers reused).
    /// With [`Workspace::set_sensitivity_log`], the runs log their
    /// segments' sensitivities for a [`backward`](Self::backward) pass to
    /// take, where the backend can.
    pub fn forward(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
    ) -> Result<(), NetError> {
        self.check_params(params)?;
        self.check_input(input)?;
        let log = ws.log;
        forward(
            &self.stack,
            self.loss_pass,
            params,
            input,
            ws,
            trace,
            Pass::Full,
            log,
        )
    }

    /// The state of neuron `neuron` of `layer` (0 = first hidden layer) at
    /// each of `times`, in the forward pass that wrote `trace` with
    /// `params`: membrane traces for plots, or a readout of the state. The
    /// state at `t` is the one after every event at `t`, accurate to the
    /// network's solver tolerances ([`evnn_solver::states_at`]). A layer
    /// simulated layer-wide ([`with_layer_wide`](Self::with_layer_wide))
    /// logs its neurons' spikes only; the neuron then runs again on its own
    /// from the layer's inputs in the trace (and, in a recurrent layer, the
    /// layer's spikes in the trace that reach it), whose states are the
    /// layer's to round-off.
    ///
    /// # Errors
    ///
    /// A layer or neuron that the network or `trace` does not have
    /// (`Shape`), parameters that do not fit, and a time outside the
    /// neuron's simulated interval (`Solver { source:
    /// QueryTimeOutOfRange, .. }`: `[0, t_end]` for a [`forward`](Self::forward)
    /// trace; a loss pass ends runs earlier).
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{FeedForward, InitConfig, SpikeTrains};
    /// use evnn_neurons::Lif;
    /// use evnn_solver::{ClosedForm, SolverOptions};
    ///
    /// let net = FeedForward::new(Lif::default(), &[2, 3, 2], ClosedForm, SolverOptions::default(), 30.0)?;
    /// let params = net.init_params(&InitConfig { wmean: 5.0, wlim: 2.0, ..InitConfig::default() }, 0)?;
    /// let input = SpikeTrains::from_times(&[1.0, 4.0])?;
    /// let (mut ws, mut trace) = (net.workspace(), Default::default());
    /// net.forward(&params, &input, &mut ws, &mut trace)?;
    /// let times: Vec<f64> = (0..=300).map(|k| 0.1 * k as f64).collect();
    /// let mut v = Vec::new();
    /// net.states_at(&params, &trace, 1, 0, &times, &mut v)?; // output neuron 0
    /// assert_eq!(v.len(), 301);
    /// assert!(v.iter().all(|x| x[0] < 1.0)); // below the threshold θ = 1 after every reset
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn states_at(
        &self,
        params: &NetworkParams,
        trace: &ForwardTrace<N::State>,
        layer: usize,
        neuron: usize,
        times: &[f64],
        out: &mut Vec<N::State>,
    ) -> Result<(), NetError> {
        self.check_params(params)?;
        let n_layers = self.stack.n_layers();
        if layer >= n_layers {
            return Err(NetError::Shape {
                what: "layer index (below the number of layers)",
                expected: n_layers,
                got: layer,
            });
        }
        let size = self.stack.sizes[layer + 1];
        if neuron >= size {
            return Err(NetError::Shape {
                what: "neuron index (below the layer's size)",
                expected: size,
                got: neuron,
            });
        }
        let lt = trace.layers.get(layer);
        let run = lt
            .and_then(|l| l.neurons.get(neuron))
            .ok_or(NetError::Shape {
                what: "trace of the neuron (a forward pass of this network)",
                expected: size,
                got: lt.map_or(0, |l| l.neurons.len()),
            })?;
        let p = Stack::<N>::neuron_params(params, layer, neuron);
        let model = &self.stack.models[layer];
        let solver = |source| NetError::Solver {
            layer,
            neuron,
            source,
        };
        let rerun;
        let run = match lt {
            // A layer simulated layer-wide logs its neurons' spikes only:
            // the neuron runs again on its own, from the layer's inputs
            // (at their arrivals, with axonal delays) and, in a recurrent
            // layer, the layer's spikes that reach it, to `t_end`.
            Some(l) if l.layer_wide => {
                let (mut inputs, arrivals) = (Vec::new(), &mut Vec::new());
                let (merged, t_end) = (&l.inputs, self.stack.t_end);
                fill_neuron_inputs::<N>(
                    &mut inputs,
                    arrivals,
                    merged,
                    params,
                    layer,
                    neuron,
                    t_end,
                );
                let lp = &params.layers[layer];
                if let Some(w) = &lp.recurrent_weights {
                    for i in (0..size).filter(|&i| lp.has_recurrent_synapse(neuron, i)) {
                        let weight = w[neuron * size + i];
                        let spikes = l.outputs.channel(i).iter();
                        inputs.extend(spikes.map(|&t| InputSpike::new(t, weight)));
                    }
                    // Stable: the layer's spikes after the inputs at their
                    // instants.
                    inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
                }
                let mut own = NeuronTrace::new(model.initial_state());
                let plan = self.stack.plan(layer, Pass::Full);
                // A backend's `simulate` may keep buffers: a copy's, here.
                self.backend
                    .clone()
                    .simulate(model, &p, &inputs, plan, &mut own)
                    .map_err(solver)?;
                rerun = own;
                &rerun
            }
            _ => run,
        };
        evnn_solver::states_at(model, &p, run, times, &self.stack.options, out).map_err(solver)
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
    /// of `input` or of the layer before, with its time, and no layer
    /// traced layer-wide where this network runs it neuron by neuron): a
    /// trace of another input or network is a [`NetError::TraceMismatch`],
    /// not a wrong gradient.
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
        check_trace(&self.stack, &ws.backend, params, input, trace)?;
        self.check_grad(params, grad)?;
        backward(
            &self.stack,
            params,
            input,
            trace,
            dl_dt,
            dl_dx_end,
            ws,
            grad,
            dl_dinput,
        )
    }

    /// Forward pass, a loss of the first output spikes against `target`
    /// ([`FirstSpikeLoss`]: a class label for [`TtfsLoss`], target times
    /// for [`SpikeTimeMse`](crate::SpikeTimeMse)), and (when `grad` is
    /// given) the backward pass adding `dL/dθ` to `grad`.
    ///
    /// Since the loss reads only the first output spikes, each output
    /// neuron is simulated up to its first spike
    /// ([`SolverOptions::stop_after_spikes`]), and every neuron's run ends
    /// once the neuron provably stays silent
    /// ([`SolverOptions::stop_when_silent`]); the layers before the output
    /// layer are simulated only as far as the output neurons need them where
    /// that saves work ([`LossPass`], set by [`FeedForward::with_loss_pass`]).
    /// `trace` then holds at most one spike per output neuron, and its runs
    /// may end before `t_end`. Loss and gradient are exactly those of the
    /// full run, bit for bit.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_loss<L: FirstSpikeLoss + ?Sized>(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        target: &L::Target,
        loss: &L,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
        grad: Option<&mut NetworkParams>,
    ) -> Result<SampleResult, NetError> {
        self.check_params(params)?;
        self.check_input(input)?;
        loss.validate()?;
        if let Some(g) = &grad {
            self.check_grad(params, g)?;
        }
        sample_loss(
            &self.stack,
            self.loss_pass,
            params,
            input,
            target,
            loss,
            ws,
            trace,
            grad,
        )
    }

    /// The predicted class of one sample ([`predict`](crate::predict) of
    /// its first output spikes: the output neuron that spikes first, lowest
    /// index on a tie; `None` when all are silent), exactly that of
    /// [`sample_loss`](Self::sample_loss), with less work.
    ///
    /// On demand (every [`LossPass`] but
    /// [`LayerByLayer`](LossPass::LayerByLayer), where the backend hands out
    /// steppers) the simulation ends once the first output spike is found
    /// and every other output neuron has reached its time: their steps are
    /// those of the loss pass up to there, so none of them can spike first.
    /// In a trained classifier whose wrong-class neurons stay silent, the
    /// loss pass must follow them (and the layers before) until they
    /// provably stay silent; here the run ends at the right neuron's spike.
    /// `trace` holds the runs up to there.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{FeedForward, ForwardTrace, InitConfig, NetworkParams, SpikeTrains, TtfsLoss};
    /// use evnn_neurons::Lif;
    /// use evnn_solver::{ClosedForm, SolverOptions};
    ///
    /// let sizes = [2, 6, 3];
    /// let net = FeedForward::new(Lif::default(), &sizes, ClosedForm, SolverOptions::default(), 30.0)?;
    /// let init = InitConfig { wmean: 3.0, wlim: 3.0, ..InitConfig::default() };
    /// let params = NetworkParams::init::<Lif>(&sizes, &init, 1)?;
    /// let x = SpikeTrains::from_times(&[1.0, 2.0])?;
    /// let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    /// let class = net.predict_sample(&params, &x, &mut ws, &mut trace)?;
    /// let r = net.sample_loss(&params, &x, &0, &TtfsLoss::default(), &mut ws, &mut trace, None)?;
    /// assert_eq!(class, r.prediction);
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn predict_sample(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
    ) -> Result<Option<usize>, NetError> {
        self.check_params(params)?;
        self.check_input(input)?;
        predict(&self.stack, self.loss_pass, params, input, ws, trace)
    }

    /// Checks readout-trained parameters: the network's as
    /// [`forward`](Self::forward) checks them, and readout weights on this
    /// network's last layer ([`ReadoutParams::check_readout`]).
    pub fn check_readout_params(&self, params: &ReadoutParams) -> Result<(), NetError> {
        self.check_params(&params.network)?;
        params.check_readout()
    }

    /// The full forward pass of one sample, a [`LiReadout`] of the last
    /// layer's spikes, the cross-entropy of its scores against `label`
    /// ([`LiReadout::cross_entropy`]) and (when `grad` is given) the
    /// backward pass through readout and network, adding `dL/dθ` to `grad`.
    /// Every spike of the last layer up to `t_end` counts.
    ///
    /// # Errors
    ///
    /// Parameters that do not fit the network (or `grad` another shape), a
    /// label that is no readout neuron, invalid time constants, an input of
    /// another channel count, and the solver's errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{Distribution, FeedForward, ForwardTrace, InitConfig, LiReadout, ReadoutParams, SpikeTrains};
    /// use evnn_neurons::Lif;
    /// use evnn_solver::{ClosedForm, SolverOptions};
    ///
    /// let net = FeedForward::new(Lif::default(), &[2, 5], ClosedForm, SolverOptions::default(), 30.0)?;
    /// let init = InitConfig { wmean: 4.0, wlim: 2.0, ..InitConfig::default() };
    /// let network = net.init_params(&init, 1)?;
    /// let params = ReadoutParams::init(network, 3, &Distribution::Normal { mean: 0.0, std: 1.0 }, 1)?;
    /// let x = SpikeTrains::from_trains(&[vec![1.0, 6.0], vec![2.0]])?;
    /// let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    /// let mut grad = params.zeros_like();
    /// let r = net.readout_loss(&params, &LiReadout::default(), &x, 2, &mut ws, &mut trace, Some(&mut grad))?;
    /// assert_eq!(r.scores.len(), 3);
    /// assert!(r.loss > 0.0 && grad.weights.iter().any(|&g| g != 0.0));
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn readout_loss(
        &self,
        params: &ReadoutParams,
        readout: &LiReadout,
        input: &SpikeTrains,
        label: usize,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
        grad: Option<&mut ReadoutParams>,
    ) -> Result<ReadoutResult, NetError> {
        self.check_readout_params(params)?;
        self.check_input(input)?;
        readout.validate()?;
        if label >= params.n_out {
            return Err(NetError::InvalidLabel {
                label,
                n_classes: params.n_out,
            });
        }
        if let Some(g) = &grad {
            self.check_grad(&params.network, &g.network)?;
            if g.weights.len() != params.weights.len() {
                return Err(NetError::Shape {
                    what: "readout weight gradient",
                    expected: params.weights.len(),
                    got: g.weights.len(),
                });
            }
        }
        readout_loss(
            &self.stack,
            self.loss_pass,
            params,
            readout,
            input,
            label,
            ws,
            trace,
            grad,
        )
    }
}
