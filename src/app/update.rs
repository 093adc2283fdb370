//! The update step: a message in, the state changed and the effects to run out. Keys
//! become actions through the keymap; what each action does is here or, for the larger
//! parts, in `overview`, `edit` and `flow`.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::grant::Asking;
use super::keymap::{Action, action_of, binding_of};
use super::review::ReviewState;
use super::{App, Effect, Modal, Msg, Notice, Question, Screen};

impl App {
    pub(super) fn act(&mut self, action: Action) -> Vec<Effect> {
        if matches!(
            action,
            Action::ShowServices
                | Action::ShowNetworks
                | Action::ShowBlocks
                | Action::ShowDiff
                | Action::ServiceFromSocket
                | Action::Open
        ) {
            self.open_editor();
        }
        if let Some(b) = binding_of(action, self.scope())
            && b.changes_firewall
        {
            if self.config.read_only {
                self.notice = Notice::error(format!(
                    "{} is disabled: changing the firewall needs root (CAP_NET_ADMIN); run \
                     with sudo",
                    b.keys()
                ));
                return Vec::new();
            }
            if self.busy {
                return Vec::new();
            }
        }
        match action {
            Action::Quit => return self.quit(),
            Action::Help => {
                self.help_scroll = 0;
                self.modal = Modal::Help(self.screen.scope());
            }
            Action::CloseOverlay => {
                if matches!(self.modal, Modal::Countdown) {
                    self.hidden_countdown = self.pending.as_ref().map(|p| p.id.clone());
                }
                self.modal = Modal::None;
            }
            Action::ShowOverview => self.screen = Screen::Overview,
            Action::ShowServices => self.show_list(Screen::Services),
            Action::ShowNetworks => self.show_list(Screen::Networks),
            Action::ShowBlocks => self.show_list(Screen::Blocks),
            Action::ShowDiff => return self.show_diff(),
            Action::FocusNext
            | Action::FocusPrevious
            | Action::ToggleOtherTables
            | Action::ServiceFromSocket => self.overview_action(action),
            Action::Up | Action::Down if matches!(self.modal, Modal::LetIn(_)) => {
                self.move_let_in(action == Action::Down)
            }
            Action::Up if matches!(self.modal, Modal::Help(_)) => {
                self.help_scroll = self.help_scroll.saturating_sub(1)
            }
            Action::Down if matches!(self.modal, Modal::Help(_)) => self.help_scroll += 1,
            Action::Open => self.open_selected(),
            Action::Filter => self.start_filter(),
            Action::Grant => self.start_prompt(Asking::Grant),
            Action::Revoke => self.start_prompt(Asking::Revoke),
            Action::PromptSend => return self.send_prompt(),
            Action::PromptCancel => self.prompt = None,
            Action::FilterDone => self.keep_filter(),
            Action::FilterClear => self.clear_filter(),
            Action::Choose => self.choose_way_in(),
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.move_by(action),
            Action::RefreshNow => {
                let mut effects = self.refresh();
                if self.screen == Screen::Diff {
                    effects.extend(self.make_review());
                }
                return effects;
            }
            Action::Add | Action::Edit | Action::Delete => self.list_action(action),
            Action::Save => return self.save(),
            Action::DiscardEdits => {
                if self.dirty() {
                    self.modal = Modal::Ask(Question::Discard);
                } else {
                    self.notice = Notice::info("no unsaved edits");
                }
            }
            Action::Commit => return self.commit(),
            Action::Confirm | Action::Rollback => return self.resolve_pending(action),
            Action::ShowPending => {
                if self.pending.is_some() {
                    self.modal = Modal::Countdown;
                } else {
                    self.notice = Notice::info("no commit is pending");
                }
            }
            Action::Yes | Action::No => return self.answer(action == Action::Yes),
            Action::Reload => return vec![Effect::Reload],
            Action::Overwrite => return self.overwrite(),
            Action::FormSubmit
            | Action::FormCancel
            | Action::FormNext
            | Action::FormPrevious
            | Action::FormUndo
            | Action::FormRedo => return self.form_action(action),
        }
        Vec::new()
    }

    pub(super) fn quit(&mut self) -> Vec<Effect> {
        if self.dirty() && self.modal_is_not(&Question::Quit) {
            self.modal = Modal::Ask(Question::Quit);
            return Vec::new();
        }
        self.quitting = true;
        vec![Effect::Quit]
    }

    pub(super) fn modal_is_not(&self, question: &Question) -> bool {
        !matches!(&self.modal, Modal::Ask(q) if q == question)
    }

    /// The answer to the question on screen.
    pub(super) fn answer(&mut self, yes: bool) -> Vec<Effect> {
        let Modal::Ask(question) = std::mem::take(&mut self.modal) else {
            return Vec::new();
        };
        if !yes {
            return Vec::new();
        }
        match question {
            Question::Quit => {
                self.quitting = true;
                return vec![Effect::Quit];
            }
            Question::Discard => {
                if let Some(e) = &mut self.editor {
                    e.discard();
                }
                self.review = ReviewState::None;
                self.notice = Notice::info("discarded every unsaved edit");
                // On the diff screen, the diff of what is left (the file against the kernel).
                if self.screen == Screen::Diff {
                    return self.make_review();
                }
            }
            Question::Delete(section, name) => self.delete(section, &name),
        }
        Vec::new()
    }

    pub(super) fn refresh(&mut self) -> Vec<Effect> {
        // One refresh in flight at a time: a slow nft never piles up.
        if self.refreshing {
            return Vec::new();
        }
        self.refreshing = true;
        vec![Effect::Refresh]
    }

    /// A key typed into the form or the lockout prompt rather than bound to an action.
    pub(super) fn typed(&mut self, key: KeyEvent) -> bool {
        if self.prompt.is_some() && matches!(self.modal, Modal::None) {
            return self.prompt_key(key);
        }
        if self.filtering.is_some() && matches!(self.modal, Modal::None) {
            return self.filter_key(key);
        }
        match &mut self.modal {
            Modal::Form(_) => {
                self.form_key(key);
                true
            }
            Modal::Lockout(typed) => {
                match key.code {
                    KeyCode::Char(c) => typed.push(c),
                    KeyCode::Backspace => {
                        typed.pop();
                    }
                    _ => {}
                }
                true
            }
            _ => false,
        }
    }
}

/// The app's reaction to a message: whether the screen must be drawn again, and what to
/// run.
#[derive(Debug, Default, PartialEq)]
pub struct Reaction {
    pub redraw: bool,
    pub effects: Vec<Effect>,
}

fn redraw(effects: Vec<Effect>) -> Reaction {
    Reaction {
        redraw: true,
        effects,
    }
}

/// The update step. Never blocks, never does IO.
pub fn update(app: &mut App, msg: Msg) -> Reaction {
    match msg {
        Msg::Key(key) => {
            app.notice = None;
            let effects = match action_of(&key, app.scope()) {
                Some(action) => app.act(action),
                None => {
                    app.typed(key);
                    Vec::new()
                }
            };
            redraw(effects)
        }
        Msg::Paste(text) => {
            match &mut app.modal {
                Modal::Form(form) => {
                    form.paste(&text);
                    form.untouched = false;
                    app.revalidate_form();
                }
                Modal::Lockout(typed) => typed.push_str(text.trim()),
                _ => {}
            }
            redraw(Vec::new())
        }
        Msg::Mouse(event) => match app.screen_tab_at(&event) {
            // A click on a screen tab is its number key.
            Some(action) => redraw(app.act(action)),
            None => Reaction {
                redraw: app.mouse(event),
                effects: Vec::new(),
            },
        },
        Msg::Resize => redraw(Vec::new()),
        Msg::Clock { now, refresh_due } => {
            app.now = now;
            let effects = if refresh_due {
                app.refresh()
            } else {
                Vec::new()
            };
            Reaction {
                // Without a refresh, only the countdown and the refresh age change. With
                // one, its result redraws a moment later: drawing now as well would double
                // the drawing on every tick.
                redraw: effects.is_empty(),
                effects,
            }
        }
        Msg::Refreshed(obs) => {
            app.ingest(*obs);
            redraw(Vec::new())
        }
        Msg::LiveDone(result) => {
            app.busy = false;
            app.notice = match result {
                Ok(text) => Notice::info(text),
                Err(text) => Notice::error(text),
            };
            redraw(app.refresh())
        }
        Msg::Reviewed(result) => {
            app.reviewed(result);
            redraw(Vec::new())
        }
        Msg::Saved(result) => redraw(app.saved(result)),
        Msg::Reloaded(result) => {
            app.reloaded(result);
            redraw(Vec::new())
        }
        Msg::Applied(result) => redraw(app.applied(result)),
        Msg::Stop(name) => {
            app.quitting = true;
            app.notice = Notice::info(format!("{name}: quitting"));
            Reaction {
                redraw: false,
                effects: vec![Effect::Quit],
            }
        }
    }
}
