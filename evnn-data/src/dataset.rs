//! Labelled datasets, seeded shuffling and mini-batches.
//!
//! A [`Dataset`] holds fixed-length feature rows and class labels. Training
//! loops visit it in a shuffled order ([`Dataset::shuffled_indices`] or
//! [`shuffle`] in place), cut into index batches by [`batches`]. Shuffling is
//! a Fisher–Yates pass driven only by 64-bit draws of the given generator
//! with our own bounded sampler, so one seed gives one order on every
//! platform, pointer width and thread count. [`epoch_rng`] derives an
//! independent ChaCha8 stream per epoch from one seed, so resuming at epoch
//! `e` reproduces the order without replaying epochs `0..e`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

    /// The sample indices `0..len()` in an order shuffled by `rng`
    /// (see [`shuffle`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use evnn_data::{epoch_rng, YinYangConfig};
    ///
    /// let data = YinYangConfig::default().with_size(10).build()?.generate()?;
    /// let order = data.shuffled_indices(&mut epoch_rng(7, 0));
    /// let mut sorted = order.clone();
    /// sorted.sort_unstable();
    /// assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    /// # Ok::<(), evnn_data::DataError>(())
    /// ```
    pub fn shuffled_indices(&self, rng: &mut impl Rng) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        shuffle(&mut order, rng);
        order
    }
}

/// Shuffles `items` in place with a Fisher–Yates pass driven by `rng`.
///
/// Only `rng.next_u64()` is used, through a platform-independent bounded
/// sampler (Lemire's multiply-and-reject), so the result depends on the
/// generator's stream alone.
pub fn shuffle<T>(items: &mut [T], rng: &mut impl Rng) {
    for i in (1..items.len()).rev() {
        // `i` fits in u64 and the draw is ≤ i, so both casts are lossless.
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A uniform integer in `[0, n)`, `n ≥ 1` (Lemire 2019, "Fast random integer
/// generation in an interval").
fn below(rng: &mut impl Rng, n: u64) -> u64 {
    debug_assert!(n >= 1);
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        // Reject the low products that would bias the result.
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

/// The ChaCha8 generator for one epoch: seeded with `seed`, on stream
/// `epoch`.
///
/// Every epoch gets its own independent stream, so epoch `e`'s shuffle is
/// the same whether or not epochs `0..e` ran in this process.
pub fn epoch_rng(seed: u64, epoch: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    rng
}

/// Cuts `indices` into consecutive batches of `batch_size`; the last batch
/// holds the remainder and may be shorter. Borrows, never allocates.
///
/// # Errors
///
/// [`DataError::Zero`] if `batch_size` is 0.
///
/// # Examples
///
/// ```
/// let order = [4, 0, 3, 1, 2];
/// let batches: Vec<&[usize]> = evnn_data::batches(&order, 2)?.collect();
/// assert_eq!(batches, [&[4, 0][..], &[3, 1], &[2]]);
/// # Ok::<(), evnn_data::DataError>(())
/// ```
pub fn batches(
    indices: &[usize],
    batch_size: usize,
) -> Result<std::slice::Chunks<'_, usize>, DataError> {
    if batch_size == 0 {
        return Err(DataError::Zero { name: "batch_size" });
    }
    Ok(indices.chunks(batch_size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert!(d.shuffled_indices(&mut epoch_rng(0, 0)).is_empty());
        assert_eq!(batches(&[], 3).unwrap().count(), 0);
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

    #[test]
    fn shuffle_is_deterministic_per_seed_and_epoch() {
        let d = toy(100);
        let a = d.shuffled_indices(&mut epoch_rng(42, 3));
        let b = d.shuffled_indices(&mut epoch_rng(42, 3));
        assert_eq!(a, b);
        assert_ne!(a, d.shuffled_indices(&mut epoch_rng(43, 3)));
        assert_ne!(a, d.shuffled_indices(&mut epoch_rng(42, 4)));
        assert_ne!(a, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn shuffle_golden_order() {
        // Produced by this implementation (ChaCha8, seed 0, stream 0); pinned
        // so that a change of generator or sampler cannot go unnoticed.
        let mut order: Vec<usize> = (0..10).collect();
        shuffle(&mut order, &mut epoch_rng(0, 0));
        assert_eq!(order, GOLDEN_ORDER);
    }
    const GOLDEN_ORDER: [usize; 10] = [6, 1, 8, 3, 2, 9, 0, 5, 4, 7];

    #[test]
    fn below_is_unbiased_enough() {
        // Each of 3 outcomes should appear about 1/3 of the time.
        let mut rng = epoch_rng(1, 0);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[below(&mut rng, 3) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "counts {counts:?}");
        }
    }

    #[test]
    fn zero_batch_size_is_an_error() {
        assert_eq!(
            batches(&[0, 1], 0).unwrap_err(),
            DataError::Zero { name: "batch_size" }
        );
    }

    #[test]
    fn ragged_last_batch() {
        let order: Vec<usize> = (0..10).collect();
        let sizes: Vec<usize> = batches(&order, 4).unwrap().map(<[usize]>::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
        assert_eq!(batches(&order, 4).unwrap().len(), 3);
        assert_eq!(batches(&order, 10).unwrap().len(), 1);
        assert_eq!(batches(&order, 11).unwrap().len(), 1);
    }

    proptest! {
        #[test]
        fn shuffle_is_a_permutation(n in 0usize..300, seed: u64, epoch: u64) {
            let d = toy(n);
            let mut order = d.shuffled_indices(&mut epoch_rng(seed, epoch));
            order.sort_unstable();
            prop_assert_eq!(order, (0..n).collect::<Vec<_>>());
        }

        #[test]
        fn batches_cover_every_index_once(n in 0usize..300, bs in 1usize..64, seed: u64) {
            let order = toy(n).shuffled_indices(&mut epoch_rng(seed, 0));
            let parts: Vec<&[usize]> = batches(&order, bs).unwrap().collect();
            prop_assert_eq!(parts.len(), n.div_ceil(bs));
            for (k, p) in parts.iter().enumerate() {
                let want = if k + 1 < parts.len() { bs } else { n - bs * k };
                prop_assert_eq!(p.len(), want);
            }
            let joined: Vec<usize> = parts.concat();
            prop_assert_eq!(joined, order);
        }

        #[test]
        fn below_stays_in_range(n in 1u64..=u64::MAX, seed: u64) {
            let mut rng = epoch_rng(seed, 0);
            prop_assert!(below(&mut rng, n) < n);
        }
    }
}
