//! ufw's rules as a policy: allow and limit rules become services, deny and reject rules
//! blocks, the sources networks, ufw's default policies the settings. Pure.
//!
//! ufw decides by the first rule that matches; a policy's blocks come before every
//! service. So a deny that ufw reaches only after an allow it overlaps (the allow wins in
//! ufw) is not made a block — it would refuse what ufw lets through — and is listed at the
//! top instead, with the allows it would have overridden. Everything else that a policy
//! cannot say (routed rules, source ports, other protocols, a deny limited to an interface)
//! is listed there too; nothing is dropped silently.
//!
//! Rules merge into one service only where that means exactly the same thing: the same
//! name (from the application profile, the rule's comment, or /etc/services), the same
//! direction, interface and destination, and either the same ports (the sources are
//! joined) or the same sources (the ports are joined).

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::ufw::{Action, Addr, DefaultPolicy, Defaults, Direction, Names, Note, Proto, Rule};

mod naming;
mod networks;
mod order;
mod render;
#[cfg(test)]
mod tests;

use naming::{item_name, name_by_peers, unique_names};
use networks::Networks;
use order::{contains, note_later_allows, overlaps, ports_left};

/// The policy text, and how much of it came out.
#[derive(Debug, Clone)]
pub struct Imported {
    pub text: String,
    pub services: usize,
    pub blocks: usize,
    pub networks: usize,
    /// Rules and lines not imported (listed at the top of the text too).
    pub not_imported: usize,
}

/// One peer of a rule (its source inbound, its destination outbound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    AnyV4,
    AnyV6,
    Net(IpNet),
}

/// Port ranges and, for each, (tcp, udp). Empty: every port.
type Ports = BTreeMap<(u16, u16), (bool, bool)>;

#[derive(Debug, Clone)]
struct Item {
    name: String,
    direction: Direction,
    interface: Option<String>,
    local: Option<IpNet>,
    limit: bool,
    action: Action,
    ports: Ports,
    peers: Vec<Peer>,
    origins: Vec<String>,
    description: Option<String>,
}

impl Item {
    fn same_place(&self, other: &Item) -> bool {
        self.name == other.name
            && self.direction == other.direction
            && self.interface == other.interface
            && self.local == other.local
            && self.limit == other.limit
            && self.action == other.action
    }
}

/// Converts `rules` (in ufw's order) with `defaults` (None: not read) into policy TOML.
/// `read_notes` are the lines the readers could not read; `read_from` names the files.
pub fn to_policy(
    rules: &[Rule],
    defaults: Option<Defaults>,
    read_notes: &[Note],
    read_from: &[String],
    names: &dyn Names,
) -> Imported {
    let mut not_imported: Vec<String> = read_notes
        .iter()
        .map(|n| format!("{}: `{}`: {}", n.origin, n.text, n.why))
        .collect();
    let mut differs: Vec<String> = Vec::new();
    let mut services: Vec<Item> = Vec::new();
    let mut blocks: Vec<Item> = Vec::new();

    for (i, rule) in rules.iter().enumerate() {
        let skip = |why: &str| format!("{}: `{}`: {why}", rule.origin, rule.text);
        if rule.route {
            not_imported.push(skip(
                "a routed (forwarding) rule; portcullis manages this host's own input and \
                 output, not forwarding",
            ));
            continue;
        }
        if let Proto::Other(p) = &rule.proto {
            not_imported.push(skip(&format!(
                "protocol {p}: a policy's ports are TCP and UDP only"
            )));
            continue;
        }
        if rule.sport.is_some() || rule.sapp.is_some() {
            not_imported.push(skip("a policy cannot match source ports"));
            continue;
        }
        let (peer, local) = match rule.direction {
            Direction::In => (rule.src, rule.dst),
            Direction::Out => (rule.dst, rule.src),
        };
        if rule.action.refuses() {
            if rule.interface.is_some() || local != Addr::Any {
                not_imported.push(skip(
                    "a block cannot be limited to an interface or to one of this host's own \
                     addresses, and without that it would refuse more than ufw does",
                ));
                note_later_allows(rules, i, &mut not_imported);
                continue;
            }
            let earlier: Vec<&Rule> = rules[..i]
                .iter()
                .filter(|r| !r.action.refuses() && overlaps(r, rule))
                .collect();
            if !earlier.is_empty() {
                let origins: Vec<&str> = earlier.iter().map(|r| r.origin.as_str()).collect();
                let origins = origins.join(", ");
                // ufw lets those through first. Where they allow all of this rule's
                // sources, a block on the ports they leave says the same; otherwise
                // no block can.
                let peer_of = |r: &Rule| match r.direction {
                    Direction::In => r.src,
                    Direction::Out => r.dst,
                };
                let covered = earlier.iter().all(|r| {
                    contains(peer_of(r), peer)
                        && r.family.has_v4() >= rule.family.has_v4()
                        && r.family.has_v6() >= rule.family.has_v6()
                });
                let left = covered
                    .then(|| ports_left(rule, &earlier))
                    .filter(|p| !p.is_empty());
                match left {
                    Some(ports) => {
                        differs.push(format!(
                            "{}: ufw reaches this rule only after {origins}, which allow some \
                             of the same traffic first; the block leaves out the ports they \
                             allow, and refuses TCP and UDP only",
                            rule.origin
                        ));
                        merge_into(
                            &mut blocks,
                            item_of(rule, peer, Addr::Any, ports, false, names),
                        );
                    }
                    None => {
                        not_imported.push(skip(&format!(
                            "ufw lets through what {origins} allows before it reaches this \
                             rule, but a policy's blocks come before every service: as a \
                             block it would refuse that too. Add a block by hand if that is \
                             what you want"
                        )));
                        note_later_allows(rules, i, &mut not_imported);
                    }
                }
                continue;
            }
        }
        if rule.action.refuses() && rule.dport.is_none() && rule.direction == Direction::In {
            differs.push(format!(
                "{}: ufw still answers this rule's sources' pings (its before.rules accept \
                 ping before any rule); the block refuses them",
                rule.origin
            ));
        }
        if rule.log {
            differs.push(format!(
                "{}: ufw logs what this rule matches; portcullis logs only its default drops",
                rule.origin
            ));
        }
        let mut ports = Ports::new();
        let (tcp, udp) = match rule.proto {
            Proto::Tcp => (true, false),
            Proto::Udp => (false, true),
            _ => (true, true),
        };
        match &rule.dport {
            Some(list) => {
                for &(a, b) in list {
                    let e = ports.entry((a, b)).or_insert((false, false));
                    e.0 |= tcp;
                    e.1 |= udp;
                }
            }
            // A service needs ports: every TCP and UDP port. A block without ports refuses
            // every protocol, as ufw's rule does.
            None if !rule.action.refuses() => {
                ports.insert((1, 65535), (tcp, udp));
                if rule.proto == Proto::Any {
                    differs.push(format!(
                        "{}: ufw's rule allows every protocol; the service allows every TCP \
                         and UDP port (ICMP beyond ping, GRE, ESP… stay refused)",
                        rule.origin
                    ));
                }
            }
            None => {}
        }
        let limit = rule.action == Action::Limit && rule.direction == Direction::In;
        if rule.action == Action::Limit {
            differs.push(if limit {
                format!(
                    "{}: ufw's limit rejects a source's 6th new connection within 30 \
                     seconds; the service's limit (10/minute, burst 5) drops it",
                    rule.origin
                )
            } else {
                format!(
                    "{}: an outbound limit: a policy limits inbound connections only, so \
                     this service has none",
                    rule.origin
                )
            });
        }
        let item = item_of(rule, peer, local, ports, limit, names);
        let list = if rule.action.refuses() {
            &mut blocks
        } else {
            &mut services
        };
        merge_into(list, item);
    }

    name_by_peers(&mut blocks);
    let services = unique_names(services);
    let blocks = unique_names(blocks);
    let networks = Networks::of(&services, &blocks);

    let d = defaults.unwrap_or_default();
    default_notes(defaults.is_some(), &d, &mut differs);
    let text = render::policy_text(&render::Parts {
        read_from,
        not_imported: &not_imported,
        differs: &differs,
        defaults: &d,
        services: &services,
        blocks: &blocks,
        networks: &networks,
    });
    Imported {
        text,
        services: services.len(),
        blocks: blocks.len(),
        networks: networks.named.len(),
        not_imported: not_imported.len(),
    }
}

/// What ufw's defaults do that the policy cannot (`known`: they were read at all).
fn default_notes(defaults_known: bool, d: &Defaults, differs: &mut Vec<String>) {
    if !defaults_known {
        differs.push(
            "the default policies were not read: ufw's own defaults are assumed (deny \
             incoming, allow outgoing, deny routed)"
                .into(),
        );
    }
    for (what, policy) in [("incoming", d.incoming), ("outgoing", d.outgoing)] {
        if policy == DefaultPolicy::Reject {
            differs.push(format!(
                "ufw's default rejects {what} traffic; the policy's default drops it"
            ));
        }
    }
    if d.routed == DefaultPolicy::Allow {
        differs.push(
            "ufw's default allows routed traffic; portcullis does not manage forwarding".into(),
        );
    }
    differs.push(
        "ufw's stock before.rules also accept DHCP replies (udp 67 to 68), mDNS \
         (224.0.0.251 5353/udp) and SSDP (239.255.255.250 1900/udp); add services if this \
         host needs them"
            .into(),
    );
}

/// The service or block `rule` makes, with `ports`; `peer` and `local` are its source and
/// destination inbound, the other way round outbound.
fn item_of(
    rule: &Rule,
    peer: Addr,
    local: Addr,
    ports: Ports,
    limit: bool,
    names: &dyn Names,
) -> Item {
    let peers = match peer {
        Addr::Net(n) => vec![Peer::Net(n)],
        Addr::Any => {
            let mut p = Vec::new();
            if rule.family.has_v4() {
                p.push(Peer::AnyV4);
            }
            if rule.family.has_v6() {
                p.push(Peer::AnyV6);
            }
            p
        }
    };
    let ports = normalize(&ports);
    Item {
        name: item_name(rule, &ports, limit, names),
        direction: rule.direction,
        interface: rule.interface.clone(),
        local: match local {
            Addr::Net(n) => Some(n),
            Addr::Any => None,
        },
        limit,
        action: rule.action,
        ports,
        peers,
        origins: vec![rule.origin.clone()],
        description: rule.comment.clone(),
    }
}

/// Joins `item` to one already there that means the same with it, or adds it.
fn merge_into(list: &mut Vec<Item>, item: Item) {
    for existing in list.iter_mut() {
        if !existing.same_place(&item) {
            continue;
        }
        let mut ours = existing.peers.clone();
        ours.sort();
        let mut theirs = item.peers.clone();
        theirs.sort();
        if existing.ports == item.ports {
            for p in &item.peers {
                if !existing.peers.contains(p) {
                    existing.peers.push(*p);
                }
            }
        } else if ours == theirs {
            for (range, (tcp, udp)) in &item.ports {
                let e = existing.ports.entry(*range).or_insert((false, false));
                e.0 |= tcp;
                e.1 |= udp;
            }
            existing.ports = normalize(&existing.ports);
        } else {
            continue;
        }
        existing.origins.extend(item.origins);
        if existing.description.is_none() {
            existing.description = item.description;
        }
        return;
    }
    list.push(item);
}

/// Joins ranges that touch or overlap, per protocol: `1514/tcp` and `1515/tcp` are
/// `1514-1515/tcp`, so rules that say the same compare equal.
fn normalize(ports: &Ports) -> Ports {
    let mut out = Ports::new();
    for k in 0..2 {
        let mut ranges: Vec<(u16, u16)> = ports
            .iter()
            .filter(|(_, p)| if k == 0 { p.0 } else { p.1 })
            .map(|(r, _)| *r)
            .collect();
        ranges.sort();
        let mut joined: Vec<(u16, u16)> = Vec::new();
        for (a, b) in ranges {
            match joined.last_mut() {
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => joined.push((a, b)),
            }
        }
        for r in joined {
            let e = out.entry(r).or_insert((false, false));
            if k == 0 {
                e.0 = true;
            } else {
                e.1 = true;
            }
        }
    }
    out
}
