//! The diff screen: lockout warnings first (in the warning colour), then what the edits
//! change in policy terms, then the nft text diff of the live table against the edited
//! policy, coloured and scrollable; the line under it says what C would do.
//!
//! ```text
//! ┌ Diff · live inet portcullis → edited policy ───────────────────────┐
//! │ LOCKOUT: the new policy drops new connections from 192.0.2.7 …      │
//! │ In policy terms                                                     │
//! │ + service web: 443/tcp from any                                     │
//! │ ~ rules: 2 added, 0 removed                                         │
//! │ nft                                                                 │
//! │ --- live: table inet portcullis                                     │
//! │ +++ policy: /etc/portcullis/policy.toml                             │
//! │ +        ip6 saddr … tcp dport 443 counter … accept                  │
//! └─────────────────────────────────────────────────────────────────────┘
//! │ C commits: saves the file, applies it, rolls back in 30s unless kept │
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use super::{pane_block, title};
use crate::app::App;
use crate::app::review::ReviewState;

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme, area: Rect) {
    let block = pane_block(
        title(
            format!("Diff · live inet {} → edited policy", app.config.table),
            theme,
        ),
        true,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, action] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    app.areas.list_rows = body;

    let (lines, action_line): (Vec<Line>, Line) = match &app.review {
        ReviewState::Preparing => (
            vec![Line::styled("Making the diff…", theme.muted)],
            Line::raw(""),
        ),
        ReviewState::None => (
            vec![Line::styled(
                "No diff of the policy as it is now: r makes it.",
                theme.muted,
            )],
            Line::raw(""),
        ),
        ReviewState::Failed(e) => (
            e.lines()
                .map(|l| Line::styled(l.to_string(), theme.status_error))
                .collect(),
            Line::styled("fix it, then r makes the diff again", theme.muted),
        ),
        ReviewState::Ready(r) => {
            let mut lines: Vec<Line> = Vec::new();
            for l in &r.lockouts {
                lines.push(Line::styled(l.clone(), theme.warning));
            }
            lines.push(Line::styled("In policy terms", theme.header));
            if r.changes.is_empty() {
                lines.push(Line::styled(
                    "  no edits (the policy file as saved)",
                    theme.muted,
                ));
            }
            for c in &r.changes {
                lines.push(Line::styled(format!("  {c}"), sign_style(c, theme)));
            }
            lines.push(Line::styled("nft", theme.header));
            if r.diff.is_empty() {
                lines.push(Line::styled(
                    format!(
                        "  table inet {} already matches: nothing to commit",
                        r.table
                    ),
                    theme.muted,
                ));
            }
            for l in r.diff.lines() {
                // Tabs would leave the cells between tab stops unpainted.
                lines.push(Line::styled(l.replace('\t', "    "), sign_style(l, theme)));
            }
            let action = if app.pending.is_some() {
                Line::styled(
                    "a commit is pending: keep it (c) or roll it back (b) before the next",
                    theme.warning,
                )
            } else if r.diff.is_empty() {
                Line::styled("nothing to commit", theme.muted)
            } else {
                Line::styled(
                    format!(
                        "C commits: saves the file, applies it, rolls back in {}s unless kept",
                        r.confirm_timeout.as_secs()
                    ),
                    theme.key,
                )
            };
            (lines, action)
        }
    };
    // Wrapped here rather than by the paragraph, so that a continuation keeps its line's
    // sign and indent (a cut `+` rule would read as context).
    let width = usize::from(body.width).max(8);
    let wrapped: Vec<Line> = lines
        .into_iter()
        .flat_map(|l| wrap_keeping_sign(l, width))
        .collect();
    let scroll = app.diff_scroll.min(wrapped.len().saturating_sub(1));
    let visible: Vec<Line> = wrapped.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(visible), body);
    frame.render_widget(
        Paragraph::new(super::fitted(action_line, action.width)),
        action,
    );
}

fn sign_style(line: &str, theme: &Theme) -> ratatui::style::Style {
    if line.starts_with("+++") || line.starts_with("---") || line.starts_with("@@") {
        theme.muted
    } else if line.starts_with('+') {
        theme.diff_added
    } else if line.starts_with('-') {
        theme.diff_removed
    } else if line.starts_with('~') {
        theme.warning
    } else {
        theme.base
    }
}

/// One line in rows of `width`: the first as it is, each continuation starting with the
/// line's sign (`+`, `-`, `~` or a space) and its indent, so it still reads as part of it.
fn wrap_keeping_sign(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    let style = line.style;
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return vec![Line::styled(text, style)];
    }
    let sign_len = usize::from(matches!(chars.first(), Some('+' | '-' | '~')));
    let indent = chars[sign_len..].iter().take_while(|c| **c == ' ').count();
    // Continuations go in four further than the line, within reason.
    let prefix: String = chars[..sign_len]
        .iter()
        .copied()
        .chain(std::iter::repeat_n(' ', (indent + 4).min(width / 2)))
        .collect();
    let room = width.saturating_sub(prefix.chars().count()).max(1);
    let mut out = vec![Line::styled(
        chars[..width].iter().collect::<String>(),
        style,
    )];
    for chunk in chars[width..].chunks(room) {
        out.push(Line::from(vec![Span::styled(
            format!("{prefix}{}", chunk.iter().collect::<String>()),
            style,
        )]));
    }
    out
}
