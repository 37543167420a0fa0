//! Tails of a simulated P&L sample on all cores: one bracketed pass for every
//! confidence level, with exact radix selection as the fallback. Every count is
//! an integer and every sum is taken per fixed chunk and combined in chunk
//! order, so the figures never depend on the thread count.
//!
//! The CPU tiers summarise every sample with [`summarise_streamed`]; the
//! stored sample's parallel summary serves the GPU's read-back sample, so a
//! build without the GPU leaves it unused.
#![cfg_attr(not(feature = "gpu"), allow(dead_code))]

use rayon::prelude::*;

use super::{Moments, TailMeasure, pairwise_sum, tails_of_counts};
use crate::rng::CHUNK;

/// Mean, spread and tails of a simulated P&L sample on the current rayon pool:
/// moments per fixed chunk merged in order, tails by the bracketed selection from
/// 2^20 values up (one thread's selection below), so
/// the figures do not depend on the thread count. The rayon and GPU tiers
/// summarise their samples with it.
pub(crate) fn summarise_parallel(pnl: &mut [f64], counts: &[usize]) -> (Moments, Vec<TailMeasure>) {
    let moments = pnl
        .par_chunks(CHUNK as usize)
        .map(Moments::of)
        .collect::<Vec<_>>()
        .into_iter()
        .fold(Moments::default(), Moments::merge);
    let tails = if pnl.len() < PARALLEL_SELECTION_MIN {
        tails_of_counts(pnl, counts)
    } else {
        parallel_tails(pnl, counts)
    };
    (moments, tails)
}

/// Samples from which the tails are found in parallel ([`parallel_tails`]).
/// Below it, one thread's `select_nth_unstable` is as fast. The choice depends
/// on the sample size alone, so the result still does not depend on the
/// thread count.
const PARALLEL_SELECTION_MIN: usize = 1 << 20;

/// Values in the strided sample that brackets each tail's quantile.
const BRACKET_SAMPLE: usize = 1 << 16;

/// VaR and ES for tail sizes `counts` (the `m` smallest of `pnl` each), in one
/// parallel pass over the sample for all levels together.
///
/// A strided subsample (every `n / 65,536`-th value, the same whatever the
/// thread count) is sorted, and each level's quantile is bracketed by the
/// subsample's values six binomial standard deviations either side of its
/// rank. One pass over fixed chunks then counts and sums, per level, the values
/// below the bracket and collects those inside it; the quantile is selected
/// among those few. Counts are integers and sums are per chunk, combined in
/// chunk order, so the result is the same on any thread count. Should a
/// bracket miss (the subsample would have to be wildly unrepresentative), that
/// level falls back to exact radix selection ([`radix_tail`]).
fn parallel_tails(pnl: &[f64], counts: &[usize]) -> Vec<TailMeasure> {
    bracketed_tails(pnl, counts)
        .into_iter()
        .zip(counts)
        .map(|(tail, &m)| tail.unwrap_or_else(|| radix_tail(pnl, m)))
        .collect()
}

/// Brackets of the quantiles of ranks `counts` (of `n` values) from a sorted
/// subsample: six binomial standard deviations either side of each rank's
/// place in the subsample, open-ended (infinite) where that runs off its
/// ends. Returns `(low, high, margin)`, the margin in subsample places. The
/// CPU's parallel tails and the GPU's device tails share it.
pub(crate) fn brackets(sorted: &[f64], n: usize, counts: &[usize]) -> Vec<(f64, f64, f64)> {
    brackets_of_width(sorted, n, counts, 6.0)
}

/// [`brackets`] at `sds` binomial standard deviations either side.
fn brackets_of_width(sorted: &[f64], n: usize, counts: &[usize], sds: f64) -> Vec<(f64, f64, f64)> {
    let s = sorted.len() as f64;
    counts
        .iter()
        .map(|&m| {
            let p = m as f64 / n as f64;
            let centre = p * s;
            let margin = sds * (s * p * (1.0 - p)).sqrt() + 2.0;
            let low = centre - margin;
            let high = centre + margin;
            (
                if low < 0.0 {
                    f64::NEG_INFINITY
                } else {
                    sorted[low as usize]
                },
                if high >= s - 1.0 {
                    f64::INFINITY
                } else {
                    sorted[high.ceil() as usize]
                },
                margin,
            )
        })
        .collect()
}

/// The bracketed selection of [`parallel_tails`]: `None` for a level whose
/// bracket missed its quantile.
fn bracketed_tails(pnl: &[f64], counts: &[usize]) -> Vec<Option<TailMeasure>> {
    let n = pnl.len();
    let mut sample: Vec<f64> = pnl
        .iter()
        .step_by((n / BRACKET_SAMPLE).max(1))
        .copied()
        .collect();
    sample.sort_unstable_by(f64::total_cmp);
    let s = sample.len() as f64;
    // (low, high, values a chunk may hold inside the bracket per value of
    // the chunk): four times the share the subsample puts inside, so ties
    // (many equal P&L values) cannot make the bracket hold the sample.
    let brackets: Vec<(f64, f64, f64)> = brackets(&sample, n, counts)
        .into_iter()
        .map(|(low, high, margin)| (low, high, 4.0 * (2.0 * margin + 1.0) / s))
        .collect();
    let parts: Vec<Vec<Part>> = pnl
        .par_chunks(CHUNK as usize)
        .map(|chunk| chunk_parts(chunk, &brackets))
        .collect();
    merge_parts(&parts, counts)
}

/// Per level: (count below the bracket, their sum, the values inside it, or
/// `None` past the chunk's share of the budget).
pub(crate) type Part = (u64, f64, Option<Vec<f64>>);

/// One chunk's [`Part`] for each bracket `(low, high, share)`, `share` being
/// the values the chunk may hold inside per value of the chunk.
fn chunk_parts(chunk: &[f64], brackets: &[(f64, f64, f64)]) -> Vec<Part> {
    let mut below = Vec::new();
    brackets
        .iter()
        .map(|&(low, high, share)| {
            below.clear();
            let budget = ((share * chunk.len() as f64) as usize).saturating_add(256);
            let mut inside = Some(Vec::new());
            for &x in chunk {
                if x < low {
                    below.push(x);
                } else if x <= high
                    && let Some(values) = &mut inside
                {
                    if values.len() < budget {
                        values.push(x);
                    } else {
                        inside = None;
                    }
                }
            }
            (below.len() as u64, pairwise_sum(&below), inside)
        })
        .collect()
}

/// The tails of ranks `counts` from every chunk's parts, combined in chunk
/// order: `None` for a level whose bracket missed its quantile (or a chunk
/// that ran over its budget).
fn merge_parts(parts: &[Vec<Part>], counts: &[usize]) -> Vec<Option<TailMeasure>> {
    let mut totals = vec![Total::default(); counts.len()];
    for part in parts {
        for (total, part) in totals.iter_mut().zip(part) {
            total.add(part);
        }
    }
    totals
        .into_iter()
        .zip(counts)
        .map(|(total, &m)| total.tail(m))
        .collect()
}

/// One level's parts added up in chunk order.
#[derive(Debug, Clone, Default)]
struct Total {
    count_below: u64,
    sum_below: f64,
    /// The values inside the bracket (dropped once a chunk ran over its
    /// budget).
    inside: Vec<f64>,
    over_budget: bool,
}

impl Total {
    fn add(&mut self, (count, sum, values): &Part) {
        self.count_below += count;
        self.sum_below += sum;
        match values {
            Some(values) if !self.over_budget => self.inside.extend_from_slice(values),
            _ => {
                self.over_budget = true;
                self.inside = Vec::new();
            }
        }
    }

    /// The tail of the `m` smallest, if the bracket held the quantile.
    fn tail(mut self, m: usize) -> Option<TailMeasure> {
        if self.over_budget {
            return None;
        }
        let inside = &mut self.inside;
        let rank = (m as u64 - 1).checked_sub(self.count_below)?;
        if rank as usize >= inside.len() {
            return None;
        }
        let (_, &mut quantile, _) = inside.select_nth_unstable_by(rank as usize, f64::total_cmp);
        let more: Vec<f64> = inside.iter().copied().filter(|&x| x < quantile).collect();
        let count_below = self.count_below + more.len() as u64;
        let sum_below = self.sum_below + pairwise_sum(&more);
        Some(tail_from(quantile, count_below, sum_below, m))
    }
}

/// Mean, spread and tails of a P&L sample of `n` values: `map(chunks,
/// work)` runs `work(chunk, values)` on the values of each fixed chunk of
/// `chunks` (regenerated from their counters, or read from a stored sample)
/// and returns the results in chunk order. The CPU tiers summarise every
/// VaR job this way, stored or not, so their figures depend on the P&L
/// alone, not on where it was kept or which process computed which chunk.
///
/// Two passes, in memory that grows as `n^(2/3)` (the subsample and the
/// values inside the brackets): the first merges the chunks' moments in
/// chunk order and keeps a strided subsample; the second counts and sums,
/// chunk by chunk, the values below each level's bracket and keeps those
/// inside, and the quantile is selected among those: exactly the sample's
/// quantile, and its tail summed in a fixed grouping. A level whose bracket
/// missed is run again with a bracket four times as wide, until it holds its
/// quantile.
///
/// `cancelled` is asked between batches of chunks; once it says yes the
/// passes stop and the figures returned are meaningless (the caller
/// discards them).
pub(crate) fn summarise_streamed(
    n: u64,
    counts: &[usize],
    map: ChunkMap<'_>,
    cancelled: &dyn Fn() -> bool,
) -> (Moments, Vec<TailMeasure>) {
    let chunks = n.div_ceil(CHUNK);
    // A subsample of n^(2/3) values (at least the stored path's 2^16): the
    // brackets then hold a fraction n^(-1/3) of the sample, so subsample and
    // brackets together take O(n^(2/3)) memory (about 100 MB at 10^10).
    let size = (n as f64).powf(2.0 / 3.0).max(BRACKET_SAMPLE as f64) as u64;
    let stride = (n / size).max(1);
    let batches = || {
        (0..chunks)
            .step_by(STREAM_BATCH as usize)
            .map(move |first| first..(first + STREAM_BATCH).min(chunks))
    };
    let mut moments = Moments::default();
    let mut sample = Vec::new();
    for batch in batches() {
        if cancelled() {
            break;
        }
        let firsts = map(batch, &|chunk, values| {
            let first = chunk * CHUNK;
            let picked = (first.next_multiple_of(stride)..first + values.len() as u64)
                .step_by(stride as usize)
                .map(|i| values[(i - first) as usize])
                .collect();
            StreamPart::First(Moments::of(values), picked)
        });
        for part in firsts {
            if let StreamPart::First(chunk_moments, picked) = part {
                moments = moments.merge(chunk_moments);
                sample.extend(picked);
            }
        }
    }
    sample.sort_unstable_by(f64::total_cmp);
    let mut tails: Vec<Option<TailMeasure>> = vec![None; counts.len()];
    let mut sds = 6.0;
    while tails.iter().any(Option::is_none) && !cancelled() {
        let pending: Vec<usize> = (0..counts.len()).filter(|&l| tails[l].is_none()).collect();
        let ranks: Vec<usize> = pending.iter().map(|&l| counts[l]).collect();
        let brackets: Vec<(f64, f64, f64)> = brackets_of_width(&sample, n as usize, &ranks, sds)
            .into_iter()
            .map(|(low, high, _)| (low, high, f64::INFINITY))
            .collect();
        // Parts added up batch by batch in chunk order, never all kept.
        let mut totals = vec![Total::default(); pending.len()];
        for batch in batches() {
            if cancelled() {
                break;
            }
            let seconds = map(batch, &|_, values| {
                StreamPart::Second(chunk_parts(values, &brackets))
            });
            for part in seconds {
                if let StreamPart::Second(part) = part {
                    for (total, part) in totals.iter_mut().zip(&part) {
                        total.add(part);
                    }
                }
            }
        }
        for ((&level, total), &m) in pending.iter().zip(totals).zip(&ranks) {
            tails[level] = total.tail(m);
        }
        if brackets
            .iter()
            .all(|&(low, high, _)| low == f64::NEG_INFINITY && high == f64::INFINITY)
        {
            // The brackets held every value: only values outside every
            // bracket (NaN) can leave a level unfound; it is reported as
            // NaN, which the library refuses as non-finite.
            break;
        }
        sds *= 4.0;
    }
    let missing = TailMeasure {
        var: f64::NAN,
        es: f64::NAN,
    };
    (
        moments,
        tails.into_iter().map(|t| t.unwrap_or(missing)).collect(),
    )
}

/// Runs `work(chunk, values)` on the regenerated values of each chunk of a
/// range, returning the results in chunk order.
pub(crate) type ChunkMap<'a> = &'a dyn Fn(
    std::ops::Range<u64>,
    &(dyn Fn(u64, &[f64]) -> StreamPart + Sync),
) -> Vec<StreamPart>;

/// One chunk's share of [`summarise_streamed`]'s passes.
pub(crate) enum StreamPart {
    /// First pass: the chunk's moments and its subsample values.
    First(Moments, Vec<f64>),
    /// Second pass: the chunk's parts for the pending levels.
    Second(Vec<Part>),
}

/// Chunks one streamed pass hands the executor at once.
const STREAM_BATCH: u64 = 8192;

/// The tail measure of the `m` smallest values, given the quantile (the m-th
/// smallest) and the count and sum of the values strictly below it: values
/// equal to the quantile fill the tail up to `m`.
fn tail_from(quantile: f64, count_below: u64, sum_below: f64, m: usize) -> TailMeasure {
    let tail_sum = sum_below + (m as u64 - count_below) as f64 * quantile;
    TailMeasure {
        var: -quantile,
        es: -tail_sum / m as f64,
    }
}

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

/// VaR and ES from the `m` smallest of `pnl`, by parallel radix selection:
/// exact whatever the data, the fallback of [`parallel_tails`].
///
/// Four passes over the keys' 16-bit digits, each a parallel histogram of the
/// values that share the digits found so far, pin down the m-th smallest value
/// exactly without moving or copying the sample. Histograms are integer counts,
/// so any split of the work gives the same counts. The tail sum then runs over
/// fixed chunks in order, so ES is bit-for-bit the same on any thread count.
fn radix_tail(pnl: &[f64], m: usize) -> TailMeasure {
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
    tail_from(quantile, count_below, sum_below, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic heavy-tailed sample with ties.
    fn sample(n: usize) -> Vec<f64> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let u = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                let x = (u / (1.0 - u)).ln() * 1000.0;
                // Every 97th value repeats a round number: ties at the quantile.
                if i % 97 == 0 { x.round() } else { x }
            })
            .collect()
    }

    fn exact(pnl: &[f64], counts: &[usize]) -> Vec<TailMeasure> {
        counts
            .iter()
            .map(|&m| {
                let mut sorted = pnl.to_vec();
                sorted.sort_unstable_by(f64::total_cmp);
                let quantile = sorted[m - 1];
                let below: Vec<f64> = sorted.iter().copied().filter(|&x| x < quantile).collect();
                tail_from(quantile, below.len() as u64, pairwise_sum(&below), m)
            })
            .collect()
    }

    fn assert_close(got: &[TailMeasure], want: &[TailMeasure]) {
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.var, w.var);
            assert!(
                (g.es - w.es).abs() <= 1e-12 * w.es.abs(),
                "{} vs {}",
                g.es,
                w.es
            );
        }
    }

    /// [`summarise_streamed`] over `pnl` as if it were regenerated chunk by
    /// chunk, with rayon's map.
    fn streamed(pnl: &[f64], counts: &[usize]) -> (Moments, Vec<TailMeasure>) {
        summarise_streamed(
            pnl.len() as u64,
            counts,
            &|chunks, work| {
                chunks
                    .into_par_iter()
                    .map(|chunk| {
                        let first = (chunk * CHUNK) as usize;
                        work(chunk, &pnl[first..(first + CHUNK as usize).min(pnl.len())])
                    })
                    .collect()
            },
            &|| false,
        )
    }

    #[test]
    fn the_streamed_summary_is_the_stored_one() {
        // Against the GPU's read-back summary (`summarise_parallel`): below
        // 2^24 values the subsample is the same and so is every figure, bit
        // for bit; past it the streamed subsample grows (n^(2/3)): the same
        // VaR, ES to rounding. (The read-back summary is checked against a
        // full sort elsewhere.)
        for n in [(1 << 21) + 12_345, (1 << 25) + 3] {
            let pnl = sample(n);
            let counts = [1, 17, n / 20, n / 100 + 1, n / 2, n - 3, n];
            let (moments, tails) = streamed(&pnl, &counts);
            let (stored_moments, stored_tails) = summarise_parallel(&mut pnl.clone(), &counts);
            assert_eq!(moments, stored_moments);
            assert_close(&tails, &stored_tails);
            if n < 1 << 24 {
                assert_eq!(tails, stored_tails);
                assert_close(&tails, &exact(&pnl, &counts));
            }
        }
    }

    #[test]
    fn a_streamed_bracket_that_misses_is_widened_until_it_holds() {
        // The subsample sees only huge values, so the first brackets miss;
        // wider ones (at last infinite) find every level exactly.
        let n = 1 << 18;
        let stride = n / BRACKET_SAMPLE;
        let mut pnl = sample(n);
        for (i, x) in pnl.iter_mut().enumerate() {
            if i % stride == 0 {
                *x = 1e9 + i as f64;
            }
        }
        let counts = [1, 6_554, 60_000];
        let (_, tails) = streamed(&pnl, &counts);
        assert_close(&tails, &exact(&pnl, &counts));
        // Ties everywhere: still exact.
        let mut flat = vec![-7.0; n];
        for (i, x) in flat.iter_mut().enumerate().step_by(1001) {
            *x = i as f64;
        }
        assert_close(&streamed(&flat, &counts).1, &exact(&flat, &counts));
    }

    #[test]
    fn bracketed_selection_is_exact() {
        let pnl = sample(300_001);
        let counts = [1, 2, 15_001, 3_001, 150_001, 299_999, 300_001];
        let bracketed = bracketed_tails(&pnl, &counts);
        assert!(bracketed.iter().all(Option::is_some), "a bracket missed");
        assert_close(&parallel_tails(&pnl, &counts), &exact(&pnl, &counts));
    }

    #[test]
    fn a_misleading_subsample_falls_back_to_radix_selection() {
        // Every value the strided subsample sees is huge, so every bracket
        // misses and each level must come from radix selection.
        let n = 1 << 17;
        let stride = n / BRACKET_SAMPLE;
        let mut pnl = sample(n);
        for (i, x) in pnl.iter_mut().enumerate() {
            if i % stride == 0 {
                *x = 1e9 + i as f64;
            }
        }
        let counts = [6_554, 20_000, 60_000];
        assert!(bracketed_tails(&pnl, &counts).iter().all(Option::is_none));
        assert_close(&parallel_tails(&pnl, &counts), &exact(&pnl, &counts));
        for &m in &counts {
            assert_close(&[radix_tail(&pnl, m)], &exact(&pnl, &[m]));
        }
    }

    #[test]
    fn ties_at_the_quantile_fall_back_instead_of_copying_the_sample() {
        // Mostly one value (zero weights, or sigma 1e-300): every level's
        // bracket would hold nearly the whole sample. Past its budget a level
        // uses radix selection, which copies nothing, and stays exact.
        let n = (1 << 20) + 5;
        let mut pnl = vec![-7.0; n];
        for (i, x) in pnl.iter_mut().enumerate().step_by(1001) {
            *x = i as f64;
        }
        let counts = [1, 52_429, 524_290];
        assert!(bracketed_tails(&pnl, &counts).iter().all(Option::is_none));
        assert_close(&parallel_tails(&pnl, &counts), &exact(&pnl, &counts));
    }

    #[test]
    fn parallel_tails_do_not_depend_on_the_thread_count() {
        let pnl = sample(5 * CHUNK as usize + 7);
        let counts = [300, 4_100];
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| parallel_tails(&pnl, &counts))
        };
        let one = run(1);
        for threads in [2, 3, 8] {
            let many = run(threads);
            for (a, b) in one.iter().zip(&many) {
                assert_eq!(a.var.to_bits(), b.var.to_bits());
                assert_eq!(a.es.to_bits(), b.es.to_bits());
            }
        }
    }
}
