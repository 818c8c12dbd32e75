//! `evnn.train`: the `evnn train` run from Python.

use crate::convert;
use crate::network::Network;
use crate::{library_error, panic_error, value_error};
use anyhow::{Context, Result};
use evnn_examples::experiment::{
    EpochMetrics, Observer, Splits, TrainConfig, TrainOutcome, TrainState, WithNet,
};
use evnn_examples::models::{family, Models};
use evnn_net::{BatchRunner, FeedForward, NetworkParams};
use evnn_neurons::NeuronModel;
use evnn_optim::Adam;
use evnn_solver::{Adjoint, Backend};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The training run of `evnn train` for `config` (resolved by the
/// program's registry): the standard splits, the worker pool of
/// `config.threads`, the program's training loop with `observer`.
/// The one place that names the program's training function.
fn run(config: &TrainConfig, observer: &mut (dyn Observer + Send)) -> Result<TrainOutcome> {
    struct Job<'a> {
        config: &'a TrainConfig,
        splits: &'a Splits,
        observer: &'a mut (dyn Observer + Send),
    }
    impl WithNet for Job<'_> {
        type Output = TrainOutcome;
        fn run<N, B>(self, net: FeedForward<N, B>) -> Result<TrainOutcome>
        where
            N: NeuronModel,
            B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
        {
            let runner = BatchRunner::new(net);
            evnn_examples::experiment::train(&runner, self.config, self.splits, self.observer)
        }
    }
    let splits = Splits::load(config)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| {
        family().with_net(
            config,
            Job {
                config,
                splits: &splits,
                observer,
            },
        )
    })
}

/// Calls the Python progress callback after every epoch, and stops the
/// run (at the end of the epoch) when it raises or when the caller is
/// interrupted.
struct Progress<'a> {
    callback: Option<Py<PyAny>>,
    /// The callback's exception.
    error: Option<PyErr>,
    /// Set by the waiting caller on Ctrl-C.
    interrupted: &'a AtomicBool,
}

impl evnn_optim::Observer<NetworkParams, Adam<f64>> for Progress<'_> {
    fn epoch(&mut self, m: &EpochMetrics) {
        let Some(callback) = &self.callback else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        Python::attach(|py| {
            let call = || -> PyResult<()> {
                let metrics = convert::from_json(
                    py,
                    &serde_json::to_value(m).map_err(|e| value_error(e.to_string()))?,
                )?;
                callback.bind(py).call1((metrics,))?;
                Ok(())
            };
            if let Err(e) = call() {
                self.error = Some(e);
            }
        });
    }

    fn checkpoint(
        &mut self,
        _state: &TrainState,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.error.is_some() {
            return Err("stopped by the progress callback".into());
        }
        if self.interrupted.load(Ordering::Relaxed) {
            return Err("interrupted".into());
        }
        Ok(())
    }
}

/// train(callback=None, **config)
/// --
///
/// Runs `evnn train` (the Yin–Yang experiment) with the settings of
/// `metrics.json`'s "config" as keywords (defaults as in the program:
/// model="qif", hidden=[20], epochs=100, batch_size=256, lr=0.05,
/// seed=0, ...; unknown names are an error) and returns what
/// `metrics.json` holds (config, epochs, best_val_acc, best_epoch,
/// test_acc, train_seconds) and "model", the best-validation `Network`:
/// the same numbers as the program, bit for bit. `callback(metrics)` is
/// called after every epoch with its dict (epoch, train_loss, train_acc,
/// val_acc, seconds); an exception from it, or Ctrl-C, ends the run at the
/// end of the epoch and is raised. Nothing is written to disk.
#[pyfunction]
#[pyo3(signature = (callback=None, **config))]
pub(crate) fn train<'py>(
    py: Python<'py>,
    callback: Option<Bound<'py, PyAny>>,
    config: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut fields = match config {
        Some(d) => match convert::to_json(d.as_any(), "")? {
            serde_json::Value::Object(map) => map,
            other => return Err(value_error(format!("config: expected a dict, got {other}"))),
        },
        None => serde_json::Map::new(),
    };
    // `loss="eventprop"`, as `Network.loss_and_grad` takes it.
    if fields.get("loss").and_then(|v| v.as_str()) == Some("eventprop") {
        fields.insert("loss".into(), "event_prop".into());
    }
    let config: TrainConfig = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| value_error(format!("invalid config: {e}")))?;
    let config = (|| -> Result<TrainConfig> {
        config.validate()?;
        family().resolve(&config)
    })()
    .map_err(library_error)?;
    if let Some(c) = &callback {
        if !c.is_callable() {
            return Err(value_error("callback must be callable"));
        }
    }
    let interrupted = AtomicBool::new(false);
    let mut progress = Progress {
        callback: callback.map(Bound::unbind),
        error: None,
        interrupted: &interrupted,
    };
    // The run goes on in its own thread while this one waits without the
    // GIL and wakes now and then for Python's signal handlers (Ctrl-C),
    // which run only in the main thread.
    let (outcome, interrupt) = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let cfg = &config;
        let progress = &mut progress;
        s.spawn(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| run(cfg, &mut *progress)));
            let _ = tx.send((r, progress.error.take()));
        });
        let mut interrupt = None;
        let mut rx = rx;
        let outcome = loop {
            // The receiver goes into the GIL-free wait and comes back.
            let (received, back) =
                py.detach(move || (rx.recv_timeout(Duration::from_millis(50)), rx));
            rx = back;
            match received {
                Ok(r) => break Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals() {
                        interrupted.store(true, Ordering::Relaxed);
                        interrupt.get_or_insert(e);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            }
        };
        (outcome, interrupt)
    });
    let Some((outcome, callback_error)) = outcome else {
        return Err(value_error("the training thread ended without a result"));
    };
    if let Some(e) = callback_error {
        return Err(e);
    }
    if let Some(e) = interrupt {
        return Err(e);
    }
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => return Err(library_error(e)),
        Err(payload) => return Err(panic_error(payload.as_ref())),
    };
    let result = PyDict::new(py);
    let json = |v: serde_json::Result<serde_json::Value>| -> PyResult<Bound<'py, PyAny>> {
        convert::from_json(py, &v.map_err(|e| value_error(e.to_string()))?)
    };
    result.set_item("config", json(serde_json::to_value(&config))?)?;
    result.set_item("epochs", json(serde_json::to_value(&outcome.epochs))?)?;
    result.set_item("best_val_acc", outcome.best_val_acc)?;
    result.set_item("best_epoch", outcome.best_epoch)?;
    result.set_item("test_acc", outcome.test_acc)?;
    result.set_item("train_seconds", outcome.train_seconds)?;
    result.set_item("model", Network::trained(py, &config, outcome.params)?)?;
    Ok(result)
}
