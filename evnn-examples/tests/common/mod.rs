//! Helpers shared by the program's end-to-end tests.

#![allow(dead_code)] // each test binary uses its own subset

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `evnn` binary built for these tests.
pub fn evnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evnn"))
        .args(args)
        .output()
        .expect("run evnn")
}

/// A fresh, empty temporary directory, unique to this test binary and process.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "evnn-{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `metrics.json` without the wall-clock fields.
pub fn strip_timings(mut m: Value) -> Value {
    m.as_object_mut().unwrap().remove("train_seconds");
    for e in m["epochs"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("seconds");
    }
    m
}

/// `DIR/metrics.json` without the wall-clock fields.
pub fn metrics_without_timings(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("metrics.json")).unwrap();
    strip_timings(serde_json::from_str(&text).unwrap())
}

/// The program failed with one line `error: ...` containing `needle`, and no
/// backtrace.
pub fn assert_one_line_error(o: &Output, needle: &str) {
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "`{needle}` not in: {err}");
    assert!(!err.contains("backtrace"), "{err}");
}

/// `evnn train` on a small seeded problem (48 training samples, hidden layer
/// of 6, batches of 16), writing to `out`.
pub fn mini_args(epochs: &str, seed: &str, out: &Path) -> Vec<String> {
    [
        "train",
        "--epochs",
        epochs,
        "--train-size",
        "48",
        "--val-size",
        "24",
        "--test-size",
        "24",
        "--batch-size",
        "16",
        "--hidden",
        "6",
        "--seed",
        seed,
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Runs `evnn` with owned arguments.
pub fn evnn_owned(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    evnn(&args)
}

/// `p` as a command-line argument.
pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `evnn` with `args`, which must succeed, and parses its standard
/// output as JSON.
pub fn stdout_json(args: &[&str]) -> Value {
    let o = evnn(args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `evnn train` on [`mini_args`]'s problem with `extra` flags, seed 5.
pub fn mini_train(out: &Path, epochs: &str, extra: &[&str]) -> Output {
    let mut args = mini_args(epochs, "5", out);
    args.extend(extra.iter().map(|s| s.to_string()));
    evnn_owned(&args)
}

/// A [`mini_train`] run of one epoch with `extra` flags into `part`,
/// resumed to two, writes the model file `full` (of the two-epoch run)
/// byte for byte.
pub fn assert_resume_matches(part: &Path, extra: &[&str], full: &Path) {
    let first = mini_train(part, "1", extra);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let resumed = evnn(&[
        "train",
        "--resume",
        path(part),
        "--epochs",
        "2",
        "--no-plots",
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(part.join("model.json")).unwrap(),
        std::fs::read_to_string(full).unwrap()
    );
}
