//! The `evnn` program with every neuron model of evnn-neurons: each trains
//! by name; PQIF and PIzhikevich, with three parameters per neuron, write
//! version 2 model files (`param_names`, `neuron_params`) that `eval`,
//! `simulate` and `grad` read back; bad constants and bad files give one-line
//! errors that name the bad value or count.

use evnn_examples::model_file::{ModelFile, NeuronSpec, VERSION};
use evnn_neurons::{Egru, NeuronModel, PIzhikevich, Pqif};
use serde_json::Value;
use std::path::Path;

mod common;
use common::{assert_one_line_error, evnn, path, stdout_json, tmp};

/// `evnn train` of `model` for one epoch on a few samples, into `out`,
/// with `extra` arguments.
fn mini_train(model: &str, extra: &[&str], out: &Path) {
    let mut args = vec![
        "train",
        "--model",
        model,
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--train-size",
        "32",
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
    ];
    args.extend(extra);
    let o = evnn(&args);
    assert!(
        o.status.success(),
        "train --model {model} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_program_knows_every_model() {
    let models = evnn_examples::models::family();
    let mut names = Vec::new();
    evnn_examples::models::Models::names(&models, &mut names);
    assert_eq!(
        names,
        [
            "qif",
            "lif",
            "eif",
            "izhikevich",
            "alif",
            "plif",
            "pqif",
            "pizhikevich",
            "egru",
            "layers"
        ]
    );
    // Each new model trains by name. ALIF has no default constants; its
    // weights start inhibitory here.
    let d = tmp("every-model");
    let alif_config = d.join("alif.json");
    std::fs::write(
        &alif_config,
        r#"{"init": {"wmean": -1, "wlim": 1, "bmean": 0, "blim": 1}}"#,
    )
    .unwrap();
    let alif_constants = r#"{"tau_mem": 20, "tau_adapt": 100, "b0": 1, "beta": 2}"#;
    let cases: [(&str, Vec<&str>); 2] = [
        ("plif", vec![]),
        (
            "alif",
            vec![
                "--constants",
                alif_constants,
                "--config",
                path(&alif_config),
            ],
        ),
    ];
    for (model, extra) in cases {
        let out = d.join(model);
        mini_train(model, &extra, &out);
        let file = ModelFile::load(&out.join("model.json")).unwrap();
        match &file.neuron {
            NeuronSpec::Custom { kind, constants } => {
                assert_eq!(kind, model);
                assert!(constants.contains_key("tau_mem"), "{constants:?}");
            }
            other => panic!("{other:?}"),
        }
        // PLIF's three parameters per neuron make a version 2 file.
        let p = if model == "plif" { 3 } else { 1 };
        assert_eq!(file.layers[0].values().len(), 4 * p, "{model}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// train → eval → simulate → grad for a model with parameters `names` per
/// neuron; the file stores them row-major, `n_out × P`, and the gradient
/// comes back in the same layout.
fn round_trip(model: &str, names: &[&str], start: &[f64]) {
    let d = tmp(&format!("round-trip-{model}"));
    let out = d.join("run");
    mini_train(model, &[], &out);
    let model_path = out.join("model.json");
    let file = ModelFile::load(&model_path).unwrap();
    assert_eq!(file.version, VERSION);
    assert_eq!(file.param_names(), names);
    let p = names.len();
    for (k, layer) in file.layers.iter().enumerate() {
        assert!(layer.biases.is_none(), "layer {k}");
        let values = layer.neuron_params.as_ref().unwrap();
        assert_eq!(values.len(), layer.n_out * p, "layer {k}");
        assert!(values.iter().all(|v| v.is_finite()), "layer {k}");
    }
    // One epoch moves the logarithms only a little from their start (the
    // model's defaults), which the file keeps per neuron.
    for row in file.layers[0].neuron_params.as_ref().unwrap().chunks(p) {
        for (k, (&got, &s)) in row.iter().zip(start).enumerate().skip(1) {
            assert!((got - s).abs() < 0.5, "{}: {got} vs start {s}", names[k]);
        }
    }
    // The text round trip is exact.
    let text = std::fs::read_to_string(&model_path).unwrap();
    let back = ModelFile::parse(&text, "model.json").unwrap();
    assert_eq!(back, file);
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), text);

    let eval = stdout_json(&["eval", "--model", path(&model_path), "--split", "test"]);
    let acc = eval["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc), "{eval}");

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

    let grad = stdout_json(&[
        "grad",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
    ]);
    assert!(grad["loss"].as_f64().unwrap().is_finite(), "{grad}");
    let layers = grad["gradient"].as_array().unwrap();
    assert_eq!(layers.len(), file.layers.len());
    for (g, l) in layers.iter().zip(&file.layers) {
        assert!(g.get("biases").is_none(), "{g}");
        let values = g["neuron_params"].as_array().unwrap();
        assert_eq!(values.len(), l.n_out * p);
        assert!(values.iter().all(|v| v.as_f64().unwrap().is_finite()));
    }

    // A file whose layer has one entry too few: the count is named.
    let mut bad: Value = serde_json::from_str(&text).unwrap();
    bad["layers"][0]["neuron_params"]
        .as_array_mut()
        .unwrap()
        .pop();
    let bad_path = d.join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let n_out = file.layers[0].n_out;
    let o = evnn(&["eval", "--model", path(&bad_path)]);
    assert_one_line_error(
        &o,
        &format!(
            "layer 0: neuron_params has {} entries, expected n_out × P = {n_out} × {p} = {}",
            n_out * p - 1,
            n_out * p
        ),
    );
    // The same parameters under other names: the model's are named.
    let mut renamed: Value = serde_json::from_str(&text).unwrap();
    renamed["param_names"][1] = "log_c".into();
    std::fs::write(&bad_path, renamed.to_string()).unwrap();
    let o = evnn(&["eval", "--model", path(&bad_path)]);
    assert_one_line_error(
        &o,
        &format!("the `{model}` model's are [{}]", names.join(", ")),
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn pqif_model_files_round_trip_through_every_command() {
    round_trip(
        "pqif",
        Pqif::PARAM_NAMES,
        Pqif::default().default_params().as_slice(),
    );
}

#[test]
fn egru_model_files_round_trip_through_every_command() {
    round_trip(
        "egru",
        Egru::PARAM_NAMES,
        Egru::default().default_params().as_slice(),
    );
}

/// EGRU's three weights per synapse in model files: `weights_per_synapse`
/// 3 and `n_out × n_in × 3` weights per layer, the gradient in the same
/// layout; a file with a count that does not fit, a bad
/// `weights_per_synapse`, or EGRU as a layer of `layers` is refused with
/// one line naming it.
#[test]
fn egru_synapses_carry_three_weights_in_files() {
    let d = tmp("egru-weights");
    let out = d.join("run");
    mini_train("egru", &[], &out);
    let model_path = out.join("model.json");
    let file = ModelFile::load(&model_path).unwrap();
    assert_eq!(file.weights_per_synapse, Some(3));
    for l in &file.layers {
        assert_eq!(l.weights.len(), l.n_out * l.n_in * 3);
    }
    let input = d.join("input.json");
    std::fs::write(
        &input,
        r#"{"inputs": [[3.0, 9.0, 27.0, 21.0, 0.0]], "labels": [0]}"#,
    )
    .unwrap();
    let grad = stdout_json(&[
        "grad",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
    ]);
    for (g, l) in grad["gradient"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&file.layers)
    {
        assert_eq!(g["weights"].as_array().unwrap().len(), l.n_out * l.n_in * 3);
    }
    let text = std::fs::read_to_string(&model_path).unwrap();
    let bad_path = d.join("bad.json");
    for (edit, needle) in [
        (
            r#"{"weights_per_synapse": 9}"#,
            "weights_per_synapse 9: must be between 2 and 8",
        ),
        (
            r#"{"weights_per_synapse": 1}"#,
            "weights_per_synapse 1: must be between 2 and 8",
        ),
        (r#"{"weights_per_synapse": null}"#, "weights (n_out × n_in)"),
        (r#"{"pop": true}"#, "weights (n_out × n_in × K)"),
    ] {
        let mut bad: Value = serde_json::from_str(&text).unwrap();
        let edit: Value = serde_json::from_str(edit).unwrap();
        if edit.get("pop").is_some() {
            bad["layers"][0]["weights"].as_array_mut().unwrap().pop();
        } else {
            bad["weights_per_synapse"] = edit["weights_per_synapse"].clone();
        }
        std::fs::write(&bad_path, bad.to_string()).unwrap();
        let o = evnn(&["eval", "--model", path(&bad_path)]);
        assert_one_line_error(&o, needle);
    }
    let o = evnn(&[
        "train",
        "--model",
        "layers",
        "--constants",
        r#"{"layers": [{"kind": "egru"}, {"kind": "lif"}]}"#,
        "--out",
        path(&d.join("layers")),
    ]);
    assert_one_line_error(&o, "the `egru` model cannot be a layer of `layers`");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn pizhikevich_model_files_round_trip_through_every_command() {
    round_trip(
        "pizhikevich",
        PIzhikevich::PARAM_NAMES,
        PIzhikevich::default().default_params().as_slice(),
    );
}

/// A PIzhikevich file written before `log_d` was learned (parameters
/// `bias, log_a, log_b`) is read with `log d` at its start, the logarithm
/// of the file's constant `d`: `simulate` gives exactly what the same file
/// with that `log_d` written out gives.
#[test]
fn pizhikevich_files_without_log_d_take_the_constant_d() {
    let d = tmp("pizhikevich-old-file");
    let out = d.join("run");
    mini_train("pizhikevich", &["--constants", r#"{"d": 3.0}"#], &out);
    let text = std::fs::read_to_string(out.join("model.json")).unwrap();
    let mut old: Value = serde_json::from_str(&text).unwrap();
    let mut full = old.clone();
    old["param_names"] = serde_json::json!(["bias", "log_a", "log_b"]);
    for (lo, lf) in old["layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(full["layers"].as_array_mut().unwrap())
    {
        let rows: Vec<f64> = lo["neuron_params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        lo["neuron_params"] = rows
            .chunks(4)
            .flat_map(|r| r[..3].to_vec())
            .collect::<Vec<_>>()
            .into();
        lf["neuron_params"] = rows
            .chunks(4)
            .flat_map(|r| [r[0], r[1], r[2], 3.0f64.ln()])
            .collect::<Vec<_>>()
            .into();
    }
    let (old_path, full_path, input) = (d.join("old.json"), d.join("full.json"), d.join("in.json"));
    std::fs::write(&old_path, old.to_string()).unwrap();
    std::fs::write(&full_path, full.to_string()).unwrap();
    std::fs::write(
        &input,
        r#"{"inputs": [[3.0, 9.0, 27.0, 21.0, 0.0], [15.0, 1.5, 15.0, 28.5, 0.0]], "labels": [0, 2]}"#,
    )
    .unwrap();
    let sim = |m: &Path| stdout_json(&["simulate", "--model", path(m), "--input", path(&input)]);
    let (a, b) = (sim(&old_path), sim(&full_path));
    assert!(!a["samples"][0][0].as_array().unwrap().is_empty(), "{a}");
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&d);
}

/// Bad constants of each new model: one line naming the constant and its
/// value, from the model's own validation.
#[test]
fn bad_constants_of_the_new_models_are_named() {
    let d = tmp("bad-constants");
    let out = d.join("run");
    for (model, constants, needle) in [
        ("plif", r#"{"tau_mem": -2}"#, "`tau_mem` = -2"),
        ("plif", r#"{"v_reset": 1.5}"#, "`v_reset` = 1.5"),
        ("pqif", r#"{"tau_syn": 0}"#, "`tau_syn` = 0"),
        ("pizhikevich", r#"{"a": -0.02}"#, "`a` = -0.02"),
        (
            "alif",
            r#"{"tau_mem": 20, "tau_adapt": 100, "b0": 1, "beta": -1}"#,
            "`beta` = -1",
        ),
        ("alif", r#"{"tau_mem": 20}"#, "missing field `tau_adapt`"),
        ("eif", r#"{"v_peak": 0.5}"#, "`v_peak` = 0.5"),
        ("pqif", r#"{"tau": 3}"#, "unknown field `tau`"),
        ("egru", r#"{"theta": -0.5}"#, "`theta` = -0.5"),
        ("egru", r#"{"tau_m": 0}"#, "`tau_m` = 0"),
    ] {
        let o = evnn(&[
            "train",
            "--model",
            model,
            "--constants",
            constants,
            "--out",
            path(&out),
        ]);
        assert_one_line_error(&o, needle);
        assert!(!out.exists(), "{model}: no output for a failed run");
    }
    let _ = std::fs::remove_dir_all(&d);
}
