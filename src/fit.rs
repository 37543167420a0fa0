//! From a price history to a book: the daily simple returns of a price file,
//! their means, volatilities and correlations (the sample's, or RiskMetrics'
//! exponentially weighted ones), the nearest correlation matrix when asked,
//! and the portfolio those make with the caller's weights.
//!
//! The price file is CSV with a header: the first column holds the dates
//! (`YYYY-MM-DD`, optionally followed by a time, as a yfinance or exchange
//! export writes them), every other column the closing prices of one asset,
//! named in the header. Rows must be in increasing date order, every price
//! present, finite and positive; anything else is an error naming the row
//! (the file's line number) and the column.

use std::path::Path;

use crate::error::{InputError, open_unit, positive};
use crate::portfolio::MAX_PORTFOLIO_ASSETS;
use crate::risk::{Asset, Portfolio, cholesky};

/// Largest price file read: 256 MB is decades of prices for thousands of assets.
pub const MAX_PRICE_FILE_BYTES: u64 = 256 << 20;

/// Closing prices by date, one column per asset.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceHistory {
    /// The dates, oldest first, as written in the file.
    pub dates: Vec<String>,
    /// The asset names from the header.
    pub assets: Vec<String>,
    /// `prices[t][i]`: asset `i`'s price on date `t`.
    pub prices: Vec<Vec<f64>>,
}

impl PriceHistory {
    /// Reads and validates a price file (a regular file of at most
    /// [`MAX_PRICE_FILE_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = crate::files::read_capped(path, MAX_PRICE_FILE_BYTES).map_err(|message| {
            InputError::PricesRead {
                path: path.to_path_buf(),
                message,
            }
        })?;
        Self::from_csv(&text, path)
    }

    /// Parses and validates price-file text; `origin` names it in errors.
    pub fn from_csv(text: &str, origin: &Path) -> Result<Self, InputError> {
        let bad = |message: String| InputError::PricesFormat {
            path: origin.to_path_buf(),
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|err| bad(format!("row 1 (the header): {err}")))?
            .clone();
        if header.len() < 2 {
            return Err(bad(format!(
                "row 1 (the header): found {} column(s); expected a date column and at least one asset column",
                header.len()
            )));
        }
        let assets: Vec<String> = header.iter().skip(1).map(str::to_string).collect();
        if assets.len() > MAX_PORTFOLIO_ASSETS {
            return Err(bad(format!(
                "row 1 (the header): {} asset columns; at most {MAX_PORTFOLIO_ASSETS} are supported (a book's correlation grows with their square)",
                assets.len()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(assets.len());
        for (i, name) in assets.iter().enumerate() {
            if name.is_empty() {
                return Err(bad(format!(
                    "row 1 (the header), column {}: empty asset name",
                    i + 2
                )));
            }
            if !seen.insert(name.as_str()) {
                return Err(bad(format!(
                    "row 1 (the header): asset '{}' appears twice",
                    name.escape_debug()
                )));
            }
        }
        let (mut dates, mut prices) = (Vec::new(), Vec::new());
        let mut previous: Option<(Date, String)> = None;
        for record in reader.records() {
            let record = record.map_err(|err| bad(err.to_string()))?;
            let row = record.position().map_or(0, |p| p.line());
            if record.len() != header.len() {
                return Err(bad(format!(
                    "row {row}: {} column(s), but the header has {}",
                    record.len(),
                    header.len()
                )));
            }
            let date_text = &record[0];
            let date = Date::parse(date_text).ok_or_else(|| {
                bad(format!(
                    "row {row}, column {}: '{date_text}' is not a date (YYYY-MM-DD)",
                    &header[0]
                ))
            })?;
            if let Some((last, last_text)) = &previous {
                if date == *last {
                    return Err(bad(format!(
                        "row {row}: date {date_text} appears twice (also as {last_text})"
                    )));
                }
                if date < *last {
                    return Err(bad(format!(
                        "row {row}: date {date_text} comes after {last_text}; the rows must be in increasing date order"
                    )));
                }
            }
            let row_prices = record
                .iter()
                .skip(1)
                .zip(&assets)
                .map(|(cell, asset)| {
                    let at = format!("row {row}, column {asset}");
                    if cell.is_empty()
                        || ["na", "nan", "null", "none"].contains(&cell.to_lowercase().as_str())
                    {
                        return Err(bad(format!("{at}: missing price '{cell}'")));
                    }
                    let price: f64 = cell
                        .parse()
                        .map_err(|_| bad(format!("{at}: '{cell}' is not a number")))?;
                    if !(price.is_finite() && price > 0.0) {
                        return Err(bad(format!("{at}: price {cell} must be a positive number")));
                    }
                    Ok(price)
                })
                .collect::<Result<Vec<f64>, _>>()?;
            previous = Some((date, date_text.to_string()));
            dates.push(date_text.to_string());
            prices.push(row_prices);
        }
        if prices.len() < 3 {
            return Err(bad(format!(
                "{} row(s) of prices; at least 3 are needed (2 daily returns)",
                prices.len()
            )));
        }
        Ok(Self {
            dates,
            assets,
            prices,
        })
    }

    /// The daily simple returns `P_t / P_{t-1} - 1`, one row per date after
    /// the first.
    pub fn returns(&self) -> Vec<Vec<f64>> {
        self.prices
            .windows(2)
            .map(|pair| {
                pair[1]
                    .iter()
                    .zip(&pair[0])
                    .map(|(now, before)| now / before - 1.0)
                    .collect()
            })
            .collect()
    }

    /// The first and last dates, as written in the file.
    pub fn date_range(&self) -> (String, String) {
        (
            self.dates.first().cloned().unwrap_or_default(),
            self.dates.last().cloned().unwrap_or_default(),
        )
    }

    /// The last row's prices.
    pub fn last_prices(&self) -> &[f64] {
        self.prices.last().map_or(&[], Vec::as_slice)
    }
}

/// A calendar date, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date(u16, u8, u8);

impl Date {
    /// `YYYY-MM-DD`, optionally followed by a time (`T...` or ` ...`).
    fn parse(text: &str) -> Option<Self> {
        let day = text.get(..10)?;
        if !matches!(text.as_bytes().get(10), None | Some(b' ' | b'T')) {
            return None;
        }
        let mut parts = day.split('-');
        let (year, month, date) = (parts.next()?, parts.next()?, parts.next()?);
        if year.len() != 4 || month.len() != 2 || date.len() != 2 {
            return None;
        }
        let (year, month, date): (u16, u8, u8) =
            (year.parse().ok()?, month.parse().ok()?, date.parse().ok()?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        ((1..=12).contains(&month) && (1..=days).contains(&date)).then_some(Self(year, month, date))
    }
}

/// How the returns are weighted in the estimates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weighting {
    /// Every return alike: sample means, volatilities with `n - 1` in the
    /// denominator, and the sample correlation.
    Sample,
    /// RiskMetrics: the return `k` days before the last weighs
    /// `lambda^k`, normalised to sum to one; second moments about zero (as
    /// RiskMetrics takes them). Means stay the sample means.
    Ewma {
        /// The decay, strictly between 0 and 1 (RiskMetrics' daily 0.94).
        lambda: f64,
    },
}

/// The weights of the fitted book.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    /// `1 / k` each.
    Equal,
    /// A weight for every asset of the file, by name.
    Named(Vec<(String, f64)>),
}

/// What to fit and how.
#[derive(Debug, Clone, PartialEq)]
pub struct FitJob {
    /// Sample or EWMA estimates.
    pub weighting: Weighting,
    /// Replace a correlation matrix that is not positive semi-definite by
    /// the nearest one that is (Higham 2002) instead of refusing it.
    pub nearest_psd: bool,
    /// The book's value, > 0.
    pub value: f64,
    /// The weights.
    pub weights: Weights,
    /// An option overlay the fitted book keeps (its assets' prices become
    /// the history's last ones), with the rate it is valued at and the
    /// dividend yield of each named asset.
    pub overlay: Overlay,
}

/// Options on the fitted book's assets, kept as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    /// The options.
    pub options: Vec<crate::risk::OptionPosition>,
    /// The rate they are valued at.
    pub rate: f64,
    /// Dividend yields by asset name.
    pub dividends: Vec<(String, f64)>,
    /// FRTB's liquidity horizon and reduced-set flag by asset name.
    pub frtb: Vec<(String, Option<u32>, bool)>,
}

impl Overlay {
    /// What a fit keeps of an existing `book`: its options, rate, and each
    /// asset's dividend yield, liquidity horizon and reduced-set flag.
    pub fn of(book: &crate::risk::Portfolio) -> Self {
        Self {
            options: book.options.clone(),
            rate: book.rate,
            dividends: book
                .assets
                .iter()
                .map(|a| (a.name.clone(), a.dividend))
                .collect(),
            frtb: book
                .assets
                .iter()
                .map(|a| (a.name.clone(), a.liquidity_horizon, a.reduced))
                .collect(),
        }
    }
}

/// A fitted book and how it was fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The portfolio: names from the header, `price` from the last row.
    pub portfolio: Portfolio,
    /// Daily returns used.
    pub observations: usize,
    /// The first and last dates of the file.
    pub dates: (String, String),
    /// When the correlation was repaired: the largest change of an entry.
    pub repaired: Option<f64>,
}

/// Checks an EWMA decay lies in [0.5, 1): under one half the last return
/// outweighs all the others together, and the estimate degenerates to one
/// day's square (a correlation of +-1) without saying so.
pub(crate) fn check_decay(field: &str, lambda: f64) -> Result<(), InputError> {
    open_unit(field, lambda)?;
    if lambda < 0.5 {
        return Err(InputError::invalid(
            field,
            lambda,
            "must be at least 0.5 (RiskMetrics' daily decay is 0.94): a smaller decay leaves the estimate to the last day's return alone",
        ));
    }
    Ok(())
}

/// Fits `job`'s book to `history`.
pub fn fit(history: &PriceHistory, job: &FitJob) -> Result<Fit, InputError> {
    positive("value", job.value)?;
    if let Weighting::Ewma { lambda } = job.weighting {
        check_decay("ewma", lambda)?;
    }
    let weights = resolve_weights(&history.assets, &job.weights)?;
    let returns = history.returns();
    let (mu, covariance) = moments(&returns, job.weighting);
    let k = history.assets.len();
    let sigma: Vec<f64> = (0..k).map(|i| covariance[i][i].sqrt()).collect();
    if let Some(i) = sigma.iter().position(|&s| !s.is_finite() || s <= 0.0) {
        let reason = if sigma[i] == 0.0 {
            "the price never changes (or the weighted returns are all 0), so its volatility is 0"
        } else {
            "the returns overflow f64 arithmetic (prices spanning hundreds of orders of magnitude)"
        };
        return Err(InputError::invalid(
            format!("prices column {}", history.assets[i]),
            sigma[i],
            reason,
        ));
    }
    let correlation = unit_diagonal(k, |i, j| {
        (covariance[i][j] / (sigma[i] * sigma[j])).clamp(-1.0, 1.0)
    });
    // Complete rows give a positive semi-definite matrix by construction;
    // this guards the rounding of nearly dependent assets.
    let (correlation, repaired) = checked_correlation(correlation, job.nearest_psd)?;
    let last = history.last_prices();
    let frtb = |i: usize| {
        job.overlay
            .frtb
            .iter()
            .find(|(name, _, _)| *name == history.assets[i])
    };
    let portfolio = Portfolio {
        value: job.value,
        assets: (0..k)
            .map(|i| Asset {
                name: history.assets[i].clone(),
                weight: weights[i],
                mu: mu[i],
                sigma: sigma[i],
                price: Some(last[i]),
                dividend: job
                    .overlay
                    .dividends
                    .iter()
                    .find(|(name, _)| *name == history.assets[i])
                    .map_or(0.0, |&(_, d)| d),
                liquidity_horizon: frtb(i).and_then(|&(_, horizon, _)| horizon),
                reduced: frtb(i).is_some_and(|&(_, _, reduced)| reduced),
            })
            .collect(),
        correlation,
        options: job.overlay.options.clone(),
        rate: job.overlay.rate,
    };
    portfolio.validate()?;
    Ok(Fit {
        portfolio,
        observations: returns.len(),
        dates: history.date_range(),
        repaired,
    })
}

/// `correlation` if it is positive semi-definite; else, when `nearest_psd`,
/// the nearest correlation matrix that is and the largest change of an entry,
/// or an error saying why it is not and how to repair it.
pub fn checked_correlation(
    correlation: Vec<Vec<f64>>,
    nearest_psd: bool,
) -> Result<(Vec<Vec<f64>>, Option<f64>), InputError> {
    let Err(problem) = cholesky(&correlation) else {
        return Ok((correlation, None));
    };
    if !nearest_psd {
        return Err(InputError::Correlation(format!(
            "the fitted correlation is {} (smallest eigenvalue {:.3e}); pass --nearest-psd (FitJob::nearest_psd) to use the nearest correlation matrix that is",
            problem_text(&problem),
            smallest_eigenvalue(&correlation)
        )));
    }
    let (nearest, change) = nearest_with_change(&correlation);
    Ok((nearest, Some(change)))
}

/// [`nearest_correlation`] of `correlation`, with the largest change of an
/// entry.
pub fn nearest_with_change(correlation: &[Vec<f64>]) -> (Vec<Vec<f64>>, f64) {
    let nearest = nearest_correlation(correlation);
    let change = nearest
        .iter()
        .flatten()
        .zip(correlation.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    (nearest, change)
}

fn problem_text(problem: &InputError) -> String {
    match problem {
        InputError::Correlation(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The weight of each of `assets`, in their order.
fn resolve_weights(assets: &[String], weights: &Weights) -> Result<Vec<f64>, InputError> {
    match weights {
        Weights::Equal => Ok(vec![1.0 / assets.len() as f64; assets.len()]),
        Weights::Named(named) => {
            for (name, weight) in named {
                if !assets.contains(name) {
                    return Err(InputError::Unknown {
                        field: "weights".into(),
                        value: name.clone(),
                        expected: assets.join(", "),
                    });
                }
                crate::error::finite(&format!("weights.{name}"), *weight)?;
            }
            assets
                .iter()
                .map(|asset| {
                    let mut given = named.iter().filter(|(name, _)| name == asset);
                    match (given.next(), given.next()) {
                        (Some(&(_, weight)), None) => Ok(weight),
                        (Some(_), Some(_)) => Err(InputError::invalid(
                            format!("weights.{asset}"),
                            asset,
                            "given twice",
                        )),
                        (None, _) => Err(InputError::invalid(
                            "weights",
                            asset,
                            "no weight for this asset of the price file (give 0 to leave it out)",
                        )),
                    }
                })
                .collect()
        }
    }
}

/// The means and the covariance matrix of `returns` under `weighting`.
fn moments(returns: &[Vec<f64>], weighting: Weighting) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = returns.len();
    let k = returns.first().map_or(0, Vec::len);
    let mean: Vec<f64> = (0..k)
        .map(|i| returns.iter().map(|r| r[i]).sum::<f64>() / n as f64)
        .collect();
    let covariance = match weighting {
        Weighting::Sample => {
            let mut c = vec![vec![0.0; k]; k];
            for r in returns {
                for i in 0..k {
                    for j in 0..=i {
                        c[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]);
                    }
                }
            }
            symmetric(c, 1.0 / (n as f64 - 1.0))
        }
        Weighting::Ewma { lambda } => {
            // Oldest first: the last return weighs 1, the one before lambda.
            let mut c = vec![vec![0.0; k]; k];
            let mut total = 0.0;
            let mut weight = 1.0;
            for r in returns.iter().rev() {
                for i in 0..k {
                    for j in 0..=i {
                        c[i][j] += weight * r[i] * r[j];
                    }
                }
                total += weight;
                weight *= lambda;
            }
            symmetric(c, 1.0 / total)
        }
    };
    (mean, covariance)
}

/// The lower triangle `c` times `scale`, mirrored.
fn symmetric(c: Vec<Vec<f64>>, scale: f64) -> Vec<Vec<f64>> {
    let k = c.len();
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| scale * if j <= i { c[i][j] } else { c[j][i] })
                .collect()
        })
        .collect()
}

fn to_matrix(m: &[Vec<f64>]) -> nalgebra::DMatrix<f64> {
    let k = m.len();
    nalgebra::DMatrix::from_fn(k, k, |i, j| m[i][j])
}

/// The smallest eigenvalue of a symmetric matrix.
pub fn smallest_eigenvalue(matrix: &[Vec<f64>]) -> f64 {
    to_matrix(matrix)
        .symmetric_eigenvalues()
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
}

/// The nearest correlation matrix to a symmetric `matrix` in the Frobenius
/// norm: Higham's (2002) alternating projections with Dykstra's correction
/// onto the positive semi-definite matrices and the unit-diagonal ones,
/// until the two agree to 1e-12 (at most 10,000 rounds).
pub fn nearest_correlation(matrix: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = matrix.len();
    let mut y = to_matrix(matrix);
    let mut correction = nalgebra::DMatrix::<f64>::zeros(k, k);
    for _ in 0..10_000 {
        let r = &y - &correction;
        // Onto the positive semi-definite cone: negative eigenvalues to 0.
        let eigen = r.clone().symmetric_eigen();
        let clipped = eigen.eigenvalues.map(|v| v.max(0.0));
        let x = &eigen.eigenvectors
            * nalgebra::DMatrix::from_diagonal(&clipped)
            * eigen.eigenvectors.transpose();
        correction = &x - &r;
        // Onto the unit-diagonal matrices.
        let mut next = x.clone();
        next.fill_diagonal(1.0);
        let gap = (&next - &x).norm() / next.norm().max(1.0);
        let step = (&next - &y).norm() / next.norm().max(1.0);
        y = next;
        if gap < 1e-12 && step < 1e-12 {
            break;
        }
    }
    // Exactly symmetric, unit diagonal.
    unit_diagonal(k, |i, j| 0.5 * (y[(i, j)] + y[(j, i)]))
}

/// The `k x k` matrix with ones on the diagonal and `entry(i, j)` elsewhere.
fn unit_diagonal(k: usize, entry: impl Fn(usize, usize) -> f64) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| if i == j { 1.0 } else { entry(i, j) })
                .collect()
        })
        .collect()
}
