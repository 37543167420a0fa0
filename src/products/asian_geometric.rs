//! Geometric-average Asian call or put.

use super::{OptionSpec, PathState, Product, Terms, forward, vanilla};
use crate::closed_form::geometric_asian;
use crate::lane::Lane;
use crate::market::Market;

/// Payoff on `G = exp((1/N) sum_i ln S(t_i))` over the fixings `t_i = i T / N`.
pub struct AsianGeometric;

impl Product for AsianGeometric {
    const STEPS: Option<u32> = None;
    const WGSL: &'static str = include_str!("../../shaders/products/asian_geometric.wgsl");

    #[inline(always)]
    fn observe<L: Lane>(running: L, log_price: L) -> L {
        running + log_price
    }

    #[inline(always)]
    fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        vanilla::<L, PUT>((path.running / terms.fixings).exp(), terms.strike)
    }

    fn closed_form(market: &Market, option: &OptionSpec) -> Option<f64> {
        Some(geometric_asian(
            option.kind,
            market,
            option.strike,
            option.maturity,
            option.steps,
        ))
    }

    /// The terminal price, whose mean is the forward (the option has a closed
    /// form, so the control matters for tests and timings, not for users).
    #[inline(always)]
    fn control<L: Lane, const PUT: bool>(path: &PathState<L>, _: &Terms<L>) -> L {
        path.log_price.exp()
    }

    fn control_mean(market: &Market, option: &OptionSpec) -> f64 {
        forward(market, option.maturity)
    }
}
