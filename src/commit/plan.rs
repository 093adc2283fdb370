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
use crate::nft::live::{self, LiveObject, has_table};
use crate::nft::{CompiledTable, compile, script};
use crate::policy::{ConfirmMode, Policy};
use crate::sockets::{self, ServiceNames};
use crate::system::interface_of;

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
    /// Empty too for a plan made from a terse listing (`apply --yes` shows no diff).
    pub diff: String,
}

impl Plan {
    /// The plan of `policy` over `live` (read with set elements unless `with_diff` is off).
    pub fn new(policy: Policy, live: Vec<LiveObject>, policy_name: &str, with_diff: bool) -> Plan {
        let compiled = compile(&policy);
        let script = script::text(&compiled);
        let diff = if with_diff {
            live_vs_policy(&compiled, &live, policy_name)
        } else {
            String::new()
        };
        Plan {
            policy,
            compiled,
            script,
            live,
            diff,
        }
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

    /// Whether the table exists before the commit.
    pub fn had_table(&self) -> bool {
        has_table(&self.live)
    }

    /// The live table as the plan saw it, in canonical text (to tell if it changed since).
    pub fn live_text(&self) -> String {
        canonical_text(&self.compiled.name, &self.live)
    }
}

/// The live objects of `table inet NAME`, with set elements; empty if the table is absent.
/// Checks with the (fast) terse listing first, because listing a missing table is an error.
pub fn read_live_table(nft: &dyn Nft, table: &str) -> Result<Vec<LiveObject>, String> {
    if !table_exists(nft, table)? {
        return Ok(Vec::new());
    }
    let listing = nft.list_table_json(table).map_err(|e| e.to_string())?;
    live::table_objects(&listing, table).map_err(|e| e.to_string())
}

/// Our table from the terse listing (no set elements): enough for rule counts.
pub fn read_terse(nft: &dyn Nft, table: &str) -> Result<Vec<LiveObject>, String> {
    let listing = nft.list_ruleset_terse_json().map_err(|e| e.to_string())?;
    live::table_objects(&listing, table).map_err(|e| e.to_string())
}

/// Whether `table inet NAME` exists, from the terse listing (milliseconds at any size).
pub fn table_exists(nft: &dyn Nft, table: &str) -> Result<bool, String> {
    Ok(has_table(&read_terse(nft, table)?))
}

/// The live table changed since a plan was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The diff against the table as it is now.
    pub diff_now: String,
}

/// Reads the live table again: Ok if it still reads as `shown` (canonical text), else the
/// diff against it as it is now. Time passes while an operator reads a diff; acting on
/// one that is no longer true would replace someone else's change unseen.
pub fn still_current(
    nft: &dyn Nft,
    compiled: &CompiledTable,
    shown: &str,
    policy_name: &str,
) -> Result<Result<(), Changed>, String> {
    let now = read_live_table(nft, &compiled.name)?;
    if canonical_text(&compiled.name, &now) == shown {
        return Ok(Ok(()));
    }
    Ok(Err(Changed {
        diff_now: live_vs_policy(compiled, &now, policy_name),
    }))
}

/// The processes whose established connections are the ones an operator may be using:
/// the per-connection sshd (`sshd-session` from OpenSSH 9.8) and Cockpit's web server.
const OPERATOR_SERVERS: &[&str] = &["sshd", "sshd-session", "cockpit-ws"];

/// The lockouts `policy` would cause: for this SSH session (`SSH_CONNECTION`), and for
/// every peer with an established connection to sshd or cockpit-ws in the socket table.
pub fn operator_lockouts(policy: &Policy) -> Vec<Lockout> {
    let mut candidates: Vec<(SshConnection, String)> = Vec::new();
    if let Some(c) = std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|v| SshConnection::parse(&v))
    {
        candidates.push((c, "your SSH session".to_string()));
    }
    // Without the socket table (no permission, no netlink) SSH_CONNECTION still counts.
    if let Ok(table) = sockets::scan(true, &ServiceNames::default()) {
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
