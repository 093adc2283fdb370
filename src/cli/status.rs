//! `portcullis status [--json]`: the pending commit (with its countdown and the health of
//! its rollback) and the last commits.

use serde_json::{Value, json};

use super::{Cli, eprint, open_backends};
use crate::commit::clock::{Clock, Now, SystemClock};
use crate::commit::journal::format_time;
use crate::commit::state::StateError;
use crate::commit::{Create, Journal};

/// How many past commits the text view lists (JSON lists all the journal keeps).
const SHOWN: usize = 5;

/// What status knows besides the journal: whether the pending commit's guard lives, and
/// what stands in the way of recording an outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    pub guard_alive: bool,
    /// Guards alive for commits the journal does not name.
    pub stray_guards: Vec<String>,
    /// Why the state directory cannot be written, if it cannot.
    pub state_dir_error: Option<String>,
    /// Why the journal cannot be read, if it cannot.
    pub journal_error: Option<String>,
    /// Who holds the operator lock, if anyone does while a commit is pending.
    pub lock_holder: Option<String>,
}

pub fn run(cli: &Cli, as_json: bool) -> u8 {
    let now = SystemClock::new().now();
    let (journal, health) = match open_backends(cli, Create::Never) {
        Ok(m) => {
            let (journal, journal_error) = match m.state.load_journal() {
                Ok(j) => (j, None),
                // Damaged: say so, and still say what the guards are doing.
                Err(e @ StateError::Corrupt { .. }) => (Journal::default(), Some(e.to_string())),
                Err(e) => {
                    eprint(&format!("portcullis: {e}"));
                    return 2;
                }
            };
            let pending = journal.pending.as_ref().map(|p| p.id.as_str());
            let guards = m.state.live_guards(&journal);
            let health = Health {
                guard_alive: pending.is_some_and(|id| guards.iter().any(|g| g.0 == id)),
                stray_guards: guards
                    .iter()
                    .filter(|g| Some(g.0.as_str()) != pending)
                    .map(|g| g.0.clone())
                    .collect(),
                // Probed only when something waits to be recorded.
                state_dir_error: (pending.is_some() || journal_error.is_some())
                    .then(|| m.state.probe_writable().err())
                    .flatten(),
                lock_holder: pending.is_some().then(|| m.state.lock_holder()).flatten(),
                journal_error,
            };
            (journal, health)
        }
        Err(e) if e.is_not_found() => (Journal::default(), Health::default()),
        Err(e) => {
            eprint(&format!("portcullis: cannot use the state directory: {e}"));
            return 2;
        }
    };
    let mut doc = document(&journal, &health, &now);
    doc["grants"] = grants(cli);
    if as_json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("status serialises")
        );
    } else {
        out!("{}", text(&doc));
        for g in doc["grants"].as_array().into_iter().flatten() {
            outln!(
                "grant: {} may reach {} ({}/{}) until {} ({}s left)",
                g["source"].as_str().unwrap_or("?"),
                g["service"].as_str().unwrap_or("?"),
                g["ports"].as_str().unwrap_or("?"),
                g["protocol"].as_str().unwrap_or("?"),
                g["until"].as_str().unwrap_or("?"),
                g["seconds_left"]
            );
        }
    }
    0
}

/// The active grants of our table, as the kernel holds them (empty when it cannot be
/// read: status must not fail for it).
fn grants(cli: &Cli) -> Value {
    use crate::nft::backend::{Nft, NftProcess};
    let table = crate::policy::file::load(&cli.policy)
        .map(|p| p.settings.table)
        .unwrap_or_else(|_| "portcullis".to_string());
    let nft = NftProcess::new(&cli.nft);
    let Ok(terse) = nft.list_ruleset_terse_json() else {
        return json!([]);
    };
    let objects = crate::nft::live::table_objects(&terse, &table).unwrap_or_default();
    let sets = crate::commit::plan::read_grant_sets(&nft, &table, &objects).unwrap_or_default();
    let list: Vec<Value> = crate::nft::grants::active(&sets)
        .into_iter()
        .map(|g| {
            let ports = if g.ports.0 == g.ports.1 {
                g.ports.0.to_string()
            } else {
                format!("{}-{}", g.ports.0, g.ports.1)
            };
            json!({
                "service": g.service,
                "source": g.source.to_string(),
                "protocol": g.protocol,
                "ports": ports,
                "until": g.until,
                "seconds_left": g.expires_s,
            })
        })
        .collect();
    Value::Array(list)
}

/// The status as JSON: the stable shape scripts read. While a commit is applying it has
/// no deadline yet (`deadline` and `seconds_left` are null): the window starts when the
/// new table is live.
pub fn document(journal: &Journal, health: &Health, now: &Now) -> Value {
    let pending = journal.pending.as_ref().map(|p| {
        let deadline = p.deadline();
        json!({
            "id": p.id,
            "table": p.table,
            "phase": p.phase(),
            "applied_at": format_time(p.applied_at_ms),
            "deadline": deadline.map(|d| format_time(d.wall_ms(now))),
            "seconds_left": deadline.map(|d| d.seconds_left(now)),
            "overdue": deadline.is_some_and(|d| d.passed(now)),
            "user": p.user,
            "ssh_peer": p.ssh_peer,
            "rules_added": p.rules_added,
            "rules_removed": p.rules_removed,
            "incremental": p.incremental,
            "change": p.change,
            "require_new_session": p.require_new_session,
            "adopted": p.adopted,
            "guard_alive": health.guard_alive,
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
    json!({
        "pending": pending,
        "confirmed": confirmed,
        "last_commits": last,
        "journal_error": health.journal_error,
        "state_dir_error": health.state_dir_error,
        "stray_guards": health.stray_guards,
        "lock_holder": health.lock_holder,
    })
}

fn text(doc: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut out = String::new();
    if let Some(e) = doc["journal_error"].as_str() {
        out.push_str(&format!(
            "JOURNAL DAMAGED: {e}\n  the next portcullis command that changes anything keeps \
             it aside and makes a new one; guards keep their own commits\n"
        ));
    }
    match &doc["pending"] {
        Value::Null => out.push_str("no commit pending\n"),
        p if p["phase"] == "applying" => out.push_str(&format!(
            "PENDING commit {} on table inet {}: still applying (its window starts when the \
             new table is live)\n",
            s(&p["id"]),
            s(&p["table"]),
        )),
        p if p["overdue"] == true => out.push_str(&format!(
            "PENDING commit {} on table inet {}: its deadline passed at {}; rollback under way\n",
            s(&p["id"]),
            s(&p["table"]),
            s(&p["deadline"])
        )),
        p => out.push_str(&format!(
            "PENDING commit {} on table inet {}: rolls back in {}s (at {}) unless confirmed\n",
            s(&p["id"]),
            s(&p["table"]),
            p["seconds_left"],
            s(&p["deadline"])
        )),
    }
    if let Some(p) = doc["pending"].as_object() {
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
        if let Some(change) = p["change"].as_str() {
            out.push_str(&format!("  change: {change}\n"));
        }
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
    if let Some(who) = doc["lock_holder"].as_str() {
        out.push_str(&format!(
            "  the operator lock is held by: {who} (a guard past its deadline ends nft left \
             running by an apply that died, after 10s)\n"
        ));
    }
    if let Some(e) = doc["state_dir_error"].as_str() {
        out.push_str(&format!(
            "  STATE DIRECTORY NOT WRITABLE ({e}): outcomes are not recorded until it is; the \
             guard keeps the firewall right meanwhile and records them later\n"
        ));
    }
    if let Some(strays) = doc["stray_guards"].as_array().filter(|a| !a.is_empty()) {
        let ids: Vec<String> = strays.iter().map(s).collect();
        out.push_str(&format!(
            "guard alive for commit {} that the journal does not name: it rolls its commit \
             back at its deadline; `portcullis rollback` asks it to now\n",
            ids.join(", ")
        ));
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
