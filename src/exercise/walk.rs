//! The walks every underlying with early exercise shares: the scalar
//! oracle's pricing path, the calibration and outer duality paths, the
//! nested paths and the duality gap, written once over [`Underlying`] and
//! compiled for one asset under any model ([`super::ExercisePlan`]) and for
//! a basket of correlated assets ([`super::basket::BasketExercisePlan`]).

use super::{Basis, Exercised, Policy};
use crate::control::Control;
use crate::models::MAX_FACTORS;
use crate::rng::{SUBSTREAM_DUALITY, SUBSTREAM_NORMALS, normal_pair, path_normal};
use crate::stats::{CoMoments, Figures};

/// The most values a path's state holds at a date: a basket's assets'
/// log returns, or one asset's log return and variance.
pub const MAX_STATE: usize = 16;

/// Draws one time step consumes, at most: a model's factors or a basket's
/// assets.
const MAX_DRAWS: usize = if MAX_STATE > MAX_FACTORS as usize {
    MAX_STATE
} else {
    MAX_FACTORS as usize
};

/// A path's state at a date: the log returns (and variance) its walk
/// carries, the rest zero.
pub type State = [f64; MAX_STATE];

/// What the shared walks read of a plan, gathered once per call.
#[derive(Debug, Clone, Copy)]
pub struct Schedule<'a> {
    /// Exercise dates, the last at expiry.
    pub dates: usize,
    /// Time steps between dates.
    pub steps_per_date: u32,
    /// Draws a time step consumes.
    pub draws: usize,
    /// The streams' seed.
    pub seed: u64,
    /// `e^{-r t_k}` of each date `k = 1 ..= dates`.
    pub date_discounts: &'a [f64],
    /// Regressors of a date's fit.
    pub regressors: usize,
    /// Paths of the calibration pass.
    pub calibration_paths: u64,
    /// Mirror pairs in the pricing pass.
    pub antithetic: bool,
    /// A control at expiry in the pricing pass.
    pub control: bool,
    /// The regression's basis.
    pub basis: Basis,
}

/// An underlying an early-exercise policy is fitted and followed on: its
/// state, one step, the exercise value, the regressors and the controls.
/// Each implementation is the one definition its walks compile.
pub trait Underlying: Sync {
    /// The dates, streams and options the walks read.
    fn schedule(&self) -> Schedule<'_>;
    /// Values of the state a calibration path stores at each date.
    fn stored(&self) -> usize;
    /// The state today, the spot scaled by `e^shift` (one asset's Greeks;
    /// 0 elsewhere).
    fn start(&self, shift: f64) -> State;
    /// One time step of `state` on the step's draws `z`.
    fn step(&self, state: &mut State, z: &[f64]);
    /// The value of exercising in `state`.
    fn intrinsic(&self, state: &State) -> f64;
    /// Calls `visit(n, x_n)` with each regressor of `state`, the constant
    /// first.
    fn regressors(&self, state: &State, visit: impl FnMut(usize, f64));
    /// The continuation value's unit: the regression's response is a cash
    /// flow over it.
    fn scale(&self) -> f64;
    /// The control at expiry, undiscounted, of a path ending in `state`
    /// whose exercise value there is `exercise`.
    fn terminal_control(&self, state: &State, exercise: f64) -> f64;
    /// A discounted traded value at date `date` (0 today) in `state`: a
    /// martingale, so a stopped path's value has the date's as its mean
    /// (the nested paths' control).
    fn martingale(&self, state: &State, date: usize) -> f64;
}

/// The fitted continuation value under `coefficients` in `state`.
#[inline(always)]
pub fn continuation<U: Underlying>(u: &U, coefficients: &[f64], state: &State) -> f64 {
    let mut sum = 0.0;
    u.regressors(state, |n, x| sum += coefficients[n] * x);
    u.scale() * sum
}

/// One date of an open pricing path in `state` under `policy` (see
/// [`Exercised::settle`]); at expiry the control takes its discounted value.
#[inline(always)]
pub fn observe<U: Underlying>(
    u: &U,
    policy: &Policy,
    date: usize,
    state: &State,
    path: &mut Exercised<f64>,
) {
    let s = u.schedule();
    let exercise = u.intrinsic(state);
    let last = date == s.dates;
    let fitted = if last {
        None
    } else {
        policy.coefficients[date - 1]
            .as_ref()
            .map(|beta| continuation(u, beta, state))
    };
    let discount = s.date_discounts[date - 1];
    path.settle(exercise, fitted, last, discount);
    if last && s.control {
        path.control = discount * u.terminal_control(state, exercise);
    }
}

/// Whether `policy` exercises at `date` (from 1) in `state`:
/// [`observe`]'s rule on one open path.
pub fn exercises<U: Underlying>(u: &U, policy: &Policy, date: usize, state: &State) -> bool {
    let exercise = u.intrinsic(state);
    if date == u.schedule().dates {
        return exercise > 0.0;
    }
    policy.coefficients[date - 1]
        .as_ref()
        .is_some_and(|beta| exercise > 0.0 && exercise - continuation(u, beta, state) > 0.0)
}

/// Calls `visit(date, states)` at each date (counted from 1) with the
/// states of the two samples of stream `stream` of substream `substream`
/// (calibration and outer duality paths, never mirrored; nested paths)
/// over `dates` from `states` on: one Philox block feeds both, as in every
/// kernel, the walk's `j`-th step's draw `f` block `j F + f`. The walk
/// stops early once `visit` returns false.
pub fn walk_pair<U: Underlying>(
    u: &U,
    substream: u32,
    stream: u64,
    dates: std::ops::RangeInclusive<usize>,
    mut states: [State; 2],
    mut visit: impl FnMut(usize, &[State; 2]) -> bool,
) {
    let s = u.schedule();
    let (mut even, mut odd) = ([0.0; MAX_DRAWS], [0.0; MAX_DRAWS]);
    let mut block = 0;
    for date in dates {
        for _ in 0..s.steps_per_date {
            for (even, odd) in even[..s.draws].iter_mut().zip(&mut odd[..s.draws]) {
                (*even, *odd) = normal_pair(s.seed, substream, stream, block);
                block += 1;
            }
            u.step(&mut states[0], &even[..s.draws]);
            u.step(&mut states[1], &odd[..s.draws]);
        }
        if !visit(date, &states) {
            break;
        }
    }
}

/// [`walk_pair`] over every date from today, for the two samples of stream
/// `stream` of the pricing layout (calibration and outer duality paths).
pub fn walk_samples<U: Underlying>(u: &U, stream: u64, mut visit: impl FnMut(usize, &[State; 2])) {
    let dates = 1..=u.schedule().dates;
    let start = u.start(0.0);
    walk_pair(
        u,
        SUBSTREAM_NORMALS,
        stream,
        dates,
        [start; 2],
        |date, states| {
            visit(date, states);
            true
        },
    );
}

/// The discounted cash flow of a pricing path (mirrored: `-z`) whose spot
/// is scaled by `e^shift`, under `policy`, and its control (0 unless
/// `controlled` and the plan has one). The walk stops once the path
/// exercises unless the control needs it to expiry.
pub fn path_value<U: Underlying>(
    u: &U,
    policy: &Policy,
    sample: u64,
    mirror: bool,
    shift: f64,
    controlled: bool,
) -> (f64, f64) {
    let s = u.schedule();
    let to_expiry = controlled && s.control;
    let mut path = Exercised::<f64>::open();
    let sign = if mirror { -1.0 } else { 1.0 };
    let mut z = [0.0; MAX_DRAWS];
    let (mut state, mut block) = (u.start(shift), 0);
    for date in 1..=s.dates {
        for _ in 0..s.steps_per_date {
            for z in &mut z[..s.draws] {
                *z = sign * path_normal(s.seed, sample, block);
                block += 1;
            }
            u.step(&mut state, &z[..s.draws]);
        }
        observe(u, policy, date, &state, &mut path);
        if path.open == 0.0 && !to_expiry {
            break;
        }
    }
    (path.value, path.control)
}

/// Pricing samples `start .. end` under `policy`, one path at a time: the
/// moments of their discounted cash flows and controls (the scalar oracle).
pub fn price_chunk<U: Underlying>(u: &U, policy: &Policy, start: u64, end: u64) -> Figures {
    let antithetic = u.schedule().antithetic;
    let samples: Vec<(f64, f64)> = (start..end)
        .map(|sample| {
            let (y, c) = path_value(u, policy, sample, false, 0.0, true);
            if antithetic {
                let (y2, c2) = path_value(u, policy, sample, true, 0.0, true);
                (0.5 * (y + y2), 0.5 * (c + c2))
            } else {
                (y, c)
            }
        })
        .collect();
    Figures {
        moments: CoMoments::of(&samples),
        greeks: None,
    }
}

/// Two nested paths that follow `policy` from date `from` (exclusive) on,
/// starting in `state`: the halves of the blocks of duality stream
/// `stream`. Each path's discounted cash flow and its control, the
/// [`Underlying::martingale`] when it stops (exercised, or at expiry).
pub fn follow_pair<U: Underlying>(
    u: &U,
    policy: &Policy,
    from: usize,
    state: &State,
    stream: u64,
) -> [(f64, f64); 2] {
    let mut paths = [Exercised::<f64>::open(); 2];
    let mut controls = [0.0; 2];
    let dates = from + 1..=u.schedule().dates;
    walk_pair(
        u,
        SUBSTREAM_DUALITY,
        stream,
        dates,
        [*state; 2],
        |date, states| {
            for half in 0..2 {
                let path = &mut paths[half];
                if path.open != 0.0 {
                    observe(u, policy, date, &states[half], path);
                    if path.open == 0.0 {
                        controls[half] = u.martingale(&states[half], date);
                    }
                }
            }
            paths.iter().any(|path| path.open != 0.0)
        },
    );
    [(paths[0].value, controls[0]), (paths[1].value, controls[1])]
}

/// The nested estimate of the continuation value at `date` of outer path
/// `outer` in `state`: the mean discounted cash flow of `inner` paths that
/// follow `policy` from the next date on, less a control variate: the
/// stopped [`Underlying::martingale`], whose mean is its value at the date
/// (optional stopping). The coefficient is cross-fitted: each half of the
/// paths (even, odd) is corrected with the other half's coefficient, so the
/// estimate stays unbiased, which the bound needs. Nested path pair `p`
/// reads duality stream `outer * 2^43 + (date - 1) * 2^19 + p`.
pub fn nested_continuation<U: Underlying>(
    u: &U,
    policy: &Policy,
    outer: u64,
    date: usize,
    state: &State,
    inner: u64,
) -> f64 {
    let base = (outer << 43) | ((date as u64 - 1) << 19);
    let mean_control = u.martingale(state, date);
    // Each half's count and its sums of y, d = control - mean, d^2, y d.
    let mut halves = [[0.0; 5]; 2];
    for pair in 0..inner.div_ceil(2) {
        let paths = follow_pair(u, policy, date, state, base | pair);
        for (half, (y, control)) in paths.into_iter().enumerate() {
            if 2 * pair + (half as u64) < inner {
                let d = control - mean_control;
                let sums = &mut halves[half];
                sums[0] += 1.0;
                sums[1] += y;
                sums[2] += d;
                sums[3] += d * d;
                sums[4] += y * d;
            }
        }
    }
    let slope = |[n, y, d, dd, yd]: [f64; 5]| {
        let spread = dd - d * d / n;
        if n >= 2.0 && spread > 0.0 {
            (yd - y * d / n) / spread
        } else {
            0.0
        }
    };
    let (even, odd) = (halves[0], halves[1]);
    let corrected = |[_, y, d, ..]: [f64; 5], beta: f64| y - beta * d;
    (corrected(even, slope(odd)) + corrected(odd, slope(even))) / inner as f64
}

/// One outer path's sample of the duality gap (Andersen and Broadie): with
/// `L_k` the policy's discounted value from date `k` (the intrinsic value
/// where the policy exercises, else the nested continuation `Q_k`), the
/// martingale `M_k = L_k - L_0 - sum over the exercise dates j < k of
/// (Q_j - h_j)` gives `max_k (h_k - M_k) - L_0`. The maximum runs over the
/// in-the-money dates and expiry: stopping out of the money pays nothing,
/// which holding to expiry never pays less than, so the bound still holds,
/// and the nested simulations run only where a path is in the money.
/// `states` holds the path's state at each date; `None` once `control` is
/// cancelled.
pub fn duality_gap<U: Underlying>(
    u: &U,
    policy: &Policy,
    outer: u64,
    states: &[State],
    inner: u64,
    control: &Control,
) -> Option<f64> {
    let s = u.schedule();
    let (mut gap, mut adjustment) = (0.0_f64, 0.0);
    for (date, state) in states.iter().enumerate().take(s.dates - 1) {
        let date = date + 1;
        let intrinsic = u.intrinsic(state);
        if intrinsic <= 0.0 {
            continue;
        }
        if control.is_cancelled() {
            return None;
        }
        let exercise = s.date_discounts[date - 1] * intrinsic;
        let continuation = nested_continuation(u, policy, outer, date, state, inner);
        if exercises(u, policy, date, state) {
            gap = gap.max(adjustment);
            adjustment += continuation - exercise;
        } else {
            gap = gap.max(exercise - continuation + adjustment);
        }
    }
    Some(gap.max(adjustment))
}
