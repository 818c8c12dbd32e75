//! The [`Adjoint`] of [`QifSeries`]: the same series in forward mode over
//! each segment between events.

use super::backend::QifSeries;
use super::series::{Series, ORDER};
use super::stepper::{homogeneous, phase_grad};
use crate::{Adjoint, SolverError, SolverOptions};
use evnn_neurons::Qif;
use std::f64::consts::PI;

/// The adjoint over one segment between events, by the same series: the
/// segment's flow `x_a ↦ x_b` is differentiated in forward mode (tangents
/// `∂y/∂φ_a`, `∂y/∂i_a`, `∂y/∂b` obey the linear ODE of `y`, the last two
/// forced by `∂I/∂i_a · u` and `∂I/∂b · u`), then `λ_a = (∂x_b/∂x_a)ᵀ λ_b`
/// and `μ += (∂x_b/∂b)ᵀ λ_b`. Rescaling `y` and its tangents by one
/// constant changes nothing, since `φ(y)` is 0-homogeneous.
///
/// `∂φ_b/∂φ_a` needs no series of its own: `y` and `∂y/∂φ_a` solve the same
/// linear ODE, whose matrix has trace `−1/τ_mem`, so their Wronskian
/// `W = u₁w₂ − u₂w₁` is `W_a e^{−Δ/τ_mem}` (Abel), and
/// `∂φ_b/∂φ_a = ∇φ(y_b) · ∂y_b/∂φ_a = −W_b / (π r_b)` with
/// `r = π(u² + w²/π²)`.
///
/// `∂φ_b/∂i_a` mostly needs no series either. The flow is invariant under
/// shifting the segment in time, and shifting its start `t_a` moves the
/// current `i_a e^{−(t − t_a)/τ_syn}` as `i_a/τ_syn` times a change of `i_a`
/// would; so `∂y_b/∂i_a = (τ_syn/i_a)(Φ y'_a − y'_b)` with `Φ` the
/// segment's fundamental matrix. Projected by `∇φ(y_b)`, which is zero on
/// `y_b` and one on `∂y_b/∂φ_a`'s direction at the start:
/// `∂φ_b/∂i_a = (τ_syn/i_a)(φ'_a ∂φ_b/∂φ_a − φ'_b)`. The difference carries
/// the truncation error of `φ'_b` times `τ_syn/|i_a|`, so the identity is
/// used only while `τ_syn|φ'| ≤ |i_a|` for every possible phase velocity
/// (a bound from `|I| ≤ |b| + |i_a|`), keeping that error at the
/// tolerance; smaller currents get the tangent's series. Where it holds,
/// the identity replaces a whole tangent series.
impl Adjoint<Qif> for QifSeries {
    fn propagate(
        &mut self,
        model: &Qif,
        params: &[f64; 1],
        t_a: f64,
        x_a: &[f64; 2],
        t_b: f64,
        _x_b: &[f64; 2],
        lambda: &mut [f64; 2],
        mu: &mut [f64; 1],
        options: &SolverOptions,
    ) -> Result<(), SolverError> {
        segment_adjoint(model, params[0], t_a, x_a, t_b, lambda, mu, options, true)
    }
}

/// [`QifSeries`]'s adjoint over one segment; `allow_shift: false` takes
/// the `i_a`-tangent's series even where the time-shift identity applies
/// (for testing one against the other).
#[allow(clippy::too_many_arguments)]
fn segment_adjoint(
    model: &Qif,
    bias: f64,
    t_a: f64,
    x_a: &[f64; 2],
    t_b: f64,
    lambda: &mut [f64; 2],
    mu: &mut [f64; 1],
    options: &SolverOptions,
    allow_shift: bool,
) -> Result<(), SolverError> {
    if !(t_b > t_a) || (lambda[0] == 0.0 && lambda[1] == 0.0) {
        // Nothing flows back through a zero adjoint.
        return Ok(());
    }
    let di_di = (-(t_b - t_a) * model.tau_syn().recip()).exp();
    if lambda[0] == 0.0 {
        // Only the current's adjoint flows back, by its own decay.
        lambda[1] *= di_di;
        return Ok(());
    }
    let sr = Series::new(model, bias, options);
    let (mut y, d_phi) = homogeneous(x_a[0]);
    let (y_a, i_a) = (y, x_a[1]);
    // `|φ'| ≤ (1 + 1/(2π) + |I|/π²)/τ_mem` (see the `rate` formula).
    let max_rate = (1.0 + 0.5 / PI + (sr.bias.abs() + i_a.abs()) / (PI * PI)) * sr.inv_tau;
    let by_shift = allow_shift && i_a.abs() >= model.tau_syn() * max_rate;
    // Wronskian of `y` and `∂y/∂φ_a`, scaled along with `y`; its decay
    // `e^{−Δ/τ_mem}` is applied once at the end.
    let mut wronskian = y[0] * d_phi[1] - d_phi[0] * y[1];
    let (mut d_i, mut d_b) = ([0.0; 2], [0.0; 2]);
    let mut i = x_a[1];
    // e^{−(t − t_a)/τ_syn} at the step start: the weight of i_a in I.
    let mut decay_a = 1.0;
    let mut coeffs = [[0.0; ORDER + 1]; 6];
    let mut t = t_a;
    let mut steps = 0;
    while t < t_b {
        let remaining = t_b - t;
        let top = sr.expand_tangents([y, d_i, d_b], i, decay_a, !by_shift, remaining, &mut coeffs);
        let [cu, cw, iu, iw, bu, bw] = &coeffs;
        let h = if top < sr.order {
            remaining
        } else {
            sr.taylor_step(cu, cw, remaining)
        };
        // As in the stepper, the last order tells whether all are finite.
        if !(h > 0.0 && cu[top].is_finite() && cw[top].is_finite()) {
            return Err(SolverError::NonFiniteState {
                t,
                state: y.to_vec(),
            });
        }
        steps += 1;
        if steps > options.max_steps {
            return Err(SolverError::StepLimit {
                limit: options.max_steps,
                t,
            });
        }
        let last = h >= remaining;
        let h = if last { remaining } else { h };
        let yb = sr.eval(cu, cw, h, top);
        let m = yb[0].abs().max(yb[1].abs());
        if !(m.is_finite() && m > 0.0) {
            return Err(SolverError::NonFiniteState {
                t: t + h,
                state: yb.to_vec(),
            });
        }
        let scale = |v: [f64; 2]| [v[0] / m, v[1] / m];
        y = scale(yb);
        wronskian /= m * m;
        if !by_shift {
            d_i = scale(sr.eval(iu, iw, h, top));
        }
        d_b = scale(sr.eval(bu, bw, h, top));
        let e = (-h * sr.inv_tau_syn).exp();
        i *= e;
        decay_a *= e;
        t = if last { t_b } else { t + h };
    }
    let g = phase_grad(y[0], y[1]);
    let dot = |v: [f64; 2]| g[0] * v[0] + g[1] * v[1];
    let r = PI * (y[0] * y[0] + y[1] * y[1] / (PI * PI));
    let dphi_dphi = -wronskian * (-(t_b - t_a) * sr.inv_tau).exp() / (PI * r);
    let dphi_di = if by_shift {
        let (rate_a, rate_b) = (sr.rate(y_a, i_a)[0], sr.rate(y, i)[0]);
        model.tau_syn() / i_a * (rate_a * dphi_dphi - rate_b)
    } else {
        dot(d_i)
    };
    let dphi_db = dot(d_b);
    let l = *lambda;
    lambda[0] = l[0] * dphi_dphi;
    lambda[1] = l[0] * dphi_di + l[1] * di_di;
    mu[0] += l[0] * dphi_db;
    if !(lambda[0].is_finite() && lambda[1].is_finite() && mu[0].is_finite()) {
        return Err(SolverError::NonFiniteSensitivity {
            what: "adjoint",
            index: 0,
            value: lambda[0] + lambda[1] + mu[0],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::stepper::SeriesStepper;
    use super::*;
    use crate::Stepper;

    /// The series adjoint of a segment against the numerical adjoint, on
    /// segments with and without a spike at the end, positive and negative
    /// currents and biases.
    #[test]
    fn segment_adjoint_matches_numerical_adjoint() {
        use crate::RkAdjoint;
        let qif = Qif::new(20.0, 5.0).unwrap();
        let opts = SolverOptions::default().with_tolerances(1e-13, 1e-13);
        let mut checked = 0;
        for (phi_a, i_a, b, dt) in [
            (0.5, 0.0, 0.3, 5.0),
            (0.0, 12.0, -0.2, 3.0),
            (0.2, 30.0, 0.0, 1.5),
            (0.9, -8.0, 0.6, 7.0),
            (0.4, 3.0, -1.0, 12.0),
            (0.0, 0.0, 2.0, 2.0),
        ] {
            let x_a = [phi_a, i_a];
            // The end state, which tells the numerical adjoint whether the
            // segment ends at a spike.
            let mut stepper = SeriesStepper::new(&qif, b, &opts, x_a);
            while stepper.t() < dt {
                stepper.step(dt).unwrap();
            }
            let x_b = *stepper.x();
            for lambda_b in [[1.0, 0.0], [0.0, 1.0], [0.7, -1.3]] {
                let (mut l1, mut m1) = (lambda_b, [0.25]);
                let (mut l2, mut m2) = (lambda_b, [0.25]);
                QifSeries
                    .propagate(&qif, &[b], 0.0, &x_a, dt, &x_b, &mut l1, &mut m1, &opts)
                    .unwrap();
                RkAdjoint::default()
                    .propagate(&qif, &[b], 0.0, &x_a, dt, &x_b, &mut l2, &mut m2, &opts)
                    .unwrap();
                for (a, e) in l1.iter().chain(&m1).zip(l2.iter().chain(&m2)) {
                    assert!(
                        (a - e).abs() <= 1e-8 * (1.0 + e.abs()),
                        "φ_a {phi_a}, i_a {i_a}, b {b}, dt {dt}, λ_b {lambda_b:?}: series {l1:?} {m1:?}, numerical {l2:?} {m2:?}"
                    );
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 18);
    }

    /// The time-shift identity for `∂φ_b/∂i_a` agrees with the
    /// `i_a`-tangent's series, down to the smallest currents it is used
    /// for: to round-off at tolerance 1e-13 and to the tolerance at 1e-6.
    #[test]
    fn shift_identity_matches_tangent_series() {
        let qif = Qif::new(20.0, 5.0).unwrap();
        let mut by_shift = 0;
        // Measured: 5.2e-16 and 1.2e-8.
        for (tol, bound) in [(1e-13, 1e-14), (1e-6, 1e-7)] {
            let opts = SolverOptions::default().with_tolerances(tol, tol);
            let mut worst: f64 = 0.0;
            for phi_a in [0.0, 0.3, 0.5, 0.95] {
                for i_a in [-40.0, -3.0, -0.4, 0.3, 1.0, 8.0, 30.0] {
                    for b in [-0.5, 0.0, 0.4] {
                        for dt in [0.5, 4.0, 15.0] {
                            let x_a = [phi_a, i_a];
                            let (mut l, mut m) = ([[1.0, 0.5]; 2], [[0.0]; 2]);
                            for (k, shift) in [true, false].into_iter().enumerate() {
                                segment_adjoint(
                                    &qif, b, 0.0, &x_a, dt, &mut l[k], &mut m[k], &opts, shift,
                                )
                                .unwrap();
                            }
                            // `∂φ_b/∂φ_a` and `∂φ_b/∂b` agree to the
                            // tolerance: the series stop at an order that
                            // depends on which tangents they carry.
                            let rel = |a: f64, b: f64| (a - b).abs() / (1.0 + b.abs());
                            let other = rel(l[0][0], l[1][0]).max(rel(m[0][0], m[1][0]));
                            let err = rel(l[0][1], l[1][1]);
                            worst = worst.max(err).max(other);
                            let max_rate = (1.0 + 0.5 / PI + (b.abs() + i_a.abs()) / (PI * PI))
                                / qif.tau_mem();
                            if i_a.abs() >= qif.tau_syn() * max_rate {
                                by_shift += 1;
                            } else {
                                assert_eq!(l[0][1], l[1][1], "series on both sides");
                            }
                        }
                    }
                }
            }
            assert!(worst <= bound, "tol {tol:e}: worst {worst:e}");
        }
        assert!(by_shift >= 400, "{by_shift} segments by the identity");
    }
}
