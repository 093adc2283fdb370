//! What portcullis reads from nf_tables over netlink without running nft: the ruleset's
//! generation (a number the kernel bumps at every committed transaction, to any table), and
//! the elements of one of our address sets (the dump `nft list set` asks the kernel for).
//!
//! At 100,000 elements `nft -j list set` takes ~0.5 s, of which the kernel's dump is ~0.3 s
//! (it walks its tree from the start for each 32 KiB it sends); reading the dump ourselves
//! saves nft's part. A commit reads elements only of the sets it changes, or of all of them
//! when the generation says the ruleset changed since portcullis last loaded it.
//!
//! Reads only: nothing here can change a table.

use std::io;

use netlink_packet_core::{
    NLA_TYPE_MASK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_netfilter::nftables::{
    GenMessage, NfTablesMessage, SetElementList, SetElementMessage,
};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::protocols::NETLINK_NETFILTER;
use netlink_sys::{Socket, SocketAddr};

use super::intervals::{self, Interval};

/// One element of a set as the kernel holds it: its key (an address, big-endian, widened
/// to u128) and whether it ends an interval. An interval set holds `[a, b]` as a start
/// element `a` and an end element `b + 1` (none when `b` is the highest address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawElement {
    pub key: u128,
    pub end: bool,
}

/// The intervals of set `set` of `table inet TABLE`, merged as `intervals::merge` does,
/// so that they compare equal to the compiled ones when they hold the same addresses.
/// `bits` is the key's width (32 or 128); `interval` whether the set has the interval flag.
pub fn read(table: &str, set: &str, bits: u32, interval: bool) -> io::Result<Vec<Interval>> {
    let raw = dump(table, set)?;
    Ok(to_intervals(raw, bits, interval))
}

/// The kernel's elements, in any order, as intervals.
pub fn to_intervals(mut raw: Vec<RawElement>, bits: u32, interval: bool) -> Vec<Interval> {
    if !interval {
        return intervals::merge(raw.iter().map(|e| (e.key, e.key)).collect());
    }
    let max = if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    // By key, and at the same key an end before a start: [a, k-1] ends where [k, b] starts.
    raw.sort_unstable_by_key(|e| (e.key, !e.end));
    let mut out = Vec::with_capacity(raw.len() / 2 + 1);
    let mut open: Option<u128> = None;
    for e in raw {
        match (open, e.end) {
            (None, false) => open = Some(e.key),
            (Some(start), true) if e.key > start => {
                out.push((start, e.key - 1));
                open = None;
            }
            // nft's leading "end" at 0, or a start inside an open interval: nothing to add.
            _ => {}
        }
    }
    if let Some(start) = open {
        out.push((start, max));
    }
    intervals::merge(out)
}

fn invalid(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("nf_tables netlink: {why}"),
    )
}

/// The ruleset's generation now.
pub fn generation() -> io::Result<u32> {
    let mut id = None;
    exchange(
        NfTablesMessage::GetGen(GenMessage { attributes: vec![] }),
        NetfilterProtoFamily::Unspec,
        NLM_F_REQUEST,
        |kind, body| {
            if kind == NEWGEN {
                for a in attributes(body) {
                    if let (NFTA_GEN_ID, value) = a? {
                        id = value
                            .get(0..4)
                            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    }
                }
            }
            Ok(())
        },
    )?;
    id.ok_or_else(|| invalid("the generation reply has no id"))
}

fn dump(table: &str, set: &str) -> io::Result<Vec<RawElement>> {
    let mut out = Vec::new();
    exchange(
        NfTablesMessage::GetSetElement(SetElementMessage {
            attributes: vec![
                SetElementList::Table(table.to_string()),
                SetElementList::Set(set.to_string()),
            ],
        }),
        NetfilterProtoFamily::Inet,
        NLM_F_REQUEST | NLM_F_DUMP,
        |kind, body| {
            if kind == NEWSETELEM {
                collect(body, &mut out)?;
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// Sends one request and hands each reply's type and attributes (after the nfgenmsg
/// header) to `each`, until the kernel says done (a dump) or has answered (a get).
fn exchange(
    message: NfTablesMessage,
    family: NetfilterProtoFamily,
    flags: u16,
    mut each: impl FnMut(u16, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut socket = Socket::new(NETLINK_NETFILTER)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    let mut request = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(NetfilterMessage::new(
            NetfilterHeader::new(family, 0, 0),
            message,
        )),
    );
    request.finalize();
    let mut buf = vec![0; request.buffer_len()];
    request.serialize(&mut buf);
    socket.send(&buf, 0)?;
    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;

    let mut receive = vec![0u8; 1 << 17];
    loop {
        let size = socket.recv(&mut &mut receive[..], 0)?;
        let mut offset = 0;
        while offset + NLMSG_HEADER <= size {
            let message = &receive[offset..size];
            let length = u32::from_ne_bytes([message[0], message[1], message[2], message[3]]);
            let length = length as usize;
            let kind = u16::from_ne_bytes([message[4], message[5]]);
            if length < NLMSG_HEADER || length > message.len() {
                return Err(invalid("a message cut short"));
            }
            let body = &message[NLMSG_HEADER..length];
            match kind {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let code = body
                        .get(0..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code == 0 {
                        return Ok(());
                    }
                    return Err(io::Error::from_raw_os_error(-code));
                }
                _ => each(kind, body.get(NFGEN_HEADER..).unwrap_or_default())?,
            }
            if !dump {
                return Ok(());
            }
            // Messages are 4-byte aligned.
            offset += (length + 3) & !3;
        }
    }
}

const NLMSG_HEADER: usize = 16;
const NFGEN_HEADER: usize = 4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM`: what a set-element dump answers.
const NEWSETELEM: u16 = (10 << 8) | 12;
/// `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN`: the answer to a generation request.
const NEWGEN: u16 = (10 << 8) | 15;
const NFTA_GEN_ID: u16 = 1;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_DATA_VALUE: u16 = 1;
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;

/// The attributes of one level, as (type, value). (The crate's typed parser of these
/// messages takes time quadratic in a message's elements, 100 s for 100,000; this is
/// linear.)
fn attributes(mut bytes: &[u8]) -> impl Iterator<Item = io::Result<(u16, &[u8])>> {
    std::iter::from_fn(move || {
        if bytes.len() < 4 {
            return None;
        }
        let length = u16::from_ne_bytes([bytes[0], bytes[1]]) as usize;
        let kind = u16::from_ne_bytes([bytes[2], bytes[3]]) & NLA_TYPE_MASK;
        if length < 4 || length > bytes.len() {
            bytes = &[];
            return Some(Err(invalid("an attribute cut short")));
        }
        let value = &bytes[4..length];
        bytes = bytes.get((length + 3) & !3..).unwrap_or_default();
        Some(Ok((kind, value)))
    })
}

/// The elements of one NEWSETELEM message's attributes.
fn collect(body: &[u8], out: &mut Vec<RawElement>) -> io::Result<()> {
    for attribute in attributes(body) {
        let (kind, value) = attribute?;
        if kind != NFTA_SET_ELEM_LIST_ELEMENTS {
            continue;
        }
        for element in attributes(value) {
            let (kind, value) = element?;
            if kind != NFTA_LIST_ELEM {
                continue;
            }
            let mut key = None;
            let mut end = false;
            for a in attributes(value) {
                match a? {
                    (NFTA_SET_ELEM_KEY, data) => {
                        for d in attributes(data) {
                            if let (NFTA_DATA_VALUE, bytes) = d? {
                                key = Some(key_of(bytes)?);
                            }
                        }
                    }
                    (NFTA_SET_ELEM_FLAGS, flags) => {
                        let flags = flags
                            .get(0..4)
                            .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or_default()));
                        end = flags & NFT_SET_ELEM_INTERVAL_END != 0;
                    }
                    _ => {}
                }
            }
            let key = key.ok_or_else(|| invalid("a set element without a key"))?;
            out.push(RawElement { key, end });
        }
    }
    Ok(())
}

/// An address key, big-endian as the kernel stores it.
fn key_of(bytes: &[u8]) -> io::Result<u128> {
    if bytes.len() > 16 {
        return Err(invalid(format!(
            "a {}-byte key is not an address",
            bytes.len()
        )));
    }
    Ok(bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(key: u128) -> RawElement {
        RawElement { key, end: false }
    }
    fn end(key: u128) -> RawElement {
        RawElement { key, end: true }
    }

    #[test]
    fn start_and_end_elements_pair_into_intervals_in_any_order() {
        // [10, 19] and the host 30, as the kernel dumps them (newest first), with nft's
        // leading end at 0.
        let raw = vec![end(31), start(30), end(20), start(10), end(0)];
        assert_eq!(to_intervals(raw, 32, true), vec![(10, 19), (30, 30)]);
    }

    #[test]
    fn an_interval_up_to_the_highest_address_has_no_end_element() {
        let raw = vec![start(0xffff_ff00)];
        assert_eq!(
            to_intervals(raw, 32, true),
            vec![(0xffff_ff00, 0xffff_ffff)]
        );
        assert_eq!(
            to_intervals(vec![start(5)], 128, true),
            vec![(5, u128::MAX)]
        );
    }

    #[test]
    fn adjacent_intervals_merge_as_the_compiler_merges_them() {
        let raw = vec![start(10), end(20), start(20), end(30)];
        assert_eq!(to_intervals(raw, 32, true), vec![(10, 29)]);
    }

    #[test]
    fn keys_are_big_endian() {
        assert_eq!(key_of(&[10, 0, 0, 1]).unwrap(), 0x0a00_0001);
        assert!(key_of(&[0; 17]).is_err());
    }
}
