//! The state directory: the journal, per-commit rulesets, the confirmed ruleset, the audit
//! log, the operator lock and the guards' liveness locks. Every write that replaces a file
//! is atomic (temp file, fsync, rename, fsync the directory), so a crash leaves the old
//! version or the new one, never half of either.
//!
//! ```text
//! STATE_DIR/            0700, owned by us, refused if others can write to it
//!   journal.json        pending commit, history, confirmed ruleset's id and digest
//!   confirmed.nft       what `restore` loads
//!   commits/ID.before.nft   the table before commit ID (absent: there was none)
//!   commits/ID.applied.nft  the script commit ID applied
//!   guards/ID.lock      held (flock) by the guard of commit ID while it lives
//!   lock                held by whoever is changing the firewall or the journal
//!                       (in /run/portcullis/ for the default state directory)
//!   audit.log           one JSON line per event
//! ```

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::journal::Journal;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is damaged ({why}); move it aside to start a fresh journal")]
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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
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

/// Refuses a directory that is not ours alone: whoever can write there can choose what a
/// rollback loads (the state) or hold the lock forever (the runtime directory).
fn check_private(root: &Path) -> Result<(), StateError> {
    let meta = fs::metadata(root).map_err(io_err(root))?;
    if !meta.is_dir() {
        return Err(StateError::Unsafe {
            path: root.display().to_string(),
            why: "it is not a directory".into(),
        });
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(StateError::Unsafe {
            path: root.display().to_string(),
            why: format!(
                "it is writable by its group or by everyone (mode {:o}); run `chmod 700 {}`",
                mode & 0o7777,
                root.display()
            ),
        });
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(StateError::Unsafe {
            path: root.display().to_string(),
            why: format!("it belongs to uid {}, not to us (uid {euid})", meta.uid()),
        });
    }
    Ok(())
}

/// Held while changing the firewall or the journal; released on drop (or process death).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateDir {
    /// Opens the directory, creating it (0700) if `create`. Refuses one that another user
    /// can write to: whoever can write here can choose what a rollback loads.
    pub fn open(root: &Path, create: bool) -> Result<StateDir, StateError> {
        if create {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)
                .map_err(io_err(root))?;
        }
        check_private(root)?;
        let dir = StateDir {
            root: root.to_path_buf(),
            lock_dir: lock_dir_for(root, Path::new("/run").is_dir()),
        };
        if create {
            for sub in ["commits", "guards"] {
                let path = dir.root.join(sub);
                DirBuilder::new()
                    .mode(0o700)
                    .create(&path)
                    .or_else(|e| match e.kind() {
                        ErrorKind::AlreadyExists => Ok(()),
                        _ => Err(e),
                    })
                    .map_err(io_err(&path))?;
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

    /// The journal; an empty one if there is none yet.
    pub fn load_journal(&self) -> Result<Journal, StateError> {
        let path = self.path("journal.json");
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path: path.display().to_string(),
                why: e.to_string(),
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Journal::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    pub fn save_journal(&self, journal: &Journal) -> Result<(), StateError> {
        let text = serde_json::to_string_pretty(journal).expect("the journal serialises");
        self.write_atomic("journal.json", text.as_bytes())
    }

    /// Replaces `name` (relative to the state directory) atomically, mode 0600.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), StateError> {
        let path = self.path(name);
        crate::atomic_file::replace(&path, bytes, 0o600).map_err(io_err(&path))
    }

    /// Renames `from` to `to` (both relative to the state directory) atomically, and makes
    /// the rename durable.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StateError> {
        let (from, to) = (self.path(from), self.path(to));
        fs::rename(&from, &to).map_err(io_err(&to))?;
        File::open(to.parent().unwrap_or(&self.root))
            .and_then(|d| d.sync_all())
            .map_err(io_err(&to))
    }

    pub fn read(&self, name: &str) -> Result<String, StateError> {
        let path = self.path(name);
        let mut text = String::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(io_err(&path))?;
        Ok(text)
    }

    /// Takes the operator lock, waiting up to `wait` for another holder to finish.
    /// The lock file names its holder so that a refusal can say who it is.
    pub fn lock(&self, wait: Duration, holder: &str) -> Result<StateLock, StateError> {
        if self.lock_dir != self.root {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.lock_dir)
                .map_err(io_err(&self.lock_dir))?;
            check_private(&self.lock_dir)?;
        }
        let path = self.lock_dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut who = String::new();
                    let _ = file.read_to_string(&mut who);
                    return Err(StateError::Busy {
                        holder: if who.trim().is_empty() {
                            "unknown holder".into()
                        } else {
                            who.trim().to_string()
                        },
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
        // Best effort: only for the message a waiting process prints.
        let _ = file.set_len(0);
        let _ = file.write_all(format!("{holder}, pid {}\n", std::process::id()).as_bytes());
        Ok(StateLock { _file: file })
    }

    /// The file a guard holds locked for as long as it lives.
    pub fn guard_lock_path(&self, id: &str) -> PathBuf {
        self.root.join("guards").join(format!("{id}.lock"))
    }

    /// Whether a guard process for commit `id` is alive: its lock is held. (A lock is
    /// released by the kernel when its holder dies, SIGKILL included, and is immune to
    /// pid reuse.)
    pub fn guard_alive(&self, id: &str) -> bool {
        let Ok(file) = File::open(self.guard_lock_path(id)) else {
            return false;
        };
        matches!(file.try_lock(), Err(TryLockError::WouldBlock))
    }

    /// Appends one line (or several, joined by newlines) to the audit log.
    pub fn append_audit(&self, line: &str) -> Result<(), StateError> {
        let path = self.path("audit.log");
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        // One write call per line, so concurrent writers never interleave within a line.
        file.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(io_err(&path))?;
        // The file is the record; the system log gets a copy for fleet log collection.
        super::syslog::send(line);
        Ok(())
    }

    /// Removes the files of commits the journal no longer mentions (keeps the last 20, the
    /// pending one and the confirmed one). Called only after a commit has been resolved, so
    /// a snapshot is never removed before its rollback succeeded.
    pub fn prune(&self, journal: &Journal) {
        let keep = journal.live_ids();
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

/// Commit file names, relative to the state directory.
pub fn before_file(id: &str) -> String {
    format!("commits/{id}.before.nft")
}

pub fn applied_file(id: &str) -> String {
    format!("commits/{id}.applied.nft")
}

pub const CONFIRMED_FILE: &str = "confirmed.nft";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commit::journal::sample_pending;

    #[test]
    fn journal_round_trips_and_is_private() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("state");
        let dir = StateDir::open(&root, true).expect("open");
        assert_eq!(dir.load_journal().expect("empty"), Journal::default());
        let j = Journal {
            pending: Some(sample_pending("x", 9)),
            ..Journal::default()
        };
        dir.save_journal(&j).expect("save");
        assert_eq!(dir.load_journal().expect("load"), j);
        let mode = fs::metadata(dir.path("journal.json"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            fs::metadata(&root).expect("meta").permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = StateDir::open(tmp.path(), false).expect_err("refused");
        assert!(err.to_string().contains("chmod 700"), "{err}");
    }

    #[test]
    fn a_damaged_journal_is_reported_not_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::open(tmp.path(), true).expect("open");
        fs::write(dir.path("journal.json"), "{ not json").expect("write");
        let err = dir.load_journal().expect_err("corrupt");
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn pruning_keeps_the_files_of_commits_the_journal_still_names() {
        use crate::commit::journal::{HISTORY_LIMIT, Outcome};
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::open(tmp.path(), true).expect("open");
        let mut j = Journal::default();
        for n in 0..HISTORY_LIMIT + 5 {
            let id = format!("c{n:02}");
            dir.write_atomic(&before_file(&id), b"x").expect("write");
            dir.write_atomic(&applied_file(&id), b"x").expect("write");
            j.pending = Some(sample_pending(&id, 0));
            j.resolve(Outcome::RolledBack, None, 0);
        }
        dir.write_atomic(&before_file("pending"), b"x")
            .expect("write");
        j.pending = Some(sample_pending("pending", 0));
        dir.prune(&j);
        let mut left: Vec<String> = fs::read_dir(dir.path("commits"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), HISTORY_LIMIT * 2 + 1, "{left:?}");
        assert!(left.contains(&"pending.before.nft".to_string()));
        assert!(!left.iter().any(|f| f.starts_with("c04.")), "{left:?}");
        assert!(left.iter().any(|f| f.starts_with("c05.")), "{left:?}");
    }

    #[test]
    fn the_lock_is_exclusive_and_names_its_holder() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = StateDir::open(tmp.path(), true).expect("open");
        let held = dir.lock(Duration::ZERO, "apply by alice").expect("first");
        let err = dir
            .lock(Duration::from_millis(50), "apply by bob")
            .expect_err("busy");
        assert!(err.to_string().contains("apply by alice"), "{err}");
        drop(held);
        dir.lock(Duration::ZERO, "apply by bob")
            .expect("free again");
    }

    #[test]
    fn the_default_state_directory_locks_in_run_and_others_lock_in_themselves() {
        let default = Path::new(DEFAULT_STATE_DIR);
        assert_eq!(lock_dir_for(default, true), Path::new(RUNTIME_DIR));
        assert_eq!(lock_dir_for(default, false), default);
        let mine = Path::new("/tmp/lab-state");
        assert_eq!(lock_dir_for(mine, true), mine);
    }

    #[test]
    fn a_lock_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let state = StateDir::open(&dir.path().join("state"), true).expect("state");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("run");
        std::fs::set_permissions(&run, fs::Permissions::from_mode(0o777)).expect("chmod");
        let state = StateDir {
            lock_dir: run,
            ..state
        };
        let err = state.lock(Duration::ZERO, "test").expect_err("refused");
        assert!(
            err.to_string()
                .contains("writable by its group or by everyone"),
            "{err}"
        );
    }
}
