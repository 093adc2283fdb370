//! The headless command line: clap definitions and dispatch. Never enters raw mode, and
//! never imports the terminal UI: `main` starts that one when the command asks for it.

/// Prints to stdout, like `print!`; a reader that has gone away ends the command quietly.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(&format!($($arg)*)) };
}

/// Prints a line to stdout, like `println!`; a reader that has gone away ends the command.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::write_out(&format!("{}\n", format!($($arg)*))) };
}

mod apply;
mod check;
mod confirm;
mod diff;
mod docs;
mod drops;
mod export;
mod grant;
mod import;
mod init;
mod peer_drops;
mod prompt;
mod restore;
mod rollback;
mod rules;
mod sockets;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commit::Actor;
use crate::commit::backends::{Machinery, Paths};
use crate::commit::engine::Engine;
use crate::commit::guard::absolute;
use crate::commit::state::StateError;
use crate::nft::backend::NftProcess;

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
    /// Nothing is written until s saves (or C on the diff screen commits).
    ///
    /// Exit status: 0, or 2 without a terminal or with an unknown theme.
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

/// Runs a parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    let nft = NftProcess::new(&cli.nft);
    match &cli.command {
        // The guard and the commands that resolve commits themselves skip recovery.
        Some(
            Command::Guard { .. }
            | Command::Rollback { .. }
            | Command::Restore
            | Command::Demo { .. }
            | Command::DemoServe { .. }
            | Command::DemoTraffic
            | Command::Man
            | Command::Import { .. }
            | Command::Completions { .. },
        ) => {}
        Some(_) | None => recover_first(&cli),
    }
    let code = match &cli.command {
        // main starts the UI; these only come here from a caller that did not.
        None | Some(Command::Tui { .. }) => {
            eprint("portcullis: the terminal UI is started by the portcullis binary");
            2
        }
        Some(Command::Demo { refresh }) => demo(&cli, *refresh),
        Some(Command::DemoServe { name, tcp, udp }) => {
            crate::demo::helpers::serve(name, *tcp, *udp)
        }
        Some(Command::DemoTraffic) => crate::demo::helpers::traffic(),
        Some(Command::Check) => check::run(&cli.policy),
        Some(Command::Init { print, force }) => init::run(
            &cli.policy,
            &init::Options {
                print: *print,
                force: *force,
            },
        ),
        Some(Command::Man) => docs::man(),
        Some(Command::Completions { shell }) => docs::completions(*shell),
        Some(Command::Export { json }) => export::run(&cli.policy, *json),
        Some(Command::Diff) => {
            // The record of the last load spares reading sets that have not changed.
            let known = machinery(&cli, false)
                .ok()
                .and_then(|m| m.state.load_journal().ok())
                .and_then(|j| j.live);
            diff::run(&cli.policy, &nft, known.as_ref())
        }
        Some(Command::Apply {
            yes,
            no_wait,
            confirm_timeout,
            allow_lockout,
            require_new_session,
            adopt,
        }) => apply::run(
            &cli,
            &apply::Options {
                yes: *yes,
                no_wait: *no_wait,
                confirm_timeout: *confirm_timeout,
                allow_lockout: *allow_lockout,
                require_new_session: *require_new_session,
                adopt: *adopt,
            },
        ),
        Some(Command::Rules { json }) => {
            let here = crate::commit::plan::place();
            let counting = machinery(&cli, false)
                .ok()
                .and_then(|m| m.state.load_counting())
                .filter(|c| c.place == here);
            rules::run(&cli.policy, &nft, *json, counting.as_ref())
        }
        Some(Command::Sockets {
            json,
            suggest,
            no_processes,
        }) => sockets::run(
            &cli.policy,
            &nft,
            &sockets::Options {
                json: *json,
                suggest: *suggest,
                processes: !*no_processes,
            },
        ),
        Some(Command::Drops {
            json,
            follow,
            duration,
        }) => drops::run(
            &cli.policy,
            &nft,
            &drops::Options {
                json: *json,
                follow: *follow,
                duration: *duration,
            },
        ),
        Some(Command::Confirm) => confirm::run(&cli),
        Some(Command::Grant {
            service,
            source,
            duration,
        }) => grant::grant(&cli, service, source, *duration),
        Some(Command::Revoke { service, source }) => grant::revoke(&cli, service, source),
        Some(Command::Import {
            from:
                ImportFrom::Ufw {
                    paths,
                    defaults,
                    apps,
                },
        }) => import::ufw(&import::Options {
            paths: paths.clone(),
            defaults: defaults.clone(),
            apps: apps.clone(),
        }),
        Some(Command::Rollback {
            commit,
            at_deadline,
        }) => rollback::run(&cli, commit.as_deref(), *at_deadline),
        Some(Command::Status { json }) => status::run(&cli, *json),
        Some(Command::Restore) => restore::run(&cli),
        Some(Command::Guard { commit }) => match machinery(&cli, false) {
            Ok(m) => crate::commit::guard::run_guard(&m.engine(Actor::Guard), &m.state, commit),
            Err(_) => 2,
        },
    };
    ExitCode::from(code)
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

fn demo(cli: &Cli, refresh: std::time::Duration) -> u8 {
    let options = crate::demo::Options {
        exe: std::env::current_exe().unwrap_or_else(|_| "portcullis".into()),
        nft: absolute(&cli.nft),
        theme: cli.theme.clone(),
        no_color: cli.no_color,
        refresh: humantime::format_duration(refresh).to_string(),
    };
    match crate::demo::run(&options) {
        Ok(code) => code,
        Err(e) => {
            eprint(&format!("portcullis demo: {e}"));
            2
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

/// The commit engine's backends at the command line's paths.
pub fn paths(cli: &Cli) -> Paths {
    Paths {
        state_dir: cli.state_dir.clone(),
        nft: cli.nft.clone(),
    }
}

/// Opens the state directory (creating it if `create`) and the other backends.
pub fn machinery(cli: &Cli, create: bool) -> Result<Machinery, StateError> {
    Machinery::open(&paths(cli), create)
}

/// The machinery for `confirm` and `rollback`, or the exit status after saying why not:
/// 1 if nothing was ever applied here, 2 if the state directory is unusable.
pub fn open_existing(cli: &Cli) -> Result<Machinery, u8> {
    match machinery(cli, false) {
        Ok(m) => Ok(m),
        Err(e) if e.is_not_found() => {
            eprint("portcullis: no commit is pending (nothing was ever applied here)");
            Err(1)
        }
        Err(e) => {
            eprint(&format!("portcullis: cannot use the state directory: {e}"));
            Err(2)
        }
    }
}

/// Prints what the engine had to say on the way (warnings, notes).
pub fn print_warnings(engine: &Engine<'_>) {
    for w in engine.take_warnings() {
        eprint(&format!("portcullis: warning: {w}"));
    }
}

/// Crash recovery before any command: a commit past its deadline (or left applying) with
/// no guard alive (the machine crashed, or the guard was killed) is rolled back first, and
/// the operator told.
pub fn recover_first(cli: &Cli) {
    // No state directory, or not ours to read (not root): nothing we could recover.
    let Ok(m) = machinery(cli, false) else {
        return;
    };
    let engine = m.engine(Actor::Recovery);
    match engine.recover_abandoned() {
        Ok(Some(p)) => eprint(&format!(
            "portcullis: rolled back commit {} first: {} and no guard was alive to do it \
             (machine crash or killed guard).",
            p.id,
            if p.deadline().is_some() {
                "its deadline passed"
            } else {
                "its apply was interrupted"
            }
        )),
        Ok(None) => {}
        Err(e) => eprint(&format!(
            "portcullis: warning: a pending commit is past its deadline and rolling it back \
             failed: {e}"
        )),
    }
    print_warnings(&engine);
}

/// Writes `text` to stdout. A reader that has gone away (`| head`, `| grep -q`) ends the
/// command quietly instead of the panic `print!` would raise, with the status a process
/// killed by SIGPIPE has (141), so that no script mistakes it for success: an `apply`
/// whose diff nobody reads stops before it changes anything.
pub fn write_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(128 + 13);
    }
}

/// Prints a message to stderr, ending it with a newline (nothing, if nobody reads it).
pub fn eprint(message: &str) {
    use std::io::Write;
    let newline = if message.ends_with('\n') { "" } else { "\n" };
    let _ = write!(std::io::stderr().lock(), "{message}{newline}");
}
