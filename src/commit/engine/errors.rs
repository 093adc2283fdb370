//! How a commit operation can fail, in words an operator can act on. Each says whether
//! anything changed.

use crate::commit::journal::Pending;
use crate::commit::machine::{Reason, Via};
use crate::commit::state::StateError;

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
    #[error(
        "the guard of commit {ids} is still running though the journal no longer names it; \
         `portcullis rollback` asks it to roll back first. Nothing was changed."
    )]
    GuardsAlive { ids: String },
    #[error("cannot read the live table: {0}")]
    ReadLive(String),
    #[error(
        "table inet {table} changed since the diff was shown (another operator or tool); not \
         applying over it. Nothing was changed."
    )]
    Stale { table: String, diff_now: String },
    #[error("{0}")]
    NotOurs(String),
    #[error("cannot snapshot table inet {table} to roll back to; nothing was changed.\n{why}")]
    Snapshot { table: String, why: String },
    #[error(
        "nft would not load back the snapshot of table inet {table}, so a rollback could \
         fail; nothing was changed.\n{why}"
    )]
    SnapshotUnloadable { table: String, why: String },
    #[error("cannot stage the commit's files ({0}); nothing was changed")]
    Stage(StateError),
    #[error("cannot start the rollback guard ({0}); nothing was changed")]
    Guard(String),
    #[error("the new table was not applied; nothing was changed.\n{0}")]
    Apply(String),
    #[error("cannot record the commit in the state directory ({why}), so it was not {doing}")]
    CannotRecord { doing: &'static str, why: String },
    #[error(
        "commit {id} was loaded and then rolled back: {reason}. Table inet {table} is as it \
         was before."
    )]
    RolledBackInstead {
        id: String,
        table: String,
        reason: String,
    },
    #[error("rolling back commit {id} failed (attempt {attempt}); it is retried.\n{why}")]
    Rollback {
        id: String,
        attempt: u32,
        why: String,
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
    #[error("too late: the deadline of commit {id} passed; it was rolled back")]
    TooLate { id: String },
    #[error(
        "commit {id} must be confirmed from a connection opened after it was applied, \
         which proves that new connections still get in. This one ({origin}) is older.\n\
         Open a new SSH connection and run `portcullis confirm` there."
    )]
    NeedsNewSession { id: String, origin: String },
    #[error("the script commit {id} applied is damaged ({why}); not confirming it")]
    ScriptDamaged { id: String, why: String },
    #[error(
        "table inet {table} {what}; commit {id} is not confirmed. It stays pending and rolls \
         back at its deadline; `portcullis rollback` does it now, or apply again."
    )]
    LiveDiffers {
        id: String,
        table: String,
        what: String,
    },
    #[error("loading the confirmed ruleset failed.\n{0}")]
    Restore(String),
    #[error("internal error (a bug in portcullis; please report it): {0}")]
    Internal(String),
}

#[derive(Debug)]
pub enum RollbackOutcome {
    RolledBack {
        commit: Box<Pending>,
        reason: Reason,
        via: Via,
    },
    NothingPending,
    /// The commit asked for is no longer pending (resolved already, or another is).
    NotPending(String),
    /// The journal names no pending commit, but guards were alive: they were asked to roll
    /// back their commits now (which they did if they are gone).
    AskedGuards {
        ids: Vec<String>,
        done: bool,
    },
}
