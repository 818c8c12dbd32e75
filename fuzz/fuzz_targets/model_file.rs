//! `model.json` as `evnn eval`, `simulate` and `grad` read it: parsed and
//! validated, then its configuration and parameters build the network,
//! which simulates one fixed sample. Any input may be refused with an
//! error; none may panic.

#![no_main]

use anyhow::Result;
use evnn_examples::experiment::{with_net, WithNet};
use evnn_examples::model_file::ModelFile;
use evnn_net::{FeedForward, ForwardTrace, NetworkParams, SpikeTrains};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};
use libfuzzer_sys::fuzz_target;

/// One forward pass of a Yin–Yang sample with the file's parameters.
struct Simulate<'a>(&'a NetworkParams);

impl WithNet for Simulate<'_> {
    type Output = ();
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<()>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        let x = SpikeTrains::from_times(&[7.0, 12.0, 23.0, 18.0, 0.0])?;
        let mut trace = ForwardTrace::default();
        net.forward(self.0, &x, &mut net.workspace(), &mut trace)?;
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = ModelFile::parse(text, "fuzz.json") {
        let config = file.config();
        let params = file.params();
        let _ = with_net(&config, Simulate(&params));
    }
});
