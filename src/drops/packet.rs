//! The headers of one logged packet: addresses, protocol, ports or ICMP type. Parsed with
//! `etherparse` from the first `SNAPLEN` bytes the kernel copies (so lax: the payload is
//! cut short on purpose). Pure.

use std::fmt;
use std::net::IpAddr;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use serde::Serialize;

/// The transport protocol of a dropped packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    /// Any other IP protocol, by number.
    #[serde(untagged)]
    Other(u8),
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Tcp => f.write_str("tcp"),
            Proto::Udp => f.write_str("udp"),
            Proto::Icmp => f.write_str("icmp"),
            Proto::Icmpv6 => f.write_str("icmpv6"),
            Proto::Other(n) => write!(f, "proto-{n}"),
        }
    }
}

impl Proto {
    /// The policy's protocol, for the two a service can name.
    pub fn policy(self) -> Option<crate::policy::Protocol> {
        match self {
            Proto::Tcp => Some(crate::policy::Protocol::Tcp),
            Proto::Udp => Some(crate::policy::Protocol::Udp),
            _ => None,
        }
    }
}

/// What the headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub proto: Proto,
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
    /// ICMP or ICMPv6 type.
    pub icmp_type: Option<u8>,
}

/// The headers of an IPv4 or IPv6 packet; None when not even the IP header is there.
pub fn parse(bytes: &[u8]) -> Option<Headers> {
    let packet = LaxSlicedPacket::from_ip(bytes).ok()?;
    let (source, destination) = match packet.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        LaxNetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    let number = packet
        .net
        .as_ref()
        .and_then(|n| n.ip_payload_ref())
        .map(|p| p.ip_number.0);
    let mut headers = Headers {
        source,
        destination,
        proto: Proto::Other(number.unwrap_or(0)),
        source_port: None,
        destination_port: None,
        icmp_type: None,
    };
    match &packet.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            headers.proto = Proto::Tcp;
            headers.source_port = Some(tcp.source_port());
            headers.destination_port = Some(tcp.destination_port());
        }
        Some(TransportSlice::Udp(udp)) => {
            headers.proto = Proto::Udp;
            headers.source_port = Some(udp.source_port());
            headers.destination_port = Some(udp.destination_port());
        }
        Some(TransportSlice::Icmpv4(icmp)) => {
            headers.proto = Proto::Icmp;
            headers.icmp_type = Some(icmp.type_u8());
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            headers.proto = Proto::Icmpv6;
            headers.icmp_type = Some(icmp.type_u8());
        }
        _ => {
            headers.proto = match number {
                Some(6) => Proto::Tcp,
                Some(17) => Proto::Udp,
                Some(1) => Proto::Icmp,
                Some(58) => Proto::Icmpv6,
                Some(n) => Proto::Other(n),
                None => Proto::Other(0),
            };
        }
    }
    Some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn build(builder: etherparse::PacketBuilderStep<etherparse::UdpHeader>) -> Vec<u8> {
        let mut out = Vec::new();
        builder.write(&mut out, &[0u8; 300]).unwrap();
        out
    }

    #[test]
    fn a_cut_short_udp_datagram_still_gives_its_ports() {
        let bytes = build(PacketBuilder::ipv4([203, 0, 113, 9], [192, 0, 2, 1], 64).udp(5353, 514));
        let h = parse(&bytes[..64]).expect("parsed");
        assert_eq!(h.source.to_string(), "203.0.113.9");
        assert_eq!(h.destination.to_string(), "192.0.2.1");
        assert_eq!(
            (h.proto, h.source_port, h.destination_port),
            (Proto::Udp, Some(5353), Some(514))
        );
    }

    #[test]
    fn tcp_over_ipv6_and_icmpv6_echo() {
        let src = "2001:db8::9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        let dst = "2001:db8::1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        let mut tcp = Vec::new();
        PacketBuilder::ipv6(src, dst, 64)
            .tcp(40000, 9001, 1, 64000)
            .syn()
            .write(&mut tcp, &[])
            .unwrap();
        let h = parse(&tcp).unwrap();
        assert_eq!((h.proto, h.destination_port), (Proto::Tcp, Some(9001)));
        assert_eq!(h.source.to_string(), "2001:db8::9");

        let mut echo = Vec::new();
        PacketBuilder::ipv6(src, dst, 64)
            .icmpv6_echo_request(1, 1)
            .write(&mut echo, &[0u8; 56])
            .unwrap();
        let h = parse(&echo[..100]).unwrap();
        assert_eq!(
            (h.proto, h.icmp_type, h.destination_port),
            (Proto::Icmpv6, Some(128), None)
        );
    }

    #[test]
    fn garbage_is_no_packet_and_no_panic() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x45, 0, 0]), None);
        assert_eq!(parse(&[0x60; 20]), None);
    }
}
