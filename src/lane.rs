//! The number type a product is written in: `f64` for the scalar oracle, eight
//! `f64` lanes for the SIMD kernels (both lane sets, [`crate::simd::fused`] and
//! [`crate::simd::unfused`]). A product written against [`Lane`] is one
//! definition that all compile to, each with its own `exp` (libm's for the
//! oracle, [`crate::simd::exp`] for the lanes).

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

use crate::simd::{array_from_fn, array_map};

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
    /// `self * factor + offset` lane by lane, rounded once where the CPU
    /// fuses multiply and add.
    fn mul_add(self, factor: Self, offset: Self) -> Self;
    /// `self` where `condition > 0`, else `0`, lane by lane.
    fn where_positive(self, condition: Self) -> Self;
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
    #[inline(always)]
    fn mul_add(self, factor: Self, offset: Self) -> Self {
        f64::mul_add(self, factor, offset)
    }
    #[inline(always)]
    fn where_positive(self, condition: Self) -> Self {
        if condition > 0.0 { self } else { 0.0 }
    }
}

/// [`Lane`] for a lane set's `f64x8`.
macro_rules! vector_lane {
    ($($lanes:ident),+) => {$(
        impl Lane for crate::simd::$lanes::f64x8 {
            #[inline(always)]
            fn splat(value: f64) -> Self {
                Self::splat(value)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                crate::simd::$lanes::exp(self)
            }
            #[inline(always)]
            fn positive_part(self) -> Self {
                self.fast_max(Self::ZERO)
            }
            #[inline(always)]
            fn indicator(self) -> Self {
                self.simd_gt(Self::ZERO) & Self::ONE
            }
            #[inline(always)]
            fn mul_add(self, factor: Self, offset: Self) -> Self {
                Self::mul_add(self, factor, offset)
            }
            #[inline(always)]
            fn where_positive(self, condition: Self) -> Self {
                condition.simd_gt(Self::ZERO) & self
            }
        }
    )+};
}

vector_lane!(fused, unfused);
#[cfg(target_arch = "x86_64")]
vector_lane!(avx2, avx512, sse2);

/// Parameters a [`Dual`] number carries derivatives for, in this order:
/// spot, volatility, rate, maturity.
pub const TANGENTS: usize = 4;

/// A forward-mode dual number: a value and its derivatives with respect to
/// the spot, the volatility, the rate and the maturity (the first `N` of
/// them: `Dual<L, 1>` carries the spot's alone). Running a product's
/// path and payoff in `Dual<L>` gives the pathwise derivatives of the payoff
/// (the Greeks' pathwise estimators) from the same definition that prices it.
/// `positive_part` passes derivatives through where `x > 0`; `indicator`
/// has none (zero almost everywhere), which is why payoffs with jumps take
/// likelihood-ratio estimators instead.
#[derive(Debug, Clone, Copy)]
pub struct Dual<L, const N: usize = TANGENTS> {
    /// The value.
    pub value: L,
    /// Its derivatives.
    pub tangent: [L; N],
}

impl<L: Lane, const N: usize> Dual<L, N> {
    /// `value` with the given derivatives.
    #[inline(always)]
    pub fn new(value: f64, tangent: [f64; N]) -> Self {
        Self {
            value: L::splat(value),
            tangent: array_map(tangent, L::splat),
        }
    }

    #[inline(always)]
    fn scaled(self, factor: L) -> [L; N] {
        array_map(self.tangent, |t| t * factor)
    }

    /// `self * factor + offset` for a `factor` with no derivatives (a
    /// draw), fused: a third of the work of a dual multiply by a constant
    /// with zero tangents (whose `value * 0` terms the compiler may not drop)
    /// and an add.
    #[inline(always)]
    pub fn times_plus(self, factor: L, offset: Self) -> Self {
        Self {
            value: self.value.mul_add(factor, offset.value),
            tangent: array_from_fn(|i| self.tangent[i].mul_add(factor, offset.tangent[i])),
        }
    }
}

impl<L: Lane, const N: usize> Add for Dual<L, N> {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Self {
            value: self.value + rhs.value,
            tangent: array_from_fn(|i| self.tangent[i] + rhs.tangent[i]),
        }
    }
}

impl<L: Lane, const N: usize> Sub for Dual<L, N> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Self {
            value: self.value - rhs.value,
            tangent: array_from_fn(|i| self.tangent[i] - rhs.tangent[i]),
        }
    }
}

impl<L: Lane, const N: usize> Mul for Dual<L, N> {
    type Output = Self;
    #[inline(always)]
    #[allow(clippy::suspicious_arithmetic_impl)] // the product rule
    fn mul(self, rhs: Self) -> Self {
        Self {
            value: self.value * rhs.value,
            tangent: array_from_fn(|i| self.tangent[i] * rhs.value + self.value * rhs.tangent[i]),
        }
    }
}

impl<L: Lane, const N: usize> Div for Dual<L, N> {
    type Output = Self;
    #[inline(always)]
    #[allow(clippy::suspicious_arithmetic_impl)] // the quotient rule
    fn div(self, rhs: Self) -> Self {
        let value = self.value / rhs.value;
        Self {
            value,
            tangent: array_from_fn(|i| (self.tangent[i] - value * rhs.tangent[i]) / rhs.value),
        }
    }
}

impl<L: Lane, const N: usize> Neg for Dual<L, N> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Self {
            value: -self.value,
            tangent: array_map(self.tangent, |t| -t),
        }
    }
}

impl<L: Lane, const N: usize> AddAssign for Dual<L, N> {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl<L: Lane, const N: usize> Lane for Dual<L, N> {
    #[inline(always)]
    fn splat(value: f64) -> Self {
        Self::new(value, [0.0; N])
    }
    #[inline(always)]
    fn exp(self) -> Self {
        let value = self.value.exp();
        Self {
            value,
            tangent: self.scaled(value),
        }
    }
    #[inline(always)]
    fn positive_part(self) -> Self {
        Self {
            value: self.value.positive_part(),
            tangent: array_map(self.tangent, |t| t.where_positive(self.value)),
        }
    }
    #[inline(always)]
    fn indicator(self) -> Self {
        Self {
            value: self.value.indicator(),
            tangent: [L::splat(0.0); N],
        }
    }
    #[inline(always)]
    fn where_positive(self, condition: Self) -> Self {
        Self {
            value: self.value.where_positive(condition.value),
            tangent: array_map(self.tangent, |t| t.where_positive(condition.value)),
        }
    }
    /// The product rule, fused.
    #[inline(always)]
    fn mul_add(self, factor: Self, offset: Self) -> Self {
        Self {
            value: self.value.mul_add(factor.value, offset.value),
            tangent: array_from_fn(|i| {
                self.tangent[i].mul_add(
                    factor.value,
                    self.value.mul_add(factor.tangent[i], offset.tangent[i]),
                )
            }),
        }
    }
}
