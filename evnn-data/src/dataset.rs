//! Labelled datasets.
//!
//! A [`Dataset`] holds fixed-length feature rows and class labels. The order
//! in which training visits it (seeded shuffles, mini-batches) is the
//! trainer's business (`evnn_optim::epoch_order`).

use crate::DataError;

/// A labelled dataset: `len()` rows of `n_features` values, one class label
/// per row.
///
/// Features are stored row-major in one buffer; every value is finite and
/// every label is below `n_classes` (checked by [`Dataset::new`]).
///
/// # Examples
///
/// ```
/// use evnn_data::Dataset;
///
/// let data = Dataset::new(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 2, vec![0, 1, 1], 2)?;
/// assert_eq!(data.len(), 3);
/// assert_eq!(data.features(1), Some(&[0.3, 0.4][..]));
/// assert_eq!(data.label(2), Some(1));
/// assert_eq!(data.class_counts(), vec![1, 2]);
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    features: Vec<f64>,
    n_features: usize,
    labels: Vec<usize>,
    n_classes: usize,
}

impl Dataset {
    /// Builds a dataset from row-major `features` (`labels.len()` rows of
    /// `n_features` values) and `labels` in `0..n_classes`.
    ///
    /// # Errors
    ///
    /// [`DataError::Zero`] if `n_features` or `n_classes` is 0,
    /// [`DataError::LengthMismatch`] if `features.len()` is not
    /// `labels.len() * n_features`, [`DataError::NonFiniteFeature`] for a NaN
    /// or infinite value, [`DataError::LabelOutOfRange`] for a label
    /// `≥ n_classes`.
    pub fn new(
        features: Vec<f64>,
        n_features: usize,
        labels: Vec<usize>,
        n_classes: usize,
    ) -> Result<Self, DataError> {
        if n_features == 0 {
            return Err(DataError::Zero { name: "n_features" });
        }
        if n_classes == 0 {
            return Err(DataError::Zero { name: "n_classes" });
        }
        let expected = labels
            .len()
            .checked_mul(n_features)
            .ok_or(DataError::LengthMismatch {
                what: "features",
                expected: usize::MAX,
                got: features.len(),
            })?;
        if features.len() != expected {
            return Err(DataError::LengthMismatch {
                what: "features",
                expected,
                got: features.len(),
            });
        }
        if let Some(k) = features.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFiniteFeature {
                sample: k / n_features,
                feature: k % n_features,
                value: features[k],
            });
        }
        if let Some(sample) = labels.iter().position(|&l| l >= n_classes) {
            return Err(DataError::LabelOutOfRange {
                sample,
                label: labels[sample],
                n_classes,
            });
        }
        Ok(Self {
            features,
            n_features,
            labels,
            n_classes,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features per sample.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of classes; every label is below it.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Feature row of sample `i`, or `None` if `i ≥ len()`.
    pub fn features(&self, i: usize) -> Option<&[f64]> {
        let start = i.checked_mul(self.n_features)?;
        self.features.get(start..start + self.n_features)
    }

    /// Label of sample `i`, or `None` if `i ≥ len()`.
    pub fn label(&self, i: usize) -> Option<usize> {
        self.labels.get(i).copied()
    }

    /// All labels, in sample order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// All features, row-major (`len() * n_features()` values).
    pub fn features_flat(&self) -> &[f64] {
        &self.features
    }

    /// Iterates over `(features, label)` pairs in sample order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[f64], usize)> + '_ {
        self.features
            .chunks_exact(self.n_features)
            .zip(self.labels.iter().copied())
    }

    /// Number of samples of each class (length `n_classes()`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &l in &self.labels {
            counts[l] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> Dataset {
        let features = (0..2 * n).map(|k| k as f64).collect();
        let labels = (0..n).map(|i| i % 3).collect();
        Dataset::new(features, 2, labels, 3).unwrap()
    }

    #[test]
    fn accessors() {
        let d = toy(4);
        assert_eq!(d.len(), 4);
        assert!(!d.is_empty());
        assert_eq!(d.n_features(), 2);
        assert_eq!(d.n_classes(), 3);
        assert_eq!(d.features(3), Some(&[6.0, 7.0][..]));
        assert_eq!(d.features(4), None);
        assert_eq!(d.features(usize::MAX), None);
        assert_eq!(d.label(3), Some(0));
        assert_eq!(d.label(4), None);
        assert_eq!(d.labels(), &[0, 1, 2, 0]);
        assert_eq!(d.features_flat().len(), 8);
        assert_eq!(d.class_counts(), vec![2, 1, 1]);
        let rows: Vec<_> = d.iter().collect();
        assert_eq!(rows[1], (&[2.0, 3.0][..], 1));
        assert_eq!(d.iter().len(), 4);
    }

    #[test]
    fn empty_dataset_is_fine() {
        let d = Dataset::new(vec![], 4, vec![], 3).unwrap();
        assert!(d.is_empty());
    }

    #[test]
    fn new_rejects_zero_features() {
        assert_eq!(
            Dataset::new(vec![], 0, vec![], 2),
            Err(DataError::Zero { name: "n_features" })
        );
    }

    #[test]
    fn new_rejects_zero_classes() {
        assert_eq!(
            Dataset::new(vec![], 1, vec![], 0),
            Err(DataError::Zero { name: "n_classes" })
        );
    }

    #[test]
    fn new_rejects_length_mismatch() {
        assert_eq!(
            Dataset::new(vec![0.0; 5], 2, vec![0, 0], 1),
            Err(DataError::LengthMismatch {
                what: "features",
                expected: 4,
                got: 5
            })
        );
    }

    #[test]
    fn new_rejects_non_finite_feature() {
        let err = Dataset::new(vec![0.0, 1.0, 2.0, f64::INFINITY], 2, vec![0, 0], 1);
        assert_eq!(
            err,
            Err(DataError::NonFiniteFeature {
                sample: 1,
                feature: 1,
                value: f64::INFINITY
            })
        );
        let err = Dataset::new(vec![f64::NAN, 0.0], 2, vec![0], 1).unwrap_err();
        assert!(matches!(
            err,
            DataError::NonFiniteFeature { sample: 0, feature: 0, value } if value.is_nan()
        ));
    }

    #[test]
    fn new_rejects_bad_label() {
        assert_eq!(
            Dataset::new(vec![0.0, 1.0], 1, vec![0, 3], 3),
            Err(DataError::LabelOutOfRange {
                sample: 1,
                label: 3,
                n_classes: 3
            })
        );
    }
}
