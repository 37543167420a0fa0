//! The scalar reference against closed forms: Black-Scholes, put-call parity,
//! the discrete geometric Asian, and the coverage of the 95% interval.

use quantmc::closed_form::{black_scholes, geometric_asian};
use quantmc::{Backend, Market, OptionKind, OptionSpec, PricingJob, Style};

fn spec(kind: OptionKind, style: Style, strike: f64, maturity: f64, steps: u32) -> OptionSpec {
    OptionSpec {
        kind,
        style,
        strike,
        maturity,
        steps,
        barrier: None,
    }
}

fn job(market: Market, option: OptionSpec, paths: u64, seed: u64) -> PricingJob {
    PricingJob {
        market,
        option,
        paths,
        seed,
        antithetic: false,
        ..Default::default()
    }
}

fn market(spot: f64, rate: f64, dividend: f64, vol: f64) -> Market {
    Market {
        spot,
        rate,
        dividend,
        vol,
    }
}

/// (spot, strike, maturity, rate, dividend, vol): deep in and out of the money,
/// short and long maturities, dividends, low and high volatility.
const GRID: &[(f64, f64, f64, f64, f64, f64)] = &[
    (100.0, 100.0, 1.0, 0.05, 0.0, 0.2),
    (150.0, 155.0, 0.25, 0.05, 0.0, 0.3),
    (100.0, 60.0, 1.0, 0.05, 0.0, 0.2),
    (100.0, 150.0, 1.0, 0.05, 0.0, 0.2),
    (100.0, 130.0, 0.5, 0.03, 0.02, 0.25),
    (100.0, 70.0, 2.0, 0.01, 0.03, 0.15),
    (50.0, 50.0, 0.02, 0.05, 0.0, 0.4),
    (50.0, 52.0, 1.0 / 365.0, 0.05, 0.0, 0.3),
    (100.0, 100.0, 10.0, 0.04, 0.02, 0.2),
    (100.0, 80.0, 5.0, 0.03, 0.05, 0.35),
    (100.0, 120.0, 3.0, 0.06, 0.01, 0.6),
    (100.0, 100.0, 1.0, 0.0, 0.0, 0.05),
    (100.0, 95.0, 1.0, -0.01, 0.0, 0.2),
    (100.0, 105.0, 0.75, 0.05, 0.08, 0.3),
    (10.0, 12.0, 1.5, 0.02, 0.0, 0.8),
    (1000.0, 900.0, 0.1, 0.05, 0.01, 0.18),
    (100.0, 200.0, 5.0, 0.05, 0.0, 0.5),
    (100.0, 40.0, 0.5, 0.05, 0.0, 0.3),
    (25.0, 25.0, 0.25, 0.1, 0.05, 0.45),
    (100.0, 110.0, 2.0, 0.03, 0.03, 0.1),
    (80.0, 100.0, 1.0, 0.07, 0.0, 0.4),
    (120.0, 100.0, 0.5, 0.02, 0.04, 0.22),
];

#[test]
fn european_calls_and_puts_match_black_scholes_within_4_se() {
    assert!(GRID.len() >= 20);
    for (i, &(spot, strike, maturity, rate, dividend, vol)) in GRID.iter().enumerate() {
        let m = market(spot, rate, dividend, vol);
        for kind in [OptionKind::Call, OptionKind::Put] {
            let job = job(
                m,
                spec(kind, Style::European, strike, maturity, 1),
                200_000,
                1000 + i as u64,
            );
            let result = quantmc::price(&job, Backend::Scalar).unwrap();
            let exact = black_scholes(kind, &m, strike, maturity);
            assert_eq!(result.closed_form, Some(exact));
            let gap = (result.price - exact).abs();
            let tolerance = 4.0 * result.std_error + 1e-12 * exact.abs().max(1.0);
            assert!(
                gap <= tolerance,
                "set {i} {kind}: MC {} vs BS {exact} ({:.2} SE)",
                result.price,
                gap / result.std_error
            );
        }
    }
}

#[test]
fn put_call_parity_holds_with_common_random_numbers() {
    for &(spot, strike, maturity, rate, dividend, vol) in &GRID[..8] {
        let m = market(spot, rate, dividend, vol);
        let paths = 100_000;
        let price = |kind| {
            let option = spec(kind, Style::European, strike, maturity, 1);
            quantmc::price(&job(m, option, paths, 5), Backend::Scalar).unwrap()
        };
        let (call, put) = (price(OptionKind::Call), price(OptionKind::Put));
        // With the same draws, C - P estimates the discounted forward minus the
        // discounted strike; its error is that of the forward's estimator.
        let forward_pv = spot * (-dividend * maturity).exp();
        let parity = forward_pv - strike * (-rate * maturity).exp();
        let forward_se =
            forward_pv * ((vol * vol * maturity).exp() - 1.0).sqrt() / (paths as f64).sqrt();
        let gap = (call.price - put.price - parity).abs();
        assert!(
            gap < 4.0 * forward_se,
            "parity gap {gap} vs SE {forward_se}"
        );
    }
}

#[test]
fn geometric_asians_match_their_closed_form_for_several_fixing_counts() {
    let m = market(100.0, 0.05, 0.02, 0.25);
    for steps in [1, 4, 12, 52] {
        for kind in [OptionKind::Call, OptionKind::Put] {
            let job = job(
                m,
                spec(kind, Style::AsianGeometric, 100.0, 1.0, steps),
                100_000,
                77,
            );
            let result = quantmc::price(&job, Backend::Scalar).unwrap();
            let exact = geometric_asian(kind, &m, 100.0, 1.0, steps);
            assert_eq!(result.closed_form, Some(exact));
            let gap = (result.price - exact).abs();
            assert!(
                gap < 4.0 * result.std_error,
                "N={steps} {kind}: MC {} vs {exact} ({:.2} SE)",
                result.price,
                gap / result.std_error
            );
        }
    }
}

#[test]
fn geometric_asian_with_one_fixing_is_the_european() {
    let m = market(100.0, 0.05, 0.01, 0.3);
    let asian = geometric_asian(OptionKind::Call, &m, 95.0, 0.7, 1);
    let european = black_scholes(OptionKind::Call, &m, 95.0, 0.7);
    assert!((asian - european).abs() < 1e-12);
}

#[test]
fn arithmetic_asian_lies_above_the_geometric() {
    // AM >= GM path by path, so with common random numbers the arithmetic call
    // is worth at least the geometric call.
    let m = market(100.0, 0.05, 0.0, 0.3);
    let price = |style| {
        quantmc::price(
            &job(m, spec(OptionKind::Call, style, 100.0, 1.0, 12), 50_000, 3),
            Backend::Scalar,
        )
        .unwrap()
    };
    let arithmetic = price(Style::AsianArithmetic);
    let geometric = price(Style::AsianGeometric);
    assert_eq!(arithmetic.closed_form, None);
    assert!(arithmetic.price > geometric.price);
}

#[test]
fn ci95_covers_the_true_price_in_90_to_99_percent_of_runs() {
    let m = market(100.0, 0.05, 0.0, 0.2);
    let exact = black_scholes(OptionKind::Call, &m, 105.0, 1.0);
    let runs = 300;
    let covered = (0..runs)
        .filter(|&seed| {
            let job = job(
                m,
                spec(OptionKind::Call, Style::European, 105.0, 1.0, 1),
                4_000,
                seed,
            );
            let result = quantmc::price(&job, Backend::Scalar).unwrap();
            result.ci95[0] <= exact && exact <= result.ci95[1]
        })
        .count();
    let rate = covered as f64 / runs as f64;
    println!("coverage {rate:.3} over {runs} runs");
    assert!((0.90..=0.99).contains(&rate), "coverage {rate}");
}

#[test]
fn antithetic_pairs_reduce_variance_and_stay_unbiased() {
    let m = market(100.0, 0.05, 0.0, 0.2);
    let exact = black_scholes(OptionKind::Call, &m, 100.0, 1.0);
    let mut plain = job(
        m,
        spec(OptionKind::Call, Style::European, 100.0, 1.0, 1),
        200_000,
        9,
    );
    let plain_result = quantmc::price(&plain, Backend::Scalar).unwrap();
    plain.antithetic = true;
    let anti = quantmc::price(&plain, Backend::Scalar).unwrap();
    assert_eq!(anti.paths, 200_000);
    assert!((anti.price - exact).abs() < 4.0 * anti.std_error);
    // For a call, the pair average is much less variable than one path.
    assert!(anti.std_error < 0.8 * plain_result.std_error);
}

#[test]
fn antithetic_standard_error_is_over_pair_averages() {
    // Two paths as one pair is one sample: its standard deviation is undefined
    // (an error), not the spread of the two correlated halves.
    let m = market(100.0, 0.05, 0.0, 0.2);
    let mut j = job(
        m,
        spec(OptionKind::Call, Style::European, 100.0, 1.0, 1),
        4,
        1,
    );
    j.antithetic = true;
    let four = quantmc::price(&j, Backend::Scalar).unwrap();
    j.paths = 2;
    assert!(quantmc::price(&j, Backend::Scalar).is_err());
    assert!(four.std_error > 0.0);
}

#[test]
fn same_seed_same_price_and_different_seed_different_price() {
    let m = market(100.0, 0.05, 0.0, 0.2);
    let a = job(
        m,
        spec(OptionKind::Put, Style::AsianArithmetic, 100.0, 1.0, 12),
        10_000,
        1,
    );
    let first = quantmc::price(&a, Backend::Scalar).unwrap();
    let again = quantmc::price(&a, Backend::Scalar).unwrap();
    assert_eq!(first.price.to_bits(), again.price.to_bits());
    // Auto runs a fast tier: the same sample, to the ulps of its vector math.
    let auto = quantmc::price(&a, Backend::Auto).unwrap();
    assert!((auto.price - first.price).abs() < 1e-9 * first.price);
    let other = quantmc::price(&PricingJob { seed: 2, ..a }, Backend::Scalar).unwrap();
    assert_ne!(first.price, other.price);
}

#[test]
fn fewer_than_two_samples_is_an_error_not_a_zero_standard_error() {
    let m = market(100.0, 0.05, 0.0, 0.2);
    let option = spec(OptionKind::Call, Style::European, 100.0, 1.0, 1);
    let err = quantmc::price(&job(m, option, 1, 42), Backend::Scalar).unwrap_err();
    assert!(err.to_string().contains("paths = 1"), "{err}");
    let pair = PricingJob {
        antithetic: true,
        ..job(m, option, 2, 42)
    };
    let err = quantmc::price(&pair, Backend::Scalar).unwrap_err();
    assert!(err.to_string().contains("2 pairs"), "{err}");
    let two = quantmc::price(&job(m, option, 2, 42), Backend::Scalar).unwrap();
    assert!(two.price.is_finite() && two.std_error.is_finite());
    assert!(two.backend.starts_with("scalar"));
    assert!(two.paths_per_sec > 0.0);
}

#[test]
fn digitals_match_their_closed_form_within_4_se_on_every_cpu_tier() {
    for (i, &(spot, strike, maturity, rate, dividend, vol)) in GRID.iter().enumerate() {
        let m = market(spot, rate, dividend, vol);
        for kind in [OptionKind::Call, OptionKind::Put] {
            let job = job(
                m,
                spec(kind, Style::Digital, strike, maturity, 1),
                200_000,
                2000 + i as u64,
            );
            let exact = job.closed_form().unwrap();
            for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
                let result = quantmc::price(&job, backend).unwrap();
                assert_eq!(result.closed_form, Some(exact));
                let gap = (result.price - exact).abs();
                assert!(
                    gap <= 4.0 * result.std_error + 1e-12,
                    "row {i} {kind} on {backend}: {} vs {exact} (SE {})",
                    result.price,
                    result.std_error
                );
            }
        }
    }
}

#[test]
fn a_digital_call_and_put_pay_one_discounted_unit_together() {
    // With common random numbers every path pays exactly one of the two.
    let m = market(100.0, 0.04, 0.01, 0.3);
    let call = job(
        m,
        spec(OptionKind::Call, Style::Digital, 97.0, 0.6, 1),
        10_001,
        5,
    );
    let put = job(
        m,
        spec(OptionKind::Put, Style::Digital, 97.0, 0.6, 1),
        10_001,
        5,
    );
    let sum = quantmc::price(&call, Backend::Scalar).unwrap().price
        + quantmc::price(&put, Backend::Scalar).unwrap().price;
    assert!((sum - (-0.04f64 * 0.6).exp()).abs() < 1e-12, "{sum}");
}
