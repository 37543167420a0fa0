//! The Black-Scholes market and the call/put choice: what every product is
//! priced in.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, named_choices, positive, within};

/// Largest spot or strike accepted, and the inverse is the smallest: payoffs
/// and their squares stay far inside f64 over any path count.
pub const MAX_PRICE: f64 = 1e100;
/// Largest |rate| or |dividend| accepted (10,000% a year).
pub const MAX_RATE: f64 = 100.0;
/// Largest volatility accepted (10,000% a year).
pub const MAX_VOL: f64 = 100.0;

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptionKind {
    /// The right to buy: pays on the underlying above the strike.
    Call,
    /// The right to sell: pays on the underlying below the strike.
    Put,
}

named_choices!(OptionKind, "option", [OptionKind::Call => "call", OptionKind::Put => "put"]);

/// Black-Scholes market: the underlying follows
/// `dS = (rate - dividend) S dt + vol S dW` under the pricing measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Market {
    /// Price of the underlying today, > 0.
    pub spot: f64,
    /// Continuously compounded risk-free rate (any finite value).
    pub rate: f64,
    /// Continuous dividend yield (any finite value).
    pub dividend: f64,
    /// Annualised volatility, > 0.
    pub vol: f64,
}

impl Market {
    /// Checks every field, naming the first bad one: spot in
    /// [1e-100, 1e100], |rate| and |dividend| at most 100, vol in (0, 100].
    pub fn validate(&self) -> Result<(), InputError> {
        within("spot", self.spot, 1.0 / MAX_PRICE, MAX_PRICE)?;
        within("rate", self.rate, -MAX_RATE, MAX_RATE)?;
        within("dividend", self.dividend, -MAX_RATE, MAX_RATE)?;
        positive("vol", self.vol)?;
        within("vol", self.vol, 0.0, MAX_VOL)?;
        Ok(())
    }
}

/// Which way a barrier knocks, and whether it knocks the option out or in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BarrierKind {
    /// Dies when the price reaches the barrier from below.
    UpAndOut,
    /// Comes alive when the price reaches the barrier from below.
    UpAndIn,
    /// Dies when the price reaches the barrier from above.
    DownAndOut,
    /// Comes alive when the price reaches the barrier from above.
    DownAndIn,
}

named_choices!(BarrierKind, "barrier-kind", [
    BarrierKind::UpAndOut => "up-and-out",
    BarrierKind::UpAndIn => "up-and-in",
    BarrierKind::DownAndOut => "down-and-out",
    BarrierKind::DownAndIn => "down-and-in",
]);

impl BarrierKind {
    /// Whether the barrier lies above the spot.
    pub fn is_up(self) -> bool {
        matches!(self, BarrierKind::UpAndOut | BarrierKind::UpAndIn)
    }

    /// Whether reaching the barrier knocks the option in (else out).
    pub fn is_in(self) -> bool {
        matches!(self, BarrierKind::UpAndIn | BarrierKind::DownAndIn)
    }
}

/// When the barrier is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Monitoring {
    /// At the fixings `t_i = i T / N` only.
    #[default]
    Discrete,
    /// At every instant: between fixings the path is a Brownian bridge, and
    /// each path is weighted by its exact probability of not having crossed.
    Continuous,
}

named_choices!(Monitoring, "monitoring", [
    Monitoring::Discrete => "discrete",
    Monitoring::Continuous => "continuous",
]);

/// A barrier on the underlying, with a rebate paid at expiry when the option
/// is not alive then (knocked out, or never knocked in).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Barrier {
    /// The barrier level, > 0, above the spot for up barriers and below it
    /// for down ones.
    pub level: f64,
    /// Up or down, out or in.
    pub kind: BarrierKind,
    /// Cash paid at expiry when the option is not alive, >= 0.
    #[serde(default)]
    pub rebate: f64,
    /// Discrete (at the fixings) or continuous.
    #[serde(default)]
    pub monitoring: Monitoring,
}

impl Barrier {
    /// Whether `spot` is already at or beyond the barrier: the option is
    /// knocked out (worth its rebate) or in (the vanilla) before it starts.
    pub fn breached_at(&self, spot: f64) -> bool {
        if self.kind.is_up() {
            spot >= self.level
        } else {
            spot <= self.level
        }
    }
}
