//! Our table read from each tick's ruleset listing. The typed objects (and the rules'
//! text) are built only when the listing's structure changed; on the usual tick, when only
//! counters moved, the last reading is kept and its counters are updated from a skim of
//! the listing. Pure: the caller runs nft.

use std::sync::Arc;

use crate::app::observation::{OtherTable, RulesState};
use crate::nft::counters::{live_rules, structure_of};
use crate::nft::live;
use crate::nft::skim::skim;
use crate::nft::tables::other_tables;

pub struct RulesetReader {
    table: String,
    /// The last full reading and the structure it was made from.
    last: Option<(u64, RulesState, Vec<OtherTable>)>,
}

impl RulesetReader {
    pub fn new(table: impl Into<String>) -> Self {
        RulesetReader {
            table: table.into(),
            last: None,
        }
    }

    /// Our table and the other tables in `listing` (`nft -t -j list ruleset`).
    pub fn read(&mut self, listing: &str) -> (RulesState, Vec<OtherTable>) {
        let Ok(quick) = skim(listing, &self.table) else {
            // Not what we expected; the full reading says why.
            self.last = None;
            return self.read_fully(listing, None);
        };
        if let Some((structure, state, others)) = &mut self.last
            && *structure == quick.structure
            && update_counters(state, &quick.counters)
        {
            return (state.clone(), others.clone());
        }
        let (state, others) = self.read_fully(listing, Some(quick.structure));
        self.last = matches!(state, RulesState::Table { .. } | RulesState::NoTable)
            .then(|| (quick.structure, state.clone(), others.clone()));
        (state, others)
    }

    fn read_fully(&self, listing: &str, structure: Option<u64>) -> (RulesState, Vec<OtherTable>) {
        let doc = match live::parse(listing) {
            Ok(d) => d,
            Err(e) => return (RulesState::Unavailable(e.to_string()), Vec::new()),
        };
        let others = other_tables(&doc, &self.table);
        let state = match live::objects_of(&doc, &self.table) {
            Err(e) => RulesState::Unavailable(e.to_string()),
            Ok(objects) if !live::has_table(&objects) => RulesState::NoTable,
            Ok(objects) => {
                let rules = live_rules(&objects);
                RulesState::Table {
                    structure: structure.unwrap_or_else(|| structure_of(&rules)),
                    rules,
                    objects: Arc::from(objects),
                }
            }
        };
        (state, others)
    }
}

/// Puts the skimmed counters into the last reading's rules; false if they don't line up.
fn update_counters(state: &mut RulesState, counters: &[Option<crate::nft::skim::Counts>]) -> bool {
    match state {
        RulesState::NoTable => counters.is_empty(),
        RulesState::Table { rules, .. } if rules.len() == counters.len() => {
            for (rule, counts) in rules.iter_mut().zip(counters) {
                // A rule the full reading could not read keeps "no counter", as it had.
                if let (Some(_), Some(c)) = (rule.packets, counts) {
                    rule.packets = Some(c.packets);
                    rule.bytes = Some(c.bytes);
                }
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(packets: u64, port: u16) -> String {
        format!(
            r#"{{"nftables": [{{"metainfo": {{"version": "1.0.6"}}}},
{{"table": {{"family": "inet", "name": "portcullis", "handle": 1}}}},
{{"chain": {{"family": "inet", "table": "portcullis", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}}},
{{"rule": {{"family": "inet", "table": "portcullis", "chain": "input", "handle": 5, "comment": "service=ssh allow=any", "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": {port}}}}}, {{"counter": {{"packets": {packets}, "bytes": {}}}}}, {{"accept": null}}]}}}},
{{"table": {{"family": "ip", "name": "other", "handle": 2}}}}
]}}"#,
            packets * 40
        )
    }

    type Counters = Vec<(Option<u64>, Option<u64>)>;

    fn table(state: &RulesState) -> (&Arc<[live::LiveObject]>, Counters) {
        match state {
            RulesState::Table { objects, rules, .. } => (
                objects,
                rules.iter().map(|r| (r.packets, r.bytes)).collect(),
            ),
            other => panic!("expected a table, got {other:?}"),
        }
    }

    #[test]
    fn new_counters_reuse_the_objects_and_a_changed_rule_reads_them_again() {
        let mut reader = RulesetReader::new("portcullis");
        let (first, others) = reader.read(&listing(0, 22));
        assert_eq!(others.len(), 1);
        let (second, _) = reader.read(&listing(5, 22));
        let (third, _) = reader.read(&listing(5, 2222));
        assert_eq!(table(&first).1, vec![(Some(0), Some(0))]);
        assert_eq!(table(&second).1, vec![(Some(5), Some(200))]);
        assert!(Arc::ptr_eq(table(&first).0, table(&second).0));
        assert!(!Arc::ptr_eq(table(&second).0, table(&third).0));
        assert!(table(&third).1[0].0 == Some(5));
        let RulesState::Table { rules, .. } = &third else {
            unreachable!()
        };
        assert!(rules[0].rule.contains("2222"), "{}", rules[0].rule);
    }

    #[test]
    fn no_table_and_bad_output_are_told_apart() {
        let mut reader = RulesetReader::new("nosuch");
        assert!(matches!(
            reader.read(&listing(0, 22)).0,
            RulesState::NoTable
        ));
        assert!(matches!(
            reader.read(&listing(3, 22)).0,
            RulesState::NoTable
        ));
        assert!(matches!(
            reader.read("garbage").0,
            RulesState::Unavailable(_)
        ));
    }
}
