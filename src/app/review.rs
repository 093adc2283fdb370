//! The diff screen's model and the evidence the countdown shows. A `Review` is what the
//! worker prepared from the edited policy (through `commit::plan`, as `apply` does); the
//! commit of a review saves exactly its text and applies it only if the live table is
//! still the one it was made from. Pure.

use std::time::Duration;

use super::rules::{RowKind, RuleBook};
use crate::policy::file::Loaded;

/// The edited policy against the live table, ready to commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The policy text this review is of.
    pub text: String,
    /// What the edits change, in policy terms (saved file → edited), one line each.
    pub changes: Vec<String>,
    /// The nft text diff: live table → edited policy.
    pub diff: String,
    /// Operators' connections the policy would lock out, one warning each.
    pub lockouts: Vec<String>,
    /// The script a commit would load.
    pub script: String,
    /// The live table the diff was made from, in canonical text.
    pub live_text: String,
    /// Services whose rules the commit adds or changes: the countdown watches their hits.
    pub changed_services: Vec<String>,
    pub table: String,
    pub confirm_timeout: Duration,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ReviewState {
    /// Not made yet, or made of another text.
    #[default]
    None,
    Preparing,
    Ready(Box<Review>),
    /// The edited policy is invalid, or the live table could not be read.
    Failed(String),
}

/// What the worker needs to make a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRequest {
    /// The policy file as saved (the "before" of the changes in policy terms).
    pub saved: String,
    pub edited: String,
}

/// A commit of a review: save its text over the file as it was loaded, then apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyJob {
    pub review: Review,
    /// The file as the edits started from; the save refuses if it changed since.
    pub disk: Loaded,
    /// The operator typed `yes` to a lockout warning.
    pub lockout_consent: bool,
}

/// How a commit from the UI went.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyDone {
    pub id: String,
    pub deadline_ms: u64,
    /// The policy file after the save.
    pub saved: Loaded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApplyFailed {
    pub message: String,
    /// The file was saved before the apply failed.
    pub saved: Option<Loaded>,
    /// The live table is not the one reviewed: make the review again.
    pub stale: bool,
}

/// The services a pending commit changed, to watch while it waits for a confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub commit: String,
    /// None when the UI did not make the commit (another process, or before a restart):
    /// then every service is shown.
    pub services: Option<Vec<String>>,
}

/// One line of evidence: hits since the commit went live (counted from the counters'
/// baseline taken at its load; a rule it added started at zero then).
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRow {
    pub label: String,
    pub packets: u64,
    pub rate: Option<f64>,
    /// The default-drop row: traffic nothing allows.
    pub drop: bool,
}

/// A row's packets since the watched commit went live: from the baseline taken at its
/// load when there is one, else all of them (as before counters survived commits).
fn since_commit(row: &super::rules::RuleRow, watch: Option<&Watch>) -> u64 {
    match (&row.since_commit, watch) {
        (Some((id, n)), Some(w)) if *id == w.commit => *n,
        _ => row.packets,
    }
}

/// The rows to decide on: the changed services' hits, then the default policy's.
pub fn evidence(book: &RuleBook, watch: Option<&Watch>) -> Vec<EvidenceRow> {
    let watched = |name: &str| match watch.and_then(|w| w.services.as_ref()) {
        Some(list) => list.iter().any(|s| s == name),
        None => true,
    };
    let mut rows: Vec<EvidenceRow> = book
        .rows
        .iter()
        .filter(|r| matches!(&r.key.kind, RowKind::Service(n) if watched(n)))
        .map(|r| EvidenceRow {
            label: r.label.clone(),
            packets: since_commit(r, watch),
            rate: r.rate,
            drop: false,
        })
        .collect();
    if let Some(p) = &book.input_policy {
        rows.push(EvidenceRow {
            label: p.label.clone(),
            packets: since_commit(p, watch),
            rate: p.rate,
            drop: matches!(&p.key.kind, RowKind::InputPolicy(v) if v == "drop"),
        });
    }
    rows
}
