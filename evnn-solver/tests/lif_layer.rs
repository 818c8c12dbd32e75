//! The layer-wide LIF engine against each neuron simulated on its own with
//! the closed form, and its adjoint against each neuron's adjoint: the
//! same spikes, end states and gradients to round-off.

use evnn_neurons::Lif;
use evnn_solver::lif_layer::{LayerError, LayerSpike, LifLayer, LifLayerScratch, Recurrent};
use evnn_solver::{
    run_adjoint, ClosedForm, EventSolver, InputSpike, NeuronGradient, SolverError, SolverOptions,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Case {
    lif: Lif,
    n_in: usize,
    n_out: usize,
    t_end: f64,
    bias: Vec<f64>,
    weights: Vec<f64>,
    inputs: Vec<(f64, u32)>,
}

/// A random layer driven hard enough that most neurons spike several
/// times, some inputs after `t_end`, some at one instant.
fn case(seed: u64, tau_mem: f64, tau_syn: f64) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n_in, n_out, t_end) = (6, 9, 60.0);
    let lif = Lif::new(tau_mem, tau_syn, 1.0, rng.random_range(-0.5..0.5)).unwrap();
    let bias = (0..n_out).map(|_| rng.random_range(-0.3..0.6)).collect();
    let weights = (0..n_in * n_out)
        .map(|_| rng.random_range(-1.0..2.5))
        .collect();
    let mut inputs: Vec<(f64, u32)> = (0..80)
        .map(|_| {
            (
                rng.random_range(0.0..70.0),
                rng.random_range(0..n_in as u32),
            )
        })
        .collect();
    inputs.push(inputs[3]);
    inputs.push((inputs[7].0, (inputs[7].1 + 1) % n_in as u32));
    inputs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Case {
        lif,
        n_in,
        n_out,
        t_end,
        bias,
        weights,
        inputs,
    }
}

fn neuron_inputs(c: &Case, j: usize) -> Vec<InputSpike> {
    c.inputs
        .iter()
        .map(|&(t, ch)| InputSpike::new(t, c.weights[j * c.n_in + ch as usize]))
        .collect()
}

fn layer_run(c: &Case) -> (Vec<LayerSpike>, Vec<[f64; 2]>) {
    let layer = LifLayer::new(c.lif, c.n_in, c.n_out, c.t_end).unwrap();
    let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
    let mut s = LifLayerScratch::default();
    layer
        .forward(
            &c.bias,
            &c.weights,
            None,
            &c.inputs,
            &mut s,
            &mut spikes,
            &mut x_end,
        )
        .unwrap();
    (spikes, x_end)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

const CONSTANTS: [(f64, f64); 3] = [(20.0, 5.0), (10.0, 7.0), (8.0, 8.0)];

#[test]
fn spikes_and_end_states_are_each_neurons_own() {
    let mut total = 0;
    for (n, &(tm, ts)) in CONSTANTS.iter().enumerate() {
        for seed in 0..4 {
            let c = case(10 * n as u64 + seed, tm, ts);
            let (spikes, x_end) = layer_run(&c);
            assert!(spikes.windows(2).all(|w| w[0].t <= w[1].t));
            let mut solver = EventSolver::new(c.lif, ClosedForm, SolverOptions::default()).unwrap();
            for (j, x_end) in x_end.iter().enumerate() {
                let own = solver
                    .simulate(&[c.bias[j]], &neuron_inputs(&c, j), c.t_end)
                    .unwrap();
                let layer: Vec<&LayerSpike> =
                    spikes.iter().filter(|s| s.neuron as usize == j).collect();
                assert_eq!(
                    layer.len(),
                    own.spikes.len(),
                    "seed {seed} neuron {j}: {layer:?} {:?}",
                    own.spikes
                );
                for (s, &t) in layer.iter().zip(&own.spikes) {
                    assert!(close(s.t, t, 1e-12), "neuron {j}: {} against {t}", s.t);
                }
                for (a, b) in x_end.iter().zip(&own.x_end) {
                    assert!(
                        close(*a, *b, 1e-11),
                        "neuron {j} end state {x_end:?} against {:?}",
                        own.x_end
                    );
                }
                total += own.spikes.len();
            }
        }
    }
    // The cases must exercise the spike search.
    assert!(total > 200, "{total} spikes");
}

#[test]
fn gradients_are_each_neurons_adjoint() {
    let opts = SolverOptions::default();
    for (n, &(tm, ts)) in CONSTANTS.iter().enumerate() {
        for seed in 0..4 {
            let c = case(10 * n as u64 + seed + 100, tm, ts);
            let (spikes, _) = layer_run(&c);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let dl: Vec<f64> = spikes.iter().map(|_| rng.random_range(-1.0..1.0)).collect();
            let dx_end: Vec<[f64; 2]> = (0..c.n_out)
                .map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
                .collect();
            let layer = LifLayer::new(c.lif, c.n_in, c.n_out, c.t_end).unwrap();
            let mut gb = vec![0.0; c.n_out];
            let mut gw = vec![0.0; c.n_out * c.n_in];
            let mut gin = vec![0.0; c.inputs.len()];
            let mut s = LifLayerScratch::default();
            layer
                .backward(
                    &c.bias,
                    &c.weights,
                    None,
                    &c.inputs,
                    &spikes,
                    &dl,
                    Some(&dx_end),
                    &mut s,
                    &mut gb,
                    &mut gw,
                    None,
                    &mut gin,
                )
                .unwrap();
            let mut solver = EventSolver::new(c.lif, ClosedForm, opts).unwrap();
            let mut want_gin = vec![0.0; c.inputs.len()];
            for j in 0..c.n_out {
                let inputs = neuron_inputs(&c, j);
                let own = solver.simulate(&[c.bias[j]], &inputs, c.t_end).unwrap();
                let own_dl: Vec<f64> = spikes
                    .iter()
                    .zip(&dl)
                    .filter(|(s, _)| s.neuron as usize == j)
                    .map(|(_, &d)| d)
                    .collect();
                let mut g = NeuronGradient::zeros(inputs.len());
                run_adjoint(
                    &mut ClosedForm,
                    &c.lif,
                    &[c.bias[j]],
                    &inputs,
                    &own,
                    &own_dl,
                    &dx_end[j],
                    &opts,
                    &mut g,
                )
                .unwrap();
                assert!(
                    close(gb[j], g.params[0], 1e-9),
                    "seed {seed} bias {j}: {} against {}",
                    gb[j],
                    g.params[0]
                );
                let mut want_w = vec![0.0; c.n_in];
                for (m, &(_, ch)) in c.inputs.iter().enumerate() {
                    want_w[ch as usize] += g.weights[m];
                    want_gin[m] += g.input_times[m];
                }
                for (ch, want) in want_w.iter().enumerate() {
                    let got = gw[j * c.n_in + ch];
                    assert!(
                        close(got, *want, 1e-9),
                        "seed {seed} w[{j}][{ch}]: {got} against {want}"
                    );
                }
            }
            for (m, (got, want)) in gin.iter().zip(&want_gin).enumerate() {
                assert!(
                    close(*got, *want, 1e-9),
                    "seed {seed} input {m}: {got} against {want}"
                );
            }
            assert!(gin.iter().any(|&g| g != 0.0) && gw.iter().any(|&g| g != 0.0));
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let c = case(1, 20.0, 5.0);
    let layer = LifLayer::new(c.lif, c.n_in, c.n_out, c.t_end).unwrap();
    let mut s = LifLayerScratch::default();
    let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
    let mut run = |bias: &[f64], weights: &[f64], inputs: &[(f64, u32)]| {
        let r = layer.forward(bias, weights, None, inputs, &mut s, &mut spikes, &mut x_end);
        r.map_err(|LayerError { neuron, source }| {
            assert_eq!(neuron, None, "{source}");
            source
        })
    };
    assert!(matches!(
        run(&c.bias[1..], &c.weights, &c.inputs),
        Err(SolverError::ShapeMismatch { got: 8, .. })
    ));
    assert!(matches!(
        run(&c.bias, &c.weights[1..], &c.inputs),
        Err(SolverError::ShapeMismatch { .. })
    ));
    let unsorted = [(2.0, 0), (1.0, 1)];
    assert!(matches!(
        run(&c.bias, &c.weights, &unsorted),
        Err(SolverError::UnsortedInputs { index: 1, .. })
    ));
    assert!(matches!(
        run(&c.bias, &c.weights, &[(f64::NAN, 0)]),
        Err(SolverError::InvalidInputTime { index: 0, .. })
    ));
    assert!(matches!(
        run(&c.bias, &c.weights, &[(1.0, 6)]),
        Err(SolverError::ShapeMismatch {
            expected: 6,
            got: 6,
            ..
        })
    ));
    assert!(matches!(
        LifLayer::new(c.lif, 1, 1, f64::INFINITY),
        Err(SolverError::InvalidEndTime { .. })
    ));
    let below = Lif::new(20.0, 5.0, -0.5, -1.0).unwrap();
    assert!(matches!(
        LifLayer::new(below, 1, 1, 10.0),
        Err(SolverError::InitialStateAboveThreshold { .. })
    ));
    let (spikes, _) = layer_run(&c);
    let dl = vec![f64::NAN; spikes.len()];
    let (mut gb, mut gw, mut gin) = (
        vec![0.0; c.n_out],
        vec![0.0; c.n_out * c.n_in],
        vec![0.0; c.inputs.len()],
    );
    let mut back = |spikes: &[LayerSpike], dl: &[f64]| {
        layer
            .backward(
                &c.bias, &c.weights, None, &c.inputs, spikes, dl, None, &mut s, &mut gb, &mut gw,
                None, &mut gin,
            )
            .unwrap_err()
    };
    let e = back(&spikes, &dl);
    assert!(
        matches!(e.source, SolverError::NonFiniteSensitivity { index: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("dL/dt[0] = NaN"), "{e}");
    let e = back(&spikes, &dl[1..]);
    assert!(matches!(e.source, SolverError::ShapeMismatch { .. }), "{e}");
    // Spikes out of time order.
    assert!(spikes.len() >= 2 && spikes[0].t < spikes[1].t);
    let reversed: Vec<LayerSpike> = spikes.iter().rev().copied().collect();
    let e = back(&reversed, &vec![1.0; spikes.len()]);
    assert!(
        matches!(e.source, SolverError::UnsortedInputs { index: 1, .. }),
        "{e}"
    );
    // A spike that was no crossing (its drive below the threshold) has no
    // time derivative: the error names its neuron.
    let fake = [LayerSpike {
        t: 1.0,
        neuron: 4,
        current: -5.0,
    }];
    let e = back(&fake, &[1.0]);
    assert_eq!(e.neuron, Some(4));
    assert!(
        matches!(e.source, SolverError::DegenerateSpike { t: 1.0, .. }),
        "{e}"
    );
    assert!(e.to_string().starts_with("neuron 4: "), "{e}");
    // Recurrent weights, their mask and their gradient of the wrong shape
    // (the layer has 9 neurons: 81 synapses).
    let n = c.n_out;
    let (w_rec, mask) = (vec![0.1; n * n], vec![true; n * n]);
    let (mut rs, mut rx): (Vec<LayerSpike>, Vec<[f64; 2]>) = (Vec::new(), Vec::new());
    let shapes = [
        (&w_rec[1..], None, n * n - 1),
        (&w_rec[..], Some(&mask[2..]), n * n - 2),
    ];
    for (weights, mask, got) in shapes {
        let r = Some(Recurrent { weights, mask });
        let e = layer
            .forward(&c.bias, &c.weights, r, &c.inputs, &mut s, &mut rs, &mut rx)
            .unwrap_err();
        assert_eq!(e.neuron, None);
        match e.source {
            SolverError::ShapeMismatch {
                what,
                expected,
                got: g,
            } => {
                assert!(what.starts_with("recurrent"), "{what}");
                assert_eq!((expected, g), (n * n, got));
            }
            other => panic!("{other}"),
        }
    }
    let r = Some(Recurrent {
        weights: &w_rec,
        mask: None,
    });
    layer
        .forward(&c.bias, &c.weights, r, &c.inputs, &mut s, &mut rs, &mut rx)
        .unwrap();
    let dl = vec![1.0; rs.len()];
    for (rec, len) in [(r, n * n - 1), (None, n * n)] {
        let mut gr = vec![0.0; len];
        let (mut gb, mut gw) = (vec![0.0; n], vec![0.0; n * c.n_in]);
        let mut gin = vec![0.0; c.inputs.len()];
        let e = layer
            .backward(
                &c.bias,
                &c.weights,
                rec,
                &c.inputs,
                &rs,
                &dl,
                None,
                &mut s,
                &mut gb,
                &mut gw,
                Some(&mut gr),
                &mut gin,
            )
            .unwrap_err();
        assert!(
            matches!(e.source, SolverError::ShapeMismatch { got, .. } if got == len),
            "{e}"
        );
        assert!(gb.iter().chain(&gw).chain(&gr).all(|&g| g == 0.0), "{e}");
    }
}
