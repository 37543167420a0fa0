//! Reproducible random streams: the stream layout contract.
//!
//! # Stream layout (the contract every tier implements)
//!
//! Every random number quantmc draws is a pure function of
//! `(seed, substream, stream, block)`: one Philox4x32-10 call with
//! `key = [seed as u32, (seed >> 32) as u32]` and
//! `counter = [block, substream, stream as u32, (stream >> 32) as u32]`.
//! Its outputs `[w0, w1, w2, w3]` become two uniforms `u1 = uniform(w0, w1)`
//! and `u2 = uniform(w2, w3)` (see [`uniform`]), and Box-Muller turns them into
//! the block's two normals, its cosine half `r cos(2 pi u2)` and its sine half
//! `r sin(2 pi u2)`, with `r = sqrt(-2 ln u1)` (see [`normal_pair`]).
//!
//! Who reads which block:
//!
//! * **Pricing.** Sample `i` (a path, or for antithetic runs a pair of mirrored
//!   paths) takes its step-`j` normal from block `j` of stream `i / 2`: the
//!   cosine half when `i` is even, the sine half when `i` is odd (see
//!   [`path_normal`]). Two neighbouring samples share every block, so no normal
//!   is drawn and thrown away whatever the step count, and a one-step European
//!   path costs half a Philox call and half a Box-Muller.
//! * **VaR.** Scenario `s` takes the shock of asset `a` from block `a / 2` of
//!   stream `s`: the cosine half for even `a`, the sine half for odd `a` (see
//!   [`fill_normals`]); an odd asset count leaves the last sine unused.
//!
//! Substreams: [`SUBSTREAM_NORMALS`] carries the path increments and the
//! scenario shocks; [`SUBSTREAM_CHI_SQUARE`] carries the draws of the Student-t
//! mixing variable (see [`chi_square`]); [`SUBSTREAM_QMC`] carries the
//! scrambles of randomized quasi-Monte Carlo replicates, whose points follow
//! the QMC layout of [`qmc`] instead of the streams above; [`SUBSTREAM_DUALITY`]
//! carries the nested paths of early exercise's upper bound (their layout is
//! [`crate::exercise`]'s). Because nothing depends on the order in
//! which paths are visited, path `i` sees the same numbers on every backend, any
//! chunking and any thread count: `--backend` changes speed, never the sample.
//!
//! Box-Muller is used because it needs no rejection and no table, so it
//! vectorises lane-for-lane and ports to WGSL unchanged.

mod philox;
pub mod qmc;

pub use philox::{
    PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1, Philox4x32, philox4x32_10,
};

/// Substream of path increments (pricing) and asset shocks (VaR).
pub const SUBSTREAM_NORMALS: u32 = 0;
/// Substream of the chi-square mixing variable of Student-t scenarios.
pub const SUBSTREAM_CHI_SQUARE: u32 = 1;
/// Substream of the Owen scrambles of randomized QMC replicates ([`qmc`]).
pub const SUBSTREAM_QMC: u32 = 2;
/// Substream of the nested paths of the early-exercise duality bound
/// ([`crate::exercise`]).
pub const SUBSTREAM_DUALITY: u32 = 3;
/// Substream of the ES backtest's simulations under the model
/// ([`crate::backtest`]).
pub const SUBSTREAM_BACKTEST: u32 = 4;

/// Samples (paths, pairs or scenarios) per chunk: the unit of every reduction.
/// Every tier reduces whole chunks and merges them in chunk order, and the size
/// never depends on the thread count or the tier, so a reduction's bits do not
/// depend on how the chunks were scheduled.
pub const CHUNK: u64 = 1 << 14;

/// The first `samples` samples split into the fixed chunks every tier reduces,
/// as `(start, end)` ranges.
pub fn chunk_bounds(samples: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..samples.div_ceil(CHUNK)).map(move |c| (c * CHUNK, ((c + 1) * CHUNK).min(samples)))
}

/// Most Marsaglia-Tsang attempts per chi-square draw (see [`chi_square`]).
pub const CHI_SQUARE_MAX_ATTEMPTS: u32 = 64;

/// The Philox key of a seed: low word first.
#[inline(always)]
pub fn seed_key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The Philox counter of block `block` of `(substream, stream)`.
#[inline(always)]
pub fn stream_counter(block: u32, substream: u32, stream: u64) -> [u32; 4] {
    [block, substream, stream as u32, (stream >> 32) as u32]
}

/// 2^-52, the spacing of the uniforms.
pub const UNIFORM_STEP: f64 = 1.0 / 4_503_599_627_370_496.0;

/// A 64-bit-precision uniform in the open interval (0, 1) from two Philox words.
///
/// The top 52 bits of `hi:lo` give `x`, and `u = (x + 1/2) * 2^-52`, so `u` runs
/// from `2^-53` to `1 - 2^-53`: never exactly 0 or 1, so `ln u` is always finite.
/// The value equals `from_bits(0x3FF << 52 | x) - 1 + 2^-53` exactly, which is how
/// the SIMD tier computes it without an integer-to-float conversion.
#[inline(always)]
pub fn uniform(lo: u32, hi: u32) -> f64 {
    let x = ((u64::from(hi) << 32) | u64::from(lo)) >> 12;
    (x as f64 + 0.5) * UNIFORM_STEP
}

/// The two standard normals (cosine half, sine half) of block `block` of
/// `(substream, stream)`, by Box-Muller.
#[inline(always)]
pub fn normal_pair(seed: u64, substream: u32, stream: u64, block: u32) -> (f64, f64) {
    let [w0, w1, w2, w3] = philox4x32_10(stream_counter(block, substream, stream), seed_key(seed));
    box_muller(uniform(w0, w1), uniform(w2, w3))
}

/// The step-`step` normal of pricing sample `sample`: block `step` of stream
/// `sample / 2`, its cosine half for an even sample and its sine half for an
/// odd one.
#[inline(always)]
pub fn path_normal(seed: u64, sample: u64, step: u32) -> f64 {
    let (cosine, sine) = normal_pair(seed, SUBSTREAM_NORMALS, sample / 2, step);
    if sample.is_multiple_of(2) {
        cosine
    } else {
        sine
    }
}

/// Box-Muller: two independent standard normals from two uniforms in (0, 1).
#[inline(always)]
pub fn box_muller(u1: f64, u2: f64) -> (f64, f64) {
    let radius = (-2.0 * u1.ln()).sqrt();
    let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
    (radius * cos, radius * sin)
}

/// Fills `out` with the shocks of scenario `scenario` for assets
/// `0..out.len()`: asset `a` reads block `a / 2` of stream `scenario`, its
/// cosine half for even `a` and its sine half for odd `a`.
pub fn fill_normals(seed: u64, substream: u32, scenario: u64, out: &mut [f64]) {
    for (block, pair) in out.chunks_mut(2).enumerate() {
        let (z0, z1) = normal_pair(seed, substream, scenario, block as u32);
        pair[0] = z0;
        if let Some(second) = pair.get_mut(1) {
            *second = z1;
        }
    }
}

/// Constants of Marsaglia-Tsang for shape `dof / 2`: `(d, c)` with
/// `d = dof/2 - 1/3` and `c = 1 / sqrt(9 d)`.
#[inline]
pub fn chi_square_constants(dof: f64) -> (f64, f64) {
    let d = dof / 2.0 - 1.0 / 3.0;
    (d, 1.0 / (9.0 * d).sqrt())
}

/// A chi-square variate with `dof` degrees of freedom (`dof > 2`) for scenario
/// `index`, the same on every tier.
///
/// Algorithm: `W = 2 G` with `G ~ Gamma(dof/2, 1)` by Marsaglia and Tsang (2000)
/// ("A simple method for generating gamma variables"), which needs shape >= 1,
/// true for every allowed `dof`. Attempt `t = 0, 1, ...` reads substream
/// [`SUBSTREAM_CHI_SQUARE`] of the scenario: block `2t` gives the normal `x`
/// (the cosine output of Box-Muller) and block `2t + 1` the uniform
/// `u = uniform(w0, w1)`. With `v = (1 + c x)^3`, the attempt is accepted when
/// `v > 0` and `ln u < x^2/2 + d - d v + d ln v`, giving `G = d v`. Acceptance is
/// above 95% per attempt; after [`CHI_SQUARE_MAX_ATTEMPTS`] rejections (odds
/// below 1e-80) `G = d`, the distribution's mode, so no tier can loop forever.
pub fn chi_square(seed: u64, index: u64, dof: f64) -> f64 {
    let (d, c) = chi_square_constants(dof);
    let key = seed_key(seed);
    for attempt in 0..CHI_SQUARE_MAX_ATTEMPTS {
        let [a0, a1, a2, a3] = philox4x32_10(
            stream_counter(2 * attempt, SUBSTREAM_CHI_SQUARE, index),
            key,
        );
        let (x, _) = box_muller(uniform(a0, a1), uniform(a2, a3));
        let [b0, b1, _, _] = philox4x32_10(
            stream_counter(2 * attempt + 1, SUBSTREAM_CHI_SQUARE, index),
            key,
        );
        let u = uniform(b0, b1);
        let t = 1.0 + c * x;
        if t > 0.0 {
            let v = t * t * t;
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return 2.0 * d * v;
            }
        }
    }
    2.0 * d
}
