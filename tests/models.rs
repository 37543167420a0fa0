//! The model axis: each model's semi-analytic price against QuantLib's, its
//! simulation against that price within a few standard errors, every
//! product and method under every model, and the inputs it refuses.

mod common;
use common::{heston, jumps, model_job, models};
use quantmc::models::{Bates, Heston, HestonScheme, Jumps, Model};
use quantmc::pricing::{GreeksMethod, Sampler};
use quantmc::{Backend, Market, OptionKind, OptionSpec, PricingJob, Style};

/// QuantLib's prices (`benches/peers/model_references.py` wrote them).
fn references() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/model_references.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    document["cases"].as_array().unwrap().clone()
}

fn number(case: &serde_json::Value, field: &str) -> f64 {
    case[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} in {case}"))
}

/// The model and market of a reference case.
fn case_model(case: &serde_json::Value) -> (Model, Market) {
    let jumps = || Jumps {
        jump_intensity: number(case, "jump_intensity"),
        jump_mean: number(case, "jump_mean"),
        jump_vol: number(case, "jump_vol"),
    };
    let heston = || Heston {
        v0: number(case, "v0"),
        kappa: number(case, "kappa"),
        theta: number(case, "theta"),
        xi: number(case, "xi"),
        rho: number(case, "rho"),
        scheme: HestonScheme::Qe,
    };
    let model = match case["model"].as_str().unwrap() {
        "heston" => Model::Heston(heston()),
        "bates" => Model::Bates(Bates {
            heston: heston(),
            jumps: jumps(),
        }),
        "merton" => Model::Merton(jumps()),
        other => panic!("model {other}"),
    };
    let market = Market {
        spot: number(case, "spot"),
        rate: number(case, "rate"),
        dividend: number(case, "dividend"),
        vol: case["vol"].as_f64().unwrap_or(0.2),
    };
    (model, market)
}

#[test]
fn semi_analytic_prices_match_quantlib_to_1e8() {
    let cases = references();
    assert!(cases.len() > 800, "{} cases", cases.len());
    let (mut feller, mut violated) = (0, 0);
    let mut worst: f64 = 0.0;
    for case in &cases {
        let (model, market) = case_model(case);
        let kind = match case["kind"].as_str().unwrap() {
            "call" => OptionKind::Call,
            _ => OptionKind::Put,
        };
        let strike = number(case, "strike");
        let maturity = number(case, "maturity");
        let ours = model.european(&market, kind, strike, maturity).unwrap();
        let theirs = number(case, "price");
        let gap = (ours - theirs).abs();
        worst = worst.max(gap);
        assert!(
            gap <= 1e-8 * market.spot / 100.0,
            "{case}: quantmc {ours} against QuantLib {theirs}"
        );
        match case["feller"].as_bool() {
            Some(true) => feller += 1,
            Some(false) => violated += 1,
            None => {}
        }
    }
    assert!(feller > 50 && violated > 50, "{feller} {violated}");
    println!("{} cases, largest gap {worst:e}", cases.len());
}

#[test]
fn the_digital_is_the_calls_slope_in_the_strike() {
    // -dC/dK by a central difference of the semi-analytic calls.
    for (name, model) in models() {
        let market = Market {
            spot: 100.0,
            rate: 0.03,
            dividend: 0.01,
            vol: 0.25,
        };
        for strike in [80.0, 100.0, 125.0] {
            let h = 1e-3;
            let call = |k| model.european(&market, OptionKind::Call, k, 0.8).unwrap();
            let slope = -(call(strike + h) - call(strike - h)) / (2.0 * h);
            let digital = model
                .digital(&market, OptionKind::Call, strike, 0.8)
                .unwrap();
            assert!(
                (digital - slope).abs() < 1e-6,
                "{name} K={strike}: {digital} {slope}"
            );
            let put = model
                .digital(&market, OptionKind::Put, strike, 0.8)
                .unwrap();
            let discount = (-0.03f64 * 0.8).exp();
            assert!((digital + put - discount).abs() < 1e-12);
        }
    }
}

/// `job`'s estimate is within `sigmas` standard errors of its closed form.
fn assert_near_closed_form(what: &str, job: &PricingJob, sigmas: f64) {
    let result = quantmc::price(job, Backend::Rayon).unwrap();
    let exact = result.closed_form.expect("a closed form");
    let z = (result.price - exact) / result.std_error;
    assert!(
        z.abs() < sigmas,
        "{what}: {} +- {} against {exact} ({z:+.2} SE)",
        result.price,
        result.std_error
    );
}

#[test]
fn every_model_simulates_its_semi_analytic_european_and_digital() {
    for (name, model) in models() {
        for style in [Style::European, Style::Digital] {
            for kind in [OptionKind::Call, OptionKind::Put] {
                // QE and the jumps' steps are exact in distribution or
                // nearly so at 32 steps a year; full-truncation Euler's
                // bias is larger: 128 steps.
                let steps = if name.contains("euler") { 128 } else { 32 };
                let job = PricingJob {
                    seed: 5,
                    ..model_job(model, kind, style, steps, 400_000, false)
                };
                assert_near_closed_form(&format!("{name} {kind} {style}"), &job, 4.0);
            }
        }
    }
}

#[test]
fn heston_qe_is_a_martingale_with_the_variance_at_zero() {
    // Feller violated hard, the variance starting at zero: the martingale
    // correction keeps E[S_T] the forward, so the control (the terminal
    // price) has the mean the estimator assumes, and the call matches its
    // semi-analytic price.
    let model = Model::Heston(Heston {
        v0: 0.0,
        kappa: 0.5,
        theta: 0.04,
        xi: 1.2,
        rho: -0.9,
        scheme: HestonScheme::Qe,
    });
    let job = PricingJob {
        seed: 9,
        control_variate: true,
        ..model_job(model, OptionKind::Call, Style::European, 16, 400_000, false)
    };
    assert_near_closed_form("heston v0=0", &job, 4.0);
    // The control's own mean: a zero-strike call is the discounted
    // terminal price.
    let forward_job = PricingJob {
        option: OptionSpec {
            strike: 1e-9,
            ..job.option
        },
        control_variate: false,
        ..job
    };
    assert_near_closed_form("heston forward", &forward_job, 4.0);
}

#[test]
fn rqmc_and_antithetic_under_every_model_cover_the_closed_form() {
    for (name, model) in models() {
        let steps = if name.contains("euler") { 64 } else { 16 };
        for (method, job) in [
            (
                "rqmc",
                PricingJob {
                    sampler: Sampler::Rqmc,
                    replicates: 16,
                    ..model_job(
                        model,
                        OptionKind::Call,
                        Style::European,
                        steps,
                        1 << 16,
                        false,
                    )
                },
            ),
            (
                "antithetic + control",
                PricingJob {
                    control_variate: true,
                    ..model_job(
                        model,
                        OptionKind::Put,
                        Style::European,
                        steps,
                        200_000,
                        true,
                    )
                },
            ),
        ] {
            assert_near_closed_form(&format!("{name} {method}"), &job, 4.5);
        }
    }
}

#[test]
fn finite_difference_greeks_under_heston_match_the_semi_analytic_ones() {
    let model = Model::Heston(heston(HestonScheme::Qe));
    let market = Market {
        spot: 100.0,
        rate: 0.03,
        dividend: 0.01,
        vol: 0.25,
    };
    let job = PricingJob {
        seed: 3,
        greeks: Some(GreeksMethod::Fd),
        ..model_job(model, OptionKind::Call, Style::European, 32, 400_000, false)
    };
    let result = quantmc::price(&job, Backend::Rayon).unwrap();
    let greeks = result.greeks.unwrap();
    assert!(greeks.method.contains("dV/dv0"), "{}", greeks.method);
    let price = |market: &Market, model: &Model, maturity: f64| {
        model
            .european(market, OptionKind::Call, 102.0, maturity)
            .unwrap()
    };
    let h = 1e-4;
    let delta = (price(
        &Market {
            spot: 100.0 + h,
            ..market
        },
        &model,
        0.8,
    ) - price(
        &Market {
            spot: 100.0 - h,
            ..market
        },
        &model,
        0.8,
    )) / (2.0 * h);
    let bumped = |v0| match model {
        Model::Heston(heston) => Model::Heston(Heston { v0, ..heston }),
        _ => unreachable!(),
    };
    let vega = (price(&market, &bumped(0.05 + h), 0.8) - price(&market, &bumped(0.05 - h), 0.8))
        / (2.0 * h);
    let rho = (price(
        &Market {
            rate: 0.03 + h,
            ..market
        },
        &model,
        0.8,
    ) - price(
        &Market {
            rate: 0.03 - h,
            ..market
        },
        &model,
        0.8,
    )) / (2.0 * h);
    let theta = -(price(&market, &model, 0.8 + h) - price(&market, &model, 0.8 - h)) / (2.0 * h);
    for (name, estimate, exact) in [
        ("delta", greeks.delta, delta),
        ("vega", greeks.vega, vega),
        ("rho", greeks.rho, rho),
        ("theta", greeks.theta, theta),
    ] {
        // The bumps' own bias (1% of the spot, of v0, 0.5% of the maturity)
        // is a few 1e-4 relative here; the discretisation's, at 32 steps,
        // smaller still.
        let z = (estimate.value - exact) / estimate.std_error;
        assert!(
            z.abs() < 4.0 || (estimate.value - exact).abs() < 2e-3 * exact.abs(),
            "{name}: {} +- {} against {exact}",
            estimate.value,
            estimate.std_error
        );
    }
}

#[test]
fn path_dependent_products_run_under_every_model() {
    // Barriers and Asians have no semi-analytic price off Black-Scholes;
    // their parities do hold path by path: in + out = vanilla (no rebate),
    // the vanilla on the same 12-step paths (a barrier no path reaches).
    for (name, model) in models() {
        let mut job = model_job(model, OptionKind::Call, Style::Barrier, 12, 20_000, false);
        let barrier = job.option.barrier.as_mut().unwrap();
        barrier.rebate = 0.0;
        barrier.monitoring = quantmc::market::Monitoring::Discrete;
        let mut never = job;
        never.option.barrier.as_mut().unwrap().level = 1e90;
        let vanilla = quantmc::price(&never, Backend::Simd).unwrap();
        let out = quantmc::price(&job, Backend::Simd).unwrap();
        job.option.barrier.as_mut().unwrap().kind = quantmc::market::BarrierKind::UpAndIn;
        let knocked_in = quantmc::price(&job, Backend::Simd).unwrap();
        assert!(
            (out.price + knocked_in.price - vanilla.price).abs() < 1e-9 * vanilla.price,
            "{name}: {} + {} against {}",
            out.price,
            knocked_in.price,
            vanilla.price
        );
        let asian = quantmc::price(
            &PricingJob {
                control_variate: true,
                ..model_job(
                    model,
                    OptionKind::Put,
                    Style::AsianArithmetic,
                    12,
                    20_000,
                    false,
                )
            },
            Backend::Simd,
        )
        .unwrap();
        assert!(
            asian.price > 0.0 && asian.variance_reduction.unwrap() > 1.0,
            "{name}"
        );
    }
}

#[test]
fn black_scholes_as_heston_with_no_vol_of_vol_is_black_scholes() {
    // A variance that barely moves (xi tiny, v0 = theta) prices as
    // Black-Scholes at vol sqrt(v0).
    let model = Model::Heston(Heston {
        v0: 0.0625,
        kappa: 1.0,
        theta: 0.0625,
        xi: 1e-4,
        rho: 0.0,
        scheme: HestonScheme::Qe,
    });
    let job = model_job(
        model,
        OptionKind::Call,
        Style::AsianGeometric,
        12,
        200_000,
        false,
    );
    let heston = quantmc::price(&job, Backend::Rayon).unwrap();
    let black_scholes = quantmc::price(
        &PricingJob {
            model: Model::default(),
            ..job
        },
        Backend::Rayon,
    )
    .unwrap();
    let exact = black_scholes.closed_form.unwrap();
    let z = (heston.price - exact) / heston.std_error;
    assert!(z.abs() < 4.0, "{} against {exact}", heston.price);
}

#[test]
fn bad_model_inputs_are_refused_naming_the_field() {
    let base = model_job(
        Model::Heston(heston(HestonScheme::Qe)),
        OptionKind::Call,
        Style::European,
        12,
        1000,
        false,
    );
    let with_heston = |change: fn(&mut Heston)| {
        let mut h = heston(HestonScheme::Qe);
        change(&mut h);
        PricingJob {
            model: Model::Heston(h),
            ..base
        }
    };
    for (field, job) in [
        ("v0", with_heston(|h| h.v0 = -0.01)),
        ("kappa", with_heston(|h| h.kappa = 0.0)),
        ("theta", with_heston(|h| h.theta = -1.0)),
        ("xi", with_heston(|h| h.xi = -0.3)),
        ("rho", with_heston(|h| h.rho = 1.0)),
        ("rho", with_heston(|h| h.rho = f64::NAN)),
        (
            "jump-intensity",
            PricingJob {
                model: Model::Merton(Jumps {
                    jump_intensity: 5000.0,
                    ..jumps()
                }),
                ..base
            },
        ),
        (
            "jump-vol",
            PricingJob {
                model: Model::Merton(Jumps {
                    jump_vol: -0.1,
                    ..jumps()
                }),
                ..base
            },
        ),
        (
            "monitoring",
            PricingJob {
                model: Model::Merton(jumps()),
                option: OptionSpec {
                    style: Style::Barrier,
                    barrier: Some(common::tier_barrier(OptionKind::Call)),
                    ..base.option
                },
                ..base
            },
        ),
        (
            "greeks-method",
            PricingJob {
                greeks: Some(GreeksMethod::Pathwise),
                ..base
            },
        ),
        (
            "steps",
            PricingJob {
                sampler: Sampler::Rqmc,
                replicates: 8,
                option: OptionSpec {
                    steps: 600,
                    ..base.option
                },
                ..base
            },
        ),
    ] {
        let err = quantmc::price(&job, Backend::Scalar)
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
}

#[test]
fn the_result_says_which_model_ran() {
    let model = Model::Bates(Bates {
        heston: heston(HestonScheme::Euler),
        jumps: jumps(),
    });
    let result = quantmc::price(
        &model_job(model, OptionKind::Call, Style::European, 8, 1000, false),
        Backend::Simd,
    )
    .unwrap();
    assert_eq!(result.model, model);
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["model"]["name"], "bates");
    assert_eq!(json["model"]["scheme"], "euler");
    assert!(result.model.describe().contains("euler"));
}

/// Black's implied volatility inverts Black's price to 1e-10 across
/// moneyness (deep in and out of the money on both sides, where the
/// in-the-money side goes through parity) and volatility, and refuses
/// prices outside the no-arbitrage bounds.
#[test]
fn black_implied_vol_inverts_the_black_price() {
    use quantmc::closed_form::{black_implied_vol, black_scholes_precise};
    let mut worst: f64 = 0.0;
    for kind in [OptionKind::Call, OptionKind::Put] {
        for &vol in &[0.03, 0.1, 0.2, 0.45, 1.0, 2.5] {
            for &strike in &[40.0, 70.0, 90.0, 100.0, 104.0, 125.0, 180.0] {
                for &maturity in &[0.05, 1.0, 7.0] {
                    let market = Market {
                        spot: 100.0,
                        rate: 0.03,
                        dividend: 0.01,
                        vol,
                    };
                    let price = black_scholes_precise(kind, &market, strike, maturity);
                    // Time value too small to carry a volatility in f64
                    // (below 1e-12 of the strike): nothing to invert.
                    let intrinsic = black_scholes_precise(
                        kind,
                        &Market {
                            vol: 1e-9,
                            ..market
                        },
                        strike,
                        maturity,
                    );
                    if price - intrinsic < 1e-10 * strike {
                        continue;
                    }
                    let implied = black_implied_vol(kind, &market, strike, maturity, price)
                        .unwrap_or_else(|| panic!("{kind:?} {vol} {strike} {maturity}"));
                    worst = worst.max((implied - vol).abs() / vol);
                }
            }
        }
    }
    assert!(worst < 1e-8, "largest relative error {worst:e}");
    let market = Market {
        spot: 100.0,
        rate: 0.03,
        dividend: 0.01,
        vol: 0.2,
    };
    // Below intrinsic, at or above the discounted forward, NaN: none.
    let forward = 100.0 * (0.02_f64).exp() * (-0.03_f64).exp();
    for price in [0.0, -1.0, 5.0, forward, forward + 1.0, f64::NAN] {
        assert_eq!(
            black_implied_vol(OptionKind::Call, &market, 95.0, 1.0, price),
            None,
            "{price}"
        );
    }
}

/// A Heston smile: every strike and maturity on the same paths, each
/// quote bit for bit the job priced alone at its strike, and the
/// simulated implied volatilities within a few of their standard errors
/// of the semi-analytic price's.
#[test]
fn a_heston_strip_prices_each_strike_on_common_paths_and_reads_the_smile() {
    use quantmc::strip::Strip;
    let mut job = model_job(
        Model::Heston(heston(HestonScheme::Qe)),
        OptionKind::Call,
        Style::European,
        32,
        1 << 16,
        true,
    );
    job.control_variate = true;
    let strip = Strip {
        strikes: vec![70.0, 85.0, 100.0, 115.0, 130.0],
        maturities: vec![0.5, 2.0],
        implied_vol: true,
    };
    let result = quantmc::price_strip(&job, &strip, Backend::Rayon).unwrap();
    assert_eq!(result.strikes.len(), 10);
    let mut vols = Vec::new();
    for (quote, (maturity, strike)) in result.strikes.iter().zip(
        [0.5, 2.0]
            .into_iter()
            .flat_map(|t| strip.strikes.iter().map(move |&k| (t, k))),
    ) {
        assert_eq!((quote.maturity, quote.strike), (maturity, strike));
        let mut alone = job;
        alone.option.strike = strike;
        alone.option.maturity = maturity;
        let single = quantmc::price(&alone, Backend::Rayon).unwrap();
        assert_eq!(
            quote.price.to_bits(),
            single.price.to_bits(),
            "{strike} {maturity}"
        );
        let vol = quote.implied_vol.unwrap();
        let se = quote.implied_vol_std_error.unwrap();
        let reference = quote.closed_form_implied_vol.unwrap();
        assert!(se > 0.0 && se < 0.01, "{se}");
        assert!(
            (vol - reference).abs() < 4.0 * se,
            "{strike} {maturity}: {vol} vs {reference} (SE {se})"
        );
        vols.push(reference);
    }
    // rho < 0: a skew, falling with the strike at each maturity.
    for maturity in vols.chunks(5) {
        assert!(maturity.windows(2).all(|w| w[1] < w[0]), "{maturity:?}");
    }
    assert_eq!(result.paths, 1 << 16);
    assert_eq!(result.model, job.model);
}

/// Under Black-Scholes the strip's implied volatilities are the job's
/// volatility within their standard errors, and a strip of styles other
/// than the European prices without them.
#[test]
fn a_black_scholes_strip_implies_its_own_volatility() {
    use quantmc::strip::Strip;
    let job = model_job(
        Model::default(),
        OptionKind::Put,
        Style::European,
        1,
        1 << 16,
        true,
    );
    let strip = Strip {
        strikes: vec![80.0, 100.0, 120.0],
        implied_vol: true,
        ..Strip::default()
    };
    let result = quantmc::price_strip(&job, &strip, Backend::Simd).unwrap();
    for quote in &result.strikes {
        let vol = quote.implied_vol.unwrap();
        assert!((vol - job.market.vol).abs() < 4.0 * quote.implied_vol_std_error.unwrap());
        assert!((quote.closed_form_implied_vol.unwrap() - job.market.vol).abs() < 1e-9);
    }
    let asian = PricingJob {
        option: OptionSpec {
            style: Style::AsianArithmetic,
            ..job.option
        },
        ..job
    };
    let prices = Strip {
        strikes: vec![90.0, 110.0],
        ..Strip::default()
    };
    let result = quantmc::price_strip(&asian, &prices, Backend::Scalar).unwrap();
    // A put: worth more at the higher strike.
    assert!(result.strikes[0].price < result.strikes[1].price);
    assert!(result.strikes.iter().all(|q| q.implied_vol.is_none()));
}

/// A strip's bad fields are named before anything runs.
#[test]
fn bad_strips_are_refused_naming_the_field() {
    use quantmc::strip::{MAX_QUOTES, Strip};
    let job = model_job(
        Model::Heston(heston(HestonScheme::Qe)),
        OptionKind::Call,
        Style::European,
        8,
        1000,
        false,
    );
    let refused = |job: &PricingJob, strip: Strip, field: &str| {
        let err = quantmc::price_strip(job, &strip, Backend::Scalar).unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    };
    refused(
        &job,
        Strip {
            strikes: vec![90.0, -1.0],
            ..Strip::default()
        },
        "strikes[1]",
    );
    refused(
        &job,
        Strip {
            strikes: vec![f64::NAN],
            ..Strip::default()
        },
        "strikes[0]",
    );
    refused(
        &job,
        Strip {
            maturities: vec![1.0, 0.0],
            ..Strip::default()
        },
        "maturities[1]",
    );
    refused(
        &job,
        Strip {
            strikes: vec![100.0; MAX_QUOTES + 1],
            ..Strip::default()
        },
        "strikes",
    );
    let digital = PricingJob {
        option: OptionSpec {
            style: Style::Digital,
            ..job.option
        },
        ..job
    };
    refused(
        &digital,
        Strip {
            implied_vol: true,
            ..Strip::default()
        },
        "implied_vol",
    );
    let targeted = PricingJob {
        target: Some(quantmc::pricing::Target {
            precision: quantmc::pricing::Precision::StdError(0.01),
            max_paths: 1_000_000,
        }),
        ..job
    };
    refused(
        &targeted,
        Strip {
            strikes: vec![100.0],
            ..Strip::default()
        },
        "target",
    );
}
