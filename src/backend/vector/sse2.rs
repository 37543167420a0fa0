//! The kernel on the SSE2 lane set (intrinsics).

use crate::simd::sse2 as lanes;

#[allow(clippy::duplicate_mod)]
#[path = "kernel.rs"]
mod kernel;

pub(crate) use kernel::VectorKernel;
