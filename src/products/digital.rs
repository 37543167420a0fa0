//! Cash-or-nothing digital call or put.

use super::{OptionSpec, PathState, Product, Terms, forward};
use crate::lane::Lane;
use crate::market::Market;

/// Pays one unit of cash at expiry when `S(T) > K` (call) or `S(T) < K`
/// (put), nothing otherwise; simulated in one exact log-normal step. Scale by
/// the cash amount for other payouts.
pub struct Digital;

impl Product for Digital {
    const STEPS: Option<u32> = Some(1);
    const WGSL: &'static str = include_str!("../../shaders/products/digital.wgsl");

    #[inline(always)]
    fn observe<L: Lane>(running: L, _: L) -> L {
        running
    }

    #[inline(always)]
    fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        let terminal = path.log_price.exp();
        if PUT {
            (terms.strike - terminal).indicator()
        } else {
            (terminal - terms.strike).indicator()
        }
    }

    /// `e^{-rT} N(d2)` for the call, `e^{-rT} N(-d2)` for the put, with
    /// `d2 = (ln(S/K) + (r - q - vol^2/2) T) / (vol sqrt T)`.
    fn closed_form(market: &Market, option: &OptionSpec) -> Option<f64> {
        Some(crate::closed_form::digital(
            option.kind,
            market,
            option.strike,
            option.maturity,
        ))
    }

    /// The terminal price, whose mean is the forward.
    #[inline(always)]
    fn control<L: Lane, const PUT: bool>(path: &PathState<L>, _: &Terms<L>) -> L {
        path.log_price.exp()
    }

    fn control_mean(market: &Market, option: &OptionSpec) -> f64 {
        forward(market, option.maturity)
    }
}
