//! `portcullis apply`: validate, show the diff, check for lockout, apply in one transaction,
//! then keep it only if confirmed in time (`--yes`: keep at once).
//!
//! The sequencing of the commit itself is `commit::ops::apply`, shared with the TUI; this
//! file is the conversation with the operator around it.

use std::time::Duration;

use super::prompt::{self, Answer};
use super::{Cli, Machinery, eprint, load_policy};
use crate::commit::journal::format_time;
use crate::commit::ops::{self, LOCK_WAIT};
use crate::commit::plan::{Plan, operator_lockouts, read_live_table, read_terse, still_current};
use crate::commit::system::now_ms;
use crate::commit::{Actor, Applied, ApplyRequest, CommitError, Outcome, Pending};
use crate::nft::backend::Nft;

pub struct Options {
    pub yes: bool,
    pub no_wait: bool,
    pub confirm_timeout: Option<Duration>,
    pub allow_lockout: bool,
    pub require_new_session: bool,
}

/// Exit statuses, as PRODUCT.md documents them.
const APPLIED: u8 = 0;
const INVALID: u8 = 1;
const NOT_APPLIED: u8 = 2;
const ROLLED_BACK: u8 = 3;

pub fn run(cli: &Cli, opts: &Options) -> u8 {
    let policy = match load_policy(&cli.policy) {
        Ok(p) => p,
        Err(e) => {
            eprint(&e);
            eprint("portcullis: nothing was changed");
            return INVALID;
        }
    };
    let table = policy.settings.table.clone();
    let m = match Machinery::open(cli, true) {
        Ok(m) => m,
        Err(e) => {
            eprint(&format!(
                "portcullis: cannot use the state directory: {e}\nNothing was changed."
            ));
            return NOT_APPLIED;
        }
    };
    let lock = match m.state.lock(LOCK_WAIT, &format!("apply by {}", m.who.user)) {
        Ok(l) => l,
        Err(e) => return refuse(&e.to_string()),
    };
    match m.state.load_journal() {
        Ok(j) => {
            if let Err(e) = ops::refuse_if_pending(&j) {
                return refuse(&e.to_string());
            }
        }
        Err(e) => return refuse(&e.to_string()),
    }

    let read = if opts.yes {
        // No diff is shown with --yes, so the fast terse listing is enough for the counts.
        read_terse(&m.nft, &table)
    } else {
        read_live_table(&m.nft, &table)
    };
    let live = match read {
        Ok(l) => l,
        Err(e) => return refuse(&format!("cannot read the live table: {e}")),
    };
    let policy_name = cli.policy.display().to_string();
    let plan = Plan::new(policy, live, &policy_name, !opts.yes);
    if !opts.yes {
        if plan.diff.is_empty() {
            println!(
                "table inet {} already matches {}; nothing to apply",
                plan.compiled.name, policy_name
            );
            return APPLIED;
        }
        print!("{}", plan.diff);
    }

    let waits_here = !opts.yes && !opts.no_wait;
    let lockouts = operator_lockouts(&plan.policy);
    if !lockouts.is_empty() {
        for lockout in &lockouts {
            eprint(&format!("portcullis: {lockout}"));
        }
        let asked = match lockout_consent(opts, waits_here) {
            Consent::Given { asked } => asked,
            Consent::Refused(why) => return refuse(&why),
        };
        // Time passed while the operator read the warning: make sure the diff they saw is
        // still the truth before acting on it.
        if asked && let Some(code) = refuse_if_changed(&m.nft, &plan, &policy_name) {
            return code;
        }
    }

    let window = (!opts.yes).then(|| plan.window(opts.confirm_timeout, opts.require_new_session));
    let cx = m.context(Actor::Operator);
    let applied = ops::apply(
        &cx,
        &lock,
        &ApplyRequest {
            compiled: &plan.compiled,
            script: &plan.script,
            live_before: &plan.live,
            window,
        },
    );
    drop(lock); // the guard, confirm and rollback need it from here on
    let pending = match applied {
        Ok(Applied::Confirmed(p)) => {
            println!(
                "{} table inet {}: {} rules, {} set elements (commit {}, confirmed)",
                if p.had_table { "replaced" } else { "created" },
                plan.compiled.name,
                plan.compiled.rule_count(),
                plan.compiled.set_element_count(),
                p.id
            );
            return APPLIED;
        }
        Ok(Applied::Pending(p)) => p,
        Err(e) => return refuse(&e.to_string()),
    };
    let deadline = format_time(pending.deadline_ms);
    let secs = (pending.deadline_ms.saturating_sub(now_ms())).div_ceil(1000);
    eprint(&format!(
        "portcullis: applied commit {} ({} added, {} removed). It rolls back at {deadline} \
         (in {secs}s) unless confirmed{}.",
        pending.id,
        rules(pending.rules_added),
        rules(pending.rules_removed),
        if pending.require_new_session {
            " from a connection opened after now"
        } else {
            ""
        }
    ));
    if opts.no_wait {
        eprint(&format!(
            "Confirm with `portcullis confirm`{}, or roll back now with `portcullis rollback`.",
            if pending.require_new_session {
                " from a NEW connection"
            } else {
                ""
            }
        ));
        println!("{}", pending.id);
        return APPLIED;
    }
    if prompt::interactive() {
        let answer = prompt::countdown(&m.state, &pending);
        finish(&m, &pending, answer)
    } else {
        eprint(&format!(
            "Waiting for `portcullis confirm` from another session until {deadline}."
        ));
        wait_headless(&m, &pending)
    }
}

fn rules(n: usize) -> String {
    format!("{n} rule{}", if n == 1 { "" } else { "s" })
}

fn refuse(why: &str) -> u8 {
    eprint(&format!("portcullis: {why}"));
    if !why.contains("nothing was changed") && !why.contains("Nothing was changed") {
        eprint("Nothing was changed.");
    }
    NOT_APPLIED
}

enum Consent {
    Given { asked: bool },
    Refused(String),
}

fn lockout_consent(opts: &Options, waits_here: bool) -> Consent {
    if opts.allow_lockout {
        eprint("portcullis: applying anyway (--allow-lockout).");
        return Consent::Given { asked: false };
    }
    if waits_here && prompt::interactive() {
        return if prompt::typed_yes("Apply a policy that locks out your SSH client?") {
            Consent::Given { asked: true }
        } else {
            Consent::Refused("not applied: the lockout was not accepted.".into())
        };
    }
    Consent::Refused(
        "refusing to apply a policy that locks out an operator's connection without a \
         terminal to confirm on (or with --no-wait/--yes). Allow the client in the policy, or \
         add --allow-lockout if that is intended."
            .into(),
    )
}

/// Refuses (returning the exit status) if the live table no longer reads as the plan's.
fn refuse_if_changed(nft: &dyn Nft, plan: &Plan, policy_name: &str) -> Option<u8> {
    match still_current(nft, &plan.compiled, &plan.live_text(), policy_name) {
        Ok(Ok(())) => None,
        Ok(Err(changed)) => {
            eprint(&format!(
                "portcullis: table inet {} changed since the diff above was shown (another \
                 operator or tool); not applying over it. The diff against the table as it \
                 is now:",
                plan.compiled.name
            ));
            print!("{}", changed.diff_now);
            Some(refuse("run apply again to apply over the new table."))
        }
        Err(e) => Some(refuse(&format!("cannot read the live table: {e}"))),
    }
}

/// Acts on the operator's answer at the countdown.
fn finish(m: &Machinery, pending: &Pending, answer: Answer) -> u8 {
    let cx = m.context(Actor::Operator);
    match answer {
        Answer::Keep => match ops::confirm(&cx, None) {
            Ok(p) => {
                eprint(&format!("portcullis: confirmed commit {}; it stays.", p.id));
                APPLIED
            }
            Err(CommitError::TooLate { .. }) => {
                eprint(&format!(
                    "portcullis: too late; commit {} was rolled back.",
                    pending.id
                ));
                ROLLED_BACK
            }
            Err(e) => {
                eprint(&format!("portcullis: confirm failed: {e}"));
                reported_outcome(m, pending)
            }
        },
        Answer::RollBack => roll_back(m, pending, "declined at the prompt"),
        Answer::Deadline => roll_back(m, pending, "deadline passed without a confirm"),
        Answer::Resolved => reported_outcome(m, pending),
    }
}

fn roll_back(m: &Machinery, pending: &Pending, reason: &str) -> u8 {
    match ops::rollback(&m.context(Actor::Operator), Some(&pending.id), reason) {
        Ok(_) => reported_outcome(m, pending),
        Err(e) => {
            eprint(&format!(
                "portcullis: {e}\nThe guard keeps retrying; see `portcullis status`."
            ));
            NOT_APPLIED
        }
    }
}

/// Reports how the commit ended (by us or by someone else) and the matching exit status.
fn reported_outcome(m: &Machinery, pending: &Pending) -> u8 {
    let record = m
        .state
        .load_journal()
        .ok()
        .and_then(|j| j.history.iter().rev().find(|r| r.id == pending.id).cloned());
    match record {
        Some(r) if r.outcome == Outcome::Confirmed => {
            eprint(&format!("portcullis: commit {} was confirmed.", r.id));
            APPLIED
        }
        Some(r) => {
            eprint(&format!(
                "portcullis: rolled back commit {} ({}); table inet {} is as it was before.",
                r.id,
                r.reason.as_deref().unwrap_or("no reason recorded"),
                pending.table
            ));
            ROLLED_BACK
        }
        None => {
            eprint(&format!(
                "portcullis: commit {} is still pending; see `portcullis status`.",
                pending.id
            ));
            NOT_APPLIED
        }
    }
}

/// No terminal and no --no-wait: wait for a confirm from elsewhere, rolling back at the
/// deadline ourselves too (the guard would; whoever is first does it).
fn wait_headless(m: &Machinery, pending: &Pending) -> u8 {
    loop {
        let still_pending = m
            .state
            .load_journal()
            .map(|j| j.pending.is_some_and(|p| p.id == pending.id))
            .unwrap_or(true);
        if !still_pending {
            return reported_outcome(m, pending);
        }
        if now_ms() >= pending.deadline_ms {
            return roll_back(m, pending, "deadline passed without a confirm");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
