//! Microseconds per sample for the Yin–Yang network (5-20-3), on one thread:
//! the full forward pass, the loss (forward with the output neurons stopped at
//! their first spike, as in evaluation and training; the default
//! `LossPass::Auto`, and layer by layer) and loss + backward, QIF (diffsol,
//! Dopri5 and series backends; on the generic backends also with every
//! derivative derived by dual numbers, `Derived<Qif>`) and LIF (closed form).
//! `cargo bench -p evnn-net --bench yinyang_net`

use evnn_net::{FeedForward, ForwardTrace, InitConfig, LossPass, TtfsLoss};
use evnn_neurons::{Derived, Lif, NeuronModel, Qif};
use evnn_solver::{
    Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, QifSeries, SolverOptions,
};
use std::time::Instant;

mod common;
use common::setup;

fn bench<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    name: &str,
    net: FeedForward<N, B>,
    init: InitConfig,
) {
    let (params, xs) = setup(&net, &init, 500);
    let loss = TtfsLoss::default();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    let mut spikes = 0;
    let start = Instant::now();
    for x in &xs {
        net.forward(&params, x, &mut ws, &mut trace).unwrap();
        spikes += trace
            .layers
            .iter()
            .map(|l| l.outputs.n_spikes())
            .sum::<usize>();
    }
    let fwd = start.elapsed().as_secs_f64() * 1e6 / xs.len() as f64;
    let start = Instant::now();
    for (i, x) in xs.iter().enumerate() {
        net.sample_loss(&params, x, &(i % 3), &loss, &mut ws, &mut trace, None)
            .unwrap();
    }
    let loss_only = start.elapsed().as_secs_f64() * 1e6 / xs.len() as f64;
    let layered = net.clone().with_loss_pass(LossPass::LayerByLayer);
    let start = Instant::now();
    for (i, x) in xs.iter().enumerate() {
        layered
            .sample_loss(&params, x, &(i % 3), &loss, &mut ws, &mut trace, None)
            .unwrap();
    }
    let loss_layered = start.elapsed().as_secs_f64() * 1e6 / xs.len() as f64;
    let mut grad = params.zeros_like();
    let start = Instant::now();
    for (i, x) in xs.iter().enumerate() {
        net.sample_loss(
            &params,
            x,
            &(i % 3),
            &loss,
            &mut ws,
            &mut trace,
            Some(&mut grad),
        )
        .unwrap();
    }
    let both = start.elapsed().as_secs_f64() * 1e6 / xs.len() as f64;
    println!(
        "{{\"net\": \"{name}\", \"spikes_per_sample\": {:.1}, \"forward_us_per_sample\": {fwd:.1}, \"loss_us_per_sample\": {loss_only:.1}, \"loss_layer_by_layer_us_per_sample\": {loss_layered:.1}, \"loss_backward_us_per_sample\": {both:.1}}}",
        spikes as f64 / xs.len() as f64
    );
}

fn main() {
    let sizes = [5, 20, 3];
    let opts = SolverOptions::default();
    bench(
        "QIF 5-20-3 diffsol",
        FeedForward::new(
            Qif::default(),
            &sizes,
            DiffsolBackend::default(),
            opts,
            30.0,
        )
        .unwrap(),
        InitConfig::default(),
    );
    bench(
        "QIF 5-20-3 dopri5",
        FeedForward::new(Qif::default(), &sizes, Dopri5Backend::default(), opts, 30.0).unwrap(),
        InitConfig::default(),
    );
    bench(
        "QIF 5-20-3 diffsol, derived derivatives",
        FeedForward::new(
            Derived(Qif::default()),
            &sizes,
            DiffsolBackend::default(),
            opts,
            30.0,
        )
        .unwrap(),
        InitConfig::default(),
    );
    bench(
        "QIF 5-20-3 dopri5, derived derivatives",
        FeedForward::new(
            Derived(Qif::default()),
            &sizes,
            Dopri5Backend::default(),
            opts,
            30.0,
        )
        .unwrap(),
        InitConfig::default(),
    );
    bench(
        "QIF 5-20-3 series",
        FeedForward::new(Qif::default(), &sizes, QifSeries, opts, 30.0).unwrap(),
        InitConfig::default(),
    );
    let lif = Lif::default();
    bench(
        "LIF 5-20-3 closed form",
        FeedForward::new(lif, &sizes, ClosedForm, opts, 30.0).unwrap(),
        InitConfig {
            wmean: 1.5,
            wlim: 3.0,
            ..InitConfig::default()
        },
    );
}
