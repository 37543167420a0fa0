//! Option pricing jobs and results: plain data, validated before any work.

use serde::{Deserialize, Serialize};

use crate::control::Control;
use crate::error::{InputError, named_choices};
pub use crate::market::{Market, OptionKind};
pub use crate::models::Model;
pub use crate::products::{OptionSpec, PathSetup, Style};
use crate::rng::qmc::{MAX_DIMENSIONS, MAX_POINTS};
use crate::stats::{CoMoments, Figures, GREEKS, Moments};
use crate::tier::Tier;

/// Where a path's normals come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampler {
    /// Plain Monte Carlo: Philox streams ([`crate::rng`]).
    #[default]
    Mc,
    /// Randomized quasi-Monte Carlo: Owen-scrambled Sobol points through a
    /// Brownian bridge, in independent replicates ([`crate::rng::qmc`]).
    Rqmc,
}

named_choices!(Sampler, "sampler", [Sampler::Mc => "mc", Sampler::Rqmc => "rqmc"]);

/// How the Greeks are estimated (see [`crate::greeks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GreeksMethod {
    /// One pass, no repricing: pathwise derivatives where the payoff is
    /// continuous in the path, likelihood ratios where it jumps (digitals,
    /// discretely watched barriers), gamma mixed.
    Pathwise,
    /// Bump and revalue each sample on its own normals (common random
    /// numbers): 2n + 1 = 9 paths per sample.
    Fd,
}

named_choices!(GreeksMethod, "greeks-method", [GreeksMethod::Pathwise => "pathwise", GreeksMethod::Fd => "fd"]);

/// One Greek's estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Greek {
    /// The estimate.
    pub value: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// The five Greeks, in QuantLib's units: per unit change of the spot
/// (delta, gamma), of the volatility (vega, per 1.00) and of the rate (rho,
/// per 1.00); theta is `-dV/dT` per year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Greeks {
    /// dV/dS.
    pub delta: Greek,
    /// d2V/dS2.
    pub gamma: Greek,
    /// dV/dvol.
    pub vega: Greek,
    /// dV/dr.
    pub rho: Greek,
    /// -dV/dT.
    pub theta: Greek,
    /// Which estimators gave them, in words.
    pub method: String,
}

impl Greek {
    /// The quantity of Greek `name` (`"gamma"`, or `"gamma std_error"`)
    /// that is not a finite number, and its value.
    pub fn non_finite(&self, name: &str) -> Option<(String, f64)> {
        if !self.value.is_finite() {
            Some((name.to_string(), self.value))
        } else if !self.std_error.is_finite() {
            Some((format!("{name} std_error"), self.std_error))
        } else {
            None
        }
    }
}

impl Greeks {
    /// The first Greek ([`Greek::non_finite`]) that is not a finite number,
    /// and its value: a result must never print one.
    pub fn first_non_finite(&self) -> Option<(String, f64)> {
        [
            ("delta", &self.delta),
            ("gamma", &self.gamma),
            ("vega", &self.vega),
            ("rho", &self.rho),
            ("theta", &self.theta),
        ]
        .into_iter()
        .find_map(|(name, greek)| greek.non_finite(name))
    }
}

/// Most draws one path takes (time steps times the model's factors, or
/// times a basket's assets): the tiers hold a path's draws (and, for
/// Greeks and QMC, per-step terms) in buffers, so a path's memory grows
/// with its steps; 2^20 is a minute's fixings for two years, and keeps
/// every thread's buffers under about 300 MB.
pub const MAX_PATH_DRAWS: u64 = 1 << 20;

/// Replicates of a randomized QMC run unless the job says otherwise.
pub const DEFAULT_REPLICATES: u32 = 16;
/// Most replicates of a randomized QMC run.
pub const MAX_REPLICATES: u32 = 1 << 16;

fn default_replicates() -> u32 {
    DEFAULT_REPLICATES
}

/// The precision a run with a target stops at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// A standard error of the price at most this, in price units.
    StdError(f64),
    /// A standard error at most this fraction of the price's magnitude.
    RelStdError(f64),
}

/// Run until the standard error reaches `precision`, within `max_paths`
/// paths: a pilot of the job's `paths` sizes a final stage of fresh paths,
/// whose samples alone make the estimate ([`crate::stopping`]); every
/// stage is a fixed range of paths chosen from the figures before it, so a
/// seed still gives one answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The standard error to reach.
    pub precision: Precision,
    /// The most paths the run may take, pilot and final stage together: at
    /// least two first rounds.
    pub max_paths: u64,
}

/// One pricing run: what to price, how many paths, which stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PricingJob {
    /// The market the option is priced in: the spot, the rate and the
    /// dividend yield for every model; the volatility for the models that
    /// read it (Black-Scholes, Merton).
    pub market: Market,
    /// What moves the paths: Black-Scholes unless the job says otherwise.
    #[serde(default)]
    pub model: Model,
    /// The contract.
    pub option: OptionSpec,
    /// Number of simulated paths, >= 1 (even with `antithetic`).
    pub paths: u64,
    /// Selects the Philox key; the same seed gives the same sample on every tier.
    pub seed: u64,
    /// Pair every path with its mirror image (`z` and `-z`); `paths / 2` pairs.
    pub antithetic: bool,
    /// Correct the estimate with the product's control variate (its
    /// coefficient fitted from the run, the standard error from the residuals).
    #[serde(default)]
    pub control_variate: bool,
    /// Plain Monte Carlo or randomized quasi-Monte Carlo.
    #[serde(default)]
    pub sampler: Sampler,
    /// Independent randomizations of a randomized QMC run, >= 2 (ignored by
    /// plain Monte Carlo); `paths` is split evenly between them.
    #[serde(default = "default_replicates")]
    pub replicates: u32,
    /// Keep adding paths until this precision is reached; `None` runs
    /// exactly `paths`.
    #[serde(default)]
    pub target: Option<Target>,
    /// Estimate delta, gamma, vega, rho and theta in the same pass, and how.
    #[serde(default)]
    pub greeks: Option<GreeksMethod>,
}

impl Default for PricingJob {
    /// The CLI's defaults: an at-the-money one-year European call, 10^6 plain
    /// Monte Carlo paths, seed 42.
    fn default() -> Self {
        Self {
            market: Market {
                spot: 100.0,
                rate: 0.05,
                dividend: 0.0,
                vol: 0.2,
            },
            model: Model::default(),
            option: OptionSpec {
                kind: OptionKind::Call,
                style: Style::European,
                strike: 100.0,
                maturity: 1.0,
                steps: 1,
                barrier: None,
            },
            paths: 1_000_000,
            seed: 42,
            antithetic: false,
            control_variate: false,
            sampler: Sampler::Mc,
            replicates: DEFAULT_REPLICATES,
            target: None,
            greeks: None,
        }
    }
}

impl PricingJob {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        self.validate_on(self.time_steps())
    }

    /// [`PricingJob::validate`] for paths of `time_steps` steps (an
    /// early-exercise job steps to every date whatever its European
    /// pricing would take).
    pub(crate) fn validate_on(&self, time_steps: u32) -> Result<(), InputError> {
        self.market.validate()?;
        self.option.validate()?;
        self.validate_model(time_steps)?;
        let draws = u64::from(time_steps) * u64::from(self.model.factors());
        if draws > MAX_PATH_DRAWS {
            return Err(InputError::invalid(
                "steps",
                self.option.steps,
                &format!(
                    "gives {draws} draws a path ({} a step under the {} model); at most 2^20 are \
                     supported, so that a path's buffers stay bounded (up to about 300 bytes a \
                     draw and thread with Greeks)",
                    self.model.factors(),
                    self.model.kind()
                ),
            ));
        }
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
        self.validate_method()?;
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
        let crossing = if self.option.barrier.is_some() {
            setup.terms::<f64>().bridge
        } else {
            -1.0
        };
        for (quantity, value) in [
            ("drift per step", setup.drift),
            ("diffusion per step", setup.diffusion),
            ("discount factor", discount),
            ("barrier-crossing exponent -2 / (vol^2 dt)", crossing),
        ] {
            if !value.is_finite() || (quantity == "discount factor" && value == 0.0) {
                return Err(self.overflow(quantity, value));
            }
        }
        Ok(())
    }

    /// Checks the model and what it is asked to carry.
    fn validate_model(&self, time_steps: u32) -> Result<(), InputError> {
        self.model.validate()?;
        if self.model.is_black_scholes() {
            return Ok(());
        }
        let model = self.model.kind();
        if self.option.steps == 0 {
            return Err(InputError::invalid(
                "steps",
                self.option.steps,
                &format!("the {model} model takes at least 1 time step"),
            ));
        }
        if self.model.jumps()
            && let Some(barrier) = self.option.barrier
            && barrier.monitoring == crate::market::Monitoring::Continuous
        {
            return Err(InputError::invalid(
                "monitoring",
                "continuous",
                &format!(
                    "a continuously watched barrier cannot be bridged across the {model} \
                     model's jumps (a jump between fixings may cross it unseen): use discrete \
                     monitoring with more --steps"
                ),
            ));
        }
        if self.greeks == Some(GreeksMethod::Pathwise) {
            return Err(InputError::invalid(
                "greeks-method",
                "pathwise",
                &format!(
                    "pathwise and likelihood-ratio Greeks are Black-Scholes' for now; under the \
                     {model} model use finite differences (--greeks-method fd)"
                ),
            ));
        }
        let dt = self.option.maturity / f64::from(time_steps);
        self.model.validate_step(dt)
    }

    /// Time steps a path takes ([`OptionSpec::time_steps_under`] the job's
    /// model).
    pub fn time_steps(&self) -> u32 {
        self.option.time_steps_under(&self.model)
    }

    /// Draws a path consumes: its steps times the model's factors (the
    /// Sobol dimensions of a randomized QMC point).
    pub fn draws(&self) -> u64 {
        u64::from(self.time_steps()) * u64::from(self.model.factors())
    }

    /// Checks the sampler, the replicates and the target.
    fn validate_method(&self) -> Result<(), InputError> {
        if self.control_variate && self.samples() < 3 {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "gives fewer than 3 samples: a control-variate standard error needs 3",
            ));
        }
        if self.sampler == Sampler::Rqmc {
            if !(2..=MAX_REPLICATES).contains(&self.replicates) {
                return Err(InputError::invalid(
                    "replicates",
                    self.replicates,
                    &format!(
                        "must be from 2 (a standard error needs two replicates) to {MAX_REPLICATES}"
                    ),
                ));
            }
            if !self.samples().is_multiple_of(u64::from(self.replicates)) {
                return Err(InputError::invalid(
                    "paths",
                    self.paths,
                    &format!(
                        "must split evenly into {} replicates{} with the rqmc sampler",
                        self.replicates,
                        if self.antithetic { " of pairs" } else { "" }
                    ),
                ));
            }
            if self.draws() > u64::from(MAX_DIMENSIONS) {
                return Err(InputError::invalid(
                    "steps",
                    self.option.steps,
                    &format!(
                        "exceeds the {MAX_DIMENSIONS} Sobol dimensions of the rqmc sampler (one per \
                         step and factor; the {} model draws {} a step)",
                        self.model.kind(),
                        self.model.factors()
                    ),
                ));
            }
        }
        if let Some(target) = self.target {
            validate_target(&target, self.paths)?;
        }
        if self.sampler == Sampler::Rqmc
            && self.points_per_replicate(self.max_samples()) > MAX_POINTS
        {
            return Err(InputError::invalid(
                if self.target.is_some() {
                    "max-paths"
                } else {
                    "paths"
                },
                self.target.map_or(self.paths, |t| t.max_paths),
                "gives more than 2^32 points per replicate, the Sobol sequence's length",
            ));
        }
        Ok(())
    }

    /// The estimators' independent groups: the replicates of a randomized QMC
    /// run, 1 for plain Monte Carlo.
    pub fn groups(&self) -> u32 {
        match self.sampler {
            Sampler::Mc => 1,
            Sampler::Rqmc => self.replicates,
        }
    }

    /// Paths per sample: 2 for antithetic pairs, else 1.
    pub fn paths_per_sample(&self) -> u64 {
        if self.antithetic { 2 } else { 1 }
    }

    /// Samples of each group when the run takes `samples` samples in all.
    pub fn points_per_replicate(&self, samples: u64) -> u64 {
        samples / u64::from(self.groups())
    }

    /// Most samples the run may take: the target's `max_paths`, or `paths`.
    pub fn max_samples(&self) -> u64 {
        self.target.map_or(self.paths, |t| t.max_paths) / self.paths_per_sample()
    }

    /// The method in words, e.g. `mc`, `mc + antithetic + control variate` or
    /// `rqmc (16 replicates)`.
    pub fn method(&self) -> String {
        let mut method = match self.sampler {
            Sampler::Mc => "mc".to_string(),
            Sampler::Rqmc => format!(
                "rqmc (Owen-scrambled Sobol, Brownian bridge, {} replicates)",
                self.replicates
            ),
        };
        if self.antithetic {
            method.push_str(" + antithetic");
        }
        if self.control_variate {
            method.push_str(" + control variate");
        }
        method
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
        PathSetup::new(&self.market, &self.model, &self.option)
    }

    /// The closed-form (or semi-analytic) price of the job's option, where
    /// one is known: every Black-Scholes product's but the arithmetic
    /// Asian's; the European and the digital under the other models.
    /// Every such price is at least 0: a formula's rounding below it (a
    /// barrier's `-2e-14`) reads 0, and a formula whose terms overflow f64
    /// at these inputs gives `None` ([`PricingJob::closed_form_or_why`]
    /// says why).
    pub fn closed_form(&self) -> Option<f64> {
        self.closed_form_or_why().0
    }

    /// [`PricingJob::closed_form`], evaluated once (under Heston and Bates
    /// it is a quadrature), and why a product that has a closed form has
    /// none at these inputs: its formula's terms overflow f64 (a continuous
    /// barrier at a very low volatility raises `H/S` to a power of
    /// `2 (r - q) / vol^2`).
    pub fn closed_form_or_why(&self) -> (Option<f64>, Option<String>) {
        match self.raw_closed_form() {
            Some(value) if value.is_finite() => (Some(value.max(0.0) + 0.0), None),
            Some(_) => (
                None,
                Some(
                    "no closed form is shown: its formula is not finite in f64 at these inputs \
                     (a continuous barrier at a very low volatility raises H/S to the power \
                     2 (r - q) / vol^2; an at-the-money digital at a volatility that underflows \
                     has no limit)"
                        .to_string(),
                ),
            ),
            None => (None, None),
        }
    }

    fn raw_closed_form(&self) -> Option<f64> {
        if self.model.is_black_scholes() {
            return self.option.style.closed_form(&self.market, &self.option);
        }
        let OptionSpec {
            kind,
            strike,
            maturity,
            ..
        } = self.option;
        match self.option.style {
            Style::European => self.model.european(&self.market, kind, strike, maturity),
            Style::Digital => self.model.digital(&self.market, kind, strike, maturity),
            _ => None,
        }
    }

    /// The undiscounted mean of the job's control variate: the product's
    /// own under Black-Scholes, its model-free one under the other models
    /// ([`crate::products::Product::model_control`]).
    pub fn control_mean(&self) -> f64 {
        if self.model.is_black_scholes() {
            self.option.style.control_mean(&self.market, &self.option)
        } else {
            self.option
                .style
                .model_control_mean(&self.market, &self.option)
        }
    }

    /// `exp(-rate * maturity)`.
    pub fn discount(&self) -> f64 {
        (-self.market.rate * self.option.maturity).exp()
    }
}

/// A job that has passed [`PricingJob::validate`]: the only form the compute
/// tiers accept, so no tier ever runs on unchecked input.
#[derive(Debug, Clone, Copy)]
pub struct ValidPricing<'a> {
    job: &'a PricingJob,
    control: &'a Control,
}

impl<'a> ValidPricing<'a> {
    /// Validates `job`.
    pub fn new(job: &'a PricingJob) -> Result<Self, InputError> {
        job.validate()?;
        Ok(Self {
            job,
            control: &crate::control::UNWATCHED,
        })
    }

    /// The same job, its progress and cancellation in `control`.
    pub fn watched(self, control: &'a Control) -> Self {
        Self { control, ..self }
    }

    /// `job`, this job drawn from other streams (a stopping rule's final
    /// stage, [`crate::stopping`]): valid as this one is, since any seed is.
    pub(crate) fn reseeded<'b>(&self, job: &'b PricingJob) -> ValidPricing<'b>
    where
        'a: 'b,
    {
        debug_assert_eq!(
            PricingJob {
                seed: self.job.seed,
                ..*job
            },
            *self.job
        );
        ValidPricing {
            job,
            control: self.control,
        }
    }

    /// Where the tier reports progress and finds cancellation.
    pub fn control(&self) -> &'a Control {
        self.control
    }
}

impl std::ops::Deref for ValidPricing<'_> {
    type Target = PricingJob;
    fn deref(&self) -> &PricingJob {
        self.job
    }
}

/// Largest path or scenario count: indices stay exact in f64 and in the
/// 64-bit Philox index.
pub const MAX_PATHS: u64 = 1 << 52;

/// The estimate made from the groups' moments ([`estimate`]), discounted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The discounted price.
    pub price: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Half the width of the 95% interval: `1.96 std_error`, or the t quantile
    /// of `R - 1` degrees of freedom times it over `R` QMC replicates.
    pub half_width: f64,
    /// See [`PricingResult::variance_reduction`].
    pub variance_reduction: Option<f64>,
    /// The fitted control-variate coefficient.
    pub control_coefficient: Option<f64>,
    /// Samples in all groups together.
    pub samples: u64,
    /// Whether every sample paid the same (the spread cannot be estimated).
    pub constant_payoff: bool,
    /// Randomized QMC whose replicate means agree up to rounding though
    /// the samples vary: their spread cannot estimate the error, and the
    /// standard error and interval are plain Monte Carlo's over every
    /// sample instead ([`estimate_from`]).
    pub replicates_agree: bool,
}

/// The price estimate of `job` from the moments of its groups (one per QMC
/// replicate, one for plain Monte Carlo), of undiscounted payoffs and
/// controls.
///
/// * Control variate: the coefficient `b = S_yc / S_cc` is fitted from the
///   within-group sums of the whole run and each group's mean becomes
///   `mean y - b (mean c - E c)`. Fitting `b` in sample biases the estimate by
///   `O(1/n)`, against a standard error of `O(1/sqrt n)`: below 1e-3 standard
///   errors from 10^6 samples on.
/// * Plain Monte Carlo: the standard error is the (residual) sample standard
///   deviation over `sqrt n`, `n - 2` degrees of freedom with a control; the
///   95% interval is normal.
/// * Randomized QMC: the estimate is the mean of the `R` replicate means and
///   its standard error their standard deviation over `sqrt R`; the interval
///   uses Student's t with `R - 1` degrees of freedom. Where the replicate
///   means agree up to rounding though the samples vary (a digital's
///   in-the-money counts can agree exactly across scrambles at power-of-two
///   sizes), their spread says nothing of the error: the standard error is
///   then plain Monte Carlo's over every sample (the residual's with a
///   control), an upper bound in practice on randomized QMC's, with the
///   normal interval, and [`Estimate::replicates_agree`] says so.
pub fn estimate(job: &PricingJob, groups: &[Figures]) -> Estimate {
    let control_mean = job.control_variate.then(|| job.control_mean());
    estimate_from(groups, job.discount(), control_mean, job.sampler)
}

/// [`estimate`] of any product: groups' figures, the discount factor, the
/// control's expected undiscounted payoff when a control variate corrects
/// the estimate, and the sampler that made the groups.
pub fn estimate_from(
    groups: &[Figures],
    discount: f64,
    control_mean: Option<f64>,
    sampler: Sampler,
) -> Estimate {
    let groups: Vec<CoMoments> = groups.iter().map(|g| g.moments).collect();
    let pooled = groups
        .iter()
        .fold(CoMoments::default(), |total, group| total.merge(*group));
    let n = pooled.count();
    let (syy, scc, syc) = groups.iter().fold((0.0, 0.0, 0.0), |(yy, cc, yc), g| {
        (yy + g.payoff.m2, cc + g.control.m2, yc + g.cross)
    });
    let coefficient = (control_mean.is_some() && scc > 0.0).then(|| syc / scc);
    let corrected = |g: &CoMoments| match (coefficient, control_mean) {
        (Some(b), Some(mu)) => g.payoff.mean - b * (g.control.mean - mu),
        _ => g.payoff.mean,
    };
    let plain_variance = pooled.payoff.std_dev().powi(2);
    // A sample's variance as plain Monte Carlo estimates it: the payoff's,
    // or the residual's about the control.
    let sample_variance = match coefficient {
        Some(b) => ((syy - b * syc) / (n.saturating_sub(2)).max(1) as f64).max(0.0),
        None => plain_variance,
    };
    let mut replicates_agree = false;
    let (mean, variance_of_mean, half_width_factor, reduction) = match sampler {
        Sampler::Mc => {
            let reduction =
                (coefficient.is_some() && sample_variance > 0.0 && plain_variance > 0.0)
                    .then(|| plain_variance / sample_variance);
            (
                corrected(&pooled),
                sample_variance / n as f64,
                Z_95,
                reduction,
            )
        }
        Sampler::Rqmc => {
            let means: Vec<f64> = groups.iter().map(corrected).collect();
            let r = means.len() as f64;
            let mean = means.iter().sum::<f64>() / r;
            let spread = means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (r - 1.0);
            let variance_of_mean = spread / r;
            // Means that agree to a few ulps of the mean while the samples
            // vary: rounding, not a measure of the error.
            let rounding = (16.0 * f64::EPSILON * mean.abs()).powi(2);
            if variance_of_mean <= rounding && sample_variance > 0.0 {
                replicates_agree = true;
                (mean, sample_variance / n as f64, Z_95, None)
            } else {
                // Undefined when the payoff never varied (the spread of the
                // means is then rounding).
                let reduction = (variance_of_mean > 0.0 && plain_variance > 0.0)
                    .then(|| plain_variance / (variance_of_mean * n as f64));
                (
                    mean,
                    variance_of_mean,
                    t_quantile_975(means.len() - 1),
                    reduction,
                )
            }
        }
    };
    let std_error = discount * variance_of_mean.sqrt();
    Estimate {
        price: discount * mean,
        std_error,
        half_width: half_width_factor * std_error,
        variance_reduction: reduction,
        control_coefficient: coefficient,
        samples: n,
        constant_payoff: pooled.payoff.m2 == 0.0,
        replicates_agree,
    }
}

/// What a caller should know about an estimate whose spread is 0: every
/// sample paid the same (unless that was `expected`, as for an option
/// knocked out at the start), or a control variate that explains every
/// payoff.
pub fn spread_warning(estimate: &Estimate, expected: bool) -> Option<String> {
    if estimate.constant_payoff && !expected {
        let n = estimate.samples as f64;
        Some(format!(
            "every one of the {} samples paid the same discounted {}, so the spread and the \
             standard error cannot be estimated from them and the 95% interval is not one; \
             by the rule of three, with 95% confidence fewer than 3/{} = {:.2e} of samples pay \
             anything else",
            estimate.samples,
            estimate.price,
            estimate.samples,
            3.0 / n
        ))
    } else if estimate.replicates_agree {
        Some(
            "the randomized QMC replicates' means agree up to rounding though the samples vary \
             (a discontinuous payoff such as a digital can do this at power-of-two path \
             counts), so their spread cannot measure the error: the standard error and the \
             95% interval shown are plain Monte Carlo's over every sample, in practice an \
             upper bound on randomized QMC's; other path counts or more replicates give \
             randomized QMC's own"
                .to_string(),
        )
    } else {
        // A zero standard error of samples that vary: only a control that
        // explains every one (the replicates that agree are above).
        (!estimate.constant_payoff
            && estimate.std_error == 0.0
            && estimate.control_coefficient.is_some())
        .then(|| {
            "the control variate explains every sample's payoff exactly (the payoff is a \
             linear function of the control on every path), so the estimate is exact up to \
             rounding and its standard error is 0"
                .to_string()
        })
    }
}

/// The Greeks of `job` from its groups' figures (the moments of the raw
/// per-sample estimators, [`crate::greeks`]): the mean over every sample,
/// and the standard error from the sample spread (plain Monte Carlo) or the
/// spread of the replicate means (randomized QMC), both times the
/// estimator's scale. `None` when the job asked for none.
pub fn greeks_estimate(job: &PricingJob, groups: &[Figures]) -> Option<Greeks> {
    let method = job.greeks?;
    let scales = crate::greeks::GreekSetup::new(job, method).scales();
    let per_group: Vec<[Moments; GREEKS]> = groups.iter().filter_map(|g| g.greeks).collect();
    if per_group.len() != groups.len() {
        return None;
    }
    let greek = |i: usize| {
        let groups: Vec<Moments> = per_group.iter().map(|g| g[i]).collect();
        pooled_greek(&groups, job.sampler, scales[i])
    };
    Some(Greeks {
        delta: greek(0),
        gamma: greek(1),
        vega: greek(2),
        rho: greek(3),
        theta: greek(4),
        method: crate::greeks::describe(job, method),
    })
}

/// Checks a target: a positive, finite standard error, and a path cap of
/// at least two rounds of `paths` (the pilot and the final stage,
/// [`crate::stopping`]) and at most 2^52.
pub fn validate_target(target: &Target, paths: u64) -> Result<(), InputError> {
    let (field, value) = match target.precision {
        Precision::StdError(value) => ("target-se", value),
        Precision::RelStdError(value) => ("target-rel-se", value),
    };
    if !(value.is_finite() && value > 0.0) {
        return Err(InputError::invalid(
            field,
            value,
            "must be a positive, finite standard error",
        ));
    }
    if target.max_paths < paths.saturating_mul(2) {
        return Err(InputError::invalid(
            "max-paths",
            target.max_paths,
            &format!(
                "is below two rounds of paths = {paths}: a target's run is a pilot round \
                 that sizes it and a final stage of fresh paths, at least a round each"
            ),
        ));
    }
    if target.max_paths > MAX_PATHS {
        return Err(InputError::invalid(
            "max-paths",
            target.max_paths,
            "exceeds the largest supported count, 2^52",
        ));
    }
    Ok(())
}

/// A Greek from its per-sample estimator's moments in each group, times
/// `scale`: the mean over every sample, and the standard error from the
/// sample spread (plain Monte Carlo) or the spread of the replicate means
/// (randomized QMC).
pub fn pooled_greek(groups: &[Moments], sampler: Sampler, scale: f64) -> Greek {
    let pooled = groups
        .iter()
        .fold(Moments::default(), |total, g| total.merge(*g));
    let std_error = match sampler {
        Sampler::Mc => pooled.std_dev() / (pooled.count as f64).sqrt(),
        Sampler::Rqmc => {
            let r = groups.len() as f64;
            let spread = groups
                .iter()
                .map(|g| (g.mean - pooled.mean).powi(2))
                .sum::<f64>()
                / (r - 1.0);
            (spread / r).sqrt()
        }
    };
    Greek {
        value: pooled.mean * scale,
        std_error: std_error * scale.abs(),
    }
}

/// z-value of a two-sided 95% normal interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The 97.5% quantile of Student's t with `dof` degrees of freedom.
fn t_quantile_975(dof: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, dof as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(Z_95)
}

/// A priced option with its uncertainty and provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingResult {
    /// Monte Carlo estimate of the discounted expected payoff.
    pub price: f64,
    /// Standard error of `price`.
    pub std_error: f64,
    /// 95% confidence interval: `price -/+ 1.96 std_error`, or with the t
    /// quantile of `R - 1` degrees of freedom over `R` QMC replicates.
    pub ci95: [f64; 2],
    /// The closed-form price where one exists (European, geometric Asian), so the
    /// estimate can be checked at a glance; `None` for the arithmetic Asian.
    pub closed_form: Option<f64>,
    /// Simulated paths (with a target: the paths the run took).
    pub paths: u64,
    /// The model the paths followed, with its parameters (Heston's scheme
    /// among them).
    #[serde(default)]
    pub model: Model,
    /// How the estimate was made, in words ([`PricingJob::method`]).
    pub method: String,
    /// Variance of one sample of the plain estimator (the same sampling
    /// without the control variate and the QMC points) over the variance the
    /// method achieved, both estimated from this run; `None` for plain Monte
    /// Carlo.
    pub variance_reduction: Option<f64>,
    /// The fitted control-variate coefficient, when one was used.
    pub control_coefficient: Option<f64>,
    /// With a target: whether the estimate's standard error is within it
    /// (the run stops at `max_paths` whether or not it is).
    pub target_reached: Option<bool>,
    /// With a target: the paths of the pilot that sized the run
    /// ([`crate::stopping`]), counted in `paths` but not in the estimate,
    /// which rests on `paths - pilot_paths`.
    #[serde(default)]
    pub pilot_paths: Option<u64>,
    /// Delta, gamma, vega, rho and theta with their standard errors, when
    /// asked for.
    pub greeks: Option<Greeks>,
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
