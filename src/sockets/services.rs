//! Service names for ports, from /etc/services (or a small built-in table when the file is
//! missing, as in minimal containers). Parsing is pure; reading the file is one call.

use std::collections::HashMap;

use crate::policy::Protocol;

/// Port and protocol -> service name.
#[derive(Debug, Clone, Default)]
pub struct ServiceNames(HashMap<(u16, Protocol), String>);

/// What the built-in table knows: the ports a server on call is most often asked about.
const BUILT_IN: &[(&str, u16, &[Protocol])] = &[
    ("ftp", 21, &[Protocol::Tcp]),
    ("ssh", 22, &[Protocol::Tcp]),
    ("smtp", 25, &[Protocol::Tcp]),
    ("domain", 53, &[Protocol::Tcp, Protocol::Udp]),
    ("bootps", 67, &[Protocol::Udp]),
    ("tftp", 69, &[Protocol::Udp]),
    ("http", 80, &[Protocol::Tcp]),
    ("kerberos", 88, &[Protocol::Tcp, Protocol::Udp]),
    ("pop3", 110, &[Protocol::Tcp]),
    ("ntp", 123, &[Protocol::Udp]),
    ("imap2", 143, &[Protocol::Tcp]),
    ("snmp", 161, &[Protocol::Udp]),
    ("ldap", 389, &[Protocol::Tcp]),
    ("https", 443, &[Protocol::Tcp, Protocol::Udp]),
    ("syslog", 514, &[Protocol::Udp]),
    ("submission", 587, &[Protocol::Tcp]),
    ("ldaps", 636, &[Protocol::Tcp]),
    ("imaps", 993, &[Protocol::Tcp]),
    ("pop3s", 995, &[Protocol::Tcp]),
    ("openvpn", 1194, &[Protocol::Tcp, Protocol::Udp]),
    ("mysql", 3306, &[Protocol::Tcp]),
    ("postgresql", 5432, &[Protocol::Tcp]),
    ("syslog-tls", 6514, &[Protocol::Tcp]),
    ("cockpit", 9090, &[Protocol::Tcp]),
];

/// The built-in table's name for a port, without building a map.
pub fn built_in_name(port: u16, protocol: Protocol) -> Option<&'static str> {
    BUILT_IN
        .iter()
        .find(|(_, p, protocols)| *p == port && protocols.contains(&protocol))
        .map(|(name, _, _)| *name)
}

impl ServiceNames {
    /// /etc/services, or the built-in table if it cannot be read.
    pub fn load() -> ServiceNames {
        match std::fs::read_to_string("/etc/services") {
            Ok(text) => ServiceNames::parse(&text),
            Err(_) => ServiceNames::built_in(),
        }
    }

    pub fn built_in() -> ServiceNames {
        let mut map = HashMap::new();
        for (name, port, protocols) in BUILT_IN {
            for p in *protocols {
                map.insert((*port, *p), name.to_string());
            }
        }
        ServiceNames(map)
    }

    /// Parses services(5): `name port/protocol [aliases...] [# comment]`. The first name
    /// given for a port wins, as getservbyport does.
    pub fn parse(text: &str) -> ServiceNames {
        let mut map = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let (Some(name), Some(spec)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Some((port, proto)) = spec.split_once('/') else {
                continue;
            };
            let protocol = match proto {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => continue,
            };
            if let Ok(port) = port.parse::<u16>() {
                map.entry((port, protocol))
                    .or_insert_with(|| name.to_string());
            }
        }
        ServiceNames(map)
    }

    pub fn name(&self, port: u16, protocol: Protocol) -> Option<&str> {
        self.0.get(&(port, protocol)).map(String::as_str)
    }

    /// The port of service `name`, and whether it is named for TCP and for UDP (the
    /// lowest port, if the name is given to more than one).
    pub fn port_of(&self, name: &str) -> Option<(u16, bool, bool)> {
        let port = self
            .0
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|((port, _), _)| *port)
            .min()?;
        let named = |p| self.0.get(&(port, p)).is_some_and(|n| n == name);
        Some((port, named(Protocol::Tcp), named(Protocol::Udp)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_services_5() {
        let names = ServiceNames::parse(
            "# comment\nssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\n\
             syslog\t\t514/udp\nshell\t\t514/tcp\t\tcmd\nbogus\nsctp-x 9/sctp\nalt 22/tcp\n",
        );
        assert_eq!(names.name(22, Protocol::Tcp), Some("ssh"));
        assert_eq!(names.name(514, Protocol::Udp), Some("syslog"));
        assert_eq!(names.name(514, Protocol::Tcp), Some("shell"));
        assert_eq!(names.name(22, Protocol::Udp), None);
    }

    #[test]
    fn the_built_in_table_covers_the_usual_ports() {
        let names = ServiceNames::built_in();
        assert_eq!(names.name(443, Protocol::Tcp), Some("https"));
        assert_eq!(names.name(514, Protocol::Udp), Some("syslog"));
    }
}
