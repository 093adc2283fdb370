//! `portcullis diff`: the live table against the policy, as a unified diff of nft text.

use std::path::Path;

use super::eprint;
use crate::commit::journal::LiveRecord;
use crate::commit::plan::{Plan, WithDiff};
use crate::nft::backend::Nft;
use crate::policy::file::load as load_policy;

/// `known`: the journal's record of the last load, if the state directory has one.
pub fn run(path: &Path, nft: &dyn Nft, known: Option<&LiveRecord>) -> u8 {
    let policy = match load_policy(path) {
        Ok(p) => p,
        Err(e) => {
            eprint(&e);
            return 2;
        }
    };
    let plan = match Plan::read(
        nft,
        policy,
        known,
        &path.display().to_string(),
        WithDiff::Yes,
    ) {
        Ok(plan) => plan,
        Err(e) => {
            eprint(&format!("portcullis: cannot read the live table: {e}"));
            return 2;
        }
    };
    let diff = plan.diff;
    if diff.is_empty() {
        outln!(
            "table inet {} matches {}",
            plan.compiled.name,
            path.display()
        );
        0
    } else {
        out!("{diff}");
        1
    }
}
