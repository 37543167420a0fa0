//! The reference beside an early-exercise estimate: a binomial lattice for
//! one asset under Black-Scholes (Cox-Ross-Rubinstein), smoothed and
//! extrapolated as Broadie and Detemple's BBSR: the last step's
//! continuation is the Black-Scholes price over that step (the payoff's kink
//! no longer sits between nodes at random), and Richardson's extrapolation
//! of `2 V(2n) - V(n)` removes the leading error term. Exercise is allowed
//! at the dates of a Bermudan (equally spaced, the last at expiry) or at
//! every node (the American limit); never today, as the simulation.
//!
//! Checked against QuantLib's `FdBlackScholesVanillaEngine` on fine grids
//! (`tests/exercise.rs`).

use crate::closed_form::black_scholes_precise;
use crate::pricing::{Market, OptionKind};

/// Least lattice steps of the finer of the two lattices extrapolated.
const LEAST_STEPS: u32 = 4000;

/// The price of a `kind` option struck at `strike` with `maturity` years
/// in `market`, exercisable at `dates` equally spaced dates (the last at
/// expiry; `None`: at every node, the American limit).
pub fn price(
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
    dates: Option<u32>,
) -> f64 {
    // Nodes between dates: even, so the coarse lattice has whole dates too.
    let per_date = match dates {
        Some(d) => LEAST_STEPS.div_ceil(d.max(1)).next_multiple_of(2),
        None => LEAST_STEPS,
    };
    let fine = lattice(kind, market, strike, maturity, dates, per_date);
    let coarse = lattice(kind, market, strike, maturity, dates, per_date / 2);
    2.0 * fine - coarse
}

/// One smoothed CRR lattice of `per_date` steps a date (of `dates`, or
/// `per_date` steps in all for the American limit).
fn lattice(
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
    dates: Option<u32>,
    per_date: u32,
) -> f64 {
    let n = per_date as usize * dates.unwrap_or(1) as usize;
    let dt = maturity / n as f64;
    let up = (market.vol * dt.sqrt()).exp();
    let growth = ((market.rate - market.dividend) * dt).exp();
    let p = (growth - 1.0 / up) / (up - 1.0 / up);
    let discount = (-market.rate * dt).exp();
    let intrinsic = |spot: f64| match kind {
        OptionKind::Call => (spot - strike).max(0.0),
        OptionKind::Put => (strike - spot).max(0.0),
    };
    let exercisable = |step: usize| match dates {
        Some(_) => step.is_multiple_of(per_date as usize),
        None => true,
    };
    let spot_at = |step: usize, ups: usize| market.spot * up.powi(2 * ups as i32 - step as i32);
    // Step n - 1: the continuation is the Black-Scholes price over the
    // last step (BBSR), exercise where the date allows.
    let last = n - 1;
    let mut values: Vec<f64> = (0..=last)
        .map(|ups| {
            let spot = spot_at(last, ups);
            let here = Market { spot, ..*market };
            let hold = black_scholes_precise(kind, &here, strike, dt);
            if exercisable(last) && last > 0 {
                hold.max(intrinsic(spot))
            } else {
                hold
            }
        })
        .collect();
    for step in (0..last).rev() {
        for ups in 0..=step {
            let hold = discount * (p * values[ups + 1] + (1.0 - p) * values[ups]);
            values[ups] = if step > 0 && exercisable(step) {
                hold.max(intrinsic(spot_at(step, ups)))
            } else {
                hold
            };
        }
    }
    values[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_date_is_the_european_and_a_call_without_dividends_is_never_exercised() {
        let market = Market {
            spot: 100.0,
            rate: 0.05,
            dividend: 0.0,
            vol: 0.25,
        };
        for kind in [OptionKind::Call, OptionKind::Put] {
            let european = black_scholes_precise(kind, &market, 105.0, 1.0);
            let one_date = price(kind, &market, 105.0, 1.0, Some(1));
            assert!(
                (one_date - european).abs() < 1e-5 * european,
                "{kind}: {one_date} {european}"
            );
        }
        let call = black_scholes_precise(OptionKind::Call, &market, 105.0, 1.0);
        let american = price(OptionKind::Call, &market, 105.0, 1.0, None);
        assert!((american - call).abs() < 1e-4, "{american} {call}");
        // More dates are worth more.
        let put = |dates| price(OptionKind::Put, &market, 105.0, 1.0, dates);
        assert!(put(Some(1)) < put(Some(4)) && put(Some(4)) < put(Some(50)));
        assert!(put(Some(50)) < put(None));
    }
}
