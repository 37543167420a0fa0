//! Every fast tier against the scalar oracle at the same seed, one generated
//! test module per tier, plus thread-count invariance of the rayon tier.

use quantmc::rng::CHUNK;
mod common;
use common::{METHOD_PATHS, METHODS, MODEL_METHODS, PRODUCTS, model_job, models, pricing_job};
use quantmc::hardware::Isa;
use quantmc::{
    Backend, Confidence, OptionKind, Portfolio, PricingJob, PricingResult, ReturnDistribution,
    RunOptions, Style, VarJob,
};

/// The example books: linear, and with options.
const BOOKS: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json"),
];

fn var_job(distribution: ReturnDistribution, scenarios: u64) -> VarJob {
    book_job(BOOKS[0], distribution, scenarios)
}

fn book_job(path: &str, distribution: ReturnDistribution, scenarios: u64) -> VarJob {
    VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        scenarios,
        confidences: vec![
            Confidence::new(0.95),
            Confidence::new(0.99),
            Confidence::new(0.5),
        ],
        horizon_days: 5.0,
        distribution,
        seed: 77,
    }
}

/// Relative difference, with an absolute floor for values near zero.
fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs()).max(1e-6)
}

/// Path counts that are 2 (the fewest with a standard error), below, at and
/// above the lane count, and past a chunk.
const PATH_COUNTS: &[u64] = &[2, 7, 8, 9, 100, CHUNK + 3];

/// The fast tier's price, standard error and path count are the oracle's,
/// to 1e-9 relative.
fn assert_same_estimate(what: &str, fast: &PricingResult, oracle: &PricingResult) {
    assert!(
        close(fast.price, oracle.price, 1e-9),
        "{what}: {} vs {}",
        fast.price,
        oracle.price
    );
    assert!(
        close(fast.std_error, oracle.std_error, 1e-9),
        "{what}: SE {} vs {}",
        fast.std_error,
        oracle.std_error
    );
    assert_eq!(fast.paths, oracle.paths, "{what}");
}

fn check_pricing_against_scalar(options: RunOptions) {
    for &(kind, style, steps) in PRODUCTS {
        for &paths in PATH_COUNTS {
            for antithetic in [false, true] {
                let paths = if antithetic { 2 * paths } else { paths };
                let job = pricing_job(kind, style, steps, paths, antithetic);
                let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
                let fast = quantmc::price(&job, options).unwrap();
                let what = format!("{kind} {style} N={steps} paths={paths} anti={antithetic}");
                assert_same_estimate(&what, &fast, &oracle);
            }
        }
    }
}

fn check_methods_against_scalar(options: RunOptions) {
    for &(kind, style, steps) in PRODUCTS {
        for &paths in METHOD_PATHS {
            for &(method, apply) in METHODS {
                let job = apply(pricing_job(kind, style, steps, paths, false));
                let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
                let fast = quantmc::price(&job, options).unwrap();
                let what = format!("{kind} {style} N={steps} paths={paths} {method}");
                assert_same_estimate(&what, &fast, &oracle);
                assert_eq!(fast.target_reached, oracle.target_reached, "{what}");
                assert_eq!(fast.method, oracle.method);
                assert_eq!(fast.greeks.is_some(), oracle.greeks.is_some(), "{what}");
                if let (Some(f), Some(o)) = (&fast.greeks, &oracle.greeks) {
                    for (name, f, o) in [
                        ("delta", f.delta, o.delta),
                        ("gamma", f.gamma, o.gamma),
                        ("vega", f.vega, o.vega),
                        ("rho", f.rho, o.rho),
                        ("theta", f.theta, o.theta),
                    ] {
                        // A Greek near zero (a second difference in a linear
                        // region) is rounding on the price's scale.
                        let scale = oracle.price.abs().max(1e-6);
                        let near = |a: f64, b: f64| {
                            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(scale)
                        };
                        assert!(
                            near(f.value, o.value),
                            "{what}: {name} {} vs {}",
                            f.value,
                            o.value
                        );
                        assert!(
                            near(f.std_error, o.std_error),
                            "{what}: {name} SE {} vs {}",
                            f.std_error,
                            o.std_error
                        );
                    }
                }
            }
        }
    }
}

/// Every model other than Black-Scholes, every product and method: the
/// fast tier's estimate is the oracle's to 1e-9 relative (their `exp`,
/// `ln` and normal distribution functions differ in the last bits).
fn check_models_against_scalar(options: RunOptions) {
    for (name, model) in models() {
        for &(kind, style, steps) in PRODUCTS {
            for &paths in &[8, 200, CHUNK + 24] {
                for &(method, apply) in MODEL_METHODS {
                    let job = apply(model_job(model, kind, style, steps, paths, false));
                    let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
                    let fast = quantmc::price(&job, options).unwrap();
                    let what = format!("{name}: {kind} {style} N={steps} paths={paths} {method}");
                    assert_same_estimate(&what, &fast, &oracle);
                    if let (Some(f), Some(o)) = (&fast.greeks, &oracle.greeks) {
                        let scale = oracle.price.abs().max(1e-6);
                        for (greek, f, o) in [
                            ("delta", f.delta, o.delta),
                            ("gamma", f.gamma, o.gamma),
                            ("vega", f.vega, o.vega),
                            ("rho", f.rho, o.rho),
                            ("theta", f.theta, o.theta),
                        ] {
                            assert!(
                                (f.value - o.value).abs()
                                    <= 1e-8 * f.value.abs().max(o.value.abs()).max(scale),
                                "{what}: {greek} {} vs {}",
                                f.value,
                                o.value
                            );
                        }
                    }
                }
            }
        }
    }
}

fn check_var_against_scalar(options: RunOptions) {
    for distribution in [
        ReturnDistribution::Normal,
        ReturnDistribution::StudentT { dof: 4.5 },
    ] {
        for (book, scenarios) in BOOKS
            .iter()
            .flat_map(|book| [2, 13, 1000, CHUNK + 5].map(|n| (book, n)))
        {
            let job = book_job(book, distribution, scenarios);
            let oracle = quantmc::var(&job, Backend::Scalar).unwrap();
            let fast = quantmc::var(&job, options).unwrap();
            let what = format!("{book} {distribution:?} scenarios={scenarios}");
            assert!(close(fast.mean, oracle.mean, 1e-9), "{what}: mean");
            assert!(close(fast.std, oracle.std, 1e-9), "{what}: std");
            for (f, o) in fast.levels.iter().zip(&oracle.levels) {
                assert_eq!(f.confidence, o.confidence);
                assert!(
                    close(f.var, o.var, 1e-9),
                    "{what} {}: VaR {} vs {}",
                    f.confidence,
                    f.var,
                    o.var
                );
                assert!(
                    close(f.es, o.es, 1e-9),
                    "{what} {}: ES {} vs {}",
                    f.confidence,
                    f.es,
                    o.es
                );
                assert_eq!(f.parametric_var, o.parametric_var);
            }
        }
    }
}

/// American and Bermudan puts and calls (plain, antithetic with the
/// control) on `options` against the scalar oracle: the same policy bit for
/// bit, prices and standard errors to 1e-9.
fn check_exercise_against_scalar(options: RunOptions) {
    use quantmc::exercise::{Exercise, ExerciseJob};
    for (kind, exercise, antithetic) in [
        (OptionKind::Put, Exercise::American, false),
        (OptionKind::Call, Exercise::Bermudan, true),
    ] {
        let mut job = ExerciseJob::new(
            PricingJob {
                market: quantmc::Market {
                    dividend: 0.06,
                    ..pricing_job(kind, Style::European, 1, 0, false).market
                },
                control_variate: antithetic,
                ..pricing_job(kind, Style::European, 8, 2 * 16384 + 38, antithetic)
            },
            exercise,
        );
        job.exercise_dates = (exercise == Exercise::Bermudan).then_some(4);
        job.calibration_paths = Some(16384 + 9);
        let oracle = quantmc::price_exercise(&job, Backend::Scalar).unwrap();
        let tier = quantmc::price_exercise(&job, options).unwrap();
        let what = job.method();
        assert_eq!(tier.policy, oracle.policy, "{what}");
        assert!(
            tier.policy.coefficients.iter().flatten().count() > 0,
            "{what}"
        );
        let (p, q) = (&tier.pricing, &oracle.pricing);
        for (name, a, b) in [
            ("price", p.price, q.price),
            ("std_error", p.std_error, q.std_error),
        ] {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs(),
                "{what}: {name} {a} against the oracle's {b}"
            );
        }
    }
}

/// Every basket job of [`common::basket_jobs`] on `options` against the
/// scalar oracle: prices and standard errors to the CPU tiers' 1e-9.
fn check_baskets_against_scalar(options: RunOptions) {
    for job in common::basket_jobs() {
        let oracle = quantmc::price_basket(&job, Backend::Scalar).unwrap();
        let tier = quantmc::price_basket(&job, options).unwrap();
        let what = format!("{} {}", job.describe(), job.method());
        let (p, q) = (&tier.pricing, &oracle.pricing);
        let mut pairs = vec![
            ("price", p.price, q.price),
            ("std_error", p.std_error, q.std_error),
        ];
        let (ours, theirs) = (
            tier.asset_greeks.unwrap_or_default(),
            oracle.asset_greeks.unwrap_or_default(),
        );
        assert_eq!(ours.len(), theirs.len(), "{what}");
        assert_eq!(ours.is_empty(), !job.greeks, "{what}");
        for (a, b) in ours.iter().zip(&theirs) {
            pairs.extend([
                ("delta", a.delta.value, b.delta.value),
                ("delta SE", a.delta.std_error, b.delta.std_error),
                ("vega", a.vega.value, b.vega.value),
                ("vega SE", a.vega.std_error, b.vega.std_error),
            ]);
        }
        for (name, a, b) in pairs {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1e-9),
                "{what}: {name} {a} against the oracle's {b}"
            );
        }
        assert_eq!(p.paths, q.paths, "{what}");
    }
}

/// `backend` on instruction set `isa` with `threads`, or `None` (the test
/// says it skipped) where this CPU does not run `isa`.
fn on(isa: Isa, backend: Backend, threads: Option<usize>) -> Option<RunOptions> {
    if !isa.is_supported() {
        eprintln!("skipped: this CPU does not run {isa}");
        return None;
    }
    Some(RunOptions {
        backend,
        threads,
        simd: Some(isa),
        ..RunOptions::default()
    })
}

macro_rules! tier_tests {
    ($($name:ident => $options:expr, $label:literal;)+) => {$(
        mod $name {
            use super::*;

            #[test]
            fn prices_agree_with_the_scalar_tier() {
                if let Some(options) = $options {
                    check_pricing_against_scalar(options);
                }
            }

            #[test]
            fn control_variates_rqmc_and_targets_agree_with_the_scalar_tier() {
                if let Some(options) = $options {
                    check_methods_against_scalar(options);
                }
            }

            #[test]
            fn every_model_agrees_with_the_scalar_tier() {
                if let Some(options) = $options {
                    check_models_against_scalar(options);
                }
            }

            #[test]
            fn baskets_agree_with_the_scalar_tier() {
                if let Some(options) = $options {
                    check_baskets_against_scalar(options);
                }
            }

            #[test]
            fn early_exercise_agrees_with_the_scalar_tier() {
                if let Some(options) = $options {
                    check_exercise_against_scalar(options);
                }
            }

            #[test]
            fn var_and_es_agree_with_the_scalar_tier() {
                if let Some(options) = $options {
                    check_var_against_scalar(options);
                }
            }

            #[test]
            fn reports_which_tier_and_instruction_set_ran() {
                if let Some(options) = $options {
                    let job = pricing_job(OptionKind::Call, Style::European, 1, 10, false);
                    let result = quantmc::price(&job, options).unwrap();
                    assert!(result.backend.starts_with($label), "{}", result.backend);
                    let isa = options.simd.unwrap_or_else(Isa::best);
                    assert!(
                        result.backend.contains(&format!("({isa}, f64x8")),
                        "{}",
                        result.backend
                    );
                }
            }
        }
    )+};
}

// The best instruction set (as users get it), then each one this CPU runs,
// forced.
tier_tests! {
    simd => Some(RunOptions::from(Backend::Simd)), "simd";
    rayon => Some(RunOptions::from(Backend::Rayon)), "rayon";
    rayon_one_thread => Some(RunOptions { backend: Backend::Rayon, threads: Some(1), ..RunOptions::default() }), "rayon";
    rayon_many_threads => Some(RunOptions { backend: Backend::Rayon, threads: Some(7), ..RunOptions::default() }), "rayon";
    simd_avx512 => on(Isa::Avx512, Backend::Simd, None), "simd";
    rayon_avx512 => on(Isa::Avx512, Backend::Rayon, Some(3)), "rayon";
    simd_avx2 => on(Isa::Avx2, Backend::Simd, None), "simd";
    rayon_avx2 => on(Isa::Avx2, Backend::Rayon, Some(3)), "rayon";
    simd_sse2 => on(Isa::Sse2, Backend::Simd, None), "simd";
    rayon_sse2 => on(Isa::Sse2, Backend::Rayon, Some(3)), "rayon";
    simd_neon => on(Isa::Neon, Backend::Simd, None), "simd";
    simd_portable => on(Isa::Portable, Backend::Simd, None), "simd";
}

#[test]
fn every_instruction_set_is_bit_identical_for_any_thread_count() {
    let price_job = pricing_job(
        OptionKind::Put,
        Style::AsianArithmetic,
        8,
        2 * (3 * CHUNK + 11),
        true,
    );
    let var = book_job(
        BOOKS[1],
        ReturnDistribution::StudentT { dof: 5.0 },
        3 * CHUNK + 3,
    );
    let mut basket = quantmc::basket::BasketJob::new(
        common::basket_assets(4),
        quantmc::basket::BasketStyle::Basket,
    );
    basket.paths = 2 * (3 * CHUNK + 11);
    basket.antithetic = true;
    basket.control_variate = true;
    basket.greeks = true;
    for isa in Isa::supported() {
        let run = |threads| on(isa, Backend::Rayon, Some(threads)).unwrap();
        let reference_price = quantmc::price(&price_job, run(1)).unwrap();
        let reference_basket = quantmc::price_basket(&basket, run(1)).unwrap();
        let reference_var = quantmc::var(&var, run(1)).unwrap();
        for threads in [2, 3] {
            let price = quantmc::price(&price_job, run(threads)).unwrap();
            assert_eq!(
                price.price.to_bits(),
                reference_price.price.to_bits(),
                "{isa}: {threads} threads"
            );
            assert_eq!(
                price.std_error.to_bits(),
                reference_price.std_error.to_bits()
            );
            let v = quantmc::var(&var, run(threads)).unwrap();
            assert_eq!(v.levels, reference_var.levels, "{isa}: {threads} threads");
            let b = quantmc::price_basket(&basket, run(threads)).unwrap();
            let bits = |r: &quantmc::basket::BasketResult| {
                (r.pricing.price.to_bits(), r.pricing.std_error.to_bits())
            };
            assert_eq!(
                bits(&b),
                bits(&reference_basket),
                "basket, {isa}: {threads} threads"
            );
            assert_eq!(
                b.asset_greeks, reference_basket.asset_greeks,
                "{isa}: {threads} threads"
            );
        }
    }
}

#[test]
fn fused_instruction_sets_give_the_same_bits_and_unfused_ones_agree_to_rounding() {
    // AVX-512 and AVX2 run the same fused operations in the same order, four
    // or eight lanes at a time: the same bits. SSE2 rounds `mul_add` twice:
    // the same figures to rounding.
    let supported = Isa::supported();
    let mut results = Vec::new();
    for isa in supported.iter().copied() {
        let options = on(isa, Backend::Simd, None).unwrap();
        let prices: Vec<PricingResult> = PRODUCTS
            .iter()
            .map(|&(kind, style, steps)| {
                quantmc::price(
                    &pricing_job(kind, style, steps, 4 * CHUNK + 9, false),
                    options,
                )
                .unwrap()
            })
            .collect();
        let var = quantmc::var(
            &book_job(BOOKS[1], ReturnDistribution::StudentT { dof: 4.5 }, 50_001),
            options,
        )
        .unwrap();
        results.push((isa, prices, var));
    }
    let fused: Vec<_> = results
        .iter()
        .filter(|(isa, ..)| matches!(isa, Isa::Avx512 | Isa::Avx2 | Isa::Neon))
        .collect();
    for pair in fused.windows(2) {
        let ((a, pa, va), (b, pb, vb)) = (pair[0], pair[1]);
        for (x, y) in pa.iter().zip(pb) {
            assert_eq!(x.price.to_bits(), y.price.to_bits(), "{a} vs {b}");
            assert_eq!(x.std_error.to_bits(), y.std_error.to_bits(), "{a} vs {b}");
        }
        assert_eq!(va.levels, vb.levels, "{a} vs {b}");
    }
    for pair in results.windows(2) {
        let ((a, pa, va), (b, pb, vb)) = (&pair[0], &pair[1]);
        for (x, y) in pa.iter().zip(pb) {
            assert!(
                close(x.price, y.price, 1e-12),
                "{a} vs {b}: {} {}",
                x.price,
                y.price
            );
            assert!(close(x.std_error, y.std_error, 1e-12), "{a} vs {b}");
        }
        for (x, y) in va.levels.iter().zip(&vb.levels) {
            assert!(
                close(x.var, y.var, 1e-12),
                "{a} vs {b}: {} {}",
                x.var,
                y.var
            );
            assert!(close(x.es, y.es, 1e-12), "{a} vs {b}");
        }
    }
}

#[test]
fn the_scalar_oracle_gives_the_same_bits_with_and_without_fma() {
    // The oracle's chunks run compiled for AVX2+FMA where the run's set
    // allows (`scalar (f64, FMA, ...)`), else for the baseline, where
    // `f64::mul_add` is the C library's software fused multiply-add: both
    // round once, so every figure, the Greeks and VaR included, has the same
    // bits. (On a CPU without AVX2 both runs are the baseline's.)
    let run = |isa: Isa| {
        let options = RunOptions {
            backend: Backend::Scalar,
            simd: Some(isa),
            ..RunOptions::default()
        };
        let prices: Vec<String> = PRODUCTS
            .iter()
            .flat_map(|&(kind, style, steps)| {
                let plain = pricing_job(kind, style, steps, 2 * CHUNK + 6, false);
                [
                    plain,
                    PricingJob {
                        greeks: Some(quantmc::pricing::GreeksMethod::Pathwise),
                        antithetic: true,
                        ..plain
                    },
                ]
            })
            .map(|job| {
                let result = quantmc::price(&job, options).unwrap();
                format!("{} {}", common::numbers(&result), result.backend)
            })
            .collect();
        let var = quantmc::var(
            &book_job(BOOKS[1], ReturnDistribution::StudentT { dof: 4.5 }, 30_001),
            options,
        )
        .unwrap();
        (prices, format!("{:?} {:?}", var.levels, var.mean))
    };
    let (baseline, baseline_var) = run(Isa::compiled()[0]);
    let best = Isa::best();
    let (fused, fused_var) = run(best);
    for (a, b) in baseline.iter().zip(&fused) {
        let (a_numbers, a_backend) = a.rsplit_once(" scalar").unwrap();
        let (b_numbers, b_backend) = b.rsplit_once(" scalar").unwrap();
        assert_eq!(a_numbers, b_numbers, "{a_backend} vs {b_backend}");
        assert!(!a_backend.contains("FMA"), "{a_backend}");
        if matches!(best, Isa::Avx2 | Isa::Avx512) {
            assert!(b_backend.contains("FMA"), "{b_backend}");
        }
    }
    assert_eq!(baseline_var, fused_var);
}

#[test]
fn an_instruction_set_this_cpu_does_not_run_is_an_error_naming_simd() {
    let missing = [Isa::Neon, Isa::Portable, Isa::Avx512, Isa::Avx2, Isa::Sse2]
        .into_iter()
        .find(|isa| !isa.is_supported())
        .unwrap();
    let options = RunOptions {
        backend: Backend::Simd,
        simd: Some(missing),
        ..RunOptions::default()
    };
    let job = pricing_job(OptionKind::Call, Style::European, 1, 10, false);
    let err = quantmc::price(&job, options).unwrap_err().to_string();
    assert!(
        err.contains("simd") && err.contains(missing.name()),
        "{err}"
    );
}

#[test]
fn rayon_results_are_bit_identical_for_any_thread_count() {
    let price_job = pricing_job(
        OptionKind::Call,
        Style::AsianArithmetic,
        16,
        2 * (9 * CHUNK + 11),
        true,
    );
    let var = var_job(ReturnDistribution::StudentT { dof: 5.0 }, 7 * CHUNK + 3);
    let run = |threads| RunOptions {
        backend: Backend::Rayon,
        threads: Some(threads),
        ..RunOptions::default()
    };
    let reference_price = quantmc::price(&price_job, run(1)).unwrap();
    let reference_var = quantmc::var(&var, run(1)).unwrap();
    // Up to the most threads a job may ask for: 4 per logical core.
    let most = 4 * std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [2, 3, 8, most] {
        let price = quantmc::price(&price_job, run(threads)).unwrap();
        assert_eq!(
            price.price.to_bits(),
            reference_price.price.to_bits(),
            "{threads} threads"
        );
        assert_eq!(
            price.std_error.to_bits(),
            reference_price.std_error.to_bits()
        );
        let v = quantmc::var(&var, run(threads)).unwrap();
        assert_eq!(
            v.mean.to_bits(),
            reference_var.mean.to_bits(),
            "{threads} threads"
        );
        assert_eq!(v.std.to_bits(), reference_var.std.to_bits());
        assert_eq!(v.levels, reference_var.levels, "{threads} threads");
    }
}

#[test]
fn every_method_is_bit_identical_for_any_thread_count() {
    let run = |threads| RunOptions {
        backend: Backend::Rayon,
        threads: Some(threads),
        ..RunOptions::default()
    };
    for &(method, apply) in METHODS {
        let job = apply(pricing_job(
            OptionKind::Call,
            Style::AsianArithmetic,
            16,
            8 * (CHUNK + 5),
            false,
        ));
        let reference = quantmc::price(&job, run(1)).unwrap();
        for threads in [2, 3, 8] {
            let price = quantmc::price(&job, run(threads)).unwrap();
            assert_eq!(
                price.price.to_bits(),
                reference.price.to_bits(),
                "{method}: {threads} threads"
            );
            assert_eq!(
                price.std_error.to_bits(),
                reference.std_error.to_bits(),
                "{method}"
            );
            assert_eq!(price.paths, reference.paths, "{method}");
        }
    }
}

#[test]
fn simd_and_rayon_price_identically() {
    // Same kernel, same chunks, same merge order: the same bits.
    let job = pricing_job(
        OptionKind::Put,
        Style::AsianGeometric,
        12,
        3 * CHUNK + 5,
        false,
    );
    let simd = quantmc::price(&job, Backend::Simd).unwrap();
    let rayon = quantmc::price(&job, Backend::Rayon).unwrap();
    assert_eq!(simd.price.to_bits(), rayon.price.to_bits());
    assert_eq!(simd.std_error.to_bits(), rayon.std_error.to_bits());
}

#[test]
fn rayon_tails_past_the_parallel_selection_size_match_simd() {
    // From 2^20 scenarios the rayon tier selects its tails in parallel; the
    // SIMD tier, with the same P&L bits, selects in one thread.
    let job = var_job(ReturnDistribution::StudentT { dof: 6.0 }, (1 << 20) + 3);
    let simd = quantmc::var(&job, Backend::Simd).unwrap();
    for threads in [1, 2, 5] {
        let options = RunOptions {
            backend: Backend::Rayon,
            threads: Some(threads),
            ..RunOptions::default()
        };
        let rayon = quantmc::var(&job, options).unwrap();
        for (r, s) in rayon.levels.iter().zip(&simd.levels) {
            assert_eq!(r.var.to_bits(), s.var.to_bits(), "{threads} threads");
            assert!(
                close(r.es, s.es, 1e-12),
                "{threads} threads: {} vs {}",
                r.es,
                s.es
            );
        }
    }
}
