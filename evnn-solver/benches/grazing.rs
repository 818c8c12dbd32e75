//! The full grazing set of DESIGN.md §3 (22 000 LIF runs): missed and extra
//! spikes of the diffsol backend against the exact closed form at the default
//! tolerance, and microseconds per neuron run for both backends.
//!
//! `cargo bench -p evnn-solver --bench grazing`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{grazing_inputs, grazing_lif, GRAZING_T_END};
use evnn_solver::{
    Backend, ClosedForm, DiffsolBackend, Dopri5Backend, EventSolver, NeuronTrace, SolverOptions,
};
use std::time::Instant;

fn time_backend<B: Backend<evnn_neurons::Lif>>(
    backend: B,
    sets: &[Vec<evnn_solver::InputSpike>],
) -> (f64, Vec<Vec<f64>>, usize) {
    let mut solver = EventSolver::new(grazing_lif(), backend, SolverOptions::default()).unwrap();
    let mut trace = NeuronTrace::new([0.0, 0.0]);
    let mut spikes = Vec::with_capacity(sets.len());
    let mut steps = 0;
    let start = Instant::now();
    for inputs in sets {
        solver
            .simulate_into(&[0.0], inputs, GRAZING_T_END, &mut trace)
            .unwrap();
        steps += trace.steps;
        spikes.push(trace.spikes.clone());
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / sets.len() as f64;
    (us, spikes, steps)
}

fn main() {
    let n: u64 = std::env::var("GRAZING_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(22_000);
    let sets: Vec<_> = (0..n).map(grazing_inputs).collect();
    // Warm up caches and the allocator.
    let _ = time_backend(ClosedForm, &sets[..100.min(sets.len())]);
    let (us_exact, exact, _) = time_backend(ClosedForm, &sets);
    let (us_rk, rk, rk_steps) = time_backend(DiffsolBackend::default(), &sets);
    let (us_dp, dp, dp_steps) = time_backend(Dopri5Backend::default(), &sets);
    let (rk_missed, rk_extra, rk_worst) = compare(&exact, &rk);
    let (dp_missed, dp_extra, dp_worst) = compare(&exact, &dp);
    let total: usize = exact.iter().map(Vec::len).sum();
    println!(
        "{{\"runs\": {n}, \"spikes\": {total}, \"closed_form_us_per_run\": {us_exact:.3}, \
         \"diffsol\": {{\"missed\": {rk_missed}, \"extra\": {rk_extra}, \"max_spike_time_error\": {rk_worst:e}, \"us_per_run\": {us_rk:.3}, \"steps_per_run\": {:.1}}}, \
         \"dopri5\": {{\"missed\": {dp_missed}, \"extra\": {dp_extra}, \"max_spike_time_error\": {dp_worst:e}, \"us_per_run\": {us_dp:.3}, \"steps_per_run\": {:.1}}}}}",
        rk_steps as f64 / n as f64,
        dp_steps as f64 / n as f64
    );
}

/// Missed spikes, extra spikes and the largest spike-time error of `got`
/// against `exact`.
fn compare(exact: &[Vec<f64>], got: &[Vec<f64>]) -> (usize, usize, f64) {
    let (mut missed, mut extra, mut worst) = (0usize, 0usize, 0.0f64);
    for (a, b) in exact.iter().zip(got) {
        if b.len() < a.len() {
            missed += a.len() - b.len();
        } else if b.len() > a.len() {
            extra += b.len() - a.len();
        } else {
            for (x, y) in a.iter().zip(b) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    (missed, extra, worst)
}
