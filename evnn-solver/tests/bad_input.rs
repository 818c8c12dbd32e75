//! Bad input gives a typed error naming the value, never a panic.

use evnn_neurons::{Lif, NeuronError, NeuronModel, Qif};
use evnn_solver::{ClosedForm, Dopri5Backend, EventSolver, InputSpike, SolverError, SolverOptions};
use proptest::prelude::*;

fn lif() -> EventSolver<Lif, ClosedForm> {
    EventSolver::new(Lif::default(), ClosedForm, SolverOptions::default()).unwrap()
}

fn run(inputs: &[InputSpike], t_end: f64) -> Result<Vec<f64>, SolverError> {
    lif().simulate(&[0.0], inputs, t_end).map(|t| t.spikes)
}

#[test]
fn non_finite_or_negative_times() {
    for (time, index) in [(f64::NAN, 1), (f64::INFINITY, 1), (-1.0, 1)] {
        let inputs = [InputSpike::new(0.5, 1.0), InputSpike::new(time, 1.0)];
        match run(&inputs, 10.0) {
            Err(SolverError::InvalidInputTime { index: i, time: t }) => {
                assert_eq!(i, index);
                assert!(t.is_nan() || t == time);
            }
            other => panic!("time {time}: {other:?}"),
        }
    }
}

#[test]
fn non_finite_weights() {
    for w in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        match run(&[InputSpike::new(1.0, w)], 10.0) {
            Err(SolverError::InvalidWeight { index: 0, weight }) => {
                assert!(weight.is_nan() || weight == w)
            }
            other => panic!("weight {w}: {other:?}"),
        }
    }
}

#[test]
fn unsorted_inputs_name_both_times() {
    let inputs = [InputSpike::new(2.0, 1.0), InputSpike::new(1.0, 1.0)];
    assert_eq!(
        run(&inputs, 10.0),
        Err(SolverError::UnsortedInputs {
            index: 1,
            time: 1.0,
            previous: 2.0
        })
    );
}

#[test]
fn bad_end_times() {
    for t_end in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        match run(&[], t_end) {
            Err(SolverError::InvalidEndTime { t_end: t }) => assert!(t.is_nan() || t == t_end),
            other => panic!("t_end {t_end}: {other:?}"),
        }
    }
}

#[test]
fn bad_options() {
    let cases = [
        (
            SolverOptions::default().with_tolerances(f64::NAN, 1e-6),
            "rtol",
        ),
        (SolverOptions::default().with_tolerances(0.0, 1e-6), "rtol"),
        (SolverOptions::default().with_tolerances(1e-6, 0.0), "atol"),
        (SolverOptions::default().with_max_spikes(0), "max_spikes"),
        (SolverOptions::default().with_max_steps(0), "max_steps"),
        (SolverOptions::default().with_h0(-1.0), "h0"),
    ];
    for (opts, name) in cases {
        match EventSolver::new(Qif::default(), Dopri5Backend::default(), opts) {
            Err(SolverError::InvalidOption { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn nan_bias_is_named() {
    let err = lif().simulate(&[f64::NAN], &[], 10.0).unwrap_err();
    assert!(
        matches!(
            err,
            SolverError::Model(NeuronError::InvalidParameter { name: "bias", .. })
        ),
        "{err:?}"
    );
}

#[test]
fn spike_and_step_limits() {
    let opts = SolverOptions::default().with_max_spikes(5);
    let e = EventSolver::new(Qif::default(), Dopri5Backend::default(), opts)
        .unwrap()
        .simulate(&[1e4], &[], 30.0)
        .unwrap_err();
    assert!(
        matches!(e, SolverError::SpikeLimit { limit: 5, .. }),
        "{e:?}"
    );
    let e = EventSolver::new(Lif::default(), ClosedForm, opts)
        .unwrap()
        .simulate(&[0.0], &[InputSpike::new(0.0, 1e6)], 30.0)
        .unwrap_err();
    assert!(
        matches!(e, SolverError::SpikeLimit { limit: 5, .. }),
        "{e:?}"
    );
    let e = EventSolver::diffsol(Qif::default(), SolverOptions::default().with_max_steps(3))
        .unwrap()
        .simulate(&[0.0], &[InputSpike::new(0.0, 5.0)], 30.0)
        .unwrap_err();
    assert!(
        matches!(e, SolverError::StepLimit { limit: 3, .. }),
        "{e:?}"
    );
}

#[test]
fn overflowing_state_is_non_finite_error() {
    let inputs = [
        InputSpike::new(1.0, f64::MAX),
        InputSpike::new(1.0, f64::MAX),
    ];
    let e = lif().simulate(&[0.0], &inputs, 10.0).unwrap_err();
    assert!(matches!(e, SolverError::NonFiniteState { .. }), "{e:?}");
}

/// A delta-synapse LIF (`v ← v + w`): an input can jump over the threshold,
/// which the solver refuses with a typed error rather than guessing.
#[derive(Clone, Debug)]
struct DeltaLif(Lif);

impl NeuronModel for DeltaLif {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "delta-LIF";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 2] {
        [0.0, 0.0]
    }
    fn dynamics(&self, p: &[f64; 1], x: &[f64; 2], dx: &mut [f64; 2]) {
        self.0.dynamics(p, x, dx)
    }
    fn dynamics_vjp(
        &self,
        p: &[f64; 1],
        x: &[f64; 2],
        l: &[f64; 2],
        lx: &mut [f64; 2],
        lp: &mut [f64; 1],
    ) {
        self.0.dynamics_vjp(p, x, l, lx, lp)
    }
    fn event(&self, x: &[f64; 2]) -> f64 {
        self.0.event(x)
    }
    fn event_grad(&self, x: &[f64; 2], gx: &mut [f64; 2]) {
        self.0.event_grad(x, gx)
    }
    fn reset(&self, x: &mut [f64; 2]) {
        self.0.reset(x)
    }
    fn reset_vjp(&self, x: &[f64; 2], l: &[f64; 2], out: &mut [f64; 2]) {
        self.0.reset_vjp(x, l, out)
    }
    fn input_jump(&self, x: &mut [f64; 2], w: f64) {
        x[0] += w;
    }
    fn input_jump_vjp(&self, _x: &[f64; 2], _w: f64, l: &[f64; 2], out: &mut [f64; 2]) -> f64 {
        *out = *l;
        l[0]
    }
}

#[test]
fn jump_over_threshold_and_bad_reset_are_errors() {
    let mut s = EventSolver::diffsol(DeltaLif(Lif::default()), SolverOptions::default()).unwrap();
    let e = s
        .simulate(&[0.0], &[InputSpike::new(1.0, 2.0)], 10.0)
        .unwrap_err();
    assert!(
        matches!(e, SolverError::JumpAboveThreshold { index: 0, .. }),
        "{e:?}"
    );
    let mut bad = EventSolver::diffsol(BadReset, SolverOptions::default()).unwrap();
    let e = bad.simulate(&[2.0], &[], 10.0).unwrap_err();
    assert!(
        matches!(e, SolverError::ResetAboveThreshold { .. }),
        "{e:?}"
    );
}

/// A model whose reset leaves the state on the event surface.
#[derive(Clone, Debug)]
struct BadReset;

impl NeuronModel for BadReset {
    type State = [f64; 1];
    type Params = [f64; 1];
    const NAME: &'static str = "bad-reset";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 1] {
        [0.0]
    }
    fn dynamics(&self, p: &[f64; 1], _x: &[f64; 1], dx: &mut [f64; 1]) {
        dx[0] = p[0];
    }
    fn dynamics_vjp(
        &self,
        _p: &[f64; 1],
        _x: &[f64; 1],
        l: &[f64; 1],
        lx: &mut [f64; 1],
        lp: &mut [f64; 1],
    ) {
        lx[0] = 0.0;
        lp[0] = l[0];
    }
    fn event(&self, x: &[f64; 1]) -> f64 {
        x[0] - 1.0
    }
    fn event_grad(&self, _x: &[f64; 1], gx: &mut [f64; 1]) {
        gx[0] = 1.0;
    }
    fn reset(&self, _x: &mut [f64; 1]) {}
    fn reset_vjp(&self, _x: &[f64; 1], l: &[f64; 1], out: &mut [f64; 1]) {
        *out = *l;
    }
    fn input_jump(&self, _x: &mut [f64; 1], _w: f64) {}
    fn input_jump_vjp(&self, _x: &[f64; 1], _w: f64, _l: &[f64; 1], out: &mut [f64; 1]) -> f64 {
        out[0] = 0.0;
        0.0
    }
}

#[test]
fn no_inputs_and_late_inputs() {
    assert_eq!(run(&[], 10.0), Ok(vec![]));
    let t = lif()
        .simulate(
            &[0.0],
            &[InputSpike::new(0.0, 0.5), InputSpike::new(20.0, 9.0)],
            10.0,
        )
        .unwrap();
    assert_eq!(t.events.len(), 1, "the input at t >= t_end is not applied");
}

#[test]
fn model_constants_are_validated() {
    assert!(matches!(
        Lif::new(0.0, 5.0, 1.0, 0.0),
        Err(NeuronError::InvalidConstant {
            name: "tau_mem",
            ..
        })
    ));
    assert!(matches!(
        Qif::new(20.0, -5.0),
        Err(NeuronError::InvalidConstant {
            name: "tau_syn",
            ..
        })
    ));
}

proptest! {
    /// Arbitrary (including NaN, infinite, negative, huge) inputs never make
    /// the solvers panic, and every Ok result is finite and sorted.
    #[test]
    fn no_panic_and_finite_results(
        raw in prop::collection::vec((prop::num::f64::ANY, prop::num::f64::ANY), 0..8),
        bias in prop::num::f64::ANY,
        t_end in prop::num::f64::ANY,
    ) {
        let inputs: Vec<InputSpike> = raw.iter().map(|&(t, w)| InputSpike::new(t, w)).collect();
        let opts = SolverOptions::default().with_max_spikes(200).with_max_steps(20_000);
        let results = [
            EventSolver::new(Lif::default(), ClosedForm, opts).unwrap().simulate(&[bias], &inputs, t_end),
            EventSolver::new(Qif::default(), Dopri5Backend::default(), opts).unwrap().simulate(&[bias], &inputs, t_end)
                .map(|t| evnn_solver::NeuronTrace { spikes: t.spikes, events: vec![], t_end: t.t_end, x_end: [t.x_end[0], t.x_end[1]], steps: t.steps }),
        ];
        for t in results.into_iter().flatten() {
            prop_assert!(t.x_end.iter().all(|v| v.is_finite()));
            prop_assert!(t.spikes.windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(t.spikes.iter().all(|s| s.is_finite() && *s >= 0.0 && *s <= t_end));
        }
    }
}
