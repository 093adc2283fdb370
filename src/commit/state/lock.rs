//! The operator lock: held by whoever changes the firewall or the journal, and inherited by
//! every nft process that loads a script, so that the lock is free only once no transaction
//! of ours can still commit. A killed `apply` leaves its nft running; that nft keeps the
//! lock until it exits, and a rollback waiting for the lock waits for it (flock locks
//! belong to the open file, which the nft child shares).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use super::{StateDir, StateError, check_private, io_err, make_dir};
use crate::atomic_file::NOFOLLOW;

/// Held while changing the firewall or the journal; released on drop (or process death),
/// unless an nft child still holds its copy.
#[derive(Debug)]
pub struct StateLock {
    file: File,
}

impl StateLock {
    /// The locked file, for an nft child to inherit (as its stdout: nft -f prints nothing
    /// there, and it passes the descriptor without unsafe code).
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl StateDir {
    /// Takes the operator lock, waiting up to `wait` for another holder to finish.
    /// The lock file names its holder so that a refusal can say who it is. On a read-only
    /// state directory the lock is taken on the existing file, read-only: putting the
    /// kernel back must not depend on being able to write here.
    pub fn lock(&self, wait: Duration, holder: &str) -> Result<StateLock, StateError> {
        if self.lock_dir != self.root {
            make_dir(&self.lock_dir, true)?;
            check_private(&self.lock_dir)?;
        }
        let path = self.lock_dir.join("lock");
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(NOFOLLOW)
            .mode(0o600)
            .open(&path);
        let (mut file, writable) = match opened {
            Ok(f) => (f, true),
            Err(e) if read_only(&e) => (
                OpenOptions::new()
                    .read(true)
                    .custom_flags(NOFOLLOW)
                    .open(&path)
                    .map_err(io_err(&path))?,
                false,
            ),
            Err(e) => return Err(io_err(&path)(e)),
        };
        if !file.metadata().map_err(io_err(&path))?.is_file() {
            return Err(StateError::Unsafe {
                path: path.display().to_string(),
                why: "it is not a regular file".into(),
            });
        }
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
        if writable {
            // Best effort: only for the message a waiting process prints.
            let _ = file.set_len(0);
            let _ = file.write_all(format!("{holder}, pid {}\n", std::process::id()).as_bytes());
        }
        Ok(StateLock { file })
    }
}

impl StateDir {
    /// Who holds the operator lock now (as the holder wrote it), or None if it is free.
    /// Takes the lock for an instant to tell.
    pub fn lock_holder(&self) -> Option<String> {
        let path = self.lock_dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(NOFOLLOW)
            .open(path)
            .ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(_) => {
                let mut who = String::new();
                let _ = file.read_to_string(&mut who);
                Some(who.trim().to_string())
            }
        }
    }

    /// The processes that have the lock file open now but are not portcullis, and whose
    /// parent is not portcullis either: nft left running by an apply that died. Only they
    /// can hold the lock with no portcullis process to finish the job.
    pub fn orphaned_lock_holders(&self) -> Vec<u32> {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::symlink_metadata(self.lock_dir.join("lock")) else {
            return Vec::new();
        };
        let ours = |pid: u32| {
            crate::system::name_and_parent(pid).is_some_and(|(name, _)| name == "portcullis")
        };
        crate::system::processes_with_open(meta.dev(), meta.ino())
            .into_iter()
            .filter(|pid| !ours(*pid))
            .filter(|pid| {
                crate::system::name_and_parent(*pid).is_some_and(|(_, parent)| !ours(parent))
            })
            .collect()
    }
}

/// The errors of opening for writing that a read-only directory or file gives.
fn read_only(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::PermissionDenied
        || e.raw_os_error() == Some(nix::errno::Errno::EROFS as i32)
}
