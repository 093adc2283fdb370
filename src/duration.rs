//! Durations as operators write them: `30s`, `2m`, `1m30s`, `1h`.

use std::time::Duration;

/// Parses a duration made of one or more `<number><unit>` parts, unit `h`, `m` or `s`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let hint = "write a number with a unit, like \"30s\", \"2m\" or \"1m30s\"";
    if text.is_empty() {
        return Err(format!("empty duration; {hint}"));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("{text:?} is not a duration; {hint}")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration; {hint}"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("{text:?} is too long"))?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("{text:?} has no unit; did you mean \"{text}s\"?"));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way [`parse`] reads it.
pub fn format(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_common_forms() {
        for (text, secs) in [("30s", 30), ("2m", 120), ("1m30s", 90), ("1h", 3600)] {
            assert_eq!(parse(text).unwrap(), Duration::from_secs(secs));
            assert_eq!(format(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn rejects_missing_units_and_junk() {
        assert!(parse("90").unwrap_err().contains("\"90s\""));
        for bad in ["", "s", "5x", "1.5m", "99999999999999999999h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
