//! The event loop shared by every backend, and [`RunPlan`], its one entry.

use crate::root::{first_crossing, g_point, GPoint};
use crate::{Event, EventKind, InputSpike, NeuronTrace, SolverError, SolverOptions, Stepper};
use evnn_neurons::{NeuronError, NeuronModel, StateVector, MAX_WEIGHTS_PER_SYNAPSE};

/// Checks a neuron's input list: times finite, `>= 0` and sorted, weights
/// finite. [`RunPlan::run`] does this once per run; for a caller that wants
/// the verdict before it runs.
pub fn validate_inputs(inputs: &[InputSpike]) -> Result<(), SolverError> {
    let mut previous = 0.0;
    for (index, s) in inputs.iter().enumerate() {
        check_input(index, s, previous)?;
        previous = s.time;
    }
    Ok(())
}

/// Checks input `index`, `s`, which follows an input at time `previous` (0
/// for the first): time finite and `>= 0`, weight finite, not before
/// `previous`.
fn check_input(index: usize, s: &InputSpike, previous: f64) -> Result<(), SolverError> {
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
    Ok(())
}

/// Checks that `inputs` from `from` on hold whole synapses of a model
/// with `K =` [`NeuronModel::WEIGHTS_PER_SYNAPSE`] `> 1` weights each:
/// `K` consecutive entries of one time per synapse (`from` is a multiple
/// of `K`). Nothing to check for one weight per synapse.
pub(crate) fn check_synapses<N: NeuronModel>(
    inputs: &[InputSpike],
    from: usize,
) -> Result<(), SolverError> {
    let k_w = N::WEIGHTS_PER_SYNAPSE;
    if k_w == 1 {
        return Ok(());
    }
    if !(1..=MAX_WEIGHTS_PER_SYNAPSE).contains(&k_w) {
        return Err(NeuronError::InvalidConstant {
            model: N::NAME,
            name: "WEIGHTS_PER_SYNAPSE",
            value: k_w as f64,
            reason: "must be between 1 and MAX_WEIGHTS_PER_SYNAPSE (8)",
        }
        .into());
    }
    if !inputs.len().is_multiple_of(k_w) {
        return Err(SolverError::ShapeMismatch {
            what: "input spikes (the model's weights per synapse, consecutive, for each)",
            expected: inputs.len().next_multiple_of(k_w),
            got: inputs.len(),
        });
    }
    for (g, group) in inputs[from..].chunks_exact(k_w).enumerate() {
        let first = group[0].time;
        if let Some(k) = group.iter().position(|s| s.time != first) {
            return Err(SolverError::SplitSynapse {
                index: from + g * k_w + k,
                time: group[k].time,
                expected: first,
            });
        }
    }
    Ok(())
}

/// The `K =` [`NeuronModel::WEIGHTS_PER_SYNAPSE`] weights of the synapse
/// whose entries start at input `index` ([`check_synapses`] has checked
/// that they are there).
#[inline]
pub(crate) fn synapse_weights<N: NeuronModel>(
    inputs: &[InputSpike],
    index: usize,
) -> [f64; MAX_WEIGHTS_PER_SYNAPSE] {
    let mut w = [0.0; MAX_WEIGHTS_PER_SYNAPSE];
    let group = inputs.get(index..index + N::WEIGHTS_PER_SYNAPSE);
    debug_assert!(group.is_some(), "input {index} starts no whole synapse");
    for (w, s) in w.iter_mut().zip(group.unwrap_or(&[])) {
        *w = s.weight;
    }
    w
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

/// The end time and solver options of neuron runs, checked once by
/// [`new`](Self::new): the one entry to the event loop.
///
/// Every run of one neuron goes through a plan: [`run`](Self::run) with
/// every input known from the start, or [`start`](Self::start), a
/// [`NeuronRun`] that the caller drives with inputs that become known while
/// it runs. The [`Backend`](crate::Backend) methods take a plan, so the
/// options and end time they see are checked types, and a caller that runs
/// many neurons alike (a network's layer) checks them once for all. A run
/// checks only what is its own: the inputs (once, at its start, or as they
/// become known) and the parameters. [`EventSolver`](crate::EventSolver) is
/// a convenience over a plan: a model, a backend and options kept together.
///
/// # Examples
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel};
/// use evnn_solver::{closed_form::LifStepper, InputSpike, NeuronTrace, RunPlan, SolverOptions};
///
/// let lif = Lif::default();
/// let plan = RunPlan::new(30.0, &SolverOptions::default())?;
/// let inputs = [InputSpike::new(1.0, 4.0), InputSpike::new(2.0, 4.0)];
/// let mut spikes = Vec::new();
/// for bias in [0.0, 0.5] {
///     let mut stepper = LifStepper::new(lif, [bias], 0.0, lif.initial_state());
///     let mut trace = NeuronTrace::new(lif.initial_state());
///     plan.run(&mut stepper, &lif, &[bias], &inputs, &mut trace)?;
///     spikes.push(trace.spikes.len());
/// }
/// assert!(spikes[1] >= spikes[0]);
/// assert!(RunPlan::new(f64::NAN, &SolverOptions::default()).is_err());
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunPlan {
    t_end: f64,
    options: SolverOptions,
}

impl RunPlan {
    /// Checks `options`, then `t_end` (finite and `> 0`).
    pub fn new(t_end: f64, options: &SolverOptions) -> Result<Self, SolverError> {
        options.validate()?;
        Self::with_valid_options(t_end, options)
    }

    /// A plan with `options` that the caller has validated: checks
    /// `t_end` only.
    pub(crate) fn with_valid_options(
        t_end: f64,
        options: &SolverOptions,
    ) -> Result<Self, SolverError> {
        debug_assert!(options.validate().is_ok());
        if !(t_end.is_finite() && t_end > 0.0) {
            return Err(SolverError::InvalidEndTime { t_end });
        }
        Ok(RunPlan {
            t_end,
            options: *options,
        })
    }

    /// The end time of the runs.
    pub fn t_end(&self) -> f64 {
        self.t_end
    }

    /// The solver options of the runs.
    pub fn options(&self) -> &SolverOptions {
        &self.options
    }

    /// A run of `model` on `[0, t_end]` from its initial state, driven by
    /// the caller ([`NeuronRun`]): checks the parameters and that the
    /// initial state lies below the threshold, and clears `trace`.
    pub fn start<N: NeuronModel>(
        &self,
        model: &N,
        params: &N::Params,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<NeuronRun<N>, SolverError> {
        NeuronRun::start(model, params, self, trace)
    }

    /// Simulates one neuron on `[0, t_end]` with `stepper`, which must start
    /// at `t = 0` in the model's initial state; overwrites `trace`. Checks
    /// the inputs, then the parameters.
    ///
    /// Input spikes at `t < t_end` are applied in order (their jumps are
    /// logged with the state and derivative on both sides); a jump that
    /// leaves the event function `>= 0` is a spike at the input's instant
    /// ([`EventKind::JumpSpike`]), followed by the reset (again while the
    /// state stays on or above the event surface, each reset lowering the
    /// event function: a burst at one instant), before the next input at
    /// that instant is applied; between them
    /// the stepper advances with stop times on the inputs, every step is
    /// checked for a finite state and scanned for an upward crossing of the
    /// event function (including a threshold touched and left inside one
    /// step), each crossing is refined on the dense output, logged, and
    /// followed by the reset. With [`SolverOptions::stop_after_spikes`] the
    /// run ends at that spike; with [`SolverOptions::stop_when_silent`] it
    /// ends before the first step after the last input at which the model
    /// proves that no spike can come before `t_end`. A model's refractory
    /// period ([`NeuronModel::refractory_period`]) freezes the state after
    /// each spike until its end, an exact event
    /// ([`EventKind::RefractoryEnd`]), and blocks the inputs before it
    /// ([`EventKind::Blocked`]); a model's spike limit
    /// ([`NeuronModel::spike_limit`]) ends the run at that spike, as
    /// `stop_after_spikes` does (the smaller applies). The loop itself is
    /// [`NeuronRun`], driven here with every input known from the start.
    pub fn run<N: NeuronModel, S: Stepper<N>>(
        &self,
        stepper: &mut S,
        model: &N,
        params: &N::Params,
        inputs: &[InputSpike],
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<(), SolverError> {
        validate_inputs(inputs)?;
        check_synapses::<N>(inputs, 0)?;
        self.start(model, params, trace)?
            .run_to_end(model, stepper, trace, inputs)
    }
}

/// Whether the last segment of a sensitivity log
/// ([`NeuronTrace::sensitivities`]) of model `N` ends at `t`.
fn last_segment_ends_at<N: NeuronModel>(log: &[f64], t: f64) -> bool {
    let d = N::State::DIM;
    let stride = 2 + d * (d + N::Params::DIM);
    log.len() >= stride && log[log.len() - stride + 1] == t
}

/// What a [`NeuronRun`] needs next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// One step of the stepper towards this stop time ([`Stepper::step`]),
    /// then [`NeuronRun::after_step`].
    Step(f64),
    /// The time of the next input is not known yet: call
    /// [`NeuronRun::advance`] again once more inputs are known.
    Wait,
    /// The run is complete; its trace is final.
    Done,
}

/// The event loop of one neuron ([`RunPlan::run`]) as a state machine
/// that the caller drives step by step, with inputs that may become known
/// while it runs; made by [`RunPlan::start`].
///
/// [`advance`](Self::advance) applies the inputs that have arrived and says
/// what comes next: a step of the stepper up to a stop time, after which
/// [`after_step`](Self::after_step) finds and logs a spike in it; a wait for
/// inputs not yet known; or the end of the run. The caller passes the
/// inputs known so far (a list that only grows, sorted) and a horizon
/// `known_until` before which every input is in it. The run steps only
/// towards stop times that are certain, so it takes exactly the steps, and
/// makes exactly the trace, of a run with every input known from the start.
/// A caller that stops a run which is not done closes its trace with
/// [`end_here`](Self::end_here).
///
/// This lets a network simulate its neurons on demand: a neuron of the next
/// layer advances as far as its inputs are known, and earlier layers are
/// advanced only as far as needed (`evnn-net`'s loss pass).
///
/// # Examples
///
/// A LIF neuron whose second input becomes known only after it waited:
///
/// ```
/// use evnn_neurons::{Lif, NeuronModel};
/// use evnn_solver::{closed_form::LifStepper, Next, NeuronTrace, RunPlan};
/// use evnn_solver::{InputSpike, SolverOptions, Stepper};
///
/// let lif = Lif::default();
/// let plan = RunPlan::new(30.0, &SolverOptions::default())?;
/// let mut trace = NeuronTrace::new(lif.initial_state());
/// let mut stepper = LifStepper::new(lif, [0.0], 0.0, lif.initial_state());
/// let mut run = plan.start(&lif, &[0.0], &mut trace)?;
/// let all = [InputSpike::new(1.0, 4.0), InputSpike::new(2.0, 4.0)];
/// let mut known = (1, 1.5); // one input known, nothing else before t = 1.5
/// loop {
///     match run.advance(&lif, &mut stepper, &mut trace, &all[..known.0], known.1)? {
///         Next::Step(t_stop) => {
///             stepper.step(t_stop)?;
///             run.after_step(&lif, &mut stepper, &mut trace)?;
///         }
///         Next::Wait => known = (2, f64::INFINITY),
///         Next::Done => break,
///     }
/// }
/// assert_eq!(trace.events.len(), 2 + trace.spikes.len());
/// assert!(!trace.spikes.is_empty());
/// # Ok::<(), evnn_solver::SolverError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NeuronRun<N: NeuronModel> {
    params: N::Params,
    t_end: f64,
    options: SolverOptions,
    /// Inputs validated so far, and the horizon of the last call.
    checked: usize,
    known_until: f64,
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
    /// The model's refractory period
    /// ([`NeuronModel::refractory_period`]), `0` for none.
    refractory: f64,
    /// The model's spike limit ([`NeuronModel::spike_limit`]).
    spike_limit: Option<usize>,
    /// The run ends at this spike: the smaller of the model's limit and
    /// [`SolverOptions::stop_after_spikes`].
    stop_after: Option<usize>,
    /// Inside the refractory period of the last spike: its end and the
    /// spike's number. The stepper stays at the spike's time and reset
    /// state meanwhile.
    frozen: Option<(f64, usize)>,
}

impl<N: NeuronModel> NeuronRun<N> {
    /// [`RunPlan::start`].
    fn start(
        model: &N,
        params: &N::Params,
        plan: &RunPlan,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<Self, SolverError> {
        let RunPlan { t_end, options } = *plan;
        model.validate_params(params)?;
        let x0 = model.initial_state();
        trace.clear(x0);
        trace.t_end = t_end;
        let g0 = model.event(x0.as_slice());
        if !(g0 < 0.0) {
            return Err(SolverError::InitialStateAboveThreshold {
                state: x0.as_slice().to_vec(),
                g: g0,
            });
        }
        let refractory = model.refractory_period();
        if !(refractory.is_finite() && refractory >= 0.0) {
            return Err(NeuronError::InvalidConstant {
                model: N::NAME,
                name: "refractory_period",
                value: refractory,
                reason: "must be finite and >= 0",
            }
            .into());
        }
        let spike_limit = model.spike_limit();
        if spike_limit == Some(0) {
            return Err(NeuronError::InvalidConstant {
                model: N::NAME,
                name: "spike_limit",
                value: 0.0,
                reason: "must be >= 1 (or none)",
            }
            .into());
        }
        let stop_after = match (options.stop_after_spikes, spike_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(NeuronRun {
            params: *params,
            t_end,
            options,
            checked: 0,
            known_until: 0.0,
            next_input: 0,
            in_stretch: false,
            t_stop: 0.0,
            a: GPoint {
                t: 0.0,
                g: g0,
                dg: 0.0,
            },
            quiet_tail: false,
            refractory,
            spike_limit,
            stop_after,
            frozen: None,
        })
    }

    /// Drives the run to its end with every input known from the start,
    /// `inputs` already checked ([`validate_inputs`]), so `advance` need not
    /// check them again: the loop of [`RunPlan::run`].
    fn run_to_end<S: Stepper<N>>(
        mut self,
        model: &N,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
        inputs: &[InputSpike],
    ) -> Result<(), SolverError> {
        self.checked = inputs.len();
        self.known_until = f64::INFINITY;
        while let Next::Step(t_stop) = self.advance(model, stepper, trace, inputs, f64::INFINITY)? {
            stepper.step(t_stop)?;
            self.after_step(model, stepper, trace)?;
        }
        Ok(())
    }

    /// Checks the inputs that are new since the last call: valid, sorted,
    /// none before the horizon promised then.
    fn check_new_inputs(
        &mut self,
        inputs: &[InputSpike],
        known_until: f64,
    ) -> Result<(), SolverError> {
        if inputs.len() < self.checked {
            return Err(SolverError::ShapeMismatch {
                what: "known inputs (the list may only grow)",
                expected: self.checked,
                got: inputs.len(),
            });
        }
        if !(known_until >= self.known_until) {
            return Err(SolverError::InvalidOption {
                name: "known_until",
                value: known_until,
                reason: "must not be NaN or decrease between calls",
            });
        }
        // One branch-free pass over the new inputs for the common case
        // that all are valid: finite, and each at or after the one before
        // (the first at or after the last input checked and the horizon
        // promised then); the loop below names a bad one.
        let mut previous = match self.checked {
            0 => 0.0,
            n => inputs[n - 1].time,
        }
        .max(self.known_until);
        let mut all_valid = true;
        for s in &inputs[self.checked..] {
            all_valid &= (s.time >= previous) & s.time.is_finite() & s.weight.is_finite();
            previous = s.time;
        }
        if N::WEIGHTS_PER_SYNAPSE != 1 {
            check_synapses::<N>(inputs, self.checked)?;
        }
        if all_valid {
            self.checked = inputs.len();
            self.known_until = known_until;
            return Ok(());
        }
        for index in self.checked..inputs.len() {
            let s = inputs[index];
            let previous = if index > 0 {
                inputs[index - 1].time
            } else {
                0.0
            };
            check_input(index, &s, previous)?;
            if s.time < self.known_until {
                return Err(SolverError::InputBeforeHorizon {
                    index,
                    time: s.time,
                    known_until: self.known_until,
                });
            }
        }
        self.checked = inputs.len();
        self.known_until = known_until;
        Ok(())
    }

    /// Applies the inputs that have arrived and runs until the stepper must
    /// take a step ([`Next::Step`] with its stop time), the next input is
    /// not known yet ([`Next::Wait`]), or the run ends ([`Next::Done`]).
    ///
    /// `inputs` are the inputs known so far, sorted (the list of the
    /// previous call, possibly with more appended); every input before
    /// `known_until` must be among them (`f64::INFINITY`: all inputs are).
    /// `model` and `stepper` must be those of the whole run.
    // Always inlined into its drivers (the event loop and the network's
    // on-demand rounds): it is the per-step loop, and left to the
    // heuristics, whether LLVM inlines it can flip with unrelated changes
    // in the calling crate.
    #[inline(always)]
    pub fn advance<S: Stepper<N>>(
        &mut self,
        model: &N,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
        inputs: &[InputSpike],
        known_until: f64,
    ) -> Result<Next, SolverError> {
        if inputs.len() != self.checked || known_until != self.known_until {
            self.check_new_inputs(inputs, known_until)?;
        }
        let t_end = self.t_end;
        'stretch: loop {
            if !self.in_stretch {
                if self.frozen.is_some() {
                    if let Some(next) = self.refractory(stepper, trace, inputs, known_until)? {
                        return Ok(next);
                    }
                }
                let t = stepper.t();
                // Apply every input that has arrived.
                while let Some(&s) = inputs
                    .get(self.next_input)
                    .filter(|s| s.time <= t && s.time < t_end)
                {
                    let x_minus = *stepper.x();
                    let f_minus = *stepper.dx();
                    let mut x_plus = x_minus;
                    if N::WEIGHTS_PER_SYNAPSE == 1 {
                        model.input_jump(x_plus.as_mut_slice(), s.weight);
                    } else {
                        // A synapse of K weights: K consecutive entries.
                        let w = synapse_weights::<N>(inputs, self.next_input);
                        model.input_jump_weights(
                            x_plus.as_mut_slice(),
                            &w[..N::WEIGHTS_PER_SYNAPSE],
                        );
                    }
                    check_finite(t, &x_plus)?;
                    let g = model.event(x_plus.as_slice());
                    if !(g < 0.0) {
                        // The jump carried the state onto or over the event
                        // surface: a spike at the input's instant.
                        let index = self.next_input;
                        self.next_input += N::WEIGHTS_PER_SYNAPSE;
                        let jump = (x_minus, f_minus, x_plus, g);
                        if self.jump_spikes(model, stepper, trace, t, index, jump)? {
                            return Ok(Next::Done);
                        }
                        if self.frozen.is_some() {
                            // Later inputs at `t` are blocked.
                            continue 'stretch;
                        }
                        continue;
                    }
                    stepper.log_segment(t, &mut trace.sensitivities);
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
                    self.next_input += N::WEIGHTS_PER_SYNAPSE;
                }
                if t >= t_end {
                    trace.x_end = *stepper.x();
                    // A run ended by `end_here` (its spike limit) has
                    // logged its last segment there.
                    if !last_segment_ends_at::<N>(&trace.sensitivities, t) {
                        stepper.log_segment(t, &mut trace.sensitivities);
                    }
                    return Ok(Next::Done);
                }
                // The next stop is certain when the next input is known
                // (inputs yet unknown come after it: the list grows sorted),
                // or when every input before `t_end` is known.
                self.t_stop = match inputs.get(self.next_input) {
                    Some(s) => s.time.min(t_end),
                    None if known_until >= t_end => t_end,
                    None => return Ok(Next::Wait),
                };
                // `a` is the event function at the start of the next step:
                // the end of the previous one, recomputed only after a restart.
                self.a = g_point(model, stepper.t(), stepper.x(), stepper.dx());
                self.quiet_tail = self.options.stop_when_silent && self.t_stop == t_end;
                self.in_stretch = true;
            }
            if stepper.t() < self.t_stop {
                if self.quiet_tail
                    && model.silent_for(&self.params, stepper.x(), t_end - stepper.t())
                {
                    self.end_here(stepper, trace);
                    return Ok(Next::Done);
                }
                return Ok(Next::Step(self.t_stop));
            }
            self.in_stretch = false;
        }
    }

    /// How many entries of the input list the run has used: applied, or
    /// blocked by a refractory period. The caller may take back only
    /// entries after these ([`retract`](Self::retract)).
    pub fn inputs_used(&self) -> usize {
        self.next_input
    }

    /// Takes back what the caller told earlier calls of
    /// [`advance`](Self::advance) beyond the stepper's time `t`: the input
    /// list shrinks to its first `n_inputs` entries (none of those dropped
    /// used yet, [`inputs_used`](Self::inputs_used); whole synapses of
    /// [`NeuronModel::WEIGHTS_PER_SYNAPSE`] entries) and the horizon
    /// `known_until` becomes `t`. The next `advance` plans its stretch anew
    /// from the stepper's point (the steps taken stay), and the caller may
    /// give inputs at or after `t` that it did not know before. `stepper`
    /// must be the run's; a run that said [`Next::Done`] is over and must
    /// not be retracted.
    ///
    /// For a caller that advances a run as if nothing more would arrive and
    /// learns only afterwards whether that held: a recurrent layer steps
    /// each neuron speculatively and keeps the step once no other neuron
    /// can spike before its end (`evnn-net`).
    pub fn retract<S: Stepper<N>>(
        &mut self,
        stepper: &S,
        n_inputs: usize,
    ) -> Result<(), SolverError> {
        if n_inputs < self.next_input
            || n_inputs > self.checked
            || !n_inputs.is_multiple_of(N::WEIGHTS_PER_SYNAPSE)
        {
            return Err(SolverError::ShapeMismatch {
                what: "inputs kept (whole synapses, between those used and those known)",
                expected: self.next_input,
                got: n_inputs,
            });
        }
        self.checked = n_inputs;
        self.known_until = stepper.t();
        self.in_stretch = false;
        Ok(())
    }

    /// Checks the step the stepper just took, finds and logs a spike in it
    /// and resets. After the spike that [`SolverOptions::stop_after_spikes`]
    /// asks for, the trace ends there and the next
    /// [`advance`](Self::advance) says [`Next::Done`].
    // Always inlined, as `advance`.
    #[inline(always)]
    pub fn after_step<S: Stepper<N>>(
        &mut self,
        model: &N,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
    ) -> Result<(), SolverError> {
        let options = &self.options;
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
            return Ok(());
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
        model.dynamics(
            self.params.as_slice(),
            x_minus.as_slice(),
            f_minus.as_mut_slice(),
        );
        check_finite(t_spike, &x_minus)?;
        check_finite(t_spike, &f_minus)?;
        let mut x_plus = x_minus;
        model.reset_with_params(self.params.as_slice(), x_plus.as_mut_slice());
        let g = model.event(x_plus.as_slice());
        if !(g < 0.0) {
            return Err(SolverError::ResetAboveThreshold {
                t: t_spike,
                g,
                state: x_plus.as_slice().to_vec(),
            });
        }
        stepper.log_segment(t_spike, &mut trace.sensitivities);
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
        if self.stop_after == Some(trace.spikes.len()) {
            // The run ends here: the next `advance` finds `t >= t_end`.
            self.end_here(stepper, trace);
            self.t_end = t_spike;
            self.in_stretch = false;
            self.freeze_at_end(trace);
            return Ok(());
        }
        if self.refractory > 0.0 {
            self.freeze(t_spike, k, trace);
            return Ok(());
        }
        self.a = g_point(model, stepper.t(), stepper.x(), stepper.dx());
        Ok(())
    }

    /// Starts the refractory period of spike `k` at `t`, the spike just
    /// logged, with the stepper at its time and reset state: the state
    /// stays there (`f⁺ = 0` in the log) until `t + t_ref`
    /// ([`refractory`](Self::refractory)).
    #[cold]
    #[inline(never)]
    fn freeze(&mut self, t: f64, k: usize, trace: &mut NeuronTrace<N::State>) {
        self.frozen = Some((t + self.refractory, k));
        self.in_stretch = false;
        if let Some(last) = trace.events.last_mut() {
            last.f_plus = N::State::zeros();
        }
    }

    /// At the spike that ends the run by the model's spike limit
    /// ([`NeuronModel::spike_limit`]), the state stays at the reset: `f⁺ =
    /// 0` in the log, so that the adjoint of a loss of the final state is
    /// that of the frozen state. A run ended by
    /// [`SolverOptions::stop_after_spikes`] alone keeps `f⁺ = f(x⁺)`.
    fn freeze_at_end(&self, trace: &mut NeuronTrace<N::State>) {
        if self.spike_limit == Some(trace.spikes.len()) {
            if let Some(last) = trace.events.last_mut() {
                last.f_plus = N::State::zeros();
            }
        }
    }

    /// The refractory period ([`freeze`](Self::freeze)): logs the inputs
    /// before its end (and before `t_end`) as blocked, then restarts the
    /// stepper at its end from the frozen state and logs the end
    /// ([`EventKind::RefractoryEnd`]), or at `t_end` when the period
    /// reaches it (the run then ends frozen). `Some(Next::Wait)` while an
    /// input before the end may still be unknown; `None` once the period
    /// is over.
    #[cold]
    #[inline(never)]
    fn refractory<S: Stepper<N>>(
        &mut self,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
        inputs: &[InputSpike],
        known_until: f64,
    ) -> Result<Option<Next>, SolverError> {
        let Some((until, k)) = self.frozen else {
            return Ok(None);
        };
        let end = until.min(self.t_end);
        let x = *stepper.x();
        let zero = N::State::zeros();
        while let Some(s) = inputs.get(self.next_input).filter(|s| s.time < end) {
            trace.events.push(Event {
                t: s.time,
                kind: EventKind::Blocked {
                    index: self.next_input,
                },
                x_minus: x,
                x_plus: x,
                f_minus: zero,
                f_plus: zero,
            });
            self.next_input += N::WEIGHTS_PER_SYNAPSE;
        }
        if self.next_input == inputs.len() && known_until < end {
            return Ok(Some(Next::Wait));
        }
        self.frozen = None;
        stepper.log_segment(end, &mut trace.sensitivities);
        stepper.restart(end, &x)?;
        check_finite(end, stepper.dx())?;
        if until < self.t_end {
            trace.events.push(Event {
                t: until,
                kind: EventKind::RefractoryEnd { k },
                x_minus: x,
                x_plus: x,
                f_minus: zero,
                f_plus: *stepper.dx(),
            });
        }
        Ok(None)
    }

    /// The spikes that input `index` at `t` causes by its jump, `jump` =
    /// `(x⁻, f⁻, x⁺, g(x⁺))` with `g(x⁺) >= 0` (or NaN): logs the input,
    /// then spikes at `t`, each followed by the reset, until the state lies
    /// below the event surface, and restarts the stepper there. A jump far
    /// over the surface can take several resets (the subtractive reset of
    /// an adaptive threshold removes one threshold's worth each), so one
    /// input may give a burst of spikes at one instant; each reset must
    /// lower the event function, or the burst would never end
    /// ([`SolverError::ResetAboveThreshold`]), and
    /// [`SolverOptions::max_spikes`] bounds it. `true` when the run ends at
    /// one of them ([`SolverOptions::stop_after_spikes`]).
    #[cold]
    #[inline(never)]
    fn jump_spikes<S: Stepper<N>>(
        &mut self,
        model: &N,
        stepper: &mut S,
        trace: &mut NeuronTrace<N::State>,
        t: f64,
        index: usize,
        jump: (N::State, N::State, N::State, f64),
    ) -> Result<bool, SolverError> {
        let (x_minus, f_minus, mut x, mut g) = jump;
        let p = self.params;
        let mut f = N::State::zeros();
        model.dynamics(p.as_slice(), x.as_slice(), f.as_mut_slice());
        check_finite(t, &f)?;
        trace.events.push(Event {
            t,
            kind: EventKind::Input { index },
            x_minus,
            x_plus: x,
            f_minus,
            f_plus: f,
        });
        loop {
            let k = trace.spikes.len();
            if k >= self.options.max_spikes {
                return Err(SolverError::SpikeLimit {
                    limit: self.options.max_spikes,
                    t,
                });
            }
            let mut x_plus = x;
            model.reset_with_params(p.as_slice(), x_plus.as_mut_slice());
            check_finite(t, &x_plus)?;
            let g_plus = model.event(x_plus.as_slice());
            let below = g_plus < 0.0;
            if !below && !(g_plus < g) {
                return Err(SolverError::ResetAboveThreshold {
                    t,
                    g: g_plus,
                    state: x_plus.as_slice().to_vec(),
                });
            }
            let mut f_plus = N::State::zeros();
            model.dynamics(p.as_slice(), x_plus.as_slice(), f_plus.as_mut_slice());
            check_finite(t, &f_plus)?;
            trace.spikes.push(t);
            trace.events.push(Event {
                t,
                kind: EventKind::JumpSpike { k, index },
                x_minus: x,
                x_plus,
                f_minus: f,
                f_plus,
            });
            let stop = self.stop_after == Some(trace.spikes.len());
            if below || stop {
                stepper.log_segment(t, &mut trace.sensitivities);
                stepper.restart(t, &x_plus)?;
                check_finite(t, stepper.dx())?;
                if let Some(last) = trace.events.last_mut() {
                    // The derivative the stepper goes on with, as at every
                    // other event.
                    last.f_plus = *stepper.dx();
                }
                if stop {
                    self.end_here(stepper, trace);
                    self.t_end = t;
                    self.in_stretch = false;
                    self.freeze_at_end(trace);
                } else if self.refractory > 0.0 {
                    // The period starts after the burst's last spike.
                    self.freeze(t, k, trace);
                }
                return Ok(stop);
            }
            (x, f, g) = (x_plus, f_plus, g_plus);
        }
    }

    /// Ends the trace at the stepper's current time and state: for a run
    /// that the caller stops before it is done (its spikes and events so far
    /// are exactly those of the complete run).
    pub fn end_here<S: Stepper<N>>(&self, stepper: &S, trace: &mut NeuronTrace<N::State>) {
        // Inside a refractory period the stepper waits at the spike while
        // blocked inputs after it are logged: the trace ends at the last.
        trace.t_end = match (self.frozen, trace.events.last()) {
            (Some(_), Some(e)) => stepper.t().max(e.t),
            _ => stepper.t(),
        };
        trace.x_end = *stepper.x();
        stepper.log_segment(stepper.t(), &mut trace.sensitivities);
    }
}
