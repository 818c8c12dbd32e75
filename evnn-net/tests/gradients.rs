//! Network gradients against finite differences on random small nets, and
//! batch properties.

use evnn_net::BatchRunner;
use evnn_net::{
    gradcheck, FeedForward, ForwardTrace, GradCheckOptions, GradCheckReport, InitConfig, LossPass,
    NetworkParams, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_solver::{
    Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, QifSeries, SolverOptions,
};
use proptest::prelude::*;

// The runner that holds property cases to a minimum of compared entries,
// shared with the solver's gradient tests.
#[path = "../../evnn-solver/tests/gradient_property/mod.rs"]
mod gradient_property;
use gradient_property::{gradient_property, Compared};

/// A loss on every output spike: `L = Σ_j Σ_k c_{j,k} t_{j,k}` with fixed
/// pseudo-random coefficients, so that every spike of every neuron carries a
/// sensitivity (not only first spikes).
fn all_spikes_loss(out: &SpikeTrains) -> (f64, Vec<f64>) {
    let c: Vec<f64> = (0..out.n_spikes())
        .map(|i| ((i * 7 + 3) % 11) as f64 / 11.0 - 0.4)
        .collect();
    (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
}

#[derive(Debug, Clone)]
struct Case {
    sizes: Vec<usize>,
    seed: u64,
    wmean: f64,
    input: Vec<f64>,
}

fn case_strategy(max_width: usize, wmean: std::ops::Range<f64>) -> impl Strategy<Value = Case> {
    (1usize..=3, 1usize..=4)
        .prop_flat_map(move |(n_layers, n_in)| {
            (
                prop::collection::vec(1usize..=max_width, n_layers),
                any::<u64>(),
                wmean.clone(),
                prop::collection::vec(0.0..10.0f64, n_in),
            )
        })
        .prop_map(|(widths, seed, wmean, input)| {
            let mut sizes = vec![input.len()];
            sizes.extend(widths);
            Case {
                sizes,
                seed,
                wmean,
                input,
            }
        })
}

fn run_case<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone>(
    net: &FeedForward<N, B>,
    case: &Case,
    wlim: f64,
) -> Result<GradCheckReport, String> {
    let init = InitConfig {
        wmean: case.wmean,
        wlim,
        bmean: 0.0,
        blim: 1.0,
        ..InitConfig::default()
    };
    let params =
        NetworkParams::init::<N>(&case.sizes, &init, case.seed).map_err(|e| e.to_string())?;
    let input = SpikeTrains::from_times(&case.input).map_err(|e| e.to_string())?;
    let report = gradcheck(
        net,
        &params,
        &input,
        &all_spikes_loss,
        &GradCheckOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    if let Some(f) = report.failures().first() {
        return Err(format!(
            "{f:?} ({} compared, {} skipped)",
            report.compared(),
            report.skipped()
        ));
    }
    Ok(report)
}

/// Entries of a gradient check's report: considered, compared and
/// compared with a nonzero analytic value.
fn counted(report: &GradCheckReport) -> Compared {
    let compared = || report.entries.iter().filter(|e| e.skipped.is_none());
    Compared {
        entries: report.entries.len(),
        compared: compared().count(),
        nonzero: compared().filter(|e| e.analytic != 0.0).count(),
    }
}

/// 24 random cases through `run` (which builds the network and calls
/// [`run_case`]), held to a minimum of compared entries
/// ([`gradient_property`]).
fn network_property(
    max_width: usize,
    wmean: std::ops::Range<f64>,
    run: impl Fn(&Case) -> Result<GradCheckReport, String>,
) {
    gradient_property(
        24,
        "proptest-regressions/gradients.txt",
        case_strategy(max_width, wmean),
        |case| run(&case).map(|r| counted(&r)),
    );
}

/// LIF with the closed-form backend and adjoint: exact to round-off.
#[test]
fn lif_network_gradients_match_finite_differences() {
    network_property(10, 0.5..3.0, |case| {
        let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
        let net =
            FeedForward::new(lif, &case.sizes, ClosedForm, SolverOptions::default(), 30.0).unwrap();
        // Weights of both signs: U(wmean − wlim/2, wmean + wlim/2) with wlim > 2 wmean.
        run_case(&net, case, 4.0 * case.wmean + 2.0)
    });
}

/// QIF with the Dormand–Prince backend and the numerical adjoint at
/// tight tolerance, widths 1–10.
#[test]
fn qif_network_gradients_match_finite_differences() {
    network_property(10, 2.0..12.0, |case| {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
        let net = FeedForward::new(qif, &case.sizes, Dopri5Backend::default(), opts, 30.0).unwrap();
        run_case(&net, case, 4.0 * case.wmean).map_err(|e| format!("dopri5: {e}"))
    });
}

/// The same through the Taylor-series QIF backend (its forward pass,
/// the numerical adjoint backward).
#[test]
fn qif_series_network_gradients_match_finite_differences() {
    network_property(10, 2.0..12.0, |case| {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
        let net = FeedForward::new(qif, &case.sizes, QifSeries, opts, 30.0).unwrap();
        run_case(&net, case, 4.0 * case.wmean).map_err(|e| format!("series: {e}"))
    });
}

/// The same through the diffsol backend (smaller nets: diffsol's
/// per-step overhead makes the finite differences slow).
#[test]
fn qif_diffsol_network_gradients_match_finite_differences() {
    network_property(4, 2.0..12.0, |case| {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
        let net =
            FeedForward::new(qif, &case.sizes, DiffsolBackend::default(), opts, 30.0).unwrap();
        run_case(&net, case, 4.0 * case.wmean).map_err(|e| format!("diffsol: {e}"))
    });
}

/// Fixed nets with several spikes per neuron where the check must compare
/// most entries (guards against a check that skips everything).
#[test]
fn fixed_nets_compare_most_entries() {
    let case = Case {
        sizes: vec![3, 6, 4, 2],
        seed: 11,
        wmean: 3.0,
        input: vec![0.5, 2.0, 4.0],
    };
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    let net =
        FeedForward::new(lif, &case.sizes, ClosedForm, SolverOptions::default(), 30.0).unwrap();
    let params = NetworkParams::init::<Lif>(
        &case.sizes,
        &InitConfig {
            wmean: 3.0,
            wlim: 14.0,
            ..InitConfig::default()
        },
        11,
    )
    .unwrap();
    let input = SpikeTrains::from_times(&case.input).unwrap();
    let mut ws = net.workspace();
    let mut trace = Default::default();
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    let spikes: usize = trace.layers.iter().map(|l| l.outputs.n_spikes()).sum();
    assert!(spikes >= 10, "the net must spike: {spikes} spikes");
    let report = run_case(&net, &case, 14.0).unwrap();
    assert!(
        report.compared() * 10 >= report.entries.len() * 7,
        "compared {} of {}",
        report.compared(),
        report.entries.len()
    );
}

fn yinyang_like_batch(n: usize) -> (Vec<SpikeTrains>, Vec<usize>) {
    let inputs = (0..n)
        .map(|i| {
            let x = (i as f64 * 0.37).fract();
            let y = (i as f64 * 0.61).fract();
            SpikeTrains::from_times(&[30.0 * x, 30.0 * y, 30.0 * (1.0 - x), 30.0 * (1.0 - y), 0.0])
                .unwrap()
        })
        .collect();
    let labels = (0..n).map(|i| i % 3).collect();
    (inputs, labels)
}

/// Initial parameters under which the QIF networks of these tests spike
/// (weights around 20, biases in [−1, 1]).
fn spiking_init() -> InitConfig {
    InitConfig {
        wmean: 20.0,
        wlim: 40.0,
        bmean: 0.0,
        blim: 1.0,
        ..InitConfig::default()
    }
}

/// A QIF network of `sizes` on the diffsol backend.
fn qif_diffsol_net(sizes: &[usize]) -> FeedForward<Qif, DiffsolBackend> {
    FeedForward::new(
        Qif::default(),
        sizes,
        DiffsolBackend::default(),
        SolverOptions::default(),
        30.0,
    )
    .unwrap()
}

/// The batch's gradient exists and is not all zero.
fn assert_some_gradient(r: &evnn_net::BatchResult) {
    let grad = r.grad.as_ref().expect("a gradient was asked for");
    assert!(grad.to_flat().iter().any(|&g| g != 0.0));
}

/// A QIF network of `sizes` on the series backend.
fn qif_series_net(sizes: &[usize]) -> FeedForward<Qif, QifSeries> {
    FeedForward::new(
        Qif::default(),
        sizes,
        QifSeries,
        SolverOptions::default(),
        30.0,
    )
    .unwrap()
}

/// The batch gradient is the sum of the per-sample gradients, and 1 and 2
/// threads give bit-identical results: on diffsol (layer by layer) and on
/// the series backend at Yin–Yang-like initial parameters, where the loss
/// pass runs on demand.
#[test]
fn batch_gradient_is_sum_and_thread_count_independent() {
    let sizes = [5, 8, 3];
    let params = NetworkParams::init::<Qif>(&sizes, &InitConfig::default(), 5).unwrap();
    check_batch_sums(&qif_diffsol_net(&sizes), &params);
    let init = InitConfig {
        wmean: 20.0,
        wlim: 40.0,
        ..InitConfig::default()
    };
    let params = NetworkParams::init::<Qif>(&sizes, &init, 5).unwrap();
    check_batch_sums(&qif_series_net(&sizes), &params);
}

fn check_batch_sums<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    net: &FeedForward<N, B>,
    params: &NetworkParams,
) {
    let (inputs, labels) = yinyang_like_batch(21);
    let loss = TtfsLoss::default();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                BatchRunner::new(net.clone())
                    .loss_and_grad(params, &inputs, &labels, &loss)
                    .unwrap()
            })
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one, two, "1 vs 2 threads");
    // Sum of per-sample gradients, each from its own single-sample batch.
    let mut total = params.zeros_like();
    let mut loss_sum = 0.0;
    for (x, &y) in inputs.iter().zip(&labels) {
        let r = BatchRunner::new(net.clone())
            .loss_and_grad(params, std::slice::from_ref(x), &[y], &loss)
            .unwrap();
        total.add_assign(r.grad.as_ref().unwrap()).unwrap();
        loss_sum += r.loss_sum;
    }
    let g = one.grad.unwrap();
    for (a, b) in g.to_flat().iter().zip(total.to_flat()) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }
    assert!((one.loss_sum - loss_sum).abs() <= 1e-12 * loss_sum.abs());
    assert!(g.to_flat().iter().any(|&v| v != 0.0));
}

/// The batch runner keeps its workspaces between calls: a batch after
/// others with other parameters, on the trained-like and the initial
/// regime, gives the bits of a fresh runner's (whose pool is empty), for the
/// loss pass with its gradient and for the prediction pass.
#[test]
fn batch_passes_reuse_scratch_without_changing_results() {
    let sizes = [5, 8, 3];
    let net = qif_series_net(&sizes);
    let (inputs, labels) = yinyang_like_batch(37);
    let loss = TtfsLoss::default();
    let params: Vec<NetworkParams> = [
        (spiking_init(), 5),
        (InitConfig::default(), 6),
        (spiking_init(), 7),
    ]
    .into_iter()
    .map(|(init, seed)| NetworkParams::init::<Qif>(&sizes, &init, seed).unwrap())
    .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let runner = BatchRunner::new(net.clone());
    pool.install(|| {
        for p in &params {
            let kept = runner.loss_and_grad(p, &inputs, &labels, &loss).unwrap();
            let fresh = BatchRunner::new(net.clone())
                .loss_and_grad(p, &inputs, &labels, &loss)
                .unwrap();
            assert_eq!(kept, fresh);
            assert_some_gradient(&kept);
            let kept = runner.predict(p, &inputs).unwrap();
            let fresh = BatchRunner::new(net.clone()).predict(p, &inputs).unwrap();
            assert_eq!(kept, fresh);
        }
    });
}

/// A loss on the output neurons' final states, `L = Σ_j d_j · x_j(T)`:
/// `backward_with_state` matches central differences of the forward pass.
#[test]
fn final_state_loss_gradient_matches_finite_differences() {
    let sizes = [2, 3, 2];
    let lif = Lif::new(10.0, 5.0, 1.0, 0.0).unwrap();
    let net = FeedForward::new(lif, &sizes, ClosedForm, SolverOptions::default(), 30.0).unwrap();
    let init = InitConfig {
        wmean: 3.0,
        wlim: 8.0,
        ..InitConfig::default()
    };
    let params = NetworkParams::init::<Lif>(&sizes, &init, 4).unwrap();
    let input = SpikeTrains::from_times(&[1.0, 3.0]).unwrap();
    let d = [[0.7, -0.2], [0.3, 0.5]];
    let mut ws = net.workspace();
    let loss = |p: &NetworkParams, ws: &mut evnn_net::Workspace<Lif, ClosedForm>| {
        let mut t = ForwardTrace::default();
        net.forward(p, &input, ws, &mut t).unwrap();
        let out = &t.layers[1].neurons;
        (0..2)
            .map(|j| d[j][0] * out[j].x_end[0] + d[j][1] * out[j].x_end[1])
            .sum::<f64>()
    };
    let mut trace = ForwardTrace::default();
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    let n_out = trace.output().unwrap().n_spikes();
    let mut grad = params.zeros_like();
    let mut dl_dinput = Vec::new();
    net.backward_with_state(
        &params,
        &input,
        &trace,
        &vec![0.0; n_out],
        Some(&d),
        &mut ws,
        &mut grad,
        &mut dl_dinput,
    )
    .unwrap();
    let flat = params.to_flat();
    let g = grad.to_flat();
    assert!(g.iter().any(|&v| v != 0.0));
    let h = 1e-6;
    let mut compared = 0;
    for k in 0..flat.len() {
        let mut p = params.clone();
        let mut v = flat.clone();
        v[k] += h;
        p.set_flat(&v).unwrap();
        let lp = loss(&p, &mut ws);
        v[k] -= 2.0 * h;
        p.set_flat(&v).unwrap();
        let lm = loss(&p, &mut ws);
        let fd = (lp - lm) / (2.0 * h);
        assert!(
            (fd - g[k]).abs() <= 1e-6 * (1.0 + fd.abs()),
            "entry {k}: adjoint {} vs fd {fd}",
            g[k]
        );
        compared += 1;
    }
    assert_eq!(compared, params.len());
}

/// `sample_loss` simulates each output neuron only up to its first spike,
/// and earlier layers layer by layer or on demand ([`LossPass`]); loss,
/// prediction, first spikes and gradient are bit-identical to a full
/// forward pass (logging its sensitivities, as `sample_loss` does with a
/// gradient) followed by the backward pass of the same loss, and the
/// earlier layers' runs end sooner with the full runs' events up to there.
fn check_first_spike_stop<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    name: &str,
    net: FeedForward<N, B>,
    params: &NetworkParams,
) {
    let (inputs, labels) = yinyang_like_batch(16);
    let loss = TtfsLoss::default();
    let n_layers = params.layers.len();
    let (mut repeated, mut ended) = (0, 0);
    // Steps of the earlier layers' runs in each pass.
    let mut steps = [0; 3];
    let passes = [LossPass::LayerByLayer, LossPass::OnDemand, LossPass::Auto];
    for (pass, steps) in passes.into_iter().zip(&mut steps) {
        let name = format!("{name}, {pass:?}");
        let net = net.clone().with_loss_pass(pass);
        let mut ws = net.workspace();
        let mut trace = ForwardTrace::default();
        for (x, &y) in inputs.iter().zip(&labels) {
            let mut g = params.zeros_like();
            let r = net
                .sample_loss(params, x, &y, &loss, &mut ws, &mut trace, Some(&mut g))
                .unwrap();
            assert!(trace.output().unwrap().n_spikes() <= net.n_outputs());

            let mut full = ForwardTrace::default();
            // The forward pass logs its sensitivities as `sample_loss` does
            // with a gradient (Dormand–Prince), for the same gradient.
            ws.set_sensitivity_log(true);
            net.forward(params, x, &mut ws, &mut full).unwrap();
            let out = full.output().unwrap();
            repeated += (0..out.n_channels())
                .filter(|&j| out.channel(j).len() > 1)
                .count();
            let first = full.first_spikes();
            let mut dl_first = vec![0.0; first.len()];
            let value = loss.evaluate(&first, y, &mut dl_first).unwrap();
            let mut dl_dt = vec![0.0; out.n_spikes()];
            for (j, &d) in dl_first.iter().enumerate() {
                if !out.channel(j).is_empty() {
                    dl_dt[out.offset(j)] = d;
                }
            }
            let mut g_full = params.zeros_like();
            let mut dl_dinput = Vec::new();
            net.backward(
                params,
                x,
                &full,
                &dl_dt,
                &mut ws,
                &mut g_full,
                &mut dl_dinput,
            )
            .unwrap();
            assert_eq!(r.loss.to_bits(), value.to_bits(), "{name}");
            assert_eq!(r.first_spikes, first, "{name}");
            assert_eq!(g.to_flat(), g_full.to_flat(), "{name}");
            // Earlier layers' runs end once provably silent, or once no
            // output neuron needs them, with the full runs' events so far.
            for l in 0..n_layers - 1 {
                for (stopped, full) in trace.layers[l].neurons.iter().zip(&full.layers[l].neurons) {
                    assert!(stopped.t_end <= full.t_end, "{name}");
                    let n = stopped.events.len();
                    assert_eq!(stopped.events[..], full.events[..n], "{name}");
                    let k = stopped.spikes.len();
                    assert_eq!(stopped.spikes[..], full.spikes[..k], "{name}");
                    assert!(
                        full.spikes[k..].iter().all(|&t| t >= stopped.t_end),
                        "{name}"
                    );
                    ended += usize::from(stopped.t_end < net.t_end());
                    *steps += stopped.steps;
                }
            }
        }
    }
    assert!(repeated > 0, "{name}: no output neuron spiked twice");
    assert!(ended > 0, "{name}: no hidden run ended early");
    // On demand leaves out work here (the output neurons spike early).
    assert!(steps[1] < steps[0], "{name}: steps {steps:?}");
}

#[test]
fn first_spike_stop_gives_the_full_runs_loss_and_gradient() {
    let opts = SolverOptions::default();
    let init = spiking_init();
    let qif = Qif::default();
    let lif = Lif::default();
    let lif_init = InitConfig {
        wmean: 3.0,
        wlim: 6.0,
        ..init
    };
    // One hidden layer, and two (where the second waits for the first).
    for sizes in [&[5, 8, 3][..], &[5, 8, 6, 3][..]] {
        let params = NetworkParams::init::<Qif>(sizes, &init, 3).unwrap();
        check_first_spike_stop(
            &format!("QIF series {sizes:?}"),
            FeedForward::new(qif, sizes, QifSeries, opts, 30.0).unwrap(),
            &params,
        );
        let params = NetworkParams::init::<Lif>(sizes, &lif_init, 3).unwrap();
        check_first_spike_stop(
            &format!("LIF closed form {sizes:?}"),
            FeedForward::new(lif, sizes, ClosedForm, opts, 30.0).unwrap(),
            &params,
        );
    }
    let sizes = [5, 8, 3];
    let params = NetworkParams::init::<Qif>(&sizes, &init, 3).unwrap();
    let dopri = Dopri5Backend::default();
    check_first_spike_stop(
        "QIF dopri5",
        FeedForward::new(qif, &sizes, dopri, opts, 30.0).unwrap(),
        &params,
    );
    check_first_spike_stop("QIF diffsol", qif_diffsol_net(&sizes), &params);
}

/// The prediction pass ([`FeedForward::predict_sample`],
/// [`FeedForward::batch_predict`]) gives exactly the loss pass's predictions
/// for every [`LossPass`], with silent output neurons and without, on every
/// backend, and on demand it takes fewer steps: it ends once the first
/// output spike is known.
#[test]
fn prediction_pass_gives_the_loss_pass_predictions_with_fewer_steps() {
    let opts = SolverOptions::default();
    let strong = spiking_init();
    // Weaker weights and no spontaneous firing (QIF biases below 1/4)
    // leave some output neurons (or all) silent.
    let weak = InitConfig {
        wmean: 4.0,
        bmean: -0.5,
        blim: 0.5,
        ..strong
    };
    let lif_init = |init: InitConfig| InitConfig {
        wmean: init.wmean / 6.0,
        wlim: init.wlim / 6.0,
        ..init
    };
    let (qif, lif) = (Qif::default(), Lif::default());
    // Per model: samples without and with a prediction, and those on which
    // it took fewer steps on demand.
    let mut counts = [[0; 3]; 2];
    let mut add = |m: usize, c: [usize; 3]| {
        for (total, c) in counts[m].iter_mut().zip(c) {
            *total += c;
        }
    };
    for sizes in [&[5, 3][..], &[5, 8, 3], &[5, 8, 6, 3]] {
        for (k, init) in [strong, weak].into_iter().enumerate() {
            let params = NetworkParams::init::<Qif>(sizes, &init, 3 + k as u64).unwrap();
            let net = FeedForward::new(qif, sizes, QifSeries, opts, 30.0).unwrap();
            add(
                0,
                check_prediction(&format!("QIF series {sizes:?} {k}"), net, &params),
            );
            let params = NetworkParams::init::<Lif>(sizes, &lif_init(init), 3 + k as u64).unwrap();
            let net = FeedForward::new(lif, sizes, ClosedForm, opts, 30.0).unwrap();
            add(
                1,
                check_prediction(&format!("LIF {sizes:?} {k}"), net, &params),
            );
        }
    }
    // Both outcomes occur for both models, and the race saves work.
    assert!(
        counts.iter().all(|c| c.iter().all(|&n| n > 0)),
        "{counts:?}"
    );
    // No steppers: the loss pass's simulation, layer by layer.
    let sizes = [5, 4, 3];
    let params = NetworkParams::init::<Qif>(&sizes, &strong, 5).unwrap();
    let (inputs, labels) = yinyang_like_batch(4);
    let net = qif_diffsol_net(&sizes);
    let r = BatchRunner::new(net.clone())
        .loss(&params, &inputs, &labels, &TtfsLoss::default())
        .unwrap();
    let expected: Vec<_> = r
        .first_spikes
        .iter()
        .map(|f| evnn_net::predict(f))
        .collect();
    assert_eq!(
        BatchRunner::new(net.clone())
            .predict(&params, &inputs)
            .unwrap(),
        expected
    );
}

/// Checks one net; the counts of samples without and with a prediction
/// (over all passes), and of those on which the prediction took fewer steps
/// on demand.
fn check_prediction<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    name: &str,
    net: FeedForward<N, B>,
    params: &NetworkParams,
) -> [usize; 3] {
    let (inputs, labels) = yinyang_like_batch(24);
    let loss = TtfsLoss::default();
    let (mut silent, mut some, mut saved) = (0, 0, 0);
    for pass in [LossPass::Auto, LossPass::OnDemand, LossPass::LayerByLayer] {
        let name = format!("{name}, {pass:?}");
        let net = net.clone().with_loss_pass(pass);
        let expected: Vec<Option<usize>> = BatchRunner::new(net.clone())
            .loss(params, &inputs, &labels, &loss)
            .unwrap()
            .first_spikes
            .iter()
            .map(|f| evnn_net::predict(f))
            .collect();
        let batch = BatchRunner::new(net.clone())
            .predict(params, &inputs)
            .unwrap();
        assert_eq!(batch, expected, "{name}");
        let mut ws = net.workspace();
        let (mut trace, mut loss_trace) = (ForwardTrace::default(), ForwardTrace::default());
        let mut fewer = 0;
        for ((x, &y), &class) in inputs.iter().zip(&labels).zip(&expected) {
            let p = net.predict_sample(params, x, &mut ws, &mut trace).unwrap();
            assert_eq!(p, class, "{name}");
            net.sample_loss(params, x, &y, &loss, &mut ws, &mut loss_trace, None)
                .unwrap();
            let count = |t: &ForwardTrace<N::State>| -> usize {
                t.layers
                    .iter()
                    .flat_map(|l| &l.neurons)
                    .map(|n| n.steps)
                    .sum()
            };
            let (a, b) = (count(&trace), count(&loss_trace));
            if pass == LossPass::LayerByLayer {
                assert_eq!(a, b, "{name}: layer by layer, the loss pass's runs");
            } else {
                assert!(a <= b, "{name}: {a} steps to predict, {b} for the loss");
            }
            fewer += usize::from(a < b);
            silent += usize::from(class.is_none());
            some += usize::from(class.is_some());
        }
        if pass == LossPass::OnDemand {
            saved = fewer;
        }
    }
    [silent, some, saved]
}

/// A workspace keeps its steppers from sample to sample
/// ([`Backend::reset_stepper`]): after samples of other parameters (biases
/// and weights) and of another network (another tolerance, other neuron
/// constants), a sample's loss, first spikes and gradient are bit-identical
/// to those of a fresh workspace.
#[test]
fn reused_workspace_gives_a_fresh_workspaces_results() {
    let init = spiking_init();
    let sizes = [5, 8, 3];
    let opts = SolverOptions::default();
    let tight = opts.with_tolerances(1e-10, 1e-10);
    let other_qif = Qif::new(8.0, 4.0).unwrap();
    let qif_nets = [
        FeedForward::new(Qif::default(), &sizes, QifSeries, opts, 30.0).unwrap(),
        FeedForward::new(Qif::default(), &sizes, QifSeries, tight, 30.0).unwrap(),
        FeedForward::new(other_qif, &sizes, QifSeries, opts, 30.0).unwrap(),
    ];
    let qif_params: Vec<_> = (0..3)
        .map(|seed| NetworkParams::init::<Qif>(&sizes, &init, seed).unwrap())
        .collect();
    check_reuse(&qif_nets, &qif_params);
    let diffsol = DiffsolBackend::default();
    let diffsol_nets = [
        FeedForward::new(Qif::default(), &sizes, diffsol.clone(), opts, 30.0).unwrap(),
        FeedForward::new(Qif::default(), &sizes, diffsol.clone(), tight, 30.0).unwrap(),
        FeedForward::new(other_qif, &sizes, diffsol, opts, 30.0).unwrap(),
    ];
    check_reuse(&diffsol_nets, &qif_params);
    let lif_init = InitConfig {
        wmean: 3.0,
        wlim: 6.0,
        ..init
    };
    let lif_nets = [
        FeedForward::new(Lif::default(), &sizes, ClosedForm, opts, 30.0).unwrap(),
        FeedForward::new(
            Lif::new(10.0, 5.0, 1.0, 0.0).unwrap(),
            &sizes,
            ClosedForm,
            opts,
            30.0,
        )
        .unwrap(),
    ];
    let lif_params: Vec<_> = (0..3)
        .map(|seed| NetworkParams::init::<Lif>(&sizes, &lif_init, seed).unwrap())
        .collect();
    check_reuse(&lif_nets, &lif_params);
}

fn check_reuse<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    nets: &[FeedForward<N, B>],
    params: &[NetworkParams],
) {
    let (inputs, labels) = yinyang_like_batch(6);
    let loss = TtfsLoss::default();
    let mut ws = nets[0].workspace();
    let mut trace = ForwardTrace::default();
    for (k, (x, &y)) in inputs.iter().zip(&labels).enumerate() {
        for (n, p) in nets.iter().zip(params.iter().cycle().skip(k)) {
            let n = n.clone().with_loss_pass(LossPass::OnDemand);
            let mut g = p.zeros_like();
            let reused = n
                .sample_loss(p, x, &y, &loss, &mut ws, &mut trace, Some(&mut g))
                .unwrap();
            let mut g_fresh = p.zeros_like();
            let (mut ws_fresh, mut trace_fresh) = (n.workspace(), ForwardTrace::default());
            let fresh = n
                .sample_loss(
                    p,
                    x,
                    &y,
                    &loss,
                    &mut ws_fresh,
                    &mut trace_fresh,
                    Some(&mut g_fresh),
                )
                .unwrap();
            assert_eq!(reused.loss.to_bits(), fresh.loss.to_bits());
            assert_eq!(reused.first_spikes, fresh.first_spikes);
            assert_eq!(g.to_flat(), g_fresh.to_flat());
            assert_eq!(trace, trace_fresh);
        }
    }
}
