// Geometric Asian (the twin of src/products/asian_geometric.rs): the running
// statistic is the sum of the fixing log prices.

fn product_start(log_spot: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: vec2<f32>) -> vec2<f32> {
    return running + log_price;
}

fn product_payoff(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    return vanilla(exp(running / params.fixings));
}

// The control variate: the terminal price (src/products/asian_geometric.rs).
fn product_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}

// The control variate under any model (src/models): the terminal price.
fn product_model_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}

// In dual numbers (shaders/greeks.wgsl), for the pathwise Greeks.
fn product_start_dual(log_spot: Dual) -> Dual {
    return dual_constant(vec2<f32>(0.0));
}

fn product_step_dual(running: Dual, previous: Dual, log_price: Dual, crossing: Dual) -> Dual {
    return dual_add(running, log_price);
}

fn product_payoff_dual(log_price: Dual, running: Dual) -> Dual {
    return vanilla_dual(dual_exp(dual_scale(running, vec2<f32>(1.0 / params.fixings))));
}
