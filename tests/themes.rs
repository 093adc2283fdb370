//! Every built-in theme, rendered in the mind of the two terminals Cockpit gives (xterm.js
//! with its default ANSI palette on a black and on a white background), has every text
//! slot legible: WCAG's contrast ratio of at least 3.0 (AA for large and bold text and for
//! interface components; terminal text at these sizes reads like it). Borders, which are
//! lines rather than text, need 1.5. Bold ANSI 0-7 is drawn in the bright colour, as
//! xterm.js does (`drawBoldTextInBrightColors`); an explicit ANSI black is xterm.js's
//! #2e3436 (the "slate" the issue saw), not the terminal's own black.

use portcullis::ui::theme::Theme;
use ratatui::style::{Color, Modifier, Style};

/// xterm.js's default 16 colours.
const ANSI: [u32; 16] = [
    0x2e3436, 0xcc0000, 0x4e9a06, 0xc4a000, 0x3465a4, 0x75507b, 0x06989a, 0xd3d7cf, 0x555753,
    0xef2929, 0x8ae234, 0xfce94f, 0x729fcf, 0xad7fa8, 0x34e2e2, 0xeeeeec,
];

struct Terminal {
    name: &'static str,
    fg: u32,
    bg: u32,
}

const TERMINALS: [Terminal; 2] = [
    Terminal {
        name: "black background",
        fg: 0xffffff,
        bg: 0x000000,
    },
    Terminal {
        name: "white background",
        fg: 0x000000,
        bg: 0xffffff,
    },
];

fn index(c: Color) -> Option<usize> {
    Some(match c {
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(i) if i < 16 => usize::from(i),
        _ => return None,
    })
}

/// The colours a style is drawn in on `t`: (foreground, background).
fn drawn(style: Style, t: &Terminal) -> (u32, u32) {
    let bold = style.add_modifier.contains(Modifier::BOLD);
    let fg = match style.fg.and_then(index) {
        Some(i) if bold && i < 8 => ANSI[i + 8],
        Some(i) => ANSI[i],
        None => match style.fg {
            Some(Color::Rgb(r, g, b)) => u32::from_be_bytes([0, r, g, b]),
            _ => t.fg,
        },
    };
    let bg = match style.bg.and_then(index) {
        Some(i) => ANSI[i],
        None => match style.bg {
            Some(Color::Rgb(r, g, b)) => u32::from_be_bytes([0, r, g, b]),
            _ => t.bg,
        },
    };
    let (fg, bg) = if style.add_modifier.contains(Modifier::REVERSED) {
        (bg, fg)
    } else {
        (fg, bg)
    };
    // xterm.js draws dim text at half opacity: the colour halfway to the background.
    if style.add_modifier.contains(Modifier::DIM) {
        let mix = |shift: u32| ((((fg >> shift) & 0xff) + ((bg >> shift) & 0xff)) / 2) << shift;
        return (mix(16) | mix(8) | mix(0), bg);
    }
    (fg, bg)
}

fn luminance(rgb: u32) -> f64 {
    let channel = |shift: u32| {
        let c = f64::from((rgb >> shift) & 0xff) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0)
}

fn contrast(a: u32, b: u32) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn every_slot_of_every_theme_is_legible_on_black_and_on_white() {
    let mut failures = Vec::new();
    for name in ["default", "light", "high-contrast", "mono"] {
        let theme = Theme::built_in(name).expect("built in");
        let mut slots = theme.slots();
        // What the panes really draw: the title over its border (a title without a colour
        // of its own takes the border's), rows over the base.
        slots.push(("title over border", theme.border.patch(theme.title)));
        slots.push((
            "title over border_focused",
            theme.border_focused.patch(theme.title),
        ));
        for (slot, style) in slots {
            let style = theme.base.patch(style);
            for t in &TERMINALS {
                let (fg, bg) = drawn(style, t);
                let ratio = contrast(fg, bg);
                let need = if slot.starts_with("border") { 1.5 } else { 3.0 };
                if ratio < need {
                    failures.push(format!(
                        "{name}.{slot} on a {}: #{fg:06x} on #{bg:06x} = {ratio:.2} (< {need})",
                        t.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} illegible:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn high_contrast_has_at_least_the_default_theme_s_contrast() {
    let of = |name: &str, t: &Terminal| {
        let base = Theme::built_in(name).expect("built in").base;
        let (fg, bg) = drawn(base, t);
        contrast(fg, bg)
    };
    for t in &TERMINALS {
        assert!(
            of("high-contrast", t) >= of("default", t),
            "high-contrast's text has less contrast than the default's on a {}",
            t.name
        );
    }
}
