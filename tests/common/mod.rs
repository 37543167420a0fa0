//! Jobs shared by the tier tests (tiers.rs, gpu.rs).

use quantmc::{Market, OptionKind, OptionSpec, PricingJob, Style};

/// Every product, call and put, at several step counts, the same in every
/// tier comparison.
pub const PRODUCTS: &[(OptionKind, Style, u32)] = &[
    (OptionKind::Call, Style::European, 1),
    (OptionKind::Put, Style::European, 1),
    (OptionKind::Call, Style::AsianArithmetic, 12),
    (OptionKind::Put, Style::AsianArithmetic, 7),
    (OptionKind::Call, Style::AsianGeometric, 5),
    (OptionKind::Put, Style::AsianGeometric, 12),
    (OptionKind::Call, Style::Digital, 1),
    (OptionKind::Put, Style::Digital, 1),
];

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
        ..Default::default()
    }
}
