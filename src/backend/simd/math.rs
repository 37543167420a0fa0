//! Vectorised uniforms and Box-Muller on eight f64 lanes.
//!
//! `ln`, `sqrt` and `exp` are `wide`'s vectorised implementations (Cephes/VCL
//! polynomials with double-word range reduction), which replace libm in the hot
//! loops. Box-Muller's angle is always `2 pi u` with `u` in (0, 1), so
//! [`sin_cos_turn`] reduces `u` itself by quarter turns (exactly) instead of the
//! angle, and skips the general reduction and special-case handling, which made
//! the sine/cosine the most expensive step. `tests/simd_math.rs` measures every
//! function's error against `std`.
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

/// `(sin 2 pi u, cos 2 pi u)` for `u` in [0, 1].
///
/// `q = round(4 u)` is the nearest quarter turn and `r = u - q/4` (exact, by
/// Sterbenz) lies in [-1/8, 1/8], so `x = 2 pi r` is in [-pi/4, pi/4], where the
/// Cephes minimax polynomials (the same coefficients `wide` uses) are accurate to
/// about 1 ulp. The quarter turn then swaps and negates the pair.
#[inline(always)]
// The Cephes coefficients are kept digit for digit as published.
#[allow(clippy::excessive_precision)]
pub fn sin_cos_turn(u: f64x8) -> (f64x8, f64x8) {
    let s = f64x8::splat;
    let quarter = (u * s(4.0)).round();
    let x = (u - quarter * s(0.25)) * s(std::f64::consts::TAU);
    let x2 = x * x;
    let sin_poly = s(1.589_623_015_765_465_680_60e-10)
        .mul_add(x2, s(-2.505_074_776_285_780_728_66e-8))
        .mul_add(x2, s(2.755_731_362_138_572_452_13e-6))
        .mul_add(x2, s(-1.984_126_982_958_953_859_96e-4))
        .mul_add(x2, s(8.333_333_333_322_118_588_78e-3))
        .mul_add(x2, s(-1.666_666_666_666_663_072_95e-1));
    let cos_poly = s(-1.135_853_652_138_768_173_00e-11)
        .mul_add(x2, s(2.087_570_084_197_473_167_78e-9))
        .mul_add(x2, s(-2.755_731_417_929_673_881_12e-7))
        .mul_add(x2, s(2.480_158_728_885_170_453_48e-5))
        .mul_add(x2, s(-1.388_888_888_887_305_641_16e-3))
        .mul_add(x2, s(4.166_666_666_666_659_292_18e-2));
    let sin_r = (x * x2).mul_add(sin_poly, x);
    let cos_r = (x2 * x2).mul_add(cos_poly, x2.mul_neg_add(s(0.5), s(1.0)));
    // Quarter turn q (mod 4): sin(x + q pi/2), cos(x + q pi/2).
    let odd = quarter.simd_eq(s(1.0)) | quarter.simd_eq(s(3.0));
    let sin_negative = quarter.simd_eq(s(2.0)) | quarter.simd_eq(s(3.0));
    let cos_negative = quarter.simd_eq(s(1.0)) | quarter.simd_eq(s(2.0));
    let sin = odd.select(cos_r, sin_r);
    let cos = odd.select(sin_r, cos_r);
    (
        sin_negative.select(-sin, sin),
        cos_negative.select(-cos, cos),
    )
}

/// [`crate::rng::box_muller`] lane by lane: `(r cos, r sin)` of `2 pi u2`.
#[inline(always)]
pub fn box_muller_x8(u1: f64x8, u2: f64x8) -> (f64x8, f64x8) {
    let radius = (f64x8::splat(-2.0) * u1.ln()).sqrt();
    let (sin, cos) = sin_cos_turn(u2);
    (radius * cos, radius * sin)
}

/// The two normals of one Philox block per lane.
#[inline(always)]
pub fn normals_x8(words: [u32x8; 4]) -> (f64x8, f64x8) {
    let [w0, w1, w2, w3] = words;
    box_muller_x8(uniform_x8(w0, w1), uniform_x8(w2, w3))
}
