//! The public API called with mismatched and random shapes: a network of
//! random (sometimes invalid) layer sizes, parameters of another shape or
//! with a buffer cut short, inputs with the wrong channel count, a backward
//! pass handed another input, a trace edited after the forward pass, or a
//! gradient buffer of the wrong shape; parameter and spike-train helpers
//! with out-of-range indices and inconsistent serialized data. No call may
//! panic, and where the mistake decides the error, the error is that typed
//! one (`NetError::Architecture`, `Shape`, `TraceMismatch`, ...).
//!
//! Runs [`CASES`] cases per property in `cargo test` (LIF in closed form:
//! each case costs a few forward and backward passes of a tiny network).

use evnn_net::BatchRunner;
use evnn_net::{
    FeedForward, ForwardTrace, LayerParams, NetError, NetworkParams, SpikeTrains, TtfsLoss,
};
use evnn_neurons::Lif;
use evnn_solver::{ClosedForm, EventKind, SolverError, SolverOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Cases per property.
const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/public_api.txt",
        ))),
        ..Config::default()
    }
}

/// A change to valid parameters (or to a gradient buffer).
#[derive(Clone, Debug)]
enum ParamEdit {
    None,
    /// Drop the last weight of a layer.
    PopWeight(usize),
    /// Add a neuron parameter to a layer.
    PushNeuronParam(usize),
    /// Claim one more input in a layer.
    GrowInputs(usize),
    /// A NaN weight.
    NanWeight(usize),
}

impl ParamEdit {
    fn strategy() -> impl Strategy<Value = ParamEdit> {
        prop_oneof![
            12 => Just(ParamEdit::None),
            1 => (0usize..4).prop_map(ParamEdit::PopWeight),
            1 => (0usize..4).prop_map(ParamEdit::PushNeuronParam),
            1 => (0usize..4).prop_map(ParamEdit::GrowInputs),
            1 => (0usize..4).prop_map(ParamEdit::NanWeight),
        ]
    }

    /// Applies the edit; the error the parameters' check must then give
    /// (`None` when the edit changed nothing).
    fn apply(&self, p: &mut NetworkParams) -> Option<fn(&NetError) -> bool> {
        let n = p.layers.len();
        match *self {
            ParamEdit::None => None,
            ParamEdit::PopWeight(l) => {
                p.layers[l % n].weights.pop();
                Some(|e| matches!(e, NetError::Shape { .. }))
            }
            ParamEdit::PushNeuronParam(l) => {
                p.layers[l % n].neuron_params.push(0.5);
                Some(|e| matches!(e, NetError::Shape { .. }))
            }
            ParamEdit::GrowInputs(l) => {
                p.layers[l % n].n_in += 1;
                Some(|e| matches!(e, NetError::Architecture { .. }))
            }
            ParamEdit::NanWeight(l) => {
                p.layers[l % n].weights[0] = f64::NAN;
                Some(|e| matches!(e, NetError::NonFiniteParameter { .. }))
            }
        }
    }
}

/// A change to a forward trace after the forward pass. Indices are reduced
/// modulo the lengths they index.
#[derive(Clone, Debug)]
enum TraceEdit {
    None,
    DropLayer,
    DropNeuron(usize),
    ClearSpikes(usize, usize),
    InputChannel(usize, usize, u32),
    InputNumber(usize, usize, u32),
    InputTime(usize, usize, f64),
    EventIndex(usize, usize, usize, usize),
}

impl TraceEdit {
    fn strategy() -> impl Strategy<Value = TraceEdit> {
        let ix = || 0usize..8;
        prop_oneof![
            6 => Just(TraceEdit::None),
            1 => Just(TraceEdit::DropLayer),
            1 => ix().prop_map(TraceEdit::DropNeuron),
            1 => (ix(), ix()).prop_map(|(l, j)| TraceEdit::ClearSpikes(l, j)),
            1 => (ix(), ix(), 0u32..3).prop_map(|(l, m, c)| TraceEdit::InputChannel(l, m, c)),
            1 => (ix(), ix(), 1u32..3).prop_map(|(l, m, k)| TraceEdit::InputNumber(l, m, k)),
            1 => (ix(), ix(), -1.0..40.0f64).prop_map(|(l, m, t)| TraceEdit::InputTime(l, m, t)),
            1 => (ix(), ix(), ix(), 1usize..1000).prop_map(|(l, j, e, i)| TraceEdit::EventIndex(l, j, e, i)),
        ]
    }

    /// Applies the edit to `trace` (of `sizes`, inputs first). What the
    /// backward pass must then answer: `Some(check)` when the edit
    /// determines the error, `None` when the result may be `Ok` (the edit
    /// changed nothing the backward pass reads, or only in a neuron whose
    /// adjoint it skips).
    fn apply(&self, trace: &mut ForwardTrace<[f64; 2]>) -> Option<fn(&NetError) -> bool> {
        let n_layers = trace.layers.len();
        let mismatch: fn(&NetError) -> bool = |e| matches!(e, NetError::TraceMismatch { .. });
        match *self {
            TraceEdit::None => None,
            TraceEdit::DropLayer => {
                trace.layers.pop();
                Some(|e| {
                    matches!(
                        e,
                        NetError::Shape {
                            what: "forward trace layers",
                            ..
                        }
                    )
                })
            }
            TraceEdit::DropNeuron(l) => {
                trace.layers[l % n_layers].neurons.pop();
                Some(mismatch)
            }
            TraceEdit::ClearSpikes(l, j) => {
                let lt = &mut trace.layers[l % n_layers];
                let n = lt.neurons.len();
                let neuron = &mut lt.neurons[j % n];
                let had = !neuron.spikes.is_empty();
                neuron.spikes.clear();
                had.then_some(mismatch)
            }
            TraceEdit::InputChannel(l, m, extra) => {
                let l = l % n_layers;
                let n_channels = if l == 0 {
                    None
                } else {
                    Some(trace.layers[l - 1].outputs.n_channels())
                };
                let lt = &mut trace.layers[l];
                let len = lt.inputs.len();
                let spike = lt.inputs.get_mut(m % len.max(1))?;
                // Past the last channel (the input's count is the network's).
                spike.channel = n_channels.unwrap_or(64) as u32 + extra;
                Some(mismatch)
            }
            TraceEdit::InputNumber(l, m, extra) => {
                let lt = &mut trace.layers[l % n_layers];
                let len = lt.inputs.len();
                let spike = lt.inputs.get_mut(m % len.max(1))?;
                spike.k += 64 + extra;
                Some(mismatch)
            }
            TraceEdit::InputTime(l, m, t) => {
                let lt = &mut trace.layers[l % n_layers];
                let len = lt.inputs.len();
                let spike = lt.inputs.get_mut(m % len.max(1))?;
                let changed = spike.time.to_bits() != t.to_bits();
                spike.time = t;
                changed.then_some(mismatch)
            }
            TraceEdit::EventIndex(l, j, e, big) => {
                let lt = &mut trace.layers[l % n_layers];
                let n = lt.neurons.len();
                let neuron = &mut lt.neurons[j % n];
                let len = neuron.events.len();
                let event = neuron.events.get_mut(e % len.max(1))?;
                event.kind = match event.kind {
                    EventKind::Input { index } => EventKind::Input { index: index + big },
                    EventKind::Spike { k } => EventKind::Spike { k: k + big },
                    EventKind::JumpSpike { k, index } => EventKind::JumpSpike { k: k + big, index },
                    EventKind::Blocked { index } => EventKind::Blocked { index: index + big },
                    EventKind::RefractoryEnd { k } => EventKind::RefractoryEnd { k: k + big },
                };
                // Only a neuron whose adjoint runs reads its event log.
                None
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Case {
    /// The network's layer sizes (sometimes invalid).
    sizes: Vec<usize>,
    /// The parameters' sizes, when not the network's.
    other_sizes: Option<Vec<usize>>,
    param_edit: ParamEdit,
    grad_edit: ParamEdit,
    /// Input channels of the forward pass; `other_input` those handed to
    /// the backward pass (when given).
    input: Vec<Vec<f64>>,
    other_input: Option<Vec<Vec<f64>>>,
    label: usize,
    trace_edit: TraceEdit,
    weight_mean: f64,
    seed: u64,
}

fn channels(n: usize) -> impl Strategy<Value = Vec<Vec<f64>>> {
    let train = prop::collection::vec(0.0..30.0f64, 0..3).prop_map(|mut v| {
        v.sort_by(f64::total_cmp);
        v
    });
    prop::collection::vec(train, n)
}

fn case() -> impl Strategy<Value = Case> {
    let sizes = prop_oneof![
        12 => prop::collection::vec(1usize..=4, 2..=4),
        1 => prop::collection::vec(0usize..=3, 0..=3),
    ];
    sizes.prop_flat_map(|sizes| {
        let n_in = sizes.first().copied().unwrap_or(1).max(1);
        let n_out = sizes.last().copied().unwrap_or(1).max(1);
        let input = prop_oneof![
            12 => channels(n_in),
            1 => (0usize..=5).prop_flat_map(channels),
        ];
        let other_input = prop_oneof![
            8 => Just(None),
            1 => channels(n_in).prop_map(Some),
            1 => (0usize..=5).prop_flat_map(channels).prop_map(Some),
        ];
        let other_sizes = prop_oneof![
            12 => Just(None),
            1 => prop::collection::vec(1usize..=4, 2..=4).prop_map(Some),
        ];
        (
            Just(sizes),
            other_sizes,
            ParamEdit::strategy(),
            prop_oneof![8 => Just(ParamEdit::None), 1 => ParamEdit::strategy()],
            input,
            other_input,
            0..n_out + 1,
            TraceEdit::strategy(),
            prop_oneof![Just(2.0), Just(4.0), Just(8.0)],
            any::<u64>(),
        )
            .prop_map(
                |(
                    sizes,
                    other_sizes,
                    param_edit,
                    grad_edit,
                    input,
                    other_input,
                    label,
                    trace_edit,
                    weight_mean,
                    seed,
                )| Case {
                    sizes,
                    other_sizes,
                    param_edit,
                    grad_edit,
                    input,
                    other_input,
                    label,
                    trace_edit,
                    weight_mean,
                    seed,
                },
            )
    })
}

fn trains(channels: &[Vec<f64>]) -> SpikeTrains {
    SpikeTrains::from_trains(channels).expect("sorted valid times")
}

fn init(sizes: &[usize], weight_mean: f64, seed: u64) -> NetworkParams {
    let init = evnn_net::InitConfig {
        wmean: weight_mean,
        wlim: weight_mean,
        ..Default::default()
    };
    NetworkParams::init::<Lif>(sizes, &init, seed).expect("valid sizes")
}

fn valid_sizes(sizes: &[usize]) -> bool {
    sizes.len() >= 2 && !sizes.contains(&0)
}

/// `Err(e)` with `expected(e)`, or a test failure naming what came back.
fn expect_error<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, NetError>,
    expected: fn(&NetError) -> bool,
) -> Result<(), TestCaseError> {
    match result {
        Err(e) if expected(&e) => Ok(()),
        other => Err(TestCaseError::fail(format!("{what}: unexpected {other:?}"))),
    }
}

/// The error of batch passes: `Sample { source }` around the sample's.
fn unwrap_sample(e: &NetError) -> &NetError {
    match e {
        NetError::Sample { source, .. } => source,
        e => e,
    }
}

/// Cases that reached the backward pass, and those whose backward pass was
/// expected to succeed and did: a property that only ever met the early
/// checks would test little.
#[derive(Default)]
struct Tally {
    cases: AtomicUsize,
    backward: AtomicUsize,
    backward_ok: AtomicUsize,
}

fn check(case: &Case, tally: &Tally) -> Result<(), TestCaseError> {
    tally.cases.fetch_add(1, Ordering::Relaxed);
    let opts = SolverOptions::default()
        .with_max_spikes(50)
        .with_max_steps(5_000);
    let net = match FeedForward::new(Lif::default(), &case.sizes, ClosedForm, opts, 30.0) {
        Ok(net) => net,
        Err(e) => {
            prop_assert!(!valid_sizes(&case.sizes), "{:?}: {e}", case.sizes);
            prop_assert!(matches!(e, NetError::Architecture { .. }), "{e:?}");
            return Ok(());
        }
    };
    prop_assert!(valid_sizes(&case.sizes));
    let param_sizes = case.other_sizes.as_deref().unwrap_or(&case.sizes);
    let mut params = init(param_sizes, case.weight_mean, case.seed);
    let param_error: Option<fn(&NetError) -> bool> = if param_sizes != case.sizes {
        case.param_edit.apply(&mut params);
        Some(|e| matches!(e, NetError::Architecture { .. } | NetError::Shape { .. }))
    } else {
        case.param_edit.apply(&mut params)
    };
    let input = trains(&case.input);
    let input_ok = input.n_channels() == net.n_inputs();
    let loss = TtfsLoss::default();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();

    // Forward pass, predictions and the loss pass.
    let forward = net.forward(&params, &input, &mut ws, &mut trace);
    let predicted = net.predict_sample(&params, &input, &mut ws, &mut ForwardTrace::default());
    let batch = BatchRunner::new(net.clone()).predict(&params, std::slice::from_ref(&input));
    let mut loss_grad = params.zeros_like();
    let sample = net.sample_loss(
        &params,
        &input,
        &case.label,
        &loss,
        &mut ws,
        &mut ForwardTrace::default(),
        Some(&mut loss_grad),
    );
    let batch_loss = BatchRunner::new(net.clone()).loss_and_grad(
        &params,
        std::slice::from_ref(&input),
        &[case.label],
        &loss,
    );
    if let Some(expected) = param_error {
        expect_error("check_params", net.check_params(&params), expected)?;
        expect_error("forward", forward, expected)?;
        expect_error("predict_sample", predicted, expected)?;
        expect_error("batch_predict", batch, expected)?;
        expect_error("sample_loss", sample, expected)?;
        expect_error("batch_loss", batch_loss, expected)?;
        return Ok(());
    }
    if !input_ok {
        let channels: fn(&NetError) -> bool = |e| {
            matches!(
                unwrap_sample(e),
                NetError::Shape {
                    what: "input channels",
                    ..
                }
            )
        };
        expect_error("forward", forward, channels)?;
        expect_error("predict_sample", predicted, channels)?;
        expect_error("batch_predict", batch, channels)?;
        return Ok(());
    }
    // Valid parameters and input: only a solver limit may stop the passes.
    let limit = |e: &NetError| {
        matches!(
            unwrap_sample(e),
            NetError::Solver {
                source: SolverError::SpikeLimit { .. } | SolverError::StepLimit { .. },
                ..
            }
        )
    };
    if let Err(e) = &forward {
        prop_assert!(limit(e), "forward: {e:?}");
        return Ok(());
    }
    if case.label >= net.n_outputs() {
        let label: fn(&NetError) -> bool =
            |e| matches!(unwrap_sample(e), NetError::InvalidLabel { .. });
        expect_error("sample_loss", sample, label)?;
        expect_error("batch_loss", batch_loss, label)?;
    }

    // The backward pass: with another input, an edited trace or a gradient
    // buffer of another shape.
    let out = trace.output().expect("a layer").clone();
    let dl_dt = vec![1.0; out.n_spikes()];
    let mut grad = params.zeros_like();
    // (A NaN in the gradient buffer is the caller's business.)
    let grad_error = case
        .grad_edit
        .apply(&mut grad)
        .filter(|_| !matches!(case.grad_edit, ParamEdit::NanWeight(_)))
        .map(|_| {
            (|e: &NetError| matches!(e, NetError::Shape { .. } | NetError::Architecture { .. }))
                as fn(&NetError) -> bool
        });
    let backward_input = match &case.other_input {
        Some(other) => trains(other),
        None => input.clone(),
    };
    let input_error: Option<fn(&NetError) -> bool> =
        if backward_input.n_channels() != net.n_inputs() {
            Some(|e| {
                matches!(
                    e,
                    NetError::Shape {
                        what: "input channels",
                        ..
                    }
                )
            })
        } else if backward_input != input {
            Some(|e| matches!(e, NetError::TraceMismatch { .. }))
        } else {
            None
        };
    let mut edited = trace.clone();
    let trace_error = case.trace_edit.apply(&mut edited);
    // `dl_dt` fits the unedited trace's output spikes.
    tally.backward.fetch_add(1, Ordering::Relaxed);
    let result = net.backward(
        &params,
        &backward_input,
        &edited,
        &dl_dt,
        &mut ws,
        &mut grad,
        &mut Vec::new(),
    );
    // The checks run in this order: the trace against the network and
    // input, then the gradient buffer; the first mistake decides.
    let expected = match (trace_error, input_error) {
        (Some(t), None) => Some(t),
        (None, Some(i)) => Some(i),
        (Some(_), Some(_)) => Some(
            (|e: &NetError| matches!(e, NetError::Shape { .. } | NetError::TraceMismatch { .. }))
                as fn(&NetError) -> bool,
        ),
        (None, None) => grad_error,
    };
    match expected {
        Some(expected) => expect_error("backward", result, expected)?,
        None => {
            if result.is_ok() {
                tally.backward_ok.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = result {
                // An event log that names inputs or spikes beyond the run's
                // is the adjoint's shape error; otherwise a limit or a
                // degenerate spike of the solver.
                prop_assert!(
                    matches!(e, NetError::Solver { .. }),
                    "backward of {:?}: {e:?}",
                    case.trace_edit
                );
            }
        }
    }
    Ok(())
}

#[test]
fn public_network_api_never_panics_and_names_the_mistake() {
    let tally = Tally::default();
    proptest!(config(), |(case in case())| {
        check(&case, &tally)?;
    });
    let (cases, backward, ok) = (
        tally.cases.load(Ordering::Relaxed),
        tally.backward.load(Ordering::Relaxed),
        tally.backward_ok.load(Ordering::Relaxed),
    );
    eprintln!("{cases} cases, {backward} reached the backward pass, {ok} of them Ok");
    assert!(cases >= CASES as usize, "{cases} cases");
    assert!(
        backward * 2 >= cases,
        "only {backward} of {cases} reached backward"
    );
    assert!(
        ok * 5 >= cases,
        "only {ok} of {cases} backward passes succeeded"
    );
}

/// `add_assign`, `set_flat` and `weight` with shapes and indices that do
/// not fit: typed errors (`None` for `weight`), nothing changed on error.
#[test]
fn parameter_helpers_check_shapes_and_indices() {
    let shapes = prop::collection::vec(1usize..=4, 2..=4);
    proptest!(config(), |(
        a in shapes.clone(),
        b in prop_oneof![3 => Just(None), 1 => shapes.prop_map(Some)],
        edit in ParamEdit::strategy(),
        flat_len in prop_oneof![Just(None), (0usize..80).prop_map(Some)],
        j in 0usize..6,
        i in 0usize..6,
    )| {
        let mut p = init(&a, 3.0, 1);
        let mut q = init(b.as_deref().unwrap_or(&a), 3.0, 2);
        let changed = edit.apply(&mut q).is_some() && !matches!(edit, ParamEdit::NanWeight(_));
        let same_shape = b.as_deref().is_none_or(|b| b == a) && !changed;
        let before = p.clone();
        match p.add_assign(&q) {
            Ok(()) => {
                prop_assert!(same_shape, "{b:?} {edit:?} accepted");
                let sum: Vec<f64> =
                    before.to_flat().iter().zip(q.to_flat()).map(|(x, y)| x + y).collect();
                prop_assert_eq!(p.to_flat().len(), sum.len());
                for (x, y) in p.to_flat().iter().zip(&sum) {
                    prop_assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
                }
            }
            Err(e) => {
                prop_assert!(!same_shape, "{e}");
                prop_assert!(matches!(e, NetError::Shape { .. }), "{e:?}");
                prop_assert_eq!(&p, &before);
            }
        }
        let mut p = before.clone();
        let n = flat_len.unwrap_or(p.len());
        match p.set_flat(&vec![0.25; n]) {
            Ok(()) => prop_assert_eq!(n, before.len()),
            Err(e) => {
                prop_assert_ne!(n, before.len());
                let expected = NetError::Shape {
                    what: "flat parameter vector",
                    expected: before.len(),
                    got: n,
                };
                prop_assert_eq!(e, expected);
                prop_assert_eq!(&p, &before);
            }
        }
        for l in &before.layers {
            match l.weight(j, i) {
                Some(w) => {
                    prop_assert!(j < l.n_out && i < l.n_in);
                    prop_assert_eq!(w.to_bits(), l.weights[j * l.n_in + i].to_bits());
                }
                None => prop_assert!(j >= l.n_out || i >= l.n_in),
            }
        }
        // A weight buffer cut short: `weight` says `None` where it would
        // read past it.
        let mut short = before.layers[0].clone();
        short.weights.truncate(short.weights.len() / 2);
        let want = (j < short.n_out && i < short.n_in)
            .then(|| short.weights.get(j * short.n_in + i).copied())
            .flatten();
        prop_assert_eq!(short.weight(j, i).map(f64::to_bits), want.map(f64::to_bits));
    });
}

/// Buffers whose sizes overflow `usize` are errors, not panics or
/// wrapped-around lengths.
#[test]
fn overflowing_layer_sizes_are_errors() {
    let huge = [usize::MAX / 2, 3];
    let e = NetworkParams::init::<Lif>(&huge, &Default::default(), 0).unwrap_err();
    assert!(matches!(e, NetError::TooLarge { .. }), "{e:?}");
    assert!(matches!(
        LayerParams::zeros(1 << 33, 1 << 33, 1),
        Err(NetError::TooLarge { .. })
    ));
    // Claimed sizes whose product wraps to 0 with empty buffers.
    let p = NetworkParams {
        layers: vec![LayerParams {
            n_in: 1 << 32,
            n_out: 1 << 32,
            weights: Vec::new(),
            neuron_params: Vec::new(),
            synaptic_delays: None,
            axonal_delays: None,
            recurrent_weights: None,
            recurrent_mask: None,
        }],
    };
    let e = p.validate(1, &["bias"]).unwrap_err();
    assert!(matches!(e, NetError::TooLarge { .. }), "{e:?}");
}

/// Spike trains read from JSON: accepted exactly when the offsets start at
/// 0, never decrease and end at the number of times, and every channel's
/// times are sorted; then every channel and offset is consistent with the
/// flat buffer, for any index.
#[test]
fn deserialized_spike_trains_are_checked() {
    proptest!(config(), |(
        times in prop::collection::vec(0.0..10.0f64, 0..6),
        offsets in prop::collection::vec(0usize..8, 0..6),
    )| {
        let json = serde_json::json!({"times": times, "offsets": offsets});
        let valid = if offsets.is_empty() {
            times.is_empty()
        } else {
            offsets[0] == 0
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && *offsets.last().unwrap() == times.len()
        };
        let sorted = valid
            && offsets
                .windows(2)
                .all(|w| times[w[0]..w[1]].is_sorted());
        match serde_json::from_value::<SpikeTrains>(json) {
            Ok(s) => {
                prop_assert!(sorted, "{offsets:?} for {:?} accepted", times);
                for c in 0..s.n_channels() + 3 {
                    let (at, train) = (s.offset(c), s.channel(c));
                    prop_assert_eq!(&s.flat()[at..at + train.len()], train);
                }
                prop_assert_eq!(s.to_trains().concat(), times);
            }
            Err(e) => {
                prop_assert!(!sorted, "{offsets:?}: {e}");
                let what = if valid { "comes after" } else { "offset" };
                prop_assert!(e.to_string().contains(what), "{e}");
            }
        }
    });
}
