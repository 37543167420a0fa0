//! Incremental VaR: what a trade does to a book's VaR and ES, measured on
//! the same scenarios (the same streams) with and without it, so the
//! difference carries only the noise the trade adds; its standard error
//! beside the one two independent runs would have.
//!
//! A trade is positions (a weight, a fraction of the book's value, added to
//! an asset of the book; negative to reduce or remove) and options on the
//! book's assets. The book's assets, their distribution and the seed are
//! unchanged, so scenario `i` moves the same prices in both books and only
//! the P&L function differs: common random numbers.
//!
//! Standard errors are by batching: the scenarios are cut into
//! [`BATCHES`] contiguous batches, each batch's VaR and ES (and their
//! changes) are computed by the run's rank rule, and the standard error of
//! a figure is the batches' spread over `sqrt(BATCHES)`. The independent
//! standard error is `sqrt(SE_before^2 + SE_after^2)`, what the change's
//! would be had the two books been simulated on different streams.
//!
//! The scenarios are regenerated on the CPU (the scalar oracle's figures,
//! rayon over fixed chunks; [`crate::contributions::regenerate_pnl`]), as
//! the contributions are: the GPU's f32 twin of the same scenarios agrees
//! with them to its stated tolerance.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::control::Control;
use crate::error::{Error, InputError};
use crate::portfolio::OptionPosition;
use crate::risk::{Confidence, Portfolio, VarJob};
use crate::stats::tails_of_counts;

/// Batches of the standard errors.
pub const BATCHES: usize = 20;

/// Largest trade file read.
pub const MAX_TRADE_BYTES: u64 = 16 << 20;

/// A weight added to one of the book's assets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradePosition {
    /// The asset, as the book names it.
    pub asset: String,
    /// The weight added (a fraction of the book's value; negative to sell).
    pub weight: f64,
}

/// A trade: positions in the book's assets and options on them.
///
/// The JSON form is `{"positions": [{"asset": "AAPL", "weight": 0.01}],
/// "options": [{"asset": "AAPL", "kind": "put", "strike": 230, "maturity":
/// 0.25, "quantity": 100, "vol": 0.3}]}`, either list optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trade {
    /// Weights added to the book's assets.
    #[serde(default)]
    pub positions: Vec<TradePosition>,
    /// Options added (a negative quantity writes one).
    #[serde(default)]
    pub options: Vec<OptionPosition>,
}

impl Trade {
    /// Reads a trade file (a regular file of at most [`MAX_TRADE_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = crate::files::read_capped(path, MAX_TRADE_BYTES)
            .map_err(|message| InputError::invalid("what-if", path.display(), &message))?;
        Self::from_json(&text, path)
    }

    /// Parses trade-file text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<Self, InputError> {
        serde_json::from_str(text).map_err(|err| {
            InputError::invalid(
                "what-if",
                origin.display(),
                &format!("not a trade file: {err}"),
            )
        })
    }

    /// `book` with the trade added: each position's weight added to its
    /// asset's, the options appended; the result validated as a book. An
    /// asset the book does not hold is an error naming it.
    pub fn apply(&self, book: &Portfolio) -> Result<Portfolio, InputError> {
        if self.positions.is_empty() && self.options.is_empty() {
            return Err(InputError::invalid(
                "what-if",
                "{}",
                "the trade holds no positions and no options",
            ));
        }
        let known = |asset: &str, field: &str| {
            book.assets
                .iter()
                .position(|a| a.name == asset)
                .ok_or_else(|| {
                    InputError::invalid(
                        field,
                        asset,
                        "is not an asset of the portfolio: a trade adds to the book's assets only",
                    )
                })
        };
        let mut after = book.clone();
        for (i, position) in self.positions.iter().enumerate() {
            let index = known(&position.asset, &format!("what-if positions[{i}].asset"))?;
            if !position.weight.is_finite() {
                return Err(InputError::invalid(
                    format!("what-if positions[{i}].weight"),
                    position.weight,
                    "must be finite",
                ));
            }
            after.assets[index].weight += position.weight;
        }
        for (i, option) in self.options.iter().enumerate() {
            known(&option.asset, &format!("what-if options[{i}].asset"))?;
            after.options.push(option.clone());
        }
        after.validate()?;
        Ok(after)
    }
}

/// What the trade does at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIfLevel {
    /// The level.
    pub confidence: Confidence,
    /// The book's VaR.
    pub var_before: f64,
    /// The book's VaR with the trade.
    pub var_after: f64,
    /// `var_after - var_before`.
    pub var_change: f64,
    /// Its standard error on common random numbers.
    pub var_change_std_error: f64,
    /// The book's ES.
    pub es_before: f64,
    /// The book's ES with the trade.
    pub es_after: f64,
    /// `es_after - es_before`.
    pub es_change: f64,
    /// Its standard error on common random numbers.
    pub es_change_std_error: f64,
    /// The VaR change's standard error had the two books run on
    /// independent streams: `sqrt(SE(var_before)^2 + SE(var_after)^2)`.
    pub independent_std_error: f64,
    /// The same for the ES change.
    pub es_independent_std_error: f64,
}

/// A what-if run: each level's figures, and the batches behind the
/// standard errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    /// Scenarios of each book (the same ones).
    pub scenarios: u64,
    /// Batches of the standard errors.
    pub batches: usize,
    /// Each level, in the job's order.
    pub levels: Vec<WhatIfLevel>,
}

/// Mean and standard error of the mean of `values`.
fn mean_and_error(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let spread = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (spread / n).sqrt())
}

/// The VaR and ES of `pnl` (reordered) at `confidences`, by the run's rank
/// rule.
fn tails(pnl: &mut [f64], confidences: &[Confidence]) -> Vec<(f64, f64)> {
    let counts: Vec<usize> = confidences
        .iter()
        .map(|c| c.tail_count(pnl.len()))
        .collect();
    tails_of_counts(pnl, &counts)
        .into_iter()
        .map(|t| (t.var, t.es))
        .collect()
}

/// What `trade` does to `job`'s book at each of its levels, on the job's
/// scenarios with and without it.
pub fn what_if(job: &VarJob, trade: &Trade, control: &Control) -> Result<WhatIf, Error> {
    job.validate()?;
    let after_job = VarJob {
        portfolio: trade.apply(&job.portfolio)?,
        ..job.clone()
    };
    let tail = job
        .confidences
        .iter()
        .map(|c| 1.0 - c.level)
        .fold(1.0, f64::min);
    let least = (BATCHES as f64 / tail).ceil() as u64;
    if job.scenarios < least {
        return Err(InputError::invalid(
            "scenarios",
            job.scenarios,
            &format!(
                "a what-if needs at least {least}: {BATCHES} batches for its standard errors, \
                 each with a scenario in its tail"
            ),
        )
        .into());
    }
    let before = crate::contributions::regenerate_pnl_with(job, 0..job.scenarios, control)?;
    let after = crate::contributions::regenerate_pnl_with(&after_job, 0..job.scenarios, control)?;
    let whole_before = tails(&mut before.clone(), &job.confidences);
    let whole_after = tails(&mut after.clone(), &job.confidences);
    // Each batch's figures, level by level: [before var, after var, change,
    // before es, after es, es change].
    let n = before.len();
    let per_batch: Vec<Vec<[f64; 6]>> = (0..BATCHES)
        .map(|b| {
            let range = b * n / BATCHES..(b + 1) * n / BATCHES;
            let tb = tails(&mut before[range.clone()].to_vec(), &job.confidences);
            let ta = tails(&mut after[range].to_vec(), &job.confidences);
            tb.into_iter()
                .zip(ta)
                .map(|((vb, eb), (va, ea))| [vb, va, va - vb, eb, ea, ea - eb])
                .collect()
        })
        .collect();
    let levels = job
        .confidences
        .iter()
        .enumerate()
        .map(|(level, confidence)| {
            let error = |k: usize| {
                let values: Vec<f64> = per_batch.iter().map(|batch| batch[level][k]).collect();
                mean_and_error(&values).1
            };
            let (var_before, es_before) = whole_before[level];
            let (var_after, es_after) = whole_after[level];
            WhatIfLevel {
                confidence: confidence.clone(),
                var_before,
                var_after,
                var_change: var_after - var_before,
                var_change_std_error: error(2),
                es_before,
                es_after,
                es_change: es_after - es_before,
                es_change_std_error: error(5),
                independent_std_error: error(0).hypot(error(1)),
                es_independent_std_error: error(3).hypot(error(4)),
            }
        })
        .collect();
    Ok(WhatIf {
        scenarios: job.scenarios,
        batches: BATCHES,
        levels,
    })
}
