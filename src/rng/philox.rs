//! Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy
//! as 1, 2, 3", SC11), the counter-based generator that cuRAND, JAX and NumPy
//! offer. A block is a pure function of a 128-bit counter and a 64-bit key, which
//! is what lets every tier produce path `i`'s numbers without producing path
//! `i - 1`'s first.

use rand_core::{Infallible, SeedableRng, TryRng, utils};

/// Round multiplier of counter words 0 and 1 (Salmon et al., 2011).
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Round multiplier of counter words 2 and 3.
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl increment of key word 0 per round.
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl increment of key word 1 per round.
pub const PHILOX_W1: u32 = 0xBB67_AE85;
/// Rounds of Philox4x32-10.
pub const PHILOX_ROUNDS: usize = 10;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let product = u64::from(a) * u64::from(b);
    ((product >> 32) as u32, product as u32)
}

/// One Philox4x32-10 block: four 32-bit outputs from `counter` under `key`.
#[inline(always)]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..PHILOX_ROUNDS {
        if round > 0 {
            k0 = k0.wrapping_add(PHILOX_W0);
            k1 = k1.wrapping_add(PHILOX_W1);
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c0);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c2);
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
    }
    [c0, c1, c2, c3]
}

/// Philox4x32-10 as a sequential `rand_core` generator.
///
/// The 128-bit counter advances by one per block (word 0 first, carrying into the
/// higher words), and the four outputs of each block are returned word 0 first.
/// Built with [`Philox4x32::for_stream`], the generator walks exactly the blocks
/// that quantmc's stream layout assigns to one path or scenario (see
/// [`crate::rng`]), so `rand` and `rand_distr` code can draw from the same
/// reproducible streams as the pricers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Philox4x32 {
    counter: [u32; 4],
    key: [u32; 2],
    block: [u32; 4],
    /// Next unread word of `block`; 4 means the block is used up.
    index: usize,
}

impl Philox4x32 {
    /// A generator whose first block is `counter` under `key`.
    pub fn new(counter: [u32; 4], key: [u32; 2]) -> Self {
        Self {
            counter,
            key,
            block: [0; 4],
            index: 4,
        }
    }

    /// The generator for (seed, substream, index) in quantmc's stream layout,
    /// starting at draw block 0.
    pub fn for_stream(seed: u64, substream: u32, index: u64) -> Self {
        Self::new(
            super::stream_counter(0, substream, index),
            super::seed_key(seed),
        )
    }

    /// The counter of the next block to be generated.
    pub fn counter(&self) -> [u32; 4] {
        self.counter
    }

    fn refill(&mut self) {
        self.block = philox4x32_10(self.counter, self.key);
        self.index = 0;
        // 128-bit increment, word 0 least significant.
        for word in &mut self.counter {
            *word = word.wrapping_add(1);
            if *word != 0 {
                break;
            }
        }
    }
}

impl TryRng for Philox4x32 {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        if self.index >= 4 {
            self.refill();
        }
        let word = self.block[self.index];
        self.index += 1;
        Ok(word)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        // Low word first, matching how the stream layout builds 64-bit uniforms.
        utils::next_u64_via_u32(self)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        utils::fill_bytes_via_next_word(dst, || self.try_next_u32())
    }
}

impl SeedableRng for Philox4x32 {
    /// The 64-bit key, little-endian. The counter starts at zero.
    type Seed = [u8; 8];

    fn from_seed(seed: Self::Seed) -> Self {
        Self::new([0; 4], super::seed_key(u64::from_le_bytes(seed)))
    }

    fn seed_from_u64(state: u64) -> Self {
        Self::new([0; 4], super::seed_key(state))
    }
}
