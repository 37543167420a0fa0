//! Early exercise: American and Bermudan calls and puts by Longstaff and
//! Schwartz's least-squares Monte Carlo, with a lattice beside the estimate.
//!
//! Exercise is its own axis, apart from the payoff ([`Exercise`]): a
//! Bermudan option may be exercised at `N` equally spaced dates (the last at
//! expiry), an American one is approximated by a Bermudan with a date at
//! every time step (`steps` dates, reported), and a European one only at
//! expiry. Never today: the first date is one date's length away.
//!
//! # Two passes, two sets of paths
//!
//! 1. **Calibration** ([`ExerciseJob::calibration_paths`] paths, their own
//!    streams): every path's price at every date is stored, and its
//!    variance where the model's is random (8 bytes a value, at most
//!    [`MAX_CALIBRATION_VALUES`] values), and the dates are visited
//!    backwards from expiry. At each date the in-the-money paths'
//!    discounted future cash flows are regressed on the [`Basis`] of their
//!    moneyness `S / K` (degree 3 by default: four regressors with the
//!    constant; under Heston and Bates also the variance, its square, and
//!    each times the moneyness, [`VARIANCE_REGRESSORS`]), a path exercises where
//!    its intrinsic value beats the fitted
//!    continuation, and its cash flow becomes that value. The regression is a
//!    least-squares solve by QR, never the normal equations: each fixed chunk
//!    of paths folds its rows into a triangular factor by Givens rotations
//!    and the chunks' factors are folded in chunk order (a tall-skinny QR),
//!    so every tier and thread count fits the same coefficients bit for bit.
//!    A date with fewer in-the-money paths than regressors, or whose
//!    regressors are rank deficient, holds (never exercises) and is reported.
//! 2. **Pricing** (the job's `paths`, streams independent of the
//!    calibration's): each path follows the fitted policy, so its discounted
//!    cash flow is an unbiased estimate of a feasible policy's value, a
//!    **lower** bound on the option's, with an honest standard error.
//!    Antithetic pairs and a control variate at expiry apply to this pass:
//!    under Black-Scholes the European payoff (its mean the formula's),
//!    under the other models the terminal price (its mean the forward's,
//!    as the European pricing's model-free control).
//!
//! 3. **Upper bound** (when asked, [`UpperBound`]): Andersen and Broadie's
//!    duality estimator. Each of `outer_paths` independent paths builds a
//!    martingale from the policy's value along it, each value at an
//!    in-the-money date a nested simulation of `inner_paths` paths that
//!    follow the policy from there (the stopped stock their control
//!    variate); the mean of `max_k (h_k - M_k)` over
//!    the outer paths is a **high**-biased estimate. The bound is the price
//!    plus the mean duality gap, its error the two errors in quadrature,
//!    and `[price - 1.96 SE, bound + 1.96 SE']` brackets the option's value
//!    ([`UpperBoundResult`]). A good policy leaves a small gap: the gap
//!    measures how far the fitted policy is from the optimal one.
//!
//! # Models
//!
//! Every model of [`crate::models`] carries early exercise: each path is
//! the model's own step ([`ExercisePlan::advance`], through
//! [`crate::models::ModelStep::advance`]), so a new model needs nothing
//! here. Black-Scholes' paths, policy and prices are those it had before
//! the other models came, bit for bit. The lattice beside the estimate,
//! and the Greeks, are Black-Scholes' alone; under another model the
//! duality bound is the check.
//!
//! # Baskets
//!
//! The walks are written once over [`walk::Underlying`]: one asset under a
//! model ([`ExercisePlan`]) and a basket, worst-of, best-of or spread on
//! correlated assets ([`basket::BasketExercisePlan`], its regressors the
//! style's level and the other assets' prices) run the same calibration,
//! pricing oracle and duality bound. A one-asset basket is one asset's job,
//! bit for bit.
//!
//! # Stream layout
//!
//! Pricing sample `i` reads block `j F + f` of stream `i / 2` for draw `f`
//! of time step `j`, `F` the model's factors (a European's layout with
//! `steps` steps); calibration path `i` is sample
//! [`CALIBRATION_FIRST_SAMPLE`] `+ i` of the same layout, and outer
//! duality path `i` sample [`DUALITY_FIRST_SAMPLE`] `+ i`, far from any
//! pricing sample and from each other. The nested paths read the
//! [`SUBSTREAM_DUALITY`](crate::rng::SUBSTREAM_DUALITY) substream: pair `p` of the nested simulation at
//! date `k` of outer path `o` is stream `o * 2^43 + (k - 1) * 2^19 + p`,
//! its two paths the two halves of block `j F + f` for draw `f` of the
//! `j`-th step after the date.
//!
//! # Reference
//!
//! [`lattice::price`] values the same dates on a smoothed, extrapolated
//! binomial lattice (and, for an American option, every date: the American
//! limit), tested against QuantLib's finite-difference engine.

pub mod basket;
pub mod lattice;
pub mod walk;

use serde::{Deserialize, Serialize};

use crate::backend::Executor;
use crate::control::Control;
use crate::error::{InputError, named_choices};
use crate::lane::{Lane, LaneMath};
use crate::market::OptionKind;
use crate::models::{Dynamics, ModelStep, StepVisitor};
use crate::pricing::{GreeksMethod, MAX_PATHS, PricingJob, Sampler};
use crate::products::Style;
use crate::rng::{CHUNK, path_normal};
use crate::stats::{Figures, GREEKS, Moments};
use walk::{MAX_STATE, Schedule, State, Underlying};

/// When the holder may exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exercise {
    /// At expiry only.
    #[default]
    European,
    /// At any time: approximated by a date at every time step.
    American,
    /// At `exercise_dates` equally spaced dates, the last at expiry.
    Bermudan,
}

named_choices!(Exercise, "exercise", [
    Exercise::European => "european",
    Exercise::American => "american",
    Exercise::Bermudan => "bermudan",
]);

/// The functions of moneyness `m = S / K` the continuation value is
/// regressed on, besides the constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Longstaff and Schwartz's weighted Laguerre polynomials
    /// `e^{-m/2} L_n(m)`, `n = 0 .. degree - 1`.
    #[default]
    Laguerre,
    /// The powers `m, m^2, ..., m^degree`.
    Monomial,
}

named_choices!(Basis, "basis", [
    Basis::Laguerre => "laguerre",
    Basis::Monomial => "monomial",
]);

/// Regressors a model with a random variance adds to a date's fit: the
/// variance over its starting value, `w = v / max(v0, VARIANCE_FLOOR)`,
/// its square, and each times the moneyness: `w, w m, w^2, w^2 m`. On a
/// Heston Bermudan put (tests/exercise.rs) the price rose 0.117 with the
/// first two and 0.011 more with the squares (the lower bound closer to
/// QuantLib's finite differences; two more powers added 0.003).
pub const VARIANCE_REGRESSORS: usize = 4;
/// The least variance the variance's regressor is scaled by (a 1%
/// volatility): a variance that starts at zero still gives regressors of
/// order one.
pub const VARIANCE_FLOOR: f64 = 1e-4;

/// The default basis degree: four regressors with the constant, as
/// Longstaff and Schwartz's put.
pub const DEFAULT_DEGREE: u32 = 3;
/// The largest basis degree: higher powers of moneyness are ill-conditioned
/// however they are solved, and add nothing a vanilla payoff needs.
pub const MAX_DEGREE: u32 = 8;
/// Most prices the calibration pass stores (paths x dates, 8 bytes each:
/// 256 MiB).
pub const MAX_CALIBRATION_VALUES: u64 = 1 << 25;
/// The first sample of the calibration paths' streams.
pub const CALIBRATION_FIRST_SAMPLE: u64 = 1 << 62;
/// The default calibration paths: a quarter of the pricing paths, within
/// these bounds.
pub const DEFAULT_CALIBRATION: std::ops::RangeInclusive<u64> = (1 << 14)..=(1 << 17);

/// How early exercise's Greeks are estimated, in words.
pub const GREEKS_METHOD: &str = "the fitted policy held fixed: delta by central differences \
     (spot +-1%) on common random numbers, gamma mixed with the first step's likelihood ratio; \
     vega, rho, theta pathwise with the exercise date fixed";

/// The spot's relative bump of early exercise's delta (each way).
pub const DELTA_BUMP: f64 = 0.01;

/// The default outer paths of the duality estimator ([`UpperBound`]).
pub const DEFAULT_OUTER_PATHS: u64 = 1024;
/// Most outer paths, and most inner paths of each nested simulation.
pub const MAX_DUALITY_PATHS: u64 = 1 << 20;
/// Most exercise dates the duality estimator takes (its inner streams
/// number the dates in 24 bits).
pub const MAX_DUALITY_DATES: u32 = 1 << 24;
/// The first sample of the duality estimator's outer paths' streams.
pub const DUALITY_FIRST_SAMPLE: u64 = 3 << 61;
/// Outer paths a chunk of the duality estimator: each is thousands of
/// nested paths, so a chunk is small for the threads to share them.
const DUALITY_CHUNK: u64 = 8;

/// Andersen and Broadie's duality upper bound: `outer_paths` paths each
/// estimate the duality gap of the fitted policy, the continuation value
/// at each of their in-the-money dates from `inner_paths` nested paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpperBound {
    /// Nested paths of each continuation value.
    pub inner_paths: u64,
    /// Outer paths (default [`DEFAULT_OUTER_PATHS`]).
    #[serde(default = "default_outer_paths")]
    pub outer_paths: u64,
}

fn default_outer_paths() -> u64 {
    DEFAULT_OUTER_PATHS
}

impl UpperBound {
    /// `inner_paths` nested paths on the default outer paths.
    pub fn new(inner_paths: u64) -> Self {
        Self {
            inner_paths,
            outer_paths: DEFAULT_OUTER_PATHS,
        }
    }
}

/// A call or put with early exercise, priced by Longstaff-Schwartz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseJob<J = PricingJob> {
    /// The contract and its market: one asset's [`PricingJob`] (a
    /// European-style vanilla call or put: the payoff, under any model) or
    /// a [`crate::basket::BasketJob`]; the paths of the pricing pass, the
    /// seed, antithetic pairs, the control variate and a target; its steps
    /// are the time steps of a path (an American option's dates).
    pub job: J,
    /// When the holder may exercise.
    pub exercise: Exercise,
    /// A Bermudan option's dates (the steps must be a multiple of them).
    #[serde(default)]
    pub exercise_dates: Option<u32>,
    /// The regression's basis.
    #[serde(default)]
    pub basis: Basis,
    /// The basis' degree, 1 ..= [`MAX_DEGREE`].
    #[serde(default = "default_degree")]
    pub degree: u32,
    /// Paths of the calibration pass (`None`: [`DEFAULT_CALIBRATION`]).
    #[serde(default)]
    pub calibration_paths: Option<u64>,
    /// The duality upper bound's paths, when one is asked for.
    #[serde(default)]
    pub upper_bound: Option<UpperBound>,
}

fn default_degree() -> u32 {
    DEFAULT_DEGREE
}

/// What the exercise terms read of the payoff's job: its time steps and
/// its pricing paths.
pub trait Exercisable {
    /// Time steps of a path.
    fn steps(&self) -> u32;
    /// Paths of the pricing pass.
    fn paths(&self) -> u64;
}

impl Exercisable for PricingJob {
    fn steps(&self) -> u32 {
        self.option.steps
    }
    fn paths(&self) -> u64 {
        self.paths
    }
}

impl Exercisable for crate::basket::BasketJob {
    fn steps(&self) -> u32 {
        self.steps
    }
    fn paths(&self) -> u64 {
        self.paths
    }
}

impl<J: Exercisable> ExerciseJob<J> {
    /// `job`'s payoff with `exercise`, the default basis and calibration.
    pub fn new(job: J, exercise: Exercise) -> Self {
        Self {
            job,
            exercise,
            exercise_dates: None,
            basis: Basis::default(),
            degree: DEFAULT_DEGREE,
            calibration_paths: None,
            upper_bound: None,
        }
    }

    /// The exercise dates: 1 (expiry) for a European option, the time steps
    /// for an American one, `exercise_dates` for a Bermudan one.
    pub fn dates(&self) -> u32 {
        match self.exercise {
            Exercise::European => 1,
            Exercise::American => self.job.steps(),
            Exercise::Bermudan => self.exercise_dates.unwrap_or(0),
        }
    }

    /// The calibration pass' paths: as asked, or a quarter of the pricing
    /// paths within [`DEFAULT_CALIBRATION`].
    pub fn calibration_paths(&self) -> u64 {
        self.calibration_paths.unwrap_or_else(|| {
            (self.job.paths() / 4).clamp(*DEFAULT_CALIBRATION.start(), *DEFAULT_CALIBRATION.end())
        })
    }

    /// The upper bound's part of the method in words (empty without one).
    fn bound_method(&self) -> String {
        self.upper_bound.map_or_else(String::new, |bound| {
            format!(
                ", andersen-broadie upper bound ({} outer x {} inner paths)",
                bound.outer_paths, bound.inner_paths
            )
        })
    }

    /// The exercise terms' checks on `steps` time steps, `regressors`
    /// regressors and `per_date` values stored a calibration path and date,
    /// each error naming the field.
    fn validate_terms(
        &self,
        steps: u32,
        regressors: usize,
        per_date: u64,
    ) -> Result<(), InputError> {
        match (self.exercise, self.exercise_dates) {
            (Exercise::Bermudan, None | Some(0)) => {
                return Err(InputError::invalid(
                    "exercise-dates",
                    self.exercise_dates.unwrap_or(0),
                    "a bermudan option needs at least one exercise date",
                ));
            }
            (Exercise::Bermudan, Some(dates)) if !steps.is_multiple_of(dates) => {
                return Err(InputError::invalid(
                    "exercise-dates",
                    dates,
                    &format!(
                        "must divide the {steps} time steps (the dates are every steps / dates \
                         steps); give --steps as a multiple of the dates, or leave it out"
                    ),
                ));
            }
            (Exercise::European | Exercise::American, Some(dates)) => {
                return Err(InputError::invalid(
                    "exercise-dates",
                    dates,
                    &format!(
                        "applies to a bermudan option; a {} option's dates are {}",
                        self.exercise,
                        if self.exercise == Exercise::American {
                            "its time steps (--steps)"
                        } else {
                            "its expiry alone"
                        }
                    ),
                ));
            }
            _ => {}
        }
        if !(1..=MAX_DEGREE).contains(&self.degree) {
            return Err(InputError::invalid(
                "basis-degree",
                self.degree,
                &format!("must be 1 ..= {MAX_DEGREE}"),
            ));
        }
        let calibration = self.calibration_paths();
        if calibration < 2 * regressors as u64 || calibration > MAX_PATHS {
            return Err(InputError::invalid(
                "calibration-paths",
                calibration,
                &format!(
                    "must be {} ..= {MAX_PATHS}: at least twice the {regressors} regressors",
                    2 * regressors,
                ),
            ));
        }
        let values = calibration
            .saturating_mul(u64::from(self.dates()))
            .saturating_mul(per_date);
        if values > MAX_CALIBRATION_VALUES {
            return Err(InputError::invalid(
                "calibration-paths",
                calibration,
                &format!(
                    "times the {} exercise dates is {values} stored values ({per_date} a path \
                     and date, 8 bytes each), beyond the calibration pass' \
                     {MAX_CALIBRATION_VALUES}; use fewer calibration paths or dates",
                    self.dates()
                ),
            ));
        }
        if let Some(bound) = self.upper_bound {
            for (field, paths, least) in [
                ("upper-bound", bound.inner_paths, 1),
                ("upper-bound-paths", bound.outer_paths, 2),
            ] {
                if !(least..=MAX_DUALITY_PATHS).contains(&paths) {
                    return Err(InputError::invalid(
                        field,
                        paths,
                        &format!("must be {least} ..= {MAX_DUALITY_PATHS}"),
                    ));
                }
            }
            if self.dates() > MAX_DUALITY_DATES {
                return Err(InputError::invalid(
                    "upper-bound",
                    bound.inner_paths,
                    &format!(
                        "takes at most {MAX_DUALITY_DATES} exercise dates, not {}",
                        self.dates()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ExerciseJob {
    /// Regressors of a date's fit: the constant and the basis' `degree`,
    /// and [`VARIANCE_REGRESSORS`] more where the model's variance is
    /// random.
    pub fn regressors(&self) -> usize {
        let variance = if self.job.model.stochastic_variance() {
            VARIANCE_REGRESSORS
        } else {
            0
        };
        self.degree as usize + 1 + variance
    }

    /// The method in words, e.g. `longstaff-schwartz (laguerre 3, 50 dates,
    /// 65536 calibration paths) + antithetic`.
    pub fn method(&self) -> String {
        let mut method = format!(
            "longstaff-schwartz ({} {}, {} dates, {} calibration paths)",
            self.basis,
            self.degree,
            self.dates(),
            self.calibration_paths()
        );
        if self.job.antithetic {
            method += " + antithetic";
        }
        if self.job.control_variate {
            method += if self.job.model.is_black_scholes() {
                " + control variate (european)"
            } else {
                " + control variate (terminal price)"
            };
        }
        method += &self.bound_method();
        method
    }

    /// Checks everything before any work: the pricing job's own checks,
    /// then what early exercise adds, each error naming the field.
    pub fn validate(&self) -> Result<(), InputError> {
        let job = &self.job;
        // Before the pricing job's checks: those would send a Heston
        // user's pathwise Greeks to finite differences, which early
        // exercise refuses in turn.
        if job.greeks.is_some() && !job.model.is_black_scholes() {
            return Err(InputError::invalid(
                "greeks",
                "given",
                &format!(
                    "early exercise's Greeks run under the bs model for now (their gamma, \
                     vega, rho and theta are Black-Scholes' path derivatives), not under {}",
                    job.model.kind().name()
                ),
            ));
        }
        if job.option.steps == 0 {
            return Err(InputError::invalid(
                "steps",
                0,
                "early exercise takes at least 1 time step (the exercise dates fall on steps)",
            ));
        }
        // The model steps to every date: its checks on those steps.
        job.validate_on(job.option.steps)?;
        if job.option.style != Style::European {
            return Err(InputError::invalid(
                "style",
                job.option.style.name(),
                "cannot carry early exercise: exercise applies to a vanilla call or put \
                 (--style european); an Asian, digital or barrier payoff is path-dependent \
                 or not an exercise value",
            ));
        }
        if job.sampler != Sampler::Mc {
            return Err(InputError::invalid(
                "sampler",
                job.sampler.name(),
                "early exercise samples by plain Monte Carlo (mc) for now",
            ));
        }
        if job.greeks == Some(GreeksMethod::Fd) {
            return Err(InputError::invalid(
                "greeks-method",
                GreeksMethod::Fd.name(),
                "early exercise's Greeks are pathwise, the fitted exercise boundary held \
                 fixed (gamma mixed with a likelihood ratio): use --greeks-method pathwise",
            ));
        }
        // A price at each date, and a variance where the model's is random.
        let per_date = 1 + u64::from(job.model.stochastic_variance());
        self.validate_terms(job.option.steps, self.regressors(), per_date)
    }

    /// The job compiled once: validated, the path constants and the
    /// dates' discount factors.
    pub fn plan(&self) -> Result<ExercisePlan, InputError> {
        self.validate()?;
        let job = &self.job;
        let (market, option) = (&job.market, &job.option);
        let dates = self.dates();
        let dt = option.maturity / f64::from(option.steps);
        let per_date = option.steps / dates;
        let date_discounts = (1..=dates)
            .map(|k| (-market.rate * dt * f64::from(k * per_date)).exp())
            .collect();
        let stock_discounts = (0..=dates)
            .map(|k| (-(market.rate - market.dividend) * dt * f64::from(k * per_date)).exp())
            .collect();
        let dynamics = job.model.dynamics(market, dt);
        let start_variance = dynamics.start_variance();
        let black_scholes = job.model.is_black_scholes();
        // Black-Scholes' control is the European payoff, its mean the
        // formula's; any other model's the discounted terminal price, its
        // mean the forward's (the model's European reference is not its
        // discretisation's mean).
        let control_mean = if black_scholes {
            crate::closed_form::black_scholes_precise(
                option.kind,
                market,
                option.strike,
                option.maturity,
            )
        } else {
            (-market.rate * option.maturity).exp()
                * crate::products::forward(market, option.maturity)
        };
        Ok(ExercisePlan {
            dates,
            steps_per_date: per_date,
            step: dt,
            rate: market.rate,
            vol: market.vol,
            maturity: option.maturity,
            put: option.kind == OptionKind::Put,
            strike: option.strike,
            spot: market.spot,
            drift: job.model.drift(market, dt),
            diffusion: market.vol * dt.sqrt(),
            dynamics,
            factors: job.model.factors(),
            start_variance,
            variance_scale: job
                .model
                .stochastic_variance()
                .then(|| 1.0 / start_variance.max(VARIANCE_FLOOR)),
            date_discounts,
            stock_discounts,
            basis: self.basis,
            regressors: self.regressors(),
            calibration_paths: self.calibration_paths(),
            seed: job.seed,
            antithetic: job.antithetic,
            control: job.control_variate,
            control_payoff: black_scholes,
            control_mean,
        })
    }

    /// The lattice's value of the same dates (the price the estimate is a
    /// lower bound on, up to the policy's suboptimality), and for an
    /// American option the lattice's American limit: Black-Scholes' alone
    /// (`None` under another model).
    pub fn references(&self) -> (Option<f64>, Option<f64>) {
        let (job, option) = (&self.job, &self.job.option);
        if !job.model.is_black_scholes() {
            return (None, None);
        }
        let value = |dates| {
            lattice::price(
                option.kind,
                &job.market,
                option.strike,
                option.maturity,
                dates,
            )
        };
        let american = (self.exercise == Exercise::American).then(|| value(None));
        (Some(value(Some(self.dates()))), american)
    }
}

/// Calls `visit(n, b_n(m))` for `n = 1 .. end` with the basis' functions
/// of the level `m` (a moneyness: one asset's `S / K`, a basket's level
/// over its scale): the powers `m^n`, or the weighted Laguerre polynomials
/// `e^{-m/2} L_{n-1}(m)`.
#[inline(always)]
fn level_terms<L: Lane>(basis: Basis, m: L, end: usize, mut visit: impl FnMut(usize, L)) {
    match basis {
        Basis::Monomial => {
            let mut power = m;
            for n in 1..end {
                visit(n, power);
                power = power * m;
            }
        }
        Basis::Laguerre => {
            // L_0 = 1, L_1 = 1 - m, (k + 1) L_{k+1} = (2k + 1 - m) L_k - k L_{k-1},
            // each weighted by e^{-m/2}.
            let weight = (m * L::splat(-0.5)).exp();
            let (mut previous, mut current) = (L::splat(0.0), L::splat(1.0));
            for n in 1..end {
                visit(n, weight * current);
                let k = (n - 1) as f64;
                let next = ((L::splat(2.0 * k + 1.0) - m) * current - L::splat(k) * previous)
                    * L::splat(1.0 / (k + 1.0));
                (previous, current) = (current, next);
            }
        }
    }
}

/// An early-exercise job compiled once: what both passes read.
#[derive(Debug, Clone, PartialEq)]
pub struct ExercisePlan {
    /// Exercise dates, the last at expiry.
    pub dates: u32,
    /// Time steps between dates.
    pub steps_per_date: u32,
    /// A time step's length in years.
    pub step: f64,
    /// The riskless rate.
    pub rate: f64,
    /// The volatility.
    pub vol: f64,
    /// The maturity in years.
    pub maturity: f64,
    /// Whether it is a put.
    pub put: bool,
    /// The strike.
    pub strike: f64,
    /// The spot today.
    pub spot: f64,
    /// The log price's drift a step ([`crate::models::Model::drift`]:
    /// `(r - q - vol^2 / 2) dt` under Black-Scholes).
    pub drift: f64,
    /// Its diffusion a step, `vol sqrt(dt)` (read by Black-Scholes' and
    /// Merton's step).
    pub diffusion: f64,
    /// The model's constants for one step.
    pub dynamics: Dynamics,
    /// Normals one step draws (the model's factors).
    pub factors: u32,
    /// The variance a path starts with (0 without one).
    pub start_variance: f64,
    /// `1 / max(v0, VARIANCE_FLOOR)` where the model's variance is random:
    /// the variance's regressors are scaled by it ([`VARIANCE_REGRESSORS`]).
    pub variance_scale: Option<f64>,
    /// `e^{-r t_k}` of each date `k = 1 ..= dates`.
    pub date_discounts: Vec<f64>,
    /// `e^{-(r - q) t_k}` of each date `k = 0 ..= dates` (today first):
    /// `e^{-(r - q) t} S_t` is a martingale, the nested paths' control.
    pub stock_discounts: Vec<f64>,
    /// The regression's basis.
    pub basis: Basis,
    /// Regressors of a date's fit (the constant and the basis').
    pub regressors: usize,
    /// Paths of the calibration pass.
    pub calibration_paths: u64,
    /// The streams' seed.
    pub seed: u64,
    /// Mirror pairs in the pricing pass.
    pub antithetic: bool,
    /// A control at expiry in the pricing pass.
    pub control: bool,
    /// Whether the control is the European payoff (Black-Scholes), or the
    /// terminal price (any other model).
    pub control_payoff: bool,
    /// The control's mean: the discounted European price, or the
    /// discounted forward.
    pub control_mean: f64,
}

impl ExercisePlan {
    /// The value of exercising at price `spot`.
    #[inline(always)]
    fn intrinsic<L: Lane>(&self, spot: L) -> L {
        let strike = L::splat(self.strike);
        if self.put {
            (strike - spot).positive_part()
        } else {
            (spot - strike).positive_part()
        }
    }

    /// Calls `visit(n, x_n)` with each regressor of price `spot` and
    /// variance `variance`: the constant, then the basis of the moneyness
    /// `m = spot / strike`, then where the model's variance is random
    /// `w = variance / max(v0, VARIANCE_FLOOR)`, `w m`, `w^2` and `w^2 m`.
    /// The one definition the fit's rows and every tier's continuation
    /// value read.
    #[inline(always)]
    fn basis_values<L: Lane>(&self, spot: L, variance: L, mut visit: impl FnMut(usize, L)) {
        let m = spot * L::splat(1.0 / self.strike);
        visit(0, L::splat(1.0));
        let moneyness = match self.variance_scale {
            Some(scale) => {
                let w = variance * L::splat(scale);
                let n = self.regressors - VARIANCE_REGRESSORS;
                let w2 = w * w;
                for (k, term) in [w, w * m, w2, w2 * m].into_iter().enumerate() {
                    visit(n + k, term);
                }
                n
            }
            None => self.regressors,
        };
        level_terms(self.basis, m, moneyness, visit);
    }

    /// The regressors of price `spot` and variance `variance` into `out`
    /// (`regressors` long; the variance is read only where the model's is
    /// random).
    pub fn regressors_of(&self, spot: f64, variance: f64, out: &mut [f64]) {
        self.basis_values(spot, variance, |n, x| out[n] = x);
    }

    /// The fitted continuation value at price `spot` and variance
    /// `variance` under `coefficients`.
    #[inline(always)]
    fn continuation<L: Lane>(&self, coefficients: &[f64], spot: L, variance: L) -> L {
        let mut sum = L::splat(0.0);
        self.basis_values(spot, variance, |n, x| sum += L::splat(coefficients[n]) * x);
        L::splat(self.strike) * sum
    }

    /// One step of the model from log return `x` and variance `v` on the
    /// step's draws `z` (`factors` of them): the new log return
    /// ([`ModelStep::advance`], so every model's walk is its own module's).
    #[inline(always)]
    pub fn advance<L: LaneMath>(&self, x: L, v: &mut L, z: &[L]) -> L {
        self.dynamics.visit(Advance {
            x,
            v,
            drift: L::splat(self.drift),
            diffusion: L::splat(self.diffusion),
            z,
        })
    }

    /// One date of a pricing path (or of lanes of paths) at log return `x`
    /// and variance `v` under `policy`: an open path (`open` 1, else 0)
    /// exercises where the date allows and its intrinsic value beats the
    /// fitted continuation (always in the money at expiry), its discounted
    /// value recorded; at expiry the control takes the discounted European
    /// payoff (Black-Scholes) or terminal price. The one definition the
    /// scalar oracle and the SIMD kernels compile.
    #[inline(always)]
    pub fn observe<L: LaneMath>(
        &self,
        policy: &Policy,
        date: usize,
        x: L,
        v: L,
        path: &mut Exercised<L>,
    ) {
        let spot = L::splat(self.spot) * x.exp();
        let exercise = self.intrinsic(spot);
        let last = date == self.dates as usize;
        let discount = L::splat(self.date_discounts[date - 1]);
        let fitted = if last {
            None
        } else {
            policy.coefficients[date - 1]
                .as_ref()
                .map(|beta| self.continuation(beta, spot, v))
        };
        path.settle(exercise, fitted, last, discount);
        if last && self.control {
            path.control = discount * if self.control_payoff { exercise } else { spot };
        }
    }

    /// Pricing samples `start .. end` under `policy`, one path at a time
    /// (the scalar oracle, [`walk::price_chunk`]; the SIMD kernels run
    /// [`ExercisePlan::observe`] on lanes).
    pub fn price_chunk(&self, policy: &Policy, start: u64, end: u64) -> Figures {
        walk::price_chunk(self, policy, start, end)
    }

    /// One pricing path's Greeks under `policy` (mirrored: `-z`), the
    /// policy (a function of the spot) held fixed:
    ///
    /// * **delta** by central differences on the path's own normals, the
    ///   spot bumped by [`DELTA_BUMP`] either way: the policy's exercise
    ///   decisions move with the spot, so the estimate is the derivative of
    ///   the policy's value (a fixed exercise date would not be: it leans on
    ///   smooth pasting, which a fitted boundary only approximates, and was
    ///   2% off the lattice's delta at Table 1's money);
    /// * **gamma** mixes that delta with the first step's likelihood ratio,
    ///   `delta (z_1 / (vol sqrt(dt)) - 1) / S_0`;
    /// * **vega, rho, theta** pathwise with the exercise date held fixed:
    ///   with `v = D s (S - K)` the discounted cash flow at exercise time
    ///   `t` (`s` = 1 for a call, -1 for a put, `D = e^{-rt}`), `W` the
    ///   path's Brownian motion at `t` and `mu = r - q - vol^2 / 2`: vega
    ///   `D s S (W - vol t)`, rho `-t v + D s S t`, theta (every date scaled
    ///   with the maturity `T`) `r t v / T - D s S (mu t + vol W / 2) / T`.
    ///   They carry the fitted boundary's error (0.3-1.6% against the
    ///   lattice in the tests).
    fn path_greeks(&self, policy: &Policy, sample: u64, mirror: bool) -> [f64; GREEKS] {
        let bump = DELTA_BUMP;
        let value = |shift: f64| walk::path_value(self, policy, sample, mirror, shift, false).0;
        let delta = (value(bump.ln_1p()) - value((-bump).ln_1p())) / (2.0 * bump * self.spot);
        let sign = if mirror { -1.0 } else { 1.0 };
        let first = sign * path_normal(self.seed, sample, 0);
        let gamma = delta * (first / self.diffusion - 1.0) / self.spot;
        let mut path = Exercised::<f64>::open();
        let (mut x, mut step, mut shocks, mut date) = (0.0, 0, 0.0, 0);
        while path.open != 0.0 {
            date += 1;
            for _ in 0..self.steps_per_date {
                let z = sign * path_normal(self.seed, sample, step);
                shocks += z;
                x += self.drift + self.diffusion * z;
                step += 1;
            }
            // Expiry always closes the path.
            self.observe(policy, date, x, 0.0, &mut path);
        }
        if path.value <= 0.0 {
            return [delta, gamma, 0.0, 0.0, 0.0];
        }
        let (v, spot) = (path.value, self.spot * x.exp());
        let t = self.step * f64::from(step);
        let stock = self.date_discounts[date - 1] * if self.put { -spot } else { spot };
        let w = self.step.sqrt() * shocks;
        let mu = self.drift / self.step;
        let vega = stock * (w - self.vol * t);
        let rho = -t * v + stock * t;
        let theta = (self.rate * t * v - stock * (mu * t + 0.5 * self.vol * w)) / self.maturity;
        [delta, gamma, vega, rho, theta]
    }
}

impl Underlying for ExercisePlan {
    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            dates: self.dates as usize,
            steps_per_date: self.steps_per_date,
            draws: self.factors as usize,
            seed: self.seed,
            date_discounts: &self.date_discounts,
            regressors: self.regressors,
            calibration_paths: self.calibration_paths,
            antithetic: self.antithetic,
            control: self.control,
            basis: self.basis,
        }
    }

    /// The log return, and the variance where the model's is random.
    fn stored(&self) -> usize {
        1 + usize::from(self.variance_scale.is_some())
    }

    /// `[x, v]`: the log return `shift`, the model's starting variance.
    fn start(&self, shift: f64) -> State {
        let mut state = [0.0; MAX_STATE];
        state[0] = shift;
        state[1] = self.start_variance;
        state
    }

    #[inline(always)]
    fn step(&self, state: &mut State, z: &[f64]) {
        let mut v = state[1];
        state[0] = self.advance(state[0], &mut v, z);
        state[1] = v;
    }

    #[inline(always)]
    fn intrinsic(&self, state: &State) -> f64 {
        self.intrinsic(self.spot * state[0].exp())
    }

    #[inline(always)]
    fn regressors(&self, state: &State, visit: impl FnMut(usize, f64)) {
        self.basis_values(self.spot * state[0].exp(), state[1], visit);
    }

    fn scale(&self) -> f64 {
        self.strike
    }

    /// The European payoff (Black-Scholes) or the terminal price.
    fn terminal_control(&self, state: &State, exercise: f64) -> f64 {
        if self.control_payoff {
            exercise
        } else {
            self.spot * state[0].exp()
        }
    }

    /// `e^{-(r - q) t} S_t`.
    fn martingale(&self, state: &State, date: usize) -> f64 {
        self.stock_discounts[date] * self.spot * state[0].exp()
    }
}

/// [`ExercisePlan::advance`]'s step for the model's own step type.
struct Advance<'a, L> {
    x: L,
    v: &'a mut L,
    drift: L,
    diffusion: L,
    z: &'a [L],
}

impl<L: LaneMath> StepVisitor for Advance<'_, L> {
    type Output = L;

    #[inline(always)]
    fn visit<S: ModelStep>(self, step: &S) -> L {
        step.advance(self.x, self.v, self.drift, self.diffusion, self.z)
            .0
    }
}

/// A pricing path's exercise state (lanes of paths on the SIMD tiers).
#[derive(Debug, Clone, Copy)]
pub struct Exercised<L> {
    /// 1 while the path has not exercised, else 0.
    pub open: L,
    /// Its discounted cash flow once exercised (0 before).
    pub value: L,
    /// The discounted European payoff at expiry (with a control).
    pub control: L,
}

impl<L: Lane> Exercised<L> {
    /// A path that has not exercised.
    pub fn open() -> Self {
        Self {
            open: L::splat(1.0),
            value: L::splat(0.0),
            control: L::splat(0.0),
        }
    }
}

impl<L: LaneMath> Exercised<L> {
    /// One date of the path: it exercises where it is open and either the
    /// date is expiry (`last`: in the money or not, the value is the
    /// payoff) or the fitted continuation value is given and the exercise
    /// value is positive and beats it; its value becomes the exercise
    /// value discounted by `discount`. The one rule of every underlying
    /// and tier.
    #[inline(always)]
    pub fn settle(&mut self, exercise: L, fitted: Option<L>, last: bool, discount: L) {
        let take = if last {
            self.open
        } else if let Some(continuation) = fitted {
            self.open * exercise.indicator() * (exercise - continuation).indicator()
        } else {
            L::splat(0.0)
        };
        self.value = take.choose(discount * exercise, self.value);
        self.open = self.open - take;
    }
}

/// The fitted exercise policy: each date's continuation coefficients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The regression's basis.
    pub basis: Basis,
    /// Its degree.
    pub degree: u32,
    /// The exercise dates.
    pub dates: u32,
    /// Paths of the calibration pass.
    pub calibration_paths: u64,
    /// Each date's coefficients of the continuation value over the strike
    /// (`None` at expiry, which always exercises in the money, and at a
    /// date that holds).
    pub coefficients: Vec<Option<Vec<f64>>>,
    /// Dates (from 1) that hold: too few paths in the money to fit the
    /// regressors, or regressors that are rank deficient there.
    pub held_dates: Vec<u32>,
    /// Bytes the calibration pass stored: each path's price at each date
    /// (and variance, where the model's is random), its cash flow and the
    /// date it arrives, 8 + 4 bytes. A date's fit adds one chunk's rows at
    /// a time per thread.
    #[serde(default)]
    pub calibration_bytes: u64,
}

/// A priced option with early exercise: the pricing pass' low-biased
/// estimate (the pricing result, whose `closed_form` is the lattice's value
/// of the same dates), the exercise style, the lattice's American limit for
/// an American option, and the fitted policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseResult {
    /// Price, standard error, interval, the lattice beside them, provenance.
    #[serde(flatten)]
    pub pricing: crate::pricing::PricingResult,
    /// When the holder may exercise.
    pub exercise: Exercise,
    /// The lattice's value with exercise at every node (American options):
    /// how far the dates' count sits from the American limit.
    pub american: Option<f64>,
    /// The policy the pricing paths followed.
    pub policy: Policy,
    /// The duality upper bound, when one was asked for (`null` otherwise).
    pub upper_bound: Option<UpperBoundResult>,
}

/// What the passes after pricing are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterPricing {
    /// The Greeks of pricing samples `0 .. samples`, when given.
    pub greeks_of: Option<u64>,
    /// The duality upper bound, when given.
    pub upper_bound: Option<UpperBound>,
}

/// What the passes after pricing gave: the moments of each Greek and of
/// the duality gap, where asked.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AfterPriced {
    /// Delta, gamma, vega, rho, theta.
    pub greeks: Option<[Moments; GREEKS]>,
    /// The duality gap.
    pub gaps: Option<Moments>,
}

/// A compiled early-exercise job as the tiers take it: one asset under a
/// model, or a basket of correlated assets.
#[derive(Debug, Clone, Copy)]
pub enum PlanRef<'a> {
    /// One asset ([`ExercisePlan`]).
    Asset(&'a ExercisePlan),
    /// A basket, worst-of, best-of or spread ([`basket::BasketExercisePlan`]).
    Basket(&'a basket::BasketExercisePlan),
}

impl PlanRef<'_> {
    /// The seed of the plan's streams.
    pub fn seed(self) -> u64 {
        match self {
            PlanRef::Asset(plan) => plan.seed,
            PlanRef::Basket(plan) => plan.seed,
        }
    }

    /// The plan drawing from the streams of `seed` (a stopping rule's final
    /// stage, [`crate::stopping`]).
    pub(crate) fn reseeded(self, seed: u64) -> OwnedPlan {
        match self {
            PlanRef::Asset(plan) => OwnedPlan::Asset(Box::new(ExercisePlan {
                seed,
                ..plan.clone()
            })),
            PlanRef::Basket(plan) => OwnedPlan::Basket(Box::new(basket::BasketExercisePlan {
                seed,
                ..plan.clone()
            })),
        }
    }
}

/// A compiled early-exercise job owned ([`PlanRef`] borrows one).
#[derive(Debug, Clone)]
pub(crate) enum OwnedPlan {
    Asset(Box<ExercisePlan>),
    Basket(Box<basket::BasketExercisePlan>),
}

impl OwnedPlan {
    /// The plan as the tiers take it.
    pub(crate) fn as_ref(&self) -> PlanRef<'_> {
        match self {
            OwnedPlan::Asset(plan) => PlanRef::Asset(plan),
            OwnedPlan::Basket(plan) => PlanRef::Basket(plan),
        }
    }
}

/// The passes after pricing on `executor`'s threads: [`greeks_pass`] (one
/// asset's; a basket's job refuses Greeks) and [`duality_gaps`] as `asked`.
pub(crate) fn after_pricing<E: Executor>(
    plan: PlanRef<'_>,
    policy: &Policy,
    asked: AfterPricing,
    executor: &E,
    control: &Control,
) -> crate::error::Result<AfterPriced> {
    let greeks = match (asked.greeks_of, plan) {
        (Some(samples), PlanRef::Asset(plan)) => {
            Some(greeks_pass(plan, policy, samples, executor, control)?)
        }
        _ => None,
    };
    let gaps = match (asked.upper_bound, plan) {
        (Some(bound), PlanRef::Asset(plan)) => {
            Some(duality_gaps(plan, policy, bound, executor, control)?)
        }
        (Some(bound), PlanRef::Basket(plan)) => {
            Some(duality_gaps(plan, policy, bound, executor, control)?)
        }
        (None, _) => None,
    };
    Ok(AfterPriced { greeks, gaps })
}

/// [`calibrate`] for either underlying.
pub(crate) fn calibrate_plan<E: Executor>(
    plan: PlanRef<'_>,
    degree: u32,
    executor: &E,
    control: &Control,
) -> crate::error::Result<Policy> {
    match plan {
        PlanRef::Asset(plan) => calibrate(plan, degree, executor, control),
        PlanRef::Basket(plan) => calibrate(plan, degree, executor, control),
    }
}

/// The Greeks of pricing samples `0 .. samples` under `policy` (see
/// [`ExercisePlan::path_greeks`]; a sample of mirrored pairs averages its
/// two paths) on `executor`'s threads: the oracle's walk in fixed
/// [`CHUNK`]s merged in chunk order, the same bits on every tier and
/// thread count.
fn greeks_pass<E: Executor>(
    plan: &ExercisePlan,
    policy: &Policy,
    samples: u64,
    executor: &E,
    control: &Control,
) -> crate::error::Result<[Moments; GREEKS]> {
    control.expect(samples);
    let parts = executor.map_indexed(0..samples.div_ceil(CHUNK), &|c| {
        let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(samples));
        let mut columns: [Vec<f64>; GREEKS] = Default::default();
        if control.is_cancelled() {
            return columns.map(|_| Moments::default());
        }
        for sample in start..end {
            let mut greeks = plan.path_greeks(policy, sample, false);
            if plan.antithetic {
                let mirrored = plan.path_greeks(policy, sample, true);
                for (g, m) in greeks.iter_mut().zip(mirrored) {
                    *g = 0.5 * (*g + m);
                }
            }
            for (column, g) in columns.iter_mut().zip(greeks) {
                column.push(g);
            }
        }
        control.advance(end - start);
        columns.map(|column| Moments::of(&column))
    });
    control.check()?;
    Ok(parts
        .into_iter()
        .fold([Moments::default(); GREEKS], |total, part| {
            std::array::from_fn(|i| total[i].merge(part[i]))
        }))
}

/// The duality gap's samples on `executor`'s threads (see
/// [`ExercisePlan::duality_gap`]): outer path `i` is sample
/// [`DUALITY_FIRST_SAMPLE`] `+ i` of the calibration's layout, in fixed
/// chunks of [`DUALITY_CHUNK`] paths merged in chunk order, so every tier
/// and thread count get the same moments bit for bit.
fn duality_gaps<E: Executor, U: Underlying>(
    plan: &U,
    policy: &Policy,
    bound: UpperBound,
    executor: &E,
    control: &Control,
) -> crate::error::Result<Moments> {
    let n = bound.outer_paths;
    let dates = plan.schedule().dates;
    control.expect(n);
    let parts = executor.map_indexed(0..n.div_ceil(DUALITY_CHUNK), &|c| {
        let (start, end) = (c * DUALITY_CHUNK, ((c + 1) * DUALITY_CHUNK).min(n));
        let mut gaps = Vec::with_capacity((end - start) as usize);
        let mut states = vec![[0.0; MAX_STATE]; 2 * dates];
        for even in (start..end).step_by(2) {
            walk::walk_samples(plan, (DUALITY_FIRST_SAMPLE + even) / 2, |date, pair| {
                states[date - 1] = pair[0];
                states[dates + date - 1] = pair[1];
            });
            for (outer, path) in (even..end.min(even + 2)).zip(states.chunks_exact(dates)) {
                let Some(gap) =
                    walk::duality_gap(plan, policy, outer, path, bound.inner_paths, control)
                else {
                    return Moments::default();
                };
                gaps.push(gap);
                control.advance(1);
            }
        }
        Moments::of(&gaps)
    });
    control.check()?;
    Ok(parts.into_iter().fold(Moments::default(), Moments::merge))
}

/// The duality upper bound beside a low-biased price (Andersen and
/// Broadie): the price plus the mean duality gap, their errors added in
/// quadrature (the two sets of paths are independent), and the interval
/// that brackets the true price at 95%.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpperBoundResult {
    /// The upper bound's estimate.
    pub value: f64,
    /// Its standard error.
    pub std_error: f64,
    /// The mean duality gap (the bound less the price).
    pub gap: f64,
    /// The gap's standard error.
    pub gap_std_error: f64,
    /// The price's lower 95% limit and the bound's upper one: an interval
    /// that holds the option's value at 95% or more.
    pub bracket95: [f64; 2],
    /// Outer paths.
    pub outer_paths: u64,
    /// Nested paths of each continuation value.
    pub inner_paths: u64,
}

impl UpperBoundResult {
    /// The bound of the low-biased `price` (with its `std_error`) and the
    /// duality gaps' moments.
    pub fn of(price: f64, std_error: f64, gaps: &Moments, bound: UpperBound) -> Self {
        let gap_std_error = gaps.std_dev() / (gaps.count.max(1) as f64).sqrt();
        let value = price + gaps.mean;
        let se = std_error.hypot(gap_std_error);
        Self {
            value,
            std_error: se,
            gap: gaps.mean,
            gap_std_error,
            bracket95: [price - 1.96 * std_error, value + 1.96 * se],
            outer_paths: bound.outer_paths,
            inner_paths: bound.inner_paths,
        }
    }
}

/// An upper-triangular factor `R` of the rows folded into it (Givens
/// rotations: `R^T R` is their Gram matrix), `columns` wide: the
/// regressors, then the response.
#[derive(Debug, Clone, PartialEq)]
struct Triangle {
    columns: usize,
    r: Vec<f64>,
    rows: u64,
}

impl Triangle {
    fn new(columns: usize) -> Self {
        Self {
            columns,
            r: vec![0.0; columns * columns],
            rows: 0,
        }
    }

    /// The factor of the rows whose columns are `columns` (all as long), by
    /// Householder reflections (a chunk's thousands of rows at the cost of
    /// a few passes over them), its diagonal made non-negative.
    fn of_columns(mut columns: Vec<Vec<f64>>) -> Self {
        let c = columns.len();
        let n = columns[0].len();
        let mut triangle = Self::new(c);
        triangle.rows = n as u64;
        for j in 0..c.min(n) {
            let (done, rest) = columns.split_at_mut(j + 1);
            let v = &mut done[j][j..];
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                continue;
            }
            // v = x - alpha e1 with alpha of the opposite sign to x[0]: no
            // cancellation; the reflection I - 2 v v^T / v^T v maps x to
            // alpha e1.
            let alpha = if v[0] > 0.0 { -norm } else { norm };
            v[0] -= alpha;
            let scale = 2.0 / v.iter().map(|x| x * x).sum::<f64>();
            for column in rest.iter_mut() {
                let tail = &mut column[j..];
                let dot: f64 = v.iter().zip(&*tail).map(|(a, b)| a * b).sum();
                let factor = scale * dot;
                for (x, &vi) in tail.iter_mut().zip(&*v) {
                    *x -= factor * vi;
                }
            }
            v[0] = alpha;
        }
        for (j, column) in columns.iter().enumerate() {
            for (i, &x) in column.iter().enumerate().take(j + 1) {
                triangle.r[i * c + j] = x;
            }
        }
        // Rows of R may change sign freely (an orthogonal change): make the
        // diagonal non-negative, as the Givens fold keeps it.
        for i in 0..c.min(n) {
            if triangle.r[i * c + i] < 0.0 {
                for x in &mut triangle.r[i * c + i..(i + 1) * c] {
                    *x = -*x;
                }
            }
        }
        triangle
    }

    /// Folds `row` (consumed as scratch) into the factor.
    fn add_row(&mut self, row: &mut [f64]) {
        let c = self.columns;
        self.rows += 1;
        for j in 0..c {
            if row[j] == 0.0 {
                continue;
            }
            let diagonal = self.r[j * c + j];
            let radius = diagonal.hypot(row[j]);
            let (cos, sin) = (diagonal / radius, row[j] / radius);
            self.r[j * c + j] = radius;
            row[j] = 0.0;
            let r = &mut self.r[j * c + j + 1..(j + 1) * c];
            for (a, b) in r.iter_mut().zip(&mut row[j + 1..]) {
                (*a, *b) = (cos * *a + sin * *b, cos * *b - sin * *a);
            }
        }
    }

    /// Folds `other`'s factor in (its rows are a factor of its rows).
    fn merge(&mut self, other: &Self) {
        let c = self.columns;
        let rows = self.rows + other.rows;
        let mut row = vec![0.0; c];
        for i in 0..c {
            row.copy_from_slice(&other.r[i * c..(i + 1) * c]);
            self.add_row(&mut row);
        }
        self.rows = rows;
    }

    /// The least-squares coefficients of the response on the regressors,
    /// or `None` when the rows cannot identify them (fewer rows than
    /// regressors, or a diagonal of `R` negligible against the largest).
    fn solve(&self) -> Option<Vec<f64>> {
        let c = self.columns;
        let p = c - 1;
        if self.rows < p as u64 {
            return None;
        }
        let largest = (0..p).map(|j| self.r[j * c + j].abs()).fold(0.0, f64::max);
        let negligible = |j: usize| self.r[j * c + j].abs() <= 1e-12 * largest;
        if largest.is_nan() || (0..p).any(negligible) {
            return None;
        }
        let mut beta = vec![0.0; p];
        for j in (0..p).rev() {
            let tail: f64 = (j + 1..p).map(|l| self.r[j * c + l] * beta[l]).sum();
            beta[j] = (self.r[j * c + p] - tail) / self.r[j * c + j];
        }
        beta.iter().all(|b| b.is_finite()).then_some(beta)
    }
}

/// One chunk of calibration paths: each path's state at each date (path
/// by path, [`Underlying::stored`] values a date), its cash flow and the
/// date it arrives.
struct CalibrationChunk {
    states: Vec<f64>,
    cash: Vec<f64>,
    date: Vec<u32>,
}

impl CalibrationChunk {
    /// Path `i`'s state at `date` (from 1), `stored` values a date.
    fn state(&self, i: usize, dates: usize, stored: usize, date: usize) -> State {
        let at = (i * dates + date - 1) * stored;
        let mut state = [0.0; MAX_STATE];
        state[..stored].copy_from_slice(&self.states[at..at + stored]);
        state
    }
}

/// The calibration pass on `executor`'s threads (see the module): fixed
/// chunks of [`CHUNK`] paths, their regressions folded in chunk order, so
/// the policy is the same on every tier and thread count.
pub(crate) fn calibrate<E: Executor, U: Underlying>(
    plan: &U,
    degree: u32,
    executor: &E,
    control: &Control,
) -> crate::error::Result<Policy> {
    let s = plan.schedule();
    let m = s.calibration_paths;
    let dates = s.dates;
    let stored = plan.stored();
    let chunks = m.div_ceil(CHUNK);
    control.expect(m * 2);
    let mut state: Vec<CalibrationChunk> = executor.map_indexed(0..chunks, &|c| {
        let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(m));
        // Chunks start on even paths, so each stream's two samples fall in
        // one chunk (the last odd one past `m` is dropped).
        let paths = (end - start) as usize;
        let mut states = vec![0.0; paths * dates * stored];
        for even in (start..end).step_by(2) {
            let first = (even - start) as usize;
            let halves = if even + 1 < end { 2 } else { 1 };
            walk::walk_samples(plan, (CALIBRATION_FIRST_SAMPLE + even) / 2, |date, pair| {
                for (half, path_state) in pair.iter().enumerate().take(halves) {
                    let at = ((first + half) * dates + date - 1) * stored;
                    states[at..at + stored].copy_from_slice(&path_state[..stored]);
                }
            });
        }
        let mut chunk = CalibrationChunk {
            states,
            cash: Vec::with_capacity(paths),
            date: vec![s.dates as u32; paths],
        };
        chunk.cash = (0..paths)
            .map(|i| plan.intrinsic(&chunk.state(i, dates, stored, dates)))
            .collect();
        control.advance(end - start);
        chunk
    });
    control.check()?;
    let columns = s.regressors + 1;
    let unit = plan.scale();
    let mut coefficients = vec![None; dates];
    let mut held_dates = Vec::new();
    for date in (1..dates).rev() {
        let triangles = executor.map_indexed(0..chunks, &|c| {
            let chunk = &state[c as usize];
            // The in-the-money rows, column by column.
            let mut columns_of: Vec<Vec<f64>> = vec![Vec::new(); columns];
            for i in 0..chunk.date.len() {
                let path = chunk.state(i, dates, stored, date);
                if plan.intrinsic(&path) > 0.0 {
                    plan.regressors(&path, |n, x| columns_of[n].push(x));
                    let arrives = chunk.date[i] as usize - 1;
                    let discount = s.date_discounts[arrives] / s.date_discounts[date - 1];
                    columns_of[columns - 1].push(chunk.cash[i] * discount / unit);
                }
            }
            Triangle::of_columns(columns_of)
        });
        let mut total = Triangle::new(columns);
        for triangle in &triangles {
            total.merge(triangle);
        }
        let Some(beta) = total.solve() else {
            held_dates.push(date as u32);
            continue;
        };
        let updates = executor.map_indexed(0..chunks, &|c| {
            let chunk = &state[c as usize];
            let mut cash = chunk.cash.clone();
            let mut arrives = chunk.date.clone();
            for i in 0..chunk.date.len() {
                let path = chunk.state(i, dates, stored, date);
                let exercise = plan.intrinsic(&path);
                if exercise > 0.0 && exercise > walk::continuation(plan, &beta, &path) {
                    cash[i] = exercise;
                    arrives[i] = date as u32;
                }
            }
            (cash, arrives)
        });
        for (chunk, (cash, date)) in state.iter_mut().zip(updates) {
            chunk.cash = cash;
            chunk.date = date;
        }
        coefficients[date - 1] = Some(beta);
        if control.is_cancelled() {
            break;
        }
    }
    control.advance(m);
    control.check()?;
    held_dates.reverse();
    let per_path = (dates * stored) as u64 * 8 + 8 + 4;
    Ok(Policy {
        basis: s.basis,
        degree,
        dates: dates as u32,
        calibration_paths: m,
        coefficients,
        held_dates,
        calibration_bytes: m * per_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_givens_factor_solves_least_squares_and_merges_in_any_split() {
        // y = 1 + 2 x - 0.5 x^2 + noise, fitted on 1, x, x^2.
        let rows: Vec<[f64; 4]> = (0..200)
            .map(|i| {
                let x = f64::from(i) / 50.0;
                let noise = ((i * 7919) % 13) as f64 / 130.0 - 0.05;
                [1.0, x, x * x, 1.0 + 2.0 * x - 0.5 * x * x + noise]
            })
            .collect();
        let mut whole = Triangle::new(4);
        for row in &rows {
            whole.add_row(&mut row.clone());
        }
        let beta = whole.solve().unwrap();
        // The normal equations' answer, solved here by Cramer's rule.
        let gram = |a: usize, b: usize| rows.iter().map(|r| r[a] * r[b]).sum::<f64>();
        let g = [
            [gram(0, 0), gram(0, 1), gram(0, 2)],
            [gram(1, 0), gram(1, 1), gram(1, 2)],
            [gram(2, 0), gram(2, 1), gram(2, 2)],
        ];
        let rhs = [gram(0, 3), gram(1, 3), gram(2, 3)];
        let det = |m: [[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        for (j, &b) in beta.iter().enumerate() {
            let mut m = g;
            for i in 0..3 {
                m[i][j] = rhs[i];
            }
            let cramer = det(m) / det(g);
            assert!((b - cramer).abs() < 1e-9, "{j}: {b} {cramer}");
        }
        let mut split = Triangle::new(4);
        for part in rows.chunks(37) {
            let mut t = Triangle::new(4);
            for row in part {
                t.add_row(&mut row.clone());
            }
            split.merge(&t);
        }
        assert_eq!(split.rows, 200);
        for (a, b) in split.solve().unwrap().iter().zip(&beta) {
            assert!((a - b).abs() < 1e-10);
        }
        // Householder's factor of the same rows: the same fit.
        let columns: Vec<Vec<f64>> = (0..4)
            .map(|j| rows.iter().map(|r| r[j]).collect())
            .collect();
        let householder = Triangle::of_columns(columns);
        assert_eq!(householder.rows, 200);
        for (a, b) in householder.solve().unwrap().iter().zip(&beta) {
            assert!((a - b).abs() < 1e-10, "{a} {b}");
        }
        for (a, b) in householder.r.iter().zip(&whole.r) {
            assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{a} {b}");
        }
        let mut merged = Triangle::new(4);
        merged.merge(&householder);
        merged.merge(&Triangle::of_columns(vec![Vec::new(); 4]));
        assert_eq!(merged.rows, 200);
        // Too few rows, or a column that is all zero: no fit.
        let mut short = Triangle::new(4);
        short.add_row(&mut rows[0].clone());
        assert_eq!(short.solve(), None);
        let mut flat = Triangle::new(4);
        for row in &rows {
            flat.add_row(&mut [1.0, 0.0, row[2], row[3]]);
        }
        assert_eq!(flat.solve(), None);
    }

    #[test]
    fn nested_continuations_are_unbiased_and_the_control_cuts_their_spread() {
        // A Bermudan put in the money whose policy holds to expiry: the
        // continuation at the first of 4 dates is the European put from
        // there.
        let mut pricing = PricingJob::default();
        pricing.option.kind = OptionKind::Put;
        pricing.option.strike = 115.0;
        pricing.option.steps = 8;
        pricing.market.dividend = 0.02;
        let mut job = ExerciseJob::new(pricing, Exercise::Bermudan);
        job.exercise_dates = Some(4);
        let plan = job.plan().unwrap();
        let policy = Policy {
            basis: Basis::Laguerre,
            degree: 3,
            dates: 4,
            calibration_paths: 0,
            coefficients: vec![None; 4],
            held_dates: vec![],
            calibration_bytes: 0,
        };
        let market = &pricing.market;
        let exact = plan.date_discounts[0]
            * crate::closed_form::black_scholes_precise(
                OptionKind::Put,
                market,
                pricing.option.strike,
                0.75,
            );
        // Many small nested estimates (16 paths: the cross-fitted
        // coefficients are noisy), and the plain means of the same paths.
        let (mut controlled, mut plain) = (Vec::new(), Vec::new());
        for outer in 0..2000 {
            let today = [0.0; MAX_STATE];
            controlled.push(walk::nested_continuation(
                &plan, &policy, outer, 1, &today, 16,
            ));
            // Date 1: the stream of pair p is outer * 2^43 + p.
            let base = outer << 43;
            let sum: f64 = (0..8)
                .flat_map(|pair| walk::follow_pair(&plan, &policy, 1, &today, base | pair))
                .map(|(y, _)| y)
                .sum();
            plain.push(sum / 16.0);
        }
        let controlled = Moments::of(&controlled);
        let plain = Moments::of(&plain);
        let se = controlled.std_dev() / (controlled.count as f64).sqrt();
        assert!(
            (controlled.mean - exact).abs() < 4.0 * se,
            "{} {exact} (SE {se})",
            controlled.mean
        );
        let spread = plain.std_dev() / controlled.std_dev();
        assert!(spread > 2.0, "the control cuts the spread {spread}x");
    }

    #[test]
    fn laguerre_regressors_are_the_weighted_polynomials() {
        let job = ExerciseJob::new(PricingJob::default(), Exercise::American);
        let plan = ExercisePlan {
            regressors: 4,
            ..job.plan().unwrap()
        };
        let mut out = [0.0; 4];
        let m: f64 = 0.9;
        plan.regressors_of(0.9 * plan.strike, 0.0, &mut out);
        let w = (-m / 2.0).exp();
        let expected = [1.0, w, w * (1.0 - m), w * (1.0 - 2.0 * m + m * m / 2.0)];
        for (a, b) in out.iter().zip(expected) {
            assert!((a - b).abs() < 1e-14, "{out:?} {expected:?}");
        }
    }
}
