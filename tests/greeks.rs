//! Greeks: every estimator against the closed forms' derivatives, pathwise
//! against bump-and-revalue, and honest standard errors.

mod common;
use common::assert_95_coverage;
use quantmc::market::{Barrier, BarrierKind, Monitoring};
use quantmc::pricing::{Greek, Greeks, GreeksMethod};
use quantmc::{Backend, Market, OptionKind, OptionSpec, PricingJob, Style};
use rand::{RngExt, SeedableRng, rngs::StdRng};

/// The Greeks of the job's closed form by five-point central differences
/// (errors of order h^4, far below the simulations' standard errors), in
/// QuantLib's units: [delta, gamma, vega, rho, theta = -dV/dT].
fn closed_form_greeks(job: &PricingJob) -> [f64; 5] {
    let price = |market: Market, maturity: f64| {
        PricingJob {
            market,
            option: OptionSpec {
                maturity,
                ..job.option
            },
            ..*job
        }
        .closed_form()
        .unwrap()
    };
    let first = |f: &dyn Fn(f64) -> f64, h: f64| {
        (-f(2.0 * h) + 8.0 * f(h) - 8.0 * f(-h) + f(-2.0 * h)) / (12.0 * h)
    };
    let second = |f: &dyn Fn(f64) -> f64, h: f64| {
        (-f(2.0 * h) + 16.0 * f(h) - 30.0 * f(0.0) + 16.0 * f(-h) - f(-2.0 * h)) / (12.0 * h * h)
    };
    let m = job.market;
    let t = job.option.maturity;
    let spot = |h: f64| {
        price(
            Market {
                spot: m.spot + h,
                ..m
            },
            t,
        )
    };
    let vol = |h: f64| {
        price(
            Market {
                vol: m.vol + h,
                ..m
            },
            t,
        )
    };
    let rate = |h: f64| {
        price(
            Market {
                rate: m.rate + h,
                ..m
            },
            t,
        )
    };
    let maturity = |h: f64| price(m, t + h);
    [
        first(&spot, 1e-3 * m.spot),
        second(&spot, 1e-2 * m.spot),
        first(&vol, 1e-3 * m.vol),
        first(&rate, 1e-4),
        -first(&maturity, 1e-3 * t),
    ]
}

fn values(greeks: &Greeks) -> [Greek; 5] {
    [
        greeks.delta,
        greeks.gamma,
        greeks.vega,
        greeks.rho,
        greeks.theta,
    ]
}

const NAMES: [&str; 5] = ["delta", "gamma", "vega", "rho", "theta"];

/// A random market and contract of `style`, call or put.
fn random_job(rng: &mut StdRng, style: Style, kind: OptionKind) -> PricingJob {
    let market = Market {
        spot: 100.0,
        rate: rng.random_range(-0.01..0.08),
        dividend: rng.random_range(0.0..0.04),
        vol: rng.random_range(0.12..0.45),
    };
    let barrier = (style == Style::Barrier).then(|| {
        let kinds = [
            BarrierKind::UpAndOut,
            BarrierKind::UpAndIn,
            BarrierKind::DownAndOut,
            BarrierKind::DownAndIn,
        ];
        let kind = kinds[rng.random_range(0..4)];
        Barrier {
            level: if kind.is_up() {
                rng.random_range(110.0..150.0)
            } else {
                rng.random_range(65.0..90.0)
            },
            kind,
            rebate: if rng.random_bool(0.5) { 2.0 } else { 0.0 },
            monitoring: Monitoring::Continuous,
        }
    });
    PricingJob {
        market,
        option: OptionSpec {
            kind,
            style,
            strike: rng.random_range(80.0..120.0),
            maturity: rng.random_range(0.3..2.0),
            steps: if style == Style::AsianGeometric {
                rng.random_range(4..16)
            } else {
                8
            },
            barrier,
        },
        paths: 200_000,
        seed: rng.random_range(0..1_000_000),
        greeks: Some(GreeksMethod::Pathwise),
        ..Default::default()
    }
}

#[test]
fn the_closed_form_oracle_matches_black_scholes_greeks() {
    use statrs::distribution::{Continuous, ContinuousCDF, Normal};
    let n = Normal::standard();
    let job = PricingJob {
        market: Market {
            spot: 105.0,
            rate: 0.04,
            dividend: 0.015,
            vol: 0.27,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style: Style::European,
            strike: 100.0,
            maturity: 0.7,
            steps: 1,
            barrier: None,
        },
        ..Default::default()
    };
    let (s, k, t, r, q, v): (f64, f64, f64, f64, f64, f64) = (105.0, 100.0, 0.7, 0.04, 0.015, 0.27);
    let d1 = ((s / k).ln() + (r - q + 0.5 * v * v) * t) / (v * t.sqrt());
    let d2 = d1 - v * t.sqrt();
    let (dq, dr) = ((-q * t).exp(), (-r * t).exp());
    let exact = [
        dq * n.cdf(d1),
        dq * n.pdf(d1) / (s * v * t.sqrt()),
        s * dq * n.pdf(d1) * t.sqrt(),
        k * t * dr * n.cdf(d2),
        -s * dq * n.pdf(d1) * v / (2.0 * t.sqrt()) - r * k * dr * n.cdf(d2)
            + q * s * dq * n.cdf(d1),
    ];
    for ((name, oracle), exact) in NAMES.iter().zip(closed_form_greeks(&job)).zip(exact) {
        assert!(
            (oracle - exact).abs() < 1e-7 * exact.abs().max(1.0),
            "{name}: {oracle} vs {exact}"
        );
    }
}

#[test]
fn greeks_match_the_closed_forms_over_random_parameters() {
    let mut rng = StdRng::seed_from_u64(20261126);
    for style in [
        Style::European,
        Style::AsianGeometric,
        Style::Digital,
        Style::Barrier,
    ] {
        for set in 0..20 {
            let kind = if set % 2 == 0 {
                OptionKind::Call
            } else {
                OptionKind::Put
            };
            let job = random_job(&mut rng, style, kind);
            let result = quantmc::price(&job, Backend::Rayon).unwrap();
            let greeks = result.greeks.unwrap();
            let exact = closed_form_greeks(&job);
            for ((name, greek), exact) in NAMES.iter().zip(values(&greeks)).zip(exact) {
                assert!(
                    (greek.value - exact).abs()
                        <= 4.0 * greek.std_error + 1e-6 * exact.abs().max(1.0),
                    "{style} {kind} set {set} ({}): {name} {} +- {} vs {exact}\n{job:?}",
                    greeks.method,
                    greek.value,
                    greek.std_error
                );
            }
        }
    }
}

#[test]
fn pathwise_and_finite_differences_agree_within_their_errors() {
    // Every style, including those without closed forms (arithmetic Asian,
    // discretely watched barriers): the one-pass estimators against
    // bump-and-revalue on the same normals.
    let mut rng = StdRng::seed_from_u64(7);
    for style in Style::ALL.iter().copied() {
        for set in 0..5 {
            let kind = if set % 2 == 0 {
                OptionKind::Call
            } else {
                OptionKind::Put
            };
            let mut job = random_job(&mut rng, style, kind);
            if let Some(barrier) = &mut job.option.barrier
                && set >= 2
            {
                barrier.monitoring = Monitoring::Discrete;
            }
            if style == Style::AsianArithmetic {
                job.option.steps = 12;
            }
            let one_pass = quantmc::price(&job, Backend::Rayon)
                .unwrap()
                .greeks
                .unwrap();
            let fd_job = PricingJob {
                greeks: Some(GreeksMethod::Fd),
                ..job
            };
            let fd = quantmc::price(&fd_job, Backend::Rayon)
                .unwrap()
                .greeks
                .unwrap();
            for ((name, a), b) in NAMES.iter().zip(values(&one_pass)).zip(values(&fd)) {
                let combined = a.std_error.hypot(b.std_error);
                assert!(
                    (a.value - b.value).abs() <= 4.0 * combined + 1e-9,
                    "{style} {kind} set {set}: {name} {} ({}) vs fd {} (combined SE {combined})\n{job:?}",
                    a.value,
                    one_pass.method,
                    b.value
                );
            }
        }
    }
}

#[test]
fn the_delta_interval_covers_95_percent() {
    let base = PricingJob {
        paths: 4096,
        greeks: Some(GreeksMethod::Pathwise),
        ..Default::default()
    };
    let exact = closed_form_greeks(&base)[0];
    let seeds = 240;
    let covered = (0..seeds)
        .filter(|&seed| {
            let delta = quantmc::price(&PricingJob { seed, ..base }, Backend::Simd)
                .unwrap()
                .greeks
                .unwrap()
                .delta;
            (delta.value - exact).abs() <= quantmc::Z_95 * delta.std_error
        })
        .count();
    assert_95_coverage("delta", covered, seeds as usize);
}

#[test]
fn auto_answers_pathwise_greeks() {
    let job = PricingJob {
        paths: 1000,
        greeks: Some(GreeksMethod::Pathwise),
        ..Default::default()
    };
    // Every tier estimates them (the GPU's against the scalar oracle in
    // tests/gpu.rs), so Auto picks as for the price alone.
    let result = quantmc::price(&job, Backend::Auto).unwrap();
    let greeks = result.greeks.unwrap();
    assert!(greeks.delta.std_error > 0.0 && greeks.gamma.std_error > 0.0);
    assert_eq!(
        quantmc::selector::Work::pricing(&job).gpu_unsupported,
        None,
        "pathwise Greeks must not keep Auto off the GPU"
    );
}

#[test]
fn finite_differences_size_their_bump_to_the_horizon_and_the_barrier() {
    // A 7-day at-the-money digital and a down-and-out call 0.5% above its
    // barrier: a 1% bump was 27 SE off the first's delta and put the
    // second's bumped spot across the barrier.
    let digital = PricingJob {
        market: Market {
            spot: 100.0,
            rate: 0.02,
            dividend: 0.0,
            vol: 0.2,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style: Style::Digital,
            strike: 100.0,
            maturity: 7.0 / 365.0,
            steps: 1,
            barrier: None,
        },
        paths: 400_000,
        seed: 5,
        greeks: Some(GreeksMethod::Fd),
        ..Default::default()
    };
    let barrier = PricingJob {
        option: OptionSpec {
            style: Style::Barrier,
            maturity: 0.5,
            steps: 50,
            barrier: Some(Barrier {
                level: 99.5,
                kind: BarrierKind::DownAndOut,
                rebate: 0.0,
                monitoring: Monitoring::Continuous,
            }),
            ..digital.option
        },
        ..digital
    };
    let bump = quantmc::greeks::spot_bump(&digital);
    assert!(
        (bump - 0.1 * 0.2 * (7.0f64 / 365.0).sqrt()).abs() < 1e-15,
        "{bump}"
    );
    assert!((quantmc::greeks::spot_bump(&barrier) - 0.0025).abs() < 1e-15);
    // The usual job keeps 1%: its bits are the golden file's.
    assert_eq!(quantmc::greeks::spot_bump(&PricingJob::default()), 0.01);
    for job in [digital, barrier] {
        let result = quantmc::price(&job, Backend::Rayon).unwrap();
        let greeks = result.greeks.unwrap();
        assert!(
            greeks.method.contains("spot bumped by"),
            "{}",
            greeks.method
        );
        let exact = closed_form_greeks(&job)[0];
        let delta = greeks.delta;
        assert!(
            (delta.value - exact).abs() <= 4.0 * delta.std_error,
            "{:?}: fd delta {} (SE {}) vs {exact}",
            job.option.style,
            delta.value,
            delta.std_error
        );
    }
}

#[test]
fn continuous_barrier_pathwise_greeks_at_many_steps_carry_a_warning() {
    // At 1e5 steps and 400 paths delta was 9 SE off with no word.
    let job = |steps: u32| PricingJob {
        option: OptionSpec {
            style: Style::Barrier,
            steps,
            barrier: Some(Barrier {
                level: 120.0,
                kind: BarrierKind::UpAndOut,
                rebate: 0.0,
                monitoring: Monitoring::Continuous,
            }),
            ..PricingJob::default().option
        },
        paths: 400,
        greeks: Some(GreeksMethod::Pathwise),
        ..Default::default()
    };
    let many = quantmc::price(&job(5000), Backend::Simd).unwrap();
    assert!(
        many.warnings.iter().any(|w| w.contains("heavy-tailed")),
        "{:?}",
        many.warnings
    );
    let few = quantmc::price(&job(50), Backend::Simd).unwrap();
    assert!(few.warnings.is_empty(), "{:?}", few.warnings);
}
