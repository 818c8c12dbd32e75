//! Learning-rate schedules: pure functions from the step count to a rate.

use crate::optimizer::non_negative;
use crate::OptimError;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A learning-rate schedule `η(t)`, where `t` is the number of optimizer
/// steps already taken (the first step uses `η(0)`, as optax's
/// `scale_by_schedule` does).
///
/// Rates are in the optimizer's units (see [`AdamConfig`](crate::AdamConfig)
/// and [`SgdConfig`](crate::SgdConfig)); step counts are optimizer steps.
/// Values are computed in `f64` and converted to the parameter float type
/// when a step is taken. [`Schedule::lr`] is pure and never panics, even on a
/// schedule that [`Schedule::validate`] would reject.
///
/// In files the variant is named by a `kind` tag:
///
/// ```
/// use evnn_optim::Schedule;
///
/// let json = r#"{"kind": "warmup_cosine", "init_value": 0.0, "peak_value": 0.01,
///                "warmup_steps": 100, "decay_steps": 1000, "end_value": 0.0001}"#;
/// let s: Schedule = serde_json::from_str(json).unwrap();
/// s.validate().unwrap();
/// assert_eq!(s.lr(0), 0.0);
/// assert_eq!(s.lr(100), 0.01);
/// assert!((s.lr(1000) - 1e-4).abs() < 1e-18);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// `η(t) = value`.
    Constant {
        /// The learning rate (finite, `> 0`).
        value: f64,
    },
    /// Step decay: `η(t) = init_value · factor^⌊t / every⌋`, i.e. the rate is
    /// multiplied by `factor` every `every` steps.
    StepDecay {
        /// Rate for steps `0 .. every` (finite, `> 0`).
        init_value: f64,
        /// Steps between two decays (`≥ 1`).
        every: u64,
        /// Multiplier applied at each decay (`∈ (0, 1]`).
        factor: f64,
    },
    /// Exponential decay, optax's `exponential_decay` without
    /// `transition_begin` or `end_value`:
    /// `η(t) = init_value · decay_rate^(t / transition_steps)`, with the
    /// exponent floored when `staircase` is set.
    Exponential {
        /// Rate at step 0 (finite, `> 0`).
        init_value: f64,
        /// Steps over which the rate is multiplied by `decay_rate` (`≥ 1`).
        transition_steps: u64,
        /// Decay per `transition_steps` steps (`∈ (0, 1]`).
        decay_rate: f64,
        /// Floor the exponent, so the rate changes in discrete jumps.
        #[serde(default)]
        staircase: bool,
    },
    /// Linear warm-up followed by cosine decay, optax's
    /// `warmup_cosine_decay_schedule` with `exponent = 1`:
    ///
    /// - `t < W`: `η = (init_value − peak_value)·(1 − t/W) + peak_value`;
    /// - `t ≥ W`: with `c = min(t − W, D − W)` and `α = end_value / peak_value`,
    ///   `η = peak_value · ((1 − α)·½(1 + cos(π c / (D − W))) + α)`,
    ///
    /// where `W = warmup_steps` and `D = decay_steps`. The rate reaches
    /// `peak_value` at step `W` and `end_value` at step `D`, and stays there.
    WarmupCosine {
        /// Rate at step 0 (finite, `≥ 0`; 0 is the usual choice).
        init_value: f64,
        /// Rate at the end of the warm-up (finite, `> 0`).
        peak_value: f64,
        /// Length of the linear warm-up in steps (`< decay_steps`; 0 for none).
        warmup_steps: u64,
        /// Total length of the schedule in steps, warm-up included.
        decay_steps: u64,
        /// Rate from step `decay_steps` on (finite, `≥ 0`).
        end_value: f64,
    },
}

impl Default for Schedule {
    /// A constant rate of `1e-3` (optax examples' usual Adam rate).
    fn default() -> Self {
        Schedule::Constant { value: 1e-3 }
    }
}

impl Schedule {
    /// A constant rate; validated when the optimizer config is built.
    pub fn constant(value: f64) -> Self {
        Schedule::Constant { value }
    }

    /// The learning rate for the step that follows `step` completed steps.
    ///
    /// Pure: the same `step` always gives the same rate. The operations follow
    /// optax's schedule code in order, evaluated in `f64`.
    pub fn lr(&self, step: u64) -> f64 {
        match *self {
            Schedule::Constant { value } => value,
            Schedule::StepDecay {
                init_value,
                every,
                factor,
            } => {
                // `every = 0` is rejected by `validate`; keep `lr` total anyway.
                let k = step.checked_div(every).unwrap_or(0);
                init_value * factor.powf(k as f64)
            }
            Schedule::Exponential {
                init_value,
                transition_steps,
                decay_rate,
                staircase,
            } => {
                if step == 0 {
                    // optax: `jnp.where(count <= 0, init_value, ...)`.
                    return init_value;
                }
                let mut p = step as f64 / transition_steps as f64;
                if staircase {
                    p = p.floor();
                }
                init_value * decay_rate.powf(p)
            }
            Schedule::WarmupCosine {
                init_value,
                peak_value,
                warmup_steps,
                decay_steps,
                end_value,
            } => {
                if step < warmup_steps {
                    // optax `linear_schedule` (polynomial, power 1).
                    let frac = 1.0 - step as f64 / warmup_steps as f64;
                    (init_value - peak_value) * frac + peak_value
                } else {
                    // optax `cosine_decay_schedule` on `step − W`, joined at `W`.
                    let span = decay_steps.saturating_sub(warmup_steps) as f64;
                    let count = ((step - warmup_steps) as f64).min(span);
                    let cosine = 0.5 * (1.0 + (PI * count / span).cos());
                    let alpha = if peak_value == 0.0 {
                        0.0
                    } else {
                        end_value / peak_value
                    };
                    peak_value * ((1.0 - alpha) * cosine + alpha)
                }
            }
        }
    }

    /// Checks every constant of the schedule; the error names the first bad
    /// one.
    pub fn validate(&self) -> Result<(), OptimError> {
        match *self {
            Schedule::Constant { value } => positive("learning_rate", value),
            Schedule::StepDecay {
                init_value,
                every,
                factor,
            } => {
                positive("init_value", init_value)?;
                at_least_one("every", every)?;
                decay_factor("factor", factor)
            }
            Schedule::Exponential {
                init_value,
                transition_steps,
                decay_rate,
                ..
            } => {
                positive("init_value", init_value)?;
                at_least_one("transition_steps", transition_steps)?;
                decay_factor("decay_rate", decay_rate)
            }
            Schedule::WarmupCosine {
                init_value,
                peak_value,
                warmup_steps,
                decay_steps,
                end_value,
            } => {
                non_negative("init_value", init_value)?;
                positive("peak_value", peak_value)?;
                non_negative("end_value", end_value)?;
                if warmup_steps >= decay_steps {
                    return Err(OptimError::WarmupTooLong {
                        warmup_steps,
                        decay_steps,
                    });
                }
                Ok(())
            }
        }
    }
}

fn positive(name: &'static str, value: f64) -> Result<(), OptimError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            name,
            value,
            reason: "must be finite and > 0",
        })
    }
}

fn at_least_one(name: &'static str, value: u64) -> Result<(), OptimError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            name,
            value: value as f64,
            reason: "must be at least 1 step",
        })
    }
}

fn decay_factor(name: &'static str, value: f64) -> Result<(), OptimError> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(OptimError::InvalidHyperparameter {
            name,
            value,
            reason: "must be in (0, 1]",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn warmup_cosine() -> Schedule {
        Schedule::WarmupCosine {
            init_value: 0.0,
            peak_value: 1e-2,
            warmup_steps: 100,
            decay_steps: 1100,
            end_value: 1e-4,
        }
    }

    #[test]
    fn warmup_cosine_key_steps() {
        // Closed forms of optax's `warmup_cosine_decay_schedule(0, 1e-2, 100, 1100, 1e-4)`.
        let s = warmup_cosine();
        s.validate().unwrap();
        assert_eq!(s.lr(0), 0.0, "step 0 is init_value");
        // Halfway through the warm-up: (0 − 1e-2)·(1 − 0.5) + 1e-2 = 5e-3.
        assert_relative_eq!(s.lr(50), 5e-3, max_relative = 1e-15);
        // Warm-up end: the cosine starts at c = 0, ½(1 + cos 0) = 1 → peak.
        assert_eq!(s.lr(100), 1e-2);
        // Middle of the decay (c = 500 of 1000): cos(π/2) ≈ 0, so
        // η = peak·((1 − α)·½ + α) = (peak + end)/2 = 5.05e-3.
        assert_relative_eq!(s.lr(600), 5.05e-3, max_relative = 1e-14);
        // End and beyond: cos π = −1 → η = peak·α = end_value.
        assert_relative_eq!(s.lr(1100), 1e-4, max_relative = 1e-15);
        assert_relative_eq!(s.lr(5000), 1e-4, max_relative = 1e-15);
        assert_eq!(s.lr(u64::MAX), s.lr(1100));
        // Monotone after the peak.
        let mut last = s.lr(100);
        for t in 101..1200 {
            let lr = s.lr(t);
            assert!(lr <= last, "t = {t}: {lr} > {last}");
            last = lr;
        }
    }

    #[test]
    fn warmup_cosine_without_warmup_starts_at_peak() {
        let s = Schedule::WarmupCosine {
            init_value: 0.5,
            peak_value: 2.0,
            warmup_steps: 0,
            decay_steps: 10,
            end_value: 0.0,
        };
        s.validate().unwrap();
        assert_eq!(s.lr(0), 2.0);
        // c = 5 of 10: ½(1 + cos(π/2)) = ½ up to cos's rounding.
        assert_relative_eq!(s.lr(5), 1.0, max_relative = 1e-15);
        assert_eq!(s.lr(10), 0.0);
        assert_eq!(s.lr(11), 0.0);
    }

    #[test]
    fn constant_is_constant() {
        let s = Schedule::constant(0.3);
        for t in [0, 1, 1000, u64::MAX] {
            assert_eq!(s.lr(t), 0.3);
        }
    }

    #[test]
    fn step_decay_key_steps() {
        let s = Schedule::StepDecay {
            init_value: 1.0,
            every: 10,
            factor: 0.5,
        };
        s.validate().unwrap();
        assert_eq!(s.lr(0), 1.0);
        assert_eq!(s.lr(9), 1.0);
        assert_eq!(s.lr(10), 0.5);
        assert_eq!(s.lr(25), 0.25);
        assert_eq!(s.lr(30), 0.125);
    }

    #[test]
    fn exponential_key_steps() {
        let smooth = Schedule::Exponential {
            init_value: 2.0,
            transition_steps: 10,
            decay_rate: 0.25,
            staircase: false,
        };
        let stairs = Schedule::Exponential {
            init_value: 2.0,
            transition_steps: 10,
            decay_rate: 0.25,
            staircase: true,
        };
        smooth.validate().unwrap();
        assert_eq!(smooth.lr(0), 2.0);
        // 2·0.25^0.5 = 1, 2·0.25^1 = 0.5, 2·0.25^2 = 0.125 (exact in binary).
        assert_eq!(smooth.lr(5), 1.0);
        assert_eq!(smooth.lr(10), 0.5);
        assert_eq!(smooth.lr(20), 0.125);
        assert_eq!(stairs.lr(5), 2.0);
        assert_eq!(stairs.lr(19), 0.5);
        assert_eq!(stairs.lr(20), 0.125);
    }

    #[test]
    fn lr_never_panics_on_invalid_schedules() {
        let bad = [
            Schedule::StepDecay {
                init_value: 1.0,
                every: 0,
                factor: 0.5,
            },
            Schedule::Exponential {
                init_value: 1.0,
                transition_steps: 0,
                decay_rate: 0.5,
                staircase: true,
            },
            Schedule::WarmupCosine {
                init_value: 0.0,
                peak_value: 0.0,
                warmup_steps: 5,
                decay_steps: 5,
                end_value: 0.0,
            },
        ];
        for s in &bad {
            assert!(s.validate().is_err());
            for t in [0, 1, 5, 6, u64::MAX] {
                let _ = s.lr(t);
            }
        }
    }

    #[test]
    fn warmup_not_shorter_than_decay_is_an_error() {
        for (w, d) in [(100, 100), (200, 100)] {
            let s = Schedule::WarmupCosine {
                init_value: 0.0,
                peak_value: 1.0,
                warmup_steps: w,
                decay_steps: d,
                end_value: 0.0,
            };
            assert_eq!(
                s.validate(),
                Err(OptimError::WarmupTooLong {
                    warmup_steps: w,
                    decay_steps: d
                })
            );
        }
    }

    #[test]
    fn invalid_constants_are_named() {
        let cases: [(Schedule, &str, f64); 9] = [
            (Schedule::constant(0.0), "learning_rate", 0.0),
            (Schedule::constant(-1e-3), "learning_rate", -1e-3),
            (
                Schedule::constant(f64::INFINITY),
                "learning_rate",
                f64::INFINITY,
            ),
            (
                Schedule::StepDecay {
                    init_value: 1.0,
                    every: 0,
                    factor: 0.5,
                },
                "every",
                0.0,
            ),
            (
                Schedule::StepDecay {
                    init_value: 1.0,
                    every: 3,
                    factor: 1.5,
                },
                "factor",
                1.5,
            ),
            (
                Schedule::Exponential {
                    init_value: 1.0,
                    transition_steps: 0,
                    decay_rate: 0.5,
                    staircase: false,
                },
                "transition_steps",
                0.0,
            ),
            (
                Schedule::Exponential {
                    init_value: 1.0,
                    transition_steps: 4,
                    decay_rate: 0.0,
                    staircase: false,
                },
                "decay_rate",
                0.0,
            ),
            (
                Schedule::WarmupCosine {
                    init_value: -1.0,
                    peak_value: 1.0,
                    warmup_steps: 1,
                    decay_steps: 2,
                    end_value: 0.0,
                },
                "init_value",
                -1.0,
            ),
            (
                Schedule::WarmupCosine {
                    init_value: 0.0,
                    peak_value: 0.0,
                    warmup_steps: 1,
                    decay_steps: 2,
                    end_value: 0.0,
                },
                "peak_value",
                0.0,
            ),
        ];
        for (s, want, value) in cases {
            match s.validate() {
                Err(OptimError::InvalidHyperparameter { name, value: v, .. }) => {
                    assert_eq!(name, want, "{s:?}");
                    assert_eq!(v, value, "{s:?}");
                }
                other => panic!("{s:?}: expected an error naming {want}, got {other:?}"),
            }
        }
        let nan = Schedule::constant(f64::NAN).validate();
        assert!(
            matches!(nan, Err(OptimError::InvalidHyperparameter { name: "learning_rate", value, .. }) if value.is_nan())
        );
    }

    #[test]
    fn serde_round_trip_and_tags() {
        let s = warmup_cosine();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""kind":"warmup_cosine""#), "{json}");
        let back: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let e: Schedule = serde_json::from_str(
            r#"{"kind":"exponential","init_value":1.0,"transition_steps":5,"decay_rate":0.5}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            Schedule::Exponential {
                init_value: 1.0,
                transition_steps: 5,
                decay_rate: 0.5,
                staircase: false
            }
        );
        assert!(
            serde_json::from_str::<Schedule>(r#"{"kind":"constant","value":1.0,"typo":2}"#)
                .is_err()
        );
    }
}
