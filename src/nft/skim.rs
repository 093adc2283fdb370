//! A quick reading of a terse ruleset listing for the refresh tick: a fingerprint of its
//! structure (everything but the rules' counter values) and the counters of our table's
//! rules, in order. It borrows from the listing instead of building a JSON tree; at 1,000
//! rules, building the tree and the typed objects every second was most of the UI's idle
//! CPU, though all that changes between two ticks is usually the counters.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::live::LiveError;

/// What the tick needs from a listing when its structure has not changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skim {
    /// Equal for two listings that differ only in their rules' counter values.
    pub structure: u64,
    /// One entry per rule of `table inet OURS`, in listing order: its first anonymous
    /// counter, or None when it has none.
    pub counters: Vec<Option<Counts>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Counts {
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Deserialize)]
struct Listing<'a> {
    /// Each item is a one-entry object: `{"rule": {...}}`, `{"table": {...}}`, ...
    #[serde(borrow)]
    nftables: Vec<BTreeMap<Cow<'a, str>, &'a RawValue>>,
}

#[derive(Deserialize)]
struct RuleHead<'a> {
    #[serde(borrow)]
    family: Cow<'a, str>,
    #[serde(borrow)]
    table: Cow<'a, str>,
    #[serde(borrow, default)]
    expr: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct CounterStatement {
    counter: Counts,
}

/// Skims a terse JSON listing (`nft -t -j list ruleset`) for `table inet OURS`.
pub fn skim(listing: &str, ours: &str) -> Result<Skim, LiveError> {
    let doc: Listing<'_> = serde_json::from_str(listing).map_err(|e| {
        if e.is_data() {
            LiveError::Shape
        } else {
            LiveError::Json(e)
        }
    })?;
    let mut hash = DefaultHasher::new();
    let mut counters = Vec::new();
    for item in &doc.nftables {
        for (kind, body) in item {
            kind.hash(&mut hash);
            if kind != "rule" {
                body.get().hash(&mut hash);
                continue;
            }
            let rule: RuleHead<'_> = serde_json::from_str(body.get())?;
            // The rule's text with its counter statements cut out; the statements are
            // slices of the body, so their offsets in it are where to cut.
            let text = body.get();
            let mut from = 0;
            let mut first = None;
            for statement in &rule.expr {
                // Most statements are not counters; a look at the key spares parsing them.
                let is_counter = statement
                    .get()
                    .trim_start_matches(|c: char| c == '{' || c.is_ascii_whitespace())
                    .starts_with("\"counter\"");
                let Some(CounterStatement { counter }) = is_counter
                    .then(|| serde_json::from_str(statement.get()).ok())
                    .flatten()
                else {
                    continue;
                };
                let start = statement.get().as_ptr() as usize - text.as_ptr() as usize;
                text[from..start].hash(&mut hash);
                from = start + statement.get().len();
                first.get_or_insert(counter);
            }
            text[from..].hash(&mut hash);
            if rule.family == "inet" && rule.table == ours {
                counters.push(first);
            }
        }
    }
    Ok(Skim {
        structure: hash.finish(),
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(ssh_packets: u64, other_packets: u64, ssh_port: u16) -> String {
        format!(
            r#"{{"nftables": [{{"metainfo": {{"version": "1.0.6", "json_schema_version": 1}}}},
{{"table": {{"family": "inet", "name": "portcullis", "handle": 1}}}},
{{"chain": {{"family": "inet", "table": "portcullis", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}}},
{{"rule": {{"family": "inet", "table": "portcullis", "chain": "input", "handle": 4, "expr": [{{"match": {{"op": "==", "left": {{"ct": {{"key": "state"}}}}, "right": ["established", "related"]}}}}, {{"accept": null}}]}}}},
{{"rule": {{"family": "inet", "table": "portcullis", "chain": "input", "handle": 5, "comment": "service=ssh allow=any", "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": {ssh_port}}}}}, {{"counter": {{"packets": {ssh_packets}, "bytes": {}}}}}, {{"accept": null}}]}}}},
{{"table": {{"family": "ip", "name": "docker", "handle": 2}}}},
{{"chain": {{"family": "ip", "table": "docker", "name": "in", "handle": 1}}}},
{{"rule": {{"family": "ip", "table": "docker", "chain": "in", "handle": 2, "expr": [{{"counter": {{"packets": {other_packets}, "bytes": 0}}}}, {{"accept": null}}]}}}}
]}}"#,
            ssh_packets * 60
        )
    }

    #[test]
    fn counters_of_our_rules_come_in_order_with_none_for_a_rule_without_one() {
        let s = skim(&listing(7, 3, 22), "portcullis").unwrap();
        assert_eq!(
            s.counters,
            vec![
                None,
                Some(Counts {
                    packets: 7,
                    bytes: 420
                })
            ]
        );
    }

    #[test]
    fn the_structure_ignores_counter_values_anywhere_but_not_a_changed_rule() {
        let base = skim(&listing(0, 0, 22), "portcullis").unwrap().structure;
        assert_eq!(
            skim(&listing(12, 99, 22), "portcullis").unwrap().structure,
            base
        );
        assert_ne!(
            skim(&listing(0, 0, 2222), "portcullis").unwrap().structure,
            base
        );
        let renamed = listing(0, 0, 22).replace("allow=any", "allow=admin");
        assert_ne!(skim(&renamed, "portcullis").unwrap().structure, base);
    }

    #[test]
    fn another_table_name_sees_only_that_tables_rules() {
        assert_eq!(skim(&listing(1, 1, 22), "docker").unwrap().counters, vec![]);
        assert_eq!(skim(&listing(1, 1, 22), "nosuch").unwrap().counters, vec![]);
    }

    #[test]
    fn the_counters_agree_with_the_full_reading() {
        let text = listing(5, 1, 22);
        let objects = super::super::live::table_objects(&text, "portcullis").unwrap();
        let full: Vec<Option<u64>> = super::super::counters::live_rules(&objects)
            .iter()
            .map(|r| r.packets)
            .collect();
        let quick: Vec<Option<u64>> = skim(&text, "portcullis")
            .unwrap()
            .counters
            .iter()
            .map(|c| c.map(|c| c.packets))
            .collect();
        assert_eq!(quick, full);
    }

    #[test]
    fn a_listing_that_is_not_nft_json_is_an_error() {
        assert!(skim("{}", "portcullis").is_err());
        assert!(skim("not json", "portcullis").is_err());
    }
}
