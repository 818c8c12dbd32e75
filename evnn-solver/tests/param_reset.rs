//! A reset that depends on the learnable parameters
//! ([`NeuronModel::RESET_USES_PARAMS`]): PIzhikevich's recovery jump
//! `U ← U + e^{log d}`. One neuron's EventProp gradient with respect to
//! `log d` (and every other parameter, weight and input time) against
//! central finite differences of the simulated spike times, on the generic
//! backends and through the refractory wrapper.

use evnn_neurons::{IzhikevichConstants, NeuronModel, PIzhikevich, Refractory, StateVector};
use evnn_solver::{
    Adjoint, Backend, DiffsolBackend, Dopri5Backend, EventSolver, InputSpike, SolverOptions,
};

fn tight() -> SolverOptions {
    SolverOptions::default().with_tolerances(1e-12, 1e-12)
}

/// `L = Σ_k c_k t_k` with distinct `c_k = 1 − 0.2 k`, so that no
/// gradient cancels.
fn weights(n: usize) -> Vec<f64> {
    (0..n).map(|k| 1.0 - 0.2 * k as f64).collect()
}

/// The loss of a run and its spike count.
fn loss<N: NeuronModel, B: Backend<N> + Adjoint<N>>(
    solver: &mut EventSolver<N, B>,
    p: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
) -> (f64, usize) {
    let trace = solver.simulate(p, inputs, t_end).unwrap();
    let c = weights(trace.spikes.len());
    (
        trace.spikes.iter().zip(&c).map(|(t, c)| t * c).sum(),
        trace.spikes.len(),
    )
}

/// The EventProp gradient with respect to every parameter (`log d`
/// included), weight and input time agrees with central differences to
/// `1e-5` relative (or `1e-7` absolute); returns `dL/d log d`.
fn check<N: NeuronModel, B: Backend<N> + Adjoint<N>>(
    mut solver: EventSolver<N, B>,
    p: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
) -> f64 {
    let trace = solver.simulate(p, inputs, t_end).unwrap();
    let n = trace.spikes.len();
    assert!(n >= 3, "{}: {n} spikes", N::NAME);
    let grad = solver
        .gradient(p, inputs, &trace, &weights(n), None)
        .unwrap();
    let h = 1e-6;
    let compare = |what: String, analytic: f64, plus: (f64, usize), minus: (f64, usize)| {
        assert_eq!((plus.1, minus.1), (n, n), "{what}: the spike count changed");
        let numeric = (plus.0 - minus.0) / (2.0 * h);
        assert!(
            (analytic - numeric).abs() <= 1e-7 + 1e-5 * numeric.abs(),
            "{}: {what}: got {analytic}, expected {numeric}",
            N::NAME
        );
    };
    for k in 0..N::Params::DIM {
        let shifted = |delta: f64| {
            let mut q = *p;
            q.as_mut_slice()[k] += delta;
            q
        };
        let (plus, minus) = (
            loss(&mut solver, &shifted(h), inputs, t_end),
            loss(&mut solver, &shifted(-h), inputs, t_end),
        );
        compare(
            format!("dL/d{}", N::PARAM_NAMES[k]),
            grad.params.as_slice()[k],
            plus,
            minus,
        );
    }
    for m in 0..inputs.len() {
        let shifted = |dw: f64, ds: f64| {
            let mut s = inputs.to_vec();
            s[m] = InputSpike::new(s[m].time + ds, s[m].weight + dw);
            s
        };
        let (wp, wm) = (
            loss(&mut solver, p, &shifted(h, 0.0), t_end),
            loss(&mut solver, p, &shifted(-h, 0.0), t_end),
        );
        compare(format!("dL/dw_{m}"), grad.weights[m], wp, wm);
        let (sp, sm) = (
            loss(&mut solver, p, &shifted(0.0, h), t_end),
            loss(&mut solver, p, &shifted(0.0, -h), t_end),
        );
        compare(format!("dL/ds_{m}"), grad.input_times[m], sp, sm);
    }
    grad.params.as_slice()[3]
}

/// A tonically firing PIzhikevich neuron (`c = −65`, bias 10) with two
/// inputs: `dL/d log d` matches finite differences on Dormand–Prince and
/// diffsol (the two agree), and `dL/dd = (dL/d log d)/d` matches the
/// difference quotient in `d` itself.
#[test]
fn recovery_jump_gradient_matches_finite_differences() {
    let pizh = PIzhikevich::new(IzhikevichConstants::default().with_c(-65.0)).unwrap();
    let mut p = pizh.default_params();
    p[0] = 10.0;
    p[3] = 3.0f64.ln();
    let inputs = [InputSpike::new(7.0, 4.0), InputSpike::new(21.0, -3.0)];
    let t_end = 60.0;
    let a = check(
        EventSolver::new(pizh, Dopri5Backend::default(), tight()).unwrap(),
        &p,
        &inputs,
        t_end,
    );
    let b = check(
        EventSolver::new(pizh, DiffsolBackend::default(), tight()).unwrap(),
        &p,
        &inputs,
        t_end,
    );
    assert!((a - b).abs() <= 1e-6 * a.abs(), "{a} vs {b}");
    assert!(a.abs() > 1e-3, "dL/d log d = {a}: the jump must matter");
    // In d itself: L(d ± h) by log(d ± h).
    let mut solver = EventSolver::new(pizh, Dopri5Backend::default(), tight()).unwrap();
    let (d, h) = (3.0, 1e-6);
    let at = |d: f64| [p[0], p[1], p[2], d.ln()];
    let numeric = (loss(&mut solver, &at(d + h), &inputs, t_end).0
        - loss(&mut solver, &at(d - h), &inputs, t_end).0)
        / (2.0 * h);
    let analytic = a / d;
    assert!(
        (analytic - numeric).abs() <= 1e-5 * numeric.abs(),
        "dL/dd: got {analytic}, expected {numeric}"
    );
}

/// The same through [`Refractory`]: the reset's parameter gradient is
/// taken at each spike, before the frozen period.
#[test]
fn recovery_jump_gradient_through_a_refractory_period() {
    let pizh = PIzhikevich::new(IzhikevichConstants::default().with_c(-65.0)).unwrap();
    let mut p = pizh.default_params();
    p[0] = 10.0;
    let inputs = [InputSpike::new(7.0, 4.0), InputSpike::new(21.0, -3.0)];
    let model = Refractory::new(pizh, 2.0).unwrap();
    let g = check(
        EventSolver::new(model, Dopri5Backend::default(), tight()).unwrap(),
        &p,
        &inputs,
        60.0,
    );
    assert!(g.abs() > 1e-3, "dL/d log d = {g}");
}
