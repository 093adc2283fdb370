//! Suggestions: listening sockets that no service covers, turned into proposed services
//! the way an administrator reads `netstat` output. Pure: the ephemeral port range comes in
//! already read (`sockets::ephemeral_range`).
//!
//! TCP listeners are servers. A UDP socket is a server's if its port is below 1024, named
//! in /etc/services, or a well-known server port; one inside the ephemeral port range is a
//! client's (its port was picked by the kernel) and is not proposed.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use super::exposure::{Exposure, exposure};
use super::{Listener, ServiceNames, services};
use crate::policy::{Policy, Protocol};

/// Linux's default ephemeral range, for when /proc/sys/net/ipv4/ip_local_port_range
/// cannot be read.
pub const DEFAULT_EPHEMERAL: RangeInclusive<u16> = 32768..=60999;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
    /// What the name came from, and who listens, for the comment.
    pub why: String,
    /// A protocol whose servers also open connections to their peers on the same port
    /// (NTP), proposed as `direction = "both"`.
    pub both_ways: bool,
}

/// Ports whose servers talk to each other in both directions: NTP (123/udp).
pub fn talks_both_ways(port: u16, protocol: Protocol) -> bool {
    matches!((port, protocol), (123, Protocol::Udp))
}

pub fn is_server(socket: &Listener, names: &ServiceNames, ephemeral: &RangeInclusive<u16>) -> bool {
    match socket.protocol {
        Protocol::Tcp => true,
        Protocol::Udp => {
            socket.port < 1024
                || names.name(socket.port, Protocol::Udp).is_some()
                || services::built_in_name(socket.port, Protocol::Udp).is_some()
                || !ephemeral.contains(&socket.port)
        }
    }
}

/// Proposed services for the uncovered, non-loopback server sockets, one per port and
/// protocol, named after /etc/services or the process, never clashing with the policy.
pub fn suggest(
    policy: &Policy,
    listeners: &[Listener],
    names: &ServiceNames,
    ephemeral: &RangeInclusive<u16>,
) -> Vec<Suggestion> {
    let mut seen: BTreeSet<(u16, Protocol)> = BTreeSet::new();
    let mut taken: Vec<String> = policy.services.keys().cloned().collect();
    let mut out = Vec::new();
    for socket in listeners {
        if exposure(policy, socket) != Exposure::Uncovered
            || !is_server(socket, names, ephemeral)
            || !seen.insert((socket.port, socket.protocol))
        {
            continue;
        }
        let (base, source) = match (&socket.service, &socket.process) {
            (Some(s), _) => (s.clone(), "/etc/services".to_string()),
            (None, Some(p)) => (p.name.clone(), format!("process {}", p.name)),
            (None, None) => (format!("port-{}", socket.port), "port number".to_string()),
        };
        let mut name = sanitize(&base);
        if taken.contains(&name) {
            name = sanitize(&format!("{name}-{}-{}", socket.port, socket.protocol));
        }
        taken.push(name.clone());
        let who = socket
            .process
            .as_ref()
            .map(|p| format!("{} (pid {}, {})", p.name, p.pid, p.user))
            .unwrap_or_else(|| "an unknown process".to_string());
        out.push(Suggestion {
            name,
            port: socket.port,
            protocol: socket.protocol,
            why: format!("{who} listens on {}; named from {source}", socket.address),
            both_ways: talks_both_ways(socket.port, socket.protocol),
        });
    }
    out
}

/// A valid service name: starts with a letter, then letters, digits, `_` and `-`, at most
/// 32 bytes.
fn sanitize(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "svc-");
    }
    name.truncate(32);
    name
}

/// The suggestions as policy TOML that `check` accepts on its own. `allow` is `any` so
/// the snippet is valid, with a comment saying to narrow it before use.
pub fn to_toml(suggestions: &[Suggestion]) -> String {
    let mut out = String::from(
        "# Proposed by `portcullis sockets --suggest` for sockets no service covers.\n\
         # REVIEW EACH ONE: as written, allow = [\"any\"] opens the port to everyone.\n",
    );
    for s in suggestions {
        out.push_str(&s.to_toml(""));
    }
    out
}

impl Suggestion {
    /// The service as a TOML table open to anyone, after a comment saying why it is
    /// proposed (and `note`, a further comment line, if not empty).
    pub fn to_toml(&self, note: &str) -> String {
        let direction = if self.both_ways {
            "# its servers also ask their peers: in and out\ndirection = \"both\"\n"
        } else {
            ""
        };
        format!(
            "\n# {}\n{note}[services.{}]\nports = [\"{}/{}\"]\nallow = [\"any\"]\n{direction}",
            self.why, self.name, self.port, self.protocol
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy;
    use crate::sockets::Process;

    fn socket(protocol: Protocol, port: u16, service: Option<&str>, process: &str) -> Listener {
        Listener {
            process: Some(Process {
                pid: 7,
                name: process.to_string(),
                user: "root".to_string(),
            }),
            service: service.map(str::to_string),
            ..crate::sockets::test_listener(protocol, "0.0.0.0", port, false, None)
        }
    }

    #[test]
    fn servers_are_proposed_and_ephemeral_udp_clients_are_not() {
        let p = policy::parse("[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n")
            .expect("valid");
        let names = ServiceNames::parse("syslog 514/udp\n");
        let sockets = [
            socket(Protocol::Tcp, 22, Some("ssh"), "sshd"),
            socket(Protocol::Udp, 514, Some("syslog"), "rsyslogd"),
            socket(Protocol::Udp, 40000, None, "dig"),
            socket(Protocol::Tcp, 9001, None, "agent srv"),
            socket(Protocol::Udp, 5000, None, "app"),
        ];
        let got = suggest(&p, &sockets, &names, &(32768..=60999));
        let got: Vec<(String, u16)> = got.into_iter().map(|s| (s.name, s.port)).collect();
        assert_eq!(
            got,
            [
                ("syslog".to_string(), 514),
                ("agent-srv".to_string(), 9001),
                ("app".to_string(), 5000)
            ]
        );
    }

    #[test]
    fn the_snippet_passes_the_validator() {
        let s = vec![Suggestion {
            name: "syslog".into(),
            port: 514,
            protocol: Protocol::Udp,
            why: "x".into(),
            both_ways: false,
        }];
        let text = to_toml(&s);
        let parsed = policy::parse(&text).expect("snippet is a valid policy");
        assert!(parsed.services.contains_key("syslog"));
    }

    #[test]
    fn an_ntp_socket_is_proposed_in_and_out() {
        let p = policy::Policy::default();
        let sockets = [socket(Protocol::Udp, 123, Some("ntp"), "chronyd")];
        let got = suggest(&p, &sockets, &ServiceNames::default(), &(32768..=60999));
        assert!(got[0].both_ways, "{got:?}");
        let parsed = policy::parse(&to_toml(&got)).expect("valid");
        assert_eq!(parsed.services["ntp"].direction, policy::Direction::Both);
    }

    #[test]
    fn names_are_made_valid() {
        assert_eq!(sanitize("9p"), "svc-9p");
        assert_eq!(sanitize("my.daemon"), "my-daemon");
        assert_eq!(sanitize(&"x".repeat(40)).len(), 32);
    }
}
