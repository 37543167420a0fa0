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
use super::philox::{LANES, RoundKeys, StreamGroup};
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

impl PathState {
    #[inline(always)]
    fn step(&mut self, setup: &PathSetup, shock: f64x8) {
        self.log_price += f64x8::splat(setup.drift) + shock;
        match setup.style {
            Style::European => {}
            Style::AsianArithmetic => self.running += exp(self.log_price),
            Style::AsianGeometric => self.running += self.log_price,
        }
    }

    #[inline(always)]
    fn payoff(&self, setup: &PathSetup) -> f64x8 {
        let fixings = f64x8::splat(f64::from(setup.steps));
        let underlying = match setup.style {
            Style::European => exp(self.log_price),
            Style::AsianArithmetic => self.running / fixings,
            Style::AsianGeometric => exp(self.running / fixings),
        };
        let strike = f64x8::splat(setup.strike);
        match setup.kind {
            OptionKind::Call => (underlying - strike).max(f64x8::ZERO),
            OptionKind::Put => (strike - underlying).max(f64x8::ZERO),
        }
    }
}

/// Undiscounted samples of streams `first .. first + 8` (pair averages when
/// antithetic): the even samples `2 (first + l)`, which read the cosine half
/// of each block, and the odd samples `2 (first + l) + 1`, which read the sine
/// half (see [`crate::rng`]).
#[inline(always)]
fn samples_x16(setup: &PathSetup, keys: &RoundKeys, antithetic: bool, first: u64) -> [f64x8; 2] {
    let streams = StreamGroup::new(keys, first);
    let start = PathState {
        log_price: f64x8::splat(setup.log_spot),
        running: f64x8::ZERO,
    };
    let (mut up, mut down) = ([start; 2], [start; 2]);
    let diffusion = f64x8::splat(setup.diffusion);
    for step in 0..setup.steps {
        let (cosine, sine) = normals_x8(streams.block(step, SUBSTREAM_NORMALS));
        for (half, z) in [cosine, sine].into_iter().enumerate() {
            let shock = diffusion * z;
            up[half].step(setup, shock);
            if antithetic {
                down[half].step(setup, -shock);
            }
        }
    }
    std::array::from_fn(|half| {
        if antithetic {
            f64x8::splat(0.5) * (up[half].payoff(setup) + down[half].payoff(setup))
        } else {
            up[half].payoff(setup)
        }
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
    let keys = RoundKeys::for_seed(seed);
    if start >= end {
        return Moments::default();
    }
    let mut shift = None;
    let (mut sum, mut sum_sq) = (f64x8::ZERO, f64x8::ZERO);
    for first in (start / 2..end.div_ceil(2)).step_by(LANES) {
        let values = samples_x16(setup, &keys, antithetic, first);
        // Sums are taken of deviations from sample `start`, the first one.
        let shift = *shift.get_or_insert(values[(start % 2) as usize].as_array()[0]);
        let whole = 2 * first >= start && 2 * (first + LANES as u64) <= end;
        let masks = (!whole).then(|| sample_masks(first, start, end));
        for half in 0..2 {
            let mut deviation = values[half] - f64x8::splat(shift);
            if let Some(masks) = &masks {
                deviation = masks[half].select(deviation, f64x8::ZERO);
            }
            sum += deviation;
            sum_sq += deviation * deviation;
        }
    }
    Moments::from_shifted_sums(
        end - start,
        shift.unwrap_or(0.0),
        sum.reduce_add(),
        sum_sq.reduce_add(),
    )
}

/// Chi-square draws of eight scenarios, [`crate::rng::chi_square`] lane by lane:
/// every lane runs Marsaglia-Tsang attempts until all have accepted.
#[inline(always)]
fn chi_square_x8(streams: &StreamGroup, dof: f64) -> f64x8 {
    let (d, c) = chi_square_constants(dof);
    let (d, c) = (f64x8::splat(d), f64x8::splat(c));
    let mut result = f64x8::splat(2.0) * d;
    let mut done = f64x8::ZERO.simd_ne(f64x8::ZERO);
    for attempt in 0..CHI_SQUARE_MAX_ATTEMPTS {
        let (x, _) = normals_x8(streams.block(2 * attempt, SUBSTREAM_CHI_SQUARE));
        let [b0, b1, _, _] = streams.block(2 * attempt + 1, SUBSTREAM_CHI_SQUARE);
        let u = uniform_x8(b0, b1);
        let t = f64x8::ONE + c * x;
        let v = t * t * t;
        let bound = f64x8::splat(0.5) * x * x + d - d * v + d * v.ln();
        let accept = t.simd_gt(f64x8::ZERO) & u.ln().simd_lt(bound) & !done;
        result = accept.select(f64x8::splat(2.0) * d * v, result);
        done |= accept;
        if done.all() {
            break;
        }
    }
    result
}

/// P&L of scenarios `first .. first + 8`.
#[inline(always)]
fn pnl_x8(model: &RiskModel, keys: &RoundKeys, first: u64) -> f64x8 {
    let streams = StreamGroup::new(keys, first);
    let mut shock = f64x8::ZERO;
    for (block, loadings) in model.loadings.chunks(2).enumerate() {
        let (z0, z1) = normals_x8(streams.block(block as u32, SUBSTREAM_NORMALS));
        shock += f64x8::splat(loadings[0]) * z0;
        if let Some(&b1) = loadings.get(1) {
            shock += f64x8::splat(b1) * z1;
        }
    }
    let scale = match model.dof {
        None => f64x8::ONE,
        Some(dof) => (f64x8::splat(dof - 2.0) / chi_square_x8(&streams, dof)).sqrt(),
    };
    f64x8::splat(model.mean) + scale * shock
}

/// Writes the P&L of scenarios `first .. first + out.len()` into `out`.
pub fn fill_pnl(model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
    let keys = RoundKeys::for_seed(seed);
    let mut groups = out.chunks_exact_mut(LANES);
    let mut index = first;
    for group in &mut groups {
        group.copy_from_slice(pnl_x8(model, &keys, index).as_array());
        index += LANES as u64;
    }
    let tail = groups.into_remainder();
    if !tail.is_empty() {
        let values = pnl_x8(model, &keys, index);
        tail.copy_from_slice(&values.as_array()[..tail.len()]);
    }
}
