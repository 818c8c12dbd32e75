//! The sensitivity log in networks (Dormand–Prince): the passes that a
//! backward pass follows log their runs' segment sensitivities, and the
//! adjoint takes them from there. The spikes are those of a pass without
//! the log, bit for bit; the gradient is the one integrated again to the
//! solver's tolerance, and differs from it (the log is in use), in
//! feed-forward and recurrent layers.

use evnn_net::{
    Distribution, FeedForward, ForwardTrace, InitConfig, NetworkParams, RecurrentInit, SpikeTrains,
};
use evnn_neurons::{Derived, Qif};
use evnn_solver::{Dopri5Backend, SolverOptions};

fn inputs(n: usize) -> Vec<SpikeTrains> {
    (0..n)
        .map(|i| {
            let (x, y) = ((i as f64 * 0.3719).fract(), (i as f64 * 0.6113).fract());
            SpikeTrains::from_times(&[30.0 * x, 30.0 * y, 30.0 * (1.0 - x), 30.0 * (1.0 - y), 0.0])
                .unwrap()
        })
        .collect()
}

/// One forward and backward pass of `net` on `x`, with or without the
/// log, for a loss of every output spike: the output spikes, the gradient,
/// and the number of numbers logged.
fn pass(
    net: &FeedForward<Derived<Qif>, Dopri5Backend>,
    params: &NetworkParams,
    x: &SpikeTrains,
    log: bool,
) -> (SpikeTrains, Vec<f64>, usize) {
    let mut ws = net.workspace();
    ws.set_sensitivity_log(log);
    let mut trace = ForwardTrace::default();
    net.forward(params, x, &mut ws, &mut trace).unwrap();
    let out = trace.output().unwrap().clone();
    let logged: usize = trace
        .layers
        .iter()
        .flat_map(|l| &l.neurons)
        .map(|n| n.sensitivities().len())
        .sum();
    let dl: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.2 * k as f64).collect();
    let mut g = params.zeros_like();
    let mut dl_input = Vec::new();
    net.backward(params, x, &trace, &dl, &mut ws, &mut g, &mut dl_input)
        .unwrap();
    (out, g.to_flat(), logged)
}

/// Passes of `net` over 12 inputs with and without the log: the same
/// output spikes, bit for bit; a log exactly when asked for; gradients
/// within `rel` of the largest entry of a reference's (`reference`, the
/// same network at tolerance 1e-12, without the log), and not all equal
/// (the log is used). Returns the mean errors against the reference, with
/// and without the log, over the samples whose reference has the same
/// output spike count (at least 10).
fn compare(
    name: &str,
    net: &FeedForward<Derived<Qif>, Dopri5Backend>,
    reference: &FeedForward<Derived<Qif>, Dopri5Backend>,
    params: &NetworkParams,
    rel: f64,
) -> (f64, f64) {
    let (mut differ, mut compared) = (0, 0);
    let (mut err_log, mut err_plain) = (0.0, 0.0);
    for (i, x) in inputs(12).iter().enumerate() {
        let (out_a, a, n_a) = pass(net, params, x, false);
        let (out_b, b, n_b) = pass(net, params, x, true);
        assert_eq!(out_a, out_b, "{name}, sample {i}: the same spikes");
        assert!(out_a.n_spikes() > 0, "{name}, sample {i}: no output spike");
        assert!(
            n_a == 0 && n_b > 0,
            "{name}, sample {i}: a log exactly when asked for"
        );
        differ += usize::from(a != b);
        let (out_r, r, _) = pass(reference, params, x, false);
        if out_r.n_spikes() != out_a.n_spikes() {
            continue;
        }
        let scale = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let error = |g: &[f64]| {
            r.iter()
                .zip(g)
                .fold(0.0f64, |m, (p, q)| m.max((p - q).abs()))
                / scale
        };
        let (ea, eb) = (error(&a), error(&b));
        assert!(
            eb <= rel,
            "{name}, sample {i}: {eb:e} off the reference (without the log {ea:e})"
        );
        err_plain += ea;
        err_log += eb;
        compared += 1;
    }
    assert!(
        differ > 0,
        "{name}: the log changed no gradient: it was not used"
    );
    assert!(compared >= 10, "{name}: {compared} samples compared");
    (err_log / compared as f64, err_plain / compared as f64)
}

#[test]
fn feed_forward_and_recurrent_layers_log_the_same_runs() {
    let sizes = [5, 12, 3];
    let model = Derived(Qif::new(10.0, 5.0).unwrap());
    let init = InitConfig {
        wmean: 6.0,
        wlim: 12.0,
        bmean: 0.8,
        blim: 0.8,
        ..InitConfig::default()
    };
    let rec = RecurrentInit {
        weights: Distribution::Normal {
            mean: 1.0,
            std: 2.0,
        },
        self_connections: true,
        density: 1.0,
    };
    let net_at = |tol: f64| {
        let opts = SolverOptions::default().with_tolerances(tol, tol);
        FeedForward::new(model, &sizes, Dopri5Backend::default(), opts, 30.0).unwrap()
    };
    let reference = net_at(1e-12);
    let plain = NetworkParams::init_for(&model, &sizes, &init, 1).unwrap();
    let recurrent = plain.clone().with_recurrent(&[0], &rec, 1).unwrap();
    for (tol, rel) in [(1e-6, 1e-2), (1e-9, 1e-5)] {
        let net = net_at(tol);
        for (what, params) in [("feed-forward", &plain), ("recurrent", &recurrent)] {
            let name = format!("{what}, tolerance {tol:e}");
            let (log, plain) = compare(&name, &net, &reference, params, rel);
            println!("{name}: mean error against the reference {log:.2e} with the log, {plain:.2e} without");
        }
    }
}
