//! The policy: the operator's intent (networks, services, settings), loaded from TOML and
//! validated. Pure but for `file`, which reads and writes the policy file: nothing else here
//! touches files, processes or the kernel.

mod addr;
mod bulk;
mod diag;
pub mod document;
pub mod file;
pub mod keys;
mod load;
mod names;
mod ports;

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::IpNet;

pub use addr::parse_net;
pub use diag::{Diagnostic, Diagnostics, LineIndex};
pub use load::{parse, parse_with};
pub use names::{
    interface_matches, validate_interface_name, validate_object_name, validate_table_name,
};
pub use ports::{PortRange, Protocol, parse_port_spec};

/// The name of the built-in network that matches every address.
pub const ANY: &str = "any";

/// A validated policy. Maps are ordered by name, so the same policy always compiles to the
/// same script whatever order the file lists things in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub settings: Settings,
    pub networks: BTreeMap<String, Network>,
    pub services: BTreeMap<String, Service>,
    /// Sources refused before any service is considered.
    pub blocks: BTreeMap<String, Block>,
}

/// `[blocks.NAME]`: traffic from (or, outbound, to) these sources is refused before any
/// service is considered, on the ports given or on all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub description: Option<String>,
    /// Network names or literals; never `any` (that would refuse everyone).
    pub from: Vec<Source>,
    /// Empty: every port and protocol (ICMP too).
    pub ports: Vec<PortRange>,
    pub action: BlockAction,
    pub direction: Direction,
}

/// What a block does with what it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockAction {
    /// Silently: the sender waits for a timeout.
    Drop,
    /// Politely: a TCP reset, an ICMP (ICMPv6) port unreachable for the rest.
    Reject,
}

impl BlockAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockAction::Drop => "drop",
            BlockAction::Reject => "reject",
        }
    }
}

impl Block {
    /// Whether it refuses `port`/`protocol` (all ports when it names none).
    pub fn covers_port(&self, protocol: Protocol, port: u16) -> bool {
        self.ports.is_empty()
            || self
                .ports
                .iter()
                .any(|r| r.protocols.contains(&protocol) && (r.first..=r.last).contains(&port))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The `inet` table portcullis owns.
    pub table: String,
    pub input_policy: Verdict,
    pub output_policy: Verdict,
    /// ICMP/ICMPv6 echo requests in. IPv6 neighbour discovery is always allowed.
    pub allow_ping: bool,
    pub confirm_timeout: Duration,
    pub confirm: ConfirmMode,
    pub drop_log: DropLog,
}

/// How the default drop (and the `ct state invalid` drop) reports what it drops: NFLOG to a
/// netlink group, rate-limited in the kernel so a flood cannot cost the host. With nobody
/// bound to the group the kernel discards the lines at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropLog {
    /// `drop_log = false` compiles no log statement at all.
    pub enabled: bool,
    /// The NFLOG group (0-65535); one reader at a time may bind it.
    pub group: u16,
    /// Log lines per second, at most, per dropping rule; the rest are dropped unlogged
    /// (and still counted).
    pub rate: u32,
    /// Lines allowed at once above the rate.
    pub burst: u32,
}

impl DropLog {
    /// Not ulogd2's customary groups (0-2), so installing portcullis does not take them.
    pub const DEFAULT_GROUP: u16 = 47;
}

impl Default for DropLog {
    fn default() -> Self {
        DropLog {
            enabled: true,
            group: DropLog::DEFAULT_GROUP,
            rate: 50,
            burst: 100,
        }
    }
}

/// Who may confirm a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfirmMode {
    /// Any session, including the one that applied it.
    #[default]
    AnySession,
    /// Only a session that started after the commit was applied: proof that new
    /// connections still get in, which the old session (kept alive by `ct state
    /// established`) cannot give.
    NewSession,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            table: "portcullis".to_string(),
            input_policy: Verdict::Drop,
            output_policy: Verdict::Accept,
            allow_ping: true,
            confirm_timeout: Duration::from_secs(30),
            confirm: ConfirmMode::AnySession,
            drop_log: DropLog::default(),
        }
    }
}

/// A chain's default verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::Drop => "drop",
        }
    }
}

/// A named list of addresses and prefixes. A bare address is a single host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub name: String,
    pub entries: Vec<IpNet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Traffic to this host: `allow` names the sources.
    In,
    /// Traffic from this host: `allow` names the destinations.
    Out,
    /// Both: new connections in from `allow` and out to it, on the same ports (NTP
    /// between servers). One rule in each chain.
    Both,
}

impl Direction {
    /// Whether it admits new connections to this host.
    pub fn inbound(self) -> bool {
        matches!(self, Direction::In | Direction::Both)
    }

    /// Whether it admits new connections from this host.
    pub fn outbound(self) -> bool {
        matches!(self, Direction::Out | Direction::Both)
    }

    /// As the policy file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Both => "both",
        }
    }
}

/// Who may reach a service (or, outbound, where it may go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Any,
    Network(String),
    Literal(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub description: Option<String>,
    pub ports: Vec<PortRange>,
    pub allow: Vec<Source>,
    /// Input interfaces (output interfaces for `direction = "out"`, both for `"both"`);
    /// empty means all.
    pub interfaces: Vec<String>,
    pub direction: Direction,
    /// The host's own addresses it is reachable on (its entry points), as network names
    /// or literals, never `any`; empty means all of them. Inbound, the packet's
    /// destination; outbound, its source.
    pub on: Vec<Source>,
    /// New connections per source address beyond this are dropped (and counted).
    pub limit: Option<RateLimit>,
}

/// `limit = "10/minute"` (and `burst`): new connections per source, counted in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub rate: u32,
    pub per: RateUnit,
    /// Connections allowed at once above the rate (nft's default is 5).
    pub burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            RateUnit::Second => "second",
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    pub fn seconds(self) -> u32 {
        match self {
            RateUnit::Second => 1,
            RateUnit::Minute => 60,
            RateUnit::Hour => 3600,
            RateUnit::Day => 86400,
        }
    }
}

impl RateLimit {
    /// nft's burst when none is written.
    pub const DEFAULT_BURST: u32 = 5;

    /// `10/minute`, or `10/minute burst 20` when the burst is not the default.
    pub fn label(&self) -> String {
        let mut text = format!("{}/{}", self.rate, self.per.as_str());
        if self.burst != Self::DEFAULT_BURST {
            text.push_str(&format!(" burst {}", self.burst));
        }
        text
    }

    /// Parses `10/minute` (also `10/min`, `10/s`, `3/hour`, `100/day`).
    pub fn parse(text: &str) -> Result<(u32, RateUnit), String> {
        let hint = "write connections per unit, like \"10/minute\" (units: second, minute, \
                    hour, day)";
        let (n, unit) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a rate; {hint}"))?;
        let rate: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|r| (1..=1_000_000).contains(r))
            .ok_or_else(|| {
                format!("{text:?}: the count must be a whole number from 1 to 1000000; {hint}")
            })?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => RateUnit::Second,
            "m" | "min" | "minute" => RateUnit::Minute,
            "h" | "hour" => RateUnit::Hour,
            "d" | "day" => RateUnit::Day,
            other => return Err(format!("{text:?}: unknown unit {other:?}; {hint}")),
        };
        Ok((rate, per))
    }
}

impl Source {
    /// As the policy file writes it: `any`, a network's name, or the address or prefix.
    pub fn label(&self) -> String {
        match self {
            Source::Any => "any".to_string(),
            Source::Network(n) => n.clone(),
            Source::Literal(net) => net.to_string(),
        }
    }
}

impl Service {
    pub fn allows_any(&self) -> bool {
        self.allow.iter().any(|s| matches!(s, Source::Any))
    }

    /// Whether the service is reachable on the host's address `local` (always, without
    /// `on`).
    pub fn is_on(&self, policy: &Policy, local: std::net::IpAddr) -> bool {
        self.on.is_empty() || self.on.iter().any(|s| policy.source_contains(s, local))
    }
}

impl Policy {
    /// Whether `source` (any, a network, a literal) holds `address`.
    pub fn source_contains(&self, source: &Source, address: std::net::IpAddr) -> bool {
        match source {
            Source::Any => true,
            Source::Literal(net) => net.contains(&address),
            Source::Network(name) => self
                .networks
                .get(name)
                .is_some_and(|n| n.entries.iter().any(|net| net.contains(&address))),
        }
    }

    /// The addresses `sources` stand for (networks resolved; `any` stands for none).
    pub fn entries_of<'a>(&'a self, sources: &'a [Source]) -> Vec<&'a IpNet> {
        let mut nets = Vec::new();
        for source in sources {
            match source {
                Source::Any => {}
                Source::Literal(net) => nets.push(net),
                Source::Network(n) => {
                    if let Some(network) = self.networks.get(n) {
                        nets.extend(network.entries.iter());
                    }
                }
            }
        }
        nets
    }
}
