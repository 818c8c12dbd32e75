//! The [`NeuronModel`] trait: what a solver and the EventProp adjoint need to
//! know about one neuron.

use crate::{derived, NeuronError, Scalar, StateVector};
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
/// A model writes four equations, generic over the [`Scalar`] type:
/// [`dynamics`](Self::dynamics) (`f`), [`event`](Self::event) (`g`),
/// [`reset`](Self::reset) (`h`) and [`input_jump`](Self::input_jump) (`j`).
/// States and parameters reach them as slices of length
/// [`StateVector::DIM`]. The solver evaluates them with `f64`. Every
/// derivative the EventProp adjoint needs, as a vector–Jacobian product
/// (`λᵀ J`), is derived from the same code with dual numbers, exactly:
/// [`dynamics_vjp`](Self::dynamics_vjp) (`∂f/∂x`, `∂f/∂p`),
/// [`event_grad`](Self::event_grad) (`∂g/∂x`),
/// [`reset_vjp`](Self::reset_vjp) (`∂h/∂x`) and
/// [`input_jump_vjp`](Self::input_jump_vjp) (`∂j/∂x`, `∂j/∂w`), plus the
/// Jacobian–vector product [`dynamics_jvp`](Self::dynamics_jvp) that
/// implicit integrators use. A model may override any of them with a
/// hand-written version for speed (the built-in [`Lif`](crate::Lif) and
/// [`Qif`](crate::Qif) do); [`check_derivatives`](crate::check_derivatives)
/// then compares the override with the derived value and with finite
/// differences, and names any entry that disagrees.
///
/// Contract (the solver checks what it can and returns an error otherwise):
/// - `g(h(x)) < 0`: a reset leaves the neuron below its event surface;
/// - an input jump does not by itself cross the event surface;
/// - `g` does not depend on `p`, `j` does not depend on `p`; `h` depends
///   on `p` only in a model that says so
///   ([`RESET_USES_PARAMS`](Self::RESET_USES_PARAMS),
///   [`reset_with_params`](Self::reset_with_params));
/// - the equations are smooth where they are evaluated (code that branches
///   on the state is differentiated piece by piece).
///
/// # Examples
///
/// A model evnn does not ship, in its equations only: the adaptive
/// exponential integrate-and-fire neuron (AdEx) with a current-based
/// synapse, state `(V, w, I)`,
/// `τ_m V' = −V + Δ_T e^{(V − V_T)/Δ_T} − w + I + b`, `τ_w w' = a V − w`,
/// `τ_s I' = −I`; a spike when `V` reaches `V_peak`, then `V ← V_r` and
/// `w ← w + β`; an input spike of weight `u` adds `u` to `I`.
///
/// ```
/// use evnn_neurons::{check_derivatives, CheckOptions, NeuronModel, Scalar};
///
/// #[derive(Clone, Debug)]
/// struct AdEx { tau_m: f64, tau_w: f64, tau_s: f64, delta_t: f64, v_t: f64,
///               v_peak: f64, v_r: f64, a: f64, beta: f64 }
///
/// impl NeuronModel for AdEx {
///     type State = [f64; 3];  // (V, w, I)
///     type Params = [f64; 1]; // bias b
///     const NAME: &'static str = "AdEx";
///     const PARAM_NAMES: &'static [&'static str] = &["bias"];
///
///     fn initial_state(&self) -> [f64; 3] { [0.0; 3] }
///     fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
///         let spike = ((x[0] - self.v_t) / self.delta_t).exp() * self.delta_t;
///         dx[0] = (-x[0] + spike - x[1] + x[2] + p[0]) / self.tau_m;
///         dx[1] = (x[0] * self.a - x[1]) / self.tau_w;
///         dx[2] = -x[2] / self.tau_s;
///     }
///     fn event<T: Scalar>(&self, x: &[T]) -> T { x[0] - self.v_peak }
///     fn reset<T: Scalar>(&self, x: &mut [T]) {
///         x[0] = T::from(self.v_r);
///         x[1] += self.beta;
///     }
///     fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) { x[2] += w; }
/// }
///
/// let adex = AdEx { tau_m: 10.0, tau_w: 50.0, tau_s: 5.0, delta_t: 0.2, v_t: 1.0,
///                   v_peak: 2.0, v_r: 0.0, a: 0.1, beta: 0.2 };
/// // The derived derivatives against finite differences of the equations.
/// check_derivatives(&adex, &[0.3], &[0.5, 0.1, 1.0], 2.0, &CheckOptions::default())?;
/// let (mut lx, mut lp) = ([0.0; 3], [0.0]);
/// adex.dynamics_vjp(&[0.3], &[0.5, 0.1, 1.0], &[1.0, 0.0, 0.0], &mut lx, &mut lp);
/// assert_eq!(lp[0], 0.1); // ∂V'/∂b = 1/τ_m
/// # Ok::<(), evnn_neurons::NeuronError>(())
/// ```
///
/// `evnn_solver::EventSolver` runs such a model on its generic backends (see
/// the solver crate's documentation).
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

    /// The number of weights `K` each synapse onto this neuron carries
    /// (`1 <= K <=` [`MAX_WEIGHTS_PER_SYNAPSE`](crate::MAX_WEIGHTS_PER_SYNAPSE)).
    /// Every built-in model but [`Egru`](crate::Egru) (`K = 3`) has one.
    /// A model with `K > 1` overrides
    /// [`input_jump_weights`](Self::input_jump_weights); a solver hands it
    /// the `K` weights of a synapse as `K` consecutive input spikes of one
    /// time (`evnn-solver`'s input lists), and `evnn-net` keeps `K` weights
    /// per synapse.
    const WEIGHTS_PER_SYNAPSE: usize = 1;

    /// The state at `t = 0`.
    fn initial_state(&self) -> Self::State;

    /// Writes `f(x, p)` into `dx` (`p`, `x` and `dx` have the lengths of
    /// [`Self::Params`] and [`Self::State`]).
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]);

    /// The event function `g(x)`; a spike is a crossing of zero from below.
    fn event<T: Scalar>(&self, x: &[T]) -> T;

    /// Applies the reset jump `x ← h(x)` at an own spike. A model whose
    /// reset depends on its parameters writes it here at its
    /// [`default_params`](Self::default_params) and in full in
    /// [`reset_with_params`](Self::reset_with_params), which is what the
    /// solver calls.
    fn reset<T: Scalar>(&self, x: &mut [T]);

    /// `true` when the reset depends on the per-neuron parameters `p`
    /// (`x ← h(x, p)`, written in
    /// [`reset_with_params`](Self::reset_with_params)): the EventProp
    /// adjoint then adds `λ⁺ᵀ ∂h/∂p` to `dL/dp` at each spike. The
    /// default, `false`, costs nothing: the reset and its derivative are
    /// [`reset`](Self::reset) and [`reset_vjp`](Self::reset_vjp).
    const RESET_USES_PARAMS: bool = false;

    /// Applies the reset jump `x ← h(x, p)` (`p` of the length of
    /// [`Self::Params`]); the solver calls this one. The default ignores
    /// `p` and applies [`reset`](Self::reset); a model that overrides it
    /// sets [`RESET_USES_PARAMS`](Self::RESET_USES_PARAMS).
    #[inline]
    fn reset_with_params<T: Scalar>(&self, p: &[T], x: &mut [T]) {
        let _ = p;
        self.reset(x)
    }

    /// Applies the jump `x ← j(x, w)` of an input spike of weight `w`.
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T);

    /// Applies the jump `x ← j(x, w)` of an input spike through a synapse
    /// with the [`WEIGHTS_PER_SYNAPSE`](Self::WEIGHTS_PER_SYNAPSE) weights
    /// `w`. The default, for one weight per synapse, is
    /// [`input_jump`](Self::input_jump) with `w[0]`.
    #[inline]
    fn input_jump_weights<T: Scalar>(&self, x: &mut [T], w: &[T]) {
        debug_assert_eq!(w.len(), Self::WEIGHTS_PER_SYNAPSE);
        self.input_jump(x, w[0])
    }

    /// Vector–Jacobian products of the dynamics: writes `(∂f/∂x)ᵀ λ` into
    /// `lx` and `(∂f/∂p)ᵀ λ` into `lp`. Derived from
    /// [`dynamics`](Self::dynamics) unless overridden.
    #[inline]
    fn dynamics_vjp(
        &self,
        p: &Self::Params,
        x: &Self::State,
        lambda: &Self::State,
        lx: &mut Self::State,
        lp: &mut Self::Params,
    ) {
        derived::dynamics_vjp(self, p, x, lambda, lx, lp)
    }

    /// Jacobian–vector product of the dynamics: writes `(∂f/∂x) v` into
    /// `out`. Derived from [`dynamics`](Self::dynamics) unless overridden.
    #[inline]
    fn dynamics_jvp(
        &self,
        p: &Self::Params,
        x: &Self::State,
        v: &Self::State,
        out: &mut Self::State,
    ) {
        derived::dynamics_jvp(self, p, x, v, out)
    }

    /// Writes the gradient `∂g/∂x` into `gx`. Derived from
    /// [`event`](Self::event) unless overridden.
    #[inline]
    fn event_grad(&self, x: &Self::State, gx: &mut Self::State) {
        derived::event_grad(self, x, gx)
    }

    /// Writes `(∂h/∂x)ᵀ λ⁺` (Jacobian of the reset at `x_minus`) into `out`.
    /// Derived from [`reset`](Self::reset) unless overridden.
    #[inline]
    fn reset_vjp(&self, x_minus: &Self::State, lambda_plus: &Self::State, out: &mut Self::State) {
        derived::reset_vjp(self, x_minus, lambda_plus, out)
    }

    /// Writes `(∂h/∂x)ᵀ λ⁺` into `out` and adds `(∂h/∂p)ᵀ λ⁺` to `lp`
    /// (Jacobians of [`reset_with_params`](Self::reset_with_params) at
    /// `x_minus`, `p`); the adjoint calls this one. Derived from
    /// [`reset_with_params`](Self::reset_with_params) when
    /// [`RESET_USES_PARAMS`](Self::RESET_USES_PARAMS), otherwise
    /// [`reset_vjp`](Self::reset_vjp) with `lp` left alone, unless
    /// overridden.
    #[inline]
    fn reset_vjp_with_params(
        &self,
        p: &Self::Params,
        x_minus: &Self::State,
        lambda_plus: &Self::State,
        out: &mut Self::State,
        lp: &mut Self::Params,
    ) {
        if Self::RESET_USES_PARAMS {
            derived::reset_vjp_with_params(self, p, x_minus, lambda_plus, out, lp)
        } else {
            self.reset_vjp(x_minus, lambda_plus, out)
        }
    }

    /// Writes `(∂j/∂x)ᵀ λ⁺` into `out` and returns `λ⁺ᵀ ∂j/∂w`. Derived from
    /// [`input_jump`](Self::input_jump) unless overridden.
    #[inline]
    fn input_jump_vjp(
        &self,
        x_minus: &Self::State,
        w: f64,
        lambda_plus: &Self::State,
        out: &mut Self::State,
    ) -> f64 {
        derived::input_jump_vjp(self, x_minus, w, lambda_plus, out)
    }

    /// The jump of [`input_jump_weights`](Self::input_jump_weights):
    /// writes `(∂j/∂x)ᵀ λ⁺` into `out` and `λ⁺ᵀ ∂j/∂w_k` into `lw[k]`
    /// (`w` and `lw` of length
    /// [`WEIGHTS_PER_SYNAPSE`](Self::WEIGHTS_PER_SYNAPSE)). The default is
    /// [`input_jump_vjp`](Self::input_jump_vjp) for one weight per synapse
    /// and derived by dual numbers otherwise.
    #[inline]
    fn input_jump_weights_vjp(
        &self,
        x_minus: &Self::State,
        w: &[f64],
        lambda_plus: &Self::State,
        out: &mut Self::State,
        lw: &mut [f64],
    ) {
        if Self::WEIGHTS_PER_SYNAPSE == 1 {
            lw[0] = self.input_jump_vjp(x_minus, w[0], lambda_plus, out);
        } else {
            derived::input_jump_weights_vjp(self, x_minus, w, lambda_plus, out, lw)
        }
    }

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

    /// The refractory period `t_ref >= 0` (time units): after each own
    /// spike at `t_k` the state stays at `h(x⁻)` and input spikes are
    /// blocked (no jump) until `t_k + t_ref`, when the free dynamics
    /// resume; the end of the period is an exact event of the solver.
    /// The default, `0`, has no refractory period;
    /// [`Refractory`](crate::Refractory) gives any model one. A solver
    /// rejects a value that is negative or not finite.
    fn refractory_period(&self) -> f64 {
        0.0
    }

    /// `Some(k)`: the neuron spikes at most `k` times (`k >= 1`); its run
    /// ends at its `k`-th spike. The default, `None`, sets no limit;
    /// [`AtMostOneSpike`](crate::AtMostOneSpike) gives any model the limit
    /// 1. A solver rejects `Some(0)`.
    fn spike_limit(&self) -> Option<usize> {
        None
    }

    /// The per-neuron parameters a network starts from before training:
    /// `evnn-net`'s initialisation draws component 0 (the bias) at random and
    /// takes every further component from here. The default is all zeros;
    /// a model whose further parameters need another start (the logarithm
    /// of a learnable time constant, say) overrides it.
    fn default_params(&self) -> Self::Params {
        Self::Params::zeros()
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
