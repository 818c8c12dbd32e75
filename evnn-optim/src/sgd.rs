//! Stochastic gradient descent with optional heavy-ball or Nesterov momentum
//! (optax's `sgd`) and optional decoupled weight decay.

use crate::optimizer::{
    check_finite, check_shapes, check_state, non_negative, to_float, unit_interval,
};
use crate::{OptimError, Optimizer, Schedule};
use num_traits::Float;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Hyper-parameters of [`Sgd`]; a plain serde struct, validated by
/// [`build`](SgdConfig::build).
///
/// Defaults: constant learning rate `1e-2`, no momentum, no Nesterov, no
/// weight decay (optax's `sgd` has no default rate; this one is ours).
/// Missing fields in a file take these defaults; unknown fields are refused.
///
/// Units: the step is `η` times a gradient, so the learning rate is in
/// parameter units per gradient unit (parameter² per loss unit); momentum is
/// dimensionless; the weight decay is per unit of learning rate.
///
/// # Examples
///
/// ```
/// use evnn_optim::SgdConfig;
///
/// let sgd = SgdConfig::default()
///     .with_learning_rate(1e-3)
///     .with_momentum(0.9)
///     .with_nesterov(true)
///     .build::<f32>(4)?;
/// assert_eq!(sgd.config().momentum, 0.9);
/// assert!(SgdConfig::default().with_momentum(1.0).build::<f32>(4).is_err());
/// # Ok::<(), evnn_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdConfig {
    /// Learning rate `η(t)` by step.
    pub schedule: Schedule,
    /// Momentum (trace decay) `μ ∈ [0, 1)`; 0 is plain SGD (optax's
    /// `momentum=None`).
    pub momentum: f64,
    /// Use Nesterov's look-ahead update instead of heavy-ball momentum.
    pub nesterov: bool,
    /// Decoupled weight decay `λ ≥ 0`; 0 disables it.
    pub weight_decay: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            schedule: Schedule::constant(1e-2),
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl SgdConfig {
    /// Sets a constant learning rate.
    pub fn with_learning_rate(self, lr: f64) -> Self {
        self.with_schedule(Schedule::constant(lr))
    }

    /// Sets the learning-rate schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the momentum `μ`.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Switches Nesterov momentum on or off.
    pub fn with_nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the decoupled weight decay `λ`.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks every hyper-parameter; the error names the first bad one.
    pub fn validate(&self) -> Result<(), OptimError> {
        self.schedule.validate()?;
        unit_interval("momentum", self.momentum)?;
        non_negative("weight_decay", self.weight_decay)
    }

    /// Validates the config and returns an SGD optimizer with zeroed state
    /// for `num_params` parameters of type `F`.
    pub fn build<F: Float>(&self, num_params: usize) -> Result<Sgd<F>, OptimError> {
        self.validate()?;
        Ok(Sgd {
            config: self.clone(),
            state: SgdState {
                step: 0,
                trace: vec![F::zero(); num_params],
            },
        })
    }
}

/// The mutable state of [`Sgd`]: step count and momentum trace (optax's
/// `TraceState`, plus the schedule's `count`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned")
)]
pub struct SgdState<F> {
    /// Steps taken so far.
    pub step: u64,
    /// Momentum trace `m`, one entry per parameter (all zero without momentum).
    pub trace: Vec<F>,
}

/// SGD with optional momentum, optax's `sgd` (`chain(trace,
/// scale_by_learning_rate)`), plus optional decoupled weight decay.
///
/// With gradient `g`, learning rate `η = η(t)` for the step after `t` steps,
/// and parameters `p`, for each entry:
///
/// ```text
/// μ = 0:  u = g
/// μ > 0:  m ← g + μ·m;   u = m  (heavy ball)   or   u = g + μ·m  (Nesterov)
/// u ← u + λ·p                        (only when λ > 0)
/// p ← p + (−η)·u
/// ```
///
/// in optax's order of floating-point operations. The weight decay is added
/// after the momentum trace (optax's `add_decayed_weights` placed before
/// `scale_by_learning_rate`), so it is not accumulated in the trace: the step
/// shrinks `p` by exactly `η·λ·p`.
///
/// # Examples
///
/// ```
/// use evnn_optim::{Optimizer, SgdConfig};
///
/// let mut sgd = SgdConfig::default().with_learning_rate(0.5).with_momentum(0.5).build(1)?;
/// let mut p = [1.0_f64];
/// sgd.step(&mut p, &[1.0])?; // m = 1,   p = 1 − 0.5·1
/// sgd.step(&mut p, &[1.0])?; // m = 1.5, p = 0.5 − 0.5·1.5
/// assert_eq!(p, [-0.25]);
/// # Ok::<(), evnn_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "SgdRecord<F>",
    bound(
        serialize = "F: Serialize",
        deserialize = "F: Float + DeserializeOwned"
    )
)]
pub struct Sgd<F = f64> {
    config: SgdConfig,
    state: SgdState<F>,
}

/// What an [`Sgd`] looks like in a file; validated on load.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "F: DeserializeOwned"))]
struct SgdRecord<F> {
    config: SgdConfig,
    state: SgdState<F>,
}

impl<F: Float> TryFrom<SgdRecord<F>> for Sgd<F> {
    type Error = OptimError;
    fn try_from(r: SgdRecord<F>) -> Result<Self, OptimError> {
        let mut sgd = r.config.build(r.state.trace.len())?;
        sgd.load_state(r.state)?;
        Ok(sgd)
    }
}

impl<F: Float> Sgd<F> {
    /// The validated hyper-parameters.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }

    fn load_state(&mut self, state: SgdState<F>) -> Result<(), OptimError> {
        check_state("trace", &state.trace, self.state.trace.len(), false)?;
        self.state = state;
        Ok(())
    }
}

impl<F> Optimizer<F> for Sgd<F>
where
    F: Float + Serialize + DeserializeOwned,
{
    type State = SgdState<F>;

    fn step(&mut self, params: &mut [F], grads: &[F]) -> Result<(), OptimError> {
        check_shapes(self.state.trace.len(), params.len(), grads.len())?;
        check_finite(grads)?;
        let c = &self.config;
        let mu: F = to_float("momentum", c.momentum)?;
        let weight_decay: F = to_float("weight_decay", c.weight_decay)?;
        let neg_lr: F = to_float("learning_rate", -c.schedule.lr(self.state.step))?;
        let (momentum, nesterov, decay) = (c.momentum != 0.0, c.nesterov, c.weight_decay != 0.0);

        for ((p, &g), m) in params
            .iter_mut()
            .zip(grads)
            .zip(self.state.trace.iter_mut())
        {
            let mut u = g;
            if momentum {
                *m = g + mu * *m;
                u = if nesterov { g + mu * *m } else { *m };
            }
            if decay {
                u = u + weight_decay * *p;
            }
            *p = *p + neg_lr * u;
        }
        self.state.step = self.state.step.saturating_add(1);
        Ok(())
    }

    fn num_params(&self) -> usize {
        self.state.trace.len()
    }

    fn step_count(&self) -> u64 {
        self.state.step
    }

    fn schedule(&self) -> &Schedule {
        &self.config.schedule
    }

    fn state(&self) -> &SgdState<F> {
        &self.state
    }

    fn set_state(&mut self, state: SgdState<F>) -> Result<(), OptimError> {
        self.load_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use proptest::prelude::*;

    const P0: [f64; 3] = [1.0, -0.5, 2.0];
    const GRADS: [[f64; 3]; 3] = [[0.5, -0.25, 0.0], [0.1, 0.3, -1.0], [-0.2, 0.05, 2.0]];

    fn check_steps(
        config: SgdConfig,
        expected_p: &[[f64; 3]],
        expected_trace: Option<&[[f64; 3]]>,
    ) {
        let mut sgd = config.build(3).unwrap();
        let mut p = P0;
        for (k, want) in expected_p.iter().enumerate() {
            sgd.step(&mut p, &GRADS[k]).unwrap();
            for i in 0..3 {
                assert_abs_diff_eq!(p[i], want[i], epsilon = 1e-15);
                if let Some(tr) = expected_trace {
                    assert_abs_diff_eq!(sgd.state().trace[i], tr[k][i], epsilon = 1e-15);
                }
            }
        }
    }

    // Expected values computed by hand from optax's `sgd` (`trace` then
    // `scale_by_learning_rate`), η = 0.1, μ = 0.9, and checked with plain
    // Python floats:
    //
    //     m = g + mu*m;  u = g + mu*m if nesterov else m;  p = p + (-lr)*u
    //
    // Heavy ball, entry 0: m₁ = 0.5, p₁ = 1 − 0.05 = 0.95;
    // m₂ = 0.1 + 0.9·0.5 = 0.55, p₂ = 0.95 − 0.055 = 0.895;
    // m₃ = −0.2 + 0.9·0.55 = 0.295, p₃ = 0.895 − 0.0295 = 0.8655.
    const TRACE: [[f64; 3]; 3] = [
        [0.5, -0.25, 0.0],
        [0.55, 0.07499999999999998, -1.0],
        [0.29500000000000004, 0.1175, 1.1],
    ];

    #[test]
    fn momentum_hand_computed_steps() {
        let p = [
            [0.95, -0.475, 2.0],
            [0.8949999999999999, -0.4825, 2.1],
            [0.8654999999999999, -0.49424999999999997, 1.99],
        ];
        check_steps(
            SgdConfig::default()
                .with_learning_rate(0.1)
                .with_momentum(0.9),
            &p,
            Some(&TRACE),
        );
    }

    // Nesterov, entry 0: u₁ = 0.5 + 0.9·0.5 = 0.95, p₁ = 1 − 0.095 = 0.905;
    // u₂ = 0.1 + 0.9·0.55 = 0.595, p₂ = 0.905 − 0.0595 = 0.8455;
    // u₃ = −0.2 + 0.9·0.295 = 0.0655, p₃ = 0.8455 − 0.00655 = 0.83895.
    #[test]
    fn nesterov_hand_computed_steps() {
        let p = [
            [0.905, -0.4525, 2.0],
            [0.8455, -0.48925, 2.19],
            [0.83895, -0.504825, 1.891],
        ];
        let config = SgdConfig::default()
            .with_learning_rate(0.1)
            .with_momentum(0.9)
            .with_nesterov(true);
        check_steps(config, &p, Some(&TRACE));
    }

    // Plain SGD: p ← p − 0.1·g, e.g. entry 0: 1 − 0.05 = 0.95, 0.95 − 0.01 = 0.94.
    #[test]
    fn plain_sgd_hand_computed_steps() {
        let p = [[0.95, -0.475, 2.0], [0.94, -0.505, 2.1]];
        check_steps(SgdConfig::default().with_learning_rate(0.1), &p, None);
    }

    // Momentum with λ = 0.01 (u ← m + λ·p): entry 2 step 1: u = 0 + 0.02,
    // p = 2 − 0.1·0.02 = 1.998. Python as above with `u = u + wd*p`.
    #[test]
    fn weight_decay_hand_computed_steps() {
        let p = [
            [0.949, -0.4745, 1.998],
            [0.8930509999999999, -0.4815255, 2.096002],
        ];
        let config = SgdConfig::default()
            .with_learning_rate(0.1)
            .with_momentum(0.9)
            .with_weight_decay(0.01);
        check_steps(config, &p, Some(&TRACE));
    }

    #[test]
    fn state_round_trip_gives_bit_identical_next_step() {
        let config = SgdConfig::default()
            .with_schedule(Schedule::Exponential {
                init_value: 0.03,
                transition_steps: 7,
                decay_rate: 0.9,
                staircase: false,
            })
            .with_momentum(0.95)
            .with_nesterov(true)
            .with_weight_decay(1e-3);
        let mut sgd = config.build(4).unwrap();
        let mut p = [0.3, -1.7, 2.2, 1e-4];
        for k in 0..13 {
            let g: Vec<f64> = (0..4).map(|i| ((k * 5 + i) as f64 * 0.77).sin()).collect();
            sgd.step(&mut p, &g).unwrap();
        }
        // State only, into a fresh optimizer.
        let mut from_state = config.build(4).unwrap();
        from_state
            .set_state(serde_json::from_str(&serde_json::to_string(sgd.state()).unwrap()).unwrap())
            .unwrap();
        // Whole optimizer.
        let mut whole: Sgd<f64> =
            serde_json::from_str(&serde_json::to_string(&sgd).unwrap()).unwrap();
        assert_eq!(whole, sgd);

        let g = [0.11, -0.7, 3.3, 1e-6];
        let (mut p1, mut p2) = (p, p);
        sgd.step(&mut p, &g).unwrap();
        from_state.step(&mut p1, &g).unwrap();
        whole.step(&mut p2, &g).unwrap();
        assert_eq!(p.map(f64::to_bits), p1.map(f64::to_bits));
        assert_eq!(p.map(f64::to_bits), p2.map(f64::to_bits));
    }

    fn expect_invalid<T: std::fmt::Debug>(r: Result<T, OptimError>, want: &str, value: f64) {
        match r {
            Err(OptimError::InvalidHyperparameter { name, value: v, .. }) => {
                assert_eq!(name, want);
                assert!(
                    v == value || (v.is_nan() && value.is_nan()),
                    "{name}: {v} vs {value}"
                );
            }
            other => panic!("expected an error naming {want} = {value}, got {other:?}"),
        }
    }

    #[test]
    fn error_momentum_outside_unit_interval() {
        for mu in [1.0, -0.5, f64::NAN] {
            expect_invalid(
                SgdConfig::default().with_momentum(mu).build::<f64>(1),
                "momentum",
                mu,
            );
        }
    }

    #[test]
    fn error_lr_not_positive_or_nan() {
        for lr in [0.0, -0.1, f64::NAN] {
            expect_invalid(
                SgdConfig::default().with_learning_rate(lr).build::<f64>(1),
                "learning_rate",
                lr,
            );
        }
    }

    #[test]
    fn error_weight_decay_negative() {
        expect_invalid(
            SgdConfig::default().with_weight_decay(-1.0).build::<f64>(1),
            "weight_decay",
            -1.0,
        );
    }

    #[test]
    fn error_bad_schedule_in_config() {
        let config = SgdConfig::default().with_schedule(Schedule::WarmupCosine {
            init_value: 0.0,
            peak_value: 0.1,
            warmup_steps: 10,
            decay_steps: 5,
            end_value: 0.0,
        });
        assert_eq!(
            config.build::<f64>(1).unwrap_err(),
            OptimError::WarmupTooLong {
                warmup_steps: 10,
                decay_steps: 5
            }
        );
    }

    #[test]
    fn error_shape_mismatch() {
        let mut sgd = SgdConfig::default().build::<f64>(2).unwrap();
        let mut p = [1.0, 2.0];
        let err = sgd.step(&mut p, &[1.0]).unwrap_err();
        assert_eq!(
            err,
            OptimError::ShapeMismatch {
                what: "grads",
                expected: 2,
                got: 1
            }
        );
        let mut long = [1.0; 3];
        assert!(matches!(
            sgd.step(&mut long, &[1.0; 3]),
            Err(OptimError::ShapeMismatch { what: "params", .. })
        ));
        assert_eq!(p, [1.0, 2.0]);
        assert_eq!(sgd.step_count(), 0);
    }

    #[test]
    fn error_non_finite_gradient_leaves_everything_untouched() {
        let mut sgd = SgdConfig::default()
            .with_momentum(0.9)
            .build::<f64>(3)
            .unwrap();
        let mut p = P0;
        sgd.step(&mut p, &GRADS[0]).unwrap();
        let (p_before, state_before) = (p, sgd.state().clone());
        let err = sgd.step(&mut p, &[0.1, 0.2, f64::NAN]).unwrap_err();
        assert!(matches!(err, OptimError::NonFiniteGradient { index: 2, value } if value.is_nan()));
        assert_eq!(p, p_before);
        assert_eq!(sgd.state(), &state_before);
    }

    #[test]
    fn error_set_state_wrong_length_or_non_finite() {
        let mut sgd = SgdConfig::default().build::<f64>(2).unwrap();
        assert_eq!(
            sgd.set_state(SgdState {
                step: 1,
                trace: vec![0.0]
            }),
            Err(OptimError::ShapeMismatch {
                what: "trace",
                expected: 2,
                got: 1
            })
        );
        assert!(matches!(
            sgd.set_state(SgdState {
                step: 1,
                trace: vec![0.0, f64::INFINITY]
            }),
            Err(OptimError::InvalidState {
                what: "trace",
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn error_deserialize_invalid_config() {
        let json = r#"{"config":{"momentum":1.0},"state":{"step":0,"trace":[0.0]}}"#;
        let err = serde_json::from_str::<Sgd<f64>>(json).unwrap_err();
        assert!(err.to_string().contains("momentum"), "{err}");
    }

    #[test]
    fn clip_and_step_clips_first() {
        let mut sgd = SgdConfig::default()
            .with_learning_rate(1.0)
            .build::<f64>(2)
            .unwrap();
        let mut p = [0.0, 0.0];
        let mut g = [3.0, 4.0];
        let norm = sgd.clip_and_step(&mut p, &mut g, 1.0).unwrap();
        assert_eq!(norm, 5.0);
        assert_eq!(g, [0.6, 0.8]); // (3/5)·1, (4/5)·1
        assert_eq!(p, [-0.6, -0.8]);
        // Shape errors come before the gradients are touched.
        let mut g3 = [3.0, 4.0, 5.0];
        assert!(sgd.clip_and_step(&mut p, &mut g3, 1.0).is_err());
        assert_eq!(g3, [3.0, 4.0, 5.0]);
    }

    proptest! {
        #[test]
        fn momentum_zero_is_plain_sgd(
            grads in prop::collection::vec(prop::collection::vec(-10.0_f64..10.0, 3), 1..8),
            lr in 1e-4_f64..1.0,
        ) {
            let mut a = SgdConfig::default().with_learning_rate(lr).build::<f64>(3).unwrap();
            let mut p = P0;
            let mut q = P0;
            for g in &grads {
                a.step(&mut p, g).unwrap();
                for (q, g) in q.iter_mut().zip(g) {
                    *q += (-lr) * g;
                }
            }
            prop_assert_eq!(p.map(f64::to_bits), q.map(f64::to_bits));
        }
    }
}
