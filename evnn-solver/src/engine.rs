//! The event loop shared by every backend.

use crate::root::{first_crossing, g_point, GPoint};
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
    let mut run = EventLoop::start(model, params, inputs, t_end, options, trace)?;
    while let Next::Step(t_stop) = run.advance(stepper, trace)? {
        stepper.step(t_stop)?;
        if run.after_step(stepper, trace)? {
            break;
        }
    }
    Ok(())
}

/// What an [`EventLoop`] needs next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Next {
    /// One step of the stepper towards this stop time, then
    /// [`EventLoop::after_step`].
    Step(f64),
    /// The run is complete.
    Done,
}

/// [`run_event_loop`] as a resumable state machine: it hands each step back
/// to its driver, so a backend can run several neurons' loops side by side
/// and compute their steps together. Driven as in [`run_event_loop`], it
/// takes the same steps and makes the same trace.
pub(crate) struct EventLoop<'a, N: NeuronModel> {
    model: &'a N,
    params: &'a N::Params,
    inputs: &'a [InputSpike],
    t_end: f64,
    options: &'a SolverOptions,
    next_input: usize,
    /// Inside a stretch between inputs: `t_stop`, `a` and `quiet_tail` hold.
    in_stretch: bool,
    /// End of the current stretch (the next input or `t_end`).
    t_stop: f64,
    /// The event function at the start of the next step.
    a: GPoint,
    /// No input remains before `t_end`: the run may end once the neuron
    /// provably stays silent.
    quiet_tail: bool,
}

impl<'a, N: NeuronModel> EventLoop<'a, N> {
    /// Validates the run's data and clears `trace` for it.
    pub(crate) fn start(
        model: &'a N,
        params: &'a N::Params,
        inputs: &'a [InputSpike],
        t_end: f64,
        options: &'a SolverOptions,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<Self, SolverError> {
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
        Ok(EventLoop {
            model,
            params,
            inputs,
            t_end,
            options,
            next_input: 0,
            in_stretch: false,
            t_stop: 0.0,
            a: GPoint {
                t: 0.0,
                g: g0,
                dg: 0.0,
            },
            quiet_tail: false,
        })
    }

    /// Applies the inputs that have arrived and runs until the stepper must
    /// take a step ([`Next::Step`] with its stop time) or the run ends.
    pub(crate) fn advance<S: Stepper<N>>(
        &mut self,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<Next, SolverError> {
        let (model, t_end) = (self.model, self.t_end);
        loop {
            if !self.in_stretch {
                let t = stepper.t();
                // Apply every input that has arrived.
                while let Some(&s) = self
                    .inputs
                    .get(self.next_input)
                    .filter(|s| s.time <= t && s.time < t_end)
                {
                    let x_minus = *stepper.x();
                    let f_minus = *stepper.dx();
                    let mut x_plus = x_minus;
                    model.input_jump(&mut x_plus, s.weight);
                    check_finite(t, &x_plus)?;
                    let g = model.event(&x_plus);
                    if !(g < 0.0) {
                        return Err(SolverError::JumpAboveThreshold {
                            index: self.next_input,
                            t,
                            g,
                        });
                    }
                    stepper.restart(t, &x_plus)?;
                    check_finite(t, stepper.dx())?;
                    trace.events.push(Event {
                        t,
                        kind: EventKind::Input {
                            index: self.next_input,
                        },
                        x_minus,
                        x_plus,
                        f_minus,
                        f_plus: *stepper.dx(),
                    });
                    self.next_input += 1;
                }
                if t >= t_end {
                    trace.x_end = *stepper.x();
                    return Ok(Next::Done);
                }
                self.t_stop = match self.inputs.get(self.next_input) {
                    Some(s) if s.time < t_end => s.time,
                    _ => t_end,
                };
                // `a` is the event function at the start of the next step:
                // the end of the previous one, recomputed only after a restart.
                self.a = g_point(model, stepper.t(), stepper.x(), stepper.dx());
                self.quiet_tail = self.options.stop_when_silent && self.t_stop == t_end;
                self.in_stretch = true;
            }
            if stepper.t() < self.t_stop {
                if self.quiet_tail
                    && model.silent_for(self.params, stepper.x(), t_end - stepper.t())
                {
                    trace.t_end = stepper.t();
                    trace.x_end = *stepper.x();
                    return Ok(Next::Done);
                }
                return Ok(Next::Step(self.t_stop));
            }
            self.in_stretch = false;
        }
    }

    /// Checks the step the stepper just took, finds and logs a spike in it
    /// and resets; `true` when the run ends there
    /// ([`SolverOptions::stop_after_spikes`]).
    pub(crate) fn after_step<S: Stepper<N>>(
        &mut self,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<bool, SolverError> {
        let (model, options) = (self.model, self.options);
        trace.steps += 1;
        if trace.steps > options.max_steps {
            return Err(SolverError::StepLimit {
                limit: options.max_steps,
                t: stepper.t(),
            });
        }
        check_finite(stepper.t(), stepper.x())?;
        let b = g_point(model, stepper.t(), stepper.x(), stepper.dx());
        let crossing = first_crossing(model, &mut *stepper, self.a, b)?;
        self.a = b;
        let Some(t_spike) = crossing else {
            return Ok(false);
        };
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
        model.dynamics(self.params, &x_minus, &mut f_minus);
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
            return Ok(true);
        }
        self.a = g_point(model, stepper.t(), stepper.x(), stepper.dx());
        Ok(false)
    }
}
