// The pricing kernel, one module per product: the product's WGSL twin
// (shaders/products/) supplies `product_observe` and `product_payoff`, and the
// overrides PUT and ANTITHETIC are fixed when the pipeline is created, so the
// device specialises the loop as the SIMD tier does. `PriceParams` and the
// constants are generated from src/backend/gpu/shader.rs.
//
// Grid-stride: invocation i of a dispatch runs streams i, i + n, i + 2n, ...
// of the dispatch's range (n invocations), each stream carrying two samples
// (paths, or antithetic pairs) of the layout: the even one reads the cosine
// half of every block, the odd one the sine half. Sums stay in registers as
// double-f32 (hi + lo) values, added with error-free transformations, so they
// do not lose accuracy however many samples an invocation adds; one workgroup
// reduction at the end writes one partial per workgroup.

override PUT: bool = false;
override ANTITHETIC: bool = false;

@group(0) @binding(0) var<uniform> params: PriceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;

// max(S - K, 0) or max(K - S, 0) on two underlyings.
fn vanilla(underlying: vec2<f32>) -> vec2<f32> {
    if (PUT) {
        return max(vec2<f32>(params.strike) - underlying, vec2<f32>(0.0));
    }
    return max(underlying - vec2<f32>(params.strike), vec2<f32>(0.0));
}

// Undiscounted values of the two samples of stream `stream`. Antithetic samples
// average the path with its mirror, which reuses the same normals negated.
fn sample_values(stream: vec2<u32>) -> vec2<f32> {
    var up = vec2<f32>(params.log_spot);
    var down = up;
    var up_running = vec2<f32>(0.0);
    var down_running = vec2<f32>(0.0);
    for (var step = 0u; step < params.steps; step++) {
        let shock = params.diffusion * normal_pair(stream_block(step, SUBSTREAM_NORMALS, stream, params.key));
        up += params.drift + shock;
        up_running = product_observe(up_running, up);
        if (ANTITHETIC) {
            down += params.drift - shock;
            down_running = product_observe(down_running, down);
        }
    }
    let values = product_payoff(up, up_running);
    if (ANTITHETIC) {
        return 0.5 * (values + product_payoff(down, down_running));
    }
    return values;
}

@compute @workgroup_size(WORKGROUP)
fn price(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let invocation = workgroup.x * WORKGROUP + lid;
    var sum = vec2<f32>(0.0);
    var squares = vec2<f32>(0.0);
    for (var j = invocation; j < params.streams; j += params.invocations) {
        var values = sample_values(stream_index(params.base, j));
        if (j >= params.odd_limit) {
            values.y = 0.0;
        }
        sum = df_add(sum, values.x + values.y);
        squares = df_add(squares, values.x * values.x + values.y * values.y);
    }
    let total = workgroup_total(lid, vec4<f32>(sum, squares));
    if (lid == 0u) {
        partials[params.first_partial + workgroup.x] = total;
    }
}
