//! The journal on disk: read, written atomically, and repaired when it is damaged. A
//! damaged journal must never disable a rollback or a boot: it is moved aside (kept for
//! the operator to read) and a new one is rebuilt from what verifies on its own, the
//! self-verifying confirmed copy; a guard still alive carries its own commit.

use std::io::ErrorKind;

use super::scripts::{self, CONFIRMED_FILE};
use super::{StateDir, StateError, io_err};
use crate::atomic_file;
use crate::commit::journal::{Confirmed, Journal};

const JOURNAL: &str = "journal.json";

/// What a repair did, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// Why the journal was unreadable.
    pub why: String,
    /// Where the damaged one was kept, if it could be moved.
    pub kept_as: Option<String>,
    /// The confirmed ruleset the new journal names, from the verified copy.
    pub confirmed: Option<String>,
}

impl StateDir {
    /// The journal; an empty one if there is none yet. A damaged one is an error.
    pub fn load_journal(&self) -> Result<Journal, StateError> {
        let path = self.path(JOURNAL);
        match atomic_file::read_regular(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path: path.display().to_string(),
                why: e.to_string(),
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Journal::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// The journal, repaired if it is damaged: the damaged file is moved aside (when the
    /// directory can be written) and a journal rebuilt from the verified confirmed copy
    /// takes its place in memory. The caller records it with its next write.
    pub fn load_journal_repairing(&self) -> Result<(Journal, Option<Repaired>), StateError> {
        let (why, kept_as) = match self.load_journal() {
            // Missing where a confirmed copy says there was one: moved aside or deleted.
            Ok(j) if j == Journal::default() && !self.path(JOURNAL).exists() => {
                match self.verified_confirmed_copy() {
                    Some(_) => ("it is missing".to_string(), None),
                    None => return Ok((j, None)),
                }
            }
            Ok(j) => return Ok((j, None)),
            Err(StateError::Corrupt { why, .. }) => {
                let aside = format!("{JOURNAL}.damaged-{}", crate::system::now_ms());
                let kept_as = std::fs::rename(self.path(JOURNAL), self.path(&aside))
                    .ok()
                    .map(|()| self.path(&aside).display().to_string());
                (why, kept_as)
            }
            Err(e) => return Err(e),
        };
        let journal = Journal {
            confirmed: self.verified_confirmed_copy(),
            ..Journal::default()
        };
        let confirmed = journal.confirmed.as_ref().map(|c| c.id.clone());
        Ok((
            journal,
            Some(Repaired {
                why,
                kept_as,
                confirmed,
            }),
        ))
    }

    /// What confirmed.nft says of itself, if its header verifies its content.
    fn verified_confirmed_copy(&self) -> Option<Confirmed> {
        let text = self.read(CONFIRMED_FILE).ok()?;
        let script = scripts::verify(&text, None).ok()?;
        Some(Confirmed {
            id: script.id?,
            table: script.table?,
            digest: script.digest,
            confirmed_at_ms: 0,
        })
    }

    /// The counting record, if there is a readable one (it is for display only).
    pub fn load_counting(&self) -> Option<crate::commit::counting::Counting> {
        let text = self.read(crate::commit::counting::COUNTING_FILE).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save_counting(
        &self,
        counting: &crate::commit::counting::Counting,
    ) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(counting).expect("plain data serialises");
        self.write(crate::commit::counting::COUNTING_FILE, &bytes)
    }

    pub fn save_journal(&self, journal: &Journal) -> Result<(), StateError> {
        self.write(JOURNAL, &to_bytes(journal))
    }
}

fn to_bytes(journal: &Journal) -> Vec<u8> {
    serde_json::to_vec_pretty(journal).expect("the journal is plain data and serialises")
}
