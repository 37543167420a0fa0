//! Tier::Auto's choices on synthetic hardware, and the calibration file's
//! round trip, including corrupt and stale files.

use std::cell::Cell;

use quantmc::Tier;
use quantmc::rng::CHUNK;
use quantmc::selector::{
    CALIBRATION_VERSION, Calibration, CalibrationProblem, Crossovers, Fingerprint, GpuClass,
    Tuning, Work, Workload, load_from, save_to,
};

fn calibration(rayon: Option<f64>, gpu: Option<f64>) -> Calibration {
    let crossovers = Crossovers::new([(Tier::Rayon, rayon), (Tier::Gpu, gpu)]);
    Calibration {
        version: CALIBRATION_VERSION,
        machine: Fingerprint::current(),
        tuning: Tuning {
            pricing: crossovers,
            risk: crossovers,
        },
    }
}

/// Auto's decision with the calibration's crossovers.
fn decide(
    work: Work,
    cores: usize,
    gpu: impl FnOnce() -> Option<GpuClass>,
    calibration: &Calibration,
) -> quantmc::selector::Decision {
    quantmc::selector::decide(work, cores, gpu, &calibration.tuning)
}

fn pricing(paths: u64) -> Work {
    Work {
        workload: Workload::Pricing,
        units: paths as f64,
        samples: paths,
        gpu_unsupported: None,
    }
}

#[test]
fn no_gpu_small_jobs_stay_on_one_core_and_large_ones_use_all() {
    let cal = calibration(Some(3e4), Some(1e7));
    let no_gpu = || None;
    assert_eq!(decide(pricing(1_000), 8, no_gpu, &cal).tier, Tier::Simd);
    let big = decide(pricing(100_000_000), 8, no_gpu, &cal);
    assert_eq!(big.tier, Tier::Rayon);
    assert_eq!(
        big.reason,
        "rayon: 8 cores, 1.0e8 work units > 3.0e4 crossover"
    );
}

#[test]
fn one_core_never_gets_threads() {
    let cal = calibration(Some(3e4), None);
    let decision = decide(pricing(100_000_000), 1, || None, &cal);
    assert_eq!(decision.tier, Tier::Simd);
    assert!(decision.reason.contains("1 core"));
}

#[test]
fn a_single_chunk_job_stays_on_one_core_whatever_its_work() {
    let cal = calibration(Some(10.0), None);
    let asian = Work {
        workload: Workload::Pricing,
        units: 64.0 * CHUNK as f64,
        samples: CHUNK,
        gpu_unsupported: None,
    };
    assert_eq!(decide(asian, 16, || None, &cal).tier, Tier::Simd);
}

#[test]
fn a_software_gpu_is_never_picked() {
    let cal = calibration(Some(3e4), Some(1e5));
    let decision = decide(pricing(1_000_000_000), 4, || Some(GpuClass::Software), &cal);
    assert_eq!(decision.tier, Tier::Rayon);
}

#[test]
fn a_discrete_gpu_is_picked_above_its_crossover_only() {
    let cal = calibration(Some(3e4), Some(1e7));
    let probed = Cell::new(false);
    let probe = || {
        probed.set(true);
        Some(GpuClass::Discrete)
    };
    let small = decide(pricing(1_000_000), 4, probe, &cal);
    assert_eq!(small.tier, Tier::Rayon);
    assert!(
        !probed.get(),
        "a job below the GPU crossover must not probe adapters"
    );
    let large = decide(pricing(100_000_000), 4, probe, &cal);
    assert_eq!(large.tier, Tier::Gpu);
    assert!(probed.get());
    assert!(
        large.reason.starts_with("gpu: Discrete adapter"),
        "{}",
        large.reason
    );
}

#[test]
fn without_a_measured_gpu_crossover_the_gpu_is_not_used() {
    let cal = calibration(Some(3e4), None);
    let decision = decide(pricing(1_000_000_000), 4, || Some(GpuClass::Discrete), &cal);
    assert_eq!(decision.tier, Tier::Rayon);
}

#[test]
fn when_threads_never_won_auto_stays_on_simd() {
    let cal = calibration(None, None);
    assert_eq!(
        decide(pricing(1_000_000_000), 64, || None, &cal).tier,
        Tier::Simd
    );
}

#[test]
fn the_builtin_calibration_is_used_for_the_right_workload() {
    let cal = Calibration::builtin();
    let var_work = Work {
        workload: Workload::Risk,
        units: 10.0 * 1e7,
        samples: 10_000_000,
        gpu_unsupported: None,
    };
    assert_eq!(decide(var_work, 2, || None, &cal).tier, Tier::Rayon);
}

fn temp_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quantmc-selector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn calibration_files_round_trip() {
    let path = temp_file("nested/calibration.json");
    let cal = calibration(Some(32_768.0), Some(5e7));
    save_to(&cal, &path).unwrap();
    assert_eq!(load_from(&path).unwrap(), Some(cal));
    assert_eq!(load_from(&temp_file("absent.json")).unwrap(), None);
}

#[test]
fn corrupt_and_stale_files_are_reported_not_used() {
    let corrupt = temp_file("corrupt.json");
    std::fs::write(&corrupt, "{\"version\": 1, \"pricing\": ").unwrap();
    assert!(matches!(
        load_from(&corrupt),
        Err(CalibrationProblem::Corrupt { .. })
    ));

    let negative = temp_file("negative.json");
    save_to(&calibration(Some(-5.0), None), &negative).unwrap();
    let err = load_from(&negative).unwrap_err();
    assert!(err.to_string().contains("pricing.rayon"), "{err}");

    let stale = temp_file("stale.json");
    let mut other_machine = calibration(Some(1e4), None);
    other_machine.machine.cpu_model = "Some Other CPU".into();
    other_machine.machine.logical_cores += 62;
    save_to(&other_machine, &stale).unwrap();
    let err = load_from(&stale).unwrap_err();
    assert!(matches!(err, CalibrationProblem::Stale { .. }));
    assert!(err.to_string().contains("Some Other CPU"), "{err}");

    let old_format = temp_file("old.json");
    let mut old = calibration(Some(1e4), None);
    old.version = CALIBRATION_VERSION + 1;
    save_to(&old, &old_format).unwrap();
    assert!(matches!(
        load_from(&old_format),
        Err(CalibrationProblem::Stale { .. })
    ));
}

#[test]
fn crossovers_come_from_consistent_wins() {
    use quantmc::calibrate::crossover;
    let sizes = [1e3, 1e4, 1e5, 1e6];
    // Loses, ties (noise), then wins clearly.
    assert_eq!(
        crossover(&sizes, &[2.0, 1.0, 0.5, 0.4], &[1.0, 1.0, 1.0, 1.0]),
        Some((1e4f64 * 1e5).sqrt())
    );
    assert_eq!(crossover(&sizes, &[0.5; 4], &[1.0; 4]), Some(0.0));
    assert_eq!(crossover(&sizes, &[0.5, 0.5, 0.5, 2.0], &[1.0; 4]), None);
    // A win that is lost again at a larger size does not count.
    assert_eq!(
        crossover(&sizes, &[0.5, 2.0, 0.5, 0.5], &[1.0; 4]),
        Some((1e4f64 * 1e5).sqrt())
    );
}

#[test]
fn built_in_crossovers_use_a_discrete_gpu_for_large_jobs_only() {
    let discrete = || Some(GpuClass::Discrete);
    let var = |scenarios: u64| Work {
        workload: Workload::Risk,
        units: 10.0 * scenarios as f64,
        samples: scenarios,
        gpu_unsupported: None,
    };
    // Measured on an H100 host with 16 cores: rayon wins European 1e8 and
    // VaR 1e7, the GPU European 1e9 and VaR 1e8 (docs/src/auto.md's table).
    let sixteen = Tuning::builtin_for(16);
    let decide16 = |work| quantmc::selector::decide(work, 16, discrete, &sixteen).tier;
    assert_eq!(decide16(pricing(1_000_000_000)), Tier::Gpu);
    assert_eq!(decide16(pricing(100_000_000)), Tier::Rayon);
    // There one core won European 1e5 paths and lost 1e6: threads need a
    // chunk a core; VaR's rayon crossover does not grow (rayon won 1e5
    // scenarios).
    assert_eq!(decide16(pricing(100_000)), Tier::Simd);
    assert_eq!(decide16(pricing(1_000_000)), Tier::Rayon);
    assert_eq!(decide16(var(100_000)), Tier::Rayon);
    assert_eq!(decide16(var(10_000)), Tier::Simd);
    assert_eq!(decide16(var(100_000_000)), Tier::Gpu);
    assert_eq!(decide16(var(10_000_000)), Tier::Rayon);
    // Fewer cores, lower crossovers: on 2 the GPU takes European 1e8 and
    // rayon 1e5.
    let two = Tuning::builtin_for(2);
    let decide2 = |work| quantmc::selector::decide(work, 2, discrete, &two).tier;
    assert_eq!(decide2(pricing(100_000_000)), Tier::Gpu);
    assert_eq!(decide2(pricing(100_000)), Tier::Rayon);
    assert_eq!(decide2(pricing(30_000)), Tier::Simd);
    // The crossover grows with the cores.
    let gpu = |t: Tuning| (t.pricing.get(Tier::Gpu), t.risk.get(Tier::Gpu));
    let (p2, r2) = gpu(two);
    let (p16, r16) = gpu(sixteen);
    assert_eq!(p16.unwrap(), 8.0 * p2.unwrap());
    assert_eq!(r16.unwrap(), 8.0 * r2.unwrap());
    // Never a software adapter.
    assert_eq!(
        quantmc::selector::decide(
            pricing(10_000_000_000),
            16,
            || Some(GpuClass::Software),
            &sixteen
        )
        .tier,
        Tier::Rayon
    );
}
