//! Euler contributions against the closed forms of an elliptical linear
//! book: `dVaR / dw_i = -value h mu_i + (VaR + M) (Sigma w)_i / (w. Sigma w)`
//! (the same with ES), `M` the mean P&L; components
//! `w_i dVaR / dw_i` adding up to the total.

use quantmc::contributions::{LevelContributions, contributions};
use quantmc::{Backend, Confidence, Portfolio, ReturnDistribution, TailMeasure, VarJob};

fn job(distribution: ReturnDistribution) -> VarJob {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        scenarios: 1_000_000,
        confidences: vec![Confidence::new(0.95), Confidence::new(0.99)],
        horizon_days: 10.0,
        distribution,
        seed: 7,
    }
}

fn run(job: &VarJob, backend: Backend) -> (Vec<TailMeasure>, Vec<LevelContributions>) {
    let result = quantmc::var(job, backend).unwrap();
    let found = contributions(job, &result).unwrap();
    let tails = result
        .levels
        .iter()
        .map(|l| TailMeasure {
            var: l.var,
            es: l.es,
        })
        .collect();
    (tails, found)
}

/// `(-value h mu_i, (Sigma w)_i / (w. Sigma w))` per asset, and `M`.
fn sensitivities(job: &VarJob) -> (Vec<f64>, Vec<f64>, f64) {
    let p = &job.portfolio;
    let (value, h) = (p.value, job.horizon_days);
    let k = p.assets.len();
    let sigma_w: Vec<f64> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    p.assets[i].sigma * p.assets[j].sigma * p.correlation[i][j] * p.assets[j].weight
                })
                .sum()
        })
        .collect();
    let variance: f64 = (0..k).map(|i| p.assets[i].weight * sigma_w[i]).sum();
    let mean = value * h * p.assets.iter().map(|a| a.weight * a.mu).sum::<f64>();
    (
        p.assets.iter().map(|a| -value * h * a.mu).collect(),
        sigma_w.iter().map(|s| s / variance).collect(),
        mean,
    )
}

fn check(distribution: ReturnDistribution) {
    let job = job(distribution);
    let (drift, spread, mean) = sensitivities(&job);
    let model = job.risk_model().unwrap();
    let (tails, found) = run(&job, Backend::Rayon);
    for ((level, tail), confidence) in found.iter().zip(&tails).zip(&job.confidences) {
        let exact = model.parametric(confidence.level).unwrap();
        let sum_var: f64 = level.positions.iter().map(|p| p.component_var).sum();
        let sum_es: f64 = level.positions.iter().map(|p| p.component_es).sum();
        assert!(
            (sum_var / tail.var - 1.0).abs() < 1e-9,
            "{sum_var} vs {}",
            tail.var
        );
        assert!(
            (sum_es / tail.es - 1.0).abs() < 1e-9,
            "{sum_es} vs {}",
            tail.es
        );
        for (i, position) in level.positions.iter().enumerate() {
            let weight = job.portfolio.assets[i].weight;
            let marginal_var = drift[i] + (exact.var + mean) * spread[i];
            let marginal_es = drift[i] + (exact.es + mean) * spread[i];
            let what = format!("{distribution:?} {} {}", confidence.label, position.name);
            println!(
                "{what}: component VaR {:.1} (exact {:.1}), ES {:.1} (exact {:.1})",
                position.component_var,
                weight * marginal_var,
                position.component_es,
                weight * marginal_es
            );
            // Sampling error: the ES share averages the whole tail (m
            // scenarios), the VaR share a window of about 2 m^(2/3) about
            // the quantile.
            assert!(
                (position.component_es - weight * marginal_es).abs() < 0.005 * exact.es,
                "{what}: component ES {} vs {}",
                position.component_es,
                weight * marginal_es
            );
            assert!(
                (position.component_var - weight * marginal_var).abs() < 0.01 * exact.var,
                "{what}: component VaR {} vs {}",
                position.component_var,
                weight * marginal_var
            );
            assert!(
                (position.component_var - weight * position.marginal_var).abs() < 1e-9 * exact.var
            );
        }
    }
}

#[test]
fn gaussian_contributions_match_the_closed_forms() {
    check(ReturnDistribution::Normal);
}

#[test]
fn student_t_contributions_match_the_elliptical_closed_forms() {
    check(ReturnDistribution::StudentT { dof: 5.0 });
}

#[test]
fn contributions_do_not_depend_on_the_tier_that_found_the_tail() {
    let job = VarJob {
        scenarios: 200_000,
        ..job(ReturnDistribution::Normal)
    };
    let (_, scalar) = run(&job, Backend::Scalar);
    let (_, rayon) = run(&job, Backend::Rayon);
    for (a, b) in scalar.iter().zip(&rayon) {
        for (p, q) in a.positions.iter().zip(&b.positions) {
            assert!((p.component_var / q.component_var - 1.0).abs() < 1e-9);
            assert!((p.component_es / q.component_es - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn the_cli_prints_contributions_keyed_by_level() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let output = assert_cmd::Command::cargo_bin("quantmc")
        .unwrap()
        .args(["var", "--portfolio", path, "--scenarios", "100000"])
        .args(["--contributions", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for level in ["0.95", "0.99"] {
        let positions = v["contributions"][level].as_array().unwrap();
        assert_eq!(positions.len(), 10);
        let sum: f64 = positions
            .iter()
            .map(|p| p["component_es"].as_f64().unwrap())
            .sum();
        assert!((sum / v["es"][level].as_f64().unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(positions[0]["name"], "AAPL");
        assert!(positions[0]["component_var"].is_f64() && positions[0]["marginal_var"].is_f64());
    }
}

// ---- Incremental VaR (quantmc::whatif) ----

use quantmc::whatif::{Trade, TradePosition, what_if};

fn buy(asset: &str, weight: f64) -> Trade {
    Trade {
        positions: vec![TradePosition {
            asset: asset.to_string(),
            weight,
        }],
        options: Vec::new(),
    }
}

#[test]
fn a_what_if_reads_the_same_scenarios_and_its_change_is_precise() {
    let job = VarJob {
        scenarios: 200_000,
        ..job(ReturnDistribution::Normal)
    };
    let control = quantmc::control::Control::new();
    let trade = buy("AAPL", 0.01);
    let found = what_if(&job, &trade, &control).unwrap();
    // Before: the book's own VaR on the scalar oracle, to the bit, and its
    // ES to rounding (the tail summed in another order); after: the traded
    // book's.
    let before = quantmc::var(&job, Backend::Scalar).unwrap();
    let traded = VarJob {
        portfolio: trade.apply(&job.portfolio).unwrap(),
        ..job.clone()
    };
    let after = quantmc::var(&traded, Backend::Scalar).unwrap();
    for ((level, b), a) in found.levels.iter().zip(&before.levels).zip(&after.levels) {
        assert_eq!((level.var_before, level.var_after), (b.var, a.var));
        assert!((level.es_before - b.es).abs() < 1e-12 * b.es, "{level:?}");
        assert!((level.es_after - a.es).abs() < 1e-12 * a.es, "{level:?}");
        assert_eq!(level.var_change, a.var - b.var);
        // A small trade on common random numbers: the change's standard
        // error at least 5x below two independent runs'.
        assert!(
            5.0 * level.var_change_std_error < level.independent_std_error,
            "{level:?}"
        );
        assert!(
            5.0 * level.es_change_std_error < level.es_independent_std_error,
            "{level:?}"
        );
    }
    // In the limit, a what-if is the marginal VaR of --contributions:
    // dVaR/dw_i times the weight added, within a few of its standard errors
    // and the second-order term.
    let result = quantmc::var(&job, Backend::Scalar).unwrap();
    let parts = contributions(&job, &result).unwrap();
    for (asset, i) in [("AAPL", 0), ("TLT", 7)] {
        let eps = 1e-3;
        let small = what_if(&job, &buy(asset, eps), &control).unwrap();
        for (level, contributed) in small.levels.iter().zip(&parts) {
            let marginal = contributed.positions[i].marginal_var;
            let slope = level.var_change / eps;
            assert!(
                (slope - marginal).abs()
                    < 4.0 * level.var_change_std_error / eps + 0.02 * marginal.abs(),
                "{asset} at {}: what-if {slope} against marginal {marginal}",
                level.confidence.label
            );
        }
    }
}

#[test]
fn a_trade_on_an_unknown_asset_or_an_empty_one_is_refused() {
    let job = job(ReturnDistribution::Normal);
    let control = quantmc::control::Control::new();
    let err = what_if(&job, &buy("IBM", 0.1), &control)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("positions[0].asset") && err.contains("IBM"),
        "{err}"
    );
    let err = what_if(&job, &Trade::default(), &control)
        .unwrap_err()
        .to_string();
    assert!(err.contains("what-if"), "{err}");
    let few = VarJob {
        scenarios: 1000,
        ..job.clone()
    };
    let err = what_if(&few, &buy("AAPL", 0.1), &control)
        .unwrap_err()
        .to_string();
    assert!(err.contains("scenarios"), "{err}");
    let text = r#"{"positions": [{"asset": "AAPL", "weight": 0.01, "extra": 1}]}"#;
    let err = Trade::from_json(text, "trade.json".as_ref())
        .unwrap_err()
        .to_string();
    assert!(err.contains("what-if") && err.contains("extra"), "{err}");
    // An option on a book without prices: the book's own check, naming it.
    let text = r#"{"options": [{"asset": "AAPL", "kind": "put", "strike": 90, "maturity": 0.25, "quantity": 100, "vol": 0.3}]}"#;
    let trade = Trade::from_json(text, "trade.json".as_ref()).unwrap();
    let err = trade.apply(&job.portfolio).unwrap_err().to_string();
    assert!(err.contains("price"), "{err}");
}

#[test]
fn var_what_if_prints_the_changes_by_level() {
    let dir = std::env::temp_dir().join(format!("quantmc-whatif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trade = dir.join("trade.json");
    std::fs::write(
        &trade,
        r#"{"positions": [{"asset": "TLT", "weight": -0.05}]}"#,
    )
    .unwrap();
    let portfolio = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let run = |json: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"));
        command.args([
            "var",
            "--portfolio",
            portfolio,
            "--scenarios",
            "1e5",
            "--what-if",
        ]);
        command.arg(&trade);
        if json {
            command.arg("--json");
        }
        command.output().unwrap()
    };
    let output = run(true);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for level in ["0.95", "0.99"] {
        let w = &v["what_if"][level];
        for field in [
            "var_before",
            "var_after",
            "var_change",
            "var_change_std_error",
            "es_change",
            "es_change_std_error",
            "independent_std_error",
        ] {
            assert!(w[field].is_f64(), "{field}: {v}");
        }
    }
    std::fs::write(
        &trade,
        r#"{"positions": [{"asset": "IBM", "weight": 0.1}]}"#,
    )
    .unwrap();
    let output = run(false);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("IBM"));
    std::fs::remove_dir_all(&dir).unwrap();
}
