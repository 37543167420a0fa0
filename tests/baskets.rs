//! Options on several correlated assets: the closed forms against
//! QuantLib, the simulation against the closed forms and QuantLib's Choi
//! engine, the one-asset basket against the single-asset engine, and the
//! command line.

mod common;

use quantmc::basket::{Assets, BasketAsset, BasketJob, BasketStyle};
use quantmc::pricing::Sampler;
use quantmc::{Backend, OptionKind, PricingJob};

/// QuantLib 1.44's two-asset setting: S1 = 100 (q 1%, vol 20%), S2 = 95
/// (q 3%, vol 30%), r = 5%, one year, strike 98.
fn pair(rho: f64, weights: [f64; 2]) -> Assets {
    let asset = |name: &str, spot, vol, dividend, weight| BasketAsset {
        name: name.into(),
        spot,
        vol,
        dividend,
        weight,
    };
    Assets {
        assets: vec![
            asset("one", 100.0, 0.2, 0.01, weights[0]),
            asset("two", 95.0, 0.3, 0.03, weights[1]),
        ],
        correlation: vec![vec![1.0, rho], vec![rho, 1.0]],
    }
}

/// QuantLib 1.44 StulzEngine (worst-of: MinBasketPayoff, best-of:
/// MaxBasketPayoff) on [`pair`], strike 98.
const STULZ: [(f64, BasketStyle, OptionKind, f64); 12] = [
    (
        -0.5,
        BasketStyle::WorstOf,
        OptionKind::Call,
        1.290826856972171e+00,
    ),
    (
        -0.5,
        BasketStyle::BestOf,
        OptionKind::Call,
        2.014762626801915e+01,
    ),
    (
        -0.5,
        BasketStyle::WorstOf,
        OptionKind::Put,
        1.562264167650185e+01,
    ),
    (
        -0.5,
        BasketStyle::BestOf,
        OptionKind::Put,
        1.059469588604298e+00,
    ),
    (
        0.3,
        BasketStyle::WorstOf,
        OptionKind::Call,
        4.080597602713284e+00,
    ),
    (
        0.3,
        BasketStyle::BestOf,
        OptionKind::Call,
        1.735785552227804e+01,
    ),
    (
        0.3,
        BasketStyle::WorstOf,
        OptionKind::Put,
        1.366065747340829e+01,
    ),
    (
        0.3,
        BasketStyle::BestOf,
        OptionKind::Put,
        3.021453791697859e+00,
    ),
    (
        0.8,
        BasketStyle::WorstOf,
        OptionKind::Call,
        6.928712251159218e+00,
    ),
    (
        0.8,
        BasketStyle::BestOf,
        OptionKind::Call,
        1.45097408738321e1,
    ),
    (
        0.8,
        BasketStyle::WorstOf,
        OptionKind::Put,
        1.208966979830799e+01,
    ),
    (
        0.8,
        BasketStyle::BestOf,
        OptionKind::Put,
        4.592441466798164e+00,
    ),
];

/// QuantLib 1.44 AnalyticEuropeanMargrabeEngine on [`pair`]: the right to
/// exchange one unit of `two` for one of `one`.
const MARGRABE: [(f64, f64); 3] = [
    (-0.5, 2.011631459337654e+01),
    (0.3, 1.536455964454186e+01),
    (0.8, 1.094545732099564e+01),
];

#[test]
fn stulz_and_margrabe_match_quantlib() {
    for (rho, style, kind, quantlib) in STULZ {
        let mut job = BasketJob::new(pair(rho, [1.0, 1.0]), style);
        job.kind = kind;
        job.strike = 98.0;
        let ours = job.closed_form().unwrap();
        assert!(
            (ours - quantlib).abs() < 1e-9 * quantlib,
            "{style} {kind} rho {rho}: {ours} against QuantLib's {quantlib}"
        );
    }
    for (rho, quantlib) in MARGRABE {
        let mut job = BasketJob::new(pair(rho, [1.0, -1.0]), BasketStyle::Spread);
        job.strike = 0.0;
        let ours = job.closed_form().unwrap();
        assert!(
            (ours - quantlib).abs() < 1e-10 * quantlib,
            "rho {rho}: {ours} against QuantLib's {quantlib}"
        );
    }
}

/// `job` on the rayon tier, asserting the estimate lies within 4 standard
/// errors of `reference`.
fn assert_near(job: &BasketJob, reference: f64) -> quantmc::basket::BasketResult {
    let result = quantmc::price_basket(job, Backend::Rayon).unwrap();
    let (price, se) = (result.pricing.price, result.pricing.std_error);
    assert!(
        (price - reference).abs() < 4.0 * se,
        "{} {}: {price} +/- {se} against {reference} ({:.2} SE)",
        job.describe(),
        job.method(),
        (price - reference) / se
    );
    result
}

#[test]
fn the_simulation_meets_stulz_and_margrabe() {
    for (rho, style, kind, quantlib) in STULZ.into_iter().filter(|c| c.0 == 0.3) {
        let mut job = BasketJob::new(pair(rho, [1.0, 1.0]), style);
        job.kind = kind;
        job.strike = 98.0;
        job.paths = 200_000;
        job.steps = 4;
        assert_near(&job, quantlib);
    }
    for kind in [OptionKind::Call, OptionKind::Put] {
        let mut job = BasketJob::new(pair(-0.5, [1.0, -1.0]), BasketStyle::Spread);
        job.strike = 0.0;
        job.kind = kind;
        job.paths = 200_000;
        job.antithetic = true;
        let closed = job.closed_form().unwrap();
        let result = assert_near(&job, closed);
        assert_eq!(result.pricing.closed_form, Some(closed));
        // RQMC too, on the scalar oracle and the rayon tier alike.
        job.antithetic = false;
        job.sampler = Sampler::Rqmc;
        job.replicates = 16;
        job.paths = 16 * 4096;
        job.steps = 2;
        let rqmc = assert_near(&job, closed);
        let oracle = quantmc::price_basket(&job, Backend::Scalar).unwrap();
        assert!((rqmc.pricing.price - oracle.pricing.price).abs() < 1e-9 * closed);
    }
}

#[test]
fn the_arithmetic_basket_meets_quantlibs_choi_engine_with_its_control_variate() {
    // QuantLib 1.44 ChoiBasketEngine (lambda 20) on three assets.
    let assets = Assets {
        assets: [
            (100.0, 0.01, 0.2, 0.5),
            (95.0, 0.03, 0.3, 0.3),
            (110.0, 0.0, 0.25, 0.2),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(spot, dividend, vol, weight))| BasketAsset {
            name: format!("s{i}"),
            spot,
            vol,
            dividend,
            weight,
        })
        .collect(),
        correlation: vec![
            vec![1.0, 0.5, 0.3],
            vec![0.5, 1.0, 0.6],
            vec![0.3, 0.6, 1.0],
        ],
    };
    for (kind, choi) in [
        (OptionKind::Call, 9.663151481494983),
        (OptionKind::Put, 5.625904537975143),
    ] {
        let mut job = BasketJob::new(assets.clone(), BasketStyle::Basket);
        job.kind = kind;
        job.paths = 100_000;
        let plain = assert_near(&job, choi);
        job.control_variate = true;
        let controlled = assert_near(&job, choi);
        let reduction = controlled.pricing.variance_reduction.unwrap();
        assert!(
            reduction > 20.0,
            "{kind}: the geometric basket reduced the variance only {reduction}x"
        );
        assert!(controlled.pricing.std_error < plain.pricing.std_error / 4.0);
        // The geometric basket sits below the arithmetic one (AM-GM).
        let geometric = controlled.geometric_basket.unwrap();
        match kind {
            OptionKind::Call => assert!(geometric < choi, "{geometric} {choi}"),
            OptionKind::Put => assert!(geometric > choi, "{geometric} {choi}"),
        }
    }
}

#[test]
fn a_one_asset_basket_is_the_single_asset_european_on_the_same_streams() {
    let mut assets = pair(0.0, [1.0, 1.0]);
    assets.assets.truncate(1);
    assets.correlation = vec![vec![1.0]];
    let mut job = BasketJob::new(assets, BasketStyle::Basket);
    job.kind = OptionKind::Put;
    job.strike = 104.0;
    job.paths = 50_001;
    let mut single = PricingJob::default();
    single.market.dividend = 0.01;
    single.option.kind = OptionKind::Put;
    single.option.strike = 104.0;
    single.paths = job.paths;
    for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
        let basket = quantmc::price_basket(&job, backend).unwrap().pricing;
        let european = quantmc::price(&single, backend).unwrap();
        assert!(
            (basket.price - european.price).abs() < 1e-10 * european.price,
            "{backend:?}: {} against {}",
            basket.price,
            european.price
        );
        assert!((basket.std_error - european.std_error).abs() < 1e-9 * european.std_error);
    }
}

#[test]
fn a_target_sizes_a_fresh_final_stage_within_the_cap() {
    use quantmc::pricing::{Precision, Target};
    let mut job = BasketJob::new(pair(0.3, [1.0, 1.0]), BasketStyle::BestOf);
    job.strike = 98.0;
    job.paths = 4096;
    let first = quantmc::price_basket(&job, Backend::Rayon).unwrap().pricing;
    // A third of the first round's standard error: about nine rounds.
    let goal = first.std_error / 3.0;
    job.target = Some(Target {
        precision: Precision::StdError(goal),
        max_paths: 1 << 20,
    });
    let reached = quantmc::price_basket(&job, Backend::Rayon).unwrap().pricing;
    assert_eq!(reached.target_reached, Some(true));
    assert!(reached.std_error <= goal, "{} > {goal}", reached.std_error);
    let estimated = reached.paths - reached.pilot_paths.unwrap();
    assert!(
        estimated > 4096 && estimated.is_multiple_of(4096),
        "{}",
        reached.paths
    );
    // The estimate is the final stage's alone, fresh paths of streams of
    // its own: a fixed run of as many paths on them gives the same
    // figures, on any tier.
    let mut fixed = job.clone();
    fixed.target = None;
    fixed.paths = estimated;
    fixed.seed = quantmc::stopping::final_seed(job.seed);
    let same = quantmc::price_basket(&fixed, Backend::Scalar)
        .unwrap()
        .pricing;
    assert!((same.price - reached.price).abs() < 1e-9 * same.price);
    let closed = job.closed_form().unwrap();
    assert!((reached.price - closed).abs() < 4.0 * reached.std_error);
    // A cap below what the goal needs: stops there and says so.
    job.target = Some(Target {
        precision: Precision::RelStdError(1e-9),
        max_paths: 3 * 4096,
    });
    let capped = quantmc::price_basket(&job, Backend::Simd).unwrap().pricing;
    assert_eq!(capped.target_reached, Some(false));
    assert_eq!(capped.paths, 3 * 4096);
    // And a cap below two rounds (the pilot and the final stage) is
    // refused, naming it.
    job.target = Some(Target {
        precision: Precision::StdError(0.01),
        max_paths: 2 * 4096 - 1,
    });
    let err = job.validate().unwrap_err().to_string();
    assert!(err.contains("max-paths"), "{err}");
}

/// `job`'s closed form with asset `a`'s spot (or volatility) bumped up and
/// down: the central difference.
fn closed_form_slope(job: &BasketJob, a: usize, vega: bool) -> f64 {
    let bumped = |sign: f64| {
        let mut job = job.clone();
        let asset = &mut job.assets.assets[a];
        if vega {
            asset.vol += sign * 1e-5;
        } else {
            asset.spot += sign * 1e-4 * asset.spot;
        }
        job.closed_form().unwrap()
    };
    let h = if vega {
        1e-5
    } else {
        1e-4 * job.assets.assets[a].spot
    };
    (bumped(1.0) - bumped(-1.0)) / (2.0 * h)
}

#[test]
fn pathwise_deltas_and_vegas_meet_the_closed_forms_slopes() {
    let mut jobs = Vec::new();
    for (style, kind) in [
        (BasketStyle::WorstOf, OptionKind::Call),
        (BasketStyle::BestOf, OptionKind::Put),
    ] {
        let mut job = BasketJob::new(pair(0.3, [1.0, 1.0]), style);
        job.kind = kind;
        job.strike = 98.0;
        jobs.push(job);
    }
    let mut exchange = BasketJob::new(pair(-0.5, [1.0, -1.0]), BasketStyle::Spread);
    exchange.strike = 0.0;
    jobs.push(exchange);
    for mut job in jobs {
        job.paths = 400_000;
        job.antithetic = true;
        job.steps = 2;
        job.greeks = true;
        let result = quantmc::price_basket(&job, Backend::Rayon).unwrap();
        let greeks = result.asset_greeks.unwrap();
        for (a, asset) in greeks.iter().enumerate() {
            for (vega, greek) in [(false, asset.delta), (true, asset.vega)] {
                let slope = closed_form_slope(&job, a, vega);
                assert!(
                    (greek.value - slope).abs() < 4.0 * greek.std_error + 1e-6,
                    "{} {}: {} of {} is {} +/- {} against the closed form's {slope}",
                    job.describe(),
                    job.method(),
                    if vega { "vega" } else { "delta" },
                    asset.asset,
                    greek.value,
                    greek.std_error
                );
            }
        }
    }
}

#[test]
fn a_one_asset_baskets_greeks_are_the_europeans_pathwise_greeks() {
    let mut assets = pair(0.0, [1.0, 1.0]);
    assets.assets.truncate(1);
    assets.correlation = vec![vec![1.0]];
    let mut job = BasketJob::new(assets, BasketStyle::Basket);
    job.strike = 104.0;
    job.paths = 50_000;
    job.greeks = true;
    let mut single = PricingJob::default();
    single.market.dividend = 0.01;
    single.option.strike = 104.0;
    single.paths = job.paths;
    single.greeks = Some(quantmc::pricing::GreeksMethod::Pathwise);
    for backend in [Backend::Scalar, Backend::Rayon] {
        let basket = quantmc::price_basket(&job, backend)
            .unwrap()
            .asset_greeks
            .unwrap();
        let european = quantmc::price(&single, backend).unwrap().greeks.unwrap();
        for (ours, theirs) in [
            (basket[0].delta, european.delta),
            (basket[0].vega, european.vega),
        ] {
            assert!(
                (ours.value - theirs.value).abs() < 1e-9 * theirs.value.abs(),
                "{backend:?}: {ours:?} against {theirs:?}"
            );
            assert!((ours.std_error - theirs.std_error).abs() < 1e-7 * theirs.std_error);
        }
    }
}

#[test]
fn what_the_gpu_cannot_run_and_bad_input_are_refused_with_the_reason() {
    let mut job = BasketJob::new(pair(0.3, [1.0, 1.0]), BasketStyle::WorstOf);
    let gpu_problem = |job: &BasketJob| {
        let plan = job.plan().unwrap();
        let work = quantmc::selector::Work::basket(job, &plan);
        let problem = quantmc::backend::basket_gpu_problem(&plan);
        assert_eq!(
            work.gpu_unsupported,
            problem.as_ref().map(|(reason, _)| *reason)
        );
        problem.map(|(_, message)| message)
    };
    assert_eq!(gpu_problem(&job), None);
    // Per-asset Greeks and prices outside f32: refused with the reason, so
    // Auto takes a CPU tier. RQMC runs on the device.
    job.greeks = true;
    assert!(gpu_problem(&job).unwrap().contains("Greeks"));
    job.greeks = false;
    job.sampler = quantmc::pricing::Sampler::Rqmc;
    job.replicates = 4;
    job.paths = 4096;
    job.steps = 64;
    assert_eq!(gpu_problem(&job), None);
    job.sampler = quantmc::pricing::Sampler::Mc;
    job.assets.assets[0].spot = 1e30;
    assert!(gpu_problem(&job).unwrap().contains("f32"));
    let mut bad = BasketJob::new(pair(0.3, [1.0, 1.0]), BasketStyle::WorstOf);
    bad.assets.correlation[0][1] = 1.5;
    bad.assets.correlation[1][0] = 1.5;
    let err = quantmc::price_basket(&bad, Backend::Scalar)
        .unwrap_err()
        .to_string();
    assert!(err.contains("correlation[1][0] = 1.5"), "{err}");
}

/// `common::basket_assets(d)` written to a file of this test's own.
fn assets_file(test: &str, d: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "quantmc-basket-{test}-{}-{d}.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        serde_json::to_string(&common::basket_assets(d)).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn the_command_line_prices_a_basket_from_an_assets_file() {
    let path = assets_file("price", 4);
    let json = common::cli_json([
        "price",
        "--assets",
        path.to_str().unwrap(),
        "--style",
        "basket",
        "--strike",
        "100",
        "--paths",
        "20000",
        "--control-variate",
        "--backend",
        "rayon",
        "--json",
    ]);
    assert_eq!(json["style"], "basket");
    assert_eq!(json["assets"].as_array().unwrap().len(), 4);
    assert!(json["price"].as_f64().unwrap() > 0.0);
    assert!(json["geometric_basket"].as_f64().unwrap() > 0.0);
    assert!(
        json["method"]
            .as_str()
            .unwrap()
            .contains("geometric basket")
    );
    // With Greeks: one list a basket, every key once in the document.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
        .args([
            "price",
            "--assets",
            path.to_str().unwrap(),
            "--style",
            "basket",
        ])
        .args(["--paths", "2000", "--greeks", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.matches("\"greeks\":").count(), 1, "{text}");
    let with_greeks: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(with_greeks["greeks"].is_null());
    let greeks = with_greeks["asset_greeks"].as_array().unwrap();
    assert_eq!(greeks.len(), 4);
    assert!(greeks[0]["delta"]["value"].as_f64().unwrap() > 0.0);
    // The same job through the library gives the same bits.
    let mut job = BasketJob::new(common::basket_assets(4), BasketStyle::Basket);
    job.paths = 20_000;
    job.control_variate = true;
    let library = quantmc::price_basket(&job, Backend::Rayon).unwrap();
    assert_eq!(json["price"].as_f64().unwrap(), library.pricing.price);
}

#[test]
fn the_command_line_refuses_what_a_basket_cannot_carry() {
    let path = assets_file("refuse", 3);
    let path = path.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--style", "basket", "--greeks", "--greeks-method", "fd"],
            "greeks-method",
        ),
        (&["--style", "basket", "--model", "heston"], "model"),
        (&["--style", "spread"], "a spread takes exactly 2 assets"),
        (&["--style", "european"], "style"),
        (&["--style", "basket", "--strikes", "90,100"], "strikes"),
        (&["--style", "basket", "--spot", "90"], "spot"),
    ];
    for (extra, expected) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
            .args(["price", "--assets", path, "--paths", "1000"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
    // A basket style without the assets file.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
        .args(["price", "--style", "worst-of"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--assets"), "{stderr}");
}
