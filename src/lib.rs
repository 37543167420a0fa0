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
//! * One [`ComputeBackend`] trait carried by compute tiers chosen with
//!   [`Backend`]: `Scalar` (the reference), `Simd`, `Rayon`, `Gpu`, and `Auto`.
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

pub mod backend;
pub mod calibrate;
pub mod closed_form;
pub mod error;
pub mod hardware;
pub mod pricing;
pub mod risk;
pub mod rng;
pub mod selector;
pub mod stats;

use std::time::Instant;

pub use backend::{Backend, ComputeBackend, RunOptions};
pub use error::{BackendError, Error, InputError, Result};
pub use pricing::{Market, OptionKind, OptionSpec, PricingJob, PricingResult, Style};
pub use risk::{
    Asset, Confidence, Portfolio, ReturnDistribution, RiskLevel, TailMeasure, VarJob, VarResult,
};

/// z-value of a two-sided 95% normal interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Prices `job` on the tier `options` asks for (a [`Backend`] converts).
///
/// The job is validated first; nothing runs on bad input.
pub fn price(job: &PricingJob, options: impl Into<RunOptions>) -> Result<PricingResult> {
    job.validate()?;
    let selected = backend::resolve(&options.into(), selector::Work::pricing(job))?;
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
        closed_form: closed_form::reference_price(&job.market, &job.option),
        paths: job.paths,
        seed: job.seed,
        backend: tier.describe(),
        selection: selected.reason,
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
    let selected = backend::resolve(&options.into(), selector::Work::risk(job))?;
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
        backend: tier.describe(),
        selection: selected.reason,
        elapsed_s,
        mean: estimate.mean,
        std: estimate.std_dev,
        levels,
    })
}
