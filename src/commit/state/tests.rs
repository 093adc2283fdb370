use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::commit::journal::{HISTORY_LIMIT, Journal, Outcome, sample_pending};
use crate::commit::state::scripts::{applied_file, before_file};

#[test]
fn journal_round_trips_and_is_private() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("state");
    let dir = StateDir::open(&root, Create::IfMissing).expect("open");
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
    let err = StateDir::open(tmp.path(), Create::Never).expect_err("refused");
    assert!(err.to_string().contains("chmod 700"), "{err}");
}

#[test]
fn a_state_directory_that_is_a_symlink_is_refused_even_to_a_private_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let real = tmp.path().join("real");
    fs::create_dir(&real).expect("dir");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).expect("chmod");
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).expect("link");
    let err = StateDir::open(&link, Create::IfMissing).expect_err("refused");
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[test]
fn symlinked_subdirectories_and_files_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = StateDir::open(&tmp.path().join("s"), Create::IfMissing).expect("open");
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    fs::remove_dir(dir.path("guards")).expect("rm");
    std::os::unix::fs::symlink(elsewhere.path(), dir.path("guards")).expect("plant");
    let err = StateDir::open(dir.root(), Create::IfMissing).expect_err("refused");
    assert!(err.to_string().contains("symbolic link"), "{err}");

    let victim = elsewhere.path().join("victim");
    fs::write(&victim, "precious").expect("victim");
    for name in ["lock", "audit.log"] {
        std::os::unix::fs::symlink(&victim, dir.path(name)).expect("plant");
    }
    assert!(dir.lock(Duration::ZERO, "test").is_err());
    assert!(dir.append_audit("{}").is_err());
    assert_eq!(fs::read_to_string(&victim).expect("read"), "precious");
}

#[test]
fn a_damaged_journal_is_reported_by_load_and_set_aside_by_repair() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = StateDir::open(tmp.path(), Create::IfMissing).expect("open");
    fs::write(dir.path("journal.json"), "{ not json").expect("write");
    let err = dir.load_journal().expect_err("corrupt");
    assert!(err.to_string().contains("damaged"), "{err}");

    // A verified confirmed copy survives the damage and names the confirmed commit.
    let script = scripts::with_header("c7", "portcullis", "table inet portcullis {\n}\n");
    dir.write(&applied_file("c7"), script.as_bytes())
        .expect("write");
    dir.copy_confirmed("c7").expect("link");
    let (journal, repaired) = dir.load_journal_repairing().expect("repair");
    let repaired = repaired.expect("it was damaged");
    assert_eq!(repaired.confirmed.as_deref(), Some("c7"));
    assert!(
        repaired
            .kept_as
            .is_some_and(|p| p.contains("journal.json.damaged-"))
    );
    assert_eq!(journal.confirmed.map(|c| c.id), Some("c7".to_string()));
    assert!(journal.pending.is_none());
}

#[test]
fn pruning_keeps_the_files_of_commits_the_journal_still_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = StateDir::open(tmp.path(), Create::IfMissing).expect("open");
    let mut j = Journal::default();
    for n in 0..HISTORY_LIMIT + 5 {
        let id = format!("c{n:02}");
        dir.write(&before_file(&id), b"x").expect("write");
        dir.write(&applied_file(&id), b"x").expect("write");
        j.pending = Some(sample_pending(&id, 0));
        j.resolve(Outcome::RolledBack, None, 0);
    }
    dir.write(&before_file("pending"), b"x").expect("write");
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
    let dir = StateDir::open(tmp.path(), Create::IfMissing).expect("open");
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
fn a_copy_of_the_lock_keeps_it_held_after_the_holder_lets_go() {
    // What an nft child does with the descriptor it inherits.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = StateDir::open(tmp.path(), Create::IfMissing).expect("open");
    let held = dir.lock(Duration::ZERO, "apply").expect("lock");
    let child_copy = held.file().try_clone().expect("dup");
    drop(held);
    assert!(dir.lock(Duration::from_millis(50), "rollback").is_err());
    drop(child_copy);
    dir.lock(Duration::ZERO, "rollback")
        .expect("free once the copy is gone");
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
    let state = StateDir::open(&dir.path().join("state"), Create::IfMissing).expect("state");
    let run = dir.path().join("run");
    fs::create_dir(&run).expect("run");
    fs::set_permissions(&run, fs::Permissions::from_mode(0o777)).expect("chmod");
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

#[test]
fn the_confirmed_copy_is_a_file_of_its_own_that_replaces_atomically() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = StateDir::open(tmp.path(), Create::IfMissing).expect("open");
    for id in ["a", "b"] {
        let script = scripts::with_header(id, "t", &format!("# {id}\n"));
        dir.write(&applied_file(id), script.as_bytes())
            .expect("write");
        dir.copy_confirmed(id).expect("link");
        let text = dir.read(scripts::CONFIRMED_FILE).expect("read");
        assert_eq!(
            scripts::verify(&text, None)
                .expect("verifies")
                .id
                .as_deref(),
            Some(id)
        );
    }
    // Damage to the commit's file leaves the copy whole.
    fs::write(dir.path(&applied_file("b")), "garbage").expect("damage");
    let text = dir.read(scripts::CONFIRMED_FILE).expect("read");
    assert!(scripts::verify(&text, None).is_ok());
}
