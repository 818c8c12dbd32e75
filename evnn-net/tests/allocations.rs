//! No heap allocation per integrator step, per event or per sample once the
//! buffers are sized (the README's "0 allocations"): each single-sample pass
//! runs twice over the same samples with one reused workspace and trace,
//! counted by a counting global allocator; the second run must allocate
//! nothing in the forward and prediction passes, and at most one vector per
//! sample (the first spikes it returns) in the loss pass with its backward
//! pass. The `allocations` benchmark prints the same counts.
//!
//! diffsol allocates inside its solver on every run; it is the reference
//! backend, not the fast path, and is not held to this.

mod counting;
use counting::{count_yinyang_nets, PassKind};

#[test]
fn reused_buffers_allocate_nothing_per_step_event_or_sample() {
    let nets = count_yinyang_nets();
    assert_eq!(nets.iter().filter(|n| n.fast_path).count(), 3);
    for net in nets.iter().filter(|n| n.fast_path) {
        let (name, samples) = (net.name, net.samples);
        for (kind, first, second) in net.passes {
            // The pass did its work: the counts cover steps and events.
            assert!(
                second.steps > samples && second.events > samples,
                "{name}, {kind:?}: {} steps, {} events over {samples} samples",
                second.steps,
                second.events,
            );
            let allowed = match kind {
                PassKind::Forward | PassKind::Predict => 0,
                PassKind::LossAndBackward => samples,
            };
            assert!(
                second.allocations <= allowed,
                "{name}, {kind:?}: {} allocations in the second run over {samples} samples \
                 ({} steps, {} events; {} in the first run), at most {allowed} allowed",
                second.allocations,
                second.steps,
                second.events,
                first.allocations
            );
        }
    }
}
