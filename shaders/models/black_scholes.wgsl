// Black-Scholes (the twin of src/models/black_scholes.rs): one normal a
// step, `x + drift + diffusion z`. The pricing kernel keeps its original,
// specialised walks for this model (MODEL_BLACK_SCHOLES); `model_step`
// states the same step for the model interface.

const MODEL_FACTORS: u32 = 1u;
const MODEL_BLACK_SCHOLES: bool = true;
const MODEL_STOCHASTIC_VARIANCE: bool = false;

fn load_model() {}

fn model_start() -> vec2<f32> {
    return vec2<f32>(0.0);
}

fn model_step(variance: ptr<function, vec2<f32>>, x: vec2<f32>, z: array<vec2<f32>, MODEL_FACTORS>) -> StepResult {
    return StepResult(x + (params.drift + params.diffusion * z[0]), vec2<f32>(params.diffusion * params.diffusion));
}
