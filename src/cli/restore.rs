//! `portcullis restore`: at boot, put back whatever was pending and load the last confirmed
//! ruleset that verifies (never a pending one).

use super::{Cli, eprint, open_backends, print_warnings};
use crate::commit::{Actor, Create};

pub fn run(cli: &Cli) -> u8 {
    let m = match open_backends(cli, Create::Never) {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            outln!("no confirmed ruleset yet; nothing loaded");
            return 0;
        }
        Err(e) => {
            eprint(&format!("portcullis: cannot use the state directory: {e}"));
            return 2;
        }
    };
    let engine = m.engine(Actor::Boot);
    let result = engine.restore();
    print_warnings(&engine);
    match result {
        Ok(r) => match &r.loaded {
            Some(loaded) => {
                outln!(
                    "restored the ruleset confirmed in commit {} (table inet {})",
                    loaded.id,
                    loaded.table
                );
                match &loaded.fallback {
                    // Loaded, but not the last confirmed ruleset: loud, and a failure for
                    // systemd, so that somebody looks.
                    Some(why) => {
                        eprint(&format!("portcullis: restore: {why}"));
                        2
                    }
                    None => 0,
                }
            }
            None => {
                outln!("no confirmed ruleset yet; nothing loaded");
                0
            }
        },
        Err(e) => {
            eprint(&format!("portcullis: restore failed: {e}"));
            2
        }
    }
}
