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

mod apply;
mod resolve;

use std::time::Duration;

use super::audit::Event as AuditEvent;
use super::clock::{Deadline, Now};
use super::journal::{Journal, LiveRecord, Outcome, Pending, Record, Stage};

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
    /// The inverse of a change in place: the table was still as the commit left it.
    Inverse,
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
        /// What the load left, when nothing else changed the ruleset in between.
        record: Option<LiveRecord>,
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
    /// The journal lost a commit the guard last saw applying: watch it as this, live
    /// with a full window from now (only valid under the lock, once its apply has ended).
    Resume(Box<Pending>),
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
    /// A step ended without an outcome: a bug in this program, said as one.
    Internal(String),
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

impl Transition {
    /// The reply it ends in, if it ends in one (rather than in an action to carry out).
    pub fn reply(&self) -> Option<&Reply> {
        match self.actions.last() {
            Some(Action::Reply(r)) => Some(r),
            _ => None,
        }
    }
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

/// The history record of `commit`, ended now.
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

/// The one transition function.
pub fn step(journal: &Journal, event: Event, at: &At) -> Transition {
    match event {
        Event::Begin(commit) => apply::begin(journal, *commit),
        Event::Armed { timer } => apply::armed(journal, timer),
        Event::ArmFailed(why) => apply::arm_failed(journal, why, at),
        Event::Loaded { shape, record } => apply::loaded(journal, shape, record, at),
        Event::LoadFailed { commit, why } => apply::load_failed(journal, *commit, why, at),
        Event::Confirm(evidence) => resolve::confirm(journal, evidence, at),
        Event::Rollback { only, reason } => resolve::rollback(journal, only, reason, at),
        Event::Watch { own, trigger } => resolve::watch(journal, *own, trigger, at),
        Event::Boot => resolve::boot(journal),
        Event::PutBack {
            commit,
            reason,
            result,
        } => resolve::put_back(journal, *commit, reason, result, at),
        Event::Restored(result) => resolve::restored(journal, result),
    }
}

#[cfg(test)]
mod tests;
