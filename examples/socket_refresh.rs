//! Times the socket-table refresh the TUI does every second when no process has come or
//! gone: `sockets::scan` without the /proc scan, in-process (no JSON, no nft). Prints the
//! median of N runs in milliseconds. Used by scripts/bench-sockets.
//!
//!   cargo run --release --example socket_refresh -- [RUNS]

use std::time::Instant;

use portcullis::sockets::{Owners, ServiceNames, scan};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let names = ServiceNames::load();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let table = scan(Owners::Skip, &names).expect("socket table");
            std::hint::black_box(table);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("{:.1}", times[times.len() / 2]);
}
