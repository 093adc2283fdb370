//! `portcullis confirm`: keep the pending commit.

use super::{Cli, eprint, open_existing, print_warnings};
use crate::commit::{Actor, CommitError};
use crate::system::session_origin;

pub fn run(cli: &Cli) -> u8 {
    let m = match open_existing(cli) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let origin = session_origin();
    let engine = m.engine(Actor::Operator);
    let result = engine.confirm(origin.as_ref());
    print_warnings(&engine);
    match result {
        Ok(p) => {
            outln!(
                "confirmed commit {}: table inet {} stays, and `restore` loads it at boot",
                p.id,
                p.table
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
