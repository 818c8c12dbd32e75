//! The built-in model family written as equations only (EIF, ALIF,
//! Izhikevich, and PLIF, PQIF, PIzhikevich with learnable time constants):
//! in small random networks on the Dormand–Prince backend at tolerance
//! 1e-13, every weight, neuron-parameter and input-time gradient that finite
//! differences can judge agrees with them, the gradients with respect to
//! the learned logarithms among them; and parameters initialised from a
//! model's defaults.

use evnn_net::{
    gradcheck, DelayInit, Distribution, FeedForward, ForwardTrace, GradCheckOptions, InitConfig,
    LossPass, NetError, NetworkParams, ParamRef, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{
    Alif, AlifConstants, Egru, EgruConstants, Eif, EifConstants, Izhikevich, IzhikevichConstants,
    Lif, NeuronModel, PIzhikevich, Plif, Pqif, Qif, Reset, StateVector,
};
use evnn_solver::{
    Adjoint, Backend, ClosedForm, Dopri5Backend, EventKind, QifSeries, SolverOptions,
};

/// A network of `model` with layer sizes `sizes` on Dopri5 at tolerance
/// 1e-13, parameters from [`NetworkParams::init_for`] (seed `seed`), input
/// `trains`, simulated on `[0, t_end]`: the output layer spikes at least
/// twice, every compared gradient entry agrees with five-point finite
/// differences (≤ 1e-6 relative or 1e-8 absolute), at least 70 % of the
/// entries are compared, and every neuron parameter index (bias and each
/// learned logarithm) has compared entries. Returns what the forward pass
/// did ([`Activity`]).
fn network_gradients_match<N: NeuronModel>(
    model: N,
    sizes: &[usize],
    init: InitConfig,
    seed: u64,
    trains: &[Vec<f64>],
    t_end: f64,
) -> Activity {
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
    // Per layer: spikes found between inputs, spikes that an input's jump
    // caused, and of these the ones after another at the same instant (a
    // burst of one jump or of simultaneous inputs).
    let kinds: Vec<[usize; 3]> = trace
        .layers
        .iter()
        .map(|l| {
            let mut n = [0; 3];
            for events in l.neurons.iter().map(|n| &n.events) {
                for (i, e) in events.iter().enumerate() {
                    match e.kind {
                        EventKind::Spike { .. } => n[0] += 1,
                        EventKind::JumpSpike { .. } => {
                            n[1] += 1;
                            let again = events[..i].iter().rev().any(|p| {
                                p.t == e.t && matches!(p.kind, EventKind::JumpSpike { .. })
                            });
                            n[2] += usize::from(again);
                        }
                        EventKind::Input { .. }
                        | EventKind::Blocked { .. }
                        | EventKind::RefractoryEnd { .. } => {}
                    }
                }
            }
            n
        })
        .collect();
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
    let mut per_param = Vec::new();
    for index in 0..N::Params::DIM {
        let entries: Vec<_> = report
            .entries
            .iter()
            .filter(|e| e.skipped.is_none())
            .filter(|e| matches!(e.param, ParamRef::NeuronParam { index: i, .. } if i == index))
            .collect();
        let n = entries.len();
        let nonzero = entries.iter().filter(|e| e.analytic.abs() > 1e-6).count();
        assert!(
            n > 0,
            "{}: no compared entry for parameter {}",
            N::NAME,
            N::PARAM_NAMES[index]
        );
        eprintln!(
            "{}: {n} compared entries for {} ({nonzero} of them above 1e-6)",
            N::NAME,
            N::PARAM_NAMES[index]
        );
        per_param.push((n, nonzero));
    }
    // Every weight of a synapse (EGRU's three) has compared entries.
    for weight in 0..N::WEIGHTS_PER_SYNAPSE {
        let n = report
            .entries
            .iter()
            .filter(|e| e.skipped.is_none())
            .filter(|e| matches!(e.param, ParamRef::Weight { weight: k, .. } if k == weight))
            .count();
        assert!(n > 0, "{}: no compared entry for weight {weight}", N::NAME);
    }
    // The largest relative deviation over the compared entries with
    // `|numeric| > 1e-6` (smaller ones are judged by the absolute
    // tolerance), for the record.
    let max_rel = report
        .entries
        .iter()
        .filter(|e| e.skipped.is_none())
        .filter_map(|e| Some((e.analytic, e.numeric?)))
        .filter(|&(_, n)| n.abs() > 1e-6)
        .map(|(a, n)| (a - n).abs() / n.abs())
        .fold(0.0, f64::max);
    eprintln!(
        "{}: {hidden_spikes} hidden and {out_spikes} output spikes (per layer, between \
         inputs, by a jump, repeated at an instant: {kinds:?}); compared {compared} of \
         {total} entries, max relative deviation {max_rel:.2e}",
        N::NAME
    );
    Activity {
        most,
        kinds,
        compared,
        total,
        per_param,
    }
}

/// What a forward pass of [`network_gradients_match`] did, and how many
/// gradient entries it compared.
struct Activity {
    /// The largest number of spikes of one output neuron.
    most: usize,
    /// Per layer, the spikes found between inputs ([`EventKind::Spike`]),
    /// those that an input's jump caused ([`EventKind::JumpSpike`]), and of
    /// these the ones that follow another at the same instant.
    kinds: Vec<[usize; 3]>,
    /// Gradient entries compared with finite differences, of `total`.
    compared: usize,
    total: usize,
    /// Compared entries per neuron parameter index, and of these the ones
    /// whose gradient is above 1e-6 in magnitude.
    per_param: Vec<(usize, usize)>,
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

/// Random EGRU networks (seeds 0 to 3), three weights per synapse: every
/// compared entry agrees with finite differences (≤ 1e-6 relative,
/// `network_gradients_match`), each of the three weights of a synapse and
/// each of the three biases among the compared ones, and at least 70 % of
/// each network's entries are compared.
#[test]
fn egru_network_gradients_match_finite_differences() {
    let trains = [vec![1.0, 6.0, 12.0], vec![3.0, 4.0, 15.0], vec![9.0, 20.0]];
    let egru = Egru::new(EgruConstants::default().with_tau_m(10.0)).unwrap();
    let (mut compared, mut total) = (0, 0);
    for seed in 0..4 {
        let activity = network_gradients_match(
            egru,
            &[3, 5, 2],
            init(3.0, 4.0, 1.0, 2.0),
            seed,
            &trains,
            60.0,
        );
        compared += activity.compared;
        total += activity.total;
    }
    eprintln!("EGRU: compared {compared} of {total} entries over 4 networks");
}

/// EGRU parameters hold three weights per synapse, drawn in buffer order
/// (the first synapse's three come first); parameters with one weight per
/// synapse do not fit an EGRU network, nor EGRU's a LIF network: the
/// weight count is named.
#[test]
fn egru_parameters_need_three_weights_per_synapse() {
    let sizes = [2, 3, 1];
    let config = InitConfig::default();
    let egru = Egru::default();
    let p = NetworkParams::init_for(&egru, &sizes, &config, 4).unwrap();
    let lif = NetworkParams::init::<Lif>(&sizes, &config, 4).unwrap();
    for (e, l) in p.layers.iter().zip(&lif.layers) {
        assert_eq!(e.weights.len(), l.weights.len() * 3);
        assert_eq!(e.weights_per_synapse(), 3);
    }
    // One stream, in buffer order: the first layer's first draws are LIF's.
    assert_eq!(p.layers[0].weights[..6], lif.layers[0].weights[..]);
    assert_eq!(&p.layers[0].neuron_params[1..3], &[1.0, 0.0]);
    let input = SpikeTrains::from_trains(&[vec![1.0], vec![2.0]]).unwrap();
    let net = FeedForward::new(
        egru,
        &sizes,
        Dopri5Backend::default(),
        SolverOptions::default(),
        20.0,
    )
    .unwrap();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    net.forward(&p, &input, &mut ws, &mut trace).unwrap();
    let err = net.forward(&lif, &input, &mut ws, &mut trace).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("weights (n_out × n_in × K)") && message.contains("18"),
        "{message}"
    );
    let lif_net = FeedForward::new(
        Lif::default(),
        &sizes,
        ClosedForm,
        SolverOptions::default(),
        20.0,
    )
    .unwrap();
    let mut ws = lif_net.workspace();
    let mut trace = ForwardTrace::default();
    let err = lif_net
        .forward(&p, &input, &mut ws, &mut trace)
        .unwrap_err();
    assert!(err.to_string().contains("weights (n_out × n_in)"), "{err}");
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
    // Tonic drive above the resting threshold and inhibitory voltage jumps,
    // so that no jump crosses the threshold: every spike is a crossing
    // between inputs. An output neuron spikes more than once, so that the
    // gradient flows through a reset (where the two resets differ).
    let trains = [vec![1.0, 6.0], vec![3.0], vec![9.0]];
    for reset in [Reset::Subtractive, Reset::Hard] {
        let alif = Alif::new(AlifConstants::new(10.0, 50.0, 1.0, 10.0).with_reset(reset)).unwrap();
        let init = init(-0.2, 0.2, 2.0, 0.6);
        let activity = network_gradients_match(alif, &[3, 5, 2], init, 3, &trains, 60.0);
        assert!(
            activity.most >= 2,
            "{reset:?}: no output neuron spikes twice"
        );
        assert!(activity.kinds.iter().all(|k| k[1] == 0), "{reset:?}");
    }
}

/// Random ALIF networks (seeds 0 to 5, both resets) whose excitatory jumps
/// cross the threshold: spikes at the instant of an input in both layers
/// (an output neuron's at a hidden spike's arrival, which moves with that
/// hidden spike), among them repeated spikes at one instant (simultaneous
/// arrivals, and bursts of the subtractive reset), and hidden spikes
/// between inputs. Every compared gradient entry agrees with finite
/// differences (≤ 1e-6 relative, `network_gradients_match`), at least 70 %
/// of each network's entries and 85 % of all are compared.
#[test]
fn alif_networks_with_jump_spikes_match_finite_differences() {
    let trains = [vec![1.0, 6.0], vec![3.0, 11.0], vec![9.0], vec![4.5]];
    for reset in [Reset::Subtractive, Reset::Hard] {
        let alif = Alif::new(AlifConstants::new(10.0, 50.0, 1.0, 10.0).with_reset(reset)).unwrap();
        let init = init(0.6, 2.8, 1.3, 0.8);
        let (mut kinds, mut compared, mut total) = ([[0; 3]; 2], 0, 0);
        for seed in 0..6 {
            let a = network_gradients_match(alif, &[4, 6, 3], init, seed, &trains, 40.0);
            for (sum, k) in kinds.iter_mut().zip(&a.kinds) {
                for (s, k) in sum.iter_mut().zip(k) {
                    *s += k;
                }
            }
            compared += a.compared;
            total += a.total;
        }
        eprintln!("ALIF {reset:?}: spikes per layer {kinds:?}, compared {compared} of {total}");
        let [hidden, output] = kinds;
        assert!(hidden[0] >= 10, "{reset:?}: {kinds:?}");
        assert!(hidden[1] >= 50 && output[1] >= 50, "{reset:?}: {kinds:?}");
        assert!(output[2] >= 5, "{reset:?}: {kinds:?}");
        assert!(
            compared * 100 >= total * 85,
            "{reset:?}: {compared} of {total}"
        );
    }
}

/// ALIF networks with jump spikes, where output neurons often spike at the
/// same instant (one hidden spike's arrival lifts several over the
/// threshold): the loss pass on demand and layer by layer give
/// bit-identical losses, first spikes and gradients, and the prediction
/// pass of each gives the class of the loss pass's first spikes (the lowest
/// index on a tie), for both resets.
#[test]
fn alif_jump_spikes_give_the_same_results_on_demand() {
    let sizes = [4, 6, 3];
    let loss = TtfsLoss::default();
    let mut ties = 0;
    for reset in [Reset::Subtractive, Reset::Hard] {
        let alif = Alif::new(AlifConstants::new(10.0, 50.0, 1.0, 10.0).with_reset(reset)).unwrap();
        let net = FeedForward::new(
            alif,
            &sizes,
            Dopri5Backend::default(),
            SolverOptions::default(),
            40.0,
        )
        .unwrap();
        for seed in 0..4 {
            let params =
                NetworkParams::init_for(&alif, &sizes, &init(0.6, 2.8, 1.3, 0.8), seed).unwrap();
            for i in 0..6 {
                let x = 3.0 + 5.0 * i as f64;
                let input =
                    SpikeTrains::from_trains(&[vec![1.0, x], vec![x + 2.0], vec![9.0], vec![0.5]])
                        .unwrap();
                let mut results = Vec::new();
                for pass in [LossPass::LayerByLayer, LossPass::OnDemand] {
                    let net = net.clone().with_loss_pass(pass);
                    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
                    let mut g = params.zeros_like();
                    let r = net
                        .sample_loss(
                            &params,
                            &input,
                            &(i % 3),
                            &loss,
                            &mut ws,
                            &mut trace,
                            Some(&mut g),
                        )
                        .unwrap();
                    let class = net
                        .predict_sample(&params, &input, &mut ws, &mut trace)
                        .unwrap();
                    assert_eq!(
                        class,
                        evnn_net::predict(&r.first_spikes),
                        "{reset:?} {pass:?}"
                    );
                    results.push((r.loss.to_bits(), r.first_spikes, g.to_flat(), class));
                }
                assert_eq!(results[0], results[1], "{reset:?}, seed {seed}, sample {i}");
                let first = &results[0].1;
                let tie = first
                    .iter()
                    .enumerate()
                    .any(|(a, t)| t.is_finite() && first[a + 1..].iter().any(|u| u == t));
                ties += usize::from(tie);
            }
        }
    }
    eprintln!("{ties} of 48 samples with tied first output spikes");
    assert!(ties >= 20, "{ties} samples with tied first spikes");
}

/// An ALIF input jump that lifts `V` across the threshold is a spike at the
/// instant of the input, in a network as in one neuron: the output neuron
/// spikes at exactly the input's time, and its reset leaves it below.
#[test]
fn alif_jump_across_the_threshold_is_a_spike() {
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
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    assert_eq!(trace.output().unwrap().flat(), [2.0]);
    let neuron = &trace.layers[0].neurons[0];
    assert_eq!(
        neuron.events[1].kind,
        EventKind::JumpSpike { k: 0, index: 0 }
    );
    // Subtractive reset: V = 1.5 − 1, b = 1 + β/τ_adapt.
    assert_eq!(neuron.events[1].x_plus, [0.5, 1.0 + 10.0 / 50.0]);
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

/// PIzhikevich's learned recovery jump `d` (its reset depends on `log d`):
/// the network gradient with respect to each neuron's `log d` matches
/// finite differences (≤ 1e-6 relative, `network_gradients_match`), for
/// both resets, with more than half of the `log d` entries compared (a
/// perturbation of `d` moves every later spike of its neuron, so the
/// event sequence changes more often than for the other parameters).
#[test]
fn pizhikevich_recovery_jump_gradients_match_finite_differences() {
    let trains = [vec![2.0, 12.0], vec![6.0], vec![20.0]];
    for reset in [Reset::Subtractive, Reset::Hard] {
        let pizh = PIzhikevich::new(
            IzhikevichConstants::default()
                .with_c(-65.0)
                .with_d(4.0)
                .with_reset(reset),
        )
        .unwrap();
        let a = network_gradients_match(
            pizh,
            &[3, 5, 2],
            init(10.0, 20.0, 8.0, 4.0),
            3,
            &trains,
            50.0,
        );
        let n_neurons = 5 + 2;
        let (compared, nonzero) = a.per_param[3];
        assert!(
            compared * 2 > n_neurons && nonzero >= 2,
            "{reset:?}: {compared} of {n_neurons} log d entries compared, {nonzero} above 1e-6"
        );
    }
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

/// Forward and backward pass of `net` for `input` with the loss `Σ` (all
/// output spike times): every layer's spike times (flat), the parameter
/// gradient and the input-time gradient.
fn forward_backward<N, B>(
    net: &FeedForward<N, B>,
    params: &NetworkParams,
    input: &SpikeTrains,
) -> (Vec<Vec<f64>>, NetworkParams, Vec<f64>)
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let mut ws = net.workspace();
    let mut trace = Default::default();
    net.forward(params, input, &mut ws, &mut trace).unwrap();
    let spikes: Vec<Vec<f64>> = trace
        .layers
        .iter()
        .map(|l| l.outputs.flat().to_vec())
        .collect();
    let dl_dt = vec![1.0; trace.output().unwrap().n_spikes()];
    let mut grad = params.zeros_like();
    let mut dl_dinput = Vec::new();
    net.backward(
        params,
        input,
        &trace,
        &dl_dt,
        &mut ws,
        &mut grad,
        &mut dl_dinput,
    )
    .unwrap();
    (spikes, grad, dl_dinput)
}

/// `params` of a model with `np` parameters per neuron reduced to the
/// first (the bias).
fn bias_only(params: &NetworkParams, np: usize) -> NetworkParams {
    let mut out = params.clone();
    for l in &mut out.layers {
        l.neuron_params = l.neuron_params.iter().step_by(np).copied().collect();
    }
    out
}

/// `a` and `b` agree entry by entry within `rel` relative or `abs` absolute
/// (the largest relative deviation is printed for the record).
fn assert_close(what: &str, a: &[f64], b: &[f64], rel: f64, abs: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let mut max_rel = 0.0f64;
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= abs + rel * y.abs(),
            "{what} [{k}]: got {x}, expected {y}"
        );
        if y.abs() > 1e-6 {
            max_rel = max_rel.max((x - y).abs() / y.abs());
        }
    }
    eprintln!(
        "{what}: {} entries, max relative deviation {max_rel:.2e}",
        a.len()
    );
}

/// A learnable-time-constant network at its start values is the base
/// model's network: the same spikes in every layer and the same gradients
/// with respect to weights, biases and input times, within what the solver
/// tolerance 1e-12 allows (spike times 1e-9 relative, gradients 1e-6
/// relative or 1e-9 absolute). `base_net` runs the base model with its own
/// backend (LIF's closed form; QIF and Izhikevich on Dormand–Prince).
fn equals_base_network<P, Q, BP, BQ>(
    net: &FeedForward<P, BP>,
    base_net: &FeedForward<Q, BQ>,
    params: &NetworkParams,
    input: &SpikeTrains,
) where
    P: NeuronModel,
    Q: NeuronModel,
    BP: Backend<P> + Adjoint<P> + Clone,
    BQ: Backend<Q> + Adjoint<Q> + Clone,
{
    let base_params = bias_only(params, P::Params::DIM);
    let (spikes, grad, dl_dinput) = forward_backward(net, params, input);
    let (base_spikes, base_grad, base_dl_dinput) = forward_backward(base_net, &base_params, input);
    assert!(
        spikes.last().unwrap().len() >= 2,
        "{}: output spikes",
        P::NAME
    );
    for (l, (s, b)) in spikes.iter().zip(&base_spikes).enumerate() {
        assert_close(&format!("{} layer {l} spikes", P::NAME), s, b, 1e-9, 0.0);
    }
    let grad_bias = bias_only(&grad, P::Params::DIM);
    for (l, (g, b)) in grad_bias.layers.iter().zip(&base_grad.layers).enumerate() {
        let what = format!("{} layer {l}", P::NAME);
        assert_close(
            &format!("{what} weight gradient"),
            &g.weights,
            &b.weights,
            1e-6,
            1e-9,
        );
        assert_close(
            &format!("{what} bias gradient"),
            &g.neuron_params,
            &b.neuron_params,
            1e-6,
            1e-9,
        );
    }
    assert_close(
        &format!("{} input-time gradient", P::NAME),
        &dl_dinput,
        &base_dl_dinput,
        1e-6,
        1e-9,
    );
}

#[test]
fn learnable_time_constants_at_their_start_are_the_base_models() {
    let opts = SolverOptions::default().with_tolerances(1e-12, 1e-12);
    let sizes = [3, 5, 2];
    let input = SpikeTrains::from_trains(&[vec![1.0, 6.0], vec![3.0], vec![9.0]]).unwrap();

    let plif = Plif::new(20.0, 5.0, 1.0, 0.0).unwrap();
    let params = NetworkParams::init_for(&plif, &sizes, &init(3.0, 6.0, 0.5, 1.0), 2).unwrap();
    let net = FeedForward::new(plif, &sizes, Dopri5Backend::default(), opts, 40.0).unwrap();
    let base = FeedForward::new(*plif.start(), &sizes, ClosedForm, opts, 40.0).unwrap();
    equals_base_network(&net, &base, &params, &input);

    let pqif = Pqif::new(20.0, 5.0).unwrap();
    let params = NetworkParams::init_for(&pqif, &sizes, &InitConfig::default(), 5).unwrap();
    let net = FeedForward::new(pqif, &sizes, Dopri5Backend::default(), opts, 40.0).unwrap();
    let base = FeedForward::new(*pqif.start(), &sizes, QifSeries, opts, 40.0).unwrap();
    equals_base_network(&net, &base, &params, &input);

    let input = SpikeTrains::from_trains(&[vec![5.0, 30.0], vec![15.0], vec![45.0]]).unwrap();
    let pizh = PIzhikevich::default();
    let init_izh = init(10.0, 20.0, 5.0, 4.0);
    let params = NetworkParams::init_for(&pizh, &sizes, &init_izh, 2).unwrap();
    let net = FeedForward::new(pizh, &sizes, Dopri5Backend::default(), opts, 100.0).unwrap();
    let base =
        FeedForward::new(*pizh.start(), &sizes, Dopri5Backend::default(), opts, 100.0).unwrap();
    equals_base_network(&net, &base, &params, &input);
}

/// A single neuron without input, as a one-neuron network on
/// Dormand–Prince at tolerance `tol`: its spike times.
fn lone_neuron_spikes<N: NeuronModel>(model: N, bias: f64, t_end: f64, tol: f64) -> Vec<f64> {
    let opts = SolverOptions::default().with_tolerances(tol, tol);
    let net = FeedForward::new(
        model.clone(),
        &[1, 1],
        Dopri5Backend::default(),
        opts,
        t_end,
    )
    .unwrap();
    let mut params = NetworkParams::init_for(&model, &[1, 1], &InitConfig::default(), 0).unwrap();
    params.layers[0].neuron_params[0] = bias;
    let input = SpikeTrains::from_trains(&[vec![]]).unwrap();
    let (mut ws, mut trace) = (net.workspace(), Default::default());
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    trace.output().unwrap().flat().to_vec()
}

/// EIF under a constant current `I_c` with `F(V) = E_L − V + Δ_T e^{(V −
/// V_T)/Δ_T} + I_c > 0` everywhere and the hard reset to `V_reset = E_L`
/// fires periodically with period `T = τ_mem ∫_{E_L}^{V_peak} dV/F(V)`
/// (the reference: composite Simpson with 2·10⁴ intervals, whose error is
/// far below 1e-12 here). The solver at tolerance 1e-12 finds the k-th
/// spike at `kT` within 1e-9 relative.
#[test]
fn eif_spike_times_match_the_quadrature() {
    let eif = Eif::default();
    let bias = 1.5;
    let f = |v: f64| eif.e_l() - v + eif.delta_t() * ((v - eif.v_t()) / eif.delta_t()).exp() + bias;
    let (a, b, n) = (eif.e_l(), eif.v_peak(), 20_000);
    let h = (b - a) / n as f64;
    let simpson: f64 = (0..=n)
        .map(|k| {
            let weight = if k == 0 || k == n {
                1.0
            } else if k % 2 == 1 {
                4.0
            } else {
                2.0
            };
            weight / f(a + k as f64 * h)
        })
        .sum::<f64>()
        * h
        / 3.0;
    let period = eif.tau_mem() * simpson;
    let spikes = lone_neuron_spikes(eif, bias, 4.5 * period, 1e-12);
    let expected: Vec<f64> = (1..=4).map(|k| k as f64 * period).collect();
    assert_close("EIF spike times", &spikes, &expected, 1e-9, 0.0);
}

/// ALIF under a constant current without input has a closed form between
/// spikes: `V(s) = I_c + (V₀ − I_c)e^{−s/τ_mem}`,
/// `b(s) = b₀ + (B − b₀)e^{−s/τ_adapt}`, and after a spike (where `V = b`)
/// both resets put `V` at 0 and raise `b` by `β/τ_adapt`. The reference
/// spike times solve `V(s) = b(s)` (monotone in `s`) by bisection to
/// round-off; the solver at tolerance 1e-12 finds them within 1e-9
/// relative.
#[test]
fn alif_spike_times_match_the_closed_form() {
    for reset in [Reset::Subtractive, Reset::Hard] {
        let c = AlifConstants::new(10.0, 50.0, 1.0, 10.0).with_reset(reset);
        let alif = Alif::new(c).unwrap();
        let bias = 2.0;
        let t_end = 80.0;
        let mut expected = Vec::new();
        let (mut t0, mut big_b) = (0.0, c.b0);
        loop {
            // `V − b` after the last spike: increasing (V rises from 0
            // towards I_c, b falls towards b₀), negative at 0.
            let g = |s: f64| {
                bias * (1.0 - (-s / c.tau_mem).exp())
                    - (c.b0 + (big_b - c.b0) * (-s / c.tau_adapt).exp())
            };
            let (mut lo, mut hi) = (0.0, t_end - t0);
            if !(g(hi) > 0.0) {
                break;
            }
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if g(mid) > 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            expected.push(t0 + hi);
            big_b = c.b0 + (big_b - c.b0) * (-hi / c.tau_adapt).exp() + c.beta / c.tau_adapt;
            t0 += hi;
        }
        let spikes = lone_neuron_spikes(alif, bias, t_end, 1e-12);
        assert!(expected.len() >= 4, "{expected:?}");
        assert_eq!(
            spikes.len(),
            expected.len(),
            "{reset:?}: {spikes:?} vs {expected:?}"
        );
        assert_close(
            &format!("ALIF {reset:?} spike times"),
            &spikes,
            &expected,
            1e-9,
            0.0,
        );
    }
}

/// Spike times of an Izhikevich neuron under the constant current `bias`
/// without input, by classical RK4 with step `h`: each threshold crossing
/// located on the cubic Hermite interpolant of the step (values and
/// derivatives at both ends), the reset applied there, and the integration
/// restarted from the spike.
fn izhikevich_rk4_spikes(izh: &Izhikevich, bias: f64, t_end: f64, h: f64) -> Vec<f64> {
    let f = |x: &[f64; 3]| {
        let mut d = [0.0; 3];
        izh.dynamics(&[bias], x, &mut d);
        d
    };
    let v_th = izh.constants().v_th;
    let (mut x, mut t, mut spikes) = (izh.initial_state(), 0.0, Vec::new());
    while t < t_end {
        let k1 = f(&x);
        let at = |k: &[f64; 3], c: f64| std::array::from_fn(|j| x[j] + c * h * k[j]);
        let k2 = f(&at(&k1, 0.5));
        let k3 = f(&at(&k2, 0.5));
        let k4 = f(&at(&k3, 1.0));
        let next: [f64; 3] =
            std::array::from_fn(|j| x[j] + h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]));
        if next[0] < v_th {
            (x, t) = (next, t + h);
            continue;
        }
        let d1 = f(&next);
        let hermite = |j: usize, s: f64| {
            let th = s / h;
            let (t2, t3) = (th * th, th * th * th);
            (2.0 * t3 - 3.0 * t2 + 1.0) * x[j]
                + (t3 - 2.0 * t2 + th) * h * k1[j]
                + (3.0 * t2 - 2.0 * t3) * next[j]
                + (t3 - t2) * h * d1[j]
        };
        let (mut lo, mut hi) = (0.0, h);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if hermite(0, mid) < v_th {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        t += hi;
        if t >= t_end {
            break;
        }
        spikes.push(t);
        x = std::array::from_fn(|j| hermite(j, hi));
        izh.reset(&mut x);
    }
    spikes
}

/// Izhikevich's neuron under a constant current, both resets: the solver at
/// tolerance 1e-12 finds every spike of a fine RK4 reference (steps 2e-4
/// and 1e-4 ms, which agree to 1e-10 relative) within 1e-9 relative.
#[test]
fn izhikevich_spike_times_match_a_fine_rk4() {
    for reset in [Reset::Subtractive, Reset::Hard] {
        let izh = Izhikevich::new(IzhikevichConstants::default().with_reset(reset)).unwrap();
        let (bias, t_end) = (10.0, 100.0);
        let coarse = izhikevich_rk4_spikes(&izh, bias, t_end, 2e-4);
        let reference = izhikevich_rk4_spikes(&izh, bias, t_end, 1e-4);
        assert!(reference.len() >= 4, "{reference:?}");
        assert_close(
            &format!("Izhikevich {reset:?} RK4 h vs h/2"),
            &coarse,
            &reference,
            1e-10,
            0.0,
        );
        let spikes = lone_neuron_spikes(izh, bias, t_end, 1e-12);
        assert_close(
            &format!("Izhikevich {reset:?} spike times"),
            &spikes,
            &reference,
            1e-9,
            0.0,
        );
    }
}

/// Transmission delays need one weight per synapse: an EGRU network refuses
/// parameters with delays before any run, naming the weight count.
#[test]
fn egru_refuses_delays() {
    let sizes = [2, 3, 1];
    let egru = Egru::default();
    let p = NetworkParams::init_for(&egru, &sizes, &InitConfig::default(), 4)
        .unwrap()
        .with_delays(
            &DelayInit::both(Distribution::Uniform {
                mean: 1.0,
                width: 2.0,
            }),
            4,
        )
        .unwrap();
    let net = FeedForward::new(
        egru,
        &sizes,
        Dopri5Backend::default(),
        SolverOptions::default(),
        20.0,
    )
    .unwrap();
    let input = SpikeTrains::from_trains(&[vec![1.0], vec![2.0]]).unwrap();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    let err = net.forward(&p, &input, &mut ws, &mut trace).unwrap_err();
    assert!(
        matches!(err, NetError::InvalidConfig { value, .. } if value == 3.0),
        "{err}"
    );
    assert!(err.to_string().contains("one weight per synapse"), "{err}");
}
