//! The policy file on disk: load and validate it (every command), read it with a stamp
//! for editors (the TUI's forms), notice when someone else changed it since, and save an
//! edit atomically with the previous version kept as `NAME.bak`. This is the policy's IO
//! edge; the rest of `policy` is pure.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::atomic_file;

/// Reads and validates the policy file. The error is ready to print: why the file is
/// unreadable, or every finding in it as `FILE:LINE:COL: message`.
pub fn load(path: &Path) -> Result<super::Policy, String> {
    let source = fs::read_to_string(path).map_err(|e| unreadable(path, &e))?;
    validate(path, &source)
}

/// Reads the policy file once for both who need it: the policy it gives (or why none, as
/// `load` says it), and its text with a stamp (as `read` gives it; None if unreadable).
/// One read, so the two always come from the same contents.
pub fn load_with_text(path: &Path) -> (Result<super::Policy, String>, Option<Loaded>) {
    match fs::read_to_string(path) {
        Ok(text) => {
            let policy = validate(path, &text);
            let stamp = Stamp::of(Some(&text));
            (policy, Some(Loaded { text, stamp }))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            (Err(unreadable(path, &e)), Some(Loaded::missing()))
        }
        Err(e) => (Err(unreadable(path, &e)), None),
    }
}

fn unreadable(path: &Path, e: &io::Error) -> String {
    format!(
        "portcullis: cannot read policy {}: {e} (set it with --policy or PORTCULLIS_POLICY)\n",
        path.display()
    )
}

/// `source`, the text of the policy file at `path`, validated; the error names the file.
fn validate(path: &Path, source: &str) -> Result<super::Policy, String> {
    super::parse(source).map_err(|d| {
        let name = path.display().to_string();
        let count = d.len();
        let plural = if count == 1 { "" } else { "s" };
        format!("{}{name}: {count} error{plural}\n", d.render(&name, source))
    })
}

/// The file's text when it was read, and what it looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub text: String,
    pub stamp: Stamp,
}

/// Enough of a file to tell it changed: its content hash (an edit within the same second
/// keeps the mtime) and whether it existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    exists: bool,
    hash: u64,
}

impl Stamp {
    fn of(text: Option<&str>) -> Stamp {
        let mut h = DefaultHasher::new();
        text.hash(&mut h);
        Stamp {
            exists: text.is_some(),
            hash: h.finish(),
        }
    }
}

impl Loaded {
    /// A file with this text, as `read` would give it (for tests and fixtures).
    pub fn of_text(text: &str) -> Loaded {
        Loaded {
            text: text.to_string(),
            stamp: Stamp::of(Some(text)),
        }
    }

    /// A file that does not exist yet: empty, and stamped as absent.
    fn missing() -> Loaded {
        Loaded {
            text: String::new(),
            stamp: Stamp::of(None),
        }
    }
}

/// Reads the policy file; a file that does not exist yet reads as empty.
pub fn read(path: &Path) -> io::Result<Loaded> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Loaded {
            stamp: Stamp::of(Some(&text)),
            text,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Loaded::missing()),
        Err(e) => Err(e),
    }
}

/// Whether the file is no longer what `stamp` describes.
pub fn changed_since(path: &Path, stamp: &Stamp) -> io::Result<bool> {
    Ok(read(path)?.stamp != *stamp)
}

/// Saves `text` as the policy file. The previous file, if any, is kept as `NAME.bak`
/// (returned), and the new one gets its mode and owner. Fails without writing if the file
/// changed since `stamp` (the caller offers reload or overwrite; overwrite passes None).
pub fn save(path: &Path, text: &str, stamp: Option<&Stamp>) -> Result<Option<PathBuf>, SaveError> {
    let current = read(path).map_err(|e| SaveError::Io(path.to_path_buf(), e))?;
    if let Some(stamp) = stamp
        && current.stamp != *stamp
    {
        return Err(SaveError::ChangedOnDisk(path.to_path_buf()));
    }
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| SaveError::Io(p, e)
    };
    let meta = fs::metadata(path).ok();
    let mode = meta
        .as_ref()
        .map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let backup = if current.stamp.exists {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".bak");
        let backup = path.with_file_name(name);
        atomic_file::replace(&backup, current.text.as_bytes(), mode).map_err(io_err(&backup))?;
        Some(backup)
    } else {
        None
    };
    atomic_file::replace(path, text.as_bytes(), mode).map_err(io_err(path))?;
    if let Some(m) = meta {
        // Keep the owner, as an editor would; only root can give a file away, and only
        // root can have changed a root-owned policy, so a failure here is not expected.
        let _ = std::os::unix::fs::chown(path, Some(m.uid()), Some(m.gid()));
        if let Some(b) = &backup {
            let _ = std::os::unix::fs::chown(b, Some(m.uid()), Some(m.gid()));
        }
    }
    Ok(backup)
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0} changed on disk since it was loaded; reload it, or save over it")]
    ChangedOnDisk(PathBuf),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_read_gives_what_load_and_read_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        for text in [
            "[services.ssh]\nports = [\"22/tcp\"]\nallow = [\"any\"]\n",
            "[services.ssh]\nports = [\"99999/tcp\"]\n",
        ] {
            fs::write(&path, text).unwrap();
            let (policy, loaded) = load_with_text(&path);
            assert_eq!(policy, load(&path));
            assert_eq!(loaded, read(&path).ok());
        }
        fs::remove_file(&path).unwrap();
        let (policy, loaded) = load_with_text(&path);
        assert_eq!(policy, load(&path), "missing: the same message");
        assert_eq!(loaded, read(&path).ok(), "missing: empty, stamped absent");
    }

    #[test]
    fn a_save_replaces_the_file_keeps_a_backup_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        fs::write(&path, "# old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let loaded = read(&path).unwrap();
        let backup = save(&path, "# new\n", Some(&loaded.stamp)).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "# new\n");
        let backup = backup.expect("a backup");
        assert_eq!(backup, dir.path().join("policy.toml.bak"));
        assert_eq!(fs::read_to_string(&backup).unwrap(), "# old\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }

    #[test]
    fn a_file_changed_on_disk_is_not_overwritten_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        fs::write(&path, "# mine\n").unwrap();
        let loaded = read(&path).unwrap();
        fs::write(&path, "# theirs\n").unwrap();
        assert!(changed_since(&path, &loaded.stamp).unwrap());
        assert!(matches!(
            save(&path, "# edited\n", Some(&loaded.stamp)),
            Err(SaveError::ChangedOnDisk(_))
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "# theirs\n");
        save(&path, "# edited\n", None).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "# edited\n");
    }

    #[test]
    fn a_new_file_is_private_and_has_no_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        let loaded = read(&path).unwrap();
        assert_eq!(loaded.text, "");
        assert_eq!(save(&path, "# first\n", Some(&loaded.stamp)).unwrap(), None);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
