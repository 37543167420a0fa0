//! Tails of a simulated P&L sample on all cores: one bracketed pass for every
//! confidence level over fixed chunks, whether the chunks are stored or
//! regenerated. Every count is an integer and every sum is taken per fixed
//! chunk and combined in chunk order, so the figures never depend on the
//! thread count, the tier that made the sample, or the processes that shared
//! it.

use super::{Moments, TailMeasure, pairwise_sum};
use crate::rng::CHUNK;

/// The fewest values in the strided subsample that brackets each tail's
/// quantile.
const BRACKET_SAMPLE: usize = 1 << 16;

/// Brackets of the quantiles of ranks `counts` (of `n` values) from a sorted
/// subsample: six binomial standard deviations either side of each rank's
/// place in the subsample, open-ended (infinite) where that runs off its
/// ends. Returns `(low, high, margin)`, the margin in subsample places. The
/// streamed summary and the GPU's device tails share it.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
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

/// Per level: the count of a chunk's values below the bracket, their sum,
/// and the values inside it.
pub(crate) type Part = (u64, f64, Inside);

/// Values inside a bracket: those seen once as they are, and a value seen
/// more than once as a run (the value and its count), so a sample with a
/// heavy tie (a book whose options are worth nothing in most scenarios)
/// never holds the tied values one by one, and a tie-free one takes no more
/// memory than its values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Inside {
    /// Values seen once.
    pub(crate) singles: Vec<f64>,
    /// Values seen more than once, with their counts.
    pub(crate) runs: Vec<(f64, u64)>,
}

impl Inside {
    /// Inside values from a list in any order: the same whatever the order.
    fn of(values: Vec<f64>) -> Inside {
        Inside::split(distinct(values.into_iter().map(|x| (x, 1)).collect()))
    }

    /// Distinct values with their counts, as singles and runs.
    fn split(distinct: Vec<(f64, u64)>) -> Inside {
        let mut inside = Inside::default();
        for (value, count) in distinct {
            if count == 1 {
                inside.singles.push(value);
            } else {
                inside.runs.push((value, count));
            }
        }
        inside
    }

    fn extend(&mut self, other: &Inside) {
        self.singles.extend_from_slice(&other.singles);
        self.runs.extend_from_slice(&other.runs);
    }

    /// Each value once: singles that repeat, or that a run holds, join it.
    fn combine(&mut self) {
        *self = Inside::split(self.ascending());
    }

    fn len(&self) -> usize {
        self.singles.len() + self.runs.len()
    }

    /// Every distinct value, ascending, with its count.
    fn ascending(&self) -> Vec<(f64, u64)> {
        let mut all: Vec<(f64, u64)> = self.singles.iter().map(|&x| (x, 1)).collect();
        all.extend_from_slice(&self.runs);
        distinct(all)
    }
}

/// `(value, count)` pairs sorted by value, the counts of equal values
/// (bit for bit) added together.
fn distinct(mut pairs: Vec<(f64, u64)>) -> Vec<(f64, u64)> {
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut kept: Vec<(f64, u64)> = Vec::with_capacity(pairs.len());
    for (value, count) in pairs {
        match kept.last_mut() {
            Some(last) if last.0.to_bits() == value.to_bits() => last.1 += count,
            _ => kept.push((value, count)),
        }
    }
    kept
}

/// One chunk's [`Part`] for each bracket `(low, high)`.
fn chunk_parts(chunk: &[f64], brackets: &[(f64, f64)]) -> Vec<Part> {
    let mut below = Vec::new();
    brackets
        .iter()
        .map(|&(low, high)| {
            below.clear();
            let mut inside = Vec::new();
            for &x in chunk {
                if x < low {
                    below.push(x);
                } else if x <= high {
                    inside.push(x);
                }
            }
            (below.len() as u64, pairwise_sum(&below), Inside::of(inside))
        })
        .collect()
}

/// One level's parts added up in chunk order.
#[derive(Debug, Clone, Default)]
struct Total {
    count_below: u64,
    sum_below: f64,
    /// The values inside the bracket, combined whenever they have doubled
    /// since the last time, so a tie takes one run however many chunks hold
    /// it.
    inside: Inside,
    combined: usize,
}

impl Total {
    fn add(&mut self, (count, sum, inside): &Part) {
        self.count_below += count;
        self.sum_below += sum;
        self.inside.extend(inside);
        if self.inside.len() > 2 * self.combined + (1 << 16) {
            self.inside.combine();
            self.combined = self.inside.len();
        }
    }

    /// The tail of the `m` smallest, if the bracket held the quantile.
    fn tail(self, m: usize) -> Option<TailMeasure> {
        let ascending = self.inside.ascending();
        let mut rank = (m as u64 - 1).checked_sub(self.count_below)?;
        let at = ascending.iter().position(|&(_, count)| {
            let here = rank < count;
            rank = rank.saturating_sub(count);
            here
        })?;
        let quantile = ascending[at].0;
        // The values inside below the quantile, each distinct value's total
        // summed in ascending order: the same whatever chunks held them.
        let more = &ascending[..at];
        let count_below = self.count_below + more.iter().map(|&(_, count)| count).sum::<u64>();
        let totals: Vec<f64> = more
            .iter()
            .map(|&(value, count)| value * count as f64)
            .collect();
        let sum_below = self.sum_below + pairwise_sum(&totals);
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
        let brackets: Vec<(f64, f64)> = brackets_of_width(&sample, n as usize, &ranks, sds)
            .into_iter()
            .map(|(low, high, _)| (low, high))
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
            .all(|&(low, high)| low == f64::NEG_INFINITY && high == f64::INFINITY)
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

/// [`summarise_streamed`] over a stored sample, its chunks shared by the
/// current rayon pool: what the GPU tier runs on its read-back sample.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn summarise_stored(
    pnl: &[f64],
    counts: &[usize],
    cancelled: &dyn Fn() -> bool,
) -> (Moments, Vec<TailMeasure>) {
    use rayon::prelude::*;
    summarise_streamed(
        pnl.len() as u64,
        counts,
        &|chunks, work| {
            chunks
                .into_par_iter()
                .map(|chunk| work(chunk, stored_chunk(pnl, chunk)))
                .collect()
        },
        cancelled,
    )
}

/// Chunk `chunk` of a stored sample (the last one may be short).
pub(crate) fn stored_chunk(pnl: &[f64], chunk: u64) -> &[f64] {
    let first = (chunk * CHUNK) as usize;
    &pnl[first..(first + CHUNK as usize).min(pnl.len())]
}

/// Runs `work(chunk, values)` on the regenerated values of each chunk of a
/// range, returning the results in chunk order.
pub(crate) type ChunkMap<'a> = &'a dyn Fn(
    std::ops::Range<u64>,
    &(dyn Fn(u64, &[f64]) -> StreamPart + Sync),
) -> Vec<StreamPart>;

/// One chunk's share of [`summarise_streamed`]'s passes.
#[derive(Debug, PartialEq)]
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
    TailMeasure::of_pnl(quantile, tail_sum / m as f64)
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

    /// The summary of a stored sample, never cancelled.
    fn streamed(pnl: &[f64], counts: &[usize]) -> (Moments, Vec<TailMeasure>) {
        summarise_stored(pnl, counts, &|| false)
    }

    #[test]
    fn the_streamed_summary_is_exact() {
        // Against a full sort, at sizes with one chunk, several, and a last
        // chunk cut short; levels from the smallest value to the largest.
        for n in [300_001, (1 << 21) + 12_345] {
            let pnl = sample(n);
            let counts = [1, 2, 17, n / 20, n / 100 + 1, n / 2, n - 3, n];
            let (moments, tails) = streamed(&pnl, &counts);
            assert_eq!(moments, Moments::of_chunked(&pnl));
            assert_close(&tails, &exact(&pnl, &counts));
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
    }

    #[test]
    fn a_heavy_tie_is_kept_as_one_run() {
        // Mostly one value (zero weights, or options worth nothing in most
        // scenarios): every level's bracket holds nearly the whole sample.
        // Exact, and the tie travels as one run a chunk, not value by value.
        let n = (1 << 20) + 5;
        let mut flat = vec![-7.0; n];
        for (i, x) in flat.iter_mut().enumerate().step_by(1001) {
            *x = i as f64;
        }
        let counts = [1, 52_429, 524_290, n];
        assert_close(&streamed(&flat, &counts).1, &exact(&flat, &counts));
        let parts = chunk_parts(&flat[..CHUNK as usize], &[(-7.0, 0.0)]);
        let (below, _, inside) = &parts[0];
        assert_eq!(*below, 0);
        assert_eq!(inside.runs.len(), 1);
        assert_eq!(inside.runs[0].0, -7.0);
        assert_eq!(inside.singles, vec![0.0]);
        // A value held once by one chunk and as a run by another is one
        // value with its total count.
        let mut mixed = Inside::of(vec![1.0, -7.0]);
        mixed.extend(&Inside::of(vec![-7.0, 2.0, -7.0]));
        assert_eq!(mixed.ascending(), vec![(-7.0, 3), (1.0, 1), (2.0, 1)]);
        mixed.combine();
        assert_eq!(mixed.singles, vec![1.0, 2.0]);
        assert_eq!(mixed.runs, vec![(-7.0, 3)]);
        // Runs combine to the same figures whatever order they came in.
        let mut total = Total::default();
        let mut reversed = Total::default();
        let parts: Vec<Vec<Part>> = flat
            .chunks(CHUNK as usize)
            .map(|chunk| chunk_parts(chunk, &[(-8.0, 1e9)]))
            .collect();
        for part in &parts {
            total.add(&part[0]);
        }
        for part in parts.iter().rev() {
            reversed.add(&part[0]);
        }
        for m in counts {
            let (a, b) = (total.clone().tail(m), reversed.clone().tail(m));
            assert_eq!(a, b, "{m}");
            assert_close(&[a.unwrap()], &exact(&flat, &[m]));
        }
    }

    #[test]
    fn the_streamed_summary_does_not_depend_on_the_thread_count() {
        let pnl = sample(5 * CHUNK as usize + 7);
        let counts = [300, 4_100];
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| streamed(&pnl, &counts))
        };
        let (moments, tails) = run(1);
        for threads in [2, 3, 8] {
            let (many_moments, many) = run(threads);
            assert_eq!(moments, many_moments);
            for (a, b) in tails.iter().zip(&many) {
                assert_eq!(a.var.to_bits(), b.var.to_bits());
                assert_eq!(a.es.to_bits(), b.es.to_bits());
            }
        }
    }
}
