// The pricing kernel, one module per product: the product's WGSL twin
// (shaders/products/) supplies `product_start`, `product_step`,
// `product_payoff` and `product_control`, and the
// overrides PUT and ANTITHETIC are fixed when the pipeline is created, so the
// device specialises the loop as the SIMD tier does. `PriceParams` and the
// constants are generated from src/backend/gpu/shader.rs.
//
// Grid-stride: invocation i of a dispatch runs streams i, i + n, i + 2n, ...
// of the dispatch's range (n invocations; the plain Philox kernel two at
// once, i + 2mn and i + (2m + 1)n), each stream carrying two samples
// (paths, or antithetic pairs) of the layout: the even one reads the cosine
// half of every block, the odd one the sine half. Sums stay in registers as
// double-f32 (hi + lo) values, added with error-free transformations, so they
// do not lose accuracy however many samples an invocation adds; one workgroup
// reduction at the end writes one partial per workgroup.

const SEGMENT: u32 = 32u;

override PUT: bool = false;
override ANTITHETIC: bool = false;
// The job corrects with the product's control variate: without it the
// control's sums are never used, so they are neither computed nor added.
override CONTROL: bool = true;
// Randomized QMC (src/rng/qmc.rs) instead of Philox streams: stream j of a
// dispatch carries points 2 (base + j) and 2 (base + j) + 1 of one replicate,
// built by the Brownian bridge in `w` (BRIDGE_CAPACITY, generated, covers the
// job's steps).
override QMC: bool = false;
// Greeks: 0 none; GREEKS_FD: each sample also runs the eight bumped
// scenarios of `qmc` (from word `params.scenarios`) on its own normals;
// GREEKS_PATHWISE, GREEKS_PATHWISE_BARRIER, GREEKS_LIKELIHOOD_RATIO: the
// estimators of shaders/greeks.wgsl on the sample's own path.
override GREEKS: u32 = 0u;
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

fn start_at(log_spot: f32) -> Path {
    let start = vec2<f32>(log_spot);
    return Path(start, product_start(start), vec2<f32>(0.0));
}

fn start_path() -> Path {
    return start_at(params.log_spot);
}

// One step of `increment`; `crossing` is the barrier-crossing factor of the
// path's scenario.
fn advance_with(path: ptr<function, Path>, increment: vec2<f32>, crossing: f32) {
    let previous = (*path).log_price;
    (*path).log_price += increment;
    (*path).running = product_step((*path).running, previous, (*path).log_price, vec2<f32>(crossing));
    (*path).log_sum += (*path).log_price;
}

fn advance(path: ptr<function, Path>, increment: vec2<f32>) {
    advance_with(path, increment, params.crossing);
}

// The payoff and control of a finished path, averaged with its mirror when
// antithetic.
fn finish(up: Path, down: Path) -> Values {
    var values = Values(product_payoff(up.log_price, up.running), vec2<f32>(0.0));
    if (CONTROL) {
        values.control = product_control(up.log_price, up.running, up.log_sum);
    }
    if (ANTITHETIC) {
        values.payoff = 0.5 * (values.payoff + product_payoff(down.log_price, down.running));
        if (CONTROL) {
            values.control = 0.5 * (values.control + product_control(down.log_price, down.running, down.log_sum));
        }
    }
    return values;
}

fn steps() -> u32 {
    return select(params.steps, FIXED_STEPS, FIXED_STEPS > 0u);
}

// The values of two Philox streams, two samples each. Antithetic samples
// average the path with its mirror, which reuses the same normals negated.
// The kernel runs two streams at once: their Philox chains are independent,
// so the device overlaps one's multiplies with the other's (9% on an H200
// in examples/gpu_baseline.rs).
struct Pair {
    first: Values,
    second: Values,
}

fn mc_values_pair(first: vec2<u32>, second: vec2<u32>) -> Pair {
    var up = start_path();
    var down = up;
    var up_second = up;
    var down_second = up;
    for (var step = 0u; step < steps(); step++) {
        let shock = params.diffusion * normal_pair(keyed_block(step, SUBSTREAM_NORMALS, first));
        let shock_second = params.diffusion * normal_pair(keyed_block(step, SUBSTREAM_NORMALS, second));
        advance(&up, params.drift + shock);
        advance(&up_second, params.drift + shock_second);
        if (ANTITHETIC) {
            advance(&down, params.drift - shock);
            advance(&down_second, params.drift - shock_second);
        }
    }
    return Pair(finish(up, down), finish(up_second, down_second));
}

// Points `point` (even) and `point + 1` of the replicate whose scrambles start
// at word `params.scrambles` of `qmc`: their Brownian values at the fixings by
// the bridge (construction step i reads dimension i), then the path.
// The Brownian values at the fixings of points `point` (even) and
// `point + 1` of the replicate whose scrambles start at word
// `params.scrambles` of `qmc`, by the bridge (construction step i reads
// dimension i).
fn fill_bridge(w: ptr<function, array<vec2<f32>, BRIDGE_CAPACITY>>, point: u32, n: u32) {
    for (var i = 0u; i < n; i++) {
        let z = qmc_normal_pair(point, i, qmc[params.scrambles + i]);
        let b = params.bridge + 8u * i;
        let weights = bitcast<vec3<f32>>(vec3<u32>(qmc[b + 4u], qmc[b + 5u], qmc[b + 6u]));
        if (i == 0u) {
            (*w)[n - 1u] = weights.z * z;
        } else {
            var value = weights.y * (*w)[qmc[b + 2u]] + weights.z * z;
            let left = qmc[b + 1u];
            if (left != 0u) {
                value += weights.x * (*w)[left - 1u];
            }
            (*w)[qmc[b]] = value;
        }
    }
}

// Points `point` (even) and `point + 1` of one QMC replicate.
fn qmc_values(point: u32) -> Values {
    var w: array<vec2<f32>, BRIDGE_CAPACITY>;
    let n = steps();
    fill_bridge(&w, point, n);
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

// Models other than Black-Scholes (src/models, their twins in
// shaders/models/): a step takes MODEL_FACTORS normals, draw f of step j
// being block j MODEL_FACTORS + f of the stream (or a QMC point's dimension
// i MODEL_FACTORS + f through factor f's bridge); the model moves the log
// price and its variance, the product observes the step, and the control is
// the product's model-free one.

struct ModelPath {
    path: Path,
    // The log return ln(S / S(0)): the model steps it, so a step's small
    // increments are rounded against the return, not against the log
    // price (a variance near zero otherwise adds the same tiny drift to
    // ln S(0) at every step, and f32's rounding of it piles up).
    log_return: vec2<f32>,
    variance: vec2<f32>,
}

fn model_start_path() -> ModelPath {
    return ModelPath(start_path(), vec2<f32>(0.0), model_start());
}

// One step on the normals `z`; a continuously watched barrier bridges it
// with the step's own variance where that is random.
fn model_advance(p: ptr<function, ModelPath>, z: array<vec2<f32>, MODEL_FACTORS>) {
    var variance = (*p).variance;
    let step = model_step(&variance, (*p).log_return, z);
    (*p).variance = variance;
    (*p).log_return = step.log_price;
    var crossing = vec2<f32>(params.crossing);
    if (MODEL_STOCHASTIC_VARIANCE) {
        crossing = -2.0 / max(step.variance, vec2<f32>(1e-30));
    }
    let previous = (*p).path.log_price;
    let log_price = params.log_spot + step.log_price;
    (*p).path.log_price = log_price;
    (*p).path.running = product_step((*p).path.running, previous, log_price, crossing);
    (*p).path.log_sum += log_price;
}

// The mirror path's normals.
fn negated(z: array<vec2<f32>, MODEL_FACTORS>) -> array<vec2<f32>, MODEL_FACTORS> {
    var minus = z;
    for (var f = 0u; f < MODEL_FACTORS; f++) {
        minus[f] = -z[f];
    }
    return minus;
}

fn model_finish(up: Path, down: Path) -> Values {
    var values = Values(product_payoff(up.log_price, up.running), vec2<f32>(0.0));
    if (CONTROL) {
        values.control = product_model_control(up.log_price, up.running, up.log_sum);
    }
    if (ANTITHETIC) {
        values.payoff = 0.5 * (values.payoff + product_payoff(down.log_price, down.running));
        if (CONTROL) {
            values.control = 0.5 * (values.control + product_model_control(down.log_price, down.running, down.log_sum));
        }
    }
    return values;
}

// Step `step`'s normals of Philox stream `stream`.
fn model_normals(step: u32, stream: vec2<u32>) -> array<vec2<f32>, MODEL_FACTORS> {
    var z: array<vec2<f32>, MODEL_FACTORS>;
    for (var f = 0u; f < MODEL_FACTORS; f++) {
        z[f] = normal_pair(keyed_block(step * MODEL_FACTORS + f, SUBSTREAM_NORMALS, stream));
    }
    return z;
}

// The values of two Philox streams under the model, two samples each.
fn model_values_pair(first: vec2<u32>, second: vec2<u32>) -> Pair {
    var up = model_start_path();
    var down = up;
    var up_second = up;
    var down_second = up;
    for (var step = 0u; step < steps(); step++) {
        let z = model_normals(step, first);
        let z_second = model_normals(step, second);
        model_advance(&up, z);
        model_advance(&up_second, z_second);
        if (ANTITHETIC) {
            model_advance(&down, negated(z));
            model_advance(&down_second, negated(z_second));
        }
    }
    return Pair(model_finish(up.path, down.path), model_finish(up_second.path, down_second.path));
}

// Points `point` (even) and `point + 1` of one QMC replicate under the model.
fn model_qmc_values(point: u32) -> Values {
    var w: array<vec2<f32>, BRIDGE_CAPACITY>;
    let n = steps();
    fill_model_bridges(&w, point, n);
    var up = model_start_path();
    var down = up;
    for (var step = 0u; step < n; step++) {
        let z = bridge_increments(&w, n, step);
        model_advance(&up, z);
        if (ANTITHETIC) {
            model_advance(&down, negated(z));
        }
    }
    return model_finish(up.path, down.path);
}

// A finite-difference scenario: its path constants and discount factor
// (five words of `qmc` each, f32 bits).
struct Scenario {
    log_spot: f32,
    drift: f32,
    diffusion: f32,
    crossing: f32,
    discount: f32,
}

fn scenario(k: u32) -> Scenario {
    let at = params.scenarios + 5u * k;
    return Scenario(
        bitcast<f32>(qmc[at]),
        bitcast<f32>(qmc[at + 1u]),
        bitcast<f32>(qmc[at + 2u]),
        bitcast<f32>(qmc[at + 3u]),
        bitcast<f32>(qmc[at + 4u]),
    );
}

// The base values and the (delta, gamma, vega, rho, theta) estimators of two
// samples: the base path and its eight bumped scenarios (spot +-, vol +-,
// rate +-, maturity +-) on the same normals (src/greeks.rs).
struct GreekValues {
    values: Values,
    greeks: array<vec2<f32>, 5>,
}

// The nine scenarios' paths and their mirrors.
struct Walk {
    up: array<Path, 9>,
    down: array<Path, 9>,
}

fn start_walk() -> Walk {
    var walk: Walk;
    for (var k = 0u; k < 9u; k++) {
        walk.up[k] = start_at(scenario(k).log_spot);
        walk.down[k] = walk.up[k];
    }
    return walk;
}

// Every scenario's path takes one step on the normals `z`. Paths are copied
// in and out: a pointer to a dynamically indexed array element trips naga's
// SPIR-V writer (30.0: "Expression is not cached"; the SPIR-V test in
// shader.rs catches it).
fn step_walk(walk: Walk, z: vec2<f32>) -> Walk {
    var next = walk;
    for (var k = 0u; k < 9u; k++) {
        let s = scenario(k);
        var path = next.up[k];
        advance_with(&path, s.drift + s.diffusion * z, s.crossing);
        next.up[k] = path;
        if (ANTITHETIC) {
            var mirror = next.down[k];
            advance_with(&mirror, s.drift - s.diffusion * z, s.crossing);
            next.down[k] = mirror;
        }
    }
    return next;
}

fn finish_walk(walk: Walk) -> GreekValues {
    var v: array<vec2<f32>, 9>;
    for (var k = 0u; k < 9u; k++) {
        var value = product_payoff(walk.up[k].log_price, walk.up[k].running);
        if (ANTITHETIC) {
            value = 0.5 * (value + product_payoff(walk.down[k].log_price, walk.down[k].running));
        }
        v[k] = scenario(k).discount * value;
    }
    var result: GreekValues;
    result.values = finish(walk.up[0], walk.down[0]);
    // Raw differences: the host applies the scale factors to the means.
    result.greeks[0] = v[1] - v[2];
    result.greeks[1] = v[1] - 2.0 * v[0] + v[2];
    result.greeks[2] = v[3] - v[4];
    result.greeks[3] = v[5] - v[6];
    result.greeks[4] = v[8] - v[7];
    return result;
}

// The Greeks of Philox stream `stream`'s two samples. (Kept apart from the
// QMC version: one function holding both the bridge array and the Philox
// normals came out wrong on lavapipe.)
fn greek_values_mc(stream: vec2<u32>) -> GreekValues {
    if (GREEKS != GREEKS_FD) {
        var state = start_sensitivities();
        for (var step = 0u; step < steps(); step++) {
            state = step_sensitivities(state, normal_pair(keyed_block(step, SUBSTREAM_NORMALS, stream)), step);
        }
        return finish_sensitivities(state);
    }
    var walk = start_walk();
    for (var step = 0u; step < steps(); step++) {
        walk = step_walk(walk, normal_pair(keyed_block(step, SUBSTREAM_NORMALS, stream)));
    }
    return finish_walk(walk);
}

// Whether the kernel runs two Philox streams at once in the Greeks' pass,
// as in the plain price's (`mc_values_pair`): their chains overlap. On an
// H200 (examples/gpu_baseline.rs --greeks-only, 2026-11-27) that took the
// European's Greeks from 1.69x the price to 1.49x, the digital's from 1.60x
// to 1.50x and the arithmetic Asian's from 1.25x to 1.17x; a continuous
// barrier's pathwise pass, whose state is the largest, went from 1.55x to
// 1.65x, so it runs one stream at a time.
fn paired_greeks() -> bool {
    return GREEKS >= GREEKS_PATHWISE && GREEKS != GREEKS_PATHWISE_BARRIER && !QMC;
}

struct GreekPair {
    first: GreekValues,
    second: GreekValues,
}

// The pathwise or likelihood-ratio Greeks of two Philox streams, their
// chains interleaved.
fn greek_values_mc_pair(first: vec2<u32>, second: vec2<u32>) -> GreekPair {
    var state = start_sensitivities();
    var state_second = state;
    for (var step = 0u; step < steps(); step++) {
        let z = normal_pair(keyed_block(step, SUBSTREAM_NORMALS, first));
        let z_second = normal_pair(keyed_block(step, SUBSTREAM_NORMALS, second));
        state = step_sensitivities(state, z, step);
        state_second = step_sensitivities(state_second, z_second, step);
    }
    return GreekPair(finish_sensitivities(state), finish_sensitivities(state_second));
}

// The Greeks of QMC points `point` (even) and `point + 1`.
fn greek_values_qmc(point: u32) -> GreekValues {
    var w: array<vec2<f32>, BRIDGE_CAPACITY>;
    let n = steps();
    fill_bridge(&w, point, n);
    if (GREEKS != GREEKS_FD) {
        var state = start_sensitivities();
        var before = vec2<f32>(0.0);
        for (var step = 0u; step < n; step++) {
            state = step_sensitivities(state, w[step] - before, step);
            before = w[step];
        }
        return finish_sensitivities(state);
    }
    var walk = start_walk();
    var previous = vec2<f32>(0.0);
    for (var step = 0u; step < n; step++) {
        walk = step_walk(walk, w[step] - previous);
        previous = w[step];
    }
    return finish_walk(walk);
}

// The five Greeks' arrays are indexed with constants only, never in a
// loop: NVIDIA's Vulkan compiler kept a ten-round loop as a loop (Philox,
// shaders/philox.wgsl), and a private array indexed in a loop that stays one
// lives in memory rather than registers.

// A stream's values and raw Greeks with the samples outside the job's
// range zeroed: `keep` says which of its two samples are in it.
fn within_range(g: GreekValues, keep: vec2<bool>) -> GreekValues {
    let zero = vec2<f32>(0.0);
    return GreekValues(
        Values(select(zero, g.values.payoff, keep), select(zero, g.values.control, keep)),
        array<vec2<f32>, 5>(
            select(zero, g.greeks[0], keep),
            select(zero, g.greeks[1], keep),
            select(zero, g.greeks[2], keep),
            select(zero, g.greeks[3], keep),
            select(zero, g.greeks[4], keep),
        ),
    );
}

// (x + y, x^2 + y^2) of two samples' values.
fn sum_and_square(v: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(v.x + v.y, dot(v, v));
}

// A segment's (sum, squares) added to double-f32 (sum, squares).
fn df_add_moments(sums: vec4<f32>, segment: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(df_add(sums.xy, segment.x), df_add(sums.zw, segment.y));
}

@compute @workgroup_size(WORKGROUP)
fn price(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let invocation = workgroup.x * WORKGROUP + lid;
    if (GREEKS >= GREEKS_PATHWISE) {
        load_greek_constants();
    }
    if (!MODEL_BLACK_SCHOLES) {
        load_model();
    }
    var sum = vec2<f32>(0.0);
    var squares = vec2<f32>(0.0);
    var control_sum = vec2<f32>(0.0);
    var control_squares = vec2<f32>(0.0);
    var cross = vec2<f32>(0.0);
    var greek_sums: array<vec4<f32>, 5>;
    var j = invocation;
    // Plain f32 sums over segments of at most SEGMENT streams (their
    // rounding is about 1e-7 relative and unbiased), folded into the
    // double-f32 totals once per segment.
    while (j < params.streams) {
        var segment = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
        var greek_segment: array<vec2<f32>, 5>;
        for (var k = 0u; k < SEGMENT && j < params.streams; k++) {
            // The stream's values and raw Greeks, and a paired kernel's
            // second stream's (zero otherwise).
            var first: GreekValues;
            var second: GreekValues;
            // Streams j and j + n: past the range the second repeats the
            // range's last stream and is dropped.
            let next = j + params.invocations;
            let second_stream = stream_index(params.base, min(next, params.streams - 1u));
            if (GREEKS != 0u) {
                if (QMC) {
                    first = greek_values_qmc(2u * (params.base.x + j));
                } else if (paired_greeks()) {
                    let pair = greek_values_mc_pair(stream_index(params.base, j), second_stream);
                    first = pair.first;
                    second = pair.second;
                } else {
                    first = greek_values_mc(stream_index(params.base, j));
                }
            } else if (!MODEL_BLACK_SCHOLES) {
                if (QMC) {
                    first.values = model_qmc_values(2u * (params.base.x + j));
                } else {
                    let pair = model_values_pair(stream_index(params.base, j), second_stream);
                    first.values = pair.first;
                    second.values = pair.second;
                }
            } else if (QMC) {
                first.values = qmc_values(2u * (params.base.x + j));
            } else {
                let pair = mc_values_pair(stream_index(params.base, j), second_stream);
                first.values = pair.first;
                second.values = pair.second;
            }
            // Samples outside the range: the first stream's even one when
            // the range starts on an odd sample, the last stream's odd one
            // when it ends on an even one, and a second stream past the end.
            first = within_range(first, vec2<bool>(j != 0u || params.skip_even == 0u, j < params.odd_limit));
            second = within_range(second, vec2<bool>(next < params.streams, next < params.odd_limit));
            if (GREEKS != 0u) {
                greek_segment[0] += sum_and_square(first.greeks[0]) + sum_and_square(second.greeks[0]);
                greek_segment[1] += sum_and_square(first.greeks[1]) + sum_and_square(second.greeks[1]);
                greek_segment[2] += sum_and_square(first.greeks[2]) + sum_and_square(second.greeks[2]);
                greek_segment[3] += sum_and_square(first.greeks[3]) + sum_and_square(second.greeks[3]);
                greek_segment[4] += sum_and_square(first.greeks[4]) + sum_and_square(second.greeks[4]);
            }
            let values = first.values;
            let other = second.values;
            segment[0] += (values.payoff.x + values.payoff.y) + (other.payoff.x + other.payoff.y);
            segment[1] += dot(values.payoff, values.payoff) + dot(other.payoff, other.payoff);
            if (CONTROL) {
                segment[2] += (values.control.x + values.control.y) + (other.control.x + other.control.y);
                segment[3] += dot(values.control, values.control) + dot(other.control, other.control);
                segment[4] += dot(values.payoff, values.control) + dot(other.payoff, other.control);
            }
            j += params.invocations;
            if ((GREEKS == 0u && !QMC) || paired_greeks()) {
                j += params.invocations;
                k++;
            }
        }
        sum = df_add(sum, segment[0]);
        squares = df_add(squares, segment[1]);
        if (CONTROL) {
            control_sum = df_add(control_sum, segment[2]);
            control_squares = df_add(control_squares, segment[3]);
            cross = df_add(cross, segment[4]);
        }
        if (GREEKS != 0u) {
            greek_sums[0] = df_add_moments(greek_sums[0], greek_segment[0]);
            greek_sums[1] = df_add_moments(greek_sums[1], greek_segment[1]);
            greek_sums[2] = df_add_moments(greek_sums[2], greek_segment[2]);
            greek_sums[3] = df_add_moments(greek_sums[3], greek_segment[3]);
            greek_sums[4] = df_add_moments(greek_sums[4], greek_segment[4]);
        }
    }
    let payoff = workgroup_total(lid, vec4<f32>(sum, squares));
    let control = workgroup_total(lid, vec4<f32>(control_sum, control_squares));
    let products = workgroup_total(lid, vec4<f32>(cross, 0.0, 0.0));
    var greek_totals: array<vec4<f32>, 5>;
    if (GREEKS != 0u) {
        greek_totals[0] = workgroup_total(lid, greek_sums[0]);
        greek_totals[1] = workgroup_total(lid, greek_sums[1]);
        greek_totals[2] = workgroup_total(lid, greek_sums[2]);
        greek_totals[3] = workgroup_total(lid, greek_sums[3]);
        greek_totals[4] = workgroup_total(lid, greek_sums[4]);
    }
    if (lid == 0u) {
        partials[params.first_partial + workgroup.x] = Partial(payoff, control, products, greek_totals);
    }
}
