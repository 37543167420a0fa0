//! The kernel on the fused lane set (AVX-512, AVX2+FMA, NEON).

use crate::simd::fused as lanes;

#[allow(clippy::duplicate_mod)]
#[path = "kernel.rs"]
mod kernel;

pub(crate) use kernel::VectorKernel;
