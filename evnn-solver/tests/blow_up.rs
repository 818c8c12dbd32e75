//! Models whose state runs off to infinity in finite time: a trial step that
//! reaches past the blow-up overflows, and the adaptive backends reject it
//! and retry with a smaller step instead of failing; only a state that stays
//! non-finite as the step shrinks is an error.

use evnn_neurons::{NeuronModel, Scalar};
use evnn_solver::{
    Backend, DiffsolBackend, Dopri5, Dopri5Backend, EventSolver, InputSpike, SolverError,
    SolverOptions,
};

/// Exponential integrate-and-fire neuron,
/// `τ_m v' = −v + Δ_T e^{(v − v_T)/Δ_T} + i + b`, `τ_s i' = −i`, spike at
/// `v = v_peak`, reset to `v_r`. Past `v_T` the voltage reaches infinity in
/// finite time (about `τ_m Δ_T e^{−(v − v_T)/Δ_T}` after it is at `v`), so a
/// step that crosses `v_peak` with room to spare reaches past the blow-up
/// and overflows.
#[derive(Clone, Debug)]
struct Eif {
    tau_mem: f64,
    tau_syn: f64,
    delta_t: f64,
    v_t: f64,
    v_peak: f64,
    v_reset: f64,
}

impl Eif {
    fn new(v_peak: f64) -> Self {
        Eif {
            tau_mem: 10.0,
            tau_syn: 5.0,
            delta_t: 0.3,
            v_t: 1.0,
            v_peak,
            v_reset: 0.0,
        }
    }
}

impl NeuronModel for Eif {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "EIF";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 2] {
        [0.0, 0.0]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let e = ((x[0] - self.v_t) / self.delta_t).exp() * self.delta_t;
        dx[0] = (-x[0] + e + x[1] + p[0]) / self.tau_mem;
        dx[1] = -x[1] / self.tau_syn;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.v_peak
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(self.v_reset);
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[1] += w;
    }
}

/// A neuron driven up at the rate of its bias, whose dynamics are NaN above
/// `v = 0.5`, below its threshold at 1: the state cannot go on past
/// `v = 0.5` finite with any step size.
#[derive(Clone, Debug)]
struct Broken;

impl NeuronModel for Broken {
    type State = [f64; 1];
    type Params = [f64; 1];
    const NAME: &'static str = "broken";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 1] {
        [0.0]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = p[0] * ((-x[0] + 0.5).sqrt() * 0.0 + 1.0);
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - 1.0
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(0.0);
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[0] += w;
    }
}

/// Inputs strong enough to drive the EIF neuron past `v_T` several times.
fn eif_inputs() -> Vec<InputSpike> {
    [(1.0, 4.0), (2.0, 3.0), (8.0, 5.0), (12.5, 2.0), (20.0, 6.0)]
        .iter()
        .map(|&(t, w)| InputSpike::new(t, w))
        .collect()
}

/// `y' = y²` from `y(0) = 1` is `1/(1 − t)`, infinite at `t = 1`. A first
/// step of 1 reaches the pole; the integrator rejects the overflowing trial
/// steps and lands on `t = 0.99` with the exact value to its tolerance.
#[test]
fn dopri5_rejects_steps_past_a_pole() {
    let mut rk = Dopri5::new(1);
    let mut y = [1.0];
    let mut h = 1.0;
    let (rtol, atol) = (1e-10, 1e-10);
    rk.integrate(
        |y, dy| dy[0] = y[0] * y[0],
        0.0,
        0.99,
        &mut y,
        rtol,
        atol,
        &mut h,
        100_000,
        |_, _| {},
    )
    .unwrap();
    let exact = 1.0 / (1.0 - 0.99);
    // The global error of a stiffening pole grows like the solution: a
    // thousand times the local tolerance is a loose, safe bound.
    assert!(
        (y[0] - exact).abs() <= 1e3 * rtol * exact,
        "t = 0.99: got {}, expected {exact}",
        y[0]
    );
}

/// EIF runs with a peak far past the exponential's take-off, at the default
/// tolerance: both adaptive backends simulate them without error and find
/// the spikes of a tight-tolerance reference; the numerical adjoint runs
/// through them and gives a finite gradient.
#[test]
fn eif_blow_up_past_the_peak_is_a_rejected_step() {
    let reference_opts = SolverOptions::default().with_tolerances(1e-12, 1e-12);
    for v_peak in [2.0, 5.0, 8.0] {
        let eif = Eif::new(v_peak);
        let inputs = eif_inputs();
        let mut reference =
            EventSolver::new(eif.clone(), Dopri5Backend::default(), reference_opts).unwrap();
        let expected = reference.simulate(&[0.2], &inputs, 30.0).unwrap();
        assert!(
            expected.spikes.len() >= 3,
            "v_peak {v_peak}: the inputs must make the neuron spike: {:?}",
            expected.spikes
        );
        let opts = SolverOptions::default();
        check_backend(
            &eif,
            Dopri5Backend::default(),
            opts,
            &inputs,
            &expected.spikes,
        );
        check_backend(
            &eif,
            DiffsolBackend::default(),
            opts,
            &inputs,
            &expected.spikes,
        );
    }
}

fn check_backend<B: Backend<Eif> + evnn_solver::Adjoint<Eif>>(
    eif: &Eif,
    backend: B,
    opts: SolverOptions,
    inputs: &[InputSpike],
    expected: &[f64],
) {
    let mut solver = EventSolver::new(eif.clone(), backend, opts).unwrap();
    let trace = solver
        .simulate(&[0.2], inputs, 30.0)
        .unwrap_or_else(|e| panic!("v_peak {}: {e}", eif.v_peak));
    assert_eq!(
        trace.spikes.len(),
        expected.len(),
        "v_peak {}: got {:?}, expected {expected:?}",
        eif.v_peak,
        trace.spikes
    );
    for (t, e) in trace.spikes.iter().zip(expected) {
        // Spike times inherit the integrator's error: a few hundred times
        // the tolerance over the run bounds it with margin.
        assert!(
            (t - e).abs() <= 1e3 * opts.rtol * e.max(1.0),
            "v_peak {}: spike at {t}, expected {e}",
            eif.v_peak
        );
    }
    let dl_dt = vec![1.0; trace.spikes.len()];
    let grad = solver
        .gradient(&[0.2], inputs, &trace, &dl_dt, None)
        .unwrap_or_else(|e| panic!("v_peak {}: adjoint: {e}", eif.v_peak));
    assert!(
        grad.params[0].is_finite()
            && grad
                .weights
                .iter()
                .chain(&grad.input_times)
                .all(|g| g.is_finite()),
        "v_peak {}: {grad:?}",
        eif.v_peak
    );
    // More bias makes every spike earlier.
    assert!(grad.params[0] < 0.0, "v_peak {}: {grad:?}", eif.v_peak);
}

/// A state that is non-finite for every step size is an error that names
/// the time and the state, on both adaptive backends.
#[test]
fn a_state_that_stays_non_finite_is_an_error() {
    let inputs = [];
    let opts = SolverOptions::default();
    let errors = [
        EventSolver::new(Broken, Dopri5Backend::default(), opts)
            .unwrap()
            .simulate(&[0.2], &inputs, 10.0)
            .unwrap_err(),
        EventSolver::new(Broken, DiffsolBackend::default(), opts)
            .unwrap()
            .simulate(&[0.2], &inputs, 10.0)
            .unwrap_err(),
    ];
    for err in errors {
        match &err {
            SolverError::NonFiniteState { t, state } => {
                // v = 0.2 t reaches 0.5 at t = 2.5.
                assert!((*t - 2.5).abs() < 1e-6, "{err}");
                assert!(state.iter().any(|v| !v.is_finite()), "{err}");
            }
            other => panic!("expected NonFiniteState, got {other:?}"),
        }
    }
}
