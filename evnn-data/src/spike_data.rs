//! A user's own labelled spike data: training, validation and test splits of
//! samples with any number of input channels and any number of spikes per
//! channel, read from JSON or from numpy's `.npz`.
//!
//! **JSON** (`.json`):
//!
//! ```json
//! {
//!   "n_classes": 2,
//!   "train":      {"inputs": [[1.5, [2.0, 7.25], []], ...], "labels": [0, ...]},
//!   "validation": {"inputs": [...], "labels": [...]},
//!   "test":       {"inputs": [...], "labels": [...]}
//! }
//! ```
//!
//! Each sample is a list of channels; a channel is one spike time, or a list
//! of spike times (sorted, possibly empty: a silent channel). `n_classes` is
//! optional (default: the largest label plus one).
//!
//! **npz** (`.npz`, as written by `np.savez` or `np.savez_compressed`):
//! arrays `train_inputs`, `train_labels`, `validation_inputs`,
//! `validation_labels`, `test_inputs`, `test_labels`, and optionally a
//! scalar `n_classes`. Inputs are float64 of shape `(n, channels)` (one spike
//! per channel) or `(n, channels, k)` (up to `k` spikes per channel); NaN
//! marks "no spike" and may only follow a channel's spikes. Labels are
//! integers (int64 or int32) of shape `(n,)`.
//!
//! ```python
//! np.savez("data.npz", train_inputs=x_train, train_labels=y_train,
//!          validation_inputs=x_val, validation_labels=y_val,
//!          test_inputs=x_test, test_labels=y_test)
//! ```
//!
//! Every split must have samples; every sample has the same number of
//! channels; every spike time is finite, `>= 0` and sorted within its
//! channel; every label is below `n_classes`. A file that breaks a rule is a
//! [`DataError::SpikeFile`] naming the split, the sample, the channel and the
//! value.

use crate::DataError;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzReader;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One split: per sample, per channel, the spike times; one label per
/// sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpikeSplit {
    /// `inputs[i][c]`: the sorted spike times of channel `c` in sample `i`.
    pub inputs: Vec<Vec<Vec<f64>>>,
    /// The label of every sample.
    pub labels: Vec<usize>,
}

impl SpikeSplit {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn truncated(&self, n: usize) -> SpikeSplit {
        let n = n.min(self.len());
        SpikeSplit {
            inputs: self.inputs[..n].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }
}

/// A labelled spike data set: three checked splits of samples with the same
/// number of channels.
///
/// # Examples
///
/// ```
/// use evnn_data::SpikeData;
///
/// let text = r#"{
///     "train": {"inputs": [[1.0, [2.0, 3.5]], [[0.5], []]], "labels": [0, 1]},
///     "validation": {"inputs": [[2.0, 1.0]], "labels": [1]},
///     "test": {"inputs": [[[], 4.0]], "labels": [0]}
/// }"#;
/// let data = SpikeData::from_json(text)?;
/// assert_eq!((data.n_channels(), data.n_classes()), (2, 2));
/// assert_eq!(data.train.inputs[0][1], [2.0, 3.5]);
/// assert!(SpikeData::from_json(&text.replace("3.5", "1.5")).is_err()); // unsorted
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeData {
    /// Training split.
    pub train: SpikeSplit,
    /// Validation split.
    pub validation: SpikeSplit,
    /// Test split.
    pub test: SpikeSplit,
    n_channels: usize,
    n_classes: usize,
}

/// The JSON form of a file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile {
    #[serde(default)]
    n_classes: Option<usize>,
    train: JsonSplit,
    validation: JsonSplit,
    test: JsonSplit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSplit {
    inputs: Vec<Vec<JsonChannel>>,
    labels: Vec<usize>,
}

/// A channel: one spike time or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonChannel {
    One(f64),
    Many(Vec<f64>),
}

const SPLITS: [&str; 3] = ["train", "validation", "test"];

fn file_error(split: &str, sample: Option<usize>, message: String) -> DataError {
    DataError::SpikeFile {
        split: split.to_string(),
        sample,
        message,
    }
}

impl SpikeData {
    /// Reads a `.json` or `.npz` file (by its extension).
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let io = |e: std::io::Error| DataError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Self::from_json(&std::fs::read_to_string(path).map_err(io)?),
            Some("npz") => Self::from_npz(std::fs::File::open(path).map_err(io)?),
            _ => Err(DataError::Io {
                path: path.display().to_string(),
                message: "a spike data file ends in .json or .npz".into(),
            }),
        }
    }

    /// Parses and checks the JSON form.
    pub fn from_json(text: &str) -> Result<Self, DataError> {
        let file: JsonFile = serde_json::from_str(text)
            .map_err(|e| file_error("(file)", None, format!("not a spike data file: {e}")))?;
        let split = |s: JsonSplit| SpikeSplit {
            inputs: s
                .inputs
                .into_iter()
                .map(|sample| {
                    sample
                        .into_iter()
                        .map(|c| match c {
                            JsonChannel::One(t) => vec![t],
                            JsonChannel::Many(ts) => ts,
                        })
                        .collect()
                })
                .collect(),
            labels: s.labels,
        };
        Self::new(
            split(file.train),
            split(file.validation),
            split(file.test),
            file.n_classes,
        )
    }

    /// Reads and checks the npz form (module docs) from `reader`.
    pub fn from_npz<R: std::io::Read + std::io::Seek>(reader: R) -> Result<Self, DataError> {
        let npz_error = |what: &str, e: &dyn std::fmt::Display| {
            file_error("(file)", None, format!("{what}: {e}"))
        };
        let mut npz = NpzReader::new(reader).map_err(|e| npz_error("not an npz archive", &e))?;
        let names = npz
            .names()
            .map_err(|e| npz_error("unreadable npz archive", &e))?;
        let require = |split: &str, what: &str| {
            let name = format!("{split}_{what}");
            if names.contains(&name) {
                Ok(name)
            } else {
                Err(file_error(split, None, format!("no array `{name}`")))
            }
        };
        let mut splits = Vec::new();
        for split in SPLITS {
            let name = require(split, "inputs")?;
            let x: ArrayD<f64> = npz.by_name(&name).map_err(|e| {
                file_error(split, None, format!("`{name}` is not a float64 array: {e}"))
            })?;
            let labels = read_labels(&mut npz, &require(split, "labels")?, split)?;
            splits.push(npz_split(split, &x, labels)?);
        }
        let n_classes = if names.iter().any(|n| n == "n_classes") {
            let a = read_labels(&mut npz, "n_classes", "(file)")?;
            match a.as_slice() {
                [n] => Some(*n),
                _ => {
                    return Err(file_error(
                        "(file)",
                        None,
                        format!("`n_classes` must be one integer, got {} values", a.len()),
                    ))
                }
            }
        } else {
            None
        };
        let [train, validation, test]: [SpikeSplit; 3] = splits
            .try_into()
            .map_err(|_| file_error("(file)", None, "three splits expected".into()))?;
        Self::new(train, validation, test, n_classes)
    }

    /// Checks three splits (module docs); `n_classes` defaults to the
    /// largest label plus one.
    pub fn new(
        train: SpikeSplit,
        validation: SpikeSplit,
        test: SpikeSplit,
        n_classes: Option<usize>,
    ) -> Result<Self, DataError> {
        let splits = [&train, &validation, &test];
        let n_channels = train.inputs.first().map_or(0, Vec::len);
        let max_label = splits
            .iter()
            .flat_map(|s| s.labels.iter().copied())
            .max()
            .unwrap_or(0);
        let n_classes = n_classes.unwrap_or(max_label + 1);
        if n_classes == 0 {
            return Err(file_error("(file)", None, "n_classes must be >= 1".into()));
        }
        for (name, s) in SPLITS.iter().zip(splits) {
            check_split(name, s, n_channels, n_classes)?;
        }
        Ok(SpikeData {
            train,
            validation,
            test,
            n_channels,
            n_classes,
        })
    }

    /// Input channels of every sample.
    pub fn n_channels(&self) -> usize {
        self.n_channels
    }

    /// Number of classes (labels are below it).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The latest spike time of any sample.
    pub fn t_last(&self) -> f64 {
        [&self.train, &self.validation, &self.test]
            .iter()
            .flat_map(|s| s.inputs.iter().flatten().flatten().copied())
            .fold(0.0, f64::max)
    }
}

/// Labels as unsigned integers, from int64 or int32 arrays of any shape
/// (flattened).
fn read_labels<R: std::io::Read + std::io::Seek>(
    npz: &mut NpzReader<R>,
    name: &str,
    split: &str,
) -> Result<Vec<usize>, DataError> {
    let values: Vec<i64> = match npz.by_name::<ndarray::OwnedRepr<i64>, IxDyn>(name) {
        Ok(a) => a.iter().copied().collect(),
        Err(_) => npz
            .by_name::<ndarray::OwnedRepr<i32>, IxDyn>(name)
            .map_err(|e| {
                file_error(
                    split,
                    None,
                    format!("`{name}` is not an int64 or int32 array: {e}"),
                )
            })?
            .iter()
            .map(|&v| i64::from(v))
            .collect(),
    };
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            usize::try_from(v).map_err(|_| {
                file_error(
                    split,
                    Some(i),
                    format!("`{name}` holds the negative value {v}"),
                )
            })
        })
        .collect()
}

/// One split from its inputs array (`(n, c)` or `(n, c, k)`, NaN = no spike)
/// and labels.
fn npz_split(split: &str, x: &ArrayD<f64>, labels: Vec<usize>) -> Result<SpikeSplit, DataError> {
    let shape = x.shape().to_vec();
    let (n, c, k) = match shape.as_slice() {
        [n, c] => (*n, *c, 1),
        [n, c, k] => (*n, *c, *k),
        _ => {
            return Err(file_error(
                split,
                None,
                format!("`{split}_inputs` has shape {shape:?}; (samples, channels) or (samples, channels, spikes) expected"),
            ))
        }
    };
    if labels.len() != n {
        return Err(file_error(
            split,
            None,
            format!("{} labels for {n} samples", labels.len()),
        ));
    }
    let flat: Vec<f64> = x.iter().copied().collect();
    let mut inputs = Vec::with_capacity(n);
    for i in 0..n {
        let mut sample = Vec::with_capacity(c);
        for ch in 0..c {
            let row = &flat[(i * c + ch) * k..(i * c + ch + 1) * k];
            let spikes = row.iter().take_while(|t| !t.is_nan()).count();
            if row[spikes..].iter().any(|t| !t.is_nan()) {
                return Err(file_error(
                    split,
                    Some(i),
                    format!("channel {ch}: a spike time after NaN (NaN marks the end of a channel's spikes)"),
                ));
            }
            sample.push(row[..spikes].to_vec());
        }
        inputs.push(sample);
    }
    Ok(SpikeSplit { inputs, labels })
}

/// The rules of the module docs for one split.
fn check_split(
    name: &str,
    s: &SpikeSplit,
    n_channels: usize,
    n_classes: usize,
) -> Result<(), DataError> {
    if s.inputs.is_empty() {
        return Err(file_error(name, None, "no samples".into()));
    }
    if s.inputs.len() != s.labels.len() {
        return Err(file_error(
            name,
            None,
            format!("{} labels for {} samples", s.labels.len(), s.inputs.len()),
        ));
    }
    if n_channels == 0 {
        return Err(file_error(
            name,
            Some(0),
            "a sample without channels".into(),
        ));
    }
    for (i, (sample, &label)) in s.inputs.iter().zip(&s.labels).enumerate() {
        if sample.len() != n_channels {
            return Err(file_error(
                name,
                Some(i),
                format!(
                    "{} channels, the first training sample has {n_channels}",
                    sample.len()
                ),
            ));
        }
        if label >= n_classes {
            return Err(file_error(
                name,
                Some(i),
                format!("label {label} is not below n_classes = {n_classes}"),
            ));
        }
        for (c, times) in sample.iter().enumerate() {
            let mut previous = 0.0;
            for (k, &t) in times.iter().enumerate() {
                if !(t.is_finite() && t >= 0.0) {
                    return Err(file_error(
                        name,
                        Some(i),
                        format!("channel {c}, spike {k}: time {t} is not finite and >= 0"),
                    ));
                }
                if t < previous {
                    return Err(file_error(
                        name,
                        Some(i),
                        format!("channel {c}, spike {k}: time {t} comes after {previous}"),
                    ));
                }
                previous = t;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, Array2, Array3};
    use ndarray_npy::NpzWriter;
    use std::io::Cursor;

    /// Writes one array under the given name.
    type Add<'a> = dyn Fn(&mut NpzWriter<Cursor<&mut Vec<u8>>>, &str) + 'a;

    fn npz(arrays: &[(&str, &Add<'_>)]) -> Vec<u8> {
        let mut buf = Vec::new();
        {
            let mut w = NpzWriter::new(Cursor::new(&mut buf));
            for (name, add) in arrays {
                add(&mut w, name);
            }
            w.finish().unwrap();
        }
        buf
    }

    fn full_file(x: Array3<f64>, labels: Vec<i64>) -> Vec<u8> {
        let add_x = |w: &mut NpzWriter<Cursor<&mut Vec<u8>>>, n: &str| {
            w.add_array(n, &x).unwrap();
        };
        let add_y = |w: &mut NpzWriter<Cursor<&mut Vec<u8>>>, n: &str| {
            w.add_array(n, &arr1(&labels)).unwrap();
        };
        npz(&[
            ("train_inputs", &add_x),
            ("train_labels", &add_y),
            ("validation_inputs", &add_x),
            ("validation_labels", &add_y),
            ("test_inputs", &add_x),
            ("test_labels", &add_y),
        ])
    }

    #[test]
    fn npz_with_several_spikes_per_channel_reads_back() {
        let nan = f64::NAN;
        // Two samples, two channels, up to three spikes.
        let x = Array3::from_shape_vec(
            (2, 2, 3),
            vec![1.0, 2.0, nan, 0.5, nan, nan, nan, nan, nan, 3.0, 4.0, 5.0],
        )
        .unwrap();
        let data = SpikeData::from_npz(Cursor::new(full_file(x, vec![0, 2]))).unwrap();
        assert_eq!(data.n_channels(), 2);
        assert_eq!(data.n_classes(), 3);
        assert_eq!(data.train.inputs[0], vec![vec![1.0, 2.0], vec![0.5]]);
        assert_eq!(data.test.inputs[1], vec![vec![], vec![3.0, 4.0, 5.0]]);
        assert_eq!(data.validation.labels, [0, 2]);
        assert_eq!(data.t_last(), 5.0);
    }

    #[test]
    fn npz_with_one_spike_per_channel_and_int32_labels() {
        let x = Array2::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 0.0, 0.0, 9.0]).unwrap();
        let add_x = |w: &mut NpzWriter<Cursor<&mut Vec<u8>>>, n: &str| {
            w.add_array(n, &x).unwrap();
        };
        let add_y = |w: &mut NpzWriter<Cursor<&mut Vec<u8>>>, n: &str| {
            w.add_array(n, &arr1(&[1i32, 0])).unwrap();
        };
        let add_k = |w: &mut NpzWriter<Cursor<&mut Vec<u8>>>, n: &str| {
            w.add_array(n, &ndarray::arr0(4i64)).unwrap();
        };
        let buf = npz(&[
            ("train_inputs", &add_x),
            ("train_labels", &add_y),
            ("validation_inputs", &add_x),
            ("validation_labels", &add_y),
            ("test_inputs", &add_x),
            ("test_labels", &add_y),
            ("n_classes", &add_k),
        ]);
        let data = SpikeData::from_npz(Cursor::new(buf)).unwrap();
        assert_eq!((data.n_channels(), data.n_classes()), (3, 4));
        assert_eq!(data.train.inputs[1], vec![vec![0.0], vec![0.0], vec![9.0]]);
    }

    #[test]
    fn bad_npz_files_name_split_sample_and_value() {
        let nan = f64::NAN;
        let cases: Vec<(Vec<f64>, Vec<i64>, &str)> = vec![
            (vec![nan, 1.0, 0.0, nan], vec![0, 0], "after NaN"),
            (vec![2.0, 1.0, 0.0, nan], vec![0, 0], "comes after 2"),
            (
                vec![-1.0, nan, 0.0, nan],
                vec![0, 0],
                "time -1 is not finite",
            ),
            (vec![1.0, nan, 0.0, nan], vec![0, -3], "negative value -3"),
            (vec![1.0, nan, 0.0, nan], vec![0], "1 labels for 2 samples"),
        ];
        for (x, labels, needle) in cases {
            let x = Array3::from_shape_vec((2, 1, 2), x).unwrap();
            let e = SpikeData::from_npz(Cursor::new(full_file(x, labels))).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(needle), "{msg}");
            assert!(msg.contains("train"), "{msg}");
        }
        // A missing array, and something that is no archive at all.
        let e = SpikeData::from_npz(Cursor::new(npz(&[]))).unwrap_err();
        assert!(e.to_string().contains("no array `train_inputs`"), "{e}");
        let e = SpikeData::from_npz(Cursor::new(b"not a zip".to_vec())).unwrap_err();
        assert!(e.to_string().contains("not an npz archive"), "{e}");
    }

    #[test]
    fn bad_json_files_name_split_sample_and_value() {
        let ok = r#"{"train": {"inputs": [[1.0, 2.0]], "labels": [0]},
                     "validation": {"inputs": [[1.0, 2.0]], "labels": [1]},
                     "test": {"inputs": [[1.0, 2.0]], "labels": [0]}}"#;
        assert!(SpikeData::from_json(ok).is_ok());
        for (edit, needle) in [
            (
                ok.replace("[[1.0, 2.0]], \"labels\": [1]", "[[1.0]], \"labels\": [1]"),
                "validation sample 0: 1 channels",
            ),
            (
                ok.replace("\"labels\": [1]", "\"labels\": [1, 0]"),
                "2 labels for 1 samples",
            ),
            (
                ok.replacen("[[1.0, 2.0]]", "[]", 1).replacen(
                    "\"labels\": [0]",
                    "\"labels\": []",
                    1,
                ),
                "train: no samples",
            ),
            (
                ok.replace("{\"train\"", "{\"n_classes\": 1, \"train\""),
                "label 1 is not below n_classes = 1",
            ),
            (ok.replace("\"test\"", "\"tset\""), "unknown field"),
            (ok.replacen("2.0", "-2.0", 1), "time -2 is not finite"),
        ] {
            let e = SpikeData::from_json(&edit).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }
}
