//! `portcullis rollback`: put the table back as it was before the pending commit, now.
//! With `--at-deadline` (the systemd timer's command) it watches the commit as a guard
//! does and rolls it back once its deadline has passed.

use std::time::Duration;

use super::{Cli, eprint, open_existing, print_warnings};
use crate::commit::engine::GuardSignals;
use crate::commit::guard::block_hangup_signals;
use crate::commit::machine::Via;
use crate::commit::{Actor, CommitError, RollbackOutcome};

pub fn run(cli: &Cli, commit: Option<&str>, at_deadline: bool) -> u8 {
    let m = match open_existing(cli) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let (true, Some(id)) = (at_deadline, commit) {
        block_hangup_signals();
        let watched = m.engine(Actor::Timer).watch(id, &GuardSignals::default());
        return u8::from(watched != crate::commit::engine::Watched::Done);
    }
    let engine = m.engine(Actor::Operator);
    // A few quick attempts; past them the error is reported and the guard keeps trying.
    let mut attempt = 0;
    loop {
        let result = engine.rollback(commit, "rolled back by the operator");
        print_warnings(&engine);
        match result {
            Ok(RollbackOutcome::RolledBack { commit, via, .. }) => {
                outln!(
                    "rolled back commit {}: table inet {} {}",
                    commit.id,
                    commit.table,
                    match via {
                        Via::Inverse => "is as it was before (the inverse change; rules neither commit touched kept their counters)".to_string(),
                        Via::Snapshot => "is as it was before".to_string(),
                        Via::Deleted => "did not exist before and was deleted".to_string(),
                        Via::Confirmed { id, why } =>
                            format!("is the confirmed ruleset of commit {id} ({why})"),
                    }
                );
                return 0;
            }
            Ok(RollbackOutcome::NotPending(id)) => {
                outln!("commit {id} is not pending; nothing to roll back");
                return 0;
            }
            Ok(RollbackOutcome::NothingPending) => {
                eprint("portcullis: no commit is pending; nothing to roll back");
                return 1;
            }
            Ok(RollbackOutcome::AskedGuards { ids, done }) => {
                let ids = ids.join(", ");
                if done {
                    outln!(
                        "the journal names no pending commit, but the guard of commit {ids} \
                         was alive: it rolled its commit back"
                    );
                    return 0;
                }
                eprint(&format!(
                    "portcullis: asked the guard of commit {ids} to roll back; it has not \
                     finished yet. See `portcullis status`."
                ));
                return 2;
            }
            Err(e @ CommitError::Rollback { .. }) if attempt < 2 => {
                eprint(&format!("portcullis: {e}"));
                attempt += 1;
                std::thread::sleep(Duration::from_millis(300 * attempt));
            }
            Err(e) => {
                eprint(&format!(
                    "portcullis: {e}\nThe commit stays pending and its guard keeps retrying; \
                     see `portcullis status`."
                ));
                return 2;
            }
        }
    }
}
