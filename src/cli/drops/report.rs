//! What `drops` prints: one line (or JSON object) per drop for `--follow`, and the
//! aggregate for `--for`, as a table or JSON (the keys are in the README).

use std::time::Duration;

use serde::Serialize;

use crate::commit::journal::format_time;
use crate::drops::{Attribution, Dropped, Entry, Tally, explain};
use crate::nft::droplog;
use crate::policy::Policy;
use crate::sockets::Listener;

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

pub fn print_one(policy: &Policy, listeners: Option<&[Listener]>, dropped: &Dropped, json: bool) {
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
pub struct Summary {
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
    pub fn of(
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

    pub fn text(&self) -> String {
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
