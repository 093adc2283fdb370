//! Commit-confirmed: every windowed apply rolls itself back unless confirmed in time, even
//! when the operator's terminal, SSH session or `apply` process dies, the disk is full or
//! read-only, the journal is damaged or the wall clock is stepped.
//!
//! The pure core: `machine` (the states, events and one transition function), `journal`
//! (the state it steps), `clock` (deadlines on the boot clock), `ownership` (which table is
//! ours), `lockout` (whether the operator's own connection survives a policy), `plan` (what
//! an apply would do), `audit` (the log's lines). At the edge: `engine` runs the machine
//! against nft, the guards and the state directory (`state`); `guard` owns the deadline in
//! a detached process (and a systemd timer where there is systemd); `backends` opens the
//! real ones.

pub mod audit;
pub mod backends;
pub mod clock;
pub mod counting;
pub mod engine;
pub mod guard;
pub mod journal;
pub mod lockout;
pub mod machine;
pub mod ownership;
pub mod plan;
pub mod state;
pub mod syslog;

pub use audit::{Actor, Who};
pub use engine::{Applied, ApplyRequest, CommitError, Engine, RollbackOutcome, Window};
pub use journal::{Journal, Outcome, Pending};
pub use state::{Create, StateDir};
