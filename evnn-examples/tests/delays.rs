//! `evnn train --delays`: the model file carries the trained delays, `eval`,
//! `simulate` and `grad` read them (the spikes depend on them; the gradient
//! has their entries), `--resume` continues bit-identically, and bad delay
//! settings or delays in a file are one-line errors.

use serde_json::Value;

mod common;
use common::{
    assert_one_line_error, assert_resume_matches, evnn, mini_train, path, stdout_json, tmp,
};

const DELAYS: [&str; 6] = ["--model", "lif", "--delays", "both", "--delay-max", "3"];

#[test]
fn delays_are_trained_saved_read_and_resumed() {
    let d = tmp("delays");
    let out = d.join("run");
    let mut extra = DELAYS.to_vec();
    extra.push("--no-plots");
    let o = mini_train(&out, "2", &extra);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model_path = out.join("model.json");
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    // Sizes [5, 6, 3]: per layer n_out × n_in synaptic and n_in axonal
    // delays, all finite and >= 0.
    let layers = model["layers"].as_array().unwrap();
    for (layer, (n_in, n_out)) in layers.iter().zip([(5, 6), (6, 3)]) {
        let syn = layer["synaptic_delays"].as_array().unwrap();
        let ax = layer["axonal_delays"].as_array().unwrap();
        assert_eq!((syn.len(), ax.len()), (n_out * n_in, n_in));
        assert!(syn.iter().chain(ax).all(|v| v.as_f64().unwrap() >= 0.0));
    }
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["config"]["delays"], "both");
    assert_eq!(metrics["config"]["delay_max"], 3.0);

    // eval reads a file with delays.
    let eval = stdout_json(&["eval", "--model", path(&model_path), "--split", "test"]);
    assert_eq!(eval["n"], 1000, "{eval}");
    assert!((0.0..=1.0).contains(&eval["accuracy"].as_f64().unwrap()));

    // simulate: with the delays taken out of the file the spikes differ.
    let input = d.join("input.json");
    std::fs::write(
        &input,
        r#"{"inputs": [[3.0, 20.0, 27.0, 10.0, 0.0], [15.0, 4.0, 15.0, 26.0, 0.0]], "labels": [0, 1]}"#,
    )
    .unwrap();
    let sim = stdout_json(&[
        "simulate",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
    ]);
    let mut plain = model.clone();
    for layer in plain["layers"].as_array_mut().unwrap() {
        let l = layer.as_object_mut().unwrap();
        l.remove("synaptic_delays");
        l.remove("axonal_delays");
    }
    let plain_path = d.join("plain.json");
    std::fs::write(&plain_path, plain.to_string()).unwrap();
    let sim_plain = stdout_json(&[
        "simulate",
        "--model",
        path(&plain_path),
        "--input",
        path(&input),
    ]);
    assert_ne!(sim["samples"], sim_plain["samples"]);

    // grad has the delays' entries, in the file's layout, some nonzero.
    let grad = stdout_json(&[
        "grad",
        "--model",
        path(&model_path),
        "--input",
        path(&input),
    ]);
    let g = grad["gradient"].as_array().unwrap();
    let mut nonzero = 0;
    for (layer, (n_in, n_out)) in g.iter().zip([(5, 6), (6, 3)]) {
        let syn = layer["synaptic_delays"].as_array().unwrap();
        let ax = layer["axonal_delays"].as_array().unwrap();
        assert_eq!((syn.len(), ax.len()), (n_out * n_in, n_in));
        nonzero += syn
            .iter()
            .chain(ax)
            .filter(|v| v.as_f64() != Some(0.0))
            .count();
    }
    assert!(nonzero > 0, "{grad}");
    let grad_plain = stdout_json(&[
        "grad",
        "--model",
        path(&plain_path),
        "--input",
        path(&input),
    ]);
    assert!(grad_plain["gradient"][0].get("synaptic_delays").is_none());

    // One epoch and a resumed second give the two-epoch run.
    assert_resume_matches(&d.join("part"), &extra, &model_path);

    // A negative delay in a file is named.
    let mut bad = model.clone();
    bad["layers"][1]["axonal_delays"][2] = serde_json::json!(-0.25);
    let bad_path = d.join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let o = evnn(&[
        "simulate",
        "--model",
        path(&bad_path),
        "--input",
        path(&input),
    ]);
    assert_one_line_error(&o, "layer 1: axonal delays[2] = -0.25 is invalid");
    let _ = std::fs::remove_dir_all(&d);
}

/// A training run without `--delays` writes no delay fields anywhere.
#[test]
fn runs_without_delays_have_no_delay_fields() {
    let d = tmp("no-delays");
    let o = mini_train(&d, "1", &["--model", "lif", "--no-plots"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in ["model.json", "metrics.json", "checkpoint.json"] {
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        assert!(!text.contains("delay"), "{file} names delays");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_delay_settings_are_one_line_errors() {
    let d = tmp("bad-delays");
    let run = d.join("run");
    for (args, needle) in [
        (
            &["--delay-max", "2"][..],
            "delay_max 2 is given without delays",
        ),
        (
            &["--delays", "both", "--delay-max=-1"][..],
            "delay_max must be finite and >= 0, got -1",
        ),
        (
            &["--delays", "both", "--delay-max", "NaN"][..],
            "delay_max must be finite and >= 0, got NaN",
        ),
        (&["--delays", "sometimes"][..], "invalid value 'sometimes'"),
    ] {
        let o = mini_train(&run, "1", args);
        assert_one_line_error(&o, needle);
        assert!(!run.join("model.json").exists());
    }
    let _ = std::fs::remove_dir_all(&d);
}
