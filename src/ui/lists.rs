//! The services and networks screens: the working copy's entries as a table, marked `+`
//! (added) or `~` (changed) until saved, deleted ones listed below; the services with the
//! live hit rate of their rules, the networks with the services that use them.
//!
//! ```text
//! ┌ Services · /etc/portcullis/policy.toml ───────────────────────────────┐
//! │   NAME         PORTS             ALLOW             INTERFACES   PKT/S │
//! │ ~ ssh          22/tcp, 2222/tcp  admin                            0.5 │
//! │ + web          443/tcp           any                                – │
//! │ deleted, not saved yet: legacy                                        │
//! └───────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::columns::{self, Column};
use super::theme::Theme;
use super::{format, pane_block, title, visible_rows};
use crate::app::App;
use crate::app::editor::Section;
use crate::app::filter::ListId;
use crate::app::rules::RowKind;

pub fn draw_services(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let rows: Vec<Vec<String>> = app
        .visible_services()
        .into_iter()
        .map(|row| {
            let s = &row.draft;
            let mut allow = s.allow.join(", ");
            match s.direction.as_deref() {
                Some("out") => allow = format!("→ {allow}"),
                Some("both") => allow = format!("↔ {allow}"),
                _ => {}
            }
            vec![
                row.marker.map(String::from).unwrap_or_default(),
                row.name.clone(),
                s.ports.join(", "),
                allow,
                s.interfaces.join(", "),
                format::rate(rate_of(app, &row.name)),
            ]
        })
        .collect();
    let columns = [
        fixed(&[""], 1, None),
        fixed(&["NAME"], 8, None),
        growing(&["PORTS"], 7, None),
        growing(
            &["ALLOW (→ out: TO, ↔ both)", "ALLOW (→ out: TO)", "ALLOW"],
            7,
            None,
        ),
        fixed(&["INTERFACES", "IFACES"], 6, Some(1)),
        fixed(&["PKT/S"], 5, Some(2)),
    ];
    let detail = app.service_table.selected().and_then(|i| {
        let row = app.visible_services().get(i).copied()?;
        let description = row.draft.description.as_deref();
        let mut line = format!(
            "{}: {}",
            row.name,
            description.unwrap_or("(no description)")
        );
        // Its grants (temporary access), each source once, with the time left.
        let mut granted: Vec<String> = Vec::new();
        for g in app.grants.iter().filter(|g| g.service == row.name) {
            let left = g.expires_s.map_or(String::new(), |s| {
                format!(" ({} left)", format::age(u64::from(s) * 1000))
            });
            let text = format!("{}{left}", g.source);
            if !granted.iter().any(|t| t.starts_with(&g.source.to_string())) {
                granted.push(text);
            }
        }
        if !granted.is_empty() {
            line.push_str(&format!(" · granted: {} (T revokes)", granted.join(", ")));
        }
        Some(line)
    });
    draw_list(
        frame,
        app,
        theme,
        area,
        Section::Services,
        ListView {
            columns: &columns,
            rows,
            detail,
        },
    );
}

pub fn draw_networks(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let rows: Vec<Vec<String>> = app
        .visible_networks()
        .into_iter()
        .map(|row| {
            let mut shown = row.head.join(", ");
            if row.count > row.head.len() {
                shown.push_str(&format!(", +{} more", row.count - row.head.len()));
            }
            vec![
                row.marker.map(String::from).unwrap_or_default(),
                row.name.clone(),
                row.count.to_string(),
                shown,
                if row.users.is_empty() {
                    "(unused)".to_string()
                } else {
                    row.users.join(", ")
                },
            ]
        })
        .collect();
    let columns = [
        fixed(&[""], 1, None),
        fixed(&["NAME"], 8, None),
        fixed(&["ENTRIES"], 7, Some(1)),
        growing(&["ADDRESSES"], 10, None),
        growing(&["USED BY"], 7, None),
    ];
    draw_list(
        frame,
        app,
        theme,
        area,
        Section::Networks,
        ListView {
            columns: &columns,
            rows,
            detail: None,
        },
    );
}

/// A column of a list that keeps its width: its headers (longest first), how narrow a cut
/// may make it, when it gives way whole.
fn fixed<'a>(headers: &'a [&'a str], min: u16, drop_rank: Option<u8>) -> Column<'a> {
    Column {
        headers,
        widest: 0,
        min,
        drop_rank,
        grows: false,
    }
}

/// A column of a list that takes spare width (the lists' values of any length).
fn growing<'a>(headers: &'a [&'a str], min: u16, drop_rank: Option<u8>) -> Column<'a> {
    Column {
        grows: true,
        ..fixed(headers, min, drop_rank)
    }
}

pub fn draw_blocks(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let rows: Vec<Vec<String>> = app
        .visible_blocks()
        .into_iter()
        .map(|row| {
            let d = &row.draft;
            vec![
                row.marker.map(String::from).unwrap_or_default(),
                row.name.clone(),
                d.from.join(", "),
                if d.ports.is_empty() {
                    "every port".to_string()
                } else {
                    d.ports.join(", ")
                },
                d.action.clone().unwrap_or_else(|| "drop".into()),
                d.direction.clone().unwrap_or_else(|| "in".into()),
                format::rate(block_rate_of(app, &row.name)),
            ]
        })
        .collect();
    let columns = [
        fixed(&[""], 1, None),
        fixed(&["NAME"], 8, None),
        growing(&["FROM"], 10, None),
        growing(&["PORTS"], 7, None),
        fixed(&["ACTION"], 6, None),
        fixed(&["DIRECTION", "DIR"], 3, Some(1)),
        fixed(&["PKT/S"], 5, Some(2)),
    ];
    let detail = app.block_table.selected().and_then(|i| {
        let row = app.visible_blocks().get(i).copied()?;
        Some(format!(
            "{}: {} (blocks come before every service)",
            row.name,
            row.draft
                .description
                .as_deref()
                .unwrap_or("(no description)")
        ))
    });
    draw_list(
        frame,
        app,
        theme,
        area,
        Section::Blocks,
        ListView {
            columns: &columns,
            rows,
            detail,
        },
    );
}

/// Packets per second refused by a block's live rules.
fn block_rate_of(app: &App, name: &str) -> Option<f64> {
    let rates: Vec<f64> = app
        .book
        .rows
        .iter()
        .filter(|r| matches!(&r.key.kind, RowKind::Block(n) if n == name))
        .filter_map(|r| r.rate)
        .collect();
    (!rates.is_empty()).then(|| rates.iter().sum())
}

struct ListView<'a> {
    columns: &'a [Column<'a>],
    rows: Vec<Vec<String>>,
    /// A line about the selected entry.
    detail: Option<String>,
}

fn draw_list(
    frame: &mut Frame,
    app: &mut App,
    theme: &Theme,
    area: Rect,
    section: Section,
    view: ListView<'_>,
) {
    let (name, list) = match section {
        Section::Services => ("Services", ListId::Services),
        Section::Networks => ("Networks", ListId::Networks),
        Section::Blocks => ("Blocks", ListId::Blocks),
    };
    let filter = app.filters.get(list);
    let shown = match (filter.is_empty(), app.filtering == Some(list)) {
        (true, false) => String::new(),
        (_, true) => format!(" · /{filter}▏"),
        (false, false) => format!(" · /{filter} (Esc clears)"),
    };
    // The path gives way (from its left) before the filter; where not even `…/file`
    // fits, the title goes without it.
    let room = usize::from(area.width.saturating_sub(4));
    let fixed = name.chars().count() + " · ".chars().count() + shown.chars().count();
    let text = if room >= fixed + 8 {
        let path = format::fit_left(&app.config.policy_path, room - fixed);
        format!("{name} · {path}{shown}")
    } else {
        format::fit(&format!("{name}{shown}"), room)
    };
    let block = pane_block(title(text, theme), true, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let editor = app.editor.as_ref();
    let mut notes: Vec<Line> = Vec::new();
    if let Some(e) = editor.and_then(|e| e.syntax_error.clone()) {
        notes.push(Line::styled(
            format!("The policy file is not TOML, so it cannot be edited here: {e}"),
            theme.status_error,
        ));
    }
    if editor.is_some_and(|e| e.newer_on_disk.is_some()) {
        notes.push(Line::styled(
            "The file changed on disk since it was loaded: s asks whether to reload or overwrite",
            theme.warning,
        ));
    }
    let removed = editor.map(|e| e.removed(section)).unwrap_or_default();
    if !removed.is_empty() {
        notes.push(Line::styled(
            format!("deleted, not saved yet: {}", removed.join(", ")),
            theme.muted,
        ));
    }
    if let Some(d) = view.detail {
        notes.push(Line::styled(d, theme.muted));
    }
    if view.rows.is_empty() && editor.is_some_and(|e| e.doc().is_some()) {
        notes.push(Line::styled(
            format!("No {}s yet: a adds one.", section.singular()),
            theme.muted,
        ));
    }
    // Each note in at most two lines, the second ending in `…` if it goes on.
    let notes: Vec<Line> = notes
        .into_iter()
        .flat_map(|line| {
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            let style = line.spans.first().map_or(line.style, |s| s.style);
            format::wrap(&text, usize::from(inner.width), 2)
                .into_iter()
                .map(move |l| Line::styled(l, style))
        })
        .collect();
    let [table_area, notes_area] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(notes.len() as u16)]).areas(inner);

    let rows_area = Rect {
        y: table_area.y + 1,
        height: table_area.height.saturating_sub(1),
        ..table_area
    };
    app.areas.list_rows = rows_area;
    let state = match section {
        Section::Services => &mut app.service_table,
        Section::Networks => &mut app.network_table,
        Section::Blocks => &mut app.block_table,
    };
    let selected = state.selected();
    let visible = visible_rows(
        state,
        selected,
        view.rows.len(),
        usize::from(rows_area.height),
    );
    // Widths from every row, not the visible ones: scrolling must not move the columns.
    let columns: Vec<Column> = view
        .columns
        .iter()
        .enumerate()
        .map(|(c, column)| Column {
            widest: columns::widest(view.rows.iter().map(|r| r[c].as_str())),
            ..column.clone()
        })
        .collect();
    let widths = columns::fit(&columns, table_area.width, 1);
    let shown: Vec<(usize, u16)> = widths
        .iter()
        .enumerate()
        .filter_map(|(c, w)| w.map(|w| (c, w)))
        .collect();
    let offset = visible.start;
    let rows: Vec<Row> = view.rows[visible]
        .iter()
        .enumerate()
        .map(|(i, cells)| {
            let style = if Some(offset + i) == selected {
                theme.selected
            } else {
                theme.base
            };
            let cells = shown.iter().map(|&(c, w)| {
                let cell = Cell::from(format::fit(&cells[c], usize::from(w)));
                if c == 0 && Some(offset + i) != selected {
                    cell.style(theme.warning)
                } else {
                    cell
                }
            });
            Row::new(cells).style(style)
        })
        .collect();
    let header =
        Row::new(shown.iter().map(|&(c, w)| Cell::from(columns[c].header(w)))).style(theme.header);
    frame.render_widget(
        Table::new(rows, shown.iter().map(|&(_, w)| Constraint::Length(w)))
            .header(header)
            .column_spacing(1),
        table_area,
    );
    frame.render_widget(Paragraph::new(notes), notes_area);
}

/// Packets per second through a service's live rules (all chains, both families).
fn rate_of(app: &App, name: &str) -> Option<f64> {
    let rates: Vec<f64> = app
        .book
        .rows
        .iter()
        .filter(|r| matches!(&r.key.kind, RowKind::Service(n) if n == name))
        .filter_map(|r| r.rate)
        .collect();
    (!rates.is_empty()).then(|| rates.iter().sum())
}
