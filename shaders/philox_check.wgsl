// Test hook: Philox blocks and f32 uniforms for given counters, so the tests can
// compare the device's generator with the CPU's word for word. Entry 2i holds
// block i's words, entry 2i + 1 the bits of its two uniforms. `CheckParams`
// is generated from its Rust twin (src/backend/gpu/shader.rs).

@group(0) @binding(0) var<uniform> params: CheckParams;
@group(0) @binding(1) var<storage, read> counters: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> results: array<vec4<u32>>;

@compute @workgroup_size(64)
fn check(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= params.count) {
        return;
    }
    let counter = counters[id.x];
    let w = keyed_block(counter.x, counter.y, counter.zw);
    results[2u * id.x] = w;
    results[2u * id.x + 1u] = vec4<u32>(
        bitcast<u32>(uniform01(w.x, w.y)),
        bitcast<u32>(uniform01(w.z, w.w)),
        0u,
        0u,
    );
}

// Test hook: the values (word x of each entry, as f32 bits) added in order
// by one invocation with the kernels' double-f32 addition; result (hi, lo).
@compute @workgroup_size(1)
fn df_sum() {
    var acc = vec2<f32>(0.0);
    for (var i = 0u; i < params.count; i++) {
        acc = df_add(acc, bitcast<f32>(counters[i].x));
    }
    results[0] = vec4<u32>(bitcast<u32>(acc.x), bitcast<u32>(acc.y), 0u, 0u);
}
