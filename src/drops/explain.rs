//! What the policy and the socket table know about a dropped packet: the service that owns
//! its port and why that service did not let this source in, the named network the source
//! falls in, and whether anything listens there at all. Pure.

use std::net::IpAddr;

use serde::Serialize;

use super::tally::Entry;
use crate::eval::{interfaces_match, source_matches};
use crate::policy::{Policy, Service, Source};
use crate::sockets::Listener;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub service: String,
    /// Why it did not accept this packet, in the operator's words.
    pub why: String,
    /// The same in a few words, for a table's column (`agents allows admin`).
    #[serde(skip)]
    pub short: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Attribution {
    /// Inbound services on this port and protocol.
    pub services: Vec<Owner>,
    /// The named network the source falls in (the one with the longest matching prefix).
    pub network: Option<String>,
    /// Whether a socket listens on that port; None for ICMP, or when unknown.
    pub listening: Option<bool>,
}

/// Attributes one aggregate line. `listeners` is None when the socket table could not be read.
pub fn explain(policy: &Policy, listeners: Option<&[Listener]>, entry: &Entry) -> Attribution {
    let key = &entry.key;
    let mut out = Attribution {
        network: network_of(policy, key.source),
        ..Attribution::default()
    };
    let (Some(protocol), Some(port)) = (key.proto.policy(), key.port) else {
        return out;
    };
    for service in policy.services.values() {
        if !service.direction.inbound()
            || !service
                .ports
                .iter()
                .any(|r| r.protocols.contains(&protocol) && (r.first..=r.last).contains(&port))
        {
            continue;
        }
        let (why, short) = why_not(policy, service, key.source, entry.interface.as_deref());
        out.services.push(Owner {
            service: service.name.clone(),
            why,
            short,
        });
    }
    out.listening = listeners.map(|all| {
        all.iter().any(|l| {
            l.protocol == protocol
                && l.port == port
                && (l.address.is_unspecified()
                    && (l.dual_stack || same_family(l.address, entry.destination))
                    || l.address == entry.destination)
        })
    });
    out
}

fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

/// Why `service` did not let `source` in: in a sentence, and in a few words.
fn why_not(
    policy: &Policy,
    service: &Service,
    source: IpAddr,
    interface: Option<&str>,
) -> (String, String) {
    let allowed = service
        .allow
        .iter()
        .any(|s| source_matches(policy, s, source));
    if !allowed {
        let names: Vec<String> = service.allow.iter().map(Source::label).collect();
        let names = names.join(", ");
        return (
            format!("allows {names}; {source} is in none of them"),
            format!("{} allows {names}", service.name),
        );
    }
    if !interfaces_match(&service.interfaces, interface) {
        let only = service.interfaces.join(", ");
        return (
            format!(
                "only on {only}; this came in on {}",
                interface.unwrap_or("an unknown interface")
            ),
            format!("{} only on {only}", service.name),
        );
    }
    (
        "allows it now (the drop came before the policy's last change, or was not a new \
         connection)"
            .to_string(),
        format!("{} allows it now", service.name),
    )
}

/// The named network holding `address`, preferring the most specific prefix.
pub fn network_of(policy: &Policy, address: IpAddr) -> Option<String> {
    policy
        .networks
        .values()
        .filter_map(|n| {
            n.entries
                .iter()
                .filter(|net| net.contains(&address))
                .map(|net| net.prefix_len())
                .max()
                .map(|len| (len, &n.name))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)))
        .map(|(_, name)| name.clone())
}

/// The attribution in a few words, for a table's column (the port is in another column);
/// `port` is the destination port (None for ICMP).
pub fn summary(a: &Attribution, port: Option<u16>) -> String {
    let mut parts = Vec::new();
    if port.is_some() {
        if a.listening == Some(false) {
            parts.push("nothing listens".to_string());
        }
        if a.services.is_empty() {
            parts.push("no service".to_string());
        }
    }
    parts.extend(a.services.iter().map(|o| o.short.clone()));
    if let Some(network) = &a.network {
        parts.push(format!("source in {network}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drops::tally::Tally;

    const POLICY: &str = r#"
[networks]
admin = ["10.8.0.0/24"]
office = ["203.0.113.0/24", "203.0.113.9/32"]
[services.agents]
ports = ["9001/tcp"]
allow = ["admin"]
[services.mgmt]
ports = ["9001/tcp"]
allow = ["203.0.113.9"]
interfaces = ["eth1"]
"#;

    fn entry(source: &str, port: u16) -> Entry {
        let mut t = Tally::default();
        t.add(crate::drops::tally::tests::dropped(source, port, 1));
        t.entries()[0].clone()
    }

    #[test]
    fn names_each_owning_service_and_why_it_said_no() {
        let policy = crate::policy::parse(POLICY).unwrap();
        let a = explain(&policy, Some(&[]), &entry("203.0.113.9", 9001));
        assert_eq!(a.network.as_deref(), Some("office"));
        assert_eq!(a.listening, Some(false));
        assert_eq!(a.services.len(), 2);
        assert_eq!(a.services[0].service, "agents");
        assert!(
            a.services[0].why.contains("allows admin"),
            "{:?}",
            a.services[0]
        );
        assert!(
            a.services[1]
                .why
                .contains("only on eth1; this came in on eth0"),
            "{:?}",
            a.services[1]
        );
        let line = summary(&a, Some(9001));
        assert_eq!(
            line,
            "nothing listens; agents allows admin; mgmt only on eth1; source in office"
        );
    }

    #[test]
    fn a_port_no_service_names_says_so() {
        let policy = crate::policy::parse(POLICY).unwrap();
        let e = entry("198.51.100.1", 8443);
        let a = explain(&policy, None, &e);
        assert!(a.services.is_empty());
        assert_eq!((a.network.as_deref(), a.listening), (None, None));
        assert_eq!(summary(&a, e.key.port), "no service");
    }
}
