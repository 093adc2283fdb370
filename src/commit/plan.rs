//! One commit's plan, shared by `portcullis apply` and the terminal UI's diff screen, so
//! both show, check and apply a policy the same way: the compiled table and its script,
//! the live table it replaces, the diff between them, the operators' connections it would
//! lock out; and, just before acting, the check that the live table is still the one the
//! diff was made from.

use std::time::Duration;

use crate::commit::Window;
use crate::commit::lockout::{self, Lockout, SshConnection};
use crate::diff::{canonical_text, live_vs_policy};
use crate::nft::backend::Nft;
use std::collections::BTreeMap;

use nftables::schema::NfListObject;

use crate::commit::journal::LiveRecord;
use crate::nft::compile::addr_expr;
use crate::nft::delta::{self, Delta};
use crate::nft::intervals;
use crate::nft::live::{self, LiveObject, has_table, set_family};
use crate::nft::{CompiledTable, compile, script};
use crate::policy::{ConfirmMode, Policy};
use crate::sockets::{self, ServiceNames};
use crate::system::interface_of;

/// How a commit changes the live table.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The live table already is the policy's: nothing is sent to the kernel.
    Nothing,
    /// Only what differs, in one transaction; the rest keeps its handles and counters.
    InPlace(Delta),
    /// The whole table, in one transaction (the first apply, and the fallback), and why.
    Replace(String),
}

impl Change {
    /// Between the live table (read with handles and set elements) and the compiled one.
    pub fn of(compiled: &CompiledTable, live: &[LiveObject]) -> Change {
        if !has_table(live) {
            return Change::Replace("the table does not exist yet".into());
        }
        let mut known = Vec::with_capacity(live.len());
        for o in live {
            match o {
                LiveObject::Known(k) => known.push(k.clone()),
                LiveObject::Unknown { kind, .. } => {
                    return Change::Replace(format!(
                        "the live table holds a {kind} portcullis cannot read"
                    ));
                }
            }
        }
        match delta::between(&known, &compiled.objects) {
            Ok(d) if d.is_empty() => Change::Nothing,
            Ok(d) => Change::InPlace(d),
            Err(why) => {
                Change::Replace(format!("the live table cannot be changed in place: {why}"))
            }
        }
    }

    /// One line for the diff and the apply: what is sent to the kernel.
    pub fn line(&self) -> String {
        match self {
            Change::Nothing => "nothing to change".into(),
            Change::InPlace(d) => format!(
                "in place: {} (every other rule keeps its handle and counter)",
                d.summary.line()
            ),
            Change::Replace(why) => format!("whole table replaced: {why}"),
        }
    }
}

/// What applying a policy would do, as shown to the operator before it is done.
#[derive(Debug, Clone)]
pub struct Plan {
    pub policy: Policy,
    pub compiled: CompiledTable,
    /// The script `apply` loads (`script::text`).
    pub script: String,
    /// Our table as read for the plan; empty if it does not exist.
    pub live: Vec<LiveObject>,
    /// The live table against the policy, as a unified diff; empty if they mean the same.
    /// Empty too for a plan made without one (`apply --yes` shows no diff).
    pub diff: String,
    /// How the commit would change the live table.
    pub change: Change,
    /// The ruleset's generation when `live` was read.
    pub generation: Option<u32>,
}

/// Whether a plan writes out the diff of the live table against the policy: `apply --yes`
/// shows none, and at 100,000 set elements making it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithDiff {
    Yes,
    No,
}

impl Plan {
    /// The plan of `policy` over `live`, with its diff if `diff` says so.
    /// Compiles `policy` and reads the live table for it (`read_live`, with `known` the
    /// journal's record of the last load).
    pub fn read(
        nft: &dyn Nft,
        policy: Policy,
        known: Option<&LiveRecord>,
        policy_name: &str,
        diff: WithDiff,
    ) -> Result<Plan, String> {
        let compiled = compile(&policy);
        let live = read_live(nft, &compiled.name, known.map(|record| (record, &compiled)))?;
        Ok(Plan::of(policy, compiled, live, policy_name, diff))
    }

    pub fn new(policy: Policy, live: LiveTable, policy_name: &str, diff: WithDiff) -> Plan {
        let compiled = compile(&policy);
        Plan::of(policy, compiled, live, policy_name, diff)
    }

    fn of(
        policy: Policy,
        compiled: CompiledTable,
        live: LiveTable,
        policy_name: &str,
        diff: WithDiff,
    ) -> Plan {
        // Temporary access granted since: kept by the commit, as the kernel has it.
        let mut compiled = compiled;
        crate::nft::grants::carry(&mut compiled, &live.objects);
        let script = script::text(&compiled);
        let change = Change::of(&compiled, &live.objects);
        let mut diff = if diff == WithDiff::Yes {
            live_vs_policy(&compiled, &live.objects, policy_name)
        } else {
            String::new()
        };
        if !diff.is_empty() {
            diff.insert_str(0, &format!("# {}\n", change.line()));
        }
        Plan {
            policy,
            compiled,
            script,
            live: live.objects,
            diff,
            change,
            generation: live.generation,
        }
    }

    /// The confirm window as the policy sets it (the UI's commit).
    pub fn policy_window(&self) -> Window {
        self.window(None, false)
    }

    /// The confirm window: the policy's `confirm_timeout` and `confirm` setting unless the
    /// caller overrides them (`apply --confirm-timeout`, `--require-new-session`).
    pub fn window(&self, timeout: Option<Duration>, require_new_session: bool) -> Window {
        let settings = &self.policy.settings;
        Window {
            timeout: timeout.unwrap_or(settings.confirm_timeout),
            require_new_session: require_new_session || settings.confirm == ConfirmMode::NewSession,
        }
    }

    /// The live table as the plan saw it, in canonical text (to tell if it changed since).
    pub fn live_text(&self) -> String {
        canonical_text(&self.compiled.name, &self.live)
    }
}

/// Our table as read for a commit: its objects and the ruleset's generation then.
#[derive(Debug, Clone, Default)]
pub struct LiveTable {
    pub objects: Vec<LiveObject>,
    pub generation: Option<u32>,
}

/// Our table with handles, counters and set elements: rules from nft's terse listing
/// (milliseconds at any size), the elements of each set over netlink; or, for a set that
/// `known` (the journal's record of our last load) vouches for, the compiled set's own
/// elements, when the ruleset has not changed since that load and the set's digest is the
/// compiled one's. Empty if the table is absent.
pub fn read_live(
    nft: &dyn Nft,
    table: &str,
    known: Option<(&LiveRecord, &CompiledTable)>,
) -> Result<LiveTable, String> {
    let generation = nft.generation();
    let mut objects = read_terse(nft, table)?;
    if !has_table(&objects) {
        return Ok(LiveTable {
            objects: Vec::new(),
            generation,
        });
    }
    let trusted = known.filter(|(record, _)| {
        record.table == table
            && record.place == place()
            && generation.is_some()
            && Some(record.generation) == generation
    });
    // Grants' elements (timed, commented) come from one full listing, when there are any.
    let grant_sets = read_grant_sets(nft, table, &objects)?;
    for object in objects.iter_mut() {
        let LiveObject::Known(NfListObject::Set(set)) = object else {
            continue;
        };
        if crate::nft::grants::is_grant_set(&set.name) {
            if let Some(LiveObject::Known(NfListObject::Set(full))) = grant_sets.iter().find(
                |o| matches!(o, LiveObject::Known(NfListObject::Set(g)) if g.name == set.name),
            ) {
                set.elem = full.elem.clone();
            }
            continue;
        }
        let vouched = trusted.and_then(|(record, compiled)| {
            compiled.objects.iter().find_map(|o| match o {
                NfListObject::Set(wanted)
                    if wanted.name == set.name
                        && record.sets.get(wanted.name.as_ref())
                            == compiled.set_digests.get(wanted.name.as_ref()) =>
                {
                    Some(wanted.elem.clone())
                }
                _ => None,
            })
        });
        if let Some(elem) = vouched {
            set.elem = elem;
            continue;
        }
        let Some(family) = set_family(set) else {
            continue;
        };
        let list = nft.set_intervals(table, set).map_err(|e| e.to_string())?;
        let elem: Vec<_> = list
            .iter()
            .map(|&iv| addr_expr(intervals::addr_element(family, iv)))
            .collect();
        set.elem = (!elem.is_empty()).then(|| elem.into());
    }
    Ok(LiveTable {
        objects,
        generation,
    })
}

/// The grant sets of `table` with their elements, read one set at a time (a listing of
/// the whole table would fetch every address of every network too).
pub fn read_grant_sets(
    nft: &dyn Nft,
    table: &str,
    live: &[LiveObject],
) -> Result<Vec<LiveObject>, String> {
    let mut out = Vec::new();
    for object in live {
        let LiveObject::Known(NfListObject::Set(s)) = object else {
            continue;
        };
        if !crate::nft::grants::is_grant_set(&s.name) {
            continue;
        }
        let listing = nft
            .list_set_json(table, &s.name)
            .map_err(|e| e.to_string())?;
        out.extend(
            live::table_objects(&listing, table)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(
                    |o| matches!(o, LiveObject::Known(NfListObject::Set(g)) if g.name == s.name),
                ),
        );
    }
    Ok(out)
}

/// Where a ruleset generation counts: this boot, this network namespace.
pub fn place() -> String {
    format!(
        "{} {}",
        crate::system::boot_id(),
        crate::system::current_netns()
    )
}

/// The record of a load of table `table` whose sets hold `set_digests`, at `generation`,
/// here.
pub fn record_of(
    table: &str,
    set_digests: &BTreeMap<String, String>,
    generation: u32,
) -> LiveRecord {
    LiveRecord {
        table: table.to_string(),
        place: place(),
        generation,
        sets: set_digests.clone(),
    }
}

/// Our table from the terse listing (no set elements): enough for rule counts.
pub fn read_terse(nft: &dyn Nft, table: &str) -> Result<Vec<LiveObject>, String> {
    let listing = nft.list_ruleset_terse_json().map_err(|e| e.to_string())?;
    live::table_objects(&listing, table).map_err(|e| e.to_string())
}

/// The processes whose established connections are the ones an operator may be using:
/// the per-connection sshd (`sshd-session` from OpenSSH 9.8) and Cockpit's web server.
pub const OPERATOR_SERVERS: &[&str] = &["sshd", "sshd-session", "cockpit-ws"];

/// The lockouts `policy` would cause: for this SSH session (`SSH_CONNECTION`), and for
/// every peer with an established connection to sshd or cockpit-ws in the socket table.
pub fn operator_lockouts(policy: &Policy) -> Vec<Lockout> {
    let candidates = operator_connections();
    let mut found: Vec<Lockout> = Vec::new();
    for (connection, via) in candidates {
        // One warning per peer and port is enough.
        if found.iter().any(|l| {
            l.connection.client == connection.client
                && l.connection.server_port == connection.server_port
        }) {
            continue;
        }
        let interface = interface_of(connection.server);
        found.extend(lockout::check(
            policy,
            &connection,
            interface.as_deref(),
            &via,
        ));
    }
    found
}

/// The addresses operators are connected from (as the drop log writes them: IPv4 peers
/// of a dual-stack sshd without their `::ffff:` form).
pub fn operator_peers() -> Vec<std::net::IpAddr> {
    let mut peers = Vec::new();
    for (c, _) in operator_connections() {
        let peer = c.client.to_canonical();
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    peers
}

/// This SSH session (`SSH_CONNECTION`) and every established connection to sshd or
/// cockpit-ws in the socket table, each with how it was found.
fn operator_connections() -> Vec<(SshConnection, String)> {
    let mut candidates: Vec<(SshConnection, String)> = Vec::new();
    if let Some(c) = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|v| SshConnection::parse(&v))
    {
        candidates.push((c, "your SSH session".to_string()));
    }
    // Without the socket table (no permission, no netlink) SSH_CONNECTION still counts.
    if let Ok(table) = sockets::scan(sockets::Owners::Find, &ServiceNames::default()) {
        for c in &table.connections {
            let Some(p) = c
                .process
                .as_ref()
                .filter(|p| OPERATOR_SERVERS.contains(&p.name.as_str()))
            else {
                continue;
            };
            candidates.push((
                SshConnection {
                    client: c.peer,
                    client_port: c.peer_port,
                    server: c.local,
                    server_port: c.local_port,
                },
                format!("a connection to {} (pid {})", p.name, p.pid),
            ));
        }
    }
    candidates
}
