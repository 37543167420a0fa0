// Philox4x32-10 with quantmc's stream layout (see src/rng/mod.rs), identical
// to the CPU's bit for bit. `mulhilo` comes from mulhilo_int64.wgsl or
// mulhilo_16bit.wgsl; the PHILOX_M* constants are generated from
// src/rng/philox.rs.

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

// Draw block `block` of (substream, index): Philox4x32-10 of counter
// [block, substream, index lo, index hi] with the round keys from the host.
// `params.round_keys` (every module that draws carries them: pricing, VaR,
// the check hook) holds round r's key (the seed's key plus r Weyl steps) in
// half r % 2 of vector r / 2 (`round_keys` in src/backend/gpu/shader.rs), so
// each round's key is an operand read from the uniform buffer rather than one
// the device computes: 13% on an H200 (examples/gpu_baseline.rs). The ten
// rounds are written out: NVIDIA's Vulkan compiler kept a loop over them as a
// loop, and the written-out rounds ran at twice its speed on an H200 (Philox
// alone 2.2e11 against 4.0e11 streams/s).
fn keyed_block(block: u32, substream: u32, index: vec2<u32>) -> vec4<u32> {
    var c = philox_round(vec4<u32>(block, substream, index.x, index.y), params.round_keys[0].xy);
    c = philox_round(c, params.round_keys[0].zw);
    c = philox_round(c, params.round_keys[1].xy);
    c = philox_round(c, params.round_keys[1].zw);
    c = philox_round(c, params.round_keys[2].xy);
    c = philox_round(c, params.round_keys[2].zw);
    c = philox_round(c, params.round_keys[3].xy);
    c = philox_round(c, params.round_keys[3].zw);
    c = philox_round(c, params.round_keys[4].xy);
    return philox_round(c, params.round_keys[4].zw);
}

// 64-bit stream index as (lo, hi): `base + offset` with the carry.
fn stream_index(base: vec2<u32>, offset: u32) -> vec2<u32> {
    let lo = base.x + offset;
    return vec2<u32>(lo, base.y + select(0u, 1u, lo < base.x));
}
