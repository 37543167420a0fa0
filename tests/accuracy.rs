//! The estimators are honest: unbiased over many seeds, their 95% intervals
//! cover the truth 95% of the time, randomized QMC converges faster than
//! `n^-1/2`, and the stopping rule stops where it says.

mod common;
use common::assert_95_coverage;
use quantmc::pricing::{Precision, Sampler, Target};
use quantmc::{Backend, Market, OptionKind, OptionSpec, PricingJob, Style};

/// A job at the references' market: S = K = 100, T = 1, r = 5%, vol = 20%.
fn job(style: Style, steps: u32, paths: u64) -> PricingJob {
    PricingJob {
        market: Market {
            spot: 100.0,
            rate: 0.05,
            dividend: 0.0,
            vol: 0.2,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style,
            strike: 100.0,
            maturity: 1.0,
            steps,
            barrier: None,
        },
        paths,
        ..Default::default()
    }
}

/// The stored high-precision arithmetic-Asian price for `steps` fixings, and
/// its standard error (tests/data/asian_reference.json).
fn asian_reference(steps: u32) -> (f64, f64) {
    let text = include_str!("data/asian_reference.json");
    let data: serde_json::Value = serde_json::from_str(text).unwrap();
    let entry = data["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["steps"] == steps)
        .unwrap();
    (
        entry["price"].as_f64().unwrap(),
        entry["std_error"].as_f64().unwrap(),
    )
}

/// The estimators under test, each applied to a plain job.
/// A method: its name and how it changes a plain job.
type Method = (&'static str, fn(PricingJob) -> PricingJob);

const METHODS: &[Method] = &[
    ("plain", |job| job),
    ("control variate", |job| PricingJob {
        control_variate: true,
        ..job
    }),
    ("rqmc", |job| PricingJob {
        sampler: Sampler::Rqmc,
        ..job
    }),
    ("rqmc + control variate", |job| PricingJob {
        sampler: Sampler::Rqmc,
        control_variate: true,
        ..job
    }),
];

/// Seeds per coverage check.
const SEEDS: u64 = 240;

#[test]
fn every_estimator_is_unbiased_and_its_interval_covers_95_percent() {
    let (asian, asian_se) = asian_reference(16);
    let cases = [
        ("european", job(Style::European, 1, 8192), None),
        ("geometric asian", job(Style::AsianGeometric, 8, 8192), None),
        (
            "arithmetic asian",
            job(Style::AsianArithmetic, 16, 8192),
            Some((asian, asian_se)),
        ),
    ];
    for (name, base, reference) in cases {
        let (truth, truth_se) = reference.unwrap_or_else(|| (base.closed_form().unwrap(), 0.0));
        for &(method, apply) in METHODS {
            let mut covered = 0usize;
            let (mut sum, mut variance) = (0.0, 0.0);
            for seed in 0..SEEDS {
                let job = apply(PricingJob {
                    seed: 1000 + seed,
                    ..base
                });
                let result = quantmc::price(&job, Backend::Simd).unwrap();
                assert!(
                    truth_se < 0.05 * result.std_error,
                    "{name}: reference too coarse"
                );
                if result.ci95[0] <= truth && truth <= result.ci95[1] {
                    covered += 1;
                }
                sum += result.price;
                variance += result.std_error.powi(2);
            }
            let what = format!("{name}, {method}");
            assert_95_coverage(&what, covered, SEEDS as usize);
            // The mean of the estimates sits within 4 of its standard errors
            // (and the reference's) of the truth.
            let n = SEEDS as f64;
            let mean = sum / n;
            let error = (variance.sqrt() / n).hypot(truth_se);
            assert!(
                (mean - truth).abs() < 4.0 * error,
                "{what}: mean {mean} vs {truth} (SE of the mean {error:e})"
            );
        }
    }
}

/// The slope of `ln y` on `ln x` by least squares.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + x.ln() / n, b + y.ln() / n)
    });
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), &(x, y)| {
        let dx = x.ln() - mx;
        (num + dx * (y.ln() - my), den + dx * dx)
    });
    num / den
}

#[test]
fn rqmc_error_falls_clearly_faster_than_root_n() {
    // A smooth payoff: the geometric Asian (8 fixings) struck far in the
    // money, where the kink of max(G - K, 0) is out of reach, so the payoff
    // is smooth in the normals. It has a closed form, so the error is
    // measured directly: the root mean square error over seeds at each n.
    let mut base = job(Style::AsianGeometric, 8, 0);
    base.option.strike = 60.0;
    let truth = base.closed_form().unwrap();
    let rmse = |sampler, paths: u64| {
        let seeds = 24;
        let squares: f64 = (0..seeds)
            .map(|seed| {
                let job = PricingJob {
                    paths,
                    seed: 7 + seed,
                    sampler,
                    replicates: 2,
                    ..base
                };
                (quantmc::price(&job, Backend::Simd).unwrap().price - truth).powi(2)
            })
            .sum();
        (squares / seeds as f64).sqrt()
    };
    let sizes = [1u64 << 9, 1 << 11, 1 << 13, 1 << 15];
    let rqmc: Vec<(f64, f64)> = sizes
        .iter()
        .map(|&n| (n as f64, rmse(Sampler::Rqmc, n)))
        .collect();
    let plain: Vec<(f64, f64)> = sizes
        .iter()
        .map(|&n| (n as f64, rmse(Sampler::Mc, n)))
        .collect();
    let (rqmc_slope, plain_slope) = (slope(&rqmc), slope(&plain));
    println!("rmse slopes: rqmc {rqmc_slope:.2}, plain {plain_slope:.2}");
    assert!(rqmc_slope < -0.8, "rqmc slope {rqmc_slope}: {rqmc:?}");
    assert!(
        (-0.7..-0.3).contains(&plain_slope),
        "plain slope {plain_slope}"
    );
}

#[test]
fn the_stopping_rule_stops_where_it_says() {
    let base = job(Style::European, 1, 10_000);
    let with = |precision, max_paths, sampler| PricingJob {
        target: Some(Target {
            precision,
            max_paths,
        }),
        sampler,
        ..base
    };
    // Absolute target: reached, within it, in whole first rounds, and the
    // round before would not have done (so it did not run on needlessly far).
    let result = quantmc::price(
        &with(Precision::StdError(0.01), 100_000_000, Sampler::Mc),
        Backend::Simd,
    )
    .unwrap();
    assert_eq!(result.target_reached, Some(true));
    assert!(result.std_error <= 0.01);
    assert!(result.paths > 10_000 && result.paths % 10_000 == 0);
    let fewer = PricingJob {
        paths: result.paths - 10_000,
        ..base
    };
    let fewer = quantmc::price(&fewer, Backend::Simd).unwrap();
    assert!(
        fewer.std_error > 0.01 * 0.99,
        "{} paths already gave {}",
        fewer.paths,
        fewer.std_error
    );
    // Relative target.
    let result = quantmc::price(
        &with(Precision::RelStdError(1e-3), 100_000_000, Sampler::Mc),
        Backend::Simd,
    )
    .unwrap();
    assert_eq!(result.target_reached, Some(true));
    assert!(result.std_error <= 1e-3 * result.price);
    // Out of reach: stops at max_paths exactly and says so.
    let result = quantmc::price(
        &with(Precision::StdError(1e-9), 55_555, Sampler::Mc),
        Backend::Simd,
    )
    .unwrap();
    assert_eq!(result.target_reached, Some(false));
    assert_eq!(result.paths, 55_555);
    // Randomized QMC doubles the points each round.
    let result = quantmc::price(
        &with(Precision::StdError(1e-4), 100_000_000, Sampler::Rqmc),
        Backend::Simd,
    )
    .unwrap();
    assert_eq!(result.target_reached, Some(true));
    assert!(result.std_error <= 1e-4);
    assert!((result.paths / 10_000).is_power_of_two() && result.paths % 10_000 == 0);
}

#[test]
fn the_control_variate_reports_the_variance_it_removed() {
    // For the arithmetic Asian the geometric control removes all but a
    // fraction of a percent of the variance; for an at-the-money European
    // the terminal price removes a good part.
    let asian = PricingJob {
        control_variate: true,
        ..job(Style::AsianArithmetic, 16, 100_000)
    };
    let result = quantmc::price(&asian, Backend::Simd).unwrap();
    let factor = result.variance_reduction.unwrap();
    assert!(factor > 300.0, "asian: {factor}");
    let plain = quantmc::price(
        &PricingJob {
            control_variate: false,
            ..asian
        },
        Backend::Simd,
    )
    .unwrap();
    // The factor is the ratio of the squared standard errors (up to the
    // residual's two degrees of freedom).
    let ratio = (plain.std_error / result.std_error).powi(2);
    assert!((ratio / factor - 1.0).abs() < 1e-3, "{ratio} vs {factor}");
    let european = PricingJob {
        control_variate: true,
        ..job(Style::European, 1, 100_000)
    };
    let factor = quantmc::price(&european, Backend::Simd)
        .unwrap()
        .variance_reduction
        .unwrap();
    assert!((2.0..20.0).contains(&factor), "european: {factor}");
}

#[test]
fn a_deep_in_the_money_call_is_priced_exactly_by_its_control() {
    // Every path ends above the strike, so payoff = S(T) - K exactly: the
    // control explains everything and the estimate is the forward's value.
    let deep = PricingJob {
        control_variate: true,
        ..PricingJob {
            option: OptionSpec {
                strike: 1.0,
                ..job(Style::European, 1, 0).option
            },
            ..job(Style::European, 1, 10_000)
        }
    };
    let result = quantmc::price(&deep, Backend::Simd).unwrap();
    let exact = result.closed_form.unwrap();
    assert!(
        (result.price - exact).abs() < 1e-9 * exact,
        "{} vs {exact}",
        result.price
    );
    assert!(result.std_error < 1e-9);
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("control variate"))
            || result.std_error > 0.0
    );
}
