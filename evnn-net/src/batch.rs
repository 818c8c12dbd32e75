//! Batched loss, accuracy and gradient, parallel with rayon and
//! bit-identical for any number of threads: a [`BatchRunner`] owns a network
//! and the scratch space its parallel passes keep between calls.

use crate::forward::Workspace;
use crate::sample::{predict, readout_loss, sample_loss};
use crate::trace::ForwardTrace;
#[cfg(doc)]
use crate::LossPass;
#[cfg(doc)]
use crate::TtfsLoss;
use crate::{
    FeedForward, FirstSpikeLoss, LiReadout, NetError, NetworkParams, ReadoutParams, SpikeTrains,
};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Samples per work unit. Fixed, so the order in which per-sample gradients
/// are summed does not depend on the number of threads.
const CHUNK: usize = 8;

/// Loss, accuracy and (from [`BatchRunner::loss_and_grad`]) gradient summed
/// over a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    /// Number of samples.
    pub n: usize,
    /// Sum of the per-sample losses.
    pub loss_sum: f64,
    /// Samples whose prediction (first output spike) equals the label.
    pub correct: usize,
    /// Sum of the per-sample gradients (`None` from [`BatchRunner::loss`]).
    pub grad: Option<NetworkParams>,
    /// First output spike times of every sample (`∞` when silent).
    pub first_spikes: Vec<Vec<f64>>,
    /// For every layer and neuron, the number of samples on which the
    /// neuron spiked before the sample's *loss horizon*: the last output
    /// neuron's first spike, or no horizon when an output neuron stays
    /// silent. A later spike reaches no output neuron's first spike, so a
    /// neuron whose count is 0 took no part in the batch's loss and
    /// received no gradient through its spikes (a *silent* neuron,
    /// [`Classification::with_silent_hidden_push`](crate::Classification::with_silent_hidden_push)).
    pub spiking_samples: Vec<Vec<usize>>,
}

impl BatchResult {
    /// Mean loss.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.n.max(1) as f64
    }
    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }
}

/// Loss, accuracy and (from [`BatchRunner::readout_loss_and_grad`])
/// gradient of a [`LiReadout`]'s cross-entropy, summed over a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadoutBatch {
    /// Number of samples.
    pub n: usize,
    /// Sum of the per-sample losses.
    pub loss_sum: f64,
    /// Samples whose label's score is the largest, unshared
    /// ([`predict_scores`](crate::predict_scores)).
    pub correct: usize,
    /// Sum of the per-sample gradients (`None` from
    /// [`BatchRunner::readout_loss`]).
    pub grad: Option<ReadoutParams>,
    /// Every sample's scores (each readout neuron's largest or mean voltage).
    pub scores: Vec<Vec<f64>>,
}

impl ReadoutBatch {
    /// Mean loss.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.n.max(1) as f64
    }
    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }
}

/// One chunk's loss sum, correct count, gradient sum, first spikes and
/// per-neuron counts of spiking samples (all layers, one flat list).
type Partial = (f64, usize, Option<NetworkParams>, Vec<Vec<f64>>, Vec<usize>);

/// Adds 1 to the count of every neuron of `trace` that spiked before the
/// sample's loss horizon (the latest of the first output spikes `first`;
/// none when an output neuron is silent). `counts` lists every layer's
/// neurons in order.
fn count_spiking<S>(trace: &ForwardTrace<S>, first: &[f64], counts: &mut [usize]) {
    let horizon = first.iter().fold(f64::NEG_INFINITY, |a, &t| a.max(t));
    let neurons = trace
        .layers
        .iter()
        .flat_map(|l| (0..l.outputs.n_channels()).map(|j| l.outputs.channel(j)));
    for (c, spikes) in counts.iter_mut().zip(neurons) {
        if spikes.first().is_some_and(|&t| t < horizon) {
            *c += 1;
        }
    }
}

/// Workspaces and traces that the parallel batch passes
/// ([`BatchRunner::loss`], [`BatchRunner::predict`]) keep between calls. Rayon hands every split of a batch to `map_init`, which
/// would otherwise build a fresh workspace (and grow its buffers again on
/// its first sample) for each: counted on two threads, 846 in 50 calls of
/// batches of 256 and 1000 samples, one per two to three 8-sample chunks.
/// A workspace's earlier use does not change its results (see
/// `reused_workspace_gives_a_fresh_workspaces_results`) and each chunk
/// restarts the loss pass's choices, so results stay bit-identical.
struct ScratchPool<N: NeuronModel, B: Backend<N>>(Mutex<Vec<Scratch<N, B>>>);

/// One worker's scratch: a workspace and a forward trace.
type Scratch<N, B> = (Workspace<N, B>, ForwardTrace<<N as NeuronModel>::State>);

impl<N: NeuronModel, B: Backend<N>> Default for ScratchPool<N, B> {
    fn default() -> Self {
        ScratchPool(Mutex::new(Vec::new()))
    }
}

impl<N: NeuronModel, B: Backend<N>> Clone for ScratchPool<N, B> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<N: NeuronModel, B: Backend<N>> std::fmt::Debug for ScratchPool<N, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchPool")
            .field("kept", &self.lock().len())
            .finish()
    }
}

impl<N: NeuronModel, B: Backend<N>> ScratchPool<N, B> {
    /// The pool's list; a worker that panicked while holding the lock left
    /// it intact (only whole entries are pushed and popped).
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Scratch<N, B>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Scratch taken from a [`ScratchPool`], put back when dropped.
struct Pooled<'a, N: NeuronModel, B: Backend<N>> {
    scratch: Option<Scratch<N, B>>,
    pool: &'a ScratchPool<N, B>,
}

impl<N: NeuronModel, B: Backend<N>> Pooled<'_, N, B> {
    fn get(&mut self) -> &mut Scratch<N, B> {
        self.scratch
            .as_mut()
            .expect("scratch is present until the guard is dropped")
    }
}

impl<N: NeuronModel, B: Backend<N>> Drop for Pooled<'_, N, B> {
    fn drop(&mut self) {
        if let Some(scratch) = self.scratch.take() {
            self.pool.lock().push(scratch);
        }
    }
}

/// A network with the scratch space of its parallel batch passes: loss,
/// accuracy and summed gradient of a batch, and predictions, on the current
/// rayon pool, bit-identical for any number of threads (samples run in
/// fixed chunks of eight, reduced in order).
///
/// The network stays a plain description ([`FeedForward`], cheap to clone);
/// the runner keeps each worker's workspace between calls, so that a
/// backend's steppers are built once, not once per call. A clone of a runner
/// starts with empty scratch.
///
/// # Examples
///
/// ```
/// use evnn_net::{BatchRunner, FeedForward, InitConfig, SpikeTrains, TtfsLoss};
/// use evnn_neurons::Lif;
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let net = FeedForward::new(Lif::default(), &[2, 6, 3], ClosedForm, SolverOptions::default(), 30.0)?;
/// let params = net.init_params(&InitConfig { wmean: 3.0, wlim: 3.0, ..InitConfig::default() }, 1)?;
/// let runner = BatchRunner::new(net);
/// let inputs = vec![SpikeTrains::from_times(&[1.0, 2.0])?, SpikeTrains::from_times(&[2.0, 1.0])?];
/// let r = runner.loss_and_grad(&params, &inputs, &[0, 1], &TtfsLoss::default())?;
/// assert_eq!(r.grad.unwrap().len(), params.len());
/// let loss_only = runner.loss(&params, &inputs, &[0, 1], &TtfsLoss::default())?;
/// assert_eq!(loss_only.loss_sum.to_bits(), r.loss_sum.to_bits());
/// assert_eq!(runner.predict(&params, &inputs)?.len(), 2);
/// # Ok::<(), evnn_net::NetError>(())
/// ```
pub struct BatchRunner<N: NeuronModel, B: Backend<N>> {
    net: FeedForward<N, B>,
    scratch: ScratchPool<N, B>,
}

impl<N: NeuronModel, B: Backend<N> + Clone> Clone for BatchRunner<N, B> {
    fn clone(&self) -> Self {
        BatchRunner {
            net: self.net.clone(),
            scratch: ScratchPool::default(),
        }
    }
}

impl<N: NeuronModel, B: Backend<N>> std::fmt::Debug for BatchRunner<N, B>
where
    FeedForward<N, B>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRunner")
            .field("net", &self.net)
            .field("scratch", &self.scratch)
            .finish()
    }
}

impl<N, B> BatchRunner<N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    /// A runner of `net`'s batch passes, with no scratch yet.
    pub fn new(net: FeedForward<N, B>) -> Self {
        BatchRunner {
            net,
            scratch: ScratchPool::default(),
        }
    }

    /// The network.
    pub fn net(&self) -> &FeedForward<N, B> {
        &self.net
    }

    /// Scratch for one split of a parallel batch pass: kept from an earlier
    /// one, or new.
    fn pooled_scratch(&self) -> Pooled<'_, N, B> {
        let kept = self.scratch.lock().pop();
        Pooled {
            scratch: Some(kept.unwrap_or_else(|| (self.net.workspace(), ForwardTrace::default()))),
            pool: &self.scratch,
        }
    }

    /// The predicted class of every sample of a batch
    /// ([`FeedForward::predict_sample`]), in parallel; the predictions do not
    /// depend on the number of threads.
    pub fn predict(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
    ) -> Result<Vec<Option<usize>>, NetError> {
        self.net.check_params(params)?;
        check_inputs(&self.net, inputs)?;
        let (stack, pass) = (self.net.stack(), self.net.loss_pass());
        let chunks: Vec<Vec<Option<usize>>> = inputs
            .par_chunks(CHUNK)
            .enumerate()
            .map_init(
                || self.pooled_scratch(),
                |pooled, (chunk, xs)| {
                    let (ws, trace) = pooled.get();
                    xs.iter()
                        .enumerate()
                        .map(|(i, x)| {
                            predict(stack, pass, params, x, ws, trace).map_err(|e| {
                                NetError::Sample {
                                    sample: chunk * CHUNK + i,
                                    source: Box::new(e),
                                }
                            })
                        })
                        .collect()
                },
            )
            .collect::<Result<_, NetError>>()?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// The share of samples whose prediction is their label.
    pub fn accuracy(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
        labels: &[usize],
    ) -> Result<f64, NetError> {
        check_labels(inputs, labels)?;
        let predicted = self.predict(params, inputs)?;
        let correct = predicted
            .iter()
            .zip(labels)
            .filter(|(p, &y)| **p == Some(y))
            .count();
        Ok(correct as f64 / labels.len().max(1) as f64)
    }

    /// Loss and accuracy summed over a batch
    /// ([`FeedForward::sample_loss`] per sample), in parallel: one target
    /// per input (class labels for [`TtfsLoss`], target times for
    /// [`SpikeTimeMse`](crate::SpikeTimeMse)).
    pub fn loss<L: FirstSpikeLoss + ?Sized>(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
        targets: &[L::Target],
        loss: &L,
    ) -> Result<BatchResult, NetError> {
        self.run(params, inputs, targets, loss, false)
    }

    /// Loss, accuracy and the **summed** gradient over a batch, in parallel.
    pub fn loss_and_grad<L: FirstSpikeLoss + ?Sized>(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
        targets: &[L::Target],
        loss: &L,
    ) -> Result<BatchResult, NetError> {
        self.run(params, inputs, targets, loss, true)
    }

    /// The batch pass: checks everything once, then runs the samples in
    /// chunks of [`CHUNK`], reduced in order.
    fn run<L: FirstSpikeLoss + ?Sized>(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
        labels: &[L::Target],
        loss: &L,
        with_grad: bool,
    ) -> Result<BatchResult, NetError> {
        check_labels(inputs, labels)?;
        self.net.check_params(params)?;
        check_inputs(&self.net, inputs)?;
        loss.validate()?;
        let (stack, pass) = (self.net.stack(), self.net.loss_pass());
        let partials: Vec<Partial> = inputs
            .par_chunks(CHUNK)
            .zip(labels.par_chunks(CHUNK))
            .enumerate()
            .map_init(
                || self.pooled_scratch(),
                |pooled, (chunk, (xs, ys))| {
                    let (ws, trace) = pooled.get();
                    // The loss pass's choices depend on this chunk alone.
                    ws.od.choice.restart();
                    let mut g = with_grad.then(|| params.zeros_like());
                    let mut loss_sum = 0.0;
                    let mut correct = 0;
                    let mut firsts = Vec::with_capacity(xs.len());
                    let mut spiking = vec![0; stack.sizes[1..].iter().sum()];
                    for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                        let r = sample_loss(stack, pass, params, x, y, loss, ws, trace, g.as_mut())
                            .map_err(|e| NetError::Sample {
                                sample: chunk * CHUNK + i,
                                source: Box::new(e),
                            })?;
                        loss_sum += r.loss;
                        correct += usize::from(r.correct);
                        count_spiking(trace, &r.first_spikes, &mut spiking);
                        firsts.push(r.first_spikes);
                    }
                    Ok((loss_sum, correct, g, firsts, spiking))
                },
            )
            .collect::<Result<_, NetError>>()?;
        let mut result = BatchResult {
            n: inputs.len(),
            loss_sum: 0.0,
            correct: 0,
            grad: with_grad.then(|| params.zeros_like()),
            first_spikes: Vec::with_capacity(inputs.len()),
            spiking_samples: stack.sizes[1..].iter().map(|&n| vec![0; n]).collect(),
        };
        for (l, c, g, f, s) in partials {
            let totals = result.spiking_samples.iter_mut().flatten();
            for (total, s) in totals.zip(s) {
                *total += s;
            }
            result.loss_sum += l;
            result.correct += c;
            if let (Some(total), Some(g)) = (result.grad.as_mut(), g) {
                total.add_assign(&g)?;
            }
            result.first_spikes.extend(f);
        }
        Ok(result)
    }
}

impl<N, B> BatchRunner<N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    /// The cross-entropy of a [`LiReadout`]'s scores and the accuracy,
    /// summed over a batch ([`FeedForward::readout_loss`] per sample), in
    /// parallel and bit-identical for any thread count.
    pub fn readout_loss(
        &self,
        params: &ReadoutParams,
        readout: &LiReadout,
        inputs: &[SpikeTrains],
        labels: &[usize],
    ) -> Result<ReadoutBatch, NetError> {
        self.readout_run(params, readout, inputs, labels, false)
    }

    /// [`readout_loss`](Self::readout_loss) with the **summed** gradient.
    pub fn readout_loss_and_grad(
        &self,
        params: &ReadoutParams,
        readout: &LiReadout,
        inputs: &[SpikeTrains],
        labels: &[usize],
    ) -> Result<ReadoutBatch, NetError> {
        self.readout_run(params, readout, inputs, labels, true)
    }

    /// The readout's batch pass: checks everything once, then runs the
    /// samples in chunks of [`CHUNK`], reduced in order.
    fn readout_run(
        &self,
        params: &ReadoutParams,
        readout: &LiReadout,
        inputs: &[SpikeTrains],
        labels: &[usize],
        with_grad: bool,
    ) -> Result<ReadoutBatch, NetError> {
        check_labels(inputs, labels)?;
        self.net.check_readout_params(params)?;
        check_inputs(&self.net, inputs)?;
        readout.validate()?;
        if let Some((sample, &label)) = labels.iter().enumerate().find(|(_, &y)| y >= params.n_out)
        {
            return Err(NetError::Sample {
                sample,
                source: Box::new(NetError::InvalidLabel {
                    label,
                    n_classes: params.n_out,
                }),
            });
        }
        let (stack, pass) = (self.net.stack(), self.net.loss_pass());
        type ReadoutPartial = (f64, usize, Option<ReadoutParams>, Vec<Vec<f64>>);
        let partials: Vec<ReadoutPartial> = inputs
            .par_chunks(CHUNK)
            .zip(labels.par_chunks(CHUNK))
            .enumerate()
            .map_init(
                || self.pooled_scratch(),
                |pooled, (chunk, (xs, ys))| {
                    let (ws, trace) = pooled.get();
                    let mut g = with_grad.then(|| params.zeros_like());
                    let (mut loss_sum, mut correct) = (0.0, 0);
                    let mut scores = Vec::with_capacity(xs.len());
                    for (i, (x, &y)) in xs.iter().zip(ys).enumerate() {
                        let r =
                            readout_loss(stack, pass, params, readout, x, y, ws, trace, g.as_mut())
                                .map_err(|e| NetError::Sample {
                                    sample: chunk * CHUNK + i,
                                    source: Box::new(e),
                                })?;
                        loss_sum += r.loss;
                        correct += usize::from(r.prediction == Some(y));
                        scores.push(r.scores);
                    }
                    Ok((loss_sum, correct, g, scores))
                },
            )
            .collect::<Result<_, NetError>>()?;
        let mut result = ReadoutBatch {
            n: inputs.len(),
            loss_sum: 0.0,
            correct: 0,
            grad: with_grad.then(|| params.zeros_like()),
            scores: Vec::with_capacity(inputs.len()),
        };
        for (l, c, g, s) in partials {
            result.loss_sum += l;
            result.correct += c;
            if let (Some(total), Some(g)) = (result.grad.as_mut(), g) {
                total.add_assign(&g)?;
            }
            result.scores.extend(s);
        }
        Ok(result)
    }
}

/// Checks that there is one label (target) per input.
fn check_labels<T>(inputs: &[SpikeTrains], labels: &[T]) -> Result<(), NetError> {
    if inputs.len() != labels.len() {
        return Err(NetError::Shape {
            what: "labels (one per input sample)",
            expected: inputs.len(),
            got: labels.len(),
        });
    }
    Ok(())
}

/// Checks every input's channel count, naming the first bad sample.
fn check_inputs<N, B>(net: &FeedForward<N, B>, inputs: &[SpikeTrains]) -> Result<(), NetError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    for (sample, x) in inputs.iter().enumerate() {
        net.check_input(x).map_err(|e| NetError::Sample {
            sample,
            source: Box::new(e),
        })?;
    }
    Ok(())
}
