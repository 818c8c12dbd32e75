//! The state of a simulated neuron at chosen times (membrane traces for
//! plots, or a readout of the state), from its event log.
//!
//! Between two logged events a neuron's state follows its free dynamics
//! from the state just after the earlier event (`x⁺`). So the state at `t`
//! is that flow, integrated from the last event at or before `t` by
//! Dormand–Prince at the run's tolerances: any model, whatever backend
//! produced the log, and the spikes and jumps in the log are not
//! re-derived. Inside a refractory period (after a spike of a model with
//! one, until its [`EventKind::RefractoryEnd`]) the state is the frozen
//! `x⁺` of the spike.

use crate::{Dopri5Stepper, EventKind, NeuronTrace, SolverError, SolverOptions, Stepper};
use evnn_neurons::NeuronModel;

/// The states of a neuron run at the times `times` (each in `[0,
/// trace.t_end]`, any order), written to `out` in the same order.
///
/// The state at `t` is the one *after* every event at `t` (input jumps and
/// an own spike's reset): the right limit `x(t⁺)`. It is accurate to the
/// tolerances of `options` (relative to the scale of the state), from the
/// logged state of the last event at or before `t`, with `params` and
/// `model` those of the run.
///
/// # Errors
///
/// [`SolverError::QueryTimeOutOfRange`] for a time outside `[0,
/// trace.t_end]` or NaN, naming it; an integration error (a state that
/// turns non-finite) as in the run itself.
///
/// # Examples
///
/// The voltage of a LIF neuron between its input spikes, against the
/// closed form:
///
/// ```
/// use evnn_neurons::Lif;
/// use evnn_solver::{states_at, ClosedForm, EventSolver, InputSpike, SolverOptions};
///
/// let lif = Lif::default();
/// let mut solver = EventSolver::new(lif, ClosedForm, SolverOptions::default())?;
/// let inputs = [InputSpike { time: 1.0, weight: 3.0 }, InputSpike { time: 4.0, weight: 2.0 }];
/// let trace = solver.simulate(&[0.0], &inputs, 20.0)?;
/// let times = [0.5, 1.0, 3.0, 10.0];
/// let mut states = Vec::new();
/// states_at(&lif, &[0.0], &trace, &times, solver.options(), &mut states)?;
/// assert_eq!(states[0], [0.0, 0.0]); // before the first input
/// assert_eq!(states[1], [0.0, 3.0]); // just after it: i jumped, v not yet
/// let exact = lif.evolve(&[0.0], &[0.0, 3.0], 2.0);
/// assert!((states[2][0] - exact[0]).abs() < 1e-6);
/// assert!(states_at(&lif, &[0.0], &trace, &[21.0], solver.options(), &mut states).is_err());
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
pub fn states_at<N: NeuronModel>(
    model: &N,
    params: &N::Params,
    trace: &NeuronTrace<N::State>,
    times: &[f64],
    options: &SolverOptions,
    out: &mut Vec<N::State>,
) -> Result<(), SolverError> {
    out.clear();
    let refractory = model.refractory_period() > 0.0;
    for &t in times {
        if !(t >= 0.0 && t <= trace.t_end) {
            return Err(SolverError::QueryTimeOutOfRange {
                t,
                t_end: trace.t_end,
            });
        }
        // The last event at or before t: its x⁺ starts the free flow.
        let k = trace.events.partition_point(|e| e.t <= t);
        let (t0, x0, frozen) = match k.checked_sub(1).map(|i| &trace.events[i]) {
            Some(e) => {
                let frozen = refractory
                    && matches!(
                        e.kind,
                        EventKind::Spike { .. }
                            | EventKind::JumpSpike { .. }
                            | EventKind::Blocked { .. }
                    );
                (e.t, e.x_plus, frozen)
            }
            None => (0.0, model.initial_state(), false),
        };
        if t == t0 || frozen {
            out.push(x0);
            continue;
        }
        let mut stepper = Dopri5Stepper::new(model, *params, options, t0, x0);
        while stepper.t() < t {
            stepper.step(t)?;
        }
        out.push(*stepper.x());
    }
    Ok(())
}
