//! Path and scenario counts as people write them: `1000000`, `1_000_000`,
//! `1e6`, `1M`.

/// Parses a positive or zero count. Accepts digits with `_` separators,
/// scientific notation (`2.5e7`) and the suffixes `K`, `M`, `G`/`B` (powers of
/// 1000, either case). Plain integers are taken exactly, up to `u64::MAX`
/// (the job's validation then caps counts at 2^52 with a message naming the
/// flag); every other spelling must be a whole number of at most 2^52.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let cleaned: String = text.trim().chars().filter(|&c| c != '_').collect();
    let (number, multiplier) = match cleaned.char_indices().last() {
        Some((at, suffix)) if suffix.is_ascii_alphabetic() && !cleaned.ends_with(['e', 'E']) => {
            let multiplier = match suffix.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'G' | 'B' => 1e9,
                _ => {
                    return Err(format!(
                        "'{text}' has an unknown suffix '{suffix}' (use K, M or G)"
                    ));
                }
            };
            (&cleaned[..at], multiplier)
        }
        _ => (cleaned.as_str(), 1.0),
    };
    if let Ok(whole) = number.parse::<u64>()
        && multiplier == 1.0
    {
        return Ok(whole);
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a count (try 1000000, 1e6, 1_000_000 or 1M)"))?;
    let value = value * multiplier;
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "'{text}' is not a count: it must be a finite number >= 0"
        ));
    }
    if value.fract() != 0.0 {
        return Err(format!("'{text}' is not a whole number"));
    }
    // 2^52 is the largest count any job takes (paths, scenarios), and
    // every whole number up to it is exact in f64.
    if value > 4_503_599_627_370_496.0 {
        return Err(format!(
            "'{text}' is too large (the largest count is 2^52 = 4503599627370496)"
        ));
    }
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn accepts_the_documented_spellings() {
        for text in [
            "1000000",
            "1e6",
            "1_000_000",
            "1M",
            "1m",
            "1000K",
            "0.001G",
            "1E6",
        ] {
            assert_eq!(parse_count(text), Ok(1_000_000), "{text}");
        }
        assert_eq!(parse_count("2.5e7"), Ok(25_000_000));
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_count("4.503599627370496e15"), Ok(1 << 52));
        let past = parse_count("4.6e15").unwrap_err();
        assert!(past.contains("2^52"), "{past}");
    }

    #[test]
    fn rejects_what_is_not_a_count() {
        for text in [
            "", "abc", "-5", "1.5", "1e400", "1X", "nan", "inf", "1e16", "M",
        ] {
            assert!(parse_count(text).is_err(), "{text} should be rejected");
        }
    }
}
