//! Layer-wide LIF layers (`FeedForward::with_layer_wide`): the spikes,
//! losses and gradients of the neuron-by-neuron passes to round-off, for
//! first-spike losses and the leaky-integrator readout, on one and two
//! threads, feed-forward and recurrent; the gradient against finite
//! differences; and the layers the switch cannot take (other models,
//! delays), which run neuron by neuron, bit for bit as without it.

use evnn_net::{
    gradcheck, BatchResult, BatchRunner, DelayInit, Distribution, FeedForward, ForwardTrace,
    GradCheckOptions, InitConfig, LiReadout, NetError, NetworkParams, ReadoutBatch, ReadoutParams,
    RecurrentInit, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{Lif, Qif};
use evnn_solver::{ClosedForm, QifSeries, SolverError, SolverOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T_END: f64 = 50.0;

/// `n` samples of `n_in` channels with 0 to 6 sorted spikes each.
fn samples(n: usize, n_in: usize, seed: u64) -> Vec<SpikeTrains> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let trains: Vec<Vec<f64>> = (0..n_in)
                .map(|_| {
                    let k = rng.random_range(0..7);
                    let mut t: Vec<f64> = (0..k).map(|_| rng.random::<f64>() * 40.0).collect();
                    t.sort_by(f64::total_cmp);
                    t
                })
                .collect();
            SpikeTrains::from_trains(&trains).unwrap()
        })
        .collect()
}

fn lif_net(sizes: &[usize]) -> FeedForward<Lif, ClosedForm> {
    FeedForward::new(
        Lif::default(),
        sizes,
        ClosedForm,
        SolverOptions::default(),
        T_END,
    )
    .unwrap()
}

fn strong_init() -> InitConfig {
    InitConfig {
        wmean: 2.5,
        wlim: 3.0,
        ..InitConfig::default()
    }
}

/// `|a − b| ≤ tol · scale` for every entry.
fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = a.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{k}]: {x} against {y} (scale {scale})"
        );
    }
}

#[test]
fn first_spike_loss_and_gradient_are_the_neuron_by_neuron_ones() {
    let sizes = [8, 40, 30, 4];
    let net = lif_net(&sizes);
    let params = net.init_params(&strong_init(), 3).unwrap();
    let inputs = samples(24, sizes[0], 5);
    let labels: Vec<usize> = (0..inputs.len()).map(|k| k % 4).collect();
    let loss = TtfsLoss::default();
    let by_neuron = BatchRunner::new(net.clone())
        .loss_and_grad(&params, &inputs, &labels, &loss)
        .unwrap();
    let wide_net = net.with_layer_wide(true);
    assert!(wide_net.layer_wide());
    for threads in [1, 2] {
        let wide = on_threads(threads, &wide_net, &params, &inputs, &labels);
        assert!((wide.loss_sum - by_neuron.loss_sum).abs() <= 1e-10 * by_neuron.loss_sum.abs());
        assert_eq!(wide.correct, by_neuron.correct);
        for (a, b) in wide.first_spikes.iter().zip(&by_neuron.first_spikes) {
            for (x, y) in a.iter().zip(b) {
                assert!(
                    x == y || (x - y).abs() <= 1e-11 * y.abs(),
                    "first spike {x} against {y}"
                );
            }
        }
        let (g, want) = (wide.grad.unwrap(), by_neuron.grad.clone().unwrap());
        for (layer, (a, b)) in g.layers.iter().zip(&want.layers).enumerate() {
            assert_close(
                &a.weights,
                &b.weights,
                1e-9,
                &format!("layer {layer} weights"),
            );
            assert_close(
                &a.neuron_params,
                &b.neuron_params,
                1e-9,
                &format!("layer {layer} biases"),
            );
            // Every layer takes part: the hidden layers spike.
            assert!(
                a.weights.iter().filter(|&&w| w != 0.0).count() > a.weights.len() / 4,
                "layer {layer}"
            );
        }
    }
}

/// The first-spike loss and gradient of `net` on `inputs` on a pool of
/// `threads` threads.
fn on_threads(
    threads: usize,
    net: &Net,
    params: &NetworkParams,
    inputs: &[SpikeTrains],
    labels: &[usize],
) -> BatchResult {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let runner = BatchRunner::new(net.clone());
    pool.install(|| runner.loss_and_grad(params, inputs, labels, &TtfsLoss::default()))
        .unwrap()
}

#[test]
fn readout_loss_and_gradient_are_the_neuron_by_neuron_ones() {
    let sizes = [8, 40];
    let net = lif_net(&sizes);
    let network = net.init_params(&strong_init(), 4).unwrap();
    let inputs = samples(16, sizes[0], 6);
    let (wide, by_neuron) = readouts_agree(&net, network, &inputs);
    for (a, b) in wide.scores.iter().zip(&by_neuron.scores) {
        assert_close(a, b, 1e-10, "scores");
    }
}

/// The leaky-integrator readout (3 classes) of `network`, the last layer
/// of `net`, on `inputs`, layer-wide and neuron by neuron: the loss to
/// 1e-10, the readout's and the last layer's weight and bias gradients to
/// 1e-9, the hidden weights' gradient not all zero. Returns both results
/// (layer-wide first).
fn readouts_agree(
    net: &Net,
    network: NetworkParams,
    inputs: &[SpikeTrains],
) -> (ReadoutBatch, ReadoutBatch) {
    let w = Distribution::Normal {
        mean: 0.0,
        std: 1.0,
    };
    let params = ReadoutParams::init(network, 3, &w, 4).unwrap();
    let labels: Vec<usize> = (0..inputs.len()).map(|k| k % 3).collect();
    let readout = LiReadout::default();
    let [wide, by_neuron] = [net.clone().with_layer_wide(true), net.clone()].map(|n| {
        BatchRunner::new(n)
            .readout_loss_and_grad(&params, &readout, inputs, &labels)
            .unwrap()
    });
    assert!((wide.loss_sum - by_neuron.loss_sum).abs() <= 1e-10 * by_neuron.loss_sum.abs());
    let (g, want) = (
        wide.grad.as_ref().unwrap(),
        by_neuron.grad.as_ref().unwrap(),
    );
    assert_close(&g.weights, &want.weights, 1e-9, "readout weights");
    let last = g.network.layers.len() - 1;
    let (a, b) = (&g.network.layers[last], &want.network.layers[last]);
    assert_close(&a.weights, &b.weights, 1e-9, "hidden weights");
    assert_close(&a.neuron_params, &b.neuron_params, 1e-9, "hidden biases");
    assert!(a.weights.iter().any(|&w| w != 0.0));
    (wide, by_neuron)
}

#[test]
fn gradient_matches_finite_differences() {
    let net = lif_net(&[4, 6, 3]).with_layer_wide(true);
    let loss = |out: &SpikeTrains| {
        let c: Vec<f64> = (0..out.n_spikes())
            .map(|i| ((i * 7 + 3) % 11) as f64 / 11.0 - 0.4)
            .collect();
        (out.flat().iter().zip(&c).map(|(t, c)| t * c).sum(), c)
    };
    let mut compared = 0;
    for seed in 0..3 {
        let params = net.init_params(&strong_init(), seed).unwrap();
        let input = SpikeTrains::from_trains(&[vec![1.0, 9.0], vec![3.0], vec![4.5, 20.0], vec![]])
            .unwrap();
        let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
        assert!(
            report.is_ok(),
            "seed {seed}: {:?}",
            report.failures().first()
        );
        compared += report.compared();
    }
    assert!(compared > 100, "{compared} entries compared");
}

#[test]
fn layers_it_cannot_take_run_neuron_by_neuron() {
    let inputs = samples(6, 5, 9);
    let labels = vec![0, 1, 2, 0, 1, 2];
    let loss = TtfsLoss::default();
    // Another model.
    let qif = FeedForward::new(
        Qif::default(),
        &[5, 12, 3],
        QifSeries,
        SolverOptions::default(),
        T_END,
    )
    .unwrap();
    let params = qif.init_params(&InitConfig::default(), 1).unwrap();
    let a = BatchRunner::new(qif.clone())
        .loss_and_grad(&params, &inputs, &labels, &loss)
        .unwrap();
    let b = BatchRunner::new(qif.with_layer_wide(true))
        .loss_and_grad(&params, &inputs, &labels, &loss)
        .unwrap();
    assert_eq!(a.loss_sum.to_bits(), b.loss_sum.to_bits());
    assert_eq!(a.grad, b.grad);
    // Synaptic delays, recurrent or not, where the delayed layer's
    // coordinates cannot take the time constants (within a tenth).
    let close = Lif::new(20.0, 19.0, 1.0, 0.0).unwrap();
    let net = FeedForward::new(
        close,
        &[5, 12, 3],
        ClosedForm,
        SolverOptions::default(),
        T_END,
    )
    .unwrap();
    let base = net.init_params(&strong_init(), 2).unwrap();
    let uniform = Distribution::Uniform {
        mean: 2.5,
        width: 5.0,
    };
    let delayed = base
        .clone()
        .with_delays(&DelayInit::both(uniform), 2)
        .unwrap();
    let weights = Distribution::Normal {
        mean: 0.0,
        std: 0.5,
    };
    let recurrent_delayed: NetworkParams = delayed
        .clone()
        .with_recurrent(&[0, 1], &RecurrentInit::new(weights), 2)
        .unwrap();
    for params in [delayed, recurrent_delayed] {
        let a = BatchRunner::new(net.clone())
            .loss_and_grad(&params, &inputs, &labels, &loss)
            .unwrap();
        let wide = net.clone().with_layer_wide(true);
        let b = BatchRunner::new(wide)
            .loss_and_grad(&params, &inputs, &labels, &loss)
            .unwrap();
        assert_eq!(a.loss_sum.to_bits(), b.loss_sum.to_bits());
        assert_eq!(a.grad, b.grad);
    }
}

/// A LIF [8, 40, 4] network without and with the switch, its parameters
/// and one input.
fn one_sample_pair() -> (Net, Net, NetworkParams, SpikeTrains) {
    let sizes = [8, 40, 4];
    let net = lif_net(&sizes);
    let wide_net = net.clone().with_layer_wide(true);
    let params = net.init_params(&strong_init(), 3).unwrap();
    let input = samples(1, sizes[0], 9).swap_remove(0);
    (net, wide_net, params, input)
}

type Net = FeedForward<Lif, ClosedForm>;

/// A layer-wide layer's trace logs spikes only: a network that would run
/// the layer neuron by neuron refuses it (typed, naming the layer) and
/// leaves the gradient as it was; the other way round, a neuron-by-neuron
/// trace, which logs the inputs as well, gives the layer-wide network the
/// gradient to round-off.
#[test]
fn traces_go_back_only_where_the_layer_runs_as_it_was_traced() {
    let (net, wide_net, params, input) = one_sample_pair();
    let input = &input;
    let trace_of = |n: &Net| {
        let (mut ws, mut trace) = (n.workspace(), ForwardTrace::default());
        n.forward(&params, input, &mut ws, &mut trace).unwrap();
        trace
    };
    let (wide_trace, trace) = (trace_of(&wide_net), trace_of(&net));
    assert!(wide_trace.layers.iter().all(|l| l.layer_wide));
    assert!(trace.layers.iter().all(|l| !l.layer_wide));
    let n_out = trace.layers[1].outputs.n_spikes();
    assert!(n_out > 0 && trace.layers[0].outputs.n_spikes() > 0);
    let dl: Vec<f64> = (0..n_out).map(|k| 1.0 + k as f64).collect();
    let backward = |n: &Net, t: &ForwardTrace<[f64; 2]>, grad: &mut NetworkParams| {
        let (mut ws, mut dl_in) = (n.workspace(), Vec::new());
        n.backward(&params, input, t, &dl, &mut ws, grad, &mut dl_in)
    };
    let grad_of = |n: &Net, t: &ForwardTrace<[f64; 2]>| {
        let mut grad = params.zeros_like();
        backward(n, t, &mut grad).map(|()| grad)
    };
    let mut kept = params.clone();
    match backward(&net, &wide_trace, &mut kept) {
        Err(NetError::TraceMismatch {
            layer,
            expected,
            got,
            ..
        }) => assert_eq!((layer, expected, got), (0, 0.0, 1.0)),
        other => panic!("a layer-wide trace went back neuron by neuron: {other:?}"),
    }
    assert_eq!(kept, params, "the gradient buffer changed");
    let by_neuron = grad_of(&net, &trace).unwrap();
    let wide = grad_of(&wide_net, &trace).unwrap();
    for (a, b) in by_neuron.layers.iter().zip(&wide.layers) {
        assert_close(&a.weights, &b.weights, 1e-9, "weights");
        assert_close(&a.neuron_params, &b.neuron_params, 1e-9, "biases");
    }
    assert_ne!(
        by_neuron.layers[0].weights,
        params.zeros_like().layers[0].weights
    );
}

/// Membrane traces (`states_at`) of a layer-wide trace, whose neurons log
/// their spikes only, are those of the neuron-by-neuron trace to
/// round-off, in the hidden and the output layer.
#[test]
fn states_of_a_layer_wide_trace_are_the_neuron_by_neuron_ones() {
    let (net, wide_net, params, input) = one_sample_pair();
    let input = &input;
    let times: Vec<f64> = (0..=500).map(|k| T_END * k as f64 / 500.0).collect();
    let states = |n: &Net, layer, neuron| {
        let (mut ws, mut trace) = (n.workspace(), ForwardTrace::default());
        n.forward(&params, input, &mut ws, &mut trace).unwrap();
        let mut out = Vec::new();
        n.states_at(&params, &trace, layer, neuron, &times, &mut out)
            .unwrap();
        let spiked = trace.layers[layer].outputs.channel(neuron).len();
        (out.concat(), spiked)
    };
    let mut spiking = 0;
    for (layer, neuron) in [(0, 0), (0, 7), (0, 39), (1, 0), (1, 3)] {
        let (a, spikes) = states(&net, layer, neuron);
        let (b, _) = states(&wide_net, layer, neuron);
        assert_close(&a, &b, 1e-9, &format!("layer {layer}, neuron {neuron}"));
        spiking += usize::from(spikes > 0);
    }
    assert!(spiking >= 3, "{spiking} of the neurons spiked");
}

/// A LIF [8, 40, 4] network without and with the switch, `n` samples of
/// inputs drawn with `seed`, and labels of four classes.
fn four_classes(n: usize, seed: u64) -> (Net, Net, Vec<SpikeTrains>, Vec<usize>) {
    let net = lif_net(&[8, 40, 4]);
    let wide_net = net.clone().with_layer_wide(true);
    let labels = (0..n).map(|k| k % 4).collect();
    (net, wide_net, samples(n, 8, seed), labels)
}

/// A LIF [8, 40, 4] network whose two layers are recurrent (half of the
/// synapses, none to itself; or every one, self-connections too).
fn recurrent_params(net: &Net, all: bool) -> NetworkParams {
    let init = RecurrentInit {
        self_connections: all,
        density: if all { 1.0 } else { 0.5 },
        ..RecurrentInit::new(Distribution::Normal {
            mean: 0.0,
            std: 0.3,
        })
    };
    let params = net.init_params(&strong_init(), 3).unwrap();
    params.with_recurrent(&[0, 1], &init, 3).unwrap()
}

/// Recurrent layers simulated layer-wide give the event-by-event passes'
/// spikes, losses and gradients (recurrent weights included) to
/// round-off, for the first-spike loss on one and two threads (which give
/// the same bits), and the leaky-integrator readout.
#[test]
fn recurrent_layers_are_the_event_by_event_ones() {
    let sizes = [8, 40, 4];
    let (net, wide_net, inputs, labels) = four_classes(24, 5);
    let loss = TtfsLoss::default();
    for all in [false, true] {
        let params = recurrent_params(&net, all);
        let by_event = BatchRunner::new(net.clone())
            .loss_and_grad(&params, &inputs, &labels, &loss)
            .unwrap();
        // One thread and two give the same bits.
        let one = on_threads(1, &wide_net, &params, &inputs, &labels);
        for threads in [1, 2] {
            let wide = on_threads(threads, &wide_net, &params, &inputs, &labels);
            let at = format!("all synapses {all}, {threads} threads");
            assert_eq!(wide.loss_sum.to_bits(), one.loss_sum.to_bits(), "{at}");
            let bits = |r: &BatchResult| {
                let flat = r.grad.as_ref().unwrap().to_flat();
                flat.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(bits(&wide), bits(&one), "{at}");
            let (a, b) = (wide.loss_sum, by_event.loss_sum);
            assert!(
                (a - b).abs() <= 1e-10 * b.abs(),
                "{at}: loss {a} against {b}"
            );
            assert_eq!(wide.correct, by_event.correct, "{at}");
            for (a, b) in wide.first_spikes.iter().zip(&by_event.first_spikes) {
                assert_close(a, b, 1e-10, &format!("{at}: first spikes"));
            }
            let (g, want) = (wide.grad.unwrap(), by_event.grad.clone().unwrap());
            for (layer, (a, b)) in g.layers.iter().zip(&want.layers).enumerate() {
                let at = format!("{at}, layer {layer}");
                assert_close(&a.weights, &b.weights, 1e-9, &format!("{at} weights"));
                assert_close(
                    &a.neuron_params,
                    &b.neuron_params,
                    1e-9,
                    &format!("{at} biases"),
                );
                let (ra, rb) = (a.recurrent_weights.as_ref(), b.recurrent_weights.as_ref());
                let (ra, rb) = (ra.unwrap(), rb.unwrap());
                assert_close(ra, rb, 1e-9, &format!("{at} recurrent weights"));
                // The recurrent spikes carry gradient; none reaches a
                // synapse that does not exist.
                let l = &params.layers[layer];
                let n = l.n_out;
                let nonzero = (0..n * n).filter(|&k| ra[k] != 0.0);
                assert!(nonzero.clone().count() > n, "{at}: recurrent gradient");
                assert!(nonzero
                    .into_iter()
                    .all(|k| l.has_recurrent_synapse(k / n, k % n)));
            }
        }
    }
    // The readout of a recurrent hidden layer.
    let mut network = recurrent_params(&lif_net(&sizes), false);
    network.layers.truncate(1);
    let (wide, by_event) = readouts_agree(&lif_net(&sizes[..2]), network, &inputs);
    let (g, want) = (wide.grad.unwrap(), by_event.grad.unwrap());
    let (a, b) = (&g.network.layers[0], &want.network.layers[0]);
    let (ra, rb) = (a.recurrent_weights.as_ref(), b.recurrent_weights.as_ref());
    assert_close(ra.unwrap(), rb.unwrap(), 1e-9, "hidden recurrent weights");
    assert!(ra.unwrap().iter().any(|&w| w != 0.0));
}

/// A recurrent layer's layer-wide trace: membrane traces (`states_at`,
/// which adds the layer's own spikes to a neuron's inputs) are the
/// event-by-event trace's to round-off; a network that runs the layer
/// event by event refuses the trace, and the event-by-event trace gives
/// the layer-wide network the gradient to round-off.
#[test]
fn recurrent_layer_wide_traces_states_and_gradients() {
    let (net, wide_net, _, input) = one_sample_pair();
    let input = &input;
    let params = recurrent_params(&net, true);
    let trace_of = |n: &Net| {
        let (mut ws, mut trace) = (n.workspace(), ForwardTrace::default());
        n.forward(&params, input, &mut ws, &mut trace).unwrap();
        trace
    };
    let (wide_trace, trace) = (trace_of(&wide_net), trace_of(&net));
    let times: Vec<f64> = (0..=500).map(|k| T_END * k as f64 / 500.0).collect();
    let mut spiking = 0;
    for (layer, neuron) in [(0, 0), (0, 7), (0, 21), (0, 39), (1, 0), (1, 3)] {
        let states = |n: &Net, t: &ForwardTrace<[f64; 2]>| {
            let mut out = Vec::new();
            n.states_at(&params, t, layer, neuron, &times, &mut out)
                .unwrap();
            out.concat()
        };
        let at = format!("layer {layer}, neuron {neuron}");
        assert_close(
            &states(&net, &trace),
            &states(&wide_net, &wide_trace),
            1e-9,
            &at,
        );
        spiking += usize::from(!trace.layers[layer].outputs.channel(neuron).is_empty());
    }
    assert!(spiking >= 3, "{spiking} of the neurons spiked");
    let n_out = trace.layers[1].outputs.n_spikes();
    assert!(n_out > 0);
    let dl: Vec<f64> = (0..n_out).map(|k| 1.0 + k as f64).collect();
    let grad_of = |n: &Net, t: &ForwardTrace<[f64; 2]>| {
        let (mut ws, mut dl_in) = (n.workspace(), Vec::new());
        let mut grad = params.zeros_like();
        n.backward(&params, input, t, &dl, &mut ws, &mut grad, &mut dl_in)
            .map(|()| grad)
    };
    assert!(matches!(
        grad_of(&net, &wide_trace),
        Err(NetError::TraceMismatch { layer: 0, .. })
    ));
    let (a, b) = (
        grad_of(&net, &trace).unwrap(),
        grad_of(&wide_net, &trace).unwrap(),
    );
    for (a, b) in a.layers.iter().zip(&b.layers) {
        assert_close(&a.weights, &b.weights, 1e-9, "weights");
        let (ra, rb) = (a.recurrent_weights.as_ref(), b.recurrent_weights.as_ref());
        assert_close(ra.unwrap(), rb.unwrap(), 1e-9, "recurrent weights");
    }
}

/// Layers with delays run layer-wide, axonal (which shift each input
/// channel's spikes alike for every neuron: `LifLayer`), synaptic (each
/// neuron's own arrivals: `DelayedLifLayer`) or both: the neuron-by-neuron
/// loss and gradient (the delays' included) to round-off, feed-forward
/// and recurrent, with arrivals past `t_end` dropped; and the membrane
/// traces of the trace.
#[test]
fn delays_are_the_neuron_by_neuron_ones() {
    let (net, wide_net, inputs, labels) = four_classes(16, 7);
    let loss = TtfsLoss::default();
    // Up to 12 ms: inputs after 38 ms arrive past `t_end` on some channels.
    let up_to_12 = Some(Distribution::Uniform {
        mean: 6.0,
        width: 12.0,
    });
    let kinds = [
        (
            "axonal",
            DelayInit {
                synaptic: None,
                axonal: up_to_12,
            },
        ),
        (
            "synaptic",
            DelayInit {
                synaptic: up_to_12,
                axonal: None,
            },
        ),
        (
            "both",
            DelayInit {
                synaptic: up_to_12,
                axonal: up_to_12,
            },
        ),
    ];
    let feed_forward = net.init_params(&strong_init(), 3).unwrap();
    for ((kind, delays), params) in kinds.iter().flat_map(|k| {
        [
            (k, feed_forward.clone()),
            (k, recurrent_params(&net, false)),
        ]
    }) {
        let params = params.with_delays(delays, 3).unwrap();
        let recurrent = format!("{kind}, recurrent {}", params.is_recurrent());
        let by_neuron = BatchRunner::new(net.clone())
            .loss_and_grad(&params, &inputs, &labels, &loss)
            .unwrap();
        let wide = BatchRunner::new(wide_net.clone())
            .loss_and_grad(&params, &inputs, &labels, &loss)
            .unwrap();
        let (a, b) = (wide.loss_sum, by_neuron.loss_sum);
        assert!(
            (a - b).abs() <= 1e-10 * b.abs(),
            "{recurrent}: {a} against {b}"
        );
        let (g, want) = (wide.grad.unwrap(), by_neuron.grad.unwrap());
        for (layer, (a, b)) in g.layers.iter().zip(&want.layers).enumerate() {
            let at = format!("{recurrent}, layer {layer}");
            assert_close(&a.weights, &b.weights, 1e-9, &format!("{at} weights"));
            assert_close(
                &a.neuron_params,
                &b.neuron_params,
                1e-9,
                &format!("{at} biases"),
            );
            for (what, da, db) in [
                ("axonal", &a.axonal_delays, &b.axonal_delays),
                ("synaptic", &a.synaptic_delays, &b.synaptic_delays),
            ] {
                assert_eq!(da.is_some(), db.is_some(), "{at} {what}");
                let (Some(da), Some(db)) = (da, db) else {
                    continue;
                };
                assert_close(da, db, 1e-9, &format!("{at} {what} delays"));
                // The loss reaches the inputs before the outputs' first
                // spikes: several synapses of each layer.
                let nonzero = da.iter().filter(|&&d| d != 0.0).count();
                assert!(nonzero >= 4, "{at} {what}: {nonzero} nonzero");
            }
            if a.recurrent_weights.is_some() {
                let (ra, rb) = (a.recurrent_weights.as_ref(), b.recurrent_weights.as_ref());
                assert_close(ra.unwrap(), rb.unwrap(), 1e-9, &format!("{at} recurrent"));
            }
        }
        let times: Vec<f64> = (0..=500).map(|k| T_END * k as f64 / 500.0).collect();
        for (layer, neuron) in [(0, 0), (0, 13), (1, 2)] {
            let states = |n: &Net| {
                let (mut ws, mut trace) = (n.workspace(), ForwardTrace::default());
                n.forward(&params, &inputs[0], &mut ws, &mut trace).unwrap();
                let mut out = Vec::new();
                n.states_at(&params, &trace, layer, neuron, &times, &mut out)
                    .unwrap();
                out.concat()
            };
            let at = format!("{recurrent}, layer {layer}, neuron {neuron}");
            assert_close(&states(&net), &states(&wide_net), 1e-9, &at);
        }
    }
}

/// A layer-wide neuron past the network's limit of spikes per run
/// (`SolverOptions::max_spikes`) is the same typed error as a neuron run on
/// its own, naming the layer and the neuron, feed-forward and recurrent
/// (where runaway excitation would otherwise never end).
#[test]
fn the_spike_limit_holds_layer_wide() {
    let opts = SolverOptions::default().with_max_spikes(2);
    let net = FeedForward::new(Lif::default(), &[8, 40, 4], ClosedForm, opts, T_END).unwrap();
    let input = samples(1, 8, 9).swap_remove(0);
    let feed_forward = net.init_params(&strong_init(), 3).unwrap();
    let excite = RecurrentInit {
        self_connections: true,
        ..RecurrentInit::new(Distribution::Normal {
            mean: 3.0,
            std: 0.1,
        })
    };
    let runaway = feed_forward
        .clone()
        .with_recurrent(&[0], &excite, 3)
        .unwrap();
    for params in [feed_forward, runaway] {
        let errors = [net.clone(), net.clone().with_layer_wide(true)].map(|n| {
            let (mut ws, mut trace) = (n.workspace(), ForwardTrace::default());
            n.forward(&params, &input, &mut ws, &mut trace).unwrap_err()
        });
        for e in &errors {
            match e {
                NetError::Solver {
                    layer: 0,
                    source: SolverError::SpikeLimit { limit: 2, .. },
                    ..
                } => {}
                other => panic!("recurrent {}: {other}", params.is_recurrent()),
            }
        }
    }
}

/// Neurons that spike at one instant (identical neurons with identical
/// inputs): the layer-wide recurrent layer takes the spikes in the order
/// of the neurons, each reaching the others after their own, as the
/// event-by-event layer does; the same spikes to round-off.
#[test]
fn simultaneous_recurrent_spikes_are_taken_in_neuron_order() {
    let net = lif_net(&[3, 4]);
    let mut params = net.init_params(&strong_init(), 1).unwrap();
    let l = &mut params.layers[0];
    // Neurons 0 and 1 identical, as are 2 and 3.
    let (w0, w2) = (l.weights[..3].to_vec(), l.weights[6..9].to_vec());
    l.weights[3..6].copy_from_slice(&w0);
    l.weights[9..12].copy_from_slice(&w2);
    l.neuron_params = vec![0.1, 0.1, 0.2, 0.2];
    for (rec, what) in [(0.4, "excitatory"), (-0.6, "inhibitory")] {
        let mut p = params.clone();
        let mut w = vec![rec; 16];
        for j in 0..4 {
            w[j * 4 + j] = 0.0;
        }
        p.layers[0].recurrent_weights = Some(w);
        let input =
            SpikeTrains::from_trains(&[vec![1.0, 7.0], vec![2.0], vec![3.0, 12.0]]).unwrap();
        let [a, b] = [net.clone(), net.clone().with_layer_wide(true)].map(|n| {
            let (mut ws, mut trace) = (n.workspace(), ForwardTrace::default());
            n.forward(&p, &input, &mut ws, &mut trace).unwrap();
            trace.layers[0].outputs.to_trains()
        });
        assert!(
            !a[0].is_empty() && a[0].len() == a[1].len(),
            "{what}: {a:?}"
        );
        assert_close(&a[0], &a[1], 1e-12, what);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.len(), y.len(), "{what}: {a:?} against {b:?}");
            assert_close(x, y, 1e-12, what);
        }
    }
}
