//! Small text formats the views share: counts, bytes, rates, ages and sparklines.

/// 999, 1.2k, 45.6k, 7.8M, 1.2G.
pub fn count(n: u64) -> String {
    scaled(n as f64, 1000.0, &["", "k", "M", "G", "T"])
}

/// 512 B, 1.5 KiB, 3.2 MiB.
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    scaled(n as f64, 1024.0, &[" B", " KiB", " MiB", " GiB", " TiB"])
}

fn scaled(mut value: f64, step: f64, units: &[&str]) -> String {
    let mut unit = 0;
    while value >= step && unit + 1 < units.len() {
        value /= step;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0}{}", units[0])
    } else if value < 10.0 {
        format!("{value:.1}{}", units[unit])
    } else {
        format!("{value:.0}{}", units[unit])
    }
}

/// Packets per second: `-` before the second refresh, `0` when idle.
pub fn rate(rate: Option<f64>) -> String {
    match rate {
        None => "-".into(),
        Some(0.0) => "0".into(),
        Some(r) if r < 10.0 => format!("{r:.1}"),
        Some(r) => count(r.round() as u64),
    }
}

/// How long ago, coarsely: 0s, 14s, 3m, 2h.
pub fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

/// The last `width` samples as block characters, scaled to the largest of them; a blank
/// for nothing at all, the lowest block for any traffic.
pub fn sparkline(
    samples: impl DoubleEndedIterator<Item = f64> + ExactSizeIterator,
    width: usize,
) -> String {
    // No full block: it fills its cell to the top, and the rows above and below would
    // touch it (seven heights leave a line of gap between neighbouring rows).
    const BARS: [char; 7] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇'];
    let skip = samples.len().saturating_sub(width);
    let shown: Vec<f64> = samples.skip(skip).collect();
    let max = shown.iter().copied().fold(0.0_f64, f64::max);
    shown
        .iter()
        .map(|&v| {
            if v <= 0.0 || max <= 0.0 {
                ' '
            } else {
                let level = ((v / max) * (BARS.len() - 1) as f64).round() as usize;
                BARS[level.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// `text` in at most `width` characters: whole, or cut with an `…` so a cut never passes
/// for the value.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` with its first letter in capitals.
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234), "1.2k");
        assert_eq!(count(45_600), "46k");
        assert_eq!(count(7_800_000), "7.8M");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(rate(None), "-");
        assert_eq!(rate(Some(0.0)), "0");
        assert_eq!(rate(Some(2.25)), "2.2");
        assert_eq!(rate(Some(1500.0)), "1.5k");
        assert_eq!(age(14_900), "14s");
        assert_eq!(age(600_000), "10m");
    }

    #[test]
    fn sparklines_scale_to_their_largest_sample() {
        let s = sparkline([0.0, 1.0, 2.0, 4.0].into_iter(), 10);
        assert_eq!(s, " ▃▄▇");
        // Only the last two are shown, and scaled among themselves.
        assert_eq!(sparkline([5.0, 0.0, 1.0].into_iter(), 2), " ▇");
        assert_eq!(sparkline(std::iter::empty(), 5), "");
    }
}
