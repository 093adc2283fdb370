//! Audit events: one JSON line each, for the audit log in the state directory. Pure; the
//! state directory appends them.

use serde::Serialize;

use super::journal::{Pending, format_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Applied,
    ApplyFailed,
    Confirmed,
    RolledBack,
    RollbackFailed,
    Restored,
    /// The journal was found damaged and made anew.
    JournalRepaired,
    /// Temporary access added (`reason`: service, source, until when).
    Granted,
    /// Temporary access taken back before its time.
    Revoked,
}

/// Who acted: the operator (through the CLI or TUI), the guard process, the systemd timer,
/// or crash recovery run by some later command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Operator,
    Guard,
    Timer,
    Recovery,
    Boot,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    pub time: String,
    pub event: Event,
    pub by: Actor,
    pub user: String,
    pub ssh_peer: Option<String>,
    pub commit: Option<String>,
    pub table: Option<String>,
    pub rules_added: Option<usize>,
    pub rules_removed: Option<usize>,
    pub reason: Option<String>,
}

impl AuditLine {
    /// A line about `pending`, acted on by `by` as `user`.
    pub fn about(
        pending: &Pending,
        event: Event,
        by: Actor,
        who: &Who,
        now_ms: u64,
        reason: Option<String>,
    ) -> AuditLine {
        AuditLine {
            commit: Some(pending.id.clone()),
            table: Some(pending.table.clone()),
            rules_added: Some(pending.rules_added),
            rules_removed: Some(pending.rules_removed),
            ..AuditLine::of(event, by, who, now_ms, reason)
        }
    }

    /// A line about no commit in particular (a restore names its commit after).
    pub fn of(
        event: Event,
        by: Actor,
        who: &Who,
        now_ms: u64,
        reason: Option<String>,
    ) -> AuditLine {
        AuditLine {
            time: format_time(now_ms),
            event,
            by,
            user: who.user.clone(),
            ssh_peer: who.ssh_peer.clone(),
            commit: None,
            table: None,
            rules_added: None,
            rules_removed: None,
            reason,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("audit lines serialise")
    }
}

/// The person behind a command: `SUDO_USER` (the human behind sudo) or `USER`, and the SSH
/// peer from `SSH_CONNECTION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub user: String,
    pub ssh_peer: Option<String>,
}

impl Who {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Who {
        let user = get("SUDO_USER")
            .filter(|u| !u.is_empty())
            .or_else(|| get("USER").filter(|u| !u.is_empty()))
            .unwrap_or_else(|| {
                let uid = nix::unistd::getuid();
                match nix::unistd::User::from_uid(uid) {
                    Ok(Some(u)) => u.name,
                    _ => format!("uid {uid}"),
                }
            });
        let ssh_peer = get("SSH_CONNECTION")
            .and_then(|c| crate::sockets::ssh::SshConnection::parse(&c))
            .map(|c| c.peer());
        Who { user, ssh_peer }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::journal::sample_pending;

    #[test]
    fn sudo_user_is_the_human_behind_sudo() {
        let env = |k: &str| match k {
            "SUDO_USER" => Some("alice".to_string()),
            "USER" => Some("root".to_string()),
            "SSH_CONNECTION" => Some("192.0.2.9 40000 192.0.2.1 22".to_string()),
            _ => None,
        };
        let who = Who::from_env(env);
        assert_eq!(who.user, "alice");
        assert_eq!(who.ssh_peer.as_deref(), Some("192.0.2.9 40000"));
    }

    #[test]
    fn a_line_is_one_json_object_with_the_counts() {
        let who = Who {
            user: "bob".into(),
            ssh_peer: None,
        };
        let line = AuditLine::about(
            &sample_pending("c1", 0),
            Event::RolledBack,
            Actor::Guard,
            &who,
            0,
            Some("deadline passed".into()),
        )
        .to_json();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["event"], "rolled_back");
        assert_eq!(v["by"], "guard");
        assert_eq!(v["user"], "bob");
        assert_eq!(v["commit"], "c1");
        assert_eq!(v["rules_added"], 2);
        assert_eq!(v["rules_removed"], 1);
        assert_eq!(v["time"], "1970-01-01T00:00:00.000Z");
    }
}
