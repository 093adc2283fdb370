//! `portcullis drops [--json] [--follow] [--for DUR]`: what the table's dropping rules are
//! dropping, read live over NFLOG. With `--for` (default 10s), listen that long and print
//! the aggregate; with `--follow`, one line (or JSON object) per drop as it happens.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

mod report;

use report::{Summary, print_one};

use super::eprint;
use crate::drops::Tally;
use crate::drops::nflog::{Latency, Reader};
use crate::nft::backend::Nft;
use crate::nft::{droplog, live};
use crate::policy::Settings;
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
            self.listeners = sockets::scan(sockets::Owners::Skip, &self.names)
                .ok()
                .map(|t| t.listeners);
        }
        self.listeners.as_deref()
    }
}
