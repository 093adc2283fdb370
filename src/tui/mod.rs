//! The terminal UI's runtime: one event loop that blocks on one channel, fed by an input
//! thread (crossterm), a signal thread (SIGTERM, SIGHUP, SIGINT) and the worker's two
//! threads that do all IO (`worker`: the refresh, and the effects: confirm, apply…). The
//! loop wakes for a message, for the refresh
//! tick, and for the countdown second while a commit is pending; otherwise it sleeps, and
//! it draws only when `update` says something changed.

pub mod drop_feed;
mod in_flight;
mod operations;
mod owners;
pub mod refresh;
pub mod ruleset;
pub mod start;
mod terminal;
mod worker;

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::app::review::{ApplyDone, ApplyFailed, ApplyJob, Review, ReviewRequest};
use crate::app::{App, Config, Effect, LiveRequest, Msg, SaveFailed, update};
use crate::commit::clock::{Clock, SystemClock};
use crate::policy::file::{Loaded, Stamp};
use crate::ui::theme::Theme;
pub use owners::OwnerCache;
pub use refresh::Sources;
pub use ruleset::RulesetReader;
pub use terminal::NoTerminal;
use worker::Worker;

/// What the UI does to the firewall and the policy file, run on the worker's effects thread:
/// `operations` does it through the same engine as the CLI's commands; tests use fakes.
pub trait Operations: Send {
    /// A confirm, a rollback, a grant or a revoke; what to tell the operator.
    fn live(&self, request: LiveRequest) -> Result<String, String>;
    /// The review of an edited policy: changes, diff, lockouts.
    fn review(&self, request: &ReviewRequest) -> Result<Review, String>;
    /// Saves the policy file (refusing if it is no longer `stamp`); the backup's path.
    fn save(
        &self,
        text: &str,
        stamp: Option<&Stamp>,
    ) -> Result<(Loaded, Option<String>), SaveFailed>;
    fn reload(&self) -> Result<Loaded, String>;
    /// Saves and applies a review with the confirm window, as `apply` does.
    fn apply(&self, job: &ApplyJob) -> Result<ApplyDone, ApplyFailed>;
}

pub struct Options {
    pub config: Config,
    pub theme: Theme,
    pub sources: Sources,
    pub operations: Box<dyn Operations>,
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error(transparent)]
    NoTerminal(#[from] NoTerminal),
    #[error("drawing the screen failed: {0}")]
    Draw(#[from] std::io::Error),
}

pub fn run(opts: Options) -> Result<(), TuiError> {
    let Options {
        config,
        theme,
        sources,
        operations,
    } = opts;
    let refresh_every = config.refresh;
    let (tx, rx) = mpsc::channel::<Msg>();
    let worker = Worker::spawn(sources, operations, tx.clone());
    spawn_signals(tx.clone());
    let mut terminal = terminal::enter()?;
    spawn_input(tx);

    let clock = SystemClock::new();
    let mut app = App::new(config, clock.now());
    let result = event_loop(
        &mut terminal,
        &mut app,
        &theme,
        &rx,
        &worker,
        refresh_every,
        &clock,
    );
    drop(terminal);
    terminal::leave();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    theme: &Theme,
    rx: &Receiver<Msg>,
    worker: &Worker,
    refresh_every: Duration,
    clock: &dyn Clock,
) -> Result<(), TuiError> {
    let mut next_refresh = Instant::now() + refresh_every;
    worker.refresh();
    app.refreshing = true;
    terminal.draw(|f| crate::ui::draw(f, app, theme))?;
    loop {
        let now = Instant::now();
        let mut wake = next_refresh.saturating_duration_since(now);
        if let Some(deadline) = app.pending.as_ref().and_then(|p| p.deadline()) {
            // The countdown moves every second even with a slower refresh: wake when the
            // seconds left change.
            wake = wake.min(deadline.until_next_second(&clock.now()));
        }
        let msg = match rx.recv_timeout(wake) {
            // Taken before an effect whose result is already here: read again.
            Ok(Msg::Refreshed(obs)) if worker.overtaken(&obs) => {
                worker.read_again();
                continue;
            }
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => Msg::Clock {
                now: clock.now(),
                refresh_due: Instant::now() >= next_refresh,
            },
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let reaction = update(app, msg);
        for effect in reaction.effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Refresh => {
                    next_refresh = Instant::now() + refresh_every;
                    worker.refresh();
                }
                other => worker.run(other),
            }
        }
        if reaction.redraw {
            terminal.draw(|f| crate::ui::draw(f, app, theme))?;
        }
    }
}

fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::read() {
                Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => Msg::Key(key),
                Ok(Event::Mouse(mouse)) => Msg::Mouse(mouse),
                Ok(Event::Resize(..)) => Msg::Resize,
                Ok(Event::Paste(text)) => Msg::Paste(text),
                Ok(_) => continue,
                Err(_) => Msg::Stop("terminal closed"),
            };
            let closed = matches!(msg, Msg::Stop(_));
            if tx.send(msg).is_err() || closed {
                break;
            }
        }
    });
}

/// SIGTERM and SIGHUP (and SIGINT, which raw mode turns into a key, but `kill -INT` still
/// sends) become a message, so the loop quits through the path that restores the terminal.
fn spawn_signals(tx: Sender<Msg>) {
    let Ok(mut signals) = Signals::new([SIGTERM, SIGHUP, SIGINT]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = match signal {
                SIGTERM => "SIGTERM",
                SIGHUP => "SIGHUP",
                _ => "SIGINT",
            };
            let _ = tx.send(Msg::Stop(name));
        }
    });
}
