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
    /// The best instruction set the SIMD kernels run here ([`Isa::best`]).
    pub simd: Isa,
    /// Every instruction set the SIMD kernels can run here, lowest first.
    pub simd_supported: Vec<Isa>,
}

/// An instruction set the SIMD and rayon tiers' kernels are compiled for.
/// One binary carries a kernel for each of its target's sets and picks one
/// at run time ([`Isa::best`]), so a build for plain x86-64 still runs
/// AVX-512 where the CPU has it. [`crate::RunOptions::simd`] can ask for a
/// lower one, for tests and comparisons.
///
/// AVX-512 and AVX2+FMA give the same bits (the same fused operations in
/// the same order, four lanes or eight at a time); SSE2 and the portable set
/// round `mul_add` twice and agree with them to about 1e-15 relative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isa {
    /// Plain Rust, vectorised by the compiler for the target's baseline;
    /// targets other than x86-64 and aarch64.
    Portable,
    /// x86-64's baseline (SSE2): two lanes per instruction, no fused
    /// multiply-add.
    Sse2,
    /// AVX2 with FMA (x86-64-v3): four lanes per instruction, fused.
    Avx2,
    /// AVX-512 F/BW/CD/DQ/VL (x86-64-v4): eight lanes (one `f64x8`) per
    /// instruction, fused.
    Avx512,
    /// aarch64's NEON (always present there): two lanes, fused.
    Neon,
}

crate::error::named_choices!(Isa, "simd", [
    Isa::Portable => "portable",
    Isa::Sse2 => "sse2",
    Isa::Avx2 => "avx2",
    Isa::Avx512 => "avx512",
    Isa::Neon => "neon",
]);

impl Isa {
    /// The sets this build carries kernels for, lowest first. The
    /// crate's own unit-test and fuzzing builds carry the baseline set alone
    /// (`src/backend/vector/mod.rs`): every set's kernel is tested through
    /// the library as users build it (`tests/tiers.rs`).
    pub const fn compiled() -> &'static [Isa] {
        if cfg!(all(target_arch = "x86_64", any(test, fuzzing))) {
            &[Isa::Sse2]
        } else if cfg!(target_arch = "x86_64") {
            &[Isa::Sse2, Isa::Avx2, Isa::Avx512]
        } else if cfg!(target_arch = "aarch64") {
            &[Isa::Neon]
        } else {
            &[Isa::Portable]
        }
    }

    /// Whether this CPU runs the set (and this build carries it).
    pub fn is_supported(self) -> bool {
        Self::compiled().contains(&self) && self.cpu_runs()
    }

    /// Whether this CPU has the set's instructions (whether or not this
    /// build carries kernels for it).
    pub(crate) fn cpu_runs(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Isa::Avx512 => {
                    std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512bw")
                        && std::arch::is_x86_feature_detected!("avx512cd")
                        && std::arch::is_x86_feature_detected!("avx512dq")
                        && std::arch::is_x86_feature_detected!("avx512vl")
                        && Isa::Avx2.cpu_runs()
                }
                Isa::Avx2 => {
                    std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("fma")
                        && std::arch::is_x86_feature_detected!("bmi1")
                        && std::arch::is_x86_feature_detected!("bmi2")
                        && std::arch::is_x86_feature_detected!("lzcnt")
                        && std::arch::is_x86_feature_detected!("popcnt")
                }
                _ => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            true
        }
    }

    /// The sets this CPU runs, lowest first.
    pub fn supported() -> Vec<Isa> {
        Self::compiled()
            .iter()
            .copied()
            .filter(|isa| isa.is_supported())
            .collect()
    }

    /// The best set this CPU runs, detected once per process.
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            // The baseline set (first compiled) always runs.
            Self::supported()
                .last()
                .copied()
                .unwrap_or(Self::compiled()[0])
        })
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
            simd: Isa::best(),
            simd_supported: Isa::supported(),
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
