//! Replacing a file so that a crash at any moment leaves the old or the new version whole,
//! never a mix: a temporary file in the same directory, fsync, rename over, fsync the
//! directory. Used for the state directory's files and for the policy file.
//!
//! The temporary file is created exclusively (`O_CREAT|O_EXCL`, which never follows a
//! symlink) under a name nobody can predict, so a link planted where it will be cannot
//! redirect the write; and a write can be staged (written and made durable) before the
//! moment it is put in place, which is then a rename and needs no free space.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::OFlag;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// `O_NOFOLLOW`: opening a symlink fails (ELOOP) instead of opening what it points at.
pub const NOFOLLOW: i32 = OFlag::O_NOFOLLOW.bits();

/// Replaces `path` with `bytes`, the new file created with `mode`.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    stage(path, bytes, mode)?.commit()
}

/// A new version of a file, written and synced beside it, not yet in its place. Dropped
/// without [`Staged::commit`], it is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

/// Writes `bytes` to an exclusive temporary file beside `path` and makes it durable.
pub fn stage(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Staged> {
    stage_with(path, mode, |file| file.write_all(bytes))
}

/// Copies `from` to an exclusive temporary file beside `path` and makes it durable.
pub fn stage_copy(from: &Path, path: &Path, mode: u32) -> io::Result<Staged> {
    let mut source = open_regular(from)?;
    stage_with(path, mode, |file| io::copy(&mut source, file).map(drop))
}

fn stage_with(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<Staged> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let (tmp, mut file) = create_exclusive(parent(path), name, mode)?;
    // From here on, dropping `staged` on an error removes the temporary file.
    let staged = Staged {
        tmp,
        path: path.to_path_buf(),
        done: false,
    };
    fill(&mut file)?;
    file.sync_all()?;
    Ok(staged)
}

impl Staged {
    /// Puts the staged version in place (a rename) and makes that durable.
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.tmp, &self.path)?;
        self.done = true;
        sync_dir(parent(&self.path))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Creates `DIR/.NAME.tmp.PID.N` exclusively, with a fresh N until one is free.
fn create_exclusive(dir: &Path, name: &str, mode: u32) -> io::Result<(PathBuf, File)> {
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp.{}.{salt:x}{n}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(NOFOLLOW)
            .mode(mode)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        ErrorKind::AlreadyExists,
        format!("no free temporary name in {}", dir.display()),
    ))
}

/// Makes the entries of a directory (a rename, a new link) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Opens a file to read, refusing a symlink (ELOOP) and anything but a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(NOFOLLOW | OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| symlink_error(path, e))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    Ok(file)
}

/// Reads a regular file as text, refusing a symlink.
pub fn read_regular(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    open_regular(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// ELOOP from O_NOFOLLOW, said as what it is.
pub fn symlink_error(path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
        io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link; portcullis never follows one here (remove it)",
                path.display()
            ),
        )
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replace_never_writes_through_a_planted_link() {
        let dir = tempfile::tempdir().expect("dir");
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").expect("victim");
        // Every name the old scheme would have used, and a few more.
        for n in 0..50 {
            let _ = std::os::unix::fs::symlink(
                &victim,
                dir.path()
                    .join(format!(".f.tmp.{}.{n}", std::process::id())),
            );
        }
        std::os::unix::fs::symlink(
            &victim,
            dir.path().join(format!(".f.tmp.{}", std::process::id())),
        )
        .expect("plant");
        replace(&dir.path().join("f"), b"new", 0o600).expect("replace");
        assert_eq!(fs::read_to_string(&victim).expect("read"), "precious");
        assert_eq!(
            fs::read_to_string(dir.path().join("f")).expect("read"),
            "new"
        );
    }

    #[test]
    fn a_staged_write_is_invisible_until_committed_and_gone_if_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f");
        fs::write(&path, "old").expect("old");
        let staged = stage(&path, b"new", 0o600).expect("stage");
        assert_eq!(fs::read_to_string(&path).expect("read"), "old");
        staged.commit().expect("commit");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        drop(stage(&path, b"newer", 0o600).expect("stage"));
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn reading_refuses_a_symlink() {
        let dir = tempfile::tempdir().expect("dir");
        fs::write(dir.path().join("real"), "x").expect("write");
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).expect("link");
        let err = read_regular(&dir.path().join("link")).expect_err("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
