//! VaR and ES of books holding options, fully revalued: against the exact
//! figures of one option on one asset (whose P&L is monotone in one normal),
//! against an independent brute-force simulation for straddles and
//! short-gamma books, the delta and delta-gamma shortcuts beside them, and
//! the revaluation through historical simulation and contributions.

use quantmc::closed_form::black_scholes;
use quantmc::revaluation::TRADING_DAYS;
use quantmc::{
    Asset, Backend, Confidence, Market, OptionKind, OptionPosition, Portfolio, ReturnDistribution,
    VarJob,
};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

mod common;

const HORIZON: f64 = 5.0;
const RATE: f64 = 0.03;

fn asset(name: &str, weight: f64, sigma: f64, price: f64) -> Asset {
    Asset {
        name: name.into(),
        weight,
        mu: 0.0003,
        sigma,
        price: Some(price),
        dividend: 0.01,
        ..Default::default()
    }
}

fn option(
    asset: &str,
    kind: OptionKind,
    strike: f64,
    maturity: f64,
    quantity: f64,
) -> OptionPosition {
    OptionPosition {
        asset: asset.into(),
        kind,
        strike,
        maturity,
        quantity,
        vol: 0.3,
    }
}

/// One asset at 100, `weight` of a 1e6 book, with `options` on it.
fn one_asset_book(weight: f64, options: Vec<OptionPosition>) -> Portfolio {
    Portfolio {
        value: 1e6,
        assets: vec![asset("X", weight, 0.02, 100.0)],
        correlation: vec![vec![1.0]],
        options,
        rate: RATE,
    }
}

fn job(portfolio: Portfolio, scenarios: u64, horizon_days: f64) -> VarJob {
    VarJob {
        portfolio,
        scenarios,
        confidences: vec![Confidence::new(0.95), Confidence::new(0.99)],
        horizon_days,
        distribution: ReturnDistribution::Normal,
        seed: 2024,
    }
}

/// An option's Black-Scholes value by the crate's statrs closed form (not
/// the revaluation's own code), its payoff once expired.
fn value(o: &OptionPosition, spot: f64, dividend: f64, maturity: f64) -> f64 {
    if maturity <= 0.0 {
        return match o.kind {
            OptionKind::Call => (spot - o.strike).max(0.0),
            OptionKind::Put => (o.strike - spot).max(0.0),
        };
    }
    let market = Market {
        spot,
        rate: RATE,
        dividend,
        vol: o.vol,
    };
    black_scholes(o.kind, &market, o.strike, maturity)
}

/// The book's P&L when its assets' simple returns over `horizon_days` are
/// `returns`, computed independently of the library.
fn reference_pnl(book: &Portfolio, returns: &[f64], horizon_days: f64) -> f64 {
    let linear: f64 = book
        .assets
        .iter()
        .zip(returns)
        .map(|(a, x)| book.value * a.weight * x)
        .sum();
    let options: f64 = book
        .options
        .iter()
        .map(|o| {
            let i = book.assets.iter().position(|a| a.name == o.asset).unwrap();
            let (price, dividend) = (book.assets[i].price.unwrap(), book.assets[i].dividend);
            let later = o.maturity - horizon_days / TRADING_DAYS;
            o.quantity
                * (value(o, price * (1.0 + returns[i]), dividend, later)
                    - value(o, price, dividend, o.maturity))
        })
        .sum();
    linear + options
}

#[test]
fn one_option_on_one_asset_has_its_exact_var_and_es() {
    let n = Normal::standard();
    let scenarios = 400_000;
    let cases = [
        (
            "long call",
            0.0,
            option("X", OptionKind::Call, 105.0, 0.25, 2000.0),
        ),
        (
            "short call",
            0.0,
            option("X", OptionKind::Call, 95.0, 0.5, -2000.0),
        ),
        (
            "long put",
            0.0,
            option("X", OptionKind::Put, 100.0, 0.25, 3000.0),
        ),
        (
            "short put",
            0.0,
            option("X", OptionKind::Put, 90.0, 1.0, -3000.0),
        ),
        (
            "protective put",
            1.0,
            option("X", OptionKind::Put, 98.0, 0.1, 5000.0),
        ),
        (
            "covered call",
            1.0,
            option("X", OptionKind::Call, 102.0, 0.1, -5000.0),
        ),
        // Matures inside the 5-day horizon: worth its payoff (in the money,
        // so the VaR lies where the payoff moves).
        (
            "expiring call",
            0.0,
            option("X", OptionKind::Call, 85.0, 2.0 / 252.0, 1000.0),
        ),
    ];
    for (name, weight, position) in cases {
        let book = one_asset_book(weight, vec![position]);
        let sd = 0.02 * HORIZON.sqrt();
        let pnl = |z: f64| reference_pnl(&book, &[HORIZON * 0.0003 + sd * z], HORIZON);
        let increasing = pnl(1.0) > pnl(-1.0);
        let result = quantmc::var(&job(book.clone(), scenarios, HORIZON), Backend::Simd).unwrap();
        for level in &result.levels {
            let alpha = 1.0 - level.confidence.level;
            // The tail's z runs over u in (0, alpha): the lowest P&L first.
            let z_of = |u: f64| {
                if increasing {
                    n.inverse_cdf(u)
                } else {
                    n.inverse_cdf(1.0 - u)
                }
            };
            let z_var = z_of(alpha);
            let var = -pnl(z_var);
            let steps = 100_000;
            let (mut sum, mut squares) = (0.0, 0.0);
            for i in 0..steps {
                let loss = -pnl(z_of((i as f64 + 0.5) / steps as f64 * alpha));
                sum += loss;
                squares += loss * loss;
            }
            let es = sum / steps as f64;
            let tail_variance = squares / steps as f64 - es * es;
            let slope = (pnl(z_var + 1e-4) - pnl(z_var - 1e-4)) / 2e-4;
            let density = n.pdf(z_var) / slope.abs();
            let var_se = (alpha * (1.0 - alpha) / scenarios as f64).sqrt() / density;
            let es_se = ((tail_variance + (1.0 - alpha) * (es - var).powi(2))
                / (alpha * scenarios as f64))
                .sqrt();
            println!(
                "{name} {}: VaR {:.2} exact {var:.2} ({:.2} se), ES {:.2} exact {es:.2} ({:.2} se)",
                level.confidence,
                level.var,
                (level.var - var) / var_se,
                level.es,
                (level.es - es) / es_se
            );
            assert!((level.var - var).abs() < 4.5 * var_se, "{name}: VaR");
            assert!((level.es - es).abs() < 4.5 * es_se, "{name}: ES");
            assert!(level.delta_gamma_var.is_some(), "{name}: delta-gamma shown");
        }
    }
}

/// Two correlated assets: a short straddle on A, long calls on B, linear
/// positions in both.
fn short_gamma_book() -> Portfolio {
    Portfolio {
        value: 1e6,
        assets: vec![asset("A", 0.3, 0.025, 100.0), asset("B", -0.1, 0.02, 50.0)],
        correlation: vec![vec![1.0, 0.5], vec![0.5, 1.0]],
        options: vec![
            option("A", OptionKind::Call, 100.0, 0.1, -2000.0),
            option("A", OptionKind::Put, 100.0, 0.1, -2000.0),
            option("B", OptionKind::Call, 55.0, 0.5, 1000.0),
        ],
        rate: RATE,
    }
}

#[test]
fn straddles_and_short_gamma_books_match_a_brute_force_simulation() {
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::{Distribution, StandardNormal};
    let horizon = 10.0;
    let book = short_gamma_book();
    // The reference: plain `rand` normals (not Philox), the correlated
    // returns formed by hand, every option valued by the statrs closed form.
    let reference_count = 2_000_000;
    let mut rng = StdRng::seed_from_u64(7);
    let rho: f64 = 0.5;
    let mut reference: Vec<f64> = (0..reference_count)
        .map(|_| {
            let z1: f64 = StandardNormal.sample(&mut rng);
            let z2: f64 = StandardNormal.sample(&mut rng);
            let returns: Vec<f64> = [(0usize, z1), (1, rho * z1 + (1.0 - rho * rho).sqrt() * z2)]
                .iter()
                .map(|&(i, z)| {
                    let a = &book.assets[i];
                    horizon * a.mu + horizon.sqrt() * a.sigma * z
                })
                .collect();
            reference_pnl(&book, &returns, horizon)
        })
        .collect();
    reference.sort_by(f64::total_cmp);
    let scenarios = 1_000_000;
    let result = quantmc::var(&job(book, scenarios, horizon), Backend::Rayon).unwrap();
    for level in &result.levels {
        let alpha = 1.0 - level.confidence.level;
        // The VaR's band: the reference's quantiles at alpha +- 4.5 standard
        // errors of both estimators' ranks.
        let spread = 4.5
            * (alpha * (1.0 - alpha) * (1.0 / reference_count as f64 + 1.0 / scenarios as f64))
                .sqrt();
        let at =
            |p: f64| -reference[((p * reference_count as f64) as usize).min(reference_count - 1)];
        let (low, high) = (at(alpha + spread), at(alpha - spread));
        let m = (alpha * reference_count as f64).ceil() as usize;
        let tail = &reference[..m];
        let es = -tail.iter().sum::<f64>() / m as f64;
        let var = -reference[m - 1];
        let tail_variance = tail.iter().map(|x| (x + es).powi(2)).sum::<f64>() / m as f64;
        let es_se = ((tail_variance + (1.0 - alpha) * (es - var).powi(2))
            * (1.0 / (alpha * reference_count as f64) + 1.0 / (alpha * scenarios as f64)))
            .sqrt();
        println!(
            "{}: VaR {:.2} in [{low:.2}, {high:.2}] (reference {var:.2}); ES {:.2} vs {es:.2} ({:.2} se); delta {:.2}, delta-gamma {:.2}",
            level.confidence,
            level.var,
            level.es,
            (level.es - es) / es_se,
            level.parametric_var,
            level.delta_gamma_var.unwrap()
        );
        assert!((low..=high).contains(&level.var), "VaR");
        assert!((level.es - es).abs() < 4.5 * es_se, "ES");
        // The short straddle's gamma is what the delta shortcut misses.
        let delta_gap = (level.parametric_var - level.var).abs();
        let delta_gamma_gap = (level.delta_gamma_var.unwrap() - level.var).abs();
        assert!(
            delta_gamma_gap < delta_gap,
            "delta-gamma ({delta_gamma_gap:.2} off) should beat delta ({delta_gap:.2} off)"
        );
    }
}

#[test]
fn delta_and_delta_gamma_shortcuts_are_their_closed_forms() {
    // One long call, no drift: the delta shortcut is normal with the spread
    // of delta * S * sigma sqrt(h), less the decay; delta-gamma adds the
    // positive skew of a long-gamma position, so a smaller VaR.
    let position = option("X", OptionKind::Call, 100.0, 0.5, 1000.0);
    let mut book = one_asset_book(0.0, vec![position.clone()]);
    book.assets[0].mu = 0.0;
    book.assets[0].dividend = 0.0;
    let result = quantmc::var(&job(book, 20_000, HORIZON), Backend::Scalar).unwrap();
    let tau = 0.5 - HORIZON / TRADING_DAYS;
    let (sigma_t, price) = (0.3 * tau.sqrt(), 100.0);
    let d1 = (RATE * tau + 0.5 * sigma_t * sigma_t) / sigma_t;
    let n = Normal::standard();
    let delta = n.cdf(d1);
    let theta = value(&position, price, 0.0, tau) - value(&position, price, 0.0, 0.5);
    let sd = 1000.0 * delta * price * 0.02 * HORIZON.sqrt();
    for level in &result.levels {
        let z = n.inverse_cdf(level.confidence.level);
        let expected = -1000.0 * theta + sd * z;
        assert!(
            (level.parametric_var - expected).abs() < 1e-9 * expected,
            "{} vs {expected}",
            level.parametric_var
        );
        let delta_gamma = level.delta_gamma_var.unwrap();
        assert!(delta_gamma < level.parametric_var);
        // Within a few percent of the full revaluation at these small moves.
        assert!((delta_gamma - level.var).abs() < 0.05 * level.var);
    }
}

#[test]
fn a_linear_book_reports_no_delta_gamma_figures() {
    let book = one_asset_book(1.0, Vec::new());
    let result = quantmc::var(&job(book, 1000, HORIZON), Backend::Simd).unwrap();
    assert!(result.levels.iter().all(|l| l.delta_gamma_var.is_none()));
    let json = serde_json::to_value(&result).unwrap();
    assert!(json["levels"][0].get("delta_gamma_var").is_none());
}

#[test]
fn every_cpu_tier_and_thread_count_revalues_alike() {
    let mut book = short_gamma_book();
    // A deep drop, past -100%: the floor holds the price above zero.
    book.assets[0].sigma = 0.3;
    for distribution in [
        ReturnDistribution::Normal,
        ReturnDistribution::StudentT { dof: 3.5 },
    ] {
        let job = VarJob {
            distribution,
            ..job(book.clone(), 70_001, 10.0)
        };
        let oracle = quantmc::var(&job, Backend::Scalar).unwrap();
        let rayon = |threads| quantmc::RunOptions {
            backend: Backend::Rayon,
            threads: Some(threads),
            ..Default::default()
        };
        let one = quantmc::var(&job, rayon(1)).unwrap();
        let three = quantmc::var(&job, rayon(3)).unwrap();
        assert_eq!(
            one.levels, three.levels,
            "rayon: bit for bit at any thread count"
        );
        assert_eq!(one.mean.to_bits(), three.mean.to_bits());
        for options in [
            Backend::Simd.into(),
            quantmc::RunOptions {
                backend: Backend::Rayon,
                threads: Some(1),
                ..Default::default()
            },
            quantmc::RunOptions {
                backend: Backend::Rayon,
                threads: Some(3),
                ..Default::default()
            },
        ] {
            let fast = quantmc::var(&job, options).unwrap();
            for (f, o) in fast.levels.iter().zip(&oracle.levels) {
                assert!(
                    (f.var - o.var).abs() <= 1e-9 * o.var.abs(),
                    "{distribution:?}"
                );
                assert!((f.es - o.es).abs() <= 1e-9 * o.es.abs(), "{distribution:?}");
            }
            assert!((fast.mean - oracle.mean).abs() <= 1e-9 * oracle.std);
        }
    }
}

#[test]
fn historical_simulation_revalues_the_options_on_each_window() {
    use quantmc::fit::PriceHistory;
    let csv = "date,A,B\n2025-01-01,100,50\n2025-01-02,103,49\n2025-01-03,97,51\n2025-01-06,99,50.5\n2025-01-07,92,48\n";
    let history = PriceHistory::from_csv(csv, std::path::Path::new("inline.csv")).unwrap();
    let book = short_gamma_book();
    let levels = [Confidence::new(0.5)];
    let result = quantmc::historical::historical_var(&book, &history, &levels, 2.0, None).unwrap();
    // Windows of two days: growth P_{t+2} / P_t per asset.
    let closes = [
        [100.0, 50.0],
        [103.0, 49.0],
        [97.0, 51.0],
        [99.0, 50.5],
        [92.0, 48.0],
    ];
    let mut pnl: Vec<f64> = (0..3)
        .map(|t| {
            let returns: Vec<f64> = (0..2)
                .map(|i| closes[t + 2][i] / closes[t][i] - 1.0)
                .collect();
            reference_pnl(&book, &returns, 2.0)
        })
        .collect();
    pnl.sort_by(f64::total_cmp);
    // Tail of ceil(0.5 * 3) = 2: the VaR is the second lowest.
    assert_eq!(result.windows, 3);
    let level = &result.levels[0];
    assert!(
        (level.var + pnl[1]).abs() < 1e-9 * level.var,
        "{} vs {}",
        level.var,
        -pnl[1]
    );
    assert!((level.es + (pnl[0] + pnl[1]) / 2.0).abs() < 1e-9 * level.es);
}

#[test]
fn option_positions_carry_their_contributions() {
    let book = short_gamma_book();
    let job = job(book, 200_000, 10.0);
    let result = quantmc::var(&job, Backend::Rayon).unwrap();
    let levels = quantmc::contributions::contributions(&job, &result).unwrap();
    for (level, measured) in levels.iter().zip(&result.levels) {
        let names: Vec<&str> = level.positions.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "A",
                "B",
                "A call K=100 T=0.1",
                "A put K=100 T=0.1",
                "B call K=55 T=0.5"
            ]
        );
        let es: f64 = level.positions.iter().map(|p| p.component_es).sum();
        let var: f64 = level.positions.iter().map(|p| p.component_var).sum();
        assert!((es - measured.es).abs() < 1e-6 * measured.es);
        assert!((var - measured.var).abs() < 1e-6 * measured.var);
        // The short straddle adds to the risk.
        let straddle = level.positions[2].component_es + level.positions[3].component_es;
        assert!(straddle > 0.0, "straddle {straddle} of {}", measured.es);
    }
}

#[test]
fn bad_option_positions_exit_2_naming_the_field() {
    let base = r#"{"value": 1e6, "rate": 0.02,
        "assets": [{"name": "A", "weight": 1, "mu": 0, "sigma": 0.02, "price": 100},
                   {"name": "B", "weight": 0, "mu": 0, "sigma": 0.02}],
        "correlation": [[1, 0], [0, 1]], "options": [OPTION]}"#;
    let good = r#"{"asset": "A", "kind": "call", "strike": 100, "maturity": 0.5, "quantity": -10, "vol": 0.2}"#;
    let cases = [
        (good.replace("\"A\"", "\"C\""), "options[0].asset"),
        (good.replace("\"A\"", "\"B\""), "price"),
        (good.replace("\"call\"", "\"straddle\""), "options[0].kind"),
        (good.replace("100", "0"), "options[0].strike"),
        (good.replace("100", "-5"), "options[0].strike"),
        (good.replace("0.5", "0"), "options[0].maturity"),
        (good.replace("0.2", "-0.2"), "options[0].vol"),
        (good.replace("-10", "1e300"), "options[0].quantity"),
        (good.replace(", \"vol\": 0.2", ""), "vol"),
        (good.replace("}", ", \"expiry\": 1}"), "expiry"),
        ("[1, 2]".to_string(), "options[0]"),
    ];
    let dir = std::env::temp_dir().join(format!("quantmc-options-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (option, field)) in cases.iter().enumerate() {
        let file = dir.join(format!("book{i}.json"));
        std::fs::write(&file, base.replace("OPTION", option)).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
            .args([
                "var",
                "--portfolio",
                file.to_str().unwrap(),
                "--scenarios",
                "100",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{option}: {stderr}");
        assert!(
            stderr.contains(field),
            "{option}: {stderr} should name {field}"
        );
    }
    // A bad rate and dividend too.
    for (from, to, field) in [
        ("\"rate\": 0.02", "\"rate\": 1e9", "rate"),
        (
            "\"price\": 100",
            "\"price\": 100, \"dividend\": -1e9",
            "assets[0].dividend",
        ),
    ] {
        let file = dir.join("rate.json");
        std::fs::write(&file, base.replace("OPTION", good).replace(from, to)).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
            .args(["var", "--portfolio", file.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(field), "{stderr} should name {field}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cli_reports_full_revaluation_beside_both_shortcuts() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    let json = common::cli_json(["var", "--portfolio", path, "--scenarios", "20000", "--json"]);
    for key in [
        "var",
        "es",
        "parametric_var",
        "parametric_es",
        "delta_gamma_var",
        "delta_gamma_es",
    ] {
        let value = json[key]["0.99"]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}"));
        assert!(value.is_finite() && value > 0.0, "{key}: {value}");
    }
}

#[test]
fn a_book_past_the_gpu_kernels_reach_is_refused_there_with_the_reason() {
    let k = quantmc::backend::GPU_MAX_UNDERLYINGS + 1;
    let book = Portfolio {
        value: 1e6,
        assets: (0..k)
            .map(|i| asset(&format!("A{i}"), 1.0 / k as f64, 0.02, 100.0))
            .collect(),
        correlation: (0..k)
            .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.1 }).collect())
            .collect(),
        options: (0..k)
            .map(|i| option(&format!("A{i}"), OptionKind::Put, 95.0, 0.5, 100.0))
            .collect(),
        rate: RATE,
    };
    let job = job(book, 1000, HORIZON);
    let model = job.risk_model().unwrap();
    let (_, reason) = quantmc::backend::risk_gpu_problem(&model).unwrap();
    assert!(reason.contains(&format!("on {k} assets")), "{reason}");
    // Auto keeps it on the CPU; the CPU tiers run it.
    let result = quantmc::var(&job, Backend::Auto).unwrap();
    assert_ne!(result.tier, quantmc::Tier::Gpu);
}

#[test]
fn delta_gamma_figures_say_they_are_normal_returns_under_a_student_t() {
    // They are Cornish-Fisher on the normal quadratic form's cumulants
    // whatever the distribution: a fresh Student-t book's 272,612 beside a
    // full revaluation of 312,271 carried no label.
    let book = short_gamma_book();
    let normal = quantmc::var(&job(book.clone(), 20_000, 10.0), Backend::Simd).unwrap();
    assert!(
        normal
            .warnings
            .iter()
            .all(|w| !w.contains("normal returns'")),
        "{:?}",
        normal.warnings
    );
    let t = VarJob {
        distribution: ReturnDistribution::StudentT { dof: 3.5 },
        ..job(book, 20_000, 10.0)
    };
    let result = quantmc::var(&t, Backend::Simd).unwrap();
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("normal returns'") && w.contains("3.5 dof")),
        "{:?}",
        result.warnings
    );
    // The same figures as under normal returns, and the JSON says whose.
    for (a, b) in result.levels.iter().zip(&normal.levels) {
        assert_eq!(a.delta_gamma_var, b.delta_gamma_var);
    }
    let document = quantmc::report::var_document(&result, Default::default());
    assert_eq!(document["delta_gamma_returns"], "normal");
}
