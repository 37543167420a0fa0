//! Eight-lane building blocks of the SIMD kernels: Philox on eight counters,
//! uniforms, Box-Muller, a lean `exp` and `ln`, in several lane sets. Each
//! set's math and Philox are checked against their scalar twins in
//! [`crate::rng`] and `std`, compiled for the set's instruction set, by this
//! module's tests.
//!
//! # Run-time dispatch
//!
//! One binary carries the vector kernel once per instruction set of its
//! target and picks one at start-up ([`Isa::best`], or the one
//! `RunOptions::simd` asks for). A lane set is the types `f64x8`, `u32x8`
//! and `u64x8` with the same methods, and the math and Philox compiled over
//! them (`lanes/math.rs` and `philox.rs`, one source included by every set):
//!
//! - `avx512`: an `f64x8` is one `__m512d`; AVX-512 F/DQ intrinsics, the
//!   AVX2 set's integer lanes;
//! - `avx2`: two `__m256d` and AVX2/FMA intrinsics;
//! - `sse2`: four `__m128d`, no fused multiply-add (x86-64's baseline);
//! - [`fused`] and [`unfused`]: plain arrays with lane-by-lane loops, left
//!   to LLVM's vectoriser (NEON on aarch64 and the portable fallback on
//!   other targets); public, as the portable reference of the lane API.
//!
//! The intrinsic sets are `pub(crate)`: their values must only be made
//! inside code compiled for their set, which the kernel's `Target` tokens
//! guarantee (a token is made only where the CPU has the set, and
//! `Target::run` enters a `#[target_feature]` function). Intrinsics are
//! used rather than plain arrays on x86-64 because LLVM's SLP vectoriser,
//! given the fully inlined kernel on `[f64; 8]`, took five times as long to
//! compile and produced code 1.7x (AVX-512) to 4.6x (AVX2) slower than the
//! intrinsics (DESIGN.md).

/// Marks one of a lane set's large functions (Philox's rounds, `exp`, `ln`,
/// the sine/cosine, the inverse normal) `#[inline(always)]`: for the sets
/// run inside a `#[target_feature]` function (`Target`), whose lane code
/// must be inlined there to be compiled for the set.
macro_rules! lane_fn_inlined {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => {
        $(#[$meta])* #[inline(always)] $vis fn $($rest)*
    };
}

/// Marks one of a lane set's large functions `#[inline(never)]`: for the
/// sets the `Baseline` target runs, whose code is compiled for the baseline
/// wherever it sits. Kept out of line, each is compiled once instead of in
/// every product's kernel: SSE2's four registers per `f64x8` made the
/// fully inlined kernels take most of a release build (DESIGN.md).
macro_rules! lane_fn_out_of_line {
    ($(#[$meta:meta])* $vis:vis fn $($rest:tt)*) => {
        $(#[$meta])* #[inline(never)] $vis fn $($rest)*
    };
}

#[allow(unused_imports)]
pub(crate) use {lane_fn_inlined, lane_fn_out_of_line};

// The unit-test build carries the SSE2 kernel alone (`Isa::compiled`): the
// AVX sets' kernel-only helpers go unused there.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(test, allow(dead_code))]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
#[cfg_attr(test, allow(dead_code))]
pub(crate) mod avx512;
pub mod fused;
mod ints;
#[cfg(target_arch = "x86_64")]
pub(crate) mod sse2;
pub mod unfused;

pub use crate::hardware::Isa;
pub use fused::{LANE_STREAM, LANES, RoundKeys, StreamGroup, Streams, philox_x8};
pub use fused::{
    box_muller_x8, exp, f64x8, inverse_normal_x8, ln, normals_x8, sin_cos_turn, uniform_x8,
};
pub(crate) use ints::lanes8;
pub use ints::{u32x8, u64x8};

/// Work a kernel hands to a [`Target`]: its body, inlined into the
/// target's function so that it is compiled for the target's instruction
/// set. `run` must be `#[inline(always)]`, and so must everything it calls
/// in its hot loops (a call that is not inlined runs baseline code).
pub(crate) trait Task {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

/// Proof that the CPU runs an instruction set, and the way into code
/// compiled for it. Each token is made only by `detect`, which checks the CPU.
pub(crate) trait Target: Copy + Send + Sync + std::fmt::Debug + 'static {
    /// The set.
    const ISA: Isa;
    /// Runs `task` compiled for the set.
    fn run<T: Task>(self, task: T) -> T::Output;
}

/// Declares a target token whose `run` enters a `#[target_feature]`
/// function.
macro_rules! target {
    ($(#[$doc:meta])* $name:ident, $isa:expr, $arch:literal, $features:literal) => {
        $(#[$doc])*
        #[cfg(target_arch = $arch)]
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct $name(());

        #[cfg(target_arch = $arch)]
        impl $name {
            /// The token, where the CPU runs the set.
            pub fn detect() -> Option<Self> {
                $isa.cpu_runs().then_some(Self(()))
            }
        }

        #[cfg(target_arch = $arch)]
        impl Target for $name {
            const ISA: Isa = $isa;
            #[inline(always)]
            fn run<T: Task>(self, task: T) -> T::Output {
                #[target_feature(enable = $features)]
                fn compiled<T: Task>(task: T) -> T::Output {
                    task.run()
                }
                // SAFETY: the token exists only where `detect` found every
                // feature `compiled` is built with on this CPU.
                unsafe { compiled(task) }
            }
        }
    };
}

target!(
    /// AVX-512 F/BW/CD/DQ/VL with the AVX2 set below.
    Avx512, Isa::Avx512, "x86_64",
    "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt"
);
target!(
    /// AVX2, FMA, BMI1/2, LZCNT and POPCNT (x86-64-v3).
    Avx2, Isa::Avx2, "x86_64", "avx2,fma,bmi1,bmi2,lzcnt,popcnt"
);

/// The target's baseline set (SSE2 on x86-64, NEON on aarch64, portable
/// code elsewhere): every CPU of the target runs it, so no `target_feature`
/// function is needed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Baseline(());

impl Baseline {
    /// The token (always available).
    pub fn detect() -> Option<Self> {
        Some(Self(()))
    }
}

impl Target for Baseline {
    const ISA: Isa = Isa::compiled()[0];
    #[inline(always)]
    fn run<T: Task>(self, task: T) -> T::Output {
        task.run()
    }
}

/// [`std::array::from_fn`], always inlined. The kernels build their small
/// arrays of lanes with this rather than `std`'s, whose helper LLVM does
/// not always inline: a helper left out of line is compiled for the
/// baseline instruction set, not the kernel's (`Task`).
#[inline(always)]
pub fn array_from_fn<T, const N: usize>(mut element: impl FnMut(usize) -> T) -> [T; N] {
    let mut out = [const { std::mem::MaybeUninit::<T>::uninit() }; N];
    for (index, slot) in out.iter_mut().enumerate() {
        slot.write(element(index));
    }
    // SAFETY: the loop wrote every one of the N slots (had `element`
    // panicked, `out` would be dropped as `MaybeUninit`s, leaking the
    // written elements, never reading the others), and `[MaybeUninit<T>; N]`
    // has the layout of `[T; N]`.
    unsafe { std::mem::transmute_copy(&out) }
}

/// `array.map(f)`, always inlined (see [`array_from_fn`]).
#[inline(always)]
pub fn array_map<T, U, const N: usize>(array: [T; N], mut f: impl FnMut(T) -> U) -> [U; N] {
    let mut out = [const { std::mem::MaybeUninit::<U>::uninit() }; N];
    for (slot, item) in out.iter_mut().zip(array) {
        slot.write(f(item));
    }
    // SAFETY: as in `array_from_fn`: the N items filled the N slots.
    unsafe { std::mem::transmute_copy(&out) }
}

#[cfg(test)]
mod tests;
