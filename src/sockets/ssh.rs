//! The operator's SSH connection as sshd describes it in `SSH_CONNECTION`: what the
//! anti-lockout check protects, what `init` allows, what the audit log names.

use std::fmt;
use std::net::IpAddr;

/// The operator's connection, as sshd describes it in `SSH_CONNECTION`:
/// `CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshConnection {
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
}

impl SshConnection {
    /// Parses the variable's value; None if it is not the four fields sshd writes.
    pub fn parse(text: &str) -> Option<SshConnection> {
        let mut fields = text.split_whitespace();
        let client = parse_ip(fields.next()?)?;
        let client_port = fields.next()?.parse().ok()?;
        let server = parse_ip(fields.next()?)?;
        let server_port = fields.next()?.parse().ok()?;
        if fields.next().is_some() {
            return None;
        }
        Some(SshConnection {
            client,
            client_port,
            server,
            server_port,
        })
    }

    /// `CLIENT_IP CLIENT_PORT`, as the audit log records the peer.
    pub fn peer(&self) -> String {
        format!("{} {}", self.client, self.client_port)
    }
}

/// sshd writes IPv4 peers of a dual-stack socket as plain IPv4, but an IPv4-mapped IPv6
/// address (`::ffff:192.0.2.1`) is the same peer as far as the firewall is concerned.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let ip: IpAddr = text.parse().ok()?;
    Some(ip.to_canonical())
}

impl fmt::Display for SshConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} port {} -> {} port {}",
            self.client, self.client_port, self.server, self.server_port
        )
    }
}
