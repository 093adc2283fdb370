//! The SIEM example applied for real in a namespace: real TCP and UDP packets from each of
//! its networks, over IPv4 and IPv6, reach exactly the services the policy allows them, the
//! rule counters count them, and `diff` right after `apply` says nothing changed.

mod common;

use std::collections::BTreeSet;

use common::{Proto, lab};
use serde_json::Value;

const SIEM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/examples/siem-server.toml"
);

const TCP_PORTS: &[u16] = &[22, 80, 443, 9090, 9000, 9001, 50051, 6514, 8080];
const UDP_PORTS: &[u16] = &[514, 2055, 4739, 6514];

/// (source address, what the example allows it) — written from the policy's intent, not
/// from the compiler, so that a compiler bug cannot agree with itself.
fn sources() -> Vec<(&'static str, Vec<(Proto, u16)>)> {
    use Proto::{Tcp, Udp};
    let admin = vec![(Tcp, 22), (Tcp, 9090)];
    let soc = vec![(Tcp, 80), (Tcp, 443)];
    let agents = vec![
        (Tcp, 9000),
        (Tcp, 9001),
        (Tcp, 50051),
        (Tcp, 6514),
        (Udp, 514),
    ];
    let netdevices = vec![(Udp, 2055), (Udp, 4739)];
    vec![
        ("192.0.2.10", admin.clone()),
        ("2001:db8:0:1::10", admin),
        ("198.51.100.7", soc.clone()),
        ("2001:db8:10:5::7", soc),
        ("203.0.113.7", agents.clone()),
        ("2001:db8:20::7", agents),
        ("203.0.113.130", netdevices),
        // Outsiders: next to the admin host, just past the agents, and an unknown v6 net.
        ("192.0.2.11", vec![]),
        ("203.0.113.200", vec![]),
        ("2001:db8:99::9", vec![]),
    ]
}

fn probes() -> Vec<(&'static str, Proto, u16)> {
    let mut probes = Vec::new();
    for (src, _) in sources() {
        probes.extend(TCP_PORTS.iter().map(|&p| (src, Proto::Tcp, p)));
        probes.extend(UDP_PORTS.iter().map(|&p| (src, Proto::Udp, p)));
    }
    probes
}

fn rules_json(lab: &common::Lab) -> Value {
    let out = lab.portcullis_ok(&["--policy", SIEM, "rules", "--json"]);
    serde_json::from_str(&out).expect("rules --json is JSON")
}

fn packets(rules: &Value, service: Option<&str>, needle: &str) -> u64 {
    let matching: Vec<&Value> = rules["rules"]
        .as_array()
        .expect("rules array")
        .iter()
        .filter(|r| {
            r["service"].as_str() == service
                && r["rule"].as_str().is_some_and(|t| t.contains(needle))
        })
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "exactly one rule for {service:?} containing {needle:?}: {rules:#}"
    );
    matching[0]["packets"].as_u64().expect("counted rule")
}

#[test]
fn siem_example_admits_each_network_to_exactly_its_services() {
    let Some(mut lab) = lab() else { return };
    for (src, _) in sources() {
        lab.add_client_addr(src);
    }
    lab.listen(Proto::Tcp, TCP_PORTS);
    lab.listen(Proto::Udp, UDP_PORTS);
    let probes = probes();

    // Without a firewall every probe must get through; otherwise the lab is broken and a
    // "blocked" below would prove nothing.
    let open = lab.reachable(&probes);
    let unreachable: Vec<_> = probes
        .iter()
        .zip(&open)
        .filter(|(_, ok)| !**ok)
        .map(|(p, _)| p)
        .collect();
    assert!(
        unreachable.is_empty(),
        "lab broken, unreachable without a firewall: {unreachable:?}"
    );

    let out = lab.portcullis_ok(&["--policy", SIEM, "apply", "--yes"]);
    assert!(out.contains("created table inet portcullis"), "{out}");

    let before = rules_json(&lab);
    assert_eq!(before["present"], true);

    let got = lab.reachable(&probes);
    let allowed: Vec<(&str, BTreeSet<(bool, u16)>)> = sources()
        .into_iter()
        .map(|(s, list)| {
            (
                s,
                list.into_iter()
                    .map(|(p, port)| (p == Proto::Tcp, port))
                    .collect(),
            )
        })
        .collect();
    let mut wrong = Vec::new();
    for (&(src, proto, port), &reached) in probes.iter().zip(&got) {
        let expected = allowed
            .iter()
            .find(|(s, _)| *s == src)
            .is_some_and(|(_, set)| set.contains(&(proto == Proto::Tcp, port)));
        if expected != reached {
            wrong.push(format!(
                "{src} -> {proto:?}/{port}: expected {expected}, got {reached}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the firewall disagrees with the policy:\n{}",
        wrong.join("\n")
    );

    // The counters saw those packets: each service rule that was probed, and the drop.
    let after = rules_json(&lab);
    for (service, needle) in [
        ("ssh", "ip saddr"),
        ("ssh", "ip6 saddr"),
        ("web", "ip saddr"),
        ("web", "ip6 saddr"),
        ("syslog", "ip saddr"),
        ("agents", "ip6 saddr"),
        ("flows", "ip saddr"),
    ] {
        let (b, a) = (
            packets(&before, Some(service), needle),
            packets(&after, Some(service), needle),
        );
        assert!(
            a > b,
            "{service} ({needle}) counter did not move: {b} -> {a}"
        );
    }
    let drops =
        packets(&after, None, "input policy drop") - packets(&before, None, "input policy drop");
    assert!(
        drops > 0,
        "the catch-all before the drop policy counted nothing"
    );

    let diff = lab.portcullis(&["--policy", SIEM, "diff"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "diff right after apply: {}",
        String::from_utf8_lossy(&diff.stdout)
    );
}
