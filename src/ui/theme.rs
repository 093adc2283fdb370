//! Themes: named style slots read from TOML. The four in `themes/` are compiled into the
//! binary; a file of the same name in the user's config directory overrides one, and
//! `--theme PATH.toml` loads any file. `NO_COLOR` strips colours and keeps modifiers.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The built-in themes, by name, from `themes/*.toml`.
const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Every style the views use, by what it is for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Theme {
    pub base: Style,
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub header: Style,
    pub selected: Style,
    /// Rows linked to the selection in the other pane.
    pub linked: Style,
    pub muted: Style,
    pub sparkline: Style,
    pub exposure_anyone: Style,
    pub exposure_networks: Style,
    pub exposure_loopback: Style,
    pub exposure_blocked: Style,
    pub exposure_uncovered: Style,
    pub policy_drop: Style,
    pub status_bar: Style,
    pub status_error: Style,
    pub pending: Style,
    pub warning: Style,
    pub key: Style,
    pub key_disabled: Style,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("no theme named {name:?}; built in: {builtin}, or a file in {dir}")]
    Unknown {
        name: String,
        builtin: String,
        dir: String,
    },
    #[error("cannot read theme {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("theme {origin}: {message}")]
    Invalid { origin: String, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotFile {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    base: SlotFile,
    #[serde(default)]
    title: SlotFile,
    #[serde(default)]
    border: SlotFile,
    #[serde(default)]
    border_focused: SlotFile,
    #[serde(default)]
    header: SlotFile,
    #[serde(default)]
    selected: SlotFile,
    #[serde(default)]
    linked: SlotFile,
    #[serde(default)]
    muted: SlotFile,
    #[serde(default)]
    sparkline: SlotFile,
    #[serde(default)]
    exposure_anyone: SlotFile,
    #[serde(default)]
    exposure_networks: SlotFile,
    #[serde(default)]
    exposure_loopback: SlotFile,
    #[serde(default)]
    exposure_blocked: SlotFile,
    #[serde(default)]
    exposure_uncovered: SlotFile,
    #[serde(default)]
    policy_drop: SlotFile,
    #[serde(default)]
    status_bar: SlotFile,
    #[serde(default)]
    status_error: SlotFile,
    #[serde(default)]
    pending: SlotFile,
    #[serde(default)]
    warning: SlotFile,
    #[serde(default)]
    key: SlotFile,
    #[serde(default)]
    key_disabled: SlotFile,
}

impl Theme {
    /// Parses a theme file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let file: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let slot =
            |name: &str, s: &SlotFile| style_of(s).map_err(|m| invalid(format!("{name}: {m}")));
        Ok(Theme {
            base: slot("base", &file.base)?,
            title: slot("title", &file.title)?,
            border: slot("border", &file.border)?,
            border_focused: slot("border_focused", &file.border_focused)?,
            header: slot("header", &file.header)?,
            selected: slot("selected", &file.selected)?,
            linked: slot("linked", &file.linked)?,
            muted: slot("muted", &file.muted)?,
            sparkline: slot("sparkline", &file.sparkline)?,
            exposure_anyone: slot("exposure_anyone", &file.exposure_anyone)?,
            exposure_networks: slot("exposure_networks", &file.exposure_networks)?,
            exposure_loopback: slot("exposure_loopback", &file.exposure_loopback)?,
            exposure_blocked: slot("exposure_blocked", &file.exposure_blocked)?,
            exposure_uncovered: slot("exposure_uncovered", &file.exposure_uncovered)?,
            policy_drop: slot("policy_drop", &file.policy_drop)?,
            status_bar: slot("status_bar", &file.status_bar)?,
            status_error: slot("status_error", &file.status_error)?,
            pending: slot("pending", &file.pending)?,
            warning: slot("warning", &file.warning)?,
            key: slot("key", &file.key)?,
            key_disabled: slot("key_disabled", &file.key_disabled)?,
        })
    }

    /// A built-in theme.
    pub fn built_in(name: &str) -> Option<Theme> {
        BUILT_IN
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(n, text)| Theme::parse(text, &format!("built-in {n}")).ok())
    }

    /// The theme `--theme` names: a path (contains `/` or ends in `.toml`), else a file
    /// `NAME.toml` in `config_dir/themes`, else a built-in theme.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let read = |path: &Path| {
            let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            Theme::parse(&text, &path.display().to_string())
        };
        if name.contains('/') || name.ends_with(".toml") {
            return read(Path::new(name));
        }
        let user_dir = config_dir.map(|d| d.join("themes"));
        if let Some(dir) = &user_dir {
            let path = dir.join(format!("{name}.toml"));
            if path.is_file() {
                return read(&path);
            }
        }
        Theme::built_in(name).ok_or_else(|| ThemeError::Unknown {
            name: name.to_string(),
            builtin: BUILT_IN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
            dir: user_dir.map_or("~/.config/portcullis/themes".into(), |d| {
                d.display().to_string()
            }),
        })
    }

    /// The same theme without any colour: what NO_COLOR asks for. Modifiers stay, so the
    /// selection and the exposure still stand out.
    pub fn without_colour(&self) -> Theme {
        let strip = |s: Style| Style {
            fg: None,
            bg: None,
            underline_color: None,
            ..s
        };
        Theme {
            base: strip(self.base),
            title: strip(self.title),
            border: strip(self.border),
            border_focused: strip(self.border_focused),
            header: strip(self.header),
            // Colour was what marked these; reverse video and underline mark them instead.
            selected: strip(self.selected).add_modifier(Modifier::REVERSED),
            linked: strip(self.linked).add_modifier(Modifier::UNDERLINED),
            muted: strip(self.muted),
            sparkline: strip(self.sparkline),
            exposure_anyone: strip(self.exposure_anyone),
            exposure_networks: strip(self.exposure_networks),
            exposure_loopback: strip(self.exposure_loopback),
            exposure_blocked: strip(self.exposure_blocked),
            exposure_uncovered: strip(self.exposure_uncovered),
            policy_drop: strip(self.policy_drop),
            status_bar: strip(self.status_bar).add_modifier(Modifier::REVERSED),
            status_error: strip(self.status_error).add_modifier(Modifier::REVERSED),
            pending: strip(self.pending).add_modifier(Modifier::REVERSED),
            warning: strip(self.warning),
            key: strip(self.key),
            key_disabled: strip(self.key_disabled),
        }
    }
}

/// The user's config directory for portcullis: $XDG_CONFIG_HOME/portcullis, else
/// ~/.config/portcullis.
pub fn config_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        })?;
    Some(base.join("portcullis"))
}

/// Whether colour is off: `--no-color`, or NO_COLOR set to anything non-empty
/// (https://no-color.org).
pub fn colour_disabled(flag: bool, env: impl Fn(&str) -> Option<String>) -> bool {
    flag || env("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn style_of(slot: &SlotFile) -> Result<Style, String> {
    let colour = |text: &str| {
        Color::from_str(text).map_err(|_| {
            format!("{text:?} is not a colour (a name like red or lightblue, #rrggbb, or 0-255)")
        })
    };
    let mut style = Style::default();
    if let Some(fg) = &slot.fg {
        style = style.fg(colour(fg)?);
    }
    if let Some(bg) = &slot.bg {
        style = style.bg(colour(bg)?);
    }
    for m in &slot.modifiers {
        let modifier = match m.as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" => Modifier::UNDERLINED,
            "reversed" => Modifier::REVERSED,
            "crossedout" => Modifier::CROSSED_OUT,
            other => {
                return Err(format!(
                    "{other:?} is not a modifier (bold, dim, italic, underlined, reversed, \
                     crossedout)"
                ));
            }
        };
        style = style.add_modifier(modifier);
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses() {
        for (name, text) in BUILT_IN {
            Theme::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn built_in_themes_use_only_the_16_ansi_colours() {
        // So a 16-colour console shows them as designed.
        for (name, _) in BUILT_IN {
            let t = Theme::built_in(name).expect("parses");
            let styles = [
                t.base,
                t.title,
                t.border,
                t.border_focused,
                t.header,
                t.selected,
                t.linked,
                t.muted,
                t.sparkline,
                t.exposure_anyone,
                t.exposure_networks,
                t.exposure_loopback,
                t.exposure_blocked,
                t.exposure_uncovered,
                t.policy_drop,
                t.status_bar,
                t.status_error,
                t.pending,
                t.warning,
                t.key,
                t.key_disabled,
            ];
            for s in styles {
                for c in [s.fg, s.bg].into_iter().flatten() {
                    assert!(
                        !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                        "{name} uses {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn mono_has_no_colour_and_no_color_strips_it() {
        let mono = Theme::built_in("mono").expect("mono");
        assert_eq!(mono.without_colour().header, mono.header);
        assert_eq!(mono.exposure_anyone.fg, None);
        let stripped = Theme::built_in("default")
            .expect("default")
            .without_colour();
        assert_eq!(stripped.exposure_anyone.fg, None);
        assert!(stripped.selected.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn errors_name_the_slot_and_the_bad_value() {
        let e = Theme::parse("[header]\nfg = \"purplish\"\n", "t.toml").unwrap_err();
        assert!(
            e.to_string().contains("header") && e.to_string().contains("purplish"),
            "{e}"
        );
        let e = Theme::parse("[headr]\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("headr"), "{e}");
    }

    #[test]
    fn a_user_file_overrides_a_built_in_one_and_paths_load_directly() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("themes")).expect("mkdir");
        std::fs::write(
            dir.path().join("themes/default.toml"),
            "[header]\nfg = \"red\"\n",
        )
        .expect("write");
        let t = Theme::load("default", Some(dir.path())).expect("loads");
        assert_eq!(t.header.fg, Some(Color::Red));
        let path = dir.path().join("themes/default.toml");
        let t = Theme::load(path.to_str().expect("utf8"), None).expect("loads");
        assert_eq!(t.header.fg, Some(Color::Red));
        let e = Theme::load("nosuch", Some(dir.path())).unwrap_err();
        assert!(e.to_string().contains("high-contrast"), "{e}");
    }

    #[test]
    fn no_color_follows_the_convention() {
        assert!(colour_disabled(false, |_| Some("1".into())));
        assert!(!colour_disabled(false, |_| Some(String::new())));
        assert!(colour_disabled(true, |_| None));
        assert_eq!(
            config_dir(|k| (k == "HOME").then(|| "/root".into())),
            Some(PathBuf::from("/root/.config/portcullis"))
        );
    }
}
