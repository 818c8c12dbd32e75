//! Shared fixtures of the solver tests and benchmarks.
#![allow(dead_code)]

use evnn_neurons::Lif;
use evnn_solver::InputSpike;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The grazing set of DESIGN.md §3: LIF with τ_mem 0.2, τ_syn 0.1, θ 1,
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
