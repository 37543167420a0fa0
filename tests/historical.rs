//! Historical and filtered historical simulation against direct computations
//! from the raw price columns, beside the fitted Monte Carlo figure, and
//! their bad input.

mod common;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use quantmc::fit::{FitJob, PriceHistory, Weighting, Weights, fit};
use quantmc::historical::historical_var;
use quantmc::{Confidence, Portfolio};

const PRICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prices.csv");

fn quantmc() -> Command {
    Command::cargo_bin("quantmc").unwrap()
}

/// A book fitted to the example prices with uneven weights, one short.
fn book() -> (Portfolio, PriceHistory) {
    let history = PriceHistory::from_file(Path::new(PRICES)).unwrap();
    let job = FitJob {
        weighting: Weighting::Sample,
        nearest_psd: false,
        value: 1e6,
        weights: Weights::Named(
            [
                ("AAPL", 0.3),
                ("MSFT", 0.2),
                ("NVDA", -0.1),
                ("JPM", 0.2),
                ("TLT", 0.3),
                ("GLD", 0.1),
            ]
            .map(|(n, w)| (n.to_string(), w))
            .to_vec(),
        ),
        overlay: Default::default(),
    };
    (fit(&history, &job).unwrap().portfolio, history)
}

/// VaR and ES by the rank rule from a P&L list, sorted here.
fn rank_rule(mut pnl: Vec<f64>, confidence: f64) -> (f64, f64) {
    pnl.sort_by(f64::total_cmp);
    let m = ((1.0 - confidence) * pnl.len() as f64).ceil() as usize;
    (-pnl[m - 1], -pnl[..m].iter().sum::<f64>() / m as f64)
}

#[test]
fn historical_var_is_the_rank_rule_over_the_past_windows() {
    let (book, history) = book();
    let levels = [Confidence::new(0.95), Confidence::new(0.99)];
    for horizon in [1usize, 5] {
        let result = historical_var(&book, &history, &levels, horizon as f64, None).unwrap();
        // Straight from the price columns: P_{t+h} / P_t - 1.
        let pnl: Vec<f64> = (0..history.prices.len() - horizon)
            .map(|t| {
                book.assets
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        book.value
                            * a.weight
                            * (history.prices[t + horizon][i] / history.prices[t][i] - 1.0)
                    })
                    .sum()
            })
            .collect();
        assert_eq!(result.windows, pnl.len());
        assert_eq!(result.method, "historical");
        for (level, expected) in result.levels.iter().zip([0.95, 0.99]) {
            let (var, es) = rank_rule(pnl.clone(), expected);
            assert!(
                (level.var / var - 1.0).abs() < 1e-9,
                "h={horizon}: {} vs {var}",
                level.var
            );
            assert!(
                (level.es / es - 1.0).abs() < 1e-9,
                "h={horizon}: {} vs {es}",
                level.es
            );
        }
    }
}

#[test]
fn filtered_historical_var_rescales_to_todays_ewma_volatility() {
    let (book, history) = book();
    let lambda = 0.94;
    let returns = history.returns();
    let (n, k) = (returns.len(), book.assets.len());
    // sigma_{t+1}^2 = lambda sigma_t^2 + (1 - lambda) r_t^2 from the mean square.
    let mut variance: Vec<Vec<f64>> = vec![
        (0..k)
            .map(|i| returns.iter().map(|r| r[i] * r[i]).sum::<f64>() / n as f64)
            .collect(),
    ];
    for r in &returns {
        let last = variance.last().unwrap();
        let next = (0..k)
            .map(|i| lambda * last[i] + (1.0 - lambda) * r[i] * r[i])
            .collect();
        variance.push(next);
    }
    let today = &variance[n];
    let pnl: Vec<f64> = (0..n)
        .map(|t| {
            (0..k)
                .map(|i| {
                    let scaled = returns[t][i] * (today[i] / variance[t][i]).sqrt();
                    book.value * book.assets[i].weight * scaled
                })
                .sum()
        })
        .collect();
    let levels = [Confidence::new(0.975)];
    let result = historical_var(&book, &history, &levels, 1.0, Some(lambda)).unwrap();
    let (var, es) = rank_rule(pnl, 0.975);
    assert!((result.levels[0].var / var - 1.0).abs() < 1e-9);
    assert!((result.levels[0].es / es - 1.0).abs() < 1e-9);
    assert_eq!(result.method, "filtered historical (EWMA 0.94)");
}

#[test]
fn historical_and_monte_carlo_figures_sit_side_by_side() {
    // The example prices are Gaussian by construction: the fitted Monte
    // Carlo VaR and the historical one agree within the sampling error of
    // one year of days (about 10% at 95%).
    let dir = std::env::temp_dir().join(format!("quantmc-hist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("book.json");
    std::fs::write(&path, serde_json::to_string(&book().0).unwrap()).unwrap();
    let v = common::cli_json(
        [
            "var",
            "--scenarios",
            "200000",
            "--confidence",
            "0.95",
            "--json",
            "--historical",
            PRICES,
            "--portfolio",
        ]
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([path.as_os_str()]),
    );
    let (mc, historical) = (
        v["var"]["0.95"].as_f64().unwrap(),
        v["historical"]["var"]["0.95"].as_f64().unwrap(),
    );
    assert!((historical / mc - 1.0).abs() < 0.25, "{historical} vs {mc}");
    assert_eq!(v["historical"]["windows"], 249);
    // The table says it too.
    quantmc()
        .args([
            "var",
            "--scenarios",
            "10000",
            "--historical",
            PRICES,
            "--portfolio",
        ])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("historical over 249 windows"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_historical_input_is_refused_naming_the_field() {
    let (book, history) = book();
    let levels = [Confidence::new(0.99)];
    let message = |horizon: f64, filter: Option<f64>, book: &Portfolio| {
        historical_var(book, &history, &levels, horizon, filter)
            .unwrap_err()
            .to_string()
    };
    assert!(message(1.5, None, &book).contains("horizon-days = 1.5"));
    assert!(message(0.0, None, &book).contains("horizon-days"));
    assert!(message(400.0, None, &book).contains("longer than the 249 daily returns"));
    assert!(message(1.0, Some(1.0), &book).contains("filtered-ewma = 1.0"));
    let mut other = book.clone();
    other.assets[2].name = "IBM".into();
    let text = message(1.0, None, &other);
    assert!(
        text.contains("historical") && text.contains("IBM") && text.contains("no column"),
        "{text}"
    );
    // Through the CLI: exit 2, and the price file is checked before any
    // simulation.
    let portfolio = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    quantmc()
        .args(["var", "--portfolio", portfolio, "--historical", PRICES])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no column in the price file"));
    quantmc()
        .args(["var", "--portfolio", portfolio, "--filtered-ewma", "0.94"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--historical"));
    quantmc()
        .args([
            "var",
            "--portfolio",
            portfolio,
            "--historical",
            "/nonexistent.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read price file"));
}
