//! The validator's building blocks: a value of the expected type (table, string, list,
//! integer in a range), a description, a direction, each reporting what it expected.

use super::*;

const MAX_DESCRIPTION: usize = 200;

impl<'b> Validator<'b> {
    pub(super) fn table<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
    ) -> Option<&'a DeTable<'i>> {
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

    pub(super) fn string<'a>(&mut self, value: &'a Value<'_>, what: &str) -> Option<&'a str> {
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

    pub(super) fn array<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
    ) -> Option<&'a DeArray<'i>> {
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
    pub(super) fn strings<'a>(
        &mut self,
        value: &'a Value<'_>,
        what: &str,
    ) -> Vec<(&'a str, Range<usize>)>
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
    pub(super) fn is_empty_list(&self, value: &Value<'_>) -> bool {
        matches!(value.get_ref(), DeValue::Array(a) if a.is_empty())
            && self.bulk.strings(value.span().start).is_none()
    }

    /// An integer setting in `lo..=hi`, or an error quoting what is there.
    pub(super) fn integer(
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

    /// A `description`: one line of at most MAX_DESCRIPTION bytes.
    pub(super) fn description(&mut self, table: &DeTable<'_>, what: &str) -> Option<String> {
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
    pub(super) fn direction(&mut self, table: &DeTable<'_>, what: &str) -> Direction {
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
}
