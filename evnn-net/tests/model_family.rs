//! The built-in model family written as equations only (EIF, ALIF,
//! Izhikevich, and PLIF, PQIF, PIzhikevich with learnable time constants):
//! in small random networks on the Dormand–Prince backend at tolerance
//! 1e-13, every weight, neuron-parameter and input-time gradient that finite
//! differences can judge agrees with them, the gradients with respect to
//! the learned logarithms among them; and parameters initialised from a
//! model's defaults.

use evnn_net::{
    gradcheck, FeedForward, GradCheckOptions, InitConfig, NetError, NetworkParams, ParamRef,
    SpikeTrains,
};
use evnn_neurons::{
    Alif, AlifConstants, Eif, EifConstants, Izhikevich, IzhikevichConstants, Lif, NeuronModel,
    PIzhikevich, Plif, Pqif, Qif, Reset, StateVector,
};
use evnn_solver::{Dopri5Backend, SolverError, SolverOptions};

/// A network of `model` with layer sizes `sizes` on Dopri5 at tolerance
/// 1e-13, parameters from [`NetworkParams::init_for`] (seed `seed`), input
/// `trains`, simulated on `[0, t_end]`: the output layer spikes at least
/// twice, every compared gradient entry agrees with five-point finite
/// differences (≤ 1e-6 relative or 1e-8 absolute), at least 70 % of the
/// entries are compared, and every neuron parameter index (bias and each
/// learned logarithm) has compared entries. Returns the largest number of
/// spikes of one output neuron.
fn network_gradients_match<N: NeuronModel>(
    model: N,
    sizes: &[usize],
    init: InitConfig,
    seed: u64,
    trains: &[Vec<f64>],
    t_end: f64,
) -> usize {
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net =
        FeedForward::new(model.clone(), sizes, Dopri5Backend::default(), opts, t_end).unwrap();
    let params = NetworkParams::init_for(&model, sizes, &init, seed).unwrap();
    let input = SpikeTrains::from_trains(trains).unwrap();
    let mut ws = net.workspace();
    let mut trace = Default::default();
    net.forward(&params, &input, &mut ws, &mut trace)
        .unwrap_or_else(|e| panic!("{}: forward pass: {e}", N::NAME));
    let out = trace.output().unwrap();
    let out_spikes = out.n_spikes();
    let most = (0..out.n_channels())
        .map(|c| out.channel(c).len())
        .max()
        .unwrap_or(0);
    let hidden_spikes = trace.layers[0].outputs.n_spikes();
    assert!(
        out_spikes >= 2,
        "{}: the output layer must spike: {out_spikes} (hidden {hidden_spikes})",
        N::NAME
    );
    // L = Σ_k c_k t_k over the output spikes in flat order, with distinct
    // weights so that no gradient cancels by symmetry.
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.3 * k as f64).collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
    assert!(report.is_ok(), "{}: {:?}", N::NAME, report.failures());
    let (compared, total) = (report.compared(), report.entries.len());
    assert!(
        compared * 10 >= total * 7,
        "{}: compared {compared} of {total}",
        N::NAME
    );
    for index in 0..N::Params::DIM {
        let n = report
            .entries
            .iter()
            .filter(|e| e.skipped.is_none())
            .filter(|e| matches!(e.param, ParamRef::NeuronParam { index: i, .. } if i == index))
            .count();
        assert!(
            n > 0,
            "{}: no compared entry for parameter {}",
            N::NAME,
            N::PARAM_NAMES[index]
        );
    }
    // The largest relative deviation over the compared entries with
    // `|numeric| > 1e-6` (smaller ones are judged by the absolute
    // tolerance), for the record.
    let max_rel = report
        .entries
        .iter()
        .filter_map(|e| Some((e.analytic, e.numeric?)))
        .filter(|&(_, n)| n.abs() > 1e-6)
        .map(|(a, n)| (a - n).abs() / n.abs())
        .fold(0.0, f64::max);
    eprintln!(
        "{}: {hidden_spikes} hidden and {out_spikes} output spikes; \
         compared {compared} of {total} entries, max relative deviation {max_rel:.2e}",
        N::NAME
    );
    most
}

fn init(wmean: f64, wlim: f64, bmean: f64, blim: f64) -> InitConfig {
    InitConfig {
        wmean,
        wlim,
        bmean,
        blim,
        ..InitConfig::default()
    }
}

#[test]
fn eif_network_gradients_match_finite_differences() {
    let trains = [vec![1.0, 6.0], vec![3.0], vec![9.0]];
    for reset in [Reset::Hard, Reset::Subtractive] {
        let eif = Eif::new(EifConstants::default().with_reset(reset)).unwrap();
        network_gradients_match(eif, &[3, 5, 2], init(3.0, 8.0, 0.3, 0.6), 2, &trains, 40.0);
    }
}

#[test]
fn alif_network_gradients_match_finite_differences() {
    // Tonic drive above the resting threshold and inhibitory voltage jumps:
    // an excitatory jump can cross the threshold, an instantaneous spike
    // that the solver rejects (`JumpAboveThreshold`). An output neuron
    // spikes more than once, so that the gradient flows through a reset
    // (where the two resets differ).
    let trains = [vec![1.0, 6.0], vec![3.0], vec![9.0]];
    for reset in [Reset::Subtractive, Reset::Hard] {
        let alif = Alif::new(AlifConstants::new(10.0, 50.0, 1.0, 10.0).with_reset(reset)).unwrap();
        let init = init(-0.2, 0.2, 2.0, 0.6);
        let most = network_gradients_match(alif, &[3, 5, 2], init, 3, &trains, 60.0);
        assert!(most >= 2, "{reset:?}: no output neuron spikes twice");
    }
}

/// An ALIF input jump that lifts `V` across the threshold would be a spike
/// at the instant of the input: the forward pass stops with an error that
/// names the neuron, the input and the time.
#[test]
fn alif_jump_across_the_threshold_is_an_error() {
    let alif = Alif::new(AlifConstants::new(10.0, 50.0, 1.0, 10.0)).unwrap();
    let net = FeedForward::new(
        alif,
        &[1, 1],
        Dopri5Backend::default(),
        SolverOptions::default(),
        20.0,
    )
    .unwrap();
    let mut params = NetworkParams::init_for(&alif, &[1, 1], &InitConfig::default(), 0).unwrap();
    params.layers[0].weights[0] = 1.5;
    params.layers[0].neuron_params[0] = 0.0;
    let input = SpikeTrains::from_times(&[2.0]).unwrap();
    let (mut ws, mut trace) = (net.workspace(), Default::default());
    match net.forward(&params, &input, &mut ws, &mut trace) {
        Err(NetError::Solver {
            layer: 0,
            neuron: 0,
            source: SolverError::JumpAboveThreshold { index: 0, t, g },
        }) => assert!(t == 2.0 && (g - 0.5).abs() < 1e-12, "t {t}, g {g}"),
        other => panic!("expected JumpAboveThreshold, got {other:?}"),
    }
}

#[test]
fn izhikevich_network_gradients_match_finite_differences() {
    let trains = [vec![5.0, 30.0], vec![15.0], vec![45.0]];
    for reset in [Reset::Subtractive, Reset::Hard] {
        let izh = Izhikevich::new(IzhikevichConstants::default().with_reset(reset)).unwrap();
        network_gradients_match(
            izh,
            &[3, 5, 2],
            init(10.0, 20.0, 5.0, 4.0),
            2,
            &trains,
            100.0,
        );
    }
}

#[test]
fn plif_network_gradients_match_finite_differences() {
    let trains = [vec![1.0, 6.0], vec![3.0], vec![9.0]];
    let plif = Plif::new(20.0, 5.0, 1.0, 0.0).unwrap();
    network_gradients_match(plif, &[3, 5, 2], init(3.0, 6.0, 0.5, 1.0), 2, &trains, 40.0);
}

#[test]
fn pqif_network_gradients_match_finite_differences() {
    let trains = [vec![1.0, 6.0], vec![3.0], vec![9.0]];
    let pqif = Pqif::new(20.0, 5.0).unwrap();
    network_gradients_match(pqif, &[3, 5, 2], InitConfig::default(), 5, &trains, 40.0);
}

#[test]
fn pizhikevich_network_gradients_match_finite_differences() {
    let trains = [vec![5.0, 30.0], vec![15.0], vec![45.0]];
    let pizh = PIzhikevich::default();
    network_gradients_match(
        pizh,
        &[3, 5, 2],
        init(10.0, 20.0, 5.0, 4.0),
        2,
        &trains,
        100.0,
    );
}

/// `init_for` draws the same numbers as `init`: for LIF and QIF, whose
/// further parameters are none, bit for bit the same; for the learnable
/// time constants the same weights and biases, the logarithms of the
/// model's start values beyond.
#[test]
fn init_for_takes_the_models_start_values() {
    let (sizes, config) = ([4, 6, 3], InitConfig::default());
    for seed in [0, 7] {
        let a = NetworkParams::init::<Lif>(&sizes, &config, seed).unwrap();
        let b = NetworkParams::init_for(&Lif::default(), &sizes, &config, seed).unwrap();
        assert_eq!(a, b);
        let a = NetworkParams::init::<Qif>(&sizes, &config, seed).unwrap();
        let b = NetworkParams::init_for(&Qif::default(), &sizes, &config, seed).unwrap();
        assert_eq!(a, b);
        let plain = NetworkParams::init::<Plif>(&sizes, &config, seed).unwrap();
        let plif = Plif::new(10.0, 2.5, 1.0, 0.0).unwrap();
        let p = NetworkParams::init_for(&plif, &sizes, &config, seed).unwrap();
        for (l, m) in p.layers.iter().zip(&plain.layers) {
            assert_eq!(l.weights, m.weights);
            for (j, q) in l.neuron_params.chunks(3).enumerate() {
                assert_eq!(q[0], m.neuron_params[3 * j], "bias of neuron {j}");
                assert_eq!(&q[1..], &[10f64.ln(), 2.5f64.ln()]);
            }
        }
    }
}
