//! `portcullis drops [--json] [--follow] [--for DUR]`: what the table's dropping rules are
//! dropping, read live over NFLOG. With `--for` (default 10s), listen that long and print
//! the aggregate; with `--follow`, one line (or JSON object) per drop as it happens.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::eprint;
use crate::commit::journal::format_time;
use crate::drops::nflog::{Latency, Reader};
use crate::drops::{Attribution, Dropped, Entry, Tally, explain};
use crate::nft::backend::Nft;
use crate::nft::{droplog, live};
use crate::policy::{Policy, Settings};
use crate::sockets::{self, Listener, ServiceNames};

pub struct Options {
    pub json: bool,
    pub follow: bool,
    pub duration: Option<Duration>,
}

/// Listening this long when neither `--for` nor `--follow` says.
pub const DEFAULT_FOR: Duration = Duration::from_secs(10);

pub fn run(path: &Path, nft: &dyn Nft, opts: &Options) -> u8 {
    let policy = match crate::policy::file::load(path) {
        Ok(p) => Some(p),
        Err(e) => {
            eprint(&e);
            eprint("portcullis: reading the default table's drops, without the policy's names");
            None
        }
    };
    let table = policy
        .as_ref()
        .map_or_else(|| Settings::default().table, |p| p.settings.table.clone());
    let Some((group, counted_before)) = logging(nft, &table) else {
        return 2;
    };
    let latency = if opts.follow {
        Latency::Immediate
    } else {
        Latency::Batched
    };
    let mut reader = match Reader::bind(group, latency) {
        Ok(r) => r,
        Err(e) => {
            eprint(&format!("portcullis: {e}"));
            return 2;
        }
    };
    let duration = match (opts.follow, opts.duration) {
        (_, Some(d)) => Some(d),
        (true, None) => None,
        (false, None) => {
            if std::io::stderr().is_terminal() {
                eprint(&format!(
                    "portcullis: listening {} on NFLOG group {group} (--for DUR to change, --follow to stream)",
                    humantime::format_duration(DEFAULT_FOR)
                ));
            }
            Some(DEFAULT_FOR)
        }
    };
    let policy = policy.unwrap_or_default();
    let mut sockets = Sockets::new();
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut batch = Vec::new();
    loop {
        let left = duration.map(|d| d.saturating_sub(started.elapsed()));
        if left == Some(Duration::ZERO) {
            break;
        }
        batch.clear();
        if let Err(e) = reader.read(left, &mut batch) {
            eprint(&format!("portcullis: reading NFLOG group {group}: {e}"));
            return 2;
        }
        for dropped in batch.drain(..) {
            if opts.follow {
                let listeners = sockets.current();
                print_one(&policy, listeners, &dropped, opts.json);
            }
            tally.add(dropped);
        }
    }
    tally.overruns = reader.overruns;
    if opts.follow {
        return 0;
    }
    let counted = logging(nft, &table).map_or(0, |(_, after)| after.saturating_sub(counted_before));
    let summary = Summary::of(
        &tally,
        &policy,
        sockets.current(),
        group,
        &table,
        duration,
        counted,
    );
    if opts.json {
        match serde_json::to_string_pretty(&summary) {
            Ok(text) => outln!("{text}"),
            Err(e) => {
                eprint(&format!("portcullis: {e}"));
                return 2;
            }
        }
    } else {
        out!("{}", summary.text());
    }
    0
}

/// The live table's log group and what its logging rules have counted; None (after saying
/// why) when there is nothing to read.
fn logging(nft: &dyn Nft, table: &str) -> Option<(u16, u64)> {
    let objects = nft
        .list_ruleset_terse_json()
        .map_err(|e| e.to_string())
        .and_then(|l| live::table_objects(&l, table).map_err(|e| e.to_string()));
    let objects = match objects {
        Ok(o) => o,
        Err(e) => {
            eprint(&format!("portcullis: cannot read the ruleset: {e}"));
            return None;
        }
    };
    if !live::has_table(&objects) {
        eprint(&format!(
            "portcullis: there is no table inet {table} in the kernel, so nothing logs drops; \
             `portcullis apply` creates it"
        ));
        return None;
    }
    match droplog::live_logging(&objects) {
        (Some(group), counted) => Some((group, counted)),
        (None, _) => {
            eprint(&format!(
                "portcullis: table inet {table} logs no drops (settings.drop_log = false, or \
                 applied by a portcullis without the drop log); set drop_log = true and apply"
            ));
            None
        }
    }
}

/// The socket table for "does anything listen there", read again at most every 5 s.
struct Sockets {
    names: ServiceNames,
    read_at: Option<Instant>,
    listeners: Option<Vec<Listener>>,
}

impl Sockets {
    fn new() -> Sockets {
        Sockets {
            names: ServiceNames::load(),
            read_at: None,
            listeners: None,
        }
    }

    fn current(&mut self) -> Option<&[Listener]> {
        if self
            .read_at
            .is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        {
            self.read_at = Some(Instant::now());
            self.listeners = sockets::scan(false, &self.names).ok().map(|t| t.listeners);
        }
        self.listeners.as_deref()
    }
}

/// One drop as `--follow --json` prints it, and one aggregate line of `--json`.
#[derive(Serialize)]
struct Line {
    source: String,
    destination: String,
    protocol: String,
    port: Option<u16>,
    icmp_type: Option<u8>,
    interface: Option<String>,
    chain: String,
    reason: &'static str,
    #[serde(flatten)]
    attribution: Attribution,
}

impl Line {
    fn of(entry: &Entry, attribution: Attribution) -> Line {
        Line {
            source: entry.key.source.to_string(),
            destination: entry.destination.to_string(),
            protocol: entry.key.proto.to_string(),
            port: entry.key.port,
            icmp_type: entry.key.icmp_type,
            interface: entry.interface.clone(),
            chain: entry.by.chain.clone(),
            reason: entry.by.reason.as_str(),
            attribution,
        }
    }
}

fn single(dropped: &Dropped) -> Entry {
    let mut one = Tally::with_caps(1, 1);
    one.add(dropped.clone());
    one.entries()[0].clone()
}

fn print_one(policy: &Policy, listeners: Option<&[Listener]>, dropped: &Dropped, json: bool) {
    let entry = single(dropped);
    let attribution = explain(policy, listeners, &entry);
    if json {
        #[derive(Serialize)]
        struct Event {
            time: String,
            source_port: Option<u16>,
            #[serde(flatten)]
            line: Line,
        }
        let event = Event {
            time: format_time(dropped.at_ms),
            source_port: dropped.headers.source_port,
            line: Line::of(&entry, attribution),
        };
        if let Ok(text) = serde_json::to_string(&event) {
            outln!("{text}");
        }
        return;
    }
    let h = &dropped.headers;
    let source = endpoint(h.source, h.source_port);
    let destination = match (h.destination_port, h.icmp_type) {
        (Some(p), _) => endpoint(h.destination, Some(p)),
        (None, Some(t)) => format!("{} type {t}", h.destination),
        (None, None) => h.destination.to_string(),
    };
    outln!(
        "{}  {:<8} {:<6} {source} -> {destination}  {} {}  {}",
        format_time(dropped.at_ms),
        dropped.interface.as_deref().unwrap_or("-"),
        h.proto.to_string(),
        dropped.by.chain,
        dropped.by.reason.as_str(),
        crate::drops::explain::summary(&attribution, entry.key.port)
    );
}

fn endpoint(address: std::net::IpAddr, port: Option<u16>) -> String {
    match (address, port) {
        (std::net::IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    }
}

/// What `drops --for` prints.
#[derive(Serialize)]
struct Summary {
    table: String,
    group: u16,
    seconds: f64,
    /// Log lines read.
    lines: u64,
    /// Packets the logging catch-all rules counted meanwhile (drops by the chain policy).
    counted: u64,
    /// Of those, how many the kernel's rate limit left unlogged (an estimate: counted
    /// minus lines of the same rules).
    not_logged: u64,
    /// Lines the kernel could not hand over (receive buffer overran).
    overruns: u64,
    /// Aggregate lines let go to stay within the cap.
    forgotten: u64,
    drops: Vec<AggregateLine>,
}

#[derive(Serialize)]
struct AggregateLine {
    count: u64,
    first_seen: String,
    last_seen: String,
    #[serde(flatten)]
    line: Line,
}

impl Summary {
    fn of(
        tally: &Tally,
        policy: &Policy,
        listeners: Option<&[Listener]>,
        group: u16,
        table: &str,
        duration: Option<Duration>,
        counted: u64,
    ) -> Summary {
        let by_policy: u64 = tally
            .entries()
            .iter()
            .filter(|e| e.by.reason == droplog::Reason::Policy)
            .map(|e| e.count)
            .sum();
        Summary {
            table: table.to_string(),
            group,
            seconds: duration.map_or(0.0, |d| d.as_secs_f64()),
            lines: tally.lines,
            counted,
            not_logged: counted.saturating_sub(by_policy),
            overruns: tally.overruns,
            forgotten: tally.forgotten,
            drops: tally
                .entries()
                .into_iter()
                .map(|e| AggregateLine {
                    count: e.count,
                    first_seen: format_time(e.first_ms),
                    last_seen: format_time(e.last_ms),
                    line: Line::of(e, explain(policy, listeners, e)),
                })
                .collect(),
        }
    }

    fn text(&self) -> String {
        let mut out = format!(
            "listened {}s on NFLOG group {}: {} lines; the default drop counted {} ({} not logged: rate limit)\n",
            self.seconds, self.group, self.lines, self.counted, self.not_logged
        );
        if self.overruns > 0 || self.forgotten > 0 {
            out.push_str(&format!(
                "({} reads overran the buffer; {} aggregate lines forgotten to stay within the cap)\n",
                self.overruns, self.forgotten
            ));
        }
        if self.drops.is_empty() {
            out.push_str("no drops logged\n");
            return out;
        }
        let rows: Vec<[String; 8]> = self
            .drops
            .iter()
            .map(|d| {
                let l = &d.line;
                [
                    d.last_seen
                        .get(11..19)
                        .map_or_else(String::new, |t| format!("{t}Z")),
                    d.count.to_string(),
                    l.source.clone(),
                    match (l.port, l.icmp_type) {
                        (Some(p), _) => p.to_string(),
                        (None, Some(t)) => format!("type {t}"),
                        (None, None) => "-".into(),
                    },
                    l.protocol.clone(),
                    l.interface.clone().unwrap_or_else(|| "-".into()),
                    format!("{} {}", l.chain, l.reason),
                    crate::drops::explain::summary(&l.attribution, l.port),
                ]
            })
            .collect();
        let header = [
            "LAST", "COUNT", "SOURCE", "PORT", "PROTO", "IFACE", "RULE", "WHY",
        ]
        .map(String::from);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i == 7 {
                    line.push_str(cell);
                } else if i == 1 {
                    line.push_str(&format!("{cell:>w$}  ", w = widths[i]));
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
