//! The spike-time regression loss (`SpikeTimeMse`) through the network: its
//! EventProp gradient (the loss pass, as training uses it) equals the
//! backward pass of the full forward run and agrees with finite
//! differences, on random LIF (closed form) and QIF (series) networks; the
//! batch pass sums the per-sample results; bad targets are named errors.

use evnn_net::{
    gradcheck, BatchRunner, FeedForward, FirstSpikeLoss, GradCheckOptions, InitConfig, NetError,
    NetworkParams, ParamRef, Regression, SpikeTimeMse, SpikeTrains,
};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_solver::{Adjoint, Backend, ClosedForm, QifSeries, SolverOptions};
use rand::{Rng, SeedableRng};

const T_END: f64 = 40.0;

fn value(p: &NetworkParams, r: &ParamRef) -> Option<f64> {
    match *r {
        ParamRef::Weight {
            layer,
            neuron,
            input,
            weight: _,
        } => {
            let l = &p.layers[layer];
            Some(l.weights[neuron * l.n_in + input])
        }
        ParamRef::NeuronParam {
            layer,
            neuron,
            index,
        } => {
            let l = &p.layers[layer];
            let np = l.neuron_params.len() / l.n_out;
            Some(l.neuron_params[neuron * np + index])
        }
        _ => None,
    }
}

/// Over `cases` random networks and inputs: the loss pass's gradient of
/// the MSE equals the full run's backward pass (to 1e-12 relative), and
/// the full run's agrees with finite differences (≤ 1e-6 relative or 1e-8
/// absolute) on every compared entry. Returns (compared, total) entries.
fn mse_gradients_match<N, B>(net: FeedForward<N, B>, init: InitConfig, cases: u64) -> (usize, usize)
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let mse = SpikeTimeMse::new(T_END, 1.0).unwrap();
    let (mut compared, mut total) = (0, 0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for seed in 0..cases {
        let params = net.init_params(&init, seed).unwrap();
        let times: Vec<f64> = (0..net.n_inputs())
            .map(|_| rng.random_range(0.0..15.0))
            .collect();
        let input = SpikeTrains::from_times(&times).unwrap();
        let target: Vec<f64> = (0..net.n_outputs())
            .map(|_| rng.random_range(5.0..35.0))
            .collect();
        let (mut ws, mut trace) = (net.workspace(), Default::default());
        let mut grad = params.zeros_like();
        let r = net
            .sample_loss(
                &params,
                &input,
                &target,
                &mse,
                &mut ws,
                &mut trace,
                Some(&mut grad),
            )
            .unwrap();
        // The same loss on the full run's output, for gradcheck.
        let loss = |out: &SpikeTrains| {
            let first = out.first_spikes();
            let mut dl_first = vec![0.0; first.len()];
            let l = FirstSpikeLoss::evaluate(&mse, &first, &target, &mut dl_first).unwrap();
            let mut dl = vec![0.0; out.n_spikes()];
            for (j, &d) in dl_first.iter().enumerate() {
                if !out.channel(j).is_empty() {
                    dl[out.offset(j)] = d;
                }
            }
            (l, dl)
        };
        let report = gradcheck(&net, &params, &input, &loss, &GradCheckOptions::default()).unwrap();
        assert!(report.is_ok(), "seed {seed}: {:?}", report.failures());
        for e in &report.entries {
            if let Some(g) = value(&grad, &e.param) {
                assert!(
                    (g - e.analytic).abs() <= 1e-12 * e.analytic.abs().max(1e-3),
                    "seed {seed} {:?}: loss pass {g}, full run {}",
                    e.param,
                    e.analytic
                );
            }
        }
        // The loss pass's first spikes are the full run's, bit for bit.
        let mut full = Default::default();
        net.forward(&params, &input, &mut ws, &mut full).unwrap();
        assert_eq!(r.loss.to_bits(), loss(full.output().unwrap()).0.to_bits());
        compared += report.compared();
        total += report.entries.len();
    }
    (compared, total)
}

#[test]
fn lif_mse_gradients_match_finite_differences() {
    let net = FeedForward::new(
        Lif::default(),
        &[3, 6, 2],
        ClosedForm,
        SolverOptions::default(),
        T_END,
    )
    .unwrap();
    let init = InitConfig {
        wmean: 4.0,
        wlim: 4.0,
        ..InitConfig::default()
    };
    let (compared, total) = mse_gradients_match(net, init, 8);
    eprintln!("LIF: compared {compared} of {total}");
    assert!(compared * 10 >= total * 6, "compared {compared} of {total}");
}

#[test]
fn qif_mse_gradients_match_finite_differences() {
    let net = FeedForward::new(
        Qif::default(),
        &[3, 6, 2],
        QifSeries,
        SolverOptions::default(),
        T_END,
    )
    .unwrap();
    let init = InitConfig {
        wmean: 10.0,
        wlim: 10.0,
        ..InitConfig::default()
    };
    let (compared, total) = mse_gradients_match(net, init, 8);
    eprintln!("QIF: compared {compared} of {total}");
    assert!(compared * 10 >= total * 6, "compared {compared} of {total}");
}

/// The batch pass's loss and gradient are the sums of the per-sample ones.
#[test]
fn batch_sums_the_samples() {
    let net = FeedForward::new(
        Qif::default(),
        &[2, 5, 2],
        QifSeries,
        SolverOptions::default(),
        T_END,
    )
    .unwrap();
    let init = InitConfig {
        wmean: 10.0,
        wlim: 10.0,
        ..InitConfig::default()
    };
    let params = net.init_params(&init, 3).unwrap();
    let mse = SpikeTimeMse::new(T_END, 1.0).unwrap();
    let inputs: Vec<SpikeTrains> = (0..20)
        .map(|k| SpikeTrains::from_times(&[0.0, 1.0 + 0.7 * k as f64]).unwrap())
        .collect();
    let targets: Vec<Vec<f64>> = (0..20).map(|k| vec![10.0 + k as f64, 20.0]).collect();
    let runner = BatchRunner::new(net.clone());
    let r = runner
        .loss_and_grad(&params, &inputs, &targets, &mse)
        .unwrap();
    let (mut ws, mut trace) = (net.workspace(), Default::default());
    let (mut loss, mut grad, mut correct) = (0.0, params.zeros_like(), 0);
    for (x, y) in inputs.iter().zip(&targets) {
        let s = net
            .sample_loss(&params, x, y, &mse, &mut ws, &mut trace, Some(&mut grad))
            .unwrap();
        loss += s.loss;
        correct += usize::from(s.correct);
    }
    assert!((r.loss_sum - loss).abs() <= 1e-12 * loss.abs());
    assert_eq!(r.correct, correct);
    for (a, b) in r.grad.unwrap().to_flat().iter().zip(grad.to_flat()) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-9), "{a} vs {b}");
    }
}

#[test]
fn bad_targets_are_named_errors() {
    let net = FeedForward::new(
        Lif::default(),
        &[2, 3, 2],
        ClosedForm,
        SolverOptions::default(),
        T_END,
    )
    .unwrap();
    let runner = BatchRunner::new(net);
    let mse = SpikeTimeMse::new(T_END, 1.0).unwrap();
    let x = vec![SpikeTrains::from_times(&[1.0, 2.0]).unwrap(); 2];
    for (targets, check) in [
        (vec![vec![1.0, 2.0], vec![1.0]], "length"),
        (vec![vec![1.0, 2.0], vec![f64::NAN, 2.0]], "nan"),
    ] {
        match Regression::new(&runner, &x, &targets, mse) {
            Err(NetError::Sample { sample: 1, source }) => match (*source, check) {
                (
                    NetError::Shape {
                        expected: 2,
                        got: 1,
                        ..
                    },
                    "length",
                ) => {}
                (NetError::NonFinite { index: 0, .. }, "nan") => {}
                (other, _) => panic!("{check}: {other:?}"),
            },
            other => panic!("{check}: {other:?}"),
        }
    }
    assert!(matches!(
        Regression::new(&runner, &x, &[vec![1.0, 2.0]], mse),
        Err(NetError::Shape { .. })
    ));
}
