//! Heston's stochastic volatility: the variance follows a square-root
//! (CIR) process correlated with the log price,
//!
//! ```text
//! dS/S = (r - q) dt + sqrt(v) dW_S,   dv = kappa (theta - v) dt + xi sqrt(v) dW_v,
//! d<W_S, W_v> = rho dt,  v(0) = v0.
//! ```
//!
//! Two discretisations, the scheme being part of a result's provenance:
//!
//! * **QE** (default): Andersen's quadratic-exponential scheme ("Simple and
//!   efficient simulation of the Heston stochastic volatility model", J.
//!   Comp. Finance 11(3), 2008) with its martingale correction (QE-M,
//!   section 4.3): the variance is drawn from a moment-matched squared
//!   normal when `psi = s^2 / m^2 <= 1.5` and from a mass at zero plus an
//!   exponential tail above, so it never goes negative; the log price takes
//!   the variance's two ends (`gamma_1 = gamma_2 = 1/2`) and `K0` is chosen
//!   per step so that the discounted price is a martingale of the scheme
//!   itself. Where the correction's moment does not exist (`A >= 1 / (2a)`
//!   or `A >= beta`, possible only with `rho > 0` and long steps) that step
//!   keeps Andersen's uncorrected `K0`.
//! * **Euler**: full-truncation Euler (Lord, Koekkoek and van Dijk, 2010) in
//!   the log price: the drift and diffusion read `max(v, 0)`, the variance
//!   itself may dip below zero between steps.
//!
//! Draws per step (the stream layout's factors): factor 0 drives the log
//! price, factor 1 the variance. QE turns its variance normal into the
//! uniform of the exponential branch as `1 - U = N(-z)`, so every draw is a
//! standard normal and mirrors (antithetic) and the Brownian bridge apply to
//! each factor alike.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, named_choices, positive, within};
use crate::lane::LaneMath;

/// Largest `v0` or `theta` accepted: a volatility of 10,000% a year, as
/// [`crate::market::MAX_VOL`].
pub const MAX_VARIANCE: f64 = 1e4;
/// Smallest long-run variance accepted (a volatility of 0.0001%): QE's
/// conditional moments need a mean variance kept off zero.
pub const MIN_THETA: f64 = 1e-12;
/// Smallest mean-reversion speed accepted.
pub const MIN_KAPPA: f64 = 1e-8;
/// Largest mean-reversion speed accepted (a half-life of about 15 minutes).
pub const MAX_KAPPA: f64 = 1e4;
/// Largest volatility of variance accepted.
pub const MAX_XI: f64 = 100.0;
/// Andersen's switch between the quadratic and exponential branches.
pub const PSI_SWITCH: f64 = 1.5;

/// How Heston's paths are discretised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HestonScheme {
    /// Andersen's quadratic-exponential scheme with martingale correction.
    #[default]
    Qe,
    /// Full-truncation Euler in the log price.
    Euler,
}

named_choices!(HestonScheme, "scheme", [HestonScheme::Qe => "qe", HestonScheme::Euler => "euler"]);

/// Heston's parameters (QuantLib's `HestonProcess` names them alike).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Heston {
    /// The variance today, >= 0.
    pub v0: f64,
    /// The variance's speed of mean reversion, > 0.
    pub kappa: f64,
    /// The long-run variance, > 0.
    pub theta: f64,
    /// The volatility of the variance, > 0.
    pub xi: f64,
    /// The correlation of the price's and the variance's Brownian motions,
    /// in (-1, 1).
    pub rho: f64,
    /// The discretisation.
    #[serde(default)]
    pub scheme: HestonScheme,
}

impl Heston {
    /// Checks every parameter, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        within("v0", self.v0, 0.0, MAX_VARIANCE)?;
        positive("kappa", self.kappa)?;
        within("kappa", self.kappa, MIN_KAPPA, MAX_KAPPA)?;
        positive("theta", self.theta)?;
        within("theta", self.theta, MIN_THETA, MAX_VARIANCE)?;
        positive("xi", self.xi)?;
        within("xi", self.xi, 0.0, MAX_XI)?;
        crate::error::finite("rho", self.rho)?;
        if self.rho.abs() >= 1.0 {
            return Err(InputError::invalid(
                "rho",
                self.rho,
                "must lie strictly between -1 and 1 (a correlation of +-1 leaves the model one factor)",
            ));
        }
        Ok(())
    }

    /// Whether Feller's condition `2 kappa theta >= xi^2` holds (the variance
    /// then never reaches zero in continuous time).
    pub fn feller(&self) -> bool {
        2.0 * self.kappa * self.theta >= self.xi * self.xi
    }

    /// The per-step constants for steps of `dt` years.
    pub(crate) fn step(&self, dt: f64) -> HestonStep {
        let Heston {
            v0,
            kappa,
            theta,
            xi,
            rho,
            scheme,
        } = *self;
        let decay = (-kappa * dt).exp();
        // 1 - e^{-kappa dt}, accurate for small kappa dt.
        let growth = -(-kappa * dt).exp_m1();
        let (gamma1, gamma2) = (0.5, 0.5);
        let k0 = -rho * kappa * theta * dt / xi;
        let k1 = gamma1 * dt * (kappa * rho / xi - 0.5) - rho / xi;
        let k2 = gamma2 * dt * (kappa * rho / xi - 0.5) + rho / xi;
        let k3 = gamma1 * dt * (1.0 - rho * rho);
        let k4 = gamma2 * dt * (1.0 - rho * rho);
        HestonStep {
            euler: scheme == HestonScheme::Euler,
            v0,
            dt,
            decay,
            theta_growth: theta * growth,
            variance_v: xi * xi * decay * growth / kappa,
            variance_theta: theta * xi * xi * growth * growth / (2.0 * kappa),
            k0,
            k1,
            k2,
            k3,
            k4,
            a: k2 + 0.5 * k4,
            kappa_dt: kappa * dt,
            theta,
            xi_sqrt_dt: xi * dt.sqrt(),
            rho,
            rho_complement: (1.0 - rho * rho).sqrt(),
        }
    }
}

/// Heston's constants for one step of `dt` years.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HestonStep {
    /// Full-truncation Euler instead of QE.
    pub(crate) euler: bool,
    /// The variance at the start.
    pub(crate) v0: f64,
    /// The step, in years.
    pub(crate) dt: f64,
    /// `e^{-kappa dt}`: the conditional mean is `v e + theta (1 - e)`.
    pub(crate) decay: f64,
    /// `theta (1 - e)`.
    pub(crate) theta_growth: f64,
    /// The conditional variance is `v variance_v + variance_theta`.
    pub(crate) variance_v: f64,
    pub(crate) variance_theta: f64,
    /// Andersen's `K0 .. K4` with `gamma_1 = gamma_2 = 1/2`.
    pub(crate) k0: f64,
    pub(crate) k1: f64,
    pub(crate) k2: f64,
    pub(crate) k3: f64,
    pub(crate) k4: f64,
    /// `A = K2 + K4 / 2`, the martingale correction's exponent.
    pub(crate) a: f64,
    /// Euler: `kappa dt`, `theta`, `xi sqrt(dt)`, `rho`, `sqrt(1 - rho^2)`.
    pub(crate) kappa_dt: f64,
    pub(crate) theta: f64,
    pub(crate) xi_sqrt_dt: f64,
    pub(crate) rho: f64,
    pub(crate) rho_complement: f64,
}

/// Words of Heston's step constants on the device (`HestonConstants` in
/// `shaders/models/common.wgsl`).
pub const HESTON_WORDS: u32 = 18;

impl HestonStep {
    /// The constants as the WGSL twin reads them (`HestonConstants` in
    /// `shaders/models/common.wgsl`), in f32.
    pub(crate) fn device_words(&self) -> [f32; HESTON_WORDS as usize] {
        [
            if self.euler { 1.0 } else { 0.0 },
            self.v0,
            self.dt,
            self.decay,
            self.theta_growth,
            self.variance_v,
            self.variance_theta,
            self.k0,
            self.k1,
            self.k2,
            self.k3,
            self.k4,
            self.a,
            self.kappa_dt,
            self.theta,
            self.xi_sqrt_dt,
            self.rho,
            self.rho_complement,
        ]
        .map(|x| x as f32)
    }

    /// One step from log price `x` (its drift `(r - q) dt` and any jump
    /// compensator in `drift`) and variance `v` on the normals `z_price`,
    /// `z_variance`: the new log price, the new variance, and the step's
    /// integrated variance (for a continuously watched barrier's bridge).
    #[inline(always)]
    pub fn advance<L: LaneMath>(
        &self,
        x: L,
        v: L,
        drift: L,
        z_price: L,
        z_variance: L,
    ) -> (L, L, L) {
        if self.euler {
            self.euler_step(x, v, drift, z_price, z_variance)
        } else {
            self.qe_step(x, v, drift, z_price, z_variance)
        }
    }

    #[inline(always)]
    fn euler_step<L: LaneMath>(&self, x: L, v: L, drift: L, zx: L, zv: L) -> (L, L, L) {
        let s = L::splat;
        let positive = v.positive_part();
        let step_variance = positive * s(self.dt);
        let root = step_variance.sqrt();
        let x_next = root.mul_add(zx, positive.mul_add(s(-0.5 * self.dt), x + drift));
        let correlated = zx.mul_add(s(self.rho), zv * s(self.rho_complement));
        let v_next = (positive.sqrt() * s(self.xi_sqrt_dt)).mul_add(
            correlated,
            (s(self.theta) - positive).mul_add(s(self.kappa_dt), v),
        );
        (x_next, v_next, step_variance)
    }

    /// QE's quadratic branch, `v' = a (b + z)^2`, from the conditional
    /// mean `m`, its square and the conditional variance `s^2`
    /// (`psi = s^2 / m^2`): the new variance, whether the martingale
    /// correction's moment exists (> 0), and `-ln E[e^{A v'}]`.
    /// `2 / psi` is `2 m^2 / s^2` (one division), and `b^2 = 2/psi - 1 +
    /// sqrt(2/psi (2/psi - 1))` takes one square root. `ln(1 - 2 A a)` by
    /// `ln_1p`: near zero variance its argument is within 1e-5 of 1, and a
    /// log formed from it would round the correction away.
    #[inline(always)]
    fn quadratic_branch<L: LaneMath>(&self, m: L, m2: L, s2: L, zv: L) -> (L, L, L) {
        let s = L::splat;
        let one = s(1.0);
        let two_over = (m2 + m2) / s2;
        let b2 = two_over - one + (two_over * (two_over - one)).positive_part().sqrt();
        let a = m / (one + b2);
        let shifted = b2.sqrt() + zv;
        let big_a = s(self.a);
        let one_minus = one - s(2.0) * big_a * a;
        let moment = -(big_a * b2 * a) / one_minus
            + s(0.5) * (s(-2.0) * big_a * a).max(s(-1.0 + 1e-16)).ln_1p();
        (a * shifted * shifted, one_minus, moment)
    }

    /// QE's exponential branch: `v' = 0` with probability `p`, else
    /// `ln((1 - p) / (1 - U)) / beta` with `1 - U = N(-z)`; the same three
    /// figures as [`HestonStep::quadratic_branch`]. `1 - p = 2 / (psi + 1)`
    /// directly (near zero variance psi is large and `1 - p` formed from
    /// `p` would lose its digits, in the GPU's f32 most of all), and
    /// `ln(p + beta (1 - p) / (beta - A)) = ln(1 + (1 - p) A / (beta - A))`
    /// by `ln_1p`.
    #[inline(always)]
    fn exponential_branch<L: LaneMath>(&self, m: L, psi: L, zv: L) -> (L, L, L) {
        let s = L::splat;
        let one_minus_p = s(2.0) / (psi + s(1.0));
        let beta = one_minus_p / m;
        let tail = (-zv).normal_cdf();
        let v_next = (one_minus_p / tail).ln().positive_part() / beta;
        let big_a = s(self.a);
        let moment = -(one_minus_p * big_a / (beta - big_a))
            .max(s(-1.0 + 1e-16))
            .ln_1p();
        (v_next, beta - big_a, moment)
    }

    #[inline(always)]
    fn qe_step<L: LaneMath>(&self, x: L, v: L, drift: L, zx: L, zv: L) -> (L, L, L) {
        let s = L::splat;
        // The conditional mean and variance of v(t + dt); theta > 0 keeps m
        // above zero, the floor guards psi and beta all the same.
        let m = v
            .mul_add(s(self.decay), s(self.theta_growth))
            .max(s(1e-300));
        let s2 = v.mul_add(s(self.variance_v), s(self.variance_theta));
        let m2 = m * m;
        // psi = s^2 / m^2 < 1.5 takes the quadratic branch, tested as
        // s^2 < 1.5 m^2 without the division (the boundary itself, a set of
        // probability zero, the exponential one on every tier). Lanes that
        // all agree compute their branch alone (most steps, away from zero
        // variance, are quadratic): the same bits, a third less work.
        let quadratic = s(PSI_SWITCH) * m2 - s2;
        let (v_next, exists, moment) = if quadratic.all_positive() {
            self.quadratic_branch(m, m2, s2, zv)
        } else if !quadratic.any_positive() {
            self.exponential_branch(m, s2 / m2, zv)
        } else {
            let (vq, eq, mq) = self.quadratic_branch(m, m2, s2, zv);
            let (ve, ee, me) = self.exponential_branch(m, s2 / m2, zv);
            (
                quadratic.choose(vq, ve),
                quadratic.choose(eq, ee),
                quadratic.choose(mq, me),
            )
        };
        let k0 = exists.choose(moment - v * s(self.k1 + 0.5 * self.k3), s(self.k0));
        let conditional = v.mul_add(s(self.k3), v_next * s(self.k4));
        let x_next = conditional.positive_part().sqrt().mul_add(
            zx,
            v_next.mul_add(s(self.k2), v.mul_add(s(self.k1), x + drift + k0)),
        );
        let integrated = (v + v_next) * s(0.5 * self.dt);
        (x_next, v_next, integrated)
    }
}

impl super::ModelStep for HestonStep {
    fn start_variance(&self) -> f64 {
        self.v0
    }

    #[inline(always)]
    fn advance<L: LaneMath>(&self, x: L, v: &mut L, drift: L, _diffusion: L, z: &[L]) -> (L, L) {
        let (x, next, integrated) = HestonStep::advance(self, x, *v, drift, z[0], z[1]);
        *v = next;
        (x, integrated)
    }

    fn device_words(&self) -> Vec<f32> {
        HestonStep::device_words(self).to_vec()
    }
}

impl super::ModelSpec for Heston {
    const FACTORS: u32 = 2;
    const EXACT_STEP: bool = false;
    const USES_VOL: bool = false;
    const STOCHASTIC_VARIANCE: bool = true;
    const JUMPS: bool = false;
    const WGSL: &'static str = include_str!("../../shaders/models/heston.wgsl");
    type Step = HestonStep;

    fn validate(&self) -> Result<(), InputError> {
        Heston::validate(self)
    }

    fn step(&self, _market: &crate::market::Market, dt: f64) -> HestonStep {
        Heston::step(self, dt)
    }

    fn drift(&self, market: &crate::market::Market, dt: f64) -> f64 {
        (market.rate - market.dividend) * dt
    }

    fn log_cf(
        &self,
        _market: &crate::market::Market,
        maturity: f64,
        u: num_complex::Complex64,
    ) -> Option<num_complex::Complex64> {
        Some(super::analytic::heston_log_cf(self, maturity, u))
    }

    fn describe(&self) -> String {
        let Heston {
            v0,
            kappa,
            theta,
            xi,
            rho,
            scheme,
        } = *self;
        format!("heston ({scheme}; v0 {v0}, kappa {kappa}, theta {theta}, xi {xi}, rho {rho})")
    }
}
