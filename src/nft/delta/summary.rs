//! What a delta changes, counted and said in one line.

/// What a delta changes, counted for the diff, `status` and the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rules_added: usize,
    pub rules_removed: usize,
    pub rules_replaced: usize,
    pub sets_added: usize,
    pub sets_removed: usize,
    /// Per existing set: (name, elements added, elements removed, flushed and refilled).
    pub sets_changed: Vec<(String, usize, usize, bool)>,
    pub chains_changed: usize,
}

impl Summary {
    /// One line: `1 rule replaced, 2 added; 3 elements added to net_admin_v4`.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        let mut rules = Vec::new();
        for (n, what) in [
            (self.rules_added, "added"),
            (self.rules_replaced, "replaced"),
            (self.rules_removed, "removed"),
        ] {
            if n > 0 {
                rules.push(format!("{n} {what}"));
            }
        }
        if !rules.is_empty() {
            let total = self.rules_added + self.rules_replaced + self.rules_removed;
            parts.push(format!(
                "{} {}",
                if total == 1 { "rule" } else { "rules" },
                rules.join(", ")
            ));
        }
        if self.sets_added > 0 {
            parts.push(format!("{} set(s) added", self.sets_added));
        }
        if self.sets_removed > 0 {
            parts.push(format!("{} set(s) removed", self.sets_removed));
        }
        for (name, added, removed, flushed) in &self.sets_changed {
            if *flushed {
                parts.push(format!("set {name} refilled with {added} elements"));
            } else {
                let mut e = Vec::new();
                if *added > 0 {
                    e.push(format!("+{added}"));
                }
                if *removed > 0 {
                    e.push(format!("-{removed}"));
                }
                parts.push(format!("set {name} elements {}", e.join(" ")));
            }
        }
        if self.chains_changed > 0 {
            parts.push(format!("{} chain policy changed", self.chains_changed));
        }
        if parts.is_empty() {
            "nothing to change".to_string()
        } else {
            parts.join("; ")
        }
    }
}
