//! Refractory periods and at most one spike in the `evnn` program: the
//! constants `"refractory"` and `"at_most_one_spike"` of a registered
//! model and of a `layers` entry train, are recorded in the model file,
//! act in `simulate` (spikes at least `t_ref` apart, at most one per
//! neuron), and `train --resume` continues the run bit for bit; bad values
//! are one-line errors naming them.

use evnn_examples::model_file::{ModelFile, NeuronSpec};
use serde_json::Value;
use std::path::Path;

mod common;
use common::{assert_one_line_error, evnn, path, tmp};

fn train(model: &str, constants: &str, epochs: &str, out: &Path) -> std::process::Output {
    evnn(&[
        "train",
        "--model",
        model,
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

/// `simulate`'s spike trains: sample → layer → neuron → times.
fn simulate(model: &Path, input: &Path) -> Vec<Vec<Vec<Vec<f64>>>> {
    let o = evnn(&["simulate", "--model", path(model), "--input", path(input)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    serde_json::from_value(v["samples"].clone()).unwrap()
}

/// The constants the model file records.
fn recorded(model: &Path) -> serde_json::Map<String, Value> {
    match ModelFile::load(model).unwrap().neuron {
        NeuronSpec::Custom { constants, .. } => constants,
        other => panic!("{other:?}"),
    }
}

fn input(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("input.json");
    std::fs::write(
        &input,
        r#"{"inputs": [[3.0, 9.0, 27.0, 21.0, 0.0], [15.0, 1.5, 15.0, 28.5, 0.0], [0.5, 0.5, 29.5, 29.5, 0.0]], "labels": [0, 2, 1]}"#,
    )
    .unwrap();
    input
}

/// A PLIF network with both constants: recorded, every neuron spikes at
/// most once, and resuming after 2 epochs gives the 3-epoch run's file.
#[test]
fn a_registered_model_takes_both_and_resumes_bit_for_bit() {
    let d = tmp("timing-registered");
    let constants = r#"{"refractory": 2.0, "at_most_one_spike": true}"#;
    let out = d.join("run");
    let o = train("plif", constants, "2", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model = out.join("model.json");
    let c = recorded(&model);
    assert_eq!(c["refractory"], 2.0);
    assert_eq!(c["at_most_one_spike"], true);
    assert_eq!(c["tau_mem"], 20.0, "the model's own constants beside them");
    let samples = simulate(&model, &input(&d));
    let spikes: usize = samples.iter().flatten().flatten().map(Vec::len).sum();
    assert!(spikes > 0, "the network spikes");
    for (s, layers) in samples.iter().enumerate() {
        for (l, neurons) in layers.iter().enumerate() {
            for (n, times) in neurons.iter().enumerate() {
                assert!(
                    times.len() <= 1,
                    "sample {s} layer {l} neuron {n}: {times:?}"
                );
            }
        }
    }
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
    assert!(train("plif", constants, "3", &straight).status.success());
    assert_eq!(
        std::fs::read_to_string(&model).unwrap(),
        std::fs::read_to_string(straight.join("model.json")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Per layer in `layers`: a refractory EIF hidden layer (its spikes at
/// least `t_ref` apart) and a one-spike LIF output layer; the same network
/// without them spikes more.
#[test]
fn layers_take_them_per_layer() {
    let d = tmp("timing-layers");
    let t_ref = 4.0;
    let timed = format!(
        r#"{{"layers": [{{"kind": "eif", "refractory": {t_ref}}}, {{"kind": "lif", "at_most_one_spike": true}}]}}"#
    );
    let out = d.join("timed");
    let o = train("layers", &timed, "1", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model = out.join("model.json");
    let layers = recorded(&model)["layers"].clone();
    assert_eq!(layers[0]["refractory"], t_ref);
    assert!(layers[0].get("at_most_one_spike").is_none());
    assert_eq!(layers[1]["at_most_one_spike"], true);
    let input = input(&d);
    let samples = simulate(&model, &input);
    for layers in &samples {
        for times in &layers[0] {
            for pair in times.windows(2) {
                assert!(pair[1] - pair[0] >= t_ref * (1.0 - 1e-12), "{times:?}");
            }
        }
        assert!(layers[1].iter().all(|t| t.len() <= 1), "{:?}", layers[1]);
    }
    // The same parameters without the timing: more spikes.
    let mut plain: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let spec = &mut plain["neuron"]["layers"];
    spec[0].as_object_mut().unwrap().remove("refractory");
    spec[1].as_object_mut().unwrap().remove("at_most_one_spike");
    let plain_path = d.join("plain.json");
    std::fs::write(&plain_path, plain.to_string()).unwrap();
    let count =
        |s: &Vec<Vec<Vec<Vec<f64>>>>| s.iter().flatten().flatten().map(Vec::len).sum::<usize>();
    let (n_timed, n_plain) = (count(&samples), count(&simulate(&plain_path, &input)));
    assert!(n_timed < n_plain, "{n_timed} vs {n_plain}");
    let _ = std::fs::remove_dir_all(&d);
}

/// A negative or zero period, and values of the wrong type, are one-line
/// errors naming the value.
#[test]
fn bad_values_are_named() {
    let d = tmp("timing-bad");
    let out = d.join("run");
    for (model, constants, needle) in [
        (
            "plif",
            r#"{"refractory": -1.5}"#,
            "invalid `refractory` = -1.5",
        ),
        (
            "alif",
            r#"{"tau_mem": 20, "tau_adapt": 100, "b0": 1, "beta": 2, "refractory": 0}"#,
            "invalid `refractory` = 0",
        ),
        (
            "plif",
            r#"{"refractory": "2"}"#,
            "invalid `refractory` = \"2\"",
        ),
        (
            "plif",
            r#"{"at_most_one_spike": 1}"#,
            "invalid `at_most_one_spike` = 1",
        ),
        (
            "layers",
            r#"{"layers": [{"kind": "lif", "refractory": -3}, {"kind": "lif"}]}"#,
            "invalid `refractory` = -3",
        ),
    ] {
        let o = train(model, constants, "1", &out);
        assert_one_line_error(&o, needle);
    }
    let _ = std::fs::remove_dir_all(&d);
}
