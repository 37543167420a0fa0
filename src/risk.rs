//! Portfolio Value-at-Risk and Expected Shortfall: portfolio, jobs, results, and
//! the closed-form (parametric) figures shown beside the simulation.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

use crate::error::{InputError, finite, open_unit, positive};
use crate::pricing::MAX_PATHS;
pub use crate::stats::TailMeasure;
use crate::tier::Tier;

/// One holding of a portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// The asset's name.
    pub name: String,
    /// Fraction of the portfolio's value held (negative for a short position).
    pub weight: f64,
    /// Mean daily return.
    pub mu: f64,
    /// Daily return volatility, > 0.
    pub sigma: f64,
}

/// A portfolio: its value, its assets and their return correlation.
///
/// The JSON form is
/// `{"value": 1000000, "assets": [{"name": "AAPL", "weight": 0.25, "mu": 0.0004,
/// "sigma": 0.018}, ...], "correlation": [[1, 0.3, ...], ...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portfolio {
    /// Total value in currency units, > 0.
    pub value: f64,
    /// The holdings.
    pub assets: Vec<Asset>,
    /// Symmetric, unit-diagonal, positive semi-definite k x k matrix.
    pub correlation: Vec<Vec<f64>>,
}

/// Largest gap from symmetry, unit diagonal or semi-definiteness tolerated.
const CORRELATION_TOLERANCE: f64 = 1e-9;

impl Portfolio {
    /// Reads and validates a portfolio file.
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|err| InputError::PortfolioRead {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        let malformed = |message: String| InputError::PortfolioFormat {
            path: path.to_path_buf(),
            message,
        };
        // serde_path_to_error names where in the document a problem is
        // (`assets[2].sigma`), which serde_json alone does not.
        let mut reader = serde_json::Deserializer::from_str(&text);
        let portfolio: Portfolio = serde_path_to_error::deserialize(&mut reader)
            .map_err(|err| match err.path().to_string() {
                place if place == "." => err.into_inner().to_string(),
                place => format!("at {place}: {}", err.into_inner()),
            })
            .map_err(malformed)?;
        reader.end().map_err(|err| malformed(err.to_string()))?;
        portfolio.validate()?;
        Ok(portfolio)
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        positive("value", self.value)?;
        if self.assets.is_empty() {
            return Err(InputError::invalid(
                "assets",
                0usize,
                "a portfolio needs at least 1 asset",
            ));
        }
        for (i, asset) in self.assets.iter().enumerate() {
            finite(&format!("assets[{i}].weight"), asset.weight)?;
            finite(&format!("assets[{i}].mu"), asset.mu)?;
            positive(&format!("assets[{i}].sigma"), asset.sigma)?;
        }
        let k = self.assets.len();
        if self.correlation.len() != k {
            return Err(InputError::Dimension {
                field: "correlation (rows)".into(),
                expected: k,
                found: self.correlation.len(),
            });
        }
        for (i, row) in self.correlation.iter().enumerate() {
            if row.len() != k {
                return Err(InputError::Dimension {
                    field: format!("correlation[{i}] (columns)"),
                    expected: k,
                    found: row.len(),
                });
            }
            for (j, &rho) in row.iter().enumerate() {
                finite(&format!("correlation[{i}][{j}]"), rho)?;
            }
        }
        for i in 0..k {
            let diagonal = self.correlation[i][i];
            if (diagonal - 1.0).abs() > CORRELATION_TOLERANCE {
                return Err(InputError::Correlation(format!(
                    "not unit-diagonal: correlation[{i}][{i}] = {diagonal}, expected 1"
                )));
            }
            for j in 0..i {
                let (upper, lower) = (self.correlation[j][i], self.correlation[i][j]);
                if (upper - lower).abs() > CORRELATION_TOLERANCE {
                    return Err(InputError::Correlation(format!(
                        "not symmetric: correlation[{i}][{j}] = {lower} but correlation[{j}][{i}] = {upper}"
                    )));
                }
                if lower.abs() > 1.0 + CORRELATION_TOLERANCE {
                    return Err(InputError::Correlation(format!(
                        "correlation[{i}][{j}] = {lower} lies outside [-1, 1]"
                    )));
                }
            }
        }
        cholesky(&self.correlation).map(|_| ())
    }

    /// Portfolio weights times volatilities, `D w`.
    fn scaled_weights(&self) -> Vec<f64> {
        self.assets.iter().map(|a| a.weight * a.sigma).collect()
    }
}

/// Lower-triangular `L` with `L L^T = matrix`, for a symmetric positive
/// semi-definite matrix. A zero pivot (perfectly dependent assets) gives a zero
/// column, so semi-definite correlations are accepted; a negative pivot means
/// the matrix is not positive semi-definite and is reported as such.
pub fn cholesky(matrix: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, InputError> {
    let k = matrix.len();
    let mut lower = vec![vec![0.0; k]; k];
    for j in 0..k {
        let pivot = matrix[j][j] - (0..j).map(|m| lower[j][m] * lower[j][m]).sum::<f64>();
        if pivot < -CORRELATION_TOLERANCE {
            return Err(InputError::Correlation(format!(
                "not positive semi-definite (pivot {pivot:.3e} at row {j})"
            )));
        }
        let diagonal = pivot.max(0.0).sqrt();
        lower[j][j] = diagonal;
        for i in j + 1..k {
            let rest = matrix[i][j] - (0..j).map(|m| lower[i][m] * lower[j][m]).sum::<f64>();
            if diagonal > CORRELATION_TOLERANCE.sqrt() {
                lower[i][j] = rest / diagonal;
            } else if rest.abs() > CORRELATION_TOLERANCE.sqrt() {
                return Err(InputError::Correlation(format!(
                    "not positive semi-definite (row {i} depends on a degenerate row {j})"
                )));
            }
        }
    }
    Ok(lower)
}

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

    /// Checks the level lies in (0, 1).
    pub fn validate(&self) -> Result<(), InputError> {
        open_unit("confidence", self.level).map(|_| ())
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

/// One VaR/ES run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarJob {
    /// The portfolio.
    pub portfolio: Portfolio,
    /// Number of simulated scenarios, >= 1.
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
        self.portfolio.validate()?;
        if self.scenarios == 0 {
            return Err(InputError::invalid(
                "scenarios",
                self.scenarios,
                "must be at least 1",
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
        for confidence in &self.confidences {
            confidence.validate()?;
        }
        positive("horizon_days", self.horizon_days)?;
        self.distribution.validate()?;
        Ok(())
    }

    /// The portfolio reduced to what each scenario needs (see [`RiskModel`]).
    /// The job must be valid.
    pub fn risk_model(&self) -> Result<RiskModel, InputError> {
        let h = self.horizon_days;
        let value = self.portfolio.value;
        let lower = cholesky(&self.portfolio.correlation)?;
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
        Ok(RiskModel {
            mean,
            loadings,
            dof: match self.distribution {
                ReturnDistribution::Normal => None,
                ReturnDistribution::StudentT { dof } => Some(dof),
            },
        })
    }
}

/// What every scenario needs, in currency units: scenario `s`'s P&L is
/// `mean + scale_s * sum_j loadings[j] * z[s][j]`, with `z[s]` the scenario's
/// standard normals (draws `0..k` of its stream) and `scale_s = 1` (normal) or
/// `sqrt((dof - 2) / W_s)` (Student-t).
///
/// The P&L is linear in the asset returns, so `loadings = value sqrt(h) L^T D w`
/// is computed once and each scenario costs k multiply-adds instead of the k^2
/// of forming `L z` and then `w . X`; the sample is the same, and no
/// scenarios x assets matrix ever exists.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskModel {
    /// Mean P&L over the horizon.
    pub mean: f64,
    /// Each asset shock's weight in the P&L, currency units.
    pub loadings: Vec<f64>,
    /// Student-t degrees of freedom; `None` for normal scenarios.
    pub dof: Option<f64>,
}

impl RiskModel {
    /// Standard deviation of the P&L: the length of `loadings`.
    pub fn std_dev(&self) -> f64 {
        self.loadings.iter().map(|b| b * b).sum::<f64>().sqrt()
    }

    /// Closed-form VaR and ES at `confidence` for the same distribution.
    pub fn parametric(&self, confidence: f64) -> TailMeasure {
        let tail = 1.0 - confidence;
        let sd = self.std_dev();
        match self.dof {
            None => {
                let n = Normal::standard();
                let z = n.inverse_cdf(confidence);
                TailMeasure {
                    var: -self.mean + sd * z,
                    es: -self.mean + sd * n.pdf(z) / tail,
                }
            }
            Some(dof) => {
                let t = StudentsT::new(0.0, 1.0, dof).expect("dof > 2 was validated");
                let q = t.inverse_cdf(confidence);
                let scale = sd * ((dof - 2.0) / dof).sqrt();
                TailMeasure {
                    var: -self.mean + scale * q,
                    es: -self.mean + scale * t.pdf(q) / tail * (dof + q * q) / (dof - 1.0),
                }
            }
        }
    }
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

impl RiskEstimate {
    /// Moments (fixed chunks, merged in order) and tail measures (by selection)
    /// of a simulated P&L sample, which is reordered in place.
    pub fn of_sample(pnl: &mut [f64], confidences: &[Confidence]) -> Self {
        let levels: Vec<f64> = confidences.iter().map(|c| c.level).collect();
        let (moments, tails) = crate::stats::summarise(pnl, &levels);
        Self {
            mean: moments.mean,
            std_dev: moments.std_dev(),
            tails,
        }
    }
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
    /// Closed-form VaR for the same distribution.
    pub parametric_var: f64,
    /// Closed-form ES for the same distribution.
    pub parametric_es: f64,
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
