// Arithmetic Asian (the twin of src/products/asian_arithmetic.rs): the running
// statistic is the sum of the fixing prices.

fn product_start(log_spot: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: vec2<f32>) -> vec2<f32> {
    return running + exp(log_price);
}

fn product_payoff(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    return vanilla(running / params.fixings);
}

// The control variate: the geometric Asian on the same fixings.
fn product_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return vanilla(exp(log_sum / params.fixings));
}

// The control variate under any model (src/models): the average of the
// fixings, whose mean is the average of the forwards.
fn product_model_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return running / params.fixings;
}

// In dual numbers (shaders/greeks.wgsl), for the pathwise Greeks.
fn product_start_dual(log_spot: Dual) -> Dual {
    return dual_constant(vec2<f32>(0.0));
}

fn product_step_dual(running: Dual, previous: Dual, log_price: Dual, crossing: Dual) -> Dual {
    return dual_add(running, dual_exp(log_price));
}

fn product_payoff_dual(log_price: Dual, running: Dual) -> Dual {
    return vanilla_dual(dual_scale(running, vec2<f32>(1.0 / params.fixings)));
}
