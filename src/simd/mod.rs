//! Eight-lane building blocks of the SIMD kernels, built with `wide`: Philox
//! on eight counters, uniforms, Box-Muller and a lean `exp`. Each is checked
//! against its scalar twin in [`crate::rng`] by `tests/simd_math.rs`.

pub mod math;
mod philox;

pub use math::{box_muller_x8, exp, inverse_normal_x8, normals_x8, sin_cos_turn, uniform_x8};
pub use philox::{LANE_STREAM, LANES, RoundKeys, StreamGroup, Streams, philox_x8};
