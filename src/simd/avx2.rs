//! The AVX2 lane set: AVX/FMA intrinsics, two `__m256d` per `f64x8`, for
//! the kernel instance the `Avx2` target runs only.

use crate::simd::lane_fn_inlined as lane_fn;

#[path = "lanes/f64x8_avx2.rs"]
mod float;
#[allow(clippy::duplicate_mod)]
#[path = "lanes/math.rs"]
mod math;

#[allow(clippy::duplicate_mod)]
#[path = "lanes/ints_avx2.rs"]
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
