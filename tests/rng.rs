//! Philox4x32-10 against the published known-answer vectors, the `rand_core`
//! integration, and the statistics of the normals.

use quantmc::rng::{
    Philox4x32, SUBSTREAM_NORMALS, box_muller, chi_square, fill_normals, normal_pair, path_normal,
    philox4x32_10, seed_key, stream_counter, uniform,
};
use rand::RngExt;
use rand_core::{Rng, SeedableRng};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

fn hex(word: &str) -> u32 {
    u32::from_str_radix(word, 16).expect("hex word")
}

/// Random123's kat_vectors for philox4x32-10 (copied from shared/reference).
fn known_answers() -> Vec<([u32; 4], [u32; 2], [u32; 4])> {
    include_str!("data/philox4x32_10_kat.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let w: Vec<u32> = line.split_whitespace().map(hex).collect();
            assert_eq!(w.len(), 10, "malformed KAT line: {line}");
            (
                [w[0], w[1], w[2], w[3]],
                [w[4], w[5]],
                [w[6], w[7], w[8], w[9]],
            )
        })
        .collect()
}

#[test]
fn philox_matches_random123_known_answers() {
    let vectors = known_answers();
    assert_eq!(vectors.len(), 3);
    for (counter, key, expected) in vectors {
        assert_eq!(
            philox4x32_10(counter, key),
            expected,
            "counter {counter:08x?}"
        );
    }
}

#[test]
fn sequential_generator_walks_the_stream_layout() {
    let seed = 0x0123_4567_89ab_cdef;
    let mut rng = Philox4x32::for_stream(seed, SUBSTREAM_NORMALS, 7);
    for block in 0..5 {
        let expected = philox4x32_10(stream_counter(block, SUBSTREAM_NORMALS, 7), seed_key(seed));
        let got = [
            rng.next_u32(),
            rng.next_u32(),
            rng.next_u32(),
            rng.next_u32(),
        ];
        assert_eq!(got, expected, "block {block}");
    }
    // next_u64 is low word first, which is how the layout builds uniforms.
    let mut rng = Philox4x32::for_stream(seed, SUBSTREAM_NORMALS, 7);
    let [w0, w1, w2, w3] = philox4x32_10(stream_counter(0, SUBSTREAM_NORMALS, 7), seed_key(seed));
    assert_eq!(rng.next_u64(), (u64::from(w1) << 32) | u64::from(w0));
    assert_eq!(rng.next_u64(), (u64::from(w3) << 32) | u64::from(w2));
}

#[test]
fn counter_carries_across_words() {
    let mut rng = Philox4x32::new([u32::MAX, 5, 0, 0], [1, 2]);
    let mut buf = [0u8; 16];
    rng.fill_bytes(&mut buf);
    assert_eq!(rng.counter(), [0, 6, 0, 0]);
}

#[test]
fn seedable_and_usable_with_rand_distr() {
    let mut a = Philox4x32::seed_from_u64(99);
    let mut b = Philox4x32::from_seed(99u64.to_le_bytes());
    assert_eq!(a, b);
    let xs: Vec<f64> = (0..1000)
        .map(|_| a.sample(rand_distr::StandardNormal))
        .collect();
    let ys: Vec<f64> = (0..1000)
        .map(|_| b.sample(rand_distr::StandardNormal))
        .collect();
    assert_eq!(xs, ys);
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    assert!(mean.abs() < 0.15, "mean {mean}");
    let u: f64 = a.random();
    assert!((0.0..1.0).contains(&u));
}

#[test]
fn uniforms_are_strictly_inside_the_unit_interval() {
    assert_eq!(uniform(0, 0), 2f64.powi(-53));
    assert_eq!(uniform(u32::MAX, u32::MAX), 1.0 - 2f64.powi(-53));
    assert!(uniform(u32::MAX, u32::MAX) < 1.0);
    // The bit trick the SIMD tier uses gives the same value.
    for (lo, hi) in [
        (0, 0),
        (u32::MAX, u32::MAX),
        (12345, 0x8000_0000),
        (0xdead_beef, 7),
    ] {
        let x = ((u64::from(hi) << 32) | u64::from(lo)) >> 12;
        let trick = f64::from_bits(0x3FF0_0000_0000_0000 | x) - 1.0 + 2f64.powi(-53);
        assert_eq!(trick, uniform(lo, hi));
    }
}

/// Kolmogorov-Smirnov statistic of `sample` against `cdf`.
fn ks_statistic(sample: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    sample.sort_by(f64::total_cmp);
    let n = sample.len() as f64;
    sample
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn normals_have_the_right_moments_and_distribution() {
    let n_index = 100_000u64;
    let mut sample = Vec::with_capacity(2 * n_index as usize);
    for index in 0..n_index {
        let (z0, z1) = normal_pair(42, SUBSTREAM_NORMALS, index, 3);
        sample.extend([z0, z1]);
    }
    let n = sample.len() as f64;
    let mean = sample.iter().sum::<f64>() / n;
    let var = sample.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let kurtosis = sample.iter().map(|z| z.powi(4)).sum::<f64>() / n;
    println!("mean {mean:.5}, variance {var:.5}, fourth moment {kurtosis:.4}");
    assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "variance {var}");
    assert!(
        (kurtosis - 3.0).abs() < 4.0 * (96.0 / n).sqrt(),
        "fourth moment {kurtosis}"
    );

    // Kolmogorov-Smirnov at the 0.1% level: critical value 1.949 / sqrt(n).
    let normal = Normal::standard();
    let d = ks_statistic(&mut sample, |x| normal.cdf(x));
    println!("KS statistic {d:.5}, critical {:.5}", 1.949 / n.sqrt());
    assert!(d < 1.949 / n.sqrt(), "KS statistic {d}");
}

#[test]
fn sine_and_cosine_halves_are_uncorrelated() {
    let n = 100_000;
    let mut buf = [0.0; 2];
    let mut product = 0.0;
    for index in 0..n {
        fill_normals(7, SUBSTREAM_NORMALS, index, &mut buf);
        product += buf[0] * buf[1];
    }
    let correlation = product / n as f64;
    assert!(correlation.abs() < 4.0 / (n as f64).sqrt(), "{correlation}");
}

#[test]
fn pricing_samples_read_the_halves_of_their_streams_blocks() {
    let seed = 0xdead_beef_0bad_cafe;
    for sample in [0u64, 1, 2, 3, 16_385, (1 << 33) + 1] {
        for step in [0u32, 1, 5, 63] {
            let [w0, w1, w2, w3] = philox4x32_10(
                stream_counter(step, SUBSTREAM_NORMALS, sample / 2),
                seed_key(seed),
            );
            let (cosine, sine) = box_muller(uniform(w0, w1), uniform(w2, w3));
            let expected = if sample % 2 == 0 { cosine } else { sine };
            assert_eq!(
                path_normal(seed, sample, step).to_bits(),
                expected.to_bits(),
                "sample {sample} step {step}"
            );
        }
    }
}

#[test]
fn streams_of_neighbouring_paths_and_seeds_differ() {
    let a = normal_pair(1, SUBSTREAM_NORMALS, 0, 0);
    assert_ne!(a, normal_pair(1, SUBSTREAM_NORMALS, 1, 0));
    assert_ne!(a, normal_pair(2, SUBSTREAM_NORMALS, 0, 0));
    assert_ne!(a, normal_pair(1, SUBSTREAM_NORMALS + 1, 0, 0));
    assert_ne!(a, normal_pair(1, SUBSTREAM_NORMALS, 0, 1));
}

#[test]
fn chi_square_draws_follow_the_distribution() {
    for dof in [2.5, 5.0, 30.0] {
        let mut sample: Vec<f64> = (0..50_000).map(|i| chi_square(11, i, dof)).collect();
        let n = sample.len() as f64;
        let mean = sample.iter().sum::<f64>() / n;
        assert!(
            (mean - dof).abs() < 4.0 * (2.0 * dof / n).sqrt(),
            "dof {dof}: mean {mean}"
        );
        let law = ChiSquared::new(dof).unwrap();
        let d = ks_statistic(&mut sample, |x| law.cdf(x));
        assert!(d < 1.949 / n.sqrt(), "dof {dof}: KS statistic {d}");
    }
}
