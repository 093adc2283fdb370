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

/// `text` in at most `width` characters, its end kept: `…/portcullis/policy.toml`.
pub fn fit_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n + 1 - width).collect();
    // From a directory boundary when there is one: `…/policy.toml`, not `…is/policy.toml`.
    match tail.find('/') {
        Some(i) if i > 0 => format!("…{}", &tail[i..]),
        _ => format!("…{tail}"),
    }
}

/// `text` word-wrapped to `width` in at most `lines` lines, the last ending in `…` when
/// more would follow. A word longer than the width is broken.
pub fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                out.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than a line: as much as fits, the rest on the next.
            line.extend(word.iter().take(width));
            word.drain(..width);
            out.push(std::mem::take(&mut line));
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    if out.len() > lines {
        out.truncate(lines.max(1));
        if let Some(last) = out.last_mut() {
            // Room for the ellipsis, and the mark that more was said.
            *last = fit(&format!("{last} …"), width);
            if !last.ends_with('…') {
                last.push('…');
            }
        }
    }
    out
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
    fn wrapping_marks_what_does_not_fit() {
        assert_eq!(wrap("one two three", 7, 3), ["one two", "three"]);
        assert_eq!(wrap("one two three four", 7, 2), ["one two", "three …"]);
        assert_eq!(wrap("abcdefghij", 4, 3), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("abcdefghijklm", 4, 2), ["abcd", "efg…"]);
        assert!(wrap("", 4, 2).is_empty());
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
