//! The scripts a commit keeps: what it applied and what puts the table back, each behind a
//! header line that names the commit and the SHA-256 of what follows, so that a file can
//! be verified on its own (at boot, with the journal damaged) as well as against the
//! journal. nft reads the header as a comment.
//!
//! ```text
//! # portcullis commit=20261201-101500-1a2b table=portcullis sha256=3f…
//! table inet portcullis
//! delete table inet portcullis
//! table inet portcullis { … }
//! ```
//!
//! Files of earlier versions have no header; they verify against the journal's digest of
//! the whole file.

use sha2::{Digest, Sha256};

use super::{StateDir, StateError};

/// What `restore` loads when the journal cannot say, or when the commit's own copy is
/// damaged: a copy of the last confirmed commit's applied script, header and all.
pub const CONFIRMED_FILE: &str = "confirmed.nft";

pub fn applied_file(id: &str) -> String {
    format!("commits/{id}.applied.nft")
}

/// The change in place commit `id` loads (when it is one): only what differs.
pub fn change_file(id: &str) -> String {
    format!("commits/{id}.change.nft")
}

/// The inverse of commit `id`'s change in place, made once it loaded: what its rollback
/// loads while the table is still as the commit left it.
pub fn undo_file(id: &str) -> String {
    format!("commits/{id}.undo.nft")
}

/// The script that puts the table back as it was before commit `id` (or deletes it).
pub fn before_file(id: &str) -> String {
    format!("commits/{id}.before.nft")
}

pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const HEADER: &str = "# portcullis commit=";

/// `script` behind its header line.
pub fn with_header(id: &str, table: &str, script: &str) -> String {
    with_header_digest(id, table, script, &digest(script))
}

/// `script` behind its header line, its `digest` already known.
pub fn with_header_digest(id: &str, table: &str, script: &str, digest: &str) -> String {
    format!("{HEADER}{id} table={table} sha256={digest}\n{script}")
}

/// A script file that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    /// From the header (None for a file of an earlier version).
    pub id: Option<String>,
    pub table: Option<String>,
    /// The digest of the script.
    pub digest: String,
    pub script: &'a str,
}

/// Checks a script file: its header against its content, and both against `expected` (the
/// journal's digest) when there is one. The error says what does not match.
pub fn verify<'a>(text: &'a str, expected: Option<&str>) -> Result<Verified<'a>, String> {
    let Some(rest) = text.strip_prefix(HEADER) else {
        // An earlier version's file: only the journal can vouch for it.
        let actual = digest(text);
        return match expected {
            Some(want) if want == actual => Ok(Verified {
                id: None,
                table: None,
                digest: actual,
                script: text,
            }),
            Some(_) => Err("its content does not match its digest in the journal".into()),
            None => Err("it has no header to verify it by".into()),
        };
    };
    let (header, script) = rest
        .split_once('\n')
        .ok_or_else(|| "its header line is cut short".to_string())?;
    let mut words = header.split(' ');
    let id = words.next().unwrap_or_default().to_string();
    let field = |w: Option<&str>, key: &str| {
        w.and_then(|w| w.strip_prefix(key))
            .map(str::to_string)
            .ok_or_else(|| format!("its header has no {key}"))
    };
    let table = field(words.next(), "table=")?;
    let claimed = field(words.next(), "sha256=")?;
    let actual = digest(script);
    if claimed != actual {
        return Err("its content does not match its header (damaged or cut short)".into());
    }
    if expected.is_some_and(|want| want != actual) {
        return Err("it is not the script the journal names".into());
    }
    Ok(Verified {
        id: Some(id),
        table: Some(table),
        digest: actual,
        script,
    })
}

impl StateDir {
    /// Reads commit file `name` and verifies it (against `expected` if given).
    pub fn read_verified(&self, name: &str, expected: Option<&str>) -> Result<String, String> {
        let text = self.read(name).map_err(|e| e.to_string())?;
        verify(&text, expected)
            .map(drop)
            .map_err(|why| format!("{}: {why}", self.path(name).display()))?;
        Ok(text)
    }

    /// Makes confirmed.nft a copy of the confirmed commit's script: a file of its own, so
    /// that damage to one leaves the other. The old copy is replaced only once the new one
    /// is durable.
    pub fn copy_confirmed(&self, id: &str) -> Result<(), StateError> {
        let (from, to) = (self.path(&applied_file(id)), self.path(CONFIRMED_FILE));
        crate::atomic_file::stage_copy(&from, &to, 0o600)
            .and_then(|staged| staged.commit())
            .map_err(super::io_err(&to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_verifies_by_its_header_and_against_the_journal() {
        let file = with_header("c1", "portcullis", "table inet portcullis {\n}\n");
        let v = verify(&file, None).expect("verifies");
        assert_eq!(v.id.as_deref(), Some("c1"));
        assert_eq!(v.table.as_deref(), Some("portcullis"));
        assert_eq!(v.script, "table inet portcullis {\n}\n");
        assert!(verify(&file, Some(&v.digest)).is_ok());
        assert!(verify(&file, Some("other")).is_err());
    }

    #[test]
    fn a_damaged_or_cut_script_does_not_verify() {
        let file = with_header("c1", "portcullis", "table inet portcullis {\n}\n");
        assert!(verify(&file[..file.len() - 3], None).is_err());
        assert!(verify(&file.replace("{", "{ x"), None).is_err());
        assert!(verify("garbage\n", None).is_err());
        assert!(verify(&file[..20], None).is_err());
    }

    #[test]
    fn an_earlier_versions_file_verifies_against_the_journal_only() {
        let old = "table inet portcullis {\n}\n";
        assert!(verify(old, Some(&digest(old))).is_ok());
        assert!(verify(old, None).is_err());
    }
}
