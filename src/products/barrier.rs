//! Knock-in and knock-out barrier calls and puts.

use super::{OptionSpec, PathState, Product, Terms, forward, vanilla};
use crate::closed_form::barrier;
use crate::lane::Lane;
use crate::market::{Market, Monitoring};

/// A vanilla call or put on `S(T)` that is knocked out (or in) when the price
/// reaches the barrier; a rebate is paid at expiry when it is not alive.
///
/// The running statistic is the path's probability of not having reached
/// the barrier, `w`. Watched at the fixings, `w` is 1 until a fixing lies on
/// or beyond the barrier, then 0. Watched continuously, each step between
/// fixings at log prices `x0` and `x1` on the live side of `b = ln B` also
/// multiplies `w` by the exact probability that the Brownian bridge between
/// them stays there, `1 - exp(-2 (b - x0)(b - x1) / (vol^2 dt))` (up; the
/// mirror image down): the path is weighted by its survival probability
/// rather than killed, which is unbiased and lowers the variance.
///
/// Payoff: `w V + (1 - w) R` knocked out, `(1 - w) V + w R` knocked in, with
/// `V` the vanilla payoff and `R` the rebate. So in + out = vanilla + rebate
/// path by path (same normals): in-out parity holds to rounding. Knock-ins
/// are simulated directly, not by parity. A spot already at or beyond the
/// barrier starts with `w = 0`: a knock-out is worth its discounted rebate, a
/// knock-in is the vanilla option.
pub struct BarrierOption;

/// The log distance from `log_price` to the barrier on the live side
/// (negative beyond it).
#[inline(always)]
fn distance<L: Lane>(log_price: L, terms: &Terms<L>) -> L {
    if terms.up {
        terms.log_barrier - log_price
    } else {
        log_price - terms.log_barrier
    }
}

impl Product for BarrierOption {
    const STEPS: Option<u32> = None;
    const READS_SPOT: bool = true;
    const WGSL: &'static str = include_str!("../../shaders/products/barrier.wgsl");

    /// 1 on the live side of the barrier; 0 when the spot is already at or
    /// beyond it (knocked out, or in, before the start).
    #[inline(always)]
    fn start<L: Lane>(log_spot: L, terms: &Terms<L>) -> L {
        distance(log_spot, terms).indicator()
    }

    #[inline(always)]
    fn observe<L: Lane>(running: L, _: L) -> L {
        running
    }

    #[inline(always)]
    fn step<L: Lane>(running: L, previous: L, log_price: L, terms: &Terms<L>) -> L {
        let (before, after) = (distance(previous, terms), distance(log_price, terms));
        let alive = after.indicator();
        if terms.continuous {
            // Clamped at 0 so that a path already out (w = 0) cannot make
            // the exponent overflow.
            let crossing =
                (terms.bridge * before.positive_part() * after.positive_part()).exp();
            running * alive * (L::splat(1.0) - crossing)
        } else {
            running * alive
        }
    }

    #[inline(always)]
    fn payoff<L: Lane, const PUT: bool>(path: &PathState<L>, terms: &Terms<L>) -> L {
        let value = vanilla::<L, PUT>(path.log_price.exp(), terms.strike);
        let survived = path.running;
        let (alive, dead) = if terms.knock_in {
            (L::splat(1.0) - survived, survived)
        } else {
            (survived, L::splat(1.0) - survived)
        };
        alive * value + dead * terms.rebate
    }

    /// Reiner-Rubinstein for continuous monitoring; none for discrete (see
    /// [`crate::closed_form::barrier_discrete_bgk`] for its approximation).
    fn closed_form(market: &Market, option: &OptionSpec) -> Option<f64> {
        let spec = option.barrier?;
        (spec.monitoring == Monitoring::Continuous)
            .then(|| barrier(option.kind, market, option.strike, option.maturity, &spec))
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
