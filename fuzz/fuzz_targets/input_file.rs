//! The input file of `evnn simulate` and `evnn grad`: parsed with and
//! without labels, then every sample (up to 8) runs through the loss and
//! backward pass of a fixed QIF 5-4-3 network on the Taylor-series backend
//! (the program's default), as `grad` does. Any input may be refused with
//! an error; none may panic.

#![no_main]

use evnn_examples::commands::InputFile;
use evnn_net::{FeedForward, ForwardTrace, InitConfig, NetworkParams, TtfsLoss};
use evnn_neurons::Qif;
use evnn_solver::{QifSeries, SolverOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

type Net = (FeedForward<Qif, QifSeries>, NetworkParams);

fn net() -> &'static Net {
    static NET: OnceLock<Net> = OnceLock::new();
    NET.get_or_init(|| {
        let sizes = [5, 4, 3];
        let net = FeedForward::new(
            Qif::default(),
            &sizes,
            QifSeries,
            SolverOptions::default(),
            30.0,
        )
        .expect("a valid network");
        let params = NetworkParams::init::<Qif>(&sizes, &InitConfig::default(), 0)
            .expect("valid parameters");
        (net, params)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = InputFile::parse(text, false);
    let Ok(samples) = InputFile::parse(text, true) else {
        return;
    };
    let (net, params) = net();
    let labels = samples.labels.unwrap_or_default();
    let (mut ws, mut trace) = (net.workspace(), ForwardTrace::default());
    let mut grad = params.zeros_like();
    for (x, &y) in samples.inputs.iter().zip(&labels).take(8) {
        let _ = net.sample_loss(
            params,
            x,
            y,
            &TtfsLoss::default(),
            &mut ws,
            &mut trace,
            Some(&mut grad),
        );
    }
});
