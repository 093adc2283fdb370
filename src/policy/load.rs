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
    ANY, Block, BlockAction, ConfirmMode, Diagnostic, Diagnostics, Direction, Network, Policy,
    RateLimit, Service, Settings, Source, Verdict, parse_net, parse_port_spec,
    validate_interface_name, validate_object_name, validate_table_name,
};

type Value<'i> = Spanned<DeValue<'i>>;

const ROOT_KEYS: &[&str] = &["settings", "networks", "services", "blocks"];
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

    let blocks = root
        .get("blocks")
        .map(|value| v.blocks(value, &networks))
        .unwrap_or_default();

    let policy = Policy {
        settings,
        networks,
        services,
        blocks,
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
        self.named_tables(value, "services", "service", |v, name, value| {
            v.service(name, value, networks)
        })
    }

    /// `[SECTION.NAME]` tables: each name validated, each table read by `read`.
    fn named_tables<T>(
        &mut self,
        value: &Value<'_>,
        section: &str,
        kind: &str,
        mut read: impl FnMut(&mut Self, &str, &Value<'_>) -> Option<T>,
    ) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        let Some(table) = self.table(value, &format!("[{section}]")) else {
            return out;
        };
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if let Err(e) = validate_object_name(kind, name) {
                self.error(key.span(), e);
                continue;
            }
            if let Some(item) = read(self, name, value) {
                out.insert(name.to_string(), item);
            }
        }
        out
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

        let description = self.description(table, &format!("services.{name}.description"));

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

        let direction = self.direction(table, &format!("services.{name}.direction"));

        let on = match table.get("on") {
            None => Vec::new(),
            Some(v) => self.sources_but_any(
                v,
                &format!("services.{name}.on"),
                networks,
                SourceWords {
                    empty: "list this host's addresses (or networks of them) the service is \
                            reachable on, or remove it for all of them",
                    any: "\"any\" is what leaving `on` out means; list this host's \
                          addresses, or remove `on`",
                },
            ),
        };

        let limit = self.rate_limit(table, name, direction);

        Some(Service {
            name: name.to_string(),
            description,
            ports,
            allow,
            interfaces: interfaces.into_iter().collect(),
            direction,
            on,
            limit,
        })
    }

    /// `limit` and `burst` of a service.
    fn rate_limit(
        &mut self,
        table: &DeTable<'_>,
        name: &str,
        direction: Direction,
    ) -> Option<RateLimit> {
        let what = format!("services.{name}.limit");
        let burst = table.get("burst");
        let Some(v) = table.get("limit") else {
            if let Some(b) = burst {
                self.error(
                    b.span(),
                    format!("services.{name}.burst needs a limit; add e.g. limit = \"10/minute\""),
                );
            }
            return None;
        };
        let text = self.string(v, &what)?;
        let (rate, per) = match RateLimit::parse(text) {
            Ok(r) => r,
            Err(e) => {
                self.error(v.span(), format!("{what}: {e}"));
                return None;
            }
        };
        if direction == Direction::Out {
            self.error(
                v.span(),
                format!(
                    "{what}: a limit counts new connections per source, coming in; this \
                     service is direction = \"out\""
                ),
            );
        }
        let mut limit = RateLimit {
            rate,
            per,
            burst: RateLimit::DEFAULT_BURST,
        };
        if let Some(b) = burst {
            match b.get_ref() {
                DeValue::Integer(i) => match i.as_str().parse::<u32>() {
                    Ok(n) if (1..=10_000).contains(&n) => limit.burst = n,
                    _ => self.error(
                        b.span(),
                        format!(
                            "services.{name}.burst is {}; use a whole number from 1 to 10000",
                            i.as_str()
                        ),
                    ),
                },
                other => self.error(
                    b.span(),
                    format!(
                        "services.{name}.burst must be a whole number from 1 to 10000, not {}",
                        type_name(other)
                    ),
                ),
            }
        }
        Some(limit)
    }

    fn blocks(
        &mut self,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> BTreeMap<String, Block> {
        self.named_tables(value, "blocks", "block", |v, name, value| {
            v.block(name, value, networks)
        })
    }

    fn block(
        &mut self,
        name: &str,
        value: &Value<'_>,
        networks: &BTreeMap<String, Network>,
    ) -> Option<Block> {
        let ctx = format!("[blocks.{name}]");
        let table = self.table(value, &ctx)?;
        self.check_keys(table, &keys::names(keys::BLOCK), &ctx);
        let description = self.description(table, &format!("blocks.{name}.description"));

        let from = match table.get("from") {
            None => {
                self.error(
                    value.span(),
                    format!(
                        "{ctx} has no from list; add e.g. from = [\"scanners\"] (a network \
                         name, an address or a prefix)"
                    ),
                );
                Vec::new()
            }
            Some(v) => self.sources_but_any(
                v,
                &format!("blocks.{name}.from"),
                networks,
                SourceWords {
                    empty: "name a network, an address or a prefix",
                    any: "\"any\" would refuse everyone, this session too; name the networks \
                          to refuse (or set input_policy = \"drop\")",
                },
            ),
        };

        let mut ports = Vec::new();
        if let Some(v) = table.get("ports") {
            let what = format!("blocks.{name}.ports");
            if self.is_empty_list(v) {
                self.error(
                    v.span(),
                    format!("{what} is empty; list ports, or remove it to block every port"),
                );
            }
            for (text, span) in self.strings(v, &what) {
                match parse_port_spec(text) {
                    Ok(p) => ports.push(p),
                    Err(e) => self.error(span, format!("{what}: {e}")),
                }
            }
        }

        let mut action = BlockAction::Drop;
        if let Some(v) = table.get("action")
            && let Some(text) = self.string(v, &format!("blocks.{name}.action"))
        {
            match text {
                "drop" => action = BlockAction::Drop,
                "reject" => action = BlockAction::Reject,
                other => self.error(
                    v.span(),
                    format!(
                        "blocks.{name}.action is {other:?}; valid values are \"drop\" (silently, \
                         the default) and \"reject\" (a TCP reset, an ICMP unreachable)"
                    ),
                ),
            }
        }
        let direction = self.direction(table, &format!("blocks.{name}.direction"));
        Some(Block {
            name: name.to_string(),
            description,
            from,
            ports,
            action,
            direction,
        })
    }

    /// A `description`: one line of at most MAX_DESCRIPTION bytes.
    fn description(&mut self, table: &DeTable<'_>, what: &str) -> Option<String> {
        let v = table.get("description")?;
        let text = self.string(v, what)?;
        if text.len() > MAX_DESCRIPTION || text.chars().any(char::is_control) {
            self.error(
                v.span(),
                format!("{what} must be one line of at most {MAX_DESCRIPTION} bytes"),
            );
        }
        Some(text.to_string())
    }

    /// A `direction`: in (the default), out or both.
    fn direction(&mut self, table: &DeTable<'_>, what: &str) -> Direction {
        let Some(v) = table.get("direction") else {
            return Direction::In;
        };
        let Some(text) = self.string(v, what) else {
            return Direction::In;
        };
        match text {
            "in" => Direction::In,
            "out" => Direction::Out,
            "both" => Direction::Both,
            other => {
                self.error(
                    v.span(),
                    format!(
                        "{what} is {other:?}; valid values are \"in\" (traffic to this host, \
                         the default), \"out\" (traffic from it) and \"both\""
                    ),
                );
                Direction::In
            }
        }
    }

    /// A list of network names and literals where `any` makes no sense (`on`, `from`):
    /// each once, in the order written.
    fn sources_but_any(
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

/// What to say about a list of sources that is empty, or names `any`.
struct SourceWords {
    empty: &'static str,
    any: &'static str,
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
