//! A numpy `RandomState`-compatible Mersenne Twister.
//!
//! The Yin–Yang reference generator (Kriener, Göltz & Petrovici 2021) draws
//! from `numpy.random.RandomState(seed)`. Reproducing its data bit for bit
//! needs the same stream, so this module re-implements exactly the parts of
//! numpy's legacy generator it uses:
//!
//! - seeding with an integer: MT19937 `init_genrand(seed)`
//!   (Matsumoto & Nishimura 1998);
//! - `rand()`: a 53-bit double built from two 32-bit draws,
//!   `(a·2²⁶ + b) / 2⁵³` with `a = u32 >> 5`, `b = u32 >> 6`, `a` drawn first;
//! - `randint(n)`: numpy's legacy masked rejection sampler.
//!
//! The state can be saved and restored ([`MtState`], also via serde), like
//! numpy's `get_state()` / `set_state()`.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// Number of 32-bit words in the MT19937 state.
pub const MT_N: usize = 624;
const MT_M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The MT19937 generator behind numpy's legacy `RandomState(seed)`.
///
/// `NumpyRandomState::new(seed)` produces the same stream as
/// `numpy.random.RandomState(seed)` for `rand()` and `randint(n)`.
/// It also implements [`RngCore`] (so it can drive any `rand` API), with
/// `next_u64` = high word first, as numpy's `mt19937_next64`.
///
/// # Examples
///
/// ```
/// use evnn_data::NumpyRandomState;
///
/// // numpy: np.random.RandomState(42).rand() == 0.3745401188473625
/// let mut rs = NumpyRandomState::new(42);
/// assert_eq!(rs.rand(), 0.3745401188473625);
/// // numpy: np.random.RandomState(42).randint(3) == 2
/// let mut rs = NumpyRandomState::new(42);
/// assert_eq!(rs.randint(3)?, 2);
/// # Ok::<(), evnn_data::DataError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MtState", into = "MtState")]
pub struct NumpyRandomState {
    key: [u32; MT_N],
    pos: usize,
}

/// A saved MT19937 state, in numpy's `get_state()` layout (`key`, `pos`).
///
/// Obtain one with [`NumpyRandomState::state`]; restore it with
/// [`NumpyRandomState::from_state`], which validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtState {
    /// The 624 key words.
    pub key: Vec<u32>,
    /// Index of the next key word to temper; 624 means "regenerate first".
    pub pos: usize,
}

impl std::fmt::Debug for NumpyRandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // 624 words are noise in a debug print; show the position and head.
        f.debug_struct("NumpyRandomState")
            .field("pos", &self.pos)
            .field("key[..4]", &&self.key[..4])
            .finish_non_exhaustive()
    }
}

impl NumpyRandomState {
    /// Seeds the generator like `numpy.random.RandomState(seed)`
    /// (MT19937 `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut key = [0u32; MT_N];
        key[0] = seed;
        for i in 1..MT_N {
            let prev = key[i - 1];
            // `i` < 624, so the cast is lossless.
            key[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { key, pos: MT_N }
    }

    /// Restores a generator from a saved state.
    ///
    /// # Errors
    ///
    /// [`DataError::MtKeyLength`] if `key` does not hold 624 words,
    /// [`DataError::MtPosition`] if `pos > 624`, [`DataError::MtZeroKey`] if
    /// every key word is zero (the generator would emit zeros forever).
    pub fn from_state(state: MtState) -> Result<Self, DataError> {
        let key: [u32; MT_N] =
            state
                .key
                .as_slice()
                .try_into()
                .map_err(|_| DataError::MtKeyLength {
                    len: state.key.len(),
                    expected: MT_N,
                })?;
        if state.pos > MT_N {
            return Err(DataError::MtPosition {
                pos: state.pos,
                max: MT_N,
            });
        }
        if key.iter().all(|&w| w == 0) {
            return Err(DataError::MtZeroKey);
        }
        Ok(Self {
            key,
            pos: state.pos,
        })
    }

    /// Returns a copy of the current state (numpy's `get_state()`).
    pub fn state(&self) -> MtState {
        MtState {
            key: self.key.to_vec(),
            pos: self.pos,
        }
    }

    /// Regenerates all 624 key words (the MT19937 "twist").
    fn twist(&mut self) {
        // In place: for i >= N - M the (i + M) mod N word is already new,
        // exactly as in the reference three-loop formulation.
        for i in 0..MT_N {
            let y = (self.key[i] & UPPER_MASK) | (self.key[(i + 1) % MT_N] & LOWER_MASK);
            let mut v = self.key[(i + MT_M) % MT_N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= MATRIX_A;
            }
            self.key[i] = v;
        }
        self.pos = 0;
    }

    /// Next raw tempered 32-bit output (numpy's `mt19937_next32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= MT_N {
            self.twist();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Next 64-bit output: two 32-bit draws, the first one as the high word.
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        let lo = u64::from(self.next_u32());
        (hi << 32) | lo
    }

    /// A uniform double in `[0, 1)` with 53 random bits, numpy's `rand()` /
    /// `random_sample()`: `(a·2²⁶ + b) / 2⁵³`, `a = u32 >> 5` drawn before
    /// `b = u32 >> 6`.
    pub fn rand(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// A uniform integer in `[0, n)`, numpy's legacy `RandomState.randint(n)`.
    ///
    /// With `max = n − 1` and `mask` the smallest `2^k − 1 ≥ max`, it draws
    /// `v = draw & mask` until `v ≤ max`. Draws are 32-bit while
    /// `max ≤ 0xffff_ffff`, 64-bit (high word first) above. `n = 1` returns
    /// 0 without consuming the stream, as numpy does.
    ///
    /// # Errors
    ///
    /// [`DataError::EmptyRange`] if `n == 0` (numpy raises `ValueError`).
    pub fn randint(&mut self, n: u64) -> Result<u64, DataError> {
        let max = n.checked_sub(1).ok_or(DataError::EmptyRange { n })?;
        if max == 0 {
            return Ok(0);
        }
        let mask = smallest_mask(max);
        if max <= u64::from(u32::MAX) {
            if max == u64::from(u32::MAX) {
                return Ok(u64::from(self.next_u32()));
            }
            // `max` < 2^32 here, so `mask` fits in 32 bits.
            let mask = mask as u32;
            loop {
                let v = u64::from(self.next_u32() & mask);
                if v <= max {
                    return Ok(v);
                }
            }
        }
        if max == u64::MAX {
            return Ok(self.next_u64());
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= max {
                return Ok(v);
            }
        }
    }
}

/// Smallest `2^k − 1` that is `≥ max` (numpy's `gen_mask`).
fn smallest_mask(max: u64) -> u64 {
    let mut mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    mask
}

impl TryFrom<MtState> for NumpyRandomState {
    type Error = DataError;

    fn try_from(state: MtState) -> Result<Self, DataError> {
        Self::from_state(state)
    }
}

impl From<NumpyRandomState> for MtState {
    fn from(rs: NumpyRandomState) -> Self {
        rs.state()
    }
}

impl RngCore for NumpyRandomState {
    fn next_u32(&mut self) -> u32 {
        NumpyRandomState::next_u32(self)
    }

    fn next_u64(&mut self) -> u64 {
        NumpyRandomState::next_u64(self)
    }

    /// Fills `dst` with successive 32-bit draws, little-endian; a final
    /// partial chunk uses the low bytes of one more draw.
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let bytes = NumpyRandomState::next_u32(self).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    // proptest's prelude exports another `RngCore`; name ours.
    use rand::RngCore;

    #[test]
    fn rand_matches_numpy() {
        // docs/design.md §6, generated by numpy RandomState(42).rand().
        let mut rs = NumpyRandomState::new(42);
        let expected = [0.3745401188473625, 0.9507143064099162, 0.7319939418114051];
        for (k, &e) in expected.iter().enumerate() {
            let got = rs.rand();
            assert_eq!(got, e, "draw {k}: got {got}, expected {e}");
        }
    }

    #[test]
    fn randint3_matches_numpy() {
        // docs/design.md §6, generated by numpy RandomState(42).randint(3) x10.
        let mut rs = NumpyRandomState::new(42);
        let got: Vec<u64> = (0..10).map(|_| rs.randint(3).unwrap()).collect();
        assert_eq!(got, [2, 0, 2, 2, 0, 0, 2, 1, 2, 2]);
    }

    #[test]
    fn raw_stream_matches_cpp_standard() {
        // C++ [rand.predef]: the 10000th output of a default-constructed
        // std::mt19937 (seed 5489) is 4123659995; its first is 3499211612
        // (Matsumoto & Nishimura's reference mt19937ar.c).
        let mut rs = NumpyRandomState::new(5489);
        assert_eq!(rs.next_u32(), 3_499_211_612);
        let last = (1..10_000).map(|_| rs.next_u32()).last().unwrap();
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn randint_one_consumes_nothing() {
        let mut a = NumpyRandomState::new(7);
        let mut b = NumpyRandomState::new(7);
        assert_eq!(a.randint(1).unwrap(), 0);
        assert_eq!(a.next_u32(), b.next_u32());
    }

    #[test]
    fn randint_zero_is_an_error() {
        let mut rs = NumpyRandomState::new(0);
        assert_eq!(rs.randint(0), Err(DataError::EmptyRange { n: 0 }));
    }

    #[test]
    fn randint_masks_and_rejects() {
        // For a power of two the mask is n - 1 and nothing is rejected, so
        // randint(2^k) is the low k bits of one draw.
        let mut a = NumpyRandomState::new(3);
        let mut b = NumpyRandomState::new(3);
        for _ in 0..100 {
            assert_eq!(a.randint(16).unwrap(), u64::from(b.next_u32() & 15));
        }
        // Full 32-bit range: the raw draw.
        assert_eq!(a.randint(1 << 32).unwrap(), u64::from(b.next_u32()));
        // Above 32 bits: 64-bit draws, high word first.
        assert_eq!(a.randint(1 << 40).unwrap(), b.next_u64() & ((1 << 40) - 1));
        assert!(a.randint(u64::MAX).unwrap() < u64::MAX);
    }

    #[test]
    fn smallest_mask_values() {
        assert_eq!(smallest_mask(1), 1);
        assert_eq!(smallest_mask(2), 3);
        assert_eq!(smallest_mask(3), 3);
        assert_eq!(smallest_mask(4), 7);
        assert_eq!(smallest_mask(u64::from(u32::MAX) + 1), (1 << 33) - 1);
    }

    #[test]
    fn state_round_trip_continues_stream() {
        let mut rs = NumpyRandomState::new(42);
        for _ in 0..700 {
            rs.next_u32();
        }
        let json = serde_json::to_string(&rs).unwrap();
        let mut restored: NumpyRandomState = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, rs);
        for _ in 0..1000 {
            assert_eq!(restored.next_u32(), rs.next_u32());
        }
        let mut again = NumpyRandomState::from_state(rs.state()).unwrap();
        assert_eq!(again.rand(), rs.rand());
    }

    #[test]
    fn corrupt_states_are_rejected() {
        let good = NumpyRandomState::new(1).state();
        let short = MtState {
            key: good.key[..10].to_vec(),
            pos: 0,
        };
        assert_eq!(
            NumpyRandomState::from_state(short),
            Err(DataError::MtKeyLength {
                len: 10,
                expected: MT_N
            })
        );
        let past = MtState {
            key: good.key.clone(),
            pos: 625,
        };
        assert_eq!(
            NumpyRandomState::from_state(past),
            Err(DataError::MtPosition {
                pos: 625,
                max: MT_N
            })
        );
        let zero = MtState {
            key: vec![0; MT_N],
            pos: 0,
        };
        assert_eq!(
            NumpyRandomState::from_state(zero),
            Err(DataError::MtZeroKey)
        );
        let json = r#"{"key":[1,2,3],"pos":0}"#;
        assert!(serde_json::from_str::<NumpyRandomState>(json).is_err());
    }

    #[test]
    fn rng_core_fill_bytes_is_little_endian_u32s() {
        let mut a = NumpyRandomState::new(9);
        let mut b = NumpyRandomState::new(9);
        let mut bytes = [0u8; 8];
        a.fill_bytes(&mut bytes);
        assert_eq!(bytes[..4], b.next_u32().to_le_bytes());
        assert_eq!(bytes[4..], b.next_u32().to_le_bytes());
    }

    proptest! {
        #[test]
        fn randint_is_in_range(seed: u32, n in 1u64..=u64::MAX) {
            let mut rs = NumpyRandomState::new(seed);
            for _ in 0..8 {
                prop_assert!(rs.randint(n).unwrap() < n);
            }
        }

        #[test]
        fn rand_is_in_unit_interval(seed: u32) {
            let mut rs = NumpyRandomState::new(seed);
            for _ in 0..64 {
                let u = rs.rand();
                prop_assert!((0.0..1.0).contains(&u), "u = {u}");
            }
        }
    }
}
