//! The `quantmc` binary: exit codes, stderr, JSON keys and count spellings.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::HESTON_FLAGS;

const PORTFOLIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");

fn quantmc() -> Command {
    Command::cargo_bin("quantmc").unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let output = quantmc().args(args).arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

#[test]
fn price_json_has_the_documented_keys() {
    let v = json_of(&[
        "price",
        "--spot",
        "150",
        "--strike",
        "155",
        "--maturity",
        "0.25",
        "--vol",
        "0.3",
        "--paths",
        "20000",
        "--backend",
        "scalar",
    ]);
    for key in [
        "price",
        "std_error",
        "ci95",
        "paths",
        "seed",
        "backend",
        "elapsed_s",
        "paths_per_sec",
    ] {
        assert!(v.get(key).is_some(), "missing key {key} in {v}");
    }
    assert_eq!(v["paths"], 20000);
    assert_eq!(v["seed"], 42);
    assert_eq!(v["ci95"].as_array().unwrap().len(), 2);
    assert!(v["backend"].as_str().unwrap().starts_with("scalar"));
    let price = v["price"].as_f64().unwrap();
    assert!(v["ci95"][0].as_f64().unwrap() < price && price < v["ci95"][1].as_f64().unwrap());
}

#[test]
fn price_json_reports_the_method_its_gain_and_the_paths_used() {
    let v = json_of(&[
        "price",
        "--style",
        "asian-arithmetic",
        "--steps",
        "16",
        "--paths",
        "4096",
        "--sampler",
        "rqmc",
        "--replicates",
        "16",
        "--control-variate",
        "--target-rel-se",
        "1e-5",
        "--max-paths",
        "1e6",
    ]);
    let method = v["method"].as_str().unwrap();
    assert!(
        method.starts_with("rqmc") && method.contains("16 replicates"),
        "{method}"
    );
    assert!(method.contains("control variate"), "{method}");
    assert!(v["variance_reduction"].as_f64().unwrap() > 100.0, "{v}");
    assert!(v["control_coefficient"].as_f64().unwrap() > 0.5, "{v}");
    assert_eq!(v["target_reached"], true, "{v}");
    // A pilot of 4096 paths (doubled while it says too little) and a final
    // stage of a power-of-two multiple of them.
    let (paths, pilot) = (
        v["paths"].as_u64().unwrap(),
        v["pilot_paths"].as_u64().unwrap(),
    );
    assert!((pilot / 4096).is_power_of_two() && pilot % 4096 == 0, "{v}");
    assert!(((paths - pilot) / 4096).is_power_of_two(), "{v}");
    let price = v["price"].as_f64().unwrap();
    assert!(v["std_error"].as_f64().unwrap() <= 1e-5 * price);
    // Plain Monte Carlo reports no reduction and no target.
    let plain = json_of(&["price", "--paths", "1000"]);
    assert_eq!(plain["method"], "mc");
    assert!(plain["variance_reduction"].is_null());
    assert!(plain["target_reached"].is_null());
}

#[test]
fn greeks_come_as_values_with_standard_errors() {
    let v = json_of(&[
        "price",
        "--greeks",
        "--paths",
        "100000",
        "--backend",
        "simd",
    ]);
    for name in ["delta", "gamma", "vega", "rho", "theta"] {
        let greek = &v["greeks"][name];
        assert!(greek["value"].as_f64().unwrap().is_finite(), "{v}");
        assert!(greek["std_error"].as_f64().unwrap() > 0.0, "{v}");
    }
    assert!(
        v["greeks"]["method"]
            .as_str()
            .unwrap()
            .starts_with("pathwise")
    );
    let delta = v["greeks"]["delta"]["value"].as_f64().unwrap();
    assert!((delta - 0.6368).abs() < 0.01, "{delta}");
    let fd = json_of(&[
        "price",
        "--greeks",
        "--greeks-method",
        "fd",
        "--paths",
        "10000",
    ]);
    assert!(
        fd["greeks"]["method"]
            .as_str()
            .unwrap()
            .starts_with("finite differences")
    );
    assert!(json_of(&["price", "--paths", "1000"])["greeks"].is_null());
}

#[test]
fn a_continuous_barrier_prints_its_closed_form() {
    let v = json_of(&[
        "price",
        "--style",
        "barrier",
        "--barrier",
        "120",
        "--barrier-kind",
        "up-and-out",
        "--monitoring",
        "continuous",
        "--rebate",
        "1",
        "--steps",
        "20",
        "--paths",
        "100000",
    ]);
    let (price, exact, se) = (
        v["price"].as_f64().unwrap(),
        v["closed_form"].as_f64().unwrap(),
        v["std_error"].as_f64().unwrap(),
    );
    assert!(
        (price - exact).abs() < 4.0 * se,
        "{price} vs {exact} (SE {se})"
    );
    // Discrete monitoring has no closed form to print.
    let v = json_of(&[
        "price",
        "--style",
        "barrier",
        "--barrier",
        "120",
        "--barrier-kind",
        "up-and-out",
        "--paths",
        "1000",
    ]);
    assert!(v["closed_form"].is_null());
}

#[test]
fn var_json_keys_levels_as_the_user_wrote_them() {
    let v = json_of(&[
        "var",
        "--portfolio",
        PORTFOLIO,
        "--scenarios",
        "20_000",
        "--confidence",
        "0.975",
        "--confidence",
        "0.990",
        "--dist",
        "student-t",
        "--dof",
        "4",
    ]);
    for key in [
        "scenarios",
        "seed",
        "backend",
        "elapsed_s",
        "mean",
        "std",
        "var",
        "es",
        "parametric_var",
        "parametric_es",
    ] {
        assert!(v.get(key).is_some(), "missing key {key} in {v}");
    }
    assert_eq!(v["scenarios"], 20000);
    for key in ["var", "es", "parametric_var", "parametric_es"] {
        let levels: Vec<&String> = v[key].as_object().unwrap().keys().collect();
        assert_eq!(levels, ["0.975", "0.990"], "{key}");
    }
}

#[test]
fn a_book_that_never_moves_reports_zero_losses_not_minus_zero() {
    // Weights of zero and one call so far out of the money that it is worth
    // exactly nothing in every scenario: every P&L is 0, and so is every
    // loss, printed as 0, not -0.
    let path = std::env::temp_dir().join(format!("quantmc-flat-{}.json", std::process::id()));
    std::fs::write(
        &path,
        r#"{"value": 1000000, "rate": 0.0,
            "assets": [{"name": "A", "weight": 0.0, "mu": 0.0, "sigma": 0.01, "price": 100.0}],
            "correlation": [[1.0]],
            "options": [{"asset": "A", "kind": "call", "strike": 1000, "maturity": 0.01,
                         "quantity": 1, "vol": 0.1}]}"#,
    )
    .unwrap();
    for backend in ["scalar", "simd", "rayon"] {
        let v = json_of(&[
            "var",
            "--portfolio",
            path.to_str().unwrap(),
            "--scenarios",
            "1e5",
            "--backend",
            backend,
        ]);
        for key in ["var", "es", "delta_gamma_var", "delta_gamma_es"] {
            for (level, loss) in v[key].as_object().unwrap() {
                let loss = loss.as_f64().unwrap();
                assert!(
                    loss == 0.0 && loss.is_sign_positive(),
                    "{backend} {key} {level}: {loss}"
                );
            }
        }
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn var_defaults_to_95_and_99_percent() {
    let v = json_of(&["var", "--portfolio", PORTFOLIO, "--scenarios", "1e4"]);
    let levels: Vec<&String> = v["var"].as_object().unwrap().keys().collect();
    assert_eq!(levels, ["0.95", "0.99"]);
}

#[test]
fn counts_accept_every_documented_spelling() {
    for count in ["10000", "1e4", "10_000", "10K"] {
        let v = json_of(&["price", "--paths", count]);
        assert_eq!(v["paths"], 10000, "{count}");
    }
}

#[test]
fn same_seed_same_json_price() {
    let args = [
        "price",
        "--style",
        "asian-arithmetic",
        "--steps",
        "8",
        "--paths",
        "5000",
        "--seed",
        "7",
    ];
    assert_eq!(json_of(&args)["price"], json_of(&args)["price"]);
}

#[test]
fn human_output_is_a_table() {
    quantmc()
        .args([
            "price",
            "--paths",
            "1000",
            "--option",
            "put",
            "--antithetic",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("std error"))
        .stdout(predicate::str::contains("closed form"));
    quantmc()
        .args(["var", "--portfolio", PORTFOLIO, "--scenarios", "1000"])
        .assert()
        .success()
        .stdout(predicate::str::contains("parametric VaR"));
}

#[test]
fn info_lists_hardware_and_backends() {
    quantmc()
        .arg("info")
        .assert()
        .success()
        .stdout(predicate::str::contains("cpu"))
        .stdout(predicate::str::contains("cores"))
        .stdout(predicate::str::contains("simd"))
        .stdout(predicate::str::contains("gpu"))
        .stdout(predicate::str::contains("scalar"));
}

/// Each bad input exits 2 with an `Error:` line that names the problem.
#[test]
fn bad_input_exits_2_with_a_message() {
    let dir = std::env::temp_dir().join(format!("quantmc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, "{\"value\": ").unwrap();
    let asymmetric = dir.join("asymmetric.json");
    std::fs::write(
        &asymmetric,
        r#"{"value": 1e6, "assets": [{"name": "A", "weight": 0.5, "mu": 0, "sigma": 0.01},
            {"name": "B", "weight": 0.5, "mu": 0, "sigma": 0.01}], "correlation": [[1, 0.2], [0.3, 1]]}"#,
    )
    .unwrap();
    let malformed = malformed.to_str().unwrap();
    let asymmetric = asymmetric.to_str().unwrap();

    let cases: &[(&[&str], &str)] = &[
        (&["price", "--spot", "0"], "spot"),
        (&["price", "--spot", "-1"], "spot"),
        (&["price", "--spot", "nan"], "spot"),
        (&["price", "--strike", "0"], "strike"),
        (&["price", "--strike", "inf"], "strike"),
        (&["price", "--maturity", "0"], "maturity"),
        (&["price", "--vol", "0"], "vol"),
        (&["price", "--vol", "-0.2"], "vol"),
        (&["price", "--rate", "NaN"], "rate"),
        (&["price", "--dividend", "inf"], "dividend"),
        (&["price", "--paths", "0"], "paths"),
        (&["price", "--paths", "lots"], "paths"),
        (&["price", "--paths", "1.5"], "paths"),
        (&["price", "--paths", "-3"], "paths"),
        (&["price", "--paths", "1001", "--antithetic"], "even"),
        (
            &["price", "--style", "asian-arithmetic", "--steps", "0"],
            "steps",
        ),
        (
            &["price", "--steps", "1e10", "--style", "asian-geometric"],
            "steps",
        ),
        (&["price", "--option", "straddle"], "straddle"),
        (
            &["price", "--sampler", "rqmc", "--replicates", "1"],
            "replicates",
        ),
        (&["price", "--sampler", "sobol"], "sobol"),
        (&["price", "--style", "barrier"], "barrier"),
        (&["price", "--greeks-method", "fd"], "--greeks"),
        (
            &["price", "--greeks", "--greeks-method", "adjoint"],
            "adjoint",
        ),
        (
            &["price", "--style", "barrier", "--barrier", "120"],
            "barrier-kind",
        ),
        (
            &[
                "price",
                "--style",
                "barrier",
                "--barrier-kind",
                "up-and-out",
            ],
            "--barrier LEVEL",
        ),
        (
            &[
                "price",
                "--style",
                "barrier",
                "--barrier",
                "120",
                "--barrier-kind",
                "sideways",
            ],
            "sideways",
        ),
        (
            &[
                "price",
                "--style",
                "barrier",
                "--barrier",
                "120",
                "--barrier-kind",
                "up-and-in",
                "--monitoring",
                "weekly",
            ],
            "weekly",
        ),
        (
            &["price", "--barrier", "120", "--barrier-kind", "up-and-in"],
            "only a barrier option",
        ),
        (&["price", "--target-se", "0"], "target-se"),
        (&["price", "--target-rel-se", "-1e-3"], "target-rel-se"),
        (
            &[
                "price",
                "--target-se",
                "0.1",
                "--max-paths",
                "10",
                "--paths",
                "100",
            ],
            "max-paths",
        ),
        (&["price", "--max-paths", "1e6"], "--target"),
        (
            &["price", "--target-se", "0.1", "--target-rel-se", "0.1"],
            "cannot be used with",
        ),
        (
            &[
                "price",
                "--sampler",
                "rqmc",
                "--style",
                "asian-arithmetic",
                "--steps",
                "2000",
                "--paths",
                "16000",
            ],
            "steps",
        ),
        (&["price", "--style", "bermudan"], "bermudan"),
        (&["price", "--backend", "tpu"], "tpu"),
        (&["price", "--threads", "0"], "threads"),
        (&["price", "--spot"], "spot"),
        (&["price", "--bogus"], "bogus"),
        (&["var"], "portfolio"),
        (
            &["var", "--portfolio", "/nonexistent/p.json"],
            "cannot read portfolio file",
        ),
        (
            &["var", "--portfolio", malformed],
            "malformed portfolio file",
        ),
        (&["var", "--portfolio", asymmetric], "not symmetric"),
        (
            &["var", "--portfolio", PORTFOLIO, "--confidence", "1"],
            "confidence",
        ),
        (
            &["var", "--portfolio", PORTFOLIO, "--confidence", "0"],
            "confidence",
        ),
        (
            &["var", "--portfolio", PORTFOLIO, "--confidence", "abc"],
            "confidence",
        ),
        (
            &["var", "--portfolio", PORTFOLIO, "--scenarios", "0"],
            "scenarios",
        ),
        (
            &["var", "--portfolio", PORTFOLIO, "--horizon-days", "0"],
            "horizon_days",
        ),
        (
            &[
                "var",
                "--portfolio",
                PORTFOLIO,
                "--dist",
                "student-t",
                "--dof",
                "2",
            ],
            "dof",
        ),
        (
            &["var", "--portfolio", PORTFOLIO, "--dist", "cauchy"],
            "cauchy",
        ),
    ];
    for (args, needle) in cases {
        quantmc()
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*needle))
            .stderr(predicate::str::contains("panicked").not());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn threads_come_from_the_flag_else_rayon_num_threads() {
    let backend = |args: &[&str], env: Option<&str>| {
        let mut cmd = quantmc();
        cmd.args(["price", "--paths", "1000", "--backend", "rayon", "--json"])
            .args(args);
        match env {
            Some(n) => cmd.env("RAYON_NUM_THREADS", n),
            None => cmd.env_remove("RAYON_NUM_THREADS"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["backend"].as_str().unwrap().to_string()
    };
    assert!(backend(&["--threads", "5"], None).contains("5 threads"));
    assert!(backend(&[], Some("3")).contains("3 threads"));
    assert!(backend(&["--threads", "1"], Some("3")).contains("1 thread)"));
}

#[cfg(feature = "gpu")]
#[test]
fn gpu_refuses_a_software_adapter_unless_allowed() {
    use quantmc::backend::gpu::adapters;
    const ALLOW_SOFTWARE_ENV: &str = "QUANTMC_ALLOW_SOFTWARE_GPU";
    let adapters = adapters();
    if adapters.is_empty() || adapters.iter().any(|a| a.device_type != "Cpu") {
        eprintln!("SKIPPED: this test needs a machine whose only adapters are software ones");
        return;
    }
    let args = ["price", "--paths", "1000", "--backend", "gpu"];
    quantmc()
        .args(args)
        .env_remove(ALLOW_SOFTWARE_ENV)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("software"))
        .stderr(predicate::str::contains(ALLOW_SOFTWARE_ENV));
    quantmc()
        .args(args)
        .env(ALLOW_SOFTWARE_ENV, "1")
        .assert()
        .success()
        .stdout(predicate::str::contains("gpu ("));
}

#[cfg(feature = "gpu")]
#[test]
fn gpu_without_any_adapter_is_a_clear_error_not_a_hang() {
    quantmc()
        .args(["price", "--paths", "1000", "--backend", "gpu"])
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("QUANTMC_ALLOW_SOFTWARE_GPU", "1")
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Error: backend 'gpu'"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn results_say_which_tier_auto_chose_and_why() {
    let v = json_of(&["price", "--paths", "1000"]);
    let selection = v["selection"].as_str().unwrap();
    assert!(selection.starts_with("simd:"), "{selection}");
    let v = json_of(&["price", "--paths", "1000", "--backend", "rayon"]);
    assert_eq!(v["selection"], "requested");
}

#[test]
fn a_corrupt_calibration_file_warns_and_falls_back() {
    let path =
        std::env::temp_dir().join(format!("quantmc-corrupt-cal-{}.json", std::process::id()));
    std::fs::write(&path, "not json").unwrap();
    quantmc()
        .args(["price", "--paths", "1000"])
        .env("QUANTMC_CALIBRATION", &path)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: ignoring the calibration file",
        ))
        .stderr(predicate::str::contains("corrupt"));
    std::fs::remove_file(&path).ok();
}

#[test]
fn calibrate_writes_the_file_that_info_and_auto_then_read() {
    let path = std::env::temp_dir().join(format!("quantmc-cal-{}/cal.json", std::process::id()));
    // Calibration refuses to save timings taken on a busy machine, and the
    // other tests of this binary run beside it: a few tries.
    let calibrate = || {
        quantmc()
            .args(["calibrate", "--json"])
            .env("QUANTMC_CALIBRATION", &path)
            .output()
            .unwrap()
    };
    let mut out = calibrate();
    for _ in 0..4 {
        if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("busy") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
        out = calibrate();
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["timings"].as_array().unwrap().len() >= 8);
    assert!(path.exists());
    quantmc()
        .arg("info")
        .env("QUANTMC_CALIBRATION", &path)
        .assert()
        .success()
        .stdout(predicate::str::contains(path.to_str().unwrap()))
        .stdout(predicate::str::contains("auto would pick"))
        .stderr(predicate::str::contains("warning").not());
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[test]
fn json_results_carry_the_tier_for_scripts() {
    for (command, backend) in [("price", "scalar"), ("price", "simd"), ("var", "rayon")] {
        let mut args = vec![command, "--backend", backend, "--json", "--seed", "3"];
        if command == "price" {
            args.extend(["--paths", "1000"]);
        } else {
            args.extend([
                "--portfolio",
                "examples/portfolio.json",
                "--scenarios",
                "1000",
            ]);
        }
        let out = quantmc()
            .args(&args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let json: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["tier"], backend);
        assert_eq!(json["warnings"], serde_json::json!([]));
    }
}

#[test]
fn a_closed_pipe_on_stdout_ends_quietly() {
    // `quantmc info | head -c 1`: the reader leaves early; no error, no panic.
    let binary = env!("CARGO_BIN_EXE_quantmc");
    let mut child = std::process::Command::new(binary)
        .arg("info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(!stderr.contains("Error"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn hostile_command_lines_end_with_exit_2_naming_the_field() {
    let portfolio = "examples/portfolio.json";
    for (args, field) in [
        (vec!["price", "--spot", "1e308"], "spot"),
        (vec!["price", "--rate=-1e3"], "rate"),
        (vec!["price", "--paths", "1"], "paths"),
        (
            vec!["price", "--threads", "5000", "--backend", "rayon"],
            "threads",
        ),
        (vec!["var", "--portfolio", portfolio, "--dof", "7"], "dof"),
        (
            vec!["var", "--portfolio", "/dev/zero"],
            "not a regular file",
        ),
        (
            vec![
                "var",
                "--portfolio",
                portfolio,
                "--confidence",
                "0.95",
                "--confidence",
                "0.95",
            ],
            "given twice",
        ),
    ] {
        quantmc()
            .args(&args)
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field))
            .stderr(predicate::str::contains("panicked").not());
    }
    quantmc()
        .args(["price", "--backend", "rayon", "--paths", "1000"])
        .env("RAYON_NUM_THREADS", "5000")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("threads = 5000"));
}

#[test]
fn negative_numbers_may_follow_their_flag_as_separate_arguments() {
    let json = json_of(&[
        "price",
        "--rate",
        "-1e-3",
        "--dividend",
        "-0.01",
        "--paths",
        "1000",
    ]);
    assert!(json["price"].as_f64().unwrap().is_finite());
}

#[test]
fn a_huge_student_t_dof_finishes_and_matches_the_normal_limit() {
    let out = quantmc()
        .args([
            "var",
            "--portfolio",
            "examples/portfolio.json",
            "--scenarios",
            "1000",
        ])
        .args(["--dist", "student-t", "--dof", "2e7", "--json"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let t: Value = serde_json::from_slice(&out).unwrap();
    let normal = json_of(&[
        "var",
        "--portfolio",
        "examples/portfolio.json",
        "--scenarios",
        "1000",
    ]);
    let (a, b) = (
        t["parametric_es"]["0.99"].as_f64().unwrap(),
        normal["parametric_es"]["0.99"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-5 * b, "{a} vs {b}");
}

#[test]
fn a_portfolio_as_positional_arrays_is_refused() {
    let dir = std::env::temp_dir().join(format!("quantmc-cli-arrays-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("arrays.json");
    std::fs::write(&file, r#"[1000000, [["A", 1.0, 0.0, 0.02]], [[1.0]]]"#).unwrap();
    quantmc()
        .args(["var", "--portfolio", file.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("JSON object"));
    std::fs::write(
        &file,
        r#"{"value": 1000000, "assets": [["A", 1.0, 0.0, 0.02]], "correlation": [[1.0]]}"#,
    )
    .unwrap();
    quantmc()
        .args(["var", "--portfolio", file.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("assets[0]"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn running_out_of_memory_is_an_error_not_an_abort() {
    // Under a 300 MB address-space limit 6e7 scenarios (480 MB, below the
    // 2^26 past which the CPU tiers stream instead of storing) cannot be
    // held.
    let binary = env!("CARGO_BIN_EXE_quantmc");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 300000 && exec {binary} var --portfolio examples/portfolio.json --scenarios 6e7 --backend simd"
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot hold"), "{stderr}");
}

/// `QUANTMC_SIMD` forces an instruction set the CPU runs (the result's
/// backend names it, and the price is the default set's to rounding); a set
/// the CPU lacks, or an unknown name, exits 2 naming it.
#[test]
fn quantmc_simd_forces_the_instruction_set_and_rejects_bad_ones() {
    use quantmc::hardware::Isa;
    let args = ["price", "--paths", "100000", "--backend", "simd", "--json"];
    let run = |isa: &str| {
        let output = quantmc()
            .env("QUANTMC_SIMD", isa)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{isa}: {output:?}");
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let best = json_of(&args[..5]);
    for isa in Isa::supported() {
        let forced = run(isa.name());
        let backend = forced["backend"].as_str().unwrap();
        assert!(backend.contains(&format!("({isa}, f64x8")), "{backend}");
        let (a, b) = (
            forced["price"].as_f64().unwrap(),
            best["price"].as_f64().unwrap(),
        );
        assert!((a - b).abs() <= 1e-12 * b.abs(), "{isa}: {a} vs {b}");
    }
    let info = quantmc().arg("info").output().unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    let line = info.lines().find(|l| l.starts_with("simd")).unwrap();
    assert!(
        line.contains(Isa::best().name()) && line.contains("runs:"),
        "{line}"
    );

    let missing = [Isa::Neon, Isa::Avx512, Isa::Avx2]
        .into_iter()
        .find(|isa| !isa.is_supported())
        .unwrap();
    quantmc()
        .env("QUANTMC_SIMD", missing.name())
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(missing.name()).and(predicate::str::contains("simd")));
    quantmc()
        .env("QUANTMC_SIMD", "avx9")
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("QUANTMC_SIMD").and(predicate::str::contains("avx9")));
}

/// `--executor mpi` in a build without the `mpi` feature: exit 2, naming
/// the feature (tests/mpi.rs runs it under mpirun in a build with it).
#[cfg(not(feature = "mpi"))]
#[test]
fn the_mpi_executor_without_the_feature_exits_2_naming_it() {
    quantmc()
        .args(["price", "--paths", "1000", "--executor", "mpi"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--features mpi"));
}

/// `--gpus` that cannot name GPUs: exit 2 naming the option, before any
/// device is opened.
#[test]
fn bad_gpu_lists_exit_2_naming_gpus() {
    for (args, why) in [
        (&["--backend", "gpu", "--gpus", "0,x"][..], "`x`"),
        (&["--backend", "gpu", "--gpus", ""][..], "``"),
        (&["--backend", "simd", "--gpus", "0"][..], "simd"),
        (
            &["--backend", "gpu", "--gpus", "local-rank"][..],
            "--executor mpi",
        ),
        (
            &[
                "--backend",
                "gpu",
                "--gpus",
                "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
            ][..],
            "at most 16",
        ),
    ] {
        quantmc()
            .args(["price", "--paths", "1000"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("gpus").and(predicate::str::contains(why)));
    }
}

#[test]
fn models_price_from_their_flags_and_say_so() {
    let heston: Vec<&str> = ["price"]
        .into_iter()
        .chain(HESTON_FLAGS)
        .chain(["--steps", "32", "--paths", "100000", "--backend", "simd"])
        .collect();
    let v = json_of(&heston);
    assert_eq!(v["model"]["name"], "heston");
    assert_eq!(v["model"]["scheme"], "qe");
    let (price, se) = (
        v["price"].as_f64().unwrap(),
        v["std_error"].as_f64().unwrap(),
    );
    let exact = v["closed_form"].as_f64().unwrap();
    assert!(
        (price - exact).abs() < 4.0 * se,
        "{price} +- {se} against {exact}"
    );
    // The table names the model and its scheme.
    quantmc()
        .args(&heston)
        .args(["--scheme", "euler"])
        .assert()
        .success()
        .stdout(predicate::str::contains("heston (euler; v0 0.04"));
    let v = json_of(&[
        "price",
        "--model",
        "bates",
        "--v0",
        "0.04",
        "--kappa",
        "1.5",
        "--theta",
        "0.05",
        "--xi",
        "0.6",
        "--rho",
        "-0.7",
        "--jump-intensity",
        "0.5",
        "--jump-mean",
        "-0.1",
        "--jump-vol",
        "0.15",
        "--style",
        "digital",
        "--option",
        "put",
        "--paths",
        "20000",
        "--steps",
        "16",
    ]);
    assert_eq!(v["model"]["jump_intensity"], 0.5);
    assert!(v["closed_form"].as_f64().is_some());
    let v = json_of(&[
        "price",
        "--model",
        "merton",
        "--vol",
        "0.2",
        "--jump-intensity",
        "0.5",
        "--jump-mean",
        "-0.1",
        "--jump-vol",
        "0.15",
        "--style",
        "asian-arithmetic",
        "--control-variate",
        "--paths",
        "20000",
    ]);
    assert_eq!(v["model"]["name"], "merton");
    assert!(v["closed_form"].is_null());
    assert!(v["variance_reduction"].as_f64().unwrap() > 1.0);
}

#[test]
fn model_flags_that_do_not_fit_exit_2_naming_the_flag() {
    let heston = [
        "--model", "heston", "--v0", "0.04", "--kappa", "1.5", "--theta", "0.05", "--xi", "0.6",
        "--rho", "-0.7",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--v0", "0.04"], "v0"),
        (vec!["--jump-intensity", "1"], "jump-intensity"),
        (vec!["--scheme", "euler"], "scheme"),
        (vec!["--model", "heston", "--v0", "0.04"], "kappa"),
        ([&heston[..], &["--vol", "0.3"]].concat(), "vol"),
        (
            vec![
                "--model", "heston", "--v0", "0.04", "--kappa", "1.5", "--theta", "0.05", "--xi",
                "0.6", "--rho", "1.5",
            ],
            "rho",
        ),
        (
            vec![
                "--model",
                "merton",
                "--jump-intensity",
                "1",
                "--jump-mean",
                "0",
            ],
            "jump-vol",
        ),
        (
            [&heston[..], &["--greeks", "--greeks-method", "pathwise"]].concat(),
            "greeks-method",
        ),
        (
            vec![
                "--model",
                "merton",
                "--jump-intensity",
                "1",
                "--jump-mean",
                "0",
                "--jump-vol",
                "0.1",
                "--style",
                "barrier",
                "--barrier",
                "130",
                "--barrier-kind",
                "up-and-out",
                "--monitoring",
                "continuous",
            ],
            "monitoring",
        ),
        (vec!["--model", "sabr"], "model"),
    ];
    for (flags, field) in cases {
        quantmc()
            .arg("price")
            .args(&flags)
            .args(["--paths", "1000"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field));
    }
}

#[test]
fn a_strike_strip_prints_every_quote_and_names_bad_strikes() {
    let strip: Vec<&str> = ["price"]
        .into_iter()
        .chain(HESTON_FLAGS)
        .chain(["--steps", "16", "--paths", "20000", "--antithetic"])
        .chain(["--strikes", "80,100,120", "--maturities", "0.5,1"])
        .chain(["--implied-vol", "--backend", "rayon"])
        .collect();
    let v = json_of(&strip);
    let quotes = v["strikes"].as_array().unwrap();
    assert_eq!(quotes.len(), 6);
    for quote in quotes {
        let vol = quote["implied_vol"].as_f64().unwrap();
        let se = quote["implied_vol_std_error"].as_f64().unwrap();
        let reference = quote["closed_form_implied_vol"].as_f64().unwrap();
        assert!((vol - reference).abs() < 4.0 * se, "{quote}");
    }
    assert_eq!(quotes[4]["strike"], 100.0);
    assert_eq!(quotes[4]["maturity"], 1.0);
    assert_eq!(v["paths"], 20000);
    quantmc()
        .args(&strip)
        .assert()
        .success()
        .stdout(predicate::str::contains("implied vol").and(predicate::str::contains("heston")));
    // --strikes replaces --strike; a negative strike, implied volatility of
    // a product other than the European, and a target are refused, exit 2.
    quantmc()
        .args(["price", "--strike", "90", "--strikes", "80,100"])
        .assert()
        .code(2);
    for (args, field) in [
        (vec!["--strikes", "80,-100"], "strikes[1]"),
        (
            vec![
                "--strikes",
                "80",
                "--implied-vol",
                "--style",
                "asian-arithmetic",
            ],
            "implied_vol",
        ),
        (vec!["--strikes", "80", "--target-se", "0.01"], "target"),
        (vec!["--maturities", "1,nan"], "maturities[1]"),
    ] {
        quantmc()
            .args(["price", "--paths", "1000"])
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field));
    }
}

#[test]
fn a_bermudan_best_of_on_the_assets_file_prints_its_policy_and_bound() {
    let base = [
        "price",
        "--assets",
        "examples/basket.json",
        "--style",
        "best-of",
        "--strike",
        "120",
        "--exercise",
        "bermudan",
        "--exercise-dates",
        "4",
        "--paths",
        "20000",
        "--backend",
        "rayon",
    ];
    let out = quantmc()
        .args(base)
        .args(["--upper-bound", "32", "--upper-bound-paths", "16", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exercise"], "bermudan");
    assert_eq!(v["policy"]["dates"], 4);
    // Four assets: 1 + 3 of the level, 3 other assets, 2 cross terms.
    assert_eq!(
        v["policy"]["coefficients"][0].as_array().unwrap().len(),
        9,
        "{v}"
    );
    // Each asset's log return at each date, a cash flow and its date.
    assert_eq!(v["policy"]["calibration_bytes"], 16384 * (4 * 4 * 8 + 12));
    assert!(v["closed_form"].is_null());
    let price = v["price"].as_f64().unwrap();
    assert!(price > 0.0);
    assert!(v["upper_bound"]["value"].as_f64().unwrap() >= price);
    // The table, and the flags early exercise of a basket cannot take.
    quantmc()
        .args(base)
        .assert()
        .success()
        .stdout(predicate::str::contains("bermudan (4 dates)"))
        .stdout(predicate::str::contains("best-of's level"));
    for (flag, field) in [
        (["--sampler", "rqmc"], "sampler"),
        (["--plot", "x.svg"], "plot"),
        (["--steps", "6"], "exercise-dates"),
    ] {
        quantmc()
            .args(base)
            .args(flag)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(field));
    }
}

#[test]
fn an_american_put_prints_its_lattice_and_policy_and_bad_exercise_exits_2() {
    let base = [
        "price",
        "--exercise",
        "american",
        "--option",
        "put",
        "--spot",
        "36",
        "--strike",
        "40",
        "--rate",
        "0.06",
        "--maturity",
        "1",
        "--paths",
        "20000",
        "--backend",
        "rayon",
    ];
    let out = quantmc().args(base).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exercise"], "american");
    assert_eq!(v["policy"]["dates"], 50);
    assert_eq!(v["policy"]["basis"], "laguerre");
    assert_eq!(v["policy"]["coefficients"].as_array().unwrap().len(), 50);
    // The calibration's memory: 16,384 paths (the least default) of 50
    // prices, a cash flow and its date.
    assert_eq!(v["policy"]["calibration_paths"], 16384);
    assert_eq!(v["policy"]["calibration_bytes"], 16384 * (50 * 8 + 12));
    let (price, se) = (
        v["price"].as_f64().unwrap(),
        v["std_error"].as_f64().unwrap(),
    );
    let lattice = v["closed_form"].as_f64().unwrap();
    assert!(
        price < lattice + 3.0 * se && price > 0.99 * lattice,
        "{price} {lattice}"
    );
    assert!((v["american"].as_f64().unwrap() - 4.4866).abs() < 1e-3);
    assert!(v["upper_bound"].is_null(), "{v}");
    // The duality bound: its object in JSON, two rows in the table.
    let bounded = ["--upper-bound", "64", "--upper-bound-paths", "16", "--json"];
    let out = quantmc().args(base).args(bounded).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bound = &v["upper_bound"];
    assert_eq!(bound["outer_paths"], 16);
    assert_eq!(bound["inner_paths"], 64);
    assert_eq!(v["price"], price);
    assert!(bound["value"].as_f64().unwrap() >= price);
    assert!(bound["std_error"].as_f64().unwrap() > se);
    assert_eq!(bound["bracket95"].as_array().unwrap().len(), 2);
    quantmc()
        .args(base)
        .args(&bounded[..4])
        .assert()
        .success()
        .stdout(predicate::str::contains("upper bound"))
        .stdout(predicate::str::contains("95% bracket"));
    quantmc()
        .args(base)
        .assert()
        .success()
        .stdout(predicate::str::contains("lattice"))
        .stdout(predicate::str::contains("american limit"))
        .stdout(predicate::str::contains("16384 paths, 6.4 MiB stored"))
        .stdout(predicate::str::contains(
            "longstaff-schwartz (laguerre 3, 50 dates",
        ));
    let cases: &[(&[&str], &str)] = &[
        (&["--exercise-dates", "3"], "exercise-dates"),
        (&["--style", "asian-arithmetic"], "style"),
        (&["--sampler", "rqmc"], "sampler"),
        (&["--basis-degree", "0"], "basis-degree"),
        (&["--basis", "chebyshev"], "chebyshev"),
        (&["--plot", "x.svg"], "plot"),
        (&["--strikes", "36,40"], "strikes"),
        (&["--calibration-paths", "3"], "calibration-paths"),
        (&["--steps", "0"], "steps"),
        (&["--upper-bound", "0"], "upper-bound"),
        (
            &["--upper-bound", "8", "--upper-bound-paths", "1"],
            "upper-bound-paths",
        ),
        (&["--upper-bound-paths", "8"], "--upper-bound"),
    ];
    for (extra, needle) in cases {
        quantmc()
            .args(base)
            .args(*extra)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*needle))
            .stderr(predicate::str::contains("panicked").not());
    }
    // Under another model: no lattice row, the terminal price as the
    // control; early exercise's Greeks are Black-Scholes' alone.
    let heston = [
        "--model",
        "heston",
        "--v0",
        "0.04",
        "--kappa",
        "1.5",
        "--theta",
        "0.04",
        "--xi",
        "0.5",
        "--rho",
        "-0.7",
        "--steps",
        "10",
        "--control-variate",
    ];
    quantmc()
        .args(base)
        .args(heston)
        .assert()
        .success()
        .stdout(predicate::str::contains("lattice").not())
        .stdout(predicate::str::contains("american limit").not())
        .stdout(predicate::str::contains("control variate (terminal price)"))
        .stdout(predicate::str::contains("american (10 dates)"));
    quantmc()
        .args(base)
        .args(heston)
        .arg("--greeks")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("greeks"))
        .stderr(predicate::str::contains("bs model"));
    quantmc()
        .args([
            "price",
            "--exercise",
            "bermudan",
            "--exercise-dates",
            "4",
            "--steps",
            "10",
            "--paths",
            "1000",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must divide the 10 time steps"));
    quantmc()
        .args([
            "price",
            "--assets",
            "examples/basket.json",
            "--style",
            "basket",
            "--exercise",
            "american",
            "--greeks",
            "--paths",
            "1000",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "early exercise of a basket has no Greeks",
        ));
}

/// Runs `quantmc` with `args` and checks it exits 2 naming `needle`, within
/// 60 s and without a panic.
fn assert_refused<I, S>(args: I, needle: &str)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    quantmc()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(needle))
        .stderr(predicate::str::contains("panicked").not());
}

/// A fresh directory under the system's temporary one for test `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quantmc-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn fifos_as_input_files_are_refused_without_blocking() {
    let dir = scratch("fifo");
    let fifo = dir.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|status| status.success()) {
        return;
    }
    let fifo = fifo.to_str().unwrap();
    for args in [
        vec!["var", "--portfolio", fifo],
        vec!["var", "--portfolio", PORTFOLIO, "--historical", fifo],
        vec!["fit", "--prices", fifo, "--weights", "equal"],
        vec!["price", "--assets", fifo, "--style", "basket"],
    ] {
        assert_refused(&args, "not a regular file");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn outputs_never_replace_their_runs_inputs_and_are_written_whole() {
    let dir = scratch("outputs");
    let prices = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prices.csv");
    let book = dir.join("book.json");
    std::fs::copy(PORTFOLIO, &book).unwrap();
    let before = std::fs::read(&book).unwrap();
    let book_path = book.to_str().unwrap();
    // An in-place refit, through the same path or a link to it.
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&book, &link).unwrap();
    for output in [book_path, link.to_str().unwrap()] {
        quantmc()
            .args(["fit", "--prices", prices, "--portfolio", book_path])
            .args(["--output", output])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("output"))
            .stderr(predicate::str::contains("--portfolio"));
    }
    assert_eq!(std::fs::read(&book).unwrap(), before);
    let csv = dir.join("prices.csv");
    std::fs::copy(prices, &csv).unwrap();
    let csv = csv.to_str().unwrap();
    assert_refused(
        [
            "fit",
            "--prices",
            csv,
            "--weights",
            "equal",
            "--output",
            csv,
        ],
        "--prices",
    );
    assert_refused(
        ["var", "--portfolio", book_path, "--plot", book_path],
        "plot",
    );
    assert_eq!(std::fs::read(&book).unwrap(), before);
    // A fit written through a symlink replaces the link, not its target,
    // and leaves no temporary file behind.
    let target = dir.join("target.json");
    std::fs::write(&target, "keep").unwrap();
    let out_link = dir.join("out.json");
    std::os::unix::fs::symlink(&target, &out_link).unwrap();
    quantmc()
        .args(["fit", "--prices", prices, "--weights", "equal", "--output"])
        .arg(&out_link)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    let fitted: Value = serde_json::from_str(&std::fs::read_to_string(&out_link).unwrap()).unwrap();
    assert!(fitted["assets"].is_array());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A picture that cannot be written still leaves the result printed.
    let unwritable = dir.join("book.json/picture.svg");
    quantmc()
        .args([
            "var",
            "--portfolio",
            PORTFOLIO,
            "--scenarios",
            "2000",
            "--plot",
        ])
        .arg(&unwritable)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("confidence"))
        .stderr(predicate::str::contains("picture.svg"));
    quantmc()
        .args(["price", "--paths", "2000", "--plot"])
        .arg(&unwritable)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("price"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_full_stderr_never_panics_or_loses_the_result() {
    let full = || std::fs::File::create("/dev/full").ok();
    if full().is_none() {
        return;
    }
    let run = |args: &[&str]| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("quantmc"))
            .args(args)
            .stderr(full().unwrap())
            .output()
            .unwrap()
    };
    // A warning (the option is knocked out at the start) on a full stderr.
    let out = run(&[
        "price",
        "--paths",
        "1000",
        "--style",
        "barrier",
        "--barrier",
        "100",
        "--barrier-kind",
        "up-and-out",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("price"));
    // An error on a full stderr keeps its exit code.
    assert_eq!(run(&["price", "--vol=-1"]).status.code(), Some(2));
}

#[test]
fn repeated_keys_and_names_in_input_files_are_errors_naming_them() {
    let dir = scratch("repeated");
    let cases = [
        (
            r#"{"value": 1e6, "value": 5, "assets": [{"name": "A", "weight": 1, "mu": 0, "sigma": 0.01}], "correlation": [[1]]}"#,
            "duplicate key \"value\"",
        ),
        (
            r#"{"value": 1e6, "assets": [{"name": "A", "weight": 1, "weight": 2, "mu": 0, "sigma": 0.01}], "correlation": [[1]]}"#,
            "duplicate key \"assets[0].weight\"",
        ),
        (
            r#"{"value": 1e6, "assets": [{"name": "A", "weight": 0.5, "mu": 0, "sigma": 0.01}, {"name": "A", "weight": 0.5, "mu": 0, "sigma": 0.02}], "correlation": [[1, 0], [0, 1]]}"#,
            "assets[1].name",
        ),
    ];
    for (i, (text, needle)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("book{i}.json"));
        std::fs::write(&path, text).unwrap();
        assert_refused(["var", "--portfolio", path.to_str().unwrap()], needle);
    }
    let assets = dir.join("assets.json");
    std::fs::write(
        &assets,
        r#"{"assets": [{"name": "A", "spot": 100, "vol": 0.2, "vol": 0.3}], "correlation": [[1]]}"#,
    )
    .unwrap();
    assert_refused(
        [
            "price",
            "--style",
            "basket",
            "--assets",
            assets.to_str().unwrap(),
        ],
        "duplicate key \"assets[0].vol\"",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn control_characters_in_names_are_escaped_in_tables() {
    let dir = scratch("escape");
    let book = dir.join("book.json");
    std::fs::write(
        &book,
        r#"{"value": 1e6, "assets": [{"name": "A\u001b]0;pwned\u0007\u001b[2J", "weight": 1, "mu": 0, "sigma": 0.01}], "correlation": [[1]]}"#,
    )
    .unwrap();
    let out = quantmc()
        .args([
            "var",
            "--scenarios",
            "1000",
            "--contributions",
            "--portfolio",
        ])
        .arg(&book)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains(r"A\u{1b}]0;pwned\u{7}\u{1b}[2J"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn books_and_price_files_past_the_supported_width_are_refused_at_once() {
    let dir = scratch("wide");
    let k = 2001;
    let assets: Vec<String> = (0..k)
        .map(|i| format!(r#"{{"name": "A{i}", "weight": 0.0005, "mu": 0, "sigma": 0.01}}"#))
        .collect();
    let book = dir.join("wide.json");
    std::fs::write(
        &book,
        format!(
            r#"{{"value": 1e6, "assets": [{}], "correlation": [[1]]}}"#,
            assets.join(",")
        ),
    )
    .unwrap();
    assert_refused(
        ["var", "--portfolio", book.to_str().unwrap()],
        "more than 2000",
    );
    let names: Vec<String> = (0..k).map(|i| format!("A{i}")).collect();
    let row = |day: u32| format!("2025-01-0{day},{}", vec!["1"; k].join(","));
    let csv = dir.join("wide.csv");
    std::fs::write(
        &csv,
        format!(
            "date,{}\n{}\n{}\n{}\n",
            names.join(","),
            row(2),
            row(3),
            row(6)
        ),
    )
    .unwrap();
    assert_refused(
        [
            "fit",
            "--weights",
            "equal",
            "--prices",
            csv.to_str().unwrap(),
        ],
        "at most 2000",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn small_contradictions_and_degenerate_inputs_are_refused_naming_the_field() {
    let dir = scratch("smaller");
    let csv = dir.join("prices.csv");
    std::fs::write(
        &csv,
        "date,A,B\n2025-02-27,1,2\n2025-02-28,1.1,2.1\n2025-02-30,1.2,2.0\n2025-03-03,1.1,2.2\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let prices = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prices.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["var", "--portfolio", PORTFOLIO, "--horizon-days", "1e300"],
            "horizon_days",
        ),
        (
            vec!["var", "--portfolio", PORTFOLIO, "--confidence", "1e-300"],
            "confidence = 1e-300",
        ),
        (
            vec!["var", "--portfolio", PORTFOLIO, "--scenarios", "1"],
            "scenarios",
        ),
        (
            vec!["fit", "--prices", csv, "--weights", "equal"],
            "2025-02-30",
        ),
        (
            vec![
                "fit",
                "--prices",
                prices,
                "--weights",
                "equal",
                "--ewma",
                "1e-300",
            ],
            "ewma",
        ),
        (
            vec![
                "var",
                "--portfolio",
                PORTFOLIO,
                "--historical",
                prices,
                "--filtered-ewma",
                "1e-300",
            ],
            "filtered-ewma",
        ),
        (
            vec!["price", "--style", "asian-arithmetic", "--rebate", "5"],
            "rebate",
        ),
        (
            vec!["price", "--style", "digital", "--monitoring", "continuous"],
            "monitoring",
        ),
        (vec!["price", "--replicates", "8"], "replicates"),
        (vec!["price", "--paths", "1e16"], "2^52"),
    ];
    for (args, needle) in cases {
        assert_refused(&args, needle);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn warnings_say_what_happened_and_closed_forms_are_never_nan() {
    // A knocked-out option with no control variate: no word of one.
    quantmc()
        .args(["price", "--paths", "1000", "--style", "barrier"])
        .args(["--barrier", "100", "--barrier-kind", "down-and-out"])
        .assert()
        .success()
        .stderr(predicate::str::contains("knocked out"))
        .stderr(predicate::str::contains("control variate").not());
    // A continuous barrier whose formula overflows: no NaN, a reason.
    let json = json_of(&[
        "price",
        "--style",
        "barrier",
        "--barrier",
        "130",
        "--barrier-kind",
        "up-and-out",
        "--monitoring",
        "continuous",
        "--vol",
        "0.006",
        "--paths",
        "2000",
    ]);
    assert!(json["closed_form"].is_null(), "{json}");
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("no closed form"), "{warnings}");
    // Black-Scholes where the variance underflows: the limit, not NaN.
    let json = json_of(&["price", "--vol", "1e-200", "--rate", "0", "--paths", "1000"]);
    let limit = json["closed_form"].as_f64().expect("a closed form");
    assert!(limit.abs() < 1e-9, "{json}");
    // Greeks that cannot be resolved are an error naming the inputs.
    quantmc()
        .args(["price", "--paths", "1000", "--greeks", "--vol", "1e-300"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gamma"))
        .stderr(predicate::str::contains("vol = 1e-300"));
}
