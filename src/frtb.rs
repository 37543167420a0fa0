//! FRTB's internally-modelled expected shortfall (Basel Committee, "Minimum
//! capital requirements for market risk", BCBS d457, 2019; MAR33), by
//! historical simulation:
//!
//! * **ES at 97.5%** over a base horizon of `T = 10` days (MAR33.3), from
//!   overlapping 10-day simple returns `P_{t+10} / P_t - 1` of the price
//!   file, by `var --historical`'s rank rule (ES minus the mean of the
//!   `ceil(0.025 n)` smallest P&Ls);
//! * **liquidity horizons** (MAR33.4, MAR33.12): each asset's risk factor
//!   has one of `LH = 10, 20, 40, 60, 120` days (`liquidity_horizon` in the
//!   portfolio file, 10 unless given); `ES_T(P, j)` is the ES with only the
//!   factors of horizon at least `LH_j` shocked (the others' returns 0), and
//!   `ES = sqrt(ES_T(P)^2 + sum_{j >= 2} (ES_T(P, j) sqrt((LH_j - LH_{j-1}) / T))^2)`;
//! * **stressed calibration** (MAR33.5): with a stress period and a reduced
//!   set of factors (`reduced: true` per asset), the ES is
//!   `ES_R,S x ES_F,C / ES_R,C`: the reduced set's ES over the stress period
//!   scaled by the full set's over its reduced set's over the current
//!   period (the whole file), the ratio floored at 1; each of the three is
//!   liquidity adjusted as above.
//!
//! An option is shocked with its underlying, revalued with its maturity
//! shortened by the base horizon.

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::fit::PriceHistory;
use crate::historical::{BookPnl, DateRange, StressWindow, book_columns, book_returns, stretches};
use crate::risk::{Confidence, Portfolio};
use crate::stats::tails_of_counts;

/// FRTB's liquidity horizons, in days.
pub const LIQUIDITY_HORIZONS: [u32; 5] = [10, 20, 40, 60, 120];

/// The base horizon `T`, in days.
pub const BASE_HORIZON: usize = 10;

/// The ES level.
pub const LEVEL: f64 = 0.975;

/// One liquidity horizon's ES: the base-horizon ES with the factors of at
/// least that horizon shocked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// The horizon `LH_j`, in days.
    pub liquidity_horizon: u32,
    /// `ES_T(P, j)`.
    pub es: f64,
}

/// The stressed calibration's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressedScaling {
    /// The stress period.
    pub window: DateRange,
    /// Stress periods compared (1 for given dates).
    pub searched: usize,
    /// `ES_R,S`: the reduced set's liquidity-adjusted ES over the stress
    /// period.
    pub es_reduced_stressed: f64,
    /// `ES_F,C`: the full set's over the current period.
    pub es_full_current: f64,
    /// `ES_R,C`: the reduced set's over the current period.
    pub es_reduced_current: f64,
    /// `max(1, ES_F,C / ES_R,C)`.
    pub ratio: f64,
    /// `ES_R,S x ratio`: the stressed ES.
    pub es: f64,
}

/// An FRTB expected shortfall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frtb {
    /// The liquidity-adjusted ES of the current period (the whole file).
    pub es: f64,
    /// `ES_T(P, j)` of each liquidity horizon, the first with every factor.
    pub buckets: Vec<Bucket>,
    /// Overlapping 10-day windows of the current period.
    pub windows: usize,
    /// The stressed calibration, with a stress period.
    pub stressed_scaling: Option<StressedScaling>,
}

/// The book's 10-day P&L on every overlapping window of `daily` (the
/// book's daily returns) with only the assets `shocked` moving.
fn masked_pnl(revalue: &mut BookPnl<'_>, daily: &[Vec<f64>], shocked: &[bool]) -> Vec<f64> {
    let masked: Vec<Vec<f64>> = daily
        .iter()
        .map(|r| {
            r.iter()
                .zip(shocked)
                .map(|(&x, &on)| if on { x } else { 0.0 })
                .collect()
        })
        .collect();
    masked
        .windows(BASE_HORIZON)
        .map(|w| revalue.over(w))
        .collect()
}

/// The 97.5% ES of `pnl` by the rank rule (0 for no windows).
fn es_of(pnl: &[f64]) -> f64 {
    if pnl.is_empty() {
        return 0.0;
    }
    let count = Confidence::new(LEVEL).tail_count(pnl.len());
    tails_of_counts(&mut pnl.to_vec(), &[count])[0].es
}

/// The cascade of `subset`'s factors (a set of assets; the others never
/// shocked) over the 10-day windows of `daily`, the book revalued by
/// `revalue`: each bucket's ES, and the liquidity-adjusted ES.
fn cascade(
    revalue: &mut BookPnl<'_>,
    daily: &[Vec<f64>],
    horizons: &[u32],
    subset: &[bool],
) -> (f64, Vec<Bucket>) {
    let mut buckets = Vec::with_capacity(LIQUIDITY_HORIZONS.len());
    let mut sum = 0.0;
    for (j, &horizon) in LIQUIDITY_HORIZONS.iter().enumerate() {
        let shocked: Vec<bool> = horizons
            .iter()
            .zip(subset)
            .map(|(&h, &on)| on && h >= horizon)
            .collect();
        let es = if shocked.iter().any(|&on| on) {
            es_of(&masked_pnl(revalue, daily, &shocked))
        } else {
            0.0
        };
        let scale = if j == 0 {
            1.0
        } else {
            (f64::from(horizon - LIQUIDITY_HORIZONS[j - 1]) / BASE_HORIZON as f64).sqrt()
        };
        sum += (es * scale).powi(2);
        buckets.push(Bucket {
            liquidity_horizon: horizon,
            es,
        });
    }
    (sum.sqrt(), buckets)
}

/// FRTB's ES of `book` on `history` (every asset of the book needs a
/// column), with the stressed calibration over `stress` when it is given
/// and the book marks a reduced set (the search for the period maximises
/// the reduced set's liquidity-adjusted ES).
pub fn frtb_es(
    book: &Portfolio,
    history: &PriceHistory,
    stress: Option<&StressWindow>,
) -> Result<Frtb, InputError> {
    book.validate()?;
    let columns = book_columns(book, history, "frtb")?;
    let daily = book_returns(history, &columns);
    if daily.len() < BASE_HORIZON + 1 {
        return Err(InputError::invalid(
            "frtb",
            daily.len(),
            &format!(
                "daily returns in the price file: the 10-day ES needs more than {BASE_HORIZON}"
            ),
        ));
    }
    let horizons: Vec<u32> = book
        .assets
        .iter()
        .map(|a| a.liquidity_horizon.unwrap_or(LIQUIDITY_HORIZONS[0]))
        .collect();
    let everything = vec![true; book.assets.len()];
    // Compiled once: the book's options (and the correlation's factor they
    // read) serve every bucket of every stretch.
    let mut revalue = BookPnl::new(book, BASE_HORIZON as f64)?;
    let (es, buckets) = cascade(&mut revalue, &daily, &horizons, &everything);
    let reduced: Vec<bool> = book.assets.iter().map(|a| a.reduced).collect();
    let stressed_scaling = match stress {
        // The calibration needs both a period and a reduced set.
        Some(window) if reduced.iter().any(|&r| r) => {
            let (starts, days) = stretches(history, BASE_HORIZON, window)?;
            let searched = starts.clone().count();
            let mut best: Option<(usize, f64)> = None;
            for start in starts {
                let (es, _) = cascade(
                    &mut revalue,
                    &daily[start..start + days],
                    &horizons,
                    &reduced,
                );
                if best.is_none_or(|(_, kept)| es > kept) {
                    best = Some((start, es));
                }
            }
            let (start, es_reduced_stressed) = best.expect("at least one stretch");
            let (es_reduced_current, _) = cascade(&mut revalue, &daily, &horizons, &reduced);
            let ratio = if es_reduced_current > 0.0 {
                (es / es_reduced_current).max(1.0)
            } else {
                1.0
            };
            Some(StressedScaling {
                window: DateRange::of_stretch(history, start, days),
                searched,
                es_reduced_stressed,
                es_full_current: es,
                es_reduced_current,
                ratio,
                es: es_reduced_stressed * ratio,
            })
        }
        _ => None,
    };
    Ok(Frtb {
        es,
        buckets,
        windows: daily.len() + 1 - BASE_HORIZON,
        stressed_scaling,
    })
}
