//! Adam (Kingma & Ba, 2015) with optax's defaults, optionally with decoupled
//! weight decay (AdamW, Loshchilov & Hutter, 2019).

use crate::optimizer::{
    check_finite, check_shapes, check_state, count_to_float, non_negative, to_float, unit_interval,
};
use crate::{OptimError, Optimizer, Schedule};
use num_traits::Float;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Hyper-parameters of [`Adam`]; a plain serde struct, validated by
/// [`build`](AdamConfig::build).
///
/// Defaults are optax's `adam`: `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`,
/// `eps_root = 0`, with a constant learning rate of `1e-3` and no weight
/// decay. Missing fields in a file take these defaults; unknown fields are
/// refused.
///
/// Units: Adam's update `m̂/(√v̂ + ε)` is dimensionless (about ±1 per entry
/// early on), so the learning rate is in parameter units per step; `eps` and
/// `eps_root` are in gradient units and squared gradient units; the weight
/// decay is per unit of learning rate (the step shrinks `p` by `η·λ·p`).
///
/// # Examples
///
/// ```
/// use evnn_optim::{AdamConfig, Schedule};
///
/// let adam = AdamConfig::default()
///     .with_schedule(Schedule::WarmupCosine {
///         init_value: 0.0,
///         peak_value: 3e-3,
///         warmup_steps: 50,
///         decay_steps: 1000,
///         end_value: 1e-5,
///     })
///     .with_weight_decay(1e-4)
///     .build::<f64>(10)?;
/// assert_eq!(adam.config().b2, 0.999);
///
/// let bad = AdamConfig { b1: 1.0, ..AdamConfig::default() };
/// assert!(bad.build::<f64>(10).is_err());
/// # Ok::<(), evnn_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate `η(t)` by step.
    pub schedule: Schedule,
    /// Decay of the first-moment average, `β₁ ∈ [0, 1)`.
    pub b1: f64,
    /// Decay of the second-moment average, `β₂ ∈ [0, 1)`.
    pub b2: f64,
    /// `ε ≥ 0` added to `√v̂` in the denominator.
    pub eps: f64,
    /// `ε_root ≥ 0` added to `v̂` under the square root (optax's `eps_root`).
    pub eps_root: f64,
    /// Decoupled weight decay `λ ≥ 0` (AdamW); 0 is plain Adam.
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            schedule: Schedule::default(),
            b1: 0.9,
            b2: 0.999,
            eps: 1e-8,
            eps_root: 0.0,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Sets a constant learning rate.
    pub fn with_learning_rate(self, lr: f64) -> Self {
        self.with_schedule(Schedule::constant(lr))
    }

    /// Sets the learning-rate schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the moment decays `β₁` and `β₂`.
    pub fn with_betas(mut self, b1: f64, b2: f64) -> Self {
        self.b1 = b1;
        self.b2 = b2;
        self
    }

    /// Sets `ε`.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the decoupled weight decay `λ` (AdamW).
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks every hyper-parameter; the error names the first bad one.
    pub fn validate(&self) -> Result<(), OptimError> {
        self.schedule.validate()?;
        unit_interval("b1", self.b1)?;
        unit_interval("b2", self.b2)?;
        non_negative("eps", self.eps)?;
        non_negative("eps_root", self.eps_root)?;
        if self.eps == 0.0 && self.eps_root == 0.0 {
            return Err(OptimError::InvalidHyperparameter {
                name: "eps",
                value: self.eps,
                reason: "eps and eps_root cannot both be 0 (a zero gradient would give 0/0)",
            });
        }
        non_negative("weight_decay", self.weight_decay)
    }

    /// Validates the config and returns an Adam optimizer with zeroed state
    /// for `num_params` parameters of type `F`.
    pub fn build<F: Float>(&self, num_params: usize) -> Result<Adam<F>, OptimError> {
        self.validate()?;
        // With `f32` parameters a β just below 1 can round to 1, which would
        // make the bias correction 1 − β^t vanish.
        for (name, beta) in [("b1", self.b1), ("b2", self.b2)] {
            if to_float::<F>(name, beta)? >= F::one() {
                return Err(OptimError::InvalidHyperparameter {
                    name,
                    value: beta,
                    reason: "rounds to 1 in the parameter float type",
                });
            }
        }
        Ok(Adam {
            config: self.clone(),
            state: AdamState {
                step: 0,
                m: vec![F::zero(); num_params],
                v: vec![F::zero(); num_params],
            },
        })
    }
}

/// The mutable state of [`Adam`]: step count and moment estimates
/// (optax's `ScaleByAdamState` `count`, `mu`, `nu`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned")
)]
pub struct AdamState<F> {
    /// Steps taken so far, `t`.
    pub step: u64,
    /// First-moment estimate `m` (biased), one entry per parameter.
    pub m: Vec<F>,
    /// Second-moment estimate `v` (biased, `≥ 0`), one entry per parameter.
    pub v: Vec<F>,
}

/// Adam with bias correction, optax's `adam` / `adamw`.
///
/// At step `t = 1, 2, …` with gradient `g`, learning rate `η = η(t − 1)` and
/// parameters `p`, for each entry:
///
/// ```text
/// m ← (1 − β₁)·g + β₁·m
/// v ← (1 − β₂)·(g·g) + β₂·v
/// m̂ = m / (1 − β₁^t)
/// v̂ = v / (1 − β₂^t)
/// u = m̂ / (√(v̂ + ε_root) + ε)
/// u ← u + λ·p                  (only when λ > 0)
/// p ← p + (−η)·u
/// ```
///
/// This is optax's order of floating-point operations
/// (`chain(scale_by_adam, add_decayed_weights, scale_by_learning_rate)`
/// followed by `apply_updates`): `1 − β` is formed in `f64` before the
/// conversion to `F` (as Python does before JAX casts it), `β^t` is `powf` in
/// `F`, the bias corrections are divisions, and the weight decay is added to
/// the Adam direction before scaling by `−η`, so with `λ > 0` the step is
/// `p ← p − η·(u + λ·p)`: AdamW's decoupled decay `p ← p − η·λ·p`, not an
/// L2 term in the gradient. With `f64` parameters a step should match optax
/// under `jax_enable_x64` except for the last bit of `β^t`, which XLA's
/// `power` and the platform's `pow` may round differently; the tests check
/// against the same rule transcribed in plain Python floats.
///
/// # Examples
///
/// ```
/// use evnn_optim::{AdamConfig, Optimizer};
///
/// let mut adam = AdamConfig::default().with_learning_rate(0.1).build(2)?;
/// let mut p = [1.0_f64, -1.0];
/// adam.step(&mut p, &[0.5, -3.0])?;
/// // Adam's first step moves each entry by ≈ η·sign(g).
/// assert!((p[0] - 0.9).abs() < 1e-7 && (p[1] + 0.9).abs() < 1e-7);
///
/// // Save and restore the whole optimizer.
/// let json = serde_json::to_string(&adam).unwrap();
/// let back: evnn_optim::Adam<f64> = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.state(), adam.state());
/// # Ok::<(), evnn_optim::OptimError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    try_from = "AdamRecord<F>",
    bound(
        serialize = "F: Serialize",
        deserialize = "F: Float + DeserializeOwned"
    )
)]
pub struct Adam<F = f64> {
    config: AdamConfig,
    state: AdamState<F>,
}

/// What an [`Adam`] looks like in a file; validated on load.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "F: DeserializeOwned"))]
struct AdamRecord<F> {
    config: AdamConfig,
    state: AdamState<F>,
}

impl<F: Float> TryFrom<AdamRecord<F>> for Adam<F> {
    type Error = OptimError;
    fn try_from(r: AdamRecord<F>) -> Result<Self, OptimError> {
        let mut adam = r.config.build(r.state.m.len())?;
        adam.load_state(r.state)?;
        Ok(adam)
    }
}

impl<F: Float> Adam<F> {
    /// The validated hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    fn load_state(&mut self, state: AdamState<F>) -> Result<(), OptimError> {
        let n = self.state.m.len();
        check_state("m", &state.m, n, false)?;
        check_state("v", &state.v, n, true)?;
        self.state = state;
        Ok(())
    }
}

impl<F> Optimizer<F> for Adam<F>
where
    F: Float + Serialize + DeserializeOwned,
{
    type State = AdamState<F>;

    fn step(&mut self, params: &mut [F], grads: &[F]) -> Result<(), OptimError> {
        check_shapes(self.state.m.len(), params.len(), grads.len())?;
        check_finite(grads)?;
        let c = &self.config;
        let b1: F = to_float("b1", c.b1)?;
        let b2: F = to_float("b2", c.b2)?;
        let one_minus_b1: F = to_float("b1", 1.0 - c.b1)?;
        let one_minus_b2: F = to_float("b2", 1.0 - c.b2)?;
        let eps: F = to_float("eps", c.eps)?;
        let eps_root: F = to_float("eps_root", c.eps_root)?;
        let weight_decay: F = to_float("weight_decay", c.weight_decay)?;
        let decay = c.weight_decay != 0.0;
        let neg_lr: F = to_float("learning_rate", -c.schedule.lr(self.state.step))?;
        // optax's `safe_increment`: the count saturates instead of wrapping.
        let t = self.state.step.saturating_add(1);
        let t_f: F = count_to_float(t)?;
        let bias1 = F::one() - b1.powf(t_f);
        let bias2 = F::one() - b2.powf(t_f);

        let AdamState { m, v, .. } = &mut self.state;
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m = one_minus_b1 * g + b1 * *m;
            *v = one_minus_b2 * (g * g) + b2 * *v;
            let m_hat = *m / bias1;
            let v_hat = *v / bias2;
            let mut u = m_hat / ((v_hat + eps_root).sqrt() + eps);
            if decay {
                u = u + weight_decay * *p;
            }
            *p = *p + neg_lr * u;
        }
        self.state.step = t;
        Ok(())
    }

    fn num_params(&self) -> usize {
        self.state.m.len()
    }

    fn step_count(&self) -> u64 {
        self.state.step
    }

    fn schedule(&self) -> &Schedule {
        &self.config.schedule
    }

    fn state(&self) -> &AdamState<F> {
        &self.state
    }

    fn set_state(&mut self, state: AdamState<F>) -> Result<(), OptimError> {
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

    fn assert_all_close(got: &[f64], want: &[f64], what: &str, step: usize) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert_abs_diff_eq!(*g, *w, epsilon = 1e-15);
            assert!(
                (g - w).abs() <= 1e-15,
                "step {step}, {what}[{i}]: got {g}, expected {w}"
            );
        }
    }

    // Expected values computed by hand from optax's update rule (`scale_by_adam`
    // then `scale_by_learning_rate`, see the `Adam` docs), η = 0.1, β₁ = 0.9,
    // β₂ = 0.999, ε = 1e-8, and checked with plain Python floats:
    //
    //     m = (1-b1)*g + b1*m;  v = (1-b2)*(g*g) + b2*v
    //     u = (m/(1-b1**t)) / (math.sqrt(v/(1-b2**t) + 0.0) + eps)
    //     p = p + (-lr)*u                       # (+ wd*p added to u for AdamW)
    //
    // Step 1 entry 0 by hand: m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 2.5e-4,
    // m̂ = 0.05/0.1 = 0.5, v̂ = 2.5e-4/0.001 = 0.25, u = 0.5/(0.5 + 1e-8),
    // p = 1 − 0.1·u = 0.900000002. Entry 2 has g = 0: m = v = 0, u = 0/ε = 0.
    #[test]
    fn hand_computed_steps_match_the_optax_rule() {
        let expected_p = [
            [0.900000002, -0.40000000399999985, 2.0],
            [0.8196959063846518, -0.41429447654774704, 2.074413681304593],
            [0.785260531835489, -0.43337311935275025, 2.0429850645985463],
        ];
        let expected_m = [
            [0.04999999999999999, -0.024999999999999994, 0.0],
            [
                0.05499999999999999,
                0.007499999999999996,
                -0.09999999999999998,
            ],
            [0.0295, 0.011749999999999997, 0.10999999999999997],
        ];
        let expected_v = [
            [0.0002500000000000002, 6.250000000000006e-05, 0.0],
            [
                0.00025975000000000027,
                0.00015243750000000012,
                0.0010000000000000009,
            ],
            [
                0.0002994902500000003,
                0.00015478506250000013,
                0.004999000000000004,
            ],
        ];
        let mut adam = AdamConfig::default()
            .with_learning_rate(0.1)
            .build(3)
            .unwrap();
        let mut p = P0;
        for (k, g) in GRADS.iter().enumerate() {
            adam.step(&mut p, g).unwrap();
            assert_eq!(adam.step_count(), k as u64 + 1);
            assert_all_close(&p, &expected_p[k], "p", k + 1);
            assert_all_close(&adam.state().m, &expected_m[k], "m", k + 1);
            assert_all_close(&adam.state().v, &expected_v[k], "v", k + 1);
        }
    }

    // Same derivation with λ = 0.01 (optax `adamw`: u ← u + λ·p before −η).
    // Step 1 entry 2 by hand: u = 0 + 0.01·2 = 0.02, p = 2 − 0.1·0.02 = 1.998.
    #[test]
    fn adamw_hand_computed_steps() {
        let expected_p = [
            [0.899000002, -0.39950000399999985, 1.998],
            [0.8177969063826518, -0.413394976543747, 2.070415681304593],
        ];
        let mut adam = AdamConfig::default()
            .with_learning_rate(0.1)
            .with_weight_decay(0.01)
            .build(3)
            .unwrap();
        let mut p = P0;
        for (k, g) in GRADS[..2].iter().enumerate() {
            adam.step(&mut p, g).unwrap();
            assert_all_close(&p, &expected_p[k], "p", k + 1);
        }
    }

    #[test]
    fn schedule_rate_is_taken_before_the_increment() {
        // η(0) = 0 makes the first step a no-op on p while the moments move.
        let schedule = Schedule::WarmupCosine {
            init_value: 0.0,
            peak_value: 0.1,
            warmup_steps: 1,
            decay_steps: 10,
            end_value: 0.0,
        };
        let mut adam = AdamConfig::default()
            .with_schedule(schedule)
            .build(3)
            .unwrap();
        let mut p = P0;
        assert_eq!(adam.learning_rate(), 0.0);
        adam.step(&mut p, &GRADS[0]).unwrap();
        assert_eq!(p, P0);
        assert_eq!(adam.state().m[0], 0.04999999999999999);
        assert_eq!(adam.learning_rate(), 0.1);
    }

    #[test]
    fn f32_first_step_is_lr_times_sign() {
        let mut adam = AdamConfig::default()
            .with_learning_rate(0.01)
            .build::<f32>(2)
            .unwrap();
        let mut p = [1.0_f32, 1.0];
        adam.step(&mut p, &[1e-3, -5.0]).unwrap();
        assert!((p[0] - 0.99).abs() < 1e-6, "{p:?}");
        assert!((p[1] - 1.01).abs() < 1e-6, "{p:?}");
    }

    fn run(adam: &mut Adam<f64>, p: &mut [f64], steps: usize, seed: f64) {
        for k in 0..steps {
            let g: Vec<f64> = (0..p.len())
                .map(|i| ((k * 7 + i * 3) as f64 * seed).sin() * 10f64.powi(i as i32 % 3 - 1))
                .collect();
            adam.step(p, &g).unwrap();
        }
    }

    #[test]
    fn state_round_trip_gives_bit_identical_next_step() {
        let mut adam = AdamConfig::default()
            .with_learning_rate(0.01)
            .with_weight_decay(1e-3)
            .build(5)
            .unwrap();
        let mut p = [0.3, -1.7, 2.2, 1e-4, 5.0];
        run(&mut adam, &mut p, 17, 0.37);

        let json = serde_json::to_string(adam.state()).unwrap();
        let mut restored = adam.config().build::<f64>(5).unwrap();
        restored
            .set_state(serde_json::from_str(&json).unwrap())
            .unwrap();
        assert_eq!(restored.state(), adam.state());

        let mut p2 = p;
        let g = [0.11, -0.7, 3.3, 1e-6, -2.0];
        adam.step(&mut p, &g).unwrap();
        restored.step(&mut p2, &g).unwrap();
        assert_eq!(p.map(f64::to_bits), p2.map(f64::to_bits));
        assert_eq!(restored.state(), adam.state());
    }

    #[test]
    fn whole_optimizer_round_trip_gives_bit_identical_next_step() {
        let schedule = Schedule::WarmupCosine {
            init_value: 0.0,
            peak_value: 0.02,
            warmup_steps: 5,
            decay_steps: 50,
            end_value: 1e-4,
        };
        let mut adam = AdamConfig::default()
            .with_schedule(schedule)
            .build(4)
            .unwrap();
        let mut p = [0.3, -1.7, 2.2, 1e-4];
        run(&mut adam, &mut p, 9, 1.3);
        let json = serde_json::to_string(&adam).unwrap();
        let mut back: Adam<f64> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, adam);
        let mut p2 = p;
        run(&mut adam, &mut p, 3, 0.1);
        run(&mut back, &mut p2, 3, 0.1);
        assert_eq!(p.map(f64::to_bits), p2.map(f64::to_bits));
    }

    #[test]
    fn f32_state_round_trip_gives_bit_identical_next_step() {
        let mut adam = AdamConfig::default()
            .with_learning_rate(0.01)
            .build::<f32>(3)
            .unwrap();
        let mut p = [0.3_f32, -1.7, 2.2];
        for k in 0..11 {
            let g = [(k as f32).sin(), 0.1 * (k as f32).cos(), 1e-3];
            adam.step(&mut p, &g).unwrap();
        }
        let back: Adam<f32> = serde_json::from_str(&serde_json::to_string(&adam).unwrap()).unwrap();
        assert_eq!(back, adam);
        let (mut a, mut b) = (adam, back);
        let mut p2 = p;
        a.step(&mut p, &[0.5, -0.5, 0.25]).unwrap();
        b.step(&mut p2, &[0.5, -0.5, 0.25]).unwrap();
        assert_eq!(p.map(f32::to_bits), p2.map(f32::to_bits));
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
    fn error_lr_not_positive() {
        for lr in [0.0, -1e-3] {
            expect_invalid(
                AdamConfig::default().with_learning_rate(lr).build::<f64>(1),
                "learning_rate",
                lr,
            );
        }
    }

    #[test]
    fn error_lr_nan() {
        expect_invalid(
            AdamConfig::default()
                .with_learning_rate(f64::NAN)
                .build::<f64>(1),
            "learning_rate",
            f64::NAN,
        );
    }

    #[test]
    fn error_b1_outside_unit_interval() {
        for b1 in [1.0, -0.1, f64::NAN] {
            expect_invalid(
                AdamConfig::default().with_betas(b1, 0.999).build::<f64>(1),
                "b1",
                b1,
            );
        }
    }

    #[test]
    fn error_b2_outside_unit_interval() {
        for b2 in [1.0, 1.5, -1e-9] {
            expect_invalid(
                AdamConfig::default().with_betas(0.9, b2).build::<f64>(1),
                "b2",
                b2,
            );
        }
    }

    #[test]
    fn error_b2_rounds_to_one_in_f32() {
        let c = AdamConfig::default().with_betas(0.9, 0.999_999_999);
        assert!(c.build::<f64>(1).is_ok());
        expect_invalid(c.build::<f32>(1), "b2", 0.999_999_999);
    }

    #[test]
    fn error_eps_negative() {
        expect_invalid(
            AdamConfig::default().with_eps(-1e-8).build::<f64>(1),
            "eps",
            -1e-8,
        );
        let root = AdamConfig {
            eps_root: f64::INFINITY,
            ..AdamConfig::default()
        };
        expect_invalid(root.build::<f64>(1), "eps_root", f64::INFINITY);
    }

    #[test]
    fn error_eps_and_eps_root_both_zero() {
        expect_invalid(
            AdamConfig::default().with_eps(0.0).build::<f64>(1),
            "eps",
            0.0,
        );
        let ok = AdamConfig {
            eps: 0.0,
            eps_root: 1e-16,
            ..AdamConfig::default()
        };
        assert!(ok.build::<f64>(1).is_ok());
    }

    #[test]
    fn error_weight_decay_negative() {
        expect_invalid(
            AdamConfig::default()
                .with_weight_decay(-1e-4)
                .build::<f64>(1),
            "weight_decay",
            -1e-4,
        );
    }

    #[test]
    fn error_params_length_mismatch() {
        let mut adam = AdamConfig::default().build::<f64>(3).unwrap();
        let mut p = [1.0, 2.0];
        assert_eq!(
            adam.step(&mut p, &[0.0; 3]),
            Err(OptimError::ShapeMismatch {
                what: "params",
                expected: 3,
                got: 2
            })
        );
        assert_eq!(adam.step_count(), 0);
    }

    #[test]
    fn error_grads_length_mismatch() {
        let mut adam = AdamConfig::default().build::<f64>(3).unwrap();
        let mut p = [1.0, 2.0, 3.0];
        assert_eq!(
            adam.step(&mut p, &[0.0; 4]),
            Err(OptimError::ShapeMismatch {
                what: "grads",
                expected: 3,
                got: 4
            })
        );
        assert_eq!(p, [1.0, 2.0, 3.0]);
    }

    #[test]
    fn error_non_finite_gradient_leaves_everything_untouched() {
        let mut adam = AdamConfig::default().build::<f64>(3).unwrap();
        let mut p = P0;
        adam.step(&mut p, &GRADS[0]).unwrap();
        let (p_before, state_before) = (p, adam.state().clone());
        for (bad, index) in [(f64::NAN, 2), (f64::INFINITY, 0), (f64::NEG_INFINITY, 1)] {
            let mut g = GRADS[1];
            g[index] = bad;
            match adam.step(&mut p, &g) {
                Err(OptimError::NonFiniteGradient { index: i, value }) => {
                    assert_eq!(i, index);
                    assert!(value == bad || (value.is_nan() && bad.is_nan()));
                }
                other => panic!("got {other:?}"),
            }
            assert_eq!(p.map(f64::to_bits), p_before.map(f64::to_bits));
            assert_eq!(adam.state(), &state_before);
        }
    }

    #[test]
    fn error_set_state_wrong_length() {
        let mut adam = AdamConfig::default().build::<f64>(3).unwrap();
        let bad = AdamState {
            step: 4,
            m: vec![0.0; 3],
            v: vec![0.0; 2],
        };
        assert_eq!(
            adam.set_state(bad),
            Err(OptimError::ShapeMismatch {
                what: "v",
                expected: 3,
                got: 2
            })
        );
        assert_eq!(adam.step_count(), 0);
    }

    #[test]
    fn error_set_state_negative_second_moment() {
        let mut adam = AdamConfig::default().build::<f64>(2).unwrap();
        let bad = AdamState {
            step: 4,
            m: vec![0.0; 2],
            v: vec![1.0, -1e-3],
        };
        assert!(matches!(
            adam.set_state(bad),
            Err(OptimError::InvalidState {
                what: "v",
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn error_deserialize_invalid_config() {
        let json = r#"{"config":{"b1":1.5},"state":{"step":0,"m":[0.0],"v":[0.0]}}"#;
        let err = serde_json::from_str::<Adam<f64>>(json).unwrap_err();
        assert!(err.to_string().contains("b1"), "{err}");
    }

    #[test]
    fn error_deserialize_mismatched_state() {
        let json = r#"{"config":{},"state":{"step":3,"m":[0.0,1.0],"v":[0.0]}}"#;
        let err = serde_json::from_str::<Adam<f64>>(json).unwrap_err();
        assert!(
            err.to_string().contains("v has length 1, expected 2"),
            "{err}"
        );
    }

    #[test]
    fn config_defaults_are_optax_and_partial_files_load() {
        let c: AdamConfig = serde_json::from_str(r#"{"weight_decay": 0.01}"#).unwrap();
        assert_eq!((c.b1, c.b2, c.eps, c.eps_root), (0.9, 0.999, 1e-8, 0.0));
        assert_eq!(c.schedule, Schedule::constant(1e-3));
        assert_eq!(c.weight_decay, 0.01);
        assert!(serde_json::from_str::<AdamConfig>(r#"{"beta1": 0.9}"#).is_err());
    }

    #[test]
    fn step_count_saturates() {
        let mut adam = AdamConfig::default().build::<f64>(1).unwrap();
        adam.set_state(AdamState {
            step: u64::MAX,
            m: vec![0.1],
            v: vec![0.01],
        })
        .unwrap();
        let mut p = [1.0];
        adam.step(&mut p, &[1.0]).unwrap();
        assert_eq!(adam.step_count(), u64::MAX);
        assert!(p[0].is_finite());
    }

    #[test]
    fn empty_buffer_is_fine() {
        let mut adam = AdamConfig::default().build::<f64>(0).unwrap();
        adam.step(&mut [], &[]).unwrap();
        assert_eq!(adam.step_count(), 1);
    }

    proptest! {
        #[test]
        fn save_load_at_any_point_continues_identically(
            grads in prop::collection::vec(prop::collection::vec(-1e3_f64..1e3, 4), 2..12),
            split in 0_usize..12,
        ) {
            let split = split % grads.len();
            let mut a = AdamConfig::default().with_learning_rate(3e-3).with_weight_decay(1e-2).build::<f64>(4).unwrap();
            let mut pa = [0.5, -0.25, 1.0, 3.0];
            for g in &grads[..split] {
                a.step(&mut pa, g).unwrap();
            }
            let mut b: Adam<f64> = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            let mut pb = pa;
            for g in &grads[split..] {
                a.step(&mut pa, g).unwrap();
                b.step(&mut pb, g).unwrap();
            }
            prop_assert_eq!(pa.map(f64::to_bits), pb.map(f64::to_bits));
            prop_assert_eq!(a.state(), b.state());
        }

        #[test]
        fn finite_gradients_keep_parameters_finite(
            grads in prop::collection::vec(prop::collection::vec(-1e150_f64..1e150, 3), 1..10),
        ) {
            let mut a = AdamConfig::default().build::<f64>(3).unwrap();
            let mut p = [0.0; 3];
            for g in &grads {
                a.step(&mut p, g).unwrap();
                prop_assert!(p.iter().all(|x| x.is_finite()), "{:?}", p);
            }
        }
    }
}
