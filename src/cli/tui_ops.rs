//! What the terminal UI does to the firewall and the policy file, done the way the CLI's
//! commands do it: confirm and rollback through `commit::ops` as `confirm` and `rollback`
//! do; a review through `commit::plan` as `apply` shows its diff; a commit by saving the
//! reviewed text, then loading the policy from the file and applying it through the same
//! plan, checks and `ops::apply` as `apply`.

use std::path::Path;

use super::{Cli, Machinery, load_policy};
use crate::app::review::{ApplyDone, ApplyFailed, ApplyJob, Review, ReviewRequest};
use crate::app::{CommitRequest, SaveFailed};
use crate::commit::ops::{self, LOCK_WAIT};
use crate::commit::plan::{Plan, operator_lockouts, read_live_table};
use crate::commit::system::session_origin;
use crate::commit::{Actor, Applied, ApplyRequest, RollbackOutcome};
use crate::diff::{Change, changed_services, policy_changes};
use crate::policy;
use crate::policy::file::{self, Loaded, SaveError, Stamp};
use crate::tui::Operations;

pub struct CliOperations {
    cli: Cli,
}

impl CliOperations {
    pub fn new(cli: &Cli) -> CliOperations {
        CliOperations {
            cli: Cli {
                command: None,
                ..cli.clone()
            },
        }
    }

    fn path(&self) -> &Path {
        &self.cli.policy
    }

    fn name(&self) -> String {
        self.cli.policy.display().to_string()
    }
}

impl Operations for CliOperations {
    fn resolve(&self, request: CommitRequest) -> Result<String, String> {
        let m = Machinery::open(&self.cli, false)
            .map_err(|e| format!("cannot use the state directory: {e}"))?;
        let cx = m.context(Actor::Operator);
        match request {
            CommitRequest::Confirm => ops::confirm(&cx, session_origin().as_ref())
                .map(|p| {
                    format!(
                        "confirmed commit {}: it stays, and `restore` loads it at boot",
                        p.id
                    )
                })
                .map_err(|e| format!("not confirmed: {e}")),
            CommitRequest::Rollback(id) => match ops::rollback(
                &cx,
                Some(&id),
                "rolled back by the operator in the terminal UI",
            ) {
                Ok(RollbackOutcome::RolledBack(p)) => Ok(format!(
                    "rolled back commit {}: the table is as before (a rollback leaves the \
                     policy file as it is; d shows how they differ)",
                    p.id
                )),
                Ok(RollbackOutcome::NotPending(id)) => {
                    Ok(format!("commit {id} is no longer pending"))
                }
                Ok(RollbackOutcome::NothingPending) => Err("no commit is pending".into()),
                Err(e) => Err(format!("{e} (the guard keeps retrying; see status)")),
            },
        }
    }

    fn review(&self, request: &ReviewRequest) -> Result<Review, String> {
        let name = self.name();
        let edited =
            policy::parse(&request.edited).map_err(|d| d.render(&name, &request.edited))?;
        // A file that is missing or invalid compares as the empty policy.
        let saved = policy::parse(&request.saved).unwrap_or_default();
        let nft = crate::nft::backend::NftProcess::new(&self.cli.nft);
        let live = read_live_table(&nft, &edited.settings.table)
            .map_err(|e| format!("cannot read the live table: {e}"))?;
        let changes = policy_changes(&saved, &edited);
        let plan = Plan::new(edited, live, &name, true);
        Ok(Review {
            text: request.edited.clone(),
            changes: changes.iter().map(Change::line).collect(),
            diff: plan.diff.clone(),
            lockouts: operator_lockouts(&plan.policy)
                .iter()
                .map(ToString::to_string)
                .collect(),
            script: plan.script.clone(),
            live_text: plan.live_text(),
            changed_services: watched_services(&plan, &changes),
            table: plan.compiled.name.clone(),
            confirm_timeout: plan.policy.settings.confirm_timeout,
        })
    }

    fn save(
        &self,
        text: &str,
        stamp: Option<&Stamp>,
    ) -> Result<(Loaded, Option<String>), SaveFailed> {
        match file::save(self.path(), text, stamp) {
            Ok(backup) => {
                let loaded = file::read(self.path())
                    .map_err(|e| SaveFailed::Other(format!("saved, but cannot read it: {e}")))?;
                Ok((loaded, backup.map(|b| b.display().to_string())))
            }
            Err(SaveError::ChangedOnDisk(_)) => Err(SaveFailed::ChangedOnDisk),
            Err(e) => Err(SaveFailed::Other(e.to_string())),
        }
    }

    fn reload(&self) -> Result<Loaded, String> {
        file::read(self.path()).map_err(|e| format!("{}: {e}", self.name()))
    }

    fn apply(&self, job: &ApplyJob) -> Result<ApplyDone, ApplyFailed> {
        let fail = |message: String, saved: Option<Loaded>, stale: bool| ApplyFailed {
            message: format!("not committed: {message}"),
            saved,
            stale,
        };
        // The file first: what is applied is what is on disk, as with `apply`.
        let saved = if job.disk.text == job.review.text {
            None
        } else {
            match file::save(self.path(), &job.review.text, Some(&job.disk.stamp)) {
                Ok(_) => file::read(self.path()).ok(),
                Err(SaveError::ChangedOnDisk(_)) => {
                    return Err(fail(
                        format!(
                            "{} changed on disk since it was loaded; s offers to reload or \
                             overwrite",
                            self.name()
                        ),
                        None,
                        false,
                    ));
                }
                Err(e) => return Err(fail(e.to_string(), None, false)),
            }
        };
        let loaded = match saved.clone() {
            Some(l) => l,
            None => file::read(self.path()).map_err(|e| fail(e.to_string(), None, false))?,
        };
        let keep = saved.clone();
        let fail = |message: String, stale: bool| fail(message, keep.clone(), stale);

        let policy = load_policy(self.path()).map_err(|e| fail(e, false))?;
        let m = Machinery::open(&self.cli, true)
            .map_err(|e| fail(format!("cannot use the state directory: {e}"), false))?;
        let lock = m
            .state
            .lock(LOCK_WAIT, &format!("apply by {} (terminal UI)", m.who.user))
            .map_err(|e| fail(e.to_string(), false))?;
        let journal = m
            .state
            .load_journal()
            .map_err(|e| fail(e.to_string(), false))?;
        ops::refuse_if_pending(&journal).map_err(|e| fail(e.to_string(), false))?;
        let live = read_live_table(&m.nft, &policy.settings.table)
            .map_err(|e| fail(format!("cannot read the live table: {e}"), false))?;
        let plan = Plan::new(policy, live, &self.name(), true);
        if plan.script != job.review.script {
            return Err(fail(
                "the policy file is not the one the diff was made of; the diff is made again"
                    .into(),
                true,
            ));
        }
        if plan.live_text() != job.review.live_text {
            return Err(fail(
                format!(
                    "table inet {} changed since the diff was shown (another operator or \
                     tool); the diff is made again against the table as it is now",
                    plan.compiled.name
                ),
                true,
            ));
        }
        let lockouts = operator_lockouts(&plan.policy);
        if !lockouts.is_empty() && !job.lockout_consent {
            return Err(fail(
                "it locks out an operator's connection, and that was not accepted".into(),
                true,
            ));
        }
        let window = plan.window(None, false);
        let applied = ops::apply(
            &m.context(Actor::Operator),
            &lock,
            &ApplyRequest {
                compiled: &plan.compiled,
                script: &plan.script,
                live_before: &plan.live,
                window: Some(window),
            },
        );
        match applied {
            Ok(Applied::Pending(p)) | Ok(Applied::Confirmed(p)) => Ok(ApplyDone {
                id: p.id,
                deadline_ms: p.deadline_ms,
                saved: loaded,
            }),
            Err(e) => Err(fail(e.to_string(), false)),
        }
    }
}

/// The services the countdown watches: those whose rules change against the live table,
/// and those that allow a network the edits change (their rules' text names the set, so
/// it stays the same while the set's addresses change).
fn watched_services(plan: &Plan, changes: &[Change]) -> Vec<String> {
    let mut names = changed_services(&plan.compiled, &plan.live);
    let networks: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::NetworkChanged { name, .. } | Change::NetworkAdded { name, .. } => {
                Some(name.as_str())
            }
            _ => None,
        })
        .collect();
    for (name, service) in &plan.policy.services {
        let uses = service.allow.iter().any(
            |s| matches!(s, crate::policy::Source::Network(n) if networks.contains(&n.as_str())),
        );
        if uses && !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}
