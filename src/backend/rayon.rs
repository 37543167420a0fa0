//! The rayon tier: all cores, the SIMD kernel per fixed chunk, partial results
//! combined in chunk order, so the bits never depend on the thread count.

use rayon::prelude::*;

use super::simd::{fill_pnl, price_chunk};
use super::{Backend, CHUNK, ComputeBackend, chunk_bounds, finish_price};
use crate::error::{BackendError, Result};
use crate::hardware::compiled_simd;
use crate::pricing::{PathSetup, PricingEstimate, PricingJob};
use crate::risk::{RiskEstimate, RiskModel, TailMeasure, VarJob};
use crate::stats::{Moments, pairwise_sum, tail_count, tail_measures};

/// All cores, deterministic.
#[derive(Debug, Clone, Copy, Default)]
pub struct RayonBackend {
    /// Worker threads; `None` uses rayon's global pool (`RAYON_NUM_THREADS`, else
    /// all cores).
    pub threads: Option<usize>,
}

impl RayonBackend {
    /// Runs `work` on a pool of the requested size.
    fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T> {
        match self.threads {
            None => Ok(work()),
            Some(threads) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|err| BackendError::Failed {
                        backend: "rayon",
                        reason: format!("cannot start {threads} threads: {err}"),
                    })?;
                Ok(pool.install(work))
            }
        }
    }

    fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(rayon::current_num_threads)
    }
}

impl ComputeBackend for RayonBackend {
    fn kind(&self) -> Backend {
        Backend::Rayon
    }

    fn describe(&self) -> String {
        let threads = self.thread_count();
        let plural = if threads == 1 { "" } else { "s" };
        format!("rayon ({}, {threads} thread{plural})", compiled_simd())
    }

    fn price(&self, job: &PricingJob) -> Result<PricingEstimate> {
        let setup = PathSetup::new(job);
        let chunks: Vec<(u64, u64)> = chunk_bounds(job.samples()).collect();
        let moments: Vec<Moments> = self.run(|| {
            chunks
                .par_iter()
                .map(|&(start, end)| price_chunk(&setup, job.seed, job.antithetic, start, end))
                .collect()
        })?;
        Ok(finish_price(job, moments))
    }

    fn risk(&self, job: &VarJob, model: &RiskModel) -> Result<RiskEstimate> {
        self.run(|| {
            let mut pnl = vec![0.0; job.scenarios as usize];
            pnl.par_chunks_mut(CHUNK as usize)
                .enumerate()
                .for_each(|(chunk, out)| fill_pnl(model, job.seed, chunk as u64 * CHUNK, out));
            let moments = pnl
                .par_chunks(CHUNK as usize)
                .map(Moments::of)
                .collect::<Vec<_>>()
                .into_iter()
                .fold(Moments::default(), Moments::merge);
            let tails = if pnl.len() < PARALLEL_SELECTION_MIN {
                let levels: Vec<f64> = job.confidences.iter().map(|c| c.level).collect();
                tail_measures(&mut pnl, &levels)
            } else {
                job.confidences
                    .iter()
                    .map(|c| parallel_tail(&pnl, tail_count(c.level, pnl.len())))
                    .collect()
            };
            RiskEstimate {
                mean: moments.mean,
                std_dev: moments.std_dev(),
                tails,
            }
        })
    }
}

/// Samples from which the tails are found by parallel radix selection. Below
/// it, one thread's `select_nth_unstable` is faster than four parallel
/// histogram passes (measured: 10^5 scenarios took 19 ms in parallel against
/// 4 ms in one thread). The choice depends on the sample size alone, so the
/// result still does not depend on the thread count.
const PARALLEL_SELECTION_MIN: usize = 1 << 20;

/// A total-order key: `a < b` as f64 (NaN aside) iff `key(a) < key(b)` as u64.
#[inline]
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

#[inline]
fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// Bits of the key a radix pass looks at.
const RADIX_BITS: u32 = 16;

/// VaR and ES from the `m` smallest of `pnl`, by parallel radix selection.
///
/// Four passes over the keys' 16-bit digits, each a parallel histogram of the
/// values that share the digits found so far, pin down the m-th smallest value
/// exactly without moving or copying the sample. Histograms are integer counts,
/// so any split of the work gives the same counts. The tail sum then runs over
/// fixed chunks in order, so ES is bit-for-bit the same on any thread count.
fn parallel_tail(pnl: &[f64], m: usize) -> TailMeasure {
    let mut prefix = 0u64;
    let mut rank = (m - 1) as u64; // rank of the target among those matching `prefix`
    for pass in 0..(64 / RADIX_BITS) {
        let known_bits = pass * RADIX_BITS;
        let shift = 64 - known_bits - RADIX_BITS;
        let matches = move |key: u64| {
            known_bits == 0 || key >> (64 - known_bits) == prefix >> (64 - known_bits)
        };
        let histogram = pnl
            .par_chunks(CHUNK as usize)
            .fold(
                || vec![0u64; 1 << RADIX_BITS],
                |mut counts, chunk| {
                    for &x in chunk {
                        let key = order_key(x);
                        if matches(key) {
                            counts[((key >> shift) & ((1 << RADIX_BITS) - 1)) as usize] += 1;
                        }
                    }
                    counts
                },
            )
            .reduce(
                || vec![0u64; 1 << RADIX_BITS],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        let mut below = 0u64;
        for (digit, &count) in histogram.iter().enumerate() {
            if below + count > rank {
                prefix |= (digit as u64) << shift;
                rank -= below;
                break;
            }
            below += count;
        }
    }
    let quantile = from_order_key(prefix);
    let (count_below, sum_below) = pnl
        .par_chunks(CHUNK as usize)
        .map(|chunk| {
            let below: Vec<f64> = chunk.iter().copied().filter(|&x| x < quantile).collect();
            (below.len() as u64, pairwise_sum(&below))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0u64, 0.0), |(n, s), (cn, cs)| (n + cn, s + cs));
    // Values equal to the quantile fill the tail up to m.
    let tail_sum = sum_below + (m as u64 - count_below) as f64 * quantile;
    TailMeasure {
        var: -quantile,
        es: -tail_sum / m as f64,
    }
}
