//! The refresh worker's reading of the system: sockets (netlink and /proc), the ruleset
//! (`nft -t -j list ruleset`: counters, and milliseconds even with huge sets), the journal
//! and the policy file. Runs on the worker thread, never on the render path.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::owners::OwnerCache;
use super::ruleset::RulesetReader;
use crate::app::observation::{
    LastCommit, Observation, OtherTable, PendingCommit, PolicyLoad, RulesState,
};
use crate::commit::StateDir;
use crate::commit::clock::{Clock, SystemClock};
use crate::commit::counting::Counting;
use crate::nft::backend::Nft;
use crate::policy::file::{self, Loaded};
use crate::sockets::{self, ServiceNames};

pub struct Sources {
    pub clock: SystemClock,
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
    /// The policy file's text as read at start, for the editor.
    pub first_text: Option<Loaded>,
    /// This boot and network namespace (`plan::place`), where the counting record counts.
    pub place: String,
}

impl Sources {
    pub fn observe(&mut self) -> Observation {
        let owners = &mut self.owners;
        let sockets = sockets::scan_with_owners(&self.names, |inodes| owners.owners_of(inodes))
            .map(|t| t.listeners)
            .map_err(|e| e.to_string());
        let (policy, policy_text) = self.policy_if_changed();
        let (pending, last_commit, counting) = self.journal();
        let (rules, other_tables) = if self.read_only {
            (RulesState::NeedsPrivilege, Vec::new())
        } else {
            self.ruleset()
        };
        Observation {
            at: self.clock.now(),
            sockets,
            rules,
            other_tables,
            pending,
            policy,
            policy_text,
            last_commit,
            counting,
        }
    }

    fn ruleset(&mut self) -> (RulesState, Vec<OtherTable>) {
        match self.nft.list_ruleset_terse_json() {
            Ok(listing) => self.rules.read(&listing),
            Err(e) => (RulesState::Unavailable(e.to_string()), Vec::new()),
        }
    }

    /// The pending commit, the last resolved one, and since when the rules count.
    fn journal(&self) -> (Option<PendingCommit>, Option<LastCommit>, Option<Counting>) {
        // Not root, or nothing ever applied: no journal to read, nothing pending.
        let Some(state) = StateDir::open(&self.state_dir, false).ok() else {
            return (None, None, None);
        };
        // A record made in another boot or namespace numbers other rules.
        let counting = state.load_counting().filter(|c| c.place == self.place);
        let Some(journal) = state.load_journal().ok() else {
            return (None, None, counting);
        };
        let pending = journal.pending.map(|p| PendingCommit {
            deadline: p.deadline().cloned(),
            id: p.id,
            user: p.user,
            rollback_error: p.rollback_error,
        });
        let last = journal.history.last().map(|r| LastCommit {
            id: r.id.clone(),
            outcome: r.outcome,
            reason: r.reason.clone(),
            user: r.user.clone(),
            resolved_at_ms: r.resolved_at_ms,
        });
        (pending, last, counting)
    }

    /// The policy and its text when the file changed since the last look (by mtime; the
    /// editor compares contents).
    fn policy_if_changed(&mut self) -> (Option<PolicyLoad>, Option<Loaded>) {
        if let Some(first) = self.first_policy.take() {
            return (Some(first), self.first_text.take());
        }
        let mtime = modified(&self.policy_path);
        if self.policy_seen == Some(mtime) {
            return (None, None);
        }
        self.policy_seen = Some(mtime);
        let load = match crate::policy::file::load(&self.policy_path) {
            Ok(p) => PolicyLoad::Loaded(Box::new(p)),
            Err(e) => PolicyLoad::Invalid(e),
        };
        (Some(load), file::read(&self.policy_path).ok())
    }
}

/// A file's modification time, None if it cannot be read.
pub fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
