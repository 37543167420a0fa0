//! The wgpu context: instance, adapter, device, shader modules and pipelines,
//! created once per process and reused (wgpu's `repeated_compute` pattern).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use super::shader::{self, Multiply};
use crate::error::BackendError;
use crate::hardware::GpuClass;
use crate::models::ModelKind;
use crate::products::Style;

/// What `quantmc info` shows of an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name.
    pub name: String,
    /// Discrete, integrated, CPU, ...
    pub device_type: String,
    /// Vulkan, Metal, DX12, ...
    pub api: String,
    /// The driver and its version.
    pub driver: String,
}

impl AdapterSummary {
    fn of(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            device_type: format!("{:?}", info.device_type),
            api: format!("{:?}", info.backend),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
        }
    }
}

/// The process's wgpu instance and the adapters it sees, found once: Auto's
/// probe, `quantmc info` and the context share them (on NVIDIA's driver an
/// instance and its enumeration cost tens of milliseconds each time).
fn candidates() -> &'static [wgpu::Adapter] {
    static ADAPTERS: OnceLock<(wgpu::Instance, Vec<wgpu::Adapter>)> = OnceLock::new();
    &ADAPTERS
        .get_or_init(|| {
            let instance =
                wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
            let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
            (instance, adapters)
        })
        .1
}

/// Every adapter wgpu can see, in its order.
pub fn adapters() -> Vec<AdapterSummary> {
    candidates()
        .iter()
        .map(|adapter| AdapterSummary::of(&adapter.get_info()))
        .collect()
}

/// The class of the best adapter present (software last), without opening a
/// device: what `Backend::Auto` asks before considering the GPU.
pub fn best_adapter_class() -> Option<GpuClass> {
    candidates()
        .iter()
        .filter_map(|adapter| {
            let device_type = adapter.get_info().device_type;
            rank(device_type, true).map(|r| (r, device_type))
        })
        .min_by_key(|(r, _)| *r)
        .map(|(_, device_type)| class(device_type))
}

fn class(device_type: wgpu::DeviceType) -> GpuClass {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => GpuClass::Discrete,
        wgpu::DeviceType::IntegratedGpu => GpuClass::Integrated,
        wgpu::DeviceType::Cpu => GpuClass::Software,
        _ => GpuClass::Other,
    }
}

/// Preference among adapter types: a discrete GPU first, then an integrated
/// one; a software adapter only when allowed, and last.
fn rank(device_type: wgpu::DeviceType, allow_software: bool) -> Option<u8> {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => Some(0),
        wgpu::DeviceType::IntegratedGpu => Some(1),
        wgpu::DeviceType::VirtualGpu => Some(2),
        wgpu::DeviceType::Other => Some(3),
        wgpu::DeviceType::Cpu if allow_software => Some(4),
        wgpu::DeviceType::Cpu => None,
    }
}

/// A compute pipeline and the layout its bind group is made from.
pub(crate) struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// The pricing pipeline of one product, call or put, plain or antithetic,
/// with or without the control variate's sums, for randomized QMC the bridge
/// capacity (a power of two at least the steps; 0 for Philox streams), and
/// the Greeks' estimator (0 for none, else `GreekSetup::device_estimator`),
/// and the model (its WGSL twin is part of the module).
pub(crate) type PriceKey = (Style, bool, bool, bool, u32, u32, ModelKind);

/// The basket pipeline of one asset count, way of combining the assets
/// (`COMBINE`: 0 sum, 1 worst, 2 best), call or put, plain or antithetic,
/// with or without the control's sums, and for randomized QMC the bridge
/// capacity (0 for Philox streams).
pub(crate) type BasketKey = (u32, u32, bool, bool, bool, u32);

/// The VaR module's kernels.
pub(crate) struct VarKernels {
    /// Scenario P&Ls (shocks) into a buffer.
    pub scenario: Kernel,
    /// The tail kernel storing the values inside each bracket.
    pub tails_collect: Kernel,
    /// The tail kernel counting them into bins.
    pub tails_histogram: Kernel,
}

pub(crate) struct GpuContext {
    pub adapter: AdapterSummary,
    pub class: GpuClass,
    pub limits: wgpu::Limits,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The multiply the kernels use: 64-bit where the adapter has SHADER_INT64.
    pub multiply: Multiply,
    /// The pricing bind group layout: params at a dynamic offset, partials.
    pub price_layout: wgpu::BindGroupLayout,
    /// Pricing pipelines, compiled on first use and kept.
    price: Mutex<HashMap<PriceKey, Arc<wgpu::ComputePipeline>>>,
    /// Basket pipelines, compiled on first use and kept.
    basket: Mutex<HashMap<BasketKey, Arc<wgpu::ComputePipeline>>>,
    pub reduce: Kernel,
    /// The VaR kernels, compiled on the first VaR job (a pricing run never
    /// pays for them).
    var: OnceLock<Result<VarKernels, BackendError>>,
    /// The Philox test hooks, compiled only when a test asks.
    check: Mutex<HashMap<(Multiply, &'static str), Arc<Kernel>>>,
    /// The buffers jobs on this device use, kept across jobs.
    pub pool: Mutex<super::Pool>,
    /// Seconds spent creating the device and the final reduction, and
    /// checking it (`self_check`).
    pub setup_s: f64,
    /// The last error wgpu reported outside an error scope (e.g. device loss),
    /// kept instead of wgpu's default of panicking.
    pub uncaptured: Arc<Mutex<Option<String>>>,
}

fn unavailable(reason: impl Into<String>) -> BackendError {
    BackendError::Unavailable {
        backend: "gpu",
        reason: reason.into(),
    }
}

fn compile_failed(adapter: &str, error: impl std::fmt::Display) -> BackendError {
    BackendError::Failed {
        backend: "gpu",
        reason: format!("the WGSL kernels did not compile on {adapter}: {error}"),
    }
}

/// Runs the final reduction once on two known partials and reads the sum
/// back: a device that cannot run a kernel end to end (a broken driver, a
/// lost device) is found at setup, where Auto can still take a CPU tier,
/// rather than in the first job. It is also the device's first submission,
/// buffers, bind group and read-back, which a fresh process's first job
/// would otherwise pay for (several milliseconds on NVIDIA's driver); they
/// are counted in the setup time, as the device's own start-up.
fn self_check(device: &wgpu::Device, queue: &wgpu::Queue, reduce: &Kernel) -> Result<(), String> {
    use wgpu::util::DeviceExt;
    const WORDS: usize = 32;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let mut words = [0.0f32; 3 * WORDS];
    // Payoff (sum, squares) of 1.5 and 2.25 in each of the two partials.
    for partial in 0..2 {
        words[partial * WORDS] = 1.5;
        words[partial * WORDS + 2] = 2.25;
    }
    let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("check reduce params"),
        contents: bytemuck::bytes_of(&shader::ReduceParams {
            count: 2,
            one: 1.0,
            ..Default::default()
        }),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let partials = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("check partials"),
        contents: bytemuck::cast_slice(&words),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let offsets = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("check offsets"),
        contents: bytemuck::cast_slice(&[0u32, 2]),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let bytes = (4 * WORDS) as u64;
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("check staging"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("check reduce"),
        layout: &reduce.layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: params.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: partials.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: offsets.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&reduce.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&partials, 2 * bytes, &staging, 0, bytes);
    let data = submit_and_read(
        device,
        queue,
        encoder,
        &staging,
        bytes,
        || match pollster::block_on(scope.pop()) {
            Some(error) => Err(error.to_string()),
            None => Ok(()),
        },
    )?;
    let total: [f32; 4] = bytemuck::pod_read_unaligned(&data[..16]);
    if total != [3.0, 0.0, 4.5, 0.0] {
        return Err(format!(
            "adding two known partials gave {total:?}, not [3.0, 0.0, 4.5, 0.0]"
        ));
    }
    Ok(())
}

/// Submits `encoder` (which ends by copying `bytes` bytes into `staging`),
/// waits for the device, runs the caller's `checks` (its error scopes), and
/// returns those bytes; every failure is its reason.
pub(crate) fn submit_and_read(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    encoder: wgpu::CommandEncoder,
    staging: &wgpu::Buffer,
    bytes: u64,
    checks: impl FnOnce() -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    queue.submit([encoder.finish()]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, ..bytes, move |result| {
        // The receiver outlives this callback; a send can only fail if the
        // caller already returned with an error.
        let _ = sender.send(result);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|err| format!("waiting for the device: {err}"))?;
    checks()?;
    receiver
        .recv()
        .map_err(|_| "the device dropped the read-back".to_string())?
        .map_err(|err| format!("cannot read results back: {err}"))?;
    let data = staging
        .get_mapped_range(..bytes)
        .map_err(|err| format!("cannot read results back: {err}"))?
        .to_vec();
    staging.unmap();
    Ok(data)
}

/// The index of the best adapter present (a discrete GPU first, software
/// last) in [`adapters`]' order, if any: the one the GPU tier opens by
/// default.
pub fn best_index() -> Option<usize> {
    candidates()
        .iter()
        .enumerate()
        .filter_map(|(index, a)| rank(a.get_info().device_type, true).map(|r| (r, index)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, index)| index)
}

/// The indices of every adapter like the best one: its device type on its
/// API (every discrete GPU on Vulkan, say; not the same cards again through
/// another API). Empty without an adapter.
pub fn similar_adapters() -> Vec<usize> {
    let Some(best) = best_index() else {
        return Vec::new();
    };
    let like = candidates()[best].get_info();
    candidates()
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            let info = a.get_info();
            info.device_type == like.device_type && info.backend == like.backend
        })
        .map(|(index, _)| index)
        .collect()
}

/// The adapters' count, for checking a requested index.
pub fn adapter_count() -> usize {
    candidates().len()
}

/// Contexts opened so far, by adapter index and copy (a second device on
/// one adapter is copy 1); each is created once and kept for the process.
type Opened = HashMap<(usize, usize), Result<&'static GpuContext, BackendError>>;

impl GpuContext {
    /// The process's context on the best adapter (software ones included;
    /// the caller decides whether to use one), created on first use. A
    /// failure is remembered: a machine without a usable adapter does not
    /// probe again on every call.
    pub fn get() -> Result<&'static GpuContext, BackendError> {
        if candidates().is_empty() {
            return Err(unavailable(
                "no GPU adapter found (no Vulkan, Metal or DX12 driver is installed)",
            ));
        }
        let index = best_index().ok_or_else(|| unavailable("no usable GPU adapter found"))?;
        Self::open(index, 0)
    }

    /// The context of copy `copy` of adapter `index` (in [`adapters`]'
    /// order): copy 0 is the device every job on that adapter shares, a
    /// later copy a device of its own on the same adapter (how the tests run
    /// several devices on one). Created on first use and kept.
    pub fn open(index: usize, copy: usize) -> Result<&'static GpuContext, BackendError> {
        static OPENED: OnceLock<Mutex<Opened>> = OnceLock::new();
        let mut opened = OPENED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        opened
            .entry((index, copy))
            .or_insert_with(|| {
                let adapter = candidates().get(index).ok_or_else(|| {
                    unavailable(format!(
                        "there is no adapter {index}: {} found",
                        candidates().len()
                    ))
                })?;
                let context = pollster::block_on(Self::create(adapter))?;
                Ok(&*Box::leak(Box::new(context)))
            })
            .clone()
    }

    async fn create(adapter: &wgpu::Adapter) -> Result<Self, BackendError> {
        let start = Instant::now();
        let info = adapter.get_info();
        // Device and queue, with the adapter's real limits (larger storage
        // buffers and dispatches than the defaults).
        let limits = adapter.limits();
        let int64 = adapter.features().contains(wgpu::Features::SHADER_INT64);
        let required_features = if int64 {
            wgpu::Features::SHADER_INT64
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("quantmc"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|err| unavailable(format!("cannot open {}: {err}", info.name)))?;
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                *slot = Some(error.to_string());
            }
        }));
        let multiply = if int64 {
            Multiply::Int64
        } else {
            Multiply::SixteenBit
        };
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let price_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("price"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: false },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: true },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let reduce = Self::kernel(&device, "reduce", &shader::reduce_module(), "reduce");
        if let Some(error) = scope.pop().await {
            return Err(compile_failed(&info.name, error));
        }
        self_check(&device, &queue, &reduce).map_err(|reason| BackendError::Failed {
            backend: "gpu",
            reason: format!("{} failed its check at setup: {reason}", info.name),
        })?;
        Ok(Self {
            adapter: AdapterSummary::of(&info),
            class: class(info.device_type),
            limits,
            device,
            queue,
            multiply,
            price_layout,
            price: Mutex::default(),
            basket: Mutex::default(),
            reduce,
            var: OnceLock::new(),
            check: Mutex::default(),
            pool: Mutex::new(super::Pool::new()),
            setup_s: start.elapsed().as_secs_f64(),
            uncaptured,
        })
    }

    fn kernel(device: &wgpu::Device, label: &str, source: &str, entry: &str) -> Kernel {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        Kernel { pipeline, layout }
    }

    /// The pipeline of `entry` in `module` with `constants` for its
    /// overrides, and its bind group layout.
    fn pipeline(
        device: &wgpu::Device,
        module: &wgpu::ShaderModule,
        entry: &str,
        constants: &[(&str, f64)],
    ) -> Kernel {
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        Kernel { pipeline, layout }
    }

    /// The VaR kernels, compiled the first time they are asked for (a
    /// failure is remembered).
    pub fn var_kernels(&self) -> Result<&VarKernels, BackendError> {
        self.var
            .get_or_init(|| {
                let device = &self.device;
                let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("var"),
                    source: wgpu::ShaderSource::Wgsl(shader::var_module(self.multiply).into()),
                });
                let kernels = VarKernels {
                    scenario: Self::pipeline(device, &module, "scenario", &[]),
                    tails_collect: Self::pipeline(device, &module, "tails", &[("HISTOGRAM", 0.0)]),
                    tails_histogram: Self::pipeline(
                        device,
                        &module,
                        "tails",
                        &[("HISTOGRAM", 1.0)],
                    ),
                };
                match pollster::block_on(scope.pop()) {
                    Some(error) => Err(compile_failed(&self.adapter.name, error)),
                    None => Ok(kernels),
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The pricing pipeline for `key`, compiled the first time it is asked
    /// for: the product's module (with its bridge capacity) with PUT,
    /// ANTITHETIC, CONTROL, QMC and GREEKS fixed as overrides.
    pub fn price_pipeline(
        &self,
        key: PriceKey,
    ) -> Result<Arc<wgpu::ComputePipeline>, BackendError> {
        let mut cache = self.price.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pipeline) = cache.get(&key) {
            return Ok(Arc::clone(pipeline));
        }
        let (style, put, antithetic, control, bridge_capacity, greeks, model) = key;
        let constants = [
            ("PUT", f64::from(u8::from(put))),
            ("ANTITHETIC", f64::from(u8::from(antithetic))),
            ("CONTROL", f64::from(u8::from(control))),
            // A model whose step is not exact over the whole maturity takes
            // the job's steps for every product.
            (
                "FIXED_STEPS",
                f64::from(if model.exact_step() {
                    style.fixed_steps().unwrap_or(0)
                } else {
                    0
                }),
            ),
            ("QMC", f64::from(u8::from(bridge_capacity > 0))),
            ("GREEKS", f64::from(greeks)),
        ];
        let source =
            shader::price_module(self.multiply, style.wgsl(), model.wgsl(), bridge_capacity);
        let pipeline =
            Arc::new(self.pricing_pipeline(style.name(), source, "price", &constants)?);
        cache.insert(key, Arc::clone(&pipeline));
        Ok(pipeline)
    }

    /// The basket pipeline for `key`, compiled the first time it is asked
    /// for: the module of its asset count (and bridge capacity) with
    /// COMBINE, PUT, ANTITHETIC, CONTROL and QMC fixed as overrides.
    pub fn basket_pipeline(
        &self,
        key: BasketKey,
    ) -> Result<Arc<wgpu::ComputePipeline>, BackendError> {
        let mut cache = self.basket.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pipeline) = cache.get(&key) {
            return Ok(Arc::clone(pipeline));
        }
        let (assets, combine, put, antithetic, control, bridge_capacity) = key;
        let constants = [
            ("COMBINE", f64::from(combine)),
            ("PUT", f64::from(u8::from(put))),
            ("ANTITHETIC", f64::from(u8::from(antithetic))),
            ("CONTROL", f64::from(u8::from(control))),
            ("QMC", f64::from(u8::from(bridge_capacity > 0))),
        ];
        let source = shader::basket_module(self.multiply, assets, bridge_capacity);
        let pipeline = Arc::new(self.pricing_pipeline("basket", source, "basket", &constants)?);
        cache.insert(key, Arc::clone(&pipeline));
        Ok(pipeline)
    }

    /// A pipeline of `entry` in `source` on the pricing bind group layout
    /// (params at a dynamic offset, partials, the job's table), with
    /// `constants` as its overrides.
    fn pricing_pipeline(
        &self,
        label: &str,
        source: String,
        entry: &str,
        constants: &[(&str, f64)],
    ) -> Result<wgpu::ComputePipeline, BackendError> {
        let device = &self.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&self.price_layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: Some(&layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        });
        match pollster::block_on(scope.pop()) {
            Some(error) => Err(compile_failed(&self.adapter.name, error)),
            None => Ok(pipeline),
        }
    }

    /// A test hook's kernel (`entry` of the check module, with `multiply`),
    /// compiled on first use.
    pub fn check_kernel(
        &self,
        multiply: Multiply,
        entry: &'static str,
    ) -> Result<Arc<Kernel>, BackendError> {
        let mut cache = self.check.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kernel) = cache.get(&(multiply, entry)) {
            return Ok(Arc::clone(kernel));
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let kernel = Self::kernel(
            &self.device,
            "philox_check",
            &shader::check_module(multiply),
            entry,
        );
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(compile_failed(&self.adapter.name, error));
        }
        let kernel = Arc::new(kernel);
        cache.insert((multiply, entry), Arc::clone(&kernel));
        Ok(kernel)
    }

    /// An error wgpu reported outside a scope since the last call, if any.
    pub fn take_uncaptured(&self) -> Option<String> {
        self.uncaptured.lock().ok().and_then(|mut slot| slot.take())
    }
}
