//! The runner against fakes: an nft that keeps tables in memory (and can fail, or do
//! something to the state directory while it "loads"), guards that only take notes, a clock
//! a test moves. The state directory is a real temporary one. Each test runs in
//! milliseconds; the kernel tests (tests/kernel_faults.rs) show the same against nft.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::*;
use crate::commit::Create;
use crate::commit::audit::Who;
use crate::commit::clock::{Clock, FakeClock, Now};
use crate::commit::journal::{Outcome, Pending, Stage};
use crate::commit::machine::{Reason, Via};
use crate::commit::plan::{Plan, WithDiff};
use crate::commit::state::scripts::{CONFIRMED_FILE, applied_file, before_file};
use crate::nft::backend::{NftError, Script};
use crate::nft::script::OWNER_MARK;

const SECOND: u64 = 1_000_000_000;

/// nft with tables in memory: a load of `table inet T / delete table inet T / BODY`
/// makes T's text BODY (or removes T when BODY is empty).
#[derive(Default)]
struct FakeNft {
    tables: RefCell<BTreeMap<String, String>>,
    loads: Cell<usize>,
    /// Loads that fail, from now on, while set.
    failing: Cell<bool>,
    /// Done during the next load, as if while nft ran (a disk filling, time passing).
    during_load: RefCell<Option<Box<dyn FnOnce()>>>,
    /// Done during the next terse listing.
    during_listing: RefCell<Option<Box<dyn FnOnce()>>>,
}

fn failed(what: &str) -> NftError {
    NftError::Failed {
        command: "nft".into(),
        status: "exit status: 1".into(),
        stderr: what.into(),
    }
}

impl FakeNft {
    fn table(&self, name: &str) -> Option<String> {
        self.tables.borrow().get(name).cloned()
    }

    /// A table someone else made (no mark).
    fn foreign(&self, name: &str) {
        self.tables.borrow_mut().insert(
            name.into(),
            format!("table inet {name} {{\n\tchain c {{\n\t}}\n}}\n"),
        );
    }
}

impl Nft for FakeNft {
    /// The fake's JSON never holds more than the table objects.
    fn list_table_json(&self, _table: &str) -> Result<String, NftError> {
        self.list_ruleset_terse_json()
    }

    fn list_ruleset_terse_json(&self) -> Result<String, NftError> {
        if let Some(f) = self.during_listing.borrow_mut().take() {
            f();
        }
        let items: Vec<String> = self
            .tables
            .borrow()
            .iter()
            .map(|(name, body)| {
                format!(
                    "{{\"table\": {{\"family\": \"inet\", \"name\": \"{name}\", \"handle\": {}}}}}",
                    body.len()
                )
            })
            .collect();
        Ok(format!("{{\"nftables\": [{}]}}", items.join(", ")))
    }

    fn list_ruleset_terse_text(&self) -> Result<String, NftError> {
        Ok(self.tables.borrow().values().cloned().collect())
    }

    fn list_table_text(&self, table: &str) -> Result<String, NftError> {
        self.table(table)
            .ok_or_else(|| failed("No such file or directory"))
    }

    fn load(&self, script: Script<'_>, _lock: &File) -> Result<(), NftError> {
        if let Some(f) = self.during_load.borrow_mut().take() {
            f();
        }
        if self.failing.get() {
            return Err(failed("simulated nft failure"));
        }
        let text = match script {
            Script::File(mut f) => {
                let mut t = String::new();
                f.read_to_string(&mut t)
                    .map_err(|e| failed(&e.to_string()))?;
                t
            }
            Script::Small(t) => t.to_string(),
        };
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let name = lines
            .next()
            .and_then(|l| l.strip_prefix("table inet "))
            .ok_or_else(|| failed("not a replace script"))?
            .to_string();
        let _delete = lines.next();
        let body: String = lines.map(|l| format!("{l}\n")).collect();
        let mut tables = self.tables.borrow_mut();
        if body.trim().is_empty() {
            tables.remove(&name);
        } else {
            tables.insert(name, body);
        }
        self.loads.set(self.loads.get() + 1);
        Ok(())
    }

    fn check_script(&self, _script: &str) -> Result<(), NftError> {
        Ok(())
    }
}

/// The fake clock, with something to do the first time someone sleeps on it (the
/// journal damaged while a guard waits, say).
struct HookClock {
    clock: FakeClock,
    on_sleep: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl Clock for HookClock {
    fn now(&self) -> Now {
        self.clock.now()
    }

    fn sleep(&self, d: Duration) {
        if let Some(f) = self.on_sleep.borrow_mut().take() {
            f();
        }
        self.clock.advance(d);
    }
}

#[derive(Default)]
struct FakeGuards {
    armed: RefCell<Vec<String>>,
    disarmed: RefCell<Vec<String>>,
    asked: RefCell<Vec<i32>>,
    refuse: Cell<bool>,
}

impl Guards for FakeGuards {
    fn arm(&self, id: &str, _timeout: Duration) -> Result<Option<String>, String> {
        if self.refuse.get() {
            return Err("no guard today".into());
        }
        self.armed.borrow_mut().push(id.into());
        Ok(Some(format!("unit-{id}")))
    }

    fn disarm_timer(&self, unit: &str) {
        self.disarmed.borrow_mut().push(unit.into());
    }

    fn ask_to_roll_back(&self, pid: i32) -> bool {
        self.asked.borrow_mut().push(pid);
        true
    }
}

struct World {
    _dir: tempfile::TempDir,
    state: StateDir,
    nft: FakeNft,
    guards: FakeGuards,
    clock: Rc<HookClock>,
    who: Who,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::open(&dir.path().join("state"), Create::IfMissing).expect("state");
        World {
            _dir: dir,
            state,
            nft: FakeNft::default(),
            guards: FakeGuards::default(),
            clock: Rc::new(HookClock {
                clock: FakeClock::new(1_800_000_000_000, 100 * SECOND),
                on_sleep: RefCell::new(None),
            }),
            who: Who {
                user: "alice".into(),
                ssh_peer: None,
            },
        }
    }

    fn engine(&self, by: Actor) -> Engine<'_> {
        Engine::new(
            Backends {
                state: &self.state,
                nft: &self.nft,
                guards: &self.guards,
                clock: &*self.clock,
                who: &self.who,
                netns: "net:[1]".into(),
            },
            by,
        )
    }

    fn journal(&self) -> Journal {
        self.state.load_journal().expect("journal")
    }

    /// Applies a policy opening `port` with `--yes`: the commit, kept at once.
    fn apply_yes(&self, port: u16) -> Pending {
        match self.apply(port, None).expect("apply") {
            Applied::Confirmed(p) => p,
            other => panic!("{other:?}"),
        }
    }

    /// Applies a policy opening `port`, with a window (`None`: --yes).
    fn apply(&self, port: u16, window: Option<u64>) -> Result<Applied, CommitError> {
        let policy = crate::policy::parse(&format!(
            "[services.web]\nports = [\"{port}/tcp\"]\nallow = [\"any\"]\n"
        ))
        .expect("policy");
        let live = crate::commit::plan::read_live(&self.nft, "portcullis", None).expect("live");
        let plan = Plan::new(policy, live, "policy.toml", WithDiff::No);
        self.engine(Actor::Operator).apply(&ApplyRequest {
            plan: &plan,
            shown: None,
            window: window.map(|s| Window {
                timeout: Duration::from_secs(s),
                require_new_session: false,
            }),
            adopt: false,
            policy_name: "policy.toml",
        })
    }

    /// A world with 8443 confirmed and a commit opening 2222 pending with a `window`.
    fn pending(window: u64) -> (World, Pending) {
        let w = World::new();
        w.apply(8443, None).expect("first apply");
        let p = w.applied(2222, window);
        (w, p)
    }

    fn applied(&self, port: u16, window: u64) -> Pending {
        match self.apply(port, Some(window)) {
            Ok(Applied::Pending(p)) => p,
            other => panic!("{other:?}"),
        }
    }

    /// Why commit `id` ended as it did (it must have).
    fn reason_of(&self, id: &str) -> String {
        let journal = self.journal();
        let record = journal.resolved(id).expect("resolved");
        record.reason.clone().unwrap_or_default()
    }

    fn live_port(&self) -> Option<u16> {
        let table = self.nft.table("portcullis")?;
        let i = table.find("tcp dport ")?;
        table[i + 10..].split_whitespace().next()?.parse().ok()
    }

    fn sabotage_journal(&self) {
        sabotage(&self.state);
    }

    fn repair_journal(&self, with: &Journal) {
        let _ = std::fs::remove_dir_all(self.state.path("journal.json"));
        self.state.save_journal(with).expect("save");
    }
}

/// Makes the next journal write fail, as a full or read-only disk would: the journal
/// becomes a directory that cannot be renamed over.
fn sabotage(state: &StateDir) {
    let path = state.path("journal.json");
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(path.join("x")).expect("sabotage");
}

fn watch(w: &World, id: &str, signals: &GuardSignals) -> Watched {
    w.engine(Actor::Guard).watch(id, signals)
}

#[test]
fn a_windowed_apply_stages_every_file_and_then_a_confirm_keeps_it() {
    let (w, p) = World::pending(30);
    assert_eq!(w.live_port(), Some(2222));
    assert!(w.live_port().is_some());
    assert!(
        w.nft
            .table("portcullis")
            .expect("table")
            .contains(OWNER_MARK)
    );
    assert_eq!(*w.guards.armed.borrow(), vec![p.id.clone()]);
    let before = w.state.read(&before_file(&p.id)).expect("snapshot");
    assert!(before.contains("8443"), "{before}");
    let journal = w.journal();
    assert_eq!(journal.pending.as_ref().map(|p| p.phase()), Some("applied"));
    assert_eq!(
        journal.pending.as_ref().and_then(|p| p.timer_unit.clone()),
        Some(format!("unit-{}", p.id))
    );

    w.clock.clock.advance(Duration::from_secs(29));
    let kept = w.engine(Actor::Operator).confirm(None).expect("confirm");
    assert_eq!(kept.id, p.id);
    let journal = w.journal();
    assert_eq!(
        journal.confirmed.as_ref().map(|c| c.id.clone()),
        Some(p.id.clone())
    );
    let copy = w.state.read(CONFIRMED_FILE).expect("confirmed copy");
    assert!(copy.contains("2222"));
    assert_eq!(
        w.guards.disarmed.borrow().as_slice(),
        [format!("unit-{}", p.id)]
    );
}

#[test]
fn the_window_of_a_slow_load_starts_when_the_load_ends() {
    let w = World::new();
    w.apply(8443, None).expect("first apply");
    // The load takes 8.5 s, as 300,000 addresses do.
    let clock = Rc::clone(&w.clock);
    *w.nft.during_load.borrow_mut() = Some(Box::new(move || {
        clock.clock.advance(Duration::from_millis(8500));
    }));
    let p = w.applied(2222, 2);
    let deadline = p.deadline().expect("live");
    assert_eq!(deadline.left(&w.clock.now()), Duration::from_secs(2));
    // A guard that looked while it loaded still waits the whole window.
    let start = w.clock.now().boot_ns;
    assert_eq!(watch(&w, &p.id, &GuardSignals::default()), Watched::Done);
    assert!(w.clock.now().boot_ns - start >= 2 * SECOND);
}

#[test]
fn a_guard_rolls_back_at_the_deadline_and_not_before_whatever_the_wall_clock_does() {
    let (w, p) = World::pending(20);
    w.clock.clock.step_wall(3_600_000);
    // The fake clock's sleep moves time: the guard sleeps its way to the deadline.
    let start = w.clock.now().boot_ns;
    assert_eq!(watch(&w, &p.id, &GuardSignals::default()), Watched::Done);
    let waited = w.clock.now().boot_ns - start;
    assert!(
        (20 * SECOND..20 * SECOND + SECOND / 5).contains(&waited),
        "rolled back after {waited} ns for a 20 s window"
    );
    assert_eq!(w.live_port(), Some(8443));
    let r = w.journal().resolved(&p.id).cloned().expect("resolved");
    assert_eq!(r.outcome, Outcome::RolledBack);
    assert_eq!(
        r.reason.as_deref(),
        Some("deadline passed without a confirm")
    );
    assert_eq!(w.guards.disarmed.borrow().len(), 1);
}

#[test]
fn a_guard_rolls_back_from_its_own_record_when_the_journal_is_damaged_or_gone() {
    for damage in ["garbage", "gone"] {
        let w = World::new();
        w.apply(8443, None).expect("first apply");
        let p = w.applied(2222, 2);
        // Damaged while the guard waits for the deadline, after it has seen its commit.
        let path = w.state.path("journal.json");
        *w.clock.on_sleep.borrow_mut() = Some(Box::new(move || match damage {
            "garbage" => std::fs::write(&path, "{ garbage").expect("damage"),
            _ => std::fs::remove_file(&path).expect("remove"),
        }));
        assert_eq!(
            watch(&w, &p.id, &GuardSignals::default()),
            Watched::Done,
            "{damage}"
        );
        assert_eq!(w.live_port(), Some(8443), "{damage}: not rolled back");
        let journal = w.journal();
        let r = journal
            .resolved(&p.id)
            .expect("recorded in the new journal");
        assert_eq!(r.outcome, Outcome::RolledBack, "{damage}");
        assert_eq!(
            journal.confirmed.map(|c| c.table),
            Some("portcullis".into()),
            "{damage}: the confirmed ruleset is known again, from the verified copy"
        );
    }
}

#[test]
fn sigterm_makes_a_guard_roll_back_at_once() {
    let (w, p) = World::pending(3600);
    let signals = GuardSignals::default();
    signals.stop.store(true, Ordering::SeqCst);
    let start = w.clock.now().boot_ns;
    assert_eq!(watch(&w, &p.id, &signals), Watched::Done);
    assert!(w.clock.now().boot_ns - start < SECOND);
    assert_eq!(w.live_port(), Some(8443));
    assert!(w.reason_of(&p.id).contains("SIGTERM"));
}

#[test]
fn a_put_back_that_cannot_be_recorded_is_recorded_later_without_loading_again() {
    let (w, p) = World::pending(1);
    let journal = w.journal();
    let loads = w.nft.loads.get();
    w.sabotage_journal();
    // The guard's journal reads fail while the directory is "read-only"; it knows its
    // commit from before. Mend the directory after a few retries.
    let signals = GuardSignals::default();
    signals.stop.store(true, Ordering::SeqCst);
    let engine = w.engine(Actor::Guard);
    let lock = w.state.lock(Duration::ZERO, "test").expect("lock");
    let reply = engine.run(
        journal.clone(),
        Event::Watch {
            own: Box::new(p.clone()),
            trigger: crate::commit::machine::Trigger::Stopped,
        },
        &lock,
    );
    drop(lock);
    assert!(matches!(reply, Reply::RolledBack { .. }));
    assert!(engine.unrecorded.get(), "the record failed");
    assert_eq!(
        w.live_port(),
        Some(8443),
        "the kernel is put back regardless"
    );
    assert_eq!(w.nft.loads.get(), loads + 1);
    w.repair_journal(&journal);
    // Recording later: the same outcome, fed again, loads nothing.
    let lock = w.state.lock(Duration::ZERO, "test").expect("lock");
    let reply = engine.run(
        w.journal(),
        Event::PutBack {
            commit: Box::new(p.clone()),
            reason: Reason::Stopped,
            result: Ok(Via::Snapshot),
        },
        &lock,
    );
    drop(lock);
    assert!(matches!(reply, Reply::RolledBack { .. }));
    assert_eq!(w.nft.loads.get(), loads + 1, "not loaded again");
    assert!(w.journal().resolved(&p.id).is_some());
}

#[test]
fn a_deleted_snapshot_falls_back_to_the_confirmed_ruleset_of_the_same_table() {
    let (w, p) = World::pending(30);
    std::fs::remove_file(w.state.path(&before_file(&p.id))).expect("delete snapshot");
    match w.engine(Actor::Operator).rollback(None, "by hand") {
        Ok(RollbackOutcome::RolledBack {
            via: Via::Confirmed { why, .. },
            ..
        }) => {
            assert!(why.contains("snapshot"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.live_port(), Some(8443));
    assert!(w.reason_of(&p.id).contains("confirmed ruleset"));
}

#[test]
fn a_failing_put_back_is_recorded_and_retried() {
    let (w, p) = World::pending(30);
    w.nft.failing.set(true);
    let err = w
        .engine(Actor::Operator)
        .rollback(None, "by hand")
        .expect_err("fails");
    assert!(
        matches!(err, CommitError::Rollback { attempt: 1, .. }),
        "{err}"
    );
    let pending = w.journal().pending.expect("still pending");
    assert_eq!(pending.rollback_attempts, 1);
    assert!(
        pending
            .rollback_error
            .unwrap_or_default()
            .contains("simulated")
    );
    w.nft.failing.set(false);
    w.engine(Actor::Operator)
        .rollback(Some(&p.id), "by hand")
        .expect("second try");
    assert_eq!(w.live_port(), Some(8443));
}

#[test]
fn a_confirm_of_a_table_deleted_since_the_apply_is_refused() {
    let (w, _) = World::pending(30);
    w.nft.tables.borrow_mut().clear();
    let err = w
        .engine(Actor::Operator)
        .confirm(None)
        .expect_err("refused");
    assert!(err.to_string().contains("is not live"), "{err}");
    assert!(
        w.journal().pending.is_some(),
        "still pending: the guard rolls it back"
    );
}

#[test]
fn a_confirm_that_cannot_be_recorded_leaves_the_confirmed_ruleset_as_it_was() {
    let w = World::new();
    w.apply(8443, None).expect("first apply");
    let first = w.journal().confirmed.expect("confirmed");
    w.applied(2222, 30);
    // The disk fails between reading the journal and writing it.
    let state = w.state.clone();
    *w.nft.during_listing.borrow_mut() = Some(Box::new(move || sabotage(&state)));
    let err = w
        .engine(Actor::Operator)
        .confirm(None)
        .expect_err("cannot record");
    assert!(
        matches!(
            err,
            CommitError::CannotRecord {
                doing: "confirmed",
                ..
            }
        ),
        "{err}"
    );
    let copy = w.state.read(CONFIRMED_FILE).expect("copy");
    assert!(
        copy.contains(&first.id),
        "confirmed.nft still the first commit's"
    );
}

#[test]
fn a_yes_apply_keeps_its_script_under_its_own_name_and_links_the_copy() {
    let w = World::new();
    let p = w.apply_yes(8443);
    assert!(w.state.read(&applied_file(&p.id)).is_ok());
    assert!(w.state.read(CONFIRMED_FILE).expect("copy").contains(&p.id));
}

#[test]
fn a_yes_apply_that_cannot_be_recorded_puts_back_the_confirmed_ruleset() {
    let w = World::new();
    w.apply(8443, None).expect("first apply");
    let state = w.state.clone();
    *w.nft.during_load.borrow_mut() = Some(Box::new(move || sabotage(&state)));
    let err = w.apply(2222, None).expect_err("not recorded");
    assert!(
        matches!(err, CommitError::RolledBackInstead { .. }),
        "{err}"
    );
    assert_eq!(
        w.live_port(),
        Some(8443),
        "put back to the confirmed ruleset"
    );
}

#[test]
fn a_windowed_apply_that_cannot_record_the_live_table_puts_it_back() {
    let w = World::new();
    w.apply(8443, None).expect("first apply");
    let state = w.state.clone();
    *w.nft.during_load.borrow_mut() = Some(Box::new(move || sabotage(&state)));
    let err = w.apply(2222, Some(30)).expect_err("not recorded");
    assert!(
        matches!(err, CommitError::RolledBackInstead { .. }),
        "{err}"
    );
    assert_eq!(w.live_port(), Some(8443), "put back from the snapshot");
}

#[test]
fn an_apply_whose_files_cannot_be_staged_changes_nothing() {
    let w = World::new();
    w.apply(8443, None).expect("first apply");
    std::fs::remove_dir_all(w.state.path("commits")).expect("rm");
    std::fs::write(w.state.path("commits"), "not a directory").expect("block");
    let loads = w.nft.loads.get();
    let err = w.apply(2222, None).expect_err("cannot stage");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert_eq!(w.nft.loads.get(), loads);
    assert_eq!(w.live_port(), Some(8443));
}

#[test]
fn a_table_that_is_not_ours_is_refused_unless_adopted() {
    let w = World::new();
    w.nft.foreign("portcullis");
    let err = w.apply(8443, None).expect_err("refused");
    assert!(err.to_string().contains("--adopt"), "{err}");
    assert!(
        !w.nft
            .table("portcullis")
            .expect("table")
            .contains(OWNER_MARK)
    );
}

#[test]
fn a_guard_refuses_to_replace_a_table_that_became_someone_elses() {
    let (w, _) = World::pending(30);
    w.nft.foreign("portcullis");
    let err = w
        .engine(Actor::Operator)
        .rollback(None, "by hand")
        .expect_err("refused");
    assert!(err.to_string().contains("not made by portcullis"), "{err}");
}

#[test]
fn an_apply_while_a_guard_the_journal_forgot_is_alive_is_refused() {
    let w = World::new();
    let _held = w
        .state
        .hold_guard_lock("orphan")
        .expect("lock")
        .expect("held");
    let err = w.apply(8443, None).expect_err("refused");
    assert!(matches!(err, CommitError::GuardsAlive { .. }), "{err}");
}

#[test]
fn recovery_puts_back_an_overdue_commit_or_one_left_applying_with_no_guard() {
    let (w, p) = World::pending(5);
    assert!(
        w.engine(Actor::Recovery)
            .recover_abandoned()
            .expect("ok")
            .is_none()
    );
    w.clock.clock.advance(Duration::from_secs(6));
    let back = w
        .engine(Actor::Recovery)
        .recover_abandoned()
        .expect("ok")
        .expect("put back");
    assert_eq!(back.id, p.id);
    assert_eq!(w.live_port(), Some(8443));
    assert!(w.reason_of(&p.id).contains("no guard alive"));

    // Left applying by an apply that died with its guard.
    let p = w.applied(2222, 30);
    let mut j = w.journal();
    if let Some(pending) = j.pending.as_mut() {
        pending.stage = Stage::Applying;
    }
    w.state.save_journal(&j).expect("save");
    let back = w
        .engine(Actor::Recovery)
        .recover_abandoned()
        .expect("ok")
        .expect("put back");
    assert_eq!(back.id, p.id);
    assert!(w.reason_of(&p.id).contains("interrupted"));
}

#[test]
fn restore_puts_back_a_first_commit_then_finds_nothing_confirmed() {
    let w = World::new();
    w.applied(2222, 30);
    assert!(w.nft.table("portcullis").is_some());
    let r = w.engine(Actor::Boot).restore().expect("restore");
    assert!(r.loaded.is_none());
    assert!(
        w.nft.table("portcullis").is_none(),
        "the pending table was deleted"
    );
    assert!(w.journal().pending.is_none());
}

#[test]
fn restore_falls_back_along_the_verified_copies() {
    let w = World::new();
    let first = w.apply_yes(8443);
    let second = w.apply_yes(2222);

    // The commit's own copy damaged: confirmed.nft holds the same ruleset.
    w.nft.tables.borrow_mut().clear();
    std::fs::write(w.state.path(&applied_file(&second.id)), "garbage").expect("damage");
    let engine = w.engine(Actor::Boot);
    let loaded = engine.restore().expect("restore").loaded.expect("loaded");
    assert_eq!(loaded.id, second.id);
    assert!(loaded.fallback.is_none());
    assert!(engine.take_warnings().join(" ").contains("own copy"));
    assert_eq!(w.live_port(), Some(2222));

    // Both copies damaged: the one confirmed before, said as a fallback.
    w.nft.tables.borrow_mut().clear();
    std::fs::write(w.state.path(&applied_file(&second.id)), "garbage").expect("damage");
    std::fs::write(w.state.path(CONFIRMED_FILE), "garbage").expect("damage");
    let loaded = w
        .engine(Actor::Boot)
        .restore()
        .expect("restore")
        .loaded
        .expect("loaded");
    assert_eq!(loaded.id, first.id);
    assert!(loaded.fallback.unwrap_or_default().contains("instead"));
    assert_eq!(w.live_port(), Some(8443));
}

#[test]
fn restore_refuses_to_replace_a_table_that_is_not_ours() {
    let w = World::new();
    w.apply(8443, None).expect("apply");
    w.nft.foreign("portcullis");
    let err = w.engine(Actor::Boot).restore().expect_err("refused");
    assert!(err.to_string().contains("not made by portcullis"), "{err}");
}

#[test]
fn a_damaged_journal_is_repaired_from_the_verified_copy_and_said() {
    let w = World::new();
    let p = w.apply_yes(8443);
    std::fs::write(w.state.path("journal.json"), "{ garbage").expect("damage");
    w.nft.tables.borrow_mut().clear();
    let engine = w.engine(Actor::Boot);
    let r = engine.restore().expect("restore");
    assert_eq!(r.loaded.map(|l| l.id), Some(p.id));
    let warned = engine.take_warnings().join("\n");
    assert!(warned.contains("journal was damaged"), "{warned}");
}

#[test]
fn a_guard_that_saw_only_applying_before_the_journal_was_lost_waits_a_whole_window() {
    let (w, p) = World::pending(30);
    let applying = Pending {
        stage: Stage::Applying,
        ..p.clone()
    };
    std::fs::write(w.state.path("journal.json"), "{ garbage").expect("damage");
    let engine = w.engine(Actor::Guard);
    let lock = w.state.lock(Duration::ZERO, "test").expect("lock");
    let journal = engine.journal().expect("repaired");
    let loads = w.nft.loads.get();
    let reply = engine.run(
        journal,
        Event::Watch {
            own: Box::new(applying),
            trigger: crate::commit::machine::Trigger::Poll,
        },
        &lock,
    );
    drop(lock);
    let Reply::Resume(live) = reply else {
        panic!("{reply:?}");
    };
    assert_eq!(
        live.deadline().expect("live").left(&w.clock.now()),
        Duration::from_secs(30)
    );
    assert_eq!(w.nft.loads.get(), loads, "nothing put back early");
    assert_eq!(w.live_port(), Some(2222));
}
