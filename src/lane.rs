//! The number type a product is written in: `f64` for the scalar oracle, eight
//! `f64` lanes for the SIMD kernels. A product written against [`Lane`] is one
//! definition that both compile to, each with its own `exp` (libm's for the
//! oracle, [`crate::simd::exp`] for the lanes).

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

use wide::f64x8;

/// Arithmetic a product's path step and payoff may use.
pub trait Lane:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    /// `value` in every lane.
    fn splat(value: f64) -> Self;
    /// `e^x` lane by lane.
    fn exp(self) -> Self;
    /// `max(x, 0)` lane by lane.
    fn positive_part(self) -> Self;
    /// `1` where `x > 0`, else `0`, lane by lane.
    fn indicator(self) -> Self;
}

impl Lane for f64 {
    #[inline(always)]
    fn splat(value: f64) -> Self {
        value
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn positive_part(self) -> Self {
        self.max(0.0)
    }
    #[inline(always)]
    fn indicator(self) -> Self {
        if self > 0.0 { 1.0 } else { 0.0 }
    }
}

impl Lane for f64x8 {
    #[inline(always)]
    fn splat(value: f64) -> Self {
        f64x8::splat(value)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        crate::simd::exp(self)
    }
    #[inline(always)]
    fn positive_part(self) -> Self {
        self.fast_max(f64x8::ZERO)
    }
    #[inline(always)]
    fn indicator(self) -> Self {
        self.simd_gt(f64x8::ZERO) & f64x8::ONE
    }
}
