//! `portcullis rollback`: put the table back as it was before the pending commit, now.
//! With `--at-deadline` (the systemd timer's command) it first waits for the deadline.

use std::time::Duration;

use super::{Cli, eprint, open_existing};
use crate::commit::guard::{block_hangup_signals, watch};
use crate::commit::{Actor, CommitError, RollbackOutcome, ops};

pub fn run(cli: &Cli, commit: Option<&str>, at_deadline: bool) -> u8 {
    let m = match open_existing(cli) {
        Ok(m) => m,
        Err(code) => return code,
    };
    if let (true, Some(id)) = (at_deadline, commit) {
        block_hangup_signals();
        return watch(&m.context(Actor::Timer), id);
    }
    let cx = m.context(Actor::Operator);
    // A few quick attempts; past them the error is reported and the guard keeps trying.
    let mut attempt = 0;
    loop {
        match ops::rollback(&cx, commit, "rolled back by the operator") {
            Ok(RollbackOutcome::RolledBack(p)) => {
                println!(
                    "rolled back commit {}: table inet {} {}",
                    p.id,
                    p.table,
                    if p.had_table {
                        "is as it was before"
                    } else {
                        "did not exist before and was deleted"
                    }
                );
                return 0;
            }
            Ok(RollbackOutcome::NotPending(id)) => {
                println!("commit {id} is not pending; nothing to roll back");
                return 0;
            }
            Ok(RollbackOutcome::NothingPending) => {
                eprint("portcullis: no commit is pending; nothing to roll back");
                return 1;
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
