//! Every bad input gets a typed error naming the field and the value.

use quantmc::pricing::{Precision, Sampler, Target};
use quantmc::{
    Asset, Backend, Confidence, Error, InputError, Market, OptionKind, OptionSpec, Portfolio,
    PricingJob, ReturnDistribution, RunOptions, Style, VarJob,
};

fn good_pricing() -> PricingJob {
    PricingJob {
        market: Market {
            spot: 100.0,
            rate: 0.05,
            dividend: 0.0,
            vol: 0.2,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style: Style::AsianArithmetic,
            strike: 100.0,
            maturity: 1.0,
            steps: 12,
            barrier: None,
        },
        paths: 1000,
        seed: 1,
        antithetic: false,
        ..Default::default()
    }
}

fn good_portfolio() -> Portfolio {
    Portfolio {
        value: 1e6,
        assets: vec![
            Asset {
                name: "A".into(),
                weight: 0.6,
                mu: 0.0003,
                sigma: 0.02,
                ..Default::default()
            },
            Asset {
                name: "B".into(),
                weight: 0.4,
                mu: 0.0001,
                sigma: 0.01,
                ..Default::default()
            },
        ],
        correlation: vec![vec![1.0, 0.3], vec![0.3, 1.0]],
        ..Default::default()
    }
}

fn good_var() -> VarJob {
    VarJob {
        portfolio: good_portfolio(),
        scenarios: 1000,
        confidences: vec![Confidence::new(0.95)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::Normal,
        seed: 1,
    }
}

/// The message of the error `price` returns for `job`, which must be an input error.
fn price_error(job: PricingJob) -> String {
    match quantmc::price(&job, Backend::Scalar) {
        Err(Error::Input(err)) => err.to_string(),
        other => panic!("expected an input error, got {other:?}"),
    }
}

fn var_error(job: VarJob) -> String {
    match quantmc::var(&job, Backend::Scalar) {
        Err(Error::Input(err)) => err.to_string(),
        other => panic!("expected an input error, got {other:?}"),
    }
}

fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "'{message}' should mention '{needle}'"
        );
    }
}

#[test]
fn market_and_contract_errors_name_the_field_and_value() {
    type Edit = fn(&mut PricingJob);
    let cases: &[(Edit, &[&str])] = &[
        (|j| j.market.spot = 0.0, &["spot", "0.0"]),
        (|j| j.market.spot = -5.0, &["spot", "-5.0"]),
        (|j| j.market.spot = f64::NAN, &["spot", "NaN"]),
        (|j| j.market.vol = 0.0, &["vol", "0.0"]),
        (|j| j.market.vol = -0.2, &["vol", "-0.2"]),
        (|j| j.market.vol = f64::INFINITY, &["vol", "inf"]),
        (|j| j.market.rate = f64::NAN, &["rate", "NaN"]),
        (
            |j| j.market.dividend = f64::NEG_INFINITY,
            &["dividend", "-inf"],
        ),
        (|j| j.option.strike = 0.0, &["strike", "0.0"]),
        (|j| j.option.strike = f64::NAN, &["strike", "NaN"]),
        (|j| j.option.maturity = 0.0, &["maturity", "0.0"]),
        (|j| j.option.maturity = -1.0, &["maturity", "-1.0"]),
        (|j| j.option.steps = 0, &["steps", "0"]),
        (|j| j.paths = 0, &["paths", "0"]),
        (
            |j| {
                j.antithetic = true;
                j.paths = 1001;
            },
            &["paths", "1001", "even"],
        ),
        (|j| j.paths = u64::MAX, &["paths", "18446744073709551615"]),
        (
            |j| {
                j.sampler = Sampler::Rqmc;
                j.replicates = 1;
            },
            &["replicates", "1", "2"],
        ),
        (
            |j| {
                j.sampler = Sampler::Rqmc;
                j.replicates = 7;
            },
            &["paths", "1000", "7 replicates"],
        ),
        (
            |j| {
                j.sampler = Sampler::Rqmc;
                j.replicates = 8;
                j.option.steps = 1025;
            },
            &["steps", "1025", "1024"],
        ),
        (
            |j| {
                j.control_variate = true;
                j.paths = 2;
            },
            &["paths", "2", "control"],
        ),
        (
            |j| {
                j.target = Some(Target {
                    precision: Precision::StdError(0.0),
                    max_paths: 10_000,
                })
            },
            &["target-se", "0.0"],
        ),
        (
            |j| {
                j.target = Some(Target {
                    precision: Precision::RelStdError(f64::NAN),
                    max_paths: 10_000,
                })
            },
            &["target-rel-se", "NaN"],
        ),
        (
            |j| {
                j.target = Some(Target {
                    precision: Precision::StdError(0.01),
                    max_paths: 999,
                })
            },
            &["max-paths", "999", "below two rounds"],
        ),
        (
            |j| {
                j.sampler = Sampler::Rqmc;
                j.replicates = 2;
                j.paths = 1 << 34;
            },
            &["paths", "2^32 points per replicate"],
        ),
    ];
    for (edit, needles) in cases {
        let mut job = good_pricing();
        edit(&mut job);
        assert_names(&price_error(job), needles);
    }
}

#[test]
fn european_options_ignore_the_step_count() {
    let mut job = good_pricing();
    job.option.style = Style::European;
    job.option.steps = 0;
    assert!(quantmc::price(&job, Backend::Scalar).is_ok());
}

#[test]
fn unknown_names_list_the_choices() {
    let err = "straddle".parse::<OptionKind>().unwrap_err();
    assert_names(&err.to_string(), &["option", "straddle", "call, put"]);
    let err = "bermudan".parse::<Style>().unwrap_err();
    assert_names(&err.to_string(), &["style", "bermudan", "asian-geometric"]);
    let err = "tpu".parse::<Backend>().unwrap_err();
    assert_names(&err.to_string(), &["backend", "tpu", "rayon"]);
}

#[test]
fn portfolio_and_var_errors_name_the_field_and_value() {
    type Edit = fn(&mut VarJob);
    let cases: &[(Edit, &[&str])] = &[
        (|j| j.scenarios = 0, &["scenarios", "0"]),
        (
            |j| j.confidences = vec![Confidence::new(1.0)],
            &["confidence", "1.0"],
        ),
        (
            |j| j.confidences = vec![Confidence::new(0.0)],
            &["confidence", "0.0"],
        ),
        (
            |j| j.confidences = vec![Confidence::new(f64::NAN)],
            &["confidence", "NaN"],
        ),
        (|j| j.confidences.clear(), &["confidence"]),
        (|j| j.horizon_days = 0.0, &["horizon_days", "0.0"]),
        (
            |j| j.distribution = ReturnDistribution::StudentT { dof: 2.0 },
            &["dof", "2.0"],
        ),
        (
            |j| j.distribution = ReturnDistribution::StudentT { dof: f64::NAN },
            &["dof", "NaN"],
        ),
        (|j| j.portfolio.value = -1.0, &["value", "-1.0"]),
        (
            |j| j.portfolio.assets[1].sigma = 0.0,
            &["assets[1].sigma", "0.0"],
        ),
        (
            |j| j.portfolio.assets[0].weight = f64::NAN,
            &["assets[0].weight", "NaN"],
        ),
        (
            |j| j.portfolio.assets[0].mu = f64::INFINITY,
            &["assets[0].mu", "inf"],
        ),
        (|j| j.portfolio.assets.clear(), &["assets", "at least 1"]),
        (
            |j| j.portfolio.correlation.pop().map(drop).unwrap_or(()),
            &["correlation", "expected 2, found 1"],
        ),
        (
            |j| j.portfolio.correlation[1].push(0.0),
            &["correlation[1]", "expected 2, found 3"],
        ),
        (
            |j| j.portfolio.correlation[0][1] = 0.4,
            &["not symmetric", "0.4", "0.3"],
        ),
        (
            |j| j.portfolio.correlation[1][1] = 0.9,
            &["not unit-diagonal", "0.9"],
        ),
        (
            |j| j.portfolio.correlation[0][0] = f64::NAN,
            &["correlation[0][0]", "NaN"],
        ),
        (
            |j| {
                j.portfolio.correlation[0][1] = 1.5;
                j.portfolio.correlation[1][0] = 1.5;
            },
            &["1.5", "outside [-1, 1]"],
        ),
    ];
    for (edit, needles) in cases {
        let mut job = good_var();
        edit(&mut job);
        assert_names(&var_error(job), needles);
    }
}

#[test]
fn a_correlation_that_is_not_positive_semidefinite_is_rejected() {
    let mut job = good_var();
    job.portfolio.assets.push(Asset {
        name: "C".into(),
        ..job.portfolio.assets[0].clone()
    });
    job.portfolio.correlation = vec![
        vec![1.0, 0.9, -0.9],
        vec![0.9, 1.0, 0.9],
        vec![-0.9, 0.9, 1.0],
    ];
    assert_names(&var_error(job), &["positive semi-definite"]);
}

#[test]
fn confidence_text_is_parsed_and_kept() {
    let c: Confidence = "0.950".parse().unwrap();
    assert_eq!((c.level, c.label.as_str()), (0.95, "0.950"));
    let err = "high".parse::<Confidence>().unwrap_err();
    assert_names(&err.to_string(), &["confidence", "high"]);
    assert!(matches!(
        "1.5".parse::<Confidence>(),
        Err(InputError::Invalid { .. })
    ));
}

#[test]
fn portfolio_files_that_are_missing_or_malformed_get_errors() {
    let dir = std::env::temp_dir().join(format!("quantmc-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.json");
    let err = Portfolio::from_file(&missing).unwrap_err();
    assert_names(
        &err.to_string(),
        &["cannot read portfolio file", "missing.json"],
    );
    for (name, text, needle) in [
        ("broken.json", "{\"value\": 1000,", "EOF"),
        (
            "typo.json",
            r#"{"value": 1, "assets": [], "correlation": [], "extra": 1}"#,
            "extra",
        ),
        (
            "no_sigma.json",
            r#"{"value": 1, "assets": [{"name": "A", "weight": 1, "mu": 0}], "correlation": [[1]]}"#,
            "sigma",
        ),
        (
            "text.json",
            r#"{"value": "lots", "assets": [], "correlation": []}"#,
            "value",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let err = Portfolio::from_file(&path).unwrap_err();
        assert!(
            matches!(err, InputError::PortfolioFormat { .. }),
            "{name}: {err}"
        );
        assert_names(
            &err.to_string(),
            &["malformed portfolio file", name, needle],
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn zero_threads_is_an_error() {
    let options = RunOptions {
        backend: Backend::Scalar,
        threads: Some(0),
        ..RunOptions::default()
    };
    let err = quantmc::price(&good_pricing(), options).unwrap_err();
    assert_names(&err.to_string(), &["threads", "0"]);
}

#[cfg(not(feature = "gpu"))]
#[test]
fn the_gpu_tier_says_it_is_not_compiled_in() {
    let err = quantmc::price(&good_pricing(), Backend::Gpu).unwrap_err();
    assert!(matches!(
        err,
        Error::Backend(quantmc::BackendError::NotCompiledWith { backend: "gpu", .. })
    ));
    assert_names(&err.to_string(), &["gpu", "--features gpu"]);
}
