//! The operator's own keys, layered over the keymap's: `keys.toml` in the config directory
//! names actions and the keys they should have, which replace that action's keys in every
//! scope it works in. Checked as the keymap's own tests check it — a key may not mean two
//! things in one scope, and no action may be left without a key — and refused whole, with
//! the line, if it is wrong. Pure: the text comes in.
//!
//! ```toml
//! # Cockpit's browser keeps Ctrl-W; the help on h as well as ?
//! help = ["?", "h"]
//! form_undo = ["ctrl-z", "ctrl-u", "alt-u"]   (alt is not known: refused)
//! confirm = ["c", "K"]
//! ```

use std::collections::BTreeMap;

use ratatui::crossterm::event::KeyCode;

use super::keymap::{Action, BINDINGS, Binding, Key};

/// The name of an action in the file: its variant in snake case (`ShowServices` is
/// `show_services`).
pub fn action_name(action: Action) -> String {
    let mut out = String::new();
    for (i, c) in format!("{action:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a key as the file writes it: `q`, `Q`, `?`, `ctrl-r` (or `^R`, as the help prints
/// it), `enter`, `esc`, `tab`, `shift-tab`, `up`, `down`, `pgup`, `pgdn`, `home`, `end`,
/// `del`, `space`, `f1`…`f12`.
pub fn parse_key(text: &str) -> Result<Key, String> {
    // `^R`, as the help prints it, is ctrl-r too.
    let (ctrl, rest) = match text
        .strip_prefix("ctrl-")
        .or_else(|| text.strip_prefix('^').filter(|r| r.chars().count() == 1))
    {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_control() => {
            KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
        }
        _ => match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "shift-tab" | "s-tab" | "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "del" | "delete" => KeyCode::Delete,
            "backspace" => KeyCode::Backspace,
            "space" => KeyCode::Char(' '),
            f if f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                return Err(format!(
                    "{text:?} is not a key; write one character (q, Q, ?), ctrl-LETTER, or \
                     enter, esc, tab, shift-tab, up, down, left, right, pgup, pgdn, home, end, \
                     del, backspace, space, f1 to f12"
                ));
            }
        },
    };
    if ctrl && !matches!(code, KeyCode::Char(c) if c.is_ascii_alphabetic()) {
        return Err(format!("{text:?}: ctrl- goes with a letter only"));
    }
    Ok(Key { code, ctrl })
}

/// The keymap with the file's keys layered over it, or what is wrong with the file
/// (`file:line: message`).
pub fn layer(file: &str, text: &str) -> Result<Vec<Binding>, String> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| format!("{file}: {}", e.to_string().trim()))?;
    let actions: BTreeMap<String, Action> = BINDINGS
        .iter()
        .map(|b| (action_name(b.action), b.action))
        .collect();
    let mut chosen: BTreeMap<Action, &'static [Key]> = BTreeMap::new();
    for (name, value) in &table {
        // toml's Table keeps no spans; find the key's line in the text for messages.
        let line = text
            .lines()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(1, |i| i + 1);
        let at = |message: String| format!("{file}:{line}: {message}");
        let Some(action) = actions.get(name) else {
            let mut known: Vec<&str> = actions.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(at(format!(
                "no action {name:?}; the actions are {}",
                known.join(", ")
            )));
        };
        let keys = value.as_array().ok_or_else(|| {
            at(format!(
                "{name} takes a list of keys, e.g. [\"q\", \"ctrl-q\"]"
            ))
        })?;
        if keys.is_empty() {
            return Err(at(format!("{name} would have no key")));
        }
        let mut parsed = Vec::new();
        for k in keys {
            let k = k
                .as_str()
                .ok_or_else(|| at(format!("{name}: each key is a string")))?;
            parsed.push(parse_key(k).map_err(|e| at(format!("{name}: {e}")))?);
        }
        // Leaked once at start: the keymap lives as long as the program.
        chosen.insert(*action, Box::leak(parsed.into_boxed_slice()));
    }
    let bindings: Vec<Binding> = BINDINGS
        .iter()
        .map(|b| Binding {
            codes: chosen.get(&b.action).copied().unwrap_or(b.codes),
            ..*b
        })
        .collect();
    if let Some((a, b)) = clash(&bindings) {
        return Err(format!(
            "{file}: {} would mean both {} and {} in one screen; give one of them another key",
            shared_key(a, b),
            action_name(a.action),
            action_name(b.action)
        ));
    }
    Ok(bindings)
}

/// Two bindings that share a key in a scope they share, if any.
pub fn clash(bindings: &[Binding]) -> Option<(&Binding, &Binding)> {
    for (i, a) in bindings.iter().enumerate() {
        for b in &bindings[i + 1..] {
            let shared_scope = a.scopes.iter().any(|s| b.scopes.contains(s));
            if shared_scope && a.codes.iter().any(|c| b.codes.contains(c)) {
                return Some((a, b));
            }
        }
    }
    None
}

fn shared_key(a: &Binding, b: &Binding) -> String {
    a.codes
        .iter()
        .find(|c| b.codes.contains(c))
        .map(Key::to_string)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Scope;

    fn keys_of(bindings: &[Binding], action: Action, scope: Scope) -> String {
        bindings
            .iter()
            .find(|b| b.action == action && b.scopes.contains(&scope))
            .map(Binding::keys)
            .unwrap_or_default()
    }

    #[test]
    fn actions_are_named_in_snake_case() {
        assert_eq!(action_name(Action::ShowServices), "show_services");
        assert_eq!(action_name(Action::Quit), "quit");
        assert_eq!(action_name(Action::FormUndo), "form_undo");
    }

    #[test]
    fn keys_are_read_as_the_help_prints_them() {
        for (text, shown) in [
            ("q", "q"),
            ("Q", "Q"),
            ("?", "?"),
            ("ctrl-r", "^R"),
            ("ctrl-R", "^R"),
            ("^R", "^R"),
            ("enter", "⏎"),
            ("shift-tab", "S-Tab"),
            ("pgdn", "PgDn"),
            ("f2", "F2"),
            ("del", "Del"),
        ] {
            assert_eq!(
                parse_key(text).map(|k| k.to_string()),
                Ok(shown.into()),
                "{text}"
            );
        }
        assert!(parse_key("alt-u").is_err());
        assert!(parse_key("ctrl-1").is_err());
        assert!(parse_key("f13").is_err());
    }

    #[test]
    fn a_file_replaces_an_action_s_keys_in_every_scope_it_has() {
        let b = layer(
            "keys.toml",
            "help = [\"?\", \"h\"]\nconfirm = [\"c\", \"K\"]\n",
        )
        .expect("valid");
        assert_eq!(keys_of(&b, Action::Help, Scope::Services), "? h");
        assert_eq!(keys_of(&b, Action::Confirm, Scope::Overview), "c K");
        // The countdown's confirm is the same action: it takes the new keys too.
        assert_eq!(keys_of(&b, Action::Confirm, Scope::Countdown), "c K");
        // Everything else keeps its keys.
        assert_eq!(keys_of(&b, Action::Quit, Scope::Overview), "q ^C");
        assert_eq!(b.len(), BINDINGS.len());
    }

    #[test]
    fn a_wrong_file_is_refused_with_its_line() {
        let err = |text: &str| layer("keys.toml", text).expect_err(text);
        assert!(
            err("quit = [\"q\"]\nhepl = [\"h\"]\n").starts_with("keys.toml:2: no action \"hepl\"")
        );
        assert!(err("help = [\"alt-h\"]\n").contains("keys.toml:1: help: \"alt-h\" is not a key"));
        // The line of `filter`, not of `filter_done` above it.
        assert!(
            err("filter_done = [\"enter\"]\nfilter = [\"alt-f\"]\n")
                .starts_with("keys.toml:2: filter:")
        );
        assert!(err("help = []\n").contains("help would have no key"));
        assert!(err("help = \"h\"\n").contains("takes a list of keys"));
        // `a` is already add-service on the overview.
        let clash = err("help = [\"a\"]\n");
        assert!(clash.contains("a would mean both"), "{clash}");
        assert!(err("help = [\n").starts_with("keys.toml: "));
    }
}
