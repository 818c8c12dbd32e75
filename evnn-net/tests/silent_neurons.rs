//! Silent neurons: the batch passes count, per neuron, the samples on which
//! it spiked before the loss horizon (`BatchResult::spiking_samples`), and
//! the silent-hidden-neuron term (`Classification::with_silent_hidden_push`)
//! pushes exactly the biases of hidden neurons that were silent on a whole
//! batch, which brings such a neuron back into training.

use evnn_net::{
    BatchRunner, Classification, FeedForward, ForwardTrace, InitConfig, LossPass, NetError,
    NetworkParams, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_optim::{AdamConfig, Objective, Trainer};
use evnn_solver::{Adjoint, Backend, ClosedForm, QifSeries, SolverOptions};
use rand::{Rng, SeedableRng};

const T_END: f64 = 30.0;

fn net(sizes: &[usize]) -> FeedForward<Lif, ClosedForm> {
    FeedForward::new(
        Lif::default(),
        sizes,
        ClosedForm,
        SolverOptions::default(),
        T_END,
    )
    .unwrap()
}

fn random_inputs(n: usize, channels: usize, seed: u64) -> Vec<SpikeTrains> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let t: Vec<f64> = (0..channels).map(|_| rng.random_range(0.0..20.0)).collect();
            SpikeTrains::from_times(&t).unwrap()
        })
        .collect()
}

/// The counts of a batch pass equal those read off full forward traces one
/// sample at a time: a spike counts when it comes before the sample's last
/// first output spike, every spike when an output neuron is silent. Every
/// loss pass (on demand, where earlier layers' traces end early, and layer
/// by layer) and the pass without gradient count the same, for LIF in
/// closed form and QIF by series.
#[test]
fn spiking_samples_count_spikes_before_the_loss_horizon() {
    let sizes = [3, 12, 6, 3];
    let mut seen = [0; 3];
    for pass in [LossPass::Auto, LossPass::OnDemand, LossPass::LayerByLayer] {
        let lif = net(&sizes).with_loss_pass(pass);
        let qif = FeedForward::new(
            Qif::default(),
            &sizes,
            QifSeries,
            SolverOptions::default(),
            T_END,
        )
        .unwrap()
        .with_loss_pass(pass);
        for seed in 0..3 {
            let wmean = 2.0 + seed as f64;
            add(&mut seen, check_counts(&lif, wmean, seed));
            add(&mut seen, check_counts(&qif, 4.0 * wmean, seed));
        }
    }
    // The cases are not trivial: some neurons silent on every sample, some
    // spiking on some samples only, and finite horizons that cut spikes.
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

fn add(total: &mut [usize; 3], counts: [usize; 3]) {
    for (t, c) in total.iter_mut().zip(counts) {
        *t += c;
    }
}

/// Compares the batch counts with the traces' on 40 random inputs; returns
/// the numbers of neurons silent on all samples, of neurons spiking on
/// some samples only, and of samples with a finite horizon.
fn check_counts<N, B>(net: &FeedForward<N, B>, wmean: f64, seed: u64) -> [usize; 3]
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let sizes = [3, 12, 6, 3];
    let init = InitConfig {
        wmean,
        wlim: 2.0 * wmean,
        ..InitConfig::default()
    };
    let params = net.init_params(&init, seed).unwrap();
    let inputs = random_inputs(40, sizes[0], seed);
    let labels: Vec<usize> = (0..inputs.len()).map(|k| k % 3).collect();
    let mut expected: Vec<Vec<usize>> = sizes[1..].iter().map(|&n| vec![0; n]).collect();
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    let mut horizons = 0;
    for x in &inputs {
        net.forward(&params, x, &mut ws, &mut trace).unwrap();
        let first = trace.first_spikes();
        let horizon = first.iter().fold(f64::NEG_INFINITY, |a, &t| a.max(t));
        horizons += usize::from(horizon.is_finite());
        for (counts, layer) in expected.iter_mut().zip(&trace.layers) {
            for (j, c) in counts.iter_mut().enumerate() {
                if layer
                    .outputs
                    .channel(j)
                    .first()
                    .is_some_and(|&t| t < horizon)
                {
                    *c += 1;
                }
            }
        }
    }
    let runner = BatchRunner::new(net.clone());
    let loss = TtfsLoss::default();
    let with_grad = runner
        .loss_and_grad(&params, &inputs, &labels, &loss)
        .unwrap();
    assert_eq!(with_grad.spiking_samples, expected, "seed {seed}");
    let without = runner.loss(&params, &inputs, &labels, &loss).unwrap();
    assert_eq!(without.spiking_samples, expected, "seed {seed}");
    let all = expected.iter().flatten();
    [
        all.clone().filter(|&&c| c == 0).count(),
        all.filter(|&&c| c > 0 && c < inputs.len()).count(),
        horizons,
    ]
}

/// The network `[2, 4, 2]` with hidden neuron 1 silent: no input weight and
/// a negative bias.
fn with_silent_hidden_neuron(net: &FeedForward<Lif, ClosedForm>) -> NetworkParams {
    let init = InitConfig {
        wmean: 8.0,
        wlim: 2.0,
        ..InitConfig::default()
    };
    let mut params = net.init_params(&init, 3).unwrap();
    let hidden = &mut params.layers[0];
    hidden.weights[2..4].fill(0.0);
    hidden.neuron_params[1] = -0.5;
    params
}

/// Two classes: channel 0 first, or channel 1 first.
fn two_class_task(n: usize) -> (Vec<SpikeTrains>, Vec<usize>) {
    let x = (0..n)
        .map(|k| {
            let (early, late) = (1.0 + (k % 5) as f64, 12.0 + (k % 7) as f64);
            let t = if k % 2 == 0 {
                [early, late]
            } else {
                [late, early]
            };
            SpikeTrains::from_times(&t).unwrap()
        })
        .collect();
    (x, (0..n).map(|k| k % 2).collect())
}

/// With the term, the mean gradient differs from the plain one in one
/// entry only, the silent hidden neuron's bias, by exactly `−γ`.
#[test]
fn silent_hidden_push_moves_only_the_silent_hidden_bias() {
    let net = net(&[2, 4, 2]);
    let params = with_silent_hidden_neuron(&net);
    let (x, y) = two_class_task(8);
    let runner = BatchRunner::new(net);
    let r = runner.loss(&params, &x, &y, &TtfsLoss::default()).unwrap();
    assert_eq!(r.spiking_samples[0][1], 0, "neuron 1 is silent");
    assert!(r.spiking_samples[0]
        .iter()
        .enumerate()
        .all(|(j, &c)| j == 1 || c > 0));
    let batch: Vec<usize> = (0..x.len()).collect();
    let gradient = |gamma: f64| {
        let mut task = Classification::new(&runner, &x, &y, TtfsLoss::default())
            .unwrap()
            .with_silent_hidden_push(gamma)
            .unwrap();
        let mut g = vec![0.0; params.len()];
        task.loss_and_grad(&params, &batch, &mut g).unwrap();
        g
    };
    let (plain, pushed) = (gradient(0.0), gradient(0.5));
    let mut marker = params.zeros_like();
    marker.layers[0].neuron_params[1] = 1.0;
    let bias = marker.to_flat().iter().position(|&m| m == 1.0).unwrap();
    for (k, (a, b)) in plain.iter().zip(&pushed).enumerate() {
        if k == bias {
            assert_eq!((*a, *b), (0.0, -0.5), "the silent neuron's bias");
        } else {
            assert_eq!(a.to_bits(), b.to_bits(), "entry {k}");
        }
    }
}

/// Training brings the silenced hidden neuron back with the term, and
/// leaves it silent without: nothing else gives it a gradient.
#[test]
fn silent_hidden_push_brings_a_silenced_neuron_back_into_training() {
    let net = net(&[2, 4, 2]);
    let params = with_silent_hidden_neuron(&net);
    let (x, y) = two_class_task(30);
    let runner = BatchRunner::new(net);
    let spiking_after = |gamma: f64| {
        let mut task = Classification::new(&runner, &x, &y, TtfsLoss::default())
            .unwrap()
            .with_silent_hidden_push(gamma)
            .unwrap();
        let adam = AdamConfig::default()
            .with_learning_rate(0.05)
            .build(params.len())
            .unwrap();
        let state = Trainer::new(15, 10, 0)
            .unwrap()
            .fit(&mut task, params.clone(), adam, &mut ())
            .unwrap();
        let r = runner
            .loss(&state.params, &x, &y, &TtfsLoss::default())
            .unwrap();
        (
            r.spiking_samples[0][1],
            state.params.layers[0].neuron_params[1],
        )
    };
    let (without, bias_without) = spiking_after(0.0);
    assert_eq!((without, bias_without), (0, -0.5), "no gradient reaches it");
    let (with, bias_with) = spiking_after(1.0);
    assert!(with > 0, "it spikes again (bias {bias_with})");
}

#[test]
fn invalid_weights_are_named_errors() {
    let net = net(&[2, 4, 2]);
    let (x, y) = two_class_task(4);
    let runner = BatchRunner::new(net);
    for gamma in [-1.0, f64::NAN, f64::INFINITY] {
        let task = Classification::new(&runner, &x, &y, TtfsLoss::default()).unwrap();
        match task.with_silent_hidden_push(gamma) {
            Err(NetError::InvalidConfig { name, value, .. }) => {
                assert_eq!(name, "silent_hidden_push");
                assert!(value.to_bits() == gamma.to_bits());
            }
            other => panic!("γ = {gamma}: expected InvalidConfig, got {other:?}"),
        }
    }
}
