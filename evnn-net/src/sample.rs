//! One sample's loss of first output spikes (with its backward pass) and
//! prediction, for parameters and inputs checked by the caller: the network's
//! per-sample methods check them first, the batch passes once per batch.

use crate::backward::backward;
use crate::forward::{forward, Workspace};
use crate::on_demand::LossPass;
use crate::stack::{Pass, Stack};
use crate::trace::ForwardTrace;
use crate::{
    predict as predict_class, predict_scores, FirstSpikeLoss, LiReadout, NetError, NetworkParams,
    ReadoutParams, ReadoutScore, SpikeTrains,
};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};

/// One sample's loss, prediction and first output spikes.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleResult {
    /// Loss value.
    pub loss: f64,
    /// Predicted class (`None`: all output neurons silent).
    pub prediction: Option<usize>,
    /// First output spike times.
    pub first_spikes: Vec<f64>,
    /// Whether the loss counts the sample as correct
    /// ([`FirstSpikeLoss::is_correct`]).
    pub correct: bool,
}

/// The loss of one sample's first output spikes and, with `grad`, its
/// backward pass adding `dL/dθ` to `grad` (see
/// [`FeedForward::sample_loss`](crate::FeedForward::sample_loss)).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sample_loss<N, B, L>(
    stack: &Stack<N>,
    loss_pass: LossPass,
    params: &NetworkParams,
    input: &SpikeTrains,
    target: &L::Target,
    loss: &L,
    ws: &mut Workspace<N, B>,
    trace: &mut ForwardTrace<N::State>,
    grad: Option<&mut NetworkParams>,
) -> Result<SampleResult, NetError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
    L: FirstSpikeLoss + ?Sized,
{
    loss.check_target(target, stack.n_outputs())?;
    // The loss reads only first output spikes: each output neuron's run
    // ends at its first spike, which leaves loss and gradient exact.
    forward(
        stack,
        loss_pass,
        params,
        input,
        ws,
        trace,
        Pass::FirstSpikes,
        // With a backward pass to follow, the runs log their sensitivities.
        grad.is_some(),
    )?;
    let first = trace.first_spikes();
    // The workspace's buffers: no allocation per sample beyond `first`.
    let mut dl_first = std::mem::take(&mut ws.dl_first);
    dl_first.clear();
    dl_first.resize(first.len(), 0.0);
    let value = loss.evaluate(&first, target, &mut dl_first);
    let result = match (&value, grad) {
        (Ok(_), Some(grad)) => {
            first_spike_backward(stack, params, input, trace, &dl_first, ws, grad)
        }
        _ => Ok(()),
    };
    ws.dl_first = dl_first;
    let value = value?;
    result?;
    Ok(SampleResult {
        loss: value,
        prediction: predict_class(&first),
        correct: loss.is_correct(&first, target),
        first_spikes: first,
    })
}

/// The backward pass of a loss on the first output spikes.
fn first_spike_backward<N, B>(
    stack: &Stack<N>,
    params: &NetworkParams,
    input: &SpikeTrains,
    trace: &ForwardTrace<N::State>,
    dl_first: &[f64],
    ws: &mut Workspace<N, B>,
    grad: &mut NetworkParams,
) -> Result<(), NetError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
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
    // The trace was just made of `input`.
    let result = backward(
        stack,
        params,
        input,
        trace,
        &dl_dt,
        None,
        ws,
        grad,
        &mut dl_dinput,
    );
    ws.dl_dt = dl_dt;
    ws.dl_dinput = dl_dinput;
    result
}

/// The predicted class of one sample (see
/// [`FeedForward::predict_sample`](crate::FeedForward::predict_sample)).
pub(crate) fn predict<N: NeuronModel, B: Backend<N>>(
    stack: &Stack<N>,
    loss_pass: LossPass,
    params: &NetworkParams,
    input: &SpikeTrains,
    ws: &mut Workspace<N, B>,
    trace: &mut ForwardTrace<N::State>,
) -> Result<Option<usize>, NetError> {
    forward(
        stack,
        loss_pass,
        params,
        input,
        ws,
        trace,
        Pass::Prediction,
        false,
    )?;
    // The workspace's buffer: no allocation per sample.
    let mut first = std::mem::take(&mut ws.dl_first);
    first.clear();
    if let Some(out) = trace.output() {
        first.extend(
            (0..out.n_channels()).map(|j| out.channel(j).first().copied().unwrap_or(f64::INFINITY)),
        );
    }
    let class = predict_class(&first);
    ws.dl_first = first;
    Ok(class)
}

/// One sample's loss and prediction under a [`LiReadout`].
#[derive(Clone, Debug, PartialEq)]
pub struct ReadoutResult {
    /// Cross-entropy of the readout's scores.
    pub loss: f64,
    /// Predicted class: the readout neuron with the largest score (`None`
    /// when several share it, [`predict_scores`]).
    pub prediction: Option<usize>,
    /// Each readout neuron's score: its largest or its mean voltage
    /// ([`LiReadout::score`](crate::LiReadout)).
    pub scores: Vec<f64>,
}

/// The full forward pass of one sample, its readout, the cross-entropy of
/// the scores against `label` and, with `grad`, the backward pass through
/// readout and network (see
/// [`FeedForward::readout_loss`](crate::FeedForward::readout_loss)), for
/// checked parameters, input and label.
#[allow(clippy::too_many_arguments)]
pub(crate) fn readout_loss<N, B>(
    stack: &Stack<N>,
    loss_pass: LossPass,
    params: &ReadoutParams,
    readout: &LiReadout,
    input: &SpikeTrains,
    label: usize,
    ws: &mut Workspace<N, B>,
    trace: &mut ForwardTrace<N::State>,
    grad: Option<&mut ReadoutParams>,
) -> Result<ReadoutResult, NetError>
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone,
{
    let net = &params.network;
    // The readout reads every spike of the last layer up to `t_end`.
    let log = grad.is_some();
    forward(stack, loss_pass, net, input, ws, trace, Pass::Full, log)?;
    let out = trace.output().ok_or(NetError::Shape {
        what: "layers",
        expected: 1,
        got: 0,
    })?;
    let mut maxima = std::mem::take(&mut ws.maxima);
    let mut scores = Vec::new();
    let found = match readout.score {
        ReadoutScore::Max => readout
            .maxima_checked(&params.weights, params.n_out, out, stack.t_end, &mut maxima)
            .map(|()| scores.extend(maxima.iter().map(|m| m.value))),
        ReadoutScore::Mean => {
            readout.means_checked(&params.weights, params.n_out, out, stack.t_end, &mut scores)
        }
    };
    let mut dl_dscore = vec![0.0; params.n_out];
    let value = found.and_then(|()| LiReadout::cross_entropy(&scores, label, &mut dl_dscore));
    let result = match (&value, grad) {
        (Ok(_), Some(grad)) => {
            let mut dl_dt = std::mem::take(&mut ws.dl_dt);
            let mut dl_dinput = std::mem::take(&mut ws.dl_dinput);
            dl_dt.clear();
            dl_dt.resize(out.n_spikes(), 0.0);
            match readout.score {
                ReadoutScore::Max => readout.backward_checked(
                    &params.weights,
                    out,
                    &maxima,
                    &dl_dscore,
                    &mut grad.weights,
                    &mut dl_dt,
                ),
                ReadoutScore::Mean => readout.means_backward_checked(
                    &params.weights,
                    out,
                    stack.t_end,
                    &dl_dscore,
                    &mut grad.weights,
                    &mut dl_dt,
                ),
            }
            // The trace was just made of `input`.
            let r = backward(
                stack,
                net,
                input,
                trace,
                &dl_dt,
                None,
                ws,
                &mut grad.network,
                &mut dl_dinput,
            );
            ws.dl_dt = dl_dt;
            ws.dl_dinput = dl_dinput;
            r
        }
        _ => Ok(()),
    };
    ws.maxima = maxima;
    let value = value?;
    result?;
    Ok(ReadoutResult {
        loss: value,
        prediction: predict_scores(&scores),
        scores,
    })
}
