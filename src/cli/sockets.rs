//! `portcullis sockets [--json] [--suggest]`: what listens, who owns it, and who can reach
//! it under the policy.

use std::path::Path;

use serde_json::json;

use super::{eprint, load_policy};
use crate::nft::backend::Nft;
use crate::policy::Policy;
use crate::sockets::exposure::{exposure, stale_services};
use crate::sockets::suggest::{ephemeral_range, suggest, to_toml};
use crate::sockets::{self, ServiceNames};

pub fn run(path: &Path, nft: &dyn Nft, as_json: bool, suggestions: bool) -> u8 {
    let names = ServiceNames::load();
    let table = match sockets::scan(true, &names) {
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
        print!(
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
    let warnings = other_input_filters(nft, policy.as_ref());
    if as_json {
        let list: Vec<serde_json::Value> = table
            .listeners
            .iter()
            .map(|l| {
                let mut v = serde_json::to_value(l).expect("listener serialises");
                v["exposure"] = match &policy {
                    Some(p) => serde_json::to_value(exposure(p, l)).expect("exposure"),
                    None => serde_json::Value::Null,
                };
                v
            })
            .collect();
        let stale: Vec<&str> = policy
            .as_ref()
            .map(|p| {
                stale_services(p, &table.listeners)
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let doc = json!({ "sockets": list, "stale_services": stale, "warnings": warnings });
        println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
        return 0;
    }
    println!(
        "{:<5} {:<28} {:<8} {:>5}  {:<22} {:<14} EXPOSURE",
        "PROTO", "ADDRESS:PORT", "IFACE", "CONNS", "PROCESS", "SERVICE"
    );
    for l in &table.listeners {
        let address = match l.address {
            std::net::IpAddr::V6(a) => format!("[{a}]:{}", l.port),
            a => format!("{a}:{}", l.port),
        };
        println!(
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
            policy
                .as_ref()
                .map(|p| exposure(p, l).to_string())
                .unwrap_or_else(|| "?".into())
        );
    }
    if let Some(p) = &policy {
        for s in stale_services(p, &table.listeners) {
            println!(
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
        println!("warning: {w}");
    }
    0
}

/// Base chains of other tables on the input hook: a drop there wins over our accept.
fn other_input_filters(nft: &dyn Nft, policy: Option<&Policy>) -> Vec<String> {
    let ours = policy
        .map(|p| p.settings.table.as_str())
        .unwrap_or("portcullis");
    let Ok(listing) = nft.list_ruleset_terse_json() else {
        return Vec::new();
    };
    crate::nft::live::input_hook_chains(&listing)
        .into_iter()
        .filter(|(family, table, _)| !(family == "inet" && table == ours))
        .map(|(family, table, chain)| {
            format!(
                "table {family} {table} also filters the input hook (chain {chain}); its rules \
                 may change these outcomes (in nftables a drop in any base chain wins)"
            )
        })
        .collect()
}
