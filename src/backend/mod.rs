//! Compute backends: one trait, one implementation per tier.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[cfg(not(feature = "gpu"))]
use crate::error::BackendError;
use crate::error::{InputError, Result};
use crate::pricing::{PricingEstimate, PricingJob, named_choices};
use crate::risk::{RiskEstimate, RiskModel, VarJob};
use crate::selector::{self, Work};
use crate::stats::Moments;

#[cfg(feature = "gpu")]
pub mod gpu;
mod rayon;
mod scalar;
pub mod simd;

pub use rayon::RayonBackend;
pub use scalar::ScalarBackend;
pub use simd::SimdBackend;

/// Paths (or pairs, or scenarios) per chunk. Every tier reduces whole chunks and
/// merges them in chunk order, and the size never depends on the thread count,
/// so a reduction's bits do not depend on how the chunks were scheduled.
pub const CHUNK: u64 = 1 << 14;

/// The job's samples split into the fixed chunks every tier reduces.
pub(crate) fn chunk_bounds(samples: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..samples.div_ceil(CHUNK)).map(move |c| (c * CHUNK, ((c + 1) * CHUNK).min(samples)))
}

/// Folds per-chunk moments of undiscounted payoffs, in chunk order, into the
/// discounted estimate.
pub(crate) fn finish_price(
    job: &PricingJob,
    chunks: impl IntoIterator<Item = Moments>,
) -> PricingEstimate {
    let total = chunks.into_iter().fold(Moments::default(), Moments::merge);
    let discount = job.discount();
    PricingEstimate {
        mean: discount * total.mean,
        std_dev: discount * total.std_dev(),
        samples: job.samples(),
    }
}

/// Which compute tier runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Pick a tier from the detected hardware and the job's size.
    #[default]
    Auto,
    /// The plain f64 reference, one path at a time: the oracle.
    Scalar,
    /// One core, vectorised.
    Simd,
    /// All cores, deterministic.
    Rayon,
    /// WGSL compute shaders through wgpu.
    Gpu,
}

named_choices!(Backend, "backend", [
    Backend::Auto => "auto",
    Backend::Scalar => "scalar",
    Backend::Simd => "simd",
    Backend::Rayon => "rayon",
    Backend::Gpu => "gpu",
]);

/// How to run a job: which tier, and for the multicore tier how many threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunOptions {
    pub backend: Backend,
    /// Worker threads for the rayon tier; `None` uses `RAYON_NUM_THREADS` or all
    /// cores. Never changes the result, only the speed.
    pub threads: Option<usize>,
}

impl From<Backend> for RunOptions {
    fn from(backend: Backend) -> Self {
        Self {
            backend,
            threads: None,
        }
    }
}

/// A compute tier.
///
/// # Design
///
/// One method per workload, each taking a validated plain-data job and returning
/// plain-data figures; timing, closed forms and provenance are added by the
/// library around the call, so a tier is only its kernels.
///
/// Contracts every implementation keeps:
///
/// * **Stream layout.** Path, pair or scenario `i` draws exactly the numbers
///   [`crate::rng`] assigns to `(seed, substream, i, draw)`, whatever order or
///   thread visits it. Antithetic pair `p` uses stream `p` for both halves.
/// * **Determinism.** Reductions run over fixed chunks of [`CHUNK`] samples
///   combined in chunk order ([`crate::stats::Moments::merge`]), so the result
///   is a function of the job alone, never of scheduling or thread count.
/// * **Precision.** CPU tiers compute in f64 and agree with the scalar tier to
///   1e-9 relative; the GPU tier computes in f32 on the device and agrees to
///   1e-4 relative on prices and 1e-3 on VaR/ES.
/// * **Errors, not panics.** A tier that cannot run returns [`BackendError`](crate::error::BackendError).
pub trait ComputeBackend: Send + Sync {
    /// The tier this is.
    fn kind(&self) -> Backend;

    /// What it runs on, e.g. `scalar (f64, 1 thread)` or
    /// `rayon (avx2+fma, 2 threads)`.
    fn describe(&self) -> String;

    /// Mean and standard deviation of the discounted payoff over the job's
    /// samples (pair averages when antithetic).
    fn price(&self, job: &PricingJob) -> Result<PricingEstimate>;

    /// Mean, standard deviation and tail measures of the simulated P&L, one tail
    /// per confidence level of `job`, with `model = job.risk_model()`.
    fn risk(&self, job: &VarJob, model: &RiskModel) -> Result<RiskEstimate>;
}

/// A tier ready to run, with why it was chosen.
pub struct Selected {
    pub tier: Box<dyn ComputeBackend>,
    /// `requested` for an explicit backend; Auto's reason otherwise.
    pub reason: String,
}

/// Builds the tier that `options` asks for; `Auto` decides from `work` (see
/// [`crate::selector`]).
pub fn resolve(options: &RunOptions, work: Work) -> Result<Selected> {
    if options.threads == Some(0) {
        return Err(InputError::invalid("threads", 0, "must be at least 1").into());
    }
    if options.backend != Backend::Auto {
        return Ok(Selected {
            tier: build(options.backend, options.threads)?,
            reason: "requested".to_string(),
        });
    }
    let cores = options.threads.unwrap_or_else(::rayon::current_num_threads);
    let decision = selector::decide(work, cores, gpu_class, selector::calibration());
    match build(decision.backend, options.threads) {
        Ok(tier) => Ok(Selected {
            tier,
            reason: decision.reason,
        }),
        Err(err) if decision.backend == Backend::Gpu => {
            let fallback = selector::fall_back_from_gpu(work, cores, &err.to_string());
            Ok(Selected {
                tier: build(fallback.backend, options.threads)?,
                reason: fallback.reason,
            })
        }
        Err(err) => Err(err),
    }
}

/// The tier itself; `Auto` is resolved before this.
fn build(backend: Backend, threads: Option<usize>) -> Result<Box<dyn ComputeBackend>> {
    match backend {
        Backend::Scalar => Ok(Box::new(ScalarBackend)),
        Backend::Simd => Ok(Box::new(SimdBackend)),
        Backend::Auto | Backend::Rayon => Ok(Box::new(RayonBackend { threads })),
        #[cfg(feature = "gpu")]
        Backend::Gpu => Ok(Box::new(gpu::GpuBackend::new()?)),
        #[cfg(not(feature = "gpu"))]
        Backend::Gpu => Err(BackendError::NotCompiledWith {
            backend: "gpu",
            feature: "gpu",
        }
        .into()),
    }
}

/// The best adapter's class, probed the first time Auto considers the GPU and
/// remembered for the process.
pub fn gpu_class() -> Option<selector::GpuClass> {
    #[cfg(feature = "gpu")]
    {
        static CLASS: std::sync::OnceLock<Option<selector::GpuClass>> = std::sync::OnceLock::new();
        *CLASS.get_or_init(gpu::best_adapter_class)
    }
    #[cfg(not(feature = "gpu"))]
    {
        None
    }
}

/// Every tier with what it would run on here, or why it cannot run.
pub fn availability() -> Vec<(Backend, String)> {
    [Backend::Scalar, Backend::Simd, Backend::Rayon, Backend::Gpu]
        .into_iter()
        .map(|backend| {
            let status = match build(backend, None) {
                Ok(tier) => format!("available: {}", tier.describe()),
                Err(err) => format!("unavailable: {err}"),
            };
            (backend, status)
        })
        .collect()
}

/// The GPU adapters this build can see, one line each: name, type, API, driver.
pub fn gpu_adapters() -> Vec<String> {
    #[cfg(feature = "gpu")]
    {
        gpu::adapters()
            .into_iter()
            .map(|a| format!("{} ({}, {}, {})", a.name, a.device_type, a.api, a.driver))
            .collect()
    }
    #[cfg(not(feature = "gpu"))]
    {
        vec!["not compiled in (build with --features gpu)".to_string()]
    }
}
