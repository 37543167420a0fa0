//! Eight `f64` lanes, compiled once per lane set ([`super::FUSED`]).
//!
//! A plain array whose operations are lane-by-lane loops, written so that
//! LLVM turns each into one instruction on AVX-512 (one `zmm` register), two
//! on AVX2 or four on SSE2 and NEON: the instruction set is the calling
//! kernel's ([`crate::hardware::Isa`]), chosen at run time, not this type's.
//! Masks are `f64x8`s whose lanes are all ones or all zeros, as comparisons
//! return them.

use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, Div, Mul, MulAssign, Neg, Not, Sub,
    SubAssign,
};

use super::FUSED;
use super::u64x8;
use crate::simd::lanes8;

/// Eight `f64` lanes.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[repr(C, align(64))]
pub struct f64x8([f64; 8]);

/// Lane-by-lane arithmetic operators and their assigning forms.
macro_rules! arithmetic {
    ($($trait:ident :: $method:ident, $assign:ident :: $assign_method:ident);+) => {$(
        impl $trait for f64x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                Self(lanes8!(|i| $trait::$method(self.0[i], other.0[i])))
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

arithmetic!(
    Add::add, AddAssign::add_assign;
    Sub::sub, SubAssign::sub_assign;
    Mul::mul, MulAssign::mul_assign
);

impl Div for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn div(self, other: Self) -> Self {
        Self(lanes8!(|i| self.0[i] / other.0[i]))
    }
}

impl Neg for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Self(lanes8!(|i| -self.0[i]))
    }
}

/// Bitwise operators, for masks.
macro_rules! bitwise {
    ($($trait:ident :: $method:ident, $assign:ident :: $assign_method:ident);+) => {$(
        impl $trait for f64x8 {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                Self::from_bits($trait::$method(self.to_bits(), other.to_bits()))
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

bitwise!(
    BitAnd::bitand, BitAndAssign::bitand_assign;
    BitOr::bitor, BitOrAssign::bitor_assign
);

impl Not for f64x8 {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        Self::from_bits(!self.to_bits())
    }
}

/// Lane-by-lane comparisons returning masks.
macro_rules! comparisons {
    ($($name:ident: $op:tt),+) => {$(
        #[doc = concat!("All ones where `self ", stringify!($op), " other`, lane by lane.")]
        #[inline(always)]
        pub fn $name(self, other: Self) -> Self {
            Self(lanes8!(|i| {
                f64::from_bits(if self.0[i] $op other.0[i] { u64::MAX } else { 0 })
            }))
        }
    )+};
}

impl f64x8 {
    /// Zero in every lane.
    pub const ZERO: Self = Self([0.0; 8]);
    /// One in every lane.
    pub const ONE: Self = Self([1.0; 8]);

    /// The lanes `lanes`.
    #[inline(always)]
    pub const fn new(lanes: [f64; 8]) -> Self {
        Self(lanes)
    }

    /// `value` in every lane.
    #[inline(always)]
    pub const fn splat(value: f64) -> Self {
        Self([value; 8])
    }

    /// The lanes as an array.
    #[inline(always)]
    pub const fn to_array(self) -> [f64; 8] {
        self.0
    }

    /// The lanes, borrowed.
    #[inline(always)]
    pub const fn as_array(&self) -> &[f64; 8] {
        &self.0
    }

    /// The lanes' bit patterns.
    #[inline(always)]
    pub fn to_bits(self) -> u64x8 {
        u64x8::new(lanes8!(|i| self.0[i].to_bits()))
    }

    /// The doubles with bit patterns `bits`.
    #[inline(always)]
    pub fn from_bits(bits: u64x8) -> Self {
        let bits = bits.to_array();
        Self(lanes8!(|i| f64::from_bits(bits[i])))
    }

    comparisons!(simd_eq: ==, simd_ne: !=, simd_lt: <, simd_le: <=, simd_gt: >, simd_ge: >=);

    /// Where the mask `self` is set, `if_set`, else `if_clear`, lane by lane.
    #[inline(always)]
    pub fn select(self, if_set: Self, if_clear: Self) -> Self {
        (self & if_set) | (!self & if_clear)
    }

    /// Whether any lane of the mask `self` is set.
    #[inline(always)]
    pub fn any(self) -> bool {
        let [a, b, c, d, e, f, g, h] = self.to_bits().to_array();
        ((a | b) | (c | d)) | ((e | f) | (g | h)) != 0
    }

    /// Whether every lane of the mask `self` is set.
    #[inline(always)]
    pub fn all(self) -> bool {
        let [a, b, c, d, e, f, g, h] = self.to_bits().to_array();
        ((a & b) & (c & d)) & ((e & f) & (g & h)) == u64::MAX
    }

    /// `|x|` lane by lane.
    #[inline(always)]
    pub fn abs(self) -> Self {
        Self(lanes8!(|i| f64::abs(self.0[i])))
    }

    /// `sqrt(x)` lane by lane, correctly rounded.
    #[inline(always)]
    pub fn sqrt(self) -> Self {
        Self(lanes8!(|i| f64::sqrt(self.0[i])))
    }

    /// `x > other ? x : other` lane by lane: one `maxpd` (the second operand
    /// where either is NaN).
    #[inline(always)]
    pub fn fast_max(self, other: Self) -> Self {
        Self(lanes8!(|i| {
            if self.0[i] > other.0[i] {
                self.0[i]
            } else {
                other.0[i]
            }
        }))
    }

    /// `x < other ? x : other` lane by lane: one `minpd`.
    #[inline(always)]
    pub fn fast_min(self, other: Self) -> Self {
        Self(lanes8!(|i| {
            if self.0[i] < other.0[i] {
                self.0[i]
            } else {
                other.0[i]
            }
        }))
    }

    /// The nearest integer, ties to even, lane by lane. The fused lane sets'
    /// instruction sets (AVX2, AVX-512, NEON) round in one instruction;
    /// elsewhere adding and removing 2^52 rounds `|x| < 2^52` exactly in the
    /// default rounding mode (larger doubles are integers already).
    #[inline(always)]
    pub fn round_ties_even(self) -> Self {
        if FUSED {
            Self(lanes8!(|i| f64::round_ties_even(self.0[i])))
        } else {
            const TWO_52: f64 = 4_503_599_627_370_496.0;
            Self(lanes8!(|i| {
                let (x, magnitude) = (self.0[i], self.0[i].abs());
                if magnitude < TWO_52 {
                    ((magnitude + TWO_52) - TWO_52).copysign(x)
                } else {
                    x
                }
            }))
        }
    }

    /// `self * factor + offset` lane by lane: rounded once in the fused lane
    /// sets, twice (multiply, then add) in the others, whose instruction sets
    /// have no fused multiply-add.
    #[inline(always)]
    pub fn mul_add(self, factor: Self, offset: Self) -> Self {
        Self(lanes8!(|i| {
            if FUSED {
                self.0[i].mul_add(factor.0[i], offset.0[i])
            } else {
                self.0[i] * factor.0[i] + offset.0[i]
            }
        }))
    }

    /// `offset - self * factor` lane by lane, rounded as [`Self::mul_add`].
    #[inline(always)]
    pub fn mul_neg_add(self, factor: Self, offset: Self) -> Self {
        (-self).mul_add(factor, offset)
    }

    /// The sum of the lanes, in a fixed order (pairs, then pairs of pairs).
    #[inline(always)]
    pub fn reduce_add(self) -> f64 {
        let [a, b, c, d, e, f, g, h] = self.0;
        ((a + b) + (c + d)) + ((e + f) + (g + h))
    }

    /// `e^x` lane by lane ([`super::exp`]).
    #[inline(always)]
    pub fn exp(self) -> Self {
        super::exp(self)
    }

    /// `ln x` lane by lane ([`super::ln`]).
    #[inline(always)]
    pub fn ln(self) -> Self {
        super::ln(self)
    }
}
