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
mod args;
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

use std::process::ExitCode;

use crate::commit::backends::{Paths, RealBackends};
use crate::commit::engine::Engine;
use crate::commit::guard::absolute;
use crate::commit::state::StateError;
use crate::commit::{Actor, Create};
use crate::nft::backend::NftProcess;

pub use args::{Cli, Command, ImportFrom};

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
            let known = open_backends(&cli, Create::Never)
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
            let counting = open_backends(&cli, Create::Never)
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
        Some(Command::Guard { commit }) => match open_backends(&cli, Create::Never) {
            Ok(m) => crate::commit::guard::run_guard(&m.engine(Actor::Guard), &m.state, commit),
            Err(_) => 2,
        },
    };
    ExitCode::from(code)
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

/// The commit engine's backends at the command line's paths.
pub fn paths(cli: &Cli) -> Paths {
    Paths {
        state_dir: cli.state_dir.clone(),
        nft: cli.nft.clone(),
    }
}

/// Opens the state directory (creating it if `create` says so) and the other backends.
pub fn open_backends(cli: &Cli, create: Create) -> Result<RealBackends, StateError> {
    RealBackends::open(&paths(cli), create)
}

/// The machinery for `confirm` and `rollback`, or the exit status after saying why not:
/// 1 if nothing was ever applied here, 2 if the state directory is unusable.
pub fn open_existing(cli: &Cli) -> Result<RealBackends, u8> {
    match open_backends(cli, Create::Never) {
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
    let Ok(m) = open_backends(cli, Create::Never) else {
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
