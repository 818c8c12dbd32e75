//! A layer of LIF neurons whose synapses each delay their spikes (synaptic
//! delays), simulated together in closed form, with its EventProp adjoint.
//!
//! With synaptic delays every neuron receives the layer's input spikes at
//! its own times, so the shared decay factors of [`LifLayer`] do not
//! apply. This kernel writes each neuron's state in coordinates that do not
//! change between events instead: with `κ = τ_s/(τ_s − τ_m)`,
//!
//! - `v(t) = b + α e^{−t/τ_m} + κ γ e^{−t/τ_s}`, `i(t) = γ e^{−t/τ_s}`;
//! - an input of weight `w` arriving at `a` adds `w e^{a/τ_s}` to `γ` and
//!   `−κ w e^{a/τ_m}` to `α` (`v` stays continuous);
//! - a reset at `t` sets `α = (v_r − b − κ i(t)) e^{t/τ_m}`;
//! - a spike of the layer's own neuron `j` (recurrent) adds `w_kj e^{t/τ_s}`
//!   and `−κ w_kj e^{t/τ_m}` to every neuron `k`.
//!
//! The arrival's factors `e^{a/τ}` are products of a factor of the input
//! spike and one of the synapse's delay, both computed once per pass, so an
//! arrival costs no exponential; the state at a time needs only that time's
//! two exponentials, which the whole layer shares.
//!
//! **Forward.** The arrivals are made input by input, in the inputs' time
//! order, just before the time bin they reach is simulated, into a ring of
//! bins as long as the delays span (so they stay in cache between being
//! made and used): per bin and neuron, the sums of the arrivals' terms and
//! the arrivals' inputs, in input order. In a bin, every neuron takes its
//! sums and bounds its membrane over the bin: the current stays below
//! `max(i, 0) + Σ w⁺` of its arrivals, so `v` stays below the solution
//! driven by that current. Only a neuron whose bound reaches `θ` is
//! simulated arrival by arrival, on its arrivals in the bin (made again
//! from their inputs, with the same terms) sorted by time, with
//! [`LifLayer`]'s crossing search. In a recurrent layer the earliest
//! such crossing of the bin is the layer's next spike: its reset and its
//! recurrent weights apply, which move the other neurons' bounds by the
//! weights alone, and the bin goes on from there; a neuron takes its
//! arrivals into its coordinates only when it is searched and at the bin's
//! end. In a feed-forward layer each neuron takes its own spikes.
//!
//! **Adjoint.** In the same way, between a neuron's own spikes its adjoint
//! is `λ_v(t) = A e^{t/τ_m}`, `λ_i(t) = C e^{t/τ_s} − κ A e^{t/τ_m}` with
//! constant `A`, `C`; input arrivals do not change it (their jumps do not
//! depend on the state). The backward pass runs the layer's spikes in
//! reverse, with each spike's jump (and, recurrent, the spike's inputs to
//! the layer), records each neuron's `(A, C)` per stretch between its
//! spikes, and then gives every arrival its gradients from its stretch's
//! coordinates, input by input, making the arrivals again: `dL/dw =
//! λ_i(a)`, and `dL/da = w (λ_i(a)/τ_s − λ_v(a)/τ_m)`, which is the
//! arrival's `dL/dd` and its input spike's `dL/dt`.
//!
//! The coordinates grow as `e^{t/τ}`: the kernel takes layers whose `t_end`
//! is at most [`MAX_SPAN`] of the shorter time constant, and time constants
//! that differ by at least a tenth ([`DelayedLifLayer::supports`]).

use crate::lif_layer::{
    add_recurrent_gradient, refill, same_bits, transpose_masked, with_wide_vectors, Crossing,
    LayerError, LayerSpike, LifLayer, Recurrent,
};
use crate::SolverError;
use evnn_neurons::Lif;

/// The longest `t_end` of a [`DelayedLifLayer`], in units of the shorter
/// time constant: `e^{t/τ}` stays far inside `f64`'s range, and so does
/// the adjoint's `e^{−t/τ}`.
pub const MAX_SPAN: f64 = 400.0;

/// The largest `|κ| = τ_s/|τ_s − τ_m|` of a [`DelayedLifLayer`]: the two
/// terms of `v` cancel by at most that factor.
const MAX_KAPPA: f64 = 10.0;

/// Arrivals per neuron and time bin the forward pass aims at.
const ARRIVALS_PER_BIN: f64 = 4.0;

/// The synaptic delays of a [`DelayedLifLayer`]'s pass: `delays` is
/// `n_out × n_in` as the weights, `delays[j·n_in + c]` the delay of the
/// synapse from channel `c` to neuron `j` (finite, `>= 0`). An input spike
/// at `t` reaches neuron `j` at `t + delays[j·n_in + c]`; arrivals at or
/// after `t_end` are not applied.
#[derive(Clone, Copy, Debug)]
pub struct SynapticDelays<'a> {
    /// The delays, `n_out × n_in`.
    pub delays: &'a [f64],
}

/// Reusable buffers of a [`DelayedLifLayer`]'s passes; their earlier use
/// never changes a result.
#[derive(Clone, Debug, Default)]
pub struct DelayedLifScratch {
    arrivals: ArrivalScratch,
    coords: Coords,
    /// The recurrent weights by source neuron, masked (`r_t[i·n + j] =
    /// w_ji`).
    r_t: Vec<f64>,
    back: BackwardScratch,
}

/// The arrivals of a pass and their factors.
#[derive(Clone, Debug, Default)]
struct ArrivalScratch {
    /// Per input spike: `e^{t/τ_m}`, `e^{t/τ_s}`.
    in_em: Vec<f64>,
    in_es: Vec<f64>,
    /// The synapses, and the longest of their delays (of `min(d, t_end)`).
    syn: Synapses,
    d_max: f64,
    /// What `syn` was made of: the layer's shape and constants, the
    /// weights and delays.
    key: Option<(usize, usize, u64, u64, u64)>,
    weights: Vec<f64>,
    delays: Vec<f64>,
    /// The inputs by time (ties by index).
    order: Vec<u32>,
    /// How many of them have their arrivals placed.
    placed: usize,
    /// The placed arrivals of the bins to come by neuron, in input order,
    /// with their sums: neuron `j`'s of bin `k` in `ring[(k % s)·n + j]`
    /// for a ring of `s` bins (a power of two) that spans the delays, so
    /// that the arrivals stay in cache between being made and used.
    ring: Vec<Bucket>,
    /// The bins, of equal width: `inv_width` the reciprocal of that,
    /// `bounds` where each starts (and `t_end`); bin `k` holds `[bounds[k],
    /// bounds[k + 1])`.
    inv_width: f64,
    bounds: Vec<f64>,
}

/// One arrival of an input at a neuron: its time `a`, the terms `w
/// e^{a/τ_m}`, `w e^{a/τ_s}` of its synapse's weight `w`, and its input.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    a: f64,
    wm: f64,
    ws: f64,
    w: f64,
    m: u32,
}

/// One neuron's arrivals in one bin, by input (in input order; the
/// arrivals are made again from them where a neuron is searched), and
/// their sums: `Σ w e^{a/τ_m}`, `Σ w e^{a/τ_s}` and the sum of the
/// positive weights.
#[derive(Clone, Debug, Default)]
struct Bucket {
    placed: Vec<u32>,
    sum_m: f64,
    sum_s: f64,
    pos: f64,
}

impl Bucket {
    fn clear(&mut self) {
        self.placed.clear();
        (self.sum_m, self.sum_s, self.pos) = (0.0, 0.0, 0.0);
    }
}

/// The synapses as the arrivals need them, by input channel (`c·n + j`:
/// the passes go input by input, every neuron for each), one field per
/// vector (the backward pass takes a row of each on the wide registers).
#[derive(Clone, Debug, Default)]
struct Synapses {
    /// Delay, weight, and `e^{d/τ_m}`, `e^{d/τ_s}` (of `min(d, t_end)`).
    d: Vec<f64>,
    w: Vec<f64>,
    sm: Vec<f64>,
    ss: Vec<f64>,
}

/// One synapse of [`Synapses`].
#[derive(Clone, Copy, Debug)]
struct Synapse {
    d: f64,
    w: f64,
    sm: f64,
    ss: f64,
}

impl Synapses {
    #[inline]
    fn at(&self, i: usize) -> Synapse {
        Synapse {
            d: self.d[i],
            w: self.w[i],
            sm: self.sm[i],
            ss: self.ss[i],
        }
    }
}

/// The forward pass's per-neuron state.
#[derive(Clone, Debug, Default)]
struct Coords {
    /// The coordinates `α`, `γ`, and a bin's sums of the arrivals' terms
    /// (`Σ w e^{a/τ_m}`, `Σ w e^{a/τ_s}`).
    alpha: Vec<f64>,
    gamma: Vec<f64>,
    sum_m: Vec<f64>,
    sum_s: Vec<f64>,
    /// The sum of the positive weights of those arrivals.
    pos: Vec<f64>,
    flags: Vec<bool>,
    /// A recurrent layer's: per neuron, the time from which its arrivals
    /// in the bin are not yet in `α`, `γ` (their sums are), and a bound on
    /// its membrane over the rest of the bin.
    since: Vec<f64>,
    high: Vec<f64>,
    counts: Vec<usize>,
    /// One neuron's arrivals in a bin, `(time, input)`, in time order.
    local: Vec<(f64, u32)>,
}

/// The backward pass's buffers.
#[derive(Clone, Debug, Default)]
struct BackwardScratch {
    /// Per neuron: `A`, `C`, `dL/db`, and where its current stretch ends.
    a: Vec<f64>,
    c: Vec<f64>,
    mu: Vec<f64>,
    t_hi: Vec<f64>,
    /// Per spike: the coordinates of its neuron's stretch after it.
    after: Vec<(f64, f64)>,
    /// `dL/dw` of the recurrent synapses by source neuron.
    g_r: Vec<f64>,
    /// Per neuron, where its spikes start in `own_t` (times) and
    /// `own_after` (the coordinates after each), in time order, and how
    /// far they lie before the current input.
    own: Vec<usize>,
    own_t: Vec<f64>,
    own_after: Vec<(f64, f64)>,
    before: Vec<usize>,
    /// Per neuron, the time of that spike (`∞` past the last) and the
    /// coordinates of the stretch before it, where an arrival before it
    /// lies.
    next_t: Vec<f64>,
    cur_a: Vec<f64>,
    cur_c: Vec<f64>,
    /// Per neuron, the current input's arrival: its `dL/da`, and whether
    /// it lies at or after the neuron's next spike (its stretch is looked
    /// up on its own).
    dl_da: Vec<f64>,
    past: Vec<bool>,
    /// `dL/dw` and `dL/dd` by input channel (`c·n + j`).
    g_w: Vec<f64>,
    g_d: Vec<f64>,
}

/// A dense layer of one [`Lif`] with a delay on every synapse (and
/// optionally recurrent synapses, without delay), simulated together on
/// `[0, t_end]` in closed form ([`forward`](Self::forward)), with the
/// EventProp adjoint ([`backward`](Self::backward)), which also gives each
/// delay's gradient. Weights and delays are `n_out × n_in`, row `j` the
/// synapses of neuron `j`.
///
/// Spike times and gradients are those of each neuron simulated on its own
/// with [`ClosedForm`](crate::ClosedForm) on its arrivals to round-off,
/// not bit for bit: the states are summed in other coordinates and order.
/// Input spikes need not be sorted; their order only breaks ties between
/// arrivals at one instant.
///
/// # Examples
///
/// ```
/// use evnn_neurons::Lif;
/// use evnn_solver::lif_delayed::{DelayedLifLayer, DelayedLifScratch, SynapticDelays};
///
/// let layer = DelayedLifLayer::new(Lif::default(), 2, 2, 60.0)?;
/// let weights = [4.0; 4];
/// // Neuron 0 gets both inputs at once, neuron 1 forty apart.
/// let delays = [5.0, 0.0, 0.0, 40.0];
/// let d = SynapticDelays { delays: &delays };
/// let bias = [0.0; 2];
/// let inputs = [(0.0, 0), (5.0, 1)];
/// let mut scratch = DelayedLifScratch::default();
/// let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
/// layer.forward(&bias, &weights, d, None, &inputs, &mut scratch, &mut spikes, &mut x_end)?;
/// assert!(spikes.iter().any(|s| s.neuron == 0));
/// assert!(spikes.iter().all(|s| s.neuron == 0));
///
/// // dL/dt = 1 for every spike: the gradient of the sum of spike times.
/// let dl = vec![1.0; spikes.len()];
/// let (mut gb, mut gw, mut gd, mut gin) = (vec![0.0; 2], vec![0.0; 4], vec![0.0; 4], vec![0.0; 2]);
/// layer.backward(
///     &bias, &weights, d, None, &inputs, &spikes, &dl, None, &mut scratch,
///     &mut gb, &mut gw, &mut gd, None, &mut gin,
/// )?;
/// // A longer delay on neuron 0's first synapse delays its spike.
/// assert!(gd[0] > 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DelayedLifLayer {
    layer: LifLayer,
    kappa: f64,
}

impl DelayedLifLayer {
    /// A layer of `n_out` neurons `lif` with `n_in` input channels on
    /// `[0, t_end]`; errors as [`LifLayer::new`], and where the kernel does
    /// not take these constants ([`supports`](Self::supports)).
    pub fn new(lif: Lif, n_in: usize, n_out: usize, t_end: f64) -> Result<Self, SolverError> {
        let layer = LifLayer::new(lif, n_in, n_out, t_end)?;
        let tau = lif.tau_mem().min(lif.tau_syn());
        if !(t_end <= MAX_SPAN * tau) {
            return Err(SolverError::InvalidOption {
                name: "t_end over the shorter LIF time constant (delayed layer)",
                value: t_end / tau,
                reason: "must be at most 400: the layer's coordinates grow as e^(t/tau)",
            });
        }
        let kappa = lif.tau_syn() / (lif.tau_syn() - lif.tau_mem());
        if !(kappa.abs() <= MAX_KAPPA) {
            return Err(SolverError::InvalidOption {
                name: "tau_syn / (tau_syn - tau_mem) (delayed layer)",
                value: kappa,
                reason: "must be at most 10 in size: the time constants must differ by a tenth",
            });
        }
        Ok(DelayedLifLayer { layer, kappa })
    }

    /// Whether [`new`](Self::new) takes `lif` on `[0, t_end]`: `t_end` at
    /// most [`MAX_SPAN`] times the shorter time constant, and
    /// `|τ_s/(τ_s − τ_m)| <= 10`.
    pub fn supports(lif: &Lif, t_end: f64) -> bool {
        DelayedLifLayer::new(*lif, 0, 0, t_end).is_ok()
    }

    /// This layer with at most `max_spikes` spikes per neuron in a forward
    /// pass ([`LifLayer::with_max_spikes`]).
    pub fn with_max_spikes(mut self, max_spikes: usize) -> Self {
        self.layer = self.layer.with_max_spikes(max_spikes);
        self
    }

    /// Checks the shapes, the inputs (finite times `>= 0`, channels below
    /// `n_in`) and the delays (finite, `>= 0`).
    fn check(
        &self,
        bias: &[f64],
        weights: &[f64],
        delays: SynapticDelays<'_>,
        recurrent: Option<Recurrent<'_>>,
        inputs: &[(f64, u32)],
    ) -> Result<(), SolverError> {
        let l = &self.layer;
        l.check(bias, weights, recurrent, &[])?;
        if delays.delays.len() != l.n_out * l.n_in {
            return Err(SolverError::ShapeMismatch {
                what: "synaptic delays (n_out × n_in)",
                expected: l.n_out * l.n_in,
                got: delays.delays.len(),
            });
        }
        if let Some(&d) = delays
            .delays
            .iter()
            .find(|d| !(d.is_finite() && **d >= 0.0))
        {
            return Err(SolverError::InvalidOption {
                name: "synaptic delay",
                value: d,
                reason: "must be finite and >= 0",
            });
        }
        for (index, &(time, channel)) in inputs.iter().enumerate() {
            if !(time.is_finite() && time >= 0.0) {
                return Err(SolverError::InvalidInputTime { index, time });
            }
            if channel as usize >= l.n_in {
                return Err(SolverError::ShapeMismatch {
                    what: "input channel (below the layer's input count)",
                    expected: l.n_in,
                    got: channel as usize,
                });
            }
        }
        if l.n_out.saturating_mul(inputs.len()) >= u32::MAX as usize {
            return Err(SolverError::ShapeMismatch {
                what: "arrivals of one pass (neurons × input spikes, below 2^32)",
                expected: u32::MAX as usize,
                got: l.n_out.saturating_mul(inputs.len()),
            });
        }
        Ok(())
    }

    /// The factors of a pass's arrivals: per input spike, and per synapse
    /// (kept while the layer's constants, weights and delays are the same
    /// bit for bit: a batch's samples share them); the bins of the forward
    /// pass, and its ring emptied.
    fn factors(
        &self,
        weights: &[f64],
        delays: &[f64],
        inputs: &[(f64, u32)],
        s: &mut ArrivalScratch,
    ) {
        let l = &self.layer;
        let (n, n_in, t_end) = (l.n_out, l.n_in, l.t_end);
        let (inv_m, inv_s) = (1.0 / l.lif.tau_mem(), 1.0 / l.lif.tau_syn());
        let key = (
            n,
            n_in,
            t_end.to_bits(),
            l.lif.tau_mem().to_bits(),
            l.lif.tau_syn().to_bits(),
        );
        if !(s.key == Some(key) && same_bits(&s.weights, weights) && same_bits(&s.delays, delays)) {
            s.key = Some(key);
            refill(&mut s.weights, weights);
            refill(&mut s.delays, delays);
            // By input channel (`c·n + j`): the passes go input by input,
            // every neuron for each.
            let syn = &mut s.syn;
            for v in [&mut syn.d, &mut syn.w, &mut syn.sm, &mut syn.ss] {
                v.clear();
                v.resize(n * n_in, 0.0);
            }
            s.d_max = 0.0;
            for j in 0..n {
                for c in 0..n_in {
                    let (w, d) = (weights[j * n_in + c], delays[j * n_in + c]);
                    let d_end = d.min(t_end);
                    s.d_max = s.d_max.max(d_end);
                    let i = c * n + j;
                    (syn.d[i], syn.w[i]) = (d, w);
                    syn.sm[i] = (d_end * inv_m).exp();
                    syn.ss[i] = (d_end * inv_s).exp();
                }
            }
        }
        s.in_em.clear();
        s.in_es.clear();
        for &(t, _) in inputs {
            // An input at or after `t_end` arrives after it: its factors
            // are not used.
            let t = t.min(t_end);
            s.in_em.push((t * inv_m).exp());
            s.in_es.push((t * inv_s).exp());
        }
        // Bins of equal width, about `ARRIVALS_PER_BIN` arrivals per neuron
        // each; the ring as many as the longest delay spans, and two for
        // the input's own bin and rounding.
        let bins = ((inputs.len() as f64 / ARRIVALS_PER_BIN).ceil() as usize).clamp(1, 1 << 16);
        let width = t_end / bins as f64;
        s.inv_width = 1.0 / width;
        s.bounds.clear();
        s.bounds.extend((0..bins).map(|k| k as f64 * width));
        s.bounds.push(t_end);
        // A power of two, for the ring's index.
        let span = ((s.d_max / width).ceil() as usize)
            .saturating_add(3)
            .min(bins)
            .next_power_of_two();
        s.ring.resize_with(span * n, Bucket::default);
        s.ring.truncate(span * n);
        for bucket in s.ring.iter_mut() {
            bucket.clear();
        }
        s.order.clear();
        s.order.extend(0..inputs.len() as u32);
        if !inputs.is_sorted_by(|p, q| p.0 <= q.0) {
            s.order.sort_by(|&p, &q| {
                inputs[p as usize]
                    .0
                    .total_cmp(&inputs[q as usize].0)
                    .then(p.cmp(&q))
            });
        }
        s.placed = 0;
    }

    /// Makes bin `b`'s arrivals the current ones: empties the previous
    /// bin's buckets, places the arrivals of the inputs before the bin's
    /// end in the ring (the bins before `b` are done, so no input before
    /// them is left), and copies each neuron's sums of the bin into
    /// `sums`.
    fn fill_bin(&self, b: usize, inputs: &[(f64, u32)], s: &mut ArrivalScratch, sums: &mut Coords) {
        let l = &self.layer;
        let (n, t_end) = (l.n_out, l.t_end);
        let (last, inv_width) = (s.bounds.len() as i64 - 2, s.inv_width);
        let bounds = &s.bounds;
        // The quotient's bin, moved where rounding put it across a bound.
        // (`a >= 0`: the signed conversion is the cheaper one; `a < t_end =
        // bounds[bins]`.)
        let bin_of = |a: f64| {
            let k = ((a * inv_width) as i64).min(last) as usize;
            if a < bounds[k] {
                k - 1
            } else if a >= bounds[k + 1] {
                k + 1
            } else {
                k
            }
        };
        let mask = s.ring.len() / n - 1;
        if b > 0 {
            let previous = ((b - 1) & mask) * n;
            for bucket in &mut s.ring[previous..previous + n] {
                bucket.clear();
            }
        }
        let end = s.bounds[b + 1];
        while let Some(&m) = s.order.get(s.placed) {
            let (t, c) = inputs[m as usize];
            if !(t < end) {
                break;
            }
            s.placed += 1;
            let (em, es) = (s.in_em[m as usize], s.in_es[m as usize]);
            for j in 0..n {
                let syn = s.syn.at(c as usize * n + j);
                let a = t + syn.d;
                if a < t_end {
                    let bucket = &mut s.ring[(bin_of(a) & mask) * n + j];
                    // `Bin::sums` of the whole bin, in the same order and
                    // with the same terms as `Bin::arrivals` makes.
                    bucket.sum_m += syn.w * (em * syn.sm);
                    bucket.sum_s += syn.w * (es * syn.ss);
                    bucket.pos += syn.w.max(0.0);
                    bucket.placed.push(m);
                }
            }
        }
        let slot = &s.ring[(b & mask) * n..((b & mask) + 1) * n];
        for v in [&mut sums.sum_m, &mut sums.sum_s, &mut sums.pos] {
            v.resize(n, 0.0);
        }
        for (j, bucket) in slot.iter().enumerate() {
            sums.sum_m[j] = bucket.sum_m;
            sums.sum_s[j] = bucket.sum_s;
            sums.pos[j] = bucket.pos;
        }
    }

    /// Simulates the layer from the initial state `(0, 0)` of every neuron:
    /// `spikes` gets every spike in time order (ties by neuron), `x_end`
    /// every neuron's state `(v, i)` at `t_end`. `inputs` are `(time,
    /// channel)`; `recurrent`: the layer's recurrent synapses, if it has
    /// any. Checks the shapes, inputs and delays first.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        bias: &[f64],
        weights: &[f64],
        delays: SynapticDelays<'_>,
        recurrent: Option<Recurrent<'_>>,
        inputs: &[(f64, u32)],
        s: &mut DelayedLifScratch,
        spikes: &mut Vec<LayerSpike>,
        x_end: &mut Vec<[f64; 2]>,
    ) -> Result<(), LayerError> {
        self.check(bias, weights, delays, recurrent, inputs)?;
        let l = &self.layer;
        let (n, t_end) = (l.n_out, l.t_end);
        let lif = l.lif;
        let (theta, v_reset, kappa) = (lif.theta(), lif.v_reset(), self.kappa);
        let (inv_m, inv_s) = (1.0 / lif.tau_mem(), 1.0 / lif.tau_syn());
        self.factors(weights, delays.delays, inputs, &mut s.arrivals);
        if let Some(r) = recurrent {
            transpose_masked(n, r, &mut s.r_t);
        }
        let st = &mut s.coords;
        // The sums and `pos` are made per bin (`fill_bin`).
        for v in [&mut st.gamma, &mut st.high] {
            v.clear();
            v.resize(n, 0.0);
        }
        // `v(0) = 0`: `α = −b`.
        st.alpha.clear();
        st.alpha.extend(bias.iter().map(|b| -b));
        st.flags.clear();
        st.flags.resize(n, false);
        st.counts.clear();
        st.counts.resize(n, 0);
        spikes.clear();
        let margin = 1e-9 * (1.0 + theta.abs());
        let n_bins = s.arrivals.bounds.len() - 1;
        // The state `(v, i)` of neuron `j` at `t`.
        let state = |st: &Coords, j: usize, t: f64| {
            let i = st.gamma[j] * (-t * inv_s).exp();
            [bias[j] + st.alpha[j] * (-t * inv_m).exp() + kappa * i, i]
        };
        // Neuron `j`'s spike at `t`: counted, its reset, and logged with
        // the current there.
        let fire = |st: &mut Coords, spikes: &mut Vec<LayerSpike>, j: usize, t: f64| {
            l.count_spike(&mut st.counts[j], j, t)?;
            let current = st.gamma[j] * (-t * inv_s).exp();
            st.alpha[j] = (v_reset - bias[j] - kappa * current) * (t * inv_m).exp();
            spikes.push(LayerSpike {
                t,
                neuron: j as u32,
                current,
            });
            Ok::<(), LayerError>(())
        };
        for b in 0..n_bins {
            self.fill_bin(b, inputs, &mut s.arrivals, st);
            let bin = Bin {
                layer: self,
                bias,
                inputs,
                weights,
                s: &s.arrivals,
                slot: (b & (s.arrivals.ring.len() / n - 1)) * n,
            };
            let (mut t_now, t1) = (s.arrivals.bounds[b], s.arrivals.bounds[b + 1]);
            // The sums of every neuron's arrivals in the bin not yet in its
            // coordinates (those at or after `since`; all, from `fill_bin`),
            // and a bound on its membrane over the rest of the bin.
            st.since.clear();
            st.since.resize(n, t_now);
            // Neuron `j`'s bound from a time with factors `e^{−t/τ_m}`,
            // `e^{−t/τ_s}` and `1 − e^{−(t_1 − t)/τ_m}`: `i` stays below
            // `max(i, 0)` and the positive weights to come, `v` below the
            // solution driven by that.
            let high_at = |st: &Coords, j: usize, (em, es, rise): (f64, f64, f64)| {
                let i0 = st.gamma[j] * es;
                let v0 = bias[j] + st.alpha[j] * em + kappa * i0;
                let drive = i0.max(0.0) + st.pos[j] + bias[j] - v0;
                v0 + drive.max(0.0) * rise
            };
            let factors_at = |t: f64| {
                let rise = -(-(t1 - t) * inv_m).exp_m1();
                ((-t * inv_m).exp(), (-t * inv_s).exp(), rise)
            };
            let bound = |st: &Coords, j: usize, t: f64| high_at(st, j, factors_at(t));
            let mut any = false;
            let shared = factors_at(t_now);
            for j in 0..n {
                let high = high_at(st, j, shared);
                st.high[j] = high;
                let flag = high + margin >= theta;
                st.flags[j] = flag;
                any |= flag;
            }
            if !any {
                st.add_sums(kappa, 0..n);
                continue;
            }
            if recurrent.is_none() {
                // Each neuron on its own: every spike of a flagged one.
                #[allow(clippy::needless_range_loop)]
                for j in 0..n {
                    if !st.flags[j] {
                        st.add_sums(kappa, j..j + 1);
                        continue;
                    }
                    let mut t = t_now;
                    loop {
                        let x = state(st, j, t);
                        let first = bin.first_crossing(j, x, t, t1, &mut st.local)?;
                        let t_s = first.unwrap_or(f64::INFINITY);
                        st.add(kappa, j, bin.sums(j, t, t_s));
                        if first.is_none() {
                            break;
                        }
                        fire(st, spikes, j, t_s)?;
                        t = t_s;
                    }
                }
                continue;
            }
            // Recurrent: the earliest crossing of the flagged neurons (ties:
            // the lowest) is the layer's next spike. A neuron takes its
            // arrivals into its coordinates only where it is searched (and at
            // the bin's end): a spike changes the others' bounds by its
            // recurrent weights alone.
            loop {
                let mut first: Option<(f64, usize)> = None;
                for j in 0..n {
                    if !st.flags[j] {
                        continue;
                    }
                    st.commit(&bin, kappa, j, t_now);
                    let high = bound(st, j, t_now);
                    st.high[j] = high;
                    if high + margin < theta {
                        st.flags[j] = false;
                        continue;
                    }
                    let horizon = first.map_or(t1, |(t, _)| t.min(t1));
                    let x = state(st, j, t_now);
                    let crossing = bin.first_crossing(j, x, t_now, horizon, &mut st.local)?;
                    if let Some(t_s) = crossing {
                        if first.is_none_or(|(t, _)| t_s < t) {
                            first = Some((t_s, j));
                        }
                    }
                }
                let Some((t_s, j)) = first else {
                    st.add_sums(kappa, 0..n);
                    break;
                };
                st.commit(&bin, kappa, j, t_s);
                fire(st, spikes, j, t_s)?;
                // The spike's recurrent weights; a positive weight `w` at
                // `t_s` raises `v` by less than `w (1 − e^{−(t − t_s)/τ_m})`
                // (the solution driven by `w`), so the bounds stay bounds
                // with that added.
                let (fm, fs) = ((t_s * inv_m).exp(), (t_s * inv_s).exp());
                let rise = -(-(t1 - t_s) * inv_m).exp_m1();
                let column = &s.r_t[j * n..(j + 1) * n];
                for (((alpha, gamma), high), &w) in st
                    .alpha
                    .iter_mut()
                    .zip(st.gamma.iter_mut())
                    .zip(st.high.iter_mut())
                    .zip(column)
                {
                    *gamma += w * fs;
                    *alpha -= kappa * w * fm;
                    *high += w.max(0.0) * rise;
                }
                st.high[j] = bound(st, j, t_s);
                for (flag, &high) in st.flags.iter_mut().zip(&st.high) {
                    *flag = high + margin >= theta;
                }
                t_now = t_s;
            }
        }
        // A feed-forward layer's spikes were found neuron by neuron.
        spikes.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.neuron.cmp(&b.neuron)));
        x_end.clear();
        x_end.extend((0..n).map(|j| state(st, j, t_end)));
        Ok(())
    }

    /// The EventProp adjoint of a run of [`forward`](Self::forward) with
    /// these `bias`, `weights`, `delays`, `recurrent` and `inputs` that gave
    /// `spikes`: adds `dL/db` to `grad_bias`, `dL/dw` to `grad_weights` and
    /// `dL/dd` to `grad_delays` (both `n_out × n_in`), `dL/dw` of the
    /// recurrent synapses to `grad_recurrent` where given (`n_out × n_out`;
    /// zero where the mask leaves a synapse out) and `dL/d(input time)` to
    /// `dl_dinput` (one entry per input), given `dl_dspike` (`dL/dt` of
    /// each spike, in the order of `spikes`) and `dl_dx_end` (`dL/dx(t_end)`
    /// per neuron; zero when `None`). Errors as
    /// [`LifLayer::backward`](crate::lif_layer::LifLayer::backward).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        bias: &[f64],
        weights: &[f64],
        delays: SynapticDelays<'_>,
        recurrent: Option<Recurrent<'_>>,
        inputs: &[(f64, u32)],
        spikes: &[LayerSpike],
        dl_dspike: &[f64],
        dl_dx_end: Option<&[[f64; 2]]>,
        s: &mut DelayedLifScratch,
        grad_bias: &mut [f64],
        grad_weights: &mut [f64],
        grad_delays: &mut [f64],
        grad_recurrent: Option<&mut [f64]>,
        dl_dinput: &mut [f64],
    ) -> Result<(), LayerError> {
        self.check(bias, weights, delays, recurrent, inputs)?;
        let l = &self.layer;
        let (n, n_in, t_end) = (l.n_out, l.n_in, l.t_end);
        l.check_sensitivities(
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
        if grad_delays.len() != n * n_in {
            return Err(SolverError::ShapeMismatch {
                what: "dL/dd (n_out × n_in)",
                expected: n * n_in,
                got: grad_delays.len(),
            }
            .into());
        }
        let lif = l.lif;
        let (theta, v_reset, kappa) = (lif.theta(), lif.v_reset(), self.kappa);
        let (inv_m, inv_s) = (1.0 / lif.tau_mem(), 1.0 / lif.tau_syn());
        self.factors(weights, delays.delays, inputs, &mut s.arrivals);
        let bk = &mut s.back;
        if let Some(r) = recurrent {
            transpose_masked(n, r, &mut s.r_t);
            bk.g_r.clear();
            bk.g_r.resize(n * n, 0.0);
        }
        // The coordinates at `t_end`.
        let (fm_end, fs_end) = ((-t_end * inv_m).exp(), (-t_end * inv_s).exp());
        bk.a.clear();
        bk.c.clear();
        for j in 0..n {
            let [lv, li] = dl_dx_end.map_or([0.0; 2], |d| d[j]);
            bk.a.push(lv * fm_end);
            bk.c.push((li + kappa * lv) * fs_end);
        }
        bk.mu.clear();
        bk.mu.resize(n, 0.0);
        bk.t_hi.clear();
        bk.t_hi.resize(n, t_end);
        bk.after.clear();
        bk.after.resize(spikes.len(), (0.0, 0.0));
        for k in (0..spikes.len()).rev() {
            let spike = spikes[k];
            let (j, t) = (spike.neuron as usize, spike.t);
            let (em, es) = ((t * inv_m).exp(), (t * inv_s).exp());
            let mut dl = dl_dspike[k];
            if recurrent.is_some() {
                // The spike as an input of its column to the layer, after
                // its reset: `dL/dw` is `λ_i⁺`, its time's `dL/dt` the sum.
                let column = &s.r_t[j * n..(j + 1) * n];
                let grads = &mut bk.g_r[j * n..(j + 1) * n];
                let mut r = 0.0;
                for (((&w, g), &a), &c) in column.iter().zip(grads).zip(&bk.a).zip(&bk.c) {
                    let lv = a * em;
                    let li = c * es - kappa * lv;
                    *g += li;
                    r += w * (li * inv_s - lv * inv_m);
                }
                dl += r;
            }
            let drive = spike.current + bias[j];
            let (f_minus, f_plus) = ((drive - theta) * inv_m, (drive - v_reset) * inv_m);
            if !(f_minus > 0.0) {
                return Err(LayerError {
                    neuron: Some(j),
                    source: SolverError::DegenerateSpike { t, slope: f_minus },
                });
            }
            let (a, c) = (bk.a[j], bk.c[j]);
            bk.after[k] = (a, c);
            bk.mu[j] += a * ((bk.t_hi[j] * inv_m).exp() - em);
            bk.t_hi[j] = t;
            // The reset forgets `v`: `λ_v⁻ = (λ_v⁺ f_v⁺ − dL/dt)/f_v⁻`;
            // `λ_i` is continuous.
            let lv_plus = a * em;
            let li = c * es - kappa * lv_plus;
            let lv_minus = (lv_plus * f_plus - dl) / f_minus;
            bk.a[j] = lv_minus / em;
            bk.c[j] = (li + kappa * lv_minus) / es;
        }
        for (j, g) in grad_bias.iter_mut().enumerate() {
            bk.mu[j] += bk.a[j] * ((bk.t_hi[j] * inv_m).exp() - 1.0);
            *g += bk.mu[j];
        }
        // Per neuron its spikes' times and the coordinates after each, in
        // time order: `own_t[own[j]..own[j + 1]]`.
        bk.own.clear();
        bk.own.resize(n + 1, 0);
        for spike in spikes {
            bk.own[spike.neuron as usize + 1] += 1;
        }
        for j in 1..=n {
            bk.own[j] += bk.own[j - 1];
        }
        bk.own_t.resize(spikes.len(), 0.0);
        bk.own_after.resize(spikes.len(), (0.0, 0.0));
        bk.before.clear();
        bk.before.extend_from_slice(&bk.own[..n]);
        for (k, spike) in spikes.iter().enumerate() {
            let slot = &mut bk.before[spike.neuron as usize];
            bk.own_t[*slot] = spike.t;
            bk.own_after[*slot] = bk.after[k];
            *slot += 1;
        }
        // Every arrival, input by input in time order, with the gradients
        // by input channel (`c·n + j`, as the synapses); per neuron, its
        // spikes before the input.
        let ar = &s.arrivals;
        for g in [&mut bk.g_w, &mut bk.g_d] {
            g.clear();
            g.resize(n * n_in, 0.0);
        }
        bk.before.clear();
        bk.before.extend_from_slice(&bk.own[..n]);
        // The time of a neuron's spike `k` of those before `end`; `∞` past
        // them.
        let spike_time = |own_t: &[f64], k: usize, end: usize| {
            if k < end {
                own_t[k]
            } else {
                f64::INFINITY
            }
        };
        bk.next_t.clear();
        bk.next_t
            .extend((0..n).map(|j| spike_time(&bk.own_t, bk.own[j], bk.own[j + 1])));
        refill(&mut bk.cur_a, &bk.a);
        refill(&mut bk.cur_c, &bk.c);
        bk.dl_da.resize(n, 0.0);
        bk.past.resize(n, false);
        for &m in &ar.order {
            let (t, c) = inputs[m as usize];
            if !(t < t_end) {
                break;
            }
            let range = c as usize * n..(c as usize + 1) * n;
            let (g_w, g_d) = (&mut bk.g_w[range.clone()], &mut bk.g_d[range.clone()]);
            let (em_in, es_in) = (ar.in_em[m as usize], ar.in_es[m as usize]);
            let syn = &ar.syn;
            // Every arrival before its neuron's next spike, at once; the
            // others below, neuron by neuron.
            arrival_adjoints(
                (t, em_in, es_in),
                (t_end, kappa, inv_m, inv_s),
                (&syn.d[range.clone()], &syn.w[range.clone()]),
                (&syn.sm[range.clone()], &syn.ss[range.clone()]),
                (&bk.next_t, &bk.cur_a, &bk.cur_c),
                (g_w, g_d),
                (&mut bk.dl_da, &mut bk.past),
            );
            let mut dl_dt = 0.0;
            for j in 0..n {
                if bk.past[j] {
                    let syn = syn.at(range.start + j);
                    let a = t + syn.d;
                    let (start, end) = (bk.own[j], bk.own[j + 1]);
                    let before = &mut bk.before[j];
                    while *before < end && bk.own_t[*before] < t {
                        *before += 1;
                    }
                    // An arrival's stretch: after the neuron's last spike at
                    // or before it (an arrival at a spike's instant comes
                    // after the spike), with that spike's coordinates;
                    // before the first, the coordinates left after the loop.
                    let mut after = *before;
                    while after < end && bk.own_t[after] <= a {
                        after += 1;
                    }
                    let stretch = |k: usize| {
                        if k == start {
                            (bk.a[j], bk.c[j])
                        } else {
                            bk.own_after[k - 1]
                        }
                    };
                    let (ca, cc) = stretch(after);
                    let lv = ca * (em_in * syn.sm);
                    let li = cc * (es_in * syn.ss) - kappa * lv;
                    g_w[j] += li;
                    let dl_da = syn.w * (li * inv_s - lv * inv_m);
                    g_d[j] += dl_da;
                    bk.dl_da[j] = dl_da;
                    // The stretch of the next arrivals before the next spike.
                    bk.next_t[j] = spike_time(&bk.own_t, *before, end);
                    (bk.cur_a[j], bk.cur_c[j]) = stretch(*before);
                }
                dl_dt += bk.dl_da[j];
            }
            dl_dinput[m as usize] += dl_dt;
        }
        for j in 0..n {
            for c in 0..n_in {
                grad_weights[j * n_in + c] += bk.g_w[c * n + j];
                grad_delays[j * n_in + c] += bk.g_d[c * n + j];
            }
        }
        if let (Some(r), Some(grad)) = (recurrent, grad_recurrent) {
            add_recurrent_gradient(n, r, &bk.g_r, grad);
        }
        Ok(())
    }
}

with_wide_vectors! {
/// One input's arrivals in the backward pass, at every neuron: `dL/dw` and
/// `dL/dd` of its synapses (rows of `g_w`, `g_d`) and `dL/da` of each
/// arrival (`dl_da`), from the input's `(t, e^{t/τ_m}, e^{t/τ_s})`, `(t_end,
/// κ, 1/τ_m, 1/τ_s)`, the synapses' delays, weights and factors, and the
/// neurons' next spikes and the coordinates of the stretch before them.
/// An arrival at or after its neuron's next spike adds zero and is marked
/// in `past` (its stretch is another one); one at or after `t_end` adds
/// zero. The gradients start at `+0` and stay off `−0` (and every term is
/// finite), so adding those zeros changes no bit, and the rows are stored
/// whole.
fn arrival_adjoints(
    input: (f64, f64, f64),
    constants: (f64, f64, f64, f64),
    delays_weights: (&[f64], &[f64]),
    factors: (&[f64], &[f64]),
    stretch: (&[f64], &[f64], &[f64]),
    grads: (&mut [f64], &mut [f64]),
    out: (&mut [f64], &mut [bool]),
) {
    let ((t, em_in, es_in), (t_end, kappa, inv_m, inv_s)) = (input, constants);
    let (dl, past) = out;
    let n = dl.len();
    let (d, w) = (&delays_weights.0[..n], &delays_weights.1[..n]);
    let (sm, ss) = (&factors.0[..n], &factors.1[..n]);
    let (next_t, ca, cc) = (&stretch.0[..n], &stretch.1[..n], &stretch.2[..n]);
    let (g_w, g_d, past) = (&mut grads.0[..n], &mut grads.1[..n], &mut past[..n]);
    for j in 0..n {
        let a = t + d[j];
        let arrives = a < t_end;
        let here = if arrives && a < next_t[j] { 1.0 } else { 0.0 };
        // Zero factors for an arrival after `t_end`: its terms are zeros.
        let (fm, fs) = if arrives {
            (em_in * sm[j], es_in * ss[j])
        } else {
            (0.0, 0.0)
        };
        let lv = ca[j] * fm;
        let li = cc[j] * fs - kappa * lv;
        let dl_da = w[j] * (li * inv_s - lv * inv_m);
        g_w[j] += li * here;
        g_d[j] += dl_da * here;
        dl[j] = dl_da * here;
        past[j] = arrives && !(a < next_t[j]);
    }
}
}

/// The current bin's arrivals of a forward pass by neuron, with the
/// layer's parameters.
struct Bin<'a> {
    layer: &'a DelayedLifLayer,
    bias: &'a [f64],
    inputs: &'a [(f64, u32)],
    weights: &'a [f64],
    s: &'a ArrivalScratch,
    /// Where the bin's buckets start in the ring.
    slot: usize,
}

impl Bin<'_> {
    /// Neuron `j`'s arrivals in the bin, in input order, with their
    /// inputs.
    #[inline]
    fn arrivals(&self, j: usize) -> impl Iterator<Item = Arrival> + '_ {
        let (s, n) = (self.s, self.layer.layer.n_out);
        s.ring[self.slot + j].placed.iter().map(move |&m| {
            let (t, c) = self.inputs[m as usize];
            let syn = s.syn.at(c as usize * n + j);
            Arrival {
                a: t + syn.d,
                wm: syn.w * (s.in_em[m as usize] * syn.sm),
                ws: syn.w * (s.in_es[m as usize] * syn.ss),
                w: syn.w,
                m,
            }
        })
    }

    /// Neuron `j`'s arrivals of the bin in `[t_lo, t_hi)`: `Σ w e^{a/τ_m}`,
    /// `Σ w e^{a/τ_s}` and the sum of the positive weights.
    #[inline]
    fn sums(&self, j: usize, t_lo: f64, t_hi: f64) -> (f64, f64, f64) {
        let (mut sum_m, mut sum_s, mut pos) = (0.0, 0.0, 0.0);
        for p in self.arrivals(j) {
            if p.a >= t_lo && p.a < t_hi {
                sum_m += p.wm;
                sum_s += p.ws;
                pos += p.w.max(0.0);
            }
        }
        (sum_m, sum_s, pos)
    }

    /// Neuron `j`'s first spike in `(t0, horizon]` of the bin, from its
    /// state `x` at `t0`, on its arrivals at or after `t0` in time order
    /// (ties by input); `None` where it has none.
    fn first_crossing(
        &self,
        j: usize,
        mut x: [f64; 2],
        mut t0: f64,
        horizon: f64,
        local: &mut Vec<(f64, u32)>,
    ) -> Result<Option<f64>, LayerError> {
        let l = &self.layer.layer;
        let bias = self.bias[j];
        local.clear();
        let pending = self.arrivals(j).filter(|p| p.a >= t0);
        local.extend(pending.map(|p| (p.a, p.m)));
        local.sort_unstable_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
        let row = &self.weights[j * l.n_in..(j + 1) * l.n_in];
        for &(a, m) in local.iter() {
            if a > horizon {
                break;
            }
            if a > t0 {
                match l.crossing(bias, x, t0, a, j)? {
                    Crossing::Spike { t, .. } => return Ok(Some(t)),
                    Crossing::Below(x1) => x = x1,
                }
                t0 = a;
            }
            x[1] += row[self.inputs[m as usize].1 as usize];
        }
        if !(horizon > t0) {
            return Ok(None);
        }
        match l.crossing(bias, x, t0, horizon, j)? {
            Crossing::Spike { t, .. } => Ok(Some(t)),
            Crossing::Below(_) => Ok(None),
        }
    }
}

impl Coords {
    /// Adds the bin's sums of the neurons `range` to their coordinates.
    fn add_sums(&mut self, kappa: f64, range: std::ops::Range<usize>) {
        for j in range {
            self.alpha[j] -= kappa * self.sum_m[j];
            self.gamma[j] += self.sum_s[j];
        }
    }

    /// Takes neuron `j`'s arrivals of the bin in `[since, t)` from its
    /// sums into its coordinates.
    fn commit(&mut self, bin: &Bin<'_>, kappa: f64, j: usize, t: f64) {
        if self.since[j] < t {
            let (sum_m, sum_s, pos) = bin.sums(j, self.since[j], t);
            self.add(kappa, j, (sum_m, sum_s, pos));
            self.sum_m[j] -= sum_m;
            self.sum_s[j] -= sum_s;
            self.pos[j] -= pos;
            self.since[j] = t;
        }
    }

    /// Adds arrivals' sums `(Σ w e^{a/τ_m}, Σ w e^{a/τ_s}, _)` to neuron
    /// `j`'s coordinates.
    fn add(&mut self, kappa: f64, j: usize, (sum_m, sum_s, _): (f64, f64, f64)) {
        self.alpha[j] -= kappa * sum_m;
        self.gamma[j] += sum_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lif_layer::tests::{assert_same_bits_on_every_width, bits, Case};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Everything a forward and a backward pass give, as bits; of a
    /// recurrent layer (without self-connections) where `recurrent`.
    fn passes(seed: u64, recurrent: bool) -> Vec<u64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let case = Case::new(&mut rng);
        let (n_in, n, inputs) = (case.n_in, case.n, &case.inputs);
        // Delays that put many arrivals after their neuron's next spike.
        let delays: Vec<f64> = (0..n * n_in).map(|_| rng.random_range(0.0..8.0)).collect();
        let rec = case.recurrent(recurrent);
        let d = SynapticDelays { delays: &delays };
        let layer = DelayedLifLayer::new(case.lif, n_in, n, case.t_end).unwrap();
        let mut s = DelayedLifScratch::default();
        let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
        let (b, w) = (&case.bias, &case.weights);
        layer
            .forward(b, w, d, rec, inputs, &mut s, &mut spikes, &mut x_end)
            .unwrap();
        let (dl, dx) = case.sensitivities(&mut rng, &spikes);
        let (mut gb, mut gw, mut gd) = (vec![0.0; n], vec![0.0; n * n_in], vec![0.0; n * n_in]);
        let mut gin = vec![0.0; inputs.len()];
        let mut gr = vec![0.0; if recurrent { n * n } else { 0 }];
        let gr_out = recurrent.then_some(&mut gr[..]);
        layer
            .backward(
                b,
                w,
                d,
                rec,
                inputs,
                &spikes,
                &dl,
                Some(&dx),
                &mut s,
                &mut gb,
                &mut gw,
                &mut gd,
                gr_out,
                &mut gin,
            )
            .unwrap();
        let values = x_end.iter().flatten().chain(&gb).chain(&gw).chain(&gd);
        bits(&spikes, values.chain(&gr).chain(&gin))
    }

    /// The backward pass's arrivals give the same bits on every width of
    /// registers: the machine's widest, AVX2 and the baseline;
    /// feed-forward and recurrent.
    #[test]
    fn every_vector_width_gives_the_same_bits() {
        assert_same_bits_on_every_width(passes);
    }
}
