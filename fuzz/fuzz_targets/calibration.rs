//! Any bytes as a calibration file: a problem or a calibration whose
//! crossovers are finite, non-negative work counts, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(calibration) = quantmc::selector::parse_calibration(text, "fuzz.json".as_ref()) {
        for crossovers in [&calibration.tuning.pricing, &calibration.tuning.risk] {
            for (_, units) in crossovers.entries() {
                assert!(units.is_finite() && units >= 0.0);
            }
        }
    }
});
