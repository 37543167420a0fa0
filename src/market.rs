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
