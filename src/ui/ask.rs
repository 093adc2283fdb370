//! The small questions: delete this? discard the edits? quit with unsaved edits? the file
//! changed on disk: reload or overwrite? and the lockout warning that takes a typed `yes`.
//!
//! ```text
//!          ┌ Delete ─────────────────────────────────┐
//!          │ Delete service legacy from the edits?   │
//!          │ (nothing is written until s saves)      │
//!          │ y yes   n no                            │
//!          └─────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use super::{key_hints, popup};
use crate::app::{App, Modal, Question};

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let path = &app.config.policy_path;
    let (title, mut lines): (&str, Vec<Line>) = match &app.modal {
        Modal::Ask(Question::Delete(section, name)) => (
            "Delete",
            vec![
                Line::raw(format!("Delete {} {name}?", section.singular())),
                Line::styled("Nothing is written until s saves.", theme.muted),
            ],
        ),
        Modal::Ask(Question::Discard) => (
            "Discard edits",
            vec![Line::raw(format!(
                "Drop every unsaved edit and go back to {path} as it is on disk?"
            ))],
        ),
        Modal::Ask(Question::Quit) => (
            "Unsaved edits",
            vec![Line::raw(format!(
                "Quit and lose the edits not saved to {path}?"
            ))],
        ),
        Modal::Conflict => (
            "Changed on disk",
            vec![
                Line::styled(
                    format!("{path} changed on disk since it was loaded (another editor?)."),
                    theme.warning,
                ),
                Line::raw("Reload it (your edits are dropped), or save yours over it?"),
            ],
        ),
        Modal::Lockout(typed) => {
            let mut lines: Vec<Line> = app
                .current_review()
                .map(|r| {
                    r.lockouts
                        .iter()
                        .map(|l| Line::styled(l.clone(), theme.warning))
                        .collect()
                })
                .unwrap_or_default();
            lines.push(Line::raw(
                "The rollback window still applies, but you could not open a new session to \
                 confirm from. Type yes and Enter to commit anyway.",
            ));
            lines.push(Line::from(vec![
                Span::raw("> "),
                Span::styled(format!("{typed}▏"), theme.key),
            ]));
            ("Lockout", lines)
        }
        _ => return,
    };
    lines.push(key_hints(app, theme));
    let width = 72u16.min(area.width);
    let text_width = usize::from(width.saturating_sub(2)).max(1);
    let height: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(text_width).max(1))
        .sum();
    let inner = popup(frame, area, width, height as u16 + 2, title, theme);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
