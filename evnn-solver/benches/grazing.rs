//! The full grazing set of docs/design.md §3.4 (22 000 LIF runs): missed and extra
//! spikes of the diffsol and Dormand–Prince backends against the exact closed
//! form at the default tolerance, and microseconds per neuron run for all
//! three. The test `grazing_set_has_no_missed_or_extra_spikes`
//! (`tests/lif_backends.rs`) asserts the counts; this prints them with the
//! timings.
//!
//! `cargo bench -p evnn-solver --bench grazing`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{compare_spike_trains, grazing_lif, grazing_set, simulate_grazing_set};
use evnn_solver::{Backend, ClosedForm, DiffsolBackend, Dopri5Backend, EventSolver, SolverOptions};
use std::time::Instant;

/// Microseconds per run, spike trains and integrator steps of `backend` on
/// `sets`.
fn time_backend<B: Backend<evnn_neurons::Lif>>(
    backend: B,
    sets: &[Vec<evnn_solver::InputSpike>],
) -> (f64, Vec<Vec<f64>>, usize) {
    let mut solver = EventSolver::new(grazing_lif(), backend, SolverOptions::default()).unwrap();
    let start = Instant::now();
    let (spikes, steps) = simulate_grazing_set(&mut solver, sets);
    let us = start.elapsed().as_secs_f64() * 1e6 / sets.len() as f64;
    (us, spikes, steps)
}

fn main() {
    let n: u64 = std::env::var("GRAZING_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(22_000);
    let sets = grazing_set(n);
    // Warm up caches and the allocator.
    let _ = time_backend(ClosedForm, &sets[..100.min(sets.len())]);
    let (us_exact, exact, _) = time_backend(ClosedForm, &sets);
    let (us_rk, rk, rk_steps) = time_backend(DiffsolBackend::default(), &sets);
    let (us_dp, dp, dp_steps) = time_backend(Dopri5Backend::default(), &sets);
    let rk = compare_spike_trains(&exact, &rk);
    let dp = compare_spike_trains(&exact, &dp);
    let total = rk.spikes;
    println!(
        "{{\"runs\": {n}, \"spikes\": {total}, \"closed_form_us_per_run\": {us_exact:.3}, \
         \"diffsol\": {{\"missed\": {}, \"extra\": {}, \"max_spike_time_error\": {:e}, \"us_per_run\": {us_rk:.3}, \"steps_per_run\": {:.1}}}, \
         \"dopri5\": {{\"missed\": {}, \"extra\": {}, \"max_spike_time_error\": {:e}, \"us_per_run\": {us_dp:.3}, \"steps_per_run\": {:.1}}}}}",
        rk.missed,
        rk.extra,
        rk.max_error,
        rk_steps as f64 / n as f64,
        dp.missed,
        dp.extra,
        dp.max_error,
        dp_steps as f64 / n as f64
    );
}
