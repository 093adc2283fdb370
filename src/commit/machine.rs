//! The commit engine's states and transitions, pure: [`step`] takes the journal (the
//! state), an [`Event`] and where and when it happens, and returns the next journal and
//! the [`Action`]s that carry the transition out. `engine` runs the actions against the
//! firewall, the guards and the state directory, and feeds their outcomes back as events.
//!
//! ```text
//!            Begin (apply)          Armed           Loaded
//!   Idle ─────────────────> Applying ─────> Applying ─────> Live(deadline)
//!    ^  <──── ArmFailed / LoadFailed ───────┘                  │
//!    │                                                         │ Confirm (before the deadline)
//!    ├──────────────────────── confirmed <─────────────────────┤
//!    │                                                         │ Rollback, Watch past the
//!    └──── rolled back <── PutBack(done) <── put back <────────┘ deadline, Watch(stopped),
//!                                                                Boot; Applying + Watch
//! ```
//!
//! The rules the fault review asked for live here, once: a deadline exists only once the
//! new table is live; only a passed deadline on the boot clock lets a guard act; a guard
//! that holds the operator lock and finds its commit still applying knows that apply is
//! gone (an apply holds the lock, and every nft it runs inherits it); a confirm is taken
//! only if the live table is the one applied; a boot puts back what was pending before it
//! loads the confirmed ruleset; a journal that lost track of a guard's commit does not make
//! that guard stand down.

use std::time::Duration;

use super::audit::Event as AuditEvent;
use super::clock::{Deadline, Now};
use super::journal::{Journal, Outcome, Pending, Record, Stage};

/// Where and when an event happens.
#[derive(Debug, Clone)]
pub struct At {
    pub now: Now,
    /// The network namespace we run in (`net:[INODE]`).
    pub netns: String,
}

/// Why a commit is put back. Each says itself in the journal and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Its deadline passed without a confirm.
    Deadline,
    /// A confirm came after the deadline.
    LateConfirm,
    /// The operator asked (the text says how: the CLI, the prompt, the UI).
    Operator(String),
    /// Its apply died before the new table was recorded as live.
    Interrupted,
    /// Its apply loaded the new table and could not record it.
    Unrecorded,
    /// Its guard was stopped (SIGTERM) before the deadline.
    Stopped,
    /// The machine booted with it pending.
    Boot,
    /// A later command found it past its deadline with no guard alive.
    Abandoned,
}

impl Reason {
    pub fn text(&self) -> String {
        match self {
            Reason::Deadline => "deadline passed without a confirm".into(),
            Reason::LateConfirm => "deadline passed before the confirm".into(),
            Reason::Operator(how) => how.clone(),
            Reason::Interrupted => {
                "its apply was interrupted before the new table was recorded as live".into()
            }
            Reason::Unrecorded => {
                "the new table was loaded but could not be recorded in the state directory".into()
            }
            Reason::Stopped => "the guard was stopped (SIGTERM) before the deadline".into(),
            Reason::Boot => {
                "pending at restore (boot): the last confirmed ruleset is loaded instead".into()
            }
            Reason::Abandoned => {
                "deadline passed with no guard alive (crash or killed guard)".into()
            }
        }
    }
}

/// How a put back was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The snapshot taken before the commit was loaded.
    Snapshot,
    /// There was no table before; it was deleted.
    Deleted,
    /// The snapshot could not be used (`why`); the confirmed ruleset of commit `id` was
    /// loaded instead.
    Confirmed { id: String, why: String },
}

/// What a guard's look at its commit was prompted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its poll: act if the deadline passed (or the apply died).
    Poll,
    /// SIGTERM: roll back now.
    Stopped,
    /// The operator's `rollback` asked it to (SIGUSR1): roll back now.
    Operator,
    /// A later command, finding no guard alive.
    Recovery,
}

/// What a confirm found, checked by the runner before it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The confirming session began after the commit went live (what `confirm =
    /// "new-session"` asks for), and how that session was identified.
    pub fresh_session: bool,
    pub origin: String,
    /// The applied script still verifies against the journal.
    pub script: Result<(), String>,
    /// The live table's shape now (None: the table is gone), or why nft could not say.
    pub live_shape: Result<Option<String>, String>,
}

#[derive(Debug, Clone)]
pub enum Event {
    /// An apply has taken its snapshot and staged its scripts, and begins.
    Begin(Box<Pending>),
    /// The applying commit's guards are armed (with this systemd timer, if any).
    Armed {
        timer: Option<String>,
    },
    ArmFailed(String),
    /// nft loaded the new table; `shape` is our table as listed right after.
    Loaded {
        shape: Option<String>,
    },
    LoadFailed {
        commit: Box<Pending>,
        why: String,
    },
    Confirm(Evidence),
    Rollback {
        only: Option<String>,
        reason: Reason,
    },
    /// A guard (or the timer, or recovery) looks at its commit, under the lock. `own` is
    /// what the guard knows of it, for when the journal no longer does.
    Watch {
        own: Box<Pending>,
        trigger: Trigger,
    },
    /// `restore`: put back what is pending, then load the confirmed ruleset.
    Boot,
    /// A put back finished.
    PutBack {
        commit: Box<Pending>,
        reason: Reason,
        result: Result<Via, String>,
    },
    /// `restore` loaded the confirmed ruleset (None: nothing was ever confirmed), or not.
    Restored(Result<Option<Restoration>, String>),
}

/// What `restore` loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restoration {
    pub id: String,
    pub table: String,
    /// Why the last confirmed ruleset could not be loaded, when an earlier one was.
    pub fallback: Option<String>,
}

/// What to do when writing the journal fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop here: `doing` did not happen (nothing else has changed yet).
    Abort { doing: &'static str },
    /// The firewall changed and cannot be recorded: put it back.
    PutBack(Reason),
    /// Carry on; the record is made later (a guard retries) and the failure is shown.
    Later,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Write the journal as this step leaves it.
    Record(OnFailure),
    /// Start the guards of commit `id`, due `timeout` after its load. Feeds Armed or
    /// ArmFailed.
    ArmGuards {
        id: String,
        timeout: Duration,
    },
    /// Load commit `id`'s applied script. Feeds Loaded or LoadFailed.
    Load {
        commit: Box<Pending>,
    },
    /// Put the table back as it was before `commit`. Feeds PutBack.
    PutBack {
        commit: Box<Pending>,
        reason: Reason,
    },
    /// Load the best verified confirmed ruleset. Feeds Restored.
    LoadConfirmed,
    /// Make confirmed.nft a copy of commit `id`'s script.
    CopyConfirmed {
        id: String,
    },
    Audit {
        event: AuditEvent,
        commit: Box<Pending>,
        reason: Option<String>,
    },
    /// The audit line of a restore.
    AuditRestore(Restoration),
    DisarmTimer(String),
    Prune,
    /// Something the operator should hear on the way.
    Note(String),
    Reply(Reply),
}

/// How an operation ended.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The new table is live and waits for a confirm.
    Pending(Box<Pending>),
    /// Kept: confirmed, or `apply --yes`.
    Confirmed(Box<Pending>),
    RolledBack {
        commit: Box<Pending>,
        reason: Reason,
        via: Via,
    },
    /// Nothing for this guard to do any more.
    StandDown,
    /// Not yet: the deadline is ahead.
    Wait(Deadline),
    Restored(Option<Restoration>),
    Refused(Refusal),
}

/// Why an operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Another commit is pending.
    Busy(Box<Pending>),
    NothingPending,
    /// The commit asked for is not the pending one.
    NotPending(String),
    /// The commit has not finished applying.
    StillApplying(String),
    NeedsNewSession {
        id: String,
        origin: String,
    },
    /// The applied script no longer verifies.
    ScriptDamaged {
        id: String,
        why: String,
    },
    /// The live table is not what the commit applied.
    LiveDiffers {
        id: String,
        table: String,
        what: String,
    },
    WrongNamespace {
        id: String,
        theirs: String,
        ours: String,
    },
    GuardFailed(String),
    LoadFailed(String),
    RollbackFailed {
        id: String,
        attempt: u32,
        why: String,
    },
    RestoreFailed(String),
    /// The journal could not be written, so `doing` did not happen.
    CannotRecord {
        doing: &'static str,
        why: String,
    },
}

/// The next journal and what to do.
#[derive(Debug, Clone)]
pub struct Transition {
    pub journal: Journal,
    pub actions: Vec<Action>,
}

fn stay(journal: &Journal, actions: Vec<Action>) -> Transition {
    Transition {
        journal: journal.clone(),
        actions,
    }
}

fn reply(journal: &Journal, r: Reply) -> Transition {
    stay(journal, vec![Action::Reply(r)])
}

fn refuse(journal: &Journal, r: Refusal) -> Transition {
    reply(journal, Reply::Refused(r))
}

fn audit(event: AuditEvent, commit: &Pending, reason: Option<String>) -> Action {
    Action::Audit {
        event,
        commit: Box::new(commit.clone()),
        reason,
    }
}

fn disarm(commit: &Pending) -> Option<Action> {
    commit.timer_unit.clone().map(Action::DisarmTimer)
}

/// The one transition function.
pub fn step(journal: &Journal, event: Event, at: &At) -> Transition {
    match event {
        Event::Begin(commit) => begin(journal, *commit),
        Event::Armed { timer } => armed(journal, timer),
        Event::ArmFailed(why) => arm_failed(journal, why, at),
        Event::Loaded { shape } => loaded(journal, shape, at),
        Event::LoadFailed { commit, why } => load_failed(journal, *commit, why, at),
        Event::Confirm(evidence) => confirm(journal, evidence, at),
        Event::Rollback { only, reason } => rollback(journal, only, reason, at),
        Event::Watch { own, trigger } => watch(journal, *own, trigger, at),
        Event::Boot => boot(journal),
        Event::PutBack {
            commit,
            reason,
            result,
        } => put_back(journal, *commit, reason, result, at),
        Event::Restored(result) => restored(journal, result),
    }
}

fn begin(journal: &Journal, commit: Pending) -> Transition {
    if let Some(p) = &journal.pending {
        return refuse(journal, Refusal::Busy(Box::new(p.clone())));
    }
    let mut next = journal.clone();
    next.pending = Some(commit.clone());
    let actions = match commit.timeout() {
        // Journalled before the guard starts: a guard stands down at once if its commit is
        // not the pending one, and a crash from here on leaves a commit to put back.
        Some(timeout) => vec![
            Action::Record(OnFailure::Abort { doing: "applied" }),
            Action::ArmGuards {
                id: commit.id.clone(),
                timeout,
            },
        ],
        // --yes: no window and no guard; recorded once loaded.
        None => vec![Action::Load {
            commit: Box::new(commit),
        }],
    };
    Transition {
        journal: next,
        actions,
    }
}

fn applying(journal: &Journal) -> Option<&Pending> {
    journal
        .pending
        .as_ref()
        .filter(|p| p.stage == Stage::Applying)
}

fn armed(journal: &Journal, timer: Option<String>) -> Transition {
    let Some(p) = applying(journal) else {
        return refuse(journal, Refusal::NothingPending);
    };
    let mut commit = p.clone();
    commit.timer_unit = timer;
    let mut next = journal.clone();
    next.pending = Some(commit.clone());
    Transition {
        journal: next,
        actions: vec![
            // Again, now with the timer unit, so that confirm and rollback can stop it.
            Action::Record(OnFailure::Abort { doing: "applied" }),
            Action::Load {
                commit: Box::new(commit),
            },
        ],
    }
}

fn arm_failed(journal: &Journal, why: String, at: &At) -> Transition {
    let mut next = journal.clone();
    next.resolve(
        Outcome::Failed,
        Some(format!("guard: {why}")),
        at.now.wall_ms,
    );
    Transition {
        journal: next,
        actions: vec![
            Action::Record(OnFailure::Later),
            Action::Prune,
            Action::Reply(Reply::Refused(Refusal::GuardFailed(why))),
        ],
    }
}

fn loaded(journal: &Journal, shape: Option<String>, at: &At) -> Transition {
    let Some(p) = applying(journal) else {
        return refuse(journal, Refusal::NothingPending);
    };
    let mut commit = p.clone();
    commit.shape = shape;
    commit.applied_at_ms = at.now.wall_ms;
    commit.applied_at_boot_ns = at.now.boot_ns;
    let mut next = journal.clone();
    let Some(timeout) = commit.timeout() else {
        // --yes: kept at once.
        next.pending = Some(commit.clone());
        let reason = "confirmed at once (--yes)";
        next.resolve(Outcome::Confirmed, Some(reason.into()), at.now.wall_ms);
        return Transition {
            journal: next,
            actions: vec![
                Action::Record(OnFailure::PutBack(Reason::Unrecorded)),
                Action::CopyConfirmed {
                    id: commit.id.clone(),
                },
                audit(AuditEvent::Applied, &commit, None),
                audit(AuditEvent::Confirmed, &commit, Some(reason.into())),
                Action::Prune,
                Action::Reply(Reply::Confirmed(Box::new(commit))),
            ],
        };
    };
    // The window starts now that the new table is live, and is fixed from here on.
    commit.stage = Stage::Live {
        deadline: Deadline::after(&at.now, timeout),
    };
    next.pending = Some(commit.clone());
    Transition {
        journal: next,
        actions: vec![
            Action::Record(OnFailure::PutBack(Reason::Unrecorded)),
            audit(AuditEvent::Applied, &commit, None),
            Action::Reply(Reply::Pending(Box::new(commit))),
        ],
    }
}

fn load_failed(journal: &Journal, commit: Pending, why: String, at: &At) -> Transition {
    let reason = format!("nft refused the new table: {why}");
    let mut next = journal.clone();
    if next.pending.as_ref().is_some_and(|p| p.id == commit.id) {
        next.resolve(Outcome::Failed, Some(reason.clone()), at.now.wall_ms);
    } else {
        next.push_history(record(&commit, Outcome::Failed, Some(reason.clone()), at));
    }
    let mut actions = vec![
        Action::Record(OnFailure::Later),
        audit(AuditEvent::ApplyFailed, &commit, Some(reason)),
    ];
    actions.extend(disarm(&commit));
    actions.push(Action::Prune);
    actions.push(Action::Reply(Reply::Refused(Refusal::LoadFailed(why))));
    Transition {
        journal: next,
        actions,
    }
}

fn record(commit: &Pending, outcome: Outcome, reason: Option<String>, at: &At) -> Record {
    Record {
        id: commit.id.clone(),
        table: commit.table.clone(),
        applied_at_ms: commit.applied_at_ms,
        resolved_at_ms: at.now.wall_ms,
        outcome,
        reason,
        user: commit.user.clone(),
        rules_added: commit.rules_added,
        rules_removed: commit.rules_removed,
    }
}

fn confirm(journal: &Journal, evidence: Evidence, at: &At) -> Transition {
    let Some(commit) = journal.pending.clone() else {
        return refuse(journal, Refusal::NothingPending);
    };
    let Stage::Live { deadline } = &commit.stage else {
        return refuse(journal, Refusal::StillApplying(commit.id));
    };
    if deadline.passed(&at.now) {
        // Past the deadline the commit is not the operator's to keep: put it back here
        // rather than leave it to a guard that may be gone.
        return put_back_now(journal, commit, Reason::LateConfirm);
    }
    if commit.require_new_session && !evidence.fresh_session {
        return refuse(
            journal,
            Refusal::NeedsNewSession {
                id: commit.id,
                origin: evidence.origin,
            },
        );
    }
    if let Err(why) = evidence.script {
        return refuse(journal, Refusal::ScriptDamaged { id: commit.id, why });
    }
    let what = match evidence.live_shape {
        Err(why) => Some(format!("could not be read to check it ({why})")),
        Ok(None) => Some(format!(
            "is not live (deleted since commit {} applied it)",
            commit.id
        )),
        Ok(Some(shape)) if commit.shape.as_ref().is_some_and(|s| *s != shape) => Some(format!(
            "differs from what commit {} applied (changed since, by hand or another tool)",
            commit.id
        )),
        Ok(Some(_)) => None,
    };
    if let Some(what) = what {
        return refuse(
            journal,
            Refusal::LiveDiffers {
                id: commit.id,
                table: commit.table,
                what,
            },
        );
    }
    let mut next = journal.clone();
    next.resolve(Outcome::Confirmed, None, at.now.wall_ms);
    let mut actions = vec![
        // The journal names the new confirmed ruleset before any copy of it is touched, so
        // a failure here leaves the last one whole.
        Action::Record(OnFailure::Abort { doing: "confirmed" }),
        Action::CopyConfirmed {
            id: commit.id.clone(),
        },
        audit(AuditEvent::Confirmed, &commit, None),
    ];
    actions.extend(disarm(&commit));
    actions.push(Action::Prune);
    actions.push(Action::Reply(Reply::Confirmed(Box::new(commit))));
    Transition {
        journal: next,
        actions,
    }
}

/// A rollback from another network namespace would change the wrong firewall.
fn elsewhere(commit: &Pending, at: &At) -> Option<Refusal> {
    (commit.netns != at.netns).then(|| Refusal::WrongNamespace {
        id: commit.id.clone(),
        theirs: commit.netns.clone(),
        ours: at.netns.clone(),
    })
}

fn put_back_now(journal: &Journal, commit: Pending, reason: Reason) -> Transition {
    stay(
        journal,
        vec![Action::PutBack {
            commit: Box::new(commit),
            reason,
        }],
    )
}

fn rollback(journal: &Journal, only: Option<String>, reason: Reason, at: &At) -> Transition {
    let commit = match (&journal.pending, only) {
        (None, None) => return refuse(journal, Refusal::NothingPending),
        (None, Some(id)) => return refuse(journal, Refusal::NotPending(id)),
        (Some(p), Some(id)) if p.id != id => return refuse(journal, Refusal::NotPending(id)),
        (Some(p), _) => p.clone(),
    };
    if let Some(elsewhere) = elsewhere(&commit, at) {
        return refuse(journal, elsewhere);
    }
    put_back_now(journal, commit, reason)
}

fn watch(journal: &Journal, own: Pending, trigger: Trigger, at: &At) -> Transition {
    let commit = match &journal.pending {
        Some(p) if p.id == own.id => p.clone(),
        // Another commit is pending: ours was resolved and the journal moved on.
        Some(_) => return reply(journal, Reply::StandDown),
        // Resolved (confirmed, rolled back) by someone else.
        None if journal.resolved(&own.id).is_some() => return reply(journal, Reply::StandDown),
        // The journal has lost track of it (damaged, moved aside): its fate is unknown, so
        // it was not confirmed. The guard's own record decides.
        None => own,
    };
    if let Some(elsewhere) = elsewhere(&commit, at) {
        return refuse(journal, elsewhere);
    }
    let reason = match (trigger, &commit.stage) {
        (Trigger::Stopped, _) => Reason::Stopped,
        (Trigger::Operator, _) => Reason::Operator("rolled back by the operator".into()),
        // We hold the operator lock, which its apply held until its last nft exited: that
        // apply is gone, and what it loaded was never recorded as live.
        (_, Stage::Applying) => Reason::Interrupted,
        (_, Stage::Live { deadline }) if !deadline.passed(&at.now) => {
            return reply(journal, Reply::Wait(deadline.clone()));
        }
        (Trigger::Recovery, Stage::Live { .. }) => Reason::Abandoned,
        (_, Stage::Live { .. }) => Reason::Deadline,
    };
    put_back_now(journal, commit, reason)
}

fn boot(journal: &Journal) -> Transition {
    match &journal.pending {
        // Whatever was pending is undone first, in whatever table it was.
        Some(p) => put_back_now(journal, p.clone(), Reason::Boot),
        None => stay(journal, vec![Action::LoadConfirmed]),
    }
}

fn put_back(
    journal: &Journal,
    commit: Pending,
    reason: Reason,
    result: Result<Via, String>,
    at: &At,
) -> Transition {
    let ours = journal.pending.as_ref().is_some_and(|p| p.id == commit.id);
    let via = match result {
        Ok(via) => via,
        Err(why) => {
            let mut next = journal.clone();
            let mut failed = commit.clone();
            if let Some(p) = next.pending.as_mut().filter(|_| ours) {
                p.rollback_attempts += 1;
                p.rollback_error = Some(why.clone());
                failed = p.clone();
            }
            let attempt = failed.rollback_attempts.max(1);
            let mut actions = vec![Action::Record(OnFailure::Later)];
            // Logged on the first failures and then sparingly, so a long outage can't fill
            // the disk with identical lines.
            if attempt.is_power_of_two() {
                actions.push(audit(
                    AuditEvent::RollbackFailed,
                    &failed,
                    Some(format!("attempt {attempt}: {why}")),
                ));
            }
            if reason == Reason::Boot {
                actions.push(Action::Note(format!(
                    "commit {} was pending and could not be put back: {why}",
                    commit.id
                )));
                actions.push(Action::LoadConfirmed);
            } else {
                actions.push(Action::Reply(Reply::Refused(Refusal::RollbackFailed {
                    id: commit.id,
                    attempt,
                    why,
                })));
            }
            return Transition {
                journal: next,
                actions,
            };
        }
    };
    let mut said = reason.text();
    if let Via::Confirmed { id, why } = &via {
        said.push_str(&format!(
            "; its snapshot could not be used ({why}), so the confirmed ruleset of commit {id} was loaded instead"
        ));
    }
    let mut next = journal.clone();
    let mut actions = Vec::new();
    if ours {
        next.resolve(Outcome::RolledBack, Some(said.clone()), at.now.wall_ms);
    } else if journal.resolved(&commit.id).is_none() {
        next.push_history(record(&commit, Outcome::RolledBack, Some(said.clone()), at));
    }
    if ours || journal.resolved(&commit.id).is_none() {
        actions.push(Action::Record(OnFailure::Later));
        actions.push(audit(AuditEvent::RolledBack, &commit, Some(said)));
        actions.extend(disarm(&commit));
        actions.push(Action::Prune);
    }
    if reason == Reason::Boot {
        actions.push(Action::Note(format!(
            "commit {} was still pending; put back and recorded as rolled back",
            commit.id
        )));
        actions.push(Action::LoadConfirmed);
    } else {
        actions.push(Action::Reply(Reply::RolledBack {
            commit: Box::new(commit),
            reason,
            via,
        }));
    }
    Transition {
        journal: next,
        actions,
    }
}

fn restored(journal: &Journal, result: Result<Option<Restoration>, String>) -> Transition {
    match result {
        Ok(Some(r)) => stay(
            journal,
            vec![
                Action::AuditRestore(r.clone()),
                Action::Reply(Reply::Restored(Some(r))),
            ],
        ),
        Ok(None) => reply(journal, Reply::Restored(None)),
        Err(why) => refuse(journal, Refusal::RestoreFailed(why)),
    }
}

#[cfg(test)]
mod tests;
