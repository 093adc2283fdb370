//! TOML text -> [`Policy`], reporting every problem at once with its span.
//!
//! The document is parsed into toml's spanned tree (`DeTable`) and walked by hand instead of
//! through serde, because serde stops at the first error and the operator should see all of
//! them in one run.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::bulk::{BULK_MIN, Bulk, take_out};
use super::keys;
use super::{
    ANY, ConfirmMode, Diagnostic, Diagnostics, Direction, Network, Policy, Service, Settings,
    Source, Verdict, parse_net, parse_port_spec, validate_interface_name, validate_object_name,
    validate_table_name,
};

type Value<'i> = Spanned<DeValue<'i>>;

const ROOT_KEYS: &[&str] = &["settings", "networks", "services"];
const MAX_DESCRIPTION: usize = 200;
const MIN_CONFIRM: Duration = Duration::from_secs(5);
const MAX_CONFIRM: Duration = Duration::from_secs(24 * 3600);

/// Parses and validates a policy document.
pub fn parse(source: &str) -> Result<Policy, Diagnostics> {
    parse_with(source, BULK_MIN)
}

/// `parse`, taking string lists of at least `bulk_min` entries out of toml's hands
/// (see `bulk`). Tests compare it with `usize::MAX`, which leaves everything to toml.
pub fn parse_with(source: &str, bulk_min: usize) -> Result<Policy, Diagnostics> {
    let (for_toml, bulk) = take_out(source, bulk_min);
    let (root, syntax_errors) = DeTable::parse_recoverable(&for_toml);
    let mut v = Validator {
        diagnostics: Vec::new(),
        bulk: &bulk,
    };
    if !syntax_errors.is_empty() {
        // toml's recovery from an error elsewhere may read a blanked list differently;
        // the messages come from the text as written (a broken file has no memory to save).
        let syntax_errors = match for_toml {
            Cow::Owned(_) => DeTable::parse_recoverable(source).1,
            Cow::Borrowed(_) => syntax_errors,
        };
        for e in syntax_errors {
            let span = e.span().unwrap_or(0..0);
            v.error(span, format!("TOML syntax error: {}", e.message().trim()));
        }
        return Err(v.finish());
    }
    let root = root.into_inner();
    v.check_keys(&root, ROOT_KEYS, "top level");

    let settings = match root.get("settings") {
        Some(value) => v.settings(value),
        None => Settings::default(),
    };
    let networks = root
        .get("networks")
        .map(|value| v.networks(value))
        .unwrap_or_default();
    let services = root
        .get("services")
        .map(|value| v.services(value, &networks))
        .unwrap_or_default();

    let policy = Policy {
        settings,
        networks,
        services,
    };
    if v.diagnostics.is_empty() {
        Ok(policy)
    } else {
        Err(v.finish())
    }
}

struct Validator<'b> {
    diagnostics: Vec<Diagnostic>,
    bulk: &'b Bulk<'b>,
}

impl<'b> Validator<'b> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(span, message));
    }

    fn finish(mut self) -> Diagnostics {
        self.diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
        Diagnostics(self.diagnostics)
    }

    fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], context: &str) {
        for key in table.keys() {
            let name = key.get_ref().as_ref();
            if allowed.contains(&name) {
                continue;
            }
            let hint = closest(name, allowed)
                .map(|s| format!("did you mean {s:?}? "))
                .unwrap_or_default();
            self.error(
                key.span(),
                format!(
                    "unknown key {name:?} in {context}; {hint}valid keys are: {}",
                    allowed.join(", ")
                ),
            );
        }
    }

    fn table<'a, 'i>(&mut self, value: &'a Value<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.error(
                    value.span(),
                    format!("{what} must be a table, not {}", type_name(other)),
                );
                None
            }
        }
    }

    fn string<'a>(&mut self, value: &'a Value<'_>, what: &str) -> Option<&'a str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            other => {
                self.error(
                    value.span(),
                    format!("{what} must be a string, not {}", type_name(other)),
                );
                None
            }
        }
    }

    fn array<'a, 'i>(&mut self, value: &'a Value<'i>, what: &str) -> Option<&'a DeArray<'i>> {
        match value.get_ref() {
            DeValue::Array(a) => Some(a),
            other => {
                self.error(
                    value.span(),
                    format!(
                        "{what} must be a list of strings, like [\"…\"], not {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// Each string of a list, with its span; non-strings are reported and skipped.
    fn strings<'a>(&mut self, value: &'a Value<'_>, what: &str) -> Vec<(&'a str, Range<usize>)>
    where
        'b: 'a,
    {
        let bulk: &'b Bulk<'b> = self.bulk;
        if let Some(taken) = bulk.strings(value.span().start) {
            return taken
                .iter()
                .map(|(s, span)| (s.as_ref(), span.clone()))
                .collect();
        }
        let Some(items) = self.array(value, what) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                self.string(item, &format!("each entry of {what}"))
                    .map(|s| (s, item.span()))
            })
            .collect()
    }

    /// `[]`, and not a long list that `bulk` took out.
    fn is_empty_list(&self, value: &Value<'_>) -> bool {
        matches!(value.get_ref(), DeValue::Array(a) if a.is_empty())
            && self.bulk.strings(value.span().start).is_none()
    }

    fn settings(&mut self, value: &Value<'_>) -> Settings {
        let mut settings = Settings::default();
        let Some(table) = self.table(value, "[settings]") else {
            return settings;
        };
        self.check_keys(table, &keys::names(keys::SETTINGS), "[settings]");
        if let Some(v) = table.get("table")
            && let Some(name) = self.string(v, "settings.table")
        {
            match validate_table_name(name) {
                Ok(()) => settings.table = name.to_string(),
                Err(e) => self.error(v.span(), e),
            }
        }
        for (key, slot) in [
            ("input_policy", &mut settings.input_policy),
            ("output_policy", &mut settings.output_policy),
        ] {
            if let Some(v) = table.get(key)
                && let Some(text) = self.string(v, &format!("settings.{key}"))
            {
                match text {
                    "drop" => *slot = Verdict::Drop,
                    "accept" => *slot = Verdict::Accept,
                    other => self.error(
                        v.span(),
                        format!(
                            "settings.{key} is {other:?}; valid values are \"drop\" and \"accept\""
                        ),
                    ),
                }
            }
        }
        if let Some(v) = table.get("allow_ping") {
            match v.get_ref() {
                DeValue::Boolean(b) => settings.allow_ping = *b,
                other => self.error(
                    v.span(),
                    format!(
                        "settings.allow_ping must be true or false, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        if let Some(v) = table.get("confirm_timeout")
            && let Some(text) = self.string(v, "settings.confirm_timeout")
        {
            match crate::duration::parse(text) {
                Ok(d) if (MIN_CONFIRM..=MAX_CONFIRM).contains(&d) => settings.confirm_timeout = d,
                Ok(_) => self.error(
                    v.span(),
                    format!("settings.confirm_timeout {text:?} is out of range; use 5s to 24h"),
                ),
                Err(e) => self.error(v.span(), format!("settings.confirm_timeout: {e}")),
            }
        }
        if let Some(v) = table.get("confirm")
            && let Some(text) = self.string(v, "settings.confirm")
        {
            match text {
                "any-session" => settings.confirm = ConfirmMode::AnySession,
                "new-session" => settings.confirm = ConfirmMode::NewSession,
                other => self.error(
                    v.span(),
                    format!(
                        "settings.confirm is {other:?}; valid values are \"any-session\" \
                         (the default) and \"new-session\""
                    ),
                ),
            }
        }
        self.drop_log(table, &mut settings.drop_log);
        settings
    }

    /// `drop_log`, `drop_log_group`, `drop_log_rate`, `drop_log_burst`.
    fn drop_log(&mut self, table: &DeTable<'_>, log: &mut super::DropLog) {
        if let Some(v) = table.get("drop_log") {
            match v.get_ref() {
                DeValue::Boolean(b) => log.enabled = *b,
                other => self.error(
                    v.span(),
                    format!(
                        "settings.drop_log must be true or false, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        if let Some(n) = self.integer(table, "drop_log_group", 0, u16::MAX.into(), "") {
            log.group = n as u16;
        }
        let per_second = " (log lines per second)";
        if let Some(n) = self.integer(table, "drop_log_rate", 1, 10_000, per_second) {
            log.rate = n as u32;
        }
        if let Some(n) = self.integer(table, "drop_log_burst", 1, 100_000, "") {
            log.burst = n as u32;
        }
    }

    /// An integer setting in `lo..=hi`, or an error quoting what is there.
    fn integer(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        lo: i64,
        hi: i64,
        unit: &str,
    ) -> Option<i64> {
        let v = table.get(key)?;
        match v.get_ref() {
            DeValue::Integer(i) => match i.as_str().parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Some(n),
                _ => {
                    self.error(
                        v.span(),
                        format!(
                            "settings.{key} is {}; use a whole number from {lo} to {hi}{unit}",
                            i.as_str()
                        ),
                    );
                    None
                }
            },
            other => {
                self.error(
                    v.span(),
                    format!(
                        "settings.{key} must be a whole number from {lo} to {hi}{unit}, not {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn networks(&mut self, value: &Value<'_>) -> BTreeMap<String, Network> {
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

    fn services(
        &mut self,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> BTreeMap<String, Service> {
        let mut services = BTreeMap::new();
        let Some(table) = self.table(value, "[services]") else {
            return services;
        };
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if let Err(e) = validate_object_name("service", name) {
                self.error(key.span(), e);
                continue;
            }
            if let Some(service) = self.service(name, value, networks) {
                services.insert(name.to_string(), service);
            }
        }
        services
    }

    fn service(
        &mut self,
        name: &str,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> Option<Service> {
        let ctx = format!("[services.{name}]");
        let table = self.table(value, &ctx)?;
        self.check_keys(table, &keys::names(keys::SERVICE), &ctx);

        let description = table.get("description").and_then(|v| {
            let text = self.string(v, &format!("services.{name}.description"))?;
            if text.len() > MAX_DESCRIPTION || text.chars().any(char::is_control) {
                self.error(
                    v.span(),
                    format!(
                        "services.{name}.description must be one line of at most \
                         {MAX_DESCRIPTION} bytes"
                    ),
                );
            }
            Some(text.to_string())
        });

        let mut ports = Vec::new();
        match table.get("ports") {
            None => self.error(
                value.span(),
                format!("{ctx} has no ports; add e.g. ports = [\"22/tcp\"]"),
            ),
            Some(v) => {
                let what = format!("services.{name}.ports");
                let entries = self.strings(v, &what);
                if self.is_empty_list(v) {
                    self.error(
                        v.span(),
                        format!("{what} is empty; list at least one port, e.g. \"22/tcp\""),
                    );
                }
                for (text, span) in entries {
                    match parse_port_spec(text) {
                        Ok(p) => ports.push(p),
                        Err(e) => self.error(span, format!("{what}: {e}")),
                    }
                }
            }
        }

        let mut allow = Vec::new();
        match table.get("allow") {
            None => self.error(
                value.span(),
                format!(
                    "{ctx} has no allow list; add e.g. allow = [\"admin\"] (a network name, \
                     a prefix, or \"any\")"
                ),
            ),
            Some(v) => {
                let what = format!("services.{name}.allow");
                let entries = self.strings(v, &what);
                if self.is_empty_list(v) {
                    self.error(
                        v.span(),
                        format!("{what} is empty; name a network, a prefix, or \"any\""),
                    );
                }
                for (text, span) in entries {
                    match self.source(text, networks) {
                        Ok(s) => allow.push(s),
                        Err(e) => self.error(span, format!("{what}: {e}")),
                    }
                }
            }
        }

        let mut interfaces = BTreeSet::new();
        if let Some(v) = table.get("interfaces") {
            let what = format!("services.{name}.interfaces");
            for (text, span) in self.strings(v, &what) {
                match validate_interface_name(text) {
                    Ok(()) => {
                        interfaces.insert(text.to_string());
                    }
                    Err(e) => self.error(span, format!("{what}: {e}")),
                }
            }
        }

        let mut direction = Direction::In;
        if let Some(v) = table.get("direction")
            && let Some(text) = self.string(v, &format!("services.{name}.direction"))
        {
            match text {
                "in" => direction = Direction::In,
                "out" => direction = Direction::Out,
                "both" => direction = Direction::Both,
                other => self.error(
                    v.span(),
                    format!(
                        "services.{name}.direction is {other:?}; valid values are \"in\" \
                         (traffic to this host, the default), \"out\" (traffic from it) and \
                         \"both\""
                    ),
                ),
            }
        }

        let mut on = Vec::new();
        if let Some(v) = table.get("on") {
            let what = format!("services.{name}.on");
            if self.is_empty_list(v) {
                self.error(
                    v.span(),
                    format!(
                        "{what} is empty; list this host's addresses (or networks of them) \
                         the service is reachable on, or remove it for all of them"
                    ),
                );
            }
            for (text, span) in self.strings(v, &what) {
                match self.source(text, networks) {
                    Ok(Source::Any) => self.error(
                        span,
                        format!(
                            "{what}: \"any\" is what leaving `on` out means; list this \
                             host's addresses, or remove `on`"
                        ),
                    ),
                    Ok(s) => {
                        if !on.contains(&s) {
                            on.push(s);
                        }
                    }
                    Err(e) => self.error(span, format!("{what}: {e}")),
                }
            }
        }

        Some(Service {
            name: name.to_string(),
            description,
            ports,
            allow,
            interfaces: interfaces.into_iter().collect(),
            direction,
            on,
        })
    }

    fn source(&self, text: &str, networks: &BTreeMap<String, Network>) -> Result<Source, String> {
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

fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(name, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}
