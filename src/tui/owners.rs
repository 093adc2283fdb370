//! Socket owners for the refresh loop, cached: scanning every /proc/PID/fd each second
//! would cost more than everything else a refresh does. /proc is scanned again only when a
//! socket appears whose owner is not known yet, and at most every RESCAN otherwise (an
//! owner may exec, or hand its socket to another process).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::sockets::Process;
use crate::sockets::procs::socket_owners;

const RESCAN: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct OwnerCache {
    owners: HashMap<u32, Process>,
    /// Inodes a scan found no owner for (not root, or a socket without a process).
    unknown: HashSet<u32>,
    last_scan: Option<Instant>,
}

impl OwnerCache {
    /// Owners of `inodes`, scanning /proc if any of them is new.
    pub fn owners_of(&mut self, inodes: &[u32]) -> HashMap<u32, Process> {
        let new = inodes
            .iter()
            .any(|i| !self.owners.contains_key(i) && !self.unknown.contains(i));
        let stale = self.last_scan.is_none_or(|t| t.elapsed() >= RESCAN);
        if new || stale {
            self.owners = socket_owners();
            self.last_scan = Some(Instant::now());
            self.unknown = inodes
                .iter()
                .copied()
                .filter(|i| !self.owners.contains_key(i))
                .collect();
        }
        inodes
            .iter()
            .filter_map(|i| self.owners.get(i).map(|p| (*i, p.clone())))
            .collect()
    }
}
