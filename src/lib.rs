//! # quantmc
//!
//! Reproducible Monte Carlo option pricing and portfolio risk.
//!
//! * Prices European, arithmetic- and geometric-Asian, digital and barrier
//!   calls and puts ([`price`]) under Black-Scholes, Heston, Merton or Bates
//!   ([`models`]); baskets, worst-of, best-of and spreads on correlated
//!   assets ([`price_basket`]); American and Bermudan options of both by
//!   Longstaff-Schwartz with a duality upper bound ([`price_exercise`],
//!   [`price_basket_exercise`]). Each with its standard error, 95% interval,
//!   Greeks where asked, variance reduction, and the closed form or lattice
//!   beside the estimate where one exists.
//! * Measures portfolio Value-at-Risk and Expected Shortfall ([`var`]) under
//!   Gaussian or Student-t returns, or historical scenarios, with options in
//!   the book, the parametric figures beside the simulated ones.
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
//!         barrier: None,
//!     },
//!     paths: 100_000,
//!     seed: 42,
//!     antithetic: false,
//!     ..Default::default()
//! };
//! let result = quantmc::price(&job, Backend::Auto)?;
//! let exact = result.closed_form.unwrap();
//! assert!((result.price - exact).abs() < 4.0 * result.std_error);
//! # Ok::<(), quantmc::Error>(())
//! ```

#![warn(missing_docs)]
// A fuzzing build carries one SIMD instance (src/backend/vector/mod.rs): the
// other sets' lanes and target tokens go unused there (the unit tests use
// them).
#![cfg_attr(fuzzing, allow(dead_code))]

// Layers, bottom to top; a module imports only from layers below it:
// error, tier, hardware -> rng, stats, simd, lane -> market, closed_form ->
// products -> pricing, risk -> backend (kernels and executors) -> selector ->
// this file (the library API) -> calibrate. DESIGN.md draws the graph.
pub mod backend;
pub mod backtest;
pub mod basket;
pub mod calibrate;
pub mod closed_form;
pub mod contributions;
pub mod control;
pub mod distributed;
pub mod error;
pub mod exercise;
pub mod files;
pub mod fit;
pub mod frtb;
pub mod greeks;
pub mod hardware;
pub mod historical;
pub mod lane;
pub mod market;
pub mod models;
pub mod portfolio;
pub mod pricing;
pub mod products;
pub mod report;
pub mod revaluation;
pub mod risk;
pub mod rng;
pub mod selector;
pub mod simd;
pub mod stats;
pub mod stopping;
pub mod strip;
pub mod tier;
pub mod whatif;

use std::time::Instant;

pub use backend::{Backend, ComputeBackend, Tier};
pub use control::{Control, Progress};
pub use error::{BackendError, Error, InputError, Result};
pub use pricing::{Market, OptionKind, OptionSpec, PricingJob, PricingResult, Style};
pub use risk::{
    Asset, Confidence, OptionPosition, Portfolio, ReturnDistribution, RiskLevel, TailMeasure,
    VarJob, VarResult,
};
pub use selector::Tuning;
pub use tier::{GpuList, Gpus};

pub use pricing::Z_95;

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
    /// ([`selector::load_from`]); `None` uses [`Tuning::builtin_for`] the
    /// run's cores.
    pub tuning: Option<Tuning>,
    /// Let the GPU tier run on a CPU-type adapter such as lavapipe (Auto still
    /// never picks one).
    pub allow_software_gpu: bool,
    /// The instruction set of the SIMD and rayon tiers; `None` uses the best
    /// this CPU runs ([`hardware::Isa::best`]). Asking for one the CPU does not
    /// run is an error naming `simd`. Never changes the result beyond the
    /// last bits (see [`hardware::Isa`]), only the speed.
    pub simd: Option<hardware::Isa>,
    /// The adapters the GPU tier runs on ([`Gpus::Best`] by default); a job
    /// on several gives the one-device answer on identical adapters.
    pub gpus: Gpus,
}

impl From<Backend> for RunOptions {
    fn from(backend: Backend) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }
}

/// Most rayon threads per logical core a job may ask for.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// A tier ready to run, with why it was chosen.
pub(crate) struct Selected {
    pub(crate) tier: Box<dyn ComputeBackend>,
    /// `requested` for an explicit backend; Auto's reason otherwise.
    pub(crate) reason: String,
    pub(crate) warnings: Vec<String>,
}

/// Builds the tier that `options` asks for; `Auto` decides from `work` (see
/// [`selector`]). A GPU that Auto picked but that cannot start falls back to
/// the CPU with a warning.
pub(crate) fn resolve(options: &RunOptions, work: selector::Work) -> Result<Selected> {
    let cores = hardware::detect().logical_cores;
    match options.threads {
        Some(0) => return Err(InputError::invalid("threads", 0, "must be at least 1").into()),
        Some(threads) if threads > MAX_THREADS_PER_CORE * cores => {
            return Err(InputError::invalid(
                "threads",
                threads,
                &format!(
                    "must be at most {} ({MAX_THREADS_PER_CORE}x the {cores} logical cores): more threads only add start-up time and memory",
                    MAX_THREADS_PER_CORE * cores
                ),
            )
            .into());
        }
        _ => {}
    }
    if let Some(isa) = options.simd
        && !isa.is_supported()
    {
        let supported: Vec<&str> = hardware::Isa::supported()
            .into_iter()
            .map(hardware::Isa::name)
            .collect();
        return Err(InputError::invalid(
            "simd",
            isa.name(),
            &format!(
                "this CPU (or this build's target) does not run it; it runs: {}",
                supported.join(", ")
            ),
        )
        .into());
    }
    if options.gpus != Gpus::Best
        && let Some(tier) = options.backend.tier()
        && tier != Tier::Gpu
    {
        return Err(InputError::invalid(
            "gpus",
            options.gpus.to_string(),
            &format!(
                "names GPUs, but the backend is {}: use the gpu backend (or auto)",
                tier.name()
            ),
        )
        .into());
    }
    let build = |tier| {
        backend::build(
            tier,
            options.threads,
            options.simd,
            options.allow_software_gpu,
            options.gpus,
        )
    };
    if let Some(tier) = options.backend.tier() {
        return Ok(Selected {
            tier: build(tier)?,
            reason: "requested".to_string(),
            warnings: Vec::new(),
        });
    }
    let cores = options.threads.unwrap_or(cores);
    let tuning = options.tuning.unwrap_or_else(|| Tuning::builtin_for(cores));
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
///
/// With a [`pricing::Target`], the run has two stages ([`stopping`]): a
/// pilot of the job's `paths` (doubled while it says too little) sizes a
/// final stage of fresh paths (fresh scrambles for randomized QMC), and the
/// estimate comes from the final stage alone, so stopping at the target
/// does not bias it; `max_paths` caps both together. Every round is a fixed
/// range of samples and the decisions depend only on the figures, which do
/// not depend on the thread count, so a seed gives one answer.
pub fn price(job: &PricingJob, options: impl Into<RunOptions>) -> Result<PricingResult> {
    price_with(job, options, &control::UNWATCHED)
}

/// [`price`], reporting progress to `control` and stopping with
/// [`Error::Cancelled`] soon after [`Control::cancel`] (see [`control`]).
pub fn price_with(
    job: &PricingJob,
    options: impl Into<RunOptions>,
    control: &Control,
) -> Result<PricingResult> {
    let valid = pricing::ValidPricing::new(job)?.watched(control);
    let selected = resolve(&options.into(), selector::Work::pricing(job))?;
    let tier = &*selected.tier;
    price_in_rounds(valid, &selected, &|valid, points| tier.price(valid, points))
}

/// Prices `job` at every strike and maturity of `strip` on common random
/// numbers (every quote reads the job's streams), with Black implied
/// volatilities when asked ([`strip`]). The whole strip is validated
/// before any quote runs.
pub fn price_strip(
    job: &PricingJob,
    strip: &strip::Strip,
    options: impl Into<RunOptions>,
) -> Result<strip::StripResult> {
    price_strip_with(job, strip, options, &control::UNWATCHED)
}

/// [`price_strip`], reporting each quote's progress to `control` and
/// stopping with [`Error::Cancelled`] soon after [`Control::cancel`].
pub fn price_strip_with(
    job: &PricingJob,
    strip: &strip::Strip,
    options: impl Into<RunOptions>,
    control: &Control,
) -> Result<strip::StripResult> {
    strip.validate(job)?;
    // One tier for every quote, chosen for the whole strip's work (and
    // away from the GPU if any quote is outside what it runs).
    let quotes: Vec<PricingJob> = strip.jobs(job).collect();
    let mut work = selector::Work::pricing(job);
    work.units *= quotes.len() as f64;
    work.gpu_unsupported = quotes
        .iter()
        .find_map(|quote| backend::gpu_problem(quote).map(|(reason, _)| reason));
    let selected = resolve(&options.into(), work)?;
    let tier = &*selected.tier;
    strip.price_by(job, |quote| {
        let valid = pricing::ValidPricing::new(quote)?.watched(control);
        price_in_rounds(valid, &selected, &|valid, points| tier.price(valid, points))
    })
}

/// A round of a pricing run: the figures of a range of points of every
/// group of a job.
type PricingRound<'r> =
    dyn Fn(pricing::ValidPricing<'_>, std::ops::Range<u64>) -> Result<Vec<stats::Figures>> + 'r;

/// The rounds of a pricing run (see [`price`]) on `selected`'s tier, each
/// round's figures from `round` (the samples of a range of points of every
/// group of a job that is `valid`'s but for its seed, [`stopping`]): the
/// tier's own `price`, or the blocks of several processes folded
/// ([`distributed`]).
pub(crate) fn price_in_rounds(
    valid: pricing::ValidPricing<'_>,
    selected: &Selected,
    round: &PricingRound<'_>,
) -> Result<PricingResult> {
    let job = &*valid;
    let control = valid.control();
    let start = Instant::now();
    let first = job.points_per_replicate(job.samples());
    let most = job.points_per_replicate(job.max_samples());
    let final_stage = PricingJob {
        seed: stopping::final_seed(job.seed),
        ..*job
    };
    let mut totals = vec![stats::Figures::default(); job.groups() as usize];
    let stages = stopping::Stages {
        target: job.target,
        sampler: job.sampler,
        groups: job.groups(),
        seed: job.seed,
        first,
        most,
    };
    let stopped = stopping::run(stages, &mut |stage| {
        let at = if stage.seed == job.seed {
            valid
        } else {
            valid.reseeded(&final_stage)
        };
        control.expect((stage.points.end - stage.points.start) * u64::from(job.groups()));
        let round = round(at, stage.points)?;
        control.check()?;
        if stage.fresh {
            totals.fill(stats::Figures::default());
        }
        for (total, round) in totals.iter_mut().zip(round) {
            *total = total.merge(round);
        }
        Ok(pricing::estimate(job, &totals))
    })?;
    let estimate = stopped.estimate;
    let elapsed_s = start.elapsed().as_secs_f64();
    for (quantity, value) in [("price", estimate.price), ("std_error", estimate.std_error)] {
        if !value.is_finite() {
            return Err(job.overflow(quantity, value).into());
        }
    }
    let greeks = pricing::greeks_estimate(job, &totals);
    if let Some((quantity, value)) = greeks.as_ref().and_then(pricing::Greeks::first_non_finite) {
        return Err(job.overflow(&quantity, value).into());
    }
    let per_sample = u64::from(job.groups()) * job.paths_per_sample();
    let mut warnings = selected.warnings.clone();
    let knocked = job
        .option
        .barrier
        .is_some_and(|b| b.breached_at(job.market.spot));
    if let Some(barrier) = job.option.barrier
        && knocked
    {
        warnings.push(format!(
            "the spot {} is already at or beyond the {} barrier {}: the option is knocked {} at the start, so it is {}",
            job.market.spot,
            barrier.kind,
            barrier.level,
            if barrier.kind.is_in() { "in" } else { "out" },
            if barrier.kind.is_in() {
                "the vanilla option"
            } else {
                "worth its rebate paid at expiry"
            }
        ));
    }
    warnings.extend(pricing::spread_warning(&estimate, knocked));
    warnings.extend(stopped.miss_warning(most));
    let (closed_form, why_none) = job.closed_form_or_why();
    warnings.extend(why_none);
    warnings.extend(greeks::warning(job));
    Ok(PricingResult {
        closed_form,
        model: job.model,
        method: job.method(),
        target_reached: stopped.target_reached,
        pilot_paths: stopped.target_reached.map(|_| stopped.pilot * per_sample),
        greeks,
        ..priced(
            &estimate,
            selected,
            warnings,
            stopped.taken() * per_sample,
            job.seed,
            elapsed_s,
        )
    })
}

/// A result's figures from `estimate` and its provenance from the tier
/// `selected` (Black-Scholes, no closed form, no Greeks, no target: the
/// caller says otherwise).
fn priced(
    estimate: &pricing::Estimate,
    selected: &Selected,
    warnings: Vec<String>,
    paths: u64,
    seed: u64,
    elapsed_s: f64,
) -> PricingResult {
    let tier = &*selected.tier;
    PricingResult {
        price: estimate.price,
        std_error: estimate.std_error,
        ci95: [
            estimate.price - estimate.half_width,
            estimate.price + estimate.half_width,
        ],
        closed_form: None,
        paths,
        model: models::Model::default(),
        method: String::new(),
        variance_reduction: estimate.variance_reduction,
        control_coefficient: estimate.control_coefficient,
        target_reached: None,
        pilot_paths: None,
        greeks: None,
        seed,
        tier: tier.tier(),
        backend: tier.describe(),
        selection: selected.reason.clone(),
        warnings,
        elapsed_s,
        paths_per_sec: paths as f64 / elapsed_s.max(f64::MIN_POSITIVE),
    }
}

/// Prices a European option on several correlated assets ([`basket`]) on
/// the tier `options` asks for: every tier runs baskets (the GPU without
/// per-asset Greeks, [`backend::basket_gpu_problem`]; Auto picks it only
/// where it can run the job).
///
/// The job is validated and compiled once ([`basket::BasketJob::plan`]);
/// nothing runs on bad input.
pub fn price_basket(
    job: &basket::BasketJob,
    options: impl Into<RunOptions>,
) -> Result<basket::BasketResult> {
    price_basket_with(job, options, &control::UNWATCHED)
}

/// [`price_basket`], reporting progress to `control` and stopping with
/// [`Error::Cancelled`] soon after [`Control::cancel`].
pub fn price_basket_with(
    job: &basket::BasketJob,
    options: impl Into<RunOptions>,
    control: &Control,
) -> Result<basket::BasketResult> {
    let plan = job.plan()?;
    let selected = resolve(&options.into(), selector::Work::basket(job, &plan))?;
    let tier = &*selected.tier;
    let start = Instant::now();
    // Rounds as a single-asset job's (see `price`): each a fixed range of
    // every group's samples, the decisions on the figures alone.
    let (first, most) = (plan.samples, job.max_samples() / u64::from(job.groups()));
    let final_plan = basket::BasketPlan {
        seed: stopping::final_seed(plan.seed),
        ..plan.clone()
    };
    let mut groups = vec![basket::BasketFigures::default(); job.groups() as usize];
    let stages = stopping::Stages {
        target: job.target,
        sampler: job.sampler,
        groups: job.groups(),
        seed: plan.seed,
        first,
        most,
    };
    let stopped = stopping::run(stages, &mut |stage| {
        let at = if stage.seed == plan.seed {
            &plan
        } else {
            &final_plan
        };
        let round = tier.price_basket(at, stage.points, control)?;
        control.check()?;
        if stage.fresh {
            groups.fill(basket::BasketFigures::default());
        }
        for (total, round) in groups.iter_mut().zip(round) {
            *total = std::mem::take(total).merge(round);
        }
        let moments: Vec<stats::Figures> = groups
            .iter()
            .map(|g| stats::Figures {
                moments: g.moments,
                greeks: None,
            })
            .collect();
        Ok(pricing::estimate_from(
            &moments,
            plan.discount,
            plan.control.then_some(plan.control_mean),
            job.sampler,
        ))
    })?;
    let estimate = stopped.estimate;
    let elapsed_s = start.elapsed().as_secs_f64();
    for (quantity, value) in [("price", estimate.price), ("std_error", estimate.std_error)] {
        if !value.is_finite() {
            return Err(job.overflow(quantity, value).into());
        }
    }
    let mut warnings = selected.warnings.clone();
    warnings.extend(pricing::spread_warning(&estimate, false));
    warnings.extend(stopped.miss_warning(most));
    if let Some(change) = plan.correlation_repaired {
        warnings.push(format!(
            "the correlation matrix was not positive semi-definite; priced with the nearest one \
             that is (largest change of an entry {change:.3e})"
        ));
    }
    let per_sample = u64::from(job.groups()) * if job.antithetic { 2 } else { 1 };
    let asset_greeks = plan.greeks.then(|| {
        let d = plan.assets;
        let greek = |i: usize| {
            let per_group: Vec<stats::Moments> = groups
                .iter()
                .map(|g| g.greeks.get(i).copied().unwrap_or_default())
                .collect();
            pricing::pooled_greek(&per_group, job.sampler, plan.discount)
        };
        job.assets
            .assets
            .iter()
            .enumerate()
            .map(|(a, asset)| basket::AssetGreeks {
                asset: asset.name.clone(),
                delta: greek(a),
                vega: greek(d + a),
            })
            .collect::<Vec<_>>()
    });
    for greeks in asset_greeks.iter().flatten() {
        let name = |greek: &str| format!("{} {greek}", greeks.asset);
        let bad = (greeks.delta.non_finite(&name("delta")))
            .or_else(|| greeks.vega.non_finite(&name("vega")));
        if let Some((quantity, value)) = bad {
            return Err(job.overflow(&quantity, value).into());
        }
    }
    Ok(basket::BasketResult {
        pricing: PricingResult {
            closed_form: job.closed_form(),
            method: job.method(),
            target_reached: stopped.target_reached,
            pilot_paths: stopped.target_reached.map(|_| stopped.pilot * per_sample),
            ..priced(
                &estimate,
                &selected,
                warnings,
                stopped.taken() * per_sample,
                job.seed,
                elapsed_s,
            )
        },
        style: job.style,
        assets: job.assets.assets.iter().map(|a| a.name.clone()).collect(),
        geometric_basket: job.geometric_basket(),
        correlation_repaired: plan.correlation_repaired,
        asset_greeks,
    })
}

/// Prices an option with early exercise ([`exercise`]) by Longstaff-Schwartz
/// on the tier `options` asks for: the policy is fitted on the calibration
/// paths, then the pricing paths follow it, in rounds toward a target as
/// [`price`]'s. The CPU tiers run it (Auto never picks the GPU for it, and
/// asking for the GPU is an error naming the tier).
///
/// The job is validated and compiled once; nothing runs on bad input.
pub fn price_exercise(
    job: &exercise::ExerciseJob,
    options: impl Into<RunOptions>,
) -> Result<exercise::ExerciseResult> {
    price_exercise_with(job, options, &control::UNWATCHED)
}

/// [`price_exercise`], reporting progress to `control` and stopping with
/// [`Error::Cancelled`] soon after [`Control::cancel`].
pub fn price_exercise_with(
    job: &exercise::ExerciseJob,
    options: impl Into<RunOptions>,
    control: &Control,
) -> Result<exercise::ExerciseResult> {
    let plan = job.plan()?;
    let selected = resolve(&options.into(), selector::Work::exercise(job))?;
    let pricing = &job.job;
    let run = exercise_passes(
        &selected,
        exercise::PlanRef::Asset(&plan),
        ExerciseTerms {
            degree: job.degree,
            regressors: job.regressors(),
            target: pricing.target,
            sampler: pricing.sampler,
            samples: pricing.samples(),
            max_samples: pricing.max_samples(),
            antithetic: pricing.antithetic,
            control_mean: plan.control.then_some(plan.control_mean),
            greeks: pricing.greeks.is_some(),
            upper_bound: job.upper_bound,
        },
        control,
    )?;
    let greeks = run.after.greeks.map(|moments| {
        let greek = |i: usize| {
            let m: stats::Moments = moments[i];
            pricing::Greek {
                value: m.mean,
                std_error: m.std_dev() / (m.count.max(1) as f64).sqrt(),
            }
        };
        pricing::Greeks {
            delta: greek(0),
            gamma: greek(1),
            vega: greek(2),
            rho: greek(3),
            theta: greek(4),
            method: exercise::GREEKS_METHOD.to_string(),
        }
    });
    if let Some((quantity, value)) = greeks.as_ref().and_then(pricing::Greeks::first_non_finite) {
        return Err(pricing.overflow(&quantity, value).into());
    }
    let (lattice, american) = job.references();
    Ok(exercise::ExerciseResult {
        pricing: PricingResult {
            closed_form: lattice,
            greeks,
            method: job.method(),
            ..run.pricing
        },
        exercise: job.exercise,
        american,
        policy: run.policy,
        upper_bound: run.upper_bound,
    })
}

/// Prices a basket, worst-of, best-of or spread with early exercise
/// ([`exercise::basket`]) by Longstaff-Schwartz, as [`price_exercise`]
/// prices one asset: the same two passes and duality bound, each path a
/// basket's correlated walk. The CPU tiers run it; there is no lattice
/// beside it (the duality bound is the check).
///
/// The job is validated and compiled once; nothing runs on bad input.
pub fn price_basket_exercise(
    job: &exercise::ExerciseJob<basket::BasketJob>,
    options: impl Into<RunOptions>,
) -> Result<exercise::ExerciseResult> {
    price_basket_exercise_with(job, options, &control::UNWATCHED)
}

/// [`price_basket_exercise`], reporting progress to `control` and stopping
/// with [`Error::Cancelled`] soon after [`Control::cancel`].
pub fn price_basket_exercise_with(
    job: &exercise::ExerciseJob<basket::BasketJob>,
    options: impl Into<RunOptions>,
    control: &Control,
) -> Result<exercise::ExerciseResult> {
    let plan = job.plan()?;
    let selected = resolve(&options.into(), selector::Work::basket_exercise(job))?;
    let basket = &job.job;
    let mut run = exercise_passes(
        &selected,
        exercise::PlanRef::Basket(&plan),
        ExerciseTerms {
            degree: job.degree,
            regressors: job.regressors(),
            target: basket.target,
            sampler: basket.sampler,
            samples: basket.samples(),
            max_samples: basket.max_samples(),
            antithetic: basket.antithetic,
            control_mean: plan.control.then_some(plan.control_mean),
            greeks: false,
            upper_bound: job.upper_bound,
        },
        control,
    )?;
    for (quantity, value) in [
        ("price", run.pricing.price),
        ("std_error", run.pricing.std_error),
    ] {
        if !value.is_finite() {
            return Err(basket.overflow(quantity, value).into());
        }
    }
    if let Some(change) = plan.basket.correlation_repaired {
        run.pricing.warnings.push(format!(
            "the correlation matrix was not positive semi-definite; priced with the nearest one \
             that is (largest change of an entry {change:.3e})"
        ));
    }
    Ok(exercise::ExerciseResult {
        pricing: PricingResult {
            method: job.method(),
            ..run.pricing
        },
        exercise: job.exercise,
        american: None,
        policy: run.policy,
        upper_bound: run.upper_bound,
    })
}

/// What the early-exercise passes read of a job besides its plan.
struct ExerciseTerms {
    degree: u32,
    regressors: usize,
    target: Option<pricing::Target>,
    sampler: pricing::Sampler,
    samples: u64,
    max_samples: u64,
    antithetic: bool,
    control_mean: Option<f64>,
    greeks: bool,
    upper_bound: Option<exercise::UpperBound>,
}

/// What the early-exercise passes gave: the pricing result (no reference,
/// Greeks or method yet), the policy, the passes after pricing and the
/// upper bound.
struct ExerciseRun {
    pricing: PricingResult,
    policy: exercise::Policy,
    after: exercise::AfterPriced,
    upper_bound: Option<exercise::UpperBoundResult>,
}

/// The passes of an early-exercise job on the selected tier: the policy
/// fitted on the calibration paths, the pricing paths following it in
/// rounds toward a target as [`price`]'s, then the Greeks and the duality
/// bound as asked; a warning for each date that holds.
fn exercise_passes(
    selected: &Selected,
    plan: exercise::PlanRef<'_>,
    terms: ExerciseTerms,
    control: &Control,
) -> Result<ExerciseRun> {
    let tier = &*selected.tier;
    let start = Instant::now();
    let policy = tier.calibrate_exercise(plan, terms.degree, control)?;
    let final_plan = plan.reseeded(stopping::final_seed(plan.seed()));
    let mut total = stats::Figures::default();
    let stages = stopping::Stages {
        target: terms.target,
        sampler: terms.sampler,
        groups: 1,
        seed: plan.seed(),
        first: terms.samples,
        most: terms.max_samples,
    };
    let stopped = stopping::run(stages, &mut |stage| {
        let at = if stage.seed == plan.seed() {
            plan
        } else {
            final_plan.as_ref()
        };
        let round = tier.price_exercise(at, &policy, stage.points, control)?;
        control.check()?;
        if stage.fresh {
            total = stats::Figures::default();
        }
        total = std::mem::take(&mut total).merge(round);
        Ok(pricing::estimate_from(
            std::slice::from_ref(&total),
            1.0,
            terms.control_mean,
            terms.sampler,
        ))
    })?;
    let estimate = stopped.estimate;
    // The Greeks re-walk the estimate's paths, on its streams.
    let priced_plan = if stopped.seed == plan.seed() {
        plan
    } else {
        final_plan.as_ref()
    };
    let after = tier.exercise_after_pricing(
        priced_plan,
        &policy,
        exercise::AfterPricing {
            greeks_of: terms.greeks.then_some(estimate.samples),
            upper_bound: terms.upper_bound,
        },
        control,
    )?;
    let upper_bound = terms.upper_bound.zip(after.gaps).map(|(bound, gaps)| {
        exercise::UpperBoundResult::of(estimate.price, estimate.std_error, &gaps, bound)
    });
    let elapsed_s = start.elapsed().as_secs_f64();
    let mut warnings = selected.warnings.clone();
    warnings.extend(pricing::spread_warning(&estimate, false));
    warnings.extend(stopped.miss_warning(terms.max_samples));
    if !policy.held_dates.is_empty() {
        warnings.push(format!(
            "{} of {} exercise dates hold (never exercise): too few of the {} calibration paths \
             in the money to fit the {} regressors there, or regressors rank deficient (dates {:?})",
            policy.held_dates.len(),
            policy.dates,
            policy.calibration_paths,
            terms.regressors,
            policy.held_dates
        ));
    }
    let per_sample = if terms.antithetic { 2 } else { 1 };
    Ok(ExerciseRun {
        pricing: PricingResult {
            target_reached: stopped.target_reached,
            pilot_paths: stopped.target_reached.map(|_| stopped.pilot * per_sample),
            ..priced(
                &estimate,
                selected,
                warnings,
                stopped.taken() * per_sample,
                plan.seed(),
                elapsed_s,
            )
        },
        policy,
        after,
        upper_bound,
    })
}

/// Simulates `job`'s P&L and measures VaR and ES at each confidence level.
///
/// The job is validated first; nothing runs on bad input.
pub fn var(job: &VarJob, options: impl Into<RunOptions>) -> Result<VarResult> {
    var_with(job, options, &control::UNWATCHED)
}

/// [`var`], reporting progress to `control` and stopping with
/// [`Error::Cancelled`] soon after [`Control::cancel`] (see [`control`]).
pub fn var_with(
    job: &VarJob,
    options: impl Into<RunOptions>,
    control: &Control,
) -> Result<VarResult> {
    let valid = job.checked()?.watched(control);
    let selected = resolve(&options.into(), selector::Work::risk(job, valid.model()))?;
    let tier = &*selected.tier;
    var_from(&valid, &selected, &|| tier.risk(&valid))
}

/// The result of a VaR run on `selected`'s tier whose P&L summary comes
/// from `estimate`: the tier's own `risk`, or several processes' streamed
/// passes ([`distributed`]).
pub(crate) fn var_from(
    valid: &risk::ValidVar<'_>,
    selected: &Selected,
    estimate: &dyn Fn() -> Result<risk::RiskEstimate>,
) -> Result<VarResult> {
    let job = &**valid;
    let model = valid.model();
    let control = valid.control();
    let tier = &*selected.tier;
    let start = Instant::now();
    let estimate = estimate()?;
    control.check()?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let levels: Vec<RiskLevel> = job
        .confidences
        .iter()
        .zip(&estimate.tails)
        .zip(job.closed_forms(model)?)
        .map(|((confidence, tail), closed)| RiskLevel {
            confidence: confidence.clone(),
            var: tail.var,
            es: tail.es,
            parametric_var: closed.parametric.var,
            parametric_es: closed.parametric.es,
            delta_gamma_var: closed.delta_gamma.map(|t| t.var),
            delta_gamma_es: closed.delta_gamma.map(|t| t.es),
        })
        .collect();
    let figures = [("mean", estimate.mean), ("std", estimate.std_dev)]
        .into_iter()
        .chain(levels.iter().flat_map(|level| {
            [
                ("VaR", level.var),
                ("ES", level.es),
                ("parametric VaR", level.parametric_var),
                ("parametric ES", level.parametric_es),
                ("delta-gamma VaR", level.delta_gamma_var.unwrap_or(0.0)),
                ("delta-gamma ES", level.delta_gamma_es.unwrap_or(0.0)),
            ]
        }));
    for (quantity, value) in figures {
        if !value.is_finite() {
            return Err(InputError::Overflow {
                quantity: quantity.to_string(),
                value: format!("{value:?}"),
                inputs: format!(
                    "portfolio value = {:?}, horizon_days = {:?}, and the assets' weights, mu and sigma, and the options' fields",
                    job.portfolio.value, job.horizon_days
                ),
            }
            .into());
        }
    }
    let mut warnings = selected.warnings.clone();
    warnings.extend(levels.iter().flat_map(risk::level_warnings));
    if let Some(dof) = model.dof
        && levels.iter().any(|l| l.delta_gamma_var.is_some())
    {
        warnings.push(risk::normal_delta_gamma_warning(dof));
    }
    Ok(VarResult {
        scenarios: job.scenarios,
        seed: job.seed,
        tier: tier.tier(),
        backend: tier.describe(),
        selection: selected.reason.clone(),
        warnings,
        elapsed_s,
        mean: estimate.mean,
        std: estimate.std_dev,
        levels,
    })
}
