//! `portcullis check`: validate the policy.

use std::path::Path;

use super::eprint;
use crate::nft::compile;
use crate::policy::file::load as load_policy;

pub fn run(path: &Path) -> u8 {
    match load_policy(path) {
        Ok(policy) => {
            let compiled = compile(&policy);
            outln!(
                "{}: valid: {} networks, {} services -> table inet {} with {} rules and {} set elements",
                path.display(),
                policy.networks.len(),
                policy.services.len(),
                compiled.name,
                compiled.rule_count(),
                compiled.set_element_count()
            );
            // Valid, but probably not what was meant: on stderr, and still exit 0.
            for warning in crate::lint::warnings(&policy) {
                eprintln!("{}: warning: {warning}", path.display());
            }
            0
        }
        Err(e) => {
            eprint(&e);
            1
        }
    }
}
