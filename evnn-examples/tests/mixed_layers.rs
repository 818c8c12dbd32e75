//! The `evnn` program with layers of different models (`--model layers`):
//! an EIF hidden layer and a LIF output layer train, the model file records
//! each layer's model with every constant, and `eval`, `simulate` (with
//! membrane traces, `--states`), `grad` and `train --resume` read it; bad
//! layer lists and bad `--states` are one-line errors that name the problem.

use evnn_examples::model_file::{ModelFile, NeuronSpec};
use std::path::Path;

mod common;
use common::{assert_one_line_error, evnn, path, stdout_json, tmp};

const EIF_LIF: &str = r#"{"layers": [{"kind": "eif", "delta_t": 0.3}, {"kind": "lif"}]}"#;

fn train(constants: &str, epochs: &str, out: &Path) -> std::process::Output {
    evnn(&[
        "train",
        "--model",
        "layers",
        "--constants",
        constants,
        "--epochs",
        epochs,
        "--hidden",
        "6",
        "--train-size",
        "48",
        "--val-size",
        "16",
        "--test-size",
        "16",
        "--batch-size",
        "16",
        "--no-plots",
        "--threads",
        "1",
        "--out",
        path(out),
    ])
}

#[test]
fn eif_hidden_lif_output_round_trips_through_the_program() {
    let d = tmp("mixed-layers");
    let out = d.join("run");
    let o = train(EIF_LIF, "2", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model_path = out.join("model.json");
    let file = ModelFile::load(&model_path).unwrap();
    match &file.neuron {
        NeuronSpec::Custom { kind, constants } => {
            assert_eq!(kind, "layers");
            let layers = constants["layers"].as_array().unwrap();
            assert_eq!(layers.len(), 2);
            assert_eq!(layers[0]["kind"], "eif");
            assert_eq!(layers[0]["delta_t"], 0.3, "the given constant");
            assert_eq!(layers[0]["v_t"], 1.0, "a default, written out");
            assert_eq!(layers[1]["kind"], "lif");
            assert_eq!(layers[1]["theta"], 1.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        file.param_names(),
        ["bias", "param_1", "param_2", "param_3"]
    );
    let eval = stdout_json(&["eval", "--model", path(&model_path), "--split", "test"]);
    assert!(
        (0.0..=1.0).contains(&eval["accuracy"].as_f64().unwrap()),
        "{eval}"
    );
    let input = d.join("input.json");
    std::fs::write(
        &input,
        r#"{"inputs": [[3.0, 9.0, 27.0, 21.0, 0.0], [15.0, 1.5, 15.0, 28.5, 0.0]], "labels": [0, 2]}"#,
    )
    .unwrap();
    let sim = stdout_json(&[
        "simulate",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
    ]);
    let samples = sim["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(samples[0].as_array().unwrap().len(), 2, "two layers");
    // Membrane traces: the states on a grid, the LIF output's voltage
    // below its threshold after each reset.
    let traced = stdout_json(&[
        "simulate",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
        "--states",
        "0:1,1:2",
        "--dt",
        "0.5",
    ]);
    assert_eq!(traced["samples"], sim["samples"], "the same spikes");
    let times = traced["times"].as_array().unwrap();
    assert_eq!(times.len(), 61);
    let states = traced["states"].as_array().unwrap();
    assert_eq!(states.len(), 2, "one entry per sample");
    for sample in states {
        let neurons = sample.as_array().unwrap();
        assert_eq!(
            (neurons[0]["layer"].as_u64(), neurons[1]["neuron"].as_u64()),
            (Some(0), Some(2))
        );
        for n in neurons {
            let values = n["values"].as_array().unwrap();
            assert_eq!(values.len(), 61);
            // V starts at rest (0); the bias channel's input at t = 0 has
            // already moved the current (the state after the events at t).
            assert_eq!(values[0][0].as_f64(), Some(0.0));
        }
        let lif_v = neurons[1]["values"].as_array().unwrap();
        assert!(lif_v.iter().all(|x| x[0].as_f64().unwrap() < 1.0));
    }
    for (bad, needle) in [
        ("2:0", "layer index"),
        ("0-1", "is not LAYER:NEURON"),
        ("0:9", "neuron index"),
    ] {
        let o = evnn(&[
            "simulate",
            "--model",
            path(&model_path),
            "--input",
            path(&input),
            "--states",
            bad,
        ]);
        assert_one_line_error(&o, needle);
    }
    let grad = stdout_json(&[
        "grad",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
    ]);
    let layers = grad["gradient"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    // The padded parameters (EIF and LIF use the bias only) get none.
    for layer in layers {
        let values = layer["neuron_params"].as_array().unwrap();
        for row in values.chunks(4) {
            assert!(row[1..].iter().all(|v| v.as_f64() == Some(0.0)), "{row:?}");
        }
    }
    // Resuming the run for one more epoch gives the uninterrupted run.
    let resumed = evnn(&[
        "train",
        "--resume",
        path(&out),
        "--epochs",
        "3",
        "--no-plots",
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let straight = d.join("straight");
    let o = train(EIF_LIF, "3", &straight);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(out.join("model.json")).unwrap(),
        std::fs::read_to_string(straight.join("model.json")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_layer_lists_are_one_line_errors() {
    let d = tmp("mixed-layers-bad");
    let cases = [
        (
            r#"{"layers": [{"kind": "eif"}]}"#,
            "one per layer): expected 2, got 1",
        ),
        (
            r#"{"layers": [{"kind": "hh"}, {"kind": "lif"}]}"#,
            "layer 0 of `layers`: unknown layer model `hh`",
        ),
        (
            r#"{"layers": [{"kind": "lif"}, {"kind": "lif", "tau_mem": -1}]}"#,
            "layer 1 of `layers`: invalid constants of the `lif` neuron model",
        ),
        (
            r#"{"layers": [{"tau_mem": 5}, {"kind": "lif"}]}"#,
            "needs a \"kind\"",
        ),
        (r#"{"layer": []}"#, "takes only the constant `layers`"),
        (r#"{}"#, "needs the constant `layers`"),
    ];
    for (constants, needle) in cases {
        let o = train(constants, "1", &d.join("run"));
        assert_one_line_error(&o, needle);
    }
    assert!(!d.join("run").join("model.json").exists());
    let _ = std::fs::remove_dir_all(&d);
}

/// `configs/mixed-eif-lif.json` (the EIF → LIF Yin–Yang network of the
/// README's results) parses, validates and resolves to its two layers'
/// models with every constant.
#[test]
fn the_mixed_config_file_resolves() {
    use evnn_examples::experiment::{ModelKind, TrainConfig};
    use evnn_examples::models::Models;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/mixed-eif-lif.json");
    let text = std::fs::read_to_string(path).unwrap();
    let c: TrainConfig = serde_json::from_str(&text).unwrap();
    c.validate().unwrap();
    assert_eq!(c.model, ModelKind::Custom("layers".into()));
    let resolved = evnn_examples::models::family().resolve(&c).unwrap();
    let layers = resolved.constants["layers"].as_array().unwrap();
    let kinds: Vec<&str> = layers.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["eif", "lif"]);
    assert_eq!(layers[0]["delta_t"], 0.2);
    assert!(
        layers[0]["v_peak"].as_f64().unwrap() > 1.0,
        "EIF's peak, derived"
    );
    assert_eq!(c.sizes(), [5, 20, 3]);
}
