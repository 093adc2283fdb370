//! The terminal while the UI runs: raw mode, the alternate screen and mouse reporting on
//! the way in, all of it undone on the way out, on a panic (the hook) and on SIGTERM or
//! SIGHUP (the loop quits and `restore` runs).

use std::io::{IsTerminal, Write};

use ratatui::DefaultTerminal;

/// Mouse reporting: button presses and the wheel (1000) in SGR encoding (1006). Not 1003
/// (every motion), which would wake the loop on each mouse move. And bracketed paste
/// (2004), so a paste of hundreds of addresses arrives as one text, not as keys (where
/// each newline would be an Enter).
const MOUSE_ON: &str = "\x1b[?1000h\x1b[?1006h\x1b[?2004h";
/// Also shows the cursor again (ratatui hides it while drawing).
const MOUSE_OFF: &str = "\x1b[?2004l\x1b[?1006l\x1b[?1000l\x1b[?25h";

#[derive(Debug, thiserror::Error)]
#[error(
    "the terminal UI needs a terminal on standard input and output; in scripts use the \
     subcommands (portcullis --help)"
)]
pub struct NoTerminal;

/// Enters the UI's terminal mode. ratatui's init installs a panic hook that restores the
/// terminal before the previous hook (color-eyre's) prints; ours wraps it to switch the
/// mouse off first.
pub fn enter() -> Result<DefaultTerminal, NoTerminal> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(NoTerminal);
    }
    let terminal = ratatui::init();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        mouse_off();
        previous(info);
    }));
    let mut out = std::io::stdout();
    let _ = out.write_all(MOUSE_ON.as_bytes());
    let _ = out.flush();
    Ok(terminal)
}

/// Leaves it: mouse off, main screen, cooked mode, cursor shown. Errors are ignored: after
/// a hangup there is no terminal left to restore.
pub fn leave() {
    mouse_off();
    // Not ratatui::restore: it prints the error, and printing to a terminal that hung up
    // fails and would panic.
    let _ = ratatui::try_restore();
}

fn mouse_off() {
    let mut out = std::io::stdout();
    let _ = out.write_all(MOUSE_OFF.as_bytes());
    let _ = out.flush();
}
