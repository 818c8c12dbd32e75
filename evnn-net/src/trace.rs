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
pub(crate) fn merge_spikes(source: &SpikeTrains, merged: &mut Vec<MergedSpike>) {
    merged.clear();
    for c in 0..source.n_channels() {
        for (k, &time) in source.channel(c).iter().enumerate() {
            merged.push(MergedSpike {
                time,
                channel: c as u32,
                k: k as u32,
            });
        }
    }
    merged.sort_by(spike_order);
}

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
