//! Models: how a path moves. A product ([`crate::products`]) reads a path;
//! a model simulates it; the two are written once each and composed, and
//! every tier runs every valid pair.
//!
//! # The model contract
//!
//! A model is one module here, one line in the `models!` list below and its
//! WGSL twin in `shaders/models/`. It declares
//!
//! * its parameters (plain data, [`Model`]'s variant) and their checks;
//! * its **factors**: the standard normals one time step consumes
//!   ([`ModelSpec::FACTORS`]). The stream layout is stated in draws: draw
//!   `f` of step `j` of pricing sample `i` is block `j F + f` of stream
//!   `i / 2`, its cosine half for an even sample and its sine half for an
//!   odd one ([`crate::rng::path_normal`]); a randomized QMC point's
//!   dimension `i F + f` feeds construction step `i` of factor `f`'s
//!   Brownian bridge. With `F = 1` that is the layout Black-Scholes always
//!   had, so its numbers did not move. Every draw is a normal: a model that
//!   needs a uniform takes `N(-z)` (one minus a uniform), so mirrors and
//!   bridges apply to every factor alike;
//! * its **state** beyond the log price (a variance, [`ModelStep`]) and one
//!   **step** over [`LaneMath`], so the scalar oracle and the SIMD kernels
//!   compile the same definition;
//! * its semi-analytic **references** where one exists
//!   ([`ModelSpec::log_cf`], [`Model::european`], [`Model::digital`]),
//!   which the closed form beside the estimate reads.
//!
//! Models whose step is exact over any interval (Black-Scholes, Merton)
//! let a product on the terminal price take one step; the others take the
//! job's `steps` ([`ModelSpec::EXACT_STEP`]).

mod analytic;
mod bates;
mod black_scholes;
mod heston;
mod merton;
mod quadrature;

use num_complex::Complex64;
use serde::{Deserialize, Serialize};

pub use bates::{Bates, BatesStep};
pub use black_scholes::{BlackScholes, BlackScholesStep};
pub use heston::HestonStep;
pub use heston::{HESTON_WORDS, Heston, HestonScheme, MAX_VARIANCE, PSI_SWITCH};
pub use merton::JumpStep;
pub use merton::{JUMP_TAIL, Jumps, MAX_JUMPS};
pub(crate) use quadrature::integrate as quadrature_integrate;

use crate::error::{InputError, named_choices};
use crate::lane::LaneMath;
use crate::market::{Market, OptionKind};

/// Most factors (draws a step) of any model.
pub const MAX_FACTORS: u32 = 4;

/// What a model module defines.
pub trait ModelSpec {
    /// Standard normals one time step consumes.
    const FACTORS: u32;
    /// Whether one step to maturity samples the terminal price exactly
    /// (then a product on the terminal price takes one step).
    const EXACT_STEP: bool;
    /// Whether the model reads the market's `vol` (Black-Scholes' and
    /// Merton's diffusion); Heston's volatility is its variance's.
    const USES_VOL: bool;
    /// Whether the log price's variance over a step is random (a
    /// continuously watched barrier's bridge then reads each step's).
    const STOCHASTIC_VARIANCE: bool;
    /// Whether paths jump (a continuously watched barrier cannot be bridged
    /// across a jump).
    const JUMPS: bool;
    /// The WGSL twin: `model_start` and `model_step` over two paths.
    const WGSL: &'static str;
    /// The constants of one step.
    type Step: ModelStep;
    /// Checks every parameter, naming the first bad one.
    fn validate(&self) -> Result<(), InputError>;
    /// Checks the model on steps of `dt` years (a jump budget).
    fn validate_step(&self, _dt: f64) -> Result<(), InputError> {
        Ok(())
    }
    /// The constants of steps of `dt` years in `market`.
    fn step(&self, market: &Market, dt: f64) -> Self::Step;
    /// The drift of the log price over a step of `dt` years, beyond what
    /// the step's own terms add: `(r - q - vol^2/2) dt` for Black-Scholes,
    /// with the jumps' compensator where the model jumps.
    fn drift(&self, market: &Market, dt: f64) -> f64;
    /// `ln E e^{iu ln(S_T / F)}`, where known.
    fn log_cf(&self, market: &Market, maturity: f64, u: Complex64) -> Option<Complex64>;
    /// The closed-form European price where it is better than the Fourier
    /// integral (Black-Scholes' formula, Merton's series).
    fn closed_european(
        &self,
        _market: &Market,
        _kind: OptionKind,
        _strike: f64,
        _maturity: f64,
    ) -> Option<f64> {
        None
    }
    /// The parameters in words, e.g. `heston (qe; v0 0.04, ...)`.
    fn describe(&self) -> String;
}

/// One step's constants: what a path's walk reads.
pub trait ModelStep: FromDynamics + Copy + std::fmt::Debug + PartialEq {
    /// The variance a path starts with (0 for a model without one).
    fn start_variance(&self) -> f64 {
        0.0
    }
    /// One step from log price `x` and variance `v` on the step's normals
    /// `z` (`FACTORS` of them; `drift` and `diffusion` are the job's per
    /// step): the new log price and the step's variance of the log price
    /// (read by a continuously watched barrier's bridge when it is random).
    fn advance<L: LaneMath>(&self, x: L, v: &mut L, drift: L, diffusion: L, z: &[L]) -> (L, L);
    /// The constants the GPU kernel's model twin reads from word
    /// `params.model` of its table, in f32 (`shaders/models/`).
    fn device_words(&self) -> Vec<f32>;
}

/// A step type's own [`Dynamics`] variant (the `models!` list implements
/// it for each model's step).
pub trait FromDynamics: Sized {
    /// The step constants of `dynamics` when they are this type's.
    fn of(dynamics: &Dynamics) -> Option<&Self>;
}

/// Code run once per chunk for the chunk's model: a kernel's model walk is
/// generic over the step type, so each model's loop carries its own step
/// alone ([`Dynamics::visit`]).
pub trait StepVisitor {
    /// What the code returns.
    type Output;
    /// Runs the code for the model whose step constants are `step`.
    fn visit<S: ModelStep>(self, step: &S) -> Self::Output;
}

/// Declares the model list once: the [`Model`] enum (plain data, tagged
/// by name in JSON), [`ModelKind`] with its CLI names, the compiled
/// [`Dynamics`] and the dispatch from each to the model's module.
macro_rules! models {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal, $spec:ty;)+) => {
        /// The model a job's paths follow, with its parameters.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "name", rename_all = "kebab-case")]
        pub enum Model {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant($spec),)+
        }

        /// Which model, without its parameters.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ModelKind {
            $($(#[doc = $doc])* $variant,)+
        }

        named_choices!(ModelKind, "model", [$(ModelKind::$variant => $name),+]);

        impl ModelKind {
            /// Every model, in the CLI's order.
            pub const ALL: &'static [ModelKind] = &[$(ModelKind::$variant),+];

            /// The WGSL twin.
            pub fn wgsl(self) -> &'static str {
                match self {
                    $(ModelKind::$variant => <$spec as ModelSpec>::WGSL,)+
                }
            }

            /// Whether one step to maturity is exact.
            pub fn exact_step(self) -> bool {
                match self {
                    $(ModelKind::$variant => <$spec as ModelSpec>::EXACT_STEP,)+
                }
            }

            /// Standard normals one step consumes.
            pub fn factors(self) -> u32 {
                match self {
                    $(ModelKind::$variant => <$spec as ModelSpec>::FACTORS,)+
                }
            }
        }

        /// A model's constants for one step size, compiled once per job.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum Dynamics {
            $($(#[doc = $doc])* $variant(<$spec as ModelSpec>::Step),)+
        }

        impl Model {
            /// Which model this is.
            pub fn kind(&self) -> ModelKind {
                match self {
                    $(Model::$variant(_) => ModelKind::$variant,)+
                }
            }

            /// Standard normals one step consumes.
            pub fn factors(&self) -> u32 {
                match self {
                    $(Model::$variant(_) => <$spec as ModelSpec>::FACTORS,)+
                }
            }

            /// Whether one step to maturity is exact.
            pub fn exact_step(&self) -> bool {
                match self {
                    $(Model::$variant(_) => <$spec as ModelSpec>::EXACT_STEP,)+
                }
            }

            /// Whether the model reads the market's `vol`.
            pub fn uses_vol(&self) -> bool {
                match self {
                    $(Model::$variant(_) => <$spec as ModelSpec>::USES_VOL,)+
                }
            }

            /// Whether the log price's variance over a step is random.
            pub fn stochastic_variance(&self) -> bool {
                match self {
                    $(Model::$variant(_) => <$spec as ModelSpec>::STOCHASTIC_VARIANCE,)+
                }
            }

            /// Whether paths jump.
            pub fn jumps(&self) -> bool {
                match self {
                    $(Model::$variant(_) => <$spec as ModelSpec>::JUMPS,)+
                }
            }

            /// The WGSL twin.
            pub fn wgsl(&self) -> &'static str {
                match self {
                    $(Model::$variant(_) => <$spec as ModelSpec>::WGSL,)+
                }
            }

            /// Checks every parameter, naming the first bad one.
            pub fn validate(&self) -> Result<(), InputError> {
                match self {
                    $(Model::$variant(spec) => <$spec as ModelSpec>::validate(spec),)+
                }
            }

            /// Checks the model on steps of `dt` years.
            pub fn validate_step(&self, dt: f64) -> Result<(), InputError> {
                match self {
                    $(Model::$variant(spec) => <$spec as ModelSpec>::validate_step(spec, dt),)+
                }
            }

            /// The constants of steps of `dt` years in `market`.
            pub fn dynamics(&self, market: &Market, dt: f64) -> Dynamics {
                match self {
                    $(Model::$variant(spec) => Dynamics::$variant(<$spec as ModelSpec>::step(spec, market, dt)),)+
                }
            }

            /// The log price's drift per step of `dt` years ([`ModelSpec::drift`]).
            pub fn drift(&self, market: &Market, dt: f64) -> f64 {
                match self {
                    $(Model::$variant(spec) => <$spec as ModelSpec>::drift(spec, market, dt),)+
                }
            }

            /// `ln E e^{iu ln(S_T / F)}`, where known.
            pub fn log_cf(&self, market: &Market, maturity: f64, u: Complex64) -> Option<Complex64> {
                match self {
                    $(Model::$variant(spec) => <$spec as ModelSpec>::log_cf(spec, market, maturity, u),)+
                }
            }

            fn closed_european(
                &self,
                market: &Market,
                kind: OptionKind,
                strike: f64,
                maturity: f64,
            ) -> Option<f64> {
                match self {
                    $(Model::$variant(spec) => <$spec as ModelSpec>::closed_european(spec, market, kind, strike, maturity),)+
                }
            }

            /// The parameters in words.
            pub fn describe(&self) -> String {
                match self {
                    $(Model::$variant(spec) => <$spec as ModelSpec>::describe(spec),)+
                }
            }
        }

        $(impl FromDynamics for <$spec as ModelSpec>::Step {
            #[inline(always)]
            fn of(dynamics: &Dynamics) -> Option<&Self> {
                match dynamics {
                    Dynamics::$variant(step) => Some(step),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        })+

        impl Dynamics {
            /// Runs `visitor` for this model's step type.
            #[inline(always)]
            pub fn visit<V: StepVisitor>(&self, visitor: V) -> V::Output {
                match self {
                    $(Dynamics::$variant(step) => visitor.visit(step),)+
                }
            }

            /// The variance a path starts with.
            #[inline(always)]
            pub fn start_variance(&self) -> f64 {
                match self {
                    $(Dynamics::$variant(step) => ModelStep::start_variance(step),)+
                }
            }

            /// The constants of the model's WGSL twin
            /// ([`ModelStep::device_words`]).
            pub fn device_words(&self) -> Vec<f32> {
                match self {
                    $(Dynamics::$variant(step) => ModelStep::device_words(step),)+
                }
            }
        }
    };
}

models! {
    /// Black-Scholes: one geometric Brownian motion at the market's `vol`.
    BlackScholes => "bs", BlackScholes;
    /// Heston's stochastic variance (QE or full-truncation Euler).
    Heston => "heston", Heston;
    /// Merton's lognormal jumps over Black-Scholes' diffusion.
    Merton => "merton", Jumps;
    /// Bates: Heston's variance with Merton's jumps.
    Bates => "bates", Bates;
}

impl Default for Model {
    fn default() -> Self {
        Model::BlackScholes(BlackScholes {})
    }
}

impl Model {
    /// The work of one step in Black-Scholes steps, for Auto's cost model
    /// ([`crate::selector::Work`]): x86 instructions a path-step on the
    /// SIMD tier (AVX2, callgrind, 64-step paths) over a Black-Scholes
    /// arithmetic Asian's 42.6; Heston QE 143.8, Merton 128.8, Bates 228.2
    /// (see DESIGN.md, "The model axis").
    pub fn cost_per_step(&self) -> f64 {
        match self {
            Model::BlackScholes(_) => 1.0,
            Model::Heston(_) => 3.4,
            Model::Merton(_) => 3.0,
            Model::Bates(_) => 5.4,
        }
    }

    /// Whether this is Black-Scholes, whose kernels are the tiers' original,
    /// specialised ones.
    pub fn is_black_scholes(&self) -> bool {
        matches!(self, Model::BlackScholes(_))
    }

    /// The semi-analytic price of a European call or put, where the model
    /// has one (all four do).
    pub fn european(
        &self,
        market: &Market,
        kind: OptionKind,
        strike: f64,
        maturity: f64,
    ) -> Option<f64> {
        if let Some(price) = self.closed_european(market, kind, strike, maturity) {
            return Some(price);
        }
        self.log_cf(market, maturity, Complex64::new(0.0, 0.0))?;
        Some(analytic::european(
            |u| self.log_cf(market, maturity, u).unwrap_or_default(),
            kind,
            market,
            strike,
            maturity,
        ))
    }

    /// The semi-analytic price of a cash-or-nothing digital paying 1.
    pub fn digital(
        &self,
        market: &Market,
        kind: OptionKind,
        strike: f64,
        maturity: f64,
    ) -> Option<f64> {
        if let Model::Merton(jumps) = self {
            return Some(analytic::merton_series(jumps, market, maturity, |m| {
                crate::closed_form::digital_precise(kind, m, strike, maturity)
            }));
        }
        self.log_cf(market, maturity, Complex64::new(0.0, 0.0))?;
        Some(analytic::digital(
            |u| self.log_cf(market, maturity, u).unwrap_or_default(),
            kind,
            market,
            strike,
            maturity,
        ))
    }
}

/// A model named by its kind with its parameters as optional values, as a
/// command line's flags or Python's keyword arguments give them: the one
/// place that pairs them, for every front end. Every parameter of the model
/// must be given and none of another model's; errors name the flag.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModelParameters {
    /// The market's volatility, given explicitly (Black-Scholes and Merton
    /// read it; Heston and Bates refuse it).
    pub vol: Option<f64>,
    /// Heston's `v0`.
    pub v0: Option<f64>,
    /// Heston's `kappa`.
    pub kappa: Option<f64>,
    /// Heston's `theta`.
    pub theta: Option<f64>,
    /// Heston's `xi`.
    pub xi: Option<f64>,
    /// Heston's `rho`.
    pub rho: Option<f64>,
    /// Heston's scheme (QE unless given).
    pub scheme: Option<HestonScheme>,
    /// The jumps' intensity.
    pub jump_intensity: Option<f64>,
    /// The jumps' log mean.
    pub jump_mean: Option<f64>,
    /// The jumps' log volatility.
    pub jump_vol: Option<f64>,
}

impl ModelParameters {
    /// The model `kind` with these parameters.
    pub fn model(&self, kind: ModelKind) -> Result<Model, InputError> {
        let heston_flags = [
            ("v0", self.v0),
            ("kappa", self.kappa),
            ("theta", self.theta),
            ("xi", self.xi),
            ("rho", self.rho),
        ];
        let jump_flags = [
            ("jump-intensity", self.jump_intensity),
            ("jump-mean", self.jump_mean),
            ("jump-vol", self.jump_vol),
        ];
        let (heston, jumps) = match kind {
            ModelKind::BlackScholes => (false, false),
            ModelKind::Heston => (true, false),
            ModelKind::Merton => (false, true),
            ModelKind::Bates => (true, true),
        };
        let takes = match kind {
            ModelKind::BlackScholes => "bs takes vol",
            ModelKind::Heston => "heston takes v0, kappa, theta, xi, rho and scheme",
            ModelKind::Merton => "merton takes vol, jump-intensity, jump-mean and jump-vol",
            ModelKind::Bates => {
                "bates takes v0, kappa, theta, xi, rho, scheme, jump-intensity, jump-mean and jump-vol"
            }
        };
        let not_taken = |field: &str, value: String| {
            InputError::invalid(
                field,
                value,
                &format!("is not a parameter of the {kind} model ({takes})"),
            )
        };
        for (flags, wanted) in [(&heston_flags[..], heston), (&jump_flags[..], jumps)] {
            for &(field, value) in flags {
                if let (Some(value), false) = (value, wanted) {
                    return Err(not_taken(field, value.to_string()));
                }
            }
        }
        if let (Some(scheme), false) = (self.scheme, heston) {
            return Err(not_taken("scheme", scheme.to_string()));
        }
        if let (Some(vol), true) = (self.vol, heston) {
            return Err(not_taken("vol", vol.to_string()));
        }
        let required = |flags: &[(&'static str, Option<f64>)]| -> Result<Vec<f64>, InputError> {
            flags
                .iter()
                .map(|&(field, value)| {
                    value.ok_or_else(|| {
                        InputError::invalid(
                            field,
                            "none",
                            &format!("the {kind} model needs {field}"),
                        )
                    })
                })
                .collect()
        };
        let heston = || -> Result<Heston, InputError> {
            let p = required(&heston_flags)?;
            Ok(Heston {
                v0: p[0],
                kappa: p[1],
                theta: p[2],
                xi: p[3],
                rho: p[4],
                scheme: self.scheme.unwrap_or_default(),
            })
        };
        let jumps = || -> Result<Jumps, InputError> {
            let p = required(&jump_flags)?;
            Ok(Jumps {
                jump_intensity: p[0],
                jump_mean: p[1],
                jump_vol: p[2],
            })
        };
        Ok(match kind {
            ModelKind::BlackScholes => Model::BlackScholes(BlackScholes {}),
            ModelKind::Heston => Model::Heston(heston()?),
            ModelKind::Merton => Model::Merton(jumps()?),
            ModelKind::Bates => Model::Bates(Bates {
                heston: heston()?,
                jumps: jumps()?,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_round_trip_through_json_by_name() {
        let models = [
            Model::default(),
            Model::Heston(Heston {
                v0: 0.04,
                kappa: 1.5,
                theta: 0.05,
                xi: 0.6,
                rho: -0.7,
                scheme: HestonScheme::Euler,
            }),
            Model::Merton(Jumps {
                jump_intensity: 0.5,
                jump_mean: -0.1,
                jump_vol: 0.2,
            }),
        ];
        for model in models {
            let text = serde_json::to_string(&model).unwrap();
            assert!(
                text.contains(&format!("\"name\":\"{}\"", model.kind())),
                "{text}"
            );
            assert_eq!(serde_json::from_str::<Model>(&text).unwrap(), model);
        }
        let heston: Model = serde_json::from_str(
            r#"{"name": "heston", "v0": 0.04, "kappa": 2, "theta": 0.04, "xi": 0.3, "rho": -0.5}"#,
        )
        .unwrap();
        assert_eq!(heston.kind(), ModelKind::Heston);
    }

    #[test]
    fn every_draw_count_fits_the_bound() {
        for model in [
            Model::default(),
            Model::Bates(Bates {
                heston: Heston {
                    v0: 0.04,
                    kappa: 1.5,
                    theta: 0.05,
                    xi: 0.6,
                    rho: -0.7,
                    scheme: HestonScheme::Qe,
                },
                jumps: Jumps {
                    jump_intensity: 0.5,
                    jump_mean: -0.1,
                    jump_vol: 0.2,
                },
            }),
        ] {
            assert!(model.factors() >= 1 && model.factors() <= MAX_FACTORS);
        }
    }
}
