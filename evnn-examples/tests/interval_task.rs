//! The generated interval task (`evnn train --dataset intervals`): the
//! network takes the task's shape, the run records the task, `eval`
//! regenerates it, and bad settings are one-line errors naming the value.

use serde_json::Value;
use std::path::Path;

mod common;
use common::{assert_one_line_error, evnn, metrics_without_timings, tmp};

fn train(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--dataset",
        "intervals",
        "--model",
        "lif",
        "--hidden",
        "6",
        "--epochs",
        "2",
        "--train-size",
        "64",
        "--val-size",
        "32",
        "--test-size",
        "32",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    evnn(&args)
}

#[test]
fn trains_evaluates_and_records_the_task() {
    let d = tmp("intervals");
    // The task's inputs reach 210 ms: the default window of 30 is too short.
    let o = train(&d.join("short"), &[]);
    assert_one_line_error(
        &o,
        "t_max 30 must exceed the intervals task's latest input spike, 210",
    );

    let config = d.join("config.json");
    std::fs::write(
        &config,
        r#"{"task": {"kind": "intervals", "onset_max": 80.0, "seed": 3,
             "train_size": 64, "val_size": 32, "test_size": 32}, "t_max": 250.0}"#,
    )
    .unwrap();
    let out = d.join("run");
    let o = train(&out, &["--config", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = metrics_without_timings(&out);
    let c = &m["config"];
    assert_eq!(
        (c["n_inputs"].as_u64(), c["n_outputs"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(c["task"]["kind"], "intervals");
    assert_eq!(c["task"]["onset_max"], 80.0);
    assert_eq!(c["task"]["seed"], 3);
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["sizes"], serde_json::json!([3, 6, 2]));

    // `eval` regenerates the same test split from the task recorded in the
    // model file.
    assert_eq!(model["task"], c["task"]);
    let o = evnn(&[
        "eval",
        "--model",
        out.join("model.json").to_str().unwrap(),
        "--split",
        "test",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["n"], 32);
    assert_eq!(e["accuracy"].as_f64(), m["test_acc"].as_f64());

    // The same run again is bit-identical (the task is a pure function of
    // its settings).
    let again = d.join("again");
    let o = train(&again, &["--config", config.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(metrics_without_timings(&again), m);
}

#[test]
fn bad_task_settings_are_named() {
    let d = tmp("intervals-bad");
    for (task, needle) in [
        (
            r#"{"kind": "intervals", "intervals": [[50.0, 40.0]]}"#,
            "interval hi` = 40",
        ),
        (
            r#"{"kind": "intervals", "onset_max": -1.0}"#,
            "onset_max` = -1",
        ),
        (
            r#"{"kind": "intervals", "intervals": [[10.0, 30.0], [20.0, 40.0]]}"#,
            "disjoint",
        ),
        (r#"{"kind": "intervals", "seed": 1, "bogus": 2}"#, "bogus"),
        (r#"{"kind": "nonesuch"}"#, "nonesuch"),
    ] {
        let config = d.join("config.json");
        std::fs::write(&config, format!(r#"{{"task": {task}, "t_max": 400.0}}"#)).unwrap();
        let o = evnn(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--out",
            d.join("o").to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "{task} was accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    // A data file and a task at once.
    let o = evnn(&[
        "train",
        "--dataset",
        "intervals",
        "--data",
        "x.json",
        "--out",
        d.join("o").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
}

/// The claim of the README's "A task that needs time": the shipped
/// configurations (seed 0) leave a network without delays near chance and
/// let one with delays solve the task.
#[test]
fn delays_solve_the_interval_task_and_feed_forward_does_not() {
    let d = tmp("intervals-configs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut acc = Vec::new();
    for name in ["intervals-lif", "intervals-lif-delays"] {
        let config = root.join("configs").join(format!("{name}.json"));
        let out = d.join(name);
        let o = evnn(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--seed",
            "0",
            "--threads",
            "1",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        acc.push(metrics_without_timings(&out)["test_acc"].as_f64().unwrap());
    }
    assert!(acc[0] < 0.6, "without delays: {}", acc[0]);
    assert!(acc[1] > 0.95, "with delays: {}", acc[1]);
}
