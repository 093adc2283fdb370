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

mod blocks;
mod networks;
mod primitives;
mod services;
mod settings;

type Value<'i> = Spanned<DeValue<'i>>;

const ROOT_KEYS: &[&str] = &["settings", "networks", "services", "blocks"];

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
