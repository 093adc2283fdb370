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
use crate::policy::validate_object_name;

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

    let mut text = String::new();
    let from = if read_from.is_empty() {
        "ufw".to_string()
    } else {
        read_from.join(", ")
    };
    text.push_str(&format!(
        "# Imported from ufw by `portcullis import ufw` ({}).\n\
         # Review it, then: portcullis --policy FILE check, diff, apply.\n",
        comment_safe(&from)
    ));
    if !not_imported.is_empty() {
        text.push_str("#\n# NOT IMPORTED (a policy cannot say these; decide by hand):\n");
        for n in &not_imported {
            push_comment_item(&mut text, n);
        }
    }
    let defaults_known = defaults.is_some();
    let d = defaults.unwrap_or_default();
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
    text.push_str("#\n# DIFFERS FROM UFW:\n");
    for n in &differs {
        push_comment_item(&mut text, n);
    }

    let policy_word = |p: DefaultPolicy| match p {
        DefaultPolicy::Allow => "accept",
        _ => "drop",
    };
    text.push_str(&format!(
        "\n[settings]\ninput_policy = \"{}\"\noutput_policy = \"{}\"\n\
         allow_ping = true                # ufw's before.rules accept ping too\n",
        policy_word(d.incoming),
        policy_word(d.outgoing)
    ));
    if !networks.named.is_empty() {
        text.push_str("\n[networks]\n");
        for (name, peers) in &networks.named {
            text.push_str(&format!("{name} = {}\n", list(&peer_words(peers))));
        }
    }
    for s in &services {
        text.push_str(&format!("\n# ufw: {}\n", s.origins.join(", ")));
        text.push_str(&format!("[services.{}]\n", s.name));
        if let Some(d) = &s.description {
            text.push_str(&format!("description = {}\n", quote(&truncate(d, 200))));
        }
        text.push_str(&format!("ports = {}\n", list(&port_words(&s.ports))));
        text.push_str(&format!("allow = {}\n", list(&networks.refer(&s.peers))));
        if let Some(i) = &s.interface {
            text.push_str(&format!("interfaces = {}\n", list(std::slice::from_ref(i))));
        }
        if s.direction == Direction::Out {
            text.push_str("direction = \"out\"\n");
        }
        if let Some(l) = s.local {
            text.push_str(&format!("on = {}\n", list(&[address(l)])));
        }
        if s.limit {
            text.push_str("limit = \"10/minute\"\nburst = 5\n");
        }
    }
    for b in &blocks {
        text.push_str(&format!("\n# ufw: {}\n", b.origins.join(", ")));
        text.push_str(&format!("[blocks.{}]\n", b.name));
        if let Some(d) = &b.description {
            text.push_str(&format!("description = {}\n", quote(&truncate(d, 200))));
        }
        text.push_str(&format!(
            "from = {}\n",
            list(&networks.refer_block(&b.peers))
        ));
        if !b.ports.is_empty() {
            text.push_str(&format!("ports = {}\n", list(&port_words(&b.ports))));
        }
        if b.action == Action::Reject {
            text.push_str("action = \"reject\"\n");
        }
        if b.direction == Direction::Out {
            text.push_str("direction = \"out\"\n");
        }
    }
    Imported {
        text,
        services: services.len(),
        blocks: blocks.len(),
        networks: networks.named.len(),
        not_imported: not_imported.len(),
    }
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

/// Whether `outer` holds every address of `inner` (of the same family).
fn contains(outer: Addr, inner: Addr) -> bool {
    match (outer, inner) {
        (Addr::Any, _) => true,
        (Addr::Net(_), Addr::Any) => false,
        (Addr::Net(o), Addr::Net(i)) => o.contains(&i),
    }
}

/// The ports of refusing `rule` that none of the allows `earlier` (which ufw matches
/// first) lets through, per protocol; TCP and UDP only.
fn ports_left(rule: &Rule, earlier: &[&Rule]) -> Ports {
    let all = vec![(1u16, 65535u16)];
    let mut per_proto: [Vec<(u16, u16)>; 2] = [Vec::new(), Vec::new()];
    for (k, proto) in [Proto::Tcp, Proto::Udp].into_iter().enumerate() {
        if rule.proto != Proto::Any && rule.proto != proto {
            continue;
        }
        let mut left = rule.dport.clone().unwrap_or_else(|| all.clone());
        for allow in earlier {
            if allow.proto != Proto::Any && allow.proto != proto {
                continue;
            }
            let taken = allow.dport.clone().unwrap_or_else(|| all.clone());
            left = subtract(&left, &taken);
        }
        per_proto[k] = left;
    }
    let mut ports = Ports::new();
    for &r in &per_proto[0] {
        ports.entry(r).or_insert((false, false)).0 = true;
    }
    for &r in &per_proto[1] {
        ports.entry(r).or_insert((false, false)).1 = true;
    }
    ports
}

/// The ranges of `from` outside every range of `minus`.
fn subtract(from: &[(u16, u16)], minus: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = from.to_vec();
    for &(m1, m2) in minus {
        let mut next = Vec::new();
        for (a, b) in out {
            if m2 < a || b < m1 {
                next.push((a, b));
                continue;
            }
            if a < m1 {
                next.push((a, m1 - 1));
            }
            if m2 < b {
                next.push((m2 + 1, b));
            }
        }
        out = next;
    }
    out
}

/// After a refusing rule `i` that could not be imported: the later allows that ufw would
/// have refused in part because of it, which the policy now lets through.
fn note_later_allows(rules: &[Rule], i: usize, notes: &mut Vec<String>) {
    let later: Vec<&str> = rules[i + 1..]
        .iter()
        .filter(|r| !r.action.refuses() && overlaps(r, &rules[i]))
        .map(|r| r.origin.as_str())
        .collect();
    if !later.is_empty() {
        let last = notes.pop().unwrap_or_default();
        notes.push(format!(
            "{last}. Without it, {} also let through what this rule refused in ufw",
            later.join(", ")
        ));
    }
}

/// Whether some packet matches both rules (erring towards yes where unsure).
fn overlaps(a: &Rule, b: &Rule) -> bool {
    if a.route || b.route || a.direction != b.direction {
        return false;
    }
    let families =
        (a.family.has_v4() && b.family.has_v4()) || (a.family.has_v6() && b.family.has_v6());
    let addrs = |x: Addr, y: Addr| match (x, y) {
        (Addr::Net(p), Addr::Net(q)) => p.contains(&q.network()) || q.contains(&p.network()),
        _ => true,
    };
    let protos = match (&a.proto, &b.proto) {
        (Proto::Any, _) | (_, Proto::Any) => true,
        (x, y) => x == y,
    };
    let ports = match (&a.dport, &b.dport) {
        (Some(p), Some(q)) => p
            .iter()
            .any(|&(a1, a2)| q.iter().any(|&(b1, b2)| a1 <= b2 && b1 <= a2)),
        _ => true,
    };
    let interfaces = match (&a.interface, &b.interface) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    };
    families && addrs(a.src, b.src) && addrs(a.dst, b.dst) && protos && ports && interfaces
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

/// The name of the service (or block) a rule makes: the operator's (an application
/// profile's, or the comment), else one made from the port or the address.
fn item_name(rule: &Rule, ports: &Ports, limit: bool, names: &dyn Names) -> String {
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
const PEER_NAMED: &str = "@";

/// Completes the names of blocks named after their sources: `deny-10-30-0-66` for one,
/// `denied` (`rejected`) for several.
fn name_by_peers(blocks: &mut [Item]) {
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

/// /etc/services' name of the first port, else `port-N` (`ports-N-M`, `all-ports`).
fn port_name(rule: &Rule, ports: &Ports, names: &dyn Names) -> String {
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
fn slug(text: &str) -> String {
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
fn valid_name(mut name: String) -> String {
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
fn unique_names(mut items: Vec<Item>) -> Vec<Item> {
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

/// The networks: a set of peers used by more than one service or block, or holding more
/// than one entry, gets a name; a single address used once stays where it is used.
struct Networks {
    named: Vec<(String, Vec<Peer>)>,
}

impl Networks {
    fn of(services: &[Item], blocks: &[Item]) -> Networks {
        let mut uses: Vec<(Vec<Peer>, Vec<&Item>)> = Vec::new();
        for item in services.iter().chain(blocks) {
            let set = sorted(&item.peers);
            if is_any(&set) {
                continue;
            }
            match uses.iter_mut().find(|(s, _)| *s == set) {
                Some((_, users)) => users.push(item),
                None => uses.push((set, vec![item])),
            }
        }
        let mut named: Vec<(String, Vec<Peer>)> = Vec::new();
        for (set, users) in uses {
            if set.len() == 1 && users.len() == 1 {
                continue;
            }
            let base = match set.as_slice() {
                [Peer::Net(n)] if n.prefix_len() == n.max_prefix_len() => {
                    format!("host-{}", slug(&n.addr().to_string()))
                }
                [Peer::Net(n)] => format!("net-{}", slug(&n.to_string())),
                _ => {
                    let user = users[0];
                    let role = match user.direction {
                        Direction::Out => "destinations",
                        _ => "sources",
                    };
                    format!("{}-{role}", user.name)
                }
            };
            let mut name = valid_name(base);
            let mut k = 1;
            while named.iter().any(|(n, _)| *n == name)
                || services.iter().chain(blocks).any(|i| i.name == name)
            {
                k += 1;
                name = format!(
                    "{}-{k}",
                    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
                );
            }
            named.push((name, set));
        }
        Networks { named }
    }

    /// What a service's `allow` says for `peers`.
    fn refer(&self, peers: &[Peer]) -> Vec<String> {
        let set = sorted(peers);
        if is_any(&set) {
            return vec!["any".into()];
        }
        match self.named.iter().find(|(_, s)| *s == set) {
            Some((name, _)) => vec![name.clone()],
            None => peer_words(&set),
        }
    }

    /// What a block's `from` says (never `any`: both families' whole ranges).
    fn refer_block(&self, peers: &[Peer]) -> Vec<String> {
        let set = sorted(peers);
        if is_any(&set) {
            return peer_words(&set);
        }
        self.refer(peers)
    }
}

fn sorted(peers: &[Peer]) -> Vec<Peer> {
    let mut set = peers.to_vec();
    set.sort();
    set.dedup();
    // Anywhere of a family covers that family's networks.
    let (v4, v6) = (set.contains(&Peer::AnyV4), set.contains(&Peer::AnyV6));
    set.retain(|p| match p {
        Peer::Net(IpNet::V4(_)) => !v4,
        Peer::Net(IpNet::V6(_)) => !v6,
        _ => true,
    });
    set
}

fn is_any(set: &[Peer]) -> bool {
    set.contains(&Peer::AnyV4) && set.contains(&Peer::AnyV6)
}

fn peer_words(set: &[Peer]) -> Vec<String> {
    set.iter()
        .map(|p| match p {
            Peer::AnyV4 => "0.0.0.0/0".to_string(),
            Peer::AnyV6 => "::/0".to_string(),
            Peer::Net(n) => address(*n),
        })
        .collect()
}

/// A host as a bare address, a network as a prefix.
fn address(n: IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

fn port_words(ports: &Ports) -> Vec<String> {
    ports
        .iter()
        .map(|(&(a, b), &(tcp, udp))| {
            let range = if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            };
            let proto = match (tcp, udp) {
                (true, true) => "tcp+udp",
                (true, false) => "tcp",
                _ => "udp",
            };
            format!("{range}/{proto}")
        })
        .collect()
}

fn list(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    format!("[{}]", quoted.join(", "))
}

fn quote(text: &str) -> String {
    toml_edit::Value::from(text).to_string()
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].chars().filter(|c| !c.is_control()).collect()
}

/// Text from the files, made safe to sit in a `#` comment (no line breaks).
fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One item of a comment list, wrapped at about 90 columns.
fn push_comment_item(out: &mut String, item: &str) {
    let mut line = String::from("# -");
    for word in comment_safe(item).split(' ').filter(|w| !w.is_empty()) {
        if line.len() + 1 + word.len() > 92 && line.len() > 4 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#  ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::ufw::{AppPorts, parse_rules_file};
    use crate::import::ufw_script::parse_script;

    struct TestNames;

    impl Names for TestNames {
        fn service_name(&self, port: u16, tcp: bool) -> Option<String> {
            match (port, tcp) {
                (22, true) => Some("ssh".into()),
                (443, true) => Some("https".into()),
                (53, _) => Some("domain".into()),
                (514, false) => Some("syslog".into()),
                (25, true) => Some("smtp".into()),
                _ => None,
            }
        }
        fn service_ports(&self, _name: &str) -> Option<(u16, bool, bool)> {
            None
        }
        fn app_ports(&self, _name: &str) -> Option<Vec<AppPorts>> {
            None
        }
    }

    fn import_script(text: &str) -> Imported {
        let s = parse_script("s", text, &TestNames);
        let imported = to_policy(&s.rules, s.defaults, &s.notes, &["s".into()], &TestNames);
        if let Err(d) = crate::policy::parse(&imported.text) {
            panic!("{}\n{}", d.render("import", &imported.text), imported.text);
        }
        imported
    }

    #[test]
    fn sources_of_one_port_join_and_both_families_of_anywhere_are_any() {
        let p = import_script(
            "ufw allow from 10.0.0.0/8 to any port 9000 proto tcp\n\
             ufw allow from 192.0.2.0/24 to any port 9000 proto tcp\n\
             ufw allow 443/tcp\n",
        );
        assert!(
            p.text
                .contains("[networks]\nport-9000-sources = [\"10.0.0.0/8\", \"192.0.2.0/24\"]"),
            "{}",
            p.text
        );
        assert!(
            p.text
                .contains("[services.https]\nports = [\"443/tcp\"]\nallow = [\"any\"]")
        );
        assert_eq!((p.services, p.blocks, p.not_imported), (2, 0, 0));
    }

    #[test]
    fn the_ports_of_one_comment_and_the_same_sources_join() {
        let p = import_script(
            "ufw allow from 10.30.0.0/16 to any port 1514 proto tcp comment 'Wazuh agents'\n\
             ufw allow from 10.30.0.0/16 to any port 1515 proto tcp comment 'Wazuh agents'\n\
             ufw allow from 10.30.0.0/16 to any port 55000 proto tcp comment 'Wazuh agents'\n\
             ufw allow 53/tcp\nufw allow 53/udp\n",
        );
        assert!(
            p.text.contains(
                "[services.wazuh-agents]\ndescription = \"Wazuh agents\"\n\
                 ports = [\"1514-1515/tcp\", \"55000/tcp\"]\nallow = [\"10.30.0.0/16\"]"
            ),
            "{}",
            p.text
        );
        assert!(
            p.text
                .contains("[services.domain]\nports = [\"53/tcp+udp\"]"),
            "{}",
            p.text
        );
    }

    #[test]
    fn a_deny_before_the_allows_is_a_block() {
        let p = import_script(
            "ufw deny from 10.30.0.66\nufw allow from 10.30.0.0/16 to any port 514 proto udp\n\
             ufw reject from 2001:db8:66::/48 to any port 443\n",
        );
        assert!(
            p.text
                .contains("[blocks.deny-10-30-0-66]\nfrom = [\"10.30.0.66\"]\n"),
            "{}",
            p.text
        );
        assert!(
            p.text.contains(
                "[blocks.reject-2001-db8-66-48]\nfrom = [\"2001:db8:66::/48\"]\n\
                 ports = [\"443/tcp+udp\"]\naction = \"reject\""
            ),
            "{}",
            p.text
        );
        assert!(
            p.text
                .contains("ufw still answers this rule's sources' pings"),
            "{}",
            p.text
        );
    }

    #[test]
    fn a_deny_after_an_allow_of_all_its_sources_leaves_out_the_allowed_ports() {
        let p = import_script("ufw allow 8080/tcp\nufw deny from 10.50.0.0/24\n");
        assert!(
            p.text.contains(
                "[blocks.deny-10-50-0-0-24]\nfrom = [\"10.50.0.0/24\"]\n\
                 ports = [\"1-8079/tcp\", \"1-65535/udp\", \"8081-65535/tcp\"]"
            ),
            "{}",
            p.text
        );
        assert!(
            p.text.contains("the block leaves out the ports they"),
            "{}",
            p.text
        );
    }

    #[test]
    fn a_deny_after_an_allow_of_part_of_its_sources_is_listed_not_imported() {
        let p = import_script(
            "ufw allow from 10.30.0.0/16 to any port 514 proto udp\nufw deny from 10.0.0.0/8\n\
             ufw allow from 10.0.0.0/8 to any port 22 proto tcp\n",
        );
        assert_eq!(p.blocks, 0, "{}", p.text);
        assert_eq!(p.not_imported, 1);
        let top = p.text.split("\n[settings]").next().unwrap_or_default();
        assert!(top.contains("NOT IMPORTED"), "{top}");
        assert!(
            top.contains("s:2: `ufw deny from 10.0.0.0/8`: ufw lets through what s:1"),
            "{top}"
        );
        assert!(top.contains("Without it, s:3 also let through"), "{top}");
    }

    #[test]
    fn what_a_policy_cannot_say_is_listed_at_the_top() {
        let p = import_script(
            "ufw route allow in on eth0 out on eth1\n\
             ufw allow from 10.0.0.0/8 port 5353 to any port 53 proto udp\n\
             ufw allow proto esp from 198.51.100.1\n\
             ufw deny in on eth0 from 198.51.100.0/24\n\
             ufw insert 1 allow 80/tcp\n\
             ufw allow log 22/tcp\n",
        );
        let top = p.text.split("\n[settings]").next().unwrap_or_default();
        for (line, why) in [
            ("s:1", "a routed (forwarding) rule"),
            ("s:2", "a policy cannot match source ports"),
            ("s:3", "protocol esp"),
            ("s:4", "a block cannot be limited to an interface"),
            ("s:5", "edits earlier rules by position"),
            ("s:6", "ufw logs what this rule matches"),
        ] {
            let found = top.split("\n# -").any(|item| {
                item.contains(&format!(" {line}:")) && item.replace("\n#  ", "").contains(why)
            });
            assert!(found, "{line} {why}:\n{top}");
        }
        assert_eq!(p.services, 1, "{}", p.text);
    }

    #[test]
    fn defaults_outbound_rules_limits_and_interfaces() {
        let p = import_script(
            "ufw default reject incoming\nufw default deny outgoing\n\
             ufw allow out 25/tcp\nufw deny out to 203.0.113.0/24\nufw limit 22/tcp\n\
             ufw allow in on eth1 to 10.1.1.1 port 8080 proto tcp\n",
        );
        assert!(
            p.text
                .contains("input_policy = \"drop\"\noutput_policy = \"drop\""),
            "{}",
            p.text
        );
        assert!(
            p.text.contains("ufw's default rejects incoming traffic"),
            "{}",
            p.text
        );
        assert!(
            p.text.contains(
                "[services.smtp-out]\nports = [\"25/tcp\"]\nallow = [\"any\"]\ndirection = \"out\""
            ),
            "{}",
            p.text
        );
        assert!(p.text.contains("[blocks.deny-203-0-113-0-24-out]\nfrom = [\"203.0.113.0/24\"]\nports = [\"1-24/tcp\", \"1-65535/udp\", \"26-65535/tcp\"]\ndirection = \"out\""), "{}", p.text);
        assert!(p.text.contains("[services.ssh-limited]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"10/minute\"\nburst = 5"), "{}", p.text);
        assert!(p.text.contains("ports = [\"8080/tcp\"]\nallow = [\"0.0.0.0/0\"]\ninterfaces = [\"eth1\"]\non = [\"10.1.1.1\"]"), "{}", p.text);
    }

    #[test]
    fn the_rule_files_ufw_wrote_give_the_same_policy_as_its_script() {
        let (mut rules, notes) = parse_rules_file(
            "user.rules",
            "### tuple ### allow tcp 22 0.0.0.0/0 any 192.0.2.10 in comment=61646d696e20737368\n\
             ### tuple ### allow tcp 443 0.0.0.0/0 any 0.0.0.0/0 in\n",
        );
        let (mut six, _) = parse_rules_file(
            "user6.rules",
            "### tuple ### allow tcp 443 ::/0 any ::/0 in\n",
        );
        rules.append(&mut six);
        let from_files = to_policy(&rules, None, &notes, &[], &TestNames);
        let from_script = import_script(
            "ufw allow from 192.0.2.10 to any port 22 proto tcp comment 'admin ssh'\nufw allow 443/tcp\n",
        );
        let body = |t: &str| {
            t.split("\n[settings]")
                .nth(1)
                .unwrap_or_default()
                .replace("user.rules:1", "s:1")
                .replace("user.rules:2, user6.rules:1", "s:2")
        };
        assert_eq!(body(&from_files.text), body(&from_script.text));
        assert!(
            from_files
                .text
                .contains("the default policies were not read")
        );
    }
}
