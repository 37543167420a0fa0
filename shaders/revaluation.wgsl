// Option positions revalued at the horizon: the f32 twin of
// src/revaluation.rs (Black-Scholes with Hart's normal distribution
// function, the same steps). The book follows the k loadings in `loadings`:
// per underlying (params.underlyings) its k factor loadings, drift and
// price (UNDERLYING_FIELDS past the factors); then per option
// (params.options) OPTION_FIELDS values in `Revalued`'s order. The host
// generates HART_P, HART_Q, HART_SPLIT, HART_CUTOFF, MAX_UNDERLYINGS and the
// field counts from the Rust ones.

fn normal_cdf(x: f32) -> f32 {
    let a = abs(x);
    var tail = 0.0;
    if (a <= HART_CUTOFF) {
        let e = exp(-0.5 * a * a);
        if (a < HART_SPLIT) {
            var p = HART_P[6];
            for (var i = 5; i >= 0; i--) {
                p = p * a + HART_P[i];
            }
            var q = HART_Q[7];
            for (var i = 6; i >= 0; i--) {
                q = q * a + HART_Q[i];
            }
            tail = e * p / q;
        } else {
            var fraction = a + 0.65;
            for (var k = 4.0; k >= 1.0; k -= 1.0) {
                fraction = a + k / fraction;
            }
            tail = e / fraction / 2.5066282746310002;
        }
    }
    return select(tail, 1.0 - tail, x > 0.0);
}

// Option `o`'s value per unit at horizon price `spot`.
fn option_value(o: u32, spot_in: f32) -> f32 {
    let base = params.assets + params.underlyings * (params.assets + UNDERLYING_FIELDS) + o * OPTION_FIELDS;
    let sign = loadings[base + 1u];
    let strike = loadings[base + 3u];
    if (loadings[base + 4u] != 0.0) {
        return max(sign * (spot_in - strike), 0.0);
    }
    let spot = max(spot_in, 1e-30);
    let sd = loadings[base + 6u];
    let d1 = (log(spot) - loadings[base + 5u] + loadings[base + 7u]) / sd;
    let d2 = d1 - sd;
    return sign * (spot * loadings[base + 8u] * normal_cdf(sign * d1)
        - strike * loadings[base + 9u] * normal_cdf(sign * d2));
}

// The options' value at the horizon given each underlying's return.
fn book_value(returns: ptr<function, array<f32, MAX_UNDERLYINGS>>) -> f32 {
    var total = 0.0;
    for (var o = 0u; o < params.options; o++) {
        let base = params.assets + params.underlyings * (params.assets + UNDERLYING_FIELDS) + o * OPTION_FIELDS;
        let u = u32(loadings[base]);
        let price = loadings[params.assets + u * (params.assets + UNDERLYING_FIELDS) + params.assets + 1u];
        total += loadings[base + 2u] * option_value(o, price * (1.0 + (*returns)[u]));
    }
    return total;
}
