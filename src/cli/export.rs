//! `portcullis export [--json]`: print the script `apply` would load.

use std::io::Write;
use std::path::Path;

use super::eprint;
use crate::nft::{compile, script};
use crate::policy::file::load as load_policy;

pub fn run(path: &Path, json: bool) -> u8 {
    let policy = match load_policy(path) {
        Ok(p) => p,
        Err(e) => {
            eprint(&e);
            return 1;
        }
    };
    let compiled = compile(&policy);
    let text = if json {
        match script::json(&compiled) {
            Ok(mut t) => {
                t.push('\n');
                t
            }
            Err(e) => {
                eprint(&format!("portcullis: cannot write JSON: {e}"));
                return 2;
            }
        }
    } else {
        script::text(&compiled)
    };
    // A closed pipe (`export | head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
