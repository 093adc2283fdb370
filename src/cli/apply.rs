//! `portcullis apply --yes`: validate, then replace the table in one nft transaction.
//!
//! The commit-confirmed window (apply without --yes, --no-wait, --confirm-timeout) is a
//! later piece of work; until it exists, apply refuses to run without --yes rather than
//! pretend to offer a rollback.

use std::path::Path;

use super::{eprint, load_policy, table_exists};
use crate::nft::backend::Nft;
use crate::nft::{compile, script};

pub fn run(path: &Path, nft: &dyn Nft, yes: bool) -> u8 {
    let policy = match load_policy(path) {
        Ok(p) => p,
        Err(e) => {
            eprint(&e);
            eprint("portcullis: nothing was changed");
            return 1;
        }
    };
    if !yes {
        eprint(
            "portcullis: apply without --yes would open a confirmation window with automatic \
             rollback, which this version does not have yet; nothing was changed.\n\
             Run `portcullis apply --yes` to apply and keep the change at once.",
        );
        return 2;
    }
    let compiled = compile(&policy);
    // Only for the message; if nft can't even list, the apply below says why.
    let existed = table_exists(nft, &compiled.name).unwrap_or(false);
    if let Err(e) = nft.run_script(&script::text(&compiled)) {
        eprint(&format!(
            "portcullis: the new table was not applied; nothing was changed.\n{e}"
        ));
        return 2;
    }
    println!(
        "{} table inet {}: {} rules, {} set elements",
        if existed { "replaced" } else { "created" },
        compiled.name,
        compiled.rule_count(),
        compiled.set_element_count()
    );
    0
}
