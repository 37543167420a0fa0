//! Deterministic reductions shared by every tier: sample moments merged in a
//! fixed order, and exact tail quantiles by selection.

mod tails;

use serde::{Deserialize, Serialize};

pub(crate) use tails::{Inside, Part, StreamPart, stored_chunk, summarise_streamed};
// `brackets` and the stored sample's summary serve the GPU tier too, which a
// build may leave out.
#[cfg(feature = "gpu")]
pub(crate) use tails::{brackets, summarise_stored};

use crate::rng::CHUNK;

/// Value-at-Risk and Expected Shortfall at one level, as positive losses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TailMeasure {
    /// Minus the tail quantile of the P&L.
    pub var: f64,
    /// Minus the mean of the P&L in the tail.
    pub es: f64,
}

impl TailMeasure {
    /// The losses of a tail whose quantile and mean P&L are given: their
    /// negatives, a zero loss reported as 0, not -0 (a book that cannot
    /// lose, or whose every scenario leaves it unchanged).
    pub(crate) fn of_pnl(quantile: f64, tail_mean: f64) -> TailMeasure {
        TailMeasure {
            var: 0.0 - quantile,
            es: 0.0 - tail_mean,
        }
    }
}

/// [`Moments::of`] one sample at a time: the sums about the first sample,
/// for a kernel that summarises its samples as it makes them rather than
/// storing them (the same figures bit for bit).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShiftedSums {
    count: u64,
    shift: f64,
    sum: f64,
    sum_sq: f64,
}

impl ShiftedSums {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        if self.count == 0 {
            self.shift = x;
        }
        let d = x - self.shift;
        self.sum += d;
        self.sum_sq += d * d;
        self.count += 1;
    }

    pub(crate) fn moments(&self) -> Moments {
        Moments::from_shifted_sums(self.count, self.shift, self.sum, self.sum_sq)
    }
}

/// Count, mean and sum of squared deviations of a sample (Chan et al.'s
/// parallel form), so partial results from fixed chunks merge exactly the same
/// way whatever ran them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    /// Samples.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Moments {
    /// Moments of a chunk from its sums taken about `shift`, a value from the
    /// chunk itself, so the sum of squares does not cancel catastrophically.
    pub fn from_shifted_sums(count: u64, shift: f64, sum: f64, sum_sq: f64) -> Self {
        if count == 0 {
            return Self::default();
        }
        let n = count as f64;
        let centred = sum / n;
        let m2 = sum_sq - sum * centred;
        Self {
            count,
            mean: shift + centred,
            // Rounding can leave a tiny negative; NaN (from non-finite
            // samples) must stay NaN, which `max` would turn into 0.
            m2: if m2 < 0.0 { 0.0 } else { m2 },
        }
    }

    /// Moments of a slice of samples, summed about its first element.
    pub fn of(samples: &[f64]) -> Self {
        let mut sums = ShiftedSums::default();
        for &x in samples {
            sums.add(x);
        }
        sums.moments()
    }

    /// Moments of a long sample: each fixed chunk of [`CHUNK`]
    /// values summed alone, the chunks merged in order.
    pub fn of_chunked(samples: &[f64]) -> Self {
        samples
            .chunks(CHUNK as usize)
            .map(Self::of)
            .fold(Self::default(), Self::merge)
    }

    /// The moments of both samples together.
    pub fn merge(self, other: Self) -> Self {
        if self.count == 0 {
            return other;
        }
        if other.count == 0 {
            return self;
        }
        let count = self.count + other.count;
        let (na, nb, n) = (self.count as f64, other.count as f64, count as f64);
        let delta = other.mean - self.mean;
        Self {
            count,
            mean: self.mean + delta * nb / n,
            m2: self.m2 + other.m2 + delta * delta * na * nb / n,
        }
    }

    /// Sample standard deviation (n - 1 denominator); 0 for fewer than 2 samples.
    pub fn std_dev(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / (self.count - 1) as f64).sqrt()
        }
    }
}

/// Moments of a payoff `y` and its control variate `c` over the same
/// samples, with their co-moment, merged the same fixed way as [`Moments`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CoMoments {
    /// Moments of the payoff.
    pub payoff: Moments,
    /// Moments of the control (same count).
    pub control: Moments,
    /// Sum of `(y - mean y)(c - mean c)`.
    pub cross: f64,
}

impl CoMoments {
    /// From sums taken about `shift = (y0, c0)`: `sums` holds the sums of
    /// `dy`, `dc`, `dy^2`, `dc^2` and `dy dc`.
    pub fn from_shifted_sums(count: u64, shift: (f64, f64), sums: [f64; 5]) -> Self {
        if count == 0 {
            return Self::default();
        }
        let [y, c, yy, cc, yc] = sums;
        Self {
            payoff: Moments::from_shifted_sums(count, shift.0, y, yy),
            control: Moments::from_shifted_sums(count, shift.1, c, cc),
            cross: yc - y * c / count as f64,
        }
    }

    /// Of `(payoff, control)` samples, summed about the first.
    pub fn of(samples: &[(f64, f64)]) -> Self {
        let Some(&shift) = samples.first() else {
            return Self::default();
        };
        let mut sums = [0.0; 5];
        for &(y, c) in samples {
            let (dy, dc) = (y - shift.0, c - shift.1);
            sums[0] += dy;
            sums[1] += dc;
            sums[2] += dy * dy;
            sums[3] += dc * dc;
            sums[4] += dy * dc;
        }
        Self::from_shifted_sums(samples.len() as u64, shift, sums)
    }

    /// Both samples together.
    pub fn merge(self, other: Self) -> Self {
        if self.payoff.count == 0 {
            return other;
        }
        if other.payoff.count == 0 {
            return self;
        }
        let (na, nb) = (self.payoff.count as f64, other.payoff.count as f64);
        let dy = other.payoff.mean - self.payoff.mean;
        let dc = other.control.mean - self.control.mean;
        Self {
            payoff: self.payoff.merge(other.payoff),
            control: self.control.merge(other.control),
            cross: self.cross + other.cross + dy * dc * na * nb / (na + nb),
        }
    }

    /// Samples.
    pub fn count(&self) -> u64 {
        self.payoff.count
    }
}

/// Number of Greeks: delta, gamma, vega, rho, theta.
pub const GREEKS: usize = 5;

/// What a tier measures of one group of a pricing job: the co-moments of
/// the payoff and its control and, when asked, the moments of each Greek's
/// per-sample estimator (delta, gamma, vega, rho, theta).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Payoff and control.
    pub moments: CoMoments,
    /// The Greeks' estimators, when the job asks for them.
    pub greeks: Option<[Moments; GREEKS]>,
}

impl Figures {
    /// Both samples together.
    pub fn merge(self, other: Self) -> Self {
        let greeks = match (self.greeks, other.greeks) {
            (Some(a), Some(b)) => Some(std::array::from_fn(|i| a[i].merge(b[i]))),
            (a, b) => a.or(b),
        };
        Self {
            moments: self.moments.merge(other.moments),
            greeks,
        }
    }
}

/// How many of `scenarios` sorted P&L values lie in the tail at `confidence`:
/// `ceil((1 - confidence) * scenarios)`, at least 1 (0 for an empty sample).
///
/// In floating point `1 - confidence` carries a relative error of up to
/// `eps / (1 - confidence)` (6.5e-12 at 0.999995), so a product within 1e-9
/// (relative) of an integer is taken to be that integer: `(1 - 0.95) * 1e6`
/// is 50000.000000000004 in f64, and the tail is 50,000 scenarios, not
/// 50,001. [`tail_count_decimal`] is exact for levels written in decimal.
pub fn tail_count(confidence: f64, scenarios: usize) -> usize {
    if scenarios == 0 {
        return 0;
    }
    let exact = (1.0 - confidence) * scenarios as f64;
    let nearest = exact.round();
    let count = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    (count.max(0.0) as usize).clamp(1, scenarios)
}

/// [`tail_count`] computed exactly from the level's decimal text (`"0.999995"`:
/// `ceil(5 n / 10^6)` in integers), or `None` when the text is not a plain
/// decimal of at most 20 places.
pub fn tail_count_decimal(text: &str, scenarios: usize) -> Option<usize> {
    let digits = text
        .trim()
        .strip_prefix("0.")
        .or_else(|| text.trim().strip_prefix('.'))?;
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10u128.pow(digits.len() as u32);
    let level: u128 = digits.parse().ok()?;
    let tail = (scale - level) * scenarios as u128;
    let count = tail.div_ceil(scale) as usize;
    (scenarios > 0).then(|| count.clamp(1, scenarios))
}

/// VaR and ES of a simulated P&L sample at each confidence level; an error
/// for an empty sample or a level outside (0, 1).
///
/// With `m = tail_count(confidence, n)`, VaR is minus the m-th smallest P&L and ES
/// minus the mean of the m smallest, the empirical quantile and tail mean. Each
/// is found by selection (`select_nth_unstable_by`), O(n) per level, never a full
/// sort; `pnl` is reordered in place.
pub fn tail_measures(
    pnl: &mut [f64],
    confidences: &[f64],
) -> Result<Vec<TailMeasure>, crate::error::InputError> {
    if pnl.is_empty() {
        return Err(crate::error::InputError::invalid(
            "scenarios",
            0,
            "a tail needs at least 1 scenario",
        ));
    }
    let counts = confidences
        .iter()
        .map(|&level| {
            crate::error::open_unit("confidence", level).map(|_| tail_count(level, pnl.len()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(tails_of_counts(pnl, &counts))
}

/// The tails of the `m` smallest values for each `m` of `counts` (each in
/// `1..=pnl.len()`), by selection on one thread. Levels are processed from the
/// widest tail down, each selection working inside the previous one's lower
/// part.
pub(crate) fn tails_of_counts(pnl: &mut [f64], counts: &[usize]) -> Vec<TailMeasure> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
    let mut out = vec![TailMeasure { var: 0.0, es: 0.0 }; counts.len()];
    let mut window = pnl.len();
    for i in order {
        let m = counts[i];
        let (_, &mut quantile, _) = pnl[..window].select_nth_unstable_by(m - 1, f64::total_cmp);
        window = m;
        let tail_sum = pairwise_sum(&pnl[..m]);
        out[i] = TailMeasure::of_pnl(quantile, tail_sum / m as f64);
    }
    out
}

/// Pairwise (cascade) summation: error grows with log n rather than n.
pub fn pairwise_sum(values: &[f64]) -> f64 {
    const LEAF: usize = 256;
    if values.len() <= LEAF {
        values.iter().sum()
    } else {
        let (left, right) = values.split_at(values.len() / 2);
        pairwise_sum(left) + pairwise_sum(right)
    }
}
