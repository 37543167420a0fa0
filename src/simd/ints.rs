//! Eight 32-bit and eight 64-bit integer lanes: Philox's words and the bit
//! patterns of the uniforms. Plain arrays whose operations are lane-by-lane
//! loops, written so that LLVM turns each into one or two vector
//! instructions of whatever instruction set the calling kernel was compiled
//! for ([`super::Isa`]); they carry no instruction set of their own.

use std::ops::{BitAnd, BitOr, BitXor, Not, Shl, Shr};

/// `[f(0), f(1), .., f(7)]`, written out: the lane types build their lanes
/// with this, never through a helper function that might be left out of
/// line and so compiled for the baseline instruction set ([`super::Task`]).
macro_rules! lanes8 {
    (|$i:ident| $e:expr) => {
        [
            { let $i = 0usize; $e },
            { let $i = 1usize; $e },
            { let $i = 2usize; $e },
            { let $i = 3usize; $e },
            { let $i = 4usize; $e },
            { let $i = 5usize; $e },
            { let $i = 6usize; $e },
            { let $i = 7usize; $e },
        ]
    };
}
pub(crate) use lanes8;

/// Lane-by-lane binary operators of an array newtype.
macro_rules! lanewise_ops {
    ($type:ident, $scalar:ty, $($trait:ident :: $method:ident),+) => {$(
        impl $trait for $type {
            type Output = Self;
            #[inline(always)]
            fn $method(self, other: Self) -> Self {
                Self(lanes8!(|i| $trait::$method(self.0[i], other.0[i])))
            }
        }
    )+};
}

/// Eight `u32` lanes.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C, align(32))]
pub struct u32x8([u32; 8]);

lanewise_ops!(u32x8, u32, BitXor::bitxor, BitAnd::bitand, BitOr::bitor);

impl u32x8 {
    /// The lanes `lanes`.
    #[inline(always)]
    pub const fn new(lanes: [u32; 8]) -> Self {
        Self(lanes)
    }

    /// `value` in every lane.
    #[inline(always)]
    pub const fn splat(value: u32) -> Self {
        Self([value; 8])
    }

    /// The lanes as an array.
    #[inline(always)]
    pub const fn to_array(self) -> [u32; 8] {
        self.0
    }

    /// The full 64-bit products `self * other`, lane by lane, as (low words,
    /// high words): one `vpmuludq` per four lanes on x86-64.
    #[inline(always)]
    pub fn mul_keep_low_high(self, other: Self) -> (Self, Self) {
        let product: [u64; 8] = lanes8!(|i| u64::from(self.0[i]) * u64::from(other.0[i]));
        (
            Self(lanes8!(|i| product[i] as u32)),
            Self(lanes8!(|i| (product[i] >> 32) as u32)),
        )
    }

    /// The 64-bit lanes `hi:lo` of word lanes `2i` (first four) and `2i + 1`
    /// (last four) of `lo` and `hi`: the pairing [`super::uniform_x8`] uses, so
    /// each output lane is built from words that lie side by side.
    #[inline(always)]
    pub fn pair_words(lo: Self, hi: Self) -> u64x8 {
        // 64-bit lane i of each holds word lanes 2i (low half) and 2i + 1
        // (high half) on a little-endian machine; the shifts and masks below
        // are written for that layout.
        let (lo, hi): ([u64; 4], [u64; 4]) = (bytemuck::cast(lo.0), bytemuck::cast(hi.0));
        const LOW_WORD: u64 = 0xFFFF_FFFF;
        u64x8(lanes8!(|i| if i < 4 {
            (hi[i] << 32) | (lo[i] & LOW_WORD)
        } else {
            (hi[i - 4] & !LOW_WORD) | (lo[i - 4] >> 32)
        }))
    }
}

/// Eight `u64` lanes.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C, align(64))]
pub struct u64x8([u64; 8]);

lanewise_ops!(u64x8, u64, BitXor::bitxor, BitAnd::bitand, BitOr::bitor);

impl u64x8 {
    /// The lanes `lanes`.
    #[inline(always)]
    pub const fn new(lanes: [u64; 8]) -> Self {
        Self(lanes)
    }

    /// `value` in every lane.
    #[inline(always)]
    pub const fn splat(value: u64) -> Self {
        Self([value; 8])
    }

    /// The lanes as an array.
    #[inline(always)]
    pub const fn to_array(self) -> [u64; 8] {
        self.0
    }
}

impl Not for u64x8 {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        Self(lanes8!(|i| !self.0[i]))
    }
}

impl Shl<u32> for u64x8 {
    type Output = Self;
    #[inline(always)]
    fn shl(self, bits: u32) -> Self {
        Self(lanes8!(|i| self.0[i] << bits))
    }
}

impl Shr<u32> for u64x8 {
    type Output = Self;
    #[inline(always)]
    fn shr(self, bits: u32) -> Self {
        Self(lanes8!(|i| self.0[i] >> bits))
    }
}
