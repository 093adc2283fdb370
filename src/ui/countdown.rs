//! The countdown of a pending commit: how long until it rolls back, and the evidence to
//! decide on, refreshed every second: the hits on the rules it added or changed, and the
//! packets the default policy dropped since (the commit replaced the table, so every
//! counter started at zero then).
//!
//! ```text
//!     ┌ Commit 20261123-101500-1a2b pending ────────────────────┐
//!     │ Rolls back in 23s unless you keep it.                   │
//!     │ Since the commit:               PACKETS   PKT/S         │
//!     │ web                                  12     2.0         │
//!     │ default drop                          3     0.0         │
//!     │ [DROPPED FROM YOUR OWN ADDRESS …: the operators' peers]  │
//!     │ y keep   n revert now   Esc hide                        │
//!     └─────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use super::{format, key_hints, popup};
use crate::app::App;
use crate::app::review::evidence;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Some(pending) = &app.pending else { return };
    let (countdown, keepable) = app.countdown().unwrap_or_default();
    let unless = if keepable { "unless you keep it " } else { "" };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(" {} ", format::capitalized(&countdown)),
                theme.pending,
            ),
            Span::raw(format!("{unless}(applied by {}).", pending.user)),
        ]),
        Line::raw(""),
    ];
    let rows = evidence(&app.book, app.watch.as_ref());
    let watched_all = app.watch.as_ref().is_none_or(|w| w.services.is_none());
    lines.push(Line::styled(
        format!(
            "{:<34}{:>9}{:>8}",
            if watched_all {
                "Since the commit (every service):"
            } else {
                "Since the commit (new and changed):"
            },
            "PACKETS",
            "PKT/S"
        ),
        theme.header,
    ));
    if rows.iter().all(|r| r.drop || r.label.is_empty()) && !watched_all {
        lines.push(Line::styled(
            "(the commit added or changed no service rule)",
            theme.muted,
        ));
    }
    for row in &rows {
        let style = if row.drop && row.packets > 0 {
            theme.warning
        } else {
            theme.base
        };
        lines.push(Line::styled(
            format!(
                "{:<34}{:>9}{:>8}",
                truncate(&row.label, 33),
                format::count(row.packets),
                format::rate(row.rate)
            ),
            style,
        ));
    }
    if rows.is_empty() {
        lines.push(Line::styled("(no counters read yet)", theme.muted));
    }
    // Drops from the operators' own addresses since the commit: a lockout in progress.
    let since = app
        .pending_since
        .as_ref()
        .filter(|(id, _)| *id == pending.id)
        .map_or(0, |(_, ms)| *ms);
    let peers = app.drops.from_operators_since(since);
    if !peers.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            " DROPPED FROM YOUR OWN ADDRESS: a lockout in progress? ",
            theme.status_error,
        ));
        for r in peers.iter().take(3) {
            lines.push(Line::styled(
                format!(
                    "{} ×{} on {}",
                    r.entry.describe(),
                    r.entry.count,
                    r.entry.interface.as_deref().unwrap_or("?")
                ),
                theme.status_error,
            ));
        }
        lines.push(Line::styled(
            "Revert now (n) unless you expected this.",
            theme.status_error,
        ));
    }
    if let Some(e) = &pending.rollback_error {
        lines.push(Line::styled(
            format!("rollback failing, retried: {e}"),
            theme.status_error,
        ));
    }
    lines.push(Line::raw(""));
    lines.push(key_hints(app, theme));
    let title = format!("Commit {} pending", pending.id);
    let inner = popup(frame, area, 60, lines.len() as u16 + 2, &title, theme);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
