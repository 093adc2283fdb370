//! `portcullis status [--json]`: the pending commit (with its countdown and the health of
//! its rollback) and the last commits.

use serde_json::{Value, json};

use super::{Cli, Machinery, eprint};
use crate::commit::Journal;
use crate::commit::journal::format_time;
use crate::commit::system::now_ms;

/// How many past commits the text view lists (JSON lists all the journal keeps).
const SHOWN: usize = 5;

pub fn run(cli: &Cli, as_json: bool) -> u8 {
    let (journal, guard_alive) = match Machinery::open(cli, false) {
        Ok(m) => match m.state.load_journal() {
            Ok(j) => {
                let alive = j
                    .pending
                    .as_ref()
                    .is_some_and(|p| m.state.guard_alive(&p.id));
                (j, alive)
            }
            Err(e) => {
                eprint(&format!("portcullis: {e}"));
                return 2;
            }
        },
        Err(e) if e.is_not_found() => (Journal::default(), false),
        Err(e) => {
            eprint(&format!("portcullis: cannot use the state directory: {e}"));
            return 2;
        }
    };
    let doc = document(&journal, guard_alive, now_ms());
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("status serialises")
        );
    } else {
        print!("{}", text(&doc));
    }
    0
}

/// The status as JSON: the stable shape scripts read.
pub fn document(journal: &Journal, guard_alive: bool, now: u64) -> Value {
    let pending = journal.pending.as_ref().map(|p| {
        json!({
            "id": p.id,
            "table": p.table,
            "phase": p.phase,
            "applied_at": format_time(p.applied_at_ms),
            "deadline": format_time(p.deadline_ms),
            "seconds_left": p.deadline_ms.saturating_sub(now).div_ceil(1000),
            "user": p.user,
            "ssh_peer": p.ssh_peer,
            "rules_added": p.rules_added,
            "rules_removed": p.rules_removed,
            "require_new_session": p.require_new_session,
            "guard_alive": guard_alive,
            "timer_unit": p.timer_unit,
            "rollback_attempts": p.rollback_attempts,
            "rollback_error": p.rollback_error,
        })
    });
    let confirmed = journal.confirmed.as_ref().map(|c| {
        json!({
            "id": c.id,
            "table": c.table,
            "confirmed_at": format_time(c.confirmed_at_ms),
            "digest": c.digest,
        })
    });
    let last: Vec<Value> = journal
        .history
        .iter()
        .rev()
        .map(|r| {
            json!({
                "id": r.id,
                "table": r.table,
                "applied_at": format_time(r.applied_at_ms),
                "resolved_at": format_time(r.resolved_at_ms),
                "outcome": r.outcome,
                "reason": r.reason,
                "user": r.user,
                "rules_added": r.rules_added,
                "rules_removed": r.rules_removed,
            })
        })
        .collect();
    json!({ "pending": pending, "confirmed": confirmed, "last_commits": last })
}

fn text(doc: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut out = String::new();
    match &doc["pending"] {
        Value::Null => out.push_str("no commit pending\n"),
        p => {
            out.push_str(&format!(
                "PENDING commit {} on table inet {}: rolls back in {}s (at {}) unless confirmed\n",
                s(&p["id"]),
                s(&p["table"]),
                p["seconds_left"],
                s(&p["deadline"])
            ));
            out.push_str(&format!(
                "  applied {} by {}{}; {} rules added, {} removed\n",
                s(&p["applied_at"]),
                s(&p["user"]),
                p["ssh_peer"]
                    .as_str()
                    .map(|peer| format!(" from {peer}"))
                    .unwrap_or_default(),
                p["rules_added"],
                p["rules_removed"]
            ));
            out.push_str(&format!(
                "  guard: {}{}\n",
                if p["guard_alive"] == true {
                    "alive"
                } else {
                    "NOT RUNNING (the next portcullis command rolls back once the deadline passes)"
                },
                p["timer_unit"]
                    .as_str()
                    .map(|u| format!("; systemd timer {u}"))
                    .unwrap_or_default()
            ));
            if p["require_new_session"] == true {
                out.push_str("  confirm from a NEW connection: `portcullis confirm`\n");
            }
            if let Some(err) = p["rollback_error"].as_str() {
                out.push_str(&format!(
                    "  ROLLBACK FAILING ({} attempts, retrying): {}\n",
                    p["rollback_attempts"], err
                ));
            }
        }
    }
    if let Some(c) = doc["confirmed"].as_object() {
        out.push_str(&format!(
            "confirmed ruleset (loaded by restore): commit {} on table inet {}, confirmed {}\n",
            s(&c["id"]),
            s(&c["table"]),
            s(&c["confirmed_at"])
        ));
    }
    let last = doc["last_commits"].as_array().cloned().unwrap_or_default();
    if !last.is_empty() {
        out.push_str("last commits:\n");
        for r in last.iter().take(SHOWN) {
            out.push_str(&format!(
                "  {}  {:<11}  {}  by {}  +{}/-{} rules{}\n",
                s(&r["id"]),
                s(&r["outcome"]).replace('_', " "),
                s(&r["resolved_at"]),
                s(&r["user"]),
                r["rules_added"],
                r["rules_removed"],
                r["reason"]
                    .as_str()
                    .map(|why| format!("  ({why})"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}
