//! Spikes caused by an input's jump (ALIF's voltage-jump synapses): a jump
//! that leaves the event function `>= 0` is a spike at the input's instant,
//! followed by the reset. Forward against the closed form, the EventProp
//! gradient against the closed form's implicit derivatives, simultaneous
//! inputs, bursts, a jump at `t_end`, the run's limits, and arbitrary
//! jumps that never panic, on both backends that run ALIF (Dormand–Prince
//! and diffsol).

use evnn_neurons::{Alif, AlifConstants, Reset};
use evnn_solver::{
    Adjoint, Backend, Dopri5Backend, EventKind, EventSolver, InputSpike, NeuronTrace, SolverError,
    SolverOptions,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const TAU_MEM: f64 = 10.0;
const TAU_ADAPT: f64 = 50.0;
const B0: f64 = 1.0;
const BETA: f64 = 10.0;
/// `β/τ_adapt`, the threshold's rise at a spike.
const RISE: f64 = BETA / TAU_ADAPT;

fn alif(reset: Reset) -> Alif {
    Alif::new(AlifConstants::new(TAU_MEM, TAU_ADAPT, B0, BETA).with_reset(reset)).unwrap()
}

fn opts() -> SolverOptions {
    SolverOptions::default().with_tolerances(1e-12, 1e-12)
}

/// Runs `f` with an ALIF solver on each backend that runs it.
fn on_backends(reset: Reset, options: SolverOptions, mut f: impl FnMut(&str, &mut dyn Runner)) {
    let mut dopri5 = EventSolver::new(alif(reset), Dopri5Backend::default(), options).unwrap();
    f("dopri5", &mut dopri5);
    let mut diffsol = EventSolver::diffsol(alif(reset), options).unwrap();
    f("diffsol", &mut diffsol);
}

/// Simulation and gradient of one ALIF neuron, whatever the backend.
trait Runner {
    fn simulate(
        &mut self,
        bias: f64,
        inputs: &[InputSpike],
        t_end: f64,
    ) -> Result<NeuronTrace<[f64; 2]>, SolverError>;
    /// `(dL/dI_c, dL/dw, dL/ds)` for `dL/dt_k = dl_dspikes[k]`.
    fn gradient(
        &mut self,
        bias: f64,
        inputs: &[InputSpike],
        trace: &NeuronTrace<[f64; 2]>,
        dl_dspikes: &[f64],
    ) -> (f64, Vec<f64>, Vec<f64>);
}

impl<B: Backend<Alif> + Adjoint<Alif>> Runner for EventSolver<Alif, B> {
    fn simulate(
        &mut self,
        bias: f64,
        inputs: &[InputSpike],
        t_end: f64,
    ) -> Result<NeuronTrace<[f64; 2]>, SolverError> {
        EventSolver::simulate(self, &[bias], inputs, t_end)
    }
    fn gradient(
        &mut self,
        bias: f64,
        inputs: &[InputSpike],
        trace: &NeuronTrace<[f64; 2]>,
        dl_dspikes: &[f64],
    ) -> (f64, Vec<f64>, Vec<f64>) {
        let g = EventSolver::gradient(self, &[bias], inputs, trace, dl_dspikes, None).unwrap();
        (g.params[0], g.weights, g.input_times)
    }
}

fn kinds(trace: &NeuronTrace<[f64; 2]>) -> Vec<EventKind> {
    trace.events.iter().map(|e| e.kind).collect()
}

/// `|got − expected| <= rel |expected| + abs`, with a message.
fn close(what: &str, got: f64, expected: f64, rel: f64, abs: f64) {
    assert!(
        (got - expected).abs() <= rel * expected.abs() + abs,
        "{what}: got {got}, expected {expected}"
    );
}

/// One input of weight `w` at `s` into an ALIF neuron at rest under the
/// bias `I_c`: before it `V(s⁻) = I_c(1 − e^{−s/τ_mem})`, `b = b₀`; the jump
/// to `V(s⁻) + w ≥ b₀` is a spike at exactly `s`, after which
/// `V⁺ = V(s⁻) + w − b₀` (subtractive) or 0 (hard) and `b⁺ = b₀ + β/τ_adapt`.
/// From there `V(t) = I_c + (V⁺ − I_c)E`, `b(t) = b₀ + (β/τ_adapt)A` with
/// `E = e^{−(t−s)/τ_mem}`, `A = e^{−(t−s)/τ_adapt}`; the next spike `t₂`
/// solves `g = V − b = 0` (increasing: bisection to round-off), and its
/// derivatives follow from the implicit function theorem,
/// `dt₂/dθ = −(∂g/∂θ)/ġ`. For `L = t₁ + t₂` the solver at tolerance 1e-12
/// finds `t₁ = s` bit for bit, the state after the reset and `t₂` within
/// 1e-9, and `dL/ds = 1 + dt₂/ds`, `dL/dw = dt₂/dw`, `dL/dI_c = dt₂/dI_c`
/// within 1e-6 relative.
#[test]
fn a_jump_spike_matches_the_closed_form() {
    let (bias, s, w, t_end) = (2.0, 2.0, 1.5, 30.0);
    for reset in [Reset::Subtractive, Reset::Hard] {
        let subtractive = reset == Reset::Subtractive;
        let e_s = (-s / TAU_MEM).exp();
        let v_minus = bias * (1.0 - e_s);
        let v_plus = if subtractive { v_minus + w - B0 } else { 0.0 };
        let b_plus = B0 + RISE;
        let g = |t: f64| {
            let (e, a) = ((-(t - s) / TAU_MEM).exp(), (-(t - s) / TAU_ADAPT).exp());
            bias + (v_plus - bias) * e - (B0 + RISE * a)
        };
        let (mut lo, mut hi) = (s, t_end);
        assert!(g(lo) < 0.0 && g(hi) > 0.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if g(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let t2 = hi;
        let (e, a) = ((-(t2 - s) / TAU_MEM).exp(), (-(t2 - s) / TAU_ADAPT).exp());
        let g_dot = -(v_plus - bias) * e / TAU_MEM + RISE * a / TAU_ADAPT;
        // ∂V⁺/∂w, ∂V⁺/∂s, ∂V⁺/∂I_c: the hard reset forgets V⁻ and w.
        let (dv_dw, dv_ds, dv_dic) = if subtractive {
            (1.0, bias * e_s / TAU_MEM, 1.0 - e_s)
        } else {
            (0.0, 0.0, 0.0)
        };
        let dg_dw = dv_dw * e;
        let dg_ds = dv_ds * e + (v_plus - bias) * e / TAU_MEM - RISE * a / TAU_ADAPT;
        let dg_dic = 1.0 - e + dv_dic * e;
        let expected = [-dg_dic / g_dot, -dg_dw / g_dot, 1.0 - dg_ds / g_dot];
        let inputs = [InputSpike::new(s, w)];
        on_backends(reset, opts(), |name, solver| {
            let what = format!("{name} {reset:?}");
            let trace = solver.simulate(bias, &inputs, t_end).unwrap();
            assert!(trace.spikes.len() >= 2, "{what}: {:?}", trace.spikes);
            assert_eq!(trace.spikes[0].to_bits(), s.to_bits(), "{what}");
            assert_eq!(
                kinds(&trace)[..3],
                [
                    EventKind::Input { index: 0 },
                    EventKind::JumpSpike { k: 0, index: 0 },
                    EventKind::Spike { k: 1 }
                ],
                "{what}"
            );
            let spike = &trace.events[1];
            close(
                &format!("{what} V after the jump"),
                spike.x_minus[0],
                v_minus + w,
                1e-9,
                1e-12,
            );
            close(
                &format!("{what} b after the jump"),
                spike.x_minus[1],
                B0,
                0.0,
                0.0,
            );
            close(
                &format!("{what} V after the reset"),
                spike.x_plus[0],
                v_plus,
                1e-9,
                1e-12,
            );
            close(
                &format!("{what} b after the reset"),
                spike.x_plus[1],
                b_plus,
                1e-15,
                0.0,
            );
            close(&format!("{what} t₂"), trace.spikes[1], t2, 1e-9, 0.0);
            let mut dl = vec![0.0; trace.spikes.len()];
            dl[..2].fill(1.0);
            let (d_bias, d_w, d_s) = solver.gradient(bias, &inputs, &trace, &dl);
            let got = [d_bias, d_w[0], d_s[0]];
            for (name, (got, expected)) in ["dL/dI_c", "dL/dw", "dL/ds"]
                .iter()
                .zip(got.iter().zip(&expected))
            {
                close(&format!("{what} {name}"), *got, *expected, 1e-6, 1e-12);
            }
            // Only the spike time's own term: L = t₁ has dL/ds = 1 and no
            // other gradient (t₁ = s whatever w or I_c).
            dl.fill(0.0);
            dl[0] = 1.0;
            let (d_bias, d_w, d_s) = solver.gradient(bias, &inputs, &trace, &dl);
            assert_eq!((d_bias, d_w[0], d_s[0]), (0.0, 0.0, 1.0), "{what}: L = t₁");
        });
    }
}

/// Several inputs at one instant are applied in their order in the input
/// list, each jump that crosses giving its own spike at that instant before
/// the next input is applied: two crossing jumps give two spikes; an
/// inhibitory input first keeps the excitatory one below the threshold,
/// and after it, too late, leaves the spike in place.
#[test]
fn simultaneous_inputs_apply_in_order_each_with_its_own_spike() {
    let s = 3.0;
    on_backends(Reset::Hard, opts(), |name, solver| {
        // Hard reset to 0 and b = b₀ + β/τ_adapt = 1.2 after the first:
        // the second jump of 1.5 crosses again.
        let both = [InputSpike::new(s, 1.5), InputSpike::new(s, 1.5)];
        let trace = solver.simulate(0.0, &both, 20.0).unwrap();
        assert_eq!(trace.spikes, vec![s, s], "{name}");
        assert_eq!(
            kinds(&trace),
            [
                EventKind::Input { index: 0 },
                EventKind::JumpSpike { k: 0, index: 0 },
                EventKind::Input { index: 1 },
                EventKind::JumpSpike { k: 1, index: 1 }
            ],
            "{name}"
        );
        assert_eq!(trace.events[3].x_minus, [1.5, B0 + RISE], "{name}");
        assert_eq!(trace.events[3].x_plus, [0.0, B0 + RISE + RISE], "{name}");
        let inhibited_first = [InputSpike::new(s, -1.0), InputSpike::new(s, 1.5)];
        let trace = solver.simulate(0.0, &inhibited_first, 20.0).unwrap();
        assert!(trace.spikes.is_empty(), "{name}: {:?}", trace.spikes);
        let inhibited_after = [InputSpike::new(s, 1.5), InputSpike::new(s, -1.0)];
        let trace = solver.simulate(0.0, &inhibited_after, 20.0).unwrap();
        assert_eq!(trace.spikes, vec![s], "{name}");
        assert_eq!(trace.events[2].x_plus, [-1.0, B0 + RISE], "{name}");
        // Each input's time gradient holds its own spike's dL/dt (a
        // silent neuron after the spikes: nothing else).
        let trace = solver.simulate(0.0, &both, 20.0).unwrap();
        let (_, _, d_s) = solver.gradient(0.0, &both, &trace, &[1.0, 10.0]);
        close(&format!("{name} dL/ds₀"), d_s[0], 1.0, 1e-12, 1e-12);
        close(&format!("{name} dL/ds₁"), d_s[1], 10.0, 1e-12, 1e-12);
    });
}

/// A jump more than one reset's worth over the threshold (the subtractive
/// reset removes `b` and raises it by `β/τ_adapt`): a burst at the input's
/// instant, one spike per reset, until `V < b`; as many spikes as a hand
/// count of the resets gives, each logged after the one before. Under
/// `max_spikes` below the burst's length, `SpikeLimit` at that instant;
/// with `stop_after_spikes`, the run ends at the instant with that many.
#[test]
fn a_big_jump_gives_a_burst_that_ends() {
    let (s, w) = (1.0, 5.0);
    // From V = w, b = b₀ (no bias: V(s⁻) = 0).
    let (mut v, mut b, mut expected) = (w, B0, 0);
    while v >= b {
        v -= b;
        b += RISE;
        expected += 1;
    }
    assert!(expected >= 3, "{expected}");
    on_backends(Reset::Subtractive, opts(), |name, solver| {
        let inputs = [InputSpike::new(s, w)];
        let trace = solver.simulate(0.0, &inputs, 20.0).unwrap();
        assert_eq!(trace.spikes, vec![s; expected], "{name}");
        for (k, e) in trace.events[1..].iter().enumerate() {
            assert_eq!(e.kind, EventKind::JumpSpike { k, index: 0 }, "{name}");
            assert_eq!(e.x_minus, trace.events[k].x_plus, "{name}: spike {k}");
        }
        let last = trace.events.last().unwrap();
        close(
            &format!("{name} V after the burst"),
            last.x_plus[0],
            v,
            1e-14,
            1e-14,
        );
        close(
            &format!("{name} b after the burst"),
            last.x_plus[1],
            b,
            1e-14,
            0.0,
        );
        // Every spike of the burst moves with the input.
        let dl: Vec<f64> = (0..expected).map(|k| 1.0 + k as f64).collect();
        let (_, d_w, d_s) = solver.gradient(0.0, &inputs, &trace, &dl);
        close(
            &format!("{name} dL/ds of a burst"),
            d_s[0],
            dl.iter().sum(),
            1e-12,
            1e-12,
        );
        assert_eq!(d_w[0], 0.0, "{name}: no spike time depends on w");
    });
    let limited = opts().with_max_spikes(expected - 1);
    on_backends(Reset::Subtractive, limited, |name, solver| {
        match solver.simulate(0.0, &[InputSpike::new(s, w)], 20.0) {
            Err(SolverError::SpikeLimit { limit, t }) => {
                assert_eq!((limit, t), (expected - 1, s), "{name}")
            }
            other => panic!("{name}: expected SpikeLimit, got {other:?}"),
        }
    });
    let stopped = opts().with_stop_after_spikes(2);
    on_backends(Reset::Subtractive, stopped, |name, solver| {
        let trace = solver
            .simulate(0.0, &[InputSpike::new(s, w)], 20.0)
            .unwrap();
        assert_eq!(trace.spikes, vec![s, s], "{name}");
        assert_eq!(trace.t_end, s, "{name}");
        assert_eq!(trace.x_end, trace.events.last().unwrap().x_plus, "{name}");
    });
}

/// A jump that lands exactly on the threshold (`g = 0`) is a spike; one
/// just below it is not. An input at exactly `t_end` is not applied (as
/// any input at or after `t_end`), so it causes no spike; one just before
/// `t_end` does.
#[test]
fn jumps_onto_the_threshold_and_at_the_end() {
    on_backends(Reset::Hard, opts(), |name, solver| {
        // No bias: V stays exactly 0 until the input.
        let trace = solver
            .simulate(0.0, &[InputSpike::new(2.0, B0)], 10.0)
            .unwrap();
        assert_eq!(trace.spikes, vec![2.0], "{name}: onto the threshold");
        let below = B0 - 1e-12;
        let trace = solver
            .simulate(0.0, &[InputSpike::new(2.0, below)], 10.0)
            .unwrap();
        assert!(trace.spikes.is_empty(), "{name}: {:?}", trace.spikes);
        let t_end = 10.0;
        let trace = solver
            .simulate(0.0, &[InputSpike::new(t_end, 5.0)], t_end)
            .unwrap();
        assert!(trace.spikes.is_empty(), "{name}: at t_end");
        assert!(trace.events.is_empty(), "{name}: at t_end");
        assert_eq!(trace.x_end, [0.0, B0], "{name}: at t_end");
        let before = t_end - 1e-6;
        let trace = solver
            .simulate(0.0, &[InputSpike::new(before, 5.0)], t_end)
            .unwrap();
        assert_eq!(trace.spikes, vec![before], "{name}: just before t_end");
        assert_eq!(trace.x_end[0], 0.0, "{name}: just before t_end");
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/jump_spikes.txt"
        ))),
        ..ProptestConfig::default()
    })]

    /// Arbitrary finite weights (up to ±1e300) and times, often equal, at
    /// and beyond `t_end`, both resets, both backends: never a panic; a run
    /// either fails with a typed error or gives non-decreasing spikes in
    /// `[0, t_end]`, every jump spike right after its input (or the jump
    /// spike before it, at the same instant), and a state below the
    /// threshold after every spike.
    #[test]
    fn arbitrary_jumps_never_panic(
        raw in prop::collection::vec(
            (
                prop::sample::select(vec![0.0, 1.0, 2.0, 2.5, 10.0, 12.0]),
                prop_oneof![
                    4 => -3.0..6.0f64,
                    1 => prop::sample::select(vec![1.0, 1e3, 1e10, 1e300, -1e300]),
                ],
            ),
            0..8,
        ),
        bias in -2.0..3.0f64,
        subtractive in proptest::bool::ANY,
    ) {
        let mut inputs: Vec<InputSpike> =
            raw.iter().map(|&(t, w)| InputSpike::new(t, w)).collect();
        inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
        let reset = if subtractive { Reset::Subtractive } else { Reset::Hard };
        let t_end = 10.0;
        let options = SolverOptions::default().with_max_spikes(500);
        let mut outcomes = Vec::new();
        on_backends(reset, options, |name, solver| {
            outcomes.push((name.to_string(), solver.simulate(bias, &inputs, t_end)));
        });
        for (name, outcome) in outcomes {
            let Ok(t) = outcome else { continue };
            prop_assert!(t.spikes.windows(2).all(|w| w[0] <= w[1]), "{}", name);
            prop_assert!(t.spikes.iter().all(|&s| (0.0..=t_end).contains(&s)), "{}", name);
            for (i, e) in t.events.iter().enumerate() {
                if let EventKind::JumpSpike { index, .. } = e.kind {
                    let before = &t.events[i - 1];
                    let follows = match before.kind {
                        EventKind::Input { index: j } => j == index,
                        EventKind::JumpSpike { index: j, .. } => j == index,
                        EventKind::Spike { .. }
                        | EventKind::Blocked { .. }
                        | EventKind::RefractoryEnd { .. } => false,
                    };
                    prop_assert!(follows && before.t == e.t, "{}: event {}", name, i);
                    prop_assert_eq!(e.t, inputs[index].time, "{}", name);
                }
                let g = e.x_plus[0] - e.x_plus[1];
                match e.kind {
                    EventKind::Input { .. } => {}
                    // ALIF has no refractory period: its runs log neither.
                    EventKind::Blocked { .. } | EventKind::RefractoryEnd { .. } => {
                        prop_assert!(false, "{}: event {} of a refractory period", name, i)
                    }
                    EventKind::Spike { .. } => prop_assert!(g < 0.0, "{}: event {}", name, i),
                    EventKind::JumpSpike { index, .. } => {
                        // Still on or above: the burst goes on at once.
                        let goes_on = t.events.get(i + 1).is_some_and(|n| {
                            n.t == e.t
                                && matches!(n.kind, EventKind::JumpSpike { index: j, .. } if j == index)
                        });
                        prop_assert_eq!(g >= 0.0, goes_on, "{}: event {}, g {}", name, i, g);
                    }
                }
            }
        }
    }
}
