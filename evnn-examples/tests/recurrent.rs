//! `evnn train --recurrent`: the model file carries the hidden layer's
//! recurrent weights, `eval`, `simulate` and `grad` read them (the spikes
//! depend on them; the gradient has their entries), `--resume` continues
//! bit-identically, and bad recurrent settings or files are one-line
//! errors.

use serde_json::Value;

mod common;
use common::{
    assert_one_line_error, assert_resume_matches, evnn, mini_train, path, stdout_json, tmp,
};

const RECURRENT: [&str; 6] = [
    "--model",
    "lif",
    "--recurrent",
    "--recurrent-density",
    "0.5",
    "--no-plots",
];

#[test]
fn recurrent_networks_are_trained_saved_read_and_resumed() {
    let d = tmp("recurrent");
    let out = d.join("run");
    let o = mini_train(&out, "2", &RECURRENT);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model_path = out.join("model.json");
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    // Sizes [5, 6, 3]: the hidden layer is recurrent (6 × 6, a mask with
    // no self-connections), the output layer is not.
    let layers = model["layers"].as_array().unwrap();
    let r = layers[0]["recurrent_weights"].as_array().unwrap();
    let mask = layers[0]["recurrent_mask"].as_array().unwrap();
    assert_eq!((r.len(), mask.len()), (36, 36));
    for (w, m) in r.iter().zip(mask) {
        if m == false {
            assert_eq!(w.as_f64(), Some(0.0), "an absent synapse has weight 0");
        }
    }
    assert!((0..6).all(|j| mask[j * 6 + j] == false));
    assert!(layers[1].get("recurrent_weights").is_none());
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["config"]["recurrent"]["density"], 0.5);

    let eval = stdout_json(&["eval", "--model", path(&model_path), "--split", "test"]);
    assert_eq!(eval["n"], 1000, "{eval}");

    // simulate: with the recurrent weights scaled up the spikes differ.
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
    let mut louder = model.clone();
    for w in louder["layers"][0]["recurrent_weights"]
        .as_array_mut()
        .unwrap()
    {
        *w = serde_json::json!(w.as_f64().unwrap() * 4.0 + 0.5);
    }
    let louder_path = d.join("louder.json");
    std::fs::write(&louder_path, louder.to_string()).unwrap();
    let sim_louder = stdout_json(&[
        "simulate",
        "--model",
        path(&louder_path),
        "--input",
        path(&input),
    ]);
    assert_ne!(sim["samples"], sim_louder["samples"]);

    // grad has the recurrent weights' entries, 0 for absent synapses.
    let grad = stdout_json(&[
        "grad",
        "--model",
        path(&louder_path),
        "--input",
        path(&input),
    ]);
    let g = grad["gradient"][0]["recurrent_weights"].as_array().unwrap();
    assert_eq!(g.len(), 36);
    for (v, m) in g.iter().zip(mask) {
        if m == false {
            assert_eq!(v.as_f64(), Some(0.0));
        }
    }

    // One epoch and a resumed second give the two-epoch run.
    assert_resume_matches(&d.join("part"), &RECURRENT, &model_path);

    // A mask of the wrong shape, and a NaN recurrent weight, in a file.
    let mut bad = model.clone();
    bad["layers"][0]["recurrent_mask"] = serde_json::json!([true, false, true]);
    let bad_path = d.join("bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let o = evnn(&[
        "simulate",
        "--model",
        path(&bad_path),
        "--input",
        path(&input),
    ]);
    assert_one_line_error(&o, "recurrent mask (n_out × n_out)");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_recurrent_settings_are_one_line_errors() {
    let d = tmp("bad-recurrent");
    let run = d.join("run");
    for (args, needle) in [
        (
            &["--recurrent-density", "0.5"][..],
            "--recurrent-density 0.5 is given without --recurrent",
        ),
        (
            &["--recurrent", "--recurrent-density", "0"][..],
            "recurrent density",
        ),
        (
            &["--recurrent", "--recurrent-density", "1.5"][..],
            "recurrent density",
        ),
        (
            &["--recurrent", "--recurrent-density", "NaN"][..],
            "recurrent density",
        ),
        (
            &["--model", "egru", "--recurrent"][..],
            "recurrent layers need one weight per synapse",
        ),
    ] {
        let o = mini_train(&run, "1", args);
        assert_one_line_error(&o, needle);
        assert!(!run.join("model.json").exists());
    }
    let _ = std::fs::remove_dir_all(&d);
}
