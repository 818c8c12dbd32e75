//! The per-model Yin–Yang configurations (`configs/yinyang-<model>.json`,
//! docs/models.md): each parses as a `TrainConfig`, validates, names its
//! model, runs on Dormand–Prince, and the `evnn` program's registry
//! resolves its constants and builds its network, whose initial parameters
//! have the model's parameter count per neuron and start the learnable
//! logarithms at the model's defaults.

use evnn_examples::experiment::{Integrator, ModelKind, TrainConfig, WithNet};
use evnn_examples::models::{family, Models};
use evnn_net::{FeedForward, NetworkParams};
use evnn_neurons::{NeuronModel, StateVector};
use evnn_solver::{Adjoint, Backend};

/// The model name of each configuration file `configs/yinyang-<name>.json`.
const MODELS: &[&str] = &[
    "eif",
    "alif",
    "izhikevich",
    "plif",
    "pqif",
    "pizhikevich",
    "egru",
];

fn config(name: &str) -> TrainConfig {
    let path = format!(
        "{}/../configs/yinyang-{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The initial parameters, the model's parameter names and its default
/// parameters.
struct Start<'a>(&'a TrainConfig);

impl WithNet for Start<'_> {
    type Output = (NetworkParams, &'static [&'static str], Vec<f64>);
    fn run<N, B>(self, net: FeedForward<N, B>) -> anyhow::Result<Self::Output>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let model = &net.models()[0];
        let params = self.0.init_params_for(model)?;
        Ok((
            params,
            N::PARAM_NAMES,
            model.default_params().as_slice().to_vec(),
        ))
    }
}

#[test]
fn every_config_parses_validates_and_builds_its_network() {
    // Every `configs/yinyang-*.json` is one of them.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            Some(
                name.strip_prefix("yinyang-")?
                    .strip_suffix(".json")?
                    .to_string(),
            )
        })
        .collect();
    found.sort();
    let mut listed: Vec<&str> = MODELS.to_vec();
    listed.sort();
    assert_eq!(found, listed);
    for &name in MODELS {
        let c = config(name);
        c.validate().unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(c.model, ModelKind::Custom(name.into()), "{name}");
        assert_eq!(c.integrator, Integrator::Dopri5, "{name}");
        assert_eq!(c.sizes(), [5, 20, 3], "{name}: the Yin–Yang network");
        assert!(c.epochs > 0 && c.lr > 0.0, "{name}");
        let resolved = family()
            .resolve(&c)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(!resolved.constants.is_empty(), "{name}");
        let (params, names, start) = family()
            .with_net(&resolved, Start(&resolved))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let p = names.len();
        for layer in &params.layers {
            assert_eq!(layer.neuron_params.len(), layer.n_out * p, "{name}");
            for row in layer.neuron_params.chunks(p) {
                // Beyond the drawn bias, every parameter starts at the
                // model's default (learnable logarithms).
                assert_eq!(&row[1..], &start[1..], "{name}");
            }
        }
        // The weights follow the configured initialisation: per layer
        // (EGRU: normal, three per synapse), or uniform.
        if let Some(layers) = &resolved.init_layers {
            assert_eq!(layers.len(), params.layers.len(), "{name}");
            let k_w = if name == "egru" { 3 } else { 1 };
            for l in &params.layers {
                assert_eq!(l.weights.len(), l.n_out * l.n_in * k_w, "{name}");
                assert!(l.weights.iter().all(|w| w.is_finite()), "{name}");
            }
            continue;
        }
        let init = resolved.init_config();
        let (lo, hi) = (init.wmean - init.wlim / 2.0, init.wmean + init.wlim / 2.0);
        assert!(
            params.layers[0]
                .weights
                .iter()
                .all(|&w| (lo..=hi).contains(&w)),
            "{name}: weights outside [{lo}, {hi}]"
        );
    }
}
