//! `checkpoint.json` as `evnn train --resume` reads it: parsed and
//! validated, then the optimizer takes one step on the saved parameters, as
//! the resumed run's first batch does. Any input may be refused with an
//! error; none may panic.

#![no_main]

use evnn_examples::checkpoint::Checkpoint;
use evnn_optim::Optimizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ckpt) = Checkpoint::parse(text, "fuzz.json") {
        let mut state = ckpt.state;
        let mut flat = state.params.to_flat();
        let grad = vec![1e-3; flat.len()];
        if state.optimizer.step(&mut flat, &grad).is_ok() {
            let _ = state.params.set_flat(&flat);
        }
    }
});
