//! Black-Scholes: `d ln S = (r - q - vol^2 / 2) dt + vol dW`, the first
//! model. Its step is exact over any interval, one normal each, and it is
//! the layout every tier had before the model axis: its kernels are the
//! tiers' original, specialised ones, bit for bit.

use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use super::{ModelSpec, ModelStep, analytic};
use crate::error::InputError;
use crate::lane::LaneMath;
use crate::market::{Market, OptionKind};

/// Black-Scholes takes its volatility from the market (`Market::vol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BlackScholes {}

/// Black-Scholes' step needs nothing beyond the job's drift and diffusion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlackScholesStep {
    /// `vol^2 dt`.
    pub(crate) step_variance: f64,
}

impl ModelStep for BlackScholesStep {
    #[inline(always)]
    fn advance<L: LaneMath>(&self, x: L, _v: &mut L, drift: L, diffusion: L, z: &[L]) -> (L, L) {
        (x + (drift + diffusion * z[0]), L::splat(self.step_variance))
    }

    fn device_words(&self) -> Vec<f32> {
        Vec::new()
    }
}

impl ModelSpec for BlackScholes {
    const FACTORS: u32 = 1;
    const EXACT_STEP: bool = true;
    const USES_VOL: bool = true;
    const STOCHASTIC_VARIANCE: bool = false;
    const JUMPS: bool = false;
    const WGSL: &'static str = include_str!("../../shaders/models/black_scholes.wgsl");
    type Step = BlackScholesStep;

    fn validate(&self) -> Result<(), InputError> {
        Ok(())
    }

    fn step(&self, market: &Market, dt: f64) -> BlackScholesStep {
        BlackScholesStep {
            step_variance: market.vol * market.vol * dt,
        }
    }

    fn drift(&self, market: &Market, dt: f64) -> f64 {
        (market.rate - market.dividend - 0.5 * market.vol * market.vol) * dt
    }

    fn log_cf(&self, market: &Market, maturity: f64, u: Complex64) -> Option<Complex64> {
        Some(analytic::black_scholes_log_cf(market.vol, maturity, u))
    }

    fn closed_european(
        &self,
        market: &Market,
        kind: OptionKind,
        strike: f64,
        maturity: f64,
    ) -> Option<f64> {
        Some(crate::closed_form::black_scholes_precise(
            kind, market, strike, maturity,
        ))
    }

    fn describe(&self) -> String {
        "bs".to_string()
    }
}
