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
