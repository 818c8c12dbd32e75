//! Training learns: seeded short runs of the Yin–Yang experiment on a
//! subset reach a stated test accuracy far above chance (1/3), and the
//! README's headline run (`evnn train` with default settings) reaches its
//! stated test accuracy (an `#[ignore]`d release test that `.ci/run` runs).
//!
//! The runs are deterministic (seeded initialisation and shuffling, results
//! identical for any thread count), so the thresholds cannot be missed by
//! chance; each one sits well below the seeded run's accuracy, so that a
//! rounding-level change to the solver does not trip it, and far above what
//! a network that does not learn reaches.

use evnn_examples::experiment::{
    train, with_net, ModelKind, Splits, TrainConfig, TrainOutcome, WithNet,
};
use evnn_net::{BatchRunner, FeedForward};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};

mod common;
use common::{evnn, tmp};

/// Trains `config` on its splits with the library's training loop.
struct Train<'a>(&'a TrainConfig, &'a Splits);

impl WithNet for Train<'_> {
    type Output = TrainOutcome;
    fn run<N, B>(self, net: FeedForward<N, B>) -> anyhow::Result<TrainOutcome>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        train(&BatchRunner::new(net), self.0, self.1, &mut ())
    }
}

/// The accuracy of the initial parameters on the test split and the
/// outcome of training `config`.
fn initial_and_trained(config: &TrainConfig) -> (f64, TrainOutcome) {
    let splits = Splits::load(config).unwrap();
    let untrained = TrainConfig {
        epochs: 0,
        ..config.clone()
    };
    let initial = with_net(&untrained, Train(&untrained, &splits)).unwrap();
    let trained = with_net(config, Train(config, &splits)).unwrap();
    (initial.test_acc, trained)
}

/// A short run on a subset: 2000 training samples, batches of 64, the
/// whole validation and test splits, default network and seed.
fn short_run(model: ModelKind, epochs: usize) -> TrainConfig {
    TrainConfig {
        model,
        epochs,
        train_size: 2000,
        batch_size: 64,
        ..TrainConfig::default()
    }
}

fn assert_learns(config: &TrainConfig, min_test_acc: f64) {
    let (initial, outcome) = initial_and_trained(config);
    let curve: Vec<f64> = outcome
        .epochs
        .iter()
        .map(|e| e.val_score.unwrap())
        .collect();
    println!(
        "{:?}: test accuracy {} (initial {initial}), best validation {} at epoch {}",
        config.model, outcome.test_acc, outcome.best_val_acc, outcome.best_epoch
    );
    assert!(
        outcome.test_acc >= min_test_acc,
        "{:?}: test accuracy {} after {} epochs, expected >= {min_test_acc} \
         (initial {initial}; validation per epoch {curve:?})",
        config.model,
        outcome.test_acc,
        config.epochs,
    );
    // Learning, not a lucky initialisation: the trained model is far better
    // than the initial one, and its validation accuracy is the best seen.
    assert!(
        outcome.test_acc >= initial + 0.2,
        "{:?}: test accuracy {} vs {initial} before training",
        config.model,
        outcome.test_acc,
    );
    assert!(outcome.best_epoch > 0, "{:?}: best epoch 0", config.model);
}

/// QIF, the default experiment's network, 30 epochs on 2000 samples. The
/// seeded run reached 95.4 % test accuracy (best validation 94.5 %, epoch
/// 29) when the test was written, from 33.4 % at the initial parameters;
/// the threshold of 85 % leaves room for rounding-level changes.
#[test]
fn qif_short_run_learns() {
    assert_learns(&short_run(ModelKind::Qif, 30), 0.85);
}

/// LIF (closed form), 20 epochs on 2000 samples. The seeded run reached
/// 93.5 % test accuracy (best validation 93.2 %, epoch 20) when the test was
/// written, from 33.4 % at the initial parameters; threshold 85 %.
#[test]
fn lif_short_run_learns() {
    assert_learns(&short_run(ModelKind::Lif, 20), 0.85);
}

/// The README's headline run: `evnn train` with default settings (QIF
/// 5-20-3, 100 epochs, seed 0) must reach at least 98.5 % test accuracy
/// (the README reports 99.2 % for this run). Release build only (the whole
/// experiment):
/// `cargo test --release -p evnn-examples --test learning -- --ignored`
/// (`.ci/run` runs it).
#[test]
#[ignore = "the full 100-epoch run; run in release by .ci/run"]
fn readme_headline_run_reaches_98_5_percent() {
    let out = tmp("headline");
    let o = evnn(&["train", "--out", out.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "evnn train failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        m["config"],
        serde_json::to_value(TrainConfig::default()).unwrap()
    );
    let acc = m["test_acc"].as_f64().unwrap();
    println!(
        "headline run: test accuracy {acc}, best validation {} at epoch {}",
        m["best_val_acc"], m["best_epoch"]
    );
    assert!(acc >= 0.985, "test accuracy {acc}, expected >= 0.985");
    let _ = std::fs::remove_dir_all(&out);
}
