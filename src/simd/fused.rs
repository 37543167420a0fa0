//! The lane set of instruction sets with a fused multiply-add (AVX-512,
//! AVX2+FMA, NEON): `mul_add` rounds once and rounding to an integer is one
//! instruction. The kernels run it inside functions compiled for those
//! instruction sets ([`crate::hardware::Isa`]); called from anywhere else it
//! is still exact, only slower.

use crate::simd::lane_fn_out_of_line as lane_fn;

/// `mul_add` rounds once.
const FUSED: bool = true;

// One source, two lane sets: `lanes/` is compiled here and in `unfused.rs`,
// each copy reading its own `FUSED`.
#[allow(clippy::duplicate_mod)]
#[path = "lanes/f64x8.rs"]
mod float;
#[allow(clippy::duplicate_mod)]
#[path = "lanes/math.rs"]
mod math;

pub use crate::simd::ints::{u32x8, u64x8};
pub use float::f64x8;
pub use math::{box_muller_x8, exp, inverse_normal_x8, ln, normals_x8, sin_cos_turn, uniform_x8};

#[allow(clippy::duplicate_mod)]
#[path = "philox.rs"]
mod philox;

use crate::simd::array_from_fn;
pub use philox::{LANE_STREAM, LANES, RoundKeys, StreamGroup, Streams, philox_x8};
