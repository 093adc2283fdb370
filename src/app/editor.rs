//! The policy being edited: the file as last read from (or saved to) disk, and the working
//! copy the forms change. Nothing reaches the disk from here: saving is an effect the
//! worker runs. Pure.

use crate::policy::document::{EditError, PolicyDocument, ServiceDraft};
use crate::policy::file::Loaded;
use crate::policy::{self, Policy};

#[derive(Debug, Clone)]
pub struct Editor {
    /// The file as last read or saved.
    disk: Loaded,
    /// `disk` parsed, for the change markers and for discarding edits.
    disk_doc: Option<PolicyDocument>,
    /// The working copy; None while the file is not TOML at all (it cannot be edited in
    /// place then, and `syntax_error` says why).
    doc: Option<PolicyDocument>,
    pub syntax_error: Option<String>,
    /// What follows from the working copy, made again on each change (never per frame: a
    /// 100,000-address network costs milliseconds to serialize or list).
    text: String,
    /// The working copy through the validator, or its findings rendered as `check` does.
    validated: Result<Policy, String>,
    dirty: bool,
    services: Vec<ServiceRow>,
    networks: Vec<NetworkRow>,
    blocks: Vec<BlockRow>,
    removed_services: Vec<String>,
    removed_networks: Vec<String>,
    removed_blocks: Vec<String>,
    /// The file changed on disk while there were unsaved edits: its newer text, kept until
    /// the operator chooses to reload it or to save over it.
    pub newer_on_disk: Option<Loaded>,
    path: String,
}

/// A service as its screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub name: String,
    pub draft: ServiceDraft,
    /// `+` added, `~` changed by the unsaved edits.
    pub marker: Option<char>,
    /// What `/` looks in, in lower case: name, ports, allow, interfaces, description.
    pub search: String,
}

/// A network as its screen lists it: how many entries, the first few, who allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRow {
    pub name: String,
    pub count: usize,
    pub head: Vec<String>,
    pub users: Vec<String>,
    pub marker: Option<char>,
    /// What `/` looks in, in lower case: name, every entry (not only the head), users.
    pub search: String,
}

/// A block as its screen lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    pub name: String,
    pub draft: crate::policy::document::BlockDraft,
    pub marker: Option<char>,
    /// What `/` looks in, in lower case: name, from, ports, action, description.
    pub search: String,
}

/// How many entries of a network its row shows.
const HEAD: usize = 3;

impl Editor {
    pub fn new(path: &str, loaded: Loaded) -> Editor {
        let mut editor = Editor {
            disk: loaded,
            disk_doc: None,
            doc: None,
            syntax_error: None,
            text: String::new(),
            validated: Err(String::new()),
            dirty: false,
            services: Vec::new(),
            networks: Vec::new(),
            blocks: Vec::new(),
            removed_services: Vec::new(),
            removed_networks: Vec::new(),
            removed_blocks: Vec::new(),
            newer_on_disk: None,
            path: path.to_string(),
        };
        editor.reset();
        editor
    }

    /// The working copy back to the file on disk.
    fn reset(&mut self) {
        match PolicyDocument::parse(&self.disk.text) {
            Ok(doc) => {
                self.disk_doc = Some(doc.clone());
                self.doc = Some(doc);
                self.syntax_error = None;
            }
            Err(e) => {
                self.disk_doc = None;
                self.doc = None;
                self.syntax_error = Some(e.to_string());
            }
        }
        self.changed();
    }

    /// Makes again what follows from the working copy.
    fn changed(&mut self) {
        self.text = self
            .doc
            .as_ref()
            .map_or_else(|| self.disk.text.clone(), PolicyDocument::text);
        self.dirty = self.text != self.disk.text;
        self.validated = policy::parse(&self.text).map_err(|d| d.render(&self.path, &self.text));
        let (Some(doc), before) = (self.doc.as_ref(), self.disk_doc.as_ref()) else {
            self.services.clear();
            self.networks.clear();
            self.blocks.clear();
            return;
        };
        self.services = doc
            .service_names()
            .into_iter()
            .map(|name| {
                let draft = doc.service(&name).unwrap_or_default();
                let marker = marker(before.and_then(|d| d.service(&name)), &draft);
                let search = format!(
                    "{name} {} {} {} {}",
                    draft.ports.join(" "),
                    draft.allow.join(" "),
                    draft.interfaces.join(" "),
                    draft.description.as_deref().unwrap_or("")
                )
                .to_lowercase();
                ServiceRow {
                    name,
                    draft,
                    marker,
                    search,
                }
            })
            .collect();
        self.networks = doc
            .network_names()
            .into_iter()
            .map(|name| {
                let entries = doc.network(&name).unwrap_or_default();
                let marker = marker(before.and_then(|d| d.network(&name)), &entries);
                let users = doc.users_of(&name);
                let search =
                    format!("{name} {} {}", entries.join(" "), users.join(" ")).to_lowercase();
                NetworkRow {
                    search,
                    count: entries.len(),
                    head: entries.into_iter().take(HEAD).collect(),
                    users,
                    marker,
                    name,
                }
            })
            .collect();
        self.blocks = doc
            .block_names()
            .into_iter()
            .map(|name| {
                let draft = doc.block(&name).unwrap_or_default();
                let marker = marker(before.and_then(|d| d.block(&name)), &draft);
                let search = format!(
                    "{name} {} {} {} {}",
                    draft.from.join(" "),
                    draft.ports.join(" "),
                    draft.action.as_deref().unwrap_or("drop"),
                    draft.description.as_deref().unwrap_or("")
                )
                .to_lowercase();
                BlockRow {
                    name,
                    draft,
                    marker,
                    search,
                }
            })
            .collect();
        let gone = |before: Vec<String>, now: &[String]| -> Vec<String> {
            before.into_iter().filter(|n| !now.contains(n)).collect()
        };
        let service_names: Vec<String> = self.services.iter().map(|r| r.name.clone()).collect();
        let network_names: Vec<String> = self.networks.iter().map(|r| r.name.clone()).collect();
        self.removed_services =
            before.map_or_else(Vec::new, |d| gone(d.service_names(), &service_names));
        self.removed_networks =
            before.map_or_else(Vec::new, |d| gone(d.network_names(), &network_names));
        let block_names: Vec<String> = self.blocks.iter().map(|r| r.name.clone()).collect();
        self.removed_blocks = before.map_or_else(Vec::new, |d| gone(d.block_names(), &block_names));
    }

    pub fn doc(&self) -> Option<&PolicyDocument> {
        self.doc.as_ref()
    }

    /// The working copy's text (the file's, if it cannot be edited).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn disk(&self) -> &Loaded {
        &self.disk
    }

    /// There are edits not yet saved.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// The working copy, if valid.
    pub fn policy(&self) -> Option<&Policy> {
        self.validated.as_ref().ok()
    }

    /// Why the working copy is invalid, as `check` prints it.
    pub fn findings(&self) -> Option<&str> {
        self.validated.as_ref().err().map(String::as_str)
    }

    pub fn services(&self) -> &[ServiceRow] {
        &self.services
    }

    pub fn networks(&self) -> &[NetworkRow] {
        &self.networks
    }

    pub fn blocks(&self) -> &[BlockRow] {
        &self.blocks
    }

    /// The names of a section, in file order.
    pub fn names(&self, section: Section) -> Vec<&str> {
        match section {
            Section::Services => self.services.iter().map(|r| r.name.as_str()).collect(),
            Section::Networks => self.networks.iter().map(|r| r.name.as_str()).collect(),
            Section::Blocks => self.blocks.iter().map(|r| r.name.as_str()).collect(),
        }
    }

    /// The names the saved file has and the working copy no longer has.
    pub fn removed(&self, section: Section) -> &[String] {
        match section {
            Section::Services => &self.removed_services,
            Section::Networks => &self.removed_networks,
            Section::Blocks => &self.removed_blocks,
        }
    }

    /// Changes the working copy.
    pub fn edit(
        &mut self,
        change: impl FnOnce(&mut PolicyDocument) -> Result<(), EditError>,
    ) -> Result<(), EditError> {
        let Some(doc) = self.doc.as_mut() else {
            return Err(EditError::Syntax(
                self.syntax_error.clone().unwrap_or_default(),
            ));
        };
        change(doc)?;
        self.changed();
        Ok(())
    }

    /// Drops every unsaved edit.
    pub fn discard(&mut self) {
        if let Some(newer) = self.newer_on_disk.take() {
            self.disk = newer;
        }
        self.reset();
    }

    /// A reading of the file by the refresh: taken over at once when nothing is edited,
    /// else kept aside for the operator to choose.
    pub fn disk_read(&mut self, loaded: Loaded) {
        if loaded.stamp == self.disk.stamp {
            self.newer_on_disk = None;
            return;
        }
        if self.dirty {
            self.newer_on_disk = Some(loaded);
        } else {
            self.disk = loaded;
            self.reset();
        }
    }

    /// The working copy was saved as `loaded`: the edits are the file now.
    pub fn saved(&mut self, loaded: Loaded) {
        self.disk = loaded;
        self.newer_on_disk = None;
        self.disk_doc = self.doc.clone();
        self.changed();
    }
}

/// `+` for what the saved file lacks, `~` for what it has otherwise.
fn marker<T: PartialEq>(before: Option<T>, now: &T) -> Option<char> {
    match before {
        None => Some('+'),
        Some(b) if b != *now => Some('~'),
        Some(_) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Services,
    Networks,
    Blocks,
}

impl Section {
    pub fn key(self) -> &'static str {
        match self {
            Section::Services => "services",
            Section::Networks => "networks",
            Section::Blocks => "blocks",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Section::Services => "service",
            Section::Networks => "network",
            Section::Blocks => "block",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file;

    fn loaded(text: &str) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        file::read(&path).unwrap()
    }

    const FILE: &str = "# mine\n[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n";

    #[test]
    fn edits_mark_dirty_and_discard_brings_the_file_back() {
        let mut e = Editor::new("p.toml", loaded(FILE));
        assert!(!e.dirty());
        e.edit(|d| d.remove_service("ssh")).unwrap();
        assert!(e.dirty());
        assert_eq!(e.removed(Section::Services), ["ssh".to_string()]);
        e.discard();
        assert!(!e.dirty());
        assert_eq!(e.text(), FILE);
    }

    #[test]
    fn a_newer_file_waits_while_there_are_edits() {
        let mut e = Editor::new("p.toml", loaded(FILE));
        e.disk_read(loaded(&FILE.replace("22/tcp", "2222/tcp")));
        assert!(e.text().contains("2222"), "taken over: nothing was edited");
        e.edit(|d| d.remove_service("ssh")).unwrap();
        e.disk_read(loaded("# theirs\n"));
        assert!(e.newer_on_disk.is_some());
        assert!(!e.text().contains("theirs"));
        e.discard();
        assert_eq!(e.text(), "# theirs\n");
    }

    #[test]
    fn an_invalid_working_copy_has_findings_in_check_format() {
        let mut e = Editor::new("p.toml", loaded(FILE));
        e.edit(|d| {
            d.set_service(
                Some("ssh"),
                "ssh",
                &crate::policy::document::ServiceDraft {
                    ports: vec!["0/tcp".into()],
                    allow: vec!["any".into()],
                    ..Default::default()
                },
            )
        })
        .unwrap();
        assert!(e.policy().is_none());
        assert!(e.findings().unwrap().starts_with("p.toml:3:"), "{e:?}");
        assert_eq!(e.services()[0].marker, Some('~'));
    }
}
