//! Errors of the data crate.

/// Errors raised by dataset generation, encoding, shuffling and batching.
///
/// Every variant names the value that was rejected, so a bad configuration
/// or a corrupt checkpoint can be traced without a debugger.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A Yin–Yang radius is not a finite positive number.
    #[error("invalid Yin-Yang radius `{name}` = {value}: must be finite and > 0")]
    InvalidRadius {
        /// Name of the radius (`"r_small"` or `"r_big"`).
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// The small (dot) radius is not smaller than the big (disc) radius.
    #[error("invalid Yin-Yang radii: r_small = {r_small} must be < r_big = {r_big}")]
    RadiiOrder {
        /// The small radius.
        r_small: f64,
        /// The big radius.
        r_big: f64,
    },
    /// Rejection sampling did not find a point of the wanted class within the
    /// draw budget (the radii make that class's region vanishingly small).
    #[error(
        "Yin-Yang sample {sample}: no point of class {class} after {draws} draws \
         (is r_small much smaller than r_big?)"
    )]
    RejectionLimit {
        /// Index of the sample being generated.
        sample: usize,
        /// The class that was being sought.
        class: usize,
        /// Number of candidate points drawn.
        draws: u64,
    },
    /// A bounded integer was requested from an empty range (`randint(0)`).
    #[error("randint({n}): the upper bound must be >= 1")]
    EmptyRange {
        /// The requested exclusive upper bound.
        n: u64,
    },
    /// A Mersenne-Twister state has the wrong number of key words.
    #[error("MT19937 state has {len} key words, expected {expected}")]
    MtKeyLength {
        /// Number of words found.
        len: usize,
        /// Number of words required (624).
        expected: usize,
    },
    /// A Mersenne-Twister state has a position past the end of its key.
    #[error("MT19937 state position {pos} is past the key length {max}")]
    MtPosition {
        /// The position found.
        pos: usize,
        /// The largest valid position (624).
        max: usize,
    },
    /// A Mersenne-Twister key is all zero, which would emit zeros forever.
    #[error("MT19937 state key is all zero")]
    MtZeroKey,
    /// An encoding time is not finite, or is negative.
    #[error("invalid encoding time `{name}` = {value}: must be finite and >= 0")]
    InvalidTime {
        /// Name of the time (`"t_min"`, `"t_max"`, `"bias_time"`).
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// The encoding window is empty or reversed.
    #[error("invalid encoding window: t_max = {t_max} must be > t_min = {t_min}")]
    TimeOrder {
        /// Earliest spike time.
        t_min: f64,
        /// Latest spike time.
        t_max: f64,
    },
    /// A feature value to encode is NaN or outside `[0, 1]`.
    #[error("feature {index} = {value} is outside [0, 1]")]
    FeatureOutOfRange {
        /// Index of the feature within its sample.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A feature value of a dataset is not finite.
    #[error("sample {sample}, feature {feature} = {value} is not finite")]
    NonFiniteFeature {
        /// Index of the sample.
        sample: usize,
        /// Index of the feature within the sample.
        feature: usize,
        /// The offending value.
        value: f64,
    },
    /// A buffer or array does not have the length the operation needs.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        /// Which buffer or array.
        what: &'static str,
        /// The required length.
        expected: usize,
        /// The length found.
        got: usize,
    },
    /// A count that must be positive is zero.
    #[error("`{name}` must be >= 1, got 0")]
    Zero {
        /// Name of the count (`"batch_size"`, `"n_features"`, `"n_classes"`).
        name: &'static str,
    },
    /// A label is not below the number of classes.
    #[error("label {label} of sample {sample} is not below n_classes = {n_classes}")]
    LabelOutOfRange {
        /// Index of the sample.
        sample: usize,
        /// The offending label.
        label: usize,
        /// Number of classes of the dataset.
        n_classes: usize,
    },
    /// A sample index is past the end of the dataset.
    #[error("sample index {index} is out of range for a dataset of {len} samples")]
    IndexOutOfRange {
        /// The offending index.
        index: usize,
        /// Number of samples in the dataset.
        len: usize,
    },
    /// A labelled spike data file breaks a rule of its format
    /// ([`SpikeData`](crate::SpikeData)): the split, the sample where there is
    /// one, and what is wrong with which value.
    #[error("spike data, {split}{}: {message}", sample.map(|i| format!(" sample {i}")).unwrap_or_default())]
    SpikeFile {
        /// `"train"`, `"validation"`, `"test"`, or `"(file)"` for the whole
        /// file.
        split: String,
        /// The sample, where the rule concerns one.
        sample: Option<usize>,
        /// What is wrong, with the value.
        message: String,
    },
    /// A setting of a generated task is out of its range.
    #[error("invalid task setting `{name}` = {value}: {rule}")]
    InvalidTask {
        /// The setting.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The reason.
        message: String,
    },
}
