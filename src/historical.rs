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
    /// The stressed VaR and ES, when asked for ([`stressed_var`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stressed: Option<Stressed>,
    /// FRTB's expected shortfall, when asked for ([`crate::frtb`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frtb: Option<crate::frtb::Frtb>,
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
    let mut pnl = window_pnl(book, history, confidences, horizon_days, filter)?;
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
        levels: levels_of(confidences, tails, counts),
        stressed: None,
        frtb: None,
    })
}

/// The checks of a historical run (the book, the levels, a whole horizon,
/// the filter's decay) and the book's P&L over every window of
/// `horizon_days` days of `history` (overlapping), its returns filtered
/// first with `filter`.
fn window_pnl(
    book: &Portfolio,
    history: &PriceHistory,
    confidences: &[Confidence],
    horizon_days: f64,
    filter: Option<f64>,
) -> Result<Vec<f64>, InputError> {
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
    Ok(daily
        .windows(horizon)
        .map(|window| revalue.over(window))
        .collect())
}

/// Which stretch of the history a stressed VaR reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StressWindow {
    /// The stretch of this many days of returns where the book's VaR is
    /// largest (at the highest level asked), found by trying every one.
    Worst {
        /// Days of returns (Basel: 250, a year).
        days: usize,
    },
    /// The stretch between these dates of the price file (inclusive), as it
    /// writes them.
    Dates {
        /// The first date (its price is the first one read).
        from: String,
        /// The last date.
        to: String,
    },
}

/// A stretch of the history, by its first and last dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// The first date, as the price file writes it.
    pub from: String,
    /// The last date.
    pub to: String,
}

impl DateRange {
    /// The dates of the stretch of `days` returns from return `start`
    /// ([`stretches`]): the prices of rows `start` and `start + days`.
    pub(crate) fn of_stretch(history: &PriceHistory, start: usize, days: usize) -> Self {
        Self {
            from: history.dates[start].clone(),
            to: history.dates[start + days].clone(),
        }
    }
}

/// Each level's figures from its tail (in the levels' order) and the
/// tail's size.
fn levels_of(
    confidences: &[Confidence],
    tails: Vec<TailMeasure>,
    counts: Vec<usize>,
) -> Vec<HistoricalLevel> {
    confidences
        .iter()
        .zip(tails)
        .zip(counts)
        .map(|((confidence, tail), count)| HistoricalLevel {
            confidence: confidence.clone(),
            var: tail.var,
            es: tail.es,
            tail: count,
        })
        .collect()
}

/// A stressed VaR: historical VaR and ES of today's book over a stretch of
/// the history (Basel 2.5's stressed VaR, BCBS "Revisions to the Basel II
/// market risk framework", 2009: a continuous 12-month period of
/// significant financial stress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stressed {
    /// The stretch read.
    pub window: DateRange,
    /// Days of returns in it.
    pub days: usize,
    /// Stretches compared (1 for given dates).
    pub searched: usize,
    /// VaR and ES per confidence level, in the given order.
    pub levels: Vec<HistoricalLevel>,
}

/// The stressed VaR and ES of `book` at each level over `horizon_days`:
/// plain historical simulation (no filter: the stress is the period's own
/// volatility) over the stretch `window` picks, each level's tail by the
/// rank rule of [`historical_var`]. Searching, every stretch of `days`
/// consecutive days of returns is tried, and the one with the largest VaR
/// at the highest level (the earliest of equals) is kept.
pub fn stressed_var(
    book: &Portfolio,
    history: &PriceHistory,
    confidences: &[Confidence],
    horizon_days: f64,
    window: &StressWindow,
) -> Result<Stressed, InputError> {
    let pnl = window_pnl(book, history, confidences, horizon_days, None)?;
    let horizon = horizon_days as usize;
    let (starts, days) = stretches(history, horizon, window)?;
    let counts: Vec<usize> = confidences
        .iter()
        .map(|c| c.tail_count(days + 1 - horizon))
        .collect();
    let highest = (0..confidences.len())
        .max_by(|&a, &b| {
            confidences[a]
                .level
                .total_cmp(&confidences[b].level)
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    let searched = starts.clone().count();
    let mut scratch = Vec::with_capacity(days);
    let mut best: Option<(usize, Vec<TailMeasure>)> = None;
    for start in starts {
        scratch.clear();
        scratch.extend_from_slice(&pnl[start..start + days + 1 - horizon]);
        let tails = tails_of_counts(&mut scratch, &counts);
        if best
            .as_ref()
            .is_none_or(|(_, kept)| tails[highest].var > kept[highest].var)
        {
            best = Some((start, tails));
        }
    }
    let (start, tails) = best.expect("at least one stretch");
    Ok(Stressed {
        window: DateRange::of_stretch(history, start, days),
        days,
        searched,
        levels: levels_of(confidences, tails, counts),
    })
}

/// The stretches `window` picks among, as the first return of each (every
/// start of a search, or the one of given dates), and their length in days
/// of returns; a stretch must hold more than one horizon of `horizon`
/// days.
pub(crate) fn stretches(
    history: &PriceHistory,
    horizon: usize,
    window: &StressWindow,
) -> Result<(std::ops::RangeInclusive<usize>, usize), InputError> {
    let returns = history.prices.len().saturating_sub(1);
    match window {
        StressWindow::Worst { days } => {
            if *days < horizon + 1 || *days > returns {
                return Err(InputError::invalid(
                    "stress-days",
                    days,
                    &format!(
                        "must hold more than one horizon ({horizon} days) and at most the price \
                         file's {returns} daily returns"
                    ),
                ));
            }
            Ok((0..=returns - days, *days))
        }
        StressWindow::Dates { from, to } => {
            let row = |date: &str| {
                history.dates.iter().position(|d| d == date).ok_or_else(|| {
                    InputError::invalid(
                        "stress-window",
                        date,
                        &format!(
                            "is not a date of the price file ({} .. {})",
                            history.dates.first().map_or("", String::as_str),
                            history.dates.last().map_or("", String::as_str)
                        ),
                    )
                })
            };
            let (first, last) = (row(from)?, row(to)?);
            let days = last.saturating_sub(first);
            if days < horizon + 1 {
                return Err(InputError::invalid(
                    "stress-window",
                    format!("{from}..{to}"),
                    &format!(
                        "must run forward over more than one horizon ({horizon} days of returns)"
                    ),
                ));
            }
            Ok((first..=first, days))
        }
    }
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
