//! Writing a form's values into a TOML table so that what did not change keeps its
//! formatting: a string replaced in place, a list's entries that stay keeping their own
//! comments and new ones getting lines of their own. Pure.

use toml_edit::{Array, Item, Table, Value};

pub(super) fn set_text(table: &mut Table, key: &str, text: Option<&str>) {
    match text.filter(|t| !t.is_empty()) {
        None => {
            table.remove(key);
        }
        Some(t) if table.get(key).and_then(Item::as_str) == Some(t) => {}
        Some(t) => match table.get_mut(key) {
            Some(Item::Value(v)) => {
                let decor = v.decor().clone();
                *v = Value::from(t);
                *v.decor_mut() = decor;
            }
            _ => {
                table.insert(key, toml_edit::value(t));
            }
        },
    }
}

/// Sets a list, keeping the entries (and their comments) that stay. An empty optional
/// list is left out of the file.
pub(super) fn set_list(table: &mut Table, key: &str, entries: &[String], required: bool) {
    if entries.is_empty() && !required {
        table.remove(key);
        return;
    }
    match table.get_mut(key).and_then(Item::as_array_mut) {
        Some(array) => merge_entries(array, entries),
        None => {
            let mut array = Array::new();
            merge_entries(&mut array, entries);
            table.insert(key, Item::Value(Value::Array(array)));
        }
    }
}

/// Makes `array` hold `entries` in their order: an entry that was there keeps its value
/// and its comments; a new one is laid out like the others (one per line if the list
/// was written one per line).
///
/// toml_edit stores the comment at the end of an entry's line in the *next* entry's
/// prefix (or in the array's trailing text for the last one), so the decor is first cut
/// into each entry's own parts: the comment lines above it (`lead`) and the rest of its
/// line after the comma (`tail`).
pub(super) fn merge_entries(array: &mut Array, entries: &[String]) {
    if array
        .iter()
        .map(Value::as_str)
        .eq(entries.iter().map(|e| Some(e.as_str())))
    {
        return;
    }
    struct Piece {
        value: Value,
        lead: String,
        tail: Option<String>,
    }
    // "tail\nlead" -> (Some(tail), lead); "lead" -> (None, lead).
    fn split(text: &str) -> (Option<String>, String) {
        match text.split_once('\n') {
            Some((tail, lead)) => (Some(tail.to_string()), lead.to_string()),
            None => (None, text.to_string()),
        }
    }
    let prefix = |v: &Value| {
        v.decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string()
    };
    let mut pieces: Vec<Piece> = Vec::new();
    let mut opener = None;
    for (i, v) in array.iter().enumerate() {
        let (tail, lead) = split(&prefix(v));
        match pieces.last_mut() {
            Some(last) => last.tail = tail,
            None => opener = tail,
        }
        debug_assert!(i == pieces.len());
        pieces.push(Piece {
            value: v.clone().decorated(
                "",
                v.decor().suffix().and_then(|s| s.as_str()).unwrap_or(""),
            ),
            lead,
            tail: None,
        });
    }
    let (last_tail, closer) = split(array.trailing().as_str().unwrap_or(""));
    if let Some(last) = pieces.last_mut() {
        last.tail = last_tail;
    }
    let multi_line = opener.is_some() || pieces.iter().any(|p| p.tail.is_some());
    let indent = pieces
        .iter()
        .map(|p| p.lead.rsplit('\n').next().unwrap_or("").to_string())
        .next_back()
        .unwrap_or_else(|| "  ".to_string());

    let mut old: Vec<Option<Piece>> = pieces.into_iter().map(Some).collect();
    let chosen: Vec<Piece> = entries
        .iter()
        .map(|entry| {
            old.iter_mut()
                .find(|p| p.as_ref().and_then(|p| p.value.as_str()) == Some(entry.as_str()))
                .and_then(Option::take)
                .unwrap_or_else(|| Piece {
                    value: Value::from(entry.as_str()),
                    lead: if multi_line {
                        indent.clone()
                    } else {
                        " ".into()
                    },
                    tail: multi_line.then(String::new),
                })
        })
        .collect();

    let mut merged = Array::new();
    let mut previous_tail = opener;
    let mut first = true;
    for piece in chosen {
        let lead = if first && !multi_line {
            String::new()
        } else {
            piece.lead
        };
        let prefix = match previous_tail.take() {
            Some(tail) => format!("{tail}\n{lead}"),
            None => lead,
        };
        let suffix = piece
            .value
            .decor()
            .suffix()
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        merged.push_formatted(piece.value.decorated(prefix, suffix));
        previous_tail = piece.tail;
        first = false;
    }
    let trailing = match previous_tail {
        Some(tail) => format!("{tail}\n{closer}"),
        None => closer,
    };
    merged.set_trailing(trailing);
    merged.set_trailing_comma(array.trailing_comma() && !merged.is_empty());
    *merged.decor_mut() = array.decor().clone();
    *array = merged;
}

/// A number as a TOML integer (left as it is if it did not change); anything else as
/// typed, for `check` to refuse; nothing (None or empty) removes the key.
pub(super) fn set_number(table: &mut Table, key: &str, text: Option<&str>) {
    match text.filter(|b| !b.is_empty()) {
        None => {
            table.remove(key);
        }
        Some(b) => match b.parse::<i64>() {
            Ok(n) if table.get(key).and_then(Item::as_integer) == Some(n) => {}
            Ok(n) => {
                table.insert(key, toml_edit::value(n));
            }
            Err(_) => set_text(table, key, Some(b)),
        },
    }
}
