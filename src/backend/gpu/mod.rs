//! The GPU tier: the products' WGSL twins through wgpu, f32 on the device.
//!
//! Pricing runs grid-stride kernels (see `shaders/price.wgsl`): a job is a
//! few dispatches over ranges of streams, each sized so that it stays short
//! (about [`DISPATCH_WORK_DISCRETE`] path-steps on a discrete card), all queued
//! in one submission with the final reduction, and one 16-byte read-back.
//! Sums are double-f32 on the device and combined in f64 on the host.
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
use std::sync::{Mutex, OnceLock};

use bytemuck::Pod;

pub use context::{AdapterSummary, adapters, best_adapter_class};
use context::{GpuContext, Kernel};
use shader::{CheckParams, Multiply, PriceParams, ReduceParams, VarParams, WORKGROUP};

use super::{ComputeBackend, F32_LIMIT, f32_problem, finish_price};
use crate::error::{BackendError, Result};
use crate::hardware::GpuClass;
use crate::pricing::{PricingEstimate, PricingJob, ValidPricing};
use crate::risk::{RiskEstimate, ValidVar};
use crate::rng::{chi_square_constants, seed_key};
use crate::stats::{Moments, summarise_parallel};
use crate::tier::Tier;

/// Most scenarios one VaR dispatch covers.
pub const MAX_BATCH: u64 = 1 << 24;
/// Path-steps one pricing dispatch covers on a discrete card: about 20 ms at
/// 2e11 path-steps/s, far inside display watchdogs.
pub const DISPATCH_WORK_DISCRETE: u64 = 1 << 32;
/// Path-steps one pricing dispatch covers on other adapters (integrated,
/// virtual, software), which may be 30x slower.
pub const DISPATCH_WORK_OTHER: u64 = 1 << 27;
/// Most invocations in one pricing dispatch: enough to fill the largest cards
/// several times over (an H200 holds about 270,000 resident invocations).
const MAX_INVOCATIONS: u64 = 1 << 20;

/// The GPU tier. Creating it opens the process's `GpuContext` (once).
pub struct GpuBackend {
    context: &'static GpuContext,
}

impl GpuBackend {
    /// The GPU tier on the best adapter; a software (CPU-type) adapter only
    /// when `allow_software` is set.
    pub fn new(allow_software: bool) -> Result<Self> {
        let context = GpuContext::get()?;
        if context.class == GpuClass::Software && !allow_software {
            return Err(BackendError::Unavailable {
                backend: "gpu",
                reason: format!(
                    "only software (CPU-type) adapters found ({}); they are not GPUs. \
                     Set QUANTMC_ALLOW_SOFTWARE_GPU=1 (RunOptions::allow_software_gpu) \
                     to run the GPU kernels on one anyway",
                    context.adapter.name
                ),
            }
            .into());
        }
        Ok(Self { context })
    }

    /// The adapter this tier runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.context.adapter
    }

    /// Seconds spent creating the device, shader modules and pipelines.
    pub fn setup_seconds(&self) -> f64 {
        self.context.setup_s
    }

    /// Whether the kernels use 64-bit integer multiplies (else 16-bit halves).
    pub fn uses_int64(&self) -> bool {
        self.context.multiply == Multiply::Int64
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
struct Pool {
    params: Pooled,
    reduce_params: Pooled,
    partials: Pooled,
    loadings: Pooled,
    staging: Pooled,
}

fn pool() -> &'static Mutex<Pool> {
    use wgpu::BufferUsages as U;
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        Mutex::new(Pool {
            params: Pooled::new("params", U::UNIFORM | U::COPY_DST),
            reduce_params: Pooled::new("reduce params", U::UNIFORM | U::COPY_DST),
            partials: Pooled::new("partials", U::STORAGE | U::COPY_SRC | U::COPY_DST),
            loadings: Pooled::new("loadings", U::STORAGE | U::COPY_DST),
            staging: Pooled::new("staging", U::MAP_READ | U::COPY_DST),
        })
    })
}

impl GpuBackend {
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
        let device = &self.context.device;
        self.context.queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, ..bytes, move |result| {
            // The receiver outlives this callback; a send can only fail if
            // the caller already returned with an error.
            let _ = sender.send(result);
        });
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|err| failed(format!("waiting for the device: {err}")))?;
        if let Some(error) = pollster::block_on(validation.pop()) {
            return Err(failed(format!("invalid dispatch: {error}")));
        }
        if let Some(error) = pollster::block_on(memory.pop()) {
            return Err(failed(format!("out of device memory: {error}")));
        }
        if let Some(error) = self.context.take_uncaptured() {
            return Err(failed(error));
        }
        receiver
            .recv()
            .map_err(|_| failed("the device dropped the read-back"))?
            .map_err(|err| failed(format!("cannot read results back: {err}")))?;
        let data = staging
            .get_mapped_range(..bytes)
            .map_err(|err| failed(format!("cannot read results back: {err}")))?
            .to_vec();
        staging.unmap();
        Ok(data)
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

    /// Path-steps one pricing dispatch covers on this adapter.
    fn dispatch_work(&self) -> u64 {
        match self.context.class {
            GpuClass::Discrete => DISPATCH_WORK_DISCRETE,
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

    /// Runs one submission's pricing dispatches and its final reduction;
    /// returns the (sum, sum of squares) of its samples' payoffs.
    fn price_submission(
        &self,
        pipeline: &wgpu::ComputePipeline,
        dispatches: &[(PriceParams, u32)],
    ) -> Result<[f64; 2]> {
        let context = self.context;
        let device = &context.device;
        let partials_count: u32 = dispatches.iter().map(|(_, w)| w).sum();
        let stride = (size_of::<PriceParams>() as u64).next_multiple_of(u64::from(
            context.limits.min_uniform_buffer_offset_alignment,
        ));
        let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
        let scopes = self.scopes();
        let params = pool
            .params
            .get(device, stride * dispatches.len() as u64)
            .clone();
        let reduce_params = pool.reduce_params.get(device, 16).clone();
        let partials = pool
            .partials
            .get(device, 16 * (u64::from(partials_count) + 1))
            .clone();
        let staging = pool.staging.get(device, 16).clone();
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
                ..Default::default()
            }],
        );
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
            pass.dispatch_workgroups(1, 1, 1);
        }
        encoder.copy_buffer_to_buffer(&partials, 16 * u64::from(partials_count), &staging, 0, 16);
        let bytes = self.submit_and_read(encoder, &staging, 16, scopes)?;
        drop(pool);
        let [sum_hi, sum_lo, squares_hi, squares_lo]: [f32; 4] =
            bytemuck::pod_read_unaligned(&bytes[..16]);
        Ok([
            f64::from(sum_hi) + f64::from(sum_lo),
            f64::from(squares_hi) + f64::from(squares_lo),
        ])
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
        let kernel = self.context.check_kernel(multiply)?;
        let device = &self.context.device;
        let count = counters.len() as u64;
        let scopes = self.scopes();
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("check params"),
            contents: bytemuck::bytes_of(&CheckParams {
                key,
                count: count as u32,
                _pad: 0,
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
/// 16-byte read-back): 2^40 path-steps on a discrete card.
const DISPATCHES_PER_SUBMISSION: usize = 256;

/// The next submission's dispatches of a pricing job, from stream `first`:
/// each covers a range of streams. Returns them and the stream after them.
fn price_dispatches(
    job: &PricingJob,
    dispatch_work: u64,
    first: u64,
) -> (Vec<(PriceParams, u32)>, u64) {
    let setup = job.setup();
    let samples = job.samples();
    let streams_total = samples.div_ceil(2);
    let per_dispatch = (dispatch_work / u64::from(setup.steps) / 2).max(1);
    let mut dispatches = Vec::new();
    let mut first_partial = 0u32;
    let mut first = first;
    while first < streams_total && dispatches.len() < DISPATCHES_PER_SUBMISSION {
        let streams = (streams_total - first).min(per_dispatch);
        let last = first + streams == streams_total;
        let invocations = streams
            .min(MAX_INVOCATIONS)
            .next_multiple_of(u64::from(WORKGROUP));
        let workgroups = (invocations / u64::from(WORKGROUP)) as u32;
        let odd_limit = if last && samples % 2 == 1 {
            streams - 1
        } else {
            streams
        };
        dispatches.push((
            PriceParams {
                base: split(first),
                streams: streams as u32,
                odd_limit: odd_limit as u32,
                key: seed_key(job.seed),
                steps: setup.steps,
                invocations: invocations as u32,
                first_partial,
                log_spot: setup.log_spot as f32,
                drift: setup.drift as f32,
                diffusion: setup.diffusion as f32,
                strike: setup.strike as f32,
                fixings: setup.steps as f32,
                _pad0: 0,
                _pad1: 0,
            },
            workgroups,
        ));
        first_partial += workgroups;
        first += streams;
    }
    (dispatches, first)
}

impl ComputeBackend for GpuBackend {
    fn tier(&self) -> Tier {
        Tier::Gpu
    }

    fn describe(&self) -> String {
        let adapter = &self.context.adapter;
        let multiply = if self.uses_int64() {
            "int64 mulhi"
        } else {
            "16-bit mulhi"
        };
        format!(
            "gpu ({}, {}, {}, f32, {multiply}; setup {:.3} s)",
            adapter.name, adapter.device_type, adapter.api, self.context.setup_s
        )
    }

    fn price(&self, job: ValidPricing<'_>) -> Result<PricingEstimate> {
        let job = &*job;
        if let Some(problem) = f32_problem(job) {
            return Err(BackendError::Unavailable {
                backend: "gpu",
                reason: problem,
            }
            .into());
        }
        let option = &job.option;
        let pipeline = self.context.price_pipeline((
            option.style,
            option.kind == crate::OptionKind::Put,
            job.antithetic,
        ))?;
        let streams_total = job.samples().div_ceil(2);
        let (mut sum, mut squares) = (0.0f64, 0.0f64);
        let mut first = 0;
        while first < streams_total {
            let (dispatches, next) = price_dispatches(job, self.dispatch_work(), first);
            let [s, q] = self.price_submission(&pipeline, &dispatches)?;
            sum += s;
            squares += q;
            first = next;
        }
        let n = job.samples();
        let mean = sum / n as f64;
        let moments = Moments {
            count: n,
            mean,
            m2: (squares - sum * mean).max(0.0),
        };
        Ok(finish_price(job, [moments]))
    }

    fn risk(&self, job: &ValidVar<'_>) -> Result<RiskEstimate> {
        let model = job.model();
        if let Some(&loading) = model.loadings.iter().find(|b| b.abs() > F32_LIMIT) {
            return Err(BackendError::Unavailable {
                backend: "gpu",
                reason: format!(
                    "a P&L loading of {loading:e} is outside the f32 range the GPU kernels compute in (|x| <= {F32_LIMIT:e}); use a CPU tier"
                ),
            }
            .into());
        }
        let context = self.context;
        let device = &context.device;
        let (dof, (chi_d, chi_c)) = match model.dof {
            Some(dof) => (dof, chi_square_constants(dof)),
            None => (0.0, (0.0, 0.0)),
        };
        let batch = self.var_batch();
        let max_dim = context.limits.max_compute_workgroups_per_dimension;
        let mut pnl = super::allocate(job.scenarios)?;
        let loadings: Vec<f32> = model.loadings.iter().map(|&b| b as f32).collect();
        let mut pool = pool().lock().unwrap_or_else(|p| p.into_inner());
        let loadings_buffer = pool.loadings.get(device, 4 * loadings.len() as u64).clone();
        self.write(&loadings_buffer, 0, &loadings);
        let params = pool
            .params
            .get(device, size_of::<VarParams>() as u64)
            .clone();
        let shocks = pool.partials.get(device, 4 * batch).clone();
        let staging = pool.staging.get(device, 4 * batch).clone();
        for start in (0..job.scenarios).step_by(batch as usize) {
            let count = (job.scenarios - start).min(batch);
            let (grid_x, grid_y) = grid(count.div_ceil(u64::from(WORKGROUP)), max_dim);
            self.write(
                &params,
                0,
                &[VarParams {
                    base: split(start),
                    count: count as u32,
                    assets: model.loadings.len() as u32,
                    key: seed_key(job.seed),
                    student_t: u32::from(model.dof.is_some()),
                    grid_x,
                    dof: dof as f32,
                    chi_d: chi_d as f32,
                    chi_c: chi_c as f32,
                    _pad: 0,
                }],
            );
            let scopes = self.scopes();
            let mut encoder = self.encode(
                &context.scenario,
                &[&params, &loadings_buffer, &shocks],
                (grid_x, grid_y),
            );
            encoder.copy_buffer_to_buffer(&shocks, 0, &staging, 0, 4 * count);
            let bytes = self.submit_and_read(encoder, &staging, 4 * count, scopes)?;
            let values: &[f32] = bytemuck::cast_slice(&bytes);
            let out = &mut pnl[start as usize..(start + count) as usize];
            for (out, &shock) in out.iter_mut().zip(values) {
                *out = model.mean + f64::from(shock);
            }
        }
        drop(pool);
        // The host's cores summarise the read-back sample (deterministically).
        let (moments, tails) = summarise_parallel(&mut pnl, &job.tail_counts());
        Ok(RiskEstimate {
            mean: moments.mean,
            std_dev: moments.std_dev(),
            tails,
        })
    }
}
