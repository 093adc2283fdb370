//! Parsing of network entries: a bare address (one host) or a prefix, with messages that
//! say what was probably meant.

use std::net::IpAddr;

use ipnet::IpNet;

const EXPECTED: &str = "expected an IPv4 or IPv6 address (192.0.2.10, 2001:db8::1) or prefix \
                        (192.0.2.0/24, 2001:db8::/32)";

/// Parses one network entry. A bare address becomes a /32 or /128.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let trimmed = text.trim();
    if trimmed != text {
        return Err(format!(
            "{text:?} has surrounding spaces; write {trimmed:?}"
        ));
    }
    let net = match text.split_once('/') {
        None => {
            let addr: IpAddr = text
                .parse()
                .map_err(|_| format!("{text:?} is not a valid address; {EXPECTED}"))?;
            IpNet::from(addr)
        }
        Some((addr_text, len_text)) => {
            let addr: IpAddr = addr_text.parse().map_err(|_| {
                format!("{text:?}: {addr_text:?} is not a valid address; {EXPECTED}")
            })?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len: u8 = len_text.parse().ok().filter(|l| *l <= max).ok_or_else(|| {
                format!("{text:?}: prefix length {len_text:?} must be a number from 0 to {max}")
            })?;
            let net = IpNet::new(addr, len).map_err(|e| format!("{text:?}: {e}"))?;
            if net.trunc() != net {
                return Err(format!(
                    "{text:?} has host bits set: did you mean the network {} or the single \
                     host {}?",
                    net.trunc(),
                    IpNet::from(addr)
                ));
            }
            net
        }
    };
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
    {
        return Err(format!(
            "{text:?} is an IPv4-mapped IPv6 address, which never matches IPv4 traffic; \
             write the IPv4 form {v4}"
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hosts_and_prefixes() {
        assert_eq!(
            parse_net("192.0.2.10").unwrap().to_string(),
            "192.0.2.10/32"
        );
        assert_eq!(
            parse_net("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_net("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
    }

    #[test]
    fn host_bits_suggest_network_and_host() {
        let err = parse_net("10.0.0.1/8").unwrap_err();
        assert!(
            err.contains("10.0.0.0/8") && err.contains("10.0.0.1/32"),
            "{err}"
        );
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        for bad in [
            "10.0.0.300",
            "10.0.0.0/33",
            "2001:db8::/129",
            "x",
            "",
            " 10.0.0.1",
            "::ffff:1.2.3.4",
        ] {
            assert!(parse_net(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_net("10.0.0.300")
                .unwrap_err()
                .contains("192.0.2.0/24")
        );
    }
}
