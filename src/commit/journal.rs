//! The commit journal: the pending commit, if any, and the last resolved ones. Pure data and
//! transitions; `state` stores it. Every guard, `confirm`, `rollback` and crash recovery
//! decides from this one record, which is what makes them idempotent: whoever resolves the
//! pending commit first wins, and the rest find nothing to do.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::Deadline;

/// Resolved commits kept in the journal (and whose snapshots are kept on disk).
pub const HISTORY_LIMIT: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    pub pending: Option<Pending>,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<Record>,
    /// The ruleset `restore` loads: the last one confirmed.
    #[serde(default)]
    pub confirmed: Option<Confirmed>,
    /// The ones confirmed before it, newest first (at most [`CONFIRMED_KEPT`]), for
    /// `restore` to fall back on when the last one's files are damaged.
    #[serde(default)]
    pub confirmed_before: Vec<Confirmed>,
    /// What portcullis's last load left in the kernel, while nothing else has changed the
    /// ruleset since: the next commit need not read the elements of sets it does not change.
    #[serde(default)]
    pub live: Option<LiveRecord>,
}

/// Our table as a load left it: the ruleset's generation right after (the kernel bumps it
/// at every transaction, to any table), and a digest of each set's elements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRecord {
    pub table: String,
    /// Generations count per boot and per network namespace: `BOOT_ID net:[INODE]`.
    pub place: String,
    pub generation: u32,
    pub sets: std::collections::BTreeMap<String, String>,
}

/// Earlier confirmed rulesets kept for `restore` to fall back on.
pub const CONFIRMED_KEPT: usize = 3;

/// A commit applied (or being applied) and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub id: String,
    pub table: String,
    pub stage: Stage,
    /// Wall clock at the apply, ms since the Unix epoch: display only.
    pub applied_at_ms: u64,
    /// CLOCK_BOOTTIME (ns) when the new table went live, or when the apply began while it
    /// is still applying: the clock process start times count in, for the new-session rule.
    pub applied_at_boot_ns: u64,
    /// The confirm window; None for `apply --yes`, which is kept as soon as it loads.
    pub timeout_ms: Option<u64>,
    pub user: String,
    pub ssh_peer: Option<String>,
    /// Whether the table existed before; if not, rolling back deletes it.
    pub had_table: bool,
    /// SHA-256 of the applied script (what follows the header line of its file).
    pub digest: String,
    pub rules_added: usize,
    pub rules_removed: usize,
    pub require_new_session: bool,
    /// The table existed and was not portcullis's; `--adopt` took it over.
    #[serde(default)]
    pub adopted: bool,
    /// The network namespace the commit was applied in (`net:[INODE]`); a rollback from any
    /// other namespace would change the wrong firewall, so it is refused (but at boot).
    pub netns: String,
    /// The transient systemd timer armed as a second guard, if any.
    pub timer_unit: Option<String>,
    /// Our table's shape (rules, chains and set declarations, not counters or elements)
    /// hashed as it was listed right after the load: `confirm` checks the live table still
    /// has it.
    #[serde(default)]
    pub shape: Option<String>,
    /// Loaded as a change of the live table (only what differs) rather than a replace;
    /// its rollback is the inverse change while the table is still as it left it.
    #[serde(default)]
    pub incremental: bool,
    /// What the change does, in one line (`rules 1 replaced; set net_a_v4 elements +3`).
    #[serde(default)]
    pub change: Option<String>,
    /// The table as the load left it (None until loaded, or if the generation could not
    /// be told).
    #[serde(default)]
    pub after: Option<LiveRecord>,
    #[serde(default)]
    pub rollback_attempts: u32,
    #[serde(default)]
    pub rollback_error: Option<String>,
}

/// Where a pending commit is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The guard is armed and nft is loading the new table, or was when its apply died: the
    /// table may be the new one or the old one. No deadline yet: the window starts when the
    /// new table is live.
    Applying,
    /// The new table is live and waits for a confirm until `deadline`.
    Live { deadline: Deadline },
}

impl Pending {
    /// The deadline, once the new table is live.
    pub fn deadline(&self) -> Option<&Deadline> {
        match &self.stage {
            Stage::Live { deadline } => Some(deadline),
            Stage::Applying => None,
        }
    }

    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }

    /// The phase as `status --json` has always named it.
    pub fn phase(&self) -> &'static str {
        match self.stage {
            Stage::Applying => "applying",
            Stage::Live { .. } => "applied",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: String,
    pub table: String,
    pub applied_at_ms: u64,
    pub resolved_at_ms: u64,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub user: String,
    pub rules_added: usize,
    pub rules_removed: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Confirmed,
    RolledBack,
    /// nft refused the new table; nothing changed.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Confirmed => "confirmed",
            Outcome::RolledBack => "rolled back",
            Outcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmed {
    pub id: String,
    pub table: String,
    pub digest: String,
    pub confirmed_at_ms: u64,
}

impl Journal {
    /// Ends the pending commit with `outcome` and files it in the history. Returns it, or
    /// None if nothing was pending.
    pub fn resolve(
        &mut self,
        outcome: Outcome,
        reason: Option<String>,
        now_ms: u64,
    ) -> Option<Pending> {
        let pending = self.pending.take()?;
        if outcome == Outcome::Confirmed {
            let previous = self.confirmed.replace(Confirmed {
                id: pending.id.clone(),
                table: pending.table.clone(),
                digest: pending.digest.clone(),
                confirmed_at_ms: now_ms,
            });
            if let Some(previous) = previous {
                self.confirmed_before.insert(0, previous);
                self.confirmed_before.truncate(CONFIRMED_KEPT);
            }
        }
        self.push_history(Record {
            id: pending.id.clone(),
            table: pending.table.clone(),
            applied_at_ms: pending.applied_at_ms,
            resolved_at_ms: now_ms,
            outcome,
            reason,
            user: pending.user.clone(),
            rules_added: pending.rules_added,
            rules_removed: pending.rules_removed,
        });
        Some(pending)
    }

    pub fn push_history(&mut self, record: Record) {
        self.history.push(record);
        let excess = self.history.len().saturating_sub(HISTORY_LIMIT);
        self.history.drain(..excess);
    }

    /// Commit ids whose files must be kept: the pending one, the history, the confirmed
    /// ones.
    pub fn referenced_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.history.iter().map(|r| r.id.as_str()).collect();
        ids.extend(self.pending.as_ref().map(|p| p.id.as_str()));
        ids.extend(self.confirmed.iter().map(|c| c.id.as_str()));
        ids.extend(self.confirmed_before.iter().map(|c| c.id.as_str()));
        ids
    }

    /// Whether commit `id` has been resolved (it is in the history).
    pub fn resolved(&self, id: &str) -> Option<&Record> {
        self.history.iter().rev().find(|r| r.id == id)
    }
}

/// A commit id from the wall clock and the process id: sortable, readable, unique enough
/// for one machine (ids are also refused while another commit is pending).
pub fn new_id(now_ms: u64, pid: u32) -> String {
    let (date, time) = utc_parts(now_ms / 1000);
    format!("{date}-{time}-{:04x}", pid & 0xffff)
}

/// `YYYYMMDD` and `HHMMSS` in UTC.
fn utc_parts(secs: u64) -> (String, String) {
    let stamp = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    )
    .to_string();
    // 2026-11-21T10:00:00Z
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    (digits[..8].to_string(), digits[8..14].to_string())
}

/// RFC 3339 in UTC with milliseconds, for the audit log and `status`.
pub fn format_time(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

/// A pending commit for tests: live, due at `deadline_boot_ns` of boot "boot-1".
#[cfg(test)]
pub(crate) fn sample_pending(id: &str, deadline_boot_ns: u64) -> Pending {
    Pending {
        id: id.to_string(),
        table: "portcullis".to_string(),
        stage: Stage::Live {
            deadline: Deadline {
                boot_ns: deadline_boot_ns,
                boot_id: "boot-1".into(),
            },
        },
        applied_at_ms: 1_000,
        applied_at_boot_ns: 5,
        timeout_ms: Some(30_000),
        user: "root".to_string(),
        ssh_peer: None,
        had_table: true,
        digest: "d".to_string(),
        rules_added: 2,
        rules_removed: 1,
        require_new_session: false,
        adopted: false,
        netns: "net:[1]".to_string(),
        timer_unit: None,
        shape: None,
        incremental: false,
        change: None,
        after: None,
        rollback_attempts: 0,
        rollback_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_utc_time() {
        // 2026-11-21T10:20:30Z
        assert_eq!(new_id(1_795_256_430_000, 0x1_2345), "20261121-102030-2345");
    }

    #[test]
    fn confirming_records_the_confirmed_ruleset() {
        let mut j = Journal {
            pending: Some(sample_pending("a", 10_000)),
            ..Journal::default()
        };
        let p = j
            .resolve(Outcome::Confirmed, None, 5_000)
            .expect("was pending");
        assert_eq!(p.id, "a");
        assert!(j.pending.is_none());
        assert_eq!(j.confirmed.as_ref().map(|c| c.id.as_str()), Some("a"));
        assert_eq!(j.history[0].outcome, Outcome::Confirmed);
        assert!(j.resolve(Outcome::RolledBack, None, 6_000).is_none());
    }

    #[test]
    fn rolling_back_keeps_the_previous_confirmed_ruleset() {
        let mut j = Journal {
            pending: Some(sample_pending("b", 10_000)),
            confirmed: Some(Confirmed {
                id: "a".into(),
                table: "portcullis".into(),
                digest: "x".into(),
                confirmed_at_ms: 1,
            }),
            ..Journal::default()
        };
        j.resolve(Outcome::RolledBack, Some("deadline".into()), 11_000);
        assert_eq!(j.confirmed.as_ref().map(|c| c.id.as_str()), Some("a"));
        assert_eq!(j.history[0].reason.as_deref(), Some("deadline"));
    }

    #[test]
    fn confirming_keeps_the_previous_confirmed_rulesets_to_fall_back_on() {
        let mut j = Journal::default();
        for n in 0..CONFIRMED_KEPT + 3 {
            j.pending = Some(sample_pending(&format!("c{n}"), 0));
            j.resolve(Outcome::Confirmed, None, 0);
        }
        let last = CONFIRMED_KEPT + 2;
        assert_eq!(
            j.confirmed.as_ref().map(|c| c.id.clone()),
            Some(format!("c{last}"))
        );
        let before: Vec<&str> = j.confirmed_before.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(before, ["c4", "c3", "c2"]);
        assert!(j.referenced_ids().contains(&"c2"));
    }

    #[test]
    fn a_journal_of_the_previous_version_without_a_pending_commit_still_loads() {
        let old = r#"{"pending": null, "history": [{"id": "a", "table": "portcullis",
            "applied_at_ms": 1, "resolved_at_ms": 2, "outcome": "confirmed", "reason": null,
            "user": "root", "rules_added": 1, "rules_removed": 0}],
            "confirmed": {"id": "a", "table": "portcullis", "digest": "x", "confirmed_at_ms": 2}}"#;
        let j: Journal = serde_json::from_str(old).expect("old journal");
        assert_eq!(j.confirmed.map(|c| c.id), Some("a".to_string()));
        assert!(j.confirmed_before.is_empty());
    }

    #[test]
    fn history_is_pruned_to_the_limit() {
        let mut j = Journal::default();
        for n in 0..HISTORY_LIMIT + 5 {
            j.pending = Some(sample_pending(&n.to_string(), 0));
            j.resolve(Outcome::RolledBack, None, 0);
        }
        assert_eq!(j.history.len(), HISTORY_LIMIT);
        assert_eq!(j.history[0].id, "5");
    }
}
