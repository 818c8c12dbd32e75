//! A user's own program: the `evnn` commands with a neuron model the
//! project does not ship, registered by name. Training writes a model file
//! of that kind with the model's full constants; eval, simulate, grad and
//! resume read it back; the plain program and bad constants give errors that
//! name the problem.

use clap::Parser;
use evnn_examples::commands::run_with;
use evnn_examples::model_file::{ModelFile, NeuronSpec};
use evnn_examples::models::{Builtin, FileModel, Models};
use evnn_examples::program::Cli;
use evnn_neurons::{NeuronModel, Scalar};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A leaky neuron with an exponential upswing and a current synapse, in its
/// equations only.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Upswing {
    tau_mem: f64,
    tau_syn: f64,
    sharpness: f64,
}

impl Default for Upswing {
    fn default() -> Self {
        Upswing {
            tau_mem: 20.0,
            tau_syn: 5.0,
            sharpness: 0.2,
        }
    }
}

impl NeuronModel for Upswing {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "upswing";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 2] {
        [0.0, 0.0]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let up = ((x[0] - 1.0) / self.sharpness).exp() * self.sharpness;
        dx[0] = (-x[0] + up + x[1] + p[0]) / self.tau_mem;
        dx[1] = -x[1] / self.tau_syn;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - 1.5
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(0.0);
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[1] += w;
    }
}

impl FileModel for Upswing {
    const KIND: &'static str = "upswing";
    fn check(&self) -> Result<(), String> {
        if !(self.sharpness > 0.0) {
            return Err(format!("sharpness = {} must be > 0", self.sharpness));
        }
        Ok(())
    }
}

fn run<M: Models>(models: &M, args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("evnn").chain(args.iter().copied()))?;
    run_with(cli.command, models)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_registered_model_runs_through_every_command() {
    let models = Builtin.with::<Upswing>();
    let dir = std::env::temp_dir().join(format!("evnn-custom-program-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("run");
    let common = [
        "--model",
        "upswing",
        "--constants",
        r#"{"sharpness": 0.25}"#,
        "--hidden",
        "6",
        "--train-size",
        "64",
        "--val-size",
        "32",
        "--test-size",
        "32",
        "--batch-size",
        "32",
        "--no-plots",
        "--threads",
        "1",
    ];
    let mut args = vec!["train", "--epochs", "1", "--out", path(&out)];
    args.extend(common);
    run(&models, &args).unwrap();

    // The file names the kind and carries the full constants (defaults filled in).
    let file = ModelFile::load(&out.join("model.json")).unwrap();
    match &file.neuron {
        NeuronSpec::Custom { kind, constants } => {
            assert_eq!(kind, "upswing");
            assert_eq!(constants["sharpness"], 0.25);
            assert_eq!(constants["tau_mem"], 20.0);
            assert_eq!(constants.len(), 3, "{constants:?}");
        }
        other => panic!("expected the registered kind, got {other:?}"),
    }
    assert_eq!(file.sizes, [5, 6, 3]);

    // eval, simulate and grad read it with the registry.
    let model = out.join("model.json");
    run(
        &models,
        &["eval", "--model", path(&model), "--split", "test"],
    )
    .unwrap();
    let input = dir.join("input.json");
    std::fs::write(
        &input,
        r#"{"inputs": [[3.0, 9.0, 27.0, 21.0, 0.0], [15.0, 1.5, 15.0, 28.5, 0.0]], "labels": [0, 2]}"#,
    )
    .unwrap();
    run(
        &models,
        &["simulate", "--model", path(&model), "--input", path(&input)],
    )
    .unwrap();
    run(
        &models,
        &["grad", "--model", path(&model), "--input", path(&input)],
    )
    .unwrap();

    // Resuming continues with the recorded constants.
    run(
        &models,
        &[
            "train",
            "--resume",
            path(&out),
            "--epochs",
            "2",
            "--no-plots",
        ],
    )
    .unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 2);
    assert_eq!(metrics["config"]["constants"]["sharpness"], 0.25);

    // The plain program does not know the kind, and says so.
    let err = run(&Builtin, &["eval", "--model", path(&model)]).unwrap_err();
    assert!(
        format!("{err:#}")
            .contains("unknown neuron model `upswing` (this program knows: qif, lif)"),
        "{err:#}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_names_and_constants_are_named() {
    let models = Builtin.with::<Upswing>();
    let dir = std::env::temp_dir().join(format!("evnn-custom-bad-{}", std::process::id()));
    let out = path(&dir);
    let cases: [(&[&str], &str); 5] = [
        (
            &["train", "--model", "upswig", "--out", out],
            "unknown neuron model `upswig` (this program knows: qif, lif, upswing)",
        ),
        (
            &[
                "train",
                "--model",
                "upswing",
                "--constants",
                r#"{"sharpness": -1}"#,
                "--out",
                out,
            ],
            "sharpness = -1 must be > 0",
        ),
        (
            &[
                "train",
                "--model",
                "upswing",
                "--constants",
                r#"{"sharp": 1}"#,
                "--out",
                out,
            ],
            "unknown field `sharp`",
        ),
        (
            &[
                "train",
                "--model",
                "upswing",
                "--integrator",
                "series",
                "--out",
                out,
            ],
            "the series integrator is not for the `upswing` model",
        ),
        (
            &[
                "train",
                "--model",
                "qif",
                "--constants",
                r#"{"sharpness": 1}"#,
                "--out",
                out,
            ],
            "`constants` are for registered models",
        ),
    ];
    for (args, expected) in cases {
        let err = run(&models, args).unwrap_err();
        assert!(format!("{err:#}").contains(expected), "{args:?}: {err:#}");
        assert!(
            !dir.exists(),
            "{args:?}: a failed run must not create its output directory"
        );
    }
    let err = Cli::try_parse_from(["evnn", "train", "--constants", "[1, 2]"]).unwrap_err();
    assert!(err.to_string().contains("expected a JSON object"), "{err}");
}

/// The `evnn` program's own registry knows the neurons of evnn-neurons by
/// name (tests/model_family.rs runs the others); a model file records their constants in full
/// (the EIF's derived peak included), and bad constants are named.
#[test]
fn the_program_knows_the_model_family() {
    let models = evnn_examples::models::family();
    let mut names = Vec::new();
    models.names(&mut names);
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
    let dir = std::env::temp_dir().join(format!("evnn-family-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let args = [
        "train",
        "--model",
        "eif",
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
        "--no-plots",
        "--threads",
        "1",
        "--out",
    ];
    let mut args = args.to_vec();
    args.push(path(&dir));
    run(&models, &args).unwrap();
    let file = ModelFile::load(&dir.join("model.json")).unwrap();
    match &file.neuron {
        NeuronSpec::Custom { kind, constants } => {
            assert_eq!(kind, "eif");
            let v_peak = constants["v_peak"].as_f64().unwrap();
            assert!(
                (v_peak - (1.0 - 0.2 * (1e-3f64 / 20.0).ln())).abs() < 1e-12,
                "{v_peak}"
            );
        }
        other => panic!("{other:?}"),
    }
    let err = run(
        &models,
        &[
            "train",
            "--model",
            "eif",
            "--constants",
            r#"{"delta_t": 0}"#,
            "--out",
            path(&dir),
        ],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("`delta_t` = 0"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
