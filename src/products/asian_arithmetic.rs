//! Arithmetic-average Asian call or put.

use super::{OptionSpec, PathState, Product, Terms, vanilla};
use crate::closed_form::geometric_asian;
use crate::lane::Lane;
use crate::market::Market;

/// Payoff on `A = (1/N) sum_i S(t_i)` over the fixings `t_i = i T / N`.
pub struct AsianArithmetic;

impl Product for AsianArithmetic {
    const STEPS: Option<u32> = None;
    const WGSL: &'static str = include_str!("../../shaders/products/asian_arithmetic.wgsl");

    #[inline(always)]
    fn observe<L: Lane>(running: L, log_price: L) -> L {
        running + log_price.exp()
    }

    #[inline(always)]
    fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        vanilla::<L, PUT>(path.running / terms.fixings, terms.strike)
    }

    /// No closed form (the geometric Asian's is its classic control variate).
    fn closed_form(_: &Market, _: &OptionSpec) -> Option<f64> {
        None
    }

    /// The geometric-average option on the same fixings: its payoff moves
    /// with this one's almost one for one, and its price has a closed form.
    #[inline(always)]
    fn control<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        vanilla::<L, PUT>((path.log_sum / terms.fixings).exp(), terms.strike)
    }

    fn control_mean(market: &Market, option: &OptionSpec) -> f64 {
        let price = geometric_asian(
            option.kind,
            market,
            option.strike,
            option.maturity,
            option.steps,
        );
        price * (market.rate * option.maturity).exp()
    }

    /// Under any model: the average of the fixings itself, whose mean is
    /// the average of the forwards (a weaker control than the geometric
    /// Asian's, whose price is Black-Scholes' alone).
    #[inline(always)]
    fn model_control<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        path.running / terms.fixings
    }

    /// `(1/N) sum_i S e^{(r - q) i T / N}`.
    fn model_control_mean(market: &Market, option: &OptionSpec) -> f64 {
        let n = option.steps.max(1);
        let total: f64 = (1..=n)
            .map(|i| super::forward(market, option.maturity * f64::from(i) / f64::from(n)))
            .sum();
        total / f64::from(n)
    }
}
