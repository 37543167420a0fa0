//! Vectorised uniforms and Box-Muller on eight f64 lanes.
//!
//! `ln`, `sqrt`, `sin_cos` and `exp` are `wide`'s vectorised implementations
//! (Cephes/VCL polynomials with double-word range reduction), which replace libm
//! in the hot loops; `tests/simd_math.rs` measures their error against `std`.
//! On AVX2 an `f64x8` is two 256-bit registers, on AVX-512 one.

use bytemuck::cast;
use wide::{f64x8, i32x8, u32x8};

use crate::rng::UNIFORM_STEP;

const SIGN_BIT: u32 = 0x8000_0000;

/// [`crate::rng::uniform`] lane by lane, bit for bit:
/// `x = hi * 2^20 + (lo >> 12)`, `u = (x + 1/2) 2^-52`. Every step is exact in
/// f64, and the u32 -> f64 conversion goes through i32 (the only one x86 has)
/// by flipping the sign bit and adding 2^31 back.
#[inline(always)]
pub fn uniform_x8(lo: u32x8, hi: u32x8) -> f64x8 {
    let hi = f64x8::from_i32x8(cast::<u32x8, i32x8>(hi ^ u32x8::splat(SIGN_BIT)))
        + f64x8::splat(2_147_483_648.0);
    let lo = f64x8::from_i32x8(cast::<u32x8, i32x8>(lo >> 12));
    (hi * f64x8::splat(1_048_576.0) + lo + f64x8::splat(0.5)) * f64x8::splat(UNIFORM_STEP)
}

/// [`crate::rng::box_muller`] lane by lane: `(r cos, r sin)` of `2 pi u2`.
#[inline(always)]
pub fn box_muller_x8(u1: f64x8, u2: f64x8) -> (f64x8, f64x8) {
    let radius = (f64x8::splat(-2.0) * u1.ln()).sqrt();
    let (sin, cos) = (f64x8::splat(std::f64::consts::TAU) * u2).sin_cos();
    (radius * cos, radius * sin)
}

/// The two normals of one Philox block per lane.
#[inline(always)]
pub fn normals_x8(words: [u32x8; 4]) -> (f64x8, f64x8) {
    let [w0, w1, w2, w3] = words;
    box_muller_x8(uniform_x8(w0, w1), uniform_x8(w2, w3))
}
