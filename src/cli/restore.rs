//! `portcullis restore`: at boot, load the last confirmed ruleset (never a pending one).

use super::{Cli, Machinery, eprint};
use crate::commit::{Actor, ops};

pub fn run(cli: &Cli) -> u8 {
    let m = match Machinery::open(cli, false) {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            println!("no confirmed ruleset yet; nothing loaded");
            return 0;
        }
        Err(e) => {
            eprint(&format!("portcullis: cannot use the state directory: {e}"));
            return 2;
        }
    };
    match ops::restore(&m.context(Actor::Boot)) {
        Ok(r) => {
            if let Some(id) = &r.abandoned {
                eprint(&format!(
                    "portcullis: commit {id} was still pending; recorded as rolled back"
                ));
            }
            match &r.loaded {
                Some(id) => println!("restored the ruleset confirmed in commit {id}"),
                None => println!("no confirmed ruleset yet; nothing loaded"),
            }
            0
        }
        Err(e) => {
            eprint(&format!("portcullis: restore failed: {e}"));
            2
        }
    }
}
