//! `Backend::Auto`: pick the fastest tier for the hardware and the job, from
//! crossover points that `quantmc calibrate` measures on this machine.
//!
//! The cost model is the job's work (paths x time steps for pricing, scenarios
//! x assets for VaR) against two crossovers per workload: above `rayon`, all
//! cores beat one vectorised core (thread start-up and the chunk granularity
//! are paid back); above `gpu`, a (real) GPU beats the CPU (setup and transfers
//! are paid back). The scalar tier is the reference, never the fastest.

use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::pricing::PricingJob;
use crate::risk::VarJob;

/// Where the calibration is read and written, overriding the cache directory.
pub const CALIBRATION_ENV: &str = "QUANTMC_CALIBRATION";

/// Bumped when the file's meaning changes; older files are stale.
pub const CALIBRATION_VERSION: u32 = 1;

/// Which crossovers apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    Pricing,
    Risk,
}

/// A job's size in the units the crossovers are measured in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    pub workload: Workload,
    pub units: f64,
    /// Independent samples (paths, pairs or scenarios): the rayon tier splits
    /// them into fixed chunks, so it cannot help a job of a single chunk.
    pub samples: u64,
}

impl Work {
    /// Paths x time steps.
    pub fn pricing(job: &PricingJob) -> Self {
        Self {
            workload: Workload::Pricing,
            units: job.paths as f64 * f64::from(job.option.time_steps()),
            samples: job.samples(),
        }
    }

    /// Scenarios x assets.
    pub fn risk(job: &VarJob) -> Self {
        Self {
            workload: Workload::Risk,
            units: job.scenarios as f64 * job.portfolio.assets.len() as f64,
            samples: job.scenarios,
        }
    }
}

/// The kind of GPU adapter the machine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuClass {
    Discrete,
    Integrated,
    /// Virtual or unknown hardware.
    Other,
    /// A CPU-type adapter such as lavapipe: never chosen by Auto.
    Software,
}

/// Crossovers of one workload, in work units; `None` where the faster tier
/// never won in calibration (or, for the GPU, was not measured).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Crossovers {
    pub rayon: Option<f64>,
    pub gpu: Option<f64>,
}

/// The machine a calibration was measured on: a file from another machine, or
/// another quantmc, is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub cpu_model: String,
    pub logical_cores: usize,
    pub simd: String,
    pub quantmc: String,
}

impl Fingerprint {
    pub fn current() -> Self {
        let hw = crate::hardware::detect();
        Self {
            cpu_model: hw.cpu_model.clone(),
            logical_cores: hw.logical_cores,
            simd: hw.simd.to_string(),
            quantmc: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// What `quantmc calibrate` stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub version: u32,
    pub machine: Fingerprint,
    pub pricing: Crossovers,
    pub risk: Crossovers,
}

impl Calibration {
    /// Built-in crossovers, measured with `quantmc calibrate` on the 2-core
    /// development machine (see the README). No GPU crossover: without a
    /// measurement on this machine, Auto stays on the CPU.
    pub fn builtin() -> Self {
        Self {
            version: CALIBRATION_VERSION,
            machine: Fingerprint::current(),
            pricing: Crossovers {
                rayon: Some(BUILTIN_PRICING_RAYON),
                gpu: None,
            },
            risk: Crossovers {
                rayon: Some(BUILTIN_RISK_RAYON),
                gpu: None,
            },
        }
    }

    fn crossovers(&self, workload: Workload) -> &Crossovers {
        match workload {
            Workload::Pricing => &self.pricing,
            Workload::Risk => &self.risk,
        }
    }
}

/// Measured by `quantmc calibrate` on the development machine (2-core Zen 3):
/// rayon first beats simd at 2^16 paths (2^14 lost: one chunk), in every run;
/// for VaR the measured crossover moved between 8.2e4 and 1.3e6 work units
/// (2^13 to 2^17 scenarios x 10 assets) from run to run, and the built-in
/// value sits between them.
const BUILTIN_PRICING_RAYON: f64 = 32_768.0;
const BUILTIN_RISK_RAYON: f64 = 327_680.0;

/// Why a calibration file was not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationProblem {
    #[error("cannot read {path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path} is corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "{path} is stale: measured on {found} with quantmc version {found_version}, this is {expected} with {expected_version}; run `quantmc calibrate` again"
    )]
    Stale {
        path: PathBuf,
        found: String,
        found_version: String,
        expected: String,
        expected_version: String,
    },
}

/// The calibration file's path: `$QUANTMC_CALIBRATION`, else
/// `<cache dir>/quantmc/calibration.json`.
pub fn calibration_path() -> Option<PathBuf> {
    match std::env::var_os(CALIBRATION_ENV) {
        Some(path) => Some(PathBuf::from(path)),
        None => dirs::cache_dir().map(|dir| dir.join("quantmc").join("calibration.json")),
    }
}

/// Reads a calibration file, checking it was measured here by this version.
/// `Ok(None)` when there is no file.
pub fn load_from(path: &Path) -> Result<Option<Calibration>, CalibrationProblem> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(CalibrationProblem::Unreadable {
                path: path.to_path_buf(),
                message: err.to_string(),
            });
        }
    };
    let calibration: Calibration =
        serde_json::from_str(&text).map_err(|err| CalibrationProblem::Corrupt {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    let here = Fingerprint::current();
    if calibration.version != CALIBRATION_VERSION || calibration.machine != here {
        return Err(CalibrationProblem::Stale {
            path: path.to_path_buf(),
            found: format!(
                "{} ({} cores, {})",
                calibration.machine.cpu_model,
                calibration.machine.logical_cores,
                calibration.machine.simd
            ),
            found_version: format!(
                "{} (format {})",
                calibration.machine.quantmc, calibration.version
            ),
            expected: format!(
                "{} ({} cores, {})",
                here.cpu_model, here.logical_cores, here.simd
            ),
            expected_version: format!("{} (format {CALIBRATION_VERSION})", here.quantmc),
        });
    }
    for (name, value) in [
        ("pricing.rayon", calibration.pricing.rayon),
        ("pricing.gpu", calibration.pricing.gpu),
        ("risk.rayon", calibration.risk.rayon),
        ("risk.gpu", calibration.risk.gpu),
    ] {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(CalibrationProblem::Corrupt {
                path: path.to_path_buf(),
                message: format!("{name} = {value:?} is not a work count"),
            });
        }
    }
    Ok(Some(calibration))
}

/// Writes `calibration` to `path`, creating its folder.
pub fn save_to(calibration: &Calibration, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(calibration).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// The process's calibration: the file if usable, else the built-in defaults.
/// A corrupt or stale file is reported once on stderr and ignored.
pub fn calibration() -> &'static Calibration {
    static CALIBRATION: OnceLock<Calibration> = OnceLock::new();
    CALIBRATION.get_or_init(|| {
        let Some(path) = calibration_path() else {
            return Calibration::builtin();
        };
        match load_from(&path) {
            Ok(Some(calibration)) => calibration,
            Ok(None) => Calibration::builtin(),
            Err(problem) => {
                eprintln!("warning: ignoring the calibration file: {problem}");
                Calibration::builtin()
            }
        }
    })
}

/// Auto's choice and the reason, e.g.
/// `rayon: 2 cores, 3.2e8 work units > 3.2e4 crossover`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub backend: Backend,
    pub reason: String,
}

/// Chooses a tier for `work` on a machine with `cores` cores. `gpu` is asked
/// only when the job is large enough for a GPU to win, so a small job never
/// pays for probing adapters.
pub fn decide(
    work: Work,
    cores: usize,
    gpu: impl FnOnce() -> Option<GpuClass>,
    calibration: &Calibration,
) -> Decision {
    let crossovers = calibration.crossovers(work.workload);
    let units = work.units;
    if let Some(gpu_crossover) = crossovers.gpu
        && units > gpu_crossover
    {
        match gpu() {
            Some(GpuClass::Software) => {}
            Some(class) => {
                return Decision {
                    backend: Backend::Gpu,
                    reason: format!(
                        "gpu: {class:?} adapter, {units:.1e} work units > {gpu_crossover:.1e} crossover"
                    ),
                };
            }
            None => {}
        }
    }
    cpu_decision(work, cores, crossovers)
}

/// The best CPU tier for `work`.
fn cpu_decision(work: Work, cores: usize, crossovers: &Crossovers) -> Decision {
    let units = work.units;
    match crossovers.rayon {
        _ if cores < 2 => Decision {
            backend: Backend::Simd,
            reason: "simd: 1 core, so threads cannot help".to_string(),
        },
        _ if work.samples <= crate::backend::CHUNK => Decision {
            backend: Backend::Simd,
            reason: format!(
                "simd: {} samples fit one {}-sample chunk, so threads cannot help",
                work.samples,
                crate::backend::CHUNK
            ),
        },
        Some(crossover) if units > crossover => Decision {
            backend: Backend::Rayon,
            reason: format!(
                "rayon: {cores} cores, {units:.1e} work units > {crossover:.1e} crossover"
            ),
        },
        Some(crossover) => Decision {
            backend: Backend::Simd,
            reason: format!("simd: {units:.1e} work units <= {crossover:.1e} rayon crossover"),
        },
        None => Decision {
            backend: Backend::Simd,
            reason: "simd: threads never won in calibration".to_string(),
        },
    }
}

/// The CPU choice after a GPU that `decide` picked failed to start; says so
/// once per process on stderr.
pub fn fall_back_from_gpu(work: Work, cores: usize, why: &str) -> Decision {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| eprintln!("warning: the GPU could not start ({why}); using the CPU"));
    let mut decision = cpu_decision(work, cores, calibration().crossovers(work.workload));
    decision.reason = format!("{} (GPU unavailable: {why})", decision.reason);
    decision
}
