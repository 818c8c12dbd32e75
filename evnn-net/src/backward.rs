//! The EventProp backward pass of one sample: each neuron's adjoint from
//! the output layer to the input, sending every spike's sensitivity
//! upstream.

use crate::forward::Workspace;
use crate::layer_wide::{self, layer_lif};
use crate::recurrent::backward_layer;
use crate::stack::{fill_neuron_inputs, Stack};
use crate::trace::ForwardTrace;
use crate::{NetError, NetworkParams, SpikeTrains};
use evnn_neurons::{NeuronModel, StateVector};
use evnn_solver::{run_adjoint, Adjoint, Backend};

/// Checks `trace` against `stack` and `input` as the backward pass needs
/// it: every index the backward pass takes from the trace is in range,
/// every input spike recorded is the source's spike with its time, and no
/// layer traced layer-wide (spikes only) is one that this network, with
/// `backend` and `params`, runs neuron by neuron.
pub(crate) fn check_trace<N: NeuronModel, B: Backend<N>>(
    stack: &Stack<N>,
    backend: &B,
    params: &NetworkParams,
    input: &SpikeTrains,
    trace: &ForwardTrace<N::State>,
) -> Result<(), NetError> {
    let n_layers = stack.n_layers();
    if trace.layers.len() != n_layers {
        return Err(NetError::Shape {
            what: "forward trace layers",
            expected: n_layers,
            got: trace.layers.len(),
        });
    }
    if input.n_channels() != stack.n_inputs() {
        return Err(NetError::Shape {
            what: "input channels",
            expected: stack.n_inputs(),
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
        // A layer-wide layer's neurons log their spikes only: the adjoint
        // of a neuron run on its own would read them as runs without
        // inputs.
        if lt.layer_wide && layer_lif(stack, backend, params, layer).is_none() {
            let what = "layer simulated layer-wide (1) or neuron by neuron (0)";
            return mismatch(None, what, 0.0, 1.0);
        }
        let n_out = stack.sizes[layer + 1];
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

/// The backward pass of one sample for parameters checked by the caller and
/// a trace that this network's forward pass made of `input`: adds `dL/dθ`
/// to `grad` and writes `dL/d(input spike times)` to `dl_dinput` (see
/// [`FeedForward::backward`](crate::FeedForward::backward)). The
/// sensitivities are checked here, since a loss may compute non-finite ones.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone>(
    stack: &Stack<N>,
    params: &NetworkParams,
    input: &SpikeTrains,
    trace: &ForwardTrace<N::State>,
    dl_dt: &[f64],
    dl_dx_end: Option<&[N::State]>,
    ws: &mut Workspace<N, B>,
    grad: &mut NetworkParams,
    dl_dinput: &mut Vec<f64>,
) -> Result<(), NetError> {
    debug_assert_eq!(stack.check_params(params), Ok(()));
    debug_assert_eq!(
        check_trace(stack, &ws.backend, params, input, trace),
        Ok(())
    );
    debug_assert!(grad.has_sizes(&stack.sizes));
    debug_assert_eq!(params.check_delays_like(grad), Ok(()));
    let n_layers = stack.n_layers();
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
        if d.len() != stack.n_outputs() {
            return Err(NetError::Shape {
                what: "dL/dx(T) (one state per output neuron)",
                expected: stack.n_outputs(),
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
        if let Some(lif) = layer_lif(stack, &ws.backend, params, layer) {
            let dx_end = dl_dx_end.filter(|_| layer == n_layers - 1);
            layer_wide::backward(
                stack,
                params,
                layer,
                lif,
                lt,
                &ws.current,
                dx_end,
                &|c| source.offset(c),
                &mut ws.wide,
                grad,
                &mut ws.upstream,
            )?;
            std::mem::swap(&mut ws.current, &mut ws.upstream);
            continue;
        }
        if params.layers[layer].is_recurrent() {
            let dx_end = dl_dx_end.filter(|_| layer == n_layers - 1);
            let offsets = |c: usize| source.offset(c);
            backward_layer(
                stack,
                params,
                layer,
                lt,
                &offsets,
                dx_end,
                &ws.backend,
                &mut ws.rec,
                &ws.current,
                &mut ws.upstream,
                grad,
            )?;
            std::mem::swap(&mut ws.current, &mut ws.upstream);
            continue;
        }
        let model = &stack.models[layer];
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
            let delayed = params.layers[layer].has_delays();
            let (inputs, arrivals) = (&mut ws.inputs, &mut ws.arrivals);
            fill_neuron_inputs::<N>(inputs, arrivals, &lt.inputs, params, layer, j, stack.t_end);
            let p = Stack::<N>::neuron_params(params, layer, j);
            run_adjoint(
                &mut ws.backend,
                model,
                &p,
                &ws.inputs,
                neuron,
                dl,
                dx_end,
                &stack.options,
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
            if delayed {
                // Delays are refused with several weights per synapse
                // (`NetworkParams::validate_synapses`).
                debug_assert_eq!(N::WEIGHTS_PER_SYNAPSE, 1);
                // Input `m` is merged spike `arrivals[m].1`; `dL/d(arrival)`
                // is that spike's `dL/dt`, and also `dL/dd_ij` and
                // `dL/da_i` (docs/design.md §4.5).
                for (m, &(_, at)) in ws.arrivals.iter().enumerate() {
                    let spike = &lt.inputs[at as usize];
                    let c = spike.channel as usize;
                    let dl_arrival = ws.grad.input_times[m];
                    g.weights[j * n_in + c] += ws.grad.weights[m];
                    ws.upstream[source.offset(c) + spike.k as usize] += dl_arrival;
                    if let Some(d) = g.synaptic_delays.as_mut() {
                        d[j * n_in + c] += dl_arrival;
                    }
                    if let Some(a) = g.axonal_delays.as_mut() {
                        a[c] += dl_arrival;
                    }
                }
                continue;
            }
            let k_w = N::WEIGHTS_PER_SYNAPSE;
            if k_w == 1 {
                for (m, spike) in lt.inputs.iter().enumerate() {
                    let c = spike.channel as usize;
                    g.weights[j * n_in + c] += ws.grad.weights[m];
                    ws.upstream[source.offset(c) + spike.k as usize] += ws.grad.input_times[m];
                }
            } else {
                // K entries per input spike; the time's gradient is on the
                // first (`evnn_solver::InputSpike`).
                for (m, spike) in lt.inputs.iter().enumerate() {
                    let c = spike.channel as usize;
                    let at = (j * n_in + c) * k_w;
                    for (dst, src) in g.weights[at..at + k_w]
                        .iter_mut()
                        .zip(&ws.grad.weights[m * k_w..(m + 1) * k_w])
                    {
                        *dst += src;
                    }
                    ws.upstream[source.offset(c) + spike.k as usize] +=
                        ws.grad.input_times[m * k_w];
                }
            }
        }
        std::mem::swap(&mut ws.current, &mut ws.upstream);
    }
    dl_dinput.clear();
    dl_dinput.extend_from_slice(&ws.current);
    Ok(())
}
