//! The forward pass of one sample: layer after layer, or on demand
//! (`on_demand.rs`), into a [`ForwardTrace`], with a thread's [`Workspace`].

use crate::layer_wide::{self, layer_lif, LayerWideScratch};
use crate::on_demand::{LayerRuns, LossPass, OnDemandRuns};
use crate::recurrent::{forward_layer, RecurrentScratch};
use crate::stack::{fill_neuron_inputs, Pass, Stack};
use crate::trace::{merge_spikes, ForwardTrace, LayerTrace};
use crate::{NetError, NetworkParams, SpikeTrains, VoltageMax};
use evnn_neurons::NeuronModel;
use evnn_solver::{Backend, InputSpike, NeuronGradient, NeuronTrace};

/// Per-thread scratch of the passes of one sample: a backend instance and
/// reusable buffers. Made by [`FeedForward::workspace`](crate::FeedForward::workspace);
/// its earlier use never changes a result.
#[derive(Clone, Debug)]
pub struct Workspace<N: NeuronModel, B: Backend<N>> {
    pub(crate) backend: B,
    pub(crate) inputs: Vec<InputSpike>,
    /// Where the layer has delays: each input's arrival time and index in
    /// the layer's merged inputs, in the order of `inputs`.
    pub(crate) arrivals: Vec<(f64, u32)>,
    /// The runs of the on-demand pass, and the steppers the layer-by-layer
    /// pass reuses.
    pub(crate) od: OnDemandRuns<N, B::Stepper>,
    /// The recurrent layers' runs and adjoints.
    pub(crate) rec: RecurrentScratch<N, B>,
    /// The layer-wide layers' buffers.
    pub(crate) wide: LayerWideScratch,
    /// The merge of a layer's input spikes (`merge_spikes`).
    pub(crate) buckets: Vec<u32>,
    pub(crate) grad: NeuronGradient<N::Params>,
    pub(crate) upstream: Vec<f64>,
    pub(crate) current: Vec<f64>,
    /// Loss sensitivities of one sample: first spikes, every output spike,
    /// input spike times.
    pub(crate) dl_first: Vec<f64>,
    pub(crate) dl_dt: Vec<f64>,
    pub(crate) dl_dinput: Vec<f64>,
    /// A readout's maxima of one sample.
    pub(crate) maxima: Vec<VoltageMax>,
    /// Whether [`FeedForward::forward`](crate::FeedForward::forward) logs
    /// the runs' sensitivities ([`set_sensitivity_log`](Self::set_sensitivity_log)).
    pub(crate) log: bool,
}

impl<N: NeuronModel, B: Backend<N>> Workspace<N, B> {
    /// Fresh scratch around `backend`.
    pub(crate) fn new(backend: B) -> Self {
        Workspace {
            backend,
            inputs: Vec::new(),
            arrivals: Vec::new(),
            od: OnDemandRuns::default(),
            rec: RecurrentScratch::default(),
            wide: LayerWideScratch::default(),
            buckets: Vec::new(),
            grad: NeuronGradient::zeros(0),
            upstream: Vec::new(),
            current: Vec::new(),
            dl_first: Vec::new(),
            dl_dt: Vec::new(),
            dl_dinput: Vec::new(),
            maxima: Vec::new(),
            log: false,
        }
    }

    /// Whether [`FeedForward::forward`](crate::FeedForward::forward)
    /// through this workspace logs each run's segment sensitivities where
    /// the backend can (Dormand–Prince; [`Backend::log_sensitivities`]),
    /// for a [`backward`](crate::FeedForward::backward) pass to take
    /// instead of integrating them again: off by default (a forward pass
    /// for its spikes alone costs less without), on for a forward pass that
    /// a backward pass follows, whose gradient is then that of
    /// [`sample_loss`](crate::FeedForward::sample_loss) bit for bit. The
    /// spikes are the same either way. The passes with a loss set it
    /// themselves: they log when they compute a gradient.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{FeedForward, ForwardTrace, InitConfig, NetworkParams, SpikeTrains};
    /// use evnn_neurons::Qif;
    /// use evnn_solver::{Dopri5Backend, SolverOptions};
    ///
    /// let opts = SolverOptions::default();
    /// let net = FeedForward::new(Qif::default(), &[2, 4, 2], Dopri5Backend::default(), opts, 30.0)?;
    /// let params = NetworkParams::init::<Qif>(net.sizes(), &InitConfig::default(), 0)?;
    /// let input = SpikeTrains::from_times(&[1.0, 4.0])?;
    /// let (mut ws, mut a, mut b) = (net.workspace(), ForwardTrace::default(), ForwardTrace::default());
    /// net.forward(&params, &input, &mut ws, &mut a)?;
    /// ws.set_sensitivity_log(true);
    /// net.forward(&params, &input, &mut ws, &mut b)?;
    /// assert_eq!(a.output(), b.output());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_sensitivity_log(&mut self, on: bool) {
        self.log = on;
    }
}

/// Simulates one sample into `trace` (its buffers reused), delivering what
/// `pass` asks for. `params` and `input` are checked by the caller. In the
/// passes of first spikes the output neurons' runs end at their first spike
/// and every run once its neuron provably stays silent, and the earlier
/// layers are simulated on demand as `loss_pass` says. Spikes, loss and
/// gradient are those of the full pass; the traces end earlier.
///
/// With `log`, a backward pass follows: the runs log their segments'
/// sensitivities where the backend can ([`Backend::log_sensitivities`]),
/// which the adjoint then takes instead of integrating them again (the
/// same runs either way).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward<N: NeuronModel, B: Backend<N>>(
    stack: &Stack<N>,
    loss_pass: LossPass,
    params: &NetworkParams,
    input: &SpikeTrains,
    ws: &mut Workspace<N, B>,
    trace: &mut ForwardTrace<N::State>,
    pass: Pass,
    log: bool,
) -> Result<(), NetError> {
    debug_assert_eq!(stack.check_params(params), Ok(()));
    debug_assert_eq!(input.n_channels(), stack.n_inputs());
    let n_layers = stack.n_layers();
    // The passes of first spikes simulate earlier layers only as far as
    // the output neurons need them, where the backend hands out its
    // steppers; the prediction's on-demand pass also ends the output
    // neurons once the first of them has spiked.
    // With delays a spike may arrive after spikes found in later rounds,
    // which the on-demand pass's handing down in time order does not
    // allow, and a recurrent layer simulates its neurons together: such
    // networks run layer by layer (the same spikes, loss and gradient; the
    // traces run to the neurons' own ends).
    // Layers simulated layer-wide, too, run to the end.
    let wide = |layer| layer_lif(stack, &ws.backend, params, layer);
    let on_demand = match pass {
        _ if params.has_delays() || params.is_recurrent() => false,
        _ if (0..n_layers).any(|layer| wide(layer).is_some()) => false,
        Pass::Full => false,
        Pass::FirstSpikes => n_layers > 1 && ws.od.choice.wanted(loss_pass),
        Pass::Prediction => loss_pass != LossPass::LayerByLayer,
    };
    ws.backend.log_sensitivities(log);
    if on_demand
        && ws
            .od
            .forward(stack, &ws.backend, params, input, trace, pass)?
    {
        return Ok(());
    }
    trace.layers.resize_with(n_layers, LayerTrace::default);
    ws.od.layers.resize_with(n_layers, LayerRuns::default);
    for layer in 0..n_layers {
        let (before, rest) = trace.layers.split_at_mut(layer);
        let lt = &mut rest[0];
        let source = if layer == 0 {
            input
        } else {
            &before[layer - 1].outputs
        };
        merge_spikes(source, &mut lt.inputs, &mut ws.buckets);
        lt.layer_wide = false;
        if let Some(lif) = layer_lif(stack, &ws.backend, params, layer) {
            layer_wide::forward(stack, params, layer, lif, lt, &mut ws.wide)?;
            continue;
        }
        if params.layers[layer].is_recurrent() {
            let (inputs, arrivals) = (&mut ws.inputs, &mut ws.arrivals);
            forward_layer(
                stack,
                params,
                layer,
                lt,
                &ws.backend,
                &mut ws.rec,
                inputs,
                arrivals,
            )?;
            continue;
        }
        lt.recurrent = None;
        let model = &stack.models[layer];
        let plan = stack.plan(layer, pass);
        let n_out = stack.sizes[layer + 1];
        lt.neurons
            .resize_with(n_out, || NeuronTrace::new(model.initial_state()));
        lt.outputs.clear();
        let lr = &mut ws.od.layers[layer];
        for j in 0..n_out {
            let (inputs, arrivals) = (&mut ws.inputs, &mut ws.arrivals);
            fill_neuron_inputs::<N>(inputs, arrivals, &lt.inputs, params, layer, j, stack.t_end);
            let p = Stack::<N>::neuron_params(params, layer, j);
            let neuron = &mut lt.neurons[j];
            // The workspace's steppers, reset, where the backend hands
            // them out (its `simulate` would build a new one per run).
            match lr.stepper(&ws.backend, j, model, &p, plan) {
                Some(stepper) => plan.run(stepper, model, &p, &ws.inputs, neuron),
                None => ws.backend.simulate(model, &p, &ws.inputs, plan, neuron),
            }
            .map_err(|source| NetError::Solver {
                layer,
                neuron: j,
                source,
            })?;
            lt.outputs.push_checked(&lt.neurons[j].spikes);
        }
    }
    Ok(())
}
