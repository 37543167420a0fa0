//! Eight `u32` lanes in one `__m256i` and eight `u64` lanes in two, driven
//! by AVX2 intrinsics (the `avx2` lane set's integer lanes).
//!
//! SAFETY (for every `unsafe` block below): as for the set's `f64x8`, these
//! values are made and used only by the kernel instance that the `Avx2`
//! target token runs, and that token exists only where the CPU has AVX2.

use std::arch::x86_64::*;
use std::ops::{BitAnd, BitOr, BitXor, Not, Shl, Shr};

/// Eight `u32` lanes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct u32x8(__m256i);

/// Eight `u64` lanes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub struct u64x8(pub(crate) [__m256i; 2]);

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
                unsafe { Self($intrinsic(self.0, other.0)) }
            }
        }
        impl $trait for u64x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: see the module.
                unsafe { Self([$intrinsic(self.0[0], other.0[0]), $intrinsic(self.0[1], other.0[1])]) }
            }
        }
    )+};
}

bitwise!(
    BitXor::bitxor => _mm256_xor_si256;
    BitAnd::bitand => _mm256_and_si256;
    BitOr::bitor => _mm256_or_si256
);

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
        unsafe { Self(_mm256_set1_epi32(value as i32)) }
    }

    /// The lanes as an array.
    #[inline(always)]
    pub fn to_array(self) -> [u32; 8] {
        // SAFETY: as in `new`.
        unsafe { std::mem::transmute::<Self, [u32; 8]>(self) }
    }

    /// The full 64-bit products, lane by lane, as (low words, high words):
    /// two `vpmuludq` (even and odd lanes) and four blends and shifts.
    #[inline(always)]
    pub fn mul_keep_low_high(self, other: Self) -> (Self, Self) {
        // SAFETY: see the module.
        unsafe {
            let even = _mm256_mul_epu32(self.0, other.0);
            let odd = _mm256_mul_epu32(
                _mm256_srli_epi64::<32>(self.0),
                _mm256_srli_epi64::<32>(other.0),
            );
            (
                Self(_mm256_blend_epi32::<0b1010_1010>(
                    even,
                    _mm256_slli_epi64::<32>(odd),
                )),
                Self(_mm256_blend_epi32::<0b1010_1010>(
                    _mm256_srli_epi64::<32>(even),
                    odd,
                )),
            )
        }
    }

    /// As the portable set's `pair_words`: 64-bit lanes `hi:lo` of word
    /// lanes `2i` (first four) and `2i + 1` (last four).
    #[inline(always)]
    pub fn pair_words(lo: Self, hi: Self) -> u64x8 {
        // SAFETY: see the module.
        unsafe {
            let low_word = _mm256_set1_epi64x(0xFFFF_FFFF);
            let even = _mm256_or_si256(
                _mm256_slli_epi64::<32>(hi.0),
                _mm256_and_si256(lo.0, low_word),
            );
            let odd = _mm256_or_si256(
                _mm256_andnot_si256(low_word, hi.0),
                _mm256_srli_epi64::<32>(lo.0),
            );
            u64x8([even, odd])
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
        unsafe {
            let v = _mm256_set1_epi64x(value as i64);
            Self([v, v])
        }
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
            Self([
                _mm256_sll_epi64(self.0[0], count),
                _mm256_sll_epi64(self.0[1], count),
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
            Self([
                _mm256_srl_epi64(self.0[0], count),
                _mm256_srl_epi64(self.0[1], count),
            ])
        }
    }
}
