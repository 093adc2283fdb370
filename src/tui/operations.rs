//! What the terminal UI does to the firewall and the policy file, done the way the CLI's
//! commands do it: confirm and rollback through the commit engine as `confirm` and
//! `rollback` do; a review through `commit::plan` as `apply` shows its diff; a commit by
//! saving the reviewed text, then loading the policy from the file and applying it through
//! the same plan and `Engine::apply` as `apply`, with the live table the diff was made
//! from as what the operator was shown.

use std::path::{Path, PathBuf};

use super::Operations;
use crate::app::review::{ApplyDone, ApplyFailed, ApplyJob, Review, ReviewRequest};
use crate::app::{LiveRequest, SaveFailed};
use crate::commit::Create;
use crate::commit::backends::{Paths, RealBackends};
use crate::commit::clock::Clock;
use crate::commit::engine::Engine;
use crate::commit::plan::{Plan, WithDiff, operator_lockouts};
use crate::commit::{Actor, Applied, ApplyRequest, CommitError, Pending, RollbackOutcome};
use crate::diff::{Change, changed_services, policy_changes};
use crate::policy;
use crate::policy::file::{self, Loaded, SaveError, Stamp, load as load_policy};
use crate::system::session_origin;

pub struct TuiOperations {
    policy: PathBuf,
    paths: Paths,
}

/// A message with what the engine had to say on the way after it.
fn with_warnings(engine: &Engine<'_>, message: String) -> String {
    let warnings = engine.take_warnings();
    if warnings.is_empty() {
        message
    } else {
        format!("{message} (note: {})", warnings.join("; "))
    }
}

impl TuiOperations {
    pub fn new(policy: &Path, paths: &Paths) -> TuiOperations {
        TuiOperations {
            policy: policy.to_path_buf(),
            paths: paths.clone(),
        }
    }

    fn path(&self) -> &Path {
        &self.policy
    }

    fn name(&self) -> String {
        self.policy.display().to_string()
    }

    fn open_backends(&self, create: Create) -> Result<RealBackends, String> {
        RealBackends::open(&self.paths, create)
            .map_err(|e| format!("cannot use the state directory: {e}"))
    }

    /// Applies the policy file as `apply` does (the plan, `Engine::apply` with the policy's
    /// window), if it is still what the review showed: the same script, against the same
    /// live table (the engine checks that under its lock), and a lockout only if the
    /// operator accepted it. The error says why not, and whether the review is stale.
    fn apply_saved(&self, job: &ApplyJob) -> Result<(Pending, u64), (String, bool)> {
        let policy = load_policy(self.path()).map_err(|e| (e, false))?;
        let m = self
            .open_backends(Create::IfMissing)
            .map_err(|e| (e, false))?;
        let known = m.state.load_journal().ok().and_then(|j| j.live);
        let plan = Plan::read(&m.nft, policy, known.as_ref(), &self.name(), WithDiff::Yes)
            .map_err(|e| (format!("cannot read the live table: {e}"), false))?;
        if plan.script != job.review.script {
            let why = "the policy file is not the one the diff was made of; the diff is made again";
            return Err((why.into(), true));
        }
        if !job.lockout_consent && !operator_lockouts(&plan.policy).is_empty() {
            let why = "it locks out an operator's connection, and that was not accepted";
            return Err((why.into(), true));
        }
        let engine = m.engine(Actor::Operator);
        let name = self.name();
        let applied = engine.apply(&ApplyRequest {
            plan: &plan,
            shown: Some(&job.review.live_text),
            window: Some(plan.policy_window()),
            adopt: false,
            policy_name: &name,
        });
        match applied {
            Ok(Applied::Pending(p) | Applied::Confirmed(p)) => {
                let now = m.clock.now();
                let wall = p.deadline().map_or(now.wall_ms, |d| d.wall_ms(&now));
                Ok((p, wall))
            }
            Ok(Applied::Unchanged) => Err((
                "the live table already is this policy: nothing was sent to the kernel".into(),
                true,
            )),
            Err(CommitError::Stale { table, .. }) => Err((
                with_warnings(
                    &engine,
                    format!(
                        "table inet {table} changed since the diff was shown (another operator \
                         or tool); the diff is made again against the table as it is now"
                    ),
                ),
                true,
            )),
            Err(e) => Err((with_warnings(&engine, e.to_string()), false)),
        }
    }
}

impl Operations for TuiOperations {
    fn live(&self, request: LiveRequest) -> Result<String, String> {
        let m = self.open_backends(Create::Never)?;
        let engine = m.engine(Actor::Operator);
        let result = match request {
            LiveRequest::Confirm => engine
                .confirm(session_origin().as_ref())
                .map(|p| {
                    format!(
                        "confirmed commit {}: it stays, and `restore` loads it at boot",
                        p.id
                    )
                })
                .map_err(|e| format!("not confirmed: {e}")),
            LiveRequest::Rollback(id) => {
                match engine.rollback(Some(&id), "rolled back by the operator in the terminal UI") {
                    Ok(RollbackOutcome::RolledBack { commit, .. }) => Ok(format!(
                        "rolled back commit {}: the table is as before (a rollback leaves the \
                         policy file as it is; d shows how they differ)",
                        commit.id
                    )),
                    Ok(RollbackOutcome::NotPending(id)) => {
                        Ok(format!("commit {id} is no longer pending"))
                    }
                    Ok(RollbackOutcome::NothingPending | RollbackOutcome::AskedGuards { .. }) => {
                        Err("no commit is pending".into())
                    }
                    Err(e) => Err(format!("{e} (the guard keeps retrying; see status)")),
                }
            }
            LiveRequest::Grant {
                service,
                source,
                duration,
            } => {
                let policy = load_policy(self.path())?;
                let Some(s) = policy.services.get(&service) else {
                    return Err(format!(
                        "there is no service {service:?} in the policy file"
                    ));
                };
                engine
                    .grant(&policy, s, source, duration)
                    .map(|g| {
                        format!(
                            "granted: {} may reach {service} until {} (the kernel removes it then)",
                            g.source, g.until
                        )
                    })
                    .map_err(|e| format!("not granted: {e}"))
            }
            LiveRequest::Revoke { service, source } => {
                let policy = load_policy(self.path())?;
                let Some(s) = policy.services.get(&service) else {
                    return Err(format!(
                        "there is no service {service:?} in the policy file"
                    ));
                };
                match engine.revoke(&policy, s, source) {
                    Ok(true) => Ok(format!(
                        "revoked: {} may no longer reach {service}",
                        source.trunc()
                    )),
                    Ok(false) => Err(format!(
                        "{} has no grant to {service} (it may have expired)",
                        source.trunc()
                    )),
                    Err(e) => Err(format!("not revoked: {e}")),
                }
            }
        };
        result
            .map(|m| with_warnings(&engine, m))
            .map_err(|m| with_warnings(&engine, m))
    }

    fn review(&self, request: &ReviewRequest) -> Result<Review, String> {
        let name = self.name();
        let edited =
            policy::parse(&request.edited).map_err(|d| d.render(&name, &request.edited))?;
        // A file that is missing or invalid compares as the empty policy.
        let saved = policy::parse(&request.saved).unwrap_or_default();
        let nft = crate::nft::backend::NftProcess::new(&self.paths.nft);
        let known = self
            .open_backends(Create::Never)
            .ok()
            .and_then(|m| m.state.load_journal().ok())
            .and_then(|j| j.live);
        let changes = policy_changes(&saved, &edited);
        let plan = Plan::read(&nft, edited, known.as_ref(), &name, WithDiff::Yes)
            .map_err(|e| format!("cannot read the live table: {e}"))?;
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
            Ok((pending, deadline_ms)) => Ok(ApplyDone {
                id: pending.id,
                deadline_ms,
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
