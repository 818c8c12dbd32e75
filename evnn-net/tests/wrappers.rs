//! Networks of wrapped models: a refractory period ([`Refractory`]) and at
//! most one spike ([`AtMostOneSpike`]). In small random networks every
//! weight, bias and input-time gradient that finite differences can judge
//! agrees with EventProp (`Refractory<Lif>` on the closed form,
//! `Refractory<Qif>` on the QIF series and on Dormand–Prince, an
//! `AtMostOneSpike<Lif>` network), and the loss pass on demand gives the
//! layer-by-layer pass's losses, first spikes and gradients bit for bit.

use evnn_net::{
    gradcheck, FeedForward, ForwardTrace, GradCheckOptions, InitConfig, LossPass, NetworkParams,
    SpikeTrains, TtfsLoss,
};
use evnn_neurons::{AtMostOneSpike, Lif, NeuronModel, Qif, Refractory};
use evnn_solver::{Adjoint, Backend, ClosedForm, Dopri5Backend, EventKind, QifSeries};
use evnn_solver::{SolverOptions, Stepper};

/// What the forward passes of [`network_gradients_match`] did.
#[derive(Debug, Default)]
struct Activity {
    /// Hidden and output spikes.
    spikes: [usize; 2],
    /// Blocked inputs and ends of refractory periods, over all layers.
    blocked: usize,
    ends: usize,
    /// Gradient entries compared with finite differences, of `total`.
    compared: usize,
    total: usize,
}

/// A network of `model` on `backend` (tolerance 1e-13) with layer sizes
/// `sizes`, parameters from [`NetworkParams::init_for`] (seed `seed`),
/// input `trains`, simulated on `[0, t_end]`: the output layer spikes,
/// every compared gradient entry agrees with five-point finite differences
/// (≤ 1e-6 relative or 1e-8 absolute, [`gradcheck`]), and at least 70 % of
/// the entries are compared. Returns what it did.
fn network_gradients_match<N, B>(
    model: N,
    backend: B,
    sizes: &[usize],
    init: &InitConfig,
    seed: u64,
    trains: &[Vec<f64>],
    t_end: f64,
) -> Activity
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net = FeedForward::new(model.clone(), sizes, backend, opts, t_end).unwrap();
    let params = NetworkParams::init_for(&model, sizes, init, seed).unwrap();
    let input = SpikeTrains::from_trains(trains).unwrap();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    let mut a = Activity::default();
    for (l, layer) in trace.layers.iter().enumerate() {
        a.spikes[l.min(1)] += layer.outputs.n_spikes();
        for e in layer.neurons.iter().flat_map(|n| &n.events) {
            match e.kind {
                EventKind::Blocked { .. } => a.blocked += 1,
                EventKind::RefractoryEnd { .. } => a.ends += 1,
                _ => {}
            }
        }
    }
    assert!(a.spikes[1] >= 1, "seed {seed}: no output spike: {a:?}");
    // L = Σ_k c_k t_k over the output spikes in flat order, with distinct
    // weights so that no gradient cancels by symmetry.
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.3 * k as f64).collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
    assert!(report.is_ok(), "seed {seed}: {:?}", report.failures());
    (a.compared, a.total) = (report.compared(), report.entries.len());
    assert!(a.compared * 10 >= a.total * 7, "seed {seed}: {a:?}");
    a
}

/// [`network_gradients_match`] for seeds `0..seeds`; returns the sums.
fn networks<N, B>(
    name: &str,
    model: N,
    backend: B,
    init: InitConfig,
    seeds: u64,
    t_end: f64,
) -> Activity
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let trains = [vec![1.0, 6.0], vec![3.0, 11.0], vec![9.0], vec![4.5, 5.0]];
    let mut sum = Activity::default();
    for seed in 0..seeds {
        let a = network_gradients_match(
            model.clone(),
            backend.clone(),
            &[4, 6, 3],
            &init,
            seed,
            &trains,
            t_end,
        );
        sum.spikes[0] += a.spikes[0];
        sum.spikes[1] += a.spikes[1];
        sum.blocked += a.blocked;
        sum.ends += a.ends;
        sum.compared += a.compared;
        sum.total += a.total;
    }
    eprintln!("{name}: {sum:?}");
    sum
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

/// Random `Refractory<Lif>` networks on the closed form: the gradients
/// agree, at least 300 entries are compared (85 % of all), and the runs
/// blocked inputs and ended periods in them.
#[test]
fn refractory_lif_network_gradients_match_finite_differences() {
    let model = Refractory::new(Lif::new(10.0, 5.0, 1.0, 0.0).unwrap(), 2.0).unwrap();
    let a = networks(
        "Refractory<LIF>",
        model,
        ClosedForm,
        init(2.0, 4.0, 1.0, 0.6),
        6,
        40.0,
    );
    assert!(
        a.compared >= 300 && a.compared * 100 >= a.total * 85,
        "{a:?}"
    );
    assert!(a.blocked >= 20 && a.ends >= 20, "{a:?}");
    assert!(a.spikes[0] >= 30 && a.spikes[1] >= 10, "{a:?}");
}

/// Random `Refractory<Qif>` networks on the QIF series and on
/// Dormand–Prince: as for LIF.
#[test]
fn refractory_qif_network_gradients_match_finite_differences() {
    let model = Refractory::new(Qif::new(10.0, 5.0).unwrap(), 3.0).unwrap();
    let init = init(6.0, 12.0, 0.8, 0.8);
    for a in [
        networks("Refractory<QIF> series", model, QifSeries, init, 6, 40.0),
        networks(
            "Refractory<QIF> dopri5",
            model,
            Dopri5Backend::default(),
            init,
            4,
            40.0,
        ),
    ] {
        assert!(
            a.compared >= 200 && a.compared * 100 >= a.total * 85,
            "{a:?}"
        );
        assert!(a.blocked >= 10 && a.ends >= 10, "{a:?}");
        assert!(a.spikes[0] >= 20 && a.spikes[1] >= 8, "{a:?}");
    }
}

/// Random `AtMostOneSpike<Lif>` networks: every neuron spikes at most once,
/// and the gradients agree.
#[test]
fn at_most_one_spike_network_gradients_match_finite_differences() {
    let model = AtMostOneSpike::new(Lif::new(10.0, 5.0, 1.0, 0.0).unwrap());
    let a = networks(
        "AtMostOneSpike<LIF>",
        model,
        ClosedForm,
        init(2.0, 4.0, 1.0, 0.6),
        6,
        40.0,
    );
    assert!(
        a.compared >= 300 && a.compared * 100 >= a.total * 85,
        "{a:?}"
    );
    assert!(a.spikes[0] >= 20 && a.spikes[1] >= 6, "{a:?}");
    // At most one spike per neuron: 6 hidden and 3 output neurons per seed.
    assert!(a.spikes[0] <= 6 * 6 && a.spikes[1] <= 6 * 3, "{a:?}");
}

/// The loss pass on demand (rounds of horizons, runs waiting inside a
/// refractory period for their inputs) against layer by layer: the same
/// losses, first spikes, gradients and predictions, bit for bit, for
/// `Refractory<Lif>`, `Refractory<Qif>` on the series and an
/// `AtMostOneSpike<Lif>` network.
#[test]
fn wrapped_networks_give_the_same_results_on_demand() {
    fn check<N, B>(name: &str, model: N, backend: B, init: InitConfig) -> usize
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone,
        B::Stepper: Stepper<N>,
    {
        let sizes = [4, 6, 3];
        let loss = TtfsLoss::default();
        let net = FeedForward::new(
            model.clone(),
            &sizes,
            backend,
            SolverOptions::default(),
            40.0,
        )
        .unwrap();
        let mut blocked = 0;
        for seed in 0..4 {
            let params = NetworkParams::init_for(&model, &sizes, &init, seed).unwrap();
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
                    blocked += trace
                        .layers
                        .iter()
                        .flat_map(|l| &l.neurons)
                        .flat_map(|n| &n.events)
                        .filter(|e| matches!(e.kind, EventKind::Blocked { .. }))
                        .count();
                    let class = net
                        .predict_sample(&params, &input, &mut ws, &mut trace)
                        .unwrap();
                    assert_eq!(class, evnn_net::predict(&r.first_spikes), "{name} {pass:?}");
                    results.push((r.loss.to_bits(), r.first_spikes, g.to_flat(), class));
                }
                assert_eq!(results[0], results[1], "{name}, seed {seed}, sample {i}");
            }
        }
        blocked
    }
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    let blocked = check(
        "Refractory<LIF>",
        Refractory::new(lif, 2.0).unwrap(),
        ClosedForm,
        init(2.0, 4.0, 1.0, 0.6),
    );
    assert!(blocked >= 20, "{blocked} blocked inputs");
    let qif = Refractory::new(Qif::new(10.0, 5.0).unwrap(), 3.0).unwrap();
    let blocked = check("Refractory<QIF>", qif, QifSeries, init(6.0, 12.0, 0.8, 0.8));
    assert!(blocked >= 10, "{blocked} blocked inputs");
    check(
        "AtMostOneSpike<LIF>",
        AtMostOneSpike::new(lif),
        ClosedForm,
        init(2.0, 4.0, 1.0, 0.6),
    );
}
