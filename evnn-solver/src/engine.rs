//! The event loop shared by every backend.

use crate::root::{first_crossing, g_point};
use crate::{Event, EventKind, InputSpike, NeuronTrace, SolverError, SolverOptions, Stepper};
use evnn_neurons::{NeuronModel, StateVector};

/// Checks a neuron's input list and end time: times finite, `>= 0` and
/// sorted, weights finite, `t_end` finite and `> 0`.
pub fn validate_inputs(inputs: &[InputSpike], t_end: f64) -> Result<(), SolverError> {
    if !(t_end.is_finite() && t_end > 0.0) {
        return Err(SolverError::InvalidEndTime { t_end });
    }
    let mut previous = 0.0;
    for (index, s) in inputs.iter().enumerate() {
        if !(s.time.is_finite() && s.time >= 0.0) {
            return Err(SolverError::InvalidInputTime {
                index,
                time: s.time,
            });
        }
        if !s.weight.is_finite() {
            return Err(SolverError::InvalidWeight {
                index,
                weight: s.weight,
            });
        }
        if s.time < previous {
            return Err(SolverError::UnsortedInputs {
                index,
                time: s.time,
                previous,
            });
        }
        previous = s.time;
    }
    Ok(())
}

fn check_finite<S: StateVector>(t: f64, x: &S) -> Result<(), SolverError> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(SolverError::NonFiniteState {
            t,
            state: x.as_slice().to_vec(),
        })
    }
}

/// Simulates one neuron on `[0, t_end]` with `stepper`, which must start at
/// `t = 0` in the model's initial state.
///
/// Input spikes at `t < t_end` are applied in order (their jumps are logged
/// with the state and derivative on both sides); between them the stepper
/// advances with stop times on the inputs, every step is checked for a
/// finite state and scanned for an upward crossing of the event function
/// (including a threshold touched and left inside one step), each crossing is
/// refined on the dense output, logged, and followed by the reset. With
/// [`SolverOptions::stop_after_spikes`] the run ends at that spike; with
/// [`SolverOptions::stop_when_silent`] it ends before the first step after
/// the last input at which the model proves that no spike can come before
/// `t_end`.
pub fn run_event_loop<N: NeuronModel, S: Stepper<N>>(
    stepper: &mut S,
    model: &N,
    params: &N::Params,
    inputs: &[InputSpike],
    t_end: f64,
    options: &SolverOptions,
    trace: &mut NeuronTrace<N::State>,
) -> Result<(), SolverError> {
    options.validate()?;
    validate_inputs(inputs, t_end)?;
    model.validate_params(params)?;
    let x0 = model.initial_state();
    trace.clear(x0);
    trace.t_end = t_end;
    let g0 = model.event(&x0);
    if !(g0 < 0.0) {
        return Err(SolverError::InitialStateAboveThreshold {
            state: x0.as_slice().to_vec(),
            g: g0,
        });
    }
    let mut next_input = 0;
    loop {
        let t = stepper.t();
        // Apply every input that has arrived.
        while next_input < inputs.len()
            && inputs[next_input].time <= t
            && inputs[next_input].time < t_end
        {
            let s = inputs[next_input];
            let x_minus = *stepper.x();
            let f_minus = *stepper.dx();
            let mut x_plus = x_minus;
            model.input_jump(&mut x_plus, s.weight);
            check_finite(t, &x_plus)?;
            let g = model.event(&x_plus);
            if !(g < 0.0) {
                return Err(SolverError::JumpAboveThreshold {
                    index: next_input,
                    t,
                    g,
                });
            }
            stepper.restart(t, &x_plus)?;
            check_finite(t, stepper.dx())?;
            trace.events.push(Event {
                t,
                kind: EventKind::Input { index: next_input },
                x_minus,
                x_plus,
                f_minus,
                f_plus: *stepper.dx(),
            });
            next_input += 1;
        }
        if t >= t_end {
            break;
        }
        let t_stop = match inputs.get(next_input) {
            Some(s) if s.time < t_end => s.time,
            _ => t_end,
        };
        // `a` is the event function at the start of the next step: the end of
        // the previous one, recomputed only after a restart.
        let mut a = g_point(model, stepper.t(), stepper.x(), stepper.dx());
        // No input remains before `t_end`: the run may end once the neuron
        // provably stays silent.
        let quiet_tail = options.stop_when_silent && t_stop == t_end;
        while stepper.t() < t_stop {
            if quiet_tail && model.silent_for(params, stepper.x(), t_end - stepper.t()) {
                trace.t_end = stepper.t();
                trace.x_end = *stepper.x();
                return Ok(());
            }
            stepper.step(t_stop)?;
            trace.steps += 1;
            if trace.steps > options.max_steps {
                return Err(SolverError::StepLimit {
                    limit: options.max_steps,
                    t: stepper.t(),
                });
            }
            check_finite(stepper.t(), stepper.x())?;
            let b = g_point(model, stepper.t(), stepper.x(), stepper.dx());
            let crossing = first_crossing(model, &mut *stepper, a, b)?;
            a = b;
            if let Some(t_spike) = crossing {
                let k = trace.spikes.len();
                if k >= options.max_spikes {
                    return Err(SolverError::SpikeLimit {
                        limit: options.max_spikes,
                        t: t_spike,
                    });
                }
                let mut x_minus = N::State::zeros();
                let mut scratch = N::State::zeros();
                stepper.interpolate(t_spike, &mut x_minus, &mut scratch)?;
                let mut f_minus = N::State::zeros();
                model.dynamics(params, &x_minus, &mut f_minus);
                check_finite(t_spike, &x_minus)?;
                check_finite(t_spike, &f_minus)?;
                let mut x_plus = x_minus;
                model.reset(&mut x_plus);
                let g = model.event(&x_plus);
                if !(g < 0.0) {
                    return Err(SolverError::ResetAboveThreshold {
                        t: t_spike,
                        g,
                        state: x_plus.as_slice().to_vec(),
                    });
                }
                stepper.restart(t_spike, &x_plus)?;
                trace.spikes.push(t_spike);
                trace.events.push(Event {
                    t: t_spike,
                    kind: EventKind::Spike { k },
                    x_minus,
                    x_plus,
                    f_minus,
                    f_plus: *stepper.dx(),
                });
                if options.stop_after_spikes == Some(trace.spikes.len()) {
                    trace.t_end = t_spike;
                    trace.x_end = x_plus;
                    return Ok(());
                }
                a = g_point(model, stepper.t(), stepper.x(), stepper.dx());
            }
        }
    }
    trace.x_end = *stepper.x();
    Ok(())
}
