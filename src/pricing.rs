//! Option pricing jobs and results: plain data, validated before any work.

use serde::{Deserialize, Serialize};

use crate::error::InputError;
pub use crate::market::{Market, OptionKind};
pub use crate::products::{OptionSpec, PathSetup, Style};
use crate::tier::Tier;

/// One pricing run: what to price, how many paths, which stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PricingJob {
    /// The market the option is priced in.
    pub market: Market,
    /// The contract.
    pub option: OptionSpec,
    /// Number of simulated paths, >= 1 (even with `antithetic`).
    pub paths: u64,
    /// Selects the Philox key; the same seed gives the same sample on every tier.
    pub seed: u64,
    /// Pair every path with its mirror image (`z` and `-z`); `paths / 2` pairs.
    pub antithetic: bool,
}

impl PricingJob {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        self.market.validate()?;
        self.option.validate()?;
        if self.antithetic && !self.paths.is_multiple_of(2) {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "must be even with antithetic sampling (paths are simulated in pairs)",
            ));
        }
        if self.samples() < 2 {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                if self.antithetic {
                    "must be at least 4 with antithetic sampling: a standard error needs 2 pairs"
                } else {
                    "must be at least 2: a standard error needs 2 samples"
                },
            ));
        }
        if self.paths > MAX_PATHS {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "exceeds the largest supported count, 2^52",
            ));
        }
        // Each input is in range; their combination must still leave the
        // scheme's constants finite and the discount factor meaningful.
        let setup = self.setup();
        let discount = self.discount();
        for (quantity, value) in [
            ("drift per step", setup.drift),
            ("diffusion per step", setup.diffusion),
            ("discount factor", discount),
        ] {
            if !value.is_finite() || (quantity == "discount factor" && value == 0.0) {
                return Err(self.overflow(quantity, value));
            }
        }
        Ok(())
    }

    /// The error for a non-finite `quantity`, naming the job's inputs.
    pub(crate) fn overflow(&self, quantity: &str, value: f64) -> InputError {
        let Market {
            spot,
            rate,
            dividend,
            vol,
        } = self.market;
        InputError::Overflow {
            quantity: quantity.to_string(),
            value: format!("{value:?}"),
            inputs: format!(
                "spot = {spot:?}, strike = {:?}, maturity = {:?}, rate = {rate:?}, dividend = {dividend:?}, vol = {vol:?}",
                self.option.strike, self.option.maturity
            ),
        }
    }

    /// Independent samples the estimator averages: paths, or pairs when antithetic.
    pub fn samples(&self) -> u64 {
        if self.antithetic {
            self.paths / 2
        } else {
            self.paths
        }
    }

    /// The per-step constants of the job's paths.
    pub fn setup(&self) -> PathSetup {
        PathSetup::new(&self.market, &self.option)
    }

    /// The closed-form price of the job's option, where one is known.
    pub fn closed_form(&self) -> Option<f64> {
        self.option.style.closed_form(&self.market, &self.option)
    }

    /// `exp(-rate * maturity)`.
    pub fn discount(&self) -> f64 {
        (-self.market.rate * self.option.maturity).exp()
    }
}

/// A job that has passed [`PricingJob::validate`]: the only form the compute
/// tiers accept, so no tier ever runs on unchecked input.
#[derive(Debug, Clone, Copy)]
pub struct ValidPricing<'a>(&'a PricingJob);

impl<'a> ValidPricing<'a> {
    /// Validates `job`.
    pub fn new(job: &'a PricingJob) -> Result<Self, InputError> {
        job.validate()?;
        Ok(Self(job))
    }
}

impl std::ops::Deref for ValidPricing<'_> {
    type Target = PricingJob;
    fn deref(&self) -> &PricingJob {
        self.0
    }
}

/// Largest path or scenario count: indices stay exact in f64 and in the
/// 64-bit Philox index.
pub const MAX_PATHS: u64 = 1 << 52;

/// What a backend measures: the sample mean and standard deviation of the
/// discounted payoff (over pair averages when antithetic).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PricingEstimate {
    /// Mean discounted payoff.
    pub mean: f64,
    /// Standard deviation of one sample's discounted payoff.
    pub std_dev: f64,
    /// Independent samples (paths, or pairs when antithetic).
    pub samples: u64,
}

/// A priced option with its uncertainty and provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingResult {
    /// Monte Carlo estimate of the discounted expected payoff.
    pub price: f64,
    /// Standard error of `price`.
    pub std_error: f64,
    /// 95% confidence interval, `price -/+ 1.96 std_error`.
    pub ci95: [f64; 2],
    /// The closed-form price where one exists (European, geometric Asian), so the
    /// estimate can be checked at a glance; `None` for the arithmetic Asian.
    pub closed_form: Option<f64>,
    /// Simulated paths.
    pub paths: u64,
    /// The seed of the Philox streams.
    pub seed: u64,
    /// The tier that ran, for scripts: `scalar`, `simd`, `rayon` or `gpu`.
    pub tier: Tier,
    /// The tier that ran, with what it ran on.
    pub backend: String,
    /// Why that tier: `requested`, or `Backend::Auto`'s reason.
    pub selection: String,
    /// What the caller should know about the run (e.g. a GPU that could not
    /// start); empty when there is nothing to say.
    pub warnings: Vec<String>,
    /// Seconds the tier spent on the job.
    pub elapsed_s: f64,
    /// `paths / elapsed_s`.
    pub paths_per_sec: f64,
}
