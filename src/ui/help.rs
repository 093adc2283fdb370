//! The `?` overlay: every key from the keymap, the mouse, and what the colours mean.
//!
//! ```text
//!        ┌ Help ─────────────────────────────────────┐
//!        │ q        Quit (the firewall stays as it is)│
//!        │ …                                         │
//!        │ Exposure: open to anyone, …               │
//!        └───────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use crate::app::App;
use crate::app::keymap::{Scope, bindings_in};

/// The help of `scope` (the screen it was opened on): its keys, and on the overview what
/// the exposure colours mean; elsewhere, the keys of the forms.
pub fn draw(frame: &mut Frame, app: &mut App, scope: Scope, theme: &Theme, area: Rect) {
    // The keys in two columns when there is room, so the help fits 80×24.
    let entries: Vec<Vec<Span>> = bindings_in(scope)
        .map(|b| {
            let disabled = b.changes_firewall && app.config.read_only;
            let mut help = b.help.to_string();
            if disabled {
                help.push_str(" (needs root)");
            }
            vec![
                Span::styled(
                    format!(" {:<7}", b.keys()),
                    if disabled {
                        theme.key_disabled
                    } else {
                        theme.key
                    },
                ),
                Span::raw(format!("{help:<30}")),
            ]
        })
        .collect();
    let two_columns = area.width >= 80;
    let mut lines: Vec<Line> = vec![Line::styled(
        " Never needed: Shift-Tab, F-keys, ^W ^T ^N ^Q (keys a browser keeps).",
        theme.muted,
    )];
    if two_columns {
        let half = entries.len().div_ceil(2);
        for i in 0..half {
            let mut spans = entries[i].clone();
            if let Some(right) = entries.get(i + half) {
                spans.extend(right.iter().cloned());
            }
            lines.push(Line::from(spans));
        }
    } else {
        lines.extend(entries.into_iter().map(Line::from));
    }
    if scope != Scope::Overview {
        lines.push(Line::raw(""));
        lines.push(Line::styled(" In a form", theme.header));
        let keys: Vec<String> = bindings_in(Scope::Form)
            .map(|b| {
                format!(
                    "{} {}",
                    b.keys(),
                    b.help.split([';', '(']).next().unwrap_or("").trim()
                )
            })
            .collect();
        lines.push(Line::raw(format!(" {}", keys.join(" · "))));
        lines.push(Line::raw(
            " Nothing is written until s saves; C on the diff screen saves and commits.",
        ));
        return show(frame, app, lines, theme, area);
    }
    lines.push(Line::from(vec![
        Span::styled(" mouse  ", theme.key),
        Span::raw("click a pane or row to select it; the wheel scrolls"),
    ]));
    lines.push(Line::styled(
        " OPEN TO: who may open a new connection to a socket",
        theme.header,
    ));
    for (text, style, what) in [
        (
            "anyone",
            theme.exposure_anyone,
            "a service allows any source",
        ),
        (
            "admin, soc",
            theme.exposure_networks,
            "only these networks (or prefixes)",
        ),
        (
            "loopback only",
            theme.exposure_loopback,
            "bound to 127.0.0.0/8 or ::1",
        ),
        (
            "nobody (blocked)",
            theme.exposure_blocked,
            "covered, but no allowed source of its family",
        ),
        (
            "no rule (drop)",
            theme.exposure_uncovered,
            "no service covers it: the chain policy decides",
        ),
        (
            "… *",
            theme.base,
            "the policy file says otherwise (not applied yet)",
        ),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("   {text:<17}"), style),
            Span::raw(what),
        ]));
    }
    lines.push(Line::raw(
        " Selecting a socket highlights the rules that decide it; a rule, its sockets.",
    ));
    show(frame, app, lines, theme, area);
}

/// The help in a box that fits the screen; what does not fit scrolls (↑↓), and the way
/// out is on the bottom border, so it is never the line that is lost.
fn show(frame: &mut Frame, app: &mut App, lines: Vec<Line<'_>>, theme: &Theme, area: Rect) {
    let width = 80.min(area.width);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    // Lines as wrapped at this width.
    let wrapped: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_width).max(1))
        .sum();
    let height = (wrapped as u16 + 2).min(area.height);
    let visible = usize::from(height.saturating_sub(2));
    let max_scroll = wrapped.saturating_sub(visible);
    app.help_scroll = app.help_scroll.min(max_scroll);
    let mut bottom = "Esc, ? or q closes this help".to_string();
    if max_scroll > 0 {
        let more = match (app.help_scroll > 0, app.help_scroll < max_scroll) {
            (true, true) => "↑↓",
            (false, _) => "↓",
            (true, false) => "↑",
        };
        bottom = format!("Esc, ? or q closes this help · {more} more");
    }
    let inner = super::popup_with_bottom(frame, area, width, height, "Help", Some(&bottom), theme);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.help_scroll as u16, 0)),
        inner,
    );
}
