//! `portcullis rules [--json]`: live rules with packet and byte counters.

use std::path::Path;

use serde::Serialize;

use super::eprint;
use crate::commit::counting::Counting;
use crate::commit::journal::format_time;
use crate::nft::backend::Nft;
use crate::nft::counters::{LiveRule, live_rules};
use crate::nft::live;
use crate::policy::Settings;
use crate::policy::file::load as load_policy;

#[derive(Serialize)]
struct Report {
    table: String,
    present: bool,
    rules: Vec<Counted>,
}

/// A rule and since when its counter counts (RFC 3339; None when no record says).
#[derive(Serialize)]
struct Counted {
    #[serde(flatten)]
    rule: LiveRule,
    counting_since: Option<String>,
}

/// `counting`: the state directory's record of since when each rule counts, if any.
pub fn run(path: &Path, nft: &dyn Nft, json: bool, counting: Option<&Counting>) -> u8 {
    // The table name comes from the policy; without a readable policy, use the default,
    // so that `rules` still works on a machine whose policy file is broken.
    let table = match load_policy(path) {
        Ok(p) => p.settings.table,
        Err(e) => {
            eprint(&e);
            eprint("portcullis: showing the default table instead");
            Settings::default().table
        }
    };
    // The terse listing leaves out set elements: milliseconds even with huge sets.
    let listing = match nft.list_ruleset_terse_json() {
        Ok(l) => l,
        Err(e) => {
            eprint(&format!("portcullis: cannot read the ruleset: {e}"));
            return 2;
        }
    };
    let objects = match live::table_objects(&listing, &table) {
        Ok(o) => o,
        Err(e) => {
            eprint(&format!("portcullis: {e}"));
            return 2;
        }
    };
    let report = Report {
        present: live::has_table(&objects),
        rules: live_rules(&objects)
            .into_iter()
            .map(|rule| Counted {
                counting_since: counting
                    .filter(|c| c.table == table)
                    .and_then(|c| c.since_of(rule.handle?))
                    .map(format_time),
                rule,
            })
            .collect(),
        table,
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => outln!("{text}"),
            Err(e) => {
                eprint(&format!("portcullis: {e}"));
                return 2;
            }
        }
        return 0;
    }
    if !report.present {
        eprint(&format!(
            "portcullis: there is no table inet {} in the kernel; `portcullis apply` creates it",
            report.table
        ));
        return 0;
    }
    out!("{}", table_text(&report.rules));
    0
}

fn table_text(rules: &[Counted]) -> String {
    let rows: Vec<[String; 7]> = rules
        .iter()
        .map(
            |Counted {
                 rule: r,
                 counting_since,
             }| {
                [
                    r.chain.clone(),
                    r.service.clone().unwrap_or_else(|| "-".into()),
                    r.packets.map_or("-".into(), |p| p.to_string()),
                    r.bytes.map_or("-".into(), |b| b.to_string()),
                    r.handle.map_or("-".into(), |h| h.to_string()),
                    counting_since
                        .as_deref()
                        .and_then(|t| t.get(..19))
                        .map_or("-".into(), |t| format!("{t}Z")),
                    r.rule.clone(),
                ]
            },
        )
        .collect();
    let header = [
        "CHAIN",
        "SERVICE",
        "PACKETS",
        "BYTES",
        "HANDLE",
        "COUNTING SINCE",
        "RULE",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 6 {
                s.push_str(cell);
            } else if (2..=4).contains(&i) {
                s.push_str(&format!("{cell:>w$}  ", w = widths[i]));
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s.push('\n');
        s
    };
    out.push_str(&line(header));
    for row in &rows {
        out.push_str(&line([
            &row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[6],
        ]));
    }
    out
}
