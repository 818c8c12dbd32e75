//! End-to-end tests of the `evnn` program: a seeded mini-training, its
//! outputs, reproducibility, and agreement of `eval`, `simulate` and `grad`
//! with the library.

use evnn_examples::commands::SimulateOutput;
use evnn_examples::experiment::{accuracy, encode, with_net, Integrator, TrainConfig, WithNet};
use evnn_examples::model_file::ModelFile;
use evnn_net::{BatchRunner, FeedForward, ForwardTrace, NetworkParams, SpikeTrains};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};
use serde_json::Value;
use std::path::Path;

mod common;
use common::{assert_one_line_error, evnn, evnn_owned, mini_args, strip_timings, tmp};

fn mini_train(out: &Path, extra: &[&str]) -> Value {
    let mut args = mini_args("2", "3", out);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = evnn_owned(&args);
    assert!(
        o.status.success(),
        "train failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn mini_training_writes_metrics_model_and_plots() {
    let out = tmp("mini");
    let m = mini_train(&out, &["--no-plots"]);
    for key in [
        "config",
        "epochs",
        "best_val_acc",
        "test_acc",
        "train_seconds",
    ] {
        assert!(m.get(key).is_some(), "metrics.json lacks {key}: {m}");
    }
    let epochs = m["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    for e in epochs {
        for key in ["epoch", "train_loss", "train_acc", "val_acc", "seconds"] {
            assert!(e.get(key).is_some(), "epoch entry lacks {key}");
        }
        assert!(e["train_loss"].as_f64().unwrap().is_finite());
    }
    let acc = m["test_acc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert_eq!(m["config"]["hidden"], serde_json::json!([6]));

    // Model round trip: the saved model's predictions equal the library's.
    let file = ModelFile::load(&out.join("model.json")).unwrap();
    let config = file.config();
    let test = encode(evnn_data::YinYang::test().unwrap(), 24, config.t_max).unwrap();
    struct Acc<'a>(
        &'a NetworkParams,
        &'a evnn_examples::experiment::EncodedSplit,
        &'a TrainConfig,
    );
    impl WithNet for Acc<'_> {
        type Output = f64;
        fn run<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
            self,
            net: FeedForward<N, B>,
        ) -> anyhow::Result<f64> {
            let runner = BatchRunner::new(net);
            let acc = accuracy(&runner, self.0, self.1)?;
            // The prediction pass agrees with the loss pass's predictions.
            let (inputs, labels) = (&self.1.inputs, &self.1.labels);
            let r = runner.loss(self.0, inputs, labels, &self.2.ttfs_loss())?;
            assert_eq!(acc, r.accuracy());
            Ok(acc)
        }
    }
    let lib_acc = with_net(&config, Acc(&file.params(), &test, &config)).unwrap();
    assert_eq!(
        lib_acc, acc,
        "saved model must reproduce the reported test accuracy"
    );
}

#[test]
fn plots_are_png_files() {
    let out = tmp("plots");
    let o = evnn_owned(&mini_args("1", "3", &out));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in ["curves.png", "decision.png", "spikes.png"] {
        let bytes = std::fs::read(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bytes.len() > 1000, "{name} is too small");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name} is not a PNG");
    }
}

#[test]
fn seeded_runs_are_bit_identical_for_any_thread_count() {
    let a = tmp("repro-a");
    let b = tmp("repro-b");
    let ma = mini_train(&a, &["--no-plots", "--threads", "1"]);
    let mb = mini_train(&b, &["--no-plots", "--threads", "2"]);
    let (mut ma, mut mb) = (strip_timings(ma), strip_timings(mb));
    ma["config"].as_object_mut().unwrap().remove("threads");
    mb["config"].as_object_mut().unwrap().remove("threads");
    assert_eq!(ma, mb);
    assert_eq!(
        std::fs::read(a.join("model.json")).unwrap(),
        std::fs::read(b.join("model.json")).unwrap()
    );
}

#[test]
fn eval_simulate_and_grad_agree_with_the_library() {
    let out = tmp("agree");
    mini_train(&out, &["--no-plots"]);
    let model = out.join("model.json");
    let file = ModelFile::load(&model).unwrap();
    let config = file.config();
    let params = file.params();

    // eval
    let o = evnn(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--split",
        "validation",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n"], 1000);
    let val = encode(
        evnn_data::YinYang::validation().unwrap(),
        1000,
        config.t_max,
    )
    .unwrap();

    struct Check<'a> {
        params: &'a NetworkParams,
        val: &'a evnn_examples::experiment::EncodedSplit,
        inputs: &'a [SpikeTrains],
    }
    impl WithNet for Check<'_> {
        type Output = (f64, Vec<Vec<Vec<Vec<f64>>>>);
        fn run<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
            self,
            net: FeedForward<N, B>,
        ) -> anyhow::Result<Self::Output> {
            let runner = BatchRunner::new(net.clone());
            let acc = accuracy(&runner, self.params, self.val)?;
            let mut ws = net.workspace();
            let mut trace = ForwardTrace::default();
            let mut sims = Vec::new();
            for x in self.inputs {
                net.forward(self.params, x, &mut ws, &mut trace)?;
                sims.push(trace.layers.iter().map(|l| l.outputs.to_trains()).collect());
            }
            Ok((acc, sims))
        }
    }
    let input_file = out.join("inputs.json");
    let inputs = write_inputs(&input_file);
    let (acc, sims) = with_net(
        &config,
        Check {
            params: &params,
            val: &val,
            inputs: &inputs,
        },
    )
    .unwrap();
    assert_eq!(v["accuracy"].as_f64().unwrap(), acc);

    // simulate
    let out = on_input("simulate", &model, &input_file, &[]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["samples"], serde_json::to_value(&sims).unwrap());

    // grad
    assert_eq!(
        program_grad(&model, &input_file, &[]),
        library_grad(&config, &params, &inputs, &LABELS)
    );
}

/// Three Yin–Yang samples' input spike times and labels, the input file of
/// `simulate` and `grad` in these tests.
const TIMES: [[f64; 5]; 3] = [
    [3.0, 21.0, 27.0, 9.0, 0.0],
    [15.0, 12.0, 15.0, 18.0, 0.0],
    [6.0, 6.0, 24.0, 24.0, 0.0],
];
const LABELS: [usize; 3] = [0, 2, 1];

/// Writes [`TIMES`] and [`LABELS`] as an input file at `path`; the inputs.
fn write_inputs(path: &Path) -> Vec<SpikeTrains> {
    let json = serde_json::json!({"inputs": TIMES, "labels": LABELS});
    std::fs::write(path, json.to_string()).unwrap();
    TIMES
        .iter()
        .map(|t| SpikeTrains::from_times(t).unwrap())
        .collect()
}

/// The standard output of `evnn COMMAND --model MODEL --input INPUT
/// EXTRA...`, which must succeed.
fn on_input(command: &str, model: &Path, input: &Path, extra: &[&str]) -> Vec<u8> {
    let mut args = vec![
        command,
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = evnn(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// The loss and flat gradient of `config`'s network with `params` on
/// `inputs` (the library's numbers, which `evnn grad` prints).
fn library_grad(
    config: &TrainConfig,
    params: &NetworkParams,
    inputs: &[SpikeTrains],
    labels: &[usize],
) -> (f64, Vec<f64>) {
    struct Grad<'a>(
        &'a TrainConfig,
        &'a NetworkParams,
        &'a [SpikeTrains],
        &'a [usize],
    );
    impl WithNet for Grad<'_> {
        type Output = (f64, Vec<f64>);
        fn run<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
            self,
            net: FeedForward<N, B>,
        ) -> anyhow::Result<Self::Output> {
            let r =
                BatchRunner::new(net).loss_and_grad(self.1, self.2, self.3, &self.0.ttfs_loss())?;
            let mut g = r.grad.clone().unwrap();
            g.scale(1.0 / r.n as f64);
            Ok((r.mean_loss(), g.to_flat()))
        }
    }
    with_net(config, Grad(config, params, inputs, labels)).unwrap()
}

/// `evnn grad`'s loss and flat gradient.
fn program_grad(model: &Path, input: &Path, extra: &[&str]) -> (f64, Vec<f64>) {
    let v: Value = serde_json::from_slice(&on_input("grad", model, input, extra)).unwrap();
    let mut flat = Vec::new();
    for l in v["gradient"].as_array().unwrap() {
        for key in ["weights", "biases"] {
            flat.extend(
                l[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap()),
            );
        }
    }
    (v["loss"].as_f64().unwrap(), flat)
}

/// A model trained with `--integrator dopri5` records its integrator:
/// `eval` reproduces the training's test accuracy with it, `grad` gives
/// the library's Dormand–Prince gradient bit for bit, and `--integrator`
/// overrides the file's. A model trained with the default writes no
/// `integrator` (its file is what it was), and an integrator that does
/// not suit the model is a one-line error, from the file or the command
/// line.
#[test]
fn model_files_record_their_integrator() {
    let out = tmp("integrator");
    let mut args = mini_args("2", "3", &out);
    let at = args.iter().position(|a| a == "--test-size").unwrap();
    args[at + 1] = "1000".into();
    args.extend(["--no-plots", "--integrator", "dopri5"].map(String::from));
    let o = evnn_owned(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let model = out.join("model.json");
    let text = std::fs::read_to_string(&model).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["integrator"], "dopri5");
    let file = ModelFile::load(&model).unwrap();
    assert_eq!(file.config().integrator, Integrator::Dopri5);

    let o = evnn(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--split",
        "test",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n"], 1000);
    // (The series backend would most likely predict the same 1000 classes:
    // the spike times below tell the integrators apart.)
    assert_eq!(v["accuracy"].as_f64(), metrics["test_acc"].as_f64());

    let input = out.join("inputs.json");
    let inputs = write_inputs(&input);
    let params = file.params();
    let mut config = file.config();
    let dopri5 = library_grad(&config, &params, &inputs, &LABELS);
    assert_eq!(program_grad(&model, &input, &[]), dopri5);
    assert_eq!(
        program_grad(&model, &input, &["--integrator", "dopri5"]),
        dopri5
    );
    config.integrator = Integrator::Series;
    let series = library_grad(&config, &params, &inputs, &LABELS);
    assert_eq!(
        program_grad(&model, &input, &["--integrator", "series"]),
        series
    );
    // The two integrators agree to their tolerance (1e-6: the gradient to
    // about 1e-2 of its largest entry), not bit for bit.
    assert_ne!(series.1, dopri5.1);
    let scale = dopri5.1.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let worst = series
        .1
        .iter()
        .zip(&dopri5.1)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(worst <= 1e-2 * scale, "{worst} against {scale}");
    let simulate = |extra: &[&str]| on_input("simulate", &model, &input, extra);
    let spikes = simulate(&[]);
    assert_eq!(simulate(&["--integrator", "dopri5"]), spikes);
    assert_ne!(simulate(&["--integrator", "series"]), spikes);

    for (command, extra) in [
        ("eval", None),
        ("simulate", Some(&input)),
        ("grad", Some(&input)),
    ] {
        let mut args = vec![command, "--model", model.to_str().unwrap()];
        if let Some(input) = extra {
            args.extend(["--input", input.to_str().unwrap()]);
        }
        args.extend(["--integrator", "closed-form"]);
        let o = evnn(&args);
        assert_one_line_error(&o, "closed-form integrator is for LIF only");
        // The option's error, not the file's.
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("model file"), "{stderr}");
    }
    let bad = out.join("bad.json");
    std::fs::write(&bad, text.replace("\"dopri5\"", "\"closed-form\"")).unwrap();
    let o = evnn(&[
        "grad",
        "--model",
        bad.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, "closed-form integrator is for LIF only");
    std::fs::write(&bad, text.replace("\"dopri5\"", "\"euler\"")).unwrap();
    let o = evnn(&["eval", "--model", bad.to_str().unwrap()]);
    assert_one_line_error(&o, "euler");

    let plain = tmp("integrator-default");
    mini_train(&plain, &["--no-plots"]);
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(plain.join("model.json")).unwrap()).unwrap();
    assert!(json.get("integrator").is_none(), "{json}");
}

/// `--layer-wide`: a LIF training whose layers run layer-wide follows the
/// neuron-by-neuron training to round-off (the losses of every epoch, the
/// accuracies and the trained parameters); the config records the switch;
/// it is refused where it does not apply.
#[test]
fn layer_wide_training_is_the_neuron_by_neuron_one_to_round_off() {
    let wide = trainings_agree("", &[]);
    layer_wide_model_runs_as_the_default(&wide);
}

/// A LIF training of recurrent hidden layers with axonal delays, which run
/// layer-wide too, follows the neuron-by-neuron one to round-off.
#[test]
fn recurrent_layer_wide_training_with_axonal_delays_is_the_neuron_by_neuron_one() {
    let wide = trainings_agree("recurrent-axonal-", &["--recurrent", "--delays", "axonal"]);
    let m = ModelFile::load(&wide.join("model.json")).unwrap().params();
    assert!(m.layers[0].is_recurrent() && m.layers[0].axonal_delays.is_some());
}

/// A LIF training of recurrent hidden layers with synaptic and axonal
/// delays (each neuron its own arrivals: `DelayedLifLayer`) follows the
/// neuron-by-neuron one to round-off.
#[test]
fn recurrent_layer_wide_training_with_both_delays_is_the_neuron_by_neuron_one() {
    let wide = trainings_agree("recurrent-both-", &["--recurrent", "--delays", "both"]);
    let m = ModelFile::load(&wide.join("model.json")).unwrap().params();
    let hidden = &m.layers[0];
    assert!(hidden.is_recurrent() && hidden.synaptic_delays.is_some());
    assert!(hidden.axonal_delays.is_some());
}

/// Trains the mini LIF run with `extra` options neuron by neuron and with
/// `--layer-wide` (into `tmp(prefix…)`): every epoch's loss to 1e-9, the
/// same accuracies, the saved parameters to 1e-9 of their scale. Returns
/// the layer-wide run's directory.
fn trainings_agree(prefix: &str, extra: &[&str]) -> std::path::PathBuf {
    let (by_neuron, wide) = (
        tmp(&format!("{prefix}by-neuron")),
        tmp(&format!("{prefix}layer-wide")),
    );
    let mut args = vec!["--model", "lif", "--no-plots"];
    args.extend(extra);
    let a = mini_train(&by_neuron, &args);
    args.push("--layer-wide");
    let b = mini_train(&wide, &args);
    assert_eq!(b["config"]["layer_wide"], true);
    assert!(a["config"].get("layer_wide").is_none(), "{}", a["config"]);
    for (ea, eb) in a["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["epochs"].as_array().unwrap())
    {
        let (la, lb) = (
            ea["train_loss"].as_f64().unwrap(),
            eb["train_loss"].as_f64().unwrap(),
        );
        assert!(
            (la - lb).abs() <= 1e-9 * la.abs(),
            "train loss {la} against {lb}"
        );
        assert_eq!(ea["train_acc"], eb["train_acc"]);
        assert_eq!(ea["val_acc"], eb["val_acc"]);
    }
    assert_eq!(a["test_acc"], b["test_acc"]);
    let pa = ModelFile::load(&by_neuron.join("model.json"))
        .unwrap()
        .params();
    let pb = ModelFile::load(&wide.join("model.json")).unwrap().params();
    let (pa, pb) = (pa.to_flat(), pb.to_flat());
    let scale = pa.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (x, y) in pa.iter().zip(&pb) {
        assert!((x - y).abs() <= 1e-9 * scale, "parameter {x} against {y}");
    }
    wide
}

/// `eval`, `simulate` (spikes and states) and `grad` of the layer-wide
/// run's model in `wide` with `--layer-wide`: the default runs' numbers to
/// round-off; the switch refused where it does not apply.
fn layer_wide_model_runs_as_the_default(wide: &std::path::Path) {
    // `eval`, `simulate` (spikes and states) and `grad` of the model with
    // `--layer-wide`: the default runs' numbers to round-off.
    let model = wide.join("model.json");
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", "--model", model.to_str().unwrap()];
        args.extend(extra);
        let o = evnn(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    assert_eq!(eval(&[]), eval(&["--layer-wide"]));
    let input = wide.join("inputs.json");
    write_inputs(&input);
    let (la, ga) = program_grad(&model, &input, &[]);
    let (lb, gb) = program_grad(&model, &input, &["--layer-wide"]);
    assert!((la - lb).abs() <= 1e-9 * la.abs(), "loss {la} against {lb}");
    let scale = ga.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0);
    for (x, y) in ga.iter().zip(&gb) {
        assert!((x - y).abs() <= 1e-9 * scale, "gradient {x} against {y}");
    }
    let simulate = |extra: &[&str]| {
        let mut args = vec!["--states", "0:0,0:5,1:2", "--dt", "0.5"];
        args.extend(extra);
        let out = on_input("simulate", &model, &input, &args);
        serde_json::from_slice::<SimulateOutput>(&out).unwrap()
    };
    let (sa, sb) = (simulate(&[]), simulate(&["--layer-wide"]));
    let flat_spikes = |s: &SimulateOutput| -> Vec<f64> { s.samples.concat().concat().concat() };
    let flat_states = |s: &SimulateOutput| -> Vec<f64> {
        let neurons = s.states.iter().flatten();
        neurons.flat_map(|n| n.values.concat()).collect()
    };
    for (what, a, b) in [
        ("spike", flat_spikes(&sa), flat_spikes(&sb)),
        ("state", flat_states(&sa), flat_states(&sb)),
    ] {
        assert!(!a.is_empty() && a.len() == b.len(), "{what}s");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
                "{what} {x} against {y}"
            );
        }
    }
    let refused = "is for the LIF model on the closed-form integrator";
    let on_dopri5 = [
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--integrator",
        "dopri5",
        "--layer-wide",
    ];
    assert_one_line_error(&evnn(&on_dopri5), refused);
    assert_one_line_error(&evnn(&["train", "--layer-wide"]), refused);
    let dopri5 = [
        "train",
        "--model",
        "lif",
        "--integrator",
        "dopri5",
        "--layer-wide",
    ];
    assert_one_line_error(&evnn(&dopri5), refused);
    let derived = ["bench", "--model", "lif", "--derived", "--layer-wide"];
    assert_one_line_error(&evnn(&derived), "--derived");
    let shd = [
        "bench",
        "--workload",
        "shd",
        "--layer-wide",
        "--samples",
        "1",
        "--hidden",
        "4",
    ];
    assert_one_line_error(&evnn(&shd), refused);
    let mut shd_lif = shd.to_vec();
    shd_lif.extend(["--model", "lif", "--rate", "5", "--repeats", "1"]);
    let o = evnn(&shd_lif);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layer_wide"], true);
}

#[test]
fn bad_input_gives_one_line_errors() {
    let d = tmp("bad");
    let cfg = d.join("cfg.json");
    std::fs::write(&cfg, r#"{"epochs": 1, "learning_rate": 0.1}"#).unwrap();
    assert_one_line_error(
        &evnn(&["train", "--config", cfg.to_str().unwrap()]),
        "learning_rate",
    );
    std::fs::write(&cfg, r#"{"epochs": "many"}"#).unwrap();
    assert_one_line_error(
        &evnn(&["train", "--config", cfg.to_str().unwrap()]),
        "invalid config file",
    );
    let blocker = d.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("sub");
    assert_one_line_error(
        &evnn(&["train", "--epochs", "1", "--out", out.to_str().unwrap()]),
        "cannot create output directory",
    );
    let model = d.join("model.json");
    std::fs::write(&model, "{\"format\": \"evnn-model\", \"version\": 1, ").unwrap();
    assert_one_line_error(
        &evnn(&["eval", "--model", model.to_str().unwrap()]),
        "not a valid evnn model",
    );
    assert_one_line_error(
        &evnn(&["simulate-neuron", "--inputs", "1:2,3"]),
        "time:weight",
    );
    assert_one_line_error(&evnn(&["train", "--lr=-1"]), "lr");
    assert_one_line_error(&evnn(&["train", "--lr", "-1"]), "-1");
    assert_one_line_error(&evnn(&["train", "--model", "hh"]), "hh");
    assert_one_line_error(&evnn(&["train", "--batch-size", "0"]), "batch_size");
}

#[test]
fn simulate_neuron_reports_agreeing_backends() {
    let o = evnn(&["simulate-neuron", "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let lif = v["lif"]["closed_form"].as_array().unwrap();
    assert!(!lif.is_empty());
    assert!(v["lif"]["max_diff_dopri5"].as_f64().unwrap() < 1e-4);
    assert!(!v["qif"]["dopri5"].as_array().unwrap().is_empty());
    assert!(!v["qif"]["series"].as_array().unwrap().is_empty());
    assert!(v["qif"]["max_diff_dopri5"].as_f64().unwrap() < 1e-4);
}

#[test]
fn bad_input_files_of_simulate_and_grad_give_one_line_errors() {
    let d = tmp("bad-inputs");
    let config = TrainConfig {
        hidden: vec![4],
        ..TrainConfig::default()
    };
    let params = evnn_examples::experiment::init_params(&config).unwrap();
    let model = d.join("model.json");
    ModelFile::new(&config, &params, &["bias"])
        .save(&model)
        .unwrap();
    let input = d.join("in.json");
    let run = |cmd: &str, text: &str| {
        std::fs::write(&input, text).unwrap();
        evnn(&[
            cmd,
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
    };
    let ok = r#"{"inputs": [[1, 2, 3, 4, 0]], "labels": [2]}"#;
    assert!(run("grad", ok).status.success());
    for (cmd, text, needle) in [
        (
            "grad",
            r#"{"inputs": [[1, 2, 3, 4, 0]], "labels": [3]}"#,
            "label 3 of sample 0 out of range for the model's 3 classes",
        ),
        (
            "grad",
            r#"{"inputs": [[1, 2, 3, 4, 0]], "labels": [0, 1]}"#,
            "2 labels for 1 input samples",
        ),
        (
            "grad",
            r#"{"inputs": [[1, 2, 3, 4, 0]]}"#,
            "needs \"labels\"",
        ),
        (
            "simulate",
            r#"{"inputs": [[1, 2, -3, 4, 0]]}"#,
            "invalid time -3",
        ),
        (
            "simulate",
            r#"{"inputs": [[1, 2, 3, 4]]}"#,
            "input channels: expected 5, got 4",
        ),
        (
            "simulate",
            r#"{"inputs": [[1, 2, 3, 4, NaN]]}"#,
            "invalid input file",
        ),
        (
            "simulate",
            r#"{"inputs": [[1, 2, 3, 4, 1e999]]}"#,
            "invalid input file",
        ),
        (
            "simulate",
            r#"{"inputs": [[1, 2, 3, 4, 0]], "weights": []}"#,
            "unknown field `weights`",
        ),
    ] {
        assert_one_line_error(&run(cmd, text), needle);
    }
}

#[test]
fn bench_reports_medians_of_alternating_passes() {
    let o = evnn(&["bench", "--samples", "40", "--repeats", "3"]);
    assert!(
        o.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["repeats"], 3);
    assert_eq!(v["samples"], 40);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["threads"], 1);
    for run in runs {
        for name in [
            "seconds_per_epoch",
            "forward_samples_per_s",
            "predict_samples_per_s",
            "train_samples_per_s",
        ] {
            let each: Vec<f64> = run["each"][name]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            assert_eq!(each.len(), 3, "{name}");
            assert!(
                each.iter().all(|&x| x.is_finite() && x > 0.0),
                "{name}: {each:?}"
            );
            // Three values: the median is one of them, the middle one.
            let median = run[name].as_f64().unwrap();
            let below = each.iter().filter(|&&x| x < median).count();
            let above = each.iter().filter(|&&x| x > median).count();
            assert!(
                each.contains(&median) && below <= 1 && above <= 1,
                "{name}: {median} of {each:?}"
            );
        }
    }
    let speedup = v["speedup_all_threads_vs_1"].as_f64().unwrap();
    let expected = runs[0]["seconds_per_epoch"].as_f64().unwrap()
        / runs[1]["seconds_per_epoch"].as_f64().unwrap();
    assert_eq!(speedup, expected);
    assert_one_line_error(&evnn(&["bench", "--repeats", "0"]), "repeats");
}

#[test]
fn bench_runs_derived_derivatives_on_a_generic_integrator() {
    let o = evnn(&["bench", "--derived", "--samples", "10", "--repeats", "1"]);
    assert!(
        o.status.success(),
        "bench --derived failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["derived_derivatives"], true);
    let train = v["runs"][0]["train_samples_per_s"].as_f64().unwrap();
    assert!(train.is_finite() && train > 0.0, "{train}");
    // Hand-written derivatives are the default.
    let o = evnn(&["bench", "--samples", "10", "--repeats", "1"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["derived_derivatives"], false);
    for (args, needle) in [
        (&["--integrator", "series"][..], "generic integrator"),
        (&["--model", "eif"][..], "built-in models"),
    ] {
        let mut all = vec!["bench", "--derived", "--samples", "10"];
        all.extend_from_slice(args);
        assert_one_line_error(&evnn(&all), needle);
    }
}

/// `--workload shd` runs the spoken-digit-sized network's passes on Poisson
/// inputs: the network has 700 inputs, the hidden width asked for and 20
/// outputs; the input count is the rate's; every timing is positive; bad
/// sizes and rates are one-line errors.
#[test]
fn bench_runs_the_shd_workload() {
    let o = evnn(&[
        "bench",
        "--workload",
        "shd",
        "--model",
        "lif",
        "--samples",
        "4",
        "--hidden",
        "8",
        "--rate",
        "5",
        "--repeats",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["workload"], "shd");
    assert!(
        v["experiment"].as_str().unwrap().contains("[700, 8, 20]"),
        "{v}"
    );
    // 700 channels at 5 Hz for 1 s: 3500 spikes expected (sd about 30 a sample).
    let n = v["input_spikes_per_sample"].as_f64().unwrap();
    assert!((3300.0..3700.0).contains(&n), "{n}");
    assert_eq!(v["spikes_per_sample"].as_array().unwrap().len(), 2);
    for run in v["runs"].as_array().unwrap() {
        for name in [
            "full_forward_us_per_sample",
            "loss_us_per_sample",
            "loss_backward_us_per_sample",
        ] {
            let x = run[name].as_f64().unwrap();
            assert!(x.is_finite() && x > 0.0, "{name}: {x}");
        }
    }
    for (args, needle) in [
        (&["--hidden", "0"][..], "--hidden"),
        (&["--samples", "0"][..], "--samples"),
        (&["--rate=-1"][..], "rate_hz` = -1"),
    ] {
        let mut all = vec!["bench", "--workload", "shd", "--model", "lif"];
        all.extend_from_slice(args);
        assert_one_line_error(&evnn(&all), needle);
    }
    // The workload's options are errors with the default workload.
    for flag in ["--readout", "--recurrent"] {
        let o = evnn(&["bench", "--model", "lif", flag]);
        assert_one_line_error(&o, &format!("{flag} is an option of --workload shd"));
    }
    // With a leaky-integrator readout the hidden layer is the network's
    // last layer, read by the 20 readout neurons.
    let o = evnn(&[
        "bench",
        "--workload",
        "shd",
        "--model",
        "lif",
        "--samples",
        "2",
        "--hidden",
        "8",
        "--rate",
        "5",
        "--repeats",
        "1",
        "--readout",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["readout"], "li_max");
    assert!(
        v["experiment"].as_str().unwrap().contains("[700, 8]"),
        "{v}"
    );
    for run in v["runs"].as_array().unwrap() {
        let x = run["loss_backward_us_per_sample"].as_f64().unwrap();
        assert!(x.is_finite() && x > 0.0, "{x}");
    }
}

/// A reader that closes the pipe early (`evnn data --split test | head -c
/// 100`) ends the program quietly: status 0, nothing on standard error (no
/// "failed printing to stdout" panic). The split's JSON (about 200 kB) is
/// far more than a pipe buffers, so the program is still writing when the
/// pipe closes.
#[test]
fn closed_output_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_evnn"))
        .args(["data", "--split", "test"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run evnn");
    let mut head = [0u8; 100];
    child
        .stdout
        .take()
        .expect("piped")
        .read_exact(&mut head)
        .unwrap();
    // The read end is dropped here: the program's next write fails.
    let o = child.wait_with_output().unwrap();
    assert!(
        head.starts_with(b"{\""),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.is_empty(), "stderr: {err}");
    assert!(o.status.success(), "{:?}", o.status);
}
