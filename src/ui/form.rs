//! The service and network forms, drawn over the screen: a label, the input and, under
//! it, the validator's finding (in the error style) or a hint; the network names the allow
//! field can complete to; findings about the rest of the file at the bottom.
//!
//! ```text
//! ┌ New service ──────────────────────────────────────────────────┐
//! │ Name         web                                               │
//! │              letters, digits, - and _                          │
//! │ Ports        443/tcp, 99999/tcp                                │
//! │              services.web.ports: port 99999 is out of range …  │
//! │▸Allow        ad▏                                               │
//! │              Tab completes: admin                              │
//! │              ✗ services.web.allow: unknown network "ad" …      │
//! │ not valid yet: fix the fields marked ✗                         │
//! └───────────────────────────────────────────────────────────────┘
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::popup;
use super::theme::Theme;
use crate::app::editor::Section;
use crate::app::form::{Field, Form};

const LABEL: u16 = 13;
/// The popup's width where the terminal has it.
const WIDTH: u16 = 78;
/// Lines a finding under its field may take; a longer one ends in `…`.
const FINDING_LINES: usize = 3;
/// Lines the list of addresses shows at once (it scrolls beyond).
const LIST_LINES: u16 = 8;

pub fn draw(frame: &mut Frame, form: &mut Form, theme: &Theme, area: Rect) {
    let what = match form.section {
        Section::Services => "service",
        Section::Networks => "network",
        Section::Blocks => "block",
    };
    let title = match &form.original {
        None => format!("New {what}"),
        Some(name) => format!("Edit {what} {name}"),
    };
    let completions: Vec<String> = form.completions().into_iter().map(String::from).collect();
    // What a field's message gets: the popup's inner width less the label.
    let text_width = usize::from(WIDTH.min(area.width).saturating_sub(2 + LABEL));
    let mut messages: Vec<u16> = form
        .fields
        .iter()
        .map(|f| message_lines(f, text_width))
        .collect();
    let heights = |messages: &[u16]| -> Vec<u16> {
        form.fields
            .iter()
            .zip(messages)
            .enumerate()
            .map(|(i, (f, m))| {
                input_lines(f) + m + u16::from(i == form.focus && !completions.is_empty())
            })
            .collect()
    };
    let general = form.general.len() as u16;
    // The fields, findings elsewhere, the form's state line, and the borders.
    let height = |messages: &[u16]| heights(messages).iter().sum::<u16>() + general + 1 + 2;
    // Where the terminal is too short, the other fields' findings take one line each
    // (from the bottom up, ending in `…`); the focused field's keeps all of its own.
    for i in (0..messages.len()).rev() {
        if height(&messages) <= area.height {
            break;
        }
        if i != form.focus {
            messages[i] = 1;
        }
    }
    // Still too tall: the other fields' hints go (a finding stays, on its one line).
    for i in (0..messages.len()).rev() {
        if height(&messages) <= area.height {
            break;
        }
        if i != form.focus && form.fields[i].error.is_none() {
            messages[i] = 0;
        }
    }
    let heights = heights(&messages);
    let height = height(&messages);
    let inner = popup(frame, area, WIDTH, height, &title, theme);

    let mut constraints: Vec<Constraint> = heights.iter().map(|h| Constraint::Length(*h)).collect();
    constraints.push(Constraint::Length(general));
    constraints.push(Constraint::Min(1));
    let areas = Layout::vertical(constraints).split(inner);

    let focus = form.focus;
    for (i, field) in form.fields.iter_mut().enumerate() {
        let offer: &[String] = if i == focus { &completions } else { &[] };
        let look = FieldLook {
            focused: i == focus,
            completions: offer,
            message_lines: messages[i],
        };
        draw_field(frame, field, &look, theme, areas[i]);
    }
    let n = form.fields.len();
    let general: Vec<Line> = form
        .general
        .iter()
        .map(|g| Line::styled(format!(" elsewhere in the file: {g}"), theme.status_error))
        .collect();
    frame.render_widget(Paragraph::new(general).wrap(Wrap { trim: false }), areas[n]);
    let state = if form.valid && form.fields[form.focus].multi_line {
        Line::styled(
            " ✓ valid: ^S takes it into the edits (⏎ adds a line)",
            theme.key,
        )
    } else if form.valid {
        Line::styled(
            " ✓ valid: ⏎ takes it into the edits; s then saves them",
            theme.key,
        )
    } else if form.untouched {
        Line::styled(
            " fill in the fields; ⏎ takes it into the edits when it is valid",
            theme.muted,
        )
    } else {
        Line::styled(" not valid yet: fix the fields marked ✗", theme.warning)
    };
    frame.render_widget(
        Paragraph::new(super::fitted(state, areas[n + 1].width)),
        areas[n + 1],
    );
}

fn input_lines(field: &Field) -> u16 {
    if field.multi_line { LIST_LINES } else { 1 }
}

/// Lines the finding (or the hint) under a field wants.
fn message_lines(field: &Field, text_width: usize) -> u16 {
    field.error.as_ref().map_or(1, |e| {
        finding_lines(e, text_width, FINDING_LINES).len().max(1) as u16
    })
}

fn finding_lines(error: &str, text_width: usize, lines: usize) -> Vec<String> {
    super::format::wrap(&format!("✗ {error}"), text_width, lines)
}

/// How a field is drawn this frame.
struct FieldLook<'a> {
    focused: bool,
    /// The names Tab completes to (the focused field's).
    completions: &'a [String],
    /// The lines its finding gets.
    message_lines: u16,
}

fn draw_field(frame: &mut Frame, field: &mut Field, look: &FieldLook, theme: &Theme, area: Rect) {
    let (focused, completions) = (look.focused, look.completions);
    let input_height = input_lines(field);
    let offer = u16::from(!completions.is_empty());
    let [input_row, offer_row, message_row] = Layout::vertical([
        Constraint::Length(input_height),
        Constraint::Length(offer),
        Constraint::Length(look.message_lines),
    ])
    .areas(area);
    if offer > 0 {
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::raw(" ".repeat(usize::from(LABEL))),
                Span::styled("Tab completes: ", theme.muted),
                Span::styled(completions.join("  "), theme.key),
            ])),
            offer_row,
        );
    }
    let [label_area, input_area] =
        Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(input_row);
    let label_style = if focused { theme.key } else { theme.base };
    let marker = if focused { "▸" } else { " " };
    frame.render_widget(
        Paragraph::new(Span::styled(
            format!("{marker}{}", field.label),
            label_style,
        )),
        label_area,
    );
    // This frame's styles, set on the field's own textarea (a copy would copy its undo
    // history, and a pasted list, on every frame).
    let input = &mut field.area;
    let base = if field.error.is_some() {
        theme.status_error
    } else {
        theme.selected
    };
    input.set_style(if focused { base } else { theme.base });
    input.set_cursor_line_style(Style::default());
    input.set_cursor_style(if focused {
        // Underlined as well, so it shows where the field itself is drawn reversed (mono).
        Style::default().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED)
    } else {
        Style::default()
    });
    input.set_placeholder_text(if field.multi_line { "one per line" } else { "" });
    if focused || field.multi_line {
        // The field being typed in scrolls to its cursor, as any input does.
        frame.render_widget(&*input, input_area);
    } else {
        // Any other shows its start, and `…` where it goes on past the edge.
        let text = super::format::fit(&field.text(), usize::from(input_area.width));
        frame.render_widget(Paragraph::new(Span::styled(text, theme.base)), input_area);
    }
    let [_, message_area] =
        Layout::horizontal([Constraint::Length(LABEL), Constraint::Fill(1)]).areas(message_row);
    let width = usize::from(message_area.width);
    let message: Vec<Line> = match &field.error {
        Some(e) => finding_lines(e, width, usize::from(look.message_lines))
            .into_iter()
            .map(|l| Line::styled(l, theme.status_error))
            .collect(),
        None if field.multi_line => {
            let n = field.entries().len();
            let text = format!(
                "{n} {}; {}",
                if n == 1 { "entry" } else { "entries" },
                field.hint
            );
            vec![Line::styled(super::format::fit(&text, width), theme.muted)]
        }
        None => vec![Line::styled(
            super::format::fit(field.hint, width),
            theme.muted,
        )],
    };
    frame.render_widget(Paragraph::new(message), message_area);
}
