//! portcullis: a terminal UI firewall manager for Linux nftables.
//!
//! The pure core (`policy`, `nft::compile`, `nft::render`, `nft::live`, `diff`) never does IO;
//! `nft::backend` runs the `nft` binary; `commit` makes every change confirm-or-rollback;
//! `eval` answers what a policy does with a packet; `cli` is the headless front end.

#![forbid(unsafe_code)]

pub mod atomic_file;
pub mod cli;
pub mod commit;
pub mod demo;
pub mod diff;
pub mod duration;
pub mod eval;
pub mod nft;
pub mod policy;
pub mod sockets;
pub mod system;

pub mod app;
pub mod tui;
pub mod ui;
