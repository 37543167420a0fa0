// Randomized QMC normals in f32, from the layout of src/rng/qmc.rs: the
// natural-order Sobol point from the direction numbers, Burley's hash-based
// Owen scrambling, then Wichura's AS241 inverse normal CDF (its f64
// coefficients, generated from Rust, evaluated in f32). The tables live in
// `qmc` (the pricing module binds it): directions first (32 words per
// dimension), then each replicate's scrambles, then the bridge.

// The Sobol coordinate of point `index` in dimension `d`.
fn sobol(d: u32, index: u32) -> u32 {
    var bits = index;
    var x = 0u;
    while (bits != 0u) {
        x ^= qmc[d * 32u + countTrailingZeros(bits)];
        bits &= bits - 1u;
    }
    return x;
}

fn owen_scramble(x: vec2<u32>, seed: u32) -> vec2<u32> {
    var v = reverseBits(x) + vec2<u32>(seed);
    v ^= v * 0x6c50b47cu;
    v ^= v * 0xb82f1e52u;
    v ^= v * 0xc7afe638u;
    v ^= v * 0x8d22f6e6u;
    return reverseBits(v);
}

fn as241(c: array<f32, 8>, x: vec2<f32>) -> vec2<f32> {
    var acc = vec2<f32>(c[7]);
    for (var i = 6; i >= 0; i--) {
        acc = acc * x + c[i];
    }
    return acc;
}

// Phi^-1(u) of u = (y + 1/2) 2^-32, with u - 1/2 and min(u, 1 - u) formed
// from the integers, so neither loses the precision that 1 - u would in f32.
fn inverse_normal(y: vec2<u32>) -> vec2<f32> {
    let centred = (vec2<f32>(bitcast<vec2<i32>>(y ^ vec2<u32>(0x80000000u))) + 0.5) * 2.3283064365386963e-10;
    let tail_p = (vec2<f32>(min(y, ~y)) + 0.5) * 2.3283064365386963e-10;
    let r = 0.180625 - centred * centred;
    let central = centred * as241(AS241_A, r) / as241(AS241_B, r);
    let t = sqrt(-log(tail_p));
    let near = as241(AS241_C, t - 1.6) / as241(AS241_D, t - 1.6);
    let far = as241(AS241_E, t - 5.0) / as241(AS241_F, t - 5.0);
    var tail = select(near, far, t > vec2<f32>(5.0));
    tail = select(tail, -tail, centred < vec2<f32>(0.0));
    return select(central, tail, abs(centred) > vec2<f32>(0.425));
}

// The normals of dimension `d` of points `point` (even) and `point + 1`,
// scrambled by `scramble`: the two differ only in index bit 0.
fn qmc_normal_pair(point: u32, d: u32, scramble: u32) -> vec2<f32> {
    let x = sobol(d, point);
    let pair = vec2<u32>(x, x ^ qmc[d * 32u]);
    return inverse_normal(owen_scramble(pair, scramble));
}
