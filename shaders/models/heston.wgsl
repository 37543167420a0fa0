// Heston (the twin of src/models/heston.rs): factor 0 drives the log
// price, factor 1 the variance; QE with its martingale correction or
// full-truncation Euler (`heston_advance`, shaders/models/common.wgsl).

const MODEL_FACTORS: u32 = 2u;
const MODEL_BLACK_SCHOLES: bool = false;
const MODEL_STOCHASTIC_VARIANCE: bool = true;

fn load_model() {
    load_heston(0u);
}

fn model_start() -> vec2<f32> {
    return vec2<f32>(heston.v0);
}

fn model_step(variance: ptr<function, vec2<f32>>, x: vec2<f32>, z: array<vec2<f32>, MODEL_FACTORS>) -> StepResult {
    return heston_advance(variance, x, z[0], z[1]);
}
