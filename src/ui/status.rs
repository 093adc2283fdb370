//! The status bar and the key footer.
//!
//! ```text
//!  web01 │ inet portcullis │ /etc/portcullis/policy.toml │ refreshed 0s ago
//!  PENDING 20261121-101500-1a2b by alice: rolls back in 23s (c keeps, b rolls back) │ errors
//!  q quit  ? help  Tab pane  ↑↓ select  o other tables
//! ```

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::format;
use super::theme::Theme;
use crate::app::App;
use crate::app::keymap::{Action, bindings_in};
use crate::app::observation::RulesState;

/// The bar's line, then (when there are any) a line for the pending commit and one for the
/// notice and the errors; the last two may wrap.
pub fn lines(app: &App, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let bar = theme.status_bar;
    let sep = Span::styled(" │ ", bar);
    let mut first = vec![Span::styled(format!(" {}", app.config.host), bar)];
    if let Some(ns) = &app.config.demo {
        first.push(sep.clone());
        first.push(Span::styled(
            format!("DEMO in namespace {ns}"),
            theme.pending,
        ));
    }
    if app.config.read_only {
        first.push(sep.clone());
        first.push(Span::styled("READ-ONLY (not root)", theme.pending));
    }
    first.push(sep.clone());
    first.push(Span::styled(format!("inet {}", app.config.table), bar));
    let age = match app.last_refresh_ms {
        Some(at) if app.refreshing => format!(
            "refreshing (last {} ago)",
            format::age(app.now.wall_ms.saturating_sub(at))
        ),
        Some(at) => format!(
            "refreshed {} ago",
            format::age(app.now.wall_ms.saturating_sub(at))
        ),
        None => "refreshing…".to_string(),
    };
    // The policy's path gives way (from the left, with an ellipsis) before the age does.
    let used: usize = first.iter().map(|s| s.width()).sum::<usize>() + 2 * 3 + age.chars().count();
    let room = usize::from(width).saturating_sub(used);
    if room >= 8 {
        first.push(sep.clone());
        first.push(Span::styled(
            format::fit_left(&app.config.policy_path, room),
            bar,
        ));
    }
    first.push(sep.clone());
    first.push(Span::styled(age, bar));
    let mut lines = vec![Line::from(first)];

    let mut second: Vec<Span<'static>> = Vec::new();
    if let Some(p) = &app.pending {
        let (countdown, keepable) = app.countdown().unwrap_or_default();
        let keys = match (app.config.read_only, keepable) {
            (true, _) => "",
            (false, true) => " (c keeps it, b rolls back now)",
            (false, false) => " (b rolls back now)",
        };
        second.push(Span::styled(
            format!(" PENDING commit {} by {}: {countdown}{keys} ", p.id, p.user),
            theme.pending,
        ));
        if let Some(e) = &p.rollback_error {
            second.push(Span::styled(
                format!(" rollback failing, retried: {e} "),
                theme.status_error,
            ));
        }
        lines.push(Line::from(std::mem::take(&mut second)));
    }
    if let Some(n) = &app.notice {
        second.push(Span::styled(
            format!(" {} ", n.text),
            if n.error {
                theme.status_error
            } else {
                theme.title
            },
        ));
    }
    let mut errors: Vec<String> = Vec::new();
    if let Some(e) = &app.policy_error {
        errors.push(format!("policy: {}", first_line(e)));
    }
    if let Some(e) = &app.sockets_error {
        errors.push(format!("sockets: {e}"));
    }
    if let RulesState::Unavailable(e) = &app.rules_state {
        errors.push(format!("nft: {}", first_line(e)));
    }
    if !errors.is_empty() {
        second.push(Span::styled(
            format!(" {} ", errors.join(" · ")),
            theme.status_error,
        ));
    }
    if !second.is_empty() {
        lines.push(Line::from(second));
    }
    lines
}

/// Rows the lines take at `width` once the later ones wrap.
pub fn height(lines: &[Line], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                1
            } else {
                l.width().div_ceil(width).max(1) as u16
            }
        })
        .sum()
}

/// The bar (its style across the whole width), then the rest, wrapped.
pub fn draw(frame: &mut Frame, lines: Vec<Line<'static>>, theme: &Theme, area: Rect) {
    let mut lines = lines.into_iter();
    let Some(bar) = lines.next() else { return };
    let (bar_area, rest) = (
        Rect { height: 1, ..area },
        Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(1),
            ..area
        },
    );
    frame.render_widget(Paragraph::new(bar).style(theme.status_bar), bar_area);
    frame.render_widget(
        Paragraph::new(lines.collect::<Vec<_>>()).wrap(Wrap { trim: false }),
        rest,
    );
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}

/// The keys that work here, from the keymap.
pub fn draw_footer(frame: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    // A question (a grant's source and time) takes the line while it is open.
    if let Some(p) = &app.prompt {
        let width = usize::from(area.width);
        let typed = format!("{}▏", p.text);
        let len = |t: &str| t.chars().count();
        // The longest question (and the keys) that fit beside what is typed; where not
        // even the shortest does, the end of what is typed stays in sight.
        let question = p
            .questions()
            .into_iter()
            .find(|q| 1 + len(q) + len(&typed) <= width)
            .unwrap_or_default();
        let keys = "  ⏎ send  Esc cancel";
        let keys = if 1 + len(&question) + len(&typed) + len(keys) <= width {
            keys
        } else {
            ""
        };
        let asked = format::fit_left(&format!(" {question}{typed}"), width);
        let line = Line::from(vec![
            Span::styled(asked, theme.key),
            Span::styled(keys, theme.muted),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = Vec::new();
    for b in bindings_in(app.scope()) {
        let Some(label) = b.footer else { continue };
        // Keep and roll back only mean something while a commit is pending; saving only
        // with edits.
        let hidden = match b.action {
            Action::Confirm | Action::Rollback => app.pending.is_none(),
            Action::ToggleOtherTables => app.other_tables.is_empty(),
            Action::Save => !app.dirty(),
            _ => false,
        };
        if hidden {
            continue;
        }
        let disabled = b.changes_firewall && app.config.read_only;
        let key = if b.codes.first().is_some_and(|k| k.code == KeyCode::Up) {
            "↑↓".to_string()
        } else {
            b.first_key()
        };
        let (key_style, label_style) = if disabled {
            (theme.key_disabled, theme.key_disabled)
        } else {
            (theme.key, theme.muted)
        };
        spans.push((
            Span::styled(format!(" {key}"), key_style),
            Span::styled(format!(" {label} "), label_style),
        ));
    }
    // Whole keys give way from the end, and ` …` says so (? lists them all).
    let width = usize::from(area.width);
    let len = |(k, l): &(Span, Span)| k.content.chars().count() + l.content.chars().count();
    let mut used = 0;
    let mut shown = Vec::new();
    for (i, pair) in spans.iter().enumerate() {
        let last = i + 1 == spans.len();
        let room = if last { width } else { width.saturating_sub(2) };
        // The trailing blank of the last key shown may go.
        if used + len(pair) - 1 > room {
            shown.push(Span::styled(" …", theme.muted));
            break;
        }
        used += len(pair);
        shown.push(pair.0.clone());
        shown.push(pair.1.clone());
    }
    frame.render_widget(Paragraph::new(Line::from(shown)), area);
}
