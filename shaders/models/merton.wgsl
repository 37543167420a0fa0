// Merton (the twin of src/models/merton.rs): Black-Scholes' diffusion on
// factor 0 (the drift carries the jumps' compensator), the jumps' count on
// factor 1 and their summed size on factor 2 (`jump`,
// shaders/models/common.wgsl).

const MODEL_FACTORS: u32 = 3u;
const MODEL_BLACK_SCHOLES: bool = false;
const MODEL_STOCHASTIC_VARIANCE: bool = false;

fn load_model() {}

fn model_start() -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn model_step(variance: ptr<function, vec2<f32>>, x: vec2<f32>, z: array<vec2<f32>, MODEL_FACTORS>) -> StepResult {
    let diffused = x + (params.drift + params.diffusion * z[0]);
    return StepResult(diffused + jump(0u, z[1], z[2]), vec2<f32>(params.diffusion * params.diffusion));
}
