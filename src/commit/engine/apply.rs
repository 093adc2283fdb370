//! The one apply sequence, for `portcullis apply` and the terminal UI alike: under the
//! operator lock, refuse while a commit is pending; check that the live table is still
//! the one the operator was shown and that it is ours to replace; take the snapshot and
//! prove it loads back; stage every file; then hand over to the state machine (journal,
//! guards, load, window).

use std::time::Duration;

use super::in_place::Loading;
use super::{CommitError, Engine, LOCK_WAIT};
use crate::commit::journal::{Pending, Stage, format_time, new_id};
use crate::commit::machine::{Event, Refusal, Reply};
use crate::commit::ownership;
use crate::commit::ownership::Owner;
use crate::commit::plan::{Change, Plan, read_live};
use crate::commit::state::scripts::{self, applied_file, before_file, change_file};
use crate::diff::{canonical_text, live_vs_policy, rule_changes};
use crate::nft::delta;
use crate::nft::live::{LiveObject, has_table};
use crate::nft::script;

/// The confirmation window of an apply.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub timeout: Duration,
    pub require_new_session: bool,
}

pub struct ApplyRequest<'a> {
    pub plan: &'a Plan,
    /// The live table as the operator was shown it (canonical text), when time has passed
    /// since (a question was asked, a diff screen was read): the apply is refused if the
    /// table changed meanwhile.
    pub shown: Option<&'a str>,
    /// None: kept at once (`--yes`).
    pub window: Option<Window>,
    /// Take over a table of this name that portcullis did not make.
    pub adopt: bool,
    /// The policy file's name, for the diff shown when the table changed.
    pub policy_name: &'a str,
}

/// How an apply ended.
#[derive(Debug)]
pub enum Applied {
    /// The live table already was the policy's; nothing was sent to the kernel.
    Unchanged,
    /// Kept at once.
    Confirmed(Pending),
    /// Live, waiting for a confirm.
    Pending(Pending),
}

/// `id`, or `id-2`, `id-3`… if the journal already knows it (a long-lived process, the
/// terminal UI, can commit twice within a second).
fn unique_id(journal: &crate::commit::Journal, id: String) -> String {
    let taken = |candidate: &str| journal.referenced_ids().contains(&candidate);
    if !taken(&id) {
        return id;
    }
    (2..)
        .map(|n| format!("{id}-{n}"))
        .find(|c| !taken(c))
        .unwrap_or(id)
}

impl Engine<'_> {
    pub fn apply(&self, req: &ApplyRequest<'_>) -> Result<Applied, CommitError> {
        let lock = self.lock(LOCK_WAIT, "apply")?;
        let journal = self.journal()?;
        if let Some(p) = &journal.pending {
            return Err(self.busy(p));
        }
        let live_guards: Vec<String> = self
            .b
            .state
            .live_guards(&journal)
            .into_iter()
            .map(|g| g.0)
            .collect();
        if !live_guards.is_empty() {
            return Err(CommitError::GuardsAlive {
                ids: live_guards.join(", "),
            });
        }
        let compiled = &req.plan.compiled;
        let table = compiled.name.clone();
        // The table as it is now, under the lock: the plan's reading if the ruleset has not
        // changed since (its generation), else read again, since a change in place names
        // rules by handle.
        // Read once: it is also the generation just before the load (a transaction by
        // anyone else in between only makes the record of the load not be kept).
        let generation = self.b.nft.generation();
        let current = req.plan.generation.is_some() && generation == req.plan.generation;
        let unchanged = current && req.shown.is_none_or(|shown| shown == req.plan.live_text());
        let live: std::borrow::Cow<'_, [LiveObject]> = if unchanged {
            std::borrow::Cow::Borrowed(&req.plan.live)
        } else {
            let known = journal.live.as_ref().map(|record| (record, compiled));
            std::borrow::Cow::Owned(
                read_live(self.b.nft, &table, known)
                    .map_err(CommitError::ReadLive)?
                    .objects,
            )
        };
        if let Some(shown) = req.shown
            && canonical_text(&table, &live) != shown
        {
            return Err(CommitError::Stale {
                diff_now: live_vs_policy(compiled, &live, req.policy_name),
                table,
            });
        }
        let owner = self.owner(&table).map_err(CommitError::ReadLive)?;
        let adopted = !owner.may_replace();
        if adopted && !req.adopt {
            return Err(CommitError::NotOurs(ownership::refusal(
                &table,
                &owner,
                "replacing",
            )));
        }
        let change = if unchanged {
            req.plan.change.clone()
        } else {
            Change::of(compiled, &live)
        };
        let change = match change {
            Change::Nothing => return Ok(Applied::Unchanged),
            // The mark of ownership comes with a whole table.
            Change::InPlace(_) if owner != Owner::Ours => {
                Change::Replace("the table is not yet marked as portcullis's own".into())
            }
            other => other,
        };
        let now = self.now();
        let (rules_added, rules_removed) = match &change {
            Change::InPlace(d) => (
                d.summary.rules_added + d.summary.rules_replaced,
                d.summary.rules_removed + d.summary.rules_replaced,
            ),
            _ => rule_changes(compiled, &live),
        };
        let had_table = has_table(&live);
        let commit = Pending {
            id: unique_id(&journal, new_id(now.wall_ms, std::process::id())),
            table: table.clone(),
            stage: Stage::Applying,
            applied_at_ms: now.wall_ms,
            applied_at_boot_ns: now.boot_ns,
            timeout_ms: req.window.map(|w| w.timeout.as_millis() as u64),
            user: self.b.who.user.clone(),
            ssh_peer: self.b.who.ssh_peer.clone(),
            had_table,
            digest: scripts::digest(&req.plan.script),
            rules_added,
            rules_removed,
            require_new_session: req.window.is_some_and(|w| w.require_new_session),
            adopted,
            netns: self.b.netns.clone(),
            timer_unit: None,
            shape: None,
            incremental: matches!(change, Change::InPlace(_)),
            change: Some(change.line()),
            after: None,
            rollback_attempts: 0,
            rollback_error: None,
        };
        // Every file before the load: once nft has loaded, there is nothing left to write
        // but the journal (and the inverse change, which a rollback can do without).
        let applied =
            scripts::with_header_digest(&commit.id, &table, &req.plan.script, &commit.digest);
        self.b
            .state
            .write(&applied_file(&commit.id), applied.as_bytes())
            .map_err(CommitError::Stage)?;
        if let Change::InPlace(delta) = &change {
            let text = delta::script(&table, delta);
            self.b
                .state
                .write(
                    &change_file(&commit.id),
                    scripts::with_header(&commit.id, &table, &text).as_bytes(),
                )
                .map_err(CommitError::Stage)?;
        }
        if req.window.is_some() && had_table {
            let restore = match &change {
                // Everything in it is portcullis's own making, read a moment ago with its
                // counters: the renderer writes it back as it was, without a listing.
                Change::InPlace(_) => script::restore_objects(&table, &live),
                _ => self.snapshot(&table)?,
            };
            self.b
                .state
                .write(
                    &before_file(&commit.id),
                    scripts::with_header(&commit.id, &table, &restore).as_bytes(),
                )
                .map_err(CommitError::Stage)?;
        }
        *self.loading.borrow_mut() = Some(Loading::of(
            &commit.id,
            compiled,
            &live,
            matches!(change, Change::InPlace(_)),
            generation,
        ));
        let reply = self.run(journal, Event::Begin(Box::new(commit.clone())), &lock);
        match reply {
            Reply::Pending(p) => Ok(Applied::Pending(*p)),
            Reply::Confirmed(p) => Ok(Applied::Confirmed(*p)),
            Reply::RolledBack { commit, reason, .. } => Err(CommitError::RolledBackInstead {
                id: commit.id,
                table: commit.table,
                reason: reason.text(),
            }),
            Reply::Refused(r) => Err(self.refusal(r)),
            other => Err(CommitError::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// nft's own listing of the table, proven to load back: the "before" of a replace.
    fn snapshot(&self, table: &str) -> Result<String, CommitError> {
        let snapshot = self
            .b
            .nft
            .list_table_text(table)
            .map_err(|e| CommitError::Snapshot {
                table: table.to_string(),
                why: e.to_string(),
            })?;
        let restore = script::restore(table, Some(&snapshot));
        self.b
            .nft
            .check_script(&restore)
            .map_err(|e| CommitError::SnapshotUnloadable {
                table: table.to_string(),
                why: e.to_string(),
            })?;
        Ok(restore)
    }

    /// The refusal while `p` is pending.
    pub fn busy(&self, p: &Pending) -> CommitError {
        let now = self.now();
        CommitError::Pending {
            id: p.id.clone(),
            user: p.user.clone(),
            applied: format_time(p.applied_at_ms),
            left: match p.deadline() {
                Some(d) if !d.passed(&now) => format!("rolls back in {}s", d.seconds_left(&now)),
                Some(_) => "deadline passed, rollback under way".to_string(),
                None => "still applying".to_string(),
            },
        }
    }

    /// A refusal of the machine, as an error.
    pub(super) fn refusal(&self, r: Refusal) -> CommitError {
        match r {
            Refusal::Busy(p) => self.busy(&p),
            Refusal::NothingPending => CommitError::NothingPending,
            Refusal::NotPending(_) => CommitError::NothingPending,
            Refusal::StillApplying(id) => CommitError::NotApplied { id },
            Refusal::NeedsNewSession { id, origin } => CommitError::NeedsNewSession { id, origin },
            Refusal::ScriptDamaged { id, why } => CommitError::ScriptDamaged { id, why },
            Refusal::LiveDiffers { id, table, what } => {
                CommitError::LiveDiffers { id, table, what }
            }
            Refusal::WrongNamespace { id, theirs, ours } => {
                CommitError::WrongNamespace { id, theirs, ours }
            }
            Refusal::GuardFailed(why) => CommitError::Guard(why),
            Refusal::LoadFailed(why) => CommitError::Apply(why),
            Refusal::RollbackFailed { id, attempt, why } => {
                CommitError::Rollback { id, attempt, why }
            }
            Refusal::RestoreFailed(why) => CommitError::Restore(why),
            Refusal::Internal(why) => CommitError::Internal(why),
            Refusal::CannotRecord { doing, why } => CommitError::CannotRecord { doing, why },
        }
    }
}
