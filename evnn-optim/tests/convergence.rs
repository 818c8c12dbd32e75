//! Adam and SGD minimise the Rosenbrock function and an ill-conditioned
//! quadratic to stated tolerances, through the public API only.

use evnn_optim::{AdamConfig, OptimError, Optimizer, Schedule, SgdConfig};

/// `f(x, y) = (1 − x)² + 100 (y − x²)²`, minimum 0 at `(1, 1)`.
fn rosenbrock(p: &[f64]) -> f64 {
    (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2)
}

fn rosenbrock_grad(p: &[f64], g: &mut [f64]) {
    g[0] = -2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]);
    g[1] = 200.0 * (p[1] - p[0] * p[0]);
}

/// Runs `steps` steps from `(−1.2, 1)`; returns the distance to `(1, 1)`.
fn minimise_rosenbrock(opt: &mut impl Optimizer<f64>, steps: usize) -> Result<f64, OptimError> {
    let mut p = [-1.2, 1.0];
    let mut g = [0.0; 2];
    for _ in 0..steps {
        rosenbrock_grad(&p, &mut g);
        opt.step(&mut p, &g)?;
    }
    assert!(rosenbrock(&p).is_finite());
    Ok(((p[0] - 1.0).powi(2) + (p[1] - 1.0).powi(2)).sqrt())
}

/// `f(x) = ½ Σ aᵢ (xᵢ − cᵢ)²` with curvatures `aᵢ = i + 1` (condition number
/// 10) and centres `cᵢ = (−1)ⁱ (i + 1)/3`; starts at 0, returns `max |xᵢ − cᵢ|`.
fn minimise_quadratic<F: num_traits::Float>(
    opt: &mut impl Optimizer<F>,
    steps: usize,
) -> Result<f64, OptimError> {
    let n = 10;
    let a: Vec<F> = (0..n).map(|i| F::from(i + 1).unwrap()).collect();
    let c: Vec<F> = (0..n)
        .map(|i| F::from(if i % 2 == 0 { 1.0 } else { -1.0 } * (i + 1) as f64 / 3.0).unwrap())
        .collect();
    let mut x = vec![F::zero(); n];
    let mut g = vec![F::zero(); n];
    for _ in 0..steps {
        for i in 0..n {
            g[i] = a[i] * (x[i] - c[i]);
        }
        opt.step(&mut x, &g)?;
    }
    Ok(x.iter()
        .zip(&c)
        .map(|(x, c)| (*x - *c).abs().to_f64().unwrap())
        .fold(0.0, f64::max))
}

#[test]
fn adam_minimises_rosenbrock() {
    // Warm-up to 0.02 over 100 steps, cosine decay to 1e-5 at step 10 000.
    let schedule = Schedule::WarmupCosine {
        init_value: 0.0,
        peak_value: 0.02,
        warmup_steps: 100,
        decay_steps: 10_000,
        end_value: 1e-5,
    };
    let mut adam = AdamConfig::default()
        .with_schedule(schedule)
        .build(2)
        .unwrap();
    let dist = minimise_rosenbrock(&mut adam, 10_000).unwrap();
    // Ends 3.7e-9 away (a plain-Python transcription of optax's rule agrees).
    assert!(dist < 1e-7, "Adam ends {dist} from (1, 1)");
}

#[test]
fn sgd_momentum_minimises_rosenbrock() {
    // η = 1e-3 is below 2(1 + μ)/λ_max along the path (λ_max ≈ 1.3e3 at the start).
    let mut sgd = SgdConfig::default()
        .with_learning_rate(1e-3)
        .with_momentum(0.9)
        .build(2)
        .unwrap();
    let dist = minimise_rosenbrock(&mut sgd, 20_000).unwrap();
    assert!(dist < 1e-12, "SGD+momentum ends {dist} from (1, 1)");
}

#[test]
fn sgd_nesterov_minimises_rosenbrock() {
    let mut sgd = SgdConfig::default()
        .with_learning_rate(1e-3)
        .with_momentum(0.9)
        .with_nesterov(true)
        .build(2)
        .unwrap();
    let dist = minimise_rosenbrock(&mut sgd, 10_000).unwrap();
    assert!(dist < 1e-12, "SGD+Nesterov ends {dist} from (1, 1)");
}

#[test]
fn adam_minimises_quadratic() {
    let schedule = Schedule::WarmupCosine {
        init_value: 0.0,
        peak_value: 0.1,
        warmup_steps: 20,
        decay_steps: 3_000,
        end_value: 1e-6,
    };
    let mut adam = AdamConfig::default()
        .with_schedule(schedule.clone())
        .build::<f64>(10)
        .unwrap();
    let err = minimise_quadratic(&mut adam, 3_000).unwrap();
    assert!(err < 1e-12, "Adam (f64) max error {err}");

    let mut adam32 = AdamConfig::default()
        .with_schedule(schedule)
        .build::<f32>(10)
        .unwrap();
    let err = minimise_quadratic(&mut adam32, 3_000).unwrap();
    assert!(err < 5e-6, "Adam (f32) max error {err}");
}

#[test]
fn sgd_minimises_quadratic() {
    // Plain, heavy-ball and Nesterov; η = 0.05 < 2/a_max = 0.2.
    for (momentum, nesterov) in [(0.0, false), (0.5, false), (0.5, true)] {
        let config = SgdConfig::default()
            .with_learning_rate(0.05)
            .with_momentum(momentum)
            .with_nesterov(nesterov);
        let err = minimise_quadratic(&mut config.build::<f64>(10).unwrap(), 1_000).unwrap();
        assert!(
            err < 1e-12,
            "SGD μ = {momentum}, nesterov = {nesterov}: max error {err}"
        );
        let err = minimise_quadratic(&mut config.build::<f32>(10).unwrap(), 1_000).unwrap();
        assert!(
            err < 5e-6,
            "SGD (f32) μ = {momentum}, nesterov = {nesterov}: max error {err}"
        );
    }
}

#[test]
fn weight_decay_pulls_the_minimum_towards_zero() {
    // With decoupled decay λ the fixed point of SGD on ½(x − c)² solves
    // (x − c) + λ x = 0, i.e. x = c / (1 + λ).
    let mut sgd = SgdConfig::default()
        .with_learning_rate(0.1)
        .with_weight_decay(0.25)
        .build::<f64>(1)
        .unwrap();
    let mut x = [0.0];
    for _ in 0..500 {
        let g = [x[0] - 2.0];
        sgd.step(&mut x, &g).unwrap();
    }
    assert!((x[0] - 1.6).abs() < 1e-12, "x = {}, expected 1.6", x[0]);
}
