//! The evaluator: what the compiled policy does with one new inbound packet, and which rule
//! decides it. Pure; it reads the policy, not the kernel, so it answers "what would happen"
//! for a proposed policy before anything is applied.
//!
//! It models the input chain portcullis compiles, in its order: loopback accepted,
//! established/related accepted, invalid dropped, the blocks (any match refuses), then one
//! rule per service (any match accepts), then the chain's policy. Only the first packet of a new connection is modelled;
//! other tables on the same hook are not (a drop there wins in nftables).

use std::net::IpAddr;

use crate::policy::{Policy, Protocol, Service, Source, Verdict, interface_matches};

/// The first packet of a new inbound connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub source: IpAddr,
    pub protocol: Protocol,
    pub port: u16,
    /// The input interface, if known. A service limited to interfaces never matches an
    /// unknown interface, so an unknown one errs towards "dropped" (the safe side for a
    /// lockout warning).
    pub interface: Option<&'a str>,
    /// The host's own address it was sent to, if known. A service `on` some addresses never
    /// matches an unknown one (the same safe side as the interface).
    pub destination: Option<IpAddr>,
}

/// The rule that decides a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidingRule {
    /// `iifname "lo" accept`.
    Loopback,
    /// A block's rule: refused before any service.
    Block(String),
    /// The service's rule for the packet's family.
    Service(String),
    /// No rule matched: the input chain's policy.
    ChainPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub rule: DecidingRule,
}

/// The verdict of the policy's input chain for `packet`.
pub fn evaluate(policy: &Policy, packet: &Packet<'_>) -> Decision {
    if packet.interface == Some("lo") {
        return Decision {
            verdict: Verdict::Accept,
            rule: DecidingRule::Loopback,
        };
    }
    // Blocks come before every service, sorted by name as the compiler emits them.
    for block in policy.blocks.values() {
        if block.direction.inbound()
            && block.covers_port(packet.protocol, packet.port)
            && block
                .from
                .iter()
                .any(|s| policy.source_contains(s, packet.source))
        {
            return Decision {
                verdict: Verdict::Drop,
                rule: DecidingRule::Block(block.name.clone()),
            };
        }
    }
    // Services are sorted by name, as the compiler emits them; all of them accept, so the
    // first match is the one whose counter moves.
    for service in policy.services.values() {
        if service.direction.inbound() && service_matches(policy, service, packet) {
            return Decision {
                verdict: Verdict::Accept,
                rule: DecidingRule::Service(service.name.clone()),
            };
        }
    }
    Decision {
        verdict: policy.settings.input_policy,
        rule: DecidingRule::ChainPolicy,
    }
}

fn service_matches(policy: &Policy, service: &Service, packet: &Packet<'_>) -> bool {
    let port_ok = service.ports.iter().any(|range| {
        range.protocols.contains(&packet.protocol)
            && (range.first..=range.last).contains(&packet.port)
    });
    let on_ok = service.on.is_empty()
        || packet
            .destination
            .is_some_and(|local| service.is_on(policy, local));
    port_ok
        && on_ok
        && interfaces_match(&service.interfaces, packet.interface)
        && service
            .allow
            .iter()
            .any(|source| source_matches(policy, source, packet.source))
}

pub fn interfaces_match(interfaces: &[String], interface: Option<&str>) -> bool {
    if interfaces.is_empty() {
        return true;
    }
    let Some(name) = interface else {
        return false;
    };
    interfaces
        .iter()
        .any(|pattern| interface_matches(pattern, name))
}

pub fn source_matches(policy: &Policy, source: &Source, address: IpAddr) -> bool {
    policy.source_contains(source, address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy;

    const POLICY: &str = r#"
[networks]
admin = ["192.0.2.10", "2001:db8:1::/64"]

[services.ssh]
ports = ["22/tcp"]
allow = ["admin"]

[services.dns]
ports = ["53/tcp+udp"]
allow = ["any"]
interfaces = ["eth*"]

[services.backup]
ports = ["9000-9001/tcp"]
allow = ["198.51.100.0/24"]

[services.egress]
ports = ["443/tcp"]
allow = ["any"]
direction = "out"
"#;

    fn decide(src: &str, protocol: Protocol, port: u16, iif: Option<&str>) -> Decision {
        let p = policy::parse(POLICY).expect("valid");
        evaluate(
            &p,
            &Packet {
                source: src.parse().expect("address"),
                protocol,
                port,
                interface: iif,
                destination: None,
            },
        )
    }

    fn accepted_by(rule: &str) -> Decision {
        Decision {
            verdict: Verdict::Accept,
            rule: DecidingRule::Service(rule.to_string()),
        }
    }

    const DROPPED: Decision = Decision {
        verdict: Verdict::Drop,
        rule: DecidingRule::ChainPolicy,
    };

    #[test]
    fn verdicts_follow_the_services() {
        let tcp = Protocol::Tcp;
        let udp = Protocol::Udp;
        let cases: &[(&str, Protocol, u16, Option<&str>, Decision)] = &[
            ("192.0.2.10", tcp, 22, Some("eth0"), accepted_by("ssh")),
            ("192.0.2.11", tcp, 22, Some("eth0"), DROPPED),
            ("2001:db8:1::5", tcp, 22, None, accepted_by("ssh")),
            ("2001:db8:2::5", tcp, 22, None, DROPPED),
            ("192.0.2.10", udp, 22, Some("eth0"), DROPPED),
            ("203.0.113.1", udp, 53, Some("eth1"), accepted_by("dns")),
            ("203.0.113.1", udp, 53, Some("wlan0"), DROPPED),
            ("203.0.113.1", udp, 53, None, DROPPED),
            ("198.51.100.7", tcp, 9001, None, accepted_by("backup")),
            ("198.51.100.7", tcp, 9002, None, DROPPED),
            ("203.0.113.1", tcp, 443, None, DROPPED),
            (
                "203.0.113.1",
                tcp,
                443,
                Some("lo"),
                Decision {
                    verdict: Verdict::Accept,
                    rule: DecidingRule::Loopback,
                },
            ),
        ];
        for (src, proto, port, iif, want) in cases {
            assert_eq!(
                &decide(src, *proto, *port, *iif),
                want,
                "{src} {proto}/{port} on {iif:?}"
            );
        }
    }

    #[test]
    fn an_accepting_chain_policy_accepts_the_rest() {
        let p = policy::parse("[settings]\ninput_policy = \"accept\"\n").expect("valid");
        let d = evaluate(
            &p,
            &Packet {
                source: "192.0.2.1".parse().expect("address"),
                protocol: Protocol::Tcp,
                port: 1,
                interface: None,
                destination: None,
            },
        );
        assert_eq!(d.verdict, Verdict::Accept);
        assert_eq!(d.rule, DecidingRule::ChainPolicy);
    }

    #[test]
    fn a_block_refuses_before_any_service_on_its_ports_only() {
        let p = policy::parse(
            "[networks]\nadmin = [\"192.0.2.0/24\"]\n\
             [blocks.rogue]\nfrom = [\"192.0.2.66\"]\nports = [\"22/tcp\"]\naction = \"reject\"\n\
             [services.ssh]\nports = [\"22/tcp\", \"2222/tcp\"]\nallow = [\"admin\"]\n",
        )
        .expect("valid");
        let from = |src: &str, port: u16| {
            evaluate(
                &p,
                &Packet {
                    source: src.parse().expect("address"),
                    protocol: Protocol::Tcp,
                    port,
                    interface: Some("eth0"),
                    destination: None,
                },
            )
        };
        assert_eq!(
            from("192.0.2.66", 22),
            Decision {
                verdict: Verdict::Drop,
                rule: DecidingRule::Block("rogue".into()),
            }
        );
        assert_eq!(from("192.0.2.66", 2222), accepted_by("ssh"));
        assert_eq!(from("192.0.2.65", 22), accepted_by("ssh"));
    }

    #[test]
    fn a_service_on_some_addresses_admits_only_what_is_sent_to_them() {
        let p = policy::parse(
            "[networks]\nmgmt = [\"10.0.0.0/24\", \"2001:db8:5::/64\"]\n\
             [services.console]\nports = [\"9090/tcp\"]\nallow = [\"any\"]\n\
             on = [\"mgmt\", \"192.0.2.5\"]\n",
        )
        .expect("valid");
        let to = |destination: Option<&str>| {
            evaluate(
                &p,
                &Packet {
                    source: "198.51.100.1".parse().expect("address"),
                    protocol: Protocol::Tcp,
                    port: 9090,
                    interface: Some("eth0"),
                    destination: destination.map(|d| d.parse().expect("address")),
                },
            )
        };
        assert_eq!(to(Some("10.0.0.5")), accepted_by("console"));
        assert_eq!(to(Some("2001:db8:5::1")), accepted_by("console"));
        assert_eq!(to(Some("192.0.2.5")), accepted_by("console"));
        assert_eq!(to(Some("192.0.2.6")), DROPPED);
        // Unknown: the safe side.
        assert_eq!(to(None), DROPPED);
    }
}
