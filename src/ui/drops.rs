//! The drops pane: what the default drop is dropping now, newest first, one line per
//! (source, port, protocol), with what the policy says about it; and the chooser of ways
//! in for a drop.
//!
//! ```text
//! ┌ Drops (3) · NFLOG 47 ────────────────────────────────────────────────┐
//! │ LAST      COUNT SOURCE          PORT      IFACE  WHY                 │
//! │ 10:15:02Z     4 203.0.113.9     9001/tcp  eth0   agents: allows admin│
//! │ 10:14:58Z     1 2001:db8::9     icmpv6 128 eth0                      │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::theme::Theme;
use super::{key_hints, pane_block, popup, title, visible_rows, window_state};
use crate::app::filter::ListId;
use crate::app::observation::DropFeed;
use crate::app::{App, DropRow, Focus, LetIn};

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Drops;
    let heading = match &app.drops.feed {
        DropFeed::Reading { group, .. } => format!(
            "{} · NFLOG {group}",
            app.filtered_title(
                ListId::Drops,
                "Drops",
                app.drops.rows.len(),
                app.drops.all_rows.len()
            )
        ),
        _ => "Drops".to_string(),
    };
    let block = pane_block(title(heading, theme), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.drops = area;
    let message = match &app.drops.feed {
        DropFeed::Off(why) => Some((format!("No drop log: {why}."), theme.muted)),
        DropFeed::Unavailable(why) => Some((why.clone(), theme.warning)),
        DropFeed::Reading { .. } if app.drops.rows.is_empty() => Some((
            "Nothing dropped since the log started (lines are rate-limited in the kernel)."
                .to_string(),
            theme.muted,
        )),
        DropFeed::Reading { .. } => None,
    };
    if let Some((text, style)) = message {
        frame.render_widget(
            Paragraph::new(Span::styled(text, style)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let selected = app.drop_table.selected();
    let window = visible_rows(&mut app.drop_table, selected, app.drops.rows.len(), height);
    let source_width = app
        .drops
        .rows
        .iter()
        .map(|r| r.entry.key.source.to_string().len())
        .max()
        .unwrap_or(0)
        .clamp(6, 39) as u16;
    // WHY gets the rest, and says with an ellipsis where it is cut.
    let why_width = inner
        .width
        .saturating_sub(9 + 6 + source_width + 11 + 8 + 5);
    let rows: Vec<Row> = app.drops.rows[window.clone()]
        .iter()
        .map(|r| drop_row(r, theme, why_width.into()))
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(source_width),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(["LAST", "COUNT", "SOURCE", "PORT", "IFACE", "WHY"]).style(theme.header))
    .row_highlight_style(if focused { theme.selected } else { theme.base });
    app.areas.drops_rows = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let mut state = window_state(selected, &window);
    frame.render_stateful_widget(table, inner, &mut state);
}

fn drop_row<'a>(r: &'a DropRow, theme: &Theme, why_width: usize) -> Row<'a> {
    let e = &r.entry;
    let last = crate::commit::journal::format_time(e.last_ms);
    let port = match (e.key.port, e.key.icmp_type) {
        (Some(p), _) => format!("{p}/{}", e.key.proto),
        (None, Some(t)) => format!("{} {t}", e.key.proto),
        (None, None) => e.key.proto.to_string(),
    };
    let mut why = r.why.clone();
    if e.by.reason == crate::nft::droplog::Reason::Invalid {
        why = format!("invalid (no connection); {why}");
    }
    if r.from_operator {
        why = format!("YOUR PEER; {why}");
    }
    let row = Row::new([
        Cell::from(last.get(11..19).map_or(String::new(), |t| format!("{t}Z"))),
        Cell::from(Line::from(e.count.to_string()).right_aligned()),
        Cell::from(e.key.source.to_string()),
        Cell::from(port),
        Cell::from(super::format::fit(
            &e.interface.clone().unwrap_or_default(),
            8,
        )),
        Cell::from(super::format::fit(&why, why_width)),
    ]);
    if r.from_operator {
        row.style(theme.warning)
    } else {
        row
    }
}

/// The chooser of ways in.
pub fn draw_let_in(frame: &mut Frame, app: &App, choose: &LetIn, theme: &Theme, area: Rect) {
    let mut lines = vec![Line::raw(format!("Dropped: {}", choose.drop))];
    if let Some(w) = &choose.warning {
        lines.push(Line::styled(w.clone(), theme.warning));
    }
    lines.push(Line::raw(""));
    for (i, way) in choose.ways.iter().enumerate() {
        let style = if i == choose.selected {
            theme.selected
        } else {
            theme.base
        };
        lines.push(Line::styled(format!(" {} ", way.label()), style));
    }
    lines.push(Line::raw(""));
    lines.push(key_hints(app, theme));
    let width = lines.iter().map(|l| l.width()).max().unwrap_or(40) as u16 + 4;
    let inner = popup(
        frame,
        area,
        width.max(50),
        lines.len() as u16 + 2,
        "Let it in",
        theme,
    );
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
