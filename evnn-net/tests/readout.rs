//! The leaky-integrator readout (`LiReadout`): its closed-form maxima
//! against a dense scan of the voltage summed spike by spike, its means
//! against quadrature of that voltage; the gradient of the cross-entropy of
//! either score against finite differences, for the readout weights and
//! spike times (a maximum at a kink included), and for every parameter of
//! LIF, QIF and recurrent LIF networks beneath it; the batch pass bit for
//! bit on one and two threads; bad input as typed errors.

use evnn_net::{
    gradcheck, BatchRunner, Distribution, FeedForward, ForwardTrace, GradCheckOptions, InitConfig,
    LiReadout, NetError, NetworkParams, ReadoutParams, ReadoutScore, RecurrentInit, SpikeTrains,
    VoltageMax,
};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_optim::Parameters;
use evnn_solver::{Adjoint, Backend, ClosedForm, QifSeries, SolverOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The voltage of readout neuron `k` at `t`, summed spike by spike.
fn voltage(r: &LiReadout, w: &[f64], k: usize, x: &SpikeTrains, t: f64) -> f64 {
    let n_in = x.n_channels();
    (0..n_in)
        .flat_map(|c| x.channel(c).iter().map(move |&s| (c, s)))
        .map(|(c, s)| w[k * n_in + c] * r.kernel(t - s))
        .sum()
}

/// Random trains: `n_in` channels of 0 to 5 sorted spikes in `[0, t_end)`.
fn random_trains(rng: &mut ChaCha8Rng, n_in: usize, t_end: f64) -> SpikeTrains {
    let trains: Vec<Vec<f64>> = (0..n_in)
        .map(|_| {
            let n = rng.random_range(0..6);
            let mut t: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * t_end).collect();
            t.sort_by(f64::total_cmp);
            t
        })
        .collect();
    SpikeTrains::from_trains(&trains).unwrap()
}

fn normal(mean: f64, std: f64) -> Distribution {
    Distribution::Normal { mean, std }
}

#[test]
fn maxima_match_a_dense_scan_of_the_voltage() {
    let t_end = 60.0;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut kinds = [0usize; 4]; // rest, turning point, end, kink
    for (case, (tau_mem, tau_syn)) in [(20.0, 5.0), (5.0, 20.0), (10.0, 2.5)]
        .into_iter()
        .cycle()
        .take(45)
        .enumerate()
    {
        let r = LiReadout::new(tau_mem, tau_syn).unwrap();
        let (n_in, n_out) = (5, 4);
        // A third of the cases with spikes up to the end, where the
        // voltage may still rise at `t_end`.
        let last = if case % 3 == 2 { t_end } else { 50.0 };
        let x = random_trains(&mut rng, n_in, last);
        let w: Vec<f64> = (0..n_in * n_out)
            .map(|_| rng.random::<f64>() * 3.0 - 1.2)
            .collect();
        let mut maxima = Vec::new();
        r.maxima(&w, &x, t_end, &mut maxima).unwrap();
        assert_eq!(maxima.len(), n_out);
        for (k, m) in maxima.iter().enumerate() {
            assert!((0.0..=t_end).contains(&m.time), "case {case}: {m:?}");
            let direct = voltage(&r, &w, k, &x, m.time);
            assert!(
                (direct - m.value).abs() <= 1e-12 * (1.0 + m.value.abs()),
                "case {case} neuron {k}: closed form {} against the sum {direct}",
                m.value
            );
            // A grid 1e-3 apart, and every spike time (where a kink is).
            let grid = (0..=60_000).map(|i| t_end * i as f64 / 60_000.0);
            let scan = grid
                .chain(x.flat().iter().copied())
                .map(|t| voltage(&r, &w, k, &x, t))
                .fold(0.0, f64::max);
            assert!(
                m.value >= scan - 1e-12,
                "case {case} neuron {k}: {} below the scan's {scan}",
                m.value
            );
            // Near a smooth maximum the grid falls short by O(1e-6) at most.
            assert!(m.value - scan <= 1e-5, "case {case}: {} vs {scan}", m.value);
            kinds[if m.at_input {
                3
            } else if m.time == 0.0 {
                0
            } else if m.time == t_end {
                2
            } else {
                1
            }] += 1;
        }
    }
    // Every kind of maximum occurs among the 180.
    assert!(kinds.iter().all(|&n| n > 0), "{kinds:?}");
}

/// A peak long before the end: the interval after the last spike spans
/// a thousand membrane time constants, where both exponentials underflow.
#[test]
fn a_peak_before_a_long_quiet_interval_is_found() {
    for (tau_mem, tau_syn) in [(1.0f64, 0.5), (0.5, 1.0)] {
        let r = LiReadout::new(tau_mem, tau_syn).unwrap();
        let x = SpikeTrains::from_times(&[1.0]).unwrap();
        let mut maxima = Vec::new();
        r.maxima(&[1.0], &x, 1000.0, &mut maxima).unwrap();
        // κ peaks at u* = ln(τ_m/τ_s)/(1/τ_s − 1/τ_m).
        let u = (tau_mem / tau_syn).ln() / (1.0 / tau_syn - 1.0 / tau_mem);
        let m = maxima[0];
        assert!((m.time - (1.0 + u)).abs() < 1e-12, "{m:?}");
        assert!((m.value - r.kernel(u)).abs() < 1e-14, "{m:?}");
        assert!(!m.at_input);
    }
}

/// `(L, dL/dw, dL/dt)` of the cross-entropy of the readout's scores (its
/// maxima or means, as `r.score` says) against `label`, through the public
/// primitives.
fn ce(
    r: &LiReadout,
    w: &[f64],
    x: &SpikeTrains,
    t_end: f64,
    label: usize,
) -> (f64, Vec<f64>, Vec<f64>) {
    let mut maxima: Vec<VoltageMax> = Vec::new();
    let mut scores = Vec::new();
    match r.score {
        ReadoutScore::Max => {
            r.maxima(w, x, t_end, &mut maxima).unwrap();
            scores.extend(maxima.iter().map(|m| m.value));
        }
        ReadoutScore::Mean => r.means(w, x, t_end, &mut scores).unwrap(),
    }
    let mut dl_ds = vec![0.0; scores.len()];
    let l = LiReadout::cross_entropy(&scores, label, &mut dl_ds).unwrap();
    let (mut dw, mut dt) = (vec![0.0; w.len()], vec![0.0; x.n_spikes()]);
    match r.score {
        ReadoutScore::Max => r.backward(w, x, &maxima, &dl_ds, &mut dw, &mut dt),
        ReadoutScore::Mean => r.means_backward(w, x, t_end, &dl_ds, &mut dw, &mut dt),
    }
    .unwrap();
    (l, dw, dt)
}

/// Five-point central difference of `f` at 0 with step `h`.
fn five_point(h: f64, f: &mut dyn FnMut(f64) -> f64) -> f64 {
    (-f(2.0 * h) + 8.0 * f(h) - 8.0 * f(-h) + f(-2.0 * h)) / (12.0 * h)
}

/// Checks `analytic` against five-point differences of `f` at `h` and
/// `h/2` (≤ 1e-6 relative or 1e-8 absolute). Where the two differences
/// disagree, the loss is not smooth within `2h` (two local maxima of a
/// voltage trade places): nothing is compared and the result is `false`.
fn check_entry(what: &str, analytic: f64, h: f64, f: &mut dyn FnMut(f64) -> f64) -> bool {
    let (at_h, at_half) = (five_point(h, f), five_point(0.5 * h, f));
    let allowed = 1e-8f64.max(1e-6 * analytic.abs().max(at_half.abs()));
    if (at_h - at_half).abs() > 0.1 * allowed {
        return false;
    }
    assert!(
        (analytic - at_half).abs() <= allowed,
        "{what}: analytic {analytic} vs finite differences {at_half}"
    );
    true
}

/// The readout's gradients (weights, spike times) against five-point
/// differences over 30 random cases scored by `score`: entries compared
/// and those nonzero, for weights and times, and entries where the loss is
/// not smooth.
fn readout_gradients(score: ReadoutScore) -> ([usize; 2], [usize; 2], usize) {
    let t_end = 60.0;
    // The mean's spikes reach past the end too: those at or after it count
    // for nothing, and those just before it move the mean most.
    let last = match score {
        ReadoutScore::Max => 50.0,
        ReadoutScore::Mean => 70.0,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut weights, mut times, mut skipped) = ([0; 2], [0; 2], 0);
    for case in 0..30 {
        // Both signs of the kernel's amplitude and rate: τ_s below and
        // above τ_m.
        let r = if case % 2 == 0 {
            LiReadout::default()
        } else {
            LiReadout::new(5.0, 20.0).unwrap()
        }
        .with_score(score);
        let (n_in, n_out) = (4, 3);
        let x = random_trains(&mut rng, n_in, last);
        let w: Vec<f64> = (0..n_in * n_out)
            .map(|_| rng.random::<f64>() * 3.0 - 1.0)
            .collect();
        let label = case % n_out;
        let (_, dw, dt) = ce(&r, &w, &x, t_end, label);
        for (i, &g) in dw.iter().enumerate() {
            let compared = check_entry(&format!("case {case} dL/dw[{i}]"), g, 1e-4, &mut |d| {
                let mut v = w.clone();
                v[i] += d;
                ce(&r, &v, &x, t_end, label).0
            });
            weights[0] += usize::from(compared);
            weights[1] += usize::from(compared && g != 0.0);
            skipped += usize::from(!compared);
        }
        let trains = x.to_trains();
        for c in 0..n_in {
            for s in 0..trains[c].len() {
                let g = dt[x.offset(c) + s];
                let what = format!("case {case} dL/dt[{c}][{s}]");
                let compared = check_entry(&what, g, 1e-5, &mut |d| {
                    let mut t = trains.clone();
                    t[c][s] += d;
                    let moved = SpikeTrains::from_trains(&t).unwrap();
                    ce(&r, &w, &moved, t_end, label).0
                });
                times[0] += usize::from(compared);
                times[1] += usize::from(compared && g != 0.0);
                skipped += usize::from(!compared);
            }
        }
    }
    (weights, times, skipped)
}

#[test]
fn readout_gradients_match_central_differences() {
    let (weights, times, skipped) = readout_gradients(ReadoutScore::Max);
    eprintln!("readout: weights {weights:?}, spike times {times:?} (compared, nonzero), {skipped} not smooth");
    assert!(
        weights[1] >= 250 && times[1] >= 150,
        "{weights:?} {times:?}"
    );
    assert!(
        skipped * 50 <= weights[0] + times[0],
        "{skipped} not smooth"
    );
}

/// The mean score is smooth in the weights and spike times: every entry is
/// compared. Spikes at or after the end move nothing; every spike before it
/// moves the means, and every weight from a channel that spikes before it.
#[test]
fn mean_readout_gradients_match_central_differences() {
    let (weights, times, skipped) = readout_gradients(ReadoutScore::Mean);
    eprintln!("mean readout: weights {weights:?}, spike times {times:?} (compared, nonzero), {skipped} not smooth");
    assert_eq!(skipped, 0);
    assert!(
        weights[1] >= 280 && times[1] >= 240,
        "{weights:?} {times:?}"
    );
    assert!(times[1] < times[0], "no spike after the end: {times:?}");
}

/// The means against composite Simpson quadrature of the voltage summed
/// spike by spike, on the pieces between spikes (where it is smooth), and
/// the kernel's integral over a long run (`w · τ_s` for each spike).
#[test]
fn means_match_quadrature_of_the_voltage() {
    let t_end = 60.0;
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for (case, (tau_mem, tau_syn)) in [(20.0, 5.0), (5.0, 20.0), (10.0, 2.5)]
        .into_iter()
        .cycle()
        .take(24)
        .enumerate()
    {
        let r = LiReadout::new(tau_mem, tau_syn)
            .unwrap()
            .with_score(ReadoutScore::Mean);
        let (n_in, n_out) = (5, 3);
        // Some spikes after the end, which do not count.
        let x = random_trains(&mut rng, n_in, 70.0);
        let w: Vec<f64> = (0..n_in * n_out)
            .map(|_| rng.random::<f64>() * 3.0 - 1.2)
            .collect();
        let mut means = Vec::new();
        r.means(&w, &x, t_end, &mut means).unwrap();
        assert_eq!(means.len(), n_out);
        let mut cuts: Vec<f64> = x.flat().iter().copied().filter(|&t| t < t_end).collect();
        cuts.extend([0.0, t_end]);
        cuts.sort_by(f64::total_cmp);
        for (k, &mean) in means.iter().enumerate() {
            let mut integral = 0.0;
            for piece in cuts.windows(2) {
                let (a, b) = (piece[0], piece[1]);
                if b <= a {
                    continue;
                }
                // Just inside the piece: the voltage is continuous, and the
                // kernel is 0 at its spike's own instant.
                let n = 2000;
                let h = (b - a) / n as f64;
                let mut sum = voltage(&r, &w, k, &x, a) + voltage(&r, &w, k, &x, b);
                for i in 1..n {
                    let f = voltage(&r, &w, k, &x, a + i as f64 * h);
                    sum += if i % 2 == 1 { 4.0 * f } else { 2.0 * f };
                }
                integral += sum * h / 3.0;
            }
            let quad = integral / t_end;
            assert!(
                (quad - mean).abs() <= 1e-10 * (1.0 + mean.abs()),
                "case {case} neuron {k}: closed form {mean} against quadrature {quad}"
            );
        }
    }
    // Long after its spike, a unit weight has left its whole integral, τ_s.
    for (tau_mem, tau_syn) in [(20.0, 5.0), (5.0, 20.0)] {
        let r = LiReadout::new(tau_mem, tau_syn).unwrap();
        let x = SpikeTrains::from_times(&[1.0]).unwrap();
        let mut means = Vec::new();
        r.means(&[3.0], &x, 5001.0, &mut means).unwrap();
        assert!((means[0] * 5001.0 - 3.0 * tau_syn).abs() <= 1e-12 * 3.0 * tau_syn);
    }
}

/// A maximum at the instant of a negative-weight spike moves with it: the
/// spike time's derivative is the voltage's slope just before it.
#[test]
fn a_maximum_at_a_kink_moves_with_its_spike() {
    for r in [LiReadout::default(), LiReadout::new(5.0, 20.0).unwrap()] {
        kink_case(&r);
    }
}

fn kink_case(r: &LiReadout) {
    let x = SpikeTrains::from_trains(&[vec![1.0], vec![4.0]]).unwrap();
    let w = [1.0, -5.0, 0.2, 0.1];
    let mut maxima = Vec::new();
    r.maxima(&w, &x, 40.0, &mut maxima).unwrap();
    assert!(
        maxima[0].at_input && maxima[0].time == 4.0,
        "{r:?}: {maxima:?}"
    );
    assert!(maxima[0].slope_before > 0.0);
    let (_, dw, dt) = ce(r, &w, &x, 40.0, 0);
    for (i, &g) in dw.iter().enumerate() {
        let compared = check_entry(&format!("dL/dw[{i}]"), g, 1e-4, &mut |d| {
            let mut v = w;
            v[i] += d;
            ce(r, &v, &x, 40.0, 0).0
        });
        assert!(compared, "dL/dw[{i}]");
    }
    for (c, base) in [1.0, 4.0].into_iter().enumerate() {
        let compared = check_entry(&format!("dL/dt[{c}]"), dt[c], 1e-5, &mut |d| {
            let mut t = [vec![1.0], vec![4.0]];
            t[c][0] = base + d;
            ce(r, &w, &SpikeTrains::from_trains(&t).unwrap(), 40.0, 0).0
        });
        assert!(compared, "dL/dt[{c}]");
    }
}

fn init(wmean: f64, wlim: f64) -> InitConfig {
    InitConfig {
        wmean,
        wlim,
        ..InitConfig::default()
    }
}

fn input() -> SpikeTrains {
    let trains = [vec![1.0, 6.0], vec![3.0, 11.0], vec![9.0], vec![4.5, 5.0]];
    SpikeTrains::from_trains(&trains).unwrap()
}

/// Networks `[4, 7, 5]` of `model` (the last layer read by 3 readout
/// neurons), with `recurrent` layers where given, for seeds `0..seeds`:
/// every compared entry of the network's gradient through the readout
/// (weights, neuron parameters, recurrent weights, input times) agrees
/// with five-point finite differences. Returns (compared, all).
fn network_gradients_match<N, B>(
    model: N,
    backend: B,
    init: InitConfig,
    recurrent: Option<RecurrentInit>,
    seeds: u64,
    score: ReadoutScore,
) -> (usize, usize)
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let sizes = [4, 7, 5];
    let t_end = 40.0;
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net = FeedForward::new(model.clone(), &sizes, backend, opts, t_end).unwrap();
    let r = LiReadout::default().with_score(score);
    let (mut compared, mut all) = (0, 0);
    for seed in 0..seeds {
        let mut network = NetworkParams::init_for(&model, &sizes, &init, seed).unwrap();
        if let Some(rec) = &recurrent {
            network = network.with_recurrent(&[0, 1], rec, seed).unwrap();
        }
        let params = ReadoutParams::init(network, 3, &normal(0.5, 1.0), seed).unwrap();
        let label = seed as usize % 3;
        let loss = |out: &SpikeTrains| {
            let (l, _, dt) = ce(&r, &params.weights, out, t_end, label);
            (l, dt)
        };
        let options = GradCheckOptions::default();
        let report = gradcheck(&net, &params.network, &input(), &loss, &options).unwrap();
        assert!(report.is_ok(), "seed {seed}: {:#?}", report.failures());
        assert!(
            report.errors().is_empty(),
            "seed {seed}: {:?}",
            report.errors()
        );
        let nonzero = report
            .entries
            .iter()
            .filter(|e| e.skipped.is_none() && e.analytic != 0.0)
            .count();
        assert!(nonzero > 0, "seed {seed}: every compared entry is 0");
        compared += report.compared();
        all += report.entries.len();

        // The network's own pass gives the same network gradient and the
        // readout weights' gradient of `ce`.
        let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
        let mut grad = params.zeros_like();
        let res = net
            .readout_loss(
                &params,
                &r,
                &input(),
                label,
                &mut ws,
                &mut trace,
                Some(&mut grad),
            )
            .unwrap();
        let out = trace.output().unwrap().clone();
        let (l, dw, _) = ce(&r, &params.weights, &out, t_end, label);
        assert_eq!(res.loss.to_bits(), l.to_bits());
        assert_eq!(grad.weights, dw);
        let mut g_net = params.network.zeros_like();
        let mut dl_dinput = Vec::new();
        let (_, _, dt) = ce(&r, &params.weights, &out, t_end, label);
        net.backward(
            &params.network,
            &input(),
            &trace,
            &dt,
            &mut ws,
            &mut g_net,
            &mut dl_dinput,
        )
        .unwrap();
        assert_eq!(grad.network, g_net);
    }
    (compared, all)
}

#[test]
fn lif_network_gradients_through_the_readout_match_finite_differences() {
    let (compared, all) = network_gradients_match(
        Lif::default(),
        ClosedForm,
        init(3.0, 4.0),
        None,
        4,
        ReadoutScore::Max,
    );
    eprintln!("LIF through the readout: {compared} of {all} entries compared");
    assert!(compared >= all * 3 / 4, "{compared} of {all}");
}

#[test]
fn network_gradients_through_the_mean_readout_match_finite_differences() {
    let (compared, all) = network_gradients_match(
        Lif::default(),
        ClosedForm,
        init(3.0, 4.0),
        None,
        4,
        ReadoutScore::Mean,
    );
    eprintln!("LIF through the mean readout: {compared} of {all} entries compared");
    assert!(compared >= all * 3 / 4, "{compared} of {all}");
    let (compared, all) = network_gradients_match(
        Qif::default(),
        QifSeries,
        init(3.0, 4.0),
        None,
        3,
        ReadoutScore::Mean,
    );
    eprintln!("QIF through the mean readout: {compared} of {all} entries compared");
    assert!(compared >= all * 3 / 4, "{compared} of {all}");
}

#[test]
fn qif_network_gradients_through_the_readout_match_finite_differences() {
    let (compared, all) = network_gradients_match(
        Qif::default(),
        QifSeries,
        init(3.0, 4.0),
        None,
        3,
        ReadoutScore::Max,
    );
    eprintln!("QIF through the readout: {compared} of {all} entries compared");
    assert!(compared >= all * 3 / 4, "{compared} of {all}");
}

#[test]
fn recurrent_lif_gradients_through_the_readout_match_finite_differences() {
    let rec = RecurrentInit {
        weights: normal(0.0, 0.8),
        self_connections: true,
        density: 1.0,
    };
    let (compared, all) = network_gradients_match(
        Lif::default(),
        ClosedForm,
        init(3.0, 4.0),
        Some(rec),
        3,
        ReadoutScore::Max,
    );
    eprintln!("recurrent LIF through the readout: {compared} of {all} entries compared");
    assert!(compared >= all / 2, "{compared} of {all}");
}

#[test]
fn batches_are_bit_identical_on_one_and_two_threads_and_sum_the_samples() {
    let sizes = [4, 9];
    let net = FeedForward::new(
        Lif::default(),
        &sizes,
        ClosedForm,
        SolverOptions::default(),
        40.0,
    )
    .unwrap();
    let network = net.init_params(&init(3.0, 4.0), 2).unwrap();
    let params = ReadoutParams::init(network, 3, &normal(0.5, 1.0), 2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let xs: Vec<SpikeTrains> = (0..21).map(|_| random_trains(&mut rng, 4, 30.0)).collect();
    let ys: Vec<usize> = (0..21).map(|k| k % 3).collect();
    let r = LiReadout::default();
    let runner = BatchRunner::new(net);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| runner.readout_loss_and_grad(&params, &r, &xs, &ys).unwrap())
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one, two);
    let g = one.grad.as_ref().unwrap();
    assert!(g.to_flat().iter().any(|&v| v != 0.0));
    // The batch's sums are those of the samples, and its loss that of the
    // pass without gradient.
    let (mut ws, mut trace) = (runner.net().workspace(), ForwardTrace::default());
    let (mut loss, mut correct) = (0.0, 0);
    let mut sum = params.zeros_like();
    for (x, &y) in xs.iter().zip(&ys) {
        let res = runner
            .net()
            .readout_loss(&params, &r, x, y, &mut ws, &mut trace, Some(&mut sum))
            .unwrap();
        loss += res.loss;
        correct += usize::from(res.prediction == Some(y));
    }
    assert!((one.loss_sum - loss).abs() <= 1e-12 * loss.abs());
    assert_eq!(one.correct, correct);
    for (a, b) in g.to_flat().iter().zip(sum.to_flat()) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }
    let no_grad = runner.readout_loss(&params, &r, &xs, &ys).unwrap();
    assert_eq!(no_grad.loss_sum.to_bits(), one.loss_sum.to_bits());
    assert_eq!((no_grad.grad, no_grad.scores), (None, one.scores));
}

#[test]
fn bad_readouts_are_typed_errors_naming_the_value() {
    for (m, s, name, value) in [
        (0.0, 5.0, "tau_mem", 0.0),
        (20.0, f64::NAN, "tau_syn", f64::NAN),
        (20.0, 20.01, "tau_syn", 20.01),
        (f64::INFINITY, 5.0, "tau_mem", f64::INFINITY),
    ] {
        match LiReadout::new(m, s) {
            Err(NetError::InvalidConfig {
                name: n, value: v, ..
            }) => {
                assert_eq!(n, name);
                assert_eq!(v.to_bits(), value.to_bits());
            }
            other => panic!("({m}, {s}): {other:?}"),
        }
    }
    let sizes = [2, 3];
    let net = FeedForward::new(
        Lif::default(),
        &sizes,
        ClosedForm,
        SolverOptions::default(),
        30.0,
    )
    .unwrap();
    let network = net.init_params(&InitConfig::default(), 0).unwrap();
    let err = ReadoutParams::new(network.clone(), 2, vec![0.1; 5]).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let mut nan = vec![0.1; 6];
    nan[4] = f64::NAN;
    let err = ReadoutParams::new(network.clone(), 2, nan).unwrap_err();
    assert!(
        matches!(err, NetError::NonFinite { what: "readout weight", index: 4, value } if value.is_nan()),
        "{err:?}"
    );
    let err = ReadoutParams::new(network.clone(), 0, vec![]).unwrap_err();
    assert!(matches!(err, NetError::Shape { got: 0, .. }), "{err:?}");
    let err = ReadoutParams::new(NetworkParams { layers: vec![] }, 1, vec![]).unwrap_err();
    assert!(matches!(err, NetError::Shape { .. }), "{err:?}");

    let params = ReadoutParams::new(network, 2, vec![0.5; 6]).unwrap();
    let r = LiReadout::default();
    let x = SpikeTrains::from_times(&[1.0, 2.0]).unwrap();
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    let err = net
        .readout_loss(&params, &r, &x, 2, &mut ws, &mut trace, None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::InvalidLabel {
                label: 2,
                n_classes: 2
            }
        ),
        "{err:?}"
    );
    let mut bad = params.clone();
    bad.weights.pop();
    let err = net
        .readout_loss(&bad, &r, &x, 0, &mut ws, &mut trace, None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let mut grad = params.zeros_like();
    grad.weights.push(0.0);
    let err = net
        .readout_loss(&params, &r, &x, 0, &mut ws, &mut trace, Some(&mut grad))
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 6,
                got: 7,
                ..
            }
        ),
        "{err:?}"
    );
    let wrong = SpikeTrains::from_times(&[1.0]).unwrap();
    let err = net
        .readout_loss(&params, &r, &wrong, 0, &mut ws, &mut trace, None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let runner = BatchRunner::new(net);
    let err = runner
        .readout_loss(&params, &r, &[x.clone(), x.clone()], &[0, 7])
        .unwrap_err();
    assert!(
        matches!(&err, NetError::Sample { sample: 1, source } if matches!(**source, NetError::InvalidLabel { label: 7, .. })),
        "{err:?}"
    );
    // Scores that are not finite, and a label beyond them.
    let mut dl = [0.0; 2];
    let err = LiReadout::cross_entropy(&[1.0, f64::INFINITY], 0, &mut dl).unwrap_err();
    assert!(
        matches!(err, NetError::NonFinite { index: 1, .. }),
        "{err:?}"
    );
    let err = LiReadout::cross_entropy(&[1.0, 2.0], 2, &mut dl).unwrap_err();
    assert!(
        matches!(err, NetError::InvalidLabel { label: 2, .. }),
        "{err:?}"
    );
    // The closed form's own checks: no channels, a weight count that is no
    // multiple of them, an overflowing voltage, a time constant whose
    // inverse overflows, buffers of the wrong length.
    let mut maxima = Vec::new();
    let none = SpikeTrains::new();
    let err = r.maxima(&[1.0], &none, 10.0, &mut maxima).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err:?}"
    );
    let err = r.maxima(&[1.0; 3], &x, 10.0, &mut maxima).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let twice = SpikeTrains::from_trains(&[vec![1.0, 1.5], vec![]]).unwrap();
    let err = r
        .maxima(&[1e308, 0.0], &twice, 10.0, &mut maxima)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::NonFinite {
                what: "readout voltage",
                index: 0,
                ..
            }
        ),
        "{err:?}"
    );
    let err = LiReadout::new(20.0, 1e-310).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::InvalidConfig {
                name: "tau_syn",
                ..
            }
        ),
        "{err:?}"
    );
    let err = r
        .maxima(&[1.0, 1.0], &x, f64::NAN, &mut maxima)
        .unwrap_err();
    assert!(
        matches!(err, NetError::InvalidConfig { name: "t_end", .. }),
        "{err:?}"
    );
    r.maxima(&[1.0, 1.0], &x, 10.0, &mut maxima).unwrap();
    let (mut dw, mut dt) = (vec![0.0; 2], vec![0.0; 2]);
    let err = r
        .backward(&[1.0, 1.0], &x, &maxima, &[0.5, 0.5], &mut dw, &mut dt)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 1,
                got: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = r
        .backward(&[1.0, 1.0], &x, &maxima, &[0.5], &mut dw, &mut dt[..1])
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = r
        .backward(&[1.0, 1.0], &x, &maxima, &[f64::NAN], &mut dw, &mut dt)
        .unwrap_err();
    assert!(
        matches!(err, NetError::NonFinite { what: "dL/dM", .. }),
        "{err:?}"
    );
    // The mean score's checks: the same arguments as the maxima's, a mean
    // that overflows, a non-finite dL/dS.
    let mut means = Vec::new();
    let err = r.means(&[1.0; 3], &x, 10.0, &mut means).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 2,
                got: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let err = r
        .means(&[1.0, f64::INFINITY], &x, 10.0, &mut means)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::NonFinite {
                what: "readout weight",
                index: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let err = r
        .means(&[1.0, 1.0], &x, f64::INFINITY, &mut means)
        .unwrap_err();
    assert!(
        matches!(err, NetError::InvalidConfig { name: "t_end", .. }),
        "{err:?}"
    );
    // Ten spikes early in a run of 15: each leaves about an eighth of its
    // weight in the mean, so the largest finite weight overflows it.
    let burst: Vec<f64> = (0..10).map(|i| 0.1 * i as f64).collect();
    let burst = SpikeTrains::from_trains(&[burst]).unwrap();
    r.means(&[f64::MAX / 4.0], &burst, 15.0, &mut means)
        .unwrap();
    assert!(means[0].is_finite() && means[0] > f64::MAX / 4.0);
    let err = r.means(&[f64::MAX], &burst, 15.0, &mut means).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::NonFinite {
                what: "readout mean voltage",
                index: 0,
                ..
            }
        ),
        "{err:?}"
    );
    let err = r
        .means_backward(&[1.0, 1.0], &x, 10.0, &[f64::NAN], &mut dw, &mut dt)
        .unwrap_err();
    assert!(
        matches!(err, NetError::NonFinite { what: "dL/dS", .. }),
        "{err:?}"
    );
    let err = r
        .means_backward(&[1.0, 1.0], &x, 10.0, &[0.5], &mut dw[..1], &mut dt)
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );
    // In a file, the score is `max` or `mean`, `max` when absent.
    let parse = |s: &str| serde_json::from_str::<LiReadout>(s);
    let r = parse(r#"{"tau_mem": 20, "tau_syn": 5}"#).unwrap();
    assert_eq!(r.score, ReadoutScore::Max);
    let r = parse(r#"{"tau_mem": 20, "tau_syn": 5, "score": "mean"}"#).unwrap();
    assert_eq!(r.score, ReadoutScore::Mean);
    let err = parse(r#"{"tau_mem": 20, "tau_syn": 5, "score": "median"}"#).unwrap_err();
    assert!(err.to_string().contains("median"), "{err}");
    // Readout inputs that are not the last layer's size, though the weight
    // count fits (2 × 3 as 3 × 2).
    let mut transposed = params.clone();
    (transposed.n_in, transposed.n_out) = (2, 3);
    let err = transposed.check_readout().unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Shape {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let mut sum = params.clone();
    assert!(sum.add_assign(&transposed).is_err());
    assert_eq!(sum, params);
    // Flat buffers of another length change nothing.
    let mut p = params.clone();
    assert!(p.set_flat(&[0.0; 3]).is_err());
    assert_eq!(p, params);
}

/// A feed-forward LIF network without delays learns the interval task
/// (`evnn_data::IntervalTask`, smaller splits) through a readout whose
/// membrane (100 ms) outlasts the interval: the measurement of
/// `readout_intervals`, at a size that trains in seconds.
#[test]
fn a_slow_readout_learns_the_interval_task_without_delays() {
    use evnn_data::IntervalTask;
    use evnn_net::ReadoutClassification;
    use evnn_optim::{AdamConfig, Trainer};
    let task = IntervalTask {
        train_size: 256,
        val_size: 64,
        test_size: 256,
        ..IntervalTask::default()
    };
    let data = task.generate().unwrap();
    let trains = |s: &evnn_data::SpikeSplit| -> Vec<SpikeTrains> {
        s.inputs
            .iter()
            .map(|x| SpikeTrains::from_trains(x).unwrap())
            .collect()
    };
    let (x_train, x_val, x_test) = (
        trains(&data.train),
        trains(&data.validation),
        trains(&data.test),
    );
    let lif = Lif::new(10.0, 2.5, 1.0, 0.0).unwrap();
    let net = FeedForward::new(lif, &[3, 16], ClosedForm, SolverOptions::default(), 250.0).unwrap();
    let init = InitConfig {
        wmean: 8.0,
        wlim: 8.0,
        bmean: 0.0,
        blim: 0.0,
        ..InitConfig::default()
    };
    let network = net.init_params(&init, 0).unwrap();
    let params = ReadoutParams::init(network, 2, &normal(0.5, 1.0), 0).unwrap();
    let readout = LiReadout::new(100.0, 25.0).unwrap();
    let runner = BatchRunner::new(net);
    let before = runner
        .readout_loss(&params, &readout, &x_test, &data.test.labels)
        .unwrap();
    let mut objective = ReadoutClassification::new(&runner, &x_train, &data.train.labels, readout)
        .unwrap()
        .with_validation(&x_val, &data.validation.labels)
        .unwrap();
    let adam = AdamConfig::default()
        .with_learning_rate(5e-3)
        .build(params.len())
        .unwrap();
    let state = Trainer::new(60, 32, 0)
        .unwrap()
        .fit(&mut objective, params, adam, &mut ())
        .unwrap();
    let after = runner
        .readout_loss(&state.best_params, &readout, &x_test, &data.test.labels)
        .unwrap();
    eprintln!(
        "interval task through a 100 ms readout: test accuracy {:.1} % -> {:.1} %",
        100.0 * before.accuracy(),
        100.0 * after.accuracy()
    );
    assert!(after.accuracy() >= 0.9, "{}", after.accuracy());
}
