//! The services and networks screens: their lists, the forms that add, change and delete,
//! and saving the edited policy (or reloading it when someone else changed the file).

use ratatui::crossterm::event::KeyEvent;
use ratatui::widgets::TableState;

use super::editor::Section;
use super::form::Form;
use super::keymap::Action;
use super::review::ReviewState;
use super::{App, Effect, Modal, Notice, Question, SaveFailed, Screen};
use crate::policy::document::{EditError, ServiceDraft};
use crate::policy::file::Loaded;

impl App {
    pub(super) fn show_list(&mut self, screen: Screen) {
        self.screen = screen;
        let len = self.list_len(screen);
        super::overview::clamp(self.list_state(screen), len);
    }

    fn section_of(screen: Screen) -> Section {
        match screen {
            Screen::Networks => Section::Networks,
            Screen::Blocks => Section::Blocks,
            _ => Section::Services,
        }
    }

    /// The names a list shows, in file order.
    /// The names the list shows: all, or those its `/` filter lets through.
    pub fn list_names(&self, screen: Screen) -> Vec<&str> {
        match screen {
            Screen::Networks => self
                .visible_networks()
                .into_iter()
                .map(|r| r.name.as_str())
                .collect(),
            Screen::Blocks => self
                .visible_blocks()
                .into_iter()
                .map(|r| r.name.as_str())
                .collect(),
            _ => self
                .visible_services()
                .into_iter()
                .map(|r| r.name.as_str())
                .collect(),
        }
    }

    /// The services screen's rows under its filter (name, ports, allow, interfaces,
    /// description).
    pub fn visible_services(&self) -> Vec<&super::editor::ServiceRow> {
        let filter = &self.filters.services;
        self.editor
            .as_ref()
            .map(|e| e.services())
            .unwrap_or_default()
            .iter()
            .filter(|r| super::filter::matches_lowercase(filter, &r.search))
            .collect()
    }

    /// The blocks screen's rows under its filter (name, from, ports, action, description).
    pub fn visible_blocks(&self) -> Vec<&super::editor::BlockRow> {
        let filter = &self.filters.blocks;
        self.editor
            .as_ref()
            .map(|e| e.blocks())
            .unwrap_or_default()
            .iter()
            .filter(|r| super::filter::matches_lowercase(filter, &r.search))
            .collect()
    }

    /// The networks screen's rows under its filter (name, every entry, users).
    pub fn visible_networks(&self) -> Vec<&super::editor::NetworkRow> {
        let filter = &self.filters.networks;
        self.editor
            .as_ref()
            .map(|e| e.networks())
            .unwrap_or_default()
            .iter()
            .filter(|r| super::filter::matches_lowercase(filter, &r.search))
            .collect()
    }

    pub(super) fn list_len(&self, screen: Screen) -> usize {
        self.list_names(screen).len()
    }

    pub(super) fn list_state(&mut self, screen: Screen) -> &mut TableState {
        match screen {
            Screen::Networks => &mut self.network_table,
            Screen::Blocks => &mut self.block_table,
            _ => &mut self.service_table,
        }
    }

    fn selected_name(&self) -> Option<String> {
        let state = match self.screen {
            Screen::Networks => &self.network_table,
            Screen::Blocks => &self.block_table,
            _ => &self.service_table,
        };
        let i = state.selected()?;
        self.list_names(self.screen).get(i).map(|n| n.to_string())
    }

    pub(super) fn list_action(&mut self, action: Action) {
        let section = Self::section_of(self.screen);
        let selected = self.selected_name();
        let Some(doc) = self.editor.as_ref().and_then(|e| e.doc()) else {
            self.notice = Notice::error(format!(
                "the policy file cannot be edited: {}",
                self.editor
                    .as_ref()
                    .and_then(|e| e.syntax_error.clone())
                    .unwrap_or_else(|| "it has not been read yet".into())
            ));
            return;
        };
        let mut form = match (action, selected) {
            (Action::Add, _) => match section {
                Section::Services => Form::service(None, "", &ServiceDraft::default()),
                Section::Networks => Form::network(None, "", &[]),
                Section::Blocks => Form::block(None, "", &Default::default()),
            },
            (Action::Edit | Action::Delete, None) => {
                self.notice = Notice::error(format!("no {} selected", section.singular()));
                return;
            }
            (Action::Delete, Some(name)) => {
                let users = doc.users_of(&name);
                if section == Section::Networks && !users.is_empty() {
                    // Said now rather than after a question whose yes would be refused.
                    self.notice = Notice::error(EditError::InUse { name, users }.to_string());
                } else {
                    self.modal = Modal::Ask(Question::Delete(section, name));
                }
                return;
            }
            (Action::Edit, Some(name)) => match section {
                Section::Services => {
                    let draft = doc.service(&name).unwrap_or_default();
                    Form::service(Some(&name), &name, &draft)
                }
                Section::Networks => {
                    let entries = doc.network(&name).unwrap_or_default();
                    Form::network(Some(&name), &name, &entries)
                }
                Section::Blocks => {
                    let draft = doc.block(&name).unwrap_or_default();
                    Form::block(Some(&name), &name, &draft)
                }
            },
            _ => return,
        };
        form.validate(doc);
        self.modal = Modal::Form(Box::new(form));
    }

    pub(super) fn delete(&mut self, section: Section, name: &str) {
        let Some(editor) = &mut self.editor else {
            return;
        };
        let result = editor.edit(|d| match section {
            Section::Services => d.remove_service(name),
            Section::Networks => d.remove_network(name),
            Section::Blocks => d.remove_block(name),
        });
        self.notice = match result {
            Ok(()) => Notice::info(format!(
                "deleted {} {name} (not saved yet: s saves, d shows the diff)",
                section.singular()
            )),
            Err(e) => Notice::error(e.to_string()),
        };
        self.edited();
        let screen = self.screen;
        let len = self.list_len(screen);
        super::overview::clamp(self.list_state(screen), len);
    }

    /// The working copy changed: the diff made of it is out of date.
    fn edited(&mut self) {
        if !matches!(self.review, ReviewState::Preparing) {
            self.review = ReviewState::None;
        }
    }

    pub(super) fn form_action(&mut self, action: Action) -> Vec<Effect> {
        let Modal::Form(form) = &mut self.modal else {
            return Vec::new();
        };
        match action {
            Action::FormCancel => self.modal = Modal::None,
            Action::FormNext => {
                if form.complete() {
                    self.revalidate_form();
                } else {
                    form.next_field();
                }
            }
            Action::FormPrevious => form.previous_field(),
            Action::FormUndo if form.undo() => self.revalidate_form(),
            Action::FormRedo if form.redo() => self.revalidate_form(),
            Action::FormSubmit => self.submit_form(),
            _ => {}
        }
        Vec::new()
    }

    fn submit_form(&mut self) {
        let Modal::Form(form) = std::mem::take(&mut self.modal) else {
            return;
        };
        let Some(editor) = &mut self.editor else {
            return;
        };
        let Some(doc) = editor.doc() else {
            return;
        };
        let mut form = form;
        // An attempt to submit shows every finding, typed or not.
        form.untouched = false;
        form.validate(doc);
        if !form.valid {
            self.notice = Notice::error("not done: fix the fields marked in red first");
            self.modal = Modal::Form(form);
            return;
        }
        let name = form.name();
        let what = form.section.singular();
        let verb = match &form.original {
            None => "added",
            Some(old) if *old != name => "renamed and changed",
            Some(_) => "changed",
        };
        match editor.edit(|d| form.apply_to(d)) {
            Ok(()) => {
                self.notice = Notice::info(format!(
                    "{what} {name} {verb} (not saved yet: s saves, d shows the diff)"
                ));
                self.edited();
                let screen = match form.section {
                    Section::Networks => Screen::Networks,
                    Section::Blocks => Screen::Blocks,
                    Section::Services => Screen::Services,
                };
                if self.screen != Screen::Overview {
                    let at = self.list_names(screen).iter().position(|n| *n == name);
                    self.list_state(screen).select(at);
                }
            }
            Err(e) => {
                self.notice = Notice::error(e.to_string());
                self.modal = Modal::Form(form);
            }
        }
    }

    /// A key that is no binding of the form: it goes to the field in focus.
    pub(super) fn form_key(&mut self, key: KeyEvent) {
        let Modal::Form(form) = &mut self.modal else {
            return;
        };
        if form.input(key) {
            form.untouched = false;
            self.revalidate_form();
        }
    }

    pub(super) fn revalidate_form(&mut self) {
        let Modal::Form(form) = &mut self.modal else {
            return;
        };
        if let Some(doc) = self.editor.as_ref().and_then(|e| e.doc()) {
            form.validate(doc);
        }
    }

    pub(super) fn save(&mut self) -> Vec<Effect> {
        // A second save while one runs would find the file changed by the first.
        if self.busy {
            return Vec::new();
        }
        let Some(editor) = &self.editor else {
            self.notice = Notice::info("nothing to save: no unsaved edits");
            return Vec::new();
        };
        if !editor.dirty() {
            self.notice = Notice::info("nothing to save: no unsaved edits");
            return Vec::new();
        }
        if let Some(findings) = editor.findings() {
            let count = findings.lines().count();
            self.notice = Notice::error(format!(
                "not saved: the edited policy has {count} error{} ({})",
                if count == 1 { "" } else { "s" },
                findings.lines().next().unwrap_or("")
            ));
            return Vec::new();
        }
        if editor.newer_on_disk.is_some() {
            self.modal = Modal::Conflict;
            return Vec::new();
        }
        self.busy = true;
        vec![Effect::Save {
            text: editor.text().to_string(),
            stamp: Some(editor.disk().stamp),
        }]
    }

    pub(super) fn overwrite(&mut self) -> Vec<Effect> {
        self.modal = Modal::None;
        let Some(editor) = &self.editor else {
            return Vec::new();
        };
        self.busy = true;
        vec![Effect::Save {
            text: editor.text().to_string(),
            stamp: None,
        }]
    }

    pub(super) fn saved(
        &mut self,
        result: Result<(Loaded, Option<String>), SaveFailed>,
    ) -> Vec<Effect> {
        self.busy = false;
        match result {
            Ok((loaded, backup)) => {
                if let Some(e) = &mut self.editor {
                    e.saved(loaded);
                }
                self.notice = Notice::info(format!(
                    "saved {}{}; d shows the diff against the live table, C there commits",
                    self.config.policy_path,
                    backup
                        .map(|b| format!(" (previous file kept as {b})"))
                        .unwrap_or_default()
                ));
            }
            Err(SaveFailed::ChangedOnDisk) => self.modal = Modal::Conflict,
            Err(SaveFailed::Other(e)) => self.notice = Notice::error(format!("not saved: {e}")),
        }
        Vec::new()
    }

    pub(super) fn reloaded(&mut self, result: Result<Loaded, String>) {
        self.modal = Modal::None;
        match result {
            Ok(loaded) => {
                let path = self.config.policy_path.clone();
                self.editor = Some(super::editor::Editor::new(&path, loaded));
                self.review = ReviewState::None;
                self.notice = Notice::info(format!("reloaded {path}; the edits were dropped"));
            }
            Err(e) => self.notice = Notice::error(format!("cannot reload: {e}")),
        }
    }
}
