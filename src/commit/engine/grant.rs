//! `grant` and `revoke`: temporary access added to (or taken from) the live table in one
//! transaction under the operator lock, and written to the audit log. A grant only adds
//! access, so it needs no confirm window; the kernel removes it when it expires.

use std::time::Duration;

use ipnet::IpNet;

use super::{CommitError, Engine, LOCK_WAIT};
use crate::commit::audit::{AuditLine, Event as AuditEvent};
use crate::nft::backend::Script;
use crate::nft::grants;
use crate::nft::live::LiveObject;
use crate::policy::{Policy, Service};
use nftables::schema::NfListObject;

/// A grant as it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub service: String,
    pub source: IpNet,
    /// The deadline, RFC 3339 on the wall clock.
    pub until: String,
}

impl Engine<'_> {
    /// Lets `source` reach `service` for `duration`, at once.
    pub fn grant(
        &self,
        policy: &Policy,
        service: &Service,
        source: IpNet,
        duration: Duration,
    ) -> Result<Granted, CommitError> {
        let table = &policy.settings.table;
        let lock = self.lock(LOCK_WAIT, "grant")?;
        self.ours(table)?;
        let live = self.grant_view(table)?;
        let now = self.now();
        let until_ms = now.wall_ms + duration.as_millis() as u64;
        // To the second, as the kernel counts the timeout.
        let until = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + Duration::from_secs(until_ms / 1000),
        )
        .to_string();
        let seconds = u32::try_from(duration.as_secs()).unwrap_or(u32::MAX);
        let script = grants::grant_script(table, &live, service, source, seconds, &until)
            .map_err(CommitError::ReadLive)?;
        self.b
            .nft
            .load(Script::Small(&script), lock.file())
            .map_err(|e| CommitError::Apply(e.to_string()))?;
        let granted = Granted {
            service: service.name.clone(),
            source: source.trunc(),
            until,
        };
        let what = format!(
            "{} from {} until {}",
            granted.service, granted.source, granted.until
        );
        self.audit_grant(AuditEvent::Granted, table, what, now.wall_ms);
        Ok(granted)
    }

    /// Takes `source`'s grant to `service` back; Ok(false) when it had none (or it
    /// expired already).
    pub fn revoke(
        &self,
        policy: &Policy,
        service: &Service,
        source: IpNet,
    ) -> Result<bool, CommitError> {
        let table = &policy.settings.table;
        let lock = self.lock(LOCK_WAIT, "revoke")?;
        self.ours(table)?;
        let live = self.grant_view(table)?;
        let Some(script) = grants::revoke_script(table, &live, service, source) else {
            return Ok(false);
        };
        self.b
            .nft
            .load(Script::Small(&script), lock.file())
            .map_err(|e| CommitError::Apply(e.to_string()))?;
        let what = format!("{} from {}", service.name, source.trunc());
        self.audit_grant(AuditEvent::Revoked, table, what, self.now().wall_ms);
        Ok(true)
    }

    /// Our table as a grant needs it: its rules and set declarations (a terse listing),
    /// and the grant sets with their elements; not the networks' addresses.
    fn grant_view(&self, table: &str) -> Result<Vec<LiveObject>, CommitError> {
        let mut objects =
            crate::commit::plan::read_terse(self.b.nft, table).map_err(CommitError::ReadLive)?;
        let sets = crate::commit::plan::read_grant_sets(self.b.nft, table, &objects)
            .map_err(CommitError::ReadLive)?;
        objects.retain(|o| {
            !matches!(o, LiveObject::Known(NfListObject::Set(s)) if grants::is_grant_set(&s.name))
        });
        objects.extend(sets);
        Ok(objects)
    }

    /// A table that is not ours (or not there) takes no grant.
    fn ours(&self, table: &str) -> Result<(), CommitError> {
        match self.owner(table).map_err(CommitError::ReadLive)? {
            crate::commit::ownership::Owner::Ours | crate::commit::ownership::Owner::Earlier => {
                Ok(())
            }
            crate::commit::ownership::Owner::Absent => Err(CommitError::NotOurs(format!(
                "there is no table inet {table}; `portcullis apply` the policy first"
            ))),
            crate::commit::ownership::Owner::Foreign { .. } => Err(CommitError::NotOurs(format!(
                "table inet {table} is not portcullis's own; grants go only into ours"
            ))),
        }
    }

    /// A `granted` or `revoked` line: who, and `what` (service, source, until when).
    fn audit_grant(&self, event: AuditEvent, table: &str, what: String, now_ms: u64) {
        let line = AuditLine {
            table: Some(table.to_string()),
            ..AuditLine::of(event, self.by, self.b.who, now_ms, Some(what))
        };
        self.append_audit(&line.to_json());
    }
}
