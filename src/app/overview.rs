//! The overview's behaviour: selection and scrolling in the sockets and rules panes (and
//! the lists and the diff, which move the same way), the links between the panes, the
//! mouse, and a new service from an uncovered socket.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Position;
use ratatui::widgets::TableState;

use super::form::Form;
use super::keymap::Action;
use super::rules::{self, RowKind};
use super::sockets::SocketRow;
use super::{App, Focus, Modal, Notice, Screen};
use crate::policy::document::ServiceDraft;
use crate::sockets::ServiceNames;
use crate::sockets::suggest::{DEFAULT_EPHEMERAL, suggest};

impl App {
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

    pub(super) fn overview_action(&mut self, action: Action) {
        match action {
            Action::FocusNext | Action::FocusPrevious => {
                let order = [Focus::Sockets, Focus::Rules, Focus::Drops];
                let at = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if action == Action::FocusNext { 1 } else { 2 };
                self.focus = order[(at + step) % order.len()];
                let (state, len) = self.table_of(self.focus);
                if state.selected().is_none() && len > 0 {
                    state.select(Some(0));
                }
            }
            Action::ToggleOtherTables => self.other_expanded = !self.other_expanded,
            Action::ServiceFromSocket if self.focus == Focus::Drops => self.let_in(),
            Action::ServiceFromSocket => self.service_from_socket(),
            _ => {}
        }
    }

    /// A service form filled in from the selected socket: its name from /etc/services or
    /// the process, its port and protocol; who may reach it is left to the operator.
    fn service_from_socket(&mut self) {
        let Some(row) = self
            .socket_table
            .selected()
            .and_then(|i| self.sockets.get(i))
        else {
            self.notice = Notice::error("select a socket first");
            return;
        };
        let l = &row.listener;
        if !row.uncovered() {
            self.notice = Notice::error(match row.services.first() {
                Some(s) => format!(
                    "{}/{} is covered by service {s} already; edit it on the Services screen (2)",
                    l.port, l.protocol
                ),
                None => format!(
                    "{}/{} is not left to the default policy; no service is needed",
                    l.port, l.protocol
                ),
            });
            return;
        }
        let Some(doc) = self.editor.as_ref().and_then(|e| e.doc()) else {
            self.notice = Notice::error("the policy file cannot be edited (see the status bar)");
            return;
        };
        // The edited policy, so the name does not clash with a service not saved yet.
        let empty = crate::policy::Policy::default();
        let base = self
            .editor
            .as_ref()
            .and_then(|e| e.policy())
            .or(self.policy.as_ref())
            .unwrap_or(&empty);
        let name = suggest(
            base,
            std::slice::from_ref(l),
            &ServiceNames::default(),
            &DEFAULT_EPHEMERAL,
        )
        .into_iter()
        .next()
        .map(|s| s.name)
        .unwrap_or_else(|| format!("port-{}", l.port));
        let draft = ServiceDraft {
            description: l
                .process
                .as_ref()
                .map(|p| format!("{} on {}", p.name, l.address)),
            ports: vec![format!("{}/{}", l.port, l.protocol)],
            direction: crate::sockets::suggest::talks_both_ways(l.port, l.protocol)
                .then(|| "both".to_string()),
            ..ServiceDraft::default()
        };
        let mut form = Form::service(None, &name, &draft);
        // Straight to who may reach it: the one thing only the operator can say.
        form.focus = form
            .fields
            .iter()
            .position(|f| f.key == "allow")
            .unwrap_or(0);
        form.validate(doc);
        self.modal = Modal::Form(Box::new(form));
    }

    fn table_of(&mut self, focus: Focus) -> (&mut TableState, usize) {
        match focus {
            Focus::Sockets => (&mut self.socket_table, self.sockets.len()),
            Focus::Rules => (&mut self.rule_table, self.book.len()),
            Focus::Drops => (&mut self.drop_table, self.drops.rows.len()),
        }
    }

    fn page(&self) -> usize {
        let area = match (self.screen, self.focus) {
            (Screen::Overview, Focus::Sockets) => self.areas.sockets_rows,
            (Screen::Overview, Focus::Rules) => self.areas.rules_rows,
            (Screen::Overview, Focus::Drops) => self.areas.drops_rows,
            _ => self.areas.list_rows,
        };
        usize::from(area.height).max(1)
    }

    /// Moves the selection (or scrolls the diff) as a movement key asks.
    pub(super) fn move_by(&mut self, action: Action) {
        let page = self.page() as isize;
        let delta = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -page,
            Action::PageDown => page,
            Action::Top => isize::MIN / 2,
            _ => isize::MAX / 2,
        };
        match self.screen {
            Screen::Overview => self.move_selection(self.focus, delta),
            Screen::Services | Screen::Networks | Screen::Blocks => {
                let len = self.list_len(self.screen);
                let state = self.list_state(self.screen);
                step(state, len, delta);
            }
            Screen::Diff => {
                let len = self.diff_lines();
                let next = (self.diff_scroll as isize + delta).clamp(0, len.max(1) as isize - 1);
                self.diff_scroll = next as usize;
            }
        }
    }

    fn move_selection(&mut self, focus: Focus, delta: isize) {
        let (state, len) = self.table_of(focus);
        step(state, len, delta);
    }

    /// The screen a left click on the tabs on top asks for.
    pub(super) fn screen_tab_at(&self, event: &MouseEvent) -> Option<Action> {
        if !matches!(event.kind, MouseEventKind::Down(MouseButton::Left))
            || !matches!(self.modal, Modal::None)
        {
            return None;
        }
        let at = Position::new(event.column, event.row);
        let i = self.areas.screen_tabs.iter().position(|r| r.contains(at))?;
        Some(
            [
                Action::ShowOverview,
                Action::ShowServices,
                Action::ShowNetworks,
                Action::ShowDiff,
                Action::ShowBlocks,
            ][i],
        )
    }

    pub(super) fn mouse(&mut self, event: MouseEvent) -> bool {
        if !matches!(self.modal, Modal::None) {
            return false;
        }
        if self.screen != Screen::Overview {
            // The lists and the diff: the wheel scrolls them.
            return match event.kind {
                MouseEventKind::ScrollDown => {
                    for _ in 0..3 {
                        self.move_by(Action::Down);
                    }
                    true
                }
                MouseEventKind::ScrollUp => {
                    for _ in 0..3 {
                        self.move_by(Action::Up);
                    }
                    true
                }
                _ => false,
            };
        }
        let at = Position::new(event.column, event.row);
        let pane = if self.areas.sockets.contains(at) {
            Focus::Sockets
        } else if self.areas.rules.contains(at) {
            Focus::Rules
        } else if self.areas.drops.contains(at) {
            Focus::Drops
        } else if self.areas.tabs.contains(at) {
            if matches!(event.kind, MouseEventKind::Down(MouseButton::Left)) {
                // The tab bar reads "Sockets │ Rules │ Drops", in thirds.
                let third = (self.areas.tabs.width / 3).max(1);
                self.focus = match (event.column - self.areas.tabs.x) / third {
                    0 => Focus::Sockets,
                    1 => Focus::Rules,
                    _ => Focus::Drops,
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
                    Focus::Drops => (self.areas.drops_rows, &self.drop_table),
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

fn step(state: &mut TableState, len: usize, delta: isize) {
    if len == 0 {
        return;
    }
    let current = state.selected().unwrap_or(0) as isize;
    let next = (current + delta).clamp(0, len as isize - 1) as usize;
    state.select(Some(next));
}

/// Whether a rule row decides new connections to a socket: the input rules of a service
/// that covers it, or the chain policy's counter for a socket no service covers. (Links
/// come from the policy file's services; without a valid policy nothing is linked.)
fn decides(row: &rules::RuleRow, socket: &SocketRow) -> bool {
    match &row.key.kind {
        RowKind::Service(name) => row.key.chain == "input" && socket.services.contains(name),
        RowKind::InputPolicy(_) => socket.uncovered(),
        RowKind::Limit(name) => row.key.chain == "input" && socket.services.contains(name),
        RowKind::Block(_) | RowKind::Other(_) => false,
    }
}

pub(super) fn clamp(state: &mut TableState, len: usize) {
    match state.selected() {
        _ if len == 0 => state.select(None),
        None => state.select(Some(0)),
        Some(i) if i >= len => state.select(Some(len - 1)),
        Some(_) => {}
    }
}
