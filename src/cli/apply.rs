//! `portcullis apply`: validate, show the diff, check for lockout, apply in one transaction,
//! then keep it only if confirmed in time (`--yes`: keep at once).
//!
//! The commit itself is `Engine::apply`, the one sequence the terminal UI uses too; this
//! file is the conversation with the operator around it.

use std::time::Duration;

use super::prompt::{self, Answer};
use super::{Cli, eprint, open_backends, print_warnings};
use crate::commit::Create;
use crate::commit::backends::RealBackends;
use crate::commit::clock::Clock;
use crate::commit::journal::format_time;
use crate::commit::plan::{Change, Plan, WithDiff, operator_lockouts};
use crate::commit::{Actor, Applied, ApplyRequest, CommitError, Outcome, Pending};
use crate::policy::file::load as load_policy;

pub struct Options {
    pub yes: bool,
    pub no_wait: bool,
    pub confirm_timeout: Option<Duration>,
    pub allow_lockout: bool,
    pub require_new_session: bool,
    pub adopt: bool,
}

/// Exit statuses, as `apply --help`, the manual and README document them.
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
    let m = match open_backends(cli, Create::IfMissing) {
        Ok(m) => m,
        Err(e) => {
            eprint(&format!(
                "portcullis: cannot use the state directory: {e}\nNothing was changed."
            ));
            return NOT_APPLIED;
        }
    };
    // Said before the diff; the engine checks again under the lock.
    let journal = m.state.load_journal().ok();
    if let Some(p) = journal.as_ref().and_then(|j| j.pending.as_ref()) {
        return refuse(&m.engine(Actor::Operator).busy(p).to_string());
    }
    let known = journal.and_then(|j| j.live);
    let policy_name = cli.policy.display().to_string();
    // `--yes` shows no diff, so none is made.
    let diff = if opts.yes {
        WithDiff::No
    } else {
        WithDiff::Yes
    };
    let plan = match Plan::read(&m.nft, policy, known.as_ref(), &policy_name, diff) {
        Ok(plan) => plan,
        Err(e) => return refuse(&format!("cannot read the live table: {e}")),
    };
    if plan.change == Change::Nothing {
        outln!(
            "table inet {table} already matches {policy_name}; nothing to apply (nothing was \
             sent to the kernel)"
        );
        return APPLIED;
    }
    if !opts.yes {
        out!("{}", plan.diff);
    }

    let waits_here = !opts.yes && !opts.no_wait;
    let lockouts = operator_lockouts(&plan.policy);
    let mut asked = false;
    if !lockouts.is_empty() {
        for lockout in &lockouts {
            eprint(&format!("portcullis: {lockout}"));
        }
        match lockout_consent(opts, waits_here) {
            Consent::Given { asked: a } => asked = a,
            Consent::Refused(why) => return refuse(&why),
        }
    }
    // Time passed while the operator read the warning: the engine makes sure the diff they
    // saw is still the truth before acting on it.
    let shown = asked.then(|| plan.live_text());
    let window = (!opts.yes).then(|| plan.window(opts.confirm_timeout, opts.require_new_session));
    let engine = m.engine(Actor::Operator);
    let applied = engine.apply(&ApplyRequest {
        plan: &plan,
        shown: shown.as_deref(),
        window,
        adopt: opts.adopt,
        policy_name: &policy_name,
    });
    print_warnings(&engine);
    let pending = match applied {
        Ok(Applied::Unchanged) => {
            outln!(
                "table inet {table} already matches {policy_name}; nothing to apply (nothing was \
                 sent to the kernel)"
            );
            return APPLIED;
        }
        Ok(Applied::Confirmed(p)) => {
            if p.incremental {
                outln!(
                    "changed table inet {}, {} (commit {}, confirmed)",
                    plan.compiled.name,
                    p.change.as_deref().unwrap_or("?"),
                    p.id
                );
            } else {
                outln!(
                    "{} table inet {}: {} rules, {} set elements (commit {}, confirmed)",
                    if p.had_table { "replaced" } else { "created" },
                    plan.compiled.name,
                    plan.compiled.rule_count(),
                    plan.compiled.set_element_count(),
                    p.id
                );
            }
            return APPLIED;
        }
        Ok(Applied::Pending(p)) => p,
        Err(CommitError::Stale { table, diff_now }) => {
            eprint(&format!(
                "portcullis: table inet {table} changed since the diff above was shown (another \
                 operator or tool); not applying over it. The diff against the table as it \
                 is now:"
            ));
            out!("{diff_now}");
            return refuse("run apply again to apply over the new table.");
        }
        Err(e @ CommitError::RolledBackInstead { .. }) => {
            eprint(&format!("portcullis: {e}"));
            return ROLLED_BACK;
        }
        Err(e) => return refuse(&e.to_string()),
    };
    let Some(deadline) = pending.deadline() else {
        return refuse("internal error: the commit is live without a deadline");
    };
    let now = m.clock.now();
    let at = format_time(deadline.wall_ms(&now));
    let what = match (&pending.change, pending.incremental) {
        (Some(change), true) => change.clone(),
        _ => format!(
            "{} added, {} removed",
            rules(pending.rules_added),
            rules(pending.rules_removed)
        ),
    };
    eprint(&format!(
        "portcullis: applied commit {} ({what}). It rolls back at {at} (in {}s) unless \
         confirmed{}.",
        pending.id,
        deadline.seconds_left(&now),
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
        outln!("{}", pending.id);
        return APPLIED;
    }
    // Drops from the operators' own addresses during the window: a lockout in progress.
    let watch = super::peer_drops::PeerWatch::start(
        &plan.policy.settings.drop_log,
        crate::commit::plan::operator_peers(),
    );
    if prompt::interactive() {
        let answer = prompt::countdown(&m.state, &m.clock, &pending, &|| watch.news());
        finish(&m, &pending, answer)
    } else {
        eprint(&format!(
            "Waiting for `portcullis confirm` from another session until {at}."
        ));
        wait_headless(&m, &pending, &watch)
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

/// Acts on the operator's answer at the countdown.
fn finish(m: &RealBackends, pending: &Pending, answer: Answer) -> u8 {
    let engine = m.engine(Actor::Operator);
    let code = match answer {
        Answer::Keep => match engine.confirm(None) {
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
    };
    print_warnings(&engine);
    code
}

fn roll_back(m: &RealBackends, pending: &Pending, reason: &str) -> u8 {
    let engine = m.engine(Actor::Operator);
    let result = engine.rollback(Some(&pending.id), reason);
    print_warnings(&engine);
    match result {
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
fn reported_outcome(m: &RealBackends, pending: &Pending) -> u8 {
    let record = m
        .state
        .load_journal()
        .ok()
        .and_then(|j| j.resolved(&pending.id).cloned());
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
fn wait_headless(m: &RealBackends, pending: &Pending, watch: &super::peer_drops::PeerWatch) -> u8 {
    loop {
        for line in watch.news() {
            eprint(&format!("portcullis: {line}"));
        }
        let still_pending = m
            .state
            .load_journal()
            .map(|j| j.pending.is_some_and(|p| p.id == pending.id))
            .unwrap_or(true);
        if !still_pending {
            return reported_outcome(m, pending);
        }
        if pending.deadline().is_none_or(|d| d.passed(&m.clock.now())) {
            return roll_back(m, pending, "deadline passed without a confirm");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
