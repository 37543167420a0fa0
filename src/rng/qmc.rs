//! Randomized quasi-Monte Carlo points: Owen-scrambled Sobol points, the
//! inverse normal CDF that maps them to normals, and the Brownian bridge that
//! spends their best dimensions on the largest moves of a path.
//!
//! # QMC layout (the contract every tier implements)
//!
//! A randomized QMC job runs `R` replicates of `n` points each. Point `i`
//! (`0 <= i < 2^32`) of replicate `r`, dimension `d` (`0 <= d <` [`MAX_DIMENSIONS`]):
//!
//! 1. `x = XOR over the set bits k of i of V[d][k]`: the 32-bit Sobol point in
//!    natural (not Gray-code) order, with the direction numbers `V` of Joe and
//!    Kuo (`new-joe-kuo-6.21201`, its first 1024 dimensions; dimension 0 is
//!    van der Corput);
//! 2. `y = reverse(lk(reverse(x), s))`, Burley's hash-based Owen scrambling
//!    ([`owen_scramble`]) with the replicate's scramble `s = scramble(seed, r, d)`:
//!    word `d % 4` of the Philox block `d / 4` of stream `r` of substream
//!    [`SUBSTREAM_QMC`] ([`scrambles`]);
//! 3. `u = (y + 1/2) 2^-32`, never 0 or 1;
//! 4. `z = Phi^-1(u)` ([`inverse_normal`], Wichura's AS241).
//!
//! A path of `N` steps takes dimensions `0 .. N` and builds its Brownian motion
//! at the fixings with the bridge of [`BrownianBridge`]: dimension 0 sets the
//! terminal value, dimension 1 the midpoint, and so on by bisection. Each
//! replicate is an independent, uniformly distributed randomization of the
//! same point set, so its mean is unbiased and the spread of the `R` replicate
//! means gives the error estimate.

// AS241's coefficients and the reference quantiles are written digit for
// digit as published, beyond what f64 keeps.
#![allow(clippy::excessive_precision)]

use std::ops::{Add, Mul, Sub};

use super::{SUBSTREAM_QMC, philox4x32_10, seed_key, stream_counter};

/// Sobol dimensions available: a QMC path takes one per time step.
pub const MAX_DIMENSIONS: u32 = 1024;
/// Largest number of points per replicate (32-bit Sobol indices).
pub const MAX_POINTS: u64 = 1 << 32;

/// Joe and Kuo's primitive polynomials and initial direction numbers for
/// dimensions 2 to 1024 (`s a m_1 .. m_s` per line), from
/// <https://web.maths.unsw.edu.au/~fkuo/sobol/> (new-joe-kuo-6.21201).
const JOE_KUO: &str = include_str!("joe-kuo-6.1024.txt");

/// The 32 direction numbers of every dimension, computed once per process.
pub fn directions() -> &'static [[u32; 32]] {
    static TABLE: std::sync::OnceLock<Vec<[u32; 32]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Vec::with_capacity(MAX_DIMENSIONS as usize);
        table.push(std::array::from_fn(|k| 1u32 << (31 - k)));
        for line in JOE_KUO.lines() {
            let numbers: Vec<u32> = line
                .split_whitespace()
                .map(|n| {
                    n.parse()
                        .expect("the embedded Joe-Kuo table is well formed")
                })
                .collect();
            let (degree, poly, initial) = (numbers[0] as usize, numbers[1], &numbers[2..]);
            let mut v = [0u32; 32];
            for k in 0..32 {
                v[k] = if k < degree {
                    initial[k] << (31 - k)
                } else {
                    let mut value = v[k - degree] ^ (v[k - degree] >> degree);
                    for i in 1..degree {
                        if (poly >> (degree - 1 - i)) & 1 == 1 {
                            value ^= v[k - i];
                        }
                    }
                    value
                };
            }
            table.push(v);
        }
        assert_eq!(table.len(), MAX_DIMENSIONS as usize);
        table
    })
}

/// The unscrambled 32-bit Sobol coordinate of point `index` in a dimension
/// with direction numbers `v`.
#[inline(always)]
pub fn sobol(v: &[u32; 32], index: u32) -> u32 {
    let mut bits = index;
    let mut x = 0;
    while bits != 0 {
        x ^= v[bits.trailing_zeros() as usize];
        bits &= bits - 1;
    }
    x
}

/// Laine and Karras's hash, as tuned by Burley ("Practical Hash-based Owen
/// Scrambling", JCGT 2020): on bit-reversed input it flips each bit by a hash
/// of the bits above it, which is Owen's nested uniform scrambling.
#[inline(always)]
fn laine_karras(mut x: u32, seed: u32) -> u32 {
    x = x.wrapping_add(seed);
    x ^= x.wrapping_mul(0x6c50_b47c);
    x ^= x.wrapping_mul(0xb82f_1e52);
    x ^= x.wrapping_mul(0xc7af_e638);
    x ^= x.wrapping_mul(0x8d22_f6e6);
    x
}

/// Owen-scrambles a 32-bit coordinate with scramble `seed`.
#[inline(always)]
pub fn owen_scramble(x: u32, seed: u32) -> u32 {
    laine_karras(x.reverse_bits(), seed).reverse_bits()
}

/// The uniform of a scrambled coordinate, `(y + 1/2) 2^-32`.
#[inline(always)]
pub fn qmc_uniform(y: u32) -> f64 {
    (f64::from(y) + 0.5) * (1.0 / 4_294_967_296.0)
}

/// The scrambles of replicates `0 .. replicates` for dimensions
/// `0 .. dimensions`, replicate-major: `table[r * dimensions + d]`.
pub fn scrambles(seed: u64, replicates: u32, dimensions: u32) -> Vec<u32> {
    let key = seed_key(seed);
    let mut table = Vec::with_capacity((replicates * dimensions) as usize);
    for replicate in 0..replicates {
        for d in 0..dimensions {
            let words = philox4x32_10(
                stream_counter(d / 4, SUBSTREAM_QMC, u64::from(replicate)),
                key,
            );
            table.push(words[(d % 4) as usize]);
        }
    }
    table
}

/// The standard normal of dimension `d` of point `index` with scramble
/// `scramble`: steps 1 to 4 of the layout.
#[inline(always)]
pub fn qmc_normal(index: u32, d: u32, scramble: u32) -> f64 {
    let x = sobol(&directions()[d as usize], index);
    inverse_normal(qmc_uniform(owen_scramble(x, scramble)))
}

// Wichura's AS241 (PPND16), Applied Statistics 37 (1988): relative accuracy
// about 1e-16. Coefficients lowest order first.
pub(crate) const AS241_A: [f64; 8] = [
    3.387_132_872_796_366_5,
    133.141_667_891_784_38,
    1_971.590_950_306_551_3,
    13_731.693_765_509_461,
    45_921.953_931_549_87,
    67_265.770_927_008_7,
    33_430.575_583_588_13,
    2_509.080_928_730_122_7,
];
pub(crate) const AS241_B: [f64; 8] = [
    1.0,
    42.313_330_701_600_91,
    687.187_007_492_057_9,
    5_394.196_021_424_751,
    21_213.794_301_586_597,
    39_307.895_800_092_71,
    28_729.085_735_721_943,
    5_226.495_278_852_545,
];
pub(crate) const AS241_C: [f64; 8] = [
    1.423_437_110_749_683_5,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    0.241_780_725_177_450_6,
    0.022_723_844_989_269_184,
    7.745_450_142_783_414e-4,
];
pub(crate) const AS241_D: [f64; 8] = [
    1.0,
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    0.689_767_334_985_1,
    0.148_103_976_427_480_08,
    0.015_198_666_563_616_457,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
pub(crate) const AS241_E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    0.296_560_571_828_504_9,
    0.026_532_189_526_576_124,
    0.001_242_660_947_388_078_4,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
pub(crate) const AS241_F: [f64; 8] = [
    1.0,
    0.599_832_206_555_888,
    0.136_929_880_922_735_8,
    0.014_875_361_290_850_615,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_7e-15,
];

#[inline(always)]
fn polynomial(coefficients: &[f64; 8], x: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// `Phi^-1(p)` for `p` in (0, 1), by Wichura's AS241: a rational function of
/// `q = p - 1/2` in the centre (`|q| <= 0.425`), of `r = sqrt(-ln min(p, 1 - p))`
/// in the tails (one for `r <= 5`, one beyond).
pub fn inverse_normal(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * polynomial(&AS241_A, r) / polynomial(&AS241_B, r);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let value = if r <= 5.0 {
        let r = r - 1.6;
        polynomial(&AS241_C, r) / polynomial(&AS241_D, r)
    } else {
        let r = r - 5.0;
        polynomial(&AS241_E, r) / polynomial(&AS241_F, r)
    };
    if q < 0.0 { -value } else { value }
}

/// The Brownian bridge over `N` equally spaced fixings `t_j = j + 1` (in
/// units of the step), after Jäckel's and QuantLib's construction:
/// construction step 0 sets `W(t_N)`, and step `i` sets fixing `index[i]`
/// from its nearest already-set neighbours, `left[i]` (or time 0) and
/// `right[i]`, as `left_weight W(left) + right_weight W(right) + std_dev z_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct BrownianBridge {
    /// The fixing each construction step sets.
    pub index: Vec<u32>,
    /// The fixing to its left plus one (0: time 0, where `W = 0`).
    pub left: Vec<u32>,
    /// The fixing to its right.
    pub right: Vec<u32>,
    /// Weight of the left value.
    pub left_weight: Vec<f64>,
    /// Weight of the right value.
    pub right_weight: Vec<f64>,
    /// Standard deviation of the step's conditional normal.
    pub std_dev: Vec<f64>,
}

impl BrownianBridge {
    /// The bridge over `steps` fixings (`steps >= 1`).
    pub fn new(steps: u32) -> Self {
        let n = steps as usize;
        let time = |j: usize| (j + 1) as f64;
        let mut set = vec![false; n];
        let mut bridge = Self {
            index: vec![0; n],
            left: vec![0; n],
            right: vec![0; n],
            left_weight: vec![0.0; n],
            right_weight: vec![0.0; n],
            std_dev: vec![0.0; n],
        };
        bridge.index[0] = (n - 1) as u32;
        bridge.std_dev[0] = time(n - 1).sqrt();
        set[n - 1] = true;
        let mut j = 0;
        for i in 1..n {
            while set[j] {
                j += 1;
            }
            let mut k = j;
            while !set[k] {
                k += 1;
            }
            let l = j + ((k - 1 - j) >> 1);
            set[l] = true;
            bridge.index[i] = l as u32;
            bridge.left[i] = j as u32;
            bridge.right[i] = k as u32;
            let t_left = if j == 0 { 0.0 } else { time(j - 1) };
            let span = time(k) - t_left;
            bridge.left_weight[i] = (time(k) - time(l)) / span;
            bridge.right_weight[i] = (time(l) - t_left) / span;
            bridge.std_dev[i] = ((time(l) - t_left) * (time(k) - time(l)) / span).sqrt();
            j = k + 1;
            if j >= n {
                j = 0;
            }
        }
        bridge
    }

    /// The increments `W(t_j) - W(t_{j-1})` of the fixings' Brownian values
    /// built from the normals `z` (in construction order), written to `w`,
    /// in any number type `T` (`f64`, or SIMD lanes with `splat`).
    // Always inlined: in the SIMD kernels it must be compiled for their
    // instruction set ([`crate::simd::Task`]).
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // step i reads six tables and two slots of w
    pub fn increments<T>(&self, z: &[T], w: &mut [T], splat: impl Fn(f64) -> T)
    where
        T: Copy + Add<Output = T> + Sub<Output = T> + Mul<Output = T>,
    {
        let n = w.len();
        w[n - 1] = splat(self.std_dev[0]) * z[0];
        for i in 1..n {
            let (l, j, k) = (
                self.index[i] as usize,
                self.left[i] as usize,
                self.right[i] as usize,
            );
            let mut value = splat(self.right_weight[i]) * w[k] + splat(self.std_dev[i]) * z[i];
            if j != 0 {
                value = value + splat(self.left_weight[i]) * w[j - 1];
            }
            w[l] = value;
        }
        for i in (1..n).rev() {
            w[i] = w[i] - w[i - 1];
        }
    }
}

impl BrownianBridge {
    /// The step-major increments of `factors` independent Brownian motions
    /// over the bridge's fixings from one point's normals `z`: dimension
    /// `i factors + f` feeds construction step `i` of factor `f`'s bridge
    /// (so the first `factors` dimensions set every factor's terminal
    /// value), and draw `j factors + f` of `w` is factor `f`'s increment
    /// over step `j`. One factor is [`BrownianBridge::increments`] itself.
    /// `scratch` holds twice the steps.
    #[inline(always)]
    pub fn factor_increments<T>(
        &self,
        factors: usize,
        z: &[T],
        w: &mut [T],
        scratch: &mut [T],
        splat: impl Fn(f64) -> T + Copy,
    ) where
        T: Copy + Add<Output = T> + Sub<Output = T> + Mul<Output = T>,
    {
        if factors == 1 {
            return self.increments(z, w, splat);
        }
        let steps = self.index.len();
        let (normals, increments) = scratch[..2 * steps].split_at_mut(steps);
        for f in 0..factors {
            for (i, normal) in normals.iter_mut().enumerate() {
                *normal = z[i * factors + f];
            }
            self.increments(normals, increments, splat);
            for (j, &increment) in increments.iter().enumerate() {
                w[j * factors + f] = increment;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sobol_points_are_the_textbook_ones() {
        let v = directions();
        let point = |i: u32, d: usize| f64::from(sobol(&v[d], i)) / 4_294_967_296.0;
        // Natural order: dimension 0 is van der Corput, dimension 1 the
        // second Sobol coordinate (0, 1/2, 3/4, 1/4, 5/8, 1/8, ...).
        let first: Vec<f64> = (0..6).map(|i| point(i, 0)).collect();
        assert_eq!(first, [0.0, 0.5, 0.25, 0.75, 0.125, 0.625]);
        let second: Vec<f64> = (0..6).map(|i| point(i, 1)).collect();
        assert_eq!(second, [0.0, 0.5, 0.75, 0.25, 0.625, 0.125]);
    }

    #[test]
    fn every_dimension_is_a_net_in_one_dimension() {
        // The first 2^m points of every dimension hit each interval
        // [k 2^-m, (k + 1) 2^-m) exactly once, before and after scrambling.
        for (d, v) in directions().iter().enumerate() {
            for scramble in [0, 0x9e37_79b9] {
                let mut seen = [false; 256];
                for i in 0..256 {
                    let y = owen_scramble(sobol(v, i), scramble);
                    let cell = (y >> 24) as usize;
                    assert!(!seen[cell], "dimension {d}: cell {cell} hit twice");
                    seen[cell] = true;
                }
            }
        }
    }

    #[test]
    fn pairs_of_dimensions_are_nets_in_two_dimensions() {
        // Dimensions 0 and 1 form a (0, m, 2)-net: 2^10 points put exactly one
        // point in each cell of the 32 x 32 grid.
        let v = directions();
        let mut seen = [false; 1024];
        for i in 0..1024 {
            let a = (sobol(&v[0], i) >> 27) as usize;
            let b = (sobol(&v[1], i) >> 27) as usize;
            assert!(!seen[a * 32 + b]);
            seen[a * 32 + b] = true;
        }
    }

    #[test]
    fn inverse_normal_matches_fifty_digit_values() {
        // Phi^-1(p) to 19 digits, by bisection on mpmath's ncdf at 60 digits.
        let reference = [
            (1e-300, -37.047_096_299_361_199_24),
            (1e-20, -9.262_340_089_798_407_574),
            (1e-10, -6.361_340_902_404_056_205),
            (1e-5, -4.264_890_793_922_824_628),
            (0.01, -2.326_347_874_040_841_101),
            (0.07, -1.475_791_028_179_170_735),
            (0.3, -0.524_400_512_708_040_784),
            (0.6, 0.253_347_103_135_799_798_8),
            (0.925, 1.439_531_470_938_455_915),
            (0.99, 2.326_347_874_040_841_101),
        ];
        for (p, z) in reference {
            let got = inverse_normal(p);
            assert!(
                ((got - z) / z).abs() < 1e-15,
                "p = {p:e}: {got} against {z}"
            );
        }
        assert_eq!(inverse_normal(0.5), 0.0);
        assert_eq!(inverse_normal(0.25), -inverse_normal(0.75));
    }

    #[test]
    fn the_bridge_has_the_covariance_of_brownian_motion() {
        // W = B z is linear in z: its covariance B B^T must be min(t_i, t_j).
        for steps in [1, 2, 3, 7, 64] {
            let bridge = BrownianBridge::new(steps);
            let n = steps as usize;
            let mut columns = Vec::new();
            for unit in 0..n {
                let mut z = vec![0.0; n];
                z[unit] = 1.0;
                let mut w = vec![0.0; n];
                bridge.increments(&z, &mut w, |x| x);
                for i in 1..n {
                    w[i] += w[i - 1];
                }
                columns.push(w);
            }
            for i in 0..n {
                for j in 0..n {
                    let cov: f64 = columns.iter().map(|w| w[i] * w[j]).sum();
                    let expected = (i.min(j) + 1) as f64;
                    assert!(
                        (cov - expected).abs() < 1e-12,
                        "steps {steps}: cov({i},{j}) = {cov}"
                    );
                }
            }
        }
    }
}
