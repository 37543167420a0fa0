// Barrier option (the twin of src/products/barrier.rs): the running
// statistic is the probability of not having reached the barrier, 1 at the
// start; the flags of `params.barrier_flags` are bit 0 up, bit 1 knock-in,
// bit 2 continuous monitoring.

// The log distance to the barrier on the live side (negative beyond it).
fn distance(log_price: vec2<f32>) -> vec2<f32> {
    if ((params.barrier_flags & 1u) != 0u) {
        return params.log_barrier - log_price;
    }
    return log_price - params.log_barrier;
}

// 1 on the live side, 0 when the spot is already at or beyond the barrier.
fn product_start(log_spot: vec2<f32>) -> vec2<f32> {
    return select(vec2<f32>(0.0), vec2<f32>(1.0), distance(log_spot) > vec2<f32>(0.0));
}

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: f32) -> vec2<f32> {
    let before = distance(previous);
    let after = distance(log_price);
    let alive = select(vec2<f32>(0.0), vec2<f32>(1.0), after > vec2<f32>(0.0));
    if ((params.barrier_flags & 4u) != 0u) {
        let survival = 1.0 - exp(crossing * max(before, vec2<f32>(0.0)) * max(after, vec2<f32>(0.0)));
        return running * alive * survival;
    }
    return running * alive;
}

fn product_payoff(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    let value = vanilla(exp(log_price));
    var alive = running;
    if ((params.barrier_flags & 2u) != 0u) {
        alive = 1.0 - running;
    }
    return alive * value + (1.0 - alive) * params.rebate;
}

// The control variate: the terminal price.
fn product_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}

// In dual numbers (shaders/greeks.wgsl), for the pathwise Greeks of a
// continuously watched barrier (a discretely watched one jumps and takes the
// likelihood ratio). Indicators carry no derivatives.
fn distance_dual(log_price: Dual) -> Dual {
    let barrier = dual_constant(vec2<f32>(params.log_barrier));
    if ((params.barrier_flags & 1u) != 0u) {
        return dual_sub(barrier, log_price);
    }
    return dual_sub(log_price, barrier);
}

fn product_start_dual(log_spot: Dual) -> Dual {
    return dual_constant(product_start(log_spot.value));
}

fn product_step_dual(running: Dual, previous: Dual, log_price: Dual, crossing: Dual) -> Dual {
    let before = distance_dual(previous);
    let after = distance_dual(log_price);
    let alive = dual_scale(running, select(vec2<f32>(0.0), vec2<f32>(1.0), after.value > vec2<f32>(0.0)));
    if ((params.barrier_flags & 4u) != 0u) {
        let exponent = dual_mul(crossing, dual_mul(dual_positive(before), dual_positive(after)));
        return dual_mul(alive, dual_sub(dual_constant(vec2<f32>(1.0)), dual_exp(exponent)));
    }
    return alive;
}

fn product_payoff_dual(log_price: Dual, running: Dual) -> Dual {
    let value = vanilla_dual(dual_exp(log_price));
    var alive = running;
    if ((params.barrier_flags & 2u) != 0u) {
        alive = dual_sub(dual_constant(vec2<f32>(1.0)), running);
    }
    let dead = dual_sub(dual_constant(vec2<f32>(1.0)), alive);
    return dual_add(dual_mul(alive, value), dual_scale(dead, vec2<f32>(params.rebate)));
}
