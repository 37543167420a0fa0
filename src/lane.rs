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

/// Arithmetic beyond [`Lane`]'s: the options book's revaluation
/// ([`crate::revaluation`]) and the models' steps ([`crate::models`]).
pub trait LaneMath: Lane {
    /// Natural log, lane by lane.
    fn ln(self) -> Self;
    /// The larger of the two, lane by lane.
    fn max(self, other: Self) -> Self;
    /// The standard normal distribution function, lane by lane
    /// ([`normal_cdf`]).
    fn normal_cdf(self) -> Self;
    /// The square root, lane by lane.
    fn sqrt(self) -> Self;
    /// `ln(1 + x)`, accurate for small `x`, lane by lane.
    fn ln_1p(self) -> Self;
    /// The smaller of the two, lane by lane.
    fn min(self, other: Self) -> Self;
    /// `if_positive` where `self > 0`, else `otherwise`, lane by lane.
    fn choose(self, if_positive: Self, otherwise: Self) -> Self;
    /// Whether `self > 0` in any lane.
    fn any_positive(self) -> bool;
    /// Whether `self > 0` in every lane.
    fn all_positive(self) -> bool;
}

/// Hart's double-precision rational approximation (as published by West,
/// "Better approximations to cumulative normal functions", 2005): numerator.
pub const HART_P: [f64; 7] = [
    220.206_867_912_376,
    221.213_596_169_931,
    112.079_291_497_871,
    33.912_866_078_383,
    6.373_962_203_531_65,
    0.700_383_064_443_688,
    3.526_249_659_989_11e-2,
];
/// Hart's approximation: denominator.
pub const HART_Q: [f64; 8] = [
    440.413_735_824_752,
    793.826_512_519_948,
    637.333_633_378_831,
    296.564_248_779_674,
    86.780_732_202_946_1,
    16.064_177_579_207,
    1.755_667_163_182_64,
    8.838_834_764_831_84e-2,
];
/// Below this `|x|` the rational function, above it a continued fraction.
pub const HART_SPLIT: f64 = 7.071_067_811_865_47;
/// Beyond this `|x|` the tail is taken as zero.
pub const HART_CUTOFF: f64 = 37.0;
/// `sqrt(2 pi)`.
pub(crate) const SQRT_TWO_PI: f64 = 2.506_628_274_631_000_5;

/// The standard normal distribution function `N(x)` by Hart's algorithm:
/// absolute error below 1e-15, relative error below 1e-8 in the lower tail
/// (measured against `erfc`); the same steps the SIMD lanes and the WGSL
/// twin take, so every tier revalues alike.
pub fn normal_cdf(x: f64) -> f64 {
    let a = x.abs();
    let tail = if a > HART_CUTOFF {
        0.0
    } else {
        let e = (-0.5 * a * a).exp();
        if a < HART_SPLIT {
            e * horner(&HART_P, a) / horner(&HART_Q, a)
        } else {
            e / continued_fraction(a) / SQRT_TWO_PI
        }
    };
    if x > 0.0 { 1.0 - tail } else { tail }
}

/// A polynomial with `coefficients` (lowest order first) at `x`.
#[inline(always)]
fn horner<L: Lane>(coefficients: &[f64], x: L) -> L {
    coefficients
        .iter()
        .rev()
        .fold(L::splat(0.0), |acc, &c| acc.mul_add(x, L::splat(c)))
}

/// `x + 1/(x + 2/(x + 3/(x + 4/(x + 0.65))))`.
#[inline(always)]
fn continued_fraction<L: Lane>(x: L) -> L {
    let s = L::splat;
    let mut fraction = x + s(0.65);
    for k in [4.0, 3.0, 2.0, 1.0] {
        fraction = x + s(k) / fraction;
    }
    fraction
}

impl LaneMath for f64 {
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
    #[inline(always)]
    fn normal_cdf(self) -> Self {
        normal_cdf(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        f64::min(self, other)
    }
    #[inline(always)]
    fn choose(self, if_positive: Self, otherwise: Self) -> Self {
        if self > 0.0 { if_positive } else { otherwise }
    }
    #[inline(always)]
    fn any_positive(self) -> bool {
        self > 0.0
    }
    #[inline(always)]
    fn all_positive(self) -> bool {
        self > 0.0
    }
}

/// [`LaneMath`] for a lane set's `f64x8`.
macro_rules! vector_lane_math {
    ($($lanes:ident),+) => {$(
        impl LaneMath for crate::simd::$lanes::f64x8 {
            #[inline(always)]
            fn ln(self) -> Self {
                crate::simd::$lanes::ln(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                self.fast_max(other)
            }
            /// [`normal_cdf`] lane by lane: the rational function everywhere, the
            /// continued fraction only when a lane needs it, blended by masks.
            #[inline(always)]
            fn normal_cdf(self) -> Self {
                let s = Self::splat;
                let a = self.abs();
                let e = crate::simd::$lanes::exp(s(-0.5) * a * a);
                let mut tail = e * horner(&HART_P, a) / horner(&HART_Q, a);
                let far = a.simd_ge(s(HART_SPLIT));
                if far.any() {
                    let fraction = e / continued_fraction(a) / s(SQRT_TWO_PI);
                    tail = far.select(fraction, tail);
                }
                let tail = a.simd_gt(s(HART_CUTOFF)).select(Self::ZERO, tail);
                self.simd_gt(Self::ZERO).select(s(1.0) - tail, tail)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                Self::sqrt(self)
            }
            /// Kahan's `ln(u) x / (u - 1)` with `u = 1 + x` (`x` where `u`
            /// rounds to 1): exact to the logarithm's own error.
            #[inline(always)]
            fn ln_1p(self) -> Self {
                let u = Self::ONE + self;
                let d = u - Self::ONE;
                let ratio = crate::simd::$lanes::ln(u) * self / d;
                d.simd_eq(Self::ZERO).select(self, ratio)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                self.fast_min(other)
            }
            #[inline(always)]
            fn choose(self, if_positive: Self, otherwise: Self) -> Self {
                self.simd_gt(Self::ZERO).select(if_positive, otherwise)
            }
            #[inline(always)]
            fn any_positive(self) -> bool {
                self.simd_gt(Self::ZERO).any()
            }
            #[inline(always)]
            fn all_positive(self) -> bool {
                self.simd_gt(Self::ZERO).all()
            }
        }
    )+};
}

vector_lane_math!(fused, unfused);
#[cfg(target_arch = "x86_64")]
vector_lane_math!(avx2, avx512, sse2);

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
