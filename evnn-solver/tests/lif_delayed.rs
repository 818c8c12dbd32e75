//! The delayed LIF layer kernel (`lif_delayed`): a feed-forward layer
//! against each neuron simulated on its own sorted arrivals by the
//! shared-input kernel (`LifLayer` with one neuron), forward and adjoint;
//! a recurrent layer's gradients against finite differences; bad input.

use evnn_neurons::Lif;
use evnn_solver::lif_delayed::{DelayedLifLayer, DelayedLifScratch, SynapticDelays};
use evnn_solver::lif_layer::{LayerSpike, LifLayer, LifLayerScratch, Recurrent};
use evnn_solver::SolverError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T_END: f64 = 60.0;

struct Case {
    n_in: usize,
    n: usize,
    weights: Vec<f64>,
    delays: Vec<f64>,
    bias: Vec<f64>,
    inputs: Vec<(f64, u32)>,
    recurrent: Vec<f64>,
}

/// `n` neurons on `n_in` channels of `per_channel` random spikes, given in
/// time order or, with `shuffled`, in a random order.
fn case(seed: u64, n_in: usize, n: usize, per_channel: usize, shuffled: bool) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let weights = (0..n * n_in).map(|_| rng.random_range(-0.5..2.0)).collect();
    let delays = (0..n * n_in).map(|_| rng.random_range(0.0..15.0)).collect();
    let bias = (0..n).map(|_| rng.random_range(-0.2..0.3)).collect();
    let mut inputs: Vec<(f64, u32)> = (0..n_in * per_channel)
        .map(|k| (rng.random_range(0.0..65.0), (k % n_in) as u32))
        .collect();
    if !shuffled {
        inputs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    let recurrent = (0..n * n)
        .map(|k| {
            if k % (n + 1) == 0 {
                0.0
            } else {
                rng.random_range(-1.0..1.0)
            }
        })
        .collect();
    Case {
        n_in,
        n,
        weights,
        delays,
        bias,
        inputs,
        recurrent,
    }
}

fn delayed(c: &Case) -> DelayedLifLayer {
    DelayedLifLayer::new(Lif::default(), c.n_in, c.n, T_END).unwrap()
}

fn forward(c: &Case, recurrent: bool) -> (Vec<LayerSpike>, Vec<[f64; 2]>) {
    let r = recurrent.then_some(Recurrent {
        weights: &c.recurrent,
        mask: None,
    });
    let mut s = DelayedLifScratch::default();
    let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
    let d = SynapticDelays { delays: &c.delays };
    delayed(c)
        .forward(
            &c.bias,
            &c.weights,
            d,
            r,
            &c.inputs,
            &mut s,
            &mut spikes,
            &mut x_end,
        )
        .unwrap();
    (spikes, x_end)
}

/// The gradients of a [`DelayedLifLayer`] pass: bias, weights, delays,
/// recurrent weights, input times.
type Grads = [Vec<f64>; 5];

fn backward(
    c: &Case,
    recurrent: bool,
    spikes: &[LayerSpike],
    dl: &[f64],
    dx: &[[f64; 2]],
) -> Grads {
    let r = recurrent.then_some(Recurrent {
        weights: &c.recurrent,
        mask: None,
    });
    let mut s = DelayedLifScratch::default();
    let (n, n_in) = (c.n, c.n_in);
    let mut g: Grads = [
        vec![0.0; n],
        vec![0.0; n * n_in],
        vec![0.0; n * n_in],
        vec![0.0; n * n],
        vec![0.0; c.inputs.len()],
    ];
    let [gb, gw, gd, gr, gin] = &mut g;
    let gr = recurrent.then_some(&mut gr[..]);
    let d = SynapticDelays { delays: &c.delays };
    delayed(c)
        .backward(
            &c.bias,
            &c.weights,
            d,
            r,
            &c.inputs,
            spikes,
            dl,
            Some(dx),
            &mut s,
            gb,
            gw,
            gd,
            gr,
            gin,
        )
        .unwrap();
    g
}

/// Neuron `j` alone on its arrivals, sorted (ties by input), by the
/// shared-input kernel: its spikes and end state, and the gradients of
/// `Σ dl·t + dx·x(t_end)` added into `g` (an arrival's `dL/dt` is both its
/// delay's and its input's).
fn reference(
    c: &Case,
    j: usize,
    dl: impl Fn(usize) -> f64,
    dx: [f64; 2],
    g: &mut Grads,
) -> (Vec<f64>, [f64; 2]) {
    let n_in = c.n_in;
    let layer = LifLayer::new(Lif::default(), n_in, 1, T_END).unwrap();
    let mut arrivals: Vec<(f64, u32, usize)> = c
        .inputs
        .iter()
        .enumerate()
        .map(|(m, &(t, ch))| (t + c.delays[j * n_in + ch as usize], ch, m))
        .filter(|a| a.0 < T_END)
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    let inputs: Vec<(f64, u32)> = arrivals.iter().map(|a| (a.0, a.1)).collect();
    let (bias, weights) = (&c.bias[j..j + 1], &c.weights[j * n_in..(j + 1) * n_in]);
    let mut s = LifLayerScratch::default();
    let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
    layer
        .forward(
            bias,
            weights,
            None,
            &inputs,
            &mut s,
            &mut spikes,
            &mut x_end,
        )
        .unwrap();
    let dls: Vec<f64> = (0..spikes.len()).map(dl).collect();
    let mut gb = [0.0];
    let mut gw = vec![0.0; n_in];
    let mut gin = vec![0.0; inputs.len()];
    layer
        .backward(
            bias,
            weights,
            None,
            &inputs,
            &spikes,
            &dls,
            Some(&[dx]),
            &mut s,
            &mut gb,
            &mut gw,
            None,
            &mut gin,
        )
        .unwrap();
    g[0][j] += gb[0];
    for (k, w) in gw.iter().enumerate() {
        g[1][j * n_in + k] += w;
    }
    for (a, d) in arrivals.iter().zip(&gin) {
        g[2][j * n_in + a.1 as usize] += d;
        g[4][a.2] += d;
    }
    (spikes.iter().map(|s| s.t).collect(), x_end[0])
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn feed_forward_layers_are_each_neuron_on_its_own_arrivals() {
    for (seed, per_channel, shuffled) in [(1, 4, false), (2, 12, true), (3, 30, false)] {
        let c = case(seed, 6, 7, per_channel, shuffled);
        let (spikes, x_end) = forward(&c, false);
        assert!(spikes
            .windows(2)
            .all(|w| (w[0].t, w[0].neuron) <= (w[1].t, w[1].neuron)));
        // dL/dt of the k-th spike overall, and dL/dx(t_end) per neuron.
        let dl: Vec<f64> = (0..spikes.len())
            .map(|k| 0.3 + 0.1 * (k % 5) as f64)
            .collect();
        let dx: Vec<[f64; 2]> = (0..c.n).map(|j| [0.2 - 0.05 * j as f64, 0.1]).collect();
        let g = backward(&c, false, &spikes, &dl, &dx);
        let mut r: Grads = Default::default();
        r[0] = vec![0.0; c.n];
        r[1] = vec![0.0; c.n * c.n_in];
        r[2] = vec![0.0; c.n * c.n_in];
        r[4] = vec![0.0; c.inputs.len()];
        let mut total = 0;
        for j in 0..c.n {
            let own: Vec<usize> = (0..spikes.len())
                .filter(|&k| spikes[k].neuron == j as u32)
                .collect();
            let (times, x) = reference(&c, j, |k| dl[own[k]], dx[j], &mut r);
            assert_eq!(times.len(), own.len(), "seed {seed} neuron {j}");
            total += times.len();
            for (t, &k) in times.iter().zip(&own) {
                assert!(
                    close(*t, spikes[k].t, 1e-12),
                    "seed {seed}: {t} vs {}",
                    spikes[k].t
                );
            }
            for q in 0..2 {
                assert!(
                    close(x[q], x_end[j][q], 1e-12),
                    "seed {seed}: x_end {x:?} vs {:?}",
                    x_end[j]
                );
            }
        }
        assert!(
            total >= c.n,
            "seed {seed}: too few spikes ({total}) to test"
        );
        for (what, k) in [("bias", 0), ("weights", 1), ("delays", 2), ("inputs", 4)] {
            for (a, b) in g[k].iter().zip(&r[k]) {
                assert!(close(*a, *b, 1e-9), "seed {seed} {what}: {a} vs {b}");
            }
        }
    }
}

/// `L = Σ_k dl_k t_k + Σ_j dx_j·x_j(t_end)` of a forward pass, the spike
/// count kept (`None` where it changes).
fn loss(c: &Case, recurrent: bool, dl: &[f64], dx: &[[f64; 2]]) -> Option<f64> {
    let (spikes, x_end) = forward(c, recurrent);
    (spikes.len() == dl.len()).then(|| {
        let ts: f64 = spikes.iter().zip(dl).map(|(s, d)| s.t * d).sum();
        ts + x_end
            .iter()
            .zip(dx)
            .map(|(x, d)| x[0] * d[0] + x[1] * d[1])
            .sum::<f64>()
    })
}

#[test]
fn recurrent_gradients_match_finite_differences() {
    // 60 inputs: 15 time bins, more than the ring of bins the delays (up
    // to 15 of the bins' 4) need, so the ring's slots are used again.
    let c0 = case(7, 5, 6, 12, true);
    let (spikes, _) = forward(&c0, true);
    assert!(spikes.len() >= 6, "too few spikes: {}", spikes.len());
    let dl: Vec<f64> = (0..spikes.len())
        .map(|k| 0.5 - 0.07 * (k % 9) as f64)
        .collect();
    let dx: Vec<[f64; 2]> = (0..c0.n).map(|j| [0.1 * j as f64, -0.2]).collect();
    let g = backward(&c0, true, &spikes, &dl, &dx);
    let h = 1e-6;
    let mut compared = 0;
    let mut check = |what: &str, get: &dyn Fn(&mut Case) -> &mut Vec<f64>, grad: &[f64]| {
        for (k, &g) in grad.iter().enumerate() {
            let mut c = case(7, 5, 6, 12, true);
            let x = get(&mut c)[k];
            get(&mut c)[k] = x + h;
            let up = loss(&c, true, &dl, &dx);
            get(&mut c)[k] = x - h;
            let down = loss(&c, true, &dl, &dx);
            let (Some(up), Some(down)) = (up, down) else {
                continue;
            };
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - g).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{what}[{k}]: adjoint {g} vs finite differences {fd}"
            );
            compared += 1;
        }
    };
    check("bias", &|c| &mut c.bias, &g[0]);
    check("weights", &|c| &mut c.weights, &g[1]);
    check("delays", &|c| &mut c.delays, &g[2]);
    check("recurrent", &|c| &mut c.recurrent, &g[3]);
    let inputs = &g[4];
    let mut inputs_checked = 0;
    for (m, &g) in inputs.iter().enumerate() {
        let run = |dt: f64| {
            let mut c = case(7, 5, 6, 12, true);
            c.inputs[m].0 += dt;
            loss(&c, true, &dl, &dx)
        };
        if let (Some(up), Some(down)) = (run(h), run(-h)) {
            let fd = (up - down) / (2.0 * h);
            assert!(
                (fd - g).abs() <= 1e-5 * (1.0 + fd.abs()),
                "input {m}: {g} vs {fd}"
            );
            inputs_checked += 1;
        }
    }
    let total = g.iter().map(Vec::len).sum::<usize>();
    eprintln!(
        "{} spikes; {compared} + {inputs_checked} of {total} entries compared",
        spikes.len()
    );
    assert!(
        compared + inputs_checked >= total * 9 / 10,
        "{compared} + {inputs_checked} of {total} compared"
    );
    assert!(g[3].iter().any(|&x| x != 0.0) && g[2].iter().any(|&x| x != 0.0));
}

#[test]
fn bad_input_gets_typed_errors() {
    let c = case(4, 3, 2, 2, false);
    let layer = delayed(&c);
    let mut s = DelayedLifScratch::default();
    let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
    let mut run = |delays: &[f64], inputs: &[(f64, u32)]| {
        let d = SynapticDelays { delays };
        layer.forward(
            &c.bias,
            &c.weights,
            d,
            None,
            inputs,
            &mut s,
            &mut spikes,
            &mut x_end,
        )
    };
    let mut bad = c.delays.clone();
    bad[4] = -1.0;
    let e = run(&bad, &c.inputs).unwrap_err();
    assert!(
        matches!(e.source, SolverError::InvalidOption { value, .. } if value == -1.0),
        "{e}"
    );
    bad[4] = f64::NAN;
    assert!(matches!(
        run(&bad, &c.inputs).unwrap_err().source,
        SolverError::InvalidOption { .. }
    ));
    let e = run(&c.delays[1..], &c.inputs).unwrap_err();
    assert!(
        matches!(
            e.source,
            SolverError::ShapeMismatch {
                expected: 6,
                got: 5,
                ..
            }
        ),
        "{e}"
    );
    let e = run(&c.delays, &[(1.0, 3)]).unwrap_err();
    assert!(
        matches!(e.source, SolverError::ShapeMismatch { got: 3, .. }),
        "{e}"
    );
    let e = run(&c.delays, &[(f64::NAN, 0)]).unwrap_err();
    assert!(
        matches!(e.source, SolverError::InvalidInputTime { index: 0, .. }),
        "{e}"
    );
    // The adjoint's delay gradient of the wrong length.
    let mut gd = vec![0.0; 5];
    let (mut gb, mut gw, mut gin) = (vec![0.0; 2], vec![0.0; 6], vec![0.0; c.inputs.len()]);
    let d = SynapticDelays { delays: &c.delays };
    let e = layer
        .backward(
            &c.bias,
            &c.weights,
            d,
            None,
            &c.inputs,
            &[],
            &[],
            None,
            &mut s,
            &mut gb,
            &mut gw,
            &mut gd,
            None,
            &mut gin,
        )
        .unwrap_err();
    assert!(e.neuron.is_none());
    assert!(
        matches!(e.source, SolverError::ShapeMismatch { what, expected: 6, got: 5 } if what.contains("dL/dd")),
        "{e}"
    );
    // Constants the coordinates cannot take.
    let long = DelayedLifLayer::new(Lif::default(), 3, 2, 401.0 * 5.0).unwrap_err();
    assert!(
        matches!(long, SolverError::InvalidOption { value, .. } if value > 400.0),
        "{long}"
    );
    let close_taus = Lif::new(20.0, 19.0, 1.0, 0.0).unwrap();
    assert!(!DelayedLifLayer::supports(&close_taus, 50.0));
    assert!(DelayedLifLayer::supports(&Lif::default(), 50.0));
}

fn recurrent(c: &Case) -> Option<Recurrent<'_>> {
    Some(Recurrent {
        weights: &c.recurrent,
        mask: None,
    })
}

/// A scratch keeps its synapses' factors for the next pass of the same
/// weights and delays, and reuses its ring of bins; whatever it held
/// before, the results are those of a fresh one, bit for bit.
#[test]
fn earlier_use_of_the_scratch_changes_nothing() {
    let (a, b) = (case(11, 5, 6, 8, true), case(12, 5, 6, 8, false));
    let fresh = |c: &Case| {
        let (spikes, _) = forward(c, true);
        let dl = vec![1.0; spikes.len()];
        let dx = vec![[0.5, 0.25]; c.n];
        (spikes.clone(), backward(c, true, &spikes, &dl, &dx))
    };
    let (want_spikes, want) = fresh(&a);
    let layer = delayed(&a);
    let mut s = DelayedLifScratch::default();
    let (mut spikes, mut x_end) = (Vec::new(), Vec::new());
    let run = |c: &Case,
               s: &mut DelayedLifScratch,
               spikes: &mut Vec<LayerSpike>,
               x: &mut Vec<[f64; 2]>| {
        let d = SynapticDelays { delays: &c.delays };
        layer
            .forward(
                &c.bias,
                &c.weights,
                d,
                recurrent(c),
                &c.inputs,
                s,
                spikes,
                x,
            )
            .unwrap();
    };
    // Other inputs on the same synapses (factors kept), other synapses
    // (factors made anew), then the sample again, and its backward pass
    // after its forward pass.
    let mut other_inputs = case(11, 5, 6, 8, true);
    other_inputs.inputs = b.inputs.clone();
    run(&a, &mut s, &mut spikes, &mut x_end);
    run(&other_inputs, &mut s, &mut spikes, &mut x_end);
    run(&a, &mut s, &mut spikes, &mut x_end);
    assert_eq!(spikes, want_spikes);
    run(&b, &mut s, &mut spikes, &mut x_end);
    run(&a, &mut s, &mut spikes, &mut x_end);
    assert_eq!(spikes, want_spikes);
    let (n, n_in) = (a.n, a.n_in);
    let mut g: Grads = [
        vec![0.0; n],
        vec![0.0; n * n_in],
        vec![0.0; n * n_in],
        vec![0.0; n * n],
        vec![0.0; a.inputs.len()],
    ];
    let [gb, gw, gd, gr, gin] = &mut g;
    let dl = vec![1.0; spikes.len()];
    let dx = vec![[0.5, 0.25]; n];
    let d = SynapticDelays { delays: &a.delays };
    layer
        .backward(
            &a.bias,
            &a.weights,
            d,
            recurrent(&a),
            &a.inputs,
            &spikes,
            &dl,
            Some(&dx),
            &mut s,
            gb,
            gw,
            gd,
            Some(gr),
            gin,
        )
        .unwrap();
    assert_eq!(g, want);
}
