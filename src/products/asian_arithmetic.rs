//! Arithmetic-average Asian call or put.

use super::{OptionSpec, PathState, Product, Terms, vanilla};
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
}
