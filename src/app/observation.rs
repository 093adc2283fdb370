//! What one refresh brings back from the system: the socket table, our table's rules with
//! their counters, the other tables, the pending commit. Plain data, built by the refresh
//! worker (`tui::refresh`) and by tests.

use std::sync::Arc;

use crate::commit::Outcome;
use crate::commit::clock::{Deadline, Now};
use crate::nft::counters::LiveRule;
use crate::nft::live::LiveObject;
pub use crate::nft::tables::{OtherChain, OtherTable};
use crate::policy::Policy;
use crate::policy::file::Loaded;
use crate::sockets::Listener;

#[derive(Debug, Clone)]
pub struct Observation {
    /// When it was taken.
    pub at: Now,
    /// The listening sockets, or why they could not be read.
    pub sockets: Result<Vec<Listener>, String>,
    pub rules: RulesState,
    /// The other tables in the ruleset, read-only.
    pub other_tables: Vec<OtherTable>,
    /// The pending commit from the journal, if any.
    pub pending: Option<PendingCommit>,
    /// The policy, when the file is new or changed since the last refresh.
    pub policy: Option<PolicyLoad>,
    /// The policy file's text, with the policy (for the editor).
    pub policy_text: Option<Loaded>,
    /// The last resolved commit in the journal.
    pub last_commit: Option<LastCommit>,
    /// Since when our rules count, and the pending commit's baseline.
    pub counting: Option<crate::commit::counting::Counting>,
    /// What the drop log reader has.
    pub drops: DropFeed,
    /// The addresses the operators are connected from (SSH_CONNECTION, and peers of
    /// sshd and cockpit-ws): their drops during a commit window are a lockout in progress.
    pub operator_peers: Vec<std::net::IpAddr>,
    /// The live table's grants (temporary access), with their time left.
    pub grants: Vec<crate::nft::grants::Grant>,
}

/// The drop log as of this refresh.
#[derive(Debug, Clone, PartialEq)]
pub enum DropFeed {
    /// Nothing to read, and why (not root, no table, the table logs nothing).
    Off(String),
    /// The reader could not bind the group (another reader holds it), in one line.
    Unavailable(String),
    Reading {
        group: u16,
        /// Newest first, at most `app::drops::SHOWN`.
        entries: Vec<crate::drops::Entry>,
        /// Lines read since the reader started.
        lines: u64,
    },
}

impl Default for DropFeed {
    fn default() -> Self {
        DropFeed::Off("the drop log has not been read yet".into())
    }
}

/// How the last commit ended, for the news after a countdown (or a rollback while away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCommit {
    pub id: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub user: String,
    pub resolved_at_ms: u64,
}

/// What the rules pane can show.
#[derive(Debug, Clone)]
pub enum RulesState {
    /// Not root: reading nft needs CAP_NET_ADMIN, so nft was not run.
    NeedsPrivilege,
    /// nft could not be run or read (missing binary, refused, unreadable output).
    Unavailable(String),
    /// nft works, but our table does not exist.
    NoTable,
    /// Our table's objects (terse: no set elements) and its rules with counters.
    /// The objects are shared between ticks while the table's structure stays the same;
    /// their counter values are those of the last structural change: read `rules`.
    Table {
        objects: Arc<[LiveObject]>,
        rules: Vec<LiveRule>,
        /// Equal for two readings whose rules differ only in their counters.
        structure: u64,
    },
}

/// The pending commit, as the status bar needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCommit {
    pub id: String,
    /// None while it is still applying (its window starts when the new table is live).
    pub deadline: Option<Deadline>,
    pub user: String,
    /// The last rollback error, while the guard keeps retrying.
    pub rollback_error: Option<String>,
}

/// The policy file as last read.
#[derive(Debug, Clone)]
pub enum PolicyLoad {
    Loaded(Box<Policy>),
    /// Unreadable or invalid; the message says why.
    Invalid(String),
}
