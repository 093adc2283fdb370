//! The shape of the code, checked: the module graph has no cycles, the two front ends never
//! import each other, the lower rings never reach up, and the pure core does no IO. Read
//! from the source (every `crate::` path, and `super::` paths resolved), so a cycle or a
//! stray import fails here the day it is written rather than the day someone trips on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The two front ends, which never import each other.
const FRONT_ENDS: &[&str] = &["cli", "tui"];
/// The demo: started by `portcullis demo`, it runs the real binary in a namespace and
/// imports neither front end.
const DEMO: &str = "demo";
/// The terminal UI's own state and views, below `tui` and never seen by `cli`.
const UI: &[&str] = &["app", "ui"];
/// Everything below the front ends and the UI.
const CORE: &[&str] = &[
    "atomic_file",
    "commit",
    "diff",
    "duration",
    "eval",
    "import",
    "lint",
    "nft",
    "policy",
    "sockets",
    "system",
];

/// Files of the pure core: no files, processes or terminals of their own.
const PURE: &[&str] = &[
    "commit/machine/mod.rs",
    "commit/machine/apply.rs",
    "commit/machine/resolve.rs",
    "commit/journal.rs",
    "commit/ownership.rs",
    "commit/lockout.rs",
    "commit/audit.rs",
    "diff/mod.rs",
    "diff/policy.rs",
    "eval.rs",
    "import/ufw.rs",
    "import/ufw_script.rs",
    "import/to_policy/mod.rs",
    "import/to_policy/order.rs",
    "import/to_policy/naming.rs",
    "import/to_policy/networks.rs",
    "import/to_policy/render.rs",
    "lint.rs",
    "nft/compile.rs",
    "nft/render.rs",
    "nft/script.rs",
    "nft/live.rs",
    "nft/intervals.rs",
    "nft/grants.rs",
    "nft/set_names.rs",
    "nft/counters.rs",
    "nft/skim.rs",
    "nft/tables.rs",
    "policy/load/mod.rs",
    "policy/load/primitives.rs",
    "policy/load/settings.rs",
    "policy/load/networks.rs",
    "policy/load/services.rs",
    "policy/load/blocks.rs",
    "policy/document/mod.rs",
    "policy/document/locate.rs",
    "policy/document/merge.rs",
    "policy/names.rs",
    "policy/ports.rs",
    "policy/addr.rs",
    "policy/diag.rs",
];
/// What a pure file must not contain (tests inside it excepted).
const IO: &[&str] = &[
    "std::fs",
    "std::process",
    "Command::new",
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "std::io::stdin",
    "std::thread::sleep",
    "SystemTime::now",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: src/commit/engine/apply.rs -> [commit, engine, apply].
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts
        .pop()
        .expect("a file")
        .trim_end_matches(".rs")
        .to_string();
    if last != "mod" && last != "lib" && last != "main" {
        parts.push(last);
    }
    parts
}

/// The code of a file without its `#[cfg(test)]` tests module and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            !t.starts_with("//")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file refers to (`crate::X`, or `super::…` reaching X).
fn references(module: &[String], code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let words = |s: &str| {
        s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for word in words(code) {
        if let Some(rest) = word.strip_prefix("crate::") {
            if let Some(top) = rest.split("::").next().filter(|t| !t.is_empty()) {
                out.insert(top.to_string());
            }
        } else if word.starts_with("super::") {
            let mut path: Vec<String> = module.to_vec();
            // A file `a/b.rs` is module a::b; `super` is a.
            let mut rest = word.as_str();
            while let Some(r) = rest.strip_prefix("super::") {
                path.pop();
                rest = r;
            }
            match path.first() {
                Some(top) => {
                    out.insert(top.clone());
                }
                None => {
                    if let Some(top) = rest.split("::").next() {
                        out.insert(top.to_string());
                    }
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in all {
        let module = module_of(&file);
        let Some(top) = module.first().cloned() else {
            continue; // lib.rs, main.rs
        };
        let text = std::fs::read_to_string(&file).expect("read");
        let refs = references(&module, &code(&text));
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(refs.into_iter().filter(|r| *r != top));
    }
    // Only edges to modules of the crate.
    let names: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    graph
}

/// A cycle in the graph, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut c = stack[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycles() {
    let g = graph();
    assert!(g.contains_key("commit") && g.contains_key("cli"), "{g:?}");
    if let Some(c) = cycle(&g) {
        panic!("module cycle: {}\ngraph: {g:#?}", c.join(" -> "));
    }
}

#[test]
fn the_front_ends_never_import_each_other_and_the_cli_never_the_ui() {
    let g = graph();
    for front in FRONT_ENDS {
        for other in FRONT_ENDS.iter().filter(|o| *o != front) {
            assert!(
                !g[*front].contains(*other),
                "{front} imports {other}: {:?}",
                g[*front]
            );
        }
    }
    for ui in UI {
        assert!(!g["cli"].contains(*ui), "cli imports {ui}: {:?}", g["cli"]);
    }
    for up in FRONT_ENDS.iter().chain(UI) {
        assert!(!g[DEMO].contains(*up), "demo imports {up}: {:?}", g[DEMO]);
    }
}

#[test]
fn the_core_never_reaches_up_to_the_ui_or_a_front_end() {
    let g = graph();
    for core in CORE {
        for up in FRONT_ENDS.iter().chain(UI).chain(&[DEMO]) {
            assert!(
                !g[*core].contains(*up),
                "{core} imports {up}: {:?}",
                g[*core]
            );
        }
    }
    for ui in UI {
        for front in FRONT_ENDS {
            assert!(!g[*ui].contains(*front), "{ui} imports {front}");
        }
    }
}

#[test]
fn the_pure_core_does_no_io() {
    for file in PURE {
        let path = src().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let code = code(&text);
        for io in IO {
            assert!(!code.contains(io), "{file} (pure) uses {io}");
        }
        // Nor does it reach for the IO edge of its own ring.
        for edge in [
            "engine",
            "state",
            "guard",
            "backends",
            "backend::NftProcess",
        ] {
            assert!(
                !code.contains(&format!("commit::{edge}"))
                    && !code.contains(&format!("super::{edge}")),
                "{file} (pure) uses {edge}"
            );
        }
    }
}

#[test]
fn the_graph_reader_sees_super_paths_and_skips_tests() {
    let module = vec![
        "commit".to_string(),
        "engine".to_string(),
        "apply".to_string(),
    ];
    let refs = references(
        &module,
        "use super::super::journal::Pending; use crate::nft::live;",
    );
    assert_eq!(
        refs,
        ["commit", "nft"].iter().map(|s| s.to_string()).collect()
    );
    let text = "use crate::a::x;\n#[cfg(test)]\nmod tests {\n use crate::b::y;\n}";
    assert!(!code(text).contains("crate::b"));
}
