//! The GPU tier: WGSL compute shaders (`shaders/`) through wgpu, f32 on the
//! device, partial results combined in f64 on the host in a fixed order.
//!
//! Jobs run in batches of at most [`MAX_BATCH`] samples, each its own dispatch
//! (a 2-D grid of 256-wide workgroups, within the 65,535-per-dimension limit)
//! and its own submission, so no single submission runs long enough for a
//! display watchdog to kill it, and device memory stays bounded whatever the
//! path or scenario count.

mod context;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

pub use context::{ALLOW_SOFTWARE_ENV, AdapterSummary, adapters, best_adapter_class};
use context::{GpuContext, Kernel};

use super::rayon::summarise;
use super::{Backend, ComputeBackend, finish_price};
use crate::error::{BackendError, Result};
use crate::pricing::{OptionKind, PathSetup, PricingEstimate, PricingJob, Style};
use crate::risk::{RiskEstimate, RiskModel, VarJob};
use crate::rng::{chi_square_constants, seed_key};
use crate::stats::Moments;

/// Invocations per workgroup in the price and scenario kernels.
const WORKGROUP: u64 = 256;
/// Samples per price workgroup: each invocation runs one stream, two samples.
const PRICE_GROUP: u64 = 2 * WORKGROUP;
/// Most samples one dispatch covers: 65,536 workgroups.
pub const MAX_BATCH: u64 = 1 << 24;

/// The GPU tier. Creating it opens the process's `GpuContext` (once).
pub struct GpuBackend {
    context: &'static GpuContext,
}

impl GpuBackend {
    pub fn new() -> Result<Self> {
        Ok(Self {
            context: GpuContext::get()?,
        })
    }

    /// The adapter this tier runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.context.adapter
    }

    /// Seconds spent creating the device, shader modules and pipelines.
    pub fn setup_seconds(&self) -> f64 {
        self.context.setup_s
    }
}

fn failed(reason: impl Into<String>) -> BackendError {
    BackendError::Failed {
        backend: "gpu",
        reason: reason.into(),
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PriceParams {
    base: [u32; 2],
    count: u32,
    steps: u32,
    key: [u32; 2],
    style: u32,
    is_put: u32,
    antithetic: u32,
    groups: u32,
    grid_x: u32,
    _pad: u32,
    log_spot: f32,
    drift: f32,
    diffusion: f32,
    strike: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct VarParams {
    base: [u32; 2],
    count: u32,
    assets: u32,
    key: [u32; 2],
    student_t: u32,
    grid_x: u32,
    dof: f32,
    chi_d: f32,
    chi_c: f32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CheckParams {
    key: [u32; 2],
    count: u32,
    _pad: u32,
}

fn split(index: u64) -> [u32; 2] {
    [index as u32, (index >> 32) as u32]
}

/// A 2-D grid of `groups` workgroups within the per-dimension limit.
fn grid(groups: u64, max_per_dimension: u32) -> (u32, u32) {
    let x = groups.clamp(1, u64::from(max_per_dimension));
    (x as u32, groups.div_ceil(x) as u32)
}

impl GpuBackend {
    /// Samples per batch: [`MAX_BATCH`], or fewer where the adapter's storage
    /// buffers are smaller than a batch of f32 scenario results. Always a
    /// multiple of [`PRICE_GROUP`], so every pricing batch starts on a stream.
    fn batch(&self) -> u64 {
        let limits = &self.context.limits;
        let by_binding = limits.max_storage_buffer_binding_size / 4;
        let by_grid = u64::from(limits.max_compute_workgroups_per_dimension).pow(2) * WORKGROUP;
        (MAX_BATCH.min(by_binding).min(by_grid) / PRICE_GROUP * PRICE_GROUP).max(PRICE_GROUP)
    }

    /// Runs `kernel` over a `(x, y)` grid with `resources` bound in order and
    /// returns the contents of `output` after the run. Out-of-memory and
    /// validation errors become [`BackendError::Failed`], never a panic.
    fn run(
        &self,
        kernel: &Kernel,
        resources: &[&wgpu::Buffer],
        output: &wgpu::Buffer,
        (x, y): (u32, u32),
    ) -> Result<Vec<u8>, BackendError> {
        let device = &self.context.device;
        let memory = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let size = output.size();
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
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
        encoder.copy_buffer_to_buffer(output, 0, &staging, 0, size);
        self.context.queue.submit([encoder.finish()]);
        let (sender, receiver) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            // The receiver outlives this callback; a send can only fail if
            // `run` already returned with an error.
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
        let bytes = staging
            .get_mapped_range(..)
            .map_err(|err| failed(format!("cannot read results back: {err}")))?
            .to_vec();
        staging.unmap();
        Ok(bytes)
    }

    fn uniform<T: Pod>(&self, value: &T) -> wgpu::Buffer {
        self.context
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::bytes_of(value),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    fn storage(&self, bytes: u64) -> wgpu::Buffer {
        self.context.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("results"),
            size: bytes.max(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    }

    /// Whether the kernels use 64-bit integer multiplies (else 16-bit halves).
    pub fn uses_int64(&self) -> bool {
        self.context.int64
    }

    /// Philox blocks and f32 uniform pairs of `counters` under `key`, computed by
    /// the device with the multiply the kernels use (`sixteen_bit = false`) or
    /// with the 16-bit fallback: the hook the tests use to compare the device's
    /// generator with the CPU's.
    pub fn philox_blocks(
        &self,
        counters: &[[u32; 4]],
        key: [u32; 2],
        sixteen_bit: bool,
    ) -> Result<Vec<([u32; 4], [f32; 2])>> {
        let count = counters.len() as u64;
        let params = self.uniform(&CheckParams {
            key,
            count: count as u32,
            _pad: 0,
        });
        let input = self
            .context
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("counters"),
                contents: bytemuck::cast_slice(counters),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let results = self.storage(32 * count);
        let groups = count.div_ceil(64) as u32;
        let kernel = if sixteen_bit {
            &self.context.check_16bit
        } else {
            &self.context.check
        };
        let bytes = self.run(kernel, &[&params, &input, &results], &results, (groups, 1))?;
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
}

impl ComputeBackend for GpuBackend {
    fn kind(&self) -> Backend {
        Backend::Gpu
    }

    fn describe(&self) -> String {
        let adapter = &self.context.adapter;
        let multiply = if self.context.int64 {
            "int64 mulhi"
        } else {
            "16-bit mulhi"
        };
        format!(
            "gpu ({}, {}, {}, f32, {multiply}; setup {:.3} s)",
            adapter.name, adapter.device_type, adapter.api, self.context.setup_s
        )
    }

    fn price(&self, job: &PricingJob) -> Result<PricingEstimate> {
        let setup = PathSetup::new(job);
        let samples = job.samples();
        let batch = self.batch();
        let max_dim = self.context.limits.max_compute_workgroups_per_dimension;
        let mut partials = Vec::new();
        for start in (0..samples).step_by(batch as usize) {
            let count = (samples - start).min(batch);
            let groups = count.div_ceil(PRICE_GROUP);
            let (grid_x, grid_y) = grid(groups, max_dim);
            let params = self.uniform(&PriceParams {
                base: split(start / 2),
                count: count as u32,
                steps: setup.steps,
                key: seed_key(job.seed),
                style: match setup.style {
                    Style::European => 0,
                    Style::AsianArithmetic => 1,
                    Style::AsianGeometric => 2,
                },
                is_put: u32::from(setup.kind == OptionKind::Put),
                antithetic: u32::from(job.antithetic),
                groups: groups as u32,
                grid_x,
                _pad: 0,
                log_spot: setup.log_spot as f32,
                drift: setup.drift as f32,
                diffusion: setup.diffusion as f32,
                strike: setup.strike as f32,
            });
            let output = self.storage(16 * groups);
            let bytes = self.run(
                &self.context.price,
                &[&params, &output],
                &output,
                (grid_x, grid_y),
            )?;
            let values: &[[f32; 4]] = bytemuck::cast_slice(&bytes);
            partials.extend(
                values
                    .iter()
                    .take(groups as usize)
                    .map(|&[n, mean, m2, _]| Moments {
                        count: n as u64,
                        mean: f64::from(mean),
                        m2: f64::from(m2),
                    }),
            );
        }
        Ok(finish_price(job, partials))
    }

    fn risk(&self, job: &VarJob, model: &RiskModel) -> Result<RiskEstimate> {
        let loadings: Vec<f32> = model.loadings.iter().map(|&b| b as f32).collect();
        let loadings = self
            .context
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("loadings"),
                contents: bytemuck::cast_slice(&loadings),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let (dof, (chi_d, chi_c)) = match model.dof {
            Some(dof) => (dof, chi_square_constants(dof)),
            None => (0.0, (0.0, 0.0)),
        };
        let batch = self.batch();
        let max_dim = self.context.limits.max_compute_workgroups_per_dimension;
        let mut pnl = Vec::with_capacity(job.scenarios as usize);
        for start in (0..job.scenarios).step_by(batch as usize) {
            let count = (job.scenarios - start).min(batch);
            let (grid_x, grid_y) = grid(count.div_ceil(WORKGROUP), max_dim);
            let params = self.uniform(&VarParams {
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
            });
            let shocks = self.storage(4 * count);
            let bytes = self.run(
                &self.context.scenario,
                &[&params, &loadings, &shocks],
                &shocks,
                (grid_x, grid_y),
            )?;
            let shocks: &[f32] = bytemuck::cast_slice(&bytes);
            pnl.extend(
                shocks[..count as usize]
                    .iter()
                    .map(|&s| model.mean + f64::from(s)),
            );
        }
        // The host's cores summarise the read-back sample (deterministically).
        Ok(summarise(&mut pnl, &job.confidences))
    }
}
