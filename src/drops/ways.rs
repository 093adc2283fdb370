//! The ways in for a dropped packet (pfSense's "Easy Rule", in a terminal): add its source,
//! or its /24 (IPv4) or /64 (IPv6), to a network that a service on that port already
//! allows; temporary access to such a service (a grant); or a new service for that port
//! from this source. Pure: the UI opens the form (or the grant's prompt).

use std::net::IpAddr;

use ipnet::IpNet;

use super::packet::Proto;
use super::tally::Entry;
use crate::policy::{Policy, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WayIn {
    /// Add `prefix` to `network`, which `service` (on the drop's port) allows.
    AddToNetwork {
        network: String,
        service: String,
        prefix: IpNet,
    },
    /// A new inbound service for `port`/`proto` allowing `source`.
    NewService {
        port: u16,
        proto: Proto,
        source: IpNet,
    },
    /// Let `source` reach `service` for a while (a grant: at once, no policy change).
    Grant { service: String, source: IpNet },
}

impl WayIn {
    pub fn label(&self) -> String {
        match self {
            WayIn::AddToNetwork {
                network,
                service,
                prefix,
            } => format!("add {prefix} to network {network} (service {service} allows it)"),
            WayIn::NewService {
                port,
                proto,
                source,
            } => {
                format!("a new service for {port}/{proto} from {source}")
            }
            WayIn::Grant { service, source } => {
                format!("let {source} reach {service} for a while (a grant, at once)")
            }
        }
    }
}

/// The host and its customary subnet (/24, /64) of an address.
pub fn prefixes_of(address: IpAddr) -> Vec<IpNet> {
    let (host, subnet) = match address {
        IpAddr::V4(_) => (32, 24),
        IpAddr::V6(_) => (128, 64),
    };
    [host, subnet]
        .into_iter()
        .filter_map(|len| IpNet::new(address, len).ok().map(|n| n.trunc()))
        .collect()
}

/// The ways in, best first; empty when the drop has no port a service could name (ICMP,
/// other protocols) or was dropped as invalid (no policy lets those in).
pub fn ways_in(policy: &Policy, entry: &Entry) -> Vec<WayIn> {
    let key = &entry.key;
    let (Some(protocol), Some(port)) = (key.proto.policy(), key.port) else {
        return Vec::new();
    };
    if entry.by.reason != crate::nft::droplog::Reason::Policy {
        return Vec::new();
    }
    let on_port: Vec<&crate::policy::Service> = policy
        .services
        .values()
        .filter(|s| {
            s.direction.inbound()
                && s.ports
                    .iter()
                    .any(|r| r.protocols.contains(&protocol) && (r.first..=r.last).contains(&port))
        })
        .collect();
    let mut ways = Vec::new();
    for service in &on_port {
        for source in &service.allow {
            let Source::Network(network) = source else {
                continue;
            };
            for prefix in prefixes_of(key.source) {
                let way = WayIn::AddToNetwork {
                    network: network.clone(),
                    service: service.name.clone(),
                    prefix,
                };
                if !ways.contains(&way) {
                    ways.push(way);
                }
            }
        }
    }
    if let Some(host) = prefixes_of(key.source).into_iter().next() {
        // Temporary access to each service on that port, for the host alone.
        ways.extend(on_port.iter().map(|s| WayIn::Grant {
            service: s.name.clone(),
            source: host,
        }));
        ways.push(WayIn::NewService {
            port,
            proto: key.proto,
            source: host,
        });
    }
    ways
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drops::tally::{Tally, tests::dropped};

    #[test]
    fn a_network_the_port_allows_comes_first_then_a_new_service() {
        let policy = crate::policy::parse(
            "[networks]\nadmin = [\"10.8.0.0/24\"]\n[services.agents]\nports = [\"9000-9010/tcp\"]\nallow = [\"admin\", \"192.0.2.7\"]\n",
        )
        .unwrap();
        let mut t = Tally::default();
        t.add(dropped("203.0.113.9", 9001, 1));
        let ways = ways_in(&policy, t.entries()[0]);
        let labels: Vec<String> = ways.iter().map(WayIn::label).collect();
        assert_eq!(
            labels,
            [
                "add 203.0.113.9/32 to network admin (service agents allows it)",
                "add 203.0.113.0/24 to network admin (service agents allows it)",
                "let 203.0.113.9/32 reach agents for a while (a grant, at once)",
                "a new service for 9001/tcp from 203.0.113.9/32",
            ]
        );
        assert_eq!(
            prefixes_of("2001:db8:77::9".parse().unwrap())
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>(),
            ["2001:db8:77::9/128", "2001:db8:77::/64"]
        );
    }
}
