//! The sockets pane: what listens, who owns it, and who can reach it.
//!
//! ```text
//! ┌ Sockets (5) ─────────────────────────────────────────────────────────┐
//! │ PORT  PROTO ADDRESS        PROCESS      SERVICE  CONN EXPOSURE       │
//! │   22  tcp   *              sshd/812     ssh         2 open to admin  │
//! │ 5432  tcp   127.0.0.1      postgres/90  postgres    0 loopback only  │
//! └──────────────────────────────────────────────────────────────────────┘
//! ```

use std::net::IpAddr;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::format::fit;
use super::theme::Theme;
use super::{exposure_style, pane_block, title, visible_rows, window_state};
use crate::app::filter::ListId;
use crate::app::sockets::SocketRow;
use crate::app::{App, Focus};
use crate::sockets::exposure::Exposure;

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let focused = app.focus == Focus::Sockets;
    let block = pane_block(
        title(
            app.filtered_title(
                ListId::Sockets,
                "Sockets",
                app.sockets.len(),
                app.all_sockets.len(),
            ),
            theme,
        ),
        focused,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    app.areas.sockets = area;

    if let Some(error) = &app.sockets_error
        && app.sockets.is_empty()
    {
        let text = format!("Cannot read the socket table: {error}");
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.status_error)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    if app.sockets.is_empty() {
        let text = if app.last_refresh_ms.is_none() {
            "Reading the socket table…"
        } else {
            "Nothing listens: no TCP listener and no bound UDP socket in this network namespace."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.muted)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }

    let linked = app.highlighted_sockets();
    let default_verdict = app
        .policy
        .as_ref()
        .map(|p| p.settings.input_policy.as_str());
    let height = usize::from(inner.height.saturating_sub(1));
    let selected = app.socket_table.selected();
    let window = visible_rows(&mut app.socket_table, selected, app.sockets.len(), height);
    // Text columns as wide as their widest cell (within limits); the exposure gets the rest.
    let widest = |f: &dyn Fn(&SocketRow) -> usize, min: usize, max: usize| {
        app.sockets
            .iter()
            .map(|s| f(s))
            .max()
            .unwrap_or(0)
            .clamp(min, max) as u16
    };
    let address_width = widest(&|s| address_text(s).chars().count(), 7, 39);
    let process_width = widest(&|s| process_text(s).chars().count(), 7, 24);
    let service_width = widest(
        &|s| s.listener.service.as_ref().map_or(0, |n| n.chars().count()),
        7,
        14,
    );
    let open_width = widest(&|s| open_to(s, default_verdict).chars().count() + 2, 7, 30);
    // Whole columns give way before any value is cut: CONN first, then SERVICE, then PROTO.
    let mut columns = Columns::ALL;
    let need = |c: &Columns| {
        let widths = [
            (true, 5),
            (c.proto, 5),
            (true, address_width),
            (true, process_width),
            (c.service, service_width),
            (c.conn, 4),
            (true, open_width),
        ];
        let shown: Vec<u16> = widths
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect();
        shown.iter().sum::<u16>() + shown.len() as u16 - 1
    };
    for drop in [Columns::no_conn, Columns::no_service, Columns::no_proto] {
        if need(&columns) <= inner.width {
            break;
        }
        columns = drop(columns);
    }
    // What the exposure column really gets: the rest of the width.
    let widths = Widths {
        address: address_width,
        process: process_width,
        open: inner
            .width
            .saturating_sub(need(&columns).saturating_sub(open_width)),
    };
    let rows: Vec<Row> = app.sockets[window.clone()]
        .iter()
        .zip(window.clone())
        .map(|(s, i)| {
            let row = socket_row(s, theme, default_verdict, &columns, &widths);
            if linked.contains(&i) {
                row.style(theme.linked)
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(columns.pick([
        "PORT", "PROTO", "ADDRESS", "PROCESS", "SERVICE", "CONN", "OPEN TO",
    ]))
    .style(theme.header);
    let table = Table::new(
        rows,
        columns.pick([
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(address_width),
            Constraint::Length(process_width),
            Constraint::Length(service_width),
            Constraint::Length(4),
            Constraint::Min(7),
        ]),
    )
    .header(header)
    .row_highlight_style(if focused { theme.selected } else { theme.base });
    app.areas.sockets_rows = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let mut state = window_state(selected, &window);
    frame.render_stateful_widget(table, inner, &mut state);
}

/// Which of the sockets pane's columns are shown.
#[derive(Clone, Copy)]
struct Columns {
    proto: bool,
    service: bool,
    conn: bool,
}

impl Columns {
    const ALL: Columns = Columns {
        proto: true,
        service: true,
        conn: true,
    };

    fn no_conn(self) -> Columns {
        Columns {
            conn: false,
            ..self
        }
    }

    fn no_service(self) -> Columns {
        Columns {
            service: false,
            ..self
        }
    }

    fn no_proto(self) -> Columns {
        Columns {
            proto: false,
            ..self
        }
    }

    /// The shown ones of the seven (PORT PROTO ADDRESS PROCESS SERVICE CONN OPEN TO).
    fn pick<T>(&self, all: [T; 7]) -> Vec<T> {
        let keep = [true, self.proto, true, true, self.service, self.conn, true];
        all.into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(t, _)| t)
            .collect()
    }
}

fn socket_row<'a>(
    s: &'a SocketRow,
    theme: &Theme,
    default_verdict: Option<&str>,
    columns: &Columns,
    widths: &Widths,
) -> Row<'a> {
    let l = &s.listener;
    let mut exposure = open_to(s, default_verdict);
    if s.differs() {
        // The policy file says otherwise: the help explains the mark.
        exposure.push_str(" *");
    }
    Row::new(columns.pick([
        Cell::from(Line::from(l.port.to_string()).right_aligned()),
        Cell::from(l.protocol.as_str()),
        Cell::from(fit(&address_text(s), widths.address.into())),
        Cell::from(fit(&process_text(s), widths.process.into())),
        Cell::from(l.service.clone().unwrap_or_default()),
        Cell::from(
            Line::from(l.connections.map_or(String::new(), |c| c.to_string())).right_aligned(),
        ),
        Cell::from(Span::styled(
            fit(&exposure, widths.open.into()),
            exposure_style(s.shown(), theme),
        )),
    ]))
}

/// The widths the cut-able cells get.
struct Widths {
    address: u16,
    process: u16,
    open: u16,
}

/// The exposure in a few words under the OPEN TO header: `anyone`, the network names,
/// `loopback only`, `nobody (blocked)`, `no rule (drop)`.
fn open_to(s: &SocketRow, default_verdict: Option<&str>) -> String {
    // Reached only on some of the host's addresses (the services' `on`).
    let mut on = if s.on.is_empty() {
        String::new()
    } else {
        format!(" on {}", s.on.join(", "))
    };
    // Blocks refuse some of those sources first.
    if !s.blocked_by.is_empty() {
        on.push_str(&format!(" −{}", s.blocked_by.join(" −")));
    }
    match s.shown() {
        None => "?".into(),
        Some(Exposure::Anyone) => format!("anyone{on}"),
        Some(Exposure::Networks(names)) => format!("{}{on}", names.join(", ")),
        Some(Exposure::LoopbackOnly) => "loopback only".into(),
        Some(Exposure::Blocked) => "nobody (blocked)".into(),
        Some(Exposure::Uncovered) => match default_verdict {
            Some(v) => format!("no rule ({v})"),
            None => "no rule".into(),
        },
    }
}

/// `name/pid`, or `?` when the owner is unknown (another user's, without root).
fn process_text(s: &SocketRow) -> String {
    match &s.listener.process {
        Some(p) => format!("{}/{}", p.name, p.pid),
        None => "?".into(),
    }
}

fn address_text(s: &SocketRow) -> String {
    let l = &s.listener;
    address(l.address, l.dual_stack, l.interface.as_deref())
}

/// `*` for a dual-stack wildcard (as ss prints it), `0.0.0.0`, `[::]` for an IPv6-only
/// wildcard, else the address; `%dev` for a socket bound to a device.
fn address(address: IpAddr, dual_stack: bool, interface: Option<&str>) -> String {
    let base = match address {
        IpAddr::V6(v6) if v6.is_unspecified() && dual_stack => "*".to_string(),
        IpAddr::V6(v6) if v6.is_unspecified() => "[::]".to_string(),
        a => a.to_string(),
    };
    match interface {
        Some(dev) => format!("{base}%{dev}"),
        None => base,
    }
}
