//! The one keymap: it decides what a key does, and the footer and the `?` help are printed
//! from it, so they cannot drift from what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    CloseOverlay,
    FocusNext,
    FocusPrevious,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    ToggleOtherTables,
    RefreshNow,
    /// Keep the pending commit (as `portcullis confirm`).
    Confirm,
    /// Roll the pending commit back now (as `portcullis rollback`).
    Rollback,
}

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Browse,
    Help,
}

pub struct Binding {
    /// The keys as the footer and help print them.
    pub keys: &'static str,
    pub action: Action,
    /// Short label for the footer; None keeps it to the help screen.
    pub footer: Option<&'static str>,
    pub help: &'static str,
    pub scope: Scope,
    /// Changes the firewall: disabled (with the reason) in read-only mode.
    pub changes_firewall: bool,
}

const fn bind(
    keys: &'static str,
    action: Action,
    footer: Option<&'static str>,
    help: &'static str,
    scope: Scope,
    changes_firewall: bool,
) -> Binding {
    Binding {
        keys,
        action,
        footer,
        help,
        scope,
        changes_firewall,
    }
}

pub const BINDINGS: &[Binding] = &[
    bind(
        "q ^C",
        Action::Quit,
        Some("quit"),
        "Quit (the firewall stays)",
        Scope::Browse,
        false,
    ),
    bind(
        "?",
        Action::Help,
        Some("help"),
        "Show this help",
        Scope::Browse,
        false,
    ),
    bind(
        "Tab",
        Action::FocusNext,
        Some("pane"),
        "Next pane (sockets, rules)",
        Scope::Browse,
        false,
    ),
    bind(
        "S-Tab",
        Action::FocusPrevious,
        None,
        "Previous pane",
        Scope::Browse,
        false,
    ),
    bind(
        "↑ k",
        Action::Up,
        Some("select"),
        "Previous row",
        Scope::Browse,
        false,
    ),
    bind("↓ j", Action::Down, None, "Next row", Scope::Browse, false),
    bind(
        "PgUp",
        Action::PageUp,
        None,
        "Page up",
        Scope::Browse,
        false,
    ),
    bind(
        "PgDn",
        Action::PageDown,
        None,
        "Page down",
        Scope::Browse,
        false,
    ),
    bind(
        "Home g",
        Action::Top,
        None,
        "First row",
        Scope::Browse,
        false,
    ),
    bind(
        "End G",
        Action::Bottom,
        None,
        "Last row",
        Scope::Browse,
        false,
    ),
    bind(
        "o",
        Action::ToggleOtherTables,
        Some("other tables"),
        "Other tables: expand, collapse",
        Scope::Browse,
        false,
    ),
    bind(
        "r",
        Action::RefreshNow,
        None,
        "Refresh now",
        Scope::Browse,
        false,
    ),
    bind(
        "c",
        Action::Confirm,
        Some("keep commit"),
        "Keep the pending commit",
        Scope::Browse,
        true,
    ),
    bind(
        "b",
        Action::Rollback,
        Some("roll back"),
        "Roll the pending commit back",
        Scope::Browse,
        true,
    ),
    bind(
        "Esc ? q",
        Action::CloseOverlay,
        Some("close"),
        "Close this help",
        Scope::Help,
        false,
    ),
];

/// The action a key stands for in `scope`, if any. Ctrl-C always quits: in raw mode it is
/// a key like any other, and an operator expects it to leave.
pub fn action_of(key: &KeyEvent, scope: Scope) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    let action = match (scope, key.code) {
        (Scope::Help, KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')) => {
            Action::CloseOverlay
        }
        (Scope::Help, _) => return None,
        (Scope::Browse, KeyCode::Char('q')) => Action::Quit,
        (Scope::Browse, KeyCode::Char('?')) => Action::Help,
        (Scope::Browse, KeyCode::Tab) => Action::FocusNext,
        (Scope::Browse, KeyCode::BackTab) => Action::FocusPrevious,
        (Scope::Browse, KeyCode::Up | KeyCode::Char('k')) => Action::Up,
        (Scope::Browse, KeyCode::Down | KeyCode::Char('j')) => Action::Down,
        (Scope::Browse, KeyCode::PageUp) => Action::PageUp,
        (Scope::Browse, KeyCode::PageDown) => Action::PageDown,
        (Scope::Browse, KeyCode::Home | KeyCode::Char('g')) => Action::Top,
        (Scope::Browse, KeyCode::End | KeyCode::Char('G')) => Action::Bottom,
        (Scope::Browse, KeyCode::Char('o')) => Action::ToggleOtherTables,
        (Scope::Browse, KeyCode::Char('r')) => Action::RefreshNow,
        (Scope::Browse, KeyCode::Char('c')) => Action::Confirm,
        (Scope::Browse, KeyCode::Char('b')) => Action::Rollback,
        _ => return None,
    };
    Some(action)
}

/// The binding of an action (for its help text and whether it changes the firewall).
pub fn binding_of(action: Action) -> Option<&'static Binding> {
    BINDINGS.iter().find(|b| b.action == action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_binding_is_reachable_by_its_first_key() {
        for b in BINDINGS {
            let first = b.keys.split(' ').next().expect("a key");
            let code = match first {
                "Tab" => KeyCode::Tab,
                "S-Tab" => KeyCode::BackTab,
                "↑" => KeyCode::Up,
                "↓" => KeyCode::Down,
                "PgUp" => KeyCode::PageUp,
                "PgDn" => KeyCode::PageDown,
                "Home" => KeyCode::Home,
                "End" => KeyCode::End,
                "Esc" => KeyCode::Esc,
                k => KeyCode::Char(k.chars().next().expect("char")),
            };
            let key = KeyEvent::new(code, KeyModifiers::NONE);
            assert_eq!(action_of(&key, b.scope), Some(b.action), "{}", b.keys);
        }
    }

    #[test]
    fn ctrl_c_quits_everywhere() {
        let key = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_of(&key, Scope::Browse), Some(Action::Quit));
        assert_eq!(action_of(&key, Scope::Help), Some(Action::Quit));
    }
}
