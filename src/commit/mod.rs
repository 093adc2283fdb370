//! Commit-confirmed: every windowed apply rolls itself back unless confirmed in time, even
//! when the operator's terminal, SSH session or `apply` process dies.
//!
//! `journal` (pure) holds the pending commit and decides; `lockout` (pure) checks that the
//! operator's own connection survives a policy; `state` stores the journal, snapshots and
//! audit log atomically; `ops` sequences apply/confirm/rollback/recovery/restore; `guard`
//! owns the deadline in a detached process (and a systemd timer where there is systemd);
//! `system` reads the clocks, namespaces and sessions those need.

pub mod audit;
pub mod guard;
pub mod journal;
pub mod lockout;
pub mod ops;
pub mod plan;
pub mod state;
pub mod syslog;
pub mod system;

pub use audit::{Actor, Who};
pub use journal::{Journal, Outcome, Pending};
pub use ops::{Applied, ApplyRequest, CommitError, Context, Guards, RollbackOutcome, Window};
pub use state::StateDir;
