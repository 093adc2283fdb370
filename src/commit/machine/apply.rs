//! The apply's transitions: begin (journalled before the guard is armed), armed, the load
//! and its failure. The deadline is fixed here, when the new table is live.

use super::*;

pub(super) fn begin(journal: &Journal, commit: Pending) -> Transition {
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

pub(super) fn armed(journal: &Journal, timer: Option<String>) -> Transition {
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

pub(super) fn arm_failed(journal: &Journal, why: String, at: &At) -> Transition {
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

pub(super) fn loaded(
    journal: &Journal,
    shape: Option<String>,
    record: Option<LiveRecord>,
    at: &At,
) -> Transition {
    let Some(p) = applying(journal) else {
        return refuse(journal, Refusal::NothingPending);
    };
    let mut commit = p.clone();
    commit.shape = shape;
    commit.after = record.clone();
    commit.applied_at_ms = at.now.wall_ms;
    commit.applied_at_boot_ns = at.now.boot_ns;
    let mut next = journal.clone();
    next.live = record;
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

pub(super) fn load_failed(journal: &Journal, commit: Pending, why: String, at: &At) -> Transition {
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
