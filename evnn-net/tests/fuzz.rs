//! Fuzzing the network: random architectures, parameters and inputs,
//! extreme values included (NaN, ±∞, ±f64::MAX, subnormals, huge and tiny
//! weights, negative and unsorted times). Whatever comes in, nothing panics,
//! and every result returned as `Ok` is free of NaN: spike times finite,
//! sorted and in `[0, t_end]`, loss finite, gradients finite; and wherever
//! the loss pass succeeds, the prediction pass succeeds with its prediction.
//!
//! `cargo test` runs a few hundred cases per model; the long run is
//! `cargo test --release -p evnn-net --test fuzz -- --ignored` (100 000
//! cases each for QIF on Dormand–Prince, QIF by Taylor series and LIF in
//! closed form, 20 000 for QIF on diffsol).

use evnn_net::BatchRunner;
use evnn_net::{FeedForward, ForwardTrace, NetworkParams, SpikeTrains, TtfsLoss};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_solver::{
    Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, QifSeries, SolverOptions,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many cases ran, and how many came back `Ok` with a gradient and with
/// output spikes: a fuzz run that only ever hits input validation would test
/// nothing.
#[derive(Default)]
struct Tally {
    cases: AtomicUsize,
    ok: AtomicUsize,
    spiking: AtomicUsize,
}

/// A float drawn mostly from a useful range, rarely (about 1 in 200, so
/// that about three cases in four are clean and reach the solver) from the
/// edges of f64.
fn value(typical: std::ops::Range<f64>) -> impl Strategy<Value = f64> {
    prop_oneof![
        400 => typical,
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(-0.0),
            Just(0.0),
            Just(1e300),
            Just(-1e300),
            Just(1e-300),
        ],
        1 => any::<f64>(),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    sizes: Vec<usize>,
    weights: Vec<Vec<f64>>,
    biases: Vec<Vec<f64>>,
    inputs: Vec<Vec<f64>>,
    label: usize,
    t_end: f64,
}

fn case(weight: std::ops::Range<f64>, bias: std::ops::Range<f64>) -> impl Strategy<Value = Case> {
    (
        1usize..=4,
        prop::collection::vec(1usize..=6, 1..=3),
        prop_oneof![30 => Just(30.0), 1 => value(0.0..100.0)],
    )
        .prop_flat_map(move |(n_in, widths, t_end)| {
            let mut sizes = vec![n_in];
            sizes.extend(&widths);
            let weights: Vec<_> = sizes
                .windows(2)
                .map(|w| prop::collection::vec(value(weight.clone()), w[0] * w[1]))
                .collect();
            let biases: Vec<_> = widths
                .iter()
                .map(|&n| prop::collection::vec(value(bias.clone()), n))
                .collect();
            // Times: sorted valid ones mostly, sometimes raw (unsorted,
            // negative, NaN).
            let channel = prop_oneof![
                30 => prop::collection::vec(0.0..40.0f64, 0..4).prop_map(|mut v| {
                    v.sort_by(f64::total_cmp);
                    v
                }),
                1 => prop::collection::vec(value(-5.0..40.0), 0..4),
            ];
            let n_out = *widths.last().unwrap_or(&1);
            (
                Just(sizes),
                weights,
                biases,
                prop::collection::vec(channel, n_in),
                0..n_out + 1,
                Just(t_end),
            )
        })
        .prop_map(|(sizes, weights, biases, inputs, label, t_end)| Case {
            sizes,
            weights,
            biases,
            inputs,
            label,
            t_end,
        })
}

fn params(case: &Case) -> NetworkParams {
    let mut p =
        NetworkParams::init::<Lif>(&case.sizes, &Default::default(), 0).expect("sizes are valid");
    for (l, (w, b)) in p
        .layers
        .iter_mut()
        .zip(case.weights.iter().zip(&case.biases))
    {
        l.weights.clone_from(w);
        l.neuron_params.clone_from(b);
    }
    p
}

/// Runs one case; `Err` is a property violation (a panic fails the test by
/// itself).
fn check<N, B>(model: N, backend: B, case: &Case, tally: &Tally) -> Result<(), TestCaseError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    tally.cases.fetch_add(1, Ordering::Relaxed);
    // Bounded work per case: runaway nets must stop with a limit error.
    let opts = SolverOptions::default()
        .with_max_spikes(200)
        .with_max_steps(20_000);
    let net = match FeedForward::new(model, &case.sizes, backend, opts, case.t_end) {
        Ok(net) => net,
        Err(e) => {
            prop_assert!(!(case.t_end.is_finite() && case.t_end > 0.0), "{e}");
            return Ok(());
        }
    };
    let p = params(case);
    // Invalid channels are refused as they are pushed, with a typed error.
    let input = {
        let mut s = SpikeTrains::new();
        for c in &case.inputs {
            if let Err(e) = s.push_channel(c) {
                prop_assert!(
                    c.iter().any(|t| !(t.is_finite() && *t >= 0.0)) || !c.is_sorted(),
                    "{e}"
                );
                return Ok(());
            }
        }
        s
    };
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    if net.forward(&p, &input, &mut ws, &mut trace).is_ok() {
        for layer in &trace.layers {
            for j in 0..layer.outputs.n_channels() {
                let s = layer.outputs.channel(j);
                prop_assert!(
                    s.iter()
                        .all(|t| t.is_finite() && *t >= 0.0 && *t <= case.t_end),
                    "spike times {s:?}"
                );
                prop_assert!(s.windows(2).all(|w| w[0] <= w[1]), "unsorted {s:?}");
            }
        }
    }
    let loss = TtfsLoss {
        t_max: case.t_end.clamp(1e-3, 1e3),
        ..TtfsLoss::default()
    };
    if let Ok(r) = BatchRunner::new(net.clone()).loss_and_grad(
        &p,
        std::slice::from_ref(&input),
        &[case.label],
        &loss,
    ) {
        prop_assert!(r.loss_sum.is_finite(), "loss {}", r.loss_sum);
        prop_assert!(case.label < *case.sizes.last().unwrap());
        let g = r.grad.expect("asked for").to_flat();
        prop_assert!(g.iter().all(|g| g.is_finite()), "gradient {g:?}");
        prop_assert!(r.first_spikes[0]
            .iter()
            .all(|t| *t == f64::INFINITY || t.is_finite()));
        // The prediction pass ends sooner; where the loss pass succeeds it
        // succeeds too, with the loss pass's prediction.
        let predicted = BatchRunner::new(net.clone())
            .predict(&p, std::slice::from_ref(&input))
            .map_err(|e| TestCaseError::fail(format!("prediction pass: {e}")))?;
        prop_assert_eq!(predicted[0], evnn_net::predict(&r.first_spikes[0]));
        tally.ok.fetch_add(1, Ordering::Relaxed);
        if r.first_spikes[0].iter().any(|t| t.is_finite()) {
            tally.spiking.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

fn run(
    cases: u32,
    name: &str,
    strategy: impl Strategy<Value = Case>,
    f: impl Fn(&Case, &Tally) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    });
    let tally = Tally::default();
    if let Err(e) = runner.run(&strategy, |c| f(&c, &tally)) {
        panic!("{name}: {e}");
    }
    let (n, ok, spiking) = (
        tally.cases.into_inner(),
        tally.ok.into_inner(),
        tally.spiking.into_inner(),
    );
    eprintln!("{name}: {n} cases, {ok} Ok with gradient, {spiking} with output spikes");
    assert!(n >= cases as usize);
    assert!(
        ok * 2 >= n,
        "{name}: only {ok} of {n} cases reached a result"
    );
    assert!(
        spiking * 5 >= n,
        "{name}: only {spiking} of {n} cases spiked"
    );
}

fn qif(cases: u32) {
    run(cases, "qif", case(-50.0..80.0, -2.0..2.0), |c, t| {
        check(Qif::default(), Dopri5Backend::default(), c, t)
    });
}

fn qif_diffsol(cases: u32) {
    run(
        cases,
        "qif-diffsol",
        case(-50.0..80.0, -2.0..2.0),
        |c, t| check(Qif::default(), DiffsolBackend::default(), c, t),
    );
}

fn qif_series(cases: u32) {
    run(cases, "qif-series", case(-50.0..80.0, -2.0..2.0), |c, t| {
        check(Qif::default(), QifSeries, c, t)
    });
}

fn lif(cases: u32) {
    run(cases, "lif", case(-8.0..12.0, -2.0..3.0), |c, t| {
        check(Lif::default(), ClosedForm, c, t)
    });
}

#[test]
fn qif_networks_never_panic_or_return_nan() {
    qif(300);
}

#[test]
fn qif_diffsol_networks_never_panic_or_return_nan() {
    qif_diffsol(100);
}

#[test]
fn qif_series_networks_never_panic_or_return_nan() {
    qif_series(300);
}

#[test]
fn lif_networks_never_panic_or_return_nan() {
    lif(300);
}

#[test]
#[ignore = "long run: cargo test --release -p evnn-net --test fuzz -- --ignored"]
fn long_fuzz_qif() {
    qif(100_000);
}

#[test]
#[ignore = "long run: cargo test --release -p evnn-net --test fuzz -- --ignored"]
fn long_fuzz_lif() {
    lif(100_000);
}

#[test]
#[ignore = "long run: cargo test --release -p evnn-net --test fuzz -- --ignored"]
fn long_fuzz_qif_diffsol() {
    qif_diffsol(20_000);
}

#[test]
#[ignore = "long run: cargo test --release -p evnn-net --test fuzz -- --ignored"]
fn long_fuzz_qif_series() {
    qif_series(100_000);
}
