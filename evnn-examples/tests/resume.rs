//! Interrupt-safe training: a run stopped after k epochs (or killed at any
//! moment) and resumed from its checkpoint ends bit-identical to an
//! uninterrupted run with the same seed; bad checkpoints and bad resume
//! flags are one-line errors.

use evnn_examples::checkpoint::{Checkpoint, FILE_NAME};
use evnn_examples::experiment::{
    train, train_from, with_net, ModelKind, Splits, TrainConfig, TrainOutcome, TrainState, WithNet,
};
use evnn_net::{BatchRunner, FeedForward, NetworkParams};
use evnn_neurons::NeuronModel;
use evnn_optim::{Adam, Observer};
use evnn_solver::{Adjoint, Backend};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{assert_one_line_error, evnn, evnn_owned, metrics_without_timings, mini_args, tmp};
use std::time::{Duration, Instant};

fn config(model: ModelKind, epochs: usize) -> TrainConfig {
    TrainConfig {
        model,
        hidden: vec![6],
        epochs,
        batch_size: 16,
        train_size: 48,
        val_size: 24,
        test_size: 24,
        seed: 5,
        threads: 1,
        ..TrainConfig::default()
    }
}

/// Saves a checkpoint after every epoch, like the program, and stops the
/// loop (with an error) after `stop_after` epochs.
struct Saver {
    config: TrainConfig,
    path: PathBuf,
    stop_after: usize,
}

impl Observer<NetworkParams, Adam<f64>> for Saver {
    fn checkpoint(
        &mut self,
        state: &TrainState,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Checkpoint::new(&self.config, state).save(&self.path)?;
        if state.epochs_done() == self.stop_after {
            return Err(format!("stopped after epoch {}", self.stop_after).into());
        }
        Ok(())
    }
}

enum Job<'a> {
    Full(&'a TrainConfig, &'a Splits),
    Interrupted(&'a TrainConfig, &'a Splits, PathBuf, usize),
}

impl WithNet for Job<'_> {
    type Output = TrainOutcome;
    fn run<N, B>(self, net: FeedForward<N, B>) -> anyhow::Result<TrainOutcome>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let runner = BatchRunner::new(net);
        match self {
            Job::Full(c, s) => train(&runner, c, s, &mut ()),
            Job::Interrupted(c, s, path, k) => {
                let mut saver = Saver {
                    config: c.clone(),
                    path: path.clone(),
                    stop_after: k,
                };
                let err = train(&runner, c, s, &mut saver).expect_err("the saver stops the run");
                assert!(err.to_string().contains("stopped after"), "{err}");
                // A new process would start here: only the file survives.
                let ckpt = Checkpoint::load(&path)?;
                assert_eq!(ckpt.state.epochs_done(), k);
                assert_eq!(ckpt.rng.next_epoch, k as u64 + 1);
                train_from(&runner, &ckpt.config, s, ckpt.state, &mut saver)
            }
        }
    }
}

fn assert_same_run(a: &TrainOutcome, b: &TrainOutcome) {
    assert_eq!(a.epochs.len(), b.epochs.len());
    for (x, y) in a.epochs.iter().zip(&b.epochs) {
        assert_eq!(x.epoch, y.epoch);
        assert_eq!(
            x.train_loss.to_bits(),
            y.train_loss.to_bits(),
            "epoch {}",
            x.epoch
        );
        assert_eq!(
            x.train_score.to_bits(),
            y.train_score.to_bits(),
            "epoch {}",
            x.epoch
        );
        assert_eq!(
            x.val_score.unwrap().to_bits(),
            y.val_score.unwrap().to_bits(),
            "epoch {}",
            x.epoch
        );
    }
    assert_eq!(a.best_epoch, b.best_epoch);
    assert_eq!(a.best_val_acc.to_bits(), b.best_val_acc.to_bits());
    assert_eq!(a.test_acc.to_bits(), b.test_acc.to_bits());
    let (pa, pb) = (a.params.to_flat(), b.params.to_flat());
    assert_eq!(pa.len(), pb.len());
    for (i, (x, y)) in pa.iter().zip(&pb).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "parameter {i}: {x} vs {y}");
    }
}

#[test]
fn stopped_and_resumed_training_is_bit_identical() {
    let d = tmp("lib");
    for model in [ModelKind::Qif, ModelKind::Lif] {
        let c = config(model.clone(), 4);
        let splits = Splits::load(&c).unwrap();
        let full = with_net(&c, Job::Full(&c, &splits)).unwrap();
        for k in [1, 3] {
            let path = d.join(format!("{model:?}-{k}.json"));
            let resumed = with_net(&c, Job::Interrupted(&c, &splits, path, k)).unwrap();
            assert_same_run(&full, &resumed);
        }
    }
}

fn mini(out: &Path, epochs: &str) -> Vec<String> {
    let mut args = mini_args(epochs, "7", out);
    args.push("--no-plots".into());
    args
}

fn run_ok(args: &[String]) {
    let o = evnn_owned(args);
    assert!(
        o.status.success(),
        "evnn {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn assert_same_outputs(a: &Path, b: &Path) {
    assert_eq!(metrics_without_timings(a), metrics_without_timings(b));
    assert_eq!(
        std::fs::read(a.join("model.json")).unwrap(),
        std::fs::read(b.join("model.json")).unwrap(),
        "model.json differs"
    );
}

#[test]
fn program_resumes_a_shorter_run_and_a_killed_run_bit_identically() {
    let full = tmp("full");
    run_ok(&mini(&full, "6"));

    // Stopped after 2 of 6 epochs (a shorter run), then resumed to 6.
    let short = tmp("short");
    run_ok(&mini(&short, "2"));
    let resume = |dir: &Path| {
        vec![
            "train".to_string(),
            "--resume".into(),
            dir.to_str().unwrap().into(),
            "--epochs".into(),
            "6".into(),
            "--no-plots".into(),
        ]
    };
    run_ok(&resume(&short));
    assert_same_outputs(&full, &short);

    // Killed (SIGKILL) as soon as the first checkpoint exists, wherever it
    // is then; resumed, it must end where the uninterrupted run did.
    let killed = tmp("killed");
    let args = mini(&killed, "6");
    let mut child = Command::new(env!("CARGO_BIN_EXE_evnn"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ckpt = killed.join(FILE_NAME);
    let t0 = Instant::now();
    while !ckpt.exists() && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = Checkpoint::load(&ckpt).unwrap().state.epochs_done();
    assert!((1..=6).contains(&done), "{done}");
    eprintln!("killed after {done} of 6 epochs");
    run_ok(&resume(&killed));
    assert_same_outputs(&full, &killed);
}

#[test]
fn bad_checkpoints_and_resume_flags_are_one_line_errors() {
    let d = tmp("bad");
    run_ok(&mini(&d, "2"));
    let dir = d.to_str().unwrap();
    let ckpt = d.join(FILE_NAME);
    let good = std::fs::read_to_string(&ckpt).unwrap();

    assert_one_line_error(
        &evnn(&["train", "--resume", dir, "--lr", "0.1"]),
        "--lr cannot be combined with --resume",
    );
    assert_one_line_error(
        &evnn(&["train", "--resume", dir, "--epochs", "1"]),
        "--epochs 1 is less than the 2 epochs",
    );
    let empty = tmp("empty");
    assert_one_line_error(
        &evnn(&["train", "--resume", empty.to_str().unwrap()]),
        "cannot access checkpoint",
    );

    let edit = |from: &str, to: &str| {
        assert!(good.contains(from), "{from}");
        std::fs::write(&ckpt, good.replacen(from, to, 1)).unwrap();
        evnn(&["train", "--resume", dir])
    };
    std::fs::write(&ckpt, &good[..good.len() / 2]).unwrap();
    assert_one_line_error(
        &evnn(&["train", "--resume", dir]),
        "not a valid evnn checkpoint",
    );
    assert_one_line_error(&edit("\"version\":1", "\"version\":9"), "version 9");
    assert_one_line_error(
        &edit(
            "\"format\":\"evnn-checkpoint\"",
            "\"format\":\"evnn-model\"",
        ),
        "\"evnn-model\"",
    );
    assert_one_line_error(
        &edit("\"next_epoch\":3", "\"next_epoch\":2"),
        "next_epoch 2",
    );
    assert_one_line_error(&edit("\"best_epoch\":", "\"best_epok\":"), "best_epok");
    assert_one_line_error(&edit("\"hidden\":[6]", "\"hidden\":[7]"), "sizes");
    assert_one_line_error(
        &edit("\"step\":", "\"step\":-"),
        "not a valid evnn checkpoint",
    );
    assert_one_line_error(&edit("\"epoch\":2", "\"epoch\":5"), "out of order");

    // Nothing was lost: the intact checkpoint still resumes.
    std::fs::write(&ckpt, &good).unwrap();
    run_ok(&[
        "train".into(),
        "--resume".into(),
        dir.into(),
        "--epochs".into(),
        "3".into(),
        "--no-plots".into(),
    ]);
    assert_eq!(Checkpoint::load(&ckpt).unwrap().state.epochs_done(), 3);
}
