//! `quantmc price --executor mpi` and `quantmc var --executor mpi` under a
//! real `mpirun` (Open MPI): the result printed by rank 0 is the one-process
//! result bit for bit, for 1 to 5
//! ranks; bad input exits 2 on every rank without hanging. Built only with
//! the `mpi` feature (`.ci/run` installs Open MPI and runs these).
#![cfg(feature = "mpi")]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

const QUANTMC: &str = env!("CARGO_BIN_EXE_quantmc");

/// Runs `command`, killing it past a minute: a hung collective fails the
/// test instead of hanging it.
fn run(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{command:?} ran past a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `quantmc ARGS` on `ranks` MPI ranks.
fn mpirun(ranks: usize, args: &[&str]) -> Output {
    let mut command = Command::new("mpirun");
    command
        .args(["-n", &ranks.to_string(), "--oversubscribe"])
        // CI machines run as root, which Open MPI refuses unless told.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .arg(QUANTMC)
        .args(args)
        .args(["--executor", "mpi"]);
    run(command)
}

/// The JSON result without the fields that say how and how fast it ran.
fn numbers(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    for field in ["backend", "selection", "elapsed_s", "paths_per_sec"] {
        value.as_object_mut().unwrap().remove(field);
    }
    value
}

#[test]
fn ranks_print_the_one_process_result_once() {
    // 3.5 blocks of 2^18 samples; an Asian with pathwise Greeks and
    // antithetic pairs (2.3 blocks of pairs); an RQMC target run in rounds
    // (two blocks a replicate in the first); a Heston strip of two strikes
    // with implied volatilities, each quote 2.3 blocks. Small: this test's
    // binary is the unoptimised build.
    let jobs: [&[&str]; 3] = [
        &["--paths", "917504"],
        &[
            "--style",
            "asian-arithmetic",
            "--steps",
            "4",
            "--paths",
            "1200000",
            "--greeks",
            "--antithetic",
        ],
        &[
            "--sampler",
            "rqmc",
            "--replicates",
            "4",
            "--paths",
            "2097152",
            "--target-rel-se",
            "1e-12",
            "--max-paths",
            "4194304",
        ],
    ];
    let heston_strip: Vec<&str> = common::HESTON_FLAGS
        .into_iter()
        .chain(["--steps", "2", "--paths", "600000", "--strikes", "90,110"])
        .chain(["--implied-vol"])
        .collect();
    for job in jobs.into_iter().chain([heston_strip.as_slice()]) {
        let args: Vec<&str> = std::iter::once("price")
            .chain(job.iter().copied())
            .chain(["--backend", "simd", "--json"])
            .collect();
        let mut alone = Command::new(QUANTMC);
        alone.args(&args);
        let expected = numbers(&run(alone));
        for ranks in 1..=5 {
            let output = mpirun(ranks, &args);
            let text = String::from_utf8_lossy(&output.stdout);
            assert_eq!(text.lines().count(), 1, "rank 0 alone prints: {text}");
            assert_eq!(numbers(&output), expected, "{job:?} on {ranks} ranks");
        }
    }
}

#[test]
fn bad_input_exits_2_on_every_rank_without_hanging() {
    let output = mpirun(3, &["price", "--vol", "-0.3"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("vol"), "{stderr}");
    // No machine has adapter 99 (and a build without the GPU has none).
    let output = mpirun(2, &["price", "--backend", "gpu", "--gpus", "99"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("gpu"));
}

#[test]
fn var_ranks_print_the_same_result_once_on_any_number_of_ranks() {
    // 200,000 scenarios of the options book: 13 chunks of 2^14, shared
    // unevenly.
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    let args = [
        "var",
        "--portfolio",
        book,
        "--scenarios",
        "200000",
        "--dist",
        "student-t",
        "--backend",
        "simd",
        "--json",
    ];
    // One process stores its P&L and summarises it in the same passes as
    // the ranks: its answer bit for bit.
    let mut alone = Command::new(QUANTMC);
    alone.args(args);
    let alone = numbers(&run(alone));
    for ranks in 1..=5 {
        let output = mpirun(ranks, &args);
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(text.lines().count(), 1, "rank 0 alone prints: {text}");
        assert_eq!(numbers(&output), alone, "{ranks} ranks");
    }
    // What an MPI run does not carry out is refused with the field's name.
    let output = mpirun(2, &["var", "--portfolio", book, "--contributions"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("contributions"));
}

/// GPU ranks, each on the GPU of its rank on the node (`--gpus local-rank`;
/// here every rank on lavapipe, `QUANTMC_ALLOW_SOFTWARE_GPU=1`): rank 0
/// prints the one-process GPU price and VaR bit for bit on any number of
/// ranks.
#[cfg(feature = "gpu")]
#[test]
#[ignore = "needs a GPU adapter"]
fn gpu_ranks_print_the_one_process_gpu_result() {
    // Two and a third of lavapipe's segments of 2^23 path-steps.
    let price = [
        "price",
        "--style",
        "asian-arithmetic",
        "--steps",
        "64",
        "--paths",
        "305835",
        "--greeks",
        "--backend",
        "gpu",
        "--json",
    ];
    let mut alone = Command::new(QUANTMC);
    alone.args(price);
    let expected = numbers(&run(alone));
    for ranks in 1..=3 {
        let args: Vec<&str> = price
            .iter()
            .copied()
            .chain(["--gpus", "local-rank"])
            .collect();
        assert_eq!(numbers(&mpirun(ranks, &args)), expected, "{ranks} ranks");
    }
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/options_book.json");
    let var = [
        "var",
        "--portfolio",
        book,
        "--scenarios",
        "200000",
        "--backend",
        "gpu",
        "--gpus",
        "local-rank",
        "--json",
    ];
    // Without local-rank: the one-process GPU run.
    let alone: Vec<&str> = var
        .iter()
        .copied()
        .filter(|&a| a != "--gpus" && a != "local-rank")
        .collect();
    let mut one_process = Command::new(QUANTMC);
    one_process.args(&alone);
    let expected = numbers(&run(one_process));
    for ranks in [1, 3] {
        assert_eq!(numbers(&mpirun(ranks, &var)), expected, "{ranks} ranks");
    }
    // Outside MPI, local-rank has no rank to go by.
    let mut outside = Command::new(QUANTMC);
    outside.args(&var[..var.len() - 1]);
    let output = run(outside);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("gpus"));
}
