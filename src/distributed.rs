//! One pricing job shared by several processes (MPI ranks, or the threads of
//! a [`ThreadGroup`]), with the one-process answer bit for bit.
//!
//! The CPU tiers fold a job's samples in fixed [`BLOCK`]s (each block's
//! chunks in order, then the blocks in order; [`ComputeBackend::price_blocks`]).
//! In each round of a run ([`crate::price`]), process `r` of `n` takes a
//! contiguous share of the round's blocks (`r * blocks / n` up to
//! `(r + 1) * blocks / n`; none when there are more processes than blocks),
//! computes their figures on its own CPU tier, and every process gathers
//! every block's figures in process order ([`Communicator::all_gather`]),
//! then folds them exactly as one process would. Every process therefore
//! holds the same figures, takes the same decisions (a target's next round)
//! and returns the same result; callers print it on one (rank 0). A process
//! that fails sends its reason instead of its blocks, and every process then
//! returns an error naming it: no process waits on one that gave up.
//!
//! Same numbers: the result is the one-process run's bit for bit when every
//! process runs the same tier and instruction set (AVX-512 and AVX2 give the
//! same bits, see [`crate::hardware::Isa`]) for any number of processes,
//! threads per process, and any split of the work.

#[cfg(feature = "mpi")]
pub mod mpi;

use std::ops::Range;
use std::sync::{Arc, Barrier, Mutex};

use crate::backend::{BLOCK, Backend, ComputeBackend};
use crate::control::{self, Control};
use crate::error::{BackendError, InputError, Result};
use crate::pricing::{PricingJob, PricingResult, ValidPricing};
use crate::stats::{CoMoments, Figures, GREEKS, Moments};
use crate::{RunOptions, selector};

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
/// `options.backend` picks each process's tier: `Auto` takes the rayon tier
/// (all of the process's cores); the GPU is refused, since its device sums do
/// not split into blocks. Bad input is an error on every process before any
/// work or communication.
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
    let mut options = options.into();
    options.backend = match options.backend {
        Backend::Auto => Backend::Rayon,
        Backend::Gpu => {
            return Err(InputError::invalid(
                "backend",
                "gpu",
                "a distributed run takes a CPU tier on every process (scalar, simd or rayon): the GPU's device sums do not split into blocks",
            )
            .into());
        }
        cpu => cpu,
    };
    let mut selected = crate::resolve(&options, selector::Work::pricing(job))?;
    let tier = &*selected.tier;
    let (rank, size) = (communicator.rank(), communicator.size());
    let processes = if size == 1 { "process" } else { "processes" };
    selected.reason = format!("requested; the blocks shared by {size} {processes}");
    let mut result = crate::price_in_rounds(valid, &selected, &|points| {
        round(tier, valid, points, communicator)
    })?;
    result.backend = format!(
        "{} on {size} {processes} (this is process {rank})",
        result.backend
    );
    Ok(result)
}

/// Process `rank` of `size`'s share of the blocks of `points`.
pub fn share(points: Range<u64>, rank: usize, size: usize) -> Range<u64> {
    let (first, last) = (points.start / BLOCK, points.end.div_ceil(BLOCK));
    let blocks = last.saturating_sub(first);
    let (rank, size) = (rank as u64, size as u64);
    let from = first + blocks * rank / size;
    let to = first + blocks * (rank + 1) / size;
    if from == to {
        return points.start..points.start;
    }
    (from * BLOCK).max(points.start)..(to * BLOCK).min(points.end)
}

/// One round: this process's blocks, everyone's gathered, folded in order.
fn round(
    tier: &dyn ComputeBackend,
    valid: ValidPricing<'_>,
    points: Range<u64>,
    communicator: &dyn Communicator,
) -> Result<Vec<Figures>> {
    let groups = valid.groups() as usize;
    let mine = share(points, communicator.rank(), communicator.size());
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

/// The blocks of `groups` groups from [`encode`], or the failure a process
/// sent (or a malformed message) as its reason.
fn decode(words: &[u64], groups: usize) -> std::result::Result<Vec<Vec<Figures>>, String> {
    if words.first() == Some(&FAILED) {
        let length = words.get(1).copied().unwrap_or(0) as usize;
        let bytes: Vec<u8> = words
            .iter()
            .skip(2)
            .flat_map(|w| w.to_le_bytes())
            .take(length)
            .collect();
        return Err(String::from_utf8_lossy(&bytes).into_owned());
    }
    let malformed = || format!("a malformed message of {} words", words.len());
    let mut at = 0;
    let mut out = Vec::with_capacity(groups);
    for _ in 0..groups {
        let count = *words.get(at).ok_or_else(malformed)? as usize;
        at += 1;
        // Checked: a corrupt count must be a malformed message, not an
        // overflow.
        let end = count
            .checked_mul(FIGURES_WORDS)
            .and_then(|length| length.checked_add(at))
            .ok_or_else(malformed)?;
        let body = words.get(at..end).ok_or_else(malformed)?;
        at = end;
        out.push(
            body.chunks_exact(FIGURES_WORDS)
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
    if at != words.len() {
        return Err(malformed());
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
                let shares: Vec<_> = (0..size).map(|r| share(points.clone(), r, size)).collect();
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
}
