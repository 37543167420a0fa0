//! Option pricing jobs and results: plain data, validated before any work.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, finite, positive};

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptionKind {
    Call,
    Put,
}

/// How the payoff reads the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// Payoff on the terminal price.
    European,
    /// Payoff on the arithmetic mean of the fixings `t_i = i T / N`, `i = 1..N`.
    AsianArithmetic,
    /// Payoff on the geometric mean of the same fixings.
    AsianGeometric,
}

impl Style {
    /// Whether the payoff reads intermediate fixings.
    pub fn is_asian(self) -> bool {
        !matches!(self, Style::European)
    }
}

macro_rules! named_choices {
    ($ty:ty, $field:literal, [$($variant:path => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The names the CLI and JSON accept, in order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name the CLI and JSON use.
            pub fn name(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }

        impl FromStr for $ty {
            type Err = InputError;
            fn from_str(text: &str) -> Result<Self, InputError> {
                match text {
                    $($name => Ok($variant),)+
                    other => Err(InputError::Unknown {
                        field: $field.to_string(),
                        value: other.to_string(),
                        expected: Self::NAMES.join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use named_choices;

named_choices!(OptionKind, "option", [OptionKind::Call => "call", OptionKind::Put => "put"]);
named_choices!(Style, "style", [
    Style::European => "european",
    Style::AsianArithmetic => "asian-arithmetic",
    Style::AsianGeometric => "asian-geometric",
]);

/// Black-Scholes market: the underlying follows
/// `dS = (rate - dividend) S dt + vol S dW` under the pricing measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Market {
    /// Price of the underlying today, > 0.
    pub spot: f64,
    /// Continuously compounded risk-free rate (any finite value).
    pub rate: f64,
    /// Continuous dividend yield (any finite value).
    pub dividend: f64,
    /// Annualised volatility, > 0.
    pub vol: f64,
}

impl Market {
    pub fn validate(&self) -> Result<(), InputError> {
        positive("spot", self.spot)?;
        finite("rate", self.rate)?;
        finite("dividend", self.dividend)?;
        positive("vol", self.vol)?;
        Ok(())
    }
}

/// The contract being priced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub kind: OptionKind,
    pub style: Style,
    /// Strike, > 0.
    pub strike: f64,
    /// Years to expiry, > 0.
    pub maturity: f64,
    /// Number of equally spaced fixings for Asian styles, >= 1; ignored (and
    /// simulated as one exact step) for European.
    pub steps: u32,
}

impl OptionSpec {
    pub fn validate(&self) -> Result<(), InputError> {
        positive("strike", self.strike)?;
        positive("maturity", self.maturity)?;
        if self.style.is_asian() && self.steps == 0 {
            return Err(InputError::invalid(
                "steps",
                self.steps,
                "an Asian option needs at least 1 fixing",
            ));
        }
        Ok(())
    }

    /// Time steps the simulation takes: the fixings for Asians, one exact step
    /// to maturity for Europeans.
    pub fn time_steps(&self) -> u32 {
        if self.style.is_asian() { self.steps } else { 1 }
    }
}

/// One pricing run: what to price, how many paths, which stream.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PricingJob {
    pub market: Market,
    pub option: OptionSpec,
    /// Number of simulated paths, >= 1 (even with `antithetic`).
    pub paths: u64,
    /// Selects the Philox key; the same seed gives the same sample on every tier.
    pub seed: u64,
    /// Pair every path with its mirror image (`z` and `-z`); `paths / 2` pairs.
    pub antithetic: bool,
}

impl PricingJob {
    pub fn validate(&self) -> Result<(), InputError> {
        self.market.validate()?;
        self.option.validate()?;
        if self.paths == 0 {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "must be at least 1",
            ));
        }
        if self.antithetic && self.paths % 2 != 0 {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "must be even with antithetic sampling (paths are simulated in pairs)",
            ));
        }
        if self.paths > MAX_PATHS {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "exceeds the largest supported count, 2^52",
            ));
        }
        Ok(())
    }

    /// Independent samples the estimator averages: paths, or pairs when antithetic.
    pub fn samples(&self) -> u64 {
        if self.antithetic {
            self.paths / 2
        } else {
            self.paths
        }
    }

    /// `exp(-rate * maturity)`.
    pub fn discount(&self) -> f64 {
        (-self.market.rate * self.option.maturity).exp()
    }
}

/// Largest path or scenario count: indices stay exact in f64 and in the
/// 64-bit Philox index.
pub const MAX_PATHS: u64 = 1 << 52;

/// What a backend measures: the sample mean and standard deviation of the
/// discounted payoff (over pair averages when antithetic).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PricingEstimate {
    pub mean: f64,
    pub std_dev: f64,
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
    pub paths: u64,
    pub seed: u64,
    /// The tier that ran, with what it ran on.
    pub backend: String,
    /// Why that tier: `requested`, or `Backend::Auto`'s reason.
    pub selection: String,
    pub elapsed_s: f64,
    pub paths_per_sec: f64,
}

/// Per-step constants of the exact log-normal scheme, computed once per job:
/// `ln S(t + dt) = ln S(t) + drift + diffusion * z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathSetup {
    pub log_spot: f64,
    pub spot: f64,
    /// `(rate - dividend - vol^2 / 2) dt`.
    pub drift: f64,
    /// `vol sqrt(dt)`.
    pub diffusion: f64,
    pub strike: f64,
    /// Time steps per path (fixings for Asians, 1 for European).
    pub steps: u32,
    pub kind: OptionKind,
    pub style: Style,
}

impl PathSetup {
    pub fn new(job: &PricingJob) -> Self {
        let Market {
            spot,
            rate,
            dividend,
            vol,
        } = job.market;
        let steps = job.option.time_steps();
        let dt = job.option.maturity / f64::from(steps);
        Self {
            log_spot: spot.ln(),
            spot,
            drift: (rate - dividend - 0.5 * vol * vol) * dt,
            diffusion: vol * dt.sqrt(),
            strike: job.option.strike,
            steps,
            kind: job.option.kind,
            style: job.option.style,
        }
    }

    /// The undiscounted payoff on an underlying average (or terminal price).
    #[inline(always)]
    pub fn payoff(&self, underlying: f64) -> f64 {
        match self.kind {
            OptionKind::Call => (underlying - self.strike).max(0.0),
            OptionKind::Put => (self.strike - underlying).max(0.0),
        }
    }
}
