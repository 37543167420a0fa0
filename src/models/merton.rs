//! Merton's lognormal jumps (1976), on their own over Black-Scholes or on
//! top of Heston's variance (Bates, 1996):
//!
//! ```text
//! dS/S = (r - q - lambda k) dt + sigma dW + (e^J - 1) dN,   J ~ N(mu_J, delta^2),
//! k = E[e^J - 1] = e^{mu_J + delta^2 / 2} - 1,
//! ```
//!
//! with `N` a Poisson process of intensity `lambda`. The compensator
//! `- lambda k` makes the discounted price a martingale, in the model and in
//! the simulation (the jump part of a step is exact).
//!
//! **A fixed draw budget.** A step of `dt` years adds `N mu_J + sqrt(N) delta
//! z_J` to the log price, with `N ~ Poisson(lambda dt)`: the sum of `N`
//! independent normal jumps is one normal, so a step consumes exactly two
//! draws for its jumps, whatever their number, and the streams stay
//! counter-addressable. The count is found by inversion from its draw:
//! with `V = N(-z_N)` (one minus a uniform), `N = #{n : V < P(N > n)}`
//! over the tail probabilities `P(N > n)` tabulated for the step. The table
//! runs to [`MAX_JUMPS`] entries and must reach below [`JUMP_TAIL`]: a step
//! whose count could exceed the table with a larger probability is refused
//! ([`Jumps::validate_step`]), so the budget is exact to that tolerance.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, within};
use crate::lane::LaneMath;

/// Most jumps a step can count: the length of its tail table.
pub const MAX_JUMPS: usize = 64;
/// The probability of a step's count exceeding its table that is accepted:
/// below the smallest `V` a double-precision draw can give (`N(-8.6)`,
/// about `4e-18`), so no draw can reach past the table.
pub const JUMP_TAIL: f64 = 1e-18;
/// Largest intensity accepted, jumps a year.
pub const MAX_INTENSITY: f64 = 1e4;
/// Largest `|mu_J|` and `delta` accepted (a jump of `e^10`).
pub const MAX_JUMP_SIZE: f64 = 10.0;

/// Lognormal jumps: QuantLib's `Merton76Process` and `BatesProcess` call
/// them `lambda`, `nu` and `delta`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Jumps {
    /// Jumps a year on average, >= 0.
    pub jump_intensity: f64,
    /// The mean of the log jump size (`nu`).
    pub jump_mean: f64,
    /// The standard deviation of the log jump size (`delta`), >= 0.
    pub jump_vol: f64,
}

impl Jumps {
    /// Checks every parameter, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        within("jump-intensity", self.jump_intensity, 0.0, MAX_INTENSITY)?;
        within("jump-mean", self.jump_mean, -MAX_JUMP_SIZE, MAX_JUMP_SIZE)?;
        within("jump-vol", self.jump_vol, 0.0, MAX_JUMP_SIZE)?;
        Ok(())
    }

    /// `k = E[e^J - 1]`, the mean relative jump.
    pub fn mean_jump(&self) -> f64 {
        (self.jump_mean + 0.5 * self.jump_vol * self.jump_vol).exp_m1()
    }

    /// The drift's compensator over `dt` years: `- lambda k dt`.
    pub fn compensator(&self, dt: f64) -> f64 {
        -self.jump_intensity * self.mean_jump() * dt
    }

    /// Refuses steps of `dt` years whose jump count the table cannot hold
    /// to [`JUMP_TAIL`], naming the intensity.
    pub fn validate_step(&self, dt: f64) -> Result<(), InputError> {
        let mean = self.jump_intensity * dt;
        let tails = poisson_tails(mean);
        if tails[MAX_JUMPS - 1] > JUMP_TAIL {
            return Err(InputError::invalid(
                "jump-intensity",
                self.jump_intensity,
                &format!(
                    "gives {mean:.3} jumps a step on average (steps of {dt:.4} years), past the \
                     {MAX_JUMPS} a step whose count the simulation draws exactly: take more --steps \
                     (a product on the terminal price takes one step)"
                ),
            ));
        }
        Ok(())
    }

    /// The per-step constants for steps of `dt` years.
    pub(crate) fn step(&self, dt: f64) -> JumpStep {
        let tails = poisson_tails(self.jump_intensity * dt);
        // The table ends where its tail falls below the smallest V a draw
        // can give; scanning stops there.
        let used = tails.iter().take_while(|&&t| t > 0.0).count();
        JumpStep {
            mean: self.jump_mean,
            vol: self.jump_vol,
            used: used as u32,
            tails,
        }
    }
}

/// `P(N > n)` for `n = 0 .. MAX_JUMPS - 1` and `N ~ Poisson(mean)`, each
/// summed from the far tail inwards (so a small tail keeps its relative
/// accuracy), entries below [`JUMP_TAIL`] / 1e3 set to 0.
pub(crate) fn poisson_tails(mean: f64) -> [f64; MAX_JUMPS] {
    let mut tails = [0.0; MAX_JUMPS];
    if mean <= 0.0 {
        return tails;
    }
    // Probabilities far enough past the table that what is left out is
    // below any double's resolution of these tails.
    let last = MAX_JUMPS + 64 + (10.0 * mean.sqrt()) as usize + mean as usize;
    let mut pmf = Vec::with_capacity(last + 1);
    let mut log_p = -mean;
    for k in 0..=last {
        if k > 0 {
            log_p += mean.ln() - (k as f64).ln();
        }
        pmf.push(log_p.exp());
    }
    let mut above = 0.0;
    for k in (1..=last).rev() {
        above += pmf[k];
        if k - 1 < MAX_JUMPS {
            tails[k - 1] = above;
        }
    }
    for t in &mut tails {
        if *t < JUMP_TAIL * 1e-3 {
            *t = 0.0;
        }
    }
    tails
}

/// The jumps' constants for one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JumpStep {
    /// `mu_J`.
    pub(crate) mean: f64,
    /// `delta`.
    pub(crate) vol: f64,
    /// Entries of `tails` above zero.
    pub(crate) used: u32,
    /// `P(N > n)` for the step.
    pub(crate) tails: [f64; MAX_JUMPS],
}

impl JumpStep {
    /// The constants as the WGSL twin reads them (`jump` in
    /// `shaders/models/common.wgsl`): the mean, the vol, the table's length
    /// (its bits), then the table, in f32.
    pub(crate) fn device_words(&self) -> Vec<f32> {
        let mut words = vec![self.mean as f32, self.vol as f32, f32::from_bits(self.used)];
        words.extend(self.tails[..self.used as usize].iter().map(|&t| t as f32));
        words
    }

    /// The step's jump in the log price from its count's normal `z_count`
    /// and its size's normal `z_size`.
    #[inline(always)]
    pub fn jump<L: LaneMath>(&self, z_count: L, z_size: L) -> L {
        let s = L::splat;
        let v = (-z_count).normal_cdf();
        let mut count = s(0.0);
        for &tail in &self.tails[..self.used as usize] {
            let more = s(tail) - v;
            if !more.any_positive() {
                break;
            }
            count += more.choose(s(1.0), s(0.0));
        }
        count.mul_add(s(self.mean), count.sqrt() * s(self.vol) * z_size)
    }
}

/// Merton's constants for one step: Black-Scholes' diffusion (the job's
/// drift, with the compensator, and diffusion) plus the jumps.
impl super::ModelStep for JumpStep {
    #[inline(always)]
    fn advance<L: LaneMath>(&self, x: L, _v: &mut L, drift: L, diffusion: L, z: &[L]) -> (L, L) {
        let diffused = x + (drift + diffusion * z[0]);
        // The variance of the step's diffusion, for the record: a
        // continuously watched barrier is refused under jumps.
        (diffused + self.jump(z[1], z[2]), diffusion * diffusion)
    }

    fn device_words(&self) -> Vec<f32> {
        JumpStep::device_words(self)
    }
}

impl super::ModelSpec for Jumps {
    const FACTORS: u32 = 3;
    const EXACT_STEP: bool = true;
    const USES_VOL: bool = true;
    const STOCHASTIC_VARIANCE: bool = false;
    const JUMPS: bool = true;
    const WGSL: &'static str = include_str!("../../shaders/models/merton.wgsl");
    type Step = JumpStep;

    fn validate(&self) -> Result<(), InputError> {
        Jumps::validate(self)
    }

    fn validate_step(&self, dt: f64) -> Result<(), InputError> {
        Jumps::validate_step(self, dt)
    }

    fn step(&self, _market: &crate::market::Market, dt: f64) -> JumpStep {
        Jumps::step(self, dt)
    }

    fn drift(&self, market: &crate::market::Market, dt: f64) -> f64 {
        (market.rate - market.dividend - 0.5 * market.vol * market.vol) * dt + self.compensator(dt)
    }

    fn log_cf(
        &self,
        market: &crate::market::Market,
        maturity: f64,
        u: num_complex::Complex64,
    ) -> Option<num_complex::Complex64> {
        Some(
            super::analytic::black_scholes_log_cf(market.vol, maturity, u)
                + super::analytic::jump_log_cf(self, maturity, u),
        )
    }

    fn closed_european(
        &self,
        market: &crate::market::Market,
        kind: crate::market::OptionKind,
        strike: f64,
        maturity: f64,
    ) -> Option<f64> {
        Some(super::analytic::merton_series(
            self,
            market,
            maturity,
            |m| crate::closed_form::black_scholes_precise(kind, m, strike, maturity),
        ))
    }

    fn describe(&self) -> String {
        format!(
            "merton (jumps {} a year, log size mean {}, vol {})",
            self.jump_intensity, self.jump_mean, self.jump_vol
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_are_poisson_tails() {
        for mean in [1e-4, 0.01, 0.3, 2.0, 9.5] {
            let tails = poisson_tails(mean);
            // P(N > 0) = 1 - e^{-m}; P(N > 1) = 1 - e^{-m}(1 + m).
            let expect0 = -(-mean).exp_m1();
            assert!((tails[0] - expect0).abs() <= 1e-13 * expect0, "{mean}");
            // P(N > 1) summed term by term (1 - e^{-m}(1 + m) cancels).
            let mut term = (-mean).exp() * mean;
            let mut expect1 = 0.0;
            for k in 2..60 {
                term *= mean / f64::from(k);
                expect1 += term;
            }
            assert!((tails[1] - expect1).abs() <= 1e-12 * expect1.max(1e-300) + 1e-18);
            assert!(tails.windows(2).all(|w| w[0] >= w[1]));
        }
    }

    #[test]
    fn the_count_is_the_inverse_of_its_distribution() {
        let step = Jumps {
            jump_intensity: 3.0,
            jump_mean: 0.0,
            jump_vol: 0.0,
        }
        .step(0.5);
        // With no jump size, the jump is the count times the mean; use a
        // mean of 1 to read the count.
        let step = JumpStep { mean: 1.0, ..step };
        let mut counts = [0usize; 12];
        let n = 200_000;
        for i in 0..n {
            let u = (i as f64 + 0.5) / n as f64;
            let z = crate::rng::qmc::inverse_normal(u);
            let count = step.jump(z, 0.0);
            counts[count as usize] += 1;
        }
        let mean: f64 = 1.5;
        let mut p = (-mean).exp();
        for (k, &c) in counts.iter().enumerate().take(8) {
            let freq = c as f64 / n as f64;
            assert!((freq - p).abs() < 2e-4, "P(N = {k}) = {freq} against {p}");
            p *= mean / (k + 1) as f64;
        }
    }

    #[test]
    fn a_step_with_too_many_jumps_is_refused() {
        let jumps = Jumps {
            jump_intensity: 100.0,
            jump_mean: -0.1,
            jump_vol: 0.1,
        };
        assert!(jumps.validate_step(0.01).is_ok());
        let err = jumps.validate_step(1.0).unwrap_err().to_string();
        assert!(
            err.contains("jump-intensity") && err.contains("--steps"),
            "{err}"
        );
    }
}
