//! Option positions of a portfolio, revalued by Black-Scholes in every
//! scenario: the book's contract, its compiled form, the revaluation written
//! once over [`LaneMath`] (the scalar oracle runs it on `f64`, the SIMD and
//! rayon tiers on eight lanes; `shaders/var.wgsl` is its f32 twin), and the
//! delta and delta-gamma shortcuts reported beside the full revaluation.
//!
//! A scenario moves each asset's price to `price * (1 + X)`, with `X` the
//! scenario's simple return over the horizon (the one the linear positions
//! use), and shortens each option's maturity by the horizon,
//! `horizon_days / 252` years. A price at or below zero (a return at or below
//! -100%, which a normal return allows) is floored at a tiny positive price:
//! a call is then worth nothing and a put its discounted strike. An option
//! whose maturity falls inside the horizon is worth its payoff at the
//! horizon price.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::lane::SQRT_TWO_PI;
pub use crate::lane::{HART_CUTOFF, HART_P, HART_Q, HART_SPLIT, LaneMath, normal_cdf};
use crate::market::OptionKind;
use crate::portfolio::{OptionPosition, Portfolio};

/// Trading days a year: an option's maturity shortens by `horizon_days /
/// TRADING_DAYS` years over the horizon.
pub const TRADING_DAYS: f64 = 252.0;

/// Floor of a scenario's price: the lowest the revaluation takes the log of.
const PRICE_FLOOR: f64 = 1e-300;

/// An asset that options are written on, with what moves its price.
#[derive(Debug, Clone, PartialEq)]
pub struct Underlying {
    /// Its index among the portfolio's assets.
    pub asset: usize,
    /// Its price now.
    pub price: f64,
    /// Mean return over the horizon, `h mu`.
    pub drift: f64,
    /// Its return's loading on each of the scenario's normals,
    /// `sqrt(h) sigma L[asset][j]`.
    pub factor: Vec<f64>,
}

/// One option compiled for revaluation at the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Revalued {
    /// Index into [`OptionBook::underlyings`].
    pub underlying: usize,
    /// +1 for a call, -1 for a put.
    pub sign: f64,
    /// Units held.
    pub quantity: f64,
    /// The strike.
    pub strike: f64,
    /// Whether the option matures within the horizon (then it is worth its
    /// payoff).
    pub expired: bool,
    /// `ln K`.
    pub log_strike: f64,
    /// `vol sqrt(tau)` with `tau` the maturity left at the horizon.
    pub sd: f64,
    /// `(rate - dividend) tau + sd^2 / 2`.
    pub carry: f64,
    /// `exp(-dividend tau)`.
    pub dividend_discount: f64,
    /// `exp(-rate tau)`.
    pub discount: f64,
    /// Its value per unit now, at today's price and maturity.
    pub now: f64,
}

impl Revalued {
    /// The option's value (per unit) at horizon price `spot`.
    #[inline(always)]
    pub fn value<L: LaneMath>(&self, spot: L) -> L {
        let s = L::splat;
        if self.expired {
            return (s(self.sign) * (spot - s(self.strike))).positive_part();
        }
        let spot = spot.max(s(PRICE_FLOOR));
        let d1 = (spot.ln() - s(self.log_strike) + s(self.carry)) / s(self.sd);
        let d2 = d1 - s(self.sd);
        let sign = s(self.sign);
        sign * (spot * s(self.dividend_discount) * (sign * d1).normal_cdf()
            - s(self.strike * self.discount) * (sign * d2).normal_cdf())
    }
}

/// A book's options compiled for revaluation: what a scenario needs beyond
/// the linear positions' loadings.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionBook {
    /// The assets options are written on, each once, in first-use order.
    pub underlyings: Vec<Underlying>,
    /// The options.
    pub options: Vec<Revalued>,
    /// The options' value now, `sum q V(price, maturity)`: the P&L is the
    /// horizon value less this.
    pub value_now: f64,
}

impl OptionBook {
    /// The compiled book of a validated `portfolio` whose correlation factor
    /// is `lower`, over `horizon_days`; `None` when it holds no options.
    pub fn new(portfolio: &Portfolio, lower: &[Vec<f64>], horizon_days: f64) -> Option<Self> {
        if portfolio.options.is_empty() {
            return None;
        }
        let horizon = horizon_days / TRADING_DAYS;
        let mut underlyings: Vec<Underlying> = Vec::new();
        let mut options = Vec::with_capacity(portfolio.options.len());
        let mut value_now = 0.0;
        for option in &portfolio.options {
            let index = portfolio
                .assets
                .iter()
                .position(|a| a.name == option.asset)
                .expect("validated: the option's asset is in the portfolio");
            let asset = &portfolio.assets[index];
            let price = asset
                .price
                .expect("validated: the option's asset has a price");
            let underlying = match underlyings.iter().position(|u| u.asset == index) {
                Some(u) => u,
                None => {
                    underlyings.push(Underlying {
                        asset: index,
                        price,
                        drift: horizon_days * asset.mu,
                        factor: lower[index]
                            .iter()
                            .map(|l| horizon_days.sqrt() * asset.sigma * l)
                            .collect(),
                    });
                    underlyings.len() - 1
                }
            };
            let now = compile(option, underlying, portfolio.rate, asset.dividend, 0.0).value(price);
            value_now += option.quantity * now;
            options.push(Revalued {
                now,
                ..compile(option, underlying, portfolio.rate, asset.dividend, horizon)
            });
        }
        Some(Self {
            underlyings,
            options,
            value_now,
        })
    }

    /// Each underlying's return in the scenario whose normals are `normals`
    /// (draws `0..k`) and whose shocks scale by `scale`, written to `returns`.
    #[inline(always)]
    pub fn returns<L: LaneMath>(&self, normals: &[L], scale: L, returns: &mut [L]) {
        for (out, underlying) in returns.iter_mut().zip(&self.underlyings) {
            let mut shock = L::splat(0.0);
            for (&c, &z) in underlying.factor.iter().zip(normals) {
                shock = z.mul_add(L::splat(c), shock);
            }
            *out = shock.mul_add(scale, L::splat(underlying.drift));
        }
    }

    /// The options' value at the horizon, `sum q V(price (1 + X), tau)`, given
    /// each underlying's return `returns`.
    #[inline(always)]
    pub fn horizon_value<L: LaneMath>(&self, returns: &[L]) -> L {
        let mut total = L::splat(0.0);
        for option in &self.options {
            let underlying = &self.underlyings[option.underlying];
            let spot = L::splat(underlying.price) * (L::splat(1.0) + returns[option.underlying]);
            total = option.value(spot).mul_add(L::splat(option.quantity), total);
        }
        total
    }

    /// Each option's P&L per unit of quantity, given the underlyings'
    /// `returns` (for contributions).
    pub fn unit_pnl<'a>(&'a self, returns: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
        self.options.iter().map(move |option| {
            let price = self.underlyings[option.underlying].price;
            option.value(price * (1.0 + returns[option.underlying])) - option.now
        })
    }
}

/// `option` compiled for revaluation `elapsed` years from now.
fn compile(
    option: &OptionPosition,
    underlying: usize,
    rate: f64,
    dividend: f64,
    elapsed: f64,
) -> Revalued {
    let tau = option.maturity - elapsed;
    let expired = tau <= 0.0;
    let tau = tau.max(0.0);
    let sd = option.vol * tau.sqrt();
    Revalued {
        underlying,
        sign: match option.kind {
            OptionKind::Call => 1.0,
            OptionKind::Put => -1.0,
        },
        quantity: option.quantity,
        strike: option.strike,
        expired,
        log_strike: option.strike.ln(),
        sd,
        carry: (rate - dividend) * tau + 0.5 * sd * sd,
        dividend_discount: (-dividend * tau).exp(),
        discount: (-rate * tau).exp(),
        now: 0.0,
    }
}

/// The Taylor expansion of the book's P&L about today's prices at the
/// horizon: `P&L ~ theta + sum_a e_a X_a + 1/2 sum_a g_a X_a^2`, in currency
/// units per unit of simple return.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensitivities {
    /// Time decay over the horizon at unchanged prices, `sum q (V(S, tau) -
    /// V(S, T))`.
    pub theta: f64,
    /// Per asset: `value w_a + sum_{options on a} q delta S_a`.
    pub delta: Vec<f64>,
    /// Per asset: `sum_{options on a} q gamma S_a^2`.
    pub gamma: Vec<f64>,
}

impl Sensitivities {
    /// The expansion of a validated `portfolio` over `horizon_days`; the
    /// options' delta and gamma are taken at the horizon's remaining
    /// maturity (the expansion is about `(S, tau)`, so the decay is exact).
    pub fn of(portfolio: &Portfolio, horizon_days: f64) -> Self {
        let k = portfolio.assets.len();
        let mut delta: Vec<f64> = portfolio
            .assets
            .iter()
            .map(|a| portfolio.value * a.weight)
            .collect();
        let mut gamma = vec![0.0; k];
        let mut theta = 0.0;
        let n = Normal::standard();
        for option in &portfolio.options {
            let Some(index) = portfolio.assets.iter().position(|a| a.name == option.asset) else {
                continue;
            };
            let asset = &portfolio.assets[index];
            let Some(price) = asset.price else { continue };
            let now = compile(option, 0, portfolio.rate, asset.dividend, 0.0);
            let later = compile(
                option,
                0,
                portfolio.rate,
                asset.dividend,
                horizon_days / TRADING_DAYS,
            );
            let q = option.quantity;
            theta += q * (later.value(price) - now.value(price));
            let (option_delta, option_gamma) = if later.expired {
                // Worth its payoff: delta is 0 or +-1 (the strike itself
                // taken as out of the money), gamma 0.
                let inside = later.sign * (price - later.strike) > 0.0;
                (if inside { later.sign } else { 0.0 }, 0.0)
            } else {
                let d1 = (price.ln() - later.log_strike + later.carry) / later.sd;
                let delta = later.sign * later.dividend_discount * n.cdf(later.sign * d1);
                let gamma = later.dividend_discount * (-0.5 * d1 * d1).exp()
                    / (SQRT_TWO_PI * price * later.sd);
                (delta, gamma)
            };
            delta[index] += q * option_delta * price;
            gamma[index] += q * option_gamma * price * price;
        }
        Self {
            theta,
            delta,
            gamma,
        }
    }

    /// The P&L's cumulants under normal returns with horizon means `mean`
    /// (`h mu`) and covariance `covariance` (`h sigma_i sigma_j rho_ij`):
    /// mean, variance, third and fourth cumulants of `theta + e.X + 1/2 X'
    /// diag(g) X`.
    pub fn cumulants(&self, mean: &[f64], covariance: &[Vec<f64>]) -> [f64; 4] {
        let k = mean.len();
        // X = m + A y with A A' = covariance: the P&L is
        // a0 + b.y + 1/2 y' G y with b = A' f, f = e + g m, G = A' diag(g) A.
        let f: Vec<f64> = (0..k)
            .map(|a| self.delta[a] + self.gamma[a] * mean[a])
            .collect();
        let a0 = self.theta
            + (0..k)
                .map(|a| self.delta[a] * mean[a] + 0.5 * self.gamma[a] * mean[a] * mean[a])
                .sum::<f64>();
        let times = |v: &[f64]| -> Vec<f64> {
            covariance
                .iter()
                .map(|row| row.iter().zip(v).map(|(c, x)| c * x).sum())
                .collect()
        };
        let dot = |u: &[f64], v: &[f64]| -> f64 { u.iter().zip(v).map(|(x, y)| x * y).sum() };
        let weighted =
            |v: &[f64]| -> Vec<f64> { v.iter().zip(&self.gamma).map(|(x, g)| x * g).collect() };
        // b'b = f' S f; b'Gb = (S f)' diag(g) (S f); b'G^2 b = (S f)' diag(g) S diag(g) (S f).
        let sf = times(&f);
        let gsf = weighted(&sf);
        let bb = dot(&f, &sf);
        let bgb = dot(&sf, &gsf);
        let bggb = dot(&gsf, &times(&gsf));
        // tr(G^r) = tr((diag(g) S)^r) over the assets with gamma.
        let active: Vec<usize> = (0..k).filter(|&a| self.gamma[a] != 0.0).collect();
        let u = active.len();
        let m = nalgebra::DMatrix::from_fn(u, u, |i, j| {
            self.gamma[active[i]] * covariance[active[i]][active[j]]
        });
        let m2 = &m * &m;
        let traces = [
            m.trace(),
            m2.trace(),
            (&m2 * &m).trace(),
            (&m2 * &m2).trace(),
        ];
        [
            a0 + 0.5 * traces[0],
            bb + 0.5 * traces[1],
            3.0 * bgb + traces[2],
            12.0 * bggb + 3.0 * traces[3],
        ]
    }
}

/// VaR and ES at `confidence` of a P&L with `cumulants` (mean, variance,
/// third and fourth), by the Cornish-Fisher expansion of its quantile; the
/// ES integrates the same expansion over the tail (in closed form).
pub fn cornish_fisher(cumulants: [f64; 4], confidence: f64) -> crate::stats::TailMeasure {
    let [mean, variance, k3, k4] = cumulants;
    let sd = variance.sqrt();
    let (skew, kurtosis) = if sd > 0.0 {
        (k3 / (variance * sd), k4 / (variance * variance))
    } else {
        (0.0, 0.0)
    };
    let n = Normal::standard();
    let tail = 1.0 - confidence;
    let z = n.inverse_cdf(tail);
    let w = z + (z * z - 1.0) * skew / 6.0 + (z * z * z - 3.0 * z) * kurtosis / 24.0
        - (2.0 * z * z * z - 5.0 * z) * skew * skew / 36.0;
    // The tail mean of w(Z), Z < z: each term integrated against the normal
    // density (int z^3 phi = -(z^2 + 2) phi, int z phi = -phi, ...).
    let phi = (-0.5 * z * z).exp() / SQRT_TWO_PI;
    let tail_mean = (-phi - skew / 6.0 * z * phi - kurtosis / 24.0 * (z * z - 1.0) * phi
        + skew * skew / 36.0 * (2.0 * z * z - 1.0) * phi)
        / tail;
    crate::stats::TailMeasure::of_pnl(mean + sd * w, mean + sd * tail_mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_reference_values() {
        // 0.5 erfc(-x / sqrt 2) from Python's math.erfc (within an ulp).
        let reference = [
            (-37.0, 5.725571222525139e-300),
            (-30.0, 4.906713927148764e-198),
            (-20.0, 2.7536241186063314e-89),
            (-12.5, 3.73256429887781e-36),
            (-8.0, 6.220960574271819e-16),
            (-7.5, 3.19089167291092e-14),
            (-7.0, 1.279812543885835e-12),
            (-5.5, 1.8989562465887738e-08),
            (-3.6539, 0.0001291434486318147),
            (-2.0, 0.02275013194817922),
            (-1.0, 0.15865525393145707),
            (-0.3, 0.3820885778110474),
            (0.0, 0.5),
            (0.7, 0.758036347776927),
            (1.96, 0.9750021048517795),
            (3.3, 0.9995165758576162),
            (6.0, 0.9999999990134123),
            (9.0, 1.0),
        ];
        for (x, expected) in reference {
            let ours = normal_cdf(x);
            assert!(
                (ours - expected).abs() < 1e-15,
                "N({x}) {ours} vs {expected}"
            );
            // Relative accuracy in the lower tail, where an option far out
            // of the money takes its value from it.
            assert!(
                (ours - expected).abs() <= 1e-8 * expected,
                "relative at {x}: {ours} vs {expected}"
            );
        }
        // And on a grid from -37.5 to 37.5 in steps of 0.75 (Python's
        // math.erfc again).
        let grid = [
            4.605353009582584e-308,
            5.813144815534061e-296,
            4.1826240657973864e-284,
            1.7154716480438905e-272,
            4.010728966577642e-261,
            5.34535682862464e-250,
            4.061185620915826e-239,
            1.7589823748828117e-228,
            4.3432326010320253e-218,
            6.113907079823805e-208,
            4.906713927148764e-198,
            2.2451311768291037e-188,
            5.857141253806498e-179,
            8.712397652497954e-170,
            7.389481006885623e-161,
            3.5738147891658517e-152,
            9.856236518963945e-144,
            1.5501437289488716e-135,
            1.3903921185497741e-127,
            7.112658242358854e-120,
            2.0753107990664333e-112,
            3.453988480357572e-105,
            3.2792780189791205e-98,
            1.7761998649496517e-91,
            5.489115475660495e-85,
            9.679551479134534e-79,
            9.740948918937211e-73,
            5.5949683949050176e-67,
            1.834463003164728e-61,
            3.434065749272191e-56,
            3.6709661993128594e-51,
            2.2414062326936553e-46,
            7.818807305658051e-42,
            1.5587262888812e-37,
            1.776482112077702e-33,
            1.1579603185686528e-29,
            4.319006317809258e-26,
            9.223413524939454e-23,
            1.1285884059538422e-19,
            7.919726314642473e-17,
            3.19089167291092e-14,
            7.392257778017862e-12,
            9.865876450377012e-10,
            7.604960516488726e-08,
            3.3976731247300615e-06,
            8.841728520080404e-05,
            0.0013498980316300957,
            0.012224472655044704,
            0.06680720126885809,
            0.2266273523768682,
            0.5,
            0.7733726476231317,
            0.9331927987311419,
            0.9877755273449553,
            0.9986501019683699,
            0.9999115827147992,
            0.9999966023268753,
            0.9999999239503948,
            0.9999999990134123,
            0.9999999999926077,
            0.9999999999999681,
            0.9999999999999999,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            1.0,
        ];
        for (i, expected) in grid.into_iter().enumerate() {
            let x = -37.5 + 0.75 * i as f64;
            let ours = normal_cdf(x);
            assert!(
                (ours - expected).abs() < 1e-15,
                "N({x}) {ours} vs {expected}"
            );
            // Below -37 the tail is taken as 0.
            if x >= -HART_CUTOFF {
                assert!(
                    (ours - expected).abs() <= 1e-8 * expected,
                    "relative at {x}: {ours} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn simd_normal_cdf_is_the_scalar_one() {
        let xs: [f64; 8] = [-38.0, -8.0, -7.0, -1.5, 0.0, 0.3, 7.5, 40.0];
        let lanes = crate::simd::f64x8::new(xs).normal_cdf().to_array();
        for (x, lane) in xs.iter().zip(lanes) {
            let scalar = normal_cdf(*x);
            assert!(
                (lane - scalar).abs() <= 4.0 * f64::EPSILON * scalar.abs().max(1e-300),
                "{x}: {lane} vs {scalar}"
            );
        }
    }
}
