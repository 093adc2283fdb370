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

/// Declares the theme's slots once: the `Theme` struct, the TOML file's shape (every slot
/// optional, unknown ones refused), reading one into the other, and a map over all slots.
macro_rules! slots {
    ($($(#[$doc:meta])* $slot:ident,)*) => {
        /// Every style the views use, by what it is for.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Theme {
            $($(#[$doc])* pub $slot: Style,)*
        }

        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            $(#[serde(default)] $slot: SlotFile,)*
        }

        impl Theme {
            fn from_file(file: &ThemeFile) -> Result<Theme, String> {
                Ok(Theme {
                    $($slot: style_of(&file.$slot).map_err(|m| format!("{}: {m}", stringify!($slot)))?,)*
                })
            }

            /// The theme with `f` applied to every slot (given its name).
            fn map(&self, f: impl Fn(&str, Style) -> Style) -> Theme {
                Theme { $($slot: f(stringify!($slot), self.$slot),)* }
            }

            #[cfg(test)]
            fn styles(&self) -> Vec<Style> {
                vec![$(self.$slot),*]
            }

            /// Every slot by name (for checks over all of them, such as their contrast).
            pub fn slots(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($slot), self.$slot)),*]
            }
        }
    };
}

slots! {
    base,
    title,
    border,
    border_focused,
    header,
    selected,
    /// Rows linked to the selection in the other pane.
    linked,
    muted,
    sparkline,
    exposure_anyone,
    exposure_networks,
    exposure_loopback,
    exposure_blocked,
    exposure_uncovered,
    policy_drop,
    status_bar,
    status_error,
    pending,
    warning,
    key,
    key_disabled,
    /// Lines a diff adds.
    diff_added,
    /// Lines a diff removes.
    diff_removed,
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

impl Theme {
    /// Parses a theme file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let file: ThemeFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        Theme::from_file(&file).map_err(invalid)
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
        self.map(|slot, style| {
            let plain = Style {
                fg: None,
                bg: None,
                underline_color: None,
                ..style
            };
            // Colour was what marked these; reverse video and underline mark them instead.
            match slot {
                "selected" | "status_bar" | "status_error" | "pending" => {
                    plain.add_modifier(Modifier::REVERSED)
                }
                "linked" => plain.add_modifier(Modifier::UNDERLINED),
                _ => plain,
            }
        })
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
            let styles = t.styles();
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
