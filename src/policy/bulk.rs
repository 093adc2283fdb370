//! Long lists of strings (a network of 100,000 addresses) read straight from the lexer's
//! tokens instead of through toml's document tree.
//!
//! toml keeps every token, every parse event and the whole tree in memory at once, which
//! for a 1.9 MB file of 100,000 addresses peaks at 28 MB, most of the program's memory.
//! So before toml sees the text, each `key = [ "…", "…", … ]` with at least `min` plain
//! strings is decoded here, element by element with its span, and blanked out in a copy
//! of the text: every byte but newlines becomes a space, so the array reads as `[ ]` and
//! every span and line number stays what it was. The validator asks `Bulk` for the
//! strings of an array before it looks at toml's (empty) one. Anything unusual inside the
//! brackets (a number, a nested list, a multi-line or badly escaped string, a missing
//! comma) leaves the array to toml, so its messages stay exactly toml's.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use toml_parser::lexer::TokenKind;
use toml_parser::{Raw, Source};

/// Arrays with fewer strings than this go through toml as usual.
pub const BULK_MIN: usize = 1000;

/// A decoded string and the span of its quoted text in the source.
pub type Entry<'s> = (Cow<'s, str>, Range<usize>);

/// The decoded strings of the arrays taken out, by the byte offset of their `[`.
#[derive(Debug, Default)]
pub struct Bulk<'s> {
    arrays: HashMap<usize, Vec<Entry<'s>>>,
}

impl<'s> Bulk<'s> {
    /// The strings of the array whose `[` is at `start`, if it was taken out.
    pub fn strings(&self, start: usize) -> Option<&[Entry<'s>]> {
        self.arrays.get(&start).map(Vec::as_slice)
    }
}

/// Takes the long string arrays out of `source`: the text for toml (borrowed when there
/// are none) and their strings.
pub fn take_out(source: &str, min: usize) -> (Cow<'_, str>, Bulk<'_>) {
    let mut bulk = Bulk::default();
    let mut spans: Vec<Range<usize>> = Vec::new();
    let src = Source::new(source);
    // The last token that was not whitespace, a newline or a comment.
    let mut previous = TokenKind::Eof;
    // The array being read: where its `[` is, its strings, whether a string comes next.
    let mut open: Option<(usize, Vec<Entry<'_>>, bool)> = None;
    for token in src.lex() {
        let kind = token.kind();
        let span = token.span();
        if matches!(
            kind,
            TokenKind::Whitespace | TokenKind::Newline | TokenKind::Comment
        ) {
            // A comment with a control character, or a lone CR, is an error toml must see.
            if open.is_some() {
                let raw = Raw::new_unchecked(&source[span.start()..span.end()], None, span);
                let mut error: Option<toml_parser::ParseError> = None;
                match kind {
                    TokenKind::Comment => raw.decode_comment(&mut error),
                    TokenKind::Newline => raw.decode_newline(&mut error),
                    _ => {}
                }
                if error.is_some() {
                    open = None;
                }
            }
            continue;
        }
        if let Some((_, items, want_value)) = &mut open {
            match kind {
                TokenKind::BasicString | TokenKind::LiteralString if *want_value => {
                    // `Source::get` forgets the quoting; the token's kind knows it.
                    let text = &source[span.start()..span.end()];
                    let raw = Raw::new_unchecked(text, kind.encoding(), span);
                    let mut text = Cow::Borrowed("");
                    let mut errors: Option<toml_parser::ParseError> = None;
                    let _ = raw.decode_scalar(&mut text, &mut errors);
                    if errors.is_some() {
                        open = None;
                    } else {
                        items.push((text, span.start()..span.end()));
                        *want_value = false;
                    }
                }
                TokenKind::Comma if !*want_value => *want_value = true,
                // After a string or a trailing comma (a stray comma has closed it already).
                TokenKind::RightSquareBracket => {
                    let (start, items, _) = open.take().expect("an array is open");
                    if items.len() >= min.max(1) {
                        spans.push(start + 1..span.start());
                        bulk.arrays.insert(start, items);
                    }
                }
                _ => open = None,
            }
        } else if kind == TokenKind::LeftSquareBracket && previous == TokenKind::Equals {
            open = Some((span.start(), Vec::new(), true));
        }
        previous = kind;
    }
    if spans.is_empty() {
        return (Cow::Borrowed(source), bulk);
    }
    let mut blanked = source.as_bytes().to_vec();
    for range in spans {
        for byte in &mut blanked[range] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    // Whole characters were replaced byte by byte with spaces: still UTF-8.
    let blanked = String::from_utf8(blanked).expect("spaces and newlines are UTF-8");
    (Cow::Owned(blanked), bulk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_is_decoded_with_spans_and_blanked_keeping_lengths_and_lines() {
        let text = "[networks]\nbig = [\n  \"10.0.0.1\", # first\n  '10.0.0.2',\n  \"\\u0031\",\n]\nx = 1\n";
        let (blanked, bulk) = take_out(text, 2);
        assert_eq!(blanked.len(), text.len());
        assert_eq!(blanked.lines().count(), text.lines().count());
        assert!(blanked.contains("big = [\n   "), "{blanked}");
        assert!(blanked.ends_with("]\nx = 1\n"));
        let start = text
            .find('[')
            .map(|_| text.find("= [").unwrap() + 2)
            .unwrap();
        let strings = bulk.strings(start).expect("taken out");
        let texts: Vec<&str> = strings.iter().map(|(s, _)| s.as_ref()).collect();
        assert_eq!(texts, ["10.0.0.1", "10.0.0.2", "1"]);
        assert_eq!(&text[strings[1].1.clone()], "'10.0.0.2'");
    }

    #[test]
    fn short_or_unusual_lists_are_left_to_toml() {
        for text in [
            "a = [\"x\"]",                       // shorter than min
            "a = [\"x\", 1, \"y\"]",             // a number
            "a = [\"x\" \"y\", \"z\"]",          // a missing comma
            "a = [\"x\", , \"y\"]",              // two commas
            "a = [\"x\", [\"y\"], \"z\"]",       // a nested list
            "a = [\"x\", \"\"\"y\"\"\", \"z\"]", // a multi-line string
            "a = [\"x\", \"\\q\", \"z\"]",       // a bad escape
            "[\"x\", \"y\", \"z\"]",             // not after `=`
            "a = [\"x\", # \u{1}\n \"z\"]",      // a control character in a comment
            "a = [\"x\",\r \"z\"]",              // a lone carriage return
        ] {
            let (blanked, bulk) = take_out(text, 2);
            assert_eq!(blanked, text, "{text}");
            assert!(bulk.arrays.is_empty(), "{text}");
        }
    }
}
