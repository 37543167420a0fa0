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

// ---- Backtesting (quantmc::backtest) ----

use quantmc::backtest::{
    BacktestJob, Method, Zone, backtest, christoffersen, kupiec, traffic_light,
};

/// Relative agreement to 1e-10 (absolute below 1e-10).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-10 * b.abs().max(1.0)
}

#[test]
fn kupiec_and_christoffersen_equal_scipy_on_the_same_exceptions() {
    // scipy.stats.chi2.sf of the textbook likelihood ratios (NumPy, the
    // convention 0 ln 0 = 0), computed once and written here.
    let cases: [(u64, u64, f64, f64, f64); 6] = [
        (0, 250, 0.01, 5.025167926750726, 0.02498150305344973),
        (4, 250, 0.01, 0.7691383643858458, 0.380483738238954),
        (7, 250, 0.01, 5.496990447792683, 0.019049230890526535),
        (25, 1000, 0.01, 16.042965938670278, 6.192122972318636e-05),
        (250, 250, 0.01, 2302.5850929940457, 0.0),
        (60, 1000, 0.05, 1.9842212738651028, 0.15894640979402513),
    ];
    for (x, n, p, lr, p_value) in cases {
        let test = kupiec(x, n, p);
        assert!(close(test.lr, lr), "{x}/{n}: {} against {lr}", test.lr);
        assert!(
            (test.p_value - p_value).abs() < 1e-10,
            "{x}/{n}: {}",
            test.p_value
        );
    }
    // Christoffersen on a 500-day series with a run of three.
    let series = "00000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000001110100000000000000000000000000000000000000000000000000000000000001000000000000000000010000000000000000000000000000000000000010000000000000000000000000000000010000000000000000000000000000000000000000000001000000000000000100000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000";
    let hits: Vec<bool> = series.bytes().map(|b| b == b'1').collect();
    assert_eq!(hits.len(), 500);
    let test = christoffersen(&hits, 0.01);
    assert!(close(test.independence.lr, 4.242996667733138));
    assert!((test.independence.p_value - 0.03941254295540836).abs() < 1e-10);
    assert!(close(test.conditional_coverage.lr, 13.21628937898457));
    assert!((test.conditional_coverage.p_value - 0.0013493332607024961).abs() < 1e-10);
}

#[test]
fn the_traffic_light_is_the_basel_table() {
    // 250 days at 99%: green 0-4, yellow 5-9 with plus factors 0.40, 0.50,
    // 0.65, 0.75, 0.85, red from 10 with 1.
    let plus = [0.0, 0.0, 0.0, 0.0, 0.0, 0.40, 0.50, 0.65, 0.75, 0.85];
    for x in 0..=250u64 {
        let light = traffic_light(x, 250, 0.01);
        let zone = match x {
            0..=4 => Zone::Green,
            5..=9 => Zone::Yellow,
            _ => Zone::Red,
        };
        assert_eq!(light.zone, zone, "{x} exceptions");
        assert_eq!(
            light.plus_factor,
            Some(plus.get(x as usize).copied().unwrap_or(1.0))
        );
    }
    // Off the table: the zone by the same binomial probabilities, no factor.
    let light = traffic_light(3, 100, 0.01);
    assert_eq!((light.zone, light.plus_factor), (Zone::Yellow, None));
}

/// A price history of `days` returns of `assets` assets, each day's log
/// returns `vol_t z` from the Philox normals of `seed`; with `garch` the
/// volatility follows a GARCH(1,1) (`omega, alpha, beta`) and the shocks
/// are Student-t with 4 degrees of freedom (scaled to unit variance), else
/// it is `vol` throughout.
fn synthetic(
    days: usize,
    assets: usize,
    vol: f64,
    seed: u64,
    garch: Option<(f64, f64, f64)>,
) -> PriceHistory {
    let mut prices = vec![vec![100.0; assets]];
    let mut variance = vec![vol * vol; assets];
    for t in 0..days {
        let row: Vec<f64> = (0..assets)
            .map(|a| {
                let stream = (t * assets + a) as u64;
                let (z, w) = quantmc::rng::normal_pair(seed, 0, stream, 0);
                let shock = if garch.is_some() {
                    // A t(4) variable from normals: z / sqrt(chi2_4 / 4), unit variance.
                    let (u, v) = quantmc::rng::normal_pair(seed, 0, stream, 1);
                    let chi = w * w
                        + u * u
                        + v * v
                        + quantmc::rng::normal_pair(seed, 0, stream, 2).0.powi(2);
                    z / (chi / 4.0).sqrt() / 2f64.sqrt()
                } else {
                    z
                };
                let r = variance[a].sqrt() * shock;
                if let Some((omega, alpha, beta)) = garch {
                    variance[a] = omega + alpha * r * r + beta * variance[a];
                }
                prices[t][a] * r.exp()
            })
            .collect();
        prices.push(row);
    }
    PriceHistory {
        dates: (0..=days).map(|t| format!("day {t}")).collect(),
        assets: (0..assets).map(|a| format!("A{a}")).collect(),
        prices,
    }
}

/// An equal-weighted book of `assets` uncorrelated assets of daily
/// volatility `vol`.
fn synthetic_book(assets: usize, vol: f64) -> Portfolio {
    Portfolio {
        value: 1e6,
        assets: (0..assets)
            .map(|a| quantmc::portfolio::Asset {
                name: format!("A{a}"),
                weight: 1.0 / assets as f64,
                sigma: vol,
                ..Default::default()
            })
            .collect(),
        correlation: (0..assets)
            .map(|i| {
                (0..assets)
                    .map(|j| if i == j { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn a_forecast_reads_nothing_at_or_after_its_day() {
    let history = synthetic(400, 3, 0.01, 1, None);
    let book = synthetic_book(3, 0.01);
    for method in [
        Method::Historical,
        Method::Filtered { lambda: 0.94 },
        Method::Parametric,
    ] {
        let job = BacktestJob {
            window: 100,
            method,
            ..Default::default()
        };
        let before = backtest(&book, &history, &job).unwrap();
        // Rewrite every price from row 250 on: returns 249 on change, so
        // the forecasts of days 100 ..= 249 (backtest days 0 ..= 149) and
        // the P&L of days before 249 must not move.
        let mut future = history.clone();
        for (t, row) in future.prices.iter_mut().enumerate().skip(250) {
            for price in row.iter_mut() {
                *price *= 1.0 + 0.3 * ((t as f64).sin());
            }
        }
        let after = backtest(&book, &future, &job).unwrap();
        assert_eq!(before.var[..150], after.var[..150], "{method:?}");
        assert_eq!(before.es[..150], after.es[..150], "{method:?}");
        assert_eq!(before.pnl[..149], after.pnl[..149], "{method:?}");
        assert_ne!(before.var[150..], after.var[150..], "{method:?}");
    }
}

#[test]
fn a_historical_forecast_is_var_historical_on_its_window() {
    let (book, history) = book();
    let job = BacktestJob {
        window: 120,
        confidence: Confidence::new(0.95),
        ..Default::default()
    };
    let result = backtest(&book, &history, &job).unwrap();
    assert_eq!(result.days, history.prices.len() - 1 - 120);
    for day in [0, 7, result.days - 1] {
        // The window's 120 returns are rows day ..= day + 120 of the prices.
        let window = PriceHistory {
            dates: history.dates[day..=day + 120].to_vec(),
            assets: history.assets.clone(),
            prices: history.prices[day..=day + 120].to_vec(),
        };
        let alone = historical_var(
            &book,
            &window,
            std::slice::from_ref(&job.confidence),
            1.0,
            None,
        )
        .unwrap();
        assert_eq!(result.var[day], alone.levels[0].var);
        assert_eq!(result.es[day], alone.levels[0].es);
        assert_eq!(result.dates[day], history.dates[day + 121]);
    }
    // The exceptions are the days whose P&L is below minus their VaR.
    let expected: Vec<&str> = (0..result.days)
        .filter(|&d| result.pnl[d] < -result.var[d])
        .map(|d| result.dates[d].as_str())
        .collect();
    let listed: Vec<&str> = result.exceptions.iter().map(|e| e.date.as_str()).collect();
    assert_eq!(listed, expected);
    assert_eq!(result.exception_count as usize, expected.len());
}

#[test]
fn a_right_model_passes_and_a_clustered_fat_tailed_history_fails() {
    // Returns drawn from the very model (normal, constant volatility), and
    // a window long enough that the forecast is the model (2,500 days: the
    // volatility within 1.4%): the exceptions are near their rate and
    // Kupiec's p-values uniform over seeds (a KS distance under the 1%
    // critical value 1.63 / sqrt(seeds)). At a 250-day window the count is
    // under-dispersed (its variance about half the binomial's: an
    // exception's return raises the next forecasts' volatility) and
    // Kupiec's test is conservative, which docs/src/risk.md says.
    let book = synthetic_book(2, 0.01);
    let job = BacktestJob {
        window: 2500,
        confidence: Confidence::new(0.95),
        method: Method::Parametric,
        es_simulations: 100,
        ..Default::default()
    };
    let seeds = 100;
    let mut p_values = Vec::new();
    let (mut exceptions, mut days) = (0, 0);
    for seed in 0..seeds {
        let result = backtest(&book, &synthetic(3500, 2, 0.01, seed, None), &job).unwrap();
        p_values.push(result.kupiec.p_value);
        exceptions += result.exception_count;
        days += result.days as u64;
    }
    let rate = exceptions as f64 / days as f64;
    assert!(
        (rate - 0.05).abs() < 4.0 * (0.05 * 0.95 / days as f64).sqrt(),
        "{rate}"
    );
    p_values.sort_by(f64::total_cmp);
    let ks = p_values
        .iter()
        .enumerate()
        .map(|(i, p)| {
            ((i + 1) as f64 / seeds as f64 - p)
                .abs()
                .max((p - i as f64 / seeds as f64).abs())
        })
        .fold(0.0, f64::max);
    assert!(ks < 1.63 / (seeds as f64).sqrt(), "KS distance {ks}");
    // A GARCH(1,1) history with Student-t shocks: the normal model's 99%
    // VaR sees too many exceptions, in clusters; conditional coverage
    // rejects at 5% in most seeds, and the ES test finds the tail too thin.
    let job = BacktestJob {
        window: 250,
        method: Method::Parametric,
        es_simulations: 200,
        ..Default::default()
    };
    let (mut rejected, mut es_rejected) = (0, 0);
    for seed in 0..20 {
        let history = synthetic(2750, 2, 0.01, seed, Some((2e-6, 0.1, 0.88)));
        let result = backtest(&book, &history, &job).unwrap();
        rejected += usize::from(result.christoffersen.conditional_coverage.p_value < 0.05);
        es_rejected += usize::from(result.es_test.p_value < 0.05);
    }
    assert!(
        rejected >= 16 && es_rejected >= 16,
        "conditional coverage rejected {rejected} of 20, the ES test {es_rejected}"
    );
}

#[test]
fn bad_backtests_are_refused_naming_the_field() {
    let (book, history) = book();
    let refused = |job: BacktestJob, book: &Portfolio, field: &str| {
        let err = backtest(book, &history, &job).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    };
    let job = BacktestJob::default;
    // 250 returns: a 250-day window leaves nothing, 249 one day.
    refused(job(), &book, "window");
    refused(
        BacktestJob {
            window: 249,
            ..job()
        },
        &book,
        "window",
    );
    refused(BacktestJob { window: 1, ..job() }, &book, "window");
    refused(
        BacktestJob {
            window: 100,
            horizon_days: 10.0,
            ..job()
        },
        &book,
        "horizon-days",
    );
    refused(
        BacktestJob {
            window: 100,
            method: Method::Filtered { lambda: 1.5 },
            ..job()
        },
        &book,
        "ewma",
    );
    refused(
        BacktestJob {
            window: 100,
            confidence: Confidence::new(1.0),
            ..job()
        },
        &book,
        "confidence",
    );
    refused(
        BacktestJob {
            window: 100,
            es_simulations: 5,
            ..job()
        },
        &book,
        "es-simulations",
    );
    let mut unknown = book.clone();
    unknown.assets[0].name = "XYZ".to_string();
    refused(
        BacktestJob {
            window: 100,
            ..job()
        },
        &unknown,
        "XYZ",
    );
    assert!(
        backtest(
            &book,
            &history,
            &BacktestJob {
                window: 247,
                ..job()
            }
        )
        .is_ok()
    );
}

#[test]
fn quantmc_backtest_prints_the_tests_and_draws_the_days() {
    let dir = std::env::temp_dir().join(format!("quantmc-backtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (book, history) = book();
    let book_path = dir.join("book.json");
    std::fs::write(&book_path, serde_json::to_string(&book).unwrap()).unwrap();
    let plot = dir.join("backtest.svg");
    let v = common::cli_json([
        "backtest".as_ref(),
        "--portfolio".as_ref(),
        book_path.as_os_str(),
        "--prices".as_ref(),
        PRICES.as_ref(),
        "--window".as_ref(),
        "120".as_ref(),
        "--confidence".as_ref(),
        "0.95".as_ref(),
        "--json".as_ref(),
        "--plot".as_ref(),
        plot.as_os_str(),
    ] as [&std::ffi::OsStr; 12]);
    // The library's result, field for field.
    let job = BacktestJob {
        window: 120,
        confidence: "0.95".parse().unwrap(),
        ..Default::default()
    };
    // The book as the CLI read it (serde_json's float parsing is not a
    // round trip to the last bit).
    let read = Portfolio::from_file(&book_path).unwrap();
    let text = serde_json::to_string(&backtest(&read, &history, &job).unwrap()).unwrap();
    let expected: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v, expected);
    for field in [
        "days",
        "exception_count",
        "exceptions",
        "kupiec",
        "christoffersen",
        "traffic_light",
        "es_test",
    ] {
        assert!(!v[field].is_null(), "{field}: {v}");
    }
    assert!(v["christoffersen"]["conditional_coverage"]["p_value"].is_f64());
    assert_eq!(
        v["exceptions"].as_array().unwrap().len() as u64,
        v["exception_count"].as_u64().unwrap()
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("exception"),
        "{}",
        &svg[..200]
    );
    // The table names the tests and the zone.
    let table = quantmc()
        .args(["backtest", "--portfolio"])
        .arg(&book_path)
        .args([
            "--prices", PRICES, "--window", "120", "--method", "filtered",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    for label in [
        "Kupiec POF",
        "cond. coverage",
        "traffic light",
        "ES test (Z2)",
        "filtered historical",
    ] {
        assert!(text.contains(label), "{label}: {text}");
    }
    // Bad input: exit 2, naming the field.
    for (args, field) in [
        (vec!["--window", "400"], "window"),
        (vec!["--horizon-days", "10"], "horizon-days"),
        (vec!["--confidence", "1.2"], "confidence"),
        (vec!["--method", "filtered", "--ewma", "2"], "ewma"),
        (vec!["--es-simulations", "10"], "es-simulations"),
    ] {
        quantmc()
            .args(["backtest", "--portfolio"])
            .arg(&book_path)
            .args(["--prices", PRICES])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field));
    }
    let portfolio = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    quantmc()
        .args([
            "backtest",
            "--portfolio",
            portfolio,
            "--prices",
            PRICES,
            "--window",
            "100",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no column in the price file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stressed_var_is_the_worst_stretch_of_the_history() {
    use quantmc::historical::{StressWindow, stressed_var};
    let (book, history) = book();
    let levels = [Confidence::new(0.95), Confidence::new(0.99)];
    let slice = |first: usize, last: usize| PriceHistory {
        dates: history.dates[first..=last].to_vec(),
        assets: history.assets.clone(),
        prices: history.prices[first..=last].to_vec(),
    };
    for horizon in [1usize, 5] {
        let days = 100;
        let stressed = stressed_var(
            &book,
            &history,
            &levels,
            horizon as f64,
            &StressWindow::Worst { days },
        )
        .unwrap();
        // Every stretch by historical_var on its own rows: the kept one has
        // the largest 99% VaR (the earliest of equals), to the bit.
        let runs: Vec<_> = (0..=history.prices.len() - 1 - days)
            .map(|start| {
                historical_var(
                    &book,
                    &slice(start, start + days),
                    &levels,
                    horizon as f64,
                    None,
                )
                .unwrap()
            })
            .collect();
        assert_eq!(stressed.searched, runs.len());
        let worst = runs
            .iter()
            .map(|r| r.levels[1].var)
            .fold(f64::NEG_INFINITY, f64::max);
        let start = runs.iter().position(|r| r.levels[1].var == worst).unwrap();
        assert_eq!(stressed.levels, runs[start].levels, "horizon {horizon}");
        assert_eq!(
            (stressed.window.from.as_str(), stressed.window.to.as_str()),
            (
                history.dates[start].as_str(),
                history.dates[start + days].as_str()
            )
        );
        // Worse than (or as bad as) the whole history's.
        let whole = historical_var(&book, &history, &levels, horizon as f64, None).unwrap();
        assert!(stressed.levels[1].var >= whole.levels[1].var * 0.999);
    }
    // Given dates: that stretch alone.
    let window = StressWindow::Dates {
        from: history.dates[30].clone(),
        to: history.dates[130].clone(),
    };
    let given = stressed_var(&book, &history, &levels, 1.0, &window).unwrap();
    assert_eq!((given.days, given.searched), (100, 1));
    assert_eq!(
        given.levels,
        historical_var(&book, &slice(30, 130), &levels, 1.0, None)
            .unwrap()
            .levels
    );
    // Bad stretches, naming the field.
    for (window, field) in [
        (StressWindow::Worst { days: 400 }, "stress-days"),
        (StressWindow::Worst { days: 1 }, "stress-days"),
        (
            StressWindow::Dates {
                from: "2025-13-01".into(),
                to: history.dates[100].clone(),
            },
            "stress-window",
        ),
        (
            StressWindow::Dates {
                from: history.dates[100].clone(),
                to: history.dates[30].clone(),
            },
            "stress-window",
        ),
    ] {
        let err = stressed_var(&book, &history, &levels, 1.0, &window)
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    // Through the CLI: the JSON's `stressed`, and its bad input exits 2.
    let portfolio =
        std::env::temp_dir().join(format!("quantmc-stressed-{}.json", std::process::id()));
    std::fs::write(&portfolio, serde_json::to_string(&book).unwrap()).unwrap();
    let v = common::cli_json([
        "var".as_ref(),
        "--portfolio".as_ref(),
        portfolio.as_os_str(),
        "--scenarios".as_ref(),
        "1e4".as_ref(),
        "--historical".as_ref(),
        PRICES.as_ref(),
        "--stressed".as_ref(),
        "--stress-days".as_ref(),
        "100".as_ref(),
        "--json".as_ref(),
    ] as [&std::ffi::OsStr; 11]);
    let stressed = &v["stressed"];
    assert!(stressed["var"]["0.99"].as_f64().unwrap() > 0.0, "{v}");
    assert!(stressed["es"]["0.95"].as_f64().unwrap() > 0.0, "{v}");
    assert!(
        stressed["window"]["from"].is_string() && stressed["window"]["to"].is_string(),
        "{v}"
    );
    for (args, field) in [
        (
            vec![
                "--historical",
                PRICES,
                "--stressed",
                "--stress-window",
                "2025-01-02",
            ],
            "stress-window",
        ),
        (
            vec!["--historical", PRICES, "--stressed", "--stress-days", "1e4"],
            "stress-days",
        ),
        (vec!["--stressed"], "--historical"),
    ] {
        quantmc()
            .args(["var", "--portfolio"])
            .arg(&portfolio)
            .args(["--scenarios", "1e4"])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field));
    }
    std::fs::remove_file(&portfolio).unwrap();
}

#[test]
fn frtb_es_is_the_liquidity_cascade_of_ten_day_historical_es() {
    use quantmc::frtb::frtb_es;
    use quantmc::historical::StressWindow;
    let (mut book, history) = book();
    let horizons = [10u32, 20, 40, 60, 120, 20];
    for (asset, horizon) in book.assets.iter_mut().zip(horizons) {
        asset.liquidity_horizon = Some(horizon);
    }
    book.assets[0].reduced = true;
    book.assets[4].reduced = true;
    // Straight from the price columns: 10-day returns P_{t+10} / P_t - 1 of
    // the shocked assets, the 97.5% ES by the rank rule.
    let es = |shocked: &dyn Fn(usize) -> bool, rows: std::ops::Range<usize>| {
        let pnl: Vec<f64> = (rows.start..rows.end - 10)
            .map(|t| {
                book.assets
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| shocked(*i))
                    .map(|(_, a)| {
                        let c = history.assets.iter().position(|n| *n == a.name).unwrap();
                        book.value
                            * a.weight
                            * (history.prices[t + 10][c] / history.prices[t][c] - 1.0)
                    })
                    .sum()
            })
            .collect();
        // The tail's size from the level's decimal, 0.025 n exactly (the
        // f64 1 - 0.975 is a hair above 0.025).
        let mut pnl = pnl;
        pnl.sort_by(f64::total_cmp);
        let m = Confidence::new(0.975).tail_count(pnl.len());
        -pnl[..m].iter().sum::<f64>() / m as f64
    };
    let cascade = |subset: &dyn Fn(usize) -> bool, rows: std::ops::Range<usize>| {
        let lh = [10u32, 20, 40, 60, 120];
        let mut sum = 0.0;
        let mut buckets = Vec::new();
        for (j, &h) in lh.iter().enumerate() {
            let shocked = |i: usize| subset(i) && horizons[i] >= h;
            let value = if (0..6).any(shocked) {
                es(&shocked, rows.clone())
            } else {
                0.0
            };
            let scale = if j == 0 {
                1.0
            } else {
                (f64::from(h - lh[j - 1]) / 10.0).sqrt()
            };
            sum += (value * scale).powi(2);
            buckets.push(value);
        }
        (sum.sqrt(), buckets)
    };
    let rows = 0..history.prices.len();
    let (expected, buckets) = cascade(&|_| true, rows.clone());
    let window = StressWindow::Dates {
        from: history.dates[100].clone(),
        to: history.dates[200].clone(),
    };
    let found = frtb_es(&book, &history, Some(&window)).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(close(found.es, expected), "{} against {expected}", found.es);
    assert_eq!(found.windows, history.prices.len() - 10);
    for (bucket, value) in found.buckets.iter().zip(&buckets) {
        assert!(close(bucket.es, *value), "{bucket:?} against {value}");
    }
    // The stressed calibration: ES_R,S x max(1, ES_F,C / ES_R,C).
    let reduced = |i: usize| i == 0 || i == 4;
    let (stressed, _) = cascade(&reduced, 100..201);
    let (reduced_current, _) = cascade(&reduced, rows);
    let scaling = found.stressed_scaling.unwrap();
    assert!(close(scaling.es_reduced_stressed, stressed));
    assert!(close(scaling.es_reduced_current, reduced_current));
    assert!(close(
        scaling.es,
        stressed * (expected / reduced_current).max(1.0)
    ));
    assert_eq!(scaling.window.from, history.dates[100]);
    // The search keeps the stretch where the reduced set's ES is largest.
    let searched = frtb_es(&book, &history, Some(&StressWindow::Worst { days: 100 })).unwrap();
    let scaling = searched.stressed_scaling.unwrap();
    let worst = (0..=history.prices.len() - 101)
        .map(|s| cascade(&reduced, s..s + 101).0)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(close(scaling.es_reduced_stressed, worst));
    assert_eq!(scaling.searched, history.prices.len() - 100);
    // A horizon outside FRTB's list is refused, naming the asset's field.
    book.assets[2].liquidity_horizon = Some(30);
    let err = frtb_es(&book, &history, None).unwrap_err().to_string();
    assert!(err.contains("assets[2].liquidity_horizon"), "{err}");
}

/// The backtest's cost at a desk's size, printed (run by hand: `cargo test
/// --test historical -- --ignored --nocapture backtest_timing`): 2,500 days
/// of a 10-asset book after a 250-day window, each method.
#[test]
#[ignore = "prints timings"]
fn backtest_timing() {
    let history = synthetic(2750, 10, 0.01, 3, Some((2e-6, 0.1, 0.88)));
    let book = synthetic_book(10, 0.01);
    for method in [
        Method::Historical,
        Method::Filtered { lambda: 0.94 },
        Method::Parametric,
    ] {
        let job = BacktestJob {
            method,
            ..Default::default()
        };
        let start = std::time::Instant::now();
        let result = backtest(&book, &history, &job).unwrap();
        println!(
            "{method:?}: {} days in {:.3} s ({} exceptions)",
            result.days,
            start.elapsed().as_secs_f64(),
            result.exception_count
        );
    }
}
