// Philox4x32-10 with the round keys from the host: `params.round_keys` holds
// round r's key (the seed's key plus r Weyl steps) in half r % 2 of vector
// r / 2, so each round's key is an operand read from the uniform buffer
// rather than one the device computes: 13% on an H200 over computing them
// (examples/gpu_baseline.rs). For the modules whose params carry the keys
// (pricing, VaR); the same blocks as `stream_block` (shaders/philox.wgsl).

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
