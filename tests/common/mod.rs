//! Jobs shared by the tier tests (tiers.rs, gpu.rs).

use quantmc::{Market, OptionKind, OptionSpec, PricingJob, Style};

/// A mid-range market and contract, the same in every tier comparison.
pub fn pricing_job(
    kind: OptionKind,
    style: Style,
    steps: u32,
    paths: u64,
    antithetic: bool,
) -> PricingJob {
    PricingJob {
        market: Market {
            spot: 100.0,
            rate: 0.03,
            dividend: 0.01,
            vol: 0.25,
        },
        option: OptionSpec {
            kind,
            style,
            strike: 102.0,
            maturity: 0.8,
            steps,
        },
        paths,
        seed: 0xfeed_beef,
        antithetic,
    }
}
