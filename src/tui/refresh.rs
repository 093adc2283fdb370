//! The refresh worker's reading of the system: sockets (netlink and /proc), the ruleset
//! (`nft -t -j list ruleset`: counters, and milliseconds even with huge sets), the journal
//! and the policy file. Runs on the worker thread, never on the render path.

use std::path::PathBuf;
use std::time::SystemTime;

use super::owners::OwnerCache;
use crate::app::observation::{Observation, OtherTable, PendingCommit, PolicyLoad, RulesState};
use crate::commit::StateDir;
use crate::commit::system::now_ms;
use crate::nft::backend::Nft;
use crate::nft::counters::live_rules;
use crate::nft::live;
use crate::nft::tables::other_tables;
use crate::sockets::{self, ServiceNames};

pub struct Sources {
    pub nft: Box<dyn Nft + Send>,
    pub table: String,
    pub policy_path: PathBuf,
    pub state_dir: PathBuf,
    pub read_only: bool,
    pub names: ServiceNames,
    pub owners: OwnerCache,
    /// The policy file's mtime when last read, to read it again only when it changes.
    pub policy_seen: Option<Option<SystemTime>>,
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

    fn ruleset(&self) -> (RulesState, Vec<OtherTable>) {
        let listing = match self.nft.list_ruleset_terse_json() {
            Ok(l) => l,
            Err(e) => return (RulesState::Unavailable(e.to_string()), Vec::new()),
        };
        // One parse for both readings: at 1,000 rules parsing is most of a refresh.
        let doc = match live::parse(&listing) {
            Ok(d) => d,
            Err(e) => return (RulesState::Unavailable(e.to_string()), Vec::new()),
        };
        let others = other_tables(&doc, &self.table);
        let state = match live::objects_of(&doc, &self.table) {
            Err(e) => RulesState::Unavailable(e.to_string()),
            Ok(objects) if !live::has_table(&objects) => RulesState::NoTable,
            Ok(objects) => RulesState::Table {
                rules: live_rules(&objects),
                objects,
            },
        };
        (state, others)
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
        let mtime = std::fs::metadata(&self.policy_path)
            .and_then(|m| m.modified())
            .ok();
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
