//! portcullis: a terminal UI firewall manager for Linux nftables.
//!
//! The pure core (`policy`, `nft::compile`, `nft::render`, `nft::live`, `diff`, `eval`,
//! `commit::machine`) never does IO; at the edge, `nft::backend` runs the `nft` binary,
//! `sockets` reads the kernel's socket table, `system` the clocks and /proc, and
//! `commit::engine` runs the commit state machine against them. Two front ends share all
//! of it and never import each other: `cli` (the headless commands) and `tui` (the
//! terminal UI's runtime, over `app`'s state and `ui`'s views); `main` picks one.

#![forbid(unsafe_code)]

pub mod atomic_file;
pub mod cli;
pub mod commit;
pub mod demo;
pub mod diff;
pub mod drops;
pub mod duration;
pub mod eval;
pub mod import;
pub mod lint;
pub mod nft;
pub mod policy;
pub mod sockets;
pub mod system;

pub mod app;
pub mod tui;
pub mod ui;
