//! Where a service or network sits in the policy text, so a form can put each finding of
//! the validator under the field it is about. Pure.

use std::ops::Range;

use toml_edit::Item;

/// Where one service or network sits in a policy text: the span of its name, and of each
/// of its keys' values (a network's entries are its value, under the key `""`). The forms
/// use it to put each finding of the validator under the field it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub name: Option<Range<usize>>,
    pub fields: Vec<(String, Range<usize>)>,
}

impl Location {
    /// The field a byte offset falls in: `Some("")` for the name (or a network's whole
    /// value), `Some(key)` for a key's value, None if it is elsewhere in the file.
    pub fn field_at(&self, offset: usize) -> Option<&str> {
        if let Some((key, _)) = self.fields.iter().find(|(_, r)| r.contains(&offset)) {
            return Some(key.as_str());
        }
        self.name
            .as_ref()
            .filter(|r| r.contains(&offset) || r.start == offset)
            .map(|_| "name")
    }
}

/// Finds `[section.name]` in `text` (any TOML layout: tables, dotted keys, inline tables).
pub fn locate(text: &str, section: &str, name: &str) -> Location {
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Location::default();
    };
    let Some(table) = doc.get(section).and_then(Item::as_table_like) else {
        return Location::default();
    };
    let name_span = table.key(name).and_then(|k| k.span());
    let Some(item) = table.get(name) else {
        return Location::default();
    };
    let mut fields = Vec::new();
    match item.as_table_like() {
        Some(t) => {
            for (key, value) in t.iter() {
                if let Some(span) = value.span() {
                    fields.push((key.to_string(), span));
                }
            }
        }
        None => {
            if let Some(span) = item.span() {
                fields.push(("entries".to_string(), span));
            }
        }
    }
    Location {
        name: name_span,
        fields,
    }
}
