//! `portcullis import ufw` against the real ufw (Debian's package): a vendor guide's layout
//! is given to ufw in the server namespace, with ufw's files in a private mount namespace
//! (so this machine's /etc/ufw and /etc/default/ufw are never written); the same real
//! probes (TCP and UDP, IPv4 and IPv6, from every kind of client) are sent under ufw's
//! rules, then under the policy imported from ufw's rule files and under the one imported
//! from the script, each applied by portcullis. Every probe must end the same way: open,
//! refused (a reset) or dropped (TCP); arrived or not (UDP).

mod common;

use std::io::ErrorKind;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Lab, Proto, in_ns, lab, policy_file};

/// A SIEM vendor's port guide, as ufw commands, one per source and port.
const GUIDE: &str = "\
#!/bin/sh
# Firewall for the collector (from the vendor's port guide).
set -e
sudo ufw default deny incoming
sudo ufw default allow outgoing
sudo ufw allow from 10.9.0.10 to any port 22 proto tcp comment 'admin ssh'
sudo ufw allow from fd00:9::10 to any port 22 proto tcp comment 'admin ssh'
sudo ufw allow from 10.20.0.0/16 to any port 443 proto tcp comment 'analyst web'
sudo ufw allow from fd00:20::/64 to any port 443 proto tcp comment 'analyst web'
sudo ufw allow from 10.20.0.0/16 to any app WWW
sudo ufw deny from 10.30.0.66
sudo ufw deny from fd00:30::66
sudo ufw allow from 10.30.0.0/16 to any port 1514 proto tcp comment 'agents'
sudo ufw allow from 10.30.0.0/16 to any port 1515 proto tcp comment 'agents'
sudo ufw allow from fd00:30::/64 to any port 1514:1515 proto tcp comment 'agents'
sudo ufw allow from 10.30.0.0/16 to any port 514 proto udp
sudo ufw allow from fd00:30::/64 to any port 514 proto udp
sudo ufw reject from 10.40.0.0/16 to any port 443 proto tcp
sudo ufw allow 8080/tcp comment 'status page'
sudo ufw deny from 10.50.0.0/24
sudo ufw allow from 10.0.0.0/8 to any port 9000 proto tcp comment 'metrics'
sudo ufw --force enable
";

/// The clients: an admin, an analyst, two agents (one of them denied), a stranger and a
/// scanner, each with an IPv4 and (but the scanner) an IPv6 address.
const CLIENTS: &[&str] = &[
    "10.9.0.10",
    "fd00:9::10",
    "10.20.0.5",
    "fd00:20::5",
    "10.30.0.7",
    "fd00:30::7",
    "10.30.0.66",
    "fd00:30::66",
    "10.40.0.9",
    "fd00:40::9",
    "10.50.0.5",
];
const TCP_PORTS: &[u16] = &[22, 80, 443, 1514, 1515, 8080, 9000, 9100];
const UDP_PORTS: &[u16] = &[514, 5140];

/// ufw's files for the server, in a directory of the test's own: the packaged templates,
/// and a defaults file like Debian's.
struct UfwRoot {
    dir: tempfile::TempDir,
}

impl UfwRoot {
    fn new() -> UfwRoot {
        let dir = tempfile::tempdir().expect("tempdir");
        let etc = dir.path().join("etc-ufw");
        let status = Command::new("cp")
            .args(["-a", "/etc/ufw"])
            .arg(&etc)
            .status()
            .expect("cp");
        assert!(
            status.success(),
            "ufw is not installed (Debian's package ufw: /etc/ufw is missing)"
        );
        // The package's empty rule files, whatever this machine's ufw holds.
        for f in ["user.rules", "user6.rules"] {
            std::fs::copy(Path::new("/usr/share/ufw").join(f), etc.join(f))
                .expect("ufw's packaged rule templates");
        }
        std::fs::write(
            dir.path().join("default-ufw"),
            "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n\
             DEFAULT_FORWARD_POLICY=\"DROP\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\n\
             MANAGE_BUILTINS=no\nIPT_SYSCTL=/etc/ufw/sysctl.conf\nIPT_MODULES=\"\"\n",
        )
        .expect("write defaults");
        UfwRoot { dir }
    }

    fn etc(&self) -> std::path::PathBuf {
        self.dir.path().join("etc-ufw")
    }

    fn defaults(&self) -> std::path::PathBuf {
        self.dir.path().join("default-ufw")
    }

    /// Runs `script` (lines of `ufw ...`) in the server's network namespace and a private
    /// mount namespace where /etc/ufw, /etc/default/ufw and /run are this test's own.
    fn run(&self, lab: &Lab, script: &str) -> String {
        let mounts = format!(
            "set -e\nmount --bind {} /etc/ufw\nmount --bind {} /etc/default/ufw\n\
             mount -t tmpfs tmpfs /run\nsudo() {{ \"$@\"; }}\n",
            self.etc().display(),
            self.defaults().display()
        );
        let out = Command::new("ip")
            .args(["netns", "exec", &lab.server])
            .args(["unshare", "--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!("{mounts}{script}"))
            .output()
            .expect("run ufw");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "ufw failed:\n{text}");
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Open,
    Refused,
    Dropped,
}

/// Every client against every port: how each TCP connect ended, and which UDP datagrams
/// arrived, as lines `SRC PORT/PROTO OUTCOME` (so a difference reads as a diff).
fn probe(lab: &Lab) -> Vec<String> {
    let mut threads = Vec::new();
    for &src in CLIENTS {
        for &port in TCP_PORTS {
            let client = lab.client.clone();
            let src_ip: IpAddr = src.parse().expect("address");
            threads.push((
                format!("{src} {port}/tcp"),
                std::thread::spawn(move || {
                    in_ns(&client, move || {
                        match common::tcp_connect(
                            src_ip,
                            common::server_of(src_ip),
                            port,
                            Duration::from_millis(1500),
                        )
                        .0
                        {
                            Ok(()) => Outcome::Open,
                            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Outcome::Refused,
                            Err(_) => Outcome::Dropped,
                        }
                    })
                }),
            ));
        }
    }
    let udp: Vec<(&str, Proto, u16)> = CLIENTS
        .iter()
        .flat_map(|&src| UDP_PORTS.iter().map(move |&p| (src, Proto::Udp, p)))
        .collect();
    let arrived = lab.reachable(&udp);
    let mut lines: Vec<String> = threads
        .into_iter()
        .map(|(what, t)| format!("{what} {:?}", t.join().expect("probe")))
        .collect();
    for ((src, _, port), ok) in udp.iter().zip(arrived) {
        let outcome = if ok { "Arrived" } else { "Dropped" };
        lines.push(format!("{src} {port}/udp {outcome}"));
    }
    lines
}

fn import(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["import", "ufw"])
        .args(args)
        .output()
        .expect("run portcullis import");
    assert!(
        out.status.success(),
        "import ufw {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn apply(lab: &Lab, policy_text: &str) {
    let policy = policy_file(policy_text);
    let path = policy.path().to_str().expect("path");
    lab.portcullis_ok(&["--policy", path, "check"]);
    lab.portcullis_ok(&["--policy", path, "apply", "--yes"]);
}

fn assert_same(what: &str, under_ufw: &[String], under_policy: &[String], policy: &str) {
    let differ: Vec<String> = under_ufw
        .iter()
        .zip(under_policy)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("ufw: {a}   portcullis: {b}"))
        .collect();
    assert!(
        differ.is_empty(),
        "{what}: {} of {} probes differ:\n{}\nthe policy:\n{policy}",
        differ.len(),
        under_ufw.len(),
        differ.join("\n")
    );
}

#[test]
fn the_imported_policy_lets_through_and_refuses_what_ufw_did() {
    let Some(mut lab) = lab() else { return };
    for a in CLIENTS {
        lab.add_client_addr(a);
    }
    lab.listen(Proto::Tcp, TCP_PORTS);
    lab.listen(Proto::Udp, UDP_PORTS);

    let ufw = UfwRoot::new();
    ufw.run(&lab, GUIDE);
    let status = ufw.run(&lab, "ufw status verbose");
    assert!(status.contains("Status: active"), "{status}");
    let under_ufw = probe(&lab);

    // The layout is what the guide meant, so the comparison is not vacuous.
    for expected in [
        "10.9.0.10 22/tcp Open",
        "fd00:9::10 22/tcp Open",
        "10.20.0.5 22/tcp Dropped",
        "fd00:20::5 443/tcp Open",
        "10.20.0.5 80/tcp Open",
        "fd00:20::5 80/tcp Dropped",
        "10.30.0.7 1515/tcp Open",
        "fd00:30::7 514/udp Arrived",
        "10.30.0.66 1514/tcp Dropped",
        "fd00:30::66 514/udp Dropped",
        "10.40.0.9 443/tcp Refused",
        "fd00:40::9 443/tcp Dropped",
        "10.40.0.9 8080/tcp Open",
        "10.50.0.5 8080/tcp Open",
        "10.50.0.5 443/tcp Dropped",
        "10.9.0.10 9000/tcp Open",
        "10.40.0.9 9000/tcp Open",
        "10.50.0.5 9000/tcp Dropped",
        "10.30.0.66 9000/tcp Dropped",
        "fd00:9::10 9000/tcp Dropped",
        "10.9.0.10 9100/tcp Dropped",
        "10.30.0.7 5140/udp Dropped",
    ] {
        assert!(
            under_ufw.iter().any(|l| l == expected),
            "under ufw, expected {expected:?}:\n{}",
            under_ufw.join("\n")
        );
    }

    // The two imports: from the rule files ufw wrote, and from the script.
    let etc = ufw.etc();
    let defaults = ufw.defaults();
    let from_files = import(&[
        etc.to_str().expect("path"),
        "--defaults",
        defaults.to_str().expect("path"),
    ]);
    let script = ufw.dir.path().join("guide.sh");
    std::fs::write(&script, GUIDE).expect("write guide");
    let apps = etc.join("applications.d");
    let from_script = import(&[
        script.to_str().expect("path"),
        "--apps",
        apps.to_str().expect("path"),
    ]);
    for policy in [&from_files, &from_script] {
        assert!(policy.contains("[services.admin-ssh]"), "{policy}");
        assert!(policy.contains("[services.agents]"), "{policy}");
        assert!(policy.contains("[services.www]"), "{policy}");
        assert!(policy.contains("[blocks."), "{policy}");
    }

    // ufw off (its tables are the namespace's own), then each imported policy.
    lab.nft(&["flush", "ruleset"]);
    let open = probe(&lab);
    assert!(
        open.iter().any(|l| l == "10.20.0.5 22/tcp Open"),
        "with no rules at all, everything is open"
    );
    apply(&lab, &from_files);
    assert_same(
        "imported from user.rules",
        &under_ufw,
        &probe(&lab),
        &from_files,
    );
    apply(&lab, &from_script);
    assert_same(
        "imported from the script",
        &under_ufw,
        &probe(&lab),
        &from_script,
    );
}
