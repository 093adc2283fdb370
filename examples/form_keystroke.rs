//! Times what one keystroke in a service form costs on a given policy: the form applied to
//! a copy of the document and the copy run through `check`'s validator (`Form::validate`),
//! against the validator alone on the same text (what `portcullis check` does, the
//! reference). Prints both medians of N runs in milliseconds. Used by scripts/bench-form.
//!
//!   cargo run --release --example form_keystroke -- POLICY.toml [RUNS]

use std::time::Instant;

use portcullis::app::form::Form;
use portcullis::policy::document::{PolicyDocument, ServiceDraft};

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect(),
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: form_keystroke POLICY.toml [RUNS]");
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let text = std::fs::read_to_string(&path).expect("read the policy");
    let doc = PolicyDocument::parse(&text).expect("TOML");
    let draft = ServiceDraft {
        ports: vec!["8443/tcp".into()],
        allow: vec!["any".into()],
        ..ServiceDraft::default()
    };
    let mut form = Form::service(None, "bench-new-service", &draft);
    let keystroke = time(runs, || {
        form.validate(&doc);
        assert!(form.valid, "the form is valid on this policy");
    });
    let check = time(runs, || {
        std::hint::black_box(portcullis::policy::parse(&text).expect("valid"));
    });
    println!("keystroke_ms {keystroke:.1}");
    println!("check_ms {check:.1}");
}
