//! Criterion throughput of every CPU tier on the three reference workloads:
//! European 10^6 paths, arithmetic Asian 64 steps x 10^5 paths, and 10-asset
//! Student-t VaR 10^6 scenarios.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

use quantmc::{
    Backend, Confidence, Market, OptionKind, OptionSpec, Portfolio, PricingJob, ReturnDistribution,
    Style, VarJob,
};

const TIERS: [Backend; 3] = [Backend::Scalar, Backend::Simd, Backend::Rayon];

fn pricing_job(style: Style, steps: u32, paths: u64) -> PricingJob {
    PricingJob {
        market: Market {
            spot: 150.0,
            rate: 0.05,
            dividend: 0.0,
            vol: 0.3,
        },
        option: OptionSpec {
            kind: OptionKind::Call,
            style,
            strike: 155.0,
            maturity: 0.25,
            steps,
            barrier: None,
        },
        paths,
        seed: 42,
        antithetic: false,
        ..Default::default()
    }
}

/// A group reporting paths (or scenarios) per second, sized for slow tiers.
fn throughput_group<'a>(
    c: &'a mut Criterion,
    name: &str,
    elements: u64,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .throughput(Throughput::Elements(elements))
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    group
}

fn bench_pricing(c: &mut Criterion, name: &str, job: PricingJob) {
    let mut group = throughput_group(c, name, job.paths);
    for tier in TIERS {
        group.bench_with_input(BenchmarkId::from_parameter(tier), &job, |b, job| {
            b.iter(|| quantmc::price(black_box(job), tier).unwrap())
        });
    }
    group.finish();
}

fn pricing(c: &mut Criterion) {
    bench_pricing(
        c,
        "european_1e6",
        pricing_job(Style::European, 1, 1_000_000),
    );
    bench_pricing(
        c,
        "asian_arithmetic_64x1e5",
        pricing_job(Style::AsianArithmetic, 64, 100_000),
    );
}

fn var(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let job = VarJob {
        portfolio: Portfolio::from_file(path.as_ref()).unwrap(),
        scenarios: 1_000_000,
        confidences: vec![Confidence::new(0.95), Confidence::new(0.99)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::StudentT { dof: 5.0 },
        seed: 42,
    };
    let mut group = throughput_group(c, "var_student_t_10_assets_1e6", job.scenarios);
    for tier in TIERS {
        group.bench_with_input(BenchmarkId::from_parameter(tier), &job, |b, job| {
            b.iter(|| quantmc::var(black_box(job), tier).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, pricing, var);
criterion_main!(benches);
