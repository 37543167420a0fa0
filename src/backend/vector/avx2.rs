//! The kernel on the AVX2 lane set (intrinsics).

use crate::simd::avx2 as lanes;

#[allow(clippy::duplicate_mod)]
#[path = "kernel.rs"]
mod kernel;

pub(crate) use kernel::VectorKernel;
