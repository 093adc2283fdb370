//! The terminal prompts of `apply`: "type yes" for a lockout, and the countdown that keeps
//! or rolls back a commit.
//!
//! The countdown reads single keys, so it turns off line buffering and echo (and ISIG, so
//! Ctrl-C is a key that means "roll back now" rather than a signal that would leave the
//! decision to the guard). That is not raw mode: output processing stays on, and the saved
//! settings come back on every way out of the prompt. If the process is killed instead, the
//! shell restores the terminal, and the guard rolls back.

use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{
    LocalFlags, SetArg, SpecialCharacterIndices, Termios, tcgetattr, tcsetattr,
};

use crate::commit::clock::Clock;
use crate::commit::{Pending, StateDir};

/// Whether prompts can be shown: both the keyboard and the screen are a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks the operator to type `yes`; anything else (or end of input) is a no.
pub fn typed_yes(question: &str) -> bool {
    eprint!("{question} Type yes to go on, anything else stops: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => line.trim() == "yes",
        Err(_) => false,
    }
}

/// How the countdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `y`.
    Keep,
    /// Any other key (`n` in new-session mode).
    RollBack,
    /// Someone confirmed or rolled it back from elsewhere.
    Resolved,
    /// The deadline passed.
    Deadline,
}

/// Single keys without echo until dropped.
struct KeyMode<'a> {
    fd: std::io::StdinLock<'a>,
    saved: Termios,
}

impl<'a> KeyMode<'a> {
    fn enable(fd: std::io::StdinLock<'a>) -> Option<KeyMode<'a>> {
        let saved = tcgetattr(fd.as_fd()).ok()?;
        let mut keys = saved.clone();
        keys.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
        keys.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        keys.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(fd.as_fd(), SetArg::TCSANOW, &keys).ok()?;
        Some(KeyMode { fd, saved })
    }
}

impl Drop for KeyMode<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.fd.as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Shows a countdown until the operator answers, the commit is resolved elsewhere, or its
/// deadline passes (on the boot clock, as the guard counts it).
/// `news` gives lines to print above the countdown as they come (drops from the
/// operator's own address).
pub fn countdown(
    state: &StateDir,
    clock: &dyn Clock,
    pending: &Pending,
    news: &dyn Fn() -> Vec<String>,
) -> Answer {
    let stdin = std::io::stdin();
    let keys = KeyMode::enable(stdin.lock());
    let mut stderr = std::io::stderr();
    let mut input_open = keys.is_some();
    let answer = loop {
        let still_pending = state
            .load_journal()
            .map(|j| j.pending.is_some_and(|p| p.id == pending.id))
            .unwrap_or(true);
        if !still_pending {
            break Answer::Resolved;
        }
        let now = clock.now();
        let Some(deadline) = pending.deadline().filter(|d| !d.passed(&now)) else {
            break Answer::Deadline;
        };
        for line in news() {
            // On a line of its own above the countdown; bold red unless NO_COLOR.
            if std::env::var_os("NO_COLOR").is_some() {
                let _ = writeln!(stderr, "\r\x1b[K{line}");
            } else {
                let _ = writeln!(stderr, "\r\x1b[K\x1b[1;31m{line}\x1b[0m");
            }
        }
        let left = deadline.seconds_left(&now);
        let text = if pending.require_new_session {
            format!(
                "Open a NEW connection and run `portcullis confirm` there; n rolls back now. \
                 Rolling back in {left}s "
            )
        } else {
            format!(
                "Keep this change? y keeps, any other key rolls back now. Rolling back in {left}s "
            )
        };
        let _ = write!(stderr, "\r\x1b[K{text}");
        let _ = stderr.flush();
        // Wake at the next whole second of the countdown, or sooner to notice a confirm.
        let wait = deadline.until_next_second(&now).as_millis().clamp(1, 250) as u16;
        let Some(k) = keys.as_ref().filter(|_| input_open) else {
            std::thread::sleep(std::time::Duration::from_millis(u64::from(wait)));
            continue;
        };
        let mut fds = [PollFd::new(k.fd.as_fd(), PollFlags::POLLIN)];
        if !matches!(poll(&mut fds, PollTimeout::from(wait)), Ok(n) if n > 0) {
            continue;
        }
        let mut buf = [0u8; 16];
        match nix::unistd::read(k.fd.as_fd(), &mut buf) {
            Ok(0) | Err(_) => input_open = false, // no more input: the deadline decides
            Ok(_) => match (buf[0], pending.require_new_session) {
                (b'y' | b'Y', false) => break Answer::Keep,
                (_, false) => break Answer::RollBack,
                (b'n' | b'N' | 0x03, true) => break Answer::RollBack,
                (_, true) => {}
            },
        }
    };
    drop(keys);
    let _ = write!(stderr, "\r\x1b[K");
    let _ = stderr.flush();
    answer
}
