//! The solver's public API called with what a caller can get wrong: the
//! adjoint ([`EventSolver::gradient`], [`run_adjoint`]) handed another
//! run's inputs, sensitivities of the wrong length, or an event log edited
//! to name inputs or spikes that do not exist; [`Dopri5::integrate`] with a
//! state of the wrong dimension, non-finite times or tolerances. No call
//! may panic; each of these mistakes is its typed error.
//!
//! Runs [`CASES`] cases per property in `cargo test`.

use evnn_neurons::{Lif, NeuronModel, Qif, StateVector};
use evnn_solver::{
    run_adjoint, Adjoint, Backend, ClosedForm, Dopri5, Dopri5Backend, EventKind, EventSolver,
    InputSpike, NeuronGradient, NeuronTrace, QifSeries, SolverError, SolverOptions,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per property.
const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/public_api.txt",
        ))),
        ..Config::default()
    }
}

/// A change to the trace, inputs or sensitivities handed to the adjoint.
#[derive(Clone, Debug)]
enum Mistake {
    None,
    /// Sensitivities one longer or shorter than the spikes.
    DlLength(bool),
    /// An input index past the inputs, at event `e`.
    InputIndex(usize, usize),
    /// A spike number past the spikes, at event `e` (with the spike list
    /// and sensitivities kept consistent, so that only the log is wrong).
    SpikeNumber(usize, usize),
    /// The inputs of the run with the last one dropped.
    FewerInputs,
    /// A NaN bias.
    NanBias,
}

fn mistake() -> impl Strategy<Value = Mistake> {
    prop_oneof![
        2 => Just(Mistake::None),
        1 => any::<bool>().prop_map(Mistake::DlLength),
        1 => (0usize..16, 0usize..100).prop_map(|(e, i)| Mistake::InputIndex(e, i)),
        1 => (0usize..16, 0usize..100).prop_map(|(e, k)| Mistake::SpikeNumber(e, k)),
        1 => Just(Mistake::FewerInputs),
        1 => Just(Mistake::NanBias),
    ]
}

fn inputs() -> impl Strategy<Value = Vec<InputSpike>> {
    prop::collection::vec((0.0..30.0f64, -2.0..8.0f64), 0..8).prop_map(|mut v| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v.into_iter().map(|(t, w)| InputSpike::new(t, w)).collect()
    })
}

/// Simulates, applies `mistake`, runs the gradient; checks the outcome.
fn check<N, B>(
    model: N,
    backend: B,
    bias: f64,
    inputs: &[InputSpike],
    mistake: &Mistake,
) -> Result<(), TestCaseError>
where
    N: NeuronModel<Params = [f64; 1]>,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let opts = SolverOptions::default().with_max_spikes(50);
    let mut solver = EventSolver::new(model.clone(), backend.clone(), opts).expect("valid");
    let Ok(mut trace) = solver.simulate(&[bias], inputs, 30.0) else {
        return Ok(());
    };
    let mut inputs = inputs.to_vec();
    let mut dl = vec![1.0; trace.spikes.len()];
    let mut params = [bias];
    let shape = |e: &SolverError| matches!(e, SolverError::ShapeMismatch { .. });
    let expected: Option<fn(&SolverError) -> bool> = match *mistake {
        Mistake::None => None,
        Mistake::DlLength(longer) => {
            // One entry too many, or one too few (or one where there were
            // none).
            if longer || dl.pop().is_none() {
                dl.push(0.5);
            }
            Some(shape)
        }
        Mistake::InputIndex(e, i) => {
            let n = inputs.len();
            match trace
                .events
                .iter_mut()
                .filter(|ev| matches!(ev.kind, EventKind::Input { .. }))
                .nth(e % n.max(1))
            {
                Some(ev) => {
                    ev.kind = EventKind::Input { index: n + i };
                    Some(shape)
                }
                None => None,
            }
        }
        Mistake::SpikeNumber(e, k) => {
            let n = trace.spikes.len();
            match trace
                .events
                .iter_mut()
                .filter(|ev| matches!(ev.kind, EventKind::Spike { .. }))
                .nth(e % n.max(1))
            {
                Some(ev) => {
                    ev.kind = EventKind::Spike { k: n + k };
                    Some(shape)
                }
                None => None,
            }
        }
        Mistake::FewerInputs => {
            // Only a mistake where the log names the dropped input.
            let named = inputs.pop().is_some()
                && trace.events.iter().any(|ev| {
                    ev.kind
                        == EventKind::Input {
                            index: inputs.len(),
                        }
                });
            named.then_some(shape)
        }
        Mistake::NanBias => {
            params[0] = f64::NAN;
            Some(|e| matches!(e, SolverError::Model(_)))
        }
    };
    let result = solver.gradient(&params, &inputs, &trace, &dl, None);
    // The free function, with a gradient buffer of another run's size.
    let mut grad = NeuronGradient::zeros(inputs.len() + 3);
    let zero = N::State::zeros();
    let mut b = backend;
    let direct = run_adjoint(
        &mut b, &model, &params, &inputs, &trace, &dl, &zero, &opts, &mut grad,
    );
    // (Compared as messages: a NaN bias makes the errors unequal as values.)
    let message = |e: Option<&SolverError>| e.map(ToString::to_string);
    prop_assert_eq!(
        message(result.as_ref().err()),
        message(direct.as_ref().err())
    );
    match (expected, result) {
        (Some(expected), Err(e)) => prop_assert!(expected(&e), "{mistake:?}: {e:?}"),
        (Some(_), Ok(_)) => prop_assert!(false, "{mistake:?} accepted"),
        (None, Ok(g)) => {
            prop_assert_eq!(g.weights.len(), inputs.len());
            prop_assert_eq!(&grad, &g);
        }
        // A valid run's adjoint may only fail where the solver does (a
        // non-transversal spike, a step limit of the numerical adjoint).
        (None, Err(e)) => prop_assert!(
            matches!(
                e,
                SolverError::DegenerateSpike { .. }
                    | SolverError::StepLimit { .. }
                    | SolverError::StepSizeUnderflow { .. }
            ),
            "{e:?}"
        ),
    }
    Ok(())
}

#[test]
fn adjoint_with_mismatched_runs_is_a_typed_error() {
    proptest!(config(), |(
        bias in -0.5..1.5f64,
        inputs in inputs(),
        mistake in mistake(),
    )| {
        check(Lif::default(), ClosedForm, bias, &inputs, &mistake)?;
        check(Qif::default(), QifSeries, bias, &inputs, &mistake)?;
        check(Qif::default(), Dopri5Backend::default(), bias, &inputs, &mistake)?;
    });
}

/// `Dopri5::integrate` with any state length, times and tolerances: a
/// state of another dimension is `ShapeMismatch`, a non-finite time or a
/// tolerance that is not finite and positive is `InvalidOption`, otherwise
/// `y' = −y` is integrated (or stops at its step limit).
#[test]
fn dopri5_checks_its_arguments() {
    let time = prop_oneof![
        8 => -5.0..5.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ];
    let tol = prop_oneof![
        8 => 1e-10..1e-2f64,
        1 => Just(0.0),
        1 => Just(-1e-6),
        1 => Just(f64::NAN),
    ];
    proptest!(config(), |(
        dim in 1usize..4,
        len in 0usize..5,
        t0 in time.clone(),
        t1 in time,
        rtol in tol.clone(),
        atol in tol,
    )| {
        let mut rk = Dopri5::new(dim);
        let mut y = vec![1.0; len];
        let mut h = 0.0;
        let r = rk.integrate(
            |y, dy| dy.iter_mut().zip(y).for_each(|(d, v)| *d = -v),
            t0,
            t1,
            &mut y,
            rtol,
            atol,
            &mut h,
            10_000,
            |_, _| {},
        );
        let finite_times = t0.is_finite() && t1.is_finite();
        let good_tol = |v: f64| v.is_finite() && v > 0.0;
        match r {
            Err(SolverError::InvalidOption { name, value, .. }) => {
                // Checked in this order: t0, t1, rtol, atol.
                let named = match name {
                    "t0" => {
                        prop_assert!(!t0.is_finite());
                        t0
                    }
                    "t1" => {
                        prop_assert!(!t1.is_finite() && t0.is_finite());
                        t1
                    }
                    "rtol" => {
                        prop_assert!(finite_times && !good_tol(rtol));
                        rtol
                    }
                    "atol" => {
                        prop_assert!(finite_times && good_tol(rtol) && !good_tol(atol));
                        atol
                    }
                    other => return Err(TestCaseError::fail(format!("option {other}"))),
                };
                prop_assert_eq!(value.to_bits(), named.to_bits());
            }
            Err(SolverError::ShapeMismatch { expected, got, .. }) => {
                prop_assert!(finite_times && good_tol(rtol) && good_tol(atol));
                prop_assert_eq!((expected, got), (dim, len));
                prop_assert_ne!(dim, len);
            }
            Err(e) => prop_assert!(
                matches!(e, SolverError::StepLimit { .. } | SolverError::StepSizeUnderflow { .. }),
                "{e:?}"
            ),
            Ok(()) => {
                prop_assert!(finite_times && good_tol(rtol) && good_tol(atol) && dim == len);
                let exact = (-(t1 - t0)).exp();
                for v in &y {
                    prop_assert!(v.is_finite());
                    if rtol <= 1e-6 && atol <= 1e-6 {
                        prop_assert!((v - exact).abs() <= 1e-3 * exact.max(1.0), "{v} vs {exact}");
                    }
                }
            }
        }
    });
}

/// An empty trace with a gradient buffer of any size: the adjoint of a run
/// without events resizes the buffer to the inputs.
#[test]
fn adjoint_resizes_the_gradient_buffer() {
    let lif = Lif::default();
    let trace = NeuronTrace::new(lif.initial_state());
    let mut grad = NeuronGradient::zeros(7);
    let inputs = [InputSpike::new(1.0, 1.0)];
    run_adjoint(
        &mut ClosedForm,
        &lif,
        &[0.0],
        &inputs,
        &trace,
        &[],
        &[0.0, 0.0],
        &SolverOptions::default(),
        &mut grad,
    )
    .unwrap();
    assert_eq!(grad.weights, vec![0.0]);
    assert_eq!(grad.input_times, vec![0.0]);
}
