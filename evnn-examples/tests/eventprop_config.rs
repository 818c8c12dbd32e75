//! The EventProp paper's Yin–Yang LIF configuration
//! (`configs/eventprop-yinyang-lif.json`): it parses and validates, sets
//! what the paper sets, draws its weights from the stated normals, decays
//! the learning rate once per epoch, and a short seeded run of it learns.

use evnn_examples::experiment::{
    train, with_net, ModelKind, Splits, TrainConfig, TrainOutcome, WithNet,
};
use evnn_net::{Distribution, FeedForward, LayerInit};
use evnn_neurons::{Lif, NeuronModel};
use evnn_optim::Schedule;
use evnn_solver::{Adjoint, Backend};

fn paper_config() -> TrainConfig {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/eventprop-yinyang-lif.json"
    );
    let text = std::fs::read_to_string(path).expect("the config file is in the repository");
    serde_json::from_str(&text).expect("the config file parses as a TrainConfig")
}

#[test]
fn config_file_parses_validates_and_sets_the_papers_values() {
    let c = paper_config();
    c.validate().unwrap();
    assert_eq!(c.model, ModelKind::Lif);
    assert_eq!(c.sizes(), [5, 200, 3]);
    assert_eq!((c.tau_mem, c.tau_syn, c.theta), (20.0, 5.0, 1.0));
    assert_eq!(
        (c.lr, c.lr_decay, c.batch_size, c.epochs),
        (5e-3, 0.95, 32, 100)
    );
    assert_eq!(
        c.init_layers.as_deref(),
        Some(
            &[
                LayerInit::new(Distribution::Normal {
                    mean: 1.5,
                    std: 0.78
                }),
                LayerInit::new(Distribution::Normal {
                    mean: 0.93,
                    std: 0.1
                }),
            ][..]
        )
    );
    // Not the paper's: the two terms that keep silent neurons in training
    // (docs/training.md).
    assert_eq!((c.silent_label_push, c.silent_hidden_push), (1.0, 1.0));
    // The loss is the paper's: EventProp form, τ₀ 0.5, τ₁ 6.4, α 3e-3.
    let loss = c.ttfs_loss();
    assert_eq!(loss.kind, evnn_net::LossKind::EventProp);
    assert_eq!((loss.tau0, loss.tau1, loss.alpha), (0.5, 6.4, 3e-3));
}

/// The learning rate is `lr` for every batch of epoch 1 and `lr·0.95^(e−1)`
/// in epoch `e` (5000 samples in batches of 32: 157 steps an epoch).
#[test]
fn learning_rate_decays_once_per_epoch() {
    let c = paper_config();
    let adam = c.adam_config();
    let per_epoch = 5000u64.div_ceil(32);
    assert!(matches!(adam.schedule, Schedule::Exponential { .. }));
    for step in [0, 1, per_epoch - 1] {
        assert_eq!(adam.schedule.lr(step), 5e-3, "step {step}");
    }
    for e in [2u64, 3, 100] {
        let want = 5e-3 * 0.95f64.powi(e as i32 - 1);
        for step in [(e - 1) * per_epoch, e * per_epoch - 1] {
            let got = adam.schedule.lr(step);
            assert!(
                (got - want).abs() <= 1e-15 * want,
                "epoch {e} step {step}: got {got}, expected {want}"
            );
        }
    }
    // Without a decay the schedule is the constant one of earlier runs.
    let constant = TrainConfig::default().adam_config();
    assert_eq!(constant.schedule, Schedule::constant(0.05));
}

/// The drawn weights have the configured means and spreads (1000 and 600
/// draws: the sample mean is within 4 standard errors), biases are 0.
#[test]
fn weights_follow_the_papers_normals() {
    let c = paper_config();
    let p = c
        .init_params_for(&Lif::new(20.0, 5.0, 1.0, 0.0).unwrap())
        .unwrap();
    for (layer, (mean, std)) in p.layers.iter().zip([(1.5, 0.78), (0.93, 0.1)]) {
        let n = layer.weights.len() as f64;
        let m = layer.weights.iter().sum::<f64>() / n;
        let s = (layer.weights.iter().map(|w| (w - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(
            (m - mean).abs() < 4.0 * std / n.sqrt(),
            "mean {m}, expected {mean}"
        );
        assert!((s - std).abs() < 0.1 * std, "std {s}, expected {std}");
        assert!(layer.neuron_params.iter().all(|&b| b == 0.0));
    }
}

struct Run<'a>(&'a TrainConfig, &'a Splits);

impl WithNet for Run<'_> {
    type Output = TrainOutcome;
    fn run<N, B>(self, net: FeedForward<N, B>) -> anyhow::Result<TrainOutcome>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        train(&evnn_net::BatchRunner::new(net), self.0, self.1, &mut ())
    }
}

/// Two epochs of the paper's configuration on 400 training samples, seed
/// 0: the test accuracy is far above the 1/3 of guessing, and no output
/// neuron of the final network is silent on every test sample.
#[test]
fn short_seeded_run_learns() {
    let config = TrainConfig {
        epochs: 2,
        train_size: 400,
        val_size: 200,
        test_size: 200,
        threads: 1,
        ..paper_config()
    };
    let splits = Splits::load(&config).unwrap();
    let out = with_net(&config, Run(&config, &splits)).unwrap();
    assert!(out.test_acc > 0.6, "test accuracy {}", out.test_acc);
    assert_eq!(out.epochs.len(), 2);
}

/// `configs/lif-reliable.json` is the default LIF run with the two
/// silent-neuron terms and the per-epoch decay (docs/training.md), and nothing else.
#[test]
fn reliable_lif_config_parses_and_changes_only_the_remedy() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/lif-reliable.json");
    let text = std::fs::read_to_string(path).expect("the config file is in the repository");
    let c: TrainConfig = serde_json::from_str(&text).expect("it parses as a TrainConfig");
    c.validate().unwrap();
    let expected = TrainConfig {
        model: ModelKind::Lif,
        lr_decay: 0.95,
        silent_label_push: 1.0,
        silent_hidden_push: 1.0,
        ..TrainConfig::default()
    };
    assert_eq!(c, expected);
}
