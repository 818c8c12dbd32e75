//! The `evnn` Python package: spiking networks with exact EventProp
//! gradients, from numpy.
//!
//! A thin layer over the libraries and the `evnn` program's own pieces
//! (`evnn-examples`): networks are built by the program's registry of
//! neuron models ([`evnn_examples::models::family`]), initialised as
//! `evnn train` initialises them, saved and loaded as its model files, and
//! trained by its training loop, so that every number equals the program's
//! bit for bit. Built by maturin from `pyproject.toml` (`pip install
//! ./evnn-python`); the README's section "Python" shows its use.
//!
//! At the boundary: every computation runs without the GIL; an error of
//! the libraries becomes `ValueError` with the library's message (bad
//! input: shapes, NaN, dtypes, unknown names); a panic, which would be a
//! bug, is caught and becomes `RuntimeError` instead of crossing into
//! Python.

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::panic::AssertUnwindSafe;

mod convert;
mod network;
mod train;
mod yin_yang;

/// `ValueError` with `message`.
fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// `ValueError` with an error's message and those of its causes that the
/// message does not already include ("model file m.json: layer 0: ...").
fn library_error(e: anyhow::Error) -> PyErr {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    value_error(message)
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// `RuntimeError` for a caught panic.
fn panic_error(payload: &(dyn std::any::Any + Send)) -> PyErr {
    PyRuntimeError::new_err(format!(
        "internal error in evnn (a bug; please report it): {}",
        panic_message(payload)
    ))
}

/// Runs `f` without the GIL (other Python threads run meanwhile); its
/// error becomes `ValueError`, a panic `RuntimeError`.
fn compute<T: Send>(py: Python<'_>, f: impl FnOnce() -> anyhow::Result<T> + Send) -> PyResult<T> {
    match py.detach(|| std::panic::catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(library_error(e)),
        Err(payload) => Err(panic_error(payload.as_ref())),
    }
}

/// The extension module.
#[pymodule]
fn evnn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<network::Network>()?;
    m.add_function(wrap_pyfunction!(network::load_model, m)?)?;
    m.add_function(wrap_pyfunction!(yin_yang::yin_yang, m)?)?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    Ok(())
}
