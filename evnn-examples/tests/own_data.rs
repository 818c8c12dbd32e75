//! Training on a user's own labelled spike data: `evnn train --data FILE`
//! with any number of channels, classes and spikes per channel, from JSON or
//! numpy's `.npz`; `eval --data`, and `simulate`/`grad` with several spikes
//! per channel and a chosen loss.

use ndarray::Array3;
use ndarray_npy::NpzWriter;
use serde_json::{json, Value};
use std::path::Path;

mod common;
use common::{assert_one_line_error, evnn, metrics_without_timings, tmp};

/// A two-class task on three channels: channel 0 fires once and channel 1
/// twice; class 0 has channel 0 early, class 1 has it late. Channel 2 is
/// silent in class 0 and fires once in class 1 at a time that carries
/// nothing. `(inputs, labels)` per split, deterministic.
fn task(n: usize, offset: usize) -> (Vec<Vec<Vec<f64>>>, Vec<usize>) {
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for k in offset..offset + n {
        let label = k % 2;
        let jitter = ((k * 7) % 11) as f64 * 0.3;
        let (a, b) = if label == 0 { (2.0, 14.0) } else { (14.0, 2.0) };
        let silent: Vec<f64> = if label == 0 {
            vec![]
        } else {
            vec![5.0 + jitter]
        };
        inputs.push(vec![
            vec![a + jitter],
            vec![b + jitter, b + jitter + 4.0],
            silent,
        ]);
        labels.push(label);
    }
    (inputs, labels)
}

fn split_json(n: usize, offset: usize) -> Value {
    let (inputs, labels) = task(n, offset);
    json!({"inputs": inputs, "labels": labels})
}

fn write_json(path: &Path) {
    let file = json!({
        "train": split_json(40, 0),
        "validation": split_json(12, 1000),
        "test": split_json(12, 2000),
    });
    std::fs::write(path, file.to_string()).unwrap();
}

/// The same data as `write_json`, as numpy would save it: `(n, 3, 2)` with
/// NaN after a channel's spikes.
fn write_npz(path: &Path) {
    let mut w = NpzWriter::new(std::fs::File::create(path).unwrap());
    for (name, n, offset) in [
        ("train", 40, 0),
        ("validation", 12, 1000),
        ("test", 12, 2000),
    ] {
        let (inputs, labels) = task(n, offset);
        let mut x = Array3::from_elem((n, 3, 2), f64::NAN);
        for (i, sample) in inputs.iter().enumerate() {
            for (c, times) in sample.iter().enumerate() {
                for (k, &t) in times.iter().enumerate() {
                    x[[i, c, k]] = t;
                }
            }
        }
        let y = ndarray::Array1::from(labels.iter().map(|&l| l as i64).collect::<Vec<_>>());
        w.add_array(format!("{name}_inputs"), &x).unwrap();
        w.add_array(format!("{name}_labels"), &y).unwrap();
    }
    w.finish().unwrap();
}

fn train(data: &Path, out: &Path, epochs: &str) -> Value {
    let o = evnn(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model",
        "lif",
        "--hidden",
        "8",
        "--epochs",
        epochs,
        "--batch-size",
        "8",
        "--lr",
        "0.05",
        "--threads",
        "1",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    metrics_without_timings(out)
}

/// JSON and npz files of the same data train bit-identically; the network
/// has the data's shape; training lowers the loss and the kept model solves
/// the task; `eval --data` reproduces the reported test accuracy.
#[test]
fn trains_on_json_and_npz_data_alike() {
    let d = tmp("own-data");
    let (jpath, npath) = (d.join("task.json"), d.join("task.npz"));
    write_json(&jpath);
    write_npz(&npath);
    let from_json = train(&jpath, &d.join("j"), "25");
    let from_npz = train(&npath, &d.join("n"), "25");
    let strip = |mut m: Value| {
        m["config"].as_object_mut().unwrap().remove("data");
        m
    };
    assert_eq!(strip(from_json.clone()), strip(from_npz));
    let config = &from_json["config"];
    assert_eq!(
        (config["n_inputs"].as_u64(), config["n_outputs"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        (
            config["train_size"].as_u64(),
            config["val_size"].as_u64(),
            config["test_size"].as_u64()
        ),
        (Some(40), Some(12), Some(12))
    );
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("j/model.json")).unwrap()).unwrap();
    assert_eq!(model["sizes"], json!([3, 8, 2]));
    let test_acc = from_json["test_acc"].as_f64().unwrap();
    assert!(test_acc >= 0.9, "test accuracy {test_acc}");
    let losses: Vec<f64> = from_json["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["train_loss"].as_f64().unwrap())
        .collect();
    assert!(losses[24] < 0.8 * losses[0], "{losses:?}");

    let o = evnn(&[
        "eval",
        "--model",
        d.join("j/model.json").to_str().unwrap(),
        "--data",
        npath.to_str().unwrap(),
        "--split",
        "test",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["accuracy"].as_f64(), Some(test_acc));
    assert_eq!(r["n"].as_u64(), Some(12));
    // Without --data, Yin–Yang does not fit the model: a clear error.
    let o = evnn(&["eval", "--model", d.join("j/model.json").to_str().unwrap()]);
    assert_one_line_error(&o, "give its data with --data FILE");
}

/// `simulate` and `grad` take several spikes per channel; `grad --loss`
/// chooses the loss; labels beyond the model's classes are refused.
#[test]
fn simulate_and_grad_take_spike_trains_and_a_loss() {
    let d = tmp("own-data-grad");
    let jpath = d.join("task.json");
    write_json(&jpath);
    train(&jpath, &d.join("run"), "1");
    let model = d.join("run/model.json");
    let (inputs, labels) = task(6, 0);
    let input = d.join("in.json");
    std::fs::write(
        &input,
        json!({"inputs": inputs, "labels": labels}).to_string(),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend([
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ]);
        let o = evnn(&all);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let sim = run(&["simulate"]);
    assert_eq!(sim["samples"].as_array().unwrap().len(), 6);
    assert_eq!(sim["samples"][0].as_array().unwrap().len(), 2, "two layers");
    let eventprop = run(&["grad"]);
    let default = run(&["grad", "--loss", "eventprop"]);
    let eventax = run(&["grad", "--loss", "eventax"]);
    assert_eq!(eventprop, default);
    assert_ne!(eventprop["loss"], eventax["loss"]);
    assert_eq!(eventax["gradient"][0]["n_in"].as_u64(), Some(3));
    // A label of a third class, for a model of two.
    std::fs::write(
        &input,
        json!({"inputs": [[1.0, [2.0, 3.0], []]], "labels": [2]}).to_string(),
    )
    .unwrap();
    let o = evnn(&[
        "grad",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &o,
        "label 2 of sample 0 out of range for the model's 2 classes",
    );
}

/// Bad data files end the program with one line naming the problem.
#[test]
fn bad_data_files_give_one_line_errors() {
    let d = tmp("own-data-bad");
    let path = d.join("bad.json");
    let good = json!({
        "train": split_json(4, 0),
        "validation": split_json(2, 10),
        "test": split_json(2, 20),
    });
    for (edit, needle) in [
        (
            json!({"inputs": [[1.0, 2.0, 3.0], [1.0, 2.0]], "labels": [0, 1]}),
            "train sample 1: 2 channels",
        ),
        (
            json!({"inputs": [[1.0, [3.0, 2.0], []]], "labels": [0]}),
            "channel 1, spike 1: time 2 comes after 3",
        ),
        (json!({"inputs": [], "labels": []}), "train: no samples"),
    ] {
        let mut file = good.clone();
        file["train"] = edit;
        std::fs::write(&path, file.to_string()).unwrap();
        let o = evnn(&[
            "train",
            "--data",
            path.to_str().unwrap(),
            "--epochs",
            "1",
            "--no-plots",
            "--out",
            d.join("o").to_str().unwrap(),
        ]);
        assert_one_line_error(&o, needle);
    }
    let o = evnn(&[
        "train",
        "--data",
        d.join("missing.npz").to_str().unwrap(),
        "--no-plots",
    ]);
    assert_one_line_error(&o, "missing.npz");
    std::fs::write(d.join("data.csv"), "1,2").unwrap();
    let o = evnn(&[
        "train",
        "--data",
        d.join("data.csv").to_str().unwrap(),
        "--no-plots",
    ]);
    assert_one_line_error(&o, "ends in .json or .npz");
    // More training samples than the file has.
    std::fs::write(&path, good.to_string()).unwrap();
    let o = evnn(&[
        "train",
        "--data",
        path.to_str().unwrap(),
        "--train-size",
        "9",
        "--no-plots",
        "--out",
        d.join("o").to_str().unwrap(),
    ]);
    assert_one_line_error(&o, "train_size 9");
}
