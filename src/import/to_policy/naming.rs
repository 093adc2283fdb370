//! The names of imported services and blocks: from the operator (an application profile,
//! a comment), else from /etc/services, a port or an address; valid and unique. Pure.

use super::networks::address;
use super::*;
use crate::policy::validate_object_name;

/// The name of the service (or block) a rule makes: the operator's (an application
/// profile's, or the comment), else one made from the port or the address.
pub(super) fn item_name(rule: &Rule, ports: &Ports, limit: bool, names: &dyn Names) -> String {
    let from_operator = rule.dapp.as_deref().or(rule.comment.as_deref());
    let (mut base, by_operator) = match from_operator.map(slug).filter(|s| !s.is_empty()) {
        Some(s) => (s, true),
        None => (port_name(rule, ports, names), false),
    };
    if rule.action.refuses() {
        let peer = match rule.direction {
            Direction::In => rule.src,
            Direction::Out => rule.dst,
        };
        if !by_operator {
            // Named after its sources once blocks have merged (`name_by_peers`).
            base = match peer {
                Addr::Net(_) => format!("{}{PEER_NAMED}", rule.action.as_str()),
                Addr::Any => format!("{}-{base}", rule.action.as_str()),
            };
        }
    } else if limit && !by_operator {
        base.push_str("-limited");
    }
    if rule.direction == Direction::Out && !by_operator {
        base.push_str("-out");
    }
    if base.contains(PEER_NAMED) {
        return base;
    }
    valid_name(base)
}

/// The mark of a block name still to be completed from its sources.
pub(super) const PEER_NAMED: &str = "@";

/// Completes the names of blocks named after their sources: `deny-10-30-0-66` for one,
/// `denied` (`rejected`) for several.
pub(super) fn name_by_peers(blocks: &mut [Item]) {
    for b in blocks {
        let Some(at) = b.name.find(PEER_NAMED) else {
            continue;
        };
        let rest = b.name[at + PEER_NAMED.len()..].to_string();
        b.name = match b.peers.as_slice() {
            [Peer::Net(n)] => valid_name(format!("{}-{}{rest}", &b.name[..at], slug(&address(*n)))),
            _ => match b.action {
                Action::Reject => format!("rejected{rest}"),
                _ => format!("denied{rest}"),
            },
        };
    }
}

/// /etc/services' name of the first port, else `port-N` (`ports-N-M`, `all-ports`).
pub(super) fn port_name(rule: &Rule, ports: &Ports, names: &dyn Names) -> String {
    let Some((&(first, last), &(tcp, _))) = ports.iter().next() else {
        return "all-ports".into();
    };
    if (first, last) == (1, 65535) && rule.dport.is_none() {
        return "all-ports".into();
    }
    if first == last {
        if let Some(n) = names.service_name(first, tcp) {
            return n;
        }
        return format!("port-{first}");
    }
    format!("ports-{first}-{last}")
}

/// Lower case, letters, digits and `-`, as a policy name: `Apache Full` → `apache-full`.
pub(super) fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A name the policy accepts: starts with a letter, at most 32 bytes, not an nft keyword.
pub(super) fn valid_name(mut name: String) -> String {
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "svc-");
    }
    name.truncate(28);
    let name = name.trim_end_matches('-').to_string();
    if validate_object_name("service", &name).is_err() {
        return format!("svc-{name}").chars().take(28).collect();
    }
    name
}

/// Gives every item a name of its own (`ssh`, `ssh-2`).
pub(super) fn unique_names(mut items: Vec<Item>) -> Vec<Item> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for item in &mut items {
        let n = seen.entry(item.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            item.name = format!("{}-{}", item.name, n);
        }
    }
    items
}
