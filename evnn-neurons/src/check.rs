//! Finite-difference check of a model's derivatives.

use crate::{NeuronError, NeuronModel, StateVector};
use serde::{Deserialize, Serialize};

/// Settings of [`check_derivatives`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Central-difference step, relative to `max(1, |value|)` of the perturbed
    /// component.
    pub step: f64,
    /// Allowed relative deviation.
    pub rel_tol: f64,
    /// Allowed absolute deviation.
    pub abs_tol: f64,
}

impl Default for CheckOptions {
    /// `step = 1e-6`, `rel_tol = 1e-5`, `abs_tol = 1e-7`: central differences
    /// have truncation error `O(step²)` and round-off `O(ε/step)`, both well
    /// below these tolerances for smooth models of moderate scale.
    fn default() -> Self {
        CheckOptions {
            step: 1e-6,
            rel_tol: 1e-5,
            abs_tol: 1e-7,
        }
    }
}

/// What [`check_derivatives`] compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DerivativeReport {
    /// Number of derivative entries compared.
    pub entries: usize,
    /// Largest absolute deviation between analytic and numeric entries.
    pub max_abs_error: f64,
}

struct Checker<'o> {
    opts: &'o CheckOptions,
    model: &'static str,
    report: DerivativeReport,
}

impl Checker<'_> {
    fn compare(
        &mut self,
        what: &'static str,
        row: usize,
        col: usize,
        analytic: f64,
        numeric: f64,
    ) -> Result<(), NeuronError> {
        let err = (analytic - numeric).abs();
        let tol = self.opts.abs_tol + self.opts.rel_tol * analytic.abs().max(numeric.abs());
        self.report.entries += 1;
        if err.is_nan() || err > tol {
            return Err(NeuronError::DerivativeMismatch {
                model: self.model,
                what,
                row,
                col,
                analytic,
                numeric,
            });
        }
        self.report.max_abs_error = self.report.max_abs_error.max(err);
        Ok(())
    }

    fn step(&self, value: f64) -> f64 {
        self.opts.step * value.abs().max(1.0)
    }
}

/// Central difference of a vector-valued function along one coordinate.
fn central<S: StateVector>(h: f64, mut eval: impl FnMut(f64) -> S) -> S {
    let plus = eval(h);
    let minus = eval(-h);
    let mut out = S::zeros();
    for (o, (p, m)) in out
        .as_mut_slice()
        .iter_mut()
        .zip(plus.as_slice().iter().zip(minus.as_slice()))
    {
        *o = (p - m) / (2.0 * h);
    }
    out
}

fn unit<S: StateVector>(k: usize) -> S {
    let mut e = S::zeros();
    e.as_mut_slice()[k] = 1.0;
    e
}

/// Compares every derivative a [`NeuronModel`] provides with central finite
/// differences of its own functions, at state `x`, parameters `p` and input
/// weight `w`:
///
/// - `dynamics_vjp` against `∂f/∂x` and `∂f/∂p`,
/// - `event_grad` against `∂g/∂x`,
/// - `reset_vjp` against `∂h/∂x`,
/// - `input_jump_vjp` against `∂j/∂x` and `∂j/∂w`.
///
/// Returns a report, or [`NeuronError::DerivativeMismatch`] naming the first
/// entry outside the tolerance. Choose `x` away from points where the model
/// is not differentiable.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{check_derivatives, CheckOptions, Qif};
///
/// let report = check_derivatives(&Qif::default(), &[0.1], &[0.3, 2.0], 1.5, &CheckOptions::default())
///     .unwrap();
/// assert!(report.entries > 0);
/// ```
pub fn check_derivatives<N: NeuronModel>(
    model: &N,
    p: &N::Params,
    x: &N::State,
    w: f64,
    opts: &CheckOptions,
) -> Result<DerivativeReport, NeuronError> {
    let mut c = Checker {
        opts,
        model: N::NAME,
        report: DerivativeReport {
            entries: 0,
            max_abs_error: 0.0,
        },
    };
    let d = N::State::DIM;
    let np = N::Params::DIM;
    // Analytic rows of each Jacobian, one vector–Jacobian product per row.
    let mut lx = N::State::zeros();
    let mut lp = N::Params::zeros();
    for k in 0..d {
        let h = c.step(x.as_slice()[k]);
        let shifted = |delta: f64| {
            let mut y = *x;
            y.as_mut_slice()[k] += delta;
            y
        };
        // ∂f/∂x, column k
        let col = central(h, |delta| {
            let mut f = N::State::zeros();
            model.dynamics(p, &shifted(delta), &mut f);
            f
        });
        for j in 0..d {
            model.dynamics_vjp(p, x, &unit(j), &mut lx, &mut lp);
            c.compare(
                "dynamics d f/d x",
                j,
                k,
                lx.as_slice()[k],
                col.as_slice()[j],
            )?;
        }
        // ∂g/∂x, entry k
        let gp = model.event(&shifted(h));
        let gm = model.event(&shifted(-h));
        let mut gx = N::State::zeros();
        model.event_grad(x, &mut gx);
        c.compare(
            "event d g/d x",
            0,
            k,
            gx.as_slice()[k],
            (gp - gm) / (2.0 * h),
        )?;
        // ∂h/∂x, column k
        let col = central(h, |delta| {
            let mut y = shifted(delta);
            model.reset(&mut y);
            y
        });
        for j in 0..d {
            model.reset_vjp(x, &unit(j), &mut lx);
            c.compare("reset d h/d x", j, k, lx.as_slice()[k], col.as_slice()[j])?;
        }
        // ∂j/∂x, column k
        let col = central(h, |delta| {
            let mut y = shifted(delta);
            model.input_jump(&mut y, w);
            y
        });
        for j in 0..d {
            model.input_jump_vjp(x, w, &unit(j), &mut lx);
            c.compare(
                "input jump d j/d x",
                j,
                k,
                lx.as_slice()[k],
                col.as_slice()[j],
            )?;
        }
    }
    // ∂f/∂p
    for k in 0..np {
        let h = c.step(p.as_slice()[k]);
        let col = central(h, |delta| {
            let mut q = *p;
            q.as_mut_slice()[k] += delta;
            let mut f = N::State::zeros();
            model.dynamics(&q, x, &mut f);
            f
        });
        for j in 0..d {
            model.dynamics_vjp(p, x, &unit(j), &mut lx, &mut lp);
            c.compare(
                "dynamics d f/d p",
                j,
                k,
                lp.as_slice()[k],
                col.as_slice()[j],
            )?;
        }
    }
    // ∂j/∂w
    let h = c.step(w);
    let col = central(h, |delta| {
        let mut y = *x;
        model.input_jump(&mut y, w + delta);
        y
    });
    for j in 0..d {
        let dw = model.input_jump_vjp(x, w, &unit(j), &mut lx);
        c.compare("input jump d j/d w", j, 0, dw, col.as_slice()[j])?;
    }
    Ok(c.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lif;

    /// A model with a deliberately wrong derivative must be caught.
    #[derive(Clone, Debug)]
    struct Broken(Lif);

    impl NeuronModel for Broken {
        type State = [f64; 2];
        type Params = [f64; 1];
        const NAME: &'static str = "broken";
        const PARAM_NAMES: &'static [&'static str] = &["bias"];
        fn initial_state(&self) -> [f64; 2] {
            self.0.initial_state()
        }
        fn dynamics(&self, p: &[f64; 1], x: &[f64; 2], dx: &mut [f64; 2]) {
            self.0.dynamics(p, x, dx)
        }
        fn dynamics_vjp(
            &self,
            p: &[f64; 1],
            x: &[f64; 2],
            l: &[f64; 2],
            lx: &mut [f64; 2],
            lp: &mut [f64; 1],
        ) {
            self.0.dynamics_vjp(p, x, l, lx, lp);
            lp[0] *= 1.01; // wrong by 1 %
        }
        fn event(&self, x: &[f64; 2]) -> f64 {
            self.0.event(x)
        }
        fn event_grad(&self, x: &[f64; 2], gx: &mut [f64; 2]) {
            self.0.event_grad(x, gx)
        }
        fn reset(&self, x: &mut [f64; 2]) {
            self.0.reset(x)
        }
        fn reset_vjp(&self, x: &[f64; 2], l: &[f64; 2], out: &mut [f64; 2]) {
            self.0.reset_vjp(x, l, out)
        }
        fn input_jump(&self, x: &mut [f64; 2], w: f64) {
            self.0.input_jump(x, w)
        }
        fn input_jump_vjp(&self, x: &[f64; 2], w: f64, l: &[f64; 2], out: &mut [f64; 2]) -> f64 {
            self.0.input_jump_vjp(x, w, l, out)
        }
    }

    #[test]
    fn wrong_derivative_is_reported() {
        let err = check_derivatives(
            &Broken(Lif::default()),
            &[0.0],
            &[0.1, 0.2],
            1.0,
            &CheckOptions::default(),
        )
        .unwrap_err();
        match err {
            NeuronError::DerivativeMismatch { what, row, col, .. } => {
                assert_eq!((what, row, col), ("dynamics d f/d p", 0, 0));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn correct_model_passes_with_small_error() {
        let r = check_derivatives(
            &Lif::default(),
            &[0.5],
            &[0.1, 0.2],
            1.0,
            &CheckOptions::default(),
        )
        .unwrap();
        // 3 Jacobian blocks of 2×2 (f, h, j), event 2, ∂f/∂p 2, ∂j/∂w 2.
        assert_eq!(r.entries, 3 * 4 + 2 + 2 + 2);
        assert!(r.max_abs_error < 1e-8, "{r:?}");
    }
}
