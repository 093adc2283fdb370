//! A network of 100,000 addresses costs one set and one rule per family, loads for real,
//! and filters real packets; `diff` reads it back as unchanged.

mod common;

use std::fmt::Write;
use std::net::Ipv4Addr;

use common::{Proto, lab, policy_file};

/// 100,000 hosts two apart in 100.64.0.0/10, so that none merge into a prefix.
fn big_network_policy() -> String {
    let base = u32::from(Ipv4Addr::new(100, 64, 0, 0));
    let mut text = String::from("[networks]\nbig = [\n");
    for i in 0..100_000u32 {
        let _ = writeln!(text, "  \"{}\",", Ipv4Addr::from(base + 2 * i));
    }
    text.push_str("]\n\n[services.api]\nports = [\"8443/tcp\"]\nallow = [\"big\"]\n");
    text
}

#[test]
fn hundred_thousand_addresses_are_one_set_and_filter_real_packets() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(&big_network_policy());
    let path = policy.path().to_str().expect("path");

    let summary = lab.portcullis_ok(&["--policy", path, "check"]);
    assert!(summary.contains("100000 set elements"), "{summary}");

    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);

    // One rule for the service: the set does the work.
    let rules = lab.nft(&["-t", "list", "chain", "inet", "portcullis", "input"]);
    assert_eq!(rules.matches("service=api").count(), 1, "{rules}");

    // First, second and last members are let in; their odd neighbours are not.
    let members = ["100.64.0.0", "100.64.0.2", "100.67.13.62"];
    let strangers = ["100.64.0.1", "100.64.0.3", "100.67.13.63", "100.67.13.64"];
    for a in members.iter().chain(&strangers) {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, &[8443]);
    let probes: Vec<_> = members
        .iter()
        .chain(&strangers)
        .map(|a| (*a, Proto::Tcp, 8443))
        .collect();
    let got = lab.reachable(&probes);
    assert_eq!(
        got,
        vec![true, true, true, false, false, false, false],
        "{probes:?}"
    );

    let counters = lab.portcullis_ok(&["--policy", path, "rules", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&counters).expect("json");
    let api = json["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["service"] == "api")
        .expect("api rule");
    assert!(api["packets"].as_u64().expect("packets") >= 3, "{api}");

    let diff = lab.portcullis(&["--policy", path, "diff"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
}
