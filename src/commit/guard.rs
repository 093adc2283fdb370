//! The guards: what rolls a commit back when nobody confirms it, whatever happened to the
//! operator's terminal, SSH session or `apply` process.
//!
//! 1. A detached guard process: portcullis re-executed as `guard --commit ID`, which makes
//!    itself a new session (so no controlling terminal and its own process group), blocks
//!    SIGHUP and SIGINT, has its stdio on /dev/null and its working directory at /. It holds
//!    `guards/ID.lock` for as long as it lives, which is how everyone else tells it is alive.
//!    SIGTERM (a logout on a systemd host, a careless `pkill`) makes it roll back at once
//!    rather than die with the commit unguarded; SIGUSR1 is `portcullis rollback` asking it
//!    to roll back now (when the journal cannot say which commit, or cannot be written).
//! 2. Where systemd is PID 1 (and we share its network namespace), a transient timer runs
//!    `portcullis rollback --commit ID --at-deadline` a little after the deadline.
//!
//! Both watch through the engine (`Engine::watch`), so whichever comes second finds nothing
//! to do.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

use super::engine::{Engine, GuardSignals, Guards, Watched};
use super::state::StateDir;
use crate::system::systemd_can_guard;

/// How long `arm` waits to see the guard alive before giving up on the apply.
const START_WAIT: Duration = Duration::from_secs(5);
/// The systemd timer fires this long after the window would end if the load were instant:
/// it is the second line, for when the guard process is gone, and it waits for the real
/// deadline itself.
const TIMER_GRACE: Duration = Duration::from_secs(2);

/// Starts guard processes by re-executing this binary.
pub struct ProcessGuards {
    pub exe: PathBuf,
    pub state: StateDir,
    /// The nft binary, absolute if it was given as a path.
    pub nft: PathBuf,
}

impl ProcessGuards {
    /// Arguments shared by the guard and the timer's command.
    fn base_args(&self) -> Vec<String> {
        vec![
            "--state-dir".into(),
            self.state.root().display().to_string(),
            "--nft".into(),
            self.nft.display().to_string(),
        ]
    }
}

/// Makes a path absolute against the current directory (the guard runs in /).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() || path.components().count() == 1 {
        // A bare name like "nft" is looked up in PATH, which the guard inherits.
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|d| d.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

impl Guards for ProcessGuards {
    fn arm(&self, id: &str, timeout: Duration) -> Result<Option<String>, String> {
        let mut child = Command::new(&self.exe)
            .args(self.base_args())
            .args(["guard", "--commit", id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/")
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.exe.display()))?;
        let started = Instant::now();
        while !self.state.guard_alive(id) {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("the guard process exited at once ({status})"));
            }
            if started.elapsed() > START_WAIT {
                let _ = child.kill();
                return Err("the guard process did not start in time".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Reap it when it ends, so a long-lived caller (the TUI) collects no zombies.
        std::thread::spawn(move || child.wait());

        if !systemd_can_guard() {
            return Ok(None);
        }
        let unit = format!("portcullis-rollback-{id}");
        let on_active = (timeout + TIMER_GRACE).as_secs();
        let status = Command::new("systemd-run")
            .args([
                "--quiet",
                "--collect",
                &format!("--unit={unit}"),
                &format!("--on-active={on_active}s"),
                "--timer-property=AccuracySec=100ms",
                "--",
            ])
            .arg(&self.exe)
            .args(self.base_args())
            .args(["rollback", "--commit", id, "--at-deadline"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // The timer is the second guard: without it the guard process still stands.
        Ok(status.is_ok_and(|s| s.success()).then_some(unit))
    }

    fn disarm_timer(&self, unit: &str) {
        let _ = Command::new("systemctl")
            .args(["stop", &format!("{unit}.timer")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn ask_to_roll_back(&self, pid: i32) -> bool {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGUSR1).is_ok()
    }
}

/// The guard process's main: detach, hold the liveness lock, watch the commit until it is
/// resolved (rolling it back when due, or at once on SIGTERM or SIGUSR1).
pub fn run_guard(engine: &Engine<'_>, state: &StateDir, id: &str) -> u8 {
    // Not a process group leader (we were spawned plainly), so setsid succeeds: a new
    // session and process group, and no controlling terminal whose hangup could reach us.
    let _ = nix::unistd::setsid();
    block_hangup_signals();
    let signals = GuardSignals::default();
    for (signal, flag) in [
        (signal_hook::consts::SIGTERM, &signals.stop),
        (signal_hook::consts::SIGUSR1, &signals.operator),
    ] {
        // Without the handler the signal would end the guard: refuse to run unguarded.
        if signal_hook::flag::register(signal, std::sync::Arc::clone(flag)).is_err() {
            return 2;
        }
    }
    let Ok(Some(lock)) = state.hold_guard_lock(id) else {
        return 0; // another guard for this commit holds it
    };
    let code = match engine.watch(id, &signals) {
        Watched::Done => 0,
        Watched::WrongNamespace => 1,
        Watched::StateGone => 2,
    };
    drop(lock);
    let _ = std::fs::remove_file(state.guard_lock_path(id));
    code
}

/// SIGHUP and SIGINT stay pending forever instead of killing us. (Blocking needs no
/// signal handler.)
pub fn block_hangup_signals() {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
    ] {
        set.add(signal);
    }
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
}
