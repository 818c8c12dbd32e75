//! Heap allocations of the network passes, counted by a counting global
//! allocator: shared by the `allocations` test (which asserts the counts)
//! and the `allocations` benchmark (which prints them). A binary that
//! declares this module allocates through [`Counting`].

// The one place in the workspace with `unsafe`: a global allocator must be
// an `unsafe impl`; it forwards every call unchanged.
#![allow(unsafe_code)]

use evnn_net::{FeedForward, ForwardTrace, InitConfig, NetworkParams, SpikeTrains, TtfsLoss};
use evnn_neurons::{Lif, NeuronModel, Qif};
use evnn_solver::{
    Adjoint, Backend, ClosedForm, DiffsolBackend, Dopri5Backend, QifSeries, SolverOptions,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

#[path = "../../benches/common/mod.rs"]
mod common;

thread_local! {
    /// Allocations and reallocations made by this thread. Per thread, so
    /// that the test harness's other threads do not count; `const` and
    /// without destructor, so that reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread being torn down has no counter any more.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// The system allocator, counting allocations and reallocations.
pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and reallocations this thread has made so far.
pub fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// The three single-sample passes of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// [`FeedForward::forward`]: every spike of every neuron.
    Forward,
    /// [`FeedForward::predict_sample`]: until the prediction is decided.
    Predict,
    /// [`FeedForward::sample_loss`] with its backward pass.
    LossAndBackward,
}

impl PassKind {
    /// Every kind, in the order [`count_passes`] runs them.
    pub const ALL: [PassKind; 3] = [
        PassKind::Forward,
        PassKind::Predict,
        PassKind::LossAndBackward,
    ];
}

/// One pass over the samples: its allocations, and the integrator steps
/// and events it covered.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pass {
    /// Allocations and reallocations.
    pub allocations: usize,
    /// Integrator steps of every neuron.
    pub steps: usize,
    /// Events of every neuron.
    pub events: usize,
}

/// Runs each pass twice over `xs` (label `i % 3` for sample `i`) with one
/// reused workspace and trace, and returns the first and the second run of
/// each, in the order of [`PassKind::ALL`]. The first run sizes the buffers;
/// the second shows what a pass allocates once they are sized.
pub fn count_passes<N, B>(
    net: &FeedForward<N, B>,
    params: &NetworkParams,
    xs: &[SpikeTrains],
) -> [(PassKind, Pass, Pass); 3]
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let loss = TtfsLoss::default();
    let mut ws = net.workspace();
    let mut trace = ForwardTrace::default();
    let mut grad = params.zeros_like();
    let mut run = |kind: PassKind| {
        let mut pass = Pass::default();
        let before = allocations();
        for (i, x) in xs.iter().enumerate() {
            match kind {
                PassKind::Forward => net.forward(params, x, &mut ws, &mut trace).map(|_| ()),
                PassKind::Predict => net
                    .predict_sample(params, x, &mut ws, &mut trace)
                    .map(|_| ()),
                PassKind::LossAndBackward => net
                    .sample_loss(
                        params,
                        x,
                        &(i % 3),
                        &loss,
                        &mut ws,
                        &mut trace,
                        Some(&mut grad),
                    )
                    .map(|_| ()),
            }
            .unwrap();
            for l in &trace.layers {
                for n in &l.neurons {
                    pass.steps += n.steps;
                    pass.events += n.events.len();
                }
            }
        }
        pass.allocations = allocations() - before;
        pass
    };
    PassKind::ALL.map(|kind| {
        let first = run(kind);
        (kind, first, run(kind))
    })
}

/// The allocation counts of one network.
#[derive(Clone, Debug)]
pub struct NetCounts {
    /// Model and backend.
    pub name: &'static str,
    /// Whether the backend is one of the fast paths, held to no allocation
    /// per step, event or sample. diffsol allocates inside its solver on
    /// every run: it is the reference backend.
    pub fast_path: bool,
    /// Samples of each pass.
    pub samples: usize,
    /// The first and second run of each pass ([`count_passes`]).
    pub passes: [(PassKind, Pass, Pass); 3],
}

fn net_counts<N, B>(
    name: &'static str,
    fast_path: bool,
    net: FeedForward<N, B>,
    init: InitConfig,
) -> NetCounts
where
    N: NeuronModel,
    B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
{
    let (params, xs) = common::setup(&net, &init, 200);
    NetCounts {
        name,
        fast_path,
        samples: xs.len(),
        passes: count_passes(&net, &params, &xs),
    }
}

/// The counts of the Yin–Yang network (5-20-3) on every backend, over 200
/// Yin–Yang-like samples at seed-0 initial parameters (the default
/// initialisation for QIF, weights around 20; weights around 3 for LIF,
/// under which the networks spike).
pub fn count_yinyang_nets() -> Vec<NetCounts> {
    let sizes = [5, 20, 3];
    let opts = SolverOptions::default();
    let qif_init = InitConfig::default();
    let lif_init = InitConfig {
        wmean: 3.0,
        wlim: 6.0,
        ..InitConfig::default()
    };
    vec![
        net_counts(
            "qif-dopri5",
            true,
            FeedForward::new(Qif::default(), &sizes, Dopri5Backend::default(), opts, 30.0).unwrap(),
            qif_init,
        ),
        net_counts(
            "qif-series",
            true,
            FeedForward::new(Qif::default(), &sizes, QifSeries, opts, 30.0).unwrap(),
            qif_init,
        ),
        net_counts(
            "lif-closed-form",
            true,
            FeedForward::new(Lif::default(), &sizes, ClosedForm, opts, 30.0).unwrap(),
            lif_init,
        ),
        net_counts(
            "qif-diffsol",
            false,
            FeedForward::new(
                Qif::default(),
                &sizes,
                DiffsolBackend::default(),
                opts,
                30.0,
            )
            .unwrap(),
            qif_init,
        ),
    ]
}
