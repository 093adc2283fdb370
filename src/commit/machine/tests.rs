//! Every transition of the commit machine, with a fake clock: no IO, microseconds each.

use std::time::Duration;

use super::*;
use crate::commit::clock::{Clock, FakeClock};
use crate::commit::journal::{Confirmed, sample_pending};

const SECOND: u64 = 1_000_000_000;

fn clock() -> FakeClock {
    FakeClock::new(1_800_000_000_000, 100 * SECOND)
}

fn at(clock: &FakeClock) -> At {
    At {
        now: clock.now(),
        netns: "net:[1]".into(),
    }
}

/// A commit about to begin: applying, with a 30 s window.
fn applying(id: &str) -> Pending {
    Pending {
        stage: Stage::Applying,
        ..sample_pending(id, 0)
    }
}

/// A live commit due at `deadline_s` on the boot clock of `clock`'s boot.
fn live(id: &str, clock: &FakeClock, in_s: u64) -> Pending {
    Pending {
        stage: Stage::Live {
            deadline: Deadline::after(&clock.now(), Duration::from_secs(in_s)),
        },
        ..sample_pending(id, 0)
    }
}

fn with(pending: Pending) -> Journal {
    Journal {
        pending: Some(pending),
        ..Journal::default()
    }
}

/// The kinds of the actions, for asserting their order.
fn kinds(t: &Transition) -> Vec<&'static str> {
    t.actions
        .iter()
        .map(|a| match a {
            Action::Record(_) => "record",
            Action::ArmGuards { .. } => "arm",
            Action::Load { .. } => "load",
            Action::PutBack { .. } => "put back",
            Action::LoadConfirmed => "load confirmed",
            Action::CopyConfirmed { .. } => "copy confirmed",
            Action::Audit { .. } => "audit",
            Action::AuditRestore(_) => "audit restore",
            Action::DisarmTimer(_) => "disarm",
            Action::Prune => "prune",
            Action::Note(_) => "note",
            Action::Reply(_) => "reply",
        })
        .collect()
}

fn the_reply(t: &Transition) -> &Reply {
    match t.actions.last() {
        Some(Action::Reply(r)) => r,
        other => panic!("the last action is not a reply: {other:?}"),
    }
}

fn the_put_back(t: &Transition) -> &Reason {
    match t.actions.as_slice() {
        [Action::PutBack { reason, .. }] => reason,
        other => panic!("not a put back: {other:?}"),
    }
}

fn refused(t: &Transition) -> &Refusal {
    match the_reply(t) {
        Reply::Refused(r) => r,
        other => panic!("not refused: {other:?}"),
    }
}

// Apply.

#[test]
fn a_windowed_apply_is_journalled_before_its_guard_is_armed() {
    let c = clock();
    let t = step(
        &Journal::default(),
        Event::Begin(Box::new(applying("a"))),
        &at(&c),
    );
    assert_eq!(kinds(&t), ["record", "arm"]);
    assert!(matches!(
        t.actions[0],
        Action::Record(OnFailure::Abort { doing: "applied" })
    ));
    assert_eq!(
        t.journal.pending.as_ref().map(|p| &p.stage),
        Some(&Stage::Applying)
    );
}

#[test]
fn an_apply_with_yes_loads_without_a_journal_entry_first() {
    let c = clock();
    let mut p = applying("a");
    p.timeout_ms = None;
    let t = step(&Journal::default(), Event::Begin(Box::new(p)), &at(&c));
    assert_eq!(kinds(&t), ["load"]);
}

#[test]
fn an_apply_while_another_commit_is_pending_is_refused() {
    let c = clock();
    let j = with(live("old", &c, 10));
    let t = step(&j, Event::Begin(Box::new(applying("new"))), &at(&c));
    assert!(matches!(refused(&t), Refusal::Busy(p) if p.id == "old"));
    assert_eq!(t.journal, j);
}

#[test]
fn armed_records_the_timer_then_loads() {
    let c = clock();
    let t = step(
        &with(applying("a")),
        Event::Armed {
            timer: Some("portcullis-rollback-a".into()),
        },
        &at(&c),
    );
    assert_eq!(kinds(&t), ["record", "load"]);
    let p = t.journal.pending.expect("pending");
    assert_eq!(p.timer_unit.as_deref(), Some("portcullis-rollback-a"));
}

#[test]
fn a_guard_that_does_not_start_fails_the_apply_before_any_load() {
    let c = clock();
    let t = step(
        &with(applying("a")),
        Event::ArmFailed("no exe".into()),
        &at(&c),
    );
    assert!(t.journal.pending.is_none());
    assert_eq!(t.journal.history[0].outcome, Outcome::Failed);
    assert!(!kinds(&t).contains(&"load"));
    assert!(matches!(refused(&t), Refusal::GuardFailed(w) if w == "no exe"));
}

#[test]
fn the_window_starts_when_the_new_table_is_live_not_when_the_apply_began() {
    let c = clock();
    let j = step(
        &Journal::default(),
        Event::Begin(Box::new(applying("a"))),
        &at(&c),
    )
    .journal;
    // The snapshot, the check and the load of a big table take 8.5 s.
    c.advance(Duration::from_millis(8500));
    let t = step(
        &j,
        Event::Loaded {
            shape: Some("s".into()),
            record: None,
        },
        &at(&c),
    );
    assert_eq!(kinds(&t), ["record", "audit", "reply"]);
    assert!(matches!(
        t.actions[0],
        Action::Record(OnFailure::PutBack(Reason::Unrecorded))
    ));
    let p = t.journal.pending.expect("pending");
    let deadline = p.deadline().expect("live");
    assert_eq!(deadline.seconds_left(&c.now()), 30);
    assert_eq!(p.shape.as_deref(), Some("s"));
    assert_eq!(p.applied_at_boot_ns, c.now().boot_ns);
}

#[test]
fn a_yes_apply_is_kept_as_soon_as_it_loads() {
    let c = clock();
    let mut p = applying("a");
    p.timeout_ms = None;
    let j = step(&Journal::default(), Event::Begin(Box::new(p)), &at(&c)).journal;
    let t = step(
        &j,
        Event::Loaded {
            shape: None,
            record: None,
        },
        &at(&c),
    );
    assert_eq!(
        kinds(&t),
        [
            "record",
            "copy confirmed",
            "audit",
            "audit",
            "prune",
            "reply"
        ]
    );
    assert!(t.journal.pending.is_none());
    assert_eq!(
        t.journal.confirmed.as_ref().map(|c| c.id.as_str()),
        Some("a")
    );
    assert!(matches!(the_reply(&t), Reply::Confirmed(_)));
}

#[test]
fn a_load_nft_refuses_ends_the_commit_as_failed_and_disarms_its_timer() {
    let c = clock();
    let mut p = applying("a");
    p.timer_unit = Some("unit".into());
    let t = step(
        &with(p.clone()),
        Event::LoadFailed {
            commit: Box::new(p),
            why: "syntax".into(),
        },
        &at(&c),
    );
    assert_eq!(kinds(&t), ["record", "audit", "disarm", "prune", "reply"]);
    assert_eq!(t.journal.history[0].outcome, Outcome::Failed);
    assert!(matches!(refused(&t), Refusal::LoadFailed(w) if w == "syntax"));
}

#[test]
fn a_yes_load_that_fails_is_filed_in_the_history() {
    let c = clock();
    let mut p = applying("a");
    p.timeout_ms = None;
    let t = step(
        &Journal::default(),
        Event::LoadFailed {
            commit: Box::new(p),
            why: "x".into(),
        },
        &at(&c),
    );
    assert_eq!(t.journal.history.len(), 1);
    assert_eq!(t.journal.history[0].outcome, Outcome::Failed);
}

// Confirm.

fn evidence() -> Evidence {
    Evidence {
        fresh_session: true,
        origin: "sshd pid 7".into(),
        script: Ok(()),
        live_shape: Ok(Some("shape".into())),
    }
}

fn live_with_shape(c: &FakeClock) -> Pending {
    Pending {
        shape: Some("shape".into()),
        ..live("a", c, 30)
    }
}

#[test]
fn a_confirm_records_the_journal_before_touching_the_confirmed_copy() {
    let c = clock();
    let mut p = live_with_shape(&c);
    p.timer_unit = Some("unit".into());
    let before = Journal {
        pending: Some(p),
        confirmed: Some(Confirmed {
            id: "old".into(),
            table: "portcullis".into(),
            digest: "d".into(),
            confirmed_at_ms: 1,
        }),
        ..Journal::default()
    };
    let t = step(&before, Event::Confirm(evidence()), &at(&c));
    assert_eq!(
        kinds(&t),
        [
            "record",
            "copy confirmed",
            "audit",
            "disarm",
            "prune",
            "reply"
        ]
    );
    assert!(matches!(
        t.actions[0],
        Action::Record(OnFailure::Abort { doing: "confirmed" })
    ));
    assert_eq!(
        t.journal.confirmed.as_ref().map(|c| c.id.as_str()),
        Some("a")
    );
    assert_eq!(t.journal.confirmed_before[0].id, "old");
}

#[test]
fn a_confirm_with_nothing_pending_or_still_applying_is_refused() {
    let c = clock();
    let t = step(&Journal::default(), Event::Confirm(evidence()), &at(&c));
    assert_eq!(refused(&t), &Refusal::NothingPending);
    let t = step(&with(applying("a")), Event::Confirm(evidence()), &at(&c));
    assert_eq!(refused(&t), &Refusal::StillApplying("a".into()));
}

#[test]
fn a_confirm_after_the_deadline_on_the_boot_clock_puts_the_commit_back() {
    let c = clock();
    let j = with(live_with_shape(&c));
    // The wall clock stepped back an hour: the boot clock still says it is late.
    c.advance(Duration::from_secs(31));
    c.step_wall(-3_600_000);
    let t = step(&j, Event::Confirm(evidence()), &at(&c));
    assert_eq!(the_put_back(&t), &Reason::LateConfirm);
}

#[test]
fn a_confirm_before_the_deadline_is_taken_though_the_wall_clock_jumped_past_it() {
    let c = clock();
    let j = with(live_with_shape(&c));
    c.step_wall(3_600_000);
    let t = step(&j, Event::Confirm(evidence()), &at(&c));
    assert!(matches!(the_reply(&t), Reply::Confirmed(_)));
}

#[test]
fn a_confirm_from_an_old_session_is_refused_in_new_session_mode() {
    let c = clock();
    let mut p = live_with_shape(&c);
    p.require_new_session = true;
    let t = step(
        &with(p),
        Event::Confirm(Evidence {
            fresh_session: false,
            ..evidence()
        }),
        &at(&c),
    );
    assert!(
        matches!(refused(&t), Refusal::NeedsNewSession { origin, .. } if origin == "sshd pid 7")
    );
}

#[test]
fn a_confirm_checks_the_script_and_the_live_table() {
    let c = clock();
    let j = with(live_with_shape(&c));
    let damaged = Evidence {
        script: Err("cut short".into()),
        ..evidence()
    };
    assert!(matches!(
        refused(&step(&j, Event::Confirm(damaged), &at(&c))),
        Refusal::ScriptDamaged { .. }
    ));
    let deleted = Evidence {
        live_shape: Ok(None),
        ..evidence()
    };
    let t = step(&j, Event::Confirm(deleted), &at(&c));
    assert!(matches!(refused(&t), Refusal::LiveDiffers { what, .. } if what.contains("not live")));
    let edited = Evidence {
        live_shape: Ok(Some("other".into())),
        ..evidence()
    };
    let t = step(&j, Event::Confirm(edited), &at(&c));
    assert!(matches!(refused(&t), Refusal::LiveDiffers { what, .. } if what.contains("differs")));
    let unreadable = Evidence {
        live_shape: Err("nft: not found".into()),
        ..evidence()
    };
    let t = step(&j, Event::Confirm(unreadable), &at(&c));
    assert!(
        matches!(refused(&t), Refusal::LiveDiffers { what, .. } if what.contains("nft: not found"))
    );
}

// Rollback.

#[test]
fn a_rollback_puts_back_the_pending_commit_or_says_why_not() {
    let c = clock();
    let op = || Reason::Operator("rolled back by the operator".into());
    let rollback = |only: Option<&str>| Event::Rollback {
        only: only.map(str::to_string),
        reason: op(),
    };
    let none = Journal::default();
    assert_eq!(
        refused(&step(&none, rollback(None), &at(&c))),
        &Refusal::NothingPending
    );
    assert_eq!(
        refused(&step(&none, rollback(Some("a")), &at(&c))),
        &Refusal::NotPending("a".into())
    );
    let j = with(live("a", &c, 30));
    assert_eq!(
        refused(&step(&j, rollback(Some("b")), &at(&c))),
        &Refusal::NotPending("b".into())
    );
    assert_eq!(the_put_back(&step(&j, rollback(Some("a")), &at(&c))), &op());
    let elsewhere = At {
        netns: "net:[2]".into(),
        ..at(&c)
    };
    assert!(matches!(
        refused(&step(&j, rollback(None), &elsewhere)),
        Refusal::WrongNamespace { .. }
    ));
}

// The guard.

fn watch_event(own: &Pending, trigger: Trigger) -> Event {
    Event::Watch {
        own: Box::new(own.clone()),
        trigger,
    }
}

#[test]
fn a_guard_waits_until_the_deadline_on_the_boot_clock_whatever_the_wall_clock_says() {
    let c = clock();
    let p = live("a", &c, 20);
    let j = with(p.clone());
    c.step_wall(3_600_000);
    assert!(matches!(
        the_reply(&step(&j, watch_event(&p, Trigger::Poll), &at(&c))),
        Reply::Wait(_)
    ));
    c.advance(Duration::from_millis(19_999));
    assert!(matches!(
        the_reply(&step(&j, watch_event(&p, Trigger::Poll), &at(&c))),
        Reply::Wait(_)
    ));
    c.advance(Duration::from_millis(1));
    assert_eq!(
        the_put_back(&step(&j, watch_event(&p, Trigger::Poll), &at(&c))),
        &Reason::Deadline
    );
}

#[test]
fn a_guard_acts_on_the_journals_deadline_not_on_what_it_first_saw() {
    let c = clock();
    // It started while the commit was applying; the load has since fixed the deadline.
    let seen = applying("a");
    let j = with(live("a", &c, 30));
    assert!(matches!(
        the_reply(&step(&j, watch_event(&seen, Trigger::Poll), &at(&c))),
        Reply::Wait(_)
    ));
}

#[test]
fn a_guard_holding_the_lock_puts_back_a_commit_its_apply_left_applying() {
    let c = clock();
    let p = applying("a");
    let t = step(&with(p.clone()), watch_event(&p, Trigger::Poll), &at(&c));
    assert_eq!(the_put_back(&t), &Reason::Interrupted);
}

#[test]
fn a_guard_told_to_stop_or_by_the_operator_puts_back_at_once() {
    let c = clock();
    let p = live("a", &c, 3600);
    let j = with(p.clone());
    assert_eq!(
        the_put_back(&step(&j, watch_event(&p, Trigger::Stopped), &at(&c))),
        &Reason::Stopped
    );
    assert!(matches!(
        the_put_back(&step(&j, watch_event(&p, Trigger::Operator), &at(&c))),
        Reason::Operator(_)
    ));
}

#[test]
fn a_guard_stands_down_once_its_commit_is_resolved_or_another_is_pending() {
    let c = clock();
    let p = live("a", &c, 0);
    let mut resolved = with(p.clone());
    resolved.resolve(Outcome::Confirmed, None, 0);
    assert!(matches!(
        the_reply(&step(&resolved, watch_event(&p, Trigger::Poll), &at(&c))),
        Reply::StandDown
    ));
    let other = with(live("b", &c, 0));
    assert!(matches!(
        the_reply(&step(&other, watch_event(&p, Trigger::Poll), &at(&c))),
        Reply::StandDown
    ));
}

#[test]
fn a_guard_whose_journal_lost_its_commit_still_puts_it_back_at_its_deadline() {
    let c = clock();
    let p = live("a", &c, 5);
    // The journal was moved aside, or rebuilt after damage: it knows nothing of "a".
    let lost = Journal::default();
    assert!(matches!(
        the_reply(&step(&lost, watch_event(&p, Trigger::Poll), &at(&c))),
        Reply::Wait(_)
    ));
    c.advance(Duration::from_secs(5));
    let t = step(&lost, watch_event(&p, Trigger::Poll), &at(&c));
    assert_eq!(the_put_back(&t), &Reason::Deadline);
}

#[test]
fn recovery_names_what_it_found() {
    let c = clock();
    let p = live("a", &c, 0);
    let t = step(
        &with(p.clone()),
        watch_event(&p, Trigger::Recovery),
        &at(&c),
    );
    assert_eq!(the_put_back(&t), &Reason::Abandoned);
}

#[test]
fn a_deadline_of_an_earlier_boot_has_passed() {
    let c = clock();
    let p = live("a", &c, 3600);
    c.reboot();
    let t = step(&with(p.clone()), watch_event(&p, Trigger::Poll), &at(&c));
    assert_eq!(the_put_back(&t), &Reason::Deadline);
}

#[test]
fn a_guard_never_acts_on_another_namespaces_commit() {
    let c = clock();
    let p = live("a", &c, 0);
    let elsewhere = At {
        netns: "net:[9]".into(),
        ..at(&c)
    };
    let t = step(&with(p.clone()), watch_event(&p, Trigger::Poll), &elsewhere);
    assert!(matches!(refused(&t), Refusal::WrongNamespace { .. }));
}

// Put back.

fn put_back_event(p: &Pending, reason: Reason, result: Result<Via, String>) -> Event {
    Event::PutBack {
        commit: Box::new(p.clone()),
        reason,
        result,
    }
}

#[test]
fn a_put_back_resolves_the_commit_and_says_how() {
    let c = clock();
    let mut p = live("a", &c, 0);
    p.timer_unit = Some("unit".into());
    let t = step(
        &with(p.clone()),
        put_back_event(&p, Reason::Deadline, Ok(Via::Snapshot)),
        &at(&c),
    );
    assert_eq!(kinds(&t), ["record", "audit", "disarm", "prune", "reply"]);
    assert!(matches!(t.actions[0], Action::Record(OnFailure::Later)));
    assert!(t.journal.pending.is_none());
    let r = &t.journal.history[0];
    assert_eq!(r.outcome, Outcome::RolledBack);
    assert_eq!(
        r.reason.as_deref(),
        Some("deadline passed without a confirm")
    );
}

#[test]
fn a_put_back_from_the_confirmed_ruleset_says_the_snapshot_could_not_be_used() {
    let c = clock();
    let p = live("a", &c, 0);
    let via = Via::Confirmed {
        id: "c0".into(),
        why: "the snapshot is missing".into(),
    };
    let t = step(
        &with(p.clone()),
        put_back_event(&p, Reason::Deadline, Ok(via)),
        &at(&c),
    );
    let reason = t.journal.history[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("snapshot") && reason.contains("c0"),
        "{reason}"
    );
}

#[test]
fn a_put_back_the_journal_lost_track_of_is_filed_once() {
    let c = clock();
    let p = live("a", &c, 0);
    let t = step(
        &Journal::default(),
        put_back_event(&p, Reason::Deadline, Ok(Via::Snapshot)),
        &at(&c),
    );
    assert_eq!(t.journal.history.len(), 1);
    // Recorded already (by whoever got there first): nothing is filed twice.
    let again = step(
        &t.journal,
        put_back_event(&p, Reason::Deadline, Ok(Via::Snapshot)),
        &at(&c),
    );
    assert_eq!(again.journal.history.len(), 1);
    assert_eq!(kinds(&again), ["reply"]);
}

#[test]
fn a_failed_put_back_keeps_the_commit_pending_with_the_error_and_logs_sparingly() {
    let c = clock();
    let mut j = with(live("a", &c, 0));
    let mut audited = Vec::new();
    for attempt in 1..=5 {
        let p = j.pending.clone().expect("pending");
        let t = step(
            &j,
            put_back_event(&p, Reason::Deadline, Err("nft: busy".into())),
            &at(&c),
        );
        audited.push(kinds(&t).contains(&"audit"));
        assert!(matches!(
            refused(&t),
            Refusal::RollbackFailed { attempt: a, .. } if *a == attempt
        ));
        j = t.journal;
    }
    assert_eq!(audited, [true, true, false, true, false]);
    let p = j.pending.expect("still pending");
    assert_eq!(p.rollback_attempts, 5);
    assert_eq!(p.rollback_error.as_deref(), Some("nft: busy"));
}

// Boot.

#[test]
fn a_boot_puts_back_what_was_pending_before_loading_the_confirmed_ruleset() {
    let c = clock();
    let p = live("a", &c, 3600);
    let t = step(&with(p.clone()), Event::Boot, &at(&c));
    assert_eq!(the_put_back(&t), &Reason::Boot);
    // Not even a different namespace stops it: a boot is about this one.
    let done = step(
        &with(p.clone()),
        put_back_event(&p, Reason::Boot, Ok(Via::Deleted)),
        &At {
            netns: "net:[2]".into(),
            ..at(&c)
        },
    );
    assert_eq!(kinds(&done).last(), Some(&"load confirmed"));
    assert_eq!(done.journal.history[0].outcome, Outcome::RolledBack);
    // A put back that fails at boot does not keep the confirmed ruleset from loading.
    let failed = step(
        &with(p.clone()),
        put_back_event(&p, Reason::Boot, Err("x".into())),
        &at(&c),
    );
    assert_eq!(kinds(&failed).last(), Some(&"load confirmed"));
    let idle = step(&Journal::default(), Event::Boot, &at(&c));
    assert_eq!(kinds(&idle), ["load confirmed"]);
}

#[test]
fn a_restore_is_audited_and_a_failed_one_is_refused() {
    let c = clock();
    let r = Restoration {
        id: "c1".into(),
        table: "portcullis".into(),
        fallback: None,
    };
    let t = step(&Journal::default(), Event::Restored(Ok(Some(r))), &at(&c));
    assert_eq!(kinds(&t), ["audit restore", "reply"]);
    let t = step(&Journal::default(), Event::Restored(Ok(None)), &at(&c));
    assert!(matches!(the_reply(&t), Reply::Restored(None)));
    let t = step(
        &Journal::default(),
        Event::Restored(Err("no".into())),
        &at(&c),
    );
    assert!(matches!(refused(&t), Refusal::RestoreFailed(_)));
}

#[test]
fn every_transition_ends_in_a_reply_or_in_exactly_one_action_that_feeds_an_event() {
    let c = clock();
    let feeds = |a: &Action| {
        matches!(
            a,
            Action::ArmGuards { .. }
                | Action::Load { .. }
                | Action::PutBack { .. }
                | Action::LoadConfirmed
        )
    };
    let p = live("a", &c, 30);
    let events = [
        Event::Begin(Box::new(applying("b"))),
        Event::Armed { timer: None },
        Event::Loaded {
            shape: None,
            record: None,
        },
        Event::Confirm(evidence()),
        Event::Rollback {
            only: None,
            reason: Reason::Deadline,
        },
        watch_event(&p, Trigger::Poll),
        watch_event(&p, Trigger::Stopped),
        Event::Boot,
        put_back_event(&p, Reason::Deadline, Ok(Via::Snapshot)),
        put_back_event(&p, Reason::Boot, Err("x".into())),
    ];
    for journal in [Journal::default(), with(applying("a")), with(p.clone())] {
        for event in events.clone() {
            let t = step(&journal, event.clone(), &at(&c));
            let last = t.actions.last().expect("some action");
            assert!(
                matches!(last, Action::Reply(_)) || feeds(last),
                "{event:?} from {journal:?} ends in {last:?}"
            );
            let feeding = t.actions.iter().filter(|a| feeds(a)).count();
            assert!(
                feeding <= 1 && (feeding == 0 || feeds(last)),
                "{event:?}: {:?}",
                kinds(&t)
            );
        }
    }
}

#[test]
fn a_guard_that_only_saw_its_commit_applying_gives_it_a_full_window_when_the_journal_loses_it() {
    let c = clock();
    let p = applying("a");
    // The journal was damaged after the load: nobody can read the deadline any more.
    let t = step(&Journal::default(), watch_event(&p, Trigger::Poll), &at(&c));
    let Some(Reply::Resume(live)) = t.reply() else {
        panic!("{:?}", t.actions);
    };
    assert_eq!(live.deadline().expect("live").seconds_left(&c.now()), 30);
    // Told to stop, it still puts back at once.
    let t = step(
        &Journal::default(),
        watch_event(&p, Trigger::Stopped),
        &at(&c),
    );
    assert_eq!(the_put_back(&t), &Reason::Stopped);
}
