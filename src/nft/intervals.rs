//! Canonical interval lists: sorted, with overlapping and adjacent intervals merged.
//!
//! Both sides of a diff go through here, so the same addresses always print the same way,
//! and nft never sees overlapping elements (it rejects those in one batch when the set has
//! no auto-merge, which is the case for everything loaded through JSON).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// An inclusive interval over addresses or ports, widened to u128.
pub type Interval = (u128, u128);

/// Sorts and merges overlapping or touching intervals.
pub fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_unstable();
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (lo, hi) in intervals {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The addresses of one family that `sources` stand for (networks resolved), merged.
pub fn of_sources(
    policy: &crate::policy::Policy,
    sources: &[crate::policy::Source],
    family: Family,
) -> Vec<Interval> {
    merge(
        policy
            .entries_of(sources)
            .into_iter()
            .filter(|n| Family::of(n) == family)
            .map(net_interval)
            .collect(),
    )
}

/// A digest of a merged interval list: equal digests, equal elements.
pub fn digest(list: &[Interval]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for (lo, hi) in list {
        hash.update(lo.to_be_bytes());
        hash.update(hi.to_be_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn net_interval(net: &IpNet) -> Interval {
    match net {
        IpNet::V4(n) => (
            u32::from(n.network()) as u128,
            u32::from(n.broadcast()) as u128,
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    pub fn addr(self, value: u128) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::from(value as u32)),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(value)),
        }
    }
}

/// How one interval of addresses is written: the way nft itself lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrElement {
    Host(IpAddr),
    Prefix(IpAddr, u32),
    Range(IpAddr, IpAddr),
}

/// Writes an interval as a host, a prefix if it is exactly one, or a range.
pub fn addr_element(family: Family, (lo, hi): Interval) -> AddrElement {
    if lo == hi {
        return AddrElement::Host(family.addr(lo));
    }
    let size = hi - lo; // one less than the number of addresses, so no overflow at ::/0
    let aligned = size
        .checked_add(1)
        .is_none_or(|n| n.is_power_of_two() && lo % n == 0);
    if aligned {
        let host_bits = 128 - size.leading_zeros();
        return AddrElement::Prefix(family.addr(lo), family.bits() - host_bits);
    }
    AddrElement::Range(family.addr(lo), family.addr(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Interval> {
        list.iter()
            .map(|s| net_interval(&s.parse().unwrap()))
            .collect()
    }

    #[test]
    fn merges_adjacent_and_overlapping() {
        let merged = merge(nets(&[
            "10.0.0.0/25",
            "10.0.0.128/25",
            "10.0.0.5/32",
            "10.0.2.0/24",
        ]));
        assert_eq!(merged.len(), 2);
        assert_eq!(
            addr_element(Family::V4, merged[0]),
            AddrElement::Prefix("10.0.0.0".parse().unwrap(), 24)
        );
    }

    #[test]
    fn writes_hosts_prefixes_and_ranges_like_nft() {
        let v4 = |s: &str| net_interval(&s.parse().unwrap());
        assert_eq!(
            addr_element(Family::V4, v4("192.0.2.1/32")),
            AddrElement::Host("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            addr_element(Family::V4, v4("0.0.0.0/0")),
            AddrElement::Prefix("0.0.0.0".parse().unwrap(), 0)
        );
        assert_eq!(
            addr_element(Family::V6, net_interval(&"::/0".parse().unwrap())),
            AddrElement::Prefix("::".parse().unwrap(), 0)
        );
        let (lo, _) = v4("10.0.0.0/24");
        let (_, hi) = v4("10.0.1.0/25");
        assert!(matches!(
            addr_element(Family::V4, (lo, hi)),
            AddrElement::Range(..)
        ));
    }
}
