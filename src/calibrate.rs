//! `quantmc calibrate`: time each tier at a few job sizes on this machine and
//! find where the faster tiers start to win.

use serde::Serialize;

use crate::selector::{
    CALIBRATION_VERSION, Calibration, Crossovers, Fingerprint, GpuClass, Tuning, Workload,
};
use crate::{
    Asset, Backend, Confidence, Market, OptionKind, OptionSpec, Portfolio, PricingJob, Result,
    ReturnDistribution, Style, Tier, VarJob,
};

/// One measurement: the best of a few runs.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// Pricing or risk.
    pub workload: Workload,
    /// The job's work units.
    pub units: f64,
    /// The tier timed.
    pub backend: Backend,
    /// Best of the repeats, seconds.
    pub seconds: f64,
}

/// Runs per measurement; the minimum is kept, so a run slowed by other work
/// on the machine does not count.
const REPEATS: usize = 5;
const ASSETS: usize = 10;

fn european(paths: u64) -> PricingJob {
    PricingJob {
        market: Market {
            spot: 150.0,
            rate: 0.05,
            dividend: 0.0,
            vol: 0.3,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style: Style::European,
            strike: 155.0,
            maturity: 0.25,
            steps: 1,
            barrier: None,
        },
        paths,
        seed: 42,
        antithetic: false,
        ..Default::default()
    }
}

fn var_job(scenarios: u64) -> VarJob {
    let assets = (0..ASSETS)
        .map(|i| Asset {
            name: format!("A{i}"),
            weight: 1.0 / ASSETS as f64,
            mu: 0.0004,
            sigma: 0.01 + 0.002 * i as f64,
            ..Default::default()
        })
        .collect();
    let correlation = (0..ASSETS)
        .map(|i| {
            (0..ASSETS)
                .map(|j| if i == j { 1.0 } else { 0.3 })
                .collect()
        })
        .collect();
    VarJob {
        portfolio: Portfolio {
            value: 1e6,
            assets,
            correlation,
            ..Default::default()
        },
        scenarios,
        confidences: vec![Confidence::new(0.99)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::Normal,
        seed: 42,
    }
}

fn best_of(mut run: impl FnMut() -> Result<f64>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..REPEATS {
        best = best.min(run()?);
    }
    Ok(best)
}

/// A win must beat the baseline by this factor, so timer noise between two
/// equal runs (e.g. rayon on a single chunk) does not count as one.
const WIN_MARGIN: f64 = 0.97;

/// Where `faster` wins from on: the geometric mean of the last size it lost
/// at and the first size from which it wins at every larger size; `Some(0)`
/// if it always wins, `None` if it never wins at the largest size.
///
/// The three slices must have one entry per size; otherwise there is no
/// crossover to find (`None`).
pub fn crossover(sizes: &[f64], faster: &[f64], baseline: &[f64]) -> Option<f64> {
    if sizes.is_empty() || faster.len() != sizes.len() || baseline.len() != sizes.len() {
        return None;
    }
    let wins: Vec<bool> = faster
        .iter()
        .zip(baseline)
        .map(|(f, b)| *f < WIN_MARGIN * b)
        .collect();
    if !wins.last().copied().unwrap_or(false) {
        return None;
    }
    let first = wins.iter().rposition(|&w| !w).map_or(0, |lost| lost + 1);
    Some(if first == 0 {
        0.0
    } else {
        (sizes[first - 1] * sizes[first]).sqrt()
    })
}

/// Times the tiers and returns the calibration with every measurement.
/// `gpu` is measured only when a real (non-software) adapter is present.
pub fn run(progress: impl Fn(&Timing)) -> Result<(Calibration, Vec<Timing>)> {
    let gpu = matches!(
        crate::backend::gpu_class(),
        Some(GpuClass::Discrete | GpuClass::Integrated | GpuClass::Other)
    );
    let mut timings = Vec::new();
    let mut tiers = vec![Backend::Simd, Backend::Rayon];
    if gpu {
        tiers.push(Backend::Gpu);
    }
    let mut measure = |workload, units: f64, backend, seconds| {
        let timing = Timing {
            workload,
            units,
            backend,
            seconds,
        };
        progress(&timing);
        timings.push(timing);
        seconds
    };
    // With a GPU the sizes go on until its cost is linear in the work (its
    // fixed costs amortised), so the crossover is measured, never guessed
    // from sizes where the GPU was still paying for its start.
    let (price_top, var_top) = if gpu { (30, 26) } else { (24, 20) };
    let price_sizes: Vec<u64> = (10..=price_top).step_by(2).map(|p| 1u64 << p).collect();
    let var_sizes: Vec<u64> = (8..=var_top).step_by(2).map(|p| 1u64 << p).collect();
    let mut pricing = vec![Vec::new(); tiers.len()];
    let mut risk = vec![Vec::new(); tiers.len()];
    for (t, &tier) in tiers.iter().enumerate() {
        for &paths in &price_sizes {
            let job = european(paths);
            let seconds = best_of(|| Ok(crate::price(&job, tier)?.elapsed_s))?;
            pricing[t].push(measure(Workload::Pricing, paths as f64, tier, seconds));
        }
        for &scenarios in &var_sizes {
            let job = var_job(scenarios);
            let seconds = best_of(|| Ok(crate::var(&job, tier)?.elapsed_s))?;
            let units = (scenarios as usize * ASSETS) as f64;
            risk[t].push(measure(Workload::Risk, units, tier, seconds));
        }
    }
    let price_units: Vec<f64> = price_sizes.iter().map(|&p| p as f64).collect();
    let risk_units: Vec<f64> = var_sizes
        .iter()
        .map(|&s| (s as usize * ASSETS) as f64)
        .collect();
    let best_cpu = |times: &[Vec<f64>]| -> Vec<f64> {
        times[0]
            .iter()
            .zip(&times[1])
            .map(|(a, b)| a.min(*b))
            .collect()
    };
    let crossovers = |units: &[f64], times: &[Vec<f64>]| {
        Crossovers::new([
            (Tier::Rayon, crossover(units, &times[1], &times[0])),
            (
                Tier::Gpu,
                times
                    .get(2)
                    .and_then(|g| crossover(units, g, &best_cpu(times))),
            ),
        ])
    };
    let calibration = Calibration {
        version: CALIBRATION_VERSION,
        machine: Fingerprint::current(),
        tuning: Tuning {
            pricing: crossovers(&price_units, &pricing),
            risk: crossovers(&risk_units, &risk),
        },
    };
    Ok((calibration, timings))
}

/// Why `calibration`, measured on a machine with `cores` logical cores, is not
/// to be trusted, or `None`: with two or more cores all-core work beats one
/// core at large sizes unless the machine was busy while it was measured.
pub fn inconsistency(calibration: &Calibration, cores: usize) -> Option<String> {
    let tuning = &calibration.tuning;
    (cores >= 2
        && tuning.pricing.get(Tier::Rayon).is_none()
        && tuning.risk.get(Tier::Rayon).is_none())
    .then(|| {
        format!(
            "on {cores} cores the rayon tier never beat one core, even at 2^24 paths: \
             the machine was probably busy; not saved, run `quantmc calibrate` again when it is idle"
        )
    })
}
