//! The safe-change loop after the edits: the diff screen (a review made by the worker),
//! the lockout consent, the commit (saved, then applied as `apply` does, with the confirm
//! window), and the countdown, which opens whenever a commit is pending (also one found at
//! start) and closes with the news of how it ended.

use super::keymap::Action;
use super::observation::Pending;
use super::review::{ApplyDone, ApplyFailed, ApplyJob, Review, ReviewRequest, ReviewState, Watch};
use super::{App, Effect, LiveRequest, Modal, Notice, Screen};
use crate::commit::Outcome;
use crate::commit::journal::format_time;

impl App {
    pub(super) fn show_diff(&mut self) -> Vec<Effect> {
        if self.screen != Screen::Diff {
            self.diff_scroll = 0;
        }
        self.screen = Screen::Diff;
        self.make_review()
    }

    /// Asks the worker for a review of the working copy (unless one is being made).
    pub(super) fn make_review(&mut self) -> Vec<Effect> {
        if matches!(self.review, ReviewState::Preparing) {
            return Vec::new();
        }
        let Some(editor) = &self.editor else {
            self.review = ReviewState::Failed("the policy file has not been read yet".into());
            return Vec::new();
        };
        if let Some(findings) = editor.findings() {
            self.review = ReviewState::Failed(format!(
                "the edited policy is invalid; fix it on the Services or Networks screen:\n\
                 {findings}"
            ));
            return Vec::new();
        }
        if self.config.read_only {
            self.review = ReviewState::Failed(
                "reading the live table needs root (CAP_NET_ADMIN); run with sudo to see \
                 the diff and commit"
                    .into(),
            );
            return Vec::new();
        }
        self.review = ReviewState::Preparing;
        vec![Effect::Review(ReviewRequest {
            saved: editor.disk().text.clone(),
            edited: editor.text().to_string(),
        })]
    }

    pub(super) fn reviewed(&mut self, result: Result<Box<Review>, String>) {
        self.review = match result {
            Ok(review) if self.is_current(&review) => ReviewState::Ready(review),
            // Edited while the review was being made: it is of another text.
            Ok(_) => ReviewState::None,
            Err(e) => ReviewState::Failed(e),
        };
        self.diff_scroll = self.diff_scroll.min(self.diff_lines().saturating_sub(1));
    }

    /// The review on screen, if it is of the working copy as it is now.
    pub fn current_review(&self) -> Option<&Review> {
        match &self.review {
            ReviewState::Ready(r) if self.is_current(r) => Some(r),
            _ => None,
        }
    }

    /// Whether a review is of the working copy as it is now.
    fn is_current(&self, review: &Review) -> bool {
        self.editor
            .as_ref()
            .is_some_and(|e| e.text() == review.text)
    }

    /// How many lines the diff screen has (for scrolling).
    pub fn diff_lines(&self) -> usize {
        match &self.review {
            ReviewState::Ready(r) => {
                r.lockouts.len() + r.changes.len() + r.diff.lines().count() + 4
            }
            ReviewState::Failed(e) => e.lines().count(),
            _ => 1,
        }
    }

    pub(super) fn commit(&mut self) -> Vec<Effect> {
        let consent = match &self.modal {
            Modal::Lockout(typed) if typed.trim() == "yes" => true,
            Modal::Lockout(_) => {
                self.notice = Notice::error("type yes, then Enter (Esc goes back to the diff)");
                return Vec::new();
            }
            _ => false,
        };
        self.modal = Modal::None;
        if let Some(p) = &self.pending {
            self.notice = Notice::error(format!(
                "commit {} is pending: keep it (c) or roll it back (b) first",
                p.id
            ));
            return Vec::new();
        }
        let Some(review) = self.current_review().cloned() else {
            self.notice = Notice::error(match self.review {
                ReviewState::Preparing => "the diff is still being made",
                _ => "nothing to commit: make the diff first (d, or r on the diff screen)",
            });
            return Vec::new();
        };
        if review.diff.is_empty() {
            self.notice = Notice::info(format!(
                "nothing to commit: table inet {} already matches{}",
                review.table,
                if self.dirty() {
                    " (s saves the file)"
                } else {
                    ""
                }
            ));
            return Vec::new();
        }
        if !consent && !review.lockouts.is_empty() {
            self.modal = Modal::Lockout(String::new());
            return Vec::new();
        }
        let Some(editor) = &self.editor else {
            return Vec::new();
        };
        self.busy = true;
        self.notice = Notice::info("committing…");
        vec![Effect::Apply(Box::new(ApplyJob {
            review,
            disk: editor.disk().clone(),
            lockout_consent: consent,
        }))]
    }

    pub(super) fn applied(
        &mut self,
        result: Result<Box<ApplyDone>, Box<ApplyFailed>>,
    ) -> Vec<Effect> {
        self.busy = false;
        match result {
            Ok(done) => {
                if let Some(e) = &mut self.editor {
                    e.saved(done.saved.clone());
                }
                let services = match &self.review {
                    ReviewState::Ready(r) => Some(r.changed_services.clone()),
                    _ => None,
                };
                self.watch = Some(Watch {
                    commit: done.id.clone(),
                    services,
                });
                self.hidden_countdown = None;
                self.modal = Modal::Countdown;
                self.review = ReviewState::None;
                self.notice = Notice::info(format!(
                    "committed {}: it rolls back at {} unless you keep it (y)",
                    done.id,
                    format_time(done.deadline_ms)
                ));
                let mut effects = self.refresh();
                if self.screen == Screen::Diff {
                    // Against the new table: it should now say there is nothing to commit.
                    effects.extend(self.make_review());
                }
                effects
            }
            Err(failed) => {
                if let (Some(saved), Some(e)) = (failed.saved, &mut self.editor) {
                    e.saved(saved);
                }
                self.notice = Notice::error(failed.message);
                if failed.stale {
                    self.review = ReviewState::None;
                    return self.make_review();
                }
                Vec::new()
            }
        }
    }

    pub(super) fn resolve_pending(&mut self, action: Action) -> Vec<Effect> {
        let Some(p) = &self.pending else {
            self.notice = Notice::error("no commit is pending");
            return Vec::new();
        };
        let request = match action {
            Action::Confirm => LiveRequest::Confirm,
            _ => LiveRequest::Rollback(p.id.clone()),
        };
        if matches!(self.modal, Modal::Countdown) {
            self.modal = Modal::None;
        }
        self.busy = true;
        vec![Effect::Live(request)]
    }

    /// The pending commit as the journal says now: the countdown opens for a new one and
    /// closes, with the news, when it is resolved (by anyone: us, a guard, another shell).
    pub(super) fn pending_changed(&mut self, now: Option<Pending>) {
        let before = std::mem::replace(&mut self.pending, now);
        match (&self.pending, before) {
            (Some(p), _) => {
                if self.watch.as_ref().is_none_or(|w| w.commit != p.id) {
                    self.watch = Some(Watch {
                        commit: p.id.clone(),
                        services: None,
                    });
                }
                let hidden = self.hidden_countdown.as_deref() == Some(p.id.as_str());
                if matches!(self.modal, Modal::None) && !hidden && !self.config.read_only {
                    self.modal = Modal::Countdown;
                }
            }
            (None, Some(gone)) => {
                if matches!(self.modal, Modal::Countdown) {
                    self.modal = Modal::None;
                }
                if self.notice.is_none() {
                    self.notice = self.news_of(&gone.id);
                }
            }
            (None, None) if !self.journal_read => {
                // News from while the UI was not running: the last commit was rolled back.
                if let Some(last) = &self.last_commit
                    && last.outcome == Outcome::RolledBack
                {
                    self.notice = Notice::error(format!(
                        "while you were away: commit {} by {} was rolled back at {} ({})",
                        last.id,
                        last.user,
                        format_time(last.resolved_at_ms),
                        last.reason.as_deref().unwrap_or("no reason recorded")
                    ));
                }
            }
            (None, None) => {}
        }
    }

    /// How commit `id` ended, from the journal's last record.
    fn news_of(&self, id: &str) -> Option<Notice> {
        let last = self.last_commit.as_ref().filter(|l| l.id == id)?;
        let reason = last.reason.as_deref().unwrap_or("no reason recorded");
        match last.outcome {
            Outcome::Confirmed => Notice::info(format!("commit {id} was kept")),
            Outcome::RolledBack => Notice::error(format!("commit {id} was rolled back ({reason})")),
            Outcome::Failed => Notice::error(format!("commit {id} failed ({reason})")),
        }
    }
}
