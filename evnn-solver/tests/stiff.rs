//! diffsol's implicit BDF method on a stiff neuron: far fewer steps than
//! the explicit methods, the same spikes.

use evnn_neurons::{NeuronModel, Scalar};
use evnn_solver::{
    Backend, DiffsolBackend, DiffsolMethod, Dopri5Backend, EventSolver, InputSpike, NeuronTrace,
    SolverOptions,
};

/// A leaky integrate-and-fire neuron with a fast variable `a` that follows
/// the voltage with time constant `τ_f` (a fast gating or dendritic
/// compartment): `τ_m v' = −v + i + b + κ (a − v)`, `τ_f a' = v − a`,
/// `τ_s i' = −i`; spike at `v = 1`, reset `v ← 0`; inputs add to `i`. With
/// `τ_f = 10⁻⁴` against `τ_m = 10`, the fast mode decays at `−1/τ_f`
/// (plus coupling) and an explicit method's step is held to a few `τ_f` for
/// stability although `a` stays on `v` (stiffness).
#[derive(Clone, Debug)]
struct TwoTimescales {
    tau_mem: f64,
    tau_fast: f64,
    tau_syn: f64,
    kappa: f64,
}

impl NeuronModel for TwoTimescales {
    type State = [f64; 3];
    type Params = [f64; 1];
    const NAME: &'static str = "two time scales";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 3] {
        [0.0; 3]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let [v, a, i] = [x[0], x[1], x[2]];
        dx[0] = (-v + i + p[0] + (a - v) * self.kappa) / self.tau_mem;
        dx[1] = (v - a) / self.tau_fast;
        dx[2] = -i / self.tau_syn;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - 1.0
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(0.0);
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }
}

fn run<B: Backend<TwoTimescales>>(backend: B, opts: SolverOptions) -> NeuronTrace<[f64; 3]> {
    let model = TwoTimescales {
        tau_mem: 10.0,
        tau_fast: 1e-4,
        tau_syn: 5.0,
        kappa: 0.5,
    };
    let inputs: Vec<InputSpike> = [(1.0, 3.0), (4.0, 2.5), (9.0, 4.0), (15.0, 3.0), (22.0, 5.0)]
        .iter()
        .map(|&(t, w)| InputSpike::new(t, w))
        .collect();
    EventSolver::new(model, backend, opts)
        .unwrap()
        .simulate(&[0.3], &inputs, 30.0)
        .unwrap()
}

/// BDF and the explicit `tsit45` at the default tolerance against a
/// Dormand–Prince reference at 1e-11: BDF takes a tenth of the steps or
/// fewer, and both find the reference's spikes to a thousand times the
/// tolerance.
#[test]
fn bdf_takes_far_fewer_steps_on_a_stiff_neuron() {
    let reference = run(
        Dopri5Backend::default(),
        SolverOptions::default().with_tolerances(1e-11, 1e-11),
    );
    assert!(
        reference.spikes.len() >= 3,
        "the inputs must make it spike: {:?}",
        reference.spikes
    );
    let opts = SolverOptions::default();
    let bdf = run(DiffsolBackend::bdf(), opts);
    let explicit = run(DiffsolBackend::default(), opts);
    assert_eq!(DiffsolBackend::bdf().method(), DiffsolMethod::Bdf);
    for (name, trace) in [("bdf", &bdf), ("tsit45", &explicit)] {
        assert_eq!(
            trace.spikes.len(),
            reference.spikes.len(),
            "{name}: {:?}, reference {:?}",
            trace.spikes,
            reference.spikes
        );
        for (t, e) in trace.spikes.iter().zip(&reference.spikes) {
            assert!(
                (t - e).abs() <= 1e3 * opts.rtol * e,
                "{name}: spike at {t}, reference {e}"
            );
        }
    }
    assert!(
        bdf.steps * 10 <= explicit.steps,
        "bdf {} steps, tsit45 {}",
        bdf.steps,
        explicit.steps
    );
}
