//! Products, each defined once: its path statistic, its payoff, its closed form
//! and its WGSL twin, in one module (plus the twin in `shaders/products/`).
//!
//! # The product contract
//!
//! A path starts at `ln S(0)` with a running statistic of 0. At each of the
//! product's time steps the log price moves by `drift + diffusion z` (the exact
//! log-normal step, [`PathSetup`]) and the product folds the new log price
//! into its running statistic ([`Product::observe`]); at expiry it turns the
//! final state into an undiscounted payoff ([`Product::payoff`]). Both are
//! generic over [`Lane`], so the scalar oracle runs them on `f64` and the SIMD
//! kernels on eight lanes, from the same definition; the GPU runs the WGSL twin
//! ([`Product::WGSL`]), which defines `product_start`, `product_step`,
//! `product_payoff` and `product_control` with the same meaning in f32 on two
//! paths at once (`vec2<f32>`).
//!
//! Each product also names a control variate ([`Product::control`]), a
//! quantity of the same path with a known mean, which the pricing estimators
//! use when asked (`PricingJob::control_variate`).
//!
//! Adding a product is a module here, one line in the `products!` list below,
//! and its WGSL twin: every tier, the CLI's `--style`, the closed form beside
//! the estimate and the tier tests pick it up from there.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, named_choices, positive, within};
use crate::lane::{Lane, LaneMath};
pub use crate::market::{Barrier, BarrierKind, Monitoring};
use crate::market::{MAX_PRICE, Market, OptionKind};
use crate::models::{Dynamics, MAX_FACTORS, Model, ModelStep};

/// Longest maturity accepted, in years.
pub const MAX_MATURITY: f64 = 1000.0;

/// A path's state: its log price and the product's running statistic.
#[derive(Debug, Clone, Copy)]
pub struct PathState<L> {
    /// `ln S(t)` after the last step.
    pub log_price: L,
    /// What the product accumulates over the fixings (see [`Product::observe`]).
    pub running: L,
    /// The sum of the log prices at the fixings, for the geometric-average
    /// control variate (the compiler drops it where nothing reads it).
    pub log_sum: L,
}

impl<L: Lane> PathState<L> {
    /// A path of product `P` at `ln S(0)`, its statistic at
    /// [`Product::start`].
    #[inline(always)]
    pub fn start<P: Product>(log_spot: L, terms: &Terms<L>) -> Self {
        Self {
            log_price: log_spot,
            running: P::start(log_spot, terms),
            log_sum: L::splat(0.0),
        }
    }

    /// One time step: the log price moves by `increment` and the product
    /// observes the step ([`Product::step`]).
    #[inline(always)]
    pub fn advance<P: Product>(&mut self, increment: L, terms: &Terms<L>) {
        self.advance_to::<P>(self.log_price + increment, terms);
    }

    /// One time step to `log_price`.
    #[inline(always)]
    pub fn advance_to<P: Product>(&mut self, log_price: L, terms: &Terms<L>) {
        let previous = self.log_price;
        self.log_price = log_price;
        self.running = P::step(self.running, previous, self.log_price, terms);
        self.log_sum += self.log_price;
    }
}

/// The contract's numbers a payoff reads, in the lane type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Terms<L> {
    /// The strike.
    pub strike: L,
    /// Time steps taken (the fixings of an averaging product).
    pub fixings: L,
    /// A barrier's log level (unused without one).
    pub log_barrier: L,
    /// `-2 / (vol^2 dt)`: the exponent's factor in the Brownian-bridge
    /// probability of crossing the barrier between two fixings.
    pub bridge: L,
    /// The rebate paid at expiry when a barrier option is not alive.
    pub rebate: L,
    /// Whether the barrier is above the spot.
    pub up: bool,
    /// Whether the barrier knocks in (else out).
    pub knock_in: bool,
    /// Whether the barrier is watched continuously (else at the fixings).
    pub continuous: bool,
    /// The product, for [`AnyProduct`]'s run-time dispatch.
    pub style: Style,
}

/// `max(S - K, 0)` for a call, `max(K - S, 0)` for a put.
#[inline(always)]
pub fn vanilla<L: Lane, const PUT: bool>(underlying: L, strike: L) -> L {
    if PUT {
        (strike - underlying).positive_part()
    } else {
        (underlying - strike).positive_part()
    }
}

/// One product: what it accumulates along a path and what it pays.
pub trait Product {
    /// The time steps the product always takes (one exact step to maturity for
    /// a payoff on the terminal price); `None` when it takes the contract's
    /// fixings.
    const STEPS: Option<u32>;
    /// Whether the path's value reads the spot directly, not only through
    /// the log prices (a continuously watched barrier's first interval):
    /// the pathwise gamma then adds that dependence
    /// ([`crate::greeks`]). Known at compile time, so no other
    /// product's kernel carries the code.
    const READS_SPOT: bool = false;
    /// The WGSL twin: `product_start`, `product_step`, `product_payoff` and
    /// `product_control` over two paths, reading the `PUT` override and
    /// `params` (strike, fixings, the barrier's terms).
    const WGSL: &'static str;
    /// The running statistic of a path at `ln S(0) = log_spot` that has not
    /// moved yet.
    #[inline(always)]
    fn start<L: Lane>(_log_spot: L, _terms: &Terms<L>) -> L {
        L::splat(0.0)
    }
    /// The running statistic after a fixing at `log_price`.
    fn observe<L: Lane>(running: L, log_price: L) -> L;
    /// The running statistic after a step from `previous` to `log_price`
    /// (the log prices at two neighbouring fixings): [`Product::observe`]
    /// unless the product watches the path between fixings.
    #[inline(always)]
    fn step<L: Lane>(running: L, _previous: L, log_price: L, _terms: &Terms<L>) -> L {
        Self::observe(running, log_price)
    }
    /// The undiscounted payoff of a finished path.
    fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L;
    /// The exact price, where one is known.
    fn closed_form(market: &Market, option: &OptionSpec) -> Option<f64>;
    /// The product's control variate: a quantity of the same path, close to
    /// the payoff, whose expectation is known ([`Product::control_mean`]).
    fn control<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L;
    /// The undiscounted expectation of [`Product::control`].
    fn control_mean(market: &Market, option: &OptionSpec) -> f64;
    /// The control variate under any model ([`crate::models`]): a quantity
    /// whose mean follows from the forwards alone, so it holds whatever
    /// moves the path. The terminal price unless the product says
    /// otherwise (the arithmetic Asian: the average of its fixings).
    #[inline(always)]
    fn model_control<L: Lane, const PUT: bool>(path: &PathState<L>, _terms: &Terms<L>) -> L {
        path.log_price.exp()
    }
    /// The undiscounted expectation of [`Product::model_control`].
    fn model_control_mean(market: &Market, option: &OptionSpec) -> f64 {
        forward(market, option.maturity)
    }
}

/// `E[S(T)] = S e^{(r - q) T}`, the mean of the terminal-price control.
pub fn forward(market: &Market, maturity: f64) -> f64 {
    market.spot * ((market.rate - market.dividend) * maturity).exp()
}

/// Code that runs for one product, call or put, plain or antithetic, as
/// compile-time parameters, so every combination gets its own loop (the way
/// the SIMD tier specialises; the GPU does the same with pipeline overrides).
pub(crate) trait Specialised {
    /// What the code returns.
    type Output;
    /// Runs the code for product `P`.
    fn run<P: Product, const PUT: bool, const ANTITHETIC: bool>(self) -> Self::Output;
}

fn with_flags<P: Product, S: Specialised>(
    kind: OptionKind,
    antithetic: bool,
    code: S,
) -> S::Output {
    match (kind == OptionKind::Put, antithetic) {
        (false, false) => code.run::<P, false, false>(),
        (false, true) => code.run::<P, false, true>(),
        (true, false) => code.run::<P, true, false>(),
        (true, true) => code.run::<P, true, true>(),
    }
}

/// Declares the product list once: the modules, the [`Style`] enum with its
/// names, and the dispatch from a `Style` to its product type.
macro_rules! products {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal, $module:ident::$product:ident;)+) => {
        $(mod $module;)+
        $(pub use $module::$product;)+

        /// Which product: how the payoff reads the path.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Style {
            $($(#[doc = $doc])* $variant,)+
        }

        named_choices!(Style, "style", [$(Style::$variant => $name),+]);

        /// Runs `code` specialised for `style`, `kind` and `antithetic`.
        pub(crate) fn specialise<S: Specialised>(
            style: Style,
            kind: OptionKind,
            antithetic: bool,
            code: S,
        ) -> S::Output {
            match style {
                $(Style::$variant => with_flags::<$module::$product, S>(kind, antithetic, code),)+
            }
        }

        /// Every product at once, the choice made at run time from
        /// [`Terms::style`]: what the walks under a model other than
        /// Black-Scholes run (`crate::models`), so their kernels are
        /// compiled once a model and instruction set rather than once a
        /// product too. Each method is the chosen product's own; its
        /// predictable branch sits beside the model's step, whose
        /// transcendental work dwarfs it. Black-Scholes' kernels keep
        /// their products at compile time.
        pub struct AnyProduct;

        impl Product for AnyProduct {
            const STEPS: Option<u32> = None;
            const WGSL: &'static str = "";

            #[inline(always)]
            fn start<L: Lane>(log_spot: L, terms: &Terms<L>) -> L {
                match terms.style {
                    $(Style::$variant => <$module::$product>::start(log_spot, terms),)+
                }
            }

            /// Never called: [`AnyProduct::step`] dispatches to each
            /// product's own, which observes.
            #[inline(always)]
            fn observe<L: Lane>(running: L, _: L) -> L {
                running
            }

            #[inline(always)]
            fn step<L: Lane>(running: L, previous: L, log_price: L, terms: &Terms<L>) -> L {
                match terms.style {
                    $(Style::$variant => <$module::$product>::step(running, previous, log_price, terms),)+
                }
            }

            #[inline(always)]
            fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
                match terms.style {
                    $(Style::$variant => <$module::$product>::payoff::<L, PUT>(path, terms),)+
                }
            }

            fn closed_form(market: &Market, option: &OptionSpec) -> Option<f64> {
                option.style.closed_form(market, option)
            }

            #[inline(always)]
            fn control<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
                match terms.style {
                    $(Style::$variant => <$module::$product>::control::<L, PUT>(path, terms),)+
                }
            }

            fn control_mean(market: &Market, option: &OptionSpec) -> f64 {
                option.style.control_mean(market, option)
            }

            #[inline(always)]
            fn model_control<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
                match terms.style {
                    $(Style::$variant => <$module::$product>::model_control::<L, PUT>(path, terms),)+
                }
            }

            fn model_control_mean(market: &Market, option: &OptionSpec) -> f64 {
                option.style.model_control_mean(market, option)
            }
        }

        impl Style {
            /// Every product, in the CLI's order.
            pub const ALL: &'static [Style] = &[$(Style::$variant),+];

            /// The time steps the product always takes, or `None` when it
            /// takes the contract's fixings ([`Product::STEPS`]).
            pub fn fixed_steps(self) -> Option<u32> {
                match self {
                    $(Style::$variant => <$module::$product as Product>::STEPS,)+
                }
            }

            /// The product's WGSL twin ([`Product::WGSL`]).
            pub fn wgsl(self) -> &'static str {
                match self {
                    $(Style::$variant => <$module::$product as Product>::WGSL,)+
                }
            }

            /// The closed-form price of `option` (of this style), if known.
            pub fn closed_form(self, market: &Market, option: &OptionSpec) -> Option<f64> {
                match self {
                    $(Style::$variant => <$module::$product>::closed_form(market, option),)+
                }
            }

            /// The undiscounted mean of the style's control variate
            /// ([`Product::control_mean`]).
            pub fn control_mean(self, market: &Market, option: &OptionSpec) -> f64 {
                match self {
                    $(Style::$variant => <$module::$product>::control_mean(market, option),)+
                }
            }

            /// The undiscounted mean of the style's control variate under
            /// any model ([`Product::model_control_mean`]).
            pub fn model_control_mean(self, market: &Market, option: &OptionSpec) -> f64 {
                match self {
                    $(Style::$variant => <$module::$product>::model_control_mean(market, option),)+
                }
            }
        }
    };
}

products! {
    /// Payoff on the terminal price.
    European => "european", european::European;
    /// Payoff on the arithmetic mean of the fixings `t_i = i T / N`, `i = 1..N`.
    AsianArithmetic => "asian-arithmetic", asian_arithmetic::AsianArithmetic;
    /// Payoff on the geometric mean of the same fixings.
    AsianGeometric => "asian-geometric", asian_geometric::AsianGeometric;
    /// Cash-or-nothing digital: pays 1 when the terminal price ends beyond the strike.
    Digital => "digital", digital::Digital;
    /// Knock-in or knock-out call or put, the barrier watched at the fixings
    /// or continuously.
    Barrier => "barrier", barrier::BarrierOption;
}

impl Style {
    /// Whether the payoff reads intermediate fixings (an Asian's averaging
    /// dates, a barrier's monitoring dates).
    pub fn is_asian(self) -> bool {
        self.fixed_steps().is_none()
    }
}

/// The contract being priced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    /// Call or put.
    pub kind: OptionKind,
    /// The product.
    pub style: Style,
    /// Strike, > 0.
    pub strike: f64,
    /// Years to expiry, > 0.
    pub maturity: f64,
    /// Number of equally spaced fixings for the averaging styles and a
    /// barrier's monitoring grid, >= 1; ignored by a style that fixes its own
    /// steps (European: one exact step).
    pub steps: u32,
    /// The barrier of a `Style::Barrier` option (and only of one).
    #[serde(default)]
    pub barrier: Option<Barrier>,
}

impl OptionSpec {
    /// Checks every field, naming the first bad one: strike in
    /// [1e-100, 1e100], maturity in (0, 1000] years.
    pub fn validate(&self) -> Result<(), InputError> {
        within("strike", self.strike, 1.0 / MAX_PRICE, MAX_PRICE)?;
        positive("maturity", self.maturity)?;
        within("maturity", self.maturity, 0.0, MAX_MATURITY)?;
        if self.style.is_asian() && self.steps == 0 {
            return Err(InputError::invalid(
                "steps",
                self.steps,
                &format!("a {} option needs at least 1 fixing", self.style),
            ));
        }
        match (self.style, &self.barrier) {
            (Style::Barrier, None) => {
                return Err(InputError::invalid(
                    "barrier",
                    "none",
                    "a barrier option needs a barrier level and kind",
                ));
            }
            (Style::Barrier, Some(barrier)) => {
                within("barrier", barrier.level, 1.0 / MAX_PRICE, MAX_PRICE)?;
                within("rebate", barrier.rebate, 0.0, MAX_PRICE)?;
            }
            (style, Some(_)) => {
                return Err(InputError::invalid(
                    "barrier",
                    style.name(),
                    "only a barrier option (--style barrier) takes a barrier",
                ));
            }
            (_, None) => {}
        }
        Ok(())
    }

    /// Time steps the simulation takes under Black-Scholes: the fixings, or
    /// the steps the style fixes itself.
    pub fn time_steps(&self) -> u32 {
        self.style.fixed_steps().unwrap_or(self.steps)
    }

    /// Time steps the simulation takes under `model`: a model whose step is
    /// exact over any interval lets the style fix its own; the others take
    /// `steps` for every style (a discretisation of the whole path).
    pub fn time_steps_under(&self, model: &Model) -> u32 {
        if model.exact_step() {
            self.time_steps()
        } else {
            self.steps
        }
    }
}

/// Per-step constants of a job's paths, computed once per job: the model's
/// compiled step ([`Dynamics`]) and, for Black-Scholes, the exact log-normal
/// scheme `ln S(t + dt) = ln S(t) + drift + diffusion * z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathSetup {
    /// `ln S(0)`.
    pub log_spot: f64,
    /// `S(0)`.
    pub spot: f64,
    /// `(rate - dividend - vol^2 / 2) dt`.
    pub drift: f64,
    /// `vol sqrt(dt)`.
    pub diffusion: f64,
    /// The strike.
    pub strike: f64,
    /// Time steps per path.
    pub steps: u32,
    /// Call or put.
    pub kind: OptionKind,
    /// The product.
    pub style: Style,
    /// `vol^2 dt`, the variance of a step's log price.
    pub step_variance: f64,
    /// The barrier, if any.
    pub barrier: Option<Barrier>,
    /// The payoff's terms, computed once ([`PathSetup::terms`] splats them).
    pub base_terms: Terms<f64>,
    /// The model's constants for one step.
    pub dynamics: Dynamics,
    /// Normals a step consumes (the model's factors).
    pub factors: u32,
    /// Whether the step's variance is random, so a continuously watched
    /// barrier's bridge reads each step's.
    pub stochastic_variance: bool,
}

impl PathSetup {
    /// The constants of `option` in `market` under `model`.
    pub fn new(market: &Market, model: &Model, option: &OptionSpec) -> Self {
        let Market { spot, vol, .. } = *market;
        let steps = option.time_steps_under(model);
        let dt = option.maturity / f64::from(steps);
        Self {
            log_spot: spot.ln(),
            spot,
            drift: model.drift(market, dt),
            diffusion: vol * dt.sqrt(),
            strike: option.strike,
            steps,
            kind: option.kind,
            style: option.style,
            step_variance: vol * vol * dt,
            barrier: option.barrier,
            base_terms: Self::compute_terms(option, steps, vol * vol * dt),
            dynamics: model.dynamics(market, dt),
            factors: model.factors(),
            stochastic_variance: model.stochastic_variance(),
        }
    }

    /// Normals one path consumes: a draw per factor per step.
    pub fn draws(&self) -> usize {
        self.steps as usize * self.factors as usize
    }

    fn compute_terms(option: &OptionSpec, steps: u32, step_variance: f64) -> Terms<f64> {
        let barrier = option.barrier.unwrap_or(Barrier {
            level: 1.0,
            kind: BarrierKind::UpAndOut,
            rebate: 0.0,
            monitoring: Monitoring::Discrete,
        });
        Terms {
            strike: option.strike,
            fixings: f64::from(steps),
            log_barrier: barrier.level.ln(),
            bridge: -2.0 / step_variance,
            rebate: barrier.rebate,
            up: barrier.kind.is_up(),
            knock_in: barrier.kind.is_in(),
            continuous: barrier.monitoring == Monitoring::Continuous,
            style: option.style,
        }
    }

    /// The payoff's terms in lane type `L`.
    #[inline(always)]
    pub fn terms<L: Lane>(&self) -> Terms<L> {
        let t = &self.base_terms;
        Terms {
            strike: L::splat(t.strike),
            fixings: L::splat(t.fixings),
            log_barrier: L::splat(t.log_barrier),
            bridge: L::splat(t.bridge),
            rebate: L::splat(t.rebate),
            up: t.up,
            knock_in: t.knock_in,
            continuous: t.continuous,
            style: t.style,
        }
    }
}

/// The undiscounted payoff and control of the Black-Scholes path of `setup`
/// whose step normals are `sign * z`.
#[inline(always)]
pub fn path_value<P: Product, const PUT: bool, L: Lane>(
    setup: &PathSetup,
    z: &[L],
    sign: f64,
) -> (L, L) {
    let terms = setup.terms::<L>();
    let mut path = PathState::start::<P>(L::splat(setup.log_spot), &terms);
    let (drift, diffusion) = (L::splat(setup.drift), L::splat(setup.diffusion * sign));
    for &zj in z {
        path.advance::<P>(drift + diffusion * zj, &terms);
    }
    (
        P::payoff::<L, PUT>(&path, &terms),
        P::control::<L, PUT>(&path, &terms),
    )
}

/// The undiscounted payoff and control, call or put as `put` says, of the
/// path of `setup` under the model whose step constants are `step` (of
/// `setup.dynamics`' type, or the walk is NaN), its draws `sign * z` (the
/// model's `factors` a step, step-major). Each step is the model's
/// ([`ModelStep::advance`]); a continuously watched barrier bridges each
/// step with the step's own variance where it is random; the control is
/// the product's model-free one ([`Product::model_control`]).
#[inline(always)]
pub fn model_path_value<P: Product, S: ModelStep, L: LaneMath>(
    setup: &PathSetup,
    z: &[L],
    sign: f64,
    put: bool,
) -> (L, L) {
    let Some(step) = S::of(&setup.dynamics) else {
        return (L::splat(f64::NAN), L::splat(f64::NAN));
    };
    let mut terms = setup.terms::<L>();
    let mut path = PathState::start::<P>(L::splat(setup.log_spot), &terms);
    let mut variance = L::splat(step.start_variance());
    let (drift, diffusion) = (L::splat(setup.drift), L::splat(setup.diffusion));
    let factors = setup.factors as usize;
    let bridged = setup.stochastic_variance && terms.continuous;
    let mut draws = [L::splat(0.0); MAX_FACTORS as usize];
    for normals in z.chunks_exact(factors) {
        for (draw, &z) in draws.iter_mut().zip(normals) {
            *draw = z * L::splat(sign);
        }
        let (log_price, step_variance) = step.advance(
            path.log_price,
            &mut variance,
            drift,
            diffusion,
            &draws[..factors],
        );
        if bridged {
            terms.bridge = L::splat(-2.0) / step_variance.max(L::splat(f64::MIN_POSITIVE));
        }
        path.advance_to::<P>(log_price, &terms);
    }
    if put {
        (
            P::payoff::<L, true>(&path, &terms),
            P::model_control::<L, true>(&path, &terms),
        )
    } else {
        (
            P::payoff::<L, false>(&path, &terms),
            P::model_control::<L, false>(&path, &terms),
        )
    }
}
