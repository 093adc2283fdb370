//! The TUI's drop log reader: a thread that blocks on the NFLOG socket and adds each line
//! to a shared tally, which each refresh copies out. Started for the group the live table
//! logs to, once the table has one; a refused bind (another reader holds the group) is
//! said in the pane, the UI carries on without the log, and the bind is tried again every
//! 5 s (two netlink messages).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::app::observation::DropFeed;
use crate::drops::Tally;
use crate::drops::nflog::{BindError, Latency, Reader};

/// Lines copied out per refresh (the pane shows fewer).
pub const SHOWN: usize = 200;

#[derive(Default)]
enum State {
    #[default]
    Idle,
    Busy(String),
    Reading(u16),
}

#[derive(Default)]
struct Shared {
    state: State,
    tally: Tally,
}

/// How long a refused bind waits before it is tried again (the other reader may be gone).
const RETRY: Duration = Duration::from_secs(5);

/// Owned by the refresh worker.
#[derive(Default)]
pub struct DropSource {
    shared: Arc<Mutex<Shared>>,
    /// The group a reader was started for (even if its bind was refused), and when.
    started: Option<(u16, Instant)>,
}

impl DropSource {
    /// Starts a reader for `group` unless one was started for it already. None: the live
    /// table logs nothing (`why`).
    pub fn observe(&mut self, group: Option<u16>, why: &str) -> DropFeed {
        let refused = self
            .shared
            .lock()
            .is_ok_and(|s| matches!(s.state, State::Busy(_)));
        if let Some(g) = group
            && self
                .started
                .is_none_or(|(started, at)| started != g || (refused && at.elapsed() >= RETRY))
        {
            self.started = Some((g, Instant::now()));
            self.spawn(g);
        }
        let Ok(shared) = self.shared.lock() else {
            return DropFeed::Off("the drop log reader stopped".into());
        };
        match (&shared.state, group) {
            (State::Busy(message), _) => DropFeed::Unavailable(message.clone()),
            (State::Reading(g), Some(_)) => DropFeed::Reading {
                group: *g,
                entries: shared
                    .tally
                    .entries()
                    .into_iter()
                    .take(SHOWN)
                    .cloned()
                    .collect(),
                lines: shared.tally.lines,
            },
            (_, None) => DropFeed::Off(why.to_string()),
            (State::Idle, Some(g)) => DropFeed::Off(format!("binding NFLOG group {g}…")),
        }
    }

    fn spawn(&self, group: u16) {
        let shared = Arc::clone(&self.shared);
        std::thread::spawn(move || {
            let mut reader = match Reader::bind(group, Latency::Batched) {
                Ok(r) => r,
                Err(e) => {
                    let message = match e {
                        BindError::Busy(_) => e.to_string(),
                        other => format!("no drop log: {other}"),
                    };
                    if let Ok(mut s) = shared.lock() {
                        s.state = State::Busy(message);
                    }
                    return;
                }
            };
            if let Ok(mut s) = shared.lock() {
                s.state = State::Reading(group);
                s.tally = Tally::default();
            }
            let mut batch = Vec::new();
            loop {
                batch.clear();
                // Blocks until lines come; the timeout only lets a replaced reader end.
                if reader
                    .read(Some(Duration::from_secs(30)), &mut batch)
                    .is_err()
                {
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
                let Ok(mut s) = shared.lock() else { return };
                if !matches!(s.state, State::Reading(g) if g == group) {
                    return;
                }
                for dropped in batch.drain(..) {
                    s.tally.add(dropped);
                }
                s.tally.overruns = reader.overruns;
            }
        });
    }
}
