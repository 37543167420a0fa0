// One invocation per stream, which carries two samples (paths, or antithetic
// pairs) of the layout; each workgroup reduces its payoffs to (count, mean, M2) in workgroup memory, two passes so the spread is
// not lost to cancellation in f32. The host merges the partials in f64 in
// workgroup order.

struct PriceParams {
    base: vec2<u32>, // first stream of the batch: its first sample is 2 base
    count: u32,
    steps: u32,
    key: vec2<u32>,
    style: u32,      // 0 European, 1 arithmetic Asian, 2 geometric Asian
    is_put: u32,
    antithetic: u32,
    groups: u32,     // workgroups that hold samples in this dispatch
    grid_x: u32,     // workgroups per row of the 2-D grid
    _pad: u32,
    log_spot: f32,
    drift: f32,
    diffusion: f32,
    strike: f32,
}

@group(0) @binding(0) var<uniform> params: PriceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f32>>;

const WORKGROUP: u32 = 256u;
const SAMPLES_PER_GROUP: u32 = 512u;
var<workgroup> scratch: array<f32, 256>;

fn payoff(underlying: f32) -> f32 {
    if (params.is_put == 1u) {
        return max(params.strike - underlying, 0.0);
    }
    return max(underlying - params.strike, 0.0);
}

// The running sum of a path after a fixing at `log_price`: the sum of prices
// (arithmetic Asian) or of log prices (geometric Asian); unused for European.
fn accumulate(running: vec2<f32>, log_price: vec2<f32>) -> vec2<f32> {
    if (params.style == 1u) {
        return running + exp(log_price);
    } else if (params.style == 2u) {
        return running + log_price;
    }
    return running;
}

// Undiscounted payoffs of two paths from their final log prices and sums.
fn payoffs(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    let fixings = f32(params.steps);
    var underlying = exp(log_price);
    if (params.style == 1u) {
        underlying = running / fixings;
    } else if (params.style == 2u) {
        underlying = exp(running / fixings);
    }
    return vec2<f32>(payoff(underlying.x), payoff(underlying.y));
}

// Undiscounted values of the two samples of stream `stream` (samples 2 stream
// and 2 stream + 1): block `step` of the stream gives the even sample its
// cosine half and the odd one its sine half. Antithetic samples average the
// path with its mirror, which reuses the same normals negated rather than
// drawing them again.
fn sample_values(stream: vec2<u32>) -> vec2<f32> {
    let antithetic = params.antithetic == 1u;
    var up = vec2<f32>(params.log_spot);
    var down = up;
    var up_sum = vec2<f32>(0.0);
    var down_sum = vec2<f32>(0.0);
    for (var step = 0u; step < params.steps; step++) {
        let shock = params.diffusion * normal_pair(stream_block(step, SUBSTREAM_NORMALS, stream, params.key));
        up += params.drift + shock;
        up_sum = accumulate(up_sum, up);
        if (antithetic) {
            down += params.drift - shock;
            down_sum = accumulate(down_sum, down);
        }
    }
    let values = payoffs(up, up_sum);
    if (antithetic) {
        return 0.5 * (values + payoffs(down, down_sum));
    }
    return values;
}

fn workgroup_sum(lid: u32, value: f32) -> f32 {
    scratch[lid] = value;
    workgroupBarrier();
    for (var stride = WORKGROUP / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            scratch[lid] += scratch[lid + stride];
        }
        workgroupBarrier();
    }
    let total = scratch[0];
    workgroupBarrier();
    return total;
}

// Invocation `i` of a batch runs stream `base + i`, whose samples are the
// batch's samples `2 i` and `2 i + 1`, where they fall before `count`.
@compute @workgroup_size(256)
fn price(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup.y * params.grid_x + workgroup.x;
    let first = group * SAMPLES_PER_GROUP;
    let offset = first + 2u * lid;
    let in_grid = group < params.groups;
    let valid = vec2<bool>(in_grid && offset < params.count, in_grid && offset + 1u < params.count);
    var values = vec2<f32>(0.0);
    if (valid.x) {
        values = select(vec2<f32>(0.0), sample_values(stream_index(params.base, offset / 2u)), valid);
    }
    var n = 0u;
    if (in_grid) {
        n = min(SAMPLES_PER_GROUP, params.count - first);
    }
    let mean = workgroup_sum(lid, values.x + values.y) / max(f32(n), 1.0);
    let deviation = select(vec2<f32>(0.0), (values - mean) * (values - mean), valid);
    let m2 = workgroup_sum(lid, deviation.x + deviation.y);
    if (lid == 0u && in_grid) {
        partials[group] = vec4<f32>(f32(n), mean, m2, 0.0);
    }
}
