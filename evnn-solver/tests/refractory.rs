//! Refractory periods ([`Refractory`]) and spike limits
//! ([`AtMostOneSpike`]) of one neuron, on every backend: spike times
//! against closed forms, blocked inputs that change nothing, the end of a
//! period that coincides with an input, periods that reach the end of the
//! run, and EventProp gradients against closed forms and finite
//! differences.

use evnn_neurons::{
    AtMostOneSpike, Lif, NeuronError, NeuronModel, Qif, Refractory, Scalar, StateVector,
};
use evnn_solver::{
    states_at, Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, EventKind, EventSolver,
    InputSpike, NeuronTrace, Next, QifSeries, RunPlan, SolverError, SolverOptions, Stepper,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

/// LIF with `τ_m = 10`, `τ_s = 5`, `θ = 1`, `v_r = 0`.
fn lif() -> Lif {
    Lif::new(10.0, 5.0, 1.0, 0.0).unwrap()
}

/// Time for a constant drive `b > θ` to lift `v` from 0 to `θ` (`i = 0`):
/// `v(t) = b(1 − e^{−t/τ_m})`, so `T = −τ_m ln(1 − θ/b)`.
fn lif_time_to_threshold(b: f64) -> f64 {
    -10.0 * (1.0 - 1.0 / b).ln()
}

fn tight() -> SolverOptions {
    SolverOptions::default().with_tolerances(1e-12, 1e-12)
}

fn simulate<N: NeuronModel, B: Backend<N> + Adjoint<N>>(
    model: N,
    backend: B,
    opts: SolverOptions,
    p: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
) -> NeuronTrace<N::State> {
    EventSolver::new(model, backend, opts)
        .unwrap()
        .simulate(p, inputs, t_end)
        .unwrap()
}

/// Asserts spikes at `first + n·period` for every such time before
/// `t_end`, within `tol` relative, and each period's end logged at
/// `t_k + t_ref` exactly, in the spike's reset state.
fn assert_periodic<S: StateVector>(
    name: &str,
    trace: &NeuronTrace<S>,
    first: f64,
    period: f64,
    t_ref: f64,
    t_end: f64,
    tol: f64,
) {
    let n_expected = ((t_end - first) / period).floor() as usize + 1;
    assert_eq!(trace.spikes.len(), n_expected, "{name}: {:?}", trace.spikes);
    assert!(n_expected >= 3, "{name}");
    for (n, &t) in trace.spikes.iter().enumerate() {
        let expected = first + n as f64 * period;
        assert!(
            (t - expected).abs() <= tol * expected,
            "{name}, spike {n}: got {t}, expected {expected}"
        );
    }
    for (k, w) in trace.events.windows(2).enumerate() {
        if let EventKind::Spike { k: j } = w[0].kind {
            assert_eq!(w[1].kind, EventKind::RefractoryEnd { k: j }, "{name} {k}");
            assert_eq!(w[1].t, w[0].t + t_ref, "{name}: end of period {j}");
            assert_eq!(w[1].x_minus, w[0].x_plus, "{name}");
            assert_eq!(w[1].x_plus, w[0].x_plus, "{name}");
            assert!(w[0].f_plus.as_slice().iter().all(|&f| f == 0.0), "{name}");
            assert!(w[1].f_minus.as_slice().iter().all(|&f| f == 0.0), "{name}");
        }
    }
}

/// A LIF under a constant drive `b` fires with the period of the closed
/// form plus `t_ref`: spikes at `T + n(T + t_ref)`, `T` the time to the
/// threshold from the reset state `(0, 0)`, on every backend.
#[test]
fn constant_drive_lif_period_is_time_to_threshold_plus_t_ref() {
    let (b, t_ref, t_end) = (1.5, 2.5, 100.0);
    let model = Refractory::new(lif(), t_ref).unwrap();
    let first = lif_time_to_threshold(b);
    let period = first + t_ref;
    let tr = simulate(model, ClosedForm, tight(), &[b], &[], t_end);
    assert_periodic("closed form", &tr, first, period, t_ref, t_end, 1e-13);
    let tr = simulate(model, Dopri5Backend::default(), tight(), &[b], &[], t_end);
    assert_periodic("dopri5", &tr, first, period, t_ref, t_end, 1e-9);
    let tr = simulate(model, DiffsolBackend::default(), tight(), &[b], &[], t_end);
    assert_periodic("diffsol", &tr, first, period, t_ref, t_end, 1e-9);
}

/// A QIF under a constant current `b > ¼` (`k = √(b − ¼)`) first spikes at
/// `τ/k·(π/2 + atan(1/(2k)))` and then every `πτ/k` from the reset phase
/// 0; with a refractory period, every `πτ/k + t_ref`.
#[test]
fn constant_drive_qif_period_is_the_closed_form_plus_t_ref() {
    let qif = Qif::new(20.0, 5.0).unwrap();
    let (b, t_ref, t_end) = (1.0, 4.0, 400.0);
    let model = Refractory::new(qif, t_ref).unwrap();
    let k = (b - 0.25_f64).sqrt();
    let first = 20.0 / k * (PI / 2.0 + (1.0 / (2.0 * k)).atan());
    let period = PI * 20.0 / k + t_ref;
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let tr = simulate(model, QifSeries, opts, &[b], &[], t_end);
    assert_periodic("QIF series", &tr, first, period, t_ref, t_end, 1e-9);
    let tr = simulate(model, Dopri5Backend::default(), opts, &[b], &[], t_end);
    assert_periodic("QIF dopri5", &tr, first, period, t_ref, t_end, 1e-9);
}

/// Inputs inside the refractory periods change nothing: the spikes and
/// every other event are those of the run without them, bit for bit, on
/// every backend; each is logged as blocked in the frozen state, and its
/// gradient is zero. The same inputs do move the spikes of the model
/// without a refractory period.
#[test]
fn blocked_inputs_change_nothing() {
    let (b, t_ref, t_end) = (1.5, 2.5, 60.0);
    fn case<B: Backend<Refractory<Lif>> + Adjoint<Refractory<Lif>> + Clone>(
        name: &str,
        backend: B,
        b: f64,
        t_ref: f64,
        t_end: f64,
    ) {
        let model = Refractory::new(lif(), t_ref).unwrap();
        let quiet = simulate(model, backend.clone(), tight(), &[b], &[], t_end);
        let mut inputs = Vec::new();
        for &t in &quiet.spikes {
            inputs.push(InputSpike::new(t + 0.25 * t_ref, 5.0));
            inputs.push(InputSpike::new(t + 0.75 * t_ref, -3.0));
        }
        let mut solver = EventSolver::new(model, backend, tight()).unwrap();
        let tr = solver.simulate(&[b], &inputs, t_end).unwrap();
        assert_eq!(tr.spikes, quiet.spikes, "{name}");
        let kept: Vec<_> = tr
            .events
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::Blocked { .. }))
            .collect();
        assert_eq!(kept, quiet.events.iter().collect::<Vec<_>>(), "{name}");
        let blocked: Vec<_> = tr
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Blocked { index } => Some((index, e)),
                _ => None,
            })
            .collect();
        assert_eq!(blocked.len(), inputs.len(), "{name}");
        for (m, (index, e)) in blocked.iter().enumerate() {
            assert_eq!(*index, m, "{name}");
            assert_eq!(e.t, inputs[m].time, "{name}");
            assert_eq!(e.x_minus, e.x_plus, "{name}");
            assert_eq!(e.x_plus, [0.0, 0.0], "{name}: the reset state");
        }
        let dl: Vec<f64> = (0..tr.spikes.len()).map(|k| 1.0 - 0.2 * k as f64).collect();
        let g = solver
            .gradient(&[b], &inputs, &tr, &dl, Some(&[0.3, -0.2]))
            .unwrap();
        assert!(g.weights.iter().all(|&w| w == 0.0), "{name}: {g:?}");
        assert!(g.input_times.iter().all(|&s| s == 0.0), "{name}: {g:?}");
        assert!(g.params[0] != 0.0, "{name}");
        let plain = simulate(lif(), ClosedForm, tight(), &[b], &inputs, t_end);
        assert_ne!(
            plain.spikes, quiet.spikes,
            "{name}: the inputs matter without"
        );
    }
    case("closed form", ClosedForm, b, t_ref, t_end);
    case("dopri5", Dopri5Backend::default(), b, t_ref, t_end);
    case("diffsol", DiffsolBackend::default(), b, t_ref, t_end);
}

/// The period is `[t_k, t_k + t_ref)`: an input at the last float before
/// its end is blocked; one exactly at its end (two, in fact) is applied
/// after the end is logged, on every backend and whether the input is
/// known from the start or only once the run has reached the end.
#[test]
fn a_period_that_ends_at_an_input_is_handled_deterministically() {
    let (b, t_ref, t_end) = (1.5, 2.5, 40.0);
    let t0 = lif_time_to_threshold(b);
    fn case<B: Backend<Refractory<Lif>> + Adjoint<Refractory<Lif>> + Clone>(
        name: &str,
        backend: B,
        b: f64,
        t_ref: f64,
        t_end: f64,
    ) {
        let model = Refractory::new(lif(), t_ref).unwrap();
        let quiet = simulate(model, backend.clone(), tight(), &[b], &[], t_end);
        let t_e = quiet.spikes[0] + t_ref;
        let inputs = [
            InputSpike::new(t_e.next_down(), 4.0),
            InputSpike::new(t_e, 2.0),
            InputSpike::new(t_e, 1.0),
        ];
        let tr = simulate(model, backend.clone(), tight(), &[b], &inputs, t_end);
        let kinds: Vec<_> = tr.events.iter().map(|e| (e.t, e.kind)).collect();
        assert_eq!(
            kinds[..5],
            [
                (quiet.spikes[0], EventKind::Spike { k: 0 }),
                (t_e.next_down(), EventKind::Blocked { index: 0 }),
                (t_e, EventKind::RefractoryEnd { k: 0 }),
                (t_e, EventKind::Input { index: 1 }),
                (t_e, EventKind::Input { index: 2 }),
            ],
            "{name}"
        );
        assert_eq!(tr.events[3].x_plus, [0.0, 2.0], "{name}");
        assert_eq!(tr.events[4].x_plus, [0.0, 3.0], "{name}");
        // The same run again, and driven by a caller that learns the inputs
        // at the end of the period only once the run has reached it.
        let again = simulate(model, backend.clone(), tight(), &[b], &inputs, t_end);
        assert_eq!(again, tr, "{name}");
        let plan = RunPlan::new(t_end, &tight()).unwrap();
        let mut revealed = NeuronTrace::new(model.initial_state());
        let mut stepper = backend.stepper(&model, &[b], &plan).unwrap();
        let mut run = plan.start(&model, &[b], &mut revealed).unwrap();
        let (mut known, mut horizon) = (1, t_e);
        loop {
            match run
                .advance(
                    &model,
                    &mut stepper,
                    &mut revealed,
                    &inputs[..known],
                    horizon,
                )
                .unwrap()
            {
                Next::Step(t_stop) => {
                    stepper.step(t_stop).unwrap();
                    run.after_step(&model, &mut stepper, &mut revealed).unwrap();
                }
                Next::Wait => {
                    assert_eq!(stepper.t(), t_e, "{name}: waits at the end of the period");
                    (known, horizon) = (3, f64::INFINITY);
                }
                Next::Done => break,
            }
        }
        assert_eq!(revealed, tr, "{name}");
    }
    case("closed form", ClosedForm, b, t_ref, t_end);
    case("dopri5", Dopri5Backend::default(), b, t_ref, t_end);
    case("diffsol", DiffsolBackend::default(), b, t_ref, t_end);
    assert!(t0 + t_ref < t_end);
}

/// A period that reaches `t_end` ends the run frozen: no end is logged,
/// later inputs are blocked, the final state is the reset state, and the
/// state anywhere in the period is too.
#[test]
fn a_period_that_reaches_the_end_ends_the_run_frozen() {
    let (b, t_end) = (1.5, 30.0);
    let model = Refractory::new(lif(), 100.0).unwrap();
    let inputs = [InputSpike::new(20.0, 5.0), InputSpike::new(29.0, 1.0)];
    for (name, tr) in [
        (
            "closed form",
            simulate(model, ClosedForm, tight(), &[b], &inputs, t_end),
        ),
        (
            "dopri5",
            simulate(
                model,
                Dopri5Backend::default(),
                tight(),
                &[b],
                &inputs,
                t_end,
            ),
        ),
    ] {
        assert_eq!(tr.spikes.len(), 1, "{name}");
        let kinds: Vec<_> = tr.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Spike { k: 0 },
                EventKind::Blocked { index: 0 },
                EventKind::Blocked { index: 1 }
            ],
            "{name}"
        );
        assert_eq!((tr.t_end, tr.x_end), (t_end, [0.0, 0.0]), "{name}");
        let mut states = Vec::new();
        let times = [tr.spikes[0] + 1e-3, 20.0, 25.0, t_end];
        states_at(&model, &[b], &tr, &times, &tight(), &mut states).unwrap();
        assert_eq!(states, vec![[0.0, 0.0]; 4], "{name}");
        // Before the spike, the free flow from the initial state.
        states_at(&model, &[b], &tr, &[5.0], &tight(), &mut states).unwrap();
        let exact = lif().evolve(&[b], &[0.0, 0.0], 5.0);
        assert!((states[0][0] - exact[0]).abs() < 1e-9, "{name}");
    }
}

/// `AtMostOneSpike`: the run ends at the first spike on every backend,
/// whatever `stop_after_spikes` says: the trace of the wrapped model's run
/// stopped there, except the frozen `f⁺ = 0` at the spike.
#[test]
fn at_most_one_spike_ends_the_run_at_the_first_spike() {
    let (b, t_end) = (1.5, 100.0);
    let inputs = [InputSpike::new(3.0, 2.0), InputSpike::new(30.0, 2.0)];
    fn case<M, B>(
        name: &str,
        model: M,
        backend: B,
        p: &M::Params,
        inputs: &[InputSpike],
        t_end: f64,
    ) where
        M: NeuronModel,
        B: Backend<M> + Backend<AtMostOneSpike<M>> + Clone,
        B: Adjoint<M> + Adjoint<AtMostOneSpike<M>>,
    {
        let amos = AtMostOneSpike::new(model.clone());
        let free = simulate(model.clone(), backend.clone(), tight(), p, inputs, t_end);
        assert!(free.spikes.len() >= 3, "{name}: {:?}", free.spikes);
        let stopped = simulate(
            model,
            backend.clone(),
            tight().with_stop_after_spikes(1),
            p,
            inputs,
            t_end,
        );
        for opts in [tight(), tight().with_stop_after_spikes(3)] {
            let mut tr = simulate(amos.clone(), backend.clone(), opts, p, inputs, t_end);
            assert_eq!(tr.spikes, free.spikes[..1], "{name}");
            assert_eq!(tr.t_end, free.spikes[0], "{name}");
            let last = tr.events.last_mut().unwrap();
            assert!(last.f_plus.as_slice().iter().all(|&f| f == 0.0), "{name}");
            last.f_plus = stopped.events.last().unwrap().f_plus;
            assert_eq!(tr, stopped, "{name}");
        }
    }
    case("LIF closed form", lif(), ClosedForm, &[b], &inputs, t_end);
    case(
        "LIF dopri5",
        lif(),
        Dopri5Backend::default(),
        &[b],
        &inputs,
        t_end,
    );
    let qif = Qif::new(20.0, 5.0).unwrap();
    case("QIF series", qif, QifSeries, &[1.0], &inputs, 300.0);
    case(
        "QIF diffsol",
        qif,
        DiffsolBackend::default(),
        &[1.0],
        &inputs,
        300.0,
    );
}

/// The bias gradient of the `n`-th spike of a constant-drive LIF with a
/// refractory period against the closed form: `t_n = T(b) + n(T(b) +
/// t_ref)`, so `dt_n/db = (n + 1) T'(b)` with `T'(b) = −τ_m θ/(b(b − θ))`.
/// The term of each period's end carries the `n` earlier spikes' shifts.
#[test]
fn bias_gradient_of_a_constant_drive_matches_the_closed_form() {
    let (b, t_ref, t_end) = (1.5, 2.5, 100.0);
    let dt_db = -10.0 / (b * (b - 1.0));
    fn case<B: Backend<Refractory<Lif>> + Adjoint<Refractory<Lif>>>(
        name: &str,
        backend: B,
        b: f64,
        t_ref: f64,
        t_end: f64,
        dt_db: f64,
        tol: f64,
    ) {
        let mut s =
            EventSolver::new(Refractory::new(lif(), t_ref).unwrap(), backend, tight()).unwrap();
        let tr = s.simulate(&[b], &[], t_end).unwrap();
        assert!(tr.spikes.len() >= 5, "{name}");
        for n in 0..tr.spikes.len() {
            let mut dl = vec![0.0; tr.spikes.len()];
            dl[n] = 1.0;
            let g = s.gradient(&[b], &[], &tr, &dl, None).unwrap();
            let expected = (n + 1) as f64 * dt_db;
            assert!(
                (g.params[0] - expected).abs() <= tol * expected.abs(),
                "{name}, spike {n}: got {}, expected {expected}",
                g.params[0]
            );
        }
    }
    case("closed form", ClosedForm, b, t_ref, t_end, dt_db, 1e-10);
    case(
        "dopri5",
        Dopri5Backend::default(),
        b,
        t_ref,
        t_end,
        dt_db,
        1e-7,
    );
}

/// The loss `L = Σ_k c_k t_k + d·x(T)` of a run, and its event sequence.
fn loss<N: NeuronModel, B: Backend<N>>(
    solver: &mut EventSolver<N, B>,
    p: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
    c: &[f64],
    d: &N::State,
) -> Option<(f64, Vec<EventKind>)> {
    let tr = solver.simulate(p, inputs, t_end).ok()?;
    let l = tr
        .spikes
        .iter()
        .enumerate()
        .map(|(k, t)| c[k % c.len()] * t)
        .sum::<f64>()
        + d.dot(&tr.x_end);
    Some((l, tr.events.iter().map(|e| e.kind).collect()))
}

/// Compares every gradient entry of `solver` (bias, each weight, each
/// input time) with five-point central differences of the loss computed
/// by `reference`, at steps `h` and `h/2`, to `1e-6` relative (`1e-8`
/// absolute); an entry whose perturbed runs change the event sequence
/// (an input moves into or out of a period, a spike appears), or whose two
/// difference quotients disagree by a tenth of the tolerance, is skipped.
/// Panics on a mismatch; returns (compared, entries).
#[allow(clippy::too_many_arguments)]
fn gradcheck<N: NeuronModel, B: Backend<N> + Adjoint<N>, R: Backend<N>>(
    name: &str,
    solver: &mut EventSolver<N, B>,
    reference: &mut EventSolver<N, R>,
    p: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
    c: &[f64],
    d: &N::State,
) -> (usize, usize) {
    let h = 1e-3;
    let tr = solver.simulate(p, inputs, t_end).unwrap();
    let dl: Vec<f64> = (0..tr.spikes.len()).map(|k| c[k % c.len()]).collect();
    let g = solver.gradient(p, inputs, &tr, &dl, Some(d)).unwrap();
    let base: Vec<EventKind> = tr.events.iter().map(|e| e.kind).collect();
    let (mut compared, mut entries) = (0, 0);
    let mut cmp = |what: String,
                   analytic: f64,
                   eval: &mut dyn FnMut(f64) -> Option<(f64, Vec<EventKind>)>| {
        entries += 1;
        let mut fds = [0.0; 2];
        for (fd, step) in fds.iter_mut().zip([h, 0.5 * h]) {
            let mut l = [0.0; 4];
            for (slot, m) in l.iter_mut().zip([2.0, 1.0, -1.0, -2.0]) {
                match eval(m * step) {
                    Some((v, kinds)) if kinds == base => *slot = v,
                    _ => return,
                }
            }
            let [lp2, lp1, lm1, lm2] = l;
            *fd = (-lp2 + 8.0 * lp1 - 8.0 * lm1 + lm2) / (12.0 * step);
        }
        let fd = fds[1];
        let allowed = 1e-8f64.max(1e-6 * fd.abs().max(analytic.abs()));
        if (fds[0] - fds[1]).abs() > 0.1 * allowed {
            return;
        }
        compared += 1;
        assert!(
            (analytic - fd).abs() <= allowed,
            "{name}: {what}: adjoint {analytic}, finite differences {fd} (spikes {:?})",
            tr.spikes
        );
    };
    for k in 0..N::Params::DIM {
        cmp(
            format!("dL/dp[{k}]"),
            g.params.as_slice()[k],
            &mut |delta| {
                let mut q = *p;
                q.as_mut_slice()[k] += delta;
                loss(reference, &q, inputs, t_end, c, d)
            },
        );
    }
    for m in 0..inputs.len() {
        cmp(format!("dL/dw[{m}]"), g.weights[m], &mut |delta| {
            let mut q = inputs.to_vec();
            q[m].weight += delta;
            loss(reference, p, &q, t_end, c, d)
        });
        let lo = if m > 0 { inputs[m - 1].time } else { 0.0 };
        let hi = inputs.get(m + 1).map_or(f64::INFINITY, |s| s.time);
        if inputs[m].time - 2.0 * h > lo && inputs[m].time + 2.0 * h < hi {
            cmp(format!("dL/ds[{m}]"), g.input_times[m], &mut |delta| {
                let mut q = inputs.to_vec();
                q[m].time += delta;
                loss(reference, p, &q, t_end, c, d)
            });
        }
    }
    (compared, entries)
}

/// Sorted random inputs on `[0, 30)` with weights in `w`.
fn random_inputs(rng: &mut ChaCha8Rng, n: usize, w: (f64, f64)) -> Vec<InputSpike> {
    let mut times: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..30.0)).collect();
    times.sort_by(f64::total_cmp);
    times
        .into_iter()
        .map(|t| InputSpike::new(t, rng.random_range(w.0..w.1)))
        .collect()
}

/// What a set of gradient cases did: compared entries of all, and the
/// blocked inputs and ends of periods in their runs.
#[derive(Default, Debug)]
struct Tally {
    compared: usize,
    entries: usize,
    blocked: usize,
    ends: usize,
    spikes: usize,
}

impl Tally {
    fn add<S>(&mut self, (compared, entries): (usize, usize), tr: &NeuronTrace<S>) {
        self.compared += compared;
        self.entries += entries;
        self.spikes += tr.spikes.len();
        for e in &tr.events {
            match e.kind {
                EventKind::Blocked { .. } => self.blocked += 1,
                EventKind::RefractoryEnd { .. } => self.ends += 1,
                _ => {}
            }
        }
    }

    /// At least 80 % of the entries compared, and the runs had spikes
    /// (25, or 12 of at most 16 without `periods`), blocked inputs and ends
    /// of periods (with `periods`).
    fn assert_enough(&self, name: &str, periods: bool) {
        eprintln!("{name}: {self:?}");
        assert!(self.compared * 10 >= self.entries * 8, "{name}: {self:?}");
        assert!(self.compared >= 100, "{name}: {self:?}");
        if periods {
            assert!(self.spikes >= 25, "{name}: {self:?}");
            assert!(self.blocked >= 10 && self.ends >= 20, "{name}: {self:?}");
        } else {
            assert!(self.spikes >= 12, "{name}: {self:?}");
        }
    }
}

/// 16 random single-neuron cases of `model` per backend: every compared
/// entry agrees with finite differences of the reference (the closed-form
/// LIF or the QIF series at tolerance 1e-13), a loss on every spike and on
/// the final state.
#[allow(clippy::too_many_arguments)]
fn random_gradients<N, B, R>(
    name: &str,
    model: N,
    backend: B,
    reference: R,
    weights: (f64, f64),
    bias: (f64, f64),
    d: N::State,
    periods: bool,
) where
    N: NeuronModel<Params = [f64; 1]>,
    B: Backend<N> + Adjoint<N>,
    R: Backend<N>,
{
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let mut s = EventSolver::new(model.clone(), backend, opts).unwrap();
    let mut r = EventSolver::new(model, reference, opts).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut tally = Tally::default();
    for _ in 0..16 {
        let n = rng.random_range(3..9);
        let inputs = random_inputs(&mut rng, n, weights);
        let p = [rng.random_range(bias.0..bias.1)];
        let c: Vec<f64> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let counts = gradcheck(name, &mut s, &mut r, &p, &inputs, 30.0, &c, &d);
        tally.add(counts, &s.simulate(&p, &inputs, 30.0).unwrap());
    }
    tally.assert_enough(name, periods);
}

#[test]
fn refractory_lif_gradients_match_finite_differences() {
    let model = Refractory::new(lif(), 1.5).unwrap();
    let (w, b, d) = ((-2.0, 6.0), (0.8, 1.6), [0.3, -0.2]);
    random_gradients(
        "LIF closed form",
        model,
        ClosedForm,
        ClosedForm,
        w,
        b,
        d,
        true,
    );
    let dopri5 = Dopri5Backend::default();
    random_gradients("LIF dopri5", model, dopri5, ClosedForm, w, b, d, true);
}

#[test]
fn refractory_qif_gradients_match_finite_differences() {
    let model = Refractory::new(Qif::new(10.0, 5.0).unwrap(), 3.0).unwrap();
    let (w, b, d) = ((-5.0, 20.0), (1.0, 4.0), [0.2, 0.1]);
    random_gradients("QIF series", model, QifSeries, QifSeries, w, b, d, true);
    let dopri5 = Dopri5Backend::default();
    random_gradients("QIF dopri5", model, dopri5, QifSeries, w, b, d, true);
}

#[test]
fn at_most_one_spike_gradients_match_finite_differences() {
    let model = AtMostOneSpike::new(lif());
    let (w, b, d) = ((-2.0, 6.0), (0.5, 1.2), [0.3, -0.2]);
    random_gradients("AMOS LIF", model, ClosedForm, ClosedForm, w, b, d, false);
    let model = AtMostOneSpike::new(Qif::new(10.0, 5.0).unwrap());
    let (w, b, d) = ((-5.0, 15.0), (0.1, 0.8), [0.2, 0.1]);
    random_gradients("AMOS QIF", model, QifSeries, QifSeries, w, b, d, false);
}

/// A model of one's own whose refractory period or spike limit is out of
/// range: the run's start names it.
#[derive(Clone, Debug)]
struct Odd {
    period: f64,
    limit: Option<usize>,
}

impl NeuronModel for Odd {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "odd";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 2] {
        [0.0; 2]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        lif().dynamics(p, x, dx)
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        lif().event(x)
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        lif().reset(x)
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        lif().input_jump(x, w)
    }
    fn refractory_period(&self) -> f64 {
        self.period
    }
    fn spike_limit(&self) -> Option<usize> {
        self.limit
    }
}

#[test]
fn bad_refractory_period_or_spike_limit_of_a_model_is_named() {
    for (period, limit, name) in [
        (f64::NAN, None, "refractory_period"),
        (-1.0, None, "refractory_period"),
        (f64::INFINITY, None, "refractory_period"),
        (0.0, Some(0), "spike_limit"),
    ] {
        let model = Odd { period, limit };
        let mut s = EventSolver::new(model, Dopri5Backend::default(), tight()).unwrap();
        match s.simulate(&[1.5], &[], 10.0) {
            Err(SolverError::Model(NeuronError::InvalidConstant {
                model: "odd",
                name: got,
                value,
                ..
            })) => {
                assert_eq!(got, name);
                if limit.is_none() {
                    assert_eq!(value.to_bits(), period.to_bits());
                }
            }
            other => panic!("{period} {limit:?}: {other:?}"),
        }
    }
    for t_ref in [0.0, -2.0, f64::NAN] {
        let err = Refractory::new(lif(), t_ref).unwrap_err();
        assert!(err.to_string().contains("t_ref"), "{err}");
    }
}
