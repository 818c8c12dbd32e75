//! Exact backend for the LIF neuron: the state between events in closed form.

use crate::Adjoint;
use crate::{
    run_event_loop, Backend, InputSpike, NeuronTrace, SolverError, SolverOptions, Stepper,
};
use evnn_neurons::{Lif, NeuronModel};

/// Exact LIF integration: every "step" jumps straight to the stop time with
/// [`Lif::evolve`], and the dense output is the closed form itself.
///
/// Between two events `v(t)` is a sum of two exponentials and a constant, so
/// it has at most one extremum; the event loop's local-maximum check is then
/// complete and no threshold crossing can be missed. Tolerances are ignored.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClosedForm;

/// The stepper of [`ClosedForm`].
#[derive(Clone, Copy, Debug)]
pub struct LifStepper {
    lif: Lif,
    p: [f64; 1],
    t_prev: f64,
    x_prev: [f64; 2],
    t: f64,
    x: [f64; 2],
    dx: [f64; 2],
}

impl LifStepper {
    /// A stepper at `(t0, x0)` for bias `p`.
    pub fn new(lif: Lif, p: [f64; 1], t0: f64, x0: [f64; 2]) -> Self {
        let mut dx = [0.0; 2];
        lif.dynamics(&p, &x0, &mut dx);
        LifStepper {
            lif,
            p,
            t_prev: t0,
            x_prev: x0,
            t: t0,
            x: x0,
            dx,
        }
    }
}

impl Stepper<Lif> for LifStepper {
    fn t(&self) -> f64 {
        self.t
    }
    fn t_prev(&self) -> f64 {
        self.t_prev
    }
    fn x(&self) -> &[f64; 2] {
        &self.x
    }
    fn dx(&self) -> &[f64; 2] {
        &self.dx
    }
    fn step(&mut self, t_stop: f64) -> Result<(), SolverError> {
        // Always evolve from the segment start, so the dense output stays exact.
        self.t = t_stop;
        self.x = self.lif.evolve(&self.p, &self.x_prev, t_stop - self.t_prev);
        self.lif.dynamics(&self.p, &self.x, &mut self.dx);
        Ok(())
    }
    fn interpolate(
        &mut self,
        t: f64,
        x: &mut [f64; 2],
        dx: &mut [f64; 2],
    ) -> Result<(), SolverError> {
        *x = self
            .lif
            .evolve(&self.p, &self.x_prev, (t - self.t_prev).max(0.0));
        self.lif.dynamics(&self.p, x, dx);
        Ok(())
    }
    fn restart(&mut self, t: f64, x: &[f64; 2]) -> Result<(), SolverError> {
        *self = LifStepper::new(self.lif, self.p, t, *x);
        Ok(())
    }

    /// When `τ_m = k·τ_s`, the crossing is the root of a polynomial in
    /// `e^{−t/τ_m}` ([`Lif::threshold_crossing`]): Newton on it needs no
    /// exponential per iteration, unlike Newton on the closed form.
    fn refine_crossing(&mut self, t_lo: f64, t_hi: f64) -> Option<f64> {
        let t0 = self.t_prev;
        self.lif
            .threshold_crossing(&self.p, &self.x_prev, t_lo - t0, t_hi - t0)
            .map(|s| t0 + s)
    }

    /// The segment's maximum in closed form ([`Lif::membrane_extremum`]: asked
    /// only when `v` rises at the step's start, so the stationary point is
    /// the maximum); left to the generic search where that formula is
    /// ill-conditioned.
    fn event_peak(&mut self) -> Option<f64> {
        let h = self.t - self.t_prev;
        self.lif
            .membrane_extremum(&self.p, &self.x_prev, h)
            .map(|s| self.t_prev + s)
    }
}

impl Backend<Lif> for ClosedForm {
    type Stepper = LifStepper;

    fn stepper(
        &self,
        model: &Lif,
        params: &[f64; 1],
        _options: &SolverOptions,
    ) -> Option<LifStepper> {
        Some(LifStepper::new(*model, *params, 0.0, model.initial_state()))
    }

    fn simulate(
        &mut self,
        model: &Lif,
        params: &[f64; 1],
        inputs: &[InputSpike],
        t_end: f64,
        options: &SolverOptions,
        trace: &mut NeuronTrace<[f64; 2]>,
    ) -> Result<(), SolverError> {
        let mut stepper = LifStepper::new(*model, *params, 0.0, model.initial_state());
        run_event_loop(&mut stepper, model, params, inputs, t_end, options, trace)
    }
}

impl Adjoint<Lif> for ClosedForm {
    /// Closed form of `λ_v' = λ_v/τ_m`, `λ_i' = −λ_v/τ_m + λ_i/τ_s` backward
    /// over `Δ = t_b − t_a`:
    /// `λ_v(t_a) = λ_v e^{−Δ/τ_m}`,
    /// `λ_i(t_a) = λ_i e^{−Δ/τ_s} + λ_v e^{−Δ/τ_m} K(Δ)/τ_m` with the same
    /// kernel `K` as the forward solution, and
    /// `dL/db += λ_v(t_b)(1 − e^{−Δ/τ_m})`: the factors of [`Lif::decay`].
    fn propagate(
        &mut self,
        model: &Lif,
        _params: &[f64; 1],
        t_a: f64,
        _x_a: &[f64; 2],
        t_b: f64,
        _x_b: &[f64; 2],
        lambda: &mut [f64; 2],
        mu: &mut [f64; 1],
        _options: &SolverOptions,
    ) -> Result<(), SolverError> {
        let dt = t_b - t_a;
        if dt <= 0.0 {
            return Ok(());
        }
        let (lv, li) = (lambda[0], lambda[1]);
        let d = model.decay(dt);
        mu[0] += lv * d.one_minus_mem;
        lambda[0] = lv * d.mem;
        lambda[1] = li * d.syn + lv * d.kernel;
        Ok(())
    }
}
