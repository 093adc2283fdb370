//! The command line as clap reads it: the global options, every command with its help
//! and exit statuses (the manual and the completions are made from these), and the
//! parsers of their values.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Manage an nftables firewall from one policy file, safely.",
    long_about = "portcullis compiles a policy file (networks and services, in TOML) into one \
                  nftables table, `inet portcullis` by default, and applies it in a single \
                  transaction. It never changes any other table.",
    after_help = "Examples:\n  portcullis                       (the terminal UI)\n  \
                  sudo portcullis demo             (the UI in a throwaway namespace)\n  \
                  portcullis --policy policy.toml check\n  portcullis export | less\n  \
                  portcullis diff\n  portcullis apply                 (then y to keep)\n  \
                  portcullis apply --no-wait && portcullis confirm\n  portcullis status\n  \
                  portcullis rules --json"
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

    /// Where pending commits, the journal and the last confirmed ruleset are kept. (The
    /// default one's operator lock is in /run/portcullis.)
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_STATE_DIR",
        value_name = "DIR",
        default_value = crate::commit::state::DEFAULT_STATE_DIR
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

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// The terminal UI (also what `portcullis` alone starts): sockets and rules with live
    /// counters side by side; services and networks edited in forms, the diff, and a commit
    /// with the same confirm window as `apply`. Read-only when not root.
    ///
    /// Screens: 1 overview, 2 services, 3 networks, 4 (or d) diff, 5 blocks; ? lists the keys.
    /// Nothing is written until s saves (or C on the diff screen commits). Your own keys:
    /// ~/.config/portcullis/keys.toml (or $PORTCULLIS_KEYS), e.g. `help = ["?", "h"]`.
    ///
    /// Exit status: 0, or 2 without a terminal, with an unknown theme or a wrong keys file.
    Tui {
        /// How often to re-read sockets, counters and the journal. E.g. 1s, 500ms, 5s.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_refresh)]
        refresh: std::time::Duration,
    },
    /// Write a starting policy from what is listening now: SSH allowed from the network
    /// you are connected from (SSH_CONNECTION), and a service for each socket other hosts
    /// can reach, commented for review. Nothing is applied.
    ///
    /// Writes the --policy file; refuses if it exists unless --force (the old one is then
    /// kept as .bak). Exit status: 0 written, 1 the file exists, 2 failed.
    Init {
        /// Print the policy instead of writing it.
        #[arg(long)]
        print: bool,
        /// Replace an existing policy file (kept as NAME.bak).
        #[arg(long, conflicts_with = "print")]
        force: bool,
    },
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
    /// Validate, show the diff, apply in one transaction, and roll back unless confirmed.
    ///
    /// Without --yes the change is kept only if confirmed before the deadline: at the
    /// prompt (y keeps, any other key rolls back now), or with `portcullis confirm`. A
    /// detached guard process rolls back at the deadline even if this process, its terminal
    /// or the SSH session dies.
    ///
    /// The table is portcullis's own (marked with a table comment); a table of the same
    /// name made by anything else is never replaced, unless --adopt.
    ///
    /// Exit status: 0 applied (confirmed, or pending with --no-wait), 1 invalid (nothing
    /// changed), 2 not applied (nft refused, another commit pending, the table changed
    /// meanwhile or is not ours, a lockout refused, the state directory unwritable;
    /// nothing changed), 3 rolled back (by the prompt, the deadline, or because the
    /// loaded table could not be recorded).
    Apply {
        /// Keep the change at once, without a confirmation window.
        #[arg(long, conflicts_with_all = ["no_wait", "confirm_timeout", "require_new_session"])]
        yes: bool,
        /// Return at once, leaving the commit pending and the rollback armed.
        #[arg(long)]
        no_wait: bool,
        /// How long the change waits for a confirm [default: the policy's
        /// settings.confirm_timeout, else 30s]. E.g. 45s, 2m, 1m30s.
        #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
        confirm_timeout: Option<std::time::Duration>,
        /// Apply even if it drops new connections from your SSH client (the window still
        /// applies, so the rollback still saves you).
        #[arg(long)]
        allow_lockout: bool,
        /// Accept a confirm only from a session started after the apply (as the policy
        /// setting confirm = "new-session").
        #[arg(long)]
        require_new_session: bool,
        /// Take over an existing table of the policy's name that portcullis did not make
        /// (it is snapshotted like any table, so a rollback gives it back as it was).
        #[arg(long)]
        adopt: bool,
    },
    /// List listening sockets: owner, service name, connections, and exposure under the policy.
    ///
    /// Exit status: 0, or 2 if the socket table could not be read.
    Sockets {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print services for the sockets no service covers, as policy TOML to review.
        #[arg(long, conflicts_with = "json")]
        suggest: bool,
        /// Skip finding the owning processes (scanning /proc/*/fd costs in proportion to
        /// every open file on the machine).
        #[arg(long)]
        no_processes: bool,
    },
    /// Keep the pending commit and save it as the ruleset `restore` loads at boot.
    ///
    /// Exit status: 0 confirmed, 1 nothing pending (or too late: it was rolled back),
    /// 2 refused (confirm = "new-session" and this session is older than the commit).
    Confirm,
    /// Roll back the pending commit now: the table as it was before, in one transaction.
    ///
    /// Exit status: 0 rolled back (or, with --commit, that commit is no longer pending),
    /// 1 nothing pending, 2 the rollback failed (the guard keeps retrying; see status).
    Rollback {
        /// Only this commit; succeed quietly if it is no longer pending.
        #[arg(long, value_name = "ID")]
        commit: Option<String>,
        /// Wait for the commit's deadline first (what the systemd timer runs).
        #[arg(long, requires = "commit", hide = true)]
        at_deadline: bool,
    },
    /// Show the pending commit (id, deadline, seconds left, guard) and the last commits.
    ///
    /// Exit status: 0.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Load the last confirmed ruleset, never a pending one (for boot).
    ///
    /// A commit still pending is recorded as rolled back. Exit status: 0 loaded (or
    /// nothing confirmed yet), 2 failed.
    Restore,
    /// The terminal UI in a throwaway network namespace, with real listeners, the SIEM
    /// example policy and a little traffic. Needs root; never touches this machine's
    /// firewall, and removes everything on exit.
    ///
    /// Exit status: the UI's, or 2 if the namespace could not be set up.
    Demo {
        /// How often the UI refreshes. E.g. 1s, 500ms.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_refresh)]
        refresh: std::time::Duration,
    },
    /// A listener of the demo (started by `demo` inside its namespace).
    #[command(hide = true)]
    DemoServe {
        #[arg(long)]
        name: String,
        #[arg(long)]
        tcp: Option<std::net::SocketAddr>,
        #[arg(long)]
        udp: Option<std::net::SocketAddr>,
    },
    /// The demo's client traffic (started by `demo` inside its client namespace).
    #[command(hide = true)]
    DemoTraffic,
    /// The detached process that rolls back commit ID at its deadline (started by apply).
    #[command(hide = true)]
    Guard {
        #[arg(long, value_name = "ID")]
        commit: String,
    },
    /// Print the manual page (roff): `portcullis man | man -l -`, or install it as
    /// /usr/share/man/man1/portcullis.1.
    ///
    /// Exit status: 0.
    Man,
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish or powershell),
    /// e.g. `portcullis completions bash > /usr/share/bash-completion/completions/portcullis`.
    ///
    /// Exit status: 0.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// What the table's default drop (and its `ct state invalid` drop) is dropping, read
    /// live over NFLOG: who, to which port, on which interface, how often, and what the
    /// policy says about it (the service on that port and why it said no, the named network
    /// the source is in, whether anything listens there).
    ///
    /// With --for, listen that long and print the aggregate (the default: 10s); with
    /// --follow, print each drop as it happens until interrupted (or for --for). Lines are
    /// rate-limited in the kernel (settings.drop_log_rate): the summary says how many drops
    /// were counted but not logged. One reader per NFLOG group: a second is refused.
    ///
    /// Exit status: 0, 2 the group is taken by another reader, the table logs nothing,
    /// or nft could not be read.
    Drops {
        /// Print JSON: with --for, one object with the aggregate; with --follow, one
        /// object per line.
        #[arg(long)]
        json: bool,
        /// One line per drop as it happens, until interrupted.
        #[arg(long)]
        follow: bool,
        /// Listen this long, then print the aggregate (or stop following). E.g. 5s, 1m.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_listen)]
        duration: Option<std::time::Duration>,
    },
    /// Let SOURCE reach SERVICE's ports for a while, at once: an address or prefix added to
    /// the live table as a timed set element, which the kernel removes when it expires (no
    /// process stays behind). It only adds access, so there is no confirm window; each grant
    /// is written to the audit log. Commits keep active grants; a reboot ends them all.
    ///
    /// Exit status: 0 granted, 1 invalid (no such service, a bad source or duration),
    /// 2 failed (no table of ours yet, nft refused, the lock is held).
    Grant {
        /// A service of the policy (inbound).
        service: String,
        /// An address (one host) or a prefix.
        source: String,
        /// How long, from 1s to 168h. E.g. 30m, 2h, 90s.
        #[arg(long = "for", value_name = "DURATION", value_parser = crate::nft::grants::duration)]
        duration: std::time::Duration,
    },
    /// Print a policy made from another firewall's rules, to review and then apply.
    ///
    /// `import ufw` reads ufw's own rule files (/etc/ufw/user.rules and user6.rules, its
    /// default policies from /etc/default/ufw and the names of its application profiles),
    /// or the files given: a copy of /etc/ufw, rule files, or scripts of ufw command lines
    /// (`ufw allow ...`, `ufw deny ...`) as vendor guides give them. Allow and limit rules
    /// become services (named from the application profile, the rule's comment or
    /// /etc/services), sources that go together become networks, deny and reject rules
    /// become blocks. What a policy cannot say is listed as comments at the top, never
    /// dropped. Nothing is applied or written.
    ///
    /// Exit status: 0 printed, 1 a file could not be read or is not ufw's.
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Take back a grant before it expires.
    ///
    /// Exit status: 0 revoked, 1 there is no such grant (or it expired), 2 failed.
    Revoke { service: String, source: String },
    /// List the live rules of the table with packet and byte counters.
    ///
    /// Exit status: 0, or 2 if nft could not be read.
    Rules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// What `import` reads.
#[derive(Debug, Clone, Subcommand)]
pub enum ImportFrom {
    /// ufw's rules: `portcullis import ufw > policy.toml`, then `check`, `diff`, `apply`.
    ///
    /// Examples:
    ///   portcullis import ufw                          (this host's ufw)
    ///   portcullis import ufw vendor-guide.sh          (a script of ufw commands)
    ///   portcullis import ufw /backup/etc/ufw --defaults /backup/etc/default/ufw
    ///
    /// Exit status: 0 printed, 1 a file could not be read or is not ufw's.
    #[command(verbatim_doc_comment)]
    Ufw {
        /// Rule files (user.rules, user6.rules), directories holding them (a copy of
        /// /etc/ufw), or scripts of ufw commands [default: /etc/ufw/user.rules and
        /// user6.rules, with /etc/default/ufw].
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// ufw's defaults file, for the default policies (DEFAULT_INPUT_POLICY…) [default:
        /// /etc/default/ufw when no PATH is given; otherwise ufw's own defaults, or the
        /// script's `ufw default` lines].
        #[arg(long, value_name = "FILE")]
        defaults: Option<PathBuf>,
        /// ufw's application profiles [default: PATH/applications.d for a directory,
        /// else /etc/ufw/applications.d].
        #[arg(long, value_name = "DIR")]
        apps: Option<PathBuf>,
    },
}

impl Cli {
    /// How often the terminal UI refreshes, when the command is the UI (none, or `tui`).
    pub fn ui_refresh(&self) -> Option<std::time::Duration> {
        match &self.command {
            None => Some(std::time::Duration::from_secs(1)),
            Some(Command::Tui { refresh }) => Some(*refresh),
            Some(_) => None,
        }
    }
}

fn parse_refresh(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?}: {e}; e.g. 1s, 500ms, 5s"))?;
    if d < std::time::Duration::from_millis(100) || d > std::time::Duration::from_secs(3600) {
        return Err(format!("{text:?} is out of range; use 100ms to 1h"));
    }
    Ok(d)
}

fn parse_listen(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?}: {e}; e.g. 5s, 1m, 500ms"))?;
    if d < std::time::Duration::from_millis(100)
        || d > std::time::Duration::from_secs(7 * 24 * 3600)
    {
        return Err(format!("{text:?} is out of range; use 100ms to 7 days"));
    }
    Ok(d)
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::duration::parse(text)?;
    if d < std::time::Duration::from_secs(1) || d > std::time::Duration::from_secs(24 * 3600) {
        return Err(format!("{text:?} is out of range; use 1s to 24h"));
    }
    Ok(d)
}
