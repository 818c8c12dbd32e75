//! Per-sample and batched loss, accuracy and gradient, parallel with rayon
//! and bit-identical for any number of threads.

use crate::network::Pass;
#[cfg(doc)]
use crate::LossPass;
use crate::{
    predict, FeedForward, ForwardTrace, NetError, NetworkParams, SpikeTrains, TtfsLoss, Workspace,
};
use evnn_neurons::NeuronModel;
#[cfg(doc)]
use evnn_solver::SolverOptions;
use evnn_solver::{Adjoint, Backend};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// Samples per work unit. Fixed, so the order in which per-sample gradients
/// are summed does not depend on the number of threads.
pub const CHUNK: usize = 8;

/// Loss, accuracy and (optionally) gradient summed over a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    /// Number of samples.
    pub n: usize,
    /// Sum of the per-sample losses.
    pub loss_sum: f64,
    /// Samples whose prediction (first output spike) equals the label.
    pub correct: usize,
    /// Sum of the per-sample gradients (zero-sized when not requested).
    pub grad: Option<NetworkParams>,
    /// First output spike times of every sample (`∞` when silent).
    pub first_spikes: Vec<Vec<f64>>,
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

/// One chunk's loss sum, correct count, gradient sum and first spikes.
type Partial = (f64, usize, Option<NetworkParams>, Vec<Vec<f64>>);

/// One sample's loss and gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleResult {
    /// Loss value.
    pub loss: f64,
    /// Predicted class (`None`: all output neurons silent).
    pub prediction: Option<usize>,
    /// First output spike times.
    pub first_spikes: Vec<f64>,
}

/// Workspaces and traces that the parallel batch passes
/// ([`FeedForward::batch_loss`], [`FeedForward::batch_predict`]) keep
/// between calls. Rayon hands every split of a batch to `map_init`, which
/// would otherwise build a fresh workspace (and grow its buffers again on
/// its first sample) for each: counted on two threads, 846 in 50 calls of
/// batches of 256 and 1000 samples, one per two to three 8-sample chunks.
/// A workspace's earlier use does not change its results (see
/// `reused_workspace_gives_a_fresh_workspaces_results`) and each chunk
/// restarts the loss pass's choices, so results stay bit-identical. A clone of the network starts with an empty pool (its
/// backend may be set up differently).
pub(crate) struct ScratchPool<N: NeuronModel, B: Backend<N>>(Mutex<Vec<Scratch<N, B>>>);

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

impl<N, B> FeedForward<N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    /// Scratch for one split of a parallel batch pass: kept from an earlier
    /// one, or new.
    fn pooled_scratch(&self) -> Pooled<'_, N, B> {
        let kept = self.scratch.lock().pop();
        Pooled {
            scratch: Some(kept.unwrap_or_else(|| (self.workspace(), ForwardTrace::default()))),
            pool: &self.scratch,
        }
    }

    /// Forward pass, TTFS loss on the first output spikes, and (when `grad`
    /// is given) the backward pass adding `dL/dθ` to `grad`.
    ///
    /// Since the loss reads only the first output spikes, each output
    /// neuron is simulated up to its first spike
    /// ([`SolverOptions::stop_after_spikes`]), and every neuron's run ends
    /// once the neuron provably stays silent
    /// ([`SolverOptions::stop_when_silent`]); the layers before the output
    /// layer are simulated only as far as the output neurons need them where
    /// that saves work ([`LossPass`], set by [`FeedForward::with_loss_pass`]).
    /// `trace` then holds at most one spike per output neuron, and its runs
    /// may end before `t_end`. Loss and gradient are exactly those of the
    /// full run, bit for bit.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_loss(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        label: usize,
        loss: &TtfsLoss,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
        grad: Option<&mut NetworkParams>,
    ) -> Result<SampleResult, NetError> {
        self.check_params(params)?;
        self.sample_loss_checked(params, input, label, loss, ws, trace, grad)
    }

    /// [`sample_loss`](Self::sample_loss) for parameters already checked
    /// (as [`batch_loss`](Self::batch_loss) does once per batch).
    #[allow(clippy::too_many_arguments)]
    fn sample_loss_checked(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        label: usize,
        loss: &TtfsLoss,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
        grad: Option<&mut NetworkParams>,
    ) -> Result<SampleResult, NetError> {
        if label >= self.n_outputs() {
            return Err(NetError::InvalidLabel {
                label,
                n_classes: self.n_outputs(),
            });
        }
        // The loss reads only first output spikes: each output neuron's run
        // ends at its first spike, which leaves loss and gradient exact.
        self.forward_checked(params, input, ws, trace, Pass::FirstSpikes)?;
        let first = trace.first_spikes();
        // The workspace's buffers: no allocation per sample beyond `first`.
        let mut dl_first = std::mem::take(&mut ws.dl_first);
        dl_first.clear();
        dl_first.resize(first.len(), 0.0);
        let value = loss.evaluate(&first, label, &mut dl_first);
        let result = match (&value, grad) {
            (Ok(_), Some(grad)) => self.sample_backward(params, input, trace, &dl_first, ws, grad),
            _ => Ok(()),
        };
        ws.dl_first = dl_first;
        let value = value?;
        result?;
        Ok(SampleResult {
            loss: value,
            prediction: predict(&first),
            first_spikes: first,
        })
    }

    /// The backward pass of a loss on the first output spikes.
    fn sample_backward(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        trace: &ForwardTrace<N::State>,
        dl_first: &[f64],
        ws: &mut Workspace<N, B>,
        grad: &mut NetworkParams,
    ) -> Result<(), NetError> {
        let out = trace.output().ok_or(NetError::Shape {
            what: "layers",
            expected: 1,
            got: 0,
        })?;
        let mut dl_dt = std::mem::take(&mut ws.dl_dt);
        let mut dl_dinput = std::mem::take(&mut ws.dl_dinput);
        dl_dt.clear();
        dl_dt.resize(out.n_spikes(), 0.0);
        for (j, &d) in dl_first.iter().enumerate() {
            if !out.channel(j).is_empty() {
                dl_dt[out.offset(j)] = d;
            }
        }
        // Parameters checked by the caller, the trace just made of `input`.
        let result =
            self.backward_checked(params, input, trace, &dl_dt, None, ws, grad, &mut dl_dinput);
        ws.dl_dt = dl_dt;
        ws.dl_dinput = dl_dinput;
        result
    }

    /// The predicted class of one sample ([`predict`](crate::predict) of
    /// its first output spikes: the output neuron that spikes first, lowest
    /// index on a tie; `None` when all are silent), exactly that of
    /// [`sample_loss`](Self::sample_loss), with less work.
    ///
    /// On demand (every [`LossPass`] but
    /// [`LayerByLayer`](LossPass::LayerByLayer), where the backend hands out
    /// steppers) the simulation ends once the first output spike is found
    /// and every other output neuron has reached its time: their steps are
    /// those of the loss pass up to there, so none of them can spike first.
    /// In a trained classifier whose wrong-class neurons stay silent, the
    /// loss pass must follow them (and the layers before) until they
    /// provably stay silent; here the run ends at the right neuron's spike.
    /// `trace` holds the runs up to there.
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_net::{FeedForward, ForwardTrace, InitConfig, NetworkParams, SpikeTrains, TtfsLoss};
    /// use evnn_neurons::Lif;
    /// use evnn_solver::{ClosedForm, SolverOptions};
    ///
    /// let sizes = [2, 6, 3];
    /// let net = FeedForward::new(Lif::default(), &sizes, ClosedForm, SolverOptions::default(), 30.0)?;
    /// let init = InitConfig { wmean: 3.0, wlim: 3.0, ..InitConfig::default() };
    /// let params = NetworkParams::init::<Lif>(&sizes, &init, 1)?;
    /// let x = SpikeTrains::from_times(&[1.0, 2.0])?;
    /// let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    /// let class = net.predict_sample(&params, &x, &mut ws, &mut trace)?;
    /// let r = net.sample_loss(&params, &x, 0, &TtfsLoss::default(), &mut ws, &mut trace, None)?;
    /// assert_eq!(class, r.prediction);
    /// # Ok::<(), evnn_net::NetError>(())
    /// ```
    pub fn predict_sample(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
    ) -> Result<Option<usize>, NetError> {
        self.check_params(params)?;
        self.predict_checked(params, input, ws, trace)
    }

    fn predict_checked(
        &self,
        params: &NetworkParams,
        input: &SpikeTrains,
        ws: &mut Workspace<N, B>,
        trace: &mut ForwardTrace<N::State>,
    ) -> Result<Option<usize>, NetError> {
        self.forward_checked(params, input, ws, trace, Pass::Prediction)?;
        // The workspace's buffer: no allocation per sample.
        let mut first = std::mem::take(&mut ws.dl_first);
        first.clear();
        if let Some(out) = trace.output() {
            first.extend(
                (0..out.n_channels())
                    .map(|j| out.channel(j).first().copied().unwrap_or(f64::INFINITY)),
            );
        }
        let class = predict(&first);
        ws.dl_first = first;
        Ok(class)
    }

    /// [`predict_sample`](Self::predict_sample) for every sample of a batch,
    /// in parallel on the current rayon pool (the predictions do not depend
    /// on the number of threads).
    pub fn batch_predict(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
    ) -> Result<Vec<Option<usize>>, NetError> {
        self.check_params(params)?;
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
                            self.predict_checked(params, x, ws, trace).map_err(|e| {
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

    /// Loss, accuracy and optionally the summed gradient over a batch, in
    /// parallel on the current rayon pool. Samples are processed in chunks of
    /// [`CHUNK`] and reduced in order, so results are bit-identical for any
    /// number of threads.
    pub fn batch_loss(
        &self,
        params: &NetworkParams,
        inputs: &[SpikeTrains],
        labels: &[usize],
        loss: &TtfsLoss,
        with_grad: bool,
    ) -> Result<BatchResult, NetError> {
        if inputs.len() != labels.len() {
            return Err(NetError::Shape {
                what: "labels (one per input sample)",
                expected: inputs.len(),
                got: labels.len(),
            });
        }
        self.check_params(params)?;
        loss.validate()?;
        let partials: Vec<Partial> = inputs
            .par_chunks(CHUNK)
            .zip(labels.par_chunks(CHUNK))
            .enumerate()
            .map_init(
                || self.pooled_scratch(),
                |pooled, (chunk, (xs, ys))| {
                    let (ws, trace) = pooled.get();
                    // The loss pass's choices depend on this chunk alone.
                    ws.on_demand.restart();
                    let mut g = with_grad.then(|| params.zeros_like());
                    let mut loss_sum = 0.0;
                    let mut correct = 0;
                    let mut firsts = Vec::with_capacity(xs.len());
                    for (i, (x, &y)) in xs.iter().zip(ys).enumerate() {
                        let r = self
                            .sample_loss_checked(params, x, y, loss, ws, trace, g.as_mut())
                            .map_err(|e| NetError::Sample {
                                sample: chunk * CHUNK + i,
                                source: Box::new(e),
                            })?;
                        loss_sum += r.loss;
                        correct += usize::from(r.prediction == Some(y));
                        firsts.push(r.first_spikes);
                    }
                    Ok((loss_sum, correct, g, firsts))
                },
            )
            .collect::<Result<_, NetError>>()?;
        let mut result = BatchResult {
            n: inputs.len(),
            loss_sum: 0.0,
            correct: 0,
            grad: with_grad.then(|| params.zeros_like()),
            first_spikes: Vec::with_capacity(inputs.len()),
        };
        for (l, c, g, f) in partials {
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
