//! The GPU tier's real shaders against the scalar oracle.
//!
//! Needs a GPU adapter (lavapipe counts when `QUANTMC_ALLOW_SOFTWARE_GPU=1`),
//! so every test here is `#[ignore]`d: a plain `cargo test` counts them as
//! ignored, never as passed. `.ci/run` installs lavapipe and runs them with
//! `--include-ignored`, where a missing adapter fails them.
#![cfg(feature = "gpu")]

use quantmc::ComputeBackend;
use quantmc::backend::gpu::GpuBackend;
use quantmc::rng::{philox4x32_10, seed_key, stream_counter, uniform};
mod common;
use common::{
    METHODS, MODEL_METHODS, PRODUCTS, model_job, models, numbers, options_book_var, pricing_job,
};
use quantmc::distributed::{self, ThreadGroup};
use quantmc::{
    Backend, Confidence, GpuList, Gpus, OptionKind, Portfolio, PricingJob, ReturnDistribution,
    RunOptions, Style, VarJob,
};

/// The GPU tier; a missing adapter fails the test.
fn gpu() -> Option<GpuBackend> {
    match GpuBackend::new(allow_software()) {
        Ok(gpu) => Some(gpu),
        Err(err) => panic!("the GPU tier cannot run here: {err}"),
    }
}

/// Whether lavapipe may stand in for a GPU (`QUANTMC_ALLOW_SOFTWARE_GPU=1`).
fn allow_software() -> bool {
    std::env::var("QUANTMC_ALLOW_SOFTWARE_GPU").is_ok_and(|v| v == "1")
}

/// Options that run the GPU tier.
fn on_gpu() -> RunOptions {
    RunOptions {
        backend: Backend::Gpu,
        allow_software_gpu: allow_software(),
        ..RunOptions::default()
    }
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
#[ignore = "needs a GPU adapter"]
fn device_philox_matches_the_cpu_word_for_word() {
    let Some(gpu) = gpu() else { return };
    let seed = 0x0123_4567_89ab_cdef_u64;
    let mut counters = vec![
        [0u32; 4],
        [u32::MAX; 4],
        [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
    ];
    for index in [0u64, 1, 255, 256, (1 << 32) - 1, 1 << 32, u64::MAX] {
        for (block, substream) in [(0, 0), (1, 0), (7, 1), (63, 1)] {
            counters.push(stream_counter(block, substream, index));
        }
    }
    let key = seed_key(seed);
    println!(
        "kernels multiply with 64-bit integers: {}",
        gpu.uses_int64()
    );
    for sixteen_bit in [false, true] {
        let device = gpu.philox_blocks(&counters, key, sixteen_bit).unwrap();
        assert_eq!(device.len(), counters.len());
        for (counter, (words, uniforms)) in counters.iter().zip(&device) {
            let expected = philox4x32_10(*counter, key);
            assert_eq!(*words, expected, "counter {counter:08x?}");
            // The same uniforms as the CPU, rounded to f32 (within one f32 ulp).
            for (got, (lo, hi)) in uniforms
                .iter()
                .zip([(expected[0], expected[1]), (expected[2], expected[3])])
            {
                let cpu = uniform(lo, hi);
                assert!(*got > 0.0 && *got <= 1.0);
                assert!(
                    (f64::from(*got) - cpu).abs() <= f64::from(f32::EPSILON) * cpu,
                    "uniform {got} vs {cpu}"
                );
            }
        }
    }
    // The published known answer, through the device, with both multiplies.
    for sixteen_bit in [false, true] {
        let answer = gpu
            .philox_blocks(
                &[[0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344]],
                [0xa409_3822, 0x299f_31d0],
                sixteen_bit,
            )
            .unwrap();
        assert_eq!(
            answer[0].0,
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn every_product_agrees_with_the_scalar_tier() {
    let Some(_) = gpu() else { return };
    for &(kind, style, steps) in PRODUCTS {
        for (paths, antithetic) in [
            (2, false),
            (257, false),
            (513, false),
            (50_000, false),
            (50_000, true),
        ] {
            let job = pricing_job(kind, style, steps, paths, antithetic);
            let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
            let device = quantmc::price(&job, on_gpu()).unwrap();
            let what = format!("{kind} {style} N={steps} paths={paths} anti={antithetic}");
            assert!(
                relative(device.price, oracle.price) < 1e-4,
                "{what}: {} vs {}",
                device.price,
                oracle.price
            );
            if paths > 1 {
                assert!(
                    relative(device.std_error, oracle.std_error) < 1e-3,
                    "{what}: SE"
                );
            }
            assert!(device.backend.starts_with("gpu"), "{}", device.backend);
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn every_method_agrees_with_the_scalar_tier() {
    let Some(_) = gpu() else { return };
    for &(kind, style, steps) in PRODUCTS {
        for &paths in &[8, 200, 40_000] {
            for &(method, apply) in METHODS {
                let job = apply(pricing_job(kind, style, steps, paths, false));
                let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
                let device = quantmc::price(&job, on_gpu()).unwrap();
                let what = format!("{kind} {style} N={steps} paths={paths} {method}");
                assert!(
                    relative(device.price, oracle.price) < 1e-4,
                    "{what}: {} vs {}",
                    device.price,
                    oracle.price
                );
                // A control variate's residual spread is a difference of
                // nearly equal f32 sums: looser than the plain spread.
                assert!(
                    relative(device.std_error, oracle.std_error) < 1e-2,
                    "{what}: SE {} vs {}",
                    device.std_error,
                    oracle.std_error
                );
                assert_eq!(device.paths, oracle.paths, "{what}");
                if let (Some(d), Some(o)) = (&device.greeks, &oracle.greeks) {
                    for (name, d, o) in [
                        ("delta", d.delta, o.delta),
                        ("gamma", d.gamma, o.gamma),
                        ("vega", d.vega, o.vega),
                        ("rho", d.rho, o.rho),
                        ("theta", d.theta, o.theta),
                    ] {
                        // f32 differences of bumped payoffs: a few 1e-4
                        // relative and far inside the standard error, or
                        // rounding on the price's scale where the Greek is 0
                        // (a second difference in a linear region).
                        // Where the payoff jumps (digital, discrete barrier),
                        // f32 paths cross on other samples than f64 ones, and
                        // a difference quotient turns each such sample into
                        // a jump over 2h: agreement is then within the error.
                        let jumps = style == Style::Digital
                            || job.option.barrier.is_some_and(|b| {
                                b.monitoring == quantmc::market::Monitoring::Discrete
                            });
                        let spread = if jumps { 0.5 } else { 0.05 };
                        let gap = (d.value - o.value).abs();
                        let floor = 1e-5 * oracle.price.abs().max(1.0);
                        assert!(
                            gap <= 3e-3 * o.value.abs() + spread * o.std_error + floor,
                            "{what}: {name} {} vs {} (SE {})",
                            d.value,
                            o.value,
                            o.std_error
                        );
                    }
                }
            }
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn every_model_agrees_with_the_scalar_tier() {
    let Some(_) = gpu() else { return };
    for (name, model) in models() {
        for &(kind, style, steps) in PRODUCTS {
            for &paths in &[8, 1000] {
                // The GPU estimates Greeks under Black-Scholes alone.
                for &(method, apply) in MODEL_METHODS.iter().filter(|(m, _)| !m.contains("greeks"))
                {
                    let job = apply(model_job(model, kind, style, steps, paths, false));
                    let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
                    let device = quantmc::price(&job, on_gpu()).unwrap();
                    let what = format!("{name}: {kind} {style} N={steps} paths={paths} {method}");
                    // f32 paths of a dozen steps through the model's
                    // exp, ln and square roots: a few 1e-5 relative; a
                    // payoff that jumps (digital, discrete barrier) may
                    // flip on a sample whose path ends within f32 of the
                    // strike or barrier, one sample's worth.
                    let jumps = style == Style::Digital
                        || job
                            .option
                            .barrier
                            .is_some_and(|b| b.monitoring == quantmc::market::Monitoring::Discrete);
                    // A control's coefficient fitted from a handful of
                    // samples magnifies f32's rounding of each: 8 paths
                    // with a control agree to 1e-3.
                    let allowed = if jumps {
                        2.0 / paths as f64
                    } else if job.control_variate && paths < 100 {
                        2e-3
                    } else {
                        2e-4
                    };
                    assert!(
                        relative(device.price, oracle.price) < allowed
                            || (device.price - oracle.price).abs() < 1e-5,
                        "{what}: {} vs {}",
                        device.price,
                        oracle.price
                    );
                    assert_eq!(device.paths, oracle.paths, "{what}");
                    assert_eq!(device.model, oracle.model);
                }
            }
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn models_on_the_gpu_match_their_semi_analytic_prices() {
    let Some(_) = gpu() else { return };
    for (name, model) in models() {
        let steps = if name.contains("euler") { 64 } else { 16 };
        let job = PricingJob {
            seed: 12,
            ..model_job(
                model,
                OptionKind::Call,
                Style::European,
                steps,
                400_000,
                false,
            )
        };
        let result = quantmc::price(&job, on_gpu()).unwrap();
        let exact = result.closed_form.unwrap();
        let z = (result.price - exact) / result.std_error;
        assert!(
            z.abs() < 4.0,
            "{name}: {} +- {} against {exact}",
            result.price,
            result.std_error
        );
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn heston_variance_near_zero_stays_finite_in_f32() {
    // Feller violated hard and the variance starting at zero: QE's f32
    // step must keep the variance non-negative and every price finite.
    let Some(_) = gpu() else { return };
    let model = quantmc::models::Model::Heston(quantmc::models::Heston {
        v0: 0.0,
        kappa: 0.3,
        theta: 0.01,
        xi: 2.0,
        rho: -0.95,
        scheme: quantmc::models::HestonScheme::Qe,
    });
    for style in [Style::European, Style::Barrier, Style::AsianArithmetic] {
        let job = model_job(model, OptionKind::Put, style, 64, 20_000, true);
        let device = quantmc::price(&job, on_gpu()).unwrap();
        let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
        assert!(device.price.is_finite() && device.std_error.is_finite());
        assert!(
            relative(device.price, oracle.price) < 1e-3,
            "{style}: {} vs {}",
            device.price,
            oracle.price
        );
    }
    // Greeks under Heston are refused on the device, naming the tier.
    let job = PricingJob {
        greeks: Some(quantmc::pricing::GreeksMethod::Fd),
        ..model_job(model, OptionKind::Put, Style::European, 8, 1000, false)
    };
    let err = quantmc::price(&job, on_gpu()).unwrap_err().to_string();
    assert!(err.contains("Greeks") && err.contains("CPU"), "{err}");
}

#[test]
#[ignore = "needs a GPU adapter"]
fn continuous_barrier_greeks_agree_with_the_scalar_tier_for_every_kind() {
    // The device writes a continuously watched barrier's step in dual
    // numbers out by hand (the sign of the distances' tangents by the
    // barrier's side, the dead path's zero tangents): every kind, calls and
    // puts, with and without a rebate, a barrier near the spot so that many
    // paths cross it.
    use quantmc::market::{Barrier, BarrierKind, Monitoring};
    let Some(_) = gpu() else { return };
    for kind in [
        BarrierKind::UpAndOut,
        BarrierKind::UpAndIn,
        BarrierKind::DownAndOut,
        BarrierKind::DownAndIn,
    ] {
        let up = matches!(kind, BarrierKind::UpAndOut | BarrierKind::UpAndIn);
        for (option, rebate) in [(OptionKind::Call, 0.0), (OptionKind::Put, 2.0)] {
            let mut job = pricing_job(option, Style::Barrier, 16, 40_000, false);
            job.option.barrier = Some(Barrier {
                level: if up { 112.0 } else { 90.0 },
                kind,
                rebate,
                monitoring: Monitoring::Continuous,
            });
            job.greeks = Some(quantmc::pricing::GreeksMethod::Pathwise);
            let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
            let device = quantmc::price(&job, on_gpu()).unwrap();
            let what = format!("{kind:?} {option} rebate {rebate}");
            assert!(
                relative(device.price, oracle.price) < 1e-4,
                "{what}: {} vs {}",
                device.price,
                oracle.price
            );
            let (d, o) = (device.greeks.unwrap(), oracle.greeks.unwrap());
            for (name, d, o) in [
                ("delta", d.delta, o.delta),
                ("gamma", d.gamma, o.gamma),
                ("vega", d.vega, o.vega),
                ("rho", d.rho, o.rho),
                ("theta", d.theta, o.theta),
            ] {
                // f32 paths: a few 1e-4 relative, far inside the error.
                let gap = (d.value - o.value).abs();
                assert!(
                    gap <= 3e-3 * o.value.abs() + 0.05 * o.std_error + 1e-5,
                    "{what}: {name} {} vs {} (SE {})",
                    d.value,
                    o.value,
                    o.std_error
                );
                assert!(
                    relative(d.std_error, o.std_error) < 1e-2,
                    "{what}: {name} SE"
                );
            }
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn ranges_with_odd_edges_count_every_sample_once() {
    // The kernel runs two streams (four samples) at once and masks the
    // samples outside the range: a range may start on an odd sample (the
    // first stream's even one is not in it) and end on an even one, and an
    // invocation's second stream may fall past the range. So does the
    // Greeks' pass of a one-step product, the Greeks' sums masked too.
    let Some(gpu) = gpu() else { return };
    let scalar =
        quantmc::backend::build(quantmc::Tier::Scalar, None, None, false, Default::default())
            .unwrap();
    for &(kind, style, steps) in &[
        (OptionKind::Call, Style::European, 1),
        (OptionKind::Put, Style::AsianArithmetic, 7),
    ] {
        let greeks = [None, Some(quantmc::pricing::GreeksMethod::Pathwise)];
        for (antithetic, control_variate, greeks) in [false, true]
            .into_iter()
            .flat_map(|a| [(a, false), (a, true)])
            .flat_map(|(a, c)| greeks.map(|g| (a, c, g)))
        {
            let job = PricingJob {
                control_variate,
                greeks,
                ..pricing_job(kind, style, steps, 50_000, antithetic)
            };
            let valid = quantmc::pricing::ValidPricing::new(&job).unwrap();
            for points in [0..1, 1..2, 1..4, 3..1_001, 0..6_000, 7..40_001] {
                let what = format!(
                    "{kind} {style} anti={antithetic} cv={control_variate} greeks={greeks:?} {points:?}"
                );
                let device = gpu.price(valid, points.clone()).unwrap();
                let oracle = scalar.price(valid, points.clone()).unwrap();
                let (d, o) = (&device[0].moments, &oracle[0].moments);
                assert_eq!(d.count(), points.end - points.start, "{what}");
                assert_eq!(d.payoff.count, o.payoff.count, "{what}");
                assert!(
                    relative(d.payoff.mean, o.payoff.mean) < 1e-4,
                    "{what}: gpu {} scalar {}",
                    d.payoff.mean,
                    o.payoff.mean
                );
                if control_variate {
                    assert!(
                        relative(d.control.mean, o.control.mean) < 1e-4,
                        "{what}: control gpu {} scalar {}",
                        d.control.mean,
                        o.control.mean
                    );
                }
                if greeks.is_some() {
                    let d = device[0].greeks.as_ref().expect("device Greeks");
                    let o = oracle[0].greeks.as_ref().expect("oracle Greeks");
                    for (d, o) in d.iter().zip(o) {
                        assert_eq!(d.count, o.count, "{what}");
                        // The sums of the raw estimators agree to f32
                        // rounding, far less than one sample counted twice
                        // or dropped (about the root mean square).
                        let count = o.count as f64;
                        let rms = ((o.m2 + count * o.mean * o.mean) / count).sqrt();
                        let gap = (d.mean - o.mean).abs() * count;
                        assert!(
                            gap <= 1e-5 * count * rms + 1e-6,
                            "{what}: Greek sums gpu {} scalar {} (rms {rms})",
                            d.mean * count,
                            o.mean * count
                        );
                    }
                }
            }
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn baskets_agree_with_the_scalar_tier() {
    let Some(_) = gpu() else { return };
    // Every style, call and put, several steps, antithetic, the control and
    // RQMC; the GPU has no per-asset Greeks, so they are asked of the CPU.
    for job in common::basket_jobs() {
        let job = quantmc::basket::BasketJob {
            greeks: false,
            ..job
        };
        let what = format!("{} {}", job.describe(), job.method());
        let oracle = quantmc::price_basket(&job, Backend::Scalar).unwrap();
        let device = quantmc::price_basket(&job, on_gpu()).unwrap();
        let (d, o) = (&device.pricing, &oracle.pricing);
        assert!(d.backend.starts_with("gpu"), "{what}: {}", d.backend);
        assert_eq!(d.paths, o.paths, "{what}");
        // f32 paths of a few steps through exp: a few 1e-5 relative; a
        // control's coefficient magnifies each sample's rounding.
        let allowed = if job.control_variate { 1e-3 } else { 2e-4 };
        for (name, a, b) in [
            ("price", d.price, o.price),
            ("std_error", d.std_error, o.std_error),
        ] {
            assert!(
                relative(a, b) < allowed || (a - b).abs() < 1e-6,
                "{what}: {name} gpu {a} scalar {b}"
            );
        }
        assert_eq!(device.asset_greeks, None, "{what}");
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn basket_ranges_with_odd_edges_count_every_sample_once() {
    let Some(gpu) = gpu() else { return };
    let scalar =
        quantmc::backend::build(quantmc::Tier::Scalar, None, None, false, Default::default())
            .unwrap();
    let control = quantmc::Control::new();
    for (antithetic, control_variate) in [(false, false), (true, true)] {
        let mut job = quantmc::basket::BasketJob::new(
            common::basket_assets(3),
            quantmc::basket::BasketStyle::Basket,
        );
        job.steps = 4;
        job.antithetic = antithetic;
        job.control_variate = control_variate;
        let plan = job.plan().unwrap();
        for points in [0..1, 1..2, 1..4, 3..1_001, 7..40_001] {
            let what = format!("anti={antithetic} cv={control_variate} {points:?}");
            let device = gpu.price_basket(&plan, points.clone(), &control).unwrap();
            let oracle = scalar
                .price_basket(&plan, points.clone(), &control)
                .unwrap();
            let (d, o) = (&device[0].moments, &oracle[0].moments);
            assert_eq!(d.count(), points.end - points.start, "{what}");
            assert!(
                relative(d.payoff.mean, o.payoff.mean) < 1e-4,
                "{what}: gpu {} scalar {}",
                d.payoff.mean,
                o.payoff.mean
            );
            if control_variate {
                assert!(
                    relative(d.control.mean, o.control.mean) < 1e-4,
                    "{what}: control gpu {} scalar {}",
                    d.control.mean,
                    o.control.mean
                );
            }
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn gpu_baskets_meet_their_closed_forms_and_refuse_greeks() {
    let Some(_) = gpu() else { return };
    use quantmc::basket::{BasketJob, BasketStyle};
    // Margrabe's exchange option and Stulz's worst-of and best-of, 1e6
    // paths of one exact step each: within four standard errors.
    for style in [
        BasketStyle::Spread,
        BasketStyle::WorstOf,
        BasketStyle::BestOf,
    ] {
        let mut job = BasketJob::new(common::basket_assets(2), style);
        job.paths = 1_000_000;
        job.steps = 1;
        job.seed = 3;
        job.strike = 95.0;
        job.assets.assets[0].weight = 1.0;
        job.assets.assets[1].weight = 1.0;
        if style == BasketStyle::Spread {
            job.assets.assets[1].weight = -1.0;
            job.strike = 0.0;
        }
        let result = quantmc::price_basket(&job, on_gpu()).unwrap();
        let p = &result.pricing;
        let exact = p.closed_form.expect("a closed form");
        assert!(p.std_error > 0.0 && exact > 1.0, "{style}: {exact}");
        assert!(
            (p.price - exact).abs() < 4.0 * p.std_error,
            "{style}: gpu {} against {exact} (SE {})",
            p.price,
            p.std_error
        );
    }
    let mut job = BasketJob::new(common::basket_assets(3), BasketStyle::Basket);
    job.greeks = true;
    let err = quantmc::price_basket(&job, on_gpu())
        .unwrap_err()
        .to_string();
    assert!(err.contains("Greeks") && err.contains("CPU"), "{err}");
}

#[test]
#[ignore = "needs a GPU adapter"]
fn a_job_past_one_dispatch_agrees_with_the_scalar_tier() {
    let Some(_) = gpu() else { return };
    // 2e7 paths: several dispatches on any adapter (three of 2^23 path-steps
    // on a software one) in one submission.
    let job = pricing_job(OptionKind::Call, Style::European, 1, 20_000_000, false);
    let oracle = quantmc::price(&job, Backend::Scalar).unwrap();
    let device = quantmc::price(&job, on_gpu()).unwrap();
    println!("2e7 paths: gpu {} scalar {}", device.price, oracle.price);
    assert!(relative(device.price, oracle.price) < 1e-4);
    assert!(relative(device.std_error, oracle.std_error) < 1e-3);
}

#[test]
#[ignore = "needs a GPU adapter"]
fn var_and_es_agree_with_the_scalar_tier() {
    let Some(_) = gpu() else { return };
    let linear = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let options = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    for distribution in [
        ReturnDistribution::Normal,
        ReturnDistribution::StudentT { dof: 4.5 },
    ] {
        // Past 2^20 scenarios the host summarises the read-back in parallel;
        // past 2^22 the tails are found on the device (options book).
        let cases = [2, 300, 100_000, (1 << 20) + 1]
            .map(|n| (linear, n))
            .into_iter()
            .chain([(options, 300), (options, 100_000), (options, (1 << 22) + 3)]);
        for (path, scenarios) in cases {
            let job = VarJob {
                portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
                scenarios,
                confidences: vec![Confidence::new(0.95), Confidence::new(0.99)],
                horizon_days: 5.0,
                distribution,
                seed: 77,
            };
            let oracle = quantmc::var(&job, Backend::Scalar).unwrap();
            let device = quantmc::var(&job, on_gpu()).unwrap();
            let what = format!("{path} {distribution:?} scenarios={scenarios}");
            for (d, o) in device.levels.iter().zip(&oracle.levels) {
                assert!(
                    relative(d.var, o.var) < 1e-3,
                    "{what} {}: VaR {} vs {}",
                    d.confidence,
                    d.var,
                    o.var
                );
                assert!(
                    relative(d.es, o.es) < 1e-3,
                    "{what} {}: ES {} vs {}",
                    d.confidence,
                    d.es,
                    o.es
                );
            }
            assert!(relative(device.mean, oracle.mean) < 1e-3, "{what}: mean");
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn prices_outside_f32_are_refused_not_answered() {
    let Some(_) = gpu() else { return };
    for (spot, strike) in [(1e39, 1e39), (1e-40, 1.0), (100.0, 1e39)] {
        let mut job = pricing_job(OptionKind::Put, Style::European, 1, 1000, false);
        job.market.spot = spot;
        job.option.strike = strike;
        let err = quantmc::price(&job, on_gpu()).unwrap_err().to_string();
        assert!(err.contains("f32"), "{spot} {strike}: {err}");
        // The CPU tiers price it.
        assert!(quantmc::price(&job, Backend::Simd).is_ok());
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn steps_below_f32_resolution_are_refused_and_both_ends_of_the_range_hold() {
    let Some(_) = gpu() else { return };
    // A digital whose whole spread is below f32's spacing of its log price
    // (it once priced 0.008 against 0.501, exit 0), and its delta.
    for (vol, maturity, greeks) in [(1e-3, 1e-8, false), (1e-6, 1.0, false), (1e-6, 1.0, true)] {
        let mut job = pricing_job(OptionKind::Call, Style::Digital, 1, 1000, false);
        job.market.vol = vol;
        job.option.maturity = maturity;
        if greeks {
            job.greeks = Some(quantmc::pricing::GreeksMethod::Pathwise);
        }
        let err = quantmc::price(&job, on_gpu()).unwrap_err().to_string();
        assert!(err.contains("resolves"), "vol {vol}: {err}");
        assert!(quantmc::price(&job, Backend::Simd).is_ok());
    }
    // The ends of the documented range: the standard error is the CPU's
    // (payoffs square within f32); past them the GPU refuses (1e-22 once
    // gave an SE 11x too small, 1e18 an overflow blamed on f64).
    for scale in [1e-13, 1e13] {
        let mut job = pricing_job(OptionKind::Call, Style::European, 1, 20_000, false);
        job.market.spot = scale;
        job.option.strike = scale;
        let gpu = quantmc::price(&job, on_gpu()).unwrap();
        let cpu = quantmc::price(&job, Backend::Scalar).unwrap();
        assert!(
            relative(gpu.std_error, cpu.std_error) < 1e-3,
            "{scale}: {gpu:?} {cpu:?}"
        );
        assert!(
            relative(gpu.price, cpu.price) < 1e-3,
            "{scale}: {gpu:?} {cpu:?}"
        );
    }
    for scale in [1e-22, 1e18] {
        let mut job = pricing_job(OptionKind::Call, Style::European, 1, 1000, false);
        job.market.spot = scale;
        job.option.strike = scale;
        let err = quantmc::price(&job, on_gpu()).unwrap_err().to_string();
        assert!(err.contains("f32"), "{scale}: {err}");
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn a_job_repeats_bit_for_bit_and_stays_accurate_at_1e8_paths() {
    let Some(_) = gpu() else { return };
    let job = pricing_job(OptionKind::Call, Style::European, 1, 100_000_000, false);
    let first = quantmc::price(&job, on_gpu()).unwrap();
    let again = quantmc::price(&job, on_gpu()).unwrap();
    assert_eq!(first.price.to_bits(), again.price.to_bits());
    assert_eq!(first.std_error.to_bits(), again.std_error.to_bits());
    // The same 1e8 paths in f64 on all cores: the device's f32 paths and
    // double-f32 sums agree to 1e-6 relative, the standard error to 1e-4.
    let cpu = quantmc::price(&job, Backend::Rayon).unwrap();
    println!("1e8 paths: gpu {} rayon {}", first.price, cpu.price);
    assert!(
        relative(first.price, cpu.price) < 1e-6,
        "{} vs {}",
        first.price,
        cpu.price
    );
    assert!(relative(first.std_error, cpu.std_error) < 1e-4);
}

#[test]
#[ignore = "needs a GPU adapter"]
fn device_tails_match_the_read_back_sample_exactly() {
    let Some(gpu) = gpu() else { return };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let job = VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        scenarios: (1 << 20) + 7,
        confidences: ["0.5", "0.95", "0.99", "0.99999"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect(),
        horizon_days: 5.0,
        distribution: ReturnDistribution::StudentT { dof: 3.5 },
        seed: 11,
    };
    // The default capacity: one collect pass. A capacity of 2,000 values
    // per bracket: the wide brackets need a histogram pass and a second
    // collect pass first.
    for (capacity, least_passes) in [(1 << 20, 1), (2_000, 3)] {
        let [(reference, _), (device, passes)] = gpu.var_paths(&job, capacity).unwrap();
        assert!(
            passes >= least_passes,
            "capacity {capacity}: {passes} passes"
        );
        assert!(passes <= 6);
        // The same scenarios, the same exact order statistics; the tail
        // pass recomputes each shock in its own pipeline, which a driver may
        // compile with different contractions, so a shock may differ in its
        // last f32 bit (6e-8 relative).
        for (d, r) in device.tails.iter().zip(&reference.tails) {
            println!(
                "capacity {capacity}: VaR {} vs {}, ES {} vs {}",
                d.var, r.var, d.es, r.es
            );
            assert!(relative(d.var, r.var) < 1e-6, "capacity {capacity}");
            assert!(relative(d.es, r.es) < 1e-6, "{} vs {}", d.es, r.es);
        }
        assert!(relative(device.mean, reference.mean) < 1e-6);
        assert!(relative(device.std_dev, reference.std_dev) < 1e-6);
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn the_devices_double_f32_sums_are_exact_to_48_bits() {
    let Some(gpu) = gpu() else { return };
    // Values whose f32 sum loses most of them: 1e8 then many values below
    // its f32 spacing (8).
    let mut values = vec![1e8f32];
    values.extend((0..10_000).map(|i| 0.5 + (i % 7) as f32 * 0.25));
    values.push(-1e8);
    let exact: f64 = values.iter().map(|&v| f64::from(v)).sum();
    let (hi, lo) = gpu.double_f32_sum(&values).unwrap();
    let device = f64::from(hi) + f64::from(lo);
    println!("double-f32 sum {device} (hi {hi}, lo {lo}), exact {exact}");
    assert!((device - exact).abs() <= 1e-9 * 1e8, "{device} vs {exact}");
}

#[test]
#[ignore = "needs a GPU adapter"]
fn a_cancelled_gpu_run_ends_with_cancelled() {
    use std::time::{Duration, Instant};
    let Some(_) = gpu() else { return };
    let price = PricingJob {
        paths: 1 << 50,
        ..pricing_job(OptionKind::Call, Style::European, 1, 2, false)
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    let var = VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        // Read back in batches, and found on the device.
        scenarios: 1 << 22,
        confidences: vec![Confidence::new(0.99)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::Normal,
        seed: 5,
    };
    let on_device = VarJob {
        scenarios: 1 << 40,
        ..var.clone()
    };
    type Run<'a> = &'a (dyn Fn(&quantmc::Control) -> quantmc::Result<()> + Sync);
    let runs: [Run<'_>; 3] = [
        &|c| quantmc::price_with(&price, on_gpu(), c).map(|_| ()),
        &|c| quantmc::var_with(&var, on_gpu(), c).map(|_| ()),
        &|c| quantmc::var_with(&on_device, on_gpu(), c).map(|_| ()),
    ];
    for (i, run) in runs.iter().enumerate() {
        let control = quantmc::Control::new();
        let (result, after) = std::thread::scope(|scope| {
            let handle = scope.spawn(|| run(&control));
            let start = Instant::now();
            while control.progress().done == 0 && start.elapsed() < Duration::from_secs(120) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let cancelled_at = Instant::now();
            control.cancel();
            (handle.join().unwrap(), cancelled_at.elapsed())
        });
        println!(
            "run {i}: ended {:.3} s after the cancel",
            after.as_secs_f64()
        );
        assert!(
            matches!(result, Err(quantmc::Error::Cancelled)),
            "run {i}: {result:?}"
        );
        assert!(after < Duration::from_secs(60), "run {i}: hung");
    }
}

/// Options that run the GPU tier on `count` devices of the best adapter
/// (here lavapipe opened again for each further device).
fn on_devices(count: usize) -> RunOptions {
    let index = quantmc::backend::gpu::best_index().expect("an adapter");
    RunOptions {
        gpus: Gpus::List(GpuList::new(&vec![index; count]).unwrap()),
        ..on_gpu()
    }
}

/// A job of two and a third of the GPU tier's segments (an odd count, so
/// the last segment ends inside a stream), with the Greeks.
fn segments_job(gpu: &GpuBackend) -> PricingJob {
    let mut job = pricing_job(OptionKind::Put, Style::AsianArithmetic, 64, 1, false);
    let segment = gpu.block_samples(&job);
    job.paths = 2 * segment + segment / 3 + 1;
    job.greeks = Some(quantmc::pricing::GreeksMethod::Pathwise);
    job
}

#[test]
#[ignore = "needs a GPU adapter"]
fn several_devices_give_the_one_device_answer_bit_for_bit() {
    let Some(gpu) = gpu() else { return };
    let job = segments_job(&gpu);
    let alone = quantmc::price(&job, on_gpu()).unwrap();
    for count in [2, 3] {
        let shared = quantmc::price(&job, on_devices(count)).unwrap();
        assert_eq!(numbers(&shared), numbers(&alone), "{count} devices");
        assert!(
            shared.backend.contains(&format!("{count} devices")),
            "{}",
            shared.backend
        );
    }
    // And the scalar oracle within the GPU's tolerance.
    let scalar = quantmc::price(&job, Backend::Scalar).unwrap();
    assert!(
        relative(alone.price, scalar.price) < 1e-4,
        "{} vs {}",
        alone.price,
        scalar.price
    );
    // A VaR job on two devices: the one-device figures.
    let var = options_book_var(200_000);
    let one = quantmc::var(&var, on_gpu()).unwrap();
    let two = quantmc::var(&var, on_devices(2)).unwrap();
    assert_eq!(format!("{:?}", one.levels), format!("{:?}", two.levels));
    assert_eq!(one.mean.to_bits(), two.mean.to_bits());
}

#[test]
#[ignore = "needs a GPU adapter"]
fn bad_gpu_lists_are_refused_naming_gpus() {
    let Some(_) = gpu() else { return };
    let job = pricing_job(OptionKind::Call, Style::European, 1, 1000, false);
    let count = quantmc::backend::gpu::adapters().len();
    let options = RunOptions {
        gpus: Gpus::List(GpuList::new(&[count]).unwrap()),
        ..on_gpu()
    };
    let message = quantmc::price(&job, options).unwrap_err().to_string();
    assert!(
        message.contains("gpus") && message.contains(&count.to_string()),
        "{message}"
    );
    for bad in ["", "0,x", "-1", "0,,1"] {
        assert!(Gpus::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Gpus::parse("all"), Ok(Gpus::All));
}

/// `run` on each process of a group of `size` (threads standing in for MPI
/// ranks), the results in rank order.
fn on_processes<T: Send>(size: usize, run: &(dyn Fn(&ThreadGroup) -> T + Sync)) -> Vec<T> {
    let members = ThreadGroup::new(size);
    std::thread::scope(|scope| {
        let runs: Vec<_> = members
            .iter()
            .map(|member| scope.spawn(move || run(member)))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

#[test]
#[ignore = "needs a GPU adapter"]
fn gpu_processes_give_the_one_process_gpu_answer() {
    let Some(gpu) = gpu() else { return };
    let job = segments_job(&gpu);
    let alone = numbers(&quantmc::price(&job, on_gpu()).unwrap());
    for size in [1, 2, 4] {
        for result in on_processes(size, &|member| distributed::price(&job, on_gpu(), member)) {
            let result = result.unwrap();
            assert_eq!(numbers(&result), alone, "{size} processes");
            assert!(result.backend.starts_with("gpu"), "{}", result.backend);
        }
    }
    // VaR on GPU processes (read back, below 2^22 scenarios): the one-process
    // GPU figures bit for bit on any number of them, as both summarise the
    // same sample with the same streamed summary.
    let var = options_book_var(300_000);
    let own = quantmc::var(&var, on_gpu()).unwrap();
    let own = format!("{:?} {:?} {:?}", own.mean, own.std, own.levels);
    for size in [1, 3] {
        for result in on_processes(size, &|member| distributed::var(&var, on_gpu(), member)) {
            let result = result.unwrap();
            let text = format!("{:?} {:?} {:?}", result.mean, result.std, result.levels);
            assert_eq!(text, own, "{size} processes");
        }
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn device_tails_on_several_devices_are_one_devices_bit_for_bit() {
    let Some(one) = gpu() else { return };
    let index = quantmc::backend::gpu::best_index().expect("an adapter");
    let two = GpuBackend::open(
        &Gpus::List(GpuList::new(&[index, index]).unwrap()),
        allow_software(),
    )
    .unwrap();
    assert_eq!(two.devices(), 2);
    // The options book: a few dispatches of the tail kernel on lavapipe, so
    // both devices take some, each keeping its own values inside the
    // brackets (or bins).
    let job = VarJob {
        scenarios: (1 << 20) + 7,
        ..options_book_var(1)
    };
    for capacity in [1 << 20, 2_000] {
        let [(read_one, _), (device_one, passes_one)] = one.var_paths(&job, capacity).unwrap();
        let [(read_two, _), (device_two, passes_two)] = two.var_paths(&job, capacity).unwrap();
        assert_eq!(passes_one, passes_two, "capacity {capacity}");
        assert_eq!(format!("{read_one:?}"), format!("{read_two:?}"));
        assert_eq!(
            format!("{device_one:?}"),
            format!("{device_two:?}"),
            "capacity {capacity}"
        );
    }
}

#[test]
#[ignore = "needs a GPU adapter"]
fn a_strip_on_the_gpu_is_the_cpu_strip_within_f32() {
    // Every quote of a Heston smile on the device, against the scalar
    // tier's at the same seed, prices and implied volatilities alike.
    let Some(_) = gpu() else { return };
    let job = model_job(
        quantmc::models::Model::Heston(common::heston(quantmc::models::HestonScheme::Qe)),
        OptionKind::Call,
        Style::European,
        16,
        20_000,
        true,
    );
    let strip = quantmc::strip::Strip {
        strikes: vec![80.0, 100.0, 120.0],
        maturities: vec![0.5, 1.0],
        implied_vol: true,
    };
    let device = quantmc::price_strip(&job, &strip, on_gpu()).unwrap();
    let oracle = quantmc::price_strip(&job, &strip, Backend::Scalar).unwrap();
    assert_eq!(device.tier, quantmc::Tier::Gpu);
    for (d, o) in device.strikes.iter().zip(&oracle.strikes) {
        assert_eq!((d.strike, d.maturity), (o.strike, o.maturity));
        assert!(relative(d.price, o.price) < 1e-3, "{d:?} vs {o:?}");
        let (dv, ov) = (d.implied_vol.unwrap(), o.implied_vol.unwrap());
        assert!(
            (dv - ov).abs() < 0.2 * o.implied_vol_std_error.unwrap(),
            "{dv} vs {ov}"
        );
    }
}
