//! The kernel on the unfused lane set (SSE2, portable code).

use crate::simd::unfused as lanes;

#[allow(clippy::duplicate_mod)]
#[path = "kernel.rs"]
mod kernel;

pub(crate) use kernel::VectorKernel;
