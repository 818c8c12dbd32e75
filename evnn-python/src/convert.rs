//! Python values to the libraries' types and back: spike inputs, labels,
//! parameters, and configuration values (as JSON, which the program's
//! configuration types read with their own checks).

use crate::value_error;
use evnn_net::{LayerParams, NetworkParams, SpikeTrains};
use numpy::ndarray::{Array1, Array2, Array3};
use numpy::prelude::*;
use numpy::{PyArrayDyn, PyUntypedArray};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// The type name of `obj`, for messages.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A numpy array's dtype as numpy names it (`float32`, `int64`, ...).
fn dtype_name(arr: &Bound<'_, PyUntypedArray>) -> String {
    arr.dtype()
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A real array as float64 values in C order and its shape. A numpy array
/// must already be float64 (another dtype is a `ValueError` that names
/// it: converting silently would hide, say, a float32 array's lost
/// precision); anything else goes through `numpy.asarray` and may hold
/// integers or floats.
pub(crate) fn f64_array(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<f64>, Vec<usize>)> {
    let arr = match obj.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            let np = obj.py().import("numpy")?;
            let a = np
                .call_method1("asarray", (obj,))
                .map_err(|e| value_error(format!("{what}: not an array of numbers ({e})")))?;
            let a = a
                .cast_into::<PyUntypedArray>()
                .map_err(|_| value_error(format!("{what}: not an array of numbers")))?;
            if !matches!(a.dtype().kind(), b'i' | b'u' | b'f') {
                return Err(value_error(format!(
                    "{what}: expected numbers, got a {} array from a {}",
                    dtype_name(&a),
                    type_name(obj)
                )));
            }
            a.call_method1("astype", ("float64",))?
                .cast_into::<PyUntypedArray>()
                .map_err(|_| value_error(format!("{what}: not an array of numbers")))?
        }
    };
    let typed = arr.cast::<PyArrayDyn<f64>>().map_err(|_| {
        value_error(format!(
            "{what} must be float64, got a {} array (convert it with .astype(np.float64))",
            dtype_name(&arr)
        ))
    })?;
    let ro = typed
        .try_readonly()
        .map_err(|e| value_error(format!("{what}: {e}")))?;
    let view = ro.as_array();
    Ok((view.iter().copied().collect(), view.shape().to_vec()))
}

/// One channel of one sample: a number (one spike; `inf`: none) or a
/// sequence or 1-D array of spike times (sorted, possibly empty).
fn channel_times(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
        let t: f64 = obj
            .extract()
            .map_err(|e| value_error(format!("{what}: {e}")))?;
        return Ok(if t == f64::INFINITY { vec![] } else { vec![t] });
    }
    let (times, shape) = f64_array(obj, what)?;
    match shape.len() {
        0 => Ok(match times.first() {
            Some(&t) if t != f64::INFINITY => vec![t],
            _ => vec![],
        }),
        1 => Ok(times),
        n => Err(value_error(format!(
            "{what}: a channel's spike times must be a number or 1-D, got {n} dimensions"
        ))),
    }
}

/// Input spikes of a batch: a 2-D float64 array `(samples, channels)` of
/// one spike time per channel (`inf`: no spike), or a sequence of samples,
/// each a sequence of channels, each a number or a 1-D sequence of sorted
/// spike times. Each channel is checked by the library as it is added
/// (times finite, `>= 0`, sorted); an error names the sample.
pub(crate) fn spike_inputs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<SpikeTrains>> {
    let bad = |i: usize, e: evnn_net::NetError| value_error(format!("input sample {i}: {e}"));
    if obj.cast::<PyUntypedArray>().is_ok() {
        let (times, shape) = f64_array(obj, "inputs")?;
        let &[n, channels] = shape.as_slice() else {
            return Err(value_error(format!(
                "inputs must be 2-D (samples, channels), got shape {shape:?}"
            )));
        };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mut s = SpikeTrains::new();
            for &t in &times[i * channels..(i + 1) * channels] {
                let spikes: &[f64] = if t == f64::INFINITY { &[] } else { &[t] };
                s.push_channel(spikes).map_err(|e| bad(i, e))?;
            }
            out.push(s);
        }
        return Ok(out);
    }
    if !(obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>()) {
        return Err(value_error(format!(
            "inputs must be a 2-D float64 array or a list of samples, got {}",
            type_name(obj)
        )));
    }
    let mut out = Vec::new();
    for (i, sample) in obj.try_iter()?.enumerate() {
        let sample = sample?;
        if sample.is_instance_of::<PyString>() {
            return Err(value_error(format!(
                "inputs[{i}] must be a sequence of channels, got a str"
            )));
        }
        let channels = sample.try_iter().map_err(|_| {
            value_error(format!(
                "inputs[{i}] must be a sequence of channels, got {}",
                type_name(&sample)
            ))
        })?;
        let mut s = SpikeTrains::new();
        for (c, channel) in channels.enumerate() {
            s.push_channel(&channel_times(&channel?, &format!("inputs[{i}][{c}]"))?)
                .map_err(|e| bad(i, e))?;
        }
        out.push(s);
    }
    Ok(out)
}

/// Class labels: a 1-D integer array or a sequence of integers, none
/// negative (the library checks the upper bound against the network's
/// outputs).
pub(crate) fn labels(obj: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    let values: Vec<i64> = if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        if arr.ndim() != 1 {
            return Err(value_error(format!(
                "labels must be 1-D, got shape {:?}",
                arr.shape()
            )));
        }
        if !matches!(arr.dtype().kind(), b'i' | b'u') {
            return Err(value_error(format!(
                "labels must be integers, got a {} array",
                dtype_name(arr)
            )));
        }
        arr.call_method1("tolist", ())?
            .extract()
            .map_err(|e| value_error(format!("labels: {e}")))?
    } else {
        if obj.is_instance_of::<PyString>() {
            return Err(value_error("labels must be integers, got a str"));
        }
        let mut v = Vec::new();
        for (i, item) in obj
            .try_iter()
            .map_err(|_| {
                value_error(format!(
                    "labels must be a 1-D integer array or a list of integers, got {}",
                    type_name(obj)
                ))
            })?
            .enumerate()
        {
            let item = item?;
            if item.is_instance_of::<PyFloat>() || item.is_instance_of::<PyBool>() {
                return Err(value_error(format!(
                    "labels[{i}] must be an integer, got {}",
                    item.repr()?
                )));
            }
            v.push(item.extract::<i64>().map_err(|_| {
                value_error(format!(
                    "labels[{i}] must be an integer, got {}",
                    type_name(&item)
                ))
            })?);
        }
        v
    };
    values
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            usize::try_from(l).map_err(|_| value_error(format!("labels[{i}] = {l} is negative")))
        })
        .collect()
}

/// Per-neuron parameters per neuron of a layer.
fn params_per_neuron(layer: &LayerParams) -> usize {
    layer.neuron_params.len() / layer.n_out.max(1)
}

/// Parameters (or gradients) as Python sees them: one dict per layer with
/// `weights` `(n_out, n_in)` (`(n_out, n_in, K)` for a model with `K > 1`
/// weights per synapse, EGRU's 3) and `biases` `(n_out,)` (`(n_out, P)` for
/// a model with `P > 1` parameters per neuron), float64 arrays.
pub(crate) fn params_to_py<'py>(
    py: Python<'py>,
    params: &NetworkParams,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for l in &params.layers {
        let d = PyDict::new(py);
        let k_w = l.weights_per_synapse();
        if k_w == 1 {
            let w = Array2::from_shape_vec((l.n_out, l.n_in), l.weights.clone())
                .map_err(|e| value_error(e.to_string()))?;
            d.set_item("weights", w.into_pyarray(py))?;
        } else {
            let w = Array3::from_shape_vec((l.n_out, l.n_in, k_w), l.weights.clone())
                .map_err(|e| value_error(e.to_string()))?;
            d.set_item("weights", w.into_pyarray(py))?;
        }
        let p = params_per_neuron(l);
        if p == 1 {
            d.set_item(
                "biases",
                Array1::from(l.neuron_params.clone()).into_pyarray(py),
            )?;
        } else {
            let b = Array2::from_shape_vec((l.n_out, p), l.neuron_params.clone())
                .map_err(|e| value_error(e.to_string()))?;
            d.set_item("biases", b.into_pyarray(py))?;
        }
        // A network trained with delays (`train(delays=...)`) also shows
        // them: `synaptic_delays` `(n_out, n_in)`, `axonal_delays` `(n_in,)`.
        if let Some(sd) = &l.synaptic_delays {
            let a = Array2::from_shape_vec((l.n_out, l.n_in), sd.clone())
                .map_err(|e| value_error(e.to_string()))?;
            d.set_item("synaptic_delays", a.into_pyarray(py))?;
        }
        if let Some(ad) = &l.axonal_delays {
            d.set_item("axonal_delays", Array1::from(ad.clone()).into_pyarray(py))?;
        }
        // A recurrent layer (`train(recurrent=...)`) shows its recurrent
        // weights `(n_out, n_out)`, row `j` the inputs of neuron `j` from
        // the layer's own neurons (0 where a synapse is absent).
        if let Some(r) = &l.recurrent_weights {
            let a = Array2::from_shape_vec((l.n_out, l.n_out), r.clone())
                .map_err(|e| value_error(e.to_string()))?;
            d.set_item("recurrent_weights", a.into_pyarray(py))?;
        }
        list.append(d)?;
    }
    Ok(list)
}

/// Parameters from Python, in the shapes of `like` (the network's
/// current parameters): a sequence of one mapping per layer with exactly
/// the keys `weights` and `biases`, and for a network with delays
/// optionally `synaptic_delays` and `axonal_delays`, for a recurrent one
/// `recurrent_weights` (absent: unchanged).
/// Values are checked by the network (finite, delays `>= 0`) where they
/// are used.
pub(crate) fn params_from_py(
    obj: &Bound<'_, PyAny>,
    like: &NetworkParams,
) -> PyResult<NetworkParams> {
    if obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyString>() {
        return Err(value_error(format!(
            "params must be a list of one dict per layer, got {}",
            type_name(obj)
        )));
    }
    let items: Vec<Bound<'_, PyAny>> = obj
        .try_iter()
        .map_err(|_| {
            value_error(format!(
                "params must be a list of one dict per layer, got {}",
                type_name(obj)
            ))
        })?
        .collect::<PyResult<_>>()?;
    if items.len() != like.layers.len() {
        return Err(value_error(format!(
            "params has {} layers, the network {}",
            items.len(),
            like.layers.len()
        )));
    }
    let mut layers = Vec::with_capacity(items.len());
    for (k, (item, l)) in items.iter().zip(&like.layers).enumerate() {
        let d = item.cast::<PyDict>().map_err(|_| {
            value_error(format!(
                "params[{k}] must be a dict with \"weights\" and \"biases\", got {}",
                type_name(item)
            ))
        })?;
        for key in d.keys() {
            let name: String = key.str()?.to_string();
            let delays = matches!(
                name.as_str(),
                "synaptic_delays" | "axonal_delays" | "recurrent_weights"
            );
            if name != "weights" && name != "biases" && !delays {
                return Err(value_error(format!(
                    "params[{k}]: unknown key {name:?} (expected \"weights\" and \"biases\")"
                )));
            }
        }
        let get = |name: &str| -> PyResult<Bound<'_, PyAny>> {
            d.get_item(name)?
                .ok_or_else(|| value_error(format!("params[{k}] has no {name:?}")))
        };
        let what = format!("params[{k}][\"weights\"]");
        let (weights, shape) = f64_array(&get("weights")?, &what)?;
        let k_w = l.weights_per_synapse();
        if k_w == 1 && shape != [l.n_out, l.n_in] {
            return Err(value_error(format!(
                "{what} has shape {shape:?}, expected [{}, {}] (n_out, n_in)",
                l.n_out, l.n_in
            )));
        }
        if k_w > 1 && shape != [l.n_out, l.n_in, k_w] {
            return Err(value_error(format!(
                "{what} has shape {shape:?}, expected [{}, {}, {k_w}] (n_out, n_in, weights per synapse)",
                l.n_out, l.n_in
            )));
        }
        let what = format!("params[{k}][\"biases\"]");
        let (biases, shape) = f64_array(&get("biases")?, &what)?;
        let p = params_per_neuron(l);
        let expected = if p == 1 {
            vec![l.n_out]
        } else {
            vec![l.n_out, p]
        };
        if shape != expected {
            return Err(value_error(format!(
                "{what} has shape {shape:?}, expected {expected:?}"
            )));
        }
        let mut delays = [
            l.synaptic_delays.clone(),
            l.axonal_delays.clone(),
            l.recurrent_weights.clone(),
        ];
        for ((name, shape), slot) in [
            ("synaptic_delays", vec![l.n_out, l.n_in]),
            ("axonal_delays", vec![l.n_in]),
            ("recurrent_weights", vec![l.n_out, l.n_out]),
        ]
        .into_iter()
        .zip(&mut delays)
        {
            let Some(value) = d.get_item(name)? else {
                continue;
            };
            let what = format!("params[{k}][{name:?}]");
            if slot.is_none() {
                return Err(value_error(format!(
                    "{what}: the network has no {name} (train it with delays or recurrent)"
                )));
            }
            let (values, got) = f64_array(&value, &what)?;
            if got != shape {
                return Err(value_error(format!(
                    "{what} has shape {got:?}, expected {shape:?}"
                )));
            }
            *slot = Some(values);
        }
        let [synaptic_delays, axonal_delays, recurrent_weights] = delays;
        layers.push(LayerParams {
            n_in: l.n_in,
            n_out: l.n_out,
            weights,
            neuron_params: biases,
            synaptic_delays,
            axonal_delays,
            recurrent_weights,
            // Which recurrent synapses exist is the network's.
            recurrent_mask: l.recurrent_mask.clone(),
        });
    }
    Ok(NetworkParams { layers })
}

/// A Python value as JSON, for the program's configuration types to read
/// (with their own checks and messages): `None`, bools, integers, finite
/// floats, strings, dicts with string keys, lists and tuples, numpy
/// scalars and arrays (as lists). `what` names the value in errors (empty
/// for keyword arguments, which their keys name).
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<serde_json::Value> {
    use serde_json::Value;
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>()
        || (!obj.is_instance_of::<PyFloat>() && obj.hasattr("__index__")?)
    {
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = obj.extract::<u64>() {
            return Ok(Value::from(v));
        }
        return Err(value_error(format!(
            "{what} = {} is out of range",
            obj.repr()?
        )));
    }
    if obj.is_instance_of::<PyFloat>()
        || obj.hasattr("__float__")? && !obj.is_instance_of::<PyString>()
    {
        let v: f64 = obj
            .extract()
            .map_err(|e| value_error(format!("{what}: {e}")))?;
        return serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| value_error(format!("{what} = {v} is not finite")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>()?));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| {
                    value_error(format!(
                        "{what}: key {} is not a str",
                        k.repr().map(|r| r.to_string()).unwrap_or_default()
                    ))
                })?
                .extract::<String>()?;
            let inner = if what.is_empty() {
                key.clone()
            } else {
                format!("{what}[{key:?}]")
            };
            map.insert(key, to_json(&v, &inner)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.cast::<PyUntypedArray>().is_ok() {
        return to_json(&obj.call_method0("tolist")?, what);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return obj
            .try_iter()?
            .enumerate()
            .map(|(i, item)| to_json(&item?, &format!("{what}[{i}]")))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array);
    }
    Err(value_error(format!(
        "{what}: cannot use a {} here",
        type_name(obj)
    )))
}

/// JSON as Python values (through the `json` module, which reads the
/// shortest round-trip floats that serde_json writes exactly).
pub(crate) fn from_json<'py>(
    py: Python<'py>,
    value: &serde_json::Value,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| value_error(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}
