//! A neuron model evnn does not ship, from its equations to a trained
//! network: the adaptive exponential integrate-and-fire neuron (AdEx) with
//! a current synapse. The model is written once, generic over the scalar
//! type; every derivative the solver and the EventProp adjoint need is
//! derived from it by dual numbers.
//!
//! `cargo run --release -p evnn-examples --example custom_neuron [-- EPOCHS]`
//! checks the model's derivatives and gradients and trains it on Yin–Yang.
//!
//! Registered under the name `adex`, the model is also known to the whole
//! `evnn` program, which this example becomes when given a subcommand:
//! `cargo run --release -p evnn-examples --example custom_neuron -- train
//! --model adex --epochs 5 --out runs/adex` trains it and writes a model
//! file with `"neuron": {"kind": "adex", ...}`, which `eval`, `simulate` and
//! `grad` of this program read.

use anyhow::Result;
use evnn_examples::experiment::{Splits, TrainConfig};
use evnn_examples::models::{Builtin, FileModel, Models};
use evnn_net::{gradcheck, BatchRunner, Classification, FeedForward, GradCheckOptions};
use evnn_net::{InitConfig, NetworkParams, TtfsLoss};
use evnn_neurons::{check_derivatives, CheckOptions, NeuronModel, Scalar};
use evnn_optim::{EpochMetrics, Observer, Trainer};
use evnn_solver::{Dopri5Backend, SolverOptions};
use serde::{Deserialize, Serialize};

/// AdEx, state `(V, w, I)`, times in ms, voltages in units of the threshold
/// scale:
///
/// `τ_m V' = −V + Δ_T e^{(V − V_T)/Δ_T} − w + I + b`,
/// `τ_w w' = a V − w`, `τ_s I' = −I`;
/// a spike when `V` reaches `V_peak`, then `V ← V_r`, `w ← w + β`;
/// an input spike of weight `u` adds `u` to `I`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AdEx {
    tau_m: f64,
    tau_w: f64,
    tau_s: f64,
    delta_t: f64,
    v_t: f64,
    v_peak: f64,
    v_r: f64,
    a: f64,
    beta: f64,
}

impl NeuronModel for AdEx {
    type State = [f64; 3];
    type Params = [f64; 1];
    const NAME: &'static str = "AdEx";
    const PARAM_NAMES: &'static [&'static str] = &["bias"];

    fn initial_state(&self) -> [f64; 3] {
        [0.0; 3]
    }
    fn dynamics<T: Scalar>(&self, p: &[T], x: &[T], dx: &mut [T]) {
        let exp_term = ((x[0] - self.v_t) / self.delta_t).exp() * self.delta_t;
        dx[0] = (-x[0] + exp_term - x[1] + x[2] + p[0]) / self.tau_m;
        dx[1] = (x[0] * self.a - x[1]) / self.tau_w;
        dx[2] = -x[2] / self.tau_s;
    }
    fn event<T: Scalar>(&self, x: &[T]) -> T {
        x[0] - self.v_peak
    }
    fn reset<T: Scalar>(&self, x: &mut [T]) {
        x[0] = T::from(self.v_r);
        x[1] += self.beta;
    }
    fn input_jump<T: Scalar>(&self, x: &mut [T], w: T) {
        x[2] += w;
    }
}

impl Default for AdEx {
    /// Time constants in ms; a sharp spike onset (`Δ_T` 0.1) above `V_T` 1,
    /// weak subthreshold (`a`) and spike-triggered (`β`) adaptation.
    fn default() -> Self {
        AdEx {
            tau_m: 20.0,
            tau_w: 100.0,
            tau_s: 5.0,
            delta_t: 0.1,
            v_t: 1.0,
            v_peak: 1.5,
            v_r: 0.0,
            a: 0.1,
            beta: 0.05,
        }
    }
}

/// The model's name in configurations and model files, and the checks of
/// its constants when they are read.
impl FileModel for AdEx {
    const KIND: &'static str = "adex";

    fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("tau_m", self.tau_m),
            ("tau_w", self.tau_w),
            ("tau_s", self.tau_s),
            ("delta_t", self.delta_t),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!("{name} = {value} must be finite and > 0"));
            }
        }
        if !(self.v_peak > self.v_t && self.v_peak.is_finite()) {
            return Err(format!(
                "v_peak = {} must be finite and above v_t = {}",
                self.v_peak, self.v_t
            ));
        }
        if !(self.v_r < self.v_peak) {
            return Err(format!(
                "v_r = {} must be below v_peak = {}",
                self.v_r, self.v_peak
            ));
        }
        Ok(())
    }
}

/// Prints one line per epoch.
struct Progress;
impl<P, O> Observer<P, O> for Progress {
    fn epoch(&mut self, m: &EpochMetrics) {
        println!(
            "  epoch {:3}: train loss {:.4}, train acc {:.3}, validation acc {:.3} ({:.2} s)",
            m.epoch,
            m.train_loss,
            m.train_score,
            m.val_score.unwrap_or(f64::NAN),
            m.seconds
        );
    }
}

fn main() -> std::process::ExitCode {
    let first = std::env::args().nth(1);
    match first.as_deref() {
        // A number of epochs, or nothing: the demonstration.
        None => report(demo(20)),
        Some(arg) if arg.parse::<usize>().is_ok() => report(demo(arg.parse().unwrap_or(20))),
        // Anything else: the `evnn` program with the model registered.
        Some(_) => evnn_examples::program::main(Builtin.with::<AdEx>()),
    }
}

fn report(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn demo(epochs: usize) -> Result<()> {
    let adex = AdEx::default();

    // 1. The derived derivatives against finite differences of the equations.
    let mut entries = 0;
    let mut max_err: f64 = 0.0;
    for (x, p, w) in [([0.5, 0.1, 1.0], 0.2, 2.0), ([1.2, -0.2, 0.3], -0.1, -1.0)] {
        let r = check_derivatives(&adex, &[p], &x, w, &CheckOptions::default())?;
        entries += r.entries;
        max_err = max_err.max(r.max_abs_error);
    }
    println!(
        "derivative check: {entries} entries, max deviation from finite differences {max_err:.1e}"
    );

    // 2. Network gradients (EventProp) against finite differences: a 5-8-3
    // network on one Yin–Yang sample, TTFS loss, tight tolerances.
    let config = TrainConfig {
        hidden: vec![20],
        epochs,
        lr: 0.005,
        batch_size: 32,
        init: Some(InitConfig {
            wmean: 3.0,
            wlim: 6.0,
            ..InitConfig::default()
        }),
        ..TrainConfig::default()
    };
    let splits = Splits::load(&config)?;
    let sizes = [5, 8, 3];
    let tight = SolverOptions::default().with_tolerances(1e-13, 1e-13);
    let small = FeedForward::new(adex.clone(), &sizes, Dopri5Backend::default(), tight, 30.0)?;
    let params = NetworkParams::init::<AdEx>(&sizes, &config.init_config(), 1)?;
    let (sample, label) = (&splits.train.inputs[0], splits.train.labels[0]);
    let ttfs = TtfsLoss::default();
    let loss = |out: &evnn_net::SpikeTrains| {
        let first = out.first_spikes();
        let mut dl_dt = vec![0.0; first.len()];
        let l = ttfs.evaluate(&first, label, &mut dl_dt).unwrap_or(f64::NAN);
        // dL/dt for every output spike: the first spike of each neuron.
        let mut per_spike = vec![0.0; out.n_spikes()];
        for (c, g) in dl_dt.iter().enumerate() {
            if !out.channel(c).is_empty() {
                per_spike[out.offset(c)] = *g;
            }
        }
        (l, per_spike)
    };
    let report = gradcheck(&small, &params, sample, &loss, &GradCheckOptions::default())?;
    println!(
        "gradient check: {} of {} entries compared, {} outside 1e-6 relative",
        report.compared(),
        report.entries.len(),
        report.failures().len()
    );
    anyhow::ensure!(
        report.is_ok(),
        "gradient check failed: {:?}",
        report.failures()
    );

    // 3. Training on Yin–Yang (5-20-3, Adam, EventProp TTFS loss) on the
    // Dormand–Prince backend, the default for a custom model, with the
    // library's trainer; the best model on the validation split is kept.
    let net = FeedForward::new(
        adex,
        &config.sizes(),
        Dopri5Backend::default(),
        config.solver_options(),
        config.t_max,
    )?;
    let params = net.init_params(&config.init_config(), config.seed)?;
    let runner = BatchRunner::new(net);
    let (train, val, test) = (&splits.train, &splits.validation, &splits.test);
    let mut task = Classification::new(&runner, &train.inputs, &train.labels, ttfs)?
        .with_validation(&val.inputs, &val.labels)?;
    let adam = config.adam_config().build(params.len())?;
    println!("training AdEx 5-20-3 on Yin–Yang for {epochs} epochs");
    let trainer = Trainer::new(epochs, config.batch_size, config.seed)?;
    let state = trainer.fit(&mut task, params, adam, &mut Progress)?;
    let test_acc = runner.accuracy(&state.best_params, &test.inputs, &test.labels)?;
    println!(
        "test accuracy {:.1} % (best validation {:.1} % at epoch {}), {:.1} s",
        100.0 * test_acc,
        100.0 * state.best_score.unwrap_or(f64::NAN),
        state.best_epoch,
        state.train_seconds
    );
    Ok(())
}
