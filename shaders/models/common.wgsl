// What the models' WGSL twins share (the twin of src/models/heston.rs'
// and src/models/merton.rs' steps): Heston's QE and Euler steps and the
// jumps' exact step on two paths, in f32. Their constants are f32 words of
// `qmc` from word `params.model` (`Dynamics::device_words`): Heston's
// HESTON_WORDS first where the model has them, then the jumps' (mean,
// vol, table length, the table of P(N > n)).

// A step's new log price and its variance of the log price (a continuously
// watched barrier's bridge reads it).
struct StepResult {
    log_price: vec2<f32>,
    variance: vec2<f32>,
}

fn model_word(at: u32) -> f32 {
    return bitcast<f32>(qmc[params.model + at]);
}

// Hart's normal distribution function (as shaders/revaluation.wgsl), on two
// values.
fn normal_cdf2(x: vec2<f32>) -> vec2<f32> {
    let a = abs(x);
    let e = exp(-0.5 * a * a);
    var p = vec2<f32>(HART_P[6]);
    for (var i = 5; i >= 0; i--) {
        p = p * a + HART_P[i];
    }
    var q = vec2<f32>(HART_Q[7]);
    for (var i = 6; i >= 0; i--) {
        q = q * a + HART_Q[i];
    }
    var fraction = a + 0.65;
    for (var k = 4.0; k >= 1.0; k -= 1.0) {
        fraction = a + k / fraction;
    }
    var tail = select(e * p / q, e / fraction / 2.5066282746310002, a >= vec2<f32>(HART_SPLIT));
    tail = select(tail, vec2<f32>(0.0), a > vec2<f32>(HART_CUTOFF));
    return select(tail, 1.0 - tail, x > vec2<f32>(0.0));
}

// ln(1 + x) on two values: a series where |x| < 1/64 (WGSL's log may err
// by 2^-21 absolute near 1, which would round QE's martingale correction
// away near zero variance), the log beyond.
fn log_1p(x: vec2<f32>) -> vec2<f32> {
    let series = x * (1.0 + x * (-0.5 + x * (1.0 / 3.0 + x * (-0.25 + x * (0.2 + x * (-1.0 / 6.0))))));
    return select(log(1.0 + x), series, abs(x) < vec2<f32>(0.015625));
}

struct HestonConstants {
    euler: f32,
    v0: f32,
    dt: f32,
    decay: f32,
    theta_growth: f32,
    variance_v: f32,
    variance_theta: f32,
    k0: f32,
    k1: f32,
    k2: f32,
    k3: f32,
    k4: f32,
    a: f32,
    kappa_dt: f32,
    theta: f32,
    xi_sqrt_dt: f32,
    rho: f32,
    rho_complement: f32,
}

var<private> heston: HestonConstants;

fn load_heston(at: u32) {
    heston = HestonConstants(
        model_word(at), model_word(at + 1u), model_word(at + 2u), model_word(at + 3u),
        model_word(at + 4u), model_word(at + 5u), model_word(at + 6u), model_word(at + 7u),
        model_word(at + 8u), model_word(at + 9u), model_word(at + 10u), model_word(at + 11u),
        model_word(at + 12u), model_word(at + 13u), model_word(at + 14u), model_word(at + 15u),
        model_word(at + 16u), model_word(at + 17u),
    );
}

// A QE branch's new variance, whether the martingale correction's moment
// exists (> 0), and -ln E[e^{A v'}] (src/models/heston.rs).
struct QeBranch {
    v: vec2<f32>,
    exists: vec2<f32>,
    moment: vec2<f32>,
}

fn qe_quadratic(m: vec2<f32>, m2: vec2<f32>, s2: vec2<f32>, zv: vec2<f32>) -> QeBranch {
    let two_over = (m2 + m2) / s2;
    let b2 = two_over - 1.0 + sqrt(max(two_over * (two_over - 1.0), vec2<f32>(0.0)));
    let a = m / (1.0 + b2);
    let shifted = sqrt(b2) + zv;
    let one_minus = 1.0 - 2.0 * heston.a * a;
    let moment = -(heston.a * b2 * a) / one_minus + 0.5 * log_1p(max(-2.0 * heston.a * a, vec2<f32>(-1.0 + 1e-7)));
    return QeBranch(a * shifted * shifted, one_minus, moment);
}

// 1 - p = 2 / (psi + 1), never formed from p (f32 would lose its digits).
fn qe_exponential(m: vec2<f32>, psi: vec2<f32>, zv: vec2<f32>) -> QeBranch {
    let one_minus_p = 2.0 / (psi + 1.0);
    let beta = one_minus_p / m;
    let tail = normal_cdf2(-zv);
    let v = max(log(one_minus_p / tail), vec2<f32>(0.0)) / beta;
    let moment = -log_1p(max(one_minus_p * heston.a / (beta - heston.a), vec2<f32>(-1.0 + 1e-7)));
    return QeBranch(v, beta - heston.a, moment);
}

// One Heston step of two paths from log price `x` and `*variance` on the
// normals `zx` (price) and `zv` (variance); `params.drift` is (r - q) dt
// with any jump compensator.
fn heston_advance(variance: ptr<function, vec2<f32>>, x: vec2<f32>, zx: vec2<f32>, zv: vec2<f32>) -> StepResult {
    let v = *variance;
    let h = heston;
    if (h.euler != 0.0) {
        let positive = max(v, vec2<f32>(0.0));
        let step_variance = positive * h.dt;
        let next_x = sqrt(step_variance) * zx + (positive * (-0.5 * h.dt) + (x + params.drift));
        let correlated = zx * h.rho + zv * h.rho_complement;
        *variance = sqrt(positive) * h.xi_sqrt_dt * correlated + ((h.theta - positive) * h.kappa_dt + v);
        return StepResult(next_x, step_variance);
    }
    // QE: the conditional mean and variance of v(t + dt), kept off zero.
    let m = max(v * h.decay + h.theta_growth, vec2<f32>(1e-30));
    let s2 = v * h.variance_v + h.variance_theta;
    let m2 = m * m;
    // psi = s2 / m2 < 1.5, without the division; two samples that agree
    // compute their branch alone.
    let quadratic = s2 < PSI_SWITCH * m2;
    var branch: QeBranch;
    if (all(quadratic)) {
        branch = qe_quadratic(m, m2, s2, zv);
    } else if (!any(quadratic)) {
        branch = qe_exponential(m, s2 / m2, zv);
    } else {
        let q = qe_quadratic(m, m2, s2, zv);
        let e = qe_exponential(m, s2 / m2, zv);
        branch = QeBranch(select(e.v, q.v, quadratic), select(e.exists, q.exists, quadratic), select(e.moment, q.moment, quadratic));
    }
    let next_v = branch.v;
    let exists = branch.exists > vec2<f32>(0.0);
    let moment = branch.moment;
    let k0 = select(vec2<f32>(h.k0), moment - v * (h.k1 + 0.5 * h.k3), exists);
    let conditional = max(v * h.k3 + next_v * h.k4, vec2<f32>(0.0));
    let next_x = sqrt(conditional) * zx + (next_v * h.k2 + (v * h.k1 + ((x + params.drift) + k0)));
    *variance = next_v;
    return StepResult(next_x, (v + next_v) * (0.5 * h.dt));
}

// The jump of a step from its count's normals `zc` and its size's `zs`;
// the jumps' words start at word `at` of the model's.
fn jump(at: u32, zc: vec2<f32>, zs: vec2<f32>) -> vec2<f32> {
    let mean = model_word(at);
    let vol = model_word(at + 1u);
    let used = bitcast<u32>(model_word(at + 2u));
    let v = normal_cdf2(-zc);
    var count = vec2<f32>(0.0);
    for (var n = 0u; n < used; n++) {
        let tail = model_word(at + 3u + n);
        if (all(v >= vec2<f32>(tail))) {
            break;
        }
        count += select(vec2<f32>(0.0), vec2<f32>(1.0), v < vec2<f32>(tail));
    }
    return count * mean + sqrt(count) * vol * zs;
}
