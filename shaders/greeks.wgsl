// Pathwise and likelihood-ratio Greeks in the pricing pass (the twin of
// src/greeks.rs, which derives the estimators): with GREEKS set to
// GREEKS_PATHWISE, GREEKS_PATHWISE_BARRIER or GREEKS_LIKELIHOOD_RATIO
// each pair of samples also yields the raw (delta, gamma, vega, rho, theta)
// estimators; the host scales their means and spreads as on the CPU.
//
// The constants start at word `params.scenarios` of `qmc`
// (`GreekSetup::device_constants`): the dual numbers ln S, drift, diffusion
// and crossing factor (a value and its derivatives with respect to spot,
// vol, rate and maturity, five words each), then vol sqrt dt, T, r, vol, the
// maturity score's drift term and sqrt dt.

// A dual number on the two samples of a stream: the values, and each
// sample's derivatives with respect to (spot, vol, rate, maturity).
struct Dual {
    value: vec2<f32>,
    x: vec4<f32>,
    y: vec4<f32>,
}

fn dual_constant(value: vec2<f32>) -> Dual {
    return Dual(value, vec4<f32>(0.0), vec4<f32>(0.0));
}

fn dual_add(a: Dual, b: Dual) -> Dual {
    return Dual(a.value + b.value, a.x + b.x, a.y + b.y);
}

fn dual_sub(a: Dual, b: Dual) -> Dual {
    return Dual(a.value - b.value, a.x - b.x, a.y - b.y);
}

fn dual_mul(a: Dual, b: Dual) -> Dual {
    return Dual(
        a.value * b.value,
        a.x * b.value.x + b.x * a.value.x,
        a.y * b.value.y + b.y * a.value.y,
    );
}

// `a` times a factor without derivatives, sample by sample.
fn dual_scale(a: Dual, factor: vec2<f32>) -> Dual {
    return Dual(a.value * factor, a.x * factor.x, a.y * factor.y);
}

fn dual_exp(a: Dual) -> Dual {
    let e = exp(a.value);
    return Dual(e, a.x * e.x, a.y * e.y);
}

// max(a, 0): the derivatives pass where a > 0.
fn dual_positive(a: Dual) -> Dual {
    return dual_scale(a, select(vec2<f32>(0.0), vec2<f32>(1.0), a.value > vec2<f32>(0.0)));
}

// `vanilla` in dual numbers.
fn vanilla_dual(underlying: Dual) -> Dual {
    let strike = dual_constant(vec2<f32>(params.strike));
    if (PUT) {
        return dual_positive(dual_sub(strike, underlying));
    }
    return dual_positive(dual_sub(underlying, strike));
}

struct GreekConstants {
    log_spot: Dual,
    drift: Dual,
    diffusion: Dual,
    crossing: Dual,
    step_sd: f32,
    maturity: f32,
    rate: f32,
    vol: f32,
    drift_score: f32,
    sqrt_dt: f32,
}

var<private> greek: GreekConstants;

fn constant_word(at: u32) -> f32 {
    return bitcast<f32>(qmc[params.scenarios + at]);
}

// The dual constant at word `at`: one value and derivatives for both samples.
fn dual_word(at: u32) -> Dual {
    let tangent = vec4<f32>(constant_word(at + 1u), constant_word(at + 2u), constant_word(at + 3u), constant_word(at + 4u));
    return Dual(vec2<f32>(constant_word(at)), tangent, tangent);
}

fn load_greek_constants() {
    greek = GreekConstants(
        dual_word(0u),
        dual_word(5u),
        dual_word(10u),
        dual_word(15u),
        constant_word(20u),
        constant_word(21u),
        constant_word(22u),
        constant_word(23u),
        constant_word(24u),
        constant_word(25u),
    );
}

// A path in dual numbers; the sum of log prices (for the control) needs no
// derivatives.
struct DualPath {
    log_price: Dual,
    running: Dual,
    log_sum: vec2<f32>,
}

// A path from ln S = `at.x`, whose derivative with respect to the spot is
// `at.y` (1 / S).
fn dual_start(at: vec2<f32>) -> DualPath {
    var start = greek.log_spot;
    start.value = vec2<f32>(at.x);
    start.x.x = at.y;
    start.y.x = at.y;
    return DualPath(start, product_start_dual(start), vec2<f32>(0.0));
}

// The log price one step on from `x`, on the normals `z`. The drift and the
// diffusion do not depend on the spot, nor the diffusion on the rate (a test
// in src/greeks.rs checks `GreekSetup::device_constants`): those tangents'
// zeros are left out, where the device would add and multiply them, read at
// run time.
fn advance_log_price(x: Dual, z: vec2<f32>) -> Dual {
    let drift = greek.drift;
    let diffusion = greek.diffusion;
    return Dual(
        (x.value + drift.value) + diffusion.value * z,
        vec4<f32>(
            x.x.x,
            (x.x.y + drift.x.y) + diffusion.x.y * z.x,
            x.x.z + drift.x.z,
            (x.x.w + drift.x.w) + diffusion.x.w * z.x,
        ),
        vec4<f32>(
            x.y.x,
            (x.y.y + drift.y.y) + diffusion.y.y * z.y,
            x.y.z + drift.y.z,
            (x.y.w + drift.y.w) + diffusion.y.w * z.y,
        ),
    );
}

// One step on the normals `z`.
fn dual_advance(path: DualPath, z: vec2<f32>) -> DualPath {
    let log_price = advance_log_price(path.log_price, z);
    return DualPath(
        log_price,
        product_step_dual(path.running, path.log_price, log_price, greek.crossing),
        path.log_sum + log_price.value,
    );
}

// One sample pair's state: the pathwise paths (and, for a barrier's gamma,
// their first fixings) or the plain paths of the likelihood ratio, each with
// its mirror, and the scores of the normals.
struct Sensitivities {
    up: DualPath,
    down: DualPath,
    first_up: Dual,
    first_down: Dual,
    plain_up: Path,
    plain_down: Path,
    // The first step's normals, their sum and the sum of (z^2 - 1).
    first: vec2<f32>,
    sum: vec2<f32>,
    sum_squares: vec2<f32>,
}

fn start_sensitivities() -> Sensitivities {
    var state: Sensitivities;
    if (GREEKS == GREEKS_LIKELIHOOD_RATIO) {
        state.plain_up = start_path();
        state.plain_down = state.plain_up;
    } else {
        state.up = dual_start(vec2<f32>(greek.log_spot.value.x, greek.log_spot.x.x));
        state.down = state.up;
    }
    return state;
}

// A barrier's log distance on the live side (negative beyond it), in dual
// numbers; only a barrier job's estimator (GREEKS_PATHWISE_BARRIER) calls it.
fn live_distance(log_price: Dual) -> Dual {
    let barrier = dual_constant(vec2<f32>(params.log_barrier));
    if ((params.barrier_flags & 1u) != 0u) {
        return dual_sub(barrier, log_price);
    }
    return dual_sub(log_price, barrier);
}

// A barrier path's first step with the live-side indicator alone: the
// interval's survival probability is applied at the end (`barrier_payoff`).
fn dual_first_step(path: DualPath, z: vec2<f32>) -> DualPath {
    let log_price = advance_log_price(path.log_price, z);
    let alive = select(vec2<f32>(0.0), vec2<f32>(1.0), live_distance(log_price).value > vec2<f32>(0.0));
    return DualPath(log_price, dual_scale(path.running, alive), path.log_sum + log_price.value);
}

// Every path of the state takes step `step` on the normals `z`.
fn step_sensitivities(state: Sensitivities, z: vec2<f32>, step: u32) -> Sensitivities {
    var next = state;
    if (step == 0u) {
        next.first = z;
    }
    next.sum += z;
    next.sum_squares += z * z - 1.0;
    if (GREEKS == GREEKS_LIKELIHOOD_RATIO) {
        // Whole variables behind the pointers (WGSL's rule for pointer
        // arguments), copied back.
        let shock = params.diffusion * z;
        var up = next.plain_up;
        advance(&up, params.drift + shock);
        next.plain_up = up;
        if (ANTITHETIC) {
            var down = next.plain_down;
            advance(&down, params.drift - shock);
            next.plain_down = down;
        }
        return next;
    }
    if (GREEKS == GREEKS_PATHWISE_BARRIER && step == 0u) {
        next.up = dual_first_step(next.up, z);
        next.first_up = next.up.log_price;
        if (ANTITHETIC) {
            next.down = dual_first_step(next.down, -z);
            next.first_down = next.down.log_price;
        }
        return next;
    }
    next.up = dual_advance(next.up, z);
    if (ANTITHETIC) {
        next.down = dual_advance(next.down, -z);
    }
    return next;
}

// A finished path's undiscounted payoff in dual numbers, and the part of
// its raw gamma beyond the mixed estimator's (zero but for a barrier).
struct PathPayoff {
    f: Dual,
    first_interval: vec2<f32>,
}

// The payoff of a finished path; for a continuously watched barrier (the
// twin of `GreekSetup::barrier_payoff`, which derives it), its value
// `q1 A + B` from the walk's `A + B` (first step with the indicator alone),
// the dead path's `B` and the first interval's survival `q1`, and the
// part of its gamma the first interval adds, `(q1_xx + q1_xy) A / S + q1_x dA/dS`.
fn path_payoff(path: DualPath, first: Dual) -> PathPayoff {
    let with_indicator = product_payoff_dual(path.log_price, path.running);
    if (GREEKS != GREEKS_PATHWISE_BARRIER) {
        return PathPayoff(with_indicator, vec2<f32>(0.0));
    }
    let b = product_payoff_dual(path.log_price, dual_constant(vec2<f32>(0.0)));
    let a = dual_sub(with_indicator, b);
    let d0 = dual_positive(live_distance(greek.log_spot));
    let d1 = dual_positive(live_distance(first));
    let e = dual_exp(dual_mul(greek.crossing, dual_mul(d0, d1)));
    let q1 = dual_sub(dual_constant(vec2<f32>(1.0)), e);
    let f = dual_add(dual_mul(q1, a), b);
    let c = greek.crossing.value;
    var g = 1.0;
    if ((params.barrier_flags & 1u) != 0u) {
        g = -1.0;
    }
    let q1_x = -(g * c * d1.value * e.value);
    let q1_xx = -(c * c * d1.value * d1.value * e.value);
    let q1_xy = -(c * e.value * (c * d0.value * d1.value + 1.0));
    let first_interval = (q1_xx + q1_xy) * a.value * greek.log_spot.x.x + q1_x * vec2<f32>(a.x.x, a.y.x);
    return PathPayoff(f, first_interval);
}

// The raw pathwise estimators of a finished path's payoff (value and
// derivatives): delta, gamma (mixed: the likelihood ratio of the first step
// on the pathwise delta, plus `first_interval`, a barrier's first interval's own
// dependence on the spot), vega, rho = f_r - T f, and -d/dT = r f - f_T.
// `sign` is -1 for a mirror.
fn pathwise_estimators(payoff: PathPayoff, state: Sensitivities, sign: f32) -> array<vec2<f32>, 5> {
    let f = payoff.f;
    let delta = vec2<f32>(f.x.x, f.y.x);
    let gamma = (sign / greek.step_sd * state.first - 1.0) * delta + payoff.first_interval;
    return array<vec2<f32>, 5>(
        delta,
        gamma,
        vec2<f32>(f.x.y, f.y.y),
        vec2<f32>(f.x.z, f.y.z) - greek.maturity * f.value,
        greek.rate * f.value - vec2<f32>(f.x.w, f.y.w),
    );
}

// The raw likelihood-ratio estimators of payoff `f` on the state's normals
// times `sign`: the payoff times each parameter's score.
fn likelihood_ratio_estimators(f: vec2<f32>, state: Sensitivities, sign: f32) -> array<vec2<f32>, 5> {
    let first = sign * state.first;
    let sum = sign * state.sum;
    let vol_score = state.sum_squares / greek.vol - sum * greek.sqrt_dt;
    let rate_score = sum * (greek.sqrt_dt / greek.vol);
    let maturity_score = 0.5 * state.sum_squares + sum * greek.drift_score;
    let gamma_weight = (first * first - 1.0) / (greek.step_sd * greek.step_sd) - first / greek.step_sd;
    return array<vec2<f32>, 5>(
        f * first,
        f * gamma_weight,
        f * vol_score,
        f * (rate_score - greek.maturity),
        f * (greek.rate - maturity_score / greek.maturity),
    );
}

// The estimators of a path and its mirror averaged (constant indices: see
// shaders/price.wgsl).
fn mean_of(a: array<vec2<f32>, 5>, b: array<vec2<f32>, 5>) -> array<vec2<f32>, 5> {
    return array<vec2<f32>, 5>(
        0.5 * (a[0] + b[0]),
        0.5 * (a[1] + b[1]),
        0.5 * (a[2] + b[2]),
        0.5 * (a[3] + b[3]),
        0.5 * (a[4] + b[4]),
    );
}

// The payoffs, controls and raw estimators of the state's finished paths,
// averaged with the mirrors when antithetic.
fn finish_sensitivities(state: Sensitivities) -> GreekValues {
    var result: GreekValues;
    if (GREEKS == GREEKS_LIKELIHOOD_RATIO) {
        result.values = finish(state.plain_up, state.plain_down);
        let up = product_payoff(state.plain_up.log_price, state.plain_up.running);
        result.greeks = likelihood_ratio_estimators(up, state, 1.0);
        if (ANTITHETIC) {
            let down = product_payoff(state.plain_down.log_price, state.plain_down.running);
            let mirror = likelihood_ratio_estimators(down, state, -1.0);
            result.greeks = mean_of(result.greeks, mirror);
        }
        return result;
    }
    let up = path_payoff(state.up, state.first_up);
    result.values = Values(up.f.value, vec2<f32>(0.0));
    if (CONTROL) {
        result.values.control = product_control(state.up.log_price.value, state.up.running.value, state.up.log_sum);
    }
    result.greeks = pathwise_estimators(up, state, 1.0);
    if (ANTITHETIC) {
        let down = path_payoff(state.down, state.first_down);
        result.values.payoff = 0.5 * (result.values.payoff + down.f.value);
        if (CONTROL) {
            result.values.control = 0.5 * (result.values.control
                + product_control(state.down.log_price.value, state.down.running.value, state.down.log_sum));
        }
        let mirror = pathwise_estimators(down, state, -1.0);
        result.greeks = mean_of(result.greeks, mirror);
    }
    return result;
}
