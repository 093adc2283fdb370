//! What an edit changes, in the operator's terms: services and networks added, removed or
//! changed (and how), addresses added to and removed from networks and sets, rules added
//! and removed, settings changed. The TUI's diff screen shows it above the nft text diff.
//! Pure: two policies in, a list of changes out.

use std::collections::{BTreeMap, BTreeSet};

use nftables::schema::NfListObject;

use super::rule_changes;
use crate::nft::live::LiveObject;
use crate::nft::{CompiledTable, compile};
use crate::policy::keys::{FieldKey, ServiceKey};
use crate::policy::{Block, Direction, Policy, Service, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    ServiceAdded {
        name: String,
        summary: String,
    },
    ServiceRemoved {
        name: String,
    },
    /// Each detail reads `ports: 22/tcp → 22/tcp, 2222/tcp`.
    ServiceChanged {
        name: String,
        details: Vec<String>,
    },
    BlockAdded {
        name: String,
        summary: String,
    },
    BlockRemoved {
        name: String,
    },
    /// Each detail reads `action: drop → reject`.
    BlockChanged {
        name: String,
        details: Vec<String>,
    },
    NetworkAdded {
        name: String,
        entries: usize,
    },
    NetworkRemoved {
        name: String,
    },
    NetworkChanged {
        name: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
    Setting {
        name: &'static str,
        from: String,
        to: String,
    },
    /// Rules of the compiled table, compared as nft text within their chain.
    Rules {
        added: usize,
        removed: usize,
    },
    /// Elements of one named set of the compiled table.
    SetElements {
        set: String,
        added: usize,
        removed: usize,
    },
}

impl Change {
    /// One line for the diff screen, starting with `+`, `-` or `~`.
    pub fn line(&self) -> String {
        match self {
            Change::ServiceAdded { name, summary } => format!("+ service {name}: {summary}"),
            Change::ServiceRemoved { name } => format!("- service {name}"),
            Change::ServiceChanged { name, details } => {
                format!("~ service {name}: {}", details.join("; "))
            }
            Change::BlockAdded { name, summary } => format!("+ block {name}: {summary}"),
            Change::BlockRemoved { name } => format!("- block {name}"),
            Change::BlockChanged { name, details } => {
                format!("~ block {name}: {}", details.join("; "))
            }
            Change::NetworkAdded { name, entries } => {
                format!(
                    "+ network {name}: {entries} {}",
                    plural(*entries, "entry", "entries")
                )
            }
            Change::NetworkRemoved { name } => format!("- network {name}"),
            Change::NetworkChanged {
                name,
                added,
                removed,
            } => format!(
                "~ network {name}: {}",
                [("+", added), ("-", removed)]
                    .iter()
                    .filter(|(_, list)| !list.is_empty())
                    .map(|(sign, list)| format!("{sign}{}", abbreviate(list)))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Change::Setting { name, from, to } => format!("~ settings.{name}: {from} → {to}"),
            Change::Rules { added, removed } => {
                format!("~ rules: {added} added, {removed} removed")
            }
            Change::SetElements {
                set,
                added,
                removed,
            } => format!("~ set {set}: {added} elements added, {removed} removed"),
        }
    }
}

/// The changes from `old` to `new`, services and networks first, then the compiled table.
pub fn policy_changes(old: &Policy, new: &Policy) -> Vec<Change> {
    let mut changes = Vec::new();
    settings(old, new, &mut changes);
    for (name, network) in &new.networks {
        let now: BTreeSet<String> = network.entries.iter().map(|n| n.to_string()).collect();
        match old.networks.get(name) {
            None => changes.push(Change::NetworkAdded {
                name: name.clone(),
                entries: now.len(),
            }),
            Some(before) => {
                let was: BTreeSet<String> = before.entries.iter().map(|n| n.to_string()).collect();
                if was != now {
                    changes.push(Change::NetworkChanged {
                        name: name.clone(),
                        added: now.difference(&was).cloned().collect(),
                        removed: was.difference(&now).cloned().collect(),
                    });
                }
            }
        }
    }
    for name in old
        .networks
        .keys()
        .filter(|n| !new.networks.contains_key(*n))
    {
        changes.push(Change::NetworkRemoved { name: name.clone() });
    }
    for (name, service) in &new.services {
        match old.services.get(name) {
            None => changes.push(Change::ServiceAdded {
                name: name.clone(),
                summary: summary(service),
            }),
            Some(before) if before != service => changes.push(Change::ServiceChanged {
                name: name.clone(),
                details: details(before, service),
            }),
            Some(_) => {}
        }
    }
    for name in old
        .services
        .keys()
        .filter(|n| !new.services.contains_key(*n))
    {
        changes.push(Change::ServiceRemoved { name: name.clone() });
    }
    for (name, block) in &new.blocks {
        match old.blocks.get(name) {
            None => changes.push(Change::BlockAdded {
                name: name.clone(),
                summary: block_summary(block),
            }),
            Some(before) if before != block => changes.push(Change::BlockChanged {
                name: name.clone(),
                details: block_details(before, block),
            }),
            Some(_) => {}
        }
    }
    for name in old.blocks.keys().filter(|n| !new.blocks.contains_key(*n)) {
        changes.push(Change::BlockRemoved { name: name.clone() });
    }
    let (before, after) = (compile(old), compile(new));
    let as_live: Vec<LiveObject> = before
        .objects
        .iter()
        .cloned()
        .map(LiveObject::Known)
        .collect();
    let (added, removed) = rule_changes(&after, &as_live);
    if added + removed > 0 {
        changes.push(Change::Rules { added, removed });
    }
    changes.extend(set_changes(&before, &after));
    changes
}

fn settings(old: &Policy, new: &Policy, changes: &mut Vec<Change>) {
    let (a, b) = (&old.settings, &new.settings);
    let pairs: [(&'static str, String, String); 6] = [
        ("table", a.table.clone(), b.table.clone()),
        (
            "input_policy",
            a.input_policy.as_str().into(),
            b.input_policy.as_str().into(),
        ),
        (
            "output_policy",
            a.output_policy.as_str().into(),
            b.output_policy.as_str().into(),
        ),
        (
            "allow_ping",
            a.allow_ping.to_string(),
            b.allow_ping.to_string(),
        ),
        (
            "confirm_timeout",
            format!("{}s", a.confirm_timeout.as_secs()),
            format!("{}s", b.confirm_timeout.as_secs()),
        ),
        ("drop_log", drop_log(&a.drop_log), drop_log(&b.drop_log)),
    ];
    for (name, from, to) in pairs {
        if from != to {
            changes.push(Change::Setting { name, from, to });
        }
    }
}

fn drop_log(log: &crate::policy::DropLog) -> String {
    if log.enabled {
        format!(
            "group {}, {}/second burst {}",
            log.group, log.rate, log.burst
        )
    } else {
        "off".to_string()
    }
}

fn summary(s: &Service) -> String {
    let mut text = format!("{} from {}", ports(s), allow(s));
    if !s.interfaces.is_empty() {
        text.push_str(&format!(" via {}", s.interfaces.join(", ")));
    }
    if !s.on.is_empty() {
        text.push_str(&format!(" on {}", labels(&s.on)));
    }
    if let Some(l) = &s.limit {
        text.push_str(&format!(", at most {} per source", l.label()));
    }
    match s.direction {
        Direction::In => {}
        Direction::Out => text.push_str(" (outbound)"),
        Direction::Both => text.push_str(" (in and out)"),
    }
    text
}

fn details(a: &Service, b: &Service) -> Vec<String> {
    // Every key of a service, its description last (the least of a change).
    let keys = ServiceKey::ALL
        .into_iter()
        .filter(|k| *k != ServiceKey::Description)
        .chain([ServiceKey::Description]);
    let fields: Vec<(&str, String, String)> = keys
        .map(|k| (k.name(), service_value(a, k), service_value(b, k)))
        .collect();
    changed_fields(fields)
}

/// One key of a validated service, as the diff's details print it.
fn service_value(s: &Service, key: ServiceKey) -> String {
    match key {
        ServiceKey::Description => s.description.clone().unwrap_or_default(),
        ServiceKey::Ports => ports(s),
        ServiceKey::Allow => allow(s),
        ServiceKey::Interfaces => s.interfaces.join(", "),
        ServiceKey::Direction => s.direction.as_str().to_string(),
        ServiceKey::On => labels(&s.on),
        ServiceKey::Limit => limit(s),
        // Part of the limit's label.
        ServiceKey::Burst => String::new(),
    }
}

fn limit(s: &Service) -> String {
    s.limit.map(|l| l.label()).unwrap_or_default()
}

fn ports(s: &Service) -> String {
    range_list(&s.ports)
}

fn range_list(ports: &[crate::policy::PortRange]) -> String {
    ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `reject 198.51.100.0/24 on every port (outbound)`.
fn block_summary(b: &Block) -> String {
    let mut text = format!(
        "{} {} on {}",
        b.action.as_str(),
        labels(&b.from),
        block_ports(b)
    );
    match b.direction {
        Direction::In => {}
        Direction::Out => text.push_str(" (outbound)"),
        Direction::Both => text.push_str(" (in and out)"),
    }
    text
}

fn block_ports(b: &Block) -> String {
    if b.ports.is_empty() {
        return "every port".to_string();
    }
    range_list(&b.ports)
}

fn block_details(a: &Block, b: &Block) -> Vec<String> {
    let fields = [
        ("from", labels(&a.from), labels(&b.from)),
        ("ports", block_ports(a), block_ports(b)),
        (
            "action",
            a.action.as_str().to_string(),
            b.action.as_str().to_string(),
        ),
        (
            "direction",
            a.direction.as_str().to_string(),
            b.direction.as_str().to_string(),
        ),
        (
            "description",
            a.description.clone().unwrap_or_default(),
            b.description.clone().unwrap_or_default(),
        ),
    ];
    changed_fields(fields)
}

/// `name: before → after` for each field that differs.
fn changed_fields<'a>(fields: impl IntoIterator<Item = (&'a str, String, String)>) -> Vec<String> {
    fields
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(name, x, y)| format!("{name}: {} → {}", or_none(&x), or_none(&y)))
        .collect()
}

fn allow(s: &Service) -> String {
    labels(&s.allow)
}

/// Sources as the policy writes them, comma-separated.
fn labels(sources: &[Source]) -> String {
    sources
        .iter()
        .map(Source::label)
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "(none)" } else { text }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The first few of a long list, and how many more.
fn abbreviate(list: &[String]) -> String {
    const SHOWN: usize = 3;
    let head = list
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > SHOWN {
        format!("{head} and {} more", list.len() - SHOWN)
    } else {
        head
    }
}

/// Elements added to and removed from each named set (compared as nft's JSON).
fn set_changes(before: &CompiledTable, after: &CompiledTable) -> Vec<Change> {
    fn sets(t: &CompiledTable) -> BTreeMap<String, BTreeSet<String>> {
        t.objects
            .iter()
            .filter_map(|o| match o {
                NfListObject::Set(s) => Some((
                    s.name.to_string(),
                    s.elem
                        .iter()
                        .flat_map(|e| e.iter())
                        .map(|e| serde_json::to_string(e).unwrap_or_default())
                        .collect(),
                )),
                _ => None,
            })
            .collect()
    }
    let (old, new) = (sets(before), sets(after));
    let empty = BTreeSet::new();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (a, b) = (
                old.get(name).unwrap_or(&empty),
                new.get(name).unwrap_or(&empty),
            );
            let added = b.difference(a).count();
            let removed = a.difference(b).count();
            (added + removed > 0).then(|| Change::SetElements {
                set: name.clone(),
                added,
                removed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse;

    const BEFORE: &str = "[networks]\nadmin = [\"10.8.0.0/24\", \"192.0.2.10\"]\nold = [\"198.51.100.0/24\"]\n\n\
        [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"admin\"]\n\n\
        [services.legacy]\nports = [\"23/tcp\"]\nallow = [\"old\"]\n";

    const AFTER: &str = "[settings]\nallow_ping = false\n\n\
        [networks]\nadmin = [\"10.8.0.0/24\", \"203.0.113.0/24\"]\n\n\
        [services.ssh]\nports = [\"22/tcp\", \"2222/tcp\"]\nallow = [\"admin\"]\n\n\
        [services.web]\nports = [\"443/tcp\"]\nallow = [\"any\"]\n";

    #[test]
    fn every_kind_of_change_is_named_in_policy_terms() {
        let (a, b) = (parse(BEFORE).unwrap(), parse(AFTER).unwrap());
        let lines: Vec<String> = policy_changes(&a, &b).iter().map(Change::line).collect();
        let text = lines.join("\n");
        for expected in [
            "~ settings.allow_ping: true → false",
            "~ network admin: +203.0.113.0/24 -192.0.2.10/32",
            "- network old",
            "~ service ssh: ports: 22/tcp → 22/tcp, 2222/tcp",
            "+ service web: 443/tcp from any",
            "- service legacy",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "missing {expected:?} in:\n{text}"
            );
        }
        assert!(lines.iter().any(|l| l.starts_with("~ rules: ")), "{text}");
        assert!(lines.iter().any(|l| l.starts_with("~ set ")), "{text}");
    }

    #[test]
    fn blocks_are_named_in_policy_terms() {
        let base = "[blocks.quiet]\nfrom = [\"192.0.2.0/24\"]\n";
        let a = parse(base).unwrap();
        let b = parse(
            "[blocks.quiet]\nfrom = [\"192.0.2.0/24\"]\naction = \"reject\"\n\
             [blocks.scanners]\nfrom = [\"198.51.100.0/24\"]\nports = [\"22/tcp\"]\n",
        )
        .unwrap();
        let lines: Vec<String> = policy_changes(&a, &b).iter().map(Change::line).collect();
        assert!(
            lines.contains(&"~ block quiet: action: drop → reject".to_string()),
            "{lines:#?}"
        );
        assert!(
            lines.contains(&"+ block scanners: drop 198.51.100.0/24 on 22/tcp".to_string()),
            "{lines:#?}"
        );
        let back: Vec<String> = policy_changes(&b, &a).iter().map(Change::line).collect();
        assert!(back.contains(&"- block scanners".to_string()), "{back:#?}");
    }

    #[test]
    fn the_same_policy_has_no_changes() {
        let a = parse(BEFORE).unwrap();
        assert_eq!(policy_changes(&a, &a), vec![]);
    }

    #[test]
    fn long_address_lists_are_abbreviated() {
        let list: Vec<String> = (1..=5).map(|i| format!("10.0.0.{i}/32")).collect();
        assert_eq!(
            abbreviate(&list),
            "10.0.0.1/32, 10.0.0.2/32, 10.0.0.3/32 and 2 more"
        );
    }
}
