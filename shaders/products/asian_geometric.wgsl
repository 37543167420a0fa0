// Geometric Asian (the twin of src/products/asian_geometric.rs): the running
// statistic is the sum of the fixing log prices.

fn product_start(log_spot: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn product_step(running: vec2<f32>, previous: vec2<f32>, log_price: vec2<f32>, crossing: f32) -> vec2<f32> {
    return running + log_price;
}

fn product_payoff(log_price: vec2<f32>, running: vec2<f32>) -> vec2<f32> {
    return vanilla(exp(running / params.fixings));
}

// The control variate: the terminal price (src/products/asian_geometric.rs).
fn product_control(log_price: vec2<f32>, running: vec2<f32>, log_sum: vec2<f32>) -> vec2<f32> {
    return exp(log_price);
}
