//! The commit transitions, shared by the CLI and the TUI: apply (with or without a window),
//! confirm, rollback, crash recovery and boot restore. Each one runs under the operator lock,
//! reads the journal, acts on the firewall through [`Nft`], and writes the journal and the
//! audit log. The decisions themselves are in `journal`; this is the sequencing.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::audit::{Actor, AuditLine, Event, Who};
use super::journal::{Journal, Outcome, Pending, Phase, format_time, new_id};
use super::state::{CONFIRMED_FILE, StateDir, StateError, StateLock, applied_file, before_file};
use super::system::{SessionOrigin, boot_ns, current_netns, now_ms};
use crate::diff::rule_changes;
use crate::nft::CompiledTable;
use crate::nft::backend::{Nft, NftError};
use crate::nft::live::{LiveObject, has_table};
use crate::nft::script;

/// How long a command waits for another holder of the operator lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Arms and disarms the guards that roll a commit back when nobody confirms it.
pub trait Guards {
    /// Starts the guards for commit `id`, due `timeout` from now. Returns the systemd timer
    /// unit if one was armed as well. Fails if the guard process could not be seen alive.
    fn arm(&self, id: &str, timeout: Duration) -> Result<Option<String>, String>;
    /// Stops a transient timer (best effort: it is idempotent anyway).
    fn disarm_timer(&self, unit: &str);
}

/// Everything a transition needs from its caller.
pub struct Context<'a> {
    pub state: &'a StateDir,
    pub nft: &'a dyn Nft,
    pub guards: &'a dyn Guards,
    pub who: &'a Who,
    pub by: Actor,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(
        "commit {id} is pending (applied by {user} at {applied}, {left}).\n\
         Confirm it with `portcullis confirm` or roll it back with `portcullis rollback` first."
    )]
    Pending {
        id: String,
        user: String,
        applied: String,
        left: String,
    },
    #[error("cannot snapshot table inet {table} to roll back to; nothing was changed.\n{source}")]
    Snapshot {
        table: String,
        #[source]
        source: NftError,
    },
    #[error(
        "nft would not load back the snapshot of table inet {table}, so a rollback could \
         fail; nothing was changed.\n{source}"
    )]
    SnapshotUnloadable {
        table: String,
        #[source]
        source: NftError,
    },
    #[error("cannot start the rollback guard ({0}); nothing was changed")]
    Guard(String),
    #[error("the new table was not applied; nothing was changed.\n{0}")]
    Apply(#[source] NftError),
    #[error("rolling back commit {id} failed (attempt {attempt}); it is retried.\n{source}")]
    Rollback {
        id: String,
        attempt: u32,
        #[source]
        source: NftError,
    },
    #[error(
        "commit {id} was applied in network namespace {theirs} and this is {ours}; \
         run portcullis in that namespace"
    )]
    WrongNamespace {
        id: String,
        theirs: String,
        ours: String,
    },
    #[error("no commit is pending")]
    NothingPending,
    #[error("commit {id} did not finish applying; roll it back with `portcullis rollback`")]
    NotApplied { id: String },
    #[error("too late: the deadline of commit {id} passed at {deadline}; it was rolled back")]
    TooLate { id: String, deadline: String },
    #[error(
        "commit {id} must be confirmed from a connection opened after it was applied, \
         which proves that new connections still get in. This one ({origin}) is older.\n\
         Open a new SSH connection and run `portcullis confirm` there."
    )]
    NeedsNewSession { id: String, origin: String },
    #[error("{file} does not match its digest in the journal; not loading it")]
    DigestMismatch { file: String },
    #[error("loading the confirmed ruleset failed.\n{0}")]
    Restore(#[source] NftError),
}

/// The confirmation window of an apply.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub timeout: Duration,
    pub require_new_session: bool,
}

pub struct ApplyRequest<'a> {
    pub compiled: &'a CompiledTable,
    /// `script::text(compiled)`.
    pub script: &'a str,
    /// Our table as last read (a terse listing is enough): for the rule counts and whether
    /// the table exists.
    pub live_before: &'a [LiveObject],
    /// None: confirmed at once (`--yes`).
    pub window: Option<Window>,
}

#[derive(Debug)]
pub enum Applied {
    Confirmed(Pending),
    Pending(Pending),
}

pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn audit(cx: &Context<'_>, pending: &Pending, event: Event, reason: Option<String>) {
    let line = AuditLine::about(pending, event, cx.by, cx.who, now_ms(), reason).to_json();
    // The audit log must not stop a rollback; a failure to write it is reported instead.
    if let Err(e) = cx.state.append_audit(&line) {
        eprintln!("portcullis: warning: cannot write the audit log: {e}");
    }
}

/// Refuses while another commit is pending, naming it.
pub fn refuse_if_pending(journal: &Journal) -> Result<(), CommitError> {
    let Some(p) = &journal.pending else {
        return Ok(());
    };
    let now = now_ms();
    Err(CommitError::Pending {
        id: p.id.clone(),
        user: p.user.clone(),
        applied: format_time(p.applied_at_ms),
        left: if now < p.deadline_ms {
            format!("rolls back in {}s", (p.deadline_ms - now).div_ceil(1000))
        } else {
            "deadline passed, rollback under way".to_string()
        },
    })
}

/// Applies the compiled policy as one transaction, under the operator lock `_lock`.
/// With a window: snapshot, check the snapshot loads, arm the guards, then apply, so the
/// rollback exists before the change does.
pub fn apply(
    cx: &Context<'_>,
    _lock: &StateLock,
    req: &ApplyRequest<'_>,
) -> Result<Applied, CommitError> {
    let mut journal = cx.state.load_journal()?;
    refuse_if_pending(&journal)?;
    let table = req.compiled.name.clone();
    let now = now_ms();
    let (rules_added, rules_removed) = rule_changes(req.compiled, req.live_before);
    let had_table = has_table(req.live_before);
    let mut pending = Pending {
        id: new_id(now, std::process::id()),
        table: table.clone(),
        phase: Phase::Applying,
        applied_at_ms: now,
        deadline_ms: now,
        applied_at_boot_ns: boot_ns(),
        user: cx.who.user.clone(),
        ssh_peer: cx.who.ssh_peer.clone(),
        had_table,
        digest: digest(req.script),
        rules_added,
        rules_removed,
        require_new_session: false,
        netns: current_netns(),
        timer_unit: None,
        rollback_attempts: 0,
        rollback_error: None,
    };
    let Some(window) = req.window else {
        return apply_confirmed(cx, journal, pending, req.script);
    };
    pending.require_new_session = window.require_new_session;
    pending.deadline_ms = now + window.timeout.as_millis() as u64;

    let snapshot = if had_table {
        Some(
            cx.nft
                .list_table_text(&table)
                .map_err(|source| CommitError::Snapshot {
                    table: table.clone(),
                    source,
                })?,
        )
    } else {
        None
    };
    cx.nft
        .check_script(&script::restore(&table, snapshot.as_deref()))
        .map_err(|source| CommitError::SnapshotUnloadable {
            table: table.clone(),
            source,
        })?;
    if let Some(text) = &snapshot {
        cx.state
            .write_atomic(&before_file(&pending.id), text.as_bytes())?;
    }
    cx.state
        .write_atomic(&applied_file(&pending.id), req.script.as_bytes())?;
    // Journalled before the guard starts: a guard stands down at once if its commit is not
    // the pending one.
    journal.pending = Some(pending.clone());
    cx.state.save_journal(&journal)?;

    match cx.guards.arm(&pending.id, window.timeout) {
        Ok(unit) => pending.timer_unit = unit,
        Err(why) => {
            journal.resolve(Outcome::Failed, Some(format!("guard: {why}")), now_ms());
            cx.state.save_journal(&journal)?;
            return Err(CommitError::Guard(why));
        }
    }
    // Again, now with the timer unit, so that confirm and rollback can stop it.
    journal.pending = Some(pending.clone());
    cx.state.save_journal(&journal)?;

    if let Err(e) = cx.nft.run_script(req.script) {
        let reason = format!("nft refused the new table: {e}");
        audit(cx, &pending, Event::ApplyFailed, Some(reason.clone()));
        journal.resolve(Outcome::Failed, Some(reason), now_ms());
        cx.state.save_journal(&journal)?;
        if let Some(unit) = &pending.timer_unit {
            cx.guards.disarm_timer(unit);
        }
        cx.state.prune(&journal);
        return Err(CommitError::Apply(e));
    }
    // The window starts when the new table is live.
    let now = now_ms();
    pending.phase = Phase::Applied;
    pending.applied_at_ms = now;
    pending.applied_at_boot_ns = boot_ns();
    pending.deadline_ms = now + window.timeout.as_millis() as u64;
    journal.pending = Some(pending.clone());
    cx.state.save_journal(&journal)?;
    audit(cx, &pending, Event::Applied, None);
    Ok(Applied::Pending(pending))
}

/// `apply --yes`: no window, no snapshot; the applied script becomes the confirmed one.
fn apply_confirmed(
    cx: &Context<'_>,
    mut journal: Journal,
    pending: Pending,
    script: &str,
) -> Result<Applied, CommitError> {
    journal.pending = Some(pending.clone());
    // The script is written (and fsynced) while nft loads it, so keeping it for `restore`
    // costs a rename rather than a second wait on the disk.
    let staged = applied_file(&pending.id);
    let state = cx.state;
    let (applied, staged_ok) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| state.write_atomic(&staged, script.as_bytes()));
        let applied = cx.nft.run_script(script);
        (applied, writer.join())
    });
    if let Err(e) = applied {
        let reason = format!("nft refused the new table: {e}");
        audit(cx, &pending, Event::ApplyFailed, Some(reason.clone()));
        journal.resolve(Outcome::Failed, Some(reason), now_ms());
        cx.state.save_journal(&journal)?;
        cx.state.prune(&journal);
        return Err(CommitError::Apply(e));
    }
    match staged_ok {
        Ok(result) => result?,
        Err(_) => cx.state.write_atomic(&staged, script.as_bytes())?,
    }
    cx.state.rename(&staged, CONFIRMED_FILE)?;
    let reason = "confirmed at once (--yes)";
    journal.resolve(Outcome::Confirmed, Some(reason.into()), now_ms());
    cx.state.save_journal(&journal)?;
    let now = now_ms();
    let lines = [
        AuditLine::about(&pending, Event::Applied, cx.by, cx.who, now, None),
        AuditLine::about(
            &pending,
            Event::Confirmed,
            cx.by,
            cx.who,
            now,
            Some(reason.into()),
        ),
    ]
    .map(|l| l.to_json())
    .join("\n");
    if let Err(e) = cx.state.append_audit(&lines) {
        eprintln!("portcullis: warning: cannot write the audit log: {e}");
    }
    cx.state.prune(&journal);
    Ok(Applied::Confirmed(pending))
}

/// Keeps the pending commit. `origin` is the confirming session, for the new-session rule.
pub fn confirm(cx: &Context<'_>, origin: Option<&SessionOrigin>) -> Result<Pending, CommitError> {
    let lock = cx
        .state
        .lock(LOCK_WAIT, &format!("confirm by {}", cx.who.user))?;
    let mut journal = cx.state.load_journal()?;
    let Some(pending) = journal.pending.clone() else {
        return Err(CommitError::NothingPending);
    };
    if now_ms() >= pending.deadline_ms {
        // Past the deadline the commit is not the operator's to keep: roll it back here
        // rather than leave it to a guard that may be gone.
        rollback_locked(
            cx,
            &lock,
            &mut journal,
            "deadline passed before the confirm",
        )?;
        return Err(CommitError::TooLate {
            id: pending.id,
            deadline: format_time(pending.deadline_ms),
        });
    }
    if pending.phase != Phase::Applied {
        return Err(CommitError::NotApplied { id: pending.id });
    }
    if pending.require_new_session {
        let fresh = origin.is_some_and(|o| o.started_boot_ns > pending.applied_at_boot_ns);
        if !fresh {
            return Err(CommitError::NeedsNewSession {
                id: pending.id,
                origin: match origin {
                    Some(o) => format!("{} pid {}", o.kind, o.pid),
                    None => "its start could not be read".into(),
                },
            });
        }
    }
    let script = cx.state.read(&applied_file(&pending.id))?;
    if digest(&script) != pending.digest {
        return Err(CommitError::DigestMismatch {
            file: cx
                .state
                .path(&applied_file(&pending.id))
                .display()
                .to_string(),
        });
    }
    cx.state.write_atomic(CONFIRMED_FILE, script.as_bytes())?;
    journal.resolve(Outcome::Confirmed, None, now_ms());
    cx.state.save_journal(&journal)?;
    audit(cx, &pending, Event::Confirmed, None);
    if let Some(unit) = &pending.timer_unit {
        cx.guards.disarm_timer(unit);
    }
    cx.state.prune(&journal);
    Ok(pending)
}

#[derive(Debug)]
pub enum RollbackOutcome {
    RolledBack(Box<Pending>),
    NothingPending,
    /// The commit asked for is no longer pending (resolved already, or another is).
    NotPending(String),
}

/// Rolls back the pending commit now (only commit `only`, if given).
pub fn rollback(
    cx: &Context<'_>,
    only: Option<&str>,
    reason: &str,
) -> Result<RollbackOutcome, CommitError> {
    let lock = cx
        .state
        .lock(LOCK_WAIT * 3, &format!("rollback by {:?}", cx.by))?;
    let mut journal = cx.state.load_journal()?;
    match (&journal.pending, only) {
        (None, None) => Ok(RollbackOutcome::NothingPending),
        (None, Some(id)) => Ok(RollbackOutcome::NotPending(id.to_string())),
        (Some(p), Some(id)) if p.id != id => Ok(RollbackOutcome::NotPending(id.to_string())),
        (Some(_), _) => rollback_locked(cx, &lock, &mut journal, reason)
            .map(|p| RollbackOutcome::RolledBack(Box::new(p))),
    }
}

/// Puts the snapshot back (or deletes the table) in one transaction, then resolves the
/// commit. On failure the commit stays pending with the error recorded, and its snapshot
/// stays on disk for the next attempt.
fn rollback_locked(
    cx: &Context<'_>,
    _lock: &StateLock,
    journal: &mut Journal,
    reason: &str,
) -> Result<Pending, CommitError> {
    let Some(pending) = journal.pending.clone() else {
        return Err(CommitError::NothingPending);
    };
    let ours = current_netns();
    if pending.netns != ours {
        return Err(CommitError::WrongNamespace {
            id: pending.id,
            theirs: pending.netns,
            ours,
        });
    }
    let snapshot = if pending.had_table {
        Some(cx.state.read(&before_file(&pending.id))?)
    } else {
        None
    };
    let script = script::restore(&pending.table, snapshot.as_deref());
    if let Err(source) = cx.nft.run_script(&script) {
        let mut failed = pending.clone();
        failed.rollback_attempts += 1;
        failed.rollback_error = Some(source.to_string());
        journal.pending = Some(failed.clone());
        cx.state.save_journal(journal)?;
        // Logged on the first failures and then sparingly, so a long outage can't fill the
        // disk with identical lines.
        if failed.rollback_attempts.is_power_of_two() {
            audit(
                cx,
                &failed,
                Event::RollbackFailed,
                Some(format!("attempt {}: {source}", failed.rollback_attempts)),
            );
        }
        return Err(CommitError::Rollback {
            id: failed.id,
            attempt: failed.rollback_attempts,
            source,
        });
    }
    journal.resolve(Outcome::RolledBack, Some(reason.to_string()), now_ms());
    cx.state.save_journal(journal)?;
    audit(cx, &pending, Event::RolledBack, Some(reason.to_string()));
    if let Some(unit) = &pending.timer_unit {
        cx.guards.disarm_timer(unit);
    }
    cx.state.prune(journal);
    Ok(pending)
}

/// Crash recovery: rolls back a commit whose deadline has passed while no guard is alive
/// to do it. Returns the commit rolled back, if any.
pub fn recover_abandoned(cx: &Context<'_>) -> Result<Option<Pending>, CommitError> {
    let journal = cx.state.load_journal()?;
    let Some(pending) = journal.overdue(now_ms()) else {
        return Ok(None);
    };
    if cx.state.guard_alive(&pending.id) || pending.netns != current_netns() {
        return Ok(None);
    }
    let id = pending.id.clone();
    match rollback(
        cx,
        Some(&id),
        "deadline passed with no guard alive (crash or killed guard)",
    )? {
        RollbackOutcome::RolledBack(p) => Ok(Some(*p)),
        _ => Ok(None),
    }
}

#[derive(Debug)]
pub struct Restored {
    /// The confirmed commit loaded, if there was one.
    pub loaded: Option<String>,
    /// A commit that was pending and is now recorded as rolled back.
    pub abandoned: Option<String>,
}

/// Boot: records a pending commit as rolled back by the reboot and loads the last confirmed
/// ruleset, never a pending one.
pub fn restore(cx: &Context<'_>) -> Result<Restored, CommitError> {
    let _lock = cx.state.lock(LOCK_WAIT, "restore")?;
    let mut journal = cx.state.load_journal()?;
    let mut abandoned = None;
    if let Some(pending) = journal.pending.clone() {
        let reason = "pending at restore (boot): the last confirmed ruleset is loaded instead";
        journal.resolve(Outcome::RolledBack, Some(reason.into()), now_ms());
        cx.state.save_journal(&journal)?;
        audit(cx, &pending, Event::RolledBack, Some(reason.into()));
        if let Some(unit) = &pending.timer_unit {
            cx.guards.disarm_timer(unit);
        }
        abandoned = Some(pending.id);
    }
    let Some(confirmed) = journal.confirmed.clone() else {
        return Ok(Restored {
            loaded: None,
            abandoned,
        });
    };
    let script = cx.state.read(CONFIRMED_FILE)?;
    if digest(&script) != confirmed.digest {
        return Err(CommitError::DigestMismatch {
            file: cx.state.path(CONFIRMED_FILE).display().to_string(),
        });
    }
    cx.nft.run_script(&script).map_err(CommitError::Restore)?;
    let line = AuditLine {
        time: format_time(now_ms()),
        event: Event::Restored,
        by: cx.by,
        user: cx.who.user.clone(),
        ssh_peer: cx.who.ssh_peer.clone(),
        commit: Some(confirmed.id.clone()),
        table: Some(confirmed.table.clone()),
        rules_added: None,
        rules_removed: None,
        reason: None,
    };
    if let Err(e) = cx.state.append_audit(&line.to_json()) {
        eprintln!("portcullis: warning: cannot write the audit log: {e}");
    }
    Ok(Restored {
        loaded: Some(confirmed.id),
        abandoned,
    })
}
