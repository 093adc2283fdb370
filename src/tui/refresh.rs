//! The refresh worker's reading of the system: sockets (netlink and /proc), the ruleset
//! (`nft -t -j list ruleset`: counters, and milliseconds even with huge sets), the journal
//! and the policy file. Runs on the worker thread, never on the render path.

use std::path::PathBuf;
use std::time::SystemTime;

use serde_json::Value;

use super::owners::OwnerCache;
use crate::app::observation::{
    Observation, OtherChain, OtherTable, PendingCommit, PolicyLoad, RulesState,
};
use crate::commit::StateDir;
use crate::commit::system::now_ms;
use crate::nft::backend::Nft;
use crate::nft::counters::live_rules;
use crate::nft::live;
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
        let others = other_tables(&listing, &self.table);
        let state = match live::table_objects(&listing, &self.table) {
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

/// Every table but `inet OURS` in a terse JSON listing, with its chains and rule counts.
pub fn other_tables(listing: &str, ours: &str) -> Vec<OtherTable> {
    let Ok(doc) = serde_json::from_str::<Value>(listing) else {
        return Vec::new();
    };
    let Some(items) = doc.get("nftables").and_then(Value::as_array) else {
        return Vec::new();
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let is_ours = |v: &Value| {
        text(v, "family").as_deref() == Some("inet")
            && (text(v, "name").as_deref() == Some(ours)
                || text(v, "table").as_deref() == Some(ours))
    };
    let mut tables: Vec<OtherTable> = Vec::new();
    for item in items {
        if let Some(t) = item.get("table").filter(|t| !is_ours(t)) {
            tables.push(OtherTable {
                family: text(t, "family").unwrap_or_default(),
                name: text(t, "name").unwrap_or_default(),
                chains: Vec::new(),
            });
        } else if let Some(c) = item.get("chain").filter(|c| !is_ours(c)) {
            let (family, table) = (text(c, "family"), text(c, "table"));
            if let Some(t) = tables
                .iter_mut()
                .find(|t| Some(&t.family) == family.as_ref() && Some(&t.name) == table.as_ref())
            {
                t.chains.push(OtherChain {
                    name: text(c, "name").unwrap_or_default(),
                    hook: text(c, "hook"),
                    policy: text(c, "policy"),
                    rules: 0,
                });
            }
        } else if let Some(r) = item.get("rule").filter(|r| !is_ours(r)) {
            let (family, table, chain) = (text(r, "family"), text(r, "table"), text(r, "chain"));
            if let Some(c) = tables
                .iter_mut()
                .filter(|t| Some(&t.family) == family.as_ref() && Some(&t.name) == table.as_ref())
                .flat_map(|t| t.chains.iter_mut())
                .find(|c| Some(&c.name) == chain.as_ref())
            {
                c.rules += 1;
            }
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_tables_are_summarised_and_ours_left_out() {
        let listing = r#"{"nftables":[
            {"metainfo":{"version":"1.0.6"}},
            {"table":{"family":"inet","name":"portcullis","handle":1}},
            {"chain":{"family":"inet","table":"portcullis","name":"input","hook":"input","policy":"drop"}},
            {"rule":{"family":"inet","table":"portcullis","chain":"input","expr":[]}},
            {"table":{"family":"ip","name":"filter","handle":2}},
            {"chain":{"family":"ip","table":"filter","name":"INPUT","hook":"input","policy":"accept"}},
            {"chain":{"family":"ip","table":"filter","name":"DOCKER"}},
            {"rule":{"family":"ip","table":"filter","chain":"INPUT","expr":[]}},
            {"rule":{"family":"ip","table":"filter","chain":"INPUT","expr":[]}},
            {"table":{"family":"inet","name":"other","handle":3}}
        ]}"#;
        let tables = other_tables(listing, "portcullis");
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].name, "filter");
        assert!(tables[0].filters_input());
        assert_eq!(tables[0].chains[0].rules, 2);
        assert_eq!(tables[0].chains[1].hook, None);
        assert_eq!(tables[1].name, "other");
        assert!(!tables[1].filters_input());
    }
}
