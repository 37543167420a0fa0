//! Compute tiers: executors that run kernels over a job's fixed chunks.
//!
//! # Design
//!
//! Products are defined once ([`crate::products`]); a *kernel* turns a chunk of
//! a job into figures, and an *executor* decides where the chunks run:
//!
//! | tier     | executor     | kernel                                              |
//! |----------|--------------|-----------------------------------------------------|
//! | `scalar` | `Serial`     | `ScalarKernel`: one f64 path at a time, the oracle  |
//! | `simd`   | `Serial`     | `VectorKernel`: sixteen paths in `f64x8` lanes      |
//! | `rayon`  | `Rayon`      | `VectorKernel`                                      |
//!
//! `VectorKernel` is compiled for each instruction set the target has and
//! picked at run time ([`crate::simd`], [`crate::hardware::Isa`]).
//! | `gpu`    | `GpuBackend` | the products' WGSL twins, specialised by overrides  |
//!
//! A new CPU tier is a new `Executor`; a new device is a new
//! [`ComputeBackend`]. Neither touches a product.
//!
//! Contracts every tier keeps:
//!
//! * **Stream layout.** Path, pair or scenario `i` draws exactly the numbers
//!   [`crate::rng`] assigns to `(seed, substream, i, draw)`, whatever order or
//!   thread visits it. Antithetic pair `p` uses stream `p`'s draws for both
//!   halves.
//! * **Determinism.** CPU reductions run over fixed chunks of
//!   [`CHUNK`] samples combined in chunk order
//!   ([`crate::stats::Moments::merge`]), so the result is a function of the job
//!   alone, never of scheduling or thread count. The GPU reduces over a grid
//!   that depends on the job alone, so it too repeats bit for bit on one
//!   adapter.
//! * **Precision.** CPU tiers compute in f64 and agree with the scalar tier to
//!   1e-9 relative; the GPU tier computes in f32 on the device and agrees to
//!   1e-4 relative on prices and 1e-3 on VaR/ES.
//! * **Errors, not panics.** A tier that cannot run returns
//!   [`crate::error::BackendError`].

use std::ops::Range;

use crate::basket::{BasketFigures, BasketPlan};
use crate::control::Control;
use crate::error::{BackendError, Result};
use crate::exercise::{AfterPriced, AfterPricing, ExercisePlan, PlanRef, Policy};
use crate::greeks::GreekSetup;
use crate::models::{Bates, Model};
use crate::pricing::{PricingJob, Sampler, ValidPricing};
use crate::products::{PathSetup, Product, Specialised, specialise};
use crate::risk::{RiskEstimate, RiskModel, ValidVar};
use crate::rng::CHUNK;
use crate::rng::qmc::{BrownianBridge, scrambles};
use crate::stats::{CoMoments, Figures};

#[cfg(feature = "gpu")]
pub mod gpu;
mod rayon;
mod scalar;
mod serial;
mod vector;

pub(crate) use rayon::Rayon;
pub(crate) use scalar::ScalarKernel;
pub(crate) use scalar::{
    basket_moments as scalar_basket_moments, scenario_draws, scenario_pnl as scalar_scenario_pnl,
};
pub(crate) use serial::Serial;

pub use crate::tier::{Backend, Gpus, Tier};

/// A tier ready to run jobs.
///
/// One method per workload, each taking a validated plain-data job and
/// returning plain-data figures; timing, closed forms and provenance are added
/// by the library around the call, so a tier is only its kernels.
pub trait ComputeBackend: Send + Sync {
    /// The tier this is.
    fn tier(&self) -> Tier;

    /// What it runs on, e.g. `scalar (f64, 1 thread)` or
    /// `rayon (avx2+fma, 2 threads)`.
    fn describe(&self) -> String;

    /// Moments of the undiscounted payoff and its control variate (and of the
    /// Greeks' per-sample estimators when the job asks) over samples `points`
    /// (pair averages when antithetic) of each of the job's groups: one entry per replicate of a randomized QMC run, one for plain
    /// Monte Carlo. The library turns them into the estimate
    /// ([`crate::pricing::estimate`]), calling again for later rounds.
    fn price(&self, job: ValidPricing<'_>, points: Range<u64>) -> Result<Vec<Figures>>;

    /// [`ComputeBackend::price`] block by block: for each group, the figures
    /// of each block of samples that `points` touches (blocks of
    /// [`ComputeBackend::block_samples`] samples aligned at its multiples,
    /// clipped to `points`), in order. Folding each group's list in order
    /// with [`Figures::merge`] gives `price`'s figures bit for bit, which is
    /// what lets several processes or devices share a job and give the
    /// one-process answer ([`crate::distributed`]).
    fn price_blocks(&self, job: ValidPricing<'_>, points: Range<u64>) -> Result<Vec<Vec<Figures>>>;

    /// Samples of one block of `job` in [`ComputeBackend::price_blocks`]:
    /// [`BLOCK`] on the CPU tiers; one dispatch's segment on the GPU, which
    /// depends on the job's steps and the adapter's class.
    fn block_samples(&self, job: &PricingJob) -> u64 {
        let _ = job;
        BLOCK
    }

    /// Mean, standard deviation and tail measures of the simulated P&L, one tail
    /// per confidence level of `job`.
    fn risk(&self, job: &ValidVar<'_>) -> Result<RiskEstimate>;

    /// Moments of the undiscounted payoff and its control (and of each
    /// asset's delta and vega estimators, when the plan asks) over samples
    /// `points` of each group of a basket (one entry per QMC replicate, one
    /// for plain Monte Carlo), in fixed chunks merged in chunk order (the
    /// GPU tier: in its segments, merged in order); a tier without a basket
    /// kernel says so.
    fn price_basket(
        &self,
        plan: &BasketPlan,
        points: Range<u64>,
        control: &Control,
    ) -> Result<Vec<BasketFigures>> {
        let _ = (plan, points, control);
        Err(BackendError::Unavailable {
            backend: self.tier().name(),
            reason: "this tier has no basket kernel".to_string(),
        }
        .into())
    }

    /// The early-exercise policy of `plan`, fitted on its calibration
    /// paths ([`crate::exercise`]): the same on every tier and thread count.
    /// A tier without an early-exercise kernel says so.
    fn calibrate_exercise(
        &self,
        plan: PlanRef<'_>,
        degree: u32,
        control: &Control,
    ) -> Result<Policy> {
        let _ = (plan, degree, control);
        Err(no_exercise_kernel(self.tier()))
    }

    /// Moments of the discounted cash flow (and its control) of pricing
    /// samples `points` of `plan` under `policy`, in fixed chunks merged in
    /// chunk order.
    fn price_exercise(
        &self,
        plan: PlanRef<'_>,
        policy: &Policy,
        points: Range<u64>,
        control: &Control,
    ) -> Result<Figures> {
        let _ = (plan, policy, points, control);
        Err(no_exercise_kernel(self.tier()))
    }

    /// The passes after pricing, as `asked` ([`crate::exercise`]'s Greeks
    /// and duality upper bound): the oracle's walk on the tier's threads in
    /// fixed chunks merged in chunk order, the same bits on every tier and
    /// thread count.
    fn exercise_after_pricing(
        &self,
        plan: PlanRef<'_>,
        policy: &Policy,
        asked: AfterPricing,
        control: &Control,
    ) -> Result<AfterPriced> {
        let _ = (plan, policy, asked, control);
        Err(no_exercise_kernel(self.tier()))
    }

    /// Calls `work(chunk, values)` with the P&L of each chunk of `chunks`
    /// (the fixed [`CHUNK`]s of scenarios, regenerated from their counters),
    /// on any thread, and returns the results in chunk order: one process's
    /// share of a streamed VaR pass, the rest computed elsewhere
    /// ([`crate::distributed::var`]). A cancelled run hands `work` empty
    /// chunks. The GPU tier computes the P&L on its devices in f32 and reads
    /// it back.
    fn map_pnl_chunks(
        &self,
        job: &ValidVar<'_>,
        chunks: Range<u64>,
        work: &(dyn Fn(u64, &[f64]) -> Vec<u64> + Sync),
    ) -> Result<Vec<Vec<u64>>>;
}

/// Figures of one fixed chunk of a job, computed on one thread.
pub(crate) trait CpuKernel: ChunkKernel + Sync + Sized {
    /// How the kernel computes, for [`ComputeBackend::describe`].
    fn describe(&self) -> String;
    /// Moments of the undiscounted samples `start .. end` (one chunk) of one
    /// group, its normals from `draws`: the kernel's [`ChunkKernel`]
    /// functions specialised for the job's product.
    fn price_chunk(
        &self,
        setup: &PathSetup,
        job: &PricingJob,
        draws: &Draws<'_>,
        greeks: Option<&GreekSetup>,
        start: u64,
        end: u64,
    ) -> Figures {
        Chunk::moments(self, setup, job, draws, greeks, start, end)
    }
    /// The P&L of scenarios `first .. first + out.len()`, written to `out`.
    fn fill_pnl(&self, model: &RiskModel, seed: u64, first: u64, out: &mut [f64]);
    /// Moments of a basket's samples `start .. end` (one chunk) of one
    /// group: the scalar oracle's walk unless the kernel has its own.
    fn basket_chunk(
        &self,
        plan: &BasketPlan,
        draws: &Draws<'_>,
        start: u64,
        end: u64,
    ) -> BasketFigures {
        scalar::basket_moments(plan, draws, start, end)
    }
    /// Moments of an early-exercise job's pricing samples `start .. end`
    /// (one chunk) under `policy`: the scalar oracle's walk unless the
    /// kernel has its own.
    fn exercise_chunk(
        &self,
        plan: &ExercisePlan,
        policy: &Policy,
        start: u64,
        end: u64,
    ) -> Figures {
        plan.price_chunk(policy, start, end)
    }
}

/// Where one group's normals come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Draws<'a> {
    /// The Philox streams of `seed` ([`crate::rng`]).
    Mc { seed: u64 },
    /// One replicate's scrambled Sobol points through the bridge
    /// ([`crate::rng::qmc`]): `scrambles[d]` scrambles dimension `d`; each
    /// of the model's `factors` has its own bridge over the steps
    /// ([`BrownianBridge::factor_increments`]).
    Qmc {
        scrambles: &'a [u32],
        bridge: &'a BrownianBridge,
        factors: usize,
    },
}

/// The QMC constants of a job, built once per call: every replicate's
/// scrambles (replicate-major) and the bridge.
pub(crate) struct QmcTables {
    pub scrambles: Vec<u32>,
    pub bridge: BrownianBridge,
    /// Sobol dimensions of a point: steps times the model's factors.
    pub dimensions: usize,
    /// The model's factors, each bridged over the steps.
    pub factors: usize,
}

impl QmcTables {
    /// The tables of a basket: one factor per asset, or `None` for plain
    /// Monte Carlo.
    pub fn of_basket(plan: &BasketPlan) -> Option<Self> {
        (plan.sampler == Sampler::Rqmc).then(|| {
            let dimensions = plan.steps * plan.assets as u32;
            Self {
                scrambles: scrambles(plan.seed, plan.groups, dimensions),
                bridge: BrownianBridge::new(plan.steps),
                dimensions: dimensions as usize,
                factors: plan.assets,
            }
        })
    }

    /// The tables of `job`, or `None` for plain Monte Carlo.
    pub fn of(job: &PricingJob) -> Option<Self> {
        (job.sampler == Sampler::Rqmc).then(|| {
            let steps = job.time_steps();
            let dimensions = job.draws() as u32;
            Self {
                scrambles: scrambles(job.seed, job.replicates, dimensions),
                bridge: BrownianBridge::new(steps),
                dimensions: dimensions as usize,
                factors: job.model.factors() as usize,
            }
        })
    }

    /// Group `group`'s draws under `tables` (plain Monte Carlo when `None`).
    pub fn draws<'a>(tables: &'a Option<Self>, seed: u64, group: u32) -> Draws<'a> {
        match tables {
            None => Draws::Mc { seed },
            Some(tables) => {
                let first = group as usize * tables.dimensions;
                Draws::Qmc {
                    scrambles: &tables.scrambles[first..first + tables.dimensions],
                    bridge: &tables.bridge,
                    factors: tables.factors,
                }
            }
        }
    }
}

/// A pricing kernel for one product, call or put, plain or antithetic, as
/// compile-time parameters.
pub(crate) trait ChunkKernel {
    /// Moments of the undiscounted samples `start .. end` and, when
    /// `control` is set, of their controls (a kernel may skip the control's
    /// sums otherwise, leaving its moments and the cross moment zero).
    fn moments<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        control: bool,
        start: u64,
        end: u64,
    ) -> CoMoments;

    /// The same samples' payoffs and controls with each sample's Greek
    /// estimators ([`GreekSetup::estimators`]), in one pass.
    fn greeks<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        greeks: &GreekSetup,
        control: bool,
        start: u64,
        end: u64,
    ) -> Figures;
}

/// Samples `start .. end` of one group of a job, run by kernel `K`
/// specialised for the job's product ([`crate::products::specialise`]).
pub(crate) struct Chunk<'a, K> {
    pub setup: &'a PathSetup,
    pub draws: &'a Draws<'a>,
    pub greeks: Option<&'a GreekSetup>,
    pub control: bool,
    pub start: u64,
    pub end: u64,
    pub kernel: &'a K,
}

impl<'a, K: ChunkKernel> Chunk<'a, K> {
    /// Runs the chunk.
    pub fn moments(
        kernel: &'a K,
        setup: &'a PathSetup,
        job: &PricingJob,
        draws: &'a Draws<'a>,
        greeks: Option<&'a GreekSetup>,
        start: u64,
        end: u64,
    ) -> Figures {
        let chunk = Self {
            setup,
            draws,
            greeks,
            control: job.control_variate,
            start,
            end,
            kernel,
        };
        specialise(setup.style, setup.kind, job.antithetic, chunk)
    }
}

impl<K: ChunkKernel> Specialised for Chunk<'_, K> {
    type Output = Figures;

    fn run<P: Product, const PUT: bool, const ANTITHETIC: bool>(self) -> Figures {
        match self.greeks {
            Some(greeks) => self.kernel.greeks::<P, PUT, ANTITHETIC>(
                self.setup,
                self.draws,
                greeks,
                self.control,
                self.start,
                self.end,
            ),
            None => Figures {
                moments: self.kernel.moments::<P, PUT, ANTITHETIC>(
                    self.setup,
                    self.draws,
                    self.control,
                    self.start,
                    self.end,
                ),
                greeks: None,
            },
        }
    }
}

/// One chunk of one group: samples `start .. end` of group `group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub group: u32,
    pub start: u64,
    pub end: u64,
}

/// Samples `points` of each of `groups` groups, group by group, split at the
/// multiples of [`CHUNK`] (for `0 .. n`, the chunks of
/// [`crate::rng::chunk_bounds`]).
pub(crate) fn spans(groups: u32, points: Range<u64>) -> impl Iterator<Item = Span> {
    (0..groups).flat_map(move |group| {
        let Range { start, end } = points.clone();
        let first = start / CHUNK;
        (first..end.div_ceil(CHUNK)).map(move |c| Span {
            group,
            start: (c * CHUNK).max(start),
            end: ((c + 1) * CHUNK).min(end),
        })
    })
}

/// Where a CPU tier's chunks run: one thread, or a pool.
pub(crate) trait Executor: Sync {
    /// The threads, for [`ComputeBackend::describe`].
    fn threads(&self) -> usize;
    /// `chunk` of every span, in order.
    fn map_chunks(&self, chunks: &[Span], chunk: &(dyn Fn(Span) -> Figures + Sync))
    -> Vec<Figures>;
    /// Calls `fill(first, out)` for each [`CHUNK`]-sized piece of `pnl`.
    fn fill_chunks(&self, pnl: &mut [f64], fill: &(dyn Fn(u64, &mut [f64]) + Sync));
    /// `work(chunk)` for each chunk index of `chunks`, the results in order.
    fn map_indexed<T: Send>(&self, chunks: Range<u64>, work: &(dyn Fn(u64) -> T + Sync)) -> Vec<T>;
}

/// The error of a tier without an early-exercise kernel.
fn no_exercise_kernel(tier: Tier) -> crate::error::Error {
    BackendError::Unavailable {
        backend: tier.name(),
        reason: "early exercise runs on the CPU tiers (scalar, simd, rayon) for now: this \
                 tier has no Longstaff-Schwartz kernel yet"
            .to_string(),
    }
    .into()
}

/// Samples of one block: the CPU tiers fold a job's chunks block by block
/// (each block's chunks in order, then the blocks in order), so the blocks
/// of a range can be computed anywhere (another process, another machine)
/// and folded to the same figures bit for bit ([`ComputeBackend::price_blocks`]).
/// Part of the reproducibility contract: changing it changes the last bits of
/// every result past one block.
pub const BLOCK: u64 = 16 * CHUNK;

/// Chunks handed to an executor at once: enough to keep every core busy,
/// few enough that their bounds and moments take a few hundred KB.
const CHUNK_GROUP: usize = 8192;

/// A CPU tier: an executor running a kernel.
pub(crate) struct CpuTier<E, K> {
    pub tier: Tier,
    pub executor: E,
    pub kernel: K,
}

impl<E: Executor + Send, K: CpuKernel + Send> ComputeBackend for CpuTier<E, K> {
    fn tier(&self) -> Tier {
        self.tier
    }

    fn describe(&self) -> String {
        let threads = self.executor.threads();
        let plural = if threads == 1 { "" } else { "s" };
        format!(
            "{} ({}, {threads} thread{plural})",
            self.tier().name(),
            self.kernel.describe()
        )
    }

    fn price(&self, valid: ValidPricing<'_>, points: Range<u64>) -> Result<Vec<Figures>> {
        Ok(self
            .price_blocks(valid, points)?
            .into_iter()
            .map(|blocks| blocks.into_iter().fold(Figures::default(), Figures::merge))
            .collect())
    }

    fn price_blocks(
        &self,
        valid: ValidPricing<'_>,
        points: Range<u64>,
    ) -> Result<Vec<Vec<Figures>>> {
        let job = &*valid;
        let setup = job.setup();
        let tables = QmcTables::of(job);
        let greeks = job.greeks.map(|method| GreekSetup::new(job, method));
        let draws: Vec<Draws<'_>> = (0..job.groups())
            .map(|group| QmcTables::draws(&tables, job.seed, group))
            .collect();
        let control = valid.control();
        self.blocks(job.groups(), points, control, &|span| {
            self.kernel.price_chunk(
                &setup,
                job,
                &draws[span.group as usize],
                greeks.as_ref(),
                span.start,
                span.end,
            )
        })
    }

    fn price_basket(
        &self,
        plan: &BasketPlan,
        points: Range<u64>,
        control: &Control,
    ) -> Result<Vec<BasketFigures>> {
        let tables = QmcTables::of_basket(plan);
        let draws: Vec<Draws<'_>> = (0..plan.groups)
            .map(|group| QmcTables::draws(&tables, plan.seed, group))
            .collect();
        self.fold_chunks(
            plan.groups,
            points,
            control,
            &|span| {
                let draws = &draws[span.group as usize];
                self.kernel.basket_chunk(plan, draws, span.start, span.end)
            },
            BasketFigures::merge,
        )
    }

    fn calibrate_exercise(
        &self,
        plan: PlanRef<'_>,
        degree: u32,
        control: &Control,
    ) -> Result<Policy> {
        crate::exercise::calibrate_plan(plan, degree, &self.executor, control)
    }

    fn exercise_after_pricing(
        &self,
        plan: PlanRef<'_>,
        policy: &Policy,
        asked: AfterPricing,
        control: &Control,
    ) -> Result<AfterPriced> {
        crate::exercise::after_pricing(plan, policy, asked, &self.executor, control)
    }

    fn price_exercise(
        &self,
        plan: PlanRef<'_>,
        policy: &Policy,
        points: Range<u64>,
        control: &Control,
    ) -> Result<Figures> {
        let mut groups = self.fold_chunks(
            1,
            points,
            control,
            &|span| match plan {
                PlanRef::Asset(plan) => self
                    .kernel
                    .exercise_chunk(plan, policy, span.start, span.end),
                // The oracle's walk: no lane kernel for baskets yet.
                PlanRef::Basket(plan) => {
                    crate::exercise::walk::price_chunk(plan, policy, span.start, span.end)
                }
            },
            Figures::merge,
        )?;
        Ok(groups.pop().unwrap_or_default())
    }

    fn risk(&self, job: &ValidVar<'_>) -> Result<RiskEstimate> {
        let model = job.model();
        let control = job.control();
        let (n, seed) = (job.scenarios, job.seed);
        let stored = if n > STORED_MAX_SCENARIOS {
            // Too many to store: the summary's two passes regenerate each
            // chunk from its counters, memory independent of the scenario
            // count.
            control.expect(2 * n);
            None
        } else {
            control.expect(n);
            let mut pnl = allocate(n)?;
            self.executor.fill_chunks(&mut pnl, &|first, out| {
                if !control.is_cancelled() {
                    self.kernel.fill_pnl(model, seed, first, out);
                    control.advance(out.len() as u64);
                }
            });
            control.check()?;
            Some(pnl)
        };
        // One summary whether the P&L is stored or regenerated: the same
        // figures bit for bit, on every CPU tier and any number of
        // processes (crate::distributed).
        let (moments, tails) = crate::stats::summarise_streamed(
            n,
            &job.tail_counts(),
            &|chunks, work| {
                self.executor.map_indexed(chunks, &|chunk| match &stored {
                    Some(pnl) => work(chunk, crate::stats::stored_chunk(pnl, chunk)),
                    None => work(chunk, &self.pnl_chunk(job, chunk)),
                })
            },
            &|| control.is_cancelled(),
        );
        control.check()?;
        Ok(RiskEstimate {
            mean: moments.mean,
            std_dev: moments.std_dev(),
            tails,
        })
    }

    fn map_pnl_chunks(
        &self,
        job: &ValidVar<'_>,
        chunks: Range<u64>,
        work: &(dyn Fn(u64, &[f64]) -> Vec<u64> + Sync),
    ) -> Result<Vec<Vec<u64>>> {
        Ok(self
            .executor
            .map_indexed(chunks, &|chunk| work(chunk, &self.pnl_chunk(job, chunk))))
    }
}

impl<E: Executor, K: CpuKernel> CpuTier<E, K> {
    /// `work(span)` for every fixed chunk of `points` of each of `groups`
    /// groups, a bounded batch of chunks at a time, each group's results
    /// merged in chunk order (so they do not depend on the thread count),
    /// reporting progress to `control` and stopping soon after a cancel.
    fn fold_chunks<T: Send + Default>(
        &self,
        groups: u32,
        points: Range<u64>,
        control: &Control,
        work: &(dyn Fn(Span) -> T + Sync),
        merge: fn(T, T) -> T,
    ) -> Result<Vec<T>> {
        control.expect((points.end - points.start) * u64::from(groups));
        let chunks: Vec<Span> = spans(groups, points).collect();
        let mut totals: Vec<T> = (0..groups).map(|_| T::default()).collect();
        for batch in chunks.chunks(CHUNK_GROUP) {
            let results = self.executor.map_indexed(0..batch.len() as u64, &|index| {
                let span = batch[index as usize];
                if control.is_cancelled() {
                    return T::default();
                }
                let result = work(span);
                control.advance(span.end - span.start);
                result
            });
            control.check()?;
            for (span, result) in batch.iter().zip(results) {
                let total = &mut totals[span.group as usize];
                *total = merge(std::mem::take(total), result);
            }
        }
        Ok(totals)
    }

    /// `chunk` of every fixed chunk of `points` of each of `groups` groups,
    /// folded block by block in order ([`ComputeBackend::price_blocks`]):
    /// the chunks go to the executor a bounded batch at a time (memory stays
    /// flat at any path count; replicates smaller than a chunk still spread
    /// over the cores), and a cancelled run skips its remaining chunks.
    fn blocks(
        &self,
        groups: u32,
        points: Range<u64>,
        control: &Control,
        chunk: &(dyn Fn(Span) -> Figures + Sync),
    ) -> Result<Vec<Vec<Figures>>> {
        let mut blocks: Vec<Vec<Figures>> = vec![Vec::new(); groups as usize];
        let first_block = points.start / BLOCK;
        let mut chunks = spans(groups, points).peekable();
        while chunks.peek().is_some() {
            let batch: Vec<Span> = chunks.by_ref().take(CHUNK_GROUP).collect();
            let moments = self.executor.map_chunks(&batch, &|span| {
                // A cancelled run's figures are never returned.
                if control.is_cancelled() {
                    return Figures::default();
                }
                let figures = chunk(span);
                control.advance(span.end - span.start);
                figures
            });
            control.check()?;
            // Spans come in order within each group, so a chunk's block is
            // the group's last one or the next.
            for (span, moments) in batch.iter().zip(moments) {
                let blocks = &mut blocks[span.group as usize];
                let index = (span.start / BLOCK - first_block) as usize;
                if blocks.len() <= index {
                    blocks.push(Figures::default());
                }
                blocks[index] = blocks[index].merge(moments);
            }
        }
        Ok(blocks)
    }

    /// The P&L of chunk `chunk` of `job`, regenerated from its counters (empty
    /// once the run is cancelled: its figures are never returned).
    fn pnl_chunk(&self, job: &ValidVar<'_>, chunk: u64) -> Vec<f64> {
        let control = job.control();
        let first = chunk * CHUNK;
        let count = if control.is_cancelled() {
            0
        } else {
            CHUNK.min(job.scenarios - first)
        };
        let mut values = vec![0.0; count as usize];
        self.kernel
            .fill_pnl(job.model(), job.seed, first, &mut values);
        control.advance(count);
        values
    }
}

/// Scenarios a CPU tier stores (8 bytes each: 512 MiB); beyond, it
/// regenerates each chunk's P&L for each of the summary's two passes
/// (`stats::summarise_streamed`, which it runs over the stored P&L too):
/// the same figures bit for bit, in memory that does not grow with the
/// scenario count.
pub const STORED_MAX_SCENARIOS: u64 = 1 << 26;

/// A zeroed P&L buffer of `scenarios` values; running out of memory is an
/// error naming the size, never an abort.
///
/// The memory comes zeroed from the allocator (`calloc`, as `vec![0.0; n]`
/// does), so its pages are first touched by the threads that fill them
/// rather than by a serial memset: measured 8-10% of a rayon VaR run at 1e7
/// scenarios on 2 cores.
pub(crate) fn allocate(scenarios: u64) -> Result<Vec<f64>> {
    let too_big = |reason: String| BackendError::Failed {
        backend: "memory",
        reason,
    };
    let count = usize::try_from(scenarios).map_err(|_| {
        too_big(format!(
            "{scenarios} scenarios do not fit this machine's memory space"
        ))
    })?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<f64>(count).map_err(|_| {
        too_big(format!(
            "{scenarios} scenarios do not fit this machine's memory space"
        ))
    })?;
    // SAFETY: `layout` has a non-zero size (count > 0), as `alloc_zeroed`
    // requires.
    let pointer = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<f64>();
    if pointer.is_null() {
        return Err(too_big(format!(
            "cannot hold {scenarios} scenarios ({} bytes): out of memory",
            layout.size()
        ))
        .into());
    }
    // SAFETY: `pointer` was allocated by the global allocator with the layout
    // of `count` f64s, which `Vec` uses for a capacity of `count`; all-zero
    // bits are a valid f64 (0.0), so all `count` elements are initialised.
    Ok(unsafe { Vec::from_raw_parts(pointer, count, count) })
}

/// What Auto knows of the machine and the job when it weighs a tier.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// Cores the job may use.
    pub cores: usize,
    /// Independent samples of the job.
    pub samples: u64,
    /// Why the GPU kernels cannot run the job, if they cannot
    /// ([`crate::selector::Work::gpu_unsupported`]).
    pub gpu_unsupported: Option<&'static str>,
}

/// Whether `tier` can speed up a job on `machine`: `Ok` with what it runs on
/// (for Auto's reason), or `Err` with why not. `gpu` probes the adapters (at
/// most once, and only when asked). The selector asks this of every tier
/// past its crossover, so a new tier's rule lives here, beside the tier.
pub fn eligible(
    tier: Tier,
    machine: &Machine,
    gpu: &mut dyn FnMut() -> Option<crate::hardware::GpuClass>,
) -> std::result::Result<String, String> {
    use crate::hardware::GpuClass;
    match tier {
        Tier::Scalar | Tier::Simd => Ok("one core".to_string()),
        Tier::Rayon if machine.cores < 2 => Err("1 core, so threads cannot help".to_string()),
        Tier::Rayon if machine.samples <= crate::rng::CHUNK => Err(format!(
            "{} samples fit one {}-sample chunk, so threads cannot help",
            machine.samples,
            crate::rng::CHUNK
        )),
        Tier::Rayon => Ok(format!("{} cores", machine.cores)),
        Tier::Gpu if machine.gpu_unsupported.is_some() => {
            Err(machine.gpu_unsupported.unwrap_or_default().to_string())
        }
        Tier::Gpu => match gpu() {
            Some(GpuClass::Software) => Err("only a software GPU adapter is present".to_string()),
            Some(class) => Ok(format!("{class:?} adapter")),
            None => Err("no GPU adapter".to_string()),
        },
    }
}

/// Largest magnitude the GPU kernels' f32 arithmetic is trusted with; the
/// smallest is its inverse.
pub const F32_LIMIT: f64 = 1e30;

/// The widest range of prices the GPU prices, `1e-15 .. 1e15`: a payoff's
/// square stays a normal f32 (a spot of 1e-22 gave a standard error 11x too
/// small, 1e-23 one of 0) and a workgroup's sum of squares stays finite (1e18
/// overflowed).
pub const F32_PRICE_LIMIT: f64 = 1e15;

/// The least step of the log price the GPU takes, in f32 spacings of the
/// log price's magnitude ([`f32_problem`]).
pub const MIN_F32_SPACINGS: f64 = 100.0;

/// The least step an f32 log price of `magnitude` resolves
/// ([`MIN_F32_SPACINGS`] of its spacings), where `per_step` is below it.
fn f32_unresolved(per_step: f64, magnitude: f64) -> Option<f64> {
    let resolved = MIN_F32_SPACINGS * f64::from(f32::EPSILON) * magnitude;
    (per_step < resolved).then_some(resolved)
}

/// Most assets with options on them a book revalued on the GPU may have
/// (each scenario keeps their returns in registers).
pub const GPU_MAX_UNDERLYINGS: usize = 64;

/// Why a VaR job whose risk model is `model` cannot run on the GPU tier: a
/// short reason for Auto and the full one for an explicit `--backend gpu`;
/// `None` when it can.
pub fn risk_gpu_problem(model: &RiskModel) -> Option<(&'static str, String)> {
    let out_of_range = |what: &str, value: f64| {
        Some((
            "the job's P&L leaves the GPU's f32 range",
            format!(
                "{what} of {value:e} is outside the f32 range the GPU kernels compute in (|x| <= {F32_LIMIT:e}); use a CPU tier"
            ),
        ))
    };
    if let Some(&loading) = model.loadings.iter().find(|b| b.abs() > F32_LIMIT) {
        return out_of_range("a P&L loading", loading);
    }
    let book = model.book.as_ref()?;
    if book.underlyings.len() > GPU_MAX_UNDERLYINGS {
        return Some((
            "the option book is on more assets than the GPU kernel holds",
            format!(
                "the options are on {} assets; the GPU kernel revalues books on at most {GPU_MAX_UNDERLYINGS}; use a CPU tier",
                book.underlyings.len()
            ),
        ));
    }
    let prices = book.underlyings.iter().map(|u| u.price);
    let options = book
        .options
        .iter()
        .flat_map(|o| [o.strike, o.quantity, o.quantity * o.now]);
    if let Some(value) = prices
        .chain(options)
        .find(|v| v.abs() > F32_LIMIT.sqrt() || (*v != 0.0 && v.abs() < 1.0 / F32_LIMIT))
    {
        return out_of_range("an option's price, strike, quantity or value", value);
    }
    None
}

/// Why `job` cannot be priced faithfully in f32 (the GPU tier's arithmetic),
/// or `None` when it can: the spot, the strike and every price a path is
/// likely to reach (ten standard deviations of the log price either way)
/// must lie within [`F32_PRICE_LIMIT`] of 1 (so that payoffs square, and
/// their sums of squares add up, within f32: the standard error), and a
/// step's diffusion must span [`MIN_F32_SPACINGS`] f32 spacings of the log
/// price.
pub fn f32_problem(job: &PricingJob) -> Option<String> {
    let setup = job.setup();
    let steps = f64::from(setup.steps);
    // Ten standard deviations of the log price's diffusion, its drift, and
    // under the other models the variance's and the jumps' reach.
    let maturity = job.option.maturity;
    let (vol, jumps) = match job.model {
        Model::BlackScholes(_) => (job.market.vol, None),
        Model::Merton(jumps) => (job.market.vol, Some(jumps)),
        Model::Heston(heston) => (heston_reach(&heston, maturity), None),
        Model::Bates(bates) => (heston_reach(&bates.heston, maturity), Some(bates.jumps)),
    };
    let mut spread = if job.model.is_black_scholes() {
        10.0 * setup.diffusion * steps.sqrt()
    } else {
        10.0 * vol * maturity.sqrt()
    } + (setup.drift * steps).abs();
    if let Some(jumps) = jumps {
        let count = jumps.jump_intensity * maturity;
        spread += count * jumps.jump_mean.abs() + 10.0 * (count.sqrt() + 1.0) * jumps.jump_vol;
    }
    if let Model::Heston(heston) | Model::Bates(Bates { heston, .. }) = job.model {
        // QE's conditional mean variance must square within f32.
        let dt = maturity / steps;
        let floor = heston.theta * -(-heston.kappa * dt).exp_m1();
        if floor < MIN_F32_MEAN_VARIANCE {
            return Some(format!(
                "theta (1 - e^(-kappa dt)) = {floor:e}, the least mean variance of a step, is below what f32 \
                 can square ({MIN_F32_MEAN_VARIANCE:e}); use a CPU tier"
            ));
        }
    }
    let limit = F32_PRICE_LIMIT.ln();
    let out = |field: &str, value: f64| {
        Some(format!(
            "{field} = {value:e} is outside the f32 range the GPU kernels price in ({:e} .. {F32_PRICE_LIMIT:e}); use a CPU tier or rescale the prices",
            1.0 / F32_PRICE_LIMIT
        ))
    };
    if setup.spot.ln().abs() > limit {
        return out("spot", setup.spot);
    }
    if setup.strike.ln().abs() > limit {
        return out("strike", setup.strike);
    }
    if let Some(barrier) = setup.barrier {
        let crossing = setup.terms::<f64>().bridge;
        if crossing.abs() > F32_LIMIT || barrier.rebate > F32_PRICE_LIMIT {
            return Some(format!(
                "the barrier's terms (rebate = {:e}, crossing exponent -2 / (vol^2 dt) = {crossing:e}) are outside the f32 range the GPU kernels compute in; use a CPU tier",
                barrier.rebate
            ));
        }
    }
    // Resolution: each step's increment is added to the log price in f32,
    // whose spacing near |ln S| + |drift| is `eps` times that; an increment
    // under 100 such spacings loses the spread the price depends on (a
    // digital at vol 1e-3 over 1e-8 years priced 0.008 against 0.501).
    let per_step = if job.model.is_black_scholes() {
        setup.diffusion
    } else {
        vol * (maturity / steps.max(1.0)).sqrt()
    };
    let magnitude = (setup.log_spot.abs() + (setup.drift * steps).abs()).max(1.0);
    if let Some(resolved) = f32_unresolved(per_step, magnitude) {
        return Some(format!(
            "a step's diffusion vol sqrt(dt) = {per_step:e} is below what the GPU's f32 log \
             price resolves beside |ln S| + |drift| = {magnitude:.3} ({resolved:e}: \
             {MIN_F32_SPACINGS} f32 spacings); use a CPU tier"
        ));
    }
    if setup.log_spot.abs() + spread > limit {
        return Some(format!(
            "paths from spot = {:e} with vol = {} over maturity = {} reach prices outside the f32 range the GPU kernels price in ({:e} .. {F32_PRICE_LIMIT:e}); use a CPU tier",
            setup.spot,
            vol,
            job.option.maturity,
            1.0 / F32_PRICE_LIMIT
        ));
    }
    None
}

/// Why the GPU tier cannot run the basket `plan`, if it cannot: a short
/// reason for Auto's choice, and the error's message. Its basket kernel has
/// no per-asset Greeks (a QMC point's bridges fit its private memory: the
/// Sobol sampler's 1,024 dimensions bound them), and computes in f32:
/// every weighted spot,
/// the strike and the prices a path is likely to reach (ten standard
/// deviations of each log return either way) must lie within
/// [`F32_PRICE_LIMIT`] of 1, and each step resolved as [`f32_problem`]
/// says.
pub fn basket_gpu_problem(plan: &BasketPlan) -> Option<(&'static str, String)> {
    if plan.greeks {
        return Some((
            "the GPU's basket kernel has no per-asset Greeks",
            "the gpu tier prices baskets without per-asset Greeks for now; estimate them on a \
             CPU tier"
                .to_string(),
        ));
    }
    let limit = F32_PRICE_LIMIT.ln();
    let steps = f64::from(plan.steps);
    for (a, &scaled) in plan.scaled_spots.iter().enumerate() {
        let reach = 10.0 * plan.vols[a] * plan.maturity.sqrt() + (plan.drift[a] * steps).abs();
        if scaled != 0.0 && scaled.abs().ln().abs() + reach > limit {
            return Some((
                "the job's prices leave the GPU's f32 range",
                format!(
                    "asset {a}'s weighted spot = {scaled:e} with vol = {} over maturity = {} \
                     reaches prices outside the f32 range the GPU kernels price in ({:e} .. \
                     {F32_PRICE_LIMIT:e}); use a CPU tier or rescale the prices",
                    plan.vols[a],
                    plan.maturity,
                    1.0 / F32_PRICE_LIMIT
                ),
            ));
        }
    }
    // Each asset's step is added to its log return in f32: the same
    // resolution rule as the single-asset kernels' (see [`f32_problem`]).
    for (a, &scaled) in plan.scaled_spots.iter().enumerate() {
        let per_step = plan.vols[a] * (plan.maturity / steps.max(1.0)).sqrt();
        let magnitude = (scaled.abs().ln().abs() + (plan.drift[a] * steps).abs()).max(1.0);
        if let Some(resolved) = f32_unresolved(per_step, magnitude).filter(|_| scaled != 0.0) {
            return Some((
                "the job's steps are below the GPU's f32 resolution",
                format!(
                    "asset {a}'s step diffusion vol sqrt(dt) = {per_step:e} is below what the \
                     GPU's f32 log price resolves ({resolved:e}); use a CPU tier"
                ),
            ));
        }
    }
    if plan.strike != 0.0 && plan.strike.abs().ln().abs() > limit {
        return Some((
            "the job's prices leave the GPU's f32 range",
            format!(
                "strike = {:e} is outside the f32 range the GPU kernels price in ({:e} .. \
                 {F32_PRICE_LIMIT:e}); use a CPU tier or rescale the prices",
                plan.strike,
                1.0 / F32_PRICE_LIMIT
            ),
        ));
    }
    None
}

/// The least conditional mean variance of a Heston step the GPU's f32 QE
/// step takes: its square must stay a normal f32.
const MIN_F32_MEAN_VARIANCE: f64 = 1e-15;

/// A generous volatility for Heston's paths' reach: the larger of today's
/// and the long-run volatility, plus the variance's own spread over the
/// maturity.
fn heston_reach(heston: &crate::models::Heston, maturity: f64) -> f64 {
    heston.v0.max(heston.theta).sqrt() + heston.xi * maturity.sqrt()
}

/// Why the GPU tier cannot run `job`, if it cannot: a short reason for
/// Auto's choice, and the error's message. Its kernels estimate Greeks
/// under Black-Scholes alone, and compute in f32 ([`f32_problem`]).
pub fn gpu_problem(job: &PricingJob) -> Option<(&'static str, String)> {
    if !job.model.is_black_scholes() && job.greeks.is_some() {
        return Some((
            "the GPU estimates Greeks under Black-Scholes alone",
            format!(
                "the gpu tier estimates Greeks under the bs model alone for now; price the {} model's Greeks on a CPU tier",
                job.model.kind()
            ),
        ));
    }
    f32_problem(job).map(|detail| ("the job's prices leave the GPU's f32 range", detail))
}

/// Builds `tier`; `threads` sizes the rayon tier's pool, `simd` picks the
/// SIMD and rayon tiers' instruction set (`None`: the best this CPU runs),
/// `allow_software_gpu` lets the GPU tier run on a CPU-type adapter, and
/// `gpus` names the GPU tier's adapters.
#[cfg_attr(not(feature = "gpu"), allow(unused_variables))]
pub fn build(
    tier: Tier,
    threads: Option<usize>,
    simd: Option<crate::hardware::Isa>,
    allow_software_gpu: bool,
    gpus: crate::tier::Gpus,
) -> Result<Box<dyn ComputeBackend>> {
    let isa = simd.unwrap_or_else(crate::hardware::Isa::best);
    match tier {
        Tier::Scalar => Ok(Box::new(CpuTier {
            tier,
            executor: Serial,
            kernel: ScalarKernel::new(isa),
        })),
        Tier::Simd => vector::tier(tier, Serial, isa),
        Tier::Rayon => vector::tier(tier, Rayon::new(threads)?, isa),
        #[cfg(feature = "gpu")]
        Tier::Gpu => Ok(Box::new(gpu::GpuBackend::open(&gpus, allow_software_gpu)?)),
        #[cfg(not(feature = "gpu"))]
        Tier::Gpu => Err(BackendError::NotCompiledWith {
            backend: "gpu",
            feature: "gpu",
        }
        .into()),
    }
}

/// The best adapter's class, probed the first time it is asked for and
/// remembered for the process; `None` without the `gpu` feature or adapter.
pub fn gpu_class() -> Option<crate::hardware::GpuClass> {
    #[cfg(feature = "gpu")]
    {
        static CLASS: std::sync::OnceLock<Option<crate::hardware::GpuClass>> =
            std::sync::OnceLock::new();
        *CLASS.get_or_init(gpu::best_adapter_class)
    }
    #[cfg(not(feature = "gpu"))]
    {
        None
    }
}

/// Every tier with what it would run on here (the SIMD and rayon tiers on
/// `simd`, else the best instruction set), or why it cannot run.
pub fn availability(
    simd: Option<crate::hardware::Isa>,
    allow_software_gpu: bool,
) -> Vec<(Tier, String)> {
    Tier::ALL
        .into_iter()
        .map(|tier| {
            let status = match build(
                tier,
                None,
                simd,
                allow_software_gpu,
                crate::tier::Gpus::Best,
            ) {
                Ok(tier) => format!("available: {}", tier.describe()),
                Err(err) => format!("unavailable: {err}"),
            };
            (tier, status)
        })
        .collect()
}

/// The GPU adapters this build can see, one line each: the index `--gpus`
/// names it by, name, type, API, driver.
pub fn gpu_adapters() -> Vec<String> {
    #[cfg(feature = "gpu")]
    {
        gpu::adapters()
            .into_iter()
            .enumerate()
            .map(|(index, a)| {
                format!(
                    "{index}: {} ({}, {}, {})",
                    a.name, a.device_type, a.api, a.driver
                )
            })
            .collect()
    }
    #[cfg(not(feature = "gpu"))]
    {
        vec!["not compiled in (build with --features gpu)".to_string()]
    }
}
