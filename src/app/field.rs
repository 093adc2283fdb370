//! One text input of a form: a ratatui-textarea (with its undo history), the key of the
//! policy file it writes, its hint, and the validator's finding about it. Pure.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::{CursorMove, TextArea};

/// One text input of a form.
#[derive(Debug, Clone)]
pub struct Field {
    pub label: &'static str,
    /// The key of the policy file this field writes (`name` for the name).
    pub key: &'static str,
    pub area: TextArea<'static>,
    /// One entry per line (the network form's addresses); Enter adds a line.
    pub multi_line: bool,
    pub hint: &'static str,
    /// The validator's finding about this field, if any.
    pub error: Option<String>,
}

impl Field {
    pub(super) fn new(
        label: &'static str,
        key: &'static str,
        lines: Vec<String>,
        hint: &'static str,
    ) -> Self {
        let lines = if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        };
        let mut area = TextArea::new(lines);
        area.move_cursor(CursorMove::Bottom);
        area.move_cursor(CursorMove::End);
        Field {
            label,
            key,
            area,
            multi_line: false,
            hint,
            error: None,
        }
    }

    pub(super) fn name(name: &str) -> Self {
        Field::single("Name", "name", name, "letters, digits, - and _")
    }

    pub(super) fn single(
        label: &'static str,
        key: &'static str,
        value: &str,
        hint: &'static str,
    ) -> Self {
        Field::new(label, key, vec![value.to_string()], hint)
    }

    /// The field's text, lines joined with newlines.
    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// The entries of a list field: separated by commas, spaces or lines.
    pub fn entries(&self) -> Vec<String> {
        self.text()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Types a key into the field; returns whether its text changed.
    pub(super) fn input(&mut self, key: KeyEvent) -> bool {
        if key.code == KeyCode::Enter && !self.multi_line {
            return false;
        }
        let before = self.area.lines().to_vec();
        self.area.input(key);
        self.area.lines() != before.as_slice()
    }

    /// Pastes text; a single-line field gets the lines as a comma-separated list.
    pub(super) fn paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if self.multi_line {
            self.area.insert_str(text);
        } else {
            let joined: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            self.area.insert_str(joined.join(", "));
        }
    }

    /// The word the cursor is at the end of (for completion).
    pub(super) fn word_before_cursor(&self) -> String {
        let cursor = self.area.cursor();
        let line = self.area.lines().get(cursor.0).cloned().unwrap_or_default();
        let before: String = line.chars().take(cursor.1).collect();
        before
            .rsplit(|c: char| c == ',' || c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_string()
    }
}
