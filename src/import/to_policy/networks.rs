//! Sources into networks: a set of them used more than once, or of more than one entry,
//! gets a name; `any` where both families' anywhere are in it. Pure.

use super::naming::{slug, valid_name};
use super::*;

/// The networks: a set of peers used by more than one service or block, or holding more
/// than one entry, gets a name; a single address used once stays where it is used.
pub(super) struct Networks {
    pub(super) named: Vec<(String, Vec<Peer>)>,
}

impl Networks {
    pub(super) fn of(services: &[Item], blocks: &[Item]) -> Networks {
        let mut uses: Vec<(Vec<Peer>, Vec<&Item>)> = Vec::new();
        for item in services.iter().chain(blocks) {
            let set = sorted(&item.peers);
            if is_any(&set) {
                continue;
            }
            match uses.iter_mut().find(|(s, _)| *s == set) {
                Some((_, users)) => users.push(item),
                None => uses.push((set, vec![item])),
            }
        }
        let mut named: Vec<(String, Vec<Peer>)> = Vec::new();
        for (set, users) in uses {
            if set.len() == 1 && users.len() == 1 {
                continue;
            }
            let base = match set.as_slice() {
                [Peer::Net(n)] if n.prefix_len() == n.max_prefix_len() => {
                    format!("host-{}", slug(&n.addr().to_string()))
                }
                [Peer::Net(n)] => format!("net-{}", slug(&n.to_string())),
                _ => {
                    let user = users[0];
                    let role = match user.direction {
                        Direction::Out => "destinations",
                        _ => "sources",
                    };
                    format!("{}-{role}", user.name)
                }
            };
            let mut name = valid_name(base);
            let mut k = 1;
            while named.iter().any(|(n, _)| *n == name)
                || services.iter().chain(blocks).any(|i| i.name == name)
            {
                k += 1;
                name = format!(
                    "{}-{k}",
                    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
                );
            }
            named.push((name, set));
        }
        Networks { named }
    }

    /// What a service's `allow` says for `peers`.
    pub(super) fn refer(&self, peers: &[Peer]) -> Vec<String> {
        let set = sorted(peers);
        if is_any(&set) {
            return vec!["any".into()];
        }
        match self.named.iter().find(|(_, s)| *s == set) {
            Some((name, _)) => vec![name.clone()],
            None => peer_words(&set),
        }
    }

    /// What a block's `from` says (never `any`: both families' whole ranges).
    pub(super) fn refer_block(&self, peers: &[Peer]) -> Vec<String> {
        let set = sorted(peers);
        if is_any(&set) {
            return peer_words(&set);
        }
        self.refer(peers)
    }
}

pub(super) fn sorted(peers: &[Peer]) -> Vec<Peer> {
    let mut set = peers.to_vec();
    set.sort();
    set.dedup();
    // Anywhere of a family covers that family's networks.
    let (v4, v6) = (set.contains(&Peer::AnyV4), set.contains(&Peer::AnyV6));
    set.retain(|p| match p {
        Peer::Net(IpNet::V4(_)) => !v4,
        Peer::Net(IpNet::V6(_)) => !v6,
        _ => true,
    });
    set
}

pub(super) fn is_any(set: &[Peer]) -> bool {
    set.contains(&Peer::AnyV4) && set.contains(&Peer::AnyV6)
}

pub(super) fn peer_words(set: &[Peer]) -> Vec<String> {
    set.iter()
        .map(|p| match p {
            Peer::AnyV4 => "0.0.0.0/0".to_string(),
            Peer::AnyV6 => "::/0".to_string(),
            Peer::Net(n) => address(*n),
        })
        .collect()
}

/// A host as a bare address, a network as a prefix.
pub(super) fn address(n: IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}
