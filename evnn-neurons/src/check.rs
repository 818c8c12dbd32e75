//! Checks of a model's derivatives: hand-written overrides against the
//! derived ones, and both against finite differences.

use crate::{derived, NeuronError, NeuronModel, StateVector, MAX_WEIGHTS_PER_SYNAPSE};
use serde::{Deserialize, Serialize};

/// Settings of [`check_derivatives`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckOptions {
    /// Central-difference step, relative to `max(1, |value|)` of the perturbed
    /// component.
    pub step: f64,
    /// Allowed relative deviation from finite differences.
    pub rel_tol: f64,
    /// Allowed absolute deviation from finite differences.
    pub abs_tol: f64,
    /// Allowed relative deviation of a hand-written derivative from the one
    /// derived by dual numbers.
    pub override_rel_tol: f64,
    /// Allowed absolute deviation of a hand-written derivative from the
    /// derived one.
    pub override_abs_tol: f64,
}

impl Default for CheckOptions {
    /// `step = 1e-6`, `rel_tol = 1e-5`, `abs_tol = 1e-7`: central differences
    /// have truncation error `O(step²)` and round-off `O(ε/step)`, both well
    /// below these tolerances for smooth models of moderate scale.
    /// `override_rel_tol = 1e-10`, `override_abs_tol = 1e-12`: a hand-written
    /// derivative and the derived one compute the same expression in other
    /// orders, so they agree to a few rounding errors.
    fn default() -> Self {
        CheckOptions {
            step: 1e-6,
            rel_tol: 1e-5,
            abs_tol: 1e-7,
            override_rel_tol: 1e-10,
            override_abs_tol: 1e-12,
        }
    }
}

/// What [`check_derivatives`] compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DerivativeReport {
    /// Number of derivative entries compared.
    pub entries: usize,
    /// Largest absolute deviation between the derived and the finite-difference
    /// entries.
    pub max_abs_error: f64,
    /// Largest absolute deviation between the model's entries (hand-written
    /// where it overrides them) and the derived ones; `0` for a model
    /// without overrides.
    pub max_override_deviation: f64,
}

struct Checker<'o> {
    opts: &'o CheckOptions,
    model: &'static str,
    report: DerivativeReport,
}

impl Checker<'_> {
    /// Compares one entry: the model's value, the derived one, and the
    /// central difference.
    fn compare(
        &mut self,
        what: &'static str,
        (row, col): (usize, usize),
        given: f64,
        derived: f64,
        numeric: f64,
    ) -> Result<(), NeuronError> {
        self.report.entries += 1;
        let o = self.opts;
        let dev = (given - derived).abs();
        if !(dev <= o.override_abs_tol + o.override_rel_tol * given.abs().max(derived.abs())) {
            return Err(NeuronError::OverrideMismatch {
                model: self.model,
                what,
                row,
                col,
                given,
                derived,
            });
        }
        self.report.max_override_deviation = self.report.max_override_deviation.max(dev);
        let err = (derived - numeric).abs();
        if !(err <= o.abs_tol + o.rel_tol * derived.abs().max(numeric.abs())) {
            return Err(NeuronError::DerivativeMismatch {
                model: self.model,
                what,
                row,
                col,
                analytic: derived,
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

/// The equations' values at the check point must be finite.
fn finite(model: &'static str, what: &'static str, values: &[f64]) -> Result<(), NeuronError> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(&value) => Err(NeuronError::NonFiniteEquation { model, what, value }),
        None => Ok(()),
    }
}

/// Checks every derivative a [`NeuronModel`] provides, at state `x`,
/// parameters `p` and input weight `w`:
///
/// - each derivative the model computes (hand-written where it overrides
///   the default) against the one derived from its equations by dual
///   numbers ([`NeuronError::OverrideMismatch`] names an override that
///   disagrees);
/// - the derived derivatives against central finite differences of the
///   equations ([`NeuronError::DerivativeMismatch`]: the equations are not
///   smooth at this point, or not what the code computes);
///
/// for `dynamics_vjp` (`∂f/∂x`, `∂f/∂p`), `dynamics_jvp` (`∂f/∂x`),
/// `event_grad` (`∂g/∂x`), `reset_vjp` (`∂h/∂x`), `reset_vjp_with_params`
/// (`∂h/∂x`, `∂h/∂p` of the reset with parameters; a model whose
/// `∂h/∂p` is not zero without
/// [`RESET_USES_PARAMS`](NeuronModel::RESET_USES_PARAMS), or whose
/// override disagrees, is named) and `input_jump_vjp` (`∂j/∂x`, `∂j/∂w`),
/// and for a model with `K > 1` weights per synapse
/// ([`NeuronModel::WEIGHTS_PER_SYNAPSE`]) `input_jump_weights_vjp`
/// (`∂j/∂x`, `∂j/∂w_k`) at the weights `w_k = w + k/2`. A `K` outside
/// `1..=`[`MAX_WEIGHTS_PER_SYNAPSE`](crate::MAX_WEIGHTS_PER_SYNAPSE) is an
/// [`NeuronError::InvalidConstant`]. The equations' values at the point must be finite
/// ([`NeuronError::NonFiniteEquation`]). Choose `x` away from points where
/// the model is not differentiable.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{check_derivatives, CheckOptions, Qif};
///
/// let report = check_derivatives(&Qif::default(), &[0.1], &[0.3, 2.0], 1.5, &CheckOptions::default())
///     .unwrap();
/// assert!(report.entries > 0);
/// assert!(report.max_override_deviation < 1e-13);
/// ```
pub fn check_derivatives<N: NeuronModel>(
    model: &N,
    p: &N::Params,
    x: &N::State,
    w: f64,
    opts: &CheckOptions,
) -> Result<DerivativeReport, NeuronError> {
    let name = N::NAME;
    finite(name, "parameters p", p.as_slice())?;
    finite(name, "state x", x.as_slice())?;
    finite(name, "input weight w", &[w])?;
    let mut f = N::State::zeros();
    model.dynamics(p.as_slice(), x.as_slice(), f.as_mut_slice());
    finite(name, "dynamics f(x, p)", f.as_slice())?;
    finite(name, "event g(x)", &[model.event(x.as_slice())])?;
    let mut y = *x;
    model.reset(y.as_mut_slice());
    finite(name, "reset h(x)", y.as_slice())?;
    let mut y = *x;
    model.reset_with_params(p.as_slice(), y.as_mut_slice());
    finite(name, "reset h(x, p)", y.as_slice())?;
    let mut y = *x;
    model.input_jump(y.as_mut_slice(), w);
    finite(name, "input jump j(x, w)", y.as_slice())?;

    let mut c = Checker {
        opts,
        model: name,
        report: DerivativeReport {
            entries: 0,
            max_abs_error: 0.0,
            max_override_deviation: 0.0,
        },
    };
    let d = N::State::DIM;
    let np = N::Params::DIM;
    let (mut lx, mut lp) = (N::State::zeros(), N::Params::zeros());
    let (mut dx, mut dp) = (N::State::zeros(), N::Params::zeros());
    for k in 0..d {
        let h = c.step(x.as_slice()[k]);
        let shifted = |delta: f64| {
            let mut y = *x;
            y.as_mut_slice()[k] += delta;
            y
        };
        // ∂f/∂x, column k: rows by vector–Jacobian products, the column by a
        // Jacobian–vector product.
        let col = central(h, |delta| {
            let mut f = N::State::zeros();
            model.dynamics(p.as_slice(), shifted(delta).as_slice(), f.as_mut_slice());
            f
        });
        let (mut jv, mut djv) = (N::State::zeros(), N::State::zeros());
        model.dynamics_jvp(p, x, &unit(k), &mut jv);
        derived::dynamics_jvp(model, p, x, &unit(k), &mut djv);
        for j in 0..d {
            model.dynamics_vjp(p, x, &unit(j), &mut lx, &mut lp);
            derived::dynamics_vjp(model, p, x, &unit(j), &mut dx, &mut dp);
            let (given, derived, numeric) = (lx.as_slice()[k], dx.as_slice()[k], col.as_slice()[j]);
            c.compare("dynamics_vjp d f/d x", (j, k), given, derived, numeric)?;
            let (given, derived) = (jv.as_slice()[j], djv.as_slice()[j]);
            c.compare("dynamics_jvp d f/d x", (j, k), given, derived, numeric)?;
        }
        // ∂g/∂x, entry k
        let numeric =
            (model.event(shifted(h).as_slice()) - model.event(shifted(-h).as_slice())) / (2.0 * h);
        model.event_grad(x, &mut lx);
        derived::event_grad(model, x, &mut dx);
        c.compare(
            "event_grad d g/d x",
            (0, k),
            lx.as_slice()[k],
            dx.as_slice()[k],
            numeric,
        )?;
        // ∂h/∂x, column k
        let col = central(h, |delta| {
            let mut y = shifted(delta);
            model.reset(y.as_mut_slice());
            y
        });
        for j in 0..d {
            model.reset_vjp(x, &unit(j), &mut lx);
            derived::reset_vjp(model, x, &unit(j), &mut dx);
            let (given, derived, numeric) = (lx.as_slice()[k], dx.as_slice()[k], col.as_slice()[j]);
            c.compare("reset_vjp d h/d x", (j, k), given, derived, numeric)?;
        }
        // ∂h/∂x of the reset with parameters, column k
        let col = central(h, |delta| {
            let mut y = shifted(delta);
            model.reset_with_params(p.as_slice(), y.as_mut_slice());
            y
        });
        for j in 0..d {
            let (mut gp, mut dgp) = (N::Params::zeros(), N::Params::zeros());
            model.reset_vjp_with_params(p, x, &unit(j), &mut lx, &mut gp);
            derived::reset_vjp_with_params(model, p, x, &unit(j), &mut dx, &mut dgp);
            let (given, derived, numeric) = (lx.as_slice()[k], dx.as_slice()[k], col.as_slice()[j]);
            c.compare(
                "reset_vjp_with_params d h/d x",
                (j, k),
                given,
                derived,
                numeric,
            )?;
        }
        // ∂j/∂x, column k
        let col = central(h, |delta| {
            let mut y = shifted(delta);
            model.input_jump(y.as_mut_slice(), w);
            y
        });
        for j in 0..d {
            model.input_jump_vjp(x, w, &unit(j), &mut lx);
            derived::input_jump_vjp(model, x, w, &unit(j), &mut dx);
            let (given, derived, numeric) = (lx.as_slice()[k], dx.as_slice()[k], col.as_slice()[j]);
            c.compare("input_jump_vjp d j/d x", (j, k), given, derived, numeric)?;
        }
    }
    // ∂f/∂p
    for k in 0..np {
        let h = c.step(p.as_slice()[k]);
        let col = central(h, |delta| {
            let mut q = *p;
            q.as_mut_slice()[k] += delta;
            let mut f = N::State::zeros();
            model.dynamics(q.as_slice(), x.as_slice(), f.as_mut_slice());
            f
        });
        for j in 0..d {
            model.dynamics_vjp(p, x, &unit(j), &mut lx, &mut lp);
            derived::dynamics_vjp(model, p, x, &unit(j), &mut dx, &mut dp);
            let (given, derived, numeric) = (lp.as_slice()[k], dp.as_slice()[k], col.as_slice()[j]);
            c.compare("dynamics_vjp d f/d p", (j, k), given, derived, numeric)?;
        }
        // ∂h/∂p, column k: the reset's parameter gradient, zero unless the
        // model's reset uses its parameters.
        let col = central(h, |delta| {
            let mut q = *p;
            q.as_mut_slice()[k] += delta;
            let mut y = *x;
            model.reset_with_params(q.as_slice(), y.as_mut_slice());
            y
        });
        for j in 0..d {
            let (mut gp, mut dgp) = (N::Params::zeros(), N::Params::zeros());
            model.reset_vjp_with_params(p, x, &unit(j), &mut lx, &mut gp);
            derived::reset_vjp_with_params(model, p, x, &unit(j), &mut dx, &mut dgp);
            let (given, derived, numeric) =
                (gp.as_slice()[k], dgp.as_slice()[k], col.as_slice()[j]);
            c.compare(
                "reset_vjp_with_params d h/d p",
                (j, k),
                given,
                derived,
                numeric,
            )?;
        }
    }
    // ∂j/∂w
    let h = c.step(w);
    let col = central(h, |delta| {
        let mut y = *x;
        model.input_jump(y.as_mut_slice(), w + delta);
        y
    });
    for j in 0..d {
        let given = model.input_jump_vjp(x, w, &unit(j), &mut lx);
        let derived = derived::input_jump_vjp(model, x, w, &unit(j), &mut dx);
        c.compare(
            "input_jump_vjp d j/d w",
            (j, 0),
            given,
            derived,
            col.as_slice()[j],
        )?;
    }
    if N::WEIGHTS_PER_SYNAPSE != 1 {
        check_weights(model, x, w, &mut c)?;
    }
    Ok(c.report)
}

/// The checks of `input_jump_weights_vjp` for `K > 1` weights per synapse.
fn check_weights<N: NeuronModel>(
    model: &N,
    x: &N::State,
    w: f64,
    c: &mut Checker<'_>,
) -> Result<(), NeuronError> {
    let k_w = N::WEIGHTS_PER_SYNAPSE;
    if !(1..=MAX_WEIGHTS_PER_SYNAPSE).contains(&k_w) {
        return Err(NeuronError::InvalidConstant {
            model: N::NAME,
            name: "WEIGHTS_PER_SYNAPSE",
            value: k_w as f64,
            reason: "must be between 1 and MAX_WEIGHTS_PER_SYNAPSE (8)",
        });
    }
    let mut ws = [0.0; MAX_WEIGHTS_PER_SYNAPSE];
    for (k, v) in ws.iter_mut().enumerate() {
        *v = w + 0.5 * k as f64;
    }
    let ws = &ws[..k_w];
    let jump = |x: &N::State, ws: &[f64]| {
        let mut y = *x;
        model.input_jump_weights(y.as_mut_slice(), ws);
        y
    };
    finite(N::NAME, "input jump j(x, w)", jump(x, ws).as_slice())?;
    let d = N::State::DIM;
    let (mut lx, mut dx) = (N::State::zeros(), N::State::zeros());
    let (mut lw, mut dw) = (
        [0.0; MAX_WEIGHTS_PER_SYNAPSE],
        [0.0; MAX_WEIGHTS_PER_SYNAPSE],
    );
    for k in 0..d {
        let h = c.step(x.as_slice()[k]);
        let col = central(h, |delta| {
            let mut y = *x;
            y.as_mut_slice()[k] += delta;
            jump(&y, ws)
        });
        for j in 0..d {
            model.input_jump_weights_vjp(x, ws, &unit(j), &mut lx, &mut lw[..k_w]);
            derived::input_jump_weights_vjp(model, x, ws, &unit(j), &mut dx, &mut dw[..k_w]);
            let (given, derived, numeric) = (lx.as_slice()[k], dx.as_slice()[k], col.as_slice()[j]);
            c.compare(
                "input_jump_weights_vjp d j/d x",
                (j, k),
                given,
                derived,
                numeric,
            )?;
        }
    }
    for k in 0..k_w {
        let h = c.step(ws[k]);
        let col = central(h, |delta| {
            let mut shifted = [0.0; MAX_WEIGHTS_PER_SYNAPSE];
            shifted[..k_w].copy_from_slice(ws);
            shifted[k] += delta;
            jump(x, &shifted[..k_w])
        });
        for j in 0..d {
            model.input_jump_weights_vjp(x, ws, &unit(j), &mut lx, &mut lw[..k_w]);
            derived::input_jump_weights_vjp(model, x, ws, &unit(j), &mut dx, &mut dw[..k_w]);
            c.compare(
                "input_jump_weights_vjp d j/d w",
                (j, k),
                lw[k],
                dw[k],
                col.as_slice()[j],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lif, Scalar};

    /// A model with a deliberately wrong hand-written derivative must be
    /// caught.
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
        fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
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
        fn event<T: Scalar>(&self, x: &[T]) -> T {
            self.0.event(x)
        }
        fn reset<T: Scalar>(&self, x: &mut [T]) {
            self.0.reset(x)
        }
        fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
            self.0.input_jump(x, w)
        }
    }

    /// A LIF neuron whose reset potential is its second parameter,
    /// `v ← p₁`, with a hand-written reset derivative: `SCALE` times the
    /// true `∂h/∂p` (1: correct), and `FLAG` as its
    /// [`RESET_USES_PARAMS`](NeuronModel::RESET_USES_PARAMS).
    #[derive(Clone, Debug)]
    struct ResetToParam<const FLAG: bool, const SCALE: i32>(Lif);

    impl<const FLAG: bool, const SCALE: i32> NeuronModel for ResetToParam<FLAG, SCALE> {
        type State = [f64; 2];
        type Params = [f64; 2];
        const NAME: &'static str = "reset-to-param";
        const PARAM_NAMES: &'static [&'static str] = &["bias", "v_reset"];
        const RESET_USES_PARAMS: bool = FLAG;
        fn initial_state(&self) -> [f64; 2] {
            self.0.initial_state()
        }
        fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
            self.0.dynamics(&p[..1], x, dx)
        }
        fn event<T: Scalar>(&self, x: &[T]) -> T {
            self.0.event(x)
        }
        fn reset<T: Scalar>(&self, x: &mut [T]) {
            x[0] = T::from(0.0);
        }
        fn reset_with_params<T: Scalar>(&self, p: &[T], x: &mut [T]) {
            x[0] = p[1];
        }
        fn reset_vjp_with_params(
            &self,
            _p: &[f64; 2],
            _x: &[f64; 2],
            l: &[f64; 2],
            out: &mut [f64; 2],
            lp: &mut [f64; 2],
        ) {
            *out = [0.0, l[1]];
            if FLAG {
                lp[1] += f64::from(SCALE) * l[0];
            }
        }
        fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
            self.0.input_jump(x, w)
        }
    }

    /// The reset's parameter derivative is checked: a correct override
    /// passes, a wrong one is named, and so is a reset that uses its
    /// parameters without saying so (`∂h/∂p` given as zero).
    #[test]
    fn reset_parameter_derivative_is_checked() {
        let (p, x, opts) = ([0.5, 0.2], [0.3, 0.1], CheckOptions::default());
        let r = check_derivatives(&ResetToParam::<true, 1>(Lif::default()), &p, &x, 1.0, &opts)
            .unwrap();
        assert!(r.max_override_deviation == 0.0, "{r:?}");
        for (err, given) in [
            (
                check_derivatives(&ResetToParam::<true, 2>(Lif::default()), &p, &x, 1.0, &opts),
                2.0,
            ),
            (
                check_derivatives(
                    &ResetToParam::<false, 1>(Lif::default()),
                    &p,
                    &x,
                    1.0,
                    &opts,
                ),
                0.0,
            ),
        ] {
            match err {
                Err(NeuronError::OverrideMismatch {
                    what,
                    row,
                    col,
                    given: g,
                    derived,
                    ..
                }) => {
                    assert_eq!((what, row, col), ("reset_vjp_with_params d h/d p", 0, 1));
                    assert_eq!((g, derived), (given, 1.0));
                }
                other => panic!("expected a named reset override, got {other:?}"),
            }
        }
    }

    /// Equations with a kink at the check point: the derived derivative is
    /// one side's, finite differences average the two.
    #[derive(Clone, Debug)]
    struct Kinked;

    impl NeuronModel for Kinked {
        type State = [f64; 1];
        type Params = [f64; 1];
        const NAME: &'static str = "kinked";
        const PARAM_NAMES: &'static [&'static str] = &["bias"];
        fn initial_state(&self) -> [f64; 1] {
            [0.0]
        }
        fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
            dx[0] = x[0].abs() + p[0];
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

    /// Dynamics that overflow: `e^{x}` at `x = 1000`.
    #[derive(Clone, Debug)]
    struct Overflowing;

    impl NeuronModel for Overflowing {
        type State = [f64; 1];
        type Params = [f64; 1];
        const NAME: &'static str = "overflowing";
        const PARAM_NAMES: &'static [&'static str] = &["bias"];
        fn initial_state(&self) -> [f64; 1] {
            [0.0]
        }
        fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
            dx[0] = x[0].exp() + p[0];
        }
        fn event<T: Scalar>(&self, x: &[T]) -> T {
            x[0] - 2000.0
        }
        fn reset<T: Scalar>(&self, x: &mut [T]) {
            x[0] = T::from(0.0);
        }
        fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
            x[0] += w;
        }
    }

    #[test]
    fn kink_is_reported_against_finite_differences() {
        let err =
            check_derivatives(&Kinked, &[0.0], &[0.0], 1.0, &CheckOptions::default()).unwrap_err();
        match err {
            NeuronError::DerivativeMismatch { what, row, col, .. } => {
                assert_eq!((what, row, col), ("dynamics_vjp d f/d x", 0, 0));
            }
            other => panic!("unexpected {other:?}"),
        }
        // Away from the kink the same model passes.
        check_derivatives(&Kinked, &[0.0], &[0.5], 1.0, &CheckOptions::default()).unwrap();
    }

    #[test]
    fn non_finite_equations_are_reported() {
        let err = check_derivatives(
            &Overflowing,
            &[0.0],
            &[1000.0],
            1.0,
            &CheckOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            NeuronError::NonFiniteEquation {
                model: "overflowing",
                what: "dynamics f(x, p)",
                value: f64::INFINITY
            }
        );
        let err = check_derivatives(
            &Lif::default(),
            &[0.0],
            &[f64::NAN, 0.0],
            1.0,
            &CheckOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                NeuronError::NonFiniteEquation {
                    what: "state x",
                    ..
                }
            ),
            "{err:?}"
        );
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
            NeuronError::OverrideMismatch {
                what,
                row,
                col,
                given,
                derived,
                ..
            } => {
                assert_eq!((what, row, col), ("dynamics_vjp d f/d p", 0, 0));
                assert!((given - 1.01 * derived).abs() < 1e-15, "{given} {derived}");
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
        // 5 Jacobian blocks of 2×2 (f by vjp and jvp, h by reset_vjp and
        // reset_vjp_with_params, j), event 2, ∂f/∂p 2, ∂h/∂p 2, ∂j/∂w 2.
        assert_eq!(r.entries, 5 * 4 + 2 + 2 + 2 + 2);
        assert!(r.max_abs_error < 1e-8, "{r:?}");
    }
}
