//! A model with three weights per synapse (EGRU) in the solver: a spike
//! through a synapse is three consecutive input entries of one time,
//! applied as one jump; its EventProp gradient has one entry per weight,
//! checked against finite differences; broken synapses are named errors.

use evnn_neurons::{Egru, EgruConstants, NeuronModel};
use evnn_solver::{Dopri5Backend, EventKind, EventSolver, InputSpike, SolverError, SolverOptions};

/// Two synapses' spikes, `(time, [W_u, W_r, W_z])`, as the solver's input
/// list.
fn synapses(spikes: &[(f64, [f64; 3])]) -> Vec<InputSpike> {
    spikes
        .iter()
        .flat_map(|&(t, w)| w.map(|w| InputSpike::new(t, w)))
        .collect()
}

/// An EGRU neuron with a fast cell (`τ_m = 5`), so that these few inputs
/// make it spike.
fn egru() -> Egru {
    Egru::new(EgruConstants::default().with_tau_m(5.0)).unwrap()
}

fn solver() -> EventSolver<Egru, Dopri5Backend> {
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    EventSolver::new(egru(), Dopri5Backend::default(), opts).unwrap()
}

const SPIKES: [(f64, [f64; 3]); 4] = [
    (1.0, [3.0, 0.5, 2.5]),
    (4.0, [1.0, -0.7, 2.0]),
    (9.0, [2.0, 1.2, 3.0]),
    (15.0, [-0.5, 0.3, 1.5]),
];

/// One `Input` event per synapse, on its first entry, whose jump is
/// `input_jump_weights` with the synapse's three weights.
#[test]
fn a_synapse_is_one_jump_with_its_three_weights() {
    let inputs = synapses(&SPIKES);
    let trace = solver().simulate(&[1.0, 1.0, 0.0], &inputs, 30.0).unwrap();
    let jumps: Vec<&evnn_solver::Event<[f64; 4]>> = trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Input { .. }))
        .collect();
    assert_eq!(jumps.len(), SPIKES.len());
    for (m, (e, (t, w))) in jumps.iter().zip(SPIKES).enumerate() {
        assert_eq!(e.kind, EventKind::Input { index: 3 * m });
        assert_eq!(e.t, t);
        let mut x = e.x_minus;
        egru().input_jump_weights(&mut x, &w);
        assert_eq!(e.x_plus, x, "synapse {m} at t = {t}");
    }
    assert!(!trace.spikes.is_empty(), "the neuron must spike");
}

/// `L = Σ_k c_k t_k + d · x(T)`: every weight (three per synapse), every
/// synapse's time (all three entries moved together) and the three biases
/// against five-point central differences (≤ 1e-6 relative or 1e-8
/// absolute).
#[test]
fn gradient_of_every_weight_matches_finite_differences() {
    let mut s = solver();
    let p = [1.0, 1.0, 0.0];
    let inputs = synapses(&SPIKES);
    let t_end = 30.0;
    let d = [0.3, -0.2, 0.1, 0.25];
    let loss = |s: &mut EventSolver<Egru, Dopri5Backend>, p: &[f64; 3], inputs: &[InputSpike]| {
        let tr = s.simulate(p, inputs, t_end).unwrap();
        let l: f64 = tr
            .spikes
            .iter()
            .enumerate()
            .map(|(k, t)| (1.0 - 0.3 * k as f64) * t)
            .sum::<f64>()
            + tr.x_end.iter().zip(&d).map(|(x, d)| x * d).sum::<f64>();
        (l, tr.spikes.len())
    };
    let tr = s.simulate(&p, &inputs, t_end).unwrap();
    let n = tr.spikes.len();
    assert!(n >= 1, "the neuron must spike");
    let dl_dt: Vec<f64> = (0..n).map(|k| 1.0 - 0.3 * k as f64).collect();
    let g = s.gradient(&p, &inputs, &tr, &dl_dt, Some(&d)).unwrap();
    assert_eq!(g.weights.len(), inputs.len());
    let h = 1e-3;
    let mut compared = 0;
    let mut check = |what: String, analytic: f64, eval: &mut dyn FnMut(f64) -> (f64, usize)| {
        let mut l = [0.0; 4];
        for (slot, m) in l.iter_mut().zip([2.0, 1.0, -1.0, -2.0]) {
            let (v, spikes) = eval(m * h);
            assert_eq!(
                spikes, n,
                "{what}: the perturbation changed the spike count"
            );
            *slot = v;
        }
        let fd = (-l[0] + 8.0 * l[1] - 8.0 * l[2] + l[3]) / (12.0 * h);
        let allowed = 1e-8f64.max(1e-6 * fd.abs().max(analytic.abs()));
        assert!(
            (analytic - fd).abs() <= allowed,
            "{what}: adjoint {analytic}, finite differences {fd}"
        );
        compared += 1;
    };
    for k in 0..3 {
        check(format!("dL/db[{k}]"), g.params[k], &mut |delta| {
            let mut q = p;
            q[k] += delta;
            loss(&mut solver(), &q, &inputs)
        });
    }
    for m in 0..inputs.len() {
        check(format!("dL/dw[{m}]"), g.weights[m], &mut |delta| {
            let mut q = inputs.clone();
            q[m].weight += delta;
            loss(&mut solver(), &p, &q)
        });
    }
    for m in 0..SPIKES.len() {
        // The time's gradient is on the synapse's first entry.
        assert_eq!(g.input_times[3 * m + 1], 0.0);
        assert_eq!(g.input_times[3 * m + 2], 0.0);
        check(format!("dL/ds[{m}]"), g.input_times[3 * m], &mut |delta| {
            let mut q = inputs.clone();
            for s in &mut q[3 * m..3 * m + 3] {
                s.time += delta;
            }
            loss(&mut solver(), &p, &q)
        });
    }
    assert_eq!(compared, 3 + 12 + 4);
    // The three weights of a synapse have distinct gradients.
    assert!(g.weights[0] != g.weights[1] && g.weights[1] != g.weights[2]);
}

/// An input list that is not whole synapses, and a synapse whose entries
/// have different times, are named errors.
#[test]
fn broken_synapses_are_named_errors() {
    let mut inputs = synapses(&SPIKES);
    inputs.pop();
    match solver().simulate(&[1.0, 1.0, 0.0], &inputs, 30.0) {
        Err(SolverError::ShapeMismatch { expected, got, .. }) => {
            assert_eq!((expected, got), (12, 11));
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
    let mut inputs = synapses(&SPIKES);
    inputs[5].time = 4.5;
    match solver().simulate(&[1.0, 1.0, 0.0], &inputs, 30.0) {
        Err(SolverError::SplitSynapse {
            index,
            time,
            expected,
        }) => assert_eq!((index, time, expected), (5, 4.5, 4.0)),
        other => panic!("expected a split synapse, got {other:?}"),
    }
    let err = solver()
        .simulate(&[1.0, 1.0, 0.0], &inputs, 30.0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input spike 5") && err.contains("4.5"),
        "{err}"
    );
}
