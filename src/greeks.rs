//! The Greeks' per-sample estimators, written once over [`Lane`] so the scalar
//! oracle runs them on `f64` and the SIMD kernels on eight lanes.
//!
//! Given one sample's step normals (standardized increments: Philox draws, or
//! a QMC point through the bridge), each estimator below returns the
//! discounted delta, gamma, vega, rho and theta of that sample; their means
//! are the Greeks and their spreads the standard errors. Every one of them is
//! computed in the same pass as the price, from the same normals.
//!
//! * **Pathwise** (`GreeksMethod::Pathwise`, payoffs continuous in the path:
//!   European, Asians, continuously watched barriers): the path and the
//!   payoff run in [`Dual`] numbers carrying the derivatives with respect to
//!   spot, volatility, rate and maturity, so delta, vega, rho and theta are
//!   the pathwise derivatives of the product's own definition. Gamma is the
//!   mixed likelihood-ratio/pathwise estimator
//!   `D f_S (z_1 / (vol sqrt dt) - 1) / S` (the likelihood ratio of the first
//!   step applied to the pathwise delta), plus, for continuously watched
//!   barriers, whose first interval's survival probability `q1` reads the
//!   spot directly, that explicit dependence:
//!   `((q1_xx + q1_xy) A + q1_x dA/dx + T (z_1 / (vol sqrt dt) - 1)) / S^2`
//!   with `x = ln S`, the sample's value `V = q1 A + B` (affine in `q1`),
//!   `T = dV/dx` along the path and `q1`'s partials at a fixed first fixing
//!   (derived at `GreekSetup::barrier_payoff`).
//! * **Likelihood ratio** (the same method for payoffs with jumps: digitals,
//!   discretely watched barriers): the payoff times the score of the path's
//!   density, `z_1 / (S vol sqrt dt)` for delta,
//!   `((z_1^2 - 1) / (vol^2 dt) - z_1 / (vol sqrt dt)) / S^2` for gamma,
//!   `sum ((z_j^2 - 1) / vol - z_j sqrt dt)` for vega, `sum z_j sqrt dt / vol`
//!   for rho and `sum ((z_j^2 - 1) / 2 + z_j mu sqrt dt / vol) / T` for
//!   `d/dT`, with `mu = r - q - vol^2 / 2`.
//! * **Finite differences** (`GreeksMethod::Fd`): each sample is repriced at
//!   bumped spot (+-1%, less for a short horizon or a near barrier:
//!   [`spot_bump`]), volatility (+-1% of it), rate (+-1e-4) and maturity
//!   (+-0.5% of it) on its own normals (common random numbers), 2n + 1 = 9
//!   paths per sample.
//!
//! Units are QuantLib's: per unit change of each parameter (vega per 1.00 of
//! volatility, rho per 1.00 of rate), and theta is `-dV/dT`, the value's
//! change per year of calendar time with the fixings at `i T / N`.

use crate::lane::{Dual, Lane, TANGENTS};
use crate::market::{Market, Monitoring};
use crate::models::{Bates, Heston, Model};
use crate::pricing::{GreeksMethod, PricingJob};
use crate::products::{PathSetup, PathState, Product, Style, Terms, path_value};

pub use crate::stats::GREEKS;

/// Relative spot bump of the finite differences where the job allows it
/// ([`spot_bump`]).
pub const SPOT_BUMP: f64 = 0.01;
/// The most a spot bump may be of the log price's standard deviation to
/// expiry ([`spot_bump`]).
pub const SPOT_BUMP_PER_SD: f64 = 0.1;
/// The least relative spot bump: below it the differences of f64 values
/// lose more to rounding than a smaller bump saves in bias.
pub const MIN_SPOT_BUMP: f64 = 1e-6;

/// Relative volatility bump of the finite differences.
pub const VOL_BUMP: f64 = 0.01;
/// Absolute rate bump of the finite differences.
pub const RATE_BUMP: f64 = 1e-4;
/// Relative maturity bump of the finite differences.
pub const MATURITY_BUMP: f64 = 0.005;

/// The relative spot bump of `job`'s finite differences: [`SPOT_BUMP`]
/// unless that is coarse for the job. A value turns over a few standard
/// deviations of the log price (a 7-day at-the-money digital's fd delta
/// was 27 SE off with a 1% bump), so the bump is at most
/// [`SPOT_BUMP_PER_SD`] of `vol sqrt(T)` (the variance today's and the
/// long-run one's larger under Heston and Bates); and no bumped spot may
/// cross a barrier, so it is at most half the spot's relative distance to
/// one (a barrier 0.5% away gave delta -0.47 against -0.635).
pub fn spot_bump(job: &PricingJob) -> f64 {
    let vol = match job.model {
        Model::Heston(heston) | Model::Bates(Bates { heston, .. }) => {
            heston.v0.max(heston.theta).sqrt()
        }
        Model::BlackScholes(_) | Model::Merton(_) => job.market.vol,
    };
    let mut bump = SPOT_BUMP.min(SPOT_BUMP_PER_SD * vol * job.option.maturity.sqrt());
    if let Some(barrier) = job.option.barrier
        && !barrier.breached_at(job.market.spot)
    {
        bump = bump.min(0.5 * (barrier.level / job.market.spot - 1.0).abs());
    }
    bump.max(MIN_SPOT_BUMP)
}

/// The GPU kernel's estimators, its `GREEKS` override (0: no Greeks); the
/// WGSL constants of the same names are generated from these.
#[cfg(feature = "gpu")]
pub(crate) const GREEKS_FD: u32 = 1;
/// Pathwise, gamma mixed (see [`GreekSetup::device_estimator`]).
#[cfg(feature = "gpu")]
pub(crate) const GREEKS_PATHWISE: u32 = 2;
/// Pathwise, gamma mixed with the first interval's explicit dependence on
/// the spot (continuously watched barriers).
#[cfg(feature = "gpu")]
pub(crate) const GREEKS_PATHWISE_BARRIER: u32 = 3;
/// Likelihood ratio.
#[cfg(feature = "gpu")]
pub(crate) const GREEKS_LIKELIHOOD_RATIO: u32 = 4;
/// Every estimator's WGSL name and number.
#[cfg(feature = "gpu")]
pub(crate) const DEVICE_ESTIMATORS: [(&str, u32); 4] = [
    ("GREEKS_FD", GREEKS_FD),
    ("GREEKS_PATHWISE", GREEKS_PATHWISE),
    ("GREEKS_PATHWISE_BARRIER", GREEKS_PATHWISE_BARRIER),
    ("GREEKS_LIKELIHOOD_RATIO", GREEKS_LIKELIHOOD_RATIO),
];

/// The pathwise estimators (mixed gamma), a [`GreekSetup::kind`].
pub(crate) const PATHWISE: u8 = 0;
/// The likelihood-ratio estimators, a [`GreekSetup::kind`].
pub(crate) const LIKELIHOOD_RATIO: u8 = 1;
/// Finite differences on common random numbers, a [`GreekSetup::kind`].
pub(crate) const DIFFERENCES: u8 = 2;

/// How a job's Greeks are estimated, with the constants every sample uses.
#[derive(Debug, Clone)]
pub(crate) struct GreekSetup {
    estimator: Estimator,
    /// What each raw estimator is multiplied by to give the Greek (the
    /// discount factor and the constant factors of its formula), applied
    /// once to the means and spreads instead of to every sample.
    scales: [f64; GREEKS],
    base: PathSetup,
    /// The discount factor `e^{-rT}`.
    discount: f64,
    vol: f64,
    rate: f64,
    maturity: f64,
    /// `vol sqrt dt`.
    step_sd: f64,
    /// `(r - q - vol^2 / 2) sqrt dt / vol`, the rate's part of the maturity score.
    drift_score: f64,
    /// The dual constants of a pathwise run: `ln S`, drift, diffusion and the
    /// barrier-crossing factor with their derivatives.
    log_spot: [f64; 1 + TANGENTS],
    drift: [f64; 1 + TANGENTS],
    diffusion: [f64; 1 + TANGENTS],
    crossing: [f64; 1 + TANGENTS],
}

/// Which estimator a job's samples take.
#[derive(Debug, Clone)]
enum Estimator {
    /// Pathwise, gamma mixed; with the first interval's survival
    /// probability differentiated explicitly for continuous barriers.
    Pathwise,
    LikelihoodRatio,
    /// The setups at S+-, vol+-, r+-, T+- and their discount factors.
    Differences {
        bumped: Box<[(PathSetup, f64); 8]>,
    },
}

/// The finite-difference scenarios of `job`: the base setup and the setups
/// at spot +-, vol +-, rate +-, maturity +- (in that order) with their
/// discount factors, and the factors that turn differences of discounted
/// values into (delta, gamma, vega, rho, theta). Vega is the model's: the
/// market's `vol` for Black-Scholes and Merton, the variance today `v0` for
/// Heston and Bates ([`vega_bumps`]).
pub(crate) fn difference_scenarios(job: &PricingJob) -> ([(PathSetup, f64); 9], [f64; GREEKS]) {
    let Market { spot, rate, .. } = job.market;
    let maturity = job.option.maturity;
    let at = |market: Market, model: Model, maturity: f64| {
        let option = crate::OptionSpec {
            maturity,
            ..job.option
        };
        (
            PathSetup::new(&market, &model, &option),
            (-market.rate * maturity).exp(),
        )
    };
    let (m, model) = (job.market, job.model);
    let (h_spot, h_maturity) = (spot_bump(job) * spot, MATURITY_BUMP * maturity);
    let ((vol_up, model_up), (vol_down, model_down), vega_scale) = vega_bumps(job);
    (
        [
            at(m, model, maturity),
            at(
                Market {
                    spot: spot + h_spot,
                    ..m
                },
                model,
                maturity,
            ),
            at(
                Market {
                    spot: spot - h_spot,
                    ..m
                },
                model,
                maturity,
            ),
            at(vol_up, model_up, maturity),
            at(vol_down, model_down, maturity),
            at(
                Market {
                    rate: rate + RATE_BUMP,
                    ..m
                },
                model,
                maturity,
            ),
            at(
                Market {
                    rate: rate - RATE_BUMP,
                    ..m
                },
                model,
                maturity,
            ),
            at(m, model, maturity + h_maturity),
            at(m, model, maturity - h_maturity),
        ],
        [
            0.5 / h_spot,
            1.0 / (h_spot * h_spot),
            vega_scale,
            0.5 / RATE_BUMP,
            0.5 / h_maturity,
        ],
    )
}

/// The vega scenarios of `job` (the market and model bumped up, then down)
/// and the factor turning their difference into vega: the market's `vol`
/// +-1% of it (Black-Scholes, Merton), or Heston's `v0` +-1% of it; a `v0`
/// of 0 is bumped up by 1% of `theta` and the difference taken one-sided.
pub(crate) fn vega_bumps(job: &PricingJob) -> ((Market, Model), (Market, Model), f64) {
    let m = job.market;
    let variance = |heston: &Heston| {
        let h = VOL_BUMP * heston.v0;
        if h > 0.0 {
            (heston.v0 + h, heston.v0 - h)
        } else {
            (VOL_BUMP * heston.theta, 0.0)
        }
    };
    match job.model {
        Model::Heston(heston) => {
            let (up, down) = variance(&heston);
            let bumped = |v0| Model::Heston(Heston { v0, ..heston });
            ((m, bumped(up)), (m, bumped(down)), 1.0 / (up - down))
        }
        Model::Bates(bates) => {
            let (up, down) = variance(&bates.heston);
            let bumped = |v0| {
                Model::Bates(Bates {
                    heston: Heston { v0, ..bates.heston },
                    ..bates
                })
            };
            ((m, bumped(up)), (m, bumped(down)), 1.0 / (up - down))
        }
        model => {
            let h_vol = VOL_BUMP * m.vol;
            (
                (
                    Market {
                        vol: m.vol + h_vol,
                        ..m
                    },
                    model,
                ),
                (
                    Market {
                        vol: m.vol - h_vol,
                        ..m
                    },
                    model,
                ),
                0.5 / h_vol,
            )
        }
    }
}

/// The raw (delta, gamma, vega, rho, theta) finite differences of one
/// sample's discounted values at the nine scenarios of
/// [`GreekSetup::scenarios`] (base first), as the Black-Scholes estimator
/// forms them.
#[inline(always)]
pub(crate) fn model_differences<L: Lane>(value: &[L; 9]) -> [L; GREEKS] {
    [
        value[1] - value[2],
        value[1] - value[0] - value[0] + value[2],
        value[3] - value[4],
        value[5] - value[6],
        value[8] - value[7],
    ]
}

/// The estimators `method` uses for `job`'s Greeks, in words.
pub fn describe(job: &PricingJob, method: GreeksMethod) -> String {
    match method {
        GreeksMethod::Fd => {
            let mut method =
                "finite differences on common random numbers (9 paths a sample)".to_string();
            let bump = spot_bump(job);
            if bump != SPOT_BUMP {
                method += &format!(
                    "; spot bumped by {:.3}% (less than 1% for the job's horizon or barrier)",
                    100.0 * bump
                );
            }
            if matches!(job.model, Model::Heston(_) | Model::Bates(_)) {
                method += "; vega is dV/dv0, per unit of variance";
            }
            method
        }
        GreeksMethod::Pathwise if continuous_payoff(job) => {
            if job.option.style == Style::Barrier {
                "pathwise; gamma mixed (likelihood ratio of the pathwise delta, and the first interval's survival differentiated in the spot)".to_string()
            } else {
                "pathwise; gamma mixed (likelihood ratio of the pathwise delta)".to_string()
            }
        }
        GreeksMethod::Pathwise => "likelihood ratio (the payoff jumps)".to_string(),
    }
}

/// Steps past which a continuously watched barrier's pathwise Greeks carry
/// a warning ([`warning`]).
pub const BARRIER_PATHWISE_STEPS: u32 = 1000;

/// What a reader of `job`'s Greeks should know: a continuously watched
/// barrier's pathwise Greeks at many steps. Each step's crossing
/// probability turns sharp as `dt` shrinks, so the estimator's per-path
/// values grow heavy-tailed: few paths rarely see the large ones and the
/// standard error understates the error (at 1e5 steps and 400 paths delta
/// was 9 SE off). The Brownian bridge makes the barrier continuous at any
/// step count, so fewer steps lose nothing.
pub fn warning(job: &PricingJob) -> Option<String> {
    let barrier = job.option.barrier?;
    (job.greeks == Some(GreeksMethod::Pathwise)
        && barrier.monitoring == Monitoring::Continuous
        && job.option.steps > BARRIER_PATHWISE_STEPS)
        .then(|| {
            format!(
                "pathwise Greeks of a continuously watched barrier at {} steps: the estimator \
                 turns heavy-tailed as the steps shrink, so its standard errors can understate \
                 the error by several times at few paths; the Brownian bridge watches the \
                 barrier between steps (exactly under Black-Scholes), so use at most \
                 {BARRIER_PATHWISE_STEPS} steps, or --greeks-method fd",
                job.option.steps
            )
        })
}

/// Whether the style's payoff is continuous in the path, so that pathwise
/// derivatives are unbiased.
fn continuous_payoff(job: &PricingJob) -> bool {
    match job.option.style {
        Style::Digital => false,
        Style::Barrier => job
            .option
            .barrier
            .is_some_and(|b| b.monitoring == Monitoring::Continuous),
        _ => true,
    }
}

impl GreekSetup {
    /// The constants of `job`'s Greeks under `method`.
    pub fn new(job: &PricingJob, method: GreeksMethod) -> Self {
        let Market {
            spot,
            rate,
            dividend,
            vol,
        } = job.market;
        let maturity = job.option.maturity;
        let steps = f64::from(job.time_steps());
        let dt = maturity / steps;
        let base = job.setup();
        let mu = rate - dividend - 0.5 * vol * vol;
        let (scenarios, difference_scales) = difference_scenarios(job);
        let estimator = match method {
            GreeksMethod::Fd => Estimator::Differences {
                bumped: Box::new(std::array::from_fn(|k| scenarios[k + 1])),
            },
            GreeksMethod::Pathwise if continuous_payoff(job) => Estimator::Pathwise,
            GreeksMethod::Pathwise => Estimator::LikelihoodRatio,
        };
        let step_variance = vol * vol * dt;
        let discount = (-rate * maturity).exp();
        let step_sd = vol * dt.sqrt();
        let scales = match &estimator {
            Estimator::Pathwise => [1.0, 1.0 / spot, 1.0, 1.0, 1.0].map(|f| f * discount),
            Estimator::LikelihoodRatio => {
                [1.0 / (step_sd * spot), 1.0 / (spot * spot), 1.0, 1.0, 1.0].map(|f| f * discount)
            }
            Estimator::Differences { .. } => difference_scales,
        };
        Self {
            estimator,
            scales,
            base,
            discount,
            vol,
            rate,
            maturity,
            step_sd,
            drift_score: mu * dt.sqrt() / vol,
            log_spot: [spot.ln(), 1.0 / spot, 0.0, 0.0, 0.0],
            // d(mu dt): d/dvol = -vol dt, d/dr = dt, d/dT = mu / N.
            drift: [mu * dt, 0.0, -vol * dt, dt, mu / steps],
            // d(vol sqrt dt): d/dvol = sqrt dt, d/dT = vol sqrt dt / (2 T).
            diffusion: [
                vol * dt.sqrt(),
                0.0,
                dt.sqrt(),
                0.0,
                vol * dt.sqrt() / (2.0 * maturity),
            ],
            // -2 / (vol^2 dt): d/dvol = 4 / (vol^3 dt), d/dT = 2 / (vol^2 dt T).
            crossing: [
                -2.0 / step_variance,
                0.0,
                4.0 / (step_variance * vol),
                0.0,
                2.0 / (step_variance * maturity),
            ],
        }
    }

    /// Which estimators the job's samples take: [`PATHWISE`],
    /// [`LIKELIHOOD_RATIO`] or [`DIFFERENCES`], what
    /// [`GreekSetup::estimators_of`] is instantiated with (a kernel picks it
    /// once per chunk, so its sample loop carries that estimator's code
    /// alone).
    pub(crate) fn kind(&self) -> u8 {
        match self.estimator {
            Estimator::Pathwise => PATHWISE,
            Estimator::LikelihoodRatio => LIKELIHOOD_RATIO,
            Estimator::Differences { .. } => DIFFERENCES,
        }
    }

    /// The raw (delta, gamma, vega, rho, theta) estimators of one path of
    /// product `P` whose step normals are `sign * z` (times
    /// [`GreekSetup::scales`] they are the Greeks' estimators), and the
    /// path's undiscounted payoff and control (the price's sample, from the
    /// same pass).
    #[inline(always)]
    pub fn estimators<P: Product, const PUT: bool, L: Lane>(
        &self,
        z: &[L],
        sign: f64,
    ) -> ([L; GREEKS], L, L) {
        match self.kind() {
            PATHWISE => self.estimators_of::<P, PUT, L, PATHWISE>(z, sign),
            LIKELIHOOD_RATIO => self.estimators_of::<P, PUT, L, LIKELIHOOD_RATIO>(z, sign),
            _ => self.estimators_of::<P, PUT, L, DIFFERENCES>(z, sign),
        }
    }

    /// [`GreekSetup::estimators`] with the estimator `KIND` fixed at compile
    /// time: `KIND` must be the setup's [`GreekSetup::kind`].
    #[inline(always)]
    pub(crate) fn estimators_of<P: Product, const PUT: bool, L: Lane, const KIND: u8>(
        &self,
        z: &[L],
        sign: f64,
    ) -> ([L; GREEKS], L, L) {
        let s = L::splat;
        match (KIND, &self.estimator) {
            (PATHWISE, Estimator::Pathwise) => {
                // Mixed: the likelihood ratio of the first step on the
                // pathwise delta.
                let score = z[0].mul_add(s(sign / self.step_sd), s(-1.0));
                // Pathwise Greeks of a product reading the spot are a
                // continuous barrier's (a discrete one takes the likelihood
                // ratio): known at compile time.
                let (f, control, gamma) = if P::READS_SPOT {
                    let (f, control, explicit) = self.barrier_payoff::<P, PUT, L>(z, sign);
                    (f, control, score.mul_add(f.tangent[0], explicit))
                } else {
                    let (f, control) = self.dual_payoff::<P, PUT, L, TANGENTS>(
                        &self.base,
                        self.log_spot[0],
                        z,
                        sign,
                    );
                    (f, control, score * f.tangent[0])
                };
                let [f_spot, f_vol, f_rate, f_maturity] = f.tangent;
                let greeks = [
                    f_spot,
                    gamma,
                    f_vol,
                    f.value.mul_add(s(-self.maturity), f_rate),
                    f.value.mul_add(s(self.rate), -f_maturity),
                ];
                (greeks, f.value, control)
            }
            (LIKELIHOOD_RATIO, Estimator::LikelihoodRatio) => {
                let (f, control) = path_value::<P, PUT, L>(&self.base, z, sign);
                let z1 = z[0] * s(sign);
                let (mut vol_score, mut rate_score, mut maturity_score) = (s(0.0), s(0.0), s(0.0));
                let sqrt_dt = self.step_sd / self.vol;
                for &zj in z {
                    let zj = zj * s(sign);
                    let square = zj * zj - s(1.0);
                    vol_score += square * s(1.0 / self.vol) - zj * s(sqrt_dt);
                    rate_score += zj * s(sqrt_dt / self.vol);
                    maturity_score += square * s(0.5) + zj * s(self.drift_score);
                }
                let gamma_weight = (z1 * z1 - s(1.0)) * s(1.0 / (self.step_sd * self.step_sd))
                    - z1 * s(1.0 / self.step_sd);
                let greeks = [
                    f * z1,
                    f * gamma_weight,
                    f * vol_score,
                    f * (rate_score - s(self.maturity)),
                    f * (s(self.rate) - maturity_score * s(1.0 / self.maturity)),
                ];
                (greeks, f, control)
            }
            (DIFFERENCES, Estimator::Differences { bumped }) => {
                let (f, control) = path_value::<P, PUT, L>(&self.base, z, sign);
                let base = f * s(self.discount);
                // A loop, not a closure: see `dual_payoff`.
                let mut value = [s(0.0); 8];
                for (value, (setup, discount)) in value.iter_mut().zip(bumped.iter()) {
                    *value = path_value::<P, PUT, L>(setup, z, sign).0 * s(*discount);
                }
                let greeks = [
                    value[0] - value[1],
                    value[0] - base - base + value[1],
                    value[2] - value[3],
                    value[4] - value[5],
                    value[7] - value[6],
                ];
                (greeks, f, control)
            }
            // A `KIND` other than the setup's: never instantiated so by the
            // kernels (which pass `kind()`); no estimator's code is
            // compiled in here.
            _ => {
                debug_assert!(false, "estimator {KIND} for a setup of {}", self.kind());
                ([s(f64::NAN); GREEKS], s(f64::NAN), s(f64::NAN))
            }
        }
    }

    /// The finite-difference scenarios, base first (the base setup and
    /// discount, then spot +-, vol +-, rate +-, maturity +-), or `None` for
    /// the other estimators: what a walk under a model other than
    /// Black-Scholes takes ([`model_differences`]).
    pub(crate) fn scenarios(&self) -> Option<[(&PathSetup, f64); 9]> {
        let Estimator::Differences { bumped } = &self.estimator else {
            return None;
        };
        Some(std::array::from_fn(|k| match k {
            0 => (&self.base, self.discount),
            k => (&bumped[k - 1].0, bumped[k - 1].1),
        }))
    }

    /// What the raw estimators of [`GreekSetup::estimators`] are multiplied
    /// by to give the Greeks: applied to their means and spreads.
    pub fn scales(&self) -> [f64; GREEKS] {
        self.scales
    }

    /// The estimator the GPU kernel runs for this setup: its `GREEKS`
    /// override ([`DEVICE_ESTIMATORS`]).
    #[cfg(feature = "gpu")]
    pub(crate) fn device_estimator(&self) -> u32 {
        match &self.estimator {
            Estimator::Differences { .. } => GREEKS_FD,
            // Pathwise Greeks with a barrier are a continuous one's.
            Estimator::Pathwise if self.base.barrier.is_some() => GREEKS_PATHWISE_BARRIER,
            Estimator::Pathwise => GREEKS_PATHWISE,
            Estimator::LikelihoodRatio => GREEKS_LIKELIHOOD_RATIO,
        }
    }

    /// The constants the GPU kernel's estimators read (`shaders/greeks.wgsl`
    /// documents the layout), in the kernel's f32.
    ///
    /// Finite differences: the nine scenarios (base, spot +-, vol +-,
    /// rate +-, maturity +-), five words each: `ln S`, drift, diffusion, the
    /// barrier-crossing factor, the discount factor. Pathwise and likelihood
    /// ratio: the dual constants `ln S`, drift, diffusion and crossing (a
    /// value and its four derivatives each), then `vol sqrt dt`, `T`, `r`,
    /// `vol`, the maturity score's drift term and `sqrt dt`.
    #[cfg(feature = "gpu")]
    pub(crate) fn device_constants(&self) -> Vec<f32> {
        let words: Vec<f64> = match &self.estimator {
            Estimator::Differences { bumped } => std::iter::once(&(self.base, self.discount))
                .chain(bumped.iter())
                .flat_map(|(setup, discount)| {
                    [
                        setup.log_spot,
                        setup.drift,
                        setup.diffusion,
                        setup.base_terms.bridge,
                        *discount,
                    ]
                })
                .collect(),
            Estimator::Pathwise | Estimator::LikelihoodRatio => {
                let mut words = Vec::with_capacity(26);
                for dual in [&self.log_spot, &self.drift, &self.diffusion, &self.crossing] {
                    words.extend_from_slice(dual);
                }
                words.extend_from_slice(&[
                    self.step_sd,
                    self.maturity,
                    self.rate,
                    self.vol,
                    self.drift_score,
                    self.step_sd / self.vol,
                ]);
                words
            }
        };
        words.into_iter().map(|x| x as f32).collect()
    }

    /// A continuously watched barrier's undiscounted payoff in dual numbers
    /// (all four tangents), its control, and the explicit part of its mixed
    /// gamma's raw estimator, from one walk.
    ///
    /// With `x = ln S`, the first fixing `y1 = x + mu + s z1`, and `q1 = 1 -
    /// exp(c d0 d1)` the first interval's survival probability (`c = -2 /
    /// (vol^2 dt)`, `d0` and `d1` the live-side distances of `x` and `y1`),
    /// the sample's value is affine in `q1`: `V = q1 A + B` (knocked out,
    /// `A = W (vanilla - R)` and `B = R`; knocked in, `A = W (R - vanilla)`
    /// and `B = vanilla`; `W` the survival of the live-side indicators and
    /// the later intervals). The walk runs its first step with the indicator
    /// alone, so its payoff is `A + B`; the payoff with a dead path is `B`;
    /// `q1` in dual numbers of `x`, `y1` and `c` then gives `V` with all its
    /// tangents. Gamma: `m(x) = E V`, `m' = E T` with `T = dV/dx` along the
    /// path, and `m'' = E (dT/dx at fixed y1 + T z1 / s)` (the likelihood
    /// ratio of `y1`'s density), where only `q1` reads `x` at fixed `y1`:
    /// `dT/dx = (q1_xx + q1_xy) A + q1_x dA/dx`. With `dd0/dx = dd1/dy1 =
    /// g` (-1 up, +1 down): `q1_x = -g c d1 E`, `q1_xx = -c^2 d1^2 E`,
    /// `q1_xy = -c E (1 + c d0 d1)`, `E = exp(c d0 d1)`. Gamma is `(m'' -
    /// m') / S^2`; in the mixed estimator's units (times `S`, the discount
    /// applied later) the part beyond `T (z1 / s - 1) / S` is
    /// `(q1_xx + q1_xy) A / S + q1_x dA/dS`, returned third.
    #[inline(always)]
    fn barrier_payoff<P: Product, const PUT: bool, L: Lane>(
        &self,
        z: &[L],
        sign: f64,
    ) -> (Dual<L, TANGENTS>, L, L) {
        #[inline(always)]
        fn dual<L: Lane>(c: &[f64; 1 + TANGENTS]) -> Dual<L, TANGENTS> {
            Dual::new(c[0], crate::simd::array_from_fn(|i| c[1 + i]))
        }
        let start = dual::<L>(&self.log_spot);
        let (drift, diffusion) = (dual(&self.drift), dual(&self.diffusion));
        let mut terms: Terms<Dual<L, TANGENTS>> = self.base.terms();
        terms.bridge = dual(&self.crossing);
        let first_terms = Terms {
            continuous: false,
            ..terms
        };
        let mut path = PathState::start::<P>(start, &terms);
        let first = diffusion.times_plus(z[0] * L::splat(sign), path.log_price + drift);
        path.advance_to::<P>(first, &first_terms);
        for &zj in &z[1..] {
            let log_price = diffusion.times_plus(zj * L::splat(sign), path.log_price + drift);
            path.advance_to::<P>(log_price, &terms);
        }
        let control = P::control::<Dual<L, TANGENTS>, PUT>(&path, &terms).value;
        let with_indicator = P::payoff::<Dual<L, TANGENTS>, PUT>(&path, &terms);
        let dead = PathState {
            running: <Dual<L, TANGENTS> as Lane>::splat(0.0),
            ..path
        };
        let b = P::payoff::<Dual<L, TANGENTS>, PUT>(&dead, &terms);
        let a = with_indicator - b;
        // A function, not a closure: see `dual_payoff` (a closure left out
        // of line, as in a debug build, is compiled for the baseline
        // instruction set and crashed when called with AVX-512 vectors).
        #[inline(always)]
        fn distance<L: Lane>(
            log_price: Dual<L, TANGENTS>,
            terms: &Terms<Dual<L, TANGENTS>>,
        ) -> Dual<L, TANGENTS> {
            if terms.up {
                terms.log_barrier - log_price
            } else {
                log_price - terms.log_barrier
            }
        }
        let (d0, d1) = (
            distance(start, &terms).positive_part(),
            distance(first, &terms).positive_part(),
        );
        let e = (terms.bridge * d0 * d1).exp();
        let q1 = <Dual<L, TANGENTS> as Lane>::splat(1.0) - e;
        let value = q1 * a + b;
        let (c, d0, d1, e) = (terms.bridge.value, d0.value, d1.value, e.value);
        let g = L::splat(if terms.up { -1.0 } else { 1.0 });
        let q1_x = -(g * c * d1 * e);
        let q1_xx = -(c * c * d1 * d1 * e);
        let q1_xy = -(c * e * c.mul_add(d0 * d1, L::splat(1.0)));
        let explicit =
            (q1_xx + q1_xy) * a.value * L::splat(1.0 / self.base.spot) + q1_x * a.tangent[0];
        (value, control, explicit)
    }

    /// The undiscounted payoff of the path from `log_spot` in dual numbers
    /// (its value and its derivatives with respect to the first `N` of spot,
    /// vol, rate and maturity), and the path's control.
    #[inline(always)]
    fn dual_payoff<P: Product, const PUT: bool, L: Lane, const N: usize>(
        &self,
        setup: &PathSetup,
        log_spot: f64,
        z: &[L],
        sign: f64,
    ) -> (Dual<L, N>, L) {
        // Functions, not closures, in the SIMD kernels' hot paths: a
        // closure cannot be marked `#[inline(always)]`, and one left out of
        // line is compiled for the baseline instruction set
        // ([`crate::simd::Task`]).
        #[inline(always)]
        fn dual<L: Lane, const N: usize>(c: &[f64; 1 + TANGENTS]) -> Dual<L, N> {
            Dual::new(c[0], crate::simd::array_from_fn(|i| c[1 + i]))
        }
        let mut start = dual::<L, N>(&self.log_spot);
        start.value = L::splat(log_spot);
        // A bumped spot's log price moves with it: d ln S / dS = 1 / S.
        start.tangent[0] = L::splat(1.0 / setup.spot);
        let (drift, diffusion) = (dual(&self.drift), dual(&self.diffusion));
        let mut terms: Terms<Dual<L, N>> = setup.terms();
        terms.bridge = dual(&self.crossing);
        let mut path = PathState::start::<P>(start, &terms);
        for &zj in z {
            // ln S + drift, then the shock, fused: on the first step
            // `ln S + drift` is the same for every sample.
            let log_price = diffusion.times_plus(zj * L::splat(sign), path.log_price + drift);
            path.advance_to::<P>(log_price, &terms);
        }
        (
            P::payoff::<Dual<L, N>, PUT>(&path, &terms),
            P::control::<Dual<L, N>, PUT>(&path, &terms).value,
        )
    }
}

#[cfg(all(test, feature = "gpu"))]
mod tests {
    use super::*;
    use crate::OptionSpec;
    use crate::market::{Barrier, BarrierKind};

    /// The GPU kernel leaves out the tangents that are zero by construction
    /// (`advance_log_price` in shaders/greeks.wgsl, the barrier's
    /// `product_step_dual`): the drift's and diffusion's with respect to the
    /// spot, the diffusion's with respect to the rate; and the crossing
    /// factor's with respect to the spot and the rate.
    #[test]
    fn the_tangents_the_device_leaves_out_are_zero() {
        for (style, steps, barrier) in [
            (Style::European, 1, None),
            (Style::AsianArithmetic, 12, None),
            (
                Style::Barrier,
                64,
                Some(Barrier {
                    level: 120.0,
                    kind: BarrierKind::UpAndOut,
                    rebate: 0.0,
                    monitoring: Monitoring::Continuous,
                }),
            ),
        ] {
            for (spot, rate, dividend, vol, maturity) in
                [(100.0, 0.05, 0.0, 0.2, 1.0), (37.5, -0.01, 0.03, 0.9, 0.1)]
            {
                let defaults = PricingJob::default();
                let job = PricingJob {
                    market: Market {
                        spot,
                        rate,
                        dividend,
                        vol,
                    },
                    option: OptionSpec {
                        style,
                        steps,
                        barrier,
                        maturity,
                        ..defaults.option
                    },
                    ..defaults
                };
                let words = GreekSetup::new(&job, GreeksMethod::Pathwise).device_constants();
                // Dual constants of five words: value, then the spot, vol,
                // rate and maturity tangents.
                let (drift, diffusion, crossing) = (5, 10, 15);
                for at in [
                    drift + 1,
                    diffusion + 1,
                    diffusion + 3,
                    crossing + 1,
                    crossing + 3,
                ] {
                    assert_eq!(words[at].to_bits(), 0, "{style} word {at}");
                }
                assert!(words[diffusion + 2] != 0.0 && words[crossing + 2] != 0.0);
            }
        }
    }
}
