//! The wgpu context: instance, adapter, device, shader modules and pipelines,
//! created once per process and reused (wgpu's `repeated_compute` pattern).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::error::BackendError;

/// Lets `--backend gpu` run on a software (CPU-type) adapter such as lavapipe.
pub const ALLOW_SOFTWARE_ENV: &str = "QUANTMC_ALLOW_SOFTWARE_GPU";

/// The WGSL sources, one concern per file, joined at compile time (WGSL has no
/// includes): the 32x32 -> 64-bit multiply for the adapter, the generator and
/// normals, then each kernel.
const MULHILO_INT64_WGSL: &str = include_str!("../../../shaders/mulhilo_int64.wgsl");
const MULHILO_16BIT_WGSL: &str = include_str!("../../../shaders/mulhilo_16bit.wgsl");
const COMMON_WGSL: &str = concat!(
    include_str!("../../../shaders/philox.wgsl"),
    include_str!("../../../shaders/normals.wgsl"),
);
const PRICE_WGSL: &str = include_str!("../../../shaders/price.wgsl");
const VAR_WGSL: &str = include_str!("../../../shaders/var.wgsl");
const CHECK_WGSL: &str = include_str!("../../../shaders/philox_check.wgsl");

/// What `quantmc info` shows of an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub device_type: String,
    pub api: String,
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

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle())
}

/// Every adapter wgpu can see, in its order.
pub fn adapters() -> Vec<AdapterSummary> {
    let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    adapters
        .iter()
        .map(|adapter| AdapterSummary::of(&adapter.get_info()))
        .collect()
}

/// The class of the best adapter present (software last), without opening a
/// device: what `Backend::Auto` asks before considering the GPU.
pub fn best_adapter_class() -> Option<crate::selector::GpuClass> {
    use crate::selector::GpuClass;
    let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    adapters
        .iter()
        .filter_map(|adapter| {
            let device_type = adapter.get_info().device_type;
            rank(device_type, true).map(|r| (r, device_type))
        })
        .min_by_key(|(r, _)| *r)
        .map(|(_, device_type)| match device_type {
            wgpu::DeviceType::DiscreteGpu => GpuClass::Discrete,
            wgpu::DeviceType::IntegratedGpu => GpuClass::Integrated,
            wgpu::DeviceType::Cpu => GpuClass::Software,
            _ => GpuClass::Other,
        })
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

pub(crate) fn software_allowed() -> bool {
    std::env::var(ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1")
}

/// A compute pipeline and the layout its bind group is made from.
pub(crate) struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

pub(crate) struct GpuContext {
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub price: Kernel,
    pub scenario: Kernel,
    /// The Philox test hook with the multiply the kernels use, and with the
    /// 16-bit one (the same kernel where the adapter lacks 64-bit integers).
    pub check: Kernel,
    pub check_16bit: Kernel,
    /// Whether the kernels multiply with 64-bit integers (SHADER_INT64).
    pub int64: bool,
    /// Seconds spent creating all of the above.
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

impl GpuContext {
    /// The process's context, created on first use. A failure is remembered:
    /// a machine without a usable adapter does not probe again on every call.
    pub fn get() -> Result<&'static GpuContext, BackendError> {
        static CONTEXT: OnceLock<Result<GpuContext, BackendError>> = OnceLock::new();
        CONTEXT
            .get_or_init(|| pollster::block_on(Self::create(software_allowed())))
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn create(allow_software: bool) -> Result<Self, BackendError> {
        let start = Instant::now();
        // Instance and adapter.
        let instance = instance();
        let candidates = instance.enumerate_adapters(wgpu::Backends::all()).await;
        if candidates.is_empty() {
            return Err(unavailable(
                "no GPU adapter found (no Vulkan, Metal or DX12 driver is installed)",
            ));
        }
        let adapter = candidates
            .into_iter()
            .filter_map(|a| rank(a.get_info().device_type, allow_software).map(|r| (r, a)))
            .min_by_key(|(r, _)| *r)
            .map(|(_, a)| a)
            .ok_or_else(|| {
                unavailable(format!(
                    "only software (CPU-type) adapters found, e.g. lavapipe; they are not GPUs. \
                     Set {ALLOW_SOFTWARE_ENV}=1 to run the GPU kernels on one anyway"
                ))
            })?;
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
        // Shader modules and pipelines.
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mulhilo = if int64 {
            MULHILO_INT64_WGSL
        } else {
            MULHILO_16BIT_WGSL
        };
        let price = Self::kernel(&device, mulhilo, "price", PRICE_WGSL, "price");
        let scenario = Self::kernel(&device, mulhilo, "var", VAR_WGSL, "scenario");
        let check = Self::kernel(&device, mulhilo, "philox_check", CHECK_WGSL, "check");
        let check_16bit = Self::kernel(
            &device,
            MULHILO_16BIT_WGSL,
            "philox_check_16bit",
            CHECK_WGSL,
            "check",
        );
        if let Some(error) = scope.pop().await {
            return Err(BackendError::Failed {
                backend: "gpu",
                reason: format!("the WGSL kernels did not compile on {}: {error}", info.name),
            });
        }
        Ok(Self {
            adapter: AdapterSummary::of(&info),
            limits,
            device,
            queue,
            price,
            scenario,
            check,
            check_16bit,
            int64,
            setup_s: start.elapsed().as_secs_f64(),
            uncaptured,
        })
    }

    fn kernel(
        device: &wgpu::Device,
        mulhilo: &str,
        label: &str,
        source: &str,
        entry: &str,
    ) -> Kernel {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(format!("{mulhilo}\n{COMMON_WGSL}\n{source}").into()),
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

    /// An error wgpu reported outside a scope since the last call, if any.
    pub fn take_uncaptured(&self) -> Option<String> {
        self.uncaptured.lock().ok().and_then(|mut slot| slot.take())
    }
}
