//! Per-position VaR and ES contributions (Euler allocation) from the tail
//! scenarios of a run.
//!
//! Every scenario can be regenerated from its counter, so after any tier has
//! found the VaR the tail is found again on the CPU without storing the
//! sample: one pass keeps the scenarios whose P&L (the scalar oracle's) lies
//! at or below the VaR plus a small margin, the `m` smallest of them are the
//! tail, and only those are regenerated position by position.
//!
//! * **Component ES** of position `i` is `E[-P&L_i | tail]`, the mean loss of
//!   the position over the `m` tail scenarios; the components add up to the
//!   ES.
//! * **Marginal VaR** of position `i` is `dVaR / dw_i`, the change of VaR per
//!   unit change of the weight (currency units), estimated as
//!   `E[-value X_i | P&L = -VaR]`: the mean over the scenarios ranked within
//!   `b = ceil(m^(2/3))` of the VaR's rank (a window of `2b + 1` order
//!   statistics), scaled so that the components add up to the VaR.
//! * **Component VaR** is `w_i` times the marginal VaR.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::control::Control;
use crate::error::{Error, InputError};
use crate::risk::{Confidence, RiskModel, VarJob};
use crate::rng::CHUNK;

/// One position's share of the risk at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The asset, or the option (`AAPL call K=250 T=0.25`).
    pub name: String,
    /// Its share of the VaR; the shares add up to the VaR.
    pub component_var: f64,
    /// Its share of the ES, `E[-P&L_i | tail]`; the shares add up to the ES.
    pub component_es: f64,
    /// `dVaR / dw_i`, currency units per unit of weight (for an option, per
    /// unit of quantity).
    pub marginal_var: f64,
}

/// The contributions at one confidence level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelContributions {
    /// The level.
    pub confidence: Confidence,
    /// One per asset, in the portfolio's order, then one per option.
    pub positions: Vec<Contribution>,
}

/// The Euler contributions of `job`'s positions at each of its levels, given
/// the run's result (the VaR and ES a tier found).
pub fn contributions(
    job: &VarJob,
    result: &crate::VarResult,
) -> Result<Vec<LevelContributions>, Error> {
    contributions_with(job, result, &crate::control::UNWATCHED)
}

/// [`contributions`], its pass over the scenarios counted in `control` and
/// stopped by it (see [`crate::control`]).
pub fn contributions_with(
    job: &VarJob,
    result: &crate::VarResult,
    control: &Control,
) -> Result<Vec<LevelContributions>, Error> {
    let model = job.risk_model()?;
    let positions = Positions::new(job, &model)?;
    let n = job.scenarios;
    let counts = job.tail_counts();
    // The widest tail, with the window beyond its VaR.
    let (widest, widest_var) = counts
        .iter()
        .zip(&result.levels)
        .max_by_key(|(m, _)| **m)
        .map(|(&m, level)| (m, level.var))
        .ok_or_else(|| InputError::invalid("confidence", "[]", "at least one level is needed"))?;
    let needed = (widest + window(widest)).min(n as usize);
    // A margin above -VaR that should hold the window: the normal density
    // at the VaR, plus slack; widened until it does.
    let sd = model.std_dev();
    let mut margin = 1e-9 * (widest_var.abs() + sd) + 8.0 * sd * window(widest) as f64 / n as f64;
    let mut candidates = loop {
        let threshold = -widest_var + margin;
        control.expect(n);
        let found = candidates_below(&model, job.seed, n, threshold, control);
        control.check()?;
        if found.len() >= needed || margin > 1e3 * (widest_var.abs() + sd) {
            break found;
        }
        margin *= 4.0;
    };
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // Per level: the tail's ranks `0 .. m` and the window's `low .. high`
    // about the VaR's rank (m - 1, counting from 0).
    let spans: Vec<(usize, usize, usize)> = counts
        .iter()
        .map(|&m| {
            let m = m.min(candidates.len());
            let b = window(m);
            (m, m.saturating_sub(1 + b), (m + b).min(candidates.len()))
        })
        .collect();
    // One walk over the ranked candidates, each regenerated position by
    // position once, adding to every level's tail and window it falls in
    // (in rank order, as a walk per level would).
    let k = positions.names.len();
    let last = spans
        .iter()
        .map(|&(m, _, high)| m.max(high))
        .max()
        .unwrap_or(0);
    let mut tail_loss = vec![vec![0.0; k]; spans.len()];
    let mut unit_loss = vec![vec![0.0; k]; spans.len()];
    let mut window_loss = vec![0.0; spans.len()];
    for (rank, &(pnl, index)) in candidates[..last].iter().enumerate() {
        let unit = positions.unit_pnl(job.seed, index);
        for (level, &(m, low, high)) in spans.iter().enumerate() {
            if rank < m {
                for (sum, u) in tail_loss[level].iter_mut().zip(&unit) {
                    *sum -= u;
                }
            }
            if (low..high).contains(&rank) {
                window_loss[level] -= pnl;
                for (sum, u) in unit_loss[level].iter_mut().zip(&unit) {
                    *sum -= u;
                }
            }
        }
    }
    // An option's "weight" is its quantity: the P&L is linear in both.
    let weights: Vec<f64> = job
        .portfolio
        .assets
        .iter()
        .map(|a| a.weight)
        .chain(job.portfolio.options.iter().map(|o| o.quantity))
        .collect();
    Ok(job
        .confidences
        .iter()
        .zip(&result.levels)
        .enumerate()
        .map(|(level, (confidence, measured))| {
            let m = spans[level].0;
            let mut component_es: Vec<f64> = tail_loss[level]
                .iter()
                .zip(&weights)
                .map(|(loss, w)| w * loss / m as f64)
                .collect();
            // The components add up to the ES the tier measured.
            let total: f64 = component_es.iter().sum();
            if total != 0.0 {
                component_es
                    .iter_mut()
                    .for_each(|c| *c *= measured.es / total);
            }
            let scale = if window_loss[level] != 0.0 {
                measured.var / window_loss[level]
            } else {
                0.0
            };
            LevelContributions {
                confidence: confidence.clone(),
                positions: (0..k)
                    .map(|i| {
                        let marginal_var = unit_loss[level][i] * scale;
                        Contribution {
                            name: positions.names[i].clone(),
                            component_var: weights[i] * marginal_var,
                            component_es: component_es[i],
                            marginal_var,
                        }
                    })
                    .collect(),
            }
        })
        .collect())
}

/// Half-width of the order-statistics window about a VaR of tail count `m`:
/// `m^(2/3)`, wide enough that the position means over it settle (their
/// error falls as `m^(-1/3)`), narrow next to the tail (a fraction
/// `m^(-1/3)` of it), and exact for an elliptical book, whose conditional
/// means are linear in the P&L across the window.
fn window(m: usize) -> usize {
    ((m as f64).powf(2.0 / 3.0).ceil().max(1.0) as usize).min(m.saturating_sub(1).max(1))
}

/// `(P&L, index)` of every scenario whose P&L is at most `threshold`, in
/// index order (fixed chunks in parallel).
fn candidates_below(
    model: &RiskModel,
    seed: u64,
    n: u64,
    threshold: f64,
    control: &Control,
) -> Vec<(f64, u64)> {
    let chunks = n.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            if control.is_cancelled() {
                return Vec::new();
            }
            let mut normals = model.scratch();
            let mut found = Vec::new();
            for index in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
                let pnl = crate::backend::scalar_scenario_pnl(model, seed, index, &mut normals);
                if pnl <= threshold {
                    found.push((pnl, index));
                }
            }
            control.advance(((chunk + 1) * CHUNK).min(n) - chunk * CHUNK);
            found
        })
        .collect::<Vec<_>>()
        .concat()
}

/// What regenerates a scenario position by position.
struct Positions {
    /// The assets', then the options' names.
    names: Vec<String>,
    /// The options, revalued per unit of quantity.
    book: Option<crate::revaluation::OptionBook>,
    /// Per unit of weight: `value h mu_i`.
    mean: Vec<f64>,
    /// Per unit of weight: `value sqrt(h) sigma_i L[i][j]`.
    loading: Vec<Vec<f64>>,
    dof: Option<f64>,
}

impl Positions {
    fn new(job: &VarJob, model: &RiskModel) -> Result<Self, InputError> {
        let lower = crate::risk::cholesky(&job.portfolio.correlation)?;
        let (value, h) = (job.portfolio.value, job.horizon_days);
        let assets = &job.portfolio.assets;
        let options = job.portfolio.options.iter().map(|o| {
            format!(
                "{} {} K={} T={}",
                o.asset,
                o.kind.name(),
                o.strike,
                o.maturity
            )
        });
        Ok(Self {
            names: assets
                .iter()
                .map(|a| a.name.clone())
                .chain(options)
                .collect(),
            book: model.book.clone(),
            mean: assets.iter().map(|a| value * h * a.mu).collect(),
            loading: assets
                .iter()
                .zip(&lower)
                .map(|(a, row)| row.iter().map(|l| value * h.sqrt() * a.sigma * l).collect())
                .collect(),
            dof: model.dof,
        })
    }

    /// Scenario `index`'s P&L per unit of each weight, `value X_i`, then
    /// per unit of each option's quantity.
    fn unit_pnl(&self, seed: u64, index: u64) -> Vec<f64> {
        let mut z = vec![0.0; self.mean.len()];
        let scale = crate::backend::scenario_draws(self.dof, seed, index, &mut z);
        let mut unit: Vec<f64> = self
            .mean
            .iter()
            .zip(&self.loading)
            .map(|(mean, row)| mean + scale * row.iter().zip(&z).map(|(l, z)| l * z).sum::<f64>())
            .collect();
        if let Some(book) = &self.book {
            let mut returns = vec![0.0; book.underlyings.len()];
            book.returns(&z, scale, &mut returns);
            unit.extend(book.unit_pnl(&returns));
        }
        unit
    }
}

/// The P&L of scenarios `scenarios` of `job`, regenerated on the CPU (the
/// scalar oracle's figures, in parallel over fixed chunks): for pictures and
/// checks of a run whose sample was never stored. The buffer is allocated
/// fallibly: a sample that cannot be held is an error naming its size, never
/// an abort.
pub fn regenerate_pnl(job: &VarJob, scenarios: std::ops::Range<u64>) -> Result<Vec<f64>, Error> {
    regenerate_pnl_with(job, scenarios, &crate::control::UNWATCHED)
}

/// [`regenerate_pnl`], stopping with [`Error::Cancelled`] within a chunk of
/// [`Control::cancel`].
pub fn regenerate_pnl_with(
    job: &VarJob,
    scenarios: std::ops::Range<u64>,
    control: &Control,
) -> Result<Vec<f64>, Error> {
    let model = job.risk_model()?;
    let (start, end) = (scenarios.start, scenarios.end.min(job.scenarios));
    let mut pnl = crate::backend::allocate(end.saturating_sub(start))?;
    pnl.par_chunks_mut(CHUNK as usize)
        .enumerate()
        .try_for_each(|(k, values)| {
            let first = start + k as u64 * CHUNK;
            if control.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let mut normals = model.scratch();
            for (value, index) in values.iter_mut().zip(first..) {
                *value = crate::backend::scalar_scenario_pnl(&model, job.seed, index, &mut normals);
            }
            Ok(())
        })?;
    Ok(pnl)
}
