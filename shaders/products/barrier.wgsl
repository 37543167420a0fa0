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

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: vec2<f32>) -> vec2<f32> {
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

// The control variate under any model (src/models): the terminal price.
fn product_model_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}

// In dual numbers (shaders/greeks.wgsl), for the pathwise Greeks of a
// continuously watched barrier (a discretely watched one jumps and takes the
// likelihood ratio). Indicators carry no derivatives.
fn product_start_dual(log_spot: Dual) -> Dual {
    return dual_constant(product_start(log_spot.value));
}

// The running survival `R' = R [d1 > 0] q`, `q = 1 - exp(c d0+ d1+)` on
// the live-side distances before (`d0`) and after (`d1`) the step, written
// out rather than in dual arithmetic, which ran the Greeks at 2.03x the
// price on an H200 (1.55x written out): the indicators carry no tangents,
// and the distances' tangents are the log price's times `g` (-1 for an up
// barrier). Where a distance is not positive the path is dead (`R` is 0
// with zero tangents, or the indicator is 0), so the tangents leave out
// `max`'s indicators too: `R'_t = [d1 > 0] (q R_t + R q_t)`,
// `q_t = -e (c_t d0 d1 + c g (d1 x0_t + d0 x1_t))`.
fn product_step_dual(running: Dual, previous: Dual, log_price: Dual, crossing: Dual) -> Dual {
    let alive = select(vec2<f32>(0.0), vec2<f32>(1.0), distance(log_price.value) > vec2<f32>(0.0));
    if ((params.barrier_flags & 4u) == 0u) {
        return dual_scale(running, alive);
    }
    let before = max(distance(previous.value), vec2<f32>(0.0));
    let after = max(distance(log_price.value), vec2<f32>(0.0));
    let both = before * after;
    let e = exp(crossing.value * both);
    var cg = crossing.value;
    if ((params.barrier_flags & 1u) != 0u) {
        cg = -cg;
    }
    let exponent_x = crossing.x * both.x + cg.x * (after.x * previous.x + before.x * log_price.x);
    let exponent_y = crossing.y * both.y + cg.y * (after.y * previous.y + before.y * log_price.y);
    let kept = alive * (1.0 - e);
    let weight = -(alive * running.value * e);
    return Dual(running.value * kept, running.x * kept.x + weight.x * exponent_x, running.y * kept.y + weight.y * exponent_y);
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
