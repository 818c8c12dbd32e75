//! A lean adaptive Dormand–Prince 5(4) backend on fixed-size states, with
//! Hairer's fourth-order dense output, for any model.

use crate::adjoint::{sensitivity_dim, sensitivity_rhs};
use crate::dopri5::{attempt, initial_step, next_step, REJECT_NON_FINITE};
use crate::{Backend, RkAdjoint, RunPlan, SolverError, SolverOptions, Stepper};
use evnn_neurons::{NeuronModel, StateVector};

// Dense output coefficients of DOPRI5 (Hairer, Nørsett & Wanner, Solving
// ODEs I, §II.6; the `contd5` routine of dopri5.f).
const D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Adaptive Dormand–Prince 5(4) on the model's fixed-size state: the same
/// method family as diffsol's `tsit45`, without its per-step overhead (no
/// heap allocation per step or per event). Event detection and refinement
/// run on its dense output like for every backend; its [`Adjoint`](crate::Adjoint) is the
/// numerical [`RkAdjoint`].
///
/// # Examples
///
/// ```
/// use evnn_neurons::Qif;
/// use evnn_solver::{Dopri5Backend, EventSolver, InputSpike, SolverOptions};
///
/// let mut s = EventSolver::new(Qif::default(), Dopri5Backend::default(), SolverOptions::default())?;
/// let t = s.simulate(&[0.0], &[InputSpike::new(0.0, 10.0)], 30.0)?;
/// assert!(!t.spikes.is_empty());
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Dopri5Backend {
    adjoint: RkAdjoint,
    /// Whether the steppers handed out log each segment's sensitivities
    /// ([`Backend::log_sensitivities`]).
    log: bool,
}

impl Dopri5Backend {
    /// This backend with its runs logging (`on`) or not logging each
    /// event-free segment's sensitivities in the trace
    /// ([`Backend::log_sensitivities`]), for a forward pass that a backward
    /// pass follows: the same run, and the adjoint
    /// ([`EventSolver::gradient`](crate::EventSolver::gradient)) takes the
    /// sensitivities from the log instead of integrating them again. A
    /// network's passes set it themselves (on with a gradient, off
    /// without), whatever it was: this is for single-neuron runs
    /// ([`EventSolver`](crate::EventSolver)).
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_neurons::Qif;
    /// use evnn_solver::{Dopri5Backend, EventSolver, InputSpike, SolverOptions};
    ///
    /// let opts = SolverOptions::default();
    /// let inputs = [InputSpike::new(0.0, 10.0), InputSpike::new(8.0, 6.0)];
    /// let mut plain = EventSolver::new(Qif::default(), Dopri5Backend::default(), opts)?;
    /// let logging = Dopri5Backend::default().with_sensitivity_log(true);
    /// let mut logged = EventSolver::new(Qif::default(), logging, opts)?;
    /// let (a, b) = (plain.simulate(&[0.0], &inputs, 30.0)?, logged.simulate(&[0.0], &inputs, 30.0)?);
    /// assert_eq!(a.spikes, b.spikes);
    /// assert!(a.sensitivities().is_empty() && !b.sensitivities().is_empty());
    /// let dl = vec![1.0; a.spikes.len()];
    /// let ga = plain.gradient(&[0.0], &inputs, &a, &dl, None)?;
    /// let gb = logged.gradient(&[0.0], &inputs, &b, &dl, None)?;
    /// for (x, y) in ga.weights.iter().zip(&gb.weights) {
    ///     assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0));
    /// }
    /// # Ok::<(), evnn_solver::SolverError>(())
    /// ```
    pub fn with_sensitivity_log(mut self, on: bool) -> Self {
        self.log = on;
        self
    }
}

/// The [`Stepper`] of [`Dopri5Backend`].
#[derive(Clone, Debug)]
pub struct Dopri5Stepper<N: NeuronModel> {
    model: N,
    params: N::Params,
    clock: Clock,
    x: N::State,
    dx: N::State,
    /// Dense output coefficients of the last step.
    rcont: [N::State; 5],
    /// The sensitivities integrated with the state, when the run logs
    /// them ([`Backend::log_sensitivities`]); their buffers stay when the
    /// log is turned off.
    sens: Option<Box<Sensitivities>>,
    logging: bool,
}

/// A [`Dopri5Stepper`]'s sensitivity integration: `z = (x, Φ, S)` (the
/// state, then `Φ = ∂x/∂x(t_a⁺)` and `S = ∂x/∂p` by columns) over the
/// segment since the last restart at `t_a`, integrated with the same steps
/// as the state alone (the error test covers `x` only). Its buffers are
/// one vector: `z`, the trial `z`, the seven stages and the last step's
/// dense output (five coefficients per component), `n = dim(z)` numbers
/// each. A copy of the stepper (a recurrent layer's look-ahead makes one
/// at every step) copies them.
#[derive(Clone, Debug)]
struct Sensitivities {
    t_a: f64,
    n: usize,
    buf: Vec<f64>,
}

impl Sensitivities {
    fn new(n: usize) -> Box<Self> {
        Box::new(Sensitivities {
            t_a: 0.0,
            n,
            buf: vec![0.0; 14 * n],
        })
    }

    fn z(&self) -> &[f64] {
        &self.buf[..self.n]
    }

    fn rcont(&self) -> &[f64] {
        &self.buf[9 * self.n..]
    }

    /// `z = (x, I, 0)` at `t` with its derivative in the first stage: the
    /// start of a segment.
    fn start<N: NeuronModel>(&mut self, model: &N, params: &N::Params, t: f64, x: &N::State) {
        let (d, n) = (N::State::DIM, self.n);
        self.t_a = t;
        let (z, rest) = self.buf.split_at_mut(n);
        z.fill(0.0);
        z[..d].copy_from_slice(x.as_slice());
        for j in 0..d {
            z[d + j * d + j] = 1.0;
        }
        sensitivity_rhs(model, params, z, &mut rest[n..2 * n]);
    }
}

/// The step control of a [`Dopri5Stepper`], shared by its steps with and
/// without sensitivities: the time, the last accepted step, the size of the
/// next attempt and the tolerances. Both steps take the same decisions
/// from the same numbers, so they take the same steps.
#[derive(Clone, Copy, Debug)]
struct Clock {
    rtol: f64,
    atol: f64,
    t_prev: f64,
    t: f64,
    /// Step size for the next attempt.
    h: f64,
    /// Length of the last accepted step (0 after a restart).
    h_used: f64,
}

// Each method is `#[inline]`: the steps that call them are generic, so they
// are compiled in the crate that uses the stepper.
impl Clock {
    /// Picks the first step size from the state `x` and its derivative
    /// `dx` when none is set (at a run's start, or `h0 = 0`).
    #[inline]
    fn first_step(&mut self, x: &[f64], dx: &[f64], t_stop: f64) {
        if !(self.h > 0.0) {
            self.h = initial_step(x, dx, self.rtol, self.atol, t_stop - self.t);
        }
    }

    /// The next attempt's step size towards `t_stop`, and whether it is the
    /// last one (it lands on `t_stop`).
    #[inline]
    fn trial(&self, t_stop: f64) -> (f64, bool) {
        let remaining = t_stop - self.t;
        let last = self.h >= remaining * (1.0 - 1e-12);
        (if last { remaining } else { self.h }, last)
    }

    /// Rejects an attempt of size `h` whose trial `state` overflowed (the
    /// state runs off to infinity inside it, as an exponential or
    /// quadratic neuron's voltage does in finite time past its peak) like
    /// one with a large error: the next attempt is smaller. Only a state
    /// that stays non-finite as the step shrinks to nothing is an error.
    #[inline]
    fn reject_non_finite(&mut self, h: f64, state: &[f64]) -> Result<(), SolverError> {
        self.h = h * REJECT_NON_FINITE;
        if self.h <= 4.0 * f64::EPSILON * self.t.abs().max(1.0) {
            return Err(SolverError::NonFiniteState {
                t: self.t,
                state: state.to_vec(),
            });
        }
        Ok(())
    }

    /// Rejects an attempt of size `h` with error norm `norm > 1`: the next
    /// attempt is smaller; an error once it is below round-off.
    #[inline]
    fn reject(&mut self, h: f64, norm: f64) -> Result<(), SolverError> {
        self.h = next_step(h, norm);
        if self.h <= 4.0 * f64::EPSILON * self.t.abs().max(1.0) {
            return Err(SolverError::StepSizeUnderflow {
                t: self.t,
                h: self.h,
            });
        }
        Ok(())
    }

    /// Accepts an attempt of size `h` (error norm `norm <= 1`): the time
    /// moves to `t_stop` (the `last` attempt) or by `h`, and the next
    /// attempt's size follows from the error. A step of no length is an
    /// error.
    #[inline]
    fn accept(&mut self, t_stop: f64, h: f64, last: bool, norm: f64) -> Result<(), SolverError> {
        if !(h > 0.0) {
            return Err(SolverError::StepSizeUnderflow { t: self.t, h });
        }
        self.t_prev = self.t;
        self.t = if last { t_stop } else { self.t + h };
        self.h_used = self.t - self.t_prev;
        if !last {
            self.h = next_step(h, norm);
        }
        Ok(())
    }

    /// The position `θ ∈ [0, 1]` of `t` in the last accepted step.
    #[inline]
    fn theta(&self, t: f64) -> f64 {
        ((t - self.t_prev) / self.h_used).clamp(0.0, 1.0)
    }
}

impl<N: NeuronModel> Dopri5Stepper<N> {
    /// A stepper at `(t0, x0)` (with its own copy of `model`); `h0 = 0`
    /// picks the first step size.
    pub fn new(
        model: &N,
        params: N::Params,
        options: &SolverOptions,
        t0: f64,
        x0: N::State,
    ) -> Self {
        let mut dx = N::State::zeros();
        model.dynamics(params.as_slice(), x0.as_slice(), dx.as_mut_slice());
        Dopri5Stepper {
            model: model.clone(),
            params,
            clock: Clock {
                rtol: options.rtol,
                atol: options.atol,
                t_prev: t0,
                t: t0,
                h: options.h0,
                h_used: 0.0,
            },
            x: x0,
            dx,
            rcont: [N::State::zeros(); 5],
            sens: None,
            logging: false,
        }
    }

    /// Starts (`true`) or stops integrating each segment's sensitivities
    /// ([`Backend::log_sensitivities`]), on a stepper at the start of a
    /// run.
    fn set_logging(&mut self, on: bool) {
        self.logging = on;
        if !on {
            return;
        }
        let n = sensitivity_dim::<N>();
        let sens = match &mut self.sens {
            Some(sens) if sens.n == n => sens,
            slot => slot.insert(Sensitivities::new(n)),
        };
        sens.start(&self.model, &self.params, self.clock.t, &self.x);
    }
}

impl<N: NeuronModel> Stepper<N> for Dopri5Stepper<N> {
    fn t(&self) -> f64 {
        self.clock.t
    }
    fn t_prev(&self) -> f64 {
        self.clock.t_prev
    }
    fn x(&self) -> &N::State {
        &self.x
    }
    fn dx(&self) -> &N::State {
        &self.dx
    }

    #[allow(clippy::needless_range_loop)]
    fn step(&mut self, t_stop: f64) -> Result<(), SolverError> {
        if self.logging {
            return self.step_with_sensitivities(t_stop);
        }
        self.clock
            .first_step(self.x.as_slice(), self.dx.as_slice(), t_stop);
        let (model, params) = (&self.model, self.params);
        let rhs = |y: &[f64], dy: &mut [f64]| {
            let mut x = N::State::zeros();
            x.as_mut_slice().copy_from_slice(y);
            let mut f = N::State::zeros();
            model.dynamics(params.as_slice(), x.as_slice(), f.as_mut_slice());
            dy.copy_from_slice(f.as_slice());
        };
        let clock = &mut self.clock;
        let mut k = [N::State::zeros(); 7];
        k[0] = self.dx;
        let mut y1 = N::State::zeros();
        loop {
            let (h, last) = clock.trial(t_stop);
            let norm = attempt(
                self.x.as_slice(),
                &mut k,
                y1.as_mut_slice(),
                h,
                clock.rtol,
                clock.atol,
                N::State::DIM,
                rhs,
            );
            if !(y1.is_finite() && k[6].is_finite()) || norm.is_nan() {
                clock.reject_non_finite(h, y1.as_slice())?;
                continue;
            }
            if norm > 1.0 {
                clock.reject(h, norm)?;
                continue;
            }
            clock.accept(t_stop, h, last, norm)?;
            // Dense output.
            for i in 0..N::State::DIM {
                let y0 = self.x.as_slice()[i];
                let dy = y1.as_slice()[i] - y0;
                let bspl = h * k[0].as_slice()[i] - dy;
                self.rcont[0].as_mut_slice()[i] = y0;
                self.rcont[1].as_mut_slice()[i] = dy;
                self.rcont[2].as_mut_slice()[i] = bspl;
                self.rcont[3].as_mut_slice()[i] = dy - h * k[6].as_slice()[i] - bspl;
                let mut acc = 0.0;
                for j in 0..7 {
                    acc += D[j] * k[j].as_slice()[i];
                }
                self.rcont[4].as_mut_slice()[i] = h * acc;
            }
            self.x = y1;
            self.dx = k[6];
            return Ok(());
        }
    }

    fn interpolate(
        &mut self,
        t: f64,
        x: &mut N::State,
        dx: &mut N::State,
    ) -> Result<(), SolverError> {
        let h_used = self.clock.h_used;
        if h_used == 0.0 {
            *x = self.x;
            *dx = self.dx;
            return Ok(());
        }
        let theta = self.clock.theta(t);
        let u = 1.0 - theta;
        for i in 0..N::State::DIM {
            let [a, b, c, d, e] = [0, 1, 2, 3, 4].map(|r| self.rcont[r].as_slice()[i]);
            let inner = d + u * e;
            let j = c + theta * inner;
            let kk = b + u * j;
            x.as_mut_slice()[i] = a + theta * kk;
            let dj = inner - theta * e;
            let dk = -j + u * dj;
            dx.as_mut_slice()[i] = (kk + theta * dk) / h_used;
        }
        Ok(())
    }

    fn restart(&mut self, t: f64, x: &N::State) -> Result<(), SolverError> {
        self.clock.t_prev = t;
        self.clock.t = t;
        self.x = *x;
        self.model
            .dynamics(self.params.as_slice(), x.as_slice(), self.dx.as_mut_slice());
        self.clock.h_used = 0.0;
        if let Some(sens) = self.sens.as_deref_mut().filter(|_| self.logging) {
            sens.start(&self.model, &self.params, t, x);
        }
        Ok(())
    }

    fn log_segment(&self, t: f64, log: &mut Vec<f64>) {
        let Some(sens) = self.sens.as_deref().filter(|_| self.logging) else {
            return;
        };
        let d = N::State::DIM;
        let start = log.len();
        log.push(sens.t_a);
        log.push(t);
        if self.clock.h_used > 0.0 && t < self.clock.t {
            // Inside the last step (a spike found on the dense output).
            let theta = self.clock.theta(t);
            let u = 1.0 - theta;
            for r in sens.rcont()[5 * d..].chunks_exact(5) {
                log.push(r[0] + theta * (r[1] + u * (r[2] + theta * (r[3] + u * r[4]))));
            }
        } else {
            log.extend_from_slice(&sens.z()[d..]);
        }
        // Sensitivities that overflowed (a state near a finite-time
        // blow-up) are not logged: the adjoint integrates that segment
        // again, as it does for any segment the log lacks.
        if !log[start..].iter().all(|v| v.is_finite()) {
            log.truncate(start);
        }
    }
}

impl<N: NeuronModel> Dopri5Stepper<N> {
    /// [`Stepper::step`] with the sensitivities `(Φ, S)` integrated along:
    /// the same stage sums, error test and step-size control for the state
    /// as without them, on the dual-number evaluation's value parts. Where
    /// those are the dynamics' own `f64` results bit for bit (num-dual
    /// computes sums, products, division by an `f64`, `exp`, `ln`,
    /// `sqrt`, `sin`/`cos` as `f64` does) the state's path is the same;
    /// num-dual computes `tanh`, `tan`, powers from the third and a
    /// division by a dual number (`x / y`, `x / T::from(c)`) another way,
    /// which may move the path of a model that uses them by round-off in
    /// each step (EGRU's `tanh`).
    #[allow(clippy::needless_range_loop)]
    fn step_with_sensitivities(&mut self, t_stop: f64) -> Result<(), SolverError> {
        let d = N::State::DIM;
        self.clock
            .first_step(self.x.as_slice(), self.dx.as_slice(), t_stop);
        let (model, params, clock) = (&self.model, &self.params, &mut self.clock);
        let Some(sens) = self.sens.as_deref_mut() else {
            return Ok(());
        };
        let n = sens.n;
        let (z, rest) = sens.buf.split_at_mut(n);
        let (z_new, rest) = rest.split_at_mut(n);
        let (stages, rcont) = rest.split_at_mut(7 * n);
        let mut chunks = stages.chunks_exact_mut(n);
        let mut k: [&mut [f64]; 7] = std::array::from_fn(|_| chunks.next().unwrap_or_default());
        let rhs = |z: &[f64], dz: &mut [f64]| sensitivity_rhs(model, params, z, dz);
        loop {
            let (h, last) = clock.trial(t_stop);
            let norm = attempt(z, &mut k, z_new, h, clock.rtol, clock.atol, d, rhs);
            let finite =
                z_new[..d].iter().all(|v| v.is_finite()) && k[6][..d].iter().all(|v| v.is_finite());
            if !finite || norm.is_nan() {
                clock.reject_non_finite(h, &z_new[..d])?;
                continue;
            }
            if norm > 1.0 {
                clock.reject(h, norm)?;
                continue;
            }
            clock.accept(t_stop, h, last, norm)?;
            // Dense output of every component, the state's as in `step`.
            for i in 0..n {
                let y0 = z[i];
                let dy = z_new[i] - y0;
                let bspl = h * k[0][i] - dy;
                let mut acc = 0.0;
                for j in 0..7 {
                    acc += D[j] * k[j][i];
                }
                let r = [y0, dy, bspl, dy - h * k[6][i] - bspl, h * acc];
                rcont[5 * i..5 * i + 5].copy_from_slice(&r);
                if i < d {
                    for (row, v) in self.rcont.iter_mut().zip(r) {
                        row.as_mut_slice()[i] = v;
                    }
                }
            }
            z.copy_from_slice(z_new);
            let (first, rest) = k.split_at_mut(1);
            first[0].copy_from_slice(rest[5]);
            self.x.as_mut_slice().copy_from_slice(&z[..d]);
            self.dx.as_mut_slice().copy_from_slice(&k[0][..d]);
            return Ok(());
        }
    }
}

impl<N: NeuronModel> Backend<N> for Dopri5Backend {
    type Stepper = Dopri5Stepper<N>;

    fn stepper(&self, model: &N, params: &N::Params, plan: &RunPlan) -> Option<Self::Stepper> {
        let mut stepper =
            Dopri5Stepper::new(model, *params, plan.options(), 0.0, model.initial_state());
        stepper.set_logging(self.log);
        Some(stepper)
    }

    fn reset_stepper(
        &self,
        stepper: &mut Self::Stepper,
        model: &N,
        params: &N::Params,
        plan: &RunPlan,
    ) {
        // As `stepper` builds it, keeping the sensitivities' buffers.
        let sens = stepper.sens.take();
        *stepper = Dopri5Stepper::new(model, *params, plan.options(), 0.0, model.initial_state());
        stepper.sens = sens;
        stepper.set_logging(self.log);
    }

    fn log_sensitivities(&mut self, on: bool) -> bool {
        self.log = on;
        true
    }
}

crate::adjoint::delegate_rk_adjoint!(Dopri5Backend);
