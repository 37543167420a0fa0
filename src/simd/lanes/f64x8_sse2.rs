//! Eight `f64` lanes in four SSE2 `__m128d` registers (the `sse2` lane set,
//! x86-64's baseline). SSE2 has no fused multiply-add, blend or rounding
//! instruction: `mul_add` is a multiply then an add, `select` is and/andnot/or,
//! and rounding adds and removes 2^52, as in the portable unfused set.
//!
//! SAFETY (for every `unsafe` block below): SSE2 is part of the x86-64
//! baseline, so every x86-64 CPU runs these intrinsics.

use std::arch::x86_64::*;
use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, Div, Mul, MulAssign, Neg, Not, Sub,
    SubAssign,
};

use super::u64x8;

/// Eight `f64` lanes.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy)]
#[repr(C, align(16))]
pub struct f64x8([__m128d; 4]);

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

/// Applies a two-operand intrinsic to each of the four registers.
macro_rules! each2 {
    ($intrinsic:ident, $a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        [
            $intrinsic(a[0], b[0]),
            $intrinsic(a[1], b[1]),
            $intrinsic(a[2], b[2]),
            $intrinsic(a[3], b[3]),
        ]
    }};
}

macro_rules! binary {
    ($($trait:ident :: $method:ident, $assign:ident :: $assign_method:ident => $intrinsic:ident);+) => {$(
        impl $trait for f64x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                // SAFETY: see the module.
                unsafe { Self(each2!($intrinsic, self.0, other.0)) }
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
    Add::add, AddAssign::add_assign => _mm_add_pd;
    Sub::sub, SubAssign::sub_assign => _mm_sub_pd;
    Mul::mul, MulAssign::mul_assign => _mm_mul_pd;
    BitAnd::bitand, BitAndAssign::bitand_assign => _mm_and_pd;
    BitOr::bitor, BitOrAssign::bitor_assign => _mm_or_pd
);

impl Div for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(each2!(_mm_div_pd, self.0, other.0)) }
    }
}

impl Neg for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(each2!(_mm_xor_pd, self.0, [_mm_set1_pd(-0.0); 4])) }
    }
}

impl Not for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        // SAFETY: see the module.
        unsafe {
            let ones = _mm_castsi128_pd(_mm_set1_epi64x(-1));
            Self(each2!(_mm_xor_pd, self.0, [ones; 4]))
        }
    }
}

macro_rules! comparisons {
    ($($name:ident: $intrinsic:ident),+) => {$(
        /// A lane-by-lane comparison's mask.
        #[inline(always)]
        pub fn $name(self, other: Self) -> Self {
            // SAFETY: see the module.
            unsafe { Self(each2!($intrinsic, self.0, other.0)) }
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
        // SAFETY: [f64; 8] and [__m128d; 4] have the same size and any bits
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
        unsafe { Self([_mm_set1_pd(value); 4]) }
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
        u64x8::new(
            // SAFETY: as in `splat_const`.
            unsafe { std::mem::transmute::<Self, [u64; 8]>(self) },
        )
    }

    /// The doubles with bit patterns `bits`.
    #[inline(always)]
    pub fn from_bits(bits: u64x8) -> Self {
        // SAFETY: as in `splat_const`.
        unsafe { std::mem::transmute::<[u64; 8], Self>(bits.to_array()) }
    }

    comparisons!(
        simd_eq: _mm_cmpeq_pd, simd_ne: _mm_cmpneq_pd, simd_lt: _mm_cmplt_pd,
        simd_le: _mm_cmple_pd, simd_gt: _mm_cmpgt_pd, simd_ge: _mm_cmpge_pd
    );

    /// Where the mask `self` is set, `if_set`, else `if_clear`.
    #[inline(always)]
    pub fn select(self, if_set: Self, if_clear: Self) -> Self {
        // SAFETY: see the module.
        unsafe {
            Self(each2!(
                _mm_or_pd,
                each2!(_mm_and_pd, self.0, if_set.0),
                each2!(_mm_andnot_pd, self.0, if_clear.0)
            ))
        }
    }

    /// Whether any lane of the mask is set.
    #[inline(always)]
    pub fn any(self) -> bool {
        // SAFETY: see the module.
        unsafe {
            let [a, b, c, d] = self.0;
            (_mm_movemask_pd(_mm_or_pd(_mm_or_pd(a, b), _mm_or_pd(c, d)))) != 0
        }
    }

    /// Whether every lane of the mask is set.
    #[inline(always)]
    pub fn all(self) -> bool {
        // SAFETY: see the module.
        unsafe {
            let [a, b, c, d] = self.0;
            (_mm_movemask_pd(_mm_and_pd(_mm_and_pd(a, b), _mm_and_pd(c, d)))) == 0b11
        }
    }

    /// `|x|`.
    #[inline(always)]
    pub fn abs(self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(each2!(_mm_andnot_pd, [_mm_set1_pd(-0.0); 4], self.0)) }
    }

    /// `sqrt(x)`, correctly rounded.
    #[inline(always)]
    pub fn sqrt(self) -> Self {
        // SAFETY: see the module.
        unsafe {
            let [a, b, c, d] = self.0;
            Self([
                _mm_sqrt_pd(a),
                _mm_sqrt_pd(b),
                _mm_sqrt_pd(c),
                _mm_sqrt_pd(d),
            ])
        }
    }

    /// `x > other ? x : other` (`maxpd`).
    #[inline(always)]
    pub fn fast_max(self, other: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(each2!(_mm_max_pd, self.0, other.0)) }
    }

    /// `x < other ? x : other` (`minpd`).
    #[inline(always)]
    pub fn fast_min(self, other: Self) -> Self {
        // SAFETY: see the module.
        unsafe { Self(each2!(_mm_min_pd, self.0, other.0)) }
    }

    /// The nearest integer, ties to even: adding and removing 2^52 rounds
    /// `|x| < 2^52` exactly; larger doubles are integers already.
    #[inline(always)]
    pub fn round_ties_even(self) -> Self {
        let two_52 = Self::splat(4_503_599_627_370_496.0);
        let magnitude = self.abs();
        let rounded = (magnitude + two_52) - two_52;
        let sign = self & Self::splat(-0.0);
        magnitude.simd_lt(two_52).select(rounded | sign, self)
    }

    /// `self * factor + offset`: a multiply, then an add.
    #[inline(always)]
    pub fn mul_add(self, factor: Self, offset: Self) -> Self {
        self * factor + offset
    }

    /// `offset - self * factor`: a multiply, then a subtraction.
    #[inline(always)]
    pub fn mul_neg_add(self, factor: Self, offset: Self) -> Self {
        offset - self * factor
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
