//! Dense layers, feed-forward or recurrent, with delays or none, simulated
//! layer-wide, where the network asks for it
//! ([`FeedForward::with_layer_wide`](crate::FeedForward::with_layer_wide))
//! and the backend can ([`Backend::lif_layer`]): the forward pass and the
//! adjoint of [`LifLayer`] (without synaptic delays) or of
//! [`DelayedLifLayer`] (with them), converted from and to the network's
//! traces, parameters and gradients.

use crate::stack::{fill_arrivals, Stack};
use crate::trace::LayerTrace;
use crate::{NetError, NetworkParams};
use evnn_neurons::{Lif, NeuronModel, StateVector};
use evnn_solver::lif_delayed::{DelayedLifLayer, DelayedLifScratch, SynapticDelays};
use evnn_solver::lif_layer::{LayerError, LayerSpike, LifLayer, LifLayerScratch, Recurrent};
use evnn_solver::{Backend, Event, EventKind, NeuronTrace};

/// Reusable buffers of the layer-wide passes.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerWideScratch {
    /// One per layer: each keeps its layer's weights transposed.
    kernels: Vec<LifLayerScratch>,
    /// One per layer with synaptic delays: each keeps its synapses'
    /// factors while the layer's weights and delays stay the same.
    delayed: Vec<DelayedLifScratch>,
    inputs: Vec<(f64, u32)>,
    /// With axonal delays: each input's arrival time and index in the
    /// layer's merged inputs, in arrival order.
    arrivals: Vec<(f64, u32)>,
    spikes: Vec<LayerSpike>,
    x_end: Vec<[f64; 2]>,
    /// The spikes of the backward pass with their `dL/dt`, in time order.
    sensitive: Vec<(LayerSpike, f64)>,
    dl: Vec<f64>,
    dx_end: Vec<[f64; 2]>,
    dl_dinput: Vec<f64>,
}

/// The LIF as which `layer` is simulated layer-wide; `None` where its
/// neurons run one by one: the network did not ask for it, the backend
/// cannot, or the layer has synaptic delays and constants that
/// [`DelayedLifLayer`] does not take ([`DelayedLifLayer::supports`]).
/// Axonal delays shift an input channel's spikes for every neuron alike,
/// so [`LifLayer`] takes them; synaptic delays give each neuron its own
/// input times, which [`DelayedLifLayer`] takes.
pub(crate) fn layer_lif<N: NeuronModel, B: Backend<N>>(
    stack: &Stack<N>,
    backend: &B,
    params: &NetworkParams,
    layer: usize,
) -> Option<Lif> {
    if !stack.layer_wide {
        return None;
    }
    let lif = backend.lif_layer(&stack.models[layer])?;
    let delayed = params.layers[layer].synaptic_delays.is_some();
    (!delayed || DelayedLifLayer::supports(&lif, stack.t_end)).then_some(lif)
}

/// The inputs of a layer with synaptic delays as [`DelayedLifLayer`] takes
/// them, into `s.inputs`: every merged spike, in their order, at its time
/// behind its channel's axonal delay, if any.
fn delayed_inputs(
    merged: &[crate::trace::MergedSpike],
    axonal: Option<&[f64]>,
    s: &mut LayerWideScratch,
) {
    s.inputs.clear();
    s.inputs.extend(merged.iter().map(|m| {
        let shift = axonal.map_or(0.0, |a| a[m.channel as usize]);
        (m.time + shift, m.channel)
    }));
}

/// The layer's inputs as the kernel takes them, `(time, channel)` in time
/// order, into `s.inputs`: the merged inputs, or with axonal delays `a`
/// each spike at its arrival `t + a_c` (those before `t_end`, in the order
/// of [`fill_arrivals`]), with their positions in `s.arrivals`.
fn kernel_inputs(
    merged: &[crate::trace::MergedSpike],
    axonal: Option<&[f64]>,
    t_end: f64,
    s: &mut LayerWideScratch,
) {
    s.inputs.clear();
    let Some(a) = axonal else {
        s.inputs.extend(merged.iter().map(|m| (m.time, m.channel)));
        return;
    };
    fill_arrivals(&mut s.arrivals, merged, Some(a), None, t_end);
    let arrivals = s.arrivals.iter();
    s.inputs
        .extend(arrivals.map(|&(time, k)| (time, merged[k as usize].channel)));
}

/// `layer`'s kernel: `lif` neurons on the layer's shape and `t_end`, with
/// the network's limit of spikes per neuron.
fn kernel<N: NeuronModel>(stack: &Stack<N>, lif: Lif, layer: usize) -> Result<LifLayer, NetError> {
    let (n_in, n_out) = (stack.sizes[layer], stack.sizes[layer + 1]);
    let kernel = LifLayer::new(lif, n_in, n_out, stack.t_end);
    let kernel = kernel.map_err(|e| solver_error(layer)(e.into()))?;
    Ok(kernel.with_max_spikes(stack.options.max_spikes))
}

/// `layer`'s kernel with synaptic delays, as [`kernel`].
fn delayed_kernel<N: NeuronModel>(
    stack: &Stack<N>,
    lif: Lif,
    layer: usize,
) -> Result<DelayedLifLayer, NetError> {
    let (n_in, n_out) = (stack.sizes[layer], stack.sizes[layer + 1]);
    let kernel = DelayedLifLayer::new(lif, n_in, n_out, stack.t_end);
    let kernel = kernel.map_err(|e| solver_error(layer)(e.into()))?;
    Ok(kernel.with_max_spikes(stack.options.max_spikes))
}

/// The recurrent synapses of `lp`, if it has any.
fn recurrent(lp: &crate::LayerParams) -> Option<Recurrent<'_>> {
    lp.recurrent_weights.as_deref().map(|weights| Recurrent {
        weights,
        mask: lp.recurrent_mask.as_deref(),
    })
}

/// A layer's error as the network's: the neuron where the error is one
/// neuron's, else neuron 0 (the network checks shapes, inputs and
/// sensitivities before, so errors of the whole layer are its constants').
fn solver_error(layer: usize) -> impl Fn(LayerError) -> NetError {
    move |e| NetError::Solver {
        layer,
        neuron: e.neuron.unwrap_or(0),
        source: e.source,
    }
}

/// `layer`'s kernel buffers.
fn layer_scratch<T: Default>(kernels: &mut Vec<T>, layer: usize) -> &mut T {
    if kernels.len() <= layer {
        kernels.resize_with(layer + 1, T::default);
    }
    &mut kernels[layer]
}

/// A state of `N` from the LIF's `[v, i]`: `N` is the LIF the backend
/// named ([`Backend::lif_layer`]), so the dimensions agree.
fn state<S: StateVector>(x: [f64; 2]) -> Result<S, NetError> {
    S::from_slice(&x).ok_or(NetError::Shape {
        what: "state of a layer-wide neuron (the LIF's v, i)",
        expected: S::DIM,
        got: 2,
    })
}

/// Simulates `layer` of `lif` neurons on `lt.inputs` into `lt`: each
/// neuron's spikes, their events (only spikes: the adjoint needs no state
/// at the inputs), its end state, and the layer's output trains.
pub(crate) fn forward<N: NeuronModel>(
    stack: &Stack<N>,
    params: &NetworkParams,
    layer: usize,
    lif: Lif,
    lt: &mut LayerTrace<N::State>,
    s: &mut LayerWideScratch,
) -> Result<(), NetError> {
    let (n_out, t_end) = (stack.sizes[layer + 1], stack.t_end);
    let lp = &params.layers[layer];
    let axonal = lp.axonal_delays.as_deref();
    let result = match lp.synaptic_delays.as_deref() {
        Some(delays) => {
            delayed_inputs(&lt.inputs, axonal, s);
            delayed_kernel(stack, lif, layer)?.forward(
                &lp.neuron_params,
                &lp.weights,
                SynapticDelays { delays },
                recurrent(lp),
                &s.inputs,
                layer_scratch(&mut s.delayed, layer),
                &mut s.spikes,
                &mut s.x_end,
            )
        }
        None => {
            kernel_inputs(&lt.inputs, axonal, t_end, s);
            kernel(stack, lif, layer)?.forward(
                &lp.neuron_params,
                &lp.weights,
                recurrent(lp),
                &s.inputs,
                layer_scratch(&mut s.kernels, layer),
                &mut s.spikes,
                &mut s.x_end,
            )
        }
    };
    result.map_err(solver_error(layer))?;
    lt.recurrent = None;
    lt.layer_wide = true;
    let empty = NeuronTrace::new(N::State::zeros()).mark();
    lt.neurons
        .resize_with(n_out, || NeuronTrace::new(N::State::zeros()));
    // One segment per input before `t_end` and one to it (counted: with
    // synaptic delays the inputs are in their merged order, not their
    // arrivals'; a neuron's own arrivals are not counted).
    let segments = s.inputs.iter().filter(|&&(t, _)| t < t_end).count() + 1;
    for (neuron, &x) in lt.neurons.iter_mut().zip(&s.x_end) {
        neuron.rewind(&empty);
        neuron.t_end = t_end;
        neuron.x_end = state(x)?;
        neuron.steps = segments;
    }
    let (theta, v_reset) = (lif.theta(), lif.v_reset());
    for spike in &s.spikes {
        let j = spike.neuron as usize;
        let p = [lp.neuron_params[j]];
        let (x_minus, x_plus) = ([theta, spike.current], [v_reset, spike.current]);
        let (mut f_minus, mut f_plus) = ([0.0; 2], [0.0; 2]);
        lif.dynamics(&p, &x_minus, &mut f_minus);
        lif.dynamics(&p, &x_plus, &mut f_plus);
        let neuron = &mut lt.neurons[j];
        neuron.events.push(Event {
            t: spike.t,
            kind: EventKind::Spike {
                k: neuron.spikes.len(),
            },
            x_minus: state(x_minus)?,
            x_plus: state(x_plus)?,
            f_minus: state(f_minus)?,
            f_plus: state(f_plus)?,
        });
        neuron.spikes.push(spike.t);
        neuron.steps += 1;
    }
    lt.outputs.clear();
    for neuron in &lt.neurons {
        lt.outputs.push_checked(&neuron.spikes);
    }
    Ok(())
}

/// The adjoint of `layer`, simulated layer-wide into `lt`, given `dl_dt`
/// (`dL/dt` of its output spikes, in the order of `lt.outputs`) and
/// `dl_dx_end` (the output layer's, or `None`): adds the layer's gradient
/// to `grad` and `dL/dt` of each input spike to `upstream` at
/// `offset(channel) + k` (with axonal delays, also to the channel's
/// delay: an arrival's `dL/dt` is both).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<N: NeuronModel>(
    stack: &Stack<N>,
    params: &NetworkParams,
    layer: usize,
    lif: Lif,
    lt: &LayerTrace<N::State>,
    dl_dt: &[f64],
    dl_dx_end: Option<&[N::State]>,
    offset: &dyn Fn(usize) -> usize,
    s: &mut LayerWideScratch,
    grad: &mut NetworkParams,
    upstream: &mut [f64],
) -> Result<(), NetError> {
    let (n_in, t_end) = (stack.sizes[layer], stack.t_end);
    s.sensitive.clear();
    for (j, neuron) in lt.neurons.iter().enumerate() {
        let start = lt.outputs.offset(j);
        for event in &neuron.events {
            if let EventKind::Spike { k } = event.kind {
                let spike = LayerSpike {
                    t: event.t,
                    neuron: j as u32,
                    current: event.x_minus.as_slice()[1],
                };
                s.sensitive.push((spike, dl_dt[start + k]));
            }
        }
    }
    s.sensitive
        .sort_by(|(a, _), (b, _)| a.t.total_cmp(&b.t).then(a.neuron.cmp(&b.neuron)));
    s.spikes.clear();
    s.spikes.extend(s.sensitive.iter().map(|&(spike, _)| spike));
    s.dl.clear();
    s.dl.extend(s.sensitive.iter().map(|&(_, dl)| dl));
    let lp = &params.layers[layer];
    let axonal = lp.axonal_delays.as_deref();
    match lp.synaptic_delays {
        Some(_) => delayed_inputs(&lt.inputs, axonal, s),
        None => kernel_inputs(&lt.inputs, axonal, t_end, s),
    }
    let dx_end = match dl_dx_end {
        Some(d) => {
            s.dx_end.clear();
            s.dx_end
                .extend(d.iter().map(|x| [x.as_slice()[0], x.as_slice()[1]]));
            Some(&s.dx_end[..])
        }
        None => None,
    };
    let g = &mut grad.layers[layer];
    if let Some(delays) = lp.synaptic_delays.as_deref() {
        s.dl_dinput.clear();
        s.dl_dinput.resize(s.inputs.len(), 0.0);
        let g_delays = g.synaptic_delays.as_deref_mut();
        let g_delays = g_delays.ok_or(NetError::Shape {
            what: "gradient of the synaptic delays (n_out × n_in)",
            expected: delays.len(),
            got: 0,
        })?;
        delayed_kernel(stack, lif, layer)?
            .backward(
                &lp.neuron_params,
                &lp.weights,
                SynapticDelays { delays },
                recurrent(lp),
                &s.inputs,
                &s.spikes,
                &s.dl,
                dx_end,
                layer_scratch(&mut s.delayed, layer),
                &mut g.neuron_params,
                &mut g.weights,
                g_delays,
                g.recurrent_weights.as_deref_mut(),
                &mut s.dl_dinput,
            )
            .map_err(solver_error(layer))?;
        // Every merged spike's `dL/dt` (the sum over its arrivals) is its
        // source's and, with axonal delays, its channel's delay's.
        let mut g_axonal = g.axonal_delays.as_deref_mut();
        for (m, &d) in lt.inputs.iter().zip(&s.dl_dinput) {
            let c = m.channel as usize;
            upstream[offset(c) + m.k as usize] += d;
            if let Some(ga) = g_axonal.as_deref_mut() {
                ga[c] += d;
            }
        }
        if axonal.is_some() && g_axonal.is_none() {
            return Err(NetError::Shape {
                what: "gradient of the axonal delays (one per input)",
                expected: n_in,
                got: 0,
            });
        }
        return Ok(());
    }
    s.dl_dinput.clear();
    s.dl_dinput.resize(s.inputs.len(), 0.0);
    kernel(stack, lif, layer)?
        .backward(
            &lp.neuron_params,
            &lp.weights,
            recurrent(lp),
            &s.inputs,
            &s.spikes,
            &s.dl,
            dx_end,
            layer_scratch(&mut s.kernels, layer),
            &mut g.neuron_params,
            &mut g.weights,
            g.recurrent_weights.as_deref_mut(),
            &mut s.dl_dinput,
        )
        .map_err(solver_error(layer))?;
    match axonal {
        None => {
            for (m, &d) in lt.inputs.iter().zip(&s.dl_dinput) {
                upstream[offset(m.channel as usize) + m.k as usize] += d;
            }
        }
        Some(_) => {
            let g_axonal = g.axonal_delays.as_deref_mut();
            let g_axonal = g_axonal.ok_or(NetError::Shape {
                what: "gradient of the axonal delays (one per input)",
                expected: n_in,
                got: 0,
            })?;
            for (&(_, k), &d) in s.arrivals.iter().zip(&s.dl_dinput) {
                let m = &lt.inputs[k as usize];
                let c = m.channel as usize;
                upstream[offset(c) + m.k as usize] += d;
                g_axonal[c] += d;
            }
        }
    }
    Ok(())
}
