//! The socket table against `ss`, in a namespace with real listeners and real connections:
//! `portcullis sockets --json` must list what `ss -tulnp` lists, socket for socket, with
//! the same owning process and the connection counts `ss` sees.

mod common;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use common::{SERVER4, SERVER6, in_ns, lab, policy_file};
use serde_json::Value;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// (protocol, address, port, dual-stack, interface, pid)
type Row = (String, String, u16, bool, Option<String>, Option<u64>);

fn tcp(addr: &str, v6only: Option<bool>, device: Option<&str>) -> TcpListener {
    let addr: SocketAddr = addr.parse().expect("address");
    let s =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).expect("socket");
    if let Some(only) = v6only {
        s.set_only_v6(only).expect("v6only");
    }
    if let Some(dev) = device {
        s.bind_device(Some(dev.as_bytes())).expect("bind device");
    }
    s.set_reuse_address(true).expect("reuse");
    s.bind(&SockAddr::from(addr)).expect("bind");
    s.listen(16).expect("listen");
    s.into()
}

fn udp(addr: &str, v6only: Option<bool>) -> UdpSocket {
    let addr: SocketAddr = addr.parse().expect("address");
    let s =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    if let Some(only) = v6only {
        s.set_only_v6(only).expect("v6only");
    }
    s.bind(&SockAddr::from(addr)).expect("bind");
    s.into()
}

/// Parses `ss -tulnpH` lines into rows.
fn ss_rows(text: &str) -> BTreeSet<Row> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (host, port) = f[4].rsplit_once(':').expect("addr:port");
            let (host, interface) = match host.split_once('%') {
                Some((h, dev)) => (h, Some(dev.to_string())),
                None => (host, None),
            };
            let (address, dual) = match host {
                "*" => ("::".to_string(), true),
                h => (h.trim_matches(|c| c == '[' || c == ']').to_string(), false),
            };
            let pid = line
                .split("pid=")
                .nth(1)
                .and_then(|p| p.split(',').next())
                .and_then(|p| p.parse().ok());
            (
                f[0].to_string(),
                address,
                port.parse().expect("port"),
                dual,
                interface,
                pid,
            )
        })
        .collect()
}

fn our_rows(doc: &Value) -> BTreeSet<Row> {
    doc["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .map(|s| {
            (
                s["protocol"].as_str().expect("protocol").to_string(),
                s["address"].as_str().expect("address").to_string(),
                s["port"].as_u64().expect("port") as u16,
                s["dual_stack"].as_bool().expect("dual"),
                s["interface"].as_str().map(str::to_string),
                s["process"]["pid"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn sockets_match_ss_socket_for_socket() {
    let Some(lab) = lab() else {
        return;
    };
    lab.add_client_addr("198.51.100.20");
    lab.add_client_addr("2001:db8:20::20");
    let dev = lab.server_if.clone();
    let (listeners, udps) = in_ns(&lab.server, move || {
        let listeners = vec![
            tcp("0.0.0.0:8001", None, None),
            tcp("[::]:8002", Some(true), None),
            tcp("[::]:8003", Some(false), None),
            tcp(&format!("{SERVER4}:8004"), None, None),
            tcp("127.0.0.1:8005", None, None),
            tcp("[::1]:8006", Some(true), None),
            tcp("0.0.0.0:8007", None, Some(&dev)),
            tcp(&format!("[{SERVER6}]:8008"), Some(true), None),
        ];
        let udps = vec![
            udp("0.0.0.0:5001", None),
            udp("[::]:5002", Some(true)),
            udp("[::]:5003", Some(false)),
            udp("127.0.0.1:5004", None),
        ];
        (listeners, udps)
    });
    // Real established connections from the client namespace: 3 to 8001, 2 to 8003 over
    // IPv4 (the dual-stack socket), 1 to 8003 over IPv6, 1 to 8004.
    let targets = [
        (SERVER4, 8001, 3),
        (SERVER4, 8003, 2),
        (SERVER6, 8003, 1),
        (SERVER4, 8004, 1),
    ];
    let clients = in_ns(&lab.client, move || {
        let mut streams = Vec::new();
        for (host, port, n) in targets {
            let ip: std::net::IpAddr = host.parse().expect("ip");
            for _ in 0..n {
                streams.push(
                    TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(2))
                        .expect("connect"),
                );
            }
        }
        streams
    });
    // Accept them, so they are established on the server side too.
    let mut accepted = Vec::new();
    for (i, l) in listeners.iter().enumerate() {
        let want = match i {
            0 => 3,
            2 => 3,
            3 => 1,
            _ => 0,
        };
        for _ in 0..want {
            accepted.push(l.accept().expect("accept").0);
        }
    }

    let policy = policy_file("[services.web]\nports = [\"8001/tcp\"]\nallow = [\"any\"]\n");
    // The live table: 8001 open to one network, 8004 to anyone.
    let live = policy_file(
        "[networks]\nlan = [\"198.51.100.0/24\"]\n[services.web]\nports = [\"8001/tcp\"]\nallow = [\"lan\"]\n\
         [services.app]\nports = [\"8004/tcp\"]\nallow = [\"any\"]\n",
    );
    lab.portcullis_ok(&[
        "--policy",
        live.path().to_str().expect("utf-8"),
        "apply",
        "--yes",
    ]);
    // Another table on the same hook: its rules may change every outcome above.
    lab.nft_script(
        "table ip other {\n\tchain in {\n\t\ttype filter hook input priority 10; policy accept;\n\t}\n}\n",
    );
    let ours: Value = serde_json::from_str(&lab.portcullis_ok(&[
        "--policy",
        policy.path().to_str().expect("utf-8"),
        "sockets",
        "--json",
    ]))
    .expect("json");
    let ss = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.server, "ss", "-tulnpH"])
        .output()
        .expect("ss");
    let theirs = ss_rows(&String::from_utf8_lossy(&ss.stdout));
    assert_eq!(our_rows(&ours), theirs, "portcullis vs ss -tulnp");
    assert_eq!(theirs.len(), 12);

    let me = std::process::id() as u64;
    let name = std::fs::read_to_string("/proc/self/comm").expect("comm");
    for s in ours["sockets"].as_array().expect("sockets") {
        assert_eq!(s["process"]["pid"].as_u64(), Some(me), "{s}");
        assert_eq!(s["process"]["name"].as_str(), Some(name.trim()), "{s}");
    }
    // The TCP socket on `port`, as portcullis listed it.
    let tcp_socket = |port: u64| -> Value {
        ours["sockets"]
            .as_array()
            .expect("sockets")
            .iter()
            .find(|s| s["port"] == port && s["protocol"] == "tcp")
            .cloned()
            .unwrap_or_else(|| panic!("no tcp socket on {port}"))
    };
    let conns = |port: u64| tcp_socket(port)["connections"].as_u64();
    assert_eq!(conns(8001), Some(3));
    assert_eq!(conns(8003), Some(3));
    assert_eq!(conns(8004), Some(1));
    assert_eq!(conns(8002), Some(0));
    // The same counts from ss, by local port.
    let est = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.server,
            "ss",
            "-tnH",
            "state",
            "established",
        ])
        .output()
        .expect("ss");
    let est = String::from_utf8_lossy(&est.stdout);
    for (port, n) in [(8001, 3), (8003, 3), (8004, 1)] {
        let seen = est
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .nth(2)
                    .is_some_and(|a| a.ends_with(&format!(":{port}")))
            })
            .count();
        assert_eq!(seen, n, "ss established to {port}:\n{est}");
    }

    let exposure = |port: u64| {
        tcp_socket(port)["exposure"]["kind"]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(exposure(8001).as_deref(), Some("anyone"));
    assert_eq!(exposure(8005).as_deref(), Some("loopback_only"));
    assert_eq!(exposure(8004).as_deref(), Some("uncovered"));
    let live_of = |port: u64| tcp_socket(port)["live_exposure"].clone();
    assert_eq!(
        live_of(8001),
        serde_json::json!({"kind": "networks", "networks": ["lan"]})
    );
    assert_eq!(live_of(8004), serde_json::json!({"kind": "anyone"}));
    assert_eq!(live_of(8002), serde_json::json!({"kind": "uncovered"}));
    let warnings = ours["warnings"].as_array().expect("warnings");
    assert!(
        warnings.len() == 1
            && warnings[0]
                .as_str()
                .is_some_and(|w| w.contains("table ip other")),
        "{warnings:?}"
    );
    drop((listeners, udps, clients, accepted));
}

#[test]
fn suggestions_propose_a_udp_server_and_not_an_ephemeral_client() {
    let Some(lab) = lab() else {
        return;
    };
    let sockets = in_ns(&lab.server, || {
        let syslog = udp("0.0.0.0:514", None);
        // A client's socket: bound to port 0, so the kernel picks an ephemeral port.
        let client = udp("0.0.0.0:0", None);
        let port = client.local_addr().expect("addr").port();
        (syslog, client, port)
    });
    let out = lab.portcullis_ok(&[
        "--policy",
        policy_file("").path().to_str().expect("utf-8"),
        "sockets",
        "--suggest",
    ]);
    assert!(out.contains("ports = [\"514/udp\"]"), "{out}");
    assert!(!out.contains(&format!("\"{}/udp\"", sockets.2)), "{out}");
    // The snippet is a policy `check` accepts.
    let file = policy_file(&out);
    lab.portcullis_ok(&["--policy", file.path().to_str().expect("utf-8"), "check"]);
    drop(sockets);
}

#[test]
fn without_root_other_users_processes_are_unknown() {
    let Some(lab) = lab() else {
        return;
    };
    let listener = in_ns(&lab.server, || tcp("0.0.0.0:8100", None, None));
    let out = lab.portcullis_unprivileged(
        &["--policy", "/dev/null", "sockets", "--json"],
        lab.state_dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let socket = doc["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .find(|s| s["port"] == 8100)
        .cloned()
        .expect("the listener is listed without root");
    assert!(socket["process"].is_null(), "{socket}");
    drop(listener);
}
