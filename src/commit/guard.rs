//! The guards: what rolls a commit back when nobody confirms it, whatever happened to the
//! operator's terminal, SSH session or `apply` process.
//!
//! 1. A detached guard process: portcullis re-executed as `guard --commit ID`, which makes
//!    itself a new session (so no controlling terminal and its own process group), blocks
//!    SIGHUP and SIGINT, has its stdio on /dev/null and its working directory at /. It holds
//!    `guards/ID.lock` for as long as it lives, which is how everyone else tells it is alive.
//! 2. Where systemd is PID 1 (and we share its network namespace), a transient timer runs
//!    `portcullis rollback --commit ID --at-deadline` a little after the deadline.
//!
//! Both wait for the deadline and then roll back through the journal, so whichever comes
//! second finds nothing to do.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

use super::ops::{CommitError, Context, Guards, RollbackOutcome, rollback};
use super::state::StateDir;
use super::system::{now_ms, systemd_can_guard};

/// How often a waiting guard re-reads the journal (a confirm makes it stand down within
/// this), and the longest it oversleeps the deadline.
const POLL: Duration = Duration::from_millis(100);
/// How long `arm` waits to see the guard alive before giving up on the apply.
const START_WAIT: Duration = Duration::from_secs(5);
/// The systemd timer fires this long after the deadline: it is the second line, for when
/// the guard process is gone.
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
}

/// The guard process's main: detach, hold the liveness lock, wait for the deadline, roll
/// back (retrying with backoff until it works or someone else resolves the commit).
pub fn run_guard(cx: &Context<'_>, id: &str) -> u8 {
    // Not a process group leader (we were spawned plainly), so setsid succeeds: a new
    // session and process group, and no controlling terminal whose hangup could reach us.
    let _ = nix::unistd::setsid();
    block_hangup_signals();
    let Ok(lock) = hold_liveness_lock(cx.state, id) else {
        return 0; // another guard for this commit holds it
    };
    let code = watch(cx, id);
    drop(lock);
    let _ = std::fs::remove_file(cx.state.guard_lock_path(id));
    code
}

/// SIGHUP and SIGINT stay pending forever instead of killing us. (Blocking needs no
/// signal handler, so no unsafe code.) SIGTERM still ends a guard, e.g. at shutdown; a
/// commit pending at boot is recorded as rolled back by `restore`.
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

fn hold_liveness_lock(state: &StateDir, id: &str) -> Result<File, ()> {
    let path = state.guard_lock_path(id);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|_| ())?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = writeln!(file, "{}", std::process::id());
            Ok(file)
        }
        Err(TryLockError::WouldBlock | TryLockError::Error(_)) => Err(()),
    }
}

/// Waits until commit `id` is resolved, rolling it back once its deadline has passed.
/// Shared by the guard process and the systemd timer's `rollback --at-deadline`.
pub fn watch(cx: &Context<'_>, id: &str) -> u8 {
    let mut failures: u32 = 0;
    loop {
        let deadline = match cx.state.load_journal() {
            Ok(j) => match j.pending {
                Some(p) if p.id == id => p.deadline_ms,
                _ => return 0, // confirmed, rolled back or replaced: stand down
            },
            // A journal we cannot read now may be readable in a moment (disk full, ...);
            // giving up would leave the commit without a guard.
            Err(_) => {
                std::thread::sleep(backoff(failures));
                failures += 1;
                continue;
            }
        };
        let now = now_ms();
        if now < deadline {
            std::thread::sleep(POLL.min(Duration::from_millis(deadline - now)));
            continue;
        }
        match rollback(cx, Some(id), "deadline passed without a confirm") {
            Ok(RollbackOutcome::RolledBack(_))
            | Ok(RollbackOutcome::NotPending(_))
            | Ok(RollbackOutcome::NothingPending) => return 0,
            // Another namespace's commit can never be ours to roll back.
            Err(CommitError::WrongNamespace { .. }) => return 1,
            Err(_) => {
                std::thread::sleep(backoff(failures));
                failures += 1;
            }
        }
    }
}

/// 100 ms, 200 ms, 400 ms ... up to 5 s between rollback attempts.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << failures.min(6))).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(5));
    }
}
