//! The network's layers as the passes read them: neuron constants, sizes and
//! the checked run plans of every layer, and how a neuron's inputs and
//! parameters are cut from the network's parameters.

use crate::params::check_sizes;
use crate::trace::MergedSpike;
use crate::{NetError, NetworkParams};
use evnn_neurons::{NeuronModel, StateVector};
use evnn_solver::{InputSpike, RunPlan, SolverOptions};

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

/// Layers of one neuron model with their checked run plans. Made once by a
/// validating constructor, so that the passes check nothing again.
#[derive(Clone, Debug)]
pub(crate) struct Stack<N> {
    pub(crate) models: Vec<N>,
    pub(crate) sizes: Vec<usize>,
    pub(crate) options: SolverOptions,
    pub(crate) t_end: f64,
    /// Per layer: the plan of the full pass, that of the passes of first
    /// spikes ([`Stack::plan`]), and that of a recurrent layer
    /// ([`Stack::recurrent_plan`]).
    plans: Vec<[RunPlan; 3]>,
    /// Whether dense layers run layer-wide where the backend can
    /// (`layer_wide.rs`).
    pub(crate) layer_wide: bool,
}

impl<N: NeuronModel> Stack<N> {
    /// Checks sizes, one model per layer, `t_end` and `options`, and plans
    /// every layer's runs.
    pub(crate) fn new(
        models: Vec<N>,
        sizes: &[usize],
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
        let n_layers = models.len();
        let plans = (0..n_layers)
            .map(|layer| {
                let plan = |options: SolverOptions| {
                    RunPlan::new(t_end, &options).map_err(|source| NetError::Solver {
                        layer,
                        neuron: 0,
                        source,
                    })
                };
                Ok([
                    plan(options)?,
                    plan(first_spike_options(&options, layer + 1 == n_layers))?,
                    plan(SolverOptions {
                        stop_after_spikes: None,
                        stop_when_silent: false,
                        ..options
                    })?,
                ])
            })
            .collect::<Result<_, NetError>>()?;
        Ok(Stack {
            models,
            sizes: sizes.to_vec(),
            options,
            t_end,
            plans,
            layer_wide: false,
        })
    }

    /// Number of layers.
    pub(crate) fn n_layers(&self) -> usize {
        self.models.len()
    }

    /// Number of input channels.
    pub(crate) fn n_inputs(&self) -> usize {
        self.sizes[0]
    }

    /// Number of output neurons.
    pub(crate) fn n_outputs(&self) -> usize {
        *self.sizes.last().unwrap_or(&0)
    }

    /// The end time and solver options of `layer`'s runs in `pass`. Where
    /// only the output neurons' first spikes matter, every run may end once
    /// its neuron provably stays silent, and the output neurons' at their
    /// first spike.
    pub(crate) fn plan(&self, layer: usize, pass: Pass) -> &RunPlan {
        let [full, first, _] = &self.plans[layer];
        match pass {
            Pass::Full => full,
            Pass::FirstSpikes | Pass::Prediction => first,
        }
    }

    /// The plan of a recurrent layer's runs in every pass: its neurons
    /// reach one another, so none may end before `t_end` (a neuron that
    /// stopped at its first spike, or once silent without more input,
    /// would miss or withhold spikes of the layer).
    pub(crate) fn recurrent_plan(&self, layer: usize) -> &RunPlan {
        &self.plans[layer][2]
    }

    /// Checks that `params` fit these layers and are finite.
    pub(crate) fn check_params(&self, params: &NetworkParams) -> Result<(), NetError> {
        if !params.has_sizes(&self.sizes) {
            return Err(NetError::Architecture {
                reason: "parameters do not match the network's layer sizes",
                sizes: params.sizes(),
            });
        }
        params.validate_synapses(N::Params::DIM, N::WEIGHTS_PER_SYNAPSE, N::PARAM_NAMES)
    }

    /// Neuron `j` of `layer`'s parameters.
    pub(crate) fn neuron_params(params: &NetworkParams, layer: usize, j: usize) -> N::Params {
        let np = N::Params::DIM;
        let mut p = N::Params::zeros();
        p.as_mut_slice()
            .copy_from_slice(&params.layers[layer].neuron_params[j * np..(j + 1) * np]);
        p
    }
}

/// The options of the passes of first spikes: every run ends once its neuron
/// provably stays silent, the output layer's at its first spike.
fn first_spike_options(options: &SolverOptions, output_layer: bool) -> SolverOptions {
    SolverOptions {
        stop_after_spikes: if output_layer {
            Some(options.stop_after_spikes.unwrap_or(1).min(1))
        } else {
            options.stop_after_spikes
        },
        stop_when_silent: true,
        ..*options
    }
}

/// Neuron `j`'s inputs: the merged input spikes with its weights.
pub(crate) fn fill_inputs<N: NeuronModel>(
    inputs: &mut Vec<InputSpike>,
    merged: &[MergedSpike],
    params: &NetworkParams,
    layer: usize,
    j: usize,
) {
    inputs.clear();
    push_inputs::<N>(inputs, merged, params, layer, j);
}

/// Appends `merged` with neuron `j`'s weights to its inputs.
pub(crate) fn push_inputs<N: NeuronModel>(
    inputs: &mut Vec<InputSpike>,
    merged: &[MergedSpike],
    params: &NetworkParams,
    layer: usize,
    j: usize,
) {
    let l = &params.layers[layer];
    let k_w = N::WEIGHTS_PER_SYNAPSE;
    if k_w == 1 {
        let row = &l.weights[j * l.n_in..(j + 1) * l.n_in];
        inputs.extend(
            merged
                .iter()
                .map(|m| InputSpike::new(m.time, row[m.channel as usize])),
        );
    } else {
        // K weights per synapse: K consecutive entries of one time
        // (`evnn_solver::InputSpike`).
        let row = &l.weights[j * l.n_in * k_w..(j + 1) * l.n_in * k_w];
        for m in merged {
            let c = m.channel as usize;
            inputs.extend(
                row[c * k_w..(c + 1) * k_w]
                    .iter()
                    .map(|&w| InputSpike::new(m.time, w)),
            );
        }
    }
}

/// Neuron `j`'s inputs: the merged input spikes with its weights, at
/// their arrivals where `layer` has delays ([`fill_delayed_inputs`], whose
/// `arrivals` it fills then).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fill_neuron_inputs<N: NeuronModel>(
    inputs: &mut Vec<InputSpike>,
    arrivals: &mut Vec<(f64, u32)>,
    merged: &[MergedSpike],
    params: &NetworkParams,
    layer: usize,
    j: usize,
    t_end: f64,
) {
    if params.layers[layer].has_delays() {
        fill_delayed_inputs(inputs, arrivals, merged, params, layer, j, t_end);
    } else {
        fill_inputs::<N>(inputs, merged, params, layer, j);
    }
}

/// Neuron `j`'s inputs where `layer` has delays: every merged spike `m`
/// (source time `t`, channel `i`) arrives at `(t + a_i) + d_ij`
/// ([`arrivals`]). `arrivals` receives, for each input in that order, its
/// arrival time and its index in `merged`: the backward pass maps the
/// adjoint's per-input results back through it.
pub(crate) fn fill_delayed_inputs(
    inputs: &mut Vec<InputSpike>,
    arrivals: &mut Vec<(f64, u32)>,
    merged: &[MergedSpike],
    params: &NetworkParams,
    layer: usize,
    j: usize,
    t_end: f64,
) {
    let l = &params.layers[layer];
    let n_in = l.n_in;
    let row = &l.weights[j * n_in..(j + 1) * n_in];
    let synaptic = l
        .synaptic_delays
        .as_ref()
        .map(|d| &d[j * n_in..(j + 1) * n_in]);
    fill_arrivals(
        arrivals,
        merged,
        l.axonal_delays.as_deref(),
        synaptic,
        t_end,
    );
    inputs.clear();
    inputs.extend(
        arrivals
            .iter()
            .map(|&(time, m)| InputSpike::new(time, row[merged[m as usize].channel as usize])),
    );
}

/// The arrivals of `merged` behind axonal delays `axonal` (one per
/// channel) and synaptic delays `synaptic` (one neuron's row): spike `m`
/// (source time `t`, channel `i`) arrives at `(t + a_i) + d_i`; arrivals at
/// or after `t_end` are dropped (the solver would not apply them, and their
/// gradient is 0). `(arrival time, m)`, sorted by arrival time, ties by
/// position in `merged` (source time, then channel), so that zero delays
/// give the order of [`fill_inputs`]. The sort key is a total order on
/// distinct pairs, so the unstable sort (which allocates nothing) is
/// deterministic.
pub(crate) fn fill_arrivals(
    arrivals: &mut Vec<(f64, u32)>,
    merged: &[MergedSpike],
    axonal: Option<&[f64]>,
    synaptic: Option<&[f64]>,
    t_end: f64,
) {
    arrivals.clear();
    for (m, s) in merged.iter().enumerate() {
        let c = s.channel as usize;
        let mut time = s.time;
        if let Some(a) = axonal {
            time += a[c];
        }
        if let Some(d) = synaptic {
            time += d[c];
        }
        if time < t_end {
            arrivals.push((time, m as u32));
        }
    }
    arrivals.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
}
