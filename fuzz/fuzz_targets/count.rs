//! Any text as a `--paths`/`--scenarios` count: an error or a whole number,
//! at most 2^52 unless it was written as a plain integer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/cli/count.rs"]
#[allow(dead_code)]
mod count;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(value) = count::parse_count(text)
    {
        // Separators go first (as the parser takes them out), then a sign.
        let cleaned: String = text.trim().chars().filter(|&c| c != '_').collect();
        let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
        let plain = digits.chars().all(|c| c.is_ascii_digit());
        assert!(plain || value <= 1 << 52, "{text:?} gave {value}");
    }
});
