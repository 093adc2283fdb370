//! `portcullis confirm`: keep the pending commit.

use super::{Cli, eprint, open_existing};
use crate::commit::system::session_origin;
use crate::commit::{Actor, CommitError, ops};

pub fn run(cli: &Cli) -> u8 {
    let m = match open_existing(cli) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let origin = session_origin();
    match ops::confirm(&m.context(Actor::Operator), origin.as_ref()) {
        Ok(p) => {
            println!(
                "confirmed commit {}: table inet {} stays, and `restore` loads it at boot",
                p.id, p.table
            );
            0
        }
        Err(e @ (CommitError::NothingPending | CommitError::TooLate { .. })) => {
            eprint(&format!("portcullis: {e}"));
            1
        }
        Err(e) => {
            eprint(&format!("portcullis: not confirmed: {e}"));
            2
        }
    }
}
