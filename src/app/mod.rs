//! The terminal UI's state and its update step: messages in (keys, mouse, refresh results,
//! the clock, signals), effects out (refresh, confirm, roll back, quit). No terminal, no
//! files, no processes: `tui` runs the effects and `ui` draws the state.

pub mod keymap;
pub mod observation;
pub mod rules;
pub mod sockets;

use std::time::Duration;

use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::widgets::TableState;

use keymap::{Action, Scope, action_of, binding_of};
use observation::{Observation, OtherTable, PendingCommit, PolicyLoad, RulesState};
use rules::{RowKind, RuleBook};
use sockets::SocketRow;

use crate::policy::Policy;

/// Fixed facts about this run, shown in the status bar.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub table: String,
    pub policy_path: String,
    /// Not root: nothing that changes the firewall is offered, and nft is not read.
    pub read_only: bool,
    pub refresh: Duration,
    /// Set by `portcullis demo`: the namespace the whole program runs in.
    pub demo: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Browse,
    Help,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Sockets,
    Rules,
}

/// A line for the status bar until the next key: what a key did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

/// Where the last frame put things, for the mouse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub sockets: Rect,
    pub rules: Rect,
    /// The first row of data in each table (below the header).
    pub sockets_rows: Rect,
    pub rules_rows: Rect,
    /// The tab bar of the narrow layout.
    pub tabs: Rect,
}

#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub mode: Mode,
    pub focus: Focus,
    /// Wall clock, ms, as last told by a Clock message (tests set it; nothing reads time).
    pub now_ms: u64,
    pub policy: Option<Policy>,
    pub policy_error: Option<String>,
    /// Counts policy loads, so cached exposures know when the policy changed.
    policy_generation: u64,
    exposures: sockets::ExposureCache,
    pub sockets: Vec<SocketRow>,
    pub sockets_error: Option<String>,
    pub rules_state: RulesState,
    pub book: RuleBook,
    pub other_tables: Vec<OtherTable>,
    pub other_expanded: bool,
    pub pending: Option<PendingCommit>,
    pub last_refresh_ms: Option<u64>,
    pub refreshing: bool,
    /// A confirm or rollback is running.
    pub busy: bool,
    pub socket_table: TableState,
    pub rule_table: TableState,
    pub notice: Option<Notice>,
    pub areas: Areas,
    pub quitting: bool,
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// The wall clock, ms: a refresh tick or a countdown second.
    Clock {
        now_ms: u64,
        refresh_due: bool,
    },
    Refreshed(Box<Observation>),
    /// A confirm or rollback finished: what to tell the operator.
    Done(Result<String, String>),
    /// SIGTERM, SIGHUP or SIGINT arrived.
    Signal(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Refresh,
    Commit(CommitRequest),
    Quit,
}

/// What the operator asked of the pending commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitRequest {
    /// Keep it.
    Confirm,
    /// Roll back this commit (the one on screen, not whatever is pending by then).
    Rollback(String),
}

impl App {
    pub fn new(config: Config, now_ms: u64) -> App {
        App {
            config,
            mode: Mode::Browse,
            focus: Focus::Sockets,
            now_ms,
            policy: None,
            policy_error: None,
            policy_generation: 0,
            exposures: sockets::ExposureCache::default(),
            sockets: Vec::new(),
            sockets_error: None,
            rules_state: RulesState::NoTable,
            book: RuleBook::default(),
            other_tables: Vec::new(),
            other_expanded: false,
            pending: None,
            last_refresh_ms: None,
            refreshing: false,
            busy: false,
            socket_table: TableState::default(),
            rule_table: TableState::default(),
            notice: None,
            areas: Areas::default(),
            quitting: false,
        }
    }

    /// The sockets the selected rule row decides (highlighted while the rules pane has the
    /// focus), by index.
    pub fn highlighted_sockets(&self) -> Vec<usize> {
        if self.focus != Focus::Rules {
            return Vec::new();
        }
        let Some(row) = self
            .rule_table
            .selected()
            .and_then(|i| self.book.all().nth(i))
        else {
            return Vec::new();
        };
        self.sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| decides(row, s))
            .map(|(i, _)| i)
            .collect()
    }

    /// The rule rows that decide the selected socket (highlighted while the sockets pane has
    /// the focus), by index.
    pub fn highlighted_rules(&self) -> Vec<usize> {
        if self.focus != Focus::Sockets {
            return Vec::new();
        }
        let Some(socket) = self
            .socket_table
            .selected()
            .and_then(|i| self.sockets.get(i))
        else {
            return Vec::new();
        };
        self.book
            .all()
            .enumerate()
            .filter(|(_, r)| decides(r, socket))
            .map(|(i, _)| i)
            .collect()
    }

    /// Seconds until the pending commit rolls back (0 when due).
    pub fn seconds_left(&self) -> Option<u64> {
        self.pending
            .as_ref()
            .map(|p| p.deadline_ms.saturating_sub(self.now_ms).div_ceil(1000))
    }

    fn scope(&self) -> Scope {
        match self.mode {
            Mode::Browse => Scope::Browse,
            Mode::Help => Scope::Help,
        }
    }

    fn ingest(&mut self, obs: Observation) {
        self.refreshing = false;
        self.last_refresh_ms = Some(obs.at_ms);
        self.now_ms = self.now_ms.max(obs.at_ms);
        if let Some(load) = obs.policy {
            self.policy_generation += 1;
            match load {
                PolicyLoad::Loaded(p) => {
                    self.policy = Some(*p);
                    self.policy_error = None;
                }
                PolicyLoad::Invalid(e) => {
                    self.policy = None;
                    self.policy_error = Some(e);
                }
            }
        }
        let live = match &obs.rules {
            RulesState::Table {
                objects, structure, ..
            } => Some(sockets::LiveTable {
                objects,
                structure: *structure,
            }),
            _ => None,
        };
        match obs.sockets {
            Ok(listeners) => {
                self.sockets = self.exposures.rows(
                    listeners,
                    self.policy.as_ref(),
                    self.policy_generation,
                    live,
                );
                self.sockets_error = None;
            }
            Err(e) => self.sockets_error = Some(e),
        }
        match &obs.rules {
            RulesState::Table {
                rules, structure, ..
            } => self.book.ingest(rules, *structure, obs.at_ms),
            _ => self.book.clear(),
        }
        self.rules_state = obs.rules;
        self.other_tables = obs.other_tables;
        self.pending = obs.pending;
        clamp(&mut self.socket_table, self.sockets.len());
        clamp(&mut self.rule_table, self.book.len());
    }

    fn table_of(&mut self, focus: Focus) -> (&mut TableState, usize) {
        match focus {
            Focus::Sockets => (&mut self.socket_table, self.sockets.len()),
            Focus::Rules => (&mut self.rule_table, self.book.len()),
        }
    }

    fn page(&self) -> usize {
        let area = match self.focus {
            Focus::Sockets => self.areas.sockets_rows,
            Focus::Rules => self.areas.rules_rows,
        };
        usize::from(area.height).max(1)
    }

    fn move_selection(&mut self, focus: Focus, delta: isize) {
        let (state, len) = self.table_of(focus);
        if len == 0 {
            return;
        }
        let current = state.selected().unwrap_or(0) as isize;
        let next = (current + delta).clamp(0, len as isize - 1) as usize;
        state.select(Some(next));
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if let Some(b) = binding_of(action)
            && b.changes_firewall
        {
            if self.config.read_only {
                self.notice = Some(Notice {
                    text: format!(
                        "{} is disabled: changing the firewall needs root (CAP_NET_ADMIN); \
                         run with sudo",
                        b.keys
                    ),
                    error: true,
                });
                return Vec::new();
            }
            if self.pending.is_none() {
                self.notice = Some(Notice {
                    text: format!("{}: no commit is pending", b.keys),
                    error: true,
                });
                return Vec::new();
            }
            if self.busy {
                return Vec::new();
            }
        }
        match action {
            Action::Quit => {
                self.quitting = true;
                return vec![Effect::Quit];
            }
            Action::Help => self.mode = Mode::Help,
            Action::CloseOverlay => self.mode = Mode::Browse,
            Action::FocusNext | Action::FocusPrevious => {
                self.focus = match self.focus {
                    Focus::Sockets => Focus::Rules,
                    Focus::Rules => Focus::Sockets,
                };
                let (state, len) = self.table_of(self.focus);
                if state.selected().is_none() && len > 0 {
                    state.select(Some(0));
                }
            }
            Action::Up => self.move_selection(self.focus, -1),
            Action::Down => self.move_selection(self.focus, 1),
            Action::PageUp => self.move_selection(self.focus, -(self.page() as isize)),
            Action::PageDown => self.move_selection(self.focus, self.page() as isize),
            Action::Top => self.move_selection(self.focus, isize::MIN / 2),
            Action::Bottom => self.move_selection(self.focus, isize::MAX / 2),
            Action::ToggleOtherTables => self.other_expanded = !self.other_expanded,
            Action::RefreshNow => return self.refresh(),
            Action::Confirm => {
                self.busy = true;
                return vec![Effect::Commit(CommitRequest::Confirm)];
            }
            Action::Rollback => {
                let Some(p) = &self.pending else {
                    return Vec::new();
                };
                let id = p.id.clone();
                self.busy = true;
                return vec![Effect::Commit(CommitRequest::Rollback(id))];
            }
        }
        Vec::new()
    }

    fn refresh(&mut self) -> Vec<Effect> {
        // One refresh in flight at a time: a slow nft never piles up.
        if self.refreshing {
            return Vec::new();
        }
        self.refreshing = true;
        vec![Effect::Refresh]
    }

    fn mouse(&mut self, event: MouseEvent) -> bool {
        let at = Position::new(event.column, event.row);
        let pane = if self.areas.sockets.contains(at) {
            Focus::Sockets
        } else if self.areas.rules.contains(at) {
            Focus::Rules
        } else if self.areas.tabs.contains(at) {
            if matches!(event.kind, MouseEventKind::Down(MouseButton::Left)) {
                // The tab bar reads "Sockets │ Rules": the left half is the sockets tab.
                let half = self.areas.tabs.x + self.areas.tabs.width / 2;
                self.focus = if event.column < half {
                    Focus::Sockets
                } else {
                    Focus::Rules
                };
                return true;
            }
            return false;
        } else {
            return false;
        };
        match event.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                let (rows, state) = match pane {
                    Focus::Sockets => (self.areas.sockets_rows, &self.socket_table),
                    Focus::Rules => (self.areas.rules_rows, &self.rule_table),
                };
                if rows.contains(at) {
                    let index = state.offset() + usize::from(at.y - rows.y);
                    let (state, len) = self.table_of(pane);
                    if index < len {
                        state.select(Some(index));
                    }
                }
                true
            }
            MouseEventKind::ScrollDown => {
                self.move_selection(pane, 3);
                true
            }
            MouseEventKind::ScrollUp => {
                self.move_selection(pane, -3);
                true
            }
            _ => false,
        }
    }
}

/// Whether a rule row decides new connections to a socket: the input rules of a service
/// that covers it, or the chain policy's counter for a socket no service covers. (Links
/// come from the policy file's services; without a valid policy nothing is linked.)
fn decides(row: &rules::RuleRow, socket: &SocketRow) -> bool {
    match &row.key.kind {
        RowKind::Service(name) => row.key.chain == "input" && socket.services.contains(name),
        RowKind::InputPolicy(_) => socket.uncovered(),
        RowKind::Other(_) => false,
    }
}

fn clamp(state: &mut TableState, len: usize) {
    match state.selected() {
        _ if len == 0 => state.select(None),
        None => state.select(Some(0)),
        Some(i) if i >= len => state.select(Some(len - 1)),
        Some(_) => {}
    }
}

/// What update decided: whether the screen must be drawn again, and what to run.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub redraw: bool,
    pub effects: Vec<Effect>,
}

/// The update step. Never blocks, never does IO.
pub fn update(app: &mut App, msg: Msg) -> Outcome {
    match msg {
        Msg::Key(key) => {
            app.notice = None;
            let effects = match action_of(&key, app.scope()) {
                Some(action) => app.act(action),
                None => Vec::new(),
            };
            Outcome {
                redraw: true,
                effects,
            }
        }
        Msg::Mouse(event) => Outcome {
            redraw: app.mouse(event),
            effects: Vec::new(),
        },
        Msg::Resize => Outcome {
            redraw: true,
            effects: Vec::new(),
        },
        Msg::Clock {
            now_ms,
            refresh_due,
        } => {
            app.now_ms = now_ms;
            let effects = if refresh_due {
                app.refresh()
            } else {
                Vec::new()
            };
            Outcome {
                // Without a refresh, only the countdown and the refresh age change. With
                // one, its result redraws a moment later: drawing now as well would double
                // the drawing on every tick.
                redraw: effects.is_empty(),
                effects,
            }
        }
        Msg::Refreshed(obs) => {
            app.ingest(*obs);
            Outcome {
                redraw: true,
                effects: Vec::new(),
            }
        }
        Msg::Done(result) => {
            app.busy = false;
            app.notice = Some(match result {
                Ok(text) => Notice { text, error: false },
                Err(text) => Notice { text, error: true },
            });
            Outcome {
                redraw: true,
                effects: app.refresh(),
            }
        }
        Msg::Signal(name) => {
            app.quitting = true;
            app.notice = Some(Notice {
                text: format!("{name}: quitting"),
                error: false,
            });
            Outcome {
                redraw: false,
                effects: vec![Effect::Quit],
            }
        }
    }
}
