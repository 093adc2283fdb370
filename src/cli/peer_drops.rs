//! `apply`'s watch on drops from the operators' own addresses while its prompt waits: the
//! strongest sign that the commit is locking someone out. A reader of the table's NFLOG
//! group on a thread of its own; the countdown prints what it found, loudly, above itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::drops::nflog::{Latency, Reader};
use crate::drops::{Key, Tally};
use crate::policy::DropLog;

pub struct PeerWatch {
    news: Arc<Mutex<Vec<String>>>,
}

impl PeerWatch {
    /// Watches `peers` in the group `log` names; says in one line when it cannot.
    pub fn start(log: &DropLog, peers: Vec<IpAddr>) -> PeerWatch {
        let news = Arc::new(Mutex::new(Vec::new()));
        if !log.enabled || peers.is_empty() {
            return PeerWatch { news };
        }
        let mut reader = match Reader::bind(log.group, Latency::Immediate) {
            Ok(r) => r,
            Err(e) => {
                if let Ok(mut n) = news.lock() {
                    n.push(format!(
                        "(drops from your own address are not watched: {e})"
                    ));
                }
                return PeerWatch { news };
            }
        };
        let sink = Arc::clone(&news);
        std::thread::spawn(move || {
            let mut batch = Vec::new();
            // Said once per (source, port, protocol), then again every 10th packet.
            let mut seen: HashMap<Key, u64> = HashMap::new();
            loop {
                batch.clear();
                if reader.read(None, &mut batch).is_err() {
                    return;
                }
                for d in batch.drain(..) {
                    if !peers.contains(&d.headers.source) {
                        continue;
                    }
                    let count = seen.entry(d.key()).or_insert(0);
                    *count += 1;
                    if *count != 1 && !(*count).is_multiple_of(10) {
                        continue;
                    }
                    let mut one = Tally::with_caps(1, 1);
                    one.add(d.clone());
                    let what = one.entries()[0].describe();
                    let line = format!(
                        "DROPPED FROM YOUR OWN ADDRESS: {what} on {} (×{count}): new connections \
                         from you are failing; roll back unless you expected this",
                        d.interface.as_deref().unwrap_or("?")
                    );
                    if let Ok(mut n) = sink.lock() {
                        n.push(line);
                    }
                }
            }
        });
        PeerWatch { news }
    }

    /// What it found since the last call.
    pub fn news(&self) -> Vec<String> {
        self.news
            .lock()
            .map(|mut n| std::mem::take(&mut *n))
            .unwrap_or_default()
    }
}
