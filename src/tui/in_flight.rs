//! How many of the UI's effects (confirm, rollback, review, save, apply…) have started and
//! finished, shared between the worker's two threads: the refresh reads the journal and the
//! policy file only while none runs, and the event loop drops a reading that an effect's
//! result overtook. Counting is enough because the effects thread runs one at a time.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct InFlight {
    started: AtomicU64,
    finished: AtomicU64,
}

/// A moment with no effect running: how many had finished (as many as had started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quiet {
    pub finished: u64,
}

impl InFlight {
    /// Counts an effect as running until the returned guard drops: the effects thread
    /// takes it before any IO of the effect and drops it *before* sending the result, so a
    /// loop that already has the result sees it counted. A panicking effect still counts
    /// as finished, so the files are not left unread for good.
    pub fn running(&self) -> Running<'_> {
        self.started.fetch_add(1, Ordering::SeqCst);
        Running(self)
    }

    /// How many effects have finished.
    pub fn finished(&self) -> u64 {
        self.finished.load(Ordering::SeqCst)
    }

    /// Now, if no effect is running (None: one is, and may be writing the files).
    pub fn quiet(&self) -> Option<Quiet> {
        // Started first: finished never passes started, so equal counts mean none ran
        // at the moment `started` was read; `still_quiet` catches one that began since.
        let started = self.started.load(Ordering::SeqCst);
        let finished = self.finished.load(Ordering::SeqCst);
        (started == finished).then_some(Quiet { finished })
    }

    /// Whether no effect has started since `quiet`: what was read in between was read
    /// with none running.
    pub fn still_quiet(&self, quiet: Quiet) -> bool {
        self.started.load(Ordering::SeqCst) == quiet.finished
    }

    /// Whether an effect finished after a reading that began when `done` had: its result
    /// may already have reached the loop, and the reading may show what it changed.
    pub fn overtook(&self, done: u64) -> bool {
        self.finished() > done
    }
}

/// An effect running; finished when dropped.
pub struct Running<'a>(&'a InFlight);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_only_with_no_effect_running_and_still_quiet_until_one_starts() {
        let counts = InFlight::default();
        let q = counts.quiet().expect("nothing runs yet");
        assert!(counts.still_quiet(q));
        let running = counts.running();
        assert_eq!(counts.quiet(), None, "an effect is running");
        assert!(!counts.still_quiet(q), "one began since");
        drop(running);
        let after = counts.quiet().expect("it finished");
        assert_eq!(after.finished, 1);
        assert!(
            counts.overtook(q.finished),
            "a result came after the first moment"
        );
        assert!(!counts.overtook(after.finished));
    }
}
