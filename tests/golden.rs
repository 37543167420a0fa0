//! Black-Scholes results pinned bit for bit: every product, call and put,
//! every estimation method and Greek method, on every CPU tier and
//! instruction set this machine runs, against the figures the release
//! before the model axis printed (`tests/data/black_scholes_golden.txt`).
//!
//! The model axis (`src/models`) redesigned how a path is simulated; its
//! promise is that Black-Scholes, its first model, still gives those numbers
//! to the last bit. A figure that moves fails here with the job that moved.
//!
//! The SIMD and rayon tiers' last bits depend on the instruction set (their
//! `exp`, `ln` and fused multiply-adds), so each set has its own lines; a
//! set this CPU does not run is skipped and named in the output.
//! `QUANTMC_BLESS=1 cargo test --test golden` rewrites the file from this
//! build (for a deliberate change of the numbers, said in the commit).

mod common;
use common::{METHODS, PRODUCTS, numbers, pricing_job};
use quantmc::hardware::Isa;
use quantmc::{Backend, PricingJob, RunOptions};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/black_scholes_golden.txt"
);

/// Path counts: inside one lane group, and past a chunk.
const GOLDEN_PATHS: [u64; 2] = [200, 2 * 16384 + 8];

/// Every pinned job with its name: each product plain and antithetic, and
/// under every method of the tier comparisons.
fn jobs() -> Vec<(String, PricingJob)> {
    let mut jobs = Vec::new();
    for &(kind, style, steps) in PRODUCTS {
        for paths in GOLDEN_PATHS {
            for antithetic in [false, true] {
                jobs.push((
                    format!("{kind} {style} N={steps} paths={paths} antithetic={antithetic}"),
                    pricing_job(kind, style, steps, paths, antithetic),
                ));
            }
            for &(method, apply) in METHODS {
                jobs.push((
                    format!("{kind} {style} N={steps} paths={paths} {method}"),
                    apply(pricing_job(kind, style, steps, paths, false)),
                ));
            }
        }
    }
    jobs
}

/// The tiers pinned: the scalar oracle, and the SIMD and rayon (2 threads)
/// tiers on each instruction set this CPU runs among those pinned.
fn tiers() -> (Vec<(String, RunOptions)>, Vec<Isa>) {
    let mut tiers = vec![("scalar".to_string(), RunOptions::from(Backend::Scalar))];
    let mut skipped = Vec::new();
    for isa in [Isa::Sse2, Isa::Avx2, Isa::Avx512] {
        if !isa.is_supported() {
            skipped.push(isa);
            continue;
        }
        for (name, backend, threads) in [
            ("simd", Backend::Simd, None),
            ("rayon", Backend::Rayon, Some(2)),
        ] {
            tiers.push((
                format!("{name} {}", isa.name()),
                RunOptions {
                    backend,
                    threads,
                    simd: Some(isa),
                    ..Default::default()
                },
            ));
        }
    }
    (tiers, skipped)
}

#[test]
fn black_scholes_gives_the_pinned_numbers_bit_for_bit() {
    let (tiers, skipped) = tiers();
    for isa in &skipped {
        println!("skipped: this CPU does not run {}", isa.name());
    }
    let mut lines = Vec::new();
    for (tier, options) in &tiers {
        for (name, job) in jobs() {
            let result = quantmc::price(&job, *options).unwrap();
            lines.push(format!("{tier} | {name} | {}", numbers(&result)));
        }
    }
    if std::env::var("QUANTMC_BLESS").is_ok_and(|v| v == "1") {
        // Keep the lines of sets this CPU cannot run.
        let kept: Vec<String> = std::fs::read_to_string(GOLDEN)
            .unwrap_or_default()
            .lines()
            .filter(|line| skipped.iter().any(|isa| line.contains(isa.name())))
            .map(str::to_string)
            .collect();
        let text: Vec<String> = lines.into_iter().chain(kept).collect();
        std::fs::write(GOLDEN, text.join("\n") + "\n").unwrap();
        return;
    }
    let golden = std::fs::read_to_string(GOLDEN).expect("the golden file");
    let pinned: std::collections::HashMap<&str, &str> = golden
        .lines()
        .filter_map(|line| line.rsplit_once(" | "))
        .collect();
    let mut checked = 0;
    for line in &lines {
        let (key, value) = line.rsplit_once(" | ").unwrap();
        let expected = pinned
            .get(key)
            .unwrap_or_else(|| panic!("no pinned numbers for {key}"));
        assert_eq!(value, *expected, "{key}");
        checked += 1;
    }
    // Every tier of this CPU and every job was compared.
    assert_eq!(checked, tiers.len() * jobs().len());
    assert!(checked > 1000, "{checked} results pinned");
}
