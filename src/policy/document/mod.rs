//! The policy file as the operator wrote it, edited in place: adding, changing, renaming
//! and removing services and networks keeps every comment, the order of keys and tables,
//! and the formatting of what was not touched (toml_edit keeps all of it). Entries of a
//! list that stay keep their own comments too. Validation is the `check` validator run on
//! the edited text, so the forms can never accept what `check` would refuse. Pure: the
//! text comes in and goes out as strings.

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use super::keys::{BlockKey, FieldKey, ServiceKey, ValueKind};
use super::{Diagnostics, Policy, parse};

mod locate;
mod merge;

pub use locate::{Location, locate};
use merge::{merge_entries, set_list, set_number, set_text};

/// A service as the form edits it: each field as text entries, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDraft {
    pub description: Option<String>,
    pub ports: Vec<String>,
    pub allow: Vec<String>,
    pub interfaces: Vec<String>,
    /// `in` (the default, left out of the file), `out` or `both`.
    pub direction: Option<String>,
    /// The host's addresses it is reachable on; empty for all.
    pub on: Vec<String>,
    /// New connections per source, like `10/minute`; None for no limit.
    pub limit: Option<String>,
    /// Connections at once above the limit, as typed (written as a number when it is one).
    pub burst: Option<String>,
}

/// One key's value as a form edits it: entries, or one text (None when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftValue {
    List(Vec<String>),
    Text(Option<String>),
}

impl DraftValue {
    pub fn into_list(self) -> Vec<String> {
        match self {
            DraftValue::List(l) => l,
            DraftValue::Text(t) => t.into_iter().collect(),
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            DraftValue::Text(t) => t,
            DraftValue::List(l) => (!l.is_empty()).then(|| l.join(", ")),
        }
    }
}

/// A service's or a block's values, by key: what the document reads into a form and
/// writes back from it, key by key in `K::ALL`'s order.
pub trait Draft<K: FieldKey>: Default {
    fn get(&self, key: K) -> DraftValue;
    fn set(&mut self, key: K, value: DraftValue);
}

impl Draft<ServiceKey> for ServiceDraft {
    /// The value of `key`.
    fn get(&self, key: ServiceKey) -> DraftValue {
        let list = |l: &Vec<String>| DraftValue::List(l.clone());
        let text = |t: &Option<String>| DraftValue::Text(t.clone());
        match key {
            ServiceKey::Description => text(&self.description),
            ServiceKey::Ports => list(&self.ports),
            ServiceKey::Allow => list(&self.allow),
            ServiceKey::Interfaces => list(&self.interfaces),
            ServiceKey::Direction => text(&self.direction),
            ServiceKey::On => list(&self.on),
            ServiceKey::Limit => text(&self.limit),
            ServiceKey::Burst => text(&self.burst),
        }
    }

    /// Sets the value of `key`.
    fn set(&mut self, key: ServiceKey, value: DraftValue) {
        match key {
            ServiceKey::Description => self.description = value.into_text(),
            ServiceKey::Ports => self.ports = value.into_list(),
            ServiceKey::Allow => self.allow = value.into_list(),
            ServiceKey::Interfaces => self.interfaces = value.into_list(),
            ServiceKey::Direction => self.direction = value.into_text(),
            ServiceKey::On => self.on = value.into_list(),
            ServiceKey::Limit => self.limit = value.into_text(),
            ServiceKey::Burst => self.burst = value.into_text(),
        }
    }
}

impl Draft<BlockKey> for BlockDraft {
    fn get(&self, key: BlockKey) -> DraftValue {
        match key {
            BlockKey::Description => DraftValue::Text(self.description.clone()),
            BlockKey::From => DraftValue::List(self.from.clone()),
            BlockKey::Ports => DraftValue::List(self.ports.clone()),
            BlockKey::Action => DraftValue::Text(self.action.clone()),
            BlockKey::Direction => DraftValue::Text(self.direction.clone()),
        }
    }

    fn set(&mut self, key: BlockKey, value: DraftValue) {
        match key {
            BlockKey::Description => self.description = value.into_text(),
            BlockKey::From => self.from = value.into_list(),
            BlockKey::Ports => self.ports = value.into_list(),
            BlockKey::Action => self.action = value.into_text(),
            BlockKey::Direction => self.direction = value.into_text(),
        }
    }
}

/// Reads a draft from a table of the file, key by key.
fn read_draft<K: FieldKey, D: Draft<K>>(t: &dyn toml_edit::TableLike) -> D {
    let mut draft = D::default();
    for &key in K::ALL {
        let value = match key.kind() {
            ValueKind::List => DraftValue::List(strings(t, key.name())),
            ValueKind::Text => DraftValue::Text(text(t, key.name())),
            // A number, or whatever else was written there, as the form shows it.
            ValueKind::Number => DraftValue::Text(
                t.get(key.name())
                    .and_then(Item::as_value)
                    .map(|v| {
                        v.as_integer()
                            .map_or_else(|| v.to_string(), |n| n.to_string())
                    })
                    .map(|b| b.trim().to_string()),
            ),
        };
        draft.set(key, value);
    }
    draft
}

/// Writes a draft into a table of the file, key by key, keeping what did not change.
fn write_draft<K: FieldKey, D: Draft<K>>(table: &mut Table, draft: &D) {
    for &key in K::ALL {
        let value = draft.get(key);
        match key.kind() {
            ValueKind::List => set_list(table, key.name(), &value.into_list(), key.required()),
            ValueKind::Text => {
                let text = value.into_text();
                let text = text.as_deref().filter(|t| Some(*t) != key.default_word());
                set_text(table, key.name(), text);
            }
            ValueKind::Number => set_number(table, key.name(), value.into_text().as_deref()),
        }
    }
}

/// A block as the form edits it: each field as text entries, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockDraft {
    pub description: Option<String>,
    pub from: Vec<String>,
    /// Empty: every port.
    pub ports: Vec<String>,
    /// `drop` (the default, left out of the file) or `reject`.
    pub action: Option<String>,
    pub direction: Option<String>,
}

/// The keys that name networks, in the tables of each section: a network's rename follows
/// into them, and one named there is in use.
const NETWORK_LISTS: &[(&str, &[&str])] = &[("services", &["allow", "on"]), ("blocks", &["from"])];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("the policy file is not valid TOML, so it cannot be edited in place: {0}")]
    Syntax(String),
    #[error("[{0}] in the policy file is not a table")]
    NotATable(&'static str),
    #[error("there is no {kind} named {name:?}")]
    Missing { kind: &'static str, name: String },
    #[error("a {kind} named {name:?} exists already")]
    Exists { kind: &'static str, name: String },
    #[error("network {name:?} is used by {}; take it out of their allow lists first", users.join(", "))]
    InUse { name: String, users: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct PolicyDocument {
    doc: DocumentMut,
}

impl PolicyDocument {
    pub fn parse(text: &str) -> Result<Self, EditError> {
        text.parse::<DocumentMut>()
            .map(|doc| PolicyDocument { doc })
            .map_err(|e| EditError::Syntax(e.message().to_string()))
    }

    /// The file's text with the edits.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// The edited policy through the validator `check` uses.
    pub fn validate(&self) -> Result<Policy, Diagnostics> {
        parse(&self.text())
    }

    /// A service as the form shows it, read from the file.
    pub fn service(&self, name: &str) -> Option<ServiceDraft> {
        let t = self.table_in("services", name)?;
        Some(read_draft(t))
    }

    /// A block as the form shows it, read from the file.
    pub fn block(&self, name: &str) -> Option<BlockDraft> {
        let t = self.table_in("blocks", name)?;
        Some(read_draft(t))
    }

    /// `[SECTION.NAME]` as a table.
    fn table_in(&self, section: &str, name: &str) -> Option<&dyn toml_edit::TableLike> {
        self.doc
            .get(section)?
            .as_table_like()?
            .get(name)?
            .as_table_like()
    }

    /// The blocks' names, in file order.
    pub fn block_names(&self) -> Vec<String> {
        names_in(&self.doc, "blocks")
    }

    /// The entries of a network, read from the file.
    pub fn network(&self, name: &str) -> Option<Vec<String>> {
        let array = self.doc.get("networks")?.get(name)?.as_array()?;
        Some(
            array
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    }

    /// The services' names, in file order.
    pub fn service_names(&self) -> Vec<String> {
        names_in(&self.doc, "services")
    }

    /// The networks' names, in file order.
    pub fn network_names(&self) -> Vec<String> {
        names_in(&self.doc, "networks")
    }

    /// Adds a service (`original` None) or changes one, renaming it if `name` differs.
    /// A renamed service keeps its place and the comments above it.
    pub fn set_service(
        &mut self,
        original: Option<&str>,
        name: &str,
        draft: &ServiceDraft,
    ) -> Result<(), EditError> {
        let mut table = self.take("services", "service", original, name)?;
        write_draft(&mut table, draft);
        section(&mut self.doc, "services")?.insert(name, Item::Table(table));
        Ok(())
    }

    /// Adds a block (`original` None) or changes one, renaming it if `name` differs.
    pub fn set_block(
        &mut self,
        original: Option<&str>,
        name: &str,
        draft: &BlockDraft,
    ) -> Result<(), EditError> {
        let mut table = self.take("blocks", "block", original, name)?;
        write_draft(&mut table, draft);
        section(&mut self.doc, "blocks")?.insert(name, Item::Table(table));
        Ok(())
    }

    /// The table of `[SECTION.ORIGINAL]` taken out to be changed (a new one when
    /// `original` is None); refused when `name` is another one's already.
    fn take(
        &mut self,
        section_name: &'static str,
        kind: &'static str,
        original: Option<&str>,
        name: &str,
    ) -> Result<Table, EditError> {
        let tables = section(&mut self.doc, section_name)?;
        if original != Some(name) && tables.contains_key(name) {
            return Err(EditError::Exists {
                kind,
                name: name.into(),
            });
        }
        match original {
            None => {
                let mut t = Table::new();
                t.set_implicit(false);
                Ok(t)
            }
            Some(old) => match tables.remove(old) {
                Some(Item::Table(t)) => Ok(t),
                Some(other) => Ok(table_of(other)),
                None => Err(EditError::Missing {
                    kind,
                    name: old.into(),
                }),
            },
        }
    }

    pub fn remove_block(&mut self, name: &str) -> Result<(), EditError> {
        self.remove("blocks", "block", name)
    }

    pub fn remove_service(&mut self, name: &str) -> Result<(), EditError> {
        self.remove("services", "service", name)
    }

    /// Adds a network (`original` None) or changes one. Renaming it renames it in every
    /// allow list too, so the policy means the same.
    pub fn set_network(
        &mut self,
        original: Option<&str>,
        name: &str,
        entries: &[String],
    ) -> Result<(), EditError> {
        let networks = section(&mut self.doc, "networks")?;
        if original != Some(name) && networks.contains_key(name) {
            return Err(EditError::Exists {
                kind: "network",
                name: name.into(),
            });
        }
        let order: Vec<String> = networks.iter().map(|(k, _)| k.to_string()).collect();
        let (key, mut array) = match original {
            None => (toml_edit::Key::new(name), Array::new()),
            Some(old) => match networks.remove_entry(old) {
                Some((key, item)) => {
                    let array = item.as_array().cloned().unwrap_or_default();
                    let renamed =
                        toml_edit::Key::new(name).with_leaf_decor(key.leaf_decor().clone());
                    (renamed, array)
                }
                None => {
                    return Err(EditError::Missing {
                        kind: "network",
                        name: old.into(),
                    });
                }
            },
        };
        merge_entries(&mut array, entries);
        networks.insert_formatted(&key, Item::Value(Value::Array(array)));
        if let Some(old) = original {
            // Back to the renamed network's old place.
            let place = |k: &str| {
                let k = if k == name { old } else { k };
                order.iter().position(|o| o == k).unwrap_or(usize::MAX)
            };
            networks.sort_values_by(|a, _, b, _| place(a.get()).cmp(&place(b.get())));
            if old != name {
                self.rename_in_network_lists(old, name);
            }
        }
        Ok(())
    }

    /// Removes a network, unless a service allows it: then the error names them.
    pub fn remove_network(&mut self, name: &str) -> Result<(), EditError> {
        let users = self.users_of(name);
        if !users.is_empty() {
            return Err(EditError::InUse {
                name: name.into(),
                users,
            });
        }
        self.remove("networks", "network", name)
    }

    fn remove(
        &mut self,
        section_name: &'static str,
        kind: &'static str,
        name: &str,
    ) -> Result<(), EditError> {
        section(&mut self.doc, section_name)?
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| EditError::Missing {
                kind,
                name: name.into(),
            })
    }

    /// The services (and blocks) whose lists name `network`, in file order; a block as
    /// `block NAME`.
    pub fn users_of(&self, network: &str) -> Vec<String> {
        let mut users = Vec::new();
        for (section, keys) in NETWORK_LISTS {
            let Some(tables) = self.doc.get(section).and_then(Item::as_table_like) else {
                continue;
            };
            for (name, t) in tables.iter() {
                let named = keys.iter().any(|key| {
                    t.get(key)
                        .and_then(Item::as_array)
                        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(network)))
                });
                if named {
                    users.push(if *section == "services" {
                        name.to_string()
                    } else {
                        format!("block {name}")
                    });
                }
            }
        }
        users
    }

    fn rename_in_network_lists(&mut self, old: &str, new: &str) {
        for (section, keys) in NETWORK_LISTS {
            let Some(tables) = self.doc.get_mut(section).and_then(Item::as_table_like_mut) else {
                continue;
            };
            for (_, t) in tables.iter_mut() {
                rename_in(t, keys, old, new);
            }
        }
    }
}

/// `old` renamed `new` in the lists `keys` of one table, keeping each entry's comments.
fn rename_in(table: &mut Item, keys: &[&str], old: &str, new: &str) {
    for key in keys {
        let Some(list) = table.get_mut(key).and_then(Item::as_array_mut) else {
            continue;
        };
        for value in list.iter_mut() {
            if value.as_str() == Some(old) {
                let decor = value.decor().clone();
                *value = Value::from(new);
                *value.decor_mut() = decor;
            }
        }
    }
}

/// A list of strings of a table (empty when absent).
fn strings(t: &dyn toml_edit::TableLike, key: &str) -> Vec<String> {
    t.get(key)
        .and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A string of a table.
fn text(t: &dyn toml_edit::TableLike, key: &str) -> Option<String> {
    t.get(key).and_then(Item::as_str).map(str::to_string)
}

fn names_in(doc: &DocumentMut, section: &str) -> Vec<String> {
    doc.get(section)
        .and_then(Item::as_table_like)
        .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default()
}

/// `[services]` or `[networks]`, made if the file has none yet.
fn section<'d>(doc: &'d mut DocumentMut, name: &'static str) -> Result<&'d mut Table, EditError> {
    let item = doc.entry(name).or_insert_with(|| {
        let mut t = Table::new();
        // `[services.NAME]` headers only, no empty `[services]` line.
        t.set_implicit(name == "services");
        Item::Table(t)
    });
    if let Item::Value(Value::InlineTable(_)) = item {
        let inline = std::mem::take(item);
        *item = Item::Table(table_of(inline));
    }
    item.as_table_mut().ok_or(EditError::NotATable(name))
}

/// An inline table (`ssh = { ports = [...] }`) as a `[section.name]` table.
fn table_of(item: Item) -> Table {
    match item {
        Item::Value(Value::InlineTable(t)) => t.into_table(),
        Item::Table(t) => t,
        _ => Table::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# Example policy: keep this header.
[settings]
table = "portcullis"

[networks]
# The admins' VPN.
admin = [
  "10.8.0.0/24", # vpn pool
  "192.0.2.10",
]
siem = ["198.51.100.7"]

# Remote shell, admins only.
[services.ssh]
ports = ["22/tcp"] # the usual port
allow = ["admin"]

[services.syslog]
ports = ["514/udp"]
allow = ["siem"]
"#;

    fn doc() -> PolicyDocument {
        PolicyDocument::parse(FILE).expect("valid TOML")
    }

    #[test]
    fn every_block_key_is_written_and_read_back() {
        let full = BlockDraft {
            description: Some("scanners".into()),
            from: vec!["198.51.100.0/24".into()],
            ports: vec!["22/tcp".into()],
            action: Some("reject".into()),
            direction: Some("both".into()),
        };
        let mut d = doc();
        d.set_block(None, "every", &full).expect("set");
        assert_eq!(d.block("every"), Some(full), "{}", d.text());
        for key in BlockKey::ALL {
            assert!(
                d.text().contains(&format!("{} = ", key.name())),
                "{key:?}: {}",
                d.text()
            );
        }
        // The defaults are left out of the file.
        let plain = BlockDraft {
            from: vec!["198.51.100.0/24".into()],
            action: Some("drop".into()),
            direction: Some("in".into()),
            ..BlockDraft::default()
        };
        d.set_block(Some("every"), "every", &plain).expect("set");
        assert!(!d.text().contains("action"), "{}", d.text());
    }

    #[test]
    fn every_service_key_is_written_and_read_back() {
        let mut full = ServiceDraft::default();
        for key in ServiceKey::ALL {
            let value = match (key, key.kind()) {
                (ServiceKey::Direction, _) => DraftValue::Text(Some("both".into())),
                (ServiceKey::Burst, _) => DraftValue::Text(Some("7".into())),
                (_, ValueKind::List) => DraftValue::List(vec![format!("{}-value", key.name())]),
                _ => DraftValue::Text(Some(format!("{}-value", key.name()))),
            };
            full.set(key, value);
        }
        let mut d = doc();
        d.set_service(None, "every", &full).expect("set");
        assert_eq!(d.service("every"), Some(full.clone()), "{}", d.text());
        for key in ServiceKey::ALL {
            assert!(
                d.text().contains(&format!("{} = ", key.name())),
                "{key:?}: {}",
                d.text()
            );
        }
    }

    fn draft(ports: &[&str], allow: &[&str]) -> ServiceDraft {
        ServiceDraft {
            ports: ports.iter().map(|s| s.to_string()).collect(),
            allow: allow.iter().map(|s| s.to_string()).collect(),
            ..ServiceDraft::default()
        }
    }

    #[test]
    fn a_burst_is_written_as_a_number_and_goes_with_its_limit() {
        let mut d = doc();
        let mut s = draft(&["22/tcp"], &["admin"]);
        s.limit = Some("10/minute".into());
        s.burst = Some("20".into());
        d.set_service(Some("ssh"), "ssh", &s).unwrap();
        assert!(
            d.text().contains("limit = \"10/minute\"\nburst = 20\n"),
            "{}",
            d.text()
        );
        assert_eq!(d.service("ssh").unwrap().burst.as_deref(), Some("20"));
        s.limit = None;
        s.burst = None;
        d.set_service(Some("ssh"), "ssh", &s).unwrap();
        assert!(!d.text().contains("burst"), "{}", d.text());
    }

    #[test]
    fn an_untouched_document_is_the_file_byte_for_byte() {
        assert_eq!(doc().text(), FILE);
    }

    #[test]
    fn changing_a_service_keeps_every_comment() {
        let mut d = doc();
        d.set_service(
            Some("ssh"),
            "ssh",
            &draft(&["22/tcp", "2222/tcp"], &["admin"]),
        )
        .unwrap();
        let text = d.text();
        assert!(
            text.contains("# Remote shell, admins only.\n[services.ssh]\n"),
            "{text}"
        );
        assert!(
            text.contains("ports = [\"22/tcp\", \"2222/tcp\"] # the usual port\n"),
            "{text}"
        );
        assert!(text.starts_with("# Example policy: keep this header.\n"));
        assert_eq!(text.replace(", \"2222/tcp\"", ""), FILE);
        d.validate().expect("still valid");
    }

    #[test]
    fn a_new_service_goes_at_the_end_and_reads_back() {
        let mut d = doc();
        let mut web = draft(&["443/tcp"], &["any"]);
        web.description = Some("the web site".into());
        d.set_service(None, "web", &web).unwrap();
        let text = d.text();
        assert!(text.starts_with(FILE), "{text}");
        assert!(text.ends_with(
            "\n[services.web]\ndescription = \"the web site\"\nports = [\"443/tcp\"]\nallow = [\"any\"]\n"
        ), "{text}");
        assert_eq!(d.service("web"), Some(web));
        assert_eq!(d.validate().unwrap().services.len(), 3);
    }

    #[test]
    fn renaming_a_service_keeps_its_place_and_comment() {
        let mut d = doc();
        d.set_service(Some("ssh"), "shell", &draft(&["22/tcp"], &["admin"]))
            .unwrap();
        let text = d.text();
        assert_eq!(text, FILE.replace("[services.ssh]", "[services.shell]"));
        assert_eq!(
            d.set_service(Some("shell"), "syslog", &draft(&["1/tcp"], &["any"])),
            Err(EditError::Exists {
                kind: "service",
                name: "syslog".into()
            })
        );
    }

    #[test]
    fn removing_a_service_leaves_the_rest() {
        let mut d = doc();
        d.remove_service("syslog").unwrap();
        assert!(!d.text().contains("syslog]"));
        assert!(d.text().contains("[services.ssh]"));
        assert!(matches!(
            d.remove_service("syslog"),
            Err(EditError::Missing { .. })
        ));
    }

    #[test]
    fn network_entries_that_stay_keep_their_comments_and_new_ones_get_lines() {
        let mut d = doc();
        let entries: Vec<String> = ["10.8.0.0/24", "203.0.113.0/24"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        d.set_network(Some("admin"), "admin", &entries).unwrap();
        let text = d.text();
        assert!(
            text.contains("# The admins' VPN.\nadmin = [\n  \"10.8.0.0/24\", # vpn pool\n  \"203.0.113.0/24\",\n]\n"),
            "{text}"
        );
        assert_eq!(d.network("admin"), Some(entries));
    }

    #[test]
    fn renaming_a_network_renames_it_where_it_is_allowed_and_keeps_its_place() {
        let mut d = doc();
        let entries = d.network("admin").unwrap();
        d.set_network(Some("admin"), "ops", &entries).unwrap();
        let text = d.text();
        assert_eq!(
            text,
            FILE.replace("admin = [", "ops = [")
                .replace("allow = [\"admin\"]", "allow = [\"ops\"]")
        );
        d.validate().expect("still valid");
    }

    #[test]
    fn a_network_in_use_is_not_removed_and_the_error_names_its_users() {
        let mut d = doc();
        let err = d.remove_network("siem").unwrap_err();
        assert_eq!(
            err.to_string(),
            "network \"siem\" is used by syslog; take it out of their allow lists first"
        );
        d.remove_service("syslog").unwrap();
        d.remove_network("siem").unwrap();
        assert!(!d.text().contains("siem"));
    }

    #[test]
    fn a_new_network_in_a_file_without_networks() {
        let mut d =
            PolicyDocument::parse("[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n")
                .unwrap();
        d.set_network(None, "lan", &["192.168.1.0/24".to_string()])
            .unwrap();
        let p = d.validate().expect("valid");
        assert_eq!(p.networks["lan"].entries.len(), 1);
    }

    #[test]
    fn an_invalid_edit_is_reported_by_the_check_validator() {
        let mut d = doc();
        d.set_service(Some("ssh"), "ssh", &draft(&["99999/tcp"], &["nowhere"]))
            .unwrap();
        let messages = d.validate().unwrap_err().to_string();
        assert!(messages.contains("99999"), "{messages}");
        assert!(messages.contains("nowhere"), "{messages}");
    }

    #[test]
    fn an_inline_service_becomes_a_table_when_edited() {
        let mut d = PolicyDocument::parse(
            "services = { ssh = { ports = [\"22/tcp\"], allow = [\"any\"] } }\n",
        )
        .unwrap();
        d.set_service(Some("ssh"), "ssh", &draft(&["2222/tcp"], &["any"]))
            .unwrap();
        let p = d.validate().expect("valid");
        assert_eq!(p.services["ssh"].ports[0].to_string(), "2222/tcp");
    }

    #[test]
    fn findings_are_located_in_their_field() {
        let mut d = doc();
        d.set_service(Some("ssh"), "ssh", &draft(&["99999/tcp"], &["nowhere"]))
            .unwrap();
        let text = d.text();
        let at = locate(&text, "services", "ssh");
        let findings = parse(&text).unwrap_err();
        let fields: Vec<Option<&str>> = findings
            .0
            .iter()
            .map(|f| at.field_at(f.span.start))
            .collect();
        assert_eq!(fields, vec![Some("ports"), Some("allow")]);
        let net = locate(&text, "networks", "admin");
        assert!(net.fields.iter().any(|(k, _)| k == "entries"));
        assert!(net.name.is_some());
    }
}
