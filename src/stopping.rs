//! The stopping rule of a run with a target standard error: a pilot sizes
//! the run, and a final stage of fresh samples alone makes the estimate.
//!
//! Stopping when the samples so far reach the target, and reporting those
//! samples, biases the estimate: the decision reads the same samples' spread,
//! and for a skewed payoff a low spread goes with a low mean (a deep
//! out-of-the-money call stopped on `--target-se` after a 256-path first
//! round came out 0.15 standard errors low on average over 1,000 seeds, an
//! RQMC run 0.57). The two-stage rule here has no such bias:
//!
//! 1. **Pilot**: the job's own streams, the first round's samples, doubled
//!    while they say nothing about the spread (every sample equal, or a
//!    relative target of a zero price) or while the final stage they ask for
//!    is over [`PILOT_SHARE`] times the pilot, and the pilot stays within a
//!    [`PILOT_SHARE`]th of the cap. The pilot only sizes the run: its samples
//!    are not in the estimate.
//! 2. **Final stage**: `n = margin * pilot * (SE_pilot / goal)^2` samples a
//!    group ([`margin`]: 1.25, more over few QMC replicates; at least one
//!    first round; whole first rounds for plain Monte
//!    Carlo, a power-of-two multiple of the first round for randomized QMC,
//!    whose nets balance at those counts), within what the cap leaves, drawn
//!    from streams of their own ([`final_seed`]): fresh paths for plain Monte
//!    Carlo and fresh scrambles for randomized QMC. The estimate, its
//!    standard error and its interval come from these samples alone. Their
//!    count is a function of the pilot, which is independent of them, so the
//!    estimate is unbiased and the interval is a fixed-size interval.
//!
//! Randomized QMC's final stage is sized as if its error fell as `n^-1/2`,
//! which over-sizes it where it falls faster; the pilot's growth (the final
//! stage at most [`PILOT_SHARE`] pilots) keeps that extrapolation short.
//! The target is reached when the final stage's standard error is within
//! it; the [`margin`] on the pilot's variance makes a miss rare (at most
//! 1 - [`REACH`] where the error falls as `n^-1/2`) but not impossible, and
//! a miss is reported, never hidden by more rounds.
//!
//! The cost against the rule it replaced (rounds until the samples so far
//! reach the target, all of them in the estimate): the pilot (a first round,
//! or up to a [`PILOT_SHARE`]th of the run where the final stage is large)
//! and the margin, about 1.3 times the paths for a target far below the
//! first round's error; a target the first round already meets costs one
//! more round, where the old rule stopped after one.

use std::ops::Range;

use crate::error::Result;
use crate::pricing::{Estimate, Precision, Sampler, Target};

/// The pilot grows until the final stage it asks for is at most this many
/// pilots, and while it is at most this fraction of the cap.
pub const PILOT_SHARE: u64 = 16;

/// The final stage's size over what the pilot's variance says the target
/// needs: a margin against a pilot that under-estimates the spread (the
/// least one; [`margin`] widens it where the variances rest on few degrees
/// of freedom).
pub const MARGIN: f64 = 1.25;

/// The chance the margin gives a final stage of reaching the target when
/// the error falls as `n^-1/2`, at the least.
pub const REACH: f64 = 0.8;

/// The margin of a pilot whose variance, like the final stage's, has `dof`
/// degrees of freedom (`R - 1` over `R` randomized QMC replicates): the
/// final stage misses when the ratio of the two variance estimates'
/// chi-square factors, an `F(dof, dof)` variable, exceeds the margin, so
/// the margin is at least its [`REACH`] quantile (1.94 at 8 replicates,
/// 1.56 at 16; plain Monte Carlo's pilots have hundreds of degrees of
/// freedom and keep [`MARGIN`]).
pub fn margin(dof: u64) -> f64 {
    use statrs::distribution::{ContinuousCDF, FisherSnedecor};
    let dof = dof.max(1) as f64;
    FisherSnedecor::new(dof, dof)
        .map(|f| f.inverse_cdf(REACH))
        .unwrap_or(MARGIN)
        .max(MARGIN)
}

/// One range of samples of every group for a driver to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// The seed of the streams to draw from: the job's, or the final
    /// stage's ([`final_seed`]).
    pub seed: u64,
    /// Samples of each group.
    pub points: Range<u64>,
    /// Whether this round starts a new estimate (the final stage): the
    /// driver forgets the rounds before.
    pub fresh: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopped {
    /// The estimate: the final stage's with a target, else the run's.
    pub estimate: Estimate,
    /// With a target, whether the estimate's standard error is within it.
    pub target_reached: Option<bool>,
    /// Samples a group the estimate rests on.
    pub samples: u64,
    /// Samples a group the pilot took (0 without a target).
    pub pilot: u64,
    /// The seed of the estimate's streams.
    pub seed: u64,
}

impl Stopped {
    /// Samples a group the run took, pilot and estimate.
    pub fn taken(&self) -> u64 {
        self.samples + self.pilot
    }

    /// Why a target was missed, for a run capped at `most` samples a group.
    pub fn miss_warning(&self, most: u64) -> Option<String> {
        (self.target_reached == Some(false)).then(|| {
            if self.taken() >= most {
                "the target was not reached within --max-paths (max_paths)".to_string()
            } else {
                "the target was not reached: the final stage's standard error is above it, the \
                 pilot having under-estimated the spread; a larger --paths (the pilot) sizes \
                 the run better"
                    .to_string()
            }
        })
    }
}

/// The seed of a target run's final stage: a fixed mix of the job's seed
/// (SplitMix64's finalizer of `seed + 1`), so its streams (and its QMC
/// scrambles) are not the pilot's, and a seed still gives one answer.
pub fn final_seed(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The standard error `target` asks of an estimate of `price`.
fn goal(target: &Target, price: f64) -> f64 {
    match target.precision {
        Precision::StdError(se) => se,
        Precision::RelStdError(relative) => relative * price.abs(),
    }
}

/// What a run's stages are drawn from: a job's target, sampler, groups,
/// seed and sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stages {
    /// The target, if any.
    pub target: Option<Target>,
    /// Plain Monte Carlo or randomized QMC.
    pub sampler: Sampler,
    /// Groups of samples (QMC replicates, or 1).
    pub groups: u32,
    /// The job's seed: the pilot's streams.
    pub seed: u64,
    /// Samples a group of the first round.
    pub first: u64,
    /// The most samples a group the run may take.
    pub most: u64,
}

/// Runs a job: without a target, `first` samples a group on the job's
/// streams; with one, the pilot and the final stage of the module's rule
/// within `most` samples a group. `round` runs a range of samples of every
/// group and returns the estimate of its rounds since the last fresh one.
pub fn run(stages: Stages, round: &mut dyn FnMut(Round) -> Result<Estimate>) -> Result<Stopped> {
    let Stages {
        target,
        sampler,
        groups,
        seed,
        first,
        most,
    } = stages;
    let Some(target) = target else {
        let estimate = round(Round {
            seed,
            points: 0..first,
            fresh: true,
        })?;
        return Ok(Stopped {
            estimate,
            target_reached: None,
            samples: first,
            pilot: 0,
            seed,
        });
    };
    let first = first.max(1);
    let (mut done, mut pilot) = (0, first);
    let needed = loop {
        let estimate = round(Round {
            seed,
            points: done..pilot,
            fresh: done == 0,
        })?;
        done = pilot;
        if !estimate.std_error.is_finite() || !estimate.price.is_finite() {
            // An overflow: the caller reports it, naming the quantity.
            return Ok(Stopped {
                estimate,
                target_reached: Some(false),
                samples: pilot,
                pilot: 0,
                seed,
            });
        }
        let goal = goal(&target, estimate.price);
        let needed = pilot as f64 * (estimate.std_error / goal).powi(2);
        let silent = estimate.std_error == 0.0 || goal == 0.0;
        let may_grow = pilot.saturating_mul(2 * PILOT_SHARE) <= most;
        if may_grow && (silent || needed > (PILOT_SHARE * pilot) as f64) {
            pilot *= 2;
            continue;
        }
        break needed;
    };
    let dof = match sampler {
        Sampler::Mc => (pilot * u64::from(groups)).saturating_sub(1),
        Sampler::Rqmc => u64::from(groups).saturating_sub(1),
    };
    let samples = final_stage(
        sampler,
        needed * margin(dof),
        first,
        most.saturating_sub(pilot),
    );
    let seed = final_seed(seed);
    let estimate = round(Round {
        seed,
        points: 0..samples,
        fresh: true,
    })?;
    Ok(Stopped {
        estimate,
        target_reached: Some(estimate.std_error <= goal(&target, estimate.price)),
        samples,
        pilot,
        seed,
    })
}

/// The final stage's samples a group: `want` (NaN or infinite when the
/// pilot could not say, then all of `room`) rounded up to whole first
/// rounds (plain Monte Carlo) or to a power-of-two multiple of the first
/// round (randomized QMC), at least one first round, within `room` (at
/// least one sample).
fn final_stage(sampler: Sampler, want: f64, first: u64, room: u64) -> u64 {
    let room = room.max(1);
    let rounds = if want.is_nan() {
        u64::MAX
    } else {
        // Saturating: a huge or infinite want is "as many as allowed".
        (want / first as f64).ceil().max(1.0) as u64
    };
    match sampler {
        Sampler::Mc => rounds.saturating_mul(first).min(room),
        Sampler::Rqmc => {
            let mut multiple = 1u64;
            while multiple < rounds && multiple.saturating_mul(2).saturating_mul(first) <= room {
                multiple *= 2;
            }
            multiple.saturating_mul(first).min(room)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(price: f64, std_error: f64) -> Estimate {
        Estimate {
            price,
            std_error,
            half_width: 1.96 * std_error,
            variance_reduction: None,
            control_coefficient: None,
            samples: 0,
            constant_payoff: std_error == 0.0,
            replicates_agree: false,
        }
    }

    /// Runs the rule on a job whose standard error after `n` samples is
    /// `spread / sqrt(n)` (and 0 below `silent_below`), recording the rounds.
    fn rounds_of(
        target: Target,
        sampler: Sampler,
        first: u64,
        most: u64,
        spread: f64,
        silent_below: u64,
    ) -> (Stopped, Vec<Round>) {
        let mut seen = Vec::new();
        let mut count = 0;
        let stages = Stages {
            target: Some(target),
            sampler,
            groups: 16,
            seed: 7,
            first,
            most,
        };
        let stopped = run(stages, &mut |round| {
            if round.fresh {
                count = 0;
            }
            count += round.points.end - round.points.start;
            seen.push(round);
            let se = if count < silent_below {
                0.0
            } else {
                spread / (count as f64).sqrt()
            };
            Ok(estimate(1.0, se))
        })
        .unwrap();
        (stopped, seen)
    }

    fn target_se(se: f64, max_paths: u64) -> Target {
        Target {
            precision: Precision::StdError(se),
            max_paths,
        }
    }

    #[test]
    fn without_a_target_one_round_on_the_job_streams() {
        let mut seen = Vec::new();
        let stages = Stages {
            target: None,
            sampler: Sampler::Mc,
            groups: 1,
            seed: 7,
            first: 100,
            most: 100,
        };
        let stopped = run(stages, &mut |round| {
            seen.push(round);
            Ok(estimate(1.0, 0.1))
        })
        .unwrap();
        assert_eq!(
            seen,
            [Round {
                seed: 7,
                points: 0..100,
                fresh: true
            }]
        );
        assert_eq!(
            (stopped.samples, stopped.pilot, stopped.target_reached),
            (100, 0, None)
        );
    }

    #[test]
    fn the_pilot_sizes_a_fresh_final_stage_and_is_not_in_it() {
        // SE 1/sqrt(n): 1/sqrt(100) = 0.1 after the pilot; a goal of 0.03
        // needs 1,111 samples, 1.25 x that in whole rounds: 1,400.
        let (stopped, seen) = rounds_of(
            target_se(0.03, 1_000_000),
            Sampler::Mc,
            100,
            1_000_000,
            1.0,
            0,
        );
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0],
            Round {
                seed: 7,
                points: 0..100,
                fresh: true
            }
        );
        assert_eq!(
            seen[1],
            Round {
                seed: final_seed(7),
                points: 0..1400,
                fresh: true
            }
        );
        assert_ne!(final_seed(7), 7);
        assert_eq!(
            (stopped.samples, stopped.pilot, stopped.taken()),
            (1400, 100, 1500)
        );
        assert_eq!(stopped.target_reached, Some(true));
        assert_eq!(stopped.seed, final_seed(7));
    }

    #[test]
    fn the_pilot_grows_until_the_final_stage_is_a_few_pilots() {
        // A goal 100 times below the first round's error: 10^4 rounds'
        // worth; the pilot doubles to 1,024 rounds (the final stage then
        // about 12 pilots), each doubling a range after the last.
        let (stopped, seen) = rounds_of(
            target_se(0.001, 10_000_000_000),
            Sampler::Mc,
            100,
            10_000_000_000,
            1.0,
            0,
        );
        let pilot: Vec<Range<u64>> = seen[..seen.len() - 1]
            .iter()
            .map(|r| r.points.clone())
            .collect();
        assert_eq!(pilot.first(), Some(&(0..100)));
        for pair in pilot.windows(2) {
            assert_eq!(pair[1].start, pair[0].end);
            assert_eq!(pair[1].end, 2 * pair[0].end);
        }
        assert!(seen[..seen.len() - 1].iter().all(|r| r.seed == 7));
        assert!(stopped.samples <= PILOT_SHARE * stopped.pilot * 2);
        assert_eq!(stopped.target_reached, Some(true));
        assert!(stopped.samples as f64 >= 1e6 * MARGIN);
    }

    #[test]
    fn a_pilot_of_equal_samples_grows_and_the_cap_is_kept() {
        // Every sample equal below 800 samples: the pilot doubles past it.
        let (stopped, seen) = rounds_of(
            target_se(0.01, 1_000_000),
            Sampler::Mc,
            100,
            1_000_000,
            1.0,
            800,
        );
        assert_eq!(stopped.pilot, 800);
        assert_eq!(seen.len(), 5);
        // A target out of reach: the pilot grows to within a sixteenth of
        // the cap, the final stage is what the cap leaves, exactly, and the
        // miss is reported.
        let (stopped, _) = rounds_of(target_se(1e-9, 5_555), Sampler::Mc, 100, 5_555, 1.0, 0);
        assert_eq!((stopped.pilot, stopped.taken()), (200, 5_555));
        assert_eq!(stopped.target_reached, Some(false));
        // A cap of two rounds: a round each.
        let (stopped, _) = rounds_of(target_se(1e-9, 200), Sampler::Rqmc, 100, 200, 1.0, 0);
        assert_eq!((stopped.pilot, stopped.samples), (100, 100));
    }

    #[test]
    fn randomized_qmc_stages_are_power_of_two_multiples_of_the_first_round() {
        let (stopped, seen) =
            rounds_of(target_se(0.03, 1 << 30), Sampler::Rqmc, 64, 1 << 30, 1.0, 0);
        let last = seen.last().unwrap();
        assert!(last.fresh && last.seed == final_seed(7));
        assert!((stopped.samples / 64).is_power_of_two() && stopped.samples % 64 == 0);
        // 1/0.03^2 = 1,111 samples, x the margin of 16 replicates' 15
        // degrees of freedom (1.55) = 1,720: 32 rounds of 64.
        assert_eq!(stopped.samples, 2048);
        assert!((margin(15) - 1.558).abs() < 0.005 && (margin(7) - 1.945).abs() < 0.005);
        assert_eq!(margin(1_000), MARGIN);
        // Within a cap that is not a power-of-two multiple: the largest one.
        assert_eq!(final_stage(Sampler::Rqmc, 1e9, 64, 1000), 512);
        assert_eq!(final_stage(Sampler::Rqmc, f64::INFINITY, 64, 1000), 512);
        assert_eq!(final_stage(Sampler::Mc, f64::NAN, 64, 1000), 1000);
        assert_eq!(final_stage(Sampler::Mc, 0.0, 64, 1000), 64);
    }
}
