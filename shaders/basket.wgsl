// The basket kernel, the WGSL twin of src/basket.rs's `BasketPlan::advance`
// and `payoff`: ASSETS correlated log returns, one normal per asset a step
// (draw f of step j is block j ASSETS + f of the stream, or a QMC point's
// dimension j ASSETS + f through asset f's bridge), the call or put on the
// weighted sum, the worst or the best of the weighted assets, and the
// value-weighted geometric basket as the control.
//
// It shares the pricing kernel's bindings, partials and final reduction
// (shaders/double_f32.wgsl, shaders/reduce.wgsl): `PriceParams` carries the
// range, the key, the steps and the strike, and the compiled plan sits in
// `qmc` from word `params.model`, as f32 bits: the drifts (ASSETS), the
// diffusion's lower triangle row by row (ASSETS (ASSETS + 1) / 2), the
// weighted spots (ASSETS), the control's weights (ASSETS) and its log level
// today. ASSETS, MODEL_FACTORS (= ASSETS) and BRIDGE_CAPACITY are generated
// (src/backend/gpu/shader.rs), so a path's arrays have the basket's size.
//
// Grid-stride as the pricing kernel: invocation i runs streams i, i + n,
// ..., each carrying two samples (the even one reads the cosine half of
// every block, the odd one the sine half); f32 sums over segments of at most
// SEGMENT streams, folded into double-f32 totals, one partial a workgroup.

const SEGMENT: u32 = 32u;
const TRIANGLE: u32 = ASSETS * (ASSETS + 1u) / 2u;

override PUT: bool = false;
override ANTITHETIC: bool = false;
override CONTROL: bool = true;
override QMC: bool = false;
// How the weighted assets combine: 0 their sum (basket, spread), 1 the
// worst, 2 the best.
override COMBINE: u32 = 0u;

@group(0) @binding(0) var<uniform> params: PriceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<Partial>;
@group(0) @binding(2) var<storage, read> qmc: array<u32>;

fn plan_word(at: u32) -> f32 {
    return bitcast<f32>(qmc[params.model + at]);
}

// Undiscounted payoffs and controls of two samples.
struct Values {
    payoff: vec2<f32>,
    control: vec2<f32>,
}

// One step of every asset's log return `x` on the step's normals `z`,
// mirrored (`-z`) when `mirror`.
fn advance(x: ptr<function, array<vec2<f32>, ASSETS>>, z: array<vec2<f32>, ASSETS>, mirror: bool) {
    for (var a = 0u; a < ASSETS; a++) {
        let row = ASSETS + a * (a + 1u) / 2u;
        var shock = vec2<f32>(0.0);
        for (var b = 0u; b <= a; b++) {
            shock += plan_word(row + b) * z[b];
        }
        (*x)[a] += plan_word(a) + select(shock, -shock, mirror);
    }
}

fn pay(level: vec2<f32>) -> vec2<f32> {
    if (PUT) {
        return max(vec2<f32>(params.strike) - level, vec2<f32>(0.0));
    }
    return max(level - vec2<f32>(params.strike), vec2<f32>(0.0));
}

// The payoff and control of a path ending at log returns `x`.
fn path_values(x: array<vec2<f32>, ASSETS>) -> Values {
    let spots = ASSETS + TRIANGLE;
    var underlying = plan_word(spots) * exp(x[0]);
    for (var a = 1u; a < ASSETS; a++) {
        let value = plan_word(spots + a) * exp(x[a]);
        if (COMBINE == 1u) {
            underlying = min(underlying, value);
        } else if (COMBINE == 2u) {
            underlying = max(underlying, value);
        } else {
            underlying += value;
        }
    }
    var values = Values(pay(underlying), vec2<f32>(0.0));
    if (CONTROL) {
        let weights = spots + ASSETS;
        var log_level = vec2<f32>(plan_word(weights + ASSETS));
        for (var a = 0u; a < ASSETS; a++) {
            log_level += plan_word(weights + a) * x[a];
        }
        values.control = pay(exp(log_level));
    }
    return values;
}

// A sample's values: its path's, or a mirrored pair's average.
fn sample_values(up: array<vec2<f32>, ASSETS>, down: array<vec2<f32>, ASSETS>) -> Values {
    var values = path_values(up);
    if (ANTITHETIC) {
        let mirror = path_values(down);
        values.payoff = 0.5 * (values.payoff + mirror.payoff);
        values.control = 0.5 * (values.control + mirror.control);
    }
    return values;
}

// The two samples of Philox stream `stream`.
fn mc_values(stream: vec2<u32>) -> Values {
    var up: array<vec2<f32>, ASSETS>;
    var down: array<vec2<f32>, ASSETS>;
    for (var step = 0u; step < params.steps; step++) {
        var z: array<vec2<f32>, ASSETS>;
        for (var f = 0u; f < ASSETS; f++) {
            z[f] = normal_pair(keyed_block(step * ASSETS + f, SUBSTREAM_NORMALS, stream));
        }
        advance(&up, z, false);
        if (ANTITHETIC) {
            advance(&down, z, true);
        }
    }
    return sample_values(up, down);
}

// Points `point` (even) and `point + 1` of one QMC replicate. (Kept apart
// from the Philox walk, as in the pricing kernel: one function holding both
// the bridge array and the Philox normals came out wrong on lavapipe.)
fn qmc_values(point: u32) -> Values {
    var w: array<vec2<f32>, BRIDGE_CAPACITY>;
    let n = params.steps;
    fill_model_bridges(&w, point, n);
    var up: array<vec2<f32>, ASSETS>;
    var down: array<vec2<f32>, ASSETS>;
    for (var step = 0u; step < n; step++) {
        let z = bridge_increments(&w, n, step);
        advance(&up, z, false);
        if (ANTITHETIC) {
            advance(&down, z, true);
        }
    }
    return sample_values(up, down);
}

@compute @workgroup_size(WORKGROUP)
fn basket(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    var sum = vec2<f32>(0.0);
    var squares = vec2<f32>(0.0);
    var control_sum = vec2<f32>(0.0);
    var control_squares = vec2<f32>(0.0);
    var cross = vec2<f32>(0.0);
    var j = workgroup.x * WORKGROUP + lid;
    while (j < params.streams) {
        var segment = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
        for (var k = 0u; k < SEGMENT && j < params.streams; k++) {
            var values: Values;
            if (QMC) {
                values = qmc_values(2u * (params.base.x + j));
            } else {
                values = mc_values(stream_index(params.base, j));
            }
            // The first stream's even sample when the range starts on an
            // odd one, the last stream's odd one when it ends on an even.
            let keep = vec2<bool>(j != 0u || params.skip_even == 0u, j < params.odd_limit);
            let payoff = select(vec2<f32>(0.0), values.payoff, keep);
            let control = select(vec2<f32>(0.0), values.control, keep);
            segment[0] += payoff.x + payoff.y;
            segment[1] += dot(payoff, payoff);
            if (CONTROL) {
                segment[2] += control.x + control.y;
                segment[3] += dot(control, control);
                segment[4] += dot(payoff, control);
            }
            j += params.invocations;
        }
        sum = df_add(sum, segment[0]);
        squares = df_add(squares, segment[1]);
        if (CONTROL) {
            control_sum = df_add(control_sum, segment[2]);
            control_squares = df_add(control_squares, segment[3]);
            cross = df_add(cross, segment[4]);
        }
    }
    let payoff = workgroup_total(lid, vec4<f32>(sum, squares));
    let control = workgroup_total(lid, vec4<f32>(control_sum, control_squares));
    let products = workgroup_total(lid, vec4<f32>(cross, 0.0, 0.0));
    var greeks: array<vec4<f32>, 5>;
    if (lid == 0u) {
        partials[params.first_partial + workgroup.x] = Partial(payoff, control, products, greeks);
    }
}
