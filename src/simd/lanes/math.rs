//! Vectorised uniforms, `exp`, `ln` and Box-Muller on eight f64 lanes,
//! compiled once per lane set ([`super::FUSED`]).
//!
//! [`ln`] is the Cephes/VCL rational approximation with double-word range
//! reduction (as the `wide` crate writes it), which replaces libm in the hot
//! loops. [`exp`] is this crate's: the same reduction as Cephes, a Taylor
//! polynomial, and no subnormal branches, which the kernels never need. Box-Muller's angle is always `2 pi u` with `u` in (0, 1), so
//! [`sin_cos_turn`] reduces `u` itself by quarter turns (exactly) instead of the
//! angle, and skips the general reduction and special-case handling, which made
//! the sine/cosine the most expensive step. `super::tests` measures every
//! function's error against `std`.
//! On AVX2 an `f64x8` is two 256-bit registers, on AVX-512 one.

use super::lane_fn;
use super::{f64x8, u32x8, u64x8};
use crate::rng::UNIFORM_STEP;

/// [`crate::rng::uniform`] of eight word pairs, bit for bit, built in the bits
/// of the doubles rather than by integer-to-float conversions.
///
/// Output lane `j` is the uniform of word lanes `2j` (for `j < 4`) and
/// `2 (j - 4) + 1` (for `j >= 4`): pairing the words in place is cheaper than
/// gathering them in order, and [`super::LANE_STREAM`] assigns the streams to
/// word lanes so that the uniforms come out in stream order. With `x` the top
/// 52 bits of `hi:lo`, `from_bits(0x3FF << 52 | x) = 1 + x 2^-52` exactly, and
/// subtracting `1 - 2^-53` leaves `(x + 1/2) 2^-52`, which is representable,
/// so the one rounding is exact.
#[inline(always)]
pub fn uniform_x8(lo: u32x8, hi: u32x8) -> f64x8 {
    const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;
    let bits = u32x8::pair_words(lo, hi);
    f64x8::from_bits((bits >> 12) | u64x8::splat(ONE_BITS)) - f64x8::splat(1.0 - UNIFORM_STEP / 2.0)
}

lane_fn! {
/// `(sin 2 pi u, cos 2 pi u)` for `u` in [0, 1].
///
/// `q = round(4 u)` is the nearest quarter turn and `r = u - q/4` (exact, by
/// Sterbenz) lies in [-1/8, 1/8], so `x = 2 pi r` is in [-pi/4, pi/4], where the
/// Cephes minimax polynomials (the same coefficients `wide` uses) are accurate to
/// about 1 ulp. The quarter turn then swaps and negates the pair.
// The Cephes coefficients are kept digit for digit as published.
#[allow(clippy::excessive_precision)]
pub fn sin_cos_turn(u: f64x8) -> (f64x8, f64x8) {
    let s = f64x8::splat;
    // Ties (u exactly an odd eighth) may go either way: r = +-1/8 both hold.
    let quarter = (u * s(4.0)).round_ties_even();
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
}

lane_fn! {
/// `e^x`, within about 1 ulp for `x` in [-708.39, 709.78]; `+inf` above, `0`
/// below (where `std` returns subnormals under 1e-307).
///
/// `x = n ln 2 + r` with `n = round(x / ln 2)` (ln 2 split in two so `n ln2_hi`
/// is exact) and `|r| <= ln 2 / 2`; `e^r` is its Taylor series to `r^13`
/// (truncation below 1e-17) evaluated in Estrin form, and `2^n` is built in the
/// exponent bits.
// ln 2's low part is kept digit for digit as fdlibm publishes it.
#[allow(clippy::excessive_precision)]
pub fn exp(x: f64x8) -> f64x8 {
    let s = f64x8::splat;
    const LN2_HI: f64 = 0.693_145_751_953_125;
    const LN2_LO: f64 = 1.428_606_820_309_417_232_12e-6;
    // round_ties_even and fast_max/min are single instructions; wide's round
    // (ties away) and NaN-aware max/min are several each.
    let n = (x * s(std::f64::consts::LOG2_E))
        .round_ties_even()
        .fast_max(s(-1022.0))
        .fast_min(s(1023.0));
    let r = n.mul_neg_add(s(LN2_HI), x);
    let r = n.mul_neg_add(s(LN2_LO), r);
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    // 1/k!, each rounded once to f64.
    const INVERSE_FACTORIAL: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let c = |k: usize| s(INVERSE_FACTORIAL[k]);
    let poly = r8.mul_add(
        r4.mul_add(
            r.mul_add(c(13), c(12)),
            r2.mul_add(r.mul_add(c(11), c(10)), r.mul_add(c(9), c(8))),
        ),
        r4.mul_add(
            r2.mul_add(r.mul_add(c(7), c(6)), r.mul_add(c(5), c(4))),
            r2.mul_add(r.mul_add(c(3), c(2)), r),
        ),
    );
    // 2^n: n + 1023 lands in the low mantissa bits of n + 1023 + 2^52.
    let biased = (n + s(1023.0 + 4_503_599_627_370_496.0)).to_bits();
    let scale = f64x8::from_bits(biased << 52);
    let value = (poly + s(1.0)) * scale;
    let value = x
        .simd_gt(s(709.782_712_893_384))
        .select(s(f64::INFINITY), value);
    x.simd_lt(s(-708.396_418_532_264_1))
        .select(f64x8::ZERO, value)
}
}

lane_fn! {
/// `ln x`, within about 1 ulp for positive normal `x`: `x = m 2^e` with `m`
/// in [sqrt(1/2), sqrt(2)), `ln m` by the Cephes rational function in
/// `m - 1`, and `e ln 2` added in two parts (fdlibm's `ln 2` split). Zero and
/// subnormals give `-inf`, negatives and `-inf` NaN, `+inf` and NaN
/// themselves.
// The Cephes coefficients are kept digit for digit as published.
#[allow(clippy::excessive_precision)]
pub fn ln(x: f64x8) -> f64x8 {
    let s = f64x8::splat;
    const P: [f64; 6] = [
        7.708_387_337_558_853_916_66e0,
        1.793_686_785_078_198_163_13e1,
        1.449_892_253_416_109_308_46e1,
        4.705_791_198_788_817_258_54e0,
        4.974_949_949_767_470_014_25e-1,
        1.018_756_638_045_809_317_96e-4,
    ];
    const Q: [f64; 5] = [
        2.312_516_201_267_653_405_83e1,
        7.115_447_506_185_638_944_66e1,
        8.298_752_669_127_766_032_11e1,
        4.522_791_458_375_322_211_05e1,
        1.128_735_871_891_674_505_90e1,
    ];
    const SMALLEST_NORMAL: f64 = f64::MIN_POSITIVE;
    let bits = x.to_bits();
    // The mantissa in [1/2, 1) and the exponent of x = 2 m 2^e.
    let fraction = f64x8::from_bits(
        (bits & u64x8::splat(0x000F_FFFF_FFFF_FFFF)) | u64x8::splat(0x3FE0_0000_0000_0000),
    );
    let exponent = f64x8::from_bits((bits >> 52) | s(4_503_599_627_370_496.0).to_bits())
        - s(4_503_599_627_370_496.0 + 1023.0);
    let above = fraction.simd_gt(s(std::f64::consts::FRAC_1_SQRT_2));
    let m = above.select(fraction, fraction + fraction) - s(1.0);
    let e = above.select(exponent + s(1.0), exponent);
    let (m2, m4) = (m * m, m * m * m * m);
    let p = s(P[3]).mul_add(m, s(P[2])).mul_add(
        m2,
        s(P[5])
            .mul_add(m, s(P[4]))
            .mul_add(m4, s(P[1]).mul_add(m, s(P[0]))),
    );
    let q = m2.mul_add(
        m.mul_add(s(Q[3]), s(Q[2])),
        m4.mul_add(s(Q[4]) + m, m.mul_add(s(Q[1]), s(Q[0]))),
    );
    let ratio = m2 * m * p / q;
    let ln2_hi = s(f64::from_bits(0x3FE6_2E42_FEE0_0000));
    let ln2_lo = s(f64::from_bits(0x3DEA_39EF_3579_3C76));
    let value = e.mul_add(ln2_lo, ratio);
    let value = value + m2.mul_neg_add(s(0.5), m);
    let value = e.mul_add(ln2_hi, value);
    let infinite_or_nan = !(x.abs().simd_lt(s(f64::INFINITY)));
    let below_normal = x.simd_lt(s(SMALLEST_NORMAL));
    if !(infinite_or_nan | below_normal).any() {
        return value;
    }
    // Rare: fix the special lanes one by one.
    let mut special = [0.0; 8];
    for (lane, out) in special.iter_mut().enumerate() {
        let v = x.to_array()[lane];
        *out = if v.is_nan() || v == f64::INFINITY {
            v
        } else if v.abs() < SMALLEST_NORMAL {
            f64::NEG_INFINITY
        } else if v < 0.0 {
            f64::NAN
        } else {
            value.to_array()[lane]
        };
    }
    f64x8::new(special)
}
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

/// A polynomial with `coefficients` (lowest order first) at `x`, by Horner.
#[inline(always)]
fn polynomial_x8(coefficients: &[f64; 8], x: f64x8) -> f64x8 {
    coefficients
        .iter()
        .rev()
        .fold(f64x8::ZERO, |acc, &c| acc * x + f64x8::splat(c))
}

lane_fn! {
/// [`crate::rng::qmc::inverse_normal`] (Wichura's AS241) lane by lane: the
/// central rational function everywhere, the tail ones only when a lane
/// needs them, blended by masks.
pub fn inverse_normal_x8(p: f64x8) -> f64x8 {
    use crate::rng::qmc::{AS241_A, AS241_B, AS241_C, AS241_D, AS241_E, AS241_F};
    let s = f64x8::splat;
    let q = p - s(0.5);
    let r = s(0.180_625) - q * q;
    let central = q * polynomial_x8(&AS241_A, r) / polynomial_x8(&AS241_B, r);
    let in_tail = q.abs().simd_gt(s(0.425));
    if !in_tail.any() {
        return central;
    }
    let r = (-(p.fast_min(s(1.0) - p)).ln()).sqrt();
    let mut tail = polynomial_x8(&AS241_C, r - s(1.6)) / polynomial_x8(&AS241_D, r - s(1.6));
    let far = r.simd_gt(s(5.0));
    if far.any() {
        let far_value = polynomial_x8(&AS241_E, r - s(5.0)) / polynomial_x8(&AS241_F, r - s(5.0));
        tail = far.select(far_value, tail);
    }
    let tail = q.simd_lt(f64x8::ZERO).select(-tail, tail);
    in_tail.select(tail, central)
}
}
