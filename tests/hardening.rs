//! Regression tests for hostile input: every case here once hung, aborted,
//! panicked or printed a non-finite number with exit 0.

use quantmc::market::{Barrier, BarrierKind, Monitoring};
use quantmc::pricing::{GreeksMethod, Precision, Sampler, Target};
use quantmc::risk::RiskModel;

fn model(dof: Option<f64>) -> RiskModel {
    RiskModel {
        mean: 100.0,
        loadings: vec![3000.0, -1200.0, 400.0],
        dof,
        book: None,
    }
}

#[test]
fn student_t_parametric_figures_are_stable_for_any_dof() {
    let normal = model(None).parametric(0.99).unwrap();
    let mut previous_gap = f64::INFINITY;
    for dof in [
        2.0001, 2.5, 3.0, 5.0, 30.0, 999.0, 1000.0, 1001.0, 1e4, 1e5, 1e6, 1e7, 2e7, 1e8, 1e9, 1e12,
    ] {
        let t = model(Some(dof)).parametric(0.99).unwrap();
        assert!(t.var.is_finite() && t.es.is_finite(), "dof {dof}: {t:?}");
        assert!(t.es > t.var, "dof {dof}: {t:?}");
        // A standardised t's 99% quantile lies below the normal's only for
        // small dof; from dof 5 on, VaR and ES approach the normal figures
        // monotonically.
        if dof >= 5.0 {
            let gap = (t.es - normal.es).abs() + (t.var - normal.var).abs();
            assert!(
                gap <= previous_gap * (1.0 + 1e-9),
                "dof {dof}: {gap} > {previous_gap}"
            );
            previous_gap = gap;
        }
    }
    let far = model(Some(1e12)).parametric(0.99).unwrap();
    assert!(
        (far.var - normal.var).abs() < 1e-6 * normal.var,
        "{far:?} vs {normal:?}"
    );
    assert!(
        (far.es - normal.es).abs() < 1e-6 * normal.es,
        "{far:?} vs {normal:?}"
    );
    let big = model(Some(1e7)).parametric(0.99).unwrap();
    assert!(
        (big.es - normal.es).abs() < 1e-5 * normal.es,
        "{big:?} vs {normal:?}"
    );
    // The two methods meet where they switch (statrs below 1000, the
    // expansion from 1000).
    let below = model(Some(999.999_999)).parametric(0.999).unwrap();
    let above = model(Some(1000.0)).parametric(0.999).unwrap();
    assert!(
        (below.var - above.var).abs() < 1e-8 * above.var,
        "{below:?} {above:?}"
    );
    assert!(
        (below.es - above.es).abs() < 1e-8 * above.es,
        "{below:?} {above:?}"
    );
}

#[test]
fn parametric_figures_refuse_bad_levels_and_dof() {
    for dof in [0.0, -1.0, 2.0, f64::NAN, f64::INFINITY] {
        assert!(model(Some(dof)).parametric(0.99).is_err(), "dof {dof}");
    }
    for level in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(model(None).parametric(level).is_err(), "level {level}");
    }
}

use proptest::prelude::*;
use quantmc::stats::{tail_count, tail_count_decimal, tail_measures};
use quantmc::{
    Asset, Backend, Confidence, Market, OptionKind, OptionSpec, Portfolio, PricingJob,
    ReturnDistribution, RunOptions, Style, VarJob,
};

fn european(spot: f64, strike: f64, maturity: f64, rate: f64, vol: f64) -> PricingJob {
    PricingJob {
        market: Market {
            spot,
            rate,
            dividend: 0.0,
            vol,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style: Style::European,
            strike,
            maturity,
            steps: 1,
            barrier: None,
        },
        paths: 1000,
        seed: 1,
        antithetic: false,
        ..Default::default()
    }
}

fn portfolio(value: f64, weights: &[f64]) -> Portfolio {
    let k = weights.len();
    Portfolio {
        value,
        assets: weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Asset {
                name: format!("A{i}"),
                weight,
                mu: 0.0003,
                sigma: 0.02,
                ..Default::default()
            })
            .collect(),
        correlation: (0..k)
            .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.2 }).collect())
            .collect(),
        ..Default::default()
    }
}

fn var_job(portfolio: Portfolio, scenarios: u64, levels: &[&str]) -> VarJob {
    VarJob {
        portfolio,
        scenarios,
        confidences: levels.iter().map(|l| l.parse().unwrap()).collect(),
        horizon_days: 1.0,
        distribution: ReturnDistribution::Normal,
        seed: 9,
    }
}

#[test]
fn extreme_market_inputs_are_refused_naming_the_field() {
    for (job, field) in [
        (european(1e308, 100.0, 1.0, 0.05, 0.2), "spot"),
        (european(100.0, 1e-308, 1.0, 0.05, 0.2), "strike"),
        (european(100.0, 100.0, 1e308, 0.05, 0.2), "maturity"),
        (european(100.0, 100.0, 1.0, 1e308, 0.2), "rate"),
        (european(100.0, 100.0, 1.0, -1e3, 0.2), "rate"),
        (european(100.0, 100.0, 1.0, 0.05, 1e308), "vol"),
    ] {
        let err = quantmc::price(&job, Backend::Scalar)
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    // In range one by one, yet the discount factor underflows.
    let err = quantmc::price(&european(100.0, 100.0, 1000.0, 100.0, 0.2), Backend::Scalar)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("discount factor") && err.contains("rate = 100"),
        "{err}"
    );
}

#[test]
fn a_portfolio_whose_pnl_overflows_is_an_error_naming_its_inputs() {
    for job in [
        var_job(portfolio(1e308, &[0.5, 0.5]), 1000, &["0.99"]),
        var_job(portfolio(1e6, &[1e300, -1e300]), 1000, &["0.99"]),
        VarJob {
            horizon_days: 2520.0,
            ..var_job(portfolio(1e307, &[1e3, -1e3]), 1000, &["0.99"])
        },
    ] {
        for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
            let err = quantmc::var(&job, backend).unwrap_err().to_string();
            assert!(err.contains("not a finite number"), "{err}");
            assert!(err.contains("portfolio value"), "{err}");
        }
    }
}

#[test]
fn a_sample_that_never_pays_says_so_instead_of_claiming_certainty() {
    // vol 3 over 30 years: every simulated path ends worthless although the
    // call is worth nearly the spot.
    let job = PricingJob {
        paths: 10_000,
        ..european(100.0, 100.0, 30.0, 0.5, 3.0)
    };
    let result = quantmc::price(&job, Backend::Simd).unwrap();
    assert_eq!(result.std_error, 0.0);
    let warning = result.warnings.join(" ");
    assert!(warning.contains("rule of three"), "{warning}");
    assert!(warning.contains("10000 samples"), "{warning}");
}

#[test]
fn gpu_refuses_prices_outside_f32_and_auto_never_picks_it_for_them() {
    let huge = european(1e39, 1e39, 1.0, 0.05, 0.2);
    assert!(
        quantmc::backend::f32_problem(&huge)
            .unwrap()
            .contains("spot")
    );
    assert!(quantmc::backend::f32_problem(&european(1e-40, 1.0, 1.0, 0.05, 0.2)).is_some());
    assert!(quantmc::backend::f32_problem(&european(150.0, 155.0, 1.0, 0.05, 0.3)).is_none());
    // Payoffs must square within f32 for the standard error.
    assert!(quantmc::backend::f32_problem(&european(1e-22, 1e-22, 1.0, 0.05, 0.2)).is_some());
    assert!(quantmc::backend::f32_problem(&european(1e18, 1e18, 1.0, 0.05, 0.2)).is_some());
    assert!(quantmc::backend::f32_problem(&european(1e-14, 1e-14, 1.0, 0.05, 0.2)).is_none());
    // A step's diffusion f32 cannot resolve beside the log price.
    let flat = european(100.0, 100.0, 1.0, 0.05, 1e-6);
    let problem = quantmc::backend::f32_problem(&flat).unwrap();
    assert!(problem.contains("resolves"), "{problem}");
    assert!(
        quantmc::selector::Work::pricing(&flat)
            .gpu_unsupported
            .is_some()
    );
    assert!(
        quantmc::selector::Work::pricing(&huge)
            .gpu_unsupported
            .is_some()
    );
    // With a GPU crossover of zero Auto would pick any discrete GPU; not for
    // this job.
    let tuning = quantmc::Tuning {
        pricing: quantmc::selector::Crossovers::new([
            (quantmc::Tier::Rayon, Some(0.0)),
            (quantmc::Tier::Gpu, Some(0.0)),
        ]),
        risk: quantmc::Tuning::builtin().risk,
    };
    let decision = quantmc::selector::decide(
        quantmc::selector::Work::pricing(&huge),
        4,
        || Some(quantmc::selector::GpuClass::Discrete),
        &tuning,
    );
    assert_ne!(decision.tier, quantmc::Tier::Gpu);
}

#[test]
fn tail_ranks_are_exact_for_decimal_levels() {
    // (1 - 0.999995) * 2e5 is 1 exactly; in f64 it is 1.0000000000065512.
    assert_eq!(tail_count_decimal("0.999995", 200_000), Some(1));
    assert_eq!(tail_count(0.999995, 200_000), 1);
    assert_eq!(tail_count_decimal("0.95", 1_000_000), Some(50_000));
    assert_eq!(tail_count_decimal("0.95", 1_000_001), Some(50_001));
    assert_eq!(tail_count_decimal("0.5", 3), Some(2));
    assert_eq!(tail_count_decimal("9.5e-1", 100), None);
    for (text, n, m) in [
        ("0.999995", 200_000u64, 1usize),
        ("0.99", 300, 3),
        ("0.975", 4000, 100),
    ] {
        let confidence: Confidence = text.parse().unwrap();
        assert_eq!(confidence.tail_count(n as usize), m, "{text} of {n}");
    }
    // The VaR at a rank of 1 is the worst scenario, so ES equals it.
    let job = var_job(portfolio(1e6, &[0.6, 0.4]), 200_000, &["0.999995"]);
    let result = quantmc::var(&job, Backend::Rayon).unwrap();
    assert_eq!(result.levels[0].var, result.levels[0].es);
}

#[test]
fn empty_samples_and_ragged_matrices_are_errors_not_panics() {
    assert_eq!(tail_count(0.99, 0), 0);
    assert!(tail_measures(&mut [], &[0.99]).is_err());
    assert!(tail_measures(&mut [1.0, 2.0], &[1.5]).is_err());
    let ragged = vec![vec![1.0, 0.2], vec![0.2]];
    assert!(quantmc::risk::cholesky(&ragged).is_err());
    let mut short = portfolio(1e6, &[0.5, 0.5]);
    short.correlation = vec![vec![1.0]];
    assert!(var_job(short, 10, &["0.99"]).risk_model().is_err());
    assert_eq!(
        quantmc::calibrate::crossover(&[1.0, 2.0], &[1.0], &[1.0, 2.0]),
        None
    );
    assert_eq!(quantmc::calibrate::crossover(&[], &[], &[]), None);
}

#[test]
fn duplicate_confidence_levels_are_an_error() {
    let job = var_job(
        portfolio(1e6, &[0.5, 0.5]),
        1000,
        &["0.95", "0.99", "0.950"],
    );
    let err = quantmc::var(&job, Backend::Simd).unwrap_err().to_string();
    assert!(err.contains("given twice"), "{err}");
}

#[test]
fn thread_counts_are_capped_at_four_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let job = european(100.0, 100.0, 1.0, 0.05, 0.2);
    let options = |threads| RunOptions {
        backend: Backend::Rayon,
        threads: Some(threads),
        ..RunOptions::default()
    };
    assert!(quantmc::price(&job, options(4 * cores)).is_ok());
    let err = quantmc::price(&job, options(5000)).unwrap_err().to_string();
    assert!(
        err.contains("threads = 5000") && err.contains("at most"),
        "{err}"
    );
}

#[test]
fn calibration_files_replace_symlinks_instead_of_writing_through_them() {
    let dir = std::env::temp_dir().join(format!("quantmc-hardening-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.join("calibration.json");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let calibration = quantmc::selector::Calibration::builtin();
    quantmc::selector::save_to(&calibration, &link).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(!link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(
        quantmc::selector::load_from(&link).unwrap(),
        Some(calibration)
    );
    // A device is refused without reading it.
    let problem = quantmc::selector::load_from("/dev/zero".as_ref()).unwrap_err();
    assert!(
        problem.to_string().contains("not a regular file"),
        "{problem}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_inconsistent_calibration_is_refused() {
    let mut calibration = quantmc::selector::Calibration::builtin();
    assert!(quantmc::calibrate::inconsistency(&calibration, 2).is_none());
    calibration.tuning.pricing = quantmc::selector::Crossovers::default();
    calibration.tuning.risk = quantmc::selector::Crossovers::default();
    assert!(quantmc::calibrate::inconsistency(&calibration, 2).is_some());
    assert!(quantmc::calibrate::inconsistency(&calibration, 1).is_none());
}

/// A number drawn from the values that break arithmetic as well as ordinary
/// ones (ordinary ones most often, so that many jobs are valid and their
/// figures get checked too).
fn hostile_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        60 => 0.01..2.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(1e-300),
        1 => Just(1e300),
        1 => -1e3..1e3f64,
    ]
}

/// Jobs of the property tests that ran (rather than being refused).
static PRICED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static MEASURED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_pricing_job_is_an_error_or_finite_figures(
        spot in hostile_f64(),
        strike in hostile_f64(),
        maturity in hostile_f64(),
        rate in hostile_f64(),
        dividend in hostile_f64(),
        vol in hostile_f64(),
        style in prop::sample::select(Style::ALL.to_vec()),
        put in any::<bool>(),
        steps in 0u32..40,
        // 2^52 paths is valid and would run for days: only the refused
        // counts past it are drawn.
        paths in prop_oneof![8 => 0u64..40, 1 => Just(u64::MAX), 1 => Just((1u64 << 52) + 1)],
        antithetic in any::<bool>(),
        backend in prop::sample::select(vec![Backend::Scalar, Backend::Simd, Backend::Rayon]),
    ) {
        let job = PricingJob {
            market: Market { spot, rate, dividend, vol },
            option: OptionSpec {
                kind: if put { OptionKind::Put } else { OptionKind::Call },
                style,
                strike,
                maturity,
                steps,
            barrier: None,
            },
            paths,
            seed: 7,
            antithetic,
            ..Default::default()
        };
        // Huge path counts are refused by validation before any work.
        if let Ok(result) = quantmc::price(&job, backend) {
            PRICED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            prop_assert!(result.price.is_finite());
            prop_assert!(result.std_error.is_finite() && result.std_error >= 0.0);
            prop_assert!(result.ci95.iter().all(|x| x.is_finite()));
        }
    }

    #[test]
    fn any_var_job_is_an_error_or_finite_figures(
        value in hostile_f64(),
        weights in prop::collection::vec(hostile_f64(), 0..4),
        rho in prop_oneof![4 => -0.3..0.9f64, 1 => hostile_f64()],
        // Past 2^52 is refused; counts up to it are valid and stream in
        // bounded memory (tests/var.rs), too long to run here.
        scenarios in prop_oneof![8 => 0u64..300, 1 => Just((1u64 << 52) + 1), 1 => Just(u64::MAX)],
        level in prop_oneof![4 => 0.5..0.9999f64, 1 => hostile_f64()],
        horizon in hostile_f64(),
        dof in prop::option::of(hostile_f64()),
        backend in prop::sample::select(vec![Backend::Scalar, Backend::Simd, Backend::Rayon]),
    ) {
        let k = weights.len();
        let portfolio = Portfolio {
            value,
            assets: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Asset { name: format!("A{i}"), weight, mu: 1e-4, sigma: 0.02, ..Default::default() })
                .collect(),
            correlation: (0..k)
                .map(|i| (0..k).map(|j| if i == j { 1.0 } else { rho }).collect())
                .collect(),
            ..Default::default()
        };
        let job = VarJob {
            portfolio,
            scenarios,
            confidences: vec![Confidence::new(level), Confidence::new(0.99)],
            horizon_days: horizon,
            distribution: match dof {
                Some(dof) => ReturnDistribution::StudentT { dof },
                None => ReturnDistribution::Normal,
            },
            seed: 3,
        };
        if let Ok(result) = quantmc::var(&job, backend) {
            MEASURED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            prop_assert!(result.mean.is_finite() && result.std.is_finite());
            for level in &result.levels {
                prop_assert!(level.var.is_finite() && level.es.is_finite());
                prop_assert!(level.parametric_var.is_finite() && level.parametric_es.is_finite());
            }
        }
    }
}

static METHODS_RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_estimation_method_is_an_error_or_finite_figures(
        style in prop::sample::select(Style::ALL.to_vec()),
        put in any::<bool>(),
        steps in 0u32..20,
        paths in 0u64..300,
        antithetic in any::<bool>(),
        control_variate in any::<bool>(),
        rqmc in any::<bool>(),
        replicates in 0u32..10,
        target in prop::option::of((prop_oneof![3 => 1e-4..1.0f64, 1 => hostile_f64()], any::<bool>(), 0u64..3000)),
        vol in prop_oneof![4 => 0.05..1.0f64, 1 => hostile_f64()],
        backend in prop::sample::select(vec![Backend::Scalar, Backend::Simd, Backend::Rayon]),
        greeks in prop::option::of(prop::sample::select(vec![GreeksMethod::Pathwise, GreeksMethod::Fd])),
        barrier_spec in (
            prop_oneof![4 => 50.0..150.0f64, 1 => hostile_f64()],
            prop_oneof![4 => 0.0..5.0f64, 1 => hostile_f64()],
            prop::sample::select(vec![BarrierKind::UpAndOut, BarrierKind::UpAndIn, BarrierKind::DownAndOut, BarrierKind::DownAndIn]),
            any::<bool>(),
        ),
    ) {
        let (level, rebate, barrier_kind, continuous) = barrier_spec;
        let barrier = (style == Style::Barrier).then_some(Barrier {
            level,
            kind: barrier_kind,
            rebate,
            monitoring: if continuous { Monitoring::Continuous } else { Monitoring::Discrete },
        });
        let job = PricingJob {
            market: Market { spot: 100.0, rate: 0.03, dividend: 0.0, vol },
            model: quantmc::models::Model::default(),
            option: OptionSpec {
                kind: if put { OptionKind::Put } else { OptionKind::Call },
                style,
                strike: 95.0,
                maturity: 0.5,
                steps,
                barrier,
            },
            paths,
            seed: 11,
            antithetic,
            control_variate,
            sampler: if rqmc { Sampler::Rqmc } else { Sampler::Mc },
            replicates,
            target: target.map(|(value, relative, max_paths)| Target {
                precision: if relative { Precision::RelStdError(value) } else { Precision::StdError(value) },
                max_paths,
            }),
            greeks,
        };
        if let Ok(result) = quantmc::price(&job, backend) {
            METHODS_RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            prop_assert!(result.price.is_finite());
            prop_assert!(result.std_error.is_finite() && result.std_error >= 0.0);
            prop_assert!(result.ci95.iter().all(|x| x.is_finite()));
            prop_assert!(result.variance_reduction.is_none_or(|f| f.is_finite() && f > 0.0));
            if let Some(g) = &result.greeks {
                for greek in [g.delta, g.gamma, g.vega, g.rho, g.theta] {
                    prop_assert!(greek.value.is_finite() && greek.std_error.is_finite(), "{:?}", g);
                }
            }
            if let Some(target) = job.target {
                prop_assert!(result.paths <= target.max_paths);
            } else {
                prop_assert_eq!(result.paths, job.paths);
            }
        }
    }
}

static MODELS_RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(config())]

    /// Hostile model parameters, with every product and method, on every
    /// CPU tier: a named error or finite figures, never a panic, a hang or a
    /// NaN (QE near zero variance, Euler's negative variance, jump
    /// budgets at their edge, Feller violated).
    #[test]
    fn any_model_job_is_an_error_or_finite_figures(
        model in 0usize..4,
        v0 in prop_oneof![4 => 0.0..0.5f64, 1 => hostile_f64()],
        kappa in prop_oneof![4 => 0.01..10.0f64, 1 => hostile_f64()],
        theta in prop_oneof![4 => 0.001..0.5f64, 1 => hostile_f64()],
        xi in prop_oneof![4 => 0.01..3.0f64, 1 => hostile_f64()],
        rho in prop_oneof![4 => -0.99..0.99f64, 1 => hostile_f64()],
        euler in any::<bool>(),
        jumps in (
            prop_oneof![4 => 0.0..20.0f64, 1 => hostile_f64()],
            prop_oneof![4 => -1.0..1.0f64, 1 => hostile_f64()],
            prop_oneof![4 => 0.0..1.0f64, 1 => hostile_f64()],
        ),
        style in prop::sample::select(Style::ALL.to_vec()),
        put in any::<bool>(),
        steps in 0u32..40,
        maturity in prop_oneof![4 => 0.01..5.0f64, 1 => hostile_f64()],
        paths in 0u64..200,
        antithetic in any::<bool>(),
        control_variate in any::<bool>(),
        rqmc in any::<bool>(),
        fd in any::<bool>(),
        backend in prop::sample::select(vec![Backend::Scalar, Backend::Simd, Backend::Rayon]),
    ) {
        use quantmc::models::{Bates, Heston, HestonScheme, Jumps, Model};
        let heston = Heston {
            v0, kappa, theta, xi, rho,
            scheme: if euler { HestonScheme::Euler } else { HestonScheme::Qe },
        };
        let jumps = Jumps { jump_intensity: jumps.0, jump_mean: jumps.1, jump_vol: jumps.2 };
        let model = match model {
            0 => Model::default(),
            1 => Model::Heston(heston),
            2 => Model::Merton(jumps),
            _ => Model::Bates(Bates { heston, jumps }),
        };
        let barrier = (style == Style::Barrier).then_some(Barrier {
            level: 120.0,
            kind: BarrierKind::UpAndOut,
            rebate: 1.0,
            monitoring: Monitoring::Discrete,
        });
        let job = PricingJob {
            market: Market { spot: 100.0, rate: 0.03, dividend: 0.01, vol: 0.25 },
            model,
            option: OptionSpec {
                kind: if put { OptionKind::Put } else { OptionKind::Call },
                style,
                strike: 100.0,
                maturity,
                steps,
                barrier,
            },
            paths,
            seed: 5,
            antithetic,
            control_variate,
            sampler: if rqmc { Sampler::Rqmc } else { Sampler::Mc },
            replicates: 2,
            target: None,
            greeks: fd.then_some(GreeksMethod::Fd),
        };
        if let Ok(result) = quantmc::price(&job, backend) {
            MODELS_RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            prop_assert!(result.price.is_finite(), "{:?}", job);
            prop_assert!(result.std_error.is_finite() && result.std_error >= 0.0);
            prop_assert!(result.closed_form.is_none_or(f64::is_finite), "{:?}", job);
            if let Some(g) = &result.greeks {
                for greek in [g.delta, g.gamma, g.vega, g.rho, g.theta] {
                    prop_assert!(greek.value.is_finite() && greek.std_error.is_finite(), "{:?} {:?}", g, job);
                }
            }
        }
    }
}

static BASKETS_RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(config())]

    /// Hostile baskets (spots, vols, dividends, weights, correlations,
    /// strikes, maturities), every style, with every method, on every CPU
    /// tier: a named error or finite figures, never a panic or a NaN.
    #[test]
    fn any_basket_job_is_an_error_or_finite_figures(
        d in 1usize..5,
        spots in prop::collection::vec(prop_oneof![6 => 10.0..200.0f64, 1 => hostile_f64()], 5),
        vols in prop::collection::vec(prop_oneof![6 => 0.05..1.0f64, 1 => hostile_f64()], 5),
        dividends in prop::collection::vec(prop_oneof![6 => 0.0..0.05f64, 1 => hostile_f64()], 5),
        weights in prop::collection::vec(prop_oneof![6 => -1.0..2.0f64, 1 => hostile_f64()], 5),
        rho in prop_oneof![6 => -0.4..0.95f64, 1 => hostile_f64()],
        style in prop::sample::select(quantmc::basket::BasketStyle::NAMES.to_vec()),
        put in any::<bool>(),
        strike in prop_oneof![6 => 0.0..200.0f64, 1 => hostile_f64()],
        maturity in prop_oneof![6 => 0.01..5.0f64, 1 => hostile_f64()],
        steps in 0u32..6,
        paths in 0u64..120,
        antithetic in any::<bool>(),
        control_variate in any::<bool>(),
        rqmc in any::<bool>(),
        greeks in any::<bool>(),
        nearest_psd in any::<bool>(),
        backend in prop::sample::select(vec![Backend::Scalar, Backend::Simd, Backend::Rayon]),
    ) {
        use quantmc::basket::{Assets, BasketAsset, BasketJob};
        let assets = Assets {
            assets: (0..d)
                .map(|i| BasketAsset {
                    name: format!("a{i}"),
                    spot: spots[i],
                    vol: vols[i],
                    dividend: dividends[i],
                    weight: weights[i],
                })
                .collect(),
            correlation: (0..d)
                .map(|i| (0..d).map(|j| if i == j { 1.0 } else { rho }).collect())
                .collect(),
        };
        let mut job = BasketJob::new(assets, style.parse().unwrap());
        job.kind = if put { OptionKind::Put } else { OptionKind::Call };
        job.strike = strike;
        job.maturity = maturity;
        job.steps = steps;
        job.paths = paths;
        job.antithetic = antithetic;
        job.control_variate = control_variate;
        job.sampler = if rqmc { Sampler::Rqmc } else { Sampler::Mc };
        job.replicates = 2;
        job.greeks = greeks;
        job.nearest_psd = nearest_psd;
        if let Ok(result) = quantmc::price_basket(&job, backend) {
            BASKETS_RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = &result.pricing;
            prop_assert!(p.price.is_finite(), "{:?}", job);
            prop_assert!(p.std_error.is_finite() && p.std_error >= 0.0, "{:?}", job);
            prop_assert!(p.closed_form.is_none_or(f64::is_finite), "{:?}", job);
            prop_assert!(result.geometric_basket.is_none_or(f64::is_finite), "{:?}", job);
            for g in result.asset_greeks.iter().flatten() {
                for greek in [g.delta, g.vega] {
                    prop_assert!(greek.value.is_finite() && greek.std_error.is_finite(), "{:?} {:?}", g, job);
                }
            }
        }
    }
}

static GREEKS_RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(config())]

    /// Every product's Greeks, by either method, plain or behind a barrier,
    /// on every CPU tier: finite values and standard errors with a finite
    /// non-negative closed form beside them, or an error (a volatility of
    /// 1e-300 once printed gamma -1.2e295 with SE NaN, exit 0).
    #[test]
    fn any_greeks_job_is_an_error_or_finite_greeks(
        spot in hostile_f64(),
        strike in hostile_f64(),
        maturity in hostile_f64(),
        rate in hostile_f64(),
        vol in hostile_f64(),
        style in prop::sample::select(Style::ALL.to_vec()),
        put in any::<bool>(),
        steps in 1u32..12,
        barrier in prop::option::of((
            hostile_f64(),
            prop::sample::select(vec![BarrierKind::UpAndOut, BarrierKind::DownAndIn]),
            prop::sample::select(vec![Monitoring::Discrete, Monitoring::Continuous]),
        )),
        fd in any::<bool>(),
        backend in prop::sample::select(vec![Backend::Scalar, Backend::Simd, Backend::Rayon]),
    ) {
        let job = PricingJob {
            market: Market { spot: 100.0 * spot, rate: rate - 0.5, dividend: 0.0, vol },
            option: OptionSpec {
                kind: if put { OptionKind::Put } else { OptionKind::Call },
                style,
                strike: 100.0 * strike,
                maturity,
                steps,
                barrier: barrier.filter(|_| style == Style::Barrier).map(|(level, kind, monitoring)| Barrier {
                    level: 100.0 * level,
                    kind,
                    rebate: 0.0,
                    monitoring,
                }),
            },
            paths: 64,
            seed: 11,
            greeks: Some(if fd { GreeksMethod::Fd } else { GreeksMethod::Pathwise }),
            ..Default::default()
        };
        if let Ok(result) = quantmc::price(&job, backend) {
            GREEKS_RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let greeks = result.greeks.expect("Greeks were asked for");
            prop_assert_eq!(greeks.first_non_finite(), None);
            prop_assert!(result.price.is_finite() && result.std_error.is_finite());
            if let Some(exact) = result.closed_form {
                prop_assert!(exact.is_finite() && exact >= 0.0, "closed form {}", exact);
            }
        }
    }
}

#[test]
fn the_property_tests_run_valid_jobs_too() {
    // Run both properties here (again) and count how many jobs were valid,
    // so a strategy that only ever produced refused jobs would fail.
    any_pricing_job_is_an_error_or_finite_figures();
    any_var_job_is_an_error_or_finite_figures();
    any_estimation_method_is_an_error_or_finite_figures();
    any_model_job_is_an_error_or_finite_figures();
    any_basket_job_is_an_error_or_finite_figures();
    any_greeks_job_is_an_error_or_finite_greeks();
    let greeks = GREEKS_RUN.load(std::sync::atomic::Ordering::Relaxed);
    assert!(greeks >= 25, "only {greeks} of the Greeks jobs were valid");
    let baskets = BASKETS_RUN.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        baskets >= 25,
        "only {baskets} of the basket jobs were valid"
    );
    let models = MODELS_RUN.load(std::sync::atomic::Ordering::Relaxed);
    assert!(models >= 25, "only {models} of the model jobs were valid");
    let methods = METHODS_RUN.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        methods >= 25,
        "only {methods} of the method jobs were valid"
    );
    let priced = PRICED.load(std::sync::atomic::Ordering::Relaxed);
    let measured = MEASURED.load(std::sync::atomic::Ordering::Relaxed);
    assert!(priced >= 25, "only {priced} of the pricing jobs were valid");
    assert!(measured >= 25, "only {measured} of the VaR jobs were valid");
}

#[test]
fn var_warns_where_delta_gamma_leaves_its_validity_and_when_var_is_a_gain() {
    // One at-the-money call at vol 1e-6: its delta-gamma VaR was -864,639
    // against the full revaluation's 21,430, without a word.
    let mut book = portfolio(1e6, &[0.0]);
    book.assets[0].price = Some(100.0);
    book.options = vec![quantmc::portfolio::OptionPosition {
        asset: "A0".into(),
        kind: OptionKind::Call,
        strike: 100.0,
        maturity: 0.5,
        quantity: 1000.0,
        vol: 1e-6,
    }];
    let result = quantmc::var(&var_job(book, 20_000, &["0.99"]), Backend::Scalar).unwrap();
    assert!(
        result.warnings.iter().any(|w| w.contains("delta-gamma")),
        "{:?}",
        result.warnings
    );
    // A well-behaved book says nothing of it.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    let job = VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        ..var_job(portfolio(1e6, &[1.0]), 20_000, &["0.99"])
    };
    let result = quantmc::var(&job, Backend::Scalar).unwrap();
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    // A drift far above the spread: the 95% "loss" is a gain.
    let mut gaining = portfolio(1e6, &[1.0]);
    gaining.assets[0].mu = 0.1;
    let result = quantmc::var(&var_job(gaining, 20_000, &["0.95"]), Backend::Scalar).unwrap();
    assert!(result.levels[0].var < 0.0);
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("VaR is negative")),
        "{:?}",
        result.warnings
    );
}
