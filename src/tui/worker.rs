//! The worker that does the UI's IO, as two threads so that one kind of job never waits
//! behind the other: the refresh thread reads the system (`refresh::Sources`), and the
//! effects thread runs the operator's effects (`Operations`: a confirm or an apply waits up
//! to 10 s for the operator lock, and an apply starts a guard). Each runs one job at a
//! time. Refresh requests that pile up while one runs are served by one reading, since a
//! newer reading makes the older pointless; effects are all run, in order, since each has
//! a result the operator waits for.
//!
//! Running them side by side makes two things possible that one thread ruled out, and
//! `InFlight` handles both: a reading taken while an effect writes the journal or the
//! policy file (those are then not read that tick), and a reading that began before an
//! effect finished arriving after its result (the loop drops it: `overtaken`, and asks
//! for one that sends the policy file again, `read_again`, since the dropped one may have
//! carried the file's change and the file is sent only when it changes).

use std::sync::Arc;
use std::sync::mpsc::{self, Sender};

use super::Operations;
use super::in_flight::InFlight;
use super::refresh::Sources;
use crate::app::observation::Observation;
use crate::app::{Effect, Msg};

pub struct Worker {
    refreshes: Sender<Request>,
    effects: Sender<Effect>,
    in_flight: Arc<InFlight>,
}

impl Worker {
    /// Starts both threads; their messages go to `tx`.
    pub fn spawn(mut sources: Sources, ops: Box<dyn Operations>, tx: Sender<Msg>) -> Worker {
        let in_flight = Arc::new(InFlight::default());
        let (refreshes, refresh_queue) = mpsc::channel::<Request>();
        let (effects, effect_queue) = mpsc::channel::<Effect>();
        let counts = in_flight.clone();
        let to_loop = tx.clone();
        std::thread::spawn(move || {
            while let Ok(first) = refresh_queue.recv() {
                // Requests that came while the last reading ran: this one serves them all.
                // (All of them are taken, so none makes a reading of its own afterwards.)
                let mut again = first == Request::Again;
                for request in refresh_queue.try_iter() {
                    again |= request == Request::Again;
                }
                if again {
                    sources.forget_files();
                }
                let msg = Msg::Refreshed(Box::new(sources.observe(&counts)));
                if to_loop.send(msg).is_err() {
                    break;
                }
            }
        });
        let counts = in_flight.clone();
        std::thread::spawn(move || {
            for effect in effect_queue {
                let running = counts.running();
                let msg = run(&*ops, effect);
                drop(running);
                if let Some(msg) = msg
                    && tx.send(msg).is_err()
                {
                    break;
                }
            }
        });
        Worker {
            refreshes,
            effects,
            in_flight,
        }
    }

    /// Asks for a reading of the system (one, however often asked while one runs).
    pub fn refresh(&self) {
        let _ = self.refreshes.send(Request::Refresh);
    }

    /// Asks for a reading in place of one that was dropped (`overtaken`): it sends the
    /// policy file too, changed or not.
    pub fn read_again(&self) {
        let _ = self.refreshes.send(Request::Again);
    }

    /// Queues an effect behind those before it.
    pub fn run(&self, effect: Effect) {
        let _ = self.effects.send(effect);
    }

    /// Whether an effect finished after `obs` began: its result may have reached the loop
    /// first, and `obs` may show the firewall or the files from before it, so the loop
    /// drops it and asks for another.
    pub fn overtaken(&self, obs: &Observation) -> bool {
        self.in_flight.overtook(obs.effects_done)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Refresh,
    /// In place of a dropped reading.
    Again,
}

/// One effect, and the message with its result (None for those the loop handles itself).
fn run(ops: &dyn Operations, effect: Effect) -> Option<Msg> {
    Some(match effect {
        Effect::Live(request) => Msg::LiveDone(ops.live(request)),
        Effect::Review(request) => Msg::Reviewed(ops.review(&request).map(Box::new)),
        Effect::Save { text, stamp } => Msg::Saved(ops.save(&text, stamp.as_ref())),
        Effect::Reload => Msg::Reloaded(ops.reload()),
        Effect::Apply(job) => Msg::Applied(ops.apply(&job).map(Box::new).map_err(Box::new)),
        Effect::Refresh | Effect::Quit => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc::Receiver;
    use std::time::Duration;

    use super::*;
    use crate::app::review::{ApplyDone, ApplyFailed, ApplyJob, Review, ReviewRequest};
    use crate::app::{LiveRequest, SaveFailed};
    use crate::policy::file::{Loaded, Stamp};
    use crate::sockets;
    use crate::sockets::ServiceNames;
    use crate::tui::refresh::SocketTable;
    use crate::tui::refresh::tests::{FakeSockets, sources_with};

    const WAIT: Duration = Duration::from_secs(10);

    /// Operations whose confirm takes as long as the test says, as one waiting for the
    /// operator lock does; nothing else is asked of them.
    struct SlowConfirm {
        go: Mutex<Receiver<()>>,
    }

    impl Operations for SlowConfirm {
        fn live(&self, _: LiveRequest) -> Result<String, String> {
            let _ = self.go.lock().expect("gate").recv();
            Ok("confirmed".into())
        }
        fn review(&self, _: &ReviewRequest) -> Result<Review, String> {
            Err("not in this test".into())
        }
        fn save(&self, _: &str, _: Option<&Stamp>) -> Result<(Loaded, Option<String>), SaveFailed> {
            Err(SaveFailed::Other("not in this test".into()))
        }
        fn reload(&self) -> Result<Loaded, String> {
            Err("not in this test".into())
        }
        fn apply(&self, _: &ApplyJob) -> Result<ApplyDone, ApplyFailed> {
            Err(ApplyFailed {
                message: "not in this test".into(),
                saved: None,
                stale: false,
            })
        }
    }

    fn slow_confirm() -> (Sender<()>, Box<dyn Operations>) {
        let (go, gate) = mpsc::channel();
        let ops = SlowConfirm {
            go: Mutex::new(gate),
        };
        (go, Box::new(ops))
    }

    /// A socket table whose every reading says it began, then waits for the test.
    struct GatedSockets {
        began: Sender<()>,
        go: Receiver<()>,
    }

    impl SocketTable for GatedSockets {
        fn read(&mut self, _: &ServiceNames) -> std::io::Result<sockets::Table> {
            let _ = self.began.send(());
            let _ = self.go.recv();
            Ok(sockets::Table::default())
        }
    }

    fn reading(rx: &Receiver<Msg>) -> Box<Observation> {
        match rx.recv_timeout(WAIT) {
            Ok(Msg::Refreshed(obs)) => obs,
            other => panic!("expected a reading, got {other:?}"),
        }
    }

    fn until(what: &str, done: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed() < WAIT, "{what}: not within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The write end of the policy file, a FIFO, once a reading has it open: the reading
    /// then waits in it for as long as the test likes.
    fn writer_when_read(fifo: &std::path::Path) -> std::fs::File {
        use std::os::unix::fs::OpenOptionsExt;
        let start = std::time::Instant::now();
        loop {
            // Opening the write end without blocking works once a reader is waiting.
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(nix::libc::O_NONBLOCK)
                .open(fifo)
            {
                Ok(w) => return w,
                Err(_) if start.elapsed() < WAIT => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("no reading opened the policy file: {e}"),
            }
        }
    }

    #[test]
    fn an_effect_that_starts_while_the_files_are_read_leaves_them_for_the_next_reading() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("policy.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        // Writing a FIFO moves its mtime; the test puts it back each time, so that only
        // forgetting the file (not a change of it) can make the next reading read it.
        let same_mtime = || {
            let t = nix::sys::time::TimeSpec::new(1_000_000, 0);
            nix::sys::stat::utimensat(
                nix::fcntl::AT_FDCWD,
                &fifo,
                &t,
                &t,
                nix::sys::stat::UtimensatFlags::FollowSymlink,
            )
            .expect("set the FIFO's mtime");
        };
        same_mtime();
        let mut sources = sources_with(FakeSockets(None), None);
        sources.policy_path = fifo.clone();
        let (go, ops) = slow_confirm();
        let (tx, rx) = mpsc::channel();
        let worker = Worker::spawn(sources, ops, tx);
        let policy = "[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n";

        worker.refresh();
        // The reading has the file open (nothing running yet), and then a confirm begins.
        let mut writer = writer_when_read(&fifo);
        worker.run(Effect::Live(LiveRequest::Confirm));
        until("the confirm started", || worker.in_flight.quiet().is_none());
        std::io::Write::write_all(&mut writer, policy.as_bytes()).expect("write");
        drop(writer);
        same_mtime();
        let during = reading(&rx);
        assert!(
            during.policy.is_none(),
            "read while the confirm ran: not sent"
        );
        assert!(during.journal.is_none());

        go.send(()).expect("let the confirm go");
        assert!(matches!(rx.recv_timeout(WAIT), Ok(Msg::LiveDone(Ok(_)))));
        worker.refresh();
        let mut writer = writer_when_read(&fifo);
        std::io::Write::write_all(&mut writer, policy.as_bytes()).expect("write");
        drop(writer);
        same_mtime();
        let after = reading(&rx);
        assert!(
            matches!(
                after.policy,
                Some(crate::app::observation::PolicyLoad::Loaded(_))
            ),
            "the file, unchanged, is read and sent now: {:?}",
            after.policy
        );
        assert!(after.journal.is_some());
    }

    #[test]
    fn an_effect_that_panics_still_leaves_the_files_to_be_read() {
        let (go, ops) = slow_confirm();
        drop(go); // its confirm finds the gate gone, and panics on it
        struct Panics(Box<dyn Operations>);
        impl Operations for Panics {
            fn live(&self, r: LiveRequest) -> Result<String, String> {
                let _ = self.0.live(r);
                panic!("an effect's bug (this panic is the test's)");
            }
            fn review(&self, r: &ReviewRequest) -> Result<Review, String> {
                self.0.review(r)
            }
            fn save(
                &self,
                t: &str,
                s: Option<&Stamp>,
            ) -> Result<(Loaded, Option<String>), SaveFailed> {
                self.0.save(t, s)
            }
            fn reload(&self) -> Result<Loaded, String> {
                self.0.reload()
            }
            fn apply(&self, j: &ApplyJob) -> Result<ApplyDone, ApplyFailed> {
                self.0.apply(j)
            }
        }
        let (tx, rx) = mpsc::channel();
        let worker = Worker::spawn(
            sources_with(FakeSockets(None), None),
            Box::new(Panics(ops)),
            tx,
        );
        worker.run(Effect::Live(LiveRequest::Confirm));
        until("the panicked effect counted as finished", || {
            worker.in_flight.quiet().is_some_and(|q| q.finished == 1)
        });
        worker.refresh();
        assert!(reading(&rx).journal.is_some(), "the journal is read again");
    }

    #[test]
    fn a_refresh_does_not_wait_behind_an_effect_and_leaves_the_files_alone_meanwhile() {
        let (go, ops) = slow_confirm();
        let (tx, rx) = mpsc::channel();
        let worker = Worker::spawn(sources_with(FakeSockets(None), None), ops, tx);
        worker.run(Effect::Live(LiveRequest::Confirm));
        until("the confirm started", || worker.in_flight.quiet().is_none());

        worker.refresh();
        let during = reading(&rx);
        assert!(
            during.journal.is_none(),
            "the journal is not read while an effect may be writing it"
        );
        assert!(!worker.overtaken(&during), "no effect finished since");

        go.send(()).expect("let the confirm go");
        assert!(matches!(rx.recv_timeout(WAIT), Ok(Msg::LiveDone(Ok(_)))));
        worker.refresh();
        let after = reading(&rx);
        assert!(after.journal.is_some(), "read again once nothing runs");
        assert!(!worker.overtaken(&after));
    }

    /// A worker whose readings wait for the test (`release`) after saying they began
    /// (`began`), and whose confirm is quick.
    struct Gated {
        worker: Worker,
        rx: Receiver<Msg>,
        began: Receiver<()>,
        release: Sender<()>,
    }

    fn gated() -> Gated {
        let (go, ops) = slow_confirm();
        for _ in 0..10 {
            go.send(()).expect("the confirms are quick");
        }
        let (began, began_rx) = mpsc::channel();
        let (release, gate) = mpsc::channel();
        let mut sources = sources_with(FakeSockets(None), None);
        sources.sockets = Box::new(GatedSockets { began, go: gate });
        let (tx, rx) = mpsc::channel();
        Gated {
            worker: Worker::spawn(sources, ops, tx),
            rx,
            began: began_rx,
            release,
        }
    }

    impl Gated {
        /// A reading, from its start to its result, with `meanwhile` run once it began.
        fn read(&self, ask: impl Fn(&Worker), meanwhile: impl FnOnce()) -> Box<Observation> {
            ask(&self.worker);
            self.began.recv_timeout(WAIT).expect("the reading began");
            meanwhile();
            self.release.send(()).expect("let the reading finish");
            reading(&self.rx)
        }

        fn confirm(&self) {
            self.worker.run(Effect::Live(LiveRequest::Confirm));
            assert!(matches!(
                self.rx.recv_timeout(WAIT),
                Ok(Msg::LiveDone(Ok(_)))
            ));
        }
    }

    #[test]
    fn a_reading_that_an_effect_s_result_overtook_is_known_and_its_file_read_again() {
        let g = gated();
        // The test's policy path does not exist: the first reading sends that.
        let stale = g.read(Worker::refresh, || g.confirm());
        assert!(
            g.worker.overtaken(&stale),
            "it began before the confirm finished and came after its result"
        );
        assert!(
            stale.journal.is_some(),
            "nothing ran while it read the files"
        );
        assert!(stale.policy.is_some(), "the file, as first read");

        // What the loop does with it: read again, the file included, though unchanged.
        let again = g.read(Worker::read_again, || {});
        assert!(!g.worker.overtaken(&again));
        assert!(
            again.policy.is_some(),
            "the dropped reading's file is sent again"
        );
        let next = g.read(Worker::refresh, || {});
        assert!(
            next.policy.is_none(),
            "an unchanged file is not sent every time"
        );
    }

    #[test]
    fn refreshes_asked_for_while_one_runs_are_served_by_one_reading() {
        let g = gated();
        g.read(Worker::refresh, || {
            for _ in 0..5 {
                g.worker.refresh();
            }
        });
        g.read(|_| {}, || {});
        assert!(
            g.began.recv_timeout(Duration::from_millis(300)).is_err(),
            "five requests during one reading make one more, not five"
        );
    }
}
