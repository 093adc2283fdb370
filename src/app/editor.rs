//! The policy being edited: the file as last read from (or saved to) disk, and the working
//! copy the forms change. Nothing reaches the disk from here: saving is an effect the
//! worker runs. Pure.

use crate::policy::document::{EditError, PolicyDocument};
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
    /// The working copy through the validator, or its findings rendered as `check` does.
    validated: Result<Policy, String>,
    dirty: bool,
    /// The file changed on disk while there were unsaved edits: its newer text, kept until
    /// the operator chooses to reload it or to save over it.
    pub newer_on_disk: Option<Loaded>,
    path: String,
}

impl Editor {
    pub fn new(path: &str, loaded: Loaded) -> Editor {
        let mut editor = Editor {
            disk: loaded,
            disk_doc: None,
            doc: None,
            syntax_error: None,
            validated: Err(String::new()),
            dirty: false,
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
        self.dirty = false;
        self.revalidate();
    }

    fn revalidate(&mut self) {
        let text = self.text();
        self.validated = policy::parse(&text).map_err(|d| d.render(&self.path, &text));
    }

    pub fn doc(&self) -> Option<&PolicyDocument> {
        self.doc.as_ref()
    }

    /// The working copy's text (the file's, if it cannot be edited).
    pub fn text(&self) -> String {
        self.doc
            .as_ref()
            .map_or_else(|| self.disk.text.clone(), PolicyDocument::text)
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
        self.dirty = doc.text() != self.disk.text;
        self.revalidate();
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
        let keep = self.doc.clone();
        self.disk = loaded;
        self.newer_on_disk = None;
        self.disk_doc = keep.clone();
        self.doc = keep;
        self.dirty = self.text() != self.disk.text;
        self.revalidate();
    }

    /// `+` for a service or network the edits add, `~` for one they change.
    pub fn marker(&self, section: Section, name: &str) -> Option<char> {
        fn compare<T: PartialEq>(before: Option<T>, now: Option<T>) -> Option<char> {
            match before {
                None => Some('+'),
                Some(b) if Some(&b) != now.as_ref() => Some('~'),
                Some(_) => None,
            }
        }
        let doc = self.doc.as_ref()?;
        let before = self.disk_doc.as_ref();
        match section {
            Section::Services => compare(before.and_then(|d| d.service(name)), doc.service(name)),
            Section::Networks => compare(before.and_then(|d| d.network(name)), doc.network(name)),
        }
    }

    /// The names the saved file has and the working copy no longer has.
    pub fn removed(&self, section: Section) -> Vec<String> {
        let (Some(doc), Some(before)) = (self.doc.as_ref(), self.disk_doc.as_ref()) else {
            return Vec::new();
        };
        let names = |d: &PolicyDocument| match section {
            Section::Services => d.service_names(),
            Section::Networks => d.network_names(),
        };
        let now = names(doc);
        names(before)
            .into_iter()
            .filter(|n| !now.contains(n))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Services,
    Networks,
}

impl Section {
    pub fn key(self) -> &'static str {
        match self {
            Section::Services => "services",
            Section::Networks => "networks",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Section::Services => "service",
            Section::Networks => "network",
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
        assert_eq!(e.removed(Section::Services), vec!["ssh".to_string()]);
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
        assert_eq!(e.marker(Section::Services, "ssh"), Some('~'));
    }
}
