//! Bad input gives a typed error naming the bad value, never a panic: one
//! test per kind of bad input, each run on every backend it applies to, and
//! a property test feeding arbitrary (NaN, infinite, negative, huge) values.

use evnn_neurons::{Lif, NeuronError, NeuronModel, Qif, Scalar};
use evnn_solver::{
    validate_inputs, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, EventKind, EventSolver,
    InputSpike, NeuronTrace, QifSeries, RunPlan, SolverError, SolverOptions,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

type Outcome = Result<NeuronTrace<[f64; 2]>, SolverError>;

fn run<N: NeuronModel<State = [f64; 2], Params = [f64; 1]>, B: Backend<N>>(
    model: N,
    backend: B,
    opts: SolverOptions,
    bias: f64,
    inputs: &[InputSpike],
    t_end: f64,
) -> Outcome {
    EventSolver::new(model, backend, opts)?.simulate(&[bias], inputs, t_end)
}

/// LIF on its three backends.
fn lif_backends(
    opts: SolverOptions,
    bias: f64,
    inputs: &[InputSpike],
    t_end: f64,
) -> Vec<(&'static str, Outcome)> {
    let lif = Lif::default();
    vec![
        (
            "LIF closed form",
            run(lif, ClosedForm, opts, bias, inputs, t_end),
        ),
        (
            "LIF diffsol",
            run(lif, DiffsolBackend::default(), opts, bias, inputs, t_end),
        ),
        (
            "LIF dopri5",
            run(lif, Dopri5Backend::default(), opts, bias, inputs, t_end),
        ),
    ]
}

/// QIF on its two backends.
fn qif_backends(
    opts: SolverOptions,
    bias: f64,
    inputs: &[InputSpike],
    t_end: f64,
) -> Vec<(&'static str, Outcome)> {
    let qif = Qif::default();
    vec![
        (
            "QIF diffsol",
            run(qif, DiffsolBackend::default(), opts, bias, inputs, t_end),
        ),
        (
            "QIF dopri5",
            run(qif, Dopri5Backend::default(), opts, bias, inputs, t_end),
        ),
        ("QIF series", run(qif, QifSeries, opts, bias, inputs, t_end)),
    ]
}

/// Every built-in model on every backend.
fn all_backends(
    opts: SolverOptions,
    bias: f64,
    inputs: &[InputSpike],
    t_end: f64,
) -> Vec<(&'static str, Outcome)> {
    let mut v = lif_backends(opts, bias, inputs, t_end);
    v.extend(qif_backends(opts, bias, inputs, t_end));
    v
}

/// Asserts that every outcome is an error accepted by `expected`.
fn assert_errors(outcomes: Vec<(&'static str, Outcome)>, expected: impl Fn(&SolverError) -> bool) {
    for (name, outcome) in outcomes {
        match outcome {
            Err(e) if expected(&e) => {}
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

fn valid() -> SolverOptions {
    SolverOptions::default()
}

// ---------------------------------------------------------------------------
// Input spikes and end time.

#[test]
fn nan_weight_is_named() {
    let inputs = [InputSpike::new(0.5, 1.0), InputSpike::new(1.0, f64::NAN)];
    assert_errors(
        all_backends(valid(), 0.0, &inputs, 10.0),
        |e| matches!(e, SolverError::InvalidWeight { index: 1, weight } if weight.is_nan()),
    );
}

#[test]
fn infinite_weight_is_named() {
    for w in [f64::INFINITY, f64::NEG_INFINITY] {
        let inputs = [InputSpike::new(1.0, w)];
        assert_errors(all_backends(valid(), 0.0, &inputs, 10.0), |e| {
            *e == SolverError::InvalidWeight {
                index: 0,
                weight: w,
            }
        });
    }
}

#[test]
fn nan_input_time_is_named() {
    let inputs = [InputSpike::new(0.5, 1.0), InputSpike::new(f64::NAN, 1.0)];
    assert_errors(
        all_backends(valid(), 0.0, &inputs, 10.0),
        |e| matches!(e, SolverError::InvalidInputTime { index: 1, time } if time.is_nan()),
    );
}

#[test]
fn negative_input_time_is_named() {
    for time in [-1.0, -1e-300] {
        let inputs = [InputSpike::new(time, 1.0), InputSpike::new(0.5, 1.0)];
        assert_errors(all_backends(valid(), 0.0, &inputs, 10.0), |e| {
            *e == SolverError::InvalidInputTime { index: 0, time }
        });
    }
}

#[test]
fn infinite_input_time_is_named() {
    for time in [f64::INFINITY, f64::NEG_INFINITY] {
        let inputs = [InputSpike::new(0.5, 1.0), InputSpike::new(time, 1.0)];
        assert_errors(all_backends(valid(), 0.0, &inputs, 10.0), |e| {
            *e == SolverError::InvalidInputTime { index: 1, time }
        });
    }
}

/// `−0.0 ≥ 0`: a spike at negative zero is a spike at the start.
#[test]
fn negative_zero_input_time_is_valid() {
    let inputs = [InputSpike::new(-0.0, 1.0)];
    let plain = [InputSpike::new(0.0, 1.0)];
    for ((name, got), (_, expected)) in all_backends(valid(), 0.0, &inputs, 10.0)
        .into_iter()
        .zip(all_backends(valid(), 0.0, &plain, 10.0))
    {
        assert_eq!(got.unwrap().x_end, expected.unwrap().x_end, "{name}");
    }
}

#[test]
fn unsorted_input_times_name_index_and_both_times() {
    let inputs = [
        InputSpike::new(1.0, 1.0),
        InputSpike::new(3.0, 1.0),
        InputSpike::new(2.0, 1.0),
    ];
    assert_errors(all_backends(valid(), 0.0, &inputs, 10.0), |e| {
        *e == SolverError::UnsortedInputs {
            index: 2,
            time: 2.0,
            previous: 3.0,
        }
    });
}

/// Equal times are sorted: both spikes arrive, one after the other, and the
/// neuron ends where one spike of the summed weight takes it.
#[test]
fn equal_input_times_are_valid() {
    let inputs = [InputSpike::new(2.0, 1.5), InputSpike::new(2.0, 2.25)];
    let summed = [InputSpike::new(2.0, 3.75)];
    for ((name, got), (_, expected)) in all_backends(valid(), 0.0, &inputs, 10.0)
        .into_iter()
        .zip(all_backends(valid(), 0.0, &summed, 10.0))
    {
        let (got, expected) = (got.unwrap(), expected.unwrap());
        let kinds: Vec<EventKind> = got.events.iter().map(|e| e.kind).collect();
        assert!(
            kinds.starts_with(&[EventKind::Input { index: 0 }, EventKind::Input { index: 1 }]),
            "{name}: {kinds:?}"
        );
        assert_eq!(got.events[0].t, got.events[1].t, "{name}");
        assert_eq!(got.spikes, expected.spikes, "{name}");
        assert_eq!(got.x_end, expected.x_end, "{name}");
    }
}

#[test]
fn zero_end_time_is_named() {
    for t_end in [0.0, -0.0] {
        assert_errors(
            all_backends(valid(), 0.0, &[], t_end),
            |e| matches!(e, SolverError::InvalidEndTime { t_end: t } if *t == 0.0),
        );
    }
}

#[test]
fn negative_end_time_is_named() {
    assert_errors(all_backends(valid(), 0.0, &[], -1.0), |e| {
        *e == SolverError::InvalidEndTime { t_end: -1.0 }
    });
}

#[test]
fn nan_end_time_is_named() {
    assert_errors(
        all_backends(valid(), 0.0, &[], f64::NAN),
        |e| matches!(e, SolverError::InvalidEndTime { t_end } if t_end.is_nan()),
    );
}

#[test]
fn infinite_end_time_is_named() {
    for t_end in [f64::INFINITY, f64::NEG_INFINITY] {
        assert_errors(all_backends(valid(), 0.0, &[], t_end), |e| {
            *e == SolverError::InvalidEndTime { t_end }
        });
    }
}

/// The end time is checked before the inputs, and the inputs before the
/// parameters: with several bad values the error names the first of them.
#[test]
fn first_bad_value_is_named() {
    let inputs = [InputSpike::new(f64::NAN, f64::NAN)];
    assert_errors(all_backends(valid(), f64::NAN, &inputs, -1.0), |e| {
        *e == SolverError::InvalidEndTime { t_end: -1.0 }
    });
    assert_errors(
        all_backends(valid(), f64::NAN, &inputs, 1.0),
        |e| matches!(e, SolverError::InvalidInputTime { index: 0, time } if time.is_nan()),
    );
}

#[test]
fn no_inputs_is_valid_and_silent() {
    for (name, outcome) in lif_backends(valid(), 0.0, &[], 10.0) {
        let t = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(t.spikes.is_empty() && t.events.is_empty(), "{name}: {t:?}");
        // With no drive the LIF state stays exactly at rest.
        assert_eq!(t.x_end, [0.0, 0.0], "{name}");
        assert_eq!(t.t_end, 10.0, "{name}");
        assert!(t.steps >= 1, "{name}");
    }
    let empty: [InputSpike; 0] = [];
    for (name, outcome) in qif_backends(valid(), 0.0, &empty, 10.0) {
        let t = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(t.spikes.is_empty() && t.events.is_empty(), "{name}: {t:?}");
    }
}

/// Inputs at `t ≥ t_end` are not applied: no event, and the run is the run
/// without them, to the bit.
#[test]
fn inputs_at_or_after_end_time_are_ignored() {
    let inputs = [
        InputSpike::new(2.0, 0.5),
        InputSpike::new(10.0, 9.0),
        InputSpike::new(20.0, 9.0),
    ];
    for ((name, got), (_, expected)) in all_backends(valid(), 0.0, &inputs, 10.0)
        .into_iter()
        .zip(all_backends(valid(), 0.0, &inputs[..1], 10.0))
    {
        let (got, expected) = (got.unwrap(), expected.unwrap());
        let kinds: Vec<EventKind> = got.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Input { index: 0 }], "{name}");
        assert_eq!(got, expected, "{name}");
    }
}

// ---------------------------------------------------------------------------
// Options.

/// Each bad option is named with its value, both by the solver's constructor
/// and by the plan that every backend takes.
fn assert_bad_option(opts: SolverOptions, name: &str, is_value: impl Fn(f64) -> bool) {
    let check = |what: &str, e: SolverError| match e {
        SolverError::InvalidOption {
            name: n, value: v, ..
        } if n == name && is_value(v) => {}
        other => panic!("{what}, option {name}: unexpected {other:?}"),
    };
    check(
        "LIF closed form",
        EventSolver::new(Lif::default(), ClosedForm, opts).unwrap_err(),
    );
    check(
        "QIF diffsol",
        EventSolver::diffsol(Qif::default(), opts).unwrap_err(),
    );
    check(
        "QIF dopri5",
        EventSolver::new(Qif::default(), Dopri5Backend::default(), opts).unwrap_err(),
    );
    // The backends take a checked `RunPlan`: its constructor is where a
    // bad option stops.
    check("RunPlan::new", RunPlan::new(10.0, &opts).unwrap_err());
}

#[test]
fn nan_rtol_is_named() {
    assert_bad_option(valid().with_tolerances(f64::NAN, 1e-6), "rtol", f64::is_nan);
}

#[test]
fn non_positive_rtol_is_named() {
    for rtol in [0.0, -1e-6] {
        assert_bad_option(valid().with_tolerances(rtol, 1e-6), "rtol", |v| v == rtol);
    }
}

#[test]
fn out_of_range_rtol_is_named() {
    // rtol must lie in [1e-15, 1): below that the error test is round-off.
    for rtol in [1e-16, 1.0, f64::INFINITY] {
        assert_bad_option(valid().with_tolerances(rtol, 1e-6), "rtol", |v| v == rtol);
    }
}

#[test]
fn zero_atol_is_named() {
    assert_bad_option(valid().with_tolerances(1e-6, 0.0), "atol", |v| v == 0.0);
}

#[test]
fn non_finite_atol_is_named() {
    assert_bad_option(valid().with_tolerances(1e-6, f64::NAN), "atol", f64::is_nan);
    assert_bad_option(valid().with_tolerances(1e-6, f64::INFINITY), "atol", |v| {
        v == f64::INFINITY
    });
}

#[test]
fn zero_max_spikes_is_named() {
    assert_bad_option(valid().with_max_spikes(0), "max_spikes", |v| v == 0.0);
}

#[test]
fn zero_stop_after_spikes_is_named() {
    assert_bad_option(
        valid().with_stop_after_spikes(0),
        "stop_after_spikes",
        |v| v == 0.0,
    );
}

#[test]
fn zero_max_steps_is_named() {
    assert_bad_option(valid().with_max_steps(0), "max_steps", |v| v == 0.0);
}

#[test]
fn negative_h0_is_named() {
    assert_bad_option(valid().with_h0(-1.0), "h0", |v| v == -1.0);
}

#[test]
fn non_finite_h0_is_named() {
    assert_bad_option(valid().with_h0(f64::NAN), "h0", f64::is_nan);
    assert_bad_option(valid().with_h0(f64::INFINITY), "h0", |v| v == f64::INFINITY);
}

/// The boundary values are valid.
#[test]
fn boundary_options_are_valid() {
    let opts = valid()
        .with_tolerances(1e-15, 1e-300)
        .with_max_spikes(1)
        .with_max_steps(1)
        .with_h0(0.0)
        .with_stop_after_spikes(1);
    assert_eq!(opts.validate(), Ok(()));
}

/// Extreme but valid tolerances: pure relative error control (`atol =
/// 1e-300`) on a LIF whose `v` starts at exactly 0 with `v' > 0`. The
/// closed form needs no tolerance; dopri5 must still run. (diffsol cannot:
/// its error test scales by the state at the step start, 0, so every step
/// fails and it stops with `StepSizeUnderflow` at t = 0, a typed error that
/// is accepted here.)
fn tiny_atol_run(h0: f64) -> (Outcome, Outcome, Outcome) {
    let opts = valid()
        .with_tolerances(1e-6, 1e-300)
        .with_h0(h0)
        .with_max_steps(100_000);
    let inputs = [
        InputSpike::new(0.0, 3.0),
        InputSpike::new(1.0, 10.0),
        InputSpike::new(5.0, -4.0),
    ];
    let lif = Lif::default();
    (
        run(lif, ClosedForm, opts, 0.5, &inputs, 30.0),
        run(lif, Dopri5Backend::default(), opts, 0.5, &inputs, 30.0),
        run(lif, DiffsolBackend::default(), opts, 0.5, &inputs, 30.0),
    )
}

fn assert_tiny_atol_run(h0: f64) {
    let (exact, dopri5, diffsol) = tiny_atol_run(h0);
    let exact = exact.unwrap();
    assert_eq!(exact.spikes.len(), 2, "{exact:?}");
    match dopri5 {
        Ok(t) => {
            assert_eq!(t.spikes.len(), 2, "{t:?}");
            for (a, b) in t.spikes.iter().zip(&exact.spikes) {
                assert!((a - b).abs() < 1e-4, "dopri5 spike {a}, exact {b}");
            }
        }
        Err(e) => panic!("dopri5, h0 {h0}: {e:?}"),
    }
    assert!(
        matches!(diffsol, Err(SolverError::StepSizeUnderflow { .. })),
        "diffsol: {diffsol:?}"
    );
}

/// With a given first step the pure relative tolerance works.
#[test]
fn tiny_atol_with_given_first_step() {
    assert_tiny_atol_run(1e-10);
}

/// Regression (fixed): without a given first step, dopri5 made no progress: in
/// `Dopri5Stepper::initial_step` (src/dopri5_backend.rs) the scaled
/// derivative `(f/sc)²` overflows (`f = 0.15`, `sc = atol = 1e-300` for the
/// `v` component at 0), so `d1 = inf` and `h = 0.01 · d0 / d1 = 0`. A step
/// of length 0 has zero error, is accepted with `h ← 5 · 0 = 0`, and
/// `Stepper::step` returns without advancing `t` (there is no `h > 0` or
/// `t > t_prev` guard on the accepted branch, unlike the diffsol stepper and
/// the adjoint's `Dopri5`): the event loop spins until
/// `StepLimit { t: 0.0 }` (after a million steps with the default limit).
/// Fixed by a finite, positive fallback first step, infinite error norms
/// counting as rejections, and a `h > 0` guard on accepted steps.
#[test]
fn tiny_atol_with_automatic_first_step() {
    assert_tiny_atol_run(0.0);
}

// ---------------------------------------------------------------------------
// Parameters and model constants.

#[test]
fn nan_bias_is_named() {
    assert_errors(all_backends(valid(), f64::NAN, &[], 10.0), |e| {
        matches!(
            e,
            SolverError::Model(NeuronError::InvalidParameter { name: "bias", value, .. })
                if value.is_nan()
        )
    });
}

#[test]
fn infinite_bias_is_named() {
    for b in [f64::INFINITY, f64::NEG_INFINITY] {
        for (name, outcome) in all_backends(valid(), b, &[], 10.0) {
            let model = if name.starts_with("LIF") {
                "LIF"
            } else {
                "QIF"
            };
            assert_eq!(
                outcome.unwrap_err(),
                SolverError::Model(NeuronError::InvalidParameter {
                    model,
                    name: "bias",
                    value: b
                }),
                "{name}"
            );
        }
    }
}

fn assert_bad_constant<T: std::fmt::Debug>(
    got: Result<T, NeuronError>,
    model: &str,
    name: &str,
    value: f64,
) {
    match got {
        Err(NeuronError::InvalidConstant {
            model: m,
            name: n,
            value: v,
            ..
        }) if m == model && n == name && (v == value || (v.is_nan() && value.is_nan())) => {}
        other => panic!("{model} {name} = {value}: unexpected {other:?}"),
    }
}

#[test]
fn lif_time_constants_must_be_positive() {
    for tau in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_bad_constant(Lif::new(tau, 5.0, 1.0, 0.0), "LIF", "tau_mem", tau);
        assert_bad_constant(Lif::new(20.0, tau, 1.0, 0.0), "LIF", "tau_syn", tau);
    }
}

#[test]
fn qif_time_constants_must_be_positive() {
    for tau in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_bad_constant(Qif::new(tau, 5.0), "QIF", "tau_mem", tau);
        assert_bad_constant(Qif::new(20.0, tau), "QIF", "tau_syn", tau);
    }
}

#[test]
fn lif_threshold_and_reset_are_checked() {
    assert_bad_constant(Lif::new(20.0, 5.0, f64::NAN, 0.0), "LIF", "theta", f64::NAN);
    assert_bad_constant(Lif::new(20.0, 5.0, 1.0, 1.0), "LIF", "v_reset", 1.0);
    assert_bad_constant(
        Lif::new(20.0, 5.0, 1.0, f64::NAN),
        "LIF",
        "v_reset",
        f64::NAN,
    );
}

// ---------------------------------------------------------------------------
// Limits.

/// A huge bias `b = 1e4` makes both models fire fast: the sixth spike
/// exceeds a limit of 5 and is named with its time. The LIF (τ 20) fires
/// every `τ ln(b / (b − 1)) ≈ 2e-3`; the QIF (τ 20) first at
/// `(τ/a)(π/2 + atan(1/(2a)))` and then every `π τ / a`, `a = √(b − ¼)`
/// (see qif_reference.rs, which also derives the error bound
/// `50 · tol · (k + 1) · T · (a + 1/a)` used here).
#[test]
fn spike_limit_is_reported() {
    let opts = valid().with_max_spikes(5);
    let (b, tau, tol): (f64, f64, f64) = (1e4, 20.0, opts.rtol);
    let lif_period = -tau * (-1.0 / b).ln_1p();
    let a = (b - 0.25f64).sqrt();
    let qif_period = std::f64::consts::PI * tau / a;
    let qif_sixth = tau / a * (std::f64::consts::FRAC_PI_2 + (0.5 / a).atan()) + 5.0 * qif_period;
    let mut seen = 0;
    for (name, outcome) in all_backends(opts, b, &[], 30.0) {
        match outcome {
            Err(SolverError::SpikeLimit { limit: 5, t }) => {
                let (expected, bound) = if name.starts_with("LIF") {
                    (6.0 * lif_period, 1e-6 * lif_period)
                } else {
                    (qif_sixth, 50.0 * tol * 6.0 * qif_period * (a + 1.0 / a))
                };
                assert!(
                    (t - expected).abs() <= bound,
                    "{name}: t {t}, expected {expected}"
                );
                seen += 1;
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
    assert_eq!(seen, 6);
}

/// Exactly `max_spikes` spikes are allowed; one more is an error at the
/// time of the extra spike. QIF with constant drive c = 0.5 (τ 20) fires at
/// `t₁ + k T`, `a = ½`, `t₁ = 40 (π/2 + π/4)`, `T = 40 π` (see
/// qif_reference.rs); up to `t_end = t₁ + 3.5 T` that is 4 spikes. At
/// tolerance 1e-10 the spike times are exact to about 1e-7.
#[test]
fn spike_limit_boundary() {
    let (t1, period) = (
        40.0 * (0.75 * std::f64::consts::PI),
        40.0 * std::f64::consts::PI,
    );
    let t_end = t1 + 3.5 * period;
    let opts = valid().with_tolerances(1e-10, 1e-10);
    for (name, outcome) in qif_backends(opts.with_max_spikes(4), 0.5, &[], t_end) {
        assert_eq!(outcome.unwrap().spikes.len(), 4, "{name}");
    }
    for (name, outcome) in qif_backends(opts.with_max_spikes(3), 0.5, &[], t_end) {
        match outcome {
            Err(SolverError::SpikeLimit { limit: 3, t }) => {
                let expected = t1 + 3.0 * period;
                assert!(
                    (t - expected).abs() <= 1e-6,
                    "{name}: t {t}, expected {expected}"
                );
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

#[test]
fn step_limit_is_reported() {
    let inputs = [InputSpike::new(0.0, 5.0)];
    assert_errors(
        all_backends(valid().with_max_steps(3), 0.0, &inputs, 30.0)
            .into_iter()
            .filter(|(name, _)| !name.contains("closed form"))
            .collect(),
        |e| matches!(e, SolverError::StepLimit { limit: 3, t } if *t > 0.0 && *t < 30.0),
    );
}

/// The closed form takes one step per segment between events: three inputs
/// (no spike) make four segments, so 4 steps are allowed and 3 are not; the
/// fourth step ends at `t_end`.
#[test]
fn step_limit_boundary_of_closed_form() {
    let inputs = [
        InputSpike::new(1.0, 0.1),
        InputSpike::new(2.0, 0.1),
        InputSpike::new(3.0, 0.1),
    ];
    let lif = Lif::default();
    let ok = run(
        lif,
        ClosedForm,
        valid().with_max_steps(4),
        0.0,
        &inputs,
        10.0,
    )
    .unwrap();
    assert!(ok.spikes.is_empty());
    assert_eq!(ok.steps, 4);
    let err = run(
        lif,
        ClosedForm,
        valid().with_max_steps(3),
        0.0,
        &inputs,
        10.0,
    )
    .unwrap_err();
    assert_eq!(err, SolverError::StepLimit { limit: 3, t: 10.0 });
}

// ---------------------------------------------------------------------------
// Non-finite states.

/// Two inputs of weight `f64::MAX` overflow the synaptic current at the
/// second jump.
#[test]
fn overflowing_weights_give_non_finite_state() {
    let inputs = [
        InputSpike::new(1.0, f64::MAX),
        InputSpike::new(1.0, f64::MAX),
    ];
    assert_errors(all_backends(valid(), 0.0, &inputs, 10.0), |e| {
        matches!(e, SolverError::NonFiniteState { t, state }
            if *t == 1.0 && state.len() == 2 && state[0].is_finite() && state[1] == f64::INFINITY)
    });
}

/// A weight and bias near `f64::MAX` whose closed-form state overflows
/// inside a step although the true state stays finite and below threshold:
/// after the input `i + b = MAX (e^{−(t−1)/τ_s} − 1) ≤ 0` and `v(1) < 0`, so
/// `v` can never rise above 0 (at `v = 0`, `τ v' = i + b ≤ 0`): no spike.
///
/// Regression (fixed): the closed form reported a spike at t ≈ 2.154 and `Ok`:
/// `Lif::evolve` computes `i₀ e^{−t/τ_m} K(t)` as `(i₀ e^{−t/τ_m}) · K(t)`,
/// which overflows to `inf` for `t − 1` between about 1.15 and 38 (where
/// `e^{−Δ/τ_m} K(Δ) > 1`) while the step's end
/// state (at t_end = 43) is finite again, so the step passes the engine's
/// end-of-step finiteness check; the local-maximum search then meets
/// `g = +inf` on the dense output, takes it for a crossing and refines to the
/// edge of the overflow. The logged spike has `x⁻ = (−9.4e306, 1.4e308)`, far
/// below threshold, and the input event a non-finite `f⁺ = (inf, ..)`
/// (`f(x⁺)` is not checked, only `x⁺`). Expected: `NonFiniteState` (or the
/// exact, spike-free result); the engine should check the interpolated
/// state and derivative (and `f⁺` at jumps) for finiteness.
#[test]
fn overflow_inside_a_closed_form_step_is_not_a_spike() {
    let inputs = [InputSpike::new(1.0, f64::MAX)];
    match run(
        Lif::default(),
        ClosedForm,
        valid(),
        -f64::MAX,
        &inputs,
        43.0,
    ) {
        Err(SolverError::NonFiniteState { .. }) => {}
        Ok(t) => {
            assert!(t.spikes.is_empty(), "spurious spikes {t:?}");
            let finite = |x: &[f64; 2]| x.iter().all(|v| v.is_finite());
            assert!(
                t.events.iter().all(|e| finite(&e.x_minus)
                    && finite(&e.x_plus)
                    && finite(&e.f_minus)
                    && finite(&e.f_plus)),
                "non-finite event log {:?}",
                t.events
            );
        }
        Err(e) => panic!("unexpected {e:?}"),
    }
}

/// A user model whose dynamics turn NaN (diffsol would accept it silently):
/// the solver stops with a typed error at the step that produced it.
#[test]
fn nan_from_user_dynamics_gives_non_finite_state() {
    let toy = Toy {
        nan_above: 0.5,
        ..Toy::default()
    };
    for (name, outcome) in toy_backends(&toy, 1.0, &[], 10.0) {
        match outcome {
            Err(SolverError::NonFiniteState { t, state })
                if t > 0.0 && t < 10.0 && state.len() == 1 => {}
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// User models that break the NeuronModel contract.

/// A delta-synapse LIF on a 1-d state, `v' = −v + b`, `g = v − 1`, input
/// jump `v ← v + w`, with switches that break the contract: a reset that
/// keeps or raises `v`, an initial state at or above threshold, dynamics
/// that return NaN above a level.
#[derive(Clone, Debug)]
struct Toy {
    v0: f64,
    /// `None`: the reset leaves `v` unchanged.
    reset_to: Option<f64>,
    nan_above: f64,
}

impl Default for Toy {
    fn default() -> Self {
        Toy {
            v0: 0.0,
            reset_to: Some(0.0),
            nan_above: f64::INFINITY,
        }
    }
}

impl NeuronModel for Toy {
    type State = [f64; 1];
    type Params = [f64; 1];
    const NAME: &'static str = "toy";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 1] {
        [self.v0]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = if x[0] > T::from(self.nan_above) {
            T::from(f64::NAN)
        } else {
            -x[0] + p[0]
        };
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - 1.0
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        if let Some(v) = self.reset_to {
            x[0] = T::from(v);
        }
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[0] += w;
    }
}

type ToyOutcome = Result<NeuronTrace<[f64; 1]>, SolverError>;

/// The toy on both backends that run any model.
fn toy_backends(
    toy: &Toy,
    bias: f64,
    inputs: &[InputSpike],
    t_end: f64,
) -> Vec<(&'static str, ToyOutcome)> {
    let diffsol = EventSolver::diffsol(toy.clone(), valid())
        .and_then(|mut s| s.simulate(&[bias], inputs, t_end));
    let dopri5 = EventSolver::new(toy.clone(), Dopri5Backend::default(), valid())
        .and_then(|mut s| s.simulate(&[bias], inputs, t_end));
    vec![("diffsol", diffsol), ("dopri5", dopri5)]
}

/// The toy itself is a valid model: it spikes at `ln 2` with `b = 2`.
#[test]
fn toy_model_is_valid_when_it_keeps_the_contract() {
    for (name, outcome) in toy_backends(&Toy::default(), 2.0, &[], 1.0) {
        let t = outcome.unwrap();
        assert_eq!(t.spikes.len(), 1, "{name}");
        assert!((t.spikes[0] - 2f64.ln()).abs() < 1e-5, "{name}: {t:?}");
    }
}

/// A reset that leaves the state on the event surface would spike again at
/// once: an error at the spike time, naming `g` and the state.
#[test]
fn reset_leaving_state_at_threshold_is_an_error() {
    let toy = Toy {
        reset_to: None,
        ..Toy::default()
    };
    for (name, outcome) in toy_backends(&toy, 2.0, &[], 10.0) {
        match outcome {
            Err(SolverError::ResetAboveThreshold { t, g, state })
                if (t - 2f64.ln()).abs() < 1e-5 && (0.0..1e-9).contains(&g) && state.len() == 1 => {
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

#[test]
fn reset_above_threshold_is_an_error() {
    let toy = Toy {
        reset_to: Some(2.5),
        ..Toy::default()
    };
    for (name, outcome) in toy_backends(&toy, 2.0, &[], 10.0) {
        match outcome {
            Err(SolverError::ResetAboveThreshold { t, g, state })
                if (t - 2f64.ln()).abs() < 1e-5 && g == 1.5 && state == vec![2.5] => {}
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

/// An input that jumps the state over (or exactly onto) the threshold is a
/// spike at the input's instant, logged right after the input, followed by
/// the reset; the run goes on from there. With no bias the toy stays at
/// exactly 0, so the jump of weight `w` lands exactly at `g = w − 1`.
#[test]
fn input_jump_over_threshold_is_a_spike() {
    for (w, g) in [(2.0, 1.0), (1.0, 0.0), (1.0 - 1e-15, -1e-15)] {
        let inputs = [InputSpike::new(0.5, 0.0), InputSpike::new(1.0, w)];
        for (name, outcome) in toy_backends(&Toy::default(), 0.0, &inputs, 10.0) {
            let t = outcome.unwrap_or_else(|e| panic!("{name}, w {w}: {e}"));
            let kinds: Vec<EventKind> = t.events.iter().map(|e| e.kind).collect();
            if g < 0.0 {
                // Just below: no spike, the state stays where it jumped.
                assert!(t.spikes.is_empty(), "{name}, w {w}: {:?}", t.spikes);
                assert_eq!(kinds.len(), 2, "{name}, w {w}");
                continue;
            }
            assert_eq!(t.spikes, vec![1.0], "{name}, w {w}");
            assert_eq!(
                kinds,
                [
                    EventKind::Input { index: 0 },
                    EventKind::Input { index: 1 },
                    EventKind::JumpSpike { k: 0, index: 1 }
                ],
                "{name}, w {w}"
            );
            let (jump, spike) = (&t.events[1], &t.events[2]);
            assert_eq!(spike.t, 1.0, "{name}");
            assert_eq!(spike.x_minus, jump.x_plus, "{name}");
            assert_eq!(spike.x_minus, [1.0 + g], "{name}, w {w}: after the jump");
            assert_eq!(spike.x_plus, [0.0], "{name}: the reset");
            assert_eq!(t.x_end, [0.0], "{name}: no drive after the reset");
        }
    }
}

/// A reset after a jump spike that leaves the state above the threshold
/// and does not lower the event function would spike forever at that
/// instant: an error at the input's time naming `g` and the state. A reset
/// that lowers it but not below zero gives another spike at the same
/// instant (here the reset to 2.5 from 3 does, and then from 2.5 it does
/// not: one spike, then the error).
#[test]
fn reset_after_a_jump_spike_that_stays_above_is_an_error() {
    let inputs = [InputSpike::new(1.0, 3.0)];
    for (reset_to, g) in [(None, 2.0), (Some(2.5), 1.5)] {
        let toy = Toy {
            reset_to,
            ..Toy::default()
        };
        for (name, outcome) in toy_backends(&toy, 0.0, &inputs, 10.0) {
            match outcome {
                Err(SolverError::ResetAboveThreshold { t, g: got, state })
                    if t == 1.0 && got == g && state == vec![g + 1.0] => {}
                other => panic!("{name}, reset {reset_to:?}: unexpected {other:?}"),
            }
        }
    }
}

#[test]
fn initial_state_at_or_above_threshold_is_an_error() {
    for v0 in [1.0, 2.0, f64::NAN] {
        let toy = Toy {
            v0,
            ..Toy::default()
        };
        for (name, outcome) in toy_backends(&toy, 0.0, &[], 10.0) {
            match outcome {
                Err(SolverError::InitialStateAboveThreshold { state, g })
                    if state.len() == 1
                        && (state[0] == v0 || v0.is_nan())
                        && (g == v0 - 1.0 || (g.is_nan() && v0.is_nan())) => {}
                other => panic!("{name}, v0 {v0}: unexpected {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Gradient inputs.

#[test]
fn gradient_checks_its_sensitivities() {
    let mut s = EventSolver::new(Lif::default(), ClosedForm, valid()).unwrap();
    let inputs = [InputSpike::new(0.0, 10.0)];
    let trace = s.simulate(&[0.5], &inputs, 30.0).unwrap();
    let n = trace.spikes.len();
    assert!(n >= 1, "{trace:?}");
    assert_eq!(
        s.gradient(&[0.5], &inputs, &trace, &vec![1.0; n + 1], None)
            .unwrap_err(),
        SolverError::ShapeMismatch {
            what: "dL/dt (one entry per output spike)",
            expected: n,
            got: n + 1
        }
    );
    let mut dl = vec![1.0; n];
    dl[n - 1] = f64::INFINITY;
    assert_eq!(
        s.gradient(&[0.5], &inputs, &trace, &dl, None).unwrap_err(),
        SolverError::NonFiniteSensitivity {
            what: "dL/dt",
            index: n - 1,
            value: f64::INFINITY
        }
    );
    let e = s
        .gradient(
            &[0.5],
            &inputs,
            &trace,
            &vec![1.0; n],
            Some(&[0.0, f64::NAN]),
        )
        .unwrap_err();
    assert!(
        matches!(e, SolverError::NonFiniteSensitivity { what: "dL/dx(T)", index: 1, value } if value.is_nan()),
        "{e:?}"
    );
    // A trace from a longer input list than the one given.
    assert!(matches!(
        s.gradient(&[0.5], &[], &trace, &vec![1.0; n], None),
        Err(SolverError::ShapeMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------
// Arbitrary values.

/// Ordinary values, the awkward ones (signed zeros, NaN, infinities,
/// extremes, subnormals) and any bit pattern.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -5.0..40.0f64,
        3 => prop::sample::select(vec![
            0.0, -0.0, 1.0, 30.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX,
            -f64::MAX, f64::MIN_POSITIVE, 5e-324, 1e-300, 1e300, -1e300, 1e10, -1e10,
        ]),
        1 => prop::num::f64::ANY,
    ]
}

/// Mostly ordinary, sometimes wild: enough runs get past validation to
/// exercise the integration with extreme values.
fn mostly(ordinary: std::ops::Range<f64>) -> impl Strategy<Value = f64> {
    prop_oneof![4 => ordinary, 1 => wild()]
}

/// Up to 8 inputs of wild weights at mostly ordinary times, sorted three
/// times in four.
fn wild_inputs() -> impl Strategy<Value = Vec<InputSpike>> {
    (
        prop::collection::vec((mostly(0.0..40.0), wild()), 0..8),
        prop::bool::weighted(0.75),
    )
        .prop_map(|(raw, sort)| {
            let mut v: Vec<InputSpike> = raw.iter().map(|&(t, w)| InputSpike::new(t, w)).collect();
            if sort {
                v.sort_by(|a, b| a.time.total_cmp(&b.time));
            }
            v
        })
}

/// Valid options, from ordinary to extreme, with limits that keep each run
/// short.
fn wild_options() -> impl Strategy<Value = SolverOptions> {
    let pick = |v: Vec<f64>| prop::sample::select(v);
    prop_oneof![
        3 => Just(valid()),
        1 => (
            pick(vec![1e-15, 1e-10, 1e-6, 1e-3, 0.5, 0.999_999]),
            pick(vec![1e-300, 1e-12, 1e-6, 1.0, 1e300]),
            pick(vec![0.0, 5e-324, 1e-10, 1.0, 1e300, f64::MAX]),
        )
            .prop_map(|(rtol, atol, h0)| valid().with_tolerances(rtol, atol).with_h0(h0)),
    ]
    .prop_map(|o| o.with_max_spikes(200).with_max_steps(5_000))
}

/// What every successful run must satisfy.
fn check_ok(
    name: &str,
    t: &NeuronTrace<[f64; 2]>,
    inputs: &[InputSpike],
    t_end: f64,
) -> Result<(), TestCaseError> {
    prop_assert!(
        t.x_end.iter().all(|v| v.is_finite()),
        "{}: x_end {:?}",
        name,
        t.x_end
    );
    prop_assert_eq!(t.t_end, t_end, "{}", name);
    prop_assert!(
        t.spikes
            .iter()
            .all(|&s| s.is_finite() && s > 0.0 && s <= t_end),
        "{}: spikes {:?} outside (0, {}]",
        name,
        t.spikes,
        t_end
    );
    prop_assert!(
        t.spikes.windows(2).all(|w| w[0] <= w[1]),
        "{}: unsorted {:?}",
        name,
        t.spikes
    );
    prop_assert!(
        t.events.windows(2).all(|w| w[0].t <= w[1].t),
        "{}: events out of order",
        name
    );
    let applied: Vec<usize> = t
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Input { index } | EventKind::Blocked { index } => Some(index),
            EventKind::Spike { .. }
            | EventKind::JumpSpike { .. }
            | EventKind::RefractoryEnd { .. } => None,
        })
        .collect();
    let expected: Vec<usize> = (0..inputs.len())
        .filter(|&k| inputs[k].time < t_end)
        .collect();
    prop_assert_eq!(applied, expected, "{}: applied inputs", name);
    let spikes: Vec<f64> = t
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Spike { .. } | EventKind::JumpSpike { .. }
            )
        })
        .map(|e| e.t)
        .collect();
    prop_assert_eq!(&spikes, &t.spikes, "{}: spike events", name);
    // The logged states and derivatives are not required finite here: with
    // values near f64::MAX they are not (see
    // `overflow_inside_a_closed_form_step_is_not_a_spike`).
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/bad_input.txt"))),
        ..ProptestConfig::default()
    })]

    /// Arbitrary inputs, bias, end time and (valid) options never make a
    /// backend panic. Bad values give exactly the validation error (the same
    /// on every backend); valid ones either run, with finite sorted spikes
    /// in `(0, t_end]` and a finite end state, or stop with a run-time error
    /// (a limit, a non-finite state, a step-size failure, a spike-time
    /// search that does not converge), never a contract error.
    #[test]
    fn arbitrary_values_never_panic(
        inputs in wild_inputs(), bias in wild(), t_end in mostly(1e-3..60.0), opts in wild_options(),
    ) {
        let invalid_input = RunPlan::new(t_end, &opts)
            .err()
            .or_else(|| validate_inputs(&inputs).err());
        for (name, outcome) in all_backends(opts, bias, &inputs, t_end) {
            match (&invalid_input, outcome) {
                // Debug output compares NaN fields too.
                (Some(expected), Err(e)) => {
                    prop_assert_eq!(format!("{:?}", e), format!("{:?}", expected), "{}", name)
                }
                (Some(expected), Ok(t)) => {
                    prop_assert!(false, "{}: expected {:?}, got {:?}", name, expected, t)
                }
                (None, Err(SolverError::Model(NeuronError::InvalidParameter { name: "bias", value, .. })))
                    if !bias.is_finite() => prop_assert_eq!(format!("{value:?}"), format!("{bias:?}")),
                (None, _) if !bias.is_finite() => prop_assert!(false, "{}: bias {} not reported", name, bias),
                (None, Ok(t)) => check_ok(name, &t, &inputs, t_end)?,
                (None, Err(e)) => prop_assert!(
                    matches!(
                        e,
                        SolverError::SpikeLimit { limit: 200, .. }
                            | SolverError::StepLimit { limit: 5_000, .. }
                            | SolverError::NonFiniteState { .. }
                            | SolverError::StepSizeUnderflow { .. }
                            | SolverError::Backend { .. }
                            // A spike at a time near the smallest floats
                            // (bias f64::MAX) that bisection from the step's
                            // width cannot resolve in its iterations.
                            | SolverError::RootNotConverged { .. }
                    ),
                    "{}: {:?}", name, e
                ),
            }
        }
    }
}
