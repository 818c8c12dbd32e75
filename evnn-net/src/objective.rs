//! A network's classification loss as a trainer's objective
//! ([`evnn_optim::Objective`]): [`evnn_optim::Trainer`] trains any
//! [`FeedForward`](crate::FeedForward) network through it.

use crate::{
    BatchRunner, FirstSpikeLoss, LiReadout, NetError, NetworkParams, ReadoutParams, SpikeTimeMse,
    SpikeTrains, TtfsLoss,
};
use evnn_neurons::NeuronModel;
use evnn_optim::{BatchStats, Objective, Parameters};
use evnn_solver::{Adjoint, Backend};

/// Classification of labelled spike inputs by the first output spike: the
/// mean time-to-first-spike loss of a batch with its exact gradient, the
/// share of correct predictions as the training score, and the accuracy on
/// a validation set (when given) as the validation score.
///
/// Everything is checked once, here: labels against the outputs, inputs
/// against the network's input channels, the loss constants.
///
/// # Examples
///
/// Training with validation (the kept model is the best on it):
///
/// ```
/// use evnn_net::{BatchRunner, Classification, FeedForward, InitConfig, SpikeTrains, TtfsLoss};
/// use evnn_neurons::Lif;
/// use evnn_optim::{AdamConfig, Objective, Trainer};
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let net = FeedForward::new(Lif::default(), &[2, 8, 2], ClosedForm, SolverOptions::default(), 30.0)?;
/// let params = net.init_params(&InitConfig { wmean: 3.0, wlim: 6.0, ..InitConfig::default() }, 0)?;
/// // Class 0: channel 0 first; class 1: channel 1 first.
/// let x: Vec<SpikeTrains> = (0..40)
///     .map(|k| {
///         let (early, late) = (1.0 + (k % 5) as f64, 12.0 + (k % 7) as f64);
///         let t = if k % 2 == 0 { [early, late] } else { [late, early] };
///         SpikeTrains::from_times(&t)
///     })
///     .collect::<Result<_, _>>()?;
/// let y: Vec<usize> = (0..40).map(|k| k % 2).collect();
/// let runner = BatchRunner::new(net);
/// let mut task = Classification::new(&runner, &x[..30], &y[..30], TtfsLoss::default())?
///     .with_validation(&x[30..], &y[30..])?;
/// assert_eq!(task.len(), 30);
/// let adam = AdamConfig::default().with_learning_rate(0.05).build(params.len())?;
/// let state = Trainer::new(10, 10, 0)?.fit(&mut task, params, adam, &mut ())?;
/// assert_eq!(state.best_score, Some(runner.accuracy(&state.best_params, &x[30..], &y[30..])?));
/// // A label that is no output neuron is refused up front.
/// assert!(Classification::new(&runner, &x[..1], &[2], TtfsLoss::default()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Classification<'a, N: NeuronModel, B: Backend<N>> {
    runner: &'a BatchRunner<N, B>,
    inputs: &'a [SpikeTrains],
    labels: &'a [usize],
    validation: Option<(&'a [SpikeTrains], &'a [usize])>,
    loss: TtfsLoss,
    silent_label_push: f64,
    silent_hidden_push: f64,
    batch_inputs: Vec<SpikeTrains>,
    batch_labels: Vec<usize>,
}

impl<'a, N, B> Classification<'a, N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    /// The task of classifying `inputs` as `labels` with `runner`'s network
    /// under `loss`.
    ///
    /// # Errors
    ///
    /// A label count that differs from the input count, a label that is not
    /// an output neuron, an input with the wrong number of channels (named
    /// by sample) or invalid loss constants.
    pub fn new(
        runner: &'a BatchRunner<N, B>,
        inputs: &'a [SpikeTrains],
        labels: &'a [usize],
        loss: TtfsLoss,
    ) -> Result<Self, NetError> {
        loss.validate()?;
        check_split(runner, inputs, labels, |y, n| loss.check_target(y, n))?;
        Ok(Classification {
            runner,
            inputs,
            labels,
            validation: None,
            loss,
            silent_label_push: 0.0,
            silent_hidden_push: 0.0,
            batch_inputs: Vec::new(),
            batch_labels: Vec::new(),
        })
    }

    /// This task with a validation set, whose accuracy picks the model a
    /// training run keeps.
    pub fn with_validation(
        mut self,
        inputs: &'a [SpikeTrains],
        labels: &'a [usize],
    ) -> Result<Self, NetError> {
        check_split(self.runner, inputs, labels, |y, n| {
            self.loss.check_target(y, n)
        })?;
        self.validation = Some((inputs, labels));
        Ok(self)
    }

    /// This task with the silent-label term of weight `gamma`: for every
    /// sample whose label's output neuron does not spike, the loss gains
    /// `γ·(θ − b_l)`, a push on that neuron's bias `b_l` (its first neuron
    /// parameter) towards firing, where the spike-time loss has no
    /// gradient. The term enters the gradient only (the reported loss is
    /// the spike-time loss). 0, the default, leaves it out.
    pub fn with_silent_label_push(mut self, gamma: f64) -> Result<Self, NetError> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(NetError::InvalidConfig {
                name: "silent_label_push",
                value: gamma,
                reason: "must be finite and >= 0",
            });
        }
        self.silent_label_push = gamma;
        Ok(self)
    }

    /// This task with the silent-hidden-neuron term of weight `gamma`:
    /// every neuron of a hidden layer that is silent on every sample of a
    /// batch (no spike before any sample's loss horizon, see
    /// [`BatchResult::spiking_samples`](crate::BatchResult::spiking_samples))
    /// adds `γ·(θ − b)` per sample to the loss, a push on its bias `b` (its
    /// first neuron parameter) towards firing. Such a neuron has no other
    /// gradient: the spike-time loss sees a neuron only through its spikes,
    /// so once training has silenced it, it stays silent and the layer
    /// loses its share of the network for good. The term acts only on
    /// those neurons, and only while they are silent; the reported loss is
    /// the spike-time loss. 0, the default, leaves it out.
    ///
    /// # Errors
    ///
    /// `gamma` negative or not finite.
    pub fn with_silent_hidden_push(mut self, gamma: f64) -> Result<Self, NetError> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(NetError::InvalidConfig {
                name: "silent_hidden_push",
                value: gamma,
                reason: "must be finite and >= 0",
            });
        }
        self.silent_hidden_push = gamma;
        Ok(self)
    }
}

impl<N: NeuronModel, B: Backend<N>> std::fmt::Debug for Classification<'_, N, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classification")
            .field("samples", &self.inputs.len())
            .field("validation", &self.validation.map(|(x, _)| x.len()))
            .field("loss", &self.loss)
            .field("silent_label_push", &self.silent_label_push)
            .field("silent_hidden_push", &self.silent_hidden_push)
            .finish_non_exhaustive()
    }
}

/// Checks a split against the runner's network: one target per input,
/// each target as `check_target` requires (given the output count), each
/// input with the network's channels.
fn check_split<N, B, T>(
    runner: &BatchRunner<N, B>,
    inputs: &[SpikeTrains],
    targets: &[T],
    check_target: impl Fn(&T, usize) -> Result<(), NetError>,
) -> Result<(), NetError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    if inputs.len() != targets.len() {
        return Err(NetError::Shape {
            what: "labels (one per input sample)",
            expected: inputs.len(),
            got: targets.len(),
        });
    }
    let net = runner.net();
    for (sample, (x, target)) in inputs.iter().zip(targets).enumerate() {
        let e = if let Err(e) = check_target(target, net.n_outputs()) {
            e
        } else if x.n_channels() != net.n_inputs() {
            NetError::Shape {
                what: "input channels",
                expected: net.n_inputs(),
                got: x.n_channels(),
            }
        } else {
            continue;
        };
        return Err(NetError::Sample {
            sample,
            source: Box::new(e),
        });
    }
    Ok(())
}

impl<N, B> Objective for Classification<'_, N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    type Params = NetworkParams;
    type Error = NetError;

    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn loss_and_grad(
        &mut self,
        params: &NetworkParams,
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<BatchStats, NetError> {
        gather(
            batch,
            (self.inputs, self.labels),
            (&mut self.batch_inputs, &mut self.batch_labels),
        )?;
        let r = self.runner.loss_and_grad(
            params,
            &self.batch_inputs,
            &self.batch_labels,
            &self.loss,
        )?;
        let mut sum = r.grad.ok_or(NetError::Shape {
            what: "batch gradient",
            expected: 1,
            got: 0,
        })?;
        if self.silent_label_push > 0.0 {
            add_silent_push(
                &mut sum,
                &r.first_spikes,
                &self.batch_labels,
                self.silent_label_push,
            );
        }
        if self.silent_hidden_push > 0.0 {
            add_silent_hidden_push(
                &mut sum,
                &r.spiking_samples,
                batch.len(),
                self.silent_hidden_push,
            );
        }
        mean_gradient(Some(sum), r.n, grad)?;
        Ok(BatchStats {
            n: r.n,
            loss_sum: r.loss_sum,
            score_sum: r.correct as f64,
        })
    }

    fn validate(&mut self, params: &NetworkParams) -> Result<Option<f64>, NetError> {
        match self.validation {
            Some((inputs, labels)) => self.runner.accuracy(params, inputs, labels).map(Some),
            None => Ok(None),
        }
    }
}

/// Regression of target spike times: the mean [`SpikeTimeMse`] of a batch
/// with its exact gradient, the share of samples within the loss's
/// tolerance as the training score, and minus the mean loss on a
/// validation set (when given) as the validation score, so that the kept
/// model is the one with the least validation loss.
///
/// # Examples
///
/// A network taught to fire at a time set by its input:
///
/// ```
/// use evnn_net::{BatchRunner, FeedForward, InitConfig, Regression, SpikeTimeMse, SpikeTrains};
/// use evnn_neurons::Qif;
/// use evnn_optim::{AdamConfig, Objective, Trainer};
/// use evnn_solver::{QifSeries, SolverOptions};
///
/// let net = FeedForward::new(Qif::default(), &[2, 6, 1], QifSeries, SolverOptions::default(), 40.0)?;
/// let params = net.init_params(&InitConfig { wmean: 10.0, wlim: 10.0, ..InitConfig::default() }, 0)?;
/// // Input: a reference spike at 0 and one at x; target: the first spike at x + 12.
/// let xs: Vec<f64> = (0..24).map(|k| 2.0 + 0.5 * k as f64).collect();
/// let inputs: Vec<SpikeTrains> =
///     xs.iter().map(|&x| SpikeTrains::from_times(&[0.0, x])).collect::<Result<_, _>>()?;
/// let targets: Vec<Vec<f64>> = xs.iter().map(|&x| vec![x + 12.0]).collect();
/// let runner = BatchRunner::new(net);
/// let mse = SpikeTimeMse::new(40.0, 0.5)?;
/// let mut task = Regression::new(&runner, &inputs, &targets, mse)?;
/// let before = runner.loss(&params, &inputs, &targets, &mse)?.mean_loss();
/// let adam = AdamConfig::default().with_learning_rate(0.01).build(params.len())?;
/// let state = Trainer::new(60, 8, 0)?.fit(&mut task, params, adam, &mut ())?;
/// let after = runner.loss(&state.params, &inputs, &targets, &mse)?.mean_loss();
/// assert!(after < 0.25 * before, "{before} -> {after}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A silent output neuron has no spike to move, so its error has no
/// gradient: a target asking a neuron to fire later than its spike can
/// silence it for good (a LIF output run as above does), as with the
/// classification losses (docs/training.md).
pub struct Regression<'a, N: NeuronModel, B: Backend<N>> {
    runner: &'a BatchRunner<N, B>,
    inputs: &'a [SpikeTrains],
    targets: &'a [Vec<f64>],
    validation: Option<(&'a [SpikeTrains], &'a [Vec<f64>])>,
    loss: SpikeTimeMse,
    batch_inputs: Vec<SpikeTrains>,
    batch_targets: Vec<Vec<f64>>,
}

impl<'a, N, B> Regression<'a, N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    /// The task of fitting the first output spikes of `inputs` to
    /// `targets` (one time per output neuron) under `loss`.
    ///
    /// # Errors
    ///
    /// A target count that differs from the input count, a target of the
    /// wrong length or with a non-finite time, an input with the wrong
    /// number of channels (named by sample) or invalid loss constants.
    pub fn new(
        runner: &'a BatchRunner<N, B>,
        inputs: &'a [SpikeTrains],
        targets: &'a [Vec<f64>],
        loss: SpikeTimeMse,
    ) -> Result<Self, NetError> {
        FirstSpikeLoss::validate(&loss)?;
        check_split(runner, inputs, targets, |y, n| loss.check_target(y, n))?;
        Ok(Regression {
            runner,
            inputs,
            targets,
            validation: None,
            loss,
            batch_inputs: Vec::new(),
            batch_targets: Vec::new(),
        })
    }

    /// This task with a validation set, whose loss picks the model a
    /// training run keeps.
    pub fn with_validation(
        mut self,
        inputs: &'a [SpikeTrains],
        targets: &'a [Vec<f64>],
    ) -> Result<Self, NetError> {
        check_split(self.runner, inputs, targets, |y, n| {
            self.loss.check_target(y, n)
        })?;
        self.validation = Some((inputs, targets));
        Ok(self)
    }
}

impl<N: NeuronModel, B: Backend<N>> std::fmt::Debug for Regression<'_, N, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regression")
            .field("samples", &self.inputs.len())
            .field("validation", &self.validation.map(|(x, _)| x.len()))
            .field("loss", &self.loss)
            .finish_non_exhaustive()
    }
}

impl<N, B> Objective for Regression<'_, N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    type Params = NetworkParams;
    type Error = NetError;

    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn loss_and_grad(
        &mut self,
        params: &NetworkParams,
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<BatchStats, NetError> {
        gather(
            batch,
            (self.inputs, self.targets),
            (&mut self.batch_inputs, &mut self.batch_targets),
        )?;
        let r = self.runner.loss_and_grad(
            params,
            &self.batch_inputs,
            &self.batch_targets,
            &self.loss,
        )?;
        mean_gradient(r.grad, r.n, grad)?;
        Ok(BatchStats {
            n: r.n,
            loss_sum: r.loss_sum,
            score_sum: r.correct as f64,
        })
    }

    fn validate(&mut self, params: &NetworkParams) -> Result<Option<f64>, NetError> {
        match self.validation {
            Some((inputs, targets)) => {
                let r = self.runner.loss(params, inputs, targets, &self.loss)?;
                Ok(Some(-r.mean_loss()))
            }
            None => Ok(None),
        }
    }
}

/// Classification by a [`LiReadout`] of the last layer's spikes: the mean
/// cross-entropy of the readout's scores (each readout neuron's largest or
/// mean voltage, [`LiReadout::score`]) over a batch with its exact
/// gradient, for the network's and the readout's weights
/// ([`ReadoutParams`]); the share of correct predictions
/// as the training score and the accuracy on a validation set (when given)
/// as the validation score.
///
/// Unlike the time-to-first-spike losses, every spike of the last layer
/// counts, and a silent output is no dead end: each score is a smooth
/// function of the readout weights even when few neurons spike.
///
/// # Examples
///
/// Which of two input channels spikes twice:
///
/// ```
/// use evnn_net::{BatchRunner, Distribution, FeedForward, InitConfig, LiReadout, ReadoutClassification, ReadoutParams, SpikeTrains};
/// use evnn_neurons::Lif;
/// use evnn_optim::{AdamConfig, Trainer};
/// use evnn_solver::{ClosedForm, SolverOptions};
///
/// let net = FeedForward::new(Lif::default(), &[2, 8], ClosedForm, SolverOptions::default(), 40.0)?;
/// let network = net.init_params(&InitConfig { wmean: 4.0, wlim: 4.0, ..InitConfig::default() }, 0)?;
/// let params = ReadoutParams::init(network, 2, &Distribution::Normal { mean: 0.5, std: 0.5 }, 0)?;
/// let x: Vec<SpikeTrains> = (0..32)
///     .map(|k| {
///         let t = 2.0 + (k % 4) as f64;
///         let (twice, once) = (vec![t, t + 6.0], vec![t + 3.0]);
///         let trains = if k % 2 == 0 { [twice, once] } else { [once, twice] };
///         SpikeTrains::from_trains(&trains)
///     })
///     .collect::<Result<_, _>>()?;
/// let y: Vec<usize> = (0..32).map(|k| k % 2).collect();
/// let runner = BatchRunner::new(net);
/// let readout = LiReadout::default();
/// let mut task = ReadoutClassification::new(&runner, &x, &y, readout)?;
/// let before = runner.readout_loss(&params, &readout, &x, &y)?.mean_loss();
/// let adam = AdamConfig::default().with_learning_rate(0.05).build(params.len())?;
/// let state = Trainer::new(20, 8, 0)?.fit(&mut task, params, adam, &mut ())?;
/// let after = runner.readout_loss(&state.params, &readout, &x, &y)?;
/// assert!(after.mean_loss() < before, "{before} -> {}", after.mean_loss());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReadoutClassification<'a, N: NeuronModel, B: Backend<N>> {
    runner: &'a BatchRunner<N, B>,
    inputs: &'a [SpikeTrains],
    labels: &'a [usize],
    validation: Option<(&'a [SpikeTrains], &'a [usize])>,
    readout: LiReadout,
    batch_inputs: Vec<SpikeTrains>,
    batch_labels: Vec<usize>,
}

impl<'a, N, B> ReadoutClassification<'a, N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    /// The task of classifying `inputs` as `labels` with `runner`'s network
    /// and `readout`. Labels are checked against the readout neurons of the
    /// parameters of each batch.
    ///
    /// # Errors
    ///
    /// A label count that differs from the input count, an input with the
    /// wrong number of channels (named by sample), invalid time constants.
    pub fn new(
        runner: &'a BatchRunner<N, B>,
        inputs: &'a [SpikeTrains],
        labels: &'a [usize],
        readout: LiReadout,
    ) -> Result<Self, NetError> {
        readout.validate()?;
        // Labels are checked against each batch's readout neurons.
        check_split(runner, inputs, labels, |_, _| Ok(()))?;
        Ok(ReadoutClassification {
            runner,
            inputs,
            labels,
            validation: None,
            readout,
            batch_inputs: Vec::new(),
            batch_labels: Vec::new(),
        })
    }

    /// This task with a validation set, whose accuracy picks the model a
    /// training run keeps.
    pub fn with_validation(
        mut self,
        inputs: &'a [SpikeTrains],
        labels: &'a [usize],
    ) -> Result<Self, NetError> {
        check_split(self.runner, inputs, labels, |_, _| Ok(()))?;
        self.validation = Some((inputs, labels));
        Ok(self)
    }
}

impl<N: NeuronModel, B: Backend<N>> std::fmt::Debug for ReadoutClassification<'_, N, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadoutClassification")
            .field("samples", &self.inputs.len())
            .field("validation", &self.validation.map(|(x, _)| x.len()))
            .field("readout", &self.readout)
            .finish_non_exhaustive()
    }
}

impl<N, B> Objective for ReadoutClassification<'_, N, B>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    type Params = ReadoutParams;
    type Error = NetError;

    fn len(&self) -> usize {
        self.inputs.len()
    }

    fn loss_and_grad(
        &mut self,
        params: &ReadoutParams,
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<BatchStats, NetError> {
        gather(
            batch,
            (self.inputs, self.labels),
            (&mut self.batch_inputs, &mut self.batch_labels),
        )?;
        let r = self.runner.readout_loss_and_grad(
            params,
            &self.readout,
            &self.batch_inputs,
            &self.batch_labels,
        )?;
        mean_gradient(r.grad, r.n, grad)?;
        Ok(BatchStats {
            n: r.n,
            loss_sum: r.loss_sum,
            score_sum: r.correct as f64,
        })
    }

    fn validate(&mut self, params: &ReadoutParams) -> Result<Option<f64>, NetError> {
        match self.validation {
            Some((inputs, labels)) => {
                let r = self
                    .runner
                    .readout_loss(params, &self.readout, inputs, labels)?;
                Ok(Some(r.accuracy()))
            }
            None => Ok(None),
        }
    }
}

/// Copies the samples `batch` of a split (inputs, targets) into the batch
/// buffers; an index beyond the split is an error.
fn gather<T: Clone>(
    batch: &[usize],
    (inputs, targets): (&[SpikeTrains], &[T]),
    (batch_inputs, batch_targets): (&mut Vec<SpikeTrains>, &mut Vec<T>),
) -> Result<(), NetError> {
    batch_inputs.clear();
    batch_targets.clear();
    for &i in batch {
        let (Some(x), Some(y)) = (inputs.get(i), targets.get(i)) else {
            return Err(NetError::Shape {
                what: "batch index (below the number of samples)",
                expected: inputs.len(),
                got: i,
            });
        };
        batch_inputs.push(x.clone());
        batch_targets.push(y.clone());
    }
    Ok(())
}

/// Writes the mean of the summed batch gradient `sum` over `n` samples to
/// the flat buffer `grad`.
fn mean_gradient<P: Parameters>(
    sum: Option<P>,
    n: usize,
    grad: &mut [f64],
) -> Result<(), NetError> {
    let sum = sum
        .ok_or(NetError::Shape {
            what: "batch gradient",
            expected: 1,
            got: 0,
        })?
        .to_flat();
    if grad.len() != sum.len() {
        return Err(NetError::Shape {
            what: "gradient buffer (one entry per parameter)",
            expected: sum.len(),
            got: grad.len(),
        });
    }
    let inv = 1.0 / n as f64;
    for (g, s) in grad.iter_mut().zip(&sum) {
        *g = s * inv;
    }
    Ok(())
}

/// Adds to the summed batch gradient `grad` the gradient of the
/// silent-label term `γ·(θ − b_l)`: `−γ` on the output bias of the label
/// neuron of every sample in which that neuron is silent.
fn add_silent_push(
    grad: &mut NetworkParams,
    first_spikes: &[Vec<f64>],
    labels: &[usize],
    gamma: f64,
) {
    let Some(out) = grad.layers.last_mut() else {
        return;
    };
    let np = out.neuron_params.len() / out.n_out.max(1);
    if np == 0 {
        return;
    }
    for (t, &l) in first_spikes.iter().zip(labels) {
        if t.get(l).is_some_and(|v| !v.is_finite()) {
            if let Some(g) = out.neuron_params.get_mut(l * np) {
                *g -= gamma;
            }
        }
    }
}

/// Adds `−γ·n` to the bias gradient of every hidden neuron that spiked on
/// none of the batch's `n` samples (`spiking`: per layer and neuron, the
/// number of samples on which it spiked).
fn add_silent_hidden_push(grad: &mut NetworkParams, spiking: &[Vec<usize>], n: usize, gamma: f64) {
    let hidden = grad.layers.len().saturating_sub(1);
    for (layer, counts) in grad.layers.iter_mut().zip(spiking).take(hidden) {
        let np = layer.neuron_params.len() / layer.n_out.max(1);
        if np == 0 {
            continue;
        }
        for (j, _) in counts.iter().enumerate().filter(|(_, &c)| c == 0) {
            if let Some(g) = layer.neuron_params.get_mut(j * np) {
                *g -= gamma * n as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `−γ` lands on the label neuron's bias once per sample in which that
    /// neuron is silent, and nowhere else.
    #[test]
    fn silent_push_acts_on_silent_label_neurons_only() {
        let mut g = NetworkParams {
            layers: vec![
                crate::LayerParams::zeros(2, 2, 1).unwrap(),
                crate::LayerParams::zeros(2, 3, 1).unwrap(),
            ],
        };
        let inf = f64::INFINITY;
        let firsts = vec![
            vec![inf, inf, inf], // label 0 silent
            vec![2.0, inf, 3.0], // label 1 silent
            vec![2.0, inf, 3.0], // label 0 fires
            vec![inf, 5.0, inf], // label 0 silent
        ];
        add_silent_push(&mut g, &firsts, &[0, 1, 0, 0], 0.5);
        assert_eq!(g.layers[1].neuron_params, [-1.0, -0.5, 0.0]);
        assert!(g.layers[1].weights.iter().all(|&w| w == 0.0));
        assert!(g.layers[0].neuron_params.iter().all(|&b| b == 0.0));
    }

    /// `−γ·n` lands on the bias of every hidden neuron that spiked on no
    /// sample, never on the output layer, weights or other parameters.
    #[test]
    fn silent_hidden_push_acts_on_hidden_neurons_silent_on_the_whole_batch() {
        let mut g = NetworkParams {
            layers: vec![
                crate::LayerParams::zeros(2, 3, 2).unwrap(),
                crate::LayerParams::zeros(3, 2, 1).unwrap(),
            ],
        };
        let spiking = vec![vec![0, 4, 0], vec![0, 0]];
        add_silent_hidden_push(&mut g, &spiking, 4, 0.5);
        assert_eq!(g.layers[0].neuron_params, [-2.0, 0.0, 0.0, 0.0, -2.0, 0.0]);
        assert!(g.layers[0].weights.iter().all(|&w| w == 0.0));
        assert!(g.layers[1].neuron_params.iter().all(|&b| b == 0.0));
    }
}
