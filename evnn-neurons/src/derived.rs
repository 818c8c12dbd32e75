//! Derivatives of a model's equations by forward-mode dual numbers.
//!
//! Each function evaluates one of the model's equations with [`Dual64`]
//! arguments, seeding one input direction at a time: the dual part of the
//! output is then one column of the Jacobian, exact to round-off. A
//! vector–Jacobian product `λᵀ J` takes one evaluation per input component
//! (the state's and the parameters' dimensions are small), a
//! Jacobian–vector product `J v` a single one. Nothing here allocates.
//!
//! These are the default implementations of [`NeuronModel`]'s derivative
//! methods. They are public so that a hand-written override can be compared
//! with them ([`check_derivatives`](crate::check_derivatives) does), and
//! [`Derived`] runs any model with all of them, whatever it overrides.

use crate::{NeuronError, NeuronModel, StateVector};
use num_dual::Dual64;

/// `x` as duals with dual part `seed` (the direction of differentiation).
#[inline]
fn seeded<S: StateVector>(x: &S, seed: impl Fn(usize) -> f64) -> S::Of<Dual64> {
    let mut out = S::splat(Dual64::from(0.0));
    for (k, (o, &v)) in out.as_mut().iter_mut().zip(x.as_slice()).enumerate() {
        *o = Dual64::new(v, seed(k));
    }
    out
}

/// `x` as duals with dual part `1` in component `k` (none when `k` is out of
/// range).
#[inline]
fn unit_seeded<S: StateVector>(x: &S, k: usize) -> S::Of<Dual64> {
    seeded(x, |i| if i == k { 1.0 } else { 0.0 })
}

/// `λᵀ (dual part of y)`.
#[inline]
fn dot_eps(lambda: &[f64], y: &[Dual64]) -> f64 {
    lambda.iter().zip(y).map(|(l, y)| l * y.eps).sum()
}

/// `(∂f/∂x)ᵀ λ` into `lx` and `(∂f/∂p)ᵀ λ` into `lp`.
pub fn dynamics_vjp<N: NeuronModel>(
    model: &N,
    p: &N::Params,
    x: &N::State,
    lambda: &N::State,
    lx: &mut N::State,
    lp: &mut N::Params,
) {
    let d = N::State::DIM;
    let mut f = N::State::splat(Dual64::from(0.0));
    for k in 0..d + N::Params::DIM {
        // Direction k: the k-th state component, then the parameters.
        let xd = unit_seeded(x, k);
        let pd = unit_seeded(p, k.wrapping_sub(d));
        model.dynamics(pd.as_ref(), xd.as_ref(), f.as_mut());
        let v = dot_eps(lambda.as_slice(), f.as_ref());
        if k < d {
            lx.as_mut_slice()[k] = v;
        } else {
            lp.as_mut_slice()[k - d] = v;
        }
    }
}

/// `(∂f/∂x) v` into `out`.
pub fn dynamics_jvp<N: NeuronModel>(
    model: &N,
    p: &N::Params,
    x: &N::State,
    v: &N::State,
    out: &mut N::State,
) {
    let xd = seeded(x, |i| v.as_slice()[i]);
    let pd = seeded(p, |_| 0.0);
    let mut f = N::State::splat(Dual64::from(0.0));
    model.dynamics(pd.as_ref(), xd.as_ref(), f.as_mut());
    for (o, y) in out.as_mut_slice().iter_mut().zip(f.as_ref()) {
        *o = y.eps;
    }
}

/// `∂g/∂x` into `gx`.
pub fn event_grad<N: NeuronModel>(model: &N, x: &N::State, gx: &mut N::State) {
    for k in 0..N::State::DIM {
        let xd = unit_seeded(x, k);
        gx.as_mut_slice()[k] = model.event(xd.as_ref()).eps;
    }
}

/// `(∂h/∂x)ᵀ λ⁺` (at `x_minus`) into `out`.
pub fn reset_vjp<N: NeuronModel>(
    model: &N,
    x_minus: &N::State,
    lambda_plus: &N::State,
    out: &mut N::State,
) {
    for k in 0..N::State::DIM {
        let mut y = unit_seeded(x_minus, k);
        model.reset(y.as_mut());
        out.as_mut_slice()[k] = dot_eps(lambda_plus.as_slice(), y.as_ref());
    }
}

/// `(∂h/∂x)ᵀ λ⁺` into `out` and `(∂h/∂p)ᵀ λ⁺` added to `lp`, for the
/// reset with parameters
/// ([`reset_with_params`](NeuronModel::reset_with_params)) at `x_minus`,
/// `p`.
pub fn reset_vjp_with_params<N: NeuronModel>(
    model: &N,
    p: &N::Params,
    x_minus: &N::State,
    lambda_plus: &N::State,
    out: &mut N::State,
    lp: &mut N::Params,
) {
    let d = N::State::DIM;
    for k in 0..d + N::Params::DIM {
        // Direction k: the k-th state component, then the parameters.
        let mut y = unit_seeded(x_minus, k);
        let pd = unit_seeded(p, k.wrapping_sub(d));
        model.reset_with_params(pd.as_ref(), y.as_mut());
        let v = dot_eps(lambda_plus.as_slice(), y.as_ref());
        if k < d {
            out.as_mut_slice()[k] = v;
        } else {
            lp.as_mut_slice()[k - d] += v;
        }
    }
}

/// `(∂j/∂x)ᵀ λ⁺` (at `x_minus`, weight `w`) into `out`; returns `λ⁺ᵀ ∂j/∂w`.
pub fn input_jump_vjp<N: NeuronModel>(
    model: &N,
    x_minus: &N::State,
    w: f64,
    lambda_plus: &N::State,
    out: &mut N::State,
) -> f64 {
    for k in 0..N::State::DIM {
        let mut y = unit_seeded(x_minus, k);
        model.input_jump(y.as_mut(), Dual64::from(w));
        out.as_mut_slice()[k] = dot_eps(lambda_plus.as_slice(), y.as_ref());
    }
    let mut y = seeded(x_minus, |_| 0.0);
    model.input_jump(y.as_mut(), Dual64::new(w, 1.0));
    dot_eps(lambda_plus.as_slice(), y.as_ref())
}

/// `(∂j/∂x)ᵀ λ⁺` (at `x_minus`, the synapse's weights `w`) into `out` and
/// `λ⁺ᵀ ∂j/∂w_k` into `lw[k]`, for the jump
/// [`input_jump_weights`](NeuronModel::input_jump_weights). `w` and `lw`
/// have [`NeuronModel::WEIGHTS_PER_SYNAPSE`] entries, at most
/// [`MAX_WEIGHTS_PER_SYNAPSE`]; further entries of `lw` are left alone.
pub fn input_jump_weights_vjp<N: NeuronModel>(
    model: &N,
    x_minus: &N::State,
    w: &[f64],
    lambda_plus: &N::State,
    out: &mut N::State,
    lw: &mut [f64],
) {
    let k_w = w.len().min(MAX_WEIGHTS_PER_SYNAPSE);
    debug_assert_eq!(k_w, w.len());
    let mut wd = [Dual64::from(0.0); MAX_WEIGHTS_PER_SYNAPSE];
    for (d, &v) in wd.iter_mut().zip(w) {
        *d = Dual64::from(v);
    }
    for k in 0..N::State::DIM {
        let mut y = unit_seeded(x_minus, k);
        model.input_jump_weights(y.as_mut(), &wd[..k_w]);
        out.as_mut_slice()[k] = dot_eps(lambda_plus.as_slice(), y.as_ref());
    }
    for (k, l) in lw.iter_mut().enumerate().take(k_w) {
        let mut y = seeded(x_minus, |_| 0.0);
        wd[k].eps = 1.0;
        model.input_jump_weights(y.as_mut(), &wd[..k_w]);
        wd[k].eps = 0.0;
        *l = dot_eps(lambda_plus.as_slice(), y.as_ref());
    }
}

/// The most weights one synapse may carry
/// ([`NeuronModel::WEIGHTS_PER_SYNAPSE`]): the derived derivatives and the
/// solver keep a synapse's weights in arrays of this length.
pub const MAX_WEIGHTS_PER_SYNAPSE: usize = 8;

/// A model with every derivative derived from its equations, whatever the
/// model overrides by hand; everything else (constants, silence proof,
/// refractory period, spike limit, parameter checks) is the model's.
///
/// For comparing a model's hand-written derivatives with the derived ones,
/// in tests and benchmarks.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Derived, NeuronModel, Qif};
///
/// let qif = Qif::default();
/// let (p, x, l) = ([0.2], [0.3, 1.5], [0.7, -0.4]);
/// let (mut lx, mut lp) = ([0.0; 2], [0.0]);
/// let (mut dx, mut dp) = ([0.0; 2], [0.0]);
/// qif.dynamics_vjp(&p, &x, &l, &mut lx, &mut lp);           // hand-written
/// Derived(qif).dynamics_vjp(&p, &x, &l, &mut dx, &mut dp);  // derived
/// assert!((lx[0] - dx[0]).abs() <= 1e-13 * lx[0].abs());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Derived<N>(pub N);

impl<N: NeuronModel> NeuronModel for Derived<N> {
    type State = N::State;
    type Params = N::Params;
    const NAME: &'static str = N::NAME;
    const PARAM_NAMES: &'static [&'static str] = N::PARAM_NAMES;
    const WEIGHTS_PER_SYNAPSE: usize = N::WEIGHTS_PER_SYNAPSE;
    const RESET_USES_PARAMS: bool = N::RESET_USES_PARAMS;

    fn initial_state(&self) -> Self::State {
        self.0.initial_state()
    }
    #[inline]
    fn input_jump_weights<T: crate::Scalar>(&self, x: &mut [T], w: &[T]) {
        self.0.input_jump_weights(x, w)
    }
    fn input_jump_weights_vjp(
        &self,
        x_minus: &Self::State,
        w: &[f64],
        lambda_plus: &Self::State,
        out: &mut Self::State,
        lw: &mut [f64],
    ) {
        input_jump_weights_vjp(self, x_minus, w, lambda_plus, out, lw)
    }
    #[inline]
    fn dynamics<T: crate::Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        self.0.dynamics(p, x, dx)
    }
    #[inline]
    fn event<T: crate::Scalar>(&self, x: &[T]) -> T {
        self.0.event(x)
    }
    #[inline]
    fn reset<T: crate::Scalar>(&self, x: &mut [T]) {
        self.0.reset(x)
    }
    #[inline]
    fn reset_with_params<T: crate::Scalar>(&self, p: &[T], x: &mut [T]) {
        self.0.reset_with_params(p, x)
    }
    #[inline]
    fn input_jump<T: crate::Scalar>(&self, x: &mut [T], w: T) {
        self.0.input_jump(x, w)
    }
    fn silent_for(&self, p: &Self::Params, x: &Self::State, horizon: f64) -> bool {
        self.0.silent_for(p, x, horizon)
    }
    fn refractory_period(&self) -> f64 {
        self.0.refractory_period()
    }
    fn spike_limit(&self) -> Option<usize> {
        self.0.spike_limit()
    }
    fn default_params(&self) -> Self::Params {
        self.0.default_params()
    }
    fn validate_params(&self, p: &Self::Params) -> Result<(), NeuronError> {
        self.0.validate_params(p)
    }
}
