//! Layers of different neuron models in one network, through
//! [`AnyNeuron`]: a layer of `AnyNeuron::X(x)` computes what a network of
//! `x` computes (spike times within the solver tolerance on Dormand–Prince
//! and diffsol), each layer starts from its own model's parameters, and the
//! EventProp gradients of mixed networks (EIF → LIF, PQIF → Izhikevich,
//! QIF → LIF → EIF) agree with finite differences, the inert padded
//! parameters' gradients being exactly zero.

use evnn_net::{
    gradcheck, FeedForward, ForwardTrace, GradCheckOptions, InitConfig, NetworkParams, ParamRef,
    SpikeTrains,
};
use evnn_neurons::{
    AnyNeuron, Eif, EifConstants, Izhikevich, IzhikevichConstants, Lif, NeuronModel, Pqif, Qif,
    ANY_PARAMS_DIM,
};
use evnn_solver::{Adjoint, Backend, DiffsolBackend, Dopri5Backend, SolverOptions};

fn eif() -> AnyNeuron {
    Eif::new(EifConstants::default()).unwrap().into()
}

fn init(wmean: f64, wlim: f64) -> InitConfig {
    InitConfig {
        wmean,
        wlim,
        bmean: 0.3,
        blim: 0.4,
        ..InitConfig::default()
    }
}

/// A gradient check of the network of `layers` on `backend` at tolerance
/// 1e-13: every compared entry agrees with five-point finite differences,
/// at least 70 % are compared, every layer has compared weight entries,
/// and the entries of parameters a layer's model does not use are exactly
/// zero. Returns the number of compared entries.
fn mixed_gradients_match<B>(
    layers: Vec<AnyNeuron>,
    sizes: &[usize],
    backend: B,
    init: InitConfig,
    trains: &[Vec<f64>],
    t_end: f64,
) -> usize
where
    B: Backend<AnyNeuron> + Adjoint<AnyNeuron> + Clone + Send + Sync,
{
    let names: Vec<_> = layers.iter().map(|m| m.name()).collect();
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net = FeedForward::with_layer_models(layers.clone(), sizes, backend, opts, t_end).unwrap();
    let params = net.init_params(&init, 1).unwrap();
    let input = SpikeTrains::from_trains(trains).unwrap();
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    for (k, layer) in trace.layers.iter().enumerate() {
        assert!(
            layer.outputs.n_spikes() > 0,
            "{names:?}: layer {k} ({}) must spike",
            names[k]
        );
    }
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.3 * k as f64).collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
    assert!(report.is_ok(), "{names:?}: {:?}", report.failures());
    let (compared, total) = (report.compared(), report.entries.len());
    assert!(
        compared * 10 >= total * 7,
        "{names:?}: compared {compared} of {total}"
    );
    for (k, model) in layers.iter().enumerate() {
        let weights = report
            .entries
            .iter()
            .filter(|e| e.skipped.is_none())
            .filter(|e| matches!(e.param, ParamRef::Weight { layer, .. } if layer == k))
            .count();
        assert!(weights > 0, "{names:?}: no compared weight of layer {k}");
        let used = model.param_names().len();
        for e in &report.entries {
            if let ParamRef::NeuronParam { layer, index, .. } = e.param {
                if layer == k && index >= used {
                    assert_eq!(e.analytic, 0.0, "{names:?}: inert parameter {:?}", e.param);
                }
            }
        }
    }
    eprintln!("{names:?}: compared {compared} of {total} entries");
    compared
}

#[test]
fn eif_hidden_lif_output_gradients_match_finite_differences() {
    let trains = [vec![1.0, 6.0], vec![3.0], vec![9.0]];
    let layers = vec![eif(), Lif::default().into()];
    mixed_gradients_match(
        layers.clone(),
        &[3, 5, 2],
        Dopri5Backend::default(),
        init(4.0, 4.0),
        &trains,
        40.0,
    );
    mixed_gradients_match(
        layers,
        &[3, 5, 2],
        DiffsolBackend::default(),
        init(4.0, 4.0),
        &trains,
        40.0,
    );
}

#[test]
fn pqif_hidden_izhikevich_output_gradients_match_finite_differences() {
    let trains = [vec![2.0, 12.0], vec![5.0], vec![20.0]];
    let izh: AnyNeuron = Izhikevich::new(IzhikevichConstants::default())
        .unwrap()
        .into();
    mixed_gradients_match(
        vec![Pqif::default().into(), izh],
        &[3, 4, 2],
        Dopri5Backend::default(),
        init(6.0, 4.0),
        &trains,
        60.0,
    );
}

#[test]
fn three_models_in_three_layers_gradients_match_finite_differences() {
    let trains = [vec![1.0, 4.0], vec![2.5], vec![6.0]];
    mixed_gradients_match(
        vec![Qif::default().into(), Lif::default().into(), eif()],
        &[3, 4, 4, 2],
        Dopri5Backend::default(),
        init(5.0, 4.0),
        &trains,
        50.0,
    );
}

/// A network of `AnyNeuron::Lif` layers spikes as the plain LIF network
/// does, to the solver tolerance, on both generic backends.
#[test]
fn a_padded_layer_computes_its_models_spikes() {
    let sizes = [3, 6, 3];
    let tol = 1e-10;
    let opts = SolverOptions::default().with_tolerances(tol, tol);
    let init = init(5.0, 6.0);
    let input = SpikeTrains::from_times(&[1.0, 4.0, 7.5]).unwrap();
    let spikes = |net_any: FeedForward<AnyNeuron, Dopri5Backend>| {
        let params = net_any.init_params(&init, 2).unwrap();
        let (mut ws, mut trace) = (net_any.workspace(), ForwardTrace::default());
        net_any
            .forward(&params, &input, &mut ws, &mut trace)
            .unwrap();
        (params, trace)
    };
    let any = AnyNeuron::from(Lif::default());
    let (params_any, trace_any) =
        spikes(FeedForward::new(any, &sizes, Dopri5Backend::default(), opts, 30.0).unwrap());
    let plain = FeedForward::new(
        Lif::default(),
        &sizes,
        DiffsolBackend::default(),
        opts,
        30.0,
    )
    .unwrap();
    let params = NetworkParams::init::<Lif>(&sizes, &init, 2).unwrap();
    // Same weights and biases; the padded parameters are the inert zeros.
    for (a, p) in params_any.layers.iter().zip(&params.layers) {
        assert_eq!(a.weights, p.weights);
        let biases: Vec<f64> = a
            .neuron_params
            .chunks(ANY_PARAMS_DIM)
            .map(|c| c[0])
            .collect();
        assert_eq!(biases, p.neuron_params);
        assert!(a
            .neuron_params
            .chunks(ANY_PARAMS_DIM)
            .all(|c| c[1..].iter().all(|&v| v == 0.0)));
    }
    let (mut ws, mut trace) = (plain.workspace(), ForwardTrace::default());
    plain.forward(&params, &input, &mut ws, &mut trace).unwrap();
    let mut n = 0;
    for (a, p) in trace_any.layers.iter().zip(&trace.layers) {
        let (a, p) = (a.outputs.to_trains(), p.outputs.to_trains());
        assert_eq!(
            a.iter().map(Vec::len).collect::<Vec<_>>(),
            p.iter().map(Vec::len).collect::<Vec<_>>()
        );
        for (x, y) in a.iter().flatten().zip(p.iter().flatten()) {
            assert!((x - y).abs() < 1e-7, "{x} vs {y}");
            n += 1;
        }
    }
    assert!(n >= 5, "only {n} spikes compared");
}

/// Each layer starts from its own model's parameters beyond the bias.
#[test]
fn each_layer_starts_from_its_own_models_defaults() {
    let layers: Vec<AnyNeuron> = vec![Pqif::default().into(), Lif::default().into()];
    let net = FeedForward::with_layer_models(
        layers.clone(),
        &[2, 3, 2],
        Dopri5Backend::default(),
        SolverOptions::default(),
        30.0,
    )
    .unwrap();
    let params = net.init_params(&InitConfig::default(), 0).unwrap();
    for (layer, model) in params.layers.iter().zip(&layers) {
        let defaults = model.default_params();
        for neuron in layer.neuron_params.chunks(ANY_PARAMS_DIM) {
            assert_eq!(neuron[1..], defaults[1..]);
        }
    }
    assert!(params.layers[0].neuron_params[1] != 0.0, "PQIF's log τ_mem");
    net.check_params(&params).unwrap();
}
