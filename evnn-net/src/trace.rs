//! What a forward pass records: each layer's merged input spikes and every
//! neuron's trace. The backward pass reads nothing else.

use crate::SpikeTrains;
use evnn_solver::NeuronTrace;
use serde::{Deserialize, Serialize};

/// One spike arriving at a layer: its time, the input channel (or neuron of
/// the previous layer) it comes from, and its number `k` within that channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedSpike {
    /// Arrival time.
    pub time: f64,
    /// Source channel.
    pub channel: u32,
    /// Number of the spike within its channel.
    pub k: u32,
}

/// `source`'s spikes merged in time order, ties by channel, into `merged`.
pub(crate) fn merge_spikes(
    source: &SpikeTrains,
    merged: &mut Vec<MergedSpike>,
    buckets: &mut Vec<u32>,
) {
    merged.clear();
    let n = source.n_spikes();
    if n < 2 * BUCKET_SORT_FROM {
        merged.extend(by_channel(source));
        merged.sort_by(spike_order);
        return;
    }
    // Many spikes: a stable counting sort into time buckets of equal width
    // (a bucket's times all come before the next bucket's, and within a
    // bucket the spikes stay in channel order), then each bucket sorted:
    // the order of `spike_order`, in about linear time. Times are finite
    // and `>= 0` (spike trains are valid by construction).
    let t_max = source.flat().iter().fold(0.0f64, |m, &t| m.max(t));
    let n_buckets = n;
    let scale = if t_max > 0.0 {
        n_buckets as f64 / t_max
    } else {
        0.0
    };
    let bucket = |t: f64| ((t * scale) as usize).min(n_buckets - 1);
    // Each bucket's start, then (after it) its next free place.
    buckets.clear();
    buckets.resize(2 * n_buckets + 1, 0);
    let (starts, next) = buckets.split_at_mut(n_buckets + 1);
    for &t in source.flat() {
        starts[bucket(t) + 1] += 1;
    }
    for b in 0..n_buckets {
        starts[b + 1] += starts[b];
    }
    let placeholder = MergedSpike {
        time: 0.0,
        channel: 0,
        k: 0,
    };
    merged.resize(n, placeholder);
    next.copy_from_slice(&starts[..n_buckets]);
    for spike in by_channel(source) {
        let at = &mut next[bucket(spike.time)];
        merged[*at as usize] = spike;
        *at += 1;
    }
    for b in 0..n_buckets {
        let run = &mut merged[starts[b] as usize..starts[b + 1] as usize];
        if run.len() > 1 {
            run.sort_by(spike_order);
        }
    }
}

/// `source`'s spikes channel by channel, each with its channel and number
/// within the channel.
fn by_channel(source: &SpikeTrains) -> impl Iterator<Item = MergedSpike> + '_ {
    (0..source.n_channels()).flat_map(move |c| {
        let train = source.channel(c).iter().enumerate();
        train.map(move |(k, &time)| MergedSpike {
            time,
            channel: c as u32,
            k: k as u32,
        })
    })
}

/// From how many spikes (twice this) [`merge_spikes`] sorts by buckets.
const BUCKET_SORT_FROM: usize = 256;

/// The order of merged spikes: by time, ties by channel.
pub(crate) fn spike_order(a: &MergedSpike, b: &MergedSpike) -> std::cmp::Ordering {
    a.time.total_cmp(&b.time).then(a.channel.cmp(&b.channel))
}

/// Where an input of a recurrent layer's neuron comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputSource {
    /// Entry `m` of the layer's merged input spikes
    /// ([`LayerTrace::inputs`]).
    Forward(u32),
    /// Spike `k` of neuron `neuron` of the same layer.
    Recurrent {
        /// Sending neuron.
        neuron: u32,
        /// Its spike's number.
        k: u32,
    },
}

/// One input of a recurrent layer's neuron: its arrival time and source.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecurrentInput {
    /// Arrival time.
    pub time: f64,
    /// Source.
    pub source: InputSource,
}

/// What a recurrent layer's forward pass records beside the neurons'
/// traces: each neuron's input list, and the order in which the pass kept
/// the neurons' events, which the backward pass runs in reverse.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecurrentRecord {
    /// Per neuron, its inputs in the order of its input list (the input
    /// indices of its event log).
    pub sources: Vec<Vec<RecurrentInput>>,
    /// `[neuron, first event, end]`: the events `first..end` of that
    /// neuron's log, kept in this turn; every event once, in turn.
    pub order: Vec<[u32; 3]>,
}

/// What one layer did in a forward pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerTrace<S> {
    /// The layer's input spikes merged in time order (ties by channel).
    pub inputs: Vec<MergedSpike>,
    /// Every neuron's trace (spike times and event log); an input event's
    /// index refers to [`inputs`](Self::inputs).
    pub neurons: Vec<NeuronTrace<S>>,
    /// The neurons' spike trains.
    pub outputs: SpikeTrains,
    /// A recurrent layer's record; `None` for a feed-forward layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent: Option<RecurrentRecord>,
    /// Whether the layer was simulated layer-wide
    /// ([`FeedForward::with_layer_wide`](crate::FeedForward::with_layer_wide)):
    /// its neurons' event logs then hold their spikes only, which only a
    /// network that runs the layer layer-wide can take back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub layer_wide: bool,
}

/// Everything a forward pass produced; the backward pass reads nothing else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardTrace<S> {
    /// One entry per layer.
    pub layers: Vec<LayerTrace<S>>,
}

impl<S> Default for LayerTrace<S> {
    fn default() -> Self {
        LayerTrace {
            inputs: Vec::new(),
            neurons: Vec::new(),
            outputs: SpikeTrains::new(),
            recurrent: None,
            layer_wide: false,
        }
    }
}

impl<S> Default for ForwardTrace<S> {
    fn default() -> Self {
        ForwardTrace { layers: Vec::new() }
    }
}

impl<S> ForwardTrace<S> {
    /// Spike trains of the output layer (empty if nothing ran).
    pub fn output(&self) -> Option<&SpikeTrains> {
        self.layers.last().map(|l| &l.outputs)
    }

    /// First spike time of each output neuron (`∞` when silent).
    pub fn first_spikes(&self) -> Vec<f64> {
        self.output().map(|o| o.first_spikes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The bucket merge gives the order of a plain sort by `spike_order`,
    /// with ties of time across channels (also at 0 and −0), a spike at
    /// the largest time, coarse and fine time grids and one busy channel.
    #[test]
    fn bucket_merge_is_the_sorted_merge() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for case in 0..40 {
            let channels = rng.random_range(1..60);
            let grid = [0.0, 0.5, 1e-3][case % 3];
            let trains: Vec<Vec<f64>> = (0..channels)
                .map(|c| {
                    let n = if c == 0 { 900 } else { rng.random_range(0..30) };
                    let mut t: Vec<f64> = (0..n)
                        .map(|_| {
                            let t: f64 = rng.random::<f64>() * 100.0;
                            if grid > 0.0 {
                                (t / grid).floor() * grid
                            } else {
                                t
                            }
                        })
                        .collect();
                    if c % 7 == 1 {
                        t.extend([-0.0, 0.0, 100.0]);
                    }
                    t.sort_by(f64::total_cmp);
                    t
                })
                .collect();
            let source = SpikeTrains::from_trains(&trains).unwrap();
            assert!(source.n_spikes() >= 2 * BUCKET_SORT_FROM);
            let (mut merged, mut buckets) = (Vec::new(), Vec::new());
            merge_spikes(&source, &mut merged, &mut buckets);
            let mut want: Vec<MergedSpike> = by_channel(&source).collect();
            want.sort_by(spike_order);
            assert_eq!(merged.len(), want.len());
            for (a, b) in merged.iter().zip(&want) {
                assert_eq!(
                    (a.time.to_bits(), a.channel, a.k),
                    (b.time.to_bits(), b.channel, b.k)
                );
            }
        }
    }
}
