//! The terminal UI's state and its update step: messages in (keys, mouse, paste, refresh
//! results, what the worker did, the clock, signals), effects out (refresh, review, save,
//! apply, confirm, roll back, quit). No terminal, no files, no processes: `tui` runs the
//! effects and `ui` draws the state.
//!
//! `update` turns messages into actions; `overview` owns the sockets and rules panes,
//! `edit` the services and networks screens and their forms, `flow` the diff, the commit
//! and the countdown; `editor` and `form` are the pure models behind the forms.

mod drops;
mod edit;
pub mod editor;
mod field;
pub mod filter;
mod flow;
pub mod form;
pub mod grant;
pub mod keymap;
pub mod keys_file;
pub mod observation;
mod overview;
pub mod review;
pub mod rules;
pub mod sockets;
mod update;

pub use drops::{DropRow, DropsPane, LetIn};
pub use update::{Reaction, update};

use std::time::Duration;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use ratatui::widgets::TableState;

use crate::commit::clock::Now;

use editor::{Editor, Section};
use form::Form;
use keymap::Scope;
use observation::{Observation, OtherTable, Pending, PolicyLoad, Record, RulesState};
use review::{ApplyDone, ApplyFailed, ApplyJob, ReviewState, Watch};
use rules::RuleBook;
use sockets::SocketRow;

use crate::policy::Policy;
use crate::policy::file::{Loaded, Stamp};

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

/// The screen under any overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Services,
    Networks,
    Diff,
    Blocks,
}

impl Screen {
    fn scope(self) -> Scope {
        match self {
            Screen::Overview => Scope::Overview,
            Screen::Services => Scope::Services,
            Screen::Networks => Scope::Networks,
            Screen::Blocks => Scope::Blocks,
            Screen::Diff => Scope::Diff,
        }
    }
}

/// What is on top of the screen.
#[derive(Debug, Clone, Default)]
pub enum Modal {
    #[default]
    None,
    /// The help of the screen it was opened on.
    Help(Scope),
    Form(Box<Form>),
    Ask(Question),
    /// The policy file changed on disk under unsaved edits.
    Conflict,
    /// The countdown of the pending commit.
    Countdown,
    /// The diff locks an operator out: commit only after typing `yes`.
    Lockout(String),
    /// The ways in for a drop.
    LetIn(LetIn),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Delete(Section, String),
    Discard,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Sockets,
    Rules,
    Drops,
}

/// A line for the status bar until the next key: what a key did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

impl Notice {
    fn info(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            text: text.into(),
            error: false,
        })
    }

    fn error(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            text: text.into(),
            error: true,
        })
    }
}

/// Where the last frame put things, for the mouse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub sockets: Rect,
    pub rules: Rect,
    /// The first row of data in each table (below the header).
    pub sockets_rows: Rect,
    pub rules_rows: Rect,
    pub drops: Rect,
    pub drops_rows: Rect,
    /// The tab bar of the narrow layout.
    pub tabs: Rect,
    /// The screen tabs on top (1 Overview … 4 Diff), in order.
    pub screen_tabs: [Rect; 5],
    /// The rows of the services or networks list, and of the diff.
    pub list_rows: Rect,
}

#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub screen: Screen,
    pub modal: Modal,
    pub focus: Focus,
    /// Both clocks, as last told by a Clock message or a refresh (tests set them; nothing
    /// here reads time). The countdown counts on the boot clock, as the guard does; the
    /// wall clock is for the times shown.
    pub now: Now,
    /// The policy file as last loaded (what the overview's exposures are computed from).
    pub policy: Option<Policy>,
    pub policy_error: Option<String>,
    /// Counts policy loads, so cached exposures know when the policy changed.
    policy_generation: u64,
    exposures: sockets::ExposureCache,
    /// The policy being edited; made from `policy_text` when the operator first goes to
    /// edit, since a document that keeps every comment of a 100,000-address file costs
    /// tens of megabytes that a glance at the overview should not pay.
    pub editor: Option<Editor>,
    /// The policy file's text as last read, until the editor takes it over.
    policy_text: Option<Loaded>,
    /// The sockets shown: all of them, or those the `/` filter lets through.
    pub sockets: Vec<std::sync::Arc<SocketRow>>,
    /// Every socket of the last refresh.
    pub all_sockets: Vec<std::sync::Arc<SocketRow>>,
    pub sockets_error: Option<String>,
    /// Each list's `/` filter, and the list whose filter is being typed.
    pub filters: filter::Filters,
    pub filtering: Option<filter::ListId>,
    /// A question on the footer line (a grant's source and time).
    pub prompt: Option<grant::Prompt>,
    /// The live table's grants, as the last refresh read them.
    pub grants: Vec<crate::nft::grants::Grant>,
    pub rules_state: RulesState,
    pub book: RuleBook,
    pub other_tables: Vec<OtherTable>,
    pub other_expanded: bool,
    /// The drop log.
    pub drops: DropsPane,
    pub drop_table: TableState,
    pub pending: Option<Pending>,
    /// The pending commit's id and when (wall clock) this UI first saw it: drops from the
    /// operators' peers since then are shown in the countdown.
    pub pending_since: Option<(String, u64)>,
    pub last_commit: Option<Record>,
    /// What the countdown watches.
    pub watch: Option<Watch>,
    /// The pending commit whose countdown the operator hid.
    hidden_countdown: Option<String>,
    pub review: ReviewState,
    /// Lines scrolled off the top of the diff.
    pub diff_scroll: usize,
    /// Lines scrolled off the top of the help (clamped when drawn).
    pub help_scroll: usize,
    pub last_refresh_ms: Option<u64>,
    pub refreshing: bool,
    /// A confirm, rollback, save or commit is running.
    pub busy: bool,
    pub socket_table: TableState,
    pub rule_table: TableState,
    pub service_table: TableState,
    pub network_table: TableState,
    pub block_table: TableState,
    pub notice: Option<Notice>,
    pub areas: Areas,
    pub quitting: bool,
    /// A refresh has read the journal (the first one may bring news of a rollback while
    /// away).
    journal_read: bool,
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    Resize,
    /// The clocks: a refresh tick or a countdown second.
    Clock {
        now: Now,
        refresh_due: bool,
    },
    Refreshed(Box<Observation>),
    /// A request to the live table (confirm, rollback, grant, revoke) finished: what to
    /// tell the operator.
    LiveDone(Result<String, String>),
    Reviewed(Result<Box<review::Review>, String>),
    /// A save finished: the file as saved and its backup, or why not.
    Saved(Result<(Loaded, Option<String>), SaveFailed>),
    /// The file as read again from disk (the operator chose to reload).
    Reloaded(Result<Loaded, String>),
    Applied(Result<Box<ApplyDone>, Box<ApplyFailed>>),
    /// The UI must end: SIGTERM, SIGHUP or SIGINT arrived, or the terminal closed.
    Stop(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveFailed {
    /// The file changed on disk since it was loaded.
    ChangedOnDisk,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Refresh,
    /// Act on the live table at once: keep or roll back the pending commit, grant or
    /// revoke temporary access. (A commit of edits is `Apply`.)
    Live(LiveRequest),
    /// Make the diff of the edited policy.
    Review(review::ReviewRequest),
    /// Save the text; refuse if the file is no longer `stamp` (None: save over it).
    Save {
        text: String,
        stamp: Option<Stamp>,
    },
    Reload,
    Apply(Box<ApplyJob>),
    Quit,
}

/// What the operator asked of the live table directly, outside a commit of edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveRequest {
    /// Keep it.
    Confirm,
    /// Roll back this commit (the one on screen, not whatever is pending by then).
    Rollback(String),
    /// Let `source` reach `service` for `duration` (as `portcullis grant`).
    Grant {
        service: String,
        source: ipnet::IpNet,
        duration: std::time::Duration,
    },
    /// Take `source`'s grant to `service` back.
    Revoke {
        service: String,
        source: ipnet::IpNet,
    },
}

impl App {
    pub fn new(config: Config, now: Now) -> App {
        App {
            config,
            screen: Screen::Overview,
            modal: Modal::None,
            focus: Focus::Sockets,
            now,
            policy: None,
            policy_error: None,
            policy_generation: 0,
            exposures: sockets::ExposureCache::default(),
            editor: None,
            policy_text: None,
            sockets: Vec::new(),
            all_sockets: Vec::new(),
            sockets_error: None,
            filters: Default::default(),
            filtering: None,
            prompt: None,
            grants: Vec::new(),
            rules_state: RulesState::NoTable,
            book: RuleBook::default(),
            other_tables: Vec::new(),
            other_expanded: false,
            drops: DropsPane::default(),
            drop_table: TableState::default(),
            pending: None,
            pending_since: None,
            last_commit: None,
            watch: None,
            hidden_countdown: None,
            review: ReviewState::None,
            diff_scroll: 0,
            help_scroll: 0,
            last_refresh_ms: None,
            refreshing: false,
            busy: false,
            socket_table: TableState::default(),
            rule_table: TableState::default(),
            service_table: TableState::default(),
            network_table: TableState::default(),
            block_table: TableState::default(),
            notice: None,
            areas: Areas::default(),
            quitting: false,
            journal_read: false,
        }
    }

    /// Where the pending commit's countdown is, in words (`rolls back in 23s`), for the
    /// status bar and the countdown alike; and whether it can still be kept.
    pub fn countdown(&self) -> Option<(String, bool)> {
        let p = self.pending.as_ref()?;
        Some(match p.deadline() {
            // The window starts when the new table is live.
            None => ("still applying".into(), false),
            Some(d) if d.passed(&self.now) => ("rolling back".into(), false),
            Some(d) => (
                format!("rolls back in {}s", d.seconds_left(&self.now)),
                true,
            ),
        })
    }

    /// Where keys go now.
    pub fn scope(&self) -> Scope {
        match &self.modal {
            Modal::None if self.prompt.is_some() => Scope::Prompt,
            Modal::None if self.filtering.is_some() => Scope::Filter,
            Modal::None => self.screen.scope(),
            Modal::Help(_) => Scope::Help,
            Modal::Form(f) if f.fields[f.focus].multi_line => Scope::FormList,
            Modal::Form(_) => Scope::Form,
            Modal::Ask(_) => Scope::Ask,
            Modal::Conflict => Scope::Conflict,
            Modal::Countdown => Scope::Countdown,
            Modal::Lockout(_) => Scope::Lockout,
            Modal::LetIn(_) => Scope::LetIn,
        }
    }

    /// Makes the editor of the policy file as last read, if there is none yet.
    fn open_editor(&mut self) {
        if self.editor.is_none()
            && let Some(text) = self.policy_text.take()
        {
            self.editor = Some(Editor::new(&self.config.policy_path, text));
        }
    }

    /// Whether there are unsaved edits.
    pub fn dirty(&self) -> bool {
        self.editor.as_ref().is_some_and(Editor::dirty)
    }

    fn ingest(&mut self, obs: Observation) {
        self.refreshing = false;
        self.last_refresh_ms = Some(obs.at.wall_ms);
        if obs.at.boot_id != self.now.boot_id || obs.at.boot_ns > self.now.boot_ns {
            self.now = obs.at.clone();
        }
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
        if let Some(text) = obs.policy_text {
            match &mut self.editor {
                Some(editor) => editor.disk_read(text),
                None => {
                    self.policy_text = Some(text);
                    // Gone to edit before the first reading came: edit now.
                    if self.screen != Screen::Overview {
                        self.open_editor();
                    }
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
                // Shared with the filtered list: a refresh copies no row for the filter.
                self.all_sockets = self
                    .exposures
                    .rows(
                        listeners,
                        self.policy.as_ref(),
                        self.policy_generation,
                        live,
                    )
                    .into_iter()
                    .map(std::sync::Arc::new)
                    .collect();
                self.sockets_error = None;
            }
            Err(e) => self.sockets_error = Some(e),
        }
        if let Some(journal) = &obs.journal {
            // The baseline is the pending commit's only while it is pending.
            self.book.counting = journal.counting.clone().map(|mut c| {
                if journal.pending.as_ref().map(|p| &p.id) != c.baseline_commit.as_ref() {
                    c.baseline_commit = None;
                }
                c
            });
        }
        match &obs.rules {
            RulesState::Table {
                rules, structure, ..
            // Rates are measured on the boot clock: a stepped wall clock must not spike them.
            } => self.book.ingest(rules, *structure, obs.at.boot_ns / 1_000_000),
            _ => self.book.clear(),
        }
        self.rules_state = obs.rules;
        self.other_tables = obs.other_tables;
        self.grants = obs.grants;
        if let Some(journal) = obs.journal {
            self.last_commit = journal.last;
            match (&journal.pending, &self.pending_since) {
                (Some(p), Some((id, _))) if *id == p.id => {}
                (Some(p), _) => self.pending_since = Some((p.id.clone(), obs.at.wall_ms)),
                (None, _) => self.pending_since = None,
            }
            self.pending_changed(journal.pending);
            self.journal_read = true;
        }
        // Every socket, not the filtered ones: "nothing listens" must not depend on `/`.
        // Copied only when there are drops to attribute (the quiet tick copies nothing).
        let listeners: Vec<crate::sockets::Listener> = match &obs.drops {
            observation::DropFeed::Reading { entries, .. } if !entries.is_empty() => self
                .all_sockets
                .iter()
                .map(|s| s.listener.clone())
                .collect(),
            _ => Vec::new(),
        };
        self.drops.ingest(
            obs.drops,
            obs.operator_peers,
            self.policy.as_ref(),
            &listeners,
        );
        self.apply_filters();
    }
}
