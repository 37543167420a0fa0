//! Philox4x32-10 on eight counters at once.

use super::lane_fn;
use super::{array_from_fn, u32x8};

use crate::rng::{PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1, seed_key};

/// Paths, pairs or scenarios one SIMD group carries.
pub const LANES: usize = 8;

/// The stream (offset from the group's first) each 32-bit word lane carries:
/// word lanes `2i` and `2i + 1` carry streams `i` and `4 + i`, so that
/// [`super::uniform_x8`], which pairs words where they lie, yields the
/// uniforms of streams `0..8` in order.
pub const LANE_STREAM: [usize; LANES] = [0, 4, 1, 5, 2, 6, 3, 7];

/// The ten round keys of a Philox key, each word broadcast to all lanes, so
/// the rounds read them instead of stepping and broadcasting the key; and the
/// key itself, for the first round's scalar half.
#[derive(Debug, Clone, Copy)]
pub struct RoundKeys {
    key: [u32; 2],
    lanes: [[u32x8; 2]; PHILOX_ROUNDS],
}

impl RoundKeys {
    /// The round keys of `seed` in quantmc's stream layout.
    pub fn for_seed(seed: u64) -> Self {
        Self::new(seed_key(seed))
    }

    /// The round keys of a Philox key.
    pub fn new(key: [u32; 2]) -> Self {
        Self {
            key,
            lanes: array_from_fn(|round| {
                let round = round as u32;
                [
                    u32x8::splat(key[0].wrapping_add(PHILOX_W0.wrapping_mul(round))),
                    u32x8::splat(key[1].wrapping_add(PHILOX_W1.wrapping_mul(round))),
                ]
            }),
        }
    }
}

/// One Philox round on eight counters.
#[inline(always)]
fn round([c0, c1, c2, c3]: [u32x8; 4], [k0, k1]: [u32x8; 2]) -> [u32x8; 4] {
    // Two vpmuludq pairs per call on AVX2: the 32x32 -> 64-bit products.
    let (lo0, hi0) = u32x8::splat(PHILOX_M0).mul_keep_low_high(c0);
    let (lo1, hi1) = u32x8::splat(PHILOX_M1).mul_keep_low_high(c2);
    [hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0]
}

lane_fn! {
/// Rounds `FROM..10` of Philox4x32-10 on `G` groups of eight counters,
/// written out and interleaved group by group within each round: as a loop
/// LLVM keeps the branch and reloads the multipliers every round, and one
/// group's rounds are a dependency chain that leaves the vector pipes idle.
fn rounds_from<const FROM: usize, const G: usize>(
    mut c: [[u32x8; 4]; G],
    keys: &RoundKeys,
) -> [[u32x8; 4]; G] {
    macro_rules! unrolled {
        ($($round:literal)+) => {$(
            if $round >= FROM {
                for group in &mut c {
                    *group = round(*group, keys.lanes[$round]);
                }
            }
        )+};
    }
    unrolled!(0 1 2 3 4 5 6 7 8 9);
    c
}
}

/// `a * b` as (low word, high word).
#[inline(always)]
fn mul_low_high(a: u32, b: u32) -> (u32, u32) {
    let product = u64::from(a) * u64::from(b);
    (product as u32, (product >> 32) as u32)
}

/// Eight Philox4x32-10 blocks: lane `l` of the output is the scalar
/// [`crate::rng::philox4x32_10`] of lane `l` of the counter words.
#[inline(always)]
pub fn philox_x8(counter: [u32x8; 4], keys: &RoundKeys) -> [u32x8; 4] {
    let [out] = rounds_from::<0, 1>([counter], keys);
    out
}

/// Philox of counters `[block, substream, low, high]` for `G` groups whose
/// words other than `low` are the same in every lane. The first two rounds
/// then have one lane-invariant multiply each, done once on scalars: 18 of the
/// 20 wide multiplies remain.
#[inline(always)]
fn philox_shared<const G: usize>(
    block: u32,
    substream: u32,
    low: &[u32x8; G],
    high: &[u32; G],
    keys: &RoundKeys,
) -> [[u32x8; 4]; G] {
    let (m0, m1) = (u32x8::splat(PHILOX_M0), u32x8::splat(PHILOX_M1));
    let [k0, k1] = keys.key;
    let (lo0, hi0) = mul_low_high(PHILOX_M0, block);
    // Loops, not closures: a closure left out of line would run the
    // intrinsics of an intrinsic lane set as calls ([`super::Task`]).
    let [k0_1, k1_1] = keys.lanes[1];
    let mut second = [[u32x8::splat(0); 4]; G];
    for (group, second) in second.iter_mut().enumerate() {
        // Round 0: the block word's product is lane-invariant.
        let (lo1, hi1) = m1.mul_keep_low_high(low[group]);
        let (c0, c1, c2) = (
            hi1 ^ u32x8::splat(substream ^ k0),
            lo1,
            hi0 ^ high[group] ^ k1,
        );
        // Round 1: the third word came from lane-invariant inputs, so its
        // product is lane-invariant too.
        let (next_lo0, next_hi0) = m0.mul_keep_low_high(c0);
        let (next_lo1, next_hi1) = mul_low_high(PHILOX_M1, c2);
        *second = [
            u32x8::splat(next_hi1) ^ c1 ^ k0_1,
            u32x8::splat(next_lo1),
            next_hi0 ^ u32x8::splat(lo0) ^ k1_1,
            next_lo0,
        ];
    }
    rounds_from::<2, G>(second, keys)
}

/// `G` groups of eight consecutive streams, `first .. first + 8 G`, of one
/// seed: their index words and the seed's round keys (computed once per job
/// or chunk). Drawing a block for several groups at once interleaves their
/// Philox rounds.
#[derive(Debug, Clone, Copy)]
pub struct Streams<'a, const G: usize> {
    low: [u32x8; G],
    high: [u32x8; G],
    /// The high index word of each group when every group's eight streams
    /// share theirs (all but groups that straddle a multiple of 2^32).
    shared_high: Option<[u32; G]>,
    keys: &'a RoundKeys,
}

/// Eight consecutive streams.
pub type StreamGroup<'a> = Streams<'a, 1>;

impl<'a, const G: usize> Streams<'a, G> {
    /// Streams `first ..` under `keys`.
    pub fn new(keys: &'a RoundKeys, first: u64) -> Self {
        let stream =
            |group: usize, offset: usize| first.wrapping_add((group * LANES + offset) as u64);
        let word = |shift: u32| {
            array_from_fn(|group| {
                u32x8::new(array_from_fn(|lane| {
                    (stream(group, LANE_STREAM[lane]) >> shift) as u32
                }))
            })
        };
        let shared = (0..G).all(|group| stream(group, 0) >> 32 == stream(group, LANES - 1) >> 32);
        Self {
            low: word(0),
            high: word(32),
            shared_high: shared.then(|| array_from_fn(|group| (stream(group, 0) >> 32) as u32)),
            keys,
        }
    }

    /// Block `block` of `substream` for every stream, group by group, word
    /// lanes in [`LANE_STREAM`] order.
    #[inline(always)]
    pub fn blocks(&self, block: u32, substream: u32) -> [[u32x8; 4]; G] {
        if let Some(high) = &self.shared_high {
            return philox_shared(block, substream, &self.low, high, self.keys);
        }
        let (block, substream) = (u32x8::splat(block), u32x8::splat(substream));
        let mut counters = [[block; 4]; G];
        for (group, counter) in counters.iter_mut().enumerate() {
            *counter = [block, substream, self.low[group], self.high[group]];
        }
        rounds_from::<0, G>(counters, self.keys)
    }
}

impl StreamGroup<'_> {
    /// Block `block` of `substream` for all eight streams.
    #[inline(always)]
    pub fn block(&self, block: u32, substream: u32) -> [u32x8; 4] {
        let [words] = self.blocks(block, substream);
        words
    }
}
