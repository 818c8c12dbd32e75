//! The parsers of the program's three input files (model file, checkpoint,
//! input file of `simulate`/`grad`) on valid files cut short and mutated
//! byte by byte: each answers `Ok` or its typed error, never a panic. The
//! same parsers are fuzzed at length by the cargo-fuzz targets in `fuzz/`
//! (see `fuzz/README.md`); this is the deterministic part that
//! `cargo test` runs.

use evnn_examples::checkpoint::Checkpoint;
use evnn_examples::commands::InputFile;
use evnn_examples::experiment::{init_params, TrainConfig, TrainState};
use evnn_examples::model_file::ModelFile;
use evnn_optim::{AdamConfig, Optimizer};

/// Replacements spliced in for one byte: values of other types, out of
/// range or non-finite, and JSON structure.
const SPLICES: [&str; 10] = [
    "-1",
    "1e999",
    "null",
    "[]",
    "{}",
    "\"x\"",
    "18446744073709551616",
    "4294967296",
    "NaN",
    ",",
];

/// `text` cut at about 60 points and with one byte replaced by each splice
/// at about 60 points.
fn variants(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let step = (bytes.len() / 60).max(1);
    let mut out = Vec::new();
    for at in (0..bytes.len()).step_by(step) {
        out.push(String::from_utf8_lossy(&bytes[..at]).into_owned());
        for s in SPLICES {
            let mut v = bytes[..at].to_vec();
            v.extend_from_slice(s.as_bytes());
            v.extend_from_slice(&bytes[at + 1..]);
            out.push(String::from_utf8_lossy(&v).into_owned());
        }
    }
    out
}

fn small_config() -> TrainConfig {
    TrainConfig {
        hidden: vec![2],
        ..TrainConfig::default()
    }
}

#[test]
fn model_file_parser_never_panics() {
    let config = small_config();
    let params = init_params(&config).unwrap();
    let text = serde_json::to_string_pretty(&ModelFile::new(&config, &params, &["bias"])).unwrap();
    let back = ModelFile::parse(&text, "model.json").unwrap();
    assert_eq!(back.params(), params);
    let (mut ok, mut refused) = (0, 0);
    for v in variants(&text) {
        match ModelFile::parse(&v, "model.json") {
            Ok(file) => {
                ok += 1;
                // What the program relies on in a file it accepted.
                assert_eq!(file.sizes.first(), Some(&5));
                assert_eq!(file.sizes.last(), Some(&3));
                assert_eq!(file.params().sizes(), file.sizes);
                file.params().validate(1, &["bias"]).unwrap();
                file.config().validate().unwrap();
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0 && ok > 0, "{ok} accepted, {refused} refused");
}

#[test]
fn checkpoint_parser_never_panics() {
    let config = small_config();
    let params = init_params(&config).unwrap();
    let state = TrainState {
        optimizer: AdamConfig::default().build(params.len()).unwrap(),
        best_params: params.clone(),
        params,
        best_score: Some(0.5),
        best_epoch: 0,
        epochs: Vec::new(),
        train_seconds: 1.0,
    };
    let text = serde_json::to_string(&Checkpoint::new(&config, &state)).unwrap();
    assert_eq!(Checkpoint::parse(&text, "c.json").unwrap().state, state);
    let mut refused = 0;
    for v in variants(&text) {
        match Checkpoint::parse(&v, "c.json") {
            Ok(c) => {
                // What resuming relies on in a checkpoint it accepted.
                c.config.validate().unwrap();
                assert_eq!(c.state.params.sizes(), c.config.sizes());
                assert_eq!(c.state.best_params.sizes(), c.config.sizes());
                assert_eq!(c.state.optimizer.state().m.len(), c.state.params.len());
                assert!(c.state.epochs_done() <= c.config.epochs);
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0);
}

#[test]
fn input_file_parser_never_panics() {
    let text = r#"{"inputs": [[7.5, 12.0, 22.5, 18.0, 0.0], [1, 2, 3, 4, 0]], "labels": [2, 0]}"#;
    let samples = InputFile::parse(text, true).unwrap();
    assert_eq!(samples.inputs.len(), 2);
    assert_eq!(samples.labels, Some(vec![2, 0]));
    let mut refused = 0;
    for v in variants(text) {
        for labels in [false, true] {
            if let Ok(s) = InputFile::parse(&v, labels) {
                assert_eq!(s.labels.is_some(), labels);
                if let Some(l) = &s.labels {
                    assert_eq!(l.len(), s.inputs.len());
                }
            } else {
                refused += 1;
            }
        }
    }
    assert!(refused > 0);
}
