//! The SIMD kernels, compiled once per lane set ([`super`]): eight streams per group, the stream layout of
//! [`crate::rng`] lane by lane. A pricing group is sixteen samples (each
//! stream's block feeds an even and an odd sample), a VaR group eight
//! scenarios. The rayon tier runs these same kernels per chunk.
//!
//! A chunk that does not fill its first or last group runs those groups full
//! width and masks or drops the extra lanes: they are just neighbouring samples
//! of the layout, so every sample's value is the same function wherever it
//! falls, and no second (scalar) code path exists to drift from this one.

use std::marker::PhantomData;

use super::lanes::{RoundKeys, Streams};
use super::lanes::{f64x8, inverse_normal_x8, normals_x8, uniform_x8};
use crate::backend::{ChunkKernel, CpuKernel, Draws};
use crate::basket::{BasketFigures, BasketPlan};
use crate::exercise::{ExercisePlan, Exercised, Policy};
use crate::greeks::model_differences;
use crate::greeks::{GREEKS, GreekSetup};
use crate::lane::LaneMath;
use crate::models::{Dynamics, MAX_FACTORS, ModelStep, StepVisitor};
use crate::products::{AnyProduct, PathSetup, PathState, Product, Terms, model_path_value};
use crate::risk::RiskModel;
use crate::rng::qmc::{BrownianBridge, directions, owen_scramble, qmc_uniform, sobol};
use crate::rng::{
    CHI_SQUARE_MAX_ATTEMPTS, SUBSTREAM_CHI_SQUARE, SUBSTREAM_NORMALS, chi_square_constants,
};
use crate::simd::{LANES, Target, Task, array_from_fn, array_map};
use crate::stats::{CoMoments, Figures, Moments};

/// Sixteen streams per call in `f64x8` lanes: the kernel of the SIMD and
/// rayon tiers, each chunk compiled for the instruction set of `T`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VectorKernel<T> {
    target: T,
}

impl<T: Target> VectorKernel<T> {
    /// The kernel that runs on `target`'s instruction set.
    pub fn new(target: T) -> Self {
        Self { target }
    }
}

impl<T: Target> CpuKernel for VectorKernel<T> {
    fn describe(&self) -> String {
        format!("{}, f64x{LANES}", T::ISA)
    }

    fn fill_pnl(&self, model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
        self.target.run(FillPnl {
            model,
            seed,
            first,
            out,
        })
    }

    fn exercise_chunk(
        &self,
        plan: &ExercisePlan,
        policy: &Policy,
        start: u64,
        end: u64,
    ) -> Figures {
        self.target.run(ExerciseTask {
            plan,
            policy,
            start,
            end,
        })
    }

    fn basket_chunk(
        &self,
        plan: &BasketPlan,
        draws: &Draws<'_>,
        start: u64,
        end: u64,
    ) -> BasketFigures {
        match *draws {
            Draws::Mc { seed } if start < end => self.target.run(BasketTask {
                plan,
                seed,
                start,
                end,
            }),
            // A QMC point's bridge over every asset runs on the oracle's
            // walk (the lanes' Sobol generator is written for one factor).
            _ => crate::backend::scalar_basket_moments(plan, draws, start, end),
        }
    }
}

/// [`ChunkKernel::moments`] as a task for the target.
struct MomentsTask<'a, P, const PUT: bool, const ANTITHETIC: bool> {
    setup: &'a PathSetup,
    draws: &'a Draws<'a>,
    control: bool,
    start: u64,
    end: u64,
    product: PhantomData<P>,
}

impl<P: Product, const PUT: bool, const ANTITHETIC: bool> Task
    for MomentsTask<'_, P, PUT, ANTITHETIC>
{
    type Output = CoMoments;

    #[inline(always)]
    fn run(self) -> CoMoments {
        let Self {
            setup,
            draws,
            control,
            start,
            end,
            ..
        } = self;
        match (*draws, control) {
            (Draws::Mc { seed }, false) => {
                chunk_moments::<P, PUT, ANTITHETIC, false>(setup, seed, start, end)
            }
            (Draws::Mc { seed }, true) => {
                chunk_moments::<P, PUT, ANTITHETIC, true>(setup, seed, start, end)
            }
            (
                Draws::Qmc {
                    scrambles, bridge, ..
                },
                _,
            ) => qmc_moments::<P, PUT, ANTITHETIC>(setup, scrambles, bridge, start, end),
        }
    }
}

/// [`ChunkKernel::greeks`] as a task for the target.
struct GreeksTask<'a, P, const PUT: bool, const ANTITHETIC: bool, const KIND: u8> {
    setup: &'a PathSetup,
    draws: &'a Draws<'a>,
    greeks: &'a GreekSetup,
    control: bool,
    start: u64,
    end: u64,
    product: PhantomData<P>,
}

impl<P: Product, const PUT: bool, const ANTITHETIC: bool, const KIND: u8> Task
    for GreeksTask<'_, P, PUT, ANTITHETIC, KIND>
{
    type Output = Figures;

    #[inline(always)]
    fn run(self) -> Figures {
        let Self {
            setup,
            draws,
            greeks,
            start,
            end,
            ..
        } = self;
        if self.control {
            greek_moments::<P, PUT, ANTITHETIC, true, KIND>(setup, draws, greeks, start, end)
        } else {
            greek_moments::<P, PUT, ANTITHETIC, false, KIND>(setup, draws, greeks, start, end)
        }
    }
}

/// [`CpuKernel::fill_pnl`] as a task for the target.
struct FillPnl<'a> {
    model: &'a RiskModel,
    seed: u64,
    first: u64,
    out: &'a mut [f64],
}

impl Task for FillPnl<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        fill_pnl(self.model, self.seed, self.first, self.out)
    }
}

/// Stream groups one kernel call carries side by side: their Philox rounds
/// are independent dependency chains, interleaved round by round.
const GROUPS: usize = 2;
/// Streams one kernel call carries.
const STREAMS: u64 = (GROUPS * LANES) as u64;

/// A sample's undiscounted payoff and control, eight lanes.
type Values = (f64x8, f64x8);

/// The payoff and control of finished paths (their pair averages when
/// antithetic).
#[inline(always)]
fn values<P: Product, const PUT: bool, const ANTITHETIC: bool>(
    up: &PathState<f64x8>,
    down: &PathState<f64x8>,
    setup: &PathSetup,
) -> Values {
    let terms = setup.terms::<f64x8>();
    let (payoff, control) = path_values::<P, PUT>(up, &terms);
    if ANTITHETIC {
        let (payoff_down, control_down) = path_values::<P, PUT>(down, &terms);
        let half = f64x8::splat(0.5);
        (
            half * (payoff + payoff_down),
            half * (control + control_down),
        )
    } else {
        (payoff, control)
    }
}

/// The payoff and control of one finished path. (A function, not a
/// closure: closures cannot be marked `#[inline(always)]`, and one left out
/// of line would be compiled for the baseline instruction set.)
#[inline(always)]
fn path_values<P: Product, const PUT: bool>(
    path: &PathState<f64x8>,
    terms: &Terms<f64x8>,
) -> Values {
    (
        P::payoff::<f64x8, PUT>(path, terms),
        P::control::<f64x8, PUT>(path, terms),
    )
}

/// Undiscounted payoffs and controls of streams `first .. first + STREAMS`
/// (pair averages when antithetic), per group of eight: the even samples
/// `2 (s + l)`, which read the cosine half of each block, and the odd samples
/// `2 (s + l) + 1`, which read the sine half (see [`crate::rng`]).
#[inline(always)]
fn samples<P: Product, const PUT: bool, const ANTITHETIC: bool>(
    setup: &PathSetup,
    keys: &RoundKeys,
    first: u64,
) -> [[Values; 2]; GROUPS] {
    let streams = Streams::<GROUPS>::new(keys, first);
    let terms = setup.terms::<f64x8>();
    let start = PathState::start::<P>(f64x8::splat(setup.log_spot), &terms);
    let (mut up, mut down) = ([[start; 2]; GROUPS], [[start; 2]; GROUPS]);
    let (drift, diffusion) = (f64x8::splat(setup.drift), f64x8::splat(setup.diffusion));
    for step in 0..P::STEPS.unwrap_or(setup.steps) {
        let words = streams.blocks(step, SUBSTREAM_NORMALS);
        for (group, words) in words.into_iter().enumerate() {
            let (cosine, sine) = normals_x8(words);
            let shocks = [diffusion * cosine, diffusion * sine];
            for half in 0..2 {
                up[group][half].advance::<P>(drift + shocks[half], &terms);
                if ANTITHETIC {
                    down[group][half].advance::<P>(drift + -shocks[half], &terms);
                }
            }
        }
    }
    let mut out = [[(f64x8::ZERO, f64x8::ZERO); 2]; GROUPS];
    for (group, out) in out.iter_mut().enumerate() {
        for (half, out) in out.iter_mut().enumerate() {
            *out = values::<P, PUT, ANTITHETIC>(&up[group][half], &down[group][half], setup);
        }
    }
    out
}

/// Which samples of streams `first .. first + 8` fall in `start .. end`: the
/// masks of the even and the odd samples.
#[inline(always)]
fn sample_masks(first: u64, start: u64, end: u64) -> [f64x8; 2] {
    array_from_fn(|half| lane_mask(|lane| 2 * (first + lane) + half as u64, start, end))
}

/// The mask of the lanes whose sample `sample(lane)` falls in `start .. end`.
#[inline(always)]
fn lane_mask(sample: impl Fn(u64) -> u64, start: u64, end: u64) -> f64x8 {
    f64x8::new(array_from_fn(|lane| {
        if (start..end).contains(&sample(lane as u64)) {
            f64::from_bits(u64::MAX)
        } else {
            0.0
        }
    }))
}

/// Shifted sums of payoffs `y` and controls `c`, lane by lane: of `dy`, `dc`,
/// `dy^2`, `dc^2` and `dy dc`, about the chunk's first sample.
struct Sums {
    shift: Option<(f64, f64)>,
    sums: [f64x8; 5],
}

impl Sums {
    #[inline(always)]
    fn new() -> Self {
        Self {
            shift: None,
            sums: [f64x8::ZERO; 5],
        }
    }

    /// Sums about lane `lane` of `values` (the chunk's first sample), unless
    /// a shift is already set.
    #[inline(always)]
    fn shift_by(&mut self, (y, c): Values, lane: usize) {
        self.shift
            .get_or_insert_with(|| (y.as_array()[lane], c.as_array()[lane]));
    }

    /// Adds a group of sixteen samples: the two halves of eight streams
    /// from stream `first` (even samples in half 0), the chunk `start ..
    /// end`'s first sample the shift, the samples outside it masked. Returns
    /// the masks of a group the chunk does not fill.
    #[inline(always)]
    fn add_group(
        &mut self,
        values: [Values; 2],
        first: u64,
        start: u64,
        end: u64,
    ) -> Option<[f64x8; 2]> {
        self.shift_by(values[(start % 2) as usize], 0);
        let whole = 2 * first >= start && 2 * (first + LANES as u64) <= end;
        let masks = (!whole).then(|| sample_masks(first, start, end));
        for (half, values) in values.into_iter().enumerate() {
            self.add::<true>(values, masks.map(|m| m[half]));
        }
        masks
    }

    /// Adds the lanes of `values` that `mask` keeps (all when `None`); the
    /// control's sums only when `CONTROL` (the sums of the payoff alone are
    /// measurably cheaper on a one-step European).
    #[inline(always)]
    fn add<const CONTROL: bool>(&mut self, (y, c): Values, mask: Option<f64x8>) {
        let shift = self.shift.unwrap_or((0.0, 0.0));
        let (mut dy, mut dc) = (y - f64x8::splat(shift.0), c - f64x8::splat(shift.1));
        if let Some(mask) = mask {
            dy = mask.select(dy, f64x8::ZERO);
            dc = mask.select(dc, f64x8::ZERO);
        }
        self.sums[0] += dy;
        self.sums[2] += dy * dy;
        if CONTROL {
            self.sums[1] += dc;
            self.sums[3] += dc * dc;
            self.sums[4] += dy * dc;
        }
    }

    #[inline(always)]
    fn finish(self, count: u64) -> CoMoments {
        CoMoments::from_shifted_sums(
            count,
            self.shift.unwrap_or((0.0, 0.0)),
            self.sums.map(|s| s.reduce_add()),
        )
    }
}

impl<T: Target> ChunkKernel for VectorKernel<T> {
    fn moments<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        control: bool,
        start: u64,
        end: u64,
    ) -> CoMoments {
        if start >= end {
            return CoMoments::default();
        }
        if !matches!(setup.dynamics, Dynamics::BlackScholes(_)) {
            return setup
                .dynamics
                .visit(ModelRun {
                    target: self.target,
                    chunk: ModelChunk {
                        setup,
                        draws,
                        greeks: None,
                        control,
                        put: PUT,
                        antithetic: ANTITHETIC,
                        start,
                        end,
                    },
                })
                .moments;
        }
        self.target.run(MomentsTask::<P, PUT, ANTITHETIC> {
            setup,
            draws,
            control,
            start,
            end,
            product: PhantomData,
        })
    }

    fn greeks<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        greeks: &GreekSetup,
        control: bool,
        start: u64,
        end: u64,
    ) -> Figures {
        if start >= end {
            return Figures::default();
        }
        if !matches!(setup.dynamics, Dynamics::BlackScholes(_)) {
            return setup.dynamics.visit(ModelRun {
                target: self.target,
                chunk: ModelChunk {
                    setup,
                    draws,
                    greeks: Some(greeks),
                    control,
                    put: PUT,
                    antithetic: ANTITHETIC,
                    start,
                    end,
                },
            });
        }
        // The estimator fixed at compile time, one target function each:
        // each sample loop carries one estimator's code alone (with all of
        // them behind a branch in the loop, its code generation moved with
        // every change to any one of them: 1.5x to 2.0x for the same
        // digital), and no function's frame holds every estimator's locals
        // (one that did overflowed a rayon thread's stack in a debug build).
        use crate::greeks::{LIKELIHOOD_RATIO, PATHWISE};
        macro_rules! run {
            ($kind:expr) => {
                self.target
                    .run(GreeksTask::<P, PUT, ANTITHETIC, { $kind }> {
                        setup,
                        draws,
                        greeks,
                        control,
                        start,
                        end,
                        product: PhantomData,
                    })
            };
        }
        match greeks.kind() {
            PATHWISE => run!(PATHWISE),
            LIKELIHOOD_RATIO => run!(LIKELIHOOD_RATIO),
            _ => run!(crate::greeks::DIFFERENCES),
        }
    }
}

/// Shifted sums of the Greeks' per-sample estimators, lane by lane.
struct GreekSums {
    shift: Option<[f64; GREEKS]>,
    sums: [[f64x8; 2]; GREEKS],
}

impl GreekSums {
    #[inline(always)]
    fn new() -> Self {
        Self {
            shift: None,
            sums: [[f64x8::ZERO; 2]; GREEKS],
        }
    }

    /// Adds the lanes `mask` keeps; the first call's lane `lane` is the shift.
    #[inline(always)]
    fn add(&mut self, values: &[f64x8; GREEKS], mask: Option<f64x8>, lane: usize) {
        let shift = *self
            .shift
            .get_or_insert_with(|| values.map(|v| v.as_array()[lane]));
        for ((sums, value), shift) in self.sums.iter_mut().zip(values).zip(shift) {
            let mut d = *value - f64x8::splat(shift);
            if let Some(mask) = mask {
                d = mask.select(d, f64x8::ZERO);
            }
            sums[0] += d;
            sums[1] = d.mul_add(d, sums[1]);
        }
    }

    #[inline(always)]
    fn finish(self, count: u64) -> [Moments; GREEKS] {
        let shift = self.shift.unwrap_or([0.0; GREEKS]);
        array_from_fn(|i| {
            Moments::from_shifted_sums(
                count,
                shift[i],
                self.sums[i][0].reduce_add(),
                self.sums[i][1].reduce_add(),
            )
        })
    }
}

/// The Greek estimators, payoff and control of eight samples whose step
/// normals are `z`, averaged with the mirror paths when antithetic.
#[inline(always)]
fn greek_sample<P: Product, const PUT: bool, const ANTITHETIC: bool, const KIND: u8>(
    greeks: &GreekSetup,
    z: &[f64x8],
) -> ([f64x8; GREEKS], Values) {
    let (mut sample, mut payoff, mut control) = greeks.estimators_of::<P, PUT, f64x8, KIND>(z, 1.0);
    if ANTITHETIC {
        let (down, payoff_down, control_down) =
            greeks.estimators_of::<P, PUT, f64x8, KIND>(z, -1.0);
        let half = f64x8::splat(0.5);
        for (up, down) in sample.iter_mut().zip(down) {
            *up = half * (*up + down);
        }
        payoff = half * (payoff + payoff_down);
        control = half * (control + control_down);
    }
    (sample, (payoff, control))
}

/// Samples `start .. end` with their Greeks, eight lanes at a time: on the
/// Philox streams (each stream's block feeds an even sample with its cosine
/// half and an odd one with its sine half), or on one QMC replicate's points.
#[inline(always)]
fn greek_moments<
    P: Product,
    const PUT: bool,
    const ANTITHETIC: bool,
    const CONTROL: bool,
    const KIND: u8,
>(
    setup: &PathSetup,
    draws: &Draws<'_>,
    greeks: &GreekSetup,
    start: u64,
    end: u64,
) -> Figures {
    // A compile-time step count where the product fixes one (the European
    // and the digital: one step), so the walks below unroll.
    let steps = P::STEPS.unwrap_or(setup.steps) as usize;
    let mut sums = Sums::new();
    let mut greek_sums = GreekSums::new();
    #[inline(always)]
    fn add<const CONTROL: bool>(
        (sums, greek_sums): (&mut Sums, &mut GreekSums),
        values: ([f64x8; GREEKS], Values),
        mask: Option<f64x8>,
        lane: usize,
    ) {
        sums.shift_by(values.1, lane);
        sums.add::<CONTROL>(values.1, mask);
        greek_sums.add(&values.0, mask, lane);
    }
    match *draws {
        Draws::Mc { seed } => {
            let keys = RoundKeys::for_seed(seed);
            // Two groups of eight streams per pass, as the price kernel
            // does: their Philox rounds are independent chains.
            let mut normals: [[Vec<f64x8>; 2]; GROUPS] =
                array_from_fn(|_| array_from_fn(|_| vec![f64x8::ZERO; steps]));
            for first in (start / 2..end.div_ceil(2)).step_by(STREAMS as usize) {
                let streams = Streams::<GROUPS>::new(&keys, first);
                for step in 0..steps {
                    let words = streams.blocks(step as u32, SUBSTREAM_NORMALS);
                    for (normals, words) in normals.iter_mut().zip(words) {
                        (normals[0][step], normals[1][step]) = normals_x8(words);
                    }
                }
                let whole = 2 * first >= start && 2 * (first + STREAMS) <= end;
                for (group, normals) in normals.iter().enumerate() {
                    let group_first = first + (group * LANES) as u64;
                    let masks = (!whole).then(|| sample_masks(group_first, start, end));
                    // The chunk's first sample is lane 0 of the half it falls
                    // in; it must set the shift, so that half goes first.
                    let order = if start % 2 == 1 && group_first == start / 2 {
                        [1, 0]
                    } else {
                        [0, 1]
                    };
                    for half in order {
                        add::<CONTROL>(
                            (&mut sums, &mut greek_sums),
                            greek_sample::<P, PUT, ANTITHETIC, KIND>(greeks, &normals[half]),
                            masks.map(|m| m[half]),
                            0,
                        );
                    }
                }
            }
        }
        Draws::Qmc {
            scrambles, bridge, ..
        } => {
            let sobol = SobolLanes::new(steps);
            let (mut z, mut w) = (vec![f64x8::ZERO; steps], vec![f64x8::ZERO; steps]);
            let lanes = LANES as u64;
            for first in (start / lanes * lanes..end).step_by(LANES) {
                sobol.normals(scrambles, first, &mut z);
                bridge.increments(&z, &mut w, f64x8::splat);
                let whole = first >= start && first + lanes <= end;
                let mask = (!whole).then(|| lane_mask(|lane| first + lane, start, end));
                add::<CONTROL>(
                    (&mut sums, &mut greek_sums),
                    greek_sample::<P, PUT, ANTITHETIC, KIND>(greeks, &w),
                    mask,
                    (start.max(first) - first) as usize,
                );
            }
        }
    }
    Figures {
        moments: sums.finish(end - start),
        greeks: Some(greek_sums.finish(end - start)),
    }
}

/// A chunk under a model other than Black-Scholes ([`crate::models`]): its
/// price, with the Greeks' finite differences when asked (the only
/// estimator those models take for now). The product, call or put and
/// antithetic are run-time choices here ([`AnyProduct`]; branches beside
/// the model's step), so the walk is compiled once per model and
/// instruction set, not once per product and flag too.
#[derive(Clone, Copy)]
struct ModelChunk<'a> {
    setup: &'a PathSetup,
    draws: &'a Draws<'a>,
    greeks: Option<&'a GreekSetup>,
    control: bool,
    put: bool,
    antithetic: bool,
    start: u64,
    end: u64,
}

/// Runs a [`ModelChunk`] on the target, one target function per model
/// ([`Dynamics::visit`] picks the step type outside the target): a walk
/// generic over the step carries its own model's code alone, and no
/// function's frame holds every model's locals (one that did overflowed a
/// rayon thread's stack in a debug build).
struct ModelRun<'a, T> {
    target: T,
    chunk: ModelChunk<'a>,
}

impl<T: Target> StepVisitor for ModelRun<'_, T> {
    type Output = Figures;

    fn visit<S: ModelStep>(self, _: &S) -> Figures {
        self.target.run(ModelTask::<S> {
            chunk: self.chunk,
            step: PhantomData,
        })
    }
}

/// A [`ModelChunk`] under the model whose step type is `S`, as a task for
/// the target.
struct ModelTask<'a, S> {
    chunk: ModelChunk<'a>,
    step: PhantomData<S>,
}

impl<S: ModelStep> Task for ModelTask<'_, S> {
    type Output = Figures;

    #[inline(always)]
    fn run(self) -> Figures {
        model_moments::<S>(&self.chunk)
    }
}

/// The payoff and control of eight samples whose draws are `z` (and,
/// with finite-difference Greeks, their raw estimators) under the model
/// with step type `S`, averaged with the mirror paths when antithetic. One
/// walk is compiled: the scenarios (the base alone, or the base and the
/// eight bumped ones) and the mirror are loops around it.
#[inline(always)]
fn model_sample<S: ModelStep>(
    task: &ModelChunk<'_>,
    scenarios: &[(&PathSetup, f64)],
    z: &[f64x8],
) -> ([f64x8; GREEKS], Values) {
    let signs: &[f64] = if task.antithetic {
        &[1.0, -1.0]
    } else {
        &[1.0]
    };
    let mut value = [f64x8::ZERO; 9];
    let (mut payoff, mut control) = (f64x8::ZERO, f64x8::ZERO);
    for &sign in signs {
        for (k, &(setup, discount)) in scenarios.iter().enumerate() {
            let (f, c) = model_path_value::<AnyProduct, S, f64x8>(setup, z, sign, task.put);
            if k == 0 {
                payoff += f;
                control += c;
            }
            value[k] += f * f64x8::splat(discount);
        }
    }
    let greeks = model_differences(&value);
    if task.antithetic {
        let half = f64x8::splat(0.5);
        (greeks.map(|g| half * g), (half * payoff, half * control))
    } else {
        (greeks, (payoff, control))
    }
}

/// Samples `start .. end` under the model with step type `S`, eight lanes
/// at a time: each sample's `factors` draws a step are blocks
/// `j factors + f` of its stream (the even sample the cosine half, the odd
/// one the sine half), or its QMC point's dimensions through each factor's
/// bridge.
#[inline(always)]
fn model_moments<S: ModelStep>(task: &ModelChunk<'_>) -> Figures {
    let ModelChunk {
        setup, start, end, ..
    } = *task;
    let count = setup.draws();
    let differences = task.greeks.and_then(GreekSetup::scenarios);
    let base = [(setup, 1.0)];
    let scenarios: &[(&PathSetup, f64)] = match &differences {
        Some(scenarios) => scenarios,
        None => &base,
    };
    let mut sums = Sums::new();
    let mut greek_sums = GreekSums::new();
    // One sample group into the sums; the chunk's first sample (lane
    // `lane`) sets the shifts.
    #[inline(always)]
    fn add<S: ModelStep>(
        (task, scenarios): (&ModelChunk<'_>, &[(&PathSetup, f64)]),
        (sums, greek_sums): (&mut Sums, &mut GreekSums),
        z: &[f64x8],
        mask: Option<f64x8>,
        lane: usize,
    ) {
        let (estimates, values) = model_sample::<S>(task, scenarios, z);
        if task.greeks.is_some() {
            greek_sums.add(&estimates, mask, lane);
        }
        sums.shift_by(values, lane);
        if task.control {
            sums.add::<true>(values, mask);
        } else {
            sums.add::<false>(values, mask);
        }
    }
    let job = (task, scenarios);
    match *task.draws {
        Draws::Mc { seed } => {
            let keys = RoundKeys::for_seed(seed);
            let mut normals: [[Vec<f64x8>; 2]; GROUPS] =
                array_from_fn(|_| array_from_fn(|_| vec![f64x8::ZERO; count]));
            for first in (start / 2..end.div_ceil(2)).step_by(STREAMS as usize) {
                let streams = Streams::<GROUPS>::new(&keys, first);
                for block in 0..count {
                    let words = streams.blocks(block as u32, SUBSTREAM_NORMALS);
                    for (normals, words) in normals.iter_mut().zip(words) {
                        (normals[0][block], normals[1][block]) = normals_x8(words);
                    }
                }
                let whole = 2 * first >= start && 2 * (first + STREAMS) <= end;
                for (group, normals) in normals.iter().enumerate() {
                    let group_first = first + (group * LANES) as u64;
                    let masks = (!whole).then(|| sample_masks(group_first, start, end));
                    // The chunk's first sample is lane 0 of the half it
                    // falls in; it must set the shift, so that half goes
                    // first.
                    let order = if start % 2 == 1 && group_first == start / 2 {
                        [1, 0]
                    } else {
                        [0, 1]
                    };
                    for half in order {
                        add::<S>(
                            job,
                            (&mut sums, &mut greek_sums),
                            &normals[half],
                            masks.map(|m| m[half]),
                            0,
                        );
                    }
                }
            }
        }
        Draws::Qmc {
            scrambles,
            bridge,
            factors,
        } => {
            let sobol = SobolLanes::new(count);
            let (mut z, mut w) = (vec![f64x8::ZERO; count], vec![f64x8::ZERO; count]);
            let mut scratch = vec![f64x8::ZERO; 2 * setup.steps as usize];
            let lanes = LANES as u64;
            for first in (start / lanes * lanes..end).step_by(LANES) {
                sobol.normals(scrambles, first, &mut z);
                bridge.factor_increments(factors, &z, &mut w, &mut scratch, f64x8::splat);
                let whole = first >= start && first + lanes <= end;
                let mask = (!whole).then(|| lane_mask(|lane| first + lane, start, end));
                add::<S>(
                    job,
                    (&mut sums, &mut greek_sums),
                    &w,
                    mask,
                    (start.max(first) - first) as usize,
                );
            }
        }
    }
    Figures {
        moments: sums.finish(end - start),
        greeks: task.greeks.map(|_| greek_sums.finish(end - start)),
    }
}

/// The Sobol walk of one chunk's dimensions: their direction numbers and
/// the lane offsets `x(l)`, `l < 8`, computed once per chunk.
struct SobolLanes<'a> {
    directions: &'a [[u32; 32]],
    offsets: Vec<[u32; LANES]>,
}

impl<'a> SobolLanes<'a> {
    #[inline(always)]
    fn new(steps: usize) -> Self {
        let directions = &directions()[..steps];
        let offsets = directions
            .iter()
            .map(|v| array_from_fn(|lane| sobol(v, lane as u32)))
            .collect();
        Self {
            directions,
            offsets,
        }
    }

    /// The normals of points `first .. first + 8` (`first` a multiple of 8)
    /// of the replicate with `scrambles`, dimension by dimension
    /// (construction order).
    #[inline(always)]
    fn normals(&self, scrambles: &[u32], first: u64, z: &mut [f64x8]) {
        for (d, z) in z.iter_mut().enumerate() {
            let base = sobol(&self.directions[d], first as u32);
            let uniforms = array_from_fn(|lane| {
                qmc_uniform(owen_scramble(base ^ self.offsets[d][lane], scrambles[d]))
            });
            *z = inverse_normal_x8(f64x8::new(uniforms));
        }
    }
}

/// Moments of undiscounted samples `start .. end` (one chunk) of product `P`,
/// call or put, plain or antithetic, on the Philox streams of `seed`, with
/// the control's sums when `CONTROL`.
#[inline(always)]
fn chunk_moments<P: Product, const PUT: bool, const ANTITHETIC: bool, const CONTROL: bool>(
    setup: &PathSetup,
    seed: u64,
    start: u64,
    end: u64,
) -> CoMoments {
    let keys = RoundKeys::for_seed(seed);
    let mut sums = Sums::new();
    for first in (start / 2..end.div_ceil(2)).step_by(STREAMS as usize) {
        let values = samples::<P, PUT, ANTITHETIC>(setup, &keys, first);
        // Sums are taken about sample `start`, the chunk's first: lane 0 of
        // the first group's even or odd half.
        sums.shift_by(values[0][(start % 2) as usize], 0);
        let whole = 2 * first >= start && 2 * (first + STREAMS) <= end;
        for (group, values) in values.into_iter().enumerate() {
            let masks = (!whole).then(|| sample_masks(first + (group * LANES) as u64, start, end));
            for half in 0..2 {
                sums.add::<CONTROL>(values[half], masks.map(|m| m[half]));
            }
        }
    }
    sums.finish(end - start)
}

/// Moments of undiscounted samples (points) `start .. end` of one randomized
/// QMC replicate: eight consecutive points per pass, their Sobol coordinates
/// from the aligned base point and the lane offsets (the natural-order
/// Sobol point is linear in the index bits, so `x(8 k + l) = x(8 k) ^ x(l)`),
/// scrambled, mapped to normals and bridged lane by lane.
#[inline(always)]
fn qmc_moments<P: Product, const PUT: bool, const ANTITHETIC: bool>(
    setup: &PathSetup,
    scrambles: &[u32],
    bridge: &BrownianBridge,
    start: u64,
    end: u64,
) -> CoMoments {
    let steps = setup.steps as usize;
    let sobol = SobolLanes::new(steps);
    let (mut z, mut w) = (vec![f64x8::ZERO; steps], vec![f64x8::ZERO; steps]);
    let (drift, diffusion) = (f64x8::splat(setup.drift), f64x8::splat(setup.diffusion));
    let terms = setup.terms::<f64x8>();
    let mut sums = Sums::new();
    let lanes = LANES as u64;
    for first in (start / lanes * lanes..end).step_by(LANES) {
        sobol.normals(scrambles, first, &mut z);
        bridge.increments(&z, &mut w, f64x8::splat);
        let begin = PathState::start::<P>(f64x8::splat(setup.log_spot), &terms);
        let (mut up, mut down) = (begin, begin);
        for &dw in &w {
            let shock = diffusion * dw;
            up.advance::<P>(drift + shock, &terms);
            if ANTITHETIC {
                down.advance::<P>(drift - shock, &terms);
            }
        }
        let values = values::<P, PUT, ANTITHETIC>(&up, &down, setup);
        let whole = first >= start && first + lanes <= end;
        let mask = (!whole).then(|| lane_mask(|lane| first + lane, start, end));
        sums.shift_by(values, (start.max(first) - first) as usize);
        sums.add::<true>(values, mask);
    }
    sums.finish(end - start)
}

/// Chi-square draws of the scenarios of `streams`, [`crate::rng::chi_square`]
/// lane by lane: every lane runs Marsaglia-Tsang attempts until all have
/// accepted.
#[inline(always)]
fn chi_square<const G: usize>(streams: &Streams<G>, dof: f64) -> [f64x8; G] {
    let (d, c) = chi_square_constants(dof);
    let (d, c) = (f64x8::splat(d), f64x8::splat(c));
    let mut result = [f64x8::splat(2.0) * d; G];
    let mut done = [f64x8::ZERO.simd_ne(f64x8::ZERO); G];
    for attempt in 0..CHI_SQUARE_MAX_ATTEMPTS {
        let normals = streams.blocks(2 * attempt, SUBSTREAM_CHI_SQUARE);
        let uniforms = streams.blocks(2 * attempt + 1, SUBSTREAM_CHI_SQUARE);
        for group in 0..G {
            let (x, _) = normals_x8(normals[group]);
            let [b0, b1, _, _] = uniforms[group];
            let u = uniform_x8(b0, b1);
            let t = f64x8::ONE + c * x;
            let v = t * t * t;
            let bound = f64x8::splat(0.5) * x * x + d - d * v + d * v.ln();
            let accept = t.simd_gt(f64x8::ZERO) & u.ln().simd_lt(bound) & !done[group];
            result[group] = accept.select(f64x8::splat(2.0) * d * v, result[group]);
            done[group] |= accept;
        }
        if done.iter().all(|done| done.all()) {
            break;
        }
    }
    result
}

/// P&L of scenarios `first .. first + 8 G`, per group of eight. A book
/// with options keeps each group's normals in `scratch` (`G k` of them,
/// then room for the underlyings' returns) for the revaluation.
#[inline(always)]
fn pnl<const G: usize>(
    model: &RiskModel,
    keys: &RoundKeys,
    first: u64,
    scratch: &mut [f64x8],
) -> [f64x8; G] {
    let streams = Streams::<G>::new(keys, first);
    let k = model.loadings.len();
    let keep = model.book.is_some();
    let mut shock = [f64x8::ZERO; G];
    for (block, loadings) in model.loadings.chunks(2).enumerate() {
        let words = streams.blocks(block as u32, SUBSTREAM_NORMALS);
        for (group, (shock, words)) in shock.iter_mut().zip(words).enumerate() {
            let (z0, z1) = normals_x8(words);
            *shock += f64x8::splat(loadings[0]) * z0;
            if let Some(&b1) = loadings.get(1) {
                *shock += f64x8::splat(b1) * z1;
            }
            if keep {
                let normals = &mut scratch[group * k + 2 * block..][..loadings.len()];
                normals[0] = z0;
                if let Some(second) = normals.get_mut(1) {
                    *second = z1;
                }
            }
        }
    }
    let scale = match model.dof {
        None => [f64x8::ONE; G],
        Some(dof) => array_map(chi_square(&streams, dof), |w| {
            (f64x8::splat(dof - 2.0) / w).sqrt()
        }),
    };
    let mut pnl = [f64x8::ZERO; G];
    for (group, pnl) in pnl.iter_mut().enumerate() {
        let linear = f64x8::splat(model.mean) + scale[group] * shock[group];
        *pnl = match &model.book {
            None => linear,
            Some(book) => {
                let (normals, returns) = scratch.split_at_mut(G * k);
                book.returns(&normals[group * k..][..k], scale[group], returns);
                linear + book.horizon_value(returns)
            }
        };
    }
    pnl
}

/// Writes the P&L of scenarios `first .. first + out.len()` into `out`.
#[inline(always)]
fn fill_pnl(model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
    let keys = RoundKeys::for_seed(seed);
    let mut scratch = match &model.book {
        None => Vec::new(),
        Some(book) => vec![f64x8::ZERO; GROUPS * model.loadings.len() + book.underlyings.len()],
    };
    // Whole batches copy fixed-size groups (measured 2% faster than copying
    // every group as a slice of variable length, as the tail must).
    let mut batches = out.chunks_exact_mut(STREAMS as usize);
    let mut index = first;
    for batch in &mut batches {
        let values = pnl::<GROUPS>(model, &keys, index, &mut scratch);
        for (out, values) in batch.chunks_exact_mut(LANES).zip(values) {
            out.copy_from_slice(values.as_array());
        }
        index += STREAMS;
    }
    let tail = batches.into_remainder();
    if !tail.is_empty() {
        let values = pnl::<GROUPS>(model, &keys, index, &mut scratch);
        for (out, values) in tail.chunks_mut(LANES).zip(values) {
            out.copy_from_slice(&values.as_array()[..out.len()]);
        }
    }
}

/// [`CpuKernel::basket_chunk`] over Philox draws as a task for the target.
struct BasketTask<'a> {
    plan: &'a BasketPlan,
    seed: u64,
    start: u64,
    end: u64,
}

impl Task for BasketTask<'_> {
    type Output = BasketFigures;

    #[inline(always)]
    fn run(self) -> BasketFigures {
        basket_moments(self.plan, self.seed, self.start, self.end)
    }
}

/// [`CpuKernel::exercise_chunk`] as a task for the target.
struct ExerciseTask<'a> {
    plan: &'a ExercisePlan,
    policy: &'a Policy,
    start: u64,
    end: u64,
}

impl Task for ExerciseTask<'_> {
    type Output = Figures;

    #[inline(always)]
    fn run(self) -> Figures {
        exercise_moments(self.plan, self.policy, self.start, self.end)
    }
}

/// An early-exercise job's pricing samples `start .. end` under `policy`,
/// sixteen at a time: eight streams in the lanes, each stream's block
/// feeding an even sample (its cosine half) and an odd one (its sine half),
/// the plan's [`ExercisePlan::observe`] at every date in `f64x8`. A group
/// stops drawing once every lane has exercised (unless the control needs
/// its paths to expiry).
#[inline(always)]
fn exercise_moments(plan: &ExercisePlan, policy: &Policy, start: u64, end: u64) -> Figures {
    let keys = RoundKeys::for_seed(plan.seed);
    let mut sums = Sums::new();
    let mirrors = if plan.antithetic { 2 } else { 1 };
    let factors = plan.factors as usize;
    let start_variance = f64x8::splat(plan.start_variance);
    // [half][mirror][factor]
    let mut z = [[[f64x8::ZERO; MAX_FACTORS as usize]; 2]; 2];
    for first in (start / 2..end.div_ceil(2)).step_by(LANES) {
        let streams = Streams::<1>::new(&keys, first);
        // [half][mirror]
        let mut x = [[f64x8::ZERO; 2]; 2];
        let mut v = [[start_variance; 2]; 2];
        let mut paths = [[Exercised::<f64x8>::open(); 2]; 2];
        let mut block = 0;
        for date in 1..=plan.dates as usize {
            for _ in 0..plan.steps_per_date {
                for f in 0..factors {
                    let (cosine, sine) = normals_x8(streams.block(block, SUBSTREAM_NORMALS));
                    for (z, draw) in z.iter_mut().zip([cosine, sine]) {
                        z[0][f] = draw;
                        z[1][f] = -draw;
                    }
                    block += 1;
                }
                for half in 0..2 {
                    for mirror in 0..mirrors {
                        let draws = &z[half][mirror][..factors];
                        let v = &mut v[half][mirror];
                        x[half][mirror] = plan.advance(x[half][mirror], v, draws);
                    }
                }
            }
            let mut open = f64x8::ZERO;
            for ((paths, x), v) in paths.iter_mut().zip(&x).zip(&v) {
                for ((path, &x), &v) in paths.iter_mut().zip(x).zip(v).take(mirrors) {
                    plan.observe(policy, date, x, v, path);
                    open += path.open;
                }
            }
            if !plan.control && !open.any_positive() {
                break;
            }
        }
        let values: [Values; 2] = array_from_fn(|half| {
            let [up, down] = paths[half];
            if plan.antithetic {
                let half = f64x8::splat(0.5);
                (
                    (up.value + down.value) * half,
                    (up.control + down.control) * half,
                )
            } else {
                (up.value, up.control)
            }
        });
        sums.add_group(values, first, start, end);
    }
    Figures {
        moments: sums.finish(end - start),
        greeks: None,
    }
}

/// Shifted sums of one Greek estimator's lanes (as [`Sums`] for the
/// payoff): about the chunk's first sample's value.
#[derive(Clone, Copy)]
struct EstimatorSums {
    shift: f64,
    sum: f64x8,
    squares: f64x8,
}

/// A basket's samples `start .. end`, sixteen at a time: eight streams in
/// the lanes, each stream's block feeding an even sample (its cosine half)
/// and an odd one (its sine half), every asset's block of a step drawn
/// ([`crate::basket`]'s layout), then the plan's step, payoff and Greeks'
/// estimators in `f64x8`.
#[inline(always)]
fn basket_moments(plan: &BasketPlan, seed: u64, start: u64, end: u64) -> BasketFigures {
    let keys = RoundKeys::for_seed(seed);
    let d = plan.assets;
    let mut sums = Sums::new();
    let zero = vec![f64x8::ZERO; d];
    let (mut z, mut up, mut down) = (
        [zero.clone(), zero.clone()],
        [zero.clone(), zero.clone()],
        [zero.clone(), zero],
    );
    let estimators = if plan.greeks { 2 * d } else { 0 };
    let mut values_of = vec![f64x8::ZERO; estimators];
    let mut greek_sums: Vec<EstimatorSums> = Vec::with_capacity(estimators);
    for first in (start / 2..end.div_ceil(2)).step_by(LANES) {
        let streams = Streams::<1>::new(&keys, first);
        for half in 0..2 {
            up[half].fill(f64x8::ZERO);
            down[half].fill(f64x8::ZERO);
        }
        for step in 0..plan.steps {
            let block = step * d as u32;
            for (f, block) in (block..block + d as u32).enumerate() {
                let (cosine, sine) = normals_x8(streams.block(block, SUBSTREAM_NORMALS));
                z[0][f] = cosine;
                z[1][f] = sine;
            }
            for half in 0..2 {
                plan.advance(&z[half], &mut up[half], false);
                if plan.antithetic {
                    plan.advance(&z[half], &mut down[half], true);
                }
            }
        }
        let values: [Values; 2] = array_from_fn(|half| plan.sample_value(&up[half], &down[half]));
        let masks = sums.add_group(values, first, start, end);
        let first_half = (start % 2) as usize;
        if plan.greeks {
            // The first sample of the chunk is lane 0 of the first half.
            for half in [first_half, 1 - first_half] {
                plan.sample_sensitivities(&up[half], &down[half], &mut values_of);
                if greek_sums.is_empty() {
                    greek_sums.extend(values_of.iter().map(|v| EstimatorSums {
                        shift: v.as_array()[0],
                        sum: f64x8::ZERO,
                        squares: f64x8::ZERO,
                    }));
                }
                for (sums, &value) in greek_sums.iter_mut().zip(&values_of) {
                    let mut delta = value - f64x8::splat(sums.shift);
                    if let Some(masks) = masks {
                        delta = masks[half].select(delta, f64x8::ZERO);
                    }
                    sums.sum += delta;
                    sums.squares += delta * delta;
                }
            }
        }
    }
    BasketFigures {
        moments: sums.finish(end - start),
        greeks: greek_sums
            .iter()
            .map(|s| {
                Moments::from_shifted_sums(
                    end - start,
                    s.shift,
                    s.sum.reduce_add(),
                    s.squares.reduce_add(),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Moments;
    use crate::{Market, OptionKind, OptionSpec, PricingJob, Style};

    /// Relative difference, with an absolute floor for values near zero.
    fn close(a: f64, b: f64, relative: f64) -> bool {
        (a - b).abs() <= relative * a.abs().max(b.abs()).max(1e-6)
    }

    #[test]
    fn simd_chunks_may_start_and_end_on_any_sample() {
        // Groups hold sixteen samples, two per stream: ranges that start or end
        // on an odd sample or inside a group must count exactly their samples.
        let job = PricingJob {
            market: Market {
                spot: 100.0,
                rate: 0.03,
                dividend: 0.01,
                vol: 0.25,
            },
            option: OptionSpec {
                kind: OptionKind::Call,
                style: Style::AsianArithmetic,
                strike: 102.0,
                maturity: 0.8,
                steps: 3,
                barrier: None,
            },
            paths: 101,
            seed: 0xfeed_beef,
            antithetic: false,
            ..Default::default()
        };
        let setup = job.setup();
        let draws = Draws::Mc { seed: job.seed };
        let chunk = |start, end| {
            VectorKernel::new(crate::simd::Baseline::detect().unwrap())
                .price_chunk(&setup, &job, &draws, None, start, end)
                .moments
                .payoff
        };
        let whole = chunk(0, 101);
        assert_eq!(whole.count, 101);
        let singles: Vec<f64> = (0..101).map(|i| chunk(i, i + 1).mean).collect();
        let reference = Moments::of(&singles);
        assert!(close(whole.mean, reference.mean, 1e-12));
        assert!(close(whole.m2, reference.m2, 1e-12));
        for (start, end) in [
            (1, 2),
            (1, 17),
            (3, 40),
            (15, 16),
            (16, 33),
            (17, 100),
            (31, 101),
        ] {
            let part = chunk(start, end);
            let expected = Moments::of(&singles[start as usize..end as usize]);
            assert_eq!(part.count, end - start);
            assert!(close(part.mean, expected.mean, 1e-12), "{start}..{end}");
            assert!(close(part.m2, expected.m2, 1e-12), "{start}..{end}");
        }
        // And the whole range is the scalar tier's sample: its discounted mean is
        // the scalar price of the same 101 paths.
        let oracle = crate::price(&job, crate::Backend::Scalar).unwrap();
        assert!(close(job.discount() * whole.mean, oracle.price, 1e-9));
    }
}
