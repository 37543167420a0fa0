// European (the twin of src/products/european.rs): payoff on the terminal price.

fn product_start(log_spot: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: vec2<f32>) -> vec2<f32> {
    return running;
}

fn product_payoff(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    return vanilla(exp(log_price));
}

// The control variate: the terminal price (src/products/european.rs).
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
    return running;
}

fn product_payoff_dual(log_price: Dual, running: Dual) -> Dual {
    return vanilla_dual(dual_exp(log_price));
}
