//! Unified diffs of nft text.

use similar::TextDiff;

/// A unified diff from `old` to `new`, or an empty string if they are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\n", "a\n", "x", "y"), "");
    }

    #[test]
    fn changed_lines_are_marked() {
        let d = unified("a\nb\n", "a\nc\n", "live", "policy");
        assert!(d.starts_with("--- live\n+++ policy\n"), "{d}");
        assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
    }
}
