// Philox4x32-10 with quantmc's stream layout (see src/rng/mod.rs): draw block
// `block` of (substream, index) under key [seed lo, seed hi] is the block of
// counter [block, substream, index lo, index hi]. Identical to the CPU's bit
// for bit. `mulhilo` comes from mulhilo_int64.wgsl or mulhilo_16bit.wgsl; the
// PHILOX_* constants are generated from src/rng/philox.rs.

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

// The ten rounds written out: NVIDIA's Vulkan compiler kept the loop form
// as a loop, and the written-out rounds ran at twice its speed on an H200
// (examples/gpu_baseline.rs: Philox alone 2.2e11 against 4.0e11 streams/s).
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let weyl = vec2<u32>(PHILOX_W0, PHILOX_W1);
    var k = key;
    var c = philox_round(counter, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    c = philox_round(c, k);
    k += weyl;
    return philox_round(c, k);
}

// 64-bit stream index as (lo, hi): `base + offset` with the carry.
fn stream_index(base: vec2<u32>, offset: u32) -> vec2<u32> {
    let lo = base.x + offset;
    return vec2<u32>(lo, base.y + select(0u, 1u, lo < base.x));
}

fn stream_block(block: u32, substream: u32, index: vec2<u32>, key: vec2<u32>) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(block, substream, index.x, index.y), key);
}
