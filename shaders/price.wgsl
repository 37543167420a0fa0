// One invocation per path (or antithetic pair); each workgroup reduces its
// payoffs to (count, mean, M2) in workgroup memory, two passes so the spread is
// not lost to cancellation in f32. The host merges the partials in f64 in
// workgroup order.

struct PriceParams {
    base: vec2<u32>,
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
var<workgroup> scratch: array<f32, 256>;

fn payoff(underlying: f32) -> f32 {
    if (params.is_put == 1u) {
        return max(params.strike - underlying, 0.0);
    }
    return max(underlying - params.strike, 0.0);
}

// Undiscounted payoff of one path whose normals are multiplied by `sign`.
fn path_payoff(index: vec2<u32>, sign: f32) -> f32 {
    var log_price = params.log_spot;
    var running = 0.0;
    var pending_sine = 0.0;
    for (var step = 0u; step < params.steps; step++) {
        var z: f32;
        if (step % 2u == 0u) {
            let pair = normal_pair(stream_block(step / 2u, SUBSTREAM_NORMALS, index, params.key));
            pending_sine = pair.y;
            z = pair.x;
        } else {
            z = pending_sine;
        }
        log_price += params.drift + params.diffusion * sign * z;
        if (params.style == 1u) {
            running += exp(log_price);
        } else if (params.style == 2u) {
            running += log_price;
        }
    }
    let fixings = f32(params.steps);
    if (params.style == 1u) {
        return payoff(running / fixings);
    } else if (params.style == 2u) {
        return payoff(exp(running / fixings));
    }
    return payoff(exp(log_price));
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

@compute @workgroup_size(256)
fn price(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let group = workgroup.y * params.grid_x + workgroup.x;
    let first = group * WORKGROUP;
    let offset = first + lid;
    let valid = group < params.groups && offset < params.count;
    var value = 0.0;
    if (valid) {
        let index = stream_index(params.base, offset);
        if (params.antithetic == 1u) {
            value = 0.5 * (path_payoff(index, 1.0) + path_payoff(index, -1.0));
        } else {
            value = path_payoff(index, 1.0);
        }
    }
    var n = 0u;
    if (group < params.groups) {
        n = min(WORKGROUP, params.count - first);
    }
    let mean = workgroup_sum(lid, value) / max(f32(n), 1.0);
    var deviation = 0.0;
    if (valid) {
        deviation = (value - mean) * (value - mean);
    }
    let m2 = workgroup_sum(lid, deviation);
    if (lid == 0u && group < params.groups) {
        partials[group] = vec4<f32>(f32(n), mean, m2, 0.0);
    }
}
