//! A starting policy from what listens now, for `portcullis init`: SSH allowed from the
//! network the operator is connected from (so applying it cannot lock them out), then a
//! service for each uncovered server socket as `sockets --suggest` proposes it, open to
//! anyone as it is now, and commented for review. Pure: the sockets, the SSH connection
//! and the words of the header come in, TOML text goes out.

use std::net::IpAddr;

use ipnet::IpNet;

use super::suggest::{Suggestion, suggest};
use super::{Listener, ServiceNames};
use crate::policy::{self, Protocol};
use crate::sockets::ssh::SshConnection;

pub struct StarterInput<'a> {
    pub listeners: &'a [Listener],
    pub names: &'a ServiceNames,
    pub ephemeral: &'a std::ops::RangeInclusive<u16>,
    /// The operator's connection (SSH_CONNECTION), if any.
    pub ssh: Option<SshConnection>,
    /// `on HOST at TIME`, for the header.
    pub written: String,
}

/// The network an SSH peer is in: its /24 (IPv4) or /64 (IPv6).
pub fn peer_network(peer: IpAddr) -> IpNet {
    let len = if peer.is_ipv4() { 24 } else { 64 };
    IpNet::new(peer, len).map_or_else(|_| IpNet::from(peer), |n| n.trunc())
}

/// The policy text. It always passes `check`.
pub fn starter_policy(input: &StarterInput<'_>) -> String {
    let mut out = format!(
        "# Written by `portcullis init` {} from what was listening then.\n\
         # Nothing was applied. REVIEW this file, then: portcullis check; portcullis apply\n\
         # (apply shows the diff and rolls back by itself unless you confirm).\n\n\
         [settings]\n\
         table = \"portcullis\"\n\
         input_policy = \"drop\"     # what no service below allows is dropped (and counted)\n\
         output_policy = \"accept\"\n\
         allow_ping = true\n\
         confirm_timeout = \"30s\"\n",
        input.written
    );
    let ssh_port = input.ssh.map_or(22, |c| c.server_port);
    match &input.ssh {
        Some(c) => {
            let net = peer_network(c.client);
            out.push_str(&format!(
                "\n[networks]\n\
                 # The network you ran `init` from (SSH_CONNECTION: {} port {}), as its /{}:\n\
                 # narrow it to your address, or widen it, before applying.\n\
                 admin = [\"{net}\"]\n\
                 \n\
                 # Your way in: SSH from the admin network, so applying this cannot lock you out.\n\
                 [services.ssh]\n\
                 description = \"Administrative shell access\"\n\
                 ports = [\"{ssh_port}/tcp\"]\n\
                 allow = [\"admin\"]\n",
                c.client,
                c.client_port,
                net.prefix_len()
            ));
        }
        None => {
            out.push_str(&format!(
                "\n# No SSH_CONNECTION: `init` was not run over SSH. SSH stays open to anyone\n\
                 # until you name the networks that may use it (REVIEW).\n\
                 [services.ssh]\n\
                 description = \"Administrative shell access\"\n\
                 ports = [\"{ssh_port}/tcp\"]\n\
                 allow = [\"any\"]\n"
            ));
        }
    }
    // Sockets the SSH service covers are not proposed again.
    let base = policy::parse(&out).unwrap_or_default();
    let suggestions: Vec<Suggestion> =
        suggest(&base, input.listeners, input.names, input.ephemeral)
            .into_iter()
            .filter(|s| !(s.port == ssh_port && s.protocol == Protocol::Tcp))
            .collect();
    if suggestions.is_empty() {
        out.push_str("\n# Nothing else listens on an address other hosts can reach.\n");
    }
    for s in &suggestions {
        out.push_str(&s.to_toml(
            "# Open to anyone, as it is now: narrow allow to the networks that need it (REVIEW).\n",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockets::{Process, test_listener};

    fn listening(protocol: Protocol, address: &str, port: u16, process: &str) -> Listener {
        Listener {
            process: Some(Process {
                pid: 10,
                name: process.into(),
                user: "root".into(),
            }),
            ..test_listener(protocol, address, port, false, None)
        }
    }

    fn input(ssh: Option<&str>, listeners: &[Listener]) -> String {
        starter_policy(&StarterInput {
            listeners,
            names: &ServiceNames::parse("https 443/tcp\n"),
            ephemeral: &(32768..=60999),
            ssh: ssh.and_then(SshConnection::parse),
            written: "on web01 at 2026-11-23T02:00:00Z".into(),
        })
    }

    #[test]
    fn the_ssh_peer_network_is_allowed_and_the_rest_proposed() {
        let sockets = [
            listening(Protocol::Tcp, "0.0.0.0", 22, "sshd"),
            Listener {
                service: Some("https".into()),
                ..listening(Protocol::Tcp, "::", 443, "nginx")
            },
            listening(Protocol::Tcp, "127.0.0.1", 5432, "postgres"),
            listening(Protocol::Udp, "0.0.0.0", 45000, "dig"),
        ];
        let text = input(Some("198.51.100.20 50022 192.0.2.1 22"), &sockets);
        let policy = policy::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            policy.networks["admin"].entries,
            vec!["198.51.100.0/24".parse::<IpNet>().unwrap()]
        );
        assert_eq!(
            policy.services.keys().collect::<Vec<_>>(),
            ["https", "ssh"],
            "{text}"
        );
        assert!(
            text.contains("# nginx (pid 10, root) listens on ::"),
            "{text}"
        );
        assert!(text.starts_with("# Written by `portcullis init` on web01"));
    }

    #[test]
    fn without_ssh_connection_ssh_stays_open_and_says_so() {
        let text = input(None, &[listening(Protocol::Tcp, "0.0.0.0", 22, "sshd")]);
        let policy = policy::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(policy.services["ssh"].allows_any());
        assert!(text.contains("No SSH_CONNECTION"));
        assert!(text.contains("Nothing else listens"));
    }

    #[test]
    fn an_ipv6_peer_gets_its_64_and_a_port_other_than_22_is_kept() {
        let text = input(Some("2001:db8:1:2::7 50000 2001:db8::1 2222"), &[]);
        let policy = policy::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            policy.networks["admin"].entries[0].to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(policy.services["ssh"].ports[0].to_string(), "2222/tcp");
    }
}
