//! One pricing job shared by several processes (MPI ranks, or the threads of
//! a [`ThreadGroup`]), with the one-process answer bit for bit.
//!
//! Every tier folds a job's samples in fixed blocks
//! ([`ComputeBackend::price_blocks`]): the CPU tiers in blocks of
//! [`crate::backend::BLOCK`] samples (each block's chunks in order, then the
//! blocks in order), the GPU tier in its segments of one dispatch each
//! ([`ComputeBackend::block_samples`]). First the processes agree on a tier
//! (one collective: the one asked for, or Auto's pick where every process
//! makes the same one, else rayon everywhere). In each round of a run
//! ([`crate::price`]), process `r` of `n` takes a contiguous share of the
//! round's blocks (`r * blocks / n` up to `(r + 1) * blocks / n`; none when
//! there are more processes than blocks), computes their figures on its own
//! tier, and every process gathers every block's figures in process order
//! ([`Communicator::all_gather`]), then folds them exactly as one process
//! would. Every process therefore holds the same figures, takes the same
//! decisions (a target's next stage) and returns the same result; callers
//! print it on one (rank 0). A process that fails sends its reason instead
//! of its blocks, and every process then returns an error naming it: no
//! process waits on one that gave up.
//!
//! Same numbers: the result is the one-process run's bit for bit when every
//! process runs the same tier and instruction set (AVX-512 and AVX2 give the
//! same bits, see [`crate::hardware::Isa`]), or the same class of GPU, for
//! any number of processes, threads per process, and any split of the work.

#[cfg(feature = "mpi")]
pub mod mpi;

use std::ops::Range;
use std::sync::{Arc, Barrier, Mutex};

#[cfg(test)]
use crate::backend::BLOCK;
use crate::backend::{Backend, ComputeBackend, Tier};
use crate::control::{self, Control};
use crate::error::{BackendError, Result};
use crate::pricing::{PricingJob, PricingResult, ValidPricing};
use crate::risk::{RiskEstimate, ValidVar, VarJob, VarResult};
use crate::stats::{CoMoments, Figures, GREEKS, Inside, Moments, Part, StreamPart};
use crate::{RunOptions, Selected, selector};

/// The processes of a distributed run, as the run sees them.
pub trait Communicator {
    /// This process's index, `0 .. size`.
    fn rank(&self) -> usize;
    /// Processes in the run.
    fn size(&self) -> usize;
    /// Every process's `words`, in rank order, on every process: a
    /// collective call that every process makes the same number of times.
    fn all_gather(&self, words: &[u64]) -> Result<Vec<Vec<u64>>>;
}

/// Prices `job` on this process's share of its blocks and returns the
/// result of the whole job, the same on every process (see the module).
///
/// `options` picks each process's tier, the same on every process: the
/// backend asked for (the GPU on `options.gpus`, one GPU a process with
/// [`crate::Gpus::Rank`]), or Auto's pick where every process makes the
/// same one and rayon on every process where they differ. Bad input is an
/// error on every process before any work; a tier that cannot start on one
/// process is an error on every process, naming it.
pub fn price(
    job: &PricingJob,
    options: impl Into<RunOptions>,
    communicator: &dyn Communicator,
) -> Result<PricingResult> {
    price_with(job, options, &control::UNWATCHED, communicator)
}

/// [`price`], reporting this process's progress to `control`.
pub fn price_with(
    job: &PricingJob,
    options: impl Into<RunOptions>,
    control: &Control,
    communicator: &dyn Communicator,
) -> Result<PricingResult> {
    let valid = ValidPricing::new(job)?.watched(control);
    let selected = agreed(
        &options.into(),
        selector::Work::pricing(job),
        &|tier| tier.block_samples(job),
        communicator,
    )?;
    let tier = &*selected.tier;
    let mut result = crate::price_in_rounds(valid, &selected, &|valid, points| {
        round(tier, valid, points, communicator)
    })?;
    result.backend = on_processes(&result.backend, communicator);
    Ok(result)
}

/// This process's tier, the same tier on every process (one collective):
/// the one `options` names, or Auto's pick where every process picks the
/// same and rayon on every process where they differ (their hardware
/// differs). `block` is the unit a pricing job's blocks come in, which
/// must match too (GPUs of different classes cut a job differently). A
/// process whose tier cannot start makes every process return its reason.
fn agreed(
    options: &RunOptions,
    work: selector::Work,
    block: &dyn Fn(&dyn ComputeBackend) -> u64,
    communicator: &dyn Communicator,
) -> Result<Selected> {
    let selected = crate::resolve(options, work);
    let words = match &selected {
        Ok(selected) => {
            let tier = selected.tier.tier();
            let code = Tier::ALL.iter().position(|&t| t == tier).unwrap_or(0);
            vec![code as u64, block(&*selected.tier)]
        }
        Err(err) => encode_failure(&err.to_string()),
    };
    let gathered = communicator.all_gather(&words)?;
    if let Some((rank, words)) = gathered
        .iter()
        .enumerate()
        .find(|(_, words)| words.first() == Some(&FAILED))
    {
        return Err(match selected {
            Err(err) if rank == communicator.rank() => err,
            _ => BackendError::Failed {
                backend: "distributed",
                reason: format!("process {rank}: {}", decode_failure(words)),
            }
            .into(),
        });
    }
    if let Some((rank, words)) = gathered
        .iter()
        .enumerate()
        .find(|(_, words)| words.len() != 2 || words[0] as usize >= Tier::ALL.len())
    {
        return Err(BackendError::Failed {
            backend: "distributed",
            reason: format!(
                "process {rank}: a malformed message of {} words",
                words.len()
            ),
        }
        .into());
    }
    let mut selected = selected?;
    let lead = &gathered[0];
    let Some(rank) = gathered.iter().position(|words| words != lead) else {
        let shared = format!("shared by {}", processes(communicator));
        selected.reason = match options.backend {
            Backend::Auto => format!("{}; {shared}", selected.reason),
            _ => format!("requested; {shared}"),
        };
        return Ok(selected);
    };
    if options.backend == Backend::Auto {
        let rayon = RunOptions {
            backend: Backend::Rayon,
            ..*options
        };
        let mut selected = agreed(&rayon, work, block, communicator)?;
        selected.reason = format!(
            "Auto picked different tiers on different processes; rayon on every one, {}",
            selected.reason.trim_start_matches("requested; ")
        );
        return Ok(selected);
    }
    let tier = |words: &[u64]| Tier::ALL[words[0] as usize].name();
    let other = &gathered[rank];
    let reason = if other[0] == lead[0] {
        format!(
            "process {rank} cuts the job into blocks of {} samples on its {} tier, process 0 into blocks of {}: every process needs the same class of adapter, or a CPU tier",
            other[1],
            tier(other),
            lead[1]
        )
    } else {
        format!(
            "process {rank} runs the {} tier, process 0 the {}: every process must run the same tier",
            tier(other),
            tier(lead)
        )
    };
    Err(BackendError::Failed {
        backend: "distributed",
        reason,
    }
    .into())
}

/// "3 processes".
fn processes(communicator: &dyn Communicator) -> String {
    match communicator.size() {
        1 => "1 process".to_string(),
        size => format!("{size} processes"),
    }
}

/// The tier's description with the processes that ran it.
fn on_processes(backend: &str, communicator: &dyn Communicator) -> String {
    format!(
        "{backend} on {} (this is process {})",
        processes(communicator),
        communicator.rank()
    )
}

/// Measures `job`'s VaR and ES with this process's share of its scenarios
/// and returns the whole job's result, the same on every process.
///
/// The P&L is summarised in the two streamed passes of one process's
/// memory-bounded VaR (the moments and a subsample, then each level's
/// count and sum below its bracket and the values inside it; see
/// [`crate::backend::STORED_MAX_SCENARIOS`]): in each batch of fixed chunks
/// of each pass, process `r` of `n` regenerates and summarises a contiguous
/// share of the chunks, and every process gathers every share in process
/// order, so every process folds the same parts in chunk order and selects
/// the same exact quantiles. Memory on each process grows as `scenarios^(2/3)`
/// (about 100 MB at 10^10), whatever the number of processes.
///
/// Same numbers: the result does not depend on the number of processes or
/// their threads (bit for bit on one tier and instruction set), and is the
/// one-process run's bit for bit at every size (one process summarises its
/// stored P&L in the same passes). On GPU processes the P&L is the
/// devices' f32 P&L read back: the same bits on any number of processes,
/// within the GPU tier's tolerance of one process's GPU VaR (which selects
/// its tails on the device). `options` as in [`price`]; bad input is an
/// error on every process before any work or communication, and a process
/// that fails sends its reason, which every process returns.
pub fn var(
    job: &VarJob,
    options: impl Into<RunOptions>,
    communicator: &dyn Communicator,
) -> Result<VarResult> {
    var_with(job, options, &control::UNWATCHED, communicator)
}

/// [`var`], reporting this process's progress to `control`.
pub fn var_with(
    job: &VarJob,
    options: impl Into<RunOptions>,
    control: &Control,
    communicator: &dyn Communicator,
) -> Result<VarResult> {
    let valid = job.checked()?.watched(control);
    let selected = agreed(
        &options.into(),
        selector::Work::risk(job, valid.model()),
        &|_| 0,
        communicator,
    )?;
    let tier = &*selected.tier;
    let mut result = crate::var_from(&valid, &selected, &|| {
        streamed_risk(tier, &valid, communicator)
    })?;
    result.backend = on_processes(&result.backend, communicator);
    Ok(result)
}

/// The streamed summary of `job`'s P&L, each batch's chunks shared.
fn streamed_risk(
    tier: &dyn ComputeBackend,
    job: &ValidVar<'_>,
    communicator: &dyn Communicator,
) -> Result<RiskEstimate> {
    let control = job.control();
    let (rank, size) = (communicator.rank(), communicator.size());
    control.expect(2 * job.scenarios);
    // The first failure seen; every process sees the same one (it is in
    // the gathered words), so every process stops after the same batch and
    // the collectives stay matched.
    let failure: Mutex<Option<crate::Error>> = Mutex::new(None);
    let failed = || failure.lock().map_or(true, |f| f.is_some());
    let fail = |err: crate::Error| {
        if let Ok(mut slot) = failure.lock() {
            slot.get_or_insert(err);
        }
    };
    let map = |chunks: Range<u64>, work: &(dyn Fn(u64, &[f64]) -> StreamPart + Sync)| {
        let mine = chunk_share(chunks, rank, size);
        let words = match tier.map_pnl_chunks(job, mine, &|chunk, values| {
            encode_part(&work(chunk, values))
        }) {
            Ok(parts) => message_of_parts(parts),
            Err(err) => encode_failure(&err.to_string()),
        };
        let mut all = Vec::new();
        match communicator.all_gather(&words) {
            Ok(gathered) => {
                for (rank, words) in gathered.iter().enumerate() {
                    match decode_parts(words) {
                        Ok(parts) => all.extend(parts),
                        Err(reason) => fail(
                            BackendError::Failed {
                                backend: "distributed",
                                reason: format!("process {rank}: {reason}"),
                            }
                            .into(),
                        ),
                    }
                }
            }
            Err(err) => fail(err),
        }
        if failed() { Vec::new() } else { all }
    };
    let (moments, tails) =
        crate::stats::summarise_streamed(job.scenarios, &job.tail_counts(), &map, &|| {
            failed() || control.is_cancelled()
        });
    if let Some(err) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(err);
    }
    control.check()?;
    Ok(RiskEstimate {
        mean: moments.mean,
        std_dev: moments.std_dev(),
        tails,
    })
}

/// Process `rank` of `size`'s contiguous share of `chunks`.
pub fn chunk_share(chunks: Range<u64>, rank: usize, size: usize) -> Range<u64> {
    let length = chunks.end.saturating_sub(chunks.start);
    let (rank, size) = (rank as u64, size as u64);
    chunks.start + length * rank / size..chunks.start + length * (rank + 1) / size
}

/// Tags of a streamed part's words.
const FIRST_PASS: u64 = 1;
const SECOND_PASS: u64 = 2;

fn push_values(words: &mut Vec<u64>, values: &[f64]) {
    words.push(values.len() as u64);
    words.extend(values.iter().map(|v| v.to_bits()));
}

/// One chunk's part of a streamed pass as words.
fn encode_part(part: &StreamPart) -> Vec<u64> {
    let mut words = Vec::new();
    match part {
        StreamPart::First(moments, picked) => {
            words.push(FIRST_PASS);
            push_moments(&mut words, moments);
            push_values(&mut words, picked);
        }
        StreamPart::Second(levels) => {
            words.push(SECOND_PASS);
            words.push(levels.len() as u64);
            for (count, sum, inside) in levels {
                words.extend([*count, sum.to_bits()]);
                push_values(&mut words, &inside.singles);
                words.push(inside.runs.len() as u64);
                for &(value, count) in &inside.runs {
                    words.extend([value.to_bits(), count]);
                }
            }
        }
    }
    words
}

/// One process's message of encoded parts (`encode_part`'s), in order.
fn message_of_parts(parts: Vec<Vec<u64>>) -> Vec<u64> {
    let mut words = vec![parts.len() as u64];
    for part in parts {
        words.push(part.len() as u64);
        words.extend(part);
    }
    words
}

/// Reads words in order, a malformed message being an error.
struct Reader<'a> {
    words: &'a [u64],
    at: usize,
}

impl Reader<'_> {
    fn malformed(&self) -> String {
        format!("a malformed message of {} words", self.words.len())
    }

    fn take(&mut self, count: usize) -> std::result::Result<&[u64], String> {
        let end = self.at.checked_add(count).ok_or_else(|| self.malformed())?;
        let words = self
            .words
            .get(self.at..end)
            .ok_or_else(|| self.malformed())?;
        self.at = end;
        Ok(words)
    }

    fn word(&mut self) -> std::result::Result<u64, String> {
        Ok(self.take(1)?[0])
    }

    fn values(&mut self) -> std::result::Result<Vec<f64>, String> {
        let count = self.word()? as usize;
        Ok(self
            .take(count)?
            .iter()
            .map(|&w| f64::from_bits(w))
            .collect())
    }
}

/// A process's parts from `streamed_risk`'s message, or the failure it sent
/// (or a malformed message) as the reason.
fn decode_parts(words: &[u64]) -> std::result::Result<Vec<StreamPart>, String> {
    if words.first() == Some(&FAILED) {
        return Err(decode_failure(words));
    }
    let mut reader = Reader { words, at: 0 };
    let count = reader.word()?;
    let mut parts = Vec::new();
    for _ in 0..count {
        let length = reader.word()? as usize;
        let end = reader.at.saturating_add(length);
        let part = match reader.word()? {
            FIRST_PASS => {
                let moments = read_moments(reader.take(MOMENTS_WORDS)?);
                StreamPart::First(moments, reader.values()?)
            }
            SECOND_PASS => {
                let levels = reader.word()?;
                let mut parts: Vec<Part> = Vec::new();
                for _ in 0..levels {
                    let head = reader.take(2)?;
                    let (count, sum) = (head[0], f64::from_bits(head[1]));
                    let singles = reader.values()?;
                    let runs = reader.word()? as usize;
                    let runs = reader
                        .take(runs.checked_mul(2).ok_or_else(|| reader.malformed())?)?
                        .chunks_exact(2)
                        .map(|pair| (f64::from_bits(pair[0]), pair[1]))
                        .collect();
                    parts.push((count, sum, Inside { singles, runs }));
                }
                StreamPart::Second(parts)
            }
            _ => return Err(reader.malformed()),
        };
        if reader.at != end {
            return Err(reader.malformed());
        }
        parts.push(part);
    }
    if reader.at != words.len() {
        return Err(reader.malformed());
    }
    Ok(parts)
}

/// Process `rank` of `size`'s share of the blocks of `points` (blocks of
/// `block` samples aligned at its multiples).
pub fn share(points: Range<u64>, rank: usize, size: usize, block: u64) -> Range<u64> {
    let (first, last) = (points.start / block, points.end.div_ceil(block));
    let blocks = last.saturating_sub(first);
    let (rank, size) = (rank as u64, size as u64);
    let from = first + blocks * rank / size;
    let to = first + blocks * (rank + 1) / size;
    if from == to {
        return points.start..points.start;
    }
    (from * block).max(points.start)..(to * block).min(points.end)
}

/// One round: this process's blocks, everyone's gathered, folded in order.
fn round(
    tier: &dyn ComputeBackend,
    valid: ValidPricing<'_>,
    points: Range<u64>,
    communicator: &dyn Communicator,
) -> Result<Vec<Figures>> {
    let groups = valid.groups() as usize;
    let mine = share(
        points,
        communicator.rank(),
        communicator.size(),
        tier.block_samples(&valid),
    );
    let blocks = if mine.is_empty() {
        Ok(vec![Vec::new(); groups])
    } else {
        tier.price_blocks(valid, mine)
    };
    let words = match &blocks {
        Ok(blocks) => encode(blocks),
        Err(err) => encode_failure(&err.to_string()),
    };
    let gathered = communicator.all_gather(&words)?;
    let mut totals = vec![Figures::default(); groups];
    for (rank, words) in gathered.iter().enumerate() {
        let blocks = decode(words, groups).map_err(|reason| BackendError::Failed {
            backend: "distributed",
            reason: format!("process {rank}: {reason}"),
        })?;
        for (total, blocks) in totals.iter_mut().zip(blocks) {
            for block in blocks {
                *total = total.merge(block);
            }
        }
    }
    Ok(totals)
}

/// Words of a [`Moments`]: count, mean, m2.
const MOMENTS_WORDS: usize = 3;
/// Words of a block's figures: the co-moments (payoff, control, cross), a
/// flag, and the Greeks' moments (zero without them).
const FIGURES_WORDS: usize = 2 * MOMENTS_WORDS + 2 + GREEKS * MOMENTS_WORDS;
/// The first word of a failed process's message.
const FAILED: u64 = u64::MAX;

fn push_moments(words: &mut Vec<u64>, m: &Moments) {
    words.extend([m.count, m.mean.to_bits(), m.m2.to_bits()]);
}

fn read_moments(words: &[u64]) -> Moments {
    Moments {
        count: words[0],
        mean: f64::from_bits(words[1]),
        m2: f64::from_bits(words[2]),
    }
}

/// Each group's block count, then its blocks' figures.
fn encode(groups: &[Vec<Figures>]) -> Vec<u64> {
    let mut words = Vec::new();
    for blocks in groups {
        words.push(blocks.len() as u64);
        for figures in blocks {
            let m = &figures.moments;
            push_moments(&mut words, &m.payoff);
            push_moments(&mut words, &m.control);
            words.push(m.cross.to_bits());
            words.push(u64::from(figures.greeks.is_some()));
            let greeks = figures.greeks.unwrap_or_default();
            for g in &greeks {
                push_moments(&mut words, g);
            }
        }
    }
    words
}

fn encode_failure(reason: &str) -> Vec<u64> {
    let bytes = reason.as_bytes();
    let mut words = vec![FAILED, bytes.len() as u64];
    words.extend(bytes.chunks(8).map(|c| {
        let mut word = [0u8; 8];
        word[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(word)
    }));
    words
}

/// The reason in a failed process's message ([`encode_failure`]).
fn decode_failure(words: &[u64]) -> String {
    let length = words.get(1).copied().unwrap_or(0) as usize;
    let bytes: Vec<u8> = words
        .iter()
        .skip(2)
        .flat_map(|w| w.to_le_bytes())
        .take(length)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The blocks of `groups` groups from [`encode`], or the failure a process
/// sent (or a malformed message) as its reason.
fn decode(words: &[u64], groups: usize) -> std::result::Result<Vec<Vec<Figures>>, String> {
    if words.first() == Some(&FAILED) {
        return Err(decode_failure(words));
    }
    let mut reader = Reader { words, at: 0 };
    let mut out = Vec::with_capacity(groups);
    for _ in 0..groups {
        let count = reader.word()? as usize;
        // Checked: a corrupt count must be a malformed message, not an
        // overflow.
        let length = count
            .checked_mul(FIGURES_WORDS)
            .ok_or_else(|| reader.malformed())?;
        out.push(
            reader
                .take(length)?
                .chunks_exact(FIGURES_WORDS)
                .map(|w| {
                    let moments = CoMoments {
                        payoff: read_moments(&w[0..3]),
                        control: read_moments(&w[3..6]),
                        cross: f64::from_bits(w[6]),
                    };
                    let greeks = (w[7] != 0)
                        .then(|| std::array::from_fn(|g| read_moments(&w[8 + 3 * g..11 + 3 * g])));
                    Figures { moments, greeks }
                })
                .collect(),
        );
    }
    if reader.at != words.len() {
        return Err(reader.malformed());
    }
    Ok(out)
}

/// `size` processes as threads of this one: each member is one rank's
/// [`Communicator`], to be used on its own thread. For tests of the
/// sharding and for checking a distributed run's reproducibility on one
/// machine; MPI ranks are `mpi::World` (the `mpi` cargo feature).
pub struct ThreadGroup {
    rank: usize,
    shared: Arc<Shared>,
}

struct Shared {
    size: usize,
    barrier: Barrier,
    slots: Mutex<Vec<Vec<u64>>>,
}

impl ThreadGroup {
    /// The `size` members, rank order.
    pub fn new(size: usize) -> Vec<ThreadGroup> {
        let shared = Arc::new(Shared {
            size,
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size)
            .map(|rank| ThreadGroup {
                rank,
                shared: Arc::clone(&shared),
            })
            .collect()
    }
}

impl Communicator for ThreadGroup {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.shared.size
    }

    fn all_gather(&self, words: &[u64]) -> Result<Vec<Vec<u64>>> {
        let slots = || self.shared.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots()[self.rank] = words.to_vec();
        self.shared.barrier.wait();
        let all = slots().clone();
        // Nobody writes the next round's words before everyone has read.
        self.shared.barrier.wait();
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_blocks_once_in_order() {
        for points in [0..1, 5..BLOCK, 3..5 * BLOCK + 7, BLOCK..3 * BLOCK] {
            for size in 1..=7 {
                let shares: Vec<_> = (0..size)
                    .map(|r| share(points.clone(), r, size, BLOCK))
                    .collect();
                let mut next = points.start;
                for s in shares.iter().filter(|s| !s.is_empty()) {
                    assert_eq!(s.start, next, "{points:?} over {size}");
                    assert!(s.start == points.start || s.start % BLOCK == 0);
                    next = s.end;
                }
                assert_eq!(next, points.end, "{points:?} over {size}");
            }
        }
    }

    #[test]
    fn messages_round_trip() {
        let moments = |k: f64| Moments {
            count: k as u64,
            mean: k / 3.0,
            m2: k * 1e-7,
        };
        let figures = |k: f64, greeks: bool| Figures {
            moments: CoMoments {
                payoff: moments(k),
                control: moments(k + 1.0),
                cross: -k,
            },
            greeks: greeks.then(|| std::array::from_fn(|g| moments(k + g as f64))),
        };
        let groups = vec![
            vec![figures(3.0, true), figures(9.0, true)],
            vec![],
            vec![figures(1.0, false)],
        ];
        assert_eq!(decode(&encode(&groups), 3).unwrap(), groups);
        assert_eq!(
            decode(&encode_failure("device lost: ünïcode"), 3).unwrap_err(),
            "device lost: ünïcode"
        );
        let words = encode(&groups);
        assert!(decode(&words[..words.len() - 1], 3).is_err());
        assert!(decode(&words, 2).is_err());
        assert!(decode(&[u64::MAX - 1, 0, 0], 1).is_err());
    }

    #[test]
    fn streamed_parts_round_trip() {
        let inside = |singles: Vec<f64>, runs: Vec<(f64, u64)>| Inside { singles, runs };
        let parts = vec![
            StreamPart::First(
                Moments {
                    count: 7,
                    mean: -1.5,
                    m2: 0.25,
                },
                vec![3.0, -0.0, 1e300],
            ),
            StreamPart::Second(vec![
                (4, -12.5, inside(vec![-2.0, 1.0], vec![(-7.0, 9), (0.0, 2)])),
                (0, 0.0, inside(vec![], vec![])),
            ]),
            StreamPart::First(Moments::default(), vec![]),
        ];
        let words = message_of_parts(parts.iter().map(encode_part).collect());
        assert_eq!(decode_parts(&words).unwrap(), parts);
        // Cut short, or a run count past the message: malformed, not a panic.
        assert!(decode_parts(&words[..words.len() - 1]).is_err());
        // The second part alone: [parts, length, tag, levels, count, sum,
        // singles (2), the two singles, runs (2), ...].
        let mut corrupt = message_of_parts(vec![encode_part(&parts[1])]);
        assert_eq!(corrupt[9], 2);
        corrupt[9] = u64::MAX;
        assert!(decode_parts(&corrupt).is_err());
    }
}
