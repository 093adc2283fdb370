//! The NFLOG reader: binds the table's log group over netlink (never the kernel log), and
//! turns each logged packet into a [`Dropped`]. The requests are built and the packet
//! messages parsed with rust-netlink's `netlink-packet-netfilter` (its `nflog` module);
//! the headers inside with `etherparse` (`packet`).
//!
//! A group has one reader in the kernel: a second bind is refused (EPERM from another
//! socket), and the first reader keeps its group. Reading blocks in `recv`, so an idle
//! reader costs no CPU between packets.

use std::collections::HashMap;
use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::nflog::{
    ConfigCmd, ConfigMode, ConfigNla, PacketNla, Timeout, ULogMessage, config_request,
};
use netlink_packet_netfilter::{NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily};
use netlink_sys::constants::NETLINK_NETFILTER;
use netlink_sys::{Socket, SocketAddr};

use super::packet;
use super::tally::Dropped;
use crate::nft::droplog::{LoggedBy, SNAPLEN};

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "NFLOG group {0} is taken by another reader (ulogd2, or another `portcullis drops` or \
         TUI); the drop log is not shown. Stop that reader, or set another \
         settings.drop_log_group"
    )]
    Busy(u16),
    #[error("reading the drop log needs root (CAP_NET_ADMIN)")]
    NeedsPrivilege,
    #[error("binding NFLOG group {group}: {source}")]
    Io { group: u16, source: io::Error },
}

/// How soon the kernel hands a logged packet over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// Each packet at once (`drops --follow`: under 100 ms).
    Immediate,
    /// Batched for up to 300 ms (a screen that redraws once a second: fewer wake-ups,
    /// and a drop is still on screen within the next refresh or the one after).
    Batched,
}

pub struct Reader {
    socket: Socket,
    group: u16,
    buffer: Vec<u8>,
    interfaces: HashMap<u32, String>,
    /// Lines the kernel could not deliver (our receive buffer overran).
    pub overruns: u64,
}

impl Reader {
    pub fn bind(group: u16, latency: Latency) -> Result<Reader, BindError> {
        let io = |source| BindError::Io { group, source };
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(io)?;
        socket.bind_auto().map_err(io)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(io)?;
        // Room for a burst (a line is ~250 bytes): overruns are counted, not fatal.
        let _ =
            nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBuf, &(1 << 20));
        let (threshold, hundredths) = match latency {
            Latency::Immediate => (1, 1),
            Latency::Batched => (64, 30),
        };
        let bound = exchange(&mut socket, group, vec![ConfigCmd::Bind.into()]);
        match bound {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => {
                return Err(if nix::unistd::geteuid().is_root() {
                    BindError::Busy(group)
                } else {
                    BindError::NeedsPrivilege
                });
            }
            // Our own socket binding twice; not expected, but it means the same.
            Err(e) if e.raw_os_error() == Some(nix::libc::EBUSY) => {
                return Err(BindError::Busy(group));
            }
            Err(e) => return Err(io(e)),
        }
        exchange(
            &mut socket,
            group,
            vec![
                ConfigMode::new_packet(SNAPLEN).into(),
                ConfigNla::QThresh(threshold),
                Timeout::new(hundredths).into(),
            ],
        )
        .map_err(io)?;
        Ok(Reader {
            socket,
            group,
            buffer: vec![0; 1 << 16],
            interfaces: HashMap::new(),
            overruns: 0,
        })
    }

    pub fn group(&self) -> u16 {
        self.group
    }

    /// Blocks until packets arrive (or `timeout` passes: then Ok with none), and appends
    /// the ones our rules logged.
    pub fn read(&mut self, timeout: Option<Duration>, out: &mut Vec<Dropped>) -> io::Result<()> {
        let tv = match timeout {
            // A zero timeout means "forever" to SO_RCVTIMEO: wait at least a microsecond.
            Some(t) => nix::sys::time::TimeVal::new(
                t.as_secs() as i64,
                if t.as_secs() == 0 {
                    i64::from(t.subsec_micros().max(1))
                } else {
                    i64::from(t.subsec_micros())
                },
            ),
            None => nix::sys::time::TimeVal::new(0, 0),
        };
        let _ = nix::sys::socket::setsockopt(
            &self.socket,
            nix::sys::socket::sockopt::ReceiveTimeout,
            &tv,
        );
        let size = match self.socket.recv(&mut &mut self.buffer[..], 0) {
            Ok(size) => size,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(());
            }
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                self.overruns += 1;
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut offset = 0;
        while offset + 16 <= size {
            let rest = &self.buffer[offset..size];
            let length = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if length < 16 || length > rest.len() {
                break;
            }
            if let Ok(message) = NetlinkMessage::<NetfilterMessage>::deserialize(&rest[..length])
                && let Some(dropped) = dropped_of(&message, now_ms, &mut self.interfaces)
            {
                out.push(dropped);
            }
            offset += (length + 3) & !3;
        }
        Ok(())
    }
}

impl AsRawFd for Reader {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

/// One config request, and its acknowledgement.
fn exchange(socket: &mut Socket, group: u16, nlas: Vec<ConfigNla>) -> io::Result<()> {
    let request = config_request(NetfilterProtoFamily::Unspec, group, nlas);
    let mut buf = vec![0; request.header.length as usize];
    request.serialize(&mut buf[..]);
    socket.send(&buf, 0)?;
    let mut reply = vec![0u8; 8192];
    loop {
        let size = socket.recv(&mut &mut reply[..], 0)?;
        let message = NetlinkMessage::<NetfilterMessage>::deserialize(&reply[..size])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        if let NetlinkPayload::Error(e) = message.payload {
            return match e.code {
                None => Ok(()),
                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
            };
        }
        // A packet logged between our bind and its acknowledgement: not what we wait for.
    }
}

fn dropped_of(
    message: &NetlinkMessage<NetfilterMessage>,
    now_ms: u64,
    interfaces: &mut HashMap<u32, String>,
) -> Option<Dropped> {
    let NetlinkPayload::InnerMessage(NetfilterMessage {
        inner: NetfilterMessageInner::ULog(ULogMessage::Packet(nlas)),
        ..
    }) = &message.payload
    else {
        return None;
    };
    let mut prefix = None;
    let mut payload = None;
    let mut indev = None;
    for nla in nlas {
        match nla {
            PacketNla::Prefix(p) => prefix = p.to_str().ok(),
            PacketNla::Payload(p) => payload = Some(p.as_slice()),
            PacketNla::IfIndexInDev(i) => indev = Some(*i),
            _ => {}
        }
    }
    let by = LoggedBy::parse(prefix?)?;
    let headers = packet::parse(payload?)?;
    Some(Dropped {
        at_ms: now_ms,
        by,
        interface: indev.map(|i| interface_name(interfaces, i)),
        headers,
    })
}

/// An interface's name by index, looked up again when an index is new (interfaces come
/// and go; names are cached so a flood does not list them for every packet).
fn interface_name(cache: &mut HashMap<u32, String>, index: u32) -> String {
    if let Some(name) = cache.get(&index) {
        return name.clone();
    }
    if let Ok(all) = nix::net::if_::if_nameindex() {
        cache.clear();
        for i in all.iter() {
            cache.insert(i.index(), i.name().to_string_lossy().into_owned());
        }
    }
    cache
        .get(&index)
        .cloned()
        .unwrap_or_else(|| format!("if{index}"))
}
