use evnn_neurons::{NeuronModel, Qif};
use evnn_solver::{Dopri5Backend, EventSolver, InputSpike, SolverOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type X = [f64; 2];
fn rk4(qif: &Qif, p: &[f64; 1], x: &X, dt: f64) -> X {
    let f = |y: &X| { let mut d = [0.0; 2]; qif.dynamics(p, y, &mut d); d };
    let add = |a: &X, k: &X, s: f64| [a[0] + s * k[0], a[1] + s * k[1]];
    let k1 = f(x);
    let k2 = f(&add(x, &k1, dt / 2.0));
    let k3 = f(&add(x, &k2, dt / 2.0));
    let k4 = f(&add(x, &k3, dt));
    [x[0] + dt / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]),
     x[1] + dt / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])]
}

struct Ref { spikes: Vec<f64>, max_phi: f64, min_slope: f64, x_end: X }

fn reference(qif: &Qif, b: f64, inputs: &[InputSpike], t_end: f64, h: f64) -> Ref {
    let p = [b];
    let mut x = qif.initial_state();
    let mut t = 0.0;
    let mut r = Ref { spikes: vec![], max_phi: 0.0, min_slope: f64::INFINITY, x_end: x };
    let mut next = 0;
    loop {
        while next < inputs.len() && inputs[next].time <= t && inputs[next].time < t_end {
            qif.input_jump(&mut x, inputs[next].weight);
            next += 1;
        }
        if t >= t_end { break; }
        let stop = inputs.get(next).map_or(t_end, |s| s.time.min(t_end));
        let (dt, lands) = if stop - t <= h { (stop - t, true) } else { (h, false) };
        let y = rk4(qif, &p, &x, dt);
        if y[0] >= 1.0 {
            let (mut lo, mut hi) = (0.0, dt);
            while hi - lo > 1e-14 {
                let mid = 0.5 * (lo + hi);
                if rk4(qif, &p, &x, mid)[0] >= 1.0 { hi = mid } else { lo = mid }
            }
            let xs = rk4(qif, &p, &x, hi);
            let mut d = [0.0; 2]; qif.dynamics(&p, &xs, &mut d);
            r.min_slope = r.min_slope.min(d[0]);
            t += hi;
            r.spikes.push(t);
            x = xs;
            qif.reset(&mut x);
        } else {
            r.max_phi = r.max_phi.max(y[0]);
            x = y;
            t = if lands { stop } else { t + dt };
        }
    }
    r.x_end = x;
    r
}

#[test]
fn measure_random() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut hist = [0usize; 8];
    let mut worst = [0.0f64; 3];
    let mut worst_sens: f64 = 0.0;
    for case in 0..400 {
        let n = rng.random_range(1..=15);
        let wmax = 30.0; let wmin = -15.0;
        let mut inputs: Vec<InputSpike> = (0..n).map(|_| InputSpike::new(rng.random_range(0.0..25.0), rng.random_range(wmin..wmax))).collect();
        inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
        let (tm, ts) = if case % 2 == 0 { (20.0, 5.0) } else { (rng.random_range(5.0..40.0), rng.random_range(1.0..20.0)) };
        let b = rng.random_range(-0.5..0.5);
        let qif = Qif::new(tm, ts).unwrap();
        let hh = 1e-4 * tm.min(ts); let r = reference(&qif, b, &inputs, 30.0, hh);
        let r2 = reference(&qif, b, &inputs, 30.0, 0.5 * hh);
        let rp = reference(&qif, b + 1e-8, &inputs, 30.0, hh);
        let opts = SolverOptions::default().with_tolerances(1e-10, 1e-10);
        let d = EventSolver::diffsol(qif, opts).unwrap().simulate(&[b], &inputs, 30.0).unwrap();
        let p = EventSolver::new(qif, Dopri5Backend::default(), opts).unwrap().simulate(&[b], &inputs, 30.0).unwrap();
        hist[r.spikes.len().min(7)] += 1;
        let diff = |a: &[f64], b: &[f64]| if a.len() != b.len() { f64::INFINITY } else { a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) };
        let e_ref = diff(&r.spikes, &r2.spikes);
        let e_d = diff(&d.spikes, &r.spikes);
        let e_p = diff(&p.spikes, &r.spikes);
        let sens = diff(&rp.spikes, &r.spikes) / 1e-8;
        worst_sens = worst_sens.max(if sens.is_finite() { sens } else { 0.0 });
        if e_d > 1e-8 || e_p > 1e-8 || e_ref > 1e-10 || !sens.is_finite() || sens > 1e3 {
            println!("case {case}: n {} ref-ref {e_ref:.1e} diffsol {e_d:.1e} dopri {e_p:.1e} sens {sens:.1e} max_phi {} min_slope {} spikes {:?} / {:?} tm {tm} ts {ts} b {b} ", r.spikes.len(), r.max_phi, r.min_slope, r.spikes, d.spikes);
        }
        if e_ref.is_finite() { worst[0] = worst[0].max(e_ref) }
        if e_d.is_finite() { worst[1] = worst[1].max(e_d) }
        if e_p.is_finite() { worst[2] = worst[2].max(e_p) }
    }
    println!("hist {hist:?} worst ref {:.2e} diffsol {:.2e} dopri {:.2e} sens {worst_sens:.2e}", worst[0], worst[1], worst[2]);
}
