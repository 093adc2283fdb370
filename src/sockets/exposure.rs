//! Exposure: who can open a new connection to a listening socket under a policy. Pure.

use std::fmt;

use serde::Serialize;

use super::Listener;
use crate::policy::{Policy, Service, Source, interface_matches};

#[derive(Debug, Clone, Eq, Serialize)]
#[serde(tag = "kind", content = "networks", rename_all = "snake_case")]
pub enum Exposure {
    /// A service allows `any`.
    Anyone,
    /// Only these networks (names, or literal prefixes as written).
    Networks(Vec<String>),
    /// Bound to 127.0.0.0/8 or ::1.
    LoopbackOnly,
    /// Services cover the port, but none of their sources is of a family the socket
    /// accepts (e.g. only IPv4 networks for an IPv6-only socket).
    Blocked,
    /// No service covers it: the input chain's policy decides.
    Uncovered,
}

/// The same networks in another order are the same exposure: the policy lists them in its
/// `allow` order, the live table in its rules' order (IPv4's rule, then IPv6's), and a
/// difference of order alone must not show as `(live: …)`.
impl PartialEq for Exposure {
    fn eq(&self, other: &Exposure) -> bool {
        match (self, other) {
            // Each list names a network once, so equal lengths and one inside the other
            // are the same set; no copy, as the sockets pane compares every row.
            (Exposure::Networks(a), Exposure::Networks(b)) => {
                a.len() == b.len() && a.iter().all(|n| b.contains(n))
            }
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exposure::Anyone => f.write_str("open to anyone"),
            Exposure::Networks(n) => write!(f, "open to {}", n.join(", ")),
            Exposure::LoopbackOnly => f.write_str("loopback only"),
            Exposure::Blocked => f.write_str("blocked"),
            Exposure::Uncovered => f.write_str("no rule (default policy)"),
        }
    }
}

/// The inbound services whose ports (and interfaces, and `on` addresses) include the
/// socket's.
pub fn covering<'p>(policy: &'p Policy, socket: &Listener) -> Vec<&'p Service> {
    on_port(policy, socket)
        .into_iter()
        // A socket bound to one address is reached only there; one bound to all, on the
        // addresses of its families.
        .filter(|s| match socket.bound_address() {
            Some(a) => s.is_on(policy, a),
            None => s.on.is_empty() || socket.takes_any_of(policy.entries_of(&s.on)),
        })
        .collect()
}

/// The host's addresses where a socket bound to all of them can be reached: empty when
/// every address (some covering service has no `on`), else the `on` entries of the
/// services that cover it, as the policy writes them.
pub fn reachable_on(policy: &Policy, socket: &Listener) -> Vec<String> {
    if socket.bound_address().is_some() || socket.loopback_only() {
        return Vec::new();
    }
    let services = covering(policy, socket);
    if services.iter().any(|s| s.on.is_empty()) {
        return Vec::new();
    }
    let mut on: Vec<String> = Vec::new();
    for label in services.iter().flat_map(|s| s.on.iter().map(Source::label)) {
        if !on.contains(&label) {
            on.push(label);
        }
    }
    on
}

/// The inbound blocks that refuse some sources on the socket's port before any service is
/// considered (their sources of a family the socket accepts), by name.
pub fn blocked_by(policy: &Policy, socket: &Listener) -> Vec<String> {
    if socket.loopback_only() {
        return Vec::new();
    }
    policy
        .blocks
        .values()
        .filter(|b| b.direction.inbound() && b.covers_port(socket.protocol, socket.port))
        .filter(|b| socket.takes_any_of(policy.entries_of(&b.from)))
        .map(|b| b.name.clone())
        .collect()
}

/// The inbound services whose ports and interfaces include the socket's, wherever they
/// are `on`.
fn on_port<'p>(policy: &'p Policy, socket: &Listener) -> Vec<&'p Service> {
    policy
        .services
        .values()
        .filter(|s| s.direction.inbound())
        .filter(|s| {
            s.ports.iter().any(|r| {
                r.protocols.contains(&socket.protocol) && (r.first..=r.last).contains(&socket.port)
            })
        })
        .filter(|s| match &socket.interface {
            // A socket bound to one device is reached only through it.
            Some(dev) => {
                s.interfaces.is_empty() || s.interfaces.iter().any(|p| interface_matches(p, dev))
            }
            None => true,
        })
        .collect()
}

pub fn exposure(policy: &Policy, socket: &Listener) -> Exposure {
    if socket.loopback_only() {
        return Exposure::LoopbackOnly;
    }
    let services = covering(policy, socket);
    if services.is_empty() {
        // Services for the port, but on none of the addresses it is bound to.
        return if on_port(policy, socket).is_empty() {
            Exposure::Uncovered
        } else {
            Exposure::Blocked
        };
    }
    let mut names: Vec<String> = Vec::new();
    for service in services {
        let (v4, v6) = reached_families(policy, service, socket);
        for source in &service.allow {
            if matches!(source, Source::Any) {
                return Exposure::Anyone;
            }
            let reaches = policy
                .entries_of(std::slice::from_ref(source))
                .iter()
                .any(|n| (n.addr().is_ipv4() && v4) || (n.addr().is_ipv6() && v6));
            let label = match source {
                Source::Any => unreachable!("returned above"),
                Source::Literal(net) => net.to_string(),
                Source::Network(name) => name.clone(),
            };
            if reaches && !names.contains(&label) {
                names.push(label);
            }
        }
    }
    if names.is_empty() {
        Exposure::Blocked
    } else {
        Exposure::Networks(names)
    }
}

/// The families through which `service` reaches `socket`: those the socket takes (on the
/// address it is bound to, if one) that the service's `on` has addresses of. A source of
/// another family meets no rule of the service that leads to the socket (the compiler
/// makes a rule per family only where both the sources and `on` have addresses).
fn reached_families(policy: &Policy, service: &Service, socket: &Listener) -> (bool, bool) {
    let (mut v4, mut v6) = socket.families();
    if let Some(bound) = socket.bound_address() {
        v4 &= bound.is_ipv4();
        v6 &= bound.is_ipv6();
    }
    if !service.on.is_empty() {
        let on = policy.entries_of(&service.on);
        v4 &= on.iter().any(|n| n.addr().is_ipv4());
        v6 &= on.iter().any(|n| n.addr().is_ipv6());
    }
    (v4, v6)
}

/// Inbound services with a port nothing listens on, as (service, port spec) pairs.
pub fn stale_services<'p>(policy: &'p Policy, listeners: &[Listener]) -> Vec<&'p Service> {
    policy
        .services
        .values()
        .filter(|s| s.direction.inbound())
        .filter(|s| {
            !s.ports.iter().any(|r| {
                listeners.iter().any(|l| {
                    r.protocols.contains(&l.protocol) && (r.first..=r.last).contains(&l.port)
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{self, Protocol};

    fn listener(protocol: Protocol, address: &str, port: u16, dual: bool) -> Listener {
        crate::sockets::test_listener(protocol, address, port, dual, None)
    }

    const POLICY: &str = r#"
[networks]
admin = ["192.0.2.0/24"]
v6net = ["2001:db8::/32"]
[services.ssh]
ports = ["22/tcp"]
allow = ["admin", "198.51.100.7"]
[services.web]
ports = ["443/tcp"]
allow = ["any"]
[services.v6only]
ports = ["8080/tcp"]
allow = ["v6net"]
[services.unused]
ports = ["9999/udp"]
allow = ["admin"]
"#;

    #[test]
    fn each_kind_of_exposure() {
        let p = policy::parse(POLICY).expect("valid");
        let tcp = Protocol::Tcp;
        let cases = [
            (
                listener(tcp, "0.0.0.0", 22, false),
                Exposure::Networks(vec!["admin".into(), "198.51.100.7/32".into()]),
            ),
            (listener(tcp, "::", 443, true), Exposure::Anyone),
            (
                listener(tcp, "127.0.0.1", 443, false),
                Exposure::LoopbackOnly,
            ),
            (listener(tcp, "::1", 22, false), Exposure::LoopbackOnly),
            (listener(tcp, "0.0.0.0", 8080, false), Exposure::Blocked),
            (
                listener(tcp, "::", 8080, false),
                Exposure::Networks(vec!["v6net".into()]),
            ),
            (listener(tcp, "0.0.0.0", 3306, false), Exposure::Uncovered),
            (
                listener(Protocol::Udp, "0.0.0.0", 22, false),
                Exposure::Uncovered,
            ),
        ];
        for (socket, want) in cases {
            assert_eq!(exposure(&p, &socket), want, "{socket:?}");
        }
    }

    /// Found by `properties::the_live_table_exposes_a_socket_as_the_policy_says`.
    #[test]
    fn a_source_of_one_family_and_on_addresses_of_the_other_reach_nothing() {
        let p = policy::parse(
            "[networks]\nlocal4 = [\"10.0.0.5\"]\n[services.s]\nports = [\"80/tcp\"]\n\
             allow = [\"2001:db8::/32\"]\non = [\"local4\"]\n",
        )
        .expect("valid");
        // No rule is compiled: IPv6 sources, but `on` only an IPv4 address.
        let socket = listener(Protocol::Tcp, "::", 80, true);
        assert_eq!(exposure(&p, &socket), Exposure::Blocked);
    }

    /// Found by the same property: the IPv4 rule's comment named IPv6 sources too, and the
    /// live exposure read them back as reaching an IPv4 socket.
    #[test]
    fn each_family_s_rule_names_only_that_family_s_sources() {
        let p = policy::parse(
            "[networks]\nn0 = [\"10.0.0.0/8\"]\n[services.s]\nports = [\"80/tcp\"]\n\
             allow = [\"2001:db8::/32\", \"n0\"]\n",
        )
        .expect("valid");
        let live: Vec<crate::nft::live::LiveObject> = crate::nft::compile(&p)
            .objects
            .into_iter()
            .map(crate::nft::live::LiveObject::Known)
            .collect();
        let v4 = listener(Protocol::Tcp, "0.0.0.0", 80, false);
        let live_v4 = crate::sockets::live_exposure::live_exposure(&live, &v4);
        assert_eq!(live_v4, Some(Exposure::Networks(vec!["n0".into()])));
        assert_eq!(exposure(&p, &v4), Exposure::Networks(vec!["n0".into()]));
        // A dual-stack socket: the same networks, in another order, are the same exposure.
        let dual = listener(Protocol::Tcp, "::", 80, true);
        let live_dual = crate::sockets::live_exposure::live_exposure(&live, &dual);
        assert_eq!(live_dual, Some(exposure(&p, &dual)));
        assert_eq!(
            Exposure::Networks(vec!["a".into(), "b".into()]),
            Exposure::Networks(vec!["b".into(), "a".into()])
        );
    }

    #[test]
    fn a_service_on_some_addresses_reaches_the_sockets_bound_there() {
        let p = policy::parse(
            r#"
[networks]
admin = ["192.0.2.0/24"]
[services.console]
ports = ["9090/tcp"]
allow = ["admin"]
on = ["10.0.0.5"]
[services.api]
ports = ["8443/tcp"]
allow = ["any"]
on = ["2001:db8:5::1"]
"#,
        )
        .expect("valid");
        let tcp = Protocol::Tcp;
        let wildcard = listener(tcp, "0.0.0.0", 9090, false);
        assert_eq!(
            exposure(&p, &wildcard),
            Exposure::Networks(vec!["admin".into()])
        );
        assert_eq!(reachable_on(&p, &wildcard), ["10.0.0.5/32"]);
        let there = listener(tcp, "10.0.0.5", 9090, false);
        assert_eq!(
            exposure(&p, &there),
            Exposure::Networks(vec!["admin".into()])
        );
        assert!(
            reachable_on(&p, &there).is_empty(),
            "bound there: nothing to add"
        );
        // Bound to an address no `on` covers: not reachable.
        assert_eq!(
            exposure(&p, &listener(tcp, "10.0.0.6", 9090, false)),
            Exposure::Blocked
        );
        // On an IPv6 address only: an IPv4 socket is not reached, a dual-stack one is.
        assert_eq!(
            exposure(&p, &listener(tcp, "0.0.0.0", 8443, false)),
            Exposure::Blocked
        );
        assert_eq!(
            exposure(&p, &listener(tcp, "::", 8443, true)),
            Exposure::Anyone
        );
    }

    #[test]
    fn the_blocks_on_a_socket_s_port_and_families_are_named() {
        let p = policy::parse(
            r#"
[blocks.v4]
from = ["198.51.100.0/24"]
ports = ["22/tcp"]
[blocks.v6]
from = ["2001:db8:66::/48"]
[blocks.elsewhere]
from = ["203.0.113.0/24"]
ports = ["80/tcp"]
"#,
        )
        .expect("valid");
        let tcp = Protocol::Tcp;
        assert_eq!(blocked_by(&p, &listener(tcp, "::", 22, true)), ["v4", "v6"]);
        assert_eq!(blocked_by(&p, &listener(tcp, "0.0.0.0", 22, false)), ["v4"]);
        assert_eq!(
            blocked_by(&p, &listener(tcp, "0.0.0.0", 443, false)),
            Vec::<String>::new()
        );
        assert!(blocked_by(&p, &listener(tcp, "127.0.0.1", 22, false)).is_empty());
    }

    #[test]
    fn services_nothing_listens_on_are_stale() {
        let p = policy::parse(POLICY).expect("valid");
        let listening = [
            listener(Protocol::Tcp, "0.0.0.0", 22, false),
            listener(Protocol::Tcp, "::", 443, true),
        ];
        let stale: Vec<&str> = stale_services(&p, &listening)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(stale, ["unused", "v6only"]);
    }
}
