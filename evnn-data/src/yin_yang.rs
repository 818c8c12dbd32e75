//! The Yin–Yang dataset, bit-exact with the reference generator.
//!
//! Kriener, Göltz & Petrovici, "The Yin-Yang dataset", NICE 2022
//! (arXiv 2102.08211; reference code `yin_yang_data_set`). Points `(x, y)`
//! lie in a disc of radius `r_big` centred at `(r_big, r_big)`; each is
//! labelled by the part of the Yin–Yang symbol it falls in:
//!
//! | label | region |
//! |---|---|
//! | 0 | yang |
//! | 1 | yin |
//! | 2 | the two dots (radius `r_small`) |
//!
//! Generation follows the reference exactly (docs/design.md §6), drawing from
//! [`NumpyRandomState`]`(seed)`: for each sample, `goal = randint(3)`; then
//! repeat { `x = 2·rand()·r_big`, `y = 2·rand()·r_big` (x first); reject
//! the point if `|(x, y) − (r_big, r_big)| > r_big`; `c` = its class } until
//! `c == goal`. The sample's features are `(x, y, 1 − x, 1 − y)` (a literal
//! 1, as in the reference, whatever `r_big` is) and its label is `c`. So the
//! classes are balanced in expectation, not exactly.
//!
//! The standard splits are [`Split::Train`] (5000 samples, seed 42),
//! [`Split::Validation`] (1000, seed 41) and [`Split::Test`] (1000, seed 40).

use serde::{Deserialize, Serialize};

use crate::{DataError, Dataset, NumpyRandomState};

/// Number of features per Yin–Yang sample: `(x, y, 1 − x, 1 − y)`.
pub const N_FEATURES: usize = 4;

/// Number of Yin–Yang classes (yang, yin, dots).
pub const N_CLASSES: usize = 3;

/// Candidate points drawn for one sample before giving up with
/// [`DataError::RejectionLimit`]. With the default radii a dot point needs
/// about 16 draws on average; the limit only trips when `r_small / r_big`
/// is so small that a class has (numerically) no area.
pub const MAX_DRAWS_PER_SAMPLE: u64 = 10_000_000;

/// A standard split of the Yin–Yang dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Split {
    /// 5000 samples, seed 42.
    Train,
    /// 1000 samples, seed 41.
    Validation,
    /// 1000 samples, seed 40.
    Test,
}

impl Split {
    /// Number of samples of the split.
    pub fn size(self) -> usize {
        match self {
            Split::Train => 5000,
            Split::Validation | Split::Test => 1000,
        }
    }

    /// numpy `RandomState` seed of the split.
    pub fn seed(self) -> u32 {
        match self {
            Split::Train => 42,
            Split::Validation => 41,
            Split::Test => 40,
        }
    }
}

/// Parameters of a Yin–Yang dataset. Lengths are in the feature units
/// (the default disc spans `[0, 1]²`).
///
/// The default is the standard training split: `r_small = 0.1`,
/// `r_big = 0.5`, 5000 samples, seed 42.
///
/// # Examples
///
/// ```
/// use evnn_data::{Split, YinYangConfig};
///
/// let val = YinYangConfig::split(Split::Validation).build()?.generate()?;
/// assert_eq!(val.len(), 1000);
/// assert_eq!(val.features(0), Some(&[0.6805727261759029, 0.3209733938933629,
///                                    1.0 - 0.6805727261759029, 1.0 - 0.3209733938933629][..]));
///
/// let small = YinYangConfig::default().with_size(100).with_seed(7).build()?.generate()?;
/// assert_eq!(small.len(), 100);
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct YinYangConfig {
    /// Radius of the two dots; `0 < r_small < r_big`.
    pub r_small: f64,
    /// Radius of the whole symbol; finite, `> 0`.
    pub r_big: f64,
    /// Number of samples to generate (0 gives an empty dataset).
    pub size: usize,
    /// Seed of the numpy-compatible generator.
    pub seed: u32,
}

impl Default for YinYangConfig {
    fn default() -> Self {
        Self::split(Split::Train)
    }
}

impl YinYangConfig {
    /// The configuration of a standard split (default radii).
    pub fn split(split: Split) -> Self {
        Self {
            r_small: 0.1,
            r_big: 0.5,
            size: split.size(),
            seed: split.seed(),
        }
    }

    /// Sets the number of samples.
    pub fn with_size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// Sets the generator seed.
    pub fn with_seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the dot radius `r_small` and the symbol radius `r_big`.
    pub fn with_radii(mut self, r_small: f64, r_big: f64) -> Self {
        self.r_small = r_small;
        self.r_big = r_big;
        self
    }

    /// Validates the configuration and returns a generator.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidRadius`] if a radius is NaN, infinite or `≤ 0`;
    /// [`DataError::RadiiOrder`] if `r_small ≥ r_big`.
    pub fn build(&self) -> Result<YinYang, DataError> {
        for (name, value) in [("r_small", self.r_small), ("r_big", self.r_big)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(DataError::InvalidRadius { name, value });
            }
        }
        if self.r_small >= self.r_big {
            return Err(DataError::RadiiOrder {
                r_small: self.r_small,
                r_big: self.r_big,
            });
        }
        Ok(YinYang { config: *self })
    }
}

/// A validated Yin–Yang generator (from [`YinYangConfig::build`]).
///
/// # Examples
///
/// ```
/// use evnn_data::YinYang;
///
/// let train = YinYang::train()?;
/// assert_eq!(train.class_counts(), vec![1681, 1702, 1617]);
///
/// let yy = evnn_data::YinYangConfig::default().build()?;
/// assert_eq!(yy.which_class(0.25, 0.5), 2); // centre of the left dot
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YinYang {
    config: YinYangConfig,
}

impl YinYang {
    /// Generates a standard split.
    ///
    /// # Errors
    ///
    /// None in practice (the standard configurations are valid); the
    /// `Result` is that of [`YinYang::generate`].
    pub fn split(split: Split) -> Result<Dataset, DataError> {
        YinYangConfig::split(split).build()?.generate()
    }

    /// The standard training split (5000 samples, seed 42).
    ///
    /// # Errors
    ///
    /// As [`YinYang::split`].
    pub fn train() -> Result<Dataset, DataError> {
        Self::split(Split::Train)
    }

    /// The standard validation split (1000 samples, seed 41).
    ///
    /// # Errors
    ///
    /// As [`YinYang::split`].
    pub fn validation() -> Result<Dataset, DataError> {
        Self::split(Split::Validation)
    }

    /// The standard test split (1000 samples, seed 40).
    ///
    /// # Errors
    ///
    /// As [`YinYang::split`].
    pub fn test() -> Result<Dataset, DataError> {
        Self::split(Split::Test)
    }

    /// The validated configuration.
    pub fn config(&self) -> &YinYangConfig {
        &self.config
    }

    /// Class of the point `(x, y)`: 2 (dot), 1 (yin) or 0 (yang).
    ///
    /// With `d_r`, `d_l` the distances to the right and left dot centres
    /// `(1.5 r_big, r_big)` and `(0.5 r_big, r_big)`: 2 if `d_r < r_small`
    /// or `d_l < r_small`; else 1 if `d_r ≤ r_small`, or
    /// `r_small < d_l ≤ 0.5 r_big`, or (`y > r_big` and `d_r > 0.5 r_big`);
    /// else 0. The point is not checked to lie in the disc.
    pub fn which_class(&self, x: f64, y: f64) -> usize {
        let YinYangConfig { r_small, r_big, .. } = self.config;
        let d_right = distance(x - 1.5 * r_big, y - r_big);
        let d_left = distance(x - 0.5 * r_big, y - r_big);
        if d_right < r_small || d_left < r_small {
            return 2;
        }
        // Same three criteria, in the same order, as the reference code.
        let yin = d_right <= r_small
            || (d_left > r_small && d_left <= 0.5 * r_big)
            || (y > r_big && d_right > 0.5 * r_big);
        usize::from(yin)
    }

    /// Generates the dataset: `size` samples of [`N_FEATURES`] features
    /// `(x, y, 1 − x, 1 − y)` and labels in `0..`[`N_CLASSES`].
    ///
    /// # Errors
    ///
    /// [`DataError::RejectionLimit`] if a sample needs more than
    /// [`MAX_DRAWS_PER_SAMPLE`] candidate points (only for extreme radii).
    pub fn generate(&self) -> Result<Dataset, DataError> {
        let YinYangConfig {
            r_big, size, seed, ..
        } = self.config;
        let mut rs = NumpyRandomState::new(seed);
        let mut features = Vec::with_capacity(size.saturating_mul(N_FEATURES));
        let mut labels = Vec::with_capacity(size);
        for sample in 0..size {
            // randint(3) < 3, so the cast is lossless.
            let goal = rs.randint(N_CLASSES as u64)? as usize;
            let mut draws = 0u64;
            let (x, y) = loop {
                if draws == MAX_DRAWS_PER_SAMPLE {
                    return Err(DataError::RejectionLimit {
                        sample,
                        class: goal,
                        draws,
                    });
                }
                draws += 1;
                // Reference: `x, y = rng.rand(2) * 2. * r_big`, evaluated
                // left to right; the order matters for bit-exactness.
                let x = rs.rand() * 2.0 * r_big;
                let y = rs.rand() * 2.0 * r_big;
                if distance(x - r_big, y - r_big) > r_big {
                    continue;
                }
                if self.which_class(x, y) == goal {
                    break (x, y);
                }
            };
            features.extend_from_slice(&[x, y, 1.0 - x, 1.0 - y]);
            labels.push(goal);
        }
        Dataset::new(features, N_FEATURES, labels, N_CLASSES)
    }
}

/// `sqrt(dx² + dy²)` evaluated as numpy does (`dx**2` is `dx*dx` exactly),
/// not `hypot`, whose rounding differs.
fn distance(dx: f64, dy: f64) -> f64 {
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Golden values: docs/design.md §6, generated by numpy RandomState / the
    // Kriener et al. reference generator.

    fn xy(d: &Dataset, i: usize) -> (f64, f64) {
        let f = d.features(i).unwrap();
        (f[0], f[1])
    }

    #[test]
    fn train_matches_reference() {
        let train = YinYang::train().unwrap();
        assert_eq!(train.len(), 5000);
        assert_eq!(train.n_features(), N_FEATURES);
        assert_eq!(train.n_classes(), N_CLASSES);
        assert_eq!(xy(&train, 0), (0.6803075385877797, 0.450499251969543));
        assert_eq!(train.label(0), Some(2));
        assert_eq!(train.class_counts(), vec![1681, 1702, 1617]);
        // numpy's pairwise sums are 2528.3224565688233 and 2505.766861748284;
        // a sequential sum differs in the last digits.
        let (sx, sy) = train
            .iter()
            .fold((0.0, 0.0), |(sx, sy), (f, _)| (sx + f[0], sy + f[1]));
        assert!((sx - 2528.3224565688233).abs() < 1e-9, "Σx = {sx}");
        assert!((sy - 2505.766861748284).abs() < 1e-9, "Σy = {sy}");
        assert!(
            (sx - 2528.322456568826).abs() < 1e-11,
            "sequential Σx = {sx}"
        );
        assert!(
            (sy - 2505.766861748282).abs() < 1e-11,
            "sequential Σy = {sy}"
        );
    }

    #[test]
    fn validation_matches_reference() {
        let val = YinYang::validation().unwrap();
        assert_eq!(val.len(), 1000);
        assert_eq!(xy(&val, 0), (0.6805727261759029, 0.3209733938933629));
        assert_eq!(val.label(0), Some(0));
        assert_eq!(val.class_counts(), vec![316, 336, 348]);
    }

    #[test]
    fn test_split_matches_reference() {
        let test = YinYang::test().unwrap();
        assert_eq!(test.len(), 1000);
        assert_eq!(xy(&test, 0), (0.23409664559563403, 0.4017249751828972));
        assert_eq!(test.label(0), Some(2));
        assert_eq!(test.class_counts(), vec![350, 316, 334]);
    }

    #[test]
    fn features_are_mirrored_with_literal_one() {
        let d = YinYangConfig::default()
            .with_size(50)
            .with_radii(0.05, 0.3)
            .build()
            .unwrap()
            .generate()
            .unwrap();
        for (f, c) in d.iter() {
            assert_eq!(f[2], 1.0 - f[0]);
            assert_eq!(f[3], 1.0 - f[1]);
            // Inside the disc of radius 0.3 centred at (0.3, 0.3).
            assert!(distance(f[0] - 0.3, f[1] - 0.3) <= 0.3);
            assert!(c < N_CLASSES);
        }
    }

    #[test]
    fn labels_agree_with_which_class() {
        let yy = YinYangConfig::default().with_size(300).build().unwrap();
        let d = yy.generate().unwrap();
        for (f, c) in d.iter() {
            assert_eq!(yy.which_class(f[0], f[1]), c);
        }
    }

    #[test]
    fn which_class_landmarks() {
        let yy = YinYangConfig::default().build().unwrap();
        assert_eq!(yy.which_class(0.25, 0.5), 2); // left dot centre
        assert_eq!(yy.which_class(0.75, 0.5), 2); // right dot centre
        assert_eq!(yy.which_class(0.5, 0.95), 1); // top: yin
        assert_eq!(yy.which_class(0.5, 0.05), 0); // bottom: yang
        assert_eq!(yy.which_class(0.25, 0.68), 1); // ring around the left dot
        assert_eq!(yy.which_class(0.75, 0.68), 0); // ring around the right dot
    }

    #[test]
    fn size_zero_gives_empty_dataset() {
        let d = YinYangConfig::default()
            .with_size(0)
            .build()
            .unwrap()
            .generate()
            .unwrap();
        assert!(d.is_empty());
        assert_eq!(d.n_features(), N_FEATURES);
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let cfg = YinYangConfig::default().with_size(20);
        let a = cfg.build().unwrap().generate().unwrap();
        assert_eq!(a, cfg.build().unwrap().generate().unwrap());
        assert_ne!(a, cfg.with_seed(1).build().unwrap().generate().unwrap());
    }

    #[test]
    fn prefix_of_train_is_train_prefix() {
        // Generation is sequential, so a smaller size gives a prefix.
        let small = YinYangConfig::default().with_size(10).build().unwrap();
        let small = small.generate().unwrap();
        let train = YinYang::train().unwrap();
        assert_eq!(small.features_flat(), &train.features_flat()[..40]);
        assert_eq!(small.labels(), &train.labels()[..10]);
    }

    #[test]
    fn non_positive_radius_is_rejected() {
        let err = YinYangConfig::default().with_radii(0.0, 0.5).build();
        assert_eq!(
            err,
            Err(DataError::InvalidRadius {
                name: "r_small",
                value: 0.0
            })
        );
        let err = YinYangConfig::default().with_radii(0.1, -1.0).build();
        assert_eq!(
            err,
            Err(DataError::InvalidRadius {
                name: "r_big",
                value: -1.0
            })
        );
    }

    #[test]
    fn non_finite_radius_is_rejected() {
        let err = YinYangConfig::default()
            .with_radii(f64::NAN, 0.5)
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            DataError::InvalidRadius { name: "r_small", value } if value.is_nan()
        ));
        let err = YinYangConfig::default()
            .with_radii(0.1, f64::INFINITY)
            .build();
        assert_eq!(
            err,
            Err(DataError::InvalidRadius {
                name: "r_big",
                value: f64::INFINITY
            })
        );
    }

    #[test]
    fn r_small_not_below_r_big_is_rejected() {
        for (r_small, r_big) in [(0.5, 0.5), (0.6, 0.5)] {
            let err = YinYangConfig::default().with_radii(r_small, r_big).build();
            assert_eq!(err, Err(DataError::RadiiOrder { r_small, r_big }));
        }
    }

    #[test]
    fn vanishing_dots_hit_the_rejection_limit() {
        // Dot area ~ r_small², so with r_small = 1e-6 a dot point needs
        // ~1e12 draws: generation must stop with an error, not hang.
        let yy = YinYangConfig::default()
            .with_radii(1e-6, 0.5)
            .with_size(20)
            .build()
            .unwrap();
        match yy.generate() {
            Err(DataError::RejectionLimit { class, draws, .. }) => {
                assert_eq!(class, 2);
                assert_eq!(draws, MAX_DRAWS_PER_SAMPLE);
            }
            other => panic!("expected RejectionLimit, got {other:?}"),
        }
    }

    #[test]
    fn config_serde_round_trip_and_defaults() {
        let cfg = YinYangConfig::split(Split::Test).with_radii(0.2, 0.6);
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<YinYangConfig>(&json).unwrap(), cfg);
        let partial: YinYangConfig = serde_json::from_str(r#"{"size": 3}"#).unwrap();
        assert_eq!(partial, YinYangConfig::default().with_size(3));
    }

    #[test]
    fn split_constants() {
        assert_eq!((Split::Train.size(), Split::Train.seed()), (5000, 42));
        assert_eq!(
            (Split::Validation.size(), Split::Validation.seed()),
            (1000, 41)
        );
        assert_eq!((Split::Test.size(), Split::Test.seed()), (1000, 40));
        assert_eq!(YinYangConfig::default(), YinYangConfig::split(Split::Train));
    }
}
