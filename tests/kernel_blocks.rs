//! `[blocks.NAME]` in the real kernel: a blocked source gets nothing even from a service its
//! network is allowed on; `reject` answers at once (a TCP reset, an ICMP port unreachable
//! for UDP), `drop` lets the sender time out; and a blocklist of 100,000 prefixes is one
//! rule per family.

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{Proto, in_ns, lab, policy_file};

const POLICY: &str = r#"
[networks]
partners = ["198.51.100.0/24", "2001:db8:77::/48"]

[blocks.rogue]
from = ["198.51.100.0/28"]
action = "reject"

[blocks.quiet]
from = ["2001:db8:77:66::/64"]

[services.ssh]
ports = ["22/tcp"]
allow = ["partners"]

[services.syslog]
ports = ["514/udp"]
allow = ["partners"]
"#;

/// A TCP connect from `src` to the server's `port`: how it ended, and how long it took.
fn connect(client: &str, src: &str, port: u16) -> (std::io::Result<()>, Duration) {
    let src: IpAddr = src.parse().expect("address");
    in_ns(client, move || {
        common::tcp_connect(
            src,
            common::server_of(src),
            port,
            Duration::from_millis(1500),
        )
    })
}

#[test]
fn a_block_wins_over_an_allowed_network_and_reject_answers_at_once() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(POLICY);
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    for a in [
        "198.51.100.5",
        "198.51.100.200",
        "2001:db8:77::5",
        "2001:db8:77:66::5",
    ] {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, &[22]);
    lab.listen(Proto::Udp, &[514]);
    let client = lab.client.clone();

    // Allowed and not blocked: in.
    let probes = [
        ("198.51.100.200", Proto::Tcp, 22),
        ("2001:db8:77::5", Proto::Tcp, 22),
        ("198.51.100.200", Proto::Udp, 514),
    ];
    assert_eq!(lab.reachable(&probes), vec![true, true, true]);

    // Rejected: a reset, at once, though sshd listens and partners may reach it.
    let (result, took) = connect(&client, "198.51.100.5", 22);
    let err = result.expect_err("a blocked source got in");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert!(took < Duration::from_millis(500), "the reset took {took:?}");
    eprintln!("reject: connection refused after {took:?}");

    // Rejected over UDP: an ICMP port unreachable, which a connected socket reads as
    // "connection refused"; the listener sees nothing.
    let refused = in_ns(&client, || {
        let s = UdpSocket::bind("198.51.100.5:0").expect("bind");
        s.connect((common::SERVER4, 514)).expect("connect");
        s.send(b"hello").expect("send");
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .expect("timeout");
        let start = Instant::now();
        let mut buf = [0u8; 16];
        (s.recv(&mut buf).map_err(|e| e.kind()), start.elapsed())
    });
    assert_eq!(refused.0, Err(ErrorKind::ConnectionRefused), "{refused:?}");
    eprintln!("reject: UDP port unreachable after {:?}", refused.1);
    assert_eq!(
        lab.reachable(&[("198.51.100.5", Proto::Udp, 514)]),
        vec![false]
    );

    // Dropped: nothing comes back; the sender waits out its timeout.
    let (result, took) = connect(&client, "2001:db8:77:66::5", 22);
    let err = result.expect_err("a blocked source got in");
    assert!(
        matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(1400),
        "gave up after {took:?}"
    );

    // The block's counters say what it refused.
    let rules = lab.portcullis_ok(&["--policy", path, "rules"]);
    assert!(
        rules.contains("block rogue") || rules.contains("block=rogue"),
        "{rules}"
    );

    // `sockets` says which blocks refuse some sources first.
    let out = lab.portcullis_ok(&["--policy", path, "sockets", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let ssh = doc["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .find(|s| s["port"] == 22)
        .expect("the ssh socket");
    assert_eq!(
        ssh["blocked_by"],
        serde_json::json!(["quiet", "rogue"]),
        "{ssh}"
    );

    // `check` warns that the blocks refuse part of what ssh allows, naming both.
    let out = lab.portcullis(&["--policy", path, "check"]);
    assert!(out.status.success(), "a warning is not an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: block rogue refuses 198.51.100.0/28 on 22/tcp, which service ssh allows"
        ),
        "{stderr}"
    );
}

#[test]
fn a_blocklist_of_100000_prefixes_is_one_rule_per_family() {
    let Some(lab) = lab() else { return };
    let mut text = String::from("[networks]\nscanners = [\n");
    for i in 0..50_000u32 {
        text.push_str(&format!(
            "  \"10.{}.{}.{}\",\n",
            (i >> 16) & 255,
            (i >> 8) & 255,
            (i * 2) & 255
        ));
        text.push_str(&format!("  \"2001:db8:{:x}::/64\",\n", i));
    }
    text.push_str("]\n\n[blocks.scanners]\nfrom = [\"scanners\"]\n\n[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n");
    let policy = policy_file(&text);
    let path = policy.path().to_str().expect("path");
    let start = Instant::now();
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    eprintln!("apply of 100,000 blocked prefixes: {:?}", start.elapsed());
    let table = lab.nft(&["-t", "list", "table", "inet", "portcullis"]);
    let block_rules: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("block=scanners"))
        .collect();
    assert_eq!(block_rules.len(), 2, "{block_rules:#?}");
    assert!(
        block_rules[0].contains("ip saddr @net_scanners_v4"),
        "{block_rules:#?}"
    );
    assert!(
        block_rules[1].contains("ip6 saddr @net_scanners_v6"),
        "{block_rules:#?}"
    );
}
