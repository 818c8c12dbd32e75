//! Heap allocations in the hot loops, counted by a counting global
//! allocator: the Yin–Yang network (5-20-3) runs the same 200 samples
//! twice with one reused workspace and trace, in each of three passes: the
//! full forward pass, the prediction pass and the loss pass with its
//! backward pass. The first run sizes the buffers; the second must allocate
//! nothing per integrator step, per event or per sample (the loss pass
//! returns its first spikes in one vector per sample). The `allocations`
//! test asserts this; the benchmark prints the counts.
//! `cargo bench -p evnn-net --bench allocations`
//!
//! Prints one JSON line per network with the allocations of each pass and
//! the steps and events they covered (`fast_path`: held to the bound by the
//! test; diffsol, the reference backend, allocates inside its solver).

// The counting allocator and the counts, shared with the `allocations` test.
#[path = "../tests/counting/mod.rs"]
mod counting;
use counting::{count_yinyang_nets, Pass};

fn main() {
    for net in count_yinyang_nets() {
        let json = |(_, first, second): &(_, Pass, Pass)| {
            format!(
                "{{\"first_pass_allocations\": {}, \"second_pass_allocations\": {}, \"steps\": {}, \"events\": {}}}",
                first.allocations, second.allocations, second.steps, second.events
            )
        };
        println!(
            "{{\"net\": \"{}\", \"fast_path\": {}, \"samples\": {}, \"forward\": {}, \"predict\": {}, \"forward_backward\": {}}}",
            net.name,
            net.fast_path,
            net.samples,
            json(&net.passes[0]),
            json(&net.passes[1]),
            json(&net.passes[2]),
        );
    }
}
