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
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

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
            if s.direction.as_deref() == Some("out") {
                allow = format!("→ {allow}");
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
    let header = [
        "",
        "NAME",
        "PORTS",
        "ALLOW (→ out: TO)",
        "INTERFACES",
        "PKT/S",
    ];
    let widths = [
        Constraint::Length(1),
        Constraint::Length(14),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Length(10),
        Constraint::Length(6),
    ];
    let detail = app.service_table.selected().and_then(|i| {
        let row = app.visible_services().get(i).copied()?;
        let description = row.draft.description.as_deref();
        Some(format!(
            "{}: {}",
            row.name,
            description.unwrap_or("(no description)")
        ))
    });
    draw_list(
        frame,
        app,
        theme,
        area,
        Section::Services,
        ListView {
            header: &header,
            widths: &widths,
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
    let header = ["", "NAME", "ENTRIES", "ADDRESSES", "USED BY"];
    let widths = [
        Constraint::Length(1),
        Constraint::Length(14),
        Constraint::Length(7),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ];
    draw_list(
        frame,
        app,
        theme,
        area,
        Section::Networks,
        ListView {
            header: &header,
            widths: &widths,
            rows,
            detail: None,
        },
    );
}

struct ListView<'a> {
    header: &'a [&'a str],
    widths: &'a [Constraint],
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
    };
    let filter = app.filters.get(list);
    let shown = match (filter.is_empty(), app.filtering == Some(list)) {
        (true, false) => String::new(),
        (_, true) => format!(" · /{filter}▏"),
        (false, false) => format!(" · /{filter} (Esc clears)"),
    };
    let block = pane_block(
        title(format!("{name} · {}{shown}", app.config.policy_path), theme),
        true,
        theme,
    );
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
    };
    let selected = state.selected();
    let visible = visible_rows(
        state,
        selected,
        view.rows.len(),
        usize::from(rows_area.height),
    );
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
            let cells = cells.iter().enumerate().map(|(c, text)| {
                let cell = Cell::from(text.clone());
                if c == 0 && Some(offset + i) != selected {
                    cell.style(theme.warning)
                } else {
                    cell
                }
            });
            Row::new(cells).style(style)
        })
        .collect();
    let header = Row::new(view.header.iter().map(|h| Cell::from(*h))).style(theme.header);
    frame.render_widget(
        Table::new(rows, view.widths.to_vec())
            .header(header)
            .column_spacing(1),
        table_area,
    );
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: false }), notes_area);
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
