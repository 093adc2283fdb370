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
use crate::app::editor::Section;
use crate::app::rules::RowKind;
use crate::app::{App, Screen};

pub fn draw_services(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let names = app.list_names(Screen::Services);
    let rows: Vec<Vec<String>> = {
        let doc = app.editor.as_ref().and_then(|e| e.doc());
        names
            .iter()
            .map(|name| {
                let s = doc.and_then(|d| d.service(name)).unwrap_or_default();
                let mut allow = s.allow.join(", ");
                if s.direction.as_deref() == Some("out") {
                    allow = format!("→ {allow}");
                }
                vec![
                    marker(app, Section::Services, name),
                    name.clone(),
                    s.ports.join(", "),
                    allow,
                    s.interfaces.join(", "),
                    format::rate(rate_of(app, name)),
                ]
            })
            .collect()
    };
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
    let detail = app
        .service_table
        .selected()
        .and_then(|i| names.get(i))
        .and_then(|n| {
            let doc = app.editor.as_ref()?.doc()?;
            let s = doc.service(n)?;
            Some(format!(
                "{n}: {}",
                s.description
                    .unwrap_or_else(|| "(no description)".to_string())
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
    let names = app.list_names(Screen::Networks);
    let rows: Vec<Vec<String>> = {
        let doc = app.editor.as_ref().and_then(|e| e.doc());
        names
            .iter()
            .map(|name| {
                let entries = doc.and_then(|d| d.network(name)).unwrap_or_default();
                let users = doc.map(|d| d.users_of(name)).unwrap_or_default();
                let mut shown: Vec<&str> = entries.iter().take(3).map(String::as_str).collect();
                let more;
                if entries.len() > 3 {
                    more = format!("+{} more", entries.len() - 3);
                    shown.push(&more);
                }
                vec![
                    marker(app, Section::Networks, name),
                    name.clone(),
                    entries.len().to_string(),
                    shown.join(", "),
                    if users.is_empty() {
                        "(unused)".to_string()
                    } else {
                        users.join(", ")
                    },
                ]
            })
            .collect()
    };
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
    let name = match section {
        Section::Services => "Services",
        Section::Networks => "Networks",
    };
    let block = pane_block(
        title(format!("{name} · {}", app.config.policy_path), theme),
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

fn marker(app: &App, section: Section, name: &str) -> String {
    app.editor
        .as_ref()
        .and_then(|e| e.marker(section, name))
        .map(String::from)
        .unwrap_or_default()
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
