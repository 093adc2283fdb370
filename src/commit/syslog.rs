//! The audit log's copy for the system log: each audit line (JSON) sent to syslog's
//! socket, `/dev/log`, which journald serves on systemd machines and rsyslog elsewhere, with
//! the tag `portcullis` and the facility authpriv (changes to who may reach the machine
//! are security events), so fleet log collection picks the commits up. Best effort: no
//! syslog socket, or a full one, never stops a commit or a rollback; the audit file in the
//! state directory is the record.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

/// Points the copy at another socket (the tests use one of their own); empty turns it off
/// (the demo, whose commits are make-believe).
pub const OFF_ENV: &str = "PORTCULLIS_SYSLOG_SOCKET";

/// Where syslog listens.
fn socket_path() -> Option<PathBuf> {
    match std::env::var_os(OFF_ENV) {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => Some(PathBuf::from("/dev/log")),
    }
}

/// authpriv (10) × 8 + notice (5).
const PRIORITY: u8 = 10 * 8 + 5;

/// The datagram for one line: `<PRI>portcullis[PID]: LINE`, which both journald and
/// rsyslog read as tag, pid and message (they add the time and host themselves).
pub fn datagram(line: &str, pid: u32) -> String {
    format!("<{PRIORITY}>portcullis[{pid}]: {line}")
}

/// Sends each line of `text`; says nothing if there is no syslog to send to.
pub fn send(text: &str) {
    let Some(path) = socket_path() else { return };
    if !path.exists() {
        return;
    }
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let pid = std::process::id();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let _ = socket.send_to(datagram(line, pid).as_bytes(), &path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_tagged_with_the_facility_and_the_pid() {
        assert_eq!(
            datagram("{\"event\":\"applied\"}", 42),
            "<85>portcullis[42]: {\"event\":\"applied\"}"
        );
    }
}
