//! Philox4x32-10 on eight counters at once.

use wide::u32x8;

use crate::rng::{PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1, seed_key};

/// Paths, pairs or scenarios one SIMD group carries.
pub const LANES: usize = 8;

/// The ten round keys of a Philox key, each word broadcast to all lanes, so
/// the rounds read them instead of stepping and broadcasting the key.
#[derive(Debug, Clone, Copy)]
pub struct RoundKeys([[u32x8; 2]; PHILOX_ROUNDS]);

impl RoundKeys {
    /// The round keys of `seed` in quantmc's stream layout.
    pub fn for_seed(seed: u64) -> Self {
        Self::new(seed_key(seed))
    }

    pub fn new(key: [u32; 2]) -> Self {
        let mut round_key = key;
        Self(std::array::from_fn(|round| {
            if round > 0 {
                round_key[0] = round_key[0].wrapping_add(PHILOX_W0);
                round_key[1] = round_key[1].wrapping_add(PHILOX_W1);
            }
            round_key.map(u32x8::splat)
        }))
    }
}

/// Eight Philox4x32-10 blocks: lane `l` of the output is the scalar
/// [`crate::rng::philox4x32_10`] of lane `l` of the counter words.
#[inline(always)]
pub fn philox_x8(counter: [u32x8; 4], keys: &RoundKeys) -> [u32x8; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let (m0, m1) = (u32x8::splat(PHILOX_M0), u32x8::splat(PHILOX_M1));
    for &[k0, k1] in &keys.0 {
        // Two vpmuludq pairs per call on AVX2: the 32x32 -> 64-bit products.
        let (lo0, hi0) = m0.mul_keep_low_high(c0);
        let (lo1, hi1) = m1.mul_keep_low_high(c2);
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
    }
    [c0, c1, c2, c3]
}

/// Eight consecutive streams `first .. first + 8` of one seed: their index
/// words and the seed's round keys (computed once per job or chunk).
#[derive(Debug, Clone, Copy)]
pub struct StreamGroup<'a> {
    low: u32x8,
    high: u32x8,
    keys: &'a RoundKeys,
}

impl<'a> StreamGroup<'a> {
    pub fn new(keys: &'a RoundKeys, first: u64) -> Self {
        let indices: [u64; LANES] = std::array::from_fn(|lane| first + lane as u64);
        Self {
            low: u32x8::new(indices.map(|i| i as u32)),
            high: u32x8::new(indices.map(|i| (i >> 32) as u32)),
            keys,
        }
    }

    /// Draw block `block` of `substream` for all eight streams.
    #[inline(always)]
    pub fn block(&self, block: u32, substream: u32) -> [u32x8; 4] {
        philox_x8(
            [
                u32x8::splat(block),
                u32x8::splat(substream),
                self.low,
                self.high,
            ],
            self.keys,
        )
    }
}
