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

const SEGMENT: u32 = 32u;

override PUT: bool = false;
override ANTITHETIC: bool = false;
// The product's own step count where it fixes one (a European's single exact
// step), so the step loop is a constant the compiler can unroll; 0 reads
// `params.steps`.
override FIXED_STEPS: u32 = 0u;

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
    let steps = select(params.steps, FIXED_STEPS, FIXED_STEPS > 0u);
    for (var step = 0u; step < steps; step++) {
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
    var j = invocation;
    // Plain f32 sums over segments of at most SEGMENT streams (their
    // rounding is about 1e-7 relative and unbiased), folded into the
    // double-f32 totals once per segment.
    while (j < params.streams) {
        var segment = vec2<f32>(0.0);
        for (var k = 0u; k < SEGMENT && j < params.streams; k++) {
            var values = sample_values(stream_index(params.base, j));
            if (j >= params.odd_limit) {
                values.y = 0.0;
            }
            segment += vec2<f32>(values.x + values.y, dot(values, values));
            j += params.invocations;
        }
        sum = df_add(sum, segment.x);
        squares = df_add(squares, segment.y);
    }
    let total = workgroup_total(lid, vec4<f32>(sum, squares));
    if (lid == 0u) {
        partials[params.first_partial + workgroup.x] = total;
    }
}
