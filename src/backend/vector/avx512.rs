//! The kernel on the AVX-512 lane set (intrinsics).

use crate::simd::avx512 as lanes;

#[allow(clippy::duplicate_mod)]
#[path = "kernel.rs"]
mod kernel;

pub(crate) use kernel::VectorKernel;
