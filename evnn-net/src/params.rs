//! Network parameters, apart from the machinery that uses them.

use crate::NetError;
use evnn_neurons::{NeuronModel, StateVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Learnable parameters of one layer: the weight matrix `n_out × n_in`
/// (row-major: `weights[j * n_in + i]` connects input `i` to neuron `j`),
/// the neurons' own parameters (`n_out × P`, row-major; for LIF and QIF
/// `P = 1`, the bias) and, optionally, transmission delays: a spike of
/// input `i` at `t` arrives at neuron `j` at `(t + a_i) + d_ij`, with the
/// axonal delay `a_i = axonal_delays[i]` and the synaptic delay
/// `d_ij = synaptic_delays[j * n_in + i]` (an absent buffer counts as
/// zeros; arrivals at or after `t_end` are dropped; `docs/design.md`
/// §4.5). Delays must be finite and `>= 0`.
///
/// A recurrent layer also has connections among its own neurons:
/// `recurrent_weights[j * n_out + i]` connects neuron `i` to neuron `j`
/// (`n_out × n_out`, row-major; the diagonal holds self-connections). A
/// spike of neuron `i` reaches neuron `j` at its own time. An optional
/// mask (`recurrent_mask`, the same layout) says which of these synapses
/// exist; an absent one carries nothing and its weight stays 0 (training
/// projects it there). Without a mask every synapse exists.
///
/// A model whose synapses carry `K > 1` weights
/// ([`NeuronModel::WEIGHTS_PER_SYNAPSE`], EGRU's three) has `n_out × n_in
/// × K` weights, a synapse's `K` side by side: weight `k` from input `i`
/// to neuron `j` is `weights[(j * n_in + i) * K + k]`. With `K = 1` this
/// is the matrix above.
///
/// The same type holds gradients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerParams {
    /// Number of inputs.
    pub n_in: usize,
    /// Number of neurons.
    pub n_out: usize,
    /// Weights, `n_out × n_in` row-major (`n_out × n_in × K` for `K`
    /// weights per synapse).
    pub weights: Vec<f64>,
    /// Per-neuron parameters, `n_out × P` row-major.
    pub neuron_params: Vec<f64>,
    /// Synaptic delays `d_ij`, `n_out × n_in` row-major as the weights;
    /// `None`: no synaptic delays (and nothing in files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synaptic_delays: Option<Vec<f64>>,
    /// Axonal delays `a_i`, one per input (`n_in`); `None`: no axonal
    /// delays (and nothing in files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axonal_delays: Option<Vec<f64>>,
    /// Recurrent weights, `n_out × n_out` row-major (`[j * n_out + i]`:
    /// neuron `i` to neuron `j`); `None`: a feed-forward layer (and
    /// nothing in files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent_weights: Option<Vec<f64>>,
    /// Which recurrent synapses exist, in the layout of
    /// `recurrent_weights`; `None`: all of them. Not learnable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent_mask: Option<Vec<bool>>,
}

impl LayerParams {
    /// All zeros; an error when `n_in × n_out` or `n_out × n_params` does
    /// not fit in a `usize`.
    pub fn zeros(n_in: usize, n_out: usize, n_params: usize) -> Result<Self, NetError> {
        Self::zeros_with_synapses(n_in, n_out, 1, n_params)
    }

    /// All zeros, with `weights_per_synapse` weights per synapse
    /// (`n_out × n_in × K`); an error when a buffer's length does not fit
    /// in a `usize`.
    pub fn zeros_with_synapses(
        n_in: usize,
        n_out: usize,
        weights_per_synapse: usize,
        n_params: usize,
    ) -> Result<Self, NetError> {
        let what = "weights (n_out × n_in × K)";
        let weights =
            buffer_len(what, n_out, n_in).and_then(|n| buffer_len(what, n, weights_per_synapse))?;
        Ok(LayerParams {
            n_in,
            n_out,
            weights: vec![0.0; weights],
            neuron_params: vec![
                0.0;
                buffer_len("neuron parameters (n_out × P)", n_out, n_params)?
            ],
            synaptic_delays: None,
            axonal_delays: None,
            recurrent_weights: None,
            recurrent_mask: None,
        })
    }

    /// `true` when the layer has recurrent connections.
    pub fn is_recurrent(&self) -> bool {
        self.recurrent_weights.is_some()
    }

    /// `true` when the recurrent synapse from neuron `i` to neuron `j`
    /// exists (a recurrent layer without a mask has all of them).
    pub fn has_recurrent_synapse(&self, j: usize, i: usize) -> bool {
        match (&self.recurrent_weights, &self.recurrent_mask) {
            (None, _) => false,
            (Some(_), None) => j < self.n_out && i < self.n_out,
            (Some(_), Some(m)) => {
                j < self.n_out && i < self.n_out && m.get(j * self.n_out + i) == Some(&true)
            }
        }
    }

    /// `true` when the layer has synaptic or axonal delays.
    pub fn has_delays(&self) -> bool {
        self.synaptic_delays.is_some() || self.axonal_delays.is_some()
    }

    /// Number of delay values (synaptic and axonal).
    pub fn delays_len(&self) -> usize {
        self.synaptic_delays.as_ref().map_or(0, Vec::len)
            + self.axonal_delays.as_ref().map_or(0, Vec::len)
    }

    /// Number of values in the optional buffers: delays and recurrent
    /// weights.
    pub(crate) fn optional_len(&self) -> usize {
        self.delays_len() + self.recurrent_weights.as_ref().map_or(0, Vec::len)
    }

    /// The optional buffers present: synaptic delays, axonal delays,
    /// recurrent weights (the order of [`NetworkParams::to_flat`]).
    fn optional_buffers(&self) -> impl Iterator<Item = &Vec<f64>> {
        self.synaptic_delays
            .iter()
            .chain(self.axonal_delays.iter())
            .chain(self.recurrent_weights.iter())
    }

    /// The optional buffers present, mutable, in the order of
    /// [`optional_buffers`](Self::optional_buffers).
    fn optional_buffers_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.synaptic_delays
            .iter_mut()
            .chain(self.axonal_delays.iter_mut())
            .chain(self.recurrent_weights.iter_mut())
    }

    /// Delay of the path from input `i` to neuron `j`, `a_i + d_ij` (0
    /// without delays); `None` out of range or where a buffer is too short.
    pub fn delay(&self, j: usize, i: usize) -> Option<f64> {
        if j >= self.n_out || i >= self.n_in {
            return None;
        }
        let a = match &self.axonal_delays {
            Some(a) => *a.get(i)?,
            None => 0.0,
        };
        let d = match &self.synaptic_delays {
            Some(d) => *d.get(j.checked_mul(self.n_in)?.checked_add(i)?)?,
            None => 0.0,
        };
        Some(a + d)
    }

    /// Weight from input `i` to neuron `j` (the first of the synapse's
    /// [`weights_per_synapse`](Self::weights_per_synapse)); `None` when
    /// `j >= n_out`, `i >= n_in` or the weight buffer is too short.
    pub fn weight(&self, j: usize, i: usize) -> Option<f64> {
        if j >= self.n_out || i >= self.n_in {
            return None;
        }
        let k_w = self.weights_per_synapse();
        self.weights
            .get(j.checked_mul(self.n_in)?.checked_add(i)?.checked_mul(k_w)?)
            .copied()
    }

    /// The number of weights per synapse the weight buffer holds: its
    /// length over `n_out × n_in` (at least 1).
    pub fn weights_per_synapse(&self) -> usize {
        let synapses = self.n_out.saturating_mul(self.n_in).max(1);
        (self.weights.len() / synapses).max(1)
    }

    /// Checks that the buffers have the lengths `n_in`, `n_out`, `K`
    /// weights per synapse and `P` parameters per neuron give them.
    fn check_buffers(&self, n_params_per_neuron: usize, k_w: usize) -> Result<(), NetError> {
        let what = if k_w == 1 {
            "weights (n_out × n_in)"
        } else {
            "weights (n_out × n_in × K)"
        };
        let weights =
            buffer_len(what, self.n_out, self.n_in).and_then(|n| buffer_len(what, n, k_w))?;
        if self.weights.len() != weights {
            return Err(NetError::Shape {
                what,
                expected: weights,
                got: self.weights.len(),
            });
        }
        let what = "neuron parameters (n_out × P)";
        let neuron_params = buffer_len(what, self.n_out, n_params_per_neuron)?;
        if self.neuron_params.len() != neuron_params {
            return Err(NetError::Shape {
                what,
                expected: neuron_params,
                got: self.neuron_params.len(),
            });
        }
        if k_w > 1 && self.has_delays() {
            return Err(NetError::InvalidConfig {
                name: "weights per synapse (with delays)",
                value: k_w as f64,
                reason: "transmission delays need one weight per synapse",
            });
        }
        if self.recurrent_mask.is_some() && self.recurrent_weights.is_none() {
            return Err(NetError::InvalidConfig {
                name: "recurrent mask (without recurrent weights)",
                value: self.n_out as f64,
                reason: "a mask needs the recurrent weights it masks",
            });
        }
        if k_w > 1 && self.is_recurrent() {
            return Err(NetError::InvalidConfig {
                name: "weights per synapse (with recurrent connections)",
                value: k_w as f64,
                reason: "recurrent layers need one weight per synapse",
            });
        }
        let square = buffer_len("recurrent weights (n_out × n_out)", self.n_out, self.n_out)?;
        if let Some(w) = &self.recurrent_weights {
            if w.len() != square {
                return Err(NetError::Shape {
                    what: "recurrent weights (n_out × n_out)",
                    expected: square,
                    got: w.len(),
                });
            }
        }
        if let Some(m) = &self.recurrent_mask {
            if m.len() != square {
                return Err(NetError::Shape {
                    what: "recurrent mask (n_out × n_out)",
                    expected: square,
                    got: m.len(),
                });
            }
        }
        let synapses = buffer_len("synaptic delays (n_out × n_in)", self.n_out, self.n_in)?;
        for (what, buffer, expected) in [
            (
                "synaptic delays (n_out × n_in)",
                &self.synaptic_delays,
                synapses,
            ),
            ("axonal delays (n_in)", &self.axonal_delays, self.n_in),
        ] {
            if let Some(b) = buffer {
                if b.len() != expected {
                    return Err(NetError::Shape {
                        what,
                        expected,
                        got: b.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// `rows × cols`, or an error naming `what` when it overflows.
fn buffer_len(what: &'static str, rows: usize, cols: usize) -> Result<usize, NetError> {
    rows.checked_mul(cols)
        .ok_or(NetError::TooLarge { what, rows, cols })
}

/// Parameters of a feed-forward network, layer by layer (first hidden layer
/// first). Also used for gradients.
///
/// # Examples
///
/// ```
/// use evnn_net::{InitConfig, NetworkParams};
/// use evnn_neurons::Qif;
///
/// let p = NetworkParams::init::<Qif>(&[5, 20, 3], &InitConfig::default(), 42).unwrap();
/// assert_eq!(p.layers[0].weights.len(), 20 * 5);
/// assert_eq!(p.len(), 20 * 5 + 20 + 3 * 20 + 3);
/// let flat = p.to_flat();
/// let mut q = p.zeros_like();
/// q.set_flat(&flat).unwrap();
/// assert_eq!(p, q);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkParams {
    /// One entry per layer.
    pub layers: Vec<LayerParams>,
}

/// How initial weights are scaled by a layer's fan-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FanInScaling {
    /// No scaling (eventax's Yin–Yang example).
    #[default]
    None,
    /// Divide the sampled weights by `n_in`.
    Linear,
    /// Divide the sampled weights by `√n_in`.
    Sqrt,
}

/// Parameter initialisation as eventax: `w ~ U(wmean − wlim/2, wmean +
/// wlim/2)`, `b ~ U(bmean − blim/2, bmean + blim/2)`, weights optionally
/// scaled by the fan-in. Defaults are the Yin–Yang experiment's
/// (`docs/design.md §7`): `wmean = 20`, `wlim = 40`, `bmean = 0`, `blim = 1`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitConfig {
    /// Centre of the weight distribution.
    pub wmean: f64,
    /// Width of the weight distribution.
    pub wlim: f64,
    /// Centre of the bias distribution.
    pub bmean: f64,
    /// Width of the bias distribution.
    pub blim: f64,
    /// Fan-in scaling of the weights.
    pub fan_in: FanInScaling,
}

impl Default for InitConfig {
    fn default() -> Self {
        InitConfig {
            wmean: 20.0,
            wlim: 40.0,
            bmean: 0.0,
            blim: 1.0,
            fan_in: FanInScaling::None,
        }
    }
}

impl InitConfig {
    /// Checks every value is finite and the widths are `>= 0`.
    pub fn validate(&self) -> Result<(), NetError> {
        for (name, value, nonneg) in [
            ("wmean", self.wmean, false),
            ("wlim", self.wlim, true),
            ("bmean", self.bmean, false),
            ("blim", self.blim, true),
        ] {
            if !value.is_finite() || (nonneg && value < 0.0) {
                return Err(NetError::InvalidConfig {
                    name,
                    value,
                    reason: if nonneg {
                        "must be finite and >= 0"
                    } else {
                        "must be finite"
                    },
                });
            }
        }
        Ok(())
    }
}

fn uniform(rng: &mut impl Rng, mean: f64, width: f64) -> f64 {
    mean + width * (rng.random::<f64>() - 0.5)
}

/// A distribution of initial values, in files tagged by `kind`:
/// `{"kind": "uniform", "mean": 3, "width": 6}` or
/// `{"kind": "normal", "mean": 1.5, "std": 0.78}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// `U(mean − width/2, mean + width/2)`; one draw from the generator
    /// per value, the draw [`InitConfig`] uses.
    Uniform {
        /// Centre (finite).
        mean: f64,
        /// Width (finite, `>= 0`; 0 gives `mean`).
        width: f64,
    },
    /// `N(mean, std²)` by the Box–Muller transform (two draws per value, the
    /// cosine branch), so that draws depend on the seed alone.
    Normal {
        /// Mean (finite).
        mean: f64,
        /// Standard deviation (finite, `>= 0`).
        std: f64,
    },
}

impl Distribution {
    /// Checks the mean is finite and the spread finite and `>= 0`.
    pub fn validate(&self) -> Result<(), NetError> {
        let (mean, spread, name) = match *self {
            Distribution::Uniform { mean, width } => (mean, width, "width"),
            Distribution::Normal { mean, std } => (mean, std, "std"),
        };
        if !mean.is_finite() {
            return Err(NetError::InvalidConfig {
                name: "mean",
                value: mean,
                reason: "must be finite",
            });
        }
        if !(spread.is_finite() && spread >= 0.0) {
            return Err(NetError::InvalidConfig {
                name,
                value: spread,
                reason: "must be finite and >= 0",
            });
        }
        Ok(())
    }

    /// One value.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        match *self {
            Distribution::Uniform { mean, width } => uniform(rng, mean, width),
            Distribution::Normal { mean, std } => {
                // `1 − u` lies in (0, 1], so the logarithm is finite.
                let u1 = 1.0 - rng.random::<f64>();
                let u2 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                mean + std * z
            }
        }
    }
}

/// Initialisation of one layer: its weights and its biases (the first
/// neuron parameter), without fan-in scaling.
///
/// ```
/// use evnn_net::{Distribution, LayerInit, NetworkParams};
/// use evnn_neurons::Lif;
///
/// let layers = [
///     LayerInit::new(Distribution::Normal { mean: 1.5, std: 0.78 }),
///     LayerInit::new(Distribution::Normal { mean: 0.93, std: 0.1 }),
/// ];
/// let p = NetworkParams::init_layers::<Lif>(&[5, 200, 3], &layers, 0)?;
/// let w = &p.layers[0].weights;
/// let mean = w.iter().sum::<f64>() / w.len() as f64;
/// assert!((mean - 1.5).abs() < 0.1);
/// assert!(p.layers[1].neuron_params.iter().all(|&b| b == 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerInit {
    /// Distribution of the weights.
    pub weights: Distribution,
    /// Distribution of the biases; absent in a file means 0.
    #[serde(default = "LayerInit::zero")]
    pub bias: Distribution,
}

impl LayerInit {
    /// Weights from `weights`, biases 0.
    pub fn new(weights: Distribution) -> Self {
        LayerInit {
            weights,
            bias: Self::zero(),
        }
    }

    /// The point mass at 0 (a uniform of width 0; it still takes a draw).
    fn zero() -> Distribution {
        Distribution::Uniform {
            mean: 0.0,
            width: 0.0,
        }
    }

    /// Checks both distributions.
    pub fn validate(&self) -> Result<(), NetError> {
        self.weights.validate()?;
        self.bias.validate()
    }
}

impl NetworkParams {
    /// Random parameters for layer sizes `[n_inputs, n_1, ..., n_L]` from a
    /// seed (ChaCha8). The bias is the first neuron parameter; any further
    /// neuron parameters start at zero. For a model whose further parameters
    /// need another start (learnable time constants, whose logarithms must
    /// not start at 0), use [`init_for`](Self::init_for).
    pub fn init<N: NeuronModel>(
        sizes: &[usize],
        config: &InitConfig,
        seed: u64,
    ) -> Result<Self, NetError> {
        let start = N::Params::zeros();
        Self::init_from(
            sizes,
            config,
            seed,
            start.as_slice(),
            N::WEIGHTS_PER_SYNAPSE,
        )
    }

    /// [`init`](Self::init) with every neuron parameter beyond the bias
    /// taken from `model`'s
    /// [`default_params`](evnn_neurons::NeuronModel::default_params): the
    /// same random numbers in the same order, so for a model whose defaults
    /// are zeros (LIF, QIF) the result is [`init`](Self::init)'s, bit for
    /// bit.
    ///
    /// ```
    /// use evnn_net::{InitConfig, NetworkParams};
    /// use evnn_neurons::Plif;
    ///
    /// let plif = Plif::new(20.0, 5.0, 1.0, 0.0)?;
    /// let p = NetworkParams::init_for(&plif, &[2, 3], &InitConfig::default(), 1)?;
    /// // Per neuron: bias, log τ_mem, log τ_syn.
    /// assert_eq!(&p.layers[0].neuron_params[1..3], &[20f64.ln(), 5f64.ln()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn init_for<N: NeuronModel>(
        model: &N,
        sizes: &[usize],
        config: &InitConfig,
        seed: u64,
    ) -> Result<Self, NetError> {
        let start = model.default_params();
        Self::init_from(
            sizes,
            config,
            seed,
            start.as_slice(),
            N::WEIGHTS_PER_SYNAPSE,
        )
    }

    /// Random parameters with a distribution per layer (`layers[k]` for
    /// the `k`-th layer, first hidden layer first; no fan-in scaling). Any
    /// further neuron parameters start at zero; see
    /// [`init_layers_for`](Self::init_layers_for). The draws come in the
    /// order of [`init`](Self::init): a layer's weights row by row, then its
    /// biases.
    pub fn init_layers<N: NeuronModel>(
        sizes: &[usize],
        layers: &[LayerInit],
        seed: u64,
    ) -> Result<Self, NetError> {
        let start = N::Params::zeros();
        Self::init_layers_from(
            sizes,
            layers,
            seed,
            start.as_slice(),
            N::WEIGHTS_PER_SYNAPSE,
        )
    }

    /// [`init_layers`](Self::init_layers) with every neuron parameter beyond
    /// the bias taken from `model`'s
    /// [`default_params`](evnn_neurons::NeuronModel::default_params).
    pub fn init_layers_for<N: NeuronModel>(
        model: &N,
        sizes: &[usize],
        layers: &[LayerInit],
        seed: u64,
    ) -> Result<Self, NetError> {
        let start = model.default_params();
        Self::init_layers_from(
            sizes,
            layers,
            seed,
            start.as_slice(),
            N::WEIGHTS_PER_SYNAPSE,
        )
    }

    fn init_layers_from(
        sizes: &[usize],
        layers: &[LayerInit],
        seed: u64,
        start: &[f64],
        k_w: usize,
    ) -> Result<Self, NetError> {
        check_sizes(sizes)?;
        if layers.len() != sizes.len() - 1 {
            return Err(NetError::Shape {
                what: "layer initialisations (one per layer)",
                expected: sizes.len() - 1,
                got: layers.len(),
            });
        }
        for l in layers {
            l.validate()?;
        }
        Self::draw(sizes, seed, start, k_w, |k| (layers[k], 1.0))
    }

    /// The random weights and biases, and `start` (one neuron's parameters)
    /// for every neuron's further parameters.
    fn init_from(
        sizes: &[usize],
        config: &InitConfig,
        seed: u64,
        start: &[f64],
        k_w: usize,
    ) -> Result<Self, NetError> {
        config.validate()?;
        check_sizes(sizes)?;
        let init = LayerInit {
            weights: Distribution::Uniform {
                mean: config.wmean,
                width: config.wlim,
            },
            bias: Distribution::Uniform {
                mean: config.bmean,
                width: config.blim,
            },
        };
        Self::draw(sizes, seed, start, k_w, |k| {
            let n_in = sizes[k] as f64;
            let scale = match config.fan_in {
                FanInScaling::None => 1.0,
                FanInScaling::Linear => 1.0 / n_in,
                FanInScaling::Sqrt => 1.0 / n_in.sqrt(),
            };
            (init, scale)
        })
    }

    /// Draws layer `k`'s weights (times its scale; `k_w` per synapse, in
    /// the order of the buffer) and biases from `per_layer(k)`, one ChaCha8
    /// stream for the whole network.
    fn draw(
        sizes: &[usize],
        seed: u64,
        start: &[f64],
        k_w: usize,
        per_layer: impl Fn(usize) -> (LayerInit, f64),
    ) -> Result<Self, NetError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let np = start.len();
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(k, w)| -> Result<LayerParams, NetError> {
                let (n_in, n_out) = (w[0], w[1]);
                let (init, scale) = per_layer(k);
                let mut layer = LayerParams::zeros_with_synapses(n_in, n_out, k_w, np)?;
                for w in &mut layer.weights {
                    *w = scale * init.weights.sample(&mut rng);
                }
                if np > 0 {
                    for j in 0..n_out {
                        let p = &mut layer.neuron_params[j * np..(j + 1) * np];
                        p.copy_from_slice(start);
                        p[0] = init.bias.sample(&mut rng);
                    }
                }
                Ok(layer)
            })
            .collect::<Result<_, _>>()?;
        Ok(NetworkParams { layers })
    }

    /// Layer sizes `[n_inputs, n_1, ..., n_L]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = Vec::with_capacity(self.layers.len() + 1);
        if let Some(first) = self.layers.first() {
            s.push(first.n_in);
        }
        s.extend(self.layers.iter().map(|l| l.n_out));
        s
    }

    /// `true` when the layer sizes are `sizes` (without allocating).
    pub fn has_sizes(&self, sizes: &[usize]) -> bool {
        sizes.len() == self.layers.len() + 1
            && self
                .layers
                .iter()
                .enumerate()
                .all(|(k, l)| l.n_in == sizes[k] && l.n_out == sizes[k + 1])
    }

    /// Total number of scalars.
    pub fn len(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weights.len() + l.neuron_params.len() + l.optional_len())
            .sum()
    }

    /// `true` when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same shape, all zeros.
    pub fn zeros_like(&self) -> Self {
        NetworkParams {
            layers: self
                .layers
                .iter()
                .map(|l| LayerParams {
                    n_in: l.n_in,
                    n_out: l.n_out,
                    weights: vec![0.0; l.weights.len()],
                    neuron_params: vec![0.0; l.neuron_params.len()],
                    synaptic_delays: l.synaptic_delays.as_ref().map(|d| vec![0.0; d.len()]),
                    axonal_delays: l.axonal_delays.as_ref().map(|a| vec![0.0; a.len()]),
                    recurrent_weights: l.recurrent_weights.as_ref().map(|r| vec![0.0; r.len()]),
                    recurrent_mask: l.recurrent_mask.clone(),
                })
                .collect(),
        }
    }

    /// Sets every entry to zero.
    pub fn fill_zero(&mut self) {
        for l in &mut self.layers {
            l.weights.iter_mut().for_each(|v| *v = 0.0);
            l.neuron_params.iter_mut().for_each(|v| *v = 0.0);
            l.optional_buffers_mut().flatten().for_each(|v| *v = 0.0);
        }
    }

    /// Adds `other` entry by entry. `other` must have the same shape (the
    /// same layers, each with buffers of the same lengths); otherwise
    /// nothing is added and the error names the first difference.
    pub fn add_assign(&mut self, other: &NetworkParams) -> Result<(), NetError> {
        self.check_same_shape(other)?;
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            for (x, y) in a.weights.iter_mut().zip(&b.weights) {
                *x += y;
            }
            for (x, y) in a.neuron_params.iter_mut().zip(&b.neuron_params) {
                *x += y;
            }
            for (x, y) in a.optional_buffers_mut().zip(b.optional_buffers()) {
                x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
            }
        }
        Ok(())
    }

    /// Checks that `other` has the shape of `self`: as many layers, each
    /// with the same `n_in`, `n_out` and buffer lengths.
    fn check_same_shape(&self, other: &NetworkParams) -> Result<(), NetError> {
        let mismatch = |what, expected, got| {
            Err(NetError::Shape {
                what,
                expected,
                got,
            })
        };
        if other.layers.len() != self.layers.len() {
            return mismatch("layers", self.layers.len(), other.layers.len());
        }
        for (a, b) in self.layers.iter().zip(&other.layers) {
            for (what, expected, got) in [
                ("layer inputs (n_in)", a.n_in, b.n_in),
                ("layer neurons (n_out)", a.n_out, b.n_out),
                ("weights", a.weights.len(), b.weights.len()),
                (
                    "neuron parameters",
                    a.neuron_params.len(),
                    b.neuron_params.len(),
                ),
                (
                    "synaptic delays (0 when absent)",
                    a.synaptic_delays.as_ref().map_or(0, Vec::len),
                    b.synaptic_delays.as_ref().map_or(0, Vec::len),
                ),
                (
                    "axonal delays (0 when absent)",
                    a.axonal_delays.as_ref().map_or(0, Vec::len),
                    b.axonal_delays.as_ref().map_or(0, Vec::len),
                ),
                (
                    "recurrent weights (0 when absent)",
                    a.recurrent_weights.as_ref().map_or(0, Vec::len),
                    b.recurrent_weights.as_ref().map_or(0, Vec::len),
                ),
            ] {
                if expected != got {
                    return mismatch(what, expected, got);
                }
            }
        }
        Ok(())
    }

    /// Checks the shape alone (not the values): layer sizes `sizes` and
    /// every buffer of its length with `P = n_params_per_neuron`. For a
    /// gradient buffer, whose values are the caller's; `reason` is the
    /// error's when the sizes differ.
    pub(crate) fn check_shape(
        &self,
        sizes: &[usize],
        n_params_per_neuron: usize,
        k_w: usize,
        reason: &'static str,
    ) -> Result<(), NetError> {
        if !self.has_sizes(sizes) {
            return Err(NetError::Architecture {
                reason,
                sizes: self.sizes(),
            });
        }
        self.layers
            .iter()
            .try_for_each(|l| l.check_buffers(n_params_per_neuron, k_w))
    }

    /// Checks that `other` (a gradient buffer) has delay buffers where
    /// `self` has them, of the same lengths, and none where `self` has none.
    pub(crate) fn check_delays_like(&self, other: &NetworkParams) -> Result<(), NetError> {
        for (a, b) in self.layers.iter().zip(&other.layers) {
            for (what, x, y) in [
                (
                    "synaptic delays of the gradient (0 when absent)",
                    &a.synaptic_delays,
                    &b.synaptic_delays,
                ),
                (
                    "axonal delays of the gradient (0 when absent)",
                    &a.axonal_delays,
                    &b.axonal_delays,
                ),
                (
                    "recurrent weights of the gradient (0 when absent)",
                    &a.recurrent_weights,
                    &b.recurrent_weights,
                ),
            ] {
                let (expected, got) = (x.as_ref().map(Vec::len), y.as_ref().map(Vec::len));
                if expected != got {
                    return Err(NetError::Shape {
                        what,
                        expected: expected.unwrap_or(0),
                        got: got.unwrap_or(0),
                    });
                }
            }
        }
        Ok(())
    }

    /// Multiplies every entry by `s`.
    pub fn scale(&mut self, s: f64) {
        for l in &mut self.layers {
            l.weights.iter_mut().for_each(|v| *v *= s);
            l.neuron_params.iter_mut().for_each(|v| *v *= s);
            l.optional_buffers_mut().flatten().for_each(|v| *v *= s);
        }
    }

    /// All entries in one vector: per layer, the weights, the neuron
    /// parameters, then the synaptic delays, the axonal delays and the
    /// recurrent weights where present (the order optimizers see; without
    /// them, weights and neuron parameters alone).
    pub fn to_flat(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len());
        for l in &self.layers {
            out.extend_from_slice(&l.weights);
            out.extend_from_slice(&l.neuron_params);
            for d in l.optional_buffers() {
                out.extend_from_slice(d);
            }
        }
        out
    }

    /// Inverse of [`to_flat`](Self::to_flat).
    pub fn set_flat(&mut self, flat: &[f64]) -> Result<(), NetError> {
        if flat.len() != self.len() {
            return Err(NetError::Shape {
                what: "flat parameter vector",
                expected: self.len(),
                got: flat.len(),
            });
        }
        let mut at = 0;
        for l in &mut self.layers {
            let n = l.weights.len();
            l.weights.copy_from_slice(&flat[at..at + n]);
            at += n;
            let n = l.neuron_params.len();
            l.neuron_params.copy_from_slice(&flat[at..at + n]);
            at += n;
            for d in l.optional_buffers_mut() {
                let n = d.len();
                d.copy_from_slice(&flat[at..at + n]);
                at += n;
            }
        }
        Ok(())
    }

    /// `true` when some layer has delays.
    pub fn has_delays(&self) -> bool {
        self.layers.iter().any(LayerParams::has_delays)
    }

    /// Projects a flat buffer in the order of [`to_flat`](Self::to_flat)
    /// onto the parameters' domain: every delay below 0 becomes 0 (NaN
    /// stays, for validation to name), and the recurrent weight of every
    /// synapse a mask leaves out becomes 0. Training calls it after every
    /// optimizer step ([`evnn_optim::Parameters::project`]), so that delays
    /// stay `>= 0` (projected gradient descent) and masked synapses absent.
    /// Without delays or masks it changes nothing; a buffer of another
    /// length is left as it is.
    pub fn project_flat(&self, flat: &mut [f64]) {
        let masked = self.layers.iter().any(|l| l.recurrent_mask.is_some());
        if flat.len() != self.len() || !(self.has_delays() || masked) {
            return;
        }
        let mut at = 0;
        for l in &self.layers {
            at += l.weights.len() + l.neuron_params.len();
            let n = l.delays_len();
            for v in &mut flat[at..at + n] {
                if *v < 0.0 {
                    *v = 0.0;
                }
            }
            at += n;
            if let Some(r) = &l.recurrent_weights {
                if let Some(mask) = &l.recurrent_mask {
                    for (v, &keep) in flat[at..at + r.len()].iter_mut().zip(mask) {
                        if !keep {
                            *v = 0.0;
                        }
                    }
                }
                at += r.len();
            }
        }
    }

    /// `true` when some layer is recurrent.
    pub fn is_recurrent(&self) -> bool {
        self.layers.iter().any(LayerParams::is_recurrent)
    }

    /// These parameters with recurrent connections in the layers named by
    /// `layers` (indices), drawn as `init` says from their own ChaCha8
    /// stream of `seed` (stream 2), so that weights, biases and delays
    /// drawn from the same seed stay as they are. Each synapse exists with
    /// probability `init.density` (all of them at 1), self-connections only
    /// with `init.self_connections`; a layer where some synapse is left out
    /// gets a mask, and the weights of absent synapses are 0. An index
    /// beyond the layers is an error naming it.
    ///
    /// ```
    /// use evnn_net::{Distribution, InitConfig, NetworkParams, RecurrentInit};
    /// use evnn_neurons::Lif;
    ///
    /// let p = NetworkParams::init::<Lif>(&[5, 20, 3], &InitConfig::default(), 0)?;
    /// let init = RecurrentInit::new(Distribution::Normal { mean: 0.0, std: 1.0 });
    /// let q = p.clone().with_recurrent(&[0], &init, 0)?;
    /// let l = &q.layers[0];
    /// assert_eq!(l.recurrent_weights.as_ref().unwrap().len(), 20 * 20);
    /// assert!(l.has_recurrent_synapse(1, 0) && !l.has_recurrent_synapse(3, 3));
    /// assert_eq!(q.len(), p.len() + 20 * 20);
    /// assert!(p.with_recurrent(&[2], &init, 0).is_err());
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn with_recurrent(
        mut self,
        layers: &[usize],
        init: &RecurrentInit,
        seed: u64,
    ) -> Result<Self, NetError> {
        init.validate()?;
        if let Some(&bad) = layers.iter().find(|&&k| k >= self.layers.len()) {
            return Err(NetError::InvalidConfig {
                name: "recurrent layer (index)",
                value: bad as f64,
                reason: "must name one of the network's layers",
            });
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        for (k, l) in self.layers.iter_mut().enumerate() {
            if !layers.contains(&k) {
                continue;
            }
            let n = l.n_out;
            let len = buffer_len("recurrent weights (n_out × n_out)", n, n)?;
            let mut weights = Vec::with_capacity(len);
            let mut mask = Vec::with_capacity(len);
            for at in 0..len {
                let (j, i) = (at / n, at % n);
                let keep = (init.self_connections || i != j)
                    && (init.density >= 1.0 || rng.random::<f64>() < init.density);
                let w = init.weights.sample(&mut rng);
                weights.push(if keep { w } else { 0.0 });
                mask.push(keep);
            }
            l.recurrent_mask = if mask.iter().all(|&m| m) {
                None
            } else {
                Some(mask)
            };
            l.recurrent_weights = Some(weights);
        }
        Ok(self)
    }

    /// These parameters with delays drawn as `init` says: per layer, the
    /// synaptic delays row by row (when `init.synaptic` is given), then the
    /// axonal delays (when `init.axonal` is), from their own ChaCha8 stream
    /// of `seed` (stream 1), so the weights and biases drawn from the same
    /// seed stay as they are. Draws below 0 become 0. Layers that already
    /// have delays get new ones.
    ///
    /// ```
    /// use evnn_net::{DelayInit, Distribution, InitConfig, NetworkParams};
    /// use evnn_neurons::Lif;
    ///
    /// let p = NetworkParams::init::<Lif>(&[5, 20, 3], &InitConfig::default(), 0)?;
    /// let d = Distribution::Uniform { mean: 1.0, width: 2.0 };
    /// let q = p.clone().with_delays(&DelayInit::both(d), 0)?;
    /// assert_eq!(q.layers[0].synaptic_delays.as_ref().unwrap().len(), 20 * 5);
    /// assert_eq!(q.layers[1].axonal_delays.as_ref().unwrap().len(), 20);
    /// assert_eq!(q.len(), p.len() + 20 * 5 + 5 + 3 * 20 + 20);
    /// assert_eq!(q.layers[0].weights, p.layers[0].weights);
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn with_delays(mut self, init: &DelayInit, seed: u64) -> Result<Self, NetError> {
        init.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let mut draw = |dist: &Distribution, n: usize| -> Vec<f64> {
            (0..n).map(|_| dist.sample(&mut rng).max(0.0)).collect()
        };
        for l in &mut self.layers {
            if let Some(dist) = &init.synaptic {
                l.synaptic_delays = Some(draw(
                    dist,
                    buffer_len("synaptic delays (n_out × n_in)", l.n_out, l.n_in)?,
                ));
            }
            if let Some(dist) = &init.axonal {
                l.axonal_delays = Some(draw(dist, l.n_in));
            }
        }
        Ok(self)
    }

    /// Checks shapes (consecutive layers fit, buffers have their sizes, `P`
    /// parameters per neuron, one weight per synapse) and that every value
    /// is finite.
    pub fn validate(
        &self,
        n_params_per_neuron: usize,
        param_names: &[&'static str],
    ) -> Result<(), NetError> {
        self.validate_synapses(n_params_per_neuron, 1, param_names)
    }

    /// [`validate`](Self::validate) for `weights_per_synapse` weights per
    /// synapse ([`NeuronModel::WEIGHTS_PER_SYNAPSE`]).
    pub fn validate_synapses(
        &self,
        n_params_per_neuron: usize,
        weights_per_synapse: usize,
        param_names: &[&'static str],
    ) -> Result<(), NetError> {
        // (`sizes()` allocates: only build it to report an error.)
        if self.layers.is_empty() || self.layers.iter().any(|l| l.n_in == 0 || l.n_out == 0) {
            check_sizes(&self.sizes())?;
        }
        for (k, l) in self.layers.iter().enumerate() {
            if k > 0 && l.n_in != self.layers[k - 1].n_out {
                return Err(NetError::Shape {
                    what: "layer inputs (must equal the previous layer's neurons)",
                    expected: self.layers[k - 1].n_out,
                    got: l.n_in,
                });
            }
            l.check_buffers(n_params_per_neuron, weights_per_synapse)?;
            if let Some((index, &value)) =
                l.weights.iter().enumerate().find(|(_, v)| !v.is_finite())
            {
                return Err(NetError::NonFiniteParameter {
                    layer: k,
                    what: "weights",
                    index,
                    value,
                });
            }
            if let Some((index, &value)) = l
                .neuron_params
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                let what = param_names
                    .get(index % n_params_per_neuron.max(1))
                    .copied()
                    .unwrap_or("neuron parameter");
                return Err(NetError::NonFiniteParameter {
                    layer: k,
                    what,
                    index,
                    value,
                });
            }
            if let Some((index, &value)) = l
                .recurrent_weights
                .iter()
                .flatten()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(NetError::NonFiniteParameter {
                    layer: k,
                    what: "recurrent weights",
                    index,
                    value,
                });
            }
            for (what, buffer) in [
                ("synaptic delays", &l.synaptic_delays),
                ("axonal delays", &l.axonal_delays),
            ] {
                let mut values = buffer.iter().flatten().enumerate();
                if let Some((index, &value)) = values.find(|(_, v)| !(v.is_finite() && **v >= 0.0))
                {
                    return Err(NetError::InvalidDelay {
                        layer: k,
                        what,
                        index,
                        value,
                    });
                }
            }
        }
        Ok(())
    }
}

/// How a layer's recurrent connections start
/// ([`NetworkParams::with_recurrent`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentInit {
    /// Distribution of the recurrent weights.
    pub weights: Distribution,
    /// Whether a neuron connects to itself.
    #[serde(default)]
    pub self_connections: bool,
    /// Probability that a synapse exists, in `(0, 1]` (1: dense).
    #[serde(default = "dense")]
    pub density: f64,
}

fn dense() -> f64 {
    1.0
}

impl RecurrentInit {
    /// Dense connections without self-connections, weights from `weights`.
    pub fn new(weights: Distribution) -> Self {
        RecurrentInit {
            weights,
            self_connections: false,
            density: 1.0,
        }
    }

    /// Checks the distribution and that the density lies in `(0, 1]`.
    pub fn validate(&self) -> Result<(), NetError> {
        self.weights.validate()?;
        if !(self.density > 0.0 && self.density <= 1.0) {
            return Err(NetError::InvalidConfig {
                name: "recurrent density",
                value: self.density,
                reason: "must lie in (0, 1]",
            });
        }
        Ok(())
    }
}

/// Which delays a network gets and how they start
/// ([`NetworkParams::with_delays`]): `None` leaves that kind out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DelayInit {
    /// Distribution of the synaptic delays `d_ij` (ms).
    pub synaptic: Option<Distribution>,
    /// Distribution of the axonal delays `a_i` (ms).
    pub axonal: Option<Distribution>,
}

impl DelayInit {
    /// Synaptic and axonal delays, both from `dist`.
    pub fn both(dist: Distribution) -> Self {
        DelayInit {
            synaptic: Some(dist),
            axonal: Some(dist),
        }
    }

    /// Checks the distributions given.
    pub fn validate(&self) -> Result<(), NetError> {
        self.synaptic
            .iter()
            .chain(&self.axonal)
            .try_for_each(Distribution::validate)
    }
}

pub(crate) fn check_sizes(sizes: &[usize]) -> Result<(), NetError> {
    if sizes.len() < 2 {
        return Err(NetError::Architecture {
            reason: "need the input size and at least one layer",
            sizes: sizes.to_vec(),
        });
    }
    if sizes.contains(&0) {
        return Err(NetError::Architecture {
            reason: "every layer needs at least one neuron and one input",
            sizes: sizes.to_vec(),
        });
    }
    Ok(())
}

/// The trainer sees the parameters in the order of
/// [`NetworkParams::to_flat`].
impl evnn_optim::Parameters for NetworkParams {
    fn to_flat(&self) -> Vec<f64> {
        NetworkParams::to_flat(self)
    }

    fn set_flat(&mut self, flat: &[f64]) -> Result<(), evnn_optim::OptimError> {
        // The only failure is a length that does not fit.
        NetworkParams::set_flat(self, flat).map_err(|_| evnn_optim::OptimError::ShapeMismatch {
            what: "params",
            expected: self.len(),
            got: flat.len(),
        })
    }

    fn project(&self, flat: &mut [f64]) {
        self.project_flat(flat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evnn_neurons::Lif;

    /// A uniform per-layer initialisation with [`InitConfig`]'s values
    /// draws the very numbers of [`NetworkParams::init`], bit for bit.
    #[test]
    fn uniform_layers_match_init_config_bit_for_bit() {
        let c = InitConfig {
            wmean: 3.0,
            wlim: 6.0,
            bmean: 0.1,
            blim: 1.0,
            fan_in: FanInScaling::None,
        };
        let layer = LayerInit {
            weights: Distribution::Uniform {
                mean: 3.0,
                width: 6.0,
            },
            bias: Distribution::Uniform {
                mean: 0.1,
                width: 1.0,
            },
        };
        let sizes = [5, 7, 3];
        let a = NetworkParams::init::<Lif>(&sizes, &c, 9).unwrap();
        let b = NetworkParams::init_layers::<Lif>(&sizes, &[layer; 2], 9).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn normal_draws_have_the_stated_moments() {
        let d = Distribution::Normal {
            mean: 0.93,
            std: 0.1,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        // Four standard errors of the mean; 5 % on the standard deviation.
        assert!((m - 0.93).abs() < 4.0 * 0.1 / (n as f64).sqrt(), "mean {m}");
        assert!((v.sqrt() - 0.1).abs() < 0.005, "std {}", v.sqrt());
    }

    #[test]
    fn bad_layer_initialisations_are_errors() {
        let bad = LayerInit::new(Distribution::Normal {
            mean: 1.0,
            std: -0.1,
        });
        assert!(matches!(
            NetworkParams::init_layers::<Lif>(&[2, 3], &[bad], 0),
            Err(NetError::InvalidConfig { name: "std", .. })
        ));
        let nan = LayerInit::new(Distribution::Uniform {
            mean: f64::NAN,
            width: 1.0,
        });
        assert!(matches!(
            NetworkParams::init_layers::<Lif>(&[2, 3], &[nan], 0),
            Err(NetError::InvalidConfig { name: "mean", .. })
        ));
        let ok = LayerInit::new(Distribution::Normal {
            mean: 1.0,
            std: 0.1,
        });
        assert!(matches!(
            NetworkParams::init_layers::<Lif>(&[2, 3, 1], &[ok], 0),
            Err(NetError::Shape {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }
}
