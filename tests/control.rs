//! Progress and cancellation: a cancelled run ends with `Error::Cancelled`
//! on every CPU tier (the GPU's in tests/gpu.rs), its progress counts
//! samples, and Ctrl-C on the CLI exits 130. The jobs here would take hours
//! if cancellation failed; the bounds on waiting are hang guards, not timings.

use std::time::{Duration, Instant};

use quantmc::{
    Backend, Confidence, Control, Error, Portfolio, PricingJob, ReturnDistribution, RunOptions,
    VarJob,
};

mod common;

/// Long enough that only cancellation ends it in a test's time.
fn huge_price() -> PricingJob {
    PricingJob {
        paths: 1 << 50,
        ..common::pricing_job(
            quantmc::OptionKind::Call,
            quantmc::Style::AsianArithmetic,
            64,
            2,
            false,
        )
    }
}

fn var_job(scenarios: u64) -> VarJob {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        scenarios,
        confidences: vec![Confidence::new(0.99)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::StudentT { dof: 5.0 },
        seed: 3,
    }
}

/// Runs `work` on a thread, cancels it once it has made progress, and
/// returns its result and how long it took to end after the cancel.
fn cancel_midway<T: Send>(work: impl FnOnce(&Control) -> T + Send) -> (T, Duration) {
    let control = Control::new();
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| work(&control));
        let start = Instant::now();
        while control.progress().done == 0 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let progress = control.progress();
        assert!(
            progress.done > 0 && progress.total >= progress.done,
            "{progress:?}"
        );
        let cancelled_at = Instant::now();
        control.cancel();
        let result = handle.join().unwrap();
        (result, cancelled_at.elapsed())
    })
}

fn tiers() -> [RunOptions; 4] {
    [
        Backend::Scalar.into(),
        Backend::Simd.into(),
        RunOptions {
            backend: Backend::Rayon,
            threads: Some(2),
            ..Default::default()
        },
        RunOptions {
            backend: Backend::Rayon,
            threads: Some(1),
            ..Default::default()
        },
    ]
}

#[test]
fn a_cancelled_pricing_run_ends_with_cancelled_on_every_cpu_tier() {
    let job = huge_price();
    for options in tiers() {
        let (result, after) = cancel_midway(|control| quantmc::price_with(&job, options, control));
        assert!(
            matches!(result, Err(Error::Cancelled)),
            "{options:?}: {result:?}"
        );
        assert!(after < Duration::from_secs(30), "{options:?}: hung");
        println!(
            "{:?}: ended {:.3} s after the cancel",
            options.backend,
            after.as_secs_f64()
        );
    }
}

#[test]
fn a_cancelled_var_run_ends_with_cancelled_stored_or_streamed() {
    // Stored below 2^26 scenarios, streamed past it.
    for scenarios in [(1 << 26) - 1, 1 << 40] {
        let job = var_job(scenarios);
        for options in tiers().into_iter().skip(1) {
            let (result, after) =
                cancel_midway(|control| quantmc::var_with(&job, options, control));
            assert!(
                matches!(result, Err(Error::Cancelled)),
                "{options:?}: {result:?}"
            );
            assert!(after < Duration::from_secs(30), "{options:?}: hung");
        }
    }
}

#[test]
fn a_run_cancelled_before_it_starts_does_no_work_and_a_finished_one_counts_every_sample() {
    let control = Control::new();
    control.cancel();
    let job = huge_price();
    assert!(matches!(
        quantmc::price_with(&job, Backend::Simd, &control),
        Err(Error::Cancelled)
    ));
    // A run to the end: every path counted once, the same figures as without
    // a control.
    let job = PricingJob {
        paths: 100_001,
        ..huge_price()
    };
    let control = Control::new();
    let watched = quantmc::price_with(&job, Backend::Rayon, &control).unwrap();
    let plain = quantmc::price(&job, Backend::Rayon).unwrap();
    assert_eq!(watched.price.to_bits(), plain.price.to_bits());
    assert_eq!(
        control.progress(),
        quantmc::Progress {
            done: 100_001,
            total: 100_001
        }
    );
    let job = var_job(70_000);
    let control = Control::new();
    quantmc::var_with(&job, Backend::Simd, &control).unwrap();
    assert_eq!(control.progress().done, 70_000);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_cli_with_exit_130() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let commands: [&[&str]; 4] = [
        &["price", "--paths", "1e15", "--backend", "rayon"],
        // One chunk of 2^14 paths of 2^20 steps takes minutes on the scalar
        // tier: Ctrl-C must not wait for it.
        &[
            "price",
            "--paths",
            "1e6",
            "--steps",
            "1048576",
            "--style",
            "asian-arithmetic",
            "--backend",
            "scalar",
        ],
        &[
            "price",
            "--paths",
            "1e15",
            "--backend",
            "simd",
            "--style",
            "asian-arithmetic",
        ],
        &[
            "var",
            "--portfolio",
            path,
            "--scenarios",
            "1e14",
            "--backend",
            "rayon",
        ],
    ];
    for args in commands {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quantmc"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let status = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        let code = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if start.elapsed() > Duration::from_secs(5) {
                child.kill().unwrap();
                panic!("{args:?}: still running 5 s after Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code, Some(130), "{args:?}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        // stderr is a pipe here: no progress bar.
        assert!(!stderr.contains("samples  eta"), "{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn the_progress_bar_shows_on_a_terminal_after_a_second_unless_quiet() {
    // `script` runs the command on a pseudo-terminal (util-linux); without
    // it this check cannot be made here.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no `script` command: the terminal case is not checked");
        return;
    }
    let binary = env!("CARGO_BIN_EXE_quantmc");
    let run = |extra: &str| {
        let output = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{binary} price --paths 1.2e9 --backend rayon {extra}"),
                "/dev/null",
            ])
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shown = run("");
    assert!(shown.contains("samples  eta"), "{shown}");
    assert!(shown.contains("price"), "the result still prints: {shown}");
    let quiet = run("--quiet");
    assert!(!quiet.contains("samples  eta"), "{quiet}");
    let json = run("--json");
    assert!(!json.contains("samples  eta"), "{json}");
}
