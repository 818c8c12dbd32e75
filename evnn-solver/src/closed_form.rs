//! Exact backend for the LIF neuron: the state between events in closed form.

use crate::root::{bracketed_newton, convex_newton};
use crate::Adjoint;
use crate::{Backend, Peak, RunPlan, SolverError, SolverOptions, Stepper};
#[cfg(doc)]
use evnn_neurons::ThresholdPolynomial;
use evnn_neurons::{Lif, NeuronModel};
use std::convert::Infallible;

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
    /// The last time the closed form was evaluated at (by a step or
    /// [`interpolate`](Stepper::interpolate)) and `q = e^{−s/τ_m}` there,
    /// `s` from the segment start: the bracket ends of
    /// [`refine_crossing`](Stepper::refine_crossing) are such times, and the
    /// exponential need not be taken again.
    last_q: (f64, f64),
    /// The last spike time refined on the threshold polynomial and its
    /// root `q` there, for the state at the spike.
    spike_q: (f64, f64),
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
            last_q: (t0, 1.0),
            spike_q: (f64::NAN, 1.0),
        }
    }

    /// `q = e^{−(t − t_prev)/τ_m}`, from the cache where it holds `t`.
    fn q_at(&self, t: f64) -> f64 {
        match self.last_q {
            (tq, q) if tq == t => q,
            _ if t == self.t_prev => 1.0,
            _ => (-(t - self.t_prev) / self.lif.tau_mem()).exp(),
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
        let q;
        (self.x, q) = self
            .lif
            .evolve_with_mem(&self.p, &self.x_prev, t_stop - self.t_prev);
        self.last_q = (t_stop, q);
        self.lif.dynamics(&self.p, &self.x, &mut self.dx);
        Ok(())
    }
    fn interpolate(
        &mut self,
        t: f64,
        x: &mut [f64; 2],
        dx: &mut [f64; 2],
    ) -> Result<(), SolverError> {
        // At a spike just refined, from the root `q` of the polynomial: no
        // exponential.
        let at_spike = match self.spike_q {
            (ts, q) if ts == t => self.lif.evolve_to_mem(&self.p, &self.x_prev, q),
            _ => None,
        };
        if let Some(at_spike) = at_spike {
            *x = at_spike;
        } else {
            let q;
            (*x, q) = self
                .lif
                .evolve_with_mem(&self.p, &self.x_prev, (t - self.t_prev).max(0.0));
            self.last_q = (t, q);
        }
        self.lif.dynamics(&self.p, x, dx);
        Ok(())
    }
    fn restart(&mut self, t: f64, x: &[f64; 2]) -> Result<(), SolverError> {
        *self = LifStepper::new(self.lif, self.p, t, *x);
        Ok(())
    }

    /// When `τ_m = k·τ_s`, the crossing is the root of a polynomial in
    /// `q = e^{−s/τ_m}` (`Lif::threshold_polynomial`), solved in `r = −q`,
    /// which grows with time, with no exponential per iteration (unlike
    /// Newton on the closed form), then `s = −τ_m ln q`. The polynomial's
    /// curvature has one sign, so Newton's iteration converges to it
    /// monotonically once on the right side, with no safeguard and so
    /// fewer operations per iteration; the safeguarded Newton of the event
    /// loop takes over should it fail. `None` for other time constants, and when the
    /// polynomial does not confirm the bracket's signs (round-off at a
    /// bracket end): the event loop then refines generically.
    fn refine_crossing(&mut self, t_lo: f64, t_hi: f64) -> Option<f64> {
        let t0 = self.t_prev;
        let (s_lo, s_hi) = (t_lo - t0, t_hi - t0);
        if !(s_lo >= 0.0 && s_hi > s_lo && s_hi.is_finite()) {
            return None;
        }
        let poly = self.lif.threshold_polynomial(&self.p, &self.x_prev)?;
        let tau = self.lif.tau_mem();
        let g = |r: f64| {
            let (value, slope) = poly.eval(-r);
            Ok::<_, Infallible>((value, -slope))
        };
        // The bracket ends are the step's start and end, or a maximum just
        // evaluated: `q` there is known.
        let (r_lo, r_hi) = (-self.q_at(t_lo), -self.q_at(t_hi));
        let (Ok((g_lo, d_lo)), Ok((g_hi, d_hi))) = (g(r_lo), g(r_hi));
        if !(g_lo < 0.0 && g_hi >= 0.0) {
            return None;
        }
        // `v − θ` is concave in `r` (as in `q`) when the current excites,
        // convex when it inhibits. A Newton step from either bracket end
        // then lands on the same side of the root (left where concave),
        // from where Newton converges monotonically: start at the landing
        // point nearer the root (no evaluation needed to pick it).
        let concave = poly.concave();
        let from = |r: f64, g: f64, d: f64| if d > 0.0 { r - g / d } else { f64::NAN };
        let (from_lo, from_hi) = (from(r_lo, g_lo, d_lo), from(r_hi, g_hi, d_hi));
        let r0 = if concave {
            from_lo.max(from_hi)
        } else {
            from_lo.min(from_hi)
        };
        let start = match r0 {
            r if r > r_lo && r < r_hi => {
                let Ok((g_s, d_s)) = g(r);
                (r, g_s, d_s)
            }
            _ if concave => (r_lo, g_lo, d_lo),
            _ => (r_hi, g_hi, d_hi),
        };
        // Not converged: the generic refinement takes over (an error if it
        // does not converge either).
        let Ok(Ok(r)) = (match convex_newton(start, concave, g) {
            Ok(Some(r)) => Ok(Ok(r.clamp(r_lo, r_hi))),
            _ => bracketed_newton((r_lo, g_lo, d_lo), (r_hi, g_hi, d_hi), g),
        }) else {
            return None;
        };
        let s = -tau * (-r).ln();
        if !(s > s_lo) {
            return None;
        }
        if s < s_hi {
            self.spike_q = (t0 + s, -r);
        }
        Some(t0 + s.min(s_hi))
    }

    /// A maximum below the threshold is recognised on the threshold
    /// polynomial's stationary point, whose value needs no exponential or
    /// logarithm (`ThresholdPolynomial::stationary_value_below_zero`);
    /// most maxima after an input are such. Otherwise the segment's maximum
    /// in closed form (`Lif::membrane_extremum`: asked only when `v` rises
    /// at the step's start, so the stationary point is the maximum); left
    /// to the generic search where that formula is ill-conditioned.
    fn event_peak(&mut self) -> Option<Peak> {
        let below = self
            .lif
            .threshold_polynomial(&self.p, &self.x_prev)
            .is_some_and(|poly| poly.stationary_value_below_zero());
        if below {
            return Some(Peak::BelowEvent);
        }
        let h = self.t - self.t_prev;
        self.lif
            .membrane_extremum(&self.p, &self.x_prev, h)
            .map(|s| Peak::At(self.t_prev + s))
    }
}

impl Backend<Lif> for ClosedForm {
    type Stepper = LifStepper;

    fn stepper(&self, model: &Lif, params: &[f64; 1], _plan: &RunPlan) -> Option<LifStepper> {
        Some(LifStepper::new(*model, *params, 0.0, model.initial_state()))
    }

    fn lif_layer(&self, model: &Lif) -> Option<Lif> {
        Some(*model)
    }
}

impl Adjoint<Lif> for ClosedForm {
    /// Closed form of `λ_v' = λ_v/τ_m`, `λ_i' = −λ_v/τ_m + λ_i/τ_s` backward
    /// over `Δ = t_b − t_a`:
    /// `λ_v(t_a) = λ_v e^{−Δ/τ_m}`,
    /// `λ_i(t_a) = λ_i e^{−Δ/τ_s} + λ_v e^{−Δ/τ_m} K(Δ)/τ_m` with the same
    /// kernel `K` as the forward solution, and
    /// `dL/db += λ_v(t_b)(1 − e^{−Δ/τ_m})`: the factors of `Lif::decay`.
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
