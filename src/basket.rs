//! Options on several correlated assets: a weighted arithmetic basket,
//! worst-of and best-of (rainbow) options and the spread, each asset a
//! geometric Brownian motion under the pricing measure with its own spot,
//! volatility and dividend yield, the assets' Brownian motions correlated by
//! a positive semi-definite correlation matrix.
//!
//! # Stream layout
//!
//! Assets are the paths' factors ([`crate::models`]'s layout in draws, with
//! `F = d` assets): the normal of asset `f` at step `j` of pricing sample `i`
//! is block `j d + f` of stream `i / 2`, its cosine half for an even sample
//! and its sine half for an odd one. A randomized QMC point's dimension
//! `j d + f` feeds step `j` of asset `f`'s Brownian bridge. One asset is a
//! Black-Scholes European's layout, so a one-asset basket gives the
//! single-asset price on the same streams.
//!
//! # One step
//!
//! `ln S_a += (r - q_a - vol_a^2 / 2) dt + vol_a sqrt(dt) (L z)_a`, with `L`
//! the correlation's Cholesky factor: exact over any step, so a European
//! payoff needs one step; `steps` more sample the same terminal law on a
//! finer grid (the cost of a path-dependent basket's walk).
//!
//! # References
//!
//! * the **geometric basket** `B0 prod (S_a / S_a(0))^(v_a)`, with
//!   `B0 = sum w_a S_a(0)` the basket today and `v_a = w_a S_a(0) / B0` its
//!   value weights, is log-normal (and below the arithmetic basket on every
//!   path, by AM-GM, equal to it today):
//!   its call and put are closed forms, and it is the arithmetic basket's
//!   control variate (weights all positive);
//! * the **exchange option** (spread at strike 0, weights of opposite signs)
//!   is Margrabe's formula;
//! * the **two-asset worst-of and best-of** calls and puts are Stulz's
//!   formulas (Haug's form), over the bivariate normal distribution.
//!
//! The arithmetic basket has no closed form: the tests hold it to QuantLib's
//! Choi engine on three assets (`tests/baskets.rs`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, finite, named_choices, positive, within};
use crate::lane::{Lane, LaneMath, normal_cdf};
use crate::market::{MAX_PRICE, MAX_RATE, MAX_VOL, Market, OptionKind};
use crate::pricing::{MAX_PATHS, MAX_REPLICATES, Sampler};
use crate::rng::qmc::{MAX_DIMENSIONS, MAX_POINTS};

/// Most assets of a basket: a step costs `d (d + 1) / 2` multiply-adds to
/// correlate, and the Cholesky factor and the correlation are `d^2`.
pub const MAX_BASKET_ASSETS: usize = 100;

/// Largest assets file read (a 100-asset file with its correlation is
/// about 200 KB).
pub const MAX_ASSETS_BYTES: u64 = 1 << 20;

/// One asset of a basket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasketAsset {
    /// The asset's name, unique in the basket.
    pub name: String,
    /// Its price today, > 0.
    pub spot: f64,
    /// Its annualised volatility, > 0.
    pub vol: f64,
    /// Its continuous dividend yield; 0 unless given.
    #[serde(default)]
    pub dividend: f64,
    /// Its weight: in the basket's sum, the spread's `w1 S1 + w2 S2`, and
    /// as a scale of the worst-of and best-of's `w_a S_a` (`1 / spot` makes
    /// them options on performance); 1 unless given.
    #[serde(default = "unit_weight")]
    pub weight: f64,
}

fn unit_weight() -> f64 {
    1.0
}

/// The assets of a basket and their correlation: the `--assets` file,
/// `{"assets": [{"name", "spot", "vol", "dividend", "weight"}, ...],
/// "correlation": [[1, 0.5], [0.5, 1]]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assets {
    /// The assets, in the order of the correlation's rows.
    pub assets: Vec<BasketAsset>,
    /// Symmetric, unit-diagonal, positive semi-definite (or repaired with
    /// [`BasketJob::nearest_psd`]).
    pub correlation: Vec<Vec<f64>>,
}

impl Assets {
    /// Reads an assets file: a regular file of at most
    /// [`MAX_ASSETS_BYTES`] (a pipe or a device is refused before reading).
    /// The assets are checked with the job ([`BasketJob::validate`]).
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = crate::files::read_capped(path, MAX_ASSETS_BYTES).map_err(|message| {
            InputError::AssetsFile {
                path: path.to_path_buf(),
                message,
            }
        })?;
        Self::from_json(&text, path)
    }

    /// Parses an assets document; `origin` names it in errors, which say
    /// where in the document the problem is (`assets[1].vol`).
    pub fn from_json(text: &str, origin: &Path) -> Result<Self, InputError> {
        let malformed = |message: String| InputError::AssetsFile {
            path: origin.to_path_buf(),
            message,
        };
        crate::files::unique_keys(text).map_err(malformed)?;
        let document: serde_json::Value =
            serde_json::from_str(text).map_err(|err| malformed(err.to_string()))?;
        if !document.is_object() {
            return Err(malformed(
                "the document must be a JSON object with assets and correlation".into(),
            ));
        }
        if let Some(assets) = document.get("assets").and_then(|a| a.as_array())
            && let Some(i) = assets.iter().position(|asset| !asset.is_object())
        {
            return Err(malformed(format!(
                "at assets[{i}]: an asset must be a JSON object with name, spot and vol"
            )));
        }
        serde_path_to_error::deserialize(document)
            .map_err(|err| match err.path().to_string() {
                place if place == "." => err.into_inner().to_string(),
                place => format!("at {place}: {}", err.into_inner()),
            })
            .map_err(malformed)
    }

    /// Number of assets.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    /// Checks every asset and the correlation's shape and entries, naming
    /// the first bad field (semi-definiteness is the job's check, which may
    /// repair it).
    pub fn validate(&self) -> Result<(), InputError> {
        let d = self.assets.len();
        if !(1..=MAX_BASKET_ASSETS).contains(&d) {
            return Err(InputError::invalid(
                "assets",
                d,
                &format!("a basket takes 1 to {MAX_BASKET_ASSETS} assets"),
            ));
        }
        for (i, asset) in self.assets.iter().enumerate() {
            let field = |name: &str| format!("assets[{i}].{name}");
            if asset.name.trim().is_empty() {
                return Err(InputError::invalid(field("name"), &asset.name, "is empty"));
            }
            if let Some(j) = self.assets[..i].iter().position(|a| a.name == asset.name) {
                return Err(InputError::invalid(
                    field("name"),
                    &asset.name,
                    &format!("is also the name of assets[{j}]"),
                ));
            }
            within(&field("spot"), asset.spot, 1.0 / MAX_PRICE, MAX_PRICE)?;
            positive(&field("vol"), asset.vol)?;
            within(&field("vol"), asset.vol, 0.0, MAX_VOL)?;
            within(&field("dividend"), asset.dividend, -MAX_RATE, MAX_RATE)?;
            finite(&field("weight"), asset.weight)?;
            if asset.weight.abs() > MAX_PRICE {
                return Err(InputError::invalid(
                    field("weight"),
                    asset.weight,
                    "must be at most 1e100 in size",
                ));
            }
        }
        crate::portfolio::check_correlation(&self.correlation, d)
    }
}

/// What a basket option pays on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasketStyle {
    /// The weighted sum `sum w_a S_a(T)` against the strike.
    Basket,
    /// The smallest `w_a S_a(T)` (a rainbow option on the minimum).
    WorstOf,
    /// The largest `w_a S_a(T)` (a rainbow option on the maximum).
    BestOf,
    /// `w1 S1(T) + w2 S2(T)` against the strike, two assets: weights 1 and
    /// -1 at strike 0 are Margrabe's exchange option.
    Spread,
}

named_choices!(BasketStyle, "style", [
    BasketStyle::Basket => "basket",
    BasketStyle::WorstOf => "worst-of",
    BasketStyle::BestOf => "best-of",
    BasketStyle::Spread => "spread",
]);

/// A European option on several assets, priced by Monte Carlo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasketJob {
    /// The assets and their correlation.
    pub assets: Assets,
    /// What the option pays on.
    pub style: BasketStyle,
    /// Call (pays on the underlying value above the strike) or put.
    pub kind: OptionKind,
    /// Strike: finite, and >= 0 except for the spread.
    pub strike: f64,
    /// Years to expiry, > 0.
    pub maturity: f64,
    /// Continuously compounded risk-free rate.
    pub rate: f64,
    /// Time steps of each path (>= 1; the terminal law is exact at 1).
    pub steps: u32,
    /// Simulated paths.
    pub paths: u64,
    /// Selects the Philox key.
    pub seed: u64,
    /// Pair every path with its mirror image.
    pub antithetic: bool,
    /// Correct the basket's estimate with the geometric basket (the basket
    /// style with positive weights only).
    pub control_variate: bool,
    /// Plain Monte Carlo or randomized QMC.
    pub sampler: Sampler,
    /// Replicates of a randomized QMC run (>= 2).
    pub replicates: u32,
    /// Run to this precision by a single-asset job's two-stage rule
    /// ([`crate::stopping`]); `None` runs exactly `paths`.
    #[serde(default)]
    pub target: Option<crate::pricing::Target>,
    /// Estimate each asset's delta and vega in the same pass, pathwise
    /// (every style's payoff is continuous in the terminal prices).
    #[serde(default)]
    pub greeks: bool,
    /// Replace a correlation that is not positive semi-definite by the
    /// nearest one that is (Higham's alternating projections, as `fit`
    /// does), reporting the largest change; otherwise such a matrix is
    /// refused.
    pub nearest_psd: bool,
}

impl BasketJob {
    /// A one-year at-the-money call on `assets`, the CLI's defaults
    /// elsewhere: 10^6 plain Monte Carlo paths, one step, seed 42, rate 0.05.
    pub fn new(assets: Assets, style: BasketStyle) -> Self {
        Self {
            assets,
            style,
            kind: OptionKind::Call,
            strike: 100.0,
            maturity: 1.0,
            rate: 0.05,
            steps: 1,
            paths: 1_000_000,
            seed: 42,
            antithetic: false,
            control_variate: false,
            sampler: Sampler::Mc,
            replicates: crate::pricing::DEFAULT_REPLICATES,
            target: None,
            greeks: false,
            nearest_psd: false,
        }
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        self.plan().map(|_| ())
    }

    /// Samples: pairs when antithetic, else paths.
    pub fn samples(&self) -> u64 {
        if self.antithetic {
            self.paths / 2
        } else {
            self.paths
        }
    }

    /// Most samples the run may take: the target's `max_paths` (in samples),
    /// or all of them.
    pub fn max_samples(&self) -> u64 {
        let paths = self.target.map_or(self.paths, |t| t.max_paths);
        if self.antithetic { paths / 2 } else { paths }
    }

    /// The estimators' independent groups: the replicates of a randomized
    /// QMC run, 1 for plain Monte Carlo.
    pub fn groups(&self) -> u32 {
        match self.sampler {
            Sampler::Mc => 1,
            Sampler::Rqmc => self.replicates,
        }
    }

    /// Draws a path consumes: steps times assets.
    pub fn draws(&self) -> u64 {
        u64::from(self.steps) * self.assets.len() as u64
    }

    /// `e^{-r T}`.
    pub fn discount(&self) -> f64 {
        (-self.rate * self.maturity).exp()
    }

    /// The method in words, e.g. `mc + antithetic + control variate
    /// (geometric basket)`.
    pub fn method(&self) -> String {
        let mut method = match self.sampler {
            Sampler::Mc => "mc".to_string(),
            Sampler::Rqmc => format!(
                "rqmc (Owen-scrambled Sobol, Brownian bridge per asset, {} replicates)",
                self.replicates
            ),
        };
        if self.antithetic {
            method.push_str(" + antithetic");
        }
        if self.control_variate {
            method.push_str(" + control variate (geometric basket)");
        }
        if self.greeks {
            method.push_str(" + pathwise delta and vega per asset");
        }
        method
    }

    /// The product in words, e.g. `basket call on 3 assets (strike 100, 1
    /// step)`.
    pub fn describe(&self) -> String {
        let d = self.assets.len();
        format!(
            "{} {} on {d} asset{} (strike {}, {} step{})",
            self.style,
            self.kind,
            if d == 1 { "" } else { "s" },
            self.strike,
            self.steps,
            if self.steps == 1 { "" } else { "s" }
        )
    }

    /// The error of a `quantity` that came out non-finite, naming the job.
    pub(crate) fn overflow(&self, quantity: &str, value: f64) -> InputError {
        InputError::Overflow {
            quantity: quantity.to_string(),
            value: format!("{value:e}"),
            inputs: format!(
                "{}, rate {}, maturity {}",
                self.describe(),
                self.rate,
                self.maturity
            ),
        }
    }

    /// The job compiled once: the checks of every field, the correlation's
    /// factor (repaired when asked) and each asset's per-step constants.
    pub fn plan(&self) -> Result<BasketPlan, InputError> {
        self.assets.validate()?;
        let d = self.assets.len();
        within("rate", self.rate, -MAX_RATE, MAX_RATE)?;
        positive("maturity", self.maturity)?;
        within("maturity", self.maturity, 0.0, 1e4)?;
        finite("strike", self.strike)?;
        if self.style != BasketStyle::Spread && self.strike < 0.0 {
            return Err(InputError::invalid(
                "strike",
                self.strike,
                &format!(
                    "must be at least 0 for a {} option (only a spread's may be negative)",
                    self.style
                ),
            ));
        }
        if self.steps == 0 {
            return Err(InputError::invalid(
                "steps",
                self.steps,
                "a path takes at least 1 time step",
            ));
        }
        if self.draws() > crate::pricing::MAX_PATH_DRAWS {
            return Err(InputError::invalid(
                "steps",
                self.steps,
                &format!(
                    "times the {d} assets gives {} draws a path; at most 2^20 are supported, \
                     so that a path's buffers stay bounded",
                    self.draws()
                ),
            ));
        }
        let weights: Vec<f64> = self.assets.assets.iter().map(|a| a.weight).collect();
        match self.style {
            BasketStyle::Spread if d != 2 => {
                return Err(InputError::invalid(
                    "assets",
                    d,
                    "a spread takes exactly 2 assets (it pays on w1 S1 + w2 S2 - K)",
                ));
            }
            BasketStyle::Basket if weights.iter().all(|&w| w == 0.0) => {
                return Err(InputError::invalid(
                    "weights",
                    format!("{weights:?}"),
                    "are all 0: the basket is worth nothing",
                ));
            }
            BasketStyle::WorstOf | BasketStyle::BestOf => {
                if let Some(i) = weights.iter().position(|&w| w <= 0.0) {
                    return Err(InputError::invalid(
                        format!("assets[{i}].weight"),
                        weights[i],
                        &format!(
                            "must be greater than 0 for a {}: it scales the asset's price",
                            self.style
                        ),
                    ));
                }
            }
            _ => {}
        }
        if self.style == BasketStyle::Spread && weights.contains(&0.0) {
            let i = weights.iter().position(|&w| w == 0.0).unwrap_or(0);
            return Err(InputError::invalid(
                format!("assets[{i}].weight"),
                0.0,
                "a spread's weights must both be non-zero (with one 0 it is a vanilla option)",
            ));
        }
        if self.style == BasketStyle::Basket && weights.iter().sum::<f64>() == 0.0 {
            return Err(InputError::invalid(
                "weights",
                format!("{weights:?}"),
                "sum to 0: give a basket whose weights do not cancel (a long-short pair is a \
                 spread)",
            ));
        }
        if self.control_variate
            && (self.style != BasketStyle::Basket || weights.iter().any(|&w| w <= 0.0))
        {
            return Err(InputError::invalid(
                "control-variate",
                true,
                &format!(
                    "the control variate is the geometric basket, which needs the basket style \
                     with positive weights (this is a {}{})",
                    self.style,
                    if self.style == BasketStyle::Basket {
                        " with a weight <= 0"
                    } else {
                        ""
                    }
                ),
            ));
        }
        self.validate_sampling()?;
        let (lower, repaired) = self.correlation_factor()?;
        BasketPlan::new(self, &lower, repaired)
    }

    /// The correlation's Cholesky factor, of the nearest positive
    /// semi-definite correlation when the job allows the repair (with the
    /// largest change of an entry).
    fn correlation_factor(&self) -> Result<(Vec<Vec<f64>>, Option<f64>), InputError> {
        let correlation = &self.assets.correlation;
        match crate::portfolio::cholesky(correlation) {
            Ok(lower) => Ok((lower, None)),
            Err(_) if self.nearest_psd => {
                let (nearest, change) = crate::fit::nearest_with_change(correlation);
                Ok((crate::portfolio::cholesky(&nearest)?, Some(change)))
            }
            Err(problem) => Err(InputError::Correlation(format!(
                "{} (smallest eigenvalue {:.3e}); pass --nearest-psd (BasketJob::nearest_psd) \
                 to use the nearest correlation matrix that is",
                match problem {
                    InputError::Correlation(text) => text,
                    other => other.to_string(),
                },
                crate::fit::smallest_eigenvalue(correlation)
            ))),
        }
    }

    /// Checks the paths, the sampler and its replicates, and the target.
    fn validate_sampling(&self) -> Result<(), InputError> {
        if let Some(target) = self.target {
            crate::pricing::validate_target(&target, self.paths)?;
        }
        if self.paths > MAX_PATHS {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "exceeds the largest supported count, 2^52",
            ));
        }
        if self.antithetic && !self.paths.is_multiple_of(2) {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                "must be even with antithetic sampling (paths are simulated in pairs)",
            ));
        }
        let least = if self.control_variate { 3 } else { 2 };
        if self.samples() < least {
            return Err(InputError::invalid(
                "paths",
                self.paths,
                &format!(
                    "gives fewer than {least} samples{}: a standard error needs {least}",
                    if self.antithetic { " (pairs)" } else { "" }
                ),
            ));
        }
        if self.sampler == Sampler::Rqmc {
            if !(2..=MAX_REPLICATES).contains(&self.replicates) {
                return Err(InputError::invalid(
                    "replicates",
                    self.replicates,
                    &format!("must be from 2 to {MAX_REPLICATES}"),
                ));
            }
            if !self.samples().is_multiple_of(u64::from(self.replicates)) {
                return Err(InputError::invalid(
                    "paths",
                    self.paths,
                    &format!(
                        "must split evenly into {} replicates with the rqmc sampler",
                        self.replicates
                    ),
                ));
            }
            if self.max_samples() / u64::from(self.replicates) > MAX_POINTS {
                return Err(InputError::invalid(
                    if self.target.is_some() {
                        "max-paths"
                    } else {
                        "paths"
                    },
                    self.target.map_or(self.paths, |t| t.max_paths),
                    "gives more than 2^32 points per replicate, the Sobol sequence's length",
                ));
            }
            if self.draws() > u64::from(MAX_DIMENSIONS) {
                return Err(InputError::invalid(
                    "steps",
                    self.steps,
                    &format!(
                        "times the {} assets exceeds the {MAX_DIMENSIONS} Sobol dimensions of \
                         the rqmc sampler (one per asset and step)",
                        self.assets.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The closed form where the product has one: Margrabe's exchange
    /// option (a spread at strike 0), Stulz's two-asset worst-of and
    /// best-of; `None` for the arithmetic basket and other spreads.
    pub fn closed_form(&self) -> Option<f64> {
        let assets = &self.assets.assets;
        let (t, r) = (self.maturity, self.rate);
        match (self.style, assets.as_slice()) {
            (BasketStyle::Spread, [a, b]) if self.strike == 0.0 => {
                let rho = *self.assets.correlation.get(1)?.first()?;
                // Exchange the positive leg for the negative one.
                let (long, short) = match (a.weight > 0.0, b.weight > 0.0) {
                    (true, false) => (a, b),
                    (false, true) => (b, a),
                    // Both of one sign: the payoff is one-sided at strike 0.
                    _ => return None,
                };
                let value = margrabe(
                    Leg::of(long, long.weight),
                    Leg::of(short, -short.weight),
                    rho,
                    t,
                );
                Some(match self.kind {
                    OptionKind::Call => value,
                    // The put exchanges the other way.
                    OptionKind::Put => margrabe(
                        Leg::of(short, -short.weight),
                        Leg::of(long, long.weight),
                        rho,
                        t,
                    ),
                })
            }
            (BasketStyle::WorstOf | BasketStyle::BestOf, [a, b]) => {
                let rho = *self.assets.correlation.get(1)?.first()?;
                Some(stulz(
                    self.style == BasketStyle::BestOf,
                    self.kind,
                    [Leg::of(a, a.weight), Leg::of(b, b.weight)],
                    rho,
                    self.strike,
                    r,
                    t,
                ))
            }
            (BasketStyle::Basket, [a]) if a.weight > 0.0 => {
                let market = Market {
                    spot: a.weight * a.spot,
                    rate: r,
                    dividend: a.dividend,
                    vol: a.vol,
                };
                Some(crate::closed_form::black_scholes_precise(
                    self.kind,
                    &market,
                    self.strike,
                    t,
                ))
            }
            _ => None,
        }
    }

    /// The geometric basket's price (the arithmetic basket's control, in
    /// the same currency units), where the weights are all positive.
    pub fn geometric_basket(&self) -> Option<f64> {
        let (mean, variance) = self.geometric_log_moments()?;
        Some(crate::closed_form::lognormal_option_by(
            normal_cdf,
            self.kind,
            mean,
            variance,
            self.strike,
            self.discount(),
        ))
    }

    /// The mean and variance of the log geometric basket at expiry:
    /// `ln G = ln B0 + sum v_a ln(S_a / S_a(0))` with `B0 = sum w_a S_a(0)`
    /// and value weights `v_a = w_a S_a(0) / B0`.
    fn geometric_log_moments(&self) -> Option<(f64, f64)> {
        let assets = &self.assets.assets;
        if self.style != BasketStyle::Basket || assets.iter().any(|a| a.weight <= 0.0) {
            return None;
        }
        let today: f64 = assets.iter().map(|a| a.weight * a.spot).sum();
        let t = self.maturity;
        let mut mean = today.ln();
        let mut variance = 0.0;
        for (i, a) in assets.iter().enumerate() {
            let g = a.weight * a.spot / today;
            mean += g * (self.rate - a.dividend - 0.5 * a.vol * a.vol) * t;
            for (j, b) in assets.iter().enumerate() {
                let h = b.weight * b.spot / today;
                variance += g * h * self.assets.correlation[i][j] * a.vol * b.vol * t;
            }
        }
        Some((mean, variance.max(0.0)))
    }
}

/// One leg of a two-asset formula: its scaled spot `w S`, dividend yield
/// and volatility.
#[derive(Debug, Clone, Copy)]
struct Leg {
    spot: f64,
    dividend: f64,
    vol: f64,
}

impl Leg {
    fn of(asset: &BasketAsset, scale: f64) -> Self {
        Self {
            spot: scale * asset.spot,
            dividend: asset.dividend,
            vol: asset.vol,
        }
    }

    /// `S e^{-q T}`, the leg's discounted forward.
    fn forward_value(&self, t: f64) -> f64 {
        self.spot * (-self.dividend * t).exp()
    }
}

/// Margrabe's price of the right to exchange `short` for `long` at `t`:
/// Black-Scholes with `long` as the underlying, `short`'s value as the
/// strike and its dividend as the rate, at the volatility of the ratio.
fn margrabe(long: Leg, short: Leg, rho: f64, t: f64) -> f64 {
    let variance = long.vol * long.vol + short.vol * short.vol - 2.0 * rho * long.vol * short.vol;
    if variance <= 1e-24 {
        // The ratio is deterministic: the exchange is worth its forward.
        return (long.forward_value(t) - short.forward_value(t)).max(0.0);
    }
    crate::closed_form::black_scholes_precise(
        OptionKind::Call,
        &Market {
            spot: long.spot,
            rate: short.dividend,
            dividend: long.dividend,
            vol: variance.sqrt(),
        },
        short.spot,
        t,
    )
}

/// Stulz's (1982) price of a call or put on the minimum (`best` false) or
/// the maximum of two log-normal assets, in Haug's form ("The Complete
/// Guide to Option Pricing Formulas", 2nd ed., 4.16); a strike of 0 is the
/// minimum's or maximum's forward value.
fn stulz(
    best: bool,
    kind: OptionKind,
    legs: [Leg; 2],
    rho: f64,
    strike: f64,
    r: f64,
    t: f64,
) -> f64 {
    let [a, b] = legs;
    let root_t = t.sqrt();
    let sigma = (a.vol * a.vol + b.vol * b.vol - 2.0 * rho * a.vol * b.vol)
        .max(0.0)
        .sqrt();
    let (fa, fb) = (a.forward_value(t), b.forward_value(t));
    let discount = (-r * t).exp();
    // The option at strike 0: the discounted forward of the minimum or
    // maximum, `e^{-rT} E[min/max]`.
    let at_zero = if sigma * root_t < 1e-12 {
        if best { fa.max(fb) } else { fa.min(fb) }
    } else {
        let d = ((a.spot / b.spot).ln() + (b.dividend - a.dividend + 0.5 * sigma * sigma) * t)
            / (sigma * root_t);
        if best {
            fa * normal_cdf(d) + fb * normal_cdf(-(d - sigma * root_t))
        } else {
            fa - fa * normal_cdf(d) + fb * normal_cdf(d - sigma * root_t)
        }
    };
    let call = if strike == 0.0 {
        at_zero
    } else if sigma * root_t < 1e-12 {
        // Perfectly co-moving legs of one volatility: the extreme is always
        // the same leg.
        let leg = if (fa > fb) == best { a } else { b };
        crate::closed_form::black_scholes_precise(
            OptionKind::Call,
            &Market {
                spot: leg.spot,
                rate: r,
                dividend: leg.dividend,
                vol: leg.vol,
            },
            strike,
            t,
        )
    } else {
        let d = ((a.spot / b.spot).ln() + (b.dividend - a.dividend + 0.5 * sigma * sigma) * t)
            / (sigma * root_t);
        let y1 = ((a.spot / strike).ln() + (r - a.dividend + 0.5 * a.vol * a.vol) * t)
            / (a.vol * root_t);
        let y2 = ((b.spot / strike).ln() + (r - b.dividend + 0.5 * b.vol * b.vol) * t)
            / (b.vol * root_t);
        let rho1 = (a.vol - rho * b.vol) / sigma;
        let rho2 = (b.vol - rho * a.vol) / sigma;
        let k = strike * discount;
        if best {
            fa * bivariate_normal_cdf(y1, d, rho1)
                + fb * bivariate_normal_cdf(y2, -d + sigma * root_t, rho2)
                - k * (1.0 - bivariate_normal_cdf(-y1 + a.vol * root_t, -y2 + b.vol * root_t, rho))
        } else {
            fa * bivariate_normal_cdf(y1, -d, -rho1)
                + fb * bivariate_normal_cdf(y2, d - sigma * root_t, -rho2)
                - k * bivariate_normal_cdf(y1 - a.vol * root_t, y2 - b.vol * root_t, rho)
        }
    };
    match kind {
        OptionKind::Call => call,
        // Parity on the extreme: put - call = K e^{-rT} - (option at 0).
        OptionKind::Put => strike * discount - at_zero + call,
    }
}

/// `P(X <= a, Y <= b)` for standard normals of correlation `rho`:
/// `integral of phi(x) N((b - rho x) / sqrt(1 - rho^2))` over `x <= a`, by
/// adaptive Gauss-Kronrod to 1e-15, with the degenerate `|rho| = 1` limits.
pub fn bivariate_normal_cdf(a: f64, b: f64, rho: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        return 0.0;
    }
    if rho >= 1.0 - 1e-15 {
        return normal_cdf(a.min(b));
    }
    if rho <= -1.0 + 1e-15 {
        return (normal_cdf(a) + normal_cdf(b) - 1.0).max(0.0);
    }
    let scale = (1.0 - rho * rho).sqrt();
    let density = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // The integrand is below 1e-300 beyond 38 standard deviations.
    let low = -38.0;
    let high = a.min(38.0);
    if high <= low {
        return 0.0;
    }
    // Split where the inner distribution function steps, so the adaptive
    // rule sees its edge from the start.
    let edge = if rho != 0.0 { b / rho } else { f64::NAN };
    let integrand = |x: f64| density(x) * normal_cdf((b - rho * x) / scale);
    let integrate = |from: f64, to: f64| {
        crate::models::quadrature_integrate(integrand, from, to, 1e-16, 1e-15, 2000)
    };
    let value = if edge.is_finite() && edge > low && edge < high {
        integrate(low, edge) + integrate(edge, high)
    } else {
        integrate(low, high)
    };
    value.clamp(0.0, 1.0)
}

/// What a tier measures of one group of a basket (or one chunk of it):
/// the co-moments of the payoff and its control, and, with Greeks, the
/// moments of each asset's delta estimator then each one's vega estimator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BasketFigures {
    /// Payoff and control.
    pub moments: crate::stats::CoMoments,
    /// `2 d` estimators' moments with Greeks, else empty.
    pub greeks: Vec<crate::stats::Moments>,
}

impl BasketFigures {
    /// Both samples together.
    pub fn merge(self, other: Self) -> Self {
        let greeks = if self.greeks.is_empty() {
            other.greeks
        } else if other.greeks.is_empty() {
            self.greeks
        } else {
            self.greeks
                .into_iter()
                .zip(other.greeks)
                .map(|(a, b)| a.merge(b))
                .collect()
        };
        Self {
            moments: self.moments.merge(other.moments),
            greeks,
        }
    }
}

/// One asset's delta and vega.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetGreeks {
    /// The asset's name.
    pub asset: String,
    /// `dV/dS_a(0)`, per unit of the asset's spot.
    pub delta: crate::pricing::Greek,
    /// `dV/dvol_a`, per 1.00 of the asset's volatility.
    pub vega: crate::pricing::Greek,
}

/// A basket job compiled once: what every tier's walk reads.
#[derive(Debug, Clone, PartialEq)]
pub struct BasketPlan {
    /// Assets, `d`.
    pub assets: usize,
    /// Time steps a path takes.
    pub steps: u32,
    /// What the option pays on.
    pub style: BasketStyle,
    /// Whether it is a put.
    pub put: bool,
    /// The strike.
    pub strike: f64,
    /// Mirror pairs.
    pub antithetic: bool,
    /// Whether the samples carry the geometric basket's payoff as control.
    pub control: bool,
    /// Each asset's log drift a step, `(r - q - vol^2/2) dt`.
    pub drift: Vec<f64>,
    /// The correlated diffusion a step, row-major `d x d` lower triangle:
    /// `vol_a sqrt(dt) L[a][b]`.
    pub diffusion: Vec<f64>,
    /// `w_a S_a(0)`: the weighted spots the payoff scales by `e^{x_a}`.
    pub scaled_spots: Vec<f64>,
    /// The geometric control's value weights `w_a S_a(0) / B0` (empty
    /// without one).
    pub geometric_weights: Vec<f64>,
    /// `ln B0`, the control's log level today.
    pub geometric_log_start: f64,
    /// The control's expected undiscounted payoff.
    pub control_mean: f64,
    /// `e^{-rT}`.
    pub discount: f64,
    /// Samples of each group.
    pub samples: u64,
    /// Groups (QMC replicates, or 1).
    pub groups: u32,
    /// The largest change of a correlation entry when the matrix was
    /// repaired to the nearest positive semi-definite one.
    pub correlation_repaired: Option<f64>,
    /// Whether the samples carry each asset's delta and vega estimators.
    pub greeks: bool,
    /// Each asset's spot today.
    pub spots: Vec<f64>,
    /// Each asset's volatility.
    pub vols: Vec<f64>,
    /// Each asset's log drift to expiry, `(r - q - vol^2/2) T`.
    pub drift_to_expiry: Vec<f64>,
    /// Years to expiry.
    pub maturity: f64,
    /// The job's seed and sampler, for the draws.
    pub seed: u64,
    /// Plain Monte Carlo or randomized QMC.
    pub sampler: Sampler,
}

impl BasketPlan {
    fn new(job: &BasketJob, lower: &[Vec<f64>], repaired: Option<f64>) -> Result<Self, InputError> {
        let d = job.assets.len();
        let dt = job.maturity / f64::from(job.steps);
        let assets = &job.assets.assets;
        let drift: Vec<f64> = assets
            .iter()
            .map(|a| (job.rate - a.dividend - 0.5 * a.vol * a.vol) * dt)
            .collect();
        let mut diffusion = vec![0.0; d * d];
        for (i, a) in assets.iter().enumerate() {
            for j in 0..=i {
                diffusion[i * d + j] = a.vol * dt.sqrt() * lower[i][j];
            }
        }
        let scaled_spots: Vec<f64> = assets.iter().map(|a| a.weight * a.spot).collect();
        let (geometric_weights, geometric_log_start, control_mean) = if job.control_variate {
            let today: f64 = scaled_spots.iter().sum();
            let g: Vec<f64> = scaled_spots.iter().map(|s| s / today).collect();
            let start = today.ln();
            let price = job.geometric_basket().unwrap_or(f64::NAN);
            (g, start, price / job.discount())
        } else {
            (Vec::new(), 0.0, 0.0)
        };
        let discount = job.discount();
        for (quantity, value) in [
            ("discount factor", discount),
            ("control mean", control_mean),
            ("geometric basket's start", geometric_log_start),
        ] {
            if !value.is_finite() || (quantity == "discount factor" && value == 0.0) {
                return Err(job.overflow(quantity, value));
            }
        }
        if let Some(i) = drift.iter().chain(&diffusion).position(|v| !v.is_finite()) {
            return Err(job.overflow("drift or diffusion per step", i as f64));
        }
        Ok(Self {
            assets: d,
            steps: job.steps,
            style: job.style,
            put: job.kind == OptionKind::Put,
            strike: job.strike,
            antithetic: job.antithetic,
            control: job.control_variate,
            drift,
            diffusion,
            scaled_spots,
            geometric_weights,
            geometric_log_start,
            control_mean,
            discount,
            samples: job.samples() / u64::from(job.groups()),
            groups: job.groups(),
            correlation_repaired: repaired,
            greeks: job.greeks,
            spots: assets.iter().map(|a| a.spot).collect(),
            vols: assets.iter().map(|a| a.vol).collect(),
            drift_to_expiry: assets
                .iter()
                .map(|a| (job.rate - a.dividend - 0.5 * a.vol * a.vol) * job.maturity)
                .collect(),
            maturity: job.maturity,
            seed: job.seed,
            sampler: job.sampler,
        })
    }

    /// One step of every asset's log return `x` on the step's normals `z`
    /// (one per asset), mirrored (`-z`) when `mirror`: the one definition
    /// the scalar oracle and the SIMD kernels compile.
    #[inline(always)]
    pub fn advance<L: Lane>(&self, z: &[L], x: &mut [L], mirror: bool) {
        let d = self.assets;
        for (a, x) in x.iter_mut().enumerate().take(d) {
            let row = &self.diffusion[a * d..a * d + a + 1];
            let mut shock = L::splat(0.0);
            for (&c, &z) in row.iter().zip(z) {
                shock += L::splat(c) * z;
            }
            *x += if mirror {
                L::splat(self.drift[a]) - shock
            } else {
                L::splat(self.drift[a]) + shock
            };
        }
    }

    /// The undiscounted payoff of a path ending at log returns `x`, and
    /// its control (the geometric basket's payoff, 0 without one).
    #[inline(always)]
    pub fn payoff<L: LaneMath>(&self, x: &[L]) -> (L, L) {
        let value = |a: usize| L::splat(self.scaled_spots[a]) * x[a].exp();
        let mut underlying = value(0);
        for a in 1..self.assets {
            underlying = match self.style {
                BasketStyle::Basket | BasketStyle::Spread => underlying + value(a),
                BasketStyle::WorstOf => underlying.min(value(a)),
                BasketStyle::BestOf => underlying.max(value(a)),
            };
        }
        let strike = L::splat(self.strike);
        let pay = |level: L| {
            if self.put {
                (strike - level).positive_part()
            } else {
                (level - strike).positive_part()
            }
        };
        let control = if self.control {
            let mut log = L::splat(self.geometric_log_start);
            for (a, &g) in self.geometric_weights.iter().enumerate() {
                log += L::splat(g) * x[a];
            }
            pay(log.exp())
        } else {
            L::splat(0.0)
        };
        (pay(underlying), control)
    }

    /// Estimators of each asset's delta and vega (undiscounted), pathwise,
    /// of a path ending at log returns `x`: `out[a]` is `dPayoff/dS_a(0)`,
    /// `out[d + a]` is `dPayoff/dvol_a`, with `S_a(T) = S_a(0) e^{mu_a T +
    /// vol_a W_a}` so that `dS_a/dS_a(0) = S_a / S_a(0)` and `dS_a/dvol_a =
    /// S_a (W_a - vol_a T)`, and the payoff's derivative in `S_a` its
    /// in-the-money indicator times the weight (for the worst-of and
    /// best-of, only the extreme asset's). Added to `out` (a mirrored
    /// pair's two paths add up; the caller halves them).
    #[inline(always)]
    pub fn add_sensitivities<L: LaneMath>(&self, x: &[L], out: &mut [L]) {
        let d = self.assets;
        let value = |a: usize| L::splat(self.scaled_spots[a]) * x[a].exp();
        let mut underlying = value(0);
        for a in 1..d {
            underlying = match self.style {
                BasketStyle::Basket | BasketStyle::Spread => underlying + value(a),
                BasketStyle::WorstOf => underlying.min(value(a)),
                BasketStyle::BestOf => underlying.max(value(a)),
            };
        }
        let strike = L::splat(self.strike);
        // d(payoff)/d(underlying): 1 in the money for a call, -1 for a put.
        let slope = if self.put {
            -(strike - underlying).indicator()
        } else {
            (underlying - strike).indicator()
        };
        let one = L::splat(1.0);
        for a in 0..d {
            let v = value(a);
            // w_a S_a(T) where the underlying moves with asset a.
            let exposure = match self.style {
                BasketStyle::Basket | BasketStyle::Spread => v,
                BasketStyle::WorstOf => (one - (v - underlying).indicator()) * v,
                BasketStyle::BestOf => (one - (underlying - v).indicator()) * v,
            };
            let moved = slope * exposure;
            out[a] += moved * L::splat(1.0 / self.spots[a]);
            let brownian =
                (x[a] - L::splat(self.drift_to_expiry[a])) * L::splat(1.0 / self.vols[a]);
            out[d + a] += moved * (brownian - L::splat(self.vols[a] * self.maturity));
        }
    }

    /// A sample's delta and vega estimators into `out` (zeroed first): its
    /// path's, or a mirrored pair's average.
    #[inline(always)]
    pub fn sample_sensitivities<L: LaneMath>(&self, up: &[L], down: &[L], out: &mut [L]) {
        out.fill(L::splat(0.0));
        self.add_sensitivities(up, out);
        if self.antithetic {
            self.add_sensitivities(down, out);
            for value in out.iter_mut() {
                *value = *value * L::splat(0.5);
            }
        }
    }

    /// A sample's payoff and control from its path (and its mirror's, for
    /// an antithetic pair: their average).
    #[inline(always)]
    pub fn sample_value<L: LaneMath>(&self, up: &[L], down: &[L]) -> (L, L) {
        let (y, c) = self.payoff(up);
        if self.antithetic {
            let (y2, c2) = self.payoff(down);
            let half = L::splat(0.5);
            ((y + y2) * half, (c + c2) * half)
        } else {
            (y, c)
        }
    }
}

/// A priced basket option: the pricing result (price, standard error,
/// interval, the closed form where one exists, provenance) and what the
/// basket was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasketResult {
    /// The estimate and its provenance, as for one asset; `closed_form` is
    /// Margrabe's or Stulz's price where the product has one.
    #[serde(flatten)]
    pub pricing: crate::pricing::PricingResult,
    /// What the option paid on.
    pub style: BasketStyle,
    /// The assets' names, in order.
    pub assets: Vec<String>,
    /// The geometric basket's closed-form price (the basket style with
    /// positive weights): the control variate's mean, and a bound below the
    /// arithmetic basket's call.
    pub geometric_basket: Option<f64>,
    /// The largest change of a correlation entry when the matrix was
    /// repaired to the nearest positive semi-definite one (`nearest_psd`).
    pub correlation_repaired: Option<f64>,
    /// Each asset's delta and vega with their standard errors (pathwise),
    /// when asked for. (The flattened single-asset `greeks` stays null: a
    /// basket has no one delta.)
    pub asset_greeks: Option<Vec<AssetGreeks>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bivariate_normal_meets_its_closed_forms() {
        // M(0, 0; rho) = 1/4 + asin(rho) / (2 pi).
        for rho in [-0.999, -0.9, -0.5, 0.0, 0.3, 0.7, 0.95, 0.9999] {
            let exact = 0.25 + f64::asin(rho) / (2.0 * std::f64::consts::PI);
            let got = bivariate_normal_cdf(0.0, 0.0, rho);
            assert!((got - exact).abs() < 1e-13, "rho {rho}: {got} vs {exact}");
        }
        // Independence factorises; perfect correlation is the minimum.
        let (a, b) = (0.7, -1.3);
        let product = normal_cdf(a) * normal_cdf(b);
        assert!((bivariate_normal_cdf(a, b, 0.0) - product).abs() < 1e-14);
        assert_eq!(bivariate_normal_cdf(a, b, 1.0), normal_cdf(b));
        assert!(bivariate_normal_cdf(a, b, -1.0).abs() < 1e-15);
        // Symmetry in the arguments.
        let (x, y) = (
            bivariate_normal_cdf(1.1, -0.4, 0.6),
            bivariate_normal_cdf(-0.4, 1.1, 0.6),
        );
        assert!((x - y).abs() < 1e-14, "{x} {y}");
    }

    fn two(weights: [f64; 2], rho: f64) -> Assets {
        Assets {
            assets: vec![
                BasketAsset {
                    name: "a".into(),
                    spot: 100.0,
                    vol: 0.2,
                    dividend: 0.01,
                    weight: weights[0],
                },
                BasketAsset {
                    name: "b".into(),
                    spot: 95.0,
                    vol: 0.3,
                    dividend: 0.03,
                    weight: weights[1],
                },
            ],
            correlation: vec![vec![1.0, rho], vec![rho, 1.0]],
        }
    }

    #[test]
    fn worst_and_best_of_add_up_to_the_two_vanillas() {
        // min + max = S1 + S2, so call(min) + call(max) = call(S1) + call(S2).
        for rho in [-0.6, 0.0, 0.5, 0.9] {
            let mut job = BasketJob::new(two([1.0, 1.0], rho), BasketStyle::WorstOf);
            job.strike = 98.0;
            for kind in [OptionKind::Call, OptionKind::Put] {
                job.kind = kind;
                job.style = BasketStyle::WorstOf;
                let worst = job.closed_form().unwrap();
                job.style = BasketStyle::BestOf;
                let best = job.closed_form().unwrap();
                let vanilla = |a: &BasketAsset| {
                    crate::closed_form::black_scholes_precise(
                        kind,
                        &Market {
                            spot: a.spot,
                            rate: job.rate,
                            dividend: a.dividend,
                            vol: a.vol,
                        },
                        job.strike,
                        job.maturity,
                    )
                };
                let sum = vanilla(&job.assets.assets[0]) + vanilla(&job.assets.assets[1]);
                assert!(
                    (worst + best - sum).abs() < 1e-10,
                    "rho {rho} {kind}: {worst} + {best} vs {sum}"
                );
            }
        }
    }

    #[test]
    fn margrabe_put_is_the_exchange_the_other_way() {
        let mut job = BasketJob::new(two([1.0, -1.0], 0.4), BasketStyle::Spread);
        job.strike = 0.0;
        let call = job.closed_form().unwrap();
        job.kind = OptionKind::Put;
        let put = job.closed_form().unwrap();
        // call - put = the forward value of S1 - S2.
        let forward = 100.0 * (-0.01f64).exp() - 95.0 * (-0.03f64).exp();
        assert!(
            (call - put - forward).abs() < 1e-10,
            "{call} {put} {forward}"
        );
    }

    #[test]
    fn bad_assets_are_refused_naming_the_field() {
        type Change = Box<dyn Fn(&mut BasketJob)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|j| j.assets.assets[1].vol = -0.1), "assets[1].vol"),
            (
                Box::new(|j| j.assets.assets[0].spot = f64::NAN),
                "assets[0].spot",
            ),
            (
                Box::new(|j| j.assets.assets[1].name = "a".into()),
                "assets[1].name",
            ),
            (
                Box::new(|j| j.assets.correlation[0][1] = 0.3),
                "not symmetric",
            ),
            (
                Box::new(|j| j.assets.correlation.pop().map(|_| ()).unwrap_or(())),
                "correlation (rows)",
            ),
            (
                Box::new(|j| j.assets.correlation[1][1] = 0.9),
                "unit-diagonal",
            ),
            (
                Box::new(|j| {
                    j.assets.assets[1].weight = -1.0;
                    j.style = BasketStyle::Basket;
                }),
                "sum to 0",
            ),
            (
                Box::new(|j| j.style = BasketStyle::Spread),
                "assets[1].weight",
            ),
            (Box::new(|j| j.control_variate = true), "control-variate"),
            (Box::new(|j| j.strike = -1.0), "strike"),
            (Box::new(|j| j.steps = 0), "steps"),
            (Box::new(|j| j.paths = 1), "paths"),
        ];
        for (change, field) in cases {
            let mut job = BasketJob::new(two([1.0, 1.0], 0.5), BasketStyle::WorstOf);
            if field == "assets[1].weight" {
                job.assets.assets[1].weight = 0.0;
            }
            change(&mut job);
            let err = job.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn a_correlation_that_is_not_semi_definite_is_refused_or_repaired() {
        let mut assets = two([1.0, 1.0], 0.9);
        assets.assets.push(BasketAsset {
            name: "c".into(),
            spot: 50.0,
            vol: 0.25,
            dividend: 0.0,
            weight: 1.0,
        });
        assets.correlation = vec![
            vec![1.0, 0.9, -0.9],
            vec![0.9, 1.0, 0.9],
            vec![-0.9, 0.9, 1.0],
        ];
        let mut job = BasketJob::new(assets, BasketStyle::Basket);
        let err = job.validate().unwrap_err().to_string();
        assert!(err.contains("nearest-psd"), "{err}");
        job.nearest_psd = true;
        let plan = job.plan().unwrap();
        let change = plan.correlation_repaired.unwrap();
        assert!(change > 0.1 && change < 1.0, "{change}");
    }

    #[test]
    fn one_asset_basket_is_black_scholes_and_its_own_geometric_basket() {
        let mut assets = two([1.0, 1.0], 0.0);
        assets.assets.truncate(1);
        assets.correlation = vec![vec![1.0]];
        let mut job = BasketJob::new(assets, BasketStyle::Basket);
        job.strike = 104.0;
        let market = Market {
            spot: 100.0,
            rate: 0.05,
            dividend: 0.01,
            vol: 0.2,
        };
        let bs = crate::closed_form::black_scholes_precise(OptionKind::Call, &market, 104.0, 1.0);
        assert!((job.closed_form().unwrap() - bs).abs() < 1e-12);
        assert!((job.geometric_basket().unwrap() - bs).abs() < 1e-12);
    }
}
