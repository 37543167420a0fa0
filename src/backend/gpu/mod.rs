//! The GPU tier: the products' WGSL twins through wgpu, f32 on the device.
//!
//! Pricing runs grid-stride kernels (see `shaders/price.wgsl`): a job is cut
//! into segments of one dispatch each over a range of streams, sized so that
//! it stays short (about [`DISPATCH_WORK_DISCRETE`] path-steps on a discrete
//! card) and aligned from the job's first sample. Segments are queued sixteen
//! at a time in one submission with a reduction of each and one read-back of
//! 128 bytes a segment (a third of a second of a large card's time, so a
//! cancelled job stops between submissions). Sums are double-f32 on the
//! device and each segment's figures are folded in f64 on the host in
//! segment order, so a segment's figures, and the job's, do not depend on
//! which submission or which device ran it.
//!
//! VaR runs one invocation per scenario in batches of at most [`MAX_BATCH`]
//! scenarios, read back and summarised on the host's cores.
//!
//! Every buffer is created once and reused across batches and jobs (grown
//! when a larger job needs more), and pipelines are compiled once per
//! product, call/put and antithetic choice.

mod context;
mod shader;

use std::num::NonZeroU64;
use std::sync::Mutex;

use bytemuck::Pod;

pub use context::{AdapterSummary, adapters, best_adapter_class, best_index};
use context::{GpuContext, Kernel};
use shader::{
    BINS, CheckParams, MAX_LEVELS, Multiply, PriceParams, ReduceParams, VarParams, WORKGROUP,
};

use std::ops::Range;

use super::{ComputeBackend, QmcTables, basket_gpu_problem, gpu_problem};
use crate::basket::{BasketFigures, BasketPlan, BasketStyle};
use crate::control::Control;
use crate::error::{BackendError, Result};
use crate::greeks::GreekSetup;
use crate::hardware::GpuClass;
use crate::pricing::{PricingJob, ValidPricing};
use crate::risk::{RiskEstimate, ValidVar};
use crate::rng::{CHUNK, chi_square_constants, seed_key};
use crate::stats::{CoMoments, Figures, Moments, TailMeasure, summarise_stored};
use crate::tier::{Gpus, Tier};

/// Scenarios whose P&L the tail kernel's brackets come from (the first
/// ones: scenarios are independent draws, so any fixed set is a fair sample);
/// jobs no larger read every shock back instead.
const PILOT: u64 = 1 << 16;
/// Jobs up to this many scenarios read every shock back (32 MB of f64 on the
/// host): below it the extra tail passes and their buffers cost more than
/// the read-back (measured on lavapipe: 0.08 s against 0.02 s at 1e5
/// scenarios, 0.78 s against 0.70 s at 1e7, 2.5 s against 3.5 s at 4e7).
const READ_BACK_MAX: u64 = 1 << 22;
/// Values the tail kernel stores inside each level's bracket; a bracket
/// holding more is narrowed by a histogram pass first.
const TAIL_CAPACITY: u32 = 1 << 20;
/// Passes over the scenarios before the tail search gives up (a collect pass,
/// then at most two narrowings and their collect passes).
const MAX_TAIL_PASSES: usize = 6;
/// Dispatches per submission of the tail kernel.
const TAIL_DISPATCHES: usize = 16;
/// Largest sample read back when a bracket misses.
const MISSED_READ_BACK_MAX: u64 = 1 << 27;

/// What one tail pass found, per level.
struct TailPass {
    /// Sum and sum of squares of every shock.
    moments: [f64; 2],
    below_count: Vec<u64>,
    below_sum: Vec<f64>,
    found: Vec<u64>,
    inside: Vec<Vec<f32>>,
    bins: Vec<Vec<u32>>,
}

impl TailPass {
    fn new(levels: usize) -> Self {
        Self {
            moments: [0.0; 2],
            below_count: vec![0; levels],
            below_sum: vec![0.0; levels],
            found: vec![0; levels],
            inside: vec![Vec::new(); levels],
            bins: vec![Vec::new(); levels],
        }
    }
}

/// The job's constants in the scenario kernels' parameters.
fn var_params(job: &ValidVar<'_>) -> VarParams {
    let model = job.model();
    let (dof, (chi_d, chi_c)) = match model.dof {
        Some(dof) => (dof, chi_square_constants(dof)),
        None => (0.0, (0.0, 0.0)),
    };
    let (underlyings, options) = model
        .book
        .as_ref()
        .map_or((0, 0), |b| (b.underlyings.len(), b.options.len()));
    VarParams {
        assets: model.loadings.len() as u32,
        underlyings: underlyings as u32,
        options: options as u32,
        key: seed_key(job.seed),
        round_keys: shader::round_keys(seed_key(job.seed)),
        student_t: u32::from(model.dof.is_some()),
        dof: dof as f32,
        chi_d: chi_d as f32,
        chi_c: chi_c as f32,
        one: 1.0,
        ..VarParams::default()
    }
}

/// Bytes of one pricing partial: eight pairs of double-f32 values (`Partial`
/// in `shaders/double_f32.wgsl`).
const PARTIAL_BYTES: u64 = 128;

/// Most scenarios one VaR dispatch covers.
pub const MAX_BATCH: u64 = 1 << 24;
/// Path-steps one pricing dispatch covers on a discrete card: about 20 ms at
/// 2e11 path-steps/s, far inside display watchdogs.
pub const DISPATCH_WORK_DISCRETE: u64 = 1 << 32;
/// Path-steps one pricing dispatch covers on other adapters (integrated,
/// virtual, software), which may be 30x slower.
pub const DISPATCH_WORK_OTHER: u64 = 1 << 27;
/// Path-steps one pricing dispatch covers on a software (CPU-type) adapter
/// such as lavapipe, about a thousand times slower than a large card (3e8
/// European path-steps/s on the development VM's 2 cores): about 30 ms
/// there, so a submission stays near half a second.
pub const DISPATCH_WORK_SOFTWARE: u64 = 1 << 23;
/// Most invocations in one pricing dispatch: enough to fill the largest cards
/// several times over (an H200 holds about 270,000 resident invocations).
const MAX_INVOCATIONS: u64 = 1 << 20;

/// Most invocations in one dispatch on a software adapter, whose "device" is
/// a few CPU cores with 8-lane vectors: 64 workgroups keep them busy, and
/// each invocation then carries hundreds of streams, so the workgroup
/// reduction at its end is paid rarely (with an invocation a stream the tier
/// ran 15x slower than the minimal kernel on lavapipe).
const MAX_INVOCATIONS_SOFTWARE: u64 = 1 << 14;

/// One device of the GPU tier: a context and the kernels' host side.
pub(crate) struct Device {
    context: &'static GpuContext,
}

/// The GPU tier, on one device or several.
///
/// A pricing job is cut into fixed segments of samples, one dispatch each
/// ([`GpuBackend::block_samples`]), and the devices take runs of segments
/// in turn; the host folds the segments' figures in order
/// ([`Figures::merge`]). On one device or several identical ones the result
/// is therefore the same bit for bit. A VaR job's scenarios are shared the
/// same way, read back or selected on the devices.
pub struct GpuBackend {
    devices: Vec<Device>,
}

impl GpuBackend {
    /// The GPU tier on the best adapter; a software (CPU-type) adapter only
    /// when `allow_software` is set.
    pub fn new(allow_software: bool) -> Result<Self> {
        Self::open(&Gpus::Best, allow_software)
    }

    /// The GPU tier on the adapters `gpus` names; software (CPU-type)
    /// adapters only when `allow_software` is set.
    pub fn open(gpus: &Gpus, allow_software: bool) -> Result<Self> {
        let contexts = match gpus {
            Gpus::Best => vec![GpuContext::get()?],
            Gpus::All | Gpus::Rank(_) => {
                let indices = context::similar_adapters();
                match (gpus, indices.len()) {
                    // No adapter: the best one's error.
                    (_, 0) => vec![GpuContext::get()?],
                    (Gpus::Rank(rank), count) => {
                        vec![GpuContext::open(indices[rank % count], 0)?]
                    }
                    _ => indices
                        .into_iter()
                        .map(|index| GpuContext::open(index, 0))
                        .collect::<Result<_, _>>()?,
                }
            }
            Gpus::List(indices) => {
                let count = context::adapter_count();
                let mut copies: Vec<usize> = vec![0; count];
                let mut contexts = Vec::new();
                for index in indices.indices() {
                    if index >= count {
                        return Err(crate::error::InputError::invalid(
                            "gpus",
                            index,
                            &format!(
                                "this machine has {count} GPU adapter{} (0 .. {}; `quantmc info` lists them)",
                                if count == 1 { "" } else { "s" },
                                count.saturating_sub(1)
                            ),
                        )
                        .into());
                    }
                    contexts.push(GpuContext::open(index, copies[index])?);
                    copies[index] += 1;
                }
                contexts
            }
        };
        if let Some(context) = contexts
            .iter()
            .find(|c| c.class == GpuClass::Software && !allow_software)
        {
            return Err(BackendError::Unavailable {
                backend: "gpu",
                reason: format!(
                    "{} is a software (CPU-type) adapter, not a GPU. \
                     Set QUANTMC_ALLOW_SOFTWARE_GPU=1 (RunOptions::allow_software_gpu) \
                     to run the GPU kernels on one anyway",
                    context.adapter.name
                ),
            }
            .into());
        }
        Ok(Self {
            devices: contexts
                .into_iter()
                .map(|context| Device { context })
                .collect(),
        })
    }

    fn lead(&self) -> &Device {
        &self.devices[0]
    }

    /// The adapter the first device runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.lead().context.adapter
    }

    /// Devices the tier runs on.
    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    /// Seconds spent creating the first device, its shader modules and
    /// pipelines.
    pub fn setup_seconds(&self) -> f64 {
        self.lead().context.setup_s
    }

    /// Whether the kernels use 64-bit integer multiplies (else 16-bit halves).
    pub fn uses_int64(&self) -> bool {
        self.lead().context.multiply == Multiply::Int64
    }

    /// The dispatch sizes every device's submissions use: those of the
    /// slowest adapter class present, so no device gets submissions sized
    /// for a faster one (and identical devices use their own).
    fn plan(&self) -> Plan {
        Plan {
            dispatch_work: self
                .devices
                .iter()
                .map(Device::dispatch_work)
                .min()
                .unwrap_or(1),
            max_invocations: self
                .devices
                .iter()
                .map(Device::max_invocations)
                .min()
                .unwrap_or(1),
        }
    }

    /// Samples of `job` one segment covers (one dispatch): the segments a
    /// job is cut into, aligned at multiples of this from its first sample.
    pub fn block_samples(&self, job: &PricingJob) -> u64 {
        self.plan().segment_samples(job.draws())
    }

    /// Each group's figures over samples `points`, a segment at a time
    /// (segments of `segment` samples, aligned at its multiples from the
    /// job's first sample), for a job of `groups` groups: each device
    /// prepares once (`prepare`: pipeline and table), and `dispatch` sizes
    /// each segment's dispatch. Consecutive segments go in one submission:
    /// sixteen on one device (a third of a second of a large card), fewer on
    /// several so that each device gets a few; a segment's figures do not
    /// depend on the submission it is in.
    fn run_segments(
        &self,
        (groups, segment): (u32, u64),
        points: Range<u64>,
        control: &Control,
        prepare: &(dyn Fn(&Device) -> Result<Prepared> + Sync),
        dispatch: &Dispatch<'_>,
    ) -> Result<Vec<Vec<Figures>>> {
        let segments: Vec<(u32, Range<u64>)> = (0..groups)
            .flat_map(|group| {
                let points = points.clone();
                (points.start / segment..points.end.div_ceil(segment)).map(move |index| {
                    let range = (index * segment).max(points.start)
                        ..((index + 1) * segment).min(points.end);
                    (group, range)
                })
            })
            .filter(|(_, range)| !range.is_empty())
            .collect();
        let devices = self.devices.len();
        let run = if devices == 1 {
            DISPATCHES_PER_SUBMISSION
        } else {
            segments
                .len()
                .div_ceil(4 * devices)
                .clamp(1, DISPATCHES_PER_SUBMISSION)
        };
        let runs: Vec<&[(u32, Range<u64>)]> = segments.chunks(run).collect();
        let figures: Vec<Figures> = share_work(
            &self.devices,
            runs.len(),
            prepare,
            &|device, prepared, index| {
                control.check()?;
                let run = runs[index];
                let figures = device.price_segments(prepared, dispatch, run)?;
                control.advance(run.iter().map(|(_, r)| r.end - r.start).sum());
                Ok(figures)
            },
        )?
        .into_iter()
        .flatten()
        .collect();
        let mut blocks: Vec<Vec<Figures>> = vec![Vec::new(); groups as usize];
        for ((group, _), figures) in segments.iter().zip(figures) {
            blocks[*group as usize].push(figures);
        }
        Ok(blocks)
    }

    /// Test hook, on the first device: Philox blocks and f32 uniform pairs
    /// of `counters` under `key`, with the multiply the kernels use or the
    /// 16-bit fallback.
    pub fn philox_blocks(
        &self,
        counters: &[[u32; 4]],
        key: [u32; 2],
        sixteen_bit: bool,
    ) -> Result<Vec<([u32; 4], [f32; 2])>> {
        self.lead().philox_blocks(counters, key, sixteen_bit)
    }

    /// Test hook, on the first device: `values` added in order by one
    /// invocation with the kernels' double-f32 addition, as (hi, lo).
    pub fn double_f32_sum(&self, values: &[f32]) -> Result<(f32, f32)> {
        self.lead().double_f32_sum(values)
    }
}

/// An error when `job`'s risk model cannot run on the GPU kernels.
fn runs_on_gpu(job: &ValidVar<'_>) -> Result<()> {
    match super::risk_gpu_problem(job.model()) {
        Some((_, reason)) => Err(BackendError::Unavailable {
            backend: "gpu",
            reason,
        }
        .into()),
        None => Ok(()),
    }
}

/// `work` for items `0 .. count` on `devices`: each device (on a thread of
/// its own when there are several) prepares once, then takes the next item
/// as it finishes one. Returns the results in item order; the first failure
/// (in item order among those seen) stops every device and is returned.
fn share_work<P, T: Send>(
    devices: &[Device],
    count: usize,
    prepare: &(dyn Fn(&Device) -> Result<P> + Sync),
    work: &(dyn Fn(&Device, &P, usize) -> Result<T> + Sync),
) -> Result<Vec<T>> {
    share_work_with(devices, count, prepare, work, &|_, _| Ok(())).map(|(values, _)| values)
}

/// [`share_work`], and then `finish` on each device that prepared (on its
/// thread, with what it prepared): its results in device order.
fn share_work_with<P, T: Send, F: Send>(
    devices: &[Device],
    count: usize,
    prepare: &(dyn Fn(&Device) -> Result<P> + Sync),
    work: &(dyn Fn(&Device, &P, usize) -> Result<T> + Sync),
    finish: &(dyn Fn(&Device, P) -> Result<F> + Sync),
) -> Result<(Vec<T>, Vec<F>)> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    if devices.len() == 1 || count <= 1 {
        let device = &devices[0];
        let prepared = prepare(device)?;
        let values = (0..count)
            .map(|index| work(device, &prepared, index))
            .collect::<Result<Vec<T>>>()?;
        return Ok((values, vec![finish(device, prepared)?]));
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // Each device's results: its items, then what it finished with (an
    // error from preparing or finishing is reported as item `count`).
    let run = |device: &Device| {
        let mut done = Vec::new();
        let prepared = match prepare(device) {
            Ok(prepared) => prepared,
            Err(err) => {
                failed.store(true, Ordering::Relaxed);
                done.push((count, Err(err)));
                return (done, None);
            }
        };
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= count || failed.load(Ordering::Relaxed) {
                break;
            }
            let result = work(device, &prepared, index);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            done.push((index, result));
        }
        if failed.load(Ordering::Relaxed) {
            return (done, None);
        }
        match finish(device, prepared) {
            Ok(finished) => (done, Some(finished)),
            Err(err) => {
                failed.store(true, Ordering::Relaxed);
                done.push((count, Err(err)));
                (done, None)
            }
        }
    };
    type Done<T, F> = (Vec<(usize, Result<T>)>, Option<F>);
    let results: Vec<Done<T, F>> = std::thread::scope(|scope| {
        let workers: Vec<_> = devices
            .iter()
            .map(|device| scope.spawn(move || run(device)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    (
                        vec![(count, Err(failed_error("a device's thread panicked")))],
                        None,
                    )
                })
            })
            .collect()
    });
    let mut values: Vec<Option<T>> = (0..count).map(|_| None).collect();
    let mut finished = Vec::new();
    let mut first_error: Option<(usize, crate::error::Error)> = None;
    for (done, device) in results {
        finished.extend(device);
        for (index, result) in done {
            match result {
                Ok(value) => values[index] = Some(value),
                Err(err) => {
                    if first_error.as_ref().is_none_or(|(at, _)| index < *at) {
                        first_error = Some((index, err));
                    }
                }
            }
        }
    }
    if let Some((_, err)) = first_error {
        return Err(err);
    }
    let values = values
        .into_iter()
        .map(|value| value.ok_or_else(|| failed_error("a device left its work undone")))
        .collect::<Result<Vec<T>>>()?;
    Ok((values, finished))
}

/// VaR by reading every shock back, the batches shared by `devices`, and
/// summarising on the host: for jobs up to [`READ_BACK_MAX`] scenarios, or
/// with more levels than one tail pass takes. A scenario's shock is one
/// invocation's work, so the sample is the same on any number of devices.
fn risk_by_read_back(devices: &[Device], job: &ValidVar<'_>) -> Result<RiskEstimate> {
    let mean = job.model().mean;
    let batch = var_batch(devices);
    let mut pnl = super::allocate(job.scenarios)?;
    let control = job.control();
    control.expect(job.scenarios);
    {
        let batches: Vec<Mutex<&mut [f64]>> =
            pnl.chunks_mut(batch as usize).map(Mutex::new).collect();
        share_work(devices, batches.len(), &|_| Ok(()), &|device, (), index| {
            control.check()?;
            let mut out = batches[index].lock().unwrap_or_else(|p| p.into_inner());
            let shocks = device.shocks(job, index as u64 * batch, out.len() as u64)?;
            control.advance(out.len() as u64);
            for (out, &shock) in out.iter_mut().zip(&shocks) {
                *out = mean + f64::from(shock);
            }
            Ok(())
        })?;
    }
    // The host's cores summarise the read-back sample with the CPU tiers'
    // streamed summary, chunk by chunk in chunk order: the figures of GPU
    // ranks (`map_pnl_chunks`) bit for bit.
    let (moments, tails) = summarise_stored(&pnl, &job.tail_counts(), &|| control.is_cancelled());
    control.check()?;
    Ok(RiskEstimate {
        mean: moments.mean,
        std_dev: moments.std_dev(),
        tails,
    })
}

/// VaR scenarios per batch that every one of `devices` takes.
fn var_batch(devices: &[Device]) -> u64 {
    devices.iter().map(Device::var_batch).min().unwrap_or(1)
}

fn failed_error(reason: &str) -> crate::error::Error {
    failed(reason).into()
}

/// One dispatch's share of a tail pass: the sum and sum of squares of its
/// shocks, and per level the count and sum below the bracket.
struct TailSums {
    moments: [f64; 2],
    below_count: Vec<u64>,
    below_sum: Vec<f64>,
}

/// What a device found in a tail pass: per level, how many values inside
/// the bracket, those it kept (collect pass) or its bins (histogram pass).
struct TailFound {
    found: Vec<u64>,
    inside: Vec<Vec<f32>>,
    bins: Vec<Vec<u32>>,
}

/// A device's buffers for one tail pass, its pool held for the pass.
struct TailBuffers<'a> {
    _pool: std::sync::MutexGuard<'a, Pool>,
    kernel: &'a Kernel,
    params: wgpu::Buffer,
    loadings: wgpu::Buffer,
    brackets: wgpu::Buffer,
    found: wgpu::Buffer,
    inside: wgpu::Buffer,
    partials: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// Words of the tail kernel's found buffer: a count per level, then the
/// bins.
const FOUND_WORDS: u64 = MAX_LEVELS as u64 * (1 + BINS as u64);
/// Entries of one workgroup's tail partial: the moments, then a level each.
const TAIL_ENTRIES: u64 = 1 + MAX_LEVELS as u64;

impl GpuBackend {
    /// VaR and ES found on the device: brackets from a pilot sample, then
    /// passes over every scenario that count and sum below each bracket and
    /// return the few values inside it (narrowing a bracket that holds too
    /// many with a histogram pass first). Memory on both sides is bounded
    /// whatever the scenario count.
    fn risk_on_device(
        &self,
        job: &ValidVar<'_>,
        counts: &[usize],
        capacity: u32,
    ) -> Result<(RiskEstimate, usize)> {
        let model = job.model();
        let n = job.scenarios;
        let mut pilot: Vec<f64> = self
            .lead()
            .shocks(job, 0, PILOT)?
            .into_iter()
            .map(f64::from)
            .collect();
        pilot.sort_unstable_by(f64::total_cmp);
        // Where a bracket would be open-ended, it ends ten pilot ranges past
        // the pilot's extremes instead, so a histogram can narrow it; a value
        // beyond still counts below (or above) it, and a quantile out there
        // shows as a missed bracket.
        let range = pilot[pilot.len() - 1] - pilot[0];
        let (floor, ceiling) = (
            pilot[0] - 10.0 * range,
            pilot[pilot.len() - 1] + 10.0 * range,
        );
        let mut brackets: Vec<[f32; 2]> = crate::stats::brackets(&pilot, n as usize, counts)
            .into_iter()
            .map(|(low, high, _)| [low.max(floor) as f32, high.min(ceiling) as f32])
            .collect();
        let mut tails: Vec<Option<TailMeasure>> = vec![None; counts.len()];
        let mut moments = None;
        let mut histogram = false;
        let mut passes = 0;
        for _ in 0..MAX_TAIL_PASSES {
            if tails.iter().all(Option::is_some) {
                break;
            }
            let pass = self.tail_pass(job, &brackets, histogram, capacity)?;
            passes += 1;
            moments.get_or_insert(pass.moments);
            let mut narrow_next = false;
            for (level, &m) in counts.iter().enumerate() {
                if tails[level].is_some() {
                    continue;
                }
                let below = pass.below_count[level];
                let Some(rank) = (m as u64 - 1).checked_sub(below) else {
                    return Ok((self.risk_missed(job)?, passes));
                };
                if histogram {
                    let bins = &pass.bins[level];
                    let mut seen = 0u64;
                    let Some(bin) = bins.iter().position(|&c| {
                        seen += u64::from(c);
                        seen > rank
                    }) else {
                        return Ok((self.risk_missed(job)?, passes));
                    };
                    let [low, high] = brackets[level];
                    let width = f64::from(high) - f64::from(low);
                    let edge =
                        |b: usize| (f64::from(low) + width * b as f64 / f64::from(BINS)) as f32;
                    // One bin of slack either side: the device's bin of a
                    // value and these edges round differently.
                    brackets[level] = [
                        if bin == 0 { low } else { edge(bin - 1) },
                        if bin + 2 >= BINS as usize {
                            high
                        } else {
                            edge(bin + 2)
                        },
                    ];
                    continue;
                }
                let found = pass.found[level];
                if found > u64::from(capacity) {
                    narrow_next = true;
                    continue;
                }
                let mut inside: Vec<f64> =
                    pass.inside[level].iter().map(|&x| f64::from(x)).collect();
                if rank >= inside.len() as u64 {
                    return Ok((self.risk_missed(job)?, passes));
                }
                inside.sort_unstable_by(f64::total_cmp);
                let quantile = inside[rank as usize];
                let less: Vec<f64> = inside.iter().copied().filter(|&x| x < quantile).collect();
                let below_all = below + less.len() as u64;
                let tail_sum = pass.below_sum[level]
                    + crate::stats::pairwise_sum(&less)
                    + (m as u64 - below_all) as f64 * quantile;
                tails[level] = Some(TailMeasure::of_pnl(
                    model.mean + quantile,
                    model.mean + tail_sum / m as f64,
                ));
            }
            histogram = narrow_next;
        }
        let (Some([sum, squares]), true) = (moments, tails.iter().all(Option::is_some)) else {
            return Ok((self.risk_missed(job)?, passes));
        };
        let mean = sum / n as f64;
        let shocks = Moments {
            count: n,
            mean,
            m2: (squares - sum * mean).max(0.0),
        };
        Ok((
            RiskEstimate {
                mean: model.mean + shocks.mean,
                std_dev: shocks.std_dev(),
                tails: tails.into_iter().flatten().collect(),
            },
            passes,
        ))
    }

    /// A bracket missed its quantile (the pilot would have to be wildly
    /// unrepresentative): read the sample back where it fits in memory.
    fn risk_missed(&self, job: &ValidVar<'_>) -> Result<RiskEstimate> {
        if job.scenarios <= MISSED_READ_BACK_MAX {
            return risk_by_read_back(&self.devices, job);
        }
        Err(failed(
            "the device's tail selection missed its bracket on a sample too large to read back",
        )
        .into())
    }

    /// The tail kernel's dispatches over every scenario, `(first, count)`:
    /// at most the slowest device's dispatch work each.
    fn tail_dispatches(&self, job: &ValidVar<'_>) -> Vec<(u64, u64)> {
        // Philox blocks a scenario costs, and a block's worth per option
        // revalued.
        let model = job.model();
        let per_scenario = model.loadings.len() as u64 / 2
            + 1
            + if model.dof.is_some() { 4 } else { 0 }
            + model.book.as_ref().map_or(0, |b| b.options.len() as u64);
        let work = self.plan().dispatch_work;
        let per_dispatch = (work / per_scenario).max(u64::from(WORKGROUP));
        (0..job.scenarios)
            .step_by(per_dispatch as usize)
            .map(|first| (first, (job.scenarios - first).min(per_dispatch)))
            .collect()
    }

    /// One pass over every scenario with `brackets`: the devices take runs
    /// of the pass's dispatches (sixteen on one device, fewer on several),
    /// each dispatch's sums are folded in dispatch order, and each device's
    /// values inside the brackets (or bins) are gathered at the end.
    fn tail_pass(
        &self,
        job: &ValidVar<'_>,
        brackets: &[[f32; 2]],
        histogram: bool,
        capacity: u32,
    ) -> Result<TailPass> {
        let levels = brackets.len();
        let plan = self.plan();
        let dispatches = self.tail_dispatches(job);
        let run = if self.devices.len() == 1 {
            TAIL_DISPATCHES
        } else {
            dispatches
                .len()
                .div_ceil(4 * self.devices.len())
                .clamp(1, TAIL_DISPATCHES)
        };
        let runs: Vec<&[(u64, u64)]> = dispatches.chunks(run).collect();
        let control = job.control();
        control.expect(job.scenarios);
        let (sums, found) = share_work_with(
            &self.devices,
            runs.len(),
            &|device| device.tail_buffers(job, brackets, histogram, capacity),
            &|device, buffers, index| {
                control.check()?;
                let run = runs[index];
                let sums = device.tail_run(job, buffers, plan, run, (levels, capacity))?;
                control.advance(run.iter().map(|(_, count)| count).sum());
                Ok(sums)
            },
            &|device, buffers| device.tail_found(buffers, histogram, (levels, capacity)),
        )?;
        let mut pass = TailPass::new(levels);
        for dispatch in sums.into_iter().flatten() {
            pass.moments[0] += dispatch.moments[0];
            pass.moments[1] += dispatch.moments[1];
            for level in 0..levels {
                pass.below_sum[level] += dispatch.below_sum[level];
                pass.below_count[level] += dispatch.below_count[level];
            }
        }
        for device in found {
            for level in 0..levels {
                pass.found[level] += device.found[level];
                pass.inside[level].extend(&device.inside[level]);
                if histogram {
                    let bins = &mut pass.bins[level];
                    bins.resize(device.bins[level].len().max(bins.len()), 0);
                    for (total, count) in bins.iter_mut().zip(&device.bins[level]) {
                        *total += count;
                    }
                }
            }
        }
        Ok(pass)
    }

    /// Test hooks: `job`'s VaR by reading every shock back (the reference),
    /// and found on the devices with `capacity` values per bracket (small
    /// capacities force the histogram passes), with the passes it took.
    pub fn var_paths(
        &self,
        job: &crate::VarJob,
        capacity: u32,
    ) -> Result<[(RiskEstimate, usize); 2]> {
        let valid = job.checked()?;
        let read_back = risk_by_read_back(&self.devices, &valid)?;
        let device = self.risk_on_device(&valid, &valid.tail_counts(), capacity)?;
        Ok([(read_back, 0), device])
    }
}

impl Device {
    /// This device's buffers for a tail pass with `brackets`, its found
    /// counts cleared; its pool is held until the pass ends.
    fn tail_buffers(
        &self,
        job: &ValidVar<'_>,
        brackets: &[[f32; 2]],
        histogram: bool,
        capacity: u32,
    ) -> Result<TailBuffers<'static>> {
        let context = self.context;
        let device = &context.device;
        let kernels = context.var_kernels()?;
        let kernel = if histogram {
            &kernels.tails_histogram
        } else {
            &kernels.tails_collect
        };
        let mut pool = context.pool.lock().unwrap_or_else(|p| p.into_inner());
        let (params, loadings) = self.var_inputs(&mut pool, job);
        let bracket_buffer = pool.brackets.get(device, 8 * u64::from(MAX_LEVELS)).clone();
        let mut padded = brackets.to_vec();
        padded.resize(MAX_LEVELS as usize, [0.0, 0.0]);
        self.write(&bracket_buffer, 0, &padded);
        let found = pool.found.get(device, 4 * FOUND_WORDS).clone();
        let inside_len = u64::from(capacity) * brackets.len() as u64;
        let inside = pool.inside.get(device, 4 * inside_len).clone();
        let max_partials = TAIL_DISPATCHES as u64 * (MAX_INVOCATIONS / u64::from(WORKGROUP));
        let partials = pool
            .partials
            .get(device, 16 * TAIL_ENTRIES * max_partials)
            .clone();
        let staging_size = (16 * TAIL_ENTRIES * max_partials)
            .max(4 * FOUND_WORDS)
            .max(4 * inside_len);
        let staging = pool.staging.get(device, staging_size).clone();
        let mut clear = device.create_command_encoder(&Default::default());
        clear.clear_buffer(&found, 0, Some(4 * FOUND_WORDS));
        context.queue.submit([clear.finish()]);
        Ok(TailBuffers {
            _pool: pool,
            kernel,
            params,
            loadings,
            brackets: bracket_buffer,
            found,
            inside,
            partials,
            staging,
        })
    }

    /// One submission of the tail kernel over `run`'s dispatches; each
    /// dispatch's sums.
    fn tail_run(
        &self,
        job: &ValidVar<'_>,
        buffers: &TailBuffers<'_>,
        plan: Plan,
        run: &[(u64, u64)],
        (levels, capacity): (usize, u32),
    ) -> Result<Vec<TailSums>> {
        let device = &self.context.device;
        let stride = 256u64;
        let mut dispatches = Vec::new();
        let mut first_partial = 0u32;
        for &(first, count) in run {
            let invocations = count
                .min(plan.max_invocations)
                .next_multiple_of(u64::from(WORKGROUP));
            let workgroups = (invocations / u64::from(WORKGROUP)) as u32;
            dispatches.push((
                VarParams {
                    base: split(first),
                    count: count as u32,
                    invocations: invocations as u32,
                    levels: levels as u32,
                    capacity,
                    first_partial,
                    ..var_params(job)
                },
                workgroups,
            ));
            first_partial += workgroups;
        }
        for (index, (dispatch, _)) in dispatches.iter().enumerate() {
            self.write(
                &buffers.params,
                stride * index as u64,
                std::slice::from_ref(dispatch),
            );
        }
        let scopes = self.scopes();
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut compute = encoder.begin_compute_pass(&Default::default());
            compute.set_pipeline(&buffers.kernel.pipeline);
            for (index, (_, workgroups)) in dispatches.iter().enumerate() {
                let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("tails"),
                    layout: &buffers.kernel.layout,
                    entries: &[
                        wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: &buffers.params,
                                offset: stride * index as u64,
                                size: NonZeroU64::new(size_of::<VarParams>() as u64),
                            }),
                        },
                        wgpu::BindGroupEntry {
                            binding: 1,
                            resource: buffers.loadings.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 3,
                            resource: buffers.brackets.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 4,
                            resource: buffers.partials.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 5,
                            resource: buffers.found.as_entire_binding(),
                        },
                        wgpu::BindGroupEntry {
                            binding: 6,
                            resource: buffers.inside.as_entire_binding(),
                        },
                    ],
                });
                compute.set_bind_group(0, &group, &[]);
                compute.dispatch_workgroups(*workgroups, 1, 1);
            }
        }
        let bytes = 16 * TAIL_ENTRIES * u64::from(first_partial);
        encoder.copy_buffer_to_buffer(&buffers.partials, 0, &buffers.staging, 0, bytes);
        let data = self.submit_and_read(encoder, &buffers.staging, bytes, scopes)?;
        let entries: &[[f32; 4]] = bytemuck::cast_slice(&data);
        let mut groups = entries.chunks_exact(TAIL_ENTRIES as usize);
        Ok(dispatches
            .iter()
            .map(|(_, workgroups)| {
                let mut sums = TailSums {
                    moments: [0.0; 2],
                    below_count: vec![0; levels],
                    below_sum: vec![0.0; levels],
                };
                for group in groups.by_ref().take(*workgroups as usize) {
                    let [s_hi, s_lo, q_hi, q_lo] = group[0];
                    sums.moments[0] += f64::from(s_hi) + f64::from(s_lo);
                    sums.moments[1] += f64::from(q_hi) + f64::from(q_lo);
                    for level in 0..levels {
                        let [hi, lo, count, _] = group[1 + level];
                        sums.below_sum[level] += f64::from(hi) + f64::from(lo);
                        sums.below_count[level] += u64::from(count.to_bits());
                    }
                }
                sums
            })
            .collect())
    }

    /// The values (or bins) this device found in its share of a tail pass,
    /// read back once the pass ends.
    fn tail_found(
        &self,
        buffers: TailBuffers<'_>,
        histogram: bool,
        (levels, capacity): (usize, u32),
    ) -> Result<TailFound> {
        let device = &self.context.device;
        let scopes = self.scopes();
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&buffers.found, 0, &buffers.staging, 0, 4 * FOUND_WORDS);
        let data = self.submit_and_read(encoder, &buffers.staging, 4 * FOUND_WORDS, scopes)?;
        let words: &[u32] = bytemuck::cast_slice(&data);
        let mut found = TailFound {
            found: vec![0; levels],
            inside: vec![Vec::new(); levels],
            bins: vec![Vec::new(); levels],
        };
        for level in 0..levels {
            found.found[level] = u64::from(words[level]);
            if histogram {
                let start = (MAX_LEVELS + level as u32 * BINS) as usize;
                found.bins[level] = words[start..start + BINS as usize].to_vec();
            }
        }
        if !histogram && found.found.iter().any(|&f| f > 0) {
            let inside_len = u64::from(capacity) * levels as u64;
            let scopes = self.scopes();
            let mut encoder = device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(&buffers.inside, 0, &buffers.staging, 0, 4 * inside_len);
            let data = self.submit_and_read(encoder, &buffers.staging, 4 * inside_len, scopes)?;
            let values: &[f32] = bytemuck::cast_slice(&data);
            for level in 0..levels {
                let kept = found.found[level].min(u64::from(capacity)) as usize;
                let start = level * capacity as usize;
                found.inside[level] = values[start..start + kept].to_vec();
            }
        }
        Ok(found)
    }
}

/// A pricing job's pipeline and tables on one device.
struct Prepared {
    pipeline: std::sync::Arc<wgpu::ComputePipeline>,
    qmc: wgpu::Buffer,
    scrambles: u32,
    bridge: u32,
    scenarios: u32,
    model: u32,
    greeks: bool,
}

impl Device {
    /// `job`'s pipeline (compiled on first use) and its table on this device.
    fn prepare(&self, job: &PricingJob) -> Result<Prepared> {
        let option = &job.option;
        let tables = QmcTables::of(job);
        // Room for every factor's Brownian values at the fixings.
        let bridge_capacity = tables
            .as_ref()
            .map_or(0, |t| (t.dimensions as u32).next_power_of_two());
        let setup = job.greeks.map(|method| GreekSetup::new(job, method));
        let pipeline = self.context.price_pipeline((
            option.style,
            option.kind == crate::OptionKind::Put,
            job.antithetic,
            job.control_variate,
            bridge_capacity,
            setup.as_ref().map_or(0, GreekSetup::device_estimator),
            job.model.kind(),
        ))?;
        let (mut words, scrambles, bridge) = match &tables {
            Some(tables) => qmc_table(tables),
            None => (vec![0; 4], 0, 0),
        };
        let scenarios = words.len() as u32;
        if let Some(setup) = &setup {
            words.extend(setup.device_constants().iter().map(|x| x.to_bits()));
        }
        let model = words.len() as u32;
        words.extend(
            job.setup()
                .dynamics
                .device_words()
                .iter()
                .map(|x| x.to_bits()),
        );
        Ok(Prepared {
            pipeline,
            qmc: self.table(&words),
            scrambles,
            bridge,
            scenarios,
            model,
            greeks: setup.is_some(),
        })
    }

    /// The figures of `segments` (each a group and a range of its samples
    /// of at most one segment), in order: one submission, a dispatch and a
    /// reduction a segment.
    fn price_segments(
        &self,
        prepared: &Prepared,
        dispatch: &Dispatch<'_>,
        segments: &[(u32, Range<u64>)],
    ) -> Result<Vec<Figures>> {
        let mut first_partial = 0;
        let dispatches: Vec<(PriceParams, u32)> = segments
            .iter()
            .map(|(group, range)| {
                let (params, workgroups) = dispatch(prepared, *group, range);
                let dispatch = (
                    PriceParams {
                        first_partial,
                        ..params
                    },
                    workgroups,
                );
                first_partial += workgroups;
                dispatch
            })
            .collect();
        let sums = self.price_submission(&prepared.pipeline, &prepared.qmc, &dispatches)?;
        Ok(segments
            .iter()
            .zip(sums)
            .map(|((_, range), sums)| {
                let count = range.end - range.start;
                Figures {
                    moments: CoMoments::from_shifted_sums(
                        count,
                        (0.0, 0.0),
                        [sums[0], sums[1], sums[2], sums[3], sums[4]],
                    ),
                    greeks: prepared.greeks.then(|| {
                        std::array::from_fn(|g| {
                            Moments::from_shifted_sums(count, 0.0, sums[5 + 2 * g], sums[6 + 2 * g])
                        })
                    }),
                }
            })
            .collect())
    }

    /// A job's table on this device: its own buffer (a few KB), not a
    /// pooled one, so that a concurrent job on another thread cannot
    /// overwrite it before this job's dispatches run.
    fn table(&self, words: &[u32]) -> wgpu::Buffer {
        let qmc = self.context.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("qmc"),
            size: 4 * words.len().max(1) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.write(&qmc, 0, words);
        qmc
    }

    /// A basket plan's pipeline (compiled on first use) and its table on
    /// this device: the QMC tables, then the plan's constants
    /// (`shaders/basket.wgsl` reads them from word `model`).
    fn prepare_basket(&self, plan: &BasketPlan) -> Result<Prepared> {
        let tables = QmcTables::of_basket(plan);
        let bridge_capacity = tables
            .as_ref()
            .map_or(0, |t| (t.dimensions as u32).next_power_of_two());
        let combine = match plan.style {
            BasketStyle::Basket | BasketStyle::Spread => 0,
            BasketStyle::WorstOf => 1,
            BasketStyle::BestOf => 2,
        };
        let pipeline = self.context.basket_pipeline((
            plan.assets as u32,
            combine,
            plan.put,
            plan.antithetic,
            plan.control,
            bridge_capacity,
        ))?;
        let (mut words, scrambles, bridge) = match &tables {
            Some(tables) => qmc_table(tables),
            None => (vec![0; 4], 0, 0),
        };
        let model = words.len() as u32;
        let d = plan.assets;
        let triangle = (0..d).flat_map(|a| &plan.diffusion[a * d..=a * d + a]);
        let mut constants: Vec<f64> = plan.drift.iter().chain(triangle).copied().collect();
        constants.extend(&plan.scaled_spots);
        if plan.control {
            constants.extend(&plan.geometric_weights);
            constants.push(plan.geometric_log_start);
        }
        words.extend(constants.iter().map(|&x| (x as f32).to_bits()));
        Ok(Prepared {
            pipeline,
            qmc: self.table(&words),
            scrambles,
            bridge,
            scenarios: 0,
            model,
            greeks: false,
        })
    }
}

/// Each segment's dispatch, from the device's preparation, the group and
/// the samples: its first partial is the caller's to set.
type Dispatch<'a> = dyn Fn(&Prepared, u32, &Range<u64>) -> (PriceParams, u32) + Sync + 'a;

/// How a job's pricing submissions are sized.
#[derive(Clone, Copy)]
struct Plan {
    /// Path-steps of one dispatch.
    dispatch_work: u64,
    /// Most invocations of one dispatch.
    max_invocations: u64,
}

impl Plan {
    /// Streams one dispatch covers when a path takes `draws` normals (a
    /// path's work: steps times the model's factors, or the basket's
    /// assets).
    fn streams_per_dispatch(self, draws: u64) -> u64 {
        (self.dispatch_work / draws.max(1) / 2).max(1)
    }

    /// Samples of one segment: one dispatch's streams.
    fn segment_samples(self, draws: u64) -> u64 {
        2 * self.streams_per_dispatch(draws)
    }
}

fn failed(reason: impl Into<String>) -> BackendError {
    BackendError::Failed {
        backend: "gpu",
        reason: reason.into(),
    }
}

fn split(index: u64) -> [u32; 2] {
    [index as u32, (index >> 32) as u32]
}

/// A 2-D grid of `groups` workgroups within the per-dimension limit.
fn grid(groups: u64, max_per_dimension: u32) -> (u32, u32) {
    let x = groups.clamp(1, u64::from(max_per_dimension));
    (x as u32, groups.div_ceil(x) as u32)
}

/// A buffer kept for the process and grown when a job needs more.
struct Pooled {
    buffer: Option<wgpu::Buffer>,
    usage: wgpu::BufferUsages,
    label: &'static str,
}

impl Pooled {
    const fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Self {
            buffer: None,
            usage,
            label,
        }
    }

    /// The buffer, at least `size` bytes (rounded up to a power of two so a
    /// growing series of jobs reallocates rarely).
    fn get(&mut self, device: &wgpu::Device, size: u64) -> &wgpu::Buffer {
        let size = size.max(16).next_power_of_two();
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just created")
    }
}

/// The buffers a job uses, kept across jobs.
pub(crate) struct Pool {
    params: Pooled,
    brackets: Pooled,
    found: Pooled,
    inside: Pooled,
    reduce_params: Pooled,
    offsets: Pooled,
    partials: Pooled,
    loadings: Pooled,
    staging: Pooled,
}

impl Pool {
    fn new() -> Self {
        use wgpu::BufferUsages as U;
        Self {
            params: Pooled::new("params", U::UNIFORM | U::COPY_DST),
            brackets: Pooled::new("brackets", U::STORAGE | U::COPY_DST),
            found: Pooled::new("found", U::STORAGE | U::COPY_SRC | U::COPY_DST),
            inside: Pooled::new("inside", U::STORAGE | U::COPY_SRC),
            reduce_params: Pooled::new("reduce params", U::UNIFORM | U::COPY_DST),
            offsets: Pooled::new("segment offsets", U::STORAGE | U::COPY_DST),
            partials: Pooled::new("partials", U::STORAGE | U::COPY_SRC | U::COPY_DST),
            loadings: Pooled::new("loadings", U::STORAGE | U::COPY_DST),
            staging: Pooled::new("staging", U::MAP_READ | U::COPY_DST),
        }
    }
}

impl Device {
    /// Submits `encoder` (which ends by copying `bytes` bytes into `staging`)
    /// and returns those bytes. Out-of-memory and validation errors become
    /// [`BackendError::Failed`], never a panic.
    fn submit_and_read(
        &self,
        encoder: wgpu::CommandEncoder,
        staging: &wgpu::Buffer,
        bytes: u64,
        scopes: (wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard),
    ) -> Result<Vec<u8>, BackendError> {
        let (memory, validation) = scopes;
        let context = self.context;
        context::submit_and_read(
            &context.device,
            &context.queue,
            encoder,
            staging,
            bytes,
            || {
                if let Some(error) = pollster::block_on(validation.pop()) {
                    return Err(format!("invalid dispatch: {error}"));
                }
                if let Some(error) = pollster::block_on(memory.pop()) {
                    return Err(format!("out of device memory: {error}"));
                }
                context.take_uncaptured().map_or(Ok(()), Err)
            },
        )
        .map_err(failed)
    }

    fn scopes(&self) -> (wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard) {
        let device = &self.context.device;
        let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        (memory, validation)
    }

    fn write<T: Pod>(&self, buffer: &wgpu::Buffer, offset: u64, values: &[T]) {
        self.context
            .queue
            .write_buffer(buffer, offset, bytemuck::cast_slice(values));
    }

    /// Most invocations in one dispatch on this adapter.
    fn max_invocations(&self) -> u64 {
        match self.context.class {
            GpuClass::Software => MAX_INVOCATIONS_SOFTWARE,
            _ => MAX_INVOCATIONS,
        }
    }

    /// Path-steps one pricing dispatch covers on this adapter.
    fn dispatch_work(&self) -> u64 {
        match self.context.class {
            GpuClass::Discrete => DISPATCH_WORK_DISCRETE,
            GpuClass::Software => DISPATCH_WORK_SOFTWARE,
            _ => DISPATCH_WORK_OTHER,
        }
    }

    /// VaR scenarios per batch: [`MAX_BATCH`], or fewer where the adapter's
    /// storage buffers are smaller than a batch of f32 results.
    fn var_batch(&self) -> u64 {
        let limits = &self.context.limits;
        let by_binding = limits.max_storage_buffer_binding_size / 4;
        let by_grid =
            u64::from(limits.max_compute_workgroups_per_dimension).pow(2) * u64::from(WORKGROUP);
        MAX_BATCH
            .min(by_binding)
            .min(by_grid)
            .max(u64::from(WORKGROUP))
    }

    /// Runs one submission's pricing dispatches (one segment each) and the
    /// reduction of each; returns each segment's sums of its samples'
    /// payoffs, controls, their squares and their products, in
    /// [`CoMoments::from_shifted_sums`]'s order, then the Greeks'
    /// estimators and their squares.
    fn price_submission(
        &self,
        pipeline: &wgpu::ComputePipeline,
        qmc: &wgpu::Buffer,
        dispatches: &[(PriceParams, u32)],
    ) -> Result<Vec<[f64; 15]>> {
        let context = self.context;
        let device = &context.device;
        let segments = dispatches.len() as u64;
        let mut offsets = vec![0u32];
        for (_, workgroups) in dispatches {
            offsets.push(offsets[offsets.len() - 1] + workgroups);
        }
        let partials_count = offsets[offsets.len() - 1];
        let stride = (size_of::<PriceParams>() as u64).next_multiple_of(u64::from(
            context.limits.min_uniform_buffer_offset_alignment,
        ));
        let mut pool = self.context.pool.lock().unwrap_or_else(|p| p.into_inner());
        let scopes = self.scopes();
        let params = pool.params.get(device, stride * segments).clone();
        let reduce_params = pool.reduce_params.get(device, 16).clone();
        let offsets_buffer = pool.offsets.get(device, 4 * offsets.len() as u64).clone();
        let partials = pool
            .partials
            .get(
                device,
                PARTIAL_BYTES * (u64::from(partials_count) + segments),
            )
            .clone();
        let staging = pool.staging.get(device, PARTIAL_BYTES * segments).clone();
        for (index, (dispatch, _)) in dispatches.iter().enumerate() {
            self.write(
                &params,
                stride * index as u64,
                std::slice::from_ref(dispatch),
            );
        }
        self.write(
            &reduce_params,
            0,
            &[ReduceParams {
                count: partials_count,
                one: 1.0,
                ..Default::default()
            }],
        );
        self.write(&offsets_buffer, 0, &offsets);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("price"),
            layout: &context.price_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params,
                        offset: 0,
                        size: NonZeroU64::new(size_of::<PriceParams>() as u64),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: partials.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: qmc.as_entire_binding(),
                },
            ],
        });
        let reduce_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("reduce"),
            layout: &context.reduce.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: reduce_params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: partials.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: offsets_buffer.as_entire_binding(),
                },
            ],
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            for (index, (_, workgroups)) in dispatches.iter().enumerate() {
                pass.set_bind_group(0, &bind_group, &[(stride * index as u64) as u32]);
                pass.dispatch_workgroups(*workgroups, 1, 1);
            }
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&context.reduce.pipeline);
            pass.set_bind_group(0, &reduce_group, &[]);
            pass.dispatch_workgroups(segments as u32, 1, 1);
        }
        encoder.copy_buffer_to_buffer(
            &partials,
            PARTIAL_BYTES * u64::from(partials_count),
            &staging,
            0,
            PARTIAL_BYTES * segments,
        );
        let bytes = self.submit_and_read(encoder, &staging, PARTIAL_BYTES * segments, scopes)?;
        drop(pool);
        Ok(bytes
            .chunks_exact(PARTIAL_BYTES as usize)
            .map(|partial| {
                let words: [f32; 32] = bytemuck::pod_read_unaligned(partial);
                let pair = |at: usize| f64::from(words[at]) + f64::from(words[at + 1]);
                // Partial: (payoff, payoff^2), (control, control^2), (cross,
                // unused), then (estimator, estimator^2) per Greek.
                let mut sums = [0.0; 15];
                sums[..5].copy_from_slice(&[pair(0), pair(4), pair(2), pair(6), pair(8)]);
                for g in 0..5 {
                    sums[5 + 2 * g] = pair(12 + 4 * g);
                    sums[6 + 2 * g] = pair(14 + 4 * g);
                }
                sums
            })
            .collect())
    }

    /// The f32 shocks of scenarios `first .. first + count` (count at most
    /// one batch), read back.
    fn shocks(&self, job: &ValidVar<'_>, first: u64, count: u64) -> Result<Vec<f32>> {
        let context = self.context;
        let device = &context.device;
        let mut pool = self.context.pool.lock().unwrap_or_else(|p| p.into_inner());
        let (params, loadings) = self.var_inputs(&mut pool, job);
        let shocks = pool.partials.get(device, 4 * count).clone();
        let staging = pool.staging.get(device, 4 * count).clone();
        let (grid_x, grid_y) = grid(
            count.div_ceil(u64::from(WORKGROUP)),
            context.limits.max_compute_workgroups_per_dimension,
        );
        self.write(
            &params,
            0,
            &[VarParams {
                base: split(first),
                count: count as u32,
                grid_x,
                ..var_params(job)
            }],
        );
        let scenario = &context.var_kernels()?.scenario;
        let scopes = self.scopes();
        let mut encoder = self.encode(scenario, &[&params, &loadings, &shocks], (grid_x, grid_y));
        encoder.copy_buffer_to_buffer(&shocks, 0, &staging, 0, 4 * count);
        let bytes = self.submit_and_read(encoder, &staging, 4 * count, scopes)?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }

    /// The job's loadings written to the pool's buffer, and the params buffer.
    fn var_inputs(&self, pool: &mut Pool, job: &ValidVar<'_>) -> (wgpu::Buffer, wgpu::Buffer) {
        let device = &self.context.device;
        let model = job.model();
        let mut values: Vec<f64> = model.loadings.clone();
        if let Some(book) = &model.book {
            for underlying in &book.underlyings {
                values.extend(&underlying.factor);
                values.extend([underlying.drift, underlying.price]);
            }
            for option in &book.options {
                values.extend([
                    option.underlying as f64,
                    option.sign,
                    option.quantity,
                    option.strike,
                    f64::from(u8::from(option.expired)),
                    option.log_strike,
                    option.sd,
                    option.carry,
                    option.dividend_discount,
                    option.discount,
                ]);
            }
        }
        let loadings: Vec<f32> = values.iter().map(|&b| b as f32).collect();
        let buffer = pool.loadings.get(device, 4 * loadings.len() as u64).clone();
        self.write(&buffer, 0, &loadings);
        let params = pool
            .params
            .get(device, 256 * TAIL_DISPATCHES as u64)
            .clone();
        (params, buffer)
    }

    /// Philox blocks and f32 uniform pairs of `counters` under `key`, computed by
    /// the device with the multiply the kernels use (`sixteen_bit = false`) or
    /// with the 16-bit fallback: the hook the tests use to compare the device's
    /// generator with the CPU's. Its pipeline is compiled on first use.
    pub fn philox_blocks(
        &self,
        counters: &[[u32; 4]],
        key: [u32; 2],
        sixteen_bit: bool,
    ) -> Result<Vec<([u32; 4], [f32; 2])>> {
        use wgpu::util::DeviceExt;
        let multiply = if sixteen_bit {
            Multiply::SixteenBit
        } else {
            self.context.multiply
        };
        let kernel = self.context.check_kernel(multiply, "check")?;
        let device = &self.context.device;
        let count = counters.len() as u64;
        let scopes = self.scopes();
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("check params"),
            contents: bytemuck::bytes_of(&CheckParams {
                count: count as u32,
                one: 1.0,
                round_keys: shader::round_keys(key),
                ..Default::default()
            }),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("counters"),
            contents: bytemuck::cast_slice(counters),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let size = (32 * count).max(32);
        let results = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("check results"),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("check staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let encoder = self.encode(
            &kernel,
            &[&params, &input, &results],
            (count.div_ceil(64) as u32, 1),
        );
        let mut encoder = encoder;
        encoder.copy_buffer_to_buffer(&results, 0, &staging, 0, size);
        let bytes = self.submit_and_read(encoder, &staging, size, scopes)?;
        let entries: &[[u32; 4]] = bytemuck::cast_slice(&bytes);
        Ok(entries
            .chunks_exact(2)
            .take(counters.len())
            .map(|pair| {
                let [u1, u2, _, _] = pair[1];
                (pair[0], [f32::from_bits(u1), f32::from_bits(u2)])
            })
            .collect())
    }

    /// Test hook: `values` added in order by one invocation with the
    /// kernels' double-f32 addition, as (hi, lo), so the tests can check that
    /// the device's compiler keeps the two-sum exact.
    pub fn double_f32_sum(&self, values: &[f32]) -> Result<(f32, f32)> {
        use wgpu::util::DeviceExt;
        let kernel = self.context.check_kernel(self.context.multiply, "df_sum")?;
        let device = &self.context.device;
        let scopes = self.scopes();
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("df params"),
            contents: bytemuck::bytes_of(&CheckParams {
                count: values.len() as u32,
                one: 1.0,
                ..Default::default()
            }),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let words: Vec<[u32; 4]> = values.iter().map(|v| [v.to_bits(), 0, 0, 0]).collect();
        let input = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("df values"),
            contents: bytemuck::cast_slice(&words),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let results = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("df result"),
            size: 32,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("df staging"),
            size: 32,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.encode(&kernel, &[&params, &input, &results], (1, 1));
        encoder.copy_buffer_to_buffer(&results, 0, &staging, 0, 32);
        let bytes = self.submit_and_read(encoder, &staging, 32, scopes)?;
        let words: &[u32] = bytemuck::cast_slice(&bytes);
        Ok((f32::from_bits(words[0]), f32::from_bits(words[1])))
    }

    /// An encoder holding one dispatch of `kernel` with `resources` bound in
    /// order.
    fn encode(
        &self,
        kernel: &Kernel,
        resources: &[&wgpu::Buffer],
        (x, y): (u32, u32),
    ) -> wgpu::CommandEncoder {
        let device = &self.context.device;
        let entries: Vec<wgpu::BindGroupEntry> = resources
            .iter()
            .enumerate()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: binding as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &kernel.layout,
            entries: &entries,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        encoder
    }
}

/// Dispatches one submission carries (with its final reduction and its
/// 16-byte read-back): 2^36 path-steps on a discrete card, about a third of
/// a second at 2e11 path-steps/s, so a cancelled run stops within that (it
/// is checked between submissions) while the read-back's fixed cost (about
/// a millisecond) stays below 1% of the submission.
const DISPATCHES_PER_SUBMISSION: usize = 16;

/// Where a group's samples come from in the pricing kernel: its scrambles'
/// and the bridge's words in the QMC table (both 0 for Philox streams).
#[derive(Debug, Clone, Copy)]
struct GroupTables {
    scrambles: u32,
    bridge: u32,
    scenarios: u32,
    model: u32,
}

/// The dispatch of samples `samples` of one group (at most one segment:
/// stream `s` carries samples `2 s` and `2 s + 1`) of a job whose paths
/// take `steps` steps and `draws` normals under the key of `seed`, on at
/// most `plan.max_invocations` invocations, and its workgroups; the
/// product's and model's terms and the first partial are the caller's to
/// set.
fn dispatch_range(
    plan: Plan,
    (steps, draws, seed): (u32, u64, u64),
    samples: &Range<u64>,
    tables: GroupTables,
) -> (PriceParams, u32) {
    let first = samples.start / 2;
    let streams = samples.end.div_ceil(2) - first;
    debug_assert!(streams <= plan.streams_per_dispatch(draws), "one segment");
    let invocations = streams
        .min(plan.max_invocations)
        .next_multiple_of(u64::from(WORKGROUP));
    let workgroups = (invocations / u64::from(WORKGROUP)) as u32;
    let odd_limit = if samples.end % 2 == 1 {
        streams - 1
    } else {
        streams
    };
    (
        PriceParams {
            base: split(first),
            streams: streams as u32,
            odd_limit: odd_limit as u32,
            key: seed_key(seed),
            round_keys: shader::round_keys(seed_key(seed)),
            steps,
            invocations: invocations as u32,
            one: 1.0,
            skip_even: u32::from(samples.start % 2 == 1),
            scrambles: tables.scrambles,
            bridge: tables.bridge,
            scenarios: tables.scenarios,
            model: tables.model,
            ..PriceParams::default()
        },
        workgroups,
    )
}

/// A single-asset job's dispatch of `samples` ([`dispatch_range`]) with
/// its path constants and the product's terms.
fn segment_dispatch(
    job: &PricingJob,
    plan: Plan,
    samples: &Range<u64>,
    tables: GroupTables,
) -> (PriceParams, u32) {
    let setup = job.setup();
    let terms = setup.terms::<f64>();
    let (params, workgroups) =
        dispatch_range(plan, (setup.steps, job.draws(), job.seed), samples, tables);
    (
        PriceParams {
            log_spot: setup.log_spot as f32,
            drift: setup.drift as f32,
            diffusion: setup.diffusion as f32,
            strike: setup.strike as f32,
            fixings: setup.steps as f32,
            log_barrier: terms.log_barrier as f32,
            crossing: terms.bridge as f32,
            rebate: terms.rebate as f32,
            barrier_flags: u32::from(terms.up)
                | u32::from(terms.knock_in) << 1
                | u32::from(terms.continuous) << 2,
            ..params
        },
        workgroups,
    )
}

/// Where group `group`'s draws and the job's constants sit in `prepared`'s
/// table, for paths of `draws` normals.
fn group_tables(prepared: &Prepared, group: u32, draws: u64) -> GroupTables {
    GroupTables {
        scrambles: prepared.scrambles + group * draws as u32,
        bridge: prepared.bridge,
        scenarios: prepared.scenarios,
        model: prepared.model,
    }
}

/// The QMC table the pricing kernel reads: the direction numbers of the
/// job's dimensions (32 words each), every replicate's scrambles, then the
/// bridge (8 words a step: index, left, right, 0, and the f32 bits of the
/// left weight, right weight and standard deviation, 0). Returns the words
/// and where the scrambles and the bridge start.
fn qmc_table(tables: &QmcTables) -> (Vec<u32>, u32, u32) {
    let dimensions = tables.dimensions;
    let mut words: Vec<u32> = crate::rng::qmc::directions()[..dimensions]
        .iter()
        .flatten()
        .copied()
        .collect();
    let scrambles = words.len() as u32;
    words.extend(&tables.scrambles);
    let bridge_start = words.len() as u32;
    let bridge = &tables.bridge;
    // One bridge over the steps, which every factor shares.
    for i in 0..bridge.index.len() {
        words.extend([
            bridge.index[i],
            bridge.left[i],
            bridge.right[i],
            0,
            (bridge.left_weight[i] as f32).to_bits(),
            (bridge.right_weight[i] as f32).to_bits(),
            (bridge.std_dev[i] as f32).to_bits(),
            0,
        ]);
    }
    (words, scrambles, bridge_start)
}

impl ComputeBackend for GpuBackend {
    fn tier(&self) -> Tier {
        Tier::Gpu
    }

    fn describe(&self) -> String {
        let adapter = self.adapter();
        let multiply = if self.uses_int64() {
            "int64 mulhi"
        } else {
            "16-bit mulhi"
        };
        let setup: f64 = self.devices.iter().map(|d| d.context.setup_s).sum();
        let names = if self.devices.len() == 1 {
            adapter.name.clone()
        } else {
            let names: Vec<&str> = self
                .devices
                .iter()
                .map(|d| d.context.adapter.name.as_str())
                .collect();
            format!("{} devices: {}", names.len(), names.join(", "))
        };
        format!(
            "gpu ({names}, {}, {}, f32, {multiply}; setup {setup:.3} s)",
            adapter.device_type, adapter.api
        )
    }

    fn price(&self, valid: ValidPricing<'_>, points: Range<u64>) -> Result<Vec<Figures>> {
        Ok(self
            .price_blocks(valid, points)?
            .into_iter()
            .map(|blocks| blocks.into_iter().fold(Figures::default(), Figures::merge))
            .collect())
    }

    fn block_samples(&self, job: &PricingJob) -> u64 {
        GpuBackend::block_samples(self, job)
    }

    fn price_blocks(
        &self,
        valid: ValidPricing<'_>,
        points: Range<u64>,
    ) -> Result<Vec<Vec<Figures>>> {
        let job = &*valid;
        if let Some((_, problem)) = gpu_problem(job) {
            return Err(BackendError::Unavailable {
                backend: "gpu",
                reason: problem,
            }
            .into());
        }
        let plan = self.plan();
        let draws = job.draws();
        self.run_segments(
            (job.groups(), plan.segment_samples(draws)),
            points,
            valid.control(),
            &|device| device.prepare(job),
            &|prepared, group, range| {
                segment_dispatch(job, plan, range, group_tables(prepared, group, draws))
            },
        )
    }

    fn price_basket(
        &self,
        basket: &BasketPlan,
        points: Range<u64>,
        control: &Control,
    ) -> Result<Vec<BasketFigures>> {
        if let Some((_, problem)) = basket_gpu_problem(basket) {
            return Err(BackendError::Unavailable {
                backend: "gpu",
                reason: problem,
            }
            .into());
        }
        let plan = self.plan();
        let draws = u64::from(basket.steps) * basket.assets as u64;
        control.expect((points.end - points.start) * u64::from(basket.groups));
        let blocks = self.run_segments(
            (basket.groups, plan.segment_samples(draws)),
            points,
            control,
            &|device| device.prepare_basket(basket),
            &|prepared, group, range| {
                let (params, workgroups) = dispatch_range(
                    plan,
                    (basket.steps, draws, basket.seed),
                    range,
                    group_tables(prepared, group, draws),
                );
                let strike = basket.strike as f32;
                (PriceParams { strike, ..params }, workgroups)
            },
        )?;
        Ok(blocks
            .into_iter()
            .map(|segments| {
                segments
                    .into_iter()
                    .map(|figures| BasketFigures {
                        moments: figures.moments,
                        greeks: Vec::new(),
                    })
                    .fold(BasketFigures::default(), BasketFigures::merge)
            })
            .collect())
    }

    /// The chunks' shocks computed on the devices (a batch of chunks a
    /// submission, the devices taking batches in turn) and read back; the
    /// host's cores run `work` on each chunk's P&L. A scenario's shock is
    /// one invocation's work, so the P&L is the same on any number of
    /// devices; it is f32's, as the tier's own VaR.
    fn map_pnl_chunks(
        &self,
        job: &ValidVar<'_>,
        chunks: Range<u64>,
        work: &(dyn Fn(u64, &[f64]) -> Vec<u64> + Sync),
    ) -> Result<Vec<Vec<u64>>> {
        use rayon::prelude::*;
        runs_on_gpu(job)?;
        let control = job.control();
        let mean = job.model().mean;
        let batch = var_batch(&self.devices);
        let per_batch = (batch / CHUNK).max(1);
        let batches: Vec<Range<u64>> = (chunks.start..chunks.end)
            .step_by(per_batch as usize)
            .map(|first| first..(first + per_batch).min(chunks.end))
            .collect();
        let parts = share_work(
            &self.devices,
            batches.len(),
            &|_| Ok(()),
            &|device, (), index| {
                let range = &batches[index];
                let first = range.start * CHUNK;
                let end = (range.end * CHUNK).min(job.scenarios);
                let mut pnl = Vec::with_capacity((end - first) as usize);
                let mut at = first;
                while at < end && !control.is_cancelled() {
                    let count = (end - at).min(batch);
                    pnl.extend(
                        device
                            .shocks(job, at, count)?
                            .into_iter()
                            .map(|shock| mean + f64::from(shock)),
                    );
                    at += count;
                }
                let cancelled = control.is_cancelled();
                Ok(range
                    .clone()
                    .into_par_iter()
                    .map(|chunk| {
                        let from = (chunk * CHUNK - first) as usize;
                        let to = (((chunk + 1) * CHUNK).min(end) - first) as usize;
                        let values = if cancelled { &[][..] } else { &pnl[from..to] };
                        control.advance(values.len() as u64);
                        work(chunk, values)
                    })
                    .collect::<Vec<_>>())
            },
        )?;
        Ok(parts.into_iter().flatten().collect())
    }

    fn risk(&self, job: &ValidVar<'_>) -> Result<RiskEstimate> {
        runs_on_gpu(job)?;
        let counts = job.tail_counts();
        if job.scenarios <= READ_BACK_MAX || counts.len() > MAX_LEVELS as usize {
            return risk_by_read_back(&self.devices, job);
        }
        Ok(self.risk_on_device(job, &counts, TAIL_CAPACITY)?.0)
    }
}
