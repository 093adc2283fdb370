//! `[networks]`, and the sources that services and blocks name: a network, an address or
//! prefix, or `any`.

use super::*;

/// What to say about a list of sources that is empty, or names `any`.
pub(super) struct SourceWords {
    pub(super) empty: &'static str,
    pub(super) any: &'static str,
}

impl<'b> Validator<'b> {
    pub(super) fn networks(&mut self, value: &Value<'_>) -> BTreeMap<String, Network> {
        let mut networks = BTreeMap::new();
        let Some(table) = self.table(value, "[networks]") else {
            return networks;
        };
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if name == ANY {
                self.error(
                    key.span(),
                    "\"any\" is built in (every address) and cannot be redefined; choose another name",
                );
                continue;
            }
            if let Err(e) = validate_object_name("network", name) {
                self.error(key.span(), e);
                continue;
            }
            let what = format!("networks.{name}");
            let entries = self.strings(value, &what);
            if entries.is_empty() && self.is_empty_list(value) {
                self.error(
                    value.span(),
                    format!("{what} is empty; list at least one address or prefix, or remove it"),
                );
            }
            let mut nets = Vec::with_capacity(entries.len());
            for (text, span) in entries {
                match parse_net(text) {
                    Ok(net) => nets.push(net),
                    Err(e) => self.error(span, format!("{what}: {e}")),
                }
            }
            networks.insert(
                name.to_string(),
                Network {
                    name: name.to_string(),
                    entries: nets,
                },
            );
        }
        networks
    }

    /// A list of network names and literals where `any` makes no sense (`on`, `from`):
    /// each once, in the order written.
    pub(super) fn sources_but_any(
        &mut self,
        v: &Value<'_>,
        what: &str,
        networks: &BTreeMap<String, Network>,
        words: SourceWords,
    ) -> Vec<Source> {
        if self.is_empty_list(v) {
            self.error(v.span(), format!("{what} is empty; {}", words.empty));
        }
        let mut out = Vec::new();
        for (text, span) in self.strings(v, what) {
            match self.source(text, networks) {
                Ok(Source::Any) => self.error(span, format!("{what}: {}", words.any)),
                Ok(s) => {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
                Err(e) => self.error(span, format!("{what}: {e}")),
            }
        }
        out
    }

    pub(super) fn source(
        &self,
        text: &str,
        networks: &BTreeMap<String, Network>,
    ) -> Result<Source, String> {
        if text == ANY {
            return Ok(Source::Any);
        }
        if networks.contains_key(text) {
            return Ok(Source::Network(text.to_string()));
        }
        let looks_like_address =
            text.contains([':', '/', '.']) || text.starts_with(|c: char| c.is_ascii_digit());
        if looks_like_address {
            return parse_net(text).map(Source::Literal);
        }
        let known: Vec<&str> = networks.keys().map(String::as_str).collect();
        let hint = closest(text, &known)
            .map(|s| format!("did you mean {s:?}? "))
            .unwrap_or_default();
        let list = if known.is_empty() {
            "no networks are defined in [networks]".to_string()
        } else {
            format!("defined networks: {}", known.join(", "))
        };
        Err(format!(
            "unknown network {text:?}; {hint}use a network from [networks], an address or \
             prefix, or \"any\" ({list})"
        ))
    }
}
