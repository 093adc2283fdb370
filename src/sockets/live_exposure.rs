//! Exposure under the *live* table: what the rules the kernel runs now do with a new
//! connection to a socket, read from the table's rules (a terse listing is enough: labels
//! come from our rule comments or set names, not from set elements). Pure.
//!
//! Walks the input chain in order. Rules about loopback, conntrack state or ICMP never
//! decide a new TCP/UDP connection from elsewhere; a rule whose port matches decides, and
//! its source match (if any) says who. A match portcullis cannot read makes the answer
//! "unknown" rather than a guess.

use nftables::expr::{Expression, MetaKey, NamedExpression, Payload, SetItem};
use nftables::schema::{Chain, NfListObject, Rule};
use nftables::stmt::Statement;
use nftables::types::NfHook;

use super::Listener;
use super::exposure::Exposure;
use crate::nft::live::LiveObject;
use crate::nft::set_names::{SetKind, parse_set_name};
use crate::policy::{Protocol, interface_matches};

/// How one rule relates to a new connection to the socket.
enum Fit {
    /// Cannot match it (other port, protocol, loopback, conntrack, ICMP...).
    No,
    /// Matches from any source.
    Any,
    /// Matches from these sources only.
    From(Vec<String>),
    /// Would match the port, but never this socket: only sources of a family it does not
    /// accept, or only host addresses (`on`) it is not bound to.
    OtherFamily,
    /// Has a condition portcullis cannot read.
    Unknown,
}

/// The socket's exposure under the live table, or None if the table (or its input
/// chain) does not exist or holds something portcullis cannot read.
pub fn live_exposure(live: &[LiveObject], socket: &Listener) -> Option<Exposure> {
    let input: &Chain = live.iter().find_map(|o| match o {
        LiveObject::Known(NfListObject::Chain(c)) if c.hook == Some(NfHook::Input) => Some(c),
        _ => None,
    })?;
    if socket.loopback_only() {
        return Some(Exposure::LoopbackOnly);
    }
    let mut sources: Vec<String> = Vec::new();
    let mut decided_by_rule = false;
    let mut covered_elsewhere = false;
    for object in live {
        let rule = match object {
            LiveObject::Known(NfListObject::Rule(r)) if r.chain == input.name => r,
            LiveObject::Unknown { kind, .. } if kind == "rule" => return None,
            _ => continue,
        };
        let accepts = rule.expr.iter().any(|s| matches!(s, Statement::Accept(_)));
        let stops = rule
            .expr
            .iter()
            .any(|s| matches!(s, Statement::Drop(_) | Statement::Reject(_)));
        if !accepts && !stops {
            continue; // counters, logs: no verdict
        }
        match fit(rule, socket) {
            Fit::No => {}
            Fit::Unknown => return None,
            Fit::Any if accepts => return Some(Exposure::Anyone),
            Fit::Any => {
                decided_by_rule = true;
                break; // dropped for everyone not accepted above
            }
            Fit::From(from) if accepts => {
                for s in from {
                    if !sources.contains(&s) {
                        sources.push(s);
                    }
                }
            }
            Fit::From(_) => {}
            Fit::OtherFamily => covered_elsewhere = true,
        }
    }
    Some(if !sources.is_empty() {
        Exposure::Networks(sources)
    } else if decided_by_rule || covered_elsewhere {
        Exposure::Blocked
    } else {
        Exposure::Uncovered
    })
}

fn fit(rule: &Rule<'_>, socket: &Listener) -> Fit {
    let (v4, v6) = socket.families();
    let mut from: Option<Vec<String>> = None;
    let mut other_family = false;
    for statement in rule.expr.iter() {
        let Statement::Match(m) = statement else {
            continue;
        };
        match &m.left {
            Expression::Named(NamedExpression::Meta(meta)) => match meta.key {
                MetaKey::Iif | MetaKey::Iifname => {
                    let names = strings(&m.right);
                    if names.iter().any(|n| n == "lo") {
                        return Fit::No;
                    }
                    if let Some(dev) = &socket.interface
                        && !names.iter().any(|p| interface_matches(p, dev))
                    {
                        return Fit::No;
                    }
                }
                MetaKey::L4proto => {
                    if !strings(&m.right)
                        .iter()
                        .any(|p| p == socket.protocol.as_str())
                    {
                        return Fit::No;
                    }
                }
                MetaKey::Nfproto => {
                    let fams = strings(&m.right);
                    if !(fams.iter().any(|f| f == "ipv4") && v4
                        || fams.iter().any(|f| f == "ipv6") && v6)
                    {
                        return Fit::No;
                    }
                }
                _ => return Fit::Unknown,
            },
            Expression::Named(NamedExpression::CT(_)) => return Fit::No, // not a new connection's
            Expression::Named(NamedExpression::Payload(Payload::PayloadField(f))) => {
                match (&*f.protocol, &*f.field) {
                    ("icmp" | "icmpv6", _) => return Fit::No,
                    ("tcp", "dport") | ("udp", "dport") => {
                        let proto = if f.protocol == "tcp" {
                            Protocol::Tcp
                        } else {
                            Protocol::Udp
                        };
                        if proto != socket.protocol || !has_port(&m.right, socket.port) {
                            return Fit::No;
                        }
                    }
                    ("th", "dport") => {
                        if !has_port(&m.right, socket.port) {
                            return Fit::No;
                        }
                    }
                    ("ip", "saddr") | ("ip6", "saddr") => {
                        let family_ok = if f.protocol == "ip" { v4 } else { v6 };
                        if !family_ok {
                            other_family = true;
                        }
                        from = Some(labels(rule, &m.right));
                    }
                    ("ip", "daddr") | ("ip6", "daddr") => {
                        // The host's own address (`on`): a socket bound to all of them is
                        // reached on these; one bound to a single address, only if it is
                        // among them.
                        let family_ok = if f.protocol == "ip" { v4 } else { v6 };
                        if !family_ok {
                            other_family = true;
                        } else if let Some(bound) = socket.bound_address() {
                            match local_addresses(rule, &m.right) {
                                Some(nets) if nets.iter().any(|n| n.contains(&bound)) => {}
                                Some(_) => other_family = true,
                                None => return Fit::Unknown,
                            }
                        }
                    }
                    _ => return Fit::Unknown,
                }
            }
            Expression::Named(NamedExpression::Concat(parts)) => {
                // meta l4proto . th dport { tcp . 22, udp . 53 }
                let pairs = elements(&m.right);
                let hit = pairs.iter().any(|e| match e {
                    Expression::Named(NamedExpression::Concat(v))
                        if v.len() == 2 && parts.len() == 2 =>
                    {
                        matches!(&v[0], Expression::String(p) if p == socket.protocol.as_str())
                            && port_range(&v[1])
                                .is_some_and(|(a, b)| (a..=b).contains(&socket.port))
                    }
                    _ => false,
                });
                if !hit {
                    return Fit::No;
                }
            }
            _ => return Fit::Unknown,
        }
    }
    match from {
        _ if other_family => Fit::OtherFamily,
        Some(f) => Fit::From(f),
        None => Fit::Any,
    }
}

/// Who a source match admits: the `allow=` list of our comment, else the set's name
/// (without the `_v4`/`_v6` suffix), else the literal.
fn labels(rule: &Rule<'_>, right: &Expression<'_>) -> Vec<String> {
    if let Some(allow) = rule
        .comment
        .as_deref()
        .and_then(|c| c.split_whitespace().find_map(|w| w.strip_prefix("allow=")))
    {
        return allow.split(',').map(str::to_string).collect();
    }
    match right {
        Expression::String(s) if s.starts_with('@') => {
            let set = s.trim_start_matches('@');
            // A network's set stands for the network; another (a service's union of
            // sources) by its name without the family.
            match parse_set_name(set) {
                Some((SetKind::Network, network, _)) => vec![network.to_string()],
                _ => vec![
                    set.strip_suffix("_v4")
                        .or_else(|| set.strip_suffix("_v6"))
                        .unwrap_or(set)
                        .to_string(),
                ],
            }
        }
        other => vec![crate::nft::render::expr(other, false)],
    }
}

/// The addresses a destination match admits: the literal (an address or prefix, or a set
/// of them), else the `on=` list of our comment when it holds only addresses. None when
/// they cannot be told from the rule (a set of a network, whose elements a terse listing
/// leaves out).
fn local_addresses(rule: &Rule<'_>, right: &Expression<'_>) -> Option<Vec<ipnet::IpNet>> {
    let literal = |e: &Expression<'_>| match e {
        Expression::String(s) if !s.starts_with('@') => crate::policy::parse_net(s).ok(),
        Expression::Named(NamedExpression::Prefix(p)) => match &*p.addr {
            Expression::String(a) => crate::policy::parse_net(&format!("{a}/{}", p.len)).ok(),
            _ => None,
        },
        _ => None,
    };
    let from_rule: Option<Vec<ipnet::IpNet>> = elements(right).into_iter().map(literal).collect();
    if from_rule.is_some() {
        return from_rule;
    }
    let on = rule
        .comment
        .as_deref()?
        .split_whitespace()
        .find_map(|w| w.strip_prefix("on="))?;
    // A cut comment ends in "...": its list is not whole.
    if on.ends_with("...") {
        return None;
    }
    on.split(',')
        .map(|e| crate::policy::parse_net(e).ok())
        .collect()
}

fn elements<'a>(right: &'a Expression<'a>) -> Vec<&'a Expression<'a>> {
    match right {
        Expression::Named(NamedExpression::Set(items)) => items
            .iter()
            .filter_map(|i| match i {
                SetItem::Element(e) => Some(e),
                _ => None,
            })
            .collect(),
        single => vec![single],
    }
}

fn strings(right: &Expression<'_>) -> Vec<String> {
    elements(right)
        .into_iter()
        .filter_map(|e| match e {
            Expression::String(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Whether the port (or set of ports and ranges) on a match's right side includes `port`.
fn has_port(right: &Expression<'_>, port: u16) -> bool {
    elements(right)
        .into_iter()
        .filter_map(port_range)
        .any(|(a, b)| (a..=b).contains(&port))
}

fn port_range(e: &Expression<'_>) -> Option<(u16, u16)> {
    match e {
        Expression::Number(n) => u16::try_from(*n).ok().map(|p| (p, p)),
        Expression::Range(r) => match (&r.range[0], &r.range[1]) {
            (Expression::Number(a), Expression::Number(b)) => {
                Some((u16::try_from(*a).ok()?, u16::try_from(*b).ok()?))
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nft::compile;
    use crate::policy;
    use crate::sockets::exposure::exposure;

    fn listener(
        protocol: Protocol,
        address: &str,
        port: u16,
        dual: bool,
        dev: Option<&str>,
    ) -> Listener {
        crate::sockets::test_listener(protocol, address, port, dual, dev)
    }

    /// For tables portcullis compiled, the live reading equals the policy's.
    #[test]
    fn a_compiled_table_reads_back_as_its_policy() {
        let p = policy::parse(
            r#"
[networks]
admin = ["192.0.2.0/24"]
v6net = ["2001:db8::/32"]
[services.ssh]
ports = ["22/tcp"]
allow = ["admin", "198.51.100.7"]
[services.web]
ports = ["443/tcp", "80/tcp", "8000-8010/tcp+udp"]
allow = ["any"]
[services.dns]
ports = ["53/tcp+udp"]
allow = ["v6net"]
interfaces = ["eth1"]
[services.console]
ports = ["9090/tcp"]
allow = ["admin"]
on = ["10.0.0.5"]
[services.api]
ports = ["8443/tcp"]
allow = ["any"]
on = ["10.0.0.5", "10.0.1.0/24", "2001:db8:5::1"]
"#,
        )
        .expect("valid");
        let live: Vec<LiveObject> = compile(&p)
            .objects
            .into_iter()
            .map(LiveObject::Known)
            .collect();
        let tcp = Protocol::Tcp;
        let udp = Protocol::Udp;
        for socket in [
            listener(tcp, "0.0.0.0", 22, false, None),
            listener(tcp, "::", 22, true, None),
            listener(tcp, "::", 22, false, None),
            listener(tcp, "::", 443, true, None),
            listener(udp, "0.0.0.0", 8005, false, None),
            listener(udp, "::", 53, false, None),
            listener(udp, "::", 53, false, Some("eth0")),
            listener(udp, "0.0.0.0", 53, false, None),
            listener(tcp, "127.0.0.1", 22, false, None),
            listener(tcp, "0.0.0.0", 3306, false, None),
            listener(tcp, "0.0.0.0", 9090, false, None),
            listener(tcp, "10.0.0.5", 9090, false, None),
            listener(tcp, "10.0.0.6", 9090, false, None),
            listener(tcp, "::", 9090, false, None),
            listener(tcp, "10.0.1.7", 8443, false, None),
            listener(tcp, "10.0.2.7", 8443, false, None),
            listener(tcp, "2001:db8:5::1", 8443, false, None),
            listener(tcp, "::", 8443, true, None),
        ] {
            assert_eq!(
                live_exposure(&live, &socket),
                Some(exposure(&p, &socket)),
                "{socket:?}"
            );
        }
    }

    #[test]
    fn no_table_no_answer() {
        assert_eq!(
            live_exposure(&[], &listener(Protocol::Tcp, "0.0.0.0", 22, false, None)),
            None
        );
    }
}
