//! Heap allocations in the hot loops, counted by a counting global
//! allocator: the Yin–Yang network (5-20-3) runs the same 200 samples
//! twice with one reused workspace and trace, in each of three passes: the
//! full forward pass, the prediction pass and the loss pass with its
//! backward pass. The first run sizes the buffers; the second must allocate
//! nothing per integrator step, per event or per sample (the loss pass
//! returns its first spikes in one vector per sample).
//! `cargo bench -p evnn-net --bench allocations`
//!
//! Prints one JSON line per network with the allocations of each pass and
//! the steps and events they covered.

// The one place in the workspace with `unsafe`: a global allocator must be
// an `unsafe impl`; it forwards every call unchanged.
#![allow(unsafe_code)]

use evnn_net::{FeedForward, ForwardTrace, InitConfig, TtfsLoss};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_solver::{
    Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, QifSeries, SolverOptions,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::setup;

/// The system allocator, counting allocations and reallocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Default, Debug)]
struct Pass {
    allocations: usize,
    steps: usize,
    events: usize,
}

fn count<N: NeuronModel, B: Backend<N> + Adjoint<N> + Clone + Send + Sync>(
    name: &str,
    net: FeedForward<N, B>,
    init: InitConfig,
) {
    let (params, xs) = setup(&net, &init, 200);
    let loss = TtfsLoss::default();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    let mut grad = params.zeros_like();
    // 0: forward, 1: prediction, 2: loss and backward.
    let mut run = |kind: u8| {
        let mut pass = Pass::default();
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for (i, x) in xs.iter().enumerate() {
            if kind == 1 {
                net.predict_sample(&params, x, &mut ws, &mut trace).unwrap();
            } else if kind == 2 {
                net.sample_loss(
                    &params,
                    x,
                    i % 3,
                    &loss,
                    &mut ws,
                    &mut trace,
                    Some(&mut grad),
                )
                .unwrap();
            } else {
                net.forward(&params, x, &mut ws, &mut trace).unwrap();
            }
            for l in &trace.layers {
                for n in &l.neurons {
                    pass.steps += n.steps;
                    pass.events += n.events.len();
                }
            }
        }
        pass.allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        pass
    };
    let passes = [0, 1, 2].map(|kind| {
        let first = run(kind);
        (first, run(kind))
    });
    let json = |(first, second): &(Pass, Pass)| {
        format!(
            "{{\"first_pass_allocations\": {}, \"second_pass_allocations\": {}, \"steps\": {}, \"events\": {}}}",
            first.allocations, second.allocations, second.steps, second.events
        )
    };
    println!(
        "{{\"net\": \"{name}\", \"samples\": {}, \"forward\": {}, \"predict\": {}, \"forward_backward\": {}}}",
        xs.len(),
        json(&passes[0]),
        json(&passes[1]),
        json(&passes[2]),
    );
}

fn main() {
    let sizes = [5, 20, 3];
    let opts = SolverOptions::default();
    let qif_init = InitConfig::default();
    let lif_init = InitConfig {
        wmean: 3.0,
        wlim: 6.0,
        ..InitConfig::default()
    };
    count(
        "qif-dopri5",
        FeedForward::new(Qif::default(), &sizes, Dopri5Backend::default(), opts, 30.0).unwrap(),
        qif_init,
    );
    count(
        "qif-series",
        FeedForward::new(Qif::default(), &sizes, QifSeries, opts, 30.0).unwrap(),
        qif_init,
    );
    count(
        "lif-closed-form",
        FeedForward::new(Lif::default(), &sizes, ClosedForm, opts, 30.0).unwrap(),
        lif_init,
    );
    count(
        "qif-diffsol",
        FeedForward::new(
            Qif::default(),
            &sizes,
            DiffsolBackend::default(),
            opts,
            30.0,
        )
        .unwrap(),
        qif_init,
    );
}
