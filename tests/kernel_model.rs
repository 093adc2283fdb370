//! Model against kernel: random small policies (with `direction`, `on` and blocks) and
//! packets; the evaluator's verdict for each packet must equal what the kernel does with
//! it. Each policy is compiled and loaded into a namespace, and each packet is a real TCP
//! SYN from the client namespace across the veth pair to a port the server listens on:
//! accepted, the connection is made; dropped, it gets no answer; rejected by a block, a
//! reset.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{SERVER4, SERVER6, in_ns, lab};
use portcullis::eval::{Packet, evaluate};
use portcullis::nft::{compile, script};
use portcullis::policy::{self, Protocol, Verdict};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Source addresses the client has; the prefixes below cut across them.
const SOURCES: &[&str] = &[
    "198.51.100.5",
    "198.51.100.20",
    "198.51.100.200",
    "2001:db8:1::5",
    "2001:db8:1::99",
    "2001:db8:2::5",
];
const PREFIXES: &[&str] = &[
    "198.51.100.0/24",
    "198.51.100.16/28",
    "198.51.100.5",
    "198.51.100.128/25",
    "2001:db8:1::/64",
    "2001:db8:1::5",
    "2001:db8::/32",
];
const PORTS: std::ops::RangeInclusive<u16> = 1000..=1006;

#[derive(Debug, Clone)]
struct Case {
    input_accept: bool,
    networks: Vec<Vec<usize>>,
    services: Vec<Service>,
    /// (from indexes as for allow, but never `any`; a port of PORTS or every port; reject)
    blocks: Vec<(Vec<usize>, Option<u16>, bool)>,
    packets: Vec<(usize, u16)>,
}

/// (first port, span, protocols 0 tcp 1 udp 2 both, allow indexes, interfaces 0 none 1 ours
/// 2 other, direction 0 in 1 both 2 out, on: see ON, a limit no probe reaches)
type Service = (u16, u16, u8, Vec<usize>, u8, u8, u8, bool);

/// What `on` lists: nothing (absent), the server's address of one family or both, or an
/// address the server does not have.
const ON: &[&[&str]] = &[
    &[],
    &[SERVER4],
    &[SERVER6],
    &["192.0.2.99"],
    &[SERVER4, SERVER6],
];

fn case() -> impl Strategy<Value = Case> {
    let networks = prop::collection::vec(prop::collection::vec(0..PREFIXES.len(), 1..3), 0..3);
    let service = (
        PORTS,
        0u16..3,
        0u8..3,
        prop::collection::vec(0usize..12, 1..3),
        0u8..3,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop_oneof![4 => Just(0u8), 1 => 1u8..ON.len() as u8],
        prop::bool::weighted(0.2),
    );
    let services = prop::collection::vec(service, 1..4);
    let block = (
        prop::collection::vec(1usize..12, 1..3),
        prop::option::of(PORTS),
        prop::bool::ANY,
    );
    let blocks = prop::collection::vec(block, 0..2);
    let packets = prop::collection::vec((0..SOURCES.len(), PORTS), 4..7);
    (
        prop::bool::weighted(0.15),
        networks,
        services,
        blocks,
        packets,
    )
        .prop_map(|(input_accept, networks, services, blocks, packets)| Case {
            input_accept,
            networks,
            services,
            blocks,
            packets,
        })
}

/// The case as a policy file. `allow` indexes pick `any`, a network, or a literal prefix.
fn policy_text(case: &Case, our_interface: &str) -> String {
    let mut text = format!(
        "[settings]\ninput_policy = \"{}\"\n\n[networks]\n",
        if case.input_accept { "accept" } else { "drop" }
    );
    for (i, entries) in case.networks.iter().enumerate() {
        let list: Vec<String> = entries
            .iter()
            .map(|e| format!("\"{}\"", PREFIXES[*e]))
            .collect();
        text.push_str(&format!("n{i} = [{}]\n", list.join(", ")));
    }
    for (i, (first, span, protos, allow, ifaces, way, on, limited)) in
        case.services.iter().enumerate()
    {
        let proto = ["tcp", "udp", "tcp+udp"][*protos as usize];
        let ports = if *span == 0 {
            format!("{first}/{proto}")
        } else {
            format!("{first}-{}/{proto}", first + span)
        };
        let list = source_list(case, allow);
        text.push_str(&format!(
            "\n[services.s{i}]\nports = [\"{ports}\"]\nallow = [{}]\n",
            list.join(", ")
        ));
        match ifaces {
            1 => text.push_str(&format!("interfaces = [\"{our_interface}\"]\n")),
            2 => text.push_str("interfaces = [\"nomatch*\"]\n"),
            _ => {}
        }
        match way {
            1 => text.push_str("direction = \"both\"\n"),
            2 => text.push_str("direction = \"out\"\n"),
            _ => {}
        }
        let on: Vec<String> = ON[*on as usize]
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect();
        if !on.is_empty() {
            text.push_str(&format!("on = [{}]\n", on.join(", ")));
        }
        // Far above what a case sends: its rules must match as the evaluator says (the
        // evaluator models a first packet, which no limit refuses).
        if *limited && *way != 2 {
            text.push_str("limit = \"1000/second\"\nburst = 1000\n");
        }
    }
    for (i, (from, port, reject)) in case.blocks.iter().enumerate() {
        text.push_str(&format!(
            "\n[blocks.b{i}]\nfrom = [{}]\n",
            source_list(case, from).join(", ")
        ));
        if let Some(port) = port {
            text.push_str(&format!("ports = [\"{port}/tcp\"]\n"));
        }
        if *reject {
            text.push_str("action = \"reject\"\n");
        }
    }
    text
}

/// `allow` or `from` indexes as quoted TOML strings: 0 `any`, then the networks, then
/// literal prefixes.
fn source_list(case: &Case, indexes: &[usize]) -> Vec<String> {
    let mut sources: Vec<String> = indexes
        .iter()
        .map(|a| match a {
            0 => "any".to_string(),
            a if a - 1 < case.networks.len() => format!("n{}", a - 1),
            a => PREFIXES[a % PREFIXES.len()].to_string(),
        })
        .collect();
    sources.dedup();
    sources.iter().map(|s| format!("\"{s}\"")).collect()
}

/// The server's address of `src`'s family: where every probe goes.
fn server_of(src: IpAddr) -> IpAddr {
    if src.is_ipv4() {
        SERVER4.parse().expect("ip")
    } else {
        SERVER6.parse().expect("ip")
    }
}

/// Whether a SYN from `src` to the server's `port` was let in: the server listens on every
/// port of PORTS, so a connection means accepted, and a reset (a block's reject) or
/// silence means not.
fn kernel_accepts(client: &str, src: IpAddr, port: u16) -> bool {
    let server = server_of(src);
    let client = client.to_string();
    in_ns(&client, move || {
        let domain = if src.is_ipv4() {
            socket2::Domain::IPV4
        } else {
            socket2::Domain::IPV6
        };
        let s = socket2::Socket::new(domain, socket2::Type::STREAM, None).expect("socket");
        s.bind(&socket2::SockAddr::from(SocketAddr::new(src, 0)))
            .expect("bind source");
        match s.connect_timeout(
            &socket2::SockAddr::from(SocketAddr::new(server, port)),
            Duration::from_millis(250),
        ) {
            Ok(()) => true,
            Err(_) => false,
        }
    })
}

#[test]
fn the_evaluator_agrees_with_the_kernel() {
    let Some(mut lab) = lab() else {
        return;
    };
    for src in SOURCES {
        lab.add_client_addr(src);
    }
    let ports: Vec<u16> = PORTS.collect();
    lab.listen(common::Proto::Tcp, &ports);
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let server_if = lab.server_if.clone();
    // Both outcomes must be well represented, or agreeing would prove little.
    let accepted = std::sync::atomic::AtomicUsize::new(0);
    let dropped = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&case(), |case| {
        let text = policy_text(&case, &server_if);
        let policy = policy::parse(&text).map_err(|d| {
            TestCaseError::fail(format!(
                "generated an invalid policy:\n{text}\n{}",
                d.render("p", &text)
            ))
        })?;
        lab.nft_script(&script::text(&compile(&policy)));
        let verdicts: Vec<(usize, u16, bool)> = std::thread::scope(|scope| {
            let probes: Vec<_> = case
                .packets
                .iter()
                .map(|&(s, port)| {
                    let client = lab.client.clone();
                    scope.spawn(move || {
                        let src: IpAddr = SOURCES[s].parse().expect("ip");
                        (s, port, kernel_accepts(&client, src, port))
                    })
                })
                .collect();
            probes
                .into_iter()
                .map(|p| p.join().expect("probe"))
                .collect()
        });
        for (s, port, kernel) in verdicts {
            let tally = if kernel { &accepted } else { &dropped };
            tally.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let decision = evaluate(
                &policy,
                &Packet {
                    source: SOURCES[s].parse().expect("ip"),
                    protocol: Protocol::Tcp,
                    port,
                    interface: Some(&server_if),
                    destination: Some(server_of(SOURCES[s].parse().expect("ip"))),
                },
            );
            prop_assert_eq!(
                decision.verdict == Verdict::Accept,
                kernel,
                "packet from {} to {}/tcp: evaluator says {:?} ({:?}), kernel {}\npolicy:\n{}",
                SOURCES[s],
                port,
                decision.verdict,
                decision.rule,
                if kernel { "accepts" } else { "drops" },
                text
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (a, d) = (accepted.into_inner(), dropped.into_inner());
    assert!(
        a >= 100 && d >= 100,
        "too one-sided to mean much: {a} accepted, {d} dropped"
    );
}
