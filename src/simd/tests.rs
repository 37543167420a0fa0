//! Every lane set's math and Philox against `std` and the scalar generator,
//! over 10^7 arguments each across the ranges the kernels use, run compiled
//! for the set's instruction set (as the kernels run it). A set this CPU
//! does not run is skipped, saying so.

#[cfg(target_arch = "x86_64")]
use super::{Avx2, Avx512};
use super::{Baseline, LANES, Target, Task};
use crate::rng::{SUBSTREAM_NORMALS, philox4x32_10, seed_key, stream_counter, uniform};

const ARGUMENTS: usize = 10_000_000;

/// Arguments from the Philox uniforms, mapped by `map`.
fn arguments(seed: u64, map: impl Fn(f64) -> f64) -> impl Iterator<Item = [f64; LANES]> {
    (0..(ARGUMENTS / LANES) as u64).map(move |group| {
        std::array::from_fn(|lane| {
            let [w0, w1, _, _] = philox4x32_10(
                stream_counter(0, 9, group * LANES as u64 + lane as u64),
                seed_key(seed),
            );
            map(uniform(w0, w1))
        })
    })
}

/// Largest relative error of `fast` against `exact` over the arguments, with
/// `floor` as the smallest magnitude the error is measured relative to.
fn max_relative_error(
    args: impl Iterator<Item = [f64; LANES]>,
    fast: impl Fn([f64; LANES]) -> [f64; LANES],
    exact: impl Fn(f64) -> f64,
    floor: f64,
) -> f64 {
    let mut worst: f64 = 0.0;
    for xs in args {
        let got = fast(xs);
        for (x, g) in xs.iter().zip(got) {
            let e = exact(*x);
            worst = worst.max((g - e).abs() / e.abs().max(floor));
        }
    }
    worst
}

const EPS: f64 = f64::EPSILON;

/// A test body as a [`Task`], so that it runs compiled for a target.
struct Body<F>(F);

impl<F: FnOnce()> Task for Body<F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        (self.0)()
    }
}

/// Runs `body` compiled for `target`'s instruction set, or says it skipped
/// where this CPU does not run the set.
fn on<T: Target>(target: Option<T>, body: impl FnOnce()) {
    match target {
        Some(target) => target.run(Body(body)),
        None => eprintln!("skipped: this CPU does not run the set"),
    }
}

/// One module of tests per lane set, run by the set's target token.
macro_rules! lane_set_tests {
    ($($(#[$attr:meta])* $set:ident => $target:expr;)+) => {$(
    $(#[$attr])*
    mod $set {
        use super::*;
        use crate::simd::$set::{
            LANE_STREAM, RoundKeys, StreamGroup, Streams, exp, f64x8, philox_x8,
            sin_cos_turn, u32x8, uniform_x8,
        };

        #[test]
        fn ln_is_accurate_over_the_uniforms_range() {
            on($target, || {
                // ln u for u in (0, 1), including the smallest uniforms 2^-53 .. 2^-20.
                let wide_range = arguments(1, |u| u);
                let tiny = arguments(2, |u| u * 1e-6);
                let err = max_relative_error(
                    wide_range.chain(tiny),
                    |x| f64x8::new(x).ln().to_array(),
                    f64::ln,
                    f64::MIN_POSITIVE,
                );
                println!("ln: max relative error {err:.3e} ({:.2} eps)", err / EPS);
                assert!(err < 4.0 * EPS, "{err}");
            });
        }

        #[test]
        fn sqrt_is_correctly_rounded() {
            on($target, || {
                let err = max_relative_error(arguments(3, |u| 80.0 * u), |x| f64x8::new(x).sqrt().to_array(), f64::sqrt, 0.0);
                println!("sqrt: max relative error {err:.3e}");
                assert_eq!(err, 0.0);
            });
        }

        #[test]
        fn sin_and_cos_are_accurate_over_a_turn() {
            on($target, || {
                let tau = std::f64::consts::TAU;
                // Absolute error (relative to max(|value|, 1)): near the zero crossings a
                // relative error measures only the rounding of std's own argument fl(2 pi u),
                // up to 4.4e-16, which sin_cos_turn avoids by reducing u exactly.
                let floor = 1.0;
                // The kernels take the turn u and need sin and cos of 2 pi u.
                let sin_err = max_relative_error(
                    arguments(4, |u| u),
                    |u| sin_cos_turn(f64x8::new(u)).0.to_array(),
                    |u| (tau * u).sin(),
                    floor,
                );
                let cos_err = max_relative_error(
                    arguments(5, |u| u),
                    |u| sin_cos_turn(f64x8::new(u)).1.to_array(),
                    |u| (tau * u).cos(),
                    floor,
                );
                println!(
                    "sin: {sin_err:.3e} ({:.2} eps), cos: {cos_err:.3e} ({:.2} eps) max absolute error",
                    sin_err / EPS,
                    cos_err / EPS
                );
                assert!(sin_err < 4.0 * EPS && cos_err < 4.0 * EPS);
            });
        }

        #[test]
        fn exp_is_accurate_over_log_prices() {
            on($target, || {
                // Log prices and their increments: -40 .. 40 covers any sane spot and path.
                let err = max_relative_error(
                    arguments(6, |u| 80.0 * u - 40.0),
                    |x| f64x8::new(x).exp().to_array(),
                    f64::exp,
                    0.0,
                );
                println!("exp: max relative error {err:.3e} ({:.2} eps)", err / EPS);
                assert!(err < 4.0 * EPS, "{err}");
            });
        }

        #[test]
        fn exp_handles_the_ends_of_its_range() {
            on($target, || {
                let x = f64x8::new([709.5, 709.78, 710.0, 1e6, -708.0, -709.0, 0.0, 1.0]);
                let got = exp(x).to_array();
                for (i, &x) in x.to_array().iter().enumerate().take(2) {
                    assert!(
                        (got[i] / x.exp() - 1.0).abs() < 1e-13,
                        "exp({x}) = {}",
                        got[i]
                    );
                }
                assert_eq!(got[2], f64::INFINITY);
                assert_eq!(got[3], f64::INFINITY);
                assert!((got[4] / (-708.0f64).exp() - 1.0).abs() < 1e-13);
                // Below e^-708.39 std returns subnormals; the kernels' exp returns 0.
                assert_eq!(got[5], 0.0);
                assert_eq!(got[6], 1.0);
                assert!((got[7] - std::f64::consts::E).abs() <= f64::EPSILON * 3.0);
            });
        }

        #[test]
        fn ln_handles_zero_subnormals_negatives_and_infinities() {
            on($target, || {
                let x = f64x8::new([0.0, 1e-310, -1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.0, 1e300]);
                let got = x.ln().to_array();
                assert_eq!(got[0], f64::NEG_INFINITY);
                assert_eq!(got[1], f64::NEG_INFINITY);
                assert!(got[2].is_nan() && got[4].is_nan() && got[5].is_nan());
                assert_eq!(got[3], f64::INFINITY);
                assert_eq!(got[6], 0.0);
                assert!((got[7] / 1e300f64.ln() - 1.0).abs() < 4.0 * EPS);
            });
        }

        #[test]
        fn philox_and_uniforms_match_the_scalar_generator_bit_for_bit() {
            on($target, || {
                for (seed, first) in [
                    (0u64, 0u64),
                    (42, 1_000),
                    (u64::MAX, (1 << 32) - 3),
                    (7, u64::MAX - 20),
                ] {
                    let keys = RoundKeys::for_seed(seed);
                    let group = StreamGroup::new(&keys, first);
                    for block in [0u32, 1, 31] {
                        let words = group.block(block, SUBSTREAM_NORMALS).map(u32x8::to_array);
                        let u1 = uniform_x8(u32x8::new(words[0]), u32x8::new(words[1])).to_array();
                        let lanes = (0..LANES).map(|lane| words.map(|word| word[lane]));
                        for (lane, got) in lanes.enumerate() {
                            // Word lanes carry streams in LANE_STREAM order...
                            let index = first.wrapping_add(LANE_STREAM[lane] as u64);
                            let expected = philox4x32_10(
                                stream_counter(block, SUBSTREAM_NORMALS, index),
                                seed_key(seed),
                            );
                            assert_eq!(got, expected, "seed {seed} index {index} block {block}");
                        }
                        // ... and the uniforms come out in stream order.
                        for (offset, u) in u1.iter().enumerate() {
                            let index = first.wrapping_add(offset as u64);
                            let [w0, w1, _, _] = philox4x32_10(
                                stream_counter(block, SUBSTREAM_NORMALS, index),
                                seed_key(seed),
                            );
                            assert_eq!(u.to_bits(), uniform(w0, w1).to_bits(), "stream {index}");
                        }
                    }
                }
                // Two groups drawn together (their rounds interleaved), including pairs
                // where one group or the pair straddles a multiple of 2^32.
                for first in [
                    0u64,
                    40,
                    (1 << 32) - 8,
                    (1 << 32) - 11,
                    (1 << 32) - 16,
                    u64::MAX - 30,
                ] {
                    let keys = RoundKeys::for_seed(99);
                    let groups = Streams::<2>::new(&keys, first).blocks(5, SUBSTREAM_NORMALS);
                    for (group, words) in groups.iter().enumerate() {
                        let words = words.map(u32x8::to_array);
                        let lanes = (0..LANES).map(|lane| words.map(|word| word[lane]));
                        for (lane, got) in lanes.enumerate() {
                            let index = first.wrapping_add((group * LANES + LANE_STREAM[lane]) as u64);
                            let expected =
                                philox4x32_10(stream_counter(5, SUBSTREAM_NORMALS, index), seed_key(99));
                            assert_eq!(got, expected, "first {first} group {group} lane {lane}");
                        }
                    }
                }
                // The raw 8-lane function against the published answers, lane by lane.
                let counter = [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344].map(u32x8::splat);
                let keys = RoundKeys::new([0xa409_3822, 0x299f_31d0]);
                let out = philox_x8(counter, &keys).map(u32x8::to_array);
                let expected = [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1];
                let (w0, w1, w2, w3) = (out[0], out[1], out[2], out[3]);
                for got in (0..LANES).map(|lane| [w0[lane], w1[lane], w2[lane], w3[lane]]) {
                    assert_eq!(got, expected);
                }
            });
        }
    }
    )+};
}

lane_set_tests! {
    /// Plain arrays with `mul_add` fused (NEON's set), here compiled for the
    /// baseline (`mul_add` a library call: slow, still exact).
    fused => Baseline::detect();
    /// Plain arrays, `mul_add` a multiply then an add (the portable set).
    unfused => Baseline::detect();
    #[cfg(target_arch = "x86_64")]
    sse2 => Baseline::detect();
    #[cfg(target_arch = "x86_64")]
    avx2 => Avx2::detect();
    #[cfg(target_arch = "x86_64")]
    avx512 => Avx512::detect();
}
