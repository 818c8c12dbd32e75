//! `evnn.yin_yang`: a Yin–Yang split, encoded as `evnn data` encodes it.

use crate::{compute, value_error};
use evnn_data::{Split, YinYangConfig};
use evnn_examples::experiment::encode;
use numpy::ndarray::{Array1, Array2};
use numpy::IntoPyArray;
use pyo3::prelude::*;

/// yin_yang(split="train", seed=None, *, size=None, t_max=30.0)
/// --
///
/// A Yin–Yang split latency-coded as spike times: `(inputs, labels)`,
/// `inputs` a float64 array (n, 5) (channel times t_max·(x, y, 1−x, 1−y)
/// and a bias spike at 0), `labels` an int64 array (n,). `split` is
/// "train" (5000 samples, seed 42), "validation" (1000, seed 41) or "test"
/// (1000, seed 40), the standard splits of Kriener et al., bit for bit
/// those of `evnn data`; `seed` and `size` replace the split's.
#[pyfunction]
#[pyo3(signature = (split="train", seed=None, *, size=None, t_max=30.0))]
pub(crate) fn yin_yang<'py>(
    py: Python<'py>,
    split: &str,
    seed: Option<i64>,
    size: Option<i64>,
    t_max: f64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let split = match split {
        "train" => Split::Train,
        "validation" => Split::Validation,
        "test" => Split::Test,
        other => {
            return Err(value_error(format!(
                "unknown split {other:?} (known: \"train\", \"validation\", \"test\")"
            )))
        }
    };
    let mut config = YinYangConfig::split(split);
    if let Some(seed) = seed {
        config = config.with_seed(u32::try_from(seed).map_err(|_| {
            value_error(format!("seed {seed} is out of range (0 to {})", u32::MAX))
        })?);
    }
    if let Some(size) = size {
        config = config.with_size(
            usize::try_from(size).map_err(|_| value_error(format!("size {size} is negative")))?,
        );
    }
    let (times, labels, channels) = compute(py, || {
        let data = config.build()?.generate()?;
        let n = data.len();
        let split = encode(data, n, t_max)?;
        let channels = split.inputs.first().map_or(5, |s| s.n_channels());
        let times: Vec<f64> = split
            .inputs
            .iter()
            .flat_map(|s| s.flat().to_vec())
            .collect();
        let labels: Vec<i64> = split.labels.iter().map(|&l| l as i64).collect();
        Ok((times, labels, channels))
    })?;
    let n = labels.len();
    let inputs =
        Array2::from_shape_vec((n, channels), times).map_err(|e| value_error(e.to_string()))?;
    Ok((
        inputs.into_pyarray(py).into_any(),
        Array1::from(labels).into_pyarray(py).into_any(),
    ))
}
