// The Brownian bridges of a randomized QMC point with several factors (the
// models' factors, or a basket's assets), shared by the pricing and basket
// kernels: MODEL_FACTORS and BRIDGE_CAPACITY come from the module, the
// tables from `qmc` (shaders/qmc.wgsl) at `params.scrambles` and
// `params.bridge`.

// Every factor's Brownian values at the fixings of points `point` (even)
// and `point + 1`: factor f's at w[f n .. f n + n], its bridge reading
// dimensions i MODEL_FACTORS + f.
fn fill_model_bridges(w: ptr<function, array<vec2<f32>, BRIDGE_CAPACITY>>, point: u32, n: u32) {
    for (var f = 0u; f < MODEL_FACTORS; f++) {
        let offset = f * n;
        for (var i = 0u; i < n; i++) {
            let d = i * MODEL_FACTORS + f;
            let z = qmc_normal_pair(point, d, qmc[params.scrambles + d]);
            let b = params.bridge + 8u * i;
            let weights = bitcast<vec3<f32>>(vec3<u32>(qmc[b + 4u], qmc[b + 5u], qmc[b + 6u]));
            if (i == 0u) {
                (*w)[offset + n - 1u] = weights.z * z;
            } else {
                var value = weights.y * (*w)[offset + qmc[b + 2u]] + weights.z * z;
                let left = qmc[b + 1u];
                if (left != 0u) {
                    value += weights.x * (*w)[offset + left - 1u];
                }
                (*w)[offset + qmc[b]] = value;
            }
        }
    }
}

// Every factor's increment over step `step` of the bridges' values `w`.
fn bridge_increments(w: ptr<function, array<vec2<f32>, BRIDGE_CAPACITY>>, n: u32, step: u32) -> array<vec2<f32>, MODEL_FACTORS> {
    var z: array<vec2<f32>, MODEL_FACTORS>;
    for (var f = 0u; f < MODEL_FACTORS; f++) {
        let at = f * n + step;
        var increment = (*w)[at];
        if (step > 0u) {
            increment -= (*w)[at - 1u];
        }
        z[f] = increment;
    }
    return z;
}
