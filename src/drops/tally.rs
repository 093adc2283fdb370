//! The drop log's memory: a ring of the latest logged packets and an aggregate per
//! (source, destination port or ICMP type, protocol), both capped, so a flood of new
//! sources costs a fixed amount of memory however long the reader runs. Pure.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use serde::Serialize;

use super::packet::{Headers, Proto};
use crate::nft::droplog::LoggedBy;

/// Latest packets kept for `--follow`-like views.
pub const RING: usize = 256;
/// Distinct (source, port, protocol) kept; the least recently seen goes first.
pub const AGGREGATE: usize = 1024;

/// One packet a portcullis rule logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Wall-clock milliseconds since the epoch, when it was read.
    pub at_ms: u64,
    pub by: LoggedBy,
    /// The input interface, by name (or `if<index>` for one gone since).
    pub interface: Option<String>,
    pub headers: Headers,
}

impl Dropped {
    pub fn key(&self) -> Key {
        Key {
            source: self.headers.source,
            proto: self.headers.proto,
            port: self.headers.destination_port,
            icmp_type: self.headers.icmp_type,
        }
    }
}

/// What the aggregate counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Key {
    pub source: IpAddr,
    pub proto: Proto,
    /// The destination port (TCP, UDP).
    pub port: Option<u16>,
    pub icmp_type: Option<u8>,
}

/// One aggregate line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    pub count: u64,
    pub first_ms: u64,
    pub last_ms: u64,
    /// As last seen.
    pub interface: Option<String>,
    pub destination: IpAddr,
    pub by: LoggedBy,
}

impl Entry {
    /// `203.0.113.9 → 9001/tcp`, `2001:db8::9 → icmpv6 type 128`.
    pub fn describe(&self) -> String {
        match (self.key.port, self.key.icmp_type) {
            (Some(port), _) => format!("{} → {port}/{}", self.key.source, self.key.proto),
            (None, Some(t)) => format!("{} → {} type {t}", self.key.source, self.key.proto),
            (None, None) => format!("{} → {}", self.key.source, self.key.proto),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tally {
    entries: HashMap<Key, Entry>,
    ring: VecDeque<Dropped>,
    cap_entries: usize,
    cap_ring: usize,
    /// Every line read, including those the aggregate has since forgotten.
    pub lines: u64,
    /// Aggregate lines let go to stay within the cap.
    pub forgotten: u64,
    /// Lines the kernel could not hand over (the socket's buffer overran).
    pub overruns: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally::with_caps(AGGREGATE, RING)
    }
}

impl Tally {
    pub fn with_caps(cap_entries: usize, cap_ring: usize) -> Tally {
        Tally {
            entries: HashMap::new(),
            ring: VecDeque::new(),
            cap_entries: cap_entries.max(1),
            cap_ring: cap_ring.max(1),
            lines: 0,
            forgotten: 0,
            overruns: 0,
        }
    }

    pub fn add(&mut self, dropped: Dropped) {
        self.lines += 1;
        let key = dropped.key();
        if !self.entries.contains_key(&key) && self.entries.len() >= self.cap_entries {
            // Linear, but only when a new source arrives at the cap, and the kernel's rate
            // limit bounds how often that is.
            if let Some(oldest) = self
                .entries
                .values()
                .min_by_key(|e| (e.last_ms, e.key))
                .map(|e| e.key)
            {
                self.entries.remove(&oldest);
                self.forgotten += 1;
            }
        }
        let entry = self.entries.entry(key).or_insert_with(|| Entry {
            key,
            count: 0,
            first_ms: dropped.at_ms,
            last_ms: dropped.at_ms,
            interface: None,
            destination: dropped.headers.destination,
            by: dropped.by.clone(),
        });
        entry.count += 1;
        entry.last_ms = entry.last_ms.max(dropped.at_ms);
        entry.first_ms = entry.first_ms.min(dropped.at_ms);
        entry.interface = dropped.interface.clone();
        entry.destination = dropped.headers.destination;
        entry.by = dropped.by.clone();
        if self.ring.len() >= self.cap_ring {
            self.ring.pop_front();
        }
        self.ring.push_back(dropped);
    }

    /// Newest first; ties by key, so the order is stable between frames.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut all: Vec<&Entry> = self.entries.values().collect();
        all.sort_by(|a, b| b.last_ms.cmp(&a.last_ms).then(a.key.cmp(&b.key)));
        all
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The latest packets, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Dropped> {
        self.ring.iter()
    }

    /// Packets from `peer` seen at or after `since_ms`.
    pub fn from_peer_since(&self, peer: IpAddr, since_ms: u64) -> Vec<&Entry> {
        self.entries()
            .into_iter()
            .filter(|e| e.key.source == peer && e.last_ms >= since_ms)
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nft::droplog::Reason;

    pub(crate) fn dropped(source: &str, port: u16, at_ms: u64) -> Dropped {
        Dropped {
            at_ms,
            by: LoggedBy {
                chain: "input".into(),
                reason: Reason::Policy,
            },
            interface: Some("eth0".into()),
            headers: Headers {
                source: source.parse().unwrap(),
                destination: "192.0.2.1".parse().unwrap(),
                proto: Proto::Tcp,
                source_port: Some(40000),
                destination_port: Some(port),
                icmp_type: None,
            },
        }
    }

    #[test]
    fn counts_per_source_port_and_protocol_newest_first() {
        let mut t = Tally::default();
        t.add(dropped("203.0.113.9", 9001, 10));
        t.add(dropped("203.0.113.9", 9001, 20));
        t.add(dropped("203.0.113.7", 9001, 15));
        t.add(dropped("203.0.113.9", 22, 30));
        let e = t.entries();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].key.port, e[0].count), (Some(22), 1));
        assert_eq!(
            (e[1].key.port, e[1].count, e[1].first_ms, e[1].last_ms),
            (Some(9001), 2, 10, 20)
        );
        assert_eq!(e[2].key.source.to_string(), "203.0.113.7");
        assert_eq!(t.lines, 4);
    }

    #[test]
    fn a_flood_of_new_sources_stays_within_the_caps() {
        let mut t = Tally::with_caps(100, 10);
        for i in 0..10_000u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            t.add(dropped(&ip, 80, u64::from(i)));
        }
        assert_eq!(t.len(), 100);
        assert_eq!(t.recent().count(), 10);
        assert_eq!(t.forgotten, 9_900);
        // The newest are the ones kept.
        assert_eq!(t.entries()[0].last_ms, 9_999);
        assert!(t.entries().iter().all(|e| e.last_ms >= 9_900));
    }
}
