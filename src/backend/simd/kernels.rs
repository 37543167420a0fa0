//! The SIMD kernels: eight streams per group, the stream layout of
//! [`crate::rng`] lane by lane. A pricing group is sixteen samples (each
//! stream's block feeds an even and an odd sample), a VaR group eight
//! scenarios. The rayon tier runs these same kernels per chunk.
//!
//! A chunk that does not fill its first or last group runs those groups full
//! width and masks or drops the extra lanes: they are just neighbouring samples
//! of the layout, so every sample's value is the same function wherever it
//! falls, and no second (scalar) code path exists to drift from this one.

use wide::f64x8;

use super::math::{exp, normals_x8, uniform_x8};
use super::philox::{LANES, RoundKeys, Streams};
use crate::pricing::{OptionKind, PathSetup, Style};
use crate::risk::RiskModel;
use crate::rng::{
    CHI_SQUARE_MAX_ATTEMPTS, SUBSTREAM_CHI_SQUARE, SUBSTREAM_NORMALS, chi_square_constants,
};
use crate::stats::Moments;

/// A path's running state: log price and the running sum its payoff needs.
#[derive(Clone, Copy)]
struct PathState {
    log_price: f64x8,
    running: f64x8,
}

/// What a product does at each fixing and at expiry, as compile-time types so
/// every (style, call/put, antithetic) combination gets its own loop with no
/// branches or spills in it.
trait Path {
    /// The step count when the product fixes it, so the step loop unrolls.
    const STEPS: Option<u32> = None;
    /// Adds one step's log-return `drift + shock` and updates the running sum.
    fn step(state: &mut PathState, drift: f64x8, shock: f64x8);
    /// The price the payoff is struck on: terminal price or an average.
    fn underlying(state: &PathState, fixings: f64x8) -> f64x8;
}

struct European;
struct AsianArithmetic;
struct AsianGeometric;

impl Path for European {
    const STEPS: Option<u32> = Some(1);
    #[inline(always)]
    fn step(state: &mut PathState, drift: f64x8, shock: f64x8) {
        state.log_price += drift + shock;
    }
    #[inline(always)]
    fn underlying(state: &PathState, _: f64x8) -> f64x8 {
        exp(state.log_price)
    }
}

impl Path for AsianArithmetic {
    #[inline(always)]
    fn step(state: &mut PathState, drift: f64x8, shock: f64x8) {
        state.log_price += drift + shock;
        state.running += exp(state.log_price);
    }
    #[inline(always)]
    fn underlying(state: &PathState, fixings: f64x8) -> f64x8 {
        state.running / fixings
    }
}

impl Path for AsianGeometric {
    #[inline(always)]
    fn step(state: &mut PathState, drift: f64x8, shock: f64x8) {
        state.log_price += drift + shock;
        state.running += state.log_price;
    }
    #[inline(always)]
    fn underlying(state: &PathState, fixings: f64x8) -> f64x8 {
        exp(state.running / fixings)
    }
}

/// Stream groups one kernel call carries side by side: their Philox rounds
/// are independent dependency chains, interleaved round by round.
const GROUPS: usize = 2;
/// Streams one kernel call carries.
const STREAMS: u64 = (GROUPS * LANES) as u64;

/// Undiscounted payoffs of streams `first .. first + STREAMS` (pair averages
/// when antithetic), per group of eight: the even samples `2 (s + l)`, which
/// read the cosine half of each block, and the odd samples `2 (s + l) + 1`,
/// which read the sine half (see [`crate::rng`]).
#[inline(always)]
fn samples<P: Path, const PUT: bool, const ANTITHETIC: bool>(
    setup: &PathSetup,
    keys: &RoundKeys,
    first: u64,
) -> [[f64x8; 2]; GROUPS] {
    let streams = Streams::<GROUPS>::new(keys, first);
    let start = PathState {
        log_price: f64x8::splat(setup.log_spot),
        running: f64x8::ZERO,
    };
    let (mut up, mut down) = ([[start; 2]; GROUPS], [[start; 2]; GROUPS]);
    let (drift, diffusion) = (f64x8::splat(setup.drift), f64x8::splat(setup.diffusion));
    for step in 0..P::STEPS.unwrap_or(setup.steps) {
        let words = streams.blocks(step, SUBSTREAM_NORMALS);
        for (group, words) in words.into_iter().enumerate() {
            let (cosine, sine) = normals_x8(words);
            let shocks = [diffusion * cosine, diffusion * sine];
            for half in 0..2 {
                P::step(&mut up[group][half], drift, shocks[half]);
                if ANTITHETIC {
                    P::step(&mut down[group][half], drift, -shocks[half]);
                }
            }
        }
    }
    let fixings = f64x8::splat(f64::from(setup.steps));
    let strike = f64x8::splat(setup.strike);
    let payoff = |state: &PathState| {
        let underlying = P::underlying(state, fixings);
        let intrinsic = if PUT {
            strike - underlying
        } else {
            underlying - strike
        };
        intrinsic.fast_max(f64x8::ZERO)
    };
    std::array::from_fn(|group| {
        std::array::from_fn(|half| {
            if ANTITHETIC {
                f64x8::splat(0.5) * (payoff(&up[group][half]) + payoff(&down[group][half]))
            } else {
                payoff(&up[group][half])
            }
        })
    })
}

/// Which samples of streams `first .. first + 8` fall in `start .. end`: the
/// masks of the even and the odd samples.
#[inline(always)]
fn sample_masks(first: u64, start: u64, end: u64) -> [f64x8; 2] {
    std::array::from_fn(|half| {
        f64x8::new(std::array::from_fn(|lane| {
            let sample = 2 * (first + lane as u64) + half as u64;
            if (start..end).contains(&sample) {
                f64::from_bits(u64::MAX)
            } else {
                0.0
            }
        }))
    })
}

/// Moments of undiscounted samples `start .. end` (one chunk).
pub fn price_chunk(
    setup: &PathSetup,
    seed: u64,
    antithetic: bool,
    start: u64,
    end: u64,
) -> Moments {
    let put = setup.kind == OptionKind::Put;
    macro_rules! specialised {
        ($path:ty) => {
            match (put, antithetic) {
                (false, false) => chunk_moments::<$path, false, false>(setup, seed, start, end),
                (false, true) => chunk_moments::<$path, false, true>(setup, seed, start, end),
                (true, false) => chunk_moments::<$path, true, false>(setup, seed, start, end),
                (true, true) => chunk_moments::<$path, true, true>(setup, seed, start, end),
            }
        };
    }
    match setup.style {
        Style::European => specialised!(European),
        Style::AsianArithmetic => specialised!(AsianArithmetic),
        Style::AsianGeometric => specialised!(AsianGeometric),
    }
}

/// [`price_chunk`] for one product, call or put, plain or antithetic.
fn chunk_moments<P: Path, const PUT: bool, const ANTITHETIC: bool>(
    setup: &PathSetup,
    seed: u64,
    start: u64,
    end: u64,
) -> Moments {
    if start >= end {
        return Moments::default();
    }
    let keys = RoundKeys::for_seed(seed);
    let mut shift = None;
    let (mut sum, mut sum_sq) = (f64x8::ZERO, f64x8::ZERO);
    for first in (start / 2..end.div_ceil(2)).step_by(STREAMS as usize) {
        let values = samples::<P, PUT, ANTITHETIC>(setup, &keys, first);
        // Sums are taken of deviations from sample `start`, the first one.
        let shift = *shift.get_or_insert(values[0][(start % 2) as usize].as_array()[0]);
        let whole = 2 * first >= start && 2 * (first + STREAMS) <= end;
        for (group, values) in values.into_iter().enumerate() {
            let masks = (!whole).then(|| sample_masks(first + (group * LANES) as u64, start, end));
            for half in 0..2 {
                let mut deviation = values[half] - f64x8::splat(shift);
                if let Some(masks) = &masks {
                    deviation = masks[half].select(deviation, f64x8::ZERO);
                }
                sum += deviation;
                sum_sq += deviation * deviation;
            }
        }
    }
    Moments::from_shifted_sums(
        end - start,
        shift.unwrap_or(0.0),
        sum.reduce_add(),
        sum_sq.reduce_add(),
    )
}

/// Chi-square draws of the scenarios of `streams`, [`crate::rng::chi_square`]
/// lane by lane: every lane runs Marsaglia-Tsang attempts until all have
/// accepted.
#[inline(always)]
fn chi_square<const G: usize>(streams: &Streams<G>, dof: f64) -> [f64x8; G] {
    let (d, c) = chi_square_constants(dof);
    let (d, c) = (f64x8::splat(d), f64x8::splat(c));
    let mut result = [f64x8::splat(2.0) * d; G];
    let mut done = [f64x8::ZERO.simd_ne(f64x8::ZERO); G];
    for attempt in 0..CHI_SQUARE_MAX_ATTEMPTS {
        let normals = streams.blocks(2 * attempt, SUBSTREAM_CHI_SQUARE);
        let uniforms = streams.blocks(2 * attempt + 1, SUBSTREAM_CHI_SQUARE);
        for group in 0..G {
            let (x, _) = normals_x8(normals[group]);
            let [b0, b1, _, _] = uniforms[group];
            let u = uniform_x8(b0, b1);
            let t = f64x8::ONE + c * x;
            let v = t * t * t;
            let bound = f64x8::splat(0.5) * x * x + d - d * v + d * v.ln();
            let accept = t.simd_gt(f64x8::ZERO) & u.ln().simd_lt(bound) & !done[group];
            result[group] = accept.select(f64x8::splat(2.0) * d * v, result[group]);
            done[group] |= accept;
        }
        if done.iter().all(|done| done.all()) {
            break;
        }
    }
    result
}

/// P&L of scenarios `first .. first + 8 G`, per group of eight.
#[inline(always)]
fn pnl<const G: usize>(model: &RiskModel, keys: &RoundKeys, first: u64) -> [f64x8; G] {
    let streams = Streams::<G>::new(keys, first);
    let mut shock = [f64x8::ZERO; G];
    for (block, loadings) in model.loadings.chunks(2).enumerate() {
        let words = streams.blocks(block as u32, SUBSTREAM_NORMALS);
        for (shock, words) in shock.iter_mut().zip(words) {
            let (z0, z1) = normals_x8(words);
            *shock += f64x8::splat(loadings[0]) * z0;
            if let Some(&b1) = loadings.get(1) {
                *shock += f64x8::splat(b1) * z1;
            }
        }
    }
    let scale = match model.dof {
        None => [f64x8::ONE; G],
        Some(dof) => chi_square(&streams, dof).map(|w| (f64x8::splat(dof - 2.0) / w).sqrt()),
    };
    std::array::from_fn(|group| f64x8::splat(model.mean) + scale[group] * shock[group])
}

/// Writes the P&L of scenarios `first .. first + out.len()` into `out`.
pub fn fill_pnl(model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
    let keys = RoundKeys::for_seed(seed);
    // Whole batches copy fixed-size groups (measured 2% faster than copying
    // every group as a slice of variable length, as the tail must).
    let mut batches = out.chunks_exact_mut(STREAMS as usize);
    let mut index = first;
    for batch in &mut batches {
        let values = pnl::<GROUPS>(model, &keys, index);
        for (out, values) in batch.chunks_exact_mut(LANES).zip(values) {
            out.copy_from_slice(values.as_array());
        }
        index += STREAMS;
    }
    let tail = batches.into_remainder();
    if !tail.is_empty() {
        let values = pnl::<GROUPS>(model, &keys, index);
        for (out, values) in tail.chunks_mut(LANES).zip(values) {
            out.copy_from_slice(&values.as_array()[..out.len()]);
        }
    }
}
