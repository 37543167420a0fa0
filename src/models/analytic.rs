//! Semi-analytic references: European and digital prices from a model's
//! characteristic function, and Merton's series.
//!
//! With `F = S e^{(r - q) T}` and `x = ln(S_T / F)` (so `E e^x = 1`), whose
//! characteristic function is `phi(u) = E e^{iux}`:
//!
//! * a call is `e^{-rT} F (1 - sqrt(K/F) / pi  int_0^inf Re[e^{-iuk}
//!   phi(u - i/2)] / (u^2 + 1/4) du)` with `k = ln(K/F)` (Lewis, "A simple
//!   option formula for general jump-diffusion and other exponential Lévy
//!   processes", 2001), a put by parity;
//! * a cash-or-nothing digital call is `e^{-rT} P(x > k)` with `P(x > k) =
//!   1/2 + 1/pi int_0^inf Re[e^{-iuk} phi(u) / (iu)] du` (Gil-Pelaez).
//!
//! Heston's `phi` is taken in the "little trap" form of Albrecher, Mayer,
//! Schoutens and Tistaert (2007), whose complex logarithm never crosses its
//! branch cut, so the integrands are smooth at any maturity. The integrals
//! run over the half line by adaptive Gauss-Kronrod (`quadrature`) to an
//! absolute 1e-13 of the forward; tests hold them to QuantLib's
//! `AnalyticHestonEngine`, `BatesEngine` and `JumpDiffusionEngine` to 1e-8.

use num_complex::Complex64;

use super::quadrature::integrate_half_line;
use super::{Heston, Jumps};
use crate::market::{Market, OptionKind};

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Heston's `ln E e^{iux}` over `maturity` years (`u` complex).
pub(crate) fn heston_log_cf(h: &Heston, maturity: f64, u: Complex64) -> Complex64 {
    let Heston {
        v0,
        kappa,
        theta,
        xi,
        rho,
        ..
    } = *h;
    let iu = I * u;
    let beta = kappa - rho * xi * iu;
    let d = (beta * beta + xi * xi * (iu + u * u)).sqrt();
    let minus = beta - d;
    let g = minus / (beta + d);
    let e = (-d * maturity).exp();
    let a = kappa * theta / (xi * xi) * (minus * maturity - 2.0 * ((1.0 - g * e) / (1.0 - g)).ln());
    let b = minus / (xi * xi) * (1.0 - e) / (1.0 - g * e);
    a + b * v0
}

/// The jumps' `ln E e^{iu J_T}` over `maturity` years, compensated.
pub(crate) fn jump_log_cf(j: &Jumps, maturity: f64, u: Complex64) -> Complex64 {
    let iu = I * u;
    let jump = (iu * j.jump_mean - 0.5 * j.jump_vol * j.jump_vol * u * u).exp() - 1.0;
    maturity * j.jump_intensity * (jump - iu * j.mean_jump())
}

/// Black-Scholes' `ln E e^{iux}`.
pub(crate) fn black_scholes_log_cf(vol: f64, maturity: f64, u: Complex64) -> Complex64 {
    -0.5 * vol * vol * maturity * (u * u + I * u)
}

/// Absolute tolerance of the integrals, relative to the forward.
const TOLERANCE: f64 = 1e-13;

/// The price of a European call or put from `log_cf`, the log
/// characteristic function of `ln(S_T / F)`.
pub(crate) fn european(
    log_cf: impl Fn(Complex64) -> Complex64,
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
) -> f64 {
    let forward = market.spot * ((market.rate - market.dividend) * maturity).exp();
    let discount = (-market.rate * maturity).exp();
    let k = (strike / forward).ln();
    let integral = integrate_half_line(
        |u| {
            let z = Complex64::new(u, -0.5);
            ((-I * u * k) + log_cf(z)).exp().re / (u * u + 0.25)
        },
        TOLERANCE,
        TOLERANCE,
    );
    let call =
        discount * forward * (1.0 - (strike / forward).sqrt() / std::f64::consts::PI * integral);
    match kind {
        OptionKind::Call => call.max(0.0),
        OptionKind::Put => (call - discount * (forward - strike)).max(0.0),
    }
}

/// The price of a cash-or-nothing digital paying 1 from `log_cf`.
pub(crate) fn digital(
    log_cf: impl Fn(Complex64) -> Complex64,
    kind: OptionKind,
    market: &Market,
    strike: f64,
    maturity: f64,
) -> f64 {
    let forward = market.spot * ((market.rate - market.dividend) * maturity).exp();
    let discount = (-market.rate * maturity).exp();
    let k = (strike / forward).ln();
    let integral = integrate_half_line(
        |u| {
            if u == 0.0 {
                return 0.0;
            }
            let z = Complex64::new(u, 0.0);
            (((-I * u * k) + log_cf(z)).exp() / (I * u)).re
        },
        TOLERANCE,
        TOLERANCE,
    );
    let above = (0.5 + integral / std::f64::consts::PI).clamp(0.0, 1.0);
    discount
        * match kind {
            OptionKind::Call => above,
            OptionKind::Put => 1.0 - above,
        }
}

/// Merton's series: Black-Scholes prices conditional on `n` jumps,
/// weighted by `e^{-l T} (l T)^n / n!` with `l = lambda (1 + k)`, at
/// volatility `sqrt(sigma^2 + n delta^2 / T)` and rate `r - lambda k +
/// n ln(1 + k) / T` (which also carries the weights' discounting), summed
/// until the weights left are below 1e-17 of the total. `price` is the
/// Black-Scholes formula to sum (a European's or a digital's).
pub(crate) fn merton_series(
    jumps: &Jumps,
    market: &Market,
    maturity: f64,
    price: impl Fn(&Market) -> f64,
) -> f64 {
    let k = jumps.mean_jump();
    let intensity = jumps.jump_intensity * (1.0 + k) * maturity;
    if intensity == 0.0 {
        return price(market);
    }
    let mut log_weight = -intensity;
    let mut total = 0.0;
    let mut weights = 0.0;
    for n in 0..10_000u32 {
        if n > 0 {
            log_weight += intensity.ln() - f64::from(n).ln();
        }
        let weight = log_weight.exp();
        let nf = f64::from(n);
        let conditional = Market {
            vol: (market.vol * market.vol + nf * jumps.jump_vol * jumps.jump_vol / maturity).sqrt(),
            rate: market.rate - jumps.jump_intensity * k
                + nf * (jumps.jump_mean + 0.5 * jumps.jump_vol * jumps.jump_vol) / maturity,
            ..*market
        };
        if weight > 0.0 {
            total += weight * price(&conditional);
        }
        weights += weight;
        if f64::from(n) > intensity && 1.0 - weights < 1e-17 {
            break;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closed_form::black_scholes;

    #[test]
    fn the_fourier_prices_of_black_scholes_are_its_closed_form() {
        for (spot, strike, rate, dividend, vol, maturity) in [
            (100.0, 100.0, 0.05, 0.0, 0.2, 1.0),
            (100.0, 130.0, 0.01, 0.03, 0.35, 0.25),
            (50.0, 20.0, -0.01, 0.0, 0.6, 3.0),
            (100.0, 101.0, 0.03, 0.0, 0.05, 0.02),
        ] {
            let market = Market {
                spot,
                rate,
                dividend,
                vol,
            };
            for kind in [OptionKind::Call, OptionKind::Put] {
                let fourier = european(
                    |u| black_scholes_log_cf(vol, maturity, u),
                    kind,
                    &market,
                    strike,
                    maturity,
                );
                let exact = black_scholes(kind, &market, strike, maturity);
                assert!(
                    (fourier - exact).abs() < 1e-10 * spot,
                    "{kind} {fourier} {exact}"
                );
            }
            let d2 = ((spot / strike).ln() + (rate - dividend - 0.5 * vol * vol) * maturity)
                / (vol * maturity.sqrt());
            let exact = (-rate * maturity).exp() * crate::lane::normal_cdf(d2);
            let fourier = digital(
                |u| black_scholes_log_cf(vol, maturity, u),
                OptionKind::Call,
                &market,
                strike,
                maturity,
            );
            assert!((fourier - exact).abs() < 1e-10, "digital {fourier} {exact}");
        }
    }

    #[test]
    fn merton_series_and_fourier_agree() {
        let market = Market {
            spot: 100.0,
            rate: 0.04,
            dividend: 0.01,
            vol: 0.2,
        };
        let jumps = Jumps {
            jump_intensity: 0.7,
            jump_mean: -0.15,
            jump_vol: 0.25,
        };
        for strike in [70.0, 100.0, 140.0] {
            for kind in [OptionKind::Call, OptionKind::Put] {
                let series = merton_series(&jumps, &market, 1.5, |m| {
                    crate::closed_form::black_scholes_precise(kind, m, strike, 1.5)
                });
                let fourier = european(
                    |u| black_scholes_log_cf(0.2, 1.5, u) + jump_log_cf(&jumps, 1.5, u),
                    kind,
                    &market,
                    strike,
                    1.5,
                );
                assert!(
                    (series - fourier).abs() < 1e-11,
                    "{kind} K={strike}: {series} {fourier}"
                );
            }
        }
    }
}
