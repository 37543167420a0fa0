//! The SIMD kernels: eight paths or scenarios per group, the stream layout of
//! [`crate::rng`] lane by lane. The rayon tier runs these same kernels per chunk.
//!
//! A chunk whose length is not a multiple of eight runs its last group full
//! width and drops the extra lanes: those lanes are just the next paths of the
//! layout, so every path's value is the same function wherever it falls, and
//! no second (scalar) code path exists to drift from this one.

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

/// Undiscounted samples `first .. first + 8` (pair averages when antithetic).
#[inline(always)]
fn samples_x8(setup: &PathSetup, keys: &RoundKeys, antithetic: bool, first: u64) -> f64x8 {
    let streams = StreamGroup::new(keys, first);
    let start = PathState {
        log_price: f64x8::splat(setup.log_spot),
        running: f64x8::ZERO,
    };
    let (mut up, mut down) = (start, start);
    let diffusion = f64x8::splat(setup.diffusion);
    let mut pending_sine = f64x8::ZERO;
    for step in 0..setup.steps {
        let z = if step % 2 == 0 {
            let (cosine, sine) = normals_x8(streams.block(step / 2, SUBSTREAM_NORMALS));
            pending_sine = sine;
            cosine
        } else {
            pending_sine
        };
        let shock = diffusion * z;
        up.step(setup, shock);
        if antithetic {
            down.step(setup, -shock);
        }
    }
    if antithetic {
        f64x8::splat(0.5) * (up.payoff(setup) + down.payoff(setup))
    } else {
        up.payoff(setup)
    }
}

/// Lanes `0 .. valid` set, the rest clear.
#[inline(always)]
fn lane_mask(valid: usize) -> f64x8 {
    let lanes = f64x8::new(std::array::from_fn(|lane| lane as f64));
    lanes.simd_lt(f64x8::splat(valid as f64))
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
    for first in (start..end).step_by(LANES) {
        let values = samples_x8(setup, &keys, antithetic, first);
        let shift = *shift.get_or_insert_with(|| values.as_array()[0]);
        let mut deviation = values - f64x8::splat(shift);
        let valid = (end - first).min(LANES as u64) as usize;
        if valid < LANES {
            deviation = lane_mask(valid).select(deviation, f64x8::ZERO);
        }
        sum += deviation;
        sum_sq += deviation * deviation;
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
