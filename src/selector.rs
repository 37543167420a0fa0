//! `Backend::Auto`: pick the fastest tier for the hardware and the job, from
//! crossover points that `quantmc calibrate` measures on this machine.
//!
//! The cost model is the job's work (paths x time steps for pricing, scenarios
//! x assets for VaR) against two crossovers per workload: above `rayon`, all
//! cores beat one vectorised core (thread start-up and the chunk granularity
//! are paid back); above `gpu`, a (real) GPU beats the CPU (setup and transfers
//! are paid back). The scalar tier is the reference, never the fastest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::hardware::GpuClass;
use crate::pricing::PricingJob;
use crate::risk::{RiskModel, VarJob};
use crate::tier::Tier;

/// Largest calibration file read (a real one is under 1 KB).
pub const MAX_CALIBRATION_BYTES: u64 = 1 << 20;

/// Bumped when the file's meaning changes; older files are stale. Version 2
/// keys the crossovers by tier.
pub const CALIBRATION_VERSION: u32 = 2;

/// Which crossovers apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Option pricing: work is paths x time steps.
    Pricing,
    /// VaR/ES: work is scenarios x assets.
    Risk,
}

/// A job's size in the units the crossovers are measured in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// Which crossovers apply.
    pub workload: Workload,
    /// Paths x time steps, or scenarios x assets.
    pub units: f64,
    /// Independent samples (paths, pairs or scenarios): the rayon tier splits
    /// them into fixed chunks, so it cannot help a job of a single chunk.
    pub samples: u64,
    /// Why the GPU kernels cannot run the job, if they cannot: its prices
    /// leave their f32 arithmetic, or Greeks the device does not estimate
    /// ([`crate::backend::gpu_problem`]). Auto
    /// never picks the GPU then.
    pub gpu_unsupported: Option<&'static str>,
}

impl Work {
    /// Paths x time steps.
    pub fn pricing(job: &PricingJob) -> Self {
        Self {
            workload: Workload::Pricing,
            units: job.paths as f64 * f64::from(job.time_steps()) * job.model.cost_per_step(),
            samples: job.samples(),
            gpu_unsupported: crate::backend::gpu_problem(job).map(|(reason, _)| reason),
        }
    }

    /// Paths x steps x assets, an asset-step [`basket_asset_step_cost`]
    /// Black-Scholes steps, for `job` compiled into `plan`.
    pub fn basket(job: &crate::basket::BasketJob, plan: &crate::basket::BasketPlan) -> Self {
        let d = job.assets.len();
        Self {
            workload: Workload::Pricing,
            units: job.paths as f64 * f64::from(job.steps) * d as f64 * basket_asset_step_cost(d),
            samples: job.samples(),
            gpu_unsupported: crate::backend::basket_gpu_problem(plan).map(|(reason, _)| reason),
        }
    }

    /// Paths x steps of both passes (the calibration's regressions cost
    /// about a path's steps again a date), a Black-Scholes step each. The
    /// GPU has no early-exercise kernel.
    pub fn exercise(job: &crate::exercise::ExerciseJob) -> Self {
        let steps = f64::from(job.job.option.steps);
        let step_cost = job.job.model.cost_per_step();
        let calibration =
            job.calibration_paths() as f64 * (steps * step_cost + f64::from(job.dates()));
        Self {
            workload: Workload::Pricing,
            units: job.job.paths as f64 * steps * step_cost + calibration,
            samples: job.job.samples().min(job.calibration_paths()),
            gpu_unsupported: Some("early exercise has no GPU kernel yet"),
        }
    }

    /// A basket's early exercise: paths x steps x assets of both passes,
    /// as [`Work::exercise`]'s. The GPU has no early-exercise kernel.
    pub fn basket_exercise(job: &crate::exercise::ExerciseJob<crate::basket::BasketJob>) -> Self {
        let basket = &job.job;
        let d = basket.assets.len();
        let steps = f64::from(basket.steps) * d as f64 * basket_asset_step_cost(d);
        let calibration =
            job.calibration_paths() as f64 * (steps + f64::from(job.dates()) * d as f64);
        Self {
            workload: Workload::Pricing,
            units: basket.paths as f64 * steps + calibration,
            samples: basket.samples().min(job.calibration_paths()),
            gpu_unsupported: Some("early exercise has no GPU kernel yet"),
        }
    }

    /// Scenarios x (assets + [`OPTION_UNITS`] per option), for a job whose
    /// risk model is `model`.
    pub fn risk(job: &VarJob, model: &RiskModel) -> Self {
        Self {
            workload: Workload::Risk,
            units: job.scenarios as f64
                * (job.portfolio.assets.len() + OPTION_UNITS * job.portfolio.options.len()) as f64,
            samples: job.scenarios,
            gpu_unsupported: crate::backend::risk_gpu_problem(model).map(|(reason, _)| reason),
        }
    }
}

/// One asset's step of a `d`-asset basket in Black-Scholes steps: a
/// normal draw and the correlation's `d / 2` multiply-adds, against an
/// arithmetic Asian's step (a normal draw and an exponential). Measured
/// side by side on the SIMD tier (AVX-512, 64 steps, 2026-12-07): 0.78 at
/// 2 assets, 0.83 at 10.
pub fn basket_asset_step_cost(assets: usize) -> f64 {
    0.77 + 0.006 * assets as f64
}

/// Work units of revaluing one option in one scenario, in assets' worth
/// (a normal draw and a multiply-add each): measured on the SIMD tier, 10
/// assets cost 34.4 ns a scenario and five options on four of them another
/// 38.3 ns, about 2.3 assets' worth each.
pub const OPTION_UNITS: usize = 2;

/// Where each tier starts to beat the tiers below it, in work units, keyed by
/// tier (a JSON object such as `{"rayon": 32768.0}`); a tier without an entry
/// never won in calibration (or, for the GPU, was not measured). The SIMD tier
/// is the baseline and needs none; the scalar tier is never picked.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(into = "BTreeMap<Tier, f64>", from = "BTreeMap<Tier, f64>")]
pub struct Crossovers {
    by_tier: [Option<f64>; Tier::ALL.len()],
}

impl Crossovers {
    /// Crossovers from `(tier, work units)` pairs.
    pub fn new(entries: impl IntoIterator<Item = (Tier, Option<f64>)>) -> Self {
        let mut crossovers = Self::default();
        for (tier, units) in entries {
            crossovers.by_tier[tier as usize] = units;
        }
        crossovers
    }

    /// The crossover of `tier`, if it has one.
    pub fn get(&self, tier: Tier) -> Option<f64> {
        self.by_tier[tier as usize]
    }

    /// Every tier that has a crossover, with it.
    pub fn entries(&self) -> impl Iterator<Item = (Tier, f64)> + '_ {
        Tier::ALL
            .into_iter()
            .filter_map(|tier| self.get(tier).map(|units| (tier, units)))
    }
}

impl From<Crossovers> for BTreeMap<Tier, f64> {
    fn from(crossovers: Crossovers) -> Self {
        crossovers.entries().collect()
    }
}

impl From<BTreeMap<Tier, f64>> for Crossovers {
    fn from(map: BTreeMap<Tier, f64>) -> Self {
        Self::new(map.into_iter().map(|(tier, units)| (tier, Some(units))))
    }
}

/// Crossovers for both workloads: what Auto decides with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// Option pricing.
    pub pricing: Crossovers,
    /// VaR/ES.
    pub risk: Crossovers,
}

impl Tuning {
    /// Built-in crossovers for this machine's logical cores
    /// ([`Tuning::builtin_for`]).
    pub fn builtin() -> Self {
        Self::builtin_for(crate::hardware::detect().logical_cores)
    }

    /// Built-in crossovers for a run on `cores` cores: for rayon, pricing
    /// one 16,384-path chunk a core ([`BUILTIN_PRICING_RAYON_PER_CORE`]) and
    /// a VaR crossover measured with `quantmc calibrate` on the 2-core
    /// development machine (see docs/src/auto.md); GPU ones that grow with the
    /// cores the CPU would run on ([`BUILTIN_GPU_PER_CORE`]), for pricing and
    /// VaR alike.
    pub fn builtin_for(cores: usize) -> Self {
        let cores = cores.max(1) as f64;
        let gpu = BUILTIN_GPU_PER_CORE * cores;
        Self {
            pricing: Crossovers::new([
                (Tier::Rayon, Some(BUILTIN_PRICING_RAYON_PER_CORE * cores)),
                (Tier::Gpu, Some(gpu)),
            ]),
            risk: Crossovers::new([
                (Tier::Rayon, Some(BUILTIN_RISK_RAYON)),
                (Tier::Gpu, Some(gpu)),
            ]),
        }
    }

    fn crossovers(&self, workload: Workload) -> &Crossovers {
        match workload {
            Workload::Pricing => &self.pricing,
            Workload::Risk => &self.risk,
        }
    }
}

/// The machine a calibration was measured on: a file from another machine, or
/// another quantmc, is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The processor's name.
    pub cpu_model: String,
    /// Logical cores.
    pub logical_cores: usize,
    /// The SIMD instruction set the binary was built for.
    pub simd: String,
    /// quantmc's version.
    pub quantmc: String,
}

impl Fingerprint {
    /// This machine and this build.
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
    /// [`CALIBRATION_VERSION`] when written.
    pub version: u32,
    /// Where it was measured.
    pub machine: Fingerprint,
    /// The crossovers.
    #[serde(flatten)]
    pub tuning: Tuning,
}

impl Calibration {
    /// The built-in crossovers ([`Tuning::builtin`]) for this machine.
    pub fn builtin() -> Self {
        Self {
            version: CALIBRATION_VERSION,
            machine: Fingerprint::current(),
            tuning: Tuning::builtin(),
        }
    }
}

/// Path-steps per core above which the rayon tier prices faster than one
/// SIMD core: one 16,384-path chunk a core, for the threads' start-up grows
/// with their number. Measured: on the 2-core development machine (Zen 3)
/// `quantmc calibrate` put the crossover at 2^15 paths (2^14 lost: one
/// chunk) in every run; on a 16-core Xeon (H200 host, 2026-11-27, whole
/// processes) one core still won European 1e5 paths (2.9 against 3.9 ms)
/// and lost 1e6 (9.4 against 4.6 ms).
pub const BUILTIN_PRICING_RAYON_PER_CORE: f64 = 16_384.0;
/// VaR's rayon crossover: measured on the development machine between 8.2e4
/// and 1.3e6 work units (2^13 to 2^17 scenarios x 10 assets) from run to run,
/// the built-in value between them; on the 16-core Xeon rayon won from 10^5
/// scenarios (10^6 units) and lost 10^4, so it does not grow with the cores.
const BUILTIN_RISK_RAYON: f64 = 327_680.0;
/// Work units per CPU core above which a (real, non-software) GPU beats the
/// CPU even when the call pays the GPU's start-up, for pricing (path-steps)
/// and VaR (scenarios x assets) alike. Measured on 2026-11-27 on a lent
/// NVIDIA H100 host (16 Xeon cores), whole processes: a GPU job costs about
/// 0.25 s of start-up (device, pipelines) plus its work at 1.7e11 path-steps/s
/// or 5.6e10 VaR units/s; the rayon tier does 1.2e8 path-steps/s and 7.9e7
/// VaR units/s per core. Where the GPU's work is nearly free beside the
/// CPU's, the crossover is the start-up times the CPU's rate: 3e7 per core
/// for pricing, 3.2e7 for VaR (0.4 s of start-up with the VaR kernels). A
/// CPU faster per core moves the true crossover up, a slower GPU too;
/// `quantmc calibrate` replaces it with a measurement.
pub const BUILTIN_GPU_PER_CORE: f64 = 3e7;

/// Why a calibration file was not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[allow(missing_docs)]
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

/// Reads a calibration file, checking it was measured here by this version.
/// `Ok(None)` when there is no file.
/// Only a regular file of at most [`MAX_CALIBRATION_BYTES`] is read.
pub fn load_from(path: &Path) -> Result<Option<Calibration>, CalibrationProblem> {
    if !path.exists() && path.symlink_metadata().is_err() {
        return Ok(None);
    }
    let text = crate::files::read_capped(path, MAX_CALIBRATION_BYTES).map_err(|message| {
        CalibrationProblem::Unreadable {
            path: path.to_path_buf(),
            message,
        }
    })?;
    parse_calibration(&text, path).map(Some)
}

/// Parses a calibration document and checks it was measured here by this
/// version; `path` names it in problems.
pub fn parse_calibration(text: &str, path: &Path) -> Result<Calibration, CalibrationProblem> {
    let calibration: Calibration =
        serde_json::from_str(text).map_err(|err| CalibrationProblem::Corrupt {
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
    for (workload, crossovers) in [
        ("pricing", &calibration.tuning.pricing),
        ("risk", &calibration.tuning.risk),
    ] {
        for (tier, value) in crossovers.entries() {
            if !value.is_finite() || value < 0.0 {
                return Err(CalibrationProblem::Corrupt {
                    path: path.to_path_buf(),
                    message: format!("{workload}.{tier} = {value:?} is not a work count"),
                });
            }
        }
    }
    Ok(calibration)
}

/// Writes `calibration` to `path`, creating its folder (user-only on Unix).
///
/// The file is written whole to a temporary file beside it, flushed to disk
/// and renamed over `path`, so a concurrent reader sees the old file or the
/// new one, never a truncated one, and a symlink at `path` is replaced, not
/// followed.
pub fn save_to(calibration: &Calibration, path: &Path) -> std::io::Result<()> {
    let dir = crate::files::folder_of(path);
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
    }
    let text = serde_json::to_string_pretty(calibration).map_err(std::io::Error::other)?;
    crate::files::write_atomic(path, (text + "\n").as_bytes())
}

/// Auto's choice and the reason, e.g.
/// `rayon: 2 cores, 3.2e8 work units > 3.2e4 crossover`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The tier.
    pub tier: Tier,
    /// Why, in words.
    pub reason: String,
}

/// Chooses a tier for `work` on a machine with `cores` cores. `gpu` is asked
/// only when the job is large enough for a GPU to win, so a small job never
/// pays for probing adapters.
pub fn decide(
    work: Work,
    cores: usize,
    gpu: impl FnOnce() -> Option<GpuClass>,
    tuning: &Tuning,
) -> Decision {
    decide_among(
        work,
        cores,
        gpu,
        tuning.crossovers(work.workload),
        &Tier::ALL,
    )
}

/// The fastest of `candidates` for `work`: tiers are tried from the last
/// (fastest) down; a tier is picked when the job's work exceeds its
/// crossover and the machine can run it ([`crate::backend::eligible`]);
/// the SIMD tier is the baseline. Nothing here names a tier beyond that
/// baseline: a new tier brings its crossover and its eligibility rule.
fn decide_among(
    work: Work,
    cores: usize,
    gpu: impl FnOnce() -> Option<GpuClass>,
    crossovers: &Crossovers,
    candidates: &[Tier],
) -> Decision {
    let units = work.units;
    let mut probe = Some(gpu);
    // Why the tier tried last (the one nearest the baseline) was passed over.
    let mut why_not = None;
    let machine = crate::backend::Machine {
        cores,
        samples: work.samples,
        gpu_unsupported: work.gpu_unsupported,
    };
    for &tier in candidates.iter().rev() {
        if matches!(tier, Tier::Scalar | Tier::Simd) {
            continue;
        }
        // Rules that need no probe come first, so a small job never probes
        // adapters.
        let Some(crossover) = crossovers.get(tier) else {
            why_not = Some(format!("{tier} never won in calibration"));
            continue;
        };
        if units <= crossover {
            why_not = Some(format!(
                "{units:.1e} work units <= {crossover:.1e} {tier} crossover"
            ));
            continue;
        }
        match crate::backend::eligible(tier, &machine, &mut || probe.take().and_then(|p| p())) {
            Ok(what) => {
                return Decision {
                    tier,
                    reason: format!(
                        "{tier}: {what}, {units:.1e} work units > {crossover:.1e} crossover"
                    ),
                };
            }
            Err(why) => {
                why_not = Some(why);
            }
        }
    }
    Decision {
        tier: Tier::Simd,
        reason: format!(
            "simd: {}",
            why_not.unwrap_or_else(|| "no faster tier applies".to_string())
        ),
    }
}

/// The CPU choice after a GPU that [`decide`] picked failed to start (`why`);
/// the reason says so.
pub fn fall_back_from_gpu(work: Work, cores: usize, tuning: &Tuning, why: &str) -> Decision {
    let cpu: Vec<Tier> = Tier::ALL.into_iter().filter(|&t| t != Tier::Gpu).collect();
    let mut decision = decide_among(work, cores, || None, tuning.crossovers(work.workload), &cpu);
    decision.reason = format!("{} (GPU unavailable: {why})", decision.reason);
    decision
}
