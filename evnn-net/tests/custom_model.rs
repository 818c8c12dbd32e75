//! User-defined neuron models written as equations only (no derivative
//! code): their derived derivatives pass `check_derivatives`, and their
//! network gradients match finite differences through the same code path as
//! the built-in models, on both generic backends.

use evnn_net::BatchRunner;
use evnn_net::{
    gradcheck, FeedForward, GradCheckOptions, InitConfig, NetworkParams, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{check_derivatives, CheckOptions, NeuronModel, Scalar};
use evnn_solver::{Adjoint, Backend, DiffsolBackend, Dopri5Backend, SolverOptions};

/// Exponential integrate-and-fire with a current synapse:
/// `τ_m v' = −v + Δ_T e^{(v − v_T)/Δ_T} + i + b`, `τ_s i' = −i`; spike at
/// `v = v_peak`, reset to `v_r`; input spikes add to `i`.
#[derive(Clone, Debug)]
struct Eif {
    tau_mem: f64,
    tau_syn: f64,
    delta_t: f64,
    v_t: f64,
    v_peak: f64,
    v_reset: f64,
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

/// Adaptive exponential integrate-and-fire with a current synapse, state
/// `(v, a, i)`: `τ_m v' = −v + Δ_T e^{(v − v_T)/Δ_T} − a + i + b`,
/// `τ_a a' = κ v − a`, `τ_s i' = −i`; at a spike `v ← v_r`, `a ← a + β`.
#[derive(Clone, Debug)]
struct AdEx {
    tau_mem: f64,
    tau_adapt: f64,
    tau_syn: f64,
    delta_t: f64,
    v_t: f64,
    v_peak: f64,
    v_reset: f64,
    kappa: f64,
    beta: f64,
}

impl NeuronModel for AdEx {
    type State = [f64; 3];
    type Params = [f64; 1];
    const NAME: &'static str = "AdEx";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 3] {
        [0.0; 3]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let e = ((x[0] - self.v_t) / self.delta_t).exp() * self.delta_t;
        dx[0] = (-x[0] + e - x[1] + x[2] + p[0]) / self.tau_mem;
        dx[1] = (x[0] * self.kappa - x[1]) / self.tau_adapt;
        dx[2] = -x[2] / self.tau_syn;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.v_peak
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(self.v_reset);
        x[1] += self.beta;
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }
}

/// Izhikevich-type quadratic neuron with a recovery variable and a current
/// synapse, state `(v, u, i)`: `τ_m v' = v² − u + i + b`,
/// `τ_u u' = κ v − u`, `τ_s i' = −i`; at `v = v_peak`, `v ← c`, `u ← u + d`.
/// Without the threshold `v` blows up in finite time.
#[derive(Clone, Debug)]
struct Izhikevich {
    tau_mem: f64,
    tau_u: f64,
    tau_syn: f64,
    kappa: f64,
    v_peak: f64,
    c: f64,
    d: f64,
}

impl NeuronModel for Izhikevich {
    type State = [f64; 3];
    type Params = [f64; 1];
    const NAME: &'static str = "Izhikevich";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 3] {
        [self.c, 0.0, 0.0]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = (x[0] * x[0] - x[1] + x[2] + p[0]) / self.tau_mem;
        dx[1] = (x[0] * self.kappa - x[1]) / self.tau_u;
        dx[2] = -x[2] / self.tau_syn;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.v_peak
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(self.c);
        x[1] += self.d;
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }
}

fn eif() -> Eif {
    Eif {
        tau_mem: 10.0,
        tau_syn: 5.0,
        delta_t: 0.3,
        v_t: 1.0,
        v_peak: 2.0,
        v_reset: 0.0,
    }
}

fn adex() -> AdEx {
    AdEx {
        tau_mem: 10.0,
        tau_adapt: 30.0,
        tau_syn: 5.0,
        delta_t: 0.3,
        v_t: 1.0,
        v_peak: 2.0,
        v_reset: 0.0,
        kappa: 0.2,
        beta: 0.3,
    }
}

fn izhikevich() -> Izhikevich {
    Izhikevich {
        tau_mem: 10.0,
        tau_u: 30.0,
        tau_syn: 5.0,
        kappa: 0.2,
        v_peak: 3.0,
        c: -0.5,
        d: 0.3,
    }
}

/// A 2-4-2 network of `model` on `backend`: it spikes, and every weight,
/// bias and input-time gradient the finite differences can judge agrees
/// with them (≤ 1e-6 relative or 1e-8 absolute), with at least 70 % of the
/// entries compared.
fn network_gradients_match<N, B>(model: N, backend: B, init: InitConfig) -> usize
where
    N: NeuronModel<Params = [f64; 1]>,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let sizes = [2, 4, 2];
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net = FeedForward::new(model, &sizes, backend, opts, 40.0).unwrap();
    let params = NetworkParams::init::<N>(&sizes, &init, 2).unwrap();
    let input = SpikeTrains::from_trains(&[vec![1.0, 6.0], vec![3.0]]).unwrap();
    let mut ws = net.workspace();
    let mut trace = Default::default();
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    let out_spikes = trace.output().unwrap().n_spikes();
    assert!(
        out_spikes >= 2,
        "{}: the output layer must spike: {out_spikes}",
        N::NAME
    );
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.3 * k as f64).collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
    assert!(report.is_ok(), "{}: {:?}", N::NAME, report.failures());
    assert!(
        report.compared() * 10 >= report.entries.len() * 7,
        "{}: compared {} of {}",
        N::NAME,
        report.compared(),
        report.entries.len()
    );
    report.compared()
}

fn init(wmean: f64, wlim: f64) -> InitConfig {
    InitConfig {
        wmean,
        wlim,
        ..InitConfig::default()
    }
}

#[test]
fn derived_derivatives_pass_the_check() {
    let o = CheckOptions::default();
    for (x, w) in [([0.5, 1.0], 2.0), ([1.7, -0.4], -1.0)] {
        let r = check_derivatives(&eif(), &[0.1], &x, w, &o).unwrap();
        assert_eq!(r.max_override_deviation, 0.0, "no overrides: {r:?}");
    }
    for (x, w) in [([0.5, 0.1, 1.0], 2.0), ([1.8, -0.3, 0.2], 0.5)] {
        check_derivatives(&adex(), &[0.3], &x, w, &o).unwrap();
        check_derivatives(&izhikevich(), &[0.3], &x, w, &o).unwrap();
    }
}

#[test]
fn eif_network_gradients_match_finite_differences() {
    network_gradients_match(eif(), DiffsolBackend::default(), init(3.0, 8.0));
    network_gradients_match(eif(), Dopri5Backend::default(), init(3.0, 8.0));
}

#[test]
fn adex_network_gradients_match_finite_differences() {
    network_gradients_match(adex(), DiffsolBackend::default(), init(3.0, 8.0));
    network_gradients_match(adex(), Dopri5Backend::default(), init(3.0, 8.0));
}

#[test]
fn izhikevich_network_gradients_match_finite_differences() {
    network_gradients_match(izhikevich(), DiffsolBackend::default(), init(3.0, 8.0));
    network_gradients_match(izhikevich(), Dopri5Backend::default(), init(3.0, 8.0));
}

/// Sixteen samples of five input channels, one spike each, spread over
/// `[0.5, 10]` (a fixed pattern, so the test needs no data set), and labels.
fn samples() -> (Vec<SpikeTrains>, Vec<usize>) {
    let inputs = (0..16)
        .map(|s| {
            let times: Vec<f64> = (0..5)
                .map(|c| 0.5 + ((s * 7 + c * 3) % 11) as f64 * 0.95)
                .collect();
            SpikeTrains::from_times(&times).unwrap()
        })
        .collect();
    (inputs, (0..16).map(|s| s % 3).collect())
}

/// A few steps of gradient descent on a 5-20-3 network of `model` at the
/// default solver tolerance, on `backend`: every batch pass succeeds with
/// a finite loss and gradient. Returns the losses of the steps.
fn train<N, B>(model: N, backend: B, init: InitConfig) -> Vec<f64>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let sizes = [5, 20, 3];
    let net = FeedForward::new(model, &sizes, backend, SolverOptions::default(), 30.0).unwrap();
    let mut params = NetworkParams::init::<N>(&sizes, &init, 3).unwrap();
    let (inputs, labels) = samples();
    let loss = TtfsLoss::default();
    let mut losses = Vec::new();
    for step in 0..4 {
        let r = BatchRunner::new(net.clone())
            .loss_and_grad(&params, &inputs, &labels, &loss)
            .unwrap_or_else(|e| panic!("{}, step {step}: {e}", N::NAME));
        assert!(r.loss_sum.is_finite(), "{}, step {step}", N::NAME);
        losses.push(r.mean_loss());
        let mut grad = r.grad.expect("gradient requested");
        assert!(
            grad.to_flat().iter().all(|g| g.is_finite()),
            "{}, step {step}: non-finite gradient",
            N::NAME
        );
        grad.scale(-0.05 / inputs.len() as f64);
        params.add_assign(&grad).unwrap();
    }
    losses
}

/// Models whose voltage blows up in finite time past the threshold (the
/// exponential ones; the quadratic one with a peak far above its take-off)
/// train at the default tolerance on both generic backends: a trial step
/// that reaches past the blow-up is rejected, not an error. Both backends
/// solve the same equations to the same tolerance, so their losses agree.
#[test]
fn blow_up_models_train_at_the_default_tolerance() {
    let high_peak = Izhikevich {
        v_peak: 30.0,
        ..izhikevich()
    };
    let strong = init(3.0, 8.0);
    let runs = [
        (
            train(eif(), Dopri5Backend::default(), strong),
            train(eif(), DiffsolBackend::default(), strong),
        ),
        (
            train(adex(), Dopri5Backend::default(), strong),
            train(adex(), DiffsolBackend::default(), strong),
        ),
        (
            train(high_peak.clone(), Dopri5Backend::default(), strong),
            train(high_peak, DiffsolBackend::default(), strong),
        ),
    ];
    for (dopri5, diffsol) in runs {
        for (a, b) in dopri5.iter().zip(&diffsol) {
            assert!(
                (a - b).abs() <= 1e-3 * a.abs().max(1.0),
                "{dopri5:?} vs {diffsol:?}"
            );
        }
    }
}

/// A model whose event function never reaches zero (a user's mistake, e.g.
/// a threshold far above the reachable voltage): every neuron stays silent;
/// the passes return, with no panic and no NaN, a loss for silent outputs
/// and a gradient that is exactly zero (no spike, no path from a parameter
/// to the loss).
#[derive(Clone, Debug)]
struct NeverSpikes;

impl NeuronModel for NeverSpikes {
    type State = [f64; 2];
    type Params = [f64; 1];
    const NAME: &'static str = "never";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];
    fn initial_state(&self) -> [f64; 2] {
        [0.0, 0.0]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        dx[0] = (-x[0] + x[1] + p[0]) / 10.0;
        dx[1] = -x[1] / 5.0;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        -(x[0] * x[0]) - 1.0
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(0.0);
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[1] += w;
    }
}

#[test]
fn an_event_that_never_crosses_gives_silence_not_an_error() {
    let sizes = [5, 6, 3];
    for (name, net) in [
        (
            "dopri5",
            FeedForward::new(
                NeverSpikes,
                &sizes,
                Dopri5Backend::default(),
                SolverOptions::default(),
                30.0,
            )
            .map(|n| n.with_loss_pass(evnn_net::LossPass::LayerByLayer)),
        ),
        (
            "dopri5 on demand",
            FeedForward::new(
                NeverSpikes,
                &sizes,
                Dopri5Backend::default(),
                SolverOptions::default(),
                30.0,
            ),
        ),
    ] {
        let net = net.unwrap();
        let params = NetworkParams::init::<NeverSpikes>(&sizes, &init(3.0, 8.0), 1).unwrap();
        let (inputs, labels) = samples();
        let r = BatchRunner::new(net.clone())
            .loss_and_grad(&params, &inputs, &labels, &TtfsLoss::default())
            .unwrap();
        assert!(r.loss_sum.is_finite(), "{name}: loss {}", r.loss_sum);
        assert_eq!(r.correct, 0, "{name}: silent outputs predict nothing");
        let grad = r.grad.unwrap().to_flat();
        assert!(grad.iter().all(|g| *g == 0.0), "{name}: {grad:?}");
        let predicted = BatchRunner::new(net.clone())
            .predict(&params, &inputs)
            .unwrap();
        assert!(predicted.iter().all(Option::is_none), "{name}");
    }
}
