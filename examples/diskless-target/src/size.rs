//! Sizes as people type them (`64M`, `1G`, `1.5GiB`, `4096`) and as they read them.

use anyhow::{Context, Result, bail};

/// Parses a size: a number of bytes, or a number with a binary unit suffix
/// (`K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB`; case-insensitive; a fraction is allowed with a
/// unit, e.g. `1.5G`).
pub(crate) fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => bail!("unknown size unit {other:?} in {text:?} (use K, M, G or T)"),
    };
    if number.is_empty() {
        bail!("size {text:?} has no number");
    }
    if let Ok(n) = number.parse::<u64>() {
        return n
            .checked_shl(shift)
            .filter(|v| v >> shift == n)
            .context("size is too large");
    }
    let f: f64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a size"))?;
    if shift == 0 || !f.is_finite() || f < 0.0 {
        bail!("{text:?} is not a whole number of bytes");
    }
    let bytes = f * (1u64 << shift) as f64;
    if bytes >= u64::MAX as f64 {
        bail!("size {text:?} is too large");
    }
    Ok(bytes as u64)
}

/// Formats a byte count for people: `1 GiB`, `64 MiB`, `1.5 GiB`, `4096 B`.
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut value = bytes as f64;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_people_sizes() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_size("2T").unwrap(), 2 << 40);
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(human(4096), "4 KiB");
        assert_eq!(human(1 << 30), "1 GiB");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(1000), "1000 B");
    }
}
