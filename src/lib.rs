//! # quantmc
//!
//! Reproducible Monte Carlo option pricing and portfolio risk.
//!
//! * Prices European, arithmetic-Asian and geometric-Asian calls and puts under
//!   Black-Scholes dynamics, with standard errors, 95% intervals, antithetic
//!   sampling and the closed form beside the estimate where one exists.
//! * Measures portfolio Value-at-Risk and Expected Shortfall under Gaussian or
//!   Student-t returns, with the parametric figures beside the simulated ones.
//! * Every draw is a pure function of `(seed, path, draw)` through Philox4x32-10
//!   ([`rng`]), so every tier and any thread count sees the same sample.
//! * Products defined once ([`products`]) and run by every compute tier
//!   ([`backend`]), chosen with [`Backend`]: `Scalar` (the reference), `Simd`,
//!   `Rayon`, `Gpu`, and `Auto`.
//!
//! Cargo features: `gpu` (default) builds the wgpu tier; without it
//! `Backend::Gpu` returns [`BackendError::NotCompiledWith`].
//!
//! ```
//! use quantmc::{Backend, Market, OptionKind, OptionSpec, PricingJob, Style};
//!
//! let job = PricingJob {
//!     market: Market { spot: 150.0, rate: 0.05, dividend: 0.0, vol: 0.3 },
//!     option: OptionSpec {
//!         kind: OptionKind::Call,
//!         style: Style::European,
//!         strike: 155.0,
//!         maturity: 0.25,
//!         steps: 1,
//!     },
//!     paths: 100_000,
//!     seed: 42,
//!     antithetic: false,
//! };
//! let result = quantmc::price(&job, Backend::Auto)?;
//! let exact = result.closed_form.unwrap();
//! assert!((result.price - exact).abs() < 4.0 * result.std_error);
//! # Ok::<(), quantmc::Error>(())
//! ```

#![warn(missing_docs)]

// Layers, bottom to top; a module imports only from layers below it:
// error, tier, hardware -> rng, stats, simd, lane -> market, closed_form ->
// products -> pricing, risk -> backend (kernels and executors) -> selector ->
// this file (the library API) -> calibrate. DESIGN.md draws the graph.
pub mod backend;
pub mod calibrate;
pub mod closed_form;
pub mod error;
pub mod hardware;
pub mod lane;
pub mod market;
pub mod pricing;
pub mod products;
pub mod risk;
pub mod rng;
pub mod selector;
pub mod simd;
pub mod stats;
pub mod tier;

use std::time::Instant;

pub use backend::{Backend, ComputeBackend, Tier};
pub use error::{BackendError, Error, InputError, Result};
pub use pricing::{Market, OptionKind, OptionSpec, PricingJob, PricingResult, Style};
pub use risk::{
    Asset, Confidence, Portfolio, ReturnDistribution, RiskLevel, TailMeasure, VarJob, VarResult,
};
pub use selector::Tuning;

/// z-value of a two-sided 95% normal interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// How to run a job: which tier, with how many threads, and what Auto knows.
///
/// The library reads no environment variables and no files of its own
/// accord: the CLI turns `RAYON_NUM_THREADS`, `QUANTMC_CALIBRATION` and
/// `QUANTMC_ALLOW_SOFTWARE_GPU` into these fields.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunOptions {
    /// The tier, or `Auto`.
    pub backend: Backend,
    /// Worker threads for the rayon tier; `None` uses rayon's global pool
    /// (`RAYON_NUM_THREADS` or all cores). Never changes the result, only the
    /// speed.
    pub threads: Option<usize>,
    /// Auto's crossovers, e.g. from `quantmc calibrate`'s file
    /// ([`selector::load_from`]); `None` uses [`Tuning::builtin`].
    pub tuning: Option<Tuning>,
    /// Let the GPU tier run on a CPU-type adapter such as lavapipe (Auto still
    /// never picks one).
    pub allow_software_gpu: bool,
}

impl From<Backend> for RunOptions {
    fn from(backend: Backend) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }
}

/// A tier ready to run, with why it was chosen.
struct Selected {
    tier: Box<dyn ComputeBackend>,
    /// `requested` for an explicit backend; Auto's reason otherwise.
    reason: String,
    warnings: Vec<String>,
}

/// Builds the tier that `options` asks for; `Auto` decides from `work` (see
/// [`selector`]). A GPU that Auto picked but that cannot start falls back to
/// the CPU with a warning.
fn resolve(options: &RunOptions, work: selector::Work) -> Result<Selected> {
    if options.threads == Some(0) {
        return Err(InputError::invalid("threads", 0, "must be at least 1").into());
    }
    let build = |tier| backend::build(tier, options.threads, options.allow_software_gpu);
    if let Some(tier) = options.backend.tier() {
        return Ok(Selected {
            tier: build(tier)?,
            reason: "requested".to_string(),
            warnings: Vec::new(),
        });
    }
    let tuning = options.tuning.unwrap_or_else(Tuning::builtin);
    let cores = options.threads.unwrap_or_else(rayon::current_num_threads);
    let decision = selector::decide(work, cores, backend::gpu_class, &tuning);
    match build(decision.tier) {
        Ok(tier) => Ok(Selected {
            tier,
            reason: decision.reason,
            warnings: Vec::new(),
        }),
        Err(err) if decision.tier == Tier::Gpu => {
            let why = err.to_string();
            let fallback = selector::fall_back_from_gpu(work, cores, &tuning, &why);
            Ok(Selected {
                tier: build(fallback.tier)?,
                reason: fallback.reason,
                warnings: vec![format!("the GPU could not start ({why}); using the CPU")],
            })
        }
        Err(err) => Err(err),
    }
}

/// Prices `job` on the tier `options` asks for (a [`Backend`] converts).
///
/// The job is validated first; nothing runs on bad input.
pub fn price(job: &PricingJob, options: impl Into<RunOptions>) -> Result<PricingResult> {
    job.validate()?;
    let selected = resolve(&options.into(), selector::Work::pricing(job))?;
    let tier = selected.tier;
    let start = Instant::now();
    let estimate = tier.price(job)?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let std_error = estimate.std_dev / (estimate.samples as f64).sqrt();
    Ok(PricingResult {
        price: estimate.mean,
        std_error,
        ci95: [
            estimate.mean - Z_95 * std_error,
            estimate.mean + Z_95 * std_error,
        ],
        closed_form: job.closed_form(),
        paths: job.paths,
        seed: job.seed,
        tier: tier.tier(),
        backend: tier.describe(),
        selection: selected.reason,
        warnings: selected.warnings,
        elapsed_s,
        paths_per_sec: job.paths as f64 / elapsed_s.max(f64::MIN_POSITIVE),
    })
}

/// Simulates `job`'s P&L and measures VaR and ES at each confidence level.
///
/// The job is validated first; nothing runs on bad input.
pub fn var(job: &VarJob, options: impl Into<RunOptions>) -> Result<VarResult> {
    job.validate()?;
    let model = job.risk_model()?;
    let selected = resolve(&options.into(), selector::Work::risk(job))?;
    let tier = selected.tier;
    let start = Instant::now();
    let estimate = tier.risk(job, &model)?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let levels = job
        .confidences
        .iter()
        .zip(&estimate.tails)
        .map(|(confidence, tail)| {
            let parametric = model.parametric(confidence.level);
            RiskLevel {
                confidence: confidence.clone(),
                var: tail.var,
                es: tail.es,
                parametric_var: parametric.var,
                parametric_es: parametric.es,
            }
        })
        .collect();
    Ok(VarResult {
        scenarios: job.scenarios,
        seed: job.seed,
        tier: tier.tier(),
        backend: tier.describe(),
        selection: selected.reason,
        warnings: selected.warnings,
        elapsed_s,
        mean: estimate.mean,
        std: estimate.std_dev,
        levels,
    })
}
