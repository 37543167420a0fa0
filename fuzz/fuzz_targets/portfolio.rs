//! Any bytes as a portfolio file: an error or a valid portfolio, never a
//! panic; a valid one then goes through the risk model, the closed forms
//! (delta and delta-gamma for a book with options) and a small scalar run,
//! which must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(portfolio) = quantmc::Portfolio::from_json(text, "fuzz.json".as_ref()) {
        let job = quantmc::VarJob {
            portfolio,
            scenarios: 16,
            confidences: vec![quantmc::Confidence::new(0.99)],
            horizon_days: 1.0,
            distribution: quantmc::ReturnDistribution::Normal,
            seed: 1,
        };
        if let Ok(model) = job.risk_model() {
            let _ = model.parametric(0.99);
            let _ = job.closed_forms(&model);
            // Options are revalued per scenario: the run is an error or
            // finite figures.
            if let Ok(result) = quantmc::var(&job, quantmc::Backend::Scalar) {
                assert!(result.levels.iter().all(|l| l.var.is_finite() && l.es.is_finite()));
            }
        }
    }
});
