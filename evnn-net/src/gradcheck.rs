//! Finite-difference check of network gradients.

use crate::{FeedForward, ForwardTrace, NetError, NetworkParams, SpikeTrains};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend, EventKind};
use serde::{Deserialize, Serialize};

/// Which scalar a [`GradCheckEntry`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamRef {
    /// Weight from `input` to `neuron` of `layer`.
    Weight {
        /// Layer.
        layer: usize,
        /// Receiving neuron.
        neuron: usize,
        /// Input channel (neuron of the previous layer).
        input: usize,
        /// Which of the synapse's weights (0 for models with one weight
        /// per synapse; `0..K` for
        /// [`WEIGHTS_PER_SYNAPSE`](evnn_neurons::NeuronModel::WEIGHTS_PER_SYNAPSE)
        /// `= K`).
        weight: usize,
    },
    /// Neuron parameter `index` (e.g. 0 = bias) of `neuron` in `layer`.
    NeuronParam {
        /// Layer.
        layer: usize,
        /// Neuron.
        neuron: usize,
        /// Parameter index.
        index: usize,
    },
    /// Synaptic delay from `input` to `neuron` of `layer`.
    SynapticDelay {
        /// Layer.
        layer: usize,
        /// Receiving neuron.
        neuron: usize,
        /// Input channel (neuron of the previous layer).
        input: usize,
    },
    /// Axonal delay of input `input` of `layer`.
    AxonalDelay {
        /// Layer.
        layer: usize,
        /// Input channel (neuron of the previous layer).
        input: usize,
    },
    /// Recurrent weight from neuron `from` to neuron `neuron` of `layer`.
    RecurrentWeight {
        /// Layer.
        layer: usize,
        /// Receiving neuron.
        neuron: usize,
        /// Sending neuron of the same layer.
        from: usize,
    },
    /// Time of spike `k` of input channel `channel`.
    InputTime {
        /// Input channel.
        channel: usize,
        /// Spike number.
        k: usize,
    },
}

/// Settings of [`gradcheck`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradCheckOptions {
    /// Finite-difference step `h` (five-point stencil, also evaluated at
    /// `h/2` to judge convergence).
    pub step: f64,
    /// Allowed relative deviation.
    pub rel_tol: f64,
    /// Allowed absolute deviation (an entry passes when within either).
    pub abs_tol: f64,
}

impl Default for GradCheckOptions {
    /// `h = 1e-3`, `rel_tol = 1e-6`, `abs_tol = 1e-8`.
    fn default() -> Self {
        GradCheckOptions {
            step: 1e-3,
            rel_tol: 1e-6,
            abs_tol: 1e-8,
        }
    }
}

/// What became of one [`GradCheckEntry`]: compared, or why not.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub enum EntryStatus {
    /// Compared with finite differences ([`GradCheckEntry::ok`] says whether
    /// it passed).
    Compared,
    /// Perturbing the scalar by `delta` changes the sequence of events of
    /// some neuron (a spike appears or vanishes, or an input and a spike
    /// swap order): the loss is not smooth across it.
    EventSequenceChanged {
        /// The perturbation.
        delta: f64,
    },
    /// The differences at `h` and `h/2` disagree by more than a tenth of the
    /// tolerance: the difference quotient has not converged (typically near
    /// a graze).
    NotConverged {
        /// The difference quotient at `h`.
        at_h: f64,
        /// The difference quotient at `h/2`.
        at_half_h: f64,
    },
    /// The forward pass with the scalar perturbed by `delta` failed, or the
    /// perturbed input is invalid (an input time moved below 0 or past its
    /// neighbour): `error` says which.
    PerturbationFailed {
        /// The perturbation.
        delta: f64,
        /// What the forward pass (or the input's check) reported.
        #[serde(serialize_with = "serialize_display")]
        error: NetError,
    },
}

fn serialize_display<S: serde::Serializer>(e: &NetError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}

impl EntryStatus {
    /// The reason in words (`None` for a compared entry), as
    /// [`GradCheckEntry::skipped`](GradCheckEntry#structfield.skipped) holds it.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            EntryStatus::Compared => None,
            EntryStatus::EventSequenceChanged { .. } => {
                Some("a perturbation changes the event sequence")
            }
            EntryStatus::NotConverged { .. } => Some("finite differences not converged"),
            EntryStatus::PerturbationFailed { .. } => Some("a perturbed forward pass failed"),
        }
    }
}

/// One compared (or skipped) gradient entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradCheckEntry {
    /// The scalar.
    pub param: ParamRef,
    /// The adjoint's value.
    pub analytic: f64,
    /// The finite-difference value (`None` when no difference quotient was
    /// formed).
    pub numeric: Option<f64>,
    /// Why the entry was not compared, in words ([`EntryStatus::reason`]).
    pub skipped: Option<&'static str>,
    /// Whether it passed (`false` for skipped entries).
    pub ok: bool,
    /// Compared, or why not, with the perturbation and error that stopped
    /// it.
    pub status: EntryStatus,
}

impl GradCheckEntry {
    fn not_compared(
        param: ParamRef,
        analytic: f64,
        numeric: Option<f64>,
        status: EntryStatus,
    ) -> Self {
        GradCheckEntry {
            param,
            analytic,
            numeric,
            skipped: status.reason(),
            ok: false,
            status,
        }
    }
}

/// Result of [`gradcheck`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GradCheckReport {
    /// Every entry.
    pub entries: Vec<GradCheckEntry>,
}

impl GradCheckReport {
    /// Entries compared with finite differences.
    pub fn compared(&self) -> usize {
        self.entries.iter().filter(|e| e.skipped.is_none()).count()
    }
    /// Entries skipped.
    pub fn skipped(&self) -> usize {
        self.entries.len() - self.compared()
    }
    /// Compared entries outside the tolerance.
    pub fn failures(&self) -> Vec<&GradCheckEntry> {
        self.entries
            .iter()
            .filter(|e| e.skipped.is_none() && !e.ok)
            .collect()
    }
    /// `true` when no compared entry failed. Entries not compared do not
    /// count; [`errors`](Self::errors) lists those whose perturbed forward
    /// pass failed.
    pub fn is_ok(&self) -> bool {
        self.failures().is_empty()
    }
    /// Entries skipped because a perturbed forward pass failed or the
    /// perturbed input was invalid ([`EntryStatus::PerturbationFailed`]).
    pub fn errors(&self) -> Vec<&GradCheckEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.status, EntryStatus::PerturbationFailed { .. }))
            .collect()
    }
}

/// Why a perturbed loss could not be evaluated.
enum Skip {
    EventSequenceChanged,
    Failed(NetError),
}

type Signature = Vec<(u32, u32, EventKind)>;

fn signature<S>(trace: &ForwardTrace<S>) -> Signature {
    let mut sig = Vec::new();
    for (l, lt) in trace.layers.iter().enumerate() {
        for (j, n) in lt.neurons.iter().enumerate() {
            sig.extend(n.events.iter().map(|e| (l as u32, j as u32, e.kind)));
        }
    }
    sig
}

/// Compares the network's EventProp gradient for one input with five-point
/// central differences of its forward pass, for every weight, neuron
/// parameter, delay (where the parameters have delays) and input spike
/// time.
///
/// `loss` maps the output layer's spike trains to `(L, dL/dt)` with `dL/dt`
/// in the trains' flat order (every spike may carry a sensitivity). The loss
/// is only piecewise smooth in the parameters: an entry is skipped when a
/// perturbation changes the sequence of events of any neuron (a spike
/// appears or vanishes, or an input and a spike swap order), or when the
/// differences at `h` and `h/2` disagree by more than a tenth of the
/// tolerance (the difference quotient has not converged, typically near a
/// graze). An entry is also skipped when a perturbed forward pass fails
/// or the perturbed input is invalid; its [`EntryStatus`] holds the
/// perturbation and the error ([`GradCheckReport::errors`] lists them).
/// The forward and backward pass at the unperturbed point must succeed:
/// their errors are returned. The gradient checked is the one the training
/// passes compute: where the backend logs its runs' sensitivities for the
/// backward pass (Dormand–Prince), the unperturbed forward pass logs them
/// ([`Workspace::set_sensitivity_log`](crate::Workspace::set_sensitivity_log)).
///
/// # Examples
///
/// ```
/// use evnn_net::{gradcheck, FeedForward, GradCheckOptions, InitConfig, NetworkParams, SpikeTrains};
/// use evnn_neurons::Lif;
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let net = FeedForward::new(Lif::default(), &[2, 3, 2], ClosedForm, SolverOptions::default(), 30.0)?;
/// let params = NetworkParams::init::<Lif>(&[2, 3, 2], &InitConfig::default(), 3)?;
/// let input = SpikeTrains::from_times(&[1.0, 4.0])?;
/// // L = Σ over all output spikes of t.
/// let loss = |out: &SpikeTrains| (out.flat().iter().sum::<f64>(), vec![1.0; out.n_spikes()]);
/// let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default())?;
/// assert!(report.is_ok(), "{:?}", report.failures());
/// # Ok::<(), evnn_net::NetError>(())
/// ```
pub fn gradcheck<N, B, F>(
    net: &FeedForward<N, B>,
    params: &NetworkParams,
    input: &SpikeTrains,
    loss: &F,
    options: &GradCheckOptions,
) -> Result<GradCheckReport, NetError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
    F: Fn(&SpikeTrains) -> (f64, Vec<f64>),
{
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    // The gradient checked is the training passes' own: where the backend
    // logs its runs' sensitivities for the backward pass, so does this
    // forward pass; the perturbed passes need only their spikes.
    ws.set_sensitivity_log(true);
    net.forward(params, input, &mut ws, &mut trace)?;
    ws.set_sensitivity_log(false);
    let base = signature(&trace);
    let out = trace.output().cloned().unwrap_or_default();
    let (_, dl_dt) = loss(&out);
    let mut grad = params.zeros_like();
    let mut dl_dinput = Vec::new();
    net.backward(
        params,
        input,
        &trace,
        &dl_dt,
        &mut ws,
        &mut grad,
        &mut dl_dinput,
    )?;

    let mut eval = |p: &NetworkParams, x: &SpikeTrains| -> Result<f64, Skip> {
        let mut t = ForwardTrace::default();
        net.forward(p, x, &mut ws, &mut t).map_err(Skip::Failed)?;
        if signature(&t) != base {
            return Err(Skip::EventSequenceChanged);
        }
        // A successful forward pass has every layer, so an output.
        let out = t.output().ok_or(Skip::Failed(NetError::Shape {
            what: "layers",
            expected: 1,
            got: 0,
        }))?;
        Ok(loss(out).0)
    };
    let compare = |param: ParamRef, analytic: f64, f: &mut dyn FnMut(f64) -> Result<f64, Skip>| {
        let h = options.step;
        let mut fds = [0.0; 2];
        for (fd, step) in fds.iter_mut().zip([h, 0.5 * h]) {
            let mut l = [0.0; 4];
            for (slot, m) in l.iter_mut().zip([2.0, 1.0, -1.0, -2.0]) {
                let delta = m * step;
                *slot = match f(delta) {
                    Ok(v) => v,
                    Err(skip) => {
                        let status = match skip {
                            Skip::EventSequenceChanged => {
                                EntryStatus::EventSequenceChanged { delta }
                            }
                            Skip::Failed(error) => EntryStatus::PerturbationFailed { delta, error },
                        };
                        return GradCheckEntry::not_compared(param, analytic, None, status);
                    }
                };
            }
            *fd = (-l[0] + 8.0 * l[1] - 8.0 * l[2] + l[3]) / (12.0 * step);
        }
        let numeric = fds[1];
        let allowed = options
            .abs_tol
            .max(options.rel_tol * numeric.abs().max(analytic.abs()));
        if (fds[0] - fds[1]).abs() > 0.1 * allowed {
            let status = EntryStatus::NotConverged {
                at_h: fds[0],
                at_half_h: fds[1],
            };
            return GradCheckEntry::not_compared(param, analytic, Some(numeric), status);
        }
        GradCheckEntry {
            param,
            analytic,
            numeric: Some(numeric),
            skipped: None,
            ok: (analytic - numeric).abs() <= allowed,
            status: EntryStatus::Compared,
        }
    };

    let mut entries = Vec::new();
    let flat_len = params.len();
    let flat = params.to_flat();
    let mut at = 0;
    for (layer, l) in params.layers.iter().enumerate() {
        let np = l.neuron_params.len() / l.n_out.max(1);
        let k_w = N::WEIGHTS_PER_SYNAPSE;
        let (nw, nn) = (l.weights.len(), l.neuron_params.len());
        let ns = l.synaptic_delays.as_ref().map_or(0, Vec::len);
        let g = &grad.layers[layer];
        let nd = l.delays_len();
        for idx in 0..nw + nn + l.optional_len() {
            let (param, analytic) = if idx >= nw + nn + nd {
                let k = idx - nw - nn - nd;
                let d = g.recurrent_weights.as_ref().map_or(0.0, |r| r[k]);
                let (neuron, from) = (k / l.n_out, k % l.n_out);
                if !l.has_recurrent_synapse(neuron, from) {
                    // An absent synapse: no parameter to check.
                    continue;
                }
                let param = ParamRef::RecurrentWeight {
                    layer,
                    neuron,
                    from,
                };
                (param, d)
            } else if idx >= nw + nn + ns {
                let input = idx - nw - nn - ns;
                let d = g.axonal_delays.as_ref().map_or(0.0, |a| a[input]);
                (ParamRef::AxonalDelay { layer, input }, d)
            } else if idx >= nw + nn {
                let k = idx - nw - nn;
                let d = g.synaptic_delays.as_ref().map_or(0.0, |d| d[k]);
                let (neuron, input) = (k / l.n_in, k % l.n_in);
                let param = ParamRef::SynapticDelay {
                    layer,
                    neuron,
                    input,
                };
                (param, d)
            } else if idx < l.weights.len() {
                let synapse = idx / k_w;
                (
                    ParamRef::Weight {
                        layer,
                        neuron: synapse / l.n_in,
                        input: synapse % l.n_in,
                        weight: idx % k_w,
                    },
                    grad.layers[layer].weights[idx],
                )
            } else {
                let k = idx - l.weights.len();
                (
                    ParamRef::NeuronParam {
                        layer,
                        neuron: k / np.max(1),
                        index: k % np.max(1),
                    },
                    grad.layers[layer].neuron_params[k],
                )
            };
            let pos = at + idx;
            let mut p = params.clone();
            entries.push(compare(param, analytic, &mut |delta| {
                let mut v = flat.clone();
                v[pos] += delta;
                p.set_flat(&v).map_err(Skip::Failed)?;
                eval(&p, input)
            }));
        }
        at += nw + nn + l.optional_len();
    }
    debug_assert_eq!(at, flat_len);
    let trains = input.to_trains();
    for (channel, train) in trains.iter().enumerate() {
        for k in 0..train.len() {
            let analytic = dl_dinput[input.offset(channel) + k];
            entries.push(compare(
                ParamRef::InputTime { channel, k },
                analytic,
                &mut |delta| {
                    let mut t = trains.clone();
                    t[channel][k] += delta;
                    let x = SpikeTrains::from_trains(&t).map_err(Skip::Failed)?;
                    eval(params, &x)
                },
            ));
        }
    }
    Ok(GradCheckReport { entries })
}
