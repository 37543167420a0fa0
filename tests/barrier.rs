//! Barrier options: continuous monitoring against Reiner-Rubinstein,
//! discrete monitoring against Broadie-Glasserman-Kou, in-out parity path by
//! path, and honest intervals.

mod common;
use common::assert_95_coverage;
use quantmc::closed_form::{barrier_discrete_bgk, black_scholes};
use quantmc::market::{Barrier, BarrierKind, Monitoring};
use quantmc::{Backend, Market, OptionKind, OptionSpec, PricingJob, Style};
use rand::{RngExt, SeedableRng, rngs::StdRng};

fn job(
    market: Market,
    kind: OptionKind,
    strike: f64,
    maturity: f64,
    steps: u32,
    barrier: Barrier,
    paths: u64,
) -> PricingJob {
    PricingJob {
        market,
        option: OptionSpec {
            kind,
            style: Style::Barrier,
            strike,
            maturity,
            steps,
            barrier: Some(barrier),
        },
        paths,
        seed: 2026,
        ..Default::default()
    }
}

const KINDS: [BarrierKind; 4] = [
    BarrierKind::UpAndOut,
    BarrierKind::UpAndIn,
    BarrierKind::DownAndOut,
    BarrierKind::DownAndIn,
];

/// A random market, strike and barrier on the live side of the spot.
fn random_case(rng: &mut StdRng, barrier_kind: BarrierKind) -> (Market, f64, f64, Barrier) {
    let market = Market {
        spot: 100.0,
        rate: rng.random_range(-0.01..0.08),
        dividend: rng.random_range(0.0..0.04),
        vol: rng.random_range(0.1..0.45),
    };
    let strike = rng.random_range(75.0..125.0);
    let maturity = rng.random_range(0.25..2.0);
    let level = if barrier_kind.is_up() {
        rng.random_range(105.0..150.0)
    } else {
        rng.random_range(65.0..95.0)
    };
    let rebate = if rng.random_bool(0.5) {
        rng.random_range(0.5..5.0)
    } else {
        0.0
    };
    let barrier = Barrier {
        level,
        kind: barrier_kind,
        rebate,
        monitoring: Monitoring::Continuous,
    };
    (market, strike, maturity, barrier)
}

#[test]
fn continuous_barriers_match_reiner_rubinstein() {
    // 40 random cases: every kind, calls and puts, five draws each.
    let mut rng = StdRng::seed_from_u64(11);
    for round in 0..5 {
        for barrier_kind in KINDS {
            for kind in [OptionKind::Call, OptionKind::Put] {
                let (market, strike, maturity, barrier) = random_case(&mut rng, barrier_kind);
                // Any grid: the bridge weighting makes the monitoring exact.
                let steps = [1, 4, 16, 50, 7][round];
                let job = job(market, kind, strike, maturity, steps, barrier, 200_000);
                let result = quantmc::price(&job, Backend::Rayon).unwrap();
                let exact = result.closed_form.unwrap();
                let what = format!(
                    "{barrier_kind} {kind} K={strike:.2} H={:.2} R={:.2} T={maturity:.2} {market:?} N={steps}",
                    barrier.level, barrier.rebate
                );
                assert!(
                    (result.price - exact).abs() <= 4.0 * result.std_error + 1e-9,
                    "{what}: {} vs {exact} (SE {})",
                    result.price,
                    result.std_error
                );
            }
        }
    }
}

#[test]
fn closed_forms_keep_in_out_parity() {
    // In + out = vanilla + the rebate at expiry, for Haug's in and out
    // formulas separately: a check of the formulas themselves.
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..30 {
        for (out, knock_in) in [
            (BarrierKind::UpAndOut, BarrierKind::UpAndIn),
            (BarrierKind::DownAndOut, BarrierKind::DownAndIn),
        ] {
            for kind in [OptionKind::Call, OptionKind::Put] {
                let (market, strike, maturity, barrier) = random_case(&mut rng, out);
                let price = |barrier_kind| {
                    quantmc::closed_form::barrier(
                        kind,
                        &market,
                        strike,
                        maturity,
                        &Barrier {
                            kind: barrier_kind,
                            ..barrier
                        },
                    )
                };
                let vanilla = black_scholes(kind, &market, strike, maturity);
                let rebate = barrier.rebate * (-market.rate * maturity).exp();
                let sum = price(out) + price(knock_in);
                assert!(
                    (sum - vanilla - rebate).abs() < 1e-9 * (vanilla + rebate).max(1.0),
                    "{out} {kind}: {sum} vs {}",
                    vanilla + rebate
                );
            }
        }
    }
}

#[test]
fn in_plus_out_is_the_vanilla_path_by_path() {
    // Same seed, same paths: in + out equals the vanilla on those paths
    // (a barrier no path can reach) plus the discounted rebate, to rounding.
    let market = Market {
        spot: 100.0,
        rate: 0.03,
        dividend: 0.01,
        vol: 0.3,
    };
    for monitoring in [Monitoring::Discrete, Monitoring::Continuous] {
        for (out, knock_in, unreachable) in [
            (BarrierKind::UpAndOut, BarrierKind::UpAndIn, 1e40),
            (BarrierKind::DownAndOut, BarrierKind::DownAndIn, 1e-40),
        ] {
            for kind in [OptionKind::Call, OptionKind::Put] {
                for backend in [Backend::Scalar, Backend::Simd] {
                    let level = if out.is_up() { 115.0 } else { 88.0 };
                    let barrier = Barrier {
                        level,
                        kind: out,
                        rebate: 2.5,
                        monitoring,
                    };
                    let run = |barrier| {
                        quantmc::price(&job(market, kind, 100.0, 1.0, 12, barrier, 20_000), backend)
                            .unwrap()
                            .price
                    };
                    let sum = run(barrier)
                        + run(Barrier {
                            kind: knock_in,
                            ..barrier
                        });
                    let vanilla = run(Barrier {
                        level: unreachable,
                        rebate: 0.0,
                        ..barrier
                    });
                    let rebate = 2.5 * (-market.rate).exp();
                    assert!(
                        (sum - vanilla - rebate).abs() < 1e-12 * sum,
                        "{monitoring:?} {out} {kind} {backend:?}: {sum} vs {}",
                        vanilla + rebate
                    );
                }
            }
        }
    }
}

#[test]
fn discrete_barriers_match_the_bgk_correction() {
    // Broadie-Glasserman-Kou: a barrier watched at N dates prices like a
    // continuous one moved by exp(+-0.5826 vol sqrt(T/N)), their setting
    // (S = K = 100, vol = 0.3, r = 0.1, T = 0.2), every kind, calls and puts.
    let market = Market {
        spot: 100.0,
        rate: 0.1,
        dividend: 0.0,
        vol: 0.3,
    };
    for (barrier_kind, level) in [
        (BarrierKind::DownAndOut, 91.0),
        (BarrierKind::UpAndOut, 140.0),
        (BarrierKind::DownAndIn, 85.0),
        (BarrierKind::UpAndIn, 115.0),
    ] {
        for kind in [OptionKind::Call, OptionKind::Put] {
            for fixings in [25, 50] {
                let barrier = Barrier {
                    level,
                    kind: barrier_kind,
                    rebate: 0.0,
                    monitoring: Monitoring::Discrete,
                };
                let job = PricingJob {
                    control_variate: true,
                    ..job(market, kind, 100.0, 0.2, fixings, barrier, 400_000)
                };
                let result = quantmc::price(&job, Backend::Rayon).unwrap();
                assert!(result.closed_form.is_none());
                let bgk = barrier_discrete_bgk(kind, &market, 100.0, 0.2, &barrier, fixings);
                let continuous = quantmc::closed_form::barrier(kind, &market, 100.0, 0.2, &barrier);
                let what = format!("{barrier_kind} {kind} H={level} N={fixings}");
                println!(
                    "{what}: mc {:.5} +- {:.5}, bgk {bgk:.5}, continuous {continuous:.5}, gap {:.2}%",
                    result.price,
                    result.std_error,
                    100.0 * (result.price / bgk - 1.0)
                );
                // BGK removes most of the monitoring bias: what is left is a
                // fifth of the correction at most (measured: 2-14%, and
                // 0.1-0.2% of the price for the calls of BGK's own tables).
                assert!(
                    (result.price - bgk).abs()
                        <= 4.0 * result.std_error + 0.2 * (continuous - bgk).abs(),
                    "{what}: {} vs BGK {bgk} (continuous {continuous}, SE {})",
                    result.price,
                    result.std_error
                );
            }
        }
    }
}

#[test]
fn a_barrier_price_interval_covers_95_percent() {
    let market = Market {
        spot: 100.0,
        rate: 0.05,
        dividend: 0.0,
        vol: 0.25,
    };
    let barrier = Barrier {
        level: 90.0,
        kind: BarrierKind::DownAndOut,
        rebate: 1.0,
        monitoring: Monitoring::Continuous,
    };
    let base = job(market, OptionKind::Call, 100.0, 1.0, 8, barrier, 8192);
    let truth = base.closed_form().unwrap();
    let seeds = 240;
    let covered = (0..seeds)
        .filter(|&seed| {
            let result = quantmc::price(&PricingJob { seed, ..base }, Backend::Simd).unwrap();
            result.ci95[0] <= truth && truth <= result.ci95[1]
        })
        .count();
    assert_95_coverage("down-and-out call", covered, seeds as usize);
}

#[test]
fn a_barrier_already_breached_at_the_spot_is_priced_and_said_so() {
    // A knock-out is worth its discounted rebate, exactly; a knock-in is the
    // vanilla. Both carry a warning saying why.
    let market = Market {
        spot: 100.0,
        rate: 0.05,
        dividend: 0.01,
        vol: 0.25,
    };
    for monitoring in [Monitoring::Discrete, Monitoring::Continuous] {
        for (barrier_kind, level) in [
            (BarrierKind::UpAndOut, 95.0),
            (BarrierKind::DownAndOut, 100.0),
            (BarrierKind::UpAndIn, 100.0),
            (BarrierKind::DownAndIn, 130.0),
        ] {
            for backend in [Backend::Scalar, Backend::Simd] {
                let barrier = Barrier {
                    level,
                    kind: barrier_kind,
                    rebate: 3.0,
                    monitoring,
                };
                let result = quantmc::price(
                    &job(market, OptionKind::Call, 100.0, 1.0, 10, barrier, 50_000),
                    backend,
                )
                .unwrap();
                let what = format!("{barrier_kind} at {level}, {monitoring:?}");
                assert!(
                    result.warnings.iter().any(|w| w.contains("already")),
                    "{what}: {:?}",
                    result.warnings
                );
                let vanilla = black_scholes(OptionKind::Call, &market, 100.0, 1.0);
                let exact = result.closed_form.unwrap_or(if barrier_kind.is_in() {
                    vanilla
                } else {
                    3.0 * (-0.05f64).exp()
                });
                if barrier_kind.is_in() {
                    assert!(
                        (result.price - vanilla).abs() < 4.0 * result.std_error,
                        "{what}: {} vs {vanilla}",
                        result.price
                    );
                } else {
                    assert!(
                        (result.price - exact).abs() < 1e-12,
                        "{what}: {} vs {exact}",
                        result.price
                    );
                }
            }
        }
    }
}

#[test]
fn bad_barriers_are_refused_naming_the_field() {
    let market = Market {
        spot: 100.0,
        rate: 0.05,
        dividend: 0.0,
        vol: 0.25,
    };
    let good = Barrier {
        level: 120.0,
        kind: BarrierKind::UpAndOut,
        rebate: 0.0,
        monitoring: Monitoring::Continuous,
    };
    let error = |job: PricingJob| match quantmc::price(&job, Backend::Scalar) {
        Err(quantmc::Error::Input(err)) => err.to_string(),
        other => panic!("expected an input error, got {other:?}"),
    };
    let base = job(market, OptionKind::Call, 100.0, 1.0, 10, good, 1000);
    for (barrier, needles) in [
        (Barrier { level: 0.0, ..good }, &["barrier", "0.0"][..]),
        (
            Barrier {
                level: f64::NAN,
                ..good
            },
            &["barrier", "NaN"][..],
        ),
        (
            Barrier {
                rebate: -1.0,
                ..good
            },
            &["rebate", "-1"][..],
        ),
    ] {
        let message = error(PricingJob {
            option: OptionSpec {
                barrier: Some(barrier),
                ..base.option
            },
            ..base
        });
        for needle in needles {
            assert!(message.contains(needle), "'{message}' should name {needle}");
        }
    }
    let message = error(PricingJob {
        option: OptionSpec {
            barrier: None,
            ..base.option
        },
        ..base
    });
    assert!(message.contains("barrier"), "{message}");
    let message = error(PricingJob {
        option: OptionSpec {
            style: Style::European,
            ..base.option
        },
        ..base
    });
    assert!(
        message.contains("barrier") && message.contains("european"),
        "{message}"
    );
}

/// `job`'s discretely watched barrier priced by an independent simulator:
/// plain `rand` normals (not Philox), each monitoring interval walked in
/// `substeps` exact GBM steps, the barrier checked only at the monitoring
/// dates. Returns the discounted mean and its standard error.
fn fine_grid_price(job: &PricingJob, substeps: u32, paths: u32, seed: u64) -> (f64, f64) {
    let (market, option) = (&job.market, &job.option);
    let (kind, strike, maturity, fixings) =
        (option.kind, option.strike, option.maturity, option.steps);
    let barrier = option.barrier.expect("a barrier job");
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = StdRng::seed_from_u64(seed);
    let dt = maturity / f64::from(fixings * substeps);
    let drift = (market.rate - market.dividend - 0.5 * market.vol * market.vol) * dt;
    let diffusion = market.vol * dt.sqrt();
    let live = |price: f64| {
        if barrier.kind.is_up() {
            price < barrier.level
        } else {
            price > barrier.level
        }
    };
    let (mut sum, mut square) = (0.0, 0.0);
    for _ in 0..paths {
        let mut log_price = market.spot.ln();
        let mut alive = true;
        for _ in 0..fixings {
            for _ in 0..substeps {
                let z: f64 = StandardNormal.sample(&mut rng);
                log_price += drift + diffusion * z;
            }
            alive &= live(log_price.exp());
        }
        let terminal = log_price.exp();
        let vanilla = match kind {
            OptionKind::Call => (terminal - strike).max(0.0),
            OptionKind::Put => (strike - terminal).max(0.0),
        };
        let knock_in = matches!(barrier.kind, BarrierKind::UpAndIn | BarrierKind::DownAndIn);
        // A knock-in pays the vanilla once the barrier was touched, a
        // knock-out while it was not; the rebate otherwise.
        let paid = if alive != knock_in {
            vanilla
        } else {
            barrier.rebate
        };
        sum += paid;
        square += paid * paid;
    }
    let n = f64::from(paths);
    let mean = sum / n;
    let variance = (square / n - mean * mean) * n / (n - 1.0);
    let discount = (-market.rate * maturity).exp();
    (discount * mean, discount * (variance / n).sqrt())
}

#[test]
fn discrete_barriers_match_an_independent_fine_grid_simulation() {
    // The discrete price does not depend on how finely the path is walked
    // between the monitoring dates (GBM steps are exact): quantmc's one step
    // per date against an independent simulator's eight, on its own random
    // numbers, within four combined standard errors; every kind, both
    // payoffs, with rebates.
    let market = Market {
        spot: 100.0,
        rate: 0.04,
        dividend: 0.01,
        vol: 0.25,
    };
    for (index, (barrier_kind, level)) in [
        (BarrierKind::DownAndOut, 90.0),
        (BarrierKind::UpAndOut, 125.0),
        (BarrierKind::DownAndIn, 88.0),
        (BarrierKind::UpAndIn, 115.0),
    ]
    .into_iter()
    .enumerate()
    {
        for kind in [OptionKind::Call, OptionKind::Put] {
            let barrier = Barrier {
                level,
                kind: barrier_kind,
                rebate: 1.5,
                monitoring: Monitoring::Discrete,
            };
            let (strike, maturity, fixings) = (102.0, 0.75, 12);
            let job = job(market, kind, strike, maturity, fixings, barrier, 200_000);
            let result = quantmc::price(&job, Backend::Rayon).unwrap();
            let (fine, fine_se) = fine_grid_price(&job, 8, 100_000, index as u64);
            let combined = result.std_error.hypot(fine_se);
            println!(
                "{barrier_kind} {kind}: quantmc {:.4} +- {:.4}, fine grid {fine:.4} +- {fine_se:.4}",
                result.price, result.std_error
            );
            assert!(
                (result.price - fine).abs() <= 4.0 * combined,
                "{barrier_kind} {kind}: quantmc {} vs fine grid {fine} (combined SE {combined})",
                result.price
            );
        }
    }
}
