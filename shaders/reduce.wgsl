// Adds a job's per-workgroup partials (double-f32 sum and sum of squares) into
// one, in a fixed order, so the host reads back 16 bytes per job.
// `ReduceParams` is generated from src/backend/gpu/shader.rs.

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP)
fn reduce(@builtin(local_invocation_index) lid: u32) {
    var acc = vec4<f32>(0.0);
    for (var i = lid; i < params.count; i += WORKGROUP) {
        acc = df_add_pair(acc, partials[i]);
    }
    let total = workgroup_total(lid, acc);
    if (lid == 0u) {
        partials[params.count] = total;
    }
}
