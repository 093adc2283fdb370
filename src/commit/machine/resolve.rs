//! The transitions that end a pending commit: confirm, rollback, a guard's look, the
//! boot, and what a put back brings.

use super::*;

pub(super) fn confirm(journal: &Journal, evidence: Evidence, at: &At) -> Transition {
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

pub(super) fn rollback(
    journal: &Journal,
    only: Option<String>,
    reason: Reason,
    at: &At,
) -> Transition {
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

pub(super) fn watch(journal: &Journal, own: Pending, trigger: Trigger, at: &At) -> Transition {
    let (commit, lost) = match &journal.pending {
        Some(p) if p.id == own.id => (p.clone(), false),
        // Another commit is pending: ours was resolved and the journal moved on.
        Some(_) => return reply(journal, Reply::StandDown),
        // Resolved (confirmed, rolled back) by someone else.
        None if journal.resolved(&own.id).is_some() => return reply(journal, Reply::StandDown),
        // The journal has lost track of it (damaged, moved aside): its fate is unknown, so
        // it was not confirmed. The guard's own record decides.
        None => (own, true),
    };
    if let Some(elsewhere) = elsewhere(&commit, at) {
        return refuse(journal, elsewhere);
    }
    let reason = match (trigger, &commit.stage) {
        (Trigger::Stopped, _) => Reason::Stopped,
        (Trigger::Operator, _) => Reason::Operator("rolled back by the operator".into()),
        // The guard last saw it applying and the journal can no longer say whether the
        // load finished: it may be live with a deadline nobody can read now. Under the lock
        // its apply has ended, so the load ended before now, and a full window from now
        // ends no sooner than the deadline the operator was shown.
        (_, Stage::Applying) if lost => match commit.timeout() {
            Some(timeout) => {
                let mut live = commit;
                live.stage = Stage::Live {
                    deadline: Deadline::after(&at.now, timeout),
                };
                return reply(journal, Reply::Resume(Box::new(live)));
            }
            None => Reason::Interrupted,
        },
        // The journal says it is applying, and we hold the operator lock, which its apply
        // held until its last nft exited: that apply is gone, and what it loaded was never
        // recorded as live.
        (_, Stage::Applying) => Reason::Interrupted,
        (_, Stage::Live { deadline }) if !deadline.passed(&at.now) => {
            return reply(journal, Reply::Wait(deadline.clone()));
        }
        (Trigger::Recovery, Stage::Live { .. }) => Reason::Abandoned,
        (_, Stage::Live { .. }) => Reason::Deadline,
    };
    put_back_now(journal, commit, reason)
}

pub(super) fn boot(journal: &Journal) -> Transition {
    match &journal.pending {
        // Whatever was pending is undone first, in whatever table it was.
        Some(p) => put_back_now(journal, p.clone(), Reason::Boot),
        None => stay(journal, vec![Action::LoadConfirmed]),
    }
}

pub(super) fn put_back(
    journal: &Journal,
    commit: Pending,
    reason: Reason,
    result: Result<Via, String>,
    at: &At,
) -> Transition {
    match result {
        Ok(via) => put_back_done(journal, commit, reason, via, at),
        Err(why) => put_back_failed(journal, commit, reason, why),
    }
}

/// Whether `commit` is the journal's pending commit (else the journal lost track of it, or
/// someone resolved it first).
fn is_pending(journal: &Journal, commit: &Pending) -> bool {
    journal.pending.as_ref().is_some_and(|p| p.id == commit.id)
}

/// The table is back: the commit is resolved as rolled back (filed once, even if the
/// journal had lost it), and a boot goes on to the confirmed ruleset.
fn put_back_done(
    journal: &Journal,
    commit: Pending,
    reason: Reason,
    via: Via,
    at: &At,
) -> Transition {
    let mut said = reason.text();
    if via == Via::Inverse {
        said.push_str("; put back by the inverse change (untouched rules kept their counters)");
    }
    if let Via::Confirmed { id, why } = &via {
        said.push_str(&format!(
            "; its snapshot could not be used ({why}), so the confirmed ruleset of commit {id} was loaded instead"
        ));
    }
    let mut next = journal.clone();
    // The table changed: the record of the last load no longer describes it.
    next.live = None;
    let mut actions = Vec::new();
    let ours = is_pending(journal, &commit);
    if ours || journal.resolved(&commit.id).is_none() {
        if ours {
            next.resolve(Outcome::RolledBack, Some(said.clone()), at.now.wall_ms);
        } else {
            next.push_history(record(&commit, Outcome::RolledBack, Some(said.clone()), at));
        }
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

/// The table could not be put back: the commit stays pending with the error (retried by
/// its guard), and a boot still loads the confirmed ruleset.
fn put_back_failed(journal: &Journal, commit: Pending, reason: Reason, why: String) -> Transition {
    let mut next = journal.clone();
    let mut failed = commit.clone();
    if let Some(p) = next
        .pending
        .as_mut()
        .filter(|_| is_pending(journal, &commit))
    {
        p.rollback_attempts += 1;
        p.rollback_error = Some(why.clone());
        failed = p.clone();
    }
    let attempt = failed.rollback_attempts.max(1);
    let mut actions = vec![Action::Record(OnFailure::Later)];
    // Logged on the first failures and then sparingly, so a long outage can't fill the
    // disk with identical lines.
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
    Transition {
        journal: next,
        actions,
    }
}

pub(super) fn restored(
    journal: &Journal,
    result: Result<Option<Restoration>, String>,
) -> Transition {
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
