// Bates (the twin of src/models/bates.rs): Heston's step on factors 0 and
// 1, Merton's jumps on factors 2 and 3 (the jumps' words follow Heston's).

const MODEL_FACTORS: u32 = 4u;
const MODEL_BLACK_SCHOLES: bool = false;
const MODEL_STOCHASTIC_VARIANCE: bool = true;

fn load_model() {
    load_heston(0u);
}

fn model_start() -> vec2<f32> {
    return vec2<f32>(heston.v0);
}

fn model_step(variance: ptr<function, vec2<f32>>, x: vec2<f32>, z: array<vec2<f32>, MODEL_FACTORS>) -> StepResult {
    let step = heston_advance(variance, x, z[0], z[1]);
    return StepResult(step.log_price + jump(HESTON_WORDS, z[2], z[3]), step.variance);
}
