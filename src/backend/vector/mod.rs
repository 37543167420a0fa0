//! The SIMD and rayon tiers' kernel ([`kernel.rs`](kernel)), compiled once
//! per lane set and run per chunk inside a function compiled for the
//! chosen instruction set ([`crate::simd`]'s run-time dispatch):
//!
//! | [`Isa`]    | lane set (`crate::simd::…`)               | target token |
//! |------------|-------------------------------------------|--------------|
//! | `avx512`   | `avx512`: one `__m512d` per `f64x8`       | `Avx512`     |
//! | `avx2`     | `avx2`: two `__m256d`, FMA                | `Avx2`       |
//! | `sse2`     | `sse2`: four `__m128d`, no FMA            | `Baseline`   |
//! | `neon`     | `fused`: plain arrays, `mul_add` fused    | `Baseline`   |
//! | `portable` | `unfused`: plain arrays, multiply and add | `Baseline`   |
//!
//! Only the instances of the target being built are compiled (three on
//! x86-64, one elsewhere). The crate's unit-test build (`cfg(test)`) and a
//! fuzzing build (`cfg(fuzzing)`, set by cargo-fuzz) carry the baseline one
//! alone ([`Isa::compiled`]): each instance is minutes of optimised build,
//! the unit tests check the lane sets' math, not the kernels (the
//! integration tests run every instance against the oracle), and the fuzz
//! targets exercise the parsers.

use super::{CpuTier, Executor};
use crate::error::{BackendError, Result};
use crate::simd::{Baseline, Isa};
use crate::tier::Tier;

#[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
mod avx2;
#[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod fused;
#[cfg(target_arch = "x86_64")]
mod sse2;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod unfused;

/// The CPU tier `tier` run by `executor` with the vector kernel for `isa`;
/// an error where this CPU does not run `isa`.
pub(crate) fn tier<E: Executor + Send + 'static>(
    tier: Tier,
    executor: E,
    isa: Isa,
) -> Result<Box<dyn super::ComputeBackend>> {
    let unsupported = || -> crate::error::Error {
        BackendError::Unavailable {
            backend: "simd",
            reason: format!(
                "{} the {isa} instruction set (it runs: {})",
                if isa.cpu_runs() {
                    "this build carries no kernel for"
                } else {
                    "this CPU does not run"
                },
                Isa::supported()
                    .iter()
                    .map(|isa| isa.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        .into()
    };
    macro_rules! with {
        ($lanes:ident, $target:expr) => {{
            let target = $target.ok_or_else(unsupported)?;
            Ok(Box::new(CpuTier {
                tier,
                executor,
                kernel: $lanes::VectorKernel::new(target),
            }))
        }};
    }
    match isa {
        #[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
        Isa::Avx512 => with!(avx512, crate::simd::Avx512::detect()),
        #[cfg(all(target_arch = "x86_64", not(any(test, fuzzing))))]
        Isa::Avx2 => with!(avx2, crate::simd::Avx2::detect()),
        #[cfg(target_arch = "x86_64")]
        Isa::Sse2 => with!(sse2, Baseline::detect()),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => with!(fused, Baseline::detect()),
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        Isa::Portable => with!(unfused, Baseline::detect()),
        #[allow(unreachable_patterns)]
        _ => Err(unsupported()),
    }
}
