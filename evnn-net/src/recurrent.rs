//! A recurrent layer's forward and backward passes: its neurons reach one
//! another, so they are simulated together, event by event, and their
//! adjoints run interleaved in the reverse order.
//!
//! **Forward.** Every neuron of the layer looks one step ahead as if no
//! spike of the layer would reach it: its run takes one step of its
//! stepper (to its next feed-forward input at most), which ends at a time
//! `e` or at a spike at `e`. The neuron with the earliest `e` (ties: the
//! lowest index) cannot be reached by a spike before `e`, since no other
//! neuron spikes before its own look-ahead's end: its step is kept. When it
//! is a spike, the spike reaches the neuron's targets at its time; each
//! target's look-ahead, which may have stepped past that time, is taken
//! back (run, stepper and trace as they were before it) and made anew with
//! the spike among its inputs. So every neuron steps exactly as a run that
//! knew its recurrent inputs from the start would, up to where its steps
//! end (at the spike times instead of past them), and the spike times are
//! exact to the solver's tolerance. A spike that two neurons make at the
//! same instant reaches the other neuron after that neuron's own spike, in
//! index order. Where a neuron, stepping anew towards a recurrent input,
//! finds a spike before the time the layer has already reached (possible
//! only where its trajectory grazes the threshold there: the new steps'
//! solution differs from the look-ahead's by the solver's tolerance, by
//! round-off on the exact backends), the spike reaches its targets at that
//! time.
//!
//! **Backward.** A spike's `dL/dt_k` collects what its targets send back
//! from the input events it caused, which lie at or after the spike in the
//! order of the forward pass. The forward pass records that order (which
//! neuron's events it kept, in turn), and the backward pass runs every
//! neuron's adjoint ([`AdjointRun`]) event by event in its reverse: each
//! input event of a recurrent spike adds its `dL/ds` to the sending
//! neuron's `dL/dt_k` before that spike's event is reached.

use crate::stack::{fill_delayed_inputs, Stack};
use crate::trace::{InputSource, LayerTrace, RecurrentInput, RecurrentRecord};
use crate::{NetError, NetworkParams};
use evnn_neurons::{NeuronModel, StateVector};
use evnn_solver::{
    Adjoint, AdjointRun, Backend, EventKind, InputSpike, NeuronGradient, NeuronRun, NeuronTrace,
    Next, SolverError, Stepper, TraceMark,
};

/// One neuron of a recurrent layer in the forward pass.
#[derive(Clone, Debug)]
pub(crate) struct Unit<N: NeuronModel, S> {
    run: Option<NeuronRun<N>>,
    stepper: Option<S>,
    /// The run's input list: every input known to arrive, then (inside a
    /// look-ahead) feed-forward inputs given ahead.
    inputs: Vec<InputSpike>,
    sources: Vec<RecurrentInput>,
    /// The feed-forward inputs in arrival order, and how many of them are
    /// in `inputs`.
    pending: Vec<(InputSpike, u32)>,
    cursor: usize,
    /// The state before the current look-ahead, to take it back.
    snapshot: Option<Snapshot<N, S>>,
    /// The look-ahead's end: a step's end, or the time of the spikes it
    /// made (`spiked`); `done` when the run ends there.
    event: f64,
    spiked: bool,
    done: bool,
    /// The run is complete (kept at its end).
    finished: bool,
}

/// The look-aheads' ends, for the earliest: a tournament tree over the
/// neurons (leaf `j` holds neuron `j`'s end, every node the least of its
/// two children by end, ties by the lower index), so that a new end costs
/// `log₂ n` comparisons and the earliest is the root.
#[derive(Clone, Debug, Default)]
struct MinTree {
    leaves: usize,
    nodes: Vec<(f64, u32)>,
}

impl MinTree {
    /// `n` neurons, every end `+∞` (none to keep).
    fn reset(&mut self, n: usize) {
        self.leaves = n.next_power_of_two();
        self.nodes.clear();
        self.nodes
            .resize(2 * self.leaves, (f64::INFINITY, u32::MAX));
    }

    /// Neuron `j`'s end is now `e` (`+∞`: none).
    fn set(&mut self, j: usize, e: f64) {
        let mut k = self.leaves + j;
        self.nodes[k] = (e, j as u32);
        while k > 1 {
            k /= 2;
            let (a, b) = (self.nodes[2 * k], self.nodes[2 * k + 1]);
            self.nodes[k] = if b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).is_lt() {
                b
            } else {
                a
            };
        }
    }

    /// The earliest end and its neuron; `None` once every end is `+∞`.
    fn earliest(&self) -> Option<(f64, usize)> {
        let (e, j) = self.nodes[1];
        (e < f64::INFINITY).then_some((e, j as usize))
    }
}

#[derive(Clone, Debug)]
struct Snapshot<N: NeuronModel, S> {
    run: NeuronRun<N>,
    stepper: S,
    events: usize,
    spikes: usize,
    /// The trace as it was (its sensitivity log included).
    mark: TraceMark<N::State>,
    inputs: usize,
    cursor: usize,
}

impl<N: NeuronModel, S> Default for Unit<N, S> {
    fn default() -> Self {
        Unit {
            run: None,
            stepper: None,
            inputs: Vec::new(),
            sources: Vec::new(),
            pending: Vec::new(),
            cursor: 0,
            snapshot: None,
            event: f64::INFINITY,
            spiked: false,
            done: false,
            finished: false,
        }
    }
}

/// The recurrent layers' scratch, kept between samples.
#[derive(Clone, Debug)]
pub(crate) struct RecurrentScratch<N: NeuronModel, B: Backend<N>> {
    units: Vec<Unit<N, B::Stepper>>,
    ends: MinTree,
    /// The neurons that look ahead anew after a kept look-ahead.
    invalidated: Vec<usize>,
    /// Backward: per neuron an adjoint (each keeps its own step size, so a
    /// neuron's gradient does not depend on the interleaving), its inputs,
    /// gradient and `dL/dt_k`.
    adjoints: Vec<B>,
    runs: Vec<AdjointRun<N>>,
    params: Vec<N::Params>,
    inputs: Vec<Vec<InputSpike>>,
    grads: Vec<NeuronGradient<N::Params>>,
    dl: Vec<Vec<f64>>,
}

impl<N: NeuronModel, B: Backend<N>> Default for RecurrentScratch<N, B> {
    fn default() -> Self {
        RecurrentScratch {
            units: Vec::new(),
            ends: MinTree::default(),
            invalidated: Vec::new(),
            adjoints: Vec::new(),
            runs: Vec::new(),
            params: Vec::new(),
            inputs: Vec::new(),
            grads: Vec::new(),
            dl: Vec::new(),
        }
    }
}

fn solver_error(layer: usize, neuron: usize) -> impl Fn(SolverError) -> NetError {
    move |source| NetError::Solver {
        layer,
        neuron,
        source,
    }
}

/// The recurrent weights of `layer`, which the callers run as recurrent.
fn recurrent_weights(params: &NetworkParams, layer: usize) -> Result<&[f64], NetError> {
    params.layers[layer]
        .recurrent_weights
        .as_deref()
        .ok_or(NetError::InvalidConfig {
            name: "recurrent weights (of a recurrent layer)",
            value: layer as f64,
            reason: "the layer has none",
        })
}

/// Simulates recurrent `layer` of one sample into `lt`, whose merged
/// inputs are set: every neuron's trace, the layer's spike trains and the
/// record the backward pass reads.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_layer<N: NeuronModel, B: Backend<N>>(
    stack: &Stack<N>,
    params: &NetworkParams,
    layer: usize,
    lt: &mut LayerTrace<N::State>,
    backend: &B,
    scratch: &mut RecurrentScratch<N, B>,
    inputs: &mut Vec<InputSpike>,
    arrivals: &mut Vec<(f64, u32)>,
) -> Result<(), NetError> {
    let model = &stack.models[layer];
    let plan = stack.recurrent_plan(layer);
    let l = &params.layers[layer];
    let recurrent = recurrent_weights(params, layer)?;
    let n = l.n_out;
    let n_in = l.n_in;
    lt.neurons
        .resize_with(n, || NeuronTrace::new(model.initial_state()));
    lt.outputs.clear();
    scratch.units.resize_with(n, Unit::default);
    for j in 0..n {
        let unit = &mut scratch.units[j];
        // The feed-forward inputs in arrival order, each with its merged
        // spike's index.
        unit.pending.clear();
        if l.has_delays() {
            fill_delayed_inputs(inputs, arrivals, &lt.inputs, params, layer, j, stack.t_end);
            unit.pending.extend(
                inputs
                    .iter()
                    .zip(arrivals.iter())
                    .map(|(&s, &(_, m))| (s, m)),
            );
        } else {
            let row = &l.weights[j * n_in..(j + 1) * n_in];
            unit.pending.extend(
                lt.inputs
                    .iter()
                    .enumerate()
                    .map(|(m, s)| (InputSpike::new(s.time, row[s.channel as usize]), m as u32)),
            );
        }
        let p = Stack::<N>::neuron_params(params, layer, j);
        match &mut unit.stepper {
            Some(s) => backend.reset_stepper(s, model, &p, plan),
            None => unit.stepper = backend.stepper(model, &p, plan),
        }
        if unit.stepper.is_none() {
            return Err(NetError::InvalidConfig {
                name: "backend of a recurrent layer",
                value: layer as f64,
                reason: "the backend hands out no stepper; a recurrent layer steps its \
                         neurons itself (use the closed form, the QIF series, Dormand-Prince \
                         or diffsol)",
            });
        }
        let trace = &mut lt.neurons[j];
        unit.run = Some(
            plan.start(model, &p, trace)
                .map_err(solver_error(layer, j))?,
        );
        unit.inputs.clear();
        unit.sources.clear();
        unit.cursor = 0;
        unit.snapshot = None;
        unit.done = false;
        unit.finished = false;
    }
    let record = lt.recurrent.get_or_insert_with(RecurrentRecord::default);
    record.order.clear();
    let mut reached = 0.0_f64;
    let ends = &mut scratch.ends;
    ends.reset(n);
    for j in 0..n {
        let unit = &mut scratch.units[j];
        look_ahead(model, unit, &mut lt.neurons[j]).map_err(solver_error(layer, j))?;
        ends.set(j, unit.event);
    }
    let invalidated = &mut scratch.invalidated;
    // The look-ahead that ends first is certain.
    while let Some((_, j)) = ends.earliest() {
        let unit = &mut scratch.units[j];
        let trace = &mut lt.neurons[j];
        let snapshot = unit.snapshot.take();
        let (events_before, spikes_before, inputs_before) = match &snapshot {
            Some(s) => (s.events, s.spikes, s.inputs),
            None => (trace.events.len(), trace.spikes.len(), unit.inputs.len()),
        };
        if trace.events.len() > events_before {
            record
                .order
                .push([j as u32, events_before as u32, trace.events.len() as u32]);
        }
        reached = reached.max(unit.event);
        if unit.done {
            unit.finished = true;
            ends.set(j, f64::INFINITY);
            continue;
        }
        // Keep the step; the feed-forward inputs given ahead and not used
        // go back to waiting.
        let run = unit.run.as_mut().expect("started above");
        let stepper = unit.stepper.as_ref().expect("checked above");
        let keep = run.inputs_used().max(inputs_before);
        unit.cursor -= unit.inputs.len() - keep;
        unit.inputs.truncate(keep);
        unit.sources.truncate(keep);
        run.retract(stepper, keep).map_err(solver_error(layer, j))?;
        invalidated.clear();
        invalidated.push(j);
        if unit.spiked {
            let t = reached;
            let new_spikes = spikes_before..lt.neurons[j].spikes.len();
            if t < stack.t_end {
                for k in new_spikes {
                    for i in 0..n {
                        if !l.has_recurrent_synapse(i, j) {
                            continue;
                        }
                        let w = recurrent[i * n + j];
                        let target = &mut scratch.units[i];
                        if target.finished {
                            continue;
                        }
                        // A target whose look-ahead is taken back looks
                        // ahead anew (once, whatever the burst).
                        if take_back(target, &mut lt.neurons[i]) {
                            invalidated.push(i);
                        }
                        // Feed-forward inputs up to the spike are certain
                        // now; the spike follows them.
                        while let Some(&(s, m)) = target.pending.get(target.cursor) {
                            if s.time > t {
                                break;
                            }
                            target.inputs.push(s);
                            target.sources.push(RecurrentInput {
                                time: s.time,
                                source: InputSource::Forward(m),
                            });
                            target.cursor += 1;
                        }
                        target.inputs.push(InputSpike::new(t, w));
                        target.sources.push(RecurrentInput {
                            time: t,
                            source: InputSource::Recurrent {
                                neuron: j as u32,
                                k: k as u32,
                            },
                        });
                    }
                }
            }
        }
        invalidated.sort_unstable();
        for &i in invalidated.iter() {
            let unit = &mut scratch.units[i];
            look_ahead(model, unit, &mut lt.neurons[i]).map_err(solver_error(layer, i))?;
            ends.set(i, unit.event);
        }
    }
    record.sources.resize_with(n, Vec::new);
    for (j, unit) in scratch.units.iter().enumerate() {
        let sources = &mut record.sources[j];
        sources.clear();
        sources.extend_from_slice(&unit.sources);
        lt.outputs.push_checked(&lt.neurons[j].spikes);
    }
    Ok(())
}

/// Takes back `unit`'s look-ahead, if it has one (`true` then).
fn take_back<N: NeuronModel, S>(unit: &mut Unit<N, S>, trace: &mut NeuronTrace<N::State>) -> bool {
    let Some(s) = unit.snapshot.take() else {
        return false;
    };
    unit.cursor = s.rewind(trace, &mut unit.inputs, &mut unit.sources);
    unit.run = Some(s.run);
    unit.stepper = Some(s.stepper);
    unit.done = false;
    true
}

impl<N: NeuronModel, S> Snapshot<N, S> {
    /// Puts `trace` and the input lists back as they were when this was
    /// taken; the cursor of the feed-forward inputs then (the run and the
    /// stepper are the caller's to put back).
    fn rewind(
        &self,
        trace: &mut NeuronTrace<N::State>,
        inputs: &mut Vec<InputSpike>,
        sources: &mut Vec<RecurrentInput>,
    ) -> usize {
        trace.rewind(&self.mark);
        inputs.truncate(self.inputs);
        sources.truncate(self.inputs);
        self.cursor
    }
}

/// Makes `unit`'s look-ahead: one step of its run as if no recurrent spike
/// would reach it (its next feed-forward input given ahead), keeping what
/// it was before to take the step back.
fn look_ahead<N: NeuronModel, S: Stepper<N> + Clone>(
    model: &N,
    unit: &mut Unit<N, S>,
    trace: &mut NeuronTrace<N::State>,
) -> Result<(), SolverError> {
    let (Some(run), Some(stepper)) = (unit.run.as_mut(), unit.stepper.as_mut()) else {
        return Ok(());
    };
    unit.snapshot = Some(Snapshot {
        run: run.clone(),
        stepper: stepper.clone(),
        events: trace.events.len(),
        spikes: trace.spikes.len(),
        mark: trace.mark(),
        inputs: unit.inputs.len(),
        cursor: unit.cursor,
    });
    let spikes_before = trace.spikes.len();
    unit.spiked = false;
    unit.done = false;
    // The horizon the look-ahead claims, at most: lowered to the time of
    // spikes made by an input's jump, so that a refractory period after
    // them does not end within the same `advance` on a guessed horizon.
    let mut cap = f64::INFINITY;
    loop {
        // One input beyond those the run has used, so that its next stop
        // is certain for the look-ahead.
        if run.inputs_used() == unit.inputs.len() {
            if let Some(&(s, m)) = unit.pending.get(unit.cursor) {
                unit.inputs.push(s);
                unit.sources.push(RecurrentInput {
                    time: s.time,
                    source: InputSource::Forward(m),
                });
                unit.cursor += 1;
            }
        }
        let known_until = match unit.pending.get(unit.cursor) {
            Some((s, _)) => s.time.min(cap),
            None => cap,
        };
        let next = run.advance(model, stepper, trace, &unit.inputs, known_until)?;
        if trace.spikes.len() > spikes_before {
            // Spikes at an input's instant, from its jump.
            let t = *trace.spikes.last().expect("spiked");
            if stepper.t() > t {
                // A refractory period after them ended on the guessed
                // horizon, which a spike of the layer inside the period
                // would contradict: again, claiming nothing past them (the
                // run then waits at the spikes, frozen).
                let s = unit.snapshot.as_ref().expect("taken above");
                unit.cursor = s.rewind(trace, &mut unit.inputs, &mut unit.sources);
                *run = s.run.clone();
                *stepper = s.stepper.clone();
                cap = t;
                continue;
            }
            unit.spiked = true;
            unit.event = t;
            return Ok(());
        }
        match next {
            Next::Step(t_stop) => {
                stepper.step(t_stop)?;
                run.after_step(model, stepper, trace)?;
                unit.spiked = trace.spikes.len() > spikes_before;
                unit.event = match trace.spikes.last() {
                    Some(&t) if unit.spiked => t,
                    _ => stepper.t(),
                };
                return Ok(());
            }
            // Inputs blocked by a refractory period: give the next.
            Next::Wait => continue,
            Next::Done => {
                unit.done = true;
                unit.event = stepper.t().max(trace.t_end);
                return Ok(());
            }
        }
    }
}

/// The backward pass of recurrent `layer`: adds `dL/dθ` of its neurons to
/// `grad` and `dL/dt` of its input spikes to `upstream` (indexed as the
/// source's spikes, whose channel `c` starts at `source_offsets(c)`),
/// given `current`, `dL/dt` of the layer's own spikes (indexed as its
/// outputs), and `dx_end`, `∂L/∂x(T)` per neuron. Each neuron's adjoint is
/// a clone of `backend`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_layer<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone>(
    stack: &Stack<N>,
    params: &NetworkParams,
    layer: usize,
    lt: &LayerTrace<N::State>,
    source_offsets: &dyn Fn(usize) -> usize,
    dx_end: Option<&[N::State]>,
    backend: &B,
    scratch: &mut RecurrentScratch<N, B>,
    current: &[f64],
    upstream: &mut [f64],
    grad: &mut NetworkParams,
) -> Result<(), NetError> {
    let model = &stack.models[layer];
    let l = &params.layers[layer];
    let (n, n_in) = (l.n_out, l.n_in);
    let mismatch =
        |neuron: Option<usize>, what, expected: usize, got: usize| NetError::TraceMismatch {
            layer,
            neuron,
            what,
            expected: expected as f64,
            got: got as f64,
        };
    let Some(record) = &lt.recurrent else {
        return Err(mismatch(
            None,
            "recurrent record (one for a recurrent layer)",
            1,
            0,
        ));
    };
    if record.sources.len() != n {
        let what = "recurrent input lists (one per neuron)";
        return Err(mismatch(None, what, n, record.sources.len()));
    }
    let recurrent = recurrent_weights(params, layer)?;
    scratch.adjoints.resize_with(n, || backend.clone());
    scratch.inputs.resize_with(n, Vec::new);
    scratch.grads.resize_with(n, || NeuronGradient::zeros(0));
    scratch.dl.resize_with(n, Vec::new);
    let zero = N::State::zeros();
    let options = &stack.options;
    let runs = &mut scratch.runs;
    runs.clear();
    scratch.params.clear();
    for j in 0..n {
        let neuron = &lt.neurons[j];
        let inputs = &mut scratch.inputs[j];
        inputs.clear();
        for (at, r) in record.sources[j].iter().enumerate() {
            let weight = match r.source {
                InputSource::Forward(m) => {
                    let Some(s) = lt.inputs.get(m as usize) else {
                        let what = "input spike index of a recurrent layer's input";
                        return Err(mismatch(Some(j), what, lt.inputs.len(), m as usize));
                    };
                    l.weights[j * n_in + s.channel as usize]
                }
                InputSource::Recurrent { neuron: i, k } => {
                    let i = i as usize;
                    if i >= n || k as usize >= lt.neurons[i].spikes.len() {
                        let what = "recurrent input's neuron and spike (in the layer)";
                        return Err(mismatch(Some(j), what, n, i));
                    }
                    recurrent[j * n + i]
                }
            };
            if at > 0 && r.time < record.sources[j][at - 1].time {
                let what = "recurrent layer input order (sorted by time)";
                return Err(mismatch(Some(j), what, at - 1, at));
            }
            inputs.push(InputSpike::new(r.time, weight));
        }
        let start = lt.outputs.offset(j);
        let dl = &mut scratch.dl[j];
        dl.clear();
        dl.extend_from_slice(&current[start..start + neuron.spikes.len()]);
        let p = Stack::<N>::neuron_params(params, layer, j);
        scratch.params.push(p);
        let x_end = dx_end.map_or(&zero, |d| &d[j]);
        runs.push(
            AdjointRun::start(
                &mut scratch.adjoints[j],
                model,
                &p,
                inputs,
                neuron,
                x_end,
                &mut scratch.grads[j],
            )
            .map_err(solver_error(layer, j))?,
        );
    }
    // The events in the reverse of the order the forward pass kept them.
    for &[j, begin, end] in record.order.iter().rev() {
        let (j, begin, end) = (j as usize, begin as usize, end as usize);
        if j >= n || runs[j].remaining() != end || begin > end {
            let what = "recurrent event order (each neuron's events once, in turn)";
            return Err(mismatch(
                Some(j),
                what,
                runs.get(j).map_or(0, |r| r.remaining()),
                end,
            ));
        }
        let neuron = &lt.neurons[j];
        for at in (begin..end).rev() {
            runs[j]
                .event(
                    &mut scratch.adjoints[j],
                    model,
                    &scratch.params[j],
                    &scratch.inputs[j],
                    neuron,
                    &scratch.dl[j],
                    options,
                    &mut scratch.grads[j],
                )
                .map_err(solver_error(layer, j))?;
            // An input from a spike of the layer sends its `dL/ds` to that
            // spike: final here, since the jump spikes it caused came after
            // it in the forward pass.
            if let EventKind::Input { index } = neuron.events[at].kind {
                if let InputSource::Recurrent { neuron: i, k } = record.sources[j][index].source {
                    let d = scratch.grads[j].input_times[index];
                    scratch.dl[i as usize][k as usize] += d;
                }
            }
        }
    }
    let np = N::Params::DIM;
    let g = &mut grad.layers[layer];
    for (j, run) in runs.drain(..).enumerate() {
        if run.remaining() != 0 {
            let what = "events of a recurrent neuron left out of the recorded order";
            return Err(mismatch(Some(j), what, 0, run.remaining()));
        }
        let ng = &mut scratch.grads[j];
        run.finish(
            &mut scratch.adjoints[j],
            model,
            &scratch.params[j],
            &lt.neurons[j],
            options,
            ng,
        )
        .map_err(solver_error(layer, j))?;
        for (dst, src) in g.neuron_params[j * np..(j + 1) * np]
            .iter_mut()
            .zip(ng.params.as_slice())
        {
            *dst += src;
        }
        for (m, r) in record.sources[j].iter().enumerate() {
            let (dw, ds) = (ng.weights[m], ng.input_times[m]);
            match r.source {
                InputSource::Forward(at) => {
                    let s = lt.inputs[at as usize];
                    let c = s.channel as usize;
                    g.weights[j * n_in + c] += dw;
                    upstream[source_offsets(c) + s.k as usize] += ds;
                    // The arrival moves with the delays as with the
                    // source's spike (docs/design.md §4.5).
                    if let Some(d) = g.synaptic_delays.as_mut() {
                        d[j * n_in + c] += ds;
                    }
                    if let Some(a) = g.axonal_delays.as_mut() {
                        a[c] += ds;
                    }
                }
                InputSource::Recurrent { neuron: i, .. } => {
                    if let Some(r) = g.recurrent_weights.as_mut() {
                        r[j * n + i as usize] += dw;
                    }
                }
            }
        }
    }
    Ok(())
}
