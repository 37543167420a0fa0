// A scenario's shock: sum_j loadings[j] z[j], scaled by sqrt((dof - 2) / W)
// for Student-t, in f32; the host adds the mean in f64. `scenario` writes one
// shock per invocation (small jobs and the tail kernel's pilot sample);
// var_tails.wgsl finds the tails without writing the sample out.
// `VarParams` and the constants are generated from src/backend/gpu/shader.rs.

@group(0) @binding(0) var<uniform> params: VarParams;
@group(0) @binding(1) var<storage, read> loadings: array<f32>;
@group(0) @binding(2) var<storage, read_write> shocks: array<f32>;

// The CPU's chi_square: Marsaglia-Tsang, attempt t reading blocks 2t and 2t+1
// of the chi-square substream.
fn chi_square(index: vec2<u32>) -> f32 {
    let d = params.chi_d;
    let c = params.chi_c;
    for (var attempt = 0u; attempt < CHI_SQUARE_MAX_ATTEMPTS; attempt++) {
        let x = normal_pair(stream_block(2u * attempt, SUBSTREAM_CHI_SQUARE, index, params.key)).x;
        let w = stream_block(2u * attempt + 1u, SUBSTREAM_CHI_SQUARE, index, params.key);
        let u = uniform01(w.x, w.y);
        let t = 1.0 + c * x;
        if (t > 0.0) {
            let v = t * t * t;
            if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) {
                return 2.0 * d * v;
            }
        }
    }
    return 2.0 * d;
}

// The shock of scenario `index`.
fn scenario_shock(index: vec2<u32>) -> f32 {
    var shock = 0.0;
    for (var j = 0u; j < params.assets; j += 2u) {
        let z = normal_pair(stream_block(j / 2u, SUBSTREAM_NORMALS, index, params.key));
        shock += loadings[j] * z.x;
        if (j + 1u < params.assets) {
            shock += loadings[j + 1u] * z.y;
        }
    }
    if (params.student_t == 1u) {
        shock *= sqrt((params.dof - 2.0) / chi_square(index));
    }
    return shock;
}

@compute @workgroup_size(WORKGROUP)
fn scenario(@builtin(global_invocation_id) id: vec3<u32>) {
    let offset = id.y * params.grid_x * WORKGROUP + id.x;
    if (offset >= params.count) {
        return;
    }
    shocks[offset] = scenario_shock(stream_index(params.base, offset));
}
