// Cash-or-nothing digital (the twin of src/products/digital.rs): pays 1 when
// the terminal price ends beyond the strike.

fn product_start(log_spot: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: vec2<f32>) -> vec2<f32> {
    return running;
}

fn product_payoff(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    let terminal = exp(log_price);
    var beyond = terminal > vec2<f32>(params.strike);
    if (PUT) {
        beyond = terminal < vec2<f32>(params.strike);
    }
    return select(vec2<f32>(0.0), vec2<f32>(1.0), beyond);
}

// The control variate: the terminal price (src/products/digital.rs).
fn product_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}

// The control variate under any model (src/models): the terminal price.
fn product_model_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}

// In dual numbers (shaders/greeks.wgsl): the payoff jumps, so its pathwise
// derivatives are zero almost everywhere and the Greeks take the likelihood
// ratio instead; these complete the module.
fn product_start_dual(log_spot: Dual) -> Dual {
    return dual_constant(vec2<f32>(0.0));
}

fn product_step_dual(running: Dual, previous: Dual, log_price: Dual, crossing: Dual) -> Dual {
    return running;
}

fn product_payoff_dual(log_price: Dual, running: Dual) -> Dual {
    return dual_constant(product_payoff(log_price.value, running.value));
}
