//! The [`NeuronModel`] trait: what a solver and the EventProp adjoint need to
//! know about one neuron.

use crate::{NeuronError, StateVector};
use std::fmt::Debug;

/// A spiking neuron: a small autonomous ODE `x' = f(x, p)` with a spike event
/// `g(x)` crossing zero upward, a reset jump `x ← h(x)` at each own spike and
/// an input jump `x ← j(x, w)` at each incoming spike of weight `w`.
///
/// The implementing struct holds the model's constants (time constants,
/// threshold, ...), which are shared by a layer; the learnable per-neuron
/// parameters `p` (for example the bias current) are passed separately so a
/// network can keep them in its own parameter buffers.
///
/// Besides the dynamics, a model provides the derivatives the EventProp
/// adjoint needs, as vector–Jacobian products (`λᵀ J`):
/// [`dynamics_vjp`](Self::dynamics_vjp) for `∂f/∂x` and `∂f/∂p`,
/// [`event_grad`](Self::event_grad) for `∂g/∂x`,
/// [`reset_vjp`](Self::reset_vjp) for `∂h/∂x` and
/// [`input_jump_vjp`](Self::input_jump_vjp) for `∂j/∂x` and `∂j/∂w`.
/// [`check_derivatives`](crate::check_derivatives) compares all of them with
/// finite differences; run it in a test of every model you write.
///
/// Contract (the solver checks what it can and returns an error otherwise):
/// - `g(h(x)) < 0`: a reset leaves the neuron below its event surface;
/// - an input jump does not by itself cross the event surface;
/// - `g` does not depend on `p`, `h` and `j` do not depend on `p`.
///
/// # Examples
///
/// A user-defined model: the exponential integrate-and-fire neuron (EIF) with
/// a current-based synapse, `τ_m v' = −v + Δ_T e^{(v − v_T)/Δ_T} + i + b`,
/// `τ_s i' = −i`, spiking when `v` reaches `v_peak` and reset to `v_r`.
///
/// ```
/// use evnn_neurons::{check_derivatives, CheckOptions, NeuronModel};
///
/// #[derive(Clone, Debug)]
/// struct Eif { tau_mem: f64, tau_syn: f64, delta_t: f64, v_t: f64, v_peak: f64, v_reset: f64 }
///
/// impl NeuronModel for Eif {
///     type State = [f64; 2];  // (v, i)
///     type Params = [f64; 1]; // bias b
///     const NAME: &'static str = "EIF";
///     const PARAM_NAMES: &'static [&'static str] = &["bias"];
///
///     fn initial_state(&self) -> [f64; 2] { [0.0, 0.0] }
///     fn dynamics(&self, p: &[f64; 1], x: &[f64; 2], dx: &mut [f64; 2]) {
///         let e = self.delta_t * ((x[0] - self.v_t) / self.delta_t).exp();
///         dx[0] = (-x[0] + e + x[1] + p[0]) / self.tau_mem;
///         dx[1] = -x[1] / self.tau_syn;
///     }
///     fn dynamics_vjp(&self, _p: &[f64; 1], x: &[f64; 2], l: &[f64; 2],
///                     lx: &mut [f64; 2], lp: &mut [f64; 1]) {
///         let de = ((x[0] - self.v_t) / self.delta_t).exp();
///         lx[0] = l[0] * (-1.0 + de) / self.tau_mem;
///         lx[1] = l[0] / self.tau_mem - l[1] / self.tau_syn;
///         lp[0] = l[0] / self.tau_mem;
///     }
///     fn event(&self, x: &[f64; 2]) -> f64 { x[0] - self.v_peak }
///     fn event_grad(&self, _x: &[f64; 2], gx: &mut [f64; 2]) { *gx = [1.0, 0.0]; }
///     fn reset(&self, x: &mut [f64; 2]) { x[0] = self.v_reset; }
///     fn reset_vjp(&self, _x: &[f64; 2], l: &[f64; 2], out: &mut [f64; 2]) { *out = [0.0, l[1]]; }
///     fn input_jump(&self, x: &mut [f64; 2], w: f64) { x[1] += w; }
///     fn input_jump_vjp(&self, _x: &[f64; 2], _w: f64, l: &[f64; 2], out: &mut [f64; 2]) -> f64 {
///         *out = *l;
///         l[1]
///     }
/// }
///
/// let eif = Eif { tau_mem: 1.0, tau_syn: 0.5, delta_t: 0.2, v_t: 1.0, v_peak: 2.0, v_reset: 0.0 };
/// check_derivatives(&eif, &[0.3], &[0.5, 1.0], 2.0, &CheckOptions::default()).unwrap();
/// ```
///
/// `evnn_solver::EventSolver` runs such a model with its diffsol backend
/// (see the solver crate's documentation for the simulation of this EIF).
pub trait NeuronModel: Clone + Debug + Send + Sync {
    /// The neuron's state `x` (for example `[v, i]`).
    type State: StateVector;
    /// The learnable per-neuron parameters `p` (for example `[bias]`).
    type Params: StateVector;
    /// Short model name, used in error messages.
    const NAME: &'static str;
    /// One name per component of [`Self::Params`], used in error messages and
    /// model files.
    const PARAM_NAMES: &'static [&'static str];

    /// The state at `t = 0`.
    fn initial_state(&self) -> Self::State;

    /// Writes `f(x, p)` into `dx`.
    fn dynamics(&self, p: &Self::Params, x: &Self::State, dx: &mut Self::State);

    /// Vector–Jacobian products of the dynamics: writes `(∂f/∂x)ᵀ λ` into
    /// `lx` and `(∂f/∂p)ᵀ λ` into `lp`.
    fn dynamics_vjp(
        &self,
        p: &Self::Params,
        x: &Self::State,
        lambda: &Self::State,
        lx: &mut Self::State,
        lp: &mut Self::Params,
    );

    /// The event function `g(x)`; a spike is a crossing of zero from below.
    fn event(&self, x: &Self::State) -> f64;

    /// Writes the gradient `∂g/∂x` into `gx`.
    fn event_grad(&self, x: &Self::State, gx: &mut Self::State);

    /// Applies the reset jump `x ← h(x)` at an own spike.
    fn reset(&self, x: &mut Self::State);

    /// Writes `(∂h/∂x)ᵀ λ⁺` (Jacobian of the reset at `x_minus`) into `out`.
    fn reset_vjp(&self, x_minus: &Self::State, lambda_plus: &Self::State, out: &mut Self::State);

    /// Applies the jump `x ← j(x, w)` of an input spike of weight `w`.
    fn input_jump(&self, x: &mut Self::State, w: f64);

    /// Writes `(∂j/∂x)ᵀ λ⁺` into `out` and returns `λ⁺ᵀ ∂j/∂w`.
    fn input_jump_vjp(
        &self,
        x_minus: &Self::State,
        w: f64,
        lambda_plus: &Self::State,
        out: &mut Self::State,
    ) -> f64;

    /// `true` when, from state `x` and without further input, the exact flow
    /// provably does not reach the threshold within `horizon` time units
    /// (`horizon` may be `+∞`). Solvers use it to end a run early
    /// (`SolverOptions::stop_when_silent` in `evnn-solver`), so it must be a
    /// proof, never a heuristic: a `true` for a state that can still spike
    /// in time would drop spikes. The default, `false`, is always correct.
    fn silent_for(&self, p: &Self::Params, x: &Self::State, horizon: f64) -> bool {
        let _ = (p, x, horizon);
        false
    }

    /// Checks the learnable parameters; the default rejects non-finite values.
    fn validate_params(&self, p: &Self::Params) -> Result<(), NeuronError> {
        for (k, &value) in p.as_slice().iter().enumerate() {
            if !value.is_finite() {
                return Err(NeuronError::InvalidParameter {
                    model: Self::NAME,
                    name: Self::PARAM_NAMES.get(k).copied().unwrap_or("p"),
                    value,
                });
            }
        }
        Ok(())
    }
}
