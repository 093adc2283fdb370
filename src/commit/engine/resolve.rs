//! Ending a pending commit: confirm, rollback, crash recovery, and the boot's restore.

use std::time::{Duration, Instant};

use super::{CommitError, Engine, LOCK_WAIT, RollbackOutcome};
use crate::commit::journal::{Journal, Pending, Stage};
use crate::commit::machine::{Event, Evidence, Reason, Reply, Restoration, Trigger};
use crate::commit::state::StateError;
use crate::commit::state::scripts::applied_file;
use crate::system::SessionOrigin;

/// What `restore` did.
#[derive(Debug)]
pub struct Restored {
    /// The confirmed commit loaded, if there was one, and why an earlier one was loaded
    /// instead of the last, if it was.
    pub loaded: Option<Restoration>,
}

/// How long `rollback` waits for guards it asked to roll back to be done.
const GUARD_WAIT: Duration = Duration::from_secs(30);

impl Engine<'_> {
    /// Keeps the pending commit. `origin` is the confirming session, for the new-session
    /// rule.
    pub fn confirm(&self, origin: Option<&SessionOrigin>) -> Result<Pending, CommitError> {
        let lock = self.lock(LOCK_WAIT, "confirm")?;
        let journal = self.journal()?;
        let evidence = self.evidence(&journal, origin);
        let reply = self.run(journal, Event::Confirm(evidence), &lock);
        match reply {
            Reply::Confirmed(p) => Ok(*p),
            Reply::RolledBack { commit, .. } => Err(CommitError::TooLate { id: commit.id }),
            Reply::Refused(r) => Err(self.refusal(r)),
            other => Err(CommitError::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// What the machine needs to judge a confirm, read only if there is a live commit.
    fn evidence(&self, journal: &Journal, origin: Option<&SessionOrigin>) -> Evidence {
        let origin_text = match origin {
            Some(o) => format!("{} pid {}", o.kind, o.pid),
            None => "its start could not be read".into(),
        };
        let Some(p) = journal
            .pending
            .as_ref()
            .filter(|p| p.stage != Stage::Applying)
        else {
            return Evidence {
                fresh_session: false,
                origin: origin_text,
                script: Ok(()),
                live_shape: Ok(None),
            };
        };
        Evidence {
            fresh_session: origin.is_some_and(|o| o.started_boot_ns > p.applied_at_boot_ns),
            origin: origin_text,
            script: self
                .b
                .state
                .read_verified(&applied_file(&p.id), Some(&p.digest))
                .map(drop),
            live_shape: self.shape(&p.table),
        }
    }

    /// Rolls back the pending commit now (only commit `only`, if given). Waits for the lock
    /// longer than other commands: an nft of an apply that was killed may still hold it.
    pub fn rollback(&self, only: Option<&str>, how: &str) -> Result<RollbackOutcome, CommitError> {
        let lock = self.lock(LOCK_WAIT * 3, "rollback")?;
        let journal = self.journal()?;
        if journal.pending.is_none() && only.is_none() {
            let guards = self.b.state.live_guards(&journal);
            if !guards.is_empty() {
                drop(lock);
                return Ok(self.ask_guards(guards));
            }
        }
        let reason = Reason::Operator(how.to_string());
        let reply = self.run(
            journal,
            Event::Rollback {
                only: only.map(str::to_string),
                reason,
            },
            &lock,
        );
        drop(lock);
        match reply {
            Reply::RolledBack {
                commit,
                reason,
                via,
            } => {
                if self.unrecorded.get() {
                    // The kernel is put back; the guard is told, and records it for us
                    // once the state directory can be written.
                    if let Some((_, Some(pid))) = self
                        .b
                        .state
                        .live_guards(&self.b.state.load_journal().unwrap_or_default())
                        .into_iter()
                        .find(|(id, _)| *id == commit.id)
                        && self.b.guards.ask_to_roll_back(pid)
                    {
                        self.warn(format!(
                            "the guard of commit {} records the rollback once it can",
                            commit.id
                        ));
                    }
                }
                Ok(RollbackOutcome::RolledBack {
                    commit,
                    reason,
                    via,
                })
            }
            Reply::Refused(crate::commit::machine::Refusal::NothingPending) => {
                Ok(RollbackOutcome::NothingPending)
            }
            Reply::Refused(crate::commit::machine::Refusal::NotPending(id)) => {
                Ok(RollbackOutcome::NotPending(id))
            }
            Reply::Refused(r) => Err(self.refusal(r)),
            other => Err(CommitError::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// Asks live guards whose commits the journal no longer names to roll back now, and
    /// waits for them to finish.
    fn ask_guards(&self, guards: Vec<(String, Option<i32>)>) -> RollbackOutcome {
        let ids: Vec<String> = guards.iter().map(|g| g.0.clone()).collect();
        for (_, pid) in &guards {
            if let Some(pid) = pid {
                self.b.guards.ask_to_roll_back(*pid);
            }
        }
        let start = Instant::now();
        let done = loop {
            if ids.iter().all(|id| !self.b.state.guard_alive(id)) {
                break true;
            }
            if start.elapsed() > GUARD_WAIT {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        RollbackOutcome::AskedGuards { ids, done }
    }

    /// Crash recovery: puts back a commit past its deadline (or left applying) while no
    /// guard is alive to do it. Returns the commit put back, if any.
    pub fn recover_abandoned(&self) -> Result<Option<Pending>, CommitError> {
        let journal = match self.b.state.load_journal() {
            Ok(j) => j,
            // Damaged: the next command that takes the lock repairs it; not here.
            Err(StateError::Corrupt { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(own) = journal.pending else {
            return Ok(None);
        };
        if self.b.state.guard_alive(&own.id) || own.netns != self.b.netns {
            return Ok(None);
        }
        if own.deadline().is_some_and(|d| !d.passed(&self.now())) {
            return Ok(None);
        }
        // Busy: an apply is under way (and its guard about to start).
        let Ok(lock) = self.lock(Duration::from_millis(300), "recovery") else {
            return Ok(None);
        };
        let journal = self.journal()?;
        let reply = self.run(
            journal,
            Event::Watch {
                own: Box::new(own),
                trigger: Trigger::Recovery,
            },
            &lock,
        );
        match reply {
            Reply::RolledBack { commit, .. } => Ok(Some(*commit)),
            Reply::Refused(r) => Err(self.refusal(r)),
            _ => Ok(None),
        }
    }

    /// Boot: puts back a pending commit (in whatever table it is), then loads the last
    /// confirmed ruleset that verifies, never a pending one.
    pub fn restore(&self) -> Result<Restored, CommitError> {
        let lock = self.lock(LOCK_WAIT, "restore")?;
        let journal = self.journal()?;
        let reply = self.run(journal, Event::Boot, &lock);
        match reply {
            Reply::Restored(loaded) => Ok(Restored { loaded }),
            Reply::Refused(r) => Err(self.refusal(r)),
            other => Err(CommitError::Internal(format!("unexpected reply {other:?}"))),
        }
    }
}
