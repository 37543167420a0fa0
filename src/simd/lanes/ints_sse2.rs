//! Eight `u32` lanes in two SSE2 `__m128i` and eight `u64` lanes in four
//! (the `sse2` lane set's integer lanes).
//!
//! SAFETY (for every `unsafe` block below): SSE2 is part of the x86-64
//! baseline, so every x86-64 CPU runs these intrinsics.

use std::arch::x86_64::*;
use std::ops::{BitAnd, BitOr, BitXor, Not, Shl, Shr};

/// Eight `u32` lanes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct u32x8([__m128i; 2]);

/// Eight `u64` lanes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct u64x8([__m128i; 4]);

impl std::fmt::Debug for u32x8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_array().fmt(f)
    }
}

impl std::fmt::Debug for u64x8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_array().fmt(f)
    }
}

macro_rules! bitwise {
    ($($trait:ident :: $method:ident => $intrinsic:ident);+) => {$(
        impl $trait for u32x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: see the module.
                unsafe {
                    Self([$intrinsic(self.0[0], other.0[0]), $intrinsic(self.0[1], other.0[1])])
                }
            }
        }
        impl $trait for u64x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: see the module.
                unsafe {
                    Self([
                        $intrinsic(self.0[0], other.0[0]),
                        $intrinsic(self.0[1], other.0[1]),
                        $intrinsic(self.0[2], other.0[2]),
                        $intrinsic(self.0[3], other.0[3]),
                    ])
                }
            }
        }
    )+};
}

bitwise!(
    BitXor::bitxor => _mm_xor_si128;
    BitAnd::bitand => _mm_and_si128;
    BitOr::bitor => _mm_or_si128
);

/// The 64-bit products of the even 32-bit lanes of `a` and `b`, and of the
/// odd ones, split into (low words, high words) in lane order.
#[inline(always)]
fn mul_low_high(a: __m128i, b: __m128i) -> (__m128i, __m128i) {
    // SAFETY: see the module.
    unsafe {
        let even = _mm_mul_epu32(a, b);
        let odd = _mm_mul_epu32(_mm_srli_epi64::<32>(a), _mm_srli_epi64::<32>(b));
        let low_word = _mm_set1_epi64x(0xFFFF_FFFF);
        (
            _mm_or_si128(_mm_and_si128(even, low_word), _mm_slli_epi64::<32>(odd)),
            _mm_or_si128(_mm_srli_epi64::<32>(even), _mm_andnot_si128(low_word, odd)),
        )
    }
}

impl u32x8 {
    /// The lanes `lanes`.
    #[inline(always)]
    pub fn new(lanes: [u32; 8]) -> Self {
        // SAFETY: 32 bytes either way; any bits are valid for both.
        unsafe { std::mem::transmute::<[u32; 8], Self>(lanes) }
    }

    /// `value` in every lane.
    #[inline(always)]
    pub fn splat(value: u32) -> Self {
        // SAFETY: see the module.
        unsafe { Self([_mm_set1_epi32(value as i32); 2]) }
    }

    /// The lanes as an array.
    #[inline(always)]
    pub fn to_array(self) -> [u32; 8] {
        // SAFETY: as in `new`.
        unsafe { std::mem::transmute::<Self, [u32; 8]>(self) }
    }

    /// The full 64-bit products, lane by lane, as (low words, high words).
    #[inline(always)]
    pub fn mul_keep_low_high(self, other: Self) -> (Self, Self) {
        let (low_a, high_a) = mul_low_high(self.0[0], other.0[0]);
        let (low_b, high_b) = mul_low_high(self.0[1], other.0[1]);
        (Self([low_a, low_b]), Self([high_a, high_b]))
    }

    /// As the portable set's `pair_words`: 64-bit lanes `hi:lo` of word
    /// lanes `2i` (first four) and `2i + 1` (last four).
    #[inline(always)]
    pub fn pair_words(lo: Self, hi: Self) -> u64x8 {
        // SAFETY: see the module.
        unsafe {
            let low_word = _mm_set1_epi64x(0xFFFF_FFFF);
            let ([lo0, lo1], [hi0, hi1]) = (lo.0, hi.0);
            u64x8([
                _mm_or_si128(_mm_slli_epi64::<32>(hi0), _mm_and_si128(lo0, low_word)),
                _mm_or_si128(_mm_slli_epi64::<32>(hi1), _mm_and_si128(lo1, low_word)),
                _mm_or_si128(_mm_andnot_si128(low_word, hi0), _mm_srli_epi64::<32>(lo0)),
                _mm_or_si128(_mm_andnot_si128(low_word, hi1), _mm_srli_epi64::<32>(lo1)),
            ])
        }
    }
}

#[allow(dead_code)]
impl u64x8 {
    /// The lanes `lanes`.
    #[inline(always)]
    pub fn new(lanes: [u64; 8]) -> Self {
        // SAFETY: 64 bytes either way; any bits are valid for both.
        unsafe { std::mem::transmute::<[u64; 8], Self>(lanes) }
    }

    /// `value` in every lane.
    #[inline(always)]
    pub fn splat(value: u64) -> Self {
        // SAFETY: see the module.
        unsafe { Self([_mm_set1_epi64x(value as i64); 4]) }
    }

    /// The lanes as an array.
    #[inline(always)]
    pub fn to_array(self) -> [u64; 8] {
        // SAFETY: as in `new`.
        unsafe { std::mem::transmute::<Self, [u64; 8]>(self) }
    }
}

impl Not for u64x8 {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        self ^ Self::splat(u64::MAX)
    }
}

impl Shl<u32> for u64x8 {
    type Output = Self;
    #[inline(always)]
    fn shl(self, bits: u32) -> Self {
        // SAFETY: see the module.
        unsafe {
            let count = _mm_cvtsi32_si128(bits as i32);
            let [a, b, c, d] = self.0;
            Self([
                _mm_sll_epi64(a, count),
                _mm_sll_epi64(b, count),
                _mm_sll_epi64(c, count),
                _mm_sll_epi64(d, count),
            ])
        }
    }
}

impl Shr<u32> for u64x8 {
    type Output = Self;
    #[inline(always)]
    fn shr(self, bits: u32) -> Self {
        // SAFETY: see the module.
        unsafe {
            let count = _mm_cvtsi32_si128(bits as i32);
            let [a, b, c, d] = self.0;
            Self([
                _mm_srl_epi64(a, count),
                _mm_srl_epi64(b, count),
                _mm_srl_epi64(c, count),
                _mm_srl_epi64(d, count),
            ])
        }
    }
}
