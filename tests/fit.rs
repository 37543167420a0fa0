//! `quantmc fit`: a price file to a book. Estimates against direct
//! computations, the nearest correlation matrix against Higham's published
//! example, the book through `var`, and every bad price file refused naming
//! its row and column (exit 2).

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use quantmc::fit::{
    FitJob, PriceHistory, Weighting, Weights, checked_correlation, fit, nearest_correlation,
    smallest_eigenvalue,
};
use quantmc::{InputError, Portfolio};
mod common;

const PRICES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prices.csv");

fn quantmc() -> Command {
    Command::cargo_bin("quantmc").unwrap()
}

fn history() -> PriceHistory {
    PriceHistory::from_file(Path::new(PRICES)).unwrap()
}

fn job(weighting: Weighting) -> FitJob {
    FitJob {
        weighting,
        nearest_psd: false,
        value: 1e6,
        weights: Weights::Equal,
        overlay: Default::default(),
    }
}

/// The example file's closes as plain numbers, read without the library.
fn columns() -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(PRICES).unwrap();
    let mut lines = text.lines();
    let names = lines
        .next()
        .unwrap()
        .split(',')
        .skip(1)
        .map(String::from)
        .collect();
    let rows = lines
        .map(|line| {
            line.split(',')
                .skip(1)
                .map(|x| x.parse().unwrap())
                .collect()
        })
        .collect();
    (names, rows)
}

#[test]
fn sample_estimates_are_the_returns_mean_deviation_and_correlation() {
    let (names, rows) = columns();
    let returns: Vec<Vec<f64>> = rows
        .windows(2)
        .map(|w| (0..names.len()).map(|i| w[1][i] / w[0][i] - 1.0).collect())
        .collect();
    let n = returns.len() as f64;
    let column = |i: usize| returns.iter().map(move |r| r[i]);
    let mean: Vec<f64> = (0..names.len())
        .map(|i| column(i).sum::<f64>() / n)
        .collect();
    let cov = |i: usize, j: usize| {
        column(i)
            .zip(column(j))
            .map(|(a, b)| (a - mean[i]) * (b - mean[j]))
            .sum::<f64>()
            / (n - 1.0)
    };
    let fitted = fit(&history(), &job(Weighting::Sample)).unwrap();
    let book = &fitted.portfolio;
    assert_eq!(fitted.observations, returns.len());
    assert_eq!(fitted.dates, ("2025-01-02".into(), "2025-12-31".into()));
    for (i, asset) in book.assets.iter().enumerate() {
        assert_eq!(asset.name, names[i]);
        assert_eq!(asset.price, Some(*rows.last().unwrap().get(i).unwrap()));
        assert!((asset.mu - mean[i]).abs() < 1e-15, "{}", asset.name);
        assert!((asset.sigma / cov(i, i).sqrt() - 1.0).abs() < 1e-12);
        assert!((asset.weight - 1.0 / 6.0).abs() < 1e-15);
        for j in 0..names.len() {
            let expected = if i == j {
                1.0
            } else {
                cov(i, j) / (cov(i, i) * cov(j, j)).sqrt()
            };
            assert!((book.correlation[i][j] - expected).abs() < 1e-12);
        }
    }
    // The generator's correlations (examples/make_prices.py) within
    // sampling error of 249 days.
    assert!((book.correlation[0][1] - 0.65).abs() < 0.15);
    assert!((book.correlation[3][4] + 0.20).abs() < 0.15);
}

#[test]
fn ewma_estimates_follow_the_riskmetrics_recursion() {
    let lambda = 0.94;
    let history = history();
    let returns = history.returns();
    let k = history.assets.len();
    // S_t = lambda S_{t-1} + r_t r_t', W_t = lambda W_{t-1} + 1; Sigma = S / W.
    let mut s = vec![vec![0.0; k]; k];
    let mut w = 0.0;
    for r in &returns {
        for i in 0..k {
            for j in 0..k {
                s[i][j] = lambda * s[i][j] + r[i] * r[j];
            }
        }
        w = lambda * w + 1.0;
    }
    let fitted = fit(&history, &job(Weighting::Ewma { lambda })).unwrap();
    let book = &fitted.portfolio;
    for i in 0..k {
        let sigma = (s[i][i] / w).sqrt();
        assert!((book.assets[i].sigma / sigma - 1.0).abs() < 1e-12);
        for j in 0..k {
            let rho = s[i][j] / (s[i][i] * s[j][j]).sqrt();
            assert!((book.correlation[i][j] - rho).abs() < 1e-12);
        }
    }
    // The recent half-year weighs in: EWMA differs from the sample figure.
    let sample = fit(&history, &job(Weighting::Sample)).unwrap().portfolio;
    assert!((sample.assets[2].sigma - book.assets[2].sigma).abs() > 1e-5);
}

#[test]
fn the_nearest_correlation_matrix_matches_highams_example() {
    // Higham (2002), section 4: the nearest correlation matrix to
    // [[1, 1, 0], [1, 1, 1], [0, 1, 1]] (eigenvalue -0.414).
    let a = vec![
        vec![1.0, 1.0, 0.0],
        vec![1.0, 1.0, 1.0],
        vec![0.0, 1.0, 1.0],
    ];
    let expected = [
        [1.0, 0.7607, 0.1573],
        [0.7607, 1.0, 0.7607],
        [0.1573, 0.7607, 1.0],
    ];
    let x = nearest_correlation(&a);
    for i in 0..3 {
        for j in 0..3 {
            assert!((x[i][j] - expected[i][j]).abs() < 1e-4, "{x:?}");
        }
    }
    assert!(smallest_eigenvalue(&x) > -1e-10);
    // Refused unless asked, saying why and how.
    let err = checked_correlation(a.clone(), false).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("-4.142e-1") && text.contains("--nearest-psd"),
        "{text}"
    );
    let (repaired, change) = checked_correlation(a, true).unwrap();
    assert_eq!(repaired, x);
    assert!((change.unwrap() - (1.0 - 0.7607)).abs() < 1e-3);
    // A valid matrix passes untouched.
    let valid = vec![vec![1.0, 0.3], vec![0.3, 1.0]];
    assert_eq!(
        checked_correlation(valid.clone(), true).unwrap(),
        (valid, None)
    );
}

#[test]
fn a_fitted_book_runs_through_var_and_keeps_the_portfolio_weights() {
    let dir = std::env::temp_dir().join(format!("quantmc-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let book = dir.join("book.json");
    quantmc()
        .args([
            "fit", "--prices", PRICES, "--ewma", "0.94", "--value", "2e6",
        ])
        .args([
            "--weights",
            "AAPL=0.3, MSFT=0.2,NVDA=0.1,JPM=0.1,TLT=0.2,GLD=0.1",
        ])
        .arg("--output")
        .arg(&book)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "fitted 6 assets to 249 daily returns",
        ));
    let portfolio = Portfolio::from_file(&book).unwrap();
    assert_eq!(portfolio.value, 2e6);
    assert_eq!(portfolio.assets[0].weight, 0.3);
    // Refitting from the book takes its value and weights.
    let output = quantmc()
        .args(["fit", "--prices", PRICES, "--portfolio"])
        .arg(&book)
        .output()
        .unwrap();
    assert!(output.status.success());
    let refit = Portfolio::from_json(&String::from_utf8(output.stdout).unwrap(), &book).unwrap();
    assert_eq!(refit.value, 2e6);
    assert_eq!(
        refit.assets.iter().map(|a| a.weight).collect::<Vec<_>>(),
        portfolio
            .assets
            .iter()
            .map(|a| a.weight)
            .collect::<Vec<_>>()
    );
    let var = quantmc()
        .args(["var", "--scenarios", "200000", "--json", "--portfolio"])
        .arg(&book)
        .output()
        .unwrap();
    assert!(var.status.success());
    let v: serde_json::Value = serde_json::from_slice(&var.stdout).unwrap();
    let (mc, parametric) = (
        v["var"]["0.99"].as_f64().unwrap(),
        v["parametric_var"]["0.99"].as_f64().unwrap(),
    );
    assert!((mc / parametric - 1.0).abs() < 0.02, "{mc} vs {parametric}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refitting_a_book_keeps_its_option_overlay_at_the_last_prices() {
    let overlay = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/overlay.json");
    let given = Portfolio::from_file(overlay.as_ref()).unwrap();
    let output = quantmc()
        .args(["fit", "--prices", PRICES, "--portfolio", overlay])
        .output()
        .unwrap();
    assert!(output.status.success());
    let refit =
        Portfolio::from_json(&String::from_utf8(output.stdout).unwrap(), overlay.as_ref()).unwrap();
    assert_eq!(refit.options, given.options);
    assert_eq!(refit.rate, given.rate);
    let history = history();
    let last = history.last_prices();
    for (i, asset) in refit.assets.iter().enumerate() {
        assert_eq!(asset.price, Some(last[i]));
        assert_eq!(asset.dividend, given.assets[i].dividend);
    }
    // And it runs, fully revalued, beside both shortcuts.
    let v = common::cli_json([
        "var",
        "--portfolio",
        overlay,
        "--json",
        "--scenarios",
        "20000",
    ]);
    assert!(v["delta_gamma_var"]["0.99"].as_f64().unwrap() > 0.0);
}

/// Writes `text` as a price file and returns fit's error for it.
fn error_for(name: &str, text: &str) -> InputError {
    PriceHistory::from_csv(text, Path::new(name)).unwrap_err()
}

#[test]
fn bad_price_files_are_refused_naming_the_row_and_column() {
    let header = "Date,AAPL,MSFT\n";
    let good = "2025-01-02,10,20\n2025-01-03,11,21\n2025-01-06,12,22\n";
    let cases: &[(&str, String, &[&str])] = &[
        (
            "missing",
            format!("{header}2025-01-02,10,20\n2025-01-03,,21\n2025-01-06,12,22\n"),
            &["row 3", "column AAPL", "missing"],
        ),
        (
            "missing NaN",
            format!("{header}2025-01-02,10,20\n2025-01-03,11,NaN\n2025-01-06,12,22\n"),
            &["row 3", "column MSFT", "missing"],
        ),
        (
            "unsorted",
            format!("{header}2025-01-03,10,20\n2025-01-02,11,21\n2025-01-06,12,22\n"),
            &["row 3", "2025-01-02", "increasing date order"],
        ),
        (
            "duplicate",
            format!("{header}2025-01-02,10,20\n2025-01-02,11,21\n2025-01-06,12,22\n"),
            &["row 3", "appears twice"],
        ),
        (
            "non-positive",
            format!("{header}2025-01-02,10,20\n2025-01-03,11,-21\n2025-01-06,12,22\n"),
            &["row 3", "column MSFT", "positive"],
        ),
        (
            "zero",
            format!("{header}2025-01-02,0,20\n2025-01-03,11,21\n2025-01-06,12,22\n"),
            &["row 2", "column AAPL", "positive"],
        ),
        (
            "text",
            format!("{header}2025-01-02,10,20\n2025-01-03,11,abc\n2025-01-06,12,22\n"),
            &["row 3", "column MSFT", "'abc' is not a number"],
        ),
        (
            "short row",
            format!("{header}2025-01-02,10,20\n2025-01-03,11\n2025-01-06,12,22\n"),
            &["row 3", "2 column(s)", "header has 3"],
        ),
        (
            "long row",
            format!("{header}2025-01-02,10,20,30\n{good}"),
            &["row 2", "4 column(s)"],
        ),
        (
            "bad date",
            format!("{header}02/01/2025,10,20\n{good}"),
            &["row 2", "column Date", "not a date"],
        ),
        (
            "too short",
            format!("{header}2025-01-02,10,20\n2025-01-03,11,21\n"),
            &["2 row(s)", "at least 3"],
        ),
        (
            "no assets",
            "Date\n2025-01-02\n".to_string(),
            &["header", "asset column"],
        ),
        (
            "repeated asset",
            format!("Date,AAPL,AAPL\n{good}"),
            &["header", "'AAPL' appears twice"],
        ),
    ];
    for (name, text, needles) in cases {
        let message = error_for(name, text).to_string();
        for needle in *needles {
            assert!(
                message.contains(needle),
                "{name}: {message:?} lacks {needle:?}"
            );
        }
    }
    // A yfinance-style time after the date is fine.
    let timed = format!(
        "{header}2025-01-02 00:00:00-05:00,10,20\n2025-01-03 00:00:00-05:00,11,21\n2025-01-06 00:00:00-05:00,12,22\n"
    );
    assert_eq!(
        PriceHistory::from_csv(&timed, Path::new("timed"))
            .unwrap()
            .prices
            .len(),
        3
    );
    // A constant price has no volatility: named.
    let flat = format!("{header}2025-01-02,10,20\n2025-01-03,10,21\n2025-01-06,10,22\n");
    let history = PriceHistory::from_csv(&flat, Path::new("flat")).unwrap();
    let message = fit(&history, &job(Weighting::Sample))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("column AAPL") && message.contains("never changes"),
        "{message}"
    );
}

#[test]
fn bad_fit_arguments_exit_2_naming_the_field() {
    let cases: &[(&[&str], &str)] = &[
        (&["--weights", "AAPL=1"], "no weight for this asset"),
        (&["--weights", "AAPL=0.5,IBM=0.5"], "unknown weights 'IBM'"),
        (&["--weights", "AAPL=x"], "weights.AAPL"),
        (&["--weights", "AAPL"], "NAME=WEIGHT"),
        (
            &["--weights", "equal", "--ewma", "1.5"],
            "invalid ewma = 1.5",
        ),
        (&["--weights", "equal", "--ewma", "0"], "invalid ewma = 0.0"),
        (
            &["--weights", "equal", "--value", "-1"],
            "invalid value = -1.0",
        ),
    ];
    for (args, needle) in cases {
        quantmc()
            .args(["fit", "--prices", PRICES])
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*needle));
    }
    quantmc()
        .args([
            "fit",
            "--prices",
            "/nonexistent/prices.csv",
            "--weights",
            "equal",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read price file"));
    // Weights are required, one way or the other.
    quantmc()
        .args(["fit", "--prices", PRICES])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--weights"));
}

#[test]
fn refitting_a_book_keeps_its_liquidity_horizons_and_reduced_set() {
    let overlay = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/overlay.json");
    let mut given = Portfolio::from_file(overlay.as_ref()).unwrap();
    given.assets[0].liquidity_horizon = Some(40);
    given.assets[1].reduced = true;
    let job = FitJob {
        weighting: Weighting::Sample,
        nearest_psd: false,
        value: given.value,
        weights: Weights::Named(
            given
                .assets
                .iter()
                .map(|a| (a.name.clone(), a.weight))
                .collect(),
        ),
        overlay: quantmc::fit::Overlay::of(&given),
    };
    let refit = fit(&history(), &job).unwrap().portfolio;
    for before in &given.assets {
        let asset = refit.assets.iter().find(|a| a.name == before.name).unwrap();
        assert_eq!(
            (asset.liquidity_horizon, asset.reduced),
            (before.liquidity_horizon, before.reduced),
            "{}",
            before.name
        );
    }
    assert!(refit.assets.iter().any(|a| a.liquidity_horizon == Some(40)));
    assert!(refit.assets.iter().any(|a| a.reduced));
}
