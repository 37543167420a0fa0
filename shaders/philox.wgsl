// Philox4x32-10 with quantmc's stream layout (see src/rng/mod.rs): draw block
// `block` of (substream, index) under key [seed lo, seed hi] is the block of
// counter [block, substream, index lo, index hi]. Identical to the CPU's bit
// for bit. `mulhilo` comes from mulhilo_int64.wgsl or mulhilo_16bit.wgsl; the
// PHILOX_* constants are generated from src/rng/philox.rs.

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
        }
        let p0 = mulhilo(PHILOX_M0, c.x);
        let p1 = mulhilo(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// 64-bit stream index as (lo, hi): `base + offset` with the carry.
fn stream_index(base: vec2<u32>, offset: u32) -> vec2<u32> {
    let lo = base.x + offset;
    return vec2<u32>(lo, base.y + select(0u, 1u, lo < base.x));
}

fn stream_block(block: u32, substream: u32, index: vec2<u32>, key: vec2<u32>) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(block, substream, index.x, index.y), key);
}
