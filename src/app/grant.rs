//! Temporary access from the UI, as `portcullis grant` and `revoke` give it: `g` on a
//! service (or a drop's "let it reach …" way in) asks, on the footer line, for a source and
//! how long; `G` asks which source to take back. Enter sends it (at once, no confirm
//! window: a grant only adds access), Esc drops it.

use std::time::Duration;

use ipnet::IpNet;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, LiveRequest, Notice, Screen};

/// What the footer line's question is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// A source and how long: `g`, or a drop's way in.
    Grant,
    /// Which source's grant to take back: `G`.
    Revoke,
}

/// A question on the footer line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub asking: Asking,
    pub service: String,
    pub text: String,
}

impl Prompt {
    /// What the footer line says before the text, longest first (the footer shows the
    /// longest that fits).
    pub fn questions(&self) -> Vec<String> {
        let s = &self.service;
        if self.asking == Asking::Revoke {
            vec![
                format!("revoke {s}'s grant of (SOURCE): "),
                format!("revoke {s} from: "),
            ]
        } else {
            vec![
                format!("grant {s} to (SOURCE FOR, e.g. 192.0.2.7 2h): "),
                format!("grant {s} to (SOURCE FOR): "),
                format!("grant {s}: "),
            ]
        }
    }
}

/// `SOURCE DURATION` (a grant) or `SOURCE` (a revoke), or what is wrong with it.
pub fn parse_answer(text: &str, asking: Asking) -> Result<(IpNet, Duration), String> {
    let mut words = text.split_whitespace();
    let source = words
        .next()
        .ok_or("type the source: an address or a prefix")?;
    let source = crate::policy::parse_net(source).map_err(|e| format!("{source:?}: {e}"))?;
    if asking == Asking::Revoke {
        return Ok((source, Duration::ZERO));
    }
    let time = words
        .next()
        .ok_or("and how long after it, e.g. 30m or 2h")?;
    Ok((source, crate::nft::grants::duration(time)?))
}

impl App {
    /// `g` (or `G`) on the services screen: ask about the selected service.
    pub(super) fn start_prompt(&mut self, asking: Asking) {
        let Some(service) = self.service_table.selected().and_then(|i| {
            self.list_names(Screen::Services)
                .get(i)
                .map(|n| n.to_string())
        }) else {
            self.notice = Notice::error("select a service first");
            return;
        };
        let text = if asking == Asking::Revoke {
            // The one source it has a grant for, if it has one.
            let mut held: Vec<String> = self
                .grants
                .iter()
                .filter(|g| g.service == service)
                .map(|g| g.source.to_string())
                .collect();
            held.dedup();
            if held.len() == 1 {
                held.remove(0)
            } else {
                String::new()
            }
        } else {
            String::new()
        };
        self.prompt = Some(Prompt {
            asking,
            service,
            text,
        });
    }

    /// A drop's way in: the grant's question, filled in with its source and an hour.
    pub(super) fn grant_from_drop(&mut self, service: &str, source: IpNet) {
        self.prompt = Some(Prompt {
            asking: Asking::Grant,
            service: service.to_string(),
            text: format!("{source} 1h"),
        });
    }

    /// A key typed while the question is open.
    pub(super) fn prompt_key(&mut self, key: KeyEvent) -> bool {
        let Some(prompt) = &mut self.prompt else {
            return false;
        };
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                prompt.text.push(c)
            }
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            _ => {}
        }
        true
    }

    /// Enter: send it, if it reads (Esc just drops it).
    pub(super) fn send_prompt(&mut self) -> Vec<Effect> {
        let Some(prompt) = self.prompt.take() else {
            return Vec::new();
        };
        match parse_answer(&prompt.text, prompt.asking) {
            Ok((source, duration)) => {
                self.busy = true;
                let request = match prompt.asking {
                    Asking::Revoke => LiveRequest::Revoke {
                        service: prompt.service,
                        source,
                    },
                    Asking::Grant => LiveRequest::Grant {
                        service: prompt.service,
                        source,
                        duration,
                    },
                };
                vec![Effect::Live(request)]
            }
            Err(e) => {
                self.notice = Notice::error(e);
                // Kept, to be corrected.
                self.prompt = Some(prompt);
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_a_source_and_a_duration() {
        let (s, d) = parse_answer("192.0.2.7 2h", Asking::Grant).unwrap();
        assert_eq!(s.to_string(), "192.0.2.7/32");
        assert_eq!(d, Duration::from_secs(7200));
        assert!(parse_answer("192.0.2.7", Asking::Grant).is_err());
        assert!(parse_answer("192.0.2.7 9000h", Asking::Grant).is_err());
        assert!(parse_answer("nope 1h", Asking::Grant).is_err());
        assert!(parse_answer("2001:db8::/64", Asking::Revoke).is_ok());
    }
}
