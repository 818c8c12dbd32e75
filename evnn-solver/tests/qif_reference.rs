//! QIF spike times against exact references: the periodic solution of the
//! ideal QIF with constant drive, and an independent fixed-step RK4
//! integration at a much finer resolution.

use evnn_neurons::{NeuronModel, Qif};
use evnn_solver::{Dopri5Backend, EventSolver, InputSpike, SolverOptions};
use proptest::prelude::*;
use std::f64::consts::PI;

/// With `i = 0` and bias `c > 1/4`, `τ V' = V² − V + c = (V − ½)² + a²`,
/// `a = √(c − ¼)`, so `V − ½ = a tan(a t/τ + C)`: from `V = 0` the first
/// spike (`V → +∞`) is at `(τ/a)(π/2 + atan(1/(2a)))`, and from reset
/// (`V = −∞`) every next one `π τ / a` later.
fn exact_spikes(tau: f64, c: f64, t_end: f64) -> Vec<f64> {
    let a = (c - 0.25).sqrt();
    let first = tau / a * (PI / 2.0 + (1.0 / (2.0 * a)).atan());
    let isi = PI * tau / a;
    (0..)
        .map(|k| first + k as f64 * isi)
        .take_while(|&t| t < t_end)
        .collect()
}

fn check_periodic(backend_tol: f64, bound: impl Fn(usize, f64) -> f64) {
    for (tau, c) in [(20.0f64, 0.5f64), (20.0, 3.0), (5.0, 1.0), (1.0, 0.3)] {
        // About ten periods.
        let t_end = 10.0 * PI * tau / (c - 0.25).sqrt();
        let expected = exact_spikes(tau, c, t_end);
        assert!(expected.len() >= 3, "τ {tau}, c {c}: too few spikes");
        let qif = Qif::new(tau, 5.0).unwrap();
        let opts = SolverOptions::default().with_tolerances(backend_tol, backend_tol);
        let runs = [
            (
                "diffsol",
                EventSolver::diffsol(qif, opts)
                    .unwrap()
                    .simulate(&[c], &[], t_end)
                    .unwrap(),
            ),
            (
                "dopri5",
                EventSolver::new(qif, Dopri5Backend::default(), opts)
                    .unwrap()
                    .simulate(&[c], &[], t_end)
                    .unwrap(),
            ),
        ];
        for (name, trace) in runs {
            let got = &trace.spikes;
            // A spike exactly at t_end may fall either side of it.
            assert!(
                got.len() == expected.len() || (got.len() + 1 == expected.len()),
                "{name} τ {tau} c {c}: {} spikes, expected {}",
                got.len(),
                expected.len()
            );
            for (k, (g, e)) in got.iter().zip(&expected).enumerate() {
                let b = bound(k, *e);
                assert!(
                    (g - e).abs() <= b,
                    "{name} τ {tau} c {c} spike {k}: t {g}, expected {e}, bound {b:e}"
                );
            }
        }
    }
}

/// Tight tolerance: spike times exact to 1e-9 relative.
#[test]
fn periodic_firing_at_tight_tolerance() {
    check_periodic(1e-12, |_, t| 1e-9 * t.max(1.0));
}

/// Default tolerance 1e-6: each period is integrated with a relative error of
/// order the tolerance, and errors of successive periods add up, so the
/// bound grows linearly with the spike number: `|δt_k| ≤ 100·tol·t_k`.
#[test]
fn periodic_firing_at_default_tolerance() {
    check_periodic(1e-6, |_, t| 100.0 * 1e-6 * t.max(1.0));
}

/// No input and no bias: `V = 0` (`φ = ½`) is the stable rest point
/// (`∂V'/∂V = −1/τ`), so the neuron never spikes and stays there to within
/// the integrator's tolerance (atol 1e-6).
#[test]
fn no_drive_no_spike() {
    let qif = Qif::default();
    let t = EventSolver::new(qif, Dopri5Backend::default(), SolverOptions::default())
        .unwrap()
        .simulate(&[0.0], &[], 1000.0)
        .unwrap();
    assert!(t.spikes.is_empty());
    assert!((t.x_end[0] - 0.5).abs() < 1e-5, "{:?}", t.x_end);
}

/// Independent reference: classical RK4 with a fixed step `h`, landing on
/// input times, with crossings of `φ = 1` located by bisection on a single
/// RK4 step of variable length from the step start.
fn rk4_reference(qif: &Qif, b: f64, inputs: &[InputSpike], t_end: f64, h: f64) -> (Vec<f64>, f64) {
    let p = [b];
    let f = |x: &[f64; 2]| {
        let mut d = [0.0; 2];
        qif.dynamics(&p, x, &mut d);
        d
    };
    let step = |x: &[f64; 2], dt: f64| {
        let add = |a: &[f64; 2], k: &[f64; 2], s: f64| [a[0] + s * k[0], a[1] + s * k[1]];
        let k1 = f(x);
        let k2 = f(&add(x, &k1, dt / 2.0));
        let k3 = f(&add(x, &k2, dt / 2.0));
        let k4 = f(&add(x, &k3, dt));
        [
            x[0] + dt / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
            x[1] + dt / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]),
        ]
    };
    let mut x = qif.initial_state();
    let mut t = 0.0;
    let mut spikes = Vec::new();
    let mut max_phi_below: f64 = 0.0; // closest approach to threshold without a spike
    let mut next = 0;
    while t < t_end {
        while next < inputs.len() && inputs[next].time <= t {
            qif.input_jump(&mut x, inputs[next].weight);
            next += 1;
        }
        let stop = inputs.get(next).map_or(t_end, |s| s.time.min(t_end));
        let dt = h.min(stop - t);
        let y = step(&x, dt);
        if y[0] >= 1.0 {
            let (mut lo, mut hi) = (0.0, dt);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if step(&x, mid)[0] >= 1.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
                if hi - lo <= 1e-15 * (t + hi) {
                    break;
                }
            }
            x = step(&x, hi);
            t += hi;
            spikes.push(t);
            qif.reset(&mut x);
        } else {
            max_phi_below = max_phi_below.max(y[0]);
            x = y;
            t = if dt == stop - t { stop } else { t + dt };
        }
    }
    (spikes, max_phi_below)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn random_inputs_match_fine_rk4(
        raw in prop::collection::vec((0.0..25.0f64, -10.0..30.0f64), 1..=12),
        b in -0.3..0.5f64,
        tau_mem in 10.0..30.0f64,
        tau_syn in 2.0..8.0f64,
    ) {
        let mut inputs: Vec<InputSpike> = raw.iter().map(|&(t, w)| InputSpike::new(t, w)).collect();
        inputs.sort_by(|a, c| a.time.total_cmp(&c.time));
        let qif = Qif::new(tau_mem, tau_syn).unwrap();
        let (reference, closest) = rk4_reference(&qif, b, &inputs, 30.0, 2e-3);
        // A near-graze (the phase comes within 1e-4 of threshold without
        // crossing) cannot be decided by either method: skip it.
        prop_assume!(closest < 1.0 - 1e-4);
        let opts = SolverOptions::default().with_tolerances(1e-10, 1e-10);
        for (name, got) in [
            ("diffsol", EventSolver::diffsol(qif, opts).unwrap().simulate(&[b], &inputs, 30.0).unwrap().spikes),
            ("dopri5", EventSolver::new(qif, Dopri5Backend::default(), opts).unwrap().simulate(&[b], &inputs, 30.0).unwrap().spikes),
        ] {
            prop_assert_eq!(got.len(), reference.len(), "{}: {:?} vs {:?}", name, got, reference);
            for (g, r) in got.iter().zip(&reference) {
                prop_assert!((g - r).abs() <= 1e-7, "{}: spike {} vs reference {}", name, g, r);
            }
        }
    }
}
