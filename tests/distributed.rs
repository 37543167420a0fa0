//! A pricing or VaR job shared by several processes gives the one-process
//! answer bit for bit: threads stand in for the processes here
//! (`ThreadGroup`), the same sharding and folding that MPI ranks run
//! (tests/mpi.rs runs them under `mpirun`).

mod common;

use common::{METHODS, PRODUCTS, numbers, options_book_var, pricing_job};
use quantmc::backend::BLOCK;
use quantmc::distributed::{self, Communicator, ThreadGroup};
use quantmc::{
    Backend, Confidence, GpuList, Gpus, OptionKind, Portfolio, PricingJob, PricingResult,
    ReturnDistribution, RunOptions, Style, VarJob, VarResult,
};

/// `job` on `size` processes, each process's result in rank order; process
/// `truncating`, if any, sends every message after its first (the tier
/// agreement) one word short.
fn on_processes(
    job: &PricingJob,
    backend: Backend,
    size: usize,
    truncating: Option<usize>,
) -> Vec<quantmc::Result<PricingResult>> {
    shared(size, truncating, &|member| {
        distributed::price(job, backend, member)
    })
}

/// `run` on each member of a group of `size`, the results in rank order.
fn shared<T: Send>(
    size: usize,
    truncating: Option<usize>,
    run: &(dyn Fn(&Member<'_>) -> T + Sync),
) -> Vec<T> {
    let members = ThreadGroup::new(size);
    std::thread::scope(|scope| {
        let runs: Vec<_> = members
            .iter()
            .map(|group| {
                let member = Member {
                    group,
                    truncating,
                    sent: Default::default(),
                };
                scope.spawn(move || run(&member))
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    })
}

/// A thread group's member whose messages can be cut short.
struct Member<'a> {
    group: &'a ThreadGroup,
    truncating: Option<usize>,
    sent: std::sync::atomic::AtomicUsize,
}

impl Communicator for Member<'_> {
    fn rank(&self) -> usize {
        self.group.rank()
    }
    fn size(&self) -> usize {
        self.group.size()
    }
    fn all_gather(&self, words: &[u64]) -> quantmc::Result<Vec<Vec<u64>>> {
        let later = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0;
        let keep = words.len() - usize::from(later && self.truncating == Some(self.rank()));
        self.group.all_gather(&words[..keep])
    }
}

/// `job` on 1 to 5 processes and on more processes than it has blocks: the
/// one-process result of `backend` on every process.
fn assert_shared_runs_agree(what: &str, job: &PricingJob, backend: Backend) {
    let alone = numbers(&quantmc::price(job, backend).unwrap());
    let blocks = (job.samples() / job.groups() as u64).div_ceil(BLOCK) as usize;
    for size in [1, 2, 3, 4, 5, blocks + 2] {
        for (rank, result) in on_processes(job, backend, size, None)
            .into_iter()
            .enumerate()
        {
            let result = result.unwrap_or_else(|err| panic!("{what}, {size} processes: {err}"));
            assert_eq!(numbers(&result), alone, "{what}: process {rank} of {size}");
            assert!(
                result.backend.contains(&format!("on {size} process")),
                "{}",
                result.backend
            );
        }
    }
}

#[test]
fn every_product_on_any_number_of_processes_is_the_one_process_answer() {
    for &(kind, style, steps) in PRODUCTS {
        // Two and a half blocks: shares that start and end inside a block.
        let job = pricing_job(kind, style, steps, 5 * BLOCK / 2 + 6, false);
        assert_shared_runs_agree(&format!("{kind} {style}"), &job, Backend::Simd);
    }
}

#[test]
fn every_method_on_any_number_of_processes_is_the_one_process_answer() {
    for &(method, apply) in METHODS {
        // Two blocks a replicate for the RQMC methods' four replicates, and
        // targets whose later rounds start inside a block.
        let job = apply(pricing_job(
            OptionKind::Put,
            Style::AsianArithmetic,
            4,
            8 * BLOCK + 8,
            false,
        ));
        assert_shared_runs_agree(method, &job, Backend::Simd);
    }
}

#[test]
fn rayon_processes_give_the_one_process_rayon_answer() {
    // Antithetic pairs: three blocks and one pair.
    let job = pricing_job(OptionKind::Call, Style::European, 1, 6 * BLOCK + 2, true);
    assert_shared_runs_agree("rayon", &job, Backend::Rayon);
    // Auto picks the same tier on every process of one machine: its
    // one-process pick.
    let shared = on_processes(&job, Backend::Auto, 3, None);
    let alone = quantmc::price(&job, Backend::Auto).unwrap();
    assert_eq!(numbers(shared[0].as_ref().unwrap()), numbers(&alone));
}

#[test]
fn a_failed_process_fails_every_process_with_its_rank() {
    let job = pricing_job(OptionKind::Call, Style::European, 1, 4 * BLOCK, false);
    // Process 2's message arrives one word short.
    let results = on_processes(&job, Backend::Simd, 4, Some(2));
    for result in results {
        let message = result.unwrap_err().to_string();
        assert!(message.contains("process 2"), "{message}");
    }
}

#[test]
fn bad_input_and_a_tier_that_cannot_start_are_refused_on_every_process_before_any_work() {
    let mut job = pricing_job(OptionKind::Call, Style::European, 1, 1000, false);
    job.market.vol = -0.2;
    for result in on_processes(&job, Backend::Simd, 3, None) {
        assert!(result.unwrap_err().to_string().contains("vol"));
    }
    job.market.vol = 0.2;
    // No machine has adapter 200: every process names the field.
    let missing = RunOptions {
        backend: Backend::Gpu,
        gpus: Gpus::List(GpuList::new(&[200]).unwrap()),
        ..RunOptions::default()
    };
    for result in shared(3, None, &|member| distributed::price(&job, missing, member)) {
        let message = result.unwrap_err().to_string();
        assert!(
            message.contains("gpus") || message.contains("gpu"),
            "{message}"
        );
    }
}

#[test]
fn processes_whose_auto_picks_differ_all_run_rayon() {
    // Auto weighs the cores it may use: one thread picks a one-core tier,
    // two threads rayon. The processes agree on rayon, two threads each.
    let job = pricing_job(OptionKind::Call, Style::European, 1, 6 * BLOCK + 2, true);
    let alone = quantmc::price(
        &job,
        RunOptions {
            backend: Backend::Rayon,
            threads: Some(2),
            ..RunOptions::default()
        },
    )
    .unwrap();
    let results = shared(3, None, &|member| {
        let threads = if member.rank() == 0 { 1 } else { 2 };
        distributed::price(
            &job,
            RunOptions {
                threads: Some(threads),
                ..RunOptions::default()
            },
            member,
        )
    });
    for result in results {
        let result = result.unwrap();
        assert_eq!(numbers(&result), numbers(&alone));
        assert!(
            result.selection.contains("different tiers"),
            "{}",
            result.selection
        );
    }
}

/// A VaR result's numbers, as text (equal text, equal bits).
fn var_numbers(result: &VarResult) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        result.scenarios, result.mean, result.std, result.levels
    )
}

#[test]
fn var_on_any_number_of_processes_is_the_same_answer() {
    // 300,000 scenarios: 19 chunks, shared unevenly, and among more
    // processes than chunks (some with none).
    let job = options_book_var(300_000);
    let alone = quantmc::var(&job, Backend::Rayon).unwrap();
    let mut first = None;
    for size in [1, 2, 3, 4, 5, 23] {
        let results = shared(size, None, &|member| {
            distributed::var(&job, Backend::Rayon, member)
        });
        for (rank, result) in results.into_iter().enumerate() {
            let result = result.unwrap_or_else(|err| panic!("{size} processes: {err}"));
            assert!(
                result.backend.contains(&format!("on {size} process")),
                "{}",
                result.backend
            );
            let numbers = var_numbers(&result);
            // The same bits on every process and every number of them.
            assert_eq!(
                first.get_or_insert_with(|| numbers.clone()),
                &numbers,
                "process {rank} of {size}"
            );
            // One process stores its P&L and summarises it in the same
            // passes: its answer bit for bit.
            assert_eq!(numbers, var_numbers(&alone), "{size}");
        }
    }
}

#[test]
fn var_past_what_one_process_stores_is_its_answer_bit_for_bit() {
    // One normal asset, past STORED_MAX_SCENARIOS: one process streams its
    // P&L in the same two passes, so the shared run is its answer exactly.
    let scenarios = quantmc::backend::STORED_MAX_SCENARIOS + 5 * (1 << 14) + 3;
    let job = VarJob {
        portfolio: Portfolio::from_file(
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json").as_ref(),
        )
        .unwrap(),
        scenarios,
        confidences: vec![Confidence::new(0.99)],
        horizon_days: 1.0,
        distribution: ReturnDistribution::Normal,
        seed: 5,
    };
    let alone = var_numbers(&quantmc::var(&job, Backend::Rayon).unwrap());
    for result in shared(3, None, &|member| {
        distributed::var(&job, Backend::Rayon, member)
    }) {
        assert_eq!(var_numbers(&result.unwrap()), alone);
    }
}

#[test]
fn a_failed_var_process_fails_every_process_with_its_rank_and_bad_input_none() {
    let job = options_book_var(100_000);
    for result in shared(4, Some(1), &|member| {
        distributed::var(&job, Backend::Simd, member)
    }) {
        let message = result.unwrap_err().to_string();
        assert!(message.contains("process 1"), "{message}");
    }
    let mut bad = options_book_var(100_000);
    bad.confidences = vec![Confidence::new(1.5)];
    for result in shared(3, None, &|member| {
        distributed::var(&bad, Backend::Simd, member)
    }) {
        let message = result.unwrap_err().to_string();
        assert!(message.contains("confidence"), "{message}");
    }
}
