//! `/` filters the focused list (the sockets, rules or drops pane, the services or
//! networks screen), as k9s, htop and lazygit do: what is typed narrows the list to the
//! rows whose text holds every word of it (any case); ⏎ keeps the filter, Esc clears it.
//! The default-drop row stays pinned in the rules pane whatever the filter.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Focus, Notice, Screen};

/// The lists a filter can narrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListId {
    Sockets,
    Rules,
    Drops,
    Services,
    Networks,
    Blocks,
}

/// Each list's filter; empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub sockets: String,
    pub rules: String,
    pub drops: String,
    pub services: String,
    pub networks: String,
    pub blocks: String,
}

impl Filters {
    pub fn get(&self, list: ListId) -> &str {
        match list {
            ListId::Sockets => &self.sockets,
            ListId::Rules => &self.rules,
            ListId::Drops => &self.drops,
            ListId::Services => &self.services,
            ListId::Networks => &self.networks,
            ListId::Blocks => &self.blocks,
        }
    }

    fn get_mut(&mut self, list: ListId) -> &mut String {
        match list {
            ListId::Sockets => &mut self.sockets,
            ListId::Rules => &mut self.rules,
            ListId::Drops => &mut self.drops,
            ListId::Services => &mut self.services,
            ListId::Networks => &mut self.networks,
            ListId::Blocks => &mut self.blocks,
        }
    }
}

/// Whether `haystack` holds every word of `filter`, in any case (an empty filter: yes).
pub fn matches(filter: &str, haystack: &str) -> bool {
    matches_lowercase(filter, &haystack.to_lowercase())
}

/// The same for a haystack already in lower case (made once, not per frame).
pub fn matches_lowercase(filter: &str, haystack: &str) -> bool {
    filter
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

impl App {
    /// The list `/` would filter: the focused pane, or the screen's list.
    pub fn focused_list(&self) -> Option<ListId> {
        match self.screen {
            Screen::Overview => Some(match self.focus {
                Focus::Sockets => ListId::Sockets,
                Focus::Rules => ListId::Rules,
                Focus::Drops => ListId::Drops,
            }),
            Screen::Services => Some(ListId::Services),
            Screen::Networks => Some(ListId::Networks),
            Screen::Blocks => Some(ListId::Blocks),
            Screen::Diff => None,
        }
    }

    /// `/`: start typing the focused list's filter (keeping what it had).
    pub(super) fn start_filter(&mut self) {
        match self.focused_list() {
            Some(list) => self.filtering = Some(list),
            None => {
                self.notice = Notice::info("the diff has no filter; ↑↓ and PgUp/PgDn scroll it")
            }
        }
    }

    /// ⏎: the filter stays, shown in the list's title.
    pub(super) fn keep_filter(&mut self) {
        self.filtering = None;
    }

    /// Esc: the list the filter was typed for (else the focused one) is shown whole again.
    pub(super) fn clear_filter(&mut self) {
        if let Some(list) = self.filtering.take().or_else(|| self.focused_list()) {
            self.filters.get_mut(list).clear();
            self.apply_filters();
        }
    }

    /// A key typed while a filter is being typed: text, or Backspace.
    pub(super) fn filter_key(&mut self, key: KeyEvent) -> bool {
        let Some(list) = self.filtering else {
            return false;
        };
        let text = self.filters.get_mut(list);
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
            KeyCode::Backspace => {
                text.pop();
            }
            _ => return true,
        }
        self.apply_filters();
        true
    }

    /// Makes the shown lists from the full ones and the filters, keeping selections in range.
    pub(super) fn apply_filters(&mut self) {
        let f = &self.filters;
        self.sockets = self
            .all_sockets
            .iter()
            .filter(|s| matches(&f.sockets, &super::sockets::haystack(s)))
            .cloned()
            .collect();
        self.drops.filter(&f.drops);
        self.book.filter = f.rules.clone();
        super::overview::clamp(&mut self.socket_table, self.sockets.len());
        super::overview::clamp(&mut self.rule_table, self.book.len());
        super::overview::clamp(&mut self.drop_table, self.drops.rows.len());
        let services = self.list_len(Screen::Services);
        super::overview::clamp(&mut self.service_table, services);
        let networks = self.list_len(Screen::Networks);
        super::overview::clamp(&mut self.network_table, networks);
        let blocks = self.list_len(Screen::Blocks);
        super::overview::clamp(&mut self.block_table, blocks);
    }

    /// `Sockets (2 of 6) /ssh`: a pane's title with its filter, if any.
    pub fn filtered_title(&self, list: ListId, name: &str, shown: usize, all: usize) -> String {
        let filter = self.filters.get(list);
        let typing = self.filtering == Some(list);
        match (filter.is_empty(), typing) {
            (true, false) => format!("{name} ({all})"),
            (_, true) => format!("{name} ({shown} of {all}) /{filter}▏"),
            (false, false) => format!("{name} ({shown} of {all}) /{filter}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_in_any_case() {
        assert!(matches("", "anything"));
        assert!(matches("SSH 22", "22 tcp * sshd/812 ssh"));
        assert!(!matches("ssh 23", "22 tcp * sshd/812 ssh"));
    }
}
