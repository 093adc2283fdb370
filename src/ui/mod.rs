//! Rendering only: the state in `app` drawn into a ratatui frame. One file per part of the
//! screen; nothing here reads the system or changes state other than table scroll offsets
//! and the areas the mouse needs.
//!
//! Every screen has the screen tabs on top and the status bar and key footer below; the
//! overview's body is:
//!
//! ```text
//! wide (120 columns and more)               narrow (below 120)
//! ┌ Sockets ──────────┐┌ Rules ──────────┐  Sockets │ Rules            (tabs)
//! │ PORT PROTO …      ││ SERVICE PACKETS…│  ┌ Sockets ──────────────────┐
//! │ …                 ││ …               │  │ …                         │
//! ├ Drops ────────────┤│ input policy    │  └───────────────────────────┘
//! │ LAST COUNT SOURCE…││                 │  other tables (collapsed)
//! └───────────────────┘└─────────────────┘  (tabs: Sockets │ Rules │ Drops)
//! other tables (collapsed: one line)        status
//! status: host │ table │ policy │ age       [pending · notice · errors]
//! [pending commit · notice · errors]        footer
//! footer: keys
//! ```

mod ask;
mod columns;
mod countdown;
mod diff;
mod drops;
mod form;
pub mod format;
mod help;
mod lists;
mod other_tables;
mod rules;
mod sockets;
mod status;
pub mod theme;

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, TableState};

use crate::app::{App, Focus, Modal, Screen};
use theme::Theme;

/// From this width on, the two panes stand side by side.
/// (Cockpit's shell gives 113 in a 1280-pixel window.)
pub const SIDE_BY_SIDE: u16 = 110;
/// The sockets pane's share of the width when side by side, in percent.
pub const SOCKETS_SHARE: u16 = 61;

/// The sockets pane's share at `width` columns. Below 130 columns (Cockpit's 113) the
/// rules pane needs more of the width to keep its since-when title, and the sockets pane
/// drops CONN first.
pub fn sockets_share(width: u16) -> u16 {
    if width < 130 { 57 } else { SOCKETS_SHARE }
}

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base), area);
    let status_lines = status::lines(app, theme, area.width);
    let other = if app.screen == Screen::Overview {
        other_tables::height(app, area.height)
    } else {
        0
    };
    let [screens, main, other_area, status_area, footer_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(other),
        Constraint::Length(status::height(&status_lines, area.width)),
        Constraint::Length(1),
    ])
    .areas(area);

    app.areas = Default::default();
    draw_screen_tabs(frame, app, theme, screens);
    match app.screen {
        Screen::Overview => {
            draw_overview(frame, app, theme, main);
            other_tables::draw(frame, app, theme, other_area);
        }
        Screen::Services => lists::draw_services(frame, app, theme, main),
        Screen::Networks => lists::draw_networks(frame, app, theme, main),
        Screen::Blocks => lists::draw_blocks(frame, app, theme, main),
        Screen::Diff => diff::draw(frame, app, theme, main),
    }
    status::draw(frame, status_lines, theme, status_area);
    status::draw_footer(frame, app, theme, footer_area);
    if let Modal::Form(form) = &mut app.modal {
        form::draw(frame, form, theme, area);
        return;
    }
    if let Modal::Help(scope) = app.modal {
        help::draw(frame, app, scope, theme, area);
        return;
    }
    match &app.modal {
        Modal::None | Modal::Form(_) => {}
        Modal::Help(_) => {}
        Modal::Ask(_) | Modal::Conflict | Modal::Lockout(_) => ask::draw(frame, app, theme, area),
        Modal::Countdown => countdown::draw(frame, app, theme, area),
        Modal::LetIn(choose) => drops::draw_let_in(frame, app, choose, theme, area),
    }
}

fn draw_overview(frame: &mut Frame, app: &mut App, theme: &Theme, main: Rect) {
    if main.width >= SIDE_BY_SIDE {
        let share = sockets_share(main.width);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(share), Constraint::Fill(1)]).areas(main);
        // The sockets take what they need (up to half), the drops the space below.
        let wanted = (app.sockets.len() as u16).saturating_add(3).max(6);
        let [top, bottom] = Layout::vertical([
            Constraint::Length(wanted.min(left.height / 2).max(left.height.min(6))),
            Constraint::Fill(1),
        ])
        .areas(left);
        sockets::draw(frame, app, theme, top);
        drops::draw(frame, app, theme, bottom);
        rules::draw(frame, app, theme, right);
    } else {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(main);
        draw_tabs(frame, app, theme, tabs);
        match app.focus {
            Focus::Sockets => sockets::draw(frame, app, theme, pane),
            Focus::Rules => rules::draw(frame, app, theme, pane),
            Focus::Drops => drops::draw(frame, app, theme, pane),
        }
    }
}

/// The screens by their number keys, the current one marked; unsaved edits on the right.
fn draw_screen_tabs(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let mut spans = Vec::new();
    let mut x = area.x;
    for (i, (key, name, screen)) in [
        ('1', "Overview", Screen::Overview),
        ('2', "Services", Screen::Services),
        ('3', "Networks", Screen::Networks),
        ('4', "Diff", Screen::Diff),
        ('5', "Blocks", Screen::Blocks),
    ]
    .into_iter()
    .enumerate()
    {
        let style = if app.screen == screen {
            theme.selected
        } else {
            theme.muted
        };
        let text = format!(" {key} {name} ");
        let width = text.chars().count() as u16;
        // Where each tab is, for the mouse.
        app.areas.screen_tabs[i] = Rect {
            x,
            y: area.y,
            width: width.min(area.right().saturating_sub(x)),
            height: 1,
        };
        x = x.saturating_add(width);
        spans.push(Span::styled(text, style));
    }
    if app.dirty() {
        // The longest that fits beside the tabs (never cut).
        let room = area.right().saturating_sub(x);
        if let Some(mark) = ["  ● unsaved edits (s saves)", "  ● unsaved", " ●"]
            .into_iter()
            .find(|m| m.chars().count() as u16 <= room)
        {
            spans.push(Span::styled(mark, theme.warning));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A box in the middle of `area`, cleared, with a title: for the overlays.
fn popup(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title_text: &str,
    theme: &Theme,
) -> Rect {
    popup_with_bottom(frame, area, width, height, title_text, None, theme)
}

/// The same, with a line on its bottom border (what closes it, that more is below).
fn popup_with_bottom(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    height: u16,
    title_text: &str,
    bottom: Option<&str>,
    theme: &Theme,
) -> Rect {
    use ratatui::layout::Flex;
    use ratatui::widgets::Clear;
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    frame.render_widget(Clear, popup);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(format!(" {title_text} "), theme.title))
        .style(theme.base);
    if let Some(text) = bottom {
        block = block.title_bottom(Span::styled(format!(" {text} "), theme.muted));
    }
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    inner
}

fn draw_tabs(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let tab = |name: &str, focus: Focus| {
        if app.focus == focus {
            Span::styled(format!(" {name} "), theme.selected)
        } else {
            Span::styled(format!(" {name} "), theme.muted)
        }
    };
    let line = Line::from(vec![
        tab("Sockets", Focus::Sockets),
        Span::styled("│", theme.border),
        tab("Rules", Focus::Rules),
        Span::styled("│", theme.border),
        tab("Drops", Focus::Drops),
        Span::styled("  Tab switches", theme.muted),
    ]);
    app.areas.tabs = Rect {
        width: 27.min(area.width),
        ..area
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The rows of a `len`-row table that fit `height` lines, scrolled so that `selected` stays
/// in view; keeps the scroll offset in `state`. The panes build only these rows: with
/// 1,000 sockets, building every row on every frame was most of the drawing time.
fn visible_rows(
    state: &mut TableState,
    selected: Option<usize>,
    len: usize,
    height: usize,
) -> Range<usize> {
    let mut offset = state.offset().min(len.saturating_sub(height.max(1)));
    if let Some(s) = selected.filter(|s| *s < len) {
        if s < offset {
            offset = s;
        } else if height > 0 && s >= offset + height {
            offset = s + 1 - height;
        }
    }
    *state.offset_mut() = offset;
    offset..(offset + height).min(len)
}

/// The table state that draws the rows `window` shows: the selection, if in it, counted
/// from the window's first row (the panes build only the visible rows).
fn window_state(selected: Option<usize>, window: &Range<usize>) -> TableState {
    TableState::default().with_selected(
        selected
            .filter(|s| window.contains(s))
            .map(|s| s - window.start),
    )
}

/// A pane's frame, its border brighter while it has the focus.
fn pane_block<'a>(title: Line<'a>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(title)
}

/// A one-line message in `width` cells, cut with an `…` rather than silently.
fn fitted(line: Line<'_>, width: u16) -> Line<'static> {
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let style = line
        .spans
        .first()
        .map_or(line.style, |s| line.style.patch(s.style));
    Line::styled(format::fit(&text, usize::from(width)), style)
}

/// A title of the theme's title style.
fn title<'a>(text: String, theme: &Theme) -> Line<'a> {
    Line::from(Span::styled(format!(" {text} "), theme.title))
}

/// A style for one of the exposure kinds.
fn exposure_style(exposure: Option<&crate::sockets::exposure::Exposure>, theme: &Theme) -> Style {
    use crate::sockets::exposure::Exposure;
    match exposure {
        Some(Exposure::Anyone) => theme.exposure_anyone,
        Some(Exposure::Networks(_)) => theme.exposure_networks,
        Some(Exposure::LoopbackOnly) => theme.exposure_loopback,
        Some(Exposure::Blocked) => theme.exposure_blocked,
        Some(Exposure::Uncovered) => theme.exposure_uncovered,
        None => theme.muted,
    }
}

/// The keys of the overlay in front, as one line (from the keymap, like the footer).
fn key_hints(app: &App, theme: &Theme) -> Line<'static> {
    let spans: Vec<Span> = crate::app::keymap::bindings_in(app.scope())
        .filter_map(|b| Some((b.first_key(), b.footer?)))
        .flat_map(|(k, label)| {
            [
                Span::styled(format!(" {k}"), theme.key),
                Span::styled(format!(" {label} "), theme.muted),
            ]
        })
        .collect();
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_selection() {
        let mut state = TableState::default();
        assert_eq!(visible_rows(&mut state, Some(0), 100, 10), 0..10);
        assert_eq!(visible_rows(&mut state, Some(15), 100, 10), 6..16);
        assert_eq!(
            visible_rows(&mut state, Some(10), 100, 10),
            6..16,
            "stays while visible"
        );
        assert_eq!(visible_rows(&mut state, Some(2), 100, 10), 2..12);
        assert_eq!(visible_rows(&mut state, Some(99), 100, 10), 90..100);
        assert_eq!(visible_rows(&mut state, None, 5, 10), 0..5, "shrunk list");
        // A selection outside the list (the rules pane's pinned row) leaves the window be.
        assert_eq!(visible_rows(&mut state, Some(120), 100, 10), 0..10);
    }
}
