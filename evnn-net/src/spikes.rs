//! Spike trains of several channels in one flat buffer.

use crate::NetError;
use serde::{Deserialize, Serialize};

/// Spike times of `n` channels (input channels or neurons of a layer), stored
/// flat: channel `c` owns `times[offsets[c]..offsets[c + 1]]`, sorted.
///
/// Valid by construction: every way to make one (the constructors,
/// [`push_channel`](Self::push_channel), deserialization) checks that each
/// time is finite, `>= 0` and sorted within its channel, so the network's
/// passes take spike trains without checking them again.
///
/// # Examples
///
/// ```
/// use evnn_net::SpikeTrains;
///
/// let s = SpikeTrains::from_trains(&[vec![1.0, 2.0], vec![], vec![0.5]]).unwrap();
/// assert_eq!(s.n_channels(), 3);
/// assert_eq!(s.channel(0), &[1.0, 2.0]);
/// assert_eq!(s.first_spikes(), vec![1.0, f64::INFINITY, 0.5]);
/// assert!(SpikeTrains::from_trains(&[vec![2.0, 1.0]]).is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SpikeTrainsRecord")]
pub struct SpikeTrains {
    times: Vec<f64>,
    offsets: Vec<usize>,
}

/// The serialized form, checked before it becomes [`SpikeTrains`]: every
/// channel's range must lie inside the times.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpikeTrainsRecord {
    times: Vec<f64>,
    offsets: Vec<usize>,
}

impl TryFrom<SpikeTrainsRecord> for SpikeTrains {
    type Error = NetError;

    fn try_from(r: SpikeTrainsRecord) -> Result<Self, NetError> {
        let n_spikes = r.times.len();
        let invalid = |index: usize, reason| NetError::InvalidOffsets {
            index,
            offset: r.offsets[index],
            n_spikes,
            reason,
        };
        // No offsets at all: no channels (the `Default` value).
        if r.offsets.is_empty() {
            if n_spikes > 0 {
                return Err(NetError::InvalidOffsets {
                    index: 0,
                    offset: 0,
                    n_spikes,
                    reason: "spike times without channels",
                });
            }
            return Ok(SpikeTrains::default());
        }
        if r.offsets[0] != 0 {
            return Err(invalid(0, "the first offset must be 0"));
        }
        if let Some(i) = (1..r.offsets.len()).find(|&i| r.offsets[i] < r.offsets[i - 1]) {
            return Err(invalid(i, "offsets must not decrease"));
        }
        let last = r.offsets.len() - 1;
        if r.offsets[last] != n_spikes {
            return Err(invalid(
                last,
                "the last offset must be the number of spike times",
            ));
        }
        let s = SpikeTrains {
            times: r.times,
            offsets: r.offsets,
        };
        for c in 0..s.n_channels() {
            check_channel(c, s.channel(c))?;
        }
        Ok(s)
    }
}

/// Checks that channel `c`'s times are finite, `>= 0` and sorted.
fn check_channel(c: usize, times: &[f64]) -> Result<(), NetError> {
    let mut previous = 0.0;
    for (index, &time) in times.iter().enumerate() {
        if !(time.is_finite() && time >= 0.0) {
            return Err(NetError::InvalidInputTime {
                channel: c,
                index,
                time,
            });
        }
        if time < previous {
            return Err(NetError::UnsortedInput {
                channel: c,
                index,
                time,
                previous,
            });
        }
        previous = time;
    }
    Ok(())
}

impl SpikeTrains {
    /// No channels.
    pub fn new() -> Self {
        SpikeTrains {
            times: Vec::new(),
            offsets: vec![0],
        }
    }

    /// One spike per channel at the given times (the usual latency-coded
    /// input); errors name the first invalid time.
    pub fn from_times(times: &[f64]) -> Result<Self, NetError> {
        let mut s = SpikeTrains::new();
        for &t in times {
            s.push_channel(&[t])?;
        }
        Ok(s)
    }

    /// One input per row of spike times, one spike per channel (the rows of
    /// a latency encoder's output); an error names the sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::SpikeTrains;
    ///
    /// let inputs = SpikeTrains::from_rows(&[vec![1.0, 2.0], vec![0.5, 0.0]])?;
    /// assert_eq!((inputs.len(), inputs[1].channel(0)), (2, &[0.5][..]));
    /// assert!(SpikeTrains::from_rows(&[vec![1.0], vec![f64::NAN]]).is_err());
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Vec<Self>, NetError> {
        rows.iter()
            .enumerate()
            .map(|(sample, row)| {
                Self::from_times(row).map_err(|e| NetError::Sample {
                    sample,
                    source: Box::new(e),
                })
            })
            .collect()
    }

    /// Channels with the given spike trains; errors name the first invalid or
    /// out-of-order time.
    pub fn from_trains(trains: &[Vec<f64>]) -> Result<Self, NetError> {
        let mut s = SpikeTrains::new();
        for t in trains {
            s.push_channel(t)?;
        }
        Ok(s)
    }

    /// Removes every channel, keeping the buffers.
    pub fn clear(&mut self) {
        self.times.clear();
        self.offsets.clear();
        self.offsets.push(0);
    }

    /// Appends a channel; its times must be finite, `>= 0` and sorted (an
    /// error names the first that is not, and leaves `self` unchanged).
    pub fn push_channel(&mut self, times: &[f64]) -> Result<(), NetError> {
        check_channel(self.n_channels(), times)?;
        self.push_checked(times);
        Ok(())
    }

    /// Appends a channel whose times are known to be valid (a neuron's
    /// spikes).
    pub(crate) fn push_checked(&mut self, times: &[f64]) {
        debug_assert_eq!(check_channel(self.n_channels(), times), Ok(()));
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.times.extend_from_slice(times);
        self.offsets.push(self.times.len());
    }

    /// Number of channels.
    pub fn n_channels(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Total number of spikes.
    pub fn n_spikes(&self) -> usize {
        self.times.len()
    }

    /// The spike times of channel `c` (empty if `c` is out of range).
    pub fn channel(&self, c: usize) -> &[f64] {
        match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(&a), Some(&b)) => &self.times[a..b],
            _ => &[],
        }
    }

    /// Offset of channel `c`'s first spike in the flat buffer, so that
    /// channel `c` is `flat()[offset(c)..offset(c) + channel(c).len()]`.
    /// For `c >= n_channels()` it is `n_spikes()`, where a channel pushed
    /// next would start (such a channel is empty, as
    /// [`channel`](Self::channel) says).
    pub fn offset(&self, c: usize) -> usize {
        self.offsets.get(c).copied().unwrap_or(self.times.len())
    }

    /// All spike times, channel after channel.
    pub fn flat(&self) -> &[f64] {
        &self.times
    }

    /// First spike time of every channel, `∞` for a silent one.
    pub fn first_spikes(&self) -> Vec<f64> {
        (0..self.n_channels())
            .map(|c| self.channel(c).first().copied().unwrap_or(f64::INFINITY))
            .collect()
    }

    /// The spike trains as nested vectors.
    pub fn to_trains(&self) -> Vec<Vec<f64>> {
        (0..self.n_channels())
            .map(|c| self.channel(c).to_vec())
            .collect()
    }
}
