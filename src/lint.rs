//! Warnings about a valid policy: what it says that is probably not what was meant. Today
//! that is a block contradicting a service: a source the service allows, on a port it
//! allows, that a block refuses first (the block wins). `check` prints them; they never
//! stop a policy. Pure.
//!
//! Sources are compared as merged address intervals, so 100,000 blocked prefixes against a
//! service's networks cost a sort and one pass, not a product.

use crate::nft::intervals::{self, Family, Interval};
use crate::policy::{Block, Policy, PortRange, Service, Source};

/// One contradiction, in words, naming the block and the service.
pub fn warnings(policy: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    for block in policy.blocks.values() {
        for service in policy.services.values() {
            let same_way = (block.direction.inbound() && service.direction.inbound())
                || (block.direction.outbound() && service.direction.outbound());
            if !same_way {
                continue;
            }
            let Some(ports) = shared_ports(block, service) else {
                continue;
            };
            let Some(example) = shared_source(policy, &block.from, &service.allow) else {
                continue;
            };
            let allow: Vec<String> = service.allow.iter().map(Source::label).collect();
            out.push(format!(
                "block {} refuses {example} on {ports}, which service {} allows (allow = {}); \
                 the block wins",
                block.name,
                service.name,
                allow.join(", ")
            ));
        }
    }
    out
}

/// The ports both name, in words (`22/tcp`, or the service's ports when the block names
/// none); None when they share none.
fn shared_ports(block: &Block, service: &Service) -> Option<String> {
    if block.ports.is_empty() {
        let all: Vec<String> = service.ports.iter().map(PortRange::to_string).collect();
        return Some(all.join(", "));
    }
    let mut shared = Vec::new();
    for b in &block.ports {
        for s in &service.ports {
            let first = b.first.max(s.first);
            let last = b.last.min(s.last);
            let protocols: Vec<_> = b
                .protocols
                .iter()
                .filter(|p| s.protocols.contains(p))
                .copied()
                .collect();
            if first <= last && !protocols.is_empty() {
                shared.push(
                    PortRange {
                        first,
                        last,
                        protocols,
                    }
                    .to_string(),
                );
            }
        }
    }
    (!shared.is_empty()).then(|| shared.join(", "))
}

/// An address range both hold (the first, as `a.b.c.d` or `lo-hi`); None when disjoint.
fn shared_source(policy: &Policy, refused: &[Source], allowed: &[Source]) -> Option<String> {
    let any = allowed.iter().any(|s| matches!(s, Source::Any));
    for family in [Family::V4, Family::V6] {
        let blocked = intervals::of_sources(policy, refused, family);
        let hit = if any {
            blocked.first().copied()
        } else {
            first_overlap(&blocked, &intervals::of_sources(policy, allowed, family))
        };
        if let Some(iv) = hit {
            return Some(describe(family, iv));
        }
    }
    None
}

/// The first range two sorted, merged interval lists share.
fn first_overlap(a: &[Interval], b: &[Interval]) -> Option<Interval> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            return Some((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}

fn describe(family: Family, iv: Interval) -> String {
    use crate::nft::intervals::AddrElement;
    match intervals::addr_element(family, iv) {
        AddrElement::Host(a) => a.to_string(),
        AddrElement::Prefix(a, len) => format!("{a}/{len}"),
        AddrElement::Range(lo, hi) => format!("{lo}-{hi}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy;

    #[test]
    fn a_block_of_what_a_service_allows_is_a_warning_naming_both() {
        let p = policy::parse(
            r#"
[networks]
partners = ["198.51.100.0/24"]
scanners = ["198.51.100.128/25", "203.0.113.0/24"]
[blocks.scanners]
from = ["scanners"]
[blocks.mail]
from = ["198.51.100.0/24"]
ports = ["25/tcp"]
[services.api]
ports = ["8443/tcp"]
allow = ["partners"]
[services.web]
ports = ["443/tcp"]
allow = ["192.0.2.0/24"]
"#,
        )
        .expect("valid");
        let w = warnings(&p);
        assert_eq!(w.len(), 1, "{w:#?}");
        assert!(
            w[0].starts_with(
                "block scanners refuses 198.51.100.128/25 on 8443/tcp, which service api allows"
            ),
            "{w:#?}"
        );
    }

    #[test]
    fn overlaps_are_found_in_sorted_lists() {
        assert_eq!(
            first_overlap(&[(0, 5), (10, 20)], &[(6, 9), (15, 30)]),
            Some((15, 20))
        );
        assert_eq!(first_overlap(&[(0, 5)], &[(6, 9)]), None);
    }
}
