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

/// The adapters the GPU tier runs on.
///
/// A job on several devices is cut into the same segments as on one and its
/// figures folded in the same order, so identical adapters give the
/// one-device answer bit for bit; different ones agree within the GPU
/// tier's f32 tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gpus {
    /// The best adapter (a discrete GPU first).
    #[default]
    Best,
    /// Every adapter like the best one: each discrete GPU of the host.
    All,
    /// These adapters, by their index in `quantmc info`'s list; an index
    /// named twice opens a second device on the same adapter.
    List(GpuList),
    /// One of [`Gpus::All`]'s adapters: the one at this position, modulo
    /// their count. Under MPI, each process passing its rank on its node
    /// gets a GPU of its own (`--gpus local-rank`).
    Rank(usize),
}

/// Most devices one GPU tier opens.
pub const MAX_GPUS: usize = 16;

/// Adapter indices, at most [`MAX_GPUS`] of them, each below 256 (plain
/// data, so run options stay `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuList {
    indices: [u8; MAX_GPUS],
    len: u8,
}

impl GpuList {
    /// The list of `indices`; an error says why it cannot be one.
    pub fn new(indices: &[usize]) -> Result<Self, String> {
        if indices.is_empty() {
            return Err("names no adapter".to_string());
        }
        if indices.len() > MAX_GPUS {
            return Err(format!(
                "names {} devices; at most {MAX_GPUS}",
                indices.len()
            ));
        }
        let mut list = Self {
            indices: [0; MAX_GPUS],
            len: indices.len() as u8,
        };
        for (slot, &index) in list.indices.iter_mut().zip(indices) {
            *slot = u8::try_from(index)
                .map_err(|_| format!("adapter {index} is past any machine's adapters"))?;
        }
        Ok(list)
    }

    /// The indices, in order.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.indices[..usize::from(self.len)]
            .iter()
            .map(|&index| usize::from(index))
    }
}

impl std::fmt::Display for Gpus {
    /// As `--gpus` takes it: `all`, `0,2`; `best` and `rank N` for the
    /// others.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Best => f.write_str("best"),
            Self::All => f.write_str("all"),
            Self::List(list) => {
                let indices: Vec<String> = list.indices().map(|i| i.to_string()).collect();
                f.write_str(&indices.join(","))
            }
            Self::Rank(rank) => write!(f, "rank {rank}"),
        }
    }
}

impl Gpus {
    /// `all`, or a comma-separated list of adapter indices such as `0,2`;
    /// an error names the part that is neither.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim() == "all" {
            return Ok(Self::All);
        }
        let indices = text
            .split(',')
            .map(|part| {
                part.trim().parse::<usize>().map_err(|_| {
                    format!(
                        "`{part}` is not an adapter index; expected `all` or indices such as 0,2"
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::List(GpuList::new(&indices)?))
    }
}
