//! Eight `f64` lanes in one AVX-512 `__m512d` register (the `avx512` lane
//! set). Every operation is an AVX-512 F/DQ intrinsic, compiled to vector
//! instructions once inlined into the Avx512 target's `#[target_feature]`
//! function. Masks are all-ones lanes, as in the other sets.
//!
//! SAFETY (for every `unsafe` block below): values of this type are made
//! and used only by the kernel instance that the `Avx2` target token runs,
//! and that token exists only where the CPU has AVX2 and FMA.

use std::arch::x86_64::*;
use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, Div, Mul, MulAssign, Neg, Not, Sub,
    SubAssign,
};

use super::u64x8;

/// Eight `f64` lanes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct f64x8(__m512d);

impl std::fmt::Debug for f64x8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_array().fmt(f)
    }
}

impl Default for f64x8 {
    fn default() -> Self {
        Self::ZERO
    }
}

macro_rules! binary {
    ($($trait:ident :: $method:ident, $assign:ident :: $assign_method:ident => $intrinsic:ident);+) => {$(
        impl $trait for f64x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: see the module.
                unsafe { Self($intrinsic(self.0, other.0)) }
            }
        }
        impl $assign for f64x8 {
            #[inline(always)]
            fn $assign_method(&mut self, other: Self) {
                *self = $trait::$method(*self, other);
            }
        }
    )+};
}

binary!(
    Add::add, AddAssign::add_assign => _mm512_add_pd;
    Sub::sub, SubAssign::sub_assign => _mm512_sub_pd;
    Mul::mul, MulAssign::mul_assign => _mm512_mul_pd;
    BitAnd::bitand, BitAndAssign::bitand_assign => _mm512_and_pd;
    BitOr::bitor, BitOrAssign::bitor_assign => _mm512_or_pd
);

impl Div for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_div_pd(self.0, other.0)) }
    }
}

impl Neg for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_xor_pd(self.0, _mm512_set1_pd(-0.0))) }
    }
}

impl Not for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        // SAFETY: see the module.
        unsafe {
            Self(_mm512_xor_pd(
                self.0,
                _mm512_castsi512_pd(_mm512_set1_epi64(-1)),
            ))
        }
    }
}

macro_rules! comparisons {
    ($($name:ident: $predicate:ident),+) => {$(
        /// A lane-by-lane comparison's mask.
        #[inline(always)]
        pub fn $name(self, other: Self) -> Self {
            // SAFETY: see the module.
            unsafe {
                let mask = _mm512_cmp_pd_mask::<$predicate>(self.0, other.0);
                Self(_mm512_castsi512_pd(_mm512_movm_epi64(mask)))
            }
        }
    )+};
}

#[allow(dead_code)]
impl f64x8 {
    /// Zero in every lane.
    pub const ZERO: Self = Self::splat_const(0.0);
    /// One in every lane.
    pub const ONE: Self = Self::splat_const(1.0);

    const fn splat_const(value: f64) -> Self {
        // SAFETY: [f64; 8] and __m512d have the same size and any bits
        // are valid for both.
        unsafe { std::mem::transmute::<[f64; 8], Self>([value; 8]) }
    }

    /// The lanes `lanes`.
    #[inline(always)]
    pub fn new(lanes: [f64; 8]) -> Self {
        // SAFETY: as in `splat_const`.
        unsafe { std::mem::transmute::<[f64; 8], Self>(lanes) }
    }

    /// `value` in every lane.
    #[inline(always)]
    pub fn splat(value: f64) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_set1_pd(value)) }
    }

    /// The lanes as an array.
    #[inline(always)]
    pub fn to_array(self) -> [f64; 8] {
        // SAFETY: as in `splat_const`.
        unsafe { std::mem::transmute::<Self, [f64; 8]>(self) }
    }

    /// The lanes, borrowed.
    #[inline(always)]
    pub fn as_array(&self) -> &[f64; 8] {
        // SAFETY: `Self` is `repr(C)` over 64 bytes of doubles, aligned
        // more strictly than `[f64; 8]` needs.
        unsafe { &*(self as *const Self as *const [f64; 8]) }
    }

    /// The lanes' bit patterns.
    #[inline(always)]
    pub fn to_bits(self) -> u64x8 {
        // SAFETY: as in `splat_const`.
        u64x8::new(unsafe { std::mem::transmute::<Self, [u64; 8]>(self) })
    }

    /// The doubles with bit patterns `bits`.
    #[inline(always)]
    pub fn from_bits(bits: u64x8) -> Self {
        // SAFETY: as in `splat_const`.
        unsafe { std::mem::transmute::<[u64; 8], Self>(bits.to_array()) }
    }

    comparisons!(
        simd_eq: _CMP_EQ_OQ, simd_ne: _CMP_NEQ_UQ, simd_lt: _CMP_LT_OQ,
        simd_le: _CMP_LE_OQ, simd_gt: _CMP_GT_OQ, simd_ge: _CMP_GE_OQ
    );

    /// Where the mask `self` is set, `if_set`, else `if_clear`.
    #[inline(always)]
    pub fn select(self, if_set: Self, if_clear: Self) -> Self {
        // SAFETY: see the module.
        unsafe {
            Self(_mm512_mask_blend_pd(
                _mm512_movepi64_mask(_mm512_castpd_si512(self.0)),
                if_clear.0,
                if_set.0,
            ))
        }
    }

    /// Whether any lane of the mask is set.
    #[inline(always)]
    pub fn any(self) -> bool {
        // SAFETY: see the module.
        unsafe { _mm512_movepi64_mask(_mm512_castpd_si512(self.0)) != 0 }
    }

    /// Whether every lane of the mask is set.
    #[inline(always)]
    pub fn all(self) -> bool {
        // SAFETY: see the module.
        unsafe { _mm512_movepi64_mask(_mm512_castpd_si512(self.0)) == 0xFF }
    }

    /// `|x|`.
    #[inline(always)]
    pub fn abs(self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_abs_pd(self.0)) }
    }

    /// `sqrt(x)`, correctly rounded.
    #[inline(always)]
    pub fn sqrt(self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_sqrt_pd(self.0)) }
    }

    /// `x > other ? x : other` (`maxpd`).
    #[inline(always)]
    pub fn fast_max(self, other: Self) -> Self {
        // SAFETY: see the module. `vmaxpd(a, b)` is `a > b ? a : b`.
        unsafe { Self(_mm512_max_pd(self.0, other.0)) }
    }

    /// `x < other ? x : other` (`minpd`).
    #[inline(always)]
    pub fn fast_min(self, other: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_min_pd(self.0, other.0)) }
    }

    /// The nearest integer, ties to even.
    #[inline(always)]
    pub fn round_ties_even(self) -> Self {
        const MODE: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        // SAFETY: see the module.
        unsafe { Self(_mm512_roundscale_pd::<MODE>(self.0)) }
    }

    /// `self * factor + offset`, rounded once.
    #[inline(always)]
    pub fn mul_add(self, factor: Self, offset: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_fmadd_pd(self.0, factor.0, offset.0)) }
    }

    /// `offset - self * factor`, rounded once.
    #[inline(always)]
    pub fn mul_neg_add(self, factor: Self, offset: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(_mm512_fnmadd_pd(self.0, factor.0, offset.0)) }
    }

    /// The sum of the lanes, in the fixed order of the other lane sets.
    #[inline(always)]
    pub fn reduce_add(self) -> f64 {
        let [a, b, c, d, e, f, g, h] = self.to_array();
        ((a + b) + (c + d)) + ((e + f) + (g + h))
    }

    /// `e^x` ([`super::exp`]).
    #[inline(always)]
    pub fn exp(self) -> Self {
        super::exp(self)
    }

    /// `ln x` ([`super::ln`]).
    #[inline(always)]
    pub fn ln(self) -> Self {
        super::ln(self)
    }
}
