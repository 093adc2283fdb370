//! The one keymap: it decides what a key does, and the footer and the `?` help are printed
//! from it, so they cannot drift from what the keys do. The operator's `keys.toml` is
//! layered over it once at start (`keys_file`, `install`).

use std::fmt;
use std::sync::OnceLock;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Show the pending commit's countdown again.
    ShowPending,
    ShowOverview,
    ShowServices,
    ShowNetworks,
    ShowDiff,
    ShowBlocks,
    /// A service form filled in from the selected socket; on a drop, the ways in.
    ServiceFromSocket,
    /// Enter on the overview: the default-drop row shows its drops; a drop, its ways in.
    Open,
    /// Take the way in selected.
    Choose,
    /// `/`: type a filter for the focused list.
    Filter,
    /// Keep the filter typed.
    FilterDone,
    /// Clear the focused list's filter.
    FilterClear,
    Add,
    Edit,
    Delete,
    Save,
    DiscardEdits,
    /// Save and apply what the diff shows, with the confirm window.
    Commit,
    FormSubmit,
    FormCancel,
    FormNext,
    FormPrevious,
    FormUndo,
    FormRedo,
    Yes,
    No,
    Reload,
    Overwrite,
    /// Temporary access to the selected service (as `portcullis grant`).
    Grant,
    /// Take a grant of the selected service back (as `portcullis revoke`).
    Revoke,
    /// Send the footer line's answer.
    PromptSend,
    /// Drop the footer line's question.
    PromptCancel,
}

/// Where a binding works: a screen, or the overlay on top of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Overview,
    Services,
    Networks,
    Diff,
    Blocks,
    Help,
    Form,
    /// A form whose field in focus is a list of lines: Enter adds a line there.
    FormList,
    /// A yes/no question.
    Ask,
    /// The policy file changed on disk: reload it or save over it.
    Conflict,
    /// The countdown of a pending commit.
    Countdown,
    /// A lockout warning: type `yes` to commit anyway.
    Lockout,
    /// The ways in for a drop.
    LetIn,
    /// Typing a `/` filter.
    Filter,
    /// Answering a question on the footer line (a grant's source and time).
    Prompt,
}

const SCREENS: &[Scope] = &[
    Scope::Overview,
    Scope::Services,
    Scope::Networks,
    Scope::Diff,
    Scope::Blocks,
];
const LISTS: &[Scope] = &[Scope::Services, Scope::Networks, Scope::Blocks];
const FORMS: &[Scope] = &[Scope::Form, Scope::FormList];
const MOVES: &[Scope] = &[
    Scope::Overview,
    Scope::Services,
    Scope::Networks,
    Scope::Diff,
    Scope::Blocks,
];

/// A key as bindings name it: the code, and whether Ctrl is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

const fn code(c: KeyCode) -> Key {
    Key {
        code: c,
        ctrl: false,
    }
}

/// A key as the footer and the help print it: `q`, `^C`, `⏎`, `S-Tab`, `PgUp`.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("^")?;
        }
        match self.code {
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Enter => f.write_str("⏎"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Delete => f.write_str("Del"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub codes: &'static [Key],
    pub action: Action,
    /// Short label for the footer; None keeps it to the help screen.
    pub footer: Option<&'static str>,
    pub help: &'static str,
    pub scopes: &'static [Scope],
    /// Changes the firewall: disabled (with the reason) in read-only mode.
    pub changes_firewall: bool,
}

const fn bind(
    codes: &'static [Key],
    action: Action,
    footer: Option<&'static str>,
    help: &'static str,
    scopes: &'static [Scope],
) -> Binding {
    Binding {
        codes,
        action,
        footer,
        help,
        scopes,
        changes_firewall: false,
    }
}

impl Binding {
    /// Its keys as the footer and the help print them: `q ^C`, `↑ k`.
    pub fn keys(&self) -> String {
        let keys: Vec<String> = self.codes.iter().map(Key::to_string).collect();
        keys.join(" ")
    }

    /// The first of its keys (the one the footer shows).
    pub fn first_key(&self) -> String {
        self.codes.first().map(Key::to_string).unwrap_or_default()
    }
}

/// The same binding, marked as one that changes the firewall.
const fn firewall(b: Binding) -> Binding {
    Binding {
        changes_firewall: true,
        ..b
    }
}

use Action as A;
use Scope as S;

#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(&[k('q'), ctrl('c')], A::Quit, Some("quit"), "Quit (the firewall stays)", SCREENS),
    bind(&[k('?'), code(KeyCode::F(1))], A::Help, Some("help"), "Show this help", SCREENS),
    bind(&[k('1')], A::ShowOverview, None, "Overview: sockets and rules", SCREENS),
    bind(&[k('2')], A::ShowServices, None, "Services: list and edit", SCREENS),
    bind(&[k('3')], A::ShowNetworks, None, "Networks: list and edit", SCREENS),
    bind(&[k('4'), k('d')], A::ShowDiff, None, "Diff: edits vs the live table", SCREENS),
    bind(&[k('5')], A::ShowBlocks, None, "Blocks: sources refused first", SCREENS),
    bind(&[code(KeyCode::Tab)], A::FocusNext, Some("pane"), "Next pane (Tab wraps around)", &[S::Overview]),
    bind(&[code(KeyCode::BackTab)], A::FocusPrevious, None, "Previous pane", &[S::Overview]),
    bind(&[code(KeyCode::Up), k('k')], A::Up, Some("select"), "Previous row, scroll up", MOVES),
    bind(&[code(KeyCode::Down), k('j')], A::Down, None, "Next row", MOVES),
    bind(&[code(KeyCode::PageUp)], A::PageUp, None, "Page up", MOVES),
    bind(&[code(KeyCode::PageDown)], A::PageDown, None, "Page down", MOVES),
    bind(&[code(KeyCode::Home), k('g')], A::Top, None, "First row", MOVES),
    bind(&[code(KeyCode::End), k('G')], A::Bottom, None, "Last row", MOVES),
    bind(&[k('/')], A::Filter, Some("filter"), "Filter this list (by name, port, address, process)", &[S::Overview, S::Services, S::Networks, S::Blocks]),
    bind(&[code(KeyCode::Esc)], A::FilterClear, None, "Clear this list's filter", &[S::Overview, S::Services, S::Networks, S::Blocks]),
    bind(&[code(KeyCode::Enter)], A::FilterDone, Some("keep the filter"), "Keep the filter", &[S::Filter]),
    bind(&[code(KeyCode::Esc)], A::FilterClear, Some("clear it"), "Clear the filter", &[S::Filter]),
    bind(&[k('o')], A::ToggleOtherTables, Some("other tables"), "Other tables: expand, collapse", &[S::Overview]),
    bind(&[k('a')], A::ServiceFromSocket, Some("add service / let in"), "New service; on a drop: let in", &[S::Overview]),
    bind(&[code(KeyCode::Enter)], A::Open, None, "Open: default drop → its drops", &[S::Overview]),
    bind(&[code(KeyCode::Up), k('k')], A::Up, Some("select"), "Previous way", &[S::LetIn]),
    bind(&[code(KeyCode::Down), k('j')], A::Down, None, "Next way", &[S::LetIn]),
    bind(&[code(KeyCode::Enter)], A::Choose, Some("open the form"), "Open the form for this way in", &[S::LetIn]),
    bind(&[code(KeyCode::Esc)], A::CloseOverlay, Some("nothing"), "Let nothing in", &[S::LetIn]),
    bind(&[k('a')], A::Add, Some("add"), "Add a service or network", LISTS),
    bind(&[k('e'), code(KeyCode::Enter)], A::Edit, Some("edit"), "Edit the selected one", LISTS),
    bind(&[k('x'), code(KeyCode::Delete)], A::Delete, Some("delete"), "Delete the selected one", LISTS),
    firewall(bind(&[k('t')], A::Grant, Some("grant"), "Grant a source temporary access to this service", &[S::Services])),
    firewall(bind(&[k('T')], A::Revoke, None, "Revoke a grant of this service", &[S::Services])),
    bind(&[code(KeyCode::Enter)], A::PromptSend, Some("send"), "Send (a grant takes effect at once)", &[S::Prompt]),
    bind(&[code(KeyCode::Esc)], A::PromptCancel, Some("cancel"), "Cancel", &[S::Prompt]),
    bind(&[k('s')], A::Save, Some("save"), "Save edits to the policy file", SCREENS),
    bind(&[k('U')], A::DiscardEdits, None, "Discard every unsaved edit", SCREENS),
    firewall(bind(&[k('C')], A::Commit, Some("commit"), "Commit: save, apply, confirm window", &[S::Diff])),
    bind(&[k('r')], A::RefreshNow, None, "Refresh now (and the diff)", SCREENS),
    firewall(bind(&[k('c')], A::Confirm, Some("keep commit"), "Keep the pending commit", SCREENS)),
    firewall(bind(&[k('b')], A::Rollback, Some("roll back"), "Roll the pending commit back", SCREENS)),
    bind(&[k('p')], A::ShowPending, None, "Show the pending countdown", SCREENS),
    bind(&[code(KeyCode::Esc), k('?'), k('q')], A::CloseOverlay, Some("close"), "Close this help", &[S::Help]),
    bind(&[code(KeyCode::Up), k('k')], A::Up, Some("scroll"), "Scroll up", &[S::Help]),
    bind(&[code(KeyCode::Down), k('j')], A::Down, None, "Scroll down", &[S::Help]),
    bind(&[code(KeyCode::Tab)], A::FormNext, Some("next field"), "Next field; completes a network name", FORMS),
    bind(&[code(KeyCode::BackTab)], A::FormPrevious, None, "Previous field", FORMS),
    bind(&[code(KeyCode::Enter), ctrl('s')], A::FormSubmit, Some("done"), "Done", &[S::Form]),
    bind(&[ctrl('s')], A::FormSubmit, Some("done (⏎ adds a line)"), "Done (⏎ adds a line to the list)", &[S::FormList]),
    bind(&[code(KeyCode::Esc)], A::FormCancel, Some("cancel"), "Cancel the form", FORMS),
    bind(&[ctrl('z'), ctrl('u')], A::FormUndo, Some("undo"), "Undo typing in this field", FORMS),
    bind(&[ctrl('r')], A::FormRedo, None, "Redo", FORMS),
    bind(&[k('y')], A::Yes, Some("yes"), "Yes", &[S::Ask]),
    bind(&[k('n'), code(KeyCode::Esc)], A::No, Some("no"), "No", &[S::Ask]),
    bind(&[k('r')], A::Reload, Some("reload (drop my edits)"), "Reload the file from disk", &[S::Conflict]),
    bind(&[k('o')], A::Overwrite, Some("overwrite"), "Save over the file on disk", &[S::Conflict]),
    bind(&[code(KeyCode::Esc)], A::No, Some("cancel"), "Cancel", &[S::Conflict]),
    firewall(bind(&[k('y'), k('c')], A::Confirm, Some("keep"), "Keep the commit", &[S::Countdown])),
    firewall(bind(&[k('n'), k('b')], A::Rollback, Some("revert now"), "Revert now", &[S::Countdown])),
    bind(&[code(KeyCode::Esc)], A::CloseOverlay, Some("hide"), "Hide (the countdown stays in the status bar)", &[S::Countdown]),
    firewall(bind(&[code(KeyCode::Enter)], A::Commit, Some("commit anyway (after typing yes)"), "Commit despite the lockout", &[S::Lockout])),
    bind(&[code(KeyCode::Esc)], A::No, Some("back"), "Back to the diff", &[S::Lockout]),
];

/// The keymap in use: the operator's keys (`keys_file`) layered over [`BINDINGS`], set once
/// at start; [`BINDINGS`] until then (and in tests).
static ACTIVE: OnceLock<Vec<Binding>> = OnceLock::new();

/// Makes `bindings` the keymap. Only the first call counts: the UI starts with one keymap
/// and keeps it.
pub fn install(bindings: Vec<Binding>) {
    let _ = ACTIVE.set(bindings);
}

/// The keymap in use.
pub fn bindings() -> &'static [Binding] {
    ACTIVE.get().map_or(BINDINGS, Vec::as_slice)
}

/// The action a key stands for in `scope`, if any. Ctrl-C always quits: in raw mode it is
/// a key like any other, and an operator expects it to leave.
pub fn action_of(key: &KeyEvent, scope: Scope) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    // Shifted letters arrive as the capital with SHIFT set; the binding names the capital.
    let pressed = Key {
        code: key.code,
        ctrl,
    };
    bindings()
        .iter()
        .find(|b| b.scopes.contains(&scope) && b.codes.contains(&pressed))
        .map(|b| b.action)
}

/// The binding of an action in a scope (for its help text and whether it changes the
/// firewall).
pub fn binding_of(action: Action, scope: Scope) -> Option<&'static Binding> {
    bindings()
        .iter()
        .find(|b| b.action == action && b.scopes.contains(&scope))
}

/// The bindings that work in `scope`, in the keymap's order.
pub fn bindings_in(scope: Scope) -> impl Iterator<Item = &'static Binding> {
    bindings().iter().filter(move |b| b.scopes.contains(&scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_every_binding_reaches_its_action() {
        for b in BINDINGS {
            for scope in b.scopes {
                for key in b.codes {
                    let modifiers = if key.ctrl {
                        KeyModifiers::CONTROL
                    } else {
                        KeyModifiers::NONE
                    };
                    let event = KeyEvent::new(key.code, modifiers);
                    if key.ctrl && key.code == KeyCode::Char('c') {
                        continue;
                    }
                    assert_eq!(
                        action_of(&event, *scope),
                        Some(b.action),
                        "{} in {scope:?}",
                        b.keys()
                    );
                }
            }
        }
    }

    #[test]
    fn no_key_means_two_things_in_one_scope() {
        for (i, a) in BINDINGS.iter().enumerate() {
            for b in &BINDINGS[i + 1..] {
                let shared_scope = a.scopes.iter().any(|s| b.scopes.contains(s));
                let shared_key = a.codes.iter().any(|c| b.codes.contains(c));
                assert!(
                    !(shared_scope && shared_key),
                    "{} and {} clash",
                    a.keys(),
                    b.keys()
                );
            }
        }
    }

    #[test]
    fn the_keys_are_printed_from_their_codes() {
        let keys = |action, scope| binding_of(action, scope).map(Binding::keys);
        assert_eq!(keys(A::Quit, S::Overview).as_deref(), Some("q ^C"));
        assert_eq!(keys(A::Help, S::Overview).as_deref(), Some("? F1"));
        assert_eq!(keys(A::FormSubmit, S::Form).as_deref(), Some("⏎ ^S"));
        assert_eq!(keys(A::Delete, S::Services).as_deref(), Some("x Del"));
        assert_eq!(keys(A::FormPrevious, S::Form).as_deref(), Some("S-Tab"));
        assert_eq!(keys(A::Bottom, S::Overview).as_deref(), Some("End G"));
        assert_eq!(keys(A::PageDown, S::Overview).as_deref(), Some("PgDn"));
    }

    #[test]
    fn ctrl_c_quits_everywhere() {
        let key = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for scope in [S::Overview, S::Help, S::Form, S::Countdown] {
            assert_eq!(action_of(&key, scope), Some(Action::Quit));
        }
    }
}
