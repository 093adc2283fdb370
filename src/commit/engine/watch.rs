//! What a guard (and the systemd timer) does while its commit is pending: look at the
//! journal without the lock until the commit's deadline has passed on the boot clock (or it
//! was left applying, or the guard is told to act), then act under the lock, where the
//! machine decides again from the journal as it is then. A put back that could not be
//! recorded is recorded later, without loading anything again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{CommitError, Engine};
use crate::commit::journal::Pending;
use crate::commit::machine::{self, Event, Reason, Refusal, Reply, Trigger, Via};
use crate::commit::state::StateError;

/// How often a waiting guard re-reads the journal (a confirm makes it stand down within
/// this), and the longest it oversleeps the deadline.
pub const POLL: Duration = Duration::from_millis(100);
/// How long a due guard waits for a lock held by nft processes whose apply has died
/// before it ends them: long enough for such an nft to finish a big load on its own, short
/// enough that a stalled one cannot hold the rollback off for good. (Ending an nft is safe:
/// its transaction commits whole or not at all, and the put back follows it.)
pub const ORPHAN_GRACE: Duration = Duration::from_secs(10);

/// What a guard process was told by signals, set by its handlers.
#[derive(Debug, Clone, Default)]
pub struct GuardSignals {
    /// SIGTERM: roll back now.
    pub stop: Arc<AtomicBool>,
    /// SIGUSR1, from `portcullis rollback`: roll back now, for the operator.
    pub operator: Arc<AtomicBool>,
}

impl GuardSignals {
    fn trigger(&self) -> Trigger {
        if self.stop.load(Ordering::SeqCst) {
            Trigger::Stopped
        } else if self.operator.load(Ordering::SeqCst) {
            Trigger::Operator
        } else {
            Trigger::Poll
        }
    }
}

/// How a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watched {
    /// Resolved, by us or by someone else.
    Done,
    /// The commit is another namespace's; never ours to roll back.
    WrongNamespace,
    /// The state directory itself was removed: nothing is left to put back from or to
    /// record in.
    StateGone,
}

impl Engine<'_> {
    /// Watches commit `id` until it is resolved, rolling it back when it is due.
    pub fn watch(&self, id: &str, signals: &GuardSignals) -> Watched {
        let mut own: Option<Pending> = None;
        let mut put_back: Option<(Reason, Via)> = None;
        let mut failures: u32 = 0;
        // Since when (boot clock, ns) the lock has been busy while the commit was due.
        let mut busy_since: Option<u64> = None;
        loop {
            if !self.b.state.root().is_dir() {
                return Watched::StateGone;
            }
            let trigger = signals.trigger();
            if put_back.is_none() {
                // A look without the lock. The machine decides from the journal as read;
                // it decides again under the lock before anything is done.
                let read = self.b.state.load_journal();
                let journal = read.as_ref().cloned().unwrap_or_default();
                if let Some(p) = journal.pending.as_ref().filter(|p| p.id == id) {
                    own = Some(p.clone());
                }
                let Some(commit) = own.clone() else {
                    // Never seen: a readable journal that does not name it pending has
                    // resolved it; an unreadable one may yet name it (giving up would
                    // leave it unguarded).
                    if read.is_ok() {
                        return Watched::Done;
                    }
                    self.sleep(backoff(failures));
                    failures += 1;
                    continue;
                };
                let table = commit.table.clone();
                let own_event = Event::Watch {
                    own: Box::new(commit),
                    trigger,
                };
                match machine::step(&journal, own_event, &self.at()).reply() {
                    Some(Reply::StandDown) => return Watched::Done,
                    Some(Reply::Refused(Refusal::WrongNamespace { .. })) => {
                        return Watched::WrongNamespace;
                    }
                    Some(Reply::Wait(deadline)) => {
                        if deadline.left(&self.now()) <= POLL {
                            // The last sleep before the deadline: read whose the table is
                            // now, so that the put back need not wait for that listing.
                            self.see_owner(&table);
                            self.sleep(deadline.left(&self.now()));
                        } else {
                            self.sleep(POLL);
                        }
                        continue;
                    }
                    // Due, or the journal lost it while it was applying: look again under
                    // the lock.
                    _ => {}
                }
            }
            let Some(commit) = own.clone() else {
                self.sleep(POLL);
                continue;
            };
            // Short waits, so that a signal or a confirm is seen between them.
            let lock = match self.lock(Duration::from_millis(200), &format!("guard of commit {id}"))
            {
                Ok(lock) => lock,
                // Busy: the lock wait itself paced us. Anything else: back off.
                Err(CommitError::State(StateError::Busy { .. })) => {
                    let now = self.now().boot_ns;
                    let since = *busy_since.get_or_insert(now);
                    if now.saturating_sub(since) > ORPHAN_GRACE.as_nanos() as u64 {
                        self.end_orphans();
                        busy_since = None;
                    }
                    continue;
                }
                Err(_) => {
                    self.sleep(backoff(failures));
                    failures += 1;
                    continue;
                }
            };
            let journal = match self.journal() {
                Ok(j) => j,
                Err(_) => {
                    drop(lock);
                    self.sleep(backoff(failures));
                    failures += 1;
                    continue;
                }
            };
            busy_since = None;
            self.unrecorded.set(false);
            let event = match &put_back {
                Some((reason, via)) => Event::PutBack {
                    commit: Box::new(commit),
                    reason: reason.clone(),
                    result: Ok(via.clone()),
                },
                None => Event::Watch {
                    own: Box::new(commit),
                    trigger,
                },
            };
            let reply = self.run(journal, event, &lock);
            drop(lock);
            match reply {
                Reply::StandDown => return Watched::Done,
                Reply::Wait(_) => {}
                Reply::Resume(live) => own = Some(*live),
                Reply::RolledBack { reason, via, .. } => {
                    if !self.unrecorded.get() {
                        return Watched::Done;
                    }
                    // Put back, not recorded: keep trying to record it.
                    put_back = Some((reason, via));
                    self.sleep(backoff(failures));
                    failures += 1;
                }
                Reply::Refused(Refusal::WrongNamespace { .. }) => return Watched::WrongNamespace,
                _ => {
                    self.sleep(backoff(failures));
                    failures += 1;
                }
            }
        }
    }

    /// Ends the nft processes an apply that died left holding the lock.
    fn end_orphans(&self) {
        for pid in self.b.state.orphaned_lock_holders() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    fn sleep(&self, d: Duration) {
        self.b.clock.sleep(d);
    }
}

/// 100 ms, 200 ms, 400 ms ... up to 5 s between attempts.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << failures.min(6))).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(5));
    }
}
