//! The runner of the commit state machine: each operation takes the operator lock, reads
//! the journal (repairing it if it is damaged), feeds events to [`machine::step`] and
//! carries out the actions it returns against the firewall ([`Nft`]), the guards
//! ([`Guards`]) and the state directory, feeding their outcomes back in. The decisions are
//! all in `machine`; here is only IO, and the one place it is done, so the CLI and the
//! terminal UI act on the firewall the same way.
//!
//! Nothing here prints: what the operator should hear on the way (an audit log that could
//! not be written, a journal repaired, a fallback taken) is collected as warnings, which
//! each front end shows its own way.

mod actions;
mod apply;
mod errors;
mod grant;
mod in_place;
mod resolve;
mod watch;

use std::cell::{Cell, RefCell};
use std::time::Duration;

pub use apply::{Applied, ApplyRequest, Window};
pub use errors::{CommitError, RollbackOutcome};
pub use grant::Granted;
pub use resolve::Restored;
pub use watch::{GuardSignals, Watched};

use super::audit::{Actor, Who};
use super::clock::{Clock, Now};
use super::journal::Journal;
use super::machine::{self, At, Event, OnFailure, Refusal, Reply};
use super::state::{StateDir, StateLock};
use crate::nft::backend::Nft;

/// How long a command waits for another holder of the operator lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Arms and disarms the guards that roll a commit back when nobody confirms it.
pub trait Guards {
    /// Starts the guards for commit `id`, due `timeout` after its load. Returns the systemd
    /// timer unit if one was armed as well. Fails if the guard process could not be seen
    /// alive.
    fn arm(&self, id: &str, timeout: Duration) -> Result<Option<String>, String>;
    /// Stops a transient timer (best effort: it is idempotent anyway).
    fn disarm_timer(&self, unit: &str);
    /// Asks the guard process `pid` to roll its commit back now, for the operator.
    fn ask_to_roll_back(&self, pid: i32) -> bool;
}

/// What the engine works with: the backends and the person acting.
pub struct Backends<'a> {
    pub state: &'a StateDir,
    pub nft: &'a dyn Nft,
    pub guards: &'a dyn Guards,
    pub clock: &'a dyn Clock,
    pub who: &'a Who,
    /// The network namespace we run in.
    pub netns: String,
}

/// One operation's worth of the engine.
pub struct Engine<'a> {
    b: Backends<'a>,
    by: Actor,
    warnings: RefCell<Vec<String>>,
    /// A journal write of this operation failed and was left for later.
    unrecorded: Cell<bool>,
    /// Whose a table was, read a moment ago (a guard reads it just before its deadline,
    /// so that the put back at the deadline does not wait for that nft listing).
    owner_seen: RefCell<Option<OwnerSeen>>,
    /// What the apply hands to the moment after its load.
    loading: RefCell<Option<in_place::Loading>>,
}

/// An ownership reading and when it was taken.
#[derive(Debug, Clone)]
struct OwnerSeen {
    table: String,
    at_boot_ns: u64,
    owner: super::ownership::Owner,
}

/// How old an ownership reading may be for a put back to rely on it. Under the operator
/// lock no portcullis can change the table; this is how long another tool would have.
const OWNER_FRESH: Duration = Duration::from_millis(500);

impl<'a> Engine<'a> {
    pub fn new(b: Backends<'a>, by: Actor) -> Engine<'a> {
        Engine {
            b,
            by,
            warnings: RefCell::new(Vec::new()),
            unrecorded: Cell::new(false),
            owner_seen: RefCell::new(None),
            loading: RefCell::new(None),
        }
    }

    /// What the operator should hear about the operations so far (and forgets it).
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings.take()
    }

    fn warn(&self, text: impl Into<String>) {
        self.warnings.borrow_mut().push(text.into());
    }

    fn now(&self) -> Now {
        self.b.clock.now()
    }

    fn at(&self) -> At {
        At {
            now: self.now(),
            netns: self.b.netns.clone(),
        }
    }

    fn lock(&self, wait: Duration, doing: &str) -> Result<StateLock, CommitError> {
        Ok(self
            .b
            .state
            .lock(wait, &format!("{doing} by {}", self.b.who.user))?)
    }

    /// The journal, repaired if damaged (said as a warning and in the audit log).
    fn journal(&self) -> Result<Journal, CommitError> {
        let (journal, repaired) = self.b.state.load_journal_repairing()?;
        if let Some(r) = repaired {
            let kept = r.kept_as.as_deref().map_or(String::new(), |p| {
                format!("; the damaged file is kept as {p}")
            });
            let confirmed = r.confirmed.as_deref().map_or(
                "no verified confirmed ruleset was found".to_string(),
                |id| format!("it names commit {id} as confirmed, from the verified confirmed.nft"),
            );
            let text = format!(
                "the journal was damaged ({}); a new one was made{kept}; {confirmed}",
                r.why
            );
            self.audit_repair(&text);
            self.warn(text);
        }
        Ok(journal)
    }

    /// Steps the machine from `journal` with `event` and carries out its actions, feeding
    /// what they bring back in, until an action replies.
    fn run(&self, mut journal: Journal, mut event: Event, lock: &StateLock) -> Reply {
        loop {
            let recorded = journal.clone();
            let t = machine::step(&journal, event, &self.at());
            journal = t.journal;
            let mut next = None;
            for action in t.actions {
                match self.carry_out(action, &journal, lock) {
                    Carried::Done => {}
                    Carried::Reply(reply) => return reply,
                    Carried::Event(e) => {
                        next = Some(e);
                        break;
                    }
                    Carried::RecordFailed(on_failure, why) => match on_failure {
                        OnFailure::Abort { doing } => {
                            return Reply::Refused(Refusal::CannotRecord { doing, why });
                        }
                        OnFailure::PutBack(reason) => {
                            self.warn(format!("cannot record the commit in the journal: {why}"));
                            // Back to what the journal says, and from there put it back.
                            let id = recorded.pending.as_ref().map(|p| p.id.clone());
                            journal = recorded;
                            next = Some(Event::Rollback { only: id, reason });
                            break;
                        }
                        OnFailure::Later => {
                            self.unrecorded.set(true);
                            self.warn(format!(
                                "the outcome could not be recorded in the journal yet ({why}); \
                                 it will be once the state directory can be written"
                            ));
                        }
                    },
                }
            }
            match next {
                Some(e) => event = e,
                // Every transition ends in a reply or an event; this is a bug, said plainly.
                None => {
                    return Reply::Refused(Refusal::Internal(
                        "a commit step ended without an outcome".into(),
                    ));
                }
            }
        }
    }
}

/// What carrying out one action led to.
enum Carried {
    Done,
    Reply(Reply),
    Event(Event),
    RecordFailed(OnFailure, String),
}

#[cfg(test)]
mod tests;
