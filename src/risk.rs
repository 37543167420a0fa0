//! Portfolio Value-at-Risk and Expected Shortfall: portfolio, jobs, results, and
//! the closed-form (parametric) figures shown beside the simulation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

use crate::control::Control;
use crate::error::{InputError, finite, open_unit, positive};
pub use crate::portfolio::{Asset, MAX_PORTFOLIO_BYTES, OptionPosition, Portfolio, cholesky};
use crate::pricing::MAX_PATHS;
use crate::revaluation::{OptionBook, Sensitivities, cornish_fisher};
pub use crate::stats::TailMeasure;
use crate::tier::Tier;

/// Distribution of one horizon's asset returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "kebab-case")]
pub enum ReturnDistribution {
    /// `X = h mu + sqrt(h) L z`.
    Normal,
    /// Multivariate Student-t standardised to the same covariance:
    /// `X = h mu + sqrt(h) L z sqrt((dof - 2) / W)`, one `W ~ chi-square(dof)` per
    /// scenario, `dof > 2`.
    /// Student-t with `dof` degrees of freedom, > 2.
    StudentT {
        /// Degrees of freedom, > 2.
        dof: f64,
    },
}

impl ReturnDistribution {
    /// Checks the degrees of freedom.
    pub fn validate(&self) -> Result<(), InputError> {
        if let ReturnDistribution::StudentT { dof } = *self {
            finite("dof", dof)?;
            if dof <= 2.0 {
                return Err(InputError::invalid(
                    "dof",
                    dof,
                    "must be greater than 2 (the variance is infinite otherwise)",
                ));
            }
        }
        Ok(())
    }
}

/// A confidence level with the text the user wrote for it, which keys the
/// results (`"0.95"` stays `"0.95"`, `"0.950"` stays `"0.950"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    /// The level, in (0, 1).
    pub level: f64,
    /// The text it was given as.
    pub label: String,
}

impl Confidence {
    /// A level labelled by its shortest decimal form.
    pub fn new(level: f64) -> Self {
        Self {
            level,
            label: level.to_string(),
        }
    }

    /// Checks the level lies in [0.5, 1): VaR and ES measure the loss
    /// tail, and a level under one half would measure gains (and send the
    /// delta-gamma quantile of an options book to overflow).
    pub fn validate(&self) -> Result<(), InputError> {
        open_unit("confidence", self.level)?;
        if self.level < 0.5 {
            return Err(InputError::invalid(
                "confidence",
                self.level,
                "must be at least 0.5: VaR and ES measure the loss tail, a lower level its gains",
            ));
        }
        Ok(())
    }

    /// Scenarios in the tail of `scenarios` at this level,
    /// `ceil((1 - level) n)`: exact from the decimal text where it is one
    /// ([`crate::stats::tail_count_decimal`]), else from the float.
    pub fn tail_count(&self, scenarios: usize) -> usize {
        crate::stats::tail_count_decimal(&self.label, scenarios)
            .filter(|_| self.label.trim().parse::<f64>().ok() == Some(self.level))
            .unwrap_or_else(|| crate::stats::tail_count(self.level, scenarios))
    }
}

impl FromStr for Confidence {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Self, InputError> {
        let trimmed = text.trim();
        let level: f64 = trimmed
            .parse()
            .map_err(|_| InputError::invalid("confidence", trimmed, "is not a number"))?;
        let confidence = Confidence {
            level,
            label: trimmed.to_string(),
        };
        confidence.validate()?;
        Ok(confidence)
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// How far the delta-gamma VaR may stray from the full revaluation's, as a
/// fraction of the larger of the two, before a warning says the quadratic
/// expansion has left its validity.
pub const DELTA_GAMMA_TOLERANCE: f64 = 0.5;

/// The warning of a book with options under Student-t returns with `dof`
/// degrees of freedom: the delta-gamma figures are normal returns'
/// (Cornish-Fisher on the normal quadratic form's cumulants, which a
/// t's heavier tails do not share), unlike the full revaluation and the
/// delta shortcut beside them.
pub fn normal_delta_gamma_warning(dof: f64) -> String {
    format!(
        "the delta-gamma VaR and ES are normal returns' (Cornish-Fisher on the quadratic \
         form's cumulants under normal returns), not the Student-t's ({dof} dof) of the full \
         revaluation and the delta figures beside them: they understate the t's tail"
    )
}

/// What a reader of `level` should know: a delta-gamma VaR far from the
/// full revaluation's (one ATM call at vol 1e-6 gave 21,430 against
/// -864,639, silently), and a negative VaR, which is a gain.
pub fn level_warnings(level: &RiskLevel) -> Vec<String> {
    let mut warnings = Vec::new();
    let label = &level.confidence.label;
    if let Some(quadratic) = level.delta_gamma_var
        && (quadratic - level.var).abs()
            > DELTA_GAMMA_TOLERANCE * quadratic.abs().max(level.var.abs())
    {
        warnings.push(format!(
            "at {label}: the delta-gamma VaR {quadratic:.2} is far from the full revaluation's \
             {:.2}: the options' quadratic expansion does not hold over the horizon's moves \
             (large moves, or a volatility so low that the payoff's kink dominates); read the \
             full-revaluation figure",
            level.var
        ));
    }
    if level.var < 0.0 {
        warnings.push(format!(
            "at {label}: VaR is negative ({:.2}): even that far into the tail the simulated P&L \
             is a gain (the book's drift over the horizon outweighs its spread), so there is no \
             loss to report at this level",
            level.var
        ));
    }
    warnings
}

/// Longest horizon a VaR job takes, in trading days (ten years).
pub const MAX_HORIZON_DAYS: f64 = 2520.0;

/// One VaR/ES run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarJob {
    /// The portfolio.
    pub portfolio: Portfolio,
    /// Number of simulated scenarios, >= 2.
    pub scenarios: u64,
    /// Confidence levels, each in (0, 1); at least one.
    pub confidences: Vec<Confidence>,
    /// Horizon in days, > 0: means scale with it, covariances too.
    pub horizon_days: f64,
    /// The return distribution.
    pub distribution: ReturnDistribution,
    /// Selects the Philox key; the same seed gives the same sample on every tier.
    pub seed: u64,
}

impl VarJob {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        self.correlation_factor().map(|_| ())
    }

    /// Every check of [`VarJob::validate`], returning the portfolio's
    /// correlation factor (see [`Portfolio::correlation_factor`]).
    fn correlation_factor(&self) -> Result<Vec<Vec<f64>>, InputError> {
        let lower = self.portfolio.correlation_factor()?;
        if self.scenarios < 2 {
            return Err(InputError::invalid(
                "scenarios",
                self.scenarios,
                "must be at least 2: one draw has no spread to measure",
            ));
        }
        if self.scenarios > MAX_PATHS {
            return Err(InputError::invalid(
                "scenarios",
                self.scenarios,
                "exceeds the largest supported count, 2^52",
            ));
        }
        if usize::try_from(self.scenarios).is_err() {
            return Err(InputError::invalid(
                "scenarios",
                self.scenarios,
                "does not fit in this machine's memory space",
            ));
        }
        if self.confidences.is_empty() {
            return Err(InputError::invalid(
                "confidence",
                "[]",
                "at least one confidence level is needed",
            ));
        }
        for (i, confidence) in self.confidences.iter().enumerate() {
            confidence.validate()?;
            if self.confidences[..i]
                .iter()
                .any(|other| other.level == confidence.level)
            {
                return Err(InputError::invalid(
                    "confidence",
                    confidence.level,
                    "is given twice",
                ));
            }
        }
        positive("horizon_days", self.horizon_days)?;
        if self.horizon_days > MAX_HORIZON_DAYS {
            return Err(InputError::invalid(
                "horizon_days",
                self.horizon_days,
                "must be at most 2520 (ten years of trading days): the square-root-of-time scaling of daily returns means nothing beyond",
            ));
        }
        self.distribution.validate()?;
        Ok(lower)
    }

    /// Scenarios in the tail at each confidence level, in order.
    pub fn tail_counts(&self) -> Vec<usize> {
        self.confidences
            .iter()
            .map(|c| c.tail_count(self.scenarios as usize))
            .collect()
    }

    /// The job checked and reduced to its [`RiskModel`]: what the compute
    /// tiers take.
    pub fn checked(&self) -> Result<ValidVar<'_>, InputError> {
        Ok(ValidVar {
            job: self,
            model: self.risk_model()?,
            control: &crate::control::UNWATCHED,
        })
    }

    /// The portfolio reduced to what each scenario needs (see [`RiskModel`]);
    /// the job is validated first.
    pub fn risk_model(&self) -> Result<RiskModel, InputError> {
        let lower = self.correlation_factor()?;
        let h = self.horizon_days;
        let value = self.portfolio.value;
        let scaled = self.portfolio.scaled_weights();
        let k = scaled.len();
        // P&L = value * w . X = value * (h w.mu + sqrt(h) (L^T D w) . z * scale).
        let loadings = (0..k)
            .map(|j| value * h.sqrt() * (j..k).map(|i| lower[i][j] * scaled[i]).sum::<f64>())
            .collect();
        let mean = value
            * h
            * self
                .portfolio
                .assets
                .iter()
                .map(|a| a.weight * a.mu)
                .sum::<f64>();
        let book = OptionBook::new(&self.portfolio, &lower, h);
        Ok(RiskModel {
            mean: mean - book.as_ref().map_or(0.0, |b| b.value_now),
            loadings,
            dof: match self.distribution {
                ReturnDistribution::Normal => None,
                ReturnDistribution::StudentT { dof } => Some(dof),
            },
            book,
        })
    }

    /// The closed forms beside the simulation at each of the job's levels,
    /// given its risk model: for a linear book the exact figures for the
    /// job's distribution; for a book with options the delta (linear)
    /// shortcut for the same distribution and the delta-gamma Cornish-Fisher
    /// figures under normal returns (see [`Sensitivities`]).
    pub fn closed_forms(&self, model: &RiskModel) -> Result<Vec<ClosedForms>, InputError> {
        let portfolio = &self.portfolio;
        if model.book.is_none() {
            return self
                .confidences
                .iter()
                .map(|c| {
                    Ok(ClosedForms {
                        parametric: model.parametric(c.level)?,
                        delta_gamma: None,
                    })
                })
                .collect();
        }
        let h = self.horizon_days;
        let sensitivities = Sensitivities::of(portfolio, h);
        let assets = &portfolio.assets;
        let mean: Vec<f64> = assets.iter().map(|a| h * a.mu).collect();
        let covariance: Vec<Vec<f64>> = assets
            .iter()
            .zip(&portfolio.correlation)
            .map(|(a, row)| {
                assets
                    .iter()
                    .zip(row)
                    .map(|(b, rho)| h * a.sigma * b.sigma * rho)
                    .collect()
            })
            .collect();
        let exposure = &sensitivities.delta;
        let variance: f64 = covariance
            .iter()
            .zip(exposure)
            .map(|(row, ei)| ei * row.iter().zip(exposure).map(|(c, ej)| c * ej).sum::<f64>())
            .sum();
        // The delta shortcut is a linear book: one factor with its spread
        // carries its closed forms.
        let delta = RiskModel {
            mean: sensitivities.theta + exposure.iter().zip(&mean).map(|(e, m)| e * m).sum::<f64>(),
            loadings: vec![variance.max(0.0).sqrt()],
            dof: model.dof,
            book: None,
        };
        let cumulants = sensitivities.cumulants(&mean, &covariance);
        self.confidences
            .iter()
            .map(|c| {
                Ok(ClosedForms {
                    parametric: delta.parametric(c.level)?,
                    delta_gamma: Some(cornish_fisher(cumulants, c.level)),
                })
            })
            .collect()
    }
}

/// A VaR job that has passed [`VarJob::validate`], with its risk model: the
/// only form the compute tiers accept.
#[derive(Debug, Clone)]
pub struct ValidVar<'a> {
    job: &'a VarJob,
    model: RiskModel,
    control: &'a Control,
}

impl<'a> ValidVar<'a> {
    /// The job's risk model.
    pub fn model(&self) -> &RiskModel {
        &self.model
    }

    /// The same job, its progress and cancellation in `control`.
    pub fn watched(self, control: &'a Control) -> Self {
        Self { control, ..self }
    }

    /// Where the tier reports progress and finds cancellation.
    pub fn control(&self) -> &'a Control {
        self.control
    }
}

impl std::ops::Deref for ValidVar<'_> {
    type Target = VarJob;
    fn deref(&self) -> &VarJob {
        self.job
    }
}

/// What every scenario needs, in currency units: scenario `s`'s P&L is
/// `mean + scale_s * sum_j loadings[j] * z[s][j]`, with `z[s]` the scenario's
/// standard normals (draws `0..k` of its stream) and `scale_s = 1` (normal) or
/// `sqrt((dof - 2) / W_s)` (Student-t).
///
/// The linear positions' P&L is linear in the asset returns, so `loadings =
/// value sqrt(h) L^T D w` is computed once and each scenario costs k
/// multiply-adds instead of the k^2 of forming `L z` and then `w . X`; the
/// sample is the same, and no scenarios x assets matrix ever exists. A book
/// with options adds, per scenario, the options' value at the horizon
/// ([`OptionBook::horizon_value`], from the returns of the assets they are
/// on alone), and `mean` carries minus their value now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskModel {
    /// Mean P&L over the horizon.
    pub mean: f64,
    /// Each asset shock's weight in the P&L, currency units.
    pub loadings: Vec<f64>,
    /// Student-t degrees of freedom; `None` for normal scenarios.
    pub dof: Option<f64>,
    /// The book's options, revalued in every scenario on top of the linear
    /// P&L; `None` for a linear book.
    pub book: Option<OptionBook>,
}

/// The closed-form figures shown beside a simulated level.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedForms {
    /// Exact for a linear book; the delta shortcut for a book with options.
    pub parametric: TailMeasure,
    /// The delta-gamma Cornish-Fisher figures of a book with options.
    pub delta_gamma: Option<TailMeasure>,
}

impl RiskModel {
    /// Scratch a scenario's P&L is computed in: its normals, then its
    /// underlyings' returns.
    pub fn scratch(&self) -> Vec<f64> {
        let underlyings = self.book.as_ref().map_or(0, |b| b.underlyings.len());
        vec![0.0; self.loadings.len() + underlyings]
    }

    /// Standard deviation of the P&L: the length of `loadings`.
    pub fn std_dev(&self) -> f64 {
        self.loadings.iter().map(|b| b * b).sum::<f64>().sqrt()
    }

    /// Closed-form VaR and ES at `confidence` for the same distribution; an
    /// error (naming the field) for a level outside (0, 1) or `dof <= 2`.
    pub fn parametric(&self, confidence: f64) -> Result<TailMeasure, InputError> {
        open_unit("confidence", confidence)?;
        let tail = 1.0 - confidence;
        let sd = self.std_dev();
        Ok(match self.dof {
            None => {
                let n = Normal::standard();
                let z = n.inverse_cdf(confidence);
                TailMeasure {
                    var: -self.mean + sd * z,
                    es: -self.mean + sd * n.pdf(z) / tail,
                }
            }
            Some(dof) => {
                ReturnDistribution::StudentT { dof }.validate()?;
                let q = student_t_quantile(confidence, dof);
                let scale = sd * ((dof - 2.0) / dof).sqrt();
                TailMeasure {
                    var: -self.mean + scale * q,
                    es: -self.mean
                        + scale * student_t_pdf(q, dof) / tail * (dof + q * q) / (dof - 1.0),
                }
            }
        })
    }
}

/// Degrees of freedom from which the Student-t quantile comes from its
/// Cornish-Fisher expansion about the normal one: `statrs`' inverse
/// incomplete beta stops converging for large dof (it never returns at 2e7)
/// and drifts before that, while the expansion's error there is below 1e-12.
const DOF_EXPANSION: f64 = 1000.0;

/// The standard Student-t quantile at `p`.
fn student_t_quantile(p: f64, dof: f64) -> f64 {
    if dof < DOF_EXPANSION {
        return StudentsT::new(0.0, 1.0, dof)
            .map(|t| t.inverse_cdf(p))
            .unwrap_or(f64::NAN);
    }
    // Abramowitz and Stegun 26.7.5 (Hill's expansion), four terms.
    let z = Normal::standard().inverse_cdf(p);
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / dof) / dof) / dof) / dof
}

/// The standard Student-t density at `x`, stable for any dof > 0: its log
/// normalising constant `ln G((dof+1)/2) - ln G(dof/2)` comes from the
/// asymptotic series for large dof, where the difference of two huge
/// log-gammas would cancel.
fn student_t_pdf(x: f64, dof: f64) -> f64 {
    let half = dof / 2.0;
    let log_ratio = if half > 500.0 {
        // ln G(h + 1/2) - ln G(h) = ln(h)/2 - 1/(8h) + 1/(192h^3) - 1/(640h^5) + ...
        let h2 = half * half;
        0.5 * half.ln() - 1.0 / (8.0 * half) + 1.0 / (192.0 * half * h2)
            - 1.0 / (640.0 * half * h2 * h2)
    } else {
        statrs::function::gamma::ln_gamma(half + 0.5) - statrs::function::gamma::ln_gamma(half)
    };
    let log_density = log_ratio
        - 0.5 * (dof * std::f64::consts::PI).ln()
        - (dof + 1.0) / 2.0 * (x * x / dof).ln_1p();
    log_density.exp()
}

/// What a backend measures over the simulated P&L.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEstimate {
    /// Mean simulated P&L.
    pub mean: f64,
    /// Standard deviation of the simulated P&L.
    pub std_dev: f64,
    /// One per confidence level, in the job's order.
    pub tails: Vec<TailMeasure>,
}

/// VaR and ES at one confidence level, simulated and closed-form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskLevel {
    /// The level.
    pub confidence: Confidence,
    /// Simulated VaR.
    pub var: f64,
    /// Simulated ES.
    pub es: f64,
    /// Closed-form VaR for the same distribution: exact for a linear book,
    /// the delta (linear) shortcut for a book with options.
    pub parametric_var: f64,
    /// Closed-form ES, as `parametric_var`.
    pub parametric_es: f64,
    /// A book with options: the delta-gamma VaR (Cornish-Fisher, normal
    /// returns whatever the job's distribution: labelled so in the CLI's
    /// table and JSON, `delta_gamma_returns: "normal"`, with a warning under
    /// Student-t returns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_gamma_var: Option<f64>,
    /// A book with options: the delta-gamma ES (the Cornish-Fisher
    /// quantile's tail mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_gamma_es: Option<f64>,
}

/// A VaR/ES run's figures with provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarResult {
    /// Simulated scenarios.
    pub scenarios: u64,
    /// The seed of the Philox streams.
    pub seed: u64,
    /// The tier that ran, for scripts: `scalar`, `simd`, `rayon` or `gpu`.
    pub tier: Tier,
    /// The tier that ran, with what it ran on.
    pub backend: String,
    /// Why that tier: `requested`, or `Backend::Auto`'s reason.
    pub selection: String,
    /// What the caller should know about the run; empty when nothing.
    pub warnings: Vec<String>,
    /// Seconds the tier spent on the job.
    pub elapsed_s: f64,
    /// Mean simulated P&L over the horizon.
    pub mean: f64,
    /// Standard deviation of the simulated P&L.
    pub std: f64,
    /// VaR and ES per confidence level, in the job's order.
    pub levels: Vec<RiskLevel>,
}
