//! [`SeriesStepper`]: Taylor steps of `(u, w)` with the phase as state.

use super::series::{Coeffs, Series, ORDER};
use crate::{SolverError, SolverOptions, Stepper};
use evnn_neurons::math::{atan2_pi, select};
use evnn_neurons::Qif;
use std::f64::consts::PI;

/// The [`Stepper`] of [`QifSeries`](crate::QifSeries): Taylor steps of `(u, w)` about each
/// step's start, with the phase `φ` as its state.
#[derive(Clone, Debug)]
pub struct SeriesStepper {
    series: Series,
    t_prev: f64,
    t: f64,
    /// `(u, w)` at `t`, scaled to `max(|u|, |w|) = 1`, `u ≥ 0`.
    y: [f64; 2],
    /// Synaptic current at `t`.
    i: f64,
    x: [f64; 2],
    dx: [f64; 2],
    /// Taylor coefficients of `u` and `w` about `t_prev` (the last step).
    cu: Coeffs,
    cw: Coeffs,
    /// `i` at `t_prev`.
    i_prev: f64,
    /// The order of `cu` and `cw` ([`Series::expand_within`]).
    top: usize,
    /// `(u, w)` at `t` as the series gives them (before `y`'s rescaling).
    uw_end: [f64; 2],
}

/// The lifted phase of `y` in a step that starts with `u ≥ 0` and holds at
/// most one (downward) zero of `u`: `φ ∈ [0, 1)` before it, `(1, 2)` after.
fn phase(u: f64, w: f64) -> f64 {
    // `θ/π` with `θ = atan2(−w/π, u) = atan2(−w, πu)`.
    let theta = atan2_pi(-w, PI * u);
    let theta = if u < 0.0 && theta < 0.0 {
        theta + 2.0
    } else {
        theta
    };
    0.5 + theta
}

/// `∂φ/∂(u, w)` of [`phase`] (which is 0-homogeneous in `y`).
pub(super) fn phase_grad(u: f64, w: f64) -> [f64; 2] {
    let r = PI * (u * u + w * w / (PI * PI));
    [w / (PI * r), -u / (PI * r)]
}

/// `y` of a phase `φ ∈ [0, 1)` (the states the event loop restarts from)
/// and `dy/dφ`, both scaled by the same factor to `max(|u|, |w|) = 1`.
pub(super) fn homogeneous(phi: f64) -> ([f64; 2], [f64; 2]) {
    if phi == 0.0 {
        // Just reset: exactly on `u = 0`, moving up.
        return ([0.0, 1.0], [1.0, 0.0]);
    }
    let (s, c) = (PI * (phi - 0.5)).sin_cos();
    let (u, w) = (c, -PI * s);
    let m = u.abs().max(w.abs());
    ([u / m, w / m], [-PI * s / m, -PI * PI * c / m])
}

impl SeriesStepper {
    /// A stepper at `x0` at time 0 for bias `bias`.
    pub fn new(qif: &Qif, bias: f64, options: &SolverOptions, x0: [f64; 2]) -> Self {
        let mut s = SeriesStepper {
            series: Series::new(qif, bias, options),
            t_prev: 0.0,
            t: 0.0,
            y: [1.0, 0.0],
            i: 0.0,
            x: x0,
            dx: [0.0; 2],
            cu: [0.0; ORDER + 1],
            cw: [0.0; ORDER + 1],
            i_prev: 0.0,
            top: 0,
            uw_end: [1.0, 0.0],
        };
        s.set_state(0.0, &x0);
        s
    }

    /// Back at time 0 in `x0` for `bias`, as [`new`](Self::new) builds it;
    /// the series constants (decay series, order) are kept when the time
    /// constants and tolerance are those they were built for.
    pub(super) fn reset(&mut self, qif: &Qif, bias: f64, options: &SolverOptions, x0: [f64; 2]) {
        if self.series.fits(qif, options) {
            self.series.bias = bias;
        } else {
            self.series = Series::new(qif, bias, options);
        }
        // The expansion empty, as in `new`, then the state.
        self.cu = [0.0; ORDER + 1];
        self.cw = [0.0; ORDER + 1];
        self.top = 0;
        self.set_state(0.0, &x0);
    }

    fn set_state(&mut self, t: f64, x: &[f64; 2]) {
        self.set_state_y(t, x, homogeneous(x[0]).0);
    }

    /// [`set_state`](Self::set_state) with `y`, of phase `x[0]`, given.
    fn set_state_y(&mut self, t: f64, x: &[f64; 2], y: [f64; 2]) {
        self.t_prev = t;
        self.t = t;
        self.y = y;
        self.i = x[1];
        self.x = *x;
        self.dx = self.series.rate(y, x[1]);
        // A constant expansion, the dense output of an empty step: it is
        // evaluated only at `s = t − t_prev = 0`, which reads `cu[0]` and
        // `cw[0]` alone (the higher terms, zero or finite from the last
        // step, are multiplied by `s = 0`), so they are left as they are.
        self.cu[0] = self.y[0];
        self.cw[0] = self.y[1];
        self.uw_end = self.y;
        self.i_prev = self.i;
    }
}

impl Stepper<Qif> for SeriesStepper {
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
        let sr = &self.series;
        self.i_prev = self.i;
        let remaining = t_stop - self.t;
        let reach = sr.sturm_cap(self.i, remaining);
        let top = sr.expand_within(self.y, self.i, reach, &mut self.cu, &mut self.cw);
        self.top = top;
        let h = if top < sr.order {
            reach
        } else {
            sr.sturm_cap(self.i, sr.taylor_step(&self.cu, &self.cw, remaining))
        };
        // A non-finite coefficient makes every later one non-finite (each
        // order is a finite nonzero multiple of the one before plus finite
        // terms), so the last order tells.
        if !(h > 0.0 && self.cu[top].is_finite() && self.cw[top].is_finite()) {
            // Keep the coefficients finite for `set_state_y`'s empty step.
            self.cu = [0.0; ORDER + 1];
            self.cw = [0.0; ORDER + 1];
            return Err(SolverError::NonFiniteState {
                t: self.t,
                state: self.x.to_vec(),
            });
        }
        // The step reaches `t_stop` or not: chosen by masks, as the data
        // decide (a branch mispredicted).
        let last = h >= remaining;
        let (h, t_new) = (select(last, remaining, h), select(last, t_stop, self.t + h));
        if !(t_new > self.t) {
            return Err(SolverError::StepSizeUnderflow { t: self.t, h });
        }
        let [u, w] = sr.eval(&self.cu, &self.cw, h, top);
        let i = self.i * (-h * sr.inv_tau_syn).exp();
        let x = [phase(u, w), i];
        let m = u.abs().max(w.abs());
        if !(m.is_finite() && m > 0.0 && i.is_finite()) {
            return Err(SolverError::NonFiniteState {
                t: t_new,
                state: x.to_vec(),
            });
        }
        self.t_prev = self.t;
        self.t = t_new;
        self.uw_end = [u, w];
        self.y = [u / m, w / m];
        self.i = i;
        self.x = x;
        self.dx = sr.rate(self.y, i);
        Ok(())
    }

    fn interpolate(
        &mut self,
        t: f64,
        x: &mut [f64; 2],
        dx: &mut [f64; 2],
    ) -> Result<(), SolverError> {
        let sr = &self.series;
        let s = (t - self.t_prev).clamp(0.0, self.t - self.t_prev);
        let [u, w] = sr.eval(&self.cu, &self.cw, s, self.top);
        *x = [phase(u, w), self.i_prev * (-s * sr.inv_tau_syn).exp()];
        *dx = sr.rate([u, w], x[1]);
        Ok(())
    }

    fn restart(&mut self, t: f64, x: &[f64; 2]) -> Result<(), SolverError> {
        if t == self.t && x[0] == self.x[0] {
            // An input: only the current jumps, and `y` (whose phase is
            // `x[0]`, unrounded) stays; no sine and cosine of the phase.
            self.set_state_y(t, x, self.y);
        } else {
            self.set_state(t, x);
        }
        Ok(())
    }

    /// Steps hold at most one zero of `u` (Sturm), and the lifted phase is
    /// monotone through it: a spike always shows as a sign change of `φ − 1`.
    fn sign_change_suffices(&self) -> bool {
        true
    }

    /// The spike is the zero of `u`, a polynomial on the step: safeguarded
    /// Newton on it (with `u' = w/τ_mem`) needs no `atan2`, exponential or
    /// sine per iteration, unlike Newton on `φ − 1`. `None` when `u` does
    /// not change sign on `[t_lo, t_hi]` (the phase and `u` disagree about
    /// the side only within rounding at a bracket end); the generic
    /// refinement takes over then.
    fn refine_crossing(&mut self, t_lo: f64, t_hi: f64) -> Option<f64> {
        let sr = &self.series;
        let (t0, width) = (self.t_prev, self.t - self.t_prev);
        let (inv_tau, (cu, cw, top)) = (sr.inv_tau, (&self.cu, &self.cw, self.top));
        // `−u`, increasing through the spike, and its derivative `−w/τ`.
        let minus_u = |t: f64| {
            let [u, w] = sr.eval(cu, cw, (t - t0).clamp(0.0, width), top);
            Ok::<_, std::convert::Infallible>((-u, -w * inv_tau))
        };
        // The bracket is the step, whose ends the series has given already.
        let known = |[u, w]: [f64; 2]| Ok((-u, -w * inv_tau));
        let lo = if t_lo == t0 {
            known([cu[0], cw[0]])
        } else {
            minus_u(t_lo)
        };
        let hi = if t_hi == self.t {
            known(self.uw_end)
        } else {
            minus_u(t_hi)
        };
        let (Ok((g_lo, d_lo)), Ok((g_hi, d_hi))) = (lo, hi);
        if !(g_lo < 0.0 && g_hi >= 0.0) {
            return None;
        }
        // Not converged: the generic refinement takes over (an error if it
        // does not converge either).
        let Ok(t) = crate::root::bracketed_newton((t_lo, g_lo, d_lo), (t_hi, g_hi, d_hi), minus_u);
        t.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InputSpike, NeuronTrace, RunPlan};
    use evnn_neurons::NeuronModel;

    /// Spike times refined as zeros of `u` agree with the generic refinement
    /// of `φ − 1` to round-off, over many spikes with inputs of both signs.
    #[test]
    fn zero_of_u_refinement_matches_generic_refinement() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let mut compared = 0;
        for (bias, scale) in [(0.3, 1.0), (-0.2, 3.0), (0.05, 6.0)] {
            let inputs: Vec<InputSpike> = (0..40)
                .map(|m| InputSpike::new(2.5 * m as f64, scale * (6.0 - (m % 5) as f64 * 2.5)))
                .collect();
            for tol in [1e-6, 1e-12] {
                let opts = SolverOptions::default().with_tolerances(tol, tol);
                let plan = RunPlan::new(110.0, &opts).unwrap();
                let run = |generic: bool| {
                    let x0 = qif.initial_state();
                    let mut trace = NeuronTrace::new(x0);
                    let stepper = SeriesStepper::new(&qif, bias, &opts, x0);
                    if generic {
                        let mut s = crate::GenericSearch(stepper);
                        plan.run(&mut s, &qif, &[bias], &inputs, &mut trace)
                    } else {
                        let mut s = stepper;
                        plan.run(&mut s, &qif, &[bias], &inputs, &mut trace)
                    }
                    .unwrap();
                    trace.spikes
                };
                let (own, generic) = (run(false), run(true));
                assert_eq!(own.len(), generic.len(), "bias {bias}, tol {tol}");
                for (a, b) in own.iter().zip(&generic) {
                    // Measured: within 1e-14 relative.
                    assert!((a - b).abs() <= 1e-13 * b.abs(), "{a} vs {b}");
                }
                compared += own.len();
            }
        }
        assert!(compared >= 20, "{compared} spikes compared");
    }

    /// The stepper's right-hand side from `y` agrees with the model's
    /// phase form at the same state, across the phase circle.
    #[test]
    fn rate_from_y_matches_model_dynamics() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        for bias in [-0.3, 0.0, 0.7] {
            let series = Series::new(&qif, bias, &SolverOptions::default());
            for k in 0..200 {
                let phi = k as f64 / 200.0;
                let i = 3.0 * (k as f64 * 0.37).sin();
                let (y, _) = homogeneous(phi);
                for scale in [1.0, 1e-3, 7.5] {
                    let got = series.rate([y[0] * scale, y[1] * scale], i);
                    let mut want = [0.0; 2];
                    qif.dynamics(&[bias], &[phi, i], &mut want);
                    for (a, b) in got.iter().zip(&want) {
                        assert!(
                            (a - b).abs() <= 1e-14 * (1.0 + b.abs()),
                            "φ {phi}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn phase_round_trip_and_lift() {
        for phi in [0.0, 1e-9, 0.1, 0.5, 0.9, 1.0 - 1e-12] {
            let ([u, w], _) = homogeneous(phi);
            assert!(u >= 0.0);
            assert!((phase(u, w) - phi).abs() < 1e-15, "φ {phi}");
        }
        // Past the spike (u < 0) the phase continues above 1.
        assert!((phase(-1e-3, -1.0) - 1.0).abs() < 1e-3);
        assert!(phase(-1e-3, -1.0) > 1.0);
        assert!((phase(-1.0, 0.0) - 1.5).abs() < 1e-15);
        assert!(phase(-1.0, 1e-3) > 1.5);
    }
}
