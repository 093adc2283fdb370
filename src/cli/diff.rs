//! `portcullis diff`: the live table against the policy, as a unified diff of nft text.

use std::path::Path;

use super::eprint;
use crate::commit::plan::read_live_table;
use crate::diff::live_vs_policy;
use crate::nft::backend::Nft;
use crate::nft::compile;
use crate::policy::file::load as load_policy;

pub fn run(path: &Path, nft: &dyn Nft) -> u8 {
    let policy = match load_policy(path) {
        Ok(p) => p,
        Err(e) => {
            eprint(&e);
            return 2;
        }
    };
    let compiled = compile(&policy);
    let live = match read_live_table(nft, &compiled.name) {
        Ok(objects) => objects,
        Err(e) => {
            eprint(&format!("portcullis: cannot read the live table: {e}"));
            return 2;
        }
    };
    let diff = live_vs_policy(&compiled, &live, &path.display().to_string());
    if diff.is_empty() {
        outln!("table inet {} matches {}", compiled.name, path.display());
        0
    } else {
        out!("{diff}");
        1
    }
}
