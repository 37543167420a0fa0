//! Bates (1996): Heston's stochastic variance with Merton's lognormal
//! jumps, the jumps independent of both Brownian motions. A step is
//! Heston's (its scheme, QE or Euler) plus the jumps' exact step; the
//! drift carries the jumps' compensator. Factors: Heston's two (price,
//! variance), then the jumps' two (count, size).

use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use super::{Heston, HestonStep, JumpStep, Jumps, ModelSpec, ModelStep, analytic};
use crate::error::InputError;
use crate::lane::LaneMath;
use crate::market::Market;

/// Heston's parameters and the jumps'.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bates {
    /// The variance's process and the scheme.
    #[serde(flatten)]
    pub heston: Heston,
    /// The jumps.
    #[serde(flatten)]
    pub jumps: Jumps,
}

/// Bates' constants for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatesStep {
    pub(crate) heston: HestonStep,
    pub(crate) jumps: JumpStep,
}

impl ModelStep for BatesStep {
    fn start_variance(&self) -> f64 {
        self.heston.v0
    }

    #[inline(always)]
    fn advance<L: LaneMath>(&self, x: L, v: &mut L, drift: L, _diffusion: L, z: &[L]) -> (L, L) {
        let (x, next, integrated) = self.heston.advance(x, *v, drift, z[0], z[1]);
        *v = next;
        (x + self.jumps.jump(z[2], z[3]), integrated)
    }

    fn device_words(&self) -> Vec<f32> {
        let mut words = self.heston.device_words().to_vec();
        words.extend(self.jumps.device_words());
        words
    }
}

impl ModelSpec for Bates {
    const FACTORS: u32 = 4;
    const EXACT_STEP: bool = false;
    const USES_VOL: bool = false;
    const STOCHASTIC_VARIANCE: bool = true;
    const JUMPS: bool = true;
    const WGSL: &'static str = include_str!("../../shaders/models/bates.wgsl");
    type Step = BatesStep;

    fn validate(&self) -> Result<(), InputError> {
        self.heston.validate()?;
        self.jumps.validate()
    }

    fn validate_step(&self, dt: f64) -> Result<(), InputError> {
        self.jumps.validate_step(dt)
    }

    fn step(&self, _market: &Market, dt: f64) -> BatesStep {
        BatesStep {
            heston: self.heston.step(dt),
            jumps: self.jumps.step(dt),
        }
    }

    fn drift(&self, market: &Market, dt: f64) -> f64 {
        (market.rate - market.dividend) * dt + self.jumps.compensator(dt)
    }

    fn log_cf(&self, _market: &Market, maturity: f64, u: Complex64) -> Option<Complex64> {
        Some(
            analytic::heston_log_cf(&self.heston, maturity, u)
                + analytic::jump_log_cf(&self.jumps, maturity, u),
        )
    }

    fn describe(&self) -> String {
        let Heston {
            v0,
            kappa,
            theta,
            xi,
            rho,
            scheme,
        } = self.heston;
        let Jumps {
            jump_intensity,
            jump_mean,
            jump_vol,
        } = self.jumps;
        format!(
            "bates ({scheme}; v0 {v0}, kappa {kappa}, theta {theta}, xi {xi}, rho {rho}; jumps {jump_intensity} a year, log size mean {jump_mean}, vol {jump_vol})"
        )
    }
}
