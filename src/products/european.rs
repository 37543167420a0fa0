//! European call or put: pays on the terminal price.

use super::{OptionSpec, PathState, Product, Terms, forward, vanilla};
use crate::closed_form::black_scholes;
use crate::lane::Lane;
use crate::market::Market;

/// Payoff `max(S(T) - K, 0)` (call) or `max(K - S(T), 0)` (put), simulated in
/// one exact log-normal step.
pub struct European;

impl Product for European {
    const STEPS: Option<u32> = Some(1);
    const WGSL: &'static str = include_str!("../../shaders/products/european.wgsl");

    #[inline(always)]
    fn observe<L: Lane>(running: L, _: L) -> L {
        running
    }

    #[inline(always)]
    fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        vanilla::<L, PUT>(path.log_price.exp(), terms.strike)
    }

    fn closed_form(market: &Market, option: &OptionSpec) -> Option<f64> {
        Some(black_scholes(
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
