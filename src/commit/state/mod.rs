//! The state directory: the journal, per-commit scripts, the confirmed ruleset, the audit
//! log, the operator lock and the guards' liveness locks.
//!
//! ```text
//! STATE_DIR/            0700, owned by us, refused if others can write to it or if it is
//!                       a symlink
//!   journal.json        pending commit, history, the confirmed rulesets' ids and digests
//!   confirmed.nft       a copy of the last confirmed commit's script: what `restore` loads
//!                       when the journal or that script is damaged (its header verifies it)
//!   commits/ID.applied.nft  the script commit ID applied, behind a self-verifying header
//!   commits/ID.before.nft   the script that puts back the table as it was before ID
//!   guards/ID.lock      held (flock) by the guard of commit ID while it lives
//!   lock                held by whoever is changing the firewall or the journal
//!                       (in /run/portcullis/ for the default state directory)
//!   audit.log           one JSON line per event
//! ```
//!
//! The directory is hostile ground: nothing here follows a symlink (every open is
//! O_NOFOLLOW, temp files are created exclusively, the directories themselves are checked
//! with lstat), and no file is replaced before its successor is durable.

mod journal_file;
mod lock;
pub mod scripts;

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use journal_file::Repaired;
pub use lock::StateLock;

use crate::atomic_file::{self, NOFOLLOW};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is damaged ({why})")]
    Corrupt { path: String, why: String },
    #[error("refusing to use {path}: {why}")]
    Unsafe { path: String, why: String },
    #[error(
        "another portcullis is changing the firewall ({holder}); try again when it has finished"
    )]
    Busy { holder: String },
}

impl StateError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StateError::Io { source, .. } if source.kind() == ErrorKind::NotFound)
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source: atomic_file::symlink_error(path, source),
    }
}

/// The state directory administrators expect (the command line's default).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/portcullis";
/// Where the default state directory's operator lock lives: with the other runtime locks
/// of the system, gone at reboot like the processes that held them.
pub const RUNTIME_DIR: &str = "/run/portcullis";

/// An opened state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
    /// Where the operator lock is.
    lock_dir: PathBuf,
}

/// The operator lock's directory for a state directory: /run/portcullis for the default
/// one (where /run exists), else the state directory itself, so that every process using
/// one state directory agrees on one lock, and a second state directory (a test's, a
/// demo's) never waits on the first one's.
pub fn lock_dir_for(root: &Path, run_exists: bool) -> PathBuf {
    if root == Path::new(DEFAULT_STATE_DIR) && run_exists {
        PathBuf::from(RUNTIME_DIR)
    } else {
        root.to_path_buf()
    }
}

/// Refuses a directory that is not ours alone, or not a directory of its own: whoever can
/// write there, or point it elsewhere, can choose what a rollback loads (the state) or hold
/// the lock forever (the runtime directory).
pub(crate) fn check_private(dir: &Path) -> Result<(), StateError> {
    let unsafe_dir = |why: String| StateError::Unsafe {
        path: dir.display().to_string(),
        why,
    };
    let meta = fs::symlink_metadata(dir).map_err(io_err(dir))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(
            "it is a symbolic link; give the real directory instead".into(),
        ));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a directory".into()));
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(unsafe_dir(format!(
            "it is writable by its group or by everyone (mode {:o}); run `chmod 700 {}`",
            mode & 0o7777,
            dir.display()
        )));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(unsafe_dir(format!(
            "it belongs to uid {}, not to us (uid {euid})",
            meta.uid()
        )));
    }
    Ok(())
}

/// Creates `dir` (0700) if it is missing; an existing one is left as it is to be checked.
fn make_dir(dir: &Path, recursive: bool) -> Result<(), StateError> {
    match DirBuilder::new()
        .recursive(recursive)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Whether opening a state directory may make it: only what is about to record a commit
/// (`apply`, `grant`, the UI's commit) does; what reads it, or puts the firewall back,
/// opens what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Make the directory (0700) and its subdirectories where missing.
    IfMissing,
    /// Open it as it is; a missing one is an error that `is_not_found`.
    Never,
}

impl StateDir {
    /// Opens the directory, creating it (0700) if `create` says so. Refuses one that
    /// another user can write to, and one that is (or whose `commits/` or `guards/` is) a
    /// symlink.
    pub fn open(root: &Path, create: Create) -> Result<StateDir, StateError> {
        let create = create == Create::IfMissing;
        if create {
            make_dir(root, true)?;
        }
        check_private(root)?;
        let dir = StateDir {
            root: root.to_path_buf(),
            lock_dir: lock_dir_for(root, Path::new("/run").is_dir()),
        };
        for sub in ["commits", "guards"] {
            let path = dir.root.join(sub);
            if create {
                // A read-only directory must still open: reading it is what a rollback needs.
                match make_dir(&path, false) {
                    Err(StateError::Io { source, .. })
                        if source.raw_os_error() == Some(nix::errno::Errno::EROFS as i32) => {}
                    other => other?,
                }
            }
            match check_private(&path) {
                Err(e) if e.is_not_found() && !create => {}
                other => other?,
            }
        }
        Ok(dir)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Reads `name` (relative to the state directory), refusing a symlink.
    pub fn read(&self, name: &str) -> Result<String, StateError> {
        let path = self.path(name);
        atomic_file::read_regular(&path).map_err(io_err(&path))
    }

    /// Opens `name` to hand it to nft, refusing a symlink.
    pub fn open_file(&self, name: &str) -> Result<File, StateError> {
        let path = self.path(name);
        atomic_file::open_regular(&path).map_err(io_err(&path))
    }

    /// Replaces `name` atomically, mode 0600.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        let path = self.path(name);
        atomic_file::replace(&path, bytes, 0o600).map_err(io_err(&path))
    }

    /// Whether the directory can be written now (a journal update would get through), or
    /// why not: shown by `status` when an outcome cannot be recorded.
    pub fn probe_writable(&self) -> Result<(), String> {
        atomic_file::stage(&self.path(".probe"), b"probe", 0o600)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The file a guard holds locked for as long as it lives.
    pub fn guard_lock_path(&self, id: &str) -> PathBuf {
        self.root.join("guards").join(format!("{id}.lock"))
    }

    /// Whether a guard process for commit `id` is alive: its lock is held. (A lock is
    /// released by the kernel when its holder dies, SIGKILL included, and is immune to
    /// pid reuse.)
    pub fn guard_alive(&self, id: &str) -> bool {
        let path = self.guard_lock_path(id);
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(NOFOLLOW)
            .open(path)
        else {
            return false;
        };
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }

    /// The guards alive now whose commits `journal` has not resolved (one that has is
    /// about to stand down), with the pid each wrote in its lock file.
    pub fn live_guards(&self, journal: &crate::commit::Journal) -> Vec<(String, Option<i32>)> {
        let Ok(entries) = fs::read_dir(self.root.join("guards")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".lock")?.to_string();
                if journal.resolved(&id).is_some() || !self.guard_alive(&id) {
                    return None;
                }
                let pid = atomic_file::read_regular(&e.path())
                    .ok()
                    .and_then(|t| t.trim().parse().ok());
                Some((id, pid))
            })
            .collect()
    }

    /// Creates and locks the liveness lock of commit `id`'s guard; None if another guard of
    /// it holds it already.
    pub fn hold_guard_lock(&self, id: &str) -> Result<Option<File>, StateError> {
        let path = self.guard_lock_path(id);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(NOFOLLOW)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = writeln!(file, "{}", std::process::id());
                Ok(Some(file))
            }
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }

    /// Appends one line (or several, joined by newlines) to the audit log.
    pub fn append_audit(&self, line: &str) -> Result<(), StateError> {
        let path = self.path("audit.log");
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .custom_flags(NOFOLLOW)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        // One write call per line, so concurrent writers never interleave within a line.
        file.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io_err(&path))?;
        // The file is the record; the system log gets a copy for fleet log collection.
        crate::commit::syslog::send(line);
        Ok(())
    }

    /// Removes the files of commits the journal no longer mentions (keeps the last 20, the
    /// pending one and the confirmed ones). Called only after a commit has been resolved,
    /// so a snapshot is never removed before its rollback succeeded.
    pub fn prune(&self, journal: &crate::commit::Journal) {
        let keep = journal.referenced_ids();
        for sub in ["commits", "guards"] {
            let Ok(entries) = fs::read_dir(self.root.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let id = name.split('.').next().unwrap_or_default();
                let in_use = keep.contains(&id);
                // A guard's lock file is removed once no guard holds it.
                let stale_guard = sub == "guards" && !self.guard_alive(id);
                if !in_use || stale_guard {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
