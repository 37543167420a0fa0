//! Early exercise on several correlated assets: Bermudan and American
//! baskets, worst-of, best-of (max-call) options and spreads, by the same
//! Longstaff-Schwartz passes as one asset ([`super::walk`]), each path a
//! [`crate::basket`] walk.
//!
//! # Regressors
//!
//! With `y_a = w_a S_a / c` each asset's weighted price over the scale `c`
//! (the strike, or `sum |w_a| S_a(0)` at strike 0) and `m` the style's
//! level of them (the sum for a basket or spread, the smallest for a
//! worst-of, the largest for a best-of), a date's fit regresses on
//!
//! * the constant and the basis of `m` to the degree (as one asset's
//!   moneyness: `--basis laguerre|monomial`, `--basis-degree`);
//! * the other assets' `y`: for a best-of the `d - 1` below the largest,
//!   largest first, for a worst-of the `d - 1` above the smallest,
//!   smallest first, for a basket or spread the first `d - 1` in the
//!   file's order (the last is the level less them);
//! * the cross terms of the level and the first of those, `m y'` and
//!   `y'^2`.
//!
//! `1 + degree + (d - 1) + 2` regressors for `d >= 2` (ten for five assets
//! at degree 3); one asset is one asset's basis, so a one-asset basket's
//! policy and price are the single-asset job's bit for bit.
//!
//! # Controls
//!
//! The pricing pass' control at expiry is the European payoff where the
//! product has a closed form (Stulz's two-asset best-of and worst-of,
//! Margrabe's exchange, one asset's Black-Scholes), else the weighted sum
//! of the terminal prices, its mean `sum w_a S_a(0) e^{-q_a T}`. The
//! nested paths of the upper bound stop the discounted weighted sum
//! `sum w_a e^{-(r - q_a) t} S_a(t)`, a martingale.

use super::walk::{MAX_STATE, Schedule, State, Underlying};
use super::{Basis, ExerciseJob, level_terms};
use crate::basket::{BasketJob, BasketPlan, BasketStyle};
use crate::error::InputError;
use crate::pricing::Sampler;

/// The most assets a basket with early exercise takes: each asset's log
/// return is a path's state at a date, stored by the calibration pass.
pub const MAX_EXERCISE_ASSETS: usize = MAX_STATE;

/// A basket job with early exercise compiled once: the basket's walk and
/// what both passes read.
#[derive(Debug, Clone, PartialEq)]
pub struct BasketExercisePlan {
    /// The basket's per-step constants, weighted spots, style and strike
    /// (its own control and Greeks off).
    pub basket: BasketPlan,
    /// Exercise dates, the last at expiry.
    pub dates: u32,
    /// Time steps between dates.
    pub steps_per_date: u32,
    /// `e^{-r t_k}` of each date `k = 1 ..= dates`.
    pub date_discounts: Vec<f64>,
    /// `e^{-(r - q_a) t_k} w_a S_a(0)` of each date `k = 0 ..= dates` and
    /// asset `a`, row by row: the nested paths' martingale's weights.
    pub martingale_weights: Vec<f64>,
    /// The regression's basis.
    pub basis: Basis,
    /// Terms of the level's basis, the constant included.
    pub level_terms: usize,
    /// Regressors of a date's fit.
    pub regressors: usize,
    /// The regressors' and continuation value's unit.
    pub scale: f64,
    /// Paths of the calibration pass.
    pub calibration_paths: u64,
    /// The streams' seed.
    pub seed: u64,
    /// Mirror pairs in the pricing pass.
    pub antithetic: bool,
    /// A control at expiry in the pricing pass.
    pub control: bool,
    /// Whether the control is the European payoff (the product has a
    /// closed form) or the weighted sum of the terminal prices.
    pub control_payoff: bool,
    /// The control's discounted mean.
    pub control_mean: f64,
}

impl ExerciseJob<BasketJob> {
    /// Regressors of a date's fit: the level's basis and, for two assets
    /// or more, the other assets' prices and two cross terms (see the
    /// module).
    pub fn regressors(&self) -> usize {
        let d = self.job.assets.len();
        self.degree as usize + 1 + if d >= 2 { d + 1 } else { 0 }
    }

    /// The method in words, e.g. `longstaff-schwartz (laguerre 3 of the
    /// level + 6 cross-asset regressors, 9 dates, 32768 calibration
    /// paths)`.
    pub fn method(&self) -> String {
        let extra = self.regressors() - self.degree as usize - 1;
        let mut method = format!(
            "longstaff-schwartz ({} {} of the {}'s level{}, {} dates, {} calibration paths)",
            self.basis,
            self.degree,
            self.job.style,
            if extra > 0 {
                format!(" + {extra} cross-asset regressors")
            } else {
                String::new()
            },
            self.dates(),
            self.calibration_paths()
        );
        if self.job.antithetic {
            method += " + antithetic";
        }
        if self.job.control_variate {
            method += if self.job.closed_form().is_some() {
                " + control variate (european)"
            } else {
                " + control variate (terminal weighted sum)"
            };
        }
        method += &self.bound_method();
        method
    }

    /// Checks everything before any work: the basket's own checks, then
    /// what early exercise adds, each error naming the field.
    pub fn validate(&self) -> Result<(), InputError> {
        self.plan().map(|_| ())
    }

    /// The job compiled once: validated, the basket's walk, the dates'
    /// discount factors and the control.
    pub fn plan(&self) -> Result<BasketExercisePlan, InputError> {
        let job = &self.job;
        if job.greeks {
            return Err(InputError::invalid(
                "greeks",
                "given",
                "early exercise of a basket has no Greeks yet (one asset's are delta and \
                 gamma by differences with the policy held fixed)",
            ));
        }
        if job.sampler != Sampler::Mc {
            return Err(InputError::invalid(
                "sampler",
                job.sampler.name(),
                "early exercise samples by plain Monte Carlo (mc) for now",
            ));
        }
        let d = job.assets.len();
        if d > MAX_EXERCISE_ASSETS {
            return Err(InputError::invalid(
                "assets",
                d,
                &format!(
                    "early exercise takes at most {MAX_EXERCISE_ASSETS} assets (each asset's \
                     price is stored at every date of every calibration path)"
                ),
            ));
        }
        // The basket's own checks and walk, its geometric control and
        // Greeks off: early exercise has its own control.
        let basket = BasketJob {
            control_variate: false,
            greeks: false,
            ..job.clone()
        }
        .plan()?;
        self.validate_terms(job.steps, self.regressors(), d as u64)?;
        let dates = self.dates();
        let dt = job.maturity / f64::from(job.steps);
        let per_date = job.steps / dates;
        let time = |k: u32| dt * f64::from(k * per_date);
        let date_discounts = (1..=dates).map(|k| (-job.rate * time(k)).exp()).collect();
        let assets = &job.assets.assets;
        let martingale_weights = (0..=dates)
            .flat_map(|k| {
                assets
                    .iter()
                    .map(move |a| (-(job.rate - a.dividend) * time(k)).exp() * a.weight * a.spot)
            })
            .collect();
        let european = job.closed_form();
        let control_mean = match european {
            Some(price) => price,
            None => assets
                .iter()
                .map(|a| a.weight * a.spot * (-a.dividend * job.maturity).exp())
                .sum(),
        };
        let scale = if job.strike > 0.0 {
            job.strike
        } else {
            assets.iter().map(|a| (a.weight * a.spot).abs()).sum()
        };
        if !scale.is_finite() || scale <= 0.0 || !control_mean.is_finite() {
            return Err(job.overflow("regression scale or control mean", scale));
        }
        Ok(BasketExercisePlan {
            basket,
            dates,
            steps_per_date: per_date,
            date_discounts,
            martingale_weights,
            basis: self.basis,
            level_terms: self.degree as usize + 1,
            regressors: self.regressors(),
            scale,
            calibration_paths: self.calibration_paths(),
            seed: job.seed,
            antithetic: job.antithetic,
            control: job.control_variate,
            control_payoff: european.is_some(),
            control_mean,
        })
    }
}

impl BasketExercisePlan {
    /// Each asset's weighted price `w_a S_a` in `state`, into `out`.
    #[inline(always)]
    fn weighted(&self, state: &State, out: &mut State) {
        for ((out, &x), &s) in out.iter_mut().zip(state).zip(&self.basket.scaled_spots) {
            *out = s * x.exp();
        }
    }

    /// The style's level of weighted prices `y` (the first `d`).
    #[inline(always)]
    fn level(&self, y: &[f64]) -> f64 {
        let rest = y[1..self.basket.assets].iter();
        match self.basket.style {
            BasketStyle::Basket | BasketStyle::Spread => rest.fold(y[0], |sum, &y| sum + y),
            BasketStyle::WorstOf => rest.fold(y[0], |low, &y| low.min(y)),
            BasketStyle::BestOf => rest.fold(y[0], |high, &y| high.max(y)),
        }
    }
}

impl Underlying for BasketExercisePlan {
    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            dates: self.dates as usize,
            steps_per_date: self.steps_per_date,
            draws: self.basket.assets,
            seed: self.seed,
            date_discounts: &self.date_discounts,
            regressors: self.regressors,
            calibration_paths: self.calibration_paths,
            antithetic: self.antithetic,
            control: self.control,
            basis: self.basis,
        }
    }

    /// Each asset's log return.
    fn stored(&self) -> usize {
        self.basket.assets
    }

    fn start(&self, _shift: f64) -> State {
        [0.0; MAX_STATE]
    }

    #[inline(always)]
    fn step(&self, state: &mut State, z: &[f64]) {
        self.basket
            .advance(z, &mut state[..self.basket.assets], false);
    }

    #[inline(always)]
    fn intrinsic(&self, state: &State) -> f64 {
        let mut y = [0.0; MAX_STATE];
        self.weighted(state, &mut y);
        let level = self.level(&y);
        if self.basket.put {
            (self.basket.strike - level).max(0.0)
        } else {
            (level - self.basket.strike).max(0.0)
        }
    }

    fn regressors(&self, state: &State, mut visit: impl FnMut(usize, f64)) {
        let d = self.basket.assets;
        let mut y = [0.0; MAX_STATE];
        self.weighted(state, &mut y);
        let unit = 1.0 / self.scale;
        for y in &mut y[..d] {
            *y *= unit;
        }
        let m = self.level(&y);
        visit(0, 1.0);
        level_terms(self.basis, m, self.level_terms, &mut visit);
        if d < 2 {
            return;
        }
        // The other assets' prices: below the largest, largest first
        // (best-of); above the smallest, smallest first (worst-of); the
        // first d - 1 in order (basket, spread).
        let others = &mut y[..d];
        match self.basket.style {
            BasketStyle::BestOf => others.sort_unstable_by(|a, b| b.total_cmp(a)),
            BasketStyle::WorstOf => others.sort_unstable_by(|a, b| a.total_cmp(b)),
            BasketStyle::Basket | BasketStyle::Spread => {}
        }
        let others = match self.basket.style {
            BasketStyle::BestOf | BasketStyle::WorstOf => &others[1..],
            BasketStyle::Basket | BasketStyle::Spread => &others[..d - 1],
        };
        let n = self.level_terms;
        for (k, &y) in others.iter().enumerate() {
            visit(n + k, y);
        }
        let first = others[0];
        visit(n + d - 1, m * first);
        visit(n + d, first * first);
    }

    fn scale(&self) -> f64 {
        self.scale
    }

    /// The European payoff where the product has a closed form, else the
    /// weighted sum of the terminal prices.
    fn terminal_control(&self, state: &State, exercise: f64) -> f64 {
        if self.control_payoff {
            return exercise;
        }
        let mut y = [0.0; MAX_STATE];
        self.weighted(state, &mut y);
        y[..self.basket.assets].iter().sum()
    }

    /// `sum w_a e^{-(r - q_a) t} S_a(t)`.
    fn martingale(&self, state: &State, date: usize) -> f64 {
        let d = self.basket.assets;
        let weights = &self.martingale_weights[date * d..(date + 1) * d];
        weights.iter().zip(state).map(|(&w, &x)| w * x.exp()).sum()
    }
}
