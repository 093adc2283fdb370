//! The commit journal: the pending commit, if any, and the last resolved ones. Pure data and
//! transitions; `state` stores it. Every guard, `confirm`, `rollback` and crash recovery
//! decides from this one record, which is what makes them idempotent: whoever resolves the
//! pending commit first wins, and the rest find nothing to do.

use serde::{Deserialize, Serialize};

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
}

/// A commit applied (or being applied) and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub id: String,
    pub table: String,
    pub phase: Phase,
    /// Wall clock, milliseconds since the Unix epoch.
    pub applied_at_ms: u64,
    pub deadline_ms: u64,
    /// CLOCK_BOOTTIME at the apply, in nanoseconds: the clock process start times are
    /// measured in, for the new-session rule.
    pub applied_at_boot_ns: u64,
    pub user: String,
    pub ssh_peer: Option<String>,
    /// Whether the table existed before; if not, rolling back deletes it.
    pub had_table: bool,
    /// SHA-256 of the applied script.
    pub digest: String,
    pub rules_added: usize,
    pub rules_removed: usize,
    pub require_new_session: bool,
    /// The network namespace the commit was applied in (`net:[INODE]`); a rollback from any
    /// other namespace would change the wrong firewall, so it is refused.
    pub netns: String,
    /// The transient systemd timer armed as a second guard, if any.
    pub timer_unit: Option<String>,
    #[serde(default)]
    pub rollback_attempts: u32,
    #[serde(default)]
    pub rollback_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The guard is armed and nft is loading the new table (or was, if we crashed). Rolling
    /// back from here is safe: the snapshot is the table as it was before.
    Applying,
    /// The new table is live and waiting for a confirm.
    Applied,
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
    /// The pending commit whose deadline has passed, if any.
    pub fn overdue(&self, now_ms: u64) -> Option<&Pending> {
        self.pending.as_ref().filter(|p| now_ms >= p.deadline_ms)
    }

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
            self.confirmed = Some(Confirmed {
                id: pending.id.clone(),
                table: pending.table.clone(),
                digest: pending.digest.clone(),
                confirmed_at_ms: now_ms,
            });
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

    /// Commit ids whose files must be kept: the pending one, the history, the confirmed one.
    pub fn live_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.history.iter().map(|r| r.id.as_str()).collect();
        ids.extend(self.pending.as_ref().map(|p| p.id.as_str()));
        ids.extend(self.confirmed.as_ref().map(|c| c.id.as_str()));
        ids
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

#[cfg(test)]
pub(crate) fn sample_pending(id: &str, deadline_ms: u64) -> Pending {
    Pending {
        id: id.to_string(),
        table: "portcullis".to_string(),
        phase: Phase::Applied,
        applied_at_ms: 1_000,
        deadline_ms,
        applied_at_boot_ns: 5,
        user: "root".to_string(),
        ssh_peer: None,
        had_table: true,
        digest: "d".to_string(),
        rules_added: 2,
        rules_removed: 1,
        require_new_session: false,
        netns: "net:[1]".to_string(),
        timer_unit: None,
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
    fn only_a_passed_deadline_is_overdue() {
        let j = Journal {
            pending: Some(sample_pending("a", 10_000)),
            ..Journal::default()
        };
        assert!(j.overdue(9_999).is_none());
        assert_eq!(j.overdue(10_000).map(|p| p.id.as_str()), Some("a"));
        assert!(Journal::default().overdue(u64::MAX).is_none());
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
