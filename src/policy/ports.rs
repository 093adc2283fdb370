//! Port specifications: `22/tcp`, `9000-9001/tcp`, `53/tcp+udp`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inclusive range of ports for one or both protocols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
    pub protocols: Vec<Protocol>,
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)?;
        } else {
            write!(f, "{}-{}", self.first, self.last)?;
        }
        let protocols: Vec<_> = self.protocols.iter().map(|p| p.as_str()).collect();
        write!(f, "/{}", protocols.join("+"))
    }
}

const FORMS: &str = "write PORT/PROTO or FIRST-LAST/PROTO, e.g. \"22/tcp\", \
                     \"9000-9001/tcp\" or \"53/tcp+udp\"";

/// Parses one entry of a service's `ports` list.
pub fn parse_port_spec(text: &str) -> Result<PortRange, String> {
    let Some((ports, protos)) = text.split_once('/') else {
        return Err(format!("{text:?} has no protocol; {FORMS}"));
    };
    let mut protocols = Vec::new();
    for proto in protos.split('+') {
        let p = match proto {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            other => {
                return Err(format!(
                    "{text:?}: unknown protocol {other:?}; valid protocols are tcp, udp and tcp+udp"
                ));
            }
        };
        if protocols.contains(&p) {
            return Err(format!("{text:?} names {p} twice"));
        }
        protocols.push(p);
    }
    protocols.sort();
    let (first, last) = match ports.split_once('-') {
        Some((a, b)) => (parse_port(text, a)?, parse_port(text, b)?),
        None => {
            let p = parse_port(text, ports)?;
            (p, p)
        }
    };
    if first > last {
        return Err(format!(
            "{text:?}: the range {first}-{last} is reversed; did you mean {last}-{first}?"
        ));
    }
    Ok(PortRange {
        first,
        last,
        protocols,
    })
}

fn parse_port(spec: &str, text: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{spec:?}: {text:?} is not a port number; {FORMS}"));
    }
    match text.parse::<u32>() {
        Ok(0) => Err(format!(
            "{spec:?}: port 0 is not a valid port; ports are 1 to 65535"
        )),
        Ok(p) if p <= 65535 => Ok(p as u16),
        _ => Err(format!(
            "{spec:?}: port {text} is above 65535; ports are 1 to 65535"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let r = parse_port_spec("53/udp+tcp").unwrap();
        assert_eq!((r.first, r.last), (53, 53));
        assert_eq!(r.protocols, vec![Protocol::Tcp, Protocol::Udp]);
        assert_eq!(r.to_string(), "53/tcp+udp");
        assert_eq!(
            parse_port_spec("9000-9001/tcp").unwrap().to_string(),
            "9000-9001/tcp"
        );
    }

    #[test]
    fn each_mistake_gets_its_own_message() {
        let cases = [
            ("0/tcp", "port 0"),
            ("70000/tcp", "above 65535"),
            ("9001-9000/tcp", "did you mean 9000-9001"),
            ("22/sctp", "unknown protocol"),
            ("22", "no protocol"),
            ("ssh/tcp", "not a port number"),
            ("22/tcp+tcp", "twice"),
            ("99999999999999999999/udp", "above 65535"),
        ];
        for (input, want) in cases {
            let err = parse_port_spec(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
        }
    }
}
