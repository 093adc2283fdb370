//! The refresh worker's reading of the system: sockets (netlink and /proc), the ruleset
//! (`nft -t -j list ruleset`: counters, and milliseconds even with huge sets), the journal
//! and the policy file. Runs on the worker's refresh thread, never on the render path.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::drop_feed::DropSource;
use super::in_flight::InFlight;
use super::owners::OwnerCache;
use super::ruleset::RulesetReader;
use crate::app::observation::{
    DropFeed, JournalView, Observation, OtherTable, PolicyLoad, RulesState,
};
use crate::commit::clock::{Clock, SystemClock};
use crate::commit::{Create, StateDir};
use crate::nft::backend::Nft;
use crate::nft::droplog;
use crate::policy::file::{self, Loaded};
use crate::sockets::{self, ServiceNames};

pub struct Sources {
    pub clock: SystemClock,
    pub nft: Box<dyn Nft + Send>,
    /// Our table's reading, kept between ticks.
    pub rules: RulesetReader,
    pub policy_path: PathBuf,
    pub state_dir: PathBuf,
    pub read_only: bool,
    pub names: ServiceNames,
    /// The listening sockets and established connections (the kernel's, or a test's).
    pub sockets: Box<dyn SocketTable>,
    /// The policy file as last read (None: not yet), to read it again only when it changes.
    pub policy_seen: Option<FileStamp>,
    /// The policy as read at start, handed to the first refresh: reading a big policy
    /// again on the refresh thread would double the start's peak memory.
    pub first_policy: Option<PolicyLoad>,
    /// The policy file's text as read at start, for the editor.
    pub first_text: Option<Loaded>,
    /// This boot and network namespace (`plan::place`), where the counting record counts.
    pub place: String,
    /// The drop log reader, started once the live table logs.
    pub drops: DropSource,
    /// The operator's own SSH session (`SSH_CONNECTION`), read at start.
    pub ssh_peer: Option<std::net::IpAddr>,
    /// The grants as last read, with the ruleset generation and the moment they were read:
    /// a tick reads them again only when a transaction changed the ruleset since.
    pub grants_seen: Option<GrantsSeen>,
}

/// The grants as read at `generation`, `at` (on the boot clock, in ms).
pub struct GrantsSeen {
    generation: u32,
    at_ms: u64,
    grants: Vec<crate::nft::grants::Grant>,
}

/// Where the refresh reads the sockets from: the seam a unit test fakes, as it fakes `Nft`.
pub trait SocketTable: Send {
    fn read(&mut self, names: &ServiceNames) -> std::io::Result<sockets::Table>;
}

/// The kernel's socket table over netlink (`sockets::scan_with_owners`), with the owning
/// processes found through a cache kept between ticks.
#[derive(Default)]
pub struct KernelSockets {
    pub owners: OwnerCache,
}

impl SocketTable for KernelSockets {
    fn read(&mut self, names: &ServiceNames) -> std::io::Result<sockets::Table> {
        let owners = &mut self.owners;
        sockets::scan_with_owners(names, |inodes| owners.owners_of(inodes))
    }
}

impl Sources {
    /// One reading of everything. The journal and the policy file are read only while
    /// none of the UI's effects runs (`in_flight`): a save or an apply writes them, and a
    /// reading from halfway through would look like someone else's change.
    pub fn observe(&mut self, in_flight: &InFlight) -> Observation {
        let effects_done = in_flight.finished();
        let (policy, policy_text, journal) = self.files_if_quiet(in_flight);
        let table = self.sockets.read(&self.names);
        let operator_peers = operator_peers(self.ssh_peer, table.as_ref().ok());
        let sockets = table.map(|t| t.listeners).map_err(|e| e.to_string());
        let (rules, other_tables) = if self.read_only {
            (RulesState::NeedsPrivilege, Vec::new())
        } else {
            self.ruleset()
        };
        let drops = self.drops_of(&rules);
        let grants = self.grants_of(&rules);
        Observation {
            at: self.clock.now(),
            sockets,
            rules,
            other_tables,
            journal,
            policy,
            policy_text,
            drops,
            operator_peers,
            grants,
            effects_done,
        }
    }

    /// Counts the policy file as never read, so the next reading sends it: the reading
    /// that last sent it was dropped (`Worker::overtaken`).
    pub fn forget_files(&mut self) {
        self.policy_seen = None;
    }

    /// The policy file (when it changed) and the journal, read with no effect running;
    /// nothing, and the file still counted as unread, when one ran at any point.
    fn files_if_quiet(
        &mut self,
        in_flight: &InFlight,
    ) -> (Option<PolicyLoad>, Option<Loaded>, Option<JournalView>) {
        let Some(quiet) = in_flight.quiet() else {
            return (None, None, None);
        };
        let (seen, first_policy, first_text) = (
            self.policy_seen,
            self.first_policy.is_some(),
            self.first_text.is_some(),
        );
        let (policy, text) = self.policy_if_changed();
        let journal = self.journal();
        if in_flight.still_quiet(quiet) {
            return (policy, text, Some(journal));
        }
        // An effect began while reading: next time, read again what was read now.
        self.policy_seen = seen;
        if first_policy {
            self.first_policy = policy;
        }
        if first_text {
            self.first_text = text;
        }
        (None, None, None)
    }

    /// The grants, read (one listing per grant set) only when the table has grant sets,
    /// and only when a transaction changed the ruleset since the last reading: expiry
    /// changes no generation, so between readings the time left is counted down here and
    /// what ran out is dropped.
    fn grants_of(&mut self, rules: &RulesState) -> Vec<crate::nft::grants::Grant> {
        let RulesState::Table { objects, .. } = rules else {
            self.grants_seen = None;
            return Vec::new();
        };
        if !crate::nft::grants::present(objects) {
            self.grants_seen = None;
            return Vec::new();
        }
        let now_ms = self.clock.now().boot_ns / 1_000_000;
        let generation = self.nft.generation();
        if let (Some(seen), Some(g)) = (&self.grants_seen, generation)
            && seen.generation == g
        {
            let passed =
                u32::try_from((now_ms.saturating_sub(seen.at_ms)) / 1000).unwrap_or(u32::MAX);
            return seen
                .grants
                .iter()
                .filter_map(|grant| {
                    let left = grant.expires_s?.checked_sub(passed).filter(|l| *l > 0)?;
                    Some(crate::nft::grants::Grant {
                        expires_s: Some(left),
                        ..grant.clone()
                    })
                })
                .collect();
        }
        let Some(table) = objects.iter().find_map(|o| match o {
            crate::nft::live::LiveObject::Known(nftables::schema::NfListObject::Table(t)) => {
                Some(t.name.to_string())
            }
            _ => None,
        }) else {
            return Vec::new();
        };
        let grants = crate::commit::plan::read_grant_sets(&*self.nft, &table, objects)
            .map(|sets| crate::nft::grants::active(&sets))
            .unwrap_or_default();
        self.grants_seen = generation.map(|generation| GrantsSeen {
            generation,
            at_ms: now_ms,
            grants: grants.clone(),
        });
        grants
    }

    /// The drop log, with the reader started for the group the live table logs to.
    fn drops_of(&mut self, rules: &RulesState) -> DropFeed {
        let (group, why) = match rules {
            RulesState::NeedsPrivilege => (None, "the drop log needs root"),
            RulesState::Unavailable(_) => (None, "nft cannot be read"),
            RulesState::NoTable => (None, "no table yet: nothing logs drops"),
            RulesState::Table { objects, .. } => (
                droplog::live_logging(objects).0,
                "the table logs no drops (settings.drop_log = false)",
            ),
        };
        self.drops.observe(group, why)
    }

    fn ruleset(&mut self) -> (RulesState, Vec<OtherTable>) {
        match self.nft.list_ruleset_terse_json() {
            Ok(listing) => self.rules.read(&listing),
            Err(e) => (RulesState::Unavailable(e.to_string()), Vec::new()),
        }
    }

    /// The pending commit, the last resolved one, and since when the rules count.
    fn journal(&self) -> JournalView {
        // Not root, or nothing ever applied: no journal to read, nothing pending.
        let Some(state) = StateDir::open(&self.state_dir, Create::Never).ok() else {
            return JournalView::default();
        };
        // A record made in another boot or namespace numbers other rules.
        let counting = state.load_counting().filter(|c| c.place == self.place);
        let Some(mut journal) = state.load_journal().ok() else {
            return JournalView {
                counting,
                ..JournalView::default()
            };
        };
        JournalView {
            pending: journal.pending,
            last: journal.history.pop(),
            counting,
        }
    }

    /// The policy and its text when the file changed since the last look (by mtime; the
    /// editor compares contents).
    fn policy_if_changed(&mut self) -> (Option<PolicyLoad>, Option<Loaded>) {
        if let Some(first) = self.first_policy.take() {
            return (Some(first), self.first_text.take());
        }
        let mtime = modified(&self.policy_path);
        if self.policy_seen == Some(mtime) {
            return (None, None);
        }
        self.policy_seen = Some(mtime);
        let (policy, text) = file::load_with_text(&self.policy_path);
        (Some(PolicyLoad::of(policy)), text)
    }
}

/// When `path` was last modified, or that it cannot be read.
pub fn modified(path: &Path) -> FileStamp {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => FileStamp::Modified(t),
        Err(_) => FileStamp::Unreadable,
    }
}

/// A file's modification time, or that it could not be read (missing, no permission).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStamp {
    Modified(SystemTime),
    Unreadable,
}

/// Where operators are connected from: this session's SSH client, and the peers of
/// established connections to a port sshd or cockpit-ws listens on.
fn operator_peers(
    ssh_peer: Option<std::net::IpAddr>,
    table: Option<&sockets::Table>,
) -> Vec<std::net::IpAddr> {
    let mut peers: Vec<std::net::IpAddr> = ssh_peer.into_iter().collect();
    if let Some(table) = table {
        let ports: Vec<u16> = table
            .listeners
            .iter()
            .filter(|l| {
                l.process.as_ref().is_some_and(|p| {
                    crate::commit::plan::OPERATOR_SERVERS.contains(&p.name.as_str())
                })
            })
            .map(|l| l.port)
            .collect();
        for c in &table.connections {
            // A dual-stack sshd sees IPv4 peers as ::ffff:a.b.c.d; the log says a.b.c.d.
            let peer = c.peer.to_canonical();
            if ports.contains(&c.local_port) && !peers.contains(&peer) {
                peers.push(peer);
            }
        }
    }
    peers
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::nft::backend::{NftError, Script};
    use crate::nft::live::LiveObject;

    /// A socket table of the test's: the listeners and connections given, or a failure.
    pub(in crate::tui) struct FakeSockets(pub Option<sockets::Table>);

    impl SocketTable for FakeSockets {
        fn read(&mut self, _: &ServiceNames) -> std::io::Result<sockets::Table> {
            self.0
                .clone()
                .ok_or_else(|| std::io::Error::other("no socket table in this test"))
        }
    }

    pub(in crate::tui) fn sources_with(
        sockets: FakeSockets,
        ssh_peer: Option<std::net::IpAddr>,
    ) -> Sources {
        Sources {
            clock: SystemClock::new(),
            nft: Box::new(OneGrant {
                generation: Arc::new(AtomicU32::new(1)),
                listed: Arc::new(AtomicU32::new(0)),
            }),
            rules: RulesetReader::new("portcullis"),
            policy_path: PathBuf::from("/nonexistent"),
            state_dir: PathBuf::from("/nonexistent"),
            read_only: true,
            names: ServiceNames::default(),
            sockets: Box::new(sockets),
            policy_seen: None,
            first_policy: None,
            first_text: None,
            place: String::new(),
            drops: Default::default(),
            ssh_peer,
            grants_seen: None,
        }
    }

    #[test]
    fn the_operators_are_this_session_and_the_peers_of_sshd_s_connections() {
        let mut sshd =
            crate::sockets::test_listener(crate::policy::Protocol::Tcp, "::", 22, true, None);
        sshd.process = Some(crate::sockets::Process {
            pid: 100,
            name: "sshd".into(),
            user: "root".into(),
        });
        let web = crate::sockets::test_listener(crate::policy::Protocol::Tcp, "::", 80, true, None);
        let connection = |peer: &str, local_port| crate::sockets::Connection {
            local: "2001:db8::1".parse().expect("address"),
            local_port,
            peer: peer.parse().expect("address"),
            peer_port: 50000,
            process: None,
        };
        let table = sockets::Table {
            listeners: vec![sshd, web],
            connections: vec![
                connection("::ffff:192.0.2.7", 22),
                connection("2001:db8::9", 22),
                connection("198.51.100.1", 80),
            ],
        };
        let own: std::net::IpAddr = "203.0.113.5".parse().expect("address");
        let obs = sources_with(FakeSockets(Some(table)), Some(own)).observe(&InFlight::default());
        let want: Vec<std::net::IpAddr> = ["203.0.113.5", "192.0.2.7", "2001:db8::9"]
            .iter()
            .map(|a| a.parse().expect("address"))
            .collect();
        assert_eq!(obs.operator_peers, want);
        assert_eq!(obs.sockets.map(|l| l.len()), Ok(2));
        assert!(matches!(obs.rules, RulesState::NeedsPrivilege));
    }

    #[test]
    fn an_unreadable_socket_table_is_said_and_the_rest_still_read() {
        let obs = sources_with(FakeSockets(None), None).observe(&InFlight::default());
        assert_eq!(obs.sockets, Err("no socket table in this test".to_string()));
        assert!(obs.operator_peers.is_empty());
    }

    /// An nft that has one grant set with one element, at a generation the test sets, and
    /// counts how often the set is listed.
    struct OneGrant {
        generation: Arc<AtomicU32>,
        listed: Arc<AtomicU32>,
    }

    fn no() -> NftError {
        NftError::Failed {
            command: "test".into(),
            status: "test".into(),
            stderr: String::new(),
        }
    }

    impl Nft for OneGrant {
        fn list_table_json(&self, _: &str) -> Result<String, NftError> {
            Err(no())
        }
        fn list_ruleset_terse_json(&self) -> Result<String, NftError> {
            Err(no())
        }
        fn list_ruleset_terse_text(&self) -> Result<String, NftError> {
            Err(no())
        }
        fn list_table_text(&self, _: &str) -> Result<String, NftError> {
            Err(no())
        }
        fn load(&self, _: Script<'_>, _: &std::fs::File) -> Result<(), NftError> {
            Err(no())
        }
        fn check_script(&self, _: &str) -> Result<(), NftError> {
            Err(no())
        }
        fn generation(&self) -> Option<u32> {
            Some(self.generation.load(Ordering::SeqCst))
        }
        fn list_set_json(&self, _: &str, _: &str) -> Result<String, NftError> {
            self.listed.fetch_add(1, Ordering::SeqCst);
            Ok(r#"{"nftables": [{"set": {"family": "inet", "name": "grants_v4", "table": "portcullis",
                "type": ["ipv4_addr", "inet_proto", "inet_service"], "flags": ["interval", "timeout"],
                "elem": [{"elem": {"val": {"concat": ["192.0.2.7", "tcp", 22]}, "timeout": 3600,
                "expires": 3000, "comment": "ssh until 2026-12-01T17:00:00Z"}}]}}]}"#
                .to_string())
        }
    }

    #[test]
    fn the_tick_reads_the_grants_again_only_after_a_transaction() {
        let generation = Arc::new(AtomicU32::new(7));
        let listed = Arc::new(AtomicU32::new(0));
        let mut sources = Sources {
            clock: SystemClock::new(),
            nft: Box::new(OneGrant {
                generation: generation.clone(),
                listed: listed.clone(),
            }),
            rules: RulesetReader::new("portcullis"),
            policy_path: PathBuf::from("/nonexistent"),
            state_dir: PathBuf::from("/nonexistent"),
            read_only: false,
            names: ServiceNames::default(),
            sockets: Box::new(FakeSockets(None)),
            policy_seen: None,
            first_policy: None,
            first_text: None,
            place: String::new(),
            drops: Default::default(),
            ssh_peer: None,
            grants_seen: None,
        };
        let listing = r#"{"nftables": [{"table": {"family": "inet", "name": "portcullis"}},
            {"set": {"family": "inet", "name": "grants_v4", "table": "portcullis",
             "type": ["ipv4_addr", "inet_proto", "inet_service"], "flags": ["interval", "timeout"]}}]}"#;
        let objects: Arc<[LiveObject]> = crate::nft::live::table_objects(listing, "portcullis")
            .expect("listing")
            .into();
        let rules = RulesState::Table {
            objects,
            rules: Vec::new(),
            structure: 0,
        };
        let mut tick = || sources.grants_of(&rules);
        let first = tick();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].service, "ssh");
        assert_eq!(tick(), first, "the same generation: the kept reading");
        assert_eq!(tick(), first);
        assert_eq!(
            listed.load(Ordering::SeqCst),
            1,
            "read once for three ticks"
        );
        generation.store(8, Ordering::SeqCst);
        tick();
        assert_eq!(
            listed.load(Ordering::SeqCst),
            2,
            "a transaction: read again"
        );
    }
}
