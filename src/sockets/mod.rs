//! What listens on this machine, read from the kernel as `ss` reads it: TCP listeners and
//! bound UDP sockets over netlink sock_diag (`diag`), their owning processes from /proc
//! (`procs`), service names from /etc/services (`services`); and, pure, who can reach each
//! one under a policy (`exposure`) and which uncovered ones should become services
//! (`suggest`).

pub mod diag;
pub mod exposure;
pub mod live_exposure;
pub mod procs;
pub mod services;
pub mod ssh;
pub mod starter;
pub mod suggest;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use serde::Serialize;

use crate::policy::Protocol;
use diag::{Kind, RawSocket};
pub use procs::Process;
pub use services::ServiceNames;

/// A listening TCP socket or a bound UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    #[serde(serialize_with = "protocol_name")]
    pub protocol: Protocol,
    /// The bound address; `0.0.0.0` or `::` for all.
    pub address: IpAddr,
    pub port: u16,
    /// An IPv6 socket on `::` with IPV6_V6ONLY off: it serves IPv4 too.
    pub dual_stack: bool,
    /// SO_BINDTODEVICE, if set.
    pub interface: Option<String>,
    /// Established connections (TCP only).
    pub connections: Option<usize>,
    pub process: Option<Process>,
    pub service: Option<String>,
    pub inode: u32,
    pub uid: u32,
}

fn protocol_name<S: serde::Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

impl Listener {
    /// Bound to 127.0.0.0/8 or ::1: reachable from this host only.
    pub fn loopback_only(&self) -> bool {
        self.address.is_loopback()
    }

    /// The one local address it takes connections on, or None when bound to every
    /// address (0.0.0.0 or ::).
    pub fn bound_address(&self) -> Option<IpAddr> {
        (!self.address.is_unspecified()).then_some(self.address)
    }

    /// Whether some of `nets` are of a family it accepts connections of.
    pub fn takes_any_of<'a>(&self, nets: impl IntoIterator<Item = &'a ipnet::IpNet>) -> bool {
        let (v4, v6) = self.families();
        nets.into_iter()
            .any(|n| (n.addr().is_ipv4() && v4) || (n.addr().is_ipv6() && v6))
    }

    /// Whether it accepts IPv4 and IPv6 connections.
    pub fn families(&self) -> (bool, bool) {
        match self.address {
            IpAddr::V4(_) => (true, false),
            IpAddr::V6(_) => (self.dual_stack, true),
        }
    }
}

/// An established TCP connection, for counting and for anti-lockout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub local: IpAddr,
    pub local_port: u16,
    pub peer: IpAddr,
    pub peer_port: u16,
    pub process: Option<Process>,
}

/// The socket table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub listeners: Vec<Listener>,
    pub connections: Vec<Connection>,
}

/// Reads the ephemeral port range of the current network namespace (Linux's default when
/// /proc cannot be read).
pub fn ephemeral_range() -> std::ops::RangeInclusive<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| {
            let mut it = t.split_whitespace().map(|n| n.parse::<u16>());
            Some(it.next()?.ok()?..=it.next()?.ok()?)
        })
        .unwrap_or(suggest::DEFAULT_EPHEMERAL)
}

/// Whether a scan finds the process that owns each socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// By walking /proc/*/fd, which costs in proportion to all open files on the machine.
    Find,
    /// Leave `process` empty.
    Skip,
}

/// Reads the socket table, with its owners if `owners` says so.
pub fn scan(owners: Owners, names: &ServiceNames) -> io::Result<Table> {
    scan_with_owners(names, |_listeners| match owners {
        Owners::Find => procs::socket_owners(),
        Owners::Skip => HashMap::new(),
    })
}

/// Reads the socket table, asking `owners` for the processes of the listeners' inodes
/// (the terminal UI answers from a cache instead of scanning /proc every second). The map
/// it returns may also hold connections' inodes.
pub fn scan_with_owners(
    names: &ServiceNames,
    owners: impl FnOnce(&[u32]) -> HashMap<u32, Process>,
) -> io::Result<Table> {
    let tcp = diag::dump(Kind::TcpListening)?;
    let udp = diag::dump(Kind::UdpUnconnected)?;
    let established = diag::dump(Kind::TcpEstablished)?;
    let inodes: Vec<u32> = tcp.iter().chain(udp.iter()).map(|r| r.inode).collect();
    let owners = owners(&inodes);
    let interfaces = interface_names();
    let mut listeners: Vec<Listener> = tcp
        .iter()
        .chain(udp.iter())
        .map(|raw| Listener {
            protocol: raw.protocol,
            address: raw.local,
            port: raw.local_port,
            dual_stack: raw.local.is_ipv6() && raw.local.is_unspecified() && !raw.v6_only,
            interface: interfaces.get(&raw.interface_index).cloned(),
            connections: (raw.protocol == Protocol::Tcp).then_some(0),
            process: owners.get(&raw.inode).cloned(),
            service: names.name(raw.local_port, raw.protocol).map(str::to_string),
            inode: raw.inode,
            uid: raw.uid,
        })
        .collect();
    let connections: Vec<Connection> = established
        .iter()
        .map(|raw| Connection {
            local: raw.local,
            local_port: raw.local_port,
            peer: raw.remote,
            peer_port: raw.remote_port,
            process: owners.get(&raw.inode).cloned(),
        })
        .collect();
    count_connections(&mut listeners, &established);
    listeners.sort_by(|a, b| {
        (a.protocol, a.port, a.address, &a.interface).cmp(&(
            b.protocol,
            b.port,
            b.address,
            &b.interface,
        ))
    });
    Ok(Table {
        listeners,
        connections,
    })
}

/// Credits each established connection to the listener that accepted it: the one bound
/// to its local address, else the wildcard of its family, else a dual-stack `::`.
fn count_connections(listeners: &mut [Listener], established: &[RawSocket]) {
    let mut by_key: HashMap<(u16, IpAddr), usize> = HashMap::new();
    for (i, l) in listeners.iter().enumerate() {
        if l.protocol == Protocol::Tcp {
            by_key.entry((l.port, l.address)).or_insert(i);
        }
    }
    for c in established {
        let wildcard: IpAddr = if c.local.is_ipv4() {
            IpAddr::from([0u8; 4])
        } else {
            IpAddr::from([0u16; 8])
        };
        let exact = by_key.get(&(c.local_port, c.local));
        let any = by_key.get(&(c.local_port, wildcard));
        let dual = by_key
            .get(&(c.local_port, IpAddr::from([0u16; 8])))
            .filter(|&&i| c.local.is_ipv4() && listeners[i].dual_stack);
        if let Some(&i) = exact.or(any).or(dual)
            && let Some(n) = listeners[i].connections.as_mut()
        {
            *n += 1;
        }
    }
}

/// Interface index -> name.
fn interface_names() -> HashMap<u32, String> {
    nix::net::if_::if_nameindex()
        .map(|list| {
            list.iter()
                .map(|i| (i.index(), i.name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A listener with no owner, for the pure modules' tests.
#[cfg(test)]
pub(crate) fn test_listener(
    protocol: Protocol,
    address: &str,
    port: u16,
    dual_stack: bool,
    interface: Option<&str>,
) -> Listener {
    Listener {
        protocol,
        address: address.parse().expect("address"),
        port,
        dual_stack,
        interface: interface.map(str::to_string),
        connections: None,
        process: None,
        service: None,
        inode: 0,
        uid: 0,
    }
}
