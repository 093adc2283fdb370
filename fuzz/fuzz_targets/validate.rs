//! Feeds arbitrary bytes to the policy validator and, when it accepts them, to the compiler
//! and both script renderers. Any panic is a bug: bad input must only ever produce
//! diagnostics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::nft::{compile, script};
use portcullis::policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match policy::parse(text) {
        Ok(p) => {
            let compiled = compile(&p);
            let _ = script::text(&compiled);
            let _ = script::json(&compiled);
        }
        Err(d) => {
            let _ = d.render("fuzz.toml", text);
        }
    }
});
