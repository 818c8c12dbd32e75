use evnn_neurons::{NeuronModel, Qif};
use evnn_solver::{Dopri5Backend, EventSolver, SolverOptions};
use std::f64::consts::PI;

#[test]
fn measure_periodic() {
    for tol in [1e-12, 1e-10, 1e-8, 1e-6, 1e-4] {
        for (tau, c) in [(20.0f64, 0.26f64), (20.0, 0.5), (20.0, 3.0), (5.0, 1.0), (1.0, 0.3), (0.5, 25.0), (100.0, 0.2501)] {
            let a = (c - 0.25f64).sqrt();
            let t1 = tau / a * (PI / 2.0 + (1.0 / (2.0 * a)).atan());
            let isi = PI * tau / a;
            let k = 12;
            let t_end = t1 + (k as f64 - 0.5) * isi;
            let qif = Qif::new(tau, 5.0).unwrap();
            let opts = SolverOptions::default().with_tolerances(tol, tol);
            for name in ["diffsol", "dopri5"] {
                let tr = if name == "diffsol" {
                    EventSolver::diffsol(qif, opts).unwrap().simulate(&[c], &[], t_end).unwrap()
                } else {
                    EventSolver::new(qif, Dopri5Backend::default(), opts).unwrap().simulate(&[c], &[], t_end).unwrap()
                };
                let mut worst_rel: f64 = 0.0; // |dt_k| / (tol * isi * (k+1))
                let mut worst_abs: f64 = 0.0;
                let mut worst_t: f64 = 0.0; // |dt|/max(1,t)
                for (j, t) in tr.spikes.iter().enumerate() {
                    let e = t1 + j as f64 * isi;
                    let d = (t - e).abs();
                    worst_abs = worst_abs.max(d);
                    worst_t = worst_t.max(d / e.max(1.0));
                    worst_rel = worst_rel.max(d / (tol * isi * (j as f64 + 1.0)));
                }
                let phi_exact = Qif::phase(0.5);
                let ephi = (tr.x_end[0] - phi_exact).abs();
                println!("tol {tol:e} tau {tau} c {c} {name}: n {} (exp {k}) steps {} abs {worst_abs:.2e} rel_t {worst_t:.2e} C {worst_rel:.2e} ephi {ephi:.2e} x_end {:?}", tr.spikes.len(), tr.steps, tr.x_end);
            }
        }
    }
    let _ = Qif::default().initial_state();
}
