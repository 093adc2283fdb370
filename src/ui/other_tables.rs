//! The other tables in the ruleset (Docker's, firewalld's, a hand-written one), read-only:
//! one line when collapsed, their chains when expanded, and the warning when one of them
//! also filters the input hook, where its drops override our accepts.
//!
//! ```text
//! Other tables (o): ip filter ⚠ input hook, ip nat
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::App;

/// Rows the part needs: none without other tables, one collapsed, and expanded one per
/// table and chain (never more than a third of the screen).
pub fn height(app: &App, screen: u16) -> u16 {
    if app.other_tables.is_empty() {
        return 0;
    }
    if !app.other_expanded {
        return 1;
    }
    let lines: usize = 1 + app
        .other_tables
        .iter()
        .map(|t| 1 + t.chains.len())
        .sum::<usize>();
    (lines as u16).min(screen / 3).max(1)
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if area.height == 0 {
        return;
    }
    let warn = " ⚠ filters input: its drops win over our accepts";
    if !app.other_expanded {
        let mut spans = vec![Span::styled("Other tables (o): ", theme.header)];
        for (i, t) in app.other_tables.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(", "));
            }
            spans.push(Span::raw(format!("{} {}", t.family, t.name)));
            if t.filters_input() {
                spans.push(Span::styled(" ⚠ input hook", theme.warning));
            }
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let mut lines = vec![Line::styled(
        "Other tables, read-only (o collapses):",
        theme.header,
    )];
    for t in &app.other_tables {
        let mut head = vec![Span::raw(format!("  table {} {}", t.family, t.name))];
        if t.filters_input() {
            head.push(Span::styled(warn, theme.warning));
        }
        lines.push(Line::from(head));
        for c in &t.chains {
            let kind = match (&c.hook, &c.policy) {
                (Some(h), Some(p)) => format!("hook {h}, policy {p}"),
                (Some(h), None) => format!("hook {h}"),
                _ => "regular chain".to_string(),
            };
            let plural = if c.rules == 1 { "" } else { "s" };
            lines.push(Line::styled(
                format!("    chain {} ({kind}): {} rule{plural}", c.name, c.rules),
                theme.muted,
            ));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}
