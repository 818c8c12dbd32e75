//! The Dormand–Prince backend's sensitivity log
//! ([`Backend::log_sensitivities`]): a run that logs its segments'
//! sensitivities is the same run as one that does not, bit for bit; the
//! logged transition matrices are the state's derivatives (against the LIF
//! closed form); and the adjoint that takes them from the log gives the
//! gradient of the adjoint that integrates them again, for every built-in
//! model family on the generic path.

use evnn_neurons::{
    Alif, AlifConstants, Derived, Eif, IzhikevichConstants, Lif, NeuronModel, PIzhikevich, Qif,
    StateVector,
};
use evnn_solver::{
    AdjointRun, Backend, Dopri5Backend, EventSolver, InputSpike, NeuronGradient, NeuronTrace,
    SolverOptions,
};

/// Inputs that make each model spike a few times: `n` spikes of weights
/// alternating in sign around `w`, spread over `[0, 25)`.
fn inputs(n: usize, w: f64, seed: u64) -> Vec<InputSpike> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut times: Vec<f64> = (0..n).map(|_| 25.0 * next()).collect();
    times.sort_by(f64::total_cmp);
    times
        .into_iter()
        .enumerate()
        .map(|(i, t)| InputSpike::new(t, w * if i % 4 == 3 { -0.5 } else { 1.0 } * (0.5 + next())))
        .collect()
}

fn solver<N: NeuronModel>(
    model: N,
    log: bool,
    opts: SolverOptions,
) -> EventSolver<N, Dopri5Backend> {
    let mut backend = Dopri5Backend::default();
    // Through the trait, as a network's passes set it; and the builder.
    assert!(Backend::<N>::log_sensitivities(&mut backend, !log));
    EventSolver::new(model, backend.with_sensitivity_log(log), opts).unwrap()
}

fn bits<S: StateVector>(x: &S) -> Vec<u64> {
    x.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// The two runs' spikes, events, end and step counts are equal bit for bit;
/// only the logging one has a log.
fn assert_same_run<S: StateVector + std::fmt::Debug>(
    off: &NeuronTrace<S>,
    on: &NeuronTrace<S>,
    what: &str,
) {
    assert!(
        off.sensitivities().is_empty(),
        "{what}: a log without logging"
    );
    assert!(!on.sensitivities().is_empty(), "{what}: no log");
    let spikes = |t: &NeuronTrace<S>| t.spikes.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(spikes(off), spikes(on), "{what}: spikes");
    assert_eq!(off.events.len(), on.events.len(), "{what}: events");
    for (a, b) in off.events.iter().zip(&on.events) {
        assert_eq!(a.t.to_bits(), b.t.to_bits(), "{what}: event time");
        assert_eq!(a.kind, b.kind, "{what}: event kind");
        for (x, y) in [
            (&a.x_minus, &b.x_minus),
            (&a.x_plus, &b.x_plus),
            (&a.f_minus, &b.f_minus),
            (&a.f_plus, &b.f_plus),
        ] {
            assert_eq!(bits(x), bits(y), "{what}: event at {}", a.t);
        }
    }
    assert_eq!(bits(&off.x_end), bits(&on.x_end), "{what}: end state");
    assert_eq!(off.t_end.to_bits(), on.t_end.to_bits(), "{what}: end time");
    assert_eq!(off.steps, on.steps, "{what}: steps");
}

/// Runs `model` on 12 input lists with and without the log: the same runs,
/// and gradients (a loss of every spike time and of the end state) that
/// differ from a reference (the adjoint integrated again at tolerance
/// 1e-13) by at most `rel` of its largest entry with the log, and in all by
/// at most 1.5 times as much as without it. Returns the number of gradient
/// entries compared and of segments taken from the log.
fn check_model<N: NeuronModel>(
    name: &str,
    model: N,
    params: N::Params,
    w: f64,
    opts: SolverOptions,
    rel: f64,
) -> (usize, usize) {
    let reference_opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let mut reference = solver(model.clone(), false, reference_opts);
    let (mut off, mut on) = (
        solver(model.clone(), false, opts),
        solver(model, true, opts),
    );
    let (mut compared, mut logged, mut spikes) = (0, 0, 0);
    let (mut err_off, mut err_on) = (0.0, 0.0);
    for seed in 0..12 {
        let inputs = inputs(14, w, seed);
        let what = format!("{name}, seed {seed}");
        let a = off.simulate(&params, &inputs, 30.0).unwrap();
        let b = on.simulate(&params, &inputs, 30.0).unwrap();
        assert_same_run(&a, &b, &what);
        let r = reference.simulate(&params, &inputs, 30.0).unwrap();
        assert_eq!(
            r.spikes.len(),
            a.spikes.len(),
            "{what}: the reference's spike count"
        );
        spikes += a.spikes.len();
        logged += b.sensitivities().len() / (2 + N::State::DIM * (N::State::DIM + N::Params::DIM));
        let dl: Vec<f64> = (0..a.spikes.len()).map(|k| 1.0 - 0.3 * k as f64).collect();
        let dx_end = N::State::from_slice(&vec![0.7; N::State::DIM]).unwrap();
        let flat = |g: evnn_solver::NeuronGradient<N::Params>| {
            let mut v = g.params.as_slice().to_vec();
            v.extend(&g.weights);
            v.extend(&g.input_times);
            v
        };
        let gr = flat(
            reference
                .gradient(&params, &inputs, &r, &dl, Some(&dx_end))
                .unwrap(),
        );
        let ga = flat(
            off.gradient(&params, &inputs, &a, &dl, Some(&dx_end))
                .unwrap(),
        );
        let gb = flat(
            on.gradient(&params, &inputs, &b, &dl, Some(&dx_end))
                .unwrap(),
        );
        let scale = gr.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 0.0, "{what}: a zero gradient compares nothing");
        let error = |g: &[f64]| {
            gr.iter()
                .zip(g)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
                / scale
        };
        let (ea, eb) = (error(&ga), error(&gb));
        assert!(
            eb <= rel,
            "{what}: the logged gradient is {eb:e} off the reference (integrated again: {ea:e})"
        );
        err_off += ea;
        err_on += eb;
        compared += gr.len();
    }
    assert!(
        spikes >= 12,
        "{name}: {spikes} spikes in 12 runs test too little"
    );
    println!(
        "{name}, tolerance {:e}: {compared} gradient entries, {logged} segments logged, {spikes} spikes; \
         mean error against the reference: logged {:.2e}, integrated again {:.2e}",
        opts.rtol,
        err_on / 12.0,
        err_off / 12.0
    );
    (compared, logged)
}

#[test]
fn logged_runs_are_the_same_runs_with_the_same_gradient() {
    let tight = SolverOptions::default().with_tolerances(1e-10, 1e-10);
    let default = SolverOptions::default();
    let mut total = (0, 0);
    for (opts, rel) in [(tight, 1e-6), (default, 1e-2)] {
        let mut add = |(c, l): (usize, usize)| {
            total.0 += c;
            total.1 += l;
        };
        add(check_model("LIF", Lif::default(), [0.0], 3.0, opts, rel));
        add(check_model("QIF", Qif::default(), [0.1], 6.0, opts, rel));
        add(check_model(
            "QIF, derived",
            Derived(Qif::default()),
            [0.1],
            6.0,
            opts,
            rel,
        ));
        add(check_model(
            "EIF",
            Eif::default(),
            Eif::default().default_params(),
            8.0,
            opts,
            rel,
        ));
        let pizh = PIzhikevich::new(IzhikevichConstants::default()).unwrap();
        add(check_model(
            "PIzhikevich",
            pizh,
            pizh.default_params(),
            12.0,
            opts,
            rel,
        ));
        let alif = Alif::new(AlifConstants::new(20.0, 200.0, 1.0, 3.0)).unwrap();
        add(check_model(
            "ALIF",
            alif,
            alif.default_params(),
            3.0,
            opts,
            rel,
        ));
    }
    println!(
        "{} gradient entries compared, {} segments from the log",
        total.0, total.1
    );
}

/// The logged `Φ` and `S` of the LIF's segments against central differences
/// of its closed-form flow `x(t_b) = evolve(p, x(t_a), t_b − t_a)`.
#[test]
fn logged_transition_matrices_are_the_lif_flow_derivatives() {
    let lif = Lif::default();
    let p = [0.2];
    let opts = SolverOptions::default().with_tolerances(1e-11, 1e-11);
    let mut on = solver(lif, true, opts);
    let inputs = inputs(10, 3.0, 7);
    let trace = on.simulate(&p, &inputs, 30.0).unwrap();
    let log = trace.sensitivities();
    let stride = 2 + 2 * 2 + 2;
    assert_eq!(log.len() % stride, 0);
    // Segment starts: 0, then every event's time, in order.
    let starts: Vec<f64> = std::iter::once(0.0)
        .chain(trace.events.iter().map(|e| e.t))
        .collect();
    assert_eq!(
        log.len() / stride,
        starts.len(),
        "one segment per restart and the start"
    );
    let mut checked = 0;
    for (i, entry) in log.chunks(stride).enumerate() {
        let (t_a, t_b) = (entry[0], entry[1]);
        assert_eq!(t_a.to_bits(), starts[i].to_bits(), "segment {i} start");
        let t_next = trace.events.get(i).map_or(trace.t_end, |e| e.t);
        assert_eq!(t_b.to_bits(), t_next.to_bits(), "segment {i} end");
        if t_b - t_a < 1e-3 {
            continue;
        }
        let x_a = if i == 0 {
            lif.initial_state()
        } else {
            trace.events[i - 1].x_plus
        };
        let dt = t_b - t_a;
        let e = 1e-5;
        for c in 0..3 {
            let (mut xp, mut xm, mut pp, mut pm) = (x_a, x_a, p, p);
            if c < 2 {
                xp[c] += e;
                xm[c] -= e;
            } else {
                pp[0] += e;
                pm[0] -= e;
            }
            let (a, b) = (lif.evolve(&pp, &xp, dt), lif.evolve(&pm, &xm, dt));
            for r in 0..2 {
                let fd = (a[r] - b[r]) / (2.0 * e);
                let got = entry[2 + 2 * c + r];
                assert!(
                    (got - fd).abs() <= 1e-7 * fd.abs().max(1.0),
                    "segment {i} [{t_a}, {t_b}], column {c}, row {r}: logged {got}, differences {fd}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "{checked} entries checked");
    // A run ended at its first spike logs that spike's segment and the
    // zero-length one after it once each.
    let first = SolverOptions {
        stop_after_spikes: Some(1),
        ..opts
    };
    let stopped = solver(lif, true, first)
        .simulate(&p, &inputs, 30.0)
        .unwrap();
    assert_eq!(stopped.spikes.len(), 1);
    assert_eq!(
        stopped.sensitivities().len(),
        (stopped.events.len() + 1) * stride
    );
}

/// A log that does not fit the trace is not used: with one of the wrong
/// length (a log of another model's run) or whose segments' ends are not
/// the trace's (another run's log), the adjoint integrates every segment
/// again, and the gradient is that of the trace without a log, bit for
/// bit.
#[test]
fn a_log_that_does_not_fit_is_not_used() {
    let qif = Qif::default();
    let p = [0.1];
    let opts = SolverOptions::default();
    let (mut off, mut on) = (solver(qif, false, opts), solver(qif, true, opts));
    let inputs = inputs(14, 6.0, 3);
    let plain = off.simulate(&p, &inputs, 30.0).unwrap();
    let logged = on.simulate(&p, &inputs, 30.0).unwrap();
    assert!(!plain.spikes.is_empty());
    let dl = vec![1.0; plain.spikes.len()];
    let integrated = off.gradient(&p, &inputs, &plain, &dl, None).unwrap();
    let from_log = on.gradient(&p, &inputs, &logged, &dl, None).unwrap();
    assert_ne!(integrated, from_log, "the log is used when it fits");
    let edit = |f: &dyn Fn(&mut Vec<serde_json::Value>)| -> NeuronTrace<[f64; 2]> {
        let mut v = serde_json::to_value(&logged).unwrap();
        f(v["sensitivities"].as_array_mut().unwrap());
        serde_json::from_value(v).unwrap()
    };
    let stride = 2 + 2 * 3;
    let wrong_length = edit(&|log| {
        log.pop();
    });
    let other_ends = edit(&|log| {
        for i in (0..log.len()).step_by(stride) {
            let t_b = log[i + 1].as_f64().unwrap();
            log[i + 1] = (t_b + 1e-9).into();
        }
    });
    for (what, trace) in [("wrong length", wrong_length), ("other ends", other_ends)] {
        let g = on.gradient(&p, &inputs, &trace, &dl, None).unwrap();
        assert_eq!(g, integrated, "{what}");
    }
    // An adjoint started on the logged trace and driven with the plain one
    // (the same events) reads no log beyond the plain one's: the
    // integrated gradient, no panic.
    let mut adjoint = Dopri5Backend::default();
    let mut g = NeuronGradient::zeros(inputs.len());
    let x_end = [0.0; 2];
    let mut run =
        AdjointRun::start(&mut adjoint, &qif, &p, &inputs, &logged, &x_end, &mut g).unwrap();
    while run.remaining() > 0 {
        run.event(&mut adjoint, &qif, &p, &inputs, &plain, &dl, &opts, &mut g)
            .unwrap();
    }
    run.finish(&mut adjoint, &qif, &p, &plain, &opts, &mut g)
        .unwrap();
    assert_eq!(g, integrated, "a run driven with another trace");
}
