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
use crate::commit::{Actor, Applied, ApplyRequest, Pending, RollbackOutcome};
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

    /// Applies the policy file as `apply` does (the plan, the operator lock, `ops::apply`
    /// with the policy's window), if it is still what the review showed: the same script
    /// against the same live table, and a lockout only if the operator accepted it. The
    /// error says why not, and whether the review is stale.
    fn apply_saved(&self, job: &ApplyJob) -> Result<Pending, (String, bool)> {
        let policy = load_policy(self.path()).map_err(|e| (e, false))?;
        let m = Machinery::open(&self.cli, true)
            .map_err(|e| (format!("cannot use the state directory: {e}"), false))?;
        let lock = m
            .state
            .lock(LOCK_WAIT, &format!("apply by {} (terminal UI)", m.who.user))
            .map_err(|e| (e.to_string(), false))?;
        let live = read_live_table(&m.nft, &policy.settings.table)
            .map_err(|e| (format!("cannot read the live table: {e}"), false))?;
        let plan = Plan::new(policy, live, &self.name(), true);
        if plan.script != job.review.script {
            let why = "the policy file is not the one the diff was made of; the diff is made again";
            return Err((why.into(), true));
        }
        if plan.live_text() != job.review.live_text {
            return Err((
                format!(
                    "table inet {} changed since the diff was shown (another operator or \
                     tool); the diff is made again against the table as it is now",
                    plan.compiled.name
                ),
                true,
            ));
        }
        if !job.lockout_consent && !operator_lockouts(&plan.policy).is_empty() {
            let why = "it locks out an operator's connection, and that was not accepted";
            return Err((why.into(), true));
        }
        let request = ApplyRequest {
            compiled: &plan.compiled,
            script: &plan.script,
            live_before: &plan.live,
            window: Some(plan.window(None, false)),
        };
        // ops::apply refuses while another commit is pending, under the lock.
        match ops::apply(&m.context(Actor::Operator), &lock, &request) {
            Ok(Applied::Pending(p) | Applied::Confirmed(p)) => Ok(p),
            Err(e) => Err((e.to_string(), false)),
        }
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
        // The file first: what is applied is what is on disk, as with `apply`.
        let wrote = job.disk.text != job.review.text;
        if wrote {
            file::save(self.path(), &job.review.text, Some(&job.disk.stamp)).map_err(|e| {
                ApplyFailed {
                    message: match e {
                        SaveError::ChangedOnDisk(_) => format!(
                            "not committed: {} changed on disk since it was loaded; s offers \
                             to reload or overwrite",
                            self.name()
                        ),
                        e => format!("not committed: {e}"),
                    },
                    saved: None,
                    stale: false,
                }
            })?;
        }
        let on_disk = file::read(self.path()).map_err(|e| ApplyFailed {
            message: format!("not committed: cannot read {}: {e}", self.name()),
            saved: None,
            stale: false,
        })?;
        match self.apply_saved(job) {
            Ok(pending) => Ok(ApplyDone {
                id: pending.id,
                deadline_ms: pending.deadline_ms,
                saved: on_disk,
            }),
            Err((message, stale)) => Err(ApplyFailed {
                message: format!("not committed: {message}"),
                // The UI takes the save in even though the apply did not happen.
                saved: wrote.then_some(on_disk),
                stale,
            }),
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
