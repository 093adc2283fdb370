//! The kernel's socket table over netlink sock_diag, the interface `ss` reads: TCP
//! listeners, established TCP connections and bound UDP sockets, for IPv4 and IPv6.

use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::nlas::Nla;
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr};

use crate::policy::Protocol;

/// One socket as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSocket {
    pub protocol: Protocol,
    pub local: IpAddr,
    pub local_port: u16,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// SO_BINDTODEVICE's interface index, 0 if unbound.
    pub interface_index: u32,
    pub inode: u32,
    pub uid: u32,
    /// IPV6_V6ONLY, for IPv6 sockets.
    pub v6_only: bool,
}

/// Which sockets to dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TcpListening,
    TcpEstablished,
    /// Bound, unconnected UDP sockets (what `ss -ul` lists).
    UdpUnconnected,
}

/// Every socket of `kind`, both address families.
pub fn dump(kind: Kind) -> io::Result<Vec<RawSocket>> {
    let mut out = Vec::new();
    for family in [AF_INET, AF_INET6] {
        dump_family(kind, family, &mut out)?;
    }
    Ok(out)
}

fn dump_family(kind: Kind, family: u8, out: &mut Vec<RawSocket>) -> io::Result<()> {
    let (protocol, ip_proto, states) = match kind {
        Kind::TcpListening => (Protocol::Tcp, IPPROTO_TCP, StateFlags::LISTEN),
        Kind::TcpEstablished => (Protocol::Tcp, IPPROTO_TCP, StateFlags::ESTABLISHED),
        // The kernel reports unconnected UDP sockets in state CLOSE.
        Kind::UdpUnconnected => (Protocol::Udp, IPPROTO_UDP, StateFlags::CLOSE),
    };
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut request = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: ip_proto,
            extensions: ExtensionFlags::empty(),
            states,
            socket_id: if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            },
        })
        .into(),
    );
    request.finalize();
    let mut buf = vec![0; request.buffer_len()];
    request.serialize(&mut buf);
    socket.send(&buf, 0)?;

    let mut receive = vec![0u8; 1 << 16];
    loop {
        let size = socket.recv(&mut &mut receive[..], 0)?;
        let mut offset = 0;
        while offset < size {
            let message = NetlinkMessage::<SockDiagMessage>::deserialize(&receive[offset..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let length = message.header.length as usize;
            match message.payload {
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(e) => {
                    return Err(io::Error::other(format!("sock_diag: {e:?}")));
                }
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                    let id = &r.header.socket_id;
                    out.push(RawSocket {
                        protocol,
                        local: id.source_address.to_canonical(),
                        local_port: id.source_port,
                        remote: id.destination_address.to_canonical(),
                        remote_port: id.destination_port,
                        interface_index: id.interface_id,
                        inode: r.header.inode,
                        uid: r.header.uid,
                        v6_only: r.nlas.iter().any(|n| matches!(n, Nla::SkV6Only(true))),
                    });
                }
                _ => {}
            }
            if length == 0 {
                break;
            }
            offset += length;
        }
    }
}
