//! Historical simulation: the book's P&L on each window of the price history,
//! with the same rank rule as the Monte Carlo VaR (VaR is minus the
//! `tail_count`-th smallest P&L, ES minus the mean of those smallest), and
//! the filtered variant that rescales each past return to today's EWMA
//! volatility (Hull and White 1998).
//!
//! The book is linear: the P&L of window `t` is `value * sum_i w_i r_{i,t}`,
//! with `r_{i,t}` asset `i`'s simple return over the window
//! (`P_{t+h} / P_t - 1` for a horizon of `h` days, windows overlapping by
//! `h - 1` days).

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::fit::PriceHistory;
use crate::revaluation::OptionBook;
use crate::risk::{Confidence, Portfolio, cholesky};
use crate::stats::{Moments, TailMeasure, tails_of_counts};

/// Historical VaR and ES at one confidence level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalLevel {
    /// The level.
    pub confidence: Confidence,
    /// Minus the tail quantile of the historical P&L.
    pub var: f64,
    /// Minus the mean of the historical P&L in the tail.
    pub es: f64,
    /// Windows in the tail.
    pub tail: usize,
}

/// A historical-simulation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalResult {
    /// `historical`, or `filtered historical (EWMA lambda)`.
    pub method: String,
    /// Windows of P&L (days of history less the horizon).
    pub windows: usize,
    /// The first and last dates of the history.
    pub dates: (String, String),
    /// Mean P&L over the windows.
    pub mean: f64,
    /// Standard deviation of the P&L over the windows.
    pub std: f64,
    /// VaR and ES per confidence level, in the given order.
    pub levels: Vec<HistoricalLevel>,
}

/// The historical (or, with `filter = Some(lambda)`, filtered historical)
/// VaR and ES of `book` over `history` at each level, over `horizon_days`
/// (a whole number of days). Every asset of the book needs a column of the
/// history (matched by name); other columns are ignored.
pub fn historical_var(
    book: &Portfolio,
    history: &PriceHistory,
    confidences: &[Confidence],
    horizon_days: f64,
    filter: Option<f64>,
) -> Result<HistoricalResult, InputError> {
    book.validate()?;
    for confidence in confidences {
        confidence.validate()?;
    }
    if confidences.is_empty() {
        return Err(InputError::invalid(
            "confidence",
            "[]",
            "at least one level is needed",
        ));
    }
    if !(horizon_days >= 1.0 && horizon_days.fract() == 0.0) {
        return Err(InputError::invalid(
            "horizon-days",
            horizon_days,
            "historical simulation needs a whole number of days, at least 1",
        ));
    }
    if let Some(lambda) = filter {
        crate::fit::check_decay("filtered-ewma", lambda)?;
    }
    let columns = book_columns(book, history, "historical")?;
    let horizon = horizon_days as usize;
    let mut daily = book_returns(history, &columns);
    if let Some(lambda) = filter {
        daily = filtered(&daily, lambda);
    }
    if daily.len() < horizon {
        return Err(InputError::invalid(
            "horizon-days",
            horizon_days,
            &format!(
                "longer than the {} daily returns of the price file",
                daily.len()
            ),
        ));
    }
    let mut revalue = BookPnl::new(book, horizon_days)?;
    let mut pnl: Vec<f64> = daily
        .windows(horizon)
        .map(|window| revalue.over(window))
        .collect();
    let moments = Moments::of(&pnl);
    let counts: Vec<usize> = confidences
        .iter()
        .map(|c| c.tail_count(pnl.len()))
        .collect();
    let tails: Vec<TailMeasure> = tails_of_counts(&mut pnl, &counts);
    Ok(HistoricalResult {
        method: filter.map_or("historical".to_string(), |lambda| {
            format!("filtered historical (EWMA {lambda})")
        }),
        windows: moments.count as usize,
        dates: history.date_range(),
        mean: moments.mean,
        std: moments.std_dev(),
        levels: confidences
            .iter()
            .zip(tails)
            .zip(counts)
            .map(|((confidence, tail), count)| HistoricalLevel {
                confidence: confidence.clone(),
                var: tail.var,
                es: tail.es,
                tail: count,
            })
            .collect(),
    })
}

/// The column of `history` of each asset of `book` (matched by name); an
/// asset without one is an error naming `field`.
pub(crate) fn book_columns(
    book: &Portfolio,
    history: &PriceHistory,
    field: &str,
) -> Result<Vec<usize>, InputError> {
    book.assets
        .iter()
        .map(|asset| {
            history
                .assets
                .iter()
                .position(|name| *name == asset.name)
                .ok_or_else(|| {
                    InputError::invalid(
                        field,
                        &asset.name,
                        &format!(
                            "this asset of the portfolio has no column in the price file (columns: {})",
                            history.assets.join(", ")
                        ),
                    )
                })
        })
        .collect()
}

/// The daily simple returns of the book's `columns` of `history`, one row
/// per date after the first, in the book's asset order.
pub(crate) fn book_returns(history: &PriceHistory, columns: &[usize]) -> Vec<Vec<f64>> {
    history
        .returns()
        .into_iter()
        .map(|r| columns.iter().map(|&c| r[c]).collect())
        .collect()
}

/// A book's P&L over a window of daily returns: its linear positions, and
/// its options revalued at the window's prices with their maturity
/// shortened by the horizon, as in the Monte Carlo scenarios.
pub(crate) struct BookPnl<'a> {
    book: &'a Portfolio,
    options: Option<OptionBook>,
    option_returns: Vec<f64>,
}

impl<'a> BookPnl<'a> {
    /// The P&L of a validated `book` over windows of `horizon_days`.
    pub(crate) fn new(book: &'a Portfolio, horizon_days: f64) -> Result<Self, InputError> {
        let options = OptionBook::new(book, &cholesky(&book.correlation)?, horizon_days);
        let option_returns = vec![0.0; options.as_ref().map_or(0, |o| o.underlyings.len())];
        Ok(Self {
            book,
            options,
            option_returns,
        })
    }

    /// The P&L over `window`'s days (rows of the book's daily returns):
    /// each asset's growth compounded from them (for a plain history,
    /// exactly `P_{t+h} / P_t`).
    pub(crate) fn over(&mut self, window: &[Vec<f64>]) -> f64 {
        let book = self.book;
        let growth: Vec<f64> = (0..book.assets.len())
            .map(|i| window.iter().map(|r| 1.0 + r[i]).product())
            .collect();
        let linear: f64 = book
            .assets
            .iter()
            .zip(&growth)
            .map(|(asset, g)| book.value * asset.weight * (g - 1.0))
            .sum();
        match &self.options {
            None => linear,
            Some(options) => {
                for (out, underlying) in self.option_returns.iter_mut().zip(&options.underlyings) {
                    *out = growth[underlying.asset] - 1.0;
                }
                linear + options.horizon_value(&self.option_returns) - options.value_now
            }
        }
    }
}

/// Each daily return rescaled to today's volatility: `r_t sigma_{n+1} /
/// sigma_t`, with the EWMA variance `sigma_{t+1}^2 = lambda sigma_t^2 +
/// (1 - lambda) r_t^2` started at the sample's mean square.
pub fn filtered(daily: &[Vec<f64>], lambda: f64) -> Vec<Vec<f64>> {
    let k = daily.first().map_or(0, Vec::len);
    let n = daily.len() as f64;
    let mut variance: Vec<f64> = (0..k)
        .map(|i| daily.iter().map(|r| r[i] * r[i]).sum::<f64>() / n)
        .collect();
    let mut before = Vec::with_capacity(daily.len());
    for r in daily {
        before.push(variance.clone());
        for (variance, r) in variance.iter_mut().zip(r) {
            *variance = lambda * *variance + (1.0 - lambda) * r * r;
        }
    }
    daily
        .iter()
        .zip(&before)
        .map(|(r, then)| {
            (0..k)
                .map(|i| {
                    if then[i] > 0.0 {
                        r[i] * (variance[i] / then[i]).sqrt()
                    } else {
                        r[i]
                    }
                })
                .collect()
        })
        .collect()
}
