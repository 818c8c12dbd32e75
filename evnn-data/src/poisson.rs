//! Poisson spike trains: independent channels, each a homogeneous Poisson
//! process of one rate, for synthetic workloads (e.g. the size of the
//! spoken-digit benchmarks: 700 channels over 1 s).
//!
//! Times in ms, rates in Hz (spikes per second): a channel's expected count
//! is `rate_hz · duration / 1000`.
//!
//! # Examples
//!
//! ```
//! use evnn_data::PoissonInput;
//!
//! let input = PoissonInput { channels: 700, rate_hz: 10.0, duration: 1000.0 };
//! let trains = input.sample(0, 0)?;
//! assert_eq!(trains.len(), 700);
//! let n: usize = trains.iter().map(Vec::len).sum();
//! assert!((6500..7500).contains(&n)); // about 7000
//! assert!(trains.iter().all(|t| t.windows(2).all(|w| w[0] < w[1])));
//! assert_eq!(trains, input.sample(0, 0)?); // a pure function of its seeds
//! # Ok::<(), evnn_data::DataError>(())
//! ```

use crate::DataError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Independent homogeneous Poisson trains on `[0, duration)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoissonInput {
    /// Number of channels (`>= 1`).
    pub channels: usize,
    /// Rate of every channel in Hz (finite, `>= 0`).
    pub rate_hz: f64,
    /// Length of the window in ms (finite, `> 0`).
    pub duration: f64,
}

impl PoissonInput {
    /// Checks the settings; the error names the first bad one and its value.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.channels == 0 {
            return Err(DataError::Zero { name: "channels" });
        }
        if !(self.rate_hz.is_finite() && self.rate_hz >= 0.0) {
            return Err(DataError::InvalidTask {
                name: "rate_hz",
                value: self.rate_hz,
                rule: "must be finite and >= 0",
            });
        }
        if !(self.duration.is_finite() && self.duration > 0.0) {
            return Err(DataError::InvalidTask {
                name: "duration",
                value: self.duration,
                rule: "must be finite and > 0",
            });
        }
        Ok(())
    }

    /// Sample `index` of the stream `seed`: per channel, the sorted spike
    /// times (exponential intervals of mean `1000 / rate_hz` ms), drawn from
    /// ChaCha8 seeded with `seed` on stream `index`.
    pub fn sample(&self, seed: u64, index: u64) -> Result<Vec<Vec<f64>>, DataError> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let per_ms = self.rate_hz / 1000.0;
        Ok((0..self.channels)
            .map(|_| {
                let mut times = Vec::new();
                if per_ms > 0.0 {
                    let mut t = 0.0;
                    loop {
                        // 1 − U is in (0, 1]: the logarithm is finite.
                        let u: f64 = rng.random();
                        t += -(1.0 - u).ln() / per_ms;
                        if !(t < self.duration) {
                            break;
                        }
                        // Two draws can round to one time: keep a channel's
                        // times strictly increasing.
                        if times.last().is_none_or(|&last| t > last) {
                            times.push(t);
                        }
                    }
                }
                times
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_intervals_follow_the_rate() {
        let input = PoissonInput {
            channels: 2000,
            rate_hz: 20.0,
            duration: 500.0,
        };
        let trains = input.sample(7, 3).unwrap();
        let n: usize = trains.iter().map(Vec::len).sum();
        // Expected 20 000, standard deviation about 141.
        assert!((19_300..20_700).contains(&n), "{n}");
        // The first spike of a channel is exponential with mean 50 ms
        // (standard error about 1.1 over 2000 channels).
        let firsts: Vec<f64> = trains.iter().filter_map(|t| t.first().copied()).collect();
        assert!(firsts.len() > 1990);
        let mean = firsts.iter().sum::<f64>() / firsts.len() as f64;
        assert!((45.0..55.0).contains(&mean), "{mean}");
        for t in &trains {
            assert!(t.iter().all(|&x| (0.0..500.0).contains(&x)));
        }
        assert_ne!(trains, input.sample(7, 4).unwrap());
        assert_ne!(trains, input.sample(8, 3).unwrap());
    }

    #[test]
    fn zero_rate_is_silent_and_bad_settings_are_named() {
        let silent = PoissonInput {
            channels: 3,
            rate_hz: 0.0,
            duration: 10.0,
        };
        assert_eq!(silent.sample(0, 0).unwrap(), vec![Vec::<f64>::new(); 3]);
        for (input, needle) in [
            (
                PoissonInput {
                    channels: 0,
                    ..silent
                },
                "channels",
            ),
            (
                PoissonInput {
                    rate_hz: -1.0,
                    ..silent
                },
                "rate_hz` = -1",
            ),
            (
                PoissonInput {
                    rate_hz: f64::NAN,
                    ..silent
                },
                "NaN",
            ),
            (
                PoissonInput {
                    duration: 0.0,
                    ..silent
                },
                "duration` = 0",
            ),
        ] {
            let e = input.sample(0, 0).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
