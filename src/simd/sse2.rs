//! The SSE2 lane set (x86-64's baseline): four `__m128d` per `f64x8`, no
//! fused multiply-add, for the kernel instance the `Baseline` target runs on
//! x86-64.

use crate::simd::lane_fn_out_of_line as lane_fn;

#[path = "lanes/f64x8_sse2.rs"]
mod float;
#[allow(clippy::duplicate_mod)]
#[path = "lanes/math.rs"]
mod math;

#[path = "lanes/ints_sse2.rs"]
mod ints;
pub use float::f64x8;
pub use ints::{u32x8, u64x8};
#[allow(unused_imports)]
pub use math::{box_muller_x8, exp, inverse_normal_x8, ln, normals_x8, sin_cos_turn, uniform_x8};

#[allow(clippy::duplicate_mod)]
#[path = "philox.rs"]
#[allow(dead_code)]
mod philox;

use crate::simd::array_from_fn;
#[allow(unused_imports)]
pub use philox::{LANE_STREAM, LANES, RoundKeys, StreamGroup, Streams, philox_x8};
