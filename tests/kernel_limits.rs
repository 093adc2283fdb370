//! `limit = "N/unit"` in the real kernel: a source opening new connections faster than the
//! limit is cut off after the burst and its drops are counted, while another source (and
//! the other family) still gets in.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{Proto, in_ns, lab, policy_file};

/// `n` new connections in a row from `src` to the server's ssh port: which got through.
fn connections(client: &str, src: &str, n: usize) -> Vec<bool> {
    let src: IpAddr = src.parse().expect("address");
    in_ns(client, move || {
        (0..n)
            // Shorter than TCP's first retransmission (1 s): one SYN per attempt.
            .map(|_| {
                common::tcp_connect(src, common::server_of(src), 22, Duration::from_millis(400))
                    .0
                    .is_ok()
            })
            .collect()
    })
}

#[test]
fn a_source_over_the_limit_is_cut_off_after_the_burst_and_another_is_not() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(
        "[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\nlimit = \"2/minute\"\nburst = 3\n",
    );
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    for a in ["198.51.100.5", "198.51.100.6", "2001:db8:77::5"] {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, &[22]);
    let client = lab.client.clone();

    let first = connections(&client, "198.51.100.5", 8);
    let through = first.iter().filter(|ok| **ok).count();
    eprintln!("8 connections in a row from one source: {first:?}");
    assert!(
        first[0],
        "the first connection is under any limit: {first:?}"
    );
    assert!(
        (2..=5).contains(&through),
        "the burst of 3 lets about 3 through: {first:?}"
    );
    let cut = first
        .iter()
        .position(|ok| !ok)
        .expect("cut off at some point");
    assert!(
        first[cut..].iter().all(|ok| !ok),
        "once over the limit, it stays cut off: {first:?}"
    );
    // Others are counted on their own.
    assert!(
        connections(&client, "198.51.100.6", 2).iter().all(|ok| *ok),
        "another source is not limited"
    );
    assert!(
        connections(&client, "2001:db8:77::5", 2)
            .iter()
            .all(|ok| *ok),
        "an IPv6 source is not limited by the IPv4 one's count"
    );
    // The drops are counted on the limit's own rule.
    let table = lab.nft(&["list", "table", "inet", "portcullis"]);
    let limit_rule = table
        .lines()
        .find(|l| l.contains("comment \"limit=ssh\"") && l.contains("ip saddr"))
        .expect("the limit's IPv4 rule");
    let dropped: u64 = limit_rule
        .split("counter packets ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a counter");
    assert!(dropped as usize >= 8 - through, "{limit_rule}");

    // An apply that changes nothing sends nothing: the meters' state survives it.
    let out = lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    assert!(out.contains("nothing to apply"), "{out}");
    assert!(
        !connections(&client, "198.51.100.5", 1)[0],
        "still cut off after an apply that changed nothing"
    );
}
