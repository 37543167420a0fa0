//! The Black-Scholes market and the call/put choice: what every product is
//! priced in.

use serde::{Deserialize, Serialize};

use crate::error::{InputError, finite, named_choices, positive};

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
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        positive("spot", self.spot)?;
        finite("rate", self.rate)?;
        finite("dividend", self.dividend)?;
        positive("vol", self.vol)?;
        Ok(())
    }
}
