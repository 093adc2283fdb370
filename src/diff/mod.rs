//! Diffs of nft text, and the live-table-vs-policy comparison that `portcullis diff` and the
//! UI's diff screen show. Pure: the live objects come in already read.

mod policy;

pub use policy::{Change, policy_changes};

use nftables::schema::NfListObject;
use similar::TextDiff;

use crate::nft::CompiledTable;
use crate::nft::counters::service_of;
use crate::nft::live::{LiveObject, normalize, without_elements};
use crate::nft::render::{self, RenderOptions};

/// A unified diff from `old` to `new`, or an empty string if they are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// The live table against the compiled policy, both in the same canonical text; empty when
/// they mean the same. `live` is empty when the table does not exist.
pub fn live_vs_policy(compiled: &CompiledTable, live: &[LiveObject], policy_name: &str) -> String {
    // A set with the same elements on both sides shows no line of the diff; leaving its
    // elements out of both texts spares rendering and diffing 100,000 equal lines.
    let same = |name: &str, elem: &Option<_>| {
        live.iter().any(|o| {
            matches!(o, LiveObject::Known(NfListObject::Set(s)) if s.name == name && s.elem == *elem)
        })
    };
    let unchanged: Vec<String> = compiled
        .objects
        .iter()
        .filter_map(|o| match o {
            NfListObject::Set(s) if s.elem.is_some() && same(&s.name, &s.elem) => {
                Some(s.name.to_string())
            }
            _ => None,
        })
        .collect();
    let strip = |o: &NfListObject<'static>| -> NfListObject<'static> {
        match o {
            NfListObject::Set(s) if unchanged.iter().any(|n| *n == s.name) => {
                NfListObject::Set(Box::new(without_elements(s)))
            }
            other => other.clone(),
        }
    };
    let wanted: Vec<NfListObject<'static>> = compiled
        .objects
        .iter()
        .map(|o| normalize(&strip(o)))
        .collect();
    let proposed = render::table(&compiled.name, &wanted, RenderOptions::default());
    let (current, live_name) = if live.is_empty() {
        (
            String::new(),
            format!("live: table inet {} (absent)", compiled.name),
        )
    } else {
        let live: Vec<LiveObject> = live
            .iter()
            .map(|o| match o {
                LiveObject::Known(k) => LiveObject::Known(strip(k)),
                other => other.clone(),
            })
            .collect();
        (
            canonical_text(&compiled.name, &live),
            format!("live: table inet {}", compiled.name),
        )
    };
    unified(
        &current,
        &proposed,
        &live_name,
        &format!("policy: {policy_name}"),
    )
}

/// How many rules the policy adds to and removes from the live table (each rule counted
/// once per occurrence, compared in canonical text within its chain). Works on a terse
/// listing too, since rules never carry the elements of named sets.
pub fn rule_changes(compiled: &CompiledTable, live: &[LiveObject]) -> (usize, usize) {
    // Only rules are normalised: sets can hold 100,000 elements and are not counted here.
    fn keyed<'a>(objects: impl Iterator<Item = &'a NfListObject<'static>>) -> Vec<String> {
        let mut rules: Vec<String> = objects
            .filter(|o| matches!(o, NfListObject::Rule(_)))
            .filter_map(|o| match normalize(o) {
                NfListObject::Rule(r) => Some(format!(
                    "{} {}",
                    r.chain,
                    render::rule(&r, RenderOptions::default())
                )),
                _ => None,
            })
            .collect();
        rules.sort();
        rules
    }
    let wanted = keyed(compiled.objects.iter());
    let current = keyed(live.iter().filter_map(|o| match o {
        LiveObject::Known(k) => Some(k),
        LiveObject::Unknown { .. } => None,
    }));
    let mut added = 0;
    let mut removed = 0;
    let (mut i, mut j) = (0, 0);
    while i < wanted.len() || j < current.len() {
        match (wanted.get(i), current.get(j)) {
            (Some(w), Some(c)) if w == c => {
                i += 1;
                j += 1;
            }
            (Some(w), Some(c)) if w < c => {
                added += 1;
                i += 1;
            }
            (Some(_), None) => {
                added += 1;
                i += 1;
            }
            _ => {
                removed += 1;
                j += 1;
            }
        }
    }
    // Rules portcullis cannot read are removed by a replace too.
    let unknown_rules = live
        .iter()
        .filter(|o| matches!(o, LiveObject::Unknown { kind, .. } if kind == "rule"))
        .count();
    (added, removed + unknown_rules)
}

/// The services whose rules the policy adds or changes against the live table (their
/// rules' canonical text differs, within their chain), by the `service=NAME` comment.
pub fn changed_services(compiled: &CompiledTable, live: &[LiveObject]) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    fn by_service<'a>(
        objects: impl Iterator<Item = &'a NfListObject<'static>>,
    ) -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for o in objects {
            let NfListObject::Rule(r) = normalize(o) else {
                continue;
            };
            let Some(name) = r.comment.as_deref().and_then(service_of) else {
                continue;
            };
            let text = format!("{} {}", r.chain, render::rule(&r, RenderOptions::default()));
            map.entry(name).or_default().insert(text);
        }
        map
    }
    let wanted = by_service(compiled.objects.iter());
    let current = by_service(live.iter().filter_map(|o| match o {
        LiveObject::Known(k) => Some(k),
        LiveObject::Unknown { .. } => None,
    }));
    wanted
        .into_iter()
        .filter(|(name, rules)| current.get(name) != Some(rules))
        .map(|(name, _)| name)
        .collect()
}

/// A live table as canonical text; objects portcullis cannot read are listed at the end so
/// that they show in a diff instead of vanishing.
pub fn canonical_text(table: &str, live: &[LiveObject]) -> String {
    let known: Vec<NfListObject<'static>> = live
        .iter()
        .filter_map(|o| match o {
            LiveObject::Known(k) => Some(normalize(k)),
            LiveObject::Unknown { .. } => None,
        })
        .collect();
    let mut text = render::table(table, &known, RenderOptions::default());
    for o in live {
        if let LiveObject::Unknown { kind, json } = o {
            text.push_str(&format!("# {kind} not understood by portcullis: {json}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nft::compile;
    use crate::policy;

    fn compiled(text: &str) -> CompiledTable {
        compile(&policy::parse(text).expect("valid policy"))
    }

    const POLICY: &str = "[networks]\nadmin = [\"192.0.2.0/25\", \"192.0.2.128/25\"]\n\n\
                          [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"admin\"]\n";

    fn as_live(c: &CompiledTable) -> Vec<LiveObject> {
        c.objects.iter().cloned().map(LiveObject::Known).collect()
    }

    #[test]
    fn rule_changes_count_added_and_removed_rules() {
        let c = compiled(POLICY);
        assert_eq!(rule_changes(&c, &as_live(&c)), (0, 0));
        let all = c.rule_count();
        assert_eq!(rule_changes(&c, &[]), (all, 0));
        let live = compiled(&POLICY.replace("22/tcp", "2222/tcp"));
        assert_eq!(rule_changes(&c, &as_live(&live)), (1, 1));
    }

    #[test]
    fn changed_services_are_those_whose_rules_differ() {
        let c = compiled(POLICY);
        assert_eq!(changed_services(&c, &as_live(&c)), Vec::<String>::new());
        assert_eq!(changed_services(&c, &[]), vec!["ssh".to_string()]);
        let live = compiled(&POLICY.replace("22/tcp", "2222/tcp"));
        assert_eq!(
            changed_services(&c, &as_live(&live)),
            vec!["ssh".to_string()]
        );
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\n", "a\n", "x", "y"), "");
    }

    #[test]
    fn changed_lines_are_marked() {
        let d = unified("a\nb\n", "a\nc\n", "live", "policy");
        assert!(d.starts_with("--- live\n+++ policy\n"), "{d}");
        assert!(d.contains("-b\n") && d.contains("+c\n"), "{d}");
    }

    #[test]
    fn a_table_matches_its_own_policy() {
        let c = compiled(POLICY);
        assert_eq!(live_vs_policy(&c, &as_live(&c), "p.toml"), "");
    }

    #[test]
    fn an_absent_table_shows_everything_as_added() {
        let d = live_vs_policy(&compiled(POLICY), &[], "p.toml");
        assert!(
            d.contains("(absent)") && d.contains("+table inet portcullis {"),
            "{d}"
        );
    }

    #[test]
    fn a_different_live_table_shows_the_difference() {
        let live = compiled(&POLICY.replace("22/tcp", "2222/tcp"));
        let d = live_vs_policy(&compiled(POLICY), &as_live(&live), "p.toml");
        assert!(
            d.contains("-\t\tip saddr @net_admin_v4 tcp dport 2222"),
            "{d}"
        );
        assert!(
            d.contains("+\t\tip saddr @net_admin_v4 tcp dport 22 "),
            "{d}"
        );
    }

    #[test]
    fn unreadable_live_objects_are_shown_not_hidden() {
        let c = compiled(POLICY);
        let mut live = as_live(&c);
        live.push(LiveObject::Unknown {
            kind: "rule".into(),
            json: serde_json::json!({"chain": "input", "expr": [{"xt": null}]}),
        });
        let d = live_vs_policy(&c, &live, "p.toml");
        assert!(d.contains("-# rule not understood by portcullis"), "{d}");
    }
}
