//! A strike and maturity strip: one job priced at many strikes (and
//! maturities) on common random numbers, with Black implied volatilities.
//!
//! That is how a user looks at a model off the flat-vol world: a Heston or
//! Bates smile is the curve of implied volatilities across strikes. Every
//! quote is the job itself with its strike and maturity replaced, priced
//! with the job's seed, so every quote reads the same Philox streams (the
//! stream layout depends on the path, step and factor, never on the
//! product's terms): the differences between neighbouring quotes carry far
//! less noise than their standard errors, and the smile comes out smooth.
//! Each quote is its own pass over those streams (the kernels read one
//! strike), so a strip of `n` quotes costs `n` runs.
//!
//! A price's standard error becomes its implied volatility's through
//! Black's vega at that volatility (the delta method), and where the model
//! has a closed or semi-analytic price, its implied volatility stands
//! beside the estimate's.

use serde::{Deserialize, Serialize};

use crate::closed_form::{black_implied_vol, black_vega};
use crate::error::InputError;
use crate::pricing::{Greeks, PricingJob, PricingResult, Style};
use crate::tier::Tier;

/// The most quotes (strikes x maturities) one strip may ask for.
pub const MAX_QUOTES: usize = 10_000;

/// Which strikes and maturities to price, beside the job's own terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Strip {
    /// The strikes; empty: the job's strike alone.
    pub strikes: Vec<f64>,
    /// The maturities (years); empty: the job's maturity alone.
    pub maturities: Vec<f64>,
    /// Also invert each price (and the closed form's) for Black's implied
    /// volatility; European options only.
    pub implied_vol: bool,
}

/// One strike and maturity of a strip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StripQuote {
    /// The strike.
    pub strike: f64,
    /// Years to expiry.
    pub maturity: f64,
    /// The Monte Carlo price.
    pub price: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Its 95% confidence interval.
    pub ci95: [f64; 2],
    /// The closed or semi-analytic price, where the model has one.
    pub closed_form: Option<f64>,
    /// Black's implied volatility of `price`, when asked for and when one
    /// exists (`None` outside the no-arbitrage bounds).
    pub implied_vol: Option<f64>,
    /// `std_error` over Black's vega at `implied_vol`.
    pub implied_vol_std_error: Option<f64>,
    /// Black's implied volatility of `closed_form`.
    pub closed_form_implied_vol: Option<f64>,
    /// The quote's Greeks, when the job asks for them.
    pub greeks: Option<Greeks>,
}

/// A priced strip, with the provenance its quotes share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StripResult {
    /// Maturity by maturity, strike by strike, in the order asked.
    pub strikes: Vec<StripQuote>,
    /// Paths of each quote (every quote reads the same ones).
    pub paths: u64,
    /// The model, with its parameters.
    pub model: crate::models::Model,
    /// How each estimate was made.
    pub method: String,
    /// The seed of every quote's streams.
    pub seed: u64,
    /// The tier that ran the first quote.
    pub tier: Tier,
    /// That tier, with what it ran on.
    pub backend: String,
    /// Why that tier.
    pub selection: String,
    /// Every quote's warnings, each once.
    pub warnings: Vec<String>,
    /// Seconds all quotes took.
    pub elapsed_s: f64,
}

impl Strip {
    /// Checks the strip against its job, naming the first bad field.
    pub fn validate(&self, job: &PricingJob) -> Result<(), InputError> {
        for (field, values) in [("strikes", &self.strikes), ("maturities", &self.maturities)] {
            if let Some((i, bad)) = values
                .iter()
                .enumerate()
                .find(|(_, x)| !(x.is_finite() && **x > 0.0))
            {
                return Err(InputError::Invalid {
                    field: format!("{field}[{i}]"),
                    value: bad.to_string(),
                    reason: "must be a finite number > 0".into(),
                });
            }
        }
        let quotes = self.strikes.len().max(1) * self.maturities.len().max(1);
        if quotes > MAX_QUOTES {
            return Err(InputError::Invalid {
                field: "strikes".into(),
                value: format!(
                    "{} strikes x {} maturities",
                    self.strikes.len(),
                    self.maturities.len()
                ),
                reason: format!("a strip prices at most {MAX_QUOTES} quotes"),
            });
        }
        if self.implied_vol && (job.option.style != Style::European || job.option.barrier.is_some())
        {
            return Err(InputError::Invalid {
                field: "implied_vol".into(),
                value: job.option.style.to_string(),
                reason: "Black's implied volatility is a European option's; \
                         price this style's strip without it"
                    .into(),
            });
        }
        if let Some(target) = job.target {
            return Err(InputError::Invalid {
                field: "target".into(),
                value: format!("{:?}", target.precision),
                reason: "a strip prices every quote on the same fixed paths \
                         (common random numbers); give --paths instead of a target"
                    .into(),
            });
        }
        // Each quote's job is checked too (strike and maturity ranges of
        // the product and model), before any runs.
        self.jobs(job).try_for_each(|quote| quote.validate())
    }

    /// The quotes' jobs, maturity by maturity, strike by strike.
    pub fn jobs<'a>(&'a self, job: &'a PricingJob) -> impl Iterator<Item = PricingJob> + 'a {
        let maturities = or_own(&self.maturities, job.option.maturity);
        maturities.into_iter().flat_map(move |maturity| {
            or_own(&self.strikes, job.option.strike)
                .into_iter()
                .map(move |strike| {
                    let mut quote = *job;
                    quote.option.strike = strike;
                    quote.option.maturity = maturity;
                    quote
                })
        })
    }

    /// Prices every quote with `price` (one job at a time: a tier, or the
    /// ranks of an MPI run), after checking the whole strip.
    pub fn price_by<E: From<InputError>>(
        &self,
        job: &PricingJob,
        mut price: impl FnMut(&PricingJob) -> Result<PricingResult, E>,
    ) -> Result<StripResult, E> {
        self.validate(job)?;
        let mut quotes = Vec::new();
        let mut first: Option<PricingResult> = None;
        let mut warnings: Vec<String> = Vec::new();
        let mut elapsed_s = 0.0;
        for quote in self.jobs(job) {
            let result = price(&quote)?;
            elapsed_s += result.elapsed_s;
            for warning in &result.warnings {
                if !warnings.contains(warning) {
                    warnings.push(warning.clone());
                }
            }
            quotes.push(self.quote(&quote, &result));
            first.get_or_insert(result);
        }
        let first = first.expect("a strip has at least one quote");
        Ok(StripResult {
            strikes: quotes,
            paths: first.paths,
            model: first.model,
            method: first.method,
            seed: first.seed,
            tier: first.tier,
            backend: first.backend,
            selection: first.selection,
            warnings,
            elapsed_s,
        })
    }

    fn quote(&self, job: &PricingJob, result: &PricingResult) -> StripQuote {
        let implied = |price: f64| {
            self.implied_vol.then(|| {
                black_implied_vol(
                    job.option.kind,
                    &job.market,
                    job.option.strike,
                    job.option.maturity,
                    price,
                )
            })?
        };
        let implied_vol = implied(result.price);
        let implied_vol_std_error = implied_vol.and_then(|vol| {
            let market = crate::pricing::Market { vol, ..job.market };
            let se = result.std_error / black_vega(&market, job.option.strike, job.option.maturity);
            se.is_finite().then_some(se)
        });
        StripQuote {
            strike: job.option.strike,
            maturity: job.option.maturity,
            price: result.price,
            std_error: result.std_error,
            ci95: result.ci95,
            closed_form: result.closed_form,
            implied_vol,
            implied_vol_std_error,
            closed_form_implied_vol: result.closed_form.and_then(implied),
            greeks: result.greeks.clone(),
        }
    }
}

fn or_own(values: &[f64], own: f64) -> Vec<f64> {
    if values.is_empty() {
        vec![own]
    } else {
        values.to_vec()
    }
}
