//! The audit log reaches the system log: an apply and a rollback, each audit line sent as
//! one datagram tagged `portcullis[PID]` with the authpriv facility, to a syslog socket of
//! the test's own (what `/dev/log` is on a real machine).

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::{lab, policy_file};

#[test]
fn audit_lines_are_sent_to_syslog() {
    let Some(lab) = lab() else { return };
    let dir = tempfile::tempdir().expect("dir");
    let socket_path = dir.path().join("log");
    let syslog = UnixDatagram::bind(&socket_path).expect("bind a syslog socket");
    syslog
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let policy = policy_file("[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n");
    let path = policy.path().to_str().expect("utf-8");
    let run = |args: &[&str]| {
        let out = lab
            .portcullis_command(args)
            .env("PORTCULLIS_SYSLOG_SOCKET", &socket_path)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "--policy",
        path,
        "apply",
        "--no-wait",
        "--confirm-timeout",
        "1m",
    ]);
    run(&["rollback"]);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 2 {
        let n = syslog.recv(&mut buf).expect("a datagram");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    for (datagram, event) in got.iter().zip(["\"applied\"", "\"rolled_back\""]) {
        assert!(datagram.starts_with("<85>portcullis["), "{datagram}");
        assert!(datagram.contains(event), "{datagram}");
        let json = datagram.split_once("]: ").expect("a message").1;
        serde_json::from_str::<serde_json::Value>(json).expect("the audit line's JSON");
    }
    // Without a syslog socket nothing fails.
    let out = lab
        .portcullis_command(&["--policy", path, "apply", "--yes"])
        .env("PORTCULLIS_SYSLOG_SOCKET", dir.path().join("missing"))
        .output()
        .expect("run");
    assert!(out.status.success());
}
