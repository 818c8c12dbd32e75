//! Bad input to networks: every case is a typed error whose message names
//! the bad value (or, for valid edge cases, a defined result), on the QIF
//! (Dormand–Prince) and LIF (closed form) networks.

use evnn_net::BatchRunner;
use evnn_net::{
    gradcheck, EntryStatus, FeedForward, ForwardTrace, GradCheckOptions, InitConfig, LossPass,
    NetError, NetworkParams, ParamRef, SpikeTrains, TtfsLoss,
};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_solver::{Adjoint, Backend, ClosedForm, Dopri5Backend, SolverError, SolverOptions};

const SIZES: [usize; 3] = [3, 4, 2];

fn qif_net() -> FeedForward<Qif, Dopri5Backend> {
    FeedForward::new(
        Qif::default(),
        &SIZES,
        Dopri5Backend::default(),
        SolverOptions::default(),
        30.0,
    )
    .unwrap()
}

fn lif_net() -> FeedForward<Lif, ClosedForm> {
    FeedForward::new(
        Lif::default(),
        &SIZES,
        ClosedForm,
        SolverOptions::default(),
        30.0,
    )
    .unwrap()
}

fn params<N: NeuronModel>(wmean: f64) -> NetworkParams {
    let init = InitConfig {
        wmean,
        wlim: 1.0,
        ..InitConfig::default()
    };
    NetworkParams::init::<N>(&SIZES, &init, 1).unwrap()
}

fn input() -> SpikeTrains {
    SpikeTrains::from_times(&[1.0, 2.0, 3.0]).unwrap()
}

/// Runs `f` on both networks with parameters that make them spike.
fn on_both(
    f: impl Fn(&dyn Fn(&NetworkParams, &SpikeTrains, usize) -> Result<(), NetError>, NetworkParams),
) {
    let qif = qif_net();
    f(&|p, x, y| batch(&qif, p, x, y), params::<Qif>(20.0));
    let lif = lif_net();
    f(&|p, x, y| batch(&lif, p, x, y), params::<Lif>(3.0));
}

fn batch<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    net: &FeedForward<N, B>,
    p: &NetworkParams,
    x: &SpikeTrains,
    y: usize,
) -> Result<(), NetError> {
    let x = std::slice::from_ref(x);
    let result = BatchRunner::new(net.clone())
        .loss_and_grad(p, x, &[y], &TtfsLoss::default())
        .map(|_| ());
    // The prediction pass (which takes no label) refuses the same inputs and
    // parameters with the same message.
    if y < net.n_outputs() {
        let message = |r: &Result<_, NetError>| r.as_ref().err().map(|e| e.to_string());
        let predicted = BatchRunner::new(net.clone()).predict(p, x).map(|_| ());
        assert_eq!(message(&predicted), message(&result));
    }
    result
}

fn assert_message(e: &NetError, needles: &[&str]) {
    let m = e.to_string();
    for n in needles {
        assert!(m.contains(n), "`{n}` not in `{m}`");
    }
}

#[test]
fn nan_weight_is_named_with_layer_and_index() {
    on_both(|run, mut p| {
        p.layers[1].weights[5] = f64::NAN;
        let e = run(&p, &input(), 0).unwrap_err();
        assert!(
            matches!(e, NetError::NonFiniteParameter { layer: 1, what: "weights", index: 5, value } if value.is_nan()),
            "{e:?}"
        );
        assert_message(&e, &["layer 1", "weights[5]", "NaN"]);
    });
}

#[test]
fn infinite_bias_is_named() {
    on_both(|run, mut p| {
        p.layers[0].neuron_params[2] = f64::NEG_INFINITY;
        let e = run(&p, &input(), 0).unwrap_err();
        assert!(
            matches!(
                e,
                NetError::NonFiniteParameter {
                    layer: 0,
                    what: "bias",
                    index: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_message(&e, &["bias[2]", "-inf"]);
    });
}

#[test]
fn parameters_of_another_architecture_are_rejected() {
    on_both(|run, _| {
        let other = NetworkParams::init::<Qif>(&[3, 5, 2], &InitConfig::default(), 0).unwrap();
        let e = run(&other, &input(), 0).unwrap_err();
        assert!(matches!(e, NetError::Architecture { .. }), "{e:?}");
        assert_message(&e, &["[3, 5, 2]"]);
    });
}

#[test]
fn weight_buffer_of_wrong_length_is_rejected() {
    on_both(|run, mut p| {
        p.layers[0].weights.pop();
        let e = run(&p, &input(), 0).unwrap_err();
        assert!(
            matches!(
                e,
                NetError::Shape {
                    expected: 12,
                    got: 11,
                    ..
                }
            ),
            "{e:?}"
        );
    });
}

#[test]
fn layers_that_do_not_chain_are_rejected() {
    let mut p = params::<Qif>(20.0);
    p.layers[1].n_in = 5;
    p.layers[1].weights = vec![1.0; 10];
    let e = p.validate(1, &["bias"]).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                expected: 4,
                got: 5,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn wrong_number_of_input_channels_is_rejected() {
    on_both(|run, p| {
        let x = SpikeTrains::from_times(&[1.0, 2.0]).unwrap();
        let e = run(&p, &x, 0).unwrap_err();
        assert_message(&e, &["sample 0", "input channels", "expected 3, got 2"]);
    });
}

#[test]
fn invalid_input_times_are_named() {
    for (bad, needle) in [(f64::NAN, "NaN"), (-0.5, "-0.5"), (f64::INFINITY, "inf")] {
        let e = SpikeTrains::from_trains(&[vec![1.0], vec![0.5, bad]]).unwrap_err();
        assert!(
            matches!(
                e,
                NetError::InvalidInputTime {
                    channel: 1,
                    index: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_message(&e, &[needle]);
        // Appended channel by channel, the bad channel is refused and
        // nothing of it is kept; deserialized, the file is refused.
        let mut x = SpikeTrains::new();
        x.push_channel(&[1.0]).unwrap();
        let e = x.push_channel(&[0.5, bad]).unwrap_err();
        assert_message(&e, &["input channel 1, spike 1", needle]);
        assert_eq!(x.n_channels(), 1);
        assert_eq!(x.n_spikes(), 1);
        if bad.is_finite() {
            let json = format!(r#"{{"times": [1.0, 0.5, {bad}], "offsets": [0, 1, 3]}}"#);
            let e = serde_json::from_str::<SpikeTrains>(&json).unwrap_err();
            assert!(e.to_string().contains("input channel 1, spike 1"), "{e}");
        }
    }
}

#[test]
fn unsorted_input_times_name_both_times() {
    let e = SpikeTrains::from_trains(&[vec![3.0, 1.25]]).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::UnsortedInput {
                channel: 0,
                index: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_message(&e, &["1.25", "t = 3"]);
}

#[test]
fn empty_layers_and_no_layers_are_rejected() {
    for sizes in [vec![3, 0, 2], vec![0, 2], vec![3]] {
        let e = FeedForward::new(
            Qif::default(),
            &sizes,
            Dopri5Backend::default(),
            SolverOptions::default(),
            30.0,
        )
        .err()
        .unwrap_or_else(|| panic!("{sizes:?} accepted"));
        assert!(matches!(e, NetError::Architecture { .. }), "{e:?}");
        assert_message(&e, &[&format!("{sizes:?}")]);
    }
}

#[test]
fn bad_end_times_are_named() {
    for t_end in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = FeedForward::new(
            Lif::default(),
            &SIZES,
            ClosedForm,
            SolverOptions::default(),
            t_end,
        )
        .err()
        .unwrap();
        assert!(
            matches!(e, NetError::InvalidConfig { name: "t_end", .. }),
            "{e:?}"
        );
        assert_message(&e, &[&format!("{t_end}")]);
    }
}

#[test]
fn bad_solver_options_are_named() {
    let e = FeedForward::new(
        Qif::default(),
        &SIZES,
        Dopri5Backend::default(),
        SolverOptions::default().with_tolerances(f64::NAN, 1e-6),
        30.0,
    )
    .err()
    .unwrap();
    assert!(
        matches!(
            e,
            NetError::Solver {
                source: SolverError::InvalidOption { name: "rtol", .. },
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn labels_out_of_range_are_named_with_their_sample() {
    on_both(|run, p| {
        let e = run(&p, &input(), 2).unwrap_err();
        assert_message(&e, &["sample 0", "label 2 out of range for 2 classes"]);
    });
}

#[test]
fn label_count_must_match_sample_count() {
    let net = lif_net();
    let e = BatchRunner::new(net.clone())
        .loss(
            &params::<Lif>(3.0),
            &[input(), input()],
            &[0],
            &TtfsLoss::default(),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn bad_loss_constants_are_named() {
    let net = lif_net();
    let loss = TtfsLoss {
        tau0: -0.5,
        ..TtfsLoss::default()
    };
    let e = BatchRunner::new(net.clone())
        .loss(&params::<Lif>(3.0), &[input()], &[0], &loss)
        .unwrap_err();
    assert!(
        matches!(e, NetError::InvalidConfig { name: "tau0", .. }),
        "{e:?}"
    );
    assert_message(&e, &["-0.5"]);
}

/// Valid: a sample without input spikes gives no output spikes (QIF starts
/// at rest with bias 0; LIF at v = 0 below threshold): every output is
/// silent, enters the loss as t_max with zero gradient, and there is no
/// prediction.
#[test]
fn sample_without_input_spikes_is_valid_and_silent() {
    fn check<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
        net: &FeedForward<N, B>,
        mut p: NetworkParams,
    ) {
        for l in &mut p.layers {
            l.neuron_params.iter_mut().for_each(|b| *b = 0.0);
        }
        let mut x = SpikeTrains::new();
        for _ in 0..3 {
            x.push_channel(&[]).unwrap();
        }
        let mut trace = ForwardTrace::default();
        net.forward(&p, &x, &mut net.workspace(), &mut trace)
            .unwrap();
        assert_eq!(trace.output().unwrap().n_spikes(), 0);
        let r = BatchRunner::new(net.clone())
            .loss_and_grad(&p, &[x], &[1], &TtfsLoss::default())
            .unwrap();
        assert_eq!(r.first_spikes, vec![vec![f64::INFINITY; 2]]);
        assert_eq!(r.correct, 0);
        assert!(r.loss_sum.is_finite());
        assert!(r.grad.unwrap().to_flat().iter().all(|g| *g == 0.0));
    }
    check(&qif_net(), params::<Qif>(20.0));
    check(&lif_net(), params::<Lif>(3.0));
}

/// Runaway spiking from huge weights stops at the spike limit, with layer,
/// neuron and sample named. On demand, the loss pass stops the runaway hidden
/// neurons once the output neurons are done, before they reach the limit.
#[test]
fn runaway_spiking_hits_the_spike_limit() {
    let opts = SolverOptions::default().with_max_spikes(200);
    let qif = FeedForward::new(Qif::default(), &SIZES, Dopri5Backend::default(), opts, 30.0)
        .unwrap()
        .with_loss_pass(LossPass::LayerByLayer);
    let mut p = params::<Qif>(20.0);
    p.layers[0].neuron_params.iter_mut().for_each(|b| *b = 1e6);
    let on_demand = qif.clone().with_loss_pass(LossPass::OnDemand);
    let r = BatchRunner::new(on_demand.clone())
        .loss_and_grad(&p, &[input()], &[0], &TtfsLoss::default())
        .unwrap();
    assert!(r.loss_sum.is_finite());
    let e = batch(&qif, &p, &input(), 0).unwrap_err();
    let NetError::Sample { sample: 0, source } = &e else {
        panic!("{e:?}")
    };
    assert!(
        matches!(
            **source,
            NetError::Solver {
                layer: 0,
                neuron: 0,
                source: SolverError::SpikeLimit { limit: 200, .. }
            }
        ),
        "{e:?}"
    );
    assert_message(&e, &["sample 0", "layer 0, neuron 0", "spike limit"]);
    let lif = FeedForward::new(Lif::default(), &SIZES, ClosedForm, opts, 30.0)
        .unwrap()
        .with_loss_pass(LossPass::LayerByLayer);
    let mut p = params::<Lif>(3.0);
    p.layers[0].neuron_params.iter_mut().for_each(|b| *b = 1e6);
    let e = batch(&lif, &p, &input(), 0).unwrap_err();
    assert_message(
        &e,
        &["layer 0, neuron 0", "spike limit reached: more than 200"],
    );
}

#[test]
fn backward_with_sensitivities_of_the_wrong_length_is_rejected() {
    let net = qif_net();
    let p = params::<Qif>(20.0);
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    net.forward(&p, &input(), &mut ws, &mut trace).unwrap();
    let n = trace.output().unwrap().n_spikes();
    let mut grad = p.zeros_like();
    let e = net
        .backward(
            &p,
            &input(),
            &trace,
            &vec![0.0; n + 1],
            &mut ws,
            &mut grad,
            &mut Vec::new(),
        )
        .unwrap_err();
    assert!(
        matches!(e, NetError::Shape { got, .. } if got == n + 1),
        "{e:?}"
    );
    let mut dl = vec![0.0; n];
    if n > 0 {
        dl[0] = f64::NAN;
        let e = net
            .backward(
                &p,
                &input(),
                &trace,
                &dl,
                &mut ws,
                &mut grad,
                &mut Vec::new(),
            )
            .unwrap_err();
        assert_message(&e, &["NaN"]);
    }
}

/// The backward pass handed another input than the forward pass's (the
/// same channel count, other times or another spike count): a
/// `TraceMismatch` naming the input spike, not an index out of bounds or a
/// gradient of the wrong sample.
#[test]
fn backward_with_another_input_is_a_trace_mismatch() {
    let net = lif_net();
    let p = params::<Lif>(3.0);
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    net.forward(&p, &input(), &mut ws, &mut trace).unwrap();
    let dl = vec![1.0; trace.output().unwrap().n_spikes()];
    let mut grad = p.zeros_like();
    let mut backward =
        |x: &SpikeTrains| net.backward(&p, x, &trace, &dl, &mut ws, &mut grad, &mut Vec::new());
    backward(&input()).unwrap();
    let later = SpikeTrains::from_times(&[1.0, 2.5, 3.0]).unwrap();
    let e = backward(&later).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::TraceMismatch {
                layer: 0,
                neuron: None,
                expected: 2.5,
                got: 2.0,
                ..
            }
        ),
        "{e:?}"
    );
    assert_message(&e, &["forward trace does not fit", "input spike time"]);
    let more = SpikeTrains::from_trains(&[vec![1.0, 4.0], vec![2.0], vec![3.0, 5.0]]).unwrap();
    let e = backward(&more).unwrap_err();
    assert!(
        matches!(e, NetError::TraceMismatch { layer: 0, .. }),
        "{e:?}"
    );
    let fewer = SpikeTrains::from_trains(&[vec![], vec![2.0], vec![3.0]]).unwrap();
    let e = backward(&fewer).unwrap_err();
    assert!(
        matches!(e, NetError::TraceMismatch { layer: 0, .. }),
        "{e:?}"
    );
    let e = backward(&SpikeTrains::from_times(&[1.0, 2.0]).unwrap()).unwrap_err();
    assert_message(&e, &["input channels", "expected 3, got 2"]);
}

/// The backward pass checks the parameters as the forward pass does, the
/// gradient buffer's shape, and a trace edited after the forward pass.
#[test]
fn backward_checks_parameters_gradient_buffer_and_trace() {
    let net = lif_net();
    let p = params::<Lif>(3.0);
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    net.forward(&p, &input(), &mut ws, &mut trace).unwrap();
    let dl = vec![1.0; trace.output().unwrap().n_spikes()];
    let mut backward =
        |p: &NetworkParams, trace: &ForwardTrace<[f64; 2]>, grad: &mut NetworkParams| {
            net.backward(p, &input(), trace, &dl, &mut ws, grad, &mut Vec::new())
        };
    let mut short = p.clone();
    short.layers[1].weights.pop();
    let e = backward(&short, &trace, &mut p.zeros_like()).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                expected: 8,
                got: 7,
                ..
            }
        ),
        "{e:?}"
    );
    let other = NetworkParams::init::<Lif>(&[3, 5, 2], &InitConfig::default(), 0).unwrap();
    let e = backward(&other, &trace, &mut p.zeros_like()).unwrap_err();
    assert!(matches!(e, NetError::Architecture { .. }), "{e:?}");
    let mut grad = p.zeros_like();
    grad.layers[0].neuron_params.push(0.0);
    let e = backward(&p, &trace, &mut grad).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                expected: 4,
                got: 5,
                ..
            }
        ),
        "{e:?}"
    );
    // A neuron record dropped, and an input spike moved to a channel that
    // the layer before does not have.
    let mut edited = trace.clone();
    edited.layers[1].neurons.pop();
    let e = backward(&p, &edited, &mut p.zeros_like()).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::TraceMismatch {
                layer: 1,
                expected: 2.0,
                got: 1.0,
                ..
            }
        ),
        "{e:?}"
    );
    let mut edited = trace.clone();
    assert!(
        !edited.layers[1].inputs.is_empty(),
        "the hidden layer spikes"
    );
    edited.layers[1].inputs[0].channel = 9;
    let e = backward(&p, &edited, &mut p.zeros_like()).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::TraceMismatch {
                layer: 1,
                expected: 4.0,
                got: 9.0,
                ..
            }
        ),
        "{e:?}"
    );
    assert_message(&e, &["layer 1", "input spike channel", "expected 4, got 9"]);
}

/// Adding parameters of another shape is an error that leaves the sum
/// untouched, not a sum of the overlapping part.
#[test]
fn adding_parameters_of_another_shape_is_an_error() {
    let mut total = params::<Lif>(3.0);
    let before = total.clone();
    let other = NetworkParams::init::<Lif>(&[3, 5, 2], &InitConfig::default(), 0).unwrap();
    let e = total.add_assign(&other).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                what: "layer neurons (n_out)",
                expected: 4,
                got: 5
            }
        ),
        "{e:?}"
    );
    assert_eq!(total, before);
    let mut short = before.clone();
    short.layers[1].neuron_params.pop();
    let e = total.add_assign(&short).unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Shape {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(total, before);
    total.add_assign(&before).unwrap();
    assert_eq!(total.to_flat()[0], 2.0 * before.to_flat()[0]);
}

/// A perturbation whose forward pass cannot run (here an input spike at
/// t = 0 moved to t < 0) is reported with the perturbation and the error,
/// not as a change of the event sequence.
#[test]
fn gradcheck_names_the_perturbation_that_failed() {
    let net = lif_net();
    let p = params::<Lif>(3.0);
    let x = SpikeTrains::from_times(&[0.0, 2.0, 3.0]).unwrap();
    let loss = |out: &SpikeTrains| (out.flat().iter().sum::<f64>(), vec![1.0; out.n_spikes()]);
    let report = gradcheck(&net, &p, &x, &loss, &GradCheckOptions::default()).unwrap();
    let errors = report.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let entry = errors[0];
    assert_eq!(entry.param, ParamRef::InputTime { channel: 0, k: 0 });
    let EntryStatus::PerturbationFailed { delta, error } = &entry.status else {
        panic!("{entry:?}")
    };
    assert!(*delta < 0.0, "{delta}");
    assert!(
        matches!(error, NetError::InvalidInputTime { channel: 0, index: 0, time } if *time == *delta),
        "{error:?}"
    );
    assert_eq!(entry.skipped, Some("a perturbed forward pass failed"));
    // Every other entry carries its own status; the compared ones pass.
    assert!(report.is_ok(), "{:?}", report.failures());
    assert!(report.compared() > 0);
    for e in &report.entries {
        assert_eq!(e.skipped, e.status.reason(), "{e:?}");
        assert_eq!(e.skipped.is_none(), e.status == EntryStatus::Compared);
    }
}

/// `states_at` names a layer, neuron or time the network or the trace does
/// not have; the good call after them works.
#[test]
fn states_at_names_bad_layers_neurons_and_times() {
    let net = lif_net();
    let p = params::<Lif>(3.0);
    let x = SpikeTrains::from_times(&[0.0, 2.0, 3.0]).unwrap();
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    net.forward(&p, &x, &mut ws, &mut trace).unwrap();
    let mut out = Vec::new();
    let n_layers = SIZES.len() - 1;
    match net.states_at(&p, &trace, n_layers, 0, &[1.0], &mut out) {
        Err(NetError::Shape { expected, got, .. }) => {
            assert_eq!((expected, got), (n_layers, n_layers))
        }
        other => panic!("{other:?}"),
    }
    match net.states_at(&p, &trace, 0, SIZES[1], &[1.0], &mut out) {
        Err(NetError::Shape { expected, got, .. }) => {
            assert_eq!((expected, got), (SIZES[1], SIZES[1]))
        }
        other => panic!("{other:?}"),
    }
    match net.states_at(&p, &ForwardTrace::default(), 0, 0, &[1.0], &mut out) {
        Err(NetError::Shape { what, .. }) => assert!(what.contains("trace"), "{what}"),
        other => panic!("{other:?}"),
    }
    for bad in [-0.5, 30.5, f64::NAN] {
        match net.states_at(&p, &trace, 0, 0, &[bad], &mut out) {
            Err(NetError::Solver {
                layer: 0,
                neuron: 0,
                source: SolverError::QueryTimeOutOfRange { t, t_end },
            }) => assert!(t.to_bits() == bad.to_bits() && t_end == 30.0),
            other => panic!("t = {bad}: {other:?}"),
        }
    }
    net.states_at(&p, &trace, 0, 0, &[0.0, 15.0, 30.0], &mut out)
        .unwrap();
    assert_eq!(out.len(), 3);
}
