//! The other tables in a listing (Docker's, firewalld's, a hand-written one), summarised
//! read-only: their chains, hooks, policies and rule counts. The terminal UI lists them,
//! and both front ends warn when one also filters the input hook.

use serde_json::Value;

/// A table that is not ours, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherTable {
    pub family: String,
    pub name: String,
    pub chains: Vec<OtherChain>,
}

impl OtherTable {
    /// Whether one of its base chains filters the input hook, as ours does.
    pub fn filters_input(&self) -> bool {
        self.chains
            .iter()
            .any(|c| c.hook.as_deref() == Some("input"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherChain {
    pub name: String,
    /// The hook of a base chain; None for a regular chain.
    pub hook: Option<String>,
    pub policy: Option<String>,
    pub rules: usize,
}

/// Every table but `inet OURS` in a parsed (terse) JSON listing, with its chains and rule counts.
pub fn other_tables(doc: &Value, ours: &str) -> Vec<OtherTable> {
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
        let doc = crate::nft::live::parse(listing).expect("listing");
        let tables = other_tables(&doc, "portcullis");
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].name, "filter");
        assert!(tables[0].filters_input());
        assert_eq!(tables[0].chains[0].rules, 2);
        assert_eq!(tables[0].chains[1].hook, None);
        assert_eq!(tables[1].name, "other");
        assert!(!tables[1].filters_input());
    }
}
