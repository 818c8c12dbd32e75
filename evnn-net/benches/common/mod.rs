//! Inputs shared by the network benchmarks.

use evnn_net::{FeedForward, InitConfig, NetworkParams, SpikeTrains};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};

/// Seed-0 initial parameters of `net` and `n` samples.
pub fn setup<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone>(
    net: &FeedForward<N, B>,
    init: &InitConfig,
    n: usize,
) -> (NetworkParams, Vec<SpikeTrains>) {
    let params = NetworkParams::init::<N>(net.sizes(), init, 0).unwrap();
    (params, samples(n))
}

/// `n` Yin–Yang-like samples: latency-coded `(x, y, 1−x, 1−y)` on `[0, 30]`
/// from a low-discrepancy sequence, and a bias spike at 0.
pub fn samples(n: usize) -> Vec<SpikeTrains> {
    (0..n)
        .map(|i| {
            let x = (i as f64 * 0.3719).fract();
            let y = (i as f64 * 0.6113).fract();
            SpikeTrains::from_times(&[30.0 * x, 30.0 * y, 30.0 * (1.0 - x), 30.0 * (1.0 - y), 0.0])
                .unwrap()
        })
        .collect()
}
