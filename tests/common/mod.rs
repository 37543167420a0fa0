//! Jobs and checks shared by the test crates.
// Each test crate uses a part of this module.
#![allow(dead_code)]

use quantmc::market::{Barrier, BarrierKind, Monitoring};
use quantmc::pricing::{GreeksMethod, Precision, Sampler, Target};
use quantmc::{
    Confidence, Market, OptionKind, OptionSpec, Portfolio, PricingJob, PricingResult,
    ReturnDistribution, Style, VarJob,
};

/// Every product, call and put, at several step counts, the same in every
/// tier comparison.
pub const PRODUCTS: &[(OptionKind, Style, u32)] = &[
    (OptionKind::Call, Style::European, 1),
    (OptionKind::Put, Style::European, 1),
    (OptionKind::Call, Style::AsianArithmetic, 12),
    (OptionKind::Put, Style::AsianArithmetic, 7),
    (OptionKind::Call, Style::AsianGeometric, 5),
    (OptionKind::Put, Style::AsianGeometric, 12),
    (OptionKind::Call, Style::Digital, 1),
    (OptionKind::Put, Style::Digital, 1),
    (OptionKind::Call, Style::Barrier, 10),
    (OptionKind::Put, Style::Barrier, 6),
];

/// The barrier of a barrier job in the tier comparisons: a continuously
/// watched up-and-out with a rebate for calls, a discretely watched
/// down-and-in for puts.
pub fn tier_barrier(kind: OptionKind) -> Barrier {
    match kind {
        OptionKind::Call => Barrier {
            level: 125.0,
            kind: BarrierKind::UpAndOut,
            rebate: 1.5,
            monitoring: Monitoring::Continuous,
        },
        OptionKind::Put => Barrier {
            level: 88.0,
            kind: BarrierKind::DownAndIn,
            rebate: 0.0,
            monitoring: Monitoring::Discrete,
        },
    }
}

/// A mid-range market and contract, the same in every tier comparison.
pub fn pricing_job(
    kind: OptionKind,
    style: Style,
    steps: u32,
    paths: u64,
    antithetic: bool,
) -> PricingJob {
    PricingJob {
        market: Market {
            spot: 100.0,
            rate: 0.03,
            dividend: 0.01,
            vol: 0.25,
        },
        option: OptionSpec {
            kind,
            style,
            strike: 102.0,
            maturity: 0.8,
            steps,
            barrier: (style == Style::Barrier).then(|| tier_barrier(kind)),
        },
        paths,
        seed: 0xfeed_beef,
        antithetic,
        ..Default::default()
    }
}

/// The estimation methods every tier must agree on: each turns a plain job
/// (whose path count is a multiple of 8) into one using the method.
/// A method: its name and how it changes a plain job.
pub type Method = (&'static str, fn(PricingJob) -> PricingJob);

pub const METHODS: &[Method] = &[
    ("control variate", |job| PricingJob {
        control_variate: true,
        ..job
    }),
    ("rqmc", |job| PricingJob {
        sampler: Sampler::Rqmc,
        replicates: 4,
        ..job
    }),
    ("rqmc + antithetic + control", |job| PricingJob {
        sampler: Sampler::Rqmc,
        replicates: 2,
        antithetic: true,
        control_variate: true,
        ..job
    }),
    ("target se, rounds", |job| PricingJob {
        control_variate: true,
        target: Some(Target {
            precision: Precision::StdError(1e-6),
            max_paths: 5 * job.paths + 3,
        }),
        ..job
    }),
    ("greeks pathwise", |job| PricingJob {
        greeks: Some(GreeksMethod::Pathwise),
        ..job
    }),
    ("greeks fd, antithetic", |job| PricingJob {
        greeks: Some(GreeksMethod::Fd),
        antithetic: true,
        ..job
    }),
    ("greeks pathwise, antithetic", |job| PricingJob {
        greeks: Some(GreeksMethod::Pathwise),
        antithetic: true,
        ..job
    }),
    ("greeks pathwise, rqmc", |job| PricingJob {
        greeks: Some(GreeksMethod::Pathwise),
        sampler: Sampler::Rqmc,
        replicates: 4,
        ..job
    }),
    ("rqmc, target rel se", |job| PricingJob {
        sampler: Sampler::Rqmc,
        replicates: 8,
        target: Some(Target {
            precision: Precision::RelStdError(1e-9),
            max_paths: 4 * job.paths,
        }),
        ..job
    }),
];

/// Path counts for the methods: multiples of 8 (replicates and pairs split
/// them evenly), one below a lane group per replicate, and past a chunk.
pub const METHOD_PATHS: &[u64] = &[8, 24, 200, 2 * 16384 + 8];

/// Asserts that a 95% interval covered the truth `covered` times in `seeds`
/// within binomial noise: 3.5 standard deviations of Binomial(seeds, 0.95).
pub fn assert_95_coverage(what: &str, covered: usize, seeds: usize) {
    let seeds = seeds as f64;
    let slack = 3.5 * (seeds * 0.95 * 0.05).sqrt();
    assert!(
        (covered as f64 - 0.95 * seeds).abs() <= slack,
        "{what}: the 95% interval covered the truth {covered} times in {seeds}"
    );
}

/// Runs the `quantmc` binary with `args` (which should ask for `--json`),
/// asserts it succeeded and returns its JSON.
pub fn cli_json<I, S>(args: I) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// The options book (ten assets, Student-t returns, options revalued) at
/// two levels.
pub fn options_book_var(scenarios: u64) -> VarJob {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        scenarios,
        confidences: vec![Confidence::new(0.99), Confidence::new(0.975)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::StudentT { dof: 5.0 },
        seed: 11,
    }
}

/// Every number of a result that must not depend on how it was computed
/// (`Debug` of an `f64` is its shortest round-trip form: equal text, equal
/// bits).
pub fn numbers(result: &PricingResult) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        result.price,
        result.std_error,
        result.ci95,
        result.paths,
        result.greeks,
        result.variance_reduction,
        result.control_coefficient,
        result.target_reached,
        result.warnings,
    )
}

/// A Heston model with Feller's condition violated (the variance reaches
/// zero), in `scheme`.
pub fn heston(scheme: quantmc::models::HestonScheme) -> quantmc::models::Heston {
    quantmc::models::Heston {
        v0: 0.05,
        kappa: 1.8,
        theta: 0.06,
        xi: 0.65,
        rho: -0.7,
        scheme,
    }
}

/// Lognormal jumps of the tier comparisons.
pub fn jumps() -> quantmc::models::Jumps {
    quantmc::models::Jumps {
        jump_intensity: 0.8,
        jump_mean: -0.12,
        jump_vol: 0.18,
    }
}

/// Every model other than Black-Scholes (Heston in both schemes), by name.
pub fn models() -> Vec<(&'static str, quantmc::models::Model)> {
    use quantmc::models::{Bates, HestonScheme, Model};
    vec![
        ("heston qe", Model::Heston(heston(HestonScheme::Qe))),
        ("heston euler", Model::Heston(heston(HestonScheme::Euler))),
        ("merton", Model::Merton(jumps())),
        (
            "bates",
            Model::Bates(Bates {
                heston: heston(HestonScheme::Qe),
                jumps: jumps(),
            }),
        ),
    ]
}

/// [`pricing_job`] under `model` (a continuously watched barrier becomes a
/// discretely watched one under a model that jumps).
pub fn model_job(
    model: quantmc::models::Model,
    kind: OptionKind,
    style: Style,
    steps: u32,
    paths: u64,
    antithetic: bool,
) -> PricingJob {
    let mut job = pricing_job(kind, style, steps.max(4), paths, antithetic);
    job.model = model;
    if model.jumps()
        && let Some(barrier) = &mut job.option.barrier
    {
        barrier.monitoring = Monitoring::Discrete;
    }
    job
}

/// The methods every tier must agree on under every model.
pub const MODEL_METHODS: &[Method] = &[
    ("plain", |job| job),
    ("antithetic", |job| PricingJob {
        antithetic: true,
        ..job
    }),
    ("control variate", |job| PricingJob {
        control_variate: true,
        ..job
    }),
    ("rqmc", |job| PricingJob {
        sampler: Sampler::Rqmc,
        replicates: 4,
        ..job
    }),
    ("rqmc + antithetic + control", |job| PricingJob {
        sampler: Sampler::Rqmc,
        replicates: 2,
        antithetic: true,
        control_variate: true,
        ..job
    }),
    ("greeks fd", |job| PricingJob {
        greeks: Some(GreeksMethod::Fd),
        ..job
    }),
];

/// The CLI's flags for the Heston model the CLI, MPI and plot tests price
/// (Python's `HESTON` in `python/tests`).
pub const HESTON_FLAGS: [&str; 12] = [
    "--model", "heston", "--v0", "0.04", "--kappa", "1.5", "--theta", "0.05", "--xi", "0.6",
    "--rho", "-0.7",
];

/// `d` assets (spots, vols and dividends spread out, equal weights) with
/// correlation `0.2 + 0.5 / (1 + |i - j|)` off the diagonal.
pub fn basket_assets(d: usize) -> quantmc::basket::Assets {
    quantmc::basket::Assets {
        assets: (0..d)
            .map(|i| quantmc::basket::BasketAsset {
                name: format!("asset{i}"),
                spot: 90.0 + 5.0 * i as f64,
                vol: 0.15 + 0.03 * i as f64,
                dividend: 0.01 * (i % 3) as f64,
                weight: 1.0 / d as f64,
            })
            .collect(),
        correlation: (0..d)
            .map(|i| {
                (0..d)
                    .map(|j| {
                        if i == j {
                            1.0
                        } else {
                            0.2 + 0.5 / (1.0 + i.abs_diff(j) as f64)
                        }
                    })
                    .collect()
            })
            .collect(),
    }
}

/// The basket jobs every tier runs against the oracle: each style, call and
/// put, several steps, antithetic, the control variate and RQMC, at path
/// counts that end inside a chunk.
pub fn basket_jobs() -> Vec<quantmc::basket::BasketJob> {
    use quantmc::basket::{BasketJob, BasketStyle};
    use quantmc::pricing::Sampler;
    let mut jobs = Vec::new();
    let paths = 2 * 16384 + 38;
    for (style, d) in [
        (BasketStyle::Basket, 5),
        (BasketStyle::WorstOf, 3),
        (BasketStyle::BestOf, 2),
        (BasketStyle::Spread, 2),
    ] {
        for kind in [OptionKind::Call, OptionKind::Put] {
            let mut job = BasketJob::new(basket_assets(d), style);
            job.kind = kind;
            job.paths = paths;
            job.steps = 3;
            job.seed = 7;
            if style == BasketStyle::Spread {
                job.assets.assets[1].weight = -1.0;
                job.strike = 5.0;
            }
            jobs.push(job.clone());
            job.antithetic = true;
            job.control_variate = style == BasketStyle::Basket;
            job.greeks = true;
            job.steps = 1;
            jobs.push(job.clone());
            job.antithetic = false;
            job.sampler = Sampler::Rqmc;
            job.replicates = 4;
            job.paths = 4 * 1000;
            jobs.push(job);
        }
    }
    jobs
}
