//! `NeuronRun` driven by its caller with inputs that become known while it
//! runs: the same trace, bit for bit, as a run with every input known from
//! the start, on every backend that hands out steppers; and its errors.

use evnn_neurons::{AtMostOneSpike, Lif, NeuronModel, Qif, Refractory};
use evnn_solver::{
    Backend, ClosedForm, DiffsolBackend, Dopri5Backend, EventKind, InputSpike, NeuronRun,
    NeuronTrace, Next, QifSeries, RunPlan, SolverError, SolverOptions, Stepper,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Sorted random inputs on `[0, 32)` (some after `t_end = 30`), some at
/// equal times.
fn random_inputs(rng: &mut ChaCha8Rng, n: usize, w: (f64, f64)) -> Vec<InputSpike> {
    let mut times: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..32.0)).collect();
    times.sort_by(f64::total_cmp);
    if n > 3 {
        times[2] = times[1];
    }
    times
        .into_iter()
        .map(|t| InputSpike::new(t, rng.random_range(w.0..w.1)))
        .collect()
}

/// Drives a run whose caller learns the inputs bit by bit: at every wait it
/// either learns more inputs or only that none comes before a later time.
/// Returns the trace and the number of waits.
fn run_revealed<N: NeuronModel, B: Backend<N>>(
    backend: &B,
    model: &N,
    params: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
    opts: &SolverOptions,
    rng: &mut ChaCha8Rng,
) -> (NeuronTrace<N::State>, usize) {
    let plan = RunPlan::new(t_end, opts).unwrap();
    let mut trace = NeuronTrace::new(model.initial_state());
    let mut stepper = backend.stepper(model, params, &plan).expect("a stepper");
    let mut run = plan.start(model, params, &mut trace).unwrap();
    // Inputs `..known` are in the list; every input before `horizon` is.
    let (mut known, mut horizon) = (0, 0.0);
    let mut waits = 0;
    loop {
        match run
            .advance(model, &mut stepper, &mut trace, &inputs[..known], horizon)
            .unwrap()
        {
            Next::Step(t_stop) => {
                stepper.step(t_stop).unwrap();
                run.after_step(model, &mut stepper, &mut trace).unwrap();
            }
            Next::Wait => {
                waits += 1;
                assert!(horizon < t_end, "waits although every input is known");
                // The horizon may only reach the first input not in the list.
                let first_unknown = |k: usize| inputs.get(k).map_or(f64::INFINITY, |s| s.time);
                if known < inputs.len() && rng.random_bool(0.6) {
                    known += rng.random_range(1..=3usize).min(inputs.len() - known);
                }
                // Once all are known, the caller may still learn it late.
                let limit = first_unknown(known).min(t_end + 2.0);
                horizon = if rng.random_bool(0.5) {
                    first_unknown(known)
                } else {
                    horizon + rng.random_range(0.0..1.0) * (limit - horizon)
                };
            }
            Next::Done => return (trace, waits),
        }
    }
}

fn option_sets() -> [SolverOptions; 3] {
    let base = SolverOptions::default();
    [
        base,
        SolverOptions {
            stop_after_spikes: Some(1),
            ..base
        },
        SolverOptions {
            stop_when_silent: true,
            ..base
        },
    ]
}

/// Runs with inputs revealed bit by bit against full runs, bit for bit.
/// Returns the blocked inputs and the ends of refractory periods of the
/// runs ([`EventKind::Blocked`], [`EventKind::RefractoryEnd`]).
fn check_revealed<N: NeuronModel, B: Backend<N>>(
    name: &str,
    mut backend: B,
    model: &N,
    params: impl Fn(&mut ChaCha8Rng) -> N::Params,
    weights: (f64, f64),
) -> (usize, usize) {
    let mut periods = (0, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut waits, mut spikes) = (0, 0);
    for case in 0..40 {
        let p = params(&mut rng);
        let n = rng.random_range(0..15);
        let inputs = random_inputs(&mut rng, n, weights);
        for opts in option_sets() {
            let mut full = NeuronTrace::new(model.initial_state());
            let plan = RunPlan::new(30.0, &opts).unwrap();
            let simulated = backend.simulate(model, &p, &inputs, &plan, &mut full);
            let Ok(()) = simulated else {
                continue;
            };
            let (revealed, w) = run_revealed(&backend, model, &p, &inputs, 30.0, &opts, &mut rng);
            assert_eq!(revealed, full, "{name}, case {case}, {opts:?}");
            waits += w;
            spikes += full.spikes.len();
            for e in &full.events {
                match e.kind {
                    EventKind::Blocked { .. } => periods.0 += 1,
                    EventKind::RefractoryEnd { .. } => periods.1 += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(waits > 100, "{name}: only {waits} waits");
    assert!(spikes > 20, "{name}: only {spikes} spikes");
    periods
}

#[test]
fn lif_closed_form_with_inputs_revealed_bit_by_bit() {
    check_revealed(
        "LIF closed form",
        ClosedForm,
        &Lif::default(),
        |rng| [rng.random_range(-0.5..0.8)],
        (-1.0, 2.5),
    );
}

#[test]
fn qif_series_with_inputs_revealed_bit_by_bit() {
    check_revealed(
        "QIF series",
        QifSeries,
        &Qif::default(),
        |rng| [rng.random_range(-0.5..0.5)],
        (-5.0, 12.0),
    );
}

#[test]
fn dopri5_with_inputs_revealed_bit_by_bit() {
    check_revealed(
        "QIF Dopri5",
        Dopri5Backend::default(),
        &Qif::default(),
        |rng| [rng.random_range(-0.5..0.5)],
        (-5.0, 12.0),
    );
}

/// diffsol's steppers: a new one (`run_revealed`) against the one that
/// `simulate` keeps and resets from run to run, bit for bit.
#[test]
fn diffsol_with_inputs_revealed_bit_by_bit() {
    check_revealed(
        "QIF diffsol",
        DiffsolBackend::default(),
        &Qif::default(),
        |rng| [rng.random_range(-0.5..0.5)],
        (-5.0, 12.0),
    );
}

/// Refractory periods and the spike limit with inputs revealed bit by
/// bit: the runs wait inside a period for the inputs before its end, and
/// give the full runs' traces bit for bit; the runs blocked inputs and
/// ended periods.
#[test]
fn wrapped_models_with_inputs_revealed_bit_by_bit() {
    let lif = Refractory::new(Lif::default(), 2.0).unwrap();
    let lif_params = |rng: &mut ChaCha8Rng| [rng.random_range(0.5..1.5)];
    let qif = Refractory::new(Qif::default(), 3.0).unwrap();
    let qif_params = |rng: &mut ChaCha8Rng| [rng.random_range(-0.5..0.5)];
    let runs = [
        check_revealed("LIF closed form", ClosedForm, &lif, lif_params, (-1.0, 2.5)),
        check_revealed("QIF series", QifSeries, &qif, qif_params, (-5.0, 12.0)),
        check_revealed(
            "QIF dopri5",
            Dopri5Backend::default(),
            &qif,
            qif_params,
            (-5.0, 12.0),
        ),
        check_revealed(
            "QIF diffsol",
            DiffsolBackend::default(),
            &qif,
            qif_params,
            (-5.0, 12.0),
        ),
    ];
    for (name, (blocked, ends)) in ["LIF", "QIF series", "QIF dopri5", "QIF diffsol"]
        .iter()
        .zip(runs)
    {
        assert!(
            blocked >= 10 && ends >= 10,
            "{name}: {blocked} blocked, {ends} ends"
        );
    }
    let amos = AtMostOneSpike::new(lif);
    check_revealed("AMOS LIF", ClosedForm, &amos, lif_params, (-1.0, 2.5));
}

/// A run with the LIF closed form, for the error cases.
fn lif_run() -> (
    Lif,
    NeuronRun<Lif>,
    evnn_solver::closed_form::LifStepper,
    NeuronTrace<[f64; 2]>,
) {
    let lif = Lif::default();
    let plan = RunPlan::new(30.0, &SolverOptions::default()).unwrap();
    let mut trace = NeuronTrace::new(lif.initial_state());
    let stepper = ClosedForm.stepper(&lif, &[0.0], &plan).unwrap();
    let run = plan.start(&lif, &[0.0], &mut trace).unwrap();
    (lif, run, stepper, trace)
}

#[test]
fn inputs_that_contradict_the_horizon_are_errors() {
    let a = InputSpike::new(1.0, 0.5);
    let b = InputSpike::new(3.0, 0.5);

    // An input before the horizon promised earlier.
    let (lif, mut run, mut s, mut tr) = lif_run();
    assert_eq!(run.advance(&lif, &mut s, &mut tr, &[], 5.0), Ok(Next::Wait));
    let err = run.advance(&lif, &mut s, &mut tr, &[b], 5.0).unwrap_err();
    assert_eq!(
        err,
        SolverError::InputBeforeHorizon {
            index: 0,
            time: 3.0,
            known_until: 5.0
        }
    );

    // A list that shrinks.
    let (lif, mut run, mut s, mut tr) = lif_run();
    run.advance(&lif, &mut s, &mut tr, &[a, b], 3.0).unwrap();
    let err = run.advance(&lif, &mut s, &mut tr, &[a], 3.0).unwrap_err();
    assert!(
        matches!(
            err,
            SolverError::ShapeMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );

    // A horizon that goes back, or is NaN.
    for bad in [2.0, f64::NAN] {
        let (lif, mut run, mut s, mut tr) = lif_run();
        run.advance(&lif, &mut s, &mut tr, &[a], 3.0).unwrap();
        let err = run.advance(&lif, &mut s, &mut tr, &[a], bad).unwrap_err();
        assert!(
            matches!(
                err,
                SolverError::InvalidOption {
                    name: "known_until",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    // An invalid or unsorted input that becomes known late.
    let (lif, mut run, mut s, mut tr) = lif_run();
    run.advance(&lif, &mut s, &mut tr, &[a], 2.0).unwrap();
    let bad = InputSpike::new(f64::NAN, 1.0);
    let err = run
        .advance(&lif, &mut s, &mut tr, &[a, bad], 2.0)
        .unwrap_err();
    assert!(
        matches!(err, SolverError::InvalidInputTime { index: 1, .. }),
        "{err:?}"
    );
    let (lif, mut run, mut s, mut tr) = lif_run();
    run.advance(&lif, &mut s, &mut tr, &[b], 2.0).unwrap();
    let err = run
        .advance(&lif, &mut s, &mut tr, &[b, a], 2.0)
        .unwrap_err();
    assert!(
        matches!(err, SolverError::UnsortedInputs { index: 1, .. }),
        "{err:?}"
    );
}

/// The same with diffsol's BDF method.
#[test]
fn diffsol_bdf_with_inputs_revealed_bit_by_bit() {
    check_revealed(
        "QIF diffsol BDF",
        DiffsolBackend::bdf(),
        &Qif::default(),
        |rng| [rng.random_range(-0.5..0.5)],
        (-5.0, 12.0),
    );
}
