//! The service and network forms: text fields (ratatui-textarea, with its undo history),
//! the field in focus, and each field's finding from the validator `check` uses, found by
//! applying the form to a copy of the working policy and locating every finding in the
//! resulting text. Pure.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::editor::Section;
pub use super::field::Field;
use crate::policy::document::{
    BlockDraft, Draft, DraftValue, EditError, PolicyDocument, ServiceDraft, locate,
};
use crate::policy::keys::{BlockKey, FieldKey, ServiceKey, ValueKind};
use crate::policy::{ANY, parse};

#[derive(Debug, Clone)]
pub struct Form {
    pub section: Section,
    /// The name being edited; None for a new one.
    pub original: Option<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Findings that are about no field of the form (elsewhere in the file).
    pub general: Vec<String>,
    /// The network names (and `any`) the allow field completes from.
    pub networks: Vec<String>,
    /// Whether Enter would be accepted: no finding anywhere.
    pub valid: bool,
    /// Nothing typed yet and no attempt to submit: findings are kept to the form's state
    /// line rather than shown as errors under fields the operator has not reached.
    pub untouched: bool,
}

/// The name field, then one field per key of the draft, labelled by `label`.
fn fields_of<K: FieldKey, D: Draft<K>>(
    name: &str,
    draft: &D,
    label: fn(K) -> (&'static str, &'static str),
) -> Vec<Field> {
    let mut fields = vec![Field::name(name)];
    for &key in K::ALL {
        let (label, hint) = label(key);
        let value = match draft.get(key) {
            DraftValue::List(entries) => entries.join(", "),
            DraftValue::Text(text) => text.unwrap_or_default(),
        };
        fields.push(Field::single(label, key.name(), &value, hint));
    }
    fields
}

/// A block field's label and hint in the form.
fn block_label(key: BlockKey) -> (&'static str, &'static str) {
    match key {
        BlockKey::Description => ("Description", "optional, one line"),
        BlockKey::From => ("From", "networks or prefixes to refuse; Tab completes"),
        BlockKey::Ports => ("Ports", "optional: every port when empty"),
        BlockKey::Action => ("Action", "drop (default) or reject"),
        BlockKey::Direction => ("Direction", "in (default), out or both"),
    }
}

/// A service field's label and hint in the form.
fn service_label(key: ServiceKey) -> (&'static str, &'static str) {
    match key {
        ServiceKey::Description => ("Description", "optional, one line"),
        ServiceKey::Ports => ("Ports", "e.g. 22/tcp, 9000-9001/tcp, 53/tcp+udp"),
        ServiceKey::Allow => ("Allow", "networks, prefixes or any; Tab completes"),
        ServiceKey::Interfaces => ("Interfaces", "optional, e.g. eth1 or eth*"),
        ServiceKey::Direction => ("Direction", "in (default), out or both"),
        ServiceKey::On => ("On", "optional: this host's addresses or networks"),
        ServiceKey::Limit => (
            "Limit",
            "optional: new connections per source, e.g. 10/minute",
        ),
        ServiceKey::Burst => ("Burst", "optional: at once above the limit (default 5)"),
    }
}

/// The name field, then the section's own fields.
impl Form {
    pub fn service(original: Option<&str>, name: &str, draft: &ServiceDraft) -> Form {
        Form::new(
            Section::Services,
            original,
            fields_of(name, draft, service_label),
        )
    }

    pub fn network(original: Option<&str>, name: &str, entries: &[String]) -> Form {
        let mut list = Field::new(
            "Addresses",
            "entries",
            entries.to_vec(),
            "addresses or prefixes; paste works",
        );
        list.multi_line = true;
        let fields = vec![Field::name(name), list];
        Form::new(Section::Networks, original, fields)
    }

    pub fn block(original: Option<&str>, name: &str, draft: &BlockDraft) -> Form {
        Form::new(
            Section::Blocks,
            original,
            fields_of(name, draft, block_label),
        )
    }

    /// The block the form describes.
    pub fn block_draft(&self) -> BlockDraft {
        self.draft_of()
    }

    fn new(section: Section, original: Option<&str>, fields: Vec<Field>) -> Form {
        // A new form starts on its first empty field, an edit on the name.
        let focus = if original.is_none() {
            fields
                .iter()
                .position(|f| f.text().trim().is_empty())
                .unwrap_or(0)
        } else {
            0
        };
        Form {
            section,
            original: original.map(str::to_string),
            fields,
            focus,
            general: Vec::new(),
            networks: Vec::new(),
            valid: false,
            untouched: true,
        }
    }

    pub fn name(&self) -> String {
        self.fields[0].text().trim().to_string()
    }

    /// A field's entries (separated by commas, spaces or lines).
    fn entries_of(&self, key: &str) -> Vec<String> {
        self.field(key).map(Field::entries).unwrap_or_default()
    }

    /// A field's text, trimmed; None when empty.
    fn text_of(&self, key: &str) -> Option<String> {
        self.field(key)
            .map(|f| f.text().trim().to_string())
            .filter(|t| !t.is_empty())
    }

    fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The service the form describes.
    pub fn draft(&self) -> ServiceDraft {
        self.draft_of()
    }

    /// The draft the fields describe, key by key.
    fn draft_of<K: FieldKey, D: Draft<K>>(&self) -> D {
        let mut draft = D::default();
        for &key in K::ALL {
            let value = match key.kind() {
                ValueKind::List => DraftValue::List(self.entries_of(key.name())),
                ValueKind::Text | ValueKind::Number => DraftValue::Text(self.text_of(key.name())),
            };
            draft.set(key, value);
        }
        draft
    }

    /// Writes the form into `doc`.
    pub fn apply_to(&self, doc: &mut PolicyDocument) -> Result<(), EditError> {
        let name = self.name();
        match self.section {
            Section::Services => doc.set_service(self.original.as_deref(), &name, &self.draft()),
            Section::Networks => {
                let entries = self
                    .field("entries")
                    .map(Field::entries)
                    .unwrap_or_default();
                doc.set_network(self.original.as_deref(), &name, &entries)
            }
            Section::Blocks => doc.set_block(self.original.as_deref(), &name, &self.block_draft()),
        }
    }

    /// Validates the form against the working copy `doc`: the form is applied to a copy,
    /// the copy goes through `check`'s validator, and each finding is put under the field
    /// it is about.
    pub fn validate(&mut self, doc: &PolicyDocument) {
        for f in &mut self.fields {
            f.error = None;
        }
        self.general.clear();
        self.networks = doc.network_names();
        self.networks.push(ANY.to_string());
        let name = self.name();
        if name.is_empty() {
            if !self.untouched {
                self.fields[0].error = Some(format!("a {} needs a name", self.section.singular()));
            }
            self.valid = false;
            return;
        }
        let mut copy = doc.clone();
        if let Err(e) = self.apply_to(&mut copy) {
            self.fields[0].error = Some(e.to_string());
            self.valid = false;
            return;
        }
        let text = copy.text();
        let Err(findings) = parse(&text) else {
            self.valid = true;
            return;
        };
        self.valid = false;
        if self.untouched {
            return;
        }
        let at = locate(&text, self.section.key(), &name);
        let index = crate::policy::LineIndex::new(&text);
        let section = self.section.key();
        for finding in findings.0 {
            let field = at
                .field_at(finding.span.start)
                .and_then(|key| self.fields.iter_mut().find(|f| f.key == key));
            match field {
                Some(f) if f.error.is_none() => {
                    // Under its field, the finding speaks of the field, not of the file's
                    // path to it (`services.web.allow is empty` → `Allow is empty`).
                    let path = format!("{section}.{name}.{}", f.key);
                    f.error = Some(match finding.message.strip_prefix(&path) {
                        Some(rest) => format!("{}{rest}", f.label),
                        None => finding.message,
                    });
                }
                Some(_) => {}
                None => {
                    let (line, col) = index.line_col(finding.span.start);
                    self.general
                        .push(format!("line {line}:{col}: {}", finding.message));
                }
            }
        }
    }

    /// Types a key into the field in focus; returns whether the text changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let field = &mut self.fields[self.focus];
        match key.code {
            // ^Z as well as the textarea's own ^U: what most operators try first.
            KeyCode::Char('z') if ctrl => field.area.undo(),
            _ => field.input(key),
        }
    }

    pub fn paste(&mut self, text: &str) {
        self.fields[self.focus].paste(text);
    }

    pub fn undo(&mut self) -> bool {
        self.fields[self.focus].area.undo()
    }

    pub fn redo(&mut self) -> bool {
        self.fields[self.focus].area.redo()
    }

    pub fn next_field(&mut self) {
        self.focus = (self.focus + 1) % self.fields.len();
    }

    pub fn previous_field(&mut self) {
        self.focus = (self.focus + self.fields.len() - 1) % self.fields.len();
    }

    /// The network names the word at the cursor of the allow field could become.
    pub fn completions(&self) -> Vec<&str> {
        let field = &self.fields[self.focus];
        if !["allow", "on", "from"].contains(&field.key) {
            return Vec::new();
        }
        let word = field.word_before_cursor();
        if word.is_empty() {
            return Vec::new();
        }
        self.networks
            .iter()
            .map(String::as_str)
            .filter(|n| n.starts_with(word.as_str()) && *n != word)
            .collect()
    }

    /// Completes the word at the cursor of the allow field as far as the candidates agree.
    /// Returns false when there is nothing to complete (Tab then moves on).
    pub fn complete(&mut self) -> bool {
        let candidates = self.completions();
        let Some(first) = candidates.first() else {
            return false;
        };
        let common = candidates.iter().fold(first.to_string(), |acc, c| {
            acc.chars()
                .zip(c.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect()
        });
        let field = &mut self.fields[self.focus];
        let word = field.word_before_cursor();
        let rest: String = common.chars().skip(word.chars().count()).collect();
        if rest.is_empty() {
            return false;
        }
        field.area.insert_str(rest);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_form_has_a_field_for_every_service_key_in_order() {
        let form = Form::service(None, "x", &ServiceDraft::default());
        let keys: Vec<&str> = form.fields.iter().map(|f| f.key).collect();
        let mut expected = vec!["name"];
        expected.extend(ServiceKey::ALL.iter().map(|k| k.name()));
        assert_eq!(keys, expected);
    }

    const FILE: &str = "[networks]\nadmin = [\"10.8.0.0/24\"]\nagents = [\"10.9.0.0/16\"]\n\n\
                        [services.ssh]\nports = [\"22/tcp\"]\nallow = [\"admin\"]\n";

    fn typed(form: &mut Form, text: &str) {
        for c in text.chars() {
            form.input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn findings_go_under_their_fields() {
        let doc = PolicyDocument::parse(FILE).unwrap();
        let mut form = Form::service(None, "web", &ServiceDraft::default());
        form.validate(&doc);
        // Nothing typed yet: not valid, but no field is marked.
        assert!(!form.valid);
        assert!(form.fields.iter().all(|f| f.error.is_none()));
        form.untouched = false;
        form.validate(&doc);
        assert!(form.fields[2].error.as_deref().unwrap().contains("empty"));
        form.focus = 2;
        typed(&mut form, "99999/tcp");
        form.focus = 3;
        typed(&mut form, "nowhere");
        form.validate(&doc);
        assert!(form.fields[2].error.as_deref().unwrap().contains("99999"));
        assert!(form.fields[3].error.as_deref().unwrap().contains("nowhere"));
        assert!(form.general.is_empty());
    }

    #[test]
    fn a_name_in_use_is_refused_on_the_name_field() {
        let doc = PolicyDocument::parse(FILE).unwrap();
        let draft = doc.service("ssh").unwrap();
        let mut form = Form::service(None, "ssh", &draft);
        form.validate(&doc);
        assert_eq!(
            form.fields[0].error.as_deref(),
            Some("a service named \"ssh\" exists already")
        );
    }

    #[test]
    fn tab_completes_network_names_as_far_as_they_agree() {
        let doc = PolicyDocument::parse(FILE).unwrap();
        let mut form = Form::service(None, "x", &ServiceDraft::default());
        form.validate(&doc);
        form.focus = 3;
        typed(&mut form, "a");
        assert_eq!(form.completions(), vec!["admin", "agents", "any"]);
        assert!(!form.complete(), "a, ad, ag: nothing in common past 'a'");
        typed(&mut form, "g");
        assert!(form.complete());
        assert_eq!(form.fields[3].text(), "agents");
        assert!(!form.complete());
    }

    #[test]
    fn a_pasted_list_becomes_lines_or_a_comma_list() {
        let mut form = Form::network(None, "lan", &[]);
        form.focus = 1;
        form.paste("10.0.0.1\r\n10.0.0.2\n10.0.0.3");
        assert_eq!(
            form.fields[1].entries(),
            vec!["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        );
        form.focus = 0;
        form.paste("a\nb");
        assert_eq!(form.fields[0].text(), "lana, b");
    }

    #[test]
    fn undo_takes_back_typing() {
        let mut form = Form::service(None, "", &ServiceDraft::default());
        form.focus = 0;
        typed(&mut form, "web");
        assert!(form.undo());
        assert!(form.fields[0].text().len() < 3);
    }
}
