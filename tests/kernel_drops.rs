//! The drop log against the real kernel: the table's default drop logs over NFLOG, and
//! `portcullis drops` (run in the server namespace) reads it. Real TCP SYNs, UDP datagrams
//! and ICMPv6 echo from an outsider, over IPv4 and IPv6, to allowed and refused ports; a
//! flood that the kernel's rate limit holds back; a second reader refused while the first
//! keeps reading. And the TUI in a real pty: the drop appears in its drops pane, one key
//! opens the form that lets the source in, the commit is made and confirmed, and the same
//! source then gets through.

mod common;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::pty::Pty;
use common::{Lab, Proto, SERVER4, SERVER6, in_ns, lab, policy_file, text};
use serde_json::Value;
use socket2::{Domain, Protocol as SockProto, SockAddr, Socket, Type};

const POLICY: &str = r#"
[settings]
allow_ping = false

[networks]
admin = ["10.8.0.0/24", "2001:db8:8::/64"]
office = ["203.0.113.0/24", "2001:db8:77::/64"]

[services.agents]
ports = ["9001/tcp"]
allow = ["admin"]

[services.syslog]
ports = ["514/udp"]
allow = ["admin"]

[services.web]
ports = ["80/tcp"]
allow = ["any"]
"#;

/// Added to POLICY for the tests where the operator is 203.0.113.9 over SSH.
const SSH_FROM_OFFICE: &str = "\n[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"office\"]\n";

const OUTSIDER4: &str = "203.0.113.9";
const OUTSIDER6: &str = "2001:db8:77::9";
const ADMIN4: &str = "10.8.0.5";

fn setup(policy: &str) -> Option<(Lab, tempfile::NamedTempFile)> {
    let mut lab = lab()?;
    for a in [OUTSIDER4, OUTSIDER6, ADMIN4] {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, &[9001, 80]);
    lab.listen(Proto::Udp, &[514]);
    let file = policy_file(policy);
    let path = file.path().to_str().unwrap().to_string();
    lab.portcullis_ok(&["--policy", &path, "apply", "--yes"]);
    Some((lab, file))
}

/// `portcullis drops ARGS` in the server namespace, once it has bound its group.
fn reader(lab: &Lab, policy: &str, args: &[&str]) -> Child {
    let mut all = vec!["--policy", policy, "drops"];
    all.extend_from_slice(args);
    let child = lab
        .portcullis_command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drops");
    wait_bound(lab, 47);
    child
}

/// The kernel lists each bound NFLOG group of the namespace in this file.
fn wait_bound(lab: &Lab, group: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &lab.server,
                "cat",
                "/proc/net/netfilter/nfnetlink_log",
            ])
            .output()
            .expect("read nfnetlink_log");
        let listing = String::from_utf8_lossy(&out.stdout);
        if listing
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&group.to_string()))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no reader bound NFLOG group {group} within 10 s");
}

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("drops output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn server(src: IpAddr) -> IpAddr {
    if src.is_ipv4() { SERVER4 } else { SERVER6 }
        .parse()
        .unwrap()
}

/// Exactly one SYN from `src` to `port`: a non-blocking connect, closed before the first
/// retransmission (a socket closed in SYN-SENT sends nothing more).
fn syn(lab: &Lab, src: &str, port: u16) {
    let src: IpAddr = src.parse().unwrap();
    in_ns(&lab.client, move || {
        let domain = if src.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        let s = Socket::new(domain, Type::STREAM, Some(SockProto::TCP)).unwrap();
        s.bind(&SockAddr::from(SocketAddr::new(src, 0))).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&SockAddr::from(SocketAddr::new(server(src), port)));
        std::thread::sleep(Duration::from_millis(150));
    });
}

fn udp(lab: &Lab, src: &str, port: u16, count: usize) {
    let src: IpAddr = src.parse().unwrap();
    in_ns(&lab.client, move || {
        let s = UdpSocket::bind(SocketAddr::new(src, 0)).unwrap();
        for _ in 0..count {
            let _ = s.send_to(b"probe", SocketAddr::new(server(src), port));
        }
    });
}

/// ICMPv6 echo requests over a raw socket (the kernel fills in the checksum).
fn echo6(lab: &Lab, src: &str, count: u16) {
    let src: IpAddr = src.parse().unwrap();
    in_ns(&lab.client, move || {
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(SockProto::ICMPV6)).unwrap();
        s.bind(&SockAddr::from(SocketAddr::new(src, 0))).unwrap();
        for seq in 0..count {
            let [hi, lo] = seq.to_be_bytes();
            let packet = [128u8, 0, 0, 0, 0x12, 0x34, hi, lo, 1, 2, 3, 4];
            s.send_to(&packet, &SockAddr::from(SocketAddr::new(server(src), 0)))
                .unwrap();
        }
    });
}

fn find<'a>(
    drops: &'a [Value],
    source: &str,
    protocol: &str,
    port: Option<u16>,
) -> Option<&'a Value> {
    drops.iter().find(|d| {
        d["source"] == source
            && d["protocol"] == protocol
            && match port {
                Some(p) => d["port"] == p,
                None => d["port"].is_null(),
            }
    })
}

#[test]
fn every_dropped_source_port_and_protocol_appears_with_its_count_interface_and_why() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    let child = reader(&lab, policy, &["--json", "--for", "4s"]);

    syn(&lab, OUTSIDER4, 9001);
    syn(&lab, OUTSIDER4, 9001);
    syn(&lab, OUTSIDER6, 9001);
    udp(&lab, OUTSIDER4, 514, 3);
    udp(&lab, OUTSIDER6, 7777, 2);
    echo6(&lab, OUTSIDER6, 2);
    // Accepted: these never appear.
    syn(&lab, ADMIN4, 9001);
    syn(&lab, OUTSIDER4, 80);
    udp(&lab, ADMIN4, 514, 2);

    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "drops failed: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let drops = report["drops"].as_array().expect("drops").clone();

    let expect = [
        (OUTSIDER4, "tcp", Some(9001), 2),
        (OUTSIDER6, "tcp", Some(9001), 1),
        (OUTSIDER4, "udp", Some(514), 3),
        (OUTSIDER6, "udp", Some(7777), 2),
        (OUTSIDER6, "icmpv6", None, 2),
    ];
    for (source, protocol, port, count) in expect {
        let d = find(&drops, source, protocol, port)
            .unwrap_or_else(|| panic!("{source} {protocol} {port:?} missing from {report:#}"));
        assert_eq!(d["count"], count, "{d:#}");
        assert_eq!(d["interface"], lab.server_if.as_str(), "{d:#}");
        assert_eq!(d["chain"], "input");
        assert_eq!(d["reason"], "drop");
        assert_eq!(d["network"], "office", "{d:#}");
    }
    let agents = find(&drops, OUTSIDER4, "tcp", Some(9001)).unwrap();
    assert_eq!(agents["services"][0]["service"], "agents", "{agents:#}");
    assert!(
        agents["services"][0]["why"]
            .as_str()
            .unwrap()
            .contains("allows admin"),
        "{agents:#}"
    );
    assert_eq!(agents["listening"], true);
    let nothing = find(&drops, OUTSIDER6, "udp", Some(7777)).unwrap();
    assert_eq!(nothing["listening"], false, "{nothing:#}");
    assert_eq!(nothing["services"], serde_json::json!([]));
    assert_eq!(
        find(&drops, OUTSIDER6, "icmpv6", None).unwrap()["icmp_type"],
        128
    );

    // Accepted traffic never appears.
    assert!(
        !drops
            .iter()
            .any(|d| d["source"] == ADMIN4 || d["port"] == 80),
        "accepted traffic logged: {report:#}"
    );
    assert_eq!(drops.len(), expect.len(), "{report:#}");
    assert_eq!(report["lines"], 10);
    assert_eq!(report["not_logged"], 0, "{report:#}");
}

#[test]
fn follow_prints_each_drop_as_it_happens() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    let child = reader(&lab, policy, &["--follow", "--json", "--for", "2s"]);
    udp(&lab, OUTSIDER4, 514, 1);
    syn(&lab, OUTSIDER6, 9001);
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(
        (
            &lines[0]["source"],
            &lines[0]["protocol"],
            &lines[0]["port"]
        ),
        (
            &Value::from(OUTSIDER4),
            &Value::from("udp"),
            &Value::from(514)
        )
    );
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    assert!(lines[0]["source_port"].as_u64().is_some());
    assert_eq!(lines[1]["source"], OUTSIDER6);
    assert_eq!(lines[1]["services"][0]["service"], "agents");
}

#[test]
fn a_flood_is_held_back_in_the_kernel_and_the_reader_stays_small() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    let child = reader(&lab, policy, &["--json", "--for", "4s"]);
    let pid = child.id();

    // 20,000 datagrams from 2,000 source ports in about a second.
    let started = Instant::now();
    let flood = {
        let client = lab.client.clone();
        std::thread::spawn(move || {
            in_ns(&client, move || {
                let target = SocketAddr::new(SERVER4.parse().unwrap(), 6000);
                let socks: Vec<UdpSocket> = (0..2000)
                    .map(|_| {
                        UdpSocket::bind(SocketAddr::new(OUTSIDER4.parse().unwrap(), 0)).unwrap()
                    })
                    .collect();
                for round in 0..10 {
                    for s in &socks {
                        let _ = s.send_to(b"flood", target);
                    }
                    let _ = round;
                    std::thread::sleep(Duration::from_millis(90));
                }
            })
        })
    };
    // The host stays responsive: an allowed connection gets through during the flood.
    assert_eq!(lab.reachable(&[(ADMIN4, Proto::Tcp, 9001)]), vec![true]);
    flood.join().unwrap();
    let flood_took = started.elapsed();
    // The reader's peak memory, read before it exits.
    std::thread::sleep(Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM of the reader");

    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let lines = report["lines"].as_u64().unwrap();
    let counted = report["counted"].as_u64().unwrap();
    let not_logged = report["not_logged"].as_u64().unwrap();
    eprintln!(
        "flood: {flood_took:?}, {lines} lines, {counted} counted, {not_logged} not logged, reader peak {hwm_kib} KiB"
    );
    assert!(counted >= 20_000, "{report:#}");
    // 100 at once, then 50 a second, for the 4 s the reader listened (and a little slack).
    assert!(
        lines <= 100 + 50 * 5,
        "the kernel let {lines} lines through: {report:#}"
    );
    assert!(lines >= 100, "{report:#}");
    assert!(
        not_logged >= 19_000,
        "the count must say lines were held back: {report:#}"
    );
    assert_eq!(
        report["drops"].as_array().unwrap().len(),
        1,
        "one (source, port, protocol)"
    );
    assert!(hwm_kib < 64 * 1024, "reader peak {hwm_kib} KiB");
}

#[test]
fn a_second_reader_is_told_the_group_is_taken_and_the_first_keeps_reading() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    let first = reader(&lab, policy, &["--json", "--for", "3s"]);
    let second = lab.portcullis(&["--policy", policy, "drops", "--for", "1s"]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(said.lines().count(), 1, "one clear line: {said}");
    assert!(
        said.contains("NFLOG group 47 is taken by another reader"),
        "{said}"
    );
    udp(&lab, OUTSIDER4, 514, 1);
    let (code, stdout, stderr) = finish(first);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        find(
            report["drops"].as_array().unwrap(),
            OUTSIDER4,
            "udp",
            Some(514)
        )
        .is_some(),
        "{report:#}"
    );
}

#[test]
fn drops_says_when_nothing_logs() {
    let Some(lab) = lab() else { return };
    let file = policy_file(POLICY);
    let policy = file.path().to_str().unwrap();
    let none = lab.portcullis(&["--policy", policy, "drops", "--for", "1s"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none).contains("there is no table inet portcullis"),
        "{}",
        text(&none)
    );

    let off =
        policy_file(&POLICY.replace("allow_ping = false", "allow_ping = false\ndrop_log = false"));
    let off_path = off.path().to_str().unwrap();
    lab.portcullis_ok(&["--policy", off_path, "apply", "--yes"]);
    assert!(!lab.nft(&["list", "ruleset"]).contains(" log "));
    let out = lab.portcullis(&["--policy", off_path, "drops", "--for", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("logs no drops"), "{}", text(&out));
}

const WAIT: Duration = Duration::from_secs(15);

fn shows(pty: &Pty, what: &str, text: &str) {
    pty.wait_text(what, WAIT, text);
}

/// The TUI in the server namespace, in a new pty (refreshing every 300 ms).
fn tui(lab: &Lab, policy: &str) -> Pty {
    let argv = lab.ui_argv(policy);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    Pty::spawn(
        "ip",
        &args,
        &[("TERM", "xterm-256color"), ("PORTCULLIS_SYSLOG_SOCKET", "")],
        &["NO_COLOR", "SSH_CONNECTION"],
    )
}

fn keys(pty: &mut Pty, text: &str) {
    for c in text.chars() {
        pty.type_text(&c.to_string());
        std::thread::sleep(Duration::from_millis(15));
    }
}

#[test]
fn a_drop_in_the_tui_becomes_a_committed_allow_with_one_key_and_then_gets_through() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    assert_eq!(lab.reachable(&[(OUTSIDER4, Proto::Tcp, 9001)]), vec![false]);
    let mut pty = tui(&lab, policy);
    shows(&pty, "the drops pane reading", "NFLOG 47");
    let sent = Instant::now();
    syn(&lab, OUTSIDER4, 9001);
    shows(&pty, "the drop on screen", OUTSIDER4);
    eprintln!("drop to screen: {:?} (refresh 300 ms)", sent.elapsed());
    shows(&pty, "its attribution", "agents allows");

    keys(&mut pty, "\t\t"); // sockets -> rules -> drops
    keys(&mut pty, "a");
    shows(&pty, "the ways in", "add 203.0.113.9/32 to network admin");
    keys(&mut pty, "\r");
    shows(&pty, "the prefilled network form", "✓ valid");
    keys(&mut pty, "\x13"); // ^S: done (the focus is on the list of addresses)
    shows(&pty, "the network changed", "network admin changed");
    keys(&mut pty, "d");
    shows(&pty, "the diff", "C commits");
    keys(&mut pty, "C");
    shows(&pty, "the countdown", "pending");
    keys(&mut pty, "y");
    shows(&pty, "the confirmation", "confirmed commit");

    assert_eq!(lab.reachable(&[(OUTSIDER4, Proto::Tcp, 9001)]), vec![true]);
    let saved = std::fs::read_to_string(file.path()).unwrap();
    assert!(saved.contains("\"203.0.113.9\""), "{saved}");
    let status: Value = serde_json::from_str(&lab.portcullis_ok(&["status", "--json"])).unwrap();
    assert!(status["pending"].is_null(), "{status}");
    keys(&mut pty, "q");
    assert_eq!(pty.wait(WAIT), 0);
    let _ = std::fs::remove_file(format!("{policy}.bak"));
}

#[test]
fn apply_s_prompt_shows_drops_from_the_operators_own_address_loudly() {
    // The operator is 203.0.113.9 over SSH (which the policy lets in); during the commit
    // window the same address is dropped on 9001: the prompt says so.
    let with_ssh = format!("{POLICY}{SSH_FROM_OFFICE}");
    let Some((lab, _old)) = setup(POLICY) else {
        return;
    };
    let file = policy_file(&with_ssh);
    let policy = file.path().to_str().unwrap();
    let state = lab.state_dir.path().to_str().unwrap().to_string();
    let exe = env!("CARGO_BIN_EXE_portcullis");
    let args = [
        "netns",
        "exec",
        &lab.server,
        exe,
        "--policy",
        policy,
        "apply",
        "--confirm-timeout",
        "30s",
    ];
    let ssh = format!("{OUTSIDER4} 40000 {SERVER4} 22");
    let mut pty = Pty::spawn(
        "ip",
        &args,
        &[
            ("PORTCULLIS_STATE_DIR", state.as_str()),
            ("PORTCULLIS_SYSLOG_SOCKET", ""),
            ("SSH_CONNECTION", ssh.as_str()),
            ("NO_COLOR", "1"),
        ],
        &[],
    );
    shows(&pty, "the prompt", "Keep this change?");
    wait_bound(&lab, 47);
    syn(&lab, OUTSIDER4, 9001);
    shows(
        &pty,
        "the loud line",
        "DROPPED FROM YOUR OWN ADDRESS: 203.0.113.9 → 9001/tcp",
    );
    keys(&mut pty, "n");
    shows(&pty, "the rollback", "rolled back");
    let _ = pty.wait(WAIT);
}

#[test]
fn the_tui_says_when_another_reader_holds_the_group_and_reads_once_it_is_free() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    let holder = reader(&lab, policy, &["--for", "3s"]);
    let mut pty = tui(&lab, policy);
    shows(&pty, "the group taken", "NFLOG group 47 is");
    let (code, _, stderr) = finish(holder);
    assert_eq!(code, 0, "the first reader kept its group: {stderr}");
    // Tried again every 5 s: the pane reads once the other reader is gone.
    shows(&pty, "the pane reading", "NFLOG 47");
    syn(&lab, OUTSIDER4, 9001);
    shows(&pty, "the drop on screen", OUTSIDER4);
    keys(&mut pty, "q");
    assert_eq!(pty.wait(WAIT), 0);
}

#[test]
fn apply_waiting_without_a_terminal_reports_drops_from_the_operators_address_on_stderr() {
    let with_ssh = format!("{POLICY}{SSH_FROM_OFFICE}");
    let Some((lab, _old)) = setup(POLICY) else {
        return;
    };
    let file = policy_file(&with_ssh);
    let policy = file.path().to_str().unwrap();
    let mut apply = lab
        .portcullis_command(&["--policy", policy, "apply", "--confirm-timeout", "30s"])
        .env("SSH_CONNECTION", format!("{OUTSIDER4} 40000 {SERVER4} 22"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn apply");
    let stderr = apply.stderr.take().unwrap();
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&said);
    let reading = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    wait_bound(&lab, 47);
    syn(&lab, OUTSIDER4, 9001);
    let deadline = Instant::now() + WAIT;
    while !said
        .lock()
        .unwrap()
        .contains("DROPPED FROM YOUR OWN ADDRESS: 203.0.113.9 → 9001/tcp")
    {
        assert!(
            Instant::now() < deadline,
            "not said: {}",
            said.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    lab.portcullis_ok(&["confirm"]);
    assert_eq!(apply.wait().unwrap().code(), Some(0));
    reading.join().unwrap();
}

#[test]
fn slash_filters_the_sockets_in_the_real_tui_and_esc_clears_it() {
    let Some((lab, file)) = setup(POLICY) else {
        return;
    };
    let policy = file.path().to_str().unwrap();
    let mut pty = tui(&lab, policy);
    shows(&pty, "the sockets", "Sockets (3)");
    keys(&mut pty, "/514");
    shows(&pty, "the filter typed", "Sockets (1 of 3) /514");
    keys(&mut pty, "\r");
    // Kept across refreshes (300 ms here), and keys work again.
    std::thread::sleep(Duration::from_millis(700));
    shows(&pty, "the filter kept", "Sockets (1 of 3) /514");
    keys(&mut pty, "\x1b");
    shows(&pty, "the filter cleared", "Sockets (3)");
    keys(&mut pty, "q");
    assert_eq!(pty.wait(WAIT), 0);
}
