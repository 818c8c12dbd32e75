//! A leaky-integrator readout of the last layer's spikes: non-spiking
//! readout neurons whose largest (or mean) voltage over the run is each
//! class's score (the readouts of EventProp on spoken-word tasks), in
//! closed form, with the exact gradient of a cross-entropy on those scores.

use crate::{Distribution, NetError, NetworkParams, SpikeTrains};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Non-spiking leaky-integrator readout neurons with exponential synapses.
///
/// Readout neuron `k` obeys `τ_m dV/dt = −V + I`, `τ_s dI/dt = −I`, starts
/// at rest, and each spike of neuron `c` of the network's last layer adds
/// the readout weight `w_kc` to its current `I`. Its voltage is then
///
/// `V_k(t) = Σ_s w_{k c_s} κ(t − t_s)`, with
/// `κ(u) = τ_s/(τ_s − τ_m) · (e^{−u/τ_s} − e^{−u/τ_m})` for `u > 0`,
///
/// and its score ([`ReadoutScore`]) is by default the largest voltage over
/// the run, `M_k = max_{0 ≤ t ≤ T} V_k(t)`. Between two spikes the voltage
/// is a sum of two exponentials with at most one turning point, found in
/// closed form, so the maximum is exact to round-off (no time grid): it
/// lies at `t = 0`, at a spike time, at a turning point or at `T`. The
/// other score, [`ReadoutScore::Mean`], is the voltage's mean over the run
/// ([`means`](Self::means)), also in closed form and smooth everywhere.
///
/// The scores are trained with the cross-entropy of their softmax
/// ([`LiReadout::cross_entropy`]). Away from ties, the maximum is a smooth
/// function of the weights and spike times, and its gradient is that of
/// `V_k(t*)` at the maximum's time `t*` held fixed (at a turning point
/// `dV/dt = 0`; at `T` the time is fixed). When the maximum sits at the
/// instant of an input spike (a kink: the spike's weight is negative), the
/// maximum moves with that spike, whose time then has the derivative
/// `dV/dt` just before it.
///
/// # Examples
///
/// ```
/// use evnn_net::{LiReadout, SpikeTrains};
///
/// let readout = LiReadout::new(20.0, 5.0)?;
/// // One readout neuron, one input neuron spiking at t = 1.
/// let spikes = SpikeTrains::from_times(&[1.0])?;
/// let mut maxima = Vec::new();
/// readout.maxima(&[2.0], &spikes, 100.0, &mut maxima)?;
/// // The kernel peaks at u* = ln(τ_m/τ_s) / (1/τ_s − 1/τ_m).
/// let u_star = (20.0f64 / 5.0).ln() / (1.0 / 5.0 - 1.0 / 20.0);
/// assert!((maxima[0].time - (1.0 + u_star)).abs() < 1e-12);
/// assert!((maxima[0].value - 2.0 * readout.kernel(u_star)).abs() < 1e-14);
/// # Ok::<(), evnn_net::NetError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiReadout {
    /// Membrane time constant `τ_m` (finite, `> 0`).
    pub tau_mem: f64,
    /// Synaptic time constant `τ_s` (finite, `> 0`, not within 0.1 % of `τ_m`).
    pub tau_syn: f64,
    /// What each readout neuron's score is (the largest voltage unless
    /// set; absent in a file: the largest voltage).
    #[serde(default)]
    pub score: ReadoutScore,
}

/// What a [`LiReadout`] scores each class by.
///
/// # Examples
///
/// ```
/// use evnn_net::{LiReadout, ReadoutScore};
///
/// let r = LiReadout::new(20.0, 5.0)?.with_score(ReadoutScore::Mean);
/// assert_eq!(r.score, ReadoutScore::Mean);
/// assert_eq!(LiReadout::default().score, ReadoutScore::Max);
/// # Ok::<(), evnn_net::NetError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadoutScore {
    /// The largest voltage over `[0, T]` ([`LiReadout::maxima`]). Its
    /// gradient reaches the spikes before the maximum only, and a readout
    /// neuron that never rises above rest gets none.
    #[default]
    Max,
    /// The voltage's mean over `[0, T]`, `(1/T) ∫_0^T V_k dt`
    /// ([`LiReadout::means`]): every spike before `T` contributes, with a
    /// weight that shrinks as the spike nears `T`.
    Mean,
}

impl Default for LiReadout {
    /// `τ_m = 20`, `τ_s = 5` (ms, the time constants of EventProp's
    /// spoken-word readout), scored by the largest voltage.
    fn default() -> Self {
        LiReadout {
            tau_mem: 20.0,
            tau_syn: 5.0,
            score: ReadoutScore::Max,
        }
    }
}

/// Where a readout neuron's voltage is largest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VoltageMax {
    /// The largest voltage `M_k` (0 when the voltage never rises above rest).
    pub value: f64,
    /// The time of the maximum (the earliest, on ties).
    pub time: f64,
    /// `dV/dt` just before `time` when the maximum sits at the instant of an
    /// input spike (a kink); 0 otherwise.
    pub slope_before: f64,
    /// Whether the maximum sits at the instant of an input spike.
    pub at_input: bool,
}

impl LiReadout {
    /// A readout with time constants `tau_mem` and `tau_syn`.
    ///
    /// # Errors
    ///
    /// [`NetError::InvalidConfig`] naming a time constant that is not finite
    /// and `> 0` (or so small that its inverse overflows), or `tau_syn` within 0.1 % of `tau_mem` (the kernel's
    /// closed form divides by their difference).
    pub fn new(tau_mem: f64, tau_syn: f64) -> Result<Self, NetError> {
        let r = LiReadout {
            tau_mem,
            tau_syn,
            score: ReadoutScore::Max,
        };
        r.validate()?;
        Ok(r)
    }

    /// This readout, scoring by `score`.
    pub fn with_score(self, score: ReadoutScore) -> Self {
        LiReadout { score, ..self }
    }

    /// Checks the time constants (see [`new`](Self::new)).
    pub fn validate(&self) -> Result<(), NetError> {
        for (name, value) in [("tau_mem", self.tau_mem), ("tau_syn", self.tau_syn)] {
            if !(value.is_finite() && value > 0.0 && value.recip().is_finite()) {
                return Err(NetError::InvalidConfig {
                    name,
                    value,
                    reason: "must be finite and > 0, with a finite inverse",
                });
            }
        }
        if (self.tau_syn - self.tau_mem).abs() <= 1e-3 * self.tau_mem {
            return Err(NetError::InvalidConfig {
                name: "tau_syn",
                value: self.tau_syn,
                reason: "must differ from tau_mem by more than 0.1 %",
            });
        }
        Ok(())
    }

    /// `τ_s/(τ_s − τ_m)`, the kernel's amplitude.
    fn amplitude(&self) -> f64 {
        self.tau_syn / (self.tau_syn - self.tau_mem)
    }

    /// The voltage `κ(u)` a unit weight leaves `u` after its spike (0 for
    /// `u <= 0`).
    pub fn kernel(&self, u: f64) -> f64 {
        if u <= 0.0 {
            return 0.0;
        }
        self.amplitude() * ((-u / self.tau_syn).exp() - (-u / self.tau_mem).exp())
    }

    /// `A(x) = ∫_0^x κ(u) du = τ_s/(τ_s − τ_m) · (τ_s (1 − e^{−x/τ_s}) −
    /// τ_m (1 − e^{−x/τ_m}))` for `x >= 0`: the voltage's integral a unit
    /// weight leaves over the `x` after its spike (`τ_s` as `x → ∞`).
    fn kernel_integral(&self, x: f64) -> f64 {
        let s = -self.tau_syn * (-x / self.tau_syn).exp_m1();
        let m = -self.tau_mem * (-x / self.tau_mem).exp_m1();
        self.amplitude() * (s - m)
    }

    /// `κ(u)` and `κ'(u)` for `u > 0`.
    fn kernel_and_slope(&self, u: f64) -> (f64, f64) {
        let (es, em) = ((-u / self.tau_syn).exp(), (-u / self.tau_mem).exp());
        let a = self.amplitude();
        (a * (es - em), a * (em / self.tau_mem - es / self.tau_syn))
    }

    /// Checks readout weights for `n_out` readout neurons reading `spikes`.
    fn check(&self, weights: &[f64], spikes: &SpikeTrains, t_end: f64) -> Result<usize, NetError> {
        self.validate()?;
        let n_in = spikes.n_channels();
        if n_in == 0 {
            return Err(NetError::Shape {
                what: "readout input channels (at least one)",
                expected: 1,
                got: 0,
            });
        }
        if weights.is_empty() || !weights.len().is_multiple_of(n_in) {
            return Err(NetError::Shape {
                what: "readout weights (a positive multiple of the input channels)",
                expected: n_in * (weights.len() / n_in).max(1),
                got: weights.len(),
            });
        }
        if let Some((index, &value)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(NetError::NonFinite {
                what: "readout weight",
                index,
                value,
            });
        }
        if !(t_end.is_finite() && t_end > 0.0) {
            return Err(NetError::InvalidConfig {
                name: "t_end",
                value: t_end,
                reason: "must be finite and > 0",
            });
        }
        Ok(weights.len() / n_in)
    }

    /// The largest voltage of every readout neuron over `[0, t_end]`, into
    /// `out` (one entry per readout neuron). `weights[k * n_in + c]` is the
    /// weight from input neuron `c` (channel `c` of `spikes`) to readout
    /// neuron `k`; spikes after `t_end` do not reach the readout.
    ///
    /// # Errors
    ///
    /// Invalid time constants, no channels or a weight count that is not a
    /// positive multiple of the channel count (`Shape`), a non-finite weight,
    /// a `t_end` that is not finite and `> 0`, a voltage that overflows
    /// (`NonFinite`).
    pub fn maxima(
        &self,
        weights: &[f64],
        spikes: &SpikeTrains,
        t_end: f64,
        out: &mut Vec<VoltageMax>,
    ) -> Result<(), NetError> {
        let n_out = self.check(weights, spikes, t_end)?;
        self.maxima_checked(weights, n_out, spikes, t_end, out)
    }

    /// [`maxima`](Self::maxima) for checked arguments; a voltage that
    /// overflows (weights of the order of `f64::MAX`) is an error.
    pub(crate) fn maxima_checked(
        &self,
        weights: &[f64],
        n_out: usize,
        spikes: &SpikeTrains,
        t_end: f64,
        out: &mut Vec<VoltageMax>,
    ) -> Result<(), NetError> {
        let n_in = spikes.n_channels();
        let rest = VoltageMax {
            value: 0.0,
            time: 0.0,
            slope_before: 0.0,
            at_input: false,
        };
        out.clear();
        out.resize(n_out, rest);
        // Every spike before `t_end`, in time order (channel order on ties,
        // so the current's sums do not depend on anything else).
        let mut events: Vec<(f64, usize)> = (0..n_in)
            .flat_map(|c| spikes.channel(c).iter().map(move |&t| (t, c)))
            .filter(|&(t, _)| t < t_end)
            .collect();
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut state = vec![(0.0f64, 0.0f64); n_out];
        let mut now = 0.0;
        let mut e = 0;
        loop {
            let next = events.get(e).map_or(t_end, |&(t, _)| t);
            if next > now {
                self.advance(&mut state, out, now, next);
                now = next;
                let at_input = e < events.len();
                for ((v, i), best) in state.iter().zip(out.iter_mut()) {
                    if *v > best.value {
                        *best = VoltageMax {
                            value: *v,
                            time: now,
                            slope_before: if at_input {
                                (i - v) / self.tau_mem
                            } else {
                                0.0
                            },
                            at_input,
                        };
                    }
                }
            }
            if e == events.len() {
                break;
            }
            while let Some(&(t, c)) = events.get(e) {
                if t != now {
                    break;
                }
                for (k, (_, i)) in state.iter_mut().enumerate() {
                    *i += weights[k * n_in + c];
                }
                e += 1;
            }
        }
        let overflow = state
            .iter()
            .zip(out.iter())
            .enumerate()
            .find(|(_, ((v, i), m))| {
                !(v.is_finite()
                    && i.is_finite()
                    && m.value.is_finite()
                    && m.slope_before.is_finite())
            });
        if let Some((index, ((v, _), m))) = overflow {
            return Err(NetError::NonFinite {
                what: "readout voltage",
                index,
                value: if m.value.is_finite() { *v } else { m.value },
            });
        }
        Ok(())
    }

    /// Moves every readout neuron's `(V, I)` from `from` to `to` with no
    /// spike between, recording a turning point that is a larger maximum.
    fn advance(&self, state: &mut [(f64, f64)], out: &mut [VoltageMax], from: f64, to: f64) {
        let len = to - from;
        let (dm, ds) = ((-len / self.tau_mem).exp(), (-len / self.tau_syn).exp());
        let amp = self.amplitude();
        let rate = 1.0 / self.tau_syn - 1.0 / self.tau_mem;
        for ((v, i), best) in state.iter_mut().zip(out.iter_mut()) {
            // V(u) = a e^{−u/τ_m} + b e^{−u/τ_s}; dV/du = (I − V)/τ_m.
            let (a, b) = (*v - amp * *i, amp * *i);
            let (v_end, i_end) = (a * dm + b * ds, *i * ds);
            // One turning point at most, where `a e^{−u/τ_m}/τ_m =
            // −b e^{−u/τ_s}/τ_s`. Where the voltage rises after `from`, the
            // slope changes sign there from + to −: a maximum, if it lies
            // inside. Its time from the logarithms of the two sides (their
            // ratio can overflow or underflow over a long interval).
            if *i > *v && a != 0.0 && b != 0.0 && (a > 0.0) == (b < 0.0) {
                let u = ((b / self.tau_syn).abs().ln() - (a / self.tau_mem).abs().ln()) / rate;
                if u > 0.0 && u < len {
                    let peak = a * (-u / self.tau_mem).exp() + b * (-u / self.tau_syn).exp();
                    if peak > best.value {
                        *best = VoltageMax {
                            value: peak,
                            time: from + u,
                            slope_before: 0.0,
                            at_input: false,
                        };
                    }
                }
            }
            *v = v_end;
            *i = i_end;
        }
    }

    /// The backward pass of the maxima: given `dl_dmax[k] = ∂L/∂M_k` for the
    /// `maxima` of [`maxima`](Self::maxima) (same weights and spikes), adds
    /// `∂L/∂w_kc` to `dl_dw` (the layout of the weights) and `∂L/∂t_s` to
    /// `dl_dt`, one entry per spike in the flat order of `spikes`.
    ///
    /// # Errors
    ///
    /// Those of [`maxima`](Self::maxima), buffers whose lengths do not fit
    /// (`Shape`), a non-finite `dL/dM` or result (`NonFinite`; the sums are
    /// added to what the buffers held).
    pub fn backward(
        &self,
        weights: &[f64],
        spikes: &SpikeTrains,
        maxima: &[VoltageMax],
        dl_dmax: &[f64],
        dl_dw: &mut [f64],
        dl_dt: &mut [f64],
    ) -> Result<(), NetError> {
        let n_out = self.check(weights, spikes, f64::MAX)?;
        if maxima.len() != n_out {
            return Err(NetError::Shape {
                what: "readout maxima (one per readout neuron)",
                expected: n_out,
                got: maxima.len(),
            });
        }
        let names = ("dL/dM", "dL/dM (one per readout neuron)");
        check_backward_buffers(names, n_out, weights, spikes, dl_dmax, dl_dw, dl_dt)?;
        self.backward_checked(weights, spikes, maxima, dl_dmax, dl_dw, dl_dt);
        check_backward_results(dl_dw, dl_dt)
    }

    /// [`backward`](Self::backward) for checked arguments.
    pub(crate) fn backward_checked(
        &self,
        weights: &[f64],
        spikes: &SpikeTrains,
        maxima: &[VoltageMax],
        dl_dmax: &[f64],
        dl_dw: &mut [f64],
        dl_dt: &mut [f64],
    ) {
        let n_in = spikes.n_channels();
        for (k, (m, &g)) in maxima.iter().zip(dl_dmax).enumerate() {
            if g == 0.0 {
                continue;
            }
            for c in 0..n_in {
                let w = weights[k * n_in + c];
                let offset = spikes.offset(c);
                let mut dw = 0.0;
                for (s, &t) in spikes.channel(c).iter().enumerate() {
                    if t < m.time {
                        let (kappa, slope) = self.kernel_and_slope(m.time - t);
                        dw += kappa;
                        dl_dt[offset + s] -= g * w * slope;
                    } else if t == m.time {
                        if m.at_input {
                            // The maximum moves with the spike that makes it.
                            dl_dt[offset + s] += g * m.slope_before;
                        }
                    } else {
                        break;
                    }
                }
                dl_dw[k * n_in + c] += g * dw;
            }
        }
    }

    /// The mean voltage of every readout neuron over `[0, t_end]`,
    /// `S_k = (1/T) ∫_0^T V_k dt = (1/T) Σ_{t_s < T} w_{k c_s} A(T − t_s)`
    /// with `A` the kernel's integral, into `out` (one entry per readout
    /// neuron; the layout of the weights and what reaches the readout as in
    /// [`maxima`](Self::maxima)). The [`ReadoutScore::Mean`] score.
    ///
    /// # Errors
    ///
    /// Those of [`maxima`](Self::maxima).
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{LiReadout, SpikeTrains};
    ///
    /// let r = LiReadout::new(20.0, 5.0)?;
    /// // A spike long before the end leaves its whole integral, w·τ_s.
    /// let spikes = SpikeTrains::from_times(&[0.0])?;
    /// let mut means = Vec::new();
    /// r.means(&[2.0], &spikes, 2000.0, &mut means)?;
    /// assert!((means[0] - 2.0 * 5.0 / 2000.0).abs() < 1e-15);
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn means(
        &self,
        weights: &[f64],
        spikes: &SpikeTrains,
        t_end: f64,
        out: &mut Vec<f64>,
    ) -> Result<(), NetError> {
        let n_out = self.check(weights, spikes, t_end)?;
        self.means_checked(weights, n_out, spikes, t_end, out)
    }

    /// [`means`](Self::means) for checked arguments; a mean that overflows
    /// is an error.
    pub(crate) fn means_checked(
        &self,
        weights: &[f64],
        n_out: usize,
        spikes: &SpikeTrains,
        t_end: f64,
        out: &mut Vec<f64>,
    ) -> Result<(), NetError> {
        let n_in = spikes.n_channels();
        out.clear();
        out.resize(n_out, 0.0);
        for c in 0..n_in {
            // Every spike of channel `c` before `t_end`, in time order; the
            // sum divided by `T` before the weights multiply it, so that
            // only a mean beyond the range overflows.
            let a: f64 = (spikes.channel(c).iter())
                .take_while(|&&t| t < t_end)
                .map(|&t| self.kernel_integral(t_end - t))
                .sum::<f64>()
                / t_end;
            if a == 0.0 {
                continue;
            }
            for (k, s) in out.iter_mut().enumerate() {
                *s += weights[k * n_in + c] * a;
            }
        }
        if let Some((index, &value)) = out.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(NetError::NonFinite {
                what: "readout mean voltage",
                index,
                value,
            });
        }
        Ok(())
    }

    /// The backward pass of the means: given `dl_dmean[k] = ∂L/∂S_k` for
    /// the [`means`](Self::means) over `[0, t_end]` (same weights and
    /// spikes), adds `∂L/∂w_kc = ∂L/∂S_k · (1/T) Σ_{s of c} A(T − t_s)` to
    /// `dl_dw` and `∂L/∂t_s = −(1/T) Σ_k ∂L/∂S_k · w_{k c_s} κ(T − t_s)` to
    /// `dl_dt` (one entry per spike in the flat order of `spikes`; a spike
    /// at or after `t_end` gets nothing).
    ///
    /// # Errors
    ///
    /// Those of [`backward`](Self::backward), with `dl_dmean` (`dL/dS` in
    /// the errors) in place of `dl_dmax`.
    pub fn means_backward(
        &self,
        weights: &[f64],
        spikes: &SpikeTrains,
        t_end: f64,
        dl_dmean: &[f64],
        dl_dw: &mut [f64],
        dl_dt: &mut [f64],
    ) -> Result<(), NetError> {
        let n_out = self.check(weights, spikes, t_end)?;
        let names = ("dL/dS", "dL/dS (one per readout neuron)");
        check_backward_buffers(names, n_out, weights, spikes, dl_dmean, dl_dw, dl_dt)?;
        self.means_backward_checked(weights, spikes, t_end, dl_dmean, dl_dw, dl_dt);
        check_backward_results(dl_dw, dl_dt)
    }

    /// [`means_backward`](Self::means_backward) for checked arguments.
    pub(crate) fn means_backward_checked(
        &self,
        weights: &[f64],
        spikes: &SpikeTrains,
        t_end: f64,
        dl_dmean: &[f64],
        dl_dw: &mut [f64],
        dl_dt: &mut [f64],
    ) {
        let n_in = spikes.n_channels();
        for c in 0..n_in {
            let offset = spikes.offset(c);
            // `Σ_k ∂L/∂S_k · w_kc`: what a spike of channel `c` moves.
            let g: f64 = (dl_dmean.iter().enumerate())
                .map(|(k, d)| d * weights[k * n_in + c])
                .sum();
            let mut a = 0.0;
            for (s, &t) in spikes.channel(c).iter().enumerate() {
                if t >= t_end {
                    break;
                }
                let (kappa, _) = self.kernel_and_slope(t_end - t);
                a += self.kernel_integral(t_end - t);
                dl_dt[offset + s] -= g * kappa / t_end;
            }
            for (k, d) in dl_dmean.iter().enumerate() {
                dl_dw[k * n_in + c] += d * a / t_end;
            }
        }
    }

    /// The cross-entropy of the softmax of `scores` against `label`,
    /// `L = log Σ_k e^{M_k} − M_label`, with `∂L/∂M_k` written to `dl`.
    ///
    /// # Errors
    ///
    /// A label that is not a readout neuron, a `dl` of another length
    /// (`Shape`), a non-finite score.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::LiReadout;
    ///
    /// let mut dl = [0.0; 2];
    /// let l = LiReadout::cross_entropy(&[1.0, 1.0], 0, &mut dl)?;
    /// assert!((l - 2f64.ln()).abs() < 1e-15);
    /// assert_eq!(dl, [-0.5, 0.5]);
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn cross_entropy(scores: &[f64], label: usize, dl: &mut [f64]) -> Result<f64, NetError> {
        if label >= scores.len() {
            return Err(NetError::InvalidLabel {
                label,
                n_classes: scores.len(),
            });
        }
        if dl.len() != scores.len() {
            return Err(NetError::Shape {
                what: "dL/dM (one per readout neuron)",
                expected: scores.len(),
                got: dl.len(),
            });
        }
        if let Some((index, &value)) = scores.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(NetError::NonFinite {
                what: "readout score",
                index,
                value,
            });
        }
        let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for (d, &m) in dl.iter_mut().zip(scores) {
            *d = (m - top).exp();
            sum += *d;
        }
        for d in dl.iter_mut() {
            *d /= sum;
        }
        dl[label] -= 1.0;
        Ok(top + sum.ln() - scores[label])
    }
}

/// The buffers of a readout's backward pass: `dl_dscore` one entry per
/// readout neuron (finite), `dl_dw` one per weight, `dl_dt` one per spike.
/// `names`: the score's gradient in errors, alone and with its length.
fn check_backward_buffers(
    names: (&'static str, &'static str),
    n_out: usize,
    weights: &[f64],
    spikes: &SpikeTrains,
    dl_dscore: &[f64],
    dl_dw: &[f64],
    dl_dt: &[f64],
) -> Result<(), NetError> {
    for (what, expected, got) in [
        (names.1, n_out, dl_dscore.len()),
        ("dL/dw (one per readout weight)", weights.len(), dl_dw.len()),
        (
            "dL/dt (one per input spike)",
            spikes.n_spikes(),
            dl_dt.len(),
        ),
    ] {
        if expected != got {
            return Err(NetError::Shape {
                what,
                expected,
                got,
            });
        }
    }
    if let Some((index, &value)) = dl_dscore.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(NetError::NonFinite {
            what: names.0,
            index,
            value,
        });
    }
    Ok(())
}

/// A backward pass's sums are finite.
fn check_backward_results(dl_dw: &[f64], dl_dt: &[f64]) -> Result<(), NetError> {
    let bad = (dl_dw.iter().enumerate().map(|(k, v)| ("dL/dw", k, *v)))
        .chain(dl_dt.iter().enumerate().map(|(k, v)| ("dL/dt", k, *v)))
        .find(|(_, _, v)| !v.is_finite());
    if let Some((what, index, value)) = bad {
        return Err(NetError::NonFinite { what, index, value });
    }
    Ok(())
}

/// The class a readout predicts: the readout neuron with the largest score;
/// `None` when several share it (readout neurons that never rise above rest
/// all score 0) or there are none.
///
/// # Examples
///
/// ```
/// use evnn_net::predict_scores;
///
/// assert_eq!(predict_scores(&[0.2, 1.5, 0.7]), Some(1));
/// assert_eq!(predict_scores(&[0.0, 0.0]), None);
/// ```
pub fn predict_scores(scores: &[f64]) -> Option<usize> {
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut at_top = scores.iter().enumerate().filter(|(_, &m)| m == top);
    match (at_top.next(), at_top.next()) {
        (Some((k, _)), None) => Some(k),
        _ => None,
    }
}

/// A network's parameters with the weights of a [`LiReadout`] on its last
/// layer: what a readout-trained model learns. The trainer sees the
/// network's parameters first ([`NetworkParams::to_flat`]), then the
/// readout weights.
///
/// # Examples
///
/// ```
/// use evnn_net::{Distribution, FeedForward, InitConfig, ReadoutParams};
/// use evnn_neurons::Lif;
/// use evnn_optim::Parameters;
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let net = FeedForward::new(Lif::default(), &[4, 6], ClosedForm, SolverOptions::default(), 30.0)?;
/// let network = net.init_params(&InitConfig::default(), 0)?;
/// let w = Distribution::Normal { mean: 0.0, std: 0.5 };
/// let params = ReadoutParams::init(network, 3, &w, 0)?;
/// assert_eq!((params.n_in, params.n_out), (6, 3));
/// assert_eq!(params.to_flat().len(), params.network.len() + 18);
/// # Ok::<(), evnn_net::NetError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutParams {
    /// The spiking network's parameters.
    pub network: NetworkParams,
    /// Neurons of the network's last layer (the readout's inputs).
    pub n_in: usize,
    /// Readout neurons (classes).
    pub n_out: usize,
    /// `weights[k * n_in + c]`: from last-layer neuron `c` to readout
    /// neuron `k`.
    pub weights: Vec<f64>,
}

impl ReadoutParams {
    /// `network` with `n_out` readout neurons whose weights are drawn from
    /// `weights` (a generator stream of its own, seeded by `seed`).
    ///
    /// A readout neuron whose voltage never rises above rest scores 0 with
    /// no gradient (its maximum is the resting value at `t = 0`): draw the
    /// weights with a positive mean (e.g. `N(0.5, 1)`) so that every
    /// readout neuron starts out responding to the network's spikes. For the
    /// same reason, all-zero readout weights never train.
    ///
    /// # Errors
    ///
    /// A network without layers, `n_out == 0`, a weight count that does not
    /// fit in a `usize` (`TooLarge`), an invalid distribution.
    pub fn init(
        network: NetworkParams,
        n_out: usize,
        weights: &Distribution,
        seed: u64,
    ) -> Result<Self, NetError> {
        weights.validate()?;
        let n_in = last_layer_size(&network)?;
        let len = n_in.checked_mul(n_out).ok_or(NetError::TooLarge {
            what: "readout weights",
            rows: n_out,
            cols: n_in,
        })?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        let weights = (0..len).map(|_| weights.sample(&mut rng)).collect();
        ReadoutParams::new(network, n_out, weights)
    }

    /// `network` with `n_out` readout neurons of the given weights.
    ///
    /// # Errors
    ///
    /// A network without layers, `n_out == 0`, a weight count other than
    /// `n_out × (last layer size)` (`Shape`), a non-finite weight.
    pub fn new(network: NetworkParams, n_out: usize, weights: Vec<f64>) -> Result<Self, NetError> {
        let n_in = last_layer_size(&network)?;
        if n_out == 0 {
            return Err(NetError::Shape {
                what: "readout neurons (at least one)",
                expected: 1,
                got: 0,
            });
        }
        let p = ReadoutParams {
            network,
            n_in,
            n_out,
            weights,
        };
        p.check_readout()?;
        Ok(p)
    }

    /// Checks the readout part: its input count is the network's last
    /// layer's size, the weights fit `n_out × n_in` and are finite.
    pub fn check_readout(&self) -> Result<(), NetError> {
        let n_in = last_layer_size(&self.network)?;
        if self.n_in != n_in {
            return Err(NetError::Shape {
                what: "readout inputs (the network's last layer size)",
                expected: n_in,
                got: self.n_in,
            });
        }
        let expected = self
            .n_in
            .checked_mul(self.n_out)
            .ok_or(NetError::TooLarge {
                what: "readout weights",
                rows: self.n_out,
                cols: self.n_in,
            })?;
        if self.n_out == 0 || self.weights.len() != expected {
            return Err(NetError::Shape {
                what: "readout weights (readout neurons × last layer size)",
                expected: expected.max(self.n_in),
                got: self.weights.len(),
            });
        }
        if let Some((index, &value)) = self
            .weights
            .iter()
            .enumerate()
            .find(|(_, w)| !w.is_finite())
        {
            return Err(NetError::NonFinite {
                what: "readout weight",
                index,
                value,
            });
        }
        Ok(())
    }

    /// Total number of scalars (network and readout).
    pub fn len(&self) -> usize {
        self.network.len() + self.weights.len()
    }

    /// `true` when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same shape, all zeros.
    pub fn zeros_like(&self) -> Self {
        ReadoutParams {
            network: self.network.zeros_like(),
            n_in: self.n_in,
            n_out: self.n_out,
            weights: vec![0.0; self.weights.len()],
        }
    }

    /// Adds `other` entry by entry; a different shape is an error and adds
    /// nothing.
    pub fn add_assign(&mut self, other: &ReadoutParams) -> Result<(), NetError> {
        for (what, expected, got) in [
            ("readout inputs", self.n_in, other.n_in),
            ("readout neurons", self.n_out, other.n_out),
            ("readout weights", self.weights.len(), other.weights.len()),
        ] {
            if expected != got {
                return Err(NetError::Shape {
                    what,
                    expected,
                    got,
                });
            }
        }
        self.network.add_assign(&other.network)?;
        for (a, b) in self.weights.iter_mut().zip(&other.weights) {
            *a += b;
        }
        Ok(())
    }
}

/// The size of the network's last layer.
fn last_layer_size(network: &NetworkParams) -> Result<usize, NetError> {
    network
        .layers
        .last()
        .map(|l| l.n_out)
        .ok_or(NetError::Shape {
            what: "network layers (at least one)",
            expected: 1,
            got: 0,
        })
}

impl evnn_optim::Parameters for ReadoutParams {
    fn to_flat(&self) -> Vec<f64> {
        let mut flat = self.network.to_flat();
        flat.extend_from_slice(&self.weights);
        flat
    }

    fn set_flat(&mut self, flat: &[f64]) -> Result<(), evnn_optim::OptimError> {
        let n = self.network.len();
        if flat.len() != self.len() {
            return Err(evnn_optim::OptimError::ShapeMismatch {
                what: "params",
                expected: self.len(),
                got: flat.len(),
            });
        }
        evnn_optim::Parameters::set_flat(&mut self.network, &flat[..n])?;
        self.weights.copy_from_slice(&flat[n..]);
        Ok(())
    }

    fn project(&self, flat: &mut [f64]) {
        let n = self.network.len().min(flat.len());
        self.network.project_flat(&mut flat[..n]);
    }
}
