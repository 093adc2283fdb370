//! `interfaces` limits a service to the interfaces it names; `direction = "out"`
//! services are what a host with `output_policy = "drop"` may send — while replies to
//! allowed inbound connections and IPv6 neighbour discovery keep working; and
//! `direction = "both"` admits the same ports in from and out to its `allow`; `on`
//! limits a service to some of the host's own addresses.

mod common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use common::{Proto, in_ns, lab, policy_file};

#[test]
fn interfaces_limit_a_service_to_the_named_ones() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(&format!(
        "[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\ninterfaces = [\"{}\"]\n\n\
         [services.web]\nports = [\"80/tcp\"]\nallow = [\"any\"]\ninterfaces = [\"nosuchif0\"]\n\n\
         [services.wild]\nports = [\"8080/tcp\"]\nallow = [\"any\"]\ninterfaces = [\"pcs*\"]\n",
        lab.server_if
    ));
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);

    lab.add_client_addr("192.0.2.50");
    lab.add_client_addr("2001:db8:50::50");
    lab.listen(Proto::Tcp, &[22, 80, 8080]);
    let probes = [
        ("192.0.2.50", Proto::Tcp, 22),
        ("2001:db8:50::50", Proto::Tcp, 22),
        ("192.0.2.50", Proto::Tcp, 80),
        ("192.0.2.50", Proto::Tcp, 8080),
        ("2001:db8:50::50", Proto::Tcp, 8080),
    ];
    assert_eq!(
        lab.reachable(&probes),
        vec![true, true, false, true, true],
        "{probes:?}"
    );
}

#[test]
fn outbound_services_are_all_a_drop_output_policy_lets_out() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(
        "[settings]\noutput_policy = \"drop\"\n\n\
         [networks]\nresolvers = [\"192.0.2.53\", \"2001:db8:53::53\"]\n\n\
         [services.dns]\nports = [\"53/udp\"]\nallow = [\"resolvers\"]\ndirection = \"out\"\n\n\
         [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n",
    );
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);

    let client_addrs = [
        "192.0.2.53",
        "192.0.2.54",
        "2001:db8:53::53",
        "2001:db8:53::54",
    ];
    for a in client_addrs {
        lab.add_client_addr(a);
    }
    // A resolver-like listener on the client side.
    let listener = in_ns(&lab.client, || {
        let s = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, None)
            .expect("socket");
        s.set_only_v6(false).expect("dual stack");
        s.bind(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 53).into())
            .expect("bind 53");
        UdpSocket::from(s)
    });
    // The server sends one query to each; the kernel refuses the ones the output chain drops.
    let sent = in_ns(&lab.server, move || {
        client_addrs
            .iter()
            .map(|a| {
                let dst: IpAddr = a.parse().expect("addr");
                let any: IpAddr = if dst.is_ipv4() {
                    "0.0.0.0".parse().expect("v4")
                } else {
                    "::".parse().expect("v6")
                };
                let s = UdpSocket::bind(SocketAddr::new(any, 0)).expect("bind");
                s.send_to(a.as_bytes(), SocketAddr::new(dst, 53)).is_ok()
            })
            .collect::<Vec<bool>>()
    });
    assert_eq!(
        sent,
        vec![true, false, true, false],
        "sends refused by the output chain"
    );

    listener
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    let mut arrived = Vec::new();
    let mut buf = [0u8; 64];
    while arrived.len() < 2 {
        match listener.recv(&mut buf) {
            Ok(n) => arrived.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => break,
        }
    }
    arrived.sort();
    assert_eq!(
        arrived,
        vec!["192.0.2.53".to_string(), "2001:db8:53::53".to_string()]
    );

    // Inbound ssh still works: its replies leave through `ct state established`, and IPv6
    // neighbour discovery gets out through the ICMPv6 essentials.
    lab.add_client_addr("192.0.2.60");
    lab.add_client_addr("2001:db8:60::60");
    lab.listen(Proto::Tcp, &[22]);
    let probes = [
        ("192.0.2.60", Proto::Tcp, 22),
        ("2001:db8:60::60", Proto::Tcp, 22),
    ];
    assert_eq!(lab.reachable(&probes), vec![true, true]);
}

/// What became of one UDP request: answered, refused by the sender's own output chain
/// (the send fails), or met with silence.
#[derive(Debug, PartialEq, Eq)]
enum Exchange {
    Answered,
    Refused,
    Silent,
}

/// `src:port` (in namespace `asker`) asks `dst:port`, where a responder in `answerer`
/// echoes one datagram back. The responder is bound to `dst`, as an NTP server answers
/// from the address it was asked on (a wildcard socket could answer from another).
fn udp_exchange(asker: &str, answerer: &str, src: &str, dst: &str, port: u16) -> Exchange {
    let src: IpAddr = src.parse().expect("source");
    let dst: IpAddr = dst.parse().expect("destination");
    let responder = in_ns(answerer, move || {
        UdpSocket::bind(SocketAddr::new(dst, port)).expect("bind the responder")
    });
    let echo = std::thread::spawn(move || {
        responder
            .set_read_timeout(Some(Duration::from_millis(1500)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        if let Ok((n, peer)) = responder.recv_from(&mut buf) {
            let _ = responder.send_to(&buf[..n], peer);
        }
    });
    let outcome = in_ns(asker, move || {
        let s = UdpSocket::bind(SocketAddr::new(src, port)).expect("bind the asker");
        if s.send_to(b"time?", SocketAddr::new(dst, port)).is_err() {
            return Exchange::Refused;
        }
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        match s.recv(&mut buf) {
            Ok(_) => Exchange::Answered,
            Err(_) => Exchange::Silent,
        }
    });
    echo.join().expect("responder");
    outcome
}

#[test]
fn direction_both_lets_ntp_peers_ask_each_other_and_nothing_else_out() {
    let Some(mut lab) = lab() else { return };
    let policy = policy_file(
        "[settings]\noutput_policy = \"drop\"\n\n\
         [networks]\npeers = [\"192.0.2.123\", \"2001:db8:123::123\"]\n\n\
         [services.ntp]\nports = [\"123/udp\"]\nallow = [\"peers\"]\ndirection = \"both\"\n\n\
         [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n",
    );
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    for a in [
        "192.0.2.123",
        "192.0.2.124",
        "2001:db8:123::123",
        "2001:db8:123::124",
    ] {
        lab.add_client_addr(a);
    }
    let (server, client) = (lab.server.clone(), lab.client.clone());
    let s4 = common::SERVER4;
    let s6 = common::SERVER6;
    use Exchange::{Answered, Refused, Silent};
    let cases = [
        // The server asks its peers, and they answer (the answer is established traffic).
        (&server, &client, s4, "192.0.2.123", 123, Answered),
        (&server, &client, s6, "2001:db8:123::123", 123, Answered),
        // The peers ask the server, and it answers.
        (&client, &server, "192.0.2.123", s4, 123, Answered),
        (&client, &server, "2001:db8:123::123", s6, 123, Answered),
        // Not a peer: not asked, and not answered.
        (&server, &client, s4, "192.0.2.124", 123, Refused),
        (&client, &server, "192.0.2.124", s4, 123, Silent),
        // Other UDP out, even to a peer: refused.
        (&server, &client, s4, "192.0.2.123", 124, Refused),
        (&server, &client, s6, "2001:db8:123::124", 123, Refused),
    ];
    for (asker, answerer, src, dst, port, want) in cases {
        assert_eq!(
            udp_exchange(asker, answerer, src, dst, port),
            want,
            "{src} asking {dst}:{port}"
        );
    }
    // Inbound ssh keeps working beside it.
    lab.add_client_addr("192.0.2.60");
    lab.listen(Proto::Tcp, &[22]);
    assert_eq!(lab.reachable(&[("192.0.2.60", Proto::Tcp, 22)]), vec![true]);
}

#[test]
fn on_admits_traffic_to_the_addresses_it_names_and_not_to_the_others() {
    let Some(mut lab) = lab() else { return };
    // The server has two addresses of each family; the console is on the first of each
    // (a network), the api on the second IPv4 one (beside one the server does not have)
    // and the second IPv6 one; ssh is everywhere.
    lab.add_server_addr("192.0.2.2");
    lab.add_server_addr("2001:db8:ffff::2");
    let policy = policy_file(&format!(
        "[networks]\nmgmt = [\"{}\", \"{}\"]\n\n\
         [services.console]\nports = [\"9090/tcp\", \"9090/udp\"]\nallow = [\"any\"]\non = [\"mgmt\"]\n\n\
         [services.api]\nports = [\"8443/tcp\"]\nallow = [\"198.51.100.0/24\", \"2001:db8:77::/48\"]\n\
         on = [\"192.0.2.2\", \"192.0.2.200\", \"2001:db8:ffff::2\"]\n\n\
         [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n",
        common::SERVER4,
        common::SERVER6
    ));
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
    for a in ["198.51.100.5", "2001:db8:77::5"] {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, &[9090, 8443, 22]);
    lab.listen(Proto::Udp, &[9090]);
    let first4: IpAddr = common::SERVER4.parse().expect("ip");
    let first6: IpAddr = common::SERVER6.parse().expect("ip");
    let second4: IpAddr = "192.0.2.2".parse().expect("ip");
    let second6: IpAddr = "2001:db8:ffff::2".parse().expect("ip");
    let (v4, v6) = ("198.51.100.5", "2001:db8:77::5");
    let probes = [
        (v4, Proto::Tcp, first4, 9090),
        (v4, Proto::Tcp, second4, 9090),
        (v6, Proto::Tcp, first6, 9090),
        (v6, Proto::Tcp, second6, 9090),
        (v4, Proto::Udp, first4, 9090),
        (v4, Proto::Udp, second4, 9090),
        (v6, Proto::Udp, first6, 9090),
        (v6, Proto::Udp, second6, 9090),
        (v4, Proto::Tcp, first4, 8443),
        (v4, Proto::Tcp, second4, 8443),
        (v6, Proto::Tcp, first6, 8443),
        (v6, Proto::Tcp, second6, 8443),
        (v4, Proto::Tcp, second4, 22),
        (v6, Proto::Tcp, second6, 22),
    ];
    let want = [
        true, false, true, false, // console over TCP: on the first addresses only
        true, false, true, false, // and over UDP
        false, true, false, true, // the api: on the second ones only
        true, true, // ssh: everywhere
    ];
    assert_eq!(lab.reachable_at(&probes).as_slice(), want, "{probes:?}");

    // The kernel's table says so in its own terms: one address as itself, more as a set.
    let table = lab.nft(&["list", "table", "inet", "portcullis"]);
    assert!(table.contains("ip daddr @net_mgmt_v4"), "{table}");
    assert!(table.contains("ip daddr @on_api_v4"), "{table}");
    assert!(table.contains("ip6 daddr 2001:db8:ffff::2 "), "{table}");
    // And `sockets` shows where each is reached.
    let out = lab.portcullis_ok(&["--policy", path, "sockets", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let console = doc["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .find(|s| s["port"] == 9090 && s["protocol"] == "tcp")
        .expect("the console's socket");
    assert_eq!(
        console["reachable_on"],
        serde_json::json!(["mgmt"]),
        "{console}"
    );
}
