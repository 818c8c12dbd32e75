//! Transmission delays (`LayerParams::synaptic_delays`, `axonal_delays`):
//! their EventProp gradients against finite differences on LIF (closed
//! form), QIF (series) and QIF on Dormand–Prince; zero delays give the
//! delay-free network's results bit for bit; a delay pushes an arrival
//! later by exactly its value, and past `t_end` drops it; the loss pass
//! gives the same results whichever `LossPass` is asked for; bad delays
//! are typed errors naming the value.

use evnn_net::{
    gradcheck, DelayInit, Distribution, FeedForward, ForwardTrace, GradCheckOptions, InitConfig,
    LayerParams, LossPass, NetError, NetworkParams, ParamRef, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_optim::Parameters;
use evnn_solver::SolverOptions;
use evnn_solver::{Adjoint, Backend, ClosedForm, Dopri5Backend, EventKind, QifSeries};

/// Which delays a check gives the network.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Synaptic,
    Axonal,
    Both,
}

impl Kind {
    /// Delays from `U(0.5, 4.5)` ms: at least 0.5 from 0, so that the
    /// finite differences' perturbations (at most 2e-3) keep them valid.
    fn init(self) -> DelayInit {
        let d = Distribution::Uniform {
            mean: 2.5,
            width: 4.0,
        };
        match self {
            Kind::Synaptic => DelayInit {
                synaptic: Some(d),
                axonal: None,
            },
            Kind::Axonal => DelayInit {
                synaptic: None,
                axonal: Some(d),
            },
            Kind::Both => DelayInit::both(d),
        }
    }
}

/// Delay entries of a gradient check: (compared, of all, nonzero among
/// the compared).
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    synaptic: [usize; 3],
    axonal: [usize; 3],
    all_compared: usize,
    all: usize,
}

/// Networks `[4, 6, 3]` of `model` on `backend` (tolerance 1e-13) with
/// delays of `kind`, for seeds `0..seeds`: every compared gradient entry
/// (weights, neuron parameters, delays, input times) agrees with five-point
/// finite differences (≤ 1e-6 relative or 1e-8 absolute), the output layer
/// spikes, and at least 70 % of all entries over the seeds are compared
/// (a seed near a graze loses many to changed event sequences). Returns
/// the delay entries' counts summed over the seeds. `net` gives the
/// network its switches (layer-wide or not).
fn delay_gradients_match<N, B>(
    name: &str,
    model: N,
    backend: B,
    net: impl Fn(FeedForward<N, B>) -> FeedForward<N, B>,
    init: InitConfig,
    kind: Kind,
    seeds: u64,
) -> Counts
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let sizes = [4, 6, 3];
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net = net(FeedForward::new(model.clone(), &sizes, backend, opts, 40.0).unwrap());
    let trains = [vec![1.0, 6.0], vec![3.0, 11.0], vec![9.0], vec![4.5, 5.0]];
    let input = SpikeTrains::from_trains(&trains).unwrap();
    // L = Σ_k c_k t_k over the output spikes, distinct weights so that no
    // gradient cancels by symmetry.
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.3 * k as f64).collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let mut sum = Counts::default();
    for seed in 0..seeds {
        let params = NetworkParams::init_for(&model, &sizes, &init, seed)
            .unwrap()
            .with_delays(&kind.init(), seed)
            .unwrap();
        let mut ws = net.workspace();
        let mut trace = ForwardTrace::default();
        net.forward(&params, &input, &mut ws, &mut trace).unwrap();
        assert!(
            trace.output().unwrap().n_spikes() >= 1,
            "{name} {kind:?} seed {seed}: no output spike"
        );
        let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
        assert!(
            report.is_ok(),
            "{name} {kind:?} seed {seed}: {:?}",
            report.failures()
        );
        let (compared, all) = (report.compared(), report.entries.len());
        sum.all_compared += compared;
        sum.all += all;
        for e in &report.entries {
            let slot = match e.param {
                ParamRef::SynapticDelay { .. } => &mut sum.synaptic,
                ParamRef::AxonalDelay { .. } => &mut sum.axonal,
                _ => continue,
            };
            slot[1] += 1;
            if e.skipped.is_none() {
                slot[0] += 1;
                slot[2] += usize::from(e.analytic != 0.0);
            }
        }
    }
    eprintln!("{name} {kind:?}: delay entries compared (synaptic, axonal): {sum:?}");
    assert!(
        sum.all_compared * 10 >= sum.all * 7,
        "{name} {kind:?}: {} of {} compared",
        sum.all_compared,
        sum.all
    );
    sum
}

/// Checks the counts of [`delay_gradients_match`] for `kind` over `seeds`
/// seeds of `[4, 6, 3]` networks: the delay entries of the kinds asked for
/// exist (4·6 + 6·3 = 42 synaptic, 4 + 6 = 10 axonal per seed), at least
/// 70 % of them are compared, and a third of the compared are nonzero (the
/// check is not one of zeros).
fn assert_counts(c: Counts, kind: Kind, seeds: usize) {
    let (syn, ax) = match kind {
        Kind::Synaptic => (42, 0),
        Kind::Axonal => (0, 10),
        Kind::Both => (42, 10),
    };
    assert_eq!(c.synaptic[1], syn * seeds, "{c:?}");
    assert_eq!(c.axonal[1], ax * seeds, "{c:?}");
    for [compared, all, nonzero] in [c.synaptic, c.axonal] {
        assert!(compared * 10 >= all * 7, "{c:?}");
        assert!(nonzero * 3 >= compared, "{c:?}");
    }
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

/// LIF on the closed form: synaptic, axonal and both delays.
#[test]
fn lif_delay_gradients_match_finite_differences() {
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    for kind in [Kind::Synaptic, Kind::Axonal, Kind::Both] {
        let c = delay_gradients_match(
            "LIF",
            lif,
            ClosedForm,
            |net| net,
            init(2.0, 4.0, 0.3, 0.6),
            kind,
            4,
        );
        assert_counts(c, kind, 4);
    }
}

/// LIF layers simulated layer-wide (`FeedForward::with_layer_wide`): with
/// axonal delays, which shift each input channel's spikes alike for every
/// neuron of the layer (`LifLayer`), and with synaptic delays, each
/// neuron's own arrivals (`DelayedLifLayer`), or both.
#[test]
fn lif_layer_wide_delay_gradients_match_finite_differences() {
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    for kind in [Kind::Synaptic, Kind::Axonal, Kind::Both] {
        let c = delay_gradients_match(
            "LIF layer-wide",
            lif,
            ClosedForm,
            |net| net.with_layer_wide(true),
            init(2.0, 4.0, 0.3, 0.6),
            kind,
            4,
        );
        assert_counts(c, kind, 4);
    }
}

/// QIF on the Taylor series: synaptic, axonal and both delays.
#[test]
fn qif_series_delay_gradients_match_finite_differences() {
    let qif = Qif::new(10.0, 5.0).unwrap();
    for kind in [Kind::Synaptic, Kind::Axonal, Kind::Both] {
        let c = delay_gradients_match(
            "QIF series",
            qif,
            QifSeries,
            |net| net,
            init(6.0, 12.0, 0.8, 0.8),
            kind,
            4,
        );
        assert_counts(c, kind, 4);
    }
}

/// QIF on Dormand–Prince (a generic backend): both kinds of delays.
#[test]
fn qif_dopri5_delay_gradients_match_finite_differences() {
    let qif = Qif::new(10.0, 5.0).unwrap();
    let c = delay_gradients_match(
        "QIF dopri5",
        qif,
        Dopri5Backend::default(),
        |net| net,
        init(6.0, 12.0, 0.8, 0.8),
        Kind::Both,
        3,
    );
    assert_counts(c, Kind::Both, 3);
}

/// `params` with every delay present and 0.
fn zero_delays(params: &NetworkParams) -> NetworkParams {
    let mut p = params.clone();
    for l in &mut p.layers {
        l.synaptic_delays = Some(vec![0.0; l.weights.len()]);
        l.axonal_delays = Some(vec![0.0; l.n_in]);
    }
    p
}

/// Loss bits, first spikes and the gradient's weights and neuron parameters
/// of one sample's loss pass.
type LossResult = (u64, Vec<f64>, Vec<f64>, Option<usize>);

fn loss_pass<N, B>(
    net: &FeedForward<N, B>,
    params: &NetworkParams,
    input: &SpikeTrains,
    label: usize,
) -> (LossResult, NetworkParams)
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    let mut g = params.zeros_like();
    let r = net
        .sample_loss(
            params,
            input,
            &label,
            &TtfsLoss::default(),
            &mut ws,
            &mut trace,
            Some(&mut g),
        )
        .unwrap();
    let class = net
        .predict_sample(params, input, &mut ws, &mut trace)
        .unwrap();
    assert_eq!(class, r.prediction);
    let wn: Vec<f64> = g
        .layers
        .iter()
        .flat_map(|l| l.weights.iter().chain(&l.neuron_params).copied())
        .collect();
    ((r.loss.to_bits(), r.first_spikes, wn, class), g)
}

/// Zero delays (both kinds present, all 0) give the delay-free network's
/// spikes, loss, first spikes, weight and neuron-parameter gradients and
/// input-time gradient bit for bit, on LIF and on QIF; the full forward
/// pass's spike trains are equal too.
#[test]
fn zero_delays_give_the_delay_free_results_bit_for_bit() {
    fn check<N, B>(model: N, backend: B, init: InitConfig) -> usize
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone,
    {
        let sizes = [4, 6, 3];
        let net = FeedForward::new(
            model.clone(),
            &sizes,
            backend,
            SolverOptions::default(),
            40.0,
        )
        .unwrap();
        let mut spikes = 0;
        for seed in 0..4 {
            let params = NetworkParams::init_for(&model, &sizes, &init, seed).unwrap();
            let delayed = zero_delays(&params);
            for i in 0..5 {
                let x = 2.0 + 4.0 * i as f64;
                let input =
                    SpikeTrains::from_trains(&[vec![1.0, x], vec![x + 1.5], vec![9.0], vec![0.5]])
                        .unwrap();
                let (a, _) = loss_pass(&net, &params, &input, i % 3);
                let (b, _) = loss_pass(&net, &delayed, &input, i % 3);
                assert_eq!(a, b, "seed {seed}, sample {i}");
                let mut outs = Vec::new();
                for p in [&params, &delayed] {
                    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
                    net.forward(p, &input, &mut ws, &mut trace).unwrap();
                    let out = trace.output().unwrap();
                    let dl_dt = vec![1.0; out.n_spikes()];
                    let (mut g, mut dl_dinput) = (p.zeros_like(), Vec::new());
                    net.backward(p, &input, &trace, &dl_dt, &mut ws, &mut g, &mut dl_dinput)
                        .unwrap();
                    let trains: Vec<_> = trace.layers.iter().map(|l| l.outputs.clone()).collect();
                    let bits: Vec<u64> = dl_dinput.iter().map(|v| v.to_bits()).collect();
                    outs.push((trains, bits, g.layers[0].weights.clone()));
                }
                assert_eq!(outs[0], outs[1], "seed {seed}, sample {i}");
                spikes += outs[0].0.iter().map(SpikeTrains::n_spikes).sum::<usize>();
            }
        }
        spikes
    }
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    assert!(check(lif, ClosedForm, init(2.0, 4.0, 1.0, 0.6)) >= 50);
    let qif = Qif::new(10.0, 5.0).unwrap();
    assert!(check(qif, QifSeries, init(6.0, 12.0, 0.8, 0.8)) >= 50);
}

/// One LIF neuron driven by one input spike at t = 1: an axonal delay `a`
/// moves its spike to `t_0 + a` (the neuron is at rest before the input,
/// so its trajectory only shifts), a synaptic delay adds to it, and an
/// arrival at or after `t_end` = 30 is dropped: no input event, no spike,
/// and a zero delay gradient.
#[test]
fn a_delay_shifts_an_arrival_and_past_t_end_drops_it() {
    let net = FeedForward::new(
        Lif::new(10.0, 5.0, 1.0, 0.0).unwrap(),
        &[1, 1],
        ClosedForm,
        SolverOptions::default(),
        30.0,
    )
    .unwrap();
    let params = |axonal: f64, synaptic: f64| NetworkParams {
        layers: vec![LayerParams {
            n_in: 1,
            n_out: 1,
            weights: vec![5.0],
            neuron_params: vec![0.0],
            synaptic_delays: Some(vec![synaptic]),
            axonal_delays: Some(vec![axonal]),
            recurrent_weights: None,
            recurrent_mask: None,
        }],
    };
    let input = SpikeTrains::from_times(&[1.0]).unwrap();
    let run = |p: &NetworkParams| {
        let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
        net.forward(p, &input, &mut ws, &mut trace).unwrap();
        let out = trace.output().unwrap();
        let dl_dt = vec![1.0; out.n_spikes()];
        let (mut g, mut dl_dinput) = (p.zeros_like(), Vec::new());
        net.backward(p, &input, &trace, &dl_dt, &mut ws, &mut g, &mut dl_dinput)
            .unwrap();
        (trace, g, dl_dinput)
    };
    let (t0, g0, _) = run(&params(0.0, 0.0));
    let spike0 = t0.layers[0].neurons[0].spikes[0];
    // dL/dt_spike = 1 and the spike moves with the arrival: dL/d(delay) = 1
    // for each kind, and the input time's gradient is the same.
    assert!((g0.layers[0].axonal_delays.as_ref().unwrap()[0] - 1.0).abs() < 1e-12);
    for (a, d) in [(10.0, 0.0), (4.0, 6.0), (0.0, 10.0)] {
        let (t, g, dl_dinput) = run(&params(a, d));
        let spike = t.layers[0].neurons[0].spikes[0];
        assert!(
            (spike - (spike0 + 10.0)).abs() < 1e-12,
            "a = {a}, d = {d}: spike at {spike}, expected {}",
            spike0 + 10.0
        );
        let l = &g.layers[0];
        let (ga, gd) = (
            l.axonal_delays.as_ref().unwrap()[0],
            l.synaptic_delays.as_ref().unwrap()[0],
        );
        assert_eq!(ga.to_bits(), gd.to_bits());
        assert_eq!(ga.to_bits(), dl_dinput[0].to_bits());
        assert!((ga - 1.0).abs() < 1e-9, "dL/da = {ga}");
    }
    for (a, d) in [(29.0, 0.0), (20.0, 9.0), (0.0, 29.5), (1e300, 1e300)] {
        let (t, g, dl_dinput) = run(&params(a, d));
        let n = &t.layers[0].neurons[0];
        assert!(n.spikes.is_empty(), "a = {a}, d = {d}: {:?}", n.spikes);
        assert!(
            !n.events
                .iter()
                .any(|e| matches!(e.kind, EventKind::Input { .. })),
            "a = {a}, d = {d}: the arrival at {} was applied",
            1.0 + a + d
        );
        assert!(g.to_flat().iter().all(|&v| v == 0.0), "{g:?}");
        assert_eq!(dl_dinput, [0.0]);
    }
    // Just before t_end the arrival is applied (no spike in time).
    let (t, _, _) = run(&params(28.0, 0.5));
    let n = &t.layers[0].neurons[0];
    assert!(n
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Input { index: 0 })));
}

/// Axonal delays are a shift of the input channels: a network whose
/// delays swap the order of two inputs (and one where they tie) records
/// exactly the events of the delay-free network given the shifted input
/// times, ties in the merged order (time, then channel).
#[test]
fn axonal_delays_shift_the_input_channels() {
    let net = FeedForward::new(
        Lif::new(10.0, 5.0, 1.0, 0.0).unwrap(),
        &[2, 1],
        ClosedForm,
        SolverOptions::default(),
        30.0,
    )
    .unwrap();
    let p = |axonal: Option<[f64; 2]>| NetworkParams {
        layers: vec![LayerParams {
            n_in: 2,
            n_out: 1,
            weights: vec![0.9, 1.4],
            neuron_params: vec![0.0],
            synaptic_delays: None,
            axonal_delays: axonal.map(|a| a.to_vec()),
            recurrent_weights: None,
            recurrent_mask: None,
        }],
    };
    let events = |params: &NetworkParams, times: &[f64]| {
        let input = SpikeTrains::from_times(times).unwrap();
        let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
        net.forward(params, &input, &mut ws, &mut trace).unwrap();
        trace.layers[0].neurons[0].clone()
    };
    for (axonal, shifted) in [([5.0, 0.0], [6.0, 2.0]), ([1.0, 0.0], [2.0, 2.0])] {
        let delayed = events(&p(Some(axonal)), &[1.0, 2.0]);
        let plain = events(&p(None), &shifted);
        assert_eq!(delayed, plain, "axonal delays {axonal:?}");
        let inputs = delayed
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Input { .. }));
        assert_eq!(inputs.count(), 2);
    }
}

/// The loss pass with delays gives the same losses, first spikes,
/// gradients (delays included) and predictions whichever `LossPass` is
/// asked for (delayed networks run layer by layer).
#[test]
fn loss_pass_choices_agree_with_delays() {
    let sizes = [4, 6, 3];
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    let init = init(2.0, 4.0, 1.0, 0.6);
    let net = FeedForward::new(lif, &sizes, ClosedForm, SolverOptions::default(), 40.0).unwrap();
    for seed in 0..3 {
        let params = NetworkParams::init_for(&lif, &sizes, &init, seed)
            .unwrap()
            .with_delays(&Kind::Both.init(), seed)
            .unwrap();
        for i in 0..4 {
            let x = 2.0 + 4.0 * i as f64;
            let input =
                SpikeTrains::from_trains(&[vec![1.0, x], vec![x + 1.5], vec![9.0], vec![0.5]])
                    .unwrap();
            let results: Vec<_> = [LossPass::LayerByLayer, LossPass::OnDemand, LossPass::Auto]
                .into_iter()
                .map(|pass| {
                    let (r, g) =
                        loss_pass(&net.clone().with_loss_pass(pass), &params, &input, i % 3);
                    (r, g.to_flat())
                })
                .collect();
            assert_eq!(results[0], results[1], "seed {seed}, sample {i}");
            assert_eq!(results[0], results[2], "seed {seed}, sample {i}");
        }
    }
}

/// Flat order with delays: per layer weights, neuron parameters, synaptic
/// then axonal delays; `set_flat` is its inverse; files without delays
/// carry no delay fields, and delays survive a JSON round trip.
#[test]
fn flat_order_and_files_with_delays() {
    let p = NetworkParams::init::<Lif>(&[2, 3, 1], &InitConfig::default(), 0).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert!(!json.contains("delays"), "{json}");
    let q = p
        .clone()
        .with_delays(
            &DelayInit::both(Distribution::Uniform {
                mean: 1.0,
                width: 2.0,
            }),
            3,
        )
        .unwrap();
    assert_eq!(q.len(), p.len() + 6 + 2 + 3 + 3);
    let flat = q.to_flat();
    let l0 = &q.layers[0];
    let mut expected = l0.weights.clone();
    expected.extend(&l0.neuron_params);
    expected.extend(l0.synaptic_delays.as_ref().unwrap());
    expected.extend(l0.axonal_delays.as_ref().unwrap());
    assert_eq!(flat[..expected.len()], expected[..]);
    let mut r = q.zeros_like();
    r.set_flat(&flat).unwrap();
    assert_eq!(r, q);
    let back: NetworkParams = serde_json::from_str(&serde_json::to_string(&q).unwrap()).unwrap();
    assert_eq!(back, q);
    // Draws below 0 become 0, and the weights are those drawn without delays.
    let wide = p
        .clone()
        .with_delays(
            &DelayInit::both(Distribution::Uniform {
                mean: 0.0,
                width: 2.0,
            }),
            3,
        )
        .unwrap();
    assert!(wide.layers.iter().all(|l| l
        .synaptic_delays
        .as_ref()
        .unwrap()
        .iter()
        .all(|&d| d >= 0.0)));
    assert!(wide.layers[0]
        .synaptic_delays
        .as_ref()
        .unwrap()
        .contains(&0.0));
    assert_eq!(wide.layers[0].weights, p.layers[0].weights);
}

/// Projection: training's step leaves delays `>= 0`: `project` sets
/// negative delay entries to 0 and leaves weights and neuron parameters
/// (negative ones too) and NaN as they are; without delays nothing changes.
#[test]
fn projection_clamps_delays_at_zero_only() {
    let p = NetworkParams::init::<Lif>(&[2, 3], &InitConfig::default(), 0)
        .unwrap()
        .with_delays(&Kind::Both.init(), 0)
        .unwrap();
    let mut flat: Vec<f64> = (0..p.len()).map(|k| -1.0 - k as f64).collect();
    let n = 6 + 3; // weights and biases
    flat[n + 1] = f64::NAN;
    flat[n + 2] = 0.5;
    Parameters::project(&p, &mut flat);
    assert!(flat[..n]
        .iter()
        .enumerate()
        .all(|(k, &v)| v == -1.0 - k as f64));
    assert_eq!(flat[n], 0.0);
    assert!(flat[n + 1].is_nan());
    assert_eq!(flat[n + 2], 0.5);
    assert!(flat[n + 3..].iter().all(|&v| v == 0.0));
    let plain = NetworkParams::init::<Lif>(&[2, 3], &InitConfig::default(), 0).unwrap();
    let mut flat = vec![-1.0; plain.len()];
    plain.project_flat(&mut flat);
    assert!(flat.iter().all(|&v| v == -1.0));
}

fn assert_message(e: &NetError, needles: &[&str]) {
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not name {n:?}");
    }
}

/// Bad delays: negative, NaN and infinite values are `InvalidDelay` naming
/// layer, buffer, index and value; buffers of the wrong length and gradient
/// buffers without the parameters' delays are `Shape` errors; a bad
/// delay distribution is `InvalidConfig`.
#[test]
fn bad_delays_are_named_errors() {
    let sizes = [2, 3, 2];
    let net = FeedForward::new(
        Lif::default(),
        &sizes,
        ClosedForm,
        SolverOptions::default(),
        30.0,
    )
    .unwrap();
    let good = NetworkParams::init::<Lif>(&sizes, &InitConfig::default(), 0)
        .unwrap()
        .with_delays(&Kind::Both.init(), 0)
        .unwrap();
    net.check_params(&good).unwrap();
    let input = SpikeTrains::from_times(&[1.0, 2.0]).unwrap();
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    for (layer, synaptic, index, value) in [
        (1, true, 4, -0.5),
        (0, false, 1, f64::NAN),
        (1, false, 2, f64::INFINITY),
        (0, true, 0, -0.0 - 1e-300),
    ] {
        let mut p = good.clone();
        let l = &mut p.layers[layer];
        let buffer = if synaptic {
            l.synaptic_delays.as_mut()
        } else {
            l.axonal_delays.as_mut()
        };
        buffer.unwrap()[index] = value;
        let e = net.forward(&p, &input, &mut ws, &mut trace).unwrap_err();
        let what = if synaptic {
            "synaptic delays"
        } else {
            "axonal delays"
        };
        match &e {
            NetError::InvalidDelay {
                layer: l,
                what: w,
                index: i,
                value: v,
            } => {
                assert_eq!((*l, *w, *i), (layer, what, index));
                assert_eq!(v.to_bits(), value.to_bits());
            }
            other => panic!("{other:?}"),
        }
        assert_message(
            &e,
            &[what, &format!("[{index}]"), &value.to_string(), ">= 0"],
        );
    }
    // -0.0 is a valid zero delay.
    let mut p = good.clone();
    p.layers[0].axonal_delays.as_mut().unwrap()[0] = -0.0;
    net.forward(&p, &input, &mut ws, &mut trace).unwrap();

    let mut p = good.clone();
    p.layers[0].synaptic_delays.as_mut().unwrap().pop();
    let e = net.check_params(&p).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                what: "synaptic delays (n_out × n_in)",
                expected: 6,
                got: 5
            }
        ),
        "{e:?}"
    );
    let mut p = good.clone();
    p.layers[1].axonal_delays = Some(vec![0.0; 2]);
    let e = net.check_params(&p).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                what: "axonal delays (n_in)",
                expected: 3,
                got: 2
            }
        ),
        "{e:?}"
    );
    // A gradient buffer without the delays, or with delays the parameters
    // lack.
    let plain = NetworkParams::init::<Lif>(&sizes, &InitConfig::default(), 0).unwrap();
    let loss = TtfsLoss::default();
    for (p, g) in [(&good, plain.zeros_like()), (&plain, good.zeros_like())] {
        let mut g = g;
        let e = net
            .sample_loss(p, &input, &0, &loss, &mut ws, &mut trace, Some(&mut g))
            .unwrap_err();
        assert!(matches!(e, NetError::Shape { .. }), "{e:?}");
        assert_message(&e, &["delays of the gradient"]);
    }
    // Adding parameters with and without delays is a shape error.
    assert!(matches!(
        plain.clone().add_assign(&good),
        Err(NetError::Shape { .. })
    ));
    let bad = DelayInit {
        synaptic: Some(Distribution::Normal {
            mean: 1.0,
            std: -1.0,
        }),
        axonal: None,
    };
    let e = plain.clone().with_delays(&bad, 0).unwrap_err();
    assert!(
        matches!(e, NetError::InvalidConfig { name: "std", .. }),
        "{e:?}"
    );
}
