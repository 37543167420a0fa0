//! Closed-form prices of the log-normal products: checks beside the
//! simulation now, control variates later. Each product module picks its own.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::market::{Market, OptionKind};

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Price of a call or put on a log-normal forward: with `ln F ~ N(mean, var)`,
/// `discount * E[(F - K)+]` or `discount * E[(K - F)+]`.
fn lognormal_option(kind: OptionKind, mean: f64, var: f64, strike: f64, discount: f64) -> f64 {
    let n = standard_normal();
    let sd = var.sqrt();
    let forward = (mean + 0.5 * var).exp();
    let d1 = (mean - strike.ln() + var) / sd;
    let d2 = d1 - sd;
    match kind {
        OptionKind::Call => discount * (forward * n.cdf(d1) - strike * n.cdf(d2)),
        OptionKind::Put => discount * (strike * n.cdf(-d2) - forward * n.cdf(-d1)),
    }
}

/// Black-Scholes(-Merton) price of a European call or put with continuous
/// dividend yield.
pub fn black_scholes(kind: OptionKind, market: &Market, strike: f64, maturity: f64) -> f64 {
    let Market {
        spot,
        rate,
        dividend,
        vol,
    } = *market;
    let mean = spot.ln() + (rate - dividend - 0.5 * vol * vol) * maturity;
    let var = vol * vol * maturity;
    lognormal_option(kind, mean, var, strike, (-rate * maturity).exp())
}

/// Price of a discrete geometric-average Asian call or put with `steps` equally
/// spaced fixings `t_i = i T / N`, `i = 1..N` (Kemna-Vorst, discrete form).
///
/// `ln G = ln S + (r - q - vol^2/2) T (N+1)/(2N) + vol * mean(W(t_i))`, with
/// `Var = vol^2 T (N+1)(2N+1) / (6 N^2)`.
pub fn geometric_asian(
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
    steps: u32,
) -> f64 {
    let Market {
        spot,
        rate,
        dividend,
        vol,
    } = *market;
    let n = f64::from(steps);
    let mean = spot.ln() + (rate - dividend - 0.5 * vol * vol) * maturity * (n + 1.0) / (2.0 * n);
    let var = vol * vol * maturity * (n + 1.0) * (2.0 * n + 1.0) / (6.0 * n * n);
    lognormal_option(kind, mean, var, strike, (-rate * maturity).exp())
}
