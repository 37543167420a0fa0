// The pricing kernel, one module per product: the product's WGSL twin
// (shaders/products/) supplies `product_start`, `product_step`,
// `product_payoff` and `product_control`, and the
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
// Randomized QMC (src/rng/qmc.rs) instead of Philox streams: stream j of a
// dispatch carries points 2 (base + j) and 2 (base + j) + 1 of one replicate,
// built by the Brownian bridge in `w` (BRIDGE_CAPACITY, generated, covers the
// job's steps).
override QMC: bool = false;
// The product's own step count where it fixes one (a European's single exact
// step), so the step loop is a constant the compiler can unroll; 0 reads
// `params.steps`.
override FIXED_STEPS: u32 = 0u;

@group(0) @binding(0) var<uniform> params: PriceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(2) var<storage, read> qmc: array<u32>;


// Undiscounted payoffs and controls of two samples.
struct Values {
    payoff: vec2<f32>,
    control: vec2<f32>,
}

// max(S - K, 0) or max(K - S, 0) on two underlyings.
fn vanilla(underlying: vec2<f32>) -> vec2<f32> {
    if (PUT) {
        return max(vec2<f32>(params.strike) - underlying, vec2<f32>(0.0));
    }
    return max(underlying - vec2<f32>(params.strike), vec2<f32>(0.0));
}

// A path's state: log price, the product's running statistic, the sum of
// log prices (for the geometric control).
struct Path {
    log_price: vec2<f32>,
    running: vec2<f32>,
    log_sum: vec2<f32>,
}

fn start_path() -> Path {
    let log_spot = vec2<f32>(params.log_spot);
    return Path(log_spot, product_start(log_spot), vec2<f32>(0.0));
}

fn advance(path: ptr<function, Path>, increment: vec2<f32>) {
    let previous = (*path).log_price;
    (*path).log_price += increment;
    (*path).running = product_step((*path).running, previous, (*path).log_price);
    (*path).log_sum += (*path).log_price;
}

// The payoff and control of a finished path, averaged with its mirror when
// antithetic.
fn finish(up: Path, down: Path) -> Values {
    var values = Values(
        product_payoff(up.log_price, up.running),
        product_control(up.log_price, up.running, up.log_sum),
    );
    if (ANTITHETIC) {
        values.payoff = 0.5 * (values.payoff + product_payoff(down.log_price, down.running));
        values.control = 0.5 * (values.control + product_control(down.log_price, down.running, down.log_sum));
    }
    return values;
}

fn steps() -> u32 {
    return select(params.steps, FIXED_STEPS, FIXED_STEPS > 0u);
}

// The two samples of Philox stream `stream`. Antithetic samples average the
// path with its mirror, which reuses the same normals negated.
fn mc_values(stream: vec2<u32>) -> Values {
    var up = start_path();
    var down = up;
    for (var step = 0u; step < steps(); step++) {
        let shock = params.diffusion * normal_pair(stream_block(step, SUBSTREAM_NORMALS, stream, params.key));
        advance(&up, params.drift + shock);
        if (ANTITHETIC) {
            advance(&down, params.drift - shock);
        }
    }
    return finish(up, down);
}

// Points `point` (even) and `point + 1` of the replicate whose scrambles start
// at word `params.scrambles` of `qmc`: their Brownian values at the fixings by
// the bridge (construction step i reads dimension i), then the path.
fn qmc_values(point: u32) -> Values {
    var w: array<vec2<f32>, BRIDGE_CAPACITY>;
    let n = steps();
    for (var i = 0u; i < n; i++) {
        let z = qmc_normal_pair(point, i, qmc[params.scrambles + i]);
        let b = params.bridge + 8u * i;
        let weights = bitcast<vec3<f32>>(vec3<u32>(qmc[b + 4u], qmc[b + 5u], qmc[b + 6u]));
        if (i == 0u) {
            w[n - 1u] = weights.z * z;
        } else {
            var value = weights.y * w[qmc[b + 2u]] + weights.z * z;
            let left = qmc[b + 1u];
            if (left != 0u) {
                value += weights.x * w[left - 1u];
            }
            w[qmc[b]] = value;
        }
    }
    var up = start_path();
    var down = up;
    var previous = vec2<f32>(0.0);
    for (var step = 0u; step < n; step++) {
        let shock = params.diffusion * (w[step] - previous);
        previous = w[step];
        advance(&up, params.drift + shock);
        if (ANTITHETIC) {
            advance(&down, params.drift - shock);
        }
    }
    return finish(up, down);
}

@compute @workgroup_size(WORKGROUP)
fn price(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let invocation = workgroup.x * WORKGROUP + lid;
    var sum = vec2<f32>(0.0);
    var squares = vec2<f32>(0.0);
    var control_sum = vec2<f32>(0.0);
    var control_squares = vec2<f32>(0.0);
    var cross = vec2<f32>(0.0);
    var j = invocation;
    // Plain f32 sums over segments of at most SEGMENT streams (their
    // rounding is about 1e-7 relative and unbiased), folded into the
    // double-f32 totals once per segment.
    while (j < params.streams) {
        var segment = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
        for (var k = 0u; k < SEGMENT && j < params.streams; k++) {
            var values: Values;
            if (QMC) {
                values = qmc_values(2u * (params.base.x + j));
            } else {
                values = mc_values(stream_index(params.base, j));
            }
            // Samples outside the range: the first stream's even one when
            // the range starts on an odd sample, the last stream's odd one
            // when it ends on an even one.
            if (j == 0u && params.skip_even != 0u) {
                values.payoff.x = 0.0;
                values.control.x = 0.0;
            }
            if (j >= params.odd_limit) {
                values.payoff.y = 0.0;
                values.control.y = 0.0;
            }
            segment[0] += values.payoff.x + values.payoff.y;
            segment[1] += dot(values.payoff, values.payoff);
            segment[2] += values.control.x + values.control.y;
            segment[3] += dot(values.control, values.control);
            segment[4] += dot(values.payoff, values.control);
            j += params.invocations;
        }
        sum = df_add(sum, segment[0]);
        squares = df_add(squares, segment[1]);
        control_sum = df_add(control_sum, segment[2]);
        control_squares = df_add(control_squares, segment[3]);
        cross = df_add(cross, segment[4]);
    }
    let payoff = workgroup_total(lid, vec4<f32>(sum, squares));
    let control = workgroup_total(lid, vec4<f32>(control_sum, control_squares));
    let products = workgroup_total(lid, vec4<f32>(cross, 0.0, 0.0));
    if (lid == 0u) {
        partials[params.first_partial + workgroup.x] = Partial(payoff, control, products);
    }
}
