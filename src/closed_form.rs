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
    lognormal_option_by(|x| n.cdf(x), kind, mean, var, strike, discount)
}

/// [`lognormal_option`] with the normal distribution function `cdf`.
pub(crate) fn lognormal_option_by(
    cdf: impl Fn(f64) -> f64,
    kind: OptionKind,
    mean: f64,
    var: f64,
    strike: f64,
    discount: f64,
) -> f64 {
    let sd = var.sqrt();
    let forward = (mean + 0.5 * var).exp();
    if sd == 0.0 {
        // The limit as the variance vanishes (or underflows): the forward
        // is certain.
        return discount
            * match kind {
                OptionKind::Call => (forward - strike).max(0.0),
                OptionKind::Put => (strike - forward).max(0.0),
            };
    }
    let d1 = (mean - strike.ln() + var) / sd;
    let d2 = d1 - sd;
    match kind {
        OptionKind::Call => discount * (forward * cdf(d1) - strike * cdf(d2)),
        OptionKind::Put => discount * (strike * cdf(-d2) - forward * cdf(-d1)),
    }
}

/// [`black_scholes`] to double precision: Hart's normal distribution
/// function ([`crate::lane::normal_cdf`], absolute error below 1e-15) where
/// `black_scholes` takes statrs' (whose error reaches 5e-12; kept there
/// because the control variates' means, and so every Black-Scholes
/// result's bits, read it). The models' references use this one, held to
/// QuantLib's to 1e-8.
pub fn black_scholes_precise(kind: OptionKind, market: &Market, strike: f64, maturity: f64) -> f64 {
    black_scholes_by(crate::lane::normal_cdf, kind, market, strike, maturity)
}

/// [`digital`] to double precision, as [`black_scholes_precise`].
pub fn digital_precise(kind: OptionKind, market: &Market, strike: f64, maturity: f64) -> f64 {
    digital_by(crate::lane::normal_cdf, kind, market, strike, maturity)
}

/// Black-Scholes(-Merton) price of a European call or put with continuous
/// dividend yield.
pub fn black_scholes(kind: OptionKind, market: &Market, strike: f64, maturity: f64) -> f64 {
    let n = standard_normal();
    black_scholes_by(|x| n.cdf(x), kind, market, strike, maturity)
}

/// Price of a cash-or-nothing digital paying 1: `e^{-rT} N(d2)` for the
/// call, `e^{-rT} N(-d2)` for the put, with
/// `d2 = (ln(S/K) + (r - q - vol^2/2) T) / (vol sqrt T)`.
pub fn digital(kind: OptionKind, market: &Market, strike: f64, maturity: f64) -> f64 {
    let n = standard_normal();
    digital_by(|x| n.cdf(x), kind, market, strike, maturity)
}

/// [`black_scholes`] with the normal distribution function `cdf`.
fn black_scholes_by(
    cdf: impl Fn(f64) -> f64,
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
) -> f64 {
    let Market {
        spot,
        rate,
        dividend,
        vol,
    } = *market;
    let mean = spot.ln() + (rate - dividend - 0.5 * vol * vol) * maturity;
    let var = vol * vol * maturity;
    lognormal_option_by(cdf, kind, mean, var, strike, (-rate * maturity).exp())
}

/// [`digital`] with the normal distribution function `cdf`.
fn digital_by(
    cdf: impl Fn(f64) -> f64,
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
) -> f64 {
    let Market {
        spot,
        rate,
        dividend,
        vol,
    } = *market;
    let d2 = ((spot / strike).ln() + (rate - dividend - 0.5 * vol * vol) * maturity)
        / (vol * maturity.sqrt());
    let sign = match kind {
        OptionKind::Call => 1.0,
        OptionKind::Put => -1.0,
    };
    (-rate * maturity).exp() * cdf(sign * d2)
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

/// Price of a continuously monitored barrier call or put with its rebate
/// paid at expiry (Reiner and Rubinstein 1991, in Haug's notation, "The
/// Complete Guide to Option Pricing Formulas", 2nd ed., 4.17.1), with
/// `b = r - q`. Knock-outs: the out terms with the rebate term
/// `R e^{-rT} P(hit)` (the complement of Haug's `E`, since this rebate is paid
/// at expiry, not at the hit); knock-ins: Haug's in terms, whose `E` is the
/// same rebate at expiry. A spot already at or beyond the barrier has been
/// knocked: a knock-out is worth its discounted rebate, a knock-in is the
/// vanilla (Black-Scholes).
pub fn barrier(
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
    barrier: &crate::market::Barrier,
) -> f64 {
    use crate::market::BarrierKind;
    if barrier.breached_at(market.spot) {
        return if barrier.kind.is_in() {
            black_scholes(kind, market, strike, maturity)
        } else {
            barrier.rebate * (-market.rate * maturity).exp()
        };
    }
    let n = |x: f64| standard_normal().cdf(x);
    let Market {
        spot: s,
        rate: r,
        dividend: q,
        vol,
    } = *market;
    let (x, h, t, rebate) = (strike, barrier.level, maturity, barrier.rebate);
    let b = r - q;
    let sd = vol * t.sqrt();
    let mu = (b - 0.5 * vol * vol) / (vol * vol);
    let phi = match kind {
        OptionKind::Call => 1.0,
        OptionKind::Put => -1.0,
    };
    let eta = if barrier.kind.is_up() { -1.0 } else { 1.0 };
    let carry = ((b - r) * t).exp();
    let discount = (-r * t).exp();
    let hs = h / s;
    let x1 = (s / x).ln() / sd + (1.0 + mu) * sd;
    let x2 = (s / h).ln() / sd + (1.0 + mu) * sd;
    let y1 = (h * h / (s * x)).ln() / sd + (1.0 + mu) * sd;
    let y2 = (h / s).ln() / sd + (1.0 + mu) * sd;
    let a = phi * s * carry * n(phi * x1) - phi * x * discount * n(phi * x1 - phi * sd);
    let bb = phi * s * carry * n(phi * x2) - phi * x * discount * n(phi * x2 - phi * sd);
    let c = phi * s * carry * hs.powf(2.0 * (mu + 1.0)) * n(eta * y1)
        - phi * x * discount * hs.powf(2.0 * mu) * n(eta * y1 - eta * sd);
    let d = phi * s * carry * hs.powf(2.0 * (mu + 1.0)) * n(eta * y2)
        - phi * x * discount * hs.powf(2.0 * mu) * n(eta * y2 - eta * sd);
    // The rebate at expiry if the barrier is never reached.
    let e =
        rebate * discount * (n(eta * x2 - eta * sd) - hs.powf(2.0 * mu) * n(eta * y2 - eta * sd));
    // ... and if it is.
    let f = rebate * discount - e;
    let above = x > h;
    match (barrier.kind, kind) {
        (BarrierKind::DownAndIn, OptionKind::Call) if above => c + e,
        (BarrierKind::DownAndIn, OptionKind::Call) => a - bb + d + e,
        (BarrierKind::UpAndIn, OptionKind::Call) if above => a + e,
        (BarrierKind::UpAndIn, OptionKind::Call) => bb - c + d + e,
        (BarrierKind::DownAndIn, OptionKind::Put) if above => bb - c + d + e,
        (BarrierKind::DownAndIn, OptionKind::Put) => a + e,
        (BarrierKind::UpAndIn, OptionKind::Put) if above => a - bb + d + e,
        (BarrierKind::UpAndIn, OptionKind::Put) => c + e,
        (BarrierKind::DownAndOut, OptionKind::Call) if above => a - c + f,
        (BarrierKind::DownAndOut, OptionKind::Call) => bb - d + f,
        (BarrierKind::UpAndOut, OptionKind::Call) if above => f,
        (BarrierKind::UpAndOut, OptionKind::Call) => a - bb + c - d + f,
        (BarrierKind::DownAndOut, OptionKind::Put) if above => a - bb + c - d + f,
        (BarrierKind::DownAndOut, OptionKind::Put) => f,
        (BarrierKind::UpAndOut, OptionKind::Put) if above => bb - d + f,
        (BarrierKind::UpAndOut, OptionKind::Put) => a - c + f,
    }
}

/// Broadie, Glasserman and Kou's continuity correction (1997): a barrier
/// watched at `fixings` equally spaced dates prices, to `o(1/sqrt N)`, like a
/// continuous one moved away from the spot by `exp(+-0.5826 vol sqrt(T/N))`.
pub fn barrier_discrete_bgk(
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
    barrier: &crate::market::Barrier,
    fixings: u32,
) -> f64 {
    const BETA: f64 = 0.582_597_157_939_010_7; // -zeta(1/2) / sqrt(2 pi)
    let shift = BETA * market.vol * (maturity / f64::from(fixings)).sqrt();
    let level = if barrier.kind.is_up() {
        barrier.level * shift.exp()
    } else {
        barrier.level * (-shift).exp()
    };
    let moved = crate::market::Barrier { level, ..*barrier };
    self::barrier(kind, market, strike, maturity, &moved)
}

/// Black's implied volatility: the `vol` at which [`black_scholes_precise`]
/// gives `price` for this option, with the market's spot, rate and dividend
/// (its `vol` is ignored). `None` when no volatility gives that price: at or
/// outside the no-arbitrage bounds (below the discounted intrinsic value of
/// the forward, or at or above the discounted forward for a call, the
/// discounted strike for a put), which a Monte Carlo estimate of a deep in-
/// or out-of-the-money option can cross by noise alone.
///
/// The in-the-money side is turned into the out-of-the-money one by
/// put-call parity (its time value is the same and is not lost to
/// cancellation), then the total volatility `s = vol sqrt(T)` is found by
/// Newton's method on the undiscounted price, safeguarded by bisection on
/// a bracket that always holds the root, to a relative `1e-14` in `s`.
pub fn black_implied_vol(
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
    price: f64,
) -> Option<f64> {
    let Market {
        spot,
        rate,
        dividend,
        ..
    } = *market;
    let discount = (-rate * maturity).exp();
    let forward = spot * ((rate - dividend) * maturity).exp();
    if ![price, discount, forward, strike, maturity]
        .iter()
        .all(|x| x.is_finite())
        || forward <= 0.0
        || strike <= 0.0
        || maturity <= 0.0
        || discount <= 0.0
    {
        return None;
    }
    let undiscounted = price / discount;
    // The out-of-the-money option's price (its time value).
    let (otm_call, time_value) = match kind {
        OptionKind::Call if strike >= forward => (true, undiscounted),
        OptionKind::Call => (false, undiscounted - (forward - strike)),
        OptionKind::Put if strike <= forward => (false, undiscounted),
        OptionKind::Put => (true, undiscounted - (strike - forward)),
    };
    // Its supremum as the volatility grows: the forward for a call, the
    // strike for a put.
    let ceiling = if otm_call { forward } else { strike };
    if !(time_value > 0.0 && time_value < ceiling) {
        return None;
    }
    let black = |s: f64| -> (f64, f64) {
        let d1 = (forward / strike).ln() / s + 0.5 * s;
        let d2 = d1 - s;
        let cdf = crate::lane::normal_cdf;
        let value = if otm_call {
            forward * cdf(d1) - strike * cdf(d2)
        } else {
            strike * cdf(-d2) - forward * cdf(-d1)
        };
        let vega = forward * (-0.5 * d1 * d1).exp() / (2.0 * std::f64::consts::PI).sqrt();
        (value, vega)
    };
    // A bracket: the price rises with s from 0 (s = 0) towards the ceiling.
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    while black(high).0 < time_value {
        low = high;
        high *= 2.0;
        if high > 1e3 {
            return None;
        }
    }
    let mut s = 0.5 * (low + high);
    for _ in 0..200 {
        let (value, vega) = black(s);
        let gap = value - time_value;
        if gap > 0.0 {
            high = s;
        } else {
            low = s;
        }
        let newton = s - gap / vega;
        let next = if newton.is_finite() && newton > low && newton < high {
            newton
        } else {
            0.5 * (low + high)
        };
        if (next - s).abs() <= 1e-14 * s || high - low <= 1e-15 * high {
            s = next;
            break;
        }
        s = next;
    }
    Some(s / maturity.sqrt())
}

/// Black's vega `dP/dvol` at `vol`: the slope that turns a price's standard
/// error into its implied volatility's (`std_error / vega`).
pub fn black_vega(market: &Market, strike: f64, maturity: f64) -> f64 {
    let Market {
        spot,
        rate,
        dividend,
        vol,
    } = *market;
    let forward = spot * ((rate - dividend) * maturity).exp();
    let s = vol * maturity.sqrt();
    let d1 = (forward / strike).ln() / s + 0.5 * s;
    (-rate * maturity).exp() * forward * (-0.5 * d1 * d1).exp()
        / (2.0 * std::f64::consts::PI).sqrt()
        * maturity.sqrt()
}
