//! Solver options.

use crate::SolverError;
use serde::{Deserialize, Serialize};

/// Tolerances and limits of an [`EventSolver`](crate::EventSolver).
///
/// Plain data with sane defaults; [`SolverOptions::validate`] (called by
/// every solver) rejects out-of-range values.
///
/// # Examples
///
/// ```
/// use evnn_solver::SolverOptions;
///
/// let opts = SolverOptions::default().with_tolerances(1e-10, 1e-10).with_max_spikes(50);
/// assert!(opts.validate().is_ok());
/// assert!(SolverOptions::default().with_tolerances(-1.0, 1e-6).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolverOptions {
    /// Relative tolerance of the adaptive integrator (ignored by exact backends).
    pub rtol: f64,
    /// Absolute tolerance of the adaptive integrator, in state units.
    pub atol: f64,
    /// Largest number of own spikes per neuron run; more is an error
    /// ([`SolverError::SpikeLimit`]), never a silent truncation.
    pub max_spikes: usize,
    /// Largest number of integrator steps per neuron run.
    pub max_steps: usize,
    /// Initial step size (time units); `0` lets the backend choose.
    pub h0: f64,
    /// `Some(k)`: end the run at the neuron's `k`-th spike (`k >= 1`). The
    /// trace then holds `k` spikes, its `t_end` is the `k`-th spike's time
    /// and its `x_end` the state after that reset; later inputs are not
    /// applied. For a loss that reads only the first `k` spikes (a
    /// time-to-first-spike loss: `k = 1`) the loss and its EventProp gradient
    /// are exactly those of the full run, because the adjoint is zero after
    /// the last spike the loss reads. `None` (the default) simulates to the
    /// end.
    pub stop_after_spikes: Option<usize>,
    /// `true`: end the run as soon as no input remains before `t_end` and
    /// the model proves that the neuron cannot spike again before `t_end`
    /// ([`NeuronModel::silent_for`](evnn_neurons::NeuronModel::silent_for),
    /// checked before each step). The spikes are those of the full run; the
    /// trace's `t_end` is the time of the proof and its `x_end` the state
    /// there. For a loss of the spike times alone, loss and EventProp
    /// gradient are exactly those of the full run (the adjoint is zero after
    /// the last spike). `false` (the default) simulates to `t_end`.
    pub stop_when_silent: bool,
}

impl Default for SolverOptions {
    /// `rtol = atol = 1e-6`, at most 10 000 spikes and 1 000 000 steps,
    /// runs to the end.
    fn default() -> Self {
        SolverOptions {
            rtol: 1e-6,
            atol: 1e-6,
            max_spikes: 10_000,
            max_steps: 1_000_000,
            h0: 0.0,
            stop_after_spikes: None,
            stop_when_silent: false,
        }
    }
}

impl SolverOptions {
    /// Sets `rtol` and `atol`.
    pub fn with_tolerances(mut self, rtol: f64, atol: f64) -> Self {
        self.rtol = rtol;
        self.atol = atol;
        self
    }

    /// Sets the spike limit.
    pub fn with_max_spikes(mut self, max_spikes: usize) -> Self {
        self.max_spikes = max_spikes;
        self
    }

    /// Sets the step limit.
    pub fn with_max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }

    /// Sets the initial step size.
    pub fn with_h0(mut self, h0: f64) -> Self {
        self.h0 = h0;
        self
    }

    /// Ends every run at its `k`-th spike (see
    /// [`stop_after_spikes`](Self::stop_after_spikes)).
    pub fn with_stop_after_spikes(mut self, k: usize) -> Self {
        self.stop_after_spikes = Some(k);
        self
    }

    /// Ends every run once the neuron provably stays silent (see
    /// [`stop_when_silent`](Self::stop_when_silent)).
    pub fn with_stop_when_silent(mut self) -> Self {
        self.stop_when_silent = true;
        self
    }

    /// Checks every option.
    pub fn validate(&self) -> Result<(), SolverError> {
        // Each condition written once, in a constant table that the
        // compiler unrolls (a table built at every call is not); the first
        // that fails names its option.
        for (name, check, reason) in CHECKS {
            let (value, ok) = check(self);
            if !ok {
                return Err(SolverError::InvalidOption {
                    name,
                    value,
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// A check of [`SolverOptions::validate`]: the option's value (as `f64`,
/// for the error) and whether it is valid.
type Check = fn(&SolverOptions) -> (f64, bool);

/// The checks of [`SolverOptions::validate`], in the order they are
/// reported: option name, check, what a valid value is.
const CHECKS: [(&str, Check, &str); 6] = [
    (
        "rtol",
        |o| {
            (
                o.rtol,
                o.rtol.is_finite() & (o.rtol >= 1e-15) & (o.rtol < 1.0),
            )
        },
        "must be in [1e-15, 1)",
    ),
    (
        "atol",
        |o| (o.atol, o.atol.is_finite() & (o.atol > 0.0)),
        "must be finite and > 0",
    ),
    (
        "max_spikes",
        |o| (o.max_spikes as f64, o.max_spikes > 0),
        "must be > 0",
    ),
    (
        "max_steps",
        |o| (o.max_steps as f64, o.max_steps > 0),
        "must be > 0",
    ),
    (
        "h0",
        |o| (o.h0, o.h0.is_finite() & (o.h0 >= 0.0)),
        "must be finite and >= 0",
    ),
    (
        "stop_after_spikes",
        |o| {
            let k = o.stop_after_spikes.unwrap_or(1);
            (k as f64, k > 0)
        },
        "must be > 0 (or none)",
    ),
];
