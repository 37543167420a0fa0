//! What this machine offers: detected once per process, cheaply.

use std::sync::OnceLock;

use serde::Serialize;

/// The CPU as the tiers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hardware {
    /// Marketing name of the processor, or "unknown".
    pub cpu_model: String,
    /// Logical cores the process may use.
    pub logical_cores: usize,
    /// Physical cores, where the OS reports them.
    pub physical_cores: Option<usize>,
    /// The SIMD instruction set the SIMD kernels were compiled for.
    pub simd: &'static str,
}

/// The instruction set `wide` compiles the SIMD kernels to in this build. `wide`
/// picks instructions at compile time, so this is a property of the binary
/// (see `.cargo/config.toml`), not of the host.
pub const fn compiled_simd() -> &'static str {
    if cfg!(target_feature = "avx512f") {
        "avx512f"
    } else if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
        "avx2+fma"
    } else if cfg!(target_feature = "avx") {
        "avx"
    } else if cfg!(target_feature = "sse4.1") {
        "sse4.1"
    } else if cfg!(target_feature = "sse2") {
        "sse2"
    } else if cfg!(target_feature = "neon") {
        "neon"
    } else {
        "none (portable fallback)"
    }
}

/// The machine's CPU, detected on first use and cached for the process.
pub fn detect() -> &'static Hardware {
    static HARDWARE: OnceLock<Hardware> = OnceLock::new();
    HARDWARE.get_or_init(|| {
        use sysinfo::{CpuRefreshKind, RefreshKind, System};
        let system =
            System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()))
                .ok();
        let cpu_model = system
            .as_ref()
            .and_then(|s| s.cpus().first())
            .map(|cpu| cpu.brand().trim().to_string())
            .filter(|brand| !brand.is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        Hardware {
            cpu_model,
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            physical_cores: System::physical_core_count().ok(),
            simd: compiled_simd(),
        }
    })
}

/// The kind of GPU adapter the machine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuClass {
    /// A discrete card.
    Discrete,
    /// A GPU sharing the CPU's memory.
    Integrated,
    /// Virtual or unknown hardware.
    Other,
    /// A CPU-type adapter such as lavapipe: never chosen by Auto.
    Software,
}
