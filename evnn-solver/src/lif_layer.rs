//! A layer of LIF neurons that share their input spikes, simulated together
//! in closed form, with its EventProp adjoint.
//!
//! A dense layer's neurons see the same input times; only the weights
//! differ. Between two consecutive inputs every neuron's state therefore
//! decays by the same factors ([`Lif::decay`]), computed once per input
//! instead of once per input and neuron, and the update of the whole layer
//! is one pass over contiguous arrays. A neuron is looked at on its own
//! only where it may cross the threshold inside the interval, which a bound
//! from the two ends of the interval decides: `v` reaches `θ` at the end,
//! or its tangent at the start does where `v` rises (between events `v` is
//! a sum of two exponentials and a constant with at most one extremum, and
//! concave while it rises to a maximum inside). The adjoint needs
//! no state at the inputs: between events it is linear with the same
//! shared factors, and only the spikes carry state (the current at the
//! spike), so the record of a run is the layer's spikes. A recurrent
//! layer's spikes are inputs to it as well, at their own times: the layer
//! runs to its earliest spike, applies it, and goes on.

use crate::closed_form::LifStepper;
use crate::root::bracketed_newton;
use crate::{Peak, SolverError, Stepper};
use evnn_neurons::{Lif, LifDecay};
use std::convert::Infallible;

/// One spike of a [`LifLayer`]: its time, neuron and the synaptic current
/// `i` at the spike (the state the adjoint's jump needs: `v` is `θ` just
/// before and `v_r` just after).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerSpike {
    /// Spike time.
    pub t: f64,
    /// The neuron, counted within the layer.
    pub neuron: u32,
    /// Synaptic current at the spike.
    pub current: f64,
}

/// A layer's recurrent synapses ([`LifLayer::forward`]): `weights` is
/// `n_out × n_out` row-major, `weights[j·n_out + i]` the synapse from
/// neuron `i` to neuron `j`; where `mask` is given, only the synapses it
/// marks `true` exist (the others' weights are not read and get no
/// gradient). A spike reaches its targets at its own time, after the
/// neuron's reset.
#[derive(Clone, Copy, Debug)]
pub struct Recurrent<'a> {
    /// The recurrent weights, `n_out × n_out`.
    pub weights: &'a [f64],
    /// Which synapses exist, in the layout of `weights`; `None`: all.
    pub mask: Option<&'a [bool]>,
}

/// An error of a [`LifLayer`] pass: the solver's error and, where it is
/// one neuron's (a spike search that did not converge, a spike whose
/// crossing is not transversal), that neuron.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{source}", neuron.map(|j| format!("neuron {j}: ")).unwrap_or_default())]
pub struct LayerError {
    /// The neuron, counted within the layer; `None` for an error of the
    /// whole layer (shapes, inputs, sensitivities, constants).
    pub neuron: Option<usize>,
    /// What the solver reported.
    #[source]
    pub source: SolverError,
}

impl From<SolverError> for LayerError {
    fn from(source: SolverError) -> Self {
        LayerError {
            neuron: None,
            source,
        }
    }
}

/// Reusable buffers of a [`LifLayer`]'s passes; their earlier use never
/// changes a result.
#[derive(Clone, Debug, Default)]
pub struct LifLayerScratch {
    /// The weights by input channel: `w_t[c·n_out + j] = w_jc`, of
    /// `w_source` (`n_out × n_in` with `w_shape = (n_in, n_out)`).
    w_t: Vec<f64>,
    w_source: Vec<f64>,
    w_shape: (usize, usize),
    v: Vec<f64>,
    i: Vec<f64>,
    v_prev: Vec<f64>,
    i_prev: Vec<f64>,
    lv: Vec<f64>,
    li: Vec<f64>,
    mu: Vec<f64>,
    /// `dL/dw` by input channel, as `w_t`.
    g_t: Vec<f64>,
    /// The terms of an input time's `dL/dt`, one per neuron.
    terms: Vec<f64>,
    /// Which neurons may cross the threshold in the current interval: all
    /// ones where one may, else zero (the comparison's own mask, stored
    /// without packing).
    flags: Vec<u64>,
    /// The jump of the interval that ends at `t_end` (none).
    zeros: Vec<f64>,
    /// The recurrent weights by source neuron, masked: `r_t[i·n + j] =
    /// w_ji` where the synapse exists, else 0; of `r_source` and
    /// `r_mask` (empty: no mask).
    r_t: Vec<f64>,
    r_source: Vec<f64>,
    r_mask: Vec<bool>,
    /// `dL/dw` of the recurrent synapses by source neuron, as `r_t`.
    g_r: Vec<f64>,
    /// Spikes per neuron so far in the forward pass.
    counts: Vec<usize>,
}

/// Where a neuron's membrane first reaches the threshold in an interval
/// without input ([`LifLayer::crossing`]).
pub(crate) enum Crossing {
    /// It does not: the state at the interval's end.
    Below([f64; 2]),
    /// A spike: its time and the synaptic current at it.
    Spike { t: f64, current: f64 },
}

/// The neurons of a dense, delay-free layer of one [`Lif`], simulated
/// together on `[0, t_end]` in closed form ([`forward`](Self::forward)),
/// with the EventProp adjoint of the layer ([`backward`](Self::backward)).
/// Weights are `n_out × n_in`, row `j` the synapses of neuron `j`; biases
/// one per neuron. Input spikes at `t >= t_end` are not applied, as in
/// [`RunPlan::run`](crate::RunPlan::run).
///
/// The layer may be recurrent ([`Recurrent`]): its spikes then reach its
/// own neurons. Between two inputs the layer runs to the earliest spike of
/// any neuron, applies that spike's reset and its recurrent weights, and
/// goes on from there, so every spike is found on the state that all
/// earlier spikes made. Spikes of two neurons at one instant are taken in
/// the order of the neurons.
///
/// Spike times and gradients are those of each neuron simulated on its own
/// with [`ClosedForm`](crate::ClosedForm) (and its adjoint) to round-off,
/// not bit for bit: where a neuron may cross, its search starts from
/// other points, and the adjoint's input-time sensitivities are computed
/// in another order.
///
/// # Examples
///
/// ```
/// use evnn_neurons::Lif;
/// use evnn_solver::lif_layer::{LayerSpike, LifLayer, LifLayerScratch, Recurrent};
///
/// let layer = LifLayer::new(Lif::default(), 2, 3, 40.0)?;
/// // Two input channels, three neurons (rows).
/// let weights = [4.0, 0.0, 0.0, 4.0, 4.0, 4.0];
/// let bias = [0.0; 3];
/// let inputs = [(1.0, 0), (2.0, 1)];
/// let mut scratch = LifLayerScratch::default();
/// let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
/// layer.forward(&bias, &weights, None, &inputs, &mut scratch, &mut spikes, &mut x_end)?;
/// assert_eq!(x_end.len(), 3);
/// assert!(spikes.iter().all(|s| s.t > 1.0 && s.t < 40.0));
///
/// // dL/dt = 1 for every spike: gradients of the sum of spike times.
/// let dl = vec![1.0; spikes.len()];
/// let (mut gb, mut gw, mut gin) = (vec![0.0; 3], vec![0.0; 6], vec![0.0; 2]);
/// layer.backward(&bias, &weights, None, &inputs, &spikes, &dl, None, &mut scratch, &mut gb, &mut gw, None, &mut gin)?;
/// // More weight, earlier spikes.
/// assert!(spikes.is_empty() || gw.iter().any(|&g| g < 0.0));
///
/// // The same neurons, recurrent: neuron 2 inhibits neurons 0 and 1
/// // (`recurrent[j·3 + i]`: from `i` to `j`); no other synapse exists.
/// let recurrent = [0.0, 0.0, -3.0, 0.0, 0.0, -3.0, 0.0, 0.0, 0.0];
/// let mask = recurrent.map(|w| w != 0.0);
/// let r = Some(Recurrent { weights: &recurrent, mask: Some(&mask) });
/// let mut rec_spikes = Vec::new();
/// layer.forward(&bias, &weights, r, &inputs, &mut scratch, &mut rec_spikes, &mut x_end)?;
/// let count = |s: &[LayerSpike], j| s.iter().filter(|s| s.neuron == j).count();
/// assert!(count(&rec_spikes, 2) > 0);
/// assert!(count(&rec_spikes, 0) <= count(&spikes, 0));
/// let dl = vec![1.0; rec_spikes.len()];
/// let mut gr = vec![0.0; 9];
/// layer.backward(&bias, &weights, r, &inputs, &rec_spikes, &dl, None, &mut scratch, &mut gb, &mut gw, Some(&mut gr), &mut gin)?;
/// // Only the synapses that exist have a gradient.
/// assert!(gr.iter().zip(&mask).all(|(&g, &m)| m || g == 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LifLayer {
    pub(crate) lif: Lif,
    pub(crate) n_in: usize,
    pub(crate) n_out: usize,
    pub(crate) t_end: f64,
    max_spikes: usize,
}

impl LifLayer {
    /// A layer of `n_out` neurons `lif` with `n_in` input channels on
    /// `[0, t_end]`; errors when `t_end` is not finite and positive, and
    /// when the initial state `(0, 0)` is at or above the threshold.
    pub fn new(lif: Lif, n_in: usize, n_out: usize, t_end: f64) -> Result<Self, SolverError> {
        if !(t_end.is_finite() && t_end > 0.0) {
            return Err(SolverError::InvalidEndTime { t_end });
        }
        if lif.theta() <= 0.0 {
            return Err(SolverError::InitialStateAboveThreshold {
                state: vec![0.0, 0.0],
                g: -lif.theta(),
            });
        }
        Ok(LifLayer {
            lif,
            n_in,
            n_out,
            t_end,
            max_spikes: crate::SolverOptions::default().max_spikes,
        })
    }

    /// This layer with at most `max_spikes` spikes per neuron in a forward
    /// pass (as [`SolverOptions::max_spikes`](crate::SolverOptions::max_spikes)
    /// bounds a neuron's run; the same default): one more is an error
    /// ([`SolverError::SpikeLimit`], naming the neuron), never a silent
    /// truncation, so that a runaway recurrent layer stops.
    pub fn with_max_spikes(mut self, max_spikes: usize) -> Self {
        self.max_spikes = max_spikes;
        self
    }

    /// Checks the lengths of `bias`, `weights` and the inputs' channels and
    /// times (finite, `>= 0`, sorted).
    pub(crate) fn check(
        &self,
        bias: &[f64],
        weights: &[f64],
        recurrent: Option<Recurrent<'_>>,
        inputs: &[(f64, u32)],
    ) -> Result<(), SolverError> {
        let shape = |what, expected, got| {
            if expected == got {
                Ok(())
            } else {
                Err(SolverError::ShapeMismatch {
                    what,
                    expected,
                    got,
                })
            }
        };
        shape("layer biases (one per neuron)", self.n_out, bias.len())?;
        shape(
            "layer weights (n_out × n_in)",
            self.n_out * self.n_in,
            weights.len(),
        )?;
        if let Some(r) = recurrent {
            let n2 = self.n_out * self.n_out;
            shape("recurrent weights (n_out × n_out)", n2, r.weights.len())?;
            if let Some(m) = r.mask {
                shape("recurrent mask (n_out × n_out)", n2, m.len())?;
            }
        }
        let mut previous = 0.0;
        for (index, &(time, channel)) in inputs.iter().enumerate() {
            if !(time.is_finite() && time >= 0.0) {
                return Err(SolverError::InvalidInputTime { index, time });
            }
            if time < previous {
                return Err(SolverError::UnsortedInputs {
                    index,
                    time,
                    previous,
                });
            }
            previous = time;
            if channel as usize >= self.n_in {
                return Err(SolverError::ShapeMismatch {
                    what: "input channel (below the layer's input count)",
                    expected: self.n_in,
                    got: channel as usize,
                });
            }
        }
        Ok(())
    }

    /// Writes `weights` by input channel into `s.w_t`, unless it holds them
    /// already (the same weights bit for bit and shape: a batch's samples
    /// share them).
    fn transpose(&self, weights: &[f64], s: &mut LifLayerScratch) {
        let (n_in, n_out) = (self.n_in, self.n_out);
        if s.w_shape == (n_in, n_out) && same_bits(&s.w_source, weights) {
            return;
        }
        s.w_shape = (n_in, n_out);
        refill(&mut s.w_source, weights);
        let w_t = zeroed(&mut s.w_t, n_in * n_out);
        tiled(n_out, n_in, |j, c| {
            w_t[c * n_out + j] = weights[j * n_in + c]
        });
    }

    /// Writes the recurrent weights by source neuron, masked, into `s.r_t`,
    /// unless it holds them already (as [`transpose`](Self::transpose)).
    fn transpose_recurrent(&self, r: Recurrent<'_>, s: &mut LifLayerScratch) {
        let n = self.n_out;
        let mask = r.mask.unwrap_or(&[]);
        if s.r_t.len() == n * n && same_bits(&s.r_source, r.weights) && s.r_mask == mask {
            return;
        }
        refill(&mut s.r_source, r.weights);
        refill(&mut s.r_mask, mask);
        transpose_masked(n, r, &mut s.r_t);
    }

    /// Simulates the layer from the initial state `(0, 0)` of every neuron:
    /// `spikes` gets every spike in time order (ties by neuron), `x_end`
    /// every neuron's state `(v, i)` at `t_end`. `recurrent`: the layer's
    /// recurrent synapses, if it has any. Checks the shapes and the inputs
    /// first.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        bias: &[f64],
        weights: &[f64],
        recurrent: Option<Recurrent<'_>>,
        inputs: &[(f64, u32)],
        s: &mut LifLayerScratch,
        spikes: &mut Vec<LayerSpike>,
        x_end: &mut Vec<[f64; 2]>,
    ) -> Result<(), LayerError> {
        self.check(bias, weights, recurrent, inputs)?;
        self.transpose(weights, s);
        if let Some(r) = recurrent {
            self.transpose_recurrent(r, s);
        }
        let n = self.n_out;
        s.v.clear();
        s.v.resize(n, 0.0);
        s.i.clear();
        s.i.resize(n, 0.0);
        s.v_prev.resize(n, 0.0);
        s.i_prev.resize(n, 0.0);
        s.counts.clear();
        s.counts.resize(n, 0);
        spikes.clear();
        let (theta, inv_tau_mem) = (self.lif.theta(), 1.0 / self.lif.tau_mem());
        let mut t_prev = 0.0;
        let ends = inputs
            .iter()
            .take_while(|&&(t, _)| t < self.t_end)
            .map(|&(t, c)| (t, Some(c as usize)))
            .chain(std::iter::once((self.t_end, None)));
        s.zeros.clear();
        s.zeros.resize(n, 0.0);
        s.flags.resize(n, 0);
        for (t, channel) in ends {
            let column = match channel {
                Some(c) => &s.w_t[c * n..(c + 1) * n],
                None => &s.zeros[..],
            };
            // Once per interval without recurrence; with it, again from
            // each spike of the layer inside the interval.
            loop {
                let h = t - t_prev;
                if !(h > 0.0) {
                    for (i, &w) in s.i[..n].iter_mut().zip(column) {
                        *i += w;
                    }
                    break;
                }
                // The state at `t_prev` stays in `v_prev`, `i_prev` for the
                // neurons that may cross.
                std::mem::swap(&mut s.v, &mut s.v_prev);
                std::mem::swap(&mut s.i, &mut s.i_prev);
                let any = decay_layer(
                    &self.lif.decay(h),
                    h * inv_tau_mem,
                    theta,
                    bias,
                    column,
                    (&s.v_prev, &s.i_prev),
                    (&mut s.v, &mut s.i),
                    &mut s.flags,
                );
                let first = match (any, recurrent) {
                    (false, _) => None,
                    (true, None) => {
                        for j in flagged(&s.flags[..n]) {
                            let x0 = [s.v_prev[j], s.i_prev[j]];
                            let count = &mut s.counts[j];
                            let x = self.advance(bias[j], x0, t_prev, t, j, count, spikes)?;
                            s.v[j] = x[0];
                            s.i[j] = x[1] + column[j];
                        }
                        None
                    }
                    (true, Some(_)) => self.earliest_spike(
                        bias,
                        column,
                        &s.flags[..n],
                        (&s.v_prev, &s.i_prev),
                        (&mut s.v, &mut s.i),
                        (t_prev, t),
                    )?,
                };
                let Some((t_s, j, current)) = first else {
                    t_prev = t;
                    break;
                };
                self.count_spike(&mut s.counts[j], j, t_s)?;
                // The layer at the spike instead, without the input at `t`;
                // the spike's reset, and its recurrent weights.
                let h_s = t_s - t_prev;
                decay_layer(
                    &self.lif.decay(h_s),
                    h_s * inv_tau_mem,
                    theta,
                    bias,
                    &s.zeros,
                    (&s.v_prev, &s.i_prev),
                    (&mut s.v, &mut s.i),
                    &mut s.flags,
                );
                s.v[j] = self.lif.v_reset();
                s.i[j] = current;
                for (i, &w) in s.i[..n].iter_mut().zip(&s.r_t[j * n..(j + 1) * n]) {
                    *i += w;
                }
                spikes.push(LayerSpike {
                    t: t_s,
                    neuron: j as u32,
                    current,
                });
                t_prev = t_s;
            }
        }
        // Without recurrence, spikes of different neurons in one interval
        // were found neuron by neuron.
        spikes.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.neuron.cmp(&b.neuron)));
        x_end.clear();
        x_end.extend(s.v[..n].iter().zip(&s.i[..n]).map(|(&v, &i)| [v, i]));
        Ok(())
    }

    /// The earliest first spike in `(t0, t1]` of the neurons `flags` marks
    /// (ties: the lowest neuron), from their states `from` at `t0`, as
    /// `(time, neuron, current)`; the neurons that do not cross get their
    /// state at `t1` in `to`, the input `column` at `t1` applied. No other
    /// spike of a recurrent layer precedes that spike.
    fn earliest_spike(
        &self,
        bias: &[f64],
        column: &[f64],
        flags: &[u64],
        from: (&[f64], &[f64]),
        to: (&mut [f64], &mut [f64]),
        (t0, t1): (f64, f64),
    ) -> Result<Option<(f64, usize, f64)>, LayerError> {
        let mut first: Option<(f64, usize, f64)> = None;
        for j in flagged(flags) {
            let x0 = [from.0[j], from.1[j]];
            match self.crossing(bias[j], x0, t0, t1, j)? {
                Crossing::Below(x) => {
                    to.0[j] = x[0];
                    to.1[j] = x[1] + column[j];
                }
                Crossing::Spike { t, current } => match first {
                    Some((t_first, _, _)) if t_first <= t => {}
                    _ => first = Some((t, j, current)),
                },
            }
        }
        Ok(first)
    }

    /// Counts a spike of neuron `j` at `t` in `count`, its spikes so far;
    /// an error past [`with_max_spikes`](Self::with_max_spikes)'s limit.
    pub(crate) fn count_spike(
        &self,
        count: &mut usize,
        j: usize,
        t: f64,
    ) -> Result<(), LayerError> {
        if *count >= self.max_spikes {
            return Err(LayerError {
                neuron: Some(j),
                source: SolverError::SpikeLimit {
                    limit: self.max_spikes,
                    t,
                },
            });
        }
        *count += 1;
        Ok(())
    }

    /// Neuron `j`'s state at `t1` from `x` at `t0` with no input in
    /// between, its spikes in `(t0, t1]` pushed to `spikes` and counted in
    /// `count`.
    #[allow(clippy::too_many_arguments)]
    fn advance(
        &self,
        b: f64,
        mut x: [f64; 2],
        mut t0: f64,
        t1: f64,
        j: usize,
        count: &mut usize,
        spikes: &mut Vec<LayerSpike>,
    ) -> Result<[f64; 2], LayerError> {
        loop {
            match self.crossing(b, x, t0, t1, j)? {
                Crossing::Below(x1) => return Ok(x1),
                Crossing::Spike { t, current } => {
                    self.count_spike(count, j, t)?;
                    spikes.push(LayerSpike {
                        t,
                        neuron: j as u32,
                        current,
                    });
                    x = [self.lif.v_reset(), current];
                    t0 = t;
                }
            }
        }
    }

    /// Neuron `j`'s first spike in `(t0, t1]` from `x` at `t0` with no
    /// input in between, or its state at `t1` where it has none.
    pub(crate) fn crossing(
        &self,
        b: f64,
        x: [f64; 2],
        t0: f64,
        t1: f64,
        j: usize,
    ) -> Result<Crossing, LayerError> {
        let lif = &self.lif;
        let (theta, inv_tau_mem) = (lif.theta(), 1.0 / lif.tau_mem());
        let inv_tau_syn = 1.0 / lif.tau_syn();
        let p = [b];
        let not_converged = |what, (t_lo, t_hi)| LayerError {
            neuron: Some(j),
            source: SolverError::RootNotConverged {
                what,
                t_lo,
                t_hi,
                iterations: crate::root::MAX_ITER,
            },
        };
        // The closed form's stepper of the per-neuron runs answers where it
        // can without an exponential per iteration (the maximum below the
        // threshold, the crossing as a polynomial root); the searches below
        // take over where it cannot.
        let mut stepper = LifStepper::new(*lif, p, t0, x);
        stepper.step(t1)?;
        let x1 = *stepper.x();
        // `v'` and `v''` from a state.
        let dv = |x: &[f64; 2]| (-x[0] + x[1] + b) * inv_tau_mem;
        let ddv = |x: &[f64; 2]| (-dv(x) - x[1] * inv_tau_syn) * inv_tau_mem;
        let at = |t: f64| lif.evolve(&p, &x, (t - t0).max(0.0));
        let hi = if x1[0] >= theta {
            Some((t1, x1[0] - theta, dv(&x1)))
        } else if dv(&x) > 0.0 && dv(&x1) < 0.0 {
            let t_peak = match stepper.event_peak() {
                Some(Peak::BelowEvent) => None,
                Some(Peak::At(t)) => Some(t),
                // The interior maximum: the root of `−v'`, which rises.
                None => {
                    let (lo, hi) = ((t0, -dv(&x), -ddv(&x)), (t1, -dv(&x1), -ddv(&x1)));
                    let Ok(peak) = bracketed_newton(lo, hi, |t| {
                        let xt = at(t);
                        Ok::<_, Infallible>((-dv(&xt), -ddv(&xt)))
                    });
                    Some(peak.map_err(|b| not_converged("maximum of the membrane potential", b))?)
                }
            };
            t_peak.and_then(|t| {
                let xp = at(t);
                (xp[0] >= theta).then_some((t, xp[0] - theta, dv(&xp)))
            })
        } else {
            None
        };
        let Some(hi) = hi else {
            return Ok(Crossing::Below(x1));
        };
        let t_spike = match stepper.refine_crossing(t0, hi.0) {
            Some(t) => t,
            None => {
                let lo = (t0, x[0] - theta, dv(&x));
                let Ok(root) = bracketed_newton(lo, hi, |t| {
                    let xt = at(t);
                    Ok::<_, Infallible>((xt[0] - theta, dv(&xt)))
                });
                root.map_err(|b| not_converged("spike time", b))?
            }
        };
        let (mut xs, mut dxs) = ([0.0; 2], [0.0; 2]);
        stepper.interpolate(t_spike, &mut xs, &mut dxs)?;
        Ok(Crossing::Spike {
            t: t_spike,
            current: xs[1],
        })
    }

    /// Checks a backward pass's sensitivities and gradients against the
    /// layer (`recurrent`: whether it is; `n_inputs` inputs): lengths,
    /// finite sensitivities, spikes in time order and of its neurons.
    #[allow(clippy::type_complexity)]
    pub(crate) fn check_sensitivities(
        &self,
        recurrent: bool,
        n_inputs: usize,
        spikes: &[LayerSpike],
        dl_dspike: &[f64],
        dl_dx_end: Option<&[[f64; 2]]>,
        (grad_bias, grad_weights, grad_recurrent, dl_dinput): (
            &[f64],
            &[f64],
            Option<&[f64]>,
            &[f64],
        ),
    ) -> Result<(), SolverError> {
        let (n, n_in) = (self.n_out, self.n_in);
        let shape = |what, expected: usize, got: usize| {
            (expected != got).then_some(SolverError::ShapeMismatch {
                what,
                expected,
                got,
            })
        };
        let mismatch = shape("dL/dt (one per spike)", spikes.len(), dl_dspike.len())
            .or_else(|| shape("dL/db (one per neuron)", n, grad_bias.len()))
            .or_else(|| shape("dL/dw (n_out × n_in)", n * n_in, grad_weights.len()))
            .or_else(|| shape("dL/d(input time)", n_inputs, dl_dinput.len()))
            .or_else(|| {
                let expected = if recurrent { n * n } else { 0 };
                let what = "dL/dw of the recurrent synapses (n_out × n_out; none without)";
                grad_recurrent.and_then(|g| shape(what, expected, g.len()))
            })
            .or_else(|| dl_dx_end.and_then(|d| shape("dL/dx(t_end)", n, d.len())));
        if let Some(e) = mismatch {
            return Err(e);
        }
        let non_finite = |what, values: &mut dyn Iterator<Item = f64>| {
            values
                .enumerate()
                .find(|(_, v)| !v.is_finite())
                .map(|(index, value)| SolverError::NonFiniteSensitivity { what, index, value })
        };
        if let Some(e) = non_finite("dL/dt", &mut dl_dspike.iter().copied()).or_else(|| {
            dl_dx_end.and_then(|d| non_finite("dL/dx(t_end)", &mut d.iter().flatten().copied()))
        }) {
            return Err(e);
        }
        if let Some(k) = spikes.windows(2).position(|w| !(w[0].t <= w[1].t)) {
            return Err(SolverError::UnsortedInputs {
                index: k + 1,
                time: spikes[k + 1].t,
                previous: spikes[k].t,
            });
        }
        if let Some(spike) = spikes.iter().find(|s| s.neuron as usize >= n) {
            let what = "spike's neuron (below the layer's size)";
            return Err(SolverError::ShapeMismatch {
                what,
                expected: n,
                got: spike.neuron as usize,
            });
        }
        Ok(())
    }

    /// The EventProp adjoint of a run of [`forward`](Self::forward) with
    /// these `bias`, `weights`, `recurrent` and `inputs` that gave
    /// `spikes`: adds `dL/db` to `grad_bias`, `dL/dw` to `grad_weights`
    /// (`n_out × n_in`), `dL/dw` of the recurrent synapses to
    /// `grad_recurrent` where given (`n_out × n_out`, as the recurrent
    /// weights; zero where the mask leaves a synapse out) and `dL/d(input
    /// time)` to `dl_dinput` (one entry per input), given
    /// `dl_dspike` (`dL/dt` of each spike, in the order of `spikes`, which
    /// are in time order as `forward` gives them) and `dl_dx_end`
    /// (`dL/dx(t_end)` per neuron; zero when `None`). Errors on wrong
    /// lengths, non-finite sensitivities, spikes out of time order and a
    /// spike whose crossing is not transversal (its time has no
    /// derivative).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        bias: &[f64],
        weights: &[f64],
        recurrent: Option<Recurrent<'_>>,
        inputs: &[(f64, u32)],
        spikes: &[LayerSpike],
        dl_dspike: &[f64],
        dl_dx_end: Option<&[[f64; 2]]>,
        s: &mut LifLayerScratch,
        grad_bias: &mut [f64],
        grad_weights: &mut [f64],
        grad_recurrent: Option<&mut [f64]>,
        dl_dinput: &mut [f64],
    ) -> Result<(), LayerError> {
        self.check(bias, weights, recurrent, inputs)?;
        let (n, n_in) = (self.n_out, self.n_in);
        self.check_sensitivities(
            recurrent.is_some(),
            inputs.len(),
            spikes,
            dl_dspike,
            dl_dx_end,
            (
                grad_bias,
                grad_weights,
                grad_recurrent.as_deref(),
                dl_dinput,
            ),
        )?;
        self.transpose(weights, s);
        if let Some(r) = recurrent {
            self.transpose_recurrent(r, s);
            zeroed(&mut s.g_r, n * n);
        }
        let lif = &self.lif;
        let (theta, v_reset) = (lif.theta(), lif.v_reset());
        let (inv_tau_mem, inv_tau_syn) = (1.0 / lif.tau_mem(), 1.0 / lif.tau_syn());
        s.lv.clear();
        s.li.clear();
        match dl_dx_end {
            Some(d) => {
                s.lv.extend(d.iter().map(|x| x[0]));
                s.li.extend(d.iter().map(|x| x[1]));
            }
            None => {
                s.lv.resize(n, 0.0);
                s.li.resize(n, 0.0);
            }
        }
        s.mu.clear();
        s.mu.resize(n, 0.0);
        s.g_t.clear();
        s.g_t.resize(n_in * n, 0.0);
        s.terms.resize(n, 0.0);
        // Nothing is to be propagated until the first sensitivity (in
        // backward time): the adjoint is linear and homogeneous.
        let mut live = s.lv.iter().chain(&s.li).any(|&l| l != 0.0);
        let applied = inputs.partition_point(|&(t, _)| t < self.t_end);
        let (mut m, mut k) = (applied, spikes.len());
        let mut t_b = self.t_end;
        loop {
            // The later of the next input and the next spike backwards; an
            // input at a spike's instant came after the spike's crossing.
            let input_next = match (m, k) {
                (0, 0) => break,
                (0, _) => false,
                (_, 0) => true,
                _ => inputs[m - 1].0 >= spikes[k - 1].t,
            };
            let t = if input_next {
                inputs[m - 1].0
            } else {
                spikes[k - 1].t
            };
            let decay = (live && t < t_b).then(|| self.lif.decay(t_b - t));
            t_b = t;
            if input_next {
                m -= 1;
                if live {
                    let c = inputs[m].1 as usize;
                    let (column, grads) =
                        (&s.w_t[c * n..(c + 1) * n], &mut s.g_t[c * n..(c + 1) * n]);
                    let lambda = (&mut s.lv[..], &mut s.li[..], &mut s.mu[..]);
                    let rates = (inv_tau_mem, inv_tau_syn);
                    let terms = &mut s.terms[..];
                    dl_dinput[m] +=
                        adjoint_input(decay.as_ref(), rates, column, lambda, grads, terms);
                }
            } else {
                k -= 1;
                let spike = spikes[k];
                let j = spike.neuron as usize;
                // A recurrent spike is also an input to the layer, after
                // its reset: its weights' `dL/dw`, and its `dL/dt` through
                // them, from the adjoint after it.
                let mut dl = dl_dspike[k];
                match recurrent {
                    Some(_) if live => {
                        let (column, grads) =
                            (&s.r_t[j * n..(j + 1) * n], &mut s.g_r[j * n..(j + 1) * n]);
                        let lambda = (&mut s.lv[..], &mut s.li[..], &mut s.mu[..]);
                        let rates = (inv_tau_mem, inv_tau_syn);
                        let terms = &mut s.terms[..];
                        dl += adjoint_input(decay.as_ref(), rates, column, lambda, grads, terms);
                    }
                    _ => {
                        if let Some(d) = &decay {
                            propagate(d, &mut s.lv, &mut s.li, &mut s.mu);
                        }
                    }
                }
                let drive = spike.current + bias[j];
                let (f_minus, f_plus) = (
                    (drive - theta) * inv_tau_mem,
                    (drive - v_reset) * inv_tau_mem,
                );
                if !(f_minus > 0.0) {
                    return Err(LayerError {
                        neuron: Some(j),
                        source: SolverError::DegenerateSpike {
                            t: spike.t,
                            slope: f_minus,
                        },
                    });
                }
                // The reset forgets `v`: `λ_v⁻ = (λ_v⁺ f_v⁺ − dL/dt)/f_v⁻`.
                s.lv[j] = (s.lv[j] * f_plus - dl) / f_minus;
                live |= s.lv[j] != 0.0;
            }
        }
        if live && t_b > 0.0 {
            propagate(&self.lif.decay(t_b), &mut s.lv, &mut s.li, &mut s.mu);
        }
        for (g, mu) in grad_bias.iter_mut().zip(&s.mu) {
            *g += mu;
        }
        let g_t = &s.g_t;
        tiled(n, n_in, |j, c| grad_weights[j * n_in + c] += g_t[c * n + j]);
        if let (Some(r), Some(grad)) = (recurrent, grad_recurrent) {
            add_recurrent_gradient(n, r, &s.g_r, grad);
        }
        Ok(())
    }
}

/// The recurrent weights `r` of a layer of `n` neurons by source neuron,
/// masked, into `r_t`: `r_t[i·n + j] = w_ji` where the synapse exists,
/// else 0.
pub(crate) fn transpose_masked(n: usize, r: Recurrent<'_>, r_t: &mut Vec<f64>) {
    let r_t = zeroed(r_t, n * n);
    tiled(n, n, |j, i| {
        let exists = r.mask.is_none_or(|m| m[j * n + i]);
        r_t[i * n + j] = if exists { r.weights[j * n + i] } else { 0.0 };
    });
}

/// Adds `g_r`, the recurrent weights' gradient by source neuron (as
/// [`transpose_masked`] lays them out), to `grad` (as the weights) where
/// `r`'s mask keeps the synapse.
pub(crate) fn add_recurrent_gradient(n: usize, r: Recurrent<'_>, g_r: &[f64], grad: &mut [f64]) {
    tiled(n, n, |j, i| {
        if r.mask.is_none_or(|m| m[j * n + i]) {
            grad[j * n + i] += g_r[i * n + j];
        }
    });
}

/// The neurons whose flag is set, in order: eight flags at a time, and
/// only the groups with a flag looked into.
fn flagged(flags: &[u64]) -> impl Iterator<Item = usize> + '_ {
    let groups = flags.chunks(8).enumerate();
    let set = groups.filter(|(_, g)| g.iter().fold(0, |a, &f| a | f) != 0);
    set.flat_map(|(at, g)| {
        let one = g.iter().enumerate().filter(|(_, &f)| f != 0);
        one.map(move |(k, _)| 8 * at + k)
    })
}

/// `dst` as a copy of `src` (its allocation kept).
pub(crate) fn refill<T: Copy>(dst: &mut Vec<T>, src: &[T]) {
    dst.clear();
    dst.extend_from_slice(src);
}

/// `dst` as `len` zeros (its allocation kept).
fn zeroed(dst: &mut Vec<f64>, len: usize) -> &mut Vec<f64> {
    dst.clear();
    dst.resize(len, 0.0);
    dst
}

/// Whether `a` and `b` hold the same values bit for bit; without an early
/// exit, so that the comparison is vectorised.
pub(crate) fn same_bits(a: &[f64], b: &[f64]) -> bool {
    let differ = a
        .iter()
        .zip(b)
        .fold(0, |acc, (x, y)| acc | (x.to_bits() ^ y.to_bits()));
    a.len() == b.len() && differ == 0
}

/// `f(j, c)` for every row `j < rows` and column `c < cols`, in tiles, so
/// that a matrix read or written by rows and one by columns both stay in
/// cache (the weights and their transpose).
#[inline]
fn tiled(rows: usize, cols: usize, mut f: impl FnMut(usize, usize)) {
    const TILE: usize = 16;
    for j0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for j in j0..(j0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    f(j, c);
                }
            }
        }
    }
}

/// The adjoint `(λ_v, λ_i)` of one neuron and its bias gradient `μ` back
/// over an interval with no event and decay factors `d`
/// ([`ClosedForm`](crate::ClosedForm)'s `propagate`).
#[inline(always)]
fn propagate_one(d: &LifDecay, lv: &mut f64, li: &mut f64, mu: &mut f64) {
    let v = *lv;
    *mu += v * d.one_minus_mem;
    *lv = v * d.mem;
    *li = *li * d.syn + v * d.kernel;
}

/// The widest registers of the layer's loops ([`with_wide_vectors`]).
/// Other targets than x86-64 run their baseline build only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum Width {
    /// As compiled for the target.
    Baseline,
    /// AVX2.
    Avx2,
    /// AVX-512F with DQ.
    Avx512,
}

/// The widest registers this CPU has for the layer's loops (in tests, at
/// most the width a test asked for).
#[cfg_attr(not(any(target_arch = "x86_64", test)), allow(dead_code))]
pub(crate) fn vector_width() -> Width {
    #[cfg(target_arch = "x86_64")]
    let detected = {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512dq") {
            Width::Avx512
        } else if has!("avx2") {
            Width::Avx2
        } else {
            Width::Baseline
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let detected = Width::Baseline;
    #[cfg(test)]
    let detected = tests::WIDTH_CAP.with(|cap| cap.get().map_or(detected, |c| c.min(detected)));
    detected
}

/// A function of the layer's loops, compiled as it is, for AVX2 and for
/// AVX-512, and run with the widest registers the CPU has: the same
/// operations on more lanes at once, so the same results bit for bit (no
/// fused multiply-add is enabled, and every sum keeps its order).
macro_rules! with_wide_vectors {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $out:ty)? $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) $(-> $out)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $out)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) $(-> $out)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512dq")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) $(-> $out)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            {
                let width = $crate::lif_layer::vector_width();
                if width == $crate::lif_layer::Width::Avx512 {
                    // SAFETY: the CPU has AVX-512F and DQ, `avx512`'s only
                    // requirement: `vector_width` answers `Avx512` only
                    // where it detected both.
                    #[allow(unsafe_code)]
                    return unsafe { avx512($($arg),*) };
                }
                if width == $crate::lif_layer::Width::Avx2 {
                    // SAFETY: the CPU has AVX2, `avx2`'s only
                    // requirement: `vector_width` answers `Avx2` only
                    // where it detected it.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use with_wide_vectors;

with_wide_vectors! {
/// [`propagate_one`] for every neuron of the layer.
fn propagate(d: &LifDecay, lv: &mut [f64], li: &mut [f64], mu: &mut [f64]) {
    for ((lv, li), mu) in lv.iter_mut().zip(li.iter_mut()).zip(mu.iter_mut()) {
        propagate_one(d, lv, li, mu);
    }
}
}

with_wide_vectors! {
/// Every neuron's state after an interval with decay factors `d` and the
/// input jump `column` at its end, from `from` into `to`; `flags[j]` is set
/// where neuron `j` may cross `θ` inside (its entries of `to` are then to
/// be replaced), and the result says whether any may. Indexed over slices
/// of one length, without branches, so that the compiler vectorises it.
fn decay_layer(
    d: &LifDecay,
    h_over_tau: f64,
    theta: f64,
    bias: &[f64],
    column: &[f64],
    from: (&[f64], &[f64]),
    to: (&mut [f64], &mut [f64]),
    flags: &mut [u64],
) -> bool {
    let n = bias.len();
    let (column, flags) = (&column[..n], &mut flags[..n]);
    let (v_from, i_from) = (&from.0[..n], &from.1[..n]);
    let (v_to, i_to) = (&mut to.0[..n], &mut to.1[..n]);
    let margin = 1e-9 * (1.0 + theta.abs());
    let mut any = 0u64;
    for j in 0..n {
        let (v0, i0, b) = (v_from[j], i_from[j], bias[j]);
        let v1 = b + (v0 - b) * d.mem + i0 * d.kernel;
        let i1 = i0 * d.syn;
        // `v` reaches `θ` at the end, or inside. Inside it has at most one
        // extremum (two exponentials and a constant), so it can exceed
        // `v(0)` and `v(h)` only where it rises at the start (`τ_m v' =
        // −v + i + b > 0`) to a maximum inside. Then the current decays (a
        // rising `v` cannot overtake a rising drive `i + b`), so `v` is
        // concave while it rises and stays below its tangent at the start,
        // `v(0) + h v'(0)`. A neuron whose end value and tangent stay below
        // `θ` cannot reach it (the margin covers the bound's rounding).
        let drive0 = i0 + b - v0;
        let rise = if drive0 > 0.0 { drive0 } else { 0.0 };
        let tangent = v0 + h_over_tau * rise;
        let high = if v1 > tangent { v1 } else { tangent };
        let pending = high + margin >= theta;
        let flag = 0u64.wrapping_sub(pending as u64);
        flags[j] = flag;
        any |= flag;
        v_to[j] = v1;
        i_to[j] = i1 + column[j];
    }
    any != 0
}
}

with_wide_vectors! {
/// The adjoint at an input of weights `column` (one per neuron): first
/// back over the interval after it where `decay` is given, then `dL/dw`
/// of each neuron's synapse (`λ_i`) added to `grads`; returns `dL/dt` of
/// the input, `Σ_j λ⁺·(f⁻ − f⁺)` (the jump raises `v'` by `w/τ_m` and
/// lowers `i'` by `w/τ_s`), with `terms` as room for the sum's terms,
/// which are summed in [`LANES`] fixed lanes (neuron `j` in lane
/// `j mod LANES`, in order) so that the compiler vectorises it and the sum
/// is the same on every machine.
fn adjoint_input(
    decay: Option<&LifDecay>,
    rates: (f64, f64),
    column: &[f64],
    lambda: (&mut [f64], &mut [f64], &mut [f64]),
    grads: &mut [f64],
    terms: &mut [f64],
) -> f64 {
    let ((inv_tau_mem, inv_tau_syn), (lv, li, mu)) = (rates, lambda);
    let n = column.len();
    let (lv, li, mu, grads) = (&mut lv[..n], &mut li[..n], &mut mu[..n], &mut grads[..n]);
    if let Some(d) = decay {
        propagate(d, lv, li, mu);
    }
    let terms = &mut terms[..n];
    for j in 0..n {
        grads[j] += li[j];
        terms[j] = column[j] * (li[j] * inv_tau_syn - lv[j] * inv_tau_mem);
    }
    // Neuron `j`'s term into lane `j mod LANES`, by chunks of fixed size,
    // so that the compiler adds a whole chunk at once.
    let mut lanes = [0.0; LANES];
    let chunks = terms.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, t) in lanes.iter_mut().zip(chunk) {
            *lane += t;
        }
    }
    for (lane, t) in lanes.iter_mut().zip(rest) {
        *lane += t;
    }
    let pairs = [0, 2, 4, 6].map(|l| lanes[l] + lanes[l + 1]);
    (pairs[0] + pairs[1]) + (pairs[2] + pairs[3])
}

}

/// The lanes of [`adjoint_input`]'s sum: one AVX-512 register of `f64`,
/// two of AVX2.
const LANES: usize = 8;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::cell::Cell;

    thread_local! {
        /// The widest registers a test lets the loops use.
        pub(crate) static WIDTH_CAP: Cell<Option<Width>> = const { Cell::new(None) };
    }

    /// A random layer for the width tests: sizes that are no multiple of
    /// the vectors' lanes, parameters, sorted inputs, and recurrent
    /// weights with a mask without self-connections.
    pub(crate) struct Case {
        pub(crate) lif: Lif,
        pub(crate) n_in: usize,
        pub(crate) n: usize,
        pub(crate) t_end: f64,
        pub(crate) bias: Vec<f64>,
        pub(crate) weights: Vec<f64>,
        pub(crate) inputs: Vec<(f64, u32)>,
        pub(crate) w_rec: Vec<f64>,
        pub(crate) mask: Vec<bool>,
    }

    impl Case {
        pub(crate) fn new(rng: &mut ChaCha8Rng) -> Self {
            let (n_in, n, t_end) = (7, 37, 50.0);
            let bias = (0..n).map(|_| rng.random_range(-0.2..0.5)).collect();
            let weights = (0..n * n_in).map(|_| rng.random_range(-1.0..2.0)).collect();
            let mut inputs: Vec<(f64, u32)> = (0..150)
                .map(|_| {
                    (
                        rng.random_range(0.0..55.0),
                        rng.random_range(0..n_in as u32),
                    )
                })
                .collect();
            inputs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let w_rec = (0..n * n).map(|_| rng.random_range(-0.5..0.5)).collect();
            let mask = (0..n * n).map(|k| k / n != k % n).collect();
            Case {
                lif: Lif::new(10.0, 2.5, 1.0, 0.1).unwrap(),
                n_in,
                n,
                t_end,
                bias,
                weights,
                inputs,
                w_rec,
                mask,
            }
        }

        /// The recurrent synapses, where `recurrent`.
        pub(crate) fn recurrent(&self, recurrent: bool) -> Option<Recurrent<'_>> {
            recurrent.then_some(Recurrent {
                weights: &self.w_rec,
                mask: Some(&self.mask),
            })
        }

        /// Random `dL/dt` of `spikes` (more than 50 of them) and
        /// `dL/dx(t_end)`.
        pub(crate) fn sensitivities(
            &self,
            rng: &mut ChaCha8Rng,
            spikes: &[LayerSpike],
        ) -> (Vec<f64>, Vec<[f64; 2]>) {
            assert!(spikes.len() > 50, "{} spikes", spikes.len());
            let dl = spikes.iter().map(|_| rng.random_range(-1.0..1.0)).collect();
            let dx = (0..self.n).map(|_| [rng.random(), rng.random()]).collect();
            (dl, dx)
        }
    }

    /// Everything a forward and a backward pass give, as bits; of a
    /// recurrent layer (without self-connections) where `recurrent`.
    fn passes(seed: u64, recurrent: bool) -> Vec<u64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let case = Case::new(&mut rng);
        let Case {
            lif,
            n_in,
            n,
            t_end,
            ref bias,
            ref weights,
            ref inputs,
            ..
        } = case;
        let rec = case.recurrent(recurrent);
        let layer = LifLayer::new(lif, n_in, n, t_end).unwrap();
        let mut s = LifLayerScratch::default();
        let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
        layer
            .forward(bias, weights, rec, inputs, &mut s, &mut spikes, &mut x_end)
            .unwrap();
        let (dl, dx) = case.sensitivities(&mut rng, &spikes);
        let (mut gb, mut gw, mut gin) =
            (vec![0.0; n], vec![0.0; n * n_in], vec![0.0; inputs.len()]);
        let mut gr = vec![0.0; if recurrent { n * n } else { 0 }];
        layer
            .backward(
                bias,
                weights,
                rec,
                inputs,
                &spikes,
                &dl,
                Some(&dx),
                &mut s,
                &mut gb,
                &mut gw,
                recurrent.then_some(&mut gr[..]),
                &mut gin,
            )
            .unwrap();
        let values = x_end.iter().flatten().chain(&gb).chain(&gw).chain(&gr);
        bits(&spikes, values.chain(&gin))
    }

    /// The bits of a pass's spikes and of `values`.
    pub(crate) fn bits<'a>(
        spikes: &[LayerSpike],
        values: impl Iterator<Item = &'a f64>,
    ) -> Vec<u64> {
        let spike_bits = spikes
            .iter()
            .flat_map(|s| [s.t.to_bits(), s.neuron as u64, s.current.to_bits()]);
        spike_bits.chain(values.map(|v| v.to_bits())).collect()
    }

    /// Asserts that `passes(seed, recurrent)` gives the same bits on every
    /// width of registers (the machine's widest, AVX2 and the baseline)
    /// for six seeds, the last two recurrent.
    pub(crate) fn assert_same_bits_on_every_width(passes: impl Fn(u64, bool) -> Vec<u64>) {
        for (seed, recurrent) in (0..6).map(|k| (k, k >= 4)) {
            let widths = [Width::Avx512, Width::Avx2, Width::Baseline].map(|w| {
                WIDTH_CAP.with(|cap| cap.set(Some(w)));
                assert!(vector_width() <= w);
                let bits = passes(seed, recurrent);
                WIDTH_CAP.with(|cap| cap.set(None));
                bits
            });
            assert_eq!(widths[0], widths[1], "seed {seed}: AVX-512 against AVX2");
            assert_eq!(
                widths[1], widths[2],
                "seed {seed}: AVX2 against the baseline"
            );
        }
    }

    /// The loops give the same bits on every width of registers: the
    /// machine's widest, AVX2 and the baseline; feed-forward and
    /// recurrent.
    #[test]
    fn every_vector_width_gives_the_same_bits() {
        assert_same_bits_on_every_width(passes);
    }
}
