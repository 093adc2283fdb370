//! Since when each rule of our table counts, and what the counters said when the pending
//! commit went live: what the rules pane and `rules` print beside a counter, and what the
//! confirm window's evidence is counted from. A commit in place keeps the rules it does
//! not change, and their counters keep counting; the rules it adds start at zero. A whole
//! table replaced (the first apply, a fallback, a restore) starts every counter again.
//!
//! Pure: the engine keeps the record in the state directory (`counting.json`), best
//! effort: it is for display, and losing it loses only the "since".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The state file.
pub const COUNTING_FILE: &str = "counting.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counting {
    pub table: String,
    /// Handles count per table instance: the boot and network namespace it was recorded
    /// in (`BOOT_ID net:[INODE]`); a record of another is not used.
    #[serde(default)]
    pub place: String,
    /// Rule handle -> when it started counting (wall clock, ms since the epoch).
    pub since: BTreeMap<u32, u64>,
    /// (first handle, when): rules from that handle on that `since` does not name count
    /// from then. A put back records what it adds this way, without listing the table:
    /// the kernel numbers a table's new rules above every handle it gave before.
    #[serde(default)]
    pub later: Vec<(u32, u64)>,
    /// The commit whose load `baseline` was taken at, while it is pending.
    #[serde(default)]
    pub baseline_commit: Option<String>,
    /// Rule handle -> packets right after that load.
    #[serde(default)]
    pub baseline: BTreeMap<u32, u64>,
}

/// How a put back (a rollback, a restore) left the table's rules, for their counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutBack {
    /// The inverse of a change in place: the rules it did not touch go on counting; those
    /// it adds count from now.
    Inverse,
    /// A whole table: every rule counts from now.
    WholeTable,
}

impl Counting {
    /// After a load of `table`: the rules listed now (handle, packets). `kept`: the load
    /// changed the table in place, so rules it did not touch go on counting; else every
    /// rule is new (a replaced table numbers its rules again from the start).
    pub fn after_load(
        previous: Option<&Counting>,
        place: &str,
        table: &str,
        rules: &[(u32, u64)],
        kept: bool,
        now_ms: u64,
        commit: Option<&str>,
    ) -> Counting {
        let known = previous.filter(|p| kept && p.table == table && p.place == place);
        Counting {
            table: table.to_string(),
            place: place.to_string(),
            since: rules
                .iter()
                .map(|(handle, _)| {
                    let since = known.and_then(|p| p.since_of(*handle));
                    (*handle, since.unwrap_or(now_ms))
                })
                .collect(),
            later: Vec::new(),
            baseline_commit: commit.map(str::to_string),
            baseline: if commit.is_some() {
                rules.iter().copied().collect()
            } else {
                BTreeMap::new()
            },
        }
    }

    /// After a put back of `table`, without a listing.
    pub fn after_put_back(
        previous: Option<&Counting>,
        place: &str,
        table: &str,
        how: PutBack,
        now_ms: u64,
    ) -> Counting {
        let kept = how == PutBack::Inverse;
        match previous.filter(|p| kept && p.table == table && p.place == place) {
            Some(p) => {
                let highest = p
                    .since
                    .keys()
                    .copied()
                    .chain(p.later.iter().map(|(first, _)| *first))
                    .max()
                    .unwrap_or(0);
                let mut next = p.clone();
                next.later.push((highest + 1, now_ms));
                next.baseline_commit = None;
                next.baseline.clear();
                next
            }
            None => Counting {
                table: table.to_string(),
                place: place.to_string(),
                later: vec![(0, now_ms)],
                ..Counting::default()
            },
        }
    }

    /// Since when the rule of `handle` counts, if the record knows.
    pub fn since_of(&self, handle: u32) -> Option<u64> {
        self.since.get(&handle).copied().or_else(|| {
            self.later
                .iter()
                .rev()
                .find(|(first, _)| handle >= *first)
                .map(|(_, at)| *at)
        })
    }

    /// Packets a rule counted since the pending commit `id` went live: all of them for a
    /// rule the commit added (it started at zero then).
    pub fn since_commit(&self, id: &str, handle: u32, packets: u64) -> u64 {
        if self.baseline_commit.as_deref() != Some(id) {
            return packets;
        }
        packets.saturating_sub(self.baseline.get(&handle).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_a_change_in_place_keeps_keep_their_start_and_new_ones_start_now() {
        let first = Counting::after_load(None, "p", "t", &[(4, 0), (5, 0)], true, 100, None);
        assert_eq!(first.since, BTreeMap::from([(4, 100), (5, 100)]));
        let second = Counting::after_load(
            Some(&first),
            "p",
            "t",
            &[(4, 9), (7, 0)],
            true,
            200,
            Some("c2"),
        );
        assert_eq!(second.since, BTreeMap::from([(4, 100), (7, 200)]));
        assert_eq!(second.since_commit("c2", 4, 12), 3);
        assert_eq!(second.since_commit("c2", 7, 2), 2);
        assert_eq!(second.since_commit("other", 4, 12), 12);
    }

    #[test]
    fn a_put_back_counts_the_rules_it_adds_from_then_without_a_listing() {
        let first = Counting::after_load(None, "p", "t", &[(4, 0), (5, 0)], true, 100, Some("c"));
        let back = Counting::after_put_back(Some(&first), "p", "t", PutBack::Inverse, 200);
        assert_eq!((back.since_of(4), back.since_of(9)), (Some(100), Some(200)));
        assert_eq!(back.baseline_commit, None);
        let whole = Counting::after_put_back(Some(&first), "p", "t", PutBack::WholeTable, 300);
        assert_eq!(
            (whole.since_of(4), whole.since_of(9)),
            (Some(300), Some(300))
        );
        // The next load lists every rule and keeps what the put back said.
        let next = Counting::after_load(Some(&back), "p", "t", &[(4, 0), (9, 0)], true, 400, None);
        assert_eq!(next.since, BTreeMap::from([(4, 100), (9, 200)]));
    }

    #[test]
    fn a_replaced_table_starts_every_counter_again() {
        let first = Counting::after_load(None, "p", "t", &[(4, 0)], true, 100, None);
        let replaced = Counting::after_load(Some(&first), "p", "t", &[(4, 0)], false, 300, None);
        assert_eq!(replaced.since, BTreeMap::from([(4, 300)]));
        let other = Counting::after_load(Some(&first), "p", "u", &[(4, 0)], true, 300, None);
        assert_eq!(other.since, BTreeMap::from([(4, 300)]));
    }
}
