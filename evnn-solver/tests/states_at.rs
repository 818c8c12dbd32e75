//! `states_at`: the state of a simulated neuron at chosen times. Checked
//! against an independent path through the event loop: the same run with a
//! zero-weight input at the time asked for logs the state there as that
//! input's `x⁻`, which the loop reaches by its own integration. LIF (closed
//! form), QIF (series) and EIF (Dormand–Prince), with own spikes inside
//! the interval; the right limit at event times; bad times are errors.

use evnn_neurons::{Eif, EifConstants, Lif, NeuronModel, Qif, StateVector};
use evnn_solver::{
    states_at, Backend, ClosedForm, Dopri5Backend, EventSolver, InputSpike, QifSeries, SolverError,
    SolverOptions,
};

fn inputs() -> Vec<InputSpike> {
    [(1.0, 4.0), (2.5, 3.0), (6.0, 5.0), (9.0, 2.0), (15.0, 6.0)]
        .iter()
        .map(|&(t, w)| InputSpike::new(t, w))
        .collect()
}

/// The states at 40 times (some on input times) agree with the zero-weight
/// probes to `tol`, relative to the state's scale; the run spikes at least
/// `min_spikes` times.
fn matches_probes<N: NeuronModel, B: Backend<N>>(
    model: N,
    backend: B,
    params: N::Params,
    min_spikes: usize,
    tol: f64,
) {
    let t_end = 30.0;
    let options = SolverOptions::default().with_tolerances(1e-12, 1e-12);
    let mut solver = EventSolver::new(model.clone(), backend, options).unwrap();
    let run = solver.simulate(&params, &inputs(), t_end).unwrap();
    assert!(
        run.spikes.len() >= min_spikes,
        "{}: {:?}",
        N::NAME,
        run.spikes
    );
    let mut times: Vec<f64> = (0..40).map(|k| 0.37 + 0.73 * k as f64).collect();
    times.extend([2.5, 9.0]);
    let mut states = Vec::new();
    states_at(&model, &params, &run, &times, &options, &mut states).unwrap();
    assert_eq!(states.len(), times.len());
    for (&t, x) in times.iter().zip(&states) {
        let on_input = inputs().iter().position(|s| s.time == t);
        let mut probed = inputs();
        if on_input.is_none() {
            let k = probed.partition_point(|s| s.time < t);
            probed.insert(k, InputSpike::new(t, 0.0));
        }
        let probe = solver.simulate(&params, &probed, t_end).unwrap();
        assert_eq!(probe.spikes.len(), run.spikes.len());
        let e = probe
            .events
            .iter()
            .rev()
            .find(|e| e.t == t && matches!(e.kind, evnn_solver::EventKind::Input { .. }))
            .unwrap();
        // Right limit: after the input's jump.
        let expected = e.x_plus;
        for (a, b) in x.as_slice().iter().zip(expected.as_slice()) {
            assert!(
                (a - b).abs() <= tol * b.abs().max(1.0),
                "{} at t = {t}: {:?} vs {:?}",
                N::NAME,
                x,
                expected
            );
        }
    }
}

#[test]
fn lif_states_match_the_event_loop() {
    matches_probes(Lif::default(), ClosedForm, [0.2], 2, 1e-8);
}

#[test]
fn qif_states_match_the_event_loop() {
    matches_probes(Qif::default(), QifSeries, [20.0], 2, 1e-8);
}

#[test]
fn eif_states_match_the_event_loop() {
    let eif = Eif::new(EifConstants::default()).unwrap();
    matches_probes(eif, Dopri5Backend::default(), [0.5], 2, 1e-8);
}

/// At an own spike's time the state is the one after the reset.
#[test]
fn at_a_spike_the_state_is_after_the_reset() {
    let lif = Lif::default();
    let options = SolverOptions::default();
    let mut solver = EventSolver::new(lif, ClosedForm, options).unwrap();
    let run = solver.simulate(&[0.0], &inputs(), 30.0).unwrap();
    let t = run.spikes[0];
    let mut states = Vec::new();
    states_at(&lif, &[0.0], &run, &[t], &options, &mut states).unwrap();
    assert_eq!(states[0][0], 0.0, "v is reset to 0 at the spike");
}

#[test]
fn times_outside_the_run_are_named_errors() {
    let lif = Lif::default();
    let options = SolverOptions::default();
    let mut solver = EventSolver::new(lif, ClosedForm, options).unwrap();
    let run = solver.simulate(&[0.0], &inputs(), 20.0).unwrap();
    let mut states = Vec::new();
    for bad in [-1.0, 20.5, f64::NAN, f64::INFINITY] {
        match states_at(&lif, &[0.0], &run, &[1.0, bad], &options, &mut states) {
            Err(SolverError::QueryTimeOutOfRange { t, t_end }) => {
                assert!(t.to_bits() == bad.to_bits() && t_end == 20.0);
            }
            other => panic!("t = {bad}: expected QueryTimeOutOfRange, got {other:?}"),
        }
    }
    states_at(&lif, &[0.0], &run, &[0.0, 20.0], &options, &mut states).unwrap();
    assert_eq!(states.len(), 2);
}
