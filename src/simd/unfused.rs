//! The lane set of instruction sets without a fused multiply-add (x86-64's
//! SSE2 baseline, and other targets' portable code): `mul_add` is a multiply
//! then an add, since a fused one would be a slow library call there, and
//! rounding to an integer adds and removes 2^52.

use crate::simd::lane_fn_out_of_line as lane_fn;

/// `mul_add` rounds twice.
const FUSED: bool = false;

// One source, two lane sets: `lanes/` is compiled here and in `fused.rs`,
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
#[allow(dead_code)]
mod philox;

use crate::simd::array_from_fn;
pub use philox::{LANE_STREAM, LANES, RoundKeys, StreamGroup, Streams, philox_x8};
