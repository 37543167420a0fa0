//! The portfolio file: linear positions, their return model, the option
//! positions on them, and the checks a book must pass before any tier sees
//! it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, finite, positive, within};
use crate::market::{MAX_PRICE, MAX_RATE, MAX_VOL, OptionKind};

/// One holding of a portfolio.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// The current price, > 0, where known (a fitted book records the last
    /// price of its history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Continuous dividend yield (annual) of the options on it; 0 unless
    /// given.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dividend: f64,
    /// FRTB's liquidity horizon of the asset's risk factor in days (10,
    /// 20, 40, 60 or 120; [`crate::frtb`]); 10 unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidity_horizon: Option<u32>,
    /// Whether the asset is in FRTB's reduced set of risk factors, the set
    /// a stressed period's ES is measured on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reduced: bool,
}

/// Whether an optional flag holds its default, false, and is left out of
/// JSON.
fn is_false(value: &bool) -> bool {
    !*value
}

/// Whether an optional field holds its default, 0, and is left out of JSON.
fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

/// A portfolio: its value, its assets and their return correlation.
///
/// The JSON form is
/// `{"value": 1000000, "assets": [{"name": "AAPL", "weight": 0.25, "mu": 0.0004,
/// "sigma": 0.018}, ...], "correlation": [[1, 0.3, ...], ...]}`, with
/// optionally a list of European `"options"` on its assets (see
/// [`OptionPosition`]; their assets need a `"price"`, and may give a
/// `"dividend"`) and the `"rate"` they are discounted at (default 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portfolio {
    /// Total value in currency units, > 0.
    pub value: f64,
    /// The holdings.
    pub assets: Vec<Asset>,
    /// Symmetric, unit-diagonal, positive semi-definite k x k matrix.
    pub correlation: Vec<Vec<f64>>,
    /// European options on the assets, revalued in full in every scenario.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionPosition>,
    /// Continuously compounded rate (annual) the options are valued at.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rate: f64,
}

/// Most assets a portfolio (or a price file) may hold: the correlation's
/// factor takes `k^3 / 3` operations and `8 k^2` bytes, about a second and
/// 32 MB at this size, where 10,000 assets would take minutes and
/// gigabytes.
pub const MAX_PORTFOLIO_ASSETS: usize = 2000;

/// Largest portfolio file read: a portfolio of 10^5 assets is a few MB.
pub const MAX_PORTFOLIO_BYTES: u64 = 256 << 20;

/// Largest gap from symmetry, unit diagonal or semi-definiteness tolerated.
const CORRELATION_TOLERANCE: f64 = 1e-9;

impl Portfolio {
    /// Reads and validates a portfolio file.
    ///
    /// Only a regular file of at most [`MAX_PORTFOLIO_BYTES`] is read (a
    /// device such as `/dev/zero` or a pipe is refused before reading), and
    /// the document and each asset must be JSON objects: serde would also
    /// accept them as positional arrays, which the format does not define.
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let unreadable = |message: String| InputError::PortfolioRead {
            path: path.to_path_buf(),
            message,
        };
        let text = crate::files::read_capped(path, MAX_PORTFOLIO_BYTES).map_err(unreadable)?;
        Self::from_json(&text, path)
    }

    /// Parses and validates a portfolio document; `origin` names it in
    /// errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<Self, InputError> {
        let path = origin;
        let malformed = |message: String| InputError::PortfolioFormat {
            path: path.to_path_buf(),
            message,
        };
        // Repeated keys and oversized lists are refused before the parse
        // allocates for them.
        let wide = |place: &str| {
            (place == "assets" || place == "correlation" || place.starts_with("correlation["))
                .then_some(MAX_PORTFOLIO_ASSETS)
        };
        crate::files::check_json(text, &wide).map_err(malformed)?;
        let document: serde_json::Value =
            serde_json::from_str(text).map_err(|err| malformed(err.to_string()))?;
        if !document.is_object() {
            return Err(malformed("the document must be a JSON object".into()));
        }
        if let Some(assets) = document.get("assets").and_then(|a| a.as_array())
            && let Some(i) = assets.iter().position(|asset| !asset.is_object())
        {
            return Err(malformed(format!(
                "at assets[{i}]: an asset must be a JSON object with name, weight, mu and sigma"
            )));
        }
        if let Some(options) = document.get("options").and_then(|a| a.as_array())
            && let Some(i) = options.iter().position(|option| !option.is_object())
        {
            return Err(malformed(format!(
                "at options[{i}]: an option must be a JSON object with asset, kind, strike, maturity, quantity and vol"
            )));
        }
        // serde_path_to_error names where in the document a problem is
        // (`assets[2].sigma`), which serde_json alone does not.
        let portfolio: Portfolio = serde_path_to_error::deserialize(document)
            .map_err(|err| match err.path().to_string() {
                place if place == "." => err.into_inner().to_string(),
                place => format!("at {place}: {}", err.into_inner()),
            })
            .map_err(malformed)?;
        portfolio.validate()?;
        Ok(portfolio)
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        self.correlation_factor().map(|_| ())
    }

    /// Every check of [`Portfolio::validate`], returning the correlation's
    /// Cholesky factor that the last of them computes, so a risk model
    /// built right after validation need not factor the matrix again.
    pub(crate) fn correlation_factor(&self) -> Result<Vec<Vec<f64>>, InputError> {
        positive("value", self.value)?;
        if self.assets.is_empty() {
            return Err(InputError::invalid(
                "assets",
                0usize,
                "a portfolio needs at least 1 asset",
            ));
        }
        if self.assets.len() > MAX_PORTFOLIO_ASSETS {
            return Err(InputError::invalid(
                "assets",
                self.assets.len(),
                &format!("a portfolio takes at most {MAX_PORTFOLIO_ASSETS} assets"),
            ));
        }
        let mut names = std::collections::HashMap::with_capacity(self.assets.len());
        for (i, asset) in self.assets.iter().enumerate() {
            if let Some(j) = names.insert(asset.name.as_str(), i) {
                // Options and contributions bind to assets by name.
                return Err(InputError::invalid(
                    format!("assets[{i}].name"),
                    &asset.name,
                    &format!("is also the name of assets[{j}]"),
                ));
            }
            finite(&format!("assets[{i}].weight"), asset.weight)?;
            finite(&format!("assets[{i}].mu"), asset.mu)?;
            positive(&format!("assets[{i}].sigma"), asset.sigma)?;
            if let Some(horizon) = asset.liquidity_horizon
                && !crate::frtb::LIQUIDITY_HORIZONS.contains(&horizon)
            {
                return Err(InputError::invalid(
                    format!("assets[{i}].liquidity_horizon"),
                    horizon,
                    "must be one of FRTB's 10, 20, 40, 60 or 120 days",
                ));
            }
            if let Some(price) = asset.price {
                positive(&format!("assets[{i}].price"), price)?;
            }
        }
        check_correlation(&self.correlation, self.assets.len())?;
        validate_options(self)?;
        cholesky(&self.correlation)
    }

    /// Portfolio weights times volatilities, `D w`.
    pub(crate) fn scaled_weights(&self) -> Vec<f64> {
        self.assets.iter().map(|a| a.weight * a.sigma).collect()
    }
}

/// Checks that `correlation` is a `k` x `k` matrix of finite numbers,
/// unit-diagonal, symmetric and within [-1, 1] (to a tolerance of 1e-9),
/// naming the first entry that is not; semi-definiteness is
/// [`cholesky`]'s check.
pub(crate) fn check_correlation(correlation: &[Vec<f64>], k: usize) -> Result<(), InputError> {
    if correlation.len() != k {
        return Err(InputError::Dimension {
            field: "correlation (rows)".into(),
            expected: k,
            found: correlation.len(),
        });
    }
    for (i, row) in correlation.iter().enumerate() {
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
    for (i, row) in correlation.iter().enumerate() {
        let diagonal = row[i];
        if (diagonal - 1.0).abs() > CORRELATION_TOLERANCE {
            return Err(InputError::Correlation(format!(
                "not unit-diagonal: correlation[{i}][{i}] = {diagonal}, expected 1"
            )));
        }
        for (j, &lower) in row.iter().enumerate().take(i) {
            let upper = correlation[j][i];
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
    Ok(())
}

/// Lower-triangular `L` with `L L^T = matrix`, for a symmetric positive
/// semi-definite matrix. A zero pivot (perfectly dependent assets) gives a zero
/// column, so semi-definite correlations are accepted; a negative pivot means
/// the matrix is not positive semi-definite and is reported as such.
pub fn cholesky(matrix: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, InputError> {
    let k = matrix.len();
    if let Some((i, row)) = matrix.iter().enumerate().find(|(_, row)| row.len() != k) {
        return Err(InputError::Dimension {
            field: format!("correlation[{i}] (columns)"),
            expected: k,
            found: row.len(),
        });
    }
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

/// One European option of the book, on one of the portfolio's assets.
///
/// JSON: `{"asset": "AAPL", "kind": "call", "strike": 190, "maturity": 0.5,
/// "quantity": -100, "vol": 0.28}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionPosition {
    /// The asset's name, as in the portfolio's `assets`; the asset needs its
    /// current `price`.
    pub asset: String,
    /// Call or put.
    pub kind: OptionKind,
    /// Strike, > 0.
    pub strike: f64,
    /// Years to maturity, > 0.
    pub maturity: f64,
    /// Units of the underlying the position is on; negative for written
    /// options.
    pub quantity: f64,
    /// Implied volatility (annual), > 0.
    pub vol: f64,
}

/// Checks the book's options against its assets, naming the first bad field.
fn validate_options(portfolio: &Portfolio) -> Result<(), InputError> {
    within("rate", portfolio.rate, -MAX_RATE, MAX_RATE)?;
    for (i, asset) in portfolio.assets.iter().enumerate() {
        within(
            &format!("assets[{i}].dividend"),
            asset.dividend,
            -MAX_RATE,
            MAX_RATE,
        )?;
    }
    for (i, option) in portfolio.options.iter().enumerate() {
        let field = |name: &str| format!("options[{i}].{name}");
        let Some(asset) = portfolio.assets.iter().find(|a| a.name == option.asset) else {
            let names: Vec<&str> = portfolio.assets.iter().map(|a| a.name.as_str()).collect();
            return Err(InputError::invalid(
                field("asset"),
                &option.asset,
                &format!("is not an asset of the portfolio ({})", names.join(", ")),
            ));
        };
        if asset.price.is_none() {
            return Err(InputError::invalid(
                field("asset"),
                &option.asset,
                "an option's asset needs its current \"price\" in the portfolio",
            ));
        }
        within(&field("strike"), option.strike, 1.0 / MAX_PRICE, MAX_PRICE)?;
        positive(&field("maturity"), option.maturity)?;
        within(&field("maturity"), option.maturity, 0.0, 1000.0)?;
        positive(&field("vol"), option.vol)?;
        within(&field("vol"), option.vol, 0.0, MAX_VOL)?;
        finite(&field("quantity"), option.quantity)?;
        within(&field("quantity"), option.quantity, -MAX_PRICE, MAX_PRICE)?;
    }
    Ok(())
}
