//! Anti-lockout: would the proposed policy drop a new connection from the peer the operator
//! is connected from? Pure; the caller reads `SSH_CONNECTION` and the interface.

use std::fmt;

use crate::eval::{Packet, evaluate};
use crate::policy::{Policy, Protocol, Verdict};
pub use crate::sockets::ssh::SshConnection;

/// A connection the proposed policy would cut off for new connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    pub connection: SshConnection,
    pub interface: Option<String>,
    /// How the connection was found: `your SSH session` (SSH_CONNECTION) or a
    /// connection to sshd or cockpit-ws in the socket table.
    pub via: String,
}

impl fmt::Display for Lockout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LOCKOUT: the new policy drops new connections from {} to port {}/tcp \
             ({}: {}{}). The session you have now survives (established \
             connections stay allowed), but you could not log in again.",
            self.connection.client,
            self.connection.server_port,
            self.via,
            self.connection,
            match &self.interface {
                Some(name) => format!(", in on {name}"),
                None => String::new(),
            }
        )
    }
}

/// The lockout `policy` would cause for `connection`, if any. `interface` is the one that
/// holds the connection's server address, when known.
pub fn check(
    policy: &Policy,
    connection: &SshConnection,
    interface: Option<&str>,
    via: &str,
) -> Option<Lockout> {
    let decision = evaluate(
        policy,
        &Packet {
            source: connection.client,
            protocol: Protocol::Tcp,
            port: connection.server_port,
            interface,
            destination: Some(connection.server),
        },
    );
    (decision.verdict == Verdict::Drop).then(|| Lockout {
        connection: *connection,
        interface: interface.map(str::to_string),
        via: via.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::policy;

    #[test]
    fn parses_what_sshd_writes() {
        let c = SshConnection::parse("192.0.2.2 50022 192.0.2.1 22").expect("parses");
        assert_eq!(c.client, "192.0.2.2".parse::<IpAddr>().expect("ip"));
        assert_eq!((c.client_port, c.server_port), (50022, 22));
        let mapped = SshConnection::parse("::ffff:192.0.2.2 1 2001:db8::1 2222").expect("v6");
        assert_eq!(mapped.client, "192.0.2.2".parse::<IpAddr>().expect("ip"));
        for bad in [
            "",
            "192.0.2.2 1 192.0.2.1",
            "x 1 192.0.2.1 22",
            "1.2.3.4 1 5.6.7.8 22 9",
        ] {
            assert_eq!(SshConnection::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn warns_only_when_the_peer_would_be_dropped() {
        let allowed = policy::parse(
            "[networks]\nadmin = [\"192.0.2.0/24\"]\n[services.ssh]\nports = [\"22/tcp\"]\n\
             allow = [\"admin\"]\n",
        )
        .expect("valid");
        let closed = policy::parse("").expect("valid");
        let c = SshConnection::parse("192.0.2.2 50022 192.0.2.1 22").expect("parses");
        assert_eq!(check(&allowed, &c, Some("eth0"), "s"), None);
        let lockout = check(&closed, &c, Some("eth0"), "s").expect("locked out");
        assert!(
            lockout.to_string().contains("192.0.2.2 to port 22/tcp"),
            "{lockout}"
        );
        let elsewhere = SshConnection::parse("198.51.100.1 1 192.0.2.1 22").expect("parses");
        assert!(check(&allowed, &elsewhere, None, "s").is_some());
    }
}
