//! `portcullis sockets [--json] [--suggest]`: what listens, who owns it, and who can reach
//! it under the policy.

use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::eprint;
use crate::nft::backend::Nft;
use crate::policy::file::load as load_policy;
use crate::sockets::ephemeral_range;
use crate::sockets::exposure::{Exposure, blocked_by, exposure, reachable_on, stale_services};
use crate::sockets::live_exposure::live_exposure;
use crate::sockets::suggest::{suggest, to_toml};
use crate::sockets::{self, Process, ServiceNames};

/// The JSON document; the README documents these keys.
#[derive(Serialize)]
struct Document<'a> {
    sockets: Vec<Row<'a>>,
    stale_services: Vec<&'a str>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Row<'a> {
    protocol: &'static str,
    address: IpAddr,
    port: u16,
    dual_stack: bool,
    interface: Option<&'a str>,
    connections: Option<usize>,
    process: Option<&'a Process>,
    service: Option<&'a str>,
    inode: u32,
    uid: u32,
    exposure: Option<Exposure>,
    live_exposure: Option<Exposure>,
    /// For a socket bound to every address: the host's addresses where the policy's
    /// services reach it (their `on`); left out when it is every address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reachable_on: Vec<String>,
    /// The policy's blocks that refuse some sources on its port before any service.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    blocked_by: Vec<String>,
}

pub struct Options {
    pub json: bool,
    pub suggest: bool,
    pub processes: bool,
}

pub fn run(path: &Path, nft: &dyn Nft, opts: &Options) -> u8 {
    let (as_json, suggestions) = (opts.json, opts.suggest);
    let names = ServiceNames::load();
    let table = match sockets::scan(
        if opts.processes {
            sockets::Owners::Find
        } else {
            sockets::Owners::Skip
        },
        &names,
    ) {
        Ok(t) => t,
        Err(e) => {
            eprint(&format!("portcullis: cannot read the socket table: {e}"));
            return 2;
        }
    };
    // Exposure needs the policy; without one the sockets are still worth showing.
    let policy = match load_policy(path) {
        Ok(p) => Some(p),
        Err(e) => {
            eprint(&format!(
                "{e}portcullis: exposure not shown (no valid policy)"
            ));
            None
        }
    };
    if suggestions {
        let policy = policy.unwrap_or_else(|| crate::policy::parse("").expect("empty policy"));
        out!(
            "{}",
            to_toml(&suggest(
                &policy,
                &table.listeners,
                &names,
                &ephemeral_range()
            ))
        );
        return 0;
    }
    let table_name = policy
        .as_ref()
        .map(|p| p.settings.table.clone())
        .unwrap_or_else(|| "portcullis".to_string());
    let listing = nft
        .list_ruleset_terse_json()
        .ok()
        .and_then(|l| crate::nft::live::parse(&l).ok());
    let warnings = listing
        .as_ref()
        .map(|doc| other_input_filters(doc, &table_name))
        .unwrap_or_default();
    // Our table as the kernel runs it now; nothing (and no live exposure) if unreadable.
    let live = listing
        .as_ref()
        .and_then(|doc| crate::nft::live::objects_of(doc, &table_name).ok())
        .unwrap_or_default();
    if as_json {
        let doc = Document {
            sockets: table
                .listeners
                .iter()
                .map(|l| Row {
                    protocol: l.protocol.as_str(),
                    address: l.address,
                    port: l.port,
                    dual_stack: l.dual_stack,
                    interface: l.interface.as_deref(),
                    connections: l.connections,
                    process: l.process.as_ref(),
                    service: l.service.as_deref(),
                    inode: l.inode,
                    uid: l.uid,
                    exposure: policy.as_ref().map(|p| exposure(p, l)),
                    live_exposure: live_exposure(&live, l),
                    reachable_on: policy
                        .as_ref()
                        .map(|p| reachable_on(p, l))
                        .unwrap_or_default(),
                    blocked_by: policy
                        .as_ref()
                        .map(|p| blocked_by(p, l))
                        .unwrap_or_default(),
                })
                .collect(),
            stale_services: policy
                .as_ref()
                .map(|p| {
                    stale_services(p, &table.listeners)
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect()
                })
                .unwrap_or_default(),
            warnings,
        };
        // Buffered and typed: tens of thousands of sockets must cost neither a write each
        // nor a map each.
        let mut out = BufWriter::new(std::io::stdout().lock());
        let _ = serde_json::to_writer_pretty(&mut out, &doc);
        let _ = writeln!(out);
        return 0;
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let _ = writeln!(
        out,
        "{:<5} {:<28} {:<8} {:>5}  {:<22} {:<14} EXPOSURE",
        "PROTO", "ADDRESS:PORT", "IFACE", "CONNS", "PROCESS", "SERVICE"
    );
    for l in &table.listeners {
        let address = match l.address {
            std::net::IpAddr::V6(a) => format!("[{a}]:{}", l.port),
            a => format!("{a}:{}", l.port),
        };
        let _ = writeln!(
            out,
            "{:<5} {:<28} {:<8} {:>5}  {:<22} {:<14} {}",
            l.protocol.as_str(),
            format!("{address}{}", if l.dual_stack { " (v4+v6)" } else { "" }),
            l.interface.as_deref().unwrap_or("*"),
            l.connections
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            l.process
                .as_ref()
                .map(|p| format!("{}[{}]", p.name, p.pid))
                .unwrap_or_else(|| "?".into()),
            l.service.as_deref().unwrap_or("-"),
            {
                let proposed = policy.as_ref().map(|p| exposure(p, l));
                let now = live_exposure(&live, l);
                let on = policy
                    .as_ref()
                    .map(|p| reachable_on(p, l))
                    .unwrap_or_default();
                let mut on = if on.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", on.join(", "))
                };
                let blocks = policy
                    .as_ref()
                    .map(|p| blocked_by(p, l))
                    .unwrap_or_default();
                if !blocks.is_empty() {
                    on.push_str(&format!(" (but blocks {} first)", blocks.join(", ")));
                }
                match (proposed, now) {
                    (Some(p), Some(n)) if p != n => format!("{p}{on} (live: {n})"),
                    (Some(p), _) => format!("{p}{on}"),
                    (None, Some(n)) => format!("live: {n}"),
                    (None, None) => "?".to_string(),
                }
            }
        );
    }
    if let Some(p) = &policy {
        for s in stale_services(p, &table.listeners) {
            outln!(
                "stale: service {} ({}): nothing listens on its ports",
                s.name,
                s.ports
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    for w in warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    0
}

/// Base chains of other tables on the input hook: a drop there wins over our accept.
fn other_input_filters(listing: &serde_json::Value, ours: &str) -> Vec<String> {
    crate::nft::tables::other_tables(listing, ours)
        .iter()
        .flat_map(|t| {
            t.chains
                .iter()
                .filter(|c| c.hook.as_deref() == Some("input"))
                .map(move |c| {
                    format!(
                        "table {} {} also filters the input hook (chain {}); its rules may \
                         change these outcomes (in nftables a drop in any base chain wins)",
                        t.family, t.name, c.name
                    )
                })
        })
        .collect()
}
