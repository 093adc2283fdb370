//! `portcullis apply --yes`: validate, then replace the table in one nft transaction.
//!
//! The commit-confirmed window (apply without --yes, --no-wait, --confirm-timeout) is a
//! later piece of work; until it exists, apply refuses to run without --yes rather than
//! pretend to offer a rollback.

use std::path::Path;

use super::{eprint, load_policy};
use crate::nft::backend::Nft;
use crate::nft::live;
use crate::nft::{compile, script};

pub fn run(path: &Path, nft: &dyn Nft, yes: bool) -> u8 {
    let policy = match load_policy(path) {
        Ok(p) => p,
        Err(e) => {
            eprint(e.message());
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
    let existed = nft
        .list_tables_json()
        .ok()
        .and_then(|t| live::table_objects(&t, &compiled.name).ok())
        .is_some_and(|objects| live::has_table(&objects));
    if let Err(e) = nft.run_script(&script::text(&compiled)) {
        eprint(&format!(
            "portcullis: nft refused the new table; nothing was changed.\n{e}"
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
