//! The compute tiers by name: what a caller asks for and what a result reports.

use serde::{Deserialize, Serialize};

use crate::error::named_choices;

/// A compute tier: what ran a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The plain f64 reference, one path at a time: the oracle.
    Scalar,
    /// One core, vectorised.
    Simd,
    /// All cores, deterministic.
    Rayon,
    /// WGSL compute shaders through wgpu.
    Gpu,
}

named_choices!(Tier, "tier", [
    Tier::Scalar => "scalar",
    Tier::Simd => "simd",
    Tier::Rayon => "rayon",
    Tier::Gpu => "gpu",
]);

impl Tier {
    /// Every tier, slowest first.
    pub const ALL: [Tier; 4] = [Tier::Scalar, Tier::Simd, Tier::Rayon, Tier::Gpu];
}

/// Which compute tier runs a job: a fixed tier, or `Auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Pick a tier from the detected hardware and the job's size.
    #[default]
    Auto,
    /// [`Tier::Scalar`].
    Scalar,
    /// [`Tier::Simd`].
    Simd,
    /// [`Tier::Rayon`].
    Rayon,
    /// [`Tier::Gpu`].
    Gpu,
}

named_choices!(Backend, "backend", [
    Backend::Auto => "auto",
    Backend::Scalar => "scalar",
    Backend::Simd => "simd",
    Backend::Rayon => "rayon",
    Backend::Gpu => "gpu",
]);

impl Backend {
    /// The fixed tier, or `None` for `Auto`.
    pub fn tier(self) -> Option<Tier> {
        match self {
            Backend::Auto => None,
            Backend::Scalar => Some(Tier::Scalar),
            Backend::Simd => Some(Tier::Simd),
            Backend::Rayon => Some(Tier::Rayon),
            Backend::Gpu => Some(Tier::Gpu),
        }
    }
}

impl From<Tier> for Backend {
    fn from(tier: Tier) -> Self {
        match tier {
            Tier::Scalar => Backend::Scalar,
            Tier::Simd => Backend::Simd,
            Tier::Rayon => Backend::Rayon,
            Tier::Gpu => Backend::Gpu,
        }
    }
}
