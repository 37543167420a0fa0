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
