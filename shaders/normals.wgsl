// Uniforms and Box-Muller normals in f32, from the same Philox words as the CPU.

const TAU: f32 = 6.283185307179586;

// The CPU's uniform (x + 1/2) 2^-52, x the top 52 bits of hi:lo, rounded to
// f32: the top 24 bits of x are exact in f32, the next 28 plus the half are
// added as a fraction. Never 0; at most 1.0 (where ln gives 0, still finite).
fn uniform01(lo: u32, hi: u32) -> f32 {
    let whole = f32(hi >> 8u);
    let fraction = (f32(((hi & 0xffu) << 20u) | (lo >> 12u)) + 0.5) * 3.7252902984619140625e-9; // 2^-28
    return (whole + fraction) * 5.9604644775390625e-8; // 2^-24
}

// (sin 2 pi u, cos 2 pi u), reducing u to the nearest quarter turn exactly
// first, as the SIMD tier does, so the device's sin/cos see |x| <= pi/4.
fn sin_cos_turn(u: f32) -> vec2<f32> {
    let quarter = round(u * 4.0);
    let x = (u - quarter * 0.25) * TAU;
    let s = sin(x);
    let c = cos(x);
    // Quarter q turns (sin, cos) into (sin, cos), (cos, -sin), (-sin, -cos)
    // or (-cos, sin): a swap and two signs, selected without branches.
    let q = u32(quarter) & 3u;
    let swap = (q & 1u) != 0u;
    let sine = select(s, c, swap);
    let cosine = select(c, s, swap);
    return vec2<f32>(select(sine, -sine, (q & 2u) != 0u), select(cosine, -cosine, ((q + 1u) & 2u) != 0u));
}

// The two normals (cosine, sine) of one Philox block.
fn normal_pair(words: vec4<u32>) -> vec2<f32> {
    let radius = sqrt(-2.0 * log(uniform01(words.x, words.y)));
    let turn = sin_cos_turn(uniform01(words.z, words.w));
    return radius * vec2<f32>(turn.y, turn.x);
}
