//! The refresh worker's reading of the system: sockets (netlink and /proc), the ruleset
//! (`nft -t -j list ruleset`: counters, and milliseconds even with huge sets), the journal
//! and the policy file. Runs on the worker thread, never on the render path.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::owners::OwnerCache;
use super::ruleset::RulesetReader;
use crate::app::observation::{Observation, OtherTable, PendingCommit, PolicyLoad, RulesState};
use crate::commit::StateDir;
use crate::commit::system::now_ms;
use crate::nft::backend::Nft;
use crate::sockets::{self, ServiceNames};

pub struct Sources {
    pub nft: Box<dyn Nft + Send>,
    /// Our table's reading, kept between ticks.
    pub rules: RulesetReader,
    pub policy_path: PathBuf,
    pub state_dir: PathBuf,
    pub read_only: bool,
    pub names: ServiceNames,
    pub owners: OwnerCache,
    /// The policy file's mtime when last read, to read it again only when it changes.
    pub policy_seen: Option<Option<SystemTime>>,
    /// The policy as read at start, handed to the first refresh: reading a big policy
    /// again on the worker thread would double the start's peak memory.
    pub first_policy: Option<PolicyLoad>,
}

impl Sources {
    pub fn observe(&mut self) -> Observation {
        let owners = &mut self.owners;
        let sockets = sockets::scan_with_owners(&self.names, |inodes| owners.owners_of(inodes))
            .map(|t| t.listeners)
            .map_err(|e| e.to_string());
        let (rules, other_tables) = if self.read_only {
            (RulesState::NeedsPrivilege, Vec::new())
        } else {
            self.ruleset()
        };
        Observation {
            at_ms: now_ms(),
            sockets,
            rules,
            other_tables,
            pending: self.pending(),
            policy: self.policy_if_changed(),
        }
    }

    fn ruleset(&mut self) -> (RulesState, Vec<OtherTable>) {
        match self.nft.list_ruleset_terse_json() {
            Ok(listing) => self.rules.read(&listing),
            Err(e) => (RulesState::Unavailable(e.to_string()), Vec::new()),
        }
    }

    fn pending(&self) -> Option<PendingCommit> {
        // Not root, or nothing ever applied: no journal to read, nothing pending.
        let state = StateDir::open(&self.state_dir, false).ok()?;
        let p = state.load_journal().ok()?.pending?;
        Some(PendingCommit {
            id: p.id,
            deadline_ms: p.deadline_ms,
            user: p.user,
            rollback_error: p.rollback_error,
        })
    }

    fn policy_if_changed(&mut self) -> Option<PolicyLoad> {
        if let Some(first) = self.first_policy.take() {
            return Some(first);
        }
        let mtime = modified(&self.policy_path);
        if self.policy_seen == Some(mtime) {
            return None;
        }
        self.policy_seen = Some(mtime);
        Some(match crate::cli::load_policy(&self.policy_path) {
            Ok(p) => PolicyLoad::Loaded(Box::new(p)),
            Err(e) => PolicyLoad::Invalid(e),
        })
    }
}

/// A file's modification time, None if it cannot be read.
pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
