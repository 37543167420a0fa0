//! Any bytes as a price file: an error or a valid history, never a panic; a
//! valid one is then fitted (sample and EWMA, with and without the nearest
//! correlation repair) and run through historical simulation, which must not
//! panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quantmc::fit::{FitJob, PriceHistory, Weighting, Weights, fit};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(history) = PriceHistory::from_csv(text, "fuzz.csv".as_ref()) else {
        return;
    };
    for (weighting, nearest_psd) in [
        (Weighting::Sample, false),
        (Weighting::Ewma { lambda: 0.94 }, true),
    ] {
        let job = FitJob {
            weighting,
            nearest_psd,
            value: 1e6,
            weights: Weights::Equal,
            overlay: Default::default(),
        };
        if let Ok(fitted) = fit(&history, &job) {
            let levels = [quantmc::Confidence::new(0.99)];
            let _ = quantmc::historical::historical_var(
                &fitted.portfolio,
                &history,
                &levels,
                2.0,
                Some(0.94),
            );
        }
    }
});
