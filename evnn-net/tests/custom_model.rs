//! A user-defined neuron model (the exponential integrate-and-fire neuron of
//! the solver crate's documentation) gets correct gradients through the same
//! network code path as the built-in models.

use evnn_net::{gradcheck, FeedForward, GradCheckOptions, InitConfig, NetworkParams, SpikeTrains};
use evnn_neurons::{check_derivatives, CheckOptions, NeuronModel};
use evnn_solver::{DiffsolBackend, SolverOptions};

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
    fn dynamics(&self, p: &[f64; 1], x: &[f64; 2], dx: &mut [f64; 2]) {
        let e = self.delta_t * ((x[0] - self.v_t) / self.delta_t).exp();
        dx[0] = (-x[0] + e + x[1] + p[0]) / self.tau_mem;
        dx[1] = -x[1] / self.tau_syn;
    }
    fn dynamics_vjp(
        &self,
        _p: &[f64; 1],
        x: &[f64; 2],
        l: &[f64; 2],
        lx: &mut [f64; 2],
        lp: &mut [f64; 1],
    ) {
        let de = ((x[0] - self.v_t) / self.delta_t).exp();
        lx[0] = l[0] * (-1.0 + de) / self.tau_mem;
        lx[1] = l[0] / self.tau_mem - l[1] / self.tau_syn;
        lp[0] = l[0] / self.tau_mem;
    }
    fn event(&self, x: &[f64; 2]) -> f64 {
        x[0] - self.v_peak
    }
    fn event_grad(&self, _x: &[f64; 2], gx: &mut [f64; 2]) {
        *gx = [1.0, 0.0];
    }
    fn reset(&self, x: &mut [f64; 2]) {
        x[0] = self.v_reset;
    }
    fn reset_vjp(&self, _x: &[f64; 2], l: &[f64; 2], out: &mut [f64; 2]) {
        *out = [0.0, l[1]];
    }
    fn input_jump(&self, x: &mut [f64; 2], w: f64) {
        x[1] += w;
    }
    fn input_jump_vjp(&self, _x: &[f64; 2], _w: f64, l: &[f64; 2], out: &mut [f64; 2]) -> f64 {
        *out = *l;
        l[1]
    }
}

#[test]
fn eif_network_gradients_match_finite_differences() {
    let eif = Eif {
        tau_mem: 10.0,
        tau_syn: 5.0,
        delta_t: 0.3,
        v_t: 1.0,
        v_peak: 2.0,
        v_reset: 0.0,
    };
    check_derivatives(&eif, &[0.1], &[0.5, 1.0], 2.0, &CheckOptions::default()).unwrap();
    let sizes = [2, 4, 2];
    let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let net = FeedForward::new(eif, &sizes, DiffsolBackend::default(), opts, 40.0).unwrap();
    let init = InitConfig {
        wmean: 3.0,
        wlim: 8.0,
        ..InitConfig::default()
    };
    let params = NetworkParams::init::<Eif>(&sizes, &init, 2).unwrap();
    let input = SpikeTrains::from_trains(&[vec![1.0, 6.0], vec![3.0]]).unwrap();
    let mut ws = net.workspace();
    let mut trace = Default::default();
    net.forward(&params, &input, &mut ws, &mut trace).unwrap();
    let out_spikes = trace.output().unwrap().n_spikes();
    assert!(out_spikes >= 2, "the output layer must spike: {out_spikes}");
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes()).map(|k| 1.0 - 0.3 * k as f64).collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
    assert!(report.is_ok(), "{:?}", report.failures());
    assert!(
        report.compared() * 10 >= report.entries.len() * 7,
        "compared {} of {}",
        report.compared(),
        report.entries.len()
    );
}
