//! The rules pane: our table's rules by service with their counters, rate and history; the
//! input chain's policy counter pinned at the bottom so it is always visible.
//!
//! ```text
//! ┌ Rules · inet portcullis ────────────────────────────────┐
//! │ SERVICE        PACKETS    BYTES  PKT/S HISTORY (60 s)   │
//! │ ssh                 42  2.5 KiB    0.5  ▁ ▂▁  ▃         │
//! │ web               1.2k   89 KiB     12 ▃▅▇█▆▅▃▂         │
//! │ ─────────────────────────────────────────────────────── │
//! │ input policy (no rule matched)  310  18 KiB  2.0  ▁▁▂▁  │
//! └─────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::format;
use super::theme::Theme;
use super::{pane_block, title, visible_rows, window_state};
use crate::app::observation::RulesState;
use crate::app::rules::RuleRow;
use crate::app::{App, Focus};

/// Column widths: the labels as wide as the longest (within limits), the history the rest.
fn widths(label: u16) -> [Constraint; 5] {
    [
        Constraint::Length(label),
        Constraint::Length(7),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Fill(1),
    ]
}

const FIXED: u16 = 7 + 9 + 6 + 4; // the number columns and the gaps between columns

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Rules;
    let name = rules_title(app, area.width);
    let block = pane_block(title(name, theme), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.rules = area;

    let message = match &app.rules_state {
        RulesState::NeedsPrivilege => Some((
            "Reading nft needs CAP_NET_ADMIN: run portcullis as root (sudo portcullis) to see \
             the rules and their counters."
                .to_string(),
            theme.warning,
        )),
        RulesState::Unavailable(e) => {
            Some((format!("Cannot read the ruleset: {e}"), theme.status_error))
        }
        RulesState::NoTable if app.last_refresh_ms.is_none() => {
            Some(("Reading the ruleset…".to_string(), theme.muted))
        }
        RulesState::NoTable => Some((
            format!(
                "There is no table inet {} in the kernel: nothing of ours filters. \
                 `portcullis apply` creates it from the policy.",
                app.config.table
            ),
            theme.warning,
        )),
        RulesState::Table { .. } if app.book.is_empty() => {
            Some(("The table has no counted rules.".to_string(), theme.muted))
        }
        RulesState::Table { .. } => None,
    };
    if let Some((text, style)) = message {
        frame.render_widget(
            Paragraph::new(Span::styled(text, style)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }

    let pinned = u16::from(app.book.input_policy.is_some()) * 2;
    let [list, pinned_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(pinned)]).areas(inner);
    let label = app
        .book
        .all()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(7, 24) as u16;
    let label = label.min(list.width.saturating_sub(FIXED + 8)).max(7);
    let history_width =
        usize::from(list.width.saturating_sub(label + FIXED)).min(crate::app::rules::HISTORY);
    let highlighted = app.highlighted_rules();
    let selected = app.rule_table.selected();
    let shown: Vec<&crate::app::rules::RuleRow> = app.book.listed().collect();
    let listed = shown.len();

    let height = usize::from(list.height.saturating_sub(1));
    let window = visible_rows(&mut app.rule_table, selected, listed, height);
    let rows: Vec<Row> = shown[window.clone()]
        .iter()
        .copied()
        .zip(window.clone())
        .map(|(r, i)| {
            let row = rule_row(r, theme, label, history_width);
            if highlighted.contains(&i) {
                row.style(theme.linked)
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(["SERVICE", "PACKETS", "BYTES", "PKT/S", "HISTORY"]).style(theme.header);
    let table = Table::new(rows, widths(label))
        .header(header)
        .row_highlight_style(if focused { theme.selected } else { theme.base });
    // The pinned row is selectable too (index `listed`); the table sees no selection then.
    let mut state = window_state(selected, &window);
    app.areas.rules_rows = Rect {
        y: list.y.saturating_add(1),
        height: list.height.saturating_sub(1),
        ..list
    };
    frame.render_stateful_widget(table, list, &mut state);

    if let Some(policy) = &app.book.input_policy {
        let [rule, row_area] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(pinned_area);
        frame.render_widget(
            Paragraph::new(Line::styled(
                "─".repeat(usize::from(rule.width)),
                theme.border,
            )),
            rule,
        );
        let mut row = rule_row(policy, theme, label, history_width).style(theme.policy_drop);
        if selected == Some(listed) && focused {
            row = row.style(theme.selected);
        } else if highlighted.contains(&listed) {
            row = row.style(theme.linked);
        }
        frame.render_widget(Table::new([row], widths(label)), row_area);
    }
}

/// `Rules · inet TABLE`, or, with a row selected whose start the counting record knows,
/// `Rules · LABEL: since HH:MM:SSZ` (counters survive commits that do not touch their
/// rule: the row says since when its own count runs). The label gives way with an
/// ellipsis where the pane is narrow; where not even that fits, the plain title.
fn rules_title(app: &App, width: u16) -> String {
    let filter = app.filters.get(crate::app::filter::ListId::Rules);
    if !filter.is_empty() || app.filtering == Some(crate::app::filter::ListId::Rules) {
        let typing = if app.filtering.is_some() { "▏" } else { "" };
        return format!(
            "Rules ({} of {}) /{filter}{typing}",
            app.book.listed().count(),
            app.book.rows.len()
        );
    }
    let plain = format!("Rules · inet {}", app.config.table);
    let Some(row) = app
        .rule_table
        .selected()
        .and_then(|i| app.book.all().nth(i))
    else {
        return plain;
    };
    let Some(since) = row.since_ms else {
        return plain;
    };
    let at = crate::commit::journal::format_time(since);
    let clock = at.get(11..19).unwrap_or(&at);
    let tail = format!(
        ": since {clock}Z{}",
        if row.since_mixed {
            " (part earlier)"
        } else {
            ""
        }
    );
    // Two corners and the spaces around the title.
    let room = usize::from(width).saturating_sub(4);
    let head = "Rules · ".chars().count() + tail.chars().count();
    let label_room = room.saturating_sub(head);
    if label_room < 4 {
        return plain;
    }
    let label: String = if row.label.chars().count() > label_room {
        let cut: String = row.label.chars().take(label_room - 1).collect();
        format!("{cut}…")
    } else {
        row.label.clone()
    };
    format!("Rules · {label}{tail}")
}

/// One row; a label longer than its column ends in `…`.
fn rule_row<'a>(r: &'a RuleRow, theme: &Theme, label: u16, history_width: usize) -> Row<'a> {
    Row::new([
        Cell::from(format::fit(&r.label, usize::from(label))),
        Cell::from(Line::from(format::count(r.packets)).right_aligned()),
        Cell::from(Line::from(format::bytes(r.bytes)).right_aligned()),
        Cell::from(Line::from(format::rate(r.rate)).right_aligned()),
        Cell::from(Span::styled(
            format::sparkline(r.history.iter().copied(), history_width),
            theme.sparkline,
        )),
    ])
}
