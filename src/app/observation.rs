//! What one refresh brings back from the system: the socket table, our table's rules with
//! their counters, the other tables, the pending commit. Plain data, built by the refresh
//! worker (`tui::refresh`) and by tests.

use std::sync::Arc;

use crate::commit::clock::Now;
use crate::commit::counting::Counting;
pub use crate::commit::journal::{Pending, Record};
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
    /// What the journal says; None when it was not read this tick, because one of the
    /// UI's effects (a confirm, a save, an apply…) was running and may have been writing
    /// it: the app keeps what it had.
    pub journal: Option<JournalView>,
    /// The policy, when the file is new or changed since the last refresh (and was read:
    /// not while an effect may have been writing it).
    pub policy: Option<PolicyLoad>,
    /// The policy file's text, with the policy (for the editor).
    pub policy_text: Option<Loaded>,
    /// What the drop log reader has.
    pub drops: DropFeed,
    /// The addresses the operators are connected from (SSH_CONNECTION, and peers of
    /// sshd and cockpit-ws): their drops during a commit window are a lockout in progress.
    pub operator_peers: Vec<std::net::IpAddr>,
    /// The live table's grants (temporary access), with their time left.
    pub grants: Vec<crate::nft::grants::Grant>,
    /// How many of the UI's effects had finished when this reading began: the runtime
    /// drops a reading that an effect's result overtook (`tui::worker`), since it may
    /// show the firewall or the files from before that effect.
    pub effects_done: u64,
}

/// The journal as a refresh read it: the journal's own records, not copies of them.
#[derive(Debug, Clone, Default)]
pub struct JournalView {
    /// The pending commit, if any.
    pub pending: Option<Pending>,
    /// The last resolved commit, for the news after a countdown (or a rollback while away).
    pub last: Option<Record>,
    /// Since when our rules count, and the pending commit's baseline.
    pub counting: Option<Counting>,
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

/// The policy file as last read.
#[derive(Debug, Clone)]
pub enum PolicyLoad {
    Loaded(Box<Policy>),
    /// Unreadable or invalid; the message says why.
    Invalid(String),
}

impl PolicyLoad {
    /// What `policy::file::load` gave.
    pub fn of(load: Result<Policy, String>) -> PolicyLoad {
        match load {
            Ok(p) => PolicyLoad::Loaded(Box::new(p)),
            Err(e) => PolicyLoad::Invalid(e),
        }
    }
}
