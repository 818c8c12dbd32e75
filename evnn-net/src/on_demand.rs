//! The loss pass's on-demand simulation.
//!
//! A loss of the first output spikes depends on the network's activity only
//! up to those spikes: a hidden spike that comes after every output neuron
//! has finished its run reaches no output neuron in time, and neither
//! affects the loss nor its gradient. Simulating layer after layer to
//! `t_end` computes such spikes anyway (at the initial parameters of the
//! Yin–Yang experiment, about 60 % of the hidden layer's events come after
//! the last output neuron's first spike).
//!
//! Here every neuron's run is a [`NeuronRun`] driven step by step, in
//! rounds. In round `r` the layers before the output layer, from the first
//! up, run until they reach the horizon `r·t_end/8` (`r·t_end/16` in the
//! prediction pass; each neuron finishes
//! the step that crosses it); a layer's spikes before the time that all its
//! unfinished neurons have reached are handed to the next layer, and the
//! output neurons then run as far as their inputs are known. Once every
//! output neuron is done the remaining runs stop where they are; the last
//! round has no horizon. A run steps only towards stop times that are
//! certain (the next input is known, or every input before `t_end` is), so
//! each takes exactly the steps it takes when simulated alone with all its
//! inputs known: spikes, loss and gradient are bit-identical to those of
//! the layer-by-layer pass, and only the traces of earlier layers end
//! sooner. [`LossPass`] chooses between the two passes.

use crate::stack::{fill_inputs, push_inputs, Pass, Stack};
use crate::trace::{merge_spikes, spike_order, ForwardTrace, LayerTrace, MergedSpike};
use crate::{NetError, NetworkParams, SpikeTrains};
use evnn_neurons::NeuronModel;
use evnn_solver::{Backend, InputSpike, NeuronRun, NeuronTrace, Next, RunPlan, Stepper};

/// Rounds of [`OnDemandRuns::forward`] with a horizon before
/// `t_end` (module docs). More rounds leave out more steps of the earlier
/// layers but visit every neuron more often; 8 balances the two on the
/// Yin–Yang networks (the comparison is in BENCHMARKS.md). The value
/// changes only the work done, never the result.
const ROUNDS: usize = 8;

/// Rounds of the prediction pass ([`Pass::Prediction`], which ends every
/// output neuron at the earliest output spike). Its output neurons stop
/// sooner, so coarse rounds overshoot more and it takes finer rounds than
/// the loss pass (the comparison is in BENCHMARKS.md).
const RACE_ROUNDS: usize = 16;

/// How the loss pass ([`FeedForward::sample_loss`](crate::FeedForward::sample_loss) and
/// [`BatchRunner::loss`](crate::BatchRunner::loss)) simulates the layers before the output layer
/// ([`FeedForward::with_loss_pass`](crate::FeedForward::with_loss_pass)). Every choice gives bit-identical
/// spikes, loss and gradient; only the work differs, and so do errors that a
/// run would meet only after every output neuron is done (a hidden neuron
/// that exceeds [`SolverOptions::max_spikes`](evnn_solver::SolverOptions::max_spikes)
/// late): on demand, such runs stop before.
///
/// On demand, the layers before the output layer are simulated in rounds of
/// growing horizons, only until every output neuron is done, and their runs
/// stop there. That pays where the output neurons finish early:
/// at the initial parameters of the Yin–Yang experiment it leaves out about
/// 60 % of the hidden layer's steps. Where they do not (a trained network
/// whose wrong-class output neurons stay silent, so every hidden run must
/// end on its own) it leaves out nothing and only adds its bookkeeping.
///
/// # Examples
///
/// ```
/// use evnn_net::{FeedForward, InitConfig, LossPass, NetworkParams, SpikeTrains, TtfsLoss};
/// use evnn_net::ForwardTrace;
/// use evnn_neurons::Lif;
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let sizes = [2, 6, 2];
/// let net = FeedForward::new(Lif::default(), &sizes, ClosedForm, SolverOptions::default(), 30.0)?;
/// let init = InitConfig { wmean: 3.0, wlim: 3.0, ..InitConfig::default() };
/// let params = NetworkParams::init::<Lif>(&sizes, &init, 1)?;
/// let x = SpikeTrains::from_times(&[1.0, 2.0])?;
/// let mut losses = Vec::new();
/// for pass in [LossPass::OnDemand, LossPass::LayerByLayer] {
///     let net = net.clone().with_loss_pass(pass);
///     let mut ws = net.workspace();
///     let mut trace = ForwardTrace::default();
///     let r = net.sample_loss(&params, &x, &0, &TtfsLoss::default(), &mut ws, &mut trace, None)?;
///     losses.push(r.loss);
/// }
/// assert_eq!(losses[0].to_bits(), losses[1].to_bits());
/// # Ok::<(), evnn_net::NetError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LossPass {
    /// On demand while it leaves out enough work: at least a tenth of the
    /// earlier layers' neuron-time `[0, t_end]`, averaged over a worker's
    /// recent samples (the first sample's share, then a running mean);
    /// when it does not, layer by layer, retrying on demand every 16
    /// samples. [`BatchRunner::loss`](crate::BatchRunner::loss) starts afresh with each chunk of
    /// eight samples, so its choices do not depend on the
    /// number of threads: a chunk's first sample runs on demand and decides
    /// for the next. The default.
    #[default]
    Auto,
    /// Always on demand (where the backend hands out steppers,
    /// [`Backend::stepper`]; layer by layer otherwise).
    OnDemand,
    /// Layer after layer, every run to `t_end` or to its own early end.
    LayerByLayer,
}

/// The state of [`LossPass::Auto`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OnDemand {
    /// Running mean of the share of neuron-time left out; `None` before the
    /// first sample simulated on demand.
    saved: Option<f64>,
    /// Samples until the next retry.
    countdown: u32,
}

/// The least share of neuron-time left out for which the loss pass stays on
/// demand.
const MIN_SAVED: f64 = 0.1;

/// Samples between retries of the on-demand pass when it is off.
const RETRY: u32 = 16;

impl Default for OnDemand {
    /// Nothing known yet: the next sample runs on demand and its share
    /// decides alone. A prior (a mean starting at 1) would keep a trained
    /// network, where on demand saves nothing, on demand for several
    /// samples, past the end of a chunk of
    /// [`BatchRunner::loss`](crate::BatchRunner::loss).
    fn default() -> Self {
        OnDemand {
            saved: None,
            countdown: RETRY,
        }
    }
}

impl OnDemand {
    /// Forgets the samples seen.
    pub(crate) fn restart(&mut self) {
        *self = OnDemand::default();
    }

    /// Whether to simulate this sample on demand under `pass`.
    pub(crate) fn wanted(&mut self, pass: LossPass) -> bool {
        match pass {
            LossPass::OnDemand => return true,
            LossPass::LayerByLayer => return false,
            LossPass::Auto => {}
        }
        if self.saved.is_none_or(|saved| saved >= MIN_SAVED) {
            return true;
        }
        if self.countdown == 0 {
            self.countdown = RETRY;
            return true;
        }
        self.countdown -= 1;
        false
    }

    /// Records the share of neuron-time an on-demand pass left out.
    fn record(&mut self, saved: f64) {
        self.saved = Some(match self.saved {
            None => saved,
            Some(mean) => mean + 0.25 * (saved - mean),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first sample's share decides; below the threshold the pass is
    /// layer by layer for `RETRY` samples, then on demand once to measure
    /// again; the other choices of pass ignore the state.
    #[test]
    fn auto_follows_the_share_left_out() {
        let mut od = OnDemand::default();
        assert!(od.wanted(LossPass::Auto));
        od.record(0.02);
        for _ in 0..RETRY {
            assert!(!od.wanted(LossPass::Auto));
            assert!(od.wanted(LossPass::OnDemand));
        }
        assert!(od.wanted(LossPass::Auto), "retry after {RETRY} samples");
        // The retry saves much: on demand from then on, and a single poor
        // sample does not pull the running mean under the threshold.
        od.record(0.6);
        assert_eq!(od.saved, Some(0.02 + 0.25 * (0.6 - 0.02)));
        od.record(0.0);
        assert!(od.wanted(LossPass::Auto));
        assert!(!od.wanted(LossPass::LayerByLayer));
        od.restart();
        assert_eq!(od, OnDemand::default());
    }
}

/// One layer's runs in the on-demand pass; buffers reused between samples.
#[derive(Clone, Debug)]
pub(crate) struct LayerRuns<N: NeuronModel, S> {
    steppers: Vec<S>,
    runs: Vec<NeuronRun<N>>,
    /// Each neuron's known inputs: the layer's known merged inputs with the
    /// neuron's weights.
    inputs: Vec<Vec<InputSpike>>,
    done: Vec<bool>,
    /// Per neuron: how many of its spikes the next layer has received.
    handed: Vec<usize>,
    /// Every input of this layer before this time is known.
    known: f64,
    /// Every spike of this layer before this time is found: the earliest
    /// time its unfinished neurons have reached (`∞` when all are done).
    reached: f64,
    /// Some neuron has spikes not yet handed to the next layer.
    pending: bool,
}

impl<N: NeuronModel, S> Default for LayerRuns<N, S> {
    fn default() -> Self {
        LayerRuns {
            steppers: Vec::new(),
            runs: Vec::new(),
            inputs: Vec::new(),
            done: Vec::new(),
            handed: Vec::new(),
            known: 0.0,
            reached: 0.0,
            pending: false,
        }
    }
}

impl<N: NeuronModel, S> LayerRuns<N, S> {
    /// Neuron `j`'s stepper at `t = 0` in the initial state for `model`,
    /// `p` and `plan`: the one kept from the last sample, reset
    /// ([`Backend::reset_stepper`]), or a new one when `j` is the next
    /// neuron without one. `None` when the backend hands out no steppers
    /// ([`Backend::stepper`]), then also for the neurons after (none is
    /// kept). Called for `j = 0, 1, …` in turn.
    pub(crate) fn stepper<'a, B: Backend<N, Stepper = S>>(
        &'a mut self,
        backend: &B,
        j: usize,
        model: &N,
        p: &N::Params,
        plan: &RunPlan,
    ) -> Option<&'a mut S> {
        match j.cmp(&self.steppers.len()) {
            std::cmp::Ordering::Less => {
                backend.reset_stepper(&mut self.steppers[j], model, p, plan);
            }
            std::cmp::Ordering::Equal => self.steppers.push(backend.stepper(model, p, plan)?),
            // An earlier neuron got none: the backend hands out no steppers.
            std::cmp::Ordering::Greater => return None,
        }
        self.steppers.get_mut(j)
    }
}

/// The on-demand pass's state, kept between samples: every layer's runs,
/// the spikes being handed to the next layer, and [`LossPass::Auto`]'s
/// choice.
#[derive(Clone, Debug)]
pub(crate) struct OnDemandRuns<N: NeuronModel, S> {
    /// One entry per layer.
    pub(crate) layers: Vec<LayerRuns<N, S>>,
    /// The spikes being handed to the next layer.
    new_spikes: Vec<MergedSpike>,
    /// The merge of the input spikes (`merge_spikes`).
    buckets: Vec<u32>,
    /// Whether the loss pass simulates on demand.
    pub(crate) choice: OnDemand,
}

impl<N: NeuronModel, S> Default for OnDemandRuns<N, S> {
    fn default() -> Self {
        OnDemandRuns {
            layers: Vec::new(),
            new_spikes: Vec::new(),
            buckets: Vec::new(),
            choice: OnDemand::default(),
        }
    }
}

impl<N: NeuronModel, S: Stepper<N>> OnDemandRuns<N, S> {
    /// The loss pass on demand (module docs), or for [`Pass::Prediction`]
    /// the pass that also ends every output neuron once it has reached the
    /// earliest output spike found. `Ok(false)`, before any neuron has run,
    /// when the backend hands out no steppers ([`Backend::stepper`]); the
    /// caller then simulates layer by layer.
    pub(crate) fn forward<B: Backend<N, Stepper = S>>(
        &mut self,
        stack: &Stack<N>,
        backend: &B,
        params: &NetworkParams,
        input: &SpikeTrains,
        trace: &mut ForwardTrace<N::State>,
        pass: Pass,
    ) -> Result<bool, NetError> {
        let n_layers = stack.models.len();
        trace.layers.resize_with(n_layers, LayerTrace::default);
        self.layers.resize_with(n_layers, LayerRuns::default);
        for layer in 0..n_layers {
            let model = &stack.models[layer];
            let plan = stack.plan(layer, pass);
            let n_out = stack.sizes[layer + 1];
            let lt = &mut trace.layers[layer];
            lt.inputs.clear();
            lt.outputs.clear();
            lt.recurrent = None;
            lt.layer_wide = false;
            lt.neurons
                .resize_with(n_out, || NeuronTrace::new(model.initial_state()));
            let lr = &mut self.layers[layer];
            // The steppers of the last sample are reset, not rebuilt.
            lr.steppers.truncate(n_out);
            lr.runs.clear();
            lr.done.clear();
            lr.handed.clear();
            lr.inputs.resize_with(n_out, Vec::new);
            lr.inputs.iter_mut().for_each(Vec::clear);
            lr.known = 0.0;
            lr.reached = 0.0;
            lr.pending = false;
            for j in 0..n_out {
                let p = Stack::<N>::neuron_params(params, layer, j);
                if lr.stepper(backend, j, model, &p, plan).is_none() {
                    return Ok(false);
                }
                let run = plan
                    .start(model, &p, &mut lt.neurons[j])
                    .map_err(|source| NetError::Solver {
                        layer,
                        neuron: j,
                        source,
                    })?;
                lr.runs.push(run);
                lr.done.push(false);
                lr.handed.push(0);
            }
        }
        // The first layer's inputs, the sample's spikes, are all known.
        merge_spikes(input, &mut trace.layers[0].inputs, &mut self.buckets);
        for (j, inputs) in self.layers[0].inputs.iter_mut().enumerate() {
            fill_inputs::<N>(inputs, &trace.layers[0].inputs, params, 0, j);
        }
        self.layers[0].known = f64::INFINITY;

        let last = n_layers - 1;
        // Rounds: the earlier layers advance to a horizon that grows by a
        // fixed share of `t_end` (neurons run on a whole step past it), their
        // spikes before the time all their neurons reached are handed up,
        // and the output neurons run as far as their inputs are known.
        let race = pass == Pass::Prediction;
        let mut round = 0;
        while !self.run_layer(stack, last, f64::INFINITY, race, trace)? {
            round += 1;
            let rounds = if race { RACE_ROUNDS } else { ROUNDS };
            let horizon = if round < rounds {
                stack.t_end * round as f64 / rounds as f64
            } else {
                f64::INFINITY
            };
            for layer in 0..last {
                self.run_layer(stack, layer, horizon, false, trace)?;
                self.hand_down(layer, params, trace);
            }
        }
        // The output neurons are done (or, in the race, past the first
        // output spike); the other runs stop where they are.
        let (mut cut, mut runs) = (0.0, 0);
        for (layer, (lr, lt)) in self.layers.iter().zip(&mut trace.layers).enumerate() {
            for (j, run) in lr.runs.iter().enumerate() {
                if layer < last {
                    runs += 1;
                }
                if !lr.done[j] {
                    run.end_here(&lr.steppers[j], &mut lt.neurons[j]);
                    if layer < last {
                        cut += (stack.t_end - lr.steppers[j].t()).max(0.0);
                    }
                }
            }
        }
        // Only the loss pass's choice of pass learns from the work saved.
        if pass == Pass::FirstSpikes {
            self.choice.record(cut / (runs as f64 * stack.t_end));
        }
        for lt in &mut trace.layers {
            for neuron in &lt.neurons {
                lt.outputs.push_checked(&neuron.spikes);
            }
        }
        Ok(true)
    }

    /// Runs every unfinished neuron of `layer` until its time reaches
    /// `horizon`, its next input is not known yet, or its run ends; `true`
    /// when all of them are done.
    ///
    /// In a `race` (the output layer of [`Pass::Prediction`]) the horizon is
    /// also the earliest first spike of the layer found so far, and a neuron
    /// that has reached it counts as done: its steps so far are those of the
    /// complete run, and a crossing is found anywhere in a step up to and
    /// including its end, so it has no spike before that time and cannot be
    /// the first. It could tie with it only by a spike that the jump of an
    /// input at that very instant causes, and a tie goes to the lower index:
    /// the neurons of lower index than the first spike's ran before it in
    /// the round in which that input became known, and applied it (ALIF's
    /// jump spikes; `evnn-net/tests/model_family.rs` checks such ties).
    fn run_layer(
        &mut self,
        stack: &Stack<N>,
        layer: usize,
        horizon: f64,
        race: bool,
        trace: &mut ForwardTrace<N::State>,
    ) -> Result<bool, NetError> {
        let model = &stack.models[layer];
        let lr = &mut self.layers[layer];
        let mut horizon = horizon;
        if race {
            horizon = trace.layers[layer]
                .neurons
                .iter()
                .filter_map(|n| n.spikes.first().copied())
                .fold(horizon, f64::min);
        }
        let mut reached = f64::INFINITY;
        let neurons = lr
            .runs
            .iter_mut()
            .zip(&mut lr.steppers)
            .zip(&lr.inputs)
            .zip(&mut lr.done)
            .zip(&mut trace.layers[layer].neurons);
        for (j, ((((run, stepper), inputs), done), neuron)) in neurons.enumerate() {
            let spikes = neuron.spikes.len();
            while !*done && stepper.t() < horizon {
                let next = run
                    .advance(model, stepper, neuron, inputs, lr.known)
                    .and_then(|next| {
                        if let Next::Step(t_stop) = next {
                            stepper.step(t_stop)?;
                            run.after_step(model, stepper, neuron)?;
                        }
                        Ok(next)
                    })
                    .map_err(|source| NetError::Solver {
                        layer,
                        neuron: j,
                        source,
                    })?;
                match next {
                    Next::Step(_) => {}
                    Next::Wait => break,
                    Next::Done => *done = true,
                }
            }
            lr.pending |= neuron.spikes.len() > spikes;
            if race {
                if let Some(&t) = neuron.spikes.first() {
                    horizon = horizon.min(t);
                }
            }
            if !*done {
                // Inside a refractory period the stepper waits at the
                // spike's time until every input before the period's end is
                // known: its time is then a safe lower bound of the time
                // the neuron's spikes are final to.
                reached = reached.min(stepper.t());
            }
        }
        lr.reached = reached;
        if race {
            // Done, or past the earliest first spike (which may have been
            // found after the neuron ran).
            let all_past = lr
                .done
                .iter()
                .zip(&lr.steppers)
                .all(|(&done, stepper)| done || stepper.t() >= horizon);
            return Ok(all_past);
        }
        Ok(reached == f64::INFINITY)
    }

    /// Hands `layer`'s spikes before the time that all its unfinished
    /// neurons have reached ([`run_layer`](Self::run_layer)) to the next
    /// layer, in time order (ties by neuron, as in [`merge_spikes`]).
    fn hand_down(
        &mut self,
        layer: usize,
        params: &NetworkParams,
        trace: &mut ForwardTrace<N::State>,
    ) {
        let lr = &mut self.layers[layer];
        let known = lr.reached;
        let new_spikes = &mut self.new_spikes;
        new_spikes.clear();
        if lr.pending {
            lr.pending = false;
            for (j, neuron) in trace.layers[layer].neurons.iter().enumerate() {
                let k = &mut lr.handed[j];
                while let Some(&time) = neuron.spikes.get(*k) {
                    if time >= known {
                        lr.pending = true;
                        break;
                    }
                    new_spikes.push(MergedSpike {
                        time,
                        channel: j as u32,
                        k: *k as u32,
                    });
                    *k += 1;
                }
            }
            new_spikes.sort_by(spike_order);
        }
        let next = &mut self.layers[layer + 1];
        next.known = known;
        if !new_spikes.is_empty() {
            trace.layers[layer + 1].inputs.extend_from_slice(new_spikes);
            for (i, inputs) in next.inputs.iter_mut().enumerate() {
                push_inputs::<N>(inputs, new_spikes, params, layer + 1, i);
            }
        }
    }
}
