//! Carrying out the machine's actions: each against one backend, each failure said as what
//! it means.

use std::io::{Read, Seek};

use super::{Carried, Engine, OWNER_FRESH, OwnerSeen};
use crate::commit::audit::{AuditLine, Event as AuditEvent};
use crate::commit::counting::PutBack;
use crate::commit::journal::{Journal, Pending};
use crate::commit::machine::{Action, Event, Restoration, Via};
use crate::commit::ownership::{self, Owner};
use crate::commit::state::StateLock;
use crate::commit::state::scripts::{self, CONFIRMED_FILE, applied_file, before_file, change_file};
use crate::diff::canonical_text;
use crate::nft::backend::{SMALL_SCRIPT, Script};
use crate::nft::live;

impl Engine<'_> {
    pub(super) fn carry_out(&self, action: Action, journal: &Journal, lock: &StateLock) -> Carried {
        match action {
            Action::Record(on_failure) => match self.b.state.save_journal(journal) {
                Ok(()) => Carried::Done,
                Err(e) => Carried::RecordFailed(on_failure, e.to_string()),
            },
            Action::ArmGuards { id, timeout } => {
                Carried::Event(match self.b.guards.arm(&id, timeout) {
                    Ok(timer) => Event::Armed { timer },
                    Err(why) => Event::ArmFailed(why),
                })
            }
            Action::Load { commit } => Carried::Event(match self.load(&commit, lock) {
                Ok(()) => self.after_load(&commit),
                Err(why) => Event::LoadFailed { commit, why },
            }),
            Action::PutBack { commit, reason } => {
                let result = self.put_back(&commit, journal, lock);
                if let Ok(via) = &result {
                    let how = match via {
                        Via::Inverse => PutBack::Inverse,
                        _ => PutBack::WholeTable,
                    };
                    self.count_after_put_back(&commit.table, how);
                }
                Carried::Event(Event::PutBack {
                    commit,
                    reason,
                    result,
                })
            }
            Action::LoadConfirmed => {
                let result = self.load_confirmed(journal, lock);
                if let Ok(Some(r)) = &result {
                    // A whole table again: every counter starts now.
                    self.count_after_put_back(&r.table, PutBack::WholeTable);
                }
                Carried::Event(Event::Restored(result))
            }
            Action::CopyConfirmed { id } => {
                // The journal already names it; the copy is for a damaged journal or script.
                if let Err(e) = self.b.state.copy_confirmed(&id) {
                    self.warn(format!("cannot update {CONFIRMED_FILE}: {e}"));
                }
                Carried::Done
            }
            Action::Audit {
                event,
                commit,
                reason,
            } => {
                let line = AuditLine::about(
                    &commit,
                    event,
                    self.by,
                    self.b.who,
                    self.now().wall_ms,
                    reason,
                );
                self.append_audit(&line.to_json());
                Carried::Done
            }
            Action::AuditRestore(r) => {
                self.audit_restore(&r);
                Carried::Done
            }
            Action::DisarmTimer(unit) => {
                self.b.guards.disarm_timer(&unit);
                Carried::Done
            }
            Action::Prune => {
                self.b.state.prune(journal);
                Carried::Done
            }
            Action::Note(text) => {
                self.warn(text);
                Carried::Done
            }
            Action::Reply(reply) => Carried::Reply(reply),
        }
    }

    pub(super) fn append_audit(&self, line: &str) {
        // The audit log must not stop a rollback; a failure to write it is reported instead.
        if let Err(e) = self.b.state.append_audit(line) {
            self.warn(format!("cannot write the audit log: {e}"));
        }
    }

    fn audit_restore(&self, r: &Restoration) {
        let line = AuditLine {
            commit: Some(r.id.clone()),
            table: Some(r.table.clone()),
            ..self.audit_line(AuditEvent::Restored, r.fallback.clone())
        };
        self.append_audit(&line.to_json());
    }

    pub(super) fn audit_repair(&self, reason: &str) {
        let line = self.audit_line(AuditEvent::JournalRepaired, Some(reason.to_string()));
        self.append_audit(&line.to_json());
    }

    fn audit_line(&self, event: AuditEvent, reason: Option<String>) -> AuditLine {
        AuditLine::of(event, self.by, self.b.who, self.now().wall_ms, reason)
    }

    /// Opens a commit file and verifies it (against `digest` if given), ready for nft.
    pub(super) fn verified_file(
        &self,
        name: &str,
        digest: Option<&str>,
    ) -> Result<std::fs::File, String> {
        let mut file = self.b.state.open_file(name).map_err(|e| e.to_string())?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| format!("{}: {e}", self.b.state.path(name).display()))?;
        scripts::verify(&text, digest)
            .map_err(|why| format!("{}: {why}", self.b.state.path(name).display()))?;
        file.rewind()
            .map_err(|e| format!("{}: {e}", self.b.state.path(name).display()))?;
        Ok(file)
    }

    /// Loads commit `commit`'s change in place, or its whole script (staged by its apply a
    /// moment ago).
    fn load(&self, commit: &Pending, lock: &StateLock) -> Result<(), String> {
        let name = if commit.incremental {
            change_file(&commit.id)
        } else {
            applied_file(&commit.id)
        };
        let file = self.b.state.open_file(&name).map_err(|e| e.to_string())?;
        self.b
            .nft
            .load(Script::File(file), lock.file())
            .map_err(|e| e.to_string())
    }

    /// Our table's shape as listed now (rules, chains, set declarations; no counters, no
    /// elements), hashed; None if the table does not exist.
    pub(super) fn shape(&self, table: &str) -> Result<Option<String>, String> {
        Ok(self.listed(table)?.1)
    }

    /// Our table from the terse listing, and its shape.
    pub(super) fn listed(
        &self,
        table: &str,
    ) -> Result<(Vec<live::LiveObject>, Option<String>), String> {
        let listing = self
            .b
            .nft
            .list_ruleset_terse_json()
            .map_err(|e| e.to_string())?;
        let objects = live::table_objects(&listing, table).map_err(|e| e.to_string())?;
        if !live::has_table(&objects) {
            return Ok((objects, None));
        }
        let shape = scripts::digest(&canonical_text(table, &objects));
        Ok((objects, Some(shape)))
    }

    /// Whose the live table of this name is.
    pub(super) fn owner(&self, table: &str) -> Result<Owner, String> {
        let listing = self
            .b
            .nft
            .list_ruleset_terse_text()
            .map_err(|e| e.to_string())?;
        Ok(ownership::owner(&listing, table))
    }

    /// Reads whose the table is now, for a put back due within moments.
    pub(super) fn see_owner(&self, table: &str) {
        let seen = self.owner(table).ok().map(|owner| OwnerSeen {
            table: table.to_string(),
            at_boot_ns: self.now().boot_ns,
            owner,
        });
        *self.owner_seen.borrow_mut() = seen;
    }

    /// Whose the table is: the reading of a moment ago if there is a fresh one (used once),
    /// else read now.
    fn owner_for_put_back(&self, table: &str) -> Result<Owner, String> {
        let fresh = self.owner_seen.borrow_mut().take().filter(|s| {
            s.table == table
                && self.now().boot_ns.saturating_sub(s.at_boot_ns) <= OWNER_FRESH.as_nanos() as u64
        });
        match fresh {
            Some(seen) => Ok(seen.owner),
            None => self.owner(table),
        }
    }

    /// Puts the table back as it was before `commit`: its snapshot, or its deletion if it
    /// did not exist; if the snapshot is gone or damaged, the confirmed ruleset of the same
    /// table. Never replaces a table that is not ours.
    fn put_back(
        &self,
        commit: &Pending,
        journal: &Journal,
        lock: &StateLock,
    ) -> Result<Via, String> {
        let table = &commit.table;
        let owner = self.owner_for_put_back(table)?;
        if !owner.may_replace() {
            return Err(ownership::refusal(table, &owner, "replacing"));
        }
        let load = |script: Script<'_>| {
            self.b
                .nft
                .load(script, lock.file())
                .map_err(|e| e.to_string())
        };
        if !commit.had_table {
            let script = format!("table inet {table}\ndelete table inet {table}\n");
            debug_assert!(script.len() <= SMALL_SCRIPT);
            return load(Script::Small(&script)).map(|()| Via::Deleted);
        }
        let mut why_not_inverse = None;
        if commit.incremental {
            match self.inverse_if_exact(commit) {
                Ok(file) => match load(Script::File(file)) {
                    Ok(()) => return Ok(Via::Inverse),
                    Err(e) => why_not_inverse = Some(format!("nft refused the inverse: {e}")),
                },
                Err(why) => why_not_inverse = Some(why),
            }
        }
        if let Some(why) = why_not_inverse {
            self.warn(format!(
                "commit {}: {why}; putting back the whole table as it was before",
                commit.id
            ));
        }
        let why = match self.verified_file(&before_file(&commit.id), None) {
            Ok(file) => return load(Script::File(file)).map(|()| Via::Snapshot),
            Err(why) => format!("the snapshot {why}"),
        };
        let Some(confirmed) = journal.confirmed.as_ref().filter(|c| c.table == *table) else {
            return Err(format!(
                "{why}, and there is no confirmed ruleset of table inet {table} to fall back on"
            ));
        };
        let file = self
            .verified_file(&applied_file(&confirmed.id), Some(&confirmed.digest))
            .or_else(|_| self.verified_file(CONFIRMED_FILE, Some(&confirmed.digest)))
            .map_err(|e| format!("{why}, and the confirmed ruleset does not verify either: {e}"))?;
        load(Script::File(file))?;
        Ok(Via::Confirmed {
            id: confirmed.id.clone(),
            why,
        })
    }

    /// Loads the best confirmed ruleset that verifies: the last one confirmed (its own
    /// script, else confirmed.nft), else the ones before it, newest first.
    fn load_confirmed(
        &self,
        journal: &Journal,
        lock: &StateLock,
    ) -> Result<Option<Restoration>, String> {
        let Some(last) = &journal.confirmed else {
            return Ok(None);
        };
        let mut tried: Vec<String> = Vec::new();
        for (n, c) in std::iter::once(last)
            .chain(&journal.confirmed_before)
            .enumerate()
        {
            let mut names = vec![applied_file(&c.id)];
            if n == 0 {
                names.push(CONFIRMED_FILE.to_string());
            }
            let Some(mut file) = names.iter().find_map(|name| {
                self.verified_file(name, Some(&c.digest))
                    .map_err(|why| tried.push(why))
                    .ok()
            }) else {
                continue;
            };
            // What it says of grants (their sets, carried by a commit made while some
            // were active), read before nft takes the file.
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let _ = file.rewind();
            let owner = self.owner(&c.table)?;
            if !owner.may_replace() {
                return Err(ownership::refusal(&c.table, &owner, "replacing"));
            }
            match self.b.nft.load(Script::File(file), lock.file()) {
                Ok(()) => {
                    // No grant outlives a reboot: the ones the script carried are emptied
                    // at once (an expired one must not come back with its old time left).
                    let flush = crate::nft::grants::flush_on_restore(&c.table, &text);
                    if !flush.is_empty()
                        && let Err(e) = self.b.nft.load(Script::Small(&flush), lock.file())
                    {
                        self.warn(format!("could not empty the grant sets after restore: {e}"));
                    }
                    if n == 0 && !tried.is_empty() {
                        // The commit's own script verified where confirmed.nft did not:
                        // make the copy whole again for the next boot.
                        let _ = self.b.state.copy_confirmed(&c.id);
                        self.warn(format!(
                            "{}; loaded commit {}'s own copy of the same ruleset",
                            tried.join("; "),
                            c.id
                        ));
                    }
                    return Ok(Some(Restoration {
                        id: c.id.clone(),
                        table: c.table.clone(),
                        fallback: (n > 0).then(|| {
                            format!(
                                "the last confirmed ruleset (commit {}) does not verify: {}; \
                                 loaded the one confirmed before it, commit {}, instead",
                                last.id,
                                tried.join("; "),
                                c.id
                            )
                        }),
                    }));
                }
                Err(e) => tried.push(format!("nft refused commit {}: {e}", c.id)),
            }
        }
        Err(format!(
            "no confirmed ruleset verifies: {}",
            tried.join("; ")
        ))
    }
}
