//! Shared fixtures of the solver tests and benchmarks.
#![allow(dead_code)]

use evnn_neurons::Lif;
use evnn_solver::{Backend, EventSolver, InputSpike, NeuronTrace};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The grazing set of docs/design.md §3.4: LIF with τ_mem 0.2, τ_syn 0.1, θ 1,
/// v_r 0, no bias; 5 inputs at U[0, 1.5] with weights U(0, 7); t_end 2.
/// Many runs have a membrane potential that touches the threshold and turns
/// back inside one integrator step.
pub const GRAZING_T_END: f64 = 2.0;

pub fn grazing_lif() -> Lif {
    Lif::new(0.2, 0.1, 1.0, 0.0).unwrap()
}

/// Run `index` of the seeded grazing set (independent of every other run, so
/// any slice of the set can be regenerated alone).
pub fn grazing_inputs(index: u64) -> Vec<InputSpike> {
    let mut rng = ChaCha8Rng::seed_from_u64(
        0x0067_7261_7a69_6e67 ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    let mut inputs: Vec<InputSpike> = (0..5)
        .map(|_| InputSpike::new(rng.random_range(0.0..1.5), rng.random_range(0.0..7.0)))
        .collect();
    inputs.sort_by(|a, b| a.time.total_cmp(&b.time));
    inputs
}

/// The first `runs` runs of the grazing set.
pub fn grazing_set(runs: u64) -> Vec<Vec<InputSpike>> {
    (0..runs).map(grazing_inputs).collect()
}

/// Spike trains of `solver` (a [`grazing_lif`] solver) on every run of
/// `sets`, and the integrator steps they took.
pub fn simulate_grazing_set<B: Backend<Lif>>(
    solver: &mut EventSolver<Lif, B>,
    sets: &[Vec<InputSpike>],
) -> (Vec<Vec<f64>>, usize) {
    let mut trace = NeuronTrace::new([0.0, 0.0]);
    let mut spikes = Vec::with_capacity(sets.len());
    let mut steps = 0;
    for inputs in sets {
        solver
            .simulate_into(&[0.0], inputs, GRAZING_T_END, &mut trace)
            .unwrap();
        steps += trace.steps;
        spikes.push(trace.spikes.clone());
    }
    (spikes, steps)
}

/// Spike trains of a backend against the exact ones, run by run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpikeComparison {
    /// Spikes of the exact trains (all runs).
    pub spikes: usize,
    /// Spikes missing from runs with fewer spikes than the exact run.
    pub missed: usize,
    /// Spikes in excess in runs with more spikes than the exact run.
    pub extra: usize,
    /// Largest spike-time error over the runs with the exact count.
    pub max_error: f64,
    /// The first run whose spike count differs.
    pub first_mismatch: Option<usize>,
}

/// Compares `got` with `exact`, run by run.
pub fn compare_spike_trains(exact: &[Vec<f64>], got: &[Vec<f64>]) -> SpikeComparison {
    assert_eq!(exact.len(), got.len(), "runs");
    let mut c = SpikeComparison::default();
    for (run, (a, b)) in exact.iter().zip(got).enumerate() {
        c.spikes += a.len();
        if b.len() != a.len() {
            c.missed += a.len().saturating_sub(b.len());
            c.extra += b.len().saturating_sub(a.len());
            c.first_mismatch.get_or_insert(run);
        } else {
            for (x, y) in a.iter().zip(b) {
                c.max_error = c.max_error.max((x - y).abs());
            }
        }
    }
    c
}

/// Compares two spike trains: `Err` when the counts differ, else the largest
/// absolute time difference.
pub fn max_spike_diff(got: &[f64], expected: &[f64]) -> Result<f64, String> {
    if got.len() != expected.len() {
        return Err(format!(
            "{} spikes, expected {}: got {got:?}, expected {expected:?}",
            got.len(),
            expected.len()
        ));
    }
    Ok(got
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max))
}
