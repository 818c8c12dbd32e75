//! Latency (time-to-first-spike) encoding of features as input spikes.
//!
//! Each feature `v ∈ [0, 1]` becomes one spike on its own input channel at
//!
//! `t = t_min + v · (t_max − t_min)`,
//!
//! (capped at `t_max` against rounding), so larger values spike later. An optional bias channel spikes once at a
//! fixed time. The defaults are eventax's / EventProp's Yin–Yang encoding
//! (docs/design.md §6): `t_min = 0`, `t_max = 30`, bias spike at 0, giving for a
//! Yin–Yang sample five input channels in the order
//! **(x, y, 1 − x, 1 − y, bias)**. Times are in the network's time unit
//! (the same unit as the neurons' time constants).

use serde::{Deserialize, Serialize};

use crate::{DataError, Dataset};

/// Parameters of the latency encoding.
///
/// # Examples
///
/// ```
/// use evnn_data::EncodingConfig;
///
/// let enc = EncodingConfig::default().build()?;
/// // channels: x, y, 1 − x, 1 − y, bias
/// let times = enc.encode(&[0.5, 0.25, 0.5, 0.75])?;
/// assert_eq!(times, vec![15.0, 7.5, 15.0, 22.5, 0.0]);
///
/// let no_bias = EncodingConfig::default().with_window(1.0, 11.0).without_bias().build()?;
/// assert_eq!(no_bias.encode(&[0.0, 1.0])?, vec![1.0, 11.0]);
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncodingConfig {
    /// Spike time of a feature equal to 0; finite, `≥ 0`.
    pub t_min: f64,
    /// Spike time of a feature equal to 1; finite, `> t_min`.
    pub t_max: f64,
    /// Spike time of the bias channel (finite, `≥ 0`), or `None` for no
    /// bias channel.
    pub bias_time: Option<f64>,
}

impl Default for EncodingConfig {
    /// eventax's Yin–Yang encoding: `t_min = 0`, `t_max = 30`, bias at 0.
    fn default() -> Self {
        Self {
            t_min: 0.0,
            t_max: 30.0,
            bias_time: Some(0.0),
        }
    }
}

impl EncodingConfig {
    /// Sets the encoding window `[t_min, t_max]`.
    pub fn with_window(mut self, t_min: f64, t_max: f64) -> Self {
        self.t_min = t_min;
        self.t_max = t_max;
        self
    }

    /// Adds (or moves) the bias channel, spiking at `bias_time`.
    pub fn with_bias(mut self, bias_time: f64) -> Self {
        self.bias_time = Some(bias_time);
        self
    }

    /// Removes the bias channel.
    pub fn without_bias(mut self) -> Self {
        self.bias_time = None;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidTime`] if `t_min`, `t_max` or the bias time is
    /// NaN, infinite or negative; [`DataError::TimeOrder`] if
    /// `t_max ≤ t_min`.
    pub fn validate(&self) -> Result<(), DataError> {
        let times = [("t_min", Some(self.t_min)), ("t_max", Some(self.t_max))];
        let bias = [("bias_time", self.bias_time)];
        for (name, value) in times.into_iter().chain(bias) {
            if let Some(value) = value {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(DataError::InvalidTime { name, value });
                }
            }
        }
        if self.t_max <= self.t_min {
            return Err(DataError::TimeOrder {
                t_min: self.t_min,
                t_max: self.t_max,
            });
        }
        Ok(())
    }

    /// Validates the configuration and returns the encoder.
    ///
    /// # Errors
    ///
    /// As [`EncodingConfig::validate`].
    pub fn build(&self) -> Result<LatencyEncoder, DataError> {
        self.validate()?;
        Ok(LatencyEncoder { config: *self })
    }
}

/// A validated latency encoder (from [`EncodingConfig::build`]).
///
/// Channel `i < n_features` spikes once at the time of feature `i`; with a
/// bias, channel `n_features` spikes at the bias time.
///
/// # Examples
///
/// ```
/// use evnn_data::{EncodingConfig, YinYang};
///
/// let data = YinYang::validation()?;
/// let enc = EncodingConfig::default().build()?;
/// let mut times = Vec::new();
/// enc.encode_batch_into(&data, &[0, 1, 2], &mut times)?;
/// assert_eq!(times.len(), 3 * enc.n_channels(data.n_features()));
/// assert_eq!(times[4], 0.0); // bias spike of sample 0
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyEncoder {
    config: EncodingConfig,
}

impl LatencyEncoder {
    /// The validated configuration.
    pub fn config(&self) -> &EncodingConfig {
        &self.config
    }

    /// Number of input channels for samples of `n_features` features
    /// (one more with a bias).
    pub fn n_channels(&self, n_features: usize) -> usize {
        n_features + usize::from(self.config.bias_time.is_some())
    }

    /// Writes the spike time of every channel of one sample into `times`.
    ///
    /// # Errors
    ///
    /// [`DataError::LengthMismatch`] if `times.len()` is not
    /// [`n_channels`](Self::n_channels)`(features.len())`;
    /// [`DataError::FeatureOutOfRange`] if a feature is NaN or outside
    /// `[0, 1]`. `times` is left untouched on error.
    pub fn encode_into(&self, features: &[f64], times: &mut [f64]) -> Result<(), DataError> {
        let expected = self.n_channels(features.len());
        if times.len() != expected {
            return Err(DataError::LengthMismatch {
                what: "spike times",
                expected,
                got: times.len(),
            });
        }
        if let Some(index) = features.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(DataError::FeatureOutOfRange {
                index,
                value: features[index],
            });
        }
        let EncodingConfig {
            t_min,
            t_max,
            bias_time,
        } = self.config;
        let span = t_max - t_min;
        for (t, &v) in times.iter_mut().zip(features) {
            // `t_min + 1·(t_max − t_min)` can round one ulp past `t_max`;
            // a spike after the simulated window would be lost.
            *t = (t_min + v * span).min(t_max);
        }
        if let Some(b) = bias_time {
            times[features.len()] = b;
        }
        Ok(())
    }

    /// Spike times of one sample, one per channel (allocating form of
    /// [`encode_into`](Self::encode_into)).
    ///
    /// # Errors
    ///
    /// As [`encode_into`](Self::encode_into).
    pub fn encode(&self, features: &[f64]) -> Result<Vec<f64>, DataError> {
        let mut times = vec![0.0; self.n_channels(features.len())];
        self.encode_into(features, &mut times)?;
        Ok(times)
    }

    /// The spike times of every sample of `data`, one row per sample.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_data::{EncodingConfig, YinYang};
    ///
    /// let test = YinYang::test()?;
    /// let times = EncodingConfig::default().build()?.encode_all(&test)?;
    /// assert_eq!((times.len(), times[0].len()), (1000, 5));
    /// # Ok::<(), evnn_data::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`encode_into`](Self::encode_into).
    pub fn encode_all(&self, data: &Dataset) -> Result<Vec<Vec<f64>>, DataError> {
        data.iter()
            .map(|(features, _)| self.encode(features))
            .collect()
    }

    /// Encodes the samples `batch` of `data` into `out`, row-major: row `k`
    /// holds the [`n_channels`](Self::n_channels) spike times of sample
    /// `batch[k]`. `out` is cleared first and reused, so a training loop
    /// allocates only while the batch grows.
    ///
    /// # Errors
    ///
    /// [`DataError::IndexOutOfRange`] for an index `≥ data.len()`;
    /// [`DataError::FeatureOutOfRange`] as in
    /// [`encode_into`](Self::encode_into). The content of `out` is
    /// unspecified on error.
    pub fn encode_batch_into(
        &self,
        data: &Dataset,
        batch: &[usize],
        out: &mut Vec<f64>,
    ) -> Result<(), DataError> {
        let n_channels = self.n_channels(data.n_features());
        out.clear();
        out.resize(batch.len() * n_channels, 0.0);
        for (row, &index) in out.chunks_exact_mut(n_channels).zip(batch) {
            let features = data.features(index).ok_or(DataError::IndexOutOfRange {
                index,
                len: data.len(),
            })?;
            self.encode_into(features, row)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_is_eventax() {
        let c = EncodingConfig::default();
        assert_eq!((c.t_min, c.t_max, c.bias_time), (0.0, 30.0, Some(0.0)));
    }

    #[test]
    fn yin_yang_sample_gets_eventax_times() {
        // docs/design.md §6: inputs t_max·(x, y, 1−x, 1−y) and a bias at 0.
        let data = crate::YinYang::validation().unwrap();
        let f = data.features(0).unwrap();
        let enc = EncodingConfig::default().build().unwrap();
        let t = enc.encode(f).unwrap();
        let want: Vec<f64> = f.iter().map(|v| 30.0 * v).chain([0.0]).collect();
        assert_eq!(t, want);
        assert_eq!(enc.n_channels(4), 5);
    }

    #[test]
    fn window_and_bias_are_configurable() {
        let enc = EncodingConfig::default()
            .with_window(2.0, 12.0)
            .with_bias(5.0)
            .build()
            .unwrap();
        assert_eq!(enc.encode(&[0.0, 0.5, 1.0]).unwrap(), [2.0, 7.0, 12.0, 5.0]);
        let enc = EncodingConfig::default().without_bias().build().unwrap();
        assert_eq!(enc.n_channels(4), 4);
        assert_eq!(enc.encode(&[0.1]).unwrap(), [30.0 * 0.1]);
        assert_eq!(enc.encode(&[]).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn reversed_or_empty_window_is_rejected() {
        for (t_min, t_max) in [(5.0, 5.0), (10.0, 1.0)] {
            let err = EncodingConfig::default().with_window(t_min, t_max).build();
            assert_eq!(err, Err(DataError::TimeOrder { t_min, t_max }));
        }
    }

    #[test]
    fn bad_times_are_rejected() {
        let cases = [
            (EncodingConfig::default().with_window(-1.0, 30.0), "t_min"),
            (
                EncodingConfig::default().with_window(0.0, f64::INFINITY),
                "t_max",
            ),
            (
                EncodingConfig::default().with_window(f64::NAN, 30.0),
                "t_min",
            ),
            (
                EncodingConfig::default().with_window(0.0, f64::NAN),
                "t_max",
            ),
            (EncodingConfig::default().with_bias(f64::NAN), "bias_time"),
            (EncodingConfig::default().with_bias(-0.5), "bias_time"),
        ];
        for (cfg, want) in cases {
            match cfg.validate() {
                Err(DataError::InvalidTime { name, .. }) => assert_eq!(name, want, "{cfg:?}"),
                other => panic!("{cfg:?}: expected InvalidTime({want}), got {other:?}"),
            }
        }
    }

    #[test]
    fn out_of_range_features_are_rejected() {
        let enc = EncodingConfig::default().build().unwrap();
        assert_eq!(
            enc.encode(&[0.5, 1.5]),
            Err(DataError::FeatureOutOfRange {
                index: 1,
                value: 1.5
            })
        );
        assert_eq!(
            enc.encode(&[-0.1]),
            Err(DataError::FeatureOutOfRange {
                index: 0,
                value: -0.1
            })
        );
        let err = enc.encode(&[0.2, 0.3, f64::NAN]).unwrap_err();
        assert!(matches!(
            err,
            DataError::FeatureOutOfRange { index: 2, value } if value.is_nan()
        ));
    }

    #[test]
    fn wrong_buffer_length_is_rejected_and_untouched_on_error() {
        let enc = EncodingConfig::default().build().unwrap();
        let mut times = [7.0; 3];
        assert_eq!(
            enc.encode_into(&[0.5, 0.5], &mut times[..2]),
            Err(DataError::LengthMismatch {
                what: "spike times",
                expected: 3,
                got: 2
            })
        );
        assert!(enc.encode_into(&[0.5, 2.0], &mut times).is_err());
        assert_eq!(times, [7.0; 3]);
    }

    #[test]
    fn batch_encoding_matches_per_sample_and_checks_indices() {
        let data = crate::YinYang::test().unwrap();
        let enc = EncodingConfig::default().build().unwrap();
        let mut out = vec![1.0; 100];
        enc.encode_batch_into(&data, &[3, 0, 999], &mut out)
            .unwrap();
        assert_eq!(out.len(), 15);
        for (row, i) in out.chunks_exact(5).zip([3, 0, 999]) {
            assert_eq!(row, enc.encode(data.features(i).unwrap()).unwrap());
        }
        assert_eq!(
            enc.encode_batch_into(&data, &[0, 1000], &mut out),
            Err(DataError::IndexOutOfRange {
                index: 1000,
                len: 1000
            })
        );
        enc.encode_batch_into(&data, &[], &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn config_serde_round_trip() {
        let cfg = EncodingConfig::default()
            .with_window(1.0, 9.0)
            .without_bias();
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<EncodingConfig>(&json).unwrap(), cfg);
        let partial: EncodingConfig = serde_json::from_str(r#"{"t_max": 20.0}"#).unwrap();
        assert_eq!(partial, EncodingConfig::default().with_window(0.0, 20.0));
    }

    proptest! {
        #[test]
        fn times_are_monotone_and_in_window(
            t_min in 0.0f64..100.0,
            span in 1e-3f64..100.0,
            a in 0.0f64..=1.0,
            b in 0.0f64..=1.0,
        ) {
            let t_max = t_min + span;
            let enc = EncodingConfig::default().with_window(t_min, t_max).without_bias();
            let enc = enc.build().unwrap();
            let t = enc.encode(&[a, b, 0.0, 1.0]).unwrap();
            for &ti in &t {
                prop_assert!(t_min <= ti && ti <= t_max, "t = {ti} outside [{t_min}, {t_max}]");
            }
            prop_assert_eq!(t[2], t_min);
            if a <= b {
                prop_assert!(t[0] <= t[1]);
            } else {
                prop_assert!(t[0] >= t[1]);
            }
        }
    }
}
