//! The headless command line: clap definitions and dispatch. Never enters raw mode.

mod apply;
mod check;
mod diff;
mod export;
mod rules;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::nft::backend::{Nft, NftProcess};
use crate::nft::live::{self, LiveObject};
use crate::policy::{self, Policy};

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Manage an nftables firewall from one policy file, safely.",
    long_about = "portcullis compiles a policy file (networks and services, in TOML) into one \
                  nftables table, `inet portcullis` by default, and applies it in a single \
                  transaction. It never changes any other table.",
    after_help = "Examples:\n  portcullis --policy policy.toml check\n  portcullis export | less\n  \
                  portcullis diff\n  portcullis apply --yes\n  portcullis rules --json",
    arg_required_else_help = true
)]
pub struct Cli {
    /// The policy file.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_POLICY",
        value_name = "PATH",
        default_value = "/etc/portcullis/policy.toml"
    )]
    pub policy: PathBuf,

    /// Where pending commits, the journal and the last confirmed ruleset are kept.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_STATE_DIR",
        value_name = "DIR",
        default_value = "/var/lib/portcullis"
    )]
    pub state_dir: PathBuf,

    /// The nft binary to run.
    #[arg(long, global = true, value_name = "PATH", default_value = "nft")]
    pub nft: PathBuf,

    /// Colour theme of the terminal UI.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,

    /// No colours (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the policy; errors print as FILE:LINE:COL: message.
    ///
    /// Exit status: 0 valid, 1 invalid.
    Check,
    /// Print the nft script the policy compiles to (exactly what `apply` loads).
    ///
    /// Exit status: 0, or 1 if the policy is invalid.
    Export {
        /// Print nft JSON (for `nft -j -f`) instead of nft's text syntax.
        #[arg(long)]
        json: bool,
    },
    /// Show how the live table differs from the policy, as a unified diff.
    ///
    /// Exit status: 0 same, 1 different, 2 error.
    Diff,
    /// Validate the policy and replace the live table with it in one transaction.
    ///
    /// Exit status: 0 applied, 1 invalid (nothing changed), 2 nft refused (nothing changed).
    Apply {
        /// Keep the change at once, without a confirmation window.
        #[arg(long)]
        yes: bool,
    },
    /// List the live rules of the table with packet and byte counters.
    ///
    /// Exit status: 0, or 2 if nft could not be read.
    Rules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    let nft = NftProcess::new(&cli.nft);
    let code = match &cli.command {
        None => 2, // unreachable: clap prints help when no subcommand is given
        Some(Command::Check) => check::run(&cli.policy),
        Some(Command::Export { json }) => export::run(&cli.policy, *json),
        Some(Command::Diff) => diff::run(&cli.policy, &nft),
        Some(Command::Apply { yes }) => apply::run(&cli.policy, &nft, *yes),
        Some(Command::Rules { json }) => rules::run(&cli.policy, &nft, *json),
    };
    ExitCode::from(code)
}

/// Reads and validates the policy file.
/// The error is ready to print: why the file is unreadable, or every finding in it.
pub fn load_policy(path: &Path) -> Result<Policy, String> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "portcullis: cannot read policy {}: {e} (set it with --policy or PORTCULLIS_POLICY)\n",
            path.display()
        )
    })?;
    policy::parse(&source).map_err(|d| {
        let name = path.display().to_string();
        let count = d.len();
        let plural = if count == 1 { "" } else { "s" };
        format!(
            "{}{name}: {count} error{plural}\n",
            d.render(&name, &source)
        )
    })
}

/// Prints a message to stderr, ending it with a newline.
pub fn eprint(message: &str) {
    eprint!("{message}");
    if !message.ends_with('\n') {
        eprintln!();
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

/// Whether `table inet NAME` exists, from the terse listing (milliseconds at any size).
pub fn table_exists(nft: &dyn Nft, table: &str) -> Result<bool, String> {
    let listing = nft.list_ruleset_terse_json().map_err(|e| e.to_string())?;
    let objects = live::table_objects(&listing, table).map_err(|e| e.to_string())?;
    Ok(live::has_table(&objects))
}
