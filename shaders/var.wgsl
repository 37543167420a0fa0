// A scenario's shock: sum_j loadings[j] z[j], scaled by sqrt((dof - 2) / W)
// for Student-t, plus the options' value at the horizon, in f32; the host
// adds the mean (less the options' value now) in f64. `scenario` writes one
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
        let x = normal_pair(keyed_block(2u * attempt, SUBSTREAM_CHI_SQUARE, index)).x;
        let w = keyed_block(2u * attempt + 1u, SUBSTREAM_CHI_SQUARE, index);
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

// The shock of scenario `index`: the linear positions' and, for a book with
// options, the options' value at the horizon (revaluation.wgsl).
fn scenario_shock(index: vec2<u32>) -> f32 {
    var shock = 0.0;
    var returns: array<f32, MAX_UNDERLYINGS>;
    let stride = params.assets + UNDERLYING_FIELDS;
    for (var j = 0u; j < params.assets; j += 2u) {
        let z = normal_pair(keyed_block(j / 2u, SUBSTREAM_NORMALS, index));
        shock += loadings[j] * z.x;
        let second = j + 1u < params.assets;
        if (second) {
            shock += loadings[j + 1u] * z.y;
        }
        for (var u = 0u; u < params.underlyings; u++) {
            let factor = params.assets + u * stride + j;
            returns[u] += loadings[factor] * z.x;
            if (second) {
                returns[u] += loadings[factor + 1u] * z.y;
            }
        }
    }
    var scale = 1.0;
    if (params.student_t == 1u) {
        scale = sqrt((params.dof - 2.0) / chi_square(index));
    }
    shock *= scale;
    if (params.options > 0u) {
        for (var u = 0u; u < params.underlyings; u++) {
            returns[u] = returns[u] * scale + loadings[params.assets + u * stride + params.assets];
        }
        shock += book_value(&returns);
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
