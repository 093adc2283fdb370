//! `portcullis diff`: the live table against the policy, as a unified diff of nft text.

use std::path::Path;

use nftables::schema::NfListObject;

use super::{eprint, load_policy, read_live_table};
use crate::nft::backend::Nft;
use crate::nft::compile;
use crate::nft::live::{LiveObject, normalize};
use crate::nft::render::{self, RenderOptions};

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
    let wanted: Vec<NfListObject<'static>> = compiled.objects.iter().map(normalize).collect();
    let proposed = render::table(&compiled.name, &wanted, RenderOptions::default());
    let current = live_text(&compiled.name, &live);
    let live_name = if live.is_empty() {
        format!("live: table inet {} (absent)", compiled.name)
    } else {
        format!("live: table inet {}", compiled.name)
    };
    let diff = crate::diff::unified(
        &current,
        &proposed,
        &live_name,
        &format!("policy: {}", path.display()),
    );
    if diff.is_empty() {
        println!("table inet {} matches {}", compiled.name, path.display());
        0
    } else {
        print!("{diff}");
        1
    }
}

/// The live table in the same canonical text as the compiled one; empty if absent.
fn live_text(table: &str, live: &[LiveObject]) -> String {
    if live.is_empty() {
        return String::new();
    }
    let known: Vec<NfListObject<'static>> = live
        .iter()
        .filter_map(|o| match o {
            LiveObject::Known(k) => Some(normalize(k)),
            LiveObject::Unknown { .. } => None,
        })
        .collect();
    let mut text = render::table(table, &known, RenderOptions::default());
    for o in live {
        if let LiveObject::Unknown { kind, json } = o {
            text.push_str(&format!("# {kind} not understood by portcullis: {json}\n"));
        }
    }
    text
}
