//! Time for the commit window. The window is measured on CLOCK_BOOTTIME, which nobody can
//! step (`date -s`, NTP, a hypervisor's clock sync move only the wall clock) and which
//! keeps counting through a suspend; the wall clock is for showing times to people and for
//! commit ids, never for deciding.
//!
//! A boot-clock reading means something only within its boot, so a [`Deadline`] carries
//! the boot's id: a deadline of an earlier boot has passed, whatever the numbers say.

use std::cell::RefCell;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One reading of both clocks, and which boot the boot clock belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Now {
    /// Wall clock, ms since the Unix epoch: display only.
    pub wall_ms: u64,
    /// CLOCK_BOOTTIME, ns.
    pub boot_ns: u64,
    pub boot_id: String,
}

/// The instant a commit's window ends, on the boot clock of one boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub boot_ns: u64,
    pub boot_id: String,
}

impl Deadline {
    /// `window` after `now`.
    pub fn after(now: &Now, window: Duration) -> Deadline {
        Deadline {
            boot_ns: now.boot_ns.saturating_add(window.as_nanos() as u64),
            boot_id: now.boot_id.clone(),
        }
    }

    /// How long until it passes (zero once it has, or if it belongs to an earlier boot).
    pub fn left(&self, now: &Now) -> Duration {
        if self.boot_id != now.boot_id {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.boot_ns.saturating_sub(now.boot_ns))
    }

    pub fn passed(&self, now: &Now) -> bool {
        self.left(now).is_zero()
    }

    /// Whole seconds left, rounded up: the one countdown every front end shows.
    pub fn seconds_left(&self, now: &Now) -> u64 {
        self.left(now).as_nanos().div_ceil(1_000_000_000) as u64
    }

    /// How long `seconds_left` keeps its value from `now`: when a countdown on screen
    /// next changes (never zero, so a loop that waits this long never spins).
    pub fn until_next_second(&self, now: &Now) -> Duration {
        match self.left(now).as_nanos() % 1_000_000_000 {
            0 => Duration::from_secs(1),
            part => Duration::from_nanos(part as u64),
        }
    }

    /// When it falls by the wall clock of `now`: for display. Recomputed from the boot
    /// clock at each reading, so a stepped wall clock moves the time shown, not the deadline.
    pub fn wall_ms(&self, now: &Now) -> u64 {
        now.wall_ms + self.left(now).as_millis() as u64
    }
}

/// Where time comes from: the system, or a test.
pub trait Clock {
    fn now(&self) -> Now;
    /// Lets `d` pass (a test's clock just moves on).
    fn sleep(&self, d: Duration);
}

/// The machine's clocks.
#[derive(Debug, Clone)]
pub struct SystemClock {
    boot_id: String,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            boot_id: crate::system::boot_id(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        Now {
            wall_ms: crate::system::now_ms(),
            boot_ns: crate::system::boot_ns(),
            boot_id: self.boot_id.clone(),
        }
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A clock a test moves by hand (both clocks move together unless stepped apart).
#[derive(Debug)]
pub struct FakeClock {
    now: RefCell<Now>,
}

impl FakeClock {
    pub fn new(wall_ms: u64, boot_ns: u64) -> FakeClock {
        FakeClock {
            now: RefCell::new(Now {
                wall_ms,
                boot_ns,
                boot_id: "boot-1".into(),
            }),
        }
    }

    /// Time passes.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.borrow_mut();
        now.wall_ms += by.as_millis() as u64;
        now.boot_ns += by.as_nanos() as u64;
    }

    /// Someone sets the wall clock; the boot clock does not move.
    pub fn step_wall(&self, by_ms: i64) {
        let mut now = self.now.borrow_mut();
        now.wall_ms = now.wall_ms.saturating_add_signed(by_ms);
    }

    /// The machine restarted: a new boot id, the boot clock from zero.
    pub fn reboot(&self) {
        let mut now = self.now.borrow_mut();
        now.boot_ns = 1_000_000_000;
        now.boot_id = format!("{}+", now.boot_id);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Now {
        self.now.borrow().clone()
    }

    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_counts_on_the_boot_clock_only() {
        let clock = FakeClock::new(1_000_000, 5_000_000_000);
        let deadline = Deadline::after(&clock.now(), Duration::from_secs(20));
        clock.step_wall(3_600_000);
        assert_eq!(deadline.seconds_left(&clock.now()), 20);
        clock.step_wall(-7_200_000);
        assert!(!deadline.passed(&clock.now()));
        clock.advance(Duration::from_millis(19_001));
        assert_eq!(deadline.seconds_left(&clock.now()), 1);
        clock.advance(Duration::from_millis(999));
        assert!(deadline.passed(&clock.now()));
        assert_eq!(deadline.seconds_left(&clock.now()), 0);
    }

    #[test]
    fn the_countdown_changes_when_the_seconds_left_do() {
        let clock = FakeClock::new(0, 5_000_000_000);
        let deadline = Deadline::after(&clock.now(), Duration::from_secs(20));
        // 20 s left: "20s" is right for the whole next second.
        assert_eq!(
            deadline.until_next_second(&clock.now()),
            Duration::from_secs(1)
        );
        clock.advance(Duration::from_millis(300));
        assert_eq!(deadline.seconds_left(&clock.now()), 20);
        assert_eq!(
            deadline.until_next_second(&clock.now()),
            Duration::from_millis(700)
        );
        clock.advance(Duration::from_millis(700));
        assert_eq!(deadline.seconds_left(&clock.now()), 19);
    }

    #[test]
    fn a_deadline_of_an_earlier_boot_has_passed() {
        let clock = FakeClock::new(0, 5_000_000_000);
        let deadline = Deadline::after(&clock.now(), Duration::from_secs(3600));
        clock.reboot();
        assert!(deadline.passed(&clock.now()));
    }

    #[test]
    fn the_wall_time_shown_follows_the_wall_clock_but_not_the_deadline() {
        let clock = FakeClock::new(1_000_000, 5_000_000_000);
        let deadline = Deadline::after(&clock.now(), Duration::from_secs(30));
        assert_eq!(deadline.wall_ms(&clock.now()), 1_030_000);
        clock.step_wall(60_000);
        assert_eq!(deadline.wall_ms(&clock.now()), 1_090_000);
    }
}
